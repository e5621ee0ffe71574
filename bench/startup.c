/* SPDX-License-Identifier: MIT */
/* Start-up and shut-down: init, one barrier, finalize, nothing else. One source, built
 * twice: against tubo (bench/startup_tubo) and, with -DSTARTUP_USE_MPI, against MPI
 * (bench/startup_mpi); bench/startup.sh times whole jobs of both, from the launcher's
 * start to its end, since that is what a user waits for.
 *
 * Exits 0 when every call succeeded, 1 otherwise. */
#include <stdio.h>

#ifdef STARTUP_USE_MPI
#include <mpi.h>
#define S_INIT(argc, argv) MPI_Init(argc, argv)
#define S_BARRIER()        MPI_Barrier(MPI_COMM_WORLD)
#define S_FINALIZE()       MPI_Finalize()
#define S_OK               MPI_SUCCESS
#else
#include <tubo.h>
#define S_INIT(argc, argv) tubo_init(argc, argv)
#define S_BARRIER()        tubo_barrier(TUBO_COMM_WORLD)
#define S_FINALIZE()       tubo_finalize()
#define S_OK               0
#endif

int main(int argc, char **argv)
{
  if (S_INIT(&argc, &argv) != S_OK) {
    fprintf(stderr, "startup: init failed\n");
    return 1;
  }
  int rc = S_BARRIER();
  if (S_FINALIZE() != S_OK || rc != S_OK) {
    fprintf(stderr, "startup: barrier or finalize failed\n");
    return 1;
  }
  return 0;
}
