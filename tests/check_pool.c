/* SPDX-License-Identifier: MIT */
/* Pool, as multiprocessing.Pool: map, apply_async and its pending results, close, join,
 * terminate, a function that fails, and a worker that dies (reported, never waited for);
 * on forked processes (tubo_pool_create) and on the ranks of a communicator
 * (tubo_pool_open, in shared memory and served by the root over the pipe transport). */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int square(const void *in, void *out)
{
  int64_t x;
  memcpy(&x, in, sizeof x);
  x *= x;
  memcpy(out, &x, sizeof x);
  return 0;
}

/* Fails on 13, as a Python function that raises. */
static int square_not_13(const void *in, void *out)
{
  int64_t x;
  memcpy(&x, in, sizeof x);
  if (x == 13)
    return 1;
  return square(in, out);
}

/* Kills its worker on 13, as a worker killed by the OOM killer or a crash. */
static int square_dies_on_13(const void *in, void *out)
{
  int64_t x;
  memcpy(&x, in, sizeof x);
  if (x == 13)
    raise(SIGKILL);
  return square(in, out);
}

/* The process id of the worker it runs in. */
static int worker_pid(const void *in, void *out)
{
  (void)in;
  int32_t pid = (int32_t)getpid();
  memcpy(out, &pid, sizeof pid);
  return 0;
}

static void check_squares(const int64_t *out, size_t n, int64_t skip)
{
  for (size_t i = 0; i < n; i++)
    if ((int64_t)i != skip)
      ck_assert_msg(out[i] == (int64_t)(i * i), "result %zu: expected %zu, got %lld", i, i * i,
                    (long long)out[i]);
}

START_TEST(test_map)
{
  enum { N = 5000 };
  tubo_pool_t *pool = NULL;
  TH_CK_OK(tubo_pool_create(3, &pool));
  int64_t *in = malloc(N * sizeof *in), *out = calloc(N, sizeof *out);
  ck_assert_msg(in != NULL && out != NULL, "malloc");
  for (int i = 0; i < N; i++)
    in[i] = i;
  TH_CK_OK(tubo_pool_map(pool, square, in, sizeof *in, out, sizeof *out, N));
  check_squares(out, N, -1);
  /* Again, a short one: chunks of one input each. */
  memset(out, 0, N * sizeof *out);
  TH_CK_OK(tubo_pool_map(pool, square, in, sizeof *in, out, sizeof *out, 5));
  check_squares(out, 5, -1);
  TH_CK_OK(tubo_pool_map(pool, square, in, sizeof *in, out, sizeof *out, 0));
  TH_CK_OK(tubo_pool_close(pool));
  TH_CK_OK(tubo_pool_join(pool));
  TH_CK_OK(tubo_pool_free(pool));
  free(in);
  free(out);
}
END_TEST

/* Pending results, collected in any order; a call runs in a worker, not in this process. */
START_TEST(test_apply_async)
{
  enum { N = 20 };
  tubo_pool_t *pool = NULL;
  TH_CK_OK(tubo_pool_create(2, &pool));
  tubo_pool_result_t *r[N];
  for (int64_t i = 0; i < N; i++)
    TH_CK_OK(tubo_pool_apply_async(pool, square, &i, sizeof i, sizeof i, &r[i]));
  /* Collected in the reverse order of their calls. */
  for (int i = N - 1; i >= 0; i--) {
    int64_t v = -1;
    TH_CK_OK(tubo_pool_result_get(r[i], &v, sizeof v, -1));
    ck_assert_msg(v == (int64_t)i * i, "apply_async(square, %d): expected %d, got %lld", i, i * i,
                  (long long)v);
    int ready = 0;
    TH_CK_OK(tubo_pool_result_ready(r[i], &ready));
    ck_assert_msg(ready == 1, "ready() after get: expected 1, got %d", ready);
    TH_CK_OK(tubo_pool_result_free(r[i]));
  }
  /* No input; the result names the worker, which is not this process. */
  tubo_pool_result_t *who = NULL;
  TH_CK_OK(tubo_pool_apply_async(pool, worker_pid, NULL, 0, sizeof(int32_t), &who));
  int32_t pid = 0;
  TH_CK_OK(tubo_pool_result_get(who, &pid, sizeof pid, -1));
  ck_assert_msg(pid > 0 && pid != (int32_t)getpid(),
                "the call ran in process %d: expected a worker, not this process (%d)", pid,
                (int)getpid());
  /* A result freed before it is collected is dropped when it comes. */
  tubo_pool_result_t *dropped = NULL;
  int64_t x = 3;
  TH_CK_OK(tubo_pool_apply_async(pool, square, &x, sizeof x, sizeof x, &dropped));
  TH_CK_OK(tubo_pool_result_free(dropped));
  TH_CK_RC(tubo_pool_result_get(dropped, &x, sizeof x, 0), TUBO_ERESULT);
  TH_CK_OK(tubo_pool_close(pool));
  TH_CK_OK(tubo_pool_join(pool));
  TH_CK_OK(tubo_pool_free(pool));
  /* A pending result outliving its pool is told so. */
  TH_CK_RC(tubo_pool_result_get(who, &pid, sizeof pid, 0), TUBO_EPOOL);
  TH_CK_OK(tubo_pool_result_free(who));
}
END_TEST

START_TEST(test_function_fails)
{
  enum { N = 40 };
  tubo_pool_t *pool = NULL;
  TH_CK_OK(tubo_pool_create(2, &pool));
  int64_t in[N], out[N];
  for (int i = 0; i < N; i++)
    in[i] = i;
  memset(out, 0, sizeof out);
  TH_CK_RC(tubo_pool_map(pool, square_not_13, in, sizeof *in, out, sizeof *out, N), TUBO_ETASK);
  check_squares(out, N, 13); /* the others' results are in */
  tubo_pool_result_t *r = NULL;
  TH_CK_OK(tubo_pool_apply_async(pool, square_not_13, &in[13], sizeof in[13], sizeof out[0], &r));
  TH_CK_RC(tubo_pool_result_get(r, &out[0], sizeof out[0], -1), TUBO_ETASK);
  TH_CK_OK(tubo_pool_result_free(r));
  /* The pool still works. */
  TH_CK_OK(tubo_pool_map(pool, square, in, sizeof *in, out, sizeof *out, N));
  check_squares(out, N, -1);
  TH_CK_OK(tubo_pool_free(pool)); /* terminates and joins the running workers */
}
END_TEST

/* A worker that dies loses its task: the map returns TUBO_EWORKER instead of waiting for
 * it for ever (Python's Pool waits), and so does everything after. */
START_TEST(test_worker_dies)
{
  enum { N = 40 };
  tubo_pool_t *pool = NULL;
  TH_CK_OK(tubo_pool_create(2, &pool));
  int64_t in[N], out[N];
  for (int i = 0; i < N; i++)
    in[i] = i;
  TH_CK_RC(tubo_pool_map(pool, square_dies_on_13, in, sizeof *in, out, sizeof *out, N),
           TUBO_EWORKER);
  TH_CK_RC(tubo_pool_map(pool, square, in, sizeof *in, out, sizeof *out, N), TUBO_EWORKER);
  tubo_pool_result_t *r = NULL;
  TH_CK_RC(tubo_pool_apply_async(pool, square, &in[1], sizeof in[1], sizeof out[0], &r),
           TUBO_EWORKER);
  TH_CK_OK(tubo_pool_close(pool));
  TH_CK_RC(tubo_pool_join(pool), TUBO_EWORKER);
  TH_CK_OK(tubo_pool_free(pool));
}
END_TEST

/* The same for a pending result whose call kills its worker. */
START_TEST(test_worker_dies_async)
{
  tubo_pool_t *pool = NULL;
  TH_CK_OK(tubo_pool_create(1, &pool));
  int64_t x = 13, y = 0;
  tubo_pool_result_t *r = NULL;
  TH_CK_OK(tubo_pool_apply_async(pool, square_dies_on_13, &x, sizeof x, sizeof y, &r));
  TH_CK_RC(tubo_pool_result_get(r, &y, sizeof y, -1), TUBO_EWORKER);
  TH_CK_OK(tubo_pool_result_free(r));
  TH_CK_OK(tubo_pool_free(pool));
}
END_TEST

START_TEST(test_life)
{
  tubo_pool_t *pool = NULL;
  int64_t x = 2, y = 0;
  TH_CK_OK(tubo_pool_create(0, &pool));        /* one worker per CPU */
  TH_CK_RC(tubo_pool_join(pool), TUBO_EINVAL); /* still running: Python's ValueError */
  TH_CK_OK(tubo_pool_close(pool));
  TH_CK_RC(tubo_pool_close(pool), TUBO_ECLOSED);
  TH_CK_RC(tubo_pool_map(pool, square, &x, sizeof x, &y, sizeof y, 1), TUBO_ECLOSED);
  tubo_pool_result_t *r = NULL;
  TH_CK_RC(tubo_pool_apply_async(pool, square, &x, sizeof x, sizeof y, &r), TUBO_ECLOSED);
  TH_CK_OK(tubo_pool_join(pool));
  TH_CK_OK(tubo_pool_free(pool));

  /* terminate stops workers that are waiting for work; join then succeeds. */
  TH_CK_OK(tubo_pool_create(2, &pool));
  TH_CK_OK(tubo_pool_terminate(pool));
  TH_CK_OK(tubo_pool_join(pool));
  TH_CK_OK(tubo_pool_free(pool));
}
END_TEST

START_TEST(test_bad_arguments)
{
  tubo_pool_t *pool = NULL;
  int64_t x = 2, y = 0;
  tubo_pool_result_t *r = NULL;
  TH_CK_RC(tubo_pool_create(2, NULL), TUBO_EINVAL);
  TH_CK_RC(tubo_pool_create(-1, &pool), TUBO_EINVAL);
  ck_assert_msg(pool == NULL, "failed creates must leave the handle alone");
  TH_CK_RC(tubo_pool_map(NULL, square, &x, sizeof x, &y, sizeof y, 1), TUBO_EPOOL);
  TH_CK_RC(tubo_pool_apply_async(NULL, square, &x, sizeof x, sizeof y, &r), TUBO_EPOOL);
  TH_CK_RC(tubo_pool_close(NULL), TUBO_EPOOL);
  TH_CK_RC(tubo_pool_terminate(NULL), TUBO_EPOOL);
  TH_CK_RC(tubo_pool_join(NULL), TUBO_EPOOL);
  TH_CK_RC(tubo_pool_free(NULL), TUBO_EPOOL);
  TH_CK_RC(tubo_pool_result_get(NULL, &y, sizeof y, 0), TUBO_ERESULT);
  int ready = 0;
  TH_CK_RC(tubo_pool_result_ready(NULL, &ready), TUBO_ERESULT);
  TH_CK_RC(tubo_pool_result_free(NULL), TUBO_ERESULT);

  TH_CK_OK(tubo_pool_create(1, &pool));
  /* A handle of another kind is refused as one of this kind. */
  TH_CK_RC(tubo_pool_result_free((tubo_pool_result_t *)pool), TUBO_ERESULT);
  TH_CK_RC(tubo_pool_map(pool, NULL, &x, sizeof x, &y, sizeof y, 1), TUBO_EINVAL);
  TH_CK_RC(tubo_pool_map(pool, square, NULL, sizeof x, &y, sizeof y, 1), TUBO_EINVAL);
  TH_CK_RC(tubo_pool_map(pool, square, &x, 0, &y, sizeof y, 1), TUBO_EINVAL);
  TH_CK_RC(tubo_pool_map(pool, square, &x, TUBO_POOL_ITEM_MAX + 1, &y, sizeof y, 1), TUBO_ETOOBIG);
  TH_CK_RC(tubo_pool_apply_async(pool, square, &x, sizeof x, sizeof y, NULL), TUBO_EINVAL);
  TH_CK_RC(tubo_pool_apply_async(pool, square, NULL, 8, sizeof y, &r), TUBO_EINVAL);
  TH_CK_RC(tubo_pool_apply_async(pool, square, &x, sizeof x, TUBO_POOL_ITEM_MAX + 1, &r),
           TUBO_ETOOBIG);
  TH_CK_OK(tubo_pool_free(pool));
  TH_CK_RC(tubo_pool_close(pool), TUBO_EPOOL);
  TH_CK_RC(tubo_pool_free(pool), TUBO_EPOOL);
}
END_TEST

static Suite *pool_suite(void)
{
  Suite *s = suite_create("pool");
  TCase *tc = th_tcase("processes");
  tcase_add_test(tc, test_map);
  tcase_add_test(tc, test_apply_async);
  tcase_add_test(tc, test_function_fails);
  tcase_add_test(tc, test_worker_dies);
  tcase_add_test(tc, test_worker_dies_async);
  tcase_add_test(tc, test_life);
  tcase_add_test(tc, test_bad_arguments);
  suite_add_tcase(s, tc);
  th_add_case(s, "ranks_map", 3, TH_BOTH);
  th_add_case(s, "ranks_root_last", 2, TH_BOTH);
  th_add_case(s, "ranks_alone", 1, TH_SHM);
  /* Under mpirun a rank that leaves early waits in MPI_Finalize for the others, so its
   * peers cannot learn that it left (doc/pattern-pool.md). */
  if (getenv("TH_MPIRUN") == NULL || *getenv("TH_MPIRUN") == '\0')
    th_add_case(s, "ranks_worker_leaves", 3, TH_SHM);
  return s;
}

/* ---- Pools of ranks ---- */

/* The world rank it runs on. */
static int rank_of(const void *in, void *out)
{
  (void)in;
  int32_t r = -1;
  if (tubo_comm_rank(TUBO_COMM_WORLD, &r) != 0)
    return 1;
  memcpy(out, &r, sizeof r);
  return 0;
}

/* Leaves the job on 13 (the rank finalizes and exits 0), as a worker whose program ends
 * in the middle of a task. */
static int square_leaves_on_13(const void *in, void *out)
{
  int64_t x;
  memcpy(&x, in, sizeof x);
  if (x == 13) {
    (void)tubo_finalize();
    _exit(0);
  }
  return square(in, out);
}

/* Every worker rank's side: it serves until the root ends the pool, then returns 0 with
 * no pool. */
static int pool_open_on(int root, tubo_pool_t **pool)
{
  *pool = (tubo_pool_t *)&pool; /* must be overwritten on every rank */
  int rc = tubo_pool_open(th_world, root, pool);
  TH_EQ("tubo_pool_open's return", rc, 0);
  if (th_rank != root)
    TH_CHECK(*pool == NULL, "a worker rank got a pool handle, expected NULL");
  else
    TH_CHECK(*pool != NULL, "the root got no pool handle");
  return th_rank == root;
}

/* Maps square over inputs 0..n-1 (n at most 256) on pool and checks every result; in
 * holds the inputs afterwards. */
static void ranks_map_squares(tubo_pool_t *pool, int64_t *in, int n)
{
  int64_t out[256];
  TH_CHECK(n <= 256, "ranks_map_squares of %d inputs, expected at most 256", n);
  for (int i = 0; i < n; i++)
    in[i] = i;
  memset(out, 0, sizeof out);
  TH_OK(tubo_pool_map(pool, square, in, sizeof *in, out, sizeof *out, (size_t)n));
  for (int i = 0; i < n; i++)
    TH_CHECK(out[i] == (int64_t)i * i, "result %d: expected %d, got %lld", i, i * i,
             (long long)out[i]);
}

/* map and apply_async on the other ranks: results in order, every chunk run by a rank
 * other than the root, a failing function reported; close, join. */
static void body_ranks_map(void)
{
  enum { N = 200 };
  tubo_pool_t *pool = NULL;
  if (!pool_open_on(0, &pool))
    return;
  int64_t in[N], out[N];
  ranks_map_squares(pool, in, N);
  int32_t ranks[N];
  TH_OK(tubo_pool_map(pool, rank_of, in, sizeof *in, ranks, sizeof *ranks, N));
  for (int i = 0; i < N; i++)
    TH_CHECK(ranks[i] >= 1 && ranks[i] < th_size,
             "input %d ran on rank %d, expected a worker rank (1 to %d)", i, ranks[i], th_size - 1);
  TH_EQ("map of a function that fails on 13",
        tubo_pool_map(pool, square_not_13, in, sizeof *in, out, sizeof *out, N), TUBO_ETASK);
  tubo_pool_result_t *r[4];
  for (int i = 0; i < 4; i++)
    TH_OK(tubo_pool_apply_async(pool, square, &in[i + 5], sizeof *in, sizeof *out, &r[i]));
  for (int i = 3; i >= 0; i--) {
    int64_t y = 0;
    TH_OK(tubo_pool_result_get(r[i], &y, sizeof y, -1));
    TH_EQ("apply_async's result", y, (int64_t)(i + 5) * (i + 5));
    TH_OK(tubo_pool_result_free(r[i]));
  }
  TH_EQ("join before close", tubo_pool_join(pool), TUBO_EINVAL);
  TH_OK(tubo_pool_close(pool));
  TH_OK(tubo_pool_join(pool));
  TH_OK(tubo_pool_free(pool));
}

/* The last rank as the root; terminate drops what no worker took, and join still
 * returns once every worker rank left. */
static void body_ranks_root_last(void)
{
  enum { N = 64 };
  tubo_pool_t *pool = NULL;
  if (!pool_open_on(th_size - 1, &pool))
    return;
  int64_t in[N];
  ranks_map_squares(pool, in, N);
  tubo_pool_result_t *r = NULL;
  for (int i = 0; i < N; i++) {
    TH_OK(tubo_pool_apply_async(pool, square, &in[i], sizeof *in, sizeof *in, &r));
    TH_OK(tubo_pool_result_free(r));
  }
  TH_OK(tubo_pool_terminate(pool));
  TH_OK(tubo_pool_join(pool));
  TH_OK(tubo_pool_free(pool));
}

/* A world of one: the root has no workers and runs the calls itself. */
static void body_ranks_alone(void)
{
  enum { N = 30 };
  tubo_pool_t *pool = NULL;
  TH_OK(tubo_pool_open(th_world, 0, &pool));
  TH_CHECK(pool != NULL, "the root of a world of one got no pool");
  int64_t in[N];
  ranks_map_squares(pool, in, N);
  tubo_pool_result_t *r = NULL;
  int64_t y = 0;
  TH_OK(tubo_pool_apply_async(pool, square, &in[7], sizeof *in, sizeof y, &r));
  int ready = 0;
  TH_OK(tubo_pool_result_ready(r, &ready));
  TH_EQ("ready() of a call the root ran itself", ready, 1);
  TH_OK(tubo_pool_result_get(r, &y, sizeof y, 0));
  TH_EQ("apply_async's result", y, (int64_t)49);
  TH_OK(tubo_pool_result_free(r));
  TH_EQ("root out of range", tubo_pool_open(th_world, 1, &pool), TUBO_EINVAL);
  TH_OK(tubo_pool_close(pool));
  TH_OK(tubo_pool_join(pool));
  TH_OK(tubo_pool_free(pool));
}

/* A worker rank that leaves in the middle of a task: the root's map returns TUBO_EWORKER
 * instead of waiting for ever, and so does join; the other worker ends normally. */
static void body_ranks_worker_leaves(void)
{
  enum { N = 40 };
  tubo_pool_t *pool = NULL;
  if (!pool_open_on(0, &pool))
    return;
  int64_t in[N], out[N];
  for (int i = 0; i < N; i++)
    in[i] = i;
  TH_EQ("map whose worker left",
        tubo_pool_map(pool, square_leaves_on_13, in, sizeof *in, out, sizeof *out, N),
        TUBO_EWORKER);
  TH_EQ("map on a broken pool", tubo_pool_map(pool, square, in, sizeof *in, out, sizeof *out, N),
        TUBO_EWORKER);
  TH_OK(tubo_pool_close(pool));
  TH_EQ("join of a broken pool", tubo_pool_join(pool), TUBO_EWORKER);
  TH_OK(tubo_pool_free(pool));
}

static const th_body_t bodies[] = {
    {"ranks_map", body_ranks_map, 0},
    {"ranks_root_last", body_ranks_root_last, 0},
    {"ranks_alone", body_ranks_alone, 0},
    {"ranks_worker_leaves", body_ranks_worker_leaves, 0},
    {NULL, NULL, 0},
};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, pool_suite);
}
