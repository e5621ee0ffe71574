/* SPDX-License-Identifier: MIT */
/* Collective memory for pattern objects: rank 0 of the communicator takes a block of the
 * job's shared heap and tells the others where it is (shmem.h). */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "patterns/shmem.h"
#include "world.h"

/* The internal tag of the announcement, on the communicator's collective context (the
 * barrier uses tags below 64 there). */
#define SHMEM_TAG 0x1000

struct shmem_news {
  int32_t rc;
  uint32_t pad;
  uint64_t off;
  uint64_t size;
};

int tubo__shmem_comm(tubo_comm_t *comm, size_t size, tubo__shmem_t *m)
{
  memset(m, 0, sizeof *m);
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (size == 0)
    return TUBO_EINVAL;
  tubo__world_t *w = comm->w;
  if (comm->size == 1 && w->nact == 0)
    return tubo__shmem_anon(size, m); /* alone: nobody else needs to find it */
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
  size_t bytes = (size + page - 1) / page * page;
  tubo_comm_t coll;
  tubo__comm_view(comm, comm->ctx_coll, &coll);
  struct shmem_news news = {0, 0, 0, bytes};
  if (comm->rank == 0) {
    news.rc = t->ops->heap_alloc(t->state, bytes, &news.off);
    for (int r = 1; r < comm->size && rc == 0; r++)
      rc = tubo_send(&news, sizeof news, r, SHMEM_TAG, &coll);
  } else {
    rc = tubo_recv(&news, sizeof news, 0, SHMEM_TAG, &coll, TUBO_STATUS_IGNORE);
    if (rc == 0 && news.rc == 0 && news.size != bytes)
      rc = TUBO_EINVAL; /* ranks asked for different sizes */
  }
  tubo__comm_view_end(&coll);
  if (rc != 0)
    return rc;
  if (news.rc != 0)
    return news.rc;
  void *p = t->ops->heap_at(t->state, news.off, bytes);
  if (p == NULL)
    return TUBO_ECORRUPT;
  m->base = p;
  m->size = bytes;
  m->anon = 0;
  return 0;
}
