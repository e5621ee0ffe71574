/* SPDX-License-Identifier: MIT */
/* Worlds under mpirun: shared memory inside each node, MPI between nodes. Where configure
 * found Open MPI, the core's mpi_load.c loads the MPI module (mpi_module.h: mpi_world.c,
 * mpi_transport.c) and passes these calls on to it; mpi_none.c elsewhere
 * (lib/Makefile.inc picks). */
#ifndef TUBO_MPI_WORLD_H
#define TUBO_MPI_WORLD_H

typedef struct tubo__world tubo__world_t;
typedef struct tubo__tp_ops tubo__tp_ops_t;

/* The MPI transport's frames carry at most this many payload bytes; messages of
 * TUBO__MPI_RNDV_SHM bytes or more to a peer MPI reaches through shared memory, and of
 * TUBO__MPI_RNDV_NET bytes or more to any other, go as an RTS and an MPI message of their
 * own, straight from and into the users' buffers (mpi_transport.c, mpi_locality.c). */
#define TUBO__MPI_FRAME_MAX (64u << 10)
#define TUBO__MPI_RNDV_SHM  (8u << 10)
#define TUBO__MPI_RNDV_NET  (TUBO__MPI_FRAME_MAX + 1)

/* Whether this process was started by an MPI launcher (mpirun) or has initialized MPI
 * itself, so that tubo_init should join the MPI job. Never true without MPI support. */
int tubo__mpi_detect(void);

/* MPI_COMM_WORLD's size when the program initialized MPI itself (and has not finalized
 * it), else 0; always 0 without MPI support. */
int tubo__mpi_program_size(void);

/* Joins the MPI job: initializes MPI unless the program did (and then finalizes it at
 * tubo_finalize), finds which ranks share this node (or makes pretend nodes of
 * TUBO_NODE_SIZE ranks), connects them through shared memory and every other rank
 * through MPI. World ranks are MPI's. Returns 0 or an error; TUBO_ENOTSUP without MPI. */
int tubo__mpi_world_create(tubo__world_t **out);

/* MPI_Init_thread(MPI_THREAD_SINGLE) under a watch (mpi_init_watch.c): when it has not
 * returned after TUBO_INIT_TIMEOUT seconds (a rank of the job never initialized MPI), the
 * process says so on standard error and exits with status 1. Returns MPI's code. */
int tubo__mpi_init_watched(int *provided);

/* The MPI transport's table (transport.c): the module's once loaded, else one that never
 * opens. */
const tubo__tp_ops_t *tubo__mpi_tp_ops(void);

#endif /* TUBO_MPI_WORLD_H */
