/* SPDX-License-Identifier: MIT */
/* The shared lock that survives its holder (lock.h). */
#include "config.h"

#include "patterns/lock.h"

#include <stdint.h>
#include <unistd.h>

#include "os/os.h"
#include "tubo.h"

/* A waiter checks that the holder is alive after waiting this long, then after twice as
 * long each time, up to the maximum. Short first: a lock whose holder is already dead is
 * taken over at once; long later: a lock held for long costs its waiters little. */
#define LOCK_CHECK_FIRST_MS 1
#define LOCK_CHECK_MAX_MS   128

/* A holder is gone when its pid names no live process. A value that is no pid at all
 * (the word was overwritten) names none either, so the lock is taken over from it. */
static int lock_holder_gone(uint32_t holder)
{
  return holder > INT32_MAX || !tubo__os_pid_alive((pid_t)holder);
}

typedef struct lock_try {
  tubo__lock_t *l;
  uint32_t me;
} lock_try_t;

/* The waiter's condition (tubo__objwait_until): looks before it tries, so that spinning
 * waiters read the line instead of taking it from the holder. */
static int lock_try(void *arg)
{
  lock_try_t *t = arg;
  uint32_t free_word = 0;
  if (atomic_load_explicit(&t->l->owner, memory_order_seq_cst) != 0)
    return 0;
  return atomic_compare_exchange_strong_explicit(&t->l->owner, &free_word, t->me,
                                                 memory_order_seq_cst, memory_order_seq_cst);
}

static int lock_take_slow(tubo__lock_t *l, uint32_t me)
{
  lock_try_t t = {l, me};
  for (int ms = LOCK_CHECK_FIRST_MS;; ms = ms < LOCK_CHECK_MAX_MS ? 2 * ms : ms) {
    if (tubo__objwait_until(&l->wait, 0, lock_try, &t, tubo__deadline_in(ms), NULL) == 0)
      break;
    uint32_t holder = atomic_load_explicit(&l->owner, memory_order_seq_cst);
    if (holder == 0 || !lock_holder_gone(holder))
      continue;
    /* Among the waiters that saw the same dead holder, one wins this exchange. */
    if (atomic_compare_exchange_strong_explicit(&l->owner, &holder, me, memory_order_seq_cst,
                                                memory_order_seq_cst)) {
      atomic_store_explicit(&l->depth, 1, memory_order_relaxed);
      return TUBO_EPEER;
    }
  }
  atomic_store_explicit(&l->depth, 1, memory_order_relaxed);
  return 0;
}

int tubo__lock_take(tubo__lock_t *l)
{
  uint32_t me = tubo__lock_self();
  uint32_t seen = 0;
  if (atomic_compare_exchange_strong_explicit(&l->owner, &seen, me, memory_order_seq_cst,
                                              memory_order_relaxed)) {
    atomic_store_explicit(&l->depth, 1, memory_order_relaxed);
    return 0;
  }
  if (seen == me) {
    atomic_fetch_add_explicit(&l->depth, 1, memory_order_relaxed);
    return 0;
  }
  return lock_take_slow(l, me);
}

int tubo__lock_release(tubo__lock_t *l)
{
  if (!tubo__lock_held(l))
    return TUBO_EINVAL;
  uint32_t depth = atomic_load_explicit(&l->depth, memory_order_relaxed);
  if (depth > 1) {
    atomic_store_explicit(&l->depth, depth - 1, memory_order_relaxed);
    return 0;
  }
  atomic_store_explicit(&l->depth, 0, memory_order_relaxed);
  /* A full fence between the release and the look for sleepers, as tubo__objwait_wake
   * asks: either a waiter about to sleep sees the lock free, or this process sees the
   * waiter and wakes it. */
  atomic_store_explicit(&l->owner, 0, memory_order_seq_cst);
  atomic_thread_fence(memory_order_seq_cst);
  tubo__objwait_wake(&l->wait);
  return 0;
}

void tubo__lock_drop(tubo__lock_t *l)
{
  if (!tubo__lock_held(l))
    return;
  atomic_store_explicit(&l->depth, 1, memory_order_relaxed);
  tubo__lock_release(l);
}

int tubo__lock_held(const tubo__lock_t *l)
{
  return atomic_load_explicit(&l->owner, memory_order_relaxed) == tubo__lock_self();
}
