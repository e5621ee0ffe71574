/* SPDX-License-Identifier: MIT */
/* tubo_pipe_open: a duplex pipe between two ranks of a communicator, over its point-to-
 * point messages.
 *
 * Both ranks count the pipes they open with each other, so they agree on a context of
 * the communicator that belongs to this pipe alone (tubo__comm_pipe_ctx). A message is a
 * tag 0 message on that context; closing an end sends a tag 1 message. The receiver
 * takes both with TUBO_ANY_TAG from the peer, so the close, sent last, arrives after
 * every message sent before it: it is the end of file. A peer whose process is gone
 * (TUBO_EPEER) with nothing left from it is the end of file too. Whatever transport
 * carries the communicator (shm or pipe) carries the pipe. */
#include "config.h"

#include <stdlib.h>

#include "os/os.h"
#include "patterns/pipe.h"
#include "patterns/objwait.h"
#include "world.h"

enum { PIPE_TAG_DATA = 0, PIPE_TAG_CLOSE = 1 };

typedef struct pipe_comm {
  tubo_comm_t *comm; /* as opened: checked before each use of the view */
  tubo_comm_t view;  /* comm on the pipe's context */
  int peer;          /* comm rank */
  int eof;           /* the peer closed its end, or is gone, and all was received */
  int peer_closed;   /* the peer closed its end: sending is pointless */
} pipe_comm_t;

static inline pipe_comm_t *comm_of(tubo_pipe_t *p)
{
  return p->impl;
}

/* The communicator the pipe lives on must still be there. */
static int comm_live(pipe_comm_t *c)
{
  return tubo__comm_check(c->comm);
}

static int comm_send(tubo_pipe_t *p, const void *buf, size_t len)
{
  pipe_comm_t *c = comm_of(p);
  int rc = comm_live(c);
  if (rc != 0)
    return rc;
  if (!c->peer_closed && !c->eof) {
    int closed = 0;
    rc = tubo_iprobe(c->peer, PIPE_TAG_CLOSE, &c->view, &closed, TUBO_STATUS_IGNORE);
    if (rc == 0 && closed)
      c->peer_closed = 1;
  }
  /* The peer's close was seen by a probe, or received (EOF). */
  if (c->peer_closed || c->eof)
    return TUBO_EEOF;
  rc = tubo_send(buf, len, c->peer, PIPE_TAG_DATA, &c->view);
  return rc == TUBO_EPEER ? TUBO_EEOF : rc;
}

/* After a receive's result rc with status st: the end of file, or rc itself. */
static int comm_after(pipe_comm_t *c, int rc, const tubo_status_t *st)
{
  if (rc == TUBO_EPEER || ((rc == 0 || rc == TUBO_ETRUNC) && st->tag == PIPE_TAG_CLOSE)) {
    c->eof = 1;
    return TUBO_EEOF;
  }
  return rc;
}

static int comm_recv(tubo_pipe_t *p, void *buf, size_t cap, int alloc, void **out, size_t *len)
{
  pipe_comm_t *c = comm_of(p);
  int rc = comm_live(c);
  if (rc != 0)
    return rc;
  if (c->eof)
    return TUBO_EEOF;
  tubo_status_t st = {0};
  if (alloc) {
    /* The length first, then a buffer of that size (none for the close, which the
     * receive below takes). */
    rc = tubo_probe(c->peer, TUBO_ANY_TAG, &c->view, &st);
    if (rc != 0)
      return comm_after(c, rc, &st);
    buf = NULL;
    cap = st.tag == PIPE_TAG_DATA ? st.length : 0;
    if (cap > 0 && (buf = malloc(cap)) == NULL)
      return TUBO_ENOMEM;
  }
  rc = comm_after(c, tubo_recv(buf, cap, c->peer, TUBO_ANY_TAG, &c->view, &st), &st);
  if (rc != 0 && rc != TUBO_ETRUNC) {
    if (alloc)
      free(buf);
    return rc;
  }
  *len = st.length;
  if (alloc)
    *out = buf;
  return rc;
}

struct comm_poll_arg {
  tubo__world_t *w;
  int src; /* world rank */
  uint16_t ctx;
  tubo__deadline_t dl;
  int ready;
};

static int comm_poll_done(void *p)
{
  struct comm_poll_arg *a = p;
  if (tubo__unexp_find(a->w, a->src, a->ctx, TUBO_ANY_TAG) != NULL || a->w->peers[a->src].gone) {
    a->ready = 1;
    return 1;
  }
  return !a->dl.forever && tubo__os_now_ns() >= a->dl.at_ns;
}

static int comm_poll(tubo_pipe_t *p, int timeout_ms, int *ready)
{
  pipe_comm_t *c = comm_of(p);
  int rc = comm_live(c);
  if (rc != 0)
    return rc;
  if (c->eof) {
    *ready = 1;
    return 0;
  }
  tubo__world_t *w = c->view.w;
  struct comm_poll_arg a = {w, tubo__comm_world_rank(&c->view, c->peer), c->view.ctx,
                            tubo__deadline_in(timeout_ms), 0};
  /* As a probe does: frames still in the transport must come into the unexpected queue
   * to be seen. */
  int drain_was = w->drain;
  w->drain = 1;
  if (timeout_ms == 0) {
    rc = tubo__progress(w);
    comm_poll_done(&a);
  } else {
    rc = tubo__wait_peer(w, a.src, comm_poll_done, &a);
  }
  w->drain = drain_was;
  /* A broken job (a rank died) ends every blocking receive: a receive would not wait. */
  if (rc == TUBO_EPEER) {
    a.ready = 1;
    rc = 0;
  }
  *ready = a.ready;
  return rc < 0 ? rc : 0;
}

static void comm_close(tubo_pipe_t *p)
{
  pipe_comm_t *c = comm_of(p);
  if (comm_live(c) != 0)
    return;
  /* Drop what came and will never be read, then tell the peer (it may be gone). */
  int flag = 1;
  while (!c->eof && tubo_iprobe(c->peer, TUBO_ANY_TAG, &c->view, &flag, TUBO_STATUS_IGNORE) == 0 &&
         flag) {
    tubo_status_t st = {0};
    comm_after(c, tubo_recv(NULL, 0, c->peer, TUBO_ANY_TAG, &c->view, &st), &st);
  }
  if (!c->peer_closed && !c->eof)
    tubo_send(NULL, 0, c->peer, PIPE_TAG_CLOSE, &c->view);
}

static void comm_free(tubo_pipe_t *p)
{
  pipe_comm_t *c = comm_of(p);
  tubo__comm_view_end(&c->view);
  free(c);
}

static const tubo__pipe_ops_t comm_ops = {comm_send, comm_recv, comm_poll, comm_close, comm_free};

static int pipe_open_do(tubo_comm_t *comm, int peer, tubo_pipe_t **end)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (end == NULL)
    return TUBO_EINVAL;
  *end = NULL;
  if (peer < 0 || peer >= comm->size || peer == comm->rank)
    return TUBO_ERANK;
  uint16_t ctx;
  if ((rc = tubo__comm_pipe_ctx(comm, peer, &ctx)) != 0)
    return rc;
  pipe_comm_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return TUBO_ENOMEM;
  c->comm = comm;
  c->peer = peer;
  tubo__comm_view(comm, ctx, &c->view);
  tubo_pipe_t *p = tubo__pipe_new(&comm_ops, c, 1, 1);
  if (p == NULL) {
    tubo__comm_view_end(&c->view);
    free(c);
    return TUBO_ENOMEM;
  }
  *end = p;
  return 0;
}

int tubo_pipe_open(tubo_comm_t *comm, int peer, tubo_pipe_t **end)
{
  int rc = pipe_open_do(comm, peer, end);
  if (rc == TUBO_ERANK)
    return tubo__error(comm, rc, "tubo_pipe_open",
                       "peer %d is out of range for a communicator of %d, or this rank", peer,
                       comm->size);
  return tubo__error_ret(comm, rc, "tubo_pipe_open");
}
