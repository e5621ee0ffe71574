/* SPDX-License-Identifier: MIT */
/* The ring of a Queue in shared memory (queue_ring.h, queue_layout.h).
 *
 * The ring is Vyukov's: each cell has a turn, and a process claims a position by a
 * compare-and-swap on the tail (put) or the head (get) only once the cell at that position
 * is ready for it, fills or empties the cell, then hands it on by advancing its turn.
 * Positions are claimed in order, so items come out in the order their positions were
 * claimed: one producer's items in the order it put them, each exactly once. Processes
 * that find the ring full or empty wait in objwait.h (spin, then futex); whoever hands
 * a cell on wakes them only when one is recorded. */
#include "config.h"

#include <string.h>

#include "os/os.h"
#include "patterns/queue.h"
#include "patterns/queue_layout.h"
#include "patterns/queue_ring.h"
#include "patterns/objmem.h"
#include "patterns/objwait.h"
#include "settings.h"
#include "tubo.h"
#include "world.h"

/* ---- Layout ---- */

/* A non-zero summary of the arguments, so that ranks opening one queue with different
 * arguments find out. */
static uint64_t queue_config(uint64_t capacity, uint64_t item_max, unsigned flags)
{
  uint64_t h = 0xcbf29ce484222325ull;
  uint64_t parts[3] = {capacity, item_max, flags};
  for (int i = 0; i < 3; i++) {
    h ^= parts[i];
    h *= 0x100000001b3ull;
    h ^= h >> 31;
  }
  return h | 1;
}

/* Checks the arguments and computes the cell stride and the bytes of shared memory. */
static int queue_layout(size_t capacity, size_t item_max, unsigned flags, uint64_t *stride,
                        size_t *bytes)
{
  if (capacity == 0 || item_max == 0 || (flags & ~TUBO_QUEUE_JOINABLE) != 0)
    return TUBO_EINVAL;
  if (item_max > UINT32_MAX - sizeof(queue_cell_t) - QUEUE_CELL_ALIGN)
    return TUBO_ETOOBIG; /* cells record lengths in 32 bits */
  uint64_t s = (sizeof(queue_cell_t) + item_max + QUEUE_CELL_ALIGN - 1) / QUEUE_CELL_ALIGN *
               QUEUE_CELL_ALIGN;
  if (capacity > (SIZE_MAX - QUEUE_CELLS) / s)
    return TUBO_ETOOBIG;
  *stride = s;
  *bytes = QUEUE_CELLS + capacity * s;
  return 0;
}

int tubo__queue_ring_check(size_t capacity, size_t item_max, unsigned flags)
{
  uint64_t stride;
  size_t bytes;
  return queue_layout(capacity, item_max, flags, &stride, &bytes);
}

/* Whether this process must publish with a fence of its own: unless it registered for
 * asymmetric fences (processes forked later inherit the registration with the memory) and
 * the setting the shared-memory transport follows allows them. */
static int queue_fence_needed(void)
{
  if (tubo__setting_u64("TUBO_SHM_ASYM_FENCE", 1, 0, 1) == 0)
    return 1;
  return tubo__os_fence_register() != 0;
}

static void queue_ring_fill(tubo__queue_ring_t *r, tubo__objmem_t *mem, size_t capacity,
                            size_t item_max, unsigned flags, uint64_t stride, int fence)
{
  *r = (tubo__queue_ring_t){0};
  r->mem = *mem;
  r->sh = mem->base;
  r->cells = (unsigned char *)mem->base + QUEUE_CELLS;
  r->capacity = capacity;
  r->stride = stride;
  r->item_max = item_max;
  r->flags = flags;
  r->fence = fence;
  r->shift = -1;
  if ((capacity & (capacity - 1)) == 0)
    r->shift = __builtin_ctzll(capacity);
}

int tubo__queue_ring_create(size_t capacity, size_t item_max, unsigned flags, tubo__queue_ring_t *r)
{
  uint64_t stride;
  size_t bytes;
  int rc = queue_layout(capacity, item_max, flags, &stride, &bytes);
  if (rc != 0)
    return rc;
  tubo__objmem_t mem;
  rc = tubo__objmem_anon(bytes, &mem);
  if (rc != 0)
    return rc;
  queue_shared_t *sh = mem.base;
  atomic_store_explicit(&sh->config, queue_config(capacity, item_max, flags), memory_order_relaxed);
  queue_ring_fill(r, &mem, capacity, item_max, flags, stride, queue_fence_needed());
  return 0;
}

int tubo__queue_ring_open(tubo_comm_t *comm, size_t capacity, size_t item_max, unsigned flags,
                          tubo__queue_ring_t *r)
{
  uint64_t stride;
  size_t bytes;
  int rc = queue_layout(capacity, item_max, flags, &stride, &bytes);
  if (rc != 0)
    return rc;
  tubo__objmem_t mem;
  rc = tubo__objmem_comm(comm, bytes, &mem);
  if (rc == TUBO_EINVAL) {
    /* This rank asked for another size than rank 0: it still meets the others at their
     * barrier below, so that none of them waits there for it. */
    tubo__barrier(comm);
    return rc;
  }
  if (rc != 0)
    return rc;
  /* Zeroed memory is an empty queue: the first rank here records the arguments, the
   * others check theirs against them. Asymmetric fences only if every rank may use them:
   * each says so before the barrier, and all decide after it. Every rank reaches the
   * barrier, also one whose arguments differ, so that none waits there for ever. */
  queue_shared_t *sh = mem.base;
  uint64_t want = queue_config(capacity, item_max, flags), seen = 0;
  int differ = !atomic_compare_exchange_strong(&sh->config, &seen, want) && seen != want;
  if (queue_fence_needed())
    atomic_store(&sh->fence_denied, 1);
  rc = tubo__barrier(comm);
  if (rc == 0 && differ)
    rc = TUBO_EINVAL;
  if (rc != 0) {
    tubo__objmem_release(&mem);
    return rc;
  }
  int fence = atomic_load(&sh->fence_denied) != 0;
  queue_ring_fill(r, &mem, capacity, item_max, flags, stride, fence);
  r->comm = comm;
  return 0;
}

void tubo__queue_ring_release(tubo__queue_ring_t *r)
{
  tubo__objmem_release(&r->mem);
  r->sh = NULL;
  r->cells = NULL;
}

queue_shared_t *tubo__queue_shared(const tubo_queue_t *q, size_t *stride)
{
  *stride = (size_t)q->ring.stride;
  return q->ring.sh;
}

int tubo__queue_fences(const tubo_queue_t *q)
{
  return q->ring.fence;
}

/* ---- The ring ---- */

static inline queue_cell_t *queue_cell(const tubo__queue_ring_t *q, uint64_t pos, uint64_t *lap)
{
  uint64_t l, i;
  if (q->shift >= 0) {
    l = pos >> q->shift;
    i = pos & (q->capacity - 1);
  } else {
    l = pos / q->capacity;
    i = pos - l * q->capacity;
  }
  *lap = l;
  return (queue_cell_t *)(q->cells + i * q->stride);
}

/* Copies an item; the usual small sizes without a call. */
static inline void queue_copy(void *dst, const void *src, size_t n)
{
  if (n == 8) {
    uint64_t v;
    memcpy(&v, src, 8);
    memcpy(dst, &v, 8);
  } else if (n != 0) {
    memcpy(dst, src, n);
  }
}

/* How far a cell's turn may lag the turn a put or get at the counter waits for: by one
 * side's work of the lap before still under way (a get still copying the previous item
 * out, a put still copying it in). A turn further behind, or ahead of the counter, is
 * nothing a process following the protocol can leave. */
#define QUEUE_TURN_LAG 2

/* Claims the position the next put or get may take (at *pos in the shared counter at),
 * once its cell's turn is want. Returns the cell; NULL with *rc set to 1 when the cell is
 * not ready yet (full or empty), or TUBO_ECORRUPT when the turn is ahead of the counter or
 * lags it more than QUEUE_TURN_LAG. */
static queue_cell_t *queue_claim(const tubo__queue_ring_t *q, _Atomic uint64_t *at, uint64_t odd,
                                 uint64_t *claimed, int *rc)
{
  uint64_t pos = atomic_load_explicit(at, memory_order_relaxed);
  for (;;) {
    uint64_t lap;
    queue_cell_t *c = queue_cell(q, pos, &lap);
    uint64_t want = 2 * lap + odd;
    uint64_t turn = atomic_load_explicit(&c->turn, memory_order_acquire);
    int64_t d = (int64_t)(turn - want);
    if (d == 0) {
      if (atomic_compare_exchange_weak_explicit(at, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed)) {
        *claimed = want;
        return c;
      }
    } else if (d < 0) {
      *rc = d < -QUEUE_TURN_LAG ? TUBO_ECORRUPT : 1;
      return NULL;
    } else {
      /* Someone took this position since we read the counter: read it again. If it
       * has not moved, the turn ran ahead of it. */
      uint64_t now = atomic_load_explicit(at, memory_order_relaxed);
      if (now == pos) {
        *rc = TUBO_ECORRUPT;
        return NULL;
      }
      pos = now;
    }
  }
}

/* Hands a cell on (its next turn), then wakes whoever waits for that. */
static inline void queue_hand_on(const tubo__queue_ring_t *q, queue_cell_t *c, uint64_t turn,
                                 tubo__objwait_t *w)
{
  atomic_store_explicit(&c->turn, turn, memory_order_release);
  if (q->fence)
    atomic_thread_fence(memory_order_seq_cst);
  else
    atomic_signal_fence(memory_order_seq_cst); /* sleepers fence for us */
  tubo__objwait_wake(w);
}

/* One attempt to put: 0, 1 when full, or an error. The attempts are inlined into the
 * calls that make them, so that the table's call is the only one a put or a get adds to
 * the public call's. */
static inline __attribute__((always_inline)) int queue_try_put(tubo__queue_ring_t *q,
                                                               const void *item, size_t len)
{
  uint64_t turn;
  int rc = 0;
  queue_cell_t *c = queue_claim(q, &q->sh->tail, 0, &turn, &rc);
  if (c == NULL)
    return rc;
  /* Counted before anyone can get it, so that its task_done never finds zero. */
  if (q->flags & TUBO_QUEUE_JOINABLE)
    atomic_fetch_add_explicit(&q->sh->unfinished, 1, memory_order_relaxed);
  c->len = (uint32_t)len;
  queue_copy(c->data, item, len);
  queue_hand_on(q, c, turn + 1, &q->sh->not_empty);
  return 0;
}

/* One attempt to get: 0, 1 when empty, or an error. */
static inline __attribute__((always_inline)) int queue_try_get(tubo__queue_ring_t *q, void *buf,
                                                               size_t cap, size_t *lenp)
{
  uint64_t turn;
  int rc = 0;
  queue_cell_t *c = queue_claim(q, &q->sh->head, 1, &turn, &rc);
  if (c == NULL)
    return rc;
  uint32_t len = c->len;
  if (len > q->item_max) {
    rc = TUBO_ECORRUPT;
    len = 0;
  } else if (len > cap) {
    rc = TUBO_ETRUNC;
  }
  queue_copy(buf, c->data, len < cap ? len : cap);
  if (lenp != NULL)
    *lenp = len;
  queue_hand_on(q, c, turn + 1, &q->sh->not_full);
  return rc;
}

/* Whether the cell at the counter at may be taken by the side whose turn parity is odd
 * (or the counter moved on): the wait condition of a put (odd 0) or a get (odd 1). */
static int queue_ready(const tubo__queue_ring_t *q, _Atomic uint64_t *at, uint64_t odd)
{
  uint64_t pos = atomic_load_explicit(at, memory_order_seq_cst);
  uint64_t lap;
  queue_cell_t *c = queue_cell(q, pos, &lap);
  uint64_t turn = atomic_load_explicit(&c->turn, memory_order_seq_cst);
  int64_t d = (int64_t)(turn - (2 * lap + odd));
  /* A turn that cannot be counts as ready: the attempt that follows reports it. */
  return d >= 0 || d < -QUEUE_TURN_LAG;
}

static int queue_put_ready(void *arg)
{
  tubo__queue_ring_t *q = arg;
  return queue_ready(q, &q->sh->tail, 0);
}

static int queue_get_ready(void *arg)
{
  tubo__queue_ring_t *q = arg;
  return queue_ready(q, &q->sh->head, 1);
}

/* ---- The calls ---- */

/* A put or a get to try again after waiting, with its arguments. */
typedef struct queue_op {
  tubo__queue_ring_t *q;
  const void *item; /* put */
  size_t len;
  void *buf; /* get */
  size_t cap;
  size_t *lenp;
} queue_op_t;

static int queue_op_put(queue_op_t *o)
{
  return queue_try_put(o->q, o->item, o->len);
}

static int queue_op_get(queue_op_t *o)
{
  return queue_try_get(o->q, o->buf, o->cap, o->lenp);
}

/* Whether the shared counters can be what processes following the protocol leave: a get
 * claims only what a put filled (head <= tail), a put only a cell a get emptied (tail <=
 * head + capacity), and a JoinableQueue's unfinished items were put. Each bound is read
 * in the order that makes it hold at any moment. Returns 0 or TUBO_ECORRUPT. */
static int queue_sane(const tubo__queue_ring_t *q)
{
  uint64_t head = atomic_load_explicit(&q->sh->head, memory_order_seq_cst);
  uint64_t tail = atomic_load_explicit(&q->sh->tail, memory_order_seq_cst);
  if (head > tail)
    return TUBO_ECORRUPT;
  tail = atomic_load_explicit(&q->sh->tail, memory_order_seq_cst);
  head = atomic_load_explicit(&q->sh->head, memory_order_seq_cst);
  if (tail - head > q->capacity && tail > head)
    return TUBO_ECORRUPT;
  if (q->flags & TUBO_QUEUE_JOINABLE) {
    uint64_t unfinished = atomic_load_explicit(&q->sh->unfinished, memory_order_seq_cst);
    if (unfinished > atomic_load_explicit(&q->sh->tail, memory_order_seq_cst))
      return TUBO_ECORRUPT;
  }
  return 0;
}

/* While asleep, a waiter looks now and then at the counters (anyone sharing the memory
 * can write them: a forged count must not hold it for ever) and, for a queue opened on a
 * communicator, at the communicator's world: it gives up with TUBO_ECORRUPT, or with
 * TUBO_EPEER when a rank died (TUBO_EABORT when the job was aborted). */
static int queue_world_check(void *arg)
{
  tubo__queue_ring_t *q = arg;
  int rc = queue_sane(q);
  if (rc != 0 || q->comm == NULL || tubo__comm_check(q->comm) != 0)
    return rc;                       /* no world, or it was left: nothing more to watch */
  tubo__blocked_publish(q->comm->w); /* asleep: say in which call (queue_wait_named) */
  return tubo__world_health(q->comm->w);
}

/* Runs one of the waits below as the public call fn, for what the rank says it is blocked
 * in (world.h): only a queue opened on a communicator has a world to say it in. */
typedef struct queue_named {
  tubo__world_t *w;
  tubo__call_t was;
} queue_named_t;

static queue_named_t queue_wait_named(const tubo__queue_ring_t *q, const char *fn)
{
  queue_named_t n = {NULL, {0}};
  if (q->comm != NULL && tubo__comm_check(q->comm) == 0) {
    n.w = q->comm->w;
    n.was = tubo__call_enter(n.w, fn, q->comm, TUBO__BLK_NOPEER, 0, 0, 0);
  }
  return n;
}

static int queue_wait_done(queue_named_t n, int rc)
{
  if (n.w != NULL) {
    tubo__blocked_clear(n.w);
    tubo__call_leave(n.w, n.was);
  }
  return rc;
}

static const tubo__objwait_watch_t *queue_watch(tubo__queue_ring_t *q)
{
  q->watch = (tubo__objwait_watch_t){queue_world_check, q};
  return &q->watch;
}

/* After a first attempt found the ring not ready: waits on w until ready says it may be,
 * tries again, and so on until the attempt is made or the timeout passes. now_rc is the
 * answer when the timeout is 0. */
static int queue_retry(queue_op_t *o, int (*attempt)(queue_op_t *), tubo__objwait_t *w,
                       int (*ready)(void *), int timeout_ms, int now_rc)
{
  if (timeout_ms == 0)
    return now_rc;
  tubo__deadline_t dl = tubo__deadline_in(timeout_ms);
  for (;;) {
    int waited = tubo__objwait_until(w, !o->q->fence, ready, o->q, dl, queue_watch(o->q));
    int rc = attempt(o);
    if (rc != 1)
      return rc;
    if (waited != 0)
      return waited;
  }
}

/* The waits of a put and a get that found the ring full or empty, apart from the
 * attempts: a first attempt that succeeds then saves no registers for them. */
static __attribute__((noinline)) int queue_put_wait(tubo__queue_ring_t *q, const void *item,
                                                    size_t len, int timeout_ms)
{
  queue_op_t o = {q, item, len, NULL, 0, NULL};
  queue_named_t n = queue_wait_named(q, "tubo_queue_put");
  return queue_wait_done(
      n, queue_retry(&o, queue_op_put, &q->sh->not_full, queue_put_ready, timeout_ms, TUBO_EFULL));
}

static __attribute__((noinline)) int queue_get_wait(tubo__queue_ring_t *q, void *buf, size_t cap,
                                                    size_t *len, int timeout_ms)
{
  queue_op_t o = {q, NULL, 0, buf, cap, len};
  queue_named_t n = queue_wait_named(q, "tubo_queue_get");
  return queue_wait_done(n, queue_retry(&o, queue_op_get, &q->sh->not_empty, queue_get_ready,
                                        timeout_ms, TUBO_EEMPTY));
}

int tubo__queue_ring_put(tubo__queue_ring_t *q, const void *item, size_t len, int timeout_ms)
{
  int rc = queue_try_put(q, item, len);
  return rc != 1 ? rc : queue_put_wait(q, item, len, timeout_ms);
}

int tubo__queue_ring_get(tubo__queue_ring_t *q, void *buf, size_t cap, size_t *len, int timeout_ms)
{
  int rc = queue_try_get(q, buf, cap, len);
  return rc != 1 ? rc : queue_get_wait(q, buf, cap, len, timeout_ms);
}

/* Items claimed by puts and not yet by gets, at most the capacity. */
uint64_t tubo__queue_ring_count(const tubo__queue_ring_t *q)
{
  uint64_t head = atomic_load_explicit(&q->sh->head, memory_order_acquire);
  uint64_t tail = atomic_load_explicit(&q->sh->tail, memory_order_acquire);
  if (tail <= head)
    return 0;
  return tail - head > q->capacity ? q->capacity : tail - head;
}

int tubo__queue_tasks_done(_Atomic uint64_t *unfinished, tubo__objwait_t *all_done)
{
  uint64_t n = atomic_load_explicit(unfinished, memory_order_relaxed);
  do {
    if (n == 0)
      return TUBO_EINVAL;
  } while (!atomic_compare_exchange_weak_explicit(unfinished, &n, n - 1, memory_order_seq_cst,
                                                  memory_order_relaxed));
  if (n == 1) {
    atomic_thread_fence(memory_order_seq_cst); /* orders the count before the wake's look */
    tubo__objwait_wake(all_done);
  }
  return 0;
}

static int queue_all_done(void *arg)
{
  _Atomic uint64_t *unfinished = arg;
  return atomic_load_explicit(unfinished, memory_order_seq_cst) == 0;
}

int tubo__queue_tasks_join(_Atomic uint64_t *unfinished, tubo__objwait_t *all_done, int timeout_ms,
                           const tubo__objwait_watch_t *watch)
{
  /* task_done fences on its own (joins are rare; task_done's last count rarer still). */
  return tubo__objwait_until(all_done, 0, queue_all_done, (void *)unfinished,
                             tubo__deadline_in(timeout_ms), watch);
}

int tubo__queue_ring_task_done(tubo__queue_ring_t *q)
{
  return tubo__queue_tasks_done(&q->sh->unfinished, &q->sh->all_done);
}

int tubo__queue_ring_join(tubo__queue_ring_t *q, int timeout_ms)
{
  queue_named_t n = queue_wait_named(q, "tubo_queue_join");
  return queue_wait_done(
      n, tubo__queue_tasks_join(&q->sh->unfinished, &q->sh->all_done, timeout_ms, queue_watch(q)));
}

/* ---- The shared-memory kind of queue (queue.h) ---- */

static int ring_put(tubo_queue_t *q, const void *item, size_t len, int timeout_ms)
{
  return tubo__queue_ring_put(&q->ring, item, len, timeout_ms);
}

static int ring_get(tubo_queue_t *q, void *buf, size_t cap, size_t *len, int timeout_ms)
{
  return tubo__queue_ring_get(&q->ring, buf, cap, len, timeout_ms);
}

static int ring_count(const tubo_queue_t *q, uint64_t *n)
{
  *n = tubo__queue_ring_count(&q->ring);
  return 0;
}

static int ring_task_done(tubo_queue_t *q)
{
  return tubo__queue_ring_task_done(&q->ring);
}

static int ring_join(tubo_queue_t *q, int timeout_ms)
{
  return tubo__queue_ring_join(&q->ring, timeout_ms);
}

static int ring_free(tubo_queue_t *q)
{
  tubo__queue_ring_release(&q->ring);
  return 0;
}

const tubo__queue_ops_t tubo__queue_ring_ops = {ring_put,       ring_get,  ring_count,
                                                ring_task_done, ring_join, ring_free};
