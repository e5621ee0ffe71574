/* SPDX-License-Identifier: MIT */
/* A rank's inbox: one ring of 64-byte slots that every peer may write, the way a pair
 * talks before it has a channel of its own (shm_layout.h).
 *
 * A sender claims a position with a compare-and-swap on the tail, fills the slot, then
 * stores its stamp (position + 1) last; the receiver reads the slots in position order,
 * so frames from one sender arrive in the order it sent them. Payloads above the inline
 * size travel in a block of the shared heap that the sender allocates and the receiver
 * frees. A sender that makes a channel to the receiver announces it here (kind
 * TUBO__SHM_INBOX_CHAN) and sends through the channel from then on: everything it sent
 * through the inbox is read before the channel is. The receiver publishes how far it
 * has read after every frame; senders that found no room mark themselves in the
 * waiters' bitmap, and the receiver wakes them when it publishes. Nothing in here is a
 * pointer, and the receiver checks every field it reads. */
#ifndef TUBO_SHM_INBOX_H
#define TUBO_SHM_INBOX_H

#include <stdatomic.h>
#include <stdint.h>

#include "launch/jobctl.h"

#define TUBO__SHM_INBOX_INLINE 32u
/* A slot's kind that is no frame: a channel from its sender, at off. */
#define TUBO__SHM_INBOX_CHAN 0xffu

struct tubo__shm_inbox_slot {
  _Atomic uint32_t stamp; /* low 32 bits of (position + 1) once the slot is filled */
  uint8_t kind;
  uint8_t flags;
  uint16_t ctx;
  int32_t tag;
  uint32_t len; /* payload bytes */
  uint32_t src; /* the sender's rank */
  uint32_t pad;
  uint64_t off; /* heap offset of the payload (len > inline) or of the channel */
  uint8_t inl[TUBO__SHM_INBOX_INLINE];
};

_Static_assert(sizeof(struct tubo__shm_inbox_slot) == 64, "an inbox slot is one cache line");

struct tubo__shm_inbox {
  _Alignas(TUBO__CACHELINE) _Atomic uint64_t tail;      /* next position to claim (senders) */
  _Alignas(TUBO__CACHELINE) _Atomic uint64_t head;      /* positions read (the receiver) */
  _Alignas(TUBO__CACHELINE) _Atomic uint32_t want_room; /* some sender found no room */
  _Atomic uint32_t nfast; /* channels granted to senders, at most fast_max */
  /* Then the waiters' bitmap, one bit per rank, and the slots (tubo__shm_inbox_slots). */
};

/* Bytes of the header and waiters' bitmap, in whole cache lines. */
static inline size_t tubo__shm_inbox_hdr_bytes(uint32_t nranks)
{
  size_t bits = ((size_t)nranks + 63) / 64 * 8;
  return sizeof(struct tubo__shm_inbox) +
         (bits + TUBO__CACHELINE - 1) / TUBO__CACHELINE * TUBO__CACHELINE;
}

static inline _Atomic uint64_t *tubo__shm_inbox_waiters(struct tubo__shm_inbox *ib)
{
  return (_Atomic uint64_t *)(void *)((char *)ib + sizeof *ib);
}

static inline struct tubo__shm_inbox_slot *tubo__shm_inbox_slots(struct tubo__shm_inbox *ib,
                                                                 uint32_t nranks)
{
  return (struct tubo__shm_inbox_slot *)(void *)((char *)ib + tubo__shm_inbox_hdr_bytes(nranks));
}

#endif /* TUBO_SHM_INBOX_H */
