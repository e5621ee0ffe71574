/* SPDX-License-Identifier: MIT */
/* Computing the segment layout (shm_layout.h). */
#include "config.h"

#include "shm/shm_layout.h"

#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "heap/heap.h"
#include "launch/jobctl.h"
#include "shm/shm_inbox.h"
#include "shm/shm_ring.h"
#include "settings.h"
#include "tubo.h"

static size_t layout_pow2_floor(size_t v)
{
  size_t p = 1;
  while (p <= v / 2)
    p <<= 1;
  return p;
}

/* A default that shrinks as the job grows: budget bytes per rank, split among its peers,
 * clamped to [lo, hi] and rounded down to a power of two. */
static size_t layout_share(uint32_t nranks, size_t budget, size_t lo, size_t hi)
{
  size_t v = nranks > 1 ? budget / (nranks - 1) : hi;
  v = v < lo ? lo : v > hi ? hi : v;
  return layout_pow2_floor(v);
}

/* A hash of the words that make a layout: any difference changes the key. */
static uint64_t layout_hash(const uint64_t *v, size_t n)
{
  return tubo__fnv1a(TUBO__FNV_START, v, n * sizeof *v) | 1; /* 0: "no key yet" */
}

static size_t layout_chan_bytes(size_t nslots, size_t dbytes, size_t page)
{
  size_t chan = TUBO__SHM_CHAN_HDR + nslots * TUBO__SHM_SLOT + dbytes;
  return (chan + page - 1) / page * page;
}

/* The default slots, halved while a rank's share of the channels' budget holds fewer
 * channels than it has peers (want) and halving, down to TUBO__SHM_SLOTS_FIT_MIN, gives
 * it all of them; else as they were. With 16384 slots a 4-rank job held two channels a
 * rank, a 5-rank job one: the other pairs went through the inboxes, and their channels
 * were made at their 16th message, in the middle of the program (a 4-rank alltoallv of
 * 256 KiB: 1.5-2x Open MPI's time over 20 calls, 0.9-1.1x with every channel made at
 * start-up, doc/benchmarks.md). With 8192 and 4096 they hold every peer's, in less memory
 * than before. */
static size_t layout_fit_slots(size_t nslots, size_t dbytes, size_t page, size_t share, size_t want)
{
  for (size_t n = nslots; n >= TUBO__SHM_SLOTS_FIT_MIN; n /= 2)
    if (share / layout_chan_bytes(n, dbytes, page) >= want)
      return n;
  return nslots;
}

int tubo__shm_layout_compute(uint32_t nranks, size_t page, size_t nslots, size_t dbytes,
                             size_t frame_bytes, size_t heap_bytes, size_t channels,
                             tubo__shm_layout_t *L)
{
  memset(L, 0, sizeof *L);
  if (nranks == 0 || page == 0)
    return TUBO_EINVAL;
  /* Many slots let a fast sender run far ahead, so ranks that share a core switch less
   * often; a data ring that fits in a core's cache keeps streamed copies there. */
  int slots_default = nslots == 0;
  if (nslots == 0)
    nslots = layout_share(nranks, TUBO__SHM_SLOT_BUDGET, TUBO__SHM_SLOTS_MIN * TUBO__SHM_SLOT,
                          TUBO__SHM_SLOTS_MAX * TUBO__SHM_SLOT) /
             TUBO__SHM_SLOT;
  if (dbytes == 0)
    dbytes = layout_share(nranks, TUBO__SHM_DATA_BUDGET, TUBO__SHM_DATA_MIN, TUBO__SHM_DATA_MAX);
  nslots = layout_pow2_floor(nslots < TUBO__SHM_SLOTS_MIN   ? TUBO__SHM_SLOTS_MIN
                             : nslots > TUBO__SHM_SLOTS_MAX ? TUBO__SHM_SLOTS_MAX
                                                            : nslots);
  dbytes = layout_pow2_floor(dbytes < TUBO__SHM_DATA_MIN   ? TUBO__SHM_DATA_MIN
                             : dbytes > TUBO__SHM_DATA_MAX ? TUBO__SHM_DATA_MAX
                                                           : dbytes);
  /* Channels a rank receives on: as many as its share of the budget holds, at least one
   * (a pair of ranks always has its channel), never more than its peers. */
  size_t share = TUBO__SHM_CHAN_BUDGET / nranks + TUBO__SHM_CHAN_BUDGET_RANK;
  size_t want = nranks > 1 ? nranks - 1 : 1;
  want = want < channels ? want : channels;
  if (slots_default)
    nslots = layout_fit_slots(nslots, dbytes, page, share, want);
  L->nranks = nranks;
  L->nslots = (uint32_t)nslots;
  L->dbytes = (uint32_t)dbytes;
  /* Large messages stream in frames small enough to stay in a core's cache while the
   * receiver copies one out and the sender copies the next in. */
  if (frame_bytes == 0)
    frame_bytes = TUBO__SHM_FRAME_DEFAULT;
  size_t frame_hi = dbytes / 4;
  L->frame_max = (uint32_t)(frame_bytes < 4096       ? 4096
                            : frame_bytes > frame_hi ? frame_hi
                                                     : frame_bytes);
  L->chan_bytes = layout_chan_bytes(L->nslots, L->dbytes, page);
  size_t fast = share / L->chan_bytes;
  fast = fast < 1 ? 1 : fast;
  fast = fast < channels ? fast : channels;
  L->fast_max = (uint32_t)(fast < nranks - 1 ? fast : nranks - 1);
  size_t islots = (size_t)nranks * 2;
  islots = islots < TUBO__SHM_INBOX_MIN   ? TUBO__SHM_INBOX_MIN
           : islots > TUBO__SHM_INBOX_MAX ? TUBO__SHM_INBOX_MAX
                                          : islots;
  L->inbox_slots = (uint32_t)layout_pow2_floor(islots);
  size_t inbox = tubo__shm_inbox_hdr_bytes(nranks) + (size_t)L->inbox_slots * 64u;
  L->inbox_bytes = (inbox + page - 1) / page * page;
  L->ctl_bytes = tubo__jobctl_bytes(nranks, page);
  if (L->inbox_bytes > (SIZE_MAX / 2 - L->ctl_bytes) / nranks)
    return TUBO_ETOOBIG;
  L->heap_off = L->ctl_bytes + L->inbox_bytes * nranks;
  /* The heap: room for every channel, payloads in flight and the objects asked for. */
  size_t room = (size_t)nranks * L->fast_max;
  if (room > SIZE_MAX / 4 / L->chan_bytes)
    return TUBO_ETOOBIG;
  room = room * L->chan_bytes + TUBO__SHM_HEAP_INFLIGHT +
         (size_t)nranks * TUBO__SHM_HEAP_INFLIGHT_RANK;
  if (heap_bytes > SIZE_MAX / 4 || L->heap_off > SIZE_MAX / 4)
    return TUBO_ETOOBIG;
  L->heap_user = (heap_bytes + page - 1) / page * page;
  L->heap_bytes = (L->heap_user + room + page - 1) / page * page;
  L->total = L->heap_off + L->heap_bytes;
  /* The formats count too: ranks of two builds of tubo whose shared structures differ
   * must not start together (TUBO_ELAUNCH), whatever their settings. */
  const uint64_t words[] = {TUBO__JOBCTL_VERSION,
                            TUBO__SHM_FORMAT,
                            sizeof(struct tubo__shm_slot),
                            tubo__heap_format_id(),
                            nranks,
                            L->nslots,
                            L->dbytes,
                            L->frame_max,
                            L->heap_bytes,
                            L->chan_bytes,
                            L->fast_max,
                            L->inbox_slots,
                            L->heap_user};
  L->key = layout_hash(words, sizeof words / sizeof words[0]);
  return 0;
}

int tubo__shm_layout_from_settings(uint32_t nranks, tubo__shm_layout_t *L)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t nslots = tubo__setting_u64("TUBO_SHM_SLOTS", 0, 0, TUBO__SHM_SLOTS_MAX);
  size_t dbytes = tubo__setting_u64("TUBO_SHM_DATA_BYTES", 0, 0, TUBO__SHM_DATA_MAX);
  size_t frame =
      tubo__setting_u64("TUBO_SHM_FRAME_BYTES", TUBO__SHM_FRAME_DEFAULT, 1, TUBO__SHM_DATA_MAX);
  size_t heap =
      tubo__setting_u64("TUBO_SHM_HEAP_BYTES", TUBO__SHM_HEAP_DEFAULT, 0, (size_t)1 << 40);
  size_t chans = tubo__setting_u64("TUBO_SHM_CHANNELS", SIZE_MAX, 0, SIZE_MAX);
  return tubo__shm_layout_compute(nranks, page, nslots, dbytes, frame, heap, chans, L);
}

size_t tubo__shm_layout_need(const tubo__shm_layout_t *L)
{
  /* The control block and every inbox precede the heap; the channels are in it. */
  return L->heap_off + (size_t)L->nranks * L->fast_max * L->chan_bytes;
}
