/* SPDX-License-Identifier: MIT */
/* Owned blocks of the job's shared heap and their ledger (shm_loan.h). */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "shm/shm_loan.h"
#include "tubo.h"

#define LOAN_MAGIC 0x4c4f414eu /* "LOAN" */
/* The largest block a rank keeps: a larger buffer goes back to the heap at once, so that
 * what one rank freed is never held back from the others beyond this much. */
#define LOAN_KEEP_MAX (8u << 20)

/* The header before an owned block's data: written when the block leaves the heap and
 * when it goes back, never between, so that the ranks it passes through only read it. */
struct loan_hdr {
  uint32_t magic;
  uint32_t slot;  /* its ledger slot */
  uint64_t size;  /* bytes asked for at its allocation */
  uint64_t block; /* the heap block's offset */
  uint64_t cap;   /* the heap block's usable bytes, this header included */
};

static inline uint64_t loan_word(uint64_t block, uint32_t owner)
{
  return (block >> 4) << 24 | (uint64_t)(owner + 1u);
}

/* The ledger, made by the first rank that needs it; NULL where it cannot be had. */
static _Atomic uint64_t *loan_ledger(tubo__loans_t *L, int make)
{
  if (L->ledger != NULL)
    return L->ledger;
  uint64_t off = atomic_load_explicit(&L->ctl->loan_ledger, memory_order_acquire);
  size_t bytes = (size_t)TUBO__LOAN_SLOTS * sizeof(uint64_t);
  if (off == 0 && make) {
    uint64_t mine;
    if (tubo__heap_alloc(L->heap, bytes, TUBO__HEAP_ZERO, &mine) != 0)
      return NULL;
    uint64_t none = 0;
    if (atomic_compare_exchange_strong(&L->ctl->loan_ledger, &none, mine))
      off = mine;
    else {
      (void)tubo__heap_free(L->heap, mine);
      off = none;
    }
  }
  if (off == 0 || (off & 7u) != 0)
    return NULL;
  /* The ledger never moves: found once, it is kept. */
  L->ledger = tubo__heap_at(L->heap, off, bytes);
  return L->ledger;
}

int tubo__shm_heap_of(const tubo__loans_t *L, const void *p, size_t n, uint64_t *off)
{
  const tubo__heap_t *h = L->heap;
  if (h->base == NULL || h->ctl == NULL)
    return 0;
  uintptr_t a = (uintptr_t)p, b = (uintptr_t)h->base;
  if (a < b + h->data || a > b + h->end || n > b + h->end - a)
    return 0;
  *off = a - b;
  return 1;
}

/* This rank's record of what it holds, made at the first block (NULL: out of memory). */
static tubo__loan_own_t *loan_own(tubo__loans_t *L)
{
  if (L->own == NULL)
    L->own = calloc(TUBO__LOAN_SLOTS, sizeof *L->own);
  return L->own;
}

/* The header of the block whose data is at off, with len bytes of data in the heap, if it
 * is one: its magic, offset and slot agree. */
static const struct loan_hdr *loan_hdr_at(const tubo__loans_t *L, uint64_t off, size_t len,
                                          struct loan_hdr *h)
{
  if (off < TUBO__LOAN_HDR || len > SIZE_MAX - TUBO__LOAN_HDR)
    return NULL;
  uint64_t block = off - TUBO__LOAN_HDR;
  const struct loan_hdr *hd = tubo__heap_at(L->heap, block, TUBO__LOAN_HDR + len);
  if (hd == NULL)
    return NULL;
  memcpy(h, hd, sizeof *h);
  if (h->magic != LOAN_MAGIC || h->block != block || h->slot >= TUBO__LOAN_SLOTS ||
      h->cap < TUBO__LOAN_HDR + len || h->cap > TUBO__HEAP_MAX ||
      tubo__heap_at(L->heap, block, (size_t)h->cap) == NULL)
    return NULL;
  return hd;
}

/* Gives out the kept block again if size fits it without wasting more than half of it:
 * no heap, ledger or header change, so none of the cache lines the peer touched last.
 * Otherwise gives it back to the heap. Returns 1 when *p is the kept block. */
static int loan_reuse(tubo__loans_t *L, size_t size, void **p)
{
  uint64_t block = L->kept;
  size_t cap = L->kept_cap;
  if (cap < size + TUBO__LOAN_HDR || cap / 2 >= size + TUBO__LOAN_HDR || loan_own(L) == NULL) {
    tubo__shm_loan_drop(L);
    return 0;
  }
  L->kept = 0;
  L->own[L->kept_slot] = (tubo__loan_own_t){block, size, cap};
  *p = tubo__heap_at(L->heap, block + TUBO__LOAN_HDR, size);
  return 1;
}

int tubo__shm_loan_alloc(tubo__loans_t *L, size_t size, void **p)
{
  if (L->heap->ctl == NULL)
    return TUBO_ENOTSUP;
  if (size > TUBO__HEAP_MAX)
    return TUBO_ETOOBIG;
  if (L->kept != 0 && loan_reuse(L, size, p))
    return 0;
  _Atomic uint64_t *ledger = loan_ledger(L, 1);
  if (ledger == NULL)
    return TUBO_ESHM;
  if (loan_own(L) == NULL)
    return TUBO_ENOMEM;
  uint64_t block;
  size_t cap;
  int rc = tubo__heap_alloc(L->heap, size + TUBO__LOAN_HDR, 0, &block);
  if (rc != 0)
    return rc;
  if (tubo__heap_usable(L->heap, block, &cap) != 0) {
    (void)tubo__heap_free(L->heap, block);
    return TUBO_ECORRUPT;
  }
  uint64_t word = loan_word(block, L->me);
  for (uint32_t i = 0; i < TUBO__LOAN_SLOTS; i++) {
    uint32_t slot = (L->hint + i) % TUBO__LOAN_SLOTS;
    uint64_t none = 0;
    if (atomic_load_explicit(&ledger[slot], memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong(&ledger[slot], &none, word)) {
      L->hint = slot + 1;
      struct loan_hdr *hd = tubo__heap_at(L->heap, block, TUBO__LOAN_HDR);
      hd->magic = LOAN_MAGIC;
      hd->slot = slot;
      hd->size = size;
      hd->block = block;
      hd->cap = cap;
      L->own[slot] = (tubo__loan_own_t){block, size, cap};
      *p = (char *)hd + TUBO__LOAN_HDR;
      return 0;
    }
  }
  (void)tubo__heap_free(L->heap, block);
  return TUBO_ESHM;
}

int tubo__shm_loan_check(const tubo__loans_t *L, uint64_t off, size_t len, uint32_t *slot)
{
  struct loan_hdr h;
  if (L->own == NULL || loan_hdr_at(L, off, len, &h) == NULL)
    return TUBO_EINVAL;
  const tubo__loan_own_t *o = &L->own[h.slot];
  if (o->block != h.block || o->size < len)
    return TUBO_EINVAL;
  *slot = h.slot;
  return 0;
}

/* The start of a give or a free of the block at off, of at least len bytes, that this rank
 * holds: its slot (tubo__shm_loan_check) and the ledger, or TUBO_EINVAL. */
static inline int loan_letgo(tubo__loans_t *L, uint64_t off, size_t len, uint32_t *slot,
                             _Atomic uint64_t **ledger)
{
  int rc = tubo__shm_loan_check(L, off, len, slot);
  if (rc != 0)
    return rc;
  *ledger = loan_ledger(L, 0);
  return *ledger == NULL ? TUBO_EINVAL : 0;
}

int tubo__shm_loan_give(tubo__loans_t *L, uint64_t off, size_t len, uint32_t to)
{
  uint32_t slot;
  _Atomic uint64_t *ledger;
  int rc = loan_letgo(L, off, len, &slot, &ledger);
  if (rc != 0)
    return rc;
  uint64_t block = off - TUBO__LOAN_HDR;
  L->own[slot].block = 0;
  /* A plain store: no other rank writes the word of a block whose holder lives, and this
   * one need not wait for the line the receiver wrote last. */
  atomic_store_explicit(&ledger[slot], loan_word(block, to), memory_order_release);
  return 0;
}

void *tubo__shm_loan_accept(tubo__loans_t *L, uint64_t off, size_t len)
{
  struct loan_hdr h;
  const struct loan_hdr *hd = loan_hdr_at(L, off, len, &h);
  if (hd == NULL || loan_own(L) == NULL || L->own[h.slot].block != 0 || L->kept == h.block)
    return NULL;
  L->own[h.slot] = (tubo__loan_own_t){h.block, len, h.cap};
  return (char *)hd + TUBO__LOAN_HDR;
}

int tubo__shm_loan_free(tubo__loans_t *L, uint64_t off)
{
  uint32_t slot;
  _Atomic uint64_t *ledger;
  int rc = loan_letgo(L, off, 0, &slot, &ledger);
  if (rc != 0)
    return rc;
  uint64_t block = off - TUBO__LOAN_HDR;
  size_t cap = L->own[slot].cap;
  L->own[slot].block = 0;
  if (L->kept == 0 && cap <= LOAN_KEEP_MAX) {
    /* Kept for this rank's next allocation: the ledger still names it the owner. */
    L->kept = block;
    L->kept_slot = slot;
    L->kept_cap = cap;
    return 0;
  }
  uint64_t word = loan_word(block, L->me);
  if (!atomic_compare_exchange_strong(&ledger[slot], &word, 0))
    return TUBO_EINVAL;
  /* The header goes first, so that a stale pointer to the block fails its check. */
  ((struct loan_hdr *)tubo__heap_at(L->heap, block, TUBO__LOAN_HDR))->magic = 0;
  return tubo__heap_free(L->heap, block) == 0 ? 0 : TUBO_EINVAL;
}

void tubo__shm_loan_drop(tubo__loans_t *L)
{
  uint64_t block = L->kept;
  if (block == 0)
    return;
  L->kept = 0;
  _Atomic uint64_t *ledger = loan_ledger(L, 0);
  struct loan_hdr h;
  struct loan_hdr *hd = (struct loan_hdr *)loan_hdr_at(L, block + TUBO__LOAN_HDR, 0, &h);
  if (ledger == NULL || hd == NULL || h.slot != L->kept_slot)
    return;
  uint64_t word = loan_word(block, L->me);
  /* A survivor may have reclaimed it meanwhile (this rank was taken for gone): then the
   * compare-and-swap fails and the block is not this rank's to free. */
  if (!atomic_compare_exchange_strong(&ledger[h.slot], &word, 0))
    return;
  hd->magic = 0;
  (void)tubo__heap_free(L->heap, block);
}

void tubo__shm_loan_fini(tubo__loans_t *L)
{
  free(L->own);
  L->own = NULL;
}

int tubo__shm_loan_reclaim(tubo__loans_t *L, uint32_t rank)
{
  _Atomic uint64_t *ledger = loan_ledger(L, 0);
  int n = 0;
  if (ledger == NULL)
    return 0;
  for (uint32_t i = 0; i < TUBO__LOAN_SLOTS; i++) {
    uint64_t word = atomic_load_explicit(&ledger[i], memory_order_relaxed);
    if (word == 0 || (word & 0xffffffu) != (uint64_t)rank + 1u)
      continue;
    uint64_t block = (word >> 24) << 4;
    struct loan_hdr *hd = tubo__heap_at(L->heap, block, TUBO__LOAN_HDR);
    if (!atomic_compare_exchange_strong(&ledger[i], &word, 0))
      continue; /* another survivor took it */
    if (hd != NULL && hd->magic == LOAN_MAGIC && hd->block == block) {
      hd->magic = 0;
      if (tubo__heap_free(L->heap, block) == 0)
        n++;
    }
  }
  return n;
}
