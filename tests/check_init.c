/* SPDX-License-Identifier: MIT */
/* Joining and leaving: a world of one without a launcher, tubo_init and tubo_finalize
 * twice, every call before tubo_init and after tubo_finalize, messages to oneself and
 * receives that nobody could ever satisfy (TUBO_EDEADLK instead of a hang). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Every call that takes a communicator or a request, made while tubo is not initialized:
 * each must return TUBO_ENOTINIT, whatever handle it is given (NULL, or one that was
 * valid before tubo_finalize). */
static void calls_not_initialized(const char *when, tubo_comm_t *comm, tubo_request_t *stale)
{
  char buf[8] = {0};
  int i = -7, flag = -7;
  size_t index = 0;
  const char *name = NULL;
  tubo_status_t st;
  tubo_request_t *r = NULL;
  TH_CHECK(tubo_comm_world() == NULL, "%s: tubo_comm_world(): expected NULL", when);
  TH_CHECK(TUBO_COMM_WORLD == NULL, "%s: TUBO_COMM_WORLD: expected NULL", when);
  TH_OK(tubo_initialized(&flag));
  TH_EQ("tubo_initialized flag", flag, 0);
  TH_EXPECT_RC(tubo_comm_rank(comm, &i), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_comm_size(comm, &i), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_comm_transport(comm, 0, &name), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_send(buf, 1, 0, 0, comm), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_recv(buf, sizeof buf, 0, 0, comm, &st), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_isend(buf, 1, 0, 0, comm, &r), TUBO_ENOTINIT);
  TH_CHECK(r == NULL, "%s: tubo_isend failed but created a request", when);
  TH_EXPECT_RC(tubo_irecv(buf, sizeof buf, 0, 0, comm, &r), TUBO_ENOTINIT);
  TH_CHECK(r == NULL, "%s: tubo_irecv failed but created a request", when);
  TH_EXPECT_RC(tubo_wait(&r, &st), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_test(&r, &flag, &st), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_waitall(1, &r, NULL), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_waitany(1, &r, &index, &st), TUBO_ENOTINIT);
  if (stale != NULL) {
    tubo_request_t *s = stale;
    TH_EXPECT_RC(tubo_wait(&s, &st), TUBO_ENOTINIT);
    TH_EXPECT_RC(tubo_test(&s, &flag, &st), TUBO_ENOTINIT);
  }
  TH_EXPECT_RC(tubo_probe(0, 0, comm, &st), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_iprobe(0, 0, comm, &flag, &st), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_sendrecv(buf, 1, 0, 0, buf, sizeof buf, 0, 0, comm, &st), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_barrier(comm), TUBO_ENOTINIT);
  /* tubo_abort returns (rather than ending the process) when it has no job to end. */
  TH_EXPECT_RC(tubo_abort(comm, 3), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_initialized(NULL), TUBO_EINVAL);
}

static void init_world(void)
{
  TH_OK(tubo_init(NULL, NULL));
  th_world = TUBO_COMM_WORLD;
  TH_CHECK(th_world != NULL, "TUBO_COMM_WORLD: expected the world, got NULL");
  TH_CHECK(tubo_comm_world() == th_world,
           "tubo_comm_world(): expected TUBO_COMM_WORLD (%p), got %p", (void *)th_world,
           (void *)tubo_comm_world());
  TH_OK(tubo_comm_rank(th_world, &th_rank));
  TH_OK(tubo_comm_size(th_world, &th_size));
}

/* A program started without a launcher (or by tuborun -n 1) is rank 0 of a world of 1. */
static void body_world_of_one(void)
{
  int flag = -1;
  TH_OK(tubo_initialized(&flag));
  TH_EQ("tubo_initialized before tubo_init", flag, 0);
  init_world();
  TH_EQ("rank in a world of one", th_rank, 0);
  TH_EQ("size of a world of one", th_size, 1);
  TH_OK(tubo_initialized(&flag));
  TH_EQ("tubo_initialized after tubo_init", flag, 1);
  const char *name = NULL;
  TH_OK(tubo_comm_transport(th_world, 0, &name));
  TH_CHECK(name != NULL && strcmp(name, "self") == 0,
           "tubo_comm_transport(rank 0): expected \"self\", got \"%s\"", name ? name : "(null)");
  TH_EXPECT_RC(tubo_comm_transport(th_world, 1, &name), TUBO_ERANK);
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_finalize());
  TH_OK(tubo_initialized(&flag));
  TH_EQ("tubo_initialized after tubo_finalize", flag, 0);
}

static void body_init_twice(void)
{
  init_world();
  TH_EXPECT_RC(tubo_init(NULL, NULL), TUBO_EINIT);
  /* The failed second call leaves the first initialization working. */
  int rank = -1, flag = 0;
  TH_OK(tubo_comm_rank(TUBO_COMM_WORLD, &rank));
  TH_EQ("rank after a second tubo_init", rank, th_rank);
  TH_OK(tubo_initialized(&flag));
  TH_EQ("tubo_initialized after a second tubo_init", flag, 1);
  TH_OK(tubo_barrier(TUBO_COMM_WORLD));
  TH_OK(tubo_finalize());
  TH_EXPECT_RC(tubo_finalize(), TUBO_ENOTINIT);
  /* As in MPI, a finalized process cannot initialize again. */
  TH_EXPECT_RC(tubo_init(NULL, NULL), TUBO_EINIT);
  TH_OK(tubo_initialized(&flag));
  TH_EQ("tubo_initialized after tubo_init following tubo_finalize", flag, 0);
}

static void body_before_init(void)
{
  double t0 = tubo_wtime();
  calls_not_initialized("before tubo_init", NULL, NULL);
  TH_EXPECT_RC(tubo_finalize(), TUBO_ENOTINIT);
  double t1 = tubo_wtime();
  TH_CHECK(t1 >= t0, "tubo_wtime went backwards: %f then %f", t0, t1);
  /* None of it prevents a proper start. */
  init_world();
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_finalize());
}

static void body_after_finalize(void)
{
  init_world();
  tubo_comm_t *world = th_world;
  /* A receive nobody will satisfy, still pending at tubo_finalize. */
  char buf[4];
  tubo_request_t *pending = NULL;
  TH_OK(tubo_irecv(buf, sizeof buf, th_rank, 77, world, &pending));
  TH_OK(tubo_barrier(world));
  TH_OK(tubo_finalize());
  calls_not_initialized("after tubo_finalize", world, pending);
  calls_not_initialized("after tubo_finalize, NULL handles", NULL, NULL);
}

/* Messages to oneself, in any world: every size, order, tags, wildcards, truncation. */
static void body_self_messages(void)
{
  static const size_t sizes[] = {0, 1, 40, 41, 4096, 65537, 1u << 20, (4u << 20) + 3};
  const size_t n = sizeof sizes / sizeof sizes[0];
  unsigned char *bufs[sizeof sizes / sizeof sizes[0]];
  for (size_t i = 0; i < n; i++) {
    bufs[i] = th_malloc(sizes[i]);
    th_fill(bufs[i], sizes[i], th_seed(th_rank, th_rank, sizes[i], (int)i));
    TH_OK(tubo_send(bufs[i], sizes[i], th_rank, 5, th_world));
  }
  /* Same source and tag: they come back in the order sent. */
  for (size_t i = 0; i < n; i++) {
    unsigned char *r = th_malloc(sizes[i]);
    tubo_status_t st;
    TH_OK(tubo_recv(r, sizes[i], th_rank, 5, th_world, &st));
    TH_STATUS(st, th_rank, 5, sizes[i], 0);
    TH_CHECK_DATA(r, sizes[i], th_seed(th_rank, th_rank, sizes[i], (int)i),
                  "message %zu of %zu B to self", i, sizes[i]);
    free(r);
  }
  /* Tag selectivity, then wildcards. */
  int a = 1, b = 2, got = 0;
  tubo_status_t st;
  TH_OK(tubo_send(&a, sizeof a, th_rank, 1, th_world));
  TH_OK(tubo_send(&b, sizeof b, th_rank, 2, th_world));
  TH_OK(tubo_recv(&got, sizeof got, th_rank, 2, th_world, &st));
  TH_STATUS(st, th_rank, 2, sizeof b, 0);
  TH_EQ("payload of the tag-2 message", got, 2);
  TH_OK(tubo_recv(&got, sizeof got, TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &st));
  TH_STATUS(st, th_rank, 1, sizeof a, 0);
  TH_EQ("payload of the tag-1 message", got, 1);
  /* A receive posted first is matched by the later send. */
  tubo_request_t *rr = NULL, *sr = NULL;
  TH_OK(tubo_irecv(bufs[n - 1], sizes[n - 1], TUBO_ANY_SOURCE, 9, th_world, &rr));
  TH_OK(tubo_isend(bufs[3], sizes[3], th_rank, 9, th_world, &sr));
  TH_OK(tubo_wait(&sr, TUBO_STATUS_IGNORE));
  TH_OK(tubo_wait(&rr, &st));
  TH_STATUS(st, th_rank, 9, sizes[3], 0);
  TH_CHECK(rr == NULL && sr == NULL, "tubo_wait left a request pointer set");
  /* Probes see a message to oneself, and truncation keeps the buffer's end intact. */
  int flag = 0;
  TH_OK(tubo_iprobe(th_rank, 3, th_world, &flag, &st));
  TH_EQ("iprobe flag before the send", flag, 0);
  th_fill(bufs[5], sizes[5], 4242);
  TH_OK(tubo_send(bufs[5], sizes[5], th_rank, 3, th_world));
  TH_OK(tubo_iprobe(th_rank, 3, th_world, &flag, &st));
  TH_EQ("iprobe flag after the send", flag, 1);
  TH_STATUS(st, th_rank, 3, sizes[5], 0);
  TH_OK(tubo_probe(TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &st));
  TH_STATUS(st, th_rank, 3, sizes[5], 0);
  unsigned char small[100 + TH_GUARD];
  memset(small, TH_GUARD_BYTE, sizeof small);
  TH_EXPECT_RC(tubo_recv(small, 100, th_rank, 3, th_world, &st), TUBO_ETRUNC);
  TH_STATUS(st, th_rank, 3, sizes[5], TUBO_ETRUNC);
  TH_CHECK_DATA(small, 100, 4242, "first 100 bytes of a truncated message to self");
  TH_CHECK_GUARD(small + 100, TH_GUARD, "truncated message to self");
  for (size_t i = 0; i < n; i++)
    free(bufs[i]);
  TH_OK(tubo_barrier(th_world));
}

/* In a world of one, a receive nothing can satisfy fails instead of hanging, and leaves
 * nothing behind that would take a later message. */
static void body_self_deadlock(void)
{
  int v = 0, flag = -1;
  size_t index = 0;
  tubo_status_t st, sts[2];
  TH_EXPECT_RC(tubo_recv(&v, sizeof v, 0, 1, th_world, &st), TUBO_EDEADLK);
  TH_EXPECT_RC(tubo_recv(&v, sizeof v, TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &st), TUBO_EDEADLK);
  TH_EXPECT_RC(tubo_probe(0, 1, th_world, &st), TUBO_EDEADLK);
  TH_OK(tubo_iprobe(TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &flag, &st));
  TH_EQ("iprobe flag with nothing sent", flag, 0);
  tubo_request_t *r[2] = {NULL, NULL};
  TH_OK(tubo_irecv(&v, sizeof v, 0, 1, th_world, &r[0]));
  TH_OK(tubo_test(&r[0], &flag, &st));
  TH_EQ("tubo_test flag of an unsatisfied receive", flag, 0);
  TH_CHECK(r[0] != NULL, "tubo_test freed a request that did not complete");
  TH_EXPECT_RC(tubo_wait(&r[0], &st), TUBO_EDEADLK);
  TH_CHECK(r[0] == NULL, "tubo_wait left the failed request set");
  TH_OK(tubo_irecv(&v, sizeof v, 0, 1, th_world, &r[0]));
  TH_OK(tubo_irecv(&v, sizeof v, TUBO_ANY_SOURCE, 2, th_world, &r[1]));
  TH_EXPECT_RC(tubo_waitall(2, r, sts), TUBO_EDEADLK);
  TH_EQ("waitall statuses[0].error", sts[0].error, TUBO_EDEADLK);
  TH_EQ("waitall statuses[1].error", sts[1].error, TUBO_EDEADLK);
  TH_OK(tubo_irecv(&v, sizeof v, 0, 1, th_world, &r[0]));
  TH_EXPECT_RC(tubo_waitany(2, r, &index, &st), TUBO_EDEADLK);
  TH_EQ("waitany index", index, 0);
  /* The failed receives are gone: a message to self goes to the receive posted now. */
  int a = 11, b = 22;
  TH_OK(tubo_send(&a, sizeof a, 0, 1, th_world));
  TH_OK(tubo_irecv(&v, sizeof v, 0, 2, th_world, &r[0]));
  TH_OK(tubo_send(&b, sizeof b, 0, 2, th_world));
  TH_OK(tubo_wait(&r[0], &st));
  TH_STATUS(st, 0, 2, sizeof b, 0);
  TH_EQ("payload of the tag-2 message", v, 22);
  TH_OK(tubo_recv(&v, sizeof v, 0, 1, th_world, &st));
  TH_STATUS(st, 0, 1, sizeof a, 0);
  TH_EQ("payload of the tag-1 message", v, 11);
}

/* A bad launch environment fails tubo_init and leaves tubo uninitialized, so that a
 * corrected environment can initialize. */
static void body_bad_environment(void)
{
  int flag = -1;
  setenv("TUBO_RANK", "3", 1);
  setenv("TUBO_SIZE", "2", 1);
  TH_EXPECT_RC(tubo_init(NULL, NULL), TUBO_ELAUNCH);
  TH_OK(tubo_initialized(&flag));
  TH_EQ("tubo_initialized after a failed tubo_init", flag, 0);
  TH_CHECK(tubo_comm_world() == NULL, "tubo_comm_world(): expected NULL after a failed init");
  unsetenv("TUBO_RANK");
  unsetenv("TUBO_SIZE");
  setenv("TUBO_TRANSPORT", "carrier-pigeon", 1);
  TH_EXPECT_RC(tubo_init(NULL, NULL), TUBO_ELAUNCH);
  unsetenv("TUBO_TRANSPORT");
  init_world();
  TH_EQ("size after a corrected environment", th_size, 1);
  TH_OK(tubo_finalize());
}

/* Ranks leave right after a barrier, while others may still be finishing it: a rank
 * still in the barrier must take the last message of a peer that has already exited
 * (over pipes, tuborun's notice of the exit once arrived before that message and the
 * receive failed with TUBO_EPEER). */
static void body_leave_race(void)
{
  TH_OK(tubo_barrier(th_world));
}

/* Rank 1 ends before it calls tubo_init; rank 0's tubo_init cannot complete without it. */
static void body_never_joins(void)
{
  const char *r = getenv("TUBO_RANK");
  if (r != NULL && strcmp(r, "1") == 0)
    exit(0);
  int rc = tubo_init(NULL, NULL);
  TH_CHECK(rc == TUBO_EPEER, "expected tubo_init to fail with TUBO_EPEER, got %s",
           tubo_err_name(rc));
  exit(1);
}

/* The job above: rank 0's tubo_init and tuborun both name rank 1, not rank 0 (whose
 * failed tubo_init is what stops the job). */
START_TEST(init_names_the_rank_that_never_joined)
{
  const char *argv[] = {th_tuborun(), "-n",     "2",           "--timeout", "120",
                        "@self",      "--body", "never_joins", NULL};
  char *out = NULL;
  int st = th_run(argv, NULL, &out);
  ck_assert_msg(st == 1, "expected exit status 1 (rank 0's), got %d; output:\n%s", st, out);
  const char *want[] = {
      "tubo_init: rank 1 of 2 ended (status 0) before it called tubo_init: the job cannot "
      "start (TUBO_EPEER)\n",
      "never joined the job: it exited with status 0 without calling tubo_init, so the other "
      "ranks' tubo_init could not complete\n"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    ck_assert_msg(strstr(out, want[i]) != NULL, "expected '%s' in the output, got:\n%s", want[i],
                  out);
  const char *named = strstr(out, "tuborun: rank 1 (pid ");
  const char *stop = strstr(out, "tuborun: rank 0 (pid ");
  ck_assert_msg(named != NULL && stop != NULL && named < stop,
                "expected tuborun to name rank 1 before it stops the job for rank 0, got:\n%s",
                out);
  free(out);
}
END_TEST

static const th_body_t bodies[] = {
    {"never_joins", body_never_joins, TH_SELF_INIT},
    {"world_of_one", body_world_of_one, TH_SELF_INIT},
    {"init_twice", body_init_twice, TH_SELF_INIT},
    {"before_init", body_before_init, TH_SELF_INIT},
    {"after_finalize", body_after_finalize, TH_SELF_INIT},
    {"self_messages", body_self_messages, 0},
    {"self_deadlock", body_self_deadlock, 0},
    {"bad_environment", body_bad_environment, TH_SELF_INIT},
    {"leave_race", body_leave_race, 0},
    {NULL, NULL, 0},
};

static Suite *init_suite(void)
{
  Suite *s = suite_create("init");
  th_add_case(s, "world_of_one", 1, TH_SOLO | TH_BOTH);
  /* In a world of one, and in a larger world. */
  static const char *const both_worlds[] = {"init_twice", "before_init", "after_finalize",
                                            "self_messages"};
  for (size_t i = 0; i < sizeof both_worlds / sizeof both_worlds[0]; i++) {
    TCase *tc = th_add_case(s, both_worlds[i], 1, TH_SOLO);
    th_add_job(tc, both_worlds[i], 3, TH_BOTH);
  }
  th_add_case(s, "self_deadlock", 1, TH_SOLO | TH_BOTH);
  th_add_case(s, "bad_environment", 1, TH_SOLO);
  TCase *tc = th_add_case(s, "leave_race", 3, TH_BOTH);
  for (int i = 0; i < 9; i++) {
    th_add_job(tc, "leave_race", 3, TH_BOTH);
    th_add_job(tc, "leave_race", 7, TH_BOTH);
  }
  tc = th_tcase("never_joins");
  tcase_add_test(tc, init_names_the_rank_that_never_joined);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, init_suite);
}
