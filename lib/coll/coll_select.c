/* SPDX-License-Identifier: MIT */
/* Which table of collectives a communicator runs: the first table, in the order below,
 * whose setup accepts the communicator. Chosen at the communicator's first blocking
 * collective (every rank calls it at the same point), so that a world or communicator
 * that never runs one costs nothing. */
#include "config.h"

#include "coll/coll.h"
#include "coll/coll_shm.h"

/* The tables, the most specialised first; the point-to-point one serves every
 * communicator. */
static const tubo__coll_table_t *const coll_tables[] = {
    &tubo__coll_shm,
    &tubo__coll_p2p,
};

int tubo__coll_select(tubo_comm_t *comm)
{
  /* Across nodes under mpirun, first of all: the hierarchical table. */
  const tubo__coll_table_t *hier = tubo__coll_hier();
  for (size_t i = hier != NULL ? 0 : 1; i <= sizeof coll_tables / sizeof coll_tables[0]; i++) {
    const tubo__coll_table_t *t = i == 0 ? hier : coll_tables[i - 1];
    int rc = t->setup != NULL ? t->setup(comm) : 0;
    if (rc == TUBO__COLL_DECLINE)
      continue;
    if (rc != 0)
      return rc;
    comm->coll = t;
    return 0;
  }
  comm->coll = &tubo__coll_p2p;
  return 0;
}

void tubo__coll_deselect(tubo_comm_t *comm)
{
  const tubo__coll_table_t *t = comm->coll;
  if (t != NULL && t->teardown != NULL)
    t->teardown(comm);
  comm->coll = NULL;
  comm->coll_state = NULL;
}
