/* SPDX-License-Identifier: MIT */
/* One channel: a single-producer single-consumer ring of 64-byte slots and a data ring.
 *
 * The sender fills a slot, then stores its stamp (position + 1) last; the receiver polls
 * only that stamp, so a small message costs one cache line moving between two cores.
 * The receiver publishes how far it has read only every quarter ring, and the sender
 * reads that only when its cached copy says the ring is full: neither side writes a line
 * the other reads on every message. Payloads above the inline size go to the data ring,
 * allocated contiguously; the slot names where. Nothing in here is a pointer. */
#ifndef TUBO_SHM_RING_H
#define TUBO_SHM_RING_H

#include <stdatomic.h>
#include <stdint.h>

#include "frame.h"
#include "launch/jobctl.h"
#include "shm/shm_layout.h"
#include "tubo.h"

#define TUBO__SHM_INLINE 40u

struct tubo__shm_slot {
  _Atomic uint32_t stamp; /* low 32 bits of (position + 1) once the slot is filled */
  uint8_t kind;
  uint8_t flags;
  uint16_t ctx;
  int32_t tag;
  uint32_t len;  /* payload bytes */
  uint32_t doff; /* payload offset in the data ring, when len > TUBO__SHM_INLINE */
  uint32_t dend; /* data ring position the receiver may release after this frame */
  uint8_t inl[TUBO__SHM_INLINE];
};

/* The channel's header: a line the receiver writes, and one the sender writes. */
struct tubo__shm_chan {
  _Alignas(TUBO__CACHELINE) _Atomic uint64_t head; /* slots consumed */
  _Atomic uint32_t dhead;                          /* data ring bytes released */
  /* Set while the sender waits for room: a receiver that is itself stuck then takes
   * every frame, wanted or not, into its unexpected queue, so that two ranks sending to
   * each other never deadlock on full rings. */
  _Alignas(TUBO__CACHELINE) _Atomic uint32_t want_room;
};

_Static_assert(sizeof(struct tubo__shm_slot) == TUBO__SHM_SLOT, "a slot is one cache line");

/* A frame as read from its slot: every field read once, then checked. */
typedef struct tubo__shm_rxf {
  tubo__frame_t f;
  uint32_t doff; /* payload offset in the data ring, when f.len > TUBO__SHM_INLINE */
  uint32_t dend; /* data ring position to release after it (a wrapping count: 0 is valid),
                  * when f.len > TUBO__SHM_INLINE */
} tubo__shm_rxf_t;

/* Reads the slot of position head. Returns 1 with *x filled when it holds that position's
 * frame, 0 when the sender has not filled it yet, TUBO_ECORRUPT when what it holds cannot
 * be (a payload that does not fit the data ring, a release that runs ahead): a peer that
 * writes garbage must never make the reader go outside its buffers. */
static inline int tubo__shm_slot_read(const struct tubo__shm_slot *slot, uint64_t head,
                                      uint32_t dhead, uint32_t dbytes, uint32_t frame_max,
                                      tubo__shm_rxf_t *x)
{
  if (atomic_load_explicit(&slot->stamp, memory_order_acquire) != (uint32_t)(head + 1))
    return 0;
  x->f = (tubo__frame_t){slot->kind, slot->flags, slot->ctx, slot->tag, slot->len};
  x->doff = x->dend = 0;
  if (x->f.len > TUBO__SHM_INLINE) {
    x->doff = slot->doff;
    x->dend = slot->dend;
    if (x->f.len > frame_max || x->f.len > dbytes || x->doff > dbytes - x->f.len ||
        x->dend - dhead > dbytes)
      return TUBO_ECORRUPT;
  }
  return 1;
}
/* Whether the slot of position head holds a stamp the protocol can leave there: that
 * position's (filled), or, not yet filled, the position one lap earlier (0 in the first
 * lap, in memory never written). Anything else was written by someone else than the
 * sender: a reader that would otherwise wait for that slot for ever reports it. */
static inline int tubo__shm_slot_stamp_ok(const struct tubo__shm_slot *slot, uint64_t head,
                                          uint32_t nslots)
{
  uint32_t st = atomic_load_explicit(&slot->stamp, memory_order_acquire);
  uint32_t before = head < nslots ? 0 : (uint32_t)(head + 1 - nslots);
  return st == (uint32_t)(head + 1) || st == before;
}

/* Slots ahead of the one just filled that a sender asks for in the state for writing
 * (TUBO_SHM_PREFETCH). Each slot was last read by the receiver, on its core, a ring ago:
 * the sender's store to it waits for the line to come back, unless asked for earlier.
 * Four, eight and sixteen measured alike in the pipeline of doc/benchmarks.md. The
 * sender's copy of the receiver's count is refreshed only when the ring looks full, so
 * the last slots before each refresh go without: a few in a ring of thousands. */
#define TUBO__SHM_PREFETCH_DEFAULT 8u

/* Whether the sender that filled position pos may ask for the slot of pos + dist: never
 * the next slot (the receiver, caught up, polls it: taking the line from it would cost
 * it a miss at every message), nor one whose position the receiver may not have read
 * yet, as far as head_seen, the receiver's count the sender last read, says. */
static inline int tubo__shm_prefetch_ok(uint64_t pos, uint32_t dist, uint64_t head_seen,
                                        uint32_t nslots)
{
  return dist >= 2 && pos + dist - head_seen < nslots;
}

/* A receiver's read-ahead. A receiver behind its sender takes a cache miss at every slot,
 * each last written by the sender's core: asking for the slot dist positions ahead lets
 * those misses overlap (8 B blocking sends between two cores of an Intel VM streamed 1.05-1.11x
 * faster, 1.12-1.47x in a slower state of the host: doc/benchmarks.md). But a
 * slot the sender has not filled yet must not be asked for: the sender's store would then
 * wait for the line to come back, as it would in every ping-pong. So the receiver asks
 * only for slots it knows filled: now and then it reads one stamp probe positions ahead
 * (TUBO__SHM_AHEAD_PROBE_X times dist); filled, every slot before it is too (the sender
 * fills them in order). A probe that finds nothing (a receiver caught up) comes back
 * after twice as many positions, up to TUBO__SHM_AHEAD_GAP_MAX. */
#define TUBO__SHM_AHEAD_PROBE_X 8u
#define TUBO__SHM_AHEAD_GAP_MIN 16u
#define TUBO__SHM_AHEAD_GAP_MAX 1024u

typedef struct tubo__shm_ahead {
  uint64_t filled;   /* positions up to this one are known filled */
  uint64_t probe_at; /* the next probe comes at this position or later */
  uint32_t gap;      /* positions from a probe that found nothing to the next */
} tubo__shm_ahead_t;

/* For a receiver that found the frame of position head filled at its first look, in a
 * ring of nslots (a power of two) slots: the position whose slot to ask for, known filled,
 * or UINT64_MAX for none. dist 0 or 1 asks for none (the next slot is read next anyway). */
static inline uint64_t tubo__shm_read_ahead(tubo__shm_ahead_t *a,
                                            const struct tubo__shm_slot *slots, uint32_t nslots,
                                            uint64_t head, uint32_t dist)
{
  if (dist < 2)
    return UINT64_MAX;
  if (head + dist > a->filled) {
    if (head < a->probe_at)
      return UINT64_MAX;
    uint32_t ahead = dist * TUBO__SHM_AHEAD_PROBE_X;
    uint64_t p = head + (ahead < nslots / 2 ? ahead : nslots / 2);
    if (atomic_load_explicit(&slots[p & (nslots - 1)].stamp, memory_order_relaxed) ==
        (uint32_t)(p + 1)) {
      a->filled = p;
      a->gap = TUBO__SHM_AHEAD_GAP_MIN;
    } else {
      a->gap = a->gap < TUBO__SHM_AHEAD_GAP_MIN    ? TUBO__SHM_AHEAD_GAP_MIN
               : a->gap >= TUBO__SHM_AHEAD_GAP_MAX ? TUBO__SHM_AHEAD_GAP_MAX
                                                   : a->gap * 2;
    }
    a->probe_at = head + a->gap;
    if (head + dist > a->filled)
      return UINT64_MAX;
  }
  return head + dist;
}

_Static_assert(sizeof(struct tubo__shm_chan) <= TUBO__SHM_CHAN_HDR, "channel header fits");

#endif /* TUBO_SHM_RING_H */
