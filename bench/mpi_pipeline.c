/* SPDX-License-Identifier: MIT */
/* The MPI twin of examples/pipeline -q, for the benchmark: on 3 ranks, rank 0 sends
 * 0..n-1 as one 8-byte message each to rank 1, which squares them for rank 2; an empty
 * message with tag MPIPIPE_TAG_END ends each stream (the protocol of the Open MPI anchor).
 * With -r it moves the items the way tubo's MPI transport does (lib/mpi/), without tubo's
 * engine above it: each item is its bytes alone with tubo's context and tag in the MPI
 * tag, on a communicator of its own, received through a ring of 8 persistent receives
 * from any source and of any tag, taken in order (waiting in MPI_Wait), copied out, and
 * posted again at the next receive. Rank 2 prints the same key=value line as the tubo
 * example:
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

/* The ring of -r: its receives, their buffers, the next to take, those to post again. */
#define MPIPIPE_RING  8
#define MPIPIPE_RCAP  (16 + 65536) /* as tubo's: a header and the largest frame */
#define MPIPIPE_TAG_C 0x40000000   /* a headerless frame of context 0 */
static int mpipipe_ring_on;
static MPI_Comm mpipipe_comm;
static unsigned char *mpipipe_buf[MPIPIPE_RING];
static MPI_Request mpipipe_req[MPIPIPE_RING];
static unsigned mpipipe_head, mpipipe_unposted;

static void mpipipe_ring_open(void)
{
  MPI_Comm_dup(MPI_COMM_WORLD, &mpipipe_comm);
  for (int i = 0; i < MPIPIPE_RING; i++) {
    /* Shifted by 5 cache lines each, as tubo's are, so as not to share one L1 set. */
    mpipipe_buf[i] = aligned_alloc(64, ((MPIPIPE_RCAP + 4095) & ~4095) + 320);
    if (mpipipe_buf[i] == NULL)
      MPI_Abort(MPI_COMM_WORLD, 2);
    MPI_Recv_init(mpipipe_buf[i], MPIPIPE_RCAP, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, mpipipe_comm,
                  &mpipipe_req[i]);
    MPI_Start(&mpipipe_req[i]);
  }
}

static void mpipipe_ring_close(void)
{
  for (int i = 0; i < MPIPIPE_RING; i++) {
    int done = 0;
    MPI_Test(&mpipipe_req[i], &done, MPI_STATUS_IGNORE);
    if (!done) {
      MPI_Cancel(&mpipipe_req[i]);
      MPI_Wait(&mpipipe_req[i], MPI_STATUS_IGNORE);
    }
    MPI_Request_free(&mpipipe_req[i]);
    free(mpipipe_buf[i]);
  }
  MPI_Comm_free(&mpipipe_comm);
}

static void mpipipe_send(const uint64_t *x, int count, int to, int tag)
{
  if (mpipipe_ring_on)
    MPI_Send(x, count * 8, MPI_BYTE, to, MPIPIPE_TAG_C | tag, mpipipe_comm);
  else
    MPI_Send(x, count, MPI_UINT64_T, to, tag, MPI_COMM_WORLD);
}

/* Receives an item from rank from; returns its tag. */
static int mpipipe_recv(uint64_t *x, int from)
{
  MPI_Status st;
  if (!mpipipe_ring_on) {
    MPI_Recv(x, 1, MPI_UINT64_T, from, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    return st.MPI_TAG;
  }
  for (; mpipipe_unposted > 0; mpipipe_unposted--)
    MPI_Start(&mpipipe_req[(mpipipe_head - mpipipe_unposted) % MPIPIPE_RING]);
  unsigned i = mpipipe_head++ % MPIPIPE_RING;
  mpipipe_unposted++;
  MPI_Wait(&mpipipe_req[i], &st);
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  if (st.MPI_SOURCE != from || count < 0 || count > 8)
    MPI_Abort(MPI_COMM_WORLD, 2); /* only rank from sends to this one */
  memcpy(x, mpipipe_buf[i], (size_t)count);
  return st.MPI_TAG & ~MPIPIPE_TAG_C;
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
    if (strcmp(argv[i], "-r") == 0)
      mpipipe_ring_on = 1;
    else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      n = strtoull(argv[++i], &end, 10);
      bad = end == argv[i] || *end != '\0' || n > (UINT64_C(1) << 32);
    } else
      bad = 1;
  }
  if (bad) {
    if (rank == 0)
      fprintf(stderr, "Usage: mpirun -n 3 mpi_pipeline [-r] [-n COUNT]   (COUNT <= 2^32)\n");
    status = 2;
  } else {
    if (mpipipe_ring_on)
      mpipipe_ring_open();
    status = mpipipe_run(rank, n);
    if (mpipipe_ring_on)
      mpipipe_ring_close();
  }
  MPI_Finalize();
  return status;
}
