/* SPDX-License-Identifier: MIT */
/* The shared memory of a Queue: a header of cache-line-separated counters, then a ring of
 * cells. Zeroed memory is an empty queue, so ranks that open one need not wait for anyone
 * to initialize it. Nothing in it is a pointer; every value read from it is checked before
 * it is used. Private to the library (and to the tests, which corrupt it on purpose). */
#ifndef TUBO_PATTERNS_QUEUE_LAYOUT_H
#define TUBO_PATTERNS_QUEUE_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "patterns/objwait.h"
#include "tubo.h"

/* Hot counters sit this far apart: a cache line, plus the one the processor may fetch
 * with it (adjacent-line prefetch), so that producers and consumers never share one. */
#define QUEUE_LINE 128

typedef struct queue_shared {
  /* Written while the queue is made or opened, then only read: the arguments'
   * queue_config() (0: none yet), and whether a rank cannot use asymmetric fences. */
  alignas(QUEUE_LINE) _Atomic uint64_t config;
  _Atomic uint32_t fence_denied;
  /* Producers' position: the next put claims it. */
  alignas(QUEUE_LINE) _Atomic uint64_t tail;
  /* Consumers' position: the next get claims it. */
  alignas(QUEUE_LINE) _Atomic uint64_t head;
  alignas(QUEUE_LINE) tubo__objwait_t not_empty; /* getters sleep here */
  alignas(QUEUE_LINE) tubo__objwait_t not_full;  /* putters sleep here */
  /* JoinableQueue: items put and not yet marked done. */
  alignas(QUEUE_LINE) _Atomic uint64_t unfinished;
  alignas(QUEUE_LINE) tubo__objwait_t all_done; /* joiners sleep here */
} queue_shared_t;

/* A cell, at QUEUE_CELLS + index * stride. Position pos uses cell pos % capacity in lap
 * pos / capacity; the cell's turn says whose it is: 2 * lap when the producer of that lap
 * may fill it, 2 * lap + 1 once it holds that lap's item for a consumer. Zero: free for
 * lap 0. */
typedef struct queue_cell {
  _Atomic uint64_t turn;
  uint32_t len; /* bytes of the item, at most item_max */
  uint32_t pad;
  unsigned char data[]; /* item_max bytes */
} queue_cell_t;

/* Where the cells begin. */
#define QUEUE_CELLS ((sizeof(queue_shared_t) + QUEUE_LINE - 1) / QUEUE_LINE * QUEUE_LINE)

/* Cells are whole cache lines, so that two never share one. */
#define QUEUE_CELL_ALIGN 64

/* The shared memory of a queue and its cell stride, for tests that corrupt it on purpose. */
queue_shared_t *tubo__queue_shared(const tubo_queue_t *q, size_t *stride);

/* Whether this handle publishes with fences of its own (1) or relies on its sleepers'
 * remote fences (0), for tests. */
int tubo__queue_fences(const tubo_queue_t *q);

#endif /* TUBO_PATTERNS_QUEUE_LAYOUT_H */
