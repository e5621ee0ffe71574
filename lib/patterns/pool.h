/* SPDX-License-Identifier: MIT */
/* Pool, as multiprocessing.Pool (pool.c): workers take tasks from one unbounded queue and
 * put their results on another; the process that made the pool is the only one that
 * collects, and hands each result to the call waiting for it (a map, or a pending result
 * of apply_async). The workers are processes forked at the pool's creation
 * (tubo_pool_create), or the other ranks of a communicator (tubo_pool_open: the queues are
 * opened on it, its root is their home).
 *
 *   task:    pool_task_t | n inputs of in_size bytes        (job POOL_END: the worker ends)
 *   result:  pool_done_t | n results of out_size bytes      (job POOL_BYE: a worker rank
 *                                                            ended; first is its rank)
 *
 * Whoever waits for a result collects every result that comes, for any call: results
 * arrive in whatever order the workers finish. While it waits it looks now and then at
 * the workers: one that ended unasked breaks the pool (its task is lost), and every call
 * waiting then returns TUBO_EWORKER rather than wait for ever. */
#ifndef TUBO_PATTERNS_POOL_H
#define TUBO_PATTERNS_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tubo.h"

typedef struct pool_task {
  uint64_t job;   /* the call it is part of */
  uint64_t first; /* index of its first input in the call */
  uint64_t n;     /* inputs */
  uint64_t in_size, out_size;
  uint64_t fn_obj, fn_off; /* the function, named as tubo__os_code_name names code */
} pool_task_t;

/* The job numbers of the words that end a worker and that a worker rank ended. */
#define POOL_END UINT64_MAX
#define POOL_BYE UINT64_MAX

typedef struct pool_done {
  uint64_t job, first, n;
  int64_t rc; /* 0, or TUBO_ETASK when fn failed on one of the inputs */
} pool_done_t;

/* A call waiting for results: a map (on its caller's stack) or an apply_async (inside
 * its pending result). */
typedef struct pool_job {
  struct pool_job *next; /* the pool's open calls */
  uint64_t id;
  unsigned char *out;
  size_t out_size;
  uint64_t count;     /* inputs */
  uint64_t remaining; /* results not yet in */
  int rc;             /* the first failure */
} pool_job_t;

/* The bytes a task or a result carries besides its header, at most. */
#define POOL_PAYLOAD_MAX (4 * TUBO_POOL_ITEM_MAX)
#define POOL_MSG_MAX     (sizeof(pool_task_t) + POOL_PAYLOAD_MAX)

/* How often a waiter looks at the workers, in milliseconds. */
#define POOL_WATCH_MS 100

/* A worker's function (a tubo_process_fn), on the pool it was forked from
 * (pool_worker.c). */
int tubo__pool_worker(void *arg);

/* Runs the task in msg (len bytes, checked here) and writes its result message at out
 * (POOL_MSG_MAX bytes); returns the result's length, or TUBO_ECORRUPT for a task that no
 * pool sends. A function this process cannot find fails the task (TUBO_ETASK). */
int64_t tubo__pool_run(const unsigned char *msg, size_t len, unsigned char *out);

/* Takes tasks and puts results until the word to end; a worker rank (me > 0, its rank
 * in the pool's communicator) then puts its POOL_BYE. Returns 0, or the error of a
 * queue call or TUBO_ECORRUPT. */
int tubo__pool_serve(tubo_queue_t *tasks, tubo_queue_t *results, int me);

/* The pool's queues: tasks to the workers, results from them. */
tubo_queue_t *tubo__pool_tasks(const tubo_pool_t *p);
tubo_queue_t *tubo__pool_results(const tubo_pool_t *p);

#endif /* TUBO_PATTERNS_POOL_H */
