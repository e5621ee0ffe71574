/* SPDX-License-Identifier: MIT */
/* The MPI twin of examples/pipeline -q, for the benchmark: on 3 ranks, rank 0 sends
 * 0..n-1 as one 8-byte message each to rank 1, which squares them for rank 2; an empty
 * message with tag MPIPIPE_TAG_END ends each stream (the protocol of the Open MPI anchor).
 * Rank 2 prints the same key=value line as the tubo example:
 *   mpi_pipeline items=N seconds=S items_per_s=R checksum=C expected=E check=ok
 * and exits with status 1 when the checksum differs from the closed form. */
#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MPIPIPE_TAG_ITEM = 1, MPIPIPE_TAG_END = 2 };

/* The sum of the squares of 0..n-1 modulo 2^64, with the exact divisions done first. */
static uint64_t mpipipe_sum_of_squares(uint64_t n)
{
  uint64_t f[3] = {n - 1, n, 2 * n - 1};
  if (n == 0)
    return 0;
  f[f[0] % 2 == 0 ? 0 : 1] /= 2;
  for (int k = 0; k < 3; k++)
    if (f[k] % 3 == 0) {
      f[k] /= 3;
      break;
    }
  return f[0] * f[1] * f[2];
}

static void mpipipe_send(const uint64_t *x, int count, int to, int tag)
{
  MPI_Send(x, count, MPI_UINT64_T, to, tag, MPI_COMM_WORLD);
}

/* Receives an item from rank from; returns its tag. */
static int mpipipe_recv(uint64_t *x, int from)
{
  MPI_Status st;
  MPI_Recv(x, 1, MPI_UINT64_T, from, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
  return st.MPI_TAG;
}

static int mpipipe_run(int rank, uint64_t n)
{
  uint64_t x = 0, sum = 0, got = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  if (rank == 0) {
    for (uint64_t i = 0; i < n; i++)
      mpipipe_send(&i, 1, 1, MPIPIPE_TAG_ITEM);
    mpipipe_send(&x, 0, 1, MPIPIPE_TAG_END);
    return 0;
  }
  int from = rank - 1;
  for (;;) {
    if (mpipipe_recv(&x, from) == MPIPIPE_TAG_END)
      break;
    if (rank == 1) {
      x *= x;
      mpipipe_send(&x, 1, 2, MPIPIPE_TAG_ITEM);
    } else {
      sum += x;
      got++;
    }
  }
  if (rank == 1) {
    mpipipe_send(&x, 0, 2, MPIPIPE_TAG_END);
    return 0;
  }
  double t = MPI_Wtime() - t0;
  uint64_t want = mpipipe_sum_of_squares(n);
  int ok = sum == want && got == n;
  printf("mpi_pipeline items=%" PRIu64 " seconds=%.6f items_per_s=%.0f checksum=%" PRIu64
         " expected=%" PRIu64 " check=%s\n",
         got, t, t > 0 ? (double)got / t : 0.0, sum, want, ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int rank, size, status = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  uint64_t n = 1000000;
  int bad = size != 3;
  for (int i = 1; i < argc && !bad; i++) {
    char *end = NULL;
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      n = strtoull(argv[++i], &end, 10);
      bad = end == argv[i] || *end != '\0' || n > (UINT64_C(1) << 32);
    } else
      bad = 1;
  }
  if (bad) {
    if (rank == 0)
      fprintf(stderr, "Usage: mpirun -n 3 mpi_pipeline [-n COUNT]   (COUNT <= 2^32)\n");
    status = 2;
  } else
    status = mpipipe_run(rank, n);
  MPI_Finalize();
  return status;
}
