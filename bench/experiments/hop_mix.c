/* SPDX-License-Identifier: MIT */
/* The hop between two ranks through tubo and through plain Open MPI, measured in one job
 * by the same two processes, in alternating blocks a few milliseconds apart: the anchor
 * in the same run at its closest. Separate runs of osu_tubo and osu_mpi compare two
 * moments of a host whose speed moves by several percent from one second to the next
 * (doc/benchmarks-log.md); here each round's ratio compares two adjacent blocks.
 *
 * The program calls MPI_Init itself, then tubo_init (tubo leaves MPI to it). The MPI
 * blocks ping-pong with MPI_Send/MPI_Recv on MPI_COMM_WORLD; the tubo blocks with
 * tubo_send/tubo_recv on TUBO_COMM_WORLD, which tubo carries through its MPI transport
 * when the two ranks are on different (pretend) nodes (TUBO_NODE_SIZE=1), else through
 * its shared memory. Each round runs one block of each, in alternating order, after a
 * barrier; a block is a warm-up of a tenth of its iterations, then ITERS timed round
 * trips. Rank 0 prints one line per round with -v, and a summary:
 *   hop_mix size=8 iters=5000 rounds=200 tubo_ns=112.4 mpi_ns=104.9 ratio=1.071
 *     ratio_q1=1.052 ratio_q3=1.090
 * (the medians of the rounds' half round trips and of their ratios, and the quartiles of
 * the ratios).
 *
 * Ranks beyond the first two idle (looking for rank 0's word every millisecond, as
 * osu_tubo -i does), so that ranks 0 and 1 run in a world with peers they reach through
 * another transport: with TUBO_NODE_SIZE=2 and 3 ranks, ranks 0 and 1 share a node and
 * wait on both transports, and the ratio against the same job with TUBO_NODE_SIZE=0 (one
 * node) tells what waiting on MPI too costs tubo's shared memory.
 *
 * Usage: mpirun -n N [-x TUBO_NODE_SIZE=K] bench/experiments/hop_mix [-r ROUNDS] [-i ITERS]
 *        [-s SIZE] [-v] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tubo.h>

#define HOP_TAG      1
#define HOP_DONE     2
#define HOP_MAX_SIZE 1024

typedef struct hop_opts {
  int rounds, iters, size, verbose;
} hop_opts_t;

static void hop_fail(const char *what, int rc)
{
  fprintf(stderr, "hop_mix: %s failed (%d%s%s)\n", what, rc, rc < 0 ? ": " : "",
          rc < 0 ? tubo_strerror(rc) : "");
  MPI_Abort(MPI_COMM_WORLD, 1);
}

/* n round trips of size bytes through MPI between ranks 0 and 1. */
static void hop_mpi(int rank, char *buf, int size, int n)
{
  int peer = 1 - rank;
  for (int i = 0; i < n; i++) {
    int rc;
    if (rank == 0) {
      if ((rc = MPI_Send(buf, size, MPI_BYTE, peer, HOP_TAG, MPI_COMM_WORLD)) != MPI_SUCCESS ||
          (rc = MPI_Recv(buf, size, MPI_BYTE, peer, HOP_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE)) !=
              MPI_SUCCESS)
        hop_fail("MPI ping-pong", rc);
    } else {
      if ((rc = MPI_Recv(buf, size, MPI_BYTE, peer, HOP_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE)) !=
              MPI_SUCCESS ||
          (rc = MPI_Send(buf, size, MPI_BYTE, peer, HOP_TAG, MPI_COMM_WORLD)) != MPI_SUCCESS)
        hop_fail("MPI ping-pong", rc);
    }
  }
}

/* n round trips of size bytes through tubo between ranks 0 and 1. */
static void hop_tubo(int rank, char *buf, int size, int n)
{
  int peer = 1 - rank;
  for (int i = 0; i < n; i++) {
    int rc;
    if (rank == 0) {
      if ((rc = tubo_send(buf, (size_t)size, peer, HOP_TAG, TUBO_COMM_WORLD)) != 0 ||
          (rc = tubo_recv(buf, (size_t)size, peer, HOP_TAG, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE)) !=
              0)
        hop_fail("tubo ping-pong", rc);
    } else {
      if ((rc = tubo_recv(buf, (size_t)size, peer, HOP_TAG, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE)) !=
              0 ||
          (rc = tubo_send(buf, (size_t)size, peer, HOP_TAG, TUBO_COMM_WORLD)) != 0)
        hop_fail("tubo ping-pong", rc);
    }
  }
}

/* One block: the mean half round trip in ns of iters timed round trips, after a warm-up.
 * pair holds ranks 0 and 1. */
static double hop_block(int use_tubo, int rank, char *buf, const hop_opts_t *o, MPI_Comm pair)
{
  void (*fn)(int, char *, int, int) = use_tubo ? hop_tubo : hop_mpi;
  MPI_Barrier(pair);
  fn(rank, buf, o->size, o->iters / 10 + 1);
  double t0 = MPI_Wtime();
  fn(rank, buf, o->size, o->iters);
  double t1 = MPI_Wtime();
  return (t1 - t0) * 1e9 / (2.0 * o->iters);
}

/* A rank beyond the first two: looks for rank 0's word every millisecond, so that it
 * takes no core from the two that measure. */
static void hop_idle(void)
{
  int flag = 0;
  char b;
  while (!flag) {
    MPI_Iprobe(0, HOP_DONE, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    if (!flag)
      nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  MPI_Recv(&b, 1, MPI_BYTE, 0, HOP_DONE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

static int hop_cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n values, sorted in place, by linear interpolation. */
static double hop_quantile(double *v, int n, double q)
{
  qsort(v, (size_t)n, sizeof *v, hop_cmp);
  double pos = q * (n - 1);
  int i = (int)pos;
  return i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[i];
}

static int hop_parse(int argc, char **argv, hop_opts_t *o)
{
  int c;
  *o = (hop_opts_t){200, 5000, 8, 0};
  while ((c = getopt(argc, argv, "r:i:s:vh")) != -1) {
    switch (c) {
    case 'r':
      o->rounds = atoi(optarg);
      break;
    case 'i':
      o->iters = atoi(optarg);
      break;
    case 's':
      o->size = atoi(optarg);
      break;
    case 'v':
      o->verbose = 1;
      break;
    default:
      return -1;
    }
  }
  if (o->rounds < 1 || o->iters < 1 || o->size < 0 || o->size > HOP_MAX_SIZE)
    return -1;
  return 0;
}

int main(int argc, char **argv)
{
  hop_opts_t o;
  int rank, size, rc;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (hop_parse(argc, argv, &o) != 0 || size < 2) {
    if (rank == 0)
      fprintf(stderr,
              "usage: mpirun -n N [-x TUBO_NODE_SIZE=K] hop_mix [-r ROUNDS] "
              "[-i ITERS] [-s SIZE (0..%d)] [-v]\n",
              HOP_MAX_SIZE);
    MPI_Finalize();
    return 2;
  }
  if ((rc = tubo_init(&argc, &argv)) != 0)
    hop_fail("tubo_init", rc);
  MPI_Comm pair;
  MPI_Comm_split(MPI_COMM_WORLD, rank < 2 ? 0 : MPI_UNDEFINED, rank, &pair);
  if (rank >= 2) {
    hop_idle();
    if ((rc = tubo_finalize()) != 0)
      hop_fail("tubo_finalize", rc);
    MPI_Finalize();
    return 0;
  }
  char buf[HOP_MAX_SIZE];
  memset(buf, 'h', sizeof buf);
  double *t = malloc(3 * (size_t)o.rounds * sizeof *t);
  if (t == NULL)
    hop_fail("malloc", 0);
  double *m = t + o.rounds, *ratio = m + o.rounds;
  for (int r = 0; r < o.rounds; r++) {
    /* Alternate which goes first, so that neither always runs just after a barrier's
     * wait or just before the next round's. */
    if (r % 2 == 0) {
      t[r] = hop_block(1, rank, buf, &o, pair);
      m[r] = hop_block(0, rank, buf, &o, pair);
    } else {
      m[r] = hop_block(0, rank, buf, &o, pair);
      t[r] = hop_block(1, rank, buf, &o, pair);
    }
    ratio[r] = t[r] / m[r];
    if (rank == 0 && o.verbose)
      printf("round=%d tubo_ns=%.1f mpi_ns=%.1f ratio=%.3f\n", r, t[r], m[r], ratio[r]);
  }
  if (rank == 0)
    printf("hop_mix size=%d iters=%d rounds=%d tubo_ns=%.1f mpi_ns=%.1f ratio=%.3f "
           "ratio_q1=%.3f ratio_q3=%.3f\n",
           o.size, o.iters, o.rounds, hop_quantile(t, o.rounds, 0.5),
           hop_quantile(m, o.rounds, 0.5), hop_quantile(ratio, o.rounds, 0.5),
           hop_quantile(ratio, o.rounds, 0.25), hop_quantile(ratio, o.rounds, 0.75));
  free(t);
  if (rank == 0)
    for (int r = 2; r < size; r++)
      MPI_Send(buf, 1, MPI_BYTE, r, HOP_DONE, MPI_COMM_WORLD);
  MPI_Comm_free(&pair);
  if ((rc = tubo_finalize()) != 0)
    hop_fail("tubo_finalize", rc);
  MPI_Finalize();
  return 0;
}
