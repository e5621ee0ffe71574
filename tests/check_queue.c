/* SPDX-License-Identifier: MIT */
/* Queue and JoinableQueue: one process, processes forked with tubo_process, and ranks
 * started by tuborun (tubo_queue_open).
 *
 * Items in the many-producer tests carry their producer, their sequence number, the
 * length of a payload that varies from item to item, and a check value over all three;
 * the payload is the harness's pattern for them. Consumers check every item, and that
 * each producer's items reach them in increasing order; at the end every item must have
 * been got exactly once. Nothing is sequenced by sleeping: where a test needs to know
 * that a process reached a point, the process says so down an OS pipe. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "patterns/queue_layout.h"

/* Checks that a call returned want, naming both codes otherwise (Check side). */
#define CK_RC(call, want)                                                     \
  do {                                                                        \
    int ck_got_ = (call);                                                     \
    int ck_want_ = (want);                                                    \
    ck_assert_msg(ck_got_ == ck_want_, "%s: expected %s, got %s (%d)", #call, \
                  tubo_err_name(ck_want_), tubo_err_name(ck_got_), ck_got_);  \
  } while (0)
#define CK_OK(call) CK_RC(call, 0)

/* ---- Checked items ---- */

typedef struct item_hdr {
  uint32_t producer, seq, len, check;
} item_hdr_t;

#define ITEM_MAX  256
#define ITEM_STOP 0xffffffffu /* producer field of the item that tells a consumer to stop */

static uint32_t item_check_value(uint32_t producer, uint32_t seq, uint32_t len)
{
  return th_seed((int)producer, (int)seq, len, 0x51);
}

/* Builds item (producer, seq) in buf (ITEM_MAX bytes); returns its length. Payloads run
 * from 0 to ITEM_MAX - 16 bytes. */
static size_t item_make(unsigned char *buf, uint32_t producer, uint32_t seq)
{
  item_hdr_t h = {producer, seq, 0, 0};
  h.len = (seq * 37u + producer * 11u) % (uint32_t)(ITEM_MAX - sizeof h + 1);
  h.check = item_check_value(producer, seq, h.len);
  memcpy(buf, &h, sizeof h);
  th_fill(buf + sizeof h, h.len, th_seed((int)producer, (int)seq, h.len, 1));
  return sizeof h + h.len;
}

static size_t item_stop(unsigned char *buf)
{
  item_hdr_t h = {ITEM_STOP, 0, 0, 0};
  memcpy(buf, &h, sizeof h);
  return sizeof h;
}

/* Checks an item of len bytes got from a queue (fails through th_fail); returns its
 * header. */
static item_hdr_t item_check(const unsigned char *buf, size_t len, uint32_t producers,
                             uint32_t per_producer)
{
  item_hdr_t h;
  TH_CHECK(len >= sizeof h, "item of %zu bytes: expected at least a %zu-byte header", len,
           sizeof h);
  memcpy(&h, buf, sizeof h);
  if (h.producer == ITEM_STOP)
    return h;
  TH_CHECK(h.producer < producers && h.seq < per_producer,
           "item from producer %u, number %u: expected producer < %u, number < %u", h.producer,
           h.seq, producers, per_producer);
  TH_CHECK(len == sizeof h + h.len, "item %u of producer %u: expected %zu bytes, got %zu", h.seq,
           h.producer, sizeof h + h.len, len);
  TH_CHECK(h.check == item_check_value(h.producer, h.seq, h.len),
           "item %u of producer %u: check value 0x%08x, expected 0x%08x", h.seq, h.producer,
           h.check, item_check_value(h.producer, h.seq, h.len));
  TH_CHECK_DATA(buf + sizeof h, h.len, th_seed((int)h.producer, (int)h.seq, h.len, 1),
                "payload of item %u of producer %u", h.seq, h.producer);
  return h;
}

/* One consumer's view of the producers: the last number got from each, to check order. */
typedef struct order {
  uint32_t last[16];
  int seen[16];
} order_t;

static void order_check(order_t *o, item_hdr_t h)
{
  TH_CHECK(!o->seen[h.producer] || h.seq > o->last[h.producer],
           "producer %u: item %u came after item %u: expected each producer's items in the "
           "order put",
           h.producer, h.seq, o->last[h.producer]);
  o->seen[h.producer] = 1;
  o->last[h.producer] = h.seq;
}

/* ---- Small helpers ---- */

static double now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Shared memory for a test's own bookkeeping (not the queue's). */
static void *test_shared(size_t n)
{
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert_msg(p != MAP_FAILED, "mmap of %zu shared bytes: %s", n, strerror(errno));
  return p;
}

/* Starts fn(arg) in a forked process. */
static tubo_process_t *start(tubo_process_fn fn, void *arg)
{
  tubo_process_t *p = NULL;
  CK_OK(tubo_process_create(fn, arg, &p));
  CK_OK(tubo_process_start(p));
  return p;
}

/* Waits for a process and checks that it returned 0 (its own checks print why not). */
static void join_ok(tubo_process_t *p, const char *what)
{
  CK_OK(tubo_process_join(p, -1));
  int code = -1;
  CK_OK(tubo_process_exitcode(p, &code));
  ck_assert_msg(code == 0, "%s: exit code %d, expected 0 (its failed check is printed above)", what,
                code);
  tubo_process_free(p);
}

/* A pipe for a child to tell the parent what it reached. */
static int tell[2];

static void tell_open(void)
{
  ck_assert_msg(pipe(tell) == 0, "pipe: %s", strerror(errno));
}

static void tell_close(void)
{
  close(tell[0]);
  close(tell[1]);
}

/* In a child: says c. */
static void tell_say(char c)
{
  TH_CHECK(write(tell[1], &c, 1) == 1, "write to the parent's pipe: %s", strerror(errno));
}

/* In the parent: waits for the child to say something, and checks it is want. */
static void tell_expect(char want)
{
  char c = 0;
  ssize_t n;
  do
    n = read(tell[0], &c, 1);
  while (n < 0 && errno == EINTR);
  ck_assert_msg(n == 1 && c == want, "from the child: expected '%c', got %zd byte(s) '%c'", want, n,
                n == 1 ? c : '?');
}

/* In the parent: whether the child has said anything more (without waiting). */
static int tell_pending(void)
{
  struct pollfd p = {tell[0], POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

static void put_u64(tubo_queue_t *q, uint64_t v)
{
  CK_OK(tubo_queue_put(q, &v, sizeof v, 0));
}

static void get_u64(tubo_queue_t *q, uint64_t want)
{
  uint64_t v = ~0ull;
  size_t len = 0;
  CK_OK(tubo_queue_get(q, &v, sizeof v, &len, 0));
  ck_assert_msg(len == sizeof v && v == want, "got %llu (%zu bytes), expected %llu (8 bytes)",
                (unsigned long long)v, len, (unsigned long long)want);
}

/* ---- One process ---- */

START_TEST(test_put_get)
{
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(4, 64, 0, &q));
  const char *items[] = {"first", "", "the third item"};
  for (int i = 0; i < 3; i++)
    CK_OK(tubo_queue_put(q, items[i], strlen(items[i]), 0));
  size_t n = 0;
  int flag = -1;
  CK_OK(tubo_queue_size(q, &n));
  ck_assert_msg(n == 3, "size after 3 puts: expected 3, got %zu", n);
  CK_OK(tubo_queue_empty(q, &flag));
  ck_assert_msg(flag == 0, "empty() after 3 puts: expected 0, got %d", flag);
  CK_OK(tubo_queue_full(q, &flag));
  ck_assert_msg(flag == 0, "full() with 3 of 4: expected 0, got %d", flag);
  for (int i = 0; i < 3; i++) {
    char buf[64];
    size_t len = 99;
    memset(buf, 0, sizeof buf);
    CK_OK(tubo_queue_get(q, buf, sizeof buf, &len, 0));
    ck_assert_msg(len == strlen(items[i]) && memcmp(buf, items[i], len) == 0,
                  "get %d: expected \"%s\" (%zu bytes), got \"%.*s\" (%zu bytes)", i, items[i],
                  strlen(items[i]), (int)(len < 64 ? len : 64), buf, len);
  }
  CK_OK(tubo_queue_empty(q, &flag));
  ck_assert_msg(flag == 1, "empty() after getting everything: expected 1, got %d", flag);
  /* A zero-length item needs no buffer on either side; the length may be ignored. */
  CK_OK(tubo_queue_put(q, NULL, 0, 0));
  CK_OK(tubo_queue_get(q, NULL, 0, NULL, 0));
  CK_OK(tubo_queue_free(q));
}
END_TEST

/* Many laps of a ring whose capacity is not a power of two, items of every length up to
 * item_max, in FIFO order. */
START_TEST(test_laps)
{
  enum { CAP = 3, MAX = 100 };
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(CAP, MAX, 0, &q));
  unsigned char in[MAX], out[MAX + TH_GUARD];
  uint32_t put = 0, got = 0;
  for (int round = 0; round < 500; round++) {
    int k = 1 + round % CAP;
    for (int i = 0; i < k; i++, put++) {
      size_t len = put % (MAX + 1);
      th_fill(in, len, th_seed(0, 0, len, (int)put));
      CK_OK(tubo_queue_put(q, in, len, 0));
    }
    for (int i = 0; i < k; i++, got++) {
      size_t len = 0, want = got % (MAX + 1);
      memset(out, TH_GUARD_BYTE, sizeof out);
      CK_OK(tubo_queue_get(q, out, want, &len, 0));
      ck_assert_msg(len == want, "item %u: expected %zu bytes, got %zu", got, want, len);
      th_fill(in, len, th_seed(0, 0, len, (int)got));
      for (size_t b = 0; b < len; b++)
        ck_assert_msg(out[b] == in[b], "item %u, byte %zu: expected 0x%02x, got 0x%02x", got, b,
                      in[b], out[b]);
      for (size_t b = len; b < sizeof out; b++)
        ck_assert_msg(out[b] == TH_GUARD_BYTE, "item %u: byte %zu past its %zu bytes was written",
                      got, b, len);
    }
  }
  CK_RC(tubo_queue_get(q, out, MAX, NULL, 0), TUBO_EEMPTY);
  CK_OK(tubo_queue_free(q));
}
END_TEST

START_TEST(test_full_empty_now)
{
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(2, 8, 0, &q));
  uint64_t v = 0;
  CK_RC(tubo_queue_get(q, &v, sizeof v, NULL, 0), TUBO_EEMPTY);
  put_u64(q, 1);
  put_u64(q, 2);
  v = 3;
  CK_RC(tubo_queue_put(q, &v, sizeof v, 0), TUBO_EFULL);
  int full = 0;
  size_t n = 0;
  CK_OK(tubo_queue_full(q, &full));
  CK_OK(tubo_queue_size(q, &n));
  ck_assert_msg(full == 1 && n == 2, "full queue of 2: expected full() 1 and size 2, got %d, %zu",
                full, n);
  get_u64(q, 1);
  get_u64(q, 2);
  CK_RC(tubo_queue_get(q, &v, sizeof v, NULL, 0), TUBO_EEMPTY);
  CK_OK(tubo_queue_free(q));
}
END_TEST

/* The timeouts expire (kept short); the queue is unchanged afterwards. Waiting at least
 * the timeout is a lower bound, which no load can break. */
START_TEST(test_timeouts)
{
  enum { MS = 30 };
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(1, 8, TUBO_QUEUE_JOINABLE, &q));
  put_u64(q, 7);
  uint64_t v = 8;
  double t0 = now_ms();
  CK_RC(tubo_queue_put(q, &v, sizeof v, MS), TUBO_ETIMEDOUT);
  double waited = now_ms() - t0;
  ck_assert_msg(waited >= MS, "put on a full queue with a %d ms timeout returned after %.1f ms", MS,
                waited);
  get_u64(q, 7);
  t0 = now_ms();
  CK_RC(tubo_queue_get(q, &v, sizeof v, NULL, MS), TUBO_ETIMEDOUT);
  waited = now_ms() - t0;
  ck_assert_msg(waited >= MS, "get on an empty queue with a %d ms timeout returned after %.1f ms",
                MS, waited);
  t0 = now_ms();
  CK_RC(tubo_queue_join(q, MS), TUBO_ETIMEDOUT);
  waited = now_ms() - t0;
  ck_assert_msg(waited >= MS, "join with a task not done, %d ms timeout, returned after %.1f ms",
                MS, waited);
  CK_OK(tubo_queue_task_done(q));
  CK_OK(tubo_queue_join(q, MS));
  CK_OK(tubo_queue_free(q));
}
END_TEST

START_TEST(test_truncated)
{
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(4, 100, 0, &q));
  unsigned char in[100], out[40 + TH_GUARD];
  th_fill(in, sizeof in, 42);
  CK_OK(tubo_queue_put(q, in, sizeof in, 0));
  put_u64(q, 9);
  memset(out, TH_GUARD_BYTE, sizeof out);
  size_t len = 0;
  CK_RC(tubo_queue_get(q, out, 40, &len, 0), TUBO_ETRUNC);
  ck_assert_msg(len == 100, "truncated get: expected the item's full length 100, got %zu", len);
  ck_assert_msg(memcmp(out, in, 40) == 0, "truncated get: expected the item's first 40 bytes");
  for (size_t b = 40; b < sizeof out; b++)
    ck_assert_msg(out[b] == TH_GUARD_BYTE, "truncated get wrote byte %zu past the 40-byte buffer",
                  b);
  /* The truncated item is consumed; the next one follows. */
  get_u64(q, 9);
  CK_OK(tubo_queue_free(q));
}
END_TEST

/* Every call on q but free returns want (a NULL or a closed handle). */
static void every_call_fails(tubo_queue_t *q, int want)
{
  uint64_t v = 2;
  size_t n;
  int flag;
  CK_RC(tubo_queue_put(q, &v, sizeof v, 0), want);
  CK_RC(tubo_queue_get(q, &v, sizeof v, NULL, 0), want);
  CK_RC(tubo_queue_size(q, &n), want);
  CK_RC(tubo_queue_empty(q, &flag), want);
  CK_RC(tubo_queue_full(q, &flag), want);
  CK_RC(tubo_queue_task_done(q), want);
  CK_RC(tubo_queue_join(q, 0), want);
  CK_RC(tubo_queue_close(q), want);
}

START_TEST(test_bad_arguments)
{
  tubo_queue_t *q = NULL;
  CK_RC(tubo_queue_create(4, 8, 0, NULL), TUBO_EINVAL);
  /* Capacity 0 is TUBO_QUEUE_UNBOUNDED (check_queue_unbounded). */
  CK_RC(tubo_queue_create(4, 0, 0, &q), TUBO_EINVAL);
  CK_RC(tubo_queue_create(4, 8, 0x2, &q), TUBO_EINVAL);
  CK_RC(tubo_queue_create(SIZE_MAX / 2, 1024, 0, &q), TUBO_ETOOBIG);
  CK_RC(tubo_queue_create(1, (size_t)UINT32_MAX + 1, 0, &q), TUBO_ETOOBIG);
  ck_assert_msg(q == NULL, "failed creates must leave the handle alone");
  CK_RC(tubo_queue_open(NULL, 4, 8, 0, &q), TUBO_ECOMM);

  every_call_fails(NULL, TUBO_EQUEUE);
  CK_RC(tubo_queue_free(NULL), TUBO_EQUEUE);

  uint64_t v = 1;
  CK_OK(tubo_queue_create(4, 8, 0, &q));
  CK_RC(tubo_queue_put(q, NULL, 8, 0), TUBO_EINVAL);
  CK_RC(tubo_queue_get(q, NULL, 8, NULL, 0), TUBO_EINVAL);
  CK_RC(tubo_queue_size(q, NULL), TUBO_EINVAL);
  CK_RC(tubo_queue_empty(q, NULL), TUBO_EINVAL);
  CK_RC(tubo_queue_full(q, NULL), TUBO_EINVAL);
  unsigned char big[9] = {0};
  CK_RC(tubo_queue_put(q, big, sizeof big, 0), TUBO_ETOOBIG);
  /* Not joinable. */
  CK_RC(tubo_queue_task_done(q), TUBO_ENOTSUP);
  CK_RC(tubo_queue_join(q, 0), TUBO_ENOTSUP);
  /* None of the failed calls put anything. */
  CK_RC(tubo_queue_get(q, &v, sizeof v, NULL, 0), TUBO_EEMPTY);
  CK_OK(tubo_queue_free(q));
}
END_TEST

START_TEST(test_closed)
{
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(4, 8, TUBO_QUEUE_JOINABLE, &q));
  put_u64(q, 1);
  CK_OK(tubo_queue_close(q));
  every_call_fails(q, TUBO_ECLOSED);
  CK_OK(tubo_queue_free(q));
}
END_TEST

START_TEST(test_joinable_counts)
{
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(4, 8, TUBO_QUEUE_JOINABLE, &q));
  CK_OK(tubo_queue_join(q, 0)); /* nothing put: nothing to wait for */
  CK_RC(tubo_queue_task_done(q), TUBO_EINVAL);
  for (uint64_t i = 0; i < 3; i++)
    put_u64(q, i);
  CK_RC(tubo_queue_join(q, 0), TUBO_ETIMEDOUT);
  for (uint64_t i = 0; i < 3; i++) {
    get_u64(q, i);
    CK_RC(tubo_queue_join(q, 0), TUBO_ETIMEDOUT);
    CK_OK(tubo_queue_task_done(q));
  }
  CK_OK(tubo_queue_join(q, 0));
  CK_OK(tubo_queue_join(q, -1));
  CK_RC(tubo_queue_task_done(q), TUBO_EINVAL); /* one more than put: Python's ValueError */
  CK_OK(tubo_queue_join(q, 0));                /* and the count did not go below zero */
  put_u64(q, 5);
  CK_RC(tubo_queue_join(q, 0), TUBO_ETIMEDOUT);
  CK_OK(tubo_queue_free(q));
}
END_TEST

/* Garbage written into the queue's memory by a misbehaving peer: lengths and turns are
 * checked, never trusted; nothing is written past the buffer and nothing spins forever. */
START_TEST(test_corrupt)
{
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(4, 64, 0, &q));
  size_t stride = 0;
  queue_shared_t *sh = tubo__queue_shared(q, &stride);
  queue_cell_t *cell0 = (queue_cell_t *)((unsigned char *)sh + QUEUE_CELLS);
  unsigned char out[64 + TH_GUARD];

  /* A length beyond item_max. */
  put_u64(q, 1);
  cell0->len = 0xffffffffu;
  memset(out, TH_GUARD_BYTE, sizeof out);
  size_t len = 7;
  CK_RC(tubo_queue_get(q, out, 64, &len, 0), TUBO_ECORRUPT);
  for (size_t b = 0; b < sizeof out; b++)
    ck_assert_msg(out[b] == TH_GUARD_BYTE, "corrupt length: byte %zu of the buffer was written", b);
  /* The cell was handed on: the queue goes on working. */
  put_u64(q, 2);
  get_u64(q, 2);

  /* A turn ahead of the consumers' position. */
  queue_cell_t *cell2 = (queue_cell_t *)((unsigned char *)cell0 + 2 * stride);
  atomic_store(&cell2->turn, 1000);
  CK_RC(tubo_queue_get(q, out, 64, &len, -1), TUBO_ECORRUPT);

  /* Positions far off: any position names a cell inside the ring. */
  atomic_store(&sh->tail, UINT64_MAX / 3);
  atomic_store(&sh->head, UINT64_MAX / 5);
  uint64_t v = 3;
  int rc = tubo_queue_put(q, &v, sizeof v, 0);
  ck_assert_msg(rc == 0 || rc == TUBO_EFULL || rc == TUBO_ECORRUPT,
                "put with garbage positions: expected TUBO_OK, TUBO_EFULL or TUBO_ECORRUPT, got %s",
                tubo_err_name(rc));
  rc = tubo_queue_get(q, out, 64, &len, 0);
  ck_assert_msg(
      rc == 0 || rc == TUBO_EEMPTY || rc == TUBO_ECORRUPT,
      "get with garbage positions: expected TUBO_OK, TUBO_EEMPTY or TUBO_ECORRUPT, got %s",
      tubo_err_name(rc));
  for (size_t b = 64; b < sizeof out; b++)
    ck_assert_msg(out[b] == TH_GUARD_BYTE, "garbage positions: byte %zu past the buffer written",
                  b);
  CK_OK(tubo_queue_free(q));
}
END_TEST

/* ---- Forked processes ---- */

#define MP_PRODUCERS 3
#define MP_CONSUMERS 3
#define MP_ITEMS     3000 /* per producer */

typedef struct mp_ctx {
  tubo_queue_t *q;
  _Atomic unsigned char *seen; /* per item: how many times it was got */
  uint32_t id;
} mp_ctx_t;

static int mp_producer(void *arg)
{
  const mp_ctx_t *c = arg;
  unsigned char buf[ITEM_MAX];
  for (uint32_t s = 0; s < MP_ITEMS; s++) {
    size_t len = item_make(buf, c->id, s);
    TH_OK(tubo_queue_put(c->q, buf, len, -1));
  }
  return 0;
}

static int mp_consumer(void *arg)
{
  const mp_ctx_t *c = arg;
  order_t o;
  memset(&o, 0, sizeof o);
  unsigned char buf[ITEM_MAX];
  for (;;) {
    size_t len = 0;
    TH_OK(tubo_queue_get(c->q, buf, sizeof buf, &len, -1));
    item_hdr_t h = item_check(buf, len, MP_PRODUCERS, MP_ITEMS);
    if (h.producer == ITEM_STOP)
      return 0;
    order_check(&o, h);
    atomic_fetch_add(&c->seen[h.producer * MP_ITEMS + h.seq], 1);
  }
}

/* Every item got exactly once (the counts of the consumers). */
static void check_seen(_Atomic unsigned char *seen, uint32_t producers, uint32_t per_producer)
{
  for (uint32_t p = 0; p < producers; p++)
    for (uint32_t s = 0; s < per_producer; s++) {
      unsigned k = atomic_load(&seen[p * per_producer + s]);
      ck_assert_msg(k == 1, "item %u of producer %u was got %u times, expected exactly once", s, p,
                    k);
    }
}

/* A queue much smaller than the traffic, so that puts wait for room and gets for items.
 * fences: the publishers' fences the queue is expected to use (TUBO_SHM_ASYM_FENCE). */
static void mpmc_forked(int fences)
{
  tubo_queue_t *q = NULL;
  CK_OK(tubo_queue_create(8, ITEM_MAX, 0, &q));
  if (fences)
    ck_assert_msg(tubo__queue_fences(q) == 1,
                  "with TUBO_SHM_ASYM_FENCE=0: expected publishers to fence, they do not");
  size_t nseen = (size_t)MP_PRODUCERS * MP_ITEMS;
  _Atomic unsigned char *seen = test_shared(nseen);
  mp_ctx_t pc[MP_PRODUCERS], cc[MP_CONSUMERS];
  tubo_process_t *prod[MP_PRODUCERS], *cons[MP_CONSUMERS];
  for (uint32_t i = 0; i < MP_CONSUMERS; i++) {
    cc[i] = (mp_ctx_t){q, seen, i};
    cons[i] = start(mp_consumer, &cc[i]);
  }
  for (uint32_t i = 0; i < MP_PRODUCERS; i++) {
    pc[i] = (mp_ctx_t){q, seen, i};
    prod[i] = start(mp_producer, &pc[i]);
  }
  for (int i = 0; i < MP_PRODUCERS; i++)
    join_ok(prod[i], "producer");
  /* Every item is in now, so each stop item comes after all of them. */
  unsigned char buf[ITEM_MAX];
  for (int i = 0; i < MP_CONSUMERS; i++)
    CK_OK(tubo_queue_put(q, buf, item_stop(buf), -1));
  for (int i = 0; i < MP_CONSUMERS; i++)
    join_ok(cons[i], "consumer");
  check_seen(seen, MP_PRODUCERS, MP_ITEMS);
  int empty = 0;
  CK_OK(tubo_queue_empty(q, &empty));
  ck_assert_msg(empty == 1, "after every item and stop was got: expected empty() 1, got %d", empty);
  munmap((void *)seen, nseen);
  CK_OK(tubo_queue_free(q));
}

START_TEST(test_mpmc_forked)
{
  mpmc_forked(0);
}
END_TEST

/* The same with a fence in every put and get instead of remote fences from sleepers. */
START_TEST(test_mpmc_forked_fenced)
{
  ck_assert_msg(setenv("TUBO_SHM_ASYM_FENCE", "0", 1) == 0, "setenv: %s", strerror(errno));
  mpmc_forked(1);
}
END_TEST

static tubo_queue_t *child_q;

static int child_put_blocking(void *arg)
{
  (void)arg;
  uint64_t v = 3;
  tell_say('b');
  TH_OK(tubo_queue_put(child_q, &v, sizeof v, -1));
  tell_say('p');
  return 0;
}

/* A put on a full queue waits, and proceeds once a consumer gets. */
START_TEST(test_full_blocks)
{
  CK_OK(tubo_queue_create(2, 8, 0, &child_q));
  put_u64(child_q, 1);
  put_u64(child_q, 2);
  tell_open();
  tubo_process_t *p = start(child_put_blocking, NULL);
  tell_expect('b');
  /* The queue is full and only this process gets: the child's put cannot have completed. */
  ck_assert_msg(!tell_pending(), "the child's put on a full queue returned before any get");
  size_t n = 0;
  CK_OK(tubo_queue_size(child_q, &n));
  ck_assert_msg(n == 2, "size while the child waits to put: expected 2, got %zu", n);
  get_u64(child_q, 1);
  tell_expect('p');
  get_u64(child_q, 2);
  get_u64(child_q, 3);
  join_ok(p, "putter");
  tell_close();
  CK_OK(tubo_queue_free(child_q));
}
END_TEST

static int child_get_blocking(void *arg)
{
  (void)arg;
  uint64_t v = 0;
  tell_say('b');
  TH_OK(tubo_queue_get(child_q, &v, sizeof v, NULL, -1));
  TH_EQ("value got by the waiting child", v, 42);
  tell_say('g');
  return 0;
}

/* A get on an empty queue waits, and proceeds once a producer puts. */
START_TEST(test_empty_blocks)
{
  CK_OK(tubo_queue_create(2, 8, 0, &child_q));
  tell_open();
  tubo_process_t *p = start(child_get_blocking, NULL);
  tell_expect('b');
  ck_assert_msg(!tell_pending(), "the child's get on an empty queue returned before any put");
  put_u64(child_q, 42);
  tell_expect('g');
  join_ok(p, "getter");
  tell_close();
  CK_OK(tubo_queue_free(child_q));
}
END_TEST

#define JOIN_ITEMS 50
static _Atomic int *processed;

static int join_worker(void *arg)
{
  (void)arg;
  for (;;) {
    uint64_t v = 0;
    TH_OK(tubo_queue_get(child_q, &v, sizeof v, NULL, -1));
    if (v == ITEM_STOP) {
      TH_OK(tubo_queue_task_done(child_q));
      return 0;
    }
    atomic_fetch_add(processed, 1);
    TH_OK(tubo_queue_task_done(child_q));
  }
}

/* join returns once every item put was marked done, not before. */
START_TEST(test_join_waits_for_all)
{
  CK_OK(tubo_queue_create(4, 8, TUBO_QUEUE_JOINABLE, &child_q));
  processed = test_shared(sizeof *processed);
  tubo_process_t *p = start(join_worker, NULL);
  for (uint64_t i = 0; i < JOIN_ITEMS; i++) {
    uint64_t v = i;
    CK_OK(tubo_queue_put(child_q, &v, sizeof v, -1));
  }
  CK_OK(tubo_queue_join(child_q, -1));
  int n = atomic_load(processed);
  ck_assert_msg(n == JOIN_ITEMS, "join returned with %d of %d items processed", n, JOIN_ITEMS);
  uint64_t stop = ITEM_STOP;
  CK_OK(tubo_queue_put(child_q, &stop, sizeof stop, -1));
  CK_OK(tubo_queue_join(child_q, -1));
  join_ok(p, "worker");
  munmap((void *)processed, sizeof *processed);
  CK_OK(tubo_queue_free(child_q));
}
END_TEST

static int child_joins(void *arg)
{
  (void)arg;
  tell_say('b');
  TH_OK(tubo_queue_join(child_q, -1));
  tell_say('j');
  return 0;
}

/* A process waiting in join is woken when another marks the last task done. */
START_TEST(test_join_in_child)
{
  CK_OK(tubo_queue_create(4, 8, TUBO_QUEUE_JOINABLE, &child_q));
  for (uint64_t i = 0; i < 3; i++)
    put_u64(child_q, i);
  tell_open();
  tubo_process_t *p = start(child_joins, NULL);
  tell_expect('b');
  for (uint64_t i = 0; i < 3; i++) {
    ck_assert_msg(!tell_pending(), "the child's join returned with %d tasks not done",
                  (int)(3 - i));
    get_u64(child_q, i);
    CK_OK(tubo_queue_task_done(child_q));
  }
  tell_expect('j');
  join_ok(p, "joiner");
  tell_close();
  CK_OK(tubo_queue_free(child_q));
}
END_TEST

static int child_closes(void *arg)
{
  (void)arg;
  uint64_t v = 5;
  TH_OK(tubo_queue_put(child_q, &v, sizeof v, -1));
  TH_OK(tubo_queue_close(child_q));
  TH_EXPECT_RC(tubo_queue_put(child_q, &v, sizeof v, -1), TUBO_ECLOSED);
  TH_OK(tubo_queue_free(child_q));
  return 0;
}

/* close and free act on one process's handle: the others go on using the queue. */
START_TEST(test_close_is_per_process)
{
  CK_OK(tubo_queue_create(4, 8, 0, &child_q));
  tubo_process_t *p = start(child_closes, NULL);
  join_ok(p, "child that closed its handle");
  get_u64(child_q, 5);
  put_u64(child_q, 6);
  get_u64(child_q, 6);
  CK_OK(tubo_queue_free(child_q));
}
END_TEST

/* ---- Ranks under tuborun (tubo_queue_open) ---- */

#define OPEN_ITEMS 2000 /* per producer */
#define TAG_DONE   1
#define TAG_GOT    2

/* Producers are the first half of the ranks, consumers the rest. The queue is joinable:
 * consumers mark each item done, and rank 0 joins before it sends the stop items.
 * fences: whether the handles are expected to fence in every put and get. */
static void open_mpmc(int fences)
{
  TH_CHECK(th_size >= 2 && th_size <= 32, "this body needs 2 to 32 ranks, not %d", th_size);
  int producers = th_size / 2, consumers = th_size - producers;
  tubo_queue_t *q = NULL;
  TH_OK(tubo_queue_open(th_world, 8, ITEM_MAX, TUBO_QUEUE_JOINABLE, &q));
  /* Fences concern queues in shared memory, not those a home rank serves across nodes. */
  if (fences && th_one_node())
    TH_EQ("whether this rank's handle fences in every put and get", tubo__queue_fences(q), 1);
  unsigned char buf[ITEM_MAX];
  if (th_rank < producers) {
    for (uint32_t s = 0; s < OPEN_ITEMS; s++) {
      size_t len = item_make(buf, (uint32_t)th_rank, s);
      TH_OK(tubo_queue_put(q, buf, len, -1));
    }
    if (th_rank != 0) {
      TH_OK(tubo_send(NULL, 0, 0, TAG_DONE, th_world));
    } else {
      for (int r = 1; r < producers; r++)
        TH_OK(tubo_recv(NULL, 0, r, TAG_DONE, th_world, TUBO_STATUS_IGNORE));
      TH_OK(tubo_queue_join(q, -1));
      size_t n = 99;
      TH_OK(tubo_queue_size(q, &n));
      TH_EQ("size after join", n, 0);
      for (int c = 0; c < consumers; c++)
        TH_OK(tubo_queue_put(q, buf, item_stop(buf), -1));
      /* Every item got exactly once: the consumers' lists. */
      size_t nitems = (size_t)producers * OPEN_ITEMS;
      unsigned char *count = th_malloc(nitems);
      uint32_t *list = th_malloc(nitems * 2 * sizeof *list);
      memset(count, 0, nitems);
      for (int r = producers; r < th_size; r++) {
        tubo_status_t st;
        TH_OK(tubo_recv(list, nitems * 2 * sizeof *list, r, TAG_GOT, th_world, &st));
        for (size_t i = 0; i < st.length / (2 * sizeof *list); i++) {
          TH_CHECK(list[2 * i] < (uint32_t)producers && list[2 * i + 1] < OPEN_ITEMS,
                   "rank %d reports item %u of producer %u, which nobody put", r, list[2 * i + 1],
                   list[2 * i]);
          count[list[2 * i] * OPEN_ITEMS + list[2 * i + 1]]++;
        }
      }
      for (size_t i = 0; i < nitems; i++)
        TH_CHECK(count[i] == 1, "item %zu of producer %zu was got %u times, expected once",
                 i % OPEN_ITEMS, i / OPEN_ITEMS, count[i]);
      free(list);
      free(count);
    }
  } else {
    order_t o;
    memset(&o, 0, sizeof o);
    uint32_t *list = th_malloc((size_t)producers * OPEN_ITEMS * 2 * sizeof *list);
    size_t n = 0;
    for (;;) {
      size_t len = 0;
      TH_OK(tubo_queue_get(q, buf, sizeof buf, &len, -1));
      item_hdr_t h = item_check(buf, len, (uint32_t)producers, OPEN_ITEMS);
      if (h.producer == ITEM_STOP)
        break;
      order_check(&o, h);
      TH_CHECK(n < (size_t)producers * OPEN_ITEMS, "more items than the producers put");
      list[2 * n] = h.producer;
      list[2 * n + 1] = h.seq;
      n++;
      TH_OK(tubo_queue_task_done(q));
    }
    TH_OK(tubo_send(list, n * 2 * sizeof *list, 0, TAG_GOT, th_world));
    free(list);
  }
  TH_OK(tubo_queue_free(q));
}

static void body_open_mpmc(void)
{
  open_mpmc(0);
}

/* One rank may not use asymmetric fences (here: its setting says so): every rank's
 * handle must then fence, or a sleeper could miss that rank's wake-up. */
static void body_open_mpmc_fenced(void)
{
  if (th_rank == th_size - 1)
    TH_CHECK(setenv("TUBO_SHM_ASYM_FENCE", "0", 1) == 0, "setenv: %s", strerror(errno));
  open_mpmc(1);
}

/* Where the ranks share no memory (the pipe transport, ranks on different nodes), rank 0
 * holds the queue and serves the others: a full queue blocks a put until a get makes
 * room, an empty one a get until a put, timeouts answer TUBO_EFULL and TUBO_EEMPTY, and
 * an item longer than the buffer is TUBO_ETRUNC, as with shared memory. */
static void body_open_served(void)
{
  tubo_queue_t *q = NULL;
  TH_OK(tubo_queue_open(th_world, 2, 8, TUBO_QUEUE_JOINABLE, &q));
  uint64_t v = 0, w = 0;
  size_t len = 0, n = 99;
  if (th_rank == 1) {
    for (v = 1; v <= 3; v++) /* the third waits for rank 0's get */
      TH_OK(tubo_queue_put(q, &v, sizeof v, -1));
    TH_OK(tubo_send(NULL, 0, 0, 0, th_world));
    /* Rank 0 took one and leaves two: full now. */
    TH_EXPECT_RC(tubo_queue_put(q, &v, sizeof v, 0), TUBO_EFULL);
    TH_EXPECT_RC(tubo_queue_put(q, &v, sizeof v, 20), TUBO_EFULL);
    TH_OK(tubo_queue_size(q, &n));
    TH_EQ("items in a full queue of 2", n, 2);
    TH_OK(tubo_queue_get(q, &w, sizeof w, &len, -1));
    TH_EQ("second item, got by rank 1", w, 2);
    uint32_t small = 0;
    TH_EXPECT_RC(tubo_queue_get(q, &small, sizeof small, &len, -1), TUBO_ETRUNC);
    TH_EQ("length of a truncated item", len, sizeof v);
    TH_EXPECT_RC(tubo_queue_get(q, &w, sizeof w, &len, 0), TUBO_EEMPTY);
    for (int i = 0; i < 2; i++) /* the items rank 1 got; rank 0 marks its own */
      TH_OK(tubo_queue_task_done(q));
    TH_OK(tubo_queue_join(q, -1));
    TH_OK(tubo_send(NULL, 0, 0, 1, th_world));
    TH_OK(tubo_queue_get(q, &w, sizeof w, &len, -1)); /* waits for rank 0's put */
    TH_EQ("item put by rank 0 after the join", w, 42);
  } else if (th_rank == 0) {
    TH_OK(tubo_queue_get(q, &w, sizeof w, &len, -1)); /* rank 0 serves while it waits */
    TH_EQ("first item", w, 1);
    TH_EQ("its length", len, sizeof w);
    TH_OK(tubo_recv(NULL, 0, 1, 0, th_world, TUBO_STATUS_IGNORE));
    TH_EXPECT_RC(tubo_queue_join(q, 0), TUBO_ETIMEDOUT);
    TH_OK(tubo_queue_task_done(q));
    TH_OK(tubo_queue_join(q, -1)); /* rank 1 marks the other two done */
    TH_OK(tubo_recv(NULL, 0, 1, 1, th_world, TUBO_STATUS_IGNORE));
    v = 42;
    TH_OK(tubo_queue_put(q, &v, sizeof v, -1));
  }
  TH_OK(tubo_queue_free(q));
}

/* A world of one (no launcher): the queue is this process's own. */
static void body_open_alone(void)
{
  tubo_queue_t *q = NULL;
  TH_OK(tubo_queue_open(th_world, 2, 8, 0, &q));
  uint64_t v = 11, w = 0;
  TH_OK(tubo_queue_put(q, &v, sizeof v, 0));
  TH_OK(tubo_queue_get(q, &w, sizeof w, NULL, 0));
  TH_EQ("value got back", w, 11);
  TH_OK(tubo_queue_free(q));
}

/* Ranks that open one queue with different arguments are told, and nobody hangs: with
 * different flags (the same memory), whoever came second; with a capacity that needs
 * more pages of memory, the rank that differs from rank 0. */
static void body_open_mismatch(void)
{
  TH_CHECK(th_size == 2, "this body needs 2 ranks, not %d", th_size);
  int rc[2];
  tubo_queue_t *q[2] = {NULL, NULL};
  rc[0] = tubo_queue_open(th_world, 4, 8, th_rank == 0 ? 0 : TUBO_QUEUE_JOINABLE, &q[0]);
  rc[1] = tubo_queue_open(th_world, th_rank == 0 ? 4 : 4000, 8, 0, &q[1]);
  for (int i = 0; i < 2; i++)
    TH_CHECK(rc[i] == 0 || rc[i] == TUBO_EINVAL, "open %d: expected TUBO_OK or TUBO_EINVAL, got %s",
             i, tubo_err_name(rc[i]));
  /* Rank 0 speaks first: if it were left waiting in an open, both would wait for ever. */
  if (th_rank == 0) {
    TH_OK(tubo_send(rc, sizeof rc, 1, 0, th_world));
    TH_EQ("rank 0's open with the reference capacity: error", rc[1], 0);
  } else {
    int other[2] = {1, 1};
    TH_OK(tubo_recv(other, sizeof other, 0, 0, th_world, TUBO_STATUS_IGNORE));
    TH_CHECK((rc[0] == 0) != (other[0] == 0),
             "ranks opened one queue with different flags: expected exactly one TUBO_EINVAL, "
             "got %s on rank 0 and %s on rank 1",
             tubo_err_name(other[0]), tubo_err_name(rc[0]));
    TH_EQ("rank 1's open with 1000 times rank 0's capacity: error", rc[1], TUBO_EINVAL);
  }
  for (int i = 0; i < 2; i++)
    if (rc[i] == 0)
      TH_OK(tubo_queue_free(q[i]));
}

static const th_body_t bodies[] = {
    {"open_mpmc", body_open_mpmc, 0},         {"open_mpmc_fenced", body_open_mpmc_fenced, 0},
    {"open_served", body_open_served, 0},     {"open_alone", body_open_alone, 0},
    {"open_mismatch", body_open_mismatch, 0}, {NULL, NULL, 0},
};

static Suite *queue_suite(void)
{
  Suite *s = suite_create("queue");
  TCase *tc = th_tcase("one process");
  tcase_add_test(tc, test_put_get);
  tcase_add_test(tc, test_laps);
  tcase_add_test(tc, test_full_empty_now);
  tcase_add_test(tc, test_timeouts);
  tcase_add_test(tc, test_truncated);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_closed);
  tcase_add_test(tc, test_joinable_counts);
  tcase_add_test(tc, test_corrupt);
  suite_add_tcase(s, tc);

  tc = th_tcase("processes");
  tcase_add_test(tc, test_mpmc_forked);
  tcase_add_test(tc, test_mpmc_forked_fenced);
  tcase_add_test(tc, test_full_blocks);
  tcase_add_test(tc, test_empty_blocks);
  tcase_add_test(tc, test_join_waits_for_all);
  tcase_add_test(tc, test_join_in_child);
  tcase_add_test(tc, test_close_is_per_process);
  suite_add_tcase(s, tc);

  tc = th_add_case(s, "open_mpmc", 4, TH_BOTH);
  th_add_job(tc, "open_mpmc", 6, TH_BOTH);
  th_add_case(s, "open_mpmc_fenced", 5, TH_SHM);
  th_add_case(s, "open_served", 2, TH_PIPE);
  th_add_case(s, "open_alone", 1, TH_SOLO);
  th_add_case(s, "open_mismatch", 2, TH_BOTH);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, queue_suite);
}
