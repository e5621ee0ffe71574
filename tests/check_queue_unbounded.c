/* SPDX-License-Identifier: MIT */
/* The unbounded Queue (capacity TUBO_QUEUE_UNBOUNDED, as Python's Queue()): one process,
 * a work pool of forked processes that hands out every task before it collects a result
 * (the pattern a bounded results queue deadlocks), and ranks under tuborun and mpirun
 * (in shared memory, and served by rank 0 where the ranks share none). */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "harness.h"

/* Item i: its length varies from 8 to 200 bytes; its bytes are the harness's pattern. */
#define ITEM_MAX 200
static size_t item_len(uint32_t i)
{
  return 8 + (i * 53u) % (ITEM_MAX - 8 + 1);
}

static size_t item_make(unsigned char *buf, uint32_t i)
{
  size_t len = item_len(i);
  memcpy(buf, &i, sizeof i);
  th_fill(buf + sizeof i, len - sizeof i, th_seed((int)i, 0, (unsigned)len, 0x75));
  return len;
}

static void item_check(const unsigned char *buf, size_t len, uint32_t want)
{
  uint32_t i = 0;
  memcpy(&i, buf, sizeof i);
  ck_assert_msg(i == want && len == item_len(want),
                "got item %u of %zu bytes, expected item %u of %zu", i, len, want, item_len(want));
  TH_CHECK_DATA(buf + sizeof i, len - sizeof i, th_seed((int)i, 0, (unsigned)len, 0x75),
                "bytes of item %u", i);
}

/* ---- One process ---- */

/* Far more items than any bound a program would choose go in without a consumer, and come
 * out in order; the queue is never full. */
START_TEST(test_many_in_order)
{
  enum { N = 20000 };
  tubo_queue_t *q = NULL;
  TH_CK_OK(tubo_queue_create(TUBO_QUEUE_UNBOUNDED, ITEM_MAX, 0, &q));
  unsigned char buf[ITEM_MAX];
  int flag = -1;
  TH_CK_OK(tubo_queue_empty(q, &flag));
  ck_assert_msg(flag == 1, "empty() of a new queue: expected 1, got %d", flag);
  for (uint32_t i = 0; i < N; i++)
    TH_CK_OK(tubo_queue_put(q, buf, item_make(buf, i), 0));
  size_t n = 0;
  TH_CK_OK(tubo_queue_size(q, &n));
  ck_assert_msg(n == N, "size after %d puts: expected %d, got %zu", N, N, n);
  TH_CK_OK(tubo_queue_full(q, &flag));
  ck_assert_msg(flag == 0, "full() of an unbounded queue: expected 0, got %d", flag);
  for (uint32_t i = 0; i < N; i++) {
    size_t len = 0;
    TH_CK_OK(tubo_queue_get(q, buf, sizeof buf, &len, 0));
    item_check(buf, len, i);
  }
  TH_CK_RC(tubo_queue_get(q, buf, sizeof buf, NULL, 0), TUBO_EEMPTY);
  TH_CK_RC(tubo_queue_get(q, buf, sizeof buf, NULL, 20), TUBO_ETIMEDOUT);
  /* Zero-length items, and an item longer than the buffer (consumed, truncated). */
  TH_CK_OK(tubo_queue_put(q, NULL, 0, 0));
  TH_CK_OK(tubo_queue_get(q, NULL, 0, NULL, 0));
  TH_CK_OK(tubo_queue_put(q, buf, item_make(buf, 7), 0));
  size_t len = 0;
  TH_CK_RC(tubo_queue_get(q, buf, 4, &len, 0), TUBO_ETRUNC);
  ck_assert_msg(len == item_len(7), "length of a truncated item: expected %zu, got %zu",
                item_len(7), len);
  TH_CK_OK(tubo_queue_empty(q, &flag));
  ck_assert_msg(flag == 1, "a truncated item is consumed: expected empty() 1, got %d", flag);
  /* Items left in it are freed with it. */
  for (uint32_t i = 0; i < 100; i++)
    TH_CK_OK(tubo_queue_put(q, buf, item_make(buf, i), 0));
  TH_CK_OK(tubo_queue_free(q));
}
END_TEST

START_TEST(test_arguments)
{
  tubo_queue_t *q = NULL;
  TH_CK_RC(tubo_queue_create(TUBO_QUEUE_UNBOUNDED, 0, 0, &q), TUBO_EINVAL);
  TH_CK_RC(tubo_queue_create(TUBO_QUEUE_UNBOUNDED, 8, 0x2, &q), TUBO_EINVAL);
  TH_CK_RC(tubo_queue_create(TUBO_QUEUE_UNBOUNDED, 8, 0, NULL), TUBO_EINVAL);
  ck_assert_msg(q == NULL, "failed creates must leave the handle alone");
  TH_CK_OK(tubo_queue_create(0, 8, 0, &q)); /* the constant is 0, as Queue() */
  unsigned char big[9] = {0};
  TH_CK_RC(tubo_queue_put(q, big, sizeof big, 0), TUBO_ETOOBIG);
  TH_CK_RC(tubo_queue_task_done(q), TUBO_ENOTSUP);
  TH_CK_OK(tubo_queue_close(q));
  TH_CK_RC(tubo_queue_put(q, big, 8, 0), TUBO_ECLOSED);
  TH_CK_OK(tubo_queue_free(q));
}
END_TEST

START_TEST(test_joinable)
{
  tubo_queue_t *q = NULL;
  TH_CK_OK(tubo_queue_create(TUBO_QUEUE_UNBOUNDED, 8, TUBO_QUEUE_JOINABLE, &q));
  TH_CK_OK(tubo_queue_join(q, 0));
  TH_CK_RC(tubo_queue_task_done(q), TUBO_EINVAL);
  uint64_t v = 0;
  for (v = 0; v < 3; v++)
    TH_CK_OK(tubo_queue_put(q, &v, sizeof v, 0));
  for (int i = 0; i < 3; i++) {
    TH_CK_RC(tubo_queue_join(q, 0), TUBO_ETIMEDOUT);
    TH_CK_OK(tubo_queue_get(q, &v, sizeof v, NULL, 0));
    TH_CK_OK(tubo_queue_task_done(q));
  }
  TH_CK_OK(tubo_queue_join(q, -1));
  TH_CK_RC(tubo_queue_task_done(q), TUBO_EINVAL);
  TH_CK_OK(tubo_queue_free(q));
}
END_TEST

/* ---- A work pool of processes ---- */

#define POOL_WORKERS 3
#define POOL_TASKS   2000
#define TASK_STOP    UINT32_MAX

typedef struct pool_ctx {
  tubo_queue_t *tasks, *results;
} pool_ctx_t;

/* A worker: squares each task's number until it gets the stop item. */
static int pool_worker(void *arg)
{
  const pool_ctx_t *c = arg;
  signal(SIGTERM, SIG_DFL); /* not Check's handler, which would stop the whole test */
  for (;;) {
    uint32_t t = 0;
    if (tubo_queue_get(c->tasks, &t, sizeof t, NULL, -1) != 0)
      return 2;
    if (t == TASK_STOP)
      return 0;
    uint64_t r[2] = {t, (uint64_t)t * t};
    if (tubo_queue_put(c->results, r, sizeof r, -1) != 0)
      return 3;
  }
}

static void pool_start(pool_ctx_t *c, tubo_process_t **w)
{
  for (int i = 0; i < POOL_WORKERS; i++) {
    TH_CK_OK(tubo_process_create(pool_worker, c, &w[i]));
    TH_CK_OK(tubo_process_start(w[i]));
  }
}

/* The port of Python's "put every task, then collect every result": with a bounded
 * results queue the workers stop once it is full, the tasks queue fills behind them, and
 * the program's puts can never complete (here, each waits 100 ms and reports it). */
START_TEST(test_pool_bounded_blocks)
{
  pool_ctx_t c;
  TH_CK_OK(tubo_queue_create(8, sizeof(uint32_t), 0, &c.tasks));
  TH_CK_OK(tubo_queue_create(8, 2 * sizeof(uint64_t), 0, &c.results));
  tubo_process_t *w[POOL_WORKERS];
  pool_start(&c, w);
  uint32_t t = 0;
  int rc = 0;
  for (t = 0; t < POOL_TASKS && rc == 0; t++)
    rc = tubo_queue_put(c.tasks, &t, sizeof t, 100);
  ck_assert_msg(rc == TUBO_ETIMEDOUT,
                "putting %d tasks with bounded queues and nobody collecting: expected a put to "
                "time out, got %s after %u puts",
                POOL_TASKS, tubo_err_name(rc), t);
  for (int i = 0; i < POOL_WORKERS; i++) {
    TH_CK_OK(tubo_process_terminate(w[i]));
    TH_CK_OK(tubo_process_join(w[i], -1));
    TH_CK_OK(tubo_process_free(w[i]));
  }
  TH_CK_OK(tubo_queue_free(c.tasks));
  TH_CK_OK(tubo_queue_free(c.results));
}
END_TEST

/* The same program with unbounded queues completes, every result once. */
START_TEST(test_pool_unbounded)
{
  pool_ctx_t c;
  TH_CK_OK(tubo_queue_create(TUBO_QUEUE_UNBOUNDED, sizeof(uint32_t), 0, &c.tasks));
  TH_CK_OK(tubo_queue_create(TUBO_QUEUE_UNBOUNDED, 2 * sizeof(uint64_t), 0, &c.results));
  tubo_process_t *w[POOL_WORKERS];
  pool_start(&c, w);
  for (uint32_t t = 0; t < POOL_TASKS; t++)
    TH_CK_OK(tubo_queue_put(c.tasks, &t, sizeof t, 0));
  for (int i = 0; i < POOL_WORKERS; i++) {
    uint32_t stop = TASK_STOP;
    TH_CK_OK(tubo_queue_put(c.tasks, &stop, sizeof stop, 0));
  }
  unsigned char *seen = calloc(POOL_TASKS, 1);
  ck_assert_msg(seen != NULL, "calloc");
  for (int i = 0; i < POOL_TASKS; i++) {
    uint64_t r[2] = {0, 0};
    size_t len = 0;
    TH_CK_OK(tubo_queue_get(c.results, r, sizeof r, &len, -1));
    ck_assert_msg(len == sizeof r && r[0] < POOL_TASKS && r[1] == r[0] * r[0],
                  "result %d: expected (t, t*t) for a task t < %d, got (%llu, %llu), %zu bytes", i,
                  POOL_TASKS, (unsigned long long)r[0], (unsigned long long)r[1], len);
    ck_assert_msg(seen[r[0]]++ == 0, "the result of task %llu came twice",
                  (unsigned long long)r[0]);
  }
  free(seen);
  for (int i = 0; i < POOL_WORKERS; i++) {
    int code = -1;
    TH_CK_OK(tubo_process_join(w[i], -1));
    TH_CK_OK(tubo_process_exitcode(w[i], &code));
    ck_assert_msg(code == 0, "worker %d: expected exit code 0, got %d", i, code);
    TH_CK_OK(tubo_process_free(w[i]));
  }
  TH_CK_OK(tubo_queue_free(c.tasks));
  TH_CK_OK(tubo_queue_free(c.results));
}
END_TEST

/* ---- Ranks ---- */

#define RANK_ITEMS 300

/* Every rank puts all its items before anyone gets one (the queue holds them all), then
 * every rank gets as many: each producer's items come out in order, and rank 0 checks
 * that every item was got exactly once. */
static void body_open_unbounded(void)
{
  tubo_queue_t *q = NULL;
  TH_OK(tubo_queue_open(th_world, TUBO_QUEUE_UNBOUNDED, ITEM_MAX, 0, &q));
  unsigned char buf[ITEM_MAX];
  for (uint32_t i = 0; i < RANK_ITEMS; i++)
    TH_OK(tubo_queue_put(q, buf, item_make(buf, (uint32_t)th_rank * RANK_ITEMS + i), 0));
  TH_OK(tubo_barrier(th_world));
  size_t n = 0;
  int full = -1;
  TH_OK(tubo_queue_size(q, &n));
  TH_EQ("items after every rank's puts", n, (size_t)th_size * RANK_ITEMS);
  TH_OK(tubo_queue_full(q, &full));
  TH_EQ("full() of an unbounded queue", full, 0);
  TH_OK(tubo_barrier(th_world));
  uint32_t *got = th_malloc(RANK_ITEMS * sizeof *got);
  int64_t last[64];
  for (int r = 0; r < 64; r++)
    last[r] = -1;
  for (int k = 0; k < RANK_ITEMS; k++) {
    size_t len = 0;
    TH_OK(tubo_queue_get(q, buf, sizeof buf, &len, -1));
    uint32_t i = 0;
    memcpy(&i, buf, sizeof i);
    TH_CHECK(i < (uint32_t)th_size * RANK_ITEMS && len == item_len(i),
             "got item %u of %zu bytes: no rank put it", i, len);
    int from = (int)(i / RANK_ITEMS);
    TH_CHECK(from < 64 && (int64_t)i > last[from], "item %u of rank %d came after item %lld", i,
             from, (long long)last[from]);
    last[from] = i;
    got[k] = i;
  }
  if (th_rank != 0) {
    TH_OK(tubo_send(got, RANK_ITEMS * sizeof *got, 0, 0, th_world));
  } else {
    size_t all = (size_t)th_size * RANK_ITEMS;
    unsigned char *count = th_malloc(all);
    memset(count, 0, all);
    for (int k = 0; k < RANK_ITEMS; k++)
      count[got[k]]++;
    for (int r = 1; r < th_size; r++) {
      TH_OK(tubo_recv(got, RANK_ITEMS * sizeof *got, r, 0, th_world, TUBO_STATUS_IGNORE));
      for (int k = 0; k < RANK_ITEMS; k++)
        count[got[k]]++;
    }
    for (size_t i = 0; i < all; i++)
      TH_CHECK(count[i] == 1, "item %zu was got %u times, expected once", i, count[i]);
    free(count);
  }
  free(got);
  TH_OK(tubo_queue_free(q));
}

/* Ranks that open one unbounded queue with different item sizes: the rank that differs
 * from rank 0 is told, and nobody hangs. */
static void body_open_unbounded_mismatch(void)
{
  tubo_queue_t *q = NULL;
  int rc = tubo_queue_open(th_world, TUBO_QUEUE_UNBOUNDED, th_rank == 0 ? 8 : 16, 0, &q);
  TH_EQ("open with rank 0's item size, or not", rc, th_rank == 0 ? 0 : TUBO_EINVAL);
  if (rc == 0)
    TH_OK(tubo_queue_free(q));
}

static const th_body_t bodies[] = {
    {"open_unbounded", body_open_unbounded, 0},
    {"open_unbounded_mismatch", body_open_unbounded_mismatch, 0},
    {NULL, NULL, 0},
};

static Suite *queue_unbounded_suite(void)
{
  Suite *s = suite_create("queue_unbounded");
  TCase *tc = th_tcase("one process");
  tcase_add_test(tc, test_many_in_order);
  tcase_add_test(tc, test_arguments);
  tcase_add_test(tc, test_joinable);
  suite_add_tcase(s, tc);
  tc = th_tcase("processes");
  tcase_add_test(tc, test_pool_bounded_blocks);
  tcase_add_test(tc, test_pool_unbounded);
  suite_add_tcase(s, tc);
  th_add_case(s, "open_unbounded", 3, TH_BOTH);
  th_add_case(s, "open_unbounded_mismatch", 2, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, queue_unbounded_suite);
}
