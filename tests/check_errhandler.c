/* SPDX-License-Identifier: MIT */
/* Error handlers (tubo_comm_set_errhandler, TUBO_ERRORS), TUBO_PROC_NULL as a peer, and
 * tubo_waitall_index: the bodies run as ranks under tuborun (harness.h); the fatal cases
 * run whole jobs and read what tuborun and the ranks printed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* What the handler below heard last. */
static int heard_n, heard_err;
static tubo_comm_t *heard_comm;
static char heard_msg[256];

static void note_error(tubo_comm_t *comm, int err, const char *msg)
{
  heard_n++;
  heard_err = err;
  heard_comm = comm;
  snprintf(heard_msg, sizeof heard_msg, "%s", msg);
}

#define EXPECT_HEARD(err, msg)                                                                    \
  do {                                                                                            \
    TH_CHECK(heard_err == (err), "expected the handler to hear %s, heard %s", tubo_err_name(err), \
             tubo_err_name(heard_err));                                                           \
    TH_CHECK(strcmp(heard_msg, (msg)) == 0, "expected the message '%s', got '%s'", (msg),         \
             heard_msg);                                                                          \
  } while (0)

static void body_handlers(void)
{
  tubo_errhandler_fn *h = NULL;
  TH_OK(tubo_comm_get_errhandler(th_world, &h));
  TH_CHECK(h == TUBO_ERRORS_RETURN, "expected TUBO_ERRORS_RETURN as the default handler");
  char buf[16] = {0};
  /* With the default, errors only return. */
  TH_EXPECT_RC(tubo_send(buf, 4, 5, 0, th_world), TUBO_ERANK);
  TH_OK(tubo_comm_set_errhandler(th_world, note_error));
  TH_OK(tubo_comm_get_errhandler(th_world, &h));
  TH_CHECK(h == note_error, "expected the handler just set");
  TH_EXPECT_RC(tubo_send(buf, 4, 5, 0, th_world), TUBO_ERANK);
  TH_EQ("handler calls", heard_n, 1);
  TH_CHECK(heard_comm == th_world, "expected the handler to get the world");
  char want[128];
  snprintf(want, sizeof want, "tubo_send: rank 5 out of range for a communicator of %d", th_size);
  EXPECT_HEARD(TUBO_ERANK, want);
  TH_EXPECT_RC(tubo_recv(buf, 4, 0, -5, th_world, TUBO_STATUS_IGNORE), TUBO_ETAG);
  EXPECT_HEARD(TUBO_ETAG, "tubo_recv: tag -5 out of range 0 to 1073741823");
  TH_EXPECT_RC(tubo_isend(NULL, 8, 0, 0, th_world, &(tubo_request_t *){NULL}), TUBO_EINVAL);
  EXPECT_HEARD(TUBO_EINVAL, "tubo_isend: NULL buffer for 8 bytes");
  /* A communicator made from the world inherits its handler. */
  tubo_comm_t *dup = NULL;
  TH_OK(tubo_comm_dup(th_world, &dup));
  TH_OK(tubo_comm_get_errhandler(dup, &h));
  TH_CHECK(h == note_error, "expected a dup to inherit the world's handler");
  TH_OK(tubo_comm_set_errhandler(dup, TUBO_ERRORS_RETURN));
  int before = heard_n;
  TH_EXPECT_RC(tubo_send(buf, 4, 9, 0, dup), TUBO_ERANK);
  TH_EQ("handler calls after TUBO_ERRORS_RETURN on the dup", heard_n, before);
  TH_OK(tubo_comm_free(&dup));
  /* tubo_waitall names the failed request without statuses: a receive too small. */
  tubo_request_t *reqs[3] = {NULL, NULL, NULL};
  TH_OK(tubo_isend(buf, 16, th_rank, 7, th_world, &reqs[0]));
  TH_OK(tubo_irecv(buf, 4, th_rank, 7, th_world, &reqs[2]));
  size_t failed = 99;
  TH_EXPECT_RC(tubo_waitall_index(3, reqs, TUBO_STATUSES_IGNORE, &failed), TUBO_ETRUNC);
  TH_EQ("the failed request's index", failed, 2);
  TH_CHECK(reqs[0] == NULL && reqs[2] == NULL, "expected every request freed");
  TH_CHECK(strncmp(heard_msg, "tubo_waitall: request 2 of 3: ", 30) == 0,
           "expected the handler's message to name request 2 of 3, got '%s'", heard_msg);
  TH_OK(tubo_waitall_index(3, reqs, TUBO_STATUSES_IGNORE, &failed));
  TH_EQ("index when nothing failed", failed, (size_t)-1);
  TH_OK(tubo_comm_set_errhandler(th_world, NULL));
  TH_OK(tubo_comm_get_errhandler(th_world, &h));
  TH_CHECK(h == TUBO_ERRORS_RETURN, "expected NULL to bring back the default");
  TH_EXPECT_RC(tubo_comm_set_errhandler(NULL, note_error), TUBO_ECOMM);
  TH_EXPECT_RC(tubo_comm_get_errhandler(th_world, NULL), TUBO_EINVAL);
}

/* Expects the handler to have heard err on comm from one more call, with a message that
 * starts with prefix. */
static void expect_heard_from(int before, tubo_comm_t *comm, int err, const char *prefix)
{
  TH_EQ("handler calls", heard_n, before + 1);
  TH_CHECK(heard_comm == comm, "expected the handler to get communicator %p, got %p", (void *)comm,
           (void *)heard_comm);
  TH_CHECK(heard_err == err, "expected the handler to hear %s, heard %s", tubo_err_name(err),
           tubo_err_name(heard_err));
  TH_CHECK(strncmp(heard_msg, prefix, strlen(prefix)) == 0,
           "expected a message starting '%s', got '%s'", prefix, heard_msg);
}

/* Collectives report to the communicator's handler, blocking or not. */
static void body_coll_errors(void)
{
  TH_OK(tubo_comm_set_errhandler(th_world, note_error));
  int v[4] = {0}, n = heard_n;
  char want[128];
  snprintf(want, sizeof want, "tubo_bcast: root 7 out of range for a communicator of %d", th_size);
  TH_EXPECT_RC(tubo_bcast(v, 1, TUBO_INT, 7, th_world), TUBO_ERANK);
  expect_heard_from(n, th_world, TUBO_ERANK, want);
  TH_CHECK(strcmp(heard_msg, want) == 0, "expected '%s', got '%s'", want, heard_msg);
  n = heard_n;
  TH_EXPECT_RC(tubo_reduce(v, v + 1, 1, TUBO_INT, TUBO_SUM, -1, th_world), TUBO_ERANK);
  expect_heard_from(n, th_world, TUBO_ERANK, "tubo_reduce: root -1 out of range");
  n = heard_n;
  TH_EXPECT_RC(tubo_allreduce(v, v + 1, 1, TUBO_INT, NULL, th_world), TUBO_EOP);
  expect_heard_from(n, th_world, TUBO_EOP, "tubo_allreduce: invalid operation");
  n = heard_n;
  TH_EXPECT_RC(tubo_allreduce(v, v, 1, TUBO_INT, TUBO_SUM, th_world), TUBO_EINVAL);
  expect_heard_from(n, th_world, TUBO_EINVAL, "tubo_allreduce: invalid buffers or counts");
  n = heard_n;
  TH_EXPECT_RC(tubo_iallreduce(v, v + 1, 1, TUBO_INT, TUBO_SUM, th_world, NULL), TUBO_EINVAL);
  expect_heard_from(n, th_world, TUBO_EINVAL, "tubo_iallreduce: NULL request pointer");
  n = heard_n;
  TH_EXPECT_RC(tubo_ibcast(v, 1, TUBO_INT, 0, th_world, NULL), TUBO_EINVAL);
  expect_heard_from(n, th_world, TUBO_EINVAL, "tubo_ibcast: NULL request pointer");
  n = heard_n;
  TH_EXPECT_RC(tubo_gather(v, v + 1, 1, (tubo_type_t)999, 0, th_world), TUBO_EINVAL);
  expect_heard_from(n, th_world, TUBO_EINVAL, "tubo_gather: invalid type 999");
  /* A bad communicator goes to the world's handler, which hears NULL for it. */
  n = heard_n;
  TH_EXPECT_RC(tubo_barrier(NULL), TUBO_ECOMM);
  expect_heard_from(n, NULL, TUBO_ECOMM, "tubo_barrier: invalid communicator");
  /* Calls that succeed say nothing. */
  n = heard_n;
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_allreduce(v, v + 1, 1, TUBO_INT, TUBO_SUM, th_world));
  TH_EQ("handler calls after calls that succeed", heard_n, n);
  /* A non-blocking collective that fails where it completes is named, with the call that
   * completed it: counts that disagree truncate the broadcast on rank 1. */
  tubo_request_t *rq = NULL;
  TH_OK(tubo_ibcast(v, th_rank == 0 ? 2 : 1, TUBO_INT, 0, th_world, &rq));
  if (th_rank == 0) {
    TH_OK(tubo_wait(&rq, TUBO_STATUS_IGNORE));
  } else {
    TH_EXPECT_RC(tubo_wait(&rq, TUBO_STATUS_IGNORE), TUBO_ETRUNC);
    expect_heard_from(n, th_world, TUBO_ETRUNC, "tubo_ibcast (completed in tubo_wait): ");
  }
  TH_CHECK(rq == NULL, "expected tubo_wait to free the request");
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_comm_set_errhandler(th_world, NULL));
}

static int worker_exit3(tubo_comm_t *comm, void *arg)
{
  (void)comm;
  (void)arg;
  return 3;
}

/* tubo_spawn reports to the world's handler, which its communicator inherits;
 * tubo_spawn_join and tubo_abort to their communicator's. */
static void body_spawn_errors(void)
{
  TH_OK(tubo_comm_set_errhandler(th_world, note_error));
  tubo_comm_t *c = NULL;
  int n = heard_n;
  TH_EXPECT_RC(tubo_spawn(0, worker_exit3, NULL, &c), TUBO_EINVAL);
  expect_heard_from(n, NULL, TUBO_EINVAL, "tubo_spawn: 0 workers: out of range 1 to ");
  n = heard_n;
  TH_EXPECT_RC(tubo_spawn(1, NULL, NULL, &c), TUBO_EINVAL);
  expect_heard_from(n, NULL, TUBO_EINVAL, "tubo_spawn: NULL worker function");
  TH_OK(tubo_spawn(1, worker_exit3, NULL, &c));
  tubo_errhandler_fn *h = NULL;
  TH_OK(tubo_comm_get_errhandler(c, &h));
  TH_CHECK(h == note_error, "expected the spawned communicator to inherit the world's handler");
  tubo_comm_t *spawned = c;
  int code = -9;
  n = heard_n;
  TH_EXPECT_RC(tubo_spawn_join(&c, &code), TUBO_EPEER);
  TH_EQ("the worker's exit code", code, 3);
  expect_heard_from(n, spawned, TUBO_EPEER,
                    "tubo_spawn_join: worker 0 (rank 1) exited with status 3");
  n = heard_n;
  TH_EXPECT_RC(tubo_spawn_join(NULL, NULL), TUBO_EINVAL);
  expect_heard_from(n, NULL, TUBO_EINVAL, "tubo_spawn_join: NULL communicator pointer");
  tubo_comm_t *world = th_world;
  n = heard_n;
  TH_EXPECT_RC(tubo_spawn_join(&world, NULL), TUBO_ECOMM);
  expect_heard_from(n, th_world, TUBO_ECOMM, "tubo_spawn_join: communicator ");
  n = heard_n;
  TH_EXPECT_RC(tubo_abort(NULL, 3), TUBO_ECOMM);
  expect_heard_from(n, NULL, TUBO_ECOMM, "tubo_abort: invalid communicator");
  TH_OK(tubo_comm_set_errhandler(th_world, NULL));
}

/* Communicator calls report to the handler: the ones every rank makes (split with a bad
 * color or type) fail on every rank alike. */
static void body_comm_errors(void)
{
  TH_OK(tubo_comm_set_errhandler(th_world, note_error));
  tubo_comm_t *c = (tubo_comm_t *)&c;
  int n = heard_n;
  TH_EXPECT_RC(tubo_comm_split(th_world, -5, 0, &c), TUBO_EINVAL);
  expect_heard_from(n, th_world, TUBO_EINVAL,
                    "tubo_comm_split: color -5 is negative and not TUBO_UNDEFINED");
  TH_CHECK(c == NULL, "expected no communicator from a bad color");
  n = heard_n;
  TH_EXPECT_RC(tubo_comm_split_type(th_world, 99, 0, &c), TUBO_EINVAL);
  expect_heard_from(n, th_world, TUBO_EINVAL, "tubo_comm_split_type: type 99 is neither");
  n = heard_n;
  TH_EXPECT_RC(tubo_comm_dup(th_world, NULL), TUBO_EINVAL);
  expect_heard_from(n, th_world, TUBO_EINVAL, "tubo_comm_dup: NULL newcomm pointer");
  n = heard_n;
  tubo_comm_t *w = th_world;
  TH_EXPECT_RC(tubo_comm_free(&w), TUBO_ECOMM);
  expect_heard_from(n, th_world, TUBO_ECOMM, "tubo_comm_free: communicator ");
  n = heard_n;
  TH_EXPECT_RC(tubo_comm_rank(th_world, NULL), TUBO_EINVAL);
  expect_heard_from(n, th_world, TUBO_EINVAL, "tubo_comm_rank: NULL rank pointer");
  n = heard_n;
  const char *name = NULL;
  TH_EXPECT_RC(tubo_comm_transport(th_world, th_size, &name), TUBO_ERANK);
  expect_heard_from(n, th_world, TUBO_ERANK, "tubo_comm_transport: rank ");
  n = heard_n;
  TH_EXPECT_RC(tubo_send_loan(&n, sizeof n, th_size, 0, th_world), TUBO_ERANK);
  expect_heard_from(n, th_world, TUBO_ERANK, "tubo_send_loan: rank ");
  /* A split's handler is its parent's, and reports with the new communicator. */
  TH_OK(tubo_comm_split(th_world, 0, th_rank, &c));
  n = heard_n;
  TH_EXPECT_RC(tubo_bcast(&n, 1, TUBO_INT, th_size, c), TUBO_ERANK);
  expect_heard_from(n, c, TUBO_ERANK, "tubo_bcast: root ");
  TH_OK(tubo_comm_free(&c));
  /* An open call of a pattern reports as itself. */
  n = heard_n;
  tubo_queue_t *q = NULL;
  TH_EXPECT_RC(tubo_queue_open(NULL, 4, 8, 0, &q), TUBO_ECOMM);
  expect_heard_from(n, NULL, TUBO_ECOMM, "tubo_queue_open: invalid communicator");
  n = heard_n;
  tubo_pipe_t *p = NULL;
  TH_EXPECT_RC(tubo_pipe_open(th_world, th_rank, &p), TUBO_ERANK);
  expect_heard_from(n, th_world, TUBO_ERANK, "tubo_pipe_open: peer ");
  TH_OK(tubo_comm_set_errhandler(th_world, NULL));
}

/* A pattern's own point-to-point traffic fails (a pipe's message longer than the reader's
 * buffer truncates its internal receive): the pattern's call returns the error, and the
 * user's handler, which no call of the user's failed for, hears nothing. */
static void body_pattern_quiet(void)
{
  TH_OK(tubo_comm_set_errhandler(th_world, note_error));
  tubo_pipe_t *p = NULL;
  TH_OK(tubo_pipe_open(th_world, 1 - th_rank, &p));
  char buf[16] = "0123456789abcde";
  int n = heard_n;
  if (th_rank == 0) {
    TH_OK(tubo_pipe_send(p, buf, sizeof buf));
  } else {
    size_t len = 0;
    TH_EXPECT_RC(tubo_pipe_recv(p, buf, 4, &len), TUBO_ETRUNC);
    TH_CHECK(heard_n == n,
             "expected the handler not to hear the pipe's internal receive, "
             "it heard '%s'",
             heard_msg);
  }
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_pipe_free(p));
  TH_OK(tubo_comm_set_errhandler(th_world, NULL));
}

/* A line of ranks, each exchanging with its neighbours, TUBO_PROC_NULL past the ends. */
static void body_proc_null(void)
{
  int left = th_rank > 0 ? th_rank - 1 : TUBO_PROC_NULL;
  int right = th_rank + 1 < th_size ? th_rank + 1 : TUBO_PROC_NULL;
  int out = th_rank, in = -7;
  tubo_status_t st;
  TH_OK(tubo_sendrecv(&out, sizeof out, right, 3, &in, sizeof in, left, 3, th_world, &st));
  if (left == TUBO_PROC_NULL) {
    TH_EQ("value from PROC_NULL (untouched)", in, -7);
    TH_EQ("status source of PROC_NULL", st.source, TUBO_PROC_NULL);
    TH_EQ("status tag of PROC_NULL", st.tag, TUBO_ANY_TAG);
    TH_EQ("status length of PROC_NULL", st.length, 0);
  } else {
    TH_EQ("value from the left", in, left);
    TH_EQ("status source", st.source, left);
  }
  /* Blocking and non-blocking calls on PROC_NULL complete at once. */
  TH_OK(tubo_send(&out, sizeof out, TUBO_PROC_NULL, 1, th_world));
  st.source = 12345;
  TH_OK(tubo_recv(&in, sizeof in, TUBO_PROC_NULL, TUBO_ANY_TAG, th_world, &st));
  TH_EQ("recv status source", st.source, TUBO_PROC_NULL);
  TH_EQ("recv status length", st.length, 0);
  tubo_request_t *r[2];
  TH_OK(tubo_isend(&out, sizeof out, TUBO_PROC_NULL, 1, th_world, &r[0]));
  TH_OK(tubo_irecv(&in, sizeof in, TUBO_PROC_NULL, 1, th_world, &r[1]));
  tubo_status_t sts[2];
  TH_OK(tubo_waitall(2, r, sts));
  TH_EQ("irecv status source", sts[1].source, TUBO_PROC_NULL);
  TH_EQ("irecv status length", sts[1].length, 0);
  int flag = 0;
  TH_OK(tubo_iprobe(TUBO_PROC_NULL, TUBO_ANY_TAG, th_world, &flag, &st));
  TH_EQ("iprobe flag", flag, 1);
  TH_EQ("iprobe status source", st.source, TUBO_PROC_NULL);
  TH_OK(tubo_probe(TUBO_PROC_NULL, 4, th_world, &st));
  TH_EQ("probe status source", st.source, TUBO_PROC_NULL);
  /* Other negative ranks stay errors. */
  TH_EXPECT_RC(tubo_send(&out, sizeof out, -3, 1, th_world), TUBO_ERANK);
  TH_EXPECT_RC(tubo_recv(&in, sizeof in, -3, 1, th_world, &st), TUBO_ERANK);
}

/* Rank 1 sends to a rank the world lacks with the fatal handler set; rank 0 waits for it. */
static void body_fatal(void)
{
  TH_OK(tubo_init(NULL, NULL));
  tubo_comm_rank(TUBO_COMM_WORLD, &th_rank);
  char c = 0;
  if (th_rank == 1) {
    TH_OK(tubo_comm_set_errhandler(TUBO_COMM_WORLD, TUBO_ERRORS_ARE_FATAL));
    tubo_send(&c, 1, 5, 0, TUBO_COMM_WORLD);
    th_fail(__FILE__, __LINE__, "expected tubo_send to end the job");
  }
  int rc = tubo_recv(&c, 1, 1, 0, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE);
  TH_CHECK(rc == TUBO_EABORT || rc == TUBO_EPEER, "expected the job ended, got %s",
           tubo_err_name(rc));
  exit(0);
}

/* Rank 1 calls a collective with a bad root under the fatal handler; rank 0 waits in the
 * same collective, which the abort ends. */
static void body_coll_fatal(void)
{
  TH_OK(tubo_init(NULL, NULL));
  tubo_comm_rank(TUBO_COMM_WORLD, &th_rank);
  int v = 0;
  if (th_rank == 1) {
    TH_OK(tubo_comm_set_errhandler(TUBO_COMM_WORLD, TUBO_ERRORS_ARE_FATAL));
    tubo_bcast(&v, 1, TUBO_INT, 7, TUBO_COMM_WORLD);
    th_fail(__FILE__, __LINE__, "expected tubo_bcast to end the job");
  }
  int rc = tubo_bcast(&v, 1, TUBO_INT, 1, TUBO_COMM_WORLD);
  TH_CHECK(rc == TUBO_EABORT || rc == TUBO_EPEER, "expected the job ended, got %s",
           tubo_err_name(rc));
  exit(0);
}

/* Started with TUBO_ERRORS=fatal: rank 0 receives with a bad tag; rank 1 waits. */
static void body_env_fatal(void)
{
  TH_OK(tubo_init(NULL, NULL));
  tubo_comm_rank(TUBO_COMM_WORLD, &th_rank);
  char c = 0;
  tubo_errhandler_fn *h = NULL;
  TH_OK(tubo_comm_get_errhandler(TUBO_COMM_WORLD, &h));
  TH_CHECK(h == TUBO_ERRORS_ARE_FATAL, "expected TUBO_ERRORS=fatal to make it the default");
  if (th_rank == 0)
    tubo_recv(&c, 1, 1, -2, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE);
  else
    tubo_recv(&c, 1, 0, 0, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE);
  th_fail(__FILE__, __LINE__, "expected the job to end");
}

/* Started with TUBO_ERRORS=fatal, a rank that forgot tubo_init. */
static void body_no_init(void)
{
  char c = 0;
  tubo_send(&c, 1, 1, 0, TUBO_COMM_WORLD);
  th_fail(__FILE__, __LINE__, "expected tubo_send before tubo_init to end the job");
}

static void expect_job(const char *body, const char *env1, int want_status, const char *want)
{
  const char *argv[] = {th_tuborun(), "-n", "2", "--timeout", "120", "@self", "--body", body, NULL};
  const char *env[] = {env1, NULL};
  char *out = NULL;
  int st = th_run(argv, env1 != NULL ? env : NULL, &out);
  ck_assert_msg(st == want_status, "body %s: expected exit status %d, got %d; output:\n%s", body,
                want_status, st, out);
  ck_assert_msg(strstr(out, want) != NULL, "body %s: expected '%s' in the output, got:\n%s", body,
                want, out);
  free(out);
}

START_TEST(fatal_handler_ends_the_job_and_says_why)
{
  expect_job("fatal", NULL, 1,
             "tubo_send: rank 5 out of range for a communicator of 2 (TUBO_ERANK) on rank 1 "
             "of 2; aborting the job\n");
}
END_TEST

START_TEST(fatal_handler_ends_the_job_from_a_collective)
{
  expect_job("coll_fatal", NULL, 1,
             "tubo_bcast: root 7 out of range for a communicator of 2 (TUBO_ERANK) on rank 1 "
             "of 2; aborting the job\n");
}
END_TEST

START_TEST(tubo_errors_fatal_is_the_jobs_default)
{
  expect_job("env_fatal", "TUBO_ERRORS=fatal", 1,
             "tubo_recv: tag -2 out of range 0 to 1073741823 (TUBO_ETAG) on rank 0 of 2");
}
END_TEST

START_TEST(tubo_errors_fatal_catches_a_missing_init)
{
  expect_job("no_init", "TUBO_ERRORS=fatal", 1,
             "tubo_send: tubo is not initialized (call tubo_init first) (TUBO_ENOTINIT); "
             "aborting\n");
}
END_TEST

static Suite *errhandler_suite(void)
{
  Suite *s = suite_create("errhandler");
  th_add_case(s, "handlers", 2, TH_SHM);
  th_add_case(s, "coll_errors", 2, TH_SHM);
  th_add_case(s, "comm_errors", 2, TH_SHM);
  th_add_case(s, "spawn_errors", 1, TH_SHM);
  th_add_case(s, "pattern_quiet", 2, TH_BOTH);
  th_add_case(s, "proc_null", 3, TH_BOTH);
  TCase *tc = th_tcase("fatal");
  tcase_add_test(tc, fatal_handler_ends_the_job_and_says_why);
  tcase_add_test(tc, fatal_handler_ends_the_job_from_a_collective);
  tcase_add_test(tc, tubo_errors_fatal_is_the_jobs_default);
  tcase_add_test(tc, tubo_errors_fatal_catches_a_missing_init);
  suite_add_tcase(s, tc);
  return s;
}

static const th_body_t bodies[] = {{"handlers", body_handlers, 0},
                                   {"proc_null", body_proc_null, 0},
                                   {"coll_errors", body_coll_errors, 0},
                                   {"comm_errors", body_comm_errors, 0},
                                   {"spawn_errors", body_spawn_errors, 0},
                                   {"pattern_quiet", body_pattern_quiet, 0},
                                   {"coll_fatal", body_coll_fatal, TH_SELF_INIT},
                                   {"fatal", body_fatal, TH_SELF_INIT},
                                   {"env_fatal", body_env_fatal, TH_SELF_INIT},
                                   {"no_init", body_no_init, TH_SELF_INIT},
                                   {NULL, NULL, 0}};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, errhandler_suite);
}
