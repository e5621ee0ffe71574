/* SPDX-License-Identifier: MIT */
/* The table of transports: the one place a transport is registered. Every world opens
 * its transports from here (tubo__world_add_tport), whichever way it was made. */
#include "config.h"

#include "mpi/mpi_world.h"
#include "transport.h"

extern const tubo__tp_ops_t tubo__shm_ops;  /* lib/shm/shm_transport.c */
extern const tubo__tp_ops_t tubo__pipe_ops; /* lib/pipe/pipe_transport.c */
/* The MPI transport (lib/mpi/mpi_world.h, tubo__mpi_tp_ops): lib/mpi/mpi_transport.c's,
 * in the MPI module once it is loaded (lib/mpi/mpi_load.c); until then, or in a build
 * without MPI (lib/mpi/mpi_none.c), a table that never opens. */

static const tubo__tp_ops_t *const tp_table[TUBO__TP_NKINDS] = {
    [TUBO__TP_SHM] = &tubo__shm_ops,
    [TUBO__TP_PIPE] = &tubo__pipe_ops,
};

const tubo__tp_ops_t *tubo__tp_lookup(enum tubo__transport_kind kind)
{
  if (kind == TUBO__TP_MPI)
    return tubo__mpi_tp_ops();
  return (unsigned)kind < TUBO__TP_NKINDS ? tp_table[kind] : NULL;
}
