/* SPDX-License-Identifier: MIT */
/* The process-wide state of tubo: the world, its peers, communicators and requests. */
#ifndef TUBO_WORLD_H
#define TUBO_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "launch/launch.h"
#include "list.h"
#include "transport.h"
#include "tubo.h"

#define TUBO__COMM_MAGIC      0x636f6d6du /* "comm" */
#define TUBO__COMM_VIEW_MAGIC 0x76696577u /* "view": tubo__comm_view */
#define TUBO__REQ_MAGIC       0x72657175u /* "requ" */

/* Context ids: each communicator has one for user messages and one for its own collectives. */
#define TUBO__CTX_WORLD      0
#define TUBO__CTX_WORLD_COLL 1
#define TUBO__CTX_PIPE_BASE  0x8000u

struct tubo_comm {
  uint32_t magic;
  tubo__world_t *w; /* the world (set of connected processes) it lives in */
  int rank, size;
  uint16_t ctx;        /* user point-to-point traffic */
  uint16_t ctx_coll;   /* barrier and other internal traffic */
  const int *to_world; /* comm rank -> world rank; NULL where they are the same */
  uint32_t barrier_epoch;
  uint16_t *pipe_seq;          /* pipes opened so far with each rank, or NULL before the first */
  uint32_t served_seq;         /* queues served by a home rank opened on it so far */
  tubo__list_node_t view_link; /* views only: in the list of live views (tubo__comm_view) */
};

enum tubo__req_kind { TUBO__REQ_SEND = 1, TUBO__REQ_RECV = 2, TUBO__REQ_CTRL = 3 };
enum tubo__req_state { TUBO__RS_FREE = 0, TUBO__RS_ACTIVE = 1, TUBO__RS_DONE = 2 };
/* How a send travels, and how far it got. */
enum tubo__send_proto {
  TUBO__SP_EAGER = 0,  /* one EAGER frame, not yet pushed */
  TUBO__SP_STREAM = 1, /* FIRST then CONT frames; off tells how much is pushed */
  TUBO__SP_RTS = 2,    /* RTS not yet pushed */
  TUBO__SP_WAITFIN = 3 /* RTS pushed: waiting for the receiver's FIN */
};

struct tubo_request {
  uint32_t magic;
  tubo__world_t *w; /* the world of its communicator */
  uint8_t kind;     /* tubo__req_kind */
  uint8_t state;    /* tubo__req_state */
  uint8_t proto;    /* tubo__send_proto, for sends */
  uint8_t pooled;   /* allocated from the pool (else on a caller's stack) */
  int32_t error;
  uint32_t id;     /* pool index and generation, named in RTS and FIN frames */
  uint8_t reading; /* recv: its transport takes the message in (read_start) */
  uint16_t ctx;
  int32_t tag; /* send: the tag; recv: the tag to match (or TUBO_ANY_TAG) */
  int peer;    /* world rank: send destination, recv source (or TUBO_ANY_SOURCE) */
  const tubo_comm_t *comm;
  void *buf;
  size_t cap;             /* send: message length; recv: buffer size */
  size_t off;             /* bytes pushed (send) or received (recv) so far */
  size_t msg_len;         /* recv: length of the matched message */
  int st_source;          /* recv: world rank the message came from */
  int32_t st_tag;         /* recv: its tag */
  tubo__list_node_t link; /* in the posted queue, a peer's send queue or the pool */
  /* CTRL requests: a small frame waiting for room. */
  tubo__frame_t cf;
  uint8_t cpayload[24];
};

/* A message that arrived before any receive matched it. */
typedef struct tubo__umsg {
  tubo__list_node_t link; /* in the unexpected queue */
  int src;
  uint16_t ctx;
  int32_t tag;
  uint8_t kind; /* TUBO__F_EAGER, TUBO__F_FIRST (still streaming or complete), TUBO__F_RTS */
  size_t total;
  size_t got;
  size_t room; /* bytes allocated at data, for a stream: it grows as data comes */
  uint64_t raddr;
  uint32_t sreq;
  unsigned char *data;
} tubo__umsg_t;

typedef struct tubo__peer {
  tubo__list_t sq;        /* sends waiting for room, in order (tubo_request_t) */
  tubo_request_t *rx_req; /* receive that CONT frames from this peer fill */
  tubo__umsg_t *rx_umsg;  /* or unexpected message they fill */
  int gone;               /* 0, or TUBO__GONE_* */
  int exit_status;
  size_t rndv_min;  /* messages of this size or more go by single copy, if it works */
  size_t frame_max; /* most payload bytes one frame to it carries */
  uint8_t tport;    /* index of the transport that reaches it in the world's tports */
  int tpeer;        /* its number within that transport */
} tubo__peer_t;

/* One transport of a world: a world under mpirun has two (shm inside the node, MPI
 * between nodes); others have one, or none when alone. */
typedef struct tubo__tport {
  const tubo__tp_ops_t *ops;
  void *state;
  tubo__tp_caps_t caps;
} tubo__tport_t;

/* A world opens each kind of transport at most once: its table has room for all. */
#define TUBO__MAX_TPORTS TUBO__TP_NKINDS

enum { TUBO__GONE_NO = 0, TUBO__GONE_LEFT = 1, TUBO__GONE_DIED = 2 };

/* How stuck a waiting rank is (progress.c). */
enum { TUBO__STALLED = 1, TUBO__STALLED_LONG = 2 };
#define TUBO__STALL_LONG_NS 10000000ull

/* Work a rank does for others whenever it makes progress: the home rank of a queue that
 * spans nodes serves the other ranks' requests (patterns/queue_served.c). run returns how
 * much it did (0: nothing) or an error. */
typedef struct tubo__service {
  int (*run)(void *arg);
  void *arg;
  tubo__list_node_t link; /* in the world's services */
} tubo__service_t;

/* A world's watcher (tubo__world_set_watcher). */
typedef void (*tubo__watcher_fn)(void *arg);

typedef struct tubo__reqpool {
  tubo_request_t **chunks;
  uint32_t nchunks;
  tubo__list_t free; /* requests to hand out */
} tubo__reqpool_t;

struct tubo__world {
  int rank, size;
  tubo__launch_t launch;
  tubo__tport_t tports[TUBO__MAX_TPORTS];
  int ntports;
  tubo__list_t services; /* tubo__service_t, run by tubo__progress, never from within one */
  int in_service;
  /* The transports that reach some peer, which progress polls (set by
   * tubo__world_ready): under mpirun, MPI is open also where every rank shares this
   * node, but polling it then would only slow shared memory down. */
  uint8_t act[TUBO__MAX_TPORTS];
  int nact;
  tubo__peer_t *peers;
  tubo_comm_t world_comm;

  /* Matching: receives waiting for a message, messages waiting for a receive. */
  tubo__list_t posted; /* tubo_request_t */
  tubo__list_t unexp;  /* tubo__umsg_t */
  int drain;           /* take every frame into the unexpected queue (probes, frames to oneself) */
  int stalled;         /* 0, or TUBO__STALLED*: the current wait found nothing to do and sleeps */
  /* The state of the one transport that can finish the current wait (a wait on one peer,
   * tubo__wait_peer), or NULL when any may: a transport that cannot finish it may poll
   * itself less often meanwhile (engine.h, tubo__tp_wait_is_elsewhere). */
  const void *wait_only;
  /* The world rank the current wait is on (tubo__wait_peer), or -1: any. A transport
   * that watches its peers' processes itself looks at this one first. */
  int wait_peer;

  int sq_peers;    /* peers whose send queue is not empty */
  int waitfin;     /* sends waiting for a FIN */
  int broken;      /* a peer died or the job was aborted: waiting must stop */
  int broken_code; /* TUBO_EPEER, TUBO_EABORT or TUBO_ECORRUPT */

  tubo__reqpool_t pool;
  /* Blocking receives and sends that finished on their fast paths (p2p.c): a slip that
   * sends them down the general path costs speed only, so tests count them. */
  uint64_t fast_recvs, fast_sends;
  uint64_t completions;     /* requests completed so far: a transport stops taking frames at
                               one, so that its waiter sees it first (engine.h) */
  tubo__watcher_fn watcher; /* run by each health check (tubo__world_set_watcher) */
  void *watcher_arg;
  tubo__list_node_t live_link; /* in the list of this process's live worlds */
  struct tubo__topo *topo;     /* during tubo_init only, else NULL */
  int oversubscribed;          /* more ranks on this node than processing units */
  uint64_t spin_ns;            /* how long a waiting rank spins before it sleeps */
  int sleep_ms;                /* longest sleep before looking for failures */
};

/* The world of this process (what TUBO_COMM_WORLD names), or NULL outside tubo_init ..
 * tubo_finalize. A process may live in more worlds: those it made with tubo_spawn. */
extern tubo__world_t *tubo__world;
/* Makes w (or NULL) this process's world: sets tubo__world and the handle
 * TUBO_COMM_WORLD reads (tubo__comm_world_handle, tubo.h) together (init.c). */
void tubo__world_set_own(tubo__world_t *w);

/* How many worlds this process lives in now: 0 means tubo is not in use at all. */
extern int tubo__nworlds;

/* The live worlds of this process, for checking handles (world.c). */
void tubo__world_register(tubo__world_t *w);
void tubo__world_unregister(tubo__world_t *w);
/* The live world whose request pool holds r, or NULL: a request handle is checked
 * against the pools before it is followed. */
tubo__world_t *tubo__req_world(const tubo_request_t *r);

/* Makes a world from a launch description, whose descriptors it takes over (l is left
 * empty): joins the transport, which waits for every rank. Returns 0 or an error. */
int tubo__world_create(tubo__launch_t *l, tubo__world_t **out);
/* A world of size ranks, this one rank, local_size of them on this node, without any
 * transport yet; call tubo__world_ready once they are added. Returns 0 or TUBO_ENOMEM. */
int tubo__world_new(int rank, int size, int local_size, tubo__world_t **out);
/* Ends the set-up of a world made by tubo__world_new. */
void tubo__world_ready(tubo__world_t *w);
/* Opens a transport of kind kind (transport.c's table) in w, over the ranks l describes:
 * its rank i is world rank l->world_of[i] (NULL: i itself). arg goes to the transport's
 * open (transport.h). Returns 0, TUBO_ELAUNCH (no such kind, or one of this kind is open
 * already) or the transport's error. */
int tubo__world_add_tport(tubo__world_t *w, enum tubo__transport_kind kind, tubo__launch_t *l,
                          const void *arg);
/* Adds s to the services w runs at each progress; removes it. */
void tubo__service_add(tubo__world_t *w, tubo__service_t *s);
void tubo__service_remove(tubo__world_t *w, tubo__service_t *s);
/* Lets queued sends finish, then leaves (peers see this rank gone). */
int tubo__world_leave(tubo__world_t *w);
void tubo__world_free(tubo__world_t *w);

/* In a child forked by tubo: forgets the parent's worlds without finalizing them, and
 * lets the child call tubo_init (init.c). */
void tubo__world_forget(void);
void tubo__init_forget(void);
/* Makes w this process's world, as if tubo_init had joined it (in spawned workers). */
void tubo__world_adopt(tubo__world_t *w);

/* Looks for failures in w (a rank that died, the job aborted, a worker that ended): the
 * slow path of every wait in w. Returns 0, or why waiting in w can no longer succeed
 * (TUBO_EPEER, TUBO_EABORT). */
int tubo__world_health(tubo__world_t *w);

/* Registers fn, which each health check of w runs with arg before its transports look
 * for failures (NULL: none). The maker of a world that watches processes itself registers
 * one: tubo_spawn's rank 0 reaps its workers there (launch/spawn.c). The engine knows
 * nothing else of what made its worlds. */
void tubo__world_set_watcher(tubo__world_t *w, tubo__watcher_fn fn, void *arg);
/* The arg w's watcher was registered with, if its watcher is fn; else NULL. */
void *tubo__world_watcher(const tubo__world_t *w, tubo__watcher_fn fn);

/* The world rank of a communicator's rank. */
static inline int tubo__comm_world_rank(const tubo_comm_t *c, int r)
{
  return c->to_world ? c->to_world[r] : r;
}

/* Whether c is the live world's own communicator, the common case of a handle check. */
static inline int tubo__comm_is_world(const tubo_comm_t *c)
{
  return c != NULL && c == tubo__comm_world_handle;
}

/* Checks a communicator handle; returns 0 or TUBO_ECOMM / TUBO_ENOTINIT. */
int tubo__comm_check_slow(const tubo_comm_t *c);
static inline int tubo__comm_check(const tubo_comm_t *c)
{
  /* Handles are looked up, never followed, until known live: a handle of a finalized
   * world points at freed memory. */
  if (tubo__comm_is_world(c))
    return 0;
  return tubo__comm_check_slow(c);
}

/* A view of c on another context, for internal traffic no user receive can match. The
 * view is registered, so that handle checks find it by address without following any
 * pointer they were given. */
void tubo__comm_view(const tubo_comm_t *c, uint16_t ctx, tubo_comm_t *out);
/* Ends a view: every tubo__comm_view is paired with one, before out's memory goes. */
void tubo__comm_view_end(tubo_comm_t *view);

/* The context of the next pipe between this rank and peer on comm: both ranks count the
 * pipes they open with each other, so they agree. Returns 0, TUBO_ENOMEM, or TUBO_ETOOBIG
 * when the two ranks have opened 32767 pipes already. */
int tubo__comm_pipe_ctx(tubo_comm_t *comm, int peer, uint16_t *ctx);

/* Requests (request.c). */
tubo_request_t *tubo__req_alloc(tubo__world_t *w);
void tubo__req_free(tubo__world_t *w, tubo_request_t *r);
tubo_request_t *tubo__req_lookup(tubo__world_t *w, uint32_t id);
void tubo__reqpool_fini(tubo__reqpool_t *p);
/* Whether r points at a request of pool p (without following it). */
int tubo__req_in_pool(const tubo__reqpool_t *p, const tubo_request_t *r);
/* Completes RTS send r (one waiting for its receiver to be done) with error, taking it
 * out of w->waitfin, which counts those still active: one completed already is left. */
void tubo__waitfin_complete(tubo__world_t *w, tubo_request_t *r, int error);
/* Completes with error every send to peer that waits for a FIN (the peer is gone). */
void tubo__req_fail_waitfin(tubo__world_t *w, int peer, int error);

/* Matching and delivery (match.c; what transports call is in engine.h). */
/* Starts a posted receive: matches the unexpected queue first, else posts it. */
int tubo__recv_start(tubo__world_t *w, tubo_request_t *r);
/* Removes a receive from the posted queue. */
void tubo__posted_remove(tubo__world_t *w, tubo_request_t *r);
/* Finds the first unexpected message matching (src, ctx, tag); NULL if none. */
tubo__umsg_t *tubo__unexp_find(tubo__world_t *w, int src, uint16_t ctx, int32_t tag);
/* Frees the unexpected queue at finalize. */
void tubo__unexp_fini(tubo__world_t *w);
/* A rank stalled for long takes into memory every queued message that an RTS announced
 * (progress.c says why); returns how many, or an error. */
int tubo__unexp_pull(tubo__world_t *w);
/* Stops the transport taking r's message in, as r is being failed. */
void tubo__read_cancel(tubo__world_t *w, tubo_request_t *r);

/* Sending (send.c). */
/* Starts a send request: pushes what fits now, queues the rest in order. */
int tubo__send_start(tubo__world_t *w, tubo_request_t *r);
/* Pushes queued sends of every peer; returns how many frames went out, or an error. */
int tubo__send_progress(tubo__world_t *w);
/* Sends a small control frame (FIN), queuing it if there is no room. */
int tubo__send_ctrl(tubo__world_t *w, int peer, const tubo__frame_t *f, const void *payload);
/* Fails every queued or unfinished send with error (when peer is gone: only its sends). */
void tubo__send_fail_peer(tubo__world_t *w, int peer, int error);

/* Delivers a frame this rank sends to itself. */
int tubo__self_push(tubo__world_t *w, const tubo__frame_t *f, const void *payload);

/* Pushes a frame to a peer through its transport, or to this rank itself. */
static inline int tubo__push(tubo__world_t *w, int peer, const tubo__frame_t *f, const void *p1,
                             size_t n1, const void *p2, size_t n2)
{
  if (peer == w->rank)
    return tubo__self_push(w, f, p1);
  const tubo__peer_t *pe = &w->peers[peer];
  const tubo__tport_t *t = &w->tports[pe->tport];
  return t->ops->push(t->state, pe->tpeer, f, p1, n1, p2, n2);
}

/* The transport that reaches world rank peer (not this rank). */
static inline tubo__tport_t *tubo__tport_of(tubo__world_t *w, int peer)
{
  return &w->tports[w->peers[peer].tport];
}

/* Progress and waiting (progress.c). */
/* One non-blocking pass: pushes queued sends, takes in arrived frames. Returns the
 * number of events, or an error. */
int tubo__progress(tubo__world_t *w);
/* Waits until done(arg) is non-zero: spins, then sleeps. done is first asked after one
 * progress pass. Returns 0, or TUBO_EPEER / TUBO_EABORT when the job broke and done(arg)
 * can no longer become true. */
int tubo__wait_until(tubo__world_t *w, int (*done)(void *), void *arg);
/* tubo__wait_until for something only world rank peer can bring (TUBO_ANY_SOURCE: any
 * rank): the transports hear which one reaches it (wait_only), for the length of the
 * wait. */
int tubo__wait_peer(tubo__world_t *w, int peer, int (*done)(void *), void *arg);
/* Waits for one request to complete. */
int tubo__wait_req(tubo__world_t *w, tubo_request_t *r);

/* Completes a request (DONE) with error. In an aborted job, a peer that is gone is gone
 * because of the abort: the request says so (TUBO_EABORT), as tubo_abort promises. */
static inline void tubo__req_complete(tubo_request_t *r, int error)
{
  if (error == TUBO_EPEER && r->w != NULL && r->w->broken_code == TUBO_EABORT)
    error = TUBO_EABORT;
  if (r->error == 0)
    r->error = error;
  r->state = TUBO__RS_DONE;
  if (r->w != NULL)
    r->w->completions++;
}

#endif /* TUBO_WORLD_H */
