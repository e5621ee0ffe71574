/* SPDX-License-Identifier: MIT */
/* A lock in shared memory that survives the death of its holder, for the pattern objects
 * (the lock of Array and Value; anything else that needs one).
 *
 * The lock word holds the pid of the holding process (0: free), so a waiter can tell
 * whether the holder still exists. Taking a free lock and releasing one nobody waits for
 * are one atomic instruction each, with no system call. A waiter spins briefly, then
 * sleeps on a futex; while it sleeps it wakes now and then to check that the holder is
 * alive, and takes the lock over from a dead one. The holder is a process, not a thread:
 * as everywhere in tubo, one process's calls must not run from several threads at once.
 * A process may take the lock again while it holds it (as Python's RLock, which Array and
 * Value use); it is free once released as many times as taken. */
#ifndef TUBO_PATTERNS_LOCK_H
#define TUBO_PATTERNS_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include "os/os.h"
#include "patterns/objwait.h"

/* Lives in shared memory; all zero is a free lock. 16 bytes. */
typedef struct tubo__lock {
  _Atomic uint32_t owner; /* pid of the holder, 0 when free */
  _Atomic uint32_t depth; /* times the holder took it; written by the holder only */
  tubo__objwait_t wait;   /* where waiters sleep */
} tubo__lock_t;

/* Takes the lock, waiting as long as another live process holds it. Returns 0, or
 * TUBO_EPEER when the holder died holding it: the caller holds it now (once), and the
 * data it guards may be half-written. */
int tubo__lock_take(tubo__lock_t *l);

/* Releases the lock once. Returns 0, or TUBO_EINVAL if this process does not hold it. */
int tubo__lock_release(tubo__lock_t *l);

/* Releases the lock entirely if this process holds it, however many times it took it
 * (for a process that lets its handle go while holding the lock). */
void tubo__lock_drop(tubo__lock_t *l);

/* Whether this process holds the lock: 1 or 0. */
int tubo__lock_held(const tubo__lock_t *l);

/* What the lock word holds for this process: its pid (tubo__os_self, no system call). */
static inline uint32_t tubo__lock_self(void)
{
  return tubo__os_self();
}

#endif /* TUBO_PATTERNS_LOCK_H */
