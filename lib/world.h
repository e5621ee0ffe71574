/* SPDX-License-Identifier: MIT */
/* The process-wide state of tubo: the world, its peers, communicators and requests. */
#ifndef TUBO_WORLD_H
#define TUBO_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "adapt.h"
#include "frame.h"
#include "launch/jobctl.h"
#include "launch/launch.h"
#include "list.h"
#include "transport.h"
#include "tubo.h"
#include "waitpol.h"

#define TUBO__COMM_MAGIC      0x636f6d6du /* "comm" */
#define TUBO__COMM_VIEW_MAGIC 0x76696577u /* "view": tubo__comm_view */
#define TUBO__REQ_MAGIC       0x72657175u /* "requ" */

/* Context ids (ctxid.c). Every communicator has a context id c, agreed by its ranks when
 * it is made: frames of its user traffic carry the context 2c, those of its internal
 * traffic (collectives, served objects, shared-memory set-up) 2c + 1, so that no user
 * receive or probe ever sees them. The world's id is 0; pipes between two ranks take the
 * contexts from TUBO__CTX_PIPE_BASE on (tubo__comm_pipe_ctx). */
#define TUBO__CID_MAX        8192u /* context ids 0 .. TUBO__CID_MAX - 1 */
#define TUBO__CID_WORLD      0u
#define TUBO__CTX_WORLD      0
#define TUBO__CTX_WORLD_COLL 1
#define TUBO__CTX_PIPE_BASE  0x8000u

/* The internal tag space of a communicator, on its context 2c + 1: each internal user
 * owns a range, so that none can take another's messages. */
#define TUBO__ITAG_SHMEM       0x1000  /* shared memory's announcement (objmem_comm.c) */
#define TUBO__ITAG_SERVED      0x4000  /* served objects, two tags each (served.c) */
#define TUBO__ITAG_SERVED_SPAN 0x3c000 /* ... up to TUBO__ITAG_SERVED + this */
#define TUBO__ITAG_COLL        0x40000 /* collectives: sequence and step (coll/coll.h) */
#define TUBO__ITAG_COLL_SPAN   0x80000

/* The hardware levels of tubo_comm_split_type, as indexes (TUBO_COMM_TYPE_x - 1). */
enum { TUBO__NLEVELS = 6 };

/* Where a rank runs, by level (TUBO_COMM_TYPE_x - 1): at[0] is its node (the lowest world
 * rank of the node, the same for every rank of it), then the logical indexes of the
 * package, NUMA node, L3, L2 and core that hold its binding (-1: none does). Two ranks
 * share a level when they share the node and that index, and it is not -1. */
typedef struct tubo__where {
  int32_t at[TUBO__NLEVELS];
} tubo__where_t;

struct tubo__coll_table;

/* How a communicator's ranks sit on nodes (comm.c): nodes are numbered in the order of
 * their first rank. */
typedef struct tubo__comm_nodes {
  int n;          /* nodes */
  int *node_of;   /* comm rank -> node */
  int *leader;    /* node -> its first comm rank */
  int my;         /* this rank's node */
  int nlocal;     /* ranks of this node */
  int *local;     /* their comm ranks, ascending */
  int local_rank; /* this rank's index in local */
} tubo__comm_nodes_t;

struct tubo_comm {
  uint32_t magic;
  tubo__world_t *w; /* the world (set of connected processes) it lives in */
  int rank, size;
  uint16_t ctx;                /* user point-to-point traffic */
  uint16_t ctx_coll;           /* internal traffic */
  const int *to_world;         /* comm rank -> world rank; NULL where they are the same */
  const int *from_world;       /* world rank -> comm rank or -1; NULL where the same */
  uint32_t served_seq;         /* queues served by a home rank opened on it so far */
  tubo__list_node_t view_link; /* views only: in the list of live views (tubo__comm_view) */
  /* Set on communicators, not on views. */
  uint16_t cid;                        /* its context id */
  uint16_t level_cid[TUBO__NLEVELS];   /* ids kept for its first level splits */
  int level_splits;                    /* level splits made of it so far */
  tubo__comm_nodes_t nodes;            /* its node map */
  uint32_t coll_seq;                   /* collectives started on it so far */
  const struct tubo__coll_table *coll; /* its collective functions (coll/coll.h) */
  void *coll_state;                    /* theirs */
  tubo_comm_t *next_comm;              /* the world's list of allocated communicators */
  uint8_t internal;                    /* made by the library for itself (coll/coll_hier.c) */
  tubo_errhandler_fn *errh;            /* its error handler; NULL: the job's (errhandler.c) */
};

/* COLL: a non-blocking collective (coll/coll.h), which runs requests of its own. */
enum tubo__req_kind {
  TUBO__REQ_SEND = 1,
  TUBO__REQ_RECV = 2,
  TUBO__REQ_CTRL = 3,
  TUBO__REQ_COLL = 4
};
enum tubo__req_state { TUBO__RS_FREE = 0, TUBO__RS_ACTIVE = 1, TUBO__RS_DONE = 2 };
/* How a send travels, and how far it got. */
enum tubo__send_proto {
  TUBO__SP_EAGER = 0,   /* one EAGER frame, not yet pushed */
  TUBO__SP_STREAM = 1,  /* FIRST then CONT frames; off tells how much is pushed */
  TUBO__SP_RTS = 2,     /* RTS not yet pushed */
  TUBO__SP_WAITFIN = 3, /* RTS pushed: waiting for the receiver's FIN */
  TUBO__SP_LOAN = 4     /* RTS of a loan (off: its heap offset), complete once pushed */
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
  uint8_t loan;    /* recv: a TUBO__RL_* of tubo_recv_loan's, else 0 */
  uint8_t chan;    /* send: through the channel even where single copy would take it */
  uint16_t ctx;
  int32_t tag; /* send: the tag; recv: the tag to match (or TUBO_ANY_TAG) */
  int peer;    /* world rank: send destination, recv source (or TUBO_ANY_SOURCE) */
  const tubo_comm_t *comm;
  void *buf;
  size_t cap;                  /* send: message length; recv: buffer size */
  size_t off;                  /* bytes pushed (send) or received (recv) so far */
  size_t msg_len;              /* recv: length of the matched message */
  int st_source;               /* recv: world rank the message came from */
  int32_t st_tag;              /* recv: its tag */
  tubo__list_node_t link;      /* in the posted queue, a peer's send queue or the pool */
  struct tubo__coll_req *coll; /* COLL: the collective's state */
  const char *started_by;      /* COLL: the public call that started it, for its errors */
  /* Sends timed for the choice of protocol (adapt.h): TUBO__TIMED_* flags, when the send
   * started, and its number among the timed sends to its peer. */
  uint8_t timed;
  uint32_t aseq;
  uint64_t t_start;
  /* CTRL requests: a small frame waiting for room. */
  tubo__frame_t cf;
  uint8_t cpayload[24];
};

/* A receive of tubo_recv_loan's: a loan that matches it becomes its buffer, not copied
 * (TUBO__RL_TAKE); a message that is no loan stays in the unexpected queue, and the
 * receive ends saying so (TUBO__RL_QUEUED), for the caller to take it as any message. */
enum { TUBO__RL_TAKE = 1, TUBO__RL_QUEUED = 2 };

/* A timed send's flags: timed, by single copy, waited for room in the ring; the sender
 * chooses whether to split it (longer than TUBO__ADAPT_SPLIT_FROM) once its receiver is
 * ready (tubo__send_split_pick), and it went split. */
enum {
  TUBO__TIMED = 1,
  TUBO__TIMED_CMA = 2,
  TUBO__TIMED_WAITED = 4,
  TUBO__TIMED_SPLIT_LATE = 8,
  TUBO__TIMED_SPLIT = 16
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
  size_t rndv_gate;  /* shorter messages go through the channel: rndv_min, or the least
                        that the sender chooses for where it adapts */
  size_t rndv_min;   /* messages of this size or more go by single copy, if it works, */
  size_t frame_max;  /* most payload bytes one frame to it carries */
  uint8_t rndv_chan; /* except those of the size classes (1 << tubo__rndv_class) set here */
  /* Whether the starting choice came from a measurement that found single copy faster at
   * the least size measured (TUBO__RNDV_SIZE(0)): where the two protocols cross below it
   * is then unknown, not rndv_min (the direct collectives use it, coll_shm.h). */
  uint8_t rndv_least;
  /* Where the sender chooses online per size class (adapt.h, tubo__tp_adapt): what it
   * measured; else NULL (rndv_min and rndv_chan decide; where it adapts, they say where it
   * started). */
  struct tubo__adapt_peer *adapt;
  /* Where it runs (topo.h), as its transport read it at start-up (its NUMA node: the one
   * its memory is bound to); -1 each where unknown. The shared-memory collectives group
   * ranks by it (coll_shm_tree.c). */
  tubo__locality_t loc;
  uint8_t tport; /* index of the transport that reaches it in the world's tports */
  int tpeer;     /* its number within that transport */
} tubo__peer_t;

/* A peer's online choice of protocol: the order of its timed sends, and each size
 * class's estimates. */
typedef struct tubo__adapt_peer {
  tubo__adapt_track_t track;
  tubo__adapt_t cls[TUBO__ADAPT_CLASSES];
  /* Where split_on: single copies longer than TUBO__ADAPT_SPLIT_FROM, whole or split. */
  int split_on;
  tubo__adapt_t split[TUBO__ADAPT_CLASSES];
  /* Those single copies sent, whole and split, however chosen. */
  uint64_t ways[TUBO__ADAPT_CLASSES][2];
} tubo__adapt_peer_t;

/* Whether a message of len bytes to pe goes by single copy, where it can (RTS); where the
 * sender adapts, its exploration sends some the other way (send.c). */
static inline int tubo__peer_single_copy(const tubo__peer_t *pe, size_t len)
{
  if (len < pe->rndv_gate)
    return 0;
  if (pe->adapt != NULL) { /* the class's choice as it stands (tubo__tp_adapt) */
    int a = tubo__adapt_class(len);
    return a >= 0 && pe->adapt->cls[a].use;
  }
  return tubo__rndv_single_copy(len, pe->rndv_min, pe->rndv_chan);
}

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

/* A check of what this rank keeps in the job's shared memory against what it knows
 * privately, run by each health check of its world (tubo__selfcheck_add): a layer above
 * the engine that keeps state there (the shared-memory collectives) registers one, so
 * that a forgery is found while the rank waits anywhere, not only where that layer
 * waits. run returns 0, or TUBO_ECORRUPT when the memory holds what the protocol cannot
 * leave there. */
typedef struct tubo__selfcheck {
  int (*run)(void *arg);
  void *arg;
  tubo__list_node_t link; /* in the world's selfchecks */
} tubo__selfcheck_t;

typedef struct tubo__reqpool {
  tubo_request_t **chunks;
  uint32_t nchunks;
  tubo__list_t free; /* requests to hand out */
} tubo__reqpool_t;

/* The blocking call this rank is in, as its public function set it (blocked.c): what a
 * wait that goes to sleep publishes, for tuborun to say when it stops the job. Process
 * memory: fn points at the call's name, comm at its communicator while it runs. */
typedef struct tubo__call {
  const char *fn;          /* NULL: no call named */
  const tubo_comm_t *comm; /* or NULL */
  int32_t peer, tag;       /* a rank of comm (or TUBO_ANY_SOURCE) by role; the tag */
  uint8_t role, has_tag;   /* TUBO__BLK_* of launch/jobctl.h; whether tag holds */
} tubo__call_t;

struct tubo__blocked;

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

  tubo__call_t call;             /* the blocking call in progress (tubo__call_enter) */
  struct tubo__blocked *blocked; /* where this rank says what it is blocked in, or NULL */
  int blocked_pub;               /* a wait published call there: the wait's end clears it */

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
  tubo__list_t selfchecks;     /* tubo__selfcheck_t, run by each health check */
  tubo__list_node_t live_link; /* in the list of this process's live worlds */
  struct tubo__topo *topo;     /* during tubo_init only, and only where tuborun did not
                                  say where this rank runs; else NULL */
  tubo__here_t here;           /* the machine's facts for this rank (topo.h) */
  int oversubscribed;          /* more ranks on this node than processing units */
  uint32_t adapt_period;       /* messages of a class per exploration (adapt.h) */
  int adapt_report;            /* print each peer's choices at the end (TUBO_SHM_ADAPT=2) */
  tubo__waitpol_t wait;        /* how a waiting rank spins, yields and sleeps */
  int sleep_ms;                /* longest sleep before looking for failures */
  /* Communicators (comm.c, ctxid.c). */
  int32_t *node_id;                    /* by world rank: its node (tubo__where_t's at[0]) */
  tubo__where_t where;                 /* where this rank runs */
  uint8_t cid_free[TUBO__CID_MAX / 8]; /* context ids this rank does not use (bit set) */
  tubo_comm_t *comms;                  /* allocated communicators, not yet freed */
  uint16_t *pipe_seq;                  /* pipes opened so far with each rank, or NULL */
  struct tubo__coll_req *colls;        /* non-blocking collectives in progress (coll/) */
};

/* ---- What a blocking call is blocked in (blocked.c) ---- */

/* Names the blocking call now in progress: fn (its public name), the peer of role
 * (TUBO__BLK_SOURCE, _DEST, _ROOT or _NOPEER) and tag, on comm. Returns the call it
 * replaces, which tubo__call_leave puts back. Process memory only: the shared record is
 * written when a wait goes to sleep (tubo__blocked_publish), so that calls that never
 * sleep pay a few stores. */
static inline tubo__call_t tubo__call_enter(tubo__world_t *w, const char *fn,
                                            const tubo_comm_t *comm, int role, int peer, int tag,
                                            int has_tag)
{
  tubo__call_t was = w->call;
  w->call = (tubo__call_t){fn, comm, peer, tag, (uint8_t)role, (uint8_t)has_tag};
  return was;
}
static inline void tubo__call_leave(tubo__world_t *w, tubo__call_t was)
{
  w->call = was;
}

/* A wait is going to sleep: publishes w->call as what this rank is blocked in, once per
 * wait (a nested wait's end clears it; the outer wait publishes again at its next sleep). */
void tubo__blocked_publish_slow(tubo__world_t *w);
static inline void tubo__blocked_publish(tubo__world_t *w)
{
  if (w->blocked != NULL && !w->blocked_pub)
    tubo__blocked_publish_slow(w);
}
/* A wait ended: clears what it published. */
void tubo__blocked_clear_slow(tubo__world_t *w);
static inline void tubo__blocked_clear(tubo__world_t *w)
{
  if (w->blocked_pub)
    tubo__blocked_clear_slow(w);
}

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
 * transport yet; call tubo__world_ready once they are added. here: what the launcher
 * found of where this rank runs, or NULL for the rank to load the topology itself.
 * Returns 0 or TUBO_ENOMEM. */
int tubo__world_new(int rank, int size, int local_size, const tubo__here_t *here,
                    tubo__world_t **out);
/* Ends the set-up of a world made by tubo__world_new, once its transports are added and
 * its node map (node_id) is set. Returns 0 or TUBO_ENOMEM. */
int tubo__world_ready(tubo__world_t *w);
/* Opens a transport of kind kind (transport.c's table) in w, over the ranks l describes:
 * its rank i is world rank l->world_of[i] (NULL: i itself). arg goes to the transport's
 * open (transport.h). Returns 0, TUBO_ELAUNCH (no such kind, or one of this kind is open
 * already) or the transport's error. */
int tubo__world_add_tport(tubo__world_t *w, enum tubo__transport_kind kind, tubo__launch_t *l,
                          const void *arg);
/* Adds s to the services w runs at each progress; removes it. */
void tubo__service_add(tubo__world_t *w, tubo__service_t *s);
/* Before a service that other ranks' calls wait on: has every transport keep services
 * running while the program is inside another library's calls (transport.h, serve).
 * Returns 0, or TUBO_ENOTSUP where one cannot and the program calls that library. */
int tubo__service_prepare(tubo__world_t *w);
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

/* Looks for failures in w (a rank that died, the job aborted, a worker that ended, a
 * forgery its self-checks find): the slow path of every wait in w. Returns 0, or why
 * waiting in w can no longer succeed (TUBO_EPEER, TUBO_EABORT, TUBO_ECORRUPT). */
int tubo__world_health(tubo__world_t *w);

/* Registers fn, which each health check of w runs with arg before its transports look
 * for failures (NULL: none). The maker of a world that watches processes itself registers
 * one: tubo_spawn's rank 0 reaps its workers there (launch/spawn.c). The engine knows
 * nothing else of what made its worlds. */
void tubo__world_set_watcher(tubo__world_t *w, tubo__watcher_fn fn, void *arg);
/* The arg w's watcher was registered with, if its watcher is fn; else NULL. */
void *tubo__world_watcher(const tubo__world_t *w, tubo__watcher_fn fn);
/* Adds c to the checks each health check of w runs (a check that fails breaks the job
 * with TUBO_ECORRUPT, tubo__job_corrupt); removes it (c may be on no list). */
void tubo__selfcheck_add(tubo__world_t *w, tubo__selfcheck_t *c);
void tubo__selfcheck_remove(tubo__world_t *w, tubo__selfcheck_t *c);

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

/* The error return path of public calls (errhandler.c): hands a failed call's error to
 * comm's handler (comm may be invalid: the world's, else the job's default serves) with a
 * message "fn: " + fmt's text (or the error's text when fmt is NULL), and returns err.
 * The handler may not return (TUBO_ERRORS_ARE_FATAL). */
int tubo__error(tubo_comm_t *comm, int err, const char *fn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), cold, noinline));
/* The handler in effect on comm, as tubo__error picks it. */
tubo_errhandler_fn *tubo__errh_of(const tubo_comm_t *comm);
/* tubo__error with the handler h, picked earlier (tubo__errh_of), for a communicator that
 * no longer passes the checks (a spawned one its process left); h hears comm as given. */
int tubo__error_with(tubo_errhandler_fn *h, tubo_comm_t *comm, int err, const char *fn,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6), cold, noinline));
/* Whether the handler in effect on comm (as tubo__error picks it) only returns. */
int tubo__error_returns(const tubo_comm_t *comm);
/* Returns rc, through tubo__error (the error's own text) when it is an error. */
static inline int tubo__error_ret(tubo_comm_t *comm, int rc, const char *fn)
{
  return __builtin_expect(rc != 0, 0) ? tubo__error(comm, rc, fn, NULL) : 0;
}

/* The error return path of the point-to-point calls (p2p.c): rc with the value that
 * caused it (peer, a rank of comm; tag; buf and len) to tubo__error. */
int tubo__p2p_error(const char *fn, tubo_comm_t *comm, int rc, int peer, int tag, const void *buf,
                    size_t len) __attribute__((cold, noinline));
static inline int tubo__p2p_error_ret(const char *fn, tubo_comm_t *comm, int rc, int peer, int tag,
                                      const void *buf, size_t len)
{
  return __builtin_expect(rc != 0, 0) ? tubo__p2p_error(fn, comm, rc, peer, tag, buf, len) : 0;
}

/* The collectives the library runs for itself on a user's communicator (coll_api.c): as
 * the public calls, but a failure only returns its code, so that the user's handler
 * hears of it from the public call that failed, not from these. */
int tubo__barrier(tubo_comm_t *comm);
int tubo__allreduce(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                    const tubo_op_t *op, tubo_comm_t *comm);

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
 * pointer they were given. Its errors only return (TUBO_ERRORS_RETURN): the public call
 * that used it reports them. */
void tubo__comm_view(const tubo_comm_t *c, uint16_t ctx, tubo_comm_t *out);
/* Ends a view: every tubo__comm_view is paired with one, before out's memory goes. */
void tubo__comm_view_end(tubo_comm_t *view);

/* The context of the next pipe between this rank and peer on comm: both ranks count the
 * pipes they open with each other, on any communicator, so they agree. Returns 0,
 * TUBO_ENOMEM, or TUBO_ETOOBIG when the two ranks have opened 32767 pipes already. */
int tubo__comm_pipe_ctx(tubo_comm_t *comm, int peer, uint16_t *ctx);

/* Communicators made from others (comm.c, comm_split.c). */
/* The comm rank of world rank wr, or -1 if it is not in c. */
int tubo__comm_rank_of_world(const tubo_comm_t *c, int wr);
/* A communicator of size ranks, this one rank, with its maps allocated (to_world to fill,
 * from_world all -1), not yet live. NULL when out of memory. */
tubo_comm_t *tubo__comm_alloc(tubo__world_t *w, int size, int rank);
/* Makes c live once its maps and context id (cid, level_cid) are set: its contexts, its
 * node map, its place in the registry. Returns 0 or TUBO_ENOMEM. */
int tubo__comm_publish(tubo_comm_t *c);
/* Frees c (live or not) and gives its context ids back. */
void tubo__comm_discard(tubo_comm_t *c);
/* Frees every communicator of w (at the world's end). */
void tubo__comm_free_all(tubo__world_t *w);
/* Builds c's node map from its ranks' nodes. Returns 0 or TUBO_ENOMEM. */
int tubo__comm_nodes_build(tubo_comm_t *c);
/* Whether c is an allocated communicator that is live (not followed). */
int tubo__comm_live(const tubo_comm_t *c);

/* Context ids (ctxid.c). */
/* Marks every id free but the world's (0) and those it keeps for its level splits. */
void tubo__cid_init(tubo__world_t *w);
/* Ids a new communicator takes: its own, then those it keeps for its first level splits. */
#define TUBO__CID_PER_COMM (1 + TUBO__NLEVELS)
/* Takes n ids: the lowest that are free in agreed (a mask of TUBO__CID_MAX bits, 1: free,
 * which every rank of the parent computed alike); ids[0] first. Returns 0, or
 * TUBO_ETOOBIG when fewer than n are free. */
int tubo__cid_take(tubo__world_t *w, const unsigned char *agreed, int n, uint16_t *ids);
/* This rank's mask of free ids, TUBO__CID_MAX / 8 bytes, for an agreement. */
void tubo__cid_mask(const tubo__world_t *w, unsigned char *mask);
/* Gives back the ids c holds: its own and those kept for level splits not made. */
void tubo__cid_release(tubo_comm_t *c);
/* Gives back one id. */
void tubo__cid_give(tubo__world_t *w, uint16_t id);

/* Requests (request.c). */
tubo_request_t *tubo__req_alloc(tubo__world_t *w);
void tubo__req_free(tubo__world_t *w, tubo_request_t *r);
tubo_request_t *tubo__req_lookup(tubo__world_t *w, uint32_t id);
void tubo__reqpool_fini(tubo__reqpool_t *p);
/* Makes the pool's first requests now, at start-up, rather than at the first call that
 * needs one (where the pages it maps would cost the program's first message). */
void tubo__reqpool_prepare(tubo__reqpool_t *p);
/* Whether r points at a request of pool p (without following it). */
int tubo__req_in_pool(const tubo__reqpool_t *p, const tubo_request_t *r);
/* Completes RTS send r (one waiting for its receiver to be done) with error, taking it
 * out of w->waitfin, which counts those still active: one completed already is left. */
void tubo__waitfin_complete(tubo__world_t *w, tubo_request_t *r, int error);
/* Send r, which waited for its FIN, is over: where its message was split (its RTS named a
 * control block, TUBO__RTS_SPLIT), its transport frees the block (send.c). */
void tubo__send_split_over(tubo__world_t *w, tubo_request_t *r);
/* Timed send r (TUBO__TIMED) completed: its time feeds its class's choice (send.c). */
void tubo__send_timed_done(tubo__world_t *w, tubo_request_t *r);
/* Prints, where TUBO_SHM_ADAPT=2 asked, what each peer's classes chose and measured, and
 * frees what they kept (send.c). */
void tubo__send_adapt_fini(tubo__world_t *w);
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

/* Point-to-point on a context of comm without checking anything (the collectives', whose
 * calls checked their arguments): as tubo_isend and tubo_irecv. Returns 0 or
 * TUBO_ENOMEM. A send with chan 1 keeps to the channel (not from the heap) where single
 * copy would take it: the sender's choice, as every protocol's (coll_shm_vforms.c). */
int tubo__isend_ctx_chan(tubo_comm_t *comm, uint16_t ctx, const void *buf, size_t len, int dest,
                         int tag, int chan, tubo_request_t **req);
int tubo__isend_ctx(tubo_comm_t *comm, uint16_t ctx, const void *buf, size_t len, int dest, int tag,
                    tubo_request_t **req);
int tubo__irecv_ctx(tubo_comm_t *comm, uint16_t ctx, void *buf, size_t cap, int source, int tag,
                    tubo_request_t **req);
/* Sends the loan whose data is at heap offset off (already given to dest's transport
 * rank) on comm's user context, as tubo_send with nothing checked: it ends once the RTS
 * is pushed. */
int tubo__send_loan(tubo_comm_t *comm, uint64_t off, size_t len, int dest, int tag);
/* tubo_recv_loan's receive on comm, its arguments but ptr checked: as tubo_recv, but a loan
 * that matches is taken without a copy, its address in *ptr. *ptr stays NULL where the
 * message that matches is no loan (it waits in the unexpected queue, where tubo_probe
 * finds it first) or source is TUBO_PROC_NULL. */
int tubo__recv_loan(tubo_comm_t *comm, int source, int tag, void **ptr, tubo_status_t *status);
/* Whether a request has completed; one that can no longer complete (its peer left) is
 * completed with TUBO_EPEER first. */
int tubo__req_poll(tubo_request_t *r);
/* Takes a pending request out of every queue and completes it with error. */
void tubo__req_cancel(tubo_request_t *r, int error);

/* Non-blocking collectives (coll/coll.c): advances those in progress; returns how many
 * completed, or an error. */
int tubo__coll_progress(tubo__world_t *w);
/* A COLL request: fails its collective with error; frees its collective's state. */
void tubo__coll_req_cancel(tubo_request_t *r, int error);
void tubo__coll_req_release(tubo_request_t *r);

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
