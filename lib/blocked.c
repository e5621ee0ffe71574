/* SPDX-License-Identifier: MIT */
/* What this rank is blocked in: the blocking call in progress (world.h, tubo__call_enter),
 * published in the rank's record of the job control block when one of its waits goes to
 * sleep (launch/jobctl.h), so that tuborun can say, when it stops a job that ran too
 * long, which call, peer and tag each rank waited on. */
#include "config.h"

#include "launch/jobctl.h"
#include "world.h"

void tubo__blocked_publish_slow(tubo__world_t *w)
{
  const tubo__call_t *c = &w->call;
  uint32_t size = 0, cid = 0;
  if (c->comm != NULL && tubo__comm_check(c->comm) == 0) {
    size = (uint32_t)c->comm->size;
    cid = c->comm->ctx >> 1u; /* the context id, also on a view */
  }
  tubo__blocked_write(w->blocked, c->fn, c->role, c->peer, c->has_tag, c->tag, size, cid);
  w->blocked_pub = 1;
}

void tubo__blocked_clear_slow(tubo__world_t *w)
{
  tubo__blocked_clear_rec(w->blocked);
  w->blocked_pub = 0;
}
