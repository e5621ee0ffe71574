/* SPDX-License-Identifier: MIT */
/* 8 B blocking sends streamed from rank 0 to rank 1 (tubo_send in a loop against tubo_recv
 * in a loop), no reply: the receiver, behind its sender, takes a cache miss at every slot
 * unless it asks for the slots ahead (shm_ring.h, the receiver's read-ahead). Rank 1 checks
 * the sum of what it received.
 *
 * Usage: tuborun -n 2 --bind-to core stream [-n MESSAGES]
 * Prints: stream messages=N mmsg_per_s=R check=ok|BAD */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tubo.h>

static void stream_check(int rc, const char *what)
{
  if (rc == 0)
    return;
  fprintf(stderr, "stream: %s: %s\n", what, tubo_strerror(rc));
  tubo_abort(TUBO_COMM_WORLD, 1);
}

int main(int argc, char **argv)
{
  stream_check(tubo_init(&argc, &argv), "tubo_init");
  long n = 10000000;
  if (argc == 3 && strcmp(argv[1], "-n") == 0)
    n = atol(argv[2]);
  int rank, size;
  stream_check(tubo_comm_rank(TUBO_COMM_WORLD, &rank), "tubo_comm_rank");
  stream_check(tubo_comm_size(TUBO_COMM_WORLD, &size), "tubo_comm_size");
  if ((argc != 1 && argc != 3) || size < 2 || n < 1) {
    if (rank == 0)
      fprintf(stderr, "usage: tuborun -n 2 stream [-n MESSAGES], MESSAGES >= 1\n");
    tubo_finalize();
    return 2;
  }
  stream_check(tubo_barrier(TUBO_COMM_WORLD), "barrier");
  double t0 = tubo_wtime();
  uint64_t x = 0, sum = 0;
  if (rank == 0) {
    for (long i = 0; i < n; i++) {
      x = (uint64_t)i;
      stream_check(tubo_send(&x, sizeof x, 1, 1, TUBO_COMM_WORLD), "send");
    }
  } else if (rank == 1) {
    for (long i = 0; i < n; i++) {
      stream_check(tubo_recv(&x, sizeof x, 0, 1, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE), "recv");
      sum += x;
    }
    double secs = tubo_wtime() - t0;
    uint64_t want = (uint64_t)n * (uint64_t)(n - 1) / 2;
    printf("stream messages=%ld mmsg_per_s=%.1f check=%s\n", n, n / secs / 1e6,
           sum == want ? "ok" : "BAD");
  }
  stream_check(tubo_finalize(), "tubo_finalize");
  return 0;
}
