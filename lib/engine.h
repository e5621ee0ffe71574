/* SPDX-License-Identifier: MIT */
/* The engine as its transports see it: every call a transport (lib/shm/, lib/pipe/,
 * lib/mpi/mpi_transport.c) makes into tubo's matching engine, and every hint it reads.
 *
 * A transport implements the table of transport.h and calls only what this header offers:
 * it hands over the frames that arrive, reports peers that left and reads it finished, sets
 * each peer's single-copy threshold at open, and reads the engine's hints to decide how
 * often to poll and whether it may wait inside its own library. The engine's own state
 * (its queues, requests, counts and failure state, world.h) stays the engine's: a transport
 * names none of its fields, which tests/check_layers.sh checks. The hints are inline
 * functions, so that the transports' fast paths cost what they cost when they read the
 * fields themselves.
 *
 * World ranks name peers here; a transport numbers its own peers (tpeer) as it likes and
 * maps them to world ranks itself (its launch description's world_of). */
#ifndef TUBO_ENGINE_H
#define TUBO_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "transport.h"
#include "tubo.h"
#include "world.h"

/* ---- Frames in ---- */

/* Takes one incoming frame from world rank src. Returns 1 if it was consumed, 0 if the
 * transport should keep it (and everything after it from src) for later, or a negative
 * error. With must set, an unwanted frame goes to the unexpected queue instead of being
 * kept. Frames from one peer must be handed over in the order that peer sent them. */
int tubo__deliver(tubo__world_t *w, int src, const tubo__frame_t *f, const void *payload, int must);

/* ---- Peers and the job ---- */

/* Records that world rank peer left (TUBO__GONE_LEFT) or died (TUBO__GONE_DIED, with its
 * exit status): its queued sends fail, and a death breaks every wait. */
void tubo__peer_gone(tubo__world_t *w, int peer, int how, int status);

/* Records that the job was aborted: every wait ends with TUBO_EABORT. */
void tubo__job_aborted(tubo__world_t *w);

/* Records that the job's shared state holds what no rank following the protocol could
 * leave there (a forged count, stamp, length or state): every wait ends with
 * TUBO_ECORRUPT from then on, unless the job was already broken (an abort or a death
 * found first stays the reason). */
void tubo__job_corrupt(tubo__world_t *w);

/* Marks the job broken on this rank with code (every wait ends with it); the first time,
 * first tells each transport (its revoke): the sends that fail from now on hand their
 * buffers back while peers may still be copying them, and a peer whose copy ends after
 * this fails that receive rather than deliver bytes that may have changed. */
void tubo__job_break(tubo__world_t *w, int code);

/* Whether peer is known to have left or died. */
static inline int tubo__tp_peer_is_gone(const tubo__world_t *w, int peer)
{
  return w->peers[peer].gone != 0;
}

/* Whether sends to peer wait for room in its channel: a transport that may empty the
 * channel from peer into memory (progress.c says when), or wake when room comes, asks. */
static inline int tubo__tp_peer_waits_room(const tubo__world_t *w, int peer)
{
  return !tubo__list_empty(&w->peers[peer].sq);
}

/* Gives the world, once the transport is open, the record of the job control block where
 * this rank says what it is blocked in (launch/jobctl.h); takes it back before the
 * memory goes. */
static inline void tubo__tp_set_blocked(tubo__world_t *w, struct tubo__blocked *b)
{
  w->blocked = b;
}
static inline void tubo__tp_unset_blocked(tubo__world_t *w, const struct tubo__blocked *b)
{
  if (w->blocked == b) {
    w->blocked = NULL;
    w->blocked_pub = 0;
  }
}

/* Sets, while the transport opens, the size from which messages to peer go by single copy
 * (RTS). A transport whose caps.rndv_min is 0 sets it for every peer it reaches. */
static inline void tubo__tp_set_rndv(tubo__world_t *w, int peer, size_t rndv_min)
{
  w->peers[peer].rndv_min = rndv_min;
  w->peers[peer].rndv_gate = rndv_min;
  w->peers[peer].rndv_chan = 0;
  w->peers[peer].rndv_least = 0;
}

/* Sets the same from a choice per size class (jobctl.h: TUBO__RNDV_KNOWN | the classes that
 * go by single copy): single copy from the smallest such class on, except in the larger
 * classes that stay on the channel. */
static inline void tubo__tp_set_rndv_classes(tubo__world_t *w, int peer, uint32_t cma)
{
  int c = 0;
  while (c < TUBO__RNDV_NSIZES && !(cma & (1u << c)))
    c++;
  tubo__tp_set_rndv(w, peer, c < TUBO__RNDV_NSIZES ? TUBO__RNDV_SIZE(c) : SIZE_MAX);
  w->peers[peer].rndv_chan = (uint8_t)(~cma & ((1u << TUBO__RNDV_NSIZES) - 1) & ~((1u << c) - 1));
  w->peers[peer].rndv_least = c == 0;
}

/* Lets the sender choose per size class, from the rates it observes, how messages to peer
 * that could go either way travel (adapt.h), starting from the choice set so far (which
 * rndv_min and rndv_chan go on saying): one exploration in period, and report says whether
 * to print what it chose at the end (the world's, the last call's); split: whether it also
 * chooses whether single copies longer than TUBO__ADAPT_SPLIT_FROM are split. Returns 0, or
 * TUBO_ENOMEM (the choice set so far then holds). */
int tubo__tp_adapt(tubo__world_t *w, int peer, uint32_t period, int report, int split);

/* Whether this node has more ranks than processing units (its ranks take turns). */
static inline int tubo__tp_oversubscribed(const tubo__world_t *w)
{
  return w->oversubscribed;
}

/* Records, while the transport opens, where world rank peer (this rank too) runs, as the
 * transport read it from what every rank can read alike. */
static inline void tubo__tp_set_place(tubo__world_t *w, int peer, const tubo__locality_t *loc)
{
  w->peers[peer].loc = *loc;
}

/* The state of the transport that reaches world rank peer (not this rank), and peer's
 * number within it. */
static inline void *tubo__tp_state_of(const tubo__world_t *w, int peer)
{
  return w->tports[w->peers[peer].tport].state;
}
static inline int tubo__tp_index_of(const tubo__world_t *w, int peer)
{
  return w->peers[peer].tpeer;
}

/* The machine's topology while the world is being made (NULL once ready, or where hwloc
 * could not load it), for a transport that places its memory near this rank. */
static inline struct tubo__topo *tubo__tp_topo(const tubo__world_t *w)
{
  return w->topo;
}

/* What this rank knows of the machine (topo.h), whether tuborun told it or it read it. */
static inline const tubo__here_t *tubo__tp_here(const tubo__world_t *w)
{
  return &w->here;
}

/* ---- Single copy ---- */

/* Whether [buf, buf + len) lies in the shared heap of the transport that reaches world
 * rank peer: then sets *name to what an RTS names it by (its offset, TUBO__RTS_HEAP set;
 * the reader copies it with memcpy) and returns 1; else 0 (send.c). */
int tubo__heap_name(tubo__world_t *w, int peer, const void *buf, size_t len, uint64_t *name);

/* Copies n bytes of world rank src's memory, named as an RTS names them (an address, or a
 * heap offset with TUBO__RTS_HEAP), into dst through src's transport; TUBO_ENOTSUP where
 * that transport can neither read src's memory nor reach its heap (match.c). */
int tubo__peer_read(tubo__world_t *w, int src, uint64_t addr, uint32_t id, void *dst, size_t n,
                    size_t total);
/* Copies n bytes at src into world rank dst's memory, named as tubo__peer_read names them
 * (the transport's write): 0, or TUBO_ENOTSUP where it has none, or its error. */
int tubo__peer_write(tubo__world_t *w, int dst, uint64_t addr, const void *src, size_t n);
/* Whether tubo__peer_write may copy into world rank dst's own memory (not the heap): 1 or
 * 0, the transport's writable. */
int tubo__peer_writable(tubo__world_t *w, int dst);

/* The message of the sender's request sreq, which the transport took in the background
 * (read_start), is in r's buffer (err 0) or could not be (err): tells the sender and
 * completes r. */
void tubo__read_done(tubo__world_t *w, tubo_request_t *r, uint32_t sreq, int err);

/* A transport that completes RTS sends itself (caps.self_fin) has sent the data of this
 * rank's send request sreq. */
void tubo__rts_sent(tubo__world_t *w, uint32_t sreq);

/* The receiver of send r, whose split the sender chooses late (split_begin's late), is
 * ready for it: returns 1 where the sender is to copy its part (split), 0 where the
 * receiver copies the whole message alone (send.c). */
int tubo__send_split_pick(tubo__world_t *w, tubo_request_t *r);

/* ---- A blocking receive's fast path (transport.h, recv) ---- */

/* The world a communicator lives in, and the context its user messages carry. */
static inline tubo__world_t *tubo__tp_comm_world(const tubo_comm_t *comm)
{
  return comm->w;
}
static inline uint16_t tubo__tp_comm_ctx(const tubo_comm_t *comm)
{
  return comm->ctx;
}

/* The general path of a blocking receive (tubo_recv's, p2p.c): checks its arguments
 * again, then waits for the message through the engine. A transport's recv hands it the
 * calls it does not finish itself. */
int tubo__recv_general(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                       tubo_status_t *status);
/* The general path of tubo_recv_loan's receive (p2p.c, tubo__recv_loan): a transport's
 * recv_loan hands it the calls it does not finish itself. */
int tubo__recv_loan_general(int source, int tag, tubo_comm_t *comm, void **ptr,
                            tubo_status_t *status);

/* Finishes a blocking receive a transport's recv took on its fast path: len bytes came
 * with tag, of which at most cap were copied. Counts it, fills status (if not NULL) and
 * returns what tubo_recv returns. */
static inline int tubo__recv_fast_done(tubo__world_t *w, int source, int32_t tag, size_t len,
                                       size_t cap, tubo_status_t *status)
{
  int rc = len > cap ? TUBO_ETRUNC : 0;
  w->fast_recvs++;
  if (status != NULL) {
    status->source = source;
    status->tag = tag;
    status->length = len;
    status->error = rc;
  }
  return rc;
}

/* ---- Hints: how to poll, and whether to wait ---- */

/* Whether the engine polls other transports besides this one: a transport whose polls
 * cost much may then poll itself less often while it is quiet. */
static inline int tubo__tp_polled_with_others(const tubo__world_t *w)
{
  return w->nact > 1;
}

/* Whether the current wait can only be finished by another transport than the one whose
 * state is state (a blocking call on a peer that transport reaches): this one may then
 * poll itself rarely until the wait ends. */
static inline int tubo__tp_wait_is_elsewhere(const tubo__world_t *w, const void *state)
{
  return w->wait_only != NULL && w->wait_only != state;
}

/* The world rank the current blocking call waits on (tubo__wait_peer), or -1: any, or
 * none. A transport that watches its peers' processes itself looks at this one first. */
static inline int tubo__tp_wait_peer(const tubo__world_t *w)
{
  return w->wait_peer;
}

/* The longest a wait sleeps before it looks for failures again (TUBO_SLEEP_MS), in
 * milliseconds: a transport checks what a forged value could hold for ever this often. */
static inline int tubo__tp_sleep_ms(const tubo__world_t *w)
{
  return w->sleep_ms;
}

/* Requests completed so far in w: a transport that takes many frames in one progress
 * call stops once this moves, so that the waiter sees its request done first. */
static inline uint64_t tubo__tp_completions(const tubo__world_t *w)
{
  return w->completions;
}

/* How stuck the current wait is: 0, TUBO__STALLED (it found nothing to do and sleeps) or
 * TUBO__STALLED_LONG. A stalled rank empties channels whose sender waits for room;
 * stalled for long, it takes every frame (progress.c explains why). */
static inline int tubo__tp_stalled(const tubo__world_t *w)
{
  return w->stalled;
}

/* Whether, in a blocking call on world rank peer, nothing but the next frame this rank's
 * only transport brings could end the wait: no other transport is polled, no send waits
 * for room or for its receiver, no service runs, the job is whole and peer is still in it.
 * Such a transport may then wait for that frame inside its own library (MPI_Wait). */
static inline int tubo__tp_only_frames_end_wait(const tubo__world_t *w, int peer)
{
  return w->nact == 1 && w->sq_peers == 0 && w->waitfin == 0 && tubo__list_empty(&w->services) &&
         !w->broken && !w->peers[peer].gone;
}

/* The world's wait policy (waitpol.h), for a transport's own waits for a peer. */
static inline const tubo__waitpol_t *tubo__tp_waitpol(const tubo__world_t *w)
{
  return &w->wait;
}

/* How long, in nanoseconds, a wait for a receive from world rank peer (a blocking
 * receive's fast path, or a wait on a posted one) may poll that peer's channel alone
 * before the engine's general wait (0: not at all): where ranks have a processing unit
 * each and nothing but the next frame from peer could end the wait
 * (tubo__tp_only_frames_end_wait, and no non-blocking collective in progress), a quarter
 * of the spin the general wait starts from (TUBO_SPIN_NS, not what it grew to: waitpol.h).
 * The general wait takes over after it, so that frames from other peers wait at most that
 * long. */
static inline uint64_t tubo__tp_recv_spin_ns(const tubo__world_t *w, int peer)
{
  if (w->wait.shared || w->colls != NULL || !tubo__tp_only_frames_end_wait(w, peer))
    return 0;
  return w->wait.spin_min / 4;
}

/* From inside another library's progress (the MPI transport's hook, while the program
 * waits in an MPI call of its own, outside tubo): one pass of progress, running the
 * world's services, where it has any and none is running. Returns how much it did. */
int tubo__tp_serve(tubo__world_t *w);

#endif /* TUBO_ENGINE_H */
