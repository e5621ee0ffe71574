/* SPDX-License-Identifier: MIT */
/* The MPI transport (mpi_transport.c), opened by the MPI world (mpi_world.c). */
#ifndef TUBO_MPI_TRANSPORT_H
#define TUBO_MPI_TRANSPORT_H

#include <mpi.h>

#include "transport.h"

extern const tubo__tp_ops_t tubo__mpi_ops;

/* Opens the transport over comm, which it takes over (and frees at close); host holds the
 * ranks of comm on this host, node those that share memory with this one (node is part
 * of host); owns_mpi says that tubo initialized MPI and finalizes it at close. Sets the
 * single-copy threshold of every peer of w. Every rank of comm must call it. Returns 0
 * or an error. */
int tubo__mpi_tport_open(tubo__world_t *w, MPI_Comm comm, MPI_Comm host, MPI_Comm node,
                         int owns_mpi, void **state, tubo__tp_caps_t *caps);

/* Marks in shm[r] (one byte for each rank r of comm) the ranks MPI reaches through shared
 * memory: those of host (the ranks of comm on this host) that are not in node (this
 * rank's, which tubo's own shared memory serves), unless MPI's settings keep it from
 * using shared memory (mpi_locality.c). Returns 0 or an error. */
int tubo__mpi_shm_peers(MPI_Comm comm, MPI_Comm host, MPI_Comm node, unsigned char *shm);

#endif /* TUBO_MPI_TRANSPORT_H */
