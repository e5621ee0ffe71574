/* SPDX-License-Identifier: MIT */
/* Process, as multiprocessing.Process: start and join, exit codes (Python's exitcode,
 * minus the signal for a killed process), is_alive, the copy of memory a child gets,
 * join with a timeout, stdio flushed before the fork, a child dying with its parent, bad
 * arguments, and a child that starts its own tubo world.
 *
 * Children are held back by an OS pipe (a gate) they read until the test writes to it:
 * no sleeps sequence anything. Each body ends by checking that no child is left and
 * nothing new is in /dev/shm (leftovers.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "leftovers.h"

/* Seconds a child may take to die once its parent was killed: generous, for a loaded
 * machine; the test fails only if it passes. */
#define DIE_DEADLINE_S 60

/* ---- Gates: a pipe a child blocks on until the test lets it go ---- */

typedef struct gate {
  int rd, wr;
} gate_t;

static void gate_open(gate_t *g)
{
  int fd[2];
  TH_CHECK(pipe(fd) == 0, "pipe: expected 0, got -1 (%s)", strerror(errno));
  g->rd = fd[0];
  g->wr = fd[1];
}

/* In the child: waits for the test to open the gate. Returns 1 once it did, 0 if every
 * writer closed the pipe instead (the test ended). */
static int gate_pass(gate_t *g)
{
  close(g->wr); /* else this process itself would keep the pipe open */
  char c;
  ssize_t n;
  do
    n = read(g->rd, &c, 1);
  while (n < 0 && errno == EINTR);
  return n == 1;
}

static void gate_release(gate_t *g)
{
  ssize_t n;
  do
    n = write(g->wr, "x", 1);
  while (n < 0 && errno == EINTR);
  TH_CHECK(n == 1, "writing to the gate: expected 1 byte written, got %zd (%s)", n,
           strerror(errno));
}

static void gate_close(gate_t *g)
{
  close(g->rd);
  close(g->wr);
}

/* ---- What children run ---- */

/* Returns the int arg points to. */
static int child_return(void *arg)
{
  return *(const int *)arg;
}

/* Waits at the gate arg points to; 42 once let through, 43 if the test went away. */
static int child_wait_gate(void *arg)
{
  return gate_pass(arg) ? 42 : 43;
}

static tubo_process_t *started(tubo_process_fn fn, void *arg, int *pid)
{
  tubo_process_t *p = NULL;
  TH_OK(tubo_process_create(fn, arg, &p));
  TH_CHECK(p != NULL, "tubo_process_create returned 0 but no process");
  TH_OK(tubo_process_start(p));
  TH_OK(tubo_process_pid(p, pid));
  TH_CHECK(*pid > 0 && *pid != (int)getpid(),
           "tubo_process_pid: expected a child's pid (> 0, not %d), got %d", (int)getpid(), *pid);
  return p;
}

static void expect_exitcode(tubo_process_t *p, int want, const char *what)
{
  int code = INT_MIN;
  TH_OK(tubo_process_exitcode(p, &code));
  TH_CHECK(code == want, "exit code of %s: expected %d, got %d", what, want, code);
}

static void expect_alive(tubo_process_t *p, int want, const char *when)
{
  int alive = -1;
  TH_OK(tubo_process_is_alive(p, &alive));
  TH_CHECK(alive == want, "tubo_process_is_alive %s: expected %d, got %d", when, want, alive);
}

/* Starts fn(arg), joins it and checks its exit code. */
static void run_child(tubo_process_fn fn, void *arg, int want, const char *what)
{
  int pid = 0;
  tubo_process_t *p = started(fn, arg, &pid);
  TH_OK(tubo_process_join(p, -1));
  char why[200];
  snprintf(why, sizeof why, "%s (its own message above, if any, says why)", what);
  expect_exitcode(p, want, why);
  TH_OK(tubo_process_free(p));
}

/* ---- Tests ---- */

/* The function's return value is the exit code; a joined process stays joined. */
static void test_exit_codes(void)
{
  static const int codes[] = {0, 7, 255};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    int want = codes[i], pid = 0, again = 0;
    tubo_process_t *p = started(child_return, &want, &pid);
    TH_OK(tubo_process_join(p, -1));
    expect_exitcode(p, want, "a child that returned it");
    expect_alive(p, 0, "after join");
    /* Joining an ended process returns at once, and its pid and code stay. */
    TH_OK(tubo_process_join(p, -1));
    TH_OK(tubo_process_join(p, 0));
    TH_OK(tubo_process_pid(p, &again));
    TH_EQ("pid after join", again, pid);
    expect_exitcode(p, want, "a child joined twice");
    /* It was reaped: nothing of it is left for anyone else to wait for. */
    pid_t r = waitpid(pid, NULL, WNOHANG);
    TH_CHECK(r == -1 && errno == ECHILD,
             "waitpid(%d) after join: expected -1 with ECHILD (reaped by join), got %d", pid,
             (int)r);
    TH_OK(tubo_process_free(p));
  }
}

/* While a child waits at the gate: alive, no exit code yet (Python's None), and joins
 * with a timeout time out; once let through, the real join succeeds. */
static void test_join_timeout(void)
{
  gate_t g;
  gate_open(&g);
  tubo_process_t *p = NULL;
  TH_OK(tubo_process_create(child_wait_gate, &g, &p));
  expect_alive(p, 0, "before start");
  TH_OK(tubo_process_start(p));
  expect_alive(p, 1, "while it waits at the gate");
  int code = INT_MIN;
  TH_EXPECT_RC(tubo_process_exitcode(p, &code), TUBO_EAGAIN);
  TH_EXPECT_RC(tubo_process_join(p, 0), TUBO_ETIMEDOUT);
  TH_EXPECT_RC(tubo_process_join(p, 20), TUBO_ETIMEDOUT);
  expect_alive(p, 1, "after joins that timed out");
  TH_EXPECT_RC(tubo_process_exitcode(p, &code), TUBO_EAGAIN);
  gate_release(&g);
  /* A timeout long enough for any machine: the join returns when the child ends. */
  TH_OK(tubo_process_join(p, 600000));
  expect_exitcode(p, 42, "a child let through the gate");
  expect_alive(p, 0, "after join");
  TH_OK(tubo_process_free(p));
  gate_close(&g);
}

/* A process killed by a signal has minus the signal as exit code (Python's exitcode);
 * terminate sends SIGTERM. */
static void test_signals(void)
{
  /* The children inherit the disposition: make sure SIGTERM kills. */
  signal(SIGTERM, SIG_DFL);
  gate_t g;
  gate_open(&g);
  int pid = 0;
  tubo_process_t *p = started(child_wait_gate, &g, &pid);
  TH_CHECK(kill(pid, SIGKILL) == 0, "kill(%d, SIGKILL): %s", pid, strerror(errno));
  TH_OK(tubo_process_join(p, -1));
  expect_exitcode(p, -SIGKILL, "a child killed by SIGKILL");
  /* Terminating a process that ended changes nothing. */
  TH_OK(tubo_process_terminate(p));
  expect_exitcode(p, -SIGKILL, "a child killed by SIGKILL, after terminate");
  TH_OK(tubo_process_free(p));

  tubo_process_t *q = started(child_wait_gate, &g, &pid);
  expect_alive(q, 1, "before terminate");
  TH_OK(tubo_process_terminate(q));
  TH_OK(tubo_process_join(q, -1));
  expect_exitcode(q, -SIGTERM, "a terminated child");
  expect_alive(q, 0, "after terminate and join");
  TH_OK(tubo_process_free(q));
  gate_close(&g);
}

/* ---- What a child sees of its parent's memory ---- */

static int g_value = 1;
static int num_res[10]; /* seed 001: the list the child appends squares to */
static int num_res_len;

struct memory_arg {
  gate_t gate;
  const unsigned char *heap; /* filled before start */
  size_t heap_len;
};

/* Sees the parent's memory as it was at start, whatever the parent does after; its own
 * changes stay its own. */
static int child_memory(void *arg)
{
  struct memory_arg *m = arg;
  TH_EQ("child: the global as set before start", g_value, 2);
  TH_CHECK_DATA(m->heap, m->heap_len, 77, "child: heap memory filled before start");
  if (!gate_pass(&m->gate))
    return 3;
  TH_EQ("child: the global after the parent changed it (after start)", g_value, 2);
  for (int n = 0; n < 10; n++)
    num_res[num_res_len++] = n * n;
  g_value = 99;
  return 0;
}

static void test_memory_copy(void)
{
  struct memory_arg m;
  gate_open(&m.gate);
  m.heap_len = 1u << 20;
  unsigned char *heap = th_malloc(m.heap_len);
  th_fill(heap, m.heap_len, 77);
  m.heap = heap;
  g_value = 2;
  int pid = 0;
  tubo_process_t *p = started(child_memory, &m, &pid);
  g_value = 3;
  memset(heap, 0, m.heap_len);
  gate_release(&m.gate);
  TH_OK(tubo_process_join(p, -1));
  expect_exitcode(p, 0, "the child that checked its memory (its own message above, if any)");
  TH_EQ("the parent's global after the child set its own copy to 99", g_value, 3);
  /* Seed 001's lesson: the child's appends went to its own copy of the list. */
  TH_EQ("length of the parent's num_res after the child appended 10 squares", num_res_len, 0);
  TH_OK(tubo_process_free(p));
  free(heap);
  gate_close(&m.gate);
}

/* ---- stdio and fork ---- */

static int child_print(void *arg)
{
  (void)arg;
  printf("child\n");
  return 0;
}

/* Run with stdout on a pipe (so stdio buffers it fully): what was printed before start
 * must come out once. */
static void body_stdout_helper(void)
{
  TH_CHECK(!isatty(STDOUT_FILENO), "stdout_helper: expected stdout on a pipe, got a terminal");
  printf("before start\n");
  run_child(child_print, NULL, 0, "the child that printed");
  printf("after join\n");
}

static void test_stdout_once(void)
{
  static const char want[] = "before start\nchild\nafter join\n";
  int fd[2];
  TH_CHECK(pipe(fd) == 0, "pipe: %s", strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    dup2(fd[1], STDOUT_FILENO);
    close(fd[0]);
    close(fd[1]);
    execl("/proc/self/exe", "check_process", "--body", "stdout_helper", (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  char out[4096];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd[0], out + len, sizeof out - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  out[len] = '\0';
  close(fd[0]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
    ;
  TH_CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
           "the helper (--body stdout_helper): expected exit status 0, got wait status 0x%x", ws);
  TH_CHECK(strcmp(out, want) == 0, "the helper's stdout: expected \"%s\", got \"%s\"", want, out);
}

/* ---- A child dies with its parent ---- */

struct family {
  int report_wr; /* the leaf writes its pid here */
  gate_t never;  /* the leaf waits here; the test never opens it */
};

static int child_leaf(void *arg)
{
  struct family *f = arg;
  int me = (int)getpid();
  if (write(f->report_wr, &me, sizeof me) != (ssize_t)sizeof me)
    return 1;
  return gate_pass(&f->never) ? 2 : 3;
}

/* The parent of the leaf: starts it and waits for it, until it is killed. */
static int child_middle(void *arg)
{
  tubo_process_t *leaf = NULL;
  if (tubo_process_create(child_leaf, arg, &leaf) != 0 || tubo_process_start(leaf) != 0)
    return 1;
  tubo_process_join(leaf, -1);
  return 2;
}

static volatile sig_atomic_t alarm_rang;

static void on_alarm(int sig)
{
  (void)sig;
  alarm_rang = 1;
}

/* This process starts a middle process that starts a leaf; the middle is killed. The leaf
 * must die with SIGKILL. As subreaper, this process inherits the orphaned leaf and can
 * wait for it (an OS wait, bounded by an alarm). */
static void test_dies_with_parent(void)
{
  TH_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, "prctl(PR_SET_CHILD_SUBREAPER): %s",
           strerror(errno));
  struct family f;
  int rep[2];
  TH_CHECK(pipe(rep) == 0, "pipe: %s", strerror(errno));
  f.report_wr = rep[1];
  gate_open(&f.never);
  int middle_pid = 0, leaf = 0;
  tubo_process_t *middle = started(child_middle, &f, &middle_pid);
  ssize_t n;
  do
    n = read(rep[0], &leaf, sizeof leaf);
  while (n < 0 && errno == EINTR);
  TH_CHECK(n == (ssize_t)sizeof leaf && leaf > 0,
           "the leaf's pid: expected %zu bytes with a pid, got %zd bytes (pid %d)", sizeof leaf, n,
           leaf);
  TH_CHECK(kill(middle_pid, SIGKILL) == 0, "kill(%d, SIGKILL): %s", middle_pid, strerror(errno));
  TH_OK(tubo_process_join(middle, -1));
  expect_exitcode(middle, -SIGKILL, "the killed parent of the leaf");
  TH_OK(tubo_process_free(middle));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART: the alarm interrupts waitpid */
  sigaction(SIGALRM, &sa, NULL);
  alarm(DIE_DEADLINE_S);
  int ws = 0;
  pid_t r;
  while ((r = waitpid(leaf, &ws, 0)) < 0 && errno == EINTR && !alarm_rang)
    ;
  int err = errno;
  alarm(0);
  if (r != leaf)
    kill(leaf, SIGKILL); /* leave nothing behind, whatever the verdict */
  TH_CHECK(r == leaf,
           "the leaf (pid %d): expected it to die with its parent, got waitpid %d (%s) after %d s",
           leaf, (int)r, alarm_rang ? "still running" : strerror(err), DIE_DEADLINE_S);
  TH_CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL,
           "the leaf's end: expected killed by SIGKILL (%d), got wait status 0x%x", SIGKILL, ws);
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  close(rep[0]);
  close(rep[1]);
  gate_close(&f.never);
}

/* ---- Bad arguments ---- */

static void test_bad_arguments(void)
{
  int i = 0, zero = 0;
  TH_EXPECT_RC(tubo_process_create(child_return, &zero, NULL), TUBO_EINVAL);
  tubo_process_t *p = NULL;
  TH_EXPECT_RC(tubo_process_create(NULL, &zero, &p), TUBO_EINVAL);
  TH_CHECK(p == NULL, "tubo_process_create without a function failed but made a process");
  TH_EXPECT_RC(tubo_process_start(NULL), TUBO_EPROCESS);
  TH_EXPECT_RC(tubo_process_join(NULL, -1), TUBO_EPROCESS);
  TH_EXPECT_RC(tubo_process_pid(NULL, &i), TUBO_EPROCESS);
  TH_EXPECT_RC(tubo_process_exitcode(NULL, &i), TUBO_EPROCESS);
  TH_EXPECT_RC(tubo_process_is_alive(NULL, &i), TUBO_EPROCESS);
  TH_EXPECT_RC(tubo_process_terminate(NULL), TUBO_EPROCESS);
  TH_EXPECT_RC(tubo_process_free(NULL), TUBO_EPROCESS);

  TH_OK(tubo_process_create(child_return, &zero, &p));
  /* Before start. */
  TH_EXPECT_RC(tubo_process_join(p, -1), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_process_join(p, 0), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_process_pid(p, &i), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_process_exitcode(p, &i), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_process_terminate(p), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_process_is_alive(p, NULL), TUBO_EINVAL);
  /* Started: a second start is refused (and forks nothing: lo_check finds no child). */
  TH_OK(tubo_process_start(p));
  TH_EXPECT_RC(tubo_process_start(p), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_process_pid(p, NULL), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_process_exitcode(p, NULL), TUBO_EINVAL);
  TH_OK(tubo_process_join(p, -1));
  TH_EXPECT_RC(tubo_process_start(p), TUBO_EINVAL);
  expect_exitcode(p, 0, "a child started once");
  TH_OK(tubo_process_free(p));
}

/* ---- A child starts its own world ---- */

/* In the child: nothing of the parent's world; tubo_init makes a world of one. */
static int child_own_world(void *arg)
{
  (void)arg;
  int flag = -1, rank = -1, size = -1;
  TH_OK(tubo_initialized(&flag));
  TH_EQ("child: tubo_initialized before its own tubo_init", flag, 0);
  TH_CHECK(tubo_comm_world() == NULL, "child: TUBO_COMM_WORLD before tubo_init: expected NULL");
  TH_OK(tubo_init(NULL, NULL));
  tubo_comm_t *w = TUBO_COMM_WORLD;
  TH_CHECK(w != NULL, "child: TUBO_COMM_WORLD after tubo_init: expected a world, got NULL");
  TH_OK(tubo_comm_rank(w, &rank));
  TH_OK(tubo_comm_size(w, &size));
  TH_EQ("child: its rank", rank, 0);
  TH_EQ("child: its world's size", size, 1);
  const char *tp = NULL;
  TH_OK(tubo_comm_transport(w, 0, &tp));
  TH_CHECK(tp != NULL && strcmp(tp, "self") == 0,
           "child: transport to itself: expected self, got %s", tp ? tp : "(null)");
  int v = 1234, got = 0;
  tubo_status_t st;
  TH_OK(tubo_send(&v, sizeof v, 0, 3, w));
  TH_OK(tubo_recv(&got, sizeof got, 0, 3, w, &st));
  TH_STATUS(st, 0, 3, sizeof v, 0);
  TH_EQ("child: message to itself", got, v);
  TH_OK(tubo_barrier(w));
  TH_OK(tubo_finalize());
  return 0;
}

static void run_child_own_world(void)
{
  run_child(child_own_world, NULL, 0, "the child with its own world");
}

/* After a rank's child ended: the rank's world works as before (a ring, a barrier). */
static void job_goes_on(void)
{
  TH_CHECK(TUBO_COMM_WORLD == th_world, "TUBO_COMM_WORLD in the parent changed after its child");
  if (th_size > 1) {
    int next = (th_rank + 1) % th_size, prev = (th_rank + th_size - 1) % th_size;
    TH_SEND_MSG(next, 9, 100, 0);
    TH_RECV_MSG(prev, 9, 100, 0);
  }
  TH_OK(tubo_barrier(th_world));
}

/* From a process that never called tubo_init. */
static void test_child_init(void)
{
  run_child_own_world();
  int flag = -1;
  TH_OK(tubo_initialized(&flag));
  TH_EQ("tubo_initialized in the parent after its child's tubo_init", flag, 0);
}

/* From a rank of a world (of one, or of a tuborun job): the child's world is its own,
 * and the parent's world works as before. */
static void test_child_init_in_world(void)
{
  run_child_own_world();
  job_goes_on();
}

/* In a child of a rank: the parent's world is not the child's; the job goes on. */
static int child_forgot(void *arg)
{
  tubo_comm_t *parents = arg;
  int flag = -1, v = 0;
  TH_OK(tubo_initialized(&flag));
  TH_EQ("child: tubo_initialized", flag, 0);
  TH_CHECK(tubo_comm_world() == NULL, "child: TUBO_COMM_WORLD: expected NULL, got %p",
           (void *)tubo_comm_world());
  TH_EXPECT_RC(tubo_comm_rank(parents, &v), TUBO_ENOTINIT);
  TH_EXPECT_RC(tubo_send(&v, sizeof v, 0, 0, parents), TUBO_ENOTINIT);
  return 7;
}

static void test_child_of_rank(void)
{
  run_child(child_forgot, th_world, 7, "the child of a rank");
  job_goes_on();
}

LO_BODY(exit_codes)
LO_BODY(join_timeout)
LO_BODY(signals)
LO_BODY(memory_copy)
LO_BODY(stdout_once)
LO_BODY(dies_with_parent)
LO_BODY(bad_arguments)
LO_BODY(child_init)
LO_BODY(child_init_in_world)
LO_BODY(child_of_rank)

static const th_body_t bodies[] = {{"exit_codes", body_exit_codes, TH_SELF_INIT},
                                   {"join_timeout", body_join_timeout, TH_SELF_INIT},
                                   {"signals", body_signals, TH_SELF_INIT},
                                   {"memory_copy", body_memory_copy, TH_SELF_INIT},
                                   {"stdout_once", body_stdout_once, TH_SELF_INIT},
                                   {"stdout_helper", body_stdout_helper, TH_SELF_INIT},
                                   {"dies_with_parent", body_dies_with_parent, TH_SELF_INIT},
                                   {"bad_arguments", body_bad_arguments, TH_SELF_INIT},
                                   {"child_init", body_child_init, TH_SELF_INIT},
                                   {"child_init_in_world", body_child_init_in_world, 0},
                                   {"child_of_rank", body_child_of_rank, 0},
                                   {NULL, NULL, 0}};

static Suite *process_suite(void)
{
  Suite *s = suite_create("process");
  static const char *const solo[] = {"exit_codes",    "join_timeout", "signals",
                                     "memory_copy",   "stdout_once",  "dies_with_parent",
                                     "bad_arguments", "child_init"};
  for (size_t i = 0; i < sizeof solo / sizeof solo[0]; i++)
    th_add_case(s, solo[i], 1, TH_SOLO);
  TCase *tc = th_add_case(s, "child_of_rank", 1, TH_SOLO);
  th_add_job(tc, "child_of_rank", 3, TH_BOTH);
  tc = th_add_case(s, "child_init_in_world", 1, TH_SOLO);
  /* A process started by a rank once inherited the launch variables, and its tubo_init
   * joined the parent's job as the parent's rank. */
  th_add_job(tc, "child_init_in_world", 3, TH_BOTH);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, process_suite);
}
