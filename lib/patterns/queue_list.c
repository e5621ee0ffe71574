/* SPDX-License-Identifier: MIT */
/* The unbounded Queue: a locked linked list in a shared heap (queue_list.h). */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "patterns/queue.h"
#include "patterns/queue_list.h"
#include "world.h"

#define QLIST_IDENT 0x7175657565756eull /* "queueun" */

static uint64_t qlist_config(uint64_t item_max, unsigned flags)
{
  return (item_max << 8 ^ flags ^ 0x5155ull) | 1;
}

/* The item block at off, checked: NULL when off is not a block of the heap or its length
 * is more than the queue takes. */
static qlist_item_t *qlist_item(const tubo__queue_list_t *l, uint64_t off)
{
  qlist_item_t *it = tubo__objheap_at(&l->heap, off, sizeof *it);
  if (it == NULL || it->len > l->item_max ||
      tubo__objheap_at(&l->heap, off, sizeof *it + it->len) == NULL)
    return NULL;
  return it;
}

/* After a holder died: walks the list from first, and sets last and count from what it
 * finds (a put that died before linking its item left it out; one that linked it, in). */
static int qlist_repair(tubo__queue_list_t *l)
{
  qlist_head_t *sh = l->sh;
  uint64_t limit = atomic_load(&sh->count) + 2, n = 0, last = 0;
  for (uint64_t off = atomic_load(&sh->first); off != 0; n++) {
    qlist_item_t *it = qlist_item(l, off);
    if (it == NULL || n >= limit)
      return TUBO_ECORRUPT;
    last = off;
    off = atomic_load(&it->next);
  }
  atomic_store(&sh->last, last);
  atomic_store(&sh->count, n);
  return 0;
}

static int qlist_lock(tubo__queue_list_t *l)
{
  int rc = tubo__lock_take(&l->sh->lock);
  if (rc == TUBO_EPEER) {
    rc = qlist_repair(l);
    if (rc != 0)
      (void)tubo__lock_release(&l->sh->lock);
  }
  return rc;
}

static void qlist_unlock_wake(tubo__queue_list_t *l, tubo__objwait_t *w)
{
  (void)tubo__lock_release(&l->sh->lock);
  atomic_thread_fence(memory_order_seq_cst); /* orders the change before the wake's look */
  tubo__objwait_wake(w);
}

static int qlist_put(tubo__queue_list_t *l, const void *item, size_t len)
{
  uint64_t off;
  int rc = tubo__objheap_alloc(&l->heap, sizeof(qlist_item_t) + len, 0, &off);
  if (rc != 0)
    return rc == TUBO_EINVAL ? TUBO_ESHM : rc;
  qlist_item_t *it = tubo__objheap_at(&l->heap, off, sizeof *it + len);
  if (it == NULL)
    return TUBO_ECORRUPT;
  atomic_store_explicit(&it->next, 0, memory_order_relaxed);
  it->len = len;
  if (len > 0)
    memcpy(it->data, item, len);
  /* Counted before anyone can get it, so that its task_done never finds zero. */
  if (l->flags & TUBO_QUEUE_JOINABLE)
    atomic_fetch_add(&l->sh->unfinished, 1);
  rc = qlist_lock(l);
  if (rc != 0) {
    (void)tubo__objheap_free(&l->heap, off);
    return rc;
  }
  qlist_head_t *sh = l->sh;
  uint64_t last = atomic_load(&sh->last);
  qlist_item_t *prev = last != 0 ? qlist_item(l, last) : NULL;
  if (last != 0 && prev == NULL) {
    (void)tubo__lock_release(&sh->lock);
    (void)tubo__objheap_free(&l->heap, off);
    return TUBO_ECORRUPT;
  }
  atomic_store(prev != NULL ? &prev->next : &sh->first, off);
  atomic_store(&sh->last, off);
  atomic_fetch_add(&sh->count, 1);
  qlist_unlock_wake(l, &sh->not_empty);
  return 0;
}

/* One attempt to get: 0, 1 when empty, or an error. */
static int qlist_try_get(tubo__queue_list_t *l, void *buf, size_t cap, size_t *lenp)
{
  int rc = qlist_lock(l);
  if (rc != 0)
    return rc;
  qlist_head_t *sh = l->sh;
  uint64_t off = atomic_load(&sh->first);
  if (off == 0) {
    (void)tubo__lock_release(&sh->lock);
    return 1;
  }
  qlist_item_t *it = qlist_item(l, off);
  if (it == NULL || atomic_load(&sh->count) == 0) {
    (void)tubo__lock_release(&sh->lock);
    return TUBO_ECORRUPT;
  }
  uint64_t next = atomic_load(&it->next);
  atomic_store(&sh->first, next);
  if (next == 0)
    atomic_store(&sh->last, 0);
  atomic_fetch_sub(&sh->count, 1);
  (void)tubo__lock_release(&sh->lock);
  size_t len = (size_t)it->len;
  if (len > 0 && cap > 0)
    memcpy(buf, it->data, len < cap ? len : cap);
  if (lenp != NULL)
    *lenp = len;
  (void)tubo__objheap_free(&l->heap, off);
  return len > cap ? TUBO_ETRUNC : 0;
}

static int qlist_not_empty(void *arg)
{
  const tubo__queue_list_t *l = arg;
  return atomic_load_explicit(&l->sh->count, memory_order_seq_cst) != 0;
}

/* While asleep, a waiter on a queue opened on a communicator looks now and then at its
 * world: it gives up with TUBO_EPEER when a rank died (TUBO_EABORT when the job was
 * aborted). */
static int qlist_world_check(void *arg)
{
  tubo__queue_list_t *l = arg;
  if (l->comm == NULL || tubo__comm_check(l->comm) != 0)
    return 0;
  return tubo__world_health(l->comm->w);
}

static const tubo__objwait_watch_t *qlist_watch(tubo__queue_list_t *l)
{
  l->watch = (tubo__objwait_watch_t){qlist_world_check, l};
  return &l->watch;
}

/* ---- The unbounded kind of queue (queue.h) ---- */

static int list_put(tubo_queue_t *q, const void *item, size_t len, int timeout_ms)
{
  (void)timeout_ms; /* never full */
  return qlist_put(&q->list, item, len);
}

static int list_get(tubo_queue_t *q, void *buf, size_t cap, size_t *len, int timeout_ms)
{
  tubo__queue_list_t *l = &q->list;
  int rc = qlist_try_get(l, buf, cap, len);
  if (rc != 1)
    return rc;
  if (timeout_ms == 0)
    return TUBO_EEMPTY;
  tubo__deadline_t dl = tubo__deadline_in(timeout_ms);
  for (;;) {
    int waited = tubo__objwait_until(&l->sh->not_empty, 0, qlist_not_empty, l, dl, qlist_watch(l));
    rc = qlist_try_get(l, buf, cap, len);
    if (rc != 1)
      return rc;
    if (waited != 0)
      return waited;
  }
}

static int list_count(const tubo_queue_t *q, uint64_t *n)
{
  *n = atomic_load_explicit(&q->list.sh->count, memory_order_acquire);
  return 0;
}

static int list_task_done(tubo_queue_t *q)
{
  return tubo__queue_tasks_done(&q->list.sh->unfinished, &q->list.sh->all_done);
}

static int list_join(tubo_queue_t *q, int timeout_ms)
{
  tubo__queue_list_t *l = &q->list;
  return tubo__queue_tasks_join(&l->sh->unfinished, &l->sh->all_done, timeout_ms, qlist_watch(l));
}

/* Frees every item (the last process using the queue). */
static void qlist_empty(tubo__queue_list_t *l)
{
  uint64_t off = atomic_exchange(&l->sh->first, 0);
  atomic_store(&l->sh->last, 0);
  atomic_store(&l->sh->count, 0);
  while (off != 0) {
    qlist_item_t *it = qlist_item(l, off);
    if (it == NULL)
      break; /* the rest is lost, not followed */
    uint64_t next = atomic_load(&it->next);
    (void)tubo__objheap_free(&l->heap, off);
    off = next;
  }
}

static int list_free(tubo_queue_t *q)
{
  tubo__queue_list_t *l = &q->list;
  if (l->sh == NULL)
    return 0;
  tubo__lock_drop(&l->sh->lock);
  if (l->owner != 0) {
    if (l->owner == getpid()) {
      qlist_empty(l);
      atomic_store(&l->sh->ident, 0);
      (void)tubo__objheap_free(&l->heap, l->off);
    }
  } else if (tubo__objmem_release_last(&l->mem)) {
    qlist_empty(l);
    tubo__objmem_free_block(&l->mem);
  }
  l->sh = NULL;
  return 0;
}

const tubo__queue_ops_t tubo__queue_list_ops = {list_put,       list_get,  list_count,
                                                list_task_done, list_join, list_free};

/* ---- Making and opening ---- */

static int qlist_args(size_t item_max, unsigned flags)
{
  if (item_max == 0 || (flags & ~TUBO_QUEUE_JOINABLE) != 0)
    return TUBO_EINVAL;
  return item_max > TUBO__HEAP_MAX - sizeof(qlist_item_t) ? TUBO_ETOOBIG : 0;
}

static int qlist_make_at(const tubo__objheap_t *heap, uint64_t off, void *core)
{
  tubo__queue_list_t *l = core;
  l->heap = *heap;
  l->off = off;
  l->sh = tubo__objheap_at(heap, off, sizeof *l->sh);
  if (l->sh == NULL)
    return TUBO_ECORRUPT;
  memset(l->sh, 0, sizeof *l->sh);
  atomic_store(&l->sh->config, l->config);
  atomic_store(&l->sh->ident, QLIST_IDENT);
  return 0;
}

static int qlist_attach(const tubo__objheap_t *heap, uint64_t off, void *core)
{
  tubo__queue_list_t *l = core;
  l->heap = *heap;
  l->off = off;
  l->sh = tubo__objheap_at(heap, off, sizeof *l->sh);
  if (l->sh == NULL || atomic_load(&l->sh->ident) != QLIST_IDENT)
    return TUBO_ECORRUPT;
  return 0;
}

static void qlist_kind_empty(void *core)
{
  qlist_empty(core);
}

static const tubo__objheap_kind_t qlist_kind = {sizeof(qlist_head_t), qlist_make_at, qlist_attach,
                                                qlist_kind_empty};

static void qlist_init(size_t item_max, unsigned flags, tubo__queue_list_t *l)
{
  *l = (tubo__queue_list_t){0};
  l->item_max = item_max;
  l->flags = flags;
  l->config = qlist_config(item_max, flags);
}

int tubo__queue_list_create(size_t item_max, unsigned flags, tubo__queue_list_t *l)
{
  int rc = qlist_args(item_max, flags);
  if (rc != 0)
    return rc;
  qlist_init(item_max, flags, l);
  tubo__objheap_t heap;
  if ((rc = tubo__objheap_process(&heap)) != 0)
    return rc;
  uint64_t off;
  if ((rc = tubo__objheap_alloc(&heap, sizeof(qlist_head_t), 0, &off)) != 0)
    return rc == TUBO_EINVAL ? TUBO_ESHM : rc;
  if ((rc = qlist_make_at(&heap, off, l)) != 0) {
    (void)tubo__objheap_free(&heap, off);
    return rc;
  }
  l->owner = getpid();
  return 0;
}

int tubo__queue_list_open(tubo_comm_t *comm, size_t item_max, unsigned flags, tubo__queue_list_t *l)
{
  int rc = qlist_args(item_max, flags);
  if (rc != 0)
    return rc;
  qlist_init(item_max, flags, l);
  rc = tubo__objheap_open(comm, &qlist_kind, l, &l->mem);
  if (rc == 1)
    return tubo__queue_list_create(item_max, flags, l);
  if (rc != 0)
    return rc;
  l->comm = comm;
  /* The first rank recorded its arguments: a rank whose arguments differ lets go. */
  if (atomic_load(&l->sh->config) != l->config) {
    if (tubo__objmem_release_last(&l->mem)) {
      qlist_empty(l);
      tubo__objmem_free_block(&l->mem);
    }
    return TUBO_EINVAL;
  }
  return 0;
}
