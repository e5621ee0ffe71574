/* SPDX-License-Identifier: MIT */
/* The MPI transport as a module: tubo_mpi.so, installed in the package's library folder
 * and loaded by the core (mpi_load.c) only where a rank joins an MPI job, so that a rank
 * started by tuborun never loads MPI's libraries. The module calls the core through a
 * table of functions the core hands it when it loads it (mpi_core_calls.c), never through
 * exported symbols: the core keeps its internal functions hidden, and a program or test
 * that links the core statically serves the module the same way. Both sides check the
 * table's version and size. */
#ifndef TUBO_MPI_MODULE_H
#define TUBO_MPI_MODULE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coll/coll.h"
#include "op/op.h"
#include "topo.h"
#include "transport.h"
#include "world.h"

/* Bumped at every change of either table below. */
#define TUBO__MPI_MODULE_ABI 1u

/* The module's file name, and the symbol it exports: a tubo__mpi_module_fn. */
#define TUBO__MPI_MODULE_FILE  "tubo_mpi.so"
#define TUBO__MPI_MODULE_ENTRY "tubo_mpi_module"

/* What the core offers the module: its functions the MPI transport, the MPI world and
 * the hierarchical collectives call (their declarations in world.h, engine.h, coll.h,
 * coll_p2p.h, coll_shm.h, op.h, jobctl.h, os.h, settings.h, transport.h). */
typedef struct tubo__mpi_core {
  uint32_t abi;  /* TUBO__MPI_MODULE_ABI */
  uint32_t size; /* sizeof (struct tubo__mpi_core) */
  void (*cid_give)(tubo__world_t *w, uint16_t id);
  void (*cid_mask)(const tubo__world_t *w, unsigned char *mask);
  int (*cid_take)(tubo__world_t *w, const unsigned char *agreed, int n, uint16_t *ids);
  int (*coll_call)(tubo_comm_t *comm, tubo__coll_args_t *a, tubo_request_t **req);
  tubo__coll_req_t *(*coll_new)(tubo_comm_t *comm, const tubo__coll_args_t *a,
                                tubo__coll_step_t step);
  int (*coll_run)(tubo__coll_req_t *c);
  int (*coll_select)(tubo_comm_t *comm);
  tubo_comm_t *(*comm_alloc)(tubo__world_t *w, int size, int rank);
  void (*comm_discard)(tubo_comm_t *c);
  int (*comm_publish)(tubo_comm_t *c);
  int (*comm_rank_of_world)(const tubo_comm_t *c, int wr);
  int (*deliver)(tubo__world_t *w, int src, const tubo__frame_t *f, const void *payload, int must);
  int (*jobctl_create)(uint32_t nranks, const uint8_t jobid[16], int32_t launcher_pid,
                       struct tubo__jobctl **ctl);
  int (*os_random)(void *buf, size_t len);
  int (*os_shm_from)(pid_t pid, int fd);
  void (*p2p_allreduce)(tubo__coll_req_t *c);
  void (*read_done)(tubo__world_t *w, tubo_request_t *r, uint32_t sreq, int err);
  int (*recv_general)(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                      tubo_status_t *status);
  void (*rts_sent)(tubo__world_t *w, uint32_t sreq);
  uint64_t (*setting_u64)(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi);
  unsigned char *(*shmc_tree)(const tubo__coll_args_t *a, unsigned char **parts, int n,
                              size_t count);
  const tubo__tp_ops_t *(*tp_lookup)(enum tubo__transport_kind kind);
  int (*tp_serve)(tubo__world_t *w);
  const tubo__type_info_t *(*type_info)(tubo_type_t type);
  int (*wait_until)(tubo__world_t *w, int (*done)(void *), void *arg);
  int (*world_add_tport)(tubo__world_t *w, enum tubo__transport_kind kind, tubo__launch_t *l,
                         const void *arg);
  void (*world_free)(tubo__world_t *w);
  int (*world_new)(int rank, int size, int local_size, const tubo__here_t *here,
                   tubo__world_t **out);
  int (*world_ready)(tubo__world_t *w);
  tubo_op_t *op_band; /* TUBO_BAND */
} tubo__mpi_core_t;

/* What the module offers the core: the MPI world's entry points (mpi_world.h), the
 * transport's table and the hierarchical collectives' table (coll.h). */
typedef struct tubo__mpi_module {
  uint32_t abi;  /* TUBO__MPI_MODULE_ABI */
  uint32_t size; /* sizeof (struct tubo__mpi_module) */
  int (*detect)(void);
  int (*program_size)(void);
  int (*world_create)(tubo__world_t **out);
  const tubo__tp_ops_t *ops;
  const tubo__coll_table_t *hier;
} tubo__mpi_module_t;

/* In the module (mpi_core_calls.c): the core's table, and TUBO_BAND as the core has it
 * (the module has no copy of the predefined operations). */
extern const tubo__mpi_core_t *tubo__mpi_core;
tubo_op_t *tubo__mpi_op_band(void);

/* The module's entry: takes the core's table (kept for the life of the process) and
 * returns the module's, or NULL when it cannot serve this core (another version). */
typedef const tubo__mpi_module_t *tubo__mpi_module_fn(const tubo__mpi_core_t *core);

#endif /* TUBO_MPI_MODULE_H */
