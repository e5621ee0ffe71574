/* SPDX-License-Identifier: MIT */
/* Every collective, on every type and every operation where C defines it, with counts 0,
 * 1, 7 and 1000 (and 1,000,000 elements of one type for each blocking collective but the
 * v-forms, and for iallreduce), in place and not, on four communicators of each job: the
 * world, a dup of it, a split by parity with shuffled keys and a split by node. Each rank
 * checks its result against what it computes alone (coll_ref.h). bcast, reduce,
 * allreduce, gather and scatter also run with every root on payloads around the largest
 * that rides in the shared-memory engine's flag record (SHMC_INLINE; scatter: blocks
 * whose all fit in it, or just not). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll_shm.h"
#include "coll_ref.h"
#include "harness.h"

/* The communicator under test, its rank and size, and its name for messages; which of
 * the four it is. */
static tubo_comm_t *cc;
static int cr, cp, cidx;
static const char *cname;

/* Whether case k runs on the communicator under test: the cases of a matrix are dealt
 * out over the four communicators in turn, so that each sees every kind of case and the
 * job runs each case once. */
static int on_this_comm(size_t k)
{
  return k % 4 == (size_t)cidx;
}

static const size_t counts[] = {0, 1, 7, 1000};
#define NCOUNTS (sizeof counts / sizeof counts[0])

/* Checks element i of got against element j of want. */
static void expect_elem(tubo_type_t t, const void *got, size_t i, const void *want, size_t j,
                        const char *what)
{
  if (cr_equal(t, got, i, want, j))
    return;
  char g[64], w[64];
  cr_format(t, got, i, g, sizeof g);
  cr_format(t, want, j, w, sizeof w);
  th_fail(__FILE__, __LINE__, "%s on %s (rank %d of %d), type %s: element %zu is %s, expected %s",
          what, cname, cr, cp, cr_type_name(t), i, g, w);
}

/* ---- Reductions ---- */

/* allreduce, reduce, iallreduce of every defined (type, operation), every count. */
static void check_reductions(void)
{
  for (int ti = 0; ti < CR_NTYPES; ti++)
    for (int op = 0; op < CR_NOPS; op++) {
      tubo_type_t t = cr_types[ti];
      size_t es = cr_size(t), nmax = counts[NCOUNTS - 1];
      unsigned char *in = th_malloc(nmax * es), *out = th_malloc(nmax * es);
      unsigned char *want = th_malloc(nmax * es);
      if (!cr_defined(t, op)) {
        TH_EXPECT_RC(tubo_allreduce(in, out, 1, t, cr_ops[op], cc), TUBO_EINVAL);
        TH_EXPECT_RC(tubo_reduce(in, out, 1, t, cr_ops[op], 0, cc), TUBO_EINVAL);
        free(in), free(out), free(want);
        continue;
      }
      char what[96];
      for (size_t k = 0; k < NCOUNTS; k++) {
        size_t n = counts[k];
        if (!on_this_comm((size_t)(ti * CR_NOPS + op) + k))
          continue;
        for (size_t i = 0; i < n; i++) {
          cr_set(t, in, i, cr_value(op, cr, cp, i));
          cr_reduce_ranks(t, op, 0, cp, cp, i, want);
        }
        /* Not in place, then in place, then non-blocking. */
        snprintf(what, sizeof what, "allreduce %s of %zu", cr_op_names[op], n);
        memset(out, 0x5a, n * es);
        TH_OK(tubo_allreduce(in, out, n, t, cr_ops[op], cc));
        for (size_t i = 0; i < n; i++)
          expect_elem(t, out, i, want, i, what);
        snprintf(what, sizeof what, "allreduce in place %s of %zu", cr_op_names[op], n);
        memcpy(out, in, n * es);
        TH_OK(tubo_allreduce(TUBO_IN_PLACE, out, n, t, cr_ops[op], cc));
        for (size_t i = 0; i < n; i++)
          expect_elem(t, out, i, want, i, what);
        snprintf(what, sizeof what, "iallreduce %s of %zu", cr_op_names[op], n);
        tubo_request_t *rq = NULL;
        memset(out, 0x5a, n * es);
        TH_OK(tubo_iallreduce(in, out, n, t, cr_ops[op], cc, &rq));
        TH_OK(tubo_wait(&rq, TUBO_STATUS_IGNORE));
        for (size_t i = 0; i < n; i++)
          expect_elem(t, out, i, want, i, what);
        /* reduce to a root that moves with the case, in place there every other time. */
        int root = (int)((size_t)(ti + op) + k) % cp;
        int inplace = (ti + op) % 2 && cr == root;
        snprintf(what, sizeof what, "reduce %s of %zu to %d%s", cr_op_names[op], n, root,
                 inplace ? " in place" : "");
        memset(out, 0x5a, n * es);
        if (inplace)
          memcpy(out, in, n * es);
        TH_OK(tubo_reduce(inplace ? TUBO_IN_PLACE : in, cr == root ? out : NULL, n, t, cr_ops[op],
                          root, cc));
        if (cr == root)
          for (size_t i = 0; i < n; i++)
            expect_elem(t, out, i, want, i, what);
      }
      free(in), free(out), free(want);
    }
}

/* scan, exscan and reduce_scatter_block of every type, the operations in turn. */
static void check_prefix(void)
{
  for (int ti = 0; ti < CR_NTYPES; ti++) {
    tubo_type_t t = cr_types[ti];
    size_t es = cr_size(t);
    for (size_t k = 0; k < NCOUNTS; k++) {
      size_t n = counts[k];
      if (!on_this_comm((size_t)ti + k))
        continue;
      int op = (int)((size_t)ti + k) % CR_NOPS;
      while (!cr_defined(t, op))
        op = (op + 1) % CR_NOPS;
      unsigned char *in = th_malloc(n * es * (size_t)cp), *out = th_malloc(n * es * (size_t)cp);
      unsigned char *want = th_malloc(n * es * (size_t)cp + es), *keep = th_malloc(n * es + 1);
      char what[96];
      for (size_t i = 0; i < n; i++)
        cr_set(t, in, i, cr_value(op, cr, cp, i));
      /* scan, in place every other type */
      snprintf(what, sizeof what, "scan %s of %zu", cr_op_names[op], n);
      if (ti % 2) {
        memcpy(out, in, n * es);
        TH_OK(tubo_scan(TUBO_IN_PLACE, out, n, t, cr_ops[op], cc));
      } else {
        TH_OK(tubo_scan(in, out, n, t, cr_ops[op], cc));
      }
      for (size_t i = 0; i < n; i++) {
        cr_reduce_ranks(t, op, 0, cr + 1, cp, i, want);
        expect_elem(t, out, i, want, i, what);
      }
      /* exscan: rank 0's buffer is left as it was. */
      snprintf(what, sizeof what, "exscan %s of %zu", cr_op_names[op], n);
      for (size_t i = 0; i < n; i++)
        cr_set(t, out, i, 99);
      memcpy(keep, out, n * es);
      if (ti % 2 == 0) {
        memcpy(out, in, n * es);
        if (cr == 0)
          memcpy(keep, in, n * es);
        TH_OK(tubo_exscan(TUBO_IN_PLACE, out, n, t, cr_ops[op], cc));
      } else {
        TH_OK(tubo_exscan(in, out, n, t, cr_ops[op], cc));
      }
      for (size_t i = 0; i < n; i++) {
        if (cr == 0) {
          expect_elem(t, out, i, keep, i, "exscan at rank 0 (untouched)");
          continue;
        }
        cr_reduce_ranks(t, op, 0, cr, cp, i, want);
        expect_elem(t, out, i, want, i, what);
      }
      /* reduce_scatter_block of size * n elements; block r goes to rank r. */
      snprintf(what, sizeof what, "reduce_scatter_block %s of %zu", cr_op_names[op], n);
      for (size_t i = 0; i < n * (size_t)cp; i++)
        cr_set(t, in, i, cr_value(op, cr, cp, i));
      if (ti % 2) {
        memcpy(out, in, n * es * (size_t)cp);
        TH_OK(tubo_reduce_scatter_block(TUBO_IN_PLACE, out, n, t, cr_ops[op], cc));
      } else {
        TH_OK(tubo_reduce_scatter_block(in, out, n, t, cr_ops[op], cc));
      }
      for (size_t i = 0; i < n; i++) {
        cr_reduce_ranks(t, op, 0, cp, cp, (size_t)cr * n + i, want);
        expect_elem(t, out, i, want, (size_t)cr * n + i, what);
      }
      free(in), free(out), free(want), free(keep);
    }
  }
}

/* A user's operation that is not commutative: affine maps x -> a x + b (pairs of long
 * long, modulo 2^64), composed so that the lower rank's map applies last. */
static void affine_compose(const void *in, void *inout, size_t count, tubo_type_t type)
{
  TH_CHECK(type == TUBO_LLONG && count % 2 == 0, "user operation called with type %c count %zu",
           (int)type, count);
  const unsigned long long *f = in;
  unsigned long long *g = inout;
  for (size_t i = 0; i < count; i += 2) {
    /* (f o g)(x) = fa (ga x + gb) + fb */
    unsigned long long a = f[i] * g[i], b = f[i] * g[i + 1] + f[i + 1];
    g[i] = a;
    g[i + 1] = b;
  }
}

/* A commutative user's operation: the sum. */
static void user_sum(const void *in, void *inout, size_t count, tubo_type_t type)
{
  TH_CHECK(type == TUBO_DOUBLE, "user sum called with type %c", (int)type);
  const double *a = in;
  double *b = inout;
  for (size_t i = 0; i < count; i++)
    b[i] += a[i];
}

static void affine_of(int r, size_t i, unsigned long long f[2])
{
  f[0] = (unsigned long long)(r * 2 + 3) + i;
  f[1] = (unsigned long long)(r + 1) * (i + 7);
}

static void check_user_ops(void)
{
  tubo_op_t *aff = NULL, *sum = NULL;
  TH_OK(tubo_op_create(affine_compose, 0, &aff));
  TH_OK(tubo_op_create(user_sum, 1, &sum));
  for (size_t k = 0; k < NCOUNTS; k++) {
    size_t n = counts[k] * 2; /* pairs */
    unsigned long long *in = th_malloc(n * 8 * (size_t)cp + 8), *out = th_malloc(n * 8 + 8);
    unsigned long long *want = th_malloc(n * 8 + 8);
    for (size_t i = 0; i < n; i += 2)
      affine_of(cr, i, in + i);
    /* The composition in rank order: want = f0 o f1 o ... o f(p-1). */
    for (size_t i = 0; i < n; i += 2) {
      affine_of(cp - 1, i, want + i);
      for (int r = cp - 2; r >= 0; r--) {
        unsigned long long f[2];
        affine_of(r, i, f);
        affine_compose(f, want + i, 2, TUBO_LLONG);
      }
    }
    TH_OK(tubo_allreduce(in, out, n, TUBO_LLONG, aff, cc));
    for (size_t i = 0; i < n; i++)
      TH_CHECK(out[i] == want[i],
               "allreduce of a non-commutative user operation on %s: element "
               "%zu is %llu, expected %llu",
               cname, i, out[i], want[i]);
    TH_OK(tubo_reduce(in, out, n, TUBO_LLONG, aff, cp - 1, cc));
    if (cr == cp - 1)
      for (size_t i = 0; i < n; i++)
        TH_CHECK(out[i] == want[i],
                 "reduce of a non-commutative user operation on %s: element "
                 "%zu is %llu, expected %llu",
                 cname, i, out[i], want[i]);
    /* scan: f0 o ... o f(cr) */
    TH_OK(tubo_scan(in, out, n, TUBO_LLONG, aff, cc));
    for (size_t i = 0; i < n; i += 2) {
      unsigned long long w[2];
      affine_of(cr, i, w);
      for (int r = cr - 1; r >= 0; r--) {
        unsigned long long f[2];
        affine_of(r, i, f);
        affine_compose(f, w, 2, TUBO_LLONG);
      }
      TH_CHECK(out[i] == w[0] && out[i + 1] == w[1],
               "scan of a non-commutative user operation on %s: pair %zu", cname, i / 2);
    }
    double *d = th_malloc(counts[k] * sizeof *d + 8), *dout = th_malloc(counts[k] * sizeof *d + 8);
    for (size_t i = 0; i < counts[k]; i++)
      d[i] = (double)(cr + 1);
    TH_OK(tubo_allreduce(d, dout, counts[k], TUBO_DOUBLE, sum, cc));
    for (size_t i = 0; i < counts[k]; i++)
      TH_CHECK(dout[i] == (double)(cp * (cp + 1) / 2),
               "allreduce of a commutative user sum on %s: %g, expected %d", cname, dout[i],
               cp * (cp + 1) / 2);
    free(in), free(out), free(want), free(d), free(dout);
  }
  /* A user's operation is checked like any handle. */
  TH_EXPECT_RC(tubo_allreduce(&cr, &cp, 0, TUBO_INT, (tubo_op_t *)&cr, cc), TUBO_EOP);
  TH_OK(tubo_op_free(&aff));
  TH_OK(tubo_op_free(&sum));
  TH_CHECK(aff == NULL && sum == NULL, "tubo_op_free: expected the handles set to NULL");
}

/* ---- Moving data ---- */

static const tubo_type_t move_types[] = {TUBO_BYTE, TUBO_INT, TUBO_DOUBLE, TUBO_LDOUBLE,
                                         TUBO_CDOUBLE};

/* What rank r sends rank q as element i. */
static long long move_val(int r, int q, size_t i)
{
  return (long long)(((size_t)r * 31 + (size_t)q * 7 + i) % 101);
}

/* Counts of the v-forms: rank r's block has vcount(r, n) elements, at vdispl (with gaps). */
static size_t vcount(int r, size_t n)
{
  return n == 0 ? 0 : n + (size_t)(r % 3);
}

static void v_layout(size_t n, size_t *cnt, size_t *dsp, size_t *total)
{
  size_t at = 0;
  for (int r = 0; r < cp; r++) {
    cnt[r] = vcount(r, n);
    dsp[r] = at + 1; /* a gap before each block */
    at = dsp[r] + cnt[r];
  }
  *total = at + 1;
}

static void check_moves(void)
{
  size_t *cnt = th_malloc((size_t)cp * sizeof *cnt), *dsp = th_malloc((size_t)cp * sizeof *dsp);
  size_t *cnt2 = th_malloc((size_t)cp * sizeof *cnt), *dsp2 = th_malloc((size_t)cp * sizeof *dsp);
  for (size_t ti = 0; ti < sizeof move_types / sizeof move_types[0]; ti++)
    for (size_t k = 0; k < NCOUNTS; k++) {
      tubo_type_t t = move_types[ti];
      size_t n = counts[k], es = cr_size(t), total;
      if (!on_this_comm(ti + k))
        continue;
      v_layout(n, cnt, dsp, &total);
      size_t big = (n + 3) * (size_t)cp + total + 8;
      unsigned char *a = th_malloc(big * es), *b = th_malloc(big * es), *w = th_malloc(big * es);
      int root = (int)(ti + k) % cp, ip = (int)(ti + k) % 2;
      char what[96];
      /* bcast */
      snprintf(what, sizeof what, "bcast of %zu from %d", n, root);
      for (size_t i = 0; i < n; i++) {
        cr_set(t, a, i, cr == root ? move_val(root, 0, i) : 77);
        cr_set(t, w, i, move_val(root, 0, i));
      }
      TH_OK(tubo_bcast(a, n, t, root, cc));
      for (size_t i = 0; i < n; i++)
        expect_elem(t, a, i, w, i, what);
      tubo_request_t *rq = NULL;
      for (size_t i = 0; i < n; i++)
        cr_set(t, a, i, cr == root ? move_val(root, 0, i) : 78);
      TH_OK(tubo_ibcast(a, n, t, root, cc, &rq));
      TH_OK(tubo_wait(&rq, TUBO_STATUS_IGNORE));
      for (size_t i = 0; i < n; i++)
        expect_elem(t, a, i, w, i, "ibcast");
      /* gather: rank q's n elements at q * n of the root's buffer */
      snprintf(what, sizeof what, "gather of %zu to %d%s", n, root, ip ? " in place" : "");
      for (size_t i = 0; i < n; i++)
        cr_set(t, a, i, move_val(cr, root, i));
      for (int q = 0; q < cp; q++)
        for (size_t i = 0; i < n; i++)
          cr_set(t, w, (size_t)q * n + i, move_val(q, root, i));
      if (cr == root && ip) {
        memset(b, 0, (size_t)cp * n * es);
        memcpy(b + (size_t)cr * n * es, a, n * es);
      }
      TH_OK(
          tubo_gather(cr == root && ip ? TUBO_IN_PLACE : a, cr == root ? b : NULL, n, t, root, cc));
      if (cr == root)
        for (size_t i = 0; i < n * (size_t)cp; i++)
          expect_elem(t, b, i, w, i, what);
      /* gatherv with gaps; the gaps stay as they were */
      snprintf(what, sizeof what, "gatherv around %zu to %d%s", n, root, ip ? " in place" : "");
      for (size_t i = 0; i < vcount(cr, n); i++)
        cr_set(t, a, i, move_val(cr, root, i));
      for (size_t i = 0; i < total; i++)
        cr_set(t, w, i, 55);
      for (int q = 0; q < cp; q++)
        for (size_t i = 0; i < cnt[q]; i++)
          cr_set(t, w, dsp[q] + i, move_val(q, root, i));
      if (cr == root) {
        for (size_t i = 0; i < total; i++)
          cr_set(t, b, i, 55);
        if (ip)
          memcpy(b + dsp[cr] * es, a, cnt[cr] * es);
      }
      TH_OK(tubo_gatherv(cr == root && ip ? TUBO_IN_PLACE : a, vcount(cr, n), cr == root ? b : NULL,
                         cnt, dsp, t, root, cc));
      if (cr == root)
        for (size_t i = 0; i < total; i++)
          expect_elem(t, b, i, w, i, what);
      /* scatter: block q of the root's buffer to rank q */
      snprintf(what, sizeof what, "scatter of %zu from %d%s", n, root, ip ? " in place" : "");
      if (cr == root)
        for (int q = 0; q < cp; q++)
          for (size_t i = 0; i < n; i++)
            cr_set(t, a, (size_t)q * n + i, move_val(root, q, i));
      for (size_t i = 0; i < n; i++)
        cr_set(t, w, i, move_val(root, cr, i));
      TH_OK(tubo_scatter(cr == root ? a : NULL, cr == root && ip ? TUBO_IN_PLACE : b, n, t, root,
                         cc));
      const unsigned char *mine = cr == root && ip ? a + (size_t)cr * n * es : b;
      for (size_t i = 0; i < n; i++)
        expect_elem(t, mine, i, w, i, what);
      /* scatterv */
      snprintf(what, sizeof what, "scatterv around %zu from %d", n, root);
      if (cr == root)
        for (int q = 0; q < cp; q++)
          for (size_t i = 0; i < cnt[q]; i++)
            cr_set(t, a, dsp[q] + i, move_val(root, q, i));
      for (size_t i = 0; i < cnt[cr]; i++)
        cr_set(t, w, i, move_val(root, cr, i));
      TH_OK(tubo_scatterv(cr == root ? a : NULL, cnt, dsp, b, cnt[cr], t, root, cc));
      for (size_t i = 0; i < cnt[cr]; i++)
        expect_elem(t, b, i, w, i, what);
      /* allgather */
      snprintf(what, sizeof what, "allgather of %zu%s", n, ip ? " in place" : "");
      for (size_t i = 0; i < n; i++)
        cr_set(t, a, i, move_val(cr, 0, i));
      for (int q = 0; q < cp; q++)
        for (size_t i = 0; i < n; i++)
          cr_set(t, w, (size_t)q * n + i, move_val(q, 0, i));
      if (ip)
        memcpy(b + (size_t)cr * n * es, a, n * es);
      TH_OK(tubo_allgather(ip ? TUBO_IN_PLACE : a, b, n, t, cc));
      for (size_t i = 0; i < n * (size_t)cp; i++)
        expect_elem(t, b, i, w, i, what);
      /* allgatherv with gaps */
      snprintf(what, sizeof what, "allgatherv around %zu", n);
      for (size_t i = 0; i < cnt[cr]; i++)
        cr_set(t, a, i, move_val(cr, 1, i));
      for (size_t i = 0; i < total; i++)
        cr_set(t, w, i, 44), cr_set(t, b, i, 44);
      for (int q = 0; q < cp; q++)
        for (size_t i = 0; i < cnt[q]; i++)
          cr_set(t, w, dsp[q] + i, move_val(q, 1, i));
      if (ip)
        memcpy(b + dsp[cr] * es, a, cnt[cr] * es);
      TH_OK(tubo_allgatherv(ip ? TUBO_IN_PLACE : a, cnt[cr], b, cnt, dsp, t, cc));
      for (size_t i = 0; i < total; i++)
        expect_elem(t, b, i, w, i, what);
      /* alltoall: block q of rank r's buffer lands as block r at rank q */
      snprintf(what, sizeof what, "alltoall of %zu%s", n, ip ? " in place" : "");
      unsigned char *src = ip ? b : a;
      for (int q = 0; q < cp; q++)
        for (size_t i = 0; i < n; i++) {
          cr_set(t, src, (size_t)q * n + i, move_val(cr, q, i));
          cr_set(t, w, (size_t)q * n + i, move_val(q, cr, i));
        }
      TH_OK(tubo_alltoall(ip ? TUBO_IN_PLACE : a, b, n, t, cc));
      for (size_t i = 0; i < n * (size_t)cp; i++)
        expect_elem(t, b, i, w, i, what);
      /* alltoallv: rank r sends rank q vcount(r + q) elements */
      snprintf(what, sizeof what, "alltoallv around %zu%s", n, ip ? " in place" : "");
      size_t sat = 0, rat = 0;
      for (int q = 0; q < cp; q++) {
        cnt[q] = vcount(cr + q, n); /* to q */
        dsp[q] = sat + 1;
        sat = dsp[q] + cnt[q];
        cnt2[q] = vcount(q + cr, n); /* from q */
        dsp2[q] = rat + 2;
        rat = dsp2[q] + cnt2[q];
      }
      for (size_t i = 0; i < rat; i++)
        cr_set(t, w, i, 33), cr_set(t, b, i, 33);
      for (int q = 0; q < cp; q++) {
        for (size_t i = 0; i < cnt[q]; i++)
          cr_set(t, a, dsp[q] + i, move_val(cr, q, i));
        for (size_t i = 0; i < cnt2[q]; i++)
          cr_set(t, w, dsp2[q] + i, move_val(q, cr, i));
        if (ip)
          for (size_t i = 0; i < cnt2[q]; i++)
            cr_set(t, b, dsp2[q] + i, move_val(cr, q, i));
      }
      if (ip) /* in place, the counts are symmetric: rank r sends q what q sends r */
        TH_OK(tubo_alltoallv(TUBO_IN_PLACE, NULL, NULL, b, cnt2, dsp2, t, cc));
      else
        TH_OK(tubo_alltoallv(a, cnt, dsp, b, cnt2, dsp2, t, cc));
      for (size_t i = 0; i < rat; i++)
        expect_elem(t, b, i, w, i, what);
      free(a), free(b), free(w);
    }
  free(cnt), free(dsp), free(cnt2), free(dsp2);
}

/* ---- A million elements, on fewer combinations ---- */

#define MILLION 1000000u

static void check_million(void)
{
  size_t n = MILLION;
  double *d = th_malloc(n * sizeof *d), *dout = th_malloc(n * sizeof *d);
  for (size_t i = 0; i < n; i++)
    d[i] = (double)cr_value(CR_SUM, cr, cp, i);
  /* 1e5 doubles take 4-7 of the shared-memory engine's steps on 3-9 ranks; 1e6 more than
   * 8, which go point to point (coll_shm.h, SHMC_STEPS_MAX): both paths checked. */
  for (size_t m = MILLION / 10; m <= n; m *= 10) {
    TH_OK(tubo_allreduce(d, dout, m, TUBO_DOUBLE, TUBO_SUM, cc));
    for (size_t i = 0; i < m; i += 997) {
      double want = 0;
      for (int r = 0; r < cp; r++)
        want += (double)cr_value(CR_SUM, r, cp, i);
      TH_CHECK(dout[i] == want, "allreduce of %zu doubles on %s: element %zu is %g, expected %g", m,
               cname, i, dout[i], want);
    }
  }
  TH_OK(tubo_scan(d, dout, n, TUBO_DOUBLE, TUBO_SUM, cc));
  for (size_t i = 0; i < n; i += 991) {
    double want = 0;
    for (int r = 0; r <= cr; r++)
      want += (double)cr_value(CR_SUM, r, cp, i);
    TH_CHECK(dout[i] == want, "scan of 1e6 doubles on %s: element %zu is %g, expected %g", cname, i,
             dout[i], want);
  }
  int *x = (int *)d, *xo = (int *)dout;
  for (size_t i = 0; i < n; i++)
    x[i] = (int)cr_value(CR_BXOR, cr, cp, i);
  TH_OK(tubo_reduce(x, xo, n, TUBO_INT, TUBO_BXOR, cp - 1, cc));
  if (cr == cp - 1)
    for (size_t i = 0; i < n; i += 983) {
      int want = 0;
      for (int r = 0; r < cp; r++)
        want ^= (int)cr_value(CR_BXOR, r, cp, i);
      TH_CHECK(xo[i] == want, "reduce of 1e6 ints by BXOR on %s: element %zu is %d, expected %d",
               cname, i, xo[i], want);
    }
  free(d), free(dout);
  /* Bytes: bcast, scatter/gather, allgather, alltoall, reduce_scatter_block, a million per
   * rank (or per block). */
  unsigned char *a = th_malloc(n * (size_t)cp), *b = th_malloc(n * (size_t)cp);
  for (size_t i = 0; i < n; i++)
    a[i] = cr == 0 ? (unsigned char)(i * 7) : 0;
  TH_OK(tubo_bcast(a, n, TUBO_BYTE, 0, cc));
  for (size_t i = 0; i < n; i++)
    TH_CHECK(a[i] == (unsigned char)(i * 7), "bcast of 1e6 bytes on %s: byte %zu", cname, i);
  for (size_t i = 0; i < n; i++)
    a[i] = (unsigned char)(i + (size_t)cr);
  TH_OK(tubo_allgather(a, b, n, TUBO_BYTE, cc));
  for (int q = 0; q < cp; q++)
    for (size_t i = 0; i < n; i += 101)
      TH_CHECK(b[(size_t)q * n + i] == (unsigned char)(i + (size_t)q),
               "allgather of 1e6 bytes on %s: block %d byte %zu", cname, q, i);
  TH_OK(tubo_gather(a, cr == 0 ? b : NULL, n, TUBO_BYTE, 0, cc));
  if (cr == 0)
    for (int q = 0; q < cp; q++)
      for (size_t i = 0; i < n; i += 103)
        TH_CHECK(b[(size_t)q * n + i] == (unsigned char)(i + (size_t)q),
                 "gather of 1e6 bytes on %s: block %d byte %zu", cname, q, i);
  for (size_t i = 0; i < n * (size_t)cp; i++)
    a[i] = (unsigned char)(i / n * 3 + (size_t)cr + i);
  TH_OK(tubo_alltoall(a, b, n, TUBO_BYTE, cc));
  for (int q = 0; q < cp; q++)
    for (size_t i = 0; i < n; i += 107)
      TH_CHECK(b[(size_t)q * n + i] ==
                   (unsigned char)((size_t)cr * 3 + (size_t)q + (size_t)cr * n + i),
               "alltoall of 1e6 bytes on %s: block %d byte %zu", cname, q, i);
  TH_OK(tubo_reduce_scatter_block(a, b, n, TUBO_BYTE, TUBO_SUM, cc));
  for (size_t i = 0; i < n; i += 109) {
    unsigned want = 0;
    for (int r = 0; r < cp; r++)
      want += (unsigned)((size_t)cr * 3 + (size_t)r + (size_t)cr * n + i);
    TH_CHECK(b[i] == (unsigned char)want, "reduce_scatter_block of 1e6 bytes on %s: byte %zu",
             cname, i);
  }
  /* Scatter from the last rank: block q is q's bytes of the pattern above. */
  for (size_t i = 0; i < n * (size_t)cp; i++)
    a[i] = (unsigned char)(i / n * 5 + i);
  TH_OK(tubo_scatter(cr == cp - 1 ? a : NULL, b, n, TUBO_BYTE, cp - 1, cc));
  for (size_t i = 0; i < n; i += 113)
    TH_CHECK(b[i] == (unsigned char)((size_t)cr * 5 + (size_t)cr * n + i),
             "scatter of 1e6 bytes on %s: byte %zu", cname, i);
  free(a), free(b);
  /* Exclusive prefix and the non-blocking allreduce, a million longs each. */
  long long *l = th_malloc(n * sizeof *l), *lo = th_malloc(n * sizeof *lo);
  for (size_t i = 0; i < n; i++)
    l[i] = cr_value(CR_SUM, cr, cp, i), lo[i] = -1;
  TH_OK(tubo_exscan(l, lo, n, TUBO_LLONG, TUBO_SUM, cc));
  if (cr > 0)
    for (size_t i = 0; i < n; i += 127) {
      long long want = 0;
      for (int r = 0; r < cr; r++)
        want += cr_value(CR_SUM, r, cp, i);
      TH_CHECK(lo[i] == want, "exscan of 1e6 long longs on %s: element %zu is %lld, expected %lld",
               cname, i, lo[i], want);
    }
  tubo_request_t *req = NULL;
  TH_OK(tubo_iallreduce(l, lo, n, TUBO_LLONG, TUBO_MAX, cc, &req));
  TH_OK(tubo_wait(&req, NULL));
  for (size_t i = 0; i < n; i += 131) {
    long long want = cr_value(CR_SUM, 0, cp, i);
    for (int r = 1; r < cp; r++)
      want = cr_value(CR_SUM, r, cp, i) > want ? cr_value(CR_SUM, r, cp, i) : want;
    TH_CHECK(lo[i] == want,
             "iallreduce MAX of 1e6 long longs on %s: element %zu is %lld, expected %lld", cname, i,
             lo[i], want);
  }
  free(l), free(lo);
}

/* ---- Payloads around what a flag record carries ---- */

/* The counts of a type of es bytes just past the old one-line limit (56 bytes), just
 * under, at and just past SHMC_INLINE (lib/coll/coll_shm.h): the shared-memory engine
 * carries the first three in the flag's record, the last through its slots. */
static size_t edge_counts(size_t es, size_t *n)
{
  n[0] = 56 / es + 1;
  n[1] = SHMC_INLINE / es - 1;
  n[2] = SHMC_INLINE / es;
  n[3] = SHMC_INLINE / es + 1;
  return 4;
}

/* The most elements of es bytes a scatter's blocks may hold on cp ranks and all fit in
 * the root's records (shmc_scatter_per), or 0. */
static size_t scatter_fit(size_t es)
{
  size_t m = SHMC_INLINE / es;
  while (m > 0 && shmc_scatter_per(cp, m * es) == 0)
    m--;
  return m;
}

/* gather of blocks of n elements, and scatter of blocks of n, of as many as let every
 * block fit in one record or just not (SHMC_INLINE / cp and one more bytes), and of as
 * many as let them fit in the records a scatter may take or just not, to and from every
 * root (in place at odd roots), every element checked. */
static void check_rooted_edges(tubo_type_t t, size_t n, char *what, size_t cap)
{
  size_t es = cr_size(t), per = SHMC_INLINE / es / (size_t)cp, fit = scatter_fit(es);
  size_t ns[5] = {n, per > 0 ? per : 1, per + 1, fit > 0 ? fit : 1, fit + 1};
  size_t most = n > fit + 1 ? n : fit + 1;
  most = most > per + 1 ? most : per + 1;
  unsigned char *a = th_malloc(most * es * (size_t)cp), *b = th_malloc(most * es * (size_t)cp);
  unsigned char w[16];
  for (int root = 0; root < cp; root++) {
    int ip = root % 2 && cr == root;
    snprintf(what, cap, "gather of %zu bytes to %d%s", n * es, root, ip ? " in place" : "");
    for (size_t i = 0; i < n; i++)
      cr_set(t, ip ? b + (size_t)cr * n * es : a, i, move_val(cr, root, i));
    TH_OK(tubo_gather(ip ? TUBO_IN_PLACE : a, cr == root ? b : NULL, n, t, root, cc));
    for (size_t i = 0; cr == root && i < n * (size_t)cp; i++) {
      cr_set(t, w, 0, move_val((int)(i / n), root, i % n));
      expect_elem(t, b, i, w, 0, what);
    }
    for (int k = 0; k < 5; k++) {
      size_t m = ns[k];
      snprintf(what, cap, "scatter of %zu bytes a block from %d%s", m * es, root,
               ip ? " in place" : "");
      for (size_t i = 0; cr == root && i < m * (size_t)cp; i++)
        cr_set(t, a, i, move_val(root, (int)(i / m), i % m + (size_t)k));
      memset(b, 0x5a, m * es);
      TH_OK(tubo_scatter(cr == root ? a : NULL, ip ? TUBO_IN_PLACE : b, m, t, root, cc));
      const unsigned char *got = ip ? a + (size_t)cr * m * es : b;
      for (size_t i = 0; i < m; i++) {
        cr_set(t, w, 0, move_val(root, cr, i + (size_t)k));
        expect_elem(t, got, i, w, 0, what);
      }
    }
  }
  free(a);
  free(b);
}

/* bcast from every root, reduce to every root (in place there every other root),
 * allreduce (in place and not), gather and scatter of those counts, for types of 1, 4, 8
 * and 16 bytes. */
static void check_inline_edges(void)
{
  static const tubo_type_t types[] = {TUBO_BYTE, TUBO_INT, TUBO_DOUBLE, TUBO_LDOUBLE};
  for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
    tubo_type_t t = types[ti];
    size_t es = cr_size(t), ns[4], nn = edge_counts(es, ns);
    size_t cap = ns[nn - 1] * es;
    unsigned char *in = th_malloc(cap), *out = th_malloc(cap), *want = th_malloc(cap);
    for (size_t k = 0; k < nn; k++) {
      size_t n = ns[k];
      char what[96];
      for (size_t i = 0; i < n; i++) {
        cr_set(t, in, i, cr_value(CR_SUM, cr, cp, i));
        cr_reduce_ranks(t, CR_SUM, 0, cp, cp, i, want);
      }
      for (int root = 0; root < cp; root++) {
        snprintf(what, sizeof what, "bcast of %zu bytes from %d", n * es, root);
        for (size_t i = 0; i < n; i++)
          cr_set(t, out, i, cr == root ? move_val(root, 0, i) : 77);
        TH_OK(tubo_bcast(out, n, t, root, cc));
        for (size_t i = 0; i < n; i++) {
          long long v = move_val(root, 0, i);
          unsigned char w[16];
          cr_set(t, w, 0, v);
          expect_elem(t, out, i, w, 0, what);
        }
        int inplace = root % 2 && cr == root;
        snprintf(what, sizeof what, "reduce of %zu bytes to %d%s", n * es, root,
                 inplace ? " in place" : "");
        memset(out, 0x5a, n * es);
        if (inplace)
          memcpy(out, in, n * es);
        TH_OK(tubo_reduce(inplace ? TUBO_IN_PLACE : in, cr == root ? out : NULL, n, t, TUBO_SUM,
                          root, cc));
        if (cr == root)
          for (size_t i = 0; i < n; i++)
            expect_elem(t, out, i, want, i, what);
      }
      check_rooted_edges(t, n, what, sizeof what);
      snprintf(what, sizeof what, "allreduce of %zu bytes", n * es);
      memset(out, 0x5a, n * es);
      TH_OK(tubo_allreduce(in, out, n, t, TUBO_SUM, cc));
      for (size_t i = 0; i < n; i++)
        expect_elem(t, out, i, want, i, what);
      snprintf(what, sizeof what, "allreduce in place of %zu bytes", n * es);
      memcpy(out, in, n * es);
      TH_OK(tubo_allreduce(TUBO_IN_PLACE, out, n, t, TUBO_SUM, cc));
      for (size_t i = 0; i < n; i++)
        expect_elem(t, out, i, want, i, what);
    }
    free(in), free(out), free(want);
  }
  /* Roots that run ahead of their readers: bcasts in a row, no other collective between
   * them, more than a rank has flag records, each of a full record with values of its
   * own, then an allreduce (after which the guards need not look) and more of them. */
  enum { ROW = 4 * SHMC_DEPTH, N = SHMC_INLINE / sizeof(long long) };
  for (int k = 0; k < 2 * ROW; k++) {
    long long v[N];
    int root = k / ROW ? k % cp : 0;
    for (size_t i = 0; i < N; i++)
      v[i] = cr == root ? (long long)k * 1000 + (long long)i : -1;
    TH_OK(tubo_bcast(v, N, TUBO_LLONG, root, cc));
    for (size_t i = 0; i < N; i++)
      TH_CHECK(v[i] == (long long)k * 1000 + (long long)i,
               "bcast %d of a row from %d on %s: element %zu: expected %lld, got %lld", k, root,
               cname, i, (long long)k * 1000 + (long long)i, v[i]);
    if (k == ROW - 1) {
      int one = 1, sum = 0;
      TH_OK(tubo_allreduce(&one, &sum, 1, TUBO_INT, TUBO_SUM, cc));
      TH_EQ("allreduce between the rows", sum, cp);
    }
  }
  /* The same with scatters whose blocks fill the most records they may: the root runs
   * ahead over several records a call, and each rank reads only the one with its block. */
  size_t fit = scatter_fit(sizeof(long long));
  long long *all = th_malloc(fit * (size_t)cp * sizeof *all), *mine = th_malloc(fit * sizeof *mine);
  for (int k = 0; k < 2 * ROW; k++) {
    int root = k / ROW ? k % cp : 0;
    for (size_t i = 0; cr == root && i < fit * (size_t)cp; i++)
      all[i] = (long long)k * 100000 + (long long)i;
    for (size_t i = 0; i < fit; i++)
      mine[i] = -1;
    TH_OK(tubo_scatter(cr == root ? all : NULL, mine, fit, TUBO_LLONG, root, cc));
    for (size_t i = 0; i < fit; i++) {
      long long want = (long long)k * 100000 + (long long)((size_t)cr * fit + i);
      TH_CHECK(mine[i] == want,
               "scatter %d of a row of %zu-element blocks from %d on %s: element %zu: expected "
               "%lld, got %lld",
               k, fit, root, cname, i, want, mine[i]);
    }
  }
  free(all), free(mine);
}

/* ---- The communicators each body runs on ---- */

static int key_of(int r)
{
  return (r * 5 + 2) % 3;
}

static void on_comms(void (*check)(void), int million)
{
  tubo_comm_t *made[3] = {NULL, NULL, NULL};
  TH_OK(tubo_comm_dup(th_world, &made[0]));
  TH_OK(tubo_comm_split(th_world, th_rank % 2, key_of(th_rank), &made[1]));
  TH_OK(tubo_comm_split_type(th_world, TUBO_COMM_TYPE_NODE, -th_rank, &made[2]));
  tubo_comm_t *comms[4] = {th_world, made[0], made[1], made[2]};
  static const char *names[4] = {"the world", "a dup", "a split by parity", "the node"};
  for (int i = 0; i < 4; i++) {
    /* The million-element checks run on the world and the split. */
    if (million && i != 0 && i != 2)
      continue;
    cc = comms[i];
    cname = names[i];
    cidx = i;
    TH_OK(tubo_comm_rank(cc, &cr));
    TH_OK(tubo_comm_size(cc, &cp));
    check();
  }
  for (int i = 0; i < 3; i++)
    TH_OK(tubo_comm_free(&made[i]));
}

static void body_reduce(void)
{
  on_comms(check_reductions, 0);
}

static void body_prefix(void)
{
  on_comms(check_prefix, 0);
  on_comms(check_user_ops, 0);
}

static void body_move(void)
{
  on_comms(check_moves, 0);
}

static void body_inline(void)
{
  on_comms(check_inline_edges, 0);
}

static void body_million(void)
{
  on_comms(check_million, 1);
}

static const th_body_t bodies[] = {
    {"reduce", body_reduce, 0}, {"prefix", body_prefix, 0},   {"move", body_move, 0},
    {"inline", body_inline, 0}, {"million", body_million, 0}, {NULL, NULL, 0},
};

static Suite *coll_suite(void)
{
  Suite *s = suite_create("coll");
  /* Every size from 1 to 9 over shared memory (and 9 over pipes, 3 through the pipe
   * transport); under mpirun, where each job costs Open MPI's start, fewer. */
  static const int sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  static const int sizes_mpi[] = {2, 5, 9};
  int under_mpi = getenv("TH_MPIRUN") != NULL && *getenv("TH_MPIRUN") != '\0';
  const int *sz = under_mpi ? sizes_mpi : sizes;
  size_t nsz = under_mpi ? sizeof sizes_mpi / sizeof *sizes_mpi : sizeof sizes / sizeof *sizes;
  const char *names[] = {"reduce", "prefix", "move", "inline"};
  for (size_t b = 0; b < 4; b++) {
    TCase *tc = th_tcase(names[b]);
    th_add_job(tc, names[b], 1, TH_SOLO);
    for (size_t i = 0; i < nsz; i++)
      th_add_job(tc, names[b], sz[i], sz[i] == 3 ? TH_BOTH : TH_SHM);
    suite_add_tcase(s, tc);
  }
  TCase *tc = th_tcase("million");
  th_add_job(tc, "million", 1, TH_SOLO);
  th_add_job(tc, "million", 3, TH_BOTH);
  th_add_job(tc, "million", 6, TH_SHM);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, coll_suite);
}
