/* SPDX-License-Identifier: MIT */
/* Bad input to Process, spawned workers and Pipe. One test per public function gives it
 * every kind of bad input that applies (NULL, bogus and freed handles, handles closed or
 * in the wrong state, NULL buffers, impossible sizes, bad communicators) and expects the
 * code tubo.h documents, without a crash. Each test is its own process; those that need a
 * communicator are a world of one without a launcher. */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "badinput.h"

/* ---- Process ---- */

static int proc_ok(void *arg)
{
  (void)arg;
  return 0;
}

static tubo_process_t *new_process(void)
{
  tubo_process_t *p = NULL;
  BI_RC("tubo_process_create", tubo_process_create(proc_ok, NULL, &p), 0);
  return p;
}

static void *freed_process(void)
{
  tubo_process_t *p = new_process();
  BI_RC("tubo_process_free", tubo_process_free(p), 0);
  return p;
}

/* A process that ran and was joined. */
static tubo_process_t *ended_process(void)
{
  tubo_process_t *p = new_process();
  BI_RC("tubo_process_start", tubo_process_start(p), 0);
  BI_RC("tubo_process_join", tubo_process_join(p, -1), 0);
  return p;
}

START_TEST(test_process_create)
{
  tubo_process_t *sentinel = (tubo_process_t *)(void *)&sentinel, *p = sentinel;
  BI_RC("tubo_process_create(fn, arg, NULL)", tubo_process_create(proc_ok, NULL, NULL),
        TUBO_EINVAL);
  BI_RC("tubo_process_create(NULL fn, arg, &p)", tubo_process_create(NULL, NULL, &p), TUBO_EINVAL);
  ck_assert_msg(p == sentinel, "failed tubo_process_create: expected the handle untouched");
}
END_TEST

static int call_process_start(void *h)
{
  return tubo_process_start(h);
}

START_TEST(test_process_start)
{
  bi_handle_cases("tubo_process_start", call_process_start, freed_process(), TUBO_EPROCESS);
  tubo_process_t *p = ended_process();
  BI_RC("tubo_process_start(already started)", tubo_process_start(p), TUBO_EINVAL);
  BI_RC("tubo_process_free", tubo_process_free(p), 0);
}
END_TEST

/* Runs the handle cases of a call that needs a started process, and the call on one that
 * was never started. */
static void unstarted_cases(const char *name, bi_handle_call_fn call)
{
  bi_handle_cases(name, call, freed_process(), TUBO_EPROCESS);
  tubo_process_t *p = new_process();
  char what[128];
  snprintf(what, sizeof what, "%s(never started)", name);
  BI_RC(what, call(p), TUBO_EINVAL);
  BI_RC("tubo_process_free", tubo_process_free(p), 0);
}

static int call_process_join(void *h)
{
  return tubo_process_join(h, 0);
}

START_TEST(test_process_join)
{
  unstarted_cases("tubo_process_join", call_process_join);
}
END_TEST

/* pid, exitcode and is_alive: a process and where the answer goes. */
typedef int (*process_out_fn)(tubo_process_t *p, int *out);
static process_out_fn process_out;

static int call_process_out(void *h)
{
  int out;
  return process_out(h, &out);
}

/* The handle cases (with the never-started one if needs_start), and NULL for the answer. */
static void process_out_cases(const char *name, process_out_fn fn, int needs_start)
{
  process_out = fn;
  if (needs_start)
    unstarted_cases(name, call_process_out);
  else
    bi_handle_cases(name, call_process_out, freed_process(), TUBO_EPROCESS);
  tubo_process_t *p = ended_process();
  char what[96];
  snprintf(what, sizeof what, "%s(p, NULL)", name);
  BI_RC(what, fn(p, NULL), TUBO_EINVAL);
  BI_RC("tubo_process_free", tubo_process_free(p), 0);
}

static int process_pid_as_out(tubo_process_t *p, int *out)
{
  return tubo_process_pid(p, out);
}

START_TEST(test_process_pid)
{
  process_out_cases("tubo_process_pid", process_pid_as_out, 1);
}
END_TEST

START_TEST(test_process_exitcode)
{
  process_out_cases("tubo_process_exitcode", tubo_process_exitcode, 1);
}
END_TEST

START_TEST(test_process_is_alive)
{
  process_out_cases("tubo_process_is_alive", tubo_process_is_alive, 0);
}
END_TEST

static int call_process_terminate(void *h)
{
  return tubo_process_terminate(h);
}

START_TEST(test_process_terminate)
{
  unstarted_cases("tubo_process_terminate", call_process_terminate);
}
END_TEST

static int call_process_free(void *h)
{
  return tubo_process_free(h);
}

START_TEST(test_process_free)
{
  /* The freed handle case is a second free. */
  bi_handle_cases("tubo_process_free", call_process_free, freed_process(), TUBO_EPROCESS);
}
END_TEST

/* ---- Spawned workers ---- */

START_TEST(test_spawn)
{
  static const int bad_counts[] = {0, -1, INT_MIN, 4096, INT_MAX};
  tubo_comm_t *c = NULL;
  char what[96];
  for (size_t i = 0; i < sizeof bad_counts / sizeof bad_counts[0]; i++) {
    snprintf(what, sizeof what, "tubo_spawn(%d workers)", bad_counts[i]);
    BI_RC(what, tubo_spawn(bad_counts[i], bi_worker_ok, NULL, &c), TUBO_EINVAL);
  }
  BI_RC("tubo_spawn(NULL fn)", tubo_spawn(1, NULL, NULL, &c), TUBO_EINVAL);
  BI_RC("tubo_spawn(NULL comm)", tubo_spawn(1, bi_worker_ok, NULL, NULL), TUBO_EINVAL);
  ck_assert_msg(c == NULL, "failed tubo_spawn calls: expected no communicator");
}
END_TEST

static int call_spawn_join(tubo_comm_t *comm)
{
  return tubo_spawn_join(&comm, NULL);
}

static void spawn_join_extra(tubo_comm_t *world)
{
  BI_RC("tubo_spawn_join(NULL)", tubo_spawn_join(NULL, NULL), TUBO_EINVAL);
  tubo_comm_t *c = world;
  BI_RC("tubo_spawn_join(&world)", tubo_spawn_join(&c, NULL), TUBO_ECOMM);
  ck_assert_msg(c == world, "failed tubo_spawn_join: expected the handle untouched");
}

START_TEST(test_spawn_join)
{
  bi_comm_cases("tubo_spawn_join", call_spawn_join, TUBO_ENOTINIT, spawn_join_extra);
}
END_TEST

/* ---- Pipe ---- */

/* A pipe; with TUBO_PIPE_ONEWAY, ends[0] only receives and ends[1] only sends. */
static void new_pipe(unsigned flags, tubo_pipe_t *ends[2])
{
  BI_RC("tubo_pipe_create", tubo_pipe_create(flags, &ends[0], &ends[1]), 0);
}

static void *freed_pipe(void)
{
  tubo_pipe_t *e[2];
  new_pipe(TUBO_PIPE_DUPLEX, e);
  BI_RC("tubo_pipe_free(end 0)", tubo_pipe_free(e[0]), 0);
  BI_RC("tubo_pipe_free(end 1)", tubo_pipe_free(e[1]), 0);
  return e[0];
}

/* A pipe opened on a communicator that is gone since: one made by tubo_spawn (the worker
 * need not open its end for this one to exist), then joined. It initializes tubo. */
static tubo_pipe_t *orphan_pipe(void)
{
  tubo_comm_t *c = NULL;
  tubo_pipe_t *end = NULL;
  /* A live world, so that a communicator gone is told from no world at all. */
  bi_init();
  BI_RC("tubo_spawn(1 worker)", tubo_spawn(1, bi_worker_ok, NULL, &c), 0);
  BI_RC("tubo_pipe_open(spawned comm, 1)", tubo_pipe_open(c, 1, &end), 0);
  BI_RC("tubo_spawn_join", tubo_spawn_join(&c, NULL), 0);
  return end;
}

/* The handle cases, the call on a closed end, on the end of a one-way pipe that goes the
 * other way (wrong_way, or -1 for a call that any end may make), and on a pipe whose
 * communicator is gone (orphan_rc). */
static void pipe_cases(const char *name, bi_handle_call_fn call, int wrong_way, int orphan_rc)
{
  bi_handle_cases(name, call, freed_pipe(), TUBO_EPIPE);
  char what[128];
  tubo_pipe_t *e[2];
  new_pipe(TUBO_PIPE_ONEWAY, e);
  if (wrong_way >= 0) {
    snprintf(what, sizeof what, "%s(end %d of a one-way pipe)", name, wrong_way);
    BI_RC(what, call(e[wrong_way]), TUBO_ENOTSUP);
  }
  BI_RC("tubo_pipe_close", tubo_pipe_close(e[0]), 0);
  snprintf(what, sizeof what, "%s(closed end)", name);
  BI_RC(what, call(e[0]), TUBO_ECLOSED);
  BI_RC("tubo_pipe_free(end 0)", tubo_pipe_free(e[0]), 0);
  BI_RC("tubo_pipe_free(end 1)", tubo_pipe_free(e[1]), 0);
  tubo_pipe_t *orphan = orphan_pipe();
  snprintf(what, sizeof what, "%s(pipe of a joined communicator)", name);
  BI_RC(what, call(orphan), orphan_rc);
  BI_RC("tubo_pipe_free(pipe of a joined communicator)", tubo_pipe_free(orphan), 0);
}

START_TEST(test_pipe_create)
{
  tubo_pipe_t *e = NULL;
  tubo_pipe_t *e1 = NULL;
  BI_RC("tubo_pipe_create(DUPLEX, NULL, &e)", tubo_pipe_create(TUBO_PIPE_DUPLEX, NULL, &e),
        TUBO_EINVAL);
  BI_RC("tubo_pipe_create(DUPLEX, &e, NULL)", tubo_pipe_create(TUBO_PIPE_DUPLEX, &e, NULL),
        TUBO_EINVAL);
  BI_RC("tubo_pipe_create(ONEWAY, NULL, NULL)", tubo_pipe_create(TUBO_PIPE_ONEWAY, NULL, NULL),
        TUBO_EINVAL);
  static const unsigned bad_flags[] = {0x2, 0x80000000u, ~0u, TUBO_PIPE_ONEWAY | 0x4};
  char what[96];
  for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
    snprintf(what, sizeof what, "tubo_pipe_create(unknown flags 0x%x)", bad_flags[i]);
    BI_RC(what, tubo_pipe_create(bad_flags[i], &e, &e1), TUBO_EINVAL);
  }
  ck_assert_msg(e == NULL && e1 == NULL, "failed tubo_pipe_create calls: expected no pipe");
}
END_TEST

static int call_pipe_open(tubo_comm_t *comm)
{
  tubo_pipe_t *end;
  return tubo_pipe_open(comm, 0, &end);
}

static void pipe_open_extra(tubo_comm_t *world)
{
  tubo_pipe_t *end = NULL;
  char what[96];
  BI_RC("tubo_pipe_open(world, 0, NULL)", tubo_pipe_open(world, 0, NULL), TUBO_EINVAL);
  /* In a world of one every peer is bad: rank 0 is this rank itself. */
  BI_RC("tubo_pipe_open(peer 0, oneself)", tubo_pipe_open(world, 0, &end), TUBO_ERANK);
  for (int i = 0; i < BI_NRANKS; i++) {
    snprintf(what, sizeof what, "tubo_pipe_open(peer %d)", bi_bad_ranks[i]);
    BI_RC(what, tubo_pipe_open(world, bi_bad_ranks[i], &end), TUBO_ERANK);
  }
  ck_assert_msg(end == NULL, "failed tubo_pipe_open calls: expected no pipe");
}

START_TEST(test_pipe_open)
{
  bi_comm_cases("tubo_pipe_open", call_pipe_open, TUBO_ENOTINIT, pipe_open_extra);
}
END_TEST

static int call_pipe_send(void *h)
{
  char byte = 0;
  return tubo_pipe_send(h, &byte, 1);
}

START_TEST(test_pipe_send)
{
  pipe_cases("tubo_pipe_send", call_pipe_send, 0, TUBO_ECOMM);
  tubo_pipe_t *e[2];
  char byte = 0;
  new_pipe(TUBO_PIPE_DUPLEX, e);
  BI_RC("tubo_pipe_send(NULL buffer, length 1)", tubo_pipe_send(e[0], NULL, 1), TUBO_EINVAL);
  for (int i = 0; i < BI_NHUGE; i++)
    BI_RC("tubo_pipe_send(huge length)", tubo_pipe_send(e[0], &byte, bi_huge_lens[i]),
          TUBO_ETOOBIG);
  BI_RC("tubo_pipe_free(end 0)", tubo_pipe_free(e[0]), 0);
  BI_RC("tubo_pipe_free(end 1)", tubo_pipe_free(e[1]), 0);
}
END_TEST

static int call_pipe_recv(void *h)
{
  char byte;
  size_t len;
  return tubo_pipe_recv(h, &byte, 1, &len);
}

START_TEST(test_pipe_recv)
{
  pipe_cases("tubo_pipe_recv", call_pipe_recv, 1, TUBO_ECOMM);
  tubo_pipe_t *e[2];
  new_pipe(TUBO_PIPE_DUPLEX, e);
  BI_RC("tubo_pipe_recv(NULL buffer, capacity 1)", tubo_pipe_recv(e[0], NULL, 1, NULL),
        TUBO_EINVAL);
  BI_RC("tubo_pipe_free(end 0)", tubo_pipe_free(e[0]), 0);
  BI_RC("tubo_pipe_free(end 1)", tubo_pipe_free(e[1]), 0);
}
END_TEST

static int call_pipe_recv_alloc(void *h)
{
  void *buf;
  size_t len;
  return tubo_pipe_recv_alloc(h, &buf, &len);
}

START_TEST(test_pipe_recv_alloc)
{
  pipe_cases("tubo_pipe_recv_alloc", call_pipe_recv_alloc, 1, TUBO_ECOMM);
  tubo_pipe_t *e[2];
  new_pipe(TUBO_PIPE_DUPLEX, e);
  BI_RC("tubo_pipe_recv_alloc(NULL buffer)", tubo_pipe_recv_alloc(e[0], NULL, NULL), TUBO_EINVAL);
  BI_RC("tubo_pipe_free(end 0)", tubo_pipe_free(e[0]), 0);
  BI_RC("tubo_pipe_free(end 1)", tubo_pipe_free(e[1]), 0);
}
END_TEST

static int call_pipe_poll(void *h)
{
  int ready;
  return tubo_pipe_poll(h, 0, &ready);
}

START_TEST(test_pipe_poll)
{
  pipe_cases("tubo_pipe_poll", call_pipe_poll, 1, TUBO_ECOMM);
  tubo_pipe_t *e[2];
  new_pipe(TUBO_PIPE_DUPLEX, e);
  BI_RC("tubo_pipe_poll(NULL ready)", tubo_pipe_poll(e[0], 0, NULL), TUBO_EINVAL);
  BI_RC("tubo_pipe_free(end 0)", tubo_pipe_free(e[0]), 0);
  BI_RC("tubo_pipe_free(end 1)", tubo_pipe_free(e[1]), 0);
}
END_TEST

static int call_pipe_close(void *h)
{
  return tubo_pipe_close(h);
}

START_TEST(test_pipe_close)
{
  /* The closed end case is a second close; a pipe whose communicator is gone closes
   * without telling anyone. */
  pipe_cases("tubo_pipe_close", call_pipe_close, -1, 0);
}
END_TEST

static int call_pipe_free(void *h)
{
  return tubo_pipe_free(h);
}

START_TEST(test_pipe_free)
{
  /* The freed handle case is a second free; a closed end is freed as an open one. */
  bi_handle_cases("tubo_pipe_free", call_pipe_free, freed_pipe(), TUBO_EPIPE);
}
END_TEST

static Suite *badinput_procs_suite(void)
{
  /* Not static: the test handles are variables, not constants. */
  const bi_test_t tests[] = {
      {"tubo_process_create", test_process_create},
      {"tubo_process_start", test_process_start},
      {"tubo_process_join", test_process_join},
      {"tubo_process_pid", test_process_pid},
      {"tubo_process_exitcode", test_process_exitcode},
      {"tubo_process_is_alive", test_process_is_alive},
      {"tubo_process_terminate", test_process_terminate},
      {"tubo_process_free", test_process_free},
      {"tubo_spawn", test_spawn},
      {"tubo_spawn_join", test_spawn_join},
      {"tubo_pipe_create", test_pipe_create},
      {"tubo_pipe_open", test_pipe_open},
      {"tubo_pipe_send", test_pipe_send},
      {"tubo_pipe_recv", test_pipe_recv},
      {"tubo_pipe_recv_alloc", test_pipe_recv_alloc},
      {"tubo_pipe_poll", test_pipe_poll},
      {"tubo_pipe_close", test_pipe_close},
      {"tubo_pipe_free", test_pipe_free},
  };
  return bi_suite("badinput_procs", tests, sizeof tests / sizeof tests[0]);
}

int main(int argc, char **argv)
{
  return bi_main(argc, argv, badinput_procs_suite);
}
