/* SPDX-License-Identifier: MIT */
/* One-copy collectives (coll_shm.h): bcast, reduce, allreduce, gather, scatter,
 * allgather, allgatherv and alltoall of more ranks than two whose data would take more
 * than one step through the slots go through the communicator's scratch block instead,
 * in a fixed number of steps whatever the size; so do scan, exscan and
 * reduce_scatter_block beyond a flag record, of two ranks too.
 *
 * The scratch is a block of the job's shared heap, taken collectively (objmem.h) by the
 * first call that needs it, kept between calls (a process's first touch of a shared page
 * is slow on some virtual machines) and replaced by a larger one, at least twice the
 * size, when a call needs more, up to TUBO_COLL_SCRATCH_BYTES. Whether a call fits, and
 * how large a block it asks for, come from its arguments and the block's size, the same
 * on every rank; when the heap has no room (rank 0 tells every rank alike) the call, and
 * every later one that needs as much, goes through the slots or point to point as
 * SHMC_STEPS_MAX says.
 *
 * bcast, one step k: the root copies its buffer into the scratch and publishes k; every
 * other rank waits for it, copies out at its own pace and publishes k. The root's next
 * write waits until every rank is at k (tubo__shmc_guard).
 *
 * reduce and allreduce, three steps: at k1 each rank copies its data into its part of
 * the scratch (P parts of a line-aligned stride); once all have, rank i combines slice i
 * (tubo__shmc_slice) of every part along the fixed tree, in place (only it touches slice i of
 * any part), leaves the result in slice i of the last part and publishes k2; once all
 * have, the ranks that want the result copy the last part out, and every rank publishes
 * k3, which says it has done reading, without waiting for anyone: the next write into
 * the scratch waits until every rank is at k3. The operands and their order are those
 * of the slots' path and of the point-to-point tree, so the bits are the same.
 *
 * The moves, two steps, in parts of whole cache lines: at k1 each rank with data for
 * others copies it into its part (gather, allgather(v): its block; alltoall: its P blocks,
 * block q for rank q; scatter: the root, every rank's block); then those that want data
 * wait for its writers (all, or the root) and copy their blocks out, and every rank
 * publishes k2 at once, which says it has done reading, as reduce's k3. allgatherv's parts
 * follow its counts, which every rank knows alike.
 *
 * scan and exscan, three steps as reduce's: at k1 each rank copies its data into its part;
 * once all have, rank i turns slice i of every part into the prefix of the parts up to it
 * (part q's slice becomes part q - 1's op part q's, lowest rank the left operand) and
 * publishes k2; once all have, each rank copies its prefix out (exscan: the one of the rank
 * below it; rank 0's buffer stays as it was) and publishes k3. Each element is combined
 * P - 1 times in all, where a rank combining every rank's data below its own would make
 * P (P - 1) / 2.
 *
 * reduce_scatter_block, two steps: at k1 each rank copies all its P blocks into its part;
 * once all have, rank i combines block i of every part along the fixed tree (the
 * allreduce's operands and order: the same bits as its block of an allreduce) into its
 * buffer and publishes k2, which says it has done reading. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "coll/coll_shm.h"
#include "engine.h"
#include "settings.h"

/* Makes s's scratch hold at least need bytes from shmc_scratch_at. Returns 0,
 * TUBO__COLL_DECLINE (on every rank alike) where it cannot, or the error of the exchange
 * between ranks. The block is SHMC_ALIAS larger than what the calls need, for the skew. */
static int shmc_scratch(shmc_t *s, size_t need)
{
  if (!s->big.cap_read) {
    s->big.cap = (size_t)tubo__setting_u64("TUBO_COLL_SCRATCH_BYTES", SHMC_SCRATCH_DEFAULT, 0,
                                           (uint64_t)1 << 40);
    s->big.cap_read = 1;
  }
  if (s->big.mem.base != NULL && need + SHMC_ALIAS <= s->big.mem.size)
    return 0;
  if (need > s->big.cap || (s->big.failed != 0 && need >= s->big.failed))
    return TUBO__COLL_DECLINE;
  /* At least twice the block it replaces, so that growing calls reallocate seldom. */
  size_t want = need, had = s->big.mem.base != NULL ? s->big.mem.size - SHMC_ALIAS : 0;
  if (want < 2 * had)
    want = 2 * had < s->big.cap ? 2 * had : s->big.cap;
  if (s->big.mem.base != NULL)
    tubo__objmem_release(&s->big.mem); /* freed once every rank has let it go */
  int rc = tubo__objmem_comm(s->comm, want + SHMC_ALIAS, &s->big.mem);
  if (rc == TUBO_ESHM || rc == TUBO_ETOOBIG) {
    s->big.failed = need; /* rank 0 told every rank the same */
    return TUBO__COLL_DECLINE;
  }
  return rc;
}

/* Where the scratch's data starts: SHMC_SKEW past a multiple of SHMC_ALIAS (coll_shm.h). */
static unsigned char *shmc_scratch_at(const shmc_t *s)
{
  unsigned char *base = s->big.mem.base;
  return base + shmc_skew(base);
}

/* Rounds n up to whole cache lines, so that no two ranks' parts share one. */
static inline size_t shmc_lines(size_t n)
{
  return (n + SHMC_LINE - 1) / SHMC_LINE * SHMC_LINE;
}

int tubo__shmc_bcast_big(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t len = a->count * a->t->size;
  int rc = shmc_scratch(s, len);
  if (rc != 0)
    return rc;
  unsigned char *x = shmc_scratch_at(s);
  uint32_t k = s->step + 1;
  if (s->me == a->root) {
    if ((rc = tubo__shmc_guard(s, k)) != 0)
      return rc;
    memcpy(x, a->rbuf, len);
    tubo__shmc_publish(s, k, SHMC_WAKE_ALWAYS);
  } else {
    if ((rc = tubo__shmc_wait(s, a->root, k)) != 0)
      return rc;
    memcpy(a->rbuf, x, len);
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  }
  s->big.calls++;
  return 0;
}

/* The first step of the reductions through the scratch: each rank copies len bytes of its
 * data (none where copy is 0) into its part, of P parts of whole lines, publishes the step
 * and waits until every rank has. Sets *x and *stride; returns 0, TUBO__COLL_DECLINE (on
 * every rank alike) or an error. */
static int shmc_parts_in(shmc_t *s, const tubo__coll_args_t *a, size_t len, int copy,
                         unsigned char **x, size_t *stride)
{
  *stride = shmc_lines(len);
  if (*stride > SIZE_MAX / (size_t)s->P)
    return TUBO__COLL_DECLINE;
  int rc = shmc_scratch(s, *stride * (size_t)s->P);
  if (rc != 0)
    return rc;
  *x = shmc_scratch_at(s);
  uint32_t k1 = s->step + 1;
  if ((rc = tubo__shmc_guard(s, k1)) != 0)
    return rc;
  if (copy)
    memcpy(*x + *stride * (size_t)s->me, a->in_place ? a->rbuf : a->sbuf, len);
  tubo__shmc_publish(s, k1, SHMC_WAKE_IF_LAST);
  return tubo__shmc_wait(s, -1, k1);
}

int tubo__shmc_reduce_big(shmc_t *s, const tubo__coll_args_t *a, int all)
{
  size_t es = a->t->size, len = a->count * es, stride;
  unsigned char *x;
  int rc = shmc_parts_in(s, a, len, 1, &x, &stride);
  if (rc != 0)
    return rc;
  unsigned char *last = x + stride * (size_t)(s->P - 1);
  uint32_t k1 = s->step;
  size_t lo, hi;
  tubo__shmc_slice(s, es, a->count, s->me, &lo, &hi);
  if (hi > lo) {
    for (int q = 0; q < s->P; q++)
      s->parts[q] = x + stride * (size_t)q + lo * es;
    const unsigned char *res = tubo__shmc_tree(a, s->parts, s->P, hi - lo);
    if (res != last + lo * es) /* the tree leaves it there; should that change */
      memmove(last + lo * es, res, (hi - lo) * es);
  }
  tubo__shmc_publish(s, k1 + 1, SHMC_WAKE_IF_LAST);
  if (all || s->me == a->root) {
    if ((rc = tubo__shmc_wait(s, -1, k1 + 1)) != 0)
      return rc;
    memcpy(a->rbuf, last, len);
  }
  tubo__shmc_publish(s, k1 + 2, SHMC_WAKE_IF_LAST);
  s->big.calls++;
  return 0;
}

/* Block q of a gather's or allgather(v)'s receive buffer: its bytes, and where it starts
 * (*at, bytes into rbuf). Every rank knows every block alike. */
static size_t shmc_block(const tubo__coll_args_t *a, int q, size_t *at)
{
  size_t es = a->t->size;
  if (a->rcounts == NULL) {
    *at = (size_t)q * a->count * es;
    return a->count * es;
  }
  *at = a->rdispls[q] * es;
  return a->rcounts[q] * es;
}

int tubo__shmc_gather_big(shmc_t *s, const tubo__coll_args_t *a, int root)
{
  size_t total = 0, at, off = 0;
  for (int q = 0; q < s->P; q++) {
    size_t n = shmc_lines(shmc_block(a, q, &at));
    if (n > SIZE_MAX - total)
      return TUBO__COLL_DECLINE;
    total += n;
  }
  int rc = shmc_scratch(s, total);
  if (rc != 0)
    return rc;
  unsigned char *x = shmc_scratch_at(s), *r = a->rbuf;
  size_t mine = shmc_block(a, s->me, &at);
  const unsigned char *src = a->in_place ? r + at : a->sbuf;
  if (!a->in_place && a->count * a->t->size < mine)
    mine = a->count * a->t->size; /* an allgatherv rank that sends less than it is told */
  int want = root < 0 || s->me == root;
  uint32_t k1 = s->step + 1;
  if (want && !a->in_place)
    tubo__coll_copy(r + at, src, mine);
  if (s->me != root) {
    if ((rc = tubo__shmc_guard(s, k1)) != 0)
      return rc;
    for (int q = 0; q < s->me; q++)
      off += shmc_lines(shmc_block(a, q, &at));
    tubo__coll_copy(x + off, src, mine);
  }
  tubo__shmc_publish(s, k1, SHMC_WAKE_IF_LAST);
  if (want) {
    if ((rc = tubo__shmc_wait(s, -1, k1)) != 0)
      return rc;
    off = 0;
    for (int q = 0; q < s->P; q++) {
      size_t n = shmc_block(a, q, &at);
      if (q != s->me)
        tubo__coll_copy(r + at, x + off, n);
      off += shmc_lines(n);
    }
  }
  tubo__shmc_publish(s, k1 + 1, SHMC_WAKE_IF_LAST);
  s->big.calls++;
  return 0;
}

int tubo__shmc_scatter_big(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t len = a->count * a->t->size, stride = shmc_lines(len);
  if (stride > SIZE_MAX / (size_t)s->P)
    return TUBO__COLL_DECLINE;
  int rc = shmc_scratch(s, stride * (size_t)s->P);
  if (rc != 0)
    return rc;
  unsigned char *x = shmc_scratch_at(s);
  const unsigned char *src = a->sbuf;
  uint32_t k1 = s->step + 1;
  if (s->me == a->root) {
    if ((rc = tubo__shmc_guard(s, k1)) != 0)
      return rc;
    for (int q = 0; q < s->P; q++)
      if (q != a->root)
        memcpy(x + stride * (size_t)q, src + (size_t)q * len, len);
    tubo__shmc_publish(s, k1, SHMC_WAKE_ALWAYS);
    if (!a->in_place)
      memcpy(a->rbuf, src + (size_t)a->root * len, len);
  } else {
    if ((rc = tubo__shmc_wait(s, a->root, k1)) != 0)
      return rc;
    memcpy(a->rbuf, x + stride * (size_t)s->me, len);
    tubo__shmc_publish(s, k1, SHMC_WAKE_IF_LAST);
  }
  tubo__shmc_publish(s, k1 + 1, SHMC_WAKE_IF_LAST);
  s->big.calls++;
  return 0;
}

int tubo__shmc_alltoall_big(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t P = (size_t)s->P, me = (size_t)s->me;
  size_t len = a->count * a->t->size, stride = shmc_lines(len);
  if (stride > SIZE_MAX / P / P)
    return TUBO__COLL_DECLINE;
  int rc = shmc_scratch(s, stride * P * P);
  if (rc != 0)
    return rc;
  unsigned char *x = shmc_scratch_at(s), *r = a->rbuf;
  const unsigned char *src = a->in_place ? r : a->sbuf;
  uint32_t k1 = s->step + 1;
  if ((rc = tubo__shmc_guard(s, k1)) != 0)
    return rc;
  for (size_t q = 0; q < P; q++)
    if (q != me)
      memcpy(x + stride * (me * P + q), src + q * len, len);
  tubo__shmc_publish(s, k1, SHMC_WAKE_IF_LAST);
  if (!a->in_place)
    memcpy(r + me * len, src + me * len, len);
  if ((rc = tubo__shmc_wait(s, -1, k1)) != 0)
    return rc;
  for (size_t q = 0; q < P; q++)
    if (q != me)
      memcpy(r + q * len, x + stride * (q * P + me), len);
  tubo__shmc_publish(s, k1 + 1, SHMC_WAKE_IF_LAST);
  s->big.calls++;
  return 0;
}

int tubo__shmc_scan_big(shmc_t *s, const tubo__coll_args_t *a, int ex)
{
  size_t es = a->t->size, len = a->count * es, stride;
  unsigned char *x;
  /* exscan needs no prefix of the last rank: its data stays out. */
  int parts = ex ? s->P - 1 : s->P;
  int rc = shmc_parts_in(s, a, len, s->me < parts, &x, &stride);
  if (rc != 0)
    return rc;
  uint32_t k1 = s->step;
  /* Part q's slice becomes the prefix of parts 0..q, left to right: only this rank
   * touches this slice of any part. */
  size_t lo, hi;
  tubo__shmc_slice(s, es, a->count, s->me, &lo, &hi);
  for (int q = 1; q < parts && hi > lo; q++)
    tubo__coll_combine(a, x + stride * (size_t)(q - 1) + lo * es, x + stride * (size_t)q + lo * es,
                       hi - lo);
  tubo__shmc_publish(s, k1 + 1, SHMC_WAKE_IF_LAST);
  int from = ex ? s->me - 1 : s->me; /* whose prefix is this rank's result */
  if (from >= 0) {
    if ((rc = tubo__shmc_wait(s, -1, k1 + 1)) != 0)
      return rc;
    memcpy(a->rbuf, x + stride * (size_t)from, len);
  }
  tubo__shmc_publish(s, k1 + 2, SHMC_WAKE_IF_LAST);
  s->big.calls++;
  return 0;
}

int tubo__shmc_reduce_scatter_big(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size, blen = a->count * es;
  if (blen > SIZE_MAX / (size_t)s->P)
    return TUBO__COLL_DECLINE;
  size_t stride;
  unsigned char *x;
  int rc = shmc_parts_in(s, a, blen * (size_t)s->P, 1, &x, &stride);
  if (rc != 0)
    return rc;
  uint32_t k1 = s->step;
  /* This rank's block of every part, along the fixed tree (in place: only this rank
   * touches that block of any part). */
  for (int q = 0; q < s->P; q++)
    s->parts[q] = x + stride * (size_t)q + blen * (size_t)s->me;
  memcpy(a->rbuf, tubo__shmc_tree(a, s->parts, s->P, a->count), blen);
  tubo__shmc_publish(s, k1 + 1, SHMC_WAKE_IF_LAST);
  s->big.calls++;
  return 0;
}

void tubo__shmc_big_free(shmc_t *s)
{
  if (s->big.mem.base != NULL)
    tubo__objmem_release(&s->big.mem);
}
