/* SPDX-License-Identifier: MIT */
/* A Queue whose ranks share no memory (queue.h), served by its home (served.h): the home
 * keeps the items in a ring of its own (queue_ring.h), which only it touches. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patterns/queue.h"
#include "patterns/queue_ring.h"
#include "patterns/served.h"

enum { QS_PUT = 1, QS_GET, QS_COUNT, QS_TASK_DONE, QS_JOIN };

struct tubo__queue_served {
  tubo__served_t *served;
  tubo_queue_t inner;  /* the home's items, a ring or a list (its ops NULL elsewhere) */
  unsigned char *item; /* the home: an item on its way out */
  size_t item_max;
};

static int qs_timeout_rc(int op)
{
  return op == QS_PUT ? TUBO_EFULL : op == QS_GET ? TUBO_EEMPTY : TUBO_ETIMEDOUT;
}

/* At the home: a call of another rank on the home's queue, without waiting. */
static int qs_try(tubo__served_t *sv, int src, int op, const void *payload, size_t len)
{
  tubo__queue_served_t *s = sv->obj;
  size_t n = 0;
  int rc;
  switch (op) {
  case QS_PUT:
    rc = s->inner.ops->put(&s->inner, payload, len, 0);
    if (rc == TUBO_EFULL)
      return 1;
    return tubo__served_reply(sv, src, rc, 0, NULL, 0);
  case QS_GET:
    rc = s->inner.ops->get(&s->inner, s->item, s->item_max, &n, 0);
    if (rc == TUBO_EEMPTY)
      return 1;
    return tubo__served_reply(sv, src, rc, n, s->item, rc == 0 ? n : 0);
  case QS_COUNT: {
    uint64_t k = 0;
    rc = s->inner.ops->count(&s->inner, &k);
    return tubo__served_reply(sv, src, rc, k, NULL, 0);
  }
  case QS_TASK_DONE:
    return tubo__served_reply(sv, src, s->inner.ops->task_done(&s->inner), 0, NULL, 0);
  case QS_JOIN:
    rc = s->inner.ops->join(&s->inner, 0);
    if (rc == TUBO_ETIMEDOUT)
      return 1;
    return tubo__served_reply(sv, src, rc, 0, NULL, 0);
  default:
    return tubo__served_reply(sv, src, TUBO_ECORRUPT, 0, NULL, 0);
  }
}

static const tubo__served_ops_t qs_ops = {qs_try, qs_timeout_rc, 0};

/* The home's own call: tried on its queue, and while it cannot be made, the home makes
 * progress (serving the others) until it can, or the time is up. */
typedef struct qs_own {
  tubo__queue_served_t *s;
  int op;
  const void *item;
  size_t len, cap, *lenp;
  void *buf;
  tubo__deadline_t dl;
  int rc;
} qs_own_t;

static int qs_own_attempt(qs_own_t *o)
{
  switch (o->op) {
  case QS_PUT:
    return o->s->inner.ops->put(&o->s->inner, o->item, o->len, 0);
  case QS_GET:
    return o->s->inner.ops->get(&o->s->inner, o->buf, o->cap, o->lenp, 0);
  default:
    return o->s->inner.ops->join(&o->s->inner, 0);
  }
}

static int qs_own_done(void *arg)
{
  qs_own_t *o = arg;
  o->rc = qs_own_attempt(o);
  return o->rc != qs_timeout_rc(o->op) || tubo__deadline_ms_left(o->dl) == 0;
}

static int qs_own(qs_own_t *o, int timeout_ms)
{
  o->rc = qs_own_attempt(o);
  if (o->rc == qs_timeout_rc(o->op) && timeout_ms != 0) {
    o->dl = tubo__deadline_in(timeout_ms);
    int rc = tubo__served_wait(o->s->served, qs_own_done, o);
    if (rc != 0)
      return rc;
  }
  /* A put or a get may let a parked call of another rank go: answer it now. */
  if (o->rc == 0)
    tubo__served_kick(o->s->served);
  return o->rc;
}

static int qs_put(tubo_queue_t *q, const void *item, size_t len, int timeout_ms)
{
  tubo__queue_served_t *s = q->srv;
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (!s->served->home)
    return tubo__served_call(s->served, QS_PUT, timeout_ms, item, len, NULL, 0, NULL, NULL);
  qs_own_t o = {s, QS_PUT, item, len, 0, NULL, NULL, {0, 0}, 0};
  return qs_own(&o, timeout_ms);
}

static int qs_get(tubo_queue_t *q, void *buf, size_t cap, size_t *len, int timeout_ms)
{
  tubo__queue_served_t *s = q->srv;
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (!s->served->home) {
    size_t got = 0;
    uint64_t n = 0;
    rc = tubo__served_call(s->served, QS_GET, timeout_ms, NULL, 0, buf, cap, &got, &n);
    if (rc == 0) {
      if (got != n)
        return TUBO_ECORRUPT;
      if (len != NULL)
        *len = (size_t)n;
      if (n > cap)
        rc = TUBO_ETRUNC; /* as a get from shared memory: the rest of the item is dropped */
    }
    return rc;
  }
  qs_own_t o = {s, QS_GET, NULL, 0, cap, len, buf, {0, 0}, 0};
  return qs_own(&o, timeout_ms);
}

static int qs_count(const tubo_queue_t *q, uint64_t *n)
{
  tubo__queue_served_t *s = q->srv;
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (!s->served->home)
    return tubo__served_call(s->served, QS_COUNT, 0, NULL, 0, NULL, 0, NULL, n);
  return s->inner.ops->count(&s->inner, n);
}

static int qs_task_done(tubo_queue_t *q)
{
  tubo__queue_served_t *s = q->srv;
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (!s->served->home)
    return tubo__served_call(s->served, QS_TASK_DONE, 0, NULL, 0, NULL, 0, NULL, NULL);
  rc = s->inner.ops->task_done(&s->inner);
  if (rc == 0)
    tubo__served_kick(s->served); /* a parked join may be answered */
  return rc;
}

static int qs_join(tubo_queue_t *q, int timeout_ms)
{
  tubo__queue_served_t *s = q->srv;
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (!s->served->home)
    return tubo__served_call(s->served, QS_JOIN, timeout_ms, NULL, 0, NULL, 0, NULL, NULL);
  qs_own_t o = {s, QS_JOIN, NULL, 0, 0, NULL, NULL, {0, 0}, 0};
  return qs_own(&o, timeout_ms);
}

static void qs_release(tubo__queue_served_t *s)
{
  if (s->inner.ops != NULL)
    (void)s->inner.ops->free_(&s->inner);
  free(s->item);
  free(s);
}

static int qs_free(tubo_queue_t *q)
{
  tubo__queue_served_t *s = q->srv;
  int rc = tubo__served_free(s->served);
  qs_release(s);
  q->srv = NULL;
  return rc;
}

const tubo__queue_ops_t tubo__queue_served_ops = {qs_put,       qs_get,  qs_count,
                                                  qs_task_done, qs_join, qs_free};

/* What every rank must have asked for alike. */
struct qs_config {
  uint64_t capacity, item_max, flags;
};

int tubo__queue_served_open(tubo_comm_t *comm, uint64_t capacity, uint64_t item_max, unsigned flags,
                            tubo__queue_served_t **out)
{
  tubo__queue_served_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  s->item_max = (size_t)item_max;
  int home_rc = 0;
  if (comm->rank == 0) {
    home_rc = tubo__queue_local_create((size_t)capacity, s->item_max, flags, &s->inner);
    if (home_rc != 0)
      s->inner.ops = NULL;
    if (home_rc == 0 && (s->item = malloc(s->item_max)) == NULL)
      home_rc = TUBO_ENOMEM;
  }
  struct qs_config cfg = {capacity, item_max, flags};
  int rc = tubo__served_open(comm, &qs_ops, s, s->item_max, &cfg, sizeof cfg, home_rc, &s->served);
  if (rc != 0) {
    qs_release(s);
    return rc;
  }
  *out = s;
  return 0;
}
