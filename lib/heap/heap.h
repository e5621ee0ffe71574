/* SPDX-License-Identifier: MIT */
/* A heap in shared memory that several processes allocate from and free to at once.
 *
 * A heap lives in a region of memory that every process using it maps, each at its own
 * address: the region holds only offsets, and every process has its own handle
 * (tubo__heap_t) with the region's address and how pages are reserved and given back.
 * Blocks are named by the offset of their first usable byte from the region's start.
 *
 * Design: lock-free size classes.
 * - Sizes fall into classes: small blocks of 32 B to 64 KiB (16-byte header included,
 *   steps of 16 B, then 64 B, then four classes per doubling), and page runs above (a
 *   header page and four classes per doubling of pages). A block stays in its class.
 * - Each class has a free list: a stack whose 64-bit head packs the first block's offset
 *   with a tag bumped by every push and pop, so that a stale compare-and-swap fails
 *   (ABA). A free block's header holds the next block's offset.
 * - A class with an empty list carves new blocks from the region: small blocks upward
 *   from the header, a few at a time, page runs downward from the end. One 64-bit word
 *   holds both ends, so carving is one compare-and-swap and the two meet only when the
 *   heap is full.
 * - A carved batch's spare small blocks wait in the carving process's shard (its pid
 *   modulo 16, one word per class in the header), not in the shared list: an allocation
 *   takes the list's first block, else its own shard's next block, else carves; a full
 *   heap takes from any shard. A process's blocks are then in its own pages, where its
 *   first touch of a page is dear (doc/design.md).
 * - Pages are reserved (fallocate on a memfd) before first use, so a full system gives
 *   TUBO_ESHM, never SIGBUS: for small blocks ahead of the upward end, for runs when
 *   carved or reused. A freed run's pages go back to the OS (hole punching) until its
 *   class has been seen to reuse runs; from then on freed runs keep their pages, as
 *   glibc raises its mmap threshold once freed chunks are asked for again.
 * - Pages are also mapped into the process that will touch them ahead of use, a system
 *   call for many pages where touching them would fault once a page: small blocks' pages
 *   a reserve step at a time by each process that carves there, runs when carved or
 *   reused.
 *
 * Why: every change to the heap is one compare-and-swap on one word (a list head, a
 * shard's batch, a block's header, the carving word). A process that dies between two of
 * them, SIGKILL at any instruction, leaves the heap consistent: what it lost is the block
 * it was handling (popped and not yet handed out, or marked free and not yet pushed), a
 * leak the others never see. Nobody waits for anybody, so a process that stops or dies blocks
 * nobody and a preempted process (ranks share cores) delays nobody. A lock whose holder's death is
 * detected (patterns/lock.h) would make waiters sleep for every preemption of the holder
 * and needs a recovery for each step of every change; doc/design.md has the measurement.
 *
 * What it costs: a block is reused only by its class (no coalescing), so the address
 * space carved for one class stays with it; freed runs give their pages back, not their
 * addresses. A popped block's header is read before the compare-and-swap that takes it,
 * possibly while another process takes it first: the read is harmless (the memory stays
 * mapped) and the compare-and-swap then fails. The tag has 28 bits: a pop stalled across
 * exactly 2^28 pushes and pops of its class, ending on the same block, would be fooled.
 *
 * Checks: every header read from shared memory is checked before anything follows it: a
 * magic number, the block's own offset, its class, its state, and that it lies in the
 * region. A bad header is TUBO_ECORRUPT and is never followed: a free list whose head is
 * bad stays as it is, and that class fails with TUBO_ECORRUPT from then on. */
#ifndef TUBO_HEAP_H
#define TUBO_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* How the pages of a heap's region come and go. Both callbacks take offsets from the
 * region's start; either may be NULL. */
typedef struct tubo__heap_backing {
  /* Reserves the pages of [off, off + len) now, so that touching them later cannot fail:
   * 0, or TUBO_ESHM when the system has no room. NULL: pages come on first touch. */
  int (*reserve)(void *ctx, uint64_t off, uint64_t len);
  /* Gives the pages of [off, off + len) back to the OS; they read as zeros afterwards.
   * Returns 0, or an error when it could not (the pages then stay as they are). NULL:
   * freed memory keeps its pages. */
  int (*release)(void *ctx, uint64_t off, uint64_t len);
  void *ctx;
} tubo__heap_backing_t;

struct tubo__heap_ctl;

/* One process's handle on a heap (process-local memory; copied by fork as it is). */
typedef struct tubo__heap {
  unsigned char *base;        /* where this process maps the region */
  struct tubo__heap_ctl *ctl; /* the region's header, at base */
  uint64_t data;              /* first byte blocks may take (the header's end) */
  uint64_t end;               /* end of the part of the region blocks may take */
  uint32_t page;
  uint32_t page_shift;
  tubo__heap_backing_t backing;
  /* How far past data this process has mapped small blocks' pages (prefaulted), and which
   * process that was: a forked child maps them again. */
  uint64_t mapped;
  int mapped_pid;
} tubo__heap_t;

/* What a heap holds, for reports. Exact while no process has died inside a call; a
 * process that died there may leave each figure off by the one block it was handling. */
typedef struct tubo__heap_stats {
  uint64_t bytes;    /* the region blocks may take */
  uint64_t carved;   /* bytes handed to size classes so far (they stay there) */
  uint64_t in_use;   /* bytes of the blocks allocated now, headers and rounding included */
  uint64_t blocks;   /* blocks allocated now */
  uint64_t reserved; /* bytes with pages reserved: the header, small blocks, runs that
                      * kept their pages */
} tubo__heap_stats_t;

/* tubo__heap_alloc's flags. */
#define TUBO__HEAP_ZERO 1u /* the block's first size bytes are zero */

/* Offsets take 36 bits in units of 16 bytes: a heap uses at most this much of its region,
 * less a page, and no size from this one up can be allocated (TUBO_ETOOBIG). */
#define TUBO__HEAP_MAX ((uint64_t)1 << 40)

/* Makes an empty heap in the region of bytes at base (page-aligned; bytes rounded down to
 * pages), which no other process uses yet. Memory past the header must read as zeros
 * (fresh shared memory), or backing->release must be able to make it so: it is called on
 * all of it. Returns 0, TUBO_EINVAL (base not page-aligned, region too small for the
 * header and one page run), or TUBO_ESHM (the header's pages could not be reserved). */
int tubo__heap_format(tubo__heap_t *h, void *base, uint64_t bytes,
                      const tubo__heap_backing_t *backing);

/* What identifies the format of a heap's region (heap_shared.h's HEAP_FORMAT and the size
 * of its header): processes whose formats differ cannot share a heap. */
uint64_t tubo__heap_format_id(void);

/* Joins the heap in the region; fresh memory (all zeros) becomes an empty heap, the first
 * process to attach making it one, so that any number of processes may attach at once.
 * Returns 0, TUBO_EINVAL or TUBO_ESHM as tubo__heap_format, or TUBO_ECORRUPT when the
 * region holds something else (or a heap of another size or page size). */
int tubo__heap_attach(tubo__heap_t *h, void *base, uint64_t bytes,
                      const tubo__heap_backing_t *backing);

/* Allocates a block of at least size bytes and gives its offset in *off: 16-byte aligned,
 * 64-byte aligned above 96 bytes, page-aligned above 64 KiB less 16 bytes. flags:
 * TUBO__HEAP_ZERO. Returns 0, TUBO_EINVAL (size 0), TUBO_ETOOBIG (TUBO__HEAP_MAX or more),
 * TUBO_ESHM (the heap is full, or the system has no pages for it), or TUBO_ECORRUPT (the
 * class's free list or the heap's header is corrupt). */
int tubo__heap_alloc(tubo__heap_t *h, size_t size, unsigned flags, uint64_t *off);

/* Frees the block at off, for reuse by its class. Any process may free any block.
 * Returns 0; TUBO_EINVAL when off cannot be a block (outside the region, misaligned) or
 * the block is already free (a double free, detected, changes nothing); TUBO_ECORRUPT when
 * no valid header precedes off (off is not a block's start, or the header was
 * overwritten): nothing is changed. */
int tubo__heap_free(tubo__heap_t *h, uint64_t off);

/* The address of [off, off + size) in this process, or NULL when it is not inside the
 * region's blocks. It does not read the block's header. */
static inline void *tubo__heap_at(const tubo__heap_t *h, uint64_t off, size_t size)
{
  if (h->base == NULL || off < h->data || off > h->end || size > h->end - off)
    return NULL;
  return h->base + off;
}

/* The bytes usable at off, an allocated block (its class's size, at least what was
 * asked). Returns 0, TUBO_EINVAL (off no block, or a free one) or TUBO_ECORRUPT. */
int tubo__heap_usable(const tubo__heap_t *h, uint64_t off, size_t *size);

/* Fills *st (tubo__heap_stats_t). Reads counters only: cheap, and safe at any time. */
void tubo__heap_stats(const tubo__heap_t *h, tubo__heap_stats_t *st);

/* Checks the whole heap: every free list's headers and links, and that no class lists
 * more blocks than it carved. Only for a heap nobody changes meanwhile (tests, reports
 * after a job). Returns 0 or TUBO_ECORRUPT. */
int tubo__heap_check(const tubo__heap_t *h);

/* A heap in a region of a shared memory object (a memfd): fd, and where the region
 * starts in it. tubo__heap_fd_backing gives the backing that reserves the region's pages
 * with fallocate and gives them back by punching holes; f must outlive the handle. */
typedef struct tubo__heap_fd {
  int fd;
  uint64_t off;
} tubo__heap_fd_t;
tubo__heap_backing_t tubo__heap_fd_backing(tubo__heap_fd_t *f);

/* A heap of its own, for objects shared with processes forked afterwards: a memfd of
 * bytes, mapped shared (address space only: pages are reserved as blocks need them). The
 * struct must stay where it is while the heap is used. Forked children inherit the
 * mapping and the handle with the rest of their memory. */
typedef struct tubo__heap_own {
  tubo__heap_t heap;
  tubo__heap_fd_t fd;
  uint64_t bytes;
} tubo__heap_own_t;

/* Returns 0, TUBO_EINVAL (too small), TUBO_ETOOBIG or TUBO_ESHM. */
int tubo__heap_own_create(uint64_t bytes, tubo__heap_own_t *o);
/* Unmaps the heap and closes its memfd in this process; the memory goes when the last
 * process holding it lets it go. */
void tubo__heap_own_destroy(tubo__heap_own_t *o);

/* Fault injection for tests: when set, called with each step below as a call reaches it
 * (tests/check_heap.c kills the process there, to show that no step leaves the heap
 * inconsistent). NULL otherwise. */
enum tubo__heap_step {
  TUBO__HEAP_S_POP_READ = 1, /* alloc: read a list's head and first block, before taking it */
  TUBO__HEAP_S_POPPED,       /* alloc: took a free block, not yet marked allocated */
  TUBO__HEAP_S_RESERVED,     /* alloc: reserved pages ahead of the small end */
  TUBO__HEAP_S_CARVED,       /* alloc: carved new blocks, headers not yet written */
  TUBO__HEAP_S_CHAINED,      /* alloc: wrote the headers of a carved batch */
  TUBO__HEAP_S_SPARED,       /* alloc: pushed a carved batch's spare blocks */
  TUBO__HEAP_S_RUN_CARVED,   /* alloc: carved a page run, pages not yet reserved */
  TUBO__HEAP_S_ALLOCATED,    /* alloc: the block is marked allocated, counters not updated */
  TUBO__HEAP_S_FREE_CHECKED, /* free: header checked, not yet marked free */
  TUBO__HEAP_S_MARKED_FREE,  /* free: marked free, not yet in its list */
  TUBO__HEAP_S_PUNCHED,      /* free: a run's pages given back, not yet in its list */
  TUBO__HEAP_S_PUSH_LINKED,  /* free: the block links to the head, before it becomes it */
  TUBO__HEAP_S_PUSHED,       /* free: the block is in its list */
  TUBO__HEAP_S_END
};
extern void (*tubo__heap_step_hook)(enum tubo__heap_step step);

#endif /* TUBO_HEAP_H */
