/* SPDX-License-Identifier: MIT */
/* Jobs of hundreds of ranks on one node: every pair of ranks exchanges a message, the
 * barrier, and the job's shared memory after that, which must grow with the ranks, not
 * with their pairs: at most 16 MiB + 1 MiB per rank (doc/scale.md). A job whose every
 * pair had rings of its own from the start took 3.3 GiB at 256 ranks.
 *
 * make check runs jobs of 128 and 256 ranks; TUBO_SCALE_RANKS=N (make check-scale: 1024)
 * runs one job of N ranks instead. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

/* The bound on the job's shared memory, in bytes, for n ranks. */
static uint64_t sc_bound(int n)
{
  return ((uint64_t)16 << 20) + (uint64_t)n * ((uint64_t)1 << 20);
}

/* Every rank sends every other one 8 bytes naming the pair, and receives theirs. */
static void body_allpairs(void)
{
  int n = th_size;
  uint64_t *in = th_malloc((size_t)n * sizeof *in), *out = th_malloc((size_t)n * sizeof *out);
  tubo_request_t **rq = th_malloc((size_t)2 * (size_t)n * sizeof *rq);
  int k = 0;
  for (int p = 0; p < n; p++) {
    if (p == th_rank)
      continue;
    in[p] = 0;
    TH_OK(tubo_irecv(&in[p], sizeof in[p], p, 7, th_world, &rq[k++]));
  }
  for (int i = 1; i < n; i++) {
    int p = (th_rank + i) % n; /* each rank starts with its next neighbour */
    out[p] = (uint64_t)th_rank << 32 | (uint64_t)p;
    TH_OK(tubo_isend(&out[p], sizeof out[p], p, 7, th_world, &rq[k++]));
  }
  TH_OK(tubo_waitall((size_t)k, rq, NULL));
  for (int p = 0; p < n; p++)
    if (p != th_rank)
      TH_CHECK(in[p] == ((uint64_t)p << 32 | (uint64_t)th_rank),
               "from rank %d: expected 0x%llx, got 0x%llx", p,
               (unsigned long long)((uint64_t)p << 32 | (uint64_t)th_rank),
               (unsigned long long)in[p]);
  TH_OK(tubo_barrier(th_world));
  /* Every pair has talked, and every rank is still in the job. */
  uint64_t used = 0;
  TH_OK(tubo_comm_shm_bytes(th_world, &used));
  TH_CHECK(used > 0 && used <= sc_bound(n),
           "%d ranks after every pair exchanged one message: expected at most %llu B of "
           "shared memory (16 MiB + 1 MiB per rank), the job holds %llu B",
           n, (unsigned long long)sc_bound(n), (unsigned long long)used);
  if (th_rank == 0) {
    printf("scale: %d ranks, every pair exchanged a message: %.1f MiB of shared memory "
           "(bound %.0f MiB)\n",
           n, (double)used / 1048576.0, (double)sc_bound(n) / 1048576.0);
    fflush(stdout);
  }
  TH_OK(tubo_barrier(th_world));
  free(in);
  free(out);
  free(rq);
}

/* Barriers in a row, then a ring exchange that shows the ranks are still in step. */
static void body_barriers(void)
{
  for (int i = 0; i < 10; i++)
    TH_OK(tubo_barrier(th_world));
  int next = (th_rank + 1) % th_size, prev = (th_rank + th_size - 1) % th_size;
  int got = -1;
  TH_OK(tubo_sendrecv(&th_rank, sizeof th_rank, next, 3, &got, sizeof got, prev, 3, th_world,
                      TUBO_STATUS_IGNORE));
  TH_EQ("the previous rank's number", got, prev);
}

static const th_body_t bodies[] = {
    {"allpairs", body_allpairs, 0},
    {"barriers", body_barriers, 0},
    {NULL, NULL, 0},
};

static Suite *scale_suite(void)
{
  Suite *s = suite_create("scale");
  const char *env = getenv("TUBO_SCALE_RANKS");
  if (env != NULL && atoi(env) > 0) {
    TCase *tc = th_add_case(s, "allpairs", atoi(env), TH_SHM);
    th_add_job(tc, "barriers", atoi(env), TH_SHM);
    return s;
  }
  /* Two jobs only: on two cores a job of 256 ranks takes tens of seconds to start. */
  TCase *tc = th_add_case(s, "allpairs", 128, TH_SHM);
  th_add_job(tc, "allpairs", 256, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, scale_suite);
}
