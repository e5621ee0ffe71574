/* SPDX-License-Identifier: MIT */
/* Served objects (served.h): the calls, the answers, the home's service. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patterns/served.h"
#include "patterns/objwait.h"

/* Tags on the communicator's internal context (world.h): each served object takes two of
 * its range. */
#define SERVED_TAG_BASE TUBO__ITAG_SERVED
/* The call a rank makes when it frees its handle. */
#define SERVED_BYE 0

/* A call, then its payload. */
struct served_req {
  int32_t op;
  int32_t timeout_ms;
  uint64_t len;
};

/* An answer, then its payload. */
struct served_rep {
  int32_t rc;
  int32_t pad;
  uint64_t value;
};

struct tubo__served_parked {
  int src;
  int op;
  unsigned char *payload; /* malloc'd */
  size_t len;
  tubo__deadline_t dl;
  struct tubo__served_parked *next;
};

/* Makes *buf (of *cap bytes) hold at least need bytes. */
static int served_room(unsigned char **buf, size_t *cap, size_t need)
{
  if (need <= *cap)
    return 0;
  size_t want = *cap > 0 ? *cap : 256;
  while (want < need)
    want = want > SIZE_MAX / 2 ? need : 2 * want;
  unsigned char *p = realloc(*buf, want);
  if (p == NULL)
    return TUBO_ENOMEM;
  *buf = p;
  *cap = want;
  return 0;
}

int tubo__served_live(const tubo__served_t *s)
{
  return tubo__comm_check(s->comm);
}

int tubo__served_reply(tubo__served_t *s, int dst, int rc, uint64_t value, const void *payload,
                       size_t len)
{
  struct served_rep rep = {rc, 0, value};
  if (len > SIZE_MAX - sizeof rep || served_room(&s->rep_buf, &s->rep_cap, sizeof rep + len) != 0) {
    rep.rc = TUBO_ENOMEM;
    len = 0;
  }
  memcpy(s->rep_buf, &rep, sizeof rep);
  if (len)
    memcpy(s->rep_buf + sizeof rep, payload, len);
  return tubo_send(s->rep_buf, sizeof rep + len, dst, s->tag_rep, &s->view);
}

static int served_try(tubo__served_t *s, int src, int op, const void *payload, size_t len)
{
  if (op == SERVED_BYE) {
    s->byes++;
    return tubo__served_reply(s, src, 0, 0, NULL, 0);
  }
  return s->ops->try_call(s, src, op, payload, len);
}

/* Whether a call of this kind is parked. */
static int served_parked_op(const tubo__served_t *s, int op)
{
  for (const struct tubo__served_parked *p = s->parked; p != NULL; p = p->next)
    if (p->op == op)
      return 1;
  return 0;
}

static int served_park(tubo__served_t *s, int src, const struct served_req *req,
                       const void *payload)
{
  struct tubo__served_parked *p = calloc(1, sizeof *p);
  if (p == NULL || (p->payload = malloc(req->len ? (size_t)req->len : 1)) == NULL) {
    free(p);
    return tubo__served_reply(s, src, TUBO_ENOMEM, 0, NULL, 0);
  }
  p->src = src;
  p->op = req->op;
  p->len = (size_t)req->len;
  memcpy(p->payload, payload, p->len);
  p->dl = tubo__deadline_in(req->timeout_ms);
  *s->parked_tail = p;
  s->parked_tail = &p->next;
  return 0;
}

/* Answers what it can of the parked calls, in the order they came: a call waits behind an
 * earlier one of its kind that still waits. */
static int served_retry(tubo__served_t *s)
{
  int n = 0;
  unsigned blocked = 0; /* kinds (ops below 32) with a call still parked before */
  for (struct tubo__served_parked **pp = &s->parked; *pp != NULL;) {
    struct tubo__served_parked *p = *pp;
    unsigned bit = 1u << (p->op & 31);
    int rc = 1;
    if (s->ops->unordered || !(blocked & bit))
      rc = served_try(s, p->src, p->op, p->payload, p->len);
    if (rc == 1 && tubo__deadline_ms_left(p->dl) == 0)
      rc = tubo__served_reply(s, p->src, s->ops->timeout_rc(p->op), 0, NULL, 0);
    if (rc == 1) {
      blocked |= bit;
      pp = &p->next;
      continue;
    }
    *pp = p->next;
    if (s->parked_tail == &p->next)
      s->parked_tail = pp;
    free(p->payload);
    free(p);
    n++;
    if (rc < 0)
      return rc;
  }
  return n;
}

/* Takes one call from rank src and answers it, or parks it. */
static int served_take(tubo__served_t *s, int src, size_t msg_len)
{
  size_t cap = sizeof(struct served_req) + s->max_payload;
  if (s->max_payload == TUBO__SERVED_ANY) {
    cap = msg_len > sizeof(struct served_req) ? msg_len : sizeof(struct served_req);
    if (served_room(&s->req_buf, &s->req_cap, cap) != 0)
      cap = s->req_cap; /* the call is cut short, and answered TUBO_ECORRUPT below */
  }
  int rc = tubo_recv(s->req_buf, cap, src, s->tag_req, &s->view, TUBO_STATUS_IGNORE);
  struct served_req req;
  memcpy(&req, s->req_buf, sizeof req);
  if (rc == 0 && (msg_len < sizeof req || req.len != msg_len - sizeof req || req.op < 0))
    rc = TUBO_ECORRUPT; /* a rank of the job sent what no tubo sends */
  if (rc != 0)
    return tubo__served_reply(s, src, rc, 0, NULL, 0);
  const unsigned char *payload = s->req_buf + sizeof req;
  if (s->ops->unordered || !served_parked_op(s, req.op)) {
    rc = served_try(s, src, req.op, payload, (size_t)req.len);
    if (rc != 1)
      return rc;
  }
  if (req.timeout_ms == 0)
    return tubo__served_reply(s, src, s->ops->timeout_rc(req.op), 0, NULL, 0);
  return served_park(s, src, &req, payload);
}

/* The home's service: every call that has come, then the parked ones. */
static int served_run(void *arg)
{
  tubo__served_t *s = arg;
  int n = 0;
  for (;;) {
    int flag = 0;
    tubo_status_t st;
    int rc = tubo_iprobe(TUBO_ANY_SOURCE, s->tag_req, &s->view, &flag, &st);
    if (rc != 0)
      return rc;
    if (!flag)
      break;
    if ((rc = served_take(s, st.source, st.length)) < 0)
      return rc;
    n++;
  }
  if (s->parked != NULL) {
    int m = served_retry(s);
    if (m < 0)
      return m;
    n += m;
  }
  return n;
}

void tubo__served_poll(tubo__served_t *s)
{
  tubo__world_t *w = s->comm->w;
  if (w->in_service)
    return;
  w->in_service = 1;
  (void)served_run(s);
  w->in_service = 0;
}

void tubo__served_kick(tubo__served_t *s)
{
  tubo__world_t *w = s->comm->w;
  if (s->parked == NULL || w->in_service)
    return;
  w->in_service = 1;
  (void)served_run(s);
  w->in_service = 0;
}

int tubo__served_wait(tubo__served_t *s, int (*done)(void *), void *arg)
{
  return tubo__wait_until(s->comm->w, done, arg);
}

int tubo__served_call(tubo__served_t *s, int op, int timeout_ms, const void *payload, size_t len,
                      void *out, size_t cap, size_t *out_len, uint64_t *value)
{
  if (len > s->max_payload || len > SIZE_MAX - sizeof(struct served_req))
    return TUBO_ETOOBIG;
  if (served_room(&s->req_buf, &s->req_cap, sizeof(struct served_req) + len) != 0)
    return TUBO_ENOMEM;
  struct served_req req = {op, timeout_ms, len};
  memcpy(s->req_buf, &req, sizeof req);
  if (len)
    memcpy(s->req_buf + sizeof req, payload, len);
  int rc = tubo_send(s->req_buf, sizeof req + len, 0, s->tag_req, &s->view);
  if (rc != 0)
    return rc;
  tubo_status_t st;
  size_t room = sizeof(struct served_rep) + s->max_payload;
  if (s->max_payload == TUBO__SERVED_ANY) {
    /* An answer of any length: its length first, then room for it. */
    if ((rc = tubo_probe(0, s->tag_rep, &s->view, &st)) != 0)
      return rc;
    if (served_room(&s->rep_buf, &s->rep_cap, st.length) != 0)
      return TUBO_ENOMEM; /* the answer stays: the handle is unusable from here */
    room = st.length;
  }
  rc = tubo_recv(s->rep_buf, room, 0, s->tag_rep, &s->view, &st);
  if (rc != 0)
    return rc;
  struct served_rep rep;
  if (st.length < sizeof rep)
    return TUBO_ECORRUPT;
  memcpy(&rep, s->rep_buf, sizeof rep);
  size_t got = st.length - sizeof rep;
  if (got > 0 && out != NULL)
    memcpy(out, s->rep_buf + sizeof rep, got < cap ? got : cap);
  if (out_len != NULL)
    *out_len = got;
  if (value != NULL)
    *value = rep.value;
  return rep.rc;
}

const void *tubo__served_payload(const tubo__served_t *s)
{
  return s->rep_buf + sizeof(struct served_rep);
}

int tubo__served_live_poll(tubo__served_t *s)
{
  int rc = tubo__served_live(s);
  if (rc == 0 && s->home)
    tubo__served_poll(s);
  return rc;
}

int tubo__served_timedout(int op)
{
  (void)op;
  return TUBO_ETIMEDOUT;
}

int tubo__served_answer_copy(const tubo__served_t *s, size_t n, void *buf, size_t cap, size_t *len)
{
  if (n > 0 && cap > 0)
    memcpy(buf, tubo__served_payload(s), n < cap ? n : cap);
  if (len != NULL)
    *len = n;
  return n > cap ? TUBO_ETRUNC : 0;
}

int tubo__served_answer_dup(const tubo__served_t *s, size_t n, void **buf, size_t *len)
{
  *buf = NULL;
  if (n > 0) {
    if ((*buf = malloc(n)) == NULL)
      return TUBO_ENOMEM;
    memcpy(*buf, tubo__served_payload(s), n);
  }
  if (len != NULL)
    *len = n;
  return 0;
}

int tubo__served_call_count(tubo__served_t *s, int op, size_t *n)
{
  uint64_t v = 0;
  int rc = tubo__served_call(s, op, -1, NULL, 0, NULL, 0, NULL, &v);
  if (rc == 0)
    *n = (size_t)v;
  return rc;
}

int tubo__served_call_packed(tubo__served_t *s, int op, void **packed, size_t *bytes, size_t *n)
{
  size_t got = 0;
  uint64_t count = 0;
  int rc = tubo__served_call(s, op, -1, NULL, 0, NULL, 0, &got, &count);
  if (rc != 0)
    return rc;
  if ((*packed = malloc(got ? got : 1)) == NULL)
    return TUBO_ENOMEM;
  memcpy(*packed, tubo__served_payload(s), got);
  *bytes = got;
  *n = (size_t)count;
  return 0;
}

int tubo__served_open_heap(tubo_comm_t *comm, const tubo__served_ops_t *ops, void *obj,
                           const void *config, size_t config_len,
                           int (*make)(tubo__objheap_t *mem, void *arg), void *arg,
                           tubo__served_t **out)
{
  int home_rc = 0;
  if (comm->rank == 0) {
    tubo__objheap_t mem;
    home_rc = tubo__objheap_process(&mem);
    if (home_rc == 0)
      home_rc = make(&mem, arg);
  }
  return tubo__served_open(comm, ops, obj, TUBO__SERVED_ANY, config, config_len, home_rc, out);
}

static void served_release(tubo__served_t *s)
{
  while (s->parked != NULL) {
    struct tubo__served_parked *p = s->parked;
    s->parked = p->next;
    free(p->payload);
    free(p);
  }
  free(s->req_buf);
  free(s->rep_buf);
  free(s);
}

static int served_all_gone(void *arg)
{
  tubo__served_t *s = arg;
  return s->byes == s->comm->size - 1;
}

int tubo__served_free(tubo__served_t *s)
{
  int rc = tubo__served_live(s);
  if (rc == 0 && !s->home)
    rc = tubo__served_call(s, SERVED_BYE, 0, NULL, 0, NULL, 0, NULL, NULL);
  else if (rc == 0)
    rc = tubo__served_wait(s, served_all_gone, s); /* the others may still call */
  if (tubo__served_live(s) == 0) {
    if (s->home)
      tubo__service_remove(s->comm->w, &s->service);
    tubo__comm_view_end(&s->view);
  }
  served_release(s);
  return rc;
}

int tubo__served_open(tubo_comm_t *comm, const tubo__served_ops_t *ops, void *obj,
                      size_t max_payload, const void *config, size_t config_len, int home_rc,
                      tubo__served_t **out)
{
  tubo__served_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  s->ops = ops;
  s->obj = obj;
  s->comm = comm;
  s->home = comm->rank == 0;
  s->max_payload = max_payload;
  s->parked_tail = &s->parked;
  uint32_t seq = comm->served_seq++;
  s->tag_req = SERVED_TAG_BASE + 2 * (int)(seq % (TUBO__ITAG_SERVED_SPAN / 2));
  s->tag_rep = s->tag_req + 1;
  /* Room for a call or an answer, and for the home's arguments (a code, then config);
   * objects whose calls have no bound start small and grow. */
  size_t room = max_payload == TUBO__SERVED_ANY ? 4096 : sizeof(struct served_req) + max_payload;
  if (room < sizeof(int32_t) + config_len)
    room = sizeof(int32_t) + config_len;
  s->req_buf = malloc(room);
  s->rep_buf = malloc(room);
  s->req_cap = s->rep_cap = room;
  if (s->req_buf == NULL || s->rep_buf == NULL) {
    served_release(s);
    return TUBO_ENOMEM; /* the others may wait: out of memory in a collective call */
  }
  tubo__comm_view(comm, comm->ctx_coll, &s->view);
  /* The home tells its result and arguments; each other rank answers whether it has the
   * object, so that the home does not wait at free for a rank that never had it. */
  int32_t hrc = home_rc;
  int rc = 0;
  /* Others' calls wait on the home: it must serve them wherever the program may wait. */
  if (s->home && hrc == 0)
    hrc = tubo__service_prepare(comm->w);
  if (s->home) {
    memcpy(s->rep_buf, &hrc, sizeof hrc);
    memcpy(s->rep_buf + sizeof hrc, config, config_len);
    for (int r = 1; r < comm->size && rc == 0; r++)
      rc = tubo_send(s->rep_buf, sizeof hrc + config_len, r, s->tag_rep, &s->view);
    for (int r = 1; r < comm->size && rc == 0; r++) {
      int32_t has = 0;
      rc = tubo_recv(&has, sizeof has, r, s->tag_req, &s->view, TUBO_STATUS_IGNORE);
      if (has != 0)
        s->byes++;
    }
    if (rc == 0)
      rc = hrc;
  } else {
    tubo_status_t st;
    rc = tubo_recv(s->rep_buf, sizeof hrc + config_len, 0, s->tag_rep, &s->view, &st);
    if (rc == 0) {
      memcpy(&hrc, s->rep_buf, sizeof hrc);
      rc = hrc; /* the home could not make the object: nobody has it */
    }
    if (rc == 0 && (st.length != sizeof hrc + config_len ||
                    memcmp(s->rep_buf + sizeof hrc, config, config_len) != 0))
      rc = TUBO_EINVAL;
    int32_t lacks = rc != 0;
    int src = tubo_send(&lacks, sizeof lacks, 0, s->tag_req, &s->view);
    if (rc == 0)
      rc = src;
  }
  int brc = tubo__barrier(comm);
  if (rc == 0)
    rc = brc;
  if (rc != 0) {
    tubo__comm_view_end(&s->view);
    served_release(s);
    return rc;
  }
  if (s->home) {
    s->service = (tubo__service_t){.run = served_run, .arg = s};
    tubo__service_add(comm->w, &s->service);
  }
  *out = s;
  return 0;
}
