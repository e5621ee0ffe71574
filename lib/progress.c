/* SPDX-License-Identifier: MIT */
/* Progress and waiting: poll, then sleep on the rank's bell.
 *
 * A waiting rank first polls its transports as the waiting policy says (waitpol.h):
 * spinning, on a processing unit of its own, where a reply comes within a microsecond;
 * yielding the unit between polls where ranks share units, so that the rank waited for
 * can run without either of them sleeping. Then it arms its bell and sleeps until a peer
 * rings it, at most sleep_ms, after which it looks for failed peers. Before it sleeps, it
 * publishes the call it is blocked in (blocked.c), for tuborun to report.
 * A stalled rank also lets through peers blocked on a full channel to it: the transport
 * then empties such a channel into the unexpected queue. */
#include "config.h"

#include "engine.h"
#include "os/os.h"
#include "world.h"

int tubo__progress(tubo__world_t *w)
{
  int n = 0;
  if (w->sq_peers > 0) {
    n = tubo__send_progress(w);
    if (n < 0)
      return n;
  }
  for (int i = 0; i < w->nact; i++) {
    tubo__tport_t *t = &w->tports[w->act[i]];
    int m = t->ops->progress(t->state);
    if (m < 0)
      return m;
    n += m;
  }
  /* Non-blocking collectives go on from what the transports brought. */
  if (w->colls != NULL) {
    int m = tubo__coll_progress(w);
    if (m < 0)
      return m;
    n += m;
  }
  /* Services make calls that progress themselves: those do not run the services again. */
  if (!tubo__list_empty(&w->services) && !w->in_service) {
    w->in_service = 1;
    tubo__service_t *s;
    TUBO__LIST_FOREACH(s, &w->services, tubo__service_t, link) {
      int m = s->run(s->arg);
      if (m < 0) {
        w->in_service = 0;
        return m;
      }
      n += m;
    }
    w->in_service = 0;
  }
  return n;
}

void tubo__service_add(tubo__world_t *w, tubo__service_t *s)
{
  tubo__list_prepend(&w->services, &s->link);
}

int tubo__service_prepare(tubo__world_t *w)
{
  for (int i = 0; i < w->ntports; i++) {
    tubo__tport_t *t = &w->tports[i];
    int rc = t->ops->serve != NULL ? t->ops->serve(t->state) : 0;
    if (rc != 0)
      return rc;
  }
  return 0;
}

int tubo__tp_serve(tubo__world_t *w)
{
  if (tubo__list_empty(&w->services) || w->in_service || w->broken)
    return 0;
  /* An error here is the world's (a peer gone, the job broken): the program's next tubo
   * call meets it. */
  int n = tubo__progress(w);
  return n > 0 ? n : 0;
}

void tubo__service_remove(tubo__world_t *w, tubo__service_t *s)
{
  if (tubo__list_contains(&w->services, &s->link))
    tubo__list_remove(&w->services, &s->link);
}

struct wait_ready {
  tubo__world_t *w;
  int (*done)(void *);
  void *arg;
};

/* One non-blocking attempt, run by the transport after it armed the bell. */
static int wait_ready_fn(void *p)
{
  struct wait_ready *wr = p;
  int n = tubo__progress(wr->w);
  return n != 0 || wr->done(wr->arg) || wr->w->broken;
}

/* Sleeps in the world's transport until rung. A world whose transports cannot all sleep
 * (MPI cannot be woken by a futex) never sleeps: it yields its core and goes on polling
 * them all, as MPI itself does. */
static void progress_sleep(tubo__world_t *w, int timeout_ms, struct wait_ready *wr)
{
  tubo__tport_t *t = &w->tports[w->act[0]];
  if (w->nact == 1 && t->ops->sleep != NULL) {
    t->ops->sleep(t->state, timeout_ms, wait_ready_fn, wr);
    return;
  }
  if (!wait_ready_fn(wr))
    tubo__os_yield();
}

int tubo__wait_until(tubo__world_t *w, int (*done)(void *), void *arg)
{
  /* done() is asked only after a progress pass: it may decide that a peer that left has
   * nothing more to give, which is only true once its last frames were taken in. */
  tubo__waiter_t wt = {0, 0, 0};
  uint64_t stall_since = 0;
  int rc = 0;
  for (;;) {
    int n = tubo__progress(w);
    if (n < 0) {
      rc = n;
      break;
    }
    if (done(arg))
      break;
    if (w->broken) {
      rc = w->broken_code;
      break;
    }
    if (n > 0) {
      tubo__waiter_busy(&wt);
      stall_since = 0;
      continue;
    }
    if (w->nact == 0) {
      rc = TUBO_EDEADLK; /* a world of one: nobody else could ever act */
      break;
    }
    if (!tubo__waiter_idle(&w->wait, &wt))
      continue;
    uint64_t now = tubo__os_now_ns();
    /* Slow path: sleep until rung. A stalled rank also empties the channel of a peer
     * that waits for room while this rank waits to send to it (two ranks sending to each
     * other); stalled for long (10 ms), it takes every frame into memory, pulling large
     * messages too, which breaks every cycle of ranks blocked on each other. Emptying
     * costs heap copies, so a rank merely waiting in a pipeline whose producer runs ahead
     * does not do it. */
    if (stall_since == 0)
      stall_since = now;
    int long_stall = now - stall_since >= TUBO__STALL_LONG_NS;
    struct wait_ready wr = {w, done, arg};
    w->stalled = long_stall ? TUBO__STALLED_LONG : TUBO__STALLED;
    /* RTSs a transport has already handed over (MPI's) wait in the unexpected queue. */
    if (long_stall && !tubo__list_empty(&w->unexp) && (rc = tubo__unexp_pull(w)) != 0) {
      w->stalled = 0;
      if (rc < 0)
        break;
      rc = 0;
      tubo__waiter_busy(&wt);
      stall_since = 0;
      continue;
    }
    tubo__blocked_publish(w);
    progress_sleep(w, long_stall ? w->sleep_ms : (int)(TUBO__STALL_LONG_NS / 1000000), &wr);
    w->stalled = 0;
    tubo__waitpol_slept(&w->wait, tubo__os_now_ns() - now);
    tubo__world_health(w);
    tubo__waiter_slept(&wt, now);
  }
  tubo__waiter_end(&w->wait, &wt);
  tubo__blocked_clear(w);
  return rc;
}

int tubo__wait_peer(tubo__world_t *w, int peer, int (*done)(void *), void *arg)
{
  /* Saved and put back, for a service that waits inside a wait. */
  const void *only = w->wait_only;
  int was = w->wait_peer;
  w->wait_only = peer >= 0 && peer != w->rank ? tubo__tport_of(w, peer)->state : NULL;
  w->wait_peer = peer >= 0 && peer != w->rank ? peer : -1;
  int rc = tubo__wait_until(w, done, arg);
  w->wait_only = only;
  w->wait_peer = was;
  return rc;
}
