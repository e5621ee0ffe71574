/* SPDX-License-Identifier: MIT */
/* A model, in plain MPI, of how tubo's MPI transport takes messages in (lib/mpi/): a ring
 * of 32 persistent receives from any source and of any tag, taken in order (a blocking
 * receive waits for the next in MPI_Wait), a small message travelling as its bytes alone
 * with its tag in the MPI tag, copied out of the ring's buffer, the receive posted again
 * at the next call (ring_model.h). It measures the 8 B half round trip of that design
 * without tubo's engine above it, so that, beside bench/osu_mpi and tubo's osu_tubo across
 * pretend nodes, it tells what the design costs from what tubo adds (doc/mpi.md).
 *
 * With -d it models instead the blocking receive of the redesign doc/mpi.md lays out: no
 * ring, the receive posted from the peer with the message's tag straight into the
 * caller's buffer (MPI_Irecv), then tested until done (MPI_Test), with a look for the
 * peer's frames on the escape tag (MPI_Iprobe) every 64 tests, as a receive that must see
 * its peer leave would.
 *
 * Usage: mpirun -n 2 bench/experiments/mpi_ring [-d] [SIZE]   (SIZE: 1 to 1024 bytes, 8)
 * Rank 0 prints the line bench/osu.c prints:
 *   osu impl=mpi_ring test=latency size=8 iters=10000 half_rtt_ns=120.3 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring_model.h"

#define SMALL 1024
#define ITERS 10000
/* The escape tag of the redesign, and how many tests go between two looks at it. */
#define ESCAPE_TAG   1
#define ESCAPE_EVERY 64

/* The redesign's blocking receive of n bytes with tag from peer (the -d model). */
static void direct_recv(void *b, int n, int peer, int tag, MPI_Comm comm)
{
  MPI_Request q;
  int done = 0, seen = 0;
  MPI_Irecv(b, n, MPI_BYTE, peer, RING_MODEL_TAG | tag, comm, &q);
  for (unsigned k = 1; !done; k++) {
    MPI_Test(&q, &done, MPI_STATUS_IGNORE);
    if (!done && k % ESCAPE_EVERY == 0)
      MPI_Iprobe(peer, ESCAPE_TAG, comm, &seen, MPI_STATUS_IGNORE);
    if (seen)
      MPI_Abort(MPI_COMM_WORLD, 3); /* nothing is sent on it here */
  }
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int direct = argc > 1 && strcmp(argv[1], "-d") == 0;
  int rank, size, n = argc > 1 + direct ? atoi(argv[1 + direct]) : 8;
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
  if (!direct)
    ring_model_open(&ring, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  int skip = ITERS / 10, peer = 1 - rank;
  double t0 = 0;
  for (int i = 0; i < ITERS + skip; i++) {
    if (i == skip)
      t0 = MPI_Wtime();
    /* Context 0, tag 1, as tubo's 8 B messages of osu_tubo travel. */
    if (rank == 0)
      MPI_Send(buf, n, MPI_BYTE, peer, RING_MODEL_TAG | 1, MPI_COMM_WORLD);
    if (direct)
      direct_recv(buf, n, peer, 1, MPI_COMM_WORLD);
    else if (ring_model_recv(&ring, buf, n, peer) != 1)
      MPI_Abort(MPI_COMM_WORLD, 1);
    if (rank == 1)
      MPI_Send(buf, n, MPI_BYTE, peer, RING_MODEL_TAG | 1, MPI_COMM_WORLD);
  }
  double t = MPI_Wtime() - t0;
  if (rank == 0)
    printf("osu impl=%s test=latency size=%d iters=%d half_rtt_ns=%.1f\n",
           direct ? "mpi_direct" : "mpi_ring", n, ITERS, t / ITERS / 2 * 1e9);
  if (!direct)
    ring_model_close(&ring);
  free(buf);
  MPI_Finalize();
  return 0;
}
