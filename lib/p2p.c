/* SPDX-License-Identifier: MIT */
/* Point-to-point: the public send, receive, wait, test and probe functions. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "world.h"

/* Validates the arguments every point-to-point call shares. peer is a comm rank. */
static inline int p2p_check(const tubo_comm_t *comm, int peer, int tag, const void *buf, size_t len,
                            int receiving)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (peer < 0 || peer >= comm->size) {
    if (!(receiving && peer == TUBO_ANY_SOURCE) && peer != TUBO_PROC_NULL)
      return TUBO_ERANK;
  }
  if (tag < 0 || tag > TUBO_TAG_MAX) {
    if (!(receiving && tag == TUBO_ANY_TAG))
      return TUBO_ETAG;
  }
  if (buf == NULL && len > 0)
    return TUBO_EINVAL;
  if (len > (size_t)UINT32_MAX * 4096)
    return TUBO_ETOOBIG;
  return 0;
}

int tubo__p2p_error(const char *fn, tubo_comm_t *comm, int rc, int peer, int tag, const void *buf,
                    size_t len)
{
  int live = tubo__comm_check(comm) == 0;
  switch (rc) {
  case TUBO_ERANK:
    if (live)
      return tubo__error(comm, rc, fn, "rank %d out of range for a communicator of %d", peer,
                         comm->size);
    break;
  case TUBO_ETAG:
    return tubo__error(comm, rc, fn, "tag %d out of range 0 to %d", tag, TUBO_TAG_MAX);
  case TUBO_ECOMM:
    return tubo__error(NULL, rc, fn, "invalid communicator %p (NULL, freed or never made)",
                       (const void *)comm);
  case TUBO_ETOOBIG:
    return tubo__error(comm, rc, fn, "%zu bytes is over the limit of 16 TiB", len);
  case TUBO_EINVAL:
    if (buf == NULL && len > 0)
      return tubo__error(comm, rc, fn, "NULL buffer for %zu bytes", len);
    break;
  case TUBO_EPEER:
    if (peer >= 0)
      return tubo__error(comm, rc, fn, "rank %d is gone", peer);
    break;
  case TUBO_ETRUNC:
    return tubo__error(comm, rc, fn, "message truncated: longer than the buffer of %zu bytes", len);
  default:
    break;
  }
  return tubo__error(live ? comm : NULL, rc, fn, NULL);
}

/* A request for a peer that is TUBO_PROC_NULL: complete already, having moved nothing. */
static int req_null(tubo_comm_t *comm, int kind, tubo_request_t **req)
{
  tubo_request_t *r = tubo__req_alloc(comm->w);
  if (r == NULL)
    return TUBO_ENOMEM;
  r->kind = kind;
  r->state = TUBO__RS_ACTIVE;
  r->w = comm->w;
  r->comm = comm;
  r->ctx = comm->ctx;
  r->peer = TUBO_PROC_NULL;
  r->msg_len = 0;
  r->st_source = TUBO_PROC_NULL;
  r->st_tag = TUBO_ANY_TAG;
  tubo__req_complete(r, 0);
  *req = r;
  return 0;
}

static void status_null(tubo_status_t *st)
{
  if (st != NULL)
    *st = (tubo_status_t){TUBO_PROC_NULL, TUBO_ANY_TAG, 0, 0};
}

static void status_fill(tubo__world_t *w, const tubo_request_t *r, int rc, tubo_status_t *st)
{
  if (st == NULL)
    return;
  if (r->kind == TUBO__REQ_RECV && r->msg_len != (size_t)-1) {
    st->source = r->st_source; /* world rank; communicators map it below */
    const tubo_comm_t *c = r->comm;
    if (c != NULL && c->to_world != NULL && r->st_source >= 0)
      for (int i = 0; i < c->size; i++)
        if (c->to_world[i] == r->st_source) {
          st->source = i;
          break;
        }
    st->tag = r->st_tag;
    st->length = r->msg_len;
  } else {
    st->source = TUBO_ANY_SOURCE;
    st->tag = TUBO_ANY_TAG;
    st->length = 0;
  }
  st->error = rc;
  (void)w;
}

/* Whether nothing more can come from peer (a world rank, or TUBO_ANY_SOURCE: from
 * anyone) because it left the job. */
static int peer_hopeless(tubo__world_t *w, int peer)
{
  if (peer >= 0)
    return w->peers[peer].gone != 0;
  for (int p = 0; p < w->size; p++)
    if (p != w->rank && !w->peers[p].gone)
      return 0;
  return w->size > 1;
}

/* Whether a pending request can no longer complete because its peer left. A receive
 * whose message its transport is taking in (reading) is not: the sender's data left
 * before the sender did, also where its departure was heard first (MPI carries the two on
 * different communicators, and data striped over several links can come in last). */
static int req_hopeless(tubo__world_t *w, const tubo_request_t *r)
{
  /* A collective watches its own requests. */
  if ((r->kind == TUBO__REQ_RECV && r->reading) || r->kind == TUBO__REQ_COLL)
    return 0;
  return peer_hopeless(w, r->peer);
}

/* Takes a pending request out of every queue and completes it with error. */
static void req_fail(tubo__world_t *w, tubo_request_t *r, int error)
{
  if (r->state == TUBO__RS_DONE)
    return;
  if (r->kind == TUBO__REQ_COLL) {
    tubo__coll_req_cancel(r, error);
    return;
  }
  if (r->kind == TUBO__REQ_RECV) {
    tubo__read_cancel(w, r);
    if (tubo__list_contains(&w->posted, &r->link))
      tubo__posted_remove(w, r);
    for (int p = 0; p < w->size; p++)
      if (w->peers[p].rx_req == r)
        w->peers[p].rx_req = NULL;
  } else if (r->kind == TUBO__REQ_SEND) {
    if (r->proto == TUBO__SP_WAITFIN) {
      tubo__waitfin_complete(w, r, error);
      return;
    }
    tubo__send_fail_peer(w, r->peer, error);
  }
  tubo__req_complete(r, error);
}

static int req_done_fn(void *p)
{
  tubo_request_t *r = p;
  if (r->state == TUBO__RS_DONE)
    return 1;
  tubo__world_t *w = r->w;
  if (req_hopeless(w, r)) {
    req_fail(w, r, TUBO_EPEER);
    return 1;
  }
  return 0;
}

int tubo__wait_req(tubo__world_t *w, tubo_request_t *r)
{
  /* A request on one peer can only be finished by the transport that reaches it. */
  int rc = tubo__wait_peer(w, r->peer, req_done_fn, r);
  if (rc != 0 && r->state != TUBO__RS_DONE)
    req_fail(w, r, rc);
  return r->error;
}

static void recv_init(tubo_request_t *r, const tubo_comm_t *comm, void *buf, size_t cap, int source,
                      int tag)
{
  r->kind = TUBO__REQ_RECV;
  r->state = TUBO__RS_ACTIVE;
  r->w = comm->w;
  r->comm = comm;
  r->ctx = comm->ctx;
  r->tag = tag;
  r->peer = source == TUBO_ANY_SOURCE ? TUBO_ANY_SOURCE : tubo__comm_world_rank(comm, source);
  r->buf = buf;
  r->cap = cap;
  r->msg_len = (size_t)-1;
}

static void recv_spin(tubo__world_t *w, const tubo_request_t *r);

/* A blocking receive through the engine on a request on the caller's stack (tubo_recv's
 * and tubo_recv_loan's general paths): started, then, where it did not end at once,
 * waited for under fn's name. loan: the request's loan mode (TUBO__RL_TAKE or 0); a loan
 * receive first polls its peer's channel (recv_spin), as a wait on a posted receive does.
 * The caller reads the outcome, then clears r->magic. */
static void recv_on_stack(tubo_comm_t *comm, tubo_request_t *r, void *buf, size_t cap, int source,
                          int tag, uint8_t loan, const char *fn)
{
  tubo__world_t *w = comm->w;
  memset(r, 0, offsetof(tubo_request_t, cf));
  r->magic = TUBO__REQ_MAGIC;
  recv_init(r, comm, buf, cap, source, tag);
  r->loan = loan;
  tubo__recv_start(w, r);
  if (r->state != TUBO__RS_DONE) {
    tubo__call_t was = tubo__call_enter(w, fn, comm, TUBO__BLK_SOURCE, source, tag, 1);
    if (loan == TUBO__RL_TAKE)
      recv_spin(w, r);
    tubo__wait_req(w, r);
    tubo__call_leave(w, was);
  }
}

static void send_init(tubo_request_t *r, const tubo_comm_t *comm, const void *buf, size_t len,
                      int dest, int tag)
{
  r->kind = TUBO__REQ_SEND;
  r->state = TUBO__RS_ACTIVE;
  r->w = comm->w;
  r->comm = comm;
  r->ctx = comm->ctx;
  r->tag = tag;
  r->peer = tubo__comm_world_rank(comm, dest);
  r->buf = (void *)buf;
  r->cap = len;
}

/* Starts a send request, or completes it at once with the job's error when the job is broken. */
static int send_go(tubo__world_t *w, tubo_request_t *r, tubo_request_t **req)
{
  if (w->broken)
    tubo__req_complete(r, w->broken_code);
  else
    tubo__send_start(w, r);
  *req = r;
  return 0;
}

int tubo__isend_ctx_chan(tubo_comm_t *comm, uint16_t ctx, const void *buf, size_t len, int dest,
                         int tag, int chan, tubo_request_t **req)
{
  tubo__world_t *w = comm->w;
  tubo_request_t *r = tubo__req_alloc(w);
  if (r == NULL)
    return TUBO_ENOMEM;
  send_init(r, comm, buf, len, dest, tag);
  r->ctx = ctx;
  r->chan = (uint8_t)chan;
  return send_go(w, r, req);
}

int tubo__isend_ctx(tubo_comm_t *comm, uint16_t ctx, const void *buf, size_t len, int dest, int tag,
                    tubo_request_t **req)
{
  return tubo__isend_ctx_chan(comm, ctx, buf, len, dest, tag, 0, req);
}

static int wait_impl(tubo_request_t **req, tubo_status_t *status, const char *fn, int pooled);

int tubo__send_loan(tubo_comm_t *comm, uint64_t off, size_t len, int dest, int tag)
{
  tubo__world_t *w = comm->w;
  int peer = tubo__comm_world_rank(comm, dest);
  const tubo__peer_t *pe = &w->peers[peer];
  if (tubo__list_empty(&pe->sq) && !pe->gone && !w->broken) {
    /* Nothing queued before it: the RTS goes out now, with no request (nobody answers a
     * loan's RTS, so it names none). */
    struct tubo__f_rts h = {len, off | TUBO__RTS_HEAP | TUBO__RTS_LOAN, 0, 0};
    tubo__frame_t f = {TUBO__F_RTS, 0, comm->ctx, tag, sizeof h};
    int rc = tubo__push(w, peer, &f, &h, sizeof h, NULL, 0);
    if (rc != TUBO_EAGAIN)
      return rc;
  }
  tubo_request_t *r = tubo__req_alloc(w);
  if (r == NULL)
    return TUBO_ENOMEM;
  send_init(r, comm, NULL, len, dest, tag);
  r->proto = TUBO__SP_LOAN;
  r->off = off;
  send_go(w, r, &r);
  tubo__call_t was = tubo__call_enter(w, "tubo_send_loan", comm, TUBO__BLK_DEST, dest, tag, 1);
  int rc = wait_impl(&r, TUBO_STATUS_IGNORE, NULL, 1);
  tubo__call_leave(w, was);
  return rc;
}

int tubo__recv_loan(tubo_comm_t *comm, int source, int tag, void **ptr, tubo_status_t *status)
{
  /* As tubo_recv's fast path: from one source other than this rank, nothing queued in
   * the engine, the transport that reaches it may take the call over. */
  if ((unsigned)source < (unsigned)comm->size && (unsigned)tag + 1u <= TUBO_TAG_MAX + 1u) {
    tubo__world_t *w = comm->w;
    int peer = tubo__comm_world_rank(comm, source);
    if (peer != w->rank && tubo__list_empty(&w->posted) && tubo__list_empty(&w->unexp) &&
        !w->broken) {
      const tubo__tp_ops_t *ops = tubo__tport_of(w, peer)->ops;
      if (ops->recv_loan != NULL)
        return ops->recv_loan(source, tag, comm, ptr, status);
    }
  }
  return tubo__recv_loan_general(source, tag, comm, ptr, status);
}

int tubo__recv_loan_general(int source, int tag, tubo_comm_t *comm, void **ptr,
                            tubo_status_t *status)
{
  int rc = p2p_check(comm, source, tag, NULL, 0, 1);
  if (rc != 0 || source == TUBO_PROC_NULL)
    return rc;
  tubo_request_t r;
  recv_on_stack(comm, &r, NULL, 0, source, tag, TUBO__RL_TAKE, "tubo_recv_loan");
  r.magic = 0;
  if (r.loan == TUBO__RL_QUEUED)
    return 0;
  if (r.error == 0)
    *ptr = r.buf;
  status_fill(comm->w, &r, r.error, status);
  return r.error;
}

int tubo__irecv_ctx(tubo_comm_t *comm, uint16_t ctx, void *buf, size_t cap, int source, int tag,
                    tubo_request_t **req)
{
  tubo__world_t *w = comm->w;
  tubo_request_t *r = tubo__req_alloc(w);
  if (r == NULL)
    return TUBO_ENOMEM;
  recv_init(r, comm, buf, cap, source, tag);
  r->ctx = ctx;
  tubo__recv_start(w, r);
  *req = r;
  return 0;
}

int tubo__req_poll(tubo_request_t *r)
{
  return req_done_fn(r);
}

void tubo__req_cancel(tubo_request_t *r, int error)
{
  req_fail(r->w, r, error);
}

/* The general path of a blocking send: a request, queued behind earlier sends if need be,
 * and the full check of the arguments (tubo_isend). */
static int nb_start(int kind, const void *buf, size_t len, int peer, int tag, tubo_comm_t *comm,
                    tubo_request_t **req);
static int wait_impl(tubo_request_t **req, tubo_status_t *status, const char *fn, int pooled);

static __attribute__((noinline)) int send_general(const void *buf, size_t len, int dest, int tag,
                                                  tubo_comm_t *comm)
{
  tubo_request_t *r;
  int rc = nb_start(TUBO__REQ_SEND, buf, len, dest, tag, comm, &r);
  if (rc != 0)
    return rc;
  tubo__call_t was = tubo__call_enter(r->w, "tubo_send", comm, TUBO__BLK_DEST, dest, tag, 1);
  rc = wait_impl(&r, TUBO_STATUS_IGNORE, NULL, 1);
  tubo__call_leave(comm->w, was);
  return rc;
}

/* Pushes a small message to world rank peer in one frame if there is room, else takes
 * the general path. */
static __attribute__((noinline)) int send_frame(const void *buf, size_t len, int dest, int tag,
                                                tubo_comm_t *comm, int peer)
{
  tubo__frame_t f = {TUBO__F_EAGER, 0, comm->ctx, tag, (uint32_t)len};
  int rc = tubo__push(comm->w, peer, &f, buf, len, NULL, 0);
  if (rc != TUBO_EAGAIN) {
    comm->w->fast_sends++;
    return rc;
  }
  return send_general(buf, len, dest, tag, comm);
}

/* The fast path of a blocking send on a communicator known live: a small message with
 * nothing queued before it goes straight out in one frame. A transport with a send_eager
 * takes the call over, so that the path sets up no frame of its own; where it finds no
 * room, the send takes the general path. */
static inline __attribute__((always_inline)) int send_fast(const void *buf, size_t len, int dest,
                                                           int tag, tubo_comm_t *comm)
{
  if ((unsigned)dest < (unsigned)comm->size && (unsigned)tag <= TUBO_TAG_MAX &&
      (buf != NULL || len == 0)) {
    tubo__world_t *w = comm->w;
    int peer = tubo__comm_world_rank(comm, dest);
    const tubo__peer_t *pe = &w->peers[peer];
    if (len <= pe->frame_max && len < pe->rndv_gate && tubo__list_empty(&pe->sq) && !pe->gone &&
        !w->broken) {
      /* This rank itself has no transport. */
      const tubo__tport_t *t = peer != w->rank ? tubo__tport_of(w, peer) : NULL;
      if (t != NULL && t->ops->send_eager != NULL) {
        int rc = t->ops->send_eager(t->state, pe->tpeer, comm->ctx, tag, buf, len);
        if (__builtin_expect(rc == TUBO_EAGAIN, 0))
          return send_general(buf, len, dest, tag, comm);
        w->fast_sends++;
        return rc;
      }
      return send_frame(buf, len, dest, tag, comm, peer);
    }
  }
  return send_general(buf, len, dest, tag, comm);
}

/* tubo_send on any communicator but the world's: its handle is looked up first. */
static __attribute__((noinline)) int send_other(const void *buf, size_t len, int dest, int tag,
                                                tubo_comm_t *comm)
{
  if (tubo__comm_check(comm) != 0)
    return send_general(buf, len, dest, tag, comm);
  return send_fast(buf, len, dest, tag, comm);
}

int tubo_send(const void *buf, size_t len, int dest, int tag, tubo_comm_t *comm)
{
  int rc = tubo__comm_is_world(comm) ? send_fast(buf, len, dest, tag, comm)
                                     : send_other(buf, len, dest, tag, comm);
  return tubo__p2p_error_ret("tubo_send", comm, rc, dest, tag, buf, len);
}

/* tubo_isend (kind TUBO__REQ_SEND, to peer) and tubo_irecv (TUBO__REQ_RECV, from peer, into
 * buf): the arguments checked, then the request started on the communicator's context. */
static int nb_start(int kind, const void *buf, size_t len, int peer, int tag, tubo_comm_t *comm,
                    tubo_request_t **req)
{
  int recv = kind == TUBO__REQ_RECV;
  int rc = p2p_check(comm, peer, tag, buf, len, recv);
  if (rc != 0)
    return rc;
  if (req == NULL)
    return TUBO_EINVAL;
  if (peer == TUBO_PROC_NULL)
    return req_null(comm, kind, req);
  return recv ? tubo__irecv_ctx(comm, comm->ctx, (void *)buf, len, peer, tag, req)
              : tubo__isend_ctx(comm, comm->ctx, buf, len, peer, tag, req);
}

int tubo_isend(const void *buf, size_t len, int dest, int tag, tubo_comm_t *comm,
               tubo_request_t **req)
{
  int rc = nb_start(TUBO__REQ_SEND, buf, len, dest, tag, comm, req);
  return tubo__p2p_error_ret("tubo_isend", comm, rc, dest, tag, buf, len);
}

/* The general path of a blocking receive: a request on the stack, through the engine.
 * Apart from tubo_recv, whose fast path then sets up no stack frame. */
__attribute__((noinline)) int tubo__recv_general(void *buf, size_t cap, int source, int tag,
                                                 tubo_comm_t *comm, tubo_status_t *status)
{
  int rc = p2p_check(comm, source, tag, buf, cap, 1);
  if (rc != 0)
    return rc;
  if (source == TUBO_PROC_NULL) {
    status_null(status);
    return 0;
  }
  tubo_request_t r;
  recv_on_stack(comm, &r, buf, cap, source, tag, 0, "tubo_recv");
  status_fill(comm->w, &r, r.error, status);
  r.magic = 0;
  return r.error;
}

/* The fast path of a blocking receive on a communicator known live: with valid arguments
 * naming a source other than this rank and nothing queued in the engine, the transport
 * that reaches the source takes the call over (transport.h). */
static inline __attribute__((always_inline)) int
recv_fast(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm, tubo_status_t *status)
{
  if ((unsigned)source < (unsigned)comm->size && (unsigned)tag + 1u <= TUBO_TAG_MAX + 1u &&
      (buf != NULL || cap == 0) && cap <= (size_t)UINT32_MAX * 4096) {
    tubo__world_t *w = comm->w;
    int peer = tubo__comm_world_rank(comm, source);
    if (peer != w->rank && tubo__list_empty(&w->posted) && tubo__list_empty(&w->unexp)) {
      const tubo__tp_ops_t *ops = tubo__tport_of(w, peer)->ops;
      if (ops->recv != NULL)
        return ops->recv(buf, cap, source, tag, comm, status);
    }
  }
  return tubo__recv_general(buf, cap, source, tag, comm, status);
}

/* tubo_recv on any communicator but the world's: its handle is looked up first. */
static __attribute__((noinline)) int recv_other(void *buf, size_t cap, int source, int tag,
                                                tubo_comm_t *comm, tubo_status_t *status)
{
  if (tubo__comm_check(comm) != 0)
    return tubo__recv_general(buf, cap, source, tag, comm, status);
  return recv_fast(buf, cap, source, tag, comm, status);
}

int tubo_recv(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm, tubo_status_t *status)
{
  int rc = tubo__comm_is_world(comm) ? recv_fast(buf, cap, source, tag, comm, status)
                                     : recv_other(buf, cap, source, tag, comm, status);
  return tubo__p2p_error_ret("tubo_recv", comm, rc, source, tag, buf, cap);
}

int tubo_irecv(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm, tubo_request_t **req)
{
  int rc = nb_start(TUBO__REQ_RECV, buf, cap, source, tag, comm, req);
  return tubo__p2p_error_ret("tubo_irecv", comm, rc, source, tag, buf, cap);
}

/* Checks what a request found in a live pool holds: a request the user may name. */
static int req_check_state(const tubo_request_t *r)
{
  if (r->magic != TUBO__REQ_MAGIC || r->state == TUBO__RS_FREE ||
      (r->kind != TUBO__REQ_SEND && r->kind != TUBO__REQ_RECV && r->kind != TUBO__REQ_COLL))
    return TUBO_EREQUEST;
  return 0;
}

/* Checks a request handle passed by the user. */
static int req_check(tubo_request_t *r)
{
  if (tubo__nworlds == 0)
    return TUBO_ENOTINIT;
  /* A pooled request is followed only once found in a live pool; one on the stack is
   * never seen here (blocking calls keep theirs). */
  if (tubo__req_world(r) == NULL)
    return TUBO_EREQUEST;
  return req_check_state(r);
}

/* Checks a handle: in full, or, where this call found it in a live pool already (pooled,
 * which a pool never takes back while its world lives), only what it holds, which waiting
 * on another handle of the same call may have changed (the same request named twice). */
static int req_check_again(tubo_request_t *r, int pooled)
{
  return pooled ? req_check_state(r) : req_check(r);
}

static int req_finish(tubo__world_t *w, tubo_request_t **req, tubo_status_t *status)
{
  tubo_request_t *r = *req;
  int rc = r->error;
  status_fill(w, r, rc, status);
  if (r->kind == TUBO__REQ_COLL)
    tubo__coll_req_release(r);
  tubo__req_free(w, r);
  *req = NULL;
  return rc;
}

static void status_empty(tubo_status_t *status)
{
  if (status) {
    status->source = TUBO_ANY_SOURCE;
    status->tag = TUBO_ANY_TAG;
    status->length = 0;
    status->error = 0;
  }
}

/* The error return path of calls on requests: the error, and which request failed where
 * there are several (index, or (size_t)-1). comm and peer (a world rank) are the request's. */
static __attribute__((cold, noinline)) int req_fail_ret(const char *fn, const tubo_comm_t *comm,
                                                        int rc, int peer, size_t index,
                                                        size_t count, const char *started_by)
{
  tubo_comm_t *c = (tubo_comm_t *)comm;
  if (rc == TUBO_EREQUEST || rc == TUBO_EINVAL || rc == TUBO_ENOTINIT)
    return tubo__error(NULL, rc, fn, NULL);
  /* A non-blocking collective's failure is the collective's: it is named, with the call
   * where it came to light. */
  char name[96];
  if (started_by != NULL) {
    snprintf(name, sizeof name, "%s (completed in %s)", started_by, fn);
    fn = name;
  }
  char where[64] = "";
  if (index != (size_t)-1)
    snprintf(where, sizeof where, "request %zu of %zu: ", index, count);
  if (peer >= 0)
    return tubo__error(c, rc, fn, "%s%s (peer: world rank %d)", where, tubo_strerror(rc), peer);
  return tubo__error(c, rc, fn, "%s%s", where, tubo_strerror(rc));
}

/* Names the wait on r as the call fn, with r's peer (a rank of its communicator) and tag
 * (blocked.c). */
static tubo__call_t req_call_enter(tubo__world_t *w, const char *fn, const tubo_request_t *r)
{
  int role = r->kind == TUBO__REQ_RECV   ? TUBO__BLK_SOURCE
             : r->kind == TUBO__REQ_SEND ? TUBO__BLK_DEST
                                         : TUBO__BLK_NOPEER;
  int peer = r->peer;
  const tubo_comm_t *c = r->comm;
  if (peer >= 0 && c != NULL && c->from_world != NULL)
    peer = c->from_world[peer];
  return tubo__call_enter(w, fn, c, role, peer, r->tag, role != TUBO__BLK_NOPEER);
}

/* Before a wait on a receive from one peer: where nothing else could end the wait, the
 * transport that reaches the peer polls for its next frame alone for a while (transport.h,
 * spin), as a blocking receive's fast path does, instead of the engine's passes. */
static void recv_spin(tubo__world_t *w, const tubo_request_t *r)
{
  int peer = r->peer;
  if (r->kind != TUBO__REQ_RECV || peer < 0 || peer == w->rank)
    return;
  uint64_t budget = tubo__tp_recv_spin_ns(w, peer);
  const tubo__tport_t *t = tubo__tport_of(w, peer);
  if (budget != 0 && t->ops->spin != NULL)
    (void)t->ops->spin(t->state, w->peers[peer].tpeer, budget);
}

/* fn: the public call that waits, or NULL where the caller named its call already.
 * pooled: *req was found in a live pool already (req_check_again). */
static int wait_impl(tubo_request_t **req, tubo_status_t *status, const char *fn, int pooled)
{
  if (req == NULL)
    return TUBO_EINVAL;
  if (*req == NULL) {
    status_empty(status);
    return tubo__nworlds ? 0 : TUBO_ENOTINIT;
  }
  int rc = req_check_again(*req, pooled);
  if (rc != 0)
    return rc;
  tubo__world_t *w = (*req)->w;
  if ((*req)->state != TUBO__RS_DONE) {
    tubo__call_t was = w->call;
    if (fn != NULL)
      req_call_enter(w, fn, *req);
    recv_spin(w, *req);
    tubo__wait_req(w, *req);
    tubo__call_leave(w, was);
  }
  return req_finish(w, req, status);
}

/* The comm, peer and starting call (a non-blocking collective's, else NULL) of a request
 * a caller passed, read before it is freed; NULL where it is no valid request. pooled:
 * as wait_impl's. */
static const tubo_comm_t *req_who(tubo_request_t *r, int pooled, int *peer, const char **started_by)
{
  *peer = -1;
  *started_by = NULL;
  if (r == NULL || req_check_again(r, pooled) != 0)
    return NULL;
  *peer = r->peer;
  if (r->kind == TUBO__REQ_COLL)
    *started_by = r->started_by;
  return r->comm;
}

static int test_impl(tubo_request_t **req, int *flag, tubo_status_t *status, int pooled);

/* tubo_wait, or tubo_test where test is 1: the request's comm, peer and starting call are
 * read first, for the error, as the call may free the request. */
static inline __attribute__((always_inline)) int
wait_or_test(const char *fn, int test, tubo_request_t **req, int *flag, tubo_status_t *status)
{
  int peer;
  const char *by;
  tubo_request_t *r = req != NULL ? *req : NULL;
  int pooled = r != NULL && req_check(r) == 0;
  const tubo_comm_t *c = req_who(pooled ? r : NULL, 1, &peer, &by);
  int rc = test ? test_impl(req, flag, status, pooled) : wait_impl(req, status, fn, pooled);
  return __builtin_expect(rc != 0, 0) ? req_fail_ret(fn, c, rc, peer, (size_t)-1, 1, by) : 0;
}

int tubo_wait(tubo_request_t **req, tubo_status_t *status)
{
  return wait_or_test("tubo_wait", 0, req, NULL, status);
}

static int test_impl(tubo_request_t **req, int *flag, tubo_status_t *status, int pooled)
{
  if (req == NULL || flag == NULL)
    return TUBO_EINVAL;
  *flag = 0;
  if (*req == NULL) {
    *flag = 1;
    status_empty(status);
    return tubo__nworlds ? 0 : TUBO_ENOTINIT;
  }
  int rc = req_check_again(*req, pooled);
  if (rc != 0)
    return rc;
  tubo__world_t *w = (*req)->w;
  tubo_request_t *r = *req;
  if (r->state != TUBO__RS_DONE) {
    rc = tubo__progress(w);
    if (r->state != TUBO__RS_DONE) {
      if (rc < 0 || w->broken)
        req_fail(w, r, rc < 0 ? rc : w->broken_code);
      else if (req_hopeless(w, r))
        req_fail(w, r, TUBO_EPEER);
      else
        return 0;
    }
  }
  *flag = 1;
  return req_finish(w, req, status);
}

int tubo_test(tubo_request_t **req, int *flag, tubo_status_t *status)
{
  return wait_or_test("tubo_test", 1, req, flag, status);
}

int tubo_waitall_index(size_t count, tubo_request_t **reqs, tubo_status_t *statuses, size_t *failed)
{
  if (failed != NULL)
    *failed = (size_t)-1;
  int rc = 0;
  if (count > 0 && reqs == NULL)
    rc = TUBO_EINVAL;
  else if (tubo__nworlds == 0)
    rc = TUBO_ENOTINIT;
  for (size_t i = 0; rc == 0 && i < count; i++)
    if (reqs[i] != NULL && req_check(reqs[i]) != 0) {
      if (failed != NULL)
        *failed = i;
      rc = TUBO_EREQUEST;
    }
  if (rc != 0)
    return req_fail_ret("tubo_waitall", NULL, rc, -1, (size_t)-1, count, NULL);
  int first = 0, first_peer = -1;
  size_t at = (size_t)-1;
  const tubo_comm_t *first_comm = NULL;
  const char *first_by = NULL;
  for (size_t i = 0; i < count; i++) {
    int peer;
    const char *by;
    /* Every handle was found in a live pool above. */
    const tubo_comm_t *c = req_who(reqs[i], 1, &peer, &by);
    int e = wait_impl(&reqs[i], statuses ? &statuses[i] : NULL, "tubo_waitall", 1);
    if (e != 0 && first == 0) {
      first = e;
      at = i;
      first_peer = peer;
      first_comm = c;
      first_by = by;
    }
  }
  if (failed != NULL)
    *failed = at;
  if (__builtin_expect(first != 0, 0))
    return req_fail_ret("tubo_waitall", first_comm, first, first_peer, at, count, first_by);
  return 0;
}

int tubo_waitall(size_t count, tubo_request_t **reqs, tubo_status_t *statuses)
{
  return tubo_waitall_index(count, reqs, statuses, NULL);
}

struct waitany_arg {
  size_t count;
  tubo_request_t **reqs;
  size_t found;
};

static int waitany_done(void *p)
{
  struct waitany_arg *a = p;
  for (size_t i = 0; i < a->count; i++)
    if (a->reqs[i] != NULL && req_done_fn(a->reqs[i])) {
      a->found = i;
      return 1;
    }
  return 0;
}

static int waitany_impl(size_t count, tubo_request_t **reqs, size_t *index, tubo_status_t *status)
{
  if ((count > 0 && reqs == NULL) || index == NULL)
    return TUBO_EINVAL;
  if (tubo__nworlds == 0)
    return TUBO_ENOTINIT;
  tubo__world_t *w = NULL; /* the requests' world: progress is made in the first one's */
  for (size_t i = 0; i < count; i++)
    if (reqs[i] != NULL) {
      if (req_check(reqs[i]) != 0)
        return TUBO_EREQUEST;
      if (w == NULL)
        w = reqs[i]->w;
    }
  *index = (size_t)-1;
  if (w == NULL) {
    status_empty(status);
    return 0;
  }
  struct waitany_arg a = {count, reqs, (size_t)-1};
  tubo__call_t was = tubo__call_enter(w, "tubo_waitany", NULL, TUBO__BLK_NOPEER, 0, 0, 0);
  int rc = tubo__wait_until(w, waitany_done, &a);
  tubo__call_leave(w, was);
  if (rc != 0 && a.found == (size_t)-1) {
    /* The job broke: report it on the first live request. */
    for (size_t i = 0; i < count; i++)
      if (reqs[i] != NULL) {
        req_fail(w, reqs[i], rc);
        a.found = i;
        break;
      }
  }
  *index = a.found;
  return req_finish(w, &reqs[a.found], status);
}

int tubo_waitany(size_t count, tubo_request_t **reqs, size_t *index, tubo_status_t *status)
{
  int rc = waitany_impl(count, reqs, index, status);
  if (__builtin_expect(rc == 0, 1))
    return 0;
  size_t at = index != NULL ? *index : (size_t)-1;
  return req_fail_ret("tubo_waitany", NULL, rc, -1, at, count, NULL);
}

struct probe_arg {
  tubo__world_t *w;
  int src;
  uint16_t ctx;
  int tag;
  tubo__umsg_t *u;
};

static int probe_done(void *p)
{
  struct probe_arg *a = p;
  a->u = tubo__unexp_find(a->w, a->src, a->ctx, a->tag);
  if (a->u != NULL)
    return 1;
  return peer_hopeless(a->w, a->src);
}

static int probe_common(int source, int tag, tubo_comm_t *comm, int blocking, int *flag,
                        tubo_status_t *status)
{
  int rc = p2p_check(comm, source, tag, NULL, 0, 1);
  if (rc != 0)
    return rc;
  if (source == TUBO_PROC_NULL) {
    if (flag)
      *flag = 1;
    status_null(status);
    return 0;
  }
  tubo__world_t *w = comm->w;
  int src = source == TUBO_ANY_SOURCE ? TUBO_ANY_SOURCE : tubo__comm_world_rank(comm, source);
  struct probe_arg a = {w, src, comm->ctx, tag, NULL};
  /* A probe must see frames still in the transport: take them into the unexpected queue. */
  int drain_was = w->drain;
  w->drain = 1;
  if (blocking) {
    tubo__call_t was = tubo__call_enter(w, "tubo_probe", comm, TUBO__BLK_SOURCE, source, tag, 1);
    rc = tubo__wait_peer(w, src, probe_done, &a);
    tubo__call_leave(w, was);
  } else {
    rc = tubo__progress(w);
    probe_done(&a);
    rc = rc < 0 ? rc : 0;
  }
  w->drain = drain_was;
  if (flag)
    *flag = a.u != NULL;
  if (a.u != NULL) {
    if (status) {
      tubo_request_t r;
      memset(&r, 0, sizeof r);
      r.kind = TUBO__REQ_RECV;
      r.comm = comm;
      r.st_source = a.u->src;
      r.st_tag = a.u->tag;
      r.msg_len = a.u->total;
      status_fill(w, &r, 0, status);
    }
    return 0;
  }
  if (rc == 0 && blocking)
    rc = w->broken_code == TUBO_EABORT ? TUBO_EABORT : TUBO_EPEER;
  return rc;
}

int tubo_probe(int source, int tag, tubo_comm_t *comm, tubo_status_t *status)
{
  int rc = probe_common(source, tag, comm, 1, NULL, status);
  return tubo__p2p_error_ret("tubo_probe", comm, rc, source, tag, NULL, 0);
}

int tubo_iprobe(int source, int tag, tubo_comm_t *comm, int *flag, tubo_status_t *status)
{
  if (flag == NULL)
    return tubo__error(comm, TUBO_EINVAL, "tubo_iprobe", "NULL flag");
  *flag = 0;
  int rc = probe_common(source, tag, comm, 0, flag, status);
  return tubo__p2p_error_ret("tubo_iprobe", comm, rc, source, tag, NULL, 0);
}

static int sendrecv_impl(const void *sbuf, size_t slen, int dest, int stag, void *rbuf, size_t rcap,
                         int source, int rtag, tubo_comm_t *comm, tubo_status_t *status, int *which)
{
  tubo_request_t *rr, *sr;
  /* Check the send's arguments first, so that no receive is left posted on failure. */
  *which = 0;
  int rc = p2p_check(comm, dest, stag, sbuf, slen, 0);
  if (rc != 0)
    return rc;
  *which = 1;
  if ((rc = nb_start(TUBO__REQ_RECV, rbuf, rcap, source, rtag, comm, &rr)) != 0)
    return rc;
  *which = 0;
  if ((rc = nb_start(TUBO__REQ_SEND, sbuf, slen, dest, stag, comm, &sr)) != 0) {
    req_fail(comm->w, rr, rc);
    wait_impl(&rr, TUBO_STATUS_IGNORE, NULL, 1);
    return rc;
  }
  int src = wait_impl(&sr, TUBO_STATUS_IGNORE, "tubo_sendrecv", 1);
  int rrc = wait_impl(&rr, status, "tubo_sendrecv", 1);
  *which = src != 0 ? 0 : 1;
  return src != 0 ? src : rrc;
}

int tubo_sendrecv(const void *sbuf, size_t slen, int dest, int stag, void *rbuf, size_t rcap,
                  int source, int rtag, tubo_comm_t *comm, tubo_status_t *status)
{
  int which;
  int rc = sendrecv_impl(sbuf, slen, dest, stag, rbuf, rcap, source, rtag, comm, status, &which);
  if (__builtin_expect(rc == 0, 1))
    return 0;
  return which ? tubo__p2p_error("tubo_sendrecv", comm, rc, source, rtag, rbuf, rcap)
               : tubo__p2p_error("tubo_sendrecv", comm, rc, dest, stag, sbuf, slen);
}
