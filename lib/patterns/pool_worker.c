/* SPDX-License-Identifier: MIT */
/* What a worker of a Pool runs (pool.h): takes tasks until told to end, runs the
 * function on each input, and puts the results back. */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "patterns/pool.h"

/* The task in msg (len bytes) checked against what the pool sends: 0 or TUBO_ECORRUPT. */
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
  unsigned char *in = malloc(POOL_MSG_MAX), *out = malloc(POOL_MSG_MAX);
  int status = 0;
  if (in == NULL || out == NULL) {
    status = 2;
    goto done;
  }
  for (;;) {
    size_t len = 0;
    if (tubo_queue_get(tubo__pool_tasks(p), in, POOL_MSG_MAX, &len, -1) != 0 ||
        len < sizeof(pool_task_t)) {
      status = 3;
      break;
    }
    pool_task_t t;
    memcpy(&t, in, sizeof t);
    if (t.fn == NULL)
      break; /* told to end */
    if (pool_task_sane(&t, len) != 0) {
      status = 4;
      break;
    }
    pool_done_t d = {t.job, t.first, t.n, 0};
    for (uint64_t i = 0; i < t.n; i++)
      if (t.fn(in + sizeof t + i * t.in_size, out + sizeof d + i * t.out_size) != 0)
        d.rc = TUBO_ETASK;
    memcpy(out, &d, sizeof d);
    if (tubo_queue_put(tubo__pool_results(p), out, sizeof d + t.n * t.out_size, -1) != 0) {
      status = 5;
      break;
    }
  }
done:
  free(in);
  free(out);
  return status;
}
