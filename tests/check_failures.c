/* SPDX-License-Identifier: MIT */
/* Failures (check_failures.h): a rank that dies while the others send to it, receive from
 * it, wait in a barrier, a Queue, a Pipe or on a lock it holds, also while tuborun is
 * stopped; tuborun killed, stopped by a signal or timed out, also while it starts
 * thousands of ranks; a /dev/shm too small or full, a memory cgroup too small.
 *
 * Each test starts a real job through tuborun and follows it through the ranks' records.
 * Time is measured from the moment the suite makes the victim die: every survivor's
 * blocking call must return within FC_EPEER_NS, and tuborun must end within FC_EXIT_NS
 * with the victim's status and one line naming it. Afterwards no process of the job may
 * be running (this process is a subreaper, so a rank that outlived tuborun would be its
 * child) and no file the job had open in /dev/shm or /tmp may exist. */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_failures.h"

/* The bounds doc/failures.md promises: a survivor's call returns within a second of the
 * death, tuborun ends the job within two. */
#define FC_EPEER_NS 1000000000ull
#define FC_EXIT_NS  2000000000ull
/* Generous limits for what the bounds do not cover (start-up on a loaded machine). */
#define FC_START_S 60
#define FC_END_S   30

#define FC_MAX_RECS  256
#define FC_MAX_FILES 64

/* ---- A job under test ---- */

typedef struct fc_job {
  pid_t pid;    /* tuborun */
  int pidfd;    /* readable once tuborun ended, or -1 (then polled) */
  int rep_fd;   /* the report pipe's read end */
  int order_fd; /* the order pipe's write end */
  int out_fd;   /* stdout and stderr of tuborun and its ranks */
  int rep_eof, out_eof;
  int exited, status; /* tuborun's exit code, or 128 + signal */
  uint64_t t_exit, t_eof;
  unsigned char partial[sizeof(fr_rec_t)];
  size_t npartial;
  fr_rec_t recs[FC_MAX_RECS];
  int nrecs;
  char *out;
  size_t outlen;
  char *files[FC_MAX_FILES]; /* what the job had open in /dev/shm or /tmp */
  int nfiles;
} fc_job_t;

/* What a job runs. */
typedef struct fc_spec {
  const char *body;
  int nranks;
  const char *transport;
  int victim;
  const char *timeout;                   /* tuborun --timeout, or NULL */
  int (*setup)(const struct fc_spec *s); /* in the child before exec: 0, or its exit code */
  const char *setup_arg;                 /* for setup */
  const char *option;                    /* one more tuborun option, or NULL */
  const char *const *prog;               /* the ranks' program, or NULL: this one, body */
} fc_spec_t;

static char *fc_tuborun(void)
{
  const char *t = getenv("TUBORUN");
  return (char *)(t != NULL && *t != '\0' ? t : TH_TUBORUN_DEFAULT);
}

static void fc_start(fc_job_t *j, const fc_spec_t *s)
{
  memset(j, 0, sizeof *j);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ck_assert_msg(n > 0, "expected to find this program, readlink: %s", strerror(errno));
  exe[n] = '\0';
  int rep[2], ord[2], out[2];
  ck_assert_msg(pipe2(rep, O_CLOEXEC) == 0 && pipe2(ord, O_CLOEXEC) == 0 &&
                    pipe2(out, O_CLOEXEC) == 0,
                "expected pipes, got: %s", strerror(errno));
  char nr[16];
  snprintf(nr, sizeof nr, "%d", s->nranks);
  char *argv[16];
  int a = 0;
  argv[a++] = fc_tuborun();
  argv[a++] = (char *)"-n";
  argv[a++] = nr;
  argv[a++] = (char *)"--transport";
  argv[a++] = (char *)s->transport;
  if (s->timeout != NULL) {
    argv[a++] = (char *)"--timeout";
    argv[a++] = (char *)s->timeout;
  }
  if (s->option != NULL)
    argv[a++] = (char *)s->option;
  if (s->prog != NULL) {
    for (int k = 0; s->prog[k] != NULL && a < 15; k++)
      argv[a++] = (char *)s->prog[k];
  } else {
    argv[a++] = exe;
    argv[a++] = (char *)"--body";
    argv[a++] = (char *)s->body;
  }
  argv[a] = NULL;
  fflush(NULL);
  j->pid = fork();
  ck_assert_msg(j->pid >= 0, "expected fork to work: %s", strerror(errno));
  if (j->pid == 0) {
    /* The ranks inherit the report pipe's write end and the order pipe's read end. */
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    int w = dup(rep[1]), r = dup(ord[0]);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", w);
    setenv(FR_ENV_REPORT, buf, 1);
    snprintf(buf, sizeof buf, "%d", r);
    setenv(FR_ENV_ORDER, buf, 1);
    snprintf(buf, sizeof buf, "%d", s->victim);
    setenv(FR_ENV_VICTIM, buf, 1);
    signal(SIGPIPE, SIG_DFL);
    if (s->setup != NULL) {
      int rc = s->setup(s);
      if (rc != 0)
        _exit(rc);
    }
    execv(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(126);
  }
  close(rep[1]);
  close(ord[0]);
  close(out[1]);
  j->rep_fd = rep[0];
  j->order_fd = ord[1];
  j->out_fd = out[0];
  j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
  j->out = calloc(1, 1);
  ck_assert_msg(j->out != NULL, "expected memory for the job's output");
}

static void fc_read_out(fc_job_t *j)
{
  char buf[4096];
  ssize_t n = read(j->out_fd, buf, sizeof buf);
  if (n < 0 && errno == EINTR)
    return;
  if (n <= 0) {
    j->out_eof = 1;
    return;
  }
  char *b = realloc(j->out, j->outlen + (size_t)n + 1);
  ck_assert_msg(b != NULL, "expected memory for the job's output");
  memcpy(b + j->outlen, buf, (size_t)n);
  j->outlen += (size_t)n;
  b[j->outlen] = '\0';
  j->out = b;
}

static void fc_read_recs(fc_job_t *j)
{
  unsigned char buf[16 * sizeof(fr_rec_t)];
  ssize_t n = read(j->rep_fd, buf, sizeof buf);
  if (n < 0 && errno == EINTR)
    return;
  if (n <= 0) {
    j->rep_eof = 1;
    j->t_eof = fr_now_ns();
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    j->partial[j->npartial++] = buf[i];
    if (j->npartial < sizeof(fr_rec_t))
      continue;
    ck_assert_msg(j->nrecs < FC_MAX_RECS, "expected at most %d records", FC_MAX_RECS);
    memcpy(&j->recs[j->nrecs++], j->partial, sizeof(fr_rec_t));
    j->npartial = 0;
  }
}

static void fc_reap(fc_job_t *j)
{
  if (j->exited)
    return;
  int ws;
  pid_t p = waitpid(j->pid, &ws, WNOHANG);
  if (p != j->pid)
    return;
  j->exited = 1;
  j->t_exit = fr_now_ns();
  j->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Waits at most timeout_ms for a record, output, or tuborun's end, and takes it in. */
static void fc_pump(fc_job_t *j, int timeout_ms)
{
  struct pollfd p[3];
  int n = 0, ip = -1, ir = -1, io = -1;
  if (!j->rep_eof) {
    ir = n;
    p[n++] = (struct pollfd){j->rep_fd, POLLIN, 0};
  }
  if (!j->out_eof) {
    io = n;
    p[n++] = (struct pollfd){j->out_fd, POLLIN, 0};
  }
  if (!j->exited && j->pidfd >= 0) {
    ip = n;
    p[n++] = (struct pollfd){j->pidfd, POLLIN, 0};
  }
  /* Without a pidfd, tuborun's end is noticed by looking every 10 ms. */
  int ms = !j->exited && j->pidfd < 0 && (timeout_ms < 0 || timeout_ms > 10) ? 10 : timeout_ms;
  int rc = poll(p, (nfds_t)n, ms);
  ck_assert_msg(rc >= 0 || errno == EINTR, "expected poll to work, got: %s", strerror(errno));
  if (rc > 0 && ir >= 0 && p[ir].revents)
    fc_read_recs(j);
  if (rc > 0 && io >= 0 && p[io].revents)
    fc_read_out(j);
  if (ip < 0 || (rc > 0 && p[ip].revents))
    fc_reap(j);
}

/* How many records of kind came from ranks other than skip (-1: from any). */
static int fc_count(const fc_job_t *j, int kind, int skip)
{
  int n = 0;
  for (int i = 0; i < j->nrecs; i++)
    n += j->recs[i].kind == kind && j->recs[i].rank != skip;
  return n;
}

static const fr_rec_t *fc_find(const fc_job_t *j, int kind, int rank)
{
  for (int i = 0; i < j->nrecs; i++)
    if (j->recs[i].kind == kind && j->recs[i].rank == rank)
      return &j->recs[i];
  return NULL;
}

static int fc_ended(const fc_job_t *j)
{
  return j->exited && j->rep_eof && j->out_eof;
}

/* Pumps until want records of kind came from ranks other than skip, or the job ended;
 * fails after secs seconds. */
static void fc_wait_recs(fc_job_t *j, int kind, int skip, int want, int secs, const char *what)
{
  uint64_t until = fr_now_ns() + (uint64_t)secs * 1000000000ull;
  while (fc_count(j, kind, skip) < want && !fc_ended(j) && fr_now_ns() < until)
    fc_pump(j, 100);
  ck_assert_msg(fc_count(j, kind, skip) >= want,
                "expected %d records of %s within %d s, got %d; tuborun %s (status %d); the "
                "job's output:\n%s",
                want, what, secs, fc_count(j, kind, skip), j->exited ? "ended" : "still runs",
                j->status, j->out);
}

/* Pumps until tuborun ended and every holder of the pipes (every rank) closed them. */
static void fc_wait_end(fc_job_t *j, int secs)
{
  uint64_t until = fr_now_ns() + (uint64_t)secs * 1000000000ull;
  while (!fc_ended(j) && fr_now_ns() < until)
    fc_pump(j, 100);
  ck_assert_msg(fc_ended(j),
                "expected the job to end within %d s: tuborun %s, report pipe %s, output %s; "
                "the job's output:\n%s",
                secs, j->exited ? "ended" : "still runs", j->rep_eof ? "closed" : "open",
                j->out_eof ? "closed" : "open", j->out);
}

/* The state letter of a process ("R", "S", "Z", ...), or 0 when it is gone. */
static char fc_proc_state(pid_t pid)
{
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  const char *rp = strrchr(buf, ')');
  return rp != NULL && rp[1] == ' ' ? rp[2] : 0;
}

/* Waits until pid sleeps: a rank that said it is about to block has blocked. Its record
 * comes just before the call, so this makes sure the death finds it asleep in it. */
static void fc_wait_asleep(fc_job_t *j, pid_t pid, int rank)
{
  uint64_t until = fr_now_ns() + (uint64_t)FC_START_S * 1000000000ull;
  char st = fc_proc_state(pid);
  while (st != 'S' && fr_now_ns() < until) {
    fc_pump(j, 1);
    st = fc_proc_state(pid);
  }
  if (st == 'S')
    return;
  /* What the rank reported (kind:rc), and what the job printed, say why it is not asleep. */
  char recs[512] = "";
  for (int i = 0; i < j->nrecs; i++)
    if (j->recs[i].rank == rank && strlen(recs) + 32 < sizeof recs)
      snprintf(recs + strlen(recs), sizeof recs - strlen(recs), " %d:%s", j->recs[i].kind,
               tubo_err_name(j->recs[i].rc));
  ck_assert_msg(0,
                "expected rank %d (pid %d) to sleep in its blocking call, got state '%c'; its "
                "records (kind:rc):%s; output:\n%s",
                rank, (int)pid, st ? st : '-', recs, j->out ? j->out : "");
}

/* Whether this process has target open: then a rank holds it because it inherited it
 * from here (a lock file of whoever started the tests), and it is not the job's. */
static int fc_self_has_open(const char *target)
{
  DIR *d = opendir("/proc/self/fd");
  int found = 0;
  for (struct dirent *e; d != NULL && !found && (e = readdir(d)) != NULL;) {
    char path[300], mine[PATH_MAX];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, mine, sizeof mine - 1);
    if (n <= 0)
      continue;
    mine[n] = '\0';
    found = strcmp(mine, target) == 0;
  }
  if (d != NULL)
    closedir(d);
  return found;
}

/* Notes what pid has open in /dev/shm or /tmp, but not inherited from this process:
 * none of it may outlive the job. */
static void fc_note_files(fc_job_t *j, pid_t pid)
{
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(dir);
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
    char path[384], target[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0)
      continue;
    target[n] = '\0';
    if (strncmp(target, "/dev/shm/", 9) != 0 && strncmp(target, "/tmp/", 5) != 0)
      continue;
    if (fc_self_has_open(target))
      continue;
    char *del = strstr(target, " (deleted)");
    if (del != NULL)
      *del = '\0';
    if (j->nfiles < FC_MAX_FILES)
      j->files[j->nfiles++] = strdup(target);
  }
  if (d != NULL)
    closedir(d);
}

/* The entries of /dev/shm and /tmp named like tubo's objects (its fallback for kernels
 * without memfd names them /tubo.PID.RANDOM), each followed by '/'. */
static void fc_list_names(char *buf, size_t cap)
{
  static const char *const dirs[] = {"/dev/shm", "/tmp"};
  buf[0] = '\0';
  for (size_t i = 0; i < 2; i++) {
    DIR *d = opendir(dirs[i]);
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
      if (strncmp(e->d_name, "tubo.", 5) == 0 || strstr(e->d_name, "memfd") != NULL) {
        strncat(buf, e->d_name, cap - strlen(buf) - 2);
        strncat(buf, "/", cap - strlen(buf) - 1);
      }
    if (d != NULL)
      closedir(d);
  }
}

static char fc_names_before[8192];

static void fc_setup(void)
{
  ck_assert_msg(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "expected to become a subreaper: %s",
                strerror(errno));
  /* An order to a victim already gone must fail with EPIPE, not kill the suite. */
  signal(SIGPIPE, SIG_IGN);
  fc_list_names(fc_names_before, sizeof fc_names_before);
}

/* Kills and counts the processes that are still this process's children: ranks that
 * outlived tuborun come here (subreaper). Reaps the ended ones. */
static int fc_orphans(void)
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
    /* A rank that closed its files is not yet a zombie: it counts only if it is still
     * there a second later. */
    int pfd = state != 'Z' ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
    struct pollfd p = {pfd, POLLIN, 0};
    if (state != 'Z' && (pfd < 0 || poll(&p, 1, 1000) != 1)) {
      left++;
      kill(pid, SIGKILL);
    }
    if (pfd >= 0)
      close(pfd);
    waitpid(pid, NULL, 0);
  }
  if (d != NULL)
    closedir(d);
  return left;
}

/* After the job: no process of it runs, no file of it exists. */
static void fc_check_clean(fc_job_t *j)
{
  int left = fc_orphans();
  ck_assert_msg(left == 0, "expected no process of the job left after tuborun, found %d", left);
  for (int i = 0; i < j->nrecs; i++) {
    char st = fc_proc_state((pid_t)j->recs[i].pid);
    ck_assert_msg(st == 0, "expected rank %d (pid %d) gone after the job, got state '%c'",
                  j->recs[i].rank, j->recs[i].pid, st);
  }
  for (int i = 0; i < j->nfiles; i++) {
    struct stat sb;
    ck_assert_msg(stat(j->files[i], &sb) != 0 && errno == ENOENT,
                  "expected %s, which the job had open, to be gone after it", j->files[i]);
  }
  char now[8192];
  fc_list_names(now, sizeof now);
  ck_assert_msg(strcmp(now, fc_names_before) == 0,
                "expected nothing new named tubo.* or memfd in /dev/shm and /tmp: before '%s', "
                "after '%s'",
                fc_names_before, now);
}

static void fc_free(fc_job_t *j)
{
  if (j->pidfd >= 0)
    close(j->pidfd);
  close(j->rep_fd);
  close(j->order_fd);
  close(j->out_fd);
  for (int i = 0; i < j->nfiles; i++)
    free(j->files[i]);
  free(j->out);
}

/* How many lines of the job's output contain needle. */
static int fc_lines_with(const char *text, const char *needle)
{
  int n = 0;
  for (const char *line = text; *line != '\0';) {
    size_t len = strcspn(line, "\n");
    char *copy = strndup(line, len);
    n += copy != NULL && strstr(copy, needle) != NULL;
    free(copy);
    line += len + (line[len] == '\n');
  }
  return n;
}

/* Waits until every rank is set up and every survivor (every rank but skip) sleeps in its
 * blocking call; notes what they have open. */
static void fc_wait_blocked(fc_job_t *j, int nranks, int skip)
{
  fc_wait_recs(j, FR_READY, -1, nranks, FC_START_S, "READY (every rank set up)");
  fc_note_files(j, j->pid);
  for (int i = 0; i < j->nrecs; i++) {
    if (j->recs[i].kind != FR_READY)
      continue;
    fc_note_files(j, (pid_t)j->recs[i].pid);
    if (j->recs[i].rank != skip)
      fc_wait_asleep(j, (pid_t)j->recs[i].pid, j->recs[i].rank);
  }
}

/* ---- A rank dies ---- */

enum { FC_KILL = 'K' }; /* besides enum fr_order: the suite sends SIGKILL itself */

typedef struct fc_death {
  const char *body;
  int nranks;
  const char *transport;
  int how;     /* FC_KILL or an fr_order */
  int want_rc; /* what every survivor's blocking call returns */
} fc_death_t;

static const fc_death_t fc_deaths[] = {
    {"recv", 3, "shm", FC_KILL, TUBO_EPEER},
    {"recv", 3, "pipe", FC_KILL, TUBO_EPEER},
    {"recv", 2, "shm", FR_DIE_SEGV, TUBO_EPEER},
    {"recv", 2, "pipe", FR_DIE_EXIT, TUBO_EPEER},
    {"recv_any", 3, "shm", FR_DIE_EXIT, TUBO_EPEER},
    {"recv_any", 2, "pipe", FC_KILL, TUBO_EPEER},
    {"send_big", 3, "shm", FC_KILL, TUBO_EPEER},
    {"send_big", 2, "pipe", FR_DIE_SEGV, TUBO_EPEER},
    {"wait", 2, "shm", FR_DIE_EXIT, TUBO_EPEER},
    {"waitall", 2, "shm", FC_KILL, TUBO_EPEER},
    {"waitall", 2, "pipe", FR_DIE_EXIT, TUBO_EPEER},
    {"probe", 2, "shm", FR_DIE_SEGV, TUBO_EPEER},
    /* More ranks than cores (on 2 cores), waiting as the policy for that says. */
    {"halo", 8, "shm", FC_KILL, TUBO_EPEER},
    {"barrier", 3, "shm", FC_KILL, TUBO_EPEER},
    {"barrier", 4, "shm", FR_DIE_SEGV, TUBO_EPEER},
    {"barrier", 3, "pipe", FR_DIE_EXIT, TUBO_EPEER},
    /* Collectives: the victim never joins, is the root, or stops half-way through (on a
     * power of two of ranks, where every rank needs every other's part to finish). */
    {"allreduce", 3, "shm", FC_KILL, TUBO_EPEER},
    {"allreduce", 4, "pipe", FR_DIE_EXIT, TUBO_EPEER},
    {"bcast", 4, "shm", FR_DIE_SEGV, TUBO_EPEER},
    {"allreduce_mid", 4, "shm", FC_KILL, TUBO_EPEER},
    {"allreduce_mid", 2, "shm", FR_DIE_EXIT, TUBO_EPEER},
    {"allreduce_mid", 4, "pipe", FR_DIE_SEGV, TUBO_EPEER},
    /* The same through the shared-memory engine's scratch (3 MiB: one copy). */
    {"allreduce_big", 4, "shm", FC_KILL, TUBO_EPEER},
    {"bcast_big", 3, "shm", FR_DIE_SEGV, TUBO_EPEER},
    /* Of two ranks, through the slots in pieces: the root dies, or the reader. */
    {"bcast_big", 2, "shm", FC_KILL, TUBO_EPEER},
    {"bcast_read", 2, "shm", FR_DIE_EXIT, TUBO_EPEER},
    {"allgather_big", 4, "shm", FR_DIE_EXIT, TUBO_EPEER},
    {"alltoall_big", 3, "shm", FC_KILL, TUBO_EPEER},
    /* The root of a scatter waits until the others have read its buffer. */
    {"scatter_big", 2, "shm", FC_KILL, TUBO_EPEER},
    /* The v-forms: a gatherv's root waits for the dead sender's record (or message), a
     * scatterv's for the dead rank's read, every rank of an alltoallv for every table. */
    {"gatherv", 2, "shm", FR_DIE_EXIT, TUBO_EPEER},
    {"gatherv_big", 2, "shm", FC_KILL, TUBO_EPEER},
    {"scatterv_big", 2, "shm", FR_DIE_SEGV, TUBO_EPEER},
    {"alltoallv", 3, "shm", FC_KILL, TUBO_EPEER},
    {"alltoallv", 3, "pipe", FR_DIE_EXIT, TUBO_EPEER},
    {"queue_get", 3, "shm", FC_KILL, TUBO_EPEER},
    {"queue_get", 2, "shm", FR_DIE_SEGV, TUBO_EPEER},
    {"queue_put", 3, "shm", FR_DIE_EXIT, TUBO_EPEER},
    {"queue_put", 2, "shm", FC_KILL, TUBO_EPEER},
    /* A Pipe between ranks says the other end is gone as Python does: end of file. */
    {"pipe_recv", 3, "shm", FC_KILL, TUBO_EEOF},
    {"pipe_recv", 2, "pipe", FR_DIE_SEGV, TUBO_EEOF},
    {"pipe_send", 2, "shm", FR_DIE_EXIT, TUBO_EEOF},
    {"pipe_send", 2, "pipe", FC_KILL, TUBO_EEOF},
    /* The lock's holder dies: one waiter takes it over and is told. */
    {"array_lock", 2, "shm", FC_KILL, TUBO_EPEER},
    {"array_lock", 2, "shm", FR_DIE_EXIT, TUBO_EPEER},
    {"value_lock", 2, "shm", FR_DIE_SEGV, TUBO_EPEER},
    /* tubo_abort: the others are told the job was aborted. */
    {"recv", 3, "shm", FR_DIE_ABORT, TUBO_EABORT},
    {"barrier", 3, "pipe", FR_DIE_ABORT, TUBO_EABORT},
    /* A survivor that ignores the error and SIGTERM: tuborun's SIGKILL ends it in time. */
    {"stubborn", 2, "shm", FC_KILL, TUBO_EPEER},
};
#define FC_NDEATHS ((int)(sizeof fc_deaths / sizeof fc_deaths[0]))

/* The same with a setting for every rank (NAME=VALUE). The shared-memory collectives'
 * tree forced (TUBO_COLL_TREE, groups of consecutive ranks): the victim's leader waits for
 * it, the others for the leaders; the halo's allreduce of one double goes along the tree
 * at 8 ranks in fours. Every size past 1 KiB by single copy (TUBO_SHM_RNDV_BYTES): two
 * ranks' bcasts, gathers, allgathers and alltoalls copy straight between their buffers,
 * waiting for the other's name and then for its copy (coll_shm_big.c). */
typedef struct fc_env_death {
  fc_death_t d;
  const char *env;
} fc_env_death_t;

static const fc_env_death_t fc_env_deaths[] = {
    {{"barrier", 5, "shm", FC_KILL, TUBO_EPEER}, "TUBO_COLL_TREE=2"},
    {{"barrier", 7, "shm", FR_DIE_EXIT, TUBO_EPEER}, "TUBO_COLL_TREE=3"},
    {{"halo", 8, "shm", FC_KILL, TUBO_EPEER}, "TUBO_COLL_TREE=4"},
    {{"bcast_big", 2, "shm", FC_KILL, TUBO_EPEER}, "TUBO_SHM_RNDV_BYTES=1024"},
    {{"bcast_read", 2, "shm", FR_DIE_SEGV, TUBO_EPEER}, "TUBO_SHM_RNDV_BYTES=1024"},
    {{"gather_big", 2, "shm", FR_DIE_EXIT, TUBO_EPEER}, "TUBO_SHM_RNDV_BYTES=1024"},
    {{"allgather_big", 2, "shm", FC_KILL, TUBO_EPEER}, "TUBO_SHM_RNDV_BYTES=1024"},
    {{"alltoall_big", 2, "shm", FR_DIE_SEGV, TUBO_EPEER}, "TUBO_SHM_RNDV_BYTES=1024"},
    {{"gatherv_big", 2, "shm", FR_DIE_EXIT, TUBO_EPEER}, "TUBO_SHM_RNDV_BYTES=1024"},
};
#define FC_NENV_DEATHS ((int)(sizeof fc_env_deaths / sizeof fc_env_deaths[0]))

/* tuborun's status and the words of its line for each way to die. */
static int fc_death_status(int how)
{
  switch (how) {
  case FC_KILL:
    return 128 + SIGKILL;
  case FR_DIE_SEGV:
    return 128 + SIGSEGV;
  case FR_DIE_EXIT:
    return FR_EXIT_CODE;
  default:
    return FR_ABORT_CODE;
  }
}

static void fc_death_words(int how, char *buf, size_t cap)
{
  if (how == FC_KILL || how == FR_DIE_SEGV)
    snprintf(buf, cap, "was killed by signal %d", how == FC_KILL ? SIGKILL : SIGSEGV);
  else
    snprintf(buf, cap, "exited with status %d", fc_death_status(how));
}

/* What a survivor reports besides its call's result. */
static void fc_check_extra(const fc_death_t *c, const fr_rec_t *r, const char *what)
{
  if (strcmp(c->body, "waitall") == 0) {
    ck_assert_msg(r->extra[0] == TUBO_EPEER && r->extra[1] == TUBO_EPEER,
                  "%s: waitall statuses: expected TUBO_EPEER for the receive and the send, got "
                  "%s and %s",
                  what, tubo_err_name(r->extra[0]), tubo_err_name(r->extra[1]));
  } else if (strstr(c->body, "_lock") != NULL) {
    ck_assert_msg(r->extra[0] == 0 && r->extra[1] == TUBO_EINVAL,
                  "%s: after taking over the lock: expected the first unlock to succeed and the "
                  "second to fail with TUBO_EINVAL, got %s and %s",
                  what, tubo_err_name(r->extra[0]), tubo_err_name(r->extra[1]));
  }
}

/* In the child about to run tuborun: the setting s->setup_arg (NAME=VALUE) for every
 * rank. */
static int fc_env(const fc_spec_t *s)
{
  char name[64];
  const char *eq = strchr(s->setup_arg, '=');
  if (eq == NULL || (size_t)(eq - s->setup_arg) >= sizeof name)
    return 99;
  memcpy(name, s->setup_arg, (size_t)(eq - s->setup_arg));
  name[eq - s->setup_arg] = '\0';
  return setenv(name, eq + 1, 1) == 0 ? 0 : 99;
}

/* Rank 1 of job c dies while the others block; with the setting env (NAME=VALUE) unless
 * NULL. */
static void fc_rank_dies(const fc_death_t *c, const char *env)
{
  const int victim = 1;
  char what[160];
  snprintf(what, sizeof what, "%s on %d ranks over %s%s%s, rank %d dies by %s", c->body, c->nranks,
           c->transport, env ? ", " : "", env ? env : "", victim,
           c->how == FC_KILL       ? "SIGKILL"
           : c->how == FR_DIE_SEGV ? "SIGSEGV"
           : c->how == FR_DIE_EXIT ? "exit(3)"
                                   : "tubo_abort");
  fc_spec_t s = {c->body, c->nranks, c->transport, victim, NULL, env ? fc_env : NULL,
                 env,     NULL,      NULL};
  fc_job_t j;
  fc_start(&j, &s);
  fc_wait_blocked(&j, c->nranks, victim);
  const fr_rec_t *v = fc_find(&j, FR_READY, victim);
  ck_assert_msg(v != NULL, "%s: expected the victim's READY record", what);
  uint64_t t_death = fr_now_ns();
  if (c->how == FC_KILL) {
    ck_assert_msg(kill((pid_t)v->pid, SIGKILL) == 0, "%s: kill: %s", what, strerror(errno));
  } else {
    char order = (char)c->how;
    ck_assert_msg(write(j.order_fd, &order, 1) == 1, "%s: expected the order to go out: %s", what,
                  strerror(errno));
  }
  fc_wait_recs(&j, FR_RESULT, victim, c->nranks - 1, FC_END_S, "RESULT (survivors' calls)");
  fc_wait_end(&j, FC_END_S);

  for (int r = 0; r < c->nranks; r++) {
    if (r == victim)
      continue;
    const fr_rec_t *res = fc_find(&j, FR_RESULT, r);
    ck_assert_msg(res != NULL, "%s: expected rank %d's result", what, r);
    ck_assert_msg(res->rc == c->want_rc, "%s: rank %d's call: expected %s, got %s", what, r,
                  tubo_err_name(c->want_rc), tubo_err_name(res->rc));
    uint64_t dt = res->t_ns - t_death;
    ck_assert_msg(res->t_ns >= t_death && dt < FC_EPEER_NS,
                  "%s: rank %d's call: expected to return within %.1f s of the death, took "
                  "%.3f s",
                  what, r, FC_EPEER_NS / 1e9, dt / 1e9);
    fc_check_extra(c, res, what);
    const fr_rec_t *fin = fc_find(&j, FR_FINAL, r);
    if (strcmp(c->body, "stubborn") == 0) {
      ck_assert_msg(fin == NULL, "%s: expected rank %d to stay until killed", what, r);
      continue;
    }
    /* The job is broken: finalize says so instead of waiting for the dead rank. A lock
     * is taken over as soon as its holder's process is gone, which may be before tuborun
     * has told the job: finalize may not know yet then. */
    int want_fin = c->how == FR_DIE_ABORT ? TUBO_EABORT : TUBO_EPEER;
    int lock = strstr(c->body, "_lock") != NULL;
    ck_assert_msg(fin != NULL && (fin->rc == want_fin || (lock && fin->rc == 0)),
                  "%s: rank %d's tubo_finalize: expected %s, got %s", what, r,
                  tubo_err_name(want_fin), fin ? tubo_err_name(fin->rc) : "no record");
  }
  if (c->how != FC_KILL) {
    const fr_rec_t *d = fc_find(&j, FR_DEATH, victim);
    ck_assert_msg(d != NULL && d->rc == c->how, "%s: expected the victim to say it dies", what);
  }

  int want = fc_death_status(c->how);
  ck_assert_msg(j.status == want, "%s: expected tuborun to exit with %d, got %d; output:\n%s", what,
                want, j.status, j.out);
  uint64_t dt = j.t_exit - t_death;
  ck_assert_msg(dt < FC_EXIT_NS, "%s: expected tuborun to end within %.1f s, took %.3f s", what,
                FC_EXIT_NS / 1e9, dt / 1e9);
  char line[160], words[64];
  snprintf(line, sizeof line, "tuborun: rank %d (pid %d) ", victim, v->pid);
  fc_death_words(c->how, words, sizeof words);
  ck_assert_msg(fc_lines_with(j.out, line) == 1 && fc_lines_with(j.out, words) == 1,
                "%s: expected one line '%s%s...', got:\n%s", what, line, words, j.out);
  ck_assert_msg(fc_lines_with(j.out, "tuborun: rank ") == 1,
                "%s: expected tuborun to name only the failing rank, got:\n%s", what, j.out);
  fc_check_clean(&j);
  fc_free(&j);
}

START_TEST(rank_dies)
{
  fc_rank_dies(&fc_deaths[_i], NULL);
}
END_TEST

START_TEST(rank_dies_env)
{
  fc_rank_dies(&fc_env_deaths[_i].d, fc_env_deaths[_i].env);
}
END_TEST

/* ---- tuborun killed, signalled, timed out ---- */

/* Starts a job of 3 ranks that all block for ever, and waits until they sleep. */
static void fc_start_hung(fc_job_t *j, const char *transport, const char *timeout)
{
  fc_spec_t s = {"hang", 3, transport, -1, timeout, NULL, NULL, NULL, NULL};
  fc_start(j, &s);
  fc_wait_blocked(j, 3, -1);
}

static const char *const fc_transports[] = {"shm", "pipe"};

START_TEST(launcher_killed)
{
  fc_job_t j;
  fc_start_hung(&j, fc_transports[_i], NULL);
  uint64_t t0 = fr_now_ns();
  ck_assert_msg(kill(j.pid, SIGKILL) == 0, "kill tuborun: %s", strerror(errno));
  fc_wait_end(&j, FC_END_S);
  /* Every rank held the report pipe: its end of file is the last rank's death. */
  uint64_t dt = j.t_eof - t0;
  ck_assert_msg(dt < FC_EPEER_NS,
                "%s: expected every rank to end within %.1f s of tuborun's SIGKILL, took %.3f s",
                fc_transports[_i], FC_EPEER_NS / 1e9, dt / 1e9);
  ck_assert_msg(j.status == 128 + SIGKILL, "expected tuborun killed by SIGKILL, got status %d",
                j.status);
  ck_assert_msg(fc_count(&j, FR_SIGNAL, -1) == 0 && fc_count(&j, FR_RESULT, -1) == 0,
                "expected the ranks to die by SIGKILL without a word, got %d signal and %d "
                "result records",
                fc_count(&j, FR_SIGNAL, -1), fc_count(&j, FR_RESULT, -1));
  fc_check_clean(&j);
  fc_free(&j);
}
END_TEST

/* SIGINT and SIGTERM to tuborun reach every rank; tuborun exits 128 + the signal. */
static void fc_signal_launcher(int sig, const char *transport, const char *words)
{
  fc_job_t j;
  fc_start_hung(&j, transport, NULL);
  uint64_t t0 = fr_now_ns();
  ck_assert_msg(kill(j.pid, sig) == 0, "kill tuborun: %s", strerror(errno));
  fc_wait_end(&j, FC_END_S);
  for (int r = 0; r < 3; r++) {
    const fr_rec_t *s = fc_find(&j, FR_SIGNAL, r);
    ck_assert_msg(s != NULL && s->rc == sig, "%s: expected rank %d to receive signal %d, got %d",
                  transport, r, sig, s ? s->rc : 0);
  }
  uint64_t dt = j.t_exit - t0;
  ck_assert_msg(dt < FC_EXIT_NS,
                "%s: expected tuborun to end within %.1f s of signal %d, took %.3f s", transport,
                FC_EXIT_NS / 1e9, sig, dt / 1e9);
  ck_assert_msg(j.status == 128 + sig, "%s: expected tuborun to exit with %d, got %d; output:\n%s",
                transport, 128 + sig, j.status, j.out);
  ck_assert_msg(fc_lines_with(j.out, words) == 1, "%s: expected one line '%s', got:\n%s", transport,
                words, j.out);
  fc_check_clean(&j);
  fc_free(&j);
}

START_TEST(launcher_sigint)
{
  fc_signal_launcher(SIGINT, fc_transports[_i], "tuborun: received Interrupt; stopping 3 ranks");
}
END_TEST

START_TEST(launcher_sigterm)
{
  fc_signal_launcher(SIGTERM, fc_transports[_i], "tuborun: received Terminated; stopping 3 ranks");
}
END_TEST

START_TEST(launcher_timeout)
{
  /* Not waiting for the ranks to block first: the timeout runs from the start. Two
   * seconds leave the ranks time to start and block on a loaded machine. */
  fc_job_t j;
  uint64_t t0 = fr_now_ns();
  fc_spec_t s = {"hang", 3, fc_transports[_i], -1, "2", NULL, NULL, NULL, NULL};
  fc_start(&j, &s);
  fc_wait_end(&j, FC_END_S);
  ck_assert_msg(j.status == 124,
                "expected tuborun to exit with 124 after --timeout, got %d; "
                "output:\n%s",
                j.status, j.out);
  ck_assert_msg(fc_lines_with(j.out, "tuborun: the job ran longer than --timeout 2 seconds; "
                                     "stopping 3 ranks") == 1,
                "expected one line saying the job timed out, got:\n%s", j.out);
  for (int r = 0; r < 3; r++) {
    const fr_rec_t *sig = fc_find(&j, FR_SIGNAL, r);
    ck_assert_msg(sig != NULL && sig->rc == SIGTERM, "expected rank %d to receive SIGTERM, got %d",
                  r, sig ? sig->rc : 0);
  }
  uint64_t dt = j.t_exit - t0;
  ck_assert_msg(dt >= 2000000000ull && dt < 2000000000ull + FC_EXIT_NS,
                "expected the job to end 2 to %.0f s after it started, it ended after %.3f s",
                2 + FC_EXIT_NS / 1e9, dt / 1e9);
  fc_check_clean(&j);
  fc_free(&j);
}
END_TEST

/* ---- A /dev/shm too small or full ---- */

/* In the child about to run tuborun: a /dev/shm of its own, of s->setup_arg bytes (a
 * private mount namespace; as root, else in a user namespace), and no memfd_create
 * (seccomp: ENOSYS), so that tubo uses its fallback, a POSIX object in /dev/shm. Any
 * filler the test wants is written here. Returns 77 when this cannot be set up. */
static int fc_small_shm(const fc_spec_t *s)
{
  if (unshare(CLONE_NEWNS) != 0) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      return 77;
    char map[64];
    snprintf(map, sizeof map, "0 %d 1", (int)uid);
    int fd = open("/proc/self/uid_map", O_WRONLY);
    if (fd < 0 || write(fd, map, strlen(map)) < 0)
      return 77;
    close(fd);
    fd = open("/proc/self/setgroups", O_WRONLY);
    if (fd >= 0 && write(fd, "deny", 4) < 0)
      return 77;
    if (fd >= 0)
      close(fd);
    snprintf(map, sizeof map, "0 %d 1", (int)gid);
    fd = open("/proc/self/gid_map", O_WRONLY);
    if (fd < 0 || write(fd, map, strlen(map)) < 0)
      return 77;
    close(fd);
  }
  char opts[64];
  snprintf(opts, sizeof opts, "size=%s,mode=1777", s->setup_arg);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount("tubo-test-shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
    return 77;
  if (strcmp(s->setup_arg, "4k") == 0) {
    /* Full: a filler takes every block. */
    int fd = open("/dev/shm/filler", O_RDWR | O_CREAT, 0600);
    if (fd < 0 || posix_fallocate(fd, 0, 4096) != 0)
      return 77;
    close(fd);
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    return 77;
  return 0;
}

/* Runs the init body on 2 ranks with a /dev/shm of size (and one more tuborun option);
 * returns 0 when it was skipped. */
static int fc_run_small(fc_job_t *j, const char *size, const char *option)
{
  fc_spec_t s = {"init", 2, "shm", -1, NULL, fc_small_shm, size, option, NULL};
  fc_start(j, &s);
  fc_wait_end(j, FC_END_S);
  if (j->status == 77 && j->nrecs == 0 && strstr(j->out, "tuborun") == NULL) {
    fprintf(stderr,
            "check_failures: SKIP /dev/shm of %s: cannot mount a tmpfs of its own "
            "(needs root or user namespaces) or filter memfd_create (seccomp)\n",
            size);
    fc_free(j);
    return 0;
  }
  return 1;
}

/* tuborun refused a job of nranks that does not fit, before starting a rank: it exits 1
 * with one line saying so, which names the limit (limit_words). */
static void fc_expect_refused(const fc_job_t *j, int nranks, const char *limit_words)
{
  char words[96];
  snprintf(words, sizeof words, "tuborun: the job will not fit in memory: %d ranks need", nranks);
  ck_assert_msg(j->status == 1 && j->nrecs == 0,
                "%d ranks that do not fit: expected tuborun to exit with 1 and start no rank, got "
                "status %d and %d records; output:\n%s",
                nranks, j->status, j->nrecs, j->out);
  ck_assert_msg(fc_lines_with(j->out, words) == 1 && fc_lines_with(j->out, limit_words) == 1,
                "expected one line '%s ...' naming '%s', got:\n%s", words, limit_words, j->out);
}

START_TEST(shm_too_small)
{
  /* Room for the job's control block (tuborun's part, 8 KiB), none for the ranks' inboxes
   * (20 KiB each) and channels: tuborun says so before it starts a rank. */
  fc_job_t j;
  if (!fc_run_small(&j, "16k", NULL))
    return;
  fc_expect_refused(&j, 2, "(/dev/shm) leaves");
  fc_check_clean(&j);
  fc_free(&j);
  /* Started anyway, each rank's reservation fails: tubo_init says why. The first rank
   * that fails stops the job, so on a loaded machine another may be stopped (or never
   * started) before it gets that far; none may get anything else. */
  if (!fc_run_small(&j, "16k", "--no-memory-check"))
    return;
  int failed = 0;
  for (int r = 0; r < 2; r++) {
    const fr_rec_t *i = fc_find(&j, FR_INIT, r);
    ck_assert_msg(i == NULL || i->rc == TUBO_ESHM,
                  "expected rank %d's tubo_init to fail with TUBO_ESHM, got %s; output:\n%s", r,
                  i ? tubo_err_name(i->rc) : "no record", j.out);
    failed += i != NULL;
  }
  ck_assert_msg(failed >= 1, "expected a rank's tubo_init to fail with TUBO_ESHM; output:\n%s",
                j.out);
  ck_assert_msg(j.status == 1,
                "expected tuborun to exit with the ranks' status 1 (no signal, "
                "SIGBUS above all), got %d; output:\n%s",
                j.status, j.out);
  ck_assert_msg(fc_lines_with(j.out, "tubo_init: shared memory is unavailable or too small") >= 1,
                "expected the ranks to say why tubo_init failed, got:\n%s", j.out);
  ck_assert_msg(fc_lines_with(j.out, "exited with status 1; stopping the job") == 1,
                "expected tuborun to name the failing rank once, got:\n%s", j.out);
  fc_check_clean(&j);
  fc_free(&j);
}
END_TEST

START_TEST(shm_full)
{
  /* Not even the control block fits: tuborun says so and starts nothing. */
  fc_job_t j;
  if (!fc_run_small(&j, "4k", NULL))
    return;
  ck_assert_msg(j.status == 1, "expected tuborun to exit with 1, got %d; output:\n%s", j.status,
                j.out);
  ck_assert_msg(fc_lines_with(j.out, "tuborun: shared memory is full: No space left on device") ==
                    1,
                "expected one line saying shared memory is full, got:\n%s", j.out);
  ck_assert_msg(j.nrecs == 0, "expected no rank to start, got %d records", j.nrecs);
  fc_check_clean(&j);
  fc_free(&j);
}
END_TEST

/* ---- A memory cgroup too small for the job ---- */

/* Finds this process's memory cgroup directory: v2 when the unified hierarchy has the
 * memory controller, else v1's. Returns 2 (v2), 1 (v1) or 0 (none found). */
static int fc_memcg_dir(char *dir, size_t cap)
{
  char line[1024];
  FILE *f = fopen("/proc/self/cgroup", "r");
  int found = 0;
  while (f != NULL && found == 0 && fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL)
      continue;
    *c2 = '\0';
    char ctls[600];
    snprintf(ctls, sizeof ctls, ",%s,", c1 + 1);
    const char *path = c2 + 1;
    char ctlfile[1200], buf[512] = "";
    snprintf(ctlfile, sizeof ctlfile, "/sys/fs/cgroup%s/cgroup.controllers",
             strcmp(path, "/") == 0 ? "" : path);
    FILE *c = fopen(ctlfile, "r");
    if (c1[1] == '\0' && c != NULL && fgets(buf, sizeof buf, c) != NULL &&
        strstr(buf, "memory") != NULL) {
      snprintf(dir, cap, "/sys/fs/cgroup%s", strcmp(path, "/") == 0 ? "" : path);
      found = 2;
    } else if (strstr(ctls, ",memory,") != NULL) {
      snprintf(dir, cap, "/sys/fs/cgroup/memory%s", strcmp(path, "/") == 0 ? "" : path);
      found = 1;
    }
    if (c != NULL)
      fclose(c);
  }
  if (f != NULL)
    fclose(f);
  return found;
}

static int fc_write_file(const char *dir, const char *name, const char *value)
{
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, value, strlen(value));
  close(fd);
  return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Makes a memory cgroup of limit bytes below this process's own, at path. Returns 0, or
 * -1 with why filled when cgroups cannot be written here. */
static int fc_memcg_make(char *path, size_t cap, const char *limit, char *why, size_t wcap)
{
  char dir[1024];
  int v = fc_memcg_dir(dir, sizeof dir);
  if (v == 0) {
    snprintf(why, wcap, "no memory cgroup found");
    return -1;
  }
  snprintf(path, cap, "%s/tubo-check-%d", dir, (int)getpid());
  if (mkdir(path, 0755) != 0) {
    snprintf(why, wcap, "cannot make %s: %s", path, strerror(errno));
    return -1;
  }
  if (fc_write_file(path, v == 2 ? "memory.max" : "memory.limit_in_bytes", limit) != 0) {
    snprintf(why, wcap, "cannot set the limit of %s: %s", path, strerror(errno));
    rmdir(path);
    return -1;
  }
  return 0;
}

/* In the child about to run tuborun: moves itself into the cgroup s->setup_arg. */
static int fc_enter_memcg(const fc_spec_t *s)
{
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  return fc_write_file(s->setup_arg, "cgroup.procs", pid) == 0 ? 0 : 77;
}

START_TEST(memcg_too_small)
{
  char cg[1200], why[1400];
  if (fc_memcg_make(cg, sizeof cg, "100663296", why, sizeof why) != 0) {
    fprintf(stderr, "check_failures: SKIP memory cgroup: %s\n", why);
    return;
  }
  /* 160 ranks need about 109 MiB of inboxes and channels at the default sizes; the cgroup
   * allows 96. */
  fc_job_t j;
  fc_spec_t s = {"init", 160, "shm", -1, NULL, fc_enter_memcg, cg, NULL, NULL};
  fc_start(&j, &s);
  fc_wait_end(&j, FC_END_S);
  if (j.status == 77 && j.nrecs == 0 && strstr(j.out, "tuborun") == NULL) {
    fprintf(stderr, "check_failures: SKIP memory cgroup: cannot move a process into %s\n", cg);
    fc_free(&j);
    rmdir(cg);
    return;
  }
  fc_expect_refused(&j, 160, "the memory cgroup's limit");
  ck_assert_msg(fc_lines_with(j.out, "tubo-check-") == 1,
                "expected the line to name the cgroup made for the test, got:\n%s", j.out);
  fc_check_clean(&j);
  fc_free(&j);
  /* A job that fits in the same cgroup starts (its program is small: true). */
  static const char *const prog[] = {"true", NULL};
  fc_spec_t fits = {"-", 2, "shm", -1, NULL, fc_enter_memcg, cg, NULL, prog};
  fc_start(&j, &fits);
  fc_wait_end(&j, FC_END_S);
  ck_assert_msg(j.status == 0,
                "in the same cgroup, 2 ranks of true: expected 0, got %d; output:\n%s", j.status,
                j.out);
  fc_free(&j);
  ck_assert_msg(rmdir(cg) == 0, "expected to remove %s after the jobs: %s", cg, strerror(errno));
}
END_TEST

/* ---- Thousands of ranks starting ---- */

static const char *const fc_sleep20[] = {"sleep", "20", NULL};

/* Zombies among this process's children: ranks tuborun left unreaped (this process is a
 * subreaper, so they would come here). Reaps them. */
static int fc_zombies(void)
{
  int n = 0;
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) != 0 || si.si_pid == 0)
      return n;
    n++;
  }
}

/* The number N in tuborun's line "...; stopping N ranks", or -1. */
static int fc_stopping(const char *out)
{
  const char *p = strstr(out, "; stopping ");
  return p != NULL ? atoi(p + 11) : -1;
}

/* The number N in tuborun's line "tuborun: N of M ranks were never started", or -1. */
static int fc_never_started(const char *out, int nranks)
{
  char tail[64];
  snprintf(tail, sizeof tail, " of %d ranks were never started", nranks);
  const char *p = strstr(out, tail);
  if (p == NULL)
    return -1;
  while (p > out && p[-1] >= '0' && p[-1] <= '9')
    p--;
  return atoi(p);
}

/* What holds after a job of 4096 ranks stopped while they started: tuborun said that
 * some never started, reaped every one it started, and left nothing behind. Frees j. */
static void fc_startup_end(fc_job_t *j)
{
  ck_assert_msg(fc_never_started(j->out, 4096) >= 1,
                "expected tuborun to say that some ranks were never started, got:\n%s", j->out);
  ck_assert_msg(fc_zombies() == 0, "expected tuborun to reap every rank it started");
  fc_check_clean(j);
  fc_free(j);
}

/* tuborun -n 4096 with a timeout much shorter than starting them all takes: it stops
 * the job when the time is up, while ranks are still starting. */
START_TEST(startup_timeout)
{
  fc_job_t j;
  fc_spec_t s = {"-", 4096, "shm", -1, "0.5", NULL, NULL, "--no-memory-check", fc_sleep20};
  fc_start(&j, &s);
  fc_wait_end(&j, FC_END_S);
  ck_assert_msg(j.status == 124, "expected 124 after --timeout 0.5, got %d; output:\n%s", j.status,
                j.out);
  int n = fc_stopping(j.out);
  ck_assert_msg(fc_lines_with(j.out, "tuborun: the job ran longer than --timeout 0.5 seconds") ==
                        1 &&
                    n >= 1 && n < 4096,
                "expected tuborun to stop the job while its ranks were starting (fewer than "
                "4096 started), got:\n%s",
                j.out);
  fc_startup_end(&j);
}
END_TEST

/* Rank 0 of 4096 fails at once: tuborun stops the job while the other ranks are still
 * starting, and never starts the rest. */
static const char *const fc_rank0_fails[] = {
    "sh", "-c", "[ \"$TUBO_RANK\" = 0 ] && exit 3; exec sleep 20", NULL};

START_TEST(startup_death)
{
  fc_job_t j;
  fc_spec_t s = {"-", 4096, "shm", -1, NULL, NULL, NULL, "--no-memory-check", fc_rank0_fails};
  fc_start(&j, &s);
  fc_wait_end(&j, FC_END_S);
  ck_assert_msg(j.status == 3,
                "rank 0 exited with 3: expected tuborun to exit 3, got %d; output:\n%s", j.status,
                j.out);
  int n = fc_never_started(j.out, 4096);
  ck_assert_msg(fc_lines_with(j.out, "tuborun: rank 0 (pid ") == 1 &&
                    fc_lines_with(j.out, ") exited with status 3; stopping the job") == 1 &&
                    n >= 1 && n < 4096,
                "expected tuborun to name rank 0 and stop the job while its ranks were starting "
                "(some never started), got:\n%s",
                j.out);
  fc_startup_end(&j);
}
END_TEST

/* Whether process pid has a child. */
static int fc_has_child(pid_t pid)
{
  char path[64], buf[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  int any = fgets(buf, sizeof buf, f) != NULL && buf[0] >= '0' && buf[0] <= '9';
  fclose(f);
  return any;
}

/* Ctrl-C while tuborun starts 4096 ranks: it stops at once, leaving nothing behind. */
START_TEST(startup_sigint)
{
  fc_job_t j;
  fc_spec_t s = {"-", 4096, "shm", -1, NULL, NULL, NULL, "--no-memory-check", fc_sleep20};
  /* No measurement of the protocols before the ranks (tools/protocol.c): its children
   * would pass for ranks below. */
  setenv("TUBO_SHM_MEASURE", "0", 1);
  fc_start(&j, &s);
  unsetenv("TUBO_SHM_MEASURE");
  uint64_t until = fr_now_ns() + (uint64_t)FC_START_S * 1000000000ull;
  while (!fc_has_child(j.pid) && !j.exited && fr_now_ns() < until)
    fc_pump(&j, 1);
  ck_assert_msg(!j.exited && fc_has_child(j.pid),
                "expected tuborun to be starting ranks; output:\n%s", j.out);
  ck_assert_msg(kill(j.pid, SIGINT) == 0, "kill tuborun: %s", strerror(errno));
  fc_wait_end(&j, FC_END_S);
  ck_assert_msg(j.status == 128 + SIGINT, "expected %d after SIGINT, got %d; output:\n%s",
                128 + SIGINT, j.status, j.out);
  int n = fc_stopping(j.out);
  ck_assert_msg(fc_lines_with(j.out, "tuborun: received Interrupt; stopping") == 1 && n >= 1 &&
                    n < 4096,
                "expected tuborun to stop the job while its ranks were starting, got:\n%s", j.out);
  fc_startup_end(&j);
}
END_TEST

/* ---- tuborun stopped while a rank dies ---- */

/* With tuborun stopped (SIGSTOP), nobody reaps or reports the victim: the survivors find
 * its death themselves (shm), then tuborun, continued, ends the job as usual. */
START_TEST(launcher_stopped)
{
  const int victim = 1;
  fc_spec_t s = {"recv", 3, "shm", victim, NULL, NULL, NULL, NULL, NULL};
  fc_job_t j;
  fc_start(&j, &s);
  fc_wait_blocked(&j, 3, victim);
  const fr_rec_t *v = fc_find(&j, FR_READY, victim);
  ck_assert_msg(v != NULL, "expected the victim's READY record");
  ck_assert_msg(kill(j.pid, SIGSTOP) == 0, "stop tuborun: %s", strerror(errno));
  uint64_t until = fr_now_ns() + (uint64_t)FC_START_S * 1000000000ull;
  while (fc_proc_state(j.pid) != 'T' && fr_now_ns() < until)
    fc_pump(&j, 1);
  ck_assert_msg(fc_proc_state(j.pid) == 'T', "expected tuborun stopped");
  ck_assert_msg(kill((pid_t)v->pid, SIGKILL) == 0, "kill the victim: %s", strerror(errno));
  fc_wait_recs(&j, FR_RESULT, victim, 2, FC_END_S, "RESULT (survivors, tuborun stopped)");
  ck_assert_msg(fc_proc_state(j.pid) == 'T',
                "expected tuborun still stopped when the survivors returned");
  for (int r = 0; r < 3; r++) {
    const fr_rec_t *res = r == victim ? NULL : fc_find(&j, FR_RESULT, r);
    ck_assert_msg(r == victim || (res != NULL && res->rc == TUBO_EPEER),
                  "rank %d's receive from the dead rank, tuborun stopped: expected TUBO_EPEER, "
                  "got %s",
                  r, res ? tubo_err_name(res->rc) : "no record");
  }
  ck_assert_msg(kill(j.pid, SIGCONT) == 0, "continue tuborun: %s", strerror(errno));
  fc_wait_end(&j, FC_END_S);
  ck_assert_msg(j.status == 128 + SIGKILL, "expected tuborun to exit with %d, got %d; output:\n%s",
                128 + SIGKILL, j.status, j.out);
  fc_check_clean(&j);
  fc_free(&j);
}
END_TEST

static Suite *fc_suite(void)
{
  Suite *s = suite_create("failures");
  TCase *tc = th_tcase("rank_dies");
  tcase_add_checked_fixture(tc, fc_setup, NULL);
  tcase_add_loop_test(tc, rank_dies, 0, FC_NDEATHS);
  suite_add_tcase(s, tc);
  tc = th_tcase("rank_dies_env");
  tcase_add_checked_fixture(tc, fc_setup, NULL);
  tcase_add_loop_test(tc, rank_dies_env, 0, FC_NENV_DEATHS);
  suite_add_tcase(s, tc);
  tc = th_tcase("launcher");
  tcase_add_checked_fixture(tc, fc_setup, NULL);
  tcase_add_loop_test(tc, launcher_killed, 0, 2);
  tcase_add_loop_test(tc, launcher_sigint, 0, 2);
  tcase_add_loop_test(tc, launcher_sigterm, 0, 2);
  tcase_add_loop_test(tc, launcher_timeout, 0, 2);
  tcase_add_test(tc, launcher_stopped);
  tcase_add_test(tc, startup_timeout);
  tcase_add_test(tc, startup_sigint);
  tcase_add_test(tc, startup_death);
  suite_add_tcase(s, tc);
  tc = th_tcase("shm_full");
  tcase_add_checked_fixture(tc, fc_setup, NULL);
  tcase_add_test(tc, shm_too_small);
  tcase_add_test(tc, shm_full);
  tcase_add_test(tc, memcg_too_small);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, fr_bodies, fc_suite);
}
