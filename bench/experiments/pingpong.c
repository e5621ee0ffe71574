/* SPDX-License-Identifier: MIT */
/* An 8 B ping-pong between ranks 0 and 1 with its warm-up chosen: blocking (tubo_send,
 * tubo_recv) or non-blocking (tubo_isend, tubo_irecv, tubo_waitall, as OSU programs of
 * that style do). With a warm-up longer than a channel's ring (16384 slots between two
 * ranks), it shows the hop of a ring in its second lap; osu_tubo's 11000 iterations stay in
 * the first (doc/benchmarks.md).
 *
 * Usage: tuborun -n 2 --bind-to core pingpong [-N] [-n ITERS] [-w WARMUP]
 * Prints: pingpong mode=blocking|nonblocking iters=N warmup=W half_rtt_ns=T */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tubo.h>

static void pingpong_check(int rc, const char *what)
{
  if (rc == 0)
    return;
  fprintf(stderr, "pingpong: %s: %s\n", what, tubo_strerror(rc));
  tubo_abort(TUBO_COMM_WORLD, 1);
}

/* One round trip as rank 0 (first) or rank 1. */
static void pingpong_round(char *buf, int peer, int first, int nonblocking)
{
  tubo_comm_t *w = TUBO_COMM_WORLD;
  if (!nonblocking) {
    if (first) {
      pingpong_check(tubo_send(buf, 8, peer, 1, w), "send");
      pingpong_check(tubo_recv(buf, 8, peer, 1, w, TUBO_STATUS_IGNORE), "recv");
    } else {
      pingpong_check(tubo_recv(buf, 8, peer, 1, w, TUBO_STATUS_IGNORE), "recv");
      pingpong_check(tubo_send(buf, 8, peer, 1, w), "send");
    }
    return;
  }
  tubo_request_t *r[2];
  if (first) {
    pingpong_check(tubo_isend(buf, 8, peer, 1, w, &r[0]), "isend");
    pingpong_check(tubo_irecv(buf, 8, peer, 1, w, &r[1]), "irecv");
    pingpong_check(tubo_waitall(2, r, TUBO_STATUSES_IGNORE), "waitall");
  } else {
    pingpong_check(tubo_irecv(buf, 8, peer, 1, w, &r[0]), "irecv");
    pingpong_check(tubo_waitall(1, r, TUBO_STATUSES_IGNORE), "waitall");
    pingpong_check(tubo_isend(buf, 8, peer, 1, w, &r[0]), "isend");
    pingpong_check(tubo_waitall(1, r, TUBO_STATUSES_IGNORE), "waitall");
  }
}

int main(int argc, char **argv)
{
  pingpong_check(tubo_init(&argc, &argv), "tubo_init");
  long iters = 10000, warmup = 1000;
  int nonblocking = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-N") == 0)
      nonblocking = 1;
    else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
      iters = atol(argv[++i]);
    else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
      warmup = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: tuborun -n 2 pingpong [-N] [-n ITERS] [-w WARMUP]\n");
      tubo_finalize();
      return 2;
    }
  }
  int rank, size;
  pingpong_check(tubo_comm_rank(TUBO_COMM_WORLD, &rank), "tubo_comm_rank");
  pingpong_check(tubo_comm_size(TUBO_COMM_WORLD, &size), "tubo_comm_size");
  if (size < 2 || iters < 1 || warmup < 0) {
    if (rank == 0)
      fprintf(stderr, "pingpong: needs 2 ranks, ITERS >= 1 and WARMUP >= 0\n");
    tubo_finalize();
    return 2;
  }
  char buf[8] = {0};
  pingpong_check(tubo_barrier(TUBO_COMM_WORLD), "barrier");
  double t0 = 0;
  if (rank < 2)
    for (long i = 0; i < warmup + iters; i++) {
      if (i == warmup)
        t0 = tubo_wtime();
      pingpong_round(buf, 1 - rank, rank == 0, nonblocking);
    }
  double t = tubo_wtime() - t0;
  if (rank == 0)
    printf("pingpong mode=%s iters=%ld warmup=%ld half_rtt_ns=%.1f\n",
           nonblocking ? "nonblocking" : "blocking", iters, warmup, t / (double)iters / 2 * 1e9);
  pingpong_check(tubo_finalize(), "tubo_finalize");
  return 0;
}
