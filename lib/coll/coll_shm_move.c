/* SPDX-License-Identifier: MIT */
/* Shared-memory collectives that move data (coll_shm.h): barrier, bcast, gather,
 * scatter, allgather, allgatherv, alltoall. A bcast of at most SHMC_INLINE bytes rides in
 * the flag's record, as does a gather's block of as much (in its sender's record) and a
 * scatter's blocks where all of them fit in SHMC_SCATTER_RECORDS records (the root's, a
 * step each); more goes through the slots, a slot's worth per step (a bcast of two ranks,
 * a piece of a slot per step). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coll/coll_shm.h"

static inline size_t bytes_of(const tubo__coll_args_t *a, size_t count)
{
  return count * a->t->size;
}

/* Steps through the root's records, one per per bytes of n (at most SHMC_INLINE each):
 * the root puts src there, a record a step, and goes on; each other rank copies len bytes
 * from at into dst (a small bcast: all of them; a small scatter: its block, which per, a
 * whole number of blocks, keeps within one record), waiting for the root only at the
 * steps whose records it reads, and publishes every step. */
static int shmc_root_records(shmc_t *s, int root, const unsigned char *src, size_t n, size_t per,
                             unsigned char *dst, size_t at, size_t len)
{
  int rc;
  for (size_t off = 0; off < n; off += per) {
    size_t m = shmc_min(per, n - off);
    uint32_t k = s->step + 1;
    if (s->me == root) {
      if ((rc = tubo__shmc_guard_line(s, k)) != 0)
        return rc;
      memcpy(shmc_line(s, root, k)->data, src + off, m);
      tubo__shmc_publish(s, k, SHMC_WAKE_ALWAYS);
      continue;
    }
    /* [lo, hi): the bytes of [at, at + len) this record holds. */
    size_t lo = at > off ? at : off, hi = shmc_min(at + len, off + m);
    if (lo < hi) {
      if ((rc = tubo__shmc_wait(s, root, k)) != 0)
        return rc;
      memcpy(dst + (lo - at), shmc_line(s, root, k)->data + (lo - off), hi - lo);
    }
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  }
  return 0;
}

/* The pieces a slot is cut into in a bcast beyond a record: SHMC_PIECES between two ranks,
 * where the reader's copy of one piece overlaps the root's of the next; else one (more
 * ranks take the scratch, and the slots only where it is refused). */
static inline size_t shmc_pieces(const shmc_t *s)
{
  return s->P == 2 ? SHMC_PIECES : 1;
}

int tubo__shmc_barrier(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  (void)a;
  shmc_t *s = comm->coll_state;
  if (s->tree.G > 0)
    return tubo__shmc_tree_barrier(s);
  uint32_t k = s->step + 1;
  int rc, lead = 0;
  if (s->me == 0) {
    lead = s->rooted_at == s->barrier_at;
    s->barrier_at = k;
  }
  if (s->comm->w->wait.shared && (s->me != 0 || lead)) {
    /* Ranks share cores, and the collective after rank 0's last barrier was a bcast,
     * scatter or scatterv from it, or a scan or exscan (shmc_note_root): rank 0 publishes last,
     * once every other rank has, and so leaves first, and the other ranks of such a collective find
     * its data there instead of yielding their core to it (doc/design.md, "Collectives"). The steps
     * are the flat barrier's: only rank 0's order differs, which it alone decides. */
    if (s->me == 0) {
      if ((rc = tubo__shmc_wait_set(s, s->ranks + 1, s->P - 1, k)) != 0)
        return rc;
      tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
      s->all_at = k;
      return 0;
    }
    /* Wakes rank 0 when the last of them, in case it waits for them. */
    tubo__shmc_publish_set(s, k, s->ranks + 1, s->P - 1);
    return tubo__shmc_wait(s, -1, k);
  }
  tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  return tubo__shmc_wait(s, -1, k);
}

int tubo__shmc_bcast(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  unsigned char *buf = a->rbuf;
  size_t len = bytes_of(a, a->count);
  int root = a->root, rc = 0;
  shmc_note_root(s, root);
  if (len <= SHMC_INLINE && s->tree.G > 0)
    return tubo__shmc_tree_bcast(s, a);
  if (shmc_direct_for(s, len))
    return tubo__shmc_bcast_direct(s, a);
  if (shmc_one_copy(s, len) && (rc = tubo__shmc_bcast_big(s, a)) != TUBO__COLL_DECLINE)
    return rc;
  if (shmc_too_many_steps(s, len, s->slot))
    return TUBO__COLL_DECLINE; /* a tree of messages */
  if (len <= SHMC_INLINE)
    return shmc_root_records(s, root, buf, len, SHMC_INLINE, buf, 0, len);
  /* Beyond a record, in pieces through the root's two slots: piece j travels at step s0 +
   * 1 + j, in slot s0 + 1 + j / np at (j % np) pieces. Slot s0 + 1 was last read at a step
   * before s0, slot s0 at s0 itself (its readers are done when they publish s0 + 1); from
   * the third run of np pieces, piece j takes piece j - 2 np's place, whose reader
   * published its step once it had copied it out. So the root writes up to two slots ahead
   * of its slowest reader, and the copies in and out overlap. */
  size_t np = shmc_pieces(s), piece = shmc_piece_bytes(s, np, 1);
  uint32_t s0 = s->step;
  for (size_t off = 0, j = 0; off < len; off += piece, j++) {
    size_t n = shmc_min(piece, len - off);
    uint32_t k = s->step + 1;
    unsigned char *at = shmc_piece_at(s, root, s0, j, np, piece);
    if (s->me == root) {
      uint32_t done = j < np ? s0 : j < 2 * np ? s0 + 1 : k - 2 * (uint32_t)np;
      if ((rc = tubo__shmc_wait_all(s, done)) != 0)
        return rc;
      memcpy(at, buf + off, n);
      tubo__shmc_publish(s, k, SHMC_WAKE_ALWAYS);
    } else {
      if ((rc = tubo__shmc_wait(s, root, k)) != 0)
        return rc;
      memcpy(buf + off, at, n);
      tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
    }
  }
  return 0;
}

/* gather: each rank's block, in its record or a slot at a time, into the root's buffer. */
int tubo__shmc_gather(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  size_t len = bytes_of(a, a->count);
  int root = a->root, rc = 0;
  unsigned char *r = a->rbuf;
  if (shmc_direct_for(s, len))
    return tubo__shmc_gather_direct(s, a);
  if (shmc_one_copy(s, len) && (rc = tubo__shmc_gather_big(s, a, root)) != TUBO__COLL_DECLINE)
    return rc;
  if (s->me == root && !a->in_place)
    memcpy(r + (size_t)root * len, a->sbuf, len);
  if (len <= SHMC_INLINE && (s->P > 2 || len <= SHMC_LINE - 8)) {
    /* Each block rides in its rank's record, beside the flag the root reads anyway; the
     * others may run ahead of the root by as many records as they have. Of two ranks,
     * only blocks that fit the flag's line: beyond, the root polling that line while its
     * writer fills it made 64-248 byte gathers 1.2-1.4x slower than through the slots
     * (doc/benchmarks.md, "Scatter by direct reads"), where a block of one line was
     * 0.7x. */
    uint32_t k = s->step + 1;
    if (s->me != root) {
      if ((rc = tubo__shmc_guard_line(s, k)) != 0)
        return rc;
      memcpy(shmc_line(s, s->me, k)->data, a->sbuf, len);
      tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
      return 0;
    }
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
      return rc;
    for (int q = 0; q < s->P; q++)
      if (q != root)
        memcpy(r + (size_t)q * len, shmc_line(s, q, k)->data, len);
    return 0;
  }
  for (size_t off = 0; off < len; off += s->slot) {
    size_t n = shmc_min(s->slot, len - off);
    uint32_t k = s->step + 1;
    if (s->me != root) {
      if ((rc = tubo__shmc_guard(s, k)) != 0)
        return rc;
      memcpy(shmc_slot(s, s->me, k), (const unsigned char *)a->sbuf + off, n);
      tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
      continue;
    }
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
      return rc;
    for (int q = 0; q < s->P; q++)
      if (q != root)
        memcpy(r + (size_t)q * len + off, shmc_slot(s, q, k), n);
  }
  return 0;
}

/* scatter: each rank reads its block from the root's buffer where shmc_direct_scatter
 * says so; else the root writes every block into its records where they fit in
 * SHMC_SCATTER_RECORDS of them, else block q into rank q's slot, a slot at a time. */
int tubo__shmc_scatter(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  size_t len = bytes_of(a, a->count);
  int root = a->root, rc = 0;
  const unsigned char *src = a->sbuf;
  shmc_note_root(s, root);
  if (shmc_direct_scatter(s, len))
    return tubo__shmc_scatter_direct(s, a);
  if (shmc_one_copy(s, len) && (rc = tubo__shmc_scatter_big(s, a)) != TUBO__COLL_DECLINE)
    return rc;
  if (s->me == root && !a->in_place)
    memcpy(a->rbuf, src + (size_t)root * len, len);
  size_t per = shmc_scatter_per(s->P, len);
  if (per > 0) /* every block in the root's records, per bytes a record */
    return shmc_root_records(s, root, src, len * (size_t)s->P, per, a->rbuf, (size_t)s->me * len,
                             len);
  for (size_t off = 0; off < len; off += s->slot) {
    size_t n = shmc_min(s->slot, len - off);
    uint32_t k = s->step + 1;
    if (s->me == root) {
      if ((rc = tubo__shmc_guard(s, k)) != 0)
        return rc;
      for (int q = 0; q < s->P; q++)
        if (q != root)
          memcpy(shmc_slot(s, q, k), src + (size_t)q * len + off, n);
      tubo__shmc_publish(s, k, SHMC_WAKE_ALWAYS);
      continue;
    }
    if ((rc = tubo__shmc_wait(s, root, k)) != 0)
      return rc;
    memcpy((unsigned char *)a->rbuf + off, shmc_slot(s, s->me, k), n);
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  }
  return 0;
}

int tubo__shmc_allgather(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  size_t len = bytes_of(a, a->count);
  unsigned char *r = a->rbuf;
  const unsigned char *mine = a->in_place ? r + (size_t)s->me * len : a->sbuf;
  int rc;
  if (shmc_direct_for(s, len))
    return tubo__shmc_allgather_direct(s, a);
  if (shmc_one_copy(s, len) && (rc = tubo__shmc_gather_big(s, a, -1)) != TUBO__COLL_DECLINE)
    return rc;
  if (!a->in_place)
    memcpy(r + (size_t)s->me * len, mine, len);
  for (size_t off = 0; off < len; off += s->slot) {
    size_t n = shmc_min(s->slot, len - off);
    uint32_t k = s->step + 1;
    if ((rc = tubo__shmc_guard(s, k)) != 0)
      return rc;
    memcpy(shmc_slot(s, s->me, k), mine + off, n);
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
      return rc;
    for (int q = 0; q < s->P; q++)
      if (q != s->me)
        memcpy(r + (size_t)q * len + off, shmc_slot(s, q, k), n);
  }
  return 0;
}

/* The bytes of a block of len that the step moving [off, off + step) carries. */
static inline size_t piece_of(size_t len, size_t off, size_t step)
{
  return off >= len ? 0 : len - off < step ? len - off : step;
}

/* allgatherv: every rank knows every block's size, so no step agrees on the largest. */
int tubo__shmc_allgatherv(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  int me = s->me;
  unsigned char *r = a->rbuf;
  size_t mine = bytes_of(a, a->rcounts[me]), max = 0;
  const unsigned char *src = a->in_place ? r + bytes_of(a, a->rdispls[me]) : a->sbuf;
  for (int q = 0; q < s->P; q++)
    max = bytes_of(a, a->rcounts[q]) > max ? bytes_of(a, a->rcounts[q]) : max;
  int rc;
  if (shmc_direct_for(s, max))
    return tubo__shmc_allgather_direct(s, a);
  if (shmc_one_copy(s, max) && (rc = tubo__shmc_gather_big(s, a, -1)) != TUBO__COLL_DECLINE)
    return rc;
  if (!a->in_place) {
    size_t sent = bytes_of(a, a->count);
    tubo__coll_copy(r + bytes_of(a, a->rdispls[me]), src, sent < mine ? sent : mine);
    mine = sent;
  }
  for (size_t off = 0; off < max; off += s->slot) {
    uint32_t k = s->step + 1;
    if ((rc = tubo__shmc_guard(s, k)) != 0)
      return rc;
    size_t n = piece_of(mine, off, s->slot);
    if (n > 0)
      memcpy(shmc_slot(s, me, k), src + off, n);
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
      return rc;
    for (int q = 0; q < s->P; q++) {
      n = piece_of(bytes_of(a, a->rcounts[q]), off, s->slot);
      if (q != me && n > 0)
        memcpy(r + bytes_of(a, a->rdispls[q]) + off, shmc_slot(s, q, k), n);
    }
  }
  return 0;
}

/* An alltoall as alltoallv with every count the call's (shmc_alltoall_messages), or
 * TUBO__COLL_DECLINE where alltoallv's table of P blocks does not fit a slot. */
static int shmc_alltoall_as_v(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  size_t P = (size_t)((shmc_t *)comm->coll_state)->P, *v = malloc(2 * P * sizeof *v);
  if (v == NULL)
    return TUBO_ENOMEM;
  for (size_t q = 0; q < P; q++) {
    v[q] = a->count;
    v[P + q] = q * a->count;
  }
  tubo__coll_args_t b = *a;
  b.scounts = b.rcounts = v;
  b.sdispls = b.rdispls = v + P;
  int rc = tubo__shmc_alltoallv(comm, &b);
  free(v);
  return rc;
}

/* alltoall: at each step a rank's slot holds a piece of each of its P blocks. In place,
 * every rank has published its pieces before any overwrites its buffer: the pieces it
 * reads were copied into the others' slots first, and its own are in its slot.
 * Of more than two ranks, blocks past a slot's P-th part that every pair sends by single
 * copy go as alltoallv's (shmc_alltoall_messages), others through the scratch
 * (tubo__shmc_alltoall_big); blocks that take more than SHMC_STEPS_MAX steps go point to
 * point (every pair's one message, as Open MPI's pairwise exchange). */
int tubo__shmc_alltoall(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  size_t len = bytes_of(a, a->count), piece = s->slot / (size_t)s->P;
  int rc;
  if (!a->in_place && shmc_direct_for(s, len))
    return tubo__shmc_alltoall_direct(s, a);
  if (len > piece && shmc_alltoall_messages(s, len) &&
      (rc = shmc_alltoall_as_v(comm, a)) != TUBO__COLL_DECLINE)
    return rc;
  if (s->P > 2 && len > piece && (rc = tubo__shmc_alltoall_big(s, a)) != TUBO__COLL_DECLINE)
    return rc;
  if (shmc_too_many_steps(s, len, piece))
    return TUBO__COLL_DECLINE;
  unsigned char *r = a->rbuf;
  const unsigned char *src = a->in_place ? r : a->sbuf;
  for (size_t off = 0; off < len; off += piece) {
    size_t n = shmc_min(piece, len - off);
    uint32_t k = s->step + 1;
    if ((rc = tubo__shmc_guard(s, k)) != 0)
      return rc;
    unsigned char *mine = shmc_slot(s, s->me, k);
    for (int q = 0; q < s->P; q++)
      memcpy(mine + (size_t)q * piece, src + (size_t)q * len + off, n);
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
    if ((rc = tubo__shmc_wait(s, -1, k)) != 0)
      return rc;
    for (int q = 0; q < s->P; q++)
      memcpy(r + (size_t)q * len + off, shmc_slot(s, q, k) + (size_t)s->me * piece, n);
  }
  return 0;
}
