/* SPDX-License-Identifier: MIT */
/* The shared heap (heap.h): classes' free lists, carving, checks. */
#include "config.h"

#include "heap/heap.h"

#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "heap/heap_shared.h"
#include "os/os.h"
#include "tubo.h"

void (*tubo__heap_step_hook)(enum tubo__heap_step step);

static inline void heap_step(enum tubo__heap_step s)
{
  if (__builtin_expect(tubo__heap_step_hook != NULL, 0))
    tubo__heap_step_hook(s);
}

/* Small blocks' pages are reserved this far ahead of need, so that carving makes a
 * system call once per this many bytes; each process maps them (heap_map_small) in steps
 * as large, one system call where touching them would fault once a page. */
#define HEAP_RESERVE_STEP ((uint64_t)256 << 10)

/* ---- Geometry ---- */

static inline int heap_is_run(unsigned c)
{
  return c >= HEAP_NSMALL;
}

/* Usable bytes of class c. */
static inline uint64_t heap_usable_bytes(const tubo__heap_t *h, unsigned c)
{
  return heap_is_run(c) ? heap_run_pages(c) << h->page_shift : heap_small_bytes(c) - HEAP_HDR;
}

/* The class for size bytes, or -1 beyond the largest. */
static int heap_class_of(const tubo__heap_t *h, uint64_t size)
{
  if (size <= HEAP_SMALL_MAX - HEAP_HDR)
    return (int)heap_small_class(size + HEAP_HDR);
  uint64_t pages = (size + h->page - 1) >> h->page_shift;
  unsigned c =
      pages <= HEAP_RUN_PAGES0 ? HEAP_NSMALL : HEAP_NSMALL + heap_geo_index(HEAP_RUN_PAGES0, pages);
  return c < HEAP_NCLASS ? (int)c : -1;
}

static inline struct heap_block *heap_block(const tubo__heap_t *h, uint64_t off)
{
  return (struct heap_block *)(h->base + off - HEAP_HDR);
}

/* Whether off may be the start of a block of class c: aligned, and the whole block inside
 * the region. Checked before any header is read. */
static int heap_fits(const tubo__heap_t *h, unsigned c, uint64_t off)
{
  if (c >= HEAP_NCLASS || off > h->end)
    return 0;
  uint64_t usable = heap_usable_bytes(h, c);
  if (heap_is_run(c))
    return (off & (h->page - 1)) == 0 && off >= h->data + h->page && usable <= h->end - off;
  return (off & (heap_small_align(c) - 1)) == 0 && off >= h->data + HEAP_HDR &&
         usable <= h->end - off;
}

/* Whether w is a valid header of the block at off, whatever its class: the class of the
 * block in *cls. */
static int heap_word_ok(const tubo__heap_t *h, uint64_t w, uint64_t off, unsigned *cls)
{
  unsigned c = heap_word_class(w);
  unsigned st = heap_word_state(w);
  if (w >> HEAP_MAGIC_SHIFT != HEAP_MAGIC || (w & HEAP_UNIT_MASK) != off >> 4 || st < HEAP_ALLOC ||
      st > HEAP_PUNCHED || !heap_fits(h, c, off))
    return 0;
  *cls = c;
  return 1;
}

/* The two carving ends, checked: the top of the small blocks and the bottom of the runs. */
static int heap_ends(const tubo__heap_t *h, uint64_t carve, uint64_t *lo, uint64_t *hi)
{
  uint64_t up = (carve & HEAP_UNIT_MASK) << 4;
  uint64_t down = (carve >> HEAP_UNIT_BITS) << h->page_shift;
  uint64_t room = h->end - h->data;
  if (up > room || down > room - up)
    return TUBO_ECORRUPT;
  *lo = h->data + up;
  *hi = h->end - down;
  return 0;
}

static inline uint64_t heap_carve_word(const tubo__heap_t *h, uint64_t lo, uint64_t hi)
{
  return ((h->end - hi) >> h->page_shift) << HEAP_UNIT_BITS | (lo - h->data) >> 4;
}

/* ---- Pages ---- */

static int heap_reserve(const tubo__heap_t *h, uint64_t off, uint64_t len)
{
  if (h->backing.reserve == NULL || len == 0)
    return 0;
  return h->backing.reserve(h->backing.ctx, off, len) == 0 ? 0 : TUBO_ESHM;
}

/* Gives [off, off + len) back; 0 if its pages are gone (it reads as zeros). */
static int heap_release(const tubo__heap_t *h, uint64_t off, uint64_t len)
{
  if (h->backing.release == NULL)
    return TUBO_ENOTSUP;
  return h->backing.release(h->backing.ctx, off, len);
}

/* Makes sure small blocks' pages are reserved up to upto (hi: where runs begin). Several
 * processes may reserve the same pages; that is harmless. */
static int heap_reserve_small(const tubo__heap_t *h, uint64_t upto, uint64_t hi)
{
  uint64_t mark = atomic_load_explicit(&h->ctl->reserved, memory_order_acquire);
  uint64_t from = h->data + mark;
  if (mark > h->end - h->data)
    return TUBO_ECORRUPT;
  if (upto <= from)
    return 0;
  uint64_t to = from + HEAP_RESERVE_STEP;
  if (to < upto)
    to = upto;
  to = (to + h->page - 1) & ~(uint64_t)(h->page - 1);
  if (to > hi)
    to = hi; /* hi is a page boundary at or above upto */
  int rc = heap_reserve(h, from, to - from);
  if (rc != 0)
    return rc;
  uint64_t want = to - h->data;
  while (mark < want &&
         !atomic_compare_exchange_weak_explicit(&h->ctl->reserved, &mark, want,
                                                memory_order_release, memory_order_acquire))
    ;
  heap_step(TUBO__HEAP_S_RESERVED);
  return 0;
}

/* Maps the small blocks' pages up to upto into this process ahead of use: from what it
 * mapped so far to the reserved mark, at least a reserve step. A forked child starts
 * again from the header (its parent's page tables are not its own). Best effort: a page
 * not mapped here faults on first touch as any other. */
static void heap_map_small(tubo__heap_t *h, uint64_t upto)
{
  if (upto <= h->data + h->mapped && h->mapped_pid != 0)
    return; /* this process's, or its parent's (then some pages fault: best effort) */
  int pid = (int)getpid();
  if (h->mapped_pid != pid) {
    h->mapped_pid = pid;
    h->mapped = 0;
  }
  uint64_t from = h->data + h->mapped;
  if (upto <= from)
    return;
  uint64_t mark = atomic_load_explicit(&h->ctl->reserved, memory_order_acquire);
  uint64_t to = from + HEAP_RESERVE_STEP;
  if (to < upto)
    to = upto;
  to = (to + h->page - 1) & ~(uint64_t)(h->page - 1);
  if (mark > h->end - h->data)
    return; /* a forged mark: heap_reserve_small reports it */
  if (to > h->data + mark)
    to = h->data + mark; /* a page boundary (heap_reserve_small), inside the region */
  if (to <= from)
    return;
  from &= ~(uint64_t)(h->page - 1);
  tubo__os_prefault(h->base + from, (size_t)(to - from));
  h->mapped = to - h->data;
}

/* ---- Free lists ---- */

/* Pushes the blocks first..last, already linked to each other, onto class c's list. */
static void heap_push(const tubo__heap_t *h, unsigned c, uint64_t first, uint64_t last)
{
  struct heap_class *k = &h->ctl->cls[c];
  struct heap_block *b = heap_block(h, last);
  uint64_t head = atomic_load_explicit(&k->head, memory_order_relaxed);
  for (;;) {
    atomic_store_explicit(&b->next, head & HEAP_UNIT_MASK, memory_order_relaxed);
    heap_step(TUBO__HEAP_S_PUSH_LINKED);
    uint64_t next = heap_head(heap_head_tag(head) + 1, first);
    if (atomic_compare_exchange_weak_explicit(&k->head, &head, next, memory_order_release,
                                              memory_order_relaxed))
      break;
  }
  heap_step(TUBO__HEAP_S_PUSHED);
}

/* Takes the first block of class c's list: 1 with its offset and header word, 0 when the
 * list is empty, TUBO_ECORRUPT when its head or first block is bad (left as they are). */
static int heap_pop(const tubo__heap_t *h, unsigned c, uint64_t *off, uint64_t *word)
{
  struct heap_class *k = &h->ctl->cls[c];
  uint64_t head = atomic_load_explicit(&k->head, memory_order_acquire);
  for (;;) {
    uint64_t x = heap_head_off(head);
    if (x == 0)
      return 0;
    /* The block may be taken and changed by another process from now on: then the head
     * has changed, the compare-and-swap below fails and nothing read is used. If the head
     * is still the same, what was read is the block as it sits in the list. */
    int ok = heap_fits(h, c, x);
    uint64_t w = 0, nx = 0;
    unsigned wc = 0;
    if (ok) {
      struct heap_block *b = heap_block(h, x);
      w = atomic_load_explicit(&b->word, memory_order_relaxed);
      nx = atomic_load_explicit(&b->next, memory_order_relaxed) << 4;
      ok = heap_word_ok(h, w, x, &wc) && wc == c && heap_word_state(w) != HEAP_ALLOC &&
           (nx == 0 || heap_fits(h, c, nx));
    }
    if (!ok) {
      uint64_t again = atomic_load_explicit(&k->head, memory_order_acquire);
      if (again == head)
        return TUBO_ECORRUPT;
      head = again;
      continue;
    }
    heap_step(TUBO__HEAP_S_POP_READ);
    if (atomic_compare_exchange_weak_explicit(&k->head, &head,
                                              heap_head(heap_head_tag(head) + 1, nx),
                                              memory_order_acquire, memory_order_acquire)) {
      heap_step(TUBO__HEAP_S_POPPED);
      *off = x;
      *word = w;
      return 1;
    }
  }
}

/* ---- Shards: carved batches kept for the processes that carved them ---- */

/* This process's shard: a hint for where its own batches wait (any shard is correct). */
static inline unsigned heap_shard_self(void)
{
  return tubo__os_self() % HEAP_NSHARD;
}

/* Takes the next block of class c's batch in shard s: 1 with its offset, 0 when the shard
 * has none, TUBO_ECORRUPT when its word names blocks that were never carved. */
static int heap_shard_take(const tubo__heap_t *h, unsigned s, unsigned c, uint64_t *off)
{
  _Atomic uint64_t *p = &h->ctl->shard[s].batch[c];
  uint64_t w = atomic_load_explicit(p, memory_order_acquire);
  uint64_t bytes = heap_small_bytes(c);
  while (w != 0) {
    uint64_t n = w >> HEAP_UNIT_BITS, x = (w & HEAP_UNIT_MASK) << 4, lo, hi;
    if (n == 0 || n > HEAP_BATCH_MAX || !heap_fits(h, c, x) ||
        heap_ends(h, atomic_load_explicit(&h->ctl->carve, memory_order_acquire), &lo, &hi) != 0 ||
        x - HEAP_HDR + n * bytes > lo)
      return TUBO_ECORRUPT;
    uint64_t next = n > 1 ? (n - 1) << HEAP_UNIT_BITS | (x + bytes) >> 4 : 0;
    if (atomic_compare_exchange_weak_explicit(p, &w, next, memory_order_acq_rel,
                                              memory_order_acquire)) {
      *off = x;
      return 1;
    }
  }
  return 0;
}

/* With the heap full: a block of class c from any shard's batch (other processes' spare
 * blocks, or those of a process that ended). */
static int heap_shard_steal(const tubo__heap_t *h, unsigned c, uint64_t *off)
{
  for (unsigned s = 0; s < HEAP_NSHARD; s++) {
    int rc = heap_shard_take(h, s, c, off);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ---- Carving ---- */

/* Carves a batch of small blocks of class c: keeps the first (*off), pushes the others. */
static int heap_carve_small(tubo__heap_t *h, unsigned c, uint64_t *off)
{
  struct tubo__heap_ctl *ctl = h->ctl;
  uint64_t bytes = heap_small_bytes(c);
  uint64_t align = heap_small_align(c);
  uint64_t n = HEAP_BATCH_BYTES / bytes;
  n = n < 1 ? 1 : n > HEAP_BATCH_MAX ? HEAP_BATCH_MAX : n;
  uint64_t carve = atomic_load_explicit(&ctl->carve, memory_order_acquire);
  uint64_t start;
  for (;;) {
    uint64_t lo, hi;
    int rc = heap_ends(h, carve, &lo, &hi);
    if (rc != 0)
      return rc;
    /* The first block's usable bytes on the class's alignment; blocks of 32 or 64 bytes
     * start on their own size, so that none straddles a cache line. */
    if (64 % bytes == 0)
      start = (lo + bytes - 1) & ~(bytes - 1);
    else
      start = ((lo + HEAP_HDR + align - 1) & ~(align - 1)) - HEAP_HDR;
    while (n > 1 && (start > hi || n * bytes > hi - start))
      n = 1;
    if (start > hi || bytes > hi - start)
      return TUBO_ESHM;
    uint64_t top = start + n * bytes;
    if ((rc = heap_reserve_small(h, top, hi)) != 0)
      return rc;
    if (atomic_compare_exchange_weak_explicit(&ctl->carve, &carve, heap_carve_word(h, top, hi),
                                              memory_order_acq_rel, memory_order_acquire))
      break;
  }
  heap_step(TUBO__HEAP_S_CARVED);
  heap_map_small(h, start + n * bytes);
  uint64_t first = start + HEAP_HDR;
  atomic_fetch_add_explicit(&ctl->cls[c].carved, n, memory_order_relaxed);
  /* The spare blocks wait in this process's shard, headers unwritten (an allocation
   * writes them); where another batch already waits there, they go to the free list. */
  uint64_t spare = n > 1 ? (n - 1) << HEAP_UNIT_BITS | (first + bytes) >> 4 : 0, none = 0;
  if (spare != 0 &&
      atomic_compare_exchange_strong_explicit(&ctl->shard[heap_shard_self()].batch[c], &none, spare,
                                              memory_order_release, memory_order_relaxed)) {
    heap_step(TUBO__HEAP_S_SPARED);
    *off = first;
    return 0;
  }
  /* Nobody else knows these blocks yet: plain writes, published by the push. */
  for (uint64_t i = 1; i < n; i++) {
    uint64_t x = first + i * bytes;
    struct heap_block *b = heap_block(h, x);
    atomic_store_explicit(&b->word, heap_word(HEAP_FREE, c, x), memory_order_relaxed);
    atomic_store_explicit(&b->next, i + 1 < n ? (x + bytes) >> 4 : 0, memory_order_relaxed);
  }
  heap_step(TUBO__HEAP_S_CHAINED);
  if (n > 1) {
    heap_push(h, c, first + bytes, first + (n - 1) * bytes);
    heap_step(TUBO__HEAP_S_SPARED);
  }
  *off = first;
  return 0;
}

/* Carves a page run of class c from the top and reserves its pages. */
static int heap_carve_run(const tubo__heap_t *h, unsigned c, uint64_t *off)
{
  struct tubo__heap_ctl *ctl = h->ctl;
  uint64_t bytes = (heap_run_pages(c) + 1) << h->page_shift;
  uint64_t carve = atomic_load_explicit(&ctl->carve, memory_order_acquire);
  uint64_t start;
  for (;;) {
    uint64_t lo, hi;
    int rc = heap_ends(h, carve, &lo, &hi);
    if (rc != 0)
      return rc;
    if (bytes > hi - lo)
      return TUBO_ESHM;
    start = hi - bytes;
    if (atomic_compare_exchange_weak_explicit(&ctl->carve, &carve, heap_carve_word(h, lo, start),
                                              memory_order_acq_rel, memory_order_acquire))
      break;
  }
  heap_step(TUBO__HEAP_S_RUN_CARVED);
  uint64_t x = start + h->page;
  if (heap_reserve(h, start, bytes) != 0) {
    /* No pages for it now: keep the run, without pages, in its list for later, if its
     * header's page can be had; else only its addresses are lost. */
    (void)heap_release(h, start, bytes);
    if (heap_reserve(h, start, h->page) == 0) {
      struct heap_block *b = heap_block(h, x);
      atomic_store_explicit(&b->word, heap_word(HEAP_PUNCHED, c, x), memory_order_relaxed);
      atomic_fetch_add_explicit(&ctl->cls[c].carved, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&ctl->cls[c].punched, 1, memory_order_relaxed);
      heap_push(h, c, x, x);
    }
    return TUBO_ESHM;
  }
  atomic_fetch_add_explicit(&ctl->cls[c].carved, 1, memory_order_relaxed);
  /* Mapped now, one system call: the caller is about to touch it. */
  tubo__os_prefault(h->base + start, (size_t)bytes);
  *off = x;
  return 0;
}

/* ---- The calls ---- */

int tubo__heap_alloc(tubo__heap_t *h, size_t size, unsigned flags, uint64_t *off)
{
  if (h == NULL || h->ctl == NULL || off == NULL || size == 0)
    return TUBO_EINVAL;
  if ((uint64_t)size > h->end)
    return (uint64_t)size >= TUBO__HEAP_MAX ? TUBO_ETOOBIG : TUBO_ESHM;
  int ci = heap_class_of(h, size);
  if (ci < 0)
    return TUBO_ETOOBIG;
  unsigned c = (unsigned)ci;
  struct heap_class *k = &h->ctl->cls[c];
  uint64_t x, w = 0;
  /* The free list first (the block freed last, likely still in a cache), then, for small
   * blocks, this process's carved batch, then a new batch; with the heap full, other
   * shards' batches. */
  int rc = heap_pop(h, c, &x, &w);
  if (rc < 0)
    return rc;
  int dirty = 0;
  if (rc == 0 && !heap_is_run(c))
    rc = heap_shard_take(h, heap_shard_self(), c, &x);
  if (rc < 0)
    return rc;
  if (rc == 0) {
    rc = heap_is_run(c) ? heap_carve_run(h, c, &x) : heap_carve_small(h, c, &x);
    if (rc == TUBO_ESHM && !heap_is_run(c))
      rc = heap_shard_steal(h, c, &x) == 1 ? 0 : TUBO_ESHM;
    if (rc != 0)
      return rc;
  } else if (w == 0) {
    /* from a carved batch: never handed out, its bytes still zero */
  } else if (heap_word_state(w) == HEAP_PUNCHED) {
    /* Reused: from now on this class keeps its runs' pages when they are freed. */
    if (atomic_load_explicit(&k->reuses, memory_order_relaxed) == 0)
      atomic_store_explicit(&k->reuses, 1, memory_order_relaxed);
    if (heap_reserve(h, x, heap_usable_bytes(h, c)) != 0) {
      (void)heap_release(h, x, heap_usable_bytes(h, c));
      heap_push(h, c, x, x);
      return TUBO_ESHM;
    }
    atomic_fetch_sub_explicit(&k->punched, 1, memory_order_relaxed);
    tubo__os_prefault(h->base + x, (size_t)heap_usable_bytes(h, c));
  } else {
    dirty = 1;
  }
  /* An allocated block's second word is the complement of its first: a header must be
   * overwritten consistently, not only in its class or state, to pass for another. */
  struct heap_block *b = heap_block(h, x);
  uint64_t word = heap_word(HEAP_ALLOC, c, x);
  atomic_store_explicit(&b->next, ~word, memory_order_relaxed);
  atomic_store_explicit(&b->word, word, memory_order_release);
  heap_step(TUBO__HEAP_S_ALLOCATED);
  atomic_fetch_add_explicit(&k->used, 1, memory_order_relaxed);
  if (dirty && (flags & TUBO__HEAP_ZERO))
    memset(h->base + x, 0, size);
  *off = x;
  return 0;
}

/* Reads the header of the allocated block at off: its class, or an error. */
static int heap_owned(const tubo__heap_t *h, uint64_t off, uint64_t *word, unsigned *cls)
{
  if (h == NULL || h->ctl == NULL || (off & (HEAP_HDR - 1)) != 0 || off < h->data + HEAP_HDR ||
      off >= h->end)
    return TUBO_EINVAL;
  const struct heap_block *b = heap_block(h, off);
  uint64_t w = atomic_load_explicit(&b->word, memory_order_acquire);
  if (!heap_word_ok(h, w, off, cls))
    return TUBO_ECORRUPT;
  if (heap_word_state(w) != HEAP_ALLOC)
    return TUBO_EINVAL;
  if (atomic_load_explicit(&b->next, memory_order_acquire) != ~w)
    /* Freed by another process meanwhile (a double free), or overwritten. */
    return atomic_load_explicit(&b->word, memory_order_acquire) != w ? TUBO_EINVAL : TUBO_ECORRUPT;
  *word = w;
  return 0;
}

int tubo__heap_free(tubo__heap_t *h, uint64_t off)
{
  uint64_t w;
  unsigned c;
  int rc = heap_owned(h, off, &w, &c);
  if (rc != 0)
    return rc;
  heap_step(TUBO__HEAP_S_FREE_CHECKED);
  /* Only one of two processes freeing the block at once gets past this. */
  struct heap_block *b = heap_block(h, off);
  if (!atomic_compare_exchange_strong_explicit(&b->word, &w, heap_word(HEAP_FREE, c, off),
                                               memory_order_acq_rel, memory_order_acquire))
    return heap_word_ok(h, w, off, &c) ? TUBO_EINVAL : TUBO_ECORRUPT;
  heap_step(TUBO__HEAP_S_MARKED_FREE);
  struct heap_class *k = &h->ctl->cls[c];
  atomic_fetch_sub_explicit(&k->used, 1, memory_order_relaxed);
  if (heap_is_run(c) && atomic_load_explicit(&k->reuses, memory_order_relaxed) == 0 &&
      heap_release(h, off, heap_usable_bytes(h, c)) == 0) {
    atomic_store_explicit(&b->word, heap_word(HEAP_PUNCHED, c, off), memory_order_relaxed);
    atomic_fetch_add_explicit(&k->punched, 1, memory_order_relaxed);
    heap_step(TUBO__HEAP_S_PUNCHED);
  }
  heap_push(h, c, off, off);
  return 0;
}

int tubo__heap_usable(const tubo__heap_t *h, uint64_t off, size_t *size)
{
  uint64_t w;
  unsigned c;
  if (size == NULL)
    return TUBO_EINVAL;
  int rc = heap_owned(h, off, &w, &c);
  if (rc != 0)
    return rc;
  *size = (size_t)heap_usable_bytes(h, c);
  return 0;
}

void tubo__heap_stats(const tubo__heap_t *h, tubo__heap_stats_t *st)
{
  memset(st, 0, sizeof *st);
  if (h == NULL || h->ctl == NULL)
    return;
  struct tubo__heap_ctl *ctl = h->ctl;
  st->bytes = h->end;
  uint64_t lo = h->data, hi = h->end;
  (void)heap_ends(h, atomic_load(&ctl->carve), &lo, &hi);
  st->carved = (lo - h->data) + (h->end - hi);
  uint64_t mark = atomic_load(&ctl->reserved);
  uint64_t small = mark < lo - h->data ? mark : lo - h->data;
  st->reserved = h->data + small;
  for (unsigned c = 0; c < HEAP_NCLASS; c++) {
    const struct heap_class *k = &ctl->cls[c];
    uint64_t used = atomic_load_explicit(&k->used, memory_order_relaxed);
    uint64_t bytes =
        heap_is_run(c) ? (heap_run_pages(c) + 1) << h->page_shift : heap_small_bytes(c);
    st->blocks += used;
    st->in_use += used * bytes;
    if (heap_is_run(c)) {
      uint64_t carved = atomic_load_explicit(&k->carved, memory_order_relaxed);
      uint64_t punched = atomic_load_explicit(&k->punched, memory_order_relaxed);
      st->reserved += carved * bytes - (punched < carved ? punched : carved) * (bytes - h->page);
    }
  }
}

int tubo__heap_check(const tubo__heap_t *h)
{
  if (h == NULL || h->ctl == NULL)
    return TUBO_EINVAL;
  uint64_t lo, hi;
  if (heap_ends(h, atomic_load(&h->ctl->carve), &lo, &hi) != 0)
    return TUBO_ECORRUPT;
  /* Every shard's batch lies among the carved small blocks. */
  for (unsigned s = 0; s < HEAP_NSHARD; s++)
    for (unsigned c = 0; c < HEAP_NSMALL; c++) {
      uint64_t w = atomic_load(&h->ctl->shard[s].batch[c]);
      uint64_t n = w >> HEAP_UNIT_BITS, x = (w & HEAP_UNIT_MASK) << 4;
      if (w != 0 && (n == 0 || n > HEAP_BATCH_MAX || !heap_fits(h, c, x) ||
                     x - HEAP_HDR + n * heap_small_bytes(c) > lo))
        return TUBO_ECORRUPT;
    }
  for (unsigned c = 0; c < HEAP_NCLASS; c++) {
    const struct heap_class *k = &h->ctl->cls[c];
    uint64_t carved = atomic_load(&k->carved);
    uint64_t used = atomic_load(&k->used);
    if (used > carved)
      return TUBO_ECORRUPT;
    uint64_t x = heap_head_off(atomic_load(&k->head)), n = 0;
    /* The counts are forgeable: the walk is also bounded by how many blocks of the class
     * the region holds, so that a cycle in the list ends it whatever they say. */
    uint64_t most = carved - used, fit = (h->end - h->data) / heap_usable_bytes(h, c) + 1;
    if (most > fit)
      most = fit;
    while (x != 0) {
      unsigned wc;
      if (++n > most || !heap_fits(h, c, x))
        return TUBO_ECORRUPT;
      /* Carved blocks lie below the small end or above the runs' end. */
      if (heap_is_run(c) ? x < hi : x > lo)
        return TUBO_ECORRUPT;
      const struct heap_block *b = heap_block(h, x);
      uint64_t w = atomic_load(&b->word);
      if (!heap_word_ok(h, w, x, &wc) || wc != c || heap_word_state(w) == HEAP_ALLOC)
        return TUBO_ECORRUPT;
      x = atomic_load(&b->next) << 4;
    }
  }
  return 0;
}

/* ---- Format and attach ---- */

uint64_t tubo__heap_format_id(void)
{
  return (uint64_t)HEAP_FORMAT << 32 | sizeof(struct tubo__heap_ctl);
}

/* What the identity word holds for a heap of this geometry and format: never 0. */
static uint64_t heap_ident(const tubo__heap_t *h)
{
  return 0x5042485542555400ull ^ (h->end >> 12 << 16) ^ ((uint64_t)h->page_shift << 8) ^
         tubo__fnv1a(TUBO__FNV_START, &(uint64_t){tubo__heap_format_id()}, sizeof(uint64_t));
}

static int heap_init(tubo__heap_t *h, void *base, uint64_t bytes,
                     const tubo__heap_backing_t *backing)
{
  if (h == NULL)
    return TUBO_EINVAL;
  memset(h, 0, sizeof *h);
  long page = sysconf(_SC_PAGESIZE);
  if (base == NULL || page < 4096 || (page & (page - 1)) != 0 ||
      ((uintptr_t)base & (uintptr_t)(page - 1)) != 0)
    return TUBO_EINVAL;
  h->page = (uint32_t)page;
  h->page_shift = (uint32_t)__builtin_ctzl((unsigned long)page);
  /* Offsets take 36 bits in units of 16 bytes: the region ends before 2^40. */
  uint64_t end = bytes < TUBO__HEAP_MAX ? bytes : TUBO__HEAP_MAX - h->page;
  end &= ~(uint64_t)(h->page - 1);
  uint64_t data = (sizeof(struct tubo__heap_ctl) + h->page - 1) & ~(uint64_t)(h->page - 1);
  /* Room for the header and one page run of the smallest class. */
  if (end < data + ((uint64_t)HEAP_RUN_PAGES0 + 1) * h->page)
    return TUBO_EINVAL;
  h->base = base;
  h->ctl = base;
  h->data = data;
  h->end = end;
  if (backing != NULL)
    h->backing = *backing;
  if (heap_reserve(h, 0, data) != 0) {
    memset(h, 0, sizeof *h);
    return TUBO_ESHM;
  }
  return 0;
}

int tubo__heap_format(tubo__heap_t *h, void *base, uint64_t bytes,
                      const tubo__heap_backing_t *backing)
{
  int rc = heap_init(h, base, bytes, backing);
  if (rc != 0)
    return rc;
  memset(h->ctl, 0, h->data);
  if (h->backing.release != NULL)
    (void)heap_release(h, h->data, h->end - h->data);
  atomic_store_explicit(&h->ctl->ident, heap_ident(h), memory_order_release);
  return 0;
}

int tubo__heap_attach(tubo__heap_t *h, void *base, uint64_t bytes,
                      const tubo__heap_backing_t *backing)
{
  int rc = heap_init(h, base, bytes, backing);
  if (rc != 0)
    return rc;
  uint64_t want = heap_ident(h), seen = 0;
  if (!atomic_compare_exchange_strong(&h->ctl->ident, &seen, want) && seen != want) {
    memset(h, 0, sizeof *h);
    return TUBO_ECORRUPT;
  }
  return 0;
}
