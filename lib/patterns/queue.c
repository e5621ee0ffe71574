/* SPDX-License-Identifier: MIT */
/* The public queue calls: argument and state checks, then the kind's own operation
 * (queue.h). */
#include "config.h"

#include <stdlib.h>

#include "handles.h"
#include "patterns/queue.h"
#include "patterns/queue_ring.h"
#include "tubo.h"
#include "world.h"

/* Registers a handle for the queue set up in init; releases it when it cannot. */
static int queue_handle(tubo_queue_t *init, tubo_queue_t **q)
{
  tubo_queue_t *h = malloc(sizeof *h);
  if (h != NULL) {
    *h = *init;
    if (tubo__handle_add(h, TUBO__H_QUEUE) != 0) {
      free(h);
      h = NULL;
    }
  }
  if (h == NULL) {
    (void)init->ops->free_(init);
    return TUBO_ENOMEM;
  }
  *q = h;
  return 0;
}

static void queue_init(tubo_queue_t *q, const tubo__queue_ops_t *ops, size_t capacity,
                       size_t item_max, unsigned flags)
{
  *q = (tubo_queue_t){0};
  q->ops = ops;
  q->capacity = capacity;
  q->item_max = item_max;
  q->flags = flags;
}

int tubo__queue_local_create(size_t capacity, size_t item_max, unsigned flags, tubo_queue_t *q)
{
  if (capacity == TUBO_QUEUE_UNBOUNDED) {
    queue_init(q, &tubo__queue_list_ops, capacity, item_max, flags);
    return tubo__queue_list_create(item_max, flags, &q->list);
  }
  queue_init(q, &tubo__queue_ring_ops, capacity, item_max, flags);
  return tubo__queue_ring_create(capacity, item_max, flags, &q->ring);
}

int tubo_queue_create(size_t capacity, size_t item_max, unsigned flags, tubo_queue_t **q)
{
  if (q == NULL)
    return TUBO_EINVAL;
  tubo_queue_t init;
  int rc = tubo__queue_local_create(capacity, item_max, flags, &init);
  if (rc != 0)
    return rc;
  return queue_handle(&init, q);
}

static int queue_open_do(tubo_comm_t *comm, size_t capacity, size_t item_max, unsigned flags,
                         tubo_queue_t **q)
{
  if (comm == NULL)
    return TUBO_ECOMM;
  if (q == NULL)
    return TUBO_EINVAL;
  tubo_queue_t init;
  int rc;
  if (capacity == TUBO_QUEUE_UNBOUNDED) {
    queue_init(&init, &tubo__queue_list_ops, capacity, item_max, flags);
    rc = tubo__queue_list_open(comm, item_max, flags, &init.list);
  } else {
    queue_init(&init, &tubo__queue_ring_ops, capacity, item_max, flags);
    rc = tubo__queue_ring_open(comm, capacity, item_max, flags, &init.ring);
  }
  if (rc == 0)
    return queue_handle(&init, q);
  if (rc != TUBO_ENOTSUP)
    return rc;
  /* The ranks share no memory: the communicator's rank 0 holds the queue and serves the
   * others (queue_served.c). */
  queue_init(&init, &tubo__queue_served_ops, capacity, item_max, flags);
  rc = tubo__queue_served_open(comm, capacity, item_max, flags, &init.srv);
  if (rc != 0)
    return rc;
  return queue_handle(&init, q);
}

int tubo_queue_open(tubo_comm_t *comm, size_t capacity, size_t item_max, unsigned flags,
                    tubo_queue_t **q)
{
  return tubo__error_ret(comm, queue_open_do(comm, capacity, item_max, flags, q),
                         "tubo_queue_open");
}

/* A live handle (looked up before it is followed: a freed one is never read), still open. */
static int queue_check(const tubo_queue_t *q)
{
  if (!tubo__handle_live(q, TUBO__H_QUEUE))
    return TUBO_EQUEUE;
  return q->closed ? TUBO_ECLOSED : 0;
}

int tubo_queue_put(tubo_queue_t *q, const void *item, size_t len, int timeout_ms)
{
  int rc = queue_check(q);
  if (rc != 0)
    return rc;
  if (item == NULL && len > 0)
    return TUBO_EINVAL;
  if (len > q->item_max)
    return TUBO_ETOOBIG;
  return q->ops->put(q, item, len, timeout_ms);
}

int tubo_queue_get(tubo_queue_t *q, void *buf, size_t cap, size_t *len, int timeout_ms)
{
  int rc = queue_check(q);
  if (rc != 0)
    return rc;
  if (buf == NULL && cap > 0)
    return TUBO_EINVAL;
  return q->ops->get(q, buf, cap, len, timeout_ms);
}

/* The common part of size, empty and full: checks q and where the answer goes, then
 * counts. */
static int queue_look(const tubo_queue_t *q, const void *out, uint64_t *count)
{
  int rc = queue_check(q);
  if (rc != 0)
    return rc;
  if (out == NULL)
    return TUBO_EINVAL;
  return q->ops->count(q, count);
}

int tubo_queue_size(const tubo_queue_t *q, size_t *n)
{
  uint64_t k = 0;
  int rc = queue_look(q, n, &k);
  if (rc == 0)
    *n = (size_t)k;
  return rc;
}

int tubo_queue_empty(const tubo_queue_t *q, int *empty)
{
  uint64_t k = 0;
  int rc = queue_look(q, empty, &k);
  if (rc == 0)
    *empty = k == 0;
  return rc;
}

int tubo_queue_full(const tubo_queue_t *q, int *full)
{
  uint64_t k = 0;
  int rc = queue_look(q, full, &k);
  if (rc == 0)
    *full = q->capacity != TUBO_QUEUE_UNBOUNDED && k >= q->capacity;
  return rc;
}

static int queue_check_joinable(const tubo_queue_t *q)
{
  int rc = queue_check(q);
  if (rc != 0)
    return rc;
  return q->flags & TUBO_QUEUE_JOINABLE ? 0 : TUBO_ENOTSUP;
}

int tubo_queue_task_done(tubo_queue_t *q)
{
  int rc = queue_check_joinable(q);
  if (rc != 0)
    return rc;
  return q->ops->task_done(q);
}

int tubo_queue_join(tubo_queue_t *q, int timeout_ms)
{
  int rc = queue_check_joinable(q);
  if (rc != 0)
    return rc;
  return q->ops->join(q, timeout_ms);
}

int tubo_queue_close(tubo_queue_t *q)
{
  int rc = queue_check(q);
  if (rc != 0)
    return rc;
  q->closed = 1;
  return 0;
}

int tubo_queue_free(tubo_queue_t *q)
{
  if (!tubo__handle_live(q, TUBO__H_QUEUE))
    return TUBO_EQUEUE;
  tubo__handle_remove(q);
  int rc = q->ops->free_(q);
  free(q);
  return rc;
}
