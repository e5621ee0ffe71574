/* SPDX-License-Identifier: MIT */
/* What a worker of a Pool runs (pool.h): takes tasks until told to end, runs the
 * function on each input, and puts the results back. */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "os/os.h"
#include "patterns/pool.h"

/* The task t (in a message of len bytes) checked against what the pool sends: 0 or
 * TUBO_ECORRUPT. */
static int pool_task_sane(const pool_task_t *t, size_t len)
{
  if (t->in_size == 0 || t->in_size > TUBO_POOL_ITEM_MAX || t->out_size > TUBO_POOL_ITEM_MAX ||
      t->n == 0 || t->n > POOL_PAYLOAD_MAX)
    return TUBO_ECORRUPT;
  if (t->n * t->in_size > POOL_PAYLOAD_MAX || t->n * t->out_size > POOL_PAYLOAD_MAX ||
      len != sizeof *t + t->n * t->in_size)
    return TUBO_ECORRUPT;
  return 0;
}

int64_t tubo__pool_run(const unsigned char *msg, size_t len, unsigned char *out)
{
  pool_task_t t;
  if (len < sizeof t)
    return TUBO_ECORRUPT;
  memcpy(&t, msg, sizeof t);
  if (pool_task_sane(&t, len) != 0)
    return TUBO_ECORRUPT;
  pool_done_t d = {t.job, t.first, t.n, 0};
  void *code = NULL;
  tubo_pool_fn fn = NULL;
  if (tubo__os_code_find(t.fn_obj, t.fn_off, &code) == 0)
    memcpy(&fn, &code, sizeof fn);
  else
    d.rc = TUBO_ETASK; /* the function is not in this process's program */
  for (uint64_t i = 0; i < t.n && fn != NULL; i++)
    if (fn(msg + sizeof t + i * t.in_size, out + sizeof d + i * t.out_size) != 0)
      d.rc = TUBO_ETASK;
  if (fn == NULL)
    memset(out + sizeof d, 0, t.n * t.out_size);
  memcpy(out, &d, sizeof d);
  return (int64_t)(sizeof d + t.n * t.out_size);
}

int tubo__pool_serve(tubo_queue_t *tasks, tubo_queue_t *results, int me)
{
  unsigned char *in = malloc(POOL_MSG_MAX), *out = malloc(POOL_MSG_MAX);
  int rc = in == NULL || out == NULL ? TUBO_ENOMEM : 0;
  while (rc == 0) {
    size_t len = 0;
    if ((rc = tubo_queue_get(tasks, in, POOL_MSG_MAX, &len, -1)) != 0)
      break;
    pool_task_t t;
    if (len < sizeof t) {
      rc = TUBO_ECORRUPT;
      break;
    }
    memcpy(&t, in, sizeof t);
    if (t.job == POOL_END)
      break; /* told to end */
    int64_t n = tubo__pool_run(in, len, out);
    rc = n < 0 ? (int)n : tubo_queue_put(results, out, (size_t)n, -1);
  }
  if (rc == 0 && me > 0) {
    pool_done_t bye = {POOL_BYE, (uint64_t)me, 0, 0};
    rc = tubo_queue_put(results, &bye, sizeof bye, -1);
  }
  free(in);
  free(out);
  return rc;
}

int tubo__pool_worker(void *arg)
{
  tubo_pool_t *p = arg;
  /* tubo_pool_terminate ends workers with SIGTERM: a handler the program set for itself
   * is not theirs. The pool blocked SIGTERM before it forked this worker, so that one sent
   * before this point waits for the default action. */
  signal(SIGTERM, SIG_DFL);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_UNBLOCK, &term, NULL);
  return tubo__pool_serve(tubo__pool_tasks(p), tubo__pool_results(p), 0) == 0 ? 0 : 3;
}
