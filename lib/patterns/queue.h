/* SPDX-License-Identifier: MIT */
/* Queue and JoinableQueue, as multiprocessing's: the handle every kind of queue shares,
 * and the table of operations each kind fills in. A queue made with tubo_queue_create,
 * or opened on a communicator whose ranks share memory, is a ring in shared memory
 * (queue_ring.c), or with capacity 0 an unbounded list in a shared heap (queue_list.c);
 * one opened where the ranks share no memory is held by the communicator's rank 0, which
 * serves the others' calls (queue_served.c) and keeps a queue of either kind. queue.c
 * checks the public calls' arguments and dispatches, as pipe.c does for pipes. */
#ifndef TUBO_PATTERNS_QUEUE_H
#define TUBO_PATTERNS_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "patterns/queue_list.h"
#include "patterns/queue_ring.h"
#include "tubo.h"

/* What one kind of queue does; queue.c has checked the handle, that it is open, the
 * arguments, and for task_done and join that the queue is joinable. Return 0 or a
 * negative TUBO_E code, as the public calls. */
typedef struct tubo__queue_ops {
  int (*put)(tubo_queue_t *q, const void *item, size_t len, int timeout_ms);
  int (*get)(tubo_queue_t *q, void *buf, size_t cap, size_t *len, int timeout_ms);
  /* Items in the queue, at most its capacity. */
  int (*count)(const tubo_queue_t *q, uint64_t *n);
  int (*task_done)(tubo_queue_t *q);
  int (*join)(tubo_queue_t *q, int timeout_ms);
  /* Releases what the handle holds besides itself. */
  int (*free_)(tubo_queue_t *q);
} tubo__queue_ops_t;

typedef struct tubo__queue_served tubo__queue_served_t;

struct tubo_queue {
  const tubo__queue_ops_t *ops;
  uint64_t capacity;
  uint64_t item_max; /* largest item */
  unsigned flags;
  int closed;
  tubo__queue_ring_t ring;   /* the ring in shared memory (its kind) */
  tubo__queue_list_t list;   /* the unbounded list in a shared heap (its kind) */
  tubo__queue_served_t *srv; /* the served kind's state, or NULL */
};

/* The ring in shared memory: h->ring is set up (queue_ring.c). */
extern const tubo__queue_ops_t tubo__queue_ring_ops;

/* The unbounded list in a shared heap (capacity 0): h->list is set up (queue_list.c). */
extern const tubo__queue_ops_t tubo__queue_list_ops;

/* Sets up q (not a registered handle) as a queue of the kind its capacity asks for, for
 * processes forked afterwards or for a served queue's home alone. */
int tubo__queue_local_create(size_t capacity, size_t item_max, unsigned flags, tubo_queue_t *q);

/* The served queue: opens its side on comm, collectively, for the arguments given, and
 * sets *out (queue_served.c). */
int tubo__queue_served_open(tubo_comm_t *comm, uint64_t capacity, uint64_t item_max, unsigned flags,
                            tubo__queue_served_t **out);
extern const tubo__queue_ops_t tubo__queue_served_ops;

#endif /* TUBO_PATTERNS_QUEUE_H */
