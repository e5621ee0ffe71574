/* SPDX-License-Identifier: MIT */
/* What a heap keeps in its region (heap.h), and its size classes.
 *
 *   [header: identity, carving word, reserved mark, one line per class]
 *   [small blocks, carved upward ->      ...      <- page runs, carved downward]
 *
 * A block is a 16-byte header followed by its usable bytes; a block's offset is that of
 * its first usable byte, so its header always sits 16 bytes before it. A page run is a
 * page holding the header in its last 16 bytes, then the usable pages. Everything here
 * is an offset or a count; all zero is an empty heap, so fresh memory needs no writing. */
#ifndef TUBO_HEAP_SHARED_H
#define TUBO_HEAP_SHARED_H

#include <stdatomic.h>
#include <stdint.h>

#define HEAP_LINE 64u
#define HEAP_HDR  16u /* a block's header */

/* Small classes: 32 to 112 B by 16, 128 to 512 B by 64, then four per doubling to 64 KiB
 * (block sizes, header included). Runs: 16 to 2^28 usable pages, four per doubling. */
#define HEAP_NSMALL     41u
#define HEAP_NRUN       97u
#define HEAP_NCLASS     (HEAP_NSMALL + HEAP_NRUN)
#define HEAP_SMALL_MAX  65536u
#define HEAP_RUN_PAGES0 16u

/* The version of everything this file lays out in the region. Processes of two builds
 * whose formats differ must not share a heap: bump it with any change to what they
 * share here (the sixteen shards of carved batches made it 2). */
#define HEAP_FORMAT 2u

/* A block header's first word: magic (16 bits), state (4), class (8), and the block's own
 * offset in units of 16 bytes (36). Written whole, so that a reader sees one state. */
#define HEAP_MAGIC       0xb10cull
#define HEAP_UNIT_BITS   36u
#define HEAP_UNIT_MASK   ((1ull << HEAP_UNIT_BITS) - 1)
#define HEAP_CLASS_SHIFT 36u
#define HEAP_STATE_SHIFT 44u
#define HEAP_MAGIC_SHIFT 48u

enum heap_state {
  HEAP_ALLOC = 1,  /* handed out */
  HEAP_FREE = 2,   /* free (in its list, or about to be), pages kept */
  HEAP_PUNCHED = 3 /* free, a run whose usable pages were given back */
};

struct heap_block {
  _Atomic uint64_t word; /* heap_word() */
  _Atomic uint64_t next; /* free: the next free block's unit, 0 for none; allocated: ~word */
};

/* One class: its free list and counters, on a line of its own. */
struct heap_class {
  _Alignas(HEAP_LINE) _Atomic uint64_t head; /* tag (28 bits) << 36 | first block's unit */
  _Atomic uint64_t used;                     /* blocks allocated now */
  _Atomic uint64_t carved;                   /* blocks carved so far */
  _Atomic uint64_t punched;                  /* free runs without pages */
  _Atomic uint32_t reuses;                   /* a run without pages was reused: keep pages */
};

/* A carved batch of small blocks spans about this many bytes (at least one block, at
 * most HEAP_BATCH_MAX): fewer trips to the carving word, little memory left idle. */
#define HEAP_BATCH_BYTES 16384u
#define HEAP_BATCH_MAX   128u

/* Carved batches of small blocks waiting for the processes of one shard (a process's
 * shard: its pid modulo HEAP_NSHARD): per small class, the number of blocks left (bits 36
 * and up) over the next one's unit; 0 for none. A process takes its blocks from its own
 * shard before the shared free list, so that the blocks it carves, contiguous, are the
 * ones it uses: on a virtual machine where a process's first touch of a page costs
 * microseconds, its blocks fill its own pages, not every process's (doc/benchmarks.md). */
#define HEAP_NSHARD 16u
struct heap_shard {
  _Alignas(HEAP_LINE) _Atomic uint64_t batch[HEAP_NSMALL];
};

struct tubo__heap_ctl {
  _Alignas(HEAP_LINE) _Atomic uint64_t ident; /* heap_ident(): 0 until the first attach */
  /* The two carving ends: units of 16 bytes carved upward from the header (low 36 bits),
   * pages carved downward from the end (high 28 bits). */
  _Alignas(HEAP_LINE) _Atomic uint64_t carve;
  /* How far past the header small blocks' pages are reserved (bytes). */
  _Alignas(HEAP_LINE) _Atomic uint64_t reserved;
  struct heap_class cls[HEAP_NCLASS];
  struct heap_shard shard[HEAP_NSHARD];
};

static inline uint64_t heap_word(unsigned state, unsigned cls, uint64_t off)
{
  return HEAP_MAGIC << HEAP_MAGIC_SHIFT | (uint64_t)state << HEAP_STATE_SHIFT |
         (uint64_t)cls << HEAP_CLASS_SHIFT | off >> 4;
}
static inline unsigned heap_word_state(uint64_t w)
{
  return (unsigned)(w >> HEAP_STATE_SHIFT) & 15u;
}
static inline unsigned heap_word_class(uint64_t w)
{
  return (unsigned)(w >> HEAP_CLASS_SHIFT) & 255u;
}

/* A free list head. */
static inline uint64_t heap_head(uint64_t tag, uint64_t off)
{
  return tag << HEAP_UNIT_BITS | off >> 4;
}
static inline uint64_t heap_head_off(uint64_t head)
{
  return (head & HEAP_UNIT_MASK) << 4;
}
static inline uint64_t heap_head_tag(uint64_t head)
{
  return head >> HEAP_UNIT_BITS;
}

/* Four classes per doubling from base: the i-th size. */
static inline uint64_t heap_geo(uint64_t base, unsigned i)
{
  return (base << (i / 4)) * (4 + i % 4) / 4;
}

/* The geometric index of the smallest size of heap_geo(base, .) at least n (n > base). */
static inline unsigned heap_geo_index(uint64_t base, uint64_t n)
{
  unsigned b = 63u - (unsigned)__builtin_clzll(n - 1);               /* 2^b < n <= 2^(b+1) */
  uint64_t k = (n - (1ull << b) + (1ull << (b - 2)) - 1) >> (b - 2); /* 1..4 */
  unsigned base_log = 63u - (unsigned)__builtin_clzll(base);
  return (b - base_log) * 4 + (unsigned)k;
}

/* A small class's block size, header included. */
static inline uint64_t heap_small_bytes(unsigned c)
{
  if (c < 6)
    return 32u + 16u * c;
  if (c < 13)
    return 128u + 64u * (c - 6);
  return heap_geo(512, c - 13 + 1);
}

/* The small class that holds need bytes (header included, need <= HEAP_SMALL_MAX). */
static inline unsigned heap_small_class(uint64_t need)
{
  if (need <= 112)
    return need <= 32 ? 0 : (unsigned)((need - 32 + 15) / 16);
  if (need <= 512)
    return need <= 128 ? 6 : 6 + (unsigned)((need - 128 + 63) / 64);
  return 13 + heap_geo_index(512, need) - 1;
}

/* A run class's usable pages. */
static inline uint64_t heap_run_pages(unsigned c)
{
  return heap_geo(HEAP_RUN_PAGES0, c - HEAP_NSMALL);
}

/* Where a small class's usable bytes start: 16-byte aligned, 64 from 112 bytes. */
static inline uint64_t heap_small_align(unsigned c)
{
  return c < 6 ? 16u : 64u;
}

#endif /* TUBO_HEAP_SHARED_H */
