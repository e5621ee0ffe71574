/* SPDX-License-Identifier: MIT */
/* A model, in plain MPI, of how tubo's MPI transport takes messages in (lib/mpi/): a ring
 * of 32 persistent receives from any source and of any tag, taken in order (a blocking
 * receive waits for the next in MPI_Wait), a small message travelling as its bytes alone
 * with its tag in the MPI tag, copied out of the ring's buffer, the receive posted again
 * at the next call (bench/ring_model.h). It measures the 8 B half round trip of that design without
 * tubo's engine above it, so that bench/run_mpi.sh can tell what the design costs from what tubo
 * adds (doc/mpi.md).
 *
 * Usage: mpirun -n 2 bench/mpi_ring [SIZE]   (SIZE up to 1024 bytes, default 8)
 * Rank 0 prints the line bench/osu.c prints:
 *   osu impl=mpi_ring test=latency size=8 iters=10000 half_rtt_ns=120.3 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "ring_model.h"

#define SMALL 1024
#define ITERS 10000

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int rank, size, n = argc > 1 ? atoi(argv[1]) : 8;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size != 2 || n < 1 || n > SMALL) {
    if (rank == 0)
      fprintf(stderr, "mpi_ring: needs 2 ranks and a size of 1 to %d bytes\n", SMALL);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  unsigned char *buf = calloc(1, SMALL);
  if (buf == NULL)
    MPI_Abort(MPI_COMM_WORLD, 1);
  ring_model_t ring;
  ring_model_open(&ring, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  int skip = ITERS / 10, peer = 1 - rank;
  double t0 = 0;
  for (int i = 0; i < ITERS + skip; i++) {
    if (i == skip)
      t0 = MPI_Wtime();
    /* Context 0, tag 1, as tubo's 8 B messages of osu_tubo travel. */
    if (rank == 0)
      ring_model_send(&ring, buf, n, peer, 1);
    if (ring_model_recv(&ring, buf, n, peer) != 1)
      MPI_Abort(MPI_COMM_WORLD, 1);
    if (rank == 1)
      ring_model_send(&ring, buf, n, peer, 1);
  }
  double t = MPI_Wtime() - t0;
  if (rank == 0)
    printf("osu impl=mpi_ring test=latency size=%d iters=%d half_rtt_ns=%.1f\n", n, ITERS,
           t / ITERS / 2 * 1e9);
  ring_model_close(&ring);
  free(buf);
  MPI_Finalize();
  return 0;
}
