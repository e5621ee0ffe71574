/* SPDX-License-Identifier: MIT */
/* The channel engine (channel.h): queues of waiting guards, the ring, Alternation,
 * poison, retirement, and the repair after a process died holding a channel's lock.
 *
 * Every change under a lock is a short series of stores, each leaving the channel usable
 * if the process dies right after it: a message is in the ring once the count says so
 * (a message written to a slot past the count is a leak, never a message read twice); an
 * entry is in a queue once the previous entry (or the head) links it, and the queue's
 * tail is only a hint that the repair recomputes; a waiter is claimed by one
 * compare-and-swap. The process that takes a lock over from a dead holder (chan_repair)
 * walks both queues, cuts them at anything that does not check out, drops the entries of
 * waiters whose process is gone (nobody would take what they offer), recomputes the
 * tails, and checks the ring. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"
#include "patterns/channel.h"

void (*tubo__chan_step_hook)(enum tubo__chan_step step);

static inline void chan_step(enum tubo__chan_step s)
{
  if (__builtin_expect(tubo__chan_step_hook != NULL, 0))
    tubo__chan_step_hook(s);
}

static inline uint64_t ld64(_Atomic uint64_t *p)
{
  return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void st64(_Atomic uint64_t *p, uint64_t v)
{
  atomic_store_explicit(p, v, memory_order_relaxed);
}

static inline uint32_t ld32(_Atomic uint32_t *p)
{
  return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void st32(_Atomic uint32_t *p, uint32_t v)
{
  atomic_store_explicit(p, v, memory_order_relaxed);
}

/* ---- Checked access ---- */

const chan_msg_t *tubo__ccore_msg_at(const tubo__objheap_t *mem, uint64_t off, size_t *len)
{
  chan_msg_t *m = tubo__objheap_at(mem, off, sizeof *m);
  if (m == NULL || ld64(&m->ident) != tubo__objheap_ident(CHAN_ID_MSG, off))
    return NULL;
  uint64_t n = ld64(&m->len);
  if (n > TUBO__HEAP_MAX || n > SIZE_MAX || tubo__objheap_at(mem, off, sizeof *m + n) == NULL)
    return NULL;
  *len = (size_t)n;
  return m;
}

static chan_waiter_t *chan_waiter_at(const tubo__objheap_t *mem, uint64_t off)
{
  chan_waiter_t *w = tubo__objheap_at(mem, off, sizeof *w);
  if (w == NULL || ld64(&w->ident) != tubo__objheap_ident(CHAN_ID_WAIT, off))
    return NULL;
  uint32_t n = w->cap;
  if (n > (1u << 20) || w->nentries > n ||
      tubo__objheap_at(mem, off, sizeof *w + n * sizeof(chan_entry_t)) == NULL)
    return NULL;
  return w;
}

/* The entry at off: inside the waiter it names, at one of its entries' places. */
static chan_entry_t *chan_entry_at(const tubo__objheap_t *mem, uint64_t off, chan_waiter_t **wp)
{
  chan_entry_t *e = tubo__objheap_at(mem, off, sizeof *e);
  if (e == NULL)
    return NULL;
  uint64_t woff = ld64(&e->waiter);
  chan_waiter_t *w = chan_waiter_at(mem, woff);
  if (w == NULL || off < woff + sizeof *w || (off - woff - sizeof *w) % sizeof *e != 0 ||
      (off - woff - sizeof *w) / sizeof *e >= w->nentries)
    return NULL;
  *wp = w;
  return e;
}

static chan_end_t *chan_end_at(const tubo__objheap_t *mem, uint64_t off)
{
  chan_end_t *e = tubo__objheap_at(mem, off, sizeof *e);
  if (e == NULL || ld64(&e->ident) != tubo__objheap_ident(CHAN_ID_END, off))
    return NULL;
  return e;
}

/* ---- Claiming and waking waiters ---- */

/* The waiters claimed under a lock, woken once it is released (so that a woken process
 * does not find the lock still taken). Process-local: one process's calls never run at
 * once (tubo.h). */
static chan_waiter_t **chan_wakes;
static size_t chan_nwakes, chan_wakes_cap;

static void chan_wake_later(chan_waiter_t *w)
{
  if (chan_nwakes == chan_wakes_cap) {
    size_t cap = chan_wakes_cap ? 2 * chan_wakes_cap : 16;
    chan_waiter_t **p = realloc(chan_wakes, cap * sizeof *p);
    if (p == NULL) {
      /* No room to remember it: wake it now, under the lock. */
      atomic_thread_fence(memory_order_seq_cst);
      tubo__objwait_wake(&w->wake);
      return;
    }
    chan_wakes = p;
    chan_wakes_cap = cap;
  }
  chan_wakes[chan_nwakes++] = w;
}

/* Wakes the waiters claimed so far: their blocks are never freed (channel.h), so this is
 * safe whatever their owners did since. */
static void chan_wake_all(void)
{
  if (chan_nwakes == 0)
    return;
  atomic_thread_fence(memory_order_seq_cst); /* the claims before the looks for sleepers */
  for (size_t i = 0; i < chan_nwakes; i++)
    tubo__objwait_wake(&chan_wakes[i]->wake);
  chan_nwakes = 0;
}

/* Claims w: 1 when this process won it (it waited, and nobody else claimed it). */
static int chan_claim(chan_waiter_t *w)
{
  uint32_t want = CHAN_WAITING;
  return atomic_compare_exchange_strong(&w->state, &want, CHAN_CLAIMING);
}

/* Tells a claimed waiter what fired: its guard, the result, a message for an input; it
 * is woken once the lock is released. */
static void chan_fire(chan_waiter_t *w, const chan_entry_t *e, int rc, uint64_t msg)
{
  chan_step(TUBO__CHAN_S_CLAIMED);
  st32(&w->fired, ld32((_Atomic uint32_t *)&e->guard));
  atomic_store_explicit(&w->rc, rc, memory_order_relaxed);
  st64(&w->msg, msg);
  atomic_store_explicit(&w->state, CHAN_DONE, memory_order_release);
  chan_wake_later(w);
}

/* ---- Queues (under the channel's lock) ---- */

static void chan_q_push(tubo__ccore_t *c, _Atomic uint64_t *q, uint64_t eoff, chan_entry_t *e)
{
  st64(&e->next, 0);
  st32(&e->linked, 1);
  chan_waiter_t *tw;
  uint64_t tail = ld64(&q[1]);
  chan_entry_t *t = tail != 0 ? chan_entry_at(&c->mem, tail, &tw) : NULL;
  if (t != NULL && ld32(&t->linked))
    st64(&t->next, eoff);
  else
    st64(&q[0], eoff);
  st64(&q[1], eoff);
}

/* Unlinks the entry at eoff from q, if it is there. */
static void chan_q_unlink(tubo__ccore_t *c, _Atomic uint64_t *q, uint64_t eoff, chan_entry_t *e)
{
  uint64_t prev = 0, cur = ld64(&q[0]);
  chan_entry_t *pe = NULL;
  for (unsigned n = 0; cur != 0 && n < (1u << 24); n++) {
    chan_waiter_t *w;
    chan_entry_t *ce = chan_entry_at(&c->mem, cur, &w);
    if (ce == NULL)
      break;
    if (cur == eoff) {
      uint64_t next = ld64(&ce->next);
      if (pe != NULL)
        st64(&pe->next, next);
      else
        st64(&q[0], next);
      if (ld64(&q[1]) == eoff)
        st64(&q[1], prev);
      break;
    }
    prev = cur;
    pe = ce;
    cur = ld64(&ce->next);
  }
  st32(&e->linked, 0);
}

/* Takes the first entry of q whose waiter it can claim, unlinking the entries of waiters
 * claimed already (an Alternation chosen elsewhere). Returns the entry, or NULL. */
static chan_entry_t *chan_q_claim(tubo__ccore_t *c, _Atomic uint64_t *q, chan_waiter_t **wp)
{
  for (;;) {
    uint64_t head = ld64(&q[0]);
    if (head == 0)
      return NULL;
    chan_waiter_t *w;
    chan_entry_t *e = chan_entry_at(&c->mem, head, &w);
    if (e == NULL) {
      /* Not an entry: the queue is cut here; its waiters' owners unlink themselves. */
      st64(&q[0], 0);
      st64(&q[1], 0);
      return NULL;
    }
    chan_q_unlink(c, q, head, e);
    if (chan_claim(w)) {
      *wp = w;
      return e;
    }
  }
}

/* Claims every waiter of q with rc (a poison, a retirement). */
static void chan_q_fire_all(tubo__ccore_t *c, _Atomic uint64_t *q, int rc)
{
  chan_waiter_t *w;
  chan_entry_t *e;
  while ((e = chan_q_claim(c, q, &w)) != NULL)
    chan_fire(w, e, rc, 0);
}

/* ---- The ring (under the lock) ---- */

static inline uint64_t chan_count(uint64_t pos)
{
  return pos & 0xffffffffu;
}

static void chan_ring_push(tubo__ccore_t *c, uint64_t msg)
{
  chan_shared_t *sh = c->sh;
  uint64_t pos = ld64(&sh->ring_pos), head = pos >> 32, n = chan_count(pos);
  st64(&sh->ring[(head + n) % sh->capacity], msg);
  atomic_store_explicit(&sh->ring_pos, head << 32 | (n + 1), memory_order_release);
}

static uint64_t chan_ring_pop(tubo__ccore_t *c)
{
  chan_shared_t *sh = c->sh;
  uint64_t pos = ld64(&sh->ring_pos), head = pos >> 32, n = chan_count(pos);
  uint64_t msg = ld64(&sh->ring[head]);
  atomic_store_explicit(&sh->ring_pos, ((head + 1) % sh->capacity) << 32 | (n - 1),
                        memory_order_release);
  st64(&sh->ring[head], 0);
  return msg;
}

/* Frees every message of the ring (a poison, a retirement by the readers). */
static void chan_ring_drop(tubo__ccore_t *c)
{
  while (chan_count(ld64(&c->sh->ring_pos)) > 0) {
    uint64_t m = chan_ring_pop(c);
    if (m != 0)
      (void)tubo__objheap_free(&c->mem, m);
  }
}

/* ---- Repair ---- */

/* Rebuilds queue q: cut at the first thing that does not check out, without the entries
 * of dead processes' waiters, its tail recomputed. */
static void chan_q_repair(tubo__ccore_t *c, _Atomic uint64_t *q)
{
  uint64_t cur = ld64(&q[0]), last = 0;
  chan_entry_t *le = NULL;
  st64(&q[0], 0);
  for (unsigned n = 0; cur != 0 && n < (1u << 24); n++) {
    chan_waiter_t *w;
    chan_entry_t *e = chan_entry_at(&c->mem, cur, &w);
    if (e == NULL)
      break;
    uint64_t next = ld64(&e->next);
    int keep = ld32(&w->state) == CHAN_WAITING && tubo__os_pid_alive((pid_t)w->pid);
    if (!keep && chan_claim(w))
      atomic_store(&w->state, CHAN_WITHDRAWN); /* a dead process's: nobody is to take it */
    if (keep) {
      if (le != NULL)
        st64(&le->next, cur);
      else
        st64(&q[0], cur);
      le = e;
      last = cur;
    } else {
      st32(&e->linked, 0);
    }
    cur = next;
  }
  if (le != NULL)
    st64(&le->next, 0);
  st64(&q[1], last);
}

static void chan_repair(tubo__ccore_t *c)
{
  chan_shared_t *sh = c->sh;
  chan_q_repair(c, sh->recvq);
  chan_q_repair(c, sh->sendq);
  uint64_t pos = ld64(&sh->ring_pos);
  if (sh->capacity == 0 || (pos >> 32) >= sh->capacity || chan_count(pos) > sh->capacity)
    st64(&sh->ring_pos, 0);
}

static void chan_lock(tubo__ccore_t *c)
{
  if (tubo__lock_take(&c->sh->lock) == TUBO_EPEER)
    chan_repair(c);
}

static void chan_unlock(tubo__ccore_t *c)
{
  (void)tubo__lock_release(&c->sh->lock);
  chan_wake_all();
}

/* ---- Making ---- */

size_t tubo__ccore_bytes(uint64_t capacity)
{
  if (capacity > TUBO__CHAN_CAP_MAX)
    return 0;
  return sizeof(chan_shared_t) + (size_t)capacity * sizeof(uint64_t);
}

int tubo__ccore_make_at(const tubo__objheap_t *mem, uint64_t off, uint64_t capacity,
                        tubo__ccore_t *c)
{
  size_t bytes = tubo__ccore_bytes(capacity);
  c->mem = *mem;
  c->off = off;
  c->sh = bytes ? tubo__objheap_at(mem, off, bytes) : NULL;
  if (c->sh == NULL)
    return TUBO_ECORRUPT;
  memset(c->sh, 0, bytes);
  c->sh->capacity = capacity;
  c->capacity = capacity;
  atomic_store_explicit(&c->sh->ident, tubo__objheap_ident(CHAN_ID_CHAN, off),
                        memory_order_release);
  return 0;
}

int tubo__ccore_make(const tubo__objheap_t *mem, uint64_t capacity, tubo__ccore_t *c)
{
  size_t bytes = tubo__ccore_bytes(capacity);
  if (bytes == 0)
    return TUBO_ETOOBIG;
  uint64_t off;
  int rc = tubo__objheap_alloc(mem, bytes, 0, &off);
  if (rc != 0)
    return rc;
  rc = tubo__ccore_make_at(mem, off, capacity, c);
  if (rc != 0)
    (void)tubo__objheap_free(mem, off);
  return rc;
}

int tubo__ccore_check(const tubo__ccore_t *c)
{
  if (c->sh == NULL || atomic_load_explicit(&c->sh->ident, memory_order_acquire) !=
                           tubo__objheap_ident(CHAN_ID_CHAN, c->off))
    return TUBO_ECORRUPT;
  return 0;
}

int tubo__ccore_attach(const tubo__objheap_t *mem, uint64_t off, tubo__ccore_t *c)
{
  c->mem = *mem;
  c->off = off;
  c->sh = tubo__objheap_at(mem, off, sizeof(chan_shared_t));
  int rc = tubo__ccore_check(c);
  size_t bytes = rc == 0 ? tubo__ccore_bytes(c->sh->capacity) : 0;
  if (rc == 0 && (bytes == 0 || tubo__objheap_at(mem, off, bytes) == NULL))
    rc = TUBO_ECORRUPT;
  if (rc == 0)
    c->capacity = c->sh->capacity;
  return rc;
}

void tubo__ccore_empty(tubo__ccore_t *c)
{
  if (tubo__ccore_check(c) != 0)
    return;
  chan_lock(c);
  chan_ring_drop(c);
  for (uint64_t e = ld64(&c->sh->ends); e != 0;) {
    chan_end_t *end = chan_end_at(&c->mem, e);
    if (end == NULL)
      break;
    uint64_t next = ld64(&end->next);
    st64(&end->ident, 0);
    (void)tubo__objheap_free(&c->mem, e);
    e = next;
  }
  st64(&c->sh->ends, 0);
  chan_unlock(c);
}

void tubo__ccore_destroy(tubo__ccore_t *c)
{
  if (tubo__ccore_check(c) != 0)
    return;
  tubo__ccore_empty(c);
  st64(&c->sh->ident, 0);
  (void)tubo__objheap_free(&c->mem, c->off);
  c->sh = NULL;
}

int tubo__ccore_msg_new(const tubo__objheap_t *mem, const void *data, size_t len, uint64_t *off)
{
  if (len > TUBO__HEAP_MAX - sizeof(chan_msg_t))
    return TUBO_ETOOBIG;
  int rc = tubo__objheap_alloc(mem, sizeof(chan_msg_t) + len, 0, off);
  if (rc != 0)
    return rc;
  chan_msg_t *m = tubo__objheap_at(mem, *off, sizeof *m + len);
  if (m == NULL) {
    (void)tubo__objheap_free(mem, *off);
    return TUBO_ECORRUPT;
  }
  st64(&m->len, len);
  if (len > 0)
    memcpy(m->data, data, len);
  atomic_store_explicit(&m->ident, tubo__objheap_ident(CHAN_ID_MSG, *off), memory_order_release);
  return 0;
}

/* ---- Ends, poison, retirement ---- */

int tubo__ccore_join(tubo__ccore_t *c, int writer, uint64_t *end)
{
  uint64_t off;
  int rc = tubo__objheap_alloc(&c->mem, sizeof(chan_end_t), TUBO__HEAP_ZERO, &off);
  if (rc != 0)
    return rc;
  chan_end_t *e = tubo__objheap_at(&c->mem, off, sizeof *e);
  if (e == NULL) {
    (void)tubo__objheap_free(&c->mem, off);
    return TUBO_ECORRUPT;
  }
  st32(&e->writer, writer != 0);
  st32(&e->retired, 0);
  st64(&e->ident, tubo__objheap_ident(CHAN_ID_END, off));
  chan_shared_t *sh = c->sh;
  chan_lock(c);
  if (ld32(&sh->poisoned))
    rc = TUBO_EPOISON;
  else if (ld32(&sh->retired))
    rc = TUBO_ERETIRED;
  if (rc == 0) {
    st64(&e->next, ld64(&sh->ends));
    st64(&sh->ends, off);
    _Atomic uint32_t *count = writer ? &sh->writers : &sh->readers;
    st32(count, ld32(count) + 1);
  }
  chan_unlock(c);
  if (rc != 0) {
    (void)tubo__objheap_free(&c->mem, off);
    return rc;
  }
  *end = off;
  return 0;
}

int tubo__ccore_end_retired(const tubo__ccore_t *c, uint64_t end)
{
  chan_end_t *e = chan_end_at(&c->mem, end);
  if (e == NULL)
    return TUBO_ECORRUPT;
  return ld32(&e->retired) != 0;
}

int tubo__ccore_retire(tubo__ccore_t *c, uint64_t end)
{
  chan_end_t *e = chan_end_at(&c->mem, end);
  if (e == NULL)
    return TUBO_ECORRUPT;
  uint32_t no = 0;
  if (!atomic_compare_exchange_strong(&e->retired, &no, 1))
    return TUBO_ERETIRED;
  int writer = ld32(&e->writer) != 0;
  chan_shared_t *sh = c->sh;
  chan_lock(c);
  _Atomic uint32_t *left = writer ? &sh->writers_left : &sh->readers_left;
  uint32_t n = ld32(left) + 1;
  st32(left, n);
  if (n == ld32(writer ? &sh->writers : &sh->readers) && !ld32(&sh->retired)) {
    /* The last of its kind: the channel retires, and whoever waits on it hears so. */
    st32(&sh->retired, writer ? CHAN_RETIRED_W : CHAN_RETIRED_R);
    if (!writer)
      chan_ring_drop(c);
    chan_q_fire_all(c, sh->recvq, TUBO_ERETIRED);
    chan_q_fire_all(c, sh->sendq, TUBO_ERETIRED);
  }
  chan_unlock(c);
  return 0;
}

int tubo__ccore_poison(tubo__ccore_t *c)
{
  chan_shared_t *sh = c->sh;
  chan_lock(c);
  st32(&sh->poisoned, 1);
  chan_ring_drop(c);
  chan_q_fire_all(c, sh->recvq, TUBO_EPOISON);
  chan_q_fire_all(c, sh->sendq, TUBO_EPOISON);
  chan_unlock(c);
  return 0;
}

/* ---- Reading and writing, once (under the lock) ---- */

/* A read: 1 with *msg taken, 0 when nothing is there, or why it cannot be. */
static int chan_try_read(tubo__ccore_t *c, uint64_t *msg)
{
  chan_shared_t *sh = c->sh;
  if (ld32(&sh->poisoned))
    return TUBO_EPOISON;
  uint32_t retired = ld32(&sh->retired);
  if (retired & CHAN_RETIRED_R)
    return TUBO_ERETIRED;
  chan_waiter_t *w;
  chan_entry_t *e;
  if (sh->capacity > 0 && chan_count(ld64(&sh->ring_pos)) > 0) {
    *msg = chan_ring_pop(c);
    /* The slot it left takes a waiting writer's message. */
    if ((e = chan_q_claim(c, sh->sendq, &w)) != NULL) {
      chan_ring_push(c, ld64(&e->msg));
      chan_fire(w, e, 0, 0);
    }
    return 1;
  }
  if ((e = chan_q_claim(c, sh->sendq, &w)) != NULL) {
    *msg = ld64(&e->msg);
    chan_fire(w, e, 0, 0);
    return 1;
  }
  return retired ? TUBO_ERETIRED : 0;
}

/* A write of the message at msg: 1 once it is handed over or in the ring (it is not the
 * writer's any more), 0 when no reader and no room is there, or why it cannot be. */
static int chan_try_write(tubo__ccore_t *c, uint64_t msg)
{
  chan_shared_t *sh = c->sh;
  if (ld32(&sh->poisoned))
    return TUBO_EPOISON;
  if (ld32(&sh->retired))
    return TUBO_ERETIRED;
  chan_waiter_t *w;
  chan_entry_t *e = chan_q_claim(c, sh->recvq, &w);
  if (e != NULL) {
    chan_fire(w, e, 0, msg);
    return 1;
  }
  if (chan_count(ld64(&sh->ring_pos)) < sh->capacity) {
    chan_ring_push(c, msg);
    return 1;
  }
  return 0;
}

/* ---- Alternation ---- */

static int calt_cmp(const void *x, const void *y)
{
  const tubo__ccore_t *a = *(tubo__ccore_t *const *)x, *b = *(tubo__ccore_t *const *)y;
  return a->off < b->off ? -1 : a->off > b->off;
}

int tubo__calt_prepare(tubo__calt_t *a)
{
  a->locks = malloc((a->n ? a->n : 1) * sizeof *a->locks);
  if (a->locks == NULL)
    return TUBO_ENOMEM;
  a->nlocks = 0;
  a->waiter = NULL;
  a->msg = 0;
  a->rc = 0;
  const tubo__objheap_t *mem = NULL;
  for (size_t i = 0; i < a->n; i++) {
    tubo__ccore_t *c = a->g[i].c;
    if (a->g[i].kind != TUBO_GUARD_INPUT && a->g[i].kind != TUBO_GUARD_OUTPUT)
      continue;
    if (mem != NULL && !tubo__objheap_same(mem, &c->mem))
      return TUBO_ENOTSUP;
    mem = &c->mem;
    a->locks[a->nlocks++] = c;
  }
  qsort(a->locks, a->nlocks, sizeof *a->locks, calt_cmp);
  size_t k = 0;
  for (size_t i = 0; i < a->nlocks; i++)
    if (k == 0 || a->locks[k - 1]->off != a->locks[i]->off)
      a->locks[k++] = a->locks[i];
  a->nlocks = k;
  return 0;
}

static void calt_lock(tubo__calt_t *a)
{
  for (size_t i = 0; i < a->nlocks; i++)
    chan_lock(a->locks[i]);
}

static void calt_unlock(tubo__calt_t *a)
{
  for (size_t i = a->nlocks; i-- > 0;)
    chan_unlock(a->locks[i]);
}

static const tubo__objheap_t *calt_mem(const tubo__calt_t *a)
{
  return a->nlocks > 0 ? &a->locks[0]->mem : NULL;
}

/* ---- This process's waiter blocks ---- */

/* A waiter block of this process, in the pool it reuses (channel.h). */
typedef struct chan_pooled {
  tubo__objheap_t mem;
  uint64_t off;
  chan_waiter_t *w;
  int busy;
  struct chan_pooled *next;
} chan_pooled_t;

static chan_pooled_t *chan_pool;
static uint32_t chan_pool_pid;

/* A free waiter block of this process in mem, with room for n entries. */
static chan_pooled_t *chan_pool_get(const tubo__objheap_t *mem, uint32_t n, int *rc)
{
  uint32_t me = tubo__lock_self();
  if (chan_pool_pid != me) {
    /* A forked child: the blocks listed are its parent's. */
    chan_pool = NULL;
    chan_pool_pid = me;
  }
  for (chan_pooled_t *p = chan_pool; p != NULL; p = p->next)
    if (!p->busy && tubo__objheap_same(&p->mem, mem) && p->w->cap >= n) {
      p->busy = 1;
      return p;
    }
  chan_pooled_t *p = calloc(1, sizeof *p);
  if (p == NULL) {
    *rc = TUBO_ENOMEM;
    return NULL;
  }
  uint32_t cap = n < 4 ? 4 : n;
  size_t bytes = sizeof(chan_waiter_t) + cap * sizeof(chan_entry_t);
  if ((*rc = tubo__objheap_alloc(mem, bytes, TUBO__HEAP_ZERO, &p->off)) != 0) {
    free(p);
    return NULL;
  }
  p->mem = *mem;
  p->w = tubo__objheap_at(mem, p->off, bytes);
  p->w->pid = me;
  p->w->cap = cap;
  st64(&p->w->ident, tubo__objheap_ident(CHAN_ID_WAIT, p->off));
  p->busy = 1;
  p->next = chan_pool;
  chan_pool = p;
  return p;
}

/* Links a waiter for every channel guard of a, under the locks. */
static int calt_post(tubo__calt_t *a)
{
  const tubo__objheap_t *mem = calt_mem(a);
  uint32_t nent = 0;
  for (size_t i = 0; i < a->n; i++)
    nent += a->g[i].kind == TUBO_GUARD_INPUT || a->g[i].kind == TUBO_GUARD_OUTPUT;
  int rc = 0;
  chan_pooled_t *p = chan_pool_get(mem, nent, &rc);
  if (p == NULL)
    return rc;
  chan_waiter_t *w = p->w;
  w->nentries = nent;
  st32(&w->fired, 0);
  atomic_store_explicit(&w->rc, 0, memory_order_relaxed);
  st64(&w->msg, 0);
  atomic_store_explicit(&w->state, CHAN_WAITING, memory_order_relaxed);
  uint32_t k = 0;
  for (size_t i = 0; i < a->n; i++) {
    tubo__calt_guard_t *g = &a->g[i];
    if (g->kind != TUBO_GUARD_INPUT && g->kind != TUBO_GUARD_OUTPUT)
      continue;
    chan_entry_t *e = &w->entry[k];
    uint64_t eoff = p->off + sizeof *w + k * sizeof *e;
    k++;
    st64(&e->waiter, p->off);
    st64(&e->chan, g->c->off);
    st64(&e->msg, g->kind == TUBO_GUARD_OUTPUT ? g->msg : 0);
    st32(&e->guard, (uint32_t)i);
    chan_q_push(g->c, g->kind == TUBO_GUARD_INPUT ? g->c->sh->recvq : g->c->sh->sendq, eoff, e);
  }
  a->waiter = p;
  return 0;
}

int tubo__calt_try(tubo__calt_t *a, int post)
{
  calt_lock(a);
  chan_step(TUBO__CHAN_S_LOCKED);
  int rc = 0;
  for (size_t k = 0; k < a->n && rc == 0; k++) {
    size_t i = (a->start + k) % a->n;
    tubo__calt_guard_t *g = &a->g[i];
    uint64_t msg = 0;
    switch (g->kind) {
    case TUBO_GUARD_SKIP:
      rc = 1;
      break;
    case TUBO_GUARD_TIMEOUT:
      /* Ready once its time is up (the caller says how much is left); a positive time
       * is waited for once the other guards are posted. */
      if (g->timeout_ms == 0)
        rc = TUBO_ETIMEDOUT;
      break;
    case TUBO_GUARD_INPUT:
      rc = chan_try_read(g->c, &msg);
      if (rc == 1)
        a->msg = msg;
      break;
    case TUBO_GUARD_OUTPUT:
      rc = chan_try_write(g->c, g->msg);
      if (rc == 1)
        g->msg = 0; /* written: the message is not ours any more */
      break;
    default:
      rc = TUBO_EINVAL;
    }
    if (rc != 0) {
      a->chosen = i;
      a->rc = rc == 1 ? 0 : rc;
    }
  }
  if (rc == TUBO_EINVAL || rc == TUBO_ECORRUPT) {
    calt_unlock(a);
    return rc;
  }
  if (rc != 0) {
    calt_unlock(a);
    return 1;
  }
  if (post)
    rc = calt_post(a);
  if (rc == 0 && post)
    chan_step(TUBO__CHAN_S_POSTED);
  calt_unlock(a);
  return rc;
}

int tubo__calt_claimed(const tubo__calt_t *a)
{
  return atomic_load_explicit(&a->waiter->w->state, memory_order_seq_cst) != CHAN_WAITING;
}

tubo__objwait_t *tubo__calt_wake_word(const tubo__calt_t *a)
{
  return &a->waiter->w->wake;
}

/* After a claim: waits until the claimer says what fired. It does so under the lock it
 * holds, so it is quick; a claimer that takes long may have died there: once this process
 * can take the channels' locks (over from a dead holder), it knows. */
static int calt_await_done(tubo__calt_t *a, chan_waiter_t *w)
{
  uint64_t start = tubo__os_now_ns();
  while (atomic_load_explicit(&w->state, memory_order_acquire) == CHAN_CLAIMING) {
    if (tubo__os_now_ns() - start < 1000000u) {
      tubo__os_yield();
      continue;
    }
    calt_lock(a);
    int stuck = atomic_load_explicit(&w->state, memory_order_acquire) == CHAN_CLAIMING;
    calt_unlock(a);
    if (stuck)
      return TUBO_EPEER;
    start = tubo__os_now_ns();
  }
  return 0;
}

int tubo__calt_finish(tubo__calt_t *a, int give_up)
{
  chan_pooled_t *p = a->waiter;
  chan_waiter_t *w = p->w;
  uint32_t want = CHAN_WAITING;
  int withdrawn = give_up && atomic_compare_exchange_strong(&w->state, &want, CHAN_WITHDRAWN);
  int rc = withdrawn ? 0 : calt_await_done(a, w);
  /* The claimer unlinked the entry it took; the others (or all, when withdrawn) are still
   * in their queues. */
  if (withdrawn || w->nentries > 1 || rc != 0) {
    calt_lock(a);
    for (uint32_t k = 0; k < w->nentries; k++) {
      chan_entry_t *e = &w->entry[k];
      if (!ld32(&e->linked))
        continue;
      size_t gi = ld32(&e->guard);
      tubo__ccore_t *c = gi < a->n ? a->g[gi].c : NULL;
      if (c != NULL)
        chan_q_unlink(c, a->g[gi].kind == TUBO_GUARD_INPUT ? c->sh->recvq : c->sh->sendq,
                      p->off + sizeof *w + k * sizeof *e, e);
      st32(&e->linked, 0);
    }
    calt_unlock(a);
  }
  if (withdrawn) {
    a->rc = TUBO_ETIMEDOUT;
  } else if (rc == 0) {
    size_t fired = ld32(&w->fired);
    int frc = atomic_load_explicit(&w->rc, memory_order_relaxed);
    if (fired >= a->n)
      rc = TUBO_ECORRUPT;
    else {
      a->chosen = fired;
      a->rc = frc;
      tubo__calt_guard_t *g = &a->g[fired];
      if (frc == 0 && g->kind == TUBO_GUARD_INPUT)
        a->msg = ld64(&w->msg);
      if (frc == 0 && g->kind == TUBO_GUARD_OUTPUT)
        g->msg = 0; /* taken by a reader, or into the ring */
    }
  }
  p->busy = 0;
  a->waiter = NULL;
  return rc;
}

void tubo__calt_release(tubo__calt_t *a)
{
  for (size_t i = 0; i < a->n; i++)
    if (a->g[i].kind == TUBO_GUARD_OUTPUT && a->g[i].msg != 0) {
      (void)tubo__objheap_free(&a->g[i].c->mem, a->g[i].msg);
      a->g[i].msg = 0;
    }
  free(a->locks);
  a->locks = NULL;
}
