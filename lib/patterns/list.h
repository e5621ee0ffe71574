/* SPDX-License-Identifier: MIT */
/* A list in shared memory (list_core.c): the operations on one held by a heap this process
 * maps. The public tubo_list (list.c) is this, or, where the ranks share no memory, calls
 * to a home rank that holds one (list_served.c).
 *
 *   header block:  identity | lock, sequence, pending blocks | vector offset
 *   vector block:  identity, capacity, length | item offsets
 *   item blocks:   identity, length | bytes
 *
 * Readers take no lock, as a dict's (dict.h): they read the sequence, the vector, the
 * item, copy it, and read the sequence again. Writers hold the list's lock (a list's
 * writes move items, so one lock serves them all). An append or an extend fills slots
 * past the length and then publishes the new length in one store; a set swaps one slot;
 * an insert or a pop in the middle publishes a new vector (copy-on-write), as Python's
 * own list moves every later item. Blocks readers may hold are freed only after the
 * sequence is bumped. A writer that dies leaves the lock to the next, which frees what
 * the dead one left unpublished or half taken out (list_core.c). */
#ifndef TUBO_PATTERNS_LIST_H
#define TUBO_PATTERNS_LIST_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "patterns/lock.h"
#include "patterns/objheap.h"
#include "patterns/objmem.h"
#include "tubo.h"

#define LIST_LINE    64u
#define LIST_ID_HEAD 0x115dull
#define LIST_ID_VEC  0x11ecull
#define LIST_ID_ITEM 0x117eull

typedef struct list_head {
  alignas(LIST_LINE) _Atomic uint64_t ident;
  alignas(LIST_LINE) tubo__lock_t lock;
  _Atomic uint64_t seq;                    /* bumped after each free of a block readers may hold */
  _Atomic uint64_t pend_item;              /* an item being put in (recovery) */
  _Atomic uint64_t pend_old;               /* an item being taken out */
  _Atomic uint64_t pend_vec[2];            /* vectors being swapped: either may be freed */
  alignas(LIST_LINE) _Atomic uint64_t vec; /* the current vector */
} list_head_t;

typedef struct list_vec {
  _Atomic uint64_t ident;
  _Atomic uint64_t cap;
  _Atomic uint64_t len;
  uint64_t pad;
  _Atomic uint64_t item[]; /* cap slots; those past len are 0 or being filled */
} list_vec_t;

typedef struct list_item {
  _Atomic uint64_t ident;
  _Atomic uint64_t len;
  unsigned char data[];
} list_item_t;

/* Most items one vector holds. */
#define TUBO__LIST_MAX ((uint64_t)1 << 36)

typedef struct tubo__lcore {
  tubo__objheap_t mem;
  uint64_t off;
  list_head_t *sh;
} tubo__lcore_t;

int tubo__lcore_make(const tubo__objheap_t *mem, tubo__lcore_t *c);
int tubo__lcore_make_at(const tubo__objheap_t *mem, uint64_t off, tubo__lcore_t *c);
int tubo__lcore_attach(const tubo__objheap_t *mem, uint64_t off, tubo__lcore_t *c);
int tubo__lcore_check(const tubo__lcore_t *c);
/* Frees every item and the vector (the last user); destroy frees the header too. */
void tubo__lcore_empty(tubo__lcore_t *c);
void tubo__lcore_destroy(tubo__lcore_t *c);

/* The operations, arguments checked. */
int tubo__lcore_extend(tubo__lcore_t *c, const tubo_item_t *items, size_t n);
int tubo__lcore_get(tubo__lcore_t *c, ptrdiff_t index, void *buf, size_t cap, size_t *len);
/* As get, into a buffer it allocates (NULL for an empty item). */
int tubo__lcore_get_alloc(tubo__lcore_t *c, ptrdiff_t index, void **buf, size_t *len);
int tubo__lcore_set(tubo__lcore_t *c, ptrdiff_t index, const void *item, size_t len);
int tubo__lcore_insert(tubo__lcore_t *c, ptrdiff_t index, const void *item, size_t len);
/* Pops into a buffer it allocates (NULL for an empty item). */
int tubo__lcore_pop_alloc(tubo__lcore_t *c, ptrdiff_t index, void **buf, size_t *len);
int tubo__lcore_len(tubo__lcore_t *c, size_t *n);
/* Every item, packed: for each, its length (8 bytes) then its bytes; one malloc block. */
int tubo__lcore_packed(tubo__lcore_t *c, unsigned char **packed, size_t *bytes, size_t *n);

/* Turns n packed items into the array tubo_list_snapshot returns (frees packed). */
int tubo__list_unpack(unsigned char *packed, size_t bytes, size_t n, tubo_item_t **items);

/* Fault injection for tests (as tubo__dict_step_hook). */
enum tubo__list_step {
  TUBO__LIST_S_LOCKED = 1, /* a write holds the lock, nothing changed yet */
  TUBO__LIST_S_PENDING,    /* blocks recorded, not yet published */
  TUBO__LIST_S_PUBLISHED,  /* published, the old blocks not yet freed */
  TUBO__LIST_S_END
};
extern void (*tubo__list_step_hook)(enum tubo__list_step step);

#endif /* TUBO_PATTERNS_LIST_H */
