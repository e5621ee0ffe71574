/* SPDX-License-Identifier: MIT */
/* The shared-memory transport's process-local state, shared by its files:
 * shm_transport.c (channels, progress, failures) and shm_inbox.c (inboxes, making
 * channels). */
#ifndef TUBO_SHM_STATE_H
#define TUBO_SHM_STATE_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "heap/heap.h"
#include "launch/jobctl.h"
#include "os/os.h"
#include "shm/shm_inbox.h"
#include "shm/shm_layout.h"
#include "shm/shm_loan.h"
#include "shm/shm_ring.h"
#include "shm/shm_split.h"

/* This rank's view of the channel it writes to a peer, and of the peer's inbox. */
typedef struct shm_tx {
  struct tubo__shm_slot *slots; /* NULL until the channel is made */
  unsigned char *data;
  struct tubo__shm_chan *chan;
  struct tubo__rankctl *peer_ctl;
  uint64_t tail;       /* next slot position to fill */
  uint64_t head_seen;  /* receiver's published head, as last read */
  uint32_t dtail;      /* next data ring byte to fill */
  uint32_t dhead_seen; /* receiver's published data head, as last read */
  int want_room;       /* this side's copy of chan->want_room */
  /* Before the channel: */
  uint64_t ib_head_seen; /* the peer's inbox head, as last read */
  uint64_t chan_off;     /* a channel made but not announced yet, or 0 */
  uint32_t ib_sent;      /* frames sent through the inbox */
  uint8_t denied;        /* the peer grants no more channels */
  uint8_t ib_waiting;    /* this rank found no room in the peer's inbox */
} shm_tx_t;

/* This rank's view of the channel a peer writes to it. */
typedef struct shm_rx {
  const struct tubo__shm_slot *slots; /* NULL until the peer announces its channel */
  const unsigned char *data;
  struct tubo__shm_chan *chan;
  struct tubo__rankctl *peer_ctl;
  uint64_t head;     /* next slot position to read */
  uint64_t head_pub; /* head as last published */
  uint32_t dhead;
  uint32_t dhead_pub;
  tubo__shm_ahead_t ahead; /* what the read-ahead knows (shm_ring.h) */
  int plain_spin; /* a blocking receive polls the next slot without PAUSE (TUBO_SPIN_PAUSE) */
} shm_rx_t;

/* Single copies a receiver reads together: the RTSs of one pass over a peer's frames
 * whose receives are posted, read in one process_vm_readv (shm_poll_peer), up to
 * TUBO__SHM_READS of them or TUBO__SHM_READS_BYTES (the sender hears of none before all are read).
 */
#define TUBO__SHM_READS       64
#define TUBO__SHM_READS_BYTES ((size_t)1 << 20)
/* One read waiting: the message's place in the sender and in the receive buffer, its RTS's
 * id and receive (NULL once failed). */
typedef struct shm_read {
  tubo__os_span_t span;
  uint32_t id;
  tubo_request_t *r;
  struct tubo__shm_split *c; /* shared in halves: its block; else NULL */
  uint8_t st;                /* SHM_RD_* */
  int err;                   /* how its back half's copy went */
} shm_read_t;
typedef struct shm_reads {
  int peer;          /* whose frames the pass takes; -1 outside one */
  int n;             /* reads waiting */
  size_t bytes;      /* and their bytes */
  int flushing;      /* shm_reads_flush is making them and completing their receives */
  int making;        /* whose, while flushing */
  uint64_t together; /* reads made in a call with others (tests) */
  shm_read_t rd[TUBO__SHM_READS];
} shm_reads_t;

/* What became of a read waiting in shm_reads_t: a plain single copy; a message shared in
 * halves (shm_split.h) not begun, its back half copied, its front half taken by this rank
 * or by the sender; one done (read and completed, or forgotten). */
enum { SHM_RD_PLAIN, SHM_RD_OPEN, SHM_RD_BACK, SHM_RD_MINE, SHM_RD_THEIRS, SHM_RD_DONE };

typedef struct shm_state {
  tubo__world_t *w;
  int rank, size;
  tubo__shm_layout_t L;
  uint32_t smask, dmask, quarter, dquarter, frame_max;
  shm_tx_t *tx;
  shm_rx_t *rx;
  int *poll; /* every peer, in order, self excluded */
  int npoll;
  int *live; /* the peers whose channel to this rank is made, in the order they came */
  int nlive;
  int rr;
  int asym_fence;      /* publishers need no fence of their own (os.h) */
  uint32_t prefetch;   /* slots ahead a sender prefetches for writing and a receiver for
                        * reading (shm_ring.h) */
  int watch_peers;     /* look at the peers' processes too (no launcher does) */
  uint64_t watched_at; /* when they were last looked at */
  int watch_next;      /* where the next look at them starts (shm_watch_peers) */
  uint64_t checked_at; /* when the channels were last checked (shm_check_channels) */
  uint64_t gone_wait;  /* since when a peer's end waits for the inbox to settle, or 0 */
  int32_t launcher;    /* the process that records the ranks' ends, or 0: none does */
  pid_t ancestor;      /* a process every rank of the job descends from */
  pid_t *pids;         /* as the control block said at start-up */
  uint8_t *pid_trust;  /* per peer: 0 not looked at yet, 1 its pid is of this job, 2 not */
  const int *world_of; /* rank of this transport -> world rank, or NULL: the same */
  struct tubo__jobctl *ctl;
  struct tubo__rankctl *me;
  /* This rank's inbox, as its reader. */
  struct tubo__shm_inbox *ib;
  struct tubo__shm_inbox_slot *ib_slots;
  uint64_t ib_head;     /* next position to read */
  uint64_t ib_head_pub; /* as last published */
  uint32_t ib_mask;
  uint64_t ib_stall_head;  /* 1 + the position found claimed and unfilled, or 0 */
  uint64_t ib_stall_since; /* since when */
  uint32_t fast_after;     /* frames through the inbox before a pair makes its channel */
  void *base;
  int fd;
  tubo__heap_t heap; /* the job's shared heap; heap.ctl is NULL where it has none */
  tubo__heap_fd_t heap_fd;
  tubo__loans_t loans;   /* owned blocks of the heap (shm_loan.h) */
  tubo__splits_t splits; /* control blocks of messages both ranks copy (shm_split.h) */
  shm_reads_t reads;     /* single copies read together */
} shm_state_t;

/* The world rank of this transport's rank p. */
static inline int shm_world(const shm_state_t *s, int p)
{
  return s->world_of ? s->world_of[p] : p;
}

/* Someone wrote into this job's memory what the protocol cannot leave there: the job is
 * broken, and every wait in it ends with TUBO_ECORRUPT (an abort, found first, stays the
 * reason). A rank that found it stops here; the ranks waiting for it learn that it left. */
static inline int shm_corrupt(const shm_state_t *s)
{
  tubo__job_corrupt(s->w);
  return TUBO_ECORRUPT;
}

/* Whether peer p's pid, as the control block gave it at start-up, names a process of this
 * job: the common ancestor of the ranks or one descending from it within a few
 * generations (a rank started through a wrapper such as `time`). Anyone can write the
 * control block: a pid that is not confirmed is never taken for the peer's. */
int tubo__shm_pid_trusted(shm_state_t *s, int p);

/* Whether this rank may write into peer p's own memory: single copy allowed in the job
 * and p's pid trusted (a pid reused by another process is never written into). */
int tubo__shm_peer_writable(shm_state_t *s, int p);

/* Whether peer p (this transport's number) left or died, as its record or, where the
 * ranks watch each other's processes, its process says (shm_transport.c). */
int tubo__shm_peer_lost(shm_state_t *s, int p);

/* After publishing, wakes the peer if it sleeps. The store must not pass the load of
 * sleeping: a full fence orders them, unless the job uses asymmetric fences, where a
 * rank going to sleep makes every CPU pass one instead (os.h), and this costs nothing. */
static inline void shm_wake_if_sleeping(const shm_state_t *s, struct tubo__rankctl *peer)
{
  if (s->asym_fence)
    atomic_signal_fence(memory_order_seq_cst);
  else
    atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(&peer->sleeping, memory_order_relaxed))
    tubo__bell_ring(peer);
}

/* Brings every cache line of [p, p + len) (mapped already) into this core's caches by
 * reading one word of each. Pages the kernel just cleared may have been cleared with
 * stores that bypass the caches (large string stores do on some processors): the first
 * lap of a ring then takes a trip to memory at every message, on both sides, which in a
 * ping-pong of 8 B messages doubled the hop (doc/benchmarks.md). Reading, never writing:
 * the peer may already be filling the memory. */
static inline void shm_warm(const void *p, size_t len)
{
  const char *c = p;
  uint32_t sink = 0;
  for (size_t at = 0; at + sizeof(uint32_t) <= len; at += TUBO__CACHELINE)
    sink += atomic_load_explicit((const _Atomic uint32_t *)(const void *)(c + at),
                                 memory_order_relaxed);
  __asm__ __volatile__("" : : "r"(sink));
}

static inline struct tubo__shm_inbox *shm_inbox_of(const shm_state_t *s, int r)
{
  return (struct tubo__shm_inbox *)(void *)((char *)s->base +
                                            tubo__shm_inbox_off(&s->L, (uint32_t)r));
}

/* Points the channel views of the pair (this rank, peer) at a channel's memory. */
void tubo__shm_tx_wire(shm_state_t *s, int peer, void *chan);
void tubo__shm_rx_wire(shm_state_t *s, int peer, void *chan);

/* Sends a frame to peer, which has no channel from this rank yet, through its inbox, or
 * makes the channel first. Returns 0 when the frame went through the inbox, 1 when the
 * channel is ready (the caller then sends through it), TUBO_EAGAIN when there is no room
 * now, or another negative error. */
int tubo__shm_inbox_send(shm_state_t *s, int peer, const tubo__frame_t *f, const void *p1,
                         size_t n1, const void *p2, size_t n2);

/* Makes the channel from this rank to every peer now and announces each in the peer's
 * inbox (start-up of a small job, shm_transport.c). A channel the heap cannot give now
 * comes later, when the pair talks. Call between two rendezvous, then
 * tubo__shm_inbox_take_wired after the second. */
void tubo__shm_inbox_wire_all(shm_state_t *s);

/* Takes the channels announced at the head of this rank's inbox, before any frame. */
void tubo__shm_inbox_take_wired(shm_state_t *s);

/* Takes every frame in this rank's inbox, in order, and the channels it announces.
 * Returns the frames taken, or a negative error. */
int tubo__shm_inbox_poll(shm_state_t *s);

/* How long a claimed position of an inbox may stay unfilled before the inbox is taken for
 * broken (someone else than a sender moved its tail). A sender holds a position for a few
 * instructions, but a crowded machine may keep it off the processor for seconds between
 * its claim and its fill. */
#define TUBO__SHM_INBOX_STALL_NS 10000000000ull

/* Whether positions claimed in this rank's inbox are not filled yet. */
int tubo__shm_inbox_unsettled(const shm_state_t *s);

/* The inbox's part of the periodic check: what someone else than the senders wrote
 * there (TUBO_ECORRUPT), counts to publish again, room to ask for again. */
int tubo__shm_inbox_check(shm_state_t *s);

#endif /* TUBO_SHM_STATE_H */
