/* SPDX-License-Identifier: MIT */
/* Communicator handles: the world, rank, size and what carries messages to a rank. */
#include "config.h"

#include <stdlib.h>

#include "world.h"

tubo_comm_t *tubo_comm_world(void)
{
  return tubo__comm_world_handle;
}

int tubo_comm_rank(const tubo_comm_t *comm, int *rank)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (rank == NULL)
    return TUBO_EINVAL;
  *rank = comm->rank;
  return 0;
}

int tubo_comm_size(const tubo_comm_t *comm, int *size)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (size == NULL)
    return TUBO_EINVAL;
  *size = comm->size;
  return 0;
}

int tubo_comm_transport(const tubo_comm_t *comm, int rank, const char **name)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (rank < 0 || rank >= comm->size)
    return TUBO_ERANK;
  if (name == NULL)
    return TUBO_EINVAL;
  tubo__world_t *w = comm->w;
  int wr = tubo__comm_world_rank(comm, rank);
  *name = wr == w->rank ? "self" : tubo__tport_of(w, wr)->ops->name;
  return 0;
}

int tubo__comm_pipe_ctx(tubo_comm_t *comm, int peer, uint16_t *ctx)
{
  if (comm->pipe_seq == NULL) {
    comm->pipe_seq = calloc((size_t)comm->size, sizeof *comm->pipe_seq);
    if (comm->pipe_seq == NULL)
      return TUBO_ENOMEM;
  }
  if (comm->pipe_seq[peer] >= 0x7fff)
    return TUBO_ETOOBIG;
  *ctx = (uint16_t)(TUBO__CTX_PIPE_BASE + comm->pipe_seq[peer]++);
  return 0;
}
