/* SPDX-License-Identifier: MIT */
/* The engine of point-to-point collectives (coll.h): their state, their messages on the
 * communicator's internal context, blocking runs and non-blocking requests. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coll/coll.h"

/* Tags of collective messages: the collective's number (modulo TAG_SEQS) and its phase.
 * Two collectives of one communicator in flight at once (non-blocking ones) differ in
 * their number, so that neither takes the other's messages. */
#define COLL_TAG_STEPS 256u
#define COLL_TAG_SEQS  (TUBO__ITAG_COLL_SPAN / COLL_TAG_STEPS)

static inline int coll_tag(const tubo__coll_req_t *c, int step)
{
  return (int)(TUBO__ITAG_COLL + (c->seq % COLL_TAG_SEQS) * COLL_TAG_STEPS + (unsigned)step);
}

tubo__coll_req_t *tubo__coll_new(tubo_comm_t *comm, const tubo__coll_args_t *a,
                                 tubo__coll_step_t step)
{
  tubo__coll_req_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->comm = comm;
  c->w = comm->w;
  c->a = *a;
  c->step = step;
  c->seq = comm->coll_seq++;
  return c;
}

/* Completes c's requests still in flight with error and frees them. */
static void coll_drop_reqs(tubo__coll_req_t *c, int error)
{
  for (int i = 0; i < c->nrq; i++) {
    tubo_request_t *r = c->rq[i];
    if (r->state != TUBO__RS_DONE)
      tubo__req_cancel(r, error);
    tubo__req_free(c->w, r);
  }
  c->nrq = 0;
}

void tubo__coll_finish(tubo__coll_req_t *c, int error)
{
  if (c->done)
    return;
  if (error == 0 && c->truncated)
    error = TUBO_ETRUNC;
  c->error = error;
  c->done = 1;
  coll_drop_reqs(c, error ? error : TUBO_EPEER);
  if (error == 0 && c->keep != NULL)
    tubo__coll_copy(c->keep_to, c->keep + c->keep_off, c->keep_len);
  free(c->keep);
  c->keep = NULL;
  free(c->tmp);
  free(c->tmp2);
  free(c->rq);
  c->tmp = c->tmp2 = NULL;
  c->rq = NULL;
  c->caprq = 0;
}

static void coll_free(tubo__coll_req_t *c)
{
  tubo__coll_finish(c, TUBO_EPEER);
  free(c);
}

int tubo__coll_scratch(tubo__coll_req_t *c, unsigned char **buf, size_t n)
{
  free(*buf);
  *buf = malloc(n ? n : 1);
  if (*buf == NULL) {
    tubo__coll_finish(c, TUBO_ENOMEM);
    return TUBO_ENOMEM;
  }
  return 0;
}

/* Room for one more request. */
static int coll_reserve(tubo__coll_req_t *c)
{
  if (c->nrq < c->caprq)
    return 0;
  int cap = c->caprq ? 2 * c->caprq : 8;
  tubo_request_t **rq = realloc(c->rq, (size_t)cap * sizeof *rq);
  if (rq == NULL)
    return TUBO_ENOMEM;
  c->rq = rq;
  c->caprq = cap;
  return 0;
}

void tubo__coll_send_chan(tubo__coll_req_t *c, const void *buf, size_t len, int peer, int step,
                          int chan)
{
  if (c->done)
    return;
  tubo_request_t *r;
  int rc = coll_reserve(c);
  if (rc == 0)
    rc = tubo__isend_ctx_chan(c->comm, c->comm->ctx_coll, buf, len, peer, coll_tag(c, step), chan,
                              &r);
  if (rc != 0) {
    tubo__coll_finish(c, rc);
    return;
  }
  c->rq[c->nrq++] = r;
}

void tubo__coll_send(tubo__coll_req_t *c, const void *buf, size_t len, int peer, int step)
{
  tubo__coll_send_chan(c, buf, len, peer, step, 0);
}

void tubo__coll_recv(tubo__coll_req_t *c, void *buf, size_t len, int peer, int step)
{
  if (c->done)
    return;
  tubo_request_t *r;
  int rc = coll_reserve(c);
  if (rc == 0)
    rc = tubo__irecv_ctx(c->comm, c->comm->ctx_coll, buf, len, peer, coll_tag(c, step), &r);
  if (rc != 0) {
    tubo__coll_finish(c, rc);
    return;
  }
  c->rq[c->nrq++] = r;
}

void tubo__coll_unpost(tubo__coll_req_t *c, tubo_request_t *r)
{
  for (int i = 0; i < c->nrq; i++) {
    if (c->rq[i] != r)
      continue;
    tubo__req_cancel(r, TUBO_EPEER);
    tubo__req_free(c->w, r);
    memmove(c->rq + i, c->rq + i + 1, (size_t)(c->nrq - i - 1) * sizeof *c->rq);
    c->nrq--;
    return;
  }
}

int tubo__coll_reqs_done(tubo__coll_req_t *c)
{
  /* From the last: the requests posted last complete last, as a rule. */
  while (c->nrq > 0) {
    tubo_request_t *r = c->rq[c->nrq - 1];
    if (!tubo__req_poll(r)) {
      /* Others may have failed meanwhile: a failure ends the collective at once. */
      for (int i = 0; i < c->nrq - 1; i++)
        if (c->rq[i]->state == TUBO__RS_DONE && c->rq[i]->error != 0 &&
            c->rq[i]->error != TUBO_ETRUNC) {
          tubo__coll_finish(c, c->rq[i]->error);
          return 0;
        }
      return 0;
    }
    int err = r->error;
    tubo__req_free(c->w, r);
    c->nrq--;
    /* A truncated receive is the caller's error (counts that disagree): the collective
     * goes on, so that no message of it is left behind, and reports it at the end. */
    if (err == TUBO_ETRUNC) {
      c->truncated = 1;
      err = 0;
    }
    if (err != 0) {
      tubo__coll_finish(c, err);
      return 0;
    }
  }
  return 1;
}

/* Advances c; whether it is done. */
static int coll_advance(void *arg)
{
  tubo__coll_req_t *c = arg;
  if (!c->done)
    c->step(c);
  return c->done;
}

int tubo__coll_run(tubo__coll_req_t *c)
{
  int rc = 0;
  if (!coll_advance(c))
    rc = tubo__wait_until(c->w, coll_advance, c);
  if (rc != 0)
    tubo__coll_finish(c, rc);
  rc = c->error;
  coll_free(c);
  return rc;
}

int tubo__coll_start(tubo__coll_req_t *c, tubo_request_t **req)
{
  tubo__world_t *w = c->w;
  tubo_request_t *r = tubo__req_alloc(w);
  if (r == NULL) {
    coll_free(c);
    return TUBO_ENOMEM;
  }
  r->kind = TUBO__REQ_COLL;
  r->peer = TUBO_ANY_SOURCE;
  r->comm = c->comm;
  r->coll = c;
  r->started_by = c->a.fn;
  c->pub = r;
  c->next = w->colls;
  w->colls = c;
  if (w->broken)
    tubo__coll_finish(c, w->broken_code);
  else
    coll_advance(c);
  if (c->done)
    tubo__req_complete(r, c->error);
  *req = r;
  return 0;
}

static void coll_unlink(tubo__world_t *w, tubo__coll_req_t *c)
{
  for (tubo__coll_req_t **p = &w->colls; *p != NULL; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      return;
    }
}

int tubo__coll_progress(tubo__world_t *w)
{
  int n = 0;
  for (tubo__coll_req_t *c = w->colls; c != NULL; c = c->next) {
    if (c->pub->state == TUBO__RS_DONE)
      continue;
    if (w->broken)
      tubo__coll_finish(c, w->broken_code);
    else
      coll_advance(c);
    if (c->done) {
      tubo__req_complete(c->pub, c->error);
      n++;
    }
  }
  return n;
}

void tubo__coll_req_cancel(tubo_request_t *r, int error)
{
  tubo__coll_finish(r->coll, error);
  tubo__req_complete(r, r->coll->error);
}

void tubo__coll_req_release(tubo_request_t *r)
{
  tubo__coll_req_t *c = r->coll;
  if (c == NULL)
    return;
  coll_unlink(r->w, c);
  coll_free(c);
  r->coll = NULL;
}
