/* SPDX-License-Identifier: MIT */
/* Shared Array and Value (multiprocessing.Array, Value): their layout in shared memory.
 *
 *  [ header: magic, type, length, lock | padding to ARRAY_DATA_OFF | elements ... ]
 *
 * The header has its own two cache lines (x86 fetches lines in pairs), so taking the lock
 * does not steal the line of the first elements from a process working on them. The
 * elements start at ARRAY_DATA_OFF, aligned for every element type. Nothing in shared
 * memory is a pointer; each process's handle keeps its own copy of type and length, and
 * checks the header against them before it trusts the memory. */
#ifndef TUBO_PATTERNS_ARRAY_H
#define TUBO_PATTERNS_ARRAY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "patterns/lock.h"
#include "patterns/objmem.h"
#include "tubo.h"

/* "tuba" */
#define TUBO__ARRAY_MAGIC 0x74756261u

/* Where the elements start: the header's two cache lines. */
#define TUBO__ARRAY_DATA_OFF 128u

typedef struct tubo__array_head {
  _Atomic uint32_t magic;  /* TUBO__ARRAY_MAGIC once set up */
  _Atomic uint32_t type;   /* tubo_type_t */
  _Atomic uint64_t length; /* elements */
  tubo__lock_t lock;
} tubo__array_head_t;

_Static_assert(sizeof(tubo__array_head_t) <= 64, "the header fits one cache line");

/* Size and alignment (align may be NULL) of an element type. Returns 0, or TUBO_EINVAL for an
 * unknown type. */
int tubo__array_type(tubo_type_t type, size_t *size, size_t *align);

/* Bytes of shared memory for length elements of size bytes: header and elements.
 * Returns 0, TUBO_EINVAL for length 0, TUBO_ETOOBIG past what one object may span. */
int tubo__array_bytes(size_t length, size_t size, size_t *bytes);

/* Makes an array handle as tubo_array_create (collective 0, comm unused) or
 * tubo_array_open (collective 1) do, its elements starting as the length elements at init
 * (NULL: zeroed), written before any other process can see them. Where rank 0 serves the
 * array, each rank writes init into its own copy, and rank 0's is the reference. */
int tubo__array_make(tubo_comm_t *comm, int collective, tubo_type_t type, size_t length,
                     const void *init, tubo_array_t **out);

/* An Array or Value on a communicator whose ranks share no memory (they span nodes under
 * mpirun, or the job uses the pipe transport): rank 0 holds the reference copy and every
 * rank's copy agrees with it under the lock (array_served.c). */
typedef struct tubo__array_srv tubo__array_srv_t;

/* What one kind of array does; array.c has checked the handle and the header.
 * Return 0 or a negative TUBO_E code, as the public calls. */
typedef struct tubo__array_ops {
  int (*lock)(tubo_array_t *a);
  int (*unlock)(tubo_array_t *a);
  /* Releases the lock if this process holds it, and what the kind holds besides the
   * handle and its memory. */
  int (*free_)(tubo_array_t *a);
} tubo__array_ops_t;

/* A process's handle: its own copy of what the shared header must say. Where rank 0
 * serves the array, mem is this rank's copy, with a header as in shared memory. */
struct tubo_array {
  const tubo__array_ops_t *ops;
  tubo_type_t type;
  size_t length;
  tubo__objmem_t mem;
  tubo__array_srv_t *srv; /* the served kind's state, or NULL */
};

/* The kinds: the array in shared memory (array.c), and the served one. */
extern const tubo__array_ops_t tubo__array_shm_ops;
extern const tubo__array_ops_t tubo__array_served_ops;

/* Opens the served side over this rank's copy, data (bytes long), collectively; type and
 * length must agree on every rank (TUBO_EINVAL on a rank where they differ from rank 0's). */
int tubo__array_srv_open(tubo_comm_t *comm, void *data, size_t bytes, uint64_t type,
                         uint64_t length, tubo__array_srv_t **out);

#endif /* TUBO_PATTERNS_ARRAY_H */
