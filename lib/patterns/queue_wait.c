/* SPDX-License-Identifier: MIT */
/* Waiting in a Queue (queue_wait.h). */
#include "config.h"

#include "patterns/queue_wait.h"

#include <limits.h>

#include "os/os.h"
#include "tubo.h"

/* How long a waiter spins before it sleeps: long enough to catch a peer that is running
 * and about to hand on a cell, short against a time slice of a busy machine. */
#define QUEUE_SPIN_NS 5000u

int tubo__queue_wait_until(queue_wait_t *w, int remote_fence, int (*ready)(void *), void *arg,
                           tubo__deadline_t dl)
{
  if (ready(arg))
    return 0;
  int rc = tubo__shwait_spin(ready, arg, dl, QUEUE_SPIN_NS);
  if (rc != 1)
    return rc;
  for (;;) {
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
    tubo__os_futex_wait(&w->word, key, ms);
    if (ready(arg))
      return 0;
  }
}

void tubo__queue_wake_sleepers(queue_wait_t *w, uint32_t seen)
{
  /* seen + 1 clears bit 0 and counts one more wake-up. If the word changed, another
   * waker did this already, after this waker's state change: its wake-up covers ours. */
  if (atomic_compare_exchange_strong_explicit(&w->word, &seen, seen + 1u, memory_order_seq_cst,
                                              memory_order_relaxed))
    tubo__os_futex_wake(&w->word, INT_MAX);
}
