/* SPDX-License-Identifier: MIT */
/* A Queue whose ranks share no memory (queue.h): rank 0 of the communicator, its home,
 * holds the items in a queue of its own and serves the other ranks' calls, sent as
 * messages, as multiprocessing's Manager serves a queue from its process.
 *
 * The home serves from tubo's progress (a service, world.h): whenever it is inside any
 * tubo call, including its own waits on this queue. A call that cannot be answered at
 * once (a get from an empty queue, a put to a full one, a join with tasks left) is parked
 * at the home with its timeout, and answered when it can be or when the time is up. Each
 * rank has one call at a time in flight (calls block), so replies need no numbering:
 * MPI's ordering brings them back in order. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patterns/handles.h"
#include "patterns/queue.h"
#include "world.h"

/* Tags on the communicator's internal context: the barrier uses those below 64, shared
 * memory's announcements 0x1000; each served queue takes two from here. */
#define SRV_TAG_BASE 0x4000

enum { SRV_PUT = 1, SRV_GET, SRV_COUNT, SRV_TASK_DONE, SRV_JOIN, SRV_BYE };

/* A call, then (put) the item. */
struct srv_req {
  int32_t op;
  int32_t timeout_ms;
  uint64_t len;
};

/* An answer, then (get) the item. */
struct srv_rep {
  int32_t rc;
  int32_t pad;
  uint64_t value; /* get: the item's length; count: the items */
};

/* A call the home could not answer yet. */
typedef struct srv_parked {
  int src;
  struct srv_req req;
  unsigned char *item; /* put: the item, malloc'd */
  tubo__deadline_t dl;
  struct srv_parked *next;
} srv_parked_t;

struct queue_srv {
  tubo_comm_t *comm; /* as opened: checked before each use of the view */
  tubo_comm_t view;  /* comm on its internal context */
  int tag_req, tag_rep;
  int home;
  tubo_queue_t *inner; /* home: the items */
  size_t item_max;
  unsigned char *buf; /* a request or an answer with an item */
  srv_parked_t *parked, **parked_tail;
  int byes; /* home: ranks that freed their handle */
  tubo__service_t service;
};

static int srv_live(const queue_srv_t *s)
{
  return tubo__comm_check(s->comm);
}

/* ---- The home ---- */

static int srv_reply(queue_srv_t *s, int dst, int rc, uint64_t value, const void *item, size_t len)
{
  struct srv_rep rep = {rc, 0, value};
  memcpy(s->buf, &rep, sizeof rep);
  if (len)
    memcpy(s->buf + sizeof rep, item, len);
  return tubo_send(s->buf, sizeof rep + len, dst, s->tag_rep, &s->view);
}

/* The code a call that waited in vain answers. */
static int srv_timeout_rc(int op)
{
  return op == SRV_PUT ? TUBO_EFULL : op == SRV_GET ? TUBO_EEMPTY : TUBO_ETIMEDOUT;
}

/* Tries a call on the home's own queue now. Returns 1 when it cannot be answered yet,
 * else 0 with the answer sent (or the error of sending it). */
static int srv_try(queue_srv_t *s, int src, const struct srv_req *req, const void *item)
{
  int rc;
  size_t len = 0;
  uint64_t n = 0;
  switch (req->op) {
  case SRV_PUT:
    rc = tubo_queue_put(s->inner, item, (size_t)req->len, 0);
    if (rc == TUBO_EFULL)
      return 1;
    return srv_reply(s, src, rc, 0, NULL, 0);
  case SRV_GET: {
    /* The item goes straight from the queue into the answer's buffer. */
    unsigned char *out = s->buf + sizeof(struct srv_rep);
    rc = tubo_queue_get(s->inner, out, s->item_max, &len, 0);
    if (rc == TUBO_EEMPTY)
      return 1;
    struct srv_rep rep = {rc, 0, len};
    memcpy(s->buf, &rep, sizeof rep);
    return tubo_send(s->buf, sizeof rep + (rc == 0 ? len : 0), src, s->tag_rep, &s->view);
  }
  case SRV_COUNT:
    rc = tubo_queue_size(s->inner, &len);
    n = len;
    return srv_reply(s, src, rc, n, NULL, 0);
  case SRV_TASK_DONE:
    return srv_reply(s, src, tubo_queue_task_done(s->inner), 0, NULL, 0);
  case SRV_JOIN:
    rc = tubo_queue_join(s->inner, 0);
    if (rc == TUBO_ETIMEDOUT)
      return 1;
    return srv_reply(s, src, rc, 0, NULL, 0);
  case SRV_BYE:
    s->byes++;
    return srv_reply(s, src, 0, 0, NULL, 0);
  default:
    return srv_reply(s, src, TUBO_ECORRUPT, 0, NULL, 0);
  }
}

/* Answers what it can of the parked calls, in the order they came. */
static int srv_retry(queue_srv_t *s)
{
  int n = 0;
  for (srv_parked_t **pp = &s->parked; *pp != NULL;) {
    srv_parked_t *p = *pp;
    int rc = srv_try(s, p->src, &p->req, p->item);
    if (rc == 1 && tubo__deadline_ms_left(p->dl) == 0)
      rc = srv_reply(s, p->src, srv_timeout_rc(p->req.op), 0, NULL, 0);
    if (rc == 1) {
      pp = &p->next;
      continue;
    }
    *pp = p->next;
    if (s->parked_tail == &p->next)
      s->parked_tail = pp;
    free(p->item);
    free(p);
    n++;
    if (rc < 0)
      return rc;
  }
  return n;
}

static int srv_park(queue_srv_t *s, int src, const struct srv_req *req, const void *item)
{
  srv_parked_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return srv_reply(s, src, TUBO_ENOMEM, 0, NULL, 0);
  p->src = src;
  p->req = *req;
  p->dl = tubo__deadline_in(req->timeout_ms);
  if (req->op == SRV_PUT) {
    p->item = malloc(req->len ? (size_t)req->len : 1);
    if (p->item == NULL) {
      free(p);
      return srv_reply(s, src, TUBO_ENOMEM, 0, NULL, 0);
    }
    memcpy(p->item, item, (size_t)req->len);
  }
  *s->parked_tail = p;
  s->parked_tail = &p->next;
  return 0;
}

/* Whether a call of this kind is parked. */
static int srv_parked_op(const queue_srv_t *s, int op)
{
  for (const srv_parked_t *p = s->parked; p != NULL; p = p->next)
    if (p->req.op == op)
      return 1;
  return 0;
}

/* Takes one call from another rank and answers it, or parks it. */
static int srv_take(queue_srv_t *s, int src, size_t msg_len)
{
  int rc = tubo_recv(s->buf, sizeof(struct srv_req) + s->item_max, src, s->tag_req, &s->view,
                     TUBO_STATUS_IGNORE);
  struct srv_req req;
  memcpy(&req, s->buf, sizeof req);
  if (rc == 0 && (msg_len < sizeof req || req.len > s->item_max ||
                  (req.op == SRV_PUT && msg_len != sizeof req + req.len)))
    rc = TUBO_ECORRUPT; /* a rank of the job sent what no tubo sends */
  if (rc != 0)
    return srv_reply(s, src, rc, 0, NULL, 0);
  /* A put may not overtake a parked put, nor a get a parked get, nor a join a join. */
  if (!srv_parked_op(s, req.op)) {
    rc = srv_try(s, src, &req, s->buf + sizeof req);
    if (rc != 1)
      return rc;
  }
  if (req.timeout_ms == 0)
    return srv_reply(s, src, srv_timeout_rc(req.op), 0, NULL, 0);
  return srv_park(s, src, &req, s->buf + sizeof req);
}

/* The service: every call that has come, then the parked ones. */
static int srv_run(void *arg)
{
  queue_srv_t *s = arg;
  int n = 0;
  for (;;) {
    int flag = 0;
    tubo_status_t st;
    int rc = tubo_iprobe(TUBO_ANY_SOURCE, s->tag_req, &s->view, &flag, &st);
    if (rc != 0)
      return rc;
    if (!flag)
      break;
    if ((rc = srv_take(s, st.source, st.length)) < 0)
      return rc;
    n++;
  }
  if (s->parked != NULL) {
    int m = srv_retry(s);
    if (m < 0)
      return m;
    n += m;
  }
  return n;
}

/* The home's own call: tried on its queue, and while it cannot be made, the home makes
 * progress (serving the others) until it can, or the time is up. */
typedef struct srv_own {
  queue_srv_t *s;
  int (*attempt)(struct srv_own *);
  int not_yet; /* the attempt's answer when it cannot be made yet */
  const void *item;
  size_t len, cap, *lenp;
  void *buf;
  tubo__deadline_t dl;
  int rc;
} srv_own_t;

static int srv_own_put(srv_own_t *o)
{
  return tubo_queue_put(o->s->inner, o->item, o->len, 0);
}

static int srv_own_get(srv_own_t *o)
{
  return tubo_queue_get(o->s->inner, o->buf, o->cap, o->lenp, 0);
}

static int srv_own_join(srv_own_t *o)
{
  return tubo_queue_join(o->s->inner, 0);
}

static int srv_own_done(void *arg)
{
  srv_own_t *o = arg;
  o->rc = o->attempt(o);
  if (o->rc != o->not_yet)
    return 1;
  if (tubo__deadline_ms_left(o->dl) == 0) {
    o->rc = o->not_yet;
    return 1;
  }
  return 0;
}

static int srv_own(srv_own_t *o, int timeout_ms)
{
  o->rc = o->attempt(o);
  if (o->rc != o->not_yet || timeout_ms == 0)
    return o->rc;
  o->dl = tubo__deadline_in(timeout_ms);
  int rc = tubo__wait_until(o->s->comm->w, srv_own_done, o);
  return rc != 0 ? rc : o->rc;
}

/* ---- The other ranks ---- */

/* Sends a call to the home and waits for its answer; a get's item lands in out. */
static int srv_call(queue_srv_t *s, int op, int timeout_ms, const void *item, size_t len, void *out,
                    size_t cap, uint64_t *value)
{
  struct srv_req req = {op, timeout_ms, len};
  memcpy(s->buf, &req, sizeof req);
  if (len)
    memcpy(s->buf + sizeof req, item, len);
  int rc = tubo_send(s->buf, sizeof req + len, 0, s->tag_req, &s->view);
  if (rc != 0)
    return rc;
  tubo_status_t st;
  rc = tubo_recv(s->buf, sizeof(struct srv_rep) + s->item_max, 0, s->tag_rep, &s->view, &st);
  if (rc != 0)
    return rc;
  struct srv_rep rep;
  if (st.length < sizeof rep)
    return TUBO_ECORRUPT;
  memcpy(&rep, s->buf, sizeof rep);
  if (value != NULL)
    *value = rep.value;
  if (op == SRV_GET && (rep.rc == 0 || rep.rc == TUBO_ETRUNC)) {
    size_t got = st.length - sizeof rep;
    if (got != rep.value)
      return TUBO_ECORRUPT;
    if (got)
      memcpy(out, s->buf + sizeof rep, got < cap ? got : cap);
    return got > cap ? TUBO_ETRUNC : 0;
  }
  return rep.rc;
}

/* ---- The calls ---- */

static queue_srv_t *srv_of(const tubo_queue_t *q)
{
  return q->srv;
}

int tubo__queue_srv_put(tubo_queue_t *q, const void *item, size_t len, int timeout_ms)
{
  queue_srv_t *s = srv_of(q);
  int rc = srv_live(s);
  if (rc != 0)
    return rc;
  if (!s->home)
    return srv_call(s, SRV_PUT, timeout_ms, item, len, NULL, 0, NULL);
  srv_own_t o = {s, srv_own_put, TUBO_EFULL, item, len, 0, NULL, NULL, {0, 0}, 0};
  return srv_own(&o, timeout_ms);
}

int tubo__queue_srv_get(tubo_queue_t *q, void *buf, size_t cap, size_t *len, int timeout_ms)
{
  queue_srv_t *s = srv_of(q);
  int rc = srv_live(s);
  if (rc != 0)
    return rc;
  if (!s->home) {
    uint64_t n = 0;
    rc = srv_call(s, SRV_GET, timeout_ms, NULL, 0, buf, cap, &n);
    if (len != NULL && (rc == 0 || rc == TUBO_ETRUNC))
      *len = (size_t)n;
    return rc;
  }
  srv_own_t o = {s, srv_own_get, TUBO_EEMPTY, NULL, 0, cap, len, buf, {0, 0}, 0};
  return srv_own(&o, timeout_ms);
}

int tubo__queue_srv_count(const tubo_queue_t *q, uint64_t *n)
{
  queue_srv_t *s = srv_of(q);
  int rc = srv_live(s);
  if (rc != 0)
    return rc;
  if (!s->home)
    return srv_call(s, SRV_COUNT, 0, NULL, 0, NULL, 0, n);
  size_t k = 0;
  rc = tubo_queue_size(s->inner, &k);
  *n = k;
  return rc;
}

int tubo__queue_srv_task_done(tubo_queue_t *q)
{
  queue_srv_t *s = srv_of(q);
  int rc = srv_live(s);
  if (rc != 0)
    return rc;
  return s->home ? tubo_queue_task_done(s->inner)
                 : srv_call(s, SRV_TASK_DONE, 0, NULL, 0, NULL, 0, NULL);
}

int tubo__queue_srv_join(tubo_queue_t *q, int timeout_ms)
{
  queue_srv_t *s = srv_of(q);
  int rc = srv_live(s);
  if (rc != 0)
    return rc;
  if (!s->home)
    return srv_call(s, SRV_JOIN, timeout_ms, NULL, 0, NULL, 0, NULL);
  srv_own_t o = {s, srv_own_join, TUBO_ETIMEDOUT, NULL, 0, 0, NULL, NULL, {0, 0}, 0};
  return srv_own(&o, timeout_ms);
}

/* ---- Opening and freeing ---- */

static int srv_all_gone(void *arg)
{
  queue_srv_t *s = arg;
  return s->byes == s->comm->size - 1;
}

static void srv_release(queue_srv_t *s)
{
  while (s->parked != NULL) {
    srv_parked_t *p = s->parked;
    s->parked = p->next;
    free(p->item);
    free(p);
  }
  if (s->inner != NULL)
    tubo_queue_free(s->inner);
  free(s->buf);
  free(s);
}

int tubo__queue_srv_free(tubo_queue_t *q)
{
  queue_srv_t *s = srv_of(q);
  int rc = srv_live(s);
  if (rc == 0 && !s->home)
    rc = srv_call(s, SRV_BYE, 0, NULL, 0, NULL, 0, NULL);
  else if (rc == 0)
    rc = tubo__wait_until(s->comm->w, srv_all_gone, s); /* the others may still call */
  if (s->home && tubo__comm_check(s->comm) == 0)
    tubo__service_remove(s->comm->w, &s->service);
  if (tubo__comm_check(s->comm) == 0)
    tubo__comm_view_end(&s->view);
  srv_release(s);
  q->srv = NULL;
  return rc;
}

/* What every rank must have asked for alike, and whether the home made its queue. */
struct srv_config {
  uint64_t capacity, item_max, flags;
  int64_t rc;
};

int tubo__queue_srv_open(tubo_comm_t *comm, tubo_queue_t *h)
{
  queue_srv_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  s->comm = comm;
  s->item_max = (size_t)h->item_max;
  s->home = comm->rank == 0;
  s->parked_tail = &s->parked;
  uint32_t seq = comm->served_seq++;
  s->tag_req = SRV_TAG_BASE + 2 * (int)(seq % 0x1000);
  s->tag_rep = s->tag_req + 1;
  size_t room = sizeof(struct srv_req) + s->item_max;
  if ((s->buf = malloc(room)) == NULL) {
    free(s);
    return TUBO_ENOMEM;
  }
  tubo__comm_view(comm, comm->ctx_coll, &s->view);
  /* The home's arguments rule; a rank whose arguments differ is refused after the
   * barrier, which every rank reaches. */
  struct srv_config mine = {h->capacity, h->item_max, h->flags, 0}, home = mine;
  int rc = 0;
  if (s->home) {
    home.rc = tubo_queue_create((size_t)h->capacity, (size_t)h->item_max, h->flags, &s->inner);
    for (int r = 1; r < comm->size && rc == 0; r++)
      rc = tubo_send(&home, sizeof home, r, s->tag_rep, &s->view);
    if (rc == 0)
      rc = (int)home.rc;
    /* Each rank says whether it has the queue: those that do not will never free it. */
    for (int r = 1; r < comm->size && rc == 0; r++) {
      int32_t theirs = 0;
      rc = tubo_recv(&theirs, sizeof theirs, r, s->tag_req, &s->view, TUBO_STATUS_IGNORE);
      if (theirs != 0)
        s->byes++;
    }
  } else {
    rc = tubo_recv(&home, sizeof home, 0, s->tag_rep, &s->view, TUBO_STATUS_IGNORE);
    if (rc == 0)
      rc = (int)home.rc; /* the home could not make the queue: nobody has one */
    if (rc == 0 && (home.capacity != mine.capacity || home.item_max != mine.item_max ||
                    home.flags != mine.flags))
      rc = TUBO_EINVAL;
    int32_t mine_rc = rc == 0 ? 0 : 1;
    int src = tubo_send(&mine_rc, sizeof mine_rc, 0, s->tag_req, &s->view);
    if (rc == 0)
      rc = src;
  }
  int brc = tubo_barrier(comm);
  if (rc == 0)
    rc = brc;
  if (rc != 0) {
    tubo__comm_view_end(&s->view);
    srv_release(s);
    return rc;
  }
  if (s->home) {
    s->service = (tubo__service_t){srv_run, s, NULL};
    tubo__service_add(comm->w, &s->service);
  }
  h->srv = s;
  return 0;
}
