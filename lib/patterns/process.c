/* SPDX-License-Identifier: MIT */
/* Processes started from a function, as multiprocessing.Process: fork, run, exit. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/os.h"
#include "handles.h"
#include "launch/fork.h"
#include "tubo.h"

struct tubo_process {
  tubo_process_fn fn;
  void *arg;
  pid_t pid; /* 0 until started */
  int ended; /* reaped */
  int code;  /* exit status, or minus the signal */
};

int tubo_process_create(tubo_process_fn fn, void *arg, tubo_process_t **proc)
{
  if (proc == NULL || fn == NULL)
    return TUBO_EINVAL;
  tubo_process_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return TUBO_ENOMEM;
  if (tubo__handle_add(p, TUBO__H_PROCESS) != 0) {
    free(p);
    return TUBO_ENOMEM;
  }
  p->fn = fn;
  p->arg = arg;
  *proc = p;
  return 0;
}

/* Whether p is a live handle (not NULL, not freed): only then is it followed. */
static int process_live(const tubo_process_t *p)
{
  return tubo__handle_live(p, TUBO__H_PROCESS);
}

int tubo_process_start(tubo_process_t *p)
{
  if (!process_live(p))
    return TUBO_EPROCESS;
  if (p->pid != 0)
    return TUBO_EINVAL;
  pid_t pid = tubo__fork_child();
  if (pid < 0)
    return TUBO_ESYS;
  if (pid == 0)
    tubo__child_exit(p->fn(p->arg));
  p->pid = pid;
  return 0;
}

/* Reaps the process if it ended; with block set, waits for it. Returns 1 once ended. */
static int process_reap(tubo_process_t *p, int block)
{
  if (p->ended)
    return 1;
  int ws;
  pid_t r;
  do
    r = waitpid(p->pid, &ws, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == p->pid) {
    p->ended = 1;
    p->code = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? -WTERMSIG(ws) : -1;
    return 1;
  }
  if (r < 0 && errno == ECHILD) {
    /* Reaped elsewhere (a SIGCHLD handler of the program): its status is lost. */
    p->ended = 1;
    p->code = -1;
    return 1;
  }
  return 0;
}

int tubo_process_join(tubo_process_t *p, int timeout_ms)
{
  if (!process_live(p))
    return TUBO_EPROCESS;
  if (p->pid == 0)
    return TUBO_EINVAL;
  if (timeout_ms < 0)
    return process_reap(p, 1) ? 0 : TUBO_ESYS;
  /* waitpid has no timeout: poll, sleeping a little longer each time, up to 10 ms. */
  uint64_t end = tubo__os_now_ns() + (uint64_t)timeout_ms * 1000000u;
  for (useconds_t nap = 50;; nap = nap < 10000 ? nap * 2 : 10000) {
    if (process_reap(p, 0))
      return 0;
    uint64_t now = tubo__os_now_ns();
    if (now >= end)
      return TUBO_ETIMEDOUT;
    uint64_t left_us = (end - now) / 1000u;
    usleep(left_us < nap ? (useconds_t)left_us + 1 : nap);
  }
}

int tubo_process_pid(const tubo_process_t *p, int *pid)
{
  if (!process_live(p))
    return TUBO_EPROCESS;
  if (pid == NULL || p->pid == 0)
    return TUBO_EINVAL;
  *pid = (int)p->pid;
  return 0;
}

int tubo_process_exitcode(tubo_process_t *p, int *code)
{
  if (!process_live(p))
    return TUBO_EPROCESS;
  if (code == NULL || p->pid == 0)
    return TUBO_EINVAL;
  if (!process_reap(p, 0))
    return TUBO_EAGAIN;
  *code = p->code;
  return 0;
}

int tubo_process_is_alive(tubo_process_t *p, int *alive)
{
  if (!process_live(p))
    return TUBO_EPROCESS;
  if (alive == NULL)
    return TUBO_EINVAL;
  *alive = p->pid != 0 && !process_reap(p, 0);
  return 0;
}

int tubo_process_terminate(tubo_process_t *p)
{
  if (!process_live(p))
    return TUBO_EPROCESS;
  if (p->pid == 0)
    return TUBO_EINVAL;
  if (!process_reap(p, 0))
    kill(p->pid, SIGTERM);
  return 0;
}

int tubo_process_free(tubo_process_t *p)
{
  if (!process_live(p))
    return TUBO_EPROCESS;
  tubo__handle_remove(p);
  free(p);
  return 0;
}
