/* SPDX-License-Identifier: MIT */
/* The ring of a Queue in shared memory (queue_layout.h): a bounded multi-producer
 * multi-consumer ring whose cells hold the items. The shared-memory kind of queue is one
 * (queue.h), and the home of a served queue keeps its items in one of its own. */
#ifndef TUBO_PATTERNS_QUEUE_RING_H
#define TUBO_PATTERNS_QUEUE_RING_H

#include <stddef.h>
#include <stdint.h>

#include "patterns/queue_layout.h"
#include "patterns/objmem.h"
#include "patterns/objwait.h"
#include "tubo.h"

typedef struct tubo__queue_ring {
  queue_shared_t *sh;
  unsigned char *cells;
  uint64_t capacity;
  uint64_t stride;   /* bytes per cell */
  uint64_t item_max; /* largest item */
  int shift;         /* log2(capacity) when it is a power of two, else -1 */
  unsigned flags;
  int fence; /* 1: publishers fence; 0: sleepers make them (asymmetric fences, os.h) */
  tubo__objmem_t mem;
  tubo_comm_t *comm; /* opened on a communicator: its world is watched while waiting */
  tubo__objwait_watch_t watch;
} tubo__queue_ring_t;

/* Checks a queue's arguments: 0, TUBO_EINVAL (capacity or item_max 0, unknown flags) or
 * TUBO_ETOOBIG. */
int tubo__queue_ring_check(size_t capacity, size_t item_max, unsigned flags);

/* Makes a ring in anonymous shared memory, for processes forked afterwards. */
int tubo__queue_ring_create(size_t capacity, size_t item_max, unsigned flags,
                            tubo__queue_ring_t *r);

/* Opens a ring in the job's heap, collectively over comm. Returns TUBO_ENOTSUP, before
 * any exchange with the other ranks, where they share no memory. */
int tubo__queue_ring_open(tubo_comm_t *comm, size_t capacity, size_t item_max, unsigned flags,
                          tubo__queue_ring_t *r);

/* The calls on a ring, as the public ones (the arguments are checked already). */
int tubo__queue_ring_put(tubo__queue_ring_t *r, const void *item, size_t len, int timeout_ms);
int tubo__queue_ring_get(tubo__queue_ring_t *r, void *buf, size_t cap, size_t *len, int timeout_ms);
uint64_t tubo__queue_ring_count(const tubo__queue_ring_t *r);
int tubo__queue_ring_task_done(tubo__queue_ring_t *r);
int tubo__queue_ring_join(tubo__queue_ring_t *r, int timeout_ms);

/* JoinableQueue's counting, shared by every kind: one task done of the unfinished ones
 * (TUBO_EINVAL when none is), and the wait until none is left. */
int tubo__queue_tasks_done(_Atomic uint64_t *unfinished, tubo__objwait_t *all_done);
int tubo__queue_tasks_join(_Atomic uint64_t *unfinished, tubo__objwait_t *all_done, int timeout_ms,
                           const tubo__objwait_watch_t *watch);

/* Lets this process's view of the ring go. */
void tubo__queue_ring_release(tubo__queue_ring_t *r);

#endif /* TUBO_PATTERNS_QUEUE_RING_H */
