/* SPDX-License-Identifier: MIT */
/* The transport interface: how the matching engine moves frames (frame.h) between ranks.
 *
 * A transport is a table of functions over its own state. It delivers incoming frames
 * by calling tubo__deliver (engine.h) from its progress function, in the order each
 * peer sent them; engine.h is all of the engine it sees. Adding a transport means one
 * folder under lib/ with one table, a kind in launch.h, and a line in transport.c's table
 * of transports; every world opens its transports through that table
 * (tubo__world_add_tport). */
#ifndef TUBO_TRANSPORT_H
#define TUBO_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "launch/launch.h"
#include "tubo.h"

typedef struct tubo__world tubo__world_t;
struct tubo_request;

/* What a transport says of itself once open. */
typedef struct tubo__tp_caps {
  size_t frame_max; /* most payload bytes one frame can carry */
  int single_copy;  /* RTS frames work: peers can read each other's memory */
  size_t rndv_min;  /* messages of this size or more use RTS when single_copy; 0: the
                     * transport has set each peer's own (tubo__peer_t) */
  int self_fin;     /* it completes RTS sends itself (tubo__rts_sent): receivers send no FIN */
} tubo__tp_caps_t;

typedef struct tubo__tp_ops {
  const char *name;

  /* Joins the job l describes (l->rank of l->size; l->world_of maps its ranks to w's):
   * after it returns (on every rank) frames can be pushed to any peer. arg is what the
   * world's maker passes to this kind of transport (the MPI world: its communicators,
   * lib/mpi/mpi_transport.h), NULL for the others. Sets caps; where caps->rndv_min is left
   * 0, it has set each peer's threshold (tubo__tp_set_rndv). Returns 0 or an error. */
  int (*open)(tubo__world_t *w, tubo__launch_t *l, const void *arg, void **state,
              tubo__tp_caps_t *caps);

  /* Leaves the job and frees the state; peers still reading what was sent are safe. */
  void (*close)(void *state);

  /* Queues one frame for peer: f->len payload bytes from p1 (n1 bytes) then p2.
   * Returns 0, TUBO_EAGAIN when there is no room now (progress, then retry), or an error. */
  int (*push)(void *state, int peer, const tubo__frame_t *f, const void *p1, size_t n1,
              const void *p2, size_t n2);

  /* Fast path of a small send: what push does with the EAGER frame {ctx, tag, len} of
   * len bytes at buf (len at most frame_max and below the peer's RTS threshold), with no
   * frame to build. Returns 0, an error, or TUBO_EAGAIN when there is no room now (the
   * engine then queues the send); a transport whose sends wait for room themselves (as
   * MPI_Send does) never returns TUBO_EAGAIN. May be NULL (the engine pushes the frame). */
  int (*send_eager)(void *state, int peer, uint16_t ctx, int32_t tag, const void *buf, size_t len);

  /* Takes the message an RTS frame announced: copies its first n of total bytes, at addr
   * in peer's memory, into dst. id is the RTS's request id, which names the message where
   * the transport moves it apart from the frame (MPI). NULL where the transport has no
   * single copy. Returns 0 or an error. */
  int (*read)(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n, size_t total);

  /* Copies n bytes at src into peer's memory at addr, named as read names a buffer (an
   * address, or with TUBO__RTS_HEAP an offset in the shared heap; never a split message):
   * the shared-memory collectives' two-rank moves (coll_shm_big.c). NULL where the
   * transport cannot. Returns 0 or an error. */
  int (*write)(void *state, int peer, uint64_t addr, const void *src, size_t n);

  /* Whether write may copy into peer's own memory (an address, not the shared heap): 1
   * where the transport vouches that the process it would write into is the peer's (shm:
   * the launcher is among its nearest ancestors, so a reused pid is not taken for it), 0
   * where it would refuse with TUBO_ENOTSUP. NULL where write is NULL. */
  int (*writable)(void *state, int peer);

  /* Starts taking the whole message an RTS announced (id, n bytes, named addr as read
   * names it) into dst, for receive r, and returns 1: the transport calls
   * tubo__read_done(w, r, id, err) from its progress once it is there. Returns 0 where it
   * cannot (the engine calls read instead), or an error. May be NULL. */
  int (*read_start)(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n,
                    struct tubo_request *r);

  /* Forgets the read read_start began for r, which is being failed: once it returns, the
   * transport writes no more into r's buffer and never names r again. */
  void (*read_cancel)(void *state, struct tubo_request *r);

  /* The job broke on this rank (engine.h, tubo__job_break): the sends it fails from now on
   * give their buffers back to the application while peers may still be copying from
   * them. Tells the peers, so that a copy from this rank's memory that ends after this
   * fails instead of delivering what may have changed under it. May be NULL (a transport
   * whose peers never copy from this rank's buffers). */
  void (*revoke)(void *state);

  /* Fast path of a blocking receive, with tubo_recv's own arguments, so that tubo_recv
   * hands its call over in a tail call (then nothing is left to run between the
   * message's arrival and the caller's next call but this function's return). Called
   * only with the arguments checked, source a rank of comm other than this one that
   * this transport reaches, and nothing queued in the engine. If the next frame from
   * source is a whole message for comm's context and tag (or TUBO_ANY_TAG), copies it
   * into buf (at most cap bytes), consumes it and finishes the call
   * (tubo__recv_fast_done); else hands the call to tubo__recv_general. A transport whose
   * peers' frames come in one stream (MPI) hands a frame that is not the one wanted to
   * the engine first, and may wait for the next frame where nothing else could end the
   * caller's wait. May be NULL. */
  int (*recv)(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm, tubo_status_t *status);

  /* Fast path of tubo_recv_loan, called where recv would be: where the next frame from
   * source is a loan's RTS for comm's context and tag (or TUBO_ANY_TAG), takes the loan,
   * consumes the frame and finishes the call (tubo__recv_fast_done) with the loan's
   * address in *ptr; else hands the call to tubo__recv_loan_general. May be NULL. */
  int (*recv_loan)(int source, int tag, tubo_comm_t *comm, void **ptr, tubo_status_t *status);

  /* Polls for the next frame from peer, whatever it is, for at most budget nanoseconds,
   * taking nothing: returns 1 once it is there (the engine's next progress pass takes it),
   * 0 when the time is over. The engine calls it only where nothing else could end the
   * wait (engine.h, tubo__tp_recv_spin_ns). May be NULL. */
  int (*spin)(void *state, int peer, uint64_t budget);

  /* The job's shared heap, for objects all ranks map (NULL where ranks share no memory).
   * heap_alloc reserves size zeroed bytes and gives their offset; heap_free gives a block
   * back (any rank may free any block), with heap/heap.h's codes; heap_at maps an offset
   * to an address, or NULL when [off, off + size) is not in the heap. */
  int (*heap_alloc)(void *state, size_t size, uint64_t *off);
  int (*heap_free)(void *state, uint64_t off);
  void *(*heap_at)(void *state, uint64_t off, size_t size);
  /* Bytes of memory the job's shared segment holds now (NULL where there is none). */
  int (*mem_used)(void *state, uint64_t *bytes);

  /* Blocks of the shared heap that a rank owns (tubo_alloc_mem buffers, loans), which a
   * surviving rank returns when their owner leaves or dies (lib/shm/shm_loan.h); NULL
   * where ranks share no memory. heap_of: 1 with the offset of p in *off when
   * [p, p + n) lies in the heap, else 0. loan_alloc: an owned block of size bytes at *p.
   * loan_give: passes the block whose data is at off, of at least len bytes, which this rank
   * holds, to peer (this transport's number). loan_take: the address of the block at off,
   * of at least len bytes, that this rank holds, or NULL when it is no such block.
   * loan_accept: takes the block at off that a loan's RTS named (len bytes of it): its
   * address, or NULL when it is no such block. loan_free: frees a block this rank holds.
   * Errors: 0, TUBO_EINVAL (no such block), TUBO_ESHM (no room), TUBO_ENOTSUP (no heap). */
  int (*heap_of)(void *state, const void *p, size_t n, uint64_t *off);
  int (*loan_alloc)(void *state, size_t size, void **p);
  int (*loan_give)(void *state, uint64_t off, size_t len, int peer);
  void *(*loan_take)(void *state, uint64_t off, size_t len);
  void *(*loan_accept)(void *state, uint64_t off, size_t len);
  int (*loan_free)(void *state, uint64_t off);

  /* Large messages that both ranks copy, each a part (doc/large-messages.md); NULL where
   * ranks share no memory. split_begin: for a send of len bytes at buf to peer, which an
   * RTS names by *name (its offset in the heap, or its address for a single copy), makes a control
   * block that the sender's progress helps copy through, and gives the RTS's name for it
   * in *name: returns 1, or 0 where the message is not split (too short, no block free);
   * late: for a message longer than TUBO__SPLIT_MAX that the sender's online choice may
   * split, its request (else NULL): the block is made, and when the receiver has published
   * its buffer the transport asks tubo__send_split_pick (engine.h) whether this rank helps
   * copy it (split) or leaves the whole message to the receiver (whole).
   * split_end: the send that split_begin's name began is over (its FIN came, or it failed):
   * this rank copies no more of it, and the block is free again. */
  int (*split_begin)(void *state, int peer, const void *buf, size_t len, tubo_request_t *late,
                     uint64_t *name);
  void (*split_end)(void *state, uint64_t name);

  /* Delivers frames that have arrived (tubo__deliver); returns how many, or an error. */
  int (*progress)(void *state);

  /* Optional (NULL: nothing to do). The world is about to run services (world.h): where
   * the program may wait inside the library this transport sends through (MPI), the
   * transport has that library run tubo__tp_serve from its own progress, so that the
   * services go on while the program is in one of its calls. Returns 0, or TUBO_ENOTSUP
   * when it cannot and the program calls that library itself. */
  int (*serve)(void *state);

  /* Sleeps until a peer may have made work for this rank (a frame, room, a failure),
   * for at most timeout_ms. Arms the wake-up first, then calls ready(arg), which makes
   * one non-blocking attempt at progress and returns non-zero if it did anything; sleeps
   * only if it did nothing. */
  void (*sleep)(void *state, int timeout_ms, int (*ready)(void *), void *arg);

  /* Looks for failures: calls tubo__peer_gone for peers that left; returns TUBO_EABORT
   * if the job was aborted, else 0. Called on the slow path only. */
  int (*check)(void *state);

  /* Ends the job from this rank (tubo_abort): tells the launcher and every peer. */
  void (*abort)(void *state, int code);

  /* Records that this rank has finalized, so that peers waiting on it stop waiting. */
  void (*leave)(void *state);
} tubo__tp_ops_t;

/* The table of a kind of transport (transport.c), or NULL for a kind that is none. */
const tubo__tp_ops_t *tubo__tp_lookup(enum tubo__transport_kind kind);

#endif /* TUBO_TRANSPORT_H */
