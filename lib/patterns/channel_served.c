/* SPDX-License-Identifier: MIT */
/* A channel served by its home rank (channel_served.h).
 *
 * An Alternation travels as one call: a header, then each guard: its kind, its channel's
 * offset in the home's heap, its end (0 for a channel's own handle), its room (input) or
 * its message (output). The answer's value is the guard chosen, its code the outcome, its
 * payload an input guard's message. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patterns/channel_served.h"
#include "patterns/served.h"

enum { CS_INFO = 1, CS_JOIN, CS_RETIRE, CS_POISON, CS_ALT };

/* An Alternation the home posted for another rank, until it is answered. */
typedef struct cs_posted {
  int src;
  tubo__calt_t a;
  tubo__calt_guard_t *g;
  tubo__ccore_t *cores;
  size_t timeout; /* the timeout guard's index, a.n for none */
  tubo__deadline_t dl;
  struct cs_posted *next;
} cs_posted_t;

struct tubo__chan_srv {
  tubo__served_t *served;
  tubo__ccore_t core;  /* the home: the channel */
  uint64_t home_off;   /* another rank: the channel's offset at the home, once asked */
  int home_world;      /* the home's world rank */
  cs_posted_t *posted; /* the home: Alternations posted for other ranks */
};

struct cs_alt_head {
  uint32_t n, start, timeout;
  int32_t timeout_ms;
};

struct cs_guard {
  uint32_t kind;
  uint32_t pad;
  uint64_t chan, end, size; /* size: an input's room, an output's length (bytes follow) */
};

tubo__ccore_t *tubo__chan_srv_core(tubo__chan_srv_t *s)
{
  return s->served->home ? &s->core : NULL;
}

/* ---- At the home ---- */

static void cs_posted_free(cs_posted_t *p)
{
  if (p->a.locks != NULL)
    tubo__calt_release(&p->a);
  free(p->g);
  free(p->cores);
  free(p);
}

/* Answers an Alternation whose outcome is in a (an input's message sent and freed). */
static int cs_answer(tubo__served_t *sv, int src, tubo__calt_t *a)
{
  int rc = a->rc == TUBO_ETIMEDOUT ? 0 : a->rc;
  const void *data = NULL;
  size_t len = 0;
  const tubo__objheap_t *mem = NULL;
  if (rc == 0 && a->g[a->chosen].kind == TUBO_GUARD_INPUT) {
    mem = &a->g[a->chosen].c->mem;
    const chan_msg_t *m = tubo__ccore_msg_at(mem, a->msg, &len);
    if (m == NULL)
      rc = TUBO_ECORRUPT;
    else
      data = m->data;
  }
  int src_rc = tubo__served_reply(sv, src, rc, a->chosen, data, data != NULL ? len : 0);
  if (mem != NULL)
    (void)tubo__objheap_free(mem, a->msg);
  return src_rc;
}

/* Reads another rank's Alternation into p: its guards on the home's channels. Returns 0,
 * or an answer to give at once (> 0: the guard index + 1 of a retired end). */
static int cs_parse(tubo__chan_srv_t *s, const unsigned char *payload, size_t plen, cs_posted_t *p)
{
  struct cs_alt_head h;
  if (plen < sizeof h)
    return TUBO_ECORRUPT;
  memcpy(&h, payload, sizeof h);
  if (h.n == 0 || h.n > (1u << 16) || h.start >= h.n || h.timeout > h.n)
    return TUBO_ECORRUPT;
  p->g = calloc(h.n, sizeof *p->g);
  p->cores = calloc(h.n, sizeof *p->cores);
  if (p->g == NULL || p->cores == NULL)
    return TUBO_ENOMEM;
  p->a = (tubo__calt_t){p->g, h.n, h.start, NULL, 0, 0, 0, 0, 0};
  p->timeout = h.timeout;
  p->dl = tubo__deadline_in(h.timeout < h.n ? h.timeout_ms : -1);
  size_t at = sizeof h;
  for (uint32_t i = 0; i < h.n; i++) {
    struct cs_guard g;
    if (plen - at < sizeof g)
      return TUBO_ECORRUPT;
    memcpy(&g, payload + at, sizeof g);
    at += sizeof g;
    p->g[i] = (tubo__calt_guard_t){(int)g.kind, NULL, 0, i == h.timeout ? h.timeout_ms : -1};
    if (g.kind != TUBO_GUARD_INPUT && g.kind != TUBO_GUARD_OUTPUT)
      continue;
    if (tubo__ccore_attach(&s->core.mem, g.chan, &p->cores[i]) != 0)
      return TUBO_ECORRUPT;
    p->g[i].c = &p->cores[i];
    if (g.end != 0) {
      int r = tubo__ccore_end_retired(&p->cores[i], g.end);
      if (r < 0)
        return r;
      if (r == 1)
        return (int)i + 1;
    }
    if (g.kind == TUBO_GUARD_OUTPUT) {
      if (g.size > plen - at)
        return TUBO_ECORRUPT;
      int rc = tubo__ccore_msg_new(&s->core.mem, payload + at, (size_t)g.size, &p->g[i].msg);
      if (rc != 0)
        return rc;
      at += (size_t)g.size;
    }
  }
  return tubo__calt_prepare(&p->a);
}

/* A posted Alternation that may be answered now: 1 while it still waits. */
static int cs_retry(tubo__chan_srv_t *s, tubo__served_t *sv, cs_posted_t **pp)
{
  cs_posted_t *p = *pp;
  int claimed = tubo__calt_claimed(&p->a);
  if (!claimed && tubo__deadline_ms_left(p->dl) != 0)
    return 1;
  int rc = tubo__calt_finish(&p->a, !claimed);
  if (rc == 0 && p->a.rc == TUBO_ETIMEDOUT)
    p->a.chosen = p->timeout; /* withdrawn: its timeout guard fires */
  rc = rc != 0 ? tubo__served_reply(sv, p->src, rc, 0, NULL, 0) : cs_answer(sv, p->src, &p->a);
  *pp = p->next;
  cs_posted_free(p);
  (void)s;
  return rc;
}

static int cs_alt(tubo__chan_srv_t *s, tubo__served_t *sv, int src, const void *payload,
                  size_t plen)
{
  for (cs_posted_t **pp = &s->posted; *pp != NULL; pp = &(*pp)->next)
    if ((*pp)->src == src)
      return cs_retry(s, sv, pp);
  cs_posted_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return tubo__served_reply(sv, src, TUBO_ENOMEM, 0, NULL, 0);
  p->src = src;
  int rc = cs_parse(s, payload, plen, p);
  if (rc > 0) {
    rc = tubo__served_reply(sv, src, TUBO_ERETIRED, (uint64_t)(rc - 1), NULL, 0);
    cs_posted_free(p);
    return rc;
  }
  if (rc == 0) {
    if (p->timeout < p->a.n)
      p->g[p->timeout].timeout_ms = tubo__deadline_ms_left(p->dl);
    rc = tubo__calt_try(&p->a, 1);
  }
  if (rc == 0) {
    p->next = s->posted;
    s->posted = p;
    return 1; /* parked: answered once claimed, or at its timeout */
  }
  rc = rc == 1 ? cs_answer(sv, src, &p->a) : tubo__served_reply(sv, src, rc, 0, NULL, 0);
  cs_posted_free(p);
  return rc;
}

static int cs_try(tubo__served_t *sv, int src, int op, const void *payload, size_t plen)
{
  tubo__chan_srv_t *s = sv->obj;
  uint64_t v = 0;
  int rc;
  switch (op) {
  case CS_INFO:
    return tubo__served_reply(sv, src, 0, s->core.off, NULL, 0);
  case CS_JOIN:
    rc =
        plen == 1 ? tubo__ccore_join(&s->core, *(const unsigned char *)payload, &v) : TUBO_ECORRUPT;
    return tubo__served_reply(sv, src, rc, v, NULL, 0);
  case CS_RETIRE:
    if (plen == 8)
      memcpy(&v, payload, 8);
    rc = plen == 8 ? tubo__ccore_retire(&s->core, v) : TUBO_ECORRUPT;
    return tubo__served_reply(sv, src, rc, 0, NULL, 0);
  case CS_POISON:
    return tubo__served_reply(sv, src, tubo__ccore_poison(&s->core), 0, NULL, 0);
  case CS_ALT:
    return cs_alt(s, sv, src, payload, plen);
  default:
    return tubo__served_reply(sv, src, TUBO_ECORRUPT, 0, NULL, 0);
  }
}

static const tubo__served_ops_t cs_ops = {cs_try, tubo__served_timedout, 1};

typedef struct cs_wait {
  tubo__calt_t *a;
  tubo__deadline_t dl;
} cs_wait_t;

static int cs_wait_done(void *arg)
{
  cs_wait_t *w = arg;
  return tubo__calt_claimed(w->a) || tubo__deadline_ms_left(w->dl) == 0;
}

int tubo__chan_srv_wait(tubo__chan_srv_t *s, tubo__calt_t *a, tubo__deadline_t dl)
{
  cs_wait_t w = {a, dl};
  int rc = tubo__served_wait(s->served, cs_wait_done, &w);
  if (rc != 0)
    return rc;
  return tubo__calt_claimed(a) ? 0 : TUBO_ETIMEDOUT;
}

/* ---- At the other ranks ---- */

int tubo__chan_srv_join(tubo__chan_srv_t *s, int writer, uint64_t *end)
{
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__ccore_join(&s->core, writer, end);
  unsigned char w = writer != 0;
  return tubo__served_call(s->served, CS_JOIN, -1, &w, 1, NULL, 0, NULL, end);
}

int tubo__chan_srv_retire(tubo__chan_srv_t *s, uint64_t end)
{
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home) {
    rc = tubo__ccore_retire(&s->core, end);
    tubo__served_kick(s->served); /* posted Alternations may be answered now */
    return rc;
  }
  return tubo__served_call(s->served, CS_RETIRE, -1, &end, 8, NULL, 0, NULL, NULL);
}

int tubo__chan_srv_poison(tubo__chan_srv_t *s)
{
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home) {
    rc = tubo__ccore_poison(&s->core);
    tubo__served_kick(s->served);
    return rc;
  }
  return tubo__served_call(s->served, CS_POISON, -1, NULL, 0, NULL, 0, NULL, NULL);
}

int tubo__chan_srv_alt(tubo_guard_t *guards, size_t n, size_t start, size_t timeout, size_t *chosen,
                       void **alloc)
{
  /* The home of the first channel runs it; every channel must have that home. */
  tubo__chan_srv_t *s = NULL;
  size_t bytes = sizeof(struct cs_alt_head);
  for (size_t i = 0; i < n; i++) {
    tubo_guard_t *g = &guards[i];
    if (g->kind != TUBO_GUARD_INPUT && g->kind != TUBO_GUARD_OUTPUT)
      continue;
    tubo__chan_srv_t *gs = g->ch->srv;
    if (s != NULL && gs->home_world != s->home_world)
      return TUBO_ENOTSUP;
    if (s == NULL)
      s = gs;
    int rc = tubo__served_live(gs->served);
    if (rc == 0 && gs->home_off == 0)
      rc = tubo__served_call(gs->served, CS_INFO, -1, NULL, 0, NULL, 0, NULL, &gs->home_off);
    if (rc != 0)
      return rc;
    size_t out = g->kind == TUBO_GUARD_OUTPUT ? g->out_len : 0;
    if (out > SIZE_MAX / 2 - bytes - sizeof(struct cs_guard))
      return TUBO_ETOOBIG;
    bytes += sizeof(struct cs_guard) + out;
  }
  if (n > (1u << 16))
    return TUBO_EINVAL;
  unsigned char *p = malloc(bytes + (n - 0) * sizeof(struct cs_guard));
  if (p == NULL)
    return TUBO_ENOMEM;
  struct cs_alt_head h = {(uint32_t)n, (uint32_t)start, (uint32_t)timeout,
                          timeout < n ? guards[timeout].timeout_ms : -1};
  memcpy(p, &h, sizeof h);
  size_t at = sizeof h;
  for (size_t i = 0; i < n; i++) {
    tubo_guard_t *g = &guards[i];
    struct cs_guard cg = {(uint32_t)g->kind, 0, 0, 0, 0};
    if (g->kind == TUBO_GUARD_INPUT || g->kind == TUBO_GUARD_OUTPUT) {
      cg.chan = g->ch->srv->home_off;
      cg.end = g->ch->own ? 0 : g->ch->end;
      cg.size = g->kind == TUBO_GUARD_INPUT ? g->in_cap : g->out_len;
    }
    memcpy(p + at, &cg, sizeof cg);
    at += sizeof cg;
    if (g->kind == TUBO_GUARD_OUTPUT && g->out_len > 0) {
      memcpy(p + at, g->out, g->out_len);
      at += g->out_len;
    }
  }
  size_t got = 0;
  uint64_t which = 0;
  int rc = tubo__served_call(s->served, CS_ALT, -1, p, at, NULL, 0, &got, &which);
  free(p);
  if (rc != 0 && rc != TUBO_EPOISON && rc != TUBO_ERETIRED)
    return rc;
  if (which >= n)
    return TUBO_ECORRUPT;
  *chosen = (size_t)which;
  tubo_guard_t *g = &guards[which];
  if (rc == 0 && g->kind == TUBO_GUARD_INPUT) {
    const void *data = tubo__served_payload(s->served);
    g->in_len = got;
    if (alloc != NULL) {
      *alloc = got > 0 ? malloc(got) : NULL;
      if (got > 0 && *alloc == NULL)
        return TUBO_ENOMEM;
      if (got > 0)
        memcpy(*alloc, data, got);
    } else {
      if (got > 0 && g->in_cap > 0)
        memcpy(g->in, data, got < g->in_cap ? got : g->in_cap);
      if (got > g->in_cap)
        rc = TUBO_ETRUNC;
    }
  }
  return rc;
}

/* ---- Opening and freeing ---- */

static void cs_release(tubo__chan_srv_t *s)
{
  while (s->posted != NULL) {
    cs_posted_t *p = s->posted;
    s->posted = p->next;
    if (p->a.waiter != NULL)
      (void)tubo__calt_finish(&p->a, 1);
    cs_posted_free(p);
  }
  if (s->core.sh != NULL)
    tubo__ccore_destroy(&s->core);
  free(s);
}

int tubo__chan_srv_free(tubo__chan_srv_t *s)
{
  int rc = tubo__served_free(s->served);
  cs_release(s);
  return rc;
}

int tubo__chan_srv_open(tubo_comm_t *comm, uint64_t capacity, tubo__chan_srv_t **out)
{
  tubo__chan_srv_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  s->home_world = tubo__comm_world_rank(comm, 0);
  int home_rc = 0;
  if (comm->rank == 0) {
    tubo__objheap_t mem;
    home_rc = tubo__objheap_process(&mem);
    if (home_rc == 0)
      home_rc = tubo__ccore_make(&mem, capacity, &s->core);
  }
  struct {
    char kind[8];
    uint64_t capacity;
  } config = {"channel", capacity};
  int rc = tubo__served_open(comm, &cs_ops, s, TUBO__SERVED_ANY, &config, sizeof config, home_rc,
                             &s->served);
  if (rc != 0) {
    cs_release(s);
    return rc;
  }
  *out = s;
  return 0;
}
