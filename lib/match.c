/* SPDX-License-Identifier: MIT */
/* Matching: posted receives against arriving frames, in MPI's order.
 *
 * Frames from one peer are delivered in the order sent. A frame that no posted receive
 * wants is left with the transport (so the common case copies once, from the ring into
 * the user's buffer), unless the transport must be emptied (its sender waits for room),
 * a receive is waiting for a later frame from that peer, or a probe looks at everything;
 * then it goes to the unexpected queue. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "os/os.h"
#include "world.h"

/* Largest single-copy message a stalled rank takes into memory unasked. */
#define TUBO__PULL_MAX ((uint64_t)64 << 20)

static inline int match_one(int want_src, int32_t want_tag, int src, int32_t tag)
{
  return (want_src == TUBO_ANY_SOURCE || want_src == src) &&
         (want_tag == TUBO_ANY_TAG || want_tag == tag);
}

static tubo_request_t *posted_find(tubo__world_t *w, int src, uint16_t ctx, int32_t tag)
{
  tubo_request_t *r;
  TUBO__LIST_FOREACH(r, &w->posted, tubo_request_t, link)
    if (r->ctx == ctx && match_one(r->peer, r->tag, src, tag))
      return r;
  return NULL;
}

/* Whether some posted receive could want a later frame from src. */
static int posted_wants(tubo__world_t *w, int src)
{
  tubo_request_t *r;
  TUBO__LIST_FOREACH(r, &w->posted, tubo_request_t, link)
    if (r->peer == TUBO_ANY_SOURCE || r->peer == src)
      return 1;
  return 0;
}

void tubo__posted_remove(tubo__world_t *w, tubo_request_t *r)
{
  tubo__list_remove(&w->posted, &r->link);
}

/* Ends a loan receive (tubo_recv_loan's) that matched a message that is no loan: the
 * message goes to the unexpected queue, where the caller takes it as any message. */
static void posted_loan_queued(tubo_request_t *r)
{
  r->loan = TUBO__RL_QUEUED;
  tubo__req_complete(r, 0);
}

/* Takes the first posted receive that a frame of src matches out of the queue. A loan
 * receive that a frame other than a loan's RTS (loan: 0) matches ends at once, and the
 * frame must go to the unexpected queue (*must). */
static tubo_request_t *posted_take(tubo__world_t *w, int src, const tubo__frame_t *f, int loan,
                                   int *must)
{
  tubo_request_t *r = posted_find(w, src, f->ctx, f->tag);
  if (r == NULL)
    return NULL;
  tubo__posted_remove(w, r);
  if (r->loan == TUBO__RL_TAKE && !loan) {
    posted_loan_queued(r);
    *must = 1;
    return NULL;
  }
  return r;
}

tubo__umsg_t *tubo__unexp_find(tubo__world_t *w, int src, uint16_t ctx, int32_t tag)
{
  tubo__umsg_t *u;
  TUBO__LIST_FOREACH(u, &w->unexp, tubo__umsg_t, link)
    if (u->ctx == ctx && match_one(src, tag, u->src, u->tag))
      return u;
  return NULL;
}

void tubo__unexp_fini(tubo__world_t *w)
{
  tubo__list_node_t *n;
  while ((n = tubo__list_pop(&w->unexp)) != NULL) {
    tubo__umsg_t *u = TUBO__LIST_ENTRY(n, tubo__umsg_t, link);
    if (u->data != (unsigned char *)(u + 1))
      free(u->data);
    free(u);
  }
}

/* Copies bytes [at, at + n) of a message into a receive, dropping what exceeds its buffer. */
static inline void recv_copy(tubo_request_t *r, size_t at, const void *src, size_t n)
{
  if (at >= r->cap)
    return;
  size_t room = r->cap - at;
  memcpy((char *)r->buf + at, src, n < room ? n : room);
}

static inline void recv_matched(tubo_request_t *r, int src, int32_t tag, size_t total)
{
  r->st_source = src;
  r->st_tag = tag;
  r->msg_len = total;
}

static inline void recv_finish(tubo_request_t *r)
{
  tubo__req_complete(r, r->msg_len > r->cap ? TUBO_ETRUNC : 0);
}

int tubo__peer_read(tubo__world_t *w, int src, uint64_t addr, uint32_t id, void *dst, size_t n,
                    size_t total)
{
  tubo__tport_t *t = tubo__tport_of(w, src);
  /* A message in the shared heap needs no reading of the sender's memory. */
  int heap = (addr & TUBO__RTS_HEAP) && t->ops->heap_of != NULL;
  if ((!t->caps.single_copy && !heap) || t->ops->read == NULL)
    return TUBO_ENOTSUP;
  return t->ops->read(t->state, w->peers[src].tpeer, addr, id, dst, n, total);
}

int tubo__peer_write(tubo__world_t *w, int dst, uint64_t addr, const void *src, size_t n)
{
  tubo__tport_t *t = tubo__tport_of(w, dst);
  int heap = (addr & TUBO__RTS_HEAP) && t->ops->heap_of != NULL;
  if ((!t->caps.single_copy && !heap) || t->ops->write == NULL)
    return TUBO_ENOTSUP;
  return t->ops->write(t->state, w->peers[dst].tpeer, addr, src, n);
}

int tubo__peer_writable(tubo__world_t *w, int dst)
{
  tubo__tport_t *t = tubo__tport_of(w, dst);
  return t->caps.single_copy && t->ops->write != NULL && t->ops->writable != NULL &&
         t->ops->writable(t->state, w->peers[dst].tpeer);
}

/* Tells the sender of an RTS message that its receiver is done with it (FIN), unless
 * its transport completes the send itself. */
static int match_fin(tubo__world_t *w, int src, uint32_t sreq, int err)
{
  if (tubo__tport_of(w, src)->caps.self_fin)
    return 0;
  struct tubo__f_fin fin = {sreq, err};
  tubo__frame_t f = {TUBO__F_FIN, 0, 0, 0, sizeof fin};
  return tubo__send_ctrl(w, src, &f, &fin);
}

/* Answers an RTS whose message was taken (or could not be, err): with a FIN, or, for a
 * loan, whose sender waits for nothing, by giving its block back to the heap. */
static int match_answer(tubo__world_t *w, int src, uint64_t addr, uint32_t sreq, int err)
{
  if (!(addr & TUBO__RTS_LOAN))
    return match_fin(w, src, sreq, err);
  tubo__tport_t *t = tubo__tport_of(w, src);
  uint64_t off = TUBO__RTS_OFF(addr);
  if (t->ops->loan_accept == NULL || t->ops->loan_accept(t->state, off, 0) == NULL ||
      t->ops->loan_free(t->state, off) != 0)
    return TUBO_ECORRUPT;
  return 0;
}

/* Ends a loan receive with the loan an RTS from src names, which becomes the receive's
 * buffer: nothing is copied. */
static void recv_loan_take(tubo__world_t *w, tubo_request_t *r, int src, uint64_t addr)
{
  tubo__tport_t *t = tubo__tport_of(w, src);
  void *p = t->ops->loan_accept != NULL
                ? t->ops->loan_accept(t->state, TUBO__RTS_OFF(addr), r->msg_len)
                : NULL;
  if (p == NULL) {
    tubo__job_corrupt(w);
    tubo__req_complete(r, TUBO_ECORRUPT);
    return;
  }
  r->buf = p;
  r->cap = r->msg_len;
  recv_finish(r);
}

/* Tells the sender of an RTS message that its receive has ended, and completes the
 * receive with err, or as received. */
static void recv_pull_done(tubo__world_t *w, tubo_request_t *r, int src, uint64_t addr,
                           uint32_t sreq, int err)
{
  int rc = match_answer(w, src, addr, sreq, err);
  if (err == 0)
    err = rc;
  if (err != 0)
    tubo__req_complete(r, err == TUBO_ENOTSUP ? TUBO_ECORRUPT : err);
  else
    recv_finish(r);
}

/* Reads an RTS message straight from the sender's memory, then tells it with a FIN. A
 * transport that can take a whole message in the background (MPI) is left to it: the
 * receive completes when the transport calls tubo__read_done, and other frames are taken
 * in meanwhile, as MPI itself overlaps the transfers of a window of receives. */
static void recv_pull(tubo__world_t *w, tubo_request_t *r, int src, uint64_t addr, uint32_t sreq)
{
  size_t n = r->msg_len < r->cap ? r->msg_len : r->cap;
  int err = 0;
  tubo__tport_t *t = tubo__tport_of(w, src);
  if (r->msg_len > 0 && n == r->msg_len && t->caps.single_copy && t->ops->read_start != NULL) {
    err = t->ops->read_start(t->state, w->peers[src].tpeer, addr, sreq, r->buf, n, r);
    if (err == 1) {
      r->reading = 1;
      return;
    }
  }
  /* Also with no room at all: a transport that moves the message apart (MPI) must take
   * it in, or it would stay there for ever. */
  if (err == 0 && r->msg_len > 0)
    err = tubo__peer_read(w, src, addr, sreq, r->buf, n, r->msg_len);
  recv_pull_done(w, r, src, addr, sreq, err);
}

void tubo__read_done(tubo__world_t *w, tubo_request_t *r, uint32_t sreq, int err)
{
  r->reading = 0;
  recv_pull_done(w, r, r->st_source, 0, sreq, err);
}

void tubo__read_cancel(tubo__world_t *w, tubo_request_t *r)
{
  if (!r->reading)
    return;
  tubo__tport_t *t = tubo__tport_of(w, r->st_source);
  t->ops->read_cancel(t->state, r);
  r->reading = 0;
}

static tubo__umsg_t *umsg_new(int src, const tubo__frame_t *f, size_t total, size_t inline_len)
{
  tubo__umsg_t *u = malloc(sizeof *u + inline_len);
  if (u == NULL)
    return NULL;
  memset(u, 0, sizeof *u);
  u->src = src;
  u->ctx = f->ctx;
  u->tag = f->tag;
  u->kind = f->kind;
  u->total = total;
  u->data = (unsigned char *)(u + 1);
  return u;
}

/* Makes room for n more bytes of an unexpected stream: the buffer grows as data comes,
 * rather than trusting the length its first frame claims (which a broken peer could make
 * absurd). */
static int umsg_reserve(tubo__umsg_t *u, size_t n)
{
  if (u->data != NULL && u->got + n <= u->room)
    return 0;
  size_t want = u->room ? u->room : 4096;
  while (want < u->got + n)
    want *= 2;
  if (want > u->total)
    want = u->total;
  unsigned char *p = realloc(u->data, want);
  if (p == NULL)
    return TUBO_ENOMEM;
  u->data = p;
  u->room = want;
  return 0;
}

/* Whether a message from src is still streaming in: a sender finishes one message's
 * frames before it starts the next, so a new message meanwhile is corruption (a length
 * someone changed made the stream look longer than it is). */
static inline int streaming(const tubo__world_t *w, int src)
{
  return w->peers[src].rx_req != NULL || w->peers[src].rx_umsg != NULL;
}

static int deliver_eager(tubo__world_t *w, int src, const tubo__frame_t *f, const void *p, int must)
{
  if (streaming(w, src))
    return TUBO_ECORRUPT;
  tubo_request_t *r = posted_take(w, src, f, 0, &must);
  if (r != NULL) {
    recv_matched(r, src, f->tag, f->len);
    recv_copy(r, 0, p, f->len);
    recv_finish(r);
    return 1;
  }
  if (!must && !w->drain && !posted_wants(w, src))
    return 0;
  tubo__umsg_t *u = umsg_new(src, f, f->len, f->len);
  if (u == NULL)
    return TUBO_ENOMEM;
  memcpy(u->data, p, f->len);
  u->got = f->len;
  tubo__list_append(&w->unexp, &u->link);
  return 1;
}

static int deliver_first(tubo__world_t *w, int src, const tubo__frame_t *f, const void *p, int must)
{
  struct tubo__f_first h;
  if (f->len < sizeof h || streaming(w, src))
    return TUBO_ECORRUPT;
  memcpy(&h, p, sizeof h);
  size_t n = f->len - sizeof h;
  const char *data = (const char *)p + sizeof h;
  if (h.total <= n || h.total > SIZE_MAX / 2)
    return TUBO_ECORRUPT;
  tubo_request_t *r = posted_take(w, src, f, 0, &must);
  if (r != NULL) {
    recv_matched(r, src, f->tag, (size_t)h.total);
    recv_copy(r, 0, data, n);
    r->off = n;
    w->peers[src].rx_req = r;
    return 1;
  }
  if (!must && !w->drain && !posted_wants(w, src))
    return 0;
  tubo__umsg_t *u = umsg_new(src, f, (size_t)h.total, 0);
  if (u == NULL)
    return TUBO_ENOMEM;
  u->data = NULL;
  if (umsg_reserve(u, n) != 0) {
    free(u);
    return TUBO_ENOMEM;
  }
  memcpy(u->data, data, n);
  u->got = n;
  tubo__list_append(&w->unexp, &u->link);
  w->peers[src].rx_umsg = u;
  return 1;
}

static int deliver_cont(tubo__world_t *w, int src, const void *p, size_t n)
{
  tubo__peer_t *pe = &w->peers[src];
  if (pe->rx_req != NULL) {
    tubo_request_t *r = pe->rx_req;
    if (n > r->msg_len - r->off)
      return TUBO_ECORRUPT;
    recv_copy(r, r->off, p, n);
    r->off += n;
    if (r->off == r->msg_len) {
      pe->rx_req = NULL;
      recv_finish(r);
    }
    return 1;
  }
  if (pe->rx_umsg != NULL) {
    tubo__umsg_t *u = pe->rx_umsg;
    if (n > u->total - u->got)
      return TUBO_ECORRUPT;
    if (umsg_reserve(u, n) != 0)
      return TUBO_ENOMEM;
    memcpy(u->data + u->got, p, n);
    u->got += n;
    if (u->got == u->total)
      pe->rx_umsg = NULL;
    return 1;
  }
  return TUBO_ECORRUPT;
}

/* Whether a stalled rank may take a message announced by an RTS from src into memory
 * before any receive wants it. */
static int match_can_pull(tubo__world_t *w, int src, uint64_t addr, uint64_t total)
{
  const tubo__tport_t *t = tubo__tport_of(w, src);
  int heap = (addr & TUBO__RTS_HEAP) && t->ops->heap_of != NULL;
  return (t->caps.single_copy || heap) && total <= TUBO__PULL_MAX;
}

/* Takes the message an unexpected RTS announced into memory of its own and tells the
 * sender with a FIN: u becomes a complete message, as a finished stream. Returns 0 or an
 * error; u is unchanged when the memory could not be had. */
static int umsg_pull(tubo__world_t *w, tubo__umsg_t *u)
{
  unsigned char *data = malloc(u->total ? u->total : 1);
  if (data == NULL)
    return 0; /* it stays an RTS: a receive will take it */
  int err = u->total ? tubo__peer_read(w, u->src, u->raddr, u->sreq, data, u->total, u->total) : 0;
  int rc = match_answer(w, u->src, u->raddr, u->sreq, err);
  if (err != 0 || rc != 0) {
    free(data);
    return err != 0 ? TUBO_ECORRUPT : rc;
  }
  u->data = data;
  u->kind = TUBO__F_FIRST;
  u->got = u->room = u->total;
  return 0;
}

static int deliver_rts(tubo__world_t *w, int src, const tubo__frame_t *f, const void *p, int must)
{
  struct tubo__f_rts h;
  if (f->len != sizeof h || streaming(w, src))
    return TUBO_ECORRUPT;
  memcpy(&h, p, sizeof h);
  if (h.total > SIZE_MAX / 2)
    return TUBO_ECORRUPT;
  tubo_request_t *r = posted_take(w, src, f, (h.addr & TUBO__RTS_LOAN) != 0, &must);
  if (r != NULL) {
    recv_matched(r, src, f->tag, (size_t)h.total);
    if (r->loan == TUBO__RL_TAKE)
      recv_loan_take(w, r, src, h.addr);
    else
      recv_pull(w, r, src, h.addr, h.sreq);
    return 1;
  }
  /* A sender blocked on its RTS waits for this rank: when this rank is stuck itself (it
   * may be blocked sending to that sender), take the message now into memory, so that
   * two ranks sending large messages to each other do not deadlock (up to
   * TUBO__PULL_MAX: beyond, the memory it would take is the greater danger). */
  int pull = w->stalled == TUBO__STALLED_LONG && match_can_pull(w, src, h.addr, h.total);
  if (!must && !pull && !w->drain && !posted_wants(w, src))
    return 0;
  tubo__umsg_t *u = umsg_new(src, f, (size_t)h.total, 0);
  if (u == NULL)
    return TUBO_ENOMEM;
  u->data = (unsigned char *)(u + 1);
  u->raddr = h.addr;
  u->sreq = h.sreq;
  if (pull) {
    int rc = umsg_pull(w, u);
    if (rc != 0) {
      free(u);
      return rc;
    }
  }
  tubo__list_append(&w->unexp, &u->link);
  return 1;
}

int tubo__unexp_pull(tubo__world_t *w)
{
  int n = 0;
  tubo__umsg_t *u;
  TUBO__LIST_FOREACH(u, &w->unexp, tubo__umsg_t, link)
    if (u->kind == TUBO__F_RTS && match_can_pull(w, u->src, u->raddr, u->total)) {
      int rc = umsg_pull(w, u);
      if (rc != 0)
        return rc;
      n++;
    }
  return n;
}

/* The send request sreq names if it waits for its receiver to be done (an RTS send),
 * else NULL. */
static tubo_request_t *waitfin_find(tubo__world_t *w, uint32_t sreq)
{
  tubo_request_t *r = tubo__req_lookup(w, sreq);
  if (r == NULL || r->kind != TUBO__REQ_SEND || r->proto != TUBO__SP_WAITFIN)
    return NULL;
  return r;
}

static int deliver_fin(tubo__world_t *w, const tubo__frame_t *f, const void *p)
{
  struct tubo__f_fin h;
  if (f->len != sizeof h)
    return TUBO_ECORRUPT;
  memcpy(&h, p, sizeof h);
  tubo_request_t *r = waitfin_find(w, h.sreq);
  if (r == NULL)
    return TUBO_ECORRUPT;
  /* One that failed already (its wait gave up on a broken job) is left as it is. */
  tubo__waitfin_complete(w, r, h.error < 0 ? TUBO_EPEER : 0);
  return 1;
}

void tubo__rts_sent(tubo__world_t *w, uint32_t sreq)
{
  tubo_request_t *r = waitfin_find(w, sreq);
  if (r != NULL)
    tubo__waitfin_complete(w, r, 0);
}

int tubo__deliver(tubo__world_t *w, int src, const tubo__frame_t *f, const void *payload, int must)
{
  switch (f->kind) {
  case TUBO__F_EAGER:
    return deliver_eager(w, src, f, payload, must);
  case TUBO__F_FIRST:
    return deliver_first(w, src, f, payload, must);
  case TUBO__F_CONT:
    return deliver_cont(w, src, payload, f->len);
  case TUBO__F_RTS:
    return deliver_rts(w, src, f, payload, must);
  case TUBO__F_FIN:
    return deliver_fin(w, f, payload);
  case TUBO__F_GONE: {
    struct tubo__f_gone g;
    if (f->len != sizeof g)
      return TUBO_ECORRUPT;
    memcpy(&g, payload, sizeof g);
    if (g.rank < 0 || g.rank >= w->size)
      return TUBO_ECORRUPT;
    tubo__peer_gone(w, g.rank, g.status == 0 ? TUBO__GONE_LEFT : TUBO__GONE_DIED, g.status);
    return 1;
  }
  case TUBO__F_ABORT:
    tubo__job_aborted(w);
    return 1;
  default:
    return TUBO_ECORRUPT;
  }
}

/* Completes a receive from an unexpected message and frees the message. */
static void recv_from_unexp(tubo__world_t *w, tubo_request_t *r, tubo__umsg_t *u)
{
  if (r->loan == TUBO__RL_TAKE) {
    if (u->kind != TUBO__F_RTS || !(u->raddr & TUBO__RTS_LOAN)) {
      posted_loan_queued(r); /* the caller takes it from the queue */
      return;
    }
    tubo__list_remove(&w->unexp, &u->link);
    recv_matched(r, u->src, u->tag, u->total);
    recv_loan_take(w, r, u->src, u->raddr);
    free(u);
    return;
  }
  tubo__list_remove(&w->unexp, &u->link);
  recv_matched(r, u->src, u->tag, u->total);
  switch (u->kind) {
  case TUBO__F_RTS:
    recv_pull(w, r, u->src, u->raddr, u->sreq);
    break;
  case TUBO__F_FIRST:
    recv_copy(r, 0, u->data, u->got);
    r->off = u->got;
    if (u->got < u->total) {
      /* Still streaming: the rest goes straight into the receive. */
      w->peers[u->src].rx_umsg = NULL;
      w->peers[u->src].rx_req = r;
    } else {
      recv_finish(r);
    }
    free(u->data);
    break;
  default:
    recv_copy(r, 0, u->data, u->got);
    recv_finish(r);
    break;
  }
  free(u);
}

int tubo__recv_start(tubo__world_t *w, tubo_request_t *r)
{
  if (!tubo__list_empty(&w->unexp)) {
    tubo__umsg_t *u = tubo__unexp_find(w, r->peer, r->ctx, r->tag);
    if (u != NULL) {
      recv_from_unexp(w, r, u);
      return 0;
    }
  }
  tubo__list_append(&w->posted, &r->link);
  return 0;
}

void tubo__job_break(tubo__world_t *w, int code)
{
  if (!w->broken)
    for (int t = 0; t < w->ntports; t++)
      if (w->tports[t].ops->revoke != NULL)
        w->tports[t].ops->revoke(w->tports[t].state);
  w->broken = 1;
  w->broken_code = code;
}

void tubo__job_aborted(tubo__world_t *w)
{
  tubo__job_break(w, TUBO_EABORT);
}

void tubo__job_corrupt(tubo__world_t *w)
{
  if (!w->broken)
    tubo__job_break(w, TUBO_ECORRUPT);
}

void tubo__peer_gone(tubo__world_t *w, int peer, int how, int status)
{
  tubo__peer_t *pe = &w->peers[peer];
  if (pe->gone >= how)
    return;
  pe->gone = how;
  pe->exit_status = status;
  /* Nobody will take what is still queued for it, nor answer an RTS. */
  tubo__send_fail_peer(w, peer, TUBO_EPEER);
  tubo__req_fail_waitfin(w, peer, TUBO_EPEER);
  if (how == TUBO__GONE_DIED && !w->broken)
    tubo__job_break(w, TUBO_EPEER);
}
