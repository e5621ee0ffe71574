/* SPDX-License-Identifier: MIT */
/* Waiting inside a shared object: processes wait for a condition on the object's memory
 * (an item to get, room to put, a lock to take) by spinning briefly, then sleeping on a
 * futex word in that memory. A process that changes the state wakes sleepers only when
 * one is recorded, so its fast path makes no system call. */
#ifndef TUBO_PATTERNS_SHWAIT_H
#define TUBO_PATTERNS_SHWAIT_H

#include <stdatomic.h>
#include <stdint.h>

/* Lives in shared memory, zeroed to start. */
typedef struct tubo__shwait {
  _Atomic uint32_t seq;     /* futex word: bumped by each wake */
  _Atomic uint32_t waiters; /* processes asleep or about to sleep */
} tubo__shwait_t;

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
int tubo__shwait_spin(int (*ready)(void *), void *arg, tubo__deadline_t dl, uint64_t spin_ns);

/* Waits until ready(arg) returns non-zero or the deadline passes. ready is tried first,
 * then while spinning, then after each wake-up; it must read the shared state with
 * sequentially consistent (or acquire after a full fence) loads.
 * Returns 0 when ready, TUBO_ETIMEDOUT otherwise. */
int tubo__shwait_until(tubo__shwait_t *w, int (*ready)(void *), void *arg, tubo__deadline_t dl);

/* Wakes up to n sleepers (n < 0: all) if any is recorded. Call after the state change
 * that may make them ready, itself made with a sequentially consistent atomic. */
void tubo__shwait_wake(tubo__shwait_t *w, int n);

#endif /* TUBO_PATTERNS_SHWAIT_H */
