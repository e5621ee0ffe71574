/* SPDX-License-Identifier: MIT */
/* The handle of a Queue (queue.c), shared with the queues a home rank serves across
 * nodes (queue_served.c). */
#ifndef TUBO_PATTERNS_QUEUE_H
#define TUBO_PATTERNS_QUEUE_H

#include "patterns/queue_layout.h"
#include "patterns/shmem.h"
#include "patterns/shwait.h"
#include "tubo.h"

typedef struct queue_srv queue_srv_t;

struct tubo_queue {
  queue_shared_t *sh;
  unsigned char *cells;
  uint64_t capacity;
  uint64_t stride;   /* bytes per cell */
  uint64_t item_max; /* largest item */
  int shift;         /* log2(capacity) when it is a power of two, else -1 */
  unsigned flags;
  int fence; /* 1: publishers fence; 0: sleepers make them (asymmetric fences, os.h) */
  int closed;
  tubo__shmem_t mem;
  tubo_comm_t *comm; /* opened on a communicator: its world is watched while waiting */
  tubo__shwait_watch_t watch;
  queue_srv_t *srv; /* served by a home rank (no shared memory: sh is NULL), or NULL */
};

/* A queue on a communicator whose ranks share no memory (they span nodes, or the job runs
 * over the pipe transport): the communicator's rank 0 holds it and serves the others'
 * calls through messages, whenever it makes progress (queue_served.c). h has its
 * arguments set; on success h->srv is set. Collective. */
int tubo__queue_srv_open(tubo_comm_t *comm, tubo_queue_t *h);
/* The calls on such a queue; the handle is checked already. */
int tubo__queue_srv_put(tubo_queue_t *q, const void *item, size_t len, int timeout_ms);
int tubo__queue_srv_get(tubo_queue_t *q, void *buf, size_t cap, size_t *len, int timeout_ms);
int tubo__queue_srv_count(const tubo_queue_t *q, uint64_t *n);
int tubo__queue_srv_task_done(tubo_queue_t *q);
int tubo__queue_srv_join(tubo_queue_t *q, int timeout_ms);
/* Frees what h->srv holds; on the home rank, after every other rank freed its handle. */
int tubo__queue_srv_free(tubo_queue_t *q);

#endif /* TUBO_PATTERNS_QUEUE_H */
