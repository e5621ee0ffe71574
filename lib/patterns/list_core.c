/* SPDX-License-Identifier: MIT */
/* A list in shared memory (list.h): readers validated by a sequence, writers under one
 * lock, and the repair after a writer died holding it.
 *
 * What a dead writer may leave, and what the next holder does (list_repair): items in
 * slots past the length (an append or extend that never published its length), a
 * pending item or a taken-out one (a set, an insert, a pop), and vectors of a swap
 * (an insert, a pop in the middle, a growth). It empties the slots past the length,
 * frees every such block the current vector does not hold, and frees a pending vector
 * that is not the current one. Every write is ordered so that the current vector is
 * always whole: the repair never has to guess, and nothing is freed twice (a slot is
 * emptied, or a record cleared, before its block is freed). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "patterns/list.h"

void (*tubo__list_step_hook)(enum tubo__list_step step);

static inline void list_step(enum tubo__list_step s)
{
  if (__builtin_expect(tubo__list_step_hook != NULL, 0))
    tubo__list_step_hook(s);
}

/* Optimistic reads before a reader takes the lock. */
#define LIST_TRIES 16
/* The first vector's slots. */
#define LIST_CAP0 8u

static inline uint64_t ld64(_Atomic uint64_t *p)
{
  return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void st64(_Atomic uint64_t *p, uint64_t v)
{
  atomic_store_explicit(p, v, memory_order_relaxed);
}

/* ---- Checked access ---- */

static list_vec_t *list_vec_at(const tubo__lcore_t *c, uint64_t off, uint64_t *cap, uint64_t *len)
{
  list_vec_t *v = tubo__objheap_at(&c->mem, off, sizeof *v);
  if (v == NULL || ld64(&v->ident) != tubo__objheap_ident(LIST_ID_VEC, off))
    return NULL;
  uint64_t k = ld64(&v->cap), n = atomic_load_explicit(&v->len, memory_order_acquire);
  if (k > TUBO__LIST_MAX || n > k ||
      tubo__objheap_at(&c->mem, off, sizeof *v + k * sizeof(uint64_t)) == NULL)
    return NULL;
  *cap = k;
  *len = n;
  return v;
}

static list_item_t *list_item_at(const tubo__lcore_t *c, uint64_t off, uint64_t *len)
{
  list_item_t *it = tubo__objheap_at(&c->mem, off, sizeof *it);
  if (it == NULL || ld64(&it->ident) != tubo__objheap_ident(LIST_ID_ITEM, off))
    return NULL;
  uint64_t n = ld64(&it->len);
  if (n > TUBO__HEAP_MAX || tubo__objheap_at(&c->mem, off, sizeof *it + n) == NULL)
    return NULL;
  *len = n;
  return it;
}

static void list_bump(list_head_t *sh)
{
  atomic_fetch_add_explicit(&sh->seq, 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
}

/* Python's index: negative counts from the end. 0 and the position, or TUBO_EINDEX. */
static int list_index(ptrdiff_t index, uint64_t len, uint64_t *at)
{
  int64_t i = (int64_t)index;
  if (i < 0)
    i += (int64_t)len;
  if (i < 0 || (uint64_t)i >= len)
    return TUBO_EINDEX;
  *at = (uint64_t)i;
  return 0;
}

/* ---- Repairs ---- */

static int list_holds(list_vec_t *v, uint64_t len, uint64_t off)
{
  for (uint64_t i = 0; i < len; i++)
    if (ld64(&v->item[i]) == off)
      return 1;
  return 0;
}

static void list_repair(tubo__lcore_t *c)
{
  list_head_t *sh = c->sh;
  uint64_t cur = ld64(&sh->vec), cap = 0, len = 0;
  list_vec_t *v = list_vec_at(c, cur, &cap, &len);
  list_bump(sh);
  for (int k = 0; k < 2; k++) {
    uint64_t pv = ld64(&sh->pend_vec[k]);
    st64(&sh->pend_vec[k], 0);
    if (pv != 0 && pv != cur) {
      list_vec_t *dead = tubo__objheap_at(&c->mem, pv, sizeof *dead);
      if (dead != NULL)
        st64(&dead->ident, 0);
      (void)tubo__objheap_free(&c->mem, pv);
    }
  }
  if (v == NULL)
    return; /* corrupt: leave it to the calls to say so */
  uint64_t cand[2] = {ld64(&sh->pend_item), ld64(&sh->pend_old)};
  for (uint64_t i = len; i < cap; i++) {
    uint64_t w = ld64(&v->item[i]);
    st64(&v->item[i], 0);
    if (w != 0 && w != cand[0] && w != cand[1] && !list_holds(v, len, w))
      (void)tubo__objheap_free(&c->mem, w);
  }
  for (int k = 0; k < 2; k++)
    if (cand[k] != 0 && (k == 0 || cand[1] != cand[0]) && !list_holds(v, len, cand[k]))
      (void)tubo__objheap_free(&c->mem, cand[k]);
  st64(&sh->pend_item, 0);
  st64(&sh->pend_old, 0);
}

static void list_lock(tubo__lcore_t *c)
{
  if (tubo__lock_take(&c->sh->lock) == TUBO_EPEER)
    list_repair(c);
}

static void list_unlock(tubo__lcore_t *c)
{
  (void)tubo__lock_release(&c->sh->lock);
}

/* ---- Making ---- */

static int list_vec_new(tubo__lcore_t *c, uint64_t cap, uint64_t *off, list_vec_t **v)
{
  if (cap > TUBO__LIST_MAX)
    return TUBO_ETOOBIG;
  size_t bytes = sizeof(list_vec_t) + (size_t)cap * sizeof(uint64_t);
  int rc = tubo__objheap_alloc(&c->mem, bytes, TUBO__HEAP_ZERO, off);
  if (rc != 0)
    return rc;
  *v = tubo__objheap_at(&c->mem, *off, bytes);
  if (*v == NULL)
    return TUBO_ECORRUPT;
  st64(&(*v)->cap, cap);
  st64(&(*v)->ident, tubo__objheap_ident(LIST_ID_VEC, *off));
  return 0;
}

int tubo__lcore_make_at(const tubo__objheap_t *mem, uint64_t off, tubo__lcore_t *c)
{
  c->mem = *mem;
  c->off = off;
  c->sh = tubo__objheap_at(mem, off, sizeof(list_head_t));
  if (c->sh == NULL)
    return TUBO_ECORRUPT;
  memset(c->sh, 0, sizeof *c->sh);
  uint64_t voff;
  list_vec_t *v;
  int rc = list_vec_new(c, LIST_CAP0, &voff, &v);
  if (rc != 0)
    return rc;
  st64(&c->sh->vec, voff);
  atomic_store_explicit(&c->sh->ident, tubo__objheap_ident(LIST_ID_HEAD, off),
                        memory_order_release);
  return 0;
}

int tubo__lcore_make(const tubo__objheap_t *mem, tubo__lcore_t *c)
{
  uint64_t off;
  int rc = tubo__objheap_alloc(mem, sizeof(list_head_t), 0, &off);
  if (rc != 0)
    return rc;
  rc = tubo__lcore_make_at(mem, off, c);
  if (rc != 0)
    (void)tubo__objheap_free(mem, off);
  return rc;
}

int tubo__lcore_check(const tubo__lcore_t *c)
{
  if (c->sh == NULL || atomic_load_explicit(&c->sh->ident, memory_order_acquire) !=
                           tubo__objheap_ident(LIST_ID_HEAD, c->off))
    return TUBO_ECORRUPT;
  return 0;
}

int tubo__lcore_attach(const tubo__objheap_t *mem, uint64_t off, tubo__lcore_t *c)
{
  c->mem = *mem;
  c->off = off;
  c->sh = tubo__objheap_at(mem, off, sizeof(list_head_t));
  return tubo__lcore_check(c);
}

void tubo__lcore_empty(tubo__lcore_t *c)
{
  if (tubo__lcore_check(c) != 0)
    return;
  list_lock(c); /* repairs what a dead writer left */
  uint64_t voff = ld64(&c->sh->vec), cap, len;
  list_vec_t *v = list_vec_at(c, voff, &cap, &len);
  for (uint64_t i = 0; v != NULL && i < len; i++) {
    uint64_t w = ld64(&v->item[i]);
    st64(&v->item[i], 0);
    if (w != 0)
      (void)tubo__objheap_free(&c->mem, w);
  }
  if (v != NULL) {
    st64(&v->ident, 0);
    (void)tubo__objheap_free(&c->mem, voff);
  }
  st64(&c->sh->vec, 0);
  list_unlock(c);
}

void tubo__lcore_destroy(tubo__lcore_t *c)
{
  if (tubo__lcore_check(c) != 0)
    return;
  tubo__lcore_empty(c);
  st64(&c->sh->ident, 0);
  (void)tubo__objheap_free(&c->mem, c->off);
  c->sh = NULL;
}

/* ---- Reading ---- */

typedef struct list_out {
  int (*copy)(struct list_out *o, const list_item_t *it, uint64_t len);
  void *buf;
  size_t cap;
  size_t len;
} list_out_t;

/* Reads item index through o: 0, TUBO_EINDEX, o's error, or TUBO_ECORRUPT. */
static int list_read(tubo__lcore_t *c, ptrdiff_t index, list_out_t *o)
{
  list_head_t *sh = c->sh;
  for (int tries = 0;; tries++) {
    int locked = tries == LIST_TRIES;
    if (locked)
      list_lock(c); /* writers keep changing it: read where they cannot */
    uint64_t s1 = atomic_load_explicit(&sh->seq, memory_order_acquire);
    uint64_t cap, len, at = 0, ilen = 0;
    list_vec_t *v =
        list_vec_at(c, atomic_load_explicit(&sh->vec, memory_order_acquire), &cap, &len);
    int rc = v == NULL ? TUBO_ECORRUPT : list_index(index, len, &at);
    if (rc == 0) {
      list_item_t *it =
          list_item_at(c, atomic_load_explicit(&v->item[at], memory_order_acquire), &ilen);
      rc = it == NULL ? TUBO_ECORRUPT : o->copy(o, it, ilen);
    }
    if (locked) {
      list_unlock(c);
      return rc;
    }
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&sh->seq, memory_order_relaxed) == s1)
      return rc;
  }
}

static int list_copy_buf(list_out_t *o, const list_item_t *it, uint64_t len)
{
  o->len = (size_t)len;
  size_t n = len < o->cap ? (size_t)len : o->cap;
  if (n > 0)
    memcpy(o->buf, it->data, n);
  return len > o->cap ? TUBO_ETRUNC : 0;
}

int tubo__lcore_get(tubo__lcore_t *c, ptrdiff_t index, void *buf, size_t cap, size_t *len)
{
  list_out_t o = {list_copy_buf, buf, cap, 0};
  int rc = list_read(c, index, &o);
  if ((rc == 0 || rc == TUBO_ETRUNC) && len != NULL)
    *len = o.len;
  return rc;
}

static int list_copy_alloc(list_out_t *o, const list_item_t *it, uint64_t len)
{
  if (len > SIZE_MAX)
    return TUBO_ENOMEM;
  if (len > o->cap) {
    void *p = realloc(o->buf, (size_t)len);
    if (p == NULL)
      return TUBO_ENOMEM;
    o->buf = p;
    o->cap = (size_t)len;
  }
  if (len > 0)
    memcpy(o->buf, it->data, (size_t)len);
  o->len = (size_t)len;
  return 0;
}

int tubo__lcore_get_alloc(tubo__lcore_t *c, ptrdiff_t index, void **buf, size_t *len)
{
  list_out_t o = {list_copy_alloc, NULL, 0, 0};
  int rc = list_read(c, index, &o);
  if (rc != 0 || o.len == 0) {
    free(o.buf);
    o.buf = NULL;
  }
  if (rc != 0)
    return rc;
  *buf = o.buf;
  if (len != NULL)
    *len = o.len;
  return 0;
}

int tubo__lcore_len(tubo__lcore_t *c, size_t *n)
{
  uint64_t cap, len;
  if (list_vec_at(c, atomic_load_explicit(&c->sh->vec, memory_order_acquire), &cap, &len) == NULL)
    return TUBO_ECORRUPT;
  *n = (size_t)len;
  return 0;
}

int tubo__lcore_packed(tubo__lcore_t *c, unsigned char **packed, size_t *bytes, size_t *n)
{
  list_head_t *sh = c->sh;
  unsigned char *buf = NULL;
  for (int tries = 0;; tries++) {
    int locked = tries == LIST_TRIES;
    if (locked)
      list_lock(c);
    uint64_t s1 = atomic_load_explicit(&sh->seq, memory_order_acquire);
    uint64_t cap, len, total = 0, ilen;
    list_vec_t *v =
        list_vec_at(c, atomic_load_explicit(&sh->vec, memory_order_acquire), &cap, &len);
    int rc = v == NULL ? TUBO_ECORRUPT : 0;
    for (uint64_t i = 0; rc == 0 && i < len; i++) {
      if (list_item_at(c, ld64(&v->item[i]), &ilen) == NULL)
        rc = TUBO_ECORRUPT;
      else if (ilen > SIZE_MAX / 2 - total - 8)
        rc = TUBO_ENOMEM;
      else
        total += 8 + ilen;
    }
    unsigned char *p = rc == 0 ? realloc(buf, total ? (size_t)total : 1) : NULL;
    if (rc == 0 && p == NULL)
      rc = TUBO_ENOMEM;
    if (p != NULL)
      buf = p;
    uint64_t at = 0;
    for (uint64_t i = 0; rc == 0 && i < len; i++) {
      list_item_t *it = list_item_at(c, ld64(&v->item[i]), &ilen);
      if (it == NULL || at + 8 + ilen > total) {
        rc = TUBO_ECORRUPT;
        break;
      }
      memcpy(buf + at, &ilen, 8);
      memcpy(buf + at + 8, it->data, (size_t)ilen);
      at += 8 + ilen;
    }
    int stable = locked;
    if (locked)
      list_unlock(c);
    else {
      atomic_thread_fence(memory_order_acquire);
      stable = atomic_load_explicit(&sh->seq, memory_order_relaxed) == s1;
    }
    if (stable) {
      if (rc != 0) {
        free(buf);
        return rc;
      }
      *packed = buf;
      *bytes = (size_t)total;
      *n = (size_t)len;
      return 0;
    }
  }
}

/* Each item's bytes start at a multiple of this in a snapshot, so that an item holding a C
 * struct can be read through a pointer to it. */
#define LIST_ALIGN 16u

int tubo__list_unpack(unsigned char *packed, size_t bytes, size_t n, tubo_item_t **items)
{
  /* The items' room, each rounded up to LIST_ALIGN: at most bytes plus n times that. */
  size_t room = 0;
  int rc = n > (SIZE_MAX / 2 - bytes) / (sizeof(tubo_item_t) + LIST_ALIGN) ? TUBO_ENOMEM : 0;
  for (size_t i = 0, at = 0; rc == 0 && i < n; i++) {
    uint64_t len;
    if (bytes - at < 8)
      rc = TUBO_ECORRUPT;
    else {
      memcpy(&len, packed + at, 8);
      at += 8;
      if (len > bytes - at)
        rc = TUBO_ECORRUPT;
      else {
        room += ((size_t)len + LIST_ALIGN - 1) / LIST_ALIGN * LIST_ALIGN;
        at += (size_t)len;
      }
    }
  }
  size_t head = (n * sizeof(tubo_item_t) + LIST_ALIGN - 1) / LIST_ALIGN * LIST_ALIGN;
  tubo_item_t *out = rc == 0 ? malloc(head + room + 1) : NULL;
  if (rc == 0 && out == NULL)
    rc = TUBO_ENOMEM;
  if (rc != 0) {
    free(packed);
    return rc;
  }
  unsigned char *data = (unsigned char *)out + head;
  for (size_t i = 0, at = 0; i < n; i++) {
    uint64_t len;
    memcpy(&len, packed + at, 8);
    at += 8;
    if (len > 0)
      memcpy(data, packed + at, (size_t)len);
    out[i].data = data;
    out[i].len = (size_t)len;
    at += (size_t)len;
    data += ((size_t)len + LIST_ALIGN - 1) / LIST_ALIGN * LIST_ALIGN;
  }
  free(packed);
  *items = out;
  return 0;
}

/* ---- Writing ---- */

static int list_item_new(tubo__lcore_t *c, const void *data, size_t len, uint64_t *off)
{
  if (len > TUBO__HEAP_MAX - sizeof(list_item_t))
    return TUBO_ETOOBIG;
  size_t bytes = sizeof(list_item_t) + len;
  int rc = tubo__objheap_alloc(&c->mem, bytes, 0, off);
  if (rc != 0)
    return rc;
  list_item_t *it = tubo__objheap_at(&c->mem, *off, bytes);
  if (it == NULL) {
    (void)tubo__objheap_free(&c->mem, *off);
    return TUBO_ECORRUPT;
  }
  st64(&it->len, len);
  if (len > 0)
    memcpy(it->data, data, len);
  atomic_store_explicit(&it->ident, tubo__objheap_ident(LIST_ID_ITEM, *off), memory_order_release);
  return 0;
}

/* The current vector, under the lock. */
static list_vec_t *list_cur(tubo__lcore_t *c, uint64_t *off, uint64_t *cap, uint64_t *len)
{
  *off = ld64(&c->sh->vec);
  return list_vec_at(c, *off, cap, len);
}

/* Publishes the vector at noff in place of the one at off, both recorded as pending
 * until the old one is out of readers' reach; the caller records the items that change
 * hands (pend_item, pend_old) and frees off once the lock is released. */
static void list_swap(tubo__lcore_t *c, uint64_t off, uint64_t noff)
{
  list_head_t *sh = c->sh;
  st64(&sh->pend_vec[0], noff);
  st64(&sh->pend_vec[1], off);
  list_step(TUBO__LIST_S_PENDING);
  atomic_store_explicit(&sh->vec, noff, memory_order_release);
  list_step(TUBO__LIST_S_PUBLISHED);
  list_bump(sh);
  st64(&sh->pend_vec[0], 0);
  st64(&sh->pend_vec[1], 0);
}

/* A copy of the vector at off (cap, len) with room for need items, published; *old is
 * the vector to free once the lock is released. */
static int list_grow(tubo__lcore_t *c, uint64_t need, uint64_t *off, list_vec_t **v, uint64_t *cap,
                     uint64_t len, uint64_t *old)
{
  if (need <= *cap)
    return 0;
  if (need > TUBO__LIST_MAX)
    return TUBO_ETOOBIG;
  uint64_t ncap = *cap * 2 > need ? *cap * 2 : need;
  if (ncap > TUBO__LIST_MAX)
    ncap = TUBO__LIST_MAX;
  uint64_t noff;
  list_vec_t *nv;
  int rc = list_vec_new(c, ncap, &noff, &nv);
  if (rc != 0)
    return rc;
  for (uint64_t i = 0; i < len; i++)
    st64(&nv->item[i], ld64(&(*v)->item[i]));
  atomic_store_explicit(&nv->len, len, memory_order_release);
  list_swap(c, *off, noff);
  *old = *off;
  *off = noff;
  *v = nv;
  *cap = ncap;
  return 0;
}

/* Frees, after the lock, what a write took out. */
static void list_free_after(tubo__lcore_t *c, uint64_t vec, uint64_t item)
{
  if (vec != 0) {
    list_vec_t *v = tubo__objheap_at(&c->mem, vec, sizeof *v);
    if (v != NULL)
      st64(&v->ident, 0);
    (void)tubo__objheap_free(&c->mem, vec);
  }
  if (item != 0)
    (void)tubo__objheap_free(&c->mem, item);
}

int tubo__lcore_extend(tubo__lcore_t *c, const tubo_item_t *items, size_t n)
{
  if (n == 0)
    return 0;
  if (n > TUBO__LIST_MAX)
    return TUBO_ETOOBIG;
  /* Under the lock, each item goes to a slot past the length as soon as it is made (a
   * repair frees what it finds there), and the new length publishes them all at once. */
  list_lock(c);
  list_step(TUBO__LIST_S_LOCKED);
  uint64_t off = 0, cap = 0, len = 0, old = 0;
  list_vec_t *v = list_cur(c, &off, &cap, &len);
  int rc = v == NULL ? TUBO_ECORRUPT : len + n > TUBO__LIST_MAX ? TUBO_ETOOBIG : 0;
  if (rc == 0)
    rc = list_grow(c, len + n, &off, &v, &cap, len, &old);
  size_t made = 0;
  for (; rc == 0 && made < n; made++) {
    uint64_t ioff;
    if ((rc = list_item_new(c, items[made].data, items[made].len, &ioff)) != 0)
      break;
    atomic_store_explicit(&v->item[len + made], ioff, memory_order_relaxed);
  }
  if (rc == 0) {
    list_step(TUBO__LIST_S_PENDING);
    atomic_store_explicit(&v->len, len + n, memory_order_release);
    list_step(TUBO__LIST_S_PUBLISHED);
  } else {
    for (size_t i = 0; v != NULL && i < made; i++) {
      uint64_t w = ld64(&v->item[len + i]);
      st64(&v->item[len + i], 0);
      (void)tubo__objheap_free(&c->mem, w);
    }
  }
  list_unlock(c);
  list_free_after(c, old, 0);
  return rc;
}

/* The start of a set or an insert: the new item made, then the lock taken with the item
 * pending (a repair frees it if it is not used). On an error, no lock is held. */
static int list_store_begin(tubo__lcore_t *c, const void *item, size_t len, uint64_t *ioff)
{
  int rc = list_item_new(c, item, len, ioff);
  if (rc != 0)
    return rc;
  list_lock(c);
  st64(&c->sh->pend_item, *ioff);
  list_step(TUBO__LIST_S_LOCKED);
  return 0;
}

/* The end of a set or an insert with outcome rc: nothing pending, the lock released, the
 * item freed if it was not stored, and the vector or item the change replaced freed. */
static int list_store_end(tubo__lcore_t *c, int rc, uint64_t ioff, uint64_t vec, uint64_t old)
{
  st64(&c->sh->pend_item, 0);
  list_unlock(c);
  if (rc != 0)
    (void)tubo__objheap_free(&c->mem, ioff);
  list_free_after(c, vec, old);
  return rc;
}

int tubo__lcore_set(tubo__lcore_t *c, ptrdiff_t index, const void *item, size_t len)
{
  uint64_t ioff;
  int rc = list_store_begin(c, item, len, &ioff);
  if (rc != 0)
    return rc;
  uint64_t off, cap, n, at = 0, old = 0;
  list_vec_t *v = list_cur(c, &off, &cap, &n);
  rc = v == NULL ? TUBO_ECORRUPT : list_index(index, n, &at);
  if (rc == 0) {
    list_head_t *sh = c->sh;
    old = ld64(&v->item[at]);
    st64(&sh->pend_old, old);
    list_step(TUBO__LIST_S_PENDING);
    atomic_store_explicit(&v->item[at], ioff, memory_order_release);
    list_step(TUBO__LIST_S_PUBLISHED);
    list_bump(sh);
    st64(&sh->pend_old, 0);
  }
  return list_store_end(c, rc, ioff, 0, old);
}

int tubo__lcore_insert(tubo__lcore_t *c, ptrdiff_t index, const void *item, size_t len)
{
  uint64_t ioff;
  int rc = list_store_begin(c, item, len, &ioff);
  if (rc != 0)
    return rc;
  uint64_t off, cap, n, old = 0;
  list_vec_t *v = list_cur(c, &off, &cap, &n);
  rc = v == NULL ? TUBO_ECORRUPT : n + 1 > TUBO__LIST_MAX ? TUBO_ETOOBIG : 0;
  int64_t i = (int64_t)index;
  if (i < 0)
    i += (int64_t)n;
  uint64_t at = i < 0 ? 0 : (uint64_t)i > n ? n : (uint64_t)i;
  if (rc == 0 && at == n) {
    /* At the end: an append. */
    rc = list_grow(c, n + 1, &off, &v, &cap, n, &old);
    if (rc == 0) {
      atomic_store_explicit(&v->item[n], ioff, memory_order_relaxed);
      list_step(TUBO__LIST_S_PENDING);
      atomic_store_explicit(&v->len, n + 1, memory_order_release);
      list_step(TUBO__LIST_S_PUBLISHED);
    }
  } else if (rc == 0) {
    /* In the middle: a new vector, the later items one further. */
    uint64_t noff;
    list_vec_t *nv;
    rc = list_vec_new(c, cap > n ? cap : n + 1 > 2 * cap ? n + 1 : 2 * cap, &noff, &nv);
    if (rc == 0) {
      for (uint64_t k = 0; k < at; k++)
        st64(&nv->item[k], ld64(&v->item[k]));
      st64(&nv->item[at], ioff);
      for (uint64_t k = at; k < n; k++)
        st64(&nv->item[k + 1], ld64(&v->item[k]));
      atomic_store_explicit(&nv->len, n + 1, memory_order_release);
      list_swap(c, off, noff);
      old = off;
    }
  }
  return list_store_end(c, rc, ioff, old, 0);
}

int tubo__lcore_pop_alloc(tubo__lcore_t *c, ptrdiff_t index, void **buf, size_t *len)
{
  list_lock(c);
  list_step(TUBO__LIST_S_LOCKED);
  list_head_t *sh = c->sh;
  uint64_t off, cap, n, at = 0, ilen = 0, item = 0, oldvec = 0;
  list_vec_t *v = list_cur(c, &off, &cap, &n);
  int rc = v == NULL ? TUBO_ECORRUPT : list_index(index, n, &at);
  list_item_t *it = NULL;
  if (rc == 0) {
    item = ld64(&v->item[at]);
    it = list_item_at(c, item, &ilen);
    rc = it == NULL ? TUBO_ECORRUPT : ilen > SIZE_MAX ? TUBO_ENOMEM : 0;
  }
  void *copy = NULL;
  if (rc == 0 && ilen > 0 && (copy = malloc((size_t)ilen)) == NULL)
    rc = TUBO_ENOMEM;
  if (rc == 0 && ilen > 0)
    memcpy(copy, it->data, (size_t)ilen);
  if (rc == 0 && at == n - 1) {
    /* The last: a shorter length, then its slot emptied. */
    st64(&sh->pend_old, item);
    list_step(TUBO__LIST_S_PENDING);
    atomic_store_explicit(&v->len, n - 1, memory_order_release);
    list_step(TUBO__LIST_S_PUBLISHED);
    list_bump(sh);
    st64(&v->item[n - 1], 0);
    st64(&sh->pend_old, 0);
  } else if (rc == 0) {
    uint64_t noff;
    list_vec_t *nv;
    rc = list_vec_new(c, cap, &noff, &nv);
    if (rc == 0) {
      for (uint64_t k = 0, j = 0; k < n; k++)
        if (k != at)
          st64(&nv->item[j++], ld64(&v->item[k]));
      atomic_store_explicit(&nv->len, n - 1, memory_order_release);
      st64(&sh->pend_old, item);
      list_swap(c, off, noff);
      st64(&sh->pend_old, 0);
      oldvec = off;
    }
  }
  list_unlock(c);
  if (rc != 0) {
    free(copy);
    return rc;
  }
  list_free_after(c, oldvec, item);
  *buf = copy;
  if (len != NULL)
    *len = (size_t)ilen;
  return 0;
}
