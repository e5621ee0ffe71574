/* SPDX-License-Identifier: MIT */
/* Shared-memory reductions (coll_shm.h): reduce and allreduce, along the fixed tree; and
 * scan, exscan and reduce_scatter_block, in a flag record or through the scratch (scan and
 * exscan in the slots between the two).
 *
 * Up to SHMC_INLINE bytes: each rank puts its data in its flag's record, and the ranks that
 * want the result each combine every record along the tree themselves (the same operands in
 * the same order on every rank: the same bits). More: a slot's worth at a time, each rank
 * copies its part into its slot; once all have, rank i combines slice i of the chunk
 * across the slots along the tree (in place, in the slots' slice i, which only it reads)
 * and publishes the result in its other slot; once all have, the ranks that want the
 * result copy every slice out. Two ranks go in pieces instead: of a quarter slot, one
 * copy in and the root's combination as they come (reduce), or of a whole slot, each rank
 * combining half of each piece (allreduce). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "coll/coll_shm.h"

/* The tree over every rank's data of step k, count elements (len bytes) at off bytes into
 * each record, into out; mine (not out) holds this rank's whole record. */
static void shmc_inline_tree(shmc_t *s, const tubo__coll_args_t *a, uint32_t k, size_t off,
                             size_t len, size_t count, const void *mine, void *out)
{
  const unsigned char *d0 = shmc_data_of(s, 0, k, mine), *d1 = shmc_data_of(s, 1, k, mine);
  if (s->P == 2) {
    /* rank 0's value op rank 1's, computed in out. */
    memcpy(out, d1 + off, len);
    tubo__op_apply(a->op, a->t, d0 + off, out, count);
    return;
  }
  for (int q = 0; q < s->P; q++) {
    s->parts[q] = shmc_tmp(s, q);
    memcpy(s->parts[q], (const unsigned char *)shmc_data_of(s, q, k, mine) + off, len);
  }
  memcpy(out, tubo__shmc_tree(a, s->parts, s->P, count), len);
}

static int shmc_reduce_inline(shmc_t *s, const tubo__coll_args_t *a, int all)
{
  int rc = s->tree.G > 0 ? tubo__shmc_tree_reduce(s, a, all) : TUBO__COLL_DECLINE;
  if (rc != TUBO__COLL_DECLINE)
    return rc;
  size_t len = a->count * a->t->size;
  const void *in = a->in_place ? a->rbuf : a->sbuf;
  uint32_t k = s->step + 1;
  if ((rc = tubo__shmc_guard_line(s, k)) != 0)
    return rc;
  memcpy(shmc_line(s, s->me, k)->data, in, len);
  tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  if (!all && s->me != a->root)
    return 0;
  if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
    return rc;
  /* In place, the result overwrites this rank's data before it is read: a copy. */
  unsigned char own[SHMC_INLINE];
  if (in == a->rbuf)
    in = memcpy(own, in, len);
  shmc_inline_tree(s, a, k, 0, len, a->count, in, a->rbuf);
  return 0;
}

static int shmc_reduce_chunks(shmc_t *s, const tubo__coll_args_t *a, int all)
{
  size_t es = a->t->size, per_chunk = s->slot / es;
  const unsigned char *in = a->in_place ? a->rbuf : a->sbuf;
  unsigned char *out = a->rbuf;
  int want = all || s->me == a->root, rc;
  for (size_t c0 = 0; c0 < a->count; c0 += per_chunk) {
    size_t n = shmc_min(per_chunk, a->count - c0), lo, hi;
    uint32_t k1 = s->step + 1, k2 = k1 + 1;
    if ((rc = tubo__shmc_guard(s, k1)) != 0)
      return rc;
    memcpy(shmc_slot(s, s->me, k1), in + c0 * es, n * es);
    tubo__shmc_publish(s, k1, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, -1, k1)) != 0)
      return rc;
    tubo__shmc_slice(s, es, n, s->me, &lo, &hi);
    if ((rc = tubo__shmc_guard(s, k2)) != 0)
      return rc;
    if (hi > lo) {
      for (int q = 0; q < s->P; q++)
        s->parts[q] = shmc_slot(s, q, k1) + lo * es;
      const unsigned char *res = tubo__shmc_tree(a, s->parts, s->P, hi - lo);
      memcpy(shmc_slot(s, s->me, k2) + lo * es, res, (hi - lo) * es);
    }
    tubo__shmc_publish(s, k2, SHMC_WAKE_IF_LAST);
    if (!want)
      continue;
    if ((rc = tubo__shmc_wait(s, -1, k2)) != 0)
      return rc;
    for (int q = 0; q < s->P; q++) {
      tubo__shmc_slice(s, es, n, q, &lo, &hi);
      memcpy(out + (c0 + lo) * es, shmc_slot(s, q, k2) + lo * es, (hi - lo) * es);
    }
  }
  return 0;
}

/* reduce of more than two ranks within a slot, combined by the root alone: each other rank
 * copies its data into its slot, publishes and returns; the root waits for all of them and
 * combines along the fixed tree (the bits of the chunks' slices), rank 0's data read from
 * its buffer where it is the root. Each rank combining a slice and the root copying every
 * slice out (shmc_reduce_chunks) took 1.2-10x as long at 4-16 ranks on 2 vCPUs, 4 KiB to a
 * slot (doc/benchmarks.md, "reduce at its root"): two steps of all ranks against one, and
 * the others' data read once. Beyond a slot, the root alone combining chunk after chunk
 * measured both ways against the scratch (0.6-1.5x), which stays. A rank's slot of step k
 * is written again at k + 2 at the earliest, whose guard waits for the root at k + 1:
 * past its reads. */
static int shmc_reduce_at_root(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size, len = a->count * es;
  const unsigned char *in = a->in_place ? a->rbuf : a->sbuf;
  int root = a->root, rc;
  uint32_t k = s->step + 1;
  if ((rc = tubo__shmc_guard(s, k)) != 0)
    return rc;
  if (s->me != root || root != 0)
    memcpy(shmc_slot(s, s->me, k), in, len);
  tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  if (s->me != root)
    return 0;
  if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
    return rc;
  /* parts[0] is read, never written (tubo__shmc_tree). */
  for (int q = 0; q < s->P; q++)
    s->parts[q] = q == 0 && root == 0 ? (unsigned char *)(uintptr_t)in : shmc_slot(s, q, k);
  const unsigned char *res = tubo__shmc_tree(a, s->parts, s->P, a->count);
  if (res != a->rbuf)
    memcpy(a->rbuf, res, len);
  s->root_calls++;
  return 0;
}

/* reduce of two ranks beyond a record, in pieces through the other rank's slots, as a
 * bcast of two ranks goes the other way (coll_shm_move.c): piece j of a call that begins
 * after step s0 travels at step s0 + 1 + j, in the other rank's slot s0 + 1 + j / np. It
 * copies piece j in and publishes its step; the root publishes the step too, waits for
 * the piece and combines it with its own data: rank 0's op rank 1's, the fixed tree of
 * two. The root publishing piece j's step says that it is done with piece j - 1 (the
 * engine's rule: a rank at step k + 1 is done reading step k), so piece j, which takes
 * piece j - 2 np's place, waits for the root at the step after that piece's; the first two
 * slots wait as any slot's writer does, and a last step with no data closes the call. The
 * root no longer waits for its own copy into a slot and for the other rank's combination
 * of the other half before it copies that half out: one copy in and the combination, the
 * copy in of one piece beside the combination of the last. An allreduce splits each piece
 * in halves instead (shmc_allreduce_halves): both ranks combining all of it took longer
 * than the chunks on 2 vCPUs (doc/benchmarks.md, "The 2-rank collectives, again"). */
static int shmc_reduce_pieces(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size, len = a->count * es, np = SHMC_PIECES;
  size_t piece = shmc_piece_bytes(s, np, es);
  int root = a->root, other = 1 - root, rc;
  uint32_t s0 = s->step;
  for (size_t off = 0, j = 0; off < len; off += piece, j++) {
    size_t n = shmc_min(piece, len - off);
    uint32_t k = s->step + 1;
    unsigned char *at = shmc_piece_at(s, other, s0, j, np, piece);
    if (s->me == other) {
      uint32_t done = j < np ? s0 : j < 2 * np ? s0 + 1 : k - 2 * (uint32_t)np + 1;
      if ((rc = tubo__shmc_wait_all(s, done)) != 0)
        return rc;
      memcpy(at, (const unsigned char *)a->sbuf + off, n);
      tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
      continue;
    }
    unsigned char *out = (unsigned char *)a->rbuf + off;
    const unsigned char *in = a->in_place ? out : (const unsigned char *)a->sbuf + off;
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, other, k)) != 0)
      return rc;
    /* The kernel computes inout = in op inout; rank 0's data is the left operand. Rank 0
     * combines in the piece's place, which the other rank does not touch again before
     * this rank publishes a later step. */
    if (root == 0) {
      tubo__op_apply(a->op, a->t, in, at, n / es);
      memcpy(out, at, n);
    } else {
      if (!a->in_place)
        memcpy(out, in, n);
      tubo__op_apply(a->op, a->t, at, out, n / es);
    }
  }
  tubo__shmc_publish(s, s->step + 1, SHMC_WAKE_IF_LAST);
  return 0;
}

/* Pieces of a slot in an allreduce of two ranks: whole slots. Each piece holds both ranks
 * at two steps; with quarter slots (SHMC_PIECES, as a bcast's) 64 KiB-4 MiB took
 * 1.07-1.24x the time of whole slots (4 MiB 0.8x in one script of five), eighths more
 * (doc/benchmarks.md, 2026-12-07, "The 2-rank scatter of 64 KiB and gather"). */
#define SHMC_HALVES_PIECES 1u

/* allreduce of two ranks beyond a record, in pieces, each rank combining half of each:
 * piece j of a call that begins after step s0 takes steps a = s0 + 1 + 2 j and a + 1, in
 * each rank's slot s0 + 1 + j / np at (j % np) pieces (np = SHMC_HALVES_PIECES). Rank 0 combines
 * the piece's first half (tubo__shmc_slice), rank 1 the rest. At step a each rank copies the half
 * the other combines into its place and publishes a; then rank 0 combines its own first half with
 * rank 1's copy, in rank 1's place (the kernel's inout), and rank 1 its second half in
 * its result, which it copies over rank 0's copy; both publish a + 1, and each copies the
 * other's half of the result out of its own place. Both halves are rank 0's data op rank
 * 1's, the fixed tree of two, so both ranks hold the same bits. Each rank copies half the
 * data in and half out, where the chunks of a slot copied all of it in and out, and only
 * the other rank's two steps of a piece hold it, where the chunks held both ranks twice a
 * slot. The ranks' rule (a rank at step k + 1 is done reading step k) holds at every
 * step: piece j's place is free again once the other rank has published piece j's second
 * step, which piece j + 2 np, taking it, waits for; the first two slots wait as any slot's
 * writer does, and a last step with no data closes the call. */
static int shmc_allreduce_halves(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size, len = a->count * es, np = SHMC_HALVES_PIECES;
  size_t piece = shmc_piece_bytes(s, np, es);
  const unsigned char *in = a->in_place ? a->rbuf : a->sbuf;
  unsigned char *out = a->rbuf;
  int me = s->me, other = 1 - me, rc;
  uint32_t s0 = s->step;
  for (size_t off = 0, j = 0; off < len; off += piece, j++) {
    size_t n = shmc_min(piece, len - off), lo, mid;
    tubo__shmc_slice(s, es, n / es, 0, &lo, &mid);
    mid *= es; /* rank 0 combines [0, mid) of the piece, rank 1 [mid, n) */
    uint32_t k = s->step + 1;
    uint32_t done = j < np ? s0 : j < 2 * np ? s0 + 1 : k - 4 * (uint32_t)np + 1;
    unsigned char *mine = shmc_piece_at(s, me, s0, j, np, piece);
    unsigned char *theirs = shmc_piece_at(s, other, s0, j, np, piece);
    const unsigned char *src = in + off;
    unsigned char *dst = out + off;
    if ((rc = tubo__shmc_wait_all(s, done)) != 0)
      return rc;
    /* The half the other rank combines, into this rank's place. */
    if (me == 0)
      memcpy(mine + mid, src + mid, n - mid);
    else
      memcpy(mine, src, mid);
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, other, k)) != 0)
      return rc;
    /* The kernel computes inout = in op inout; rank 0's data is the left operand. */
    if (me == 0) {
      tubo__op_apply(a->op, a->t, src, theirs, mid / es);
      memcpy(dst, theirs, mid);
    } else {
      if (!a->in_place)
        memcpy(dst + mid, src + mid, n - mid);
      tubo__op_apply(a->op, a->t, theirs + mid, dst + mid, (n - mid) / es);
      memcpy(theirs + mid, dst + mid, n - mid);
    }
    tubo__shmc_publish(s, k + 1, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, other, k + 1)) != 0)
      return rc;
    if (me == 0)
      memcpy(dst + mid, mine + mid, n - mid);
    else
      memcpy(dst, mine, mid);
  }
  tubo__shmc_publish(s, s->step + 1, SHMC_WAKE_IF_LAST);
  return 0;
}

/* reduce (all 0) or allreduce (all 1): in a flag record; beyond a slot among more than two
 * ranks, through the scratch; else of two ranks in pieces, a reduce of more within a slot
 * at its root, else in chunks of a slot, or point to point where the chunks would be too
 * many. */
static int shmc_reduce_any(tubo_comm_t *comm, const tubo__coll_args_t *a, int all)
{
  shmc_t *s = comm->coll_state;
  size_t len = a->count * a->t->size;
  if (len <= SHMC_INLINE)
    return shmc_reduce_inline(s, a, all);
  int rc;
  if (shmc_one_copy(s, len) && (rc = tubo__shmc_reduce_big(s, a, all)) != TUBO__COLL_DECLINE)
    return rc;
  if (!all && len <= SHMC_REDUCE_DIRECT_MAX && shmc_direct_for(s, len))
    return tubo__shmc_reduce_direct(s, a);
  if (s->P == 2)
    return all ? shmc_allreduce_halves(s, a) : shmc_reduce_pieces(s, a);
  if (shmc_too_many_steps(s, len, s->slot))
    return TUBO__COLL_DECLINE; /* the point-to-point table's reduction */
  if (!all && len <= s->slot)
    return shmc_reduce_at_root(s, a);
  return shmc_reduce_chunks(s, a, all);
}

int tubo__shmc_reduce(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  return shmc_reduce_any(comm, a, 0);
}

int tubo__shmc_allreduce(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  return shmc_reduce_any(comm, a, 1);
}

/* Where rank q put the data of a scan's step k: its record, or (slots) its slot. */
static inline const unsigned char *shmc_scan_at(const shmc_t *s, int q, uint32_t k, int slots)
{
  return slots ? shmc_slot(s, q, k) : shmc_line(s, q, k)->data;
}

/* scan (ex 0) and exscan (ex 1) in one step, in flag records or (slots) where
 * shmc_scan_in_slots says in the slots: each rank but the highest (whose data enters no
 * other rank's result) puts its data there, and once the ranks below it have, combines
 * theirs (and its own, inclusive) from the highest down, the lowest rank the leftmost
 * operand; it waits for no rank above it, as a chain of messages would not. exscan leaves
 * rank 0's buffer as it was. A rank's publication wakes the sleepers once every rank up to
 * it has published: the last of the ranks below a sleeper is such a rank. A rank's record
 * of step k is written again SHMC_DEPTH steps later, its slot at k + 2 at the earliest,
 * and both guards wait for every rank past k: past this call's reads. */
static int shmc_scan_flat(shmc_t *s, const tubo__coll_args_t *a, int ex, int slots)
{
  size_t len = a->count * a->t->size;
  const void *in = a->in_place ? a->rbuf : a->sbuf;
  uint32_t k = s->step + 1;
  int rc;
  if ((rc = slots ? tubo__shmc_guard(s, k) : tubo__shmc_guard_line(s, k)) != 0)
    return rc;
  if (s->me < s->P - 1)
    memcpy((unsigned char *)shmc_scan_at(s, s->me, k, slots), in, len);
  tubo__shmc_publish_set(s, k, s->ranks, s->me + 1);
  if ((rc = tubo__shmc_wait_set(s, s->ranks, s->me, k)) != 0)
    return rc;
  s->scan_slot_calls += (uint64_t)slots;
  int top = ex ? s->me - 1 : s->me; /* the highest rank whose data enters */
  if (top < 0)
    return 0;
  /* Its own data from its buffer: others' reads may have taken the line (shmc_data_of). */
  if (top != s->me || in != a->rbuf)
    memcpy(a->rbuf, top == s->me ? in : shmc_scan_at(s, top, k, slots), len);
  for (int q = top - 1; q >= 0; q--)
    tubo__coll_combine(a, shmc_scan_at(s, q, k, slots), a->rbuf, a->count);
  return 0;
}

/* exscan of two ranks beyond a record: rank 1's result is rank 0's data, a bcast from
 * rank 0 into rank 1's buffer (of two ranks, straight between the buffers or in pieces
 * through the slots, both ranks copying at once). Through the scratch, where both copy
 * in turn, 32 KiB-1 MiB took 1.8-2.7x Open MPI's time, whose rank 0 sends once; rank 1
 * reading all of 1 MiB 1.6-2x. */
static int shmc_exscan_two(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  tubo__coll_args_t b = *a;
  b.kind = TUBO__C_BCAST;
  b.root = 0;
  b.in_place = 0;
  b.sbuf = NULL;
  if (comm->rank == 0 && !a->in_place)
    b.rbuf = (void *)a->sbuf; /* read, never written: the root's buffer of a bcast */
  return tubo__shmc_bcast(comm, &b);
}

static int shmc_scan_any(tubo_comm_t *comm, const tubo__coll_args_t *a, int ex)
{
  shmc_t *s = comm->coll_state;
  size_t len = a->count * a->t->size;
  shmc_note_root(s, 0); /* every rank waits for rank 0's data */
  if (len <= SHMC_INLINE)
    return shmc_scan_flat(s, a, ex, 0);
  if (ex && s->P == 2)
    return shmc_exscan_two(comm, a);
  if (shmc_scan_in_slots(s, len))
    return shmc_scan_flat(s, a, ex, 1);
  return tubo__shmc_scan_big(s, a, ex);
}

int tubo__shmc_scan(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  return shmc_scan_any(comm, a, 0);
}

int tubo__shmc_exscan(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  return shmc_scan_any(comm, a, 1);
}

/* reduce_scatter_block: where every rank's P blocks fit in its flag record, each rank puts
 * them there, and once all have, combines its block of every record along the fixed tree
 * (the allreduce's operands and order: the same bits); beyond, through the scratch. */
int tubo__shmc_reduce_scatter_block(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  size_t blen = a->count * a->t->size;
  if (blen > SHMC_INLINE / (size_t)s->P)
    return tubo__shmc_reduce_scatter_big(s, a);
  const unsigned char *in = a->in_place ? a->rbuf : a->sbuf;
  size_t all = blen * (size_t)s->P;
  uint32_t k = s->step + 1;
  int rc;
  if ((rc = tubo__shmc_guard_line(s, k)) != 0)
    return rc;
  memcpy(shmc_line(s, s->me, k)->data, in, all);
  tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
    return rc;
  /* In place, the result overwrites this rank's data before it is read: a copy. */
  unsigned char own[SHMC_INLINE];
  if (in == a->rbuf)
    in = memcpy(own, in, all);
  shmc_inline_tree(s, a, k, blen * (size_t)s->me, blen, a->count, in, a->rbuf);
  return 0;
}
