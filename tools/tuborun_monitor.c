/* SPDX-License-Identifier: MIT */
/* Watching a running job: rank exits, signals, the timeout, tagged output and, when asked,
 * a progress line now and then.
 *
 * Ranks start in small batches between looks at all of these, so that a signal, the
 * timeout or a rank's death is answered at once also while thousands of ranks start.
 * When a rank fails, the others are told at once (their blocking calls return
 * TUBO_EPEER), get half a second to end on their own, then SIGTERM, then SIGKILL; ranks
 * not started yet never are. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/jobctl.h"
#include "os/os.h"
#include "tuborun.h"

#define MON_GRACE_NS 500000000ull
/* At most this many ranks, or this long, between two looks at signals and deaths. */
#define MON_START_BATCH 32
#define MON_START_NS    5000000ull

static int mon_sigpipe[2] = {-1, -1};

static void mon_on_signal(int sig)
{
  int saved = errno;
  unsigned char c = (unsigned char)sig;
  if (write(mon_sigpipe[1], &c, 1) < 0) {
    /* The pipe is full: the loop has signals to read already. */
  }
  errno = saved;
}

static void mon_install(void)
{
  if (pipe2(mon_sigpipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = mon_on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

typedef struct mon {
  tuborun_job_t *j;
  int alive;
  int open_streams; /* --tag-output: streams of ranks not yet at their end */
  int status;       /* tuborun's exit status so far */
  int stopping;     /* 0, or why: 1 failure, 2 signal, 3 timeout */
  uint64_t term_at; /* when to send SIGTERM to ranks still running (0: not planned) */
  uint64_t kill_at; /* when to send SIGKILL */
  uint64_t timeout_at;
  /* --show-progress: when the job started, when the next line is due, and each rank's
   * processor time at the last line. */
  uint64_t start, progress_at;
  uint64_t *cpu_ns;
  /* --tag-output: a partial line per stream. */
  char **line;
  size_t *linelen;
} mon_t;

static void mon_signal_all(mon_t *m, int sig)
{
  for (int r = 0; r < m->j->nranks; r++)
    if (!m->j->ranks[r].ended && m->j->ranks[r].pid > 0)
      kill(m->j->ranks[r].pid, sig);
}

/* Rank r failed: when it had called tubo_init (it reached the start-up rendezvous) and a
 * rank had exited without calling it, r's tubo_init could not complete: that rank is
 * named first, since the blame is its. */
static void mon_say_not_joined(const mon_t *m, int r)
{
  const tuborun_job_t *j = m->j;
  if (j->ctl == NULL || j->nranks < 2)
    return;
  struct tubo__rankctl *rc = tubo__jobctl_rank(j->ctl, (uint32_t)r);
  if (atomic_load(&rc->joined) == 0)
    return;
  for (int k = 0; k < j->nranks; k++)
    if (j->ranks[k].no_init) {
      fprintf(stderr,
              "tuborun: rank %d (pid %d) never joined the job: it exited with status 0 without "
              "calling tubo_init, so the other ranks' tubo_init could not complete\n",
              k, (int)j->ranks[k].pid);
      return;
    }
}

static void mon_reap(mon_t *m)
{
  for (;;) {
    int ws;
    pid_t pid = waitpid(-1, &ws, WNOHANG);
    if (pid <= 0)
      return;
    int r = -1;
    for (int i = 0; i < m->j->nranks; i++)
      if (m->j->ranks[i].pid == pid)
        r = i;
    if (r < 0 || m->j->ranks[r].ended)
      continue;
    int st = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
    m->j->ranks[r].ended = 1;
    m->j->ranks[r].status = st;
    m->alive--;
    if (st == 0 && m->j->ctl != NULL && m->j->nranks > 1) {
      /* Read before the exit is recorded, which marks the rank done. A rank alone in its
       * job has no peer to share memory with and never marks itself ready: it is not told. */
      uint32_t rs = atomic_load(&tubo__jobctl_rank(m->j->ctl, (uint32_t)r)->state);
      m->j->ranks[r].no_init = rs == TUBO__RANK_STARTING;
      m->j->ranks[r].no_fini = rs == TUBO__RANK_READY;
    }
    if (st != 0 && !m->stopping)
      mon_say_not_joined(m, r);
    tuborun_job_notify_exit(m->j, r, st);
    if (st != 0 && !m->stopping) {
      if (WIFSIGNALED(ws))
        fprintf(stderr,
                "tuborun: rank %d (pid %d) was killed by signal %d (%s); stopping the job\n", r,
                (int)pid, WTERMSIG(ws), strsignal(WTERMSIG(ws)));
      else
        fprintf(stderr, "tuborun: rank %d (pid %d) exited with status %d; stopping the job\n", r,
                (int)pid, st);
      m->status = st;
      m->stopping = 1;
      uint64_t now = tubo__os_now_ns();
      m->term_at = now + MON_GRACE_NS;
      m->kill_at = now + 2 * MON_GRACE_NS;
    }
  }
}

/* Whether ranks remain to be started: not once the job is being stopped. */
static int mon_starting(const mon_t *m)
{
  return !m->stopping && m->j->started < m->j->nranks;
}

/* A rank could not be started: the program cannot run, or the system refused a process.
 * Those started are told that the job failed with status, as if every one of them had
 * (a missing program fails every rank the same way), and stopped as after a death. */
static void mon_start_failed(mon_t *m, int status)
{
  m->status = status;
  m->stopping = 1;
  for (int r = 0; r < m->j->started; r++)
    if (m->j->ranks[r].pid > 0 && !m->j->ranks[r].ended)
      tuborun_job_notify_exit(m->j, r, status);
  uint64_t now = tubo__os_now_ns();
  m->term_at = now + MON_GRACE_NS;
  m->kill_at = now + 2 * MON_GRACE_NS;
}

/* Starts the next batch of ranks. */
static void mon_start_batch(mon_t *m)
{
  tuborun_job_t *j = m->j;
  uint64_t t0 = tubo__os_now_ns();
  for (int k = 0; k < MON_START_BATCH && j->started < j->nranks; k++) {
    int r = j->started;
    int rc = tuborun_job_start_next(j);
    if (j->started > r) {
      m->alive++;
      m->open_streams += (j->ranks[r].out_fd >= 0) + (j->ranks[r].err_fd >= 0);
    }
    if (rc != 0) {
      mon_start_failed(m, rc);
      return;
    }
    if (tubo__os_now_ns() - t0 >= MON_START_NS)
      return;
  }
}

static void mon_on_stop_signal(mon_t *m, int sig)
{
  if (m->stopping == 2) {
    mon_signal_all(m, SIGKILL); /* asked twice: no more waiting */
    return;
  }
  if (!m->stopping) {
    fprintf(stderr, "tuborun: received %s; stopping %d rank%s\n", strsignal(sig), m->alive,
            m->alive == 1 ? "" : "s");
    m->status = 128 + sig;
  }
  m->stopping = 2;
  mon_signal_all(m, sig == SIGINT ? SIGINT : SIGTERM);
  m->term_at = 0;
  m->kill_at = tubo__os_now_ns() + 2 * MON_GRACE_NS;
}

/* Copies complete lines from a rank's stream to ours, each with its tag. */
static void mon_forward(mon_t *m, int r, int is_err, int fd, int eof)
{
  int k = 2 * r + is_err;
  char buf[4096];
  ssize_t n = eof ? 0 : read(fd, buf, sizeof buf);
  FILE *out = is_err ? stderr : stdout;
  const char *tag = is_err ? "stderr" : "stdout";
  if (n > 0) {
    char *nl = realloc(m->line[k], m->linelen[k] + (size_t)n);
    if (nl == NULL)
      return;
    m->line[k] = nl;
    memcpy(nl + m->linelen[k], buf, (size_t)n);
    m->linelen[k] += (size_t)n;
  }
  size_t start = 0;
  for (size_t i = 0; i < m->linelen[k]; i++)
    if (m->line[k][i] == '\n') {
      fprintf(out, "[1,%d]<%s>:%.*s\n", r, tag, (int)(i - start), m->line[k] + start);
      start = i + 1;
    }
  if (n <= 0 && start < m->linelen[k]) {
    fprintf(out, "[1,%d]<%s>:%.*s\n", r, tag, (int)(m->linelen[k] - start), m->line[k] + start);
    start = m->linelen[k];
  }
  memmove(m->line[k], m->line[k] + start, m->linelen[k] - start);
  m->linelen[k] -= start;
  fflush(out);
}

/* One line on stderr: how long the job has run, how many ranks still run, and how much
 * processor time they used since the last line (100% is one core busy), so that a job
 * that computes can be told from one that waits. */
static void mon_progress(mon_t *m, uint64_t now)
{
  double interval = m->j->o->progress_s;
  uint64_t used = 0;
  for (int r = 0; r < m->j->started; r++) {
    uint64_t ns;
    if (m->j->ranks[r].ended || m->j->ranks[r].pid <= 0 ||
        tubo__os_cpu_time_ns(m->j->ranks[r].pid, &ns) != 0)
      continue;
    used += ns > m->cpu_ns[r] ? ns - m->cpu_ns[r] : 0;
    m->cpu_ns[r] = ns;
  }
  uint64_t s = (now - m->start) / 1000000000u;
  int ended = m->j->started - m->alive;
  char ended_text[48] = "";
  if (ended > 0)
    snprintf(ended_text, sizeof ended_text, " (%d ended)", ended);
  fprintf(stderr,
          "tuborun: %llu:%02llu:%02llu elapsed, %d of %d rank%s running%s, %.0f%% CPU over the "
          "last %g s\n",
          (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60),
          (unsigned long long)(s % 60), m->alive, m->j->nranks, m->j->nranks == 1 ? "" : "s",
          ended_text, 100.0 * (double)used / (interval * 1e9), interval);
  fflush(stderr);
  m->progress_at = now + (uint64_t)(interval * 1e9);
}

/* Says which ranks exited 0 without tubo_init or without tubo_finalize, as mpirun says it
 * of MPI_Init and MPI_Finalize: a rank that forgot either did not take part in the job. */
static void mon_say_improper(const tuborun_job_t *j, int fini, const char *what)
{
  int n = 0, first = -1;
  for (int r = 0; r < j->nranks; r++)
    if (fini ? j->ranks[r].no_fini : j->ranks[r].no_init) {
      n++;
      first = first < 0 ? r : first;
    }
  if (n == 0)
    return;
  if (n == 1)
    fprintf(stderr, "tuborun: rank %d exited with status 0 without calling %s\n", first, what);
  else if (n == j->nranks)
    fprintf(stderr, "tuborun: all %d ranks exited with status 0 without calling %s\n", n, what);
  else
    fprintf(stderr, "tuborun: %d ranks (rank %d first) exited with status 0 without calling %s\n",
            n, first, what);
}

static int mon_poll_timeout(mon_t *m, uint64_t now)
{
  uint64_t next = UINT64_MAX;
  if (m->progress_at && !m->stopping)
    next = m->progress_at;
  if (m->term_at)
    next = m->term_at;
  if (m->kill_at && m->kill_at < next)
    next = m->kill_at;
  if (m->timeout_at && m->timeout_at < next)
    next = m->timeout_at;
  int ms = next == UINT64_MAX ? -1 : next <= now ? 0 : (int)((next - now) / 1000000 + 1);
  if (m->j->npending > 0 && (ms < 0 || ms > 20))
    ms = 20;
  return ms;
}

static void mon_deadlines(mon_t *m, uint64_t now)
{
  if (m->progress_at && now >= m->progress_at && !m->stopping && m->alive > 0)
    mon_progress(m, now);
  if (m->timeout_at && now >= m->timeout_at && !m->stopping) {
    fprintf(stderr, "tuborun: the job ran longer than %s %g seconds; stopping %d rank%s\n",
            m->j->o->timeout_env ? "MPIEXEC_TIMEOUT" : "--timeout", m->j->o->timeout_s, m->alive,
            m->alive == 1 ? "" : "s");
    tuborun_say_blocked(m->j);
    m->status = 124;
    m->stopping = 3;
    mon_signal_all(m, SIGTERM);
    m->kill_at = now + 2 * MON_GRACE_NS;
  }
  if (m->term_at && now >= m->term_at) {
    mon_signal_all(m, SIGTERM);
    m->term_at = 0;
  }
  if (m->kill_at && now >= m->kill_at) {
    mon_signal_all(m, SIGKILL);
    m->kill_at = 0;
  }
}

int tuborun_monitor(tuborun_job_t *j)
{
  mon_t m;
  memset(&m, 0, sizeof m);
  m.j = j;
  m.start = tubo__os_now_ns();
  if (j->o->timeout_s > 0)
    m.timeout_at = m.start + (uint64_t)(j->o->timeout_s * 1e9);
  m.cpu_ns = calloc((size_t)j->nranks, sizeof *m.cpu_ns);
  if (j->o->progress_s > 0 && m.cpu_ns != NULL)
    m.progress_at = m.start + (uint64_t)(j->o->progress_s * 1e9);
  m.line = calloc((size_t)j->nranks * 2, sizeof *m.line);
  m.linelen = calloc((size_t)j->nranks * 2, sizeof *m.linelen);
  struct pollfd *pfd = calloc((size_t)j->nranks * 2 + 1, sizeof *pfd);
  int *who = calloc((size_t)j->nranks * 2 + 1, sizeof *who);
  if (!m.line || !m.linelen || !pfd || !who) {
    fprintf(stderr, "tuborun: out of memory\n");
    free(m.line);
    free(m.linelen);
    free(pfd);
    free(who);
    return 1; /* before any rank started */
  }
  while (m.alive > 0 || m.open_streams > 0 || mon_starting(&m)) {
    if (mon_starting(&m))
      mon_start_batch(&m);
    int n = 0;
    pfd[n++] = (struct pollfd){mon_sigpipe[0], POLLIN, 0};
    for (int r = 0; r < j->started; r++) {
      if (j->ranks[r].out_fd >= 0) {
        who[n] = 2 * r;
        pfd[n++] = (struct pollfd){j->ranks[r].out_fd, POLLIN, 0};
      }
      if (j->ranks[r].err_fd >= 0) {
        who[n] = 2 * r + 1;
        pfd[n++] = (struct pollfd){j->ranks[r].err_fd, POLLIN, 0};
      }
    }
    uint64_t now = tubo__os_now_ns();
    int wait_ms = mon_starting(&m) ? 0 : m.alive > 0 ? mon_poll_timeout(&m, now) : 1000;
    int rc = poll(pfd, (nfds_t)n, wait_ms);
    if (rc < 0 && errno != EINTR)
      break;
    if (pfd[0].revents & POLLIN) {
      unsigned char sig;
      while (read(mon_sigpipe[0], &sig, 1) == 1) {
        if (sig == SIGCHLD)
          mon_reap(&m);
        else
          mon_on_stop_signal(&m, sig);
      }
    }
    for (int i = 1; i < n; i++) {
      if (!pfd[i].revents)
        continue;
      int r = who[i] / 2, is_err = who[i] % 2;
      int *fd = is_err ? &j->ranks[r].err_fd : &j->ranks[r].out_fd;
      if (pfd[i].revents & POLLIN) {
        mon_forward(&m, r, is_err, *fd, 0);
      } else {
        mon_forward(&m, r, is_err, *fd, 1);
        close(*fd);
        *fd = -1;
        m.open_streams--;
      }
    }
    if (m.alive == 0 && rc == 0 && !mon_starting(&m))
      break; /* streams held open by a rank's own children: stop waiting */
    mon_reap(&m);
    if (j->npending > 0)
      tuborun_job_retry_notes(j);
    mon_deadlines(&m, tubo__os_now_ns());
  }
  /* Stopped while ranks were starting: the rest never ran, which the user must know. */
  if (j->started < j->nranks)
    fprintf(stderr, "tuborun: %d of %d ranks were never started\n", j->nranks - j->started,
            j->nranks);
  mon_say_improper(j, 0, "tubo_init");
  mon_say_improper(j, 1, "tubo_finalize");
  for (int k = 0; k < j->nranks * 2; k++)
    free(m.line[k]);
  free(m.line);
  free(m.linelen);
  free(m.cpu_ns);
  free(pfd);
  free(who);
  return m.status;
}

/* Installed before the ranks start, so that no SIGCHLD is missed. */
void tuborun_monitor_prepare(void);
void tuborun_monitor_prepare(void)
{
  mon_install();
}
