/* SPDX-License-Identifier: MIT */
/* Direct collectives (coll_shm.h): the data moves straight between the ranks' buffers,
 * one copy per byte, by the kernel (process_vm_readv, process_vm_writev) or with memcpy
 * where a buffer lies in the job's heap; no scratch, no slot. A rank names a buffer in its
 * flag record of a step (shmc_publish_name: its offset in the heap, else its address, as
 * the point-to-point RTS names a message); the others read or write it once they see
 * that step.
 *
 * scatter where ranks can read each other's memory (s->direct; shmc_direct_scatter says
 * for which blocks), of two ranks too, one step: the root names its buffer in its record
 * and publishes k; each other rank reads its own block straight from there (all at once,
 * where through the scratch every rank waited for the root's P copies) and publishes k;
 * the root returns once every rank is at k, done reading its buffer.
 *
 * The direct collectives of two ranks (coll_shm.h, shmc_direct_for): bcast and gather,
 * two steps: at k1 each rank names its buffer (the data's source or its destination) in
 * its record; then, of a bcast, the other rank reads the first half straight from the
 * root's buffer while the root writes the rest straight into the other's; of a gather,
 * the other rank writes all of its block into the root's buffer while the root copies its
 * own block; each publishes k2 and returns once the other has. One rank reading all of a
 * 1 MiB bcast alone took longer than the slots' pieces, whose copy in and copy out
 * overlap; halves keep both ranks copying. allgather, allgatherv and alltoall, two steps: each
 * names its send buffer at k1 and reads its block(s) from the other's at once, publishes k2, and
 * returns once the other is done reading its buffer. At every step a rank whose copy failed
 * publishes all the same, the error in its record, and the other then fails too (TUBO_EPEER).
 *
 * reduce of two ranks (up to SHMC_REDUCE_DIRECT_MAX), one step: the other rank names its
 * data; the root reads it all, publishes the step (the other returns) and then combines,
 * rank 0's data the left operand. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll_shm.h"
#include "engine.h"
#include "frame.h"

/* The name by which the others read [buf, buf + len) of this rank (frame.h): its offset in
 * the job's heap, where it lies there (they copy with memcpy), else its address (the
 * kernel copies). */
uint64_t tubo__shmc_name(shmc_t *s, const void *buf, size_t len)
{
  uint64_t name;
  int other = tubo__comm_world_rank(s->comm, s->me == 0 ? 1 : 0);
  if (!tubo__heap_name(s->comm->w, other, buf, len, &name))
    name = (uint64_t)(uintptr_t)buf;
  return name;
}

/* The name of a buffer that rank r put in its record of step k, where len bytes at at of
 * it may be read or written, else 0. Anyone can write the name: the block must lie below
 * the bits that mark a name, and name a buffer, never a split message's control block
 * (only an RTS names those). */
static uint64_t shmc_named(const shmc_t *s, int r, uint32_t k, size_t at, size_t len)
{
  uint64_t name;
  memcpy(&name, shmc_line(s, r, k)->data, sizeof name);
  if ((name & TUBO__RTS_SPLIT) || TUBO__RTS_OFF(name) >= TUBO__RTS_LOAN - at - len)
    return 0;
  return name + at;
}

/* Reads len bytes at at of the buffer that rank r named in its record of step k into dst. */
int tubo__shmc_read_named(shmc_t *s, int r, uint32_t k, size_t at, void *dst, size_t len)
{
  uint64_t name = shmc_named(s, r, k, at, len);
  if (name == 0)
    return TUBO_ECORRUPT;
  return tubo__peer_read(s->comm->w, tubo__comm_world_rank(s->comm, r), name, 0, dst, len, len);
}

int tubo__shmc_write_named(shmc_t *s, int r, uint32_t k, size_t at, const void *src, size_t len)
{
  uint64_t to = shmc_named(s, r, k, at, len);
  if (to == 0)
    return TUBO_ECORRUPT;
  return tubo__peer_write(s->comm->w, tubo__comm_world_rank(s->comm, r), to, src, len);
}

/* Names [buf, buf + len) of this rank in its record of step k (shmc_name) and publishes k,
 * waking as tubo__shmc_publish. */
static int shmc_publish_name(shmc_t *s, uint32_t k, const void *buf, size_t len, int wake)
{
  uint64_t name = tubo__shmc_name(s, buf, len);
  int rc = tubo__shmc_guard_line(s, k);
  if (rc != 0)
    return rc;
  memcpy(shmc_line(s, s->me, k)->data, &name, sizeof name);
  tubo__shmc_publish(s, k, wake);
  return 0;
}

/* Publishes step k with the result of this rank's reads in its record, so that the ranks
 * waiting on it fail too where a read failed; wakes as tubo__shmc_publish. */
void tubo__shmc_publish_rc(shmc_t *s, uint32_t k, int rc, int wake)
{
  int32_t v = rc;
  memcpy(shmc_line(s, s->me, k)->data, &v, sizeof v);
  tubo__shmc_publish(s, k, wake);
}

/* TUBO_EPEER where rank r (every rank, r < 0) published a failed read at step k, else 0. */
int tubo__shmc_read_rc(const shmc_t *s, int r, uint32_t k)
{
  for (int q = r < 0 ? 0 : r; q < (r < 0 ? s->P : r + 1); q++) {
    int32_t v;
    memcpy(&v, shmc_line(s, q, k)->data, sizeof v);
    if (v != 0 && q != s->me)
      return TUBO_EPEER;
  }
  return 0;
}

/* A rooted call by direct reads, one step k: the root names src (total bytes) in its
 * record and publishes k, copies its own block (mine, len bytes at at) into dst, and
 * returns once every rank is at k, done reading, failing where a read failed; each other
 * rank reads len bytes at at (its block) into dst and publishes k, even when the read
 * failed. */
static int shmc_rooted_direct(shmc_t *s, int root, const unsigned char *src, size_t total,
                              size_t at, unsigned char *dst, size_t len)
{
  uint32_t k = s->step + 1;
  int rc, rc2;
  s->direct_calls++;
  if (s->me == root) {
    if ((rc = shmc_publish_name(s, k, src, total, SHMC_WAKE_ALWAYS)) != 0)
      return rc;
    if (dst != src + at)
      memcpy(dst, src + at, len);
    if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
      return rc;
    return tubo__shmc_read_rc(s, -1, k);
  }
  if ((rc = tubo__shmc_wait(s, root, k)) != 0)
    return rc;
  rc = tubo__shmc_read_named(s, root, k, at, dst, len);
  if ((rc2 = tubo__shmc_guard_line(s, k)) != 0)
    return rc2;
  tubo__shmc_publish_rc(s, k, rc, SHMC_WAKE_IF_LAST);
  return rc;
}

int tubo__shmc_scatter_direct(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t len = a->count * a->t->size, at = (size_t)s->me * len;
  const unsigned char *src = a->sbuf;
  if (s->me == a->root)
    at = (size_t)a->root * len;
  unsigned char *dst = s->me == a->root && a->in_place ? (unsigned char *)src + at : a->rbuf;
  return shmc_rooted_direct(s, a->root, src, len * (size_t)s->P, at, dst, len);
}

/* allgather, allgatherv and alltoall, two steps: at k1 every rank names its buffer in its
 * record; once all have, each reads its blocks (block q: at off(q) of rank q's buffer, into
 * rbuf + q * len, or of allgatherv rcounts[q] elements at rdispls[q]), then publishes k2
 * with the result of its reads, and returns once every rank is at k2, done reading its
 * buffer, failing where any read failed. each: alltoall, rank q's block for this rank lies
 * at me * len of q's buffer; else at 0. */
static int shmc_moves_direct(shmc_t *s, const tubo__coll_args_t *a, int each)
{
  size_t P = (size_t)s->P, me = (size_t)s->me, es = a->t->size;
  size_t len = a->count * es;
  /* allgatherv: block q is rcounts[q] elements at rdispls[q], which every rank knows. */
  int v = a->rcounts != NULL;
  size_t my_at = v ? a->rdispls[me] * es : me * len, my_len = v ? a->rcounts[me] * es : len;
  unsigned char *r = a->rbuf;
  const unsigned char *send = a->in_place ? r + (each ? 0 : my_at) : a->sbuf;
  size_t named = each ? P * len : a->in_place ? my_len : len;
  uint32_t k1 = s->step + 1, k2 = k1 + 1;
  int rc = 0, rc2;
  s->direct_calls++;
  if ((rc2 = shmc_publish_name(s, k1, send, named, SHMC_WAKE_IF_LAST)) != 0)
    return rc2;
  if (!a->in_place)
    tubo__coll_copy(r + my_at, send + (each ? me * len : 0), shmc_min(len, my_len));
  if ((rc2 = tubo__shmc_wait(s, -1, k1)) != 0)
    return rc2;
  for (size_t q = 0; q < P && rc == 0; q++) {
    size_t at = v ? a->rdispls[q] * es : q * len, n = v ? a->rcounts[q] * es : len;
    if (q != me && n > 0)
      rc = tubo__shmc_read_named(s, (int)q, k1, each ? me * len : 0, r + at, n);
  }
  if ((rc2 = tubo__shmc_guard_line(s, k2)) != 0)
    return rc2;
  tubo__shmc_publish_rc(s, k2, rc, SHMC_WAKE_IF_LAST);
  if ((rc2 = tubo__shmc_wait(s, -1, k2)) != 0)
    return rc2;
  return rc != 0 ? rc : tubo__shmc_read_rc(s, -1, k2);
}

/* Of two ranks, len bytes from rank x's src into the other's dst, one copy per byte, in
 * two steps. At k1 (shmc_pair_name) x names src and the other dst. Once both have
 * (shmc_pair_move), the other reads the first part bytes (whole cache lines) straight
 * from src while x writes the rest straight into dst; each publishes k2 with the result
 * of its copy, and returns once the other has, failing where either copy failed. */
static int shmc_pair_name(shmc_t *s, int x, const unsigned char *src, unsigned char *dst,
                          size_t len)
{
  s->direct_calls++;
  return shmc_publish_name(s, s->step + 1, s->me == x ? (const void *)src : dst, len,
                           SHMC_WAKE_IF_LAST);
}

static int shmc_pair_move(shmc_t *s, int x, const unsigned char *src, unsigned char *dst,
                          size_t len, size_t part)
{
  int other = 1 - s->me, rc = 0, rc2;
  uint32_t k1 = s->step, k2 = k1 + 1;
  if ((rc2 = tubo__shmc_wait(s, other, k1)) != 0)
    return rc2;
  if (s->me == x) {
    rc = tubo__shmc_write_named(s, other, k1, part, src + part, len - part);
  } else if (part > 0) {
    rc = tubo__shmc_read_named(s, x, k1, 0, dst, part);
  }
  if ((rc2 = tubo__shmc_guard_line(s, k2)) != 0)
    return rc2;
  tubo__shmc_publish_rc(s, k2, rc, SHMC_WAKE_IF_LAST);
  if ((rc2 = tubo__shmc_wait(s, other, k2)) != 0)
    return rc2;
  return rc != 0 ? rc : tubo__shmc_read_rc(s, other, k2);
}

/* bcast: each rank copies half, both at once. One rank alone reading all of a 1 MiB bcast
 * took longer than the slots' pieces, whose two copies overlap (doc/benchmarks.md,
 * 2026-12-07, "direct collectives of two ranks"). */
int tubo__shmc_bcast_direct(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t len = a->count * a->t->size;
  int rc = shmc_pair_name(s, a->root, a->rbuf, a->rbuf, len);
  return rc != 0 ? rc
                 : shmc_pair_move(s, a->root, a->rbuf, a->rbuf, len,
                                  len / 2 & ~(size_t)(SHMC_LINE - 1));
}

/* gather: the other rank writes all of its block into the root's buffer while the root,
 * once it has named that buffer, copies its own block: both copy as much, and neither
 * waits for the other's copy before it starts. Where the root copied its block first and
 * the two then took halves, the other waited (and under load slept) for that copy: 512
 * KiB-4 MiB took 1.7-2.5x this way's time, 64 and 256 KiB 1.26x and 1.16x in 11 alternated
 * rounds (doc/benchmarks.md, 2026-12-07, "The 2-rank scatter of 64 KiB and gather"). */
int tubo__shmc_gather_direct(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t len = a->count * a->t->size;
  int root = a->root, x = 1 - root;
  unsigned char *r = s->me == root ? a->rbuf : NULL, *dst = r != NULL ? r + (size_t)x * len : NULL;
  int rc = shmc_pair_name(s, x, a->sbuf, dst, len);
  if (rc != 0)
    return rc;
  if (s->me == root && !a->in_place)
    memcpy(r + (size_t)root * len, a->sbuf, len);
  return shmc_pair_move(s, x, a->sbuf, dst, len, 0);
}

int tubo__shmc_allgather_direct(shmc_t *s, const tubo__coll_args_t *a)
{
  return shmc_moves_direct(s, a, 0);
}

int tubo__shmc_alltoall_direct(shmc_t *s, const tubo__coll_args_t *a)
{
  return shmc_moves_direct(s, a, 1);
}

/* The root's combination in a direct reduce of two ranks, once theirs holds the other
 * rank's data: rank 0's data the left operand (the fixed tree of two), into the output. */
static void shmc_reduce_combine(const shmc_t *s, const tubo__coll_args_t *a, unsigned char *theirs)
{
  size_t len = a->count * a->t->size;
  unsigned char *out = a->rbuf;
  const unsigned char *own = a->in_place ? out : a->sbuf;
  /* The kernel computes inout = in op inout. */
  if (s->me == 0) {
    tubo__op_apply(a->op, a->t, own, theirs, a->count);
    if (theirs != out)
      memcpy(out, theirs, len);
  } else {
    if (!a->in_place)
      memcpy(out, own, len);
    tubo__op_apply(a->op, a->t, theirs, out, a->count);
  }
}

/* reduce of two ranks in one step k: the other rank names its data in its record and
 * publishes k; the root reads it all (straight into its output where it is rank 0 and not
 * in place, else into scratch), publishes k with the result of its read, and only then
 * combines: the other rank returns once its data was read, as Open MPI's does. Read and
 * combined a chunk at a time, the other waiting for the last, 128 and 256 KiB took
 * 1.44-1.47x Open MPI's time against 0.86-0.97x so (doc/benchmarks.md, 2026-12-07, "The
 * 2-rank reduce"). */
int tubo__shmc_reduce_direct(shmc_t *s, const tubo__coll_args_t *a)
{
  uint32_t k = s->step + 1;
  size_t len = a->count * a->t->size;
  int root = a->root, rc, rc2;
  s->direct_calls++;
  if (s->me != root) {
    if ((rc = shmc_publish_name(s, k, a->sbuf, len, SHMC_WAKE_ALWAYS)) != 0)
      return rc;
    if ((rc = tubo__shmc_wait(s, root, k)) != 0)
      return rc;
    return tubo__shmc_read_rc(s, root, k);
  }
  if ((rc = tubo__shmc_wait(s, 1 - root, k)) != 0)
    return rc;
  unsigned char *theirs = s->me == 0 && !a->in_place ? a->rbuf : malloc(len);
  rc = theirs == NULL ? TUBO_ENOMEM : tubo__shmc_read_named(s, 1 - root, k, 0, theirs, len);
  if ((rc2 = tubo__shmc_guard_line(s, k)) != 0)
    rc = rc2;
  else
    tubo__shmc_publish_rc(s, k, rc, SHMC_WAKE_IF_LAST);
  if (rc == 0)
    shmc_reduce_combine(s, a, theirs);
  if (theirs != a->rbuf)
    free(theirs);
  return rc;
}
