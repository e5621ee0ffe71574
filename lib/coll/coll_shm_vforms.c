/* SPDX-License-Identifier: MIT */
/* gatherv, scatterv and alltoallv in the shared-memory engine (coll_shm.h), in a fixed
 * number of steps whatever the sizes. A rank knows only its own block's size and the root every
 * block's, and counts that disagree (the caller's error) must not send the two different
 * ways and leave them waiting for ever: so whoever writes a block chooses its way and says
 * which where the reader looks, and the reader follows. scatterv and alltoallv: below.
 *
 * gatherv, two steps. Each sender chooses how its block travels from its own size alone
 * and says so in its record of k1, in a header word (the way and the length), and the
 * root follows each record. The ways (shmc_v_way): in the record itself, up to
 * SHMC_V_INLINE bytes; in the sender's slot, up to a slot; of two ranks where
 * shmc_direct_for says so, written by the sender straight into the root's buffer, which
 * the root names in its record of k1 (of two ranks, always); else
 * a point-to-point message on the communicator's collective context, as the
 * point-to-point table sends it, but below SHMC_V_CHAN_BELOW kept to the channel where the
 * node's ranks outnumber its processing units.
 *
 * The root publishes k1 as it starts, waits for every sender's record, copies each block
 * (at most as many bytes as its count says: more is TUBO_ETRUNC at the root, as a
 * truncated receive), receives the messages, waits for the writer's k2, and publishes k2,
 * which says it has done reading. Senders publish k1 and k2 at once and return, as the
 * point-to-point form's senders send and go on; one that writes publishes k2 once it has
 * written (with the result), and one that sends a message waits for the message to go. A sender's
 * next write into its slot waits until every rank is at k2 (tubo__shmc_guard): the root is done
 * with the slot.
 *
 * Every rank takes one collective number (comm->coll_seq) whether it sends or receives a
 * message or not, so that all stay numbered alike for the collectives after. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll_shm.h"
#include "engine.h"

/* A record at k1: the name of a buffer (the root's, of two ranks), the header word (the
 * root's: its count for the other rank), then the block (SHMC_V_RECORD). */
#define SHMC_V_HDR    8u
#define SHMC_V_DATA   16u
#define SHMC_V_INLINE (SHMC_INLINE - SHMC_V_DATA)
/* The header word: the length above the way's bits. */
#define SHMC_V_WAY_BITS 3u
#define SHMC_V_WAY_MASK ((1u << SHMC_V_WAY_BITS) - 1u)
/* Messages shorter than this keep to the channel where ranks take turns on the cores: the
 * root's single copies of many senders in turn, each sender waiting for its FIN, took
 * 3.4-5.0x the channel's time at 256 KiB and 1.6-1.7x at 512 KiB at 4-16 ranks on 2 vCPUs;
 * from 1 MiB the two were within 0.8-2x of each other either way (doc/benchmarks.md,
 * "The v-forms in shared memory"). */
#define SHMC_V_CHAN_BELOW ((size_t)1 << 20)

/* The marks' hash of n bytes (a multiple of 8), a word at a time: a table of 64 ranks
 * (1 KiB) costs a hundred multiplications, not a thousand. Not for enemies who read the
 * code: for garbage, and forgeries of the right form that do not know the hash. */
static uint64_t shmc_v_hash(const unsigned char *p, size_t n)
{
  uint64_t h = 0x9e3779b97f4a7c15u;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, sizeof w);
    h = (h ^ w) * 0xff51afd7ed558ccdu;
    h ^= h >> 29;
  }
  return h;
}

/* Marks what this rank wrote at step k that steers its readers: the first line_bytes of
 * its record, and the first slot_bytes of its slot. */
static void shmc_v_mark(shmc_t *s, uint32_t k, size_t line_bytes, size_t slot_bytes)
{
  struct shmc_vmark *m = &s->vmark[k % SHMC_DEPTH];
  m->step = k;
  m->line_bytes = (uint32_t)line_bytes;
  m->slot_bytes = (uint32_t)slot_bytes;
  m->line_sum = shmc_v_hash(shmc_line(s, s->me, k)->data, line_bytes);
  m->slot_sum = slot_bytes ? shmc_v_hash(shmc_slot(s, s->me, k), slot_bytes) : 0;
}

int tubo__shmc_v_selfcheck(const shmc_t *s)
{
  for (uint32_t j = 0; j < SHMC_DEPTH; j++) {
    const struct shmc_vmark *m = &s->vmark[j];
    const struct shmc_line *l = shmc_line(s, s->me, j);
    /* The record stands until this rank writes that line again, whose step then says so;
     * the step before that write, it may be writing it (and wait before it publishes). */
    if (m->step == 0 || atomic_load_explicit(&l->step, memory_order_relaxed) != m->step ||
        s->step - m->step >= SHMC_DEPTH - 1)
      continue;
    if (shmc_v_hash(l->data, m->line_bytes) != m->line_sum)
      return TUBO_ECORRUPT;
    /* The slot stands until this rank writes it again (at m->step + 2 or later), or
     * another does, which waits for every rank at m->step + 1 first. */
    uint32_t k1 = m->step + 1;
    if (m->slot_bytes == 0 || (int32_t)(s->step - k1) > 0)
      continue;
    int all = 1;
    for (int q = 0; q < s->P && all; q++)
      all = q == s->me ? (int32_t)(s->step - k1) >= 0 : shmc_at(s, q, k1);
    if (!all && shmc_v_hash(shmc_slot(s, s->me, m->step), m->slot_bytes) != m->slot_sum)
      return TUBO_ECORRUPT;
  }
  return 0;
}

/* The ways a block travels, as v_ways counts them. */
enum { SHMC_V_RECORD, SHMC_V_SLOT, SHMC_V_READ, SHMC_V_WRITE, SHMC_V_MESSAGE, SHMC_V_WAYS };
/* A header's way where the sender had no memory to send its message: no block comes. */
#define SHMC_V_FAILED SHMC_V_WAYS

/* How a sender's block of len bytes travels, from len and what every rank knows alike.
 * Of two ranks only blocks that fit the flag's line ride in the record (coll_shm_move.c's
 * gather: the root polling the line its writer fills), and where the direct paths take the
 * size the sender writes its block into the root's buffer while the root copies its own,
 * as the 2-rank gather: on an Intel 2-vCPU host 8 KiB-256 KiB took 0.55-0.9x the time of
 * the root reading it alone (256 KiB: 11-14 us against 18-22), 512 KiB 21-30 us against
 * 115-218, and 1 MiB 82-171 against the message's 145-210 (doc/benchmarks.md, "The
 * v-forms in shared memory"). */
static int shmc_v_way(const shmc_t *s, size_t len)
{
  if (len <= SHMC_V_INLINE && (s->P > 2 || len <= SHMC_LINE - 8 - SHMC_V_DATA))
    return SHMC_V_RECORD;
  if (s->P == 2 && shmc_direct_for(s, len))
    return SHMC_V_WRITE;
  return len <= s->slot ? SHMC_V_SLOT : SHMC_V_MESSAGE;
}

/* The next rank of pend[0..*n) to have published step k1, taken out of pend (its last
 * entry moves into its place), waiting for one where none has: so that a rank takes the
 * blocks of the ranks that came while later ones have yet to run. Returns the rank, or
 * the error of the wait (negative). */
static int shmc_v_next(shmc_t *s, int *pend, int *n, uint32_t k1)
{
  for (;;) {
    for (int i = 0; i < *n; i++) {
      int q = pend[i];
      if (shmc_at(s, q, k1)) {
        pend[i] = pend[--*n];
        return q;
      }
    }
    int rc = tubo__shmc_wait_any(s, pend, *n, k1);
    if (rc != 0)
      return rc;
  }
}

static void shmc_v_wait(tubo__coll_req_t *c)
{
  CO_BEGIN(c);
  CO_WAIT(c);
  CO_END(c);
}

/* The point-to-point part of the call: a collective number on every rank, and where this
 * rank sends or receives messages (c not NULL: posted on it), their run. */
static int shmc_v_messages(tubo_comm_t *comm, tubo__coll_req_t *c)
{
  if (c == NULL) {
    comm->coll_seq++;
    return 0;
  }
  return tubo__coll_run(c);
}

/* A writer's part after k1: once the root has named its buffer, writes the block there
 * (at most the root's count for it: cap, read from its record, bounds the write, whose
 * range shmc_named checks too), then publishes k2 with the result. */
static int shmc_v_write(shmc_t *s, const tubo__coll_args_t *a, size_t len, uint32_t k1)
{
  int rc, rc2;
  if ((rc = tubo__shmc_wait(s, a->root, k1)) != 0)
    return rc;
  uint64_t cap;
  memcpy(&cap, shmc_line(s, a->root, k1)->data + SHMC_V_HDR, sizeof cap);
  size_t n = len < cap ? len : (size_t)cap;
  rc = n > 0 ? tubo__shmc_write_named(s, a->root, k1, 0, a->sbuf, n) : 0;
  if ((rc2 = tubo__shmc_guard_line(s, k1 + 1)) != 0)
    return rc2;
  tubo__shmc_publish_rc(s, k1 + 1, rc, SHMC_WAKE_ALWAYS);
  s->direct_calls++;
  return rc;
}

static int shmc_v_send(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t len = a->count * a->t->size;
  uint32_t k1 = s->step + 1, k2 = k1 + 1;
  int way = shmc_v_way(s, len), rc;
  if ((rc = way == SHMC_V_SLOT ? tubo__shmc_guard(s, k1) : tubo__shmc_guard_line(s, k1)) != 0)
    return rc;
  /* A message goes before its record, so that the root, which the record wakes, finds it
   * there (where the record went first, the root woke, found no message yet and slept
   * again). Without the memory to send it, the record says the block failed. */
  tubo__coll_req_t *c = NULL;
  if (way == SHMC_V_MESSAGE) {
    c = tubo__coll_new(s->comm, a, shmc_v_wait);
    int chan = len < SHMC_V_CHAN_BELOW && tubo__tp_oversubscribed(s->comm->w);
    if (c != NULL)
      tubo__coll_send_chan(c, a->sbuf, len, a->root, 0, chan);
    else
      way = SHMC_V_FAILED;
  }
  unsigned char *rec = shmc_line(s, s->me, k1)->data;
  uint64_t hdr = (uint64_t)len << SHMC_V_WAY_BITS | (uint64_t)way;
  memcpy(rec + SHMC_V_HDR, &hdr, sizeof hdr);
  if (way == SHMC_V_RECORD) {
    memcpy(rec + SHMC_V_DATA, a->sbuf, len);
  } else if (way == SHMC_V_SLOT) {
    memcpy(shmc_slot(s, s->me, k1), a->sbuf, len);
  }
  shmc_v_mark(s, k1, SHMC_V_DATA, 0);
  /* A message's sender wakes the root at once, which then takes the message while the
   * others come. */
  tubo__shmc_publish(s, k1, way == SHMC_V_MESSAGE ? SHMC_WAKE_ALWAYS : SHMC_WAKE_IF_LAST);
  if (way == SHMC_V_FAILED) {
    tubo__shmc_publish(s, k2, SHMC_WAKE_IF_LAST);
    s->comm->coll_seq++;
    return TUBO_ENOMEM;
  }
  if (way == SHMC_V_WRITE) {
    s->comm->coll_seq++; /* no message: the number all take */
    return shmc_v_write(s, a, len, k1);
  }
  tubo__shmc_publish(s, k2, SHMC_WAKE_IF_LAST); /* no data in it: no guard */
  return shmc_v_messages(s->comm, c);
}

/* Posts the root's receive from rank q into dst, cap bytes, on *c (made at the first);
 * *posted gets the request. Returns 0 or TUBO_ENOMEM. */
static int shmc_v_post(shmc_t *s, const tubo__coll_args_t *a, int q, unsigned char *dst, size_t cap,
                       tubo__coll_req_t **c, tubo_request_t **posted)
{
  if (*c == NULL && (*c = tubo__coll_new(s->comm, a, shmc_v_wait)) == NULL)
    return TUBO_ENOMEM;
  int before = (*c)->nrq;
  tubo__coll_recv(*c, dst, cap, q, 0);
  *posted = (*c)->nrq > before ? (*c)->rq[(*c)->nrq - 1] : NULL;
  return 0;
}

/* The root's part for rank q's block: copies it into dst, cap bytes, or (a message) has
 * its receive posted, which *posted holds where the root posted it before the record came
 * (and cancels it where the record says another way); of a writer, only notes it
 * (*writer). Returns 0, or the error of memory; sets *truncated where the block was longer
 * than cap. A header no sender writes (a forged one) breaks the job. */
static int shmc_v_take(shmc_t *s, const tubo__coll_args_t *a, int q, uint32_t k1,
                       unsigned char *dst, size_t cap, tubo__coll_req_t **c,
                       tubo_request_t **posted, int *writer, int *truncated)
{
  const unsigned char *rec = shmc_line(s, q, k1)->data;
  uint64_t hdr;
  memcpy(&hdr, rec + SHMC_V_HDR, sizeof hdr);
  int way = (int)(hdr & SHMC_V_WAY_MASK), direct = s->P == 2 && s->writes;
  size_t len = (size_t)(hdr >> SHMC_V_WAY_BITS), n = shmc_min(len, cap);
  if (way == SHMC_V_FAILED) {
    if (*posted != NULL)
      tubo__coll_unpost(*c, *posted);
    *posted = NULL;
    return TUBO_EPEER;
  }
  if (way > SHMC_V_WAYS || (way == SHMC_V_RECORD && len > SHMC_V_INLINE) ||
      (way == SHMC_V_SLOT && len > s->slot) || way == SHMC_V_READ ||
      (way == SHMC_V_WRITE && !direct)) {
    tubo__job_corrupt(s->comm->w);
    return TUBO_ECORRUPT;
  }
  s->v_ways[0][way]++;
  if (way != SHMC_V_MESSAGE && len > cap)
    *truncated = 1;
  if (way != SHMC_V_MESSAGE && *posted != NULL) { /* counts that disagree: no message */
    tubo__coll_unpost(*c, *posted);
    *posted = NULL;
  }
  switch (way) {
  case SHMC_V_RECORD:
    memcpy(dst, rec + SHMC_V_DATA, n);
    return 0;
  case SHMC_V_SLOT:
    memcpy(dst, shmc_slot(s, q, k1), n);
    return 0;
  case SHMC_V_WRITE:
    *writer = q;
    return 0;
  default:
    return *posted != NULL ? 0 : shmc_v_post(s, a, q, dst, cap, c, posted);
  }
}

static int shmc_v_root(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size;
  unsigned char *r = a->rbuf;
  uint32_t k1 = s->step + 1, k2 = k1 + 1;
  int truncated = 0, writer = -1, rc = 0, rc2;
  if (s->P == 2 && s->writes) {
    /* Of two ranks, the root names its buffer for the other's block, and its count: the
     * other writes into it if its size says so (SHMC_V_WRITE). */
    int x = 1 - s->me;
    uint64_t cap = a->rcounts[x] * es, name = tubo__shmc_name(s, r + a->rdispls[x] * es, cap);
    if ((rc2 = tubo__shmc_guard_line(s, k1)) != 0)
      return rc2;
    memcpy(shmc_line(s, s->me, k1)->data, &name, sizeof name);
    memcpy(shmc_line(s, s->me, k1)->data + SHMC_V_HDR, &cap, sizeof cap);
    shmc_v_mark(s, k1, SHMC_V_DATA, 0);
    tubo__shmc_publish(s, k1, SHMC_WAKE_ALWAYS);
  } else {
    tubo__shmc_publish(s, k1, SHMC_WAKE_IF_LAST);
  }
  if (!a->in_place) {
    size_t cap = a->rcounts[s->me] * es, len = a->count * es;
    memcpy(r + a->rdispls[s->me] * es, a->sbuf, shmc_min(len, cap));
    truncated = len > cap;
  }
  /* The blocks in the order their records come, so that the root takes the first while
   * later senders have yet to run; in the private scratch, pend holds the ranks whose
   * records have not come, posted the receives posted for them. The receives of the
   * messages the counts foretell go first: a single copy that the transport splits between
   * the two ranks needs its receive posted before the RTS comes (1 MiB at 4 and 8 ranks
   * took 1.3x the time posted after its record). */
  tubo_request_t **posted = (tubo_request_t **)(void *)s->tmp;
  int *pend = (int *)(void *)(posted + s->P), n = 0;
  tubo__coll_req_t *c = NULL;
  for (int q = 0; q < s->P; q++) {
    posted[q] = NULL;
    if (q == s->me)
      continue;
    pend[n++] = q;
    size_t cap = a->rcounts[q] * es;
    if (shmc_v_way(s, cap) == SHMC_V_MESSAGE)
      rc = rc != 0 ? rc : shmc_v_post(s, a, q, r + a->rdispls[q] * es, cap, &c, &posted[q]);
  }
  while (n > 0) {
    int q = shmc_v_next(s, pend, &n, k1);
    if (q < 0)
      return q;
    rc2 = shmc_v_take(s, a, q, k1, r + a->rdispls[q] * es, a->rcounts[q] * es, &c, &posted[q],
                      &writer, &truncated);
    if (rc2 == TUBO_ECORRUPT)
      return rc2;
    rc = rc != 0 ? rc : rc2;
  }
  /* Every posted receive runs to its end, so that no message of the call is left. */
  if ((rc2 = shmc_v_messages(s->comm, c)) == TUBO_ETRUNC)
    truncated = 1;
  else
    rc = rc != 0 ? rc : rc2;
  if (writer >= 0) {
    if ((rc2 = tubo__shmc_wait(s, writer, k2)) != 0)
      return rc2;
    rc = rc != 0 ? rc : tubo__shmc_read_rc(s, writer, k2);
  }
  if ((rc2 = tubo__shmc_guard_line(s, k2)) != 0)
    return rc2;
  tubo__shmc_publish_rc(s, k2, rc, SHMC_WAKE_IF_LAST);
  return rc != 0 ? rc : truncated ? TUBO_ETRUNC : 0;
}

int tubo__shmc_gatherv(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  return s->me == a->root ? shmc_v_root(s, a) : shmc_v_send(s, a);
}

/* ---- scatterv and alltoallv ---------------------------------------------------------- */

/* A table of the blocks a rank sends (scatterv's root; every rank of alltoallv): an entry
 * per rank, the header word (the length above the way's bits) and where the block lies
 * (SHMC_V_RECORD: bytes into the writer's record; SHMC_V_SLOT: into its slot;
 * SHMC_V_READ: into its send buffer). */
struct shmc_v_entry {
  uint64_t hdr, off;
};

/* The writer's record of the table's step: the name of its send buffer (where some block
 * is read from it), where its table lies (SHMC_V_IN_RECORD: at SHMC_V_DATA in the record,
 * the blocks after it; else at the start of its slot, the blocks after it), then the table
 * where it lies in the record. */
enum { SHMC_V_IN_RECORD, SHMC_V_IN_SLOT };

static inline size_t shmc_v_round(size_t n, size_t to)
{
  return (n + to - 1) / to * to;
}

/* Whether the engine serves a scatterv or alltoallv of P ranks: a table must fit a slot (P
 * and the slot are the same on every rank). */
static inline int shmc_v_table_fits(const shmc_t *s)
{
  return (size_t)s->P * sizeof(struct shmc_v_entry) <= s->slot;
}

/* Where this rank's table goes: in its record where it and every block fit there. */
static int shmc_v_table_where(const shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size, total = SHMC_V_DATA + (size_t)s->P * sizeof(struct shmc_v_entry);
  for (int q = 0; q < s->P && total <= SHMC_INLINE; q++)
    if (q != s->me)
      total += shmc_v_round(a->scounts[q] * es, 8);
  return total <= SHMC_INLINE ? SHMC_V_IN_RECORD : SHMC_V_IN_SLOT;
}

/* The way of a block of len bytes in a table in the slot whose room from pos on is left.
 * A scatter reads the root's buffer where shmc_direct_scatter says so, an alltoall of two
 * ranks the other's where shmc_direct_for does; else the slot while it has room; else read
 * where ranks can read each other's memory, but of an alltoall of more ranks a message: all
 * of them reading each other's buffers at once took 1.13-1.30x the scratch's time for
 * alltoall's blocks of 64 KiB-1 MiB at 4 ranks on 2 vCPUs (doc/benchmarks.md, "tried and
 * left by the lead", 12:29), and alltoallv's of 256 KiB-1 MiB 1.08-1.44x Open MPI's time
 * at 4-16 ranks, as messages 1.00-1.22x ("The v-forms in shared memory"). */
static int shmc_v_table_way(const shmc_t *s, int alltoall, size_t len, size_t pos, size_t room)
{
  if (alltoall ? s->P == 2 && shmc_direct_for(s, len) : shmc_direct_scatter(s, len))
    return SHMC_V_READ;
  if (pos <= room && len <= room - pos)
    return SHMC_V_SLOT;
  return s->direct && !(alltoall && s->P > 2) ? SHMC_V_READ : SHMC_V_MESSAGE;
}

/* Writes this rank's table of step k1 (where it says) and the blocks of the record and the
 * slot, and posts its messages on *c; counts the ways in v_ways[1]. Sets *reads where some
 * rank is to read its buffer. Returns 0 or TUBO_ENOMEM (those blocks' entries then say
 * SHMC_V_FAILED). */
static int shmc_v_table_out(shmc_t *s, const tubo__coll_args_t *a, uint32_t k1, int where,
                            int alltoall, tubo__coll_req_t **c, int *reads)
{
  size_t es = a->t->size, P = (size_t)s->P, tab = P * sizeof(struct shmc_v_entry);
  unsigned char *rec = shmc_line(s, s->me, k1)->data;
  unsigned char *base = where == SHMC_V_IN_RECORD ? rec : shmc_slot(s, s->me, k1);
  size_t at = where == SHMC_V_IN_RECORD ? SHMC_V_DATA : 0,
         room = where == SHMC_V_IN_RECORD ? SHMC_INLINE : s->slot;
  struct shmc_v_entry *e = (struct shmc_v_entry *)(void *)(base + at);
  size_t pos = at + tab, span = 0;
  const unsigned char *src = a->sbuf;
  int rc = 0;
  for (int q = 0; q < s->P; q++) {
    size_t len = a->scounts[q] * es, off = a->sdispls[q] * es;
    int way;
    if (q == s->me)
      way = SHMC_V_RECORD, len = 0, off = 0; /* its own: nothing moves */
    else if (where == SHMC_V_IN_RECORD)
      way = SHMC_V_RECORD;
    else
      way = shmc_v_table_way(s, alltoall, len, pos, room);
    if (way == SHMC_V_RECORD || way == SHMC_V_SLOT) {
      memcpy(base + pos, src + off, len);
      off = pos;
      pos += shmc_v_round(len, way == SHMC_V_SLOT ? SHMC_LINE : 8);
    } else if (way == SHMC_V_MESSAGE) {
      if (*c == NULL && (*c = tubo__coll_new(s->comm, a, shmc_v_wait)) == NULL)
        way = SHMC_V_FAILED, rc = TUBO_ENOMEM;
      else
        tubo__coll_send(*c, src + off, len, q, 0);
    } else {
      *reads = 1;
      span = off + len > span ? off + len : span;
    }
    e[q].hdr = (uint64_t)len << SHMC_V_WAY_BITS | (uint64_t)way;
    e[q].off = off;
    s->v_ways[1][way < SHMC_V_WAYS ? way : SHMC_V_MESSAGE] += q != s->me;
  }
  uint64_t word[2] = {*reads ? tubo__shmc_name(s, src, span) : 0, (uint64_t)where};
  memcpy(rec, word, sizeof word);
  if (where == SHMC_V_IN_RECORD)
    shmc_v_mark(s, k1, SHMC_V_DATA + tab, 0);
  else
    shmc_v_mark(s, k1, SHMC_V_DATA, tab);
  return rc;
}

/* Takes this rank's block from rank i's table of step k1 into dst, at most cap bytes:
 * copies it, reads it from i's buffer, or posts its receive on *c. Returns 0, TUBO_ETRUNC
 * where the block was longer than cap (cap bytes taken), or an error; an entry no writer
 * makes (a forged one) breaks the job. */
static int shmc_v_table_take(shmc_t *s, const tubo__coll_args_t *a, int i, uint32_t k1,
                             unsigned char *dst, size_t cap, tubo__coll_req_t **c)
{
  size_t tab = (size_t)s->P * sizeof(struct shmc_v_entry);
  const unsigned char *rec = shmc_line(s, i, k1)->data;
  uint64_t where;
  memcpy(&where, rec + SHMC_V_HDR, sizeof where);
  const unsigned char *base = where == SHMC_V_IN_RECORD ? rec : shmc_slot(s, i, k1);
  size_t room = where == SHMC_V_IN_RECORD ? SHMC_INLINE : s->slot;
  size_t first = (where == SHMC_V_IN_RECORD ? SHMC_V_DATA : 0) + tab;
  struct shmc_v_entry e;
  memcpy(&e, base + first - tab + (size_t)s->me * sizeof e, sizeof e);
  int way = (int)(e.hdr & SHMC_V_WAY_MASK);
  size_t len = (size_t)(e.hdr >> SHMC_V_WAY_BITS), n = shmc_min(len, cap);
  int inside = e.off >= first && e.off <= room && len <= room - e.off;
  if (where > SHMC_V_IN_SLOT || way > SHMC_V_WAYS || way == SHMC_V_WRITE ||
      ((way == SHMC_V_RECORD || way == SHMC_V_SLOT) && !inside) ||
      (way == SHMC_V_RECORD) != (where == SHMC_V_IN_RECORD) || (way == SHMC_V_READ && !s->direct)) {
    tubo__job_corrupt(s->comm->w);
    return TUBO_ECORRUPT;
  }
  int rc = 0;
  if (way == SHMC_V_RECORD || way == SHMC_V_SLOT)
    memcpy(dst, base + e.off, n);
  else if (way == SHMC_V_READ && n > 0)
    rc = tubo__shmc_read_named(s, i, k1, (size_t)e.off, dst, n);
  else if (way == SHMC_V_FAILED)
    return TUBO_EPEER;
  else if (way == SHMC_V_MESSAGE) {
    if (*c == NULL && (*c = tubo__coll_new(s->comm, a, shmc_v_wait)) == NULL)
      return TUBO_ENOMEM; /* the message stays: the job is short of memory anyway */
    tubo__coll_recv(*c, dst, cap, i, 0);
    return 0; /* a truncated receive says so itself */
  }
  return rc != 0 ? rc : len > cap ? TUBO_ETRUNC : 0;
}

/* Keeps the first error of a call, and notes truncation apart: the call goes on. */
static void shmc_v_note(int rc, int *first, int *truncated)
{
  if (rc == TUBO_ETRUNC)
    *truncated = 1;
  else if (rc != 0 && *first == 0)
    *first = rc;
}

static int shmc_v_scatter_root(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size, mine = a->scounts[s->me] * es, cap = a->count * es;
  uint32_t k1 = s->step + 1;
  int reads = 0, rc, rc2, where = shmc_v_table_where(s, a);
  /* In the record, the record's last readers (up to SHMC_DEPTH steps back); in the slot,
   * the slot's too. */
  rc = where == SHMC_V_IN_RECORD ? tubo__shmc_guard_line(s, k1) : tubo__shmc_guard(s, k1);
  if (rc != 0)
    return rc;
  tubo__coll_req_t *c = NULL;
  rc = shmc_v_table_out(s, a, k1, where, 0, &c, &reads);
  tubo__shmc_publish(s, k1, SHMC_WAKE_ALWAYS);
  if (!a->in_place)
    memcpy(a->rbuf, (const unsigned char *)a->sbuf + a->sdispls[s->me] * es, shmc_min(mine, cap));
  /* Where a rank reads the send buffer, the root returns once every rank is done with it. */
  if (reads) {
    if ((rc2 = tubo__shmc_wait(s, -1, k1)) != 0)
      return rc2;
    rc = rc != 0 ? rc : tubo__shmc_read_rc(s, -1, k1);
  }
  rc2 = shmc_v_messages(s->comm, c);
  rc = rc != 0 ? rc : rc2;
  return rc != 0 ? rc : !a->in_place && mine > cap ? TUBO_ETRUNC : 0;
}

/* A receiver of scatterv: takes its block as the root's table says, publishes k1 (a message
 * it then receives), with the result of a read in its record. */
static int shmc_v_scatter_in(shmc_t *s, const tubo__coll_args_t *a)
{
  uint32_t k1 = s->step + 1;
  int rc, rc2;
  if ((rc = tubo__shmc_wait(s, a->root, k1)) != 0)
    return rc;
  tubo__coll_req_t *c = NULL;
  rc = shmc_v_table_take(s, a, a->root, k1, a->rbuf, a->count * a->t->size, &c);
  if (rc == TUBO_ECORRUPT)
    return rc;
  if ((rc2 = tubo__shmc_guard_line(s, k1)) != 0)
    return rc2;
  tubo__shmc_publish_rc(s, k1, rc == TUBO_ETRUNC ? 0 : rc, SHMC_WAKE_IF_LAST);
  rc2 = shmc_v_messages(s->comm, c);
  return rc != 0 ? rc : rc2;
}

/* scatterv in one step k1: the root chooses every block's way from the counts it alone
 * knows and writes them in a table, in its record where the table and every block fit
 * there (small calls in a row then run ahead as small bcasts do), else at the start of
 * its slot: each block in the record; read by its rank from the root's buffer where a
 * scatter of its size would be (shmc_direct_scatter); in the slot after the table while
 * it has room; read where it has none and ranks can read each other's memory; else a
 * message. Each rank reads its entry and takes its block (at most its count: more is
 * TUBO_ETRUNC at that rank) and publishes k1; the root returns at once, or where some rank
 * reads its buffer once every rank is at k1. The root's next write into its slot waits
 * for every rank at k1 (tubo__shmc_guard). Of more ranks than a slot holds entries for,
 * point to point. */
int tubo__shmc_scatterv(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  if (!shmc_v_table_fits(s))
    return TUBO__COLL_DECLINE;
  shmc_note_root(s, a->root);
  return s->me == a->root ? shmc_v_scatter_root(s, a) : shmc_v_scatter_in(s, a);
}

/* alltoallv in two steps: at k1 every rank writes its table as scatterv's root does
 * (shmc_v_table_way), copies its own block and publishes k1 (of more than two ranks, waking
 * whoever sleeps); each takes its block from every rank's table in the order they come,
 * so that the first messages flow while later ranks have yet to run, and publishes k2,
 * which says it has done reading (with the result of its reads); one whose buffer others
 * read returns once every rank is at k2. The next write into a slot waits for
 * every rank at k2 (tubo__shmc_guard). In place, a rank first copies its blocks out of
 * its receive buffer (shmc_v_alltoall_in_place). Of more ranks than a slot holds entries
 * for, point to point. */
static int shmc_v_alltoall(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size, mine = a->scounts[s->me] * es, cap = a->rcounts[s->me] * es;
  unsigned char *r = a->rbuf;
  uint32_t k1 = s->step + 1, k2 = k1 + 1;
  int reads = 0, truncated = mine > cap, rc = 0, rc2, where = shmc_v_table_where(s, a);
  rc2 = where == SHMC_V_IN_RECORD ? tubo__shmc_guard_line(s, k1) : tubo__shmc_guard(s, k1);
  if (rc2 != 0)
    return rc2;
  tubo__coll_req_t *c = NULL;
  shmc_v_note(shmc_v_table_out(s, a, k1, where, 1, &c, &reads), &rc, &truncated);
  tubo__shmc_publish(s, k1, s->P > 2 ? SHMC_WAKE_ALWAYS : SHMC_WAKE_IF_LAST);
  memcpy(r + a->rdispls[s->me] * es, (const unsigned char *)a->sbuf + a->sdispls[s->me] * es,
         shmc_min(mine, cap));
  int *pend = (int *)(void *)s->tmp, n = 0;
  for (int i = 0; i < s->P; i++)
    if (i != s->me)
      pend[n++] = i;
  while (n > 0) {
    int i = shmc_v_next(s, pend, &n, k1);
    if (i < 0)
      return i;
    rc2 = shmc_v_table_take(s, a, i, k1, r + a->rdispls[i] * es, a->rcounts[i] * es, &c);
    if (rc2 == TUBO_ECORRUPT)
      return rc2;
    shmc_v_note(rc2, &rc, &truncated);
  }
  shmc_v_note(shmc_v_messages(s->comm, c), &rc, &truncated);
  if ((rc2 = tubo__shmc_guard_line(s, k2)) != 0)
    return rc2;
  tubo__shmc_publish_rc(s, k2, rc, SHMC_WAKE_IF_LAST);
  if (reads) {
    if ((rc2 = tubo__shmc_wait(s, -1, k2)) != 0)
      return rc2;
    rc = rc != 0 ? rc : tubo__shmc_read_rc(s, -1, k2);
  }
  return rc != 0 ? rc : truncated ? TUBO_ETRUNC : 0;
}

/* alltoallv in place: this rank's blocks, at rdispls with rcounts in its receive buffer,
 * copied into a buffer of their own first (packed), from which the call sends them. */
static int shmc_v_alltoall_in_place(shmc_t *s, const tubo__coll_args_t *a)
{
  size_t es = a->t->size, P = (size_t)s->P, total = 0;
  size_t *disp = malloc(P * sizeof *disp);
  if (disp == NULL)
    return TUBO_ENOMEM;
  for (size_t q = 0; q < P; q++) {
    disp[q] = total;
    total += a->rcounts[q];
  }
  unsigned char *copy = total <= (SIZE_MAX - 1) / es ? malloc(total * es + 1) : NULL;
  if (copy == NULL) {
    free(disp);
    return TUBO_ENOMEM;
  }
  for (size_t q = 0; q < P; q++)
    memcpy(copy + disp[q] * es, (unsigned char *)a->rbuf + a->rdispls[q] * es, a->rcounts[q] * es);
  tubo__coll_args_t b = *a;
  b.in_place = 0;
  b.sbuf = copy;
  b.scounts = a->rcounts;
  b.sdispls = disp;
  int rc = shmc_v_alltoall(s, &b);
  free(copy);
  free(disp);
  return rc;
}

int tubo__shmc_alltoallv(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  shmc_t *s = comm->coll_state;
  if (!shmc_v_table_fits(s))
    return TUBO__COLL_DECLINE;
  return a->in_place ? shmc_v_alltoall_in_place(s, a) : shmc_v_alltoall(s, a);
}
