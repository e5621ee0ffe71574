/* SPDX-License-Identifier: MIT */
/* Message buffers in shared memory (tubo_alloc_mem) and loans (tubo_loan ..).
 *
 * A buffer comes from the job's shared heap through the transport that has one (shm),
 * as an owned block (shm/shm_loan.h); where there is none, or a loan's peer is reached by
 * a transport without shared memory, it is private memory with a header of the same size
 * saying so, and the calls copy as tubo_send and tubo_recv do. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "world.h"

#define LOAN_PRIV_MAGIC 0x50524956u /* "PRIV" */
#define LOAN_PRIV_HDR   64u

/* The header before the data of a buffer in private memory. */
struct loan_priv {
  uint32_t magic;
  uint32_t pad;
  uint64_t size;
};

/* The transport of w whose heap holds owned blocks, or NULL. */
static tubo__tport_t *loan_tport(tubo__world_t *w)
{
  for (int i = 0; i < w->ntports; i++)
    if (w->tports[i].ops->loan_alloc != NULL)
      return &w->tports[i];
  return NULL;
}

static int loan_priv_alloc(size_t size, void **ptr)
{
  void *p;
  if (size > SIZE_MAX - LOAN_PRIV_HDR || posix_memalign(&p, 64, LOAN_PRIV_HDR + size) != 0)
    return TUBO_ENOMEM;
  struct loan_priv *h = p;
  h->magic = LOAN_PRIV_MAGIC;
  h->size = size;
  *ptr = (char *)p + LOAN_PRIV_HDR;
  return 0;
}

/* Allocates from t's heap (if t), else privately. A full heap is TUBO_ENOMEM, as
 * MPI_Alloc_mem's MPI_ERR_NO_MEM: falling back to private memory would hide that the
 * buffer no longer saves a copy. */
static int loan_alloc_in(tubo__tport_t *t, size_t size, void **ptr)
{
  if (t == NULL)
    return loan_priv_alloc(size, ptr);
  int rc = t->ops->loan_alloc(t->state, size ? size : 1, ptr);
  if (rc == TUBO_ENOTSUP)
    return loan_priv_alloc(size, ptr); /* the job has no heap (TUBO_SHM_HEAP_BYTES) */
  return rc == TUBO_ESHM || rc == TUBO_ETOOBIG ? TUBO_ENOMEM : rc;
}

/* Frees a buffer of either kind that this rank holds. */
static int loan_free_any(void *ptr)
{
  if (ptr == NULL)
    return 0;
  tubo__tport_t *t = tubo__world != NULL ? loan_tport(tubo__world) : NULL;
  uint64_t off;
  if (t != NULL && t->ops->heap_of(t->state, ptr, 0, &off))
    return t->ops->loan_free(t->state, off);
  struct loan_priv *h = (struct loan_priv *)((char *)ptr - LOAN_PRIV_HDR);
  if (h->magic != LOAN_PRIV_MAGIC)
    return TUBO_EINVAL;
  h->magic = 0;
  free(h);
  return 0;
}

int tubo_alloc_mem(size_t size, void **ptr)
{
  if (ptr == NULL)
    return TUBO_EINVAL;
  *ptr = NULL;
  if (tubo__world == NULL)
    return TUBO_ENOTINIT;
  return loan_alloc_in(loan_tport(tubo__world), size, ptr);
}

int tubo_free_mem(void *ptr)
{
  return loan_free_any(ptr);
}

int tubo_loan_release(void *ptr)
{
  return loan_free_any(ptr);
}

/* Checks comm and a rank of it, as the point-to-point calls do. */
static int loan_check(tubo_comm_t *comm, int rank, int tag)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (rank < 0 || rank >= comm->size)
    return TUBO_ERANK;
  if (tag < 0 || tag > TUBO_TAG_MAX)
    return TUBO_ETAG;
  return 0;
}

int tubo_loan(tubo_comm_t *comm, int dest, size_t len, void **ptr)
{
  if (ptr == NULL)
    return tubo__error(comm, TUBO_EINVAL, "tubo_loan", "NULL ptr");
  *ptr = NULL;
  int rc = loan_check(comm, dest, 0);
  if (rc != 0)
    return tubo__p2p_error("tubo_loan", comm, rc, dest, 0, NULL, 0);
  tubo__world_t *w = comm->w;
  int peer = tubo__comm_world_rank(comm, dest);
  tubo__tport_t *t = peer != w->rank ? tubo__tport_of(w, peer) : loan_tport(w);
  rc = loan_alloc_in(t != NULL && t->ops->loan_alloc != NULL ? t : NULL, len, ptr);
  return tubo__error_ret(comm, rc, "tubo_loan");
}

/* tubo_send_loan's work where dest shares memory with this rank, its arguments checked:
 * hands the loan over with no copy. Returns 0 or an error, or 1 where dest shares no
 * memory with this rank (nothing done). It makes no public call, so comm needs no view. */
static int loan_send_shared(void *ptr, size_t len, int dest, int tag, tubo_comm_t *comm)
{
  int rc;
  tubo__world_t *w = comm->w;
  int peer = tubo__comm_world_rank(comm, dest);
  tubo__tport_t *t = peer != w->rank ? tubo__tport_of(w, peer) : NULL;
  uint64_t off;
  if (t == NULL || t->ops->heap_of == NULL || !t->ops->heap_of(t->state, ptr, 0, &off))
    return 1;
  /* It must be a loan of this rank, at least len long: then it becomes the peer's. */
  if ((rc = t->ops->loan_give(t->state, off, len, tubo__tp_index_of(w, peer))) != 0)
    return rc;
  return tubo__send_loan(comm, off, len, dest, tag);
}

/* tubo_send_loan's work where dest shares no memory with this rank: the message is
 * copied, the buffer given back. comm is a view, whose errors only return. */
static int loan_send_copy(void *ptr, size_t len, int dest, int tag, tubo_comm_t *comm)
{
  int rc;
  uint64_t off;
  tubo__world_t *w = comm->w;
  struct loan_priv *h = (struct loan_priv *)((char *)ptr - LOAN_PRIV_HDR);
  tubo__tport_t *own = loan_tport(w);
  if (own != NULL && own->ops->heap_of(own->state, ptr, 0, &off)) {
    if (own->ops->loan_take(own->state, off, len) == NULL)
      return TUBO_EINVAL;
  } else if (h->magic != LOAN_PRIV_MAGIC || h->size < len) {
    return TUBO_EINVAL;
  }
  rc = tubo_send(ptr, len, dest, tag, comm);
  int frc = loan_free_any(ptr);
  return rc != 0 ? rc : frc;
}

/* The copying path runs on a view of comm on comm's own context: the public calls it
 * makes inside only return their errors, which this call then reports as its own. */
int tubo_send_loan(void *ptr, size_t len, int dest, int tag, tubo_comm_t *comm)
{
  int rc = loan_check(comm, dest, tag);
  if (rc != 0)
    return tubo__p2p_error("tubo_send_loan", comm, rc, dest, tag, NULL, 0);
  if (ptr == NULL)
    return tubo__error(comm, TUBO_EINVAL, "tubo_send_loan", "NULL ptr");
  if ((rc = loan_send_shared(ptr, len, dest, tag, comm)) == 1) {
    tubo_comm_t quiet;
    tubo__comm_view(comm, comm->ctx, &quiet);
    rc = loan_send_copy(ptr, len, dest, tag, &quiet);
    tubo__comm_view_end(&quiet);
  }
  return tubo__p2p_error_ret("tubo_send_loan", comm, rc, dest, tag, ptr, len);
}

/* tubo_recv_loan's work where the message that matched is no loan (it waits in the
 * unexpected queue, where the probe finds it first) or source is TUBO_PROC_NULL; comm is
 * a view, whose errors only return. */
static int loan_recv_other(int source, int tag, tubo_comm_t *comm, void **ptr,
                           tubo_status_t *status)
{
  tubo_status_t st;
  int rc = tubo_probe(source, tag, comm, &st);
  if (rc != 0)
    return rc;
  tubo__world_t *w = comm->w;
  int src = tubo__comm_world_rank(comm, st.source);
  tubo__umsg_t *u = tubo__unexp_find(w, src, comm->ctx, st.tag);
  if (u != NULL && u->kind == TUBO__F_RTS && (u->raddr & TUBO__RTS_LOAN)) {
    /* A loan: the message's memory becomes this caller's, nothing is copied. */
    tubo__tport_t *t = tubo__tport_of(w, src);
    void *p = t->ops->loan_accept ? t->ops->loan_accept(t->state, TUBO__RTS_OFF(u->raddr), u->total)
                                  : NULL;
    if (p == NULL) {
      tubo__job_corrupt(w);
      return TUBO_ECORRUPT;
    }
    tubo__list_remove(&w->unexp, &u->link);
    free(u);
    st.error = 0;
    if (status != NULL)
      *status = st;
    *ptr = p;
    return 0;
  }
  /* Any other message is received into a buffer of its length, from the heap if any. */
  void *buf;
  if ((rc = loan_alloc_in(loan_tport(w), st.length, &buf)) != 0)
    return rc;
  rc = tubo_recv(buf, st.length, st.source, st.tag, comm, status);
  if (rc != 0) {
    (void)loan_free_any(buf);
    return rc;
  }
  *ptr = buf;
  return 0;
}

int tubo_recv_loan(int source, int tag, tubo_comm_t *comm, void **ptr, tubo_status_t *status)
{
  if (ptr == NULL)
    return tubo__error(comm, TUBO_EINVAL, "tubo_recv_loan", "NULL ptr");
  *ptr = NULL;
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return tubo__error(comm, rc, "tubo_recv_loan", NULL);
  /* A loan matches the receive as a plain receive's message does, and ends it; that path
   * makes no public call, so comm needs no view. */
  rc = tubo__recv_loan(comm, source, tag, ptr, status);
  if (rc == 0 && *ptr == NULL) {
    tubo_comm_t quiet;
    tubo__comm_view(comm, comm->ctx, &quiet);
    rc = loan_recv_other(source, tag, &quiet, ptr, status);
    tubo__comm_view_end(&quiet);
  }
  return tubo__p2p_error_ret("tubo_recv_loan", comm, rc, source, tag, NULL, 0);
}
