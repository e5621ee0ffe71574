/* SPDX-License-Identifier: MIT */
/* A model, in plain MPI, of how tubo's MPI transport takes messages in (lib/mpi/): a ring
 * of 8 persistent receives from any source and of any tag, taken in order (a blocking
 * receive waits for the next in MPI_Wait), a small message travelling as its bytes alone
 * with its tag in the MPI tag, copied out of the ring's buffer, the receive posted again
 * at the next call. It measures the 8 B half round trip of that design without tubo's engine above
 * it, so that bench/run_mpi.sh can tell what the design costs from what tubo adds (doc/mpi.md).
 *
 * Usage: mpirun -n 2 bench/mpi_ring [SIZE]   (SIZE up to 1024 bytes, default 8)
 * Rank 0 prints the line bench/osu.c prints:
 *   osu impl=mpi_ring test=latency size=8 iters=10000 half_rtt_ns=120.3 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING  8
#define SMALL 1024
#define RCAP  (16 + 65536)
#define ITERS 10000
/* The MPI tag of a headerless frame of context 0 and tag 1. */
#define TAG (0x40000000 | 1)

static unsigned char *ring_buf[RING];
static MPI_Request ring_req[RING];
static unsigned ring_head, ring_unposted;

static void ring_send(const unsigned char *b, int n, int peer)
{
  MPI_Send(b, n, MPI_BYTE, peer, TAG, MPI_COMM_WORLD);
}

/* Waits for the ring's next receive, as a blocking receive of tubo's does where MPI is
 * all it waits on. */
static void ring_recv(unsigned char *b, int cap)
{
  for (; ring_unposted > 0; ring_unposted--)
    MPI_Start(&ring_req[(ring_head - ring_unposted) % RING]);
  unsigned i = ring_head % RING;
  int len = 0;
  MPI_Status st;
  MPI_Wait(&ring_req[i], &st);
  ring_head++;
  ring_unposted++;
  MPI_Get_count(&st, MPI_BYTE, &len);
  if (st.MPI_TAG != TAG || len < 0 || len > cap)
    MPI_Abort(MPI_COMM_WORLD, 1);
  memcpy(b, ring_buf[i], (size_t)len);
}

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
  /* One allocation, each buffer shifted by 5 cache lines, as the transport places them. */
  size_t stride = ((RCAP + 4095) & ~(size_t)4095) + 5 * 64;
  unsigned char *mem = malloc(RING * stride);
  unsigned char *buf = calloc(1, SMALL);
  if (mem == NULL || buf == NULL)
    MPI_Abort(MPI_COMM_WORLD, 1);
  for (int i = 0; i < RING; i++) {
    ring_buf[i] = mem + (size_t)i * stride;
    MPI_Recv_init(ring_buf[i], RCAP, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                  &ring_req[i]);
    MPI_Start(&ring_req[i]);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  int skip = ITERS / 10;
  double t0 = 0;
  for (int i = 0; i < ITERS + skip; i++) {
    if (i == skip)
      t0 = MPI_Wtime();
    if (rank == 0) {
      ring_send(buf, n, 1);
      ring_recv(buf, n);
    } else {
      ring_recv(buf, n);
      ring_send(buf, n, 0);
    }
  }
  double t = MPI_Wtime() - t0;
  if (rank == 0)
    printf("osu impl=mpi_ring test=latency size=%d iters=%d half_rtt_ns=%.1f\n", n, ITERS,
           t / ITERS / 2 * 1e9);
  /* The ring's receives still posted are taken back before MPI ends. */
  for (; ring_unposted > 0; ring_unposted--)
    MPI_Start(&ring_req[(ring_head - ring_unposted) % RING]);
  for (int i = 0; i < RING; i++) {
    MPI_Cancel(&ring_req[i]);
    MPI_Wait(&ring_req[i], MPI_STATUS_IGNORE);
    MPI_Request_free(&ring_req[i]);
  }
  free(mem);
  free(buf);
  MPI_Finalize();
  return 0;
}
