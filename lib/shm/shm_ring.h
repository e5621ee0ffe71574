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

_Static_assert(sizeof(struct tubo__shm_chan) <= TUBO__SHM_CHAN_HDR, "channel header fits");

#endif /* TUBO_SHM_RING_H */
