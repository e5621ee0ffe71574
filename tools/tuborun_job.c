/* SPDX-License-Identifier: MIT */
/* The job tuborun starts: its shared resources, and one process per rank. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frame.h"
#include "launch/jobctl.h"
#include "os/os.h"
#include "pipe/pipe_wire.h"
#include "shm/shm_layout.h"
#include "size_text.h"
#include "tubo.h"
#include "tuborun.h"

static int job_fail(const char *what, int err)
{
  fprintf(stderr, "tuborun: %s: %s\n", what, err ? strerror(err) : "failed");
  return 1;
}

/* The ranks will reserve their receive regions as they start: a job that cannot fit
 * would have ranks killed by the kernel's OOM killer one by one (a memory cgroup
 * charges shared memory without failing the reservation). So the need, computed by the
 * same function of the layout as the ranks' (and from the settings they will get), is
 * checked first against what the machine and this process's cgroups allow. */
static int job_check_memory(tuborun_job_t *j)
{
  tubo__shm_layout_t L;
  if (tubo__shm_layout_from_settings((uint32_t)j->nranks, &L) != 0) {
    fprintf(stderr,
            "tuborun: %d ranks: the job's shared memory would not fit in the address "
            "space\n",
            j->nranks);
    return 1;
  }
  size_t need = tubo__shm_layout_need(&L);
  tubo__os_room_t room;
  if (j->o->no_memory_check || tubo__os_memory_room(j->shm_fd, &room) != 0 || need <= room.bytes)
    return 0;
  char n[32], r[32];
  tubo__size_text(need, n, sizeof n);
  tubo__size_text(room.bytes, r, sizeof r);
  fprintf(stderr,
          "tuborun: the job will not fit in memory: %d ranks need %s of shared memory (an inbox "
          "of %u slots per rank and up to %u channels of %u slots and %u B of data per rank: "
          "doc/settings.md), but %s leaves %s; start fewer ranks, or give --no-memory-check "
          "to start them anyway\n",
          j->nranks, n, L.inbox_slots, L.fast_max, L.nslots, L.dbytes, room.what, r);
  return 1;
}

static int job_create_shm(tuborun_job_t *j)
{
  j->shm_fd = tubo__jobctl_create((uint32_t)j->nranks, j->jobid, (int32_t)getpid(), &j->ctl);
  if (j->shm_fd < 0) {
    j->shm_fd = -1;
    return job_fail("shared memory is full", ENOSPC);
  }
  /* From the rank count, as every rank computes it: never read back from shared memory. */
  j->ctl_bytes = tubo__jobctl_bytes((uint32_t)j->nranks, (size_t)sysconf(_SC_PAGESIZE));
  return job_check_memory(j);
}

static int job_create_pipes(tuborun_job_t *j)
{
  j->pipe_r = calloc((size_t)j->nranks, sizeof(int));
  j->pipe_w = calloc((size_t)j->nranks, sizeof(int));
  j->pending = calloc((size_t)j->nranks * (size_t)j->nranks, sizeof *j->pending);
  if (!j->pipe_r || !j->pipe_w || !j->pending)
    return job_fail("out of memory", ENOMEM);
  for (int r = 0; r < j->nranks; r++) {
    int fds[2];
    /* Close-on-exec here; each child clears it on the descriptors it keeps. */
    if (pipe2(fds, O_CLOEXEC) != 0)
      return job_fail("cannot create the ranks' pipes", errno);
    j->pipe_r[r] = fds[0];
    j->pipe_w[r] = fds[1];
  }
  return 0;
}

/* The -x VAR=value settings apply to tuborun too, as they will to every rank: the
 * memory check reads the same TUBO_SHM_* settings as the ranks. */
static void job_apply_x(const tuborun_opts_t *o)
{
  for (int i = 0; i < o->nx; i++) {
    const char *eq = strchr(o->xvars[i], '=');
    char *name = eq != NULL ? strndup(o->xvars[i], (size_t)(eq - o->xvars[i])) : NULL;
    if (name != NULL)
      setenv(name, eq + 1, 1);
    free(name);
  }
}

int tuborun_job_create(tuborun_job_t *j, tuborun_opts_t *o, tuborun_place_t *place)
{
  memset(j, 0, sizeof *j);
  j->o = o;
  j->place = place;
  j->nranks = o->nranks;
  j->shm_fd = -1;
  j->ranks = calloc((size_t)j->nranks, sizeof *j->ranks);
  if (j->ranks == NULL)
    return job_fail("out of memory", ENOMEM);
  for (int r = 0; r < j->nranks; r++)
    j->ranks[r].out_fd = j->ranks[r].err_fd = -1;
  if (tubo__os_random(j->jobid, sizeof j->jobid) != 0)
    return job_fail("cannot draw a job id", errno);
  if (o->stdin_rank >= j->nranks) {
    fprintf(stderr, "tuborun: --stdin %d: the job has ranks 0 to %d only\n", o->stdin_rank,
            j->nranks - 1);
    return 2;
  }
  job_apply_x(o);
  if (tuborun_check_limits(o) != 0)
    return 1;
  if (o->transport == TUBO__TP_PIPE)
    return job_create_pipes(j);
  return job_create_shm(j);
}

static void job_setenv_int(const char *name, long v)
{
  char buf[32];
  snprintf(buf, sizeof buf, "%ld", v);
  setenv(name, buf, 1);
}

static void job_keep_fd(int fd)
{
  int fl = fcntl(fd, F_GETFD);
  if (fl >= 0)
    fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

/* In the launcher, before rank r starts: the environment rank r inherits; place: its
 * TUBO_PLACE, or "". The launcher's own environment carries it, since the rank starts
 * from vfork (job_start_rank) and can set nothing itself; nothing in the launcher reads
 * these variables. Returns 0, or -1 when out of memory. */
static int job_rank_env(tuborun_job_t *j, int r, const char *place)
{
  char hex[33];
  for (int i = 0; i < 16; i++)
    snprintf(hex + 2 * i, 3, "%02x", j->jobid[i]);
  setenv(TUBO__ENV_JOBID, hex, 1);
  job_setenv_int(TUBO__ENV_RANK, r);
  job_setenv_int(TUBO__ENV_SIZE, j->nranks);
  job_setenv_int(TUBO__ENV_LOCAL_RANK, r);
  job_setenv_int(TUBO__ENV_LOCAL_SIZE, j->nranks);
  job_setenv_int(TUBO__ENV_LAUNCHER_PID, (long)getpid());
  if (place[0] != '\0')
    setenv(TUBO__ENV_PLACE, place, 1);
  else
    unsetenv(TUBO__ENV_PLACE);
  if (j->o->transport == TUBO__TP_PIPE) {
    setenv(TUBO__ENV_TRANSPORT, "pipe", 1);
    unsetenv(TUBO__ENV_SHM_FD);
    size_t cap = 16 + (size_t)j->nranks * 12;
    char *s = malloc(cap);
    if (s == NULL)
      return -1;
    int n = snprintf(s, cap, "%d", j->pipe_r[r]);
    for (int p = 0; p < j->nranks; p++)
      n += snprintf(s + n, cap - (size_t)n, ",%d", j->pipe_w[p]);
    setenv(TUBO__ENV_PIPE_FDS, s, 1);
    free(s);
  } else {
    setenv(TUBO__ENV_TRANSPORT, "shm", 1);
    unsetenv(TUBO__ENV_PIPE_FDS);
    job_setenv_int(TUBO__ENV_SHM_FD, j->shm_fd);
  }
  for (int i = 0; i < j->o->nx; i++) {
    const char *x = j->o->xvars[i];
    const char *eq = strchr(x, '=');
    if (eq == NULL)
      continue; /* VAR alone: the rank inherits this process's value anyway */
    char *name = strndup(x, (size_t)(eq - x));
    if (name != NULL)
      setenv(name, eq + 1, 1);
    free(name);
  }
  return 0;
}

/* In the child, between vfork and exec: it shares the launcher's memory, so it makes
 * system calls only, writes no memory but its stack, and leaves by exec or _exit. Sets
 * up its descriptors and signals; on an exec failure, tells the launcher why through fd
 * (close-on-exec) first. */
static _Noreturn void job_child_exec(const tuborun_job_t *j, int r, pid_t launcher, int fd,
                                     const int out[2], const int err[2])
{
  if (tubo__os_die_with_parent(launcher) != 0)
    _exit(127);
  static const int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (out[1] >= 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
  }
  /* Standard input goes to one rank (rank 0 unless --stdin says otherwise), as mpirun's:
   * ranks that shared it would each take a part of it. */
  if (j->o->stdin_rank != -2 && j->o->stdin_rank != r) {
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul >= 0 && nul != STDIN_FILENO)
      dup2(nul, STDIN_FILENO); /* the copy is not close-on-exec; nul is */
  }
  /* The descriptors the rank keeps lose close-on-exec here, in its own table. */
  if (j->o->transport == TUBO__TP_PIPE) {
    job_keep_fd(j->pipe_r[r]);
    for (int p = 0; p < j->nranks; p++)
      job_keep_fd(j->pipe_w[p]);
    /* Other ranks' read ends stay closed-on-exec: only their owner may read them. */
  } else {
    job_keep_fd(j->shm_fd);
  }
  execvp(j->o->argv[0], j->o->argv);
  int e = errno;
  if (write(fd, &e, sizeof e) < 0)
    _exit(127);
  _exit(127);
}

/* In the launcher, before rank r starts: binds this thread where rank r belongs, so that
 * the rank, which inherits the binding, starts there (the launcher's own binding is put
 * back once it started). A rank that cannot bind runs unbound, and so do the ranks after
 * it. */
static void job_bind_for(tuborun_job_t *j, int r)
{
  const tuborun_place_t *pl = j->place;
  if (pl == NULL || !pl->bind || j->bind_failed || pl->p->rank[r].cpuset == NULL)
    return;
  hwloc_topology_t h = tubo__topo_hwloc(pl->topo);
  if (j->own_binding == NULL) {
    j->own_binding = hwloc_bitmap_alloc();
    if (j->own_binding == NULL || hwloc_get_cpubind(h, j->own_binding, HWLOC_CPUBIND_THREAD) != 0)
      hwloc_bitmap_copy(j->own_binding, hwloc_topology_get_allowed_cpuset(h));
  }
  if (hwloc_set_cpubind(h, pl->p->rank[r].cpuset, HWLOC_CPUBIND_THREAD) != 0) {
    j->bind_failed = 1;
    fprintf(stderr,
            "tuborun: cannot bind rank %d to %s: %s; it and the ranks after it run unbound\n", r,
            pl->p->rank[r].where, strerror(errno));
  }
}

/* Puts back the launcher's own binding after a rank started bound. */
static void job_unbind(tuborun_job_t *j)
{
  if (j->own_binding != NULL)
    hwloc_set_cpubind(tubo__topo_hwloc(j->place->topo), j->own_binding, HWLOC_CPUBIND_THREAD);
}

/* In the launcher, before rank r starts: what the rank would learn by loading the
 * topology itself (topo.h), from the topology this process read once. Only for this
 * machine's topology: with --topology the ranks still run here, and read it. */
static void job_place_facts(tuborun_job_t *j, int r, char *buf, size_t n)
{
  buf[0] = '\0';
  const tuborun_place_t *pl = j->place;
  if (pl == NULL || pl->topo == NULL || pl->p == NULL || j->o->topology != NULL)
    return;
  int bound = pl->bind && !j->bind_failed;
  tubo__here_t h;
  tubo__topo_here_of(pl->topo, bound ? pl->p->rank[r].cpuset : NULL, &h);
  if (tubo__launch_format_place(&h, buf, n) != 0)
    buf[0] = '\0';
}

/* Rank r's process, from vfork: the launcher is suspended until the child has exec'd (or
 * failed to), so nothing of the launcher's memory is copied, neither at the fork nor by
 * writes after it, and no exec result needs waiting for. *exec_err: the exec's errno, or
 * 0. Returns the pid, or -1 with errno. */
static pid_t job_start_rank(tuborun_job_t *j, int r, const int out[2], const int err[2],
                            int *exec_err)
{
  *exec_err = 0;
  /* Reports an exec failure to the launcher through a close-on-exec pipe. */
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0)
    return -1;
  pid_t self = getpid();
  /* No signal is handled between the fork and the child's reset: the launcher's handlers
   * would run in the child and report its signals as the launcher's. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  pid_t pid = vfork();
  if (pid == 0)
    job_child_exec(j, r, self, ep[1], out, err);
  int e = errno;
  sigprocmask(SIG_SETMASK, &old, NULL);
  close(ep[1]);
  if (pid > 0) {
    ssize_t n;
    do
      n = read(ep[0], exec_err, sizeof *exec_err);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof *exec_err)
      *exec_err = 0;
  }
  close(ep[0]);
  errno = e;
  return pid;
}

int tuborun_job_start_next(tuborun_job_t *j)
{
  int r = j->started;
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (j->o->tag_output && (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0))
    return job_fail("cannot create output pipes", errno);
  job_bind_for(j, r);
  char place[128];
  job_place_facts(j, r, place, sizeof place);
  if (job_rank_env(j, r, place) != 0)
    return job_fail("out of memory", ENOMEM);
  int e;
  pid_t pid = job_start_rank(j, r, out, err, &e);
  job_unbind(j);
  if (pid < 0)
    return job_fail("cannot start a rank", errno);
  j->ranks[r].pid = pid;
  j->started++;
  if (out[1] >= 0) {
    close(out[1]);
    close(err[1]);
    j->ranks[r].out_fd = out[0];
    j->ranks[r].err_fd = err[0];
  }
  if (e != 0) {
    /* As a bad argument (2), but for a program not found at all (127, as shells). */
    int st = e == ENOENT ? 127 : 2;
    fprintf(stderr, "tuborun: cannot run '%s': %s; exit status %d\n", j->o->argv[0], strerror(e),
            st);
    return st;
  }
  return 0;
}

/* Writes a GONE frame into rank to's pipe; 0 when written, -1 to try again later. */
static int job_pipe_gone(tuborun_job_t *j, int to, int rank, int status)
{
  struct {
    struct tubo__pipe_hdr h;
    struct tubo__f_gone g;
  } m = {{TUBO__F_GONE, 0, 0, 0, sizeof(struct tubo__f_gone), TUBO__PIPE_SRC_LAUNCHER},
         {rank, status}};
  /* Non-blocking: the launcher must never hang on a rank that stopped reading. */
  int fl = fcntl(j->pipe_w[to], F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK))
    fcntl(j->pipe_w[to], F_SETFL, fl | O_NONBLOCK);
  ssize_t n = write(j->pipe_w[to], &m, sizeof m);
  return n == (ssize_t)sizeof m || (n < 0 && errno != EAGAIN && errno != EINTR) ? 0 : -1;
}

void tuborun_job_notify_exit(tuborun_job_t *j, int r, int status)
{
  if (j->ctl != NULL)
    tubo__jobctl_exited(j->ctl, (uint32_t)j->nranks, r, status);
  if (j->pipe_w == NULL)
    return;
  for (int p = 0; p < j->nranks; p++) {
    if (p == r || j->ranks[p].ended)
      continue;
    if (job_pipe_gone(j, p, r, status) != 0 && j->npending < j->nranks * j->nranks) {
      j->pending[j->npending++] = (tuborun_note_t){p, r, status};
    }
  }
}

int tuborun_job_retry_notes(tuborun_job_t *j)
{
  int kept = 0;
  for (int i = 0; i < j->npending; i++) {
    tuborun_note_t n = j->pending[i];
    if (j->ranks[n.to].ended || job_pipe_gone(j, n.to, n.rank, n.status) == 0)
      continue;
    j->pending[kept++] = n;
  }
  j->npending = kept;
  return kept;
}

void tuborun_job_destroy(tuborun_job_t *j)
{
  if (j->ctl)
    munmap(j->ctl, j->ctl_bytes);
  if (j->shm_fd >= 0)
    close(j->shm_fd);
  for (int r = 0; j->pipe_r && r < j->nranks; r++) {
    close(j->pipe_r[r]);
    close(j->pipe_w[r]);
  }
  free(j->pipe_r);
  free(j->pipe_w);
  free(j->pending);
  free(j->ranks);
  if (j->own_binding != NULL)
    hwloc_bitmap_free(j->own_binding);
}
