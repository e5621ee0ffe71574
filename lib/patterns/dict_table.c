/* SPDX-License-Identifier: MIT */
/* A dict in shared memory (dict.h, dict_layout.h): an open-addressing hash table of
 * 64-bit slots over immutable entries, read without locks and written under striped
 * locks.
 *
 * Reading. A reader reads its key's stripe sequence, probes the table from the key's
 * position (linear probing) to the key or an empty slot, copies what it found, and reads
 * the sequence again. Writers bump the sequence after every free of a block a reader may
 * hold (a replaced or deleted entry, a table after a resize), and before the free, so a
 * reader that saw the same sequence twice read blocks nobody freed meanwhile: its copy is
 * whole. Readers write nothing shared: they never wait for each other, and a reader
 * that dies leaves nothing behind. Between the two reads of the sequence a reader may
 * read freed memory (the heap stays mapped): every offset and length it reads is checked
 * before it is followed, and what does not check out is TUBO_ECORRUPT only if the
 * sequence did not move. A reader whose sequence moves DICT_TRIES times in a row reads
 * under the stripe's lock, so that it finishes however busy the writers are.
 *
 * Writing. A writer builds the new entry first (key and value copied outside any lock),
 * takes its stripe's lock, records the entry as pending, swaps it into the key's slot
 * with one store (or claims a free slot with a compare-and-swap: free slots are shared
 * by all stripes), updates the counts, bumps the sequence, releases the lock and frees
 * the old entry. Writers of different stripes share nothing but free slots and the
 * insertion counter. A write that fills the table past three quarters of its slots
 * resizes it: under every stripe's lock, it copies the slot words (entries stay where
 * they are) into a larger table, publishes it and bumps every sequence.
 *
 * Dying. The lock is patterns/lock.h's: a process that waits for a dead holder takes the
 * lock over, then repairs the stripe (dict_repair): frees the pending entry the dead
 * writer left if it never reached the table, frees the old one if it left the table,
 * counts the stripe's keys again, and finishes or undoes a resize or clear the dead
 * process had begun (its record names its tables). Every step of a write is one store
 * that leaves the table valid, so the repair never has to guess. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"
#include "patterns/dict.h"

void (*tubo__dict_step_hook)(enum tubo__dict_step step);

static inline void dict_step(enum tubo__dict_step s)
{
  if (__builtin_expect(tubo__dict_step_hook != NULL, 0))
    tubo__dict_step_hook(s);
}

/* Optimistic reads before a reader takes the stripe's lock. */
#define DICT_TRIES 16

/* A write that probes this far past its key's position asks for a resize, whatever the
 * counts say. Far enough that a table below three quarters full seldom gets there: the
 * longest run of taken slots among 100000 keys at 61% full is about 110 slots (at 75%,
 * about 300), and a resize of a large table costs every process that uses it the first
 * touch of each of the new table's pages, where a long probe costs one write a few lines
 * (256 slots are 32 lines). With 64, four processes inserting 80000 keys doubled their
 * 1 MiB table to 2 MiB in one run of six. */
#define DICT_PROBE_LONG 256

/* ---- Hashing ---- */

static inline uint64_t dict_mix(uint64_t h)
{
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

/* A 64-bit hash of the key, seeded per dict (keys chosen to collide in one dict do not in
 * another). Eight bytes a step. */
static uint64_t dict_hash(uint64_t seed, const char *k, size_t n)
{
  uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, k, 8);
    h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    k += 8;
    n -= 8;
  }
  /* The last 0..7 bytes in at most two loads (overlapping ones where n is not a power of
   * two: the length is mixed in too), never through a buffer the load must wait for. */
  uint64_t v = 0;
  if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, k, 4);
    memcpy(&b, k + n - 4, 4);
    v = (uint64_t)b << 32 | a;
  } else if (n > 0) {
    v = (uint64_t)(unsigned char)k[0] | (uint64_t)(unsigned char)k[n / 2] << 8 |
        (uint64_t)(unsigned char)k[n - 1] << 16;
  }
  h = (h ^ v ^ ((uint64_t)n << 56)) * 0x94d049bb133111ebull;
  return dict_mix(h);
}

/* ---- Checked access to shared memory ---- */

static inline uint64_t ld64(_Atomic uint64_t *p)
{
  return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void st64(_Atomic uint64_t *p, uint64_t v)
{
  atomic_store_explicit(p, v, memory_order_relaxed);
}

static inline dict_stripe_t *dict_stripe_of(const tubo__dcore_t *c, uint64_t hash)
{
  return &c->sh->stripe[hash & (DICT_STRIPES - 1)];
}

/* The table block at off, checked: identity, size, and that its slots are in the heap. */
static dict_table_t *dict_table_at(const tubo__dcore_t *c, uint64_t off, uint32_t *log2)
{
  dict_table_t *t = tubo__objheap_at(&c->mem, off, sizeof *t);
  if (t == NULL || ld64(&t->ident) != tubo__objheap_ident(DICT_ID_TABLE, off))
    return NULL;
  uint32_t l = atomic_load_explicit(&t->log2, memory_order_relaxed);
  if (l < DICT_LOG_MIN || l > DICT_LOG_MAX ||
      tubo__objheap_at(&c->mem, off, sizeof *t + (sizeof(uint64_t) << l)) == NULL)
    return NULL;
  *log2 = l;
  return t;
}

/* The entry at off, checked: identity, and its key and value inside the heap. Each field
 * is read once: a reader may be looking at a block being rewritten. */
static dict_entry_t *dict_entry_at(const tubo__dcore_t *c, uint64_t off, uint32_t *klen,
                                   uint64_t *vlen)
{
  dict_entry_t *e = tubo__objheap_at(&c->mem, off, sizeof *e);
  if (e == NULL || ld64(&e->ident) != tubo__objheap_ident(DICT_ID_ENTRY, off))
    return NULL;
  uint64_t lens = ld64(&e->lens);
  uint32_t k = (uint32_t)(lens >> DICT_VLEN_BITS);
  uint64_t v = lens & (((uint64_t)1 << DICT_VLEN_BITS) - 1);
  if (k > TUBO__DICT_KEY_MAX || v > TUBO__HEAP_MAX ||
      tubo__objheap_at(&c->mem, off, dict_entry_vpos(k) + v) == NULL)
    return NULL;
  *klen = k;
  *vlen = v;
  return e;
}

static inline const unsigned char *dict_value(const dict_entry_t *e, uint32_t klen)
{
  return (const unsigned char *)e + dict_entry_vpos(klen);
}

/* ---- Finding a key ---- */

typedef struct dict_find {
  dict_table_t *t;
  uint64_t toff;
  uint32_t log2;
  uint64_t idx;    /* the key's slot when found, else the empty slot that ended the probe */
  uint64_t probe;  /* slots probed */
  dict_entry_t *e; /* found: the entry, its offset and lengths */
  uint64_t eoff;
  uint32_t klen;
  uint64_t vlen;
} dict_find_t;

/* Looks the key up in the current table. Returns 1 (found), 0 (missing), or
 * TUBO_ECORRUPT when a table or entry was not what it should be. */
static int dict_find(const tubo__dcore_t *c, uint64_t hash, const char *key, size_t klen,
                     dict_find_t *f)
{
  f->toff = atomic_load_explicit(&c->sh->table, memory_order_acquire);
  f->t = dict_table_at(c, f->toff, &f->log2);
  if (f->t == NULL)
    return TUBO_ECORRUPT;
  uint64_t mask = ((uint64_t)1 << f->log2) - 1, tag = hash >> DICT_TAG_SHIFT;
  uint64_t i = hash >> (64 - f->log2);
  for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
    uint64_t w = atomic_load_explicit(&f->t->slot[i], memory_order_acquire);
    if (w == 0) {
      f->idx = i;
      f->probe = n;
      return 0;
    }
    if (!dict_slot_entry(w)) {
      if (w != DICT_TOMB)
        return TUBO_ECORRUPT;
      continue;
    }
    if (w >> DICT_TAG_SHIFT != tag)
      continue;
    uint64_t off = dict_slot_off(w);
    uint32_t kl;
    uint64_t vl;
    dict_entry_t *e = dict_entry_at(c, off, &kl, &vl);
    if (e == NULL)
      return TUBO_ECORRUPT;
    if (kl != klen || memcmp(e->key, key, klen) != 0)
      continue;
    *f = (dict_find_t){f->t, f->toff, f->log2, i, n, e, off, kl, vl};
    return 1;
  }
  f->idx = (uint64_t)-1; /* no empty slot at all */
  f->probe = mask + 1;
  return 0;
}

/* ---- Locks, and repairs after a dead holder ---- */

/* Bumps a stripe's sequence: readers that started before it read again. The fence keeps
 * the frees that follow from being seen before the bump. */
static void dict_bump(dict_stripe_t *st)
{
  atomic_fetch_add_explicit(&st->seq, 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
}

static void dict_bump_all(tubo__dcore_t *c)
{
  for (unsigned s = 0; s < DICT_STRIPES; s++)
    atomic_fetch_add_explicit(&c->sh->stripe[s].seq, 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
}

/* Whether the current table holds the entry at off. */
static int dict_referenced(const tubo__dcore_t *c, uint64_t off)
{
  uint64_t toff = atomic_load_explicit(&c->sh->table, memory_order_acquire);
  uint32_t log2;
  dict_table_t *t = dict_table_at(c, toff, &log2);
  if (t == NULL)
    return 1; /* cannot tell: keep the block (a leak, never a double free) */
  for (uint64_t i = 0; i < (uint64_t)1 << log2; i++) {
    uint64_t w = atomic_load_explicit(&t->slot[i], memory_order_acquire);
    if (dict_slot_entry(w) && dict_slot_off(w) == off)
      return 1;
  }
  return 0;
}

/* Frees the entries a table holds, emptying each slot first (so that a repair after a
 * death here never frees one twice); then the table. */
static void dict_free_table(tubo__dcore_t *c, uint64_t toff, int entries_too)
{
  uint32_t log2;
  dict_table_t *t = dict_table_at(c, toff, &log2);
  if (t == NULL)
    return;
  if (entries_too)
    for (uint64_t i = 0; i < (uint64_t)1 << log2; i++) {
      uint64_t w = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
      if (!dict_slot_entry(w))
        continue;
      st64(&t->slot[i], 0);
      (void)tubo__objheap_free(&c->mem, dict_slot_off(w));
    }
  st64(&t->ident, 0);
  (void)tubo__objheap_free(&c->mem, toff);
}

/* Slots of the current table that are not empty (keys and tombs), after a repair. */
static uint64_t dict_count_used(const tubo__dcore_t *c)
{
  uint32_t log2;
  dict_table_t *t = dict_table_at(c, ld64(&c->sh->table), &log2);
  uint64_t n = 0;
  for (uint64_t i = 0; t != NULL && i < (uint64_t)1 << log2; i++)
    n += ld64(&t->slot[i]) != 0;
  return n;
}

/* Finishes or undoes the resize or clear of a process that died doing it. Runs with one
 * stripe lock taken over from a dead holder; the record says which tables are whose. */
static void dict_rs_repair(tubo__dcore_t *c)
{
  dict_head_t *sh = c->sh;
  uint32_t pid = atomic_load_explicit(&sh->rs_pid, memory_order_acquire);
  if (pid == 0 || tubo__os_pid_alive((pid_t)pid))
    return;
  /* The dead process held every stripe lock: those who take them over may get here
   * together; one repairs. */
  if (!atomic_compare_exchange_strong(&sh->rs_pid, &pid, 0))
    return;
  uint32_t kind = atomic_load(&sh->rs_kind);
  uint64_t nw = atomic_load(&sh->rs_new), old = atomic_load(&sh->rs_old);
  if (nw == 0 || old == 0)
    return;
  if (atomic_load(&sh->table) == nw) {
    dict_bump_all(c); /* readers may hold the old table or its entries */
    dict_free_table(c, old, kind == DICT_RS_CLEAR);
  } else {
    dict_free_table(c, nw, 0); /* never published: the old table is whole */
  }
  atomic_store(&sh->rs_new, 0);
  atomic_store(&sh->rs_old, 0);
  atomic_store(&sh->used, dict_count_used(c));
}

/* Counts the keys of stripe s in the current table (after a repair). */
static uint64_t dict_count_stripe(const tubo__dcore_t *c, unsigned s)
{
  uint32_t log2;
  dict_table_t *t = dict_table_at(c, ld64(&c->sh->table), &log2);
  uint64_t n = 0;
  for (uint64_t i = 0; t != NULL && i < (uint64_t)1 << log2; i++) {
    uint64_t w = ld64(&t->slot[i]);
    uint32_t kl;
    uint64_t vl;
    dict_entry_t *e = dict_slot_entry(w) ? dict_entry_at(c, dict_slot_off(w), &kl, &vl) : NULL;
    if (e != NULL && (dict_hash(c->sh->seed, e->key, kl) & (DICT_STRIPES - 1)) == s)
      n++;
  }
  return n;
}

/* After this process took a stripe's lock over from a dead writer: puts the stripe in
 * order again (see the file's comment). */
static void dict_repair(tubo__dcore_t *c, dict_stripe_t *st)
{
  dict_rs_repair(c);
  uint64_t pn = ld64(&st->pend_new), po = ld64(&st->pend_old);
  if (pn != 0 && !dict_referenced(c, pn))
    (void)tubo__objheap_free(&c->mem, pn);
  if (po != 0 && !dict_referenced(c, po)) {
    dict_bump(st);
    (void)tubo__objheap_free(&c->mem, po);
  }
  st64(&st->pend_new, 0);
  st64(&st->pend_old, 0);
  st64(&st->count, dict_count_stripe(c, (unsigned)(st - c->sh->stripe)));
}

static void dict_lock(tubo__dcore_t *c, dict_stripe_t *st)
{
  if (tubo__lock_take(&st->lock) == TUBO_EPEER)
    dict_repair(c, st);
}

static void dict_unlock(dict_stripe_t *st)
{
  (void)tubo__lock_release(&st->lock);
}

static void dict_lock_all(tubo__dcore_t *c)
{
  for (unsigned s = 0; s < DICT_STRIPES; s++)
    dict_lock(c, &c->sh->stripe[s]);
}

static void dict_unlock_all(tubo__dcore_t *c)
{
  for (unsigned s = DICT_STRIPES; s-- > 0;)
    dict_unlock(&c->sh->stripe[s]);
}

/* ---- Making and joining ---- */

static int dict_table_new(tubo__dcore_t *c, uint32_t log2, uint64_t *off, dict_table_t **t)
{
  size_t bytes = sizeof(dict_table_t) + (sizeof(uint64_t) << log2);
  int rc = tubo__objheap_alloc(&c->mem, bytes, TUBO__HEAP_ZERO, off);
  if (rc != 0)
    return rc;
  *t = tubo__objheap_at(&c->mem, *off, bytes);
  if (*t == NULL)
    return TUBO_ECORRUPT;
  atomic_store_explicit(&(*t)->log2, log2, memory_order_relaxed);
  atomic_store_explicit(&(*t)->ident, tubo__objheap_ident(DICT_ID_TABLE, *off),
                        memory_order_release);
  return 0;
}

int tubo__dcore_make_at(const tubo__objheap_t *mem, uint64_t off, tubo__dcore_t *c)
{
  c->mem = *mem;
  c->off = off;
  c->sh = tubo__objheap_at(mem, off, sizeof(dict_head_t));
  if (c->sh == NULL)
    return TUBO_ECORRUPT;
  memset(c->sh, 0, sizeof *c->sh);
  uint64_t seed = 0;
  if (tubo__os_random(&seed, sizeof seed) != 0)
    seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ tubo__os_now_ns();
  c->sh->seed = seed;
  uint64_t toff;
  dict_table_t *t;
  int rc = dict_table_new(c, DICT_LOG_MIN, &toff, &t);
  if (rc != 0)
    return rc;
  atomic_store_explicit(&c->sh->table, toff, memory_order_relaxed);
  atomic_store_explicit(&c->sh->ident, tubo__objheap_ident(DICT_ID_HEAD, off),
                        memory_order_release);
  return 0;
}

int tubo__dcore_make(const tubo__objheap_t *mem, tubo__dcore_t *c)
{
  uint64_t off;
  int rc = tubo__objheap_alloc(mem, sizeof(dict_head_t), 0, &off);
  if (rc != 0)
    return rc;
  rc = tubo__dcore_make_at(mem, off, c);
  if (rc != 0)
    (void)tubo__objheap_free(mem, off);
  return rc;
}

int tubo__dcore_attach(const tubo__objheap_t *mem, uint64_t off, tubo__dcore_t *c)
{
  c->mem = *mem;
  c->off = off;
  c->sh = tubo__objheap_at(mem, off, sizeof(dict_head_t));
  return tubo__dcore_check(c);
}

int tubo__dcore_check(const tubo__dcore_t *c)
{
  if (c->sh == NULL || atomic_load_explicit(&c->sh->ident, memory_order_acquire) !=
                           tubo__objheap_ident(DICT_ID_HEAD, c->off))
    return TUBO_ECORRUPT;
  return 0;
}

void tubo__dcore_empty(tubo__dcore_t *c)
{
  if (tubo__dcore_check(c) != 0)
    return;
  dict_lock_all(c); /* repairs what a dead writer left */
  dict_free_table(c, ld64(&c->sh->table), 1);
  st64(&c->sh->table, 0);
  dict_unlock_all(c);
}

void tubo__dcore_destroy(tubo__dcore_t *c)
{
  if (tubo__dcore_check(c) != 0)
    return;
  tubo__dcore_empty(c);
  st64(&c->sh->ident, 0);
  (void)tubo__objheap_free(&c->mem, c->off);
  c->sh = NULL;
}

/* ---- Resizing and clearing ---- */

/* Copies every key's slot word of t (log2) into the empty table nt (nlog2): a key's
 * position in any table follows from the tag its word keeps. */
static void dict_rehash(dict_table_t *t, uint32_t log2, dict_table_t *nt, uint32_t nlog2)
{
  uint64_t nmask = ((uint64_t)1 << nlog2) - 1;
  for (uint64_t i = 0; i < (uint64_t)1 << log2; i++) {
    uint64_t w = ld64(&t->slot[i]);
    if (!dict_slot_entry(w))
      continue;
    uint64_t j = (w >> DICT_TAG_SHIFT) >> (DICT_LOG_MAX - nlog2);
    while (ld64(&nt->slot[j]) != 0)
      j = (j + 1) & nmask;
    st64(&nt->slot[j], w);
  }
}

/* The size for live keys: at most half full, so that it takes half as many inserts again
 * before the next resize at three quarters; an eighth while the table is small (up to
 * DICT_LOG_FAST), so that a growing dict resizes less often while a resize costs little
 * memory. A large table is kept that dense because every process that uses it pays for
 * each of its pages the first time it touches it: on this project's virtual machine
 * about 7 us a page and process (doc/benchmarks.md), which for four processes inserting
 * 80000 keys was more than their probes of the table cost. Growing sixteenfold to 131072
 * slots, so as to skip the 65536-slot table, made those four processes 1.1x faster and
 * one process writing 20000 keys (then in 1 MiB, not 512 KiB) 0.86x: not kept
 * (doc/benchmarks.md, dict22). */
#define DICT_LOG_FAST 16u
static uint32_t dict_log_for(uint64_t live)
{
  uint32_t l = DICT_LOG_MIN;
  while (l < DICT_LOG_MAX && ((uint64_t)1 << l) < (l < DICT_LOG_FAST ? 8 : 2) * live)
    l++;
  return l;
}

/* Resizes (or, with clear, empties) the table under every stripe lock. seen is the table
 * the caller found too full (0 for a clear): another process may have resized it since.
 * Returns 0, or TUBO_ESHM when the new table cannot be had (the old one stays). */
static int dict_resize(tubo__dcore_t *c, uint64_t seen, int clear)
{
  dict_head_t *sh = c->sh;
  dict_lock_all(c);
  uint64_t toff = ld64(&sh->table);
  uint32_t log2;
  dict_table_t *t = dict_table_at(c, toff, &log2);
  int rc = t == NULL ? TUBO_ECORRUPT : 0;
  if (rc == 0 && !clear && toff != seen) {
    dict_unlock_all(c);
    return 0; /* resized by another process meanwhile */
  }
  uint64_t live = 0;
  for (unsigned s = 0; s < DICT_STRIPES && !clear; s++)
    live += ld64(&sh->stripe[s].count);
  uint32_t nlog2 = clear ? DICT_LOG_MIN : dict_log_for(live);
  /* At the largest size, a rehash helps only where tombs fill the table. */
  if (rc == 0 && !clear && nlog2 == log2 && ld64(&sh->used) - live < ((uint64_t)1 << log2) / 8) {
    dict_unlock_all(c);
    return 0;
  }
  uint64_t noff = 0;
  dict_table_t *nt = NULL;
  if (rc == 0)
    rc = dict_table_new(c, nlog2, &noff, &nt);
  if (rc != 0) {
    dict_unlock_all(c);
    return rc;
  }
  atomic_store(&sh->rs_kind, clear ? DICT_RS_CLEAR : DICT_RS_RESIZE);
  atomic_store(&sh->rs_old, toff);
  atomic_store(&sh->rs_new, noff);
  atomic_store(&sh->rs_pid, (uint32_t)getpid());
  if (!clear)
    dict_rehash(t, log2, nt, nlog2);
  dict_step(TUBO__DICT_S_RS_MADE);
  atomic_store_explicit(&sh->table, noff, memory_order_release);
  dict_step(TUBO__DICT_S_RS_SWAPPED);
  dict_bump_all(c);
  if (clear) {
    dict_free_table(c, toff, 1);
    for (unsigned s = 0; s < DICT_STRIPES; s++)
      st64(&sh->stripe[s].count, 0);
  }
  st64(&sh->used, live);
  atomic_store(&sh->rs_pid, 0);
  atomic_store(&sh->rs_new, 0);
  atomic_store(&sh->rs_old, 0);
  dict_unlock_all(c);
  if (!clear)
    dict_free_table(c, toff, 0);
  return 0;
}

int tubo__dcore_clear(tubo__dcore_t *c)
{
  return dict_resize(c, 0, 1);
}

/* ---- Reading ---- */

/* What a read does with the entry it found (e is NULL when the key is missing): copies it
 * out. Called again from scratch when the read starts over. */
typedef struct dict_out {
  int (*copy)(struct dict_out *o, const dict_entry_t *e, uint32_t klen, uint64_t vlen);
  void *buf;
  size_t cap;
  size_t len;
  uint64_t stamp;
} dict_out_t;

/* Reads key through o: 1 found, 0 missing, or an error (o's own, or TUBO_ECORRUPT). */
static int dict_read(tubo__dcore_t *c, const char *key, size_t klen, dict_out_t *o)
{
  uint64_t h = dict_hash(c->sh->seed, key, klen);
  dict_stripe_t *st = dict_stripe_of(c, h);
  dict_find_t f;
  for (int tries = 0; tries < DICT_TRIES; tries++) {
    uint64_t s1 = atomic_load_explicit(&st->seq, memory_order_acquire);
    int found = dict_find(c, h, key, klen, &f);
    int rc = found < 0 ? found : o->copy(o, found ? f.e : NULL, f.klen, f.vlen);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&st->seq, memory_order_relaxed) == s1)
      return rc < 0 ? rc : found;
  }
  /* Writers keep changing the stripe: read where they cannot. */
  dict_lock(c, st);
  int found = dict_find(c, h, key, klen, &f);
  int rc = found < 0 ? found : o->copy(o, found ? f.e : NULL, f.klen, f.vlen);
  dict_unlock(st);
  return rc < 0 ? rc : found;
}

static int dict_copy_buf(dict_out_t *o, const dict_entry_t *e, uint32_t klen, uint64_t vlen)
{
  if (e == NULL)
    return 0;
  o->len = (size_t)vlen;
  size_t n = vlen < o->cap ? (size_t)vlen : o->cap;
  if (n > 0)
    memcpy(o->buf, dict_value(e, klen), n);
  return vlen > o->cap ? TUBO_ETRUNC : 0;
}

int tubo__dcore_get(tubo__dcore_t *c, const char *key, size_t klen, void *buf, size_t cap,
                    size_t *len)
{
  dict_out_t o = {dict_copy_buf, buf, cap, 0, 0};
  int rc = dict_read(c, key, klen, &o);
  if (rc == 0)
    return TUBO_ENOKEY;
  if (rc == 1 || rc == TUBO_ETRUNC) {
    if (len != NULL)
      *len = o.len;
    return rc == 1 ? 0 : rc;
  }
  return rc;
}

static int dict_copy_alloc(dict_out_t *o, const dict_entry_t *e, uint32_t klen, uint64_t vlen)
{
  if (e == NULL)
    return 0;
  if (vlen > SIZE_MAX)
    return TUBO_ENOMEM;
  if (vlen > o->cap || (vlen > 0 && o->buf == NULL)) {
    void *p = realloc(o->buf, (size_t)vlen);
    if (p == NULL)
      return TUBO_ENOMEM;
    o->buf = p;
    o->cap = (size_t)vlen;
  }
  if (vlen > 0)
    memcpy(o->buf, dict_value(e, klen), (size_t)vlen);
  o->len = (size_t)vlen;
  o->stamp = ld64((_Atomic uint64_t *)&e->stamp);
  return 0;
}

int tubo__dcore_get_alloc(tubo__dcore_t *c, const char *key, size_t klen, void **buf, size_t *len,
                          uint64_t *stamp)
{
  dict_out_t o = {dict_copy_alloc, NULL, 0, 0, 0};
  int rc = dict_read(c, key, klen, &o);
  if (rc != 1 || o.len == 0) {
    free(o.buf);
    o.buf = NULL;
  }
  if (rc == 0)
    rc = TUBO_ENOKEY;
  if (rc < 0)
    return rc;
  *buf = o.buf;
  if (len != NULL)
    *len = o.len;
  if (stamp != NULL)
    *stamp = o.stamp;
  return 0;
}

static int dict_copy_none(dict_out_t *o, const dict_entry_t *e, uint32_t klen, uint64_t vlen)
{
  (void)o;
  (void)e;
  (void)klen;
  (void)vlen;
  return 0;
}

int tubo__dcore_contains(tubo__dcore_t *c, const char *key, size_t klen, int *found)
{
  dict_out_t o = {dict_copy_none, NULL, 0, 0, 0};
  int rc = dict_read(c, key, klen, &o);
  if (rc < 0)
    return rc;
  *found = rc;
  return 0;
}

/* Takes over the stripes whose lock a dead process holds, which repairs them: their
 * counts, read without a lock, are right again. A lock's word names its holder. */
static void dict_reap(tubo__dcore_t *c)
{
  uint32_t me = tubo__lock_self();
  for (unsigned s = 0; s < DICT_STRIPES; s++) {
    dict_stripe_t *st = &c->sh->stripe[s];
    uint32_t owner = atomic_load_explicit(&st->lock.owner, memory_order_relaxed);
    if (owner != 0 && owner != me && (owner > INT32_MAX || !tubo__os_pid_alive((pid_t)owner))) {
      dict_lock(c, st);
      dict_unlock(st);
    }
  }
}

int tubo__dcore_len(tubo__dcore_t *c, size_t *n)
{
  dict_reap(c);
  uint64_t sum = 0;
  for (unsigned s = 0; s < DICT_STRIPES; s++)
    sum += ld64(&c->sh->stripe[s].count);
  *n = (size_t)sum;
  return 0;
}

/* ---- Writing ---- */

/* A new entry for key and val, filled outside any lock; order and stamp come later. */
static int dict_entry_new(tubo__dcore_t *c, const char *key, size_t klen, const void *val,
                          size_t len, uint64_t *off)
{
  uint64_t vpos = dict_entry_vpos(klen);
  if (len > TUBO__HEAP_MAX - vpos)
    return TUBO_ETOOBIG;
  int rc = tubo__objheap_alloc(&c->mem, (size_t)(vpos + len), 0, off);
  if (rc != 0)
    return rc;
  dict_entry_t *e = tubo__objheap_at(&c->mem, *off, (size_t)(vpos + len));
  if (e == NULL) {
    (void)tubo__objheap_free(&c->mem, *off);
    return TUBO_ECORRUPT;
  }
  st64(&e->lens, dict_lens(klen, len));
  memcpy(e->key, key, klen);
  memset(e->key + klen, 0, (size_t)(vpos - sizeof *e - klen));
  if (len > 0)
    memcpy((unsigned char *)e + vpos, val, len);
  st64(&e->ident, tubo__objheap_ident(DICT_ID_ENTRY, *off));
  return 0;
}

/* With the stripe locked and the key found in f (or not): puts the new entry (at noff)
 * in, in place of the old one or in a free slot. *old gets the entry to free once the
 * lock is released (0: none); *grow is set when the table should grow. */
static int dict_put_locked(tubo__dcore_t *c, dict_stripe_t *st, dict_find_t *f, int found,
                           uint64_t hash, uint64_t noff, uint64_t *old, int *grow)
{
  dict_entry_t *ne = tubo__objheap_at(&c->mem, noff, sizeof *ne);
  uint64_t word = dict_slot(hash, noff);
  *old = 0;
  st64(&st->pend_new, noff);
  dict_step(TUBO__DICT_S_PENDING);
  uint64_t writes = ld64(&st->writes) + 1;
  st64(&st->writes, writes);
  st64(&ne->stamp, writes << 8 | (uint64_t)(st - c->sh->stripe));
  if (found) {
    st64(&ne->order, ld64(&f->e->order));
    st64(&st->pend_old, f->eoff);
    atomic_store_explicit(&f->t->slot[f->idx], word, memory_order_release);
    dict_step(TUBO__DICT_S_PUBLISHED);
    dict_bump(st);
    dict_step(TUBO__DICT_S_COUNTED);
    *old = f->eoff;
  } else {
    st64(&ne->order, atomic_fetch_add_explicit(&c->sh->order, 1, memory_order_relaxed));
    /* The first free slot from the key's position: other stripes' writers claim free
     * slots too, so each is taken with a compare-and-swap. */
    uint64_t mask = ((uint64_t)1 << f->log2) - 1, i = hash >> (64 - f->log2), n = 0;
    for (; n <= mask; n++, i = (i + 1) & mask) {
      uint64_t w = atomic_load_explicit(&f->t->slot[i], memory_order_acquire);
      if ((w == 0 || w == DICT_TOMB) &&
          atomic_compare_exchange_strong_explicit(&f->t->slot[i], &w, word, memory_order_release,
                                                  memory_order_relaxed)) {
        if (w == 0)
          atomic_fetch_add_explicit(&c->sh->used, 1, memory_order_relaxed);
        break;
      }
    }
    if (n > mask) {
      st64(&st->pend_new, 0);
      *grow = 1;
      return TUBO_ESHM; /* every slot taken: the caller frees the entry */
    }
    dict_step(TUBO__DICT_S_PUBLISHED);
    st64(&st->count, ld64(&st->count) + 1);
    dict_step(TUBO__DICT_S_COUNTED);
    if (n > DICT_PROBE_LONG)
      *grow = 1;
  }
  st64(&st->pend_old, 0);
  st64(&st->pend_new, 0);
  if (4 * ld64(&c->sh->used) > (uint64_t)3 << f->log2)
    *grow = 1; /* three quarters: linear probing stays short (about 8 slots to insert) */
  return 0;
}

/* After a write, outside its lock: frees the old entry, resizes if asked. A table that
 * cannot grow is no error while it has room. */
static void dict_after_write(tubo__dcore_t *c, uint64_t old, int grow, uint64_t toff)
{
  if (old != 0)
    (void)tubo__objheap_free(&c->mem, old);
  if (grow)
    (void)dict_resize(c, toff, 0);
}

/* Sets key, or (with check) only while its stamp is still expect. */
static int dict_set(tubo__dcore_t *c, const char *key, size_t klen, const void *val, size_t len,
                    int check, uint64_t expect)
{
  uint64_t h = dict_hash(c->sh->seed, key, klen);
  dict_stripe_t *st = dict_stripe_of(c, h);
  uint64_t noff;
  int rc = dict_entry_new(c, key, klen, val, len, &noff);
  if (rc != 0)
    return rc;
  for (int attempt = 0;; attempt++) {
    dict_lock(c, st);
    st64(&st->pend_new, noff); /* from here on, a repair frees it if it is not used */
    dict_step(TUBO__DICT_S_LOCKED);
    dict_find_t f;
    int found = dict_find(c, h, key, klen, &f);
    if (found >= 0 && check && (found ? ld64(&f.e->stamp) : 0) != expect)
      found = TUBO_EAGAIN;
    uint64_t old = 0;
    int grow = 0;
    rc = found < 0 ? found : dict_put_locked(c, st, &f, found, h, noff, &old, &grow);
    st64(&st->pend_new, 0); /* published, or still the caller's to free */
    dict_unlock(st);
    dict_after_write(c, old, grow, f.toff);
    /* A full table grows once, and the write is tried again. */
    if (rc != TUBO_ESHM || attempt > 0 || !grow)
      break;
  }
  if (rc != 0)
    (void)tubo__objheap_free(&c->mem, noff);
  return rc;
}

int tubo__dcore_set(tubo__dcore_t *c, const char *key, size_t klen, const void *val, size_t len)
{
  return dict_set(c, key, klen, val, len, 0, 0);
}

int tubo__dcore_cas(tubo__dcore_t *c, const char *key, size_t klen, uint64_t stamp, const void *val,
                    size_t len)
{
  return dict_set(c, key, klen, val, len, 1, stamp);
}

static void dict_del_locked(tubo__dcore_t *c, dict_stripe_t *st, dict_find_t *f);

/* The start of a write on key: its hash (*h), its stripe (*st) locked, and key looked up
 * (f). Returns what dict_find does. */
static int dict_lock_find(tubo__dcore_t *c, const char *key, size_t klen, uint64_t *h,
                          dict_stripe_t **st, dict_find_t *f)
{
  *h = dict_hash(c->sh->seed, key, klen);
  *st = dict_stripe_of(c, *h);
  dict_lock(c, *st);
  dict_step(TUBO__DICT_S_LOCKED);
  return dict_find(c, *h, key, klen, f);
}

/* Deletes key: tubo__dcore_del (cas 0: TUBO_ENOKEY where it is missing), or tubo__dcore_cad
 * (cas 1: only if the key's stamp, 0 where it is missing, is stamp; else TUBO_EAGAIN). */
static int dict_del(tubo__dcore_t *c, const char *key, size_t klen, int cas, uint64_t stamp)
{
  uint64_t h;
  dict_stripe_t *st;
  dict_find_t f;
  int found = dict_lock_find(c, key, klen, &h, &st, &f);
  int rc = found < 0 ? found : 0;
  if (rc == 0 && cas)
    rc = (found ? ld64(&f.e->stamp) : 0) != stamp ? TUBO_EAGAIN : 0;
  else if (rc == 0 && !found)
    rc = TUBO_ENOKEY;
  if (rc == 0 && found == 1)
    dict_del_locked(c, st, &f);
  dict_unlock(st);
  if (rc == 0 && found == 1)
    (void)tubo__objheap_free(&c->mem, f.eoff);
  return rc;
}

int tubo__dcore_cad(tubo__dcore_t *c, const char *key, size_t klen, uint64_t stamp)
{
  return dict_del(c, key, klen, 1, stamp);
}

/* With the stripe locked and the key found in f: replaces its slot with a tomb. */
static void dict_del_locked(tubo__dcore_t *c, dict_stripe_t *st, dict_find_t *f)
{
  (void)c;
  st64(&st->pend_old, f->eoff);
  dict_step(TUBO__DICT_S_PENDING);
  atomic_store_explicit(&f->t->slot[f->idx], DICT_TOMB, memory_order_release);
  dict_step(TUBO__DICT_S_PUBLISHED);
  st64(&st->count, ld64(&st->count) - 1);
  dict_bump(st);
  dict_step(TUBO__DICT_S_COUNTED);
  st64(&st->pend_old, 0);
}

int tubo__dcore_del(tubo__dcore_t *c, const char *key, size_t klen)
{
  return dict_del(c, key, klen, 0, 0);
}

int tubo__dcore_update(tubo__dcore_t *c, const char *key, size_t klen, tubo_dict_update_fn fn,
                       void *arg)
{
  uint64_t h;
  dict_stripe_t *st;
  dict_find_t f;
  int found = dict_lock_find(c, key, klen, &h, &st, &f);
  int rc = found < 0 ? found : 0;
  /* fn works on a private copy of the value, as large as it asks. */
  size_t cap = 0, len = 0;
  unsigned char *buf = NULL;
  for (size_t want = found == 1 && f.vlen > 64 ? (size_t)f.vlen : 64; rc == 0;) {
    unsigned char *p = want > cap ? realloc(buf, want) : buf;
    if (p == NULL) {
      rc = TUBO_ENOMEM;
      break;
    }
    buf = p;
    cap = want > cap ? want : cap;
    len = found == 1 ? (size_t)f.vlen : TUBO_DICT_MISSING;
    if (found == 1)
      memcpy(buf, dict_value(f.e, f.klen), len);
    rc = fn(buf, &len, cap, arg);
    if (rc != 0 || len == TUBO_DICT_MISSING || len <= cap)
      break;
    want = len;
  }
  uint64_t old = 0, noff = 0;
  int grow = 0;
  if (rc == 0 && len == TUBO_DICT_MISSING) {
    if (found == 1) {
      dict_del_locked(c, st, &f);
      old = f.eoff;
    }
  } else if (rc == 0) {
    rc = dict_entry_new(c, key, klen, buf, len, &noff);
    if (rc == 0)
      rc = dict_put_locked(c, st, &f, found, h, noff, &old, &grow);
    if (rc != 0 && noff != 0)
      (void)tubo__objheap_free(&c->mem, noff);
  }
  dict_unlock(st);
  free(buf);
  if (found >= 0)
    dict_after_write(c, old, grow, f.toff);
  return rc > 0 ? 0 : rc;
}

/* ---- Keys ---- */

typedef struct dict_key_ref {
  uint64_t order;
  size_t pos; /* in the copy */
  size_t len;
} dict_key_ref_t;

static int dict_key_cmp(const void *a, const void *b)
{
  const dict_key_ref_t *x = a, *y = b;
  return x->order < y->order ? -1 : x->order > y->order;
}

int tubo__dcore_keys_packed(tubo__dcore_t *c, char **packed, size_t *bytes, size_t *n)
{
  /* Under every stripe lock, the keys are copied as the table holds them: a snapshot.
   * Then, unlocked, they are put in insertion order. */
  dict_lock_all(c);
  uint32_t log2;
  dict_table_t *t = dict_table_at(c, ld64(&c->sh->table), &log2);
  int rc = t == NULL ? TUBO_ECORRUPT : 0;
  size_t count = 0, nrefs = 0, total = 0, room = 0;
  dict_key_ref_t *refs = NULL;
  char *copy = NULL;
  for (uint64_t i = 0; rc == 0 && i < (uint64_t)1 << log2; i++) {
    uint64_t w = ld64(&t->slot[i]);
    if (!dict_slot_entry(w))
      continue;
    uint32_t kl;
    uint64_t vl;
    dict_entry_t *e = dict_entry_at(c, dict_slot_off(w), &kl, &vl);
    if (e == NULL) {
      rc = TUBO_ECORRUPT;
      break;
    }
    if (count == nrefs) {
      dict_key_ref_t *r = realloc(refs, (nrefs ? 2 * nrefs : 16) * sizeof *r);
      if (r == NULL) {
        rc = TUBO_ENOMEM;
        break;
      }
      refs = r;
      nrefs = nrefs ? 2 * nrefs : 16;
    }
    if (total + kl + 1 > room) {
      size_t want = room ? 2 * room : 4096;
      while (want < total + kl + 1)
        want *= 2;
      char *p = realloc(copy, want);
      if (p == NULL) {
        rc = TUBO_ENOMEM;
        break;
      }
      copy = p;
      room = want;
    }
    memcpy(copy + total, e->key, kl);
    copy[total + kl] = '\0';
    refs[count++] = (dict_key_ref_t){ld64(&e->order), total, kl};
    total += (size_t)kl + 1;
  }
  dict_unlock_all(c);
  char *out = rc == 0 ? malloc(total ? total : 1) : NULL;
  if (rc == 0 && out == NULL)
    rc = TUBO_ENOMEM;
  if (rc == 0) {
    qsort(refs, count, sizeof *refs, dict_key_cmp);
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
      memcpy(out + at, copy + refs[i].pos, refs[i].len + 1);
      at += refs[i].len + 1;
    }
    *packed = out;
    *bytes = total;
    *n = count;
  }
  free(refs);
  free(copy);
  return rc;
}

int tubo__dict_keys_unpack(char *packed, size_t bytes, size_t n, char ***keys)
{
  if (n > (SIZE_MAX - bytes) / sizeof(char *) - 1) {
    free(packed);
    return TUBO_ENOMEM;
  }
  char **out = malloc((n + 1) * sizeof(char *) + bytes);
  if (out == NULL) {
    free(packed);
    return TUBO_ENOMEM;
  }
  char *text = (char *)(out + n + 1);
  if (bytes > 0)
    memcpy(text, packed, bytes);
  free(packed);
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    const char *end = at < bytes ? memchr(text + at, '\0', bytes - at) : NULL;
    if (end == NULL) {
      free(out);
      return TUBO_ECORRUPT;
    }
    out[i] = text + at;
    at = (size_t)(end - text) + 1;
  }
  out[n] = NULL;
  *keys = out;
  return 0;
}
