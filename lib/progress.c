/* SPDX-License-Identifier: MIT */
/* Progress and waiting: spin briefly, then sleep on the rank's bell.
 *
 * A waiting rank first spins, polling its transport, for spin_ns: on an idle core a
 * reply comes within a microsecond. Then it drains every arrived frame (so that peers
 * blocked on a full ring can go on), arms its bell and sleeps until a peer rings it,
 * at most sleep_ms, after which it looks for failed peers. On an oversubscribed node
 * the spin is short, so that a waiting rank gives its core to the rank it waits for. */
#include "config.h"

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
  if (w->tp == NULL)
    return n;
  int m = w->tp->progress(w->tp_state);
  if (m < 0)
    return m;
  return n + m;
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

int tubo__wait_until(tubo__world_t *w, int (*done)(void *), void *arg)
{
  if (done(arg))
    return 0;
  uint64_t t0 = 0;
  unsigned spins = 0;
  int drain_was = w->drain;
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
      t0 = 0;
      continue;
    }
    if (w->tp == NULL) {
      rc = TUBO_EDEADLK; /* a world of one: nobody else could ever act */
      break;
    }
    if ((++spins & 31) != 0) {
      tubo__os_cpu_relax();
      continue;
    }
    uint64_t now = tubo__os_now_ns();
    if (t0 == 0) {
      t0 = now;
      continue;
    }
    if (now - t0 < w->spin_ns) {
      tubo__os_cpu_relax();
      continue;
    }
    /* Slow path: let blocked peers go on, then sleep until rung. */
    w->drain = 1;
    struct wait_ready wr = {w, done, arg};
    w->tp->sleep(w->tp_state, w->sleep_ms, wait_ready_fn, &wr);
    int c = w->tp->check(w->tp_state);
    if (c < 0 && !w->broken) {
      w->broken = 1;
      w->broken_code = c;
    }
    t0 = 0;
  }
  w->drain = drain_was;
  return rc;
}
