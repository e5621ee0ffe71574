/* SPDX-License-Identifier: MIT */
/* Where the growing shared objects (dict, list, Namespace, channel) take their memory: a
 * heap in shared memory (heap/heap.h), through one small table so that an object's code
 * is the same whichever heap holds it.
 *
 * - Objects made by *_create, for processes forked afterwards, share one standalone heap
 *   per process tree: made by the first such object of a process, inherited with the
 *   rest of its memory by every process it forks later, so that objects made before or
 *   after a fork, by the parent or by a child, are all reachable from the processes that
 *   have them (an Alternation may wait on any of them at once). Its size is address
 *   space (TUBO_PROCESS_HEAP_BYTES); pages are reserved as blocks need them.
 * - Objects made by *_open on a communicator whose ranks share memory use the job's heap,
 *   through the transport's heap operations.
 *
 * Blocks are named by offsets, never pointers: each process maps the heap at its own
 * address. */
#ifndef TUBO_PATTERNS_OBJHEAP_H
#define TUBO_PATTERNS_OBJHEAP_H

#include <stddef.h>
#include <stdint.h>

#include "heap/heap.h"
#include "tubo.h"

struct tubo__tport;

typedef struct tubo__objheap {
  /* The process tree's heap (a tubo__heap_t), or NULL for a transport's heap. */
  tubo__heap_t *heap;
  struct tubo__tport *tport;
} tubo__objheap_t;

/* The identity word of an object's block (a dict's, a list's, a channel's): 16 bits of
 * its kind over the block's own unit (offset / 16), so that a block of another kind, or
 * one that moved, is told apart. */
static inline uint64_t tubo__objheap_ident(uint64_t kind, uint64_t off)
{
  return kind << 48 | off >> 4;
}

/* The process tree's heap, made on first use. Returns 0, or TUBO_ESHM (TUBO_ETOOBIG) when
 * it cannot be made. */
int tubo__objheap_process(tubo__objheap_t *m);

/* The heap of transport t (the job's): 0, or TUBO_ENOTSUP where t has none. */
int tubo__objheap_tport(struct tubo__tport *t, tubo__objheap_t *m);

/* Whether two handles name the same heap. */
int tubo__objheap_same(const tubo__objheap_t *a, const tubo__objheap_t *b);

/* Allocates size bytes (not zeroed unless flags has TUBO__HEAP_ZERO; a transport's heap
 * always zeroes). Returns 0, TUBO_EINVAL, TUBO_ETOOBIG, TUBO_ESHM or TUBO_ECORRUPT. */
int tubo__objheap_alloc(const tubo__objheap_t *m, size_t size, unsigned flags, uint64_t *off);

/* Frees the block at off. Returns 0, TUBO_EINVAL (no block, or free already) or
 * TUBO_ECORRUPT. */
int tubo__objheap_free(const tubo__objheap_t *m, uint64_t off);

void *tubo__objheap_at_slow(const tubo__objheap_t *m, uint64_t off, size_t size);

/* The address of [off, off + size) in this process, or NULL when it is not inside the
 * heap's blocks. Reads nothing at off: the caller checks what it finds there. */
static inline void *tubo__objheap_at(const tubo__objheap_t *m, uint64_t off, size_t size)
{
  if (m->heap != NULL)
    return tubo__heap_at(m->heap, off, size);
  return tubo__objheap_at_slow(m, off, size);
}

/* How an object lays itself out in a heap, for tubo__objheap_open. */
typedef struct tubo__objheap_kind {
  size_t head_bytes; /* its header block */
  /* Sets up an object in the zeroed header block at off (one process does). */
  int (*make_at)(const tubo__objheap_t *mem, uint64_t off, void *core);
  /* Joins the object whose header is at off: 0 or TUBO_ECORRUPT. */
  int (*attach)(const tubo__objheap_t *mem, uint64_t off, void *core);
  /* Frees what the object holds but its header (the last process using it). */
  void (*empty)(void *core);
} tubo__objheap_kind_t;

struct tubo__objmem;

/* Opens an object on comm, collectively: rank 0 makes it in a header block of the job's
 * heap, the others join it after a barrier; core is set up, and mem holds the header
 * block (tubo__objmem_release_last, when this process lets it go). Returns 0; 1 when comm
 * is one rank alone with no transport (nothing is made: the caller makes the object as
 * for processes); TUBO_ENOTSUP where the ranks share no memory (the caller serves it);
 * or an error (TUBO_ESHM, the communicator's). */
int tubo__objheap_open(tubo_comm_t *comm, const tubo__objheap_kind_t *kind, void *core,
                       struct tubo__objmem *mem);

/* The process tree's heap, for tests: NULL until made. */
tubo__heap_t *tubo__objheap_process_heap(void);

#endif /* TUBO_PATTERNS_OBJHEAP_H */
