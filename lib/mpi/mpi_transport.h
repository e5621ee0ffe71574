/* SPDX-License-Identifier: MIT */
/* The MPI transport (mpi_transport.c), opened by the MPI world (mpi_world.c). */
#ifndef TUBO_MPI_TRANSPORT_H
#define TUBO_MPI_TRANSPORT_H

#include <mpi.h>

#include "transport.h"

extern const tubo__tp_ops_t tubo__mpi_ops;

/* Opens the transport over comm, which it takes over (and frees at close); owns_mpi says
 * that tubo initialized MPI and finalizes it at close. Every rank of comm must call it.
 * Returns 0 or TUBO_ENOMEM. */
int tubo__mpi_tport_open(tubo__world_t *w, MPI_Comm comm, int owns_mpi, void **state,
                         tubo__tp_caps_t *caps);

#endif /* TUBO_MPI_TRANSPORT_H */
