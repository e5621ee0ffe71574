/* SPDX-License-Identifier: MIT */
/* The MPI module's entry (mpi_module.h): the one symbol tubo_mpi.so exports. */
#include "config.h"

#include "mpi/mpi_module.h"
#include "mpi/mpi_world.h"

extern const tubo__tp_ops_t tubo__mpi_ops;                    /* mpi_transport.c */
extern const tubo__coll_table_t *const tubo__coll_hier_table; /* coll/coll_hier.c */

TUBO_EXPORT const tubo__mpi_module_t *tubo_mpi_module(const tubo__mpi_core_t *core);

const tubo__mpi_module_t *tubo_mpi_module(const tubo__mpi_core_t *core)
{
  static tubo__mpi_module_t mod;
  if (core == NULL || core->abi != TUBO__MPI_MODULE_ABI || core->size != sizeof *core)
    return NULL;
  tubo__mpi_core = core;
  mod.abi = TUBO__MPI_MODULE_ABI;
  mod.size = sizeof mod;
  mod.detect = tubo__mpi_detect;
  mod.program_size = tubo__mpi_program_size;
  mod.world_create = tubo__mpi_world_create;
  mod.ops = &tubo__mpi_ops;
  mod.hier = tubo__coll_hier_table;
  return &mod;
}
