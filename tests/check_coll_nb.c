/* SPDX-License-Identifier: MIT */
/* Non-blocking collectives and reproducible reductions.
 *
 * tubo_ibarrier, tubo_ibcast and tubo_iallreduce interleaved with point-to-point traffic
 * on the same and other communicators, several in flight at once, completed by
 * tubo_wait, tubo_test and tubo_waitall, and progressing inside other tubo calls. Then
 * sums of doubles whose order shows in their bits: every rank must get the same bits,
 * blocking or not, again and again, and exactly the fixed tree tubo.h documents, which
 * each rank computes alone from every rank's data. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll_shm.h"
#include "coll_ref.h"
#include "harness.h"

static int key_of(int r)
{
  return (r * 5 + 2) % 3;
}

/* ---- Overlap ---- */

static void body_overlap(void)
{
  tubo_comm_t *c = NULL;
  TH_OK(tubo_comm_split(th_world, 0, key_of(th_rank), &c));
  int me, n;
  TH_OK(tubo_comm_rank(c, &me));
  TH_OK(tubo_comm_size(c, &n));
  enum { N = 5000 };
  static double buf[N], sum[N];
  for (int round = 0; round < 20; round++) {
    /* Three collectives in flight on c, a ring of messages on c and on the world. */
    tubo_request_t *rq[7];
    for (int i = 0; i < N; i++) {
      buf[i] = me == round % n ? (double)(i + round) : -1;
      sum[i] = (double)(me + i);
    }
    TH_OK(tubo_ibcast(buf, N, TUBO_DOUBLE, round % n, c, &rq[0]));
    TH_OK(tubo_iallreduce(TUBO_IN_PLACE, sum, N, TUBO_DOUBLE, TUBO_SUM, c, &rq[1]));
    TH_OK(tubo_ibarrier(c, &rq[2]));
    int right = (me + 1) % n, left = (me - 1 + n) % n;
    int wr = (th_rank + 1) % th_size, wl = (th_rank - 1 + th_size) % th_size;
    int v = me * 100 + round, got = -1, vw = th_rank * 1000 + round, gotw = -1;
    TH_OK(tubo_irecv(&got, sizeof got, left, round, c, &rq[3]));
    TH_OK(tubo_isend(&v, sizeof v, right, round, c, &rq[4]));
    TH_OK(tubo_irecv(&gotw, sizeof gotw, wl, round, th_world, &rq[5]));
    TH_OK(tubo_isend(&vw, sizeof vw, wr, round, th_world, &rq[6]));
    /* Completed in another order each round: all at once, or one by one backwards. */
    if (round % 2) {
      TH_OK(tubo_waitall(7, rq, TUBO_STATUSES_IGNORE));
    } else {
      for (int i = 6; i >= 0; i--)
        TH_OK(tubo_wait(&rq[i], TUBO_STATUS_IGNORE));
    }
    TH_EQ("ring message on the split", got, left * 100 + round);
    TH_EQ("ring message on the world", gotw, wl * 1000 + round);
    for (int i = 0; i < N; i++) {
      TH_CHECK(buf[i] == (double)(i + round), "ibcast round %d: element %d is %g", round, i,
               buf[i]);
      double want = (double)n * i + (double)n * (n - 1) / 2;
      TH_CHECK(sum[i] == want, "iallreduce round %d: element %d is %g, expected %g", round, i,
               sum[i], want);
    }
  }
  TH_OK(tubo_comm_free(&c));
}

/* Progress inside any tubo call: the root of an ibcast never tests or waits on it until
 * every other rank, which waited for the broadcast, has told it so; meanwhile it only
 * calls tubo_iprobe. */
static void body_progress(void)
{
  enum { N = 1 << 18 };
  unsigned char *b = th_malloc(N);
  for (int i = 0; i < N; i++)
    b[i] = th_rank == 0 ? (unsigned char)(i * 3) : 0;
  tubo_request_t *r = NULL;
  TH_OK(tubo_ibcast(b, N, TUBO_BYTE, 0, th_world, &r));
  if (th_rank == 0) {
    for (int told = 0; told < th_size - 1;) {
      int flag = 0;
      tubo_status_t st;
      TH_OK(tubo_iprobe(TUBO_ANY_SOURCE, 9, th_world, &flag, &st));
      if (!flag)
        continue;
      int done = 0;
      TH_OK(tubo_recv(&done, sizeof done, st.source, 9, th_world, TUBO_STATUS_IGNORE));
      told++;
    }
    int flag = 0;
    TH_OK(tubo_test(&r, &flag, TUBO_STATUS_IGNORE));
    TH_CHECK(flag == 1, "ibcast at the root: expected complete once every rank has it");
  } else {
    TH_OK(tubo_wait(&r, TUBO_STATUS_IGNORE));
    for (int i = 0; i < N; i++)
      TH_CHECK(b[i] == (unsigned char)(i * 3), "ibcast: byte %d is %d", i, b[i]);
    int done = 1;
    TH_OK(tubo_send(&done, sizeof done, 0, 9, th_world));
  }
  free(b);
}

/* A rank that tests between chunks of work while the others wait. */
static void body_test_loop(void)
{
  enum { N = 100000 };
  double *x = th_malloc(N * sizeof *x), *y = th_malloc(N * sizeof *y);
  for (int i = 0; i < N; i++)
    x[i] = (double)(th_rank + 1);
  tubo_request_t *r = NULL;
  TH_OK(tubo_iallreduce(x, y, N, TUBO_DOUBLE, TUBO_MAX, th_world, &r));
  int flag = 0, chunks = 0;
  volatile double work = 0;
  while (!flag) {
    for (int k = 0; k < 1000; k++)
      work += k * 0.5;
    chunks++;
    TH_OK(tubo_test(&r, &flag, TUBO_STATUS_IGNORE));
  }
  TH_CHECK(r == NULL, "tubo_test: expected the completed request set to NULL");
  for (int i = 0; i < N; i++)
    TH_CHECK(y[i] == (double)th_size, "iallreduce MAX by tests: element %d is %g", i, y[i]);
  TH_CHECK(chunks >= 1, "chunks of work between tests: %d", chunks);
  free(x);
  free(y);
}

/* ---- Reproducible sums ---- */

/* Whether every rank of c holds the same bytes. */
static void same_everywhere(tubo_comm_t *c, const void *p, size_t len, const char *what)
{
  int n;
  TH_OK(tubo_comm_size(c, &n));
  unsigned char *all = th_malloc(len * (size_t)n + 1);
  TH_OK(tubo_allgather(p, all, len, TUBO_BYTE, c));
  for (int q = 0; q < n; q++)
    TH_CHECK(memcmp(all + (size_t)q * len, p, len) == 0,
             "%s: rank %d's result differs from this rank's in its bits", what, q);
  free(all);
}

static void repro_on(tubo_comm_t *c, const char *cname)
{
  int me, n;
  TH_OK(tubo_comm_rank(c, &me));
  TH_OK(tubo_comm_size(c, &n));
  int *world_of = th_malloc((size_t)n * sizeof *world_of);
  int *node_of = th_malloc((size_t)n * sizeof *node_of);
  TH_OK(tubo_allgather(&th_rank, world_of, 1, TUBO_INT, c));
  for (int q = 0; q < n; q++)
    node_of[q] = th_node_of(world_of[q]);
  /* Some in a flag record (up to SHMC_INLINE bytes), one just past it, then the slots. */
  static const size_t sizes[] = {
      1, 7, 8, SHMC_INLINE / sizeof(double), SHMC_INLINE / sizeof(double) + 1, 1000, 5000, 100000};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t cnt = sizes[k];
    double **vals = th_malloc((size_t)n * sizeof *vals);
    for (int q = 0; q < n; q++) {
      vals[q] = th_malloc(cnt * sizeof **vals);
      for (size_t i = 0; i < cnt; i++)
        vals[q][i] = cr_spread_val(q, i, (unsigned)k);
    }
    double *want = th_malloc(cnt * sizeof *want), *out = th_malloc(cnt * sizeof *out);
    double *again = th_malloc(cnt * sizeof *out);
    cr_tree_sum((const double *const *)vals, n, node_of, 1, cnt, want);
    char what[128];
    snprintf(what, sizeof what, "allreduce of %zu doubles on %s", cnt, cname);
    TH_OK(tubo_allreduce(vals[me], out, cnt, TUBO_DOUBLE, TUBO_SUM, c));
    same_everywhere(c, out, cnt * sizeof *out, what);
    for (size_t i = 0; i < cnt; i++)
      TH_CHECK(memcmp(&out[i], &want[i], sizeof out[i]) == 0,
               "%s: element %zu is %.17g, the documented tree gives %.17g", what, i, out[i],
               want[i]);
    /* Again, non-blocking, in place: the same bits. */
    tubo_request_t *r = NULL;
    memcpy(again, vals[me], cnt * sizeof *again);
    TH_OK(tubo_iallreduce(TUBO_IN_PLACE, again, cnt, TUBO_DOUBLE, TUBO_SUM, c, &r));
    TH_OK(tubo_wait(&r, TUBO_STATUS_IGNORE));
    TH_CHECK(memcmp(again, out, cnt * sizeof *out) == 0,
             "%s: iallreduce in place gave other bits than allreduce", what);
    /* reduce to every root: the same bits there. */
    for (int root = 0; root < n; root++) {
      memset(again, 0, cnt * sizeof *again);
      TH_OK(tubo_reduce(vals[me], me == root ? again : NULL, cnt, TUBO_DOUBLE, TUBO_SUM, root, c));
      if (me == root)
        TH_CHECK(memcmp(again, out, cnt * sizeof *out) == 0,
                 "%s: reduce to %d gave other bits than allreduce", what, root);
    }
    for (int q = 0; q < n; q++)
      free(vals[q]);
    free(vals), free(want), free(out), free(again);
  }
  /* reduce_scatter_block: each block as the allreduce of the whole vector has it. */
  size_t blk = 1000, all = blk * (size_t)n;
  double *in = th_malloc(all * sizeof *in), *ar = th_malloc(all * sizeof *in);
  double *mine = th_malloc(blk * sizeof *in);
  for (size_t i = 0; i < all; i++)
    in[i] = cr_spread_val(me, i, 99);
  TH_OK(tubo_allreduce(in, ar, all, TUBO_DOUBLE, TUBO_SUM, c));
  TH_OK(tubo_reduce_scatter_block(in, mine, blk, TUBO_DOUBLE, TUBO_SUM, c));
  TH_CHECK(memcmp(mine, ar + (size_t)me * blk, blk * sizeof *mine) == 0,
           "reduce_scatter_block on %s: block %d differs in its bits from the allreduce's", cname,
           me);
  free(in), free(ar), free(mine), free(world_of), free(node_of);
}

static void body_repro(void)
{
  repro_on(th_world, "the world");
  tubo_comm_t *s = NULL, *node = NULL;
  TH_OK(tubo_comm_split(th_world, th_rank % 2, key_of(th_rank), &s));
  repro_on(s, "a split by parity");
  TH_OK(tubo_comm_split_type(th_world, TUBO_COMM_TYPE_NODE, 0, &node));
  repro_on(node, "the node");
  TH_OK(tubo_comm_free(&s));
  TH_OK(tubo_comm_free(&node));
}

static const th_body_t bodies[] = {
    {"overlap", body_overlap, 0},
    {"progress", body_progress, 0},
    {"test_loop", body_test_loop, 0},
    {"repro", body_repro, 0},
    {NULL, NULL, 0},
};

static Suite *coll_nb_suite(void)
{
  Suite *s = suite_create("coll_nb");
  TCase *tc = th_add_case(s, "overlap", 1, TH_SOLO);
  th_add_job(tc, "overlap", 3, TH_BOTH);
  th_add_job(tc, "overlap", 8, TH_SHM);
  tc = th_add_case(s, "progress", 2, TH_BOTH);
  th_add_job(tc, "progress", 5, TH_SHM);
  tc = th_add_case(s, "test_loop", 4, TH_BOTH);
  tc = th_add_case(s, "repro", 1, TH_SOLO);
  th_add_job(tc, "repro", 2, TH_SHM);
  th_add_job(tc, "repro", 6, TH_BOTH);
  th_add_job(tc, "repro", 9, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, coll_nb_suite);
}
