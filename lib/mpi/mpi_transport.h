/* SPDX-License-Identifier: MIT */
/* The MPI transport (mpi_transport.c), opened by the MPI world (mpi_world.c) through the
 * table of transports (transport.c), as every transport is. */
#ifndef TUBO_MPI_TRANSPORT_H
#define TUBO_MPI_TRANSPORT_H

#include <mpi.h>

typedef struct tubo__world tubo__world_t;

/* What the MPI world passes to the transport's open (transport.h, arg). The launch
 * description names this rank and the job's size, both MPI's; the transport takes comm
 * over (and frees it at close) when it opens. host holds the ranks of comm on this host,
 * node those that share memory with this one (node is part of host); owns_mpi says that
 * tubo initialized MPI and finalizes it at close. The transport sets the single-copy
 * threshold of every peer. Every rank of comm must open it. */
typedef struct tubo__mpi_open_arg {
  MPI_Comm comm, host, node;
  int owns_mpi;
} tubo__mpi_open_arg_t;

/* Marks in shm[r] (one byte for each rank r of comm) the ranks MPI reaches through shared
 * memory: those of host (the ranks of comm on this host) that are not in node (this
 * rank's, which tubo's own shared memory serves), unless MPI's settings keep it from
 * using shared memory (mpi_locality.c). Returns 0 or an error. */
int tubo__mpi_shm_peers(MPI_Comm comm, MPI_Comm host, MPI_Comm node, unsigned char *shm);

/* The communicator the transport's frames travel on (tubo's duplicate of
 * MPI_COMM_WORLD): world ranks are its ranks. */
MPI_Comm tubo__mpi_tport_comm(void *state);
/* A duplicate of it where no receive of the transport waits, for MPI's own collectives. */
MPI_Comm tubo__mpi_tport_coll_comm(void *state);

/* How deep this process is in tubo's own calls into MPI (mpi_hook.c): the transport's
 * functions and the MPI collectives count themselves in, so that MPI's progress runs
 * tubo's only from the program's own MPI calls. */
extern int tubo__mpi_depth;
static inline void tubo__mpi_enter(void)
{
  tubo__mpi_depth++;
}
static inline void tubo__mpi_leave(void)
{
  tubo__mpi_depth--;
}

/* Has MPI's progress run w's services (tubo__tp_serve) while the program sits in an MPI
 * call of its own, where this MPI lets tubo (Open MPI) and TUBO_MPI_SERVE does not say 0.
 * Returns 0, or TUBO_ENOTSUP where it cannot and the program initialized MPI itself
 * (owns_mpi 0). */
int tubo__mpi_hook_arm(tubo__world_t *w, int owns_mpi);
/* Ends it for w, before w's MPI communicators go (mpi_finalized: MPI is finalized, and
 * has forgotten the hook itself). */
void tubo__mpi_hook_disarm(tubo__world_t *w, int mpi_finalized);

/* MPI_Test(r, flag), counted in tubo's MPI calls, without the yield of the core that Open
 * MPI's progress makes when it finds nothing to do where it thinks ranks share cores
 * (opal_progress_set_yield_when_idle, found at run time; another MPI tests as it does):
 * for a wait that yields between its tests by tubo's own policy (waitpol.h), which a
 * second yield per test would only slow down. Returns MPI_Test's code. */
int tubo__mpi_test_noyield(MPI_Request *r, int *flag);

#endif /* TUBO_MPI_TRANSPORT_H */
