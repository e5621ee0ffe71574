/* SPDX-License-Identifier: MIT */
/* Collective memory for pattern objects: rank 0 of the communicator takes a block of the
 * job's shared heap and tells the others where it is (objmem.h). The block holds the
 * object, then a line with the count of ranks holding it: rank 0 sets it to the
 * communicator's size before it tells anyone, and each rank's release takes one off. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "patterns/objmem.h"
#include "world.h"

/* The internal tag of the announcement, on the communicator's internal context. */
#define SHMEM_TAG TUBO__ITAG_SHMEM

/* The line after the object that counts its holders. */
#define SHMEM_HOLDERS_LINE 64u

struct objmem_news {
  int32_t rc;
  uint32_t pad;
  uint64_t off;
  uint64_t size;
};

/* Fills m for the heap block at off holding an object of bytes at its first page
 * boundary (offsets keep the alignment of addresses: every rank maps the heap on a page). */
static int objmem_map(tubo__objmem_t *m, uint64_t off, size_t bytes, size_t page)
{
  tubo__tport_t *t = m->tport;
  if (bytes > SIZE_MAX - SHMEM_HOLDERS_LINE || off > UINT64_MAX - page)
    return TUBO_ECORRUPT;
  uint64_t at = (off + page - 1) & ~(uint64_t)(page - 1);
  unsigned char *p = t->ops->heap_at(t->state, at, bytes + SHMEM_HOLDERS_LINE);
  if (p == NULL)
    return TUBO_ECORRUPT;
  m->base = p;
  m->size = bytes;
  m->anon = 0;
  m->off = off;
  m->holders = (_Atomic uint32_t *)(p + bytes);
  return 0;
}

int tubo__objmem_comm(tubo_comm_t *comm, size_t size, tubo__objmem_t *m)
{
  return tubo__objmem_comm_fill(comm, size, 0, NULL, 0, m);
}

int tubo__objmem_comm_fill(tubo_comm_t *comm, size_t size, size_t off, const void *fill, size_t len,
                           tubo__objmem_t *m)
{
  memset(m, 0, sizeof *m);
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (size == 0 || (fill != NULL && (off > size || len > size - off)))
    return TUBO_EINVAL;
  tubo__world_t *w = comm->w;
  if (comm->size == 1 && w->nact == 0) {
    /* Alone: nobody else needs to find it. */
    rc = tubo__objmem_anon(size, m);
    if (rc == 0 && fill != NULL)
      memcpy((char *)m->base + off, fill, len);
    return rc;
  }
  /* The memory comes from the heap of the transport that reaches every other rank of the
   * communicator; ranks reached through different transports share no memory. */
  tubo__tport_t *t = NULL;
  for (int r = 0; r < comm->size; r++) {
    int wr = tubo__comm_world_rank(comm, r);
    if (wr == w->rank)
      continue;
    tubo__tport_t *tr = tubo__tport_of(w, wr);
    if (t != NULL && tr != t)
      return TUBO_ENOTSUP;
    t = tr;
  }
  if (t == NULL)
    t = w->nact > 0 ? &w->tports[w->act[0]] : NULL;
  if (t == NULL || t->ops->heap_alloc == NULL)
    return TUBO_ENOTSUP;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (size > SIZE_MAX - 3 * page)
    return TUBO_ETOOBIG;
  size_t bytes = (size + page - 1) / page * page;
  m->tport = t;
  m->w = w;
  m->pid = getpid();
  tubo_comm_t coll;
  tubo__comm_view(comm, comm->ctx_coll, &coll);
  struct objmem_news news = {0, 0, 0, bytes};
  if (comm->rank == 0) {
    /* A page more than needed, so that the object starts on a page as anonymous ones do
     * (their layouts align their lines to more than the heap's 64 bytes). */
    news.rc = t->ops->heap_alloc(t->state, bytes + page + SHMEM_HOLDERS_LINE, &news.off);
    if (news.rc == 0 && (news.rc = objmem_map(m, news.off, bytes, page)) == 0) {
      atomic_store(m->holders, (uint32_t)comm->size);
      if (fill != NULL)
        memcpy((char *)m->base + off, fill, len);
    }
    int told = 1;
    while (told < comm->size && rc == 0)
      if ((rc = tubo_send(&news, sizeof news, told, SHMEM_TAG, &coll)) == 0)
        told++;
    /* Ranks not told never hold it, nor does this rank, which fails. */
    if (rc != 0 && m->holders != NULL)
      tubo__objmem_drop(m, (uint32_t)(comm->size - told + 1));
  } else {
    rc = tubo_recv(&news, sizeof news, 0, SHMEM_TAG, &coll, TUBO_STATUS_IGNORE);
    if (rc == 0 && news.rc == 0 && (rc = objmem_map(m, news.off, news.size, page)) == 0 &&
        news.size != bytes) {
      tubo__objmem_drop(m, 1); /* ranks asked for different sizes: this one holds none */
      rc = TUBO_EINVAL;
    }
  }
  tubo__comm_view_end(&coll);
  if (rc == 0)
    rc = news.rc;
  if (rc != 0) {
    memset(m, 0, sizeof *m);
    return rc;
  }
  return 0;
}
