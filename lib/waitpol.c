/* SPDX-License-Identifier: MIT */
/* The waiting policy (waitpol.h): spin where ranks have a processing unit each, poll and
 * yield where they share them, for a time that adapts to what ends the waits, then sleep.
 *
 * Sharing units, a futex sleep costs twice: the rank that answers makes a system call to
 * wake the sleeper, and the sleeper comes back through the scheduler. A waiter that yields
 * instead leaves its unit to the ranks that can run (the one it waits for among them) and
 * is back as soon as they block or yield in turn: a halo exchange with a reduction on 4
 * ranks and 2 cores ran 5x faster that way (doc/benchmarks.md). A waiter that yields for
 * long only burns the time the others did not want, but a rank waiting for something slow
 * (a producer that computes) should sleep: the yield budget adapts between the two. */
#include "config.h"

#include "os/os.h"
#include "settings.h"
#include "waitpol.h"

void tubo__waitpol_init(tubo__waitpol_t *p, int shared)
{
  /* 0: never yield, 1: always, 2: where ranks outnumber processing units. */
  uint64_t yield = tubo__setting_u64("TUBO_YIELD_WHEN_IDLE", 2, 0, 2);
  if (yield < 2)
    shared = (int)yield;
  p->spin_ns = p->spin_min =
      tubo__setting_u64("TUBO_SPIN_NS", TUBO__SPIN_NS_DEFAULT, 0, TUBO__SPIN_NS_MAX);
  p->spin_max = p->spin_min < TUBO__SPIN_NS_MAX / TUBO__SPIN_GROW ? p->spin_min * TUBO__SPIN_GROW
                                                                  : TUBO__SPIN_NS_MAX;
  p->yield_max = tubo__setting_u64("TUBO_YIELD_NS", TUBO__YIELD_NS_DEFAULT, 0, TUBO__SPIN_NS_MAX);
  p->yield_ns = p->yield_max;
  p->shared = shared;
  p->grown = p->shrunk = p->spin_grown = p->spin_shrunk = 0;
}

int tubo__waiter_idle(const tubo__waitpol_t *p, tubo__waiter_t *wt)
{
  uint64_t budget;
  if (p->shared) {
    /* The rank waited for may need this unit: give it away at every empty poll. */
    tubo__os_yield();
    /* A wait that slept once is a long one: after each wake-up that brought nothing it
     * looks briefly, then sleeps again. */
    budget =
        wt->slept_at == 0 || p->yield_ns < TUBO__YIELD_NS_MIN ? p->yield_ns : TUBO__YIELD_NS_MIN;
  } else {
    /* The clock only now and then: a reply comes within a microsecond on an idle unit. */
    if ((++wt->polls & 31) != 0) {
      tubo__os_cpu_relax();
      return 0;
    }
    budget = p->spin_ns;
  }
  uint64_t now = tubo__os_now_ns();
  if (wt->idle_since == 0) {
    wt->idle_since = now;
    return budget == 0;
  }
  return now - wt->idle_since >= budget;
}

void tubo__waiter_slept(tubo__waiter_t *wt, uint64_t fell_asleep)
{
  if (wt->slept_at == 0)
    wt->slept_at = fell_asleep;
  wt->idle_since = 0;
}

void tubo__waitpol_slept(tubo__waitpol_t *p, uint64_t asleep_ns)
{
  /* A zero budget asks for sleeping at once: it stays. */
  if (p->shared || p->spin_min == 0)
    return;
  if (asleep_ns < p->spin_ns && p->spin_ns < p->spin_max) {
    p->spin_ns = p->spin_ns < p->spin_max / 2 ? p->spin_ns * 2 : p->spin_max;
    p->spin_grown++;
  } else if (asleep_ns / 16 > p->spin_ns && p->spin_ns > p->spin_min) {
    p->spin_ns = p->spin_ns / 2 > p->spin_min ? p->spin_ns / 2 : p->spin_min;
    p->spin_shrunk++;
  }
}

void tubo__waiter_end(tubo__waitpol_t *p, const tubo__waiter_t *wt)
{
  if (!p->shared || wt->slept_at == 0 || p->yield_max == 0)
    return;
  uint64_t asleep = tubo__os_now_ns() - wt->slept_at;
  uint64_t floor = p->yield_max < TUBO__YIELD_NS_MIN ? p->yield_max : TUBO__YIELD_NS_MIN;
  if (asleep < TUBO__YIELD_GROW_X * p->yield_ns && p->yield_ns < p->yield_max) {
    p->yield_ns = p->yield_ns * 2 < p->yield_max ? p->yield_ns * 2 : p->yield_max;
    p->grown++;
  } else if (asleep > 16 * p->yield_ns && p->yield_ns > floor) {
    p->yield_ns = p->yield_ns / 2 > floor ? p->yield_ns / 2 : floor;
    p->shrunk++;
  }
}
