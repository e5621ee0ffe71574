/* SPDX-License-Identifier: MIT */
/* Computing the segment layout (shm_layout.h). */
#include "config.h"

#include "shm/shm_layout.h"

#include <string.h>

#include "launch/jobctl.h"
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

int tubo__shm_layout_compute(uint32_t nranks, size_t page, size_t nslots, size_t dbytes,
                             size_t heap_bytes, tubo__shm_layout_t *L)
{
  memset(L, 0, sizeof *L);
  if (nranks == 0 || page == 0)
    return TUBO_EINVAL;
  /* Many slots let a fast sender run far ahead, so ranks that share a core switch less
   * often; a data ring that fits in a core's cache keeps streamed copies there. */
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
  L->nranks = nranks;
  L->nslots = (uint32_t)nslots;
  L->dbytes = (uint32_t)dbytes;
  size_t chan = TUBO__SHM_CHAN_HDR + (size_t)L->nslots * TUBO__SHM_SLOT + L->dbytes;
  L->chan_bytes = (chan + page - 1) / page * page;
  L->region_bytes = L->chan_bytes * (nranks - 1);
  L->ctl_bytes = tubo__jobctl_bytes(nranks, page);
  if (nranks > 1 && L->region_bytes / (nranks - 1) != L->chan_bytes)
    return TUBO_ETOOBIG;
  if (L->region_bytes > (SIZE_MAX - L->ctl_bytes) / nranks)
    return TUBO_ETOOBIG;
  L->heap_off = L->ctl_bytes + L->region_bytes * nranks;
  if (heap_bytes > SIZE_MAX - page || L->heap_off > SIZE_MAX - (heap_bytes + page))
    return TUBO_ETOOBIG;
  L->heap_bytes = (heap_bytes + page - 1) / page * page;
  L->total = L->heap_off + L->heap_bytes;
  L->key = ((uint64_t)nranks << 40) ^ ((uint64_t)L->nslots << 20) ^ (uint64_t)L->dbytes ^
           ((uint64_t)TUBO__JOBCTL_VERSION << 60) ^ ((uint64_t)(L->heap_bytes / page) << 24) ^ 1;
  return 0;
}
