/* SPDX-License-Identifier: MIT */
/* Worlds under mpirun, in a build without MPI (mpi_world.h): never detected, and their
 * transport's table (transport.c) never opens. */
#include "config.h"

#include "coll/coll.h"
#include "mpi/mpi_world.h"
#include "transport.h"
#include "tubo.h"

int tubo__mpi_detect(void)
{
  return 0;
}

int tubo__mpi_program_size(void)
{
  return 0;
}

int tubo__mpi_world_create(tubo__world_t **out)
{
  (void)out;
  return TUBO_ENOTSUP;
}

static int mpi_none_open(tubo__world_t *w, tubo__launch_t *l, const void *arg, void **state,
                         tubo__tp_caps_t *caps)
{
  (void)w, (void)l, (void)arg, (void)state, (void)caps;
  return TUBO_ENOTSUP;
}

/* Only open is ever called: a transport that did not open is never used. */
static const tubo__tp_ops_t mpi_none_ops = {.name = "mpi", .open = mpi_none_open};

const tubo__tp_ops_t *tubo__mpi_tp_ops(void)
{
  return &mpi_none_ops;
}

/* No hierarchical collectives without MPI (coll/coll_hier.c). */
const tubo__coll_table_t *tubo__coll_hier(void)
{
  return NULL;
}
