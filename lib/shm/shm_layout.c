/* SPDX-License-Identifier: MIT */
/* Computing the segment layout (shm_layout.h). */
#include "config.h"

#include "shm/shm_layout.h"

#include <string.h>

#include "jobctl.h"
#include "tubo.h"

static size_t layout_pow2_floor(size_t v)
{
  size_t p = 1;
  while (p <= v / 2)
    p <<= 1;
  return p;
}

int tubo__shm_layout_compute(uint32_t nranks, size_t page, size_t unit, tubo__shm_layout_t *L)
{
  memset(L, 0, sizeof *L);
  if (nranks == 0 || page == 0)
    return TUBO_EINVAL;
  if (unit == 0)
    unit = nranks > 1 ? TUBO__SHM_BUDGET_DEFAULT / (nranks - 1) : TUBO__SHM_UNIT_MAX;
  if (unit < TUBO__SHM_UNIT_MIN)
    unit = TUBO__SHM_UNIT_MIN;
  if (unit > TUBO__SHM_UNIT_MAX)
    unit = TUBO__SHM_UNIT_MAX;
  unit = layout_pow2_floor(unit);
  L->nranks = nranks;
  /* A quarter of the unit for frame headers, half for payloads. */
  L->nslots = (uint32_t)(unit / 4 / TUBO__SHM_SLOT);
  L->dbytes = (uint32_t)(unit / 2);
  size_t chan = TUBO__SHM_CHAN_HDR + (size_t)L->nslots * TUBO__SHM_SLOT + L->dbytes;
  L->chan_bytes = (chan + page - 1) / page * page;
  L->region_bytes = L->chan_bytes * (nranks - 1);
  L->ctl_bytes = tubo__jobctl_bytes(nranks, page);
  if (nranks > 1 && L->region_bytes / (nranks - 1) != L->chan_bytes)
    return TUBO_ETOOBIG;
  if (L->region_bytes > (SIZE_MAX - L->ctl_bytes) / nranks)
    return TUBO_ETOOBIG;
  L->total = L->ctl_bytes + L->region_bytes * nranks;
  L->key = ((uint64_t)nranks << 40) ^ ((uint64_t)L->nslots << 20) ^ (uint64_t)L->dbytes ^
           ((uint64_t)TUBO__JOBCTL_VERSION << 60) ^ 1;
  return 0;
}
