/* SPDX-License-Identifier: MIT */
/* A dict in shared memory: its layout (dict_table.c has the protocol).
 *
 *   header block:  identity | table offset | counters | resize record | 256 stripes
 *   table block:   identity, log2 of the slot count | slots (one 64-bit word each)
 *   entry blocks:  identity, order, stamp, lengths | key, NUL | value
 *
 * A slot is 0 (empty), DICT_TOMB (a key was deleted here), or a tag (the hash's top 28
 * bits) over the unit (offset / 16) of an entry: one word, so that a slot changes in one
 * store. An entry never changes once published: a new value is a new entry, swapped into
 * the slot. A key belongs to the stripe of its hash's low 8 bits; writers of a stripe
 * hold its lock, and bump its sequence after every free of a block readers may hold.
 * Everything is an offset or a count; each process checks what it reads before it
 * follows it. Private to the library (and to the tests, which break it on purpose). */
#ifndef TUBO_PATTERNS_DICT_LAYOUT_H
#define TUBO_PATTERNS_DICT_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "patterns/lock.h"
#include "patterns/objheap.h"

#define DICT_LINE    64u
#define DICT_STRIPES 256u

/* The kinds of a dict's blocks, in their identities (tubo__objheap_ident). */
#define DICT_ID_HEAD  0xd1c7ull
#define DICT_ID_TABLE 0xd7abull
#define DICT_ID_ENTRY 0xde77ull
#define DICT_UNIT_MAX ((1ull << 36) - 1)

/* Slots. */
#define DICT_TOMB      1ull
#define DICT_TAG_SHIFT 36u
#define DICT_LOG_MIN   10u /* 1024 slots */
#define DICT_LOG_MAX   28u /* the tag holds the slot position up to here */

static inline uint64_t dict_slot(uint64_t hash, uint64_t off)
{
  return (hash >> DICT_TAG_SHIFT) << DICT_TAG_SHIFT | off >> 4;
}
static inline uint64_t dict_slot_off(uint64_t w)
{
  return (w & DICT_UNIT_MAX) << 4;
}
static inline int dict_slot_entry(uint64_t w)
{
  return (w & DICT_UNIT_MAX) > DICT_TOMB;
}

/* Kinds of the resize record. */
enum { DICT_RS_RESIZE = 1, DICT_RS_CLEAR = 2 };

/* One stripe: its lock and what its writers keep, on a line of their own. */
typedef struct dict_stripe {
  alignas(DICT_LINE) tubo__lock_t lock;
  _Atomic uint64_t seq;      /* bumped after each free of a block readers may hold */
  _Atomic uint64_t count;    /* live keys of this stripe */
  _Atomic uint64_t writes;   /* writes so far: stamps */
  _Atomic uint64_t pend_new; /* an entry being published (recovery) */
  _Atomic uint64_t pend_old; /* an entry being taken out (recovery) */
} dict_stripe_t;

typedef struct dict_head {
  alignas(DICT_LINE) _Atomic uint64_t ident; /* tubo__objheap_ident(DICT_ID_HEAD, offset) */
  uint64_t seed;                             /* of the hash, chosen at creation */
  alignas(DICT_LINE) _Atomic uint64_t table; /* offset of the table block */
  /* Both counted by every insert: one line, so that an insert moves one line between
   * processes, not two. */
  alignas(DICT_LINE) _Atomic uint64_t order; /* keys inserted so far: insertion order */
  _Atomic uint64_t used;                     /* slots not empty (keys and tombs), roughly */
  /* A resize or clear in progress, by rs_pid, holding every stripe lock. */
  alignas(DICT_LINE) _Atomic uint32_t rs_pid;
  _Atomic uint32_t rs_kind;
  _Atomic uint64_t rs_new, rs_old;
  dict_stripe_t stripe[DICT_STRIPES];
} dict_head_t;

typedef struct dict_table {
  _Atomic uint64_t ident; /* tubo__objheap_ident(DICT_ID_TABLE, offset) */
  _Atomic uint32_t log2;  /* slots: 1 << log2 */
  uint32_t pad;
  uint64_t pad2[6];
  _Atomic uint64_t slot[];
} dict_table_t;

/* An entry's lengths, in one word: the key's (24 bits) over the value's (40 bits, below
 * TUBO__HEAP_MAX). 32 bytes of header, so that a short key and a word of value fill one
 * 64-byte block, on one cache line. */
#define DICT_VLEN_BITS 40u
#define DICT_KLEN_MAX  ((1ull << 24) - 1)

typedef struct dict_entry {
  _Atomic uint64_t ident; /* tubo__objheap_ident(DICT_ID_ENTRY, offset) */
  _Atomic uint64_t order; /* when its key was inserted */
  _Atomic uint64_t stamp; /* which write made it: stripe writes << 8 | stripe */
  _Atomic uint64_t lens;  /* klen << DICT_VLEN_BITS | vlen */
  char key[];             /* klen bytes and a NUL, padded to 8, then vlen bytes of value */
} dict_entry_t;

static inline uint64_t dict_lens(uint64_t klen, uint64_t vlen)
{
  return klen << DICT_VLEN_BITS | vlen;
}

static inline uint64_t dict_entry_vpos(uint64_t klen)
{
  return sizeof(dict_entry_t) + ((klen + 8) & ~7ull);
}

#endif /* TUBO_PATTERNS_DICT_LAYOUT_H */
