/* SPDX-License-Identifier: MIT */
/* tuborun as a black box: its command line, exit statuses, messages, environment and
 * placement, seen from outside. Ranks are tests/rank_helper (see its modes).
 *
 * After every test, nothing of the job may remain: this process is made a subreaper, so a
 * rank that outlived tuborun would become its child, and /dev/shm must hold nothing new
 * named tubo or memfd. */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <hwloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TUBORUN
#define TUBORUN "tools/tuborun"
#endif
#ifndef RANK_HELPER
#define RANK_HELPER "tests/rank_helper"
#endif
#ifndef TOPO_DIR
#define TOPO_DIR "tests/topologies"
#endif

#define EM16 TOPO_DIR "/16em64t-4s2c2t.xml"
#define BIG  TOPO_DIR "/192em64t-24n8c2t.xml"

typedef struct run {
  pid_t pid;
  int status; /* exit code, or 128 + signal */
  char *out, *err;
} run_t;

static void run_free(run_t *r)
{
  free(r->out);
  free(r->err);
}

static void run_append(char **buf, size_t *len, const char *data, size_t n)
{
  char *b = realloc(*buf, *len + n + 1);
  ck_assert_msg(b != NULL, "expected memory for a program's output");
  memcpy(b + *len, data, n);
  *len += n;
  b[*len] = '\0';
  *buf = b;
}

/* The limit of open files (soft, hard) run_prog gives the program; 0: this process's. */
static rlim_t run_nofile_soft, run_nofile_hard;

/* Runs prog with argv (NULL-terminated) and the extra environment env ("NAME=value", NULL-
 * terminated, may be NULL); collects its stdout, stderr and exit status. */
static void run_prog(run_t *r, const char *prog, char **argv, const char *const *env)
{
  int out[2], err[2];
  ck_assert_msg(pipe(out) == 0 && pipe(err) == 0, "expected pipes: %s", strerror(errno));
  memset(r, 0, sizeof *r);
  r->pid = fork();
  ck_assert_msg(r->pid >= 0, "expected fork to work: %s", strerror(errno));
  if (r->pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    close(out[0]);
    close(err[0]);
    close(out[1]);
    close(err[1]);
    for (int i = 0; env != NULL && env[i] != NULL; i++)
      putenv((char *)env[i]);
    struct rlimit rl = {run_nofile_soft, run_nofile_hard};
    if (run_nofile_hard != 0 && setrlimit(RLIMIT_NOFILE, &rl) != 0)
      _exit(125);
    execv(prog, argv);
    _exit(126);
  }
  close(out[1]);
  close(err[1]);
  size_t olen = 0, elen = 0;
  run_append(&r->out, &olen, "", 0);
  run_append(&r->err, &elen, "", 0);
  struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  while (p[0].fd >= 0 || p[1].fd >= 0) {
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !p[i].revents)
        continue;
      char buf[4096];
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      if (n > 0) {
        run_append(i ? &r->err : &r->out, i ? &elen : &olen, buf, (size_t)n);
      } else if (n == 0 || errno != EINTR) {
        close(p[i].fd);
        p[i].fd = -1;
      }
    }
  }
  int ws;
  while (waitpid(r->pid, &ws, 0) < 0 && errno == EINTR)
    ;
  r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Runs tuborun with the arguments that follow env, up to a NULL. */
static void tuborun(run_t *r, const char *const *env, ...)
{
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)TUBORUN;
  va_list ap;
  va_start(ap, env);
  for (char *a; n < 63 && (a = va_arg(ap, char *)) != NULL;)
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  run_prog(r, TUBORUN, argv, env);
}

/* How many lines of text contain needle. */
static int lines_with(const char *text, const char *needle)
{
  int n = 0;
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char *copy = strndup(line, len);
    n += copy != NULL && strstr(copy, needle) != NULL;
    free(copy);
    line += len + (end != NULL);
  }
  return n;
}

static void expect_status(const run_t *r, int want)
{
  ck_assert_msg(r->status == want, "expected tuborun to exit with %d, got %d; stderr:\n%s", want,
                r->status, r->err);
}

static void expect_in(const char *what, const char *text, const char *needle)
{
  ck_assert_msg(strstr(text, needle) != NULL, "expected %s to contain '%s', got:\n%s", what, needle,
                text);
}

/* The allowed cores of this machine (hardware threads where it shows no cores). */
static int cores_here(void)
{
  hwloc_topology_t t;
  ck_assert_msg(hwloc_topology_init(&t) == 0 && hwloc_topology_load(t) == 0,
                "expected this machine's topology to load");
  int n = 0;
  hwloc_obj_type_t type =
      hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
  for (hwloc_obj_t o = NULL; (o = hwloc_get_next_obj_by_type(t, type, o)) != NULL;)
    n += hwloc_bitmap_intersects(o->cpuset, hwloc_topology_get_allowed_cpuset(t));
  hwloc_topology_destroy(t);
  return n;
}

/* --- What every test must leave behind: nothing. --- */

static char shm_before[8192];

static void shm_names(char *buf, size_t cap)
{
  buf[0] = '\0';
  DIR *d = opendir("/dev/shm");
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
    if (strstr(e->d_name, "tubo") != NULL || strstr(e->d_name, "memfd") != NULL) {
      strncat(buf, e->d_name, cap - strlen(buf) - 2);
      strncat(buf, "/", cap - strlen(buf) - 1);
    }
  if (d != NULL)
    closedir(d);
}

static void clean_setup(void)
{
  ck_assert_msg(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "expected to become a subreaper");
  shm_names(shm_before, sizeof shm_before);
}

/* Kills and counts the processes still running as this process's children. */
static int clean_leftovers(void)
{
  int left = 0;
  DIR *d = opendir("/proc");
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
    if (!isdigit((unsigned char)e->d_name[0]))
      continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')'), state;
    int ppid;
    if (rp == NULL || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != (int)getpid())
      continue;
    pid_t pid = (pid_t)atoi(e->d_name);
    if (state != 'Z') {
      left++;
      kill(pid, SIGKILL);
    }
    waitpid(pid, NULL, 0);
  }
  if (d != NULL)
    closedir(d);
  return left;
}

static void clean_teardown(void)
{
  int left = clean_leftovers();
  ck_assert_msg(left == 0, "expected no process of the job left, found %d", left);
  char now[8192];
  shm_names(now, sizeof now);
  ck_assert_msg(strcmp(now, shm_before) == 0,
                "expected nothing new named tubo or memfd in /dev/shm: before '%s', after '%s'",
                shm_before, now);
}

/* --- The command line. --- */

START_TEST(help_and_version)
{
  run_t r;
  tuborun(&r, NULL, "--help", NULL);
  expect_status(&r, 0);
  expect_in("--help", r.out, "Usage: tuborun");
  expect_in("--help", r.out, "--map-by");
  expect_in("--help", r.out, "--bind-to");
  expect_in("--help", r.out, "--report-bindings");
  expect_in("--help", r.out, "2 ranks or fewer: --map-by core --bind-to core");
  expect_in("--help", r.out, "one per core");
  run_free(&r);
  tuborun(&r, NULL, "-h", NULL);
  expect_status(&r, 0);
  expect_in("-h", r.out, "Usage: tuborun");
  run_free(&r);
  tuborun(&r, NULL, "--version", NULL);
  expect_status(&r, 0);
  expect_in("--version", r.out, "tuborun (tubo) " PACKAGE_VERSION);
  run_free(&r);
}
END_TEST

START_TEST(bad_arguments_exit_2_with_usage)
{
  static const struct {
    const char *args[8];
    const char *says;
  } c[] = {
      {{NULL}, "missing the program to run"},
      {{"--frobnicate", "true"}, "unknown option '--frobnicate'"},
      {{"-z", "true"}, "unknown option '-z'"},
      {{"-n"}, "-n needs a number of ranks"},
      {{"-n", "0", "true"}, "from 1 to 4096, not '0'"},
      {{"-n", "abc", "true"}, "from 1 to 4096, not 'abc'"},
      {{"-n", "-3", "true"}, "from 1 to 4096, not '-3'"},
      {{"-n", "2x", "true"}, "from 1 to 4096, not '2x'"},
      {{"-n", "", "true"}, "from 1 to 4096, not ''"},
      {{"-n", "99999999999999999999", "true"}, "not '99999999999999999999'"},
      {{"-np", "5000", "true"}, "from 1 to 4096, not '5000'"},
      {{"-n", "2"}, "missing the program to run"},
      {{"-n", "2", "--"}, "missing the program to run"},
      {{"--map-by", "board", "true"}, "--map-by must be core, hwthread"},
      {{"--bind-to", "slot", "true"}, "--bind-to must be core, hwthread"},
      {{"--bind-to", "core:PE=2", "true"}, "unsupported modifier in 'core:PE=2'"},
      {{"--timeout", "-1", "true"}, "--timeout needs a positive number"},
      {{"--transport", "tcp", "true"}, "--transport must be shm or pipe"},
      {{"--topology", EM16, "-n", "2", "true"}, "add --dry-run"},
      {{"--tag-output=yes", "true"}, "unknown option '--tag-output=yes'"},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    char *argv[10] = {(char *)TUBORUN};
    int n = 1;
    for (int k = 0; c[i].args[k] != NULL; k++)
      argv[n++] = (char *)c[i].args[k];
    argv[n] = NULL;
    run_t r;
    run_prog(&r, TUBORUN, argv, NULL);
    ck_assert_msg(r.status == 2, "case %zu (%s ...): expected exit 2, got %d; stderr:\n%s", i,
                  c[i].args[0] ? c[i].args[0] : "no arguments", r.status, r.err);
    expect_in("stderr", r.err, c[i].says);
    expect_in("stderr", r.err, "Try 'tuborun --help'");
    ck_assert_msg(r.out[0] == '\0', "case %zu: expected nothing on stdout, got:\n%s", i, r.out);
    run_free(&r);
  }
}
END_TEST

START_TEST(missing_program_exits_127)
{
  /* Looked up in PATH, and named by a path. */
  static const char *const missing[] = {"tubo-no-such-program", "./tubo-no-such-dir/program"};
  for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
    run_t r;
    tuborun(&r, NULL, "-n", "2", missing[i], NULL);
    expect_status(&r, 127);
    char want[128];
    snprintf(want, sizeof want, "cannot run '%s': No such file or directory", missing[i]);
    expect_in("stderr", r.err, want);
    run_free(&r);
  }
}
END_TEST

START_TEST(unrunnable_program_exits_2)
{
  /* A file that exists but may not be executed: a bad argument. */
  char path[] = "/tmp/tubo-not-executable.XXXXXX";
  int fd = mkstemp(path);
  ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
  close(fd); /* mode 0600: not executable */
  run_t r;
  tuborun(&r, NULL, "-n", "2", path, NULL);
  unlink(path);
  expect_status(&r, 2);
  expect_in("stderr", r.err, "cannot run");
  expect_in("stderr", r.err, "Permission denied");
  run_free(&r);
  /* A directory cannot be run either. */
  tuborun(&r, NULL, "-n", "2", "/", NULL);
  expect_status(&r, 2);
  expect_in("stderr", r.err, "cannot run '/': Permission denied");
  run_free(&r);
}
END_TEST

/* --- Ranks failing. --- */

START_TEST(failing_rank_sets_the_exit_status)
{
  run_t r;
  tuborun(&r, NULL, "-n", "2", RANK_HELPER, "exit-if", "1", "3", NULL);
  expect_status(&r, 3);
  expect_in("stderr", r.err, "rank 1 (pid");
  expect_in("stderr", r.err, "exited with status 3");
  run_free(&r);
}
END_TEST

START_TEST(killed_rank_exits_137)
{
  run_t r;
  tuborun(&r, NULL, "-n", "2", RANK_HELPER, "kill-if", "0", NULL);
  expect_status(&r, 137);
  expect_in("stderr", r.err, "rank 0 (pid");
  expect_in("stderr", r.err, "was killed by signal 9");
  run_free(&r);
}
END_TEST

START_TEST(timeout_stops_the_job_with_124)
{
  run_t r;
  tuborun(&r, NULL, "--timeout", "1", "-n", "1", RANK_HELPER, "hang", NULL);
  expect_status(&r, 124);
  expect_in("stderr", r.err, "ran longer than --timeout 1 seconds");
  expect_in("stderr", r.err, "tuborun: rank 0 was running (a rank alone in its job");
  run_free(&r);
}
END_TEST

/* At the timeout, tuborun says what each rank was blocked in: the call, its peer and tag.
 * On a loaded machine the ranks may not all have reached their calls when the timeout
 * comes: the job then runs again with twice the time, up to 8 s. */
START_TEST(timeout_says_what_each_rank_was_blocked_in)
{
  static const char *const want[] = {
      "tuborun: rank 0 was blocked in tubo_barrier (TUBO_COMM_WORLD)\n",
      "tuborun: rank 1 was blocked in tubo_recv (source 0, tag 7, TUBO_COMM_WORLD)\n",
      "tuborun: rank 2 was computing (not blocked in tubo)\n"};
  run_t r;
  for (int secs = 2;; secs *= 2) {
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", secs);
    tuborun(&r, NULL, "--timeout", timeout, "-n", "3", RANK_HELPER, "blocked", NULL);
    int all = 1;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
      all = all && r.err != NULL && strstr(r.err, want[i]) != NULL;
    if (all || secs >= 8)
      break;
    run_free(&r);
  }
  expect_status(&r, 124);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    expect_in("stderr", r.err, want[i]);
  run_free(&r);
}
END_TEST

START_TEST(mpiexec_timeout_is_honoured)
{
  static const char *const env[] = {"MPIEXEC_TIMEOUT=1", NULL};
  run_t r;
  tuborun(&r, env, "-n", "1", RANK_HELPER, "hang", NULL);
  expect_status(&r, 124);
  expect_in("stderr", r.err, "ran longer than MPIEXEC_TIMEOUT 1 seconds");
  run_free(&r);
}
END_TEST

START_TEST(a_program_that_cannot_run_says_its_status)
{
  run_t r;
  tuborun(&r, NULL, "-n", "2", "/etc/passwd", NULL);
  expect_status(&r, 2);
  expect_in("stderr", r.err, "cannot run '/etc/passwd': Permission denied; exit status 2\n");
  run_free(&r);
}
END_TEST

START_TEST(ranks_that_skip_init_or_finalize_are_named)
{
  run_t r;
  tuborun(&r, NULL, "-n", "2", RANK_HELPER, "say", NULL);
  expect_status(&r, 0);
  expect_in("stderr", r.err, "all 2 ranks exited with status 0 without calling tubo_init\n");
  run_free(&r);
  tuborun(&r, NULL, "-n", "2", RANK_HELPER, "init-only", NULL);
  expect_status(&r, 0);
  expect_in("stderr", r.err, "all 2 ranks exited with status 0 without calling tubo_finalize\n");
  ck_assert_msg(strstr(r.err, "without calling tubo_init") == NULL,
                "expected no word of tubo_init from a rank that called it, got:\n%s", r.err);
  run_free(&r);
}
END_TEST

START_TEST(x_of_an_unset_variable_warns)
{
  run_t r;
  tuborun(&r, NULL, "-x", "TUBO_TEST_NEVER_SET_ANYWHERE", "-n", "1", RANK_HELPER, "say", NULL);
  expect_status(&r, 0);
  expect_in("stderr", r.err,
            "-x TUBO_TEST_NEVER_SET_ANYWHERE: TUBO_TEST_NEVER_SET_ANYWHERE is not set here");
  run_free(&r);
}
END_TEST

/* Runs tuborun ARGS... with "hello\n" on its standard input, through the shell. */
static void tuborun_stdin(run_t *r, const char *args)
{
  char cmd[512];
  snprintf(cmd, sizeof cmd, "printf 'hello\\n' | '%s' %s '%s' stdin", TUBORUN, args, RANK_HELPER);
  char *argv[] = {(char *)"sh", (char *)"-c", cmd, NULL};
  run_prog(r, "/bin/sh", argv, NULL);
}

START_TEST(stdin_goes_to_rank_0_only)
{
  run_t r;
  tuborun_stdin(&r, "-n 3");
  expect_status(&r, 0);
  expect_in("stdout", r.out, "rank 0 read 6 bytes\n");
  expect_in("stdout", r.out, "rank 1 read 0 bytes\n");
  expect_in("stdout", r.out, "rank 2 read 0 bytes\n");
  run_free(&r);
  tuborun_stdin(&r, "-n 3 --stdin 2");
  expect_status(&r, 0);
  expect_in("stdout", r.out, "rank 0 read 0 bytes\n");
  expect_in("stdout", r.out, "rank 2 read 6 bytes\n");
  run_free(&r);
  tuborun_stdin(&r, "-n 2 --stdin none");
  expect_status(&r, 0);
  expect_in("stdout", r.out, "rank 0 read 0 bytes\n");
  expect_in("stdout", r.out, "rank 1 read 0 bytes\n");
  run_free(&r);
  tuborun_stdin(&r, "-n 2 --stdin all");
  expect_status(&r, 0);
  ck_assert_msg(lines_with(r.out, "read 6 bytes") + lines_with(r.out, "read 0 bytes") == 2,
                "expected both ranks to read standard input, got:\n%s", r.out);
  run_free(&r);
  tuborun_stdin(&r, "-n 2 --stdin 5");
  expect_status(&r, 2);
  expect_in("stderr", r.err, "--stdin 5: the job has ranks 0 to 1 only");
  run_free(&r);
}
END_TEST

/* --- What ranks see. --- */

START_TEST(tag_output_prefixes_lines)
{
  run_t r;
  tuborun(&r, NULL, "--tag-output", "-n", "2", RANK_HELPER, "say", NULL);
  expect_status(&r, 0);
  expect_in("stdout", r.out, "[1,0]<stdout>:out from rank 0\n");
  expect_in("stdout", r.out, "[1,1]<stdout>:out from rank 1\n");
  expect_in("stderr", r.err, "[1,0]<stderr>:err from rank 0\n");
  expect_in("stderr", r.err, "[1,1]<stderr>:err from rank 1\n");
  run_free(&r);
}
END_TEST

START_TEST(environment_reaches_every_rank)
{
  static const char *const env[] = {"TUBO_TEST_PASS=through", NULL};
  run_t r;
  tuborun(&r, env, "-x", "FOO=bar", "-x", "TUBO_TEST_PASS", "-n", "3", RANK_HELPER, "env",
          "TUBO_RANK", "TUBO_SIZE", "TUBO_LOCAL_RANK", "FOO", "TUBO_TEST_PASS", NULL);
  expect_status(&r, 0);
  for (int k = 0; k < 3; k++) {
    char want[200];
    snprintf(want, sizeof want,
             "TUBO_RANK=%d TUBO_SIZE=3 TUBO_LOCAL_RANK=%d FOO=bar TUBO_TEST_PASS=through\n", k, k);
    expect_in("stdout", r.out, want);
  }
  ck_assert_msg(lines_with(r.out, "TUBO_RANK=") == 3, "expected 3 ranks' lines, got:\n%s", r.out);
  run_free(&r);
}
END_TEST

START_TEST(default_is_one_rank_per_core)
{
  run_t r;
  tuborun(&r, NULL, RANK_HELPER, "env", "TUBO_SIZE", "TUBO_RANK", NULL);
  expect_status(&r, 0);
  int cores = cores_here();
  char want[64];
  snprintf(want, sizeof want, "TUBO_SIZE=%d ", cores);
  ck_assert_msg(lines_with(r.out, want) == cores,
                "expected %d ranks (one per allowed core) each saying %s, got:\n%s", cores, want,
                r.out);
  run_free(&r);
}
END_TEST

/* --- Placement. --- */

/* Rank k's --report-bindings line, from "Rank" on, after checking its "[host:pid] " prefix
 * (the pid is tuborun's). */
static const char *report_line(const run_t *r, int k, char *buf, size_t cap)
{
  char host[256] = "", prefix[300], needle[320];
  gethostname(host, sizeof host);
  snprintf(prefix, sizeof prefix, "[%s:%d] ", host, (int)r->pid);
  snprintf(needle, sizeof needle, "%sRank %d ", prefix, k);
  const char *line = strstr(r->err, needle);
  ck_assert_msg(line != NULL, "expected a line starting '%s' on stderr, got:\n%s", needle, r->err);
  line += strlen(prefix);
  snprintf(buf, cap, "%.*s", (int)strcspn(line, "\n"), line);
  return buf;
}

START_TEST(report_bindings_in_a_dry_run)
{
  static const char *const want[4] = {
      "Rank 0 bound to package[0][core:0-1] (cpus 0,4,8,12; mask 0x00001111)",
      "Rank 1 bound to package[1][core:2-3] (cpus 1,5,9,13; mask 0x00002222)",
      "Rank 2 bound to package[2][core:4-5] (cpus 2,6,10,14; mask 0x00004444)",
      "Rank 3 bound to package[3][core:6-7] (cpus 3,7,11,15; mask 0x00008888)"};
  /* The program does not exist: a dry run must not try to start it. */
  run_t r;
  tuborun(&r, NULL, "--report-bindings", "--dry-run", "--topology", EM16, "-n", "4",
          "tubo-no-such-program", NULL);
  expect_status(&r, 0);
  expect_in("stderr", r.err, "4 ranks, map-by package, bind-to package; nothing started");
  char buf[512];
  for (int k = 0; k < 4; k++) {
    report_line(&r, k, buf, sizeof buf);
    ck_assert_msg(strcmp(buf, want[k]) == 0, "expected '%s', got '%s'", want[k], buf);
  }
  ck_assert_msg(lines_with(r.err, "] Rank ") == 4, "expected 4 report lines, got:\n%s", r.err);
  ck_assert_msg(r.out[0] == '\0', "expected nothing on stdout, got:\n%s", r.out);
  run_free(&r);

  /* mpirun's single-dash forms and --opt=value say the same; 2 ranks default to cores. */
  tuborun(&r, NULL, "-report-bindings", "-do-not-launch", "-topology=" EM16, "-np", "2", "-map-by",
          "socket", "-bind-to=core", NULL);
  expect_status(&r, 0);
  report_line(&r, 1, buf, sizeof buf);
  ck_assert_msg(strcmp(buf, "Rank 1 bound to package[1][core:2] (cpus 1,9; mask 0x00000202)") == 0,
                "expected rank 1 on package 1's first core, got '%s'", buf);
  run_free(&r);
}
END_TEST

START_TEST(dry_run_needs_no_program)
{
  run_t r;
  tuborun(&r, NULL, "--dry-run", "--topology", BIG, NULL);
  expect_status(&r, 0);
  expect_in("stderr", r.err, "(192 cores, 384 hardware threads): 192 ranks, map-by package");
  ck_assert_msg(lines_with(r.err, "] Rank ") == 192, "expected 192 report lines (one per core)");
  char buf[512];
  report_line(&r, 191, buf, sizeof buf);
  expect_in("rank 191's line", buf, "bound to package[23][core:184-191]");
  run_free(&r);
  tuborun(&r, NULL, "--dry-run", "--topology", TOPO_DIR "/16amd64-4distances.xml", "--bind-to",
          "l3", NULL);
  expect_status(&r, 2);
  expect_in("stderr", r.err, "--bind-to l3cache:");
  expect_in("stderr", r.err, "has no L3 cache");
  run_free(&r);
  tuborun(&r, NULL, "--dry-run", "--topology", TOPO_DIR "/no-such-file.xml", NULL);
  expect_status(&r, 2);
  expect_in("stderr", r.err, "no-such-file.xml");
  run_free(&r);
}
END_TEST

START_TEST(oversubscription_is_said_once)
{
  run_t r;
  tuborun(&r, NULL, "--dry-run", "--topology", EM16, "-n", "20", NULL);
  expect_status(&r, 0);
  ck_assert_msg(lines_with(r.err, "oversubscribed") == 1 &&
                    lines_with(r.err, "20 ranks on 8 cores: oversubscribed, ranks share cores "
                                      "round-robin") == 1,
                "expected one line saying 20 ranks on 8 cores are oversubscribed, got:\n%s", r.err);
  ck_assert_msg(lines_with(r.err, "is not bound") == 20, "expected 20 unbound ranks, got:\n%s",
                r.err);
  run_free(&r);
  /* On this machine: one rank more than cores runs, and says so once. */
  char n[16];
  snprintf(n, sizeof n, "%d", cores_here() + 1);
  tuborun(&r, NULL, "-n", n, RANK_HELPER, "exit-if", "-1", "1", NULL);
  expect_status(&r, 0);
  ck_assert_msg(lines_with(r.err, "oversubscribed") == 1,
                "expected one oversubscription line for %s ranks, got:\n%s", n, r.err);
  run_free(&r);
}
END_TEST

START_TEST(ranks_start_bound_as_reported)
{
  /* What a rank runs on, seen from inside it, matches the report (or binding was refused,
   * which tuborun says). */
  run_t r;
  tuborun(&r, NULL, "--report-bindings", "--bind-to", "core", "-n", "2", RANK_HELPER, "affinity",
          NULL);
  expect_status(&r, 0);
  int refused = strstr(r.err, "cannot bind rank") != NULL;
  for (int k = 0; k < 2 && !refused; k++) {
    char buf[512], want[300];
    report_line(&r, k, buf, sizeof buf);
    const char *cpus = strstr(buf, "(cpus ");
    ck_assert_msg(cpus != NULL, "expected rank %d bound with a cpu list, got '%s'", k, buf);
    snprintf(want, sizeof want, "rank %d cpus %.*s\n", k, (int)strcspn(cpus + 6, ";"), cpus + 6);
    expect_in("stdout", r.out, want);
  }
  run_free(&r);
}
END_TEST

START_TEST(bind_to_none_leaves_the_affinity_alone)
{
  run_t alone, r;
  char *argv[] = {(char *)RANK_HELPER, (char *)"affinity", NULL};
  run_prog(&alone, RANK_HELPER, argv, NULL);
  ck_assert_msg(alone.status == 0, "expected the helper to run alone");
  tuborun(&r, NULL, "--report-bindings", "--bind-to", "none", "-n", "1", RANK_HELPER, "affinity",
          NULL);
  expect_status(&r, 0);
  expect_in("stderr", r.err, "Rank 0 is not bound\n");
  /* Alone it has no TUBO_RANK: compare what follows "cpus". */
  const char *a = strstr(alone.out, " cpus "), *b = strstr(r.out, " cpus ");
  ck_assert_msg(a != NULL && b != NULL && strcmp(a, b) == 0,
                "expected an unbound rank to keep tuborun's affinity '%s', got '%s'", alone.out,
                r.out);
  run_free(&alone);
  run_free(&r);
}
END_TEST

START_TEST(binding_failure_warns_once_and_runs)
{
  /* hwloc told this is the 384-thread machine: ranks on processors that do not exist here
   * cannot bind. tuborun says so once and starts them unbound. */
  static const char *const env[] = {"HWLOC_XMLFILE=" BIG, "HWLOC_THISSYSTEM=1", NULL};
  run_t r;
  tuborun(&r, env, "--map-by", "package", "-n", "24", RANK_HELPER, "exit-if", "-1", "1", NULL);
  expect_status(&r, 0);
  ck_assert_msg(lines_with(r.err, "cannot bind rank") == 1,
                "expected exactly one 'cannot bind' warning, got:\n%s", r.err);
  expect_in("stderr", r.err, "run unbound");
  run_free(&r);
  /* Not claimed to be this machine: tuborun does not try, and says why once. */
  static const char *const env2[] = {"HWLOC_XMLFILE=" BIG, NULL};
  tuborun(&r, env2, "-n", "2", RANK_HELPER, "exit-if", "-1", "1", NULL);
  expect_status(&r, 0);
  ck_assert_msg(lines_with(r.err, "is not this machine's") == 1,
                "expected one line saying the topology is not this machine's, got:\n%s", r.err);
  run_free(&r);
}
END_TEST

/* --- Limits. --- */

START_TEST(descriptor_limit_is_said_before_any_rank_starts)
{
  /* With --tag-output tuborun holds two pipes per rank, with pipes two pipe ends: 300 ranks
   * cannot fit in 64 descriptors, and no rank may start. */
  static const char *const ways[][2] = {{"--tag-output", "--tag-output"}, {"--transport", "pipe"}};
  run_nofile_soft = run_nofile_hard = 64;
  for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
    run_t r;
    tuborun(&r, NULL, ways[i][0], ways[i][1], "-n", "300", RANK_HELPER, "say", NULL);
    expect_status(&r, 1);
    expect_in("stderr", r.err, "300 ranks need 632 open files");
    expect_in("stderr", r.err, "but the limit is 64 (ulimit -n)");
    ck_assert_msg(strstr(r.out, "rank") == NULL && strstr(r.err, "err from rank") == NULL,
                  "expected no rank to start (%s), got stdout:\n%s\nstderr:\n%s", ways[i][0], r.out,
                  r.err);
    run_free(&r);
  }
  run_nofile_soft = run_nofile_hard = 0;
}
END_TEST

START_TEST(descriptor_soft_limit_is_raised_to_fit)
{
  /* A soft limit below the need, a hard limit above it: tuborun raises its own. */
  run_nofile_soft = 64;
  run_nofile_hard = 4096;
  run_t r;
  tuborun(&r, NULL, "--tag-output", "-n", "100", RANK_HELPER, "say", NULL);
  run_nofile_soft = run_nofile_hard = 0;
  expect_status(&r, 0);
  expect_in("stderr", r.err, "all 100 ranks exited with status 0 without calling tubo_init");
  ck_assert_msg(strstr(r.err, "open files") == NULL, "expected no word of the limit, got:\n%s",
                r.err);
  run_free(&r);
}
END_TEST

/* --- Progress lines. --- */

/* Starts tuborun with argv (NULL-terminated, argv[0] ignored) and reads its stderr until a
 * line holds needle; then stops it with SIGTERM and collects what is left. No sleep: the
 * job runs until the line comes, however long the machine takes. */
static void run_until_line(run_t *r, char **argv, const char *needle)
{
  int err[2];
  ck_assert_msg(pipe(err) == 0, "expected a pipe: %s", strerror(errno));
  memset(r, 0, sizeof *r);
  r->pid = fork();
  ck_assert_msg(r->pid >= 0, "expected fork to work: %s", strerror(errno));
  if (r->pid == 0) {
    dup2(err[1], STDERR_FILENO);
    close(err[0]);
    close(err[1]);
    argv[0] = (char *)TUBORUN;
    execv(TUBORUN, argv);
    _exit(126);
  }
  close(err[1]);
  size_t len = 0;
  run_append(&r->err, &len, "", 0);
  int signalled = 0;
  for (;;) {
    char buf[4096];
    ssize_t n = read(err[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    run_append(&r->err, &len, buf, (size_t)n);
    if (!signalled && strstr(r->err, needle) != NULL) {
      kill(r->pid, SIGTERM);
      signalled = 1;
    }
  }
  close(err[0]);
  int ws;
  while (waitpid(r->pid, &ws, 0) < 0 && errno == EINTR)
    ;
  r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  run_append(&r->out, &len, "", 0);
}

START_TEST(progress_lines_only_when_asked)
{
  run_t r;
  char *argv[] = {NULL, "--show-progress=0.05", "-n", "2", RANK_HELPER, "hang", NULL};
  /* Ranks start in batches, so the first lines may count fewer than 2 running. */
  run_until_line(&r, argv, " elapsed, 2 of 2 ranks running, ");
  expect_status(&r, 128 + SIGTERM);
  expect_in("stderr", r.err, "tuborun: 0:00:");
  expect_in("stderr", r.err, " elapsed, 2 of 2 ranks running, ");
  expect_in("stderr", r.err, "% CPU over the last 0.05 s\n");
  run_free(&r);
  /* Without the option, a job says nothing while it runs. */
  tuborun(&r, NULL, "--timeout", "0.5", "-n", "1", RANK_HELPER, "hang", NULL);
  expect_status(&r, 124);
  ck_assert_msg(lines_with(r.err, "elapsed") == 0, "expected no progress line, got:\n%s", r.err);
  run_free(&r);
  /* The interval must be a positive number of seconds. */
  static const char *const bad[] = {"--show-progress=0", "--show-progress=abc",
                                    "--show-progress=-1", "--show-progress="};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tuborun(&r, NULL, bad[i], "-n", "1", RANK_HELPER, "say", NULL);
    expect_status(&r, 2);
    expect_in("stderr", r.err, "--show-progress needs a positive number of seconds");
    run_free(&r);
  }
}
END_TEST

START_TEST(help_lists_each_option_on_one_line_by_group)
{
  run_t r;
  tuborun(&r, NULL, "--help", NULL);
  expect_status(&r, 0);
  static const char *const groups[] = {"\nRanks, mapping and binding:\n", "\nLaunch:\n",
                                       "\nOutput:\n", "\nWithout starting anything:\n",
                                       "\nGeneral:\n"};
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
    expect_in("--help", r.out, groups[i]);
  static const char *const options[] = {"\n  -n, -np, --np N ",
                                        "\n  --map-by LEVEL ",
                                        "\n  --bind-to LEVEL ",
                                        "\n  --report-bindings ",
                                        "\n  --oversubscribe ",
                                        "\n  -x VAR[=value] ",
                                        "\n  --transport shm|pipe ",
                                        "\n  --timeout SECONDS ",
                                        "\n  --allow-run-as-root ",
                                        "\n  --stdin all|none|R ",
                                        "\n  --tag-output ",
                                        "\n  --show-progress[=S] ",
                                        "\n  --dry-run ",
                                        "\n  --topology FILE ",
                                        "\n  -h, --help ",
                                        "\n  -V, --version "};
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
    expect_in("--help", r.out, options[i]);
  /* One line each: no line of the help is a continuation, and none is wider than 79. */
  ck_assert_msg(lines_with(r.out, "                        ") == 0,
                "expected no continuation lines in --help, got:\n%s", r.out);
  for (const char *line = r.out; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    ck_assert_msg(len < 80, "expected --help lines under 80 columns, got %zu: %.*s", len, (int)len,
                  line);
    line += len + (end != NULL);
  }
  run_free(&r);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("tuborun");
  TCase *tc = tcase_create("tuborun");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, clean_setup, clean_teardown);
  tcase_add_test(tc, help_and_version);
  tcase_add_test(tc, bad_arguments_exit_2_with_usage);
  tcase_add_test(tc, missing_program_exits_127);
  tcase_add_test(tc, unrunnable_program_exits_2);
  tcase_add_test(tc, failing_rank_sets_the_exit_status);
  tcase_add_test(tc, killed_rank_exits_137);
  tcase_add_test(tc, timeout_stops_the_job_with_124);
  tcase_add_test(tc, timeout_says_what_each_rank_was_blocked_in);
  tcase_add_test(tc, mpiexec_timeout_is_honoured);
  tcase_add_test(tc, a_program_that_cannot_run_says_its_status);
  tcase_add_test(tc, ranks_that_skip_init_or_finalize_are_named);
  tcase_add_test(tc, x_of_an_unset_variable_warns);
  tcase_add_test(tc, stdin_goes_to_rank_0_only);
  tcase_add_test(tc, tag_output_prefixes_lines);
  tcase_add_test(tc, environment_reaches_every_rank);
  tcase_add_test(tc, default_is_one_rank_per_core);
  tcase_add_test(tc, report_bindings_in_a_dry_run);
  tcase_add_test(tc, dry_run_needs_no_program);
  tcase_add_test(tc, oversubscription_is_said_once);
  tcase_add_test(tc, ranks_start_bound_as_reported);
  tcase_add_test(tc, bind_to_none_leaves_the_affinity_alone);
  tcase_add_test(tc, binding_failure_warns_once_and_runs);
  tcase_add_test(tc, descriptor_limit_is_said_before_any_rank_starts);
  tcase_add_test(tc, descriptor_soft_limit_is_raised_to_fit);
  tcase_add_test(tc, progress_lines_only_when_asked);
  tcase_add_test(tc, help_lists_each_option_on_one_line_by_group);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
