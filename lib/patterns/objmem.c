/* SPDX-License-Identifier: MIT */
/* Memory for the pattern objects (objmem.h). */
#include "config.h"

#include "patterns/objmem.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "world.h"

static size_t objmem_round(size_t size)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (size > SIZE_MAX - page)
    return 0;
  return (size + page - 1) / page * page;
}

int tubo__objmem_anon(size_t size, tubo__objmem_t *m)
{
  memset(m, 0, sizeof *m);
  if (size == 0)
    return TUBO_EINVAL;
  size_t bytes = objmem_round(size);
  if (bytes == 0)
    return TUBO_ETOOBIG;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return TUBO_ESHM;
  m->base = p;
  m->size = bytes;
  m->anon = 1;
  return 0;
}

/* Drops n of the holds on a heap block; the last hold frees it. */
void tubo__objmem_drop(tubo__objmem_t *m, uint32_t n)
{
  if (atomic_fetch_sub(m->holders, n) == n)
    (void)m->tport->ops->heap_free(m->tport->state, m->off);
}

void tubo__objmem_release(tubo__objmem_t *m)
{
  if (m->anon && m->base != NULL)
    munmap(m->base, m->size);
  else if (m->holders != NULL && m->w == tubo__world && m->pid == getpid())
    tubo__objmem_drop(m, 1);
  memset(m, 0, sizeof *m);
}

int tubo__objmem_release_last(tubo__objmem_t *m)
{
  if (!m->anon && m->holders != NULL && m->w == tubo__world && m->pid == getpid()) {
    if (atomic_fetch_sub(m->holders, 1) == 1)
      return 1;
    memset(m, 0, sizeof *m);
    return 0;
  }
  tubo__objmem_release(m);
  return 0;
}

void tubo__objmem_free_block(tubo__objmem_t *m)
{
  (void)m->tport->ops->heap_free(m->tport->state, m->off);
  memset(m, 0, sizeof *m);
}
