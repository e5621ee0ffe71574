/* SPDX-License-Identifier: MIT */
/* tubo_pipe_create: a pipe for processes forked after it, as multiprocessing.Pipe.
 *
 * The messages travel through shared memory: an anonymous shared mapping, inherited by
 * fork, holding one ring per direction (pipe_ring.h). A socket pair, one socket per end,
 * does what only the kernel knows: when every process holding an end has closed it or
 * died, the other end's socket reports a hang-up (POLLHUP); and a process that must wait
 * sleeps in poll() on its end's socket, where the other end writes one byte to wake it,
 * only when the sleeping flag of the end says that someone sleeps. Sending and receiving
 * while the other side keeps up make no system call.
 *
 * Each process has its own copy of the handles (fork copies them, with the sockets), so
 * closing an end in one process leaves the other processes' copies open, as with OS
 * pipes. A closing process also bumps the end's close counter in shared memory: a sender
 * looks at the socket (a system call) only when that counter moved, so that it learns at
 * once that the last holder closed the end it sends to. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launch/fork.h"
#include "os/os.h"
#include "handles.h"
#include "patterns/pipe.h"
#include "patterns/pipe_ring.h"
#include "patterns/objmem.h"
#include "patterns/objwait.h"

/* Bytes of each direction's ring: a quarter of it is the largest record, so a large
 * message streams in pieces that the writer and the reader copy at the same time. */
#define PIPE_RING_BYTES (128u << 10)
/* How a waiting process waits: it spins for PIPE_SPIN_NS, which covers the other side's
 * reply when both run; then it yields its core between looks until PIPE_YIELD_NS, which
 * lets the other side run at once if they share a core; then it sleeps. */
#define PIPE_SPIN_NS  1000u
#define PIPE_YIELD_NS 50000u

/* One word on its own line. */
typedef struct pipe_word {
  _Alignas(64) _Atomic uint32_t v;
} pipe_word_t;

/* The shared memory of a pipe; the rings' data follow, ring i (data for end i) at
 * PIPE_DATA_OFF + i * PIPE_RING_BYTES. */
typedef struct pipe_shared {
  pipe_word_t sleeping[2]; /* end i's user sleeps in poll() on end i's socket */
  pipe_word_t closes[2];   /* how many times a process closed its copy of end i */
  tubo__pipe_ring_ctl_t ctl[2];
} pipe_shared_t;

#define PIPE_DATA_OFF ((sizeof(pipe_shared_t) + 4095u) & ~(size_t)4095u)

/* This process's mapping, shared by its handles of both ends. */
typedef struct pipe_map {
  tubo__objmem_t mem;
  int refs;
} pipe_map_t;

/* This process's state of one end. */
typedef struct pipe_end {
  struct pipe_end *next, *prev; /* in the list of this process's open ends */
  pipe_map_t *map;
  pipe_shared_t *sh;
  int me;               /* 0 or 1; the other end is 1 - me */
  int fd;               /* this end's socket; -1 once closed */
  tubo__pipe_ring_t tx; /* to the other end, when this end sends */
  tubo__pipe_ring_t rx; /* to this end, when it receives */
  uint32_t closes_seen; /* the other end's close counter when last looked at */
  int peer_gone;        /* every holder of the other end closed it or died */
} pipe_end_t;

static inline pipe_end_t *end_of(tubo_pipe_t *p)
{
  return p->impl;
}

/* ---- This process's open ends, closed when it exits ---- */

/* A process that exits without closing its ends releases them anyway (the kernel closes
 * its sockets), but a sender learns that at once only from the close counters: so a
 * process closes them on its way out, through exit() or tubo's own child exit. */
static pipe_end_t *open_ends;

static void end_close(pipe_end_t *e);

void tubo__pipe_close_all(void)
{
  while (open_ends != NULL)
    end_close(open_ends);
}

/* A child of tubo that ends with _exit closes them too (launch/fork.h). */
static tubo__child_exit_hook_t open_child_hook = {.fn = tubo__pipe_close_all};

static void open_add(pipe_end_t *e)
{
  static int at_exit;
  if (!at_exit) {
    at_exit = atexit(tubo__pipe_close_all) == 0;
    tubo__child_exit_hook_add(&open_child_hook);
  }
  e->prev = NULL;
  e->next = open_ends;
  if (open_ends != NULL)
    open_ends->prev = e;
  open_ends = e;
}

static void open_remove(pipe_end_t *e)
{
  if (e->prev != NULL)
    e->prev->next = e->next;
  else
    open_ends = e->next;
  if (e->next != NULL)
    e->next->prev = e->prev;
  e->next = e->prev = NULL;
}

/* ---- The socket: hang-ups and wake-ups ---- */

/* Looks at the socket without waiting: sets peer_gone when the other end hung up. */
static void end_look(pipe_end_t *e)
{
  struct pollfd pf = {e->fd, POLLIN, 0};
  if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR | POLLNVAL)))
    e->peer_gone = 1;
}

/* Takes the wake-up bytes waiting on the socket; a hang-up found meanwhile is noted. */
static void end_drain(pipe_end_t *e)
{
  char junk[64];
  for (;;) {
    ssize_t n = recv(e->fd, junk, sizeof junk, MSG_DONTWAIT);
    if (n == (ssize_t)sizeof junk)
      continue;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      e->peer_gone = 1;
    if (n < 0 && errno == EINTR)
      continue;
    return;
  }
}

/* Wakes the other end's user if it sleeps. Call after a sequentially consistent store
 * that published what it waits for (a record, or room). */
static void end_wake(pipe_end_t *e)
{
  _Atomic uint32_t *flag = &e->sh->sleeping[1 - e->me].v;
  if (atomic_load_explicit(flag, memory_order_seq_cst) == 0)
    return;
  if (atomic_exchange_explicit(flag, 0, memory_order_seq_cst) == 0)
    return; /* someone else woke it */
  char b = 1;
  ssize_t n;
  do
    n = send(e->fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  /* A full socket holds wake-ups already; a broken one means nobody holds the other end. */
  if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
    e->peer_gone = 1;
}

/* What a wait waits for: > 0 ready, 0 not yet, < 0 an error. */
typedef int (*end_cond_fn)(pipe_end_t *e, void *arg);

/* Waits until cond is ready, the other end is gone or the deadline passes: spins, then
 * sleeps in poll() on the socket with this end's sleeping flag set. Returns cond's
 * result (> 0 or < 0), TUBO_EEOF when the other end is gone (cond asked once more after
 * that was seen), or TUBO_ETIMEDOUT. */
static int end_wait(pipe_end_t *e, end_cond_fn cond, void *arg, tubo__deadline_t dl)
{
  int c = cond(e, arg);
  if (c != 0)
    return c;
  uint64_t start = tubo__os_now_ns();
  for (unsigned spins = 1; !e->peer_gone; spins++) {
    tubo__os_cpu_relax();
    if ((c = cond(e, arg)) != 0)
      return c;
    if ((spins & 63) != 0)
      continue;
    uint64_t now = tubo__os_now_ns();
    if (!dl.forever && now >= dl.at_ns)
      return TUBO_ETIMEDOUT;
    if (now - start >= PIPE_YIELD_NS)
      break;
    if (now - start >= PIPE_SPIN_NS)
      sched_yield();
  }
  _Atomic uint32_t *flag = &e->sh->sleeping[e->me].v;
  while (!e->peer_gone) {
    /* Set the flag, then look again: a waker that publishes after the look sees the flag
     * (both sides use sequentially consistent accesses). */
    atomic_store_explicit(flag, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    if ((c = cond(e, arg)) != 0) {
      atomic_store_explicit(flag, 0, memory_order_relaxed);
      return c;
    }
    int ms = tubo__deadline_ms_left(dl);
    if (ms == 0) {
      atomic_store_explicit(flag, 0, memory_order_relaxed);
      return TUBO_ETIMEDOUT;
    }
    struct pollfd pf = {e->fd, POLLIN, 0};
    int n = poll(&pf, 1, ms);
    atomic_store_explicit(flag, 0, memory_order_relaxed);
    if (n > 0 && (pf.revents & (POLLHUP | POLLERR | POLLNVAL)))
      e->peer_gone = 1;
    else if (n > 0)
      end_drain(e);
    if ((c = cond(e, arg)) != 0)
      return c;
  }
  /* Gone: what it published before leaving is visible now. */
  c = cond(e, arg);
  return c != 0 ? c : TUBO_EEOF;
}

/* ---- Sending ---- */

static int cond_room(pipe_end_t *e, void *arg)
{
  return tubo__pipe_ring_has_room(&e->tx, *(uint64_t *)arg);
}

static int shm_send(tubo_pipe_t *p, const void *buf, size_t len)
{
  pipe_end_t *e = end_of(p);
  uint32_t closes = atomic_load_explicit(&e->sh->closes[1 - e->me].v, memory_order_acquire);
  if (closes != e->closes_seen) {
    e->closes_seen = closes;
    end_look(e);
  }
  if (e->peer_gone)
    return TUBO_EEOF;
  const unsigned char *src = buf;
  size_t off = 0;
  uint32_t kind = TUBO__PIPE_REC_HEAD;
  do {
    uint64_t need;
    int64_t n = tubo__pipe_ring_put(&e->tx, src + off, len - off, kind, len, &need);
    if (n == TUBO_EAGAIN) {
      int rc = end_wait(e, cond_room, &need, tubo__deadline_in(-1));
      if (rc < 0)
        return rc;
      continue;
    }
    if (n < 0)
      return (int)n;
    off += (size_t)n;
    kind = TUBO__PIPE_REC_CONT;
    end_wake(e);
    if (e->peer_gone)
      return TUBO_EEOF; /* nobody will ever read it */
  } while (off < len);
  return 0;
}

/* ---- Receiving ---- */

static int cond_record(pipe_end_t *e, void *arg)
{
  return tubo__pipe_ring_peek(&e->rx, arg);
}

/* Waits for the next record. Returns 0 (rec filled), TUBO_EEOF or TUBO_ECORRUPT. */
static int end_next(pipe_end_t *e, tubo__pipe_rec_t *rec)
{
  int rc = tubo__pipe_ring_peek(&e->rx, rec);
  if (rc == 0)
    rc = end_wait(e, cond_record, rec, tubo__deadline_in(-1));
  return rc > 0 ? 0 : rc;
}

static void end_consume(pipe_end_t *e, const tubo__pipe_rec_t *rec)
{
  if (tubo__pipe_ring_consume(&e->rx, rec))
    end_wake(e); /* a quarter of the ring is free again: the writer may wait for it */
}

static int shm_recv(tubo_pipe_t *p, void *buf, size_t cap, int alloc, void **out, size_t *len)
{
  pipe_end_t *e = end_of(p);
  tubo__pipe_rec_t rec;
  int rc = end_next(e, &rec);
  if (rc != 0)
    return rc;
  if (rec.kind != TUBO__PIPE_REC_HEAD || rec.chunk > rec.total)
    return TUBO_ECORRUPT;
  uint64_t total = rec.total;
  unsigned char *dst = buf;
  if (alloc) {
    if (total > SIZE_MAX)
      return TUBO_ENOMEM;
    /* The message stays in the ring when there is no memory for it. */
    if (total > 0 && (dst = malloc((size_t)total)) == NULL)
      return TUBO_ENOMEM;
    cap = (size_t)total;
  }
  uint64_t got = 0;
  for (;;) {
    if (got < cap) {
      uint64_t n = cap - got < rec.chunk ? cap - got : rec.chunk;
      memcpy(dst + got, rec.payload, (size_t)n);
    }
    got += rec.chunk;
    end_consume(e, &rec);
    if (got == total)
      break;
    rc = end_next(e, &rec);
    if (rc == 0 && (rec.kind != TUBO__PIPE_REC_CONT || rec.chunk == 0 || rec.chunk > total - got))
      rc = TUBO_ECORRUPT;
    if (rc != 0) {
      /* The writer went away in the middle of a message (EOF), or broke the ring. */
      if (alloc)
        free(dst);
      return rc;
    }
  }
  *len = (size_t)total;
  if (alloc)
    *out = dst;
  return total > cap ? TUBO_ETRUNC : 0;
}

static int cond_ready(pipe_end_t *e, void *arg)
{
  (void)arg;
  return tubo__pipe_ring_ready(&e->rx);
}

static int shm_poll(tubo_pipe_t *p, int timeout_ms, int *ready)
{
  pipe_end_t *e = end_of(p);
  if (tubo__pipe_ring_ready(&e->rx)) {
    *ready = 1;
    return 0;
  }
  if (!e->peer_gone)
    end_look(e);
  int rc = end_wait(e, cond_ready, NULL, tubo__deadline_in(timeout_ms));
  /* A message, or the end of file: either way a receive would not wait. */
  *ready = rc > 0 || rc == TUBO_EEOF;
  return rc == TUBO_ETIMEDOUT || *ready ? 0 : rc;
}

/* ---- Closing ---- */

static void end_close(pipe_end_t *e)
{
  if (e->fd < 0)
    return;
  open_remove(e);
  close(e->fd);
  e->fd = -1;
  /* After the close: a sender that sees the counter move finds the hang-up if this was
   * the last holder. */
  atomic_fetch_add_explicit(&e->sh->closes[e->me].v, 1, memory_order_seq_cst);
}

static void shm_close(tubo_pipe_t *p)
{
  end_close(end_of(p));
}

static void map_release(pipe_map_t *m)
{
  if (--m->refs == 0) {
    tubo__objmem_release(&m->mem);
    free(m);
  }
}

static void shm_free(tubo_pipe_t *p)
{
  pipe_end_t *e = end_of(p);
  map_release(e->map);
  free(e);
}

static const tubo__pipe_ops_t shm_ops = {shm_send, shm_recv, shm_poll, shm_close, shm_free};

/* ---- Creating ---- */

static pipe_end_t *end_new(pipe_map_t *m, int me, int fd, int can_send, int can_recv)
{
  pipe_end_t *e = calloc(1, sizeof *e);
  if (e == NULL)
    return NULL;
  e->map = m;
  e->sh = m->mem.base;
  e->me = me;
  e->fd = fd;
  unsigned char *data = (unsigned char *)m->mem.base + PIPE_DATA_OFF;
  if (can_send)
    tubo__pipe_ring_init(&e->tx, &e->sh->ctl[1 - me], data + (size_t)(1 - me) * PIPE_RING_BYTES,
                         PIPE_RING_BYTES);
  if (can_recv)
    tubo__pipe_ring_init(&e->rx, &e->sh->ctl[me], data + (size_t)me * PIPE_RING_BYTES,
                         PIPE_RING_BYTES);
  return e;
}

int tubo_pipe_create(unsigned flags, tubo_pipe_t **end0, tubo_pipe_t **end1)
{
  if (end0 == NULL || end1 == NULL)
    return TUBO_EINVAL;
  *end0 = *end1 = NULL;
  if ((flags & ~TUBO_PIPE_ONEWAY) != 0)
    return TUBO_EINVAL;
  int duplex = !(flags & TUBO_PIPE_ONEWAY);
  pipe_map_t *m = calloc(1, sizeof *m);
  if (m == NULL)
    return TUBO_ENOMEM;
  /* One-way: only ring 0 (end 1 sends to end 0). */
  int rc = tubo__objmem_anon(PIPE_DATA_OFF + (duplex ? 2u : 1u) * PIPE_RING_BYTES, &m->mem);
  if (rc != 0) {
    free(m);
    return rc;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    tubo__objmem_release(&m->mem);
    free(m);
    return TUBO_ESYS;
  }
  pipe_end_t *e0 = end_new(m, 0, sv[0], duplex, 1);
  pipe_end_t *e1 = end_new(m, 1, sv[1], 1, duplex);
  tubo_pipe_t *p0 = e0 ? tubo__pipe_new(&shm_ops, e0, duplex, 1) : NULL;
  tubo_pipe_t *p1 = e1 ? tubo__pipe_new(&shm_ops, e1, 1, duplex) : NULL;
  if (p0 == NULL || p1 == NULL) {
    tubo__handle_remove(p0);
    tubo__handle_remove(p1);
    free(p0);
    free(p1);
    free(e0);
    free(e1);
    close(sv[0]);
    close(sv[1]);
    tubo__objmem_release(&m->mem);
    free(m);
    return TUBO_ENOMEM;
  }
  open_add(e0);
  open_add(e1);
  m->refs = 2;
  *end0 = p0;
  *end1 = p1;
  return 0;
}
