/* SPDX-License-Identifier: MIT */
/* Waiting inside a shared object: processes wait for a condition on the object's memory
 * (an item to get, room to put, a lock to take) by spinning briefly, then sleeping on a
 * futex word in that memory, an event count: bit 0 says someone sleeps or is about to,
 * the bits above count the wake-ups. A process that makes progress possible wakes every
 * sleeper at once and clears the record in the same step, so its fast path is one load,
 * and later wakers make no system call until someone records itself again. (A counter of
 * sleepers instead could not tell a sleeper already woken from one still asleep: on a
 * busy machine every put of a Queue made a futex call until its consumer got a CPU.) */
#ifndef TUBO_PATTERNS_OBJWAIT_H
#define TUBO_PATTERNS_OBJWAIT_H

#include <stdatomic.h>
#include <stdint.h>

/* A deadline from a timeout in milliseconds (-1: none, 0: now). */
typedef struct tubo__deadline {
  uint64_t at_ns; /* 0 with forever set: no deadline */
  int forever;
} tubo__deadline_t;

tubo__deadline_t tubo__deadline_in(int timeout_ms);

/* Milliseconds left before the deadline, for a futex wait: -1 for none, 0 once it has
 * passed, else at least 1. */
int tubo__deadline_ms_left(tubo__deadline_t dl);

/* Polls ready(arg) for at most spin_ns: returns 0 once it is ready, TUBO_ETIMEDOUT at the
 * deadline, 1 when the time to spin ran out first (the caller sleeps then). */
int tubo__objwait_spin(int (*ready)(void *), void *arg, tubo__deadline_t dl, uint64_t spin_ns);

/* Lives in shared memory, zeroed to start. */
typedef struct tubo__objwait {
  _Atomic uint32_t word;
} tubo__objwait_t;

/* Something to look at while asleep: a waiter whose wakers may die without waking it (the
 * ranks of a job) calls check(arg) at least every TUBO__OBJWAIT_WATCH_MS, and gives up with
 * what it returns when that is not 0. */
typedef struct tubo__objwait_watch {
  int (*check)(void *arg);
  void *arg;
} tubo__objwait_watch_t;
#define TUBO__OBJWAIT_WATCH_MS 100

/* Waits until ready(arg) returns non-zero or the deadline passes. ready is tried first,
 * then while spinning, then after each wake-up; it must read the shared state with
 * sequentially consistent loads. With remote_fence set, the processes that wake it
 * publish without a fence of their own (asymmetric fences, os.h): it makes them all pass
 * one after recording itself. watch may be NULL. Returns 0 when ready, TUBO_ETIMEDOUT
 * otherwise, or what watch's check returned. */
int tubo__objwait_until(tubo__objwait_t *w, int remote_fence, int (*ready)(void *), void *arg,
                        tubo__deadline_t dl, const tubo__objwait_watch_t *watch);

/* As tubo__objwait_until, for waits whose waker may need this process's processing unit
 * (a channel's partner, on a machine with more processes than units): instead of
 * spinning, it polls and yields the unit between two looks (sched_yield), so that the
 * partner, when it shares the unit, runs at once, and sleeps only after the yielding
 * budget of tubo__objwait_policy (waitpol.h: TUBO_YIELD_NS, adapting to how the waits
 * end). A wait that ends while yielding costs neither side a system call beyond the
 * yields: no futex sleep, and no futex wake, since nobody recorded itself. Where
 * TUBO_YIELD_WHEN_IDLE is 0 it is tubo__objwait_until. */
int tubo__objwait_until_yielding(tubo__objwait_t *w, int remote_fence, int (*ready)(void *),
                                 void *arg, tubo__deadline_t dl,
                                 const tubo__objwait_watch_t *watch);

struct tubo__waitpol;

/* This process's policy for tubo__objwait_until_yielding (tests, tuboinfo). */
const struct tubo__waitpol *tubo__objwait_policy(void);

/* The slow part of tubo__objwait_wake: clears the record (seen is the word with it set)
 * and wakes the sleepers. */
void tubo__objwait_wake_sleepers(tubo__objwait_t *w, uint32_t seen);

/* Wakes every sleeper, if any is recorded. Call after the state change that may make them
 * ready, with a full fence between the two, or none where the sleepers use remote fences.
 * Costs one load when nobody sleeps. */
static inline void tubo__objwait_wake(tubo__objwait_t *w)
{
  uint32_t v = atomic_load_explicit(&w->word, memory_order_relaxed);
  if (v & 1u)
    tubo__objwait_wake_sleepers(w, v);
}

#endif /* TUBO_PATTERNS_OBJWAIT_H */
