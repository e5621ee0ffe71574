/* SPDX-License-Identifier: MIT */
/* Where the growing shared objects take their memory (objheap.h). */
#include "config.h"

#include "patterns/objheap.h"

#include <unistd.h>

#include "patterns/objmem.h"
#include "settings.h"
#include "world.h"
#include "tubo.h"

/* The process tree's heap: made once, inherited by forked children with the rest of
 * this process's memory (the mapping is shared, the handle a private copy of the same
 * values). */
static tubo__heap_own_t objheap_own;
static int objheap_made;

int tubo__objheap_process(tubo__objheap_t *m)
{
  if (!objheap_made) {
    uint64_t bytes = tubo__setting_u64("TUBO_PROCESS_HEAP_BYTES", TUBO__PROCESS_HEAP_DEFAULT,
                                       TUBO__PROCESS_HEAP_MIN, TUBO__PROCESS_HEAP_MAX);
    int rc = tubo__heap_own_create(bytes, &objheap_own);
    if (rc != 0)
      return rc == TUBO_EINVAL ? TUBO_ESHM : rc;
    objheap_made = 1;
  }
  m->heap = &objheap_own.heap;
  m->tport = NULL;
  return 0;
}

tubo__heap_t *tubo__objheap_process_heap(void)
{
  return objheap_made ? &objheap_own.heap : NULL;
}

int tubo__objheap_tport(struct tubo__tport *t, tubo__objheap_t *m)
{
  if (t == NULL || t->ops->heap_alloc == NULL || t->ops->heap_free == NULL ||
      t->ops->heap_at == NULL)
    return TUBO_ENOTSUP;
  m->heap = NULL;
  m->tport = t;
  return 0;
}

int tubo__objheap_same(const tubo__objheap_t *a, const tubo__objheap_t *b)
{
  return a->heap == b->heap && a->tport == b->tport;
}

int tubo__objheap_alloc(const tubo__objheap_t *m, size_t size, unsigned flags, uint64_t *off)
{
  if (m->heap != NULL)
    return tubo__heap_alloc(m->heap, size, flags, off);
  return m->tport->ops->heap_alloc(m->tport->state, size, off);
}

int tubo__objheap_free(const tubo__objheap_t *m, uint64_t off)
{
  if (m->heap != NULL)
    return tubo__heap_free(m->heap, off);
  return m->tport->ops->heap_free(m->tport->state, off);
}

void *tubo__objheap_at_slow(const tubo__objheap_t *m, uint64_t off, size_t size)
{
  if (m->tport == NULL)
    return NULL;
  return m->tport->ops->heap_at(m->tport->state, off, size);
}

int tubo__objheap_open(tubo_comm_t *comm, const tubo__objheap_kind_t *kind, void *core,
                       struct tubo__objmem *mem)
{
  int rc = tubo__objmem_comm(comm, kind->head_bytes, mem);
  if (rc != 0)
    return rc;
  if (mem->anon) {
    /* A communicator of one rank and no transport: nobody else will ever open it. */
    tubo__objmem_release(mem);
    return 1;
  }
  tubo__objheap_t heap;
  rc = tubo__objheap_tport(mem->tport, &heap);
  int made = 0;
  if (rc == 0 && comm->rank == 0)
    made = (rc = kind->make_at(&heap, mem->off, core)) == 0;
  int brc = tubo__barrier(comm);
  if (rc == 0)
    rc = brc;
  if (rc == 0 && comm->rank != 0 && kind->attach(&heap, mem->off, core) != 0)
    rc = TUBO_ESHM; /* rank 0 could not make it: the heap is full */
  else if (rc == 0)
    made = 1;
  if (rc != 0 && tubo__objmem_release_last(mem)) {
    if (made)
      kind->empty(core);
    tubo__objmem_free_block(mem);
  }
  return rc;
}
