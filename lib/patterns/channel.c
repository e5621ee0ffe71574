/* SPDX-License-Identifier: MIT */
/* The public channel (tubo.h): handles on a channel in shared memory (channel_core.c) or
 * served by a home rank (channel_served.c), their ends, reads, writes and Alternation. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "patterns/channel.h"
#include "patterns/channel_served.h"
#include "handles.h"
#include "patterns/objmem.h"
#include "world.h"

/* ---- Making and freeing ---- */

static int chan_make_own(tubo_channel_t *ch, uint64_t capacity)
{
  tubo__objheap_t mem;
  int rc = tubo__objheap_process(&mem);
  if (rc == 0)
    rc = tubo__ccore_make(&mem, capacity, &ch->core);
  if (rc == 0)
    ch->owner = getpid();
  return rc;
}

/* Opened on a communicator: the core carries the capacity asked for to these. */
static int chan_kind_make_at(const tubo__objheap_t *mem, uint64_t off, void *core)
{
  tubo__ccore_t *c = core;
  return tubo__ccore_make_at(mem, off, c->capacity, c);
}

static int chan_kind_attach(const tubo__objheap_t *mem, uint64_t off, void *core)
{
  tubo__ccore_t *c = core;
  uint64_t want = c->capacity;
  int rc = tubo__ccore_attach(mem, off, c);
  if (rc == 0 && c->capacity != want)
    rc = TUBO_EINVAL;
  return rc;
}

static void chan_kind_empty(void *core)
{
  tubo__ccore_empty(core);
}

static int chan_make(tubo_comm_t *comm, size_t capacity, tubo_channel_t **out)
{
  if (out == NULL)
    return TUBO_EINVAL;
  *out = NULL;
  if (tubo__ccore_bytes(capacity) == 0)
    return TUBO_ETOOBIG;
  tubo_channel_t *ch = calloc(1, sizeof *ch);
  if (ch == NULL)
    return TUBO_ENOMEM;
  ch->own = 1;
  int rc;
  if (comm == NULL) {
    rc = chan_make_own(ch, capacity);
  } else {
    tubo__objheap_kind_t kind = {tubo__ccore_bytes(capacity), chan_kind_make_at, chan_kind_attach,
                                 chan_kind_empty};
    ch->core.capacity = capacity;
    rc = tubo__objheap_open(comm, &kind, &ch->core, &ch->mem);
    if (rc == TUBO_ENOTSUP)
      rc = tubo__chan_srv_open(comm, capacity, &ch->srv);
    else if (rc == 1)
      rc = chan_make_own(ch, capacity);
    if (rc == 0)
      ch->comm = comm;
  }
  if (rc == 0 && tubo__handle_add(ch, TUBO__H_CHANNEL) != 0) {
    tubo_channel_free(ch);
    return TUBO_ENOMEM;
  }
  if (rc != 0) {
    free(ch);
    return rc;
  }
  *out = ch;
  return 0;
}

int tubo_channel_create(size_t capacity, tubo_channel_t **ch)
{
  return chan_make(NULL, capacity, ch);
}

static int channel_open_do(tubo_comm_t *comm, size_t capacity, tubo_channel_t **ch)
{
  if (comm == NULL)
    return TUBO_ECOMM;
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  return chan_make(comm, capacity, ch);
}

int tubo_channel_open(tubo_comm_t *comm, size_t capacity, tubo_channel_t **ch)
{
  return tubo__error_ret(comm, channel_open_do(comm, capacity, ch), "tubo_channel_open");
}

int tubo_channel_free(tubo_channel_t *ch)
{
  if (!tubo__handle_live(ch, TUBO__H_CHANNEL))
    return TUBO_ECHANNEL;
  tubo__handle_remove(ch);
  int rc = 0;
  if (ch->own && ch->srv != NULL) {
    rc = tubo__chan_srv_free(ch->srv);
  } else if (ch->own && ch->owner != 0) {
    if (ch->owner == getpid())
      tubo__ccore_destroy(&ch->core);
  } else if (ch->own && tubo__objmem_release_last(&ch->mem)) {
    tubo__ccore_empty(&ch->core);
    tubo__objmem_free_block(&ch->mem);
  }
  free(ch);
  return rc;
}

/* ---- Checks ---- */

/* A live handle whose channel is still there. */
static int chan_check(tubo_channel_t *ch)
{
  if (!tubo__handle_live(ch, TUBO__H_CHANNEL))
    return TUBO_ECHANNEL;
  if (ch->comm != NULL) {
    int rc = tubo__comm_check(ch->comm);
    if (rc != 0)
      return rc;
  }
  return ch->srv != NULL ? 0 : tubo__ccore_check(&ch->core);
}

/* The channel the engine runs on here: this process's map of it, or at the home of a
 * served channel the home's; NULL at the other ranks of a served channel. */
static tubo__ccore_t *chan_core(tubo_channel_t *ch)
{
  return ch->srv != NULL ? tubo__chan_srv_core(ch->srv) : &ch->core;
}

/* An end that retired may do nothing more (a served channel's home checks for the
 * other ranks). */
static int chan_end_live(tubo_channel_t *ch)
{
  tubo__ccore_t *c = chan_core(ch);
  if (ch->own || c == NULL)
    return 0;
  int r = tubo__ccore_end_retired(c, ch->end);
  return r == 1 ? TUBO_ERETIRED : r;
}

/* ---- Ends ---- */

static int chan_end(tubo_channel_t *ch, int writer, tubo_channel_t **out)
{
  int rc = chan_check(ch);
  if (rc != 0)
    return rc;
  if (out == NULL)
    return TUBO_EINVAL;
  *out = NULL;
  tubo_channel_t *e = malloc(sizeof *e);
  if (e == NULL)
    return TUBO_ENOMEM;
  *e = *ch;
  e->own = 0;
  e->owner = 0;
  memset(&e->mem, 0, sizeof e->mem);
  e->dir = writer ? CH_WRITER : CH_READER;
  rc = ch->srv != NULL ? tubo__chan_srv_join(ch->srv, writer, &e->end)
                       : tubo__ccore_join(&ch->core, writer, &e->end);
  if (rc == 0 && tubo__handle_add(e, TUBO__H_CHANNEL) != 0)
    rc = TUBO_ENOMEM; /* the end counts all the same: it can never retire */
  if (rc != 0) {
    free(e);
    return rc;
  }
  *out = e;
  return 0;
}

int tubo_channel_reader(tubo_channel_t *ch, tubo_channel_t **in)
{
  return chan_end(ch, 0, in);
}

int tubo_channel_writer(tubo_channel_t *ch, tubo_channel_t **out)
{
  return chan_end(ch, 1, out);
}

int tubo_channel_retire(tubo_channel_t *end)
{
  int rc = chan_check(end);
  if (rc != 0)
    return rc;
  if (end->own)
    return TUBO_EINVAL;
  if (end->srv != NULL)
    return tubo__chan_srv_retire(end->srv, end->end);
  return tubo__ccore_retire(&end->core, end->end);
}

int tubo_channel_poison(tubo_channel_t *ch)
{
  int rc = chan_check(ch);
  if (rc != 0)
    return rc;
  if (ch->srv != NULL)
    return tubo__chan_srv_poison(ch->srv);
  return tubo__ccore_poison(&ch->core);
}

/* ---- Alternation ---- */

/* A waiter wakes now and then while it sleeps: a claimer that died before it could wake
 * it leaves it claimed (ready, then: tubo__calt_finish finds out), and a channel opened on
 * a communicator waits for ranks that may die: it gives up with TUBO_EPEER when one did. */
static int chan_world_check(void *arg)
{
  tubo_comm_t *comm = arg;
  if (comm == NULL || tubo__comm_check(comm) != 0)
    return 0;
  return tubo__world_health(comm->w);
}

static int chan_claimed(void *arg)
{
  return tubo__calt_claimed(arg);
}

/* Copies the message an input guard got into its room (or, with alloc, into a buffer
 * allocated for it), and frees it. */
static int chan_deliver(const tubo__objheap_t *mem, uint64_t msg, tubo_guard_t *g, void **alloc)
{
  size_t len = 0;
  const chan_msg_t *m = tubo__ccore_msg_at(mem, msg, &len);
  if (m == NULL)
    return TUBO_ECORRUPT;
  int rc = 0;
  if (alloc != NULL) {
    *alloc = len > 0 ? malloc(len) : NULL;
    if (len > 0 && *alloc == NULL)
      rc = TUBO_ENOMEM; /* the message is lost: it was taken from the channel */
    else if (len > 0)
      memcpy(*alloc, m->data, len);
  } else {
    size_t n = len < g->in_cap ? len : g->in_cap;
    if (n > 0)
      memcpy(g->in, m->data, n);
    rc = len > g->in_cap ? TUBO_ETRUNC : 0;
  }
  g->in_len = len;
  (void)tubo__objheap_free(mem, msg);
  return rc;
}

/* The checks every guard gets: its kind, its channel handle and the way it goes, its
 * buffers. Sets *served to 1 when the guards' channels are served, 0 when they are in
 * shared memory, and fails when they mix. */
static int alt_check(tubo_guard_t *guards, size_t n, int *served, size_t *timeout)
{
  int rc = 0, kinds = 0;
  *timeout = n;
  for (size_t i = 0; i < n && rc == 0; i++) {
    tubo_guard_t *g = &guards[i];
    switch (g->kind) {
    case TUBO_GUARD_SKIP:
      break;
    case TUBO_GUARD_TIMEOUT:
      if (*timeout < n)
        rc = TUBO_EINVAL;
      *timeout = i;
      break;
    case TUBO_GUARD_INPUT:
    case TUBO_GUARD_OUTPUT:
      if ((rc = chan_check(g->ch)) != 0)
        break;
      if ((g->kind == TUBO_GUARD_INPUT && g->in == NULL && g->in_cap > 0) ||
          (g->kind == TUBO_GUARD_OUTPUT && g->out == NULL && g->out_len > 0))
        rc = TUBO_EINVAL;
      else if (g->ch->dir == (g->kind == TUBO_GUARD_INPUT ? CH_WRITER : CH_READER))
        rc = TUBO_ENOTSUP;
      else if ((rc = chan_end_live(g->ch)) == 0)
        kinds |= chan_core(g->ch) == NULL ? 2 : 1;
      break;
    default:
      rc = TUBO_EINVAL;
    }
  }
  if (rc == 0 && kinds == 3)
    rc = TUBO_ENOTSUP;
  *served = kinds == 2;
  return rc;
}

/* An Alternation over channels this process runs the engine for: in shared memory, or
 * served from here. */
static int alt_local(tubo_guard_t *guards, size_t n, size_t start, size_t timeout, size_t *chosen,
                     void **alloc)
{
  tubo__calt_guard_t small[4], *cg = n <= 4 ? small : calloc(n, sizeof *cg);
  if (cg == NULL)
    return TUBO_ENOMEM;
  tubo__calt_t a = {cg, n, start, NULL, 0, 0, 0, 0, 0};
  tubo_comm_t *comm = NULL;
  tubo__chan_srv_t *home = NULL; /* a channel served from here: wait by serving */
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    tubo_guard_t *g = &guards[i];
    cg[i] = (tubo__calt_guard_t){(int)g->kind, NULL, 0, g->timeout_ms};
    if (g->kind != TUBO_GUARD_INPUT && g->kind != TUBO_GUARD_OUTPUT)
      continue;
    cg[i].c = chan_core(g->ch);
    if (g->ch->comm != NULL)
      comm = g->ch->comm;
    if (g->ch->srv != NULL)
      home = g->ch->srv;
    if (g->kind == TUBO_GUARD_OUTPUT && rc == 0)
      rc = tubo__ccore_msg_new(&cg[i].c->mem, g->out, g->out_len, &cg[i].msg);
  }
  if (rc == 0)
    rc = tubo__calt_prepare(&a);
  tubo__deadline_t dl = tubo__deadline_in(timeout < n ? guards[timeout].timeout_ms : -1);
  tubo__objwait_watch_t watch = {chan_world_check, comm};
  while (rc == 0) {
    if (timeout < n)
      cg[timeout].timeout_ms = guards[timeout].timeout_ms < 0 ? -1 : tubo__deadline_ms_left(dl);
    rc = tubo__calt_try(&a, 1);
    if (rc != 0)
      break;
    int waited = home != NULL ? tubo__chan_srv_wait(home, &a, dl)
                              : tubo__objwait_until_yielding(tubo__calt_wake_word(&a), 0,
                                                             chan_claimed, &a, dl, &watch);
    rc = tubo__calt_finish(&a, waited != 0);
    if (rc != 0)
      break;
    if (a.rc == TUBO_ETIMEDOUT) {
      if (waited != TUBO_ETIMEDOUT) {
        rc = waited; /* a rank died, or the job was aborted */
        break;
      }
      continue; /* the timeout guard is ready now: the next try chooses it */
    }
    rc = 1;
  }
  if (rc == 1) {
    *chosen = a.chosen;
    rc = a.rc == TUBO_ETIMEDOUT ? 0 : a.rc;
    if (rc == 0 && guards[a.chosen].kind == TUBO_GUARD_INPUT)
      rc = chan_deliver(&a.g[a.chosen].c->mem, a.msg, &guards[a.chosen], alloc);
  }
  tubo__calt_release(&a);
  if (cg != small)
    free(cg);
  return rc;
}

/* An Alternation; with alloc, the one input guard's message goes to a buffer allocated
 * for it. */
static int alt_select(tubo_guard_t *guards, size_t n, unsigned flags, size_t *chosen, void **alloc)
{
  if (guards == NULL || n == 0 || chosen == NULL || (flags & ~TUBO_ALT_FAIR) != 0)
    return TUBO_EINVAL;
  int served;
  size_t timeout;
  int rc = alt_check(guards, n, &served, &timeout);
  if (rc != 0)
    return rc;
  size_t start = (flags & TUBO_ALT_FAIR) && *chosen < n ? (*chosen + 1) % n : 0;
  if (served)
    return tubo__chan_srv_alt(guards, n, start, timeout, chosen, alloc);
  return alt_local(guards, n, start, timeout, chosen, alloc);
}

int tubo_alt_select(tubo_guard_t *guards, size_t n, unsigned flags, size_t *chosen)
{
  return alt_select(guards, n, flags, chosen, NULL);
}

/* ---- Reading and writing: an Alternation of one guard ---- */

int tubo_channel_write(tubo_channel_t *ch, const void *buf, size_t len)
{
  int rc = chan_check(ch);
  if (rc != 0)
    return rc;
  if (buf == NULL && len > 0)
    return TUBO_EINVAL;
  if (ch->dir == CH_READER)
    return TUBO_ENOTSUP;
  tubo_guard_t g = TUBO_OUT_GUARD(ch, buf, len);
  size_t chosen = 0;
  return tubo_alt_select(&g, 1, 0, &chosen);
}

int tubo_channel_read(tubo_channel_t *ch, void *buf, size_t cap, size_t *len)
{
  int rc = chan_check(ch);
  if (rc != 0)
    return rc;
  if (buf == NULL && cap > 0)
    return TUBO_EINVAL;
  if (ch->dir == CH_WRITER)
    return TUBO_ENOTSUP;
  tubo_guard_t g = TUBO_IN_GUARD(ch, buf, cap);
  size_t chosen = 0;
  rc = tubo_alt_select(&g, 1, 0, &chosen);
  if ((rc == 0 || rc == TUBO_ETRUNC) && len != NULL)
    *len = g.in_len;
  return rc;
}

int tubo_channel_read_alloc(tubo_channel_t *ch, void **buf, size_t *len)
{
  int rc = chan_check(ch);
  if (rc != 0)
    return rc;
  if (buf == NULL)
    return TUBO_EINVAL;
  *buf = NULL;
  if (ch->dir == CH_WRITER)
    return TUBO_ENOTSUP;
  tubo_guard_t g = TUBO_IN_GUARD(ch, NULL, 0);
  size_t chosen = 0;
  rc = alt_select(&g, 1, 0, &chosen, buf);
  if (rc == 0 && len != NULL)
    *len = g.in_len;
  return rc;
}
