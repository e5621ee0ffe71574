/* SPDX-License-Identifier: MIT */
/* Waiting inside shared objects (objwait.h). */
#include "config.h"

#include "patterns/objwait.h"

#include <limits.h>

#include "os/os.h"
#include "tubo.h"
#include "waitpol.h"

/* How long a waiter spins before it sleeps: a few microseconds catch a peer that is
 * running, and cost little when the peer is not. */
#define OBJWAIT_SPIN_NS 5000u

tubo__deadline_t tubo__deadline_in(int timeout_ms)
{
  tubo__deadline_t d = {0, timeout_ms < 0};
  if (timeout_ms >= 0)
    d.at_ns = tubo__os_now_ns() + (uint64_t)timeout_ms * 1000000u;
  return d;
}

int tubo__deadline_ms_left(tubo__deadline_t dl)
{
  if (dl.forever)
    return -1;
  uint64_t now = tubo__os_now_ns();
  if (now >= dl.at_ns)
    return 0;
  uint64_t ms = (dl.at_ns - now + 999999u) / 1000000u;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

int tubo__objwait_spin(int (*ready)(void *), void *arg, tubo__deadline_t dl, uint64_t spin_ns)
{
  uint64_t start = tubo__os_now_ns();
  for (unsigned spins = 1;; spins++) {
    tubo__os_cpu_relax();
    if (ready(arg))
      return 0;
    if ((spins & 63) != 0)
      continue;
    uint64_t now = tubo__os_now_ns();
    if (!dl.forever && now >= dl.at_ns)
      return TUBO_ETIMEDOUT;
    if (now - start >= spin_ns)
      return 1;
  }
}

/* One sleep: records the sleeper, looks once more, sleeps until woken or the deadline (or
 * the watch's period). Returns 0 when ready, 1 when it woke and is not, or why to stop. */
static int objwait_sleep(tubo__objwait_t *w, int remote_fence, int (*ready)(void *), void *arg,
                         tubo__deadline_t dl, const tubo__objwait_watch_t *watch)
{
  /* Record the sleeper, then look once more: a waker that changes the state after the
   * look finds the record and changes the word, so the futex wait returns at once. */
  uint32_t key = atomic_fetch_or_explicit(&w->word, 1u, memory_order_seq_cst) | 1u;
  if (remote_fence)
    tubo__os_fence_remote(); /* every waker's last publication is visible now */
  if (ready(arg))
    return 0; /* the record stays: one waker will clear it for nothing */
  int ms = tubo__deadline_ms_left(dl);
  if (ms == 0)
    return TUBO_ETIMEDOUT;
  if (watch != NULL && (ms < 0 || ms > TUBO__OBJWAIT_WATCH_MS))
    ms = TUBO__OBJWAIT_WATCH_MS;
  tubo__os_futex_wait(&w->word, key, ms);
  if (ready(arg))
    return 0;
  int bad = watch != NULL ? watch->check(watch->arg) : 0;
  return bad != 0 ? bad : 1;
}

int tubo__objwait_until(tubo__objwait_t *w, int remote_fence, int (*ready)(void *), void *arg,
                        tubo__deadline_t dl, const tubo__objwait_watch_t *watch)
{
  if (ready(arg))
    return 0;
  int rc = tubo__objwait_spin(ready, arg, dl, OBJWAIT_SPIN_NS);
  while (rc == 1)
    rc = objwait_sleep(w, remote_fence, ready, arg, dl, watch);
  return rc;
}

/* The yielding policy of this process's waits (made from the settings on first use;
 * forked children inherit it, with the budget their parent learned). */
static tubo__waitpol_t objwait_pol;
static int objwait_pol_made;

const tubo__waitpol_t *tubo__objwait_policy(void)
{
  if (!objwait_pol_made) {
    /* TUBO_YIELD_WHEN_IDLE=2 counts ranks, not processes: a process tree's processes are
     * not counted anywhere, and a yield on a unit nobody else wants returns at once. */
    tubo__waitpol_init(&objwait_pol, 1);
    objwait_pol_made = 1;
  }
  return &objwait_pol;
}

int tubo__objwait_until_yielding(tubo__objwait_t *w, int remote_fence, int (*ready)(void *),
                                 void *arg, tubo__deadline_t dl, const tubo__objwait_watch_t *watch)
{
  if (ready(arg))
    return 0;
  const tubo__waitpol_t *pol = tubo__objwait_policy();
  if (!pol->shared)
    return tubo__objwait_until(w, remote_fence, ready, arg, dl, watch);
  tubo__waiter_t wt = {0, 0, 0};
  int rc = 1;
  while (rc == 1) {
    if (!tubo__waiter_idle(pol, &wt)) {
      if (ready(arg))
        rc = 0;
      else if (!dl.forever && tubo__os_now_ns() >= dl.at_ns)
        rc = TUBO_ETIMEDOUT;
      continue;
    }
    uint64_t fell_asleep = tubo__os_now_ns();
    rc = objwait_sleep(w, remote_fence, ready, arg, dl, watch);
    tubo__waiter_slept(&wt, fell_asleep);
  }
  tubo__waiter_end(&objwait_pol, &wt);
  return rc;
}

void tubo__objwait_wake_sleepers(tubo__objwait_t *w, uint32_t seen)
{
  /* seen + 1 clears bit 0 and counts one more wake-up. If the word changed, another
   * waker did this already, after this waker's state change: its wake-up covers ours. */
  if (atomic_compare_exchange_strong_explicit(&w->word, &seen, seen + 1u, memory_order_seq_cst,
                                              memory_order_relaxed))
    tubo__os_futex_wake(&w->word, INT_MAX);
}
