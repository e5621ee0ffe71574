/* SPDX-License-Identifier: MIT */
/* Collectives: the arguments every algorithm gets, the table of algorithms a
 * communicator runs, and the engine that runs point-to-point algorithms as steps.
 *
 * The public calls (coll_api.c) check their arguments once, then call the function of
 * the communicator's table (chosen when the communicator is made: coll_select.c). A
 * table's function returns TUBO__COLL_DECLINE for arguments it does not serve, and the
 * point-to-point table (tubo__coll_p2p) takes the call: it serves everything, on every
 * transport. Adding an algorithm touches its own file and its table.
 *
 * A point-to-point algorithm is a step function over a tubo__coll_req_t: it posts sends
 * and receives on the communicator's internal context and returns; called again once
 * they completed, it goes on where it stopped (CO_BEGIN .. CO_END below), so the same
 * code runs a blocking call (waiting in the engine) and a non-blocking one (advanced by
 * every progress pass of the rank). */
#ifndef TUBO_COLL_H
#define TUBO_COLL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "op/op.h"
#include "world.h"

enum tubo__coll_kind {
  TUBO__C_BARRIER,
  TUBO__C_BCAST,
  TUBO__C_REDUCE,
  TUBO__C_ALLREDUCE,
  TUBO__C_GATHER,
  TUBO__C_GATHERV,
  TUBO__C_SCATTER,
  TUBO__C_SCATTERV,
  TUBO__C_ALLGATHER,
  TUBO__C_ALLGATHERV,
  TUBO__C_ALLTOALL,
  TUBO__C_ALLTOALLV,
  TUBO__C_REDUCE_SCATTER_BLOCK,
  TUBO__C_SCAN,
  TUBO__C_EXSCAN,
  TUBO__C_NKINDS
};

/* A collective's checked arguments. Counts and displacements are in elements. in_place
 * says that sbuf was TUBO_IN_PLACE (sbuf is then NULL: the data is in rbuf as the call
 * says). */
typedef struct tubo__coll_args {
  int kind;
  const void *sbuf;
  void *rbuf;
  int in_place;
  size_t count;                    /* the call's count (rcount for scatterv, scount for *gatherv) */
  const size_t *scounts, *sdispls; /* scatterv, alltoallv */
  const size_t *rcounts, *rdispls; /* gatherv, allgatherv, alltoallv */
  const tubo__type_info_t *t;
  const tubo_op_t *op;
  int root;
  const char *fn; /* the public call (errors, blocked.c), or NULL: the library's own */
} tubo__coll_args_t;

/* What a table function returns for arguments it leaves to the point-to-point table. */
#define TUBO__COLL_DECLINE 1

typedef int (*tubo__coll_fn_t)(tubo_comm_t *comm, const tubo__coll_args_t *a);

typedef struct tubo__coll_table {
  const char *name;
  /* Called on every rank of a new communicator, collectively: 0 if the table serves it,
   * TUBO__COLL_DECLINE if not (the same answer on every rank), or an error. */
  int (*setup)(tubo_comm_t *comm);
  /* Frees what setup made. */
  void (*teardown)(tubo_comm_t *comm);
  /* Blocking collectives by kind; NULL for those it leaves to the point-to-point table. */
  tubo__coll_fn_t fn[TUBO__C_NKINDS];
} tubo__coll_table_t;

/* The point-to-point table: every collective, over any transport (coll_p2p.c). */
extern const tubo__coll_table_t tubo__coll_p2p;
/* The hierarchical table for communicators across nodes under mpirun (coll_hier.c, in
 * the MPI module), or NULL where the module is not loaded (mpi_load.c) or the build has
 * no MPI (mpi_none.c). */
const tubo__coll_table_t *tubo__coll_hier(void);

/* Runs a collective whose arguments are checked, as the public calls do: blocking (req
 * NULL) through comm's table, or on the engine (coll_api.c). */
int tubo__coll_call(tubo_comm_t *comm, tubo__coll_args_t *a, tubo_request_t **req);

/* Chooses and sets up comm's table (comm->coll), collectively (coll_select.c). */
int tubo__coll_select(tubo_comm_t *comm);
/* Frees comm's table's state. */
void tubo__coll_deselect(tubo_comm_t *comm);

/* ---- The engine of point-to-point algorithms (coll.c) ---------------------------------- */

typedef struct tubo__coll_req tubo__coll_req_t;

/* An algorithm: advances c as far as it can without waiting. Sets c->done when finished
 * (c->error then tells how). */
typedef void (*tubo__coll_step_t)(tubo__coll_req_t *c);

struct tubo__coll_req {
  tubo_comm_t *comm;
  tubo__world_t *w;
  tubo__coll_args_t a;
  tubo__coll_step_t step;
  int pc, spc;  /* where the step function and its sub-step go on (CO_ macros) */
  uint32_t seq; /* the collective's number on comm: part of its tags */
  int error;
  int done;
  int truncated; /* a receive was truncated (counts disagree): TUBO_ETRUNC at the end */
  /* The algorithm's variables, kept between steps. */
  int i, j, k, n, mask, peer, vrank, pof2, rem, phase;
  size_t off, len;
  size_t lo[32], hi[32];
  unsigned char *tmp, *tmp2; /* scratch (malloc), freed at the end */
  /* When set: once the collective succeeded, keep_len bytes of keep from keep_off go to
   * keep_to (a result built in scratch); keep is freed at the end. */
  unsigned char *keep;
  void *keep_to;
  size_t keep_off, keep_len;
  tubo_request_t **rq; /* point-to-point requests in flight */
  int nrq, caprq;
  tubo_request_t *pub; /* the public request of a non-blocking call, or NULL */
  tubo__coll_req_t *next;
};

/* Makes the state of a collective on comm (its number taken), running step. Returns NULL
 * when out of memory. */
tubo__coll_req_t *tubo__coll_new(tubo_comm_t *comm, const tubo__coll_args_t *a,
                                 tubo__coll_step_t step);
/* Runs c to its end, blocking, and frees it; returns its result. */
int tubo__coll_run(tubo__coll_req_t *c);
/* Starts c as a non-blocking collective: *req gets its request. Returns 0 or an error
 * (c is then freed). */
int tubo__coll_start(tubo__coll_req_t *c, tubo_request_t **req);

/* Posts a send or receive of len bytes to or from comm rank peer, in phase step (0..255)
 * of c: its tag names c's number and the phase. Errors end c. */
void tubo__coll_send(tubo__coll_req_t *c, const void *buf, size_t len, int peer, int step);
void tubo__coll_recv(tubo__coll_req_t *c, void *buf, size_t len, int peer, int step);
/* A send of c that keeps to the channel where chan is 1 (world.h: tubo__isend_ctx_chan). */
void tubo__coll_send_chan(tubo__coll_req_t *c, const void *buf, size_t len, int peer, int step,
                          int chan);
/* Cancels r, a receive c posted that no message will match, and forgets it. */
void tubo__coll_unpost(tubo__coll_req_t *c, tubo_request_t *r);
/* Whether every request c posted has completed (they are then freed); a failed one ends
 * c with its error. */
int tubo__coll_reqs_done(tubo__coll_req_t *c);
/* Allocates c's scratch buffer (n bytes, at least 1); 0 or an error that ends c. */
int tubo__coll_scratch(tubo__coll_req_t *c, unsigned char **buf, size_t n);
/* Ends c with error (0: success). */
void tubo__coll_finish(tubo__coll_req_t *c, int error);

/* Resumable step functions: CO_BEGIN(c) ... CO_WAIT(c) ... CO_END(c). Variables that live
 * across a CO_WAIT are fields of c. CO_WAIT returns until every request posted so far has
 * completed; an error (set by tubo__coll_finish) ends the function at the next CO_WAIT.
 * A part shared by several algorithms is a sub-step function (int, resumed at c->spc):
 * CO_SUB_BEGIN .. CO_SUB_WAIT .. CO_SUB_END, which returns 1 once it is through, and
 * its caller runs it with CO_AWAIT(c, f(c)). At most one CO_ macro per source line. */
#define CO_RESUME_(c, pcf, ret, cond) \
  do {                                \
    (c)->pcf = __LINE__;              \
    __attribute__((fallthrough));     \
  case __LINE__:                      \
    if ((c)->done || !(cond))         \
      return ret;                     \
  } while (0)
#define CO_BEGIN(c)  \
  switch ((c)->pc) { \
  case 0:
#define CO_WAIT(c)      CO_RESUME_(c, pc, , tubo__coll_reqs_done(c))
#define CO_AWAIT(c, ex) CO_RESUME_(c, pc, , ex)
#define CO_END(c) \
  }               \
  tubo__coll_finish((c), 0)
#define CO_SUB_BEGIN(c) \
  switch ((c)->spc) {   \
  case 0:
#define CO_SUB_WAIT(c) CO_RESUME_(c, spc, 0, tubo__coll_reqs_done(c))
#define CO_SUB_END(c) \
  }                   \
  (c)->spc = 0;       \
  return 1

/* ---- Shared helpers of the algorithms (coll_util.c) ------------------------------------ */

/* memcpy that accepts a NULL buffer with nothing to copy: MPI allows a NULL buffer with a
 * count of 0, and memcpy does not. */
static inline void tubo__coll_copy(void *dst, const void *src, size_t n)
{
  if (n != 0)
    memcpy(dst, src, n);
}

/* Combines count elements: upper = lower op upper, lower holding the lower ranks' part (MPI's
 * order); the two do not overlap. */
static inline void tubo__coll_combine(const tubo__coll_args_t *a, const void *lower, void *upper,
                                      size_t count)
{
  tubo__op_apply(a->op, a->t, lower, upper, count);
}

/* Combines into lower: lower = lower op upper, through scratch when the operation is a
 * user's that is not commutative (it writes its second argument). */
void tubo__coll_combine_into_lower(const tubo__coll_args_t *a, void *lower, const void *upper,
                                   size_t count, void *scratch);

/* The canonical reduction tree over n parts (coll.h's top, tubo.h's collectives):
 * parts 2k and 2k + 1 for k < rem fold first, rem = n - pof2, leaving pof2 parts. The
 * part index v -> its virtual index in the power-of-two phase, or -1 when it folded into
 * its lower neighbour. */
static inline int tubo__coll_virt(int v, int rem)
{
  if (v < 2 * rem)
    return v % 2 ? -1 : v / 2;
  return v - rem;
}
/* The part that holds virtual index vi. */
static inline int tubo__coll_real(int vi, int rem)
{
  return vi < rem ? vi * 2 : vi + rem;
}
/* The largest power of two not above n (n >= 1). */
static inline int tubo__coll_pof2(int n)
{
  int p = 1;
  while (p * 2 <= n)
    p *= 2;
  return p;
}

#endif /* TUBO_COLL_H */
