/* SPDX-License-Identifier: MIT */
/* Shared Array and Value (multiprocessing.Array, Value): their layout in shared memory.
 *
 *  [ header: magic, type, length, lock | padding to SHARED_DATA_OFF | elements ... ]
 *
 * The header has its own two cache lines (x86 fetches lines in pairs), so taking the lock
 * does not steal the line of the first elements from a process working on them. The
 * elements start at SHARED_DATA_OFF, aligned for every element type. Nothing in shared
 * memory is a pointer; each process's handle keeps its own copy of type and length, and
 * checks the header against them before it trusts the memory. */
#ifndef TUBO_PATTERNS_SHARED_H
#define TUBO_PATTERNS_SHARED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "patterns/lock.h"
#include "tubo.h"

/* "tuba" */
#define TUBO__SHARED_MAGIC 0x74756261u

/* Where the elements start: the header's two cache lines. */
#define TUBO__SHARED_DATA_OFF 128u

typedef struct tubo__shared_head {
  _Atomic uint32_t magic;  /* TUBO__SHARED_MAGIC once set up */
  _Atomic uint32_t type;   /* tubo_type_t */
  _Atomic uint64_t length; /* elements */
  tubo__lock_t lock;
} tubo__shared_head_t;

_Static_assert(sizeof(tubo__shared_head_t) <= 64, "the header fits one cache line");

/* Size and alignment (align may be NULL) of an element type. Returns 0, or TUBO_EINVAL for an
 * unknown type. */
int tubo__shared_type(tubo_type_t type, size_t *size, size_t *align);

/* Bytes of shared memory for length elements of size bytes: header and elements.
 * Returns 0, TUBO_EINVAL for length 0, TUBO_ETOOBIG past what one object may span. */
int tubo__shared_bytes(size_t length, size_t size, size_t *bytes);

#endif /* TUBO_PATTERNS_SHARED_H */
