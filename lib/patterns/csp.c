/* SPDX-License-Identifier: MIT */
/* PyCSP's Parallel and Sequence (tubo.h): processes of a network run at once, each in a
 * process of its own, or one after another in this one. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "tubo.h"

static int csp_check(const tubo_csp_process_t *procs, size_t n)
{
  if (procs == NULL && n > 0)
    return TUBO_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (procs[i].fn == NULL)
      return TUBO_EINVAL;
  return 0;
}

/* The handles of the Parallels running in this process. Each child is forked while its
 * Parallel's array is in use and ends without returning here, so the array must stay
 * reachable from somewhere the child inherits: a list from a static, not only a local. */
typedef struct csp_run {
  struct csp_run *up;
  tubo_process_t *p[];
} csp_run_t;

static csp_run_t *csp_runs;
static pthread_mutex_t csp_runs_lock = PTHREAD_MUTEX_INITIALIZER;

static void csp_run_unlink(csp_run_t *run)
{
  pthread_mutex_lock(&csp_runs_lock);
  for (csp_run_t **at = &csp_runs; *at != NULL; at = &(*at)->up) {
    if (*at == run) {
      *at = run->up;
      break;
    }
  }
  pthread_mutex_unlock(&csp_runs_lock);
}

int tubo_parallel(const tubo_csp_process_t *procs, size_t n, int *exit_codes)
{
  int rc = csp_check(procs, n);
  if (rc != 0)
    return rc;
  csp_run_t *run = calloc(1, sizeof *run + (n ? n : 1) * sizeof run->p[0]);
  if (run == NULL)
    return TUBO_ENOMEM;
  pthread_mutex_lock(&csp_runs_lock);
  run->up = csp_runs;
  csp_runs = run;
  pthread_mutex_unlock(&csp_runs_lock);
  tubo_process_t **p = run->p;
  size_t started = 0;
  for (; started < n; started++) {
    if ((rc = tubo_process_create(procs[started].fn, procs[started].arg, &p[started])) != 0)
      break;
    if ((rc = tubo_process_start(p[started])) != 0) {
      tubo_process_free(p[started]);
      rc = TUBO_ESYS;
      break;
    }
  }
  int bad = 0;
  for (size_t i = 0; i < started; i++) {
    int code = -1;
    if (tubo_process_join(p[i], -1) != 0 || tubo_process_exitcode(p[i], &code) != 0)
      code = -1;
    if (exit_codes != NULL)
      exit_codes[i] = code;
    bad |= code != 0;
    tubo_process_free(p[i]);
  }
  csp_run_unlink(run);
  free(run);
  if (rc != 0)
    return rc;
  return bad ? TUBO_EPEER : 0;
}

int tubo_sequence(const tubo_csp_process_t *procs, size_t n, int *exit_codes)
{
  int rc = csp_check(procs, n);
  if (rc != 0)
    return rc;
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    int code = procs[i].fn(procs[i].arg);
    if (exit_codes != NULL)
      exit_codes[i] = code;
    bad |= code != 0;
  }
  return bad ? TUBO_EPEER : 0;
}
