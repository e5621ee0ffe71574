/* SPDX-License-Identifier: MIT */
/* The barrier: a dissemination barrier over the communicator's internal context.
 *
 * In round k each rank signals rank + 2^k and waits for rank - 2^k, so that after
 * ceil(log2(size)) rounds every rank has heard, directly or not, from every other. It runs
 * over any transport, and its zero-byte messages cannot be confused with user traffic. */
#include "config.h"

#include "world.h"

int tubo_barrier(tubo_comm_t *comm)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  /* The communicator through its collective context, for the time of the barrier. */
  tubo_comm_t coll;
  tubo__comm_view(comm, comm->ctx_coll, &coll);
  int n = comm->size, me = comm->rank;
  for (int dist = 1, round = 0; dist < n && rc == 0; dist <<= 1, round++) {
    int to = (me + dist) % n, from = (me - dist + n) % n;
    tubo_request_t *r;
    if ((rc = tubo_irecv(NULL, 0, from, round, &coll, &r)) != 0)
      break;
    int src = tubo_send(NULL, 0, to, round, &coll);
    rc = tubo_wait(&r, TUBO_STATUS_IGNORE);
    if (src != 0)
      rc = src;
  }
  tubo__comm_view_end(&coll);
  return rc;
}
