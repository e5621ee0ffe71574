/* SPDX-License-Identifier: MIT */
/* Where everything lives in a job's shared memory segment.
 *
 *   [job control block][rank 0's inbox][rank 1's inbox]...[heap]
 *
 * Every rank has one inbox (shm_inbox.h), which any peer may write: memory grows with
 * the ranks, not with their pairs. A pair that talks gets a channel of its own, carrying
 * frames from one sender to one receiver, made by the sender in the shared heap when it
 * first needs it (at most fast_max per receiver, so that this memory grows linearly too).
 * A channel is a header line, a ring of 64-byte slots (one frame header each, small
 * payloads inline) and a data ring for larger payloads. Every size is a power of two or
 * a page multiple, and all ranks compute the same layout from the rank count and the
 * TUBO_SHM_* settings. */
#ifndef TUBO_SHM_LAYOUT_H
#define TUBO_SHM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct tubo__shm_layout {
  uint32_t nranks;
  uint32_t nslots;      /* slots per channel */
  uint32_t dbytes;      /* data ring bytes per channel */
  uint32_t frame_max;   /* largest frame's payload */
  uint32_t inbox_slots; /* slots of one rank's inbox */
  uint32_t fast_max;    /* channels one rank may receive on, at most */
  size_t chan_bytes;    /* one channel, page multiple */
  size_t inbox_bytes;   /* one rank's inbox, page multiple */
  size_t ctl_bytes;     /* the job control block */
  size_t heap_off;      /* the shared heap: channels, payloads in flight through the
                         * inboxes, and collective objects (Queue, Array...) */
  size_t heap_bytes;
  size_t heap_user; /* the part of the heap kept for collective objects */
  size_t total;     /* the whole segment */
  uint64_t key;     /* fingerprint that all ranks must agree on */
} tubo__shm_layout_t;

/* The version of what ranks share in the segment beyond the job control block and the
 * heap (inboxes, channels, their slots and frames): part of the layout's key, so bump
 * it with any change to them (2: an RTS may name a control block of a split message; 3: the block
 * may name private memory). */
#define TUBO__SHM_FORMAT 4u

#define TUBO__SHM_SLOT     64u
#define TUBO__SHM_CHAN_HDR 128u
/* Default channel sizes: per rank, this many bytes of slots and of data rings, shared
 * among its peers, each channel within the bounds below. */
#define TUBO__SHM_SLOT_BUDGET (4u << 20)
#define TUBO__SHM_SLOTS_MIN   64u
#define TUBO__SHM_SLOTS_MAX   16384u
/* A node of at most this many ranks makes every pair's channel at start-up, where every
 * pair may have one (TUBO_SHM_WIRE_RANKS, shm_transport.c; tuboinfo shows it): by default
 * every job whose pairs all may (shm_layout.c gives 2 to 5 ranks every peer's channel). */
#define TUBO__SHM_WIRE_RANKS_DEFAULT 5u
/* The default slots halve, down to this many, where that lets every peer of a rank have
 * its channel within the rank's share of TUBO__SHM_CHAN_BUDGET (shm_layout.c). */
#define TUBO__SHM_SLOTS_FIT_MIN 4096u
#define TUBO__SHM_DATA_BUDGET   (8u << 20)
#define TUBO__SHM_DATA_MIN      (16u << 10)
#define TUBO__SHM_DATA_MAX      (256u << 10)
/* The shared heap's default size: address space only, until objects are made in it. */
#define TUBO__SHM_HEAP_DEFAULT ((size_t)256 << 20)
/* Channels, all receivers together, take at most this much memory plus this much per
 * rank, so that a job's shared memory stays under 16 MiB + 1 MiB per rank. */
#define TUBO__SHM_CHAN_BUDGET      ((size_t)8 << 20)
#define TUBO__SHM_CHAN_BUDGET_RANK ((size_t)640 << 10)
/* Inbox slots per rank: twice the ranks, within these bounds. */
#define TUBO__SHM_INBOX_MIN 256u
#define TUBO__SHM_INBOX_MAX 4096u
/* Heap room for payloads in flight through the inboxes (address space). */
#define TUBO__SHM_HEAP_INFLIGHT      ((size_t)64 << 20)
#define TUBO__SHM_HEAP_INFLIGHT_RANK ((size_t)1 << 20)

/* Largest frame, unless the data ring is smaller (shm_transport.c). */
#define TUBO__SHM_FRAME_DEFAULT (64u << 10)
/* Single copy from this size between ranks that share no cache (shm_transport.c). */
#define TUBO__SHM_RNDV_DEFAULT (256u << 10)

/* Computes the layout for nranks. nslots and dbytes ask for a channel's slot count and
 * data ring size (0: the default for the rank count); each is clamped to its bounds and
 * rounded down to a power of two. frame_bytes asks for the largest frame (0: the default),
 * clamped to [4 KiB, a quarter of the data ring]. heap_bytes is the size of the shared
 * heap kept for collective objects, rounded up to pages; room for the channels and for
 * payloads in flight is added to it. channels asks for the most channels a rank receives
 * on (SIZE_MAX: what the budget allows, 0: none, every frame goes through the inboxes).
 * Every input shows in the key, which ranks compare at start-up. Returns 0, TUBO_EINVAL,
 * or TUBO_ETOOBIG if the segment would not fit in a size_t. */
int tubo__shm_layout_compute(uint32_t nranks, size_t page, size_t nslots, size_t dbytes,
                             size_t frame_bytes, size_t heap_bytes, size_t channels,
                             tubo__shm_layout_t *L);

/* The layout for nranks from this process's settings (TUBO_SHM_SLOTS, TUBO_SHM_DATA_BYTES,
 * TUBO_SHM_FRAME_BYTES, TUBO_SHM_HEAP_BYTES, TUBO_SHM_CHANNELS) and page size: what every
 * rank and tuborun compute. Returns as tubo__shm_layout_compute. */
int tubo__shm_layout_from_settings(uint32_t nranks, tubo__shm_layout_t *L);

/* The memory a job of layout L takes once its ranks started: the control block and every
 * rank's inbox, reserved at start-up, and every channel the ranks may make. The shared
 * heap's room for objects and payloads is reserved as it is used and is not counted.
 * tuborun checks this against what the machine allows before it starts a rank. */
size_t tubo__shm_layout_need(const tubo__shm_layout_t *L);

/* Offset of rank r's inbox. */
static inline size_t tubo__shm_inbox_off(const tubo__shm_layout_t *L, uint32_t r)
{
  return L->ctl_bytes + (size_t)r * L->inbox_bytes;
}

#endif /* TUBO_SHM_LAYOUT_H */
