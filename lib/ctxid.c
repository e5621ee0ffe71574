/* SPDX-License-Identifier: MIT */
/* Context ids. Each rank keeps a mask of the ids it does not use; the ranks of a parent
 * agree on a new communicator's ids with one allreduce of their masks (a bitwise and, as
 * MPICH does), and every rank takes the lowest free ones. The disjoint groups of one split
 * share them: no message ever travels between two groups. A communicator takes its own id
 * and TUBO__NLEVELS more, kept for its first level splits, which then agree on nothing. */
#include "config.h"

#include <string.h>

#include "world.h"

static inline void cid_set(uint8_t *m, unsigned id, int free_)
{
  if (free_)
    m[id / 8] |= (uint8_t)(1u << (id % 8));
  else
    m[id / 8] &= (uint8_t) ~(1u << (id % 8));
}

void tubo__cid_init(tubo__world_t *w)
{
  memset(w->cid_free, 0xff, sizeof w->cid_free);
  /* The world is 0 and keeps 1 .. TUBO__NLEVELS for its first level splits. */
  for (unsigned id = 0; id < TUBO__CID_PER_COMM; id++)
    cid_set(w->cid_free, id, 0);
  w->world_comm.cid = TUBO__CID_WORLD;
  for (int k = 0; k < TUBO__NLEVELS; k++)
    w->world_comm.level_cid[k] = (uint16_t)(1 + k);
  w->world_comm.level_splits = 0;
}

void tubo__cid_mask(const tubo__world_t *w, unsigned char *mask)
{
  memcpy(mask, w->cid_free, sizeof w->cid_free);
}

int tubo__cid_take(tubo__world_t *w, const unsigned char *agreed, int n, uint16_t *ids)
{
  int got = 0;
  for (unsigned id = 0; id < TUBO__CID_MAX && got < n; id++)
    if (agreed[id / 8] & (1u << (id % 8)))
      ids[got++] = (uint16_t)id;
  if (got < n)
    return TUBO_ETOOBIG;
  for (int i = 0; i < n; i++)
    cid_set(w->cid_free, ids[i], 0);
  return 0;
}

void tubo__cid_release(tubo_comm_t *c)
{
  tubo__world_t *w = c->w;
  if (c == &w->world_comm)
    return;
  cid_set(w->cid_free, c->cid, 1);
  for (int k = c->level_splits; k < TUBO__NLEVELS; k++)
    cid_set(w->cid_free, c->level_cid[k], 1);
}

void tubo__cid_give(tubo__world_t *w, uint16_t id)
{
  cid_set(w->cid_free, id, 1);
}
