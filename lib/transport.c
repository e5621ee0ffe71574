/* SPDX-License-Identifier: MIT */
/* The table of transports: the one place a transport is registered. Every world opens
 * its transports from here (tubo__world_add_tport), whichever way it was made. */
#include "config.h"

#include "transport.h"

extern const tubo__tp_ops_t tubo__shm_ops;  /* lib/shm/shm_transport.c */
extern const tubo__tp_ops_t tubo__pipe_ops; /* lib/pipe/pipe_transport.c */
/* lib/mpi/mpi_transport.c where configure found MPI; else lib/mpi/mpi_none.c's, which
 * never opens (no world under mpirun is made without MPI). */
extern const tubo__tp_ops_t tubo__mpi_ops;

static const tubo__tp_ops_t *const tp_table[TUBO__TP_NKINDS] = {
    [TUBO__TP_SHM] = &tubo__shm_ops,
    [TUBO__TP_PIPE] = &tubo__pipe_ops,
    [TUBO__TP_MPI] = &tubo__mpi_ops,
};

const tubo__tp_ops_t *tubo__tp_lookup(enum tubo__transport_kind kind)
{
  return (unsigned)kind < TUBO__TP_NKINDS ? tp_table[kind] : NULL;
}
