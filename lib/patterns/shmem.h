/* SPDX-License-Identifier: MIT */
/* Memory for the pattern objects (Queue, Pipe, Array, Value): either standalone, an
 * anonymous shared mapping that processes forked afterwards inherit (Python's way), or
 * collective over a communicator, carved from the job's shared heap. The object's layout
 * is the same in both; only where the bytes come from differs. */
#ifndef TUBO_PATTERNS_SHMEM_H
#define TUBO_PATTERNS_SHMEM_H

#include <stddef.h>

#include "tubo.h"

typedef struct tubo__shmem {
  void *base;  /* zeroed, page-aligned, shared */
  size_t size; /* bytes, rounded up to pages */
  int anon;    /* 1: an anonymous mapping this handle unmaps; 0: the job's heap */
} tubo__shmem_t;

/* Maps size zeroed bytes of anonymous shared memory. Returns 0, TUBO_EINVAL (size 0),
 * TUBO_ETOOBIG or TUBO_ESHM. */
int tubo__shmem_anon(size_t size, tubo__shmem_t *m);

/* Collective over comm: every rank gets the same zeroed size bytes (the same size must be
 * asked on every rank). Returns 0, TUBO_ECOMM, TUBO_ENOTSUP where the ranks share no memory
 * (the pipe transport), TUBO_ESHM when the job's heap is full (TUBO_SHM_HEAP_BYTES), or the
 * error of the exchange between ranks. */
int tubo__shmem_comm(tubo_comm_t *comm, size_t size, tubo__shmem_t *m);

/* Lets this process's view go (unmaps an anonymous mapping; heap memory lives on with the
 * job). */
void tubo__shmem_release(tubo__shmem_t *m);

#endif /* TUBO_PATTERNS_SHMEM_H */
