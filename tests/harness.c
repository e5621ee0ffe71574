/* SPDX-License-Identifier: MIT */
/* The test harness (harness.h): jobs started from Check test cases, rank bodies, and
 * the checks bodies make. */
#include "config.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Where tuborun is when TUBORUN is not set (tests/Makefile.inc sets both). */
#ifndef TH_TUBORUN_DEFAULT
#define TH_TUBORUN_DEFAULT "tools/tuborun"
#endif

/* Seconds tuborun gives a job, and (longer) Check gives a test case. TH_JOB_TIMEOUT in
 * the environment gives jobs longer (make check-scale's 1024 ranks, with Check's own
 * CK_TIMEOUT_MULTIPLIER for the cases). */
#define TH_JOB_TIMEOUT   "120"
#define TH_TCASE_TIMEOUT 180

/* The job timeout, as tuborun's --timeout argument. */
static const char *th_job_timeout(void)
{
  const char *t = getenv("TH_JOB_TIMEOUT");
  return t != NULL && atoi(t) > 0 ? t : TH_JOB_TIMEOUT;
}

/* Most output of a failed job quoted in the failure message. */
#define TH_QUOTE_MAX 12000

tubo_comm_t *th_world;
int th_rank = -1, th_size = 0;

/* ---- Variants ---- */

typedef struct th_variant_def {
  unsigned bit;
  const char *name;
  const char *transport; /* NULL: no launcher */
  const char *cma, *rndv, *slots, *data;
} th_variant_def_t;

static const th_variant_def_t th_variants[] = {
    {TH_SOLO, "solo", NULL, NULL, NULL, NULL, NULL},
    {TH_SHM, "shm", "shm", NULL, NULL, NULL, NULL},
    {TH_PIPE, "pipe", "pipe", NULL, NULL, NULL, NULL},
    {TH_SHM_COPY, "shm-copy", "shm", "0", NULL, NULL, NULL},
    {TH_SHM_COPY_SMALL, "shm-copy-small", "shm", "0", NULL, "64", "16k"},
    {TH_SHM_RNDV, "shm-rndv-1k", "shm", "1", "1k", NULL, NULL},
    {TH_SHM_RNDV_SMALL, "shm-rndv-1k-small", "shm", "1", "1k", "64", "16k"},
};
#define TH_NVARIANTS (sizeof th_variants / sizeof th_variants[0])

static const th_variant_def_t *th_variant_find(unsigned bit)
{
  for (size_t i = 0; i < TH_NVARIANTS; i++)
    if (th_variants[i].bit == bit)
      return &th_variants[i];
  return NULL;
}

const char *th_variant_name(unsigned v)
{
  const th_variant_def_t *d = th_variant_find(v);
  return d ? d->name : "?";
}

unsigned th_variant(void)
{
  const char *s = getenv(TH_ENV_VARIANT);
  for (size_t i = 0; s != NULL && i < TH_NVARIANTS; i++)
    if (strcmp(s, th_variants[i].name) == 0)
      return th_variants[i].bit;
  return 0;
}

int th_single_copy_expected(void)
{
  const th_variant_def_t *d = th_variant_find(th_variant());
  const char *cma = getenv("TH_CMA_WORKS");
  int allowed = d != NULL && d->transport != NULL && strcmp(d->transport, "shm") == 0 &&
                (d->cma == NULL || strcmp(d->cma, "1") == 0);
  return allowed && cma != NULL && strcmp(cma, "1") == 0;
}

/* Whether this kernel lets a process read a related process's memory: a child reads a
 * word of its parent, which names itself as a permitted ptracer as every rank does for
 * its launcher. This is the test's own oracle for whether tubo must use single copy. */
static int th_cma_works(void)
{
  static volatile uint64_t word = 0x74756230746f6b65ull;
  (void)prctl(PR_SET_PTRACER, (unsigned long)getpid(), 0, 0, 0);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return 0;
  if (pid == 0) {
    uint64_t v = 0;
    struct iovec l = {&v, sizeof v};
    struct iovec r = {(void *)&word, sizeof v};
    ssize_t n = process_vm_readv(parent, &l, 1, &r, 1, 0);
    _exit(n == (ssize_t)sizeof v && v == word ? 0 : 1);
  }
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

/* ---- Jobs, on the Check side ---- */

typedef struct th_job {
  const char *body;
  int nranks;
  unsigned variant;
} th_job_t;

#define TH_MAX_JOBS 1024
static th_job_t th_jobs[TH_MAX_JOBS];
static int th_njobs;

/* The launch variables a job must not inherit from this process. */
static void th_clear_launch_env(void)
{
  static const char *const launch_vars[] = {
      "TUBO_JOBID",        "TUBO_RANK",      "TUBO_SIZE",   "TUBO_LOCAL_RANK", "TUBO_LOCAL_SIZE",
      "TUBO_LAUNCHER_PID", "TUBO_TRANSPORT", "TUBO_SHM_FD", "TUBO_PIPE_FDS",   "TUBO_PLACE"};
  for (size_t i = 0; i < sizeof launch_vars / sizeof launch_vars[0]; i++)
    unsetenv(launch_vars[i]);
}

/* In the child about to run a job: the environment of its variant. */
static void th_job_env(const th_variant_def_t *d, int cma_works)
{
  th_clear_launch_env();
  const struct {
    const char *name, *value;
  } settings[] = {{"TUBO_SHM_CMA", d->cma},
                  {"TUBO_SHM_RNDV_BYTES", d->rndv},
                  {"TUBO_SHM_SLOTS", d->slots},
                  {"TUBO_SHM_DATA_BYTES", d->data}};
  for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
    if (settings[i].value)
      setenv(settings[i].name, settings[i].value, 1);
    else
      unsetenv(settings[i].name);
  }
  setenv(TH_ENV_VARIANT, d->name, 1);
  setenv("TH_CMA_WORKS", cma_works ? "1" : "0", 1);
}

/* Reads the job's output until every writer closed it; returns a malloc'd string (the
 * last TH_QUOTE_MAX bytes). */
static char *th_collect(int fd)
{
  size_t cap = 2 * TH_QUOTE_MAX, len = 0;
  char *buf = malloc(cap + 1);
  if (buf == NULL)
    abort();
  for (;;) {
    if (len == cap) {
      /* Keep the tail: the last lines say what failed. */
      memmove(buf, buf + cap / 2, cap - cap / 2);
      len = cap - cap / 2;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  if (len > TH_QUOTE_MAX) {
    memmove(buf, buf + len - TH_QUOTE_MAX, TH_QUOTE_MAX + 1);
    memcpy(buf, "...", 3);
  }
  return buf;
}

/* Runs argv (with this program's path for the entry "@self") with its output collected;
 * in the child, env_fn(env_arg) prepares the environment first. Returns the exit status
 * (or 128 + the signal), the output (malloc'd) in *out and the seconds it took. */
static int th_exec(const char *const *argv, void (*env_fn)(const void *), const void *env_arg,
                   char **out, double *secs)
{
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ck_assert_msg(n > 0, "cannot find this program: readlink(/proc/self/exe): %s", strerror(errno));
  exe[n] = '\0';
  const char *args[64];
  int a = 0;
  for (; argv[a] != NULL && a < 63; a++)
    args[a] = strcmp(argv[a], "@self") == 0 ? exe : argv[a];
  args[a] = NULL;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int p[2];
  ck_assert_msg(pipe(p) == 0, "pipe: %s", strerror(errno));
  /* The harness's end stays out of the job. */
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    dup2(p[1], STDOUT_FILENO);
    dup2(p[1], STDERR_FILENO);
    close(p[1]);
    env_fn(env_arg);
    execv(args[0], (char *const *)args);
    fprintf(stderr, "cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(p[1]);
  *out = th_collect(p[0]);
  close(p[0]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
    ;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* The environment of a job of th_run: no launch variables, then env's NAME=value. */
static void th_run_env(const void *arg)
{
  th_clear_launch_env();
  for (const char *const *e = arg; e != NULL && *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    char *name = eq != NULL ? strndup(*e, (size_t)(eq - *e)) : NULL;
    if (name != NULL)
      setenv(name, eq + 1, 1);
    free(name);
  }
}

const char *th_tuborun(void)
{
  const char *tuborun = getenv("TUBORUN");
  return tuborun != NULL && *tuborun != '\0' ? tuborun : TH_TUBORUN_DEFAULT;
}

int th_run(const char *const *argv, const char *const *env, char **out)
{
  double secs;
  return th_exec(argv, th_run_env, env, out, &secs);
}

/* th_job_env with the variant and whether single copy works, for th_exec. */
typedef struct th_job_env_arg {
  const th_variant_def_t *d;
  int cma_works;
} th_job_env_arg_t;

static void th_job_env_fn(const void *arg)
{
  const th_job_env_arg_t *e = arg;
  th_job_env(e->d, e->cma_works);
}

static void th_job_run(const th_job_t *j)
{
  const th_variant_def_t *d = th_variant_find(j->variant);
  ck_assert_msg(d != NULL, "unknown variant bit 0x%x", j->variant);
  const char *tuborun = th_tuborun();
  char nranks[16];
  snprintf(nranks, sizeof nranks, "%d", j->nranks);
  const char *argv[24];
  int a = 0;
  /* The mpirun pass (TH_MPIRUN set): the shared-memory variants run under mpirun, whose
   * ranks the environment splits into pretend nodes (TUBO_NODE_SIZE), so that messages
   * cross nodes through MPI; the others ran in the plain pass already. With pretend nodes
   * of one rank no two ranks share memory, and the variants that only change the
   * shared-memory settings (single copy, ring sizes) would run the plain shm variant's job
   * again: only that one runs. */
  const char *mpirun = getenv("TH_MPIRUN");
  if (mpirun != NULL && *mpirun != '\0') {
    if (d->transport == NULL || strcmp(d->transport, "shm") != 0)
      return;
    const char *node_size = getenv("TUBO_NODE_SIZE");
    if (node_size != NULL && strcmp(node_size, "1") == 0 && d->bit != TH_SHM)
      return;
    const char *launch[] = {mpirun,           "-n", nranks,          "--oversubscribe", "--timeout",
                            th_job_timeout(), "-x", "TUBO_NODE_SIZE"};
    for (size_t i = 0; i < sizeof launch / sizeof launch[0]; i++)
      argv[a++] = launch[i];
  } else if (d->transport != NULL) {
    const char *launch[] = {tuborun,      "-n",        nranks,          "--transport",
                            d->transport, "--timeout", th_job_timeout()};
    for (size_t i = 0; i < sizeof launch / sizeof launch[0]; i++)
      argv[a++] = launch[i];
  }
  argv[a++] = "@self";
  argv[a++] = "--body";
  argv[a++] = j->body;
  argv[a] = NULL;
  char what[256];
  snprintf(what, sizeof what, "body '%s' on %d rank%s, variant %s", j->body, j->nranks,
           j->nranks == 1 ? "" : "s", d->name);

  th_job_env_arg_t env = {d, th_cma_works()};
  char *out = NULL;
  double secs = 0;
  int code = th_exec(argv, th_job_env_fn, &env, &out, &secs);
  /* TH_TRACE=1: one line per job, to find slow ones. */
  if (getenv("TH_TRACE") != NULL)
    fprintf(stderr, "harness: %s: status %d after %.3f s\n", what, code, secs);
  const char *why = code == 124 && d->transport ? " (timed out: tuborun --timeout " : "";
  ck_assert_msg(code == 0,
                "%s: %s exited with status %d%s%s%s after %.1f s, expected 0; its output:\n%s",
                what, argv[0], code, why, *why ? th_job_timeout() : "", *why ? ")" : "", secs, out);
  free(out);
}

/* One loop test over a range of th_jobs: _i is the job's index. */
START_TEST(th_job_test)
{
  th_job_run(&th_jobs[_i]);
}
END_TEST

/* Whether TH_SKIP_VARIANTS (names, separated by spaces) leaves the variant out. */
static int th_variant_skipped(unsigned bit)
{
  const char *skip = getenv("TH_SKIP_VARIANTS");
  const th_variant_def_t *d = th_variant_find(bit);
  if (skip == NULL || d == NULL)
    return 0;
  size_t n = strlen(d->name);
  for (const char *p = skip; (p = strstr(p, d->name)) != NULL; p += n)
    if ((p == skip || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
      return 1;
  return 0;
}

void th_add_job(TCase *tc, const char *body, int nranks, unsigned variants)
{
  int first = th_njobs;
  for (unsigned bit = 1; bit < TH_VARIANT_END; bit <<= 1) {
    if (!(variants & bit) || th_variant_skipped(bit))
      continue;
    if (th_njobs >= TH_MAX_JOBS) {
      fprintf(stderr, "harness: more than %d jobs; raise TH_MAX_JOBS\n", TH_MAX_JOBS);
      exit(2);
    }
    th_jobs[th_njobs++] = (th_job_t){body, nranks, bit};
  }
  tcase_add_loop_test(tc, th_job_test, first, th_njobs);
}

TCase *th_tcase(const char *name)
{
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, TH_TCASE_TIMEOUT);
  return tc;
}

TCase *th_add_case(Suite *s, const char *body, int nranks, unsigned variants)
{
  TCase *tc = th_tcase(body);
  th_add_job(tc, body, nranks, variants);
  suite_add_tcase(s, tc);
  return tc;
}

/* ---- Rank bodies ---- */

int th_one_node(void)
{
  for (int r = 1; r < th_size; r++)
    if (th_node_of(r) != th_node_of(0))
      return 0;
  return 1;
}

int th_node_of(int r)
{
  /* Across real hosts (tests/run_hosts.sh), mpirun places ranks round-robin. */
  const char *map = getenv("TH_NODE_MAP");
  if (map != NULL && strncmp(map, "cyclic:", 7) == 0 && atoi(map + 7) > 0)
    return r % atoi(map + 7);
  const char *k = getenv("TUBO_NODE_SIZE");
  if (getenv("OMPI_COMM_WORLD_SIZE") == NULL || k == NULL || atoi(k) <= 0)
    return 0;
  return r / atoi(k);
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  if (th_rank >= 0)
    fprintf(stderr, "rank %d: %s:%d: %s\n", th_rank, base, line, msg);
  else
    fprintf(stderr, "rank %s: %s:%d: %s\n", getenv("TUBO_RANK") ? getenv("TUBO_RANK") : "?", base,
            line, msg);
  fflush(stderr);
  exit(1);
}

void th_check_status(const char *file, int line, const tubo_status_t *st, int source, int tag,
                     size_t length, int error)
{
  if (st->source != source || st->tag != tag || st->length != length || st->error != error)
    th_fail(file, line,
            "status: expected source %d tag %d length %zu error %s, got source %d tag %d "
            "length %zu error %s",
            source, tag, length, tubo_err_name(error), st->source, st->tag, st->length,
            tubo_err_name(st->error));
}

uint32_t th_seed(int from, int to, size_t len, int iter)
{
  uint64_t h = 0xcbf29ce484222325ull;
  uint64_t parts[4] = {(uint64_t)from, (uint64_t)to, (uint64_t)len, (uint64_t)iter};
  for (int i = 0; i < 4; i++) {
    h ^= parts[i] + 0x9e3779b97f4a7c15ull;
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return (uint32_t)(h ^ (h >> 32));
}

/* The pattern: xorshift words from the seed, so that any prefix of a message is the same
 * pattern's prefix (a truncated receive can be checked). */
static inline uint64_t th_next(uint64_t *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

void th_fill(void *buf, size_t len, uint32_t seed)
{
  uint64_t x = ((uint64_t)seed << 1 | 1) * 0x9e3779b97f4a7c15ull;
  unsigned char *p = buf;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = th_next(&x);
    memcpy(p + i, &v, len - i < 8 ? len - i : 8);
  }
}

void th_check_data(const char *file, int line, const void *buf, size_t len, uint32_t seed,
                   const char *fmt, ...)
{
  uint64_t x = ((uint64_t)seed << 1 | 1) * 0x9e3779b97f4a7c15ull;
  const unsigned char *p = buf;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = th_next(&x);
    size_t n = len - i < 8 ? len - i : 8;
    if (memcmp(p + i, &v, n) == 0)
      continue;
    const unsigned char *e = (const unsigned char *)&v;
    size_t k = 0;
    while (p[i + k] == e[k])
      k++;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    th_fail(file, line, "%s: byte %zu of %zu differs: expected 0x%02x, got 0x%02x", what, i + k,
            len, e[k], p[i + k]);
  }
}

void th_check_guard(const char *file, int line, const unsigned char *p, size_t n, const char *fmt,
                    ...)
{
  for (size_t k = 0; k < n; k++) {
    if (p[k] == TH_GUARD_BYTE)
      continue;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    th_fail(file, line, "%s: guard byte %zu after the buffer changed: expected 0x%02x, got 0x%02x",
            what, k, TH_GUARD_BYTE, p[k]);
  }
}

void th_send_msg(const char *file, int line, int to, int tag, size_t len, int iter)
{
  unsigned char *b = th_malloc(len);
  th_fill(b, len, th_seed(th_rank, to, len, iter));
  int rc = tubo_send(b, len, to, tag, th_world);
  if (rc != 0)
    th_fail(file, line, "send of %zu B to rank %d, tag %d: expected TUBO_OK, got %s", len, to, tag,
            tubo_err_name(rc));
  free(b);
}

void th_recv_msg(const char *file, int line, int from, int tag, size_t len, int iter)
{
  unsigned char *b = th_malloc(len + TH_GUARD);
  memset(b, TH_GUARD_BYTE, len + TH_GUARD);
  tubo_status_t st;
  int rc = tubo_recv(b, len, from, tag, th_world, &st);
  if (rc != 0)
    th_fail(file, line, "receive of %zu B from rank %d, tag %d: expected TUBO_OK, got %s", len,
            from, tag, tubo_err_name(rc));
  th_check_status(file, line, &st, from, tag, len, 0);
  th_check_data(file, line, b, len, th_seed(from, th_rank, len, iter),
                "%zu B from rank %d, tag %d, iteration %d", len, from, tag, iter);
  th_check_guard(file, line, b + len, TH_GUARD, "%zu B from rank %d", len, from);
  free(b);
}

void *th_malloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (p == NULL)
    th_fail(__FILE__, __LINE__, "malloc(%zu) failed", n);
  return p;
}

void th_init_world(int *argc, char ***argv)
{
  TH_OK(tubo_init(argc, argv));
  th_world = TUBO_COMM_WORLD;
  TH_CHECK(th_world != NULL, "TUBO_COMM_WORLD is NULL after tubo_init");
  TH_OK(tubo_comm_rank(th_world, &th_rank));
  TH_OK(tubo_comm_size(th_world, &th_size));
}

static int th_body_main(const char *name, const th_body_t *bodies, int *argc, char ***argv)
{
  const th_body_t *b = bodies;
  while (b->name != NULL && strcmp(b->name, name) != 0)
    b++;
  if (b->name == NULL) {
    fprintf(stderr, "%s: no rank body named '%s'\n", (*argv)[0], name);
    return 2;
  }
  if (!(b->flags & TH_SELF_INIT))
    th_init_world(argc, argv);
  b->fn();
  if (!(b->flags & TH_SELF_INIT))
    TH_OK(tubo_finalize());
  return 0;
}

int th_main(int argc, char **argv, const th_body_t *bodies, Suite *(*make_suite)(void))
{
  if (argc >= 3 && strcmp(argv[1], "--body") == 0)
    return th_body_main(argv[2], bodies, &argc, &argv);
  if (argc != 1) {
    fprintf(stderr, "usage: %s [--body NAME]\n", argv[0]);
    return 2;
  }
  check_set_max_msg_size(TH_QUOTE_MAX + 4096);
  SRunner *sr = srunner_create(make_suite());
  /* Each test in its own process (CK_FORK=no in the environment still wins, for debuggers). */
  if (getenv("CK_FORK") == NULL)
    srunner_set_fork_status(sr, CK_FORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}

pid_t th_child_fork(void)
{
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_msg(pid >= 0, "fork: expected a child");
  return pid;
}

int th_child_wait(pid_t pid)
{
  int ws = 0;
  ck_assert_msg(waitpid(pid, &ws, 0) == pid, "waitpid(%d): expected the child", (int)pid);
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? -WTERMSIG(ws) : -1000;
}
