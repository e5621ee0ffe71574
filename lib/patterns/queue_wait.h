/* SPDX-License-Identifier: MIT */
/* Waiting in a Queue: an event count. Processes that find the ring full or empty spin
 * briefly, then record that they sleep and sleep on a futex word; a process that makes
 * progress possible wakes every sleeper at once and clears the record in the same step.
 *
 * Why not shwait.h: its waker cannot tell a sleeper it already woke from one still asleep
 * (the sleeper unrecords itself only once it runs), so on a busy machine every put made a
 * futex call until the consumers it woke got a processor: a million system calls for two
 * million items with 4 producers and 4 consumers on 2 cores. Here the first waker clears
 * the record, and later ones make no system call until someone records itself again. */
#ifndef TUBO_PATTERNS_QUEUE_WAIT_H
#define TUBO_PATTERNS_QUEUE_WAIT_H

#include <stdatomic.h>
#include <stdint.h>

#include "patterns/shwait.h"

/* Lives in shared memory, zeroed to start: bit 0 set while someone sleeps or is about to,
 * the bits above count the wake-ups (the epoch). */
typedef struct queue_wait {
  _Atomic uint32_t word;
} queue_wait_t;

/* Waits until ready(arg) returns non-zero or the deadline passes, as tubo__shwait_until
 * (ready must read the shared state with sequentially consistent loads). With
 * remote_fence set, the processes that wake it publish without a fence of their own
 * (asymmetric fences, os.h): it makes them all pass one after recording itself.
 * Returns 0 when ready, TUBO_ETIMEDOUT otherwise. */
int tubo__queue_wait_until(queue_wait_t *w, int remote_fence, int (*ready)(void *), void *arg,
                           tubo__deadline_t dl);

/* The slow part of tubo__queue_wake: clears the record (seen is the word with it set)
 * and wakes the sleepers. */
void tubo__queue_wake_sleepers(queue_wait_t *w, uint32_t seen);

/* Wakes every sleeper, if any is recorded. Call after the state change that may make them
 * ready, with a full fence between the two, or none where the sleepers use remote fences.
 * Costs one load when nobody sleeps. */
static inline void tubo__queue_wake(queue_wait_t *w)
{
  uint32_t v = atomic_load_explicit(&w->word, memory_order_relaxed);
  if (v & 1u)
    tubo__queue_wake_sleepers(w, v);
}

#endif /* TUBO_PATTERNS_QUEUE_WAIT_H */
