/* SPDX-License-Identifier: MIT */
/* Worlds under mpirun, in a build without MPI (mpi.h): never detected. */
#include "config.h"

#include "mpi/mpi.h"
#include "tubo.h"

int tubo__mpi_detect(void)
{
  return 0;
}

int tubo__mpi_world_create(tubo__world_t **out)
{
  (void)out;
  return TUBO_ENOTSUP;
}
