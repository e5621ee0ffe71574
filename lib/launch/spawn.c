/* SPDX-License-Identifier: MIT */
/* Spawned workers: this process forks N children and makes a world with them, in which it
 * is rank 0 and plays the launcher's part (it reaps the children and records their ends
 * in the job control block, from the world's watcher, which each of the world's health
 * checks runs). Everything else is the shm transport, as under tuborun. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/jobctl.h"
#include "os/os.h"
#include "launch/fork.h"
#include "world.h"

struct tubo__spawn {
  struct tubo__jobctl *ctl;
  size_t ctl_bytes;
  int n;       /* children, ranks 1..n */
  pid_t *pids; /* pids[r] for rank r >= 1 */
  int *codes;  /* exit code, or minus the signal */
  int *ended;
};

static void spawn_free(struct tubo__spawn *sp)
{
  if (sp == NULL)
    return;
  if (sp->ctl != NULL)
    munmap(sp->ctl, sp->ctl_bytes);
  free(sp->pids);
  free(sp->codes);
  free(sp->ended);
  free(sp);
}

/* Records that child rank r ended with wait status ws. */
static void spawn_ended(struct tubo__spawn *sp, int r, int ws)
{
  sp->ended[r] = 1;
  sp->codes[r] = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? -WTERMSIG(ws) : -1;
  int status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 255;
  tubo__jobctl_exited(sp->ctl, (uint32_t)sp->n + 1, r, status);
}

/* The world's watcher (world.h): reaps the workers that ended and records their ends in
 * the job control block, so that the others notice. */
static void spawn_watch(void *arg)
{
  struct tubo__spawn *sp = arg;
  for (int r = 1; r <= sp->n; r++) {
    if (sp->ended[r])
      continue;
    int ws;
    if (waitpid(sp->pids[r], &ws, WNOHANG) == sp->pids[r])
      spawn_ended(sp, r, ws);
  }
}

/* Makes the job control block of a world of n + 1 ranks; returns its descriptor or an
 * error. */
static int spawn_jobctl(struct tubo__spawn *sp, int n, uint8_t jobid[16])
{
  int fd = tubo__jobctl_create((uint32_t)n + 1, jobid, (int32_t)getpid(), &sp->ctl);
  if (fd >= 0)
    sp->ctl_bytes = sp->ctl->ctl_bytes;
  return fd;
}

/* The launch description of rank r; the descriptor is a copy of fd. */
static int spawn_launch(tubo__launch_t *l, int r, int n, int fd, const uint8_t jobid[16])
{
  memset(l, 0, sizeof *l);
  l->launched = 1;
  l->spawned = 1;
  l->rank = l->local_rank = r;
  l->size = l->local_size = n + 1;
  l->launcher_pid = r == 0 ? getpid() : getppid();
  memcpy(l->jobid, jobid, 16);
  l->transport = TUBO__TP_SHM;
  l->pipe_rfd = -1;
  l->shm_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  l->owns_fds = 1; /* a copy of its own */
  return l->shm_fd < 0 ? TUBO_ESYS : 0;
}

/* In a child: joins the world as rank r, runs the worker, leaves, exits. */
_Noreturn static void spawn_child(int r, int n, int fd, const uint8_t jobid[16], tubo_spawn_fn fn,
                                  void *arg)
{
  tubo__launch_t l;
  tubo__world_t *w;
  if (spawn_launch(&l, r, n, fd, jobid) != 0 || tubo__world_create(&l, &w) != 0)
    tubo__child_exit(127);
  close(fd);
  tubo__world_adopt(w);
  int code = fn(&w->world_comm, arg);
  tubo_finalize();
  tubo__child_exit(code);
}

/* Stops and reaps the children already started, after a failure. */
static void spawn_abandon(struct tubo__spawn *sp)
{
  for (int r = 1; r <= sp->n; r++)
    if (sp->pids[r] > 0) {
      kill(sp->pids[r], SIGKILL);
      while (waitpid(sp->pids[r], NULL, 0) < 0 && errno == EINTR)
        ;
    }
}

/* A refused or failed tubo_spawn's error, to the handler of this process's world (the
 * parent's, as MPI_Comm_spawn reports to its communicator's), else the job's default. */
static __attribute__((cold, noinline)) int spawn_error(int rc, int nworkers, tubo_spawn_fn fn,
                                                       tubo_comm_t **comm)
{
  if (rc == TUBO_EINVAL && (nworkers < 1 || nworkers >= TUBO__MAX_RANKS))
    return tubo__error(NULL, rc, "tubo_spawn", "%d workers: out of range 1 to %d", nworkers,
                       TUBO__MAX_RANKS - 1);
  if (rc == TUBO_EINVAL)
    return tubo__error(NULL, rc, "tubo_spawn", "NULL %s",
                       fn == NULL ? "worker function" : "communicator pointer");
  if (rc == TUBO_ESYS)
    return tubo__error(NULL, rc, "tubo_spawn", "could not start %d workers: %s", nworkers,
                       tubo_strerror(rc));
  (void)comm;
  return tubo__error(NULL, rc, "tubo_spawn", NULL);
}

static int spawn_impl(int nworkers, tubo_spawn_fn fn, void *arg, tubo_comm_t **comm);

int tubo_spawn(int nworkers, tubo_spawn_fn fn, void *arg, tubo_comm_t **comm)
{
  int rc = spawn_impl(nworkers, fn, arg, comm);
  return __builtin_expect(rc != 0, 0) ? spawn_error(rc, nworkers, fn, comm) : 0;
}

static int spawn_impl(int nworkers, tubo_spawn_fn fn, void *arg, tubo_comm_t **comm)
{
  if (nworkers < 1 || nworkers >= TUBO__MAX_RANKS || fn == NULL || comm == NULL)
    return TUBO_EINVAL;
  struct tubo__spawn *sp = calloc(1, sizeof *sp);
  if (sp == NULL)
    return TUBO_ENOMEM;
  sp->n = nworkers;
  sp->pids = calloc((size_t)nworkers + 1, sizeof *sp->pids);
  sp->codes = calloc((size_t)nworkers + 1, sizeof *sp->codes);
  sp->ended = calloc((size_t)nworkers + 1, sizeof *sp->ended);
  uint8_t jobid[16];
  int rc = 0;
  if (!sp->pids || !sp->codes || !sp->ended)
    rc = TUBO_ENOMEM;
  else if ((rc = tubo__os_random(jobid, sizeof jobid)) == 0)
    rc = spawn_jobctl(sp, nworkers, jobid);
  if (rc < 0) {
    spawn_free(sp);
    return rc;
  }
  int fd = rc;
  for (int r = 1; r <= nworkers; r++) {
    pid_t pid = tubo__fork_child();
    if (pid == 0)
      spawn_child(r, nworkers, fd, jobid, fn, arg);
    if (pid < 0) {
      spawn_abandon(sp);
      close(fd);
      spawn_free(sp);
      return TUBO_ESYS;
    }
    sp->pids[r] = pid;
  }
  tubo__launch_t l;
  tubo__world_t *w = NULL;
  rc = spawn_launch(&l, 0, nworkers, fd, jobid);
  close(fd);
  if (rc == 0)
    rc = tubo__world_create(&l, &w);
  if (rc != 0) {
    spawn_abandon(sp);
    spawn_free(sp);
    return rc;
  }
  tubo__world_set_watcher(w, spawn_watch, sp);
  tubo__world_register(w);
  /* The new communicator inherits the handler of this process's world, as a
   * communicator made from another does. */
  if (tubo__world != NULL && tubo__world != w && tubo__world->world_comm.errh != NULL)
    w->world_comm.errh = tubo__world->world_comm.errh;
  *comm = &w->world_comm;
  return 0;
}

int tubo_spawn_join(tubo_comm_t **comm, int *exit_codes)
{
  if (comm == NULL)
    return tubo__error(NULL, TUBO_EINVAL, "tubo_spawn_join", "NULL communicator pointer");
  int rc = tubo__comm_check(*comm);
  if (rc != 0)
    return tubo__error(*comm, rc, "tubo_spawn_join", NULL);
  tubo__world_t *w = (*comm)->w;
  struct tubo__spawn *sp = tubo__world_watcher(w, spawn_watch);
  if (sp == NULL || *comm != &w->world_comm)
    return tubo__error(*comm, TUBO_ECOMM, "tubo_spawn_join",
                       "communicator %p was not made by tubo_spawn", (void *)*comm);
  /* A failed worker is reported to the communicator's handler, picked before leaving. */
  tubo_errhandler_fn *h = tubo__errh_of(*comm);
  tubo_comm_t *self = *comm;
  /* Leave first, so that a worker still waiting for this process is told it left
   * (TUBO_EPEER) instead of waiting for ever; then wait for every worker. */
  tubo__world_leave(w);
  int all_ok = 1, bad = 0;
  for (int r = 1; r <= sp->n; r++) {
    if (!sp->ended[r]) {
      int ws;
      pid_t got;
      while ((got = waitpid(sp->pids[r], &ws, 0)) < 0 && errno == EINTR)
        ;
      if (got == sp->pids[r])
        spawn_ended(sp, r, ws);
      else {
        sp->ended[r] = 1;
        sp->codes[r] = -1; /* reaped elsewhere: its status is lost */
      }
    }
    if (exit_codes)
      exit_codes[r - 1] = sp->codes[r];
    if (all_ok && sp->codes[r] != 0)
      bad = r;
    all_ok = all_ok && sp->codes[r] == 0;
  }
  /* A worker that failed is the communicator's error, told before its memory goes. */
  if (!all_ok) {
    int code = sp->codes[bad];
    if (code == -1)
      rc = tubo__error_with(h, self, TUBO_EPEER, "tubo_spawn_join",
                            "worker %d (rank %d) was reaped elsewhere: its status is lost", bad - 1,
                            bad);
    else if (code < 0)
      rc = tubo__error_with(h, self, TUBO_EPEER, "tubo_spawn_join",
                            "worker %d (rank %d) was killed by signal %d", bad - 1, bad, -code);
    else
      rc = tubo__error_with(h, self, TUBO_EPEER, "tubo_spawn_join",
                            "worker %d (rank %d) exited with status %d", bad - 1, bad, code);
  }
  tubo__world_set_watcher(w, NULL, NULL);
  spawn_free(sp);
  tubo__world_unregister(w);
  tubo__world_free(w);
  *comm = NULL;
  return rc;
}
