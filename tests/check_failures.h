/* SPDX-License-Identifier: MIT */
/* check_failures: ranks that die, a launcher that is killed, a /dev/shm that is full.
 *
 * The Check suite (check_failures.c) starts jobs through tuborun whose ranks run this same
 * program (check_failures_ranks.c, through the harness's --body NAME). The two sides talk
 * through two pipes the ranks inherit, never through sleeps: each rank writes fixed-size
 * records (fr_rec_t) to the report pipe, which the suite reads as they come, and the
 * victim reads its order to die from the order pipe. Every record is one write() of less
 * than PIPE_BUF bytes, so records of different ranks never interleave. */
#ifndef TUBO_TESTS_CHECK_FAILURES_H
#define TUBO_TESTS_CHECK_FAILURES_H

#include <stdint.h>

#include "harness.h"

/* Environment variables the suite gives the job. */
#define FR_ENV_REPORT "FR_REPORT_FD" /* the report pipe's write end */
#define FR_ENV_ORDER  "FR_ORDER_FD"  /* the order pipe's read end */
#define FR_ENV_VICTIM "FR_VICTIM"    /* the rank that dies */

/* Most ranks a scenario runs. */
#define FR_MAX_RANKS 8

/* The victim's status when told to exit, and when told to call tubo_abort. */
#define FR_EXIT_CODE  3
#define FR_ABORT_CODE 5

/* What a record says. */
enum fr_kind {
  FR_READY = 1,  /* set up; a survivor is about to block, the victim waits for its order */
  FR_DEATH = 2,  /* the victim is about to die as ordered (rc: the order) */
  FR_RESULT = 3, /* a survivor's blocking call returned rc (extra: per-scenario details) */
  FR_FINAL = 4,  /* a survivor's tubo_finalize returned rc; it exits 0 next */
  FR_SIGNAL = 5, /* a rank received signal rc and dies by it next */
  FR_INIT = 6    /* tubo_init returned rc (the /dev/shm scenarios) */
};

/* How the victim is told to die (besides SIGKILL, which the suite sends itself). */
enum fr_order { FR_DIE_SEGV = 'S', FR_DIE_EXIT = 'E', FR_DIE_ABORT = 'A' };

typedef struct fr_rec {
  int32_t kind; /* enum fr_kind */
  int32_t rank;
  int32_t pid;
  int32_t rc;
  int32_t extra[2];
  uint64_t t_ns; /* CLOCK_MONOTONIC, when it was written */
} fr_rec_t;

/* CLOCK_MONOTONIC in nanoseconds: both sides time records with it. */
uint64_t fr_now_ns(void);

/* The rank bodies (check_failures_ranks.c). */
extern const th_body_t fr_bodies[];

#endif /* TUBO_TESTS_CHECK_FAILURES_H */
