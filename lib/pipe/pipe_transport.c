/* SPDX-License-Identifier: MIT */
/* The pipe transport: for machines where shared memory cannot serve.
 *
 * Each rank reads one pipe that all peers write to (pipe_wire.h); every frame is written
 * with one write() of at most PIPE_BUF bytes, so frames never interleave. Frames that no
 * receive wants yet wait in a per-peer backlog, which keeps each peer's order. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "list.h"
#include "os/os.h"
#include "pipe/pipe_wire.h"
#include "transport.h"

#define PIPE_RBUF (256u << 10)

typedef struct pipe_frame {
  tubo__list_node_t link; /* in its peer's backlog */
  tubo__frame_t f;
  unsigned char payload[];
} pipe_frame_t;

typedef struct pipe_state {
  tubo__world_t *w;
  int rank, size;
  int rfd;
  int *wfds;
  pid_t launcher;
  tubo__list_t *backlog; /* per peer: frames kept, in order (pipe_frame_t) */
  int nbacklog;          /* peers with a non-empty backlog */
  unsigned char *rbuf;
  size_t rlen; /* bytes in rbuf not yet parsed */
  struct pollfd *pfds;
} pipe_state_t;

static int pipe_push(void *state, int peer, const tubo__frame_t *f, const void *p1, size_t n1,
                     const void *p2, size_t n2)
{
  pipe_state_t *s = state;
  unsigned char buf[TUBO__PIPE_ATOMIC];
  if (f->len > (uint32_t)TUBO__PIPE_FRAME_MAX)
    return TUBO_ETOOBIG;
  struct tubo__pipe_hdr h = {f->kind, f->flags, f->ctx, f->tag, f->len, s->rank};
  memcpy(buf, &h, sizeof h);
  if (n1)
    memcpy(buf + sizeof h, p1, n1);
  if (n2)
    memcpy(buf + sizeof h + n1, p2, n2);
  size_t total = sizeof h + f->len;
  for (;;) {
    ssize_t n = write(s->wfds[peer], buf, total);
    if (n == (ssize_t)total)
      return 0;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return TUBO_EAGAIN;
    if (n < 0 && errno == EPIPE)
      return TUBO_EPEER;
    return TUBO_ESYS; /* a short write of an atomic frame cannot happen */
  }
}

static int pipe_backlog_add(pipe_state_t *s, int src, const tubo__frame_t *f, const void *p)
{
  pipe_frame_t *fr = malloc(sizeof *fr + f->len);
  if (fr == NULL)
    return TUBO_ENOMEM;
  fr->f = *f;
  memcpy(fr->payload, p, f->len);
  tubo__list_t *b = &s->backlog[src];
  if (tubo__list_empty(b))
    s->nbacklog++;
  tubo__list_append(b, &fr->link);
  return 0;
}

/* Delivers a peer's kept frames in order, until one is still not wanted. */
static int pipe_backlog_drain(pipe_state_t *s, int src)
{
  tubo__list_t *b = &s->backlog[src];
  int n = 0;
  pipe_frame_t *fr;
  while ((fr = TUBO__LIST_FIRST(b, pipe_frame_t, link)) != NULL) {
    int rc = tubo__deliver(s->w, src, &fr->f, fr->payload, 0);
    if (rc < 0)
      return rc;
    if (rc == 0)
      break;
    tubo__list_remove(b, &fr->link);
    if (tubo__list_empty(b))
      s->nbacklog--;
    free(fr);
    n++;
  }
  return n;
}

/* Hands one frame read from the pipe to the engine, or keeps it behind its peer's backlog. */
static int pipe_take(pipe_state_t *s, const struct tubo__pipe_hdr *h, const void *payload)
{
  tubo__frame_t f = {h->kind, h->flags, h->ctx, h->tag, h->len};
  int src = h->src;
  if (src == TUBO__PIPE_SRC_LAUNCHER) {
    struct tubo__f_gone g;
    if (f.kind != TUBO__F_GONE || f.len != sizeof g)
      return TUBO_ECORRUPT;
    memcpy(&g, payload, sizeof g);
    /* The news that a rank left cleanly must not overtake the frames it sent before
     * leaving; a death is told at once. */
    if (g.status == 0 && g.rank >= 0 && g.rank < s->size &&
        !tubo__list_empty(&s->backlog[g.rank])) {
      int rc = pipe_backlog_add(s, g.rank, &f, payload);
      return rc < 0 ? rc : 1;
    }
    return tubo__deliver(s->w, s->rank, &f, payload, 1) < 0 ? TUBO_ECORRUPT : 1;
  }
  if (src < 0 || src >= s->size || src == s->rank || f.kind == 0 || f.kind > TUBO__F_KIND_MAX)
    return TUBO_ECORRUPT;
  if (tubo__list_empty(&s->backlog[src])) {
    int rc = tubo__deliver(s->w, src, &f, payload, 0);
    if (rc != 0)
      return rc;
  }
  int rc = pipe_backlog_add(s, src, &f, payload);
  return rc < 0 ? rc : 1;
}

/* A frame no rank writes (a broken length, an unknown sender or kind): the pipe's frames
 * cannot be told apart any more, so the job is broken and every wait in it ends with
 * TUBO_ECORRUPT (an abort, found first, stays the reason). */
static int pipe_corrupt(const pipe_state_t *s)
{
  tubo__job_corrupt(s->w);
  return TUBO_ECORRUPT;
}

static int pipe_progress(void *state)
{
  pipe_state_t *s = state;
  int events = 0;
  if (s->nbacklog > 0)
    for (int p = 0; p < s->size; p++)
      if (!tubo__list_empty(&s->backlog[p])) {
        int rc = pipe_backlog_drain(s, p);
        if (rc < 0)
          return rc;
        events += rc;
      }
  /* A few reads at most, so that a fast writer cannot keep this call from returning. */
  for (int reads = 0; reads < 8; reads++) {
    ssize_t n = read(s->rfd, s->rbuf + s->rlen, PIPE_RBUF - s->rlen);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; /* EAGAIN: nothing more now; 0 cannot happen while we hold a write end */
    s->rlen += (size_t)n;
    size_t at = 0;
    while (s->rlen - at >= sizeof(struct tubo__pipe_hdr)) {
      struct tubo__pipe_hdr h;
      memcpy(&h, s->rbuf + at, sizeof h);
      if (h.len > (uint32_t)TUBO__PIPE_FRAME_MAX)
        return pipe_corrupt(s);
      if (s->rlen - at < sizeof h + h.len)
        break;
      int rc = pipe_take(s, &h, s->rbuf + at + sizeof h);
      if (rc < 0)
        return rc == TUBO_ECORRUPT ? pipe_corrupt(s) : rc;
      events++;
      at += sizeof h + h.len;
    }
    memmove(s->rbuf, s->rbuf + at, s->rlen - at);
    s->rlen -= at;
  }
  return events;
}

static void pipe_sleep(void *state, int timeout_ms, int (*ready)(void *), void *arg)
{
  pipe_state_t *s = state;
  if (ready(arg))
    return;
  int n = 0;
  s->pfds[n++] = (struct pollfd){s->rfd, POLLIN, 0};
  /* Peers this rank waits to write to: wake when their pipe has room. */
  for (int p = 0; p < s->size; p++)
    if (tubo__tp_peer_waits_room(s->w, p))
      s->pfds[n++] = (struct pollfd){s->wfds[p], POLLOUT, 0};
  (void)poll(s->pfds, (nfds_t)n, timeout_ms);
}

static int pipe_check(void *state)
{
  pipe_state_t *s = state;
  if (s->launcher > 0 && !tubo__os_pid_alive(s->launcher))
    return TUBO_EABORT;
  return 0;
}

static void pipe_abort(void *state, int code)
{
  pipe_state_t *s = state;
  struct tubo__f_abort a = {code, 0};
  tubo__frame_t f = {TUBO__F_ABORT, 0, 0, 0, sizeof a};
  for (int p = 0; p < s->size; p++)
    if (p != s->rank)
      (void)pipe_push(s, p, &f, &a, sizeof a, NULL, 0);
}

static void pipe_leave(void *state)
{
  (void)state; /* tuborun tells the peers when this process exits */
}

static void pipe_close(void *state)
{
  pipe_state_t *s = state;
  if (s == NULL)
    return;
  if (s->backlog)
    for (int p = 0; p < s->size; p++)
      for (tubo__list_node_t *n; (n = tubo__list_pop(&s->backlog[p])) != NULL;)
        free(TUBO__LIST_ENTRY(n, pipe_frame_t, link));
  free(s->backlog);
  free(s->rbuf);
  free(s->pfds);
  free(s);
}

static int pipe_open_job(tubo__world_t *w, tubo__launch_t *l, const void *arg, void **state,
                         tubo__tp_caps_t *caps)
{
  if (l->pipe_rfd < 0 || l->pipe_wfds == NULL)
    return TUBO_ELAUNCH;
  pipe_state_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  s->w = w;
  s->rank = l->rank;
  s->size = l->size;
  s->rfd = l->pipe_rfd;
  s->wfds = l->pipe_wfds;
  s->launcher = l->launcher_pid;
  s->backlog = calloc((size_t)s->size, sizeof *s->backlog);
  s->rbuf = malloc(PIPE_RBUF);
  s->pfds = calloc((size_t)s->size + 1, sizeof *s->pfds);
  if (!s->backlog || !s->rbuf || !s->pfds) {
    pipe_close(s);
    return TUBO_ENOMEM;
  }
  /* Non-blocking everywhere, and not inherited by programs the rank itself starts. */
  int fds_ok = 1;
  for (int p = -1; p < s->size; p++) {
    int fd = p < 0 ? s->rfd : s->wfds[p];
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
      fds_ok = 0;
  }
  if (!fds_ok) {
    pipe_close(s);
    return TUBO_ELAUNCH;
  }
  (void)fcntl(s->rfd, F_SETPIPE_SZ, 1 << 20);
  caps->frame_max = (size_t)TUBO__PIPE_FRAME_MAX;
  caps->single_copy = 0;
  *state = s;
  return 0;
}

const tubo__tp_ops_t tubo__pipe_ops = {
    .name = "pipe",
    .open = pipe_open_job,
    .close = pipe_close,
    .push = pipe_push,
    .read = NULL,
    .read_start = NULL,
    .read_cancel = NULL,
    .recv = NULL,
    .heap_alloc = NULL,
    .heap_free = NULL,
    .heap_at = NULL,
    .progress = pipe_progress,
    .sleep = pipe_sleep,
    .check = pipe_check,
    .abort = pipe_abort,
    .leave = pipe_leave,
};
