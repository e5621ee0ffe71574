/* SPDX-License-Identifier: MIT */
/* check_failures: what the ranks of a job run (check_failures.h). Every rank opens what
 * the scenario needs and passes a barrier; then the victim says it is ready and waits for
 * its order (it dies by it, or by a SIGKILL that comes first), and each survivor says it
 * is about to block, blocks, and reports what its call returned and when. A survivor then
 * frees what it opened, reports what tubo_finalize returned, and exits 0: the job's
 * status is the victim's. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "check_failures.h"
#include "harness.h"

/* A message too large to be buffered anywhere on its way. */
#define FR_BIG_BYTES (4u << 20)

uint64_t fr_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- Records ---- */

static int fr_report_fd = -1, fr_order_fd = -1;

static int fr_env_int(const char *name)
{
  const char *s = getenv(name);
  TH_CHECK(s != NULL && *s != '\0', "%s: expected in the environment (set by the test)", name);
  return atoi(s);
}

/* Async-signal-safe: the signal handlers below call it too. */
static void fr_record(int kind, int rc, const int extra[2])
{
  fr_rec_t r;
  memset(&r, 0, sizeof r);
  r.kind = kind;
  r.rank = th_rank;
  r.pid = (int32_t)getpid();
  r.rc = rc;
  if (extra != NULL) {
    r.extra[0] = extra[0];
    r.extra[1] = extra[1];
  }
  r.t_ns = fr_now_ns();
  ssize_t n;
  do
    n = write(fr_report_fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof r)
    _exit(97); /* the test is gone: nobody is left to tell */
}

/* ---- The victim ---- */

/* Waits for the order, says it dies, and dies by it. */
static void __attribute__((noreturn)) fr_victim(void)
{
  fr_record(FR_READY, 0, NULL);
  char order = 0;
  ssize_t n;
  do
    n = read(fr_order_fd, &order, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit(96); /* the test closed the orders: it is gone */
  fr_record(FR_DEATH, order, NULL);
  switch (order) {
  case FR_DIE_SEGV: {
    /* A real SIGSEGV, default action, no core file left in the working directory (nor a
     * sanitizer's handler in the way). */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    break;
  }
  case FR_DIE_EXIT:
    exit(FR_EXIT_CODE);
  case FR_DIE_ABORT:
    tubo_abort(th_world, FR_ABORT_CODE);
    break;
  default:
    break;
  }
  _exit(95);
}

/* ---- What the scenarios open and where survivors block ---- */

typedef struct fr_ctx {
  int victim;
  unsigned char *big;
  tubo_queue_t *q;
  tubo_array_t *a;
  tubo_value_t *v;
  tubo_pipe_t *pipe[FR_MAX_RANKS]; /* by peer */
  int extra[2];                    /* goes into the RESULT record */
} fr_ctx_t;

typedef struct fr_op {
  void (*open)(fr_ctx_t *c);        /* every rank: collective set-up */
  void (*victim_prep)(fr_ctx_t *c); /* the victim, before the barrier */
  int (*block)(fr_ctx_t *c);        /* a survivor's blocking call */
  void (*close)(fr_ctx_t *c);       /* a survivor, once the call returned */
} fr_op_t;

static void open_big(fr_ctx_t *c)
{
  c->big = th_malloc(FR_BIG_BYTES);
  th_fill(c->big, FR_BIG_BYTES, th_seed(th_rank, c->victim, FR_BIG_BYTES, 0));
}

static void close_big(fr_ctx_t *c)
{
  free(c->big);
  c->big = NULL;
}

static int block_recv(fr_ctx_t *c)
{
  char b[64];
  return tubo_recv(b, sizeof b, c->victim, 0, th_world, TUBO_STATUS_IGNORE);
}

static int block_recv_any(fr_ctx_t *c)
{
  (void)c;
  char b[64];
  return tubo_recv(b, sizeof b, TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, TUBO_STATUS_IGNORE);
}

static int block_send_big(fr_ctx_t *c)
{
  return tubo_send(c->big, FR_BIG_BYTES, c->victim, 0, th_world);
}

static int block_wait(fr_ctx_t *c)
{
  char b[64];
  tubo_request_t *r = NULL;
  TH_OK(tubo_irecv(b, sizeof b, c->victim, 0, th_world, &r));
  return tubo_wait(&r, TUBO_STATUS_IGNORE);
}

/* A receive from the victim and a send it never takes; each status's error is reported. */
static int block_waitall(fr_ctx_t *c)
{
  char b[64];
  tubo_request_t *r[2] = {NULL, NULL};
  tubo_status_t st[2];
  memset(st, 0, sizeof st);
  TH_OK(tubo_irecv(b, sizeof b, c->victim, 0, th_world, &r[0]));
  TH_OK(tubo_isend(c->big, FR_BIG_BYTES, c->victim, 0, th_world, &r[1]));
  int rc = tubo_waitall(2, r, st);
  c->extra[0] = st[0].error;
  c->extra[1] = st[1].error;
  return rc;
}

static int block_barrier(fr_ctx_t *c)
{
  (void)c;
  return tubo_barrier(th_world);
}

/* Collectives: the victim never joins (allreduce, bcast from it), or joins and stops
 * half-way (allreduce_mid: it starts the same allreduce, non-blocking, on a dup of the
 * world, and never makes progress on it again). */
#define FR_COLL_N 100000
/* The same with more data than the shared-memory engine's slots take in a few steps, where
 * it copies once through its scratch (coll_shm_big.c) from three ranks on. */
#define FR_BIG_COLL_N 400000

static double fr_in[FR_BIG_COLL_N], fr_out[FR_BIG_COLL_N];

static int fr_allreduce(size_t n)
{
  return tubo_allreduce(fr_in, fr_out, n, TUBO_DOUBLE, TUBO_SUM, th_world);
}

static int block_allreduce(fr_ctx_t *c)
{
  (void)c;
  return fr_allreduce(FR_COLL_N);
}

static int block_allreduce_big(fr_ctx_t *c)
{
  (void)c;
  return fr_allreduce(FR_BIG_COLL_N);
}

static int block_bcast(fr_ctx_t *c)
{
  return tubo_bcast(fr_in, FR_COLL_N, TUBO_DOUBLE, c->victim, th_world);
}

static int block_bcast_big(fr_ctx_t *c)
{
  return tubo_bcast(fr_in, FR_BIG_COLL_N, TUBO_DOUBLE, c->victim, th_world);
}

/* A bcast from rank 0 (a survivor) past two slots: of two ranks, in pieces that the root
 * writes ahead until it must wait for the dead reader to copy them out. */
static int block_bcast_read(fr_ctx_t *c)
{
  (void)c;
  return tubo_bcast(fr_in, FR_BIG_COLL_N, TUBO_DOUBLE, 0, th_world);
}

/* A scatter from rank 0 of blocks past a slot (2 ranks: 320000 bytes), whose root waits
 * until every rank has read its block from the root's buffer (coll_shm_big.c). */
#define FR_BIG_SCATTER_N 40000

static int block_scatter_big(fr_ctx_t *c)
{
  (void)c;
  TH_CHECK(th_size * FR_BIG_SCATTER_N <= FR_BIG_COLL_N, "expected at most %d ranks, got %d",
           FR_BIG_COLL_N / FR_BIG_SCATTER_N, th_size);
  return tubo_scatter(fr_in, fr_out, FR_BIG_SCATTER_N, TUBO_DOUBLE, 0, th_world);
}

/* allgather and alltoall of blocks past a slot (3 and 4 ranks: 349504 and 262144 bytes)
 * and past a slot's P-th part, through the scratch too; buffers for up to 4 ranks. */
#define FR_BIG_GATHER_N 50000
#define FR_BIG_A2A_N    10000

static int block_allgather_big(fr_ctx_t *c)
{
  static double in[FR_BIG_GATHER_N], out[4 * FR_BIG_GATHER_N];
  (void)c;
  TH_CHECK(th_size <= 4, "expected at most 4 ranks, got %d", th_size);
  return tubo_allgather(in, out, FR_BIG_GATHER_N, TUBO_DOUBLE, th_world);
}

/* A gather to rank 0 (a survivor) of blocks past a slot. */
static int block_gather_big(fr_ctx_t *c)
{
  static double out[4 * FR_BIG_GATHER_N];
  (void)c;
  TH_CHECK(th_size <= 4, "expected at most 4 ranks, got %d", th_size);
  return tubo_gather(fr_in, th_rank == 0 ? out : NULL, FR_BIG_GATHER_N, TUBO_DOUBLE, 0, th_world);
}

static int block_alltoall_big(fr_ctx_t *c)
{
  static double in[4 * FR_BIG_A2A_N], out[4 * FR_BIG_A2A_N];
  (void)c;
  TH_CHECK(th_size <= 4, "expected at most 4 ranks, got %d", th_size);
  return tubo_alltoall(in, out, FR_BIG_A2A_N, TUBO_DOUBLE, th_world);
}

/* The v-forms (coll_shm_vforms.c): a gatherv to rank 0 of n doubles a rank, whose root
 * waits for the dead sender's record (of two ranks past 256 KiB, for its write); a scatterv
 * from rank 0 of blocks past a slot, whose root waits until the dead rank has read its
 * block; an alltoallv, where every rank waits for every table. */
static int fr_gatherv(size_t n)
{
  size_t cnt[4], dsp[4];
  TH_CHECK(th_size <= 4 && 4 * n <= FR_BIG_COLL_N, "expected at most 4 ranks, got %d", th_size);
  for (int q = 0; q < th_size; q++)
    cnt[q] = n, dsp[q] = (size_t)q * n;
  return tubo_gatherv(fr_in, n, fr_out, cnt, dsp, TUBO_DOUBLE, 0, th_world);
}

static int block_gatherv(fr_ctx_t *c)
{
  (void)c;
  return fr_gatherv(1);
}

static int block_gatherv_big(fr_ctx_t *c)
{
  (void)c;
  return fr_gatherv(FR_BIG_GATHER_N);
}

static int block_scatterv_big(fr_ctx_t *c)
{
  size_t cnt[4], dsp[4];
  (void)c;
  TH_CHECK(th_size <= 4, "expected at most 4 ranks, got %d", th_size);
  for (int q = 0; q < th_size; q++)
    cnt[q] = FR_BIG_SCATTER_N, dsp[q] = (size_t)q * FR_BIG_SCATTER_N;
  return tubo_scatterv(fr_in, cnt, dsp, fr_out, FR_BIG_SCATTER_N, TUBO_DOUBLE, 0, th_world);
}

static int block_alltoallv(fr_ctx_t *c)
{
  size_t cnt[4], dsp[4];
  (void)c;
  TH_CHECK(th_size <= 4, "expected at most 4 ranks, got %d", th_size);
  for (int q = 0; q < th_size; q++)
    cnt[q] = 16, dsp[q] = (size_t)q * 16;
  return tubo_alltoallv(fr_in, cnt, dsp, fr_out, cnt, dsp, TUBO_DOUBLE, th_world);
}

static tubo_comm_t *fr_dup;

static void open_dup(fr_ctx_t *c)
{
  (void)c;
  TH_OK(tubo_comm_dup(th_world, &fr_dup));
}

/* allreduce_mid's vector is longer than a pipe holds (the pipe transport's 1 MiB): the
 * victim's start, and the barrier after it (which makes progress on it), cannot push all
 * of its part out. With 800 KB, a victim that spent long in that barrier on a loaded
 * machine had sent its whole part to its parent in the tree, and the others' calls
 * returned TUBO_OK without it. */
static void start_allreduce(fr_ctx_t *c)
{
  static double in[FR_BIG_COLL_N], out[FR_BIG_COLL_N];
  tubo_request_t *r = NULL;
  (void)c;
  TH_OK(tubo_iallreduce(in, out, FR_BIG_COLL_N, TUBO_DOUBLE, TUBO_SUM, fr_dup, &r));
}

static int block_allreduce_mid(fr_ctx_t *c)
{
  static double in[FR_BIG_COLL_N], out[FR_BIG_COLL_N];
  (void)c;
  return tubo_allreduce(in, out, FR_BIG_COLL_N, TUBO_DOUBLE, TUBO_SUM, fr_dup);
}

static void close_dup(fr_ctx_t *c)
{
  (void)c;
  TH_OK(tubo_comm_free(&fr_dup));
}

/* A halo exchange with a max-allreduce, iteration after iteration (every rank but the
 * victim): the victim's neighbours block in the exchange, the others in the allreduce. */
static int block_halo(fr_ctx_t *c)
{
  (void)c;
  double lo = th_rank, hi = th_rank, in[2], change;
  for (;;) {
    tubo_request_t *r[4];
    size_t k = 0;
    int rc = 0;
    if (th_rank > 0) {
      TH_OK(tubo_irecv(&in[0], sizeof in[0], th_rank - 1, 0, th_world, &r[k++]));
      TH_OK(tubo_isend(&lo, sizeof lo, th_rank - 1, 1, th_world, &r[k++]));
    }
    if (th_rank + 1 < th_size) {
      TH_OK(tubo_irecv(&in[1], sizeof in[1], th_rank + 1, 1, th_world, &r[k++]));
      TH_OK(tubo_isend(&hi, sizeof hi, th_rank + 1, 0, th_world, &r[k++]));
    }
    if ((rc = tubo_waitall(k, r, TUBO_STATUSES_IGNORE)) != 0)
      return rc;
    change = lo;
    if ((rc = tubo_allreduce(TUBO_IN_PLACE, &change, 1, TUBO_DOUBLE, TUBO_MAX, th_world)) != 0)
      return rc;
  }
}

static int block_probe(fr_ctx_t *c)
{
  tubo_status_t st;
  return tubo_probe(c->victim, TUBO_ANY_TAG, th_world, &st);
}

/* The victim opens a pipe with every survivor, in rank order; each survivor with it. */
static void open_pipes(fr_ctx_t *c)
{
  for (int p = 0; p < th_size; p++)
    if (p != th_rank && (th_rank == c->victim || p == c->victim))
      TH_OK(tubo_pipe_open(th_world, p, &c->pipe[p]));
}

static void close_pipes(fr_ctx_t *c)
{
  for (int p = 0; p < th_size; p++)
    if (c->pipe[p] != NULL)
      TH_OK(tubo_pipe_free(c->pipe[p]));
}

static int block_pipe_recv(fr_ctx_t *c)
{
  char b[64];
  size_t len = 0;
  return tubo_pipe_recv(c->pipe[c->victim], b, sizeof b, &len);
}

static void open_pipes_big(fr_ctx_t *c)
{
  open_pipes(c);
  open_big(c);
}

static void close_pipes_big(fr_ctx_t *c)
{
  close_pipes(c);
  close_big(c);
}

static int block_pipe_send(fr_ctx_t *c)
{
  return tubo_pipe_send(c->pipe[c->victim], c->big, FR_BIG_BYTES);
}

enum { FR_QUEUE_ITEM = 64, FR_QUEUE_CAP_FULL = 2 };

static void open_queue(fr_ctx_t *c)
{
  TH_OK(tubo_queue_open(th_world, 8, FR_QUEUE_ITEM, 0, &c->q));
}

static void open_queue_small(fr_ctx_t *c)
{
  TH_OK(tubo_queue_open(th_world, FR_QUEUE_CAP_FULL, FR_QUEUE_ITEM, 0, &c->q));
}

static void fill_queue(fr_ctx_t *c)
{
  for (int i = 0; i < FR_QUEUE_CAP_FULL; i++)
    TH_OK(tubo_queue_put(c->q, &i, sizeof i, 0));
  int full = 0;
  TH_OK(tubo_queue_full(c->q, &full));
  TH_CHECK(full, "queue of %d after %d puts: expected full", FR_QUEUE_CAP_FULL, FR_QUEUE_CAP_FULL);
}

static void close_queue(fr_ctx_t *c)
{
  TH_OK(tubo_queue_free(c->q));
}

static int block_queue_get(fr_ctx_t *c)
{
  char b[FR_QUEUE_ITEM];
  size_t len = 0;
  return tubo_queue_get(c->q, b, sizeof b, &len, -1);
}

static int block_queue_put(fr_ctx_t *c)
{
  int item = 42;
  return tubo_queue_put(c->q, &item, sizeof item, -1);
}

static void open_array(fr_ctx_t *c)
{
  TH_OK(tubo_array_open(th_world, TUBO_INT, 16, &c->a));
}

static void open_value(fr_ctx_t *c)
{
  TH_OK(tubo_value_open(th_world, TUBO_DOUBLE, NULL, &c->v));
}

static void lock_array(fr_ctx_t *c)
{
  TH_OK(tubo_array_lock(c->a));
}

static void close_array(fr_ctx_t *c)
{
  TH_OK(tubo_array_free(c->a));
}

static void lock_value(fr_ctx_t *c)
{
  TH_OK(tubo_value_lock(c->v));
}

static void close_value(fr_ctx_t *c)
{
  TH_OK(tubo_value_free(c->v));
}

/* The lock whose holder died: then the first unlock must succeed (this rank holds it)
 * and a second must fail (it held it once). */
static int block_array_lock(fr_ctx_t *c)
{
  int rc = tubo_array_lock(c->a);
  c->extra[0] = tubo_array_unlock(c->a);
  c->extra[1] = tubo_array_unlock(c->a);
  return rc;
}

static int block_value_lock(fr_ctx_t *c)
{
  int rc = tubo_value_lock(c->v);
  c->extra[0] = tubo_value_unlock(c->v);
  c->extra[1] = tubo_value_unlock(c->v);
  return rc;
}

/* ---- The skeleton every scenario runs ---- */

static void fr_rank_start(void)
{
  fr_report_fd = fr_env_int(FR_ENV_REPORT);
  fr_order_fd = fr_env_int(FR_ENV_ORDER);
  th_init_world(NULL, NULL);
}

static void fr_rank_run(const fr_op_t *op)
{
  fr_rank_start();
  fr_ctx_t c;
  memset(&c, 0, sizeof c);
  c.victim = fr_env_int(FR_ENV_VICTIM);
  TH_CHECK(c.victim >= 0 && c.victim < th_size, "victim %d: expected a rank of %d", c.victim,
           th_size);
  if (op->open)
    op->open(&c);
  if (th_rank == c.victim && op->victim_prep)
    op->victim_prep(&c);
  /* Every object is open and the victim has done its part. */
  TH_OK(tubo_barrier(th_world));
  if (th_rank == c.victim)
    fr_victim();
  fr_record(FR_READY, 0, NULL);
  int rc = op->block(&c);
  fr_record(FR_RESULT, rc, c.extra);
  if (op->close)
    op->close(&c);
  fr_record(FR_FINAL, tubo_finalize(), NULL);
  exit(0);
}

#define FR_BODY(name, open, prep, close)                         \
  static void body_##name(void)                                  \
  {                                                              \
    static const fr_op_t op = {open, prep, block_##name, close}; \
    fr_rank_run(&op);                                            \
  }

FR_BODY(recv, NULL, NULL, NULL)
FR_BODY(recv_any, NULL, NULL, NULL)
FR_BODY(send_big, open_big, NULL, close_big)
FR_BODY(wait, NULL, NULL, NULL)
FR_BODY(waitall, open_big, NULL, close_big)
FR_BODY(barrier, NULL, NULL, NULL)
FR_BODY(allreduce, NULL, NULL, NULL)
FR_BODY(bcast, NULL, NULL, NULL)
FR_BODY(allreduce_mid, open_dup, start_allreduce, close_dup)
FR_BODY(allreduce_big, NULL, NULL, NULL)
FR_BODY(bcast_big, NULL, NULL, NULL)
FR_BODY(bcast_read, NULL, NULL, NULL)
FR_BODY(allgather_big, NULL, NULL, NULL)
FR_BODY(gather_big, NULL, NULL, NULL)
FR_BODY(alltoall_big, NULL, NULL, NULL)
FR_BODY(scatter_big, NULL, NULL, NULL)
FR_BODY(gatherv, NULL, NULL, NULL)
FR_BODY(gatherv_big, NULL, NULL, NULL)
FR_BODY(scatterv_big, NULL, NULL, NULL)
FR_BODY(alltoallv, NULL, NULL, NULL)
FR_BODY(probe, NULL, NULL, NULL)
FR_BODY(halo, NULL, NULL, NULL)
FR_BODY(pipe_recv, open_pipes, NULL, close_pipes)
FR_BODY(pipe_send, open_pipes_big, NULL, close_pipes_big)
FR_BODY(queue_get, open_queue, NULL, close_queue)
FR_BODY(queue_put, open_queue_small, fill_queue, close_queue)
FR_BODY(array_lock, open_array, lock_array, close_array)
FR_BODY(value_lock, open_value, lock_value, close_value)

/* A survivor that ignores the error and will not end: SIGTERM and SIGINT blocked, it
 * waits for ever, so that only tuborun's SIGKILL ends the job. */
static void body_stubborn(void)
{
  static const fr_op_t op = {NULL, NULL, block_recv, NULL};
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  sigprocmask(SIG_BLOCK, &s, NULL);
  /* fr_rank_run exits once the call returned; the survivor here stays instead. */
  fr_rank_start();
  fr_ctx_t c;
  memset(&c, 0, sizeof c);
  c.victim = fr_env_int(FR_ENV_VICTIM);
  TH_OK(tubo_barrier(th_world));
  if (th_rank == c.victim)
    fr_victim();
  fr_record(FR_READY, 0, NULL);
  fr_record(FR_RESULT, op.block(&c), c.extra);
  for (;;)
    pause();
}

/* ---- Every rank blocked, for the scenarios where tuborun is signalled or times out ---- */

static void fr_on_signal(int sig)
{
  fr_record(FR_SIGNAL, sig, NULL);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void body_hang(void)
{
  fr_rank_start();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fr_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  TH_OK(tubo_barrier(th_world));
  fr_record(FR_READY, 0, NULL);
  /* Nobody sends: only a signal, or the launcher's death, ends this. */
  char b[64];
  fr_record(FR_RESULT,
            tubo_recv(b, sizeof b, TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, TUBO_STATUS_IGNORE),
            NULL);
  exit(0);
}

/* ---- A /dev/shm too small: tubo_init must fail, and say why ---- */

static void body_init(void)
{
  fr_report_fd = fr_env_int(FR_ENV_REPORT);
  const char *r = getenv("TUBO_RANK");
  th_rank = r != NULL ? atoi(r) : -1;
  int rc = tubo_init(NULL, NULL);
  fr_record(FR_INIT, rc, NULL);
  if (rc != 0) {
    fprintf(stderr, "rank %d: tubo_init: %s\n", th_rank, tubo_strerror(rc));
    exit(1);
  }
  TH_OK(tubo_finalize());
  exit(0);
}

const th_body_t fr_bodies[] = {
    {"recv", body_recv, TH_SELF_INIT},
    {"recv_any", body_recv_any, TH_SELF_INIT},
    {"send_big", body_send_big, TH_SELF_INIT},
    {"wait", body_wait, TH_SELF_INIT},
    {"waitall", body_waitall, TH_SELF_INIT},
    {"barrier", body_barrier, TH_SELF_INIT},
    {"allreduce", body_allreduce, TH_SELF_INIT},
    {"bcast", body_bcast, TH_SELF_INIT},
    {"allreduce_mid", body_allreduce_mid, TH_SELF_INIT},
    {"allreduce_big", body_allreduce_big, TH_SELF_INIT},
    {"bcast_big", body_bcast_big, TH_SELF_INIT},
    {"bcast_read", body_bcast_read, TH_SELF_INIT},
    {"allgather_big", body_allgather_big, TH_SELF_INIT},
    {"gather_big", body_gather_big, TH_SELF_INIT},
    {"alltoall_big", body_alltoall_big, TH_SELF_INIT},
    {"scatter_big", body_scatter_big, TH_SELF_INIT},
    {"gatherv", body_gatherv, TH_SELF_INIT},
    {"gatherv_big", body_gatherv_big, TH_SELF_INIT},
    {"scatterv_big", body_scatterv_big, TH_SELF_INIT},
    {"alltoallv", body_alltoallv, TH_SELF_INIT},
    {"probe", body_probe, TH_SELF_INIT},
    {"halo", body_halo, TH_SELF_INIT},
    {"pipe_recv", body_pipe_recv, TH_SELF_INIT},
    {"pipe_send", body_pipe_send, TH_SELF_INIT},
    {"queue_get", body_queue_get, TH_SELF_INIT},
    {"queue_put", body_queue_put, TH_SELF_INIT},
    {"array_lock", body_array_lock, TH_SELF_INIT},
    {"value_lock", body_value_lock, TH_SELF_INIT},
    {"stubborn", body_stubborn, TH_SELF_INIT},
    {"hang", body_hang, TH_SELF_INIT},
    {"init", body_init, TH_SELF_INIT},
    {NULL, NULL, 0},
};
