/* SPDX-License-Identifier: MIT */
/* Memory for the pattern objects (Queue, Pipe, Array, Value): either standalone, an
 * anonymous shared mapping that processes forked afterwards inherit (Python's way), or
 * collective over a communicator, a block of the job's shared heap that goes back to the
 * heap when the last rank that opened it lets it go. The object's layout is the same in
 * both; only where the bytes come from differs. */
#ifndef TUBO_PATTERNS_OBJMEM_H
#define TUBO_PATTERNS_OBJMEM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tubo.h"

struct tubo__tport;
struct tubo__world;

typedef struct tubo__objmem {
  void *base;  /* zeroed, page-aligned, shared */
  size_t size; /* bytes, rounded up to pages */
  int anon;    /* 1: an anonymous mapping this handle unmaps; 0: the job's heap */
  /* Heap memory: the block, the transport whose heap holds it, the world and process
   * that opened it, and the count of ranks still holding it (a line after the object). */
  uint64_t off;
  struct tubo__tport *tport;
  struct tubo__world *w;
  pid_t pid;
  _Atomic uint32_t *holders;
} tubo__objmem_t;

/* Maps size zeroed bytes of anonymous shared memory. Returns 0, TUBO_EINVAL (size 0),
 * TUBO_ETOOBIG or TUBO_ESHM. */
int tubo__objmem_anon(size_t size, tubo__objmem_t *m);

/* Collective over comm: every rank gets the same zeroed size bytes (the same size must be
 * asked on every rank). Returns 0, TUBO_ECOMM, TUBO_ENOTSUP where the ranks share no memory
 * (the pipe transport), TUBO_ESHM when the job's heap is full (TUBO_SHM_HEAP_BYTES), or the
 * error of the exchange between ranks. */
int tubo__objmem_comm(tubo_comm_t *comm, size_t size, tubo__objmem_t *m);

/* As tubo__objmem_comm, and the block starts with len bytes of fill at offset off (fill
 * may be NULL for none): rank 0 writes them before any other rank learns where the block
 * is, so that no rank ever sees the memory without them. */
int tubo__objmem_comm_fill(tubo_comm_t *comm, size_t size, size_t off, const void *fill, size_t len,
                           tubo__objmem_t *m);

/* Lets this process's view go: unmaps an anonymous mapping; for heap memory, the last
 * rank of the communicator to let it go frees the block. Only the process that opened it,
 * in the world it opened it in, counts: a forked child or a call after tubo_finalize lets
 * its view go and leaves the block to the ranks. A rank that exits without letting go, or
 * dies, leaves the block allocated until the job ends. */
void tubo__objmem_release(tubo__objmem_t *m);

/* As tubo__objmem_release, for an object that holds more heap blocks than its own: when
 * this process lets go of the last hold on the block, the block is not freed, and the
 * call returns 1 with m unchanged, so that the caller frees what the object holds, then
 * the block (tubo__objmem_free_block). Returns 0 otherwise (m is let go). */
int tubo__objmem_release_last(tubo__objmem_t *m);

/* Frees the block of m, after tubo__objmem_release_last returned 1. */
void tubo__objmem_free_block(tubo__objmem_t *m);

/* Drops n of the ranks' holds on a heap block (objmem_comm.c); the last frees it. */
void tubo__objmem_drop(tubo__objmem_t *m, uint32_t n);

#endif /* TUBO_PATTERNS_OBJMEM_H */
