/* SPDX-License-Identifier: MIT */
/* Waiting inside shared objects (shwait.h). */
#include "config.h"

#include "patterns/shwait.h"

#include <limits.h>

#include "os/os.h"
#include "tubo.h"

/* How long a waiter spins before it sleeps: a few microseconds catch a peer that is
 * running, and cost little when the peer is not. */
#define SHWAIT_SPIN_NS 5000u

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

int tubo__shwait_spin(int (*ready)(void *), void *arg, tubo__deadline_t dl, uint64_t spin_ns)
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

int tubo__shwait_until(tubo__shwait_t *w, int (*ready)(void *), void *arg, tubo__deadline_t dl)
{
  if (ready(arg))
    return 0;
  for (;;) {
    int rc = tubo__shwait_spin(ready, arg, dl, SHWAIT_SPIN_NS);
    if (rc != 1)
      return rc;
    /* Record the sleeper, read the word, look once more, then sleep: a waker that
     * changes the state after the look sees the sleeper and bumps the word. */
    atomic_fetch_add_explicit(&w->waiters, 1, memory_order_seq_cst);
    uint32_t v = atomic_load_explicit(&w->seq, memory_order_seq_cst);
    int ok = ready(arg);
    if (!ok) {
      int ms = tubo__deadline_ms_left(dl);
      if (ms != 0)
        tubo__os_futex_wait(&w->seq, v, ms);
    }
    atomic_fetch_sub_explicit(&w->waiters, 1, memory_order_seq_cst);
    if (ok || ready(arg))
      return 0;
    if (!dl.forever && tubo__os_now_ns() >= dl.at_ns)
      return TUBO_ETIMEDOUT;
  }
}

void tubo__shwait_wake(tubo__shwait_t *w, int n)
{
  if (atomic_load_explicit(&w->waiters, memory_order_seq_cst) == 0)
    return;
  atomic_fetch_add_explicit(&w->seq, 1, memory_order_seq_cst);
  tubo__os_futex_wake(&w->seq, n < 0 ? INT_MAX : n);
}
