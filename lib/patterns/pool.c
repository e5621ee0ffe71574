/* SPDX-License-Identifier: MIT */
/* The public Pool calls (pool.h): making the workers, handing out work, collecting. */
#include "config.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handles.h"
#include "os/os.h"
#include "patterns/objwait.h"
#include "patterns/pool.h"
#include "world.h"

struct tubo_pool {
  int nworkers;
  tubo_process_t **workers; /* a pool of processes: its workers */
  tubo_comm_t *comm;        /* a pool of ranks: its communicator (the root is rank 0) */
  unsigned char *bye;       /* a pool of ranks: which worker ranks said they ended */
  int byes;
  tubo_queue_t *tasks, *results;
  int closed;     /* close or terminate was called: no more work */
  int terminated; /* terminate was called: workers end however they end */
  int joined;
  int broken;                       /* a worker ended unasked */
  uint64_t next_job;                /* the id of the next call */
  pool_job_t *jobs;                 /* calls waiting for results */
  unsigned char *buf;               /* a result being collected */
  struct tubo_pool_result *pending; /* apply_async results not yet freed */
};

struct tubo_pool_result {
  tubo_pool_t *pool; /* NULL once the pool is freed */
  pool_job_t job;
  struct tubo_pool_result *next; /* the pool's pending results */
};

tubo_queue_t *tubo__pool_tasks(const tubo_pool_t *p)
{
  return p->tasks;
}

tubo_queue_t *tubo__pool_results(const tubo_pool_t *p)
{
  return p->results;
}

/* ---- Collecting ---- */

static void pool_unlink(tubo_pool_t *p, pool_job_t *job)
{
  for (pool_job_t **at = &p->jobs; *at != NULL; at = &(*at)->next) {
    if (*at == job) {
      *at = job->next;
      job->next = NULL;
      return;
    }
  }
}

/* Hands the result in p->buf (len bytes) to the call it is for; one for a call no longer
 * waiting is dropped. */
static int pool_deliver(tubo_pool_t *p, size_t len)
{
  pool_done_t d;
  if (len < sizeof d)
    return TUBO_ECORRUPT;
  memcpy(&d, p->buf, sizeof d);
  if (d.job == POOL_BYE) {
    if (p->comm == NULL || d.first < 1 || d.first > (uint64_t)p->nworkers || p->bye[d.first])
      return TUBO_ECORRUPT;
    p->bye[d.first] = 1;
    p->byes++;
    return 0;
  }
  pool_job_t *job = p->jobs;
  while (job != NULL && job->id != d.job)
    job = job->next;
  if (job == NULL)
    return 0;
  if (d.first > job->count || d.n > job->count - d.first || d.n > job->remaining ||
      len != sizeof d + d.n * job->out_size)
    return TUBO_ECORRUPT;
  if (job->out_size > 0)
    memcpy(job->out + d.first * job->out_size, p->buf + sizeof d, d.n * job->out_size);
  if (d.rc != 0 && job->rc == 0)
    job->rc = TUBO_ETASK;
  job->remaining -= d.n;
  if (job->remaining == 0)
    pool_unlink(p, job);
  return 0;
}

static int pool_drain(tubo_pool_t *p);

/* Whether a worker rank is gone that has not said it ended. */
static int pool_rank_gone(tubo_pool_t *p)
{
  for (int r = 1; r <= p->nworkers; r++)
    if (!p->bye[r] && p->comm->w->peers[tubo__comm_world_rank(p->comm, r)].gone)
      return 1;
  return 0;
}

/* Whether a worker rank left without saying it ended. Its POOL_BYE is in the results
 * before its leaving is seen, so a rank seen gone is looked at again once what came is
 * collected (collecting first, then looking, would miss a goodbye sent in between). */
static int pool_rank_lost(tubo_pool_t *p)
{
  (void)tubo__world_health(p->comm->w); /* learns of ranks that left */
  if (!pool_rank_gone(p))
    return 0;
  return pool_drain(p) != 0 || pool_rank_gone(p);
}

/* Whether a worker ended that was not asked to: a worker ends with 0 only after the pool
 * was closed (it took the word to end); one that died, or ended otherwise, lost its task. */
static int pool_worker_lost(tubo_pool_t *p)
{
  if (p->comm != NULL)
    return pool_rank_lost(p);
  for (int i = 0; i < p->nworkers; i++) {
    int code = 0;
    if (tubo_process_exitcode(p->workers[i], &code) == 0 && (code != 0 || !p->closed))
      return 1;
  }
  return 0;
}

/* Collects the results that came, without waiting. */
static int pool_drain(tubo_pool_t *p)
{
  for (;;) {
    size_t len = 0;
    int rc = tubo_queue_get(p->results, p->buf, POOL_MSG_MAX, &len, 0);
    if (rc == TUBO_EEMPTY)
      return 0;
    if (rc != 0 || (rc = pool_deliver(p, len)) != 0)
      return rc;
  }
}

/* Collects results until job has all of its own (job NULL: until every worker rank said
 * it ended), the timeout passes, or a worker is lost (after what came is collected: a job
 * whose results are all in still succeeds). */
static int pool_collect(tubo_pool_t *p, pool_job_t *job, int timeout_ms)
{
  tubo__deadline_t dl = tubo__deadline_in(timeout_ms);
  for (;;) {
    if (job == NULL ? p->byes == p->nworkers : job->remaining == 0)
      return job == NULL ? 0 : job->rc;
    int slice = 0;
    if (!p->broken) {
      int left = tubo__deadline_ms_left(dl);
      slice = left < 0 || left > POOL_WATCH_MS ? POOL_WATCH_MS : left;
    }
    size_t len = 0;
    int rc = tubo_queue_get(p->results, p->buf, POOL_MSG_MAX, &len, slice);
    if (rc == 0) {
      if ((rc = pool_deliver(p, len)) != 0)
        return rc;
      continue;
    }
    if (rc != TUBO_ETIMEDOUT && rc != TUBO_EEMPTY)
      return rc;
    if (p->broken)
      return TUBO_EWORKER; /* everything that came is collected */
    if (pool_worker_lost(p))
      p->broken = 1; /* collect what came, then give up */
    else if (tubo__deadline_ms_left(dl) == 0)
      return TUBO_ETIMEDOUT;
  }
}

/* ---- Handing out work ---- */

static int pool_check(const tubo_pool_t *p)
{
  if (!tubo__handle_live(p, TUBO__H_POOL))
    return TUBO_EPOOL;
  if (p->closed)
    return TUBO_ECLOSED;
  return p->broken ? TUBO_EWORKER : 0;
}

static int pool_sizes(size_t in_size, size_t out_size)
{
  if (in_size == 0)
    return TUBO_EINVAL;
  return in_size > TUBO_POOL_ITEM_MAX || out_size > TUBO_POOL_ITEM_MAX ? TUBO_ETOOBIG : 0;
}

/* Hands one task (len bytes at msg) over: to the workers, or, in a pool of ranks that has
 * none, runs it here and delivers its result at once. */
static int pool_give(tubo_pool_t *p, const unsigned char *msg, size_t len)
{
  if (p->nworkers > 0)
    return tubo_queue_put(p->tasks, msg, len, -1);
  int64_t n = tubo__pool_run(msg, len, p->buf);
  return n < 0 ? (int)n : pool_deliver(p, (size_t)n);
}

/* Puts the tasks of job: count inputs at in, chunk inputs to a task. */
static int pool_hand_out(tubo_pool_t *p, pool_job_t *job, tubo_pool_fn fn, const unsigned char *in,
                         size_t in_size, size_t chunk)
{
  pool_task_t t = {job->id, 0, 0, in_size, job->out_size, 0, 0};
  void *code;
  memcpy(&code, &fn, sizeof code);
  if (tubo__os_code_name(code, &t.fn_obj, &t.fn_off) != 0)
    return TUBO_EINVAL; /* not the code of any loaded object */
  unsigned char *msg = malloc(sizeof(pool_task_t) + chunk * in_size);
  if (msg == NULL)
    return TUBO_ENOMEM;
  int rc = 0;
  for (uint64_t first = 0; first < job->count && rc == 0; first += chunk) {
    t.first = first;
    t.n = job->count - first < chunk ? job->count - first : chunk;
    memcpy(msg, &t, sizeof t);
    memcpy(msg + sizeof t, in + first * in_size, t.n * in_size);
    rc = pool_give(p, msg, sizeof t + t.n * in_size);
  }
  free(msg);
  return rc;
}

/* Python's chunksize for map: the inputs over four times the workers, rounded up, and
 * no more than a task carries. */
static size_t pool_chunk(const tubo_pool_t *p, size_t count, size_t in_size, size_t out_size)
{
  size_t quarters = (size_t)(p->nworkers > 0 ? p->nworkers : 1) * 4;
  size_t chunk = count / quarters + (count % quarters != 0);
  size_t most = POOL_PAYLOAD_MAX / (in_size > out_size ? in_size : out_size);
  if (chunk > most)
    chunk = most;
  return chunk > 0 ? chunk : 1;
}

int tubo_pool_map(tubo_pool_t *p, tubo_pool_fn fn, const void *in, size_t in_size, void *out,
                  size_t out_size, size_t count)
{
  int rc = pool_check(p);
  if (rc != 0)
    return rc;
  if (fn == NULL || (count > 0 && (in == NULL || (out == NULL && out_size > 0))))
    return TUBO_EINVAL;
  if ((rc = pool_sizes(in_size, out_size)) != 0)
    return rc;
  if (count == 0)
    return 0;
  pool_job_t job = {p->jobs, p->next_job++, out, out_size, count, count, 0};
  p->jobs = &job;
  rc = pool_hand_out(p, &job, fn, in, in_size, pool_chunk(p, count, in_size, out_size));
  if (rc == 0)
    rc = pool_collect(p, &job, -1);
  pool_unlink(p, &job); /* results still to come for it are dropped */
  return rc;
}

int tubo_pool_apply_async(tubo_pool_t *p, tubo_pool_fn fn, const void *in, size_t in_size,
                          size_t out_size, tubo_pool_result_t **result)
{
  int rc = pool_check(p);
  if (rc != 0)
    return rc;
  if (fn == NULL || result == NULL || (in == NULL && in_size > 0))
    return TUBO_EINVAL;
  /* A call without input still carries one byte, so that every task has an input. */
  static const unsigned char none = 0;
  if (in_size == 0) {
    in = &none;
    in_size = 1;
  }
  if ((rc = pool_sizes(in_size, out_size)) != 0)
    return rc;
  tubo_pool_result_t *r = calloc(1, sizeof *r + out_size);
  if (r == NULL)
    return TUBO_ENOMEM;
  r->pool = p;
  r->job = (pool_job_t){NULL, p->next_job++, (unsigned char *)(r + 1), out_size, 1, 1, 0};
  if (tubo__handle_add(r, TUBO__H_POOL_RESULT) != 0) {
    free(r);
    return TUBO_ENOMEM;
  }
  r->job.next = p->jobs;
  p->jobs = &r->job;
  r->next = p->pending;
  p->pending = r;
  if ((rc = pool_hand_out(p, &r->job, fn, in, in_size, 1)) != 0) {
    tubo_pool_result_free(r);
    return rc;
  }
  *result = r;
  return 0;
}

/* ---- Pending results ---- */

static int pool_result_check(const tubo_pool_result_t *r)
{
  if (!tubo__handle_live(r, TUBO__H_POOL_RESULT))
    return TUBO_ERESULT;
  return r->pool == NULL ? TUBO_EPOOL : 0;
}

int tubo_pool_result_get(tubo_pool_result_t *r, void *out, size_t out_size, int timeout_ms)
{
  int rc = pool_result_check(r);
  if (rc != 0)
    return rc;
  if (out == NULL && out_size > 0)
    return TUBO_EINVAL;
  rc = pool_collect(r->pool, &r->job, timeout_ms);
  if (rc == 0 || rc == TUBO_ETASK)
    memcpy(out, r->job.out, out_size < r->job.out_size ? out_size : r->job.out_size);
  return rc;
}

int tubo_pool_result_ready(tubo_pool_result_t *r, int *ready)
{
  int rc = pool_result_check(r);
  if (rc != 0)
    return rc;
  if (ready == NULL)
    return TUBO_EINVAL;
  rc = pool_collect(r->pool, &r->job, 0);
  *ready = r->job.remaining == 0;
  return rc == TUBO_ETIMEDOUT || rc == TUBO_ETASK ? 0 : rc;
}

int tubo_pool_result_free(tubo_pool_result_t *r)
{
  if (!tubo__handle_live(r, TUBO__H_POOL_RESULT))
    return TUBO_ERESULT;
  tubo__handle_remove(r);
  tubo_pool_t *p = r->pool;
  if (p != NULL) {
    pool_unlink(p, &r->job);
    for (tubo_pool_result_t **at = &p->pending; *at != NULL; at = &(*at)->next) {
      if (*at == r) {
        *at = r->next;
        break;
      }
    }
  }
  free(r);
  return 0;
}

/* ---- The pool's life ---- */

static int pool_ncpus(void)
{
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* Frees what p holds; its workers have ended or are let go. */
static void pool_release(tubo_pool_t *p)
{
  for (int i = 0; p->workers != NULL && i < p->nworkers; i++)
    if (p->workers[i] != NULL)
      (void)tubo_process_free(p->workers[i]);
  free(p->workers);
  if (p->tasks != NULL)
    (void)tubo_queue_free(p->tasks);
  if (p->results != NULL)
    (void)tubo_queue_free(p->results);
  if (p->comm != NULL)
    (void)tubo_comm_free(&p->comm);
  free(p->bye);
  free(p->buf);
  free(p);
}

int tubo_pool_create(int nworkers, tubo_pool_t **pool)
{
  if (pool == NULL || nworkers < 0)
    return TUBO_EINVAL;
  if (nworkers == 0)
    nworkers = pool_ncpus();
  tubo_pool_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return TUBO_ENOMEM;
  p->workers = calloc((size_t)nworkers, sizeof *p->workers);
  p->buf = malloc(POOL_MSG_MAX);
  int rc = p->workers == NULL || p->buf == NULL ? TUBO_ENOMEM : 0;
  if (rc == 0)
    rc = tubo_queue_create(TUBO_QUEUE_UNBOUNDED, POOL_MSG_MAX, 0, &p->tasks);
  if (rc == 0)
    rc = tubo_queue_create(TUBO_QUEUE_UNBOUNDED, POOL_MSG_MAX, 0, &p->results);
  if (rc == 0)
    rc = tubo__handle_add(p, TUBO__H_POOL);
  if (rc != 0) {
    pool_release(p);
    return rc;
  }
  /* The workers see the pool as it is now: complete but for their own handles. They
   * start with SIGTERM blocked until they have set its default action back
   * (pool_worker.c). */
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &old);
  for (int i = 0; i < nworkers && rc == 0; i++) {
    rc = tubo_process_create(tubo__pool_worker, p, &p->workers[i]);
    if (rc == 0) {
      p->nworkers = i + 1;
      rc = tubo_process_start(p->workers[i]);
    }
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    (void)tubo_pool_free(p);
    return rc;
  }
  *pool = p;
  return 0;
}

int tubo_pool_open(tubo_comm_t *comm, int root, tubo_pool_t **pool)
{
  static const char fn[] = "tubo_pool_open";
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return tubo__error_ret(comm, rc, fn);
  if (pool == NULL)
    return tubo__error(comm, TUBO_EINVAL, fn, "NULL pool");
  if (root < 0 || root >= comm->size)
    return tubo__error(comm, TUBO_EINVAL, fn, "root %d out of range for a communicator of %d", root,
                       comm->size);
  *pool = NULL;
  /* The pool's own communicator, with the root first: it is the queues' home where the
   * ranks share no memory. */
  tubo_comm_t *sub = NULL;
  tubo_queue_t *tasks = NULL, *results = NULL;
  rc = tubo_comm_split(comm, 0, comm->rank == root ? 0 : 1, &sub);
  if (rc == 0)
    rc = tubo_queue_open(sub, TUBO_QUEUE_UNBOUNDED, POOL_MSG_MAX, 0, &tasks);
  if (rc == 0)
    rc = tubo_queue_open(sub, TUBO_QUEUE_UNBOUNDED, POOL_MSG_MAX, 0, &results);
  if (rc == 0 && sub->rank != 0) {
    /* A worker: serves until the root ends the pool. */
    rc = tubo__pool_serve(tasks, results, sub->rank);
  } else if (rc == 0) {
    tubo_pool_t *p = calloc(1, sizeof *p);
    if (p == NULL)
      rc = TUBO_ENOMEM;
    else {
      *p =
          (tubo_pool_t){.nworkers = sub->size - 1, .comm = sub, .tasks = tasks, .results = results};
      p->bye = calloc((size_t)sub->size, 1);
      p->buf = malloc(POOL_MSG_MAX);
      rc = p->bye == NULL || p->buf == NULL ? TUBO_ENOMEM : tubo__handle_add(p, TUBO__H_POOL);
      if (rc != 0) {
        pool_release(p);
        return tubo__error(comm, rc, fn, "cannot make the pool");
      }
      *pool = p;
      return 0;
    }
  }
  if (results != NULL)
    (void)tubo_queue_free(results);
  if (tasks != NULL)
    (void)tubo_queue_free(tasks);
  if (sub != NULL)
    (void)tubo_comm_free(&sub);
  return rc == 0 ? 0 : tubo__error(comm, rc, fn, "the pool's worker rank %d", comm->rank);
}

/* Puts one word to end per worker, behind every task handed out. */
static int pool_end_words(tubo_pool_t *p)
{
  pool_task_t end = {.job = POOL_END};
  int rc = 0;
  for (int i = 0; i < p->nworkers && rc == 0; i++)
    rc = tubo_queue_put(p->tasks, &end, sizeof end, -1);
  return rc;
}

int tubo_pool_close(tubo_pool_t *p)
{
  if (!tubo__handle_live(p, TUBO__H_POOL))
    return TUBO_EPOOL;
  if (p->closed)
    return TUBO_ECLOSED;
  p->closed = 1;
  return pool_end_words(p);
}

int tubo_pool_terminate(tubo_pool_t *p)
{
  if (!tubo__handle_live(p, TUBO__H_POOL))
    return TUBO_EPOOL;
  if (p->comm != NULL) {
    /* Ranks are not the pool's to kill: the tasks no worker took yet are dropped (with
     * any word to end already put), and each worker ends after the task it holds. */
    p->closed = p->terminated = 1;
    while (tubo_queue_get(p->tasks, p->buf, POOL_MSG_MAX, NULL, 0) == 0)
      ;
    return pool_end_words(p);
  }
  p->closed = p->terminated = 1;
  for (int i = 0; i < p->nworkers; i++) {
    int alive = 0;
    if (tubo_process_is_alive(p->workers[i], &alive) == 0 && alive)
      (void)tubo_process_terminate(p->workers[i]);
  }
  return 0;
}

int tubo_pool_join(tubo_pool_t *p)
{
  if (!tubo__handle_live(p, TUBO__H_POOL))
    return TUBO_EPOOL;
  if (!p->closed)
    return TUBO_EINVAL;
  int rc = 0;
  if (p->comm != NULL) {
    rc = pool_collect(p, NULL, -1); /* every worker rank's POOL_BYE */
    p->joined = 1;
    return rc;
  }
  for (int i = 0; i < p->nworkers; i++) {
    int code = 0;
    if (tubo_process_join(p->workers[i], -1) != 0 ||
        tubo_process_exitcode(p->workers[i], &code) != 0 || (code != 0 && !p->terminated))
      rc = TUBO_EWORKER;
  }
  p->joined = 1;
  return rc != 0 || p->broken ? TUBO_EWORKER : 0;
}

int tubo_pool_free(tubo_pool_t *p)
{
  if (!tubo__handle_live(p, TUBO__H_POOL))
    return TUBO_EPOOL;
  if (!p->joined && p->nworkers > 0) {
    if (!p->terminated)
      (void)tubo_pool_terminate(p);
    (void)tubo_pool_join(p);
  }
  tubo__handle_remove(p);
  for (tubo_pool_result_t *r = p->pending; r != NULL; r = r->next)
    r->pool = NULL;
  pool_release(p);
  return 0;
}
