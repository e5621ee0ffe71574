/* SPDX-License-Identifier: MIT */
/* Shared Array and Value (multiprocessing.Array, Value) and their lock.
 *
 * Standalone arrays are checked with processes forked by tubo_process_*, as the seeds use
 * them; arrays opened over a communicator with jobs under tuborun (tests/harness.h). Every
 * hand-over between processes is an event (a join, a byte through an OS pipe, a barrier),
 * never a sleep. Children report through shared memory or their exit code; the parent
 * asserts. */
#include "config.h"

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "patterns/array.h"

/* ---- Helpers: children ---- */

/* Starts fn(arg) in a child process. */
static tubo_process_t *child_start(tubo_process_fn fn, void *arg)
{
  tubo_process_t *p = NULL;
  int rc = tubo_process_create(fn, arg, &p);
  ck_assert_msg(rc == 0, "tubo_process_create: expected 0, got %s", tubo_err_name(rc));
  rc = tubo_process_start(p);
  ck_assert_msg(rc == 0, "tubo_process_start: expected 0, got %s", tubo_err_name(rc));
  return p;
}

/* Joins a child and returns its exit code (minus the signal that killed it). */
static int child_join(tubo_process_t *p)
{
  int rc = tubo_process_join(p, -1);
  ck_assert_msg(rc == 0, "tubo_process_join: expected 0, got %s", tubo_err_name(rc));
  int code = -1000;
  rc = tubo_process_exitcode(p, &code);
  ck_assert_msg(rc == 0, "tubo_process_exitcode after join: expected 0, got %s", tubo_err_name(rc));
  tubo_process_free(p);
  return code;
}

/* Joins a child that must have returned 0; what says what it did. */
static void child_join_ok(tubo_process_t *p, const char *what)
{
  int code = child_join(p);
  ck_assert_msg(code == 0, "child that %s: expected exit code 0, got %d", what, code);
}

/* A child that takes the lock, says so through an OS pipe, waits for a byte on another,
 * then releases the lock. Exit codes: 0 done, 2 lock failed, 3 unlock failed, 4 a pipe
 * failed. The parent may kill it while it waits. */
typedef struct holder {
  tubo_array_t *a; /* the array whose lock it takes, or NULL for the value v */
  tubo_value_t *v;
  int ready[2]; /* child -> parent: it holds the lock */
  int go[2];    /* parent -> child: release it */
  tubo_process_t *p;
} holder_t;

static int holder_main(void *arg)
{
  holder_t *h = arg;
  if ((h->a != NULL ? tubo_array_lock(h->a) : tubo_value_lock(h->v)) != 0)
    return 2;
  char c = 'L';
  if (write(h->ready[1], &c, 1) != 1 || read(h->go[0], &c, 1) != 1)
    return 4;
  return (h->a != NULL ? tubo_array_unlock(h->a) : tubo_value_unlock(h->v)) == 0 ? 0 : 3;
}

/* Starts a holder of the lock of a (or of v, where a is NULL) and returns once it holds
 * the lock. */
static void holder_start(holder_t *h, tubo_array_t *a, tubo_value_t *v)
{
  h->a = a;
  h->v = v;
  ck_assert_msg(pipe(h->ready) == 0 && pipe(h->go) == 0, "pipe: expected two OS pipes");
  h->p = child_start(holder_main, h);
  char c = 0;
  ck_assert_msg(read(h->ready[0], &c, 1) == 1 && c == 'L',
                "holder: expected the byte 'L' once it holds the lock, got %d", c);
}

static void holder_close_pipes(holder_t *h)
{
  close(h->ready[0]);
  close(h->ready[1]);
  close(h->go[0]);
  close(h->go[1]);
}

/* Kills the holder with SIGKILL while it holds the lock. With join set, waits for it
 * (it is gone); without, it may stay a zombie or still be dying when this returns. */
static void holder_kill(holder_t *h, int join)
{
  int pid = 0;
  ck_assert_msg(tubo_process_pid(h->p, &pid) == 0 && pid > 0, "holder: expected a pid");
  ck_assert_msg(kill(pid, SIGKILL) == 0, "kill(%d, SIGKILL): expected 0", pid);
  if (join) {
    int code = child_join(h->p);
    ck_assert_msg(code == -SIGKILL, "killed holder: expected exit code %d (SIGKILL), got %d",
                  -SIGKILL, code);
    h->p = NULL;
  }
}

/* The lock is free: this process takes it and releases it; then the handle is freed. */
static void lock_free_then_free(tubo_array_t *a, const char *when)
{
  int rc = tubo_array_lock(a);
  ck_assert_msg(rc == 0, "lock %s: expected 0, got %s", when, tubo_err_name(rc));
  rc = tubo_array_unlock(a);
  ck_assert_msg(rc == 0, "unlock %s: expected 0, got %s", when, tubo_err_name(rc));
  ck_assert_msg(tubo_array_free(a) == 0, "tubo_array_free: expected 0");
}

/* ---- Element types and creation ---- */

static const struct {
  tubo_type_t type;
  size_t size, align;
} types[] = {
    {TUBO_CHAR, sizeof(char), _Alignof(char)},
    {TUBO_BYTE, sizeof(unsigned char), _Alignof(unsigned char)},
    {TUBO_SHORT, sizeof(short), _Alignof(short)},
    {TUBO_INT, sizeof(int), _Alignof(int)},
    {TUBO_UINT, sizeof(unsigned int), _Alignof(unsigned int)},
    {TUBO_LONG, sizeof(long), _Alignof(long)},
    {TUBO_ULONG, sizeof(unsigned long), _Alignof(unsigned long)},
    {TUBO_LLONG, sizeof(long long), _Alignof(long long)},
    {TUBO_FLOAT, sizeof(float), _Alignof(float)},
    {TUBO_DOUBLE, sizeof(double), _Alignof(double)},
};
#define NTYPES (sizeof types / sizeof types[0])

/* Each typecode is the C type Python's array module gives it. */
START_TEST(type_sizes)
{
  for (size_t i = 0; i < NTYPES; i++) {
    size_t size = 0, align = 0;
    int rc = tubo__array_type(types[i].type, &size, &align);
    ck_assert_msg(rc == 0 && size == types[i].size && align == types[i].align,
                  "type '%c': expected size %zu align %zu, got %s size %zu align %zu",
                  (char)types[i].type, types[i].size, types[i].align, tubo_err_name(rc), size,
                  align);
  }
}
END_TEST

/* Elements are aligned for their type, start zeroed, and every byte of every element is
 * shared: a child fills them all, the parent sees them. */
#define TYPE_LEN 5000 /* more than a page of every type */

typedef struct fill {
  tubo_array_t *a;
  size_t bytes;
  unsigned char byte;
} fill_t;

static int fill_main(void *arg)
{
  fill_t *f = arg;
  memset(tubo_array_data(f->a), f->byte, f->bytes);
  return 0;
}

START_TEST(zeroed_aligned_shared)
{
  for (size_t i = 0; i < NTYPES; i++) {
    char tc = (char)types[i].type;
    tubo_array_t *a = NULL;
    int rc = tubo_array_create(types[i].type, TYPE_LEN, &a);
    ck_assert_msg(rc == 0 && a != NULL, "Array('%c', %d): expected 0 and a handle, got %s", tc,
                  TYPE_LEN, tubo_err_name(rc));
    size_t n = 0;
    rc = tubo_array_length(a, &n);
    ck_assert_msg(rc == 0 && n == TYPE_LEN, "Array('%c') length: expected 0 and %d, got %s %zu", tc,
                  TYPE_LEN, tubo_err_name(rc), n);
    unsigned char *d = tubo_array_data(a);
    ck_assert_msg(d != NULL, "Array('%c') data: expected the elements, got NULL", tc);
    ck_assert_msg((uintptr_t)d % types[i].align == 0,
                  "Array('%c') data at %p: expected alignment %zu", tc, (void *)d, types[i].align);
    size_t bytes = TYPE_LEN * types[i].size;
    for (size_t b = 0; b < bytes; b++)
      ck_assert_msg(d[b] == 0, "Array('%c'): expected byte %zu zero at creation, got %u", tc, b,
                    d[b]);
    fill_t f = {a, bytes, (unsigned char)(0x10 + i)};
    child_join_ok(child_start(fill_main, &f), "fills every byte of the elements");
    for (size_t b = 0; b < bytes; b++)
      ck_assert_msg(d[b] == f.byte,
                    "Array('%c'): expected byte %zu = 0x%x from the child, got 0x%x", tc, b, f.byte,
                    d[b]);
    ck_assert_msg(tubo_array_free(a) == 0, "tubo_array_free: expected 0");

    tubo_value_t *v = NULL;
    rc = tubo_value_create(types[i].type, NULL, &v);
    ck_assert_msg(rc == 0 && v != NULL, "Value('%c'): expected 0 and a handle, got %s", tc,
                  tubo_err_name(rc));
    /* A Value is no Array, not even through a cast. */
    rc = tubo_array_length((tubo_array_t *)(void *)v, &n);
    ck_assert_msg(rc == TUBO_EARRAY, "Value('%c') as an array: expected TUBO_EARRAY, got %s", tc,
                  tubo_err_name(rc));
    d = tubo_value_data(v);
    ck_assert_msg(d != NULL && (uintptr_t)d % types[i].align == 0,
                  "Value('%c') ptr %p: expected non-NULL and aligned to %zu", tc, (void *)d,
                  types[i].align);
    for (size_t b = 0; b < types[i].size; b++)
      ck_assert_msg(d[b] == 0, "Value('%c'): expected byte %zu zero at creation, got %u", tc, b,
                    d[b]);
    ck_assert_msg(tubo_value_free(v) == 0, "tubo_value_free: expected 0");
  }
}
END_TEST

/* Value(typecode, init): the value starts as init, in this process and in its children. */
typedef struct value_init {
  tubo_value_t *v;
  const unsigned char *want;
  size_t size;
} value_init_t;

static int value_init_main(void *arg)
{
  const value_init_t *k = arg;
  const unsigned char *d = tubo_value_data(k->v);
  return d != NULL && memcmp(d, k->want, k->size) == 0 ? 0 : 1;
}

START_TEST(value_initial)
{
  for (size_t i = 0; i < NTYPES; i++) {
    char tc = (char)types[i].type;
    unsigned char init[sizeof(long double)];
    for (size_t b = 0; b < types[i].size; b++)
      init[b] = (unsigned char)(0x21 + 7 * i + b);
    tubo_value_t *v = NULL;
    int rc = tubo_value_create(types[i].type, init, &v);
    ck_assert_msg(rc == 0 && v != NULL, "Value('%c', init): expected 0 and a handle, got %s", tc,
                  tubo_err_name(rc));
    const unsigned char *d = tubo_value_data(v);
    ck_assert_msg(d != NULL && memcmp(d, init, types[i].size) == 0,
                  "Value('%c', init): expected its %zu bytes to be init's", tc, types[i].size);
    value_init_t k = {v, init, types[i].size};
    child_join_ok(child_start(value_init_main, &k), "finds the value's first bytes");
    ck_assert_msg(tubo_value_free(v) == 0, "tubo_value_free: expected 0");
  }
  double pi = 3.14;
  tubo_value_t *v = NULL;
  ck_assert_msg(tubo_value_create(TUBO_DOUBLE, &pi, &v) == 0, "Value('d', 3.14): expected 0");
  double got = *(const double *)tubo_value_data(v);
  ck_assert_msg(got == 3.14, "Value('d', 3.14): expected 3.14, got %g", got);
  ck_assert_msg(tubo_value_free(v) == 0, "tubo_value_free: expected 0");
}
END_TEST

/* ---- The seeds ---- */

/* Seeds 000 and 001: a child writes the squares into Array('i', 10), and (001) 5.35 into
 * Value('d'); the parent sees both after join. */
typedef struct squares {
  tubo_array_t *result;
  tubo_value_t *val;
} squares_t;

static int squares_main(void *arg)
{
  squares_t *s = arg;
  if (s->val != NULL)
    *(double *)tubo_value_data(s->val) = 5.35;
  int *r = tubo_array_data(s->result);
  for (int i = 0; i < 10; i++)
    r[i] = i * i;
  return 0;
}

START_TEST(seed_squares)
{
  for (int with_value = 0; with_value < 2; with_value++) {
    squares_t s = {NULL, NULL};
    ck_assert_msg(tubo_array_create(TUBO_INT, 10, &s.result) == 0, "Array('i', 10): expected 0");
    if (with_value)
      ck_assert_msg(tubo_value_create(TUBO_DOUBLE, NULL, &s.val) == 0, "Value('d'): expected 0");
    child_join_ok(child_start(squares_main, &s), "writes the squares");
    const int *r = tubo_array_data(s.result);
    for (int i = 0; i < 10; i++)
      ck_assert_msg(r[i] == i * i, "result[%d] after join: expected %d, got %d", i, i * i, r[i]);
    if (with_value) {
      double got = *(const double *)tubo_value_data(s.val);
      ck_assert_msg(got == 5.35, "val.value after join: expected 5.35, got %.17g", got);
      ck_assert_msg(tubo_value_free(s.val) == 0, "tubo_value_free: expected 0");
    }
    ck_assert_msg(tubo_array_free(s.result) == 0, "tubo_array_free: expected 0");
  }
}
END_TEST

/* Seed 002 (from Python's documentation): n.value = 3.1415927 and a[i] = -a[i] in a child,
 * on Value('d', 0.0) and Array('i', range(10)). */
static int negate_main(void *arg)
{
  squares_t *s = arg;
  *(double *)tubo_value_data(s->val) = 3.1415927;
  size_t n = 0;
  tubo_array_length(s->result, &n);
  int *a = tubo_array_data(s->result);
  for (size_t i = 0; i < n; i++)
    a[i] = -a[i];
  return 0;
}

START_TEST(seed_negate)
{
  squares_t s = {NULL, NULL};
  ck_assert_msg(tubo_value_create(TUBO_DOUBLE, NULL, &s.val) == 0, "Value('d'): expected 0");
  ck_assert_msg(tubo_array_create(TUBO_INT, 10, &s.result) == 0, "Array('i', 10): expected 0");
  int *a = tubo_array_data(s.result);
  for (int i = 0; i < 10; i++)
    a[i] = i;
  child_join_ok(child_start(negate_main, &s), "negates the array");
  double num = *(const double *)tubo_value_data(s.val);
  ck_assert_msg(num == 3.1415927, "num.value: expected 3.1415927, got %.17g", num);
  for (int i = 0; i < 10; i++)
    ck_assert_msg(a[i] == -i, "arr[%d]: expected %d, got %d", i, -i, a[i]);
  ck_assert_msg(tubo_value_free(s.val) == 0 && tubo_array_free(s.result) == 0,
                "free: expected 0 for both");
}
END_TEST

/* ---- The lock ---- */

/* 4 processes add 1 to a shared counter 10000 times each, under the lock. They start
 * together, so that they overlap: each announces itself in a second shared value and
 * waits (yielding its core) until all 4 have. Each child's exit code is the number of
 * lock or unlock calls that did not return 0. */
#define COUNT_PROCS 4
#define COUNT_ADDS  10000

typedef struct counter {
  tubo_value_t *v;
  tubo_value_t *arrived; /* int: children ready to start */
} counter_t;

static int count_main(void *arg)
{
  counter_t *k = arg;
  int *arrived = tubo_value_data(k->arrived);
  __atomic_add_fetch(arrived, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(arrived, __ATOMIC_SEQ_CST) < COUNT_PROCS)
    sched_yield();
  long *n = tubo_value_data(k->v);
  int bad = 0;
  for (int i = 0; i < COUNT_ADDS; i++) {
    bad += tubo_value_lock(k->v) != 0;
    *n += 1;
    bad += tubo_value_unlock(k->v) != 0;
  }
  return bad > 255 ? 255 : bad;
}

START_TEST(lock_counter)
{
  counter_t k;
  ck_assert_msg(tubo_value_create(TUBO_LONG, NULL, &k.v) == 0, "Value('l'): expected 0");
  ck_assert_msg(tubo_value_create(TUBO_INT, NULL, &k.arrived) == 0, "Value('i'): expected 0");
  tubo_process_t *p[COUNT_PROCS];
  for (int i = 0; i < COUNT_PROCS; i++)
    p[i] = child_start(count_main, &k);
  for (int i = 0; i < COUNT_PROCS; i++) {
    int code = child_join(p[i]);
    ck_assert_msg(code == 0,
                  "counter child %d: expected exit code 0 (every lock and unlock returned 0), "
                  "got %d",
                  i, code);
  }
  long got = *(const long *)tubo_value_data(k.v);
  ck_assert_msg(got == (long)COUNT_PROCS * COUNT_ADDS,
                "counter after %d processes added 1 %d times each under the lock: expected %ld, "
                "got %ld",
                COUNT_PROCS, COUNT_ADDS, (long)COUNT_PROCS * COUNT_ADDS, got);
  ck_assert_msg(tubo_value_free(k.v) == 0 && tubo_value_free(k.arrived) == 0,
                "tubo_value_free: expected 0 for both");
}
END_TEST

/* The lock is this process's until released as many times as taken (Python's RLock);
 * releasing a lock one does not hold is TUBO_EINVAL. */
START_TEST(lock_recursive_and_unheld)
{
  tubo_array_t *a = NULL;
  ck_assert_msg(tubo_array_create(TUBO_INT, 4, &a) == 0, "Array('i', 4): expected 0");
  int rc = tubo_array_unlock(a);
  ck_assert_msg(rc == TUBO_EINVAL, "unlock of a lock never taken: expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));
  for (int i = 0; i < 3; i++) {
    rc = tubo_array_lock(a);
    ck_assert_msg(rc == 0, "lock number %d by its holder: expected 0, got %s", i + 1,
                  tubo_err_name(rc));
  }
  for (int i = 0; i < 3; i++) {
    rc = tubo_array_unlock(a);
    ck_assert_msg(rc == 0, "unlock %d of 3: expected 0, got %s", i + 1, tubo_err_name(rc));
  }
  rc = tubo_array_unlock(a);
  ck_assert_msg(rc == TUBO_EINVAL, "a 4th unlock after 3 locks: expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));

  /* Held by another process: this one may not release it. */
  holder_t h;
  holder_start(&h, a, NULL);
  rc = tubo_array_unlock(a);
  ck_assert_msg(rc == TUBO_EINVAL,
                "unlock while another process holds the lock: expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));
  char c = 'G';
  ck_assert_msg(write(h.go[1], &c, 1) == 1, "write to the holder: expected 1 byte");
  child_join_ok(h.p, "held the lock, then released it");
  holder_close_pipes(&h);
  lock_free_then_free(a, "after the holder released it");
}
END_TEST

/* The holder is killed with SIGKILL (and joined): the next lock returns TUBO_EPEER and
 * holds the lock; after that the lock works as before. */
START_TEST(lock_holder_killed)
{
  tubo_array_t *a = NULL;
  ck_assert_msg(tubo_array_create(TUBO_INT, 4, &a) == 0, "Array('i', 4): expected 0");
  holder_t h;
  holder_start(&h, a, NULL);
  holder_kill(&h, 1);
  holder_close_pipes(&h);
  int rc = tubo_array_lock(a);
  ck_assert_msg(rc == TUBO_EPEER, "lock after its holder was killed: expected TUBO_EPEER, got %s",
                tubo_err_name(rc));
  rc = tubo_array_unlock(a);
  ck_assert_msg(rc == 0, "unlock after TUBO_EPEER: expected 0 (the lock is ours), got %s",
                tubo_err_name(rc));
  rc = tubo_array_unlock(a);
  ck_assert_msg(rc == TUBO_EINVAL, "second unlock: expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));
  lock_free_then_free(a, "once taken over and released");
}
END_TEST

/* As above, but the parent asks for the lock before reaping the holder: a zombie (or a
 * process still dying) does not hold a lock for ever. */
START_TEST(lock_holder_zombie)
{
  tubo_value_t *v = NULL;
  ck_assert_msg(tubo_value_create(TUBO_INT, NULL, &v) == 0, "Value('i'): expected 0");
  holder_t h;
  holder_start(&h, NULL, v);
  holder_kill(&h, 0);
  int rc = tubo_value_lock(v);
  ck_assert_msg(rc == TUBO_EPEER,
                "lock while its killed holder is not yet reaped: expected TUBO_EPEER, got %s",
                tubo_err_name(rc));
  ck_assert_msg(tubo_value_unlock(v) == 0, "unlock after TUBO_EPEER: expected 0");
  int code = child_join(h.p);
  ck_assert_msg(code == -SIGKILL, "killed holder: expected exit code %d, got %d", -SIGKILL, code);
  holder_close_pipes(&h);
  ck_assert_msg(tubo_value_free(v) == 0, "tubo_value_free: expected 0");
}
END_TEST

/* A process waits for (or is about to ask for) the lock when its holder is killed:
 * whichever comes first, it gets TUBO_EPEER and the lock, and releases it; the parent then
 * takes it with 0, since the takeover was reported once. */
typedef struct waiter {
  tubo_array_t *a;
  tubo_array_t *results; /* int[2]: what lock and unlock returned */
} waiter_t;

static int waiter_main(void *arg)
{
  waiter_t *w = arg;
  int *res = tubo_array_data(w->results);
  res[0] = tubo_array_lock(w->a);
  res[1] = tubo_array_unlock(w->a);
  return 0;
}

START_TEST(lock_holder_killed_while_waited)
{
  waiter_t w = {NULL, NULL};
  ck_assert_msg(tubo_array_create(TUBO_INT, 4, &w.a) == 0, "Array('i', 4): expected 0");
  ck_assert_msg(tubo_array_create(TUBO_INT, 2, &w.results) == 0, "Array('i', 2): expected 0");
  int *res = tubo_array_data(w.results);
  res[0] = res[1] = 1; /* no error code */
  holder_t h;
  holder_start(&h, w.a, NULL);
  tubo_process_t *wp = child_start(waiter_main, &w);
  holder_kill(&h, 1);
  child_join_ok(wp, "waited for the lock of a killed holder");
  ck_assert_msg(res[0] == TUBO_EPEER,
                "waiter's lock once the holder was killed: expected TUBO_EPEER, got %s (%d)",
                tubo_err_name(res[0]), res[0]);
  ck_assert_msg(res[1] == 0, "waiter's unlock after the takeover: expected 0, got %s",
                tubo_err_name(res[1]));
  holder_close_pipes(&h);
  lock_free_then_free(w.a, "by the parent after the waiter released it (no second TUBO_EPEER)");
  ck_assert_msg(tubo_array_free(w.results) == 0, "tubo_array_free: expected 0");
}
END_TEST

/* Freeing a handle while holding the lock releases it: a child forked before the free
 * can take it (it would wait for ever otherwise, since this process lives on). */
typedef struct after_free {
  tubo_array_t *a;
  int go[2];
} after_free_t;

static int after_free_main(void *arg)
{
  after_free_t *f = arg;
  char c;
  if (read(f->go[0], &c, 1) != 1)
    return 4;
  if (tubo_array_lock(f->a) != 0)
    return 2;
  return tubo_array_unlock(f->a) == 0 ? 0 : 3;
}

START_TEST(lock_released_by_free)
{
  after_free_t f;
  ck_assert_msg(tubo_array_create(TUBO_INT, 4, &f.a) == 0, "Array('i', 4): expected 0");
  ck_assert_msg(pipe(f.go) == 0, "pipe: expected 0");
  ck_assert_msg(tubo_array_lock(f.a) == 0, "lock: expected 0");
  tubo_process_t *p = child_start(after_free_main, &f);
  ck_assert_msg(tubo_array_free(f.a) == 0, "free while holding the lock: expected 0");
  char c = 'G';
  ck_assert_msg(write(f.go[1], &c, 1) == 1, "write to the child: expected 1 byte");
  int code = child_join(p);
  ck_assert_msg(code == 0,
                "child that locks after the holder freed its handle: expected exit code 0, got "
                "%d (2: lock failed, 3: unlock failed, 4: pipe failed)",
                code);
  close(f.go[0]);
  close(f.go[1]);
}
END_TEST

/* ---- Arguments and the header ---- */

START_TEST(bad_arguments)
{
  tubo_array_t *a = (tubo_array_t *)&a; /* not NULL, to see it cleared */
  static const struct {
    tubo_type_t type;
    size_t length;
    int want;
    const char *what;
  } cases[] = {
      {(tubo_type_t)'x', 4, TUBO_EINVAL, "unknown type 'x'"},
      {(tubo_type_t)0, 4, TUBO_EINVAL, "type 0"},
      {TUBO_INT, 0, TUBO_EINVAL, "length 0"},
      {TUBO_DOUBLE, SIZE_MAX, TUBO_ETOOBIG, "length SIZE_MAX"},
      {TUBO_DOUBLE, SIZE_MAX / sizeof(double) + 1, TUBO_ETOOBIG, "length * 8 past SIZE_MAX"},
      {TUBO_BYTE, (size_t)PTRDIFF_MAX, TUBO_ETOOBIG, "PTRDIFF_MAX bytes plus the header"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    a = (tubo_array_t *)&a;
    int rc = tubo_array_create(cases[i].type, cases[i].length, &a);
    ck_assert_msg(rc == cases[i].want && a == NULL,
                  "tubo_array_create with %s: expected %s and the handle set to NULL, got %s, %p",
                  cases[i].what, tubo_err_name(cases[i].want), tubo_err_name(rc), (void *)a);
  }
  int rc = tubo_array_create(TUBO_INT, 4, NULL);
  ck_assert_msg(rc == TUBO_EINVAL, "tubo_array_create(NULL handle): expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));
  tubo_value_t *v = (tubo_value_t *)&v;
  rc = tubo_value_create((tubo_type_t)'x', NULL, &v);
  ck_assert_msg(rc == TUBO_EINVAL && v == NULL,
                "tubo_value_create('x', NULL, &v): expected TUBO_EINVAL and NULL, got %s, %p",
                tubo_err_name(rc), (void *)v);
  rc = tubo_value_create(TUBO_INT, NULL, NULL);
  ck_assert_msg(rc == TUBO_EINVAL,
                "tubo_value_create(TUBO_INT, NULL, NULL handle): expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));

  size_t n = 0;
  ck_assert_msg(tubo_array_data(NULL) == NULL, "tubo_array_data(NULL): expected NULL");
  ck_assert_msg(tubo_value_data(NULL) == NULL, "tubo_value_data(NULL): expected NULL");
  const struct {
    int rc, want;
    const char *what;
  } nulls[] = {
      {tubo_array_length(NULL, &n), TUBO_EARRAY, "tubo_array_length(NULL, &n)"},
      {tubo_array_lock(NULL), TUBO_EARRAY, "tubo_array_lock(NULL)"},
      {tubo_array_unlock(NULL), TUBO_EARRAY, "tubo_array_unlock(NULL)"},
      {tubo_array_free(NULL), TUBO_EARRAY, "tubo_array_free(NULL)"},
      {tubo_value_lock(NULL), TUBO_EVALUE, "tubo_value_lock(NULL)"},
      {tubo_value_unlock(NULL), TUBO_EVALUE, "tubo_value_unlock(NULL)"},
      {tubo_value_free(NULL), TUBO_EVALUE, "tubo_value_free(NULL)"},
  };
  for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
    ck_assert_msg(nulls[i].rc == nulls[i].want, "%s: expected %s, got %s", nulls[i].what,
                  tubo_err_name(nulls[i].want), tubo_err_name(nulls[i].rc));
  ck_assert_msg(tubo_array_create(TUBO_INT, 4, &a) == 0, "Array('i', 4): expected 0");
  rc = tubo_array_length(a, NULL);
  ck_assert_msg(rc == TUBO_EINVAL, "tubo_array_length(a, NULL): expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));
  ck_assert_msg(tubo_array_free(a) == 0, "tubo_array_free: expected 0");

  /* Collective without tubo_init: there is no communicator yet. */
  rc = tubo_array_open(TUBO_COMM_WORLD, TUBO_INT, 4, &a);
  ck_assert_msg(rc == TUBO_ENOTINIT && a == NULL,
                "tubo_array_open before tubo_init: expected TUBO_ENOTINIT and NULL, got %s, %p",
                tubo_err_name(rc), (void *)a);
}
END_TEST

/* What a process reads from shared memory is checked against its handle: an overwritten
 * header makes the array unusable (NULL data, TUBO_ECORRUPT) instead of trusted. */
START_TEST(header_checked)
{
  for (int field = 0; field < 3; field++) {
    tubo_array_t *a = NULL;
    ck_assert_msg(tubo_array_create(TUBO_INT, 4, &a) == 0, "Array('i', 4): expected 0");
    tubo__array_head_t *h =
        (tubo__array_head_t *)((char *)tubo_array_data(a) - TUBO__ARRAY_DATA_OFF);
    const char *what = field == 0 ? "magic" : field == 1 ? "type" : "length";
    if (field == 0)
      atomic_store(&h->magic, 0);
    else if (field == 1)
      atomic_store(&h->type, TUBO_UINT); /* same size, another type */
    else
      atomic_store(&h->length, 5);
    ck_assert_msg(tubo_array_data(a) == NULL,
                  "data with the header's %s overwritten: expected NULL", what);
    int rc = tubo_array_lock(a);
    ck_assert_msg(rc == TUBO_ECORRUPT,
                  "lock with the header's %s overwritten: expected TUBO_ECORRUPT, got %s", what,
                  tubo_err_name(rc));
    rc = tubo_array_unlock(a);
    ck_assert_msg(rc == TUBO_ECORRUPT,
                  "unlock with the header's %s overwritten: expected TUBO_ECORRUPT, got %s", what,
                  tubo_err_name(rc));
    ck_assert_msg(tubo_array_free(a) == 0, "free: expected 0");
  }
}
END_TEST

/* ---- Arrays opened over a communicator (rank bodies, under tuborun) ---- */

#define SLOTS     8    /* each rank's slots */
#define RANK_ADDS 2000 /* each rank's additions to the shared counter */

static long slot_value(int rank, int k)
{
  return 1000L * rank + k + 1;
}

/* Each rank writes its own slots; after a barrier every rank sees all of them. A counter
 * opened as a Value counts every rank's additions under the lock. */
static void body_open(void)
{
  tubo_array_t *a = NULL;
  TH_OK(tubo_array_open(th_world, TUBO_LONG, (size_t)th_size * SLOTS, &a));
  size_t n = 0;
  TH_OK(tubo_array_length(a, &n));
  TH_EQ("opened array's length", n, (size_t)th_size * SLOTS);
  long *d = tubo_array_data(a);
  TH_CHECK(d != NULL, "opened array's data: expected the elements, got NULL");
  TH_CHECK((uintptr_t)d % _Alignof(long) == 0, "opened array's data %p: expected aligned",
           (void *)d);
  for (int k = 0; k < SLOTS; k++) /* nobody else writes them: still as opened */
    TH_EQ("own slot before writing (expected zero)", d[th_rank * SLOTS + k], 0);
  for (int k = 0; k < SLOTS; k++)
    d[th_rank * SLOTS + k] = slot_value(th_rank, k);

  tubo_value_t *count = NULL;
  TH_OK(tubo_value_open(th_world, TUBO_LLONG, NULL, &count));
  long long *c = tubo_value_data(count);
  TH_CHECK(c != NULL, "opened value: expected a pointer, got NULL");
  for (int i = 0; i < RANK_ADDS; i++) {
    TH_OK(tubo_value_lock(count));
    *c += 1;
    TH_OK(tubo_value_unlock(count));
  }

  TH_OK(tubo_barrier(th_world));
  /* Shared memory: what others wrote is there without the lock. (Across nodes the copies
   * agree under the lock only: body_open_locked.) */
  for (int r = 0; r < th_size && th_one_node(); r++)
    for (int k = 0; k < SLOTS; k++)
      if (d[r * SLOTS + k] != slot_value(r, k))
        th_fail(__FILE__, __LINE__, "slot %d of rank %d after the barrier: expected %ld, got %ld",
                k, r, slot_value(r, k), d[r * SLOTS + k]);
  TH_OK(tubo_value_lock(count));
  long long total = *c;
  TH_OK(tubo_value_unlock(count));
  TH_EQ("counter after every rank added under the lock", total, (long long)th_size * RANK_ADDS);
  /* Everyone has read before anyone lets go. */
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_value_free(count));
  TH_OK(tubo_array_free(a));

  /* Argument errors come before any communication. */
  a = (tubo_array_t *)&a;
  TH_EXPECT_RC(tubo_array_open(NULL, TUBO_INT, 4, &a), TUBO_ECOMM);
  TH_CHECK(a == NULL, "handle after a failed open: expected NULL");
  TH_EXPECT_RC(tubo_array_open(th_world, (tubo_type_t)'x', 4, &a), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_array_open(th_world, TUBO_INT, 0, &a), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_array_open(th_world, TUBO_INT, SIZE_MAX, &a), TUBO_ETOOBIG);
  TH_EXPECT_RC(tubo_array_open(th_world, TUBO_INT, 4, NULL), TUBO_EINVAL);
}

/* Under the lock, every rank sees what every rank wrote under it before: in shared memory,
 * and where rank 0 serves the array because the ranks share none (the pipe transport,
 * ranks on different nodes). The lock is recursive either way. */
static void body_open_locked(void)
{
  tubo_array_t *a = NULL;
  TH_OK(tubo_array_open(th_world, TUBO_LONG, (size_t)th_size * SLOTS, &a));
  long *d = tubo_array_data(a);
  TH_CHECK(d != NULL, "opened array's data: expected the elements, got NULL");
  tubo_value_t *count = NULL;
  TH_OK(tubo_value_open(th_world, TUBO_LLONG, NULL, &count));
  long long *c = tubo_value_data(count);
  TH_CHECK(c != NULL, "opened value: expected a pointer, got NULL");
  TH_OK(tubo_array_lock(a));
  TH_OK(tubo_array_lock(a)); /* again: recursive */
  for (int k = 0; k < SLOTS; k++) {
    TH_EQ("own slot before writing (expected zero)", d[th_rank * SLOTS + k], 0);
    d[th_rank * SLOTS + k] = slot_value(th_rank, k);
  }
  TH_OK(tubo_array_unlock(a));
  TH_OK(tubo_array_unlock(a));
  TH_EXPECT_RC(tubo_array_unlock(a), TUBO_EINVAL);
  for (int i = 0; i < RANK_ADDS; i++) {
    TH_OK(tubo_value_lock(count));
    *c += 1;
    TH_OK(tubo_value_unlock(count));
  }
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_array_lock(a));
  for (int r = 0; r < th_size; r++)
    for (int k = 0; k < SLOTS; k++)
      if (d[r * SLOTS + k] != slot_value(r, k))
        th_fail(__FILE__, __LINE__, "slot %d of rank %d under the lock: expected %ld, got %ld", k,
                r, slot_value(r, k), d[r * SLOTS + k]);
  TH_OK(tubo_array_unlock(a));
  TH_OK(tubo_value_lock(count));
  long long total = *c;
  TH_OK(tubo_value_unlock(count));
  TH_EQ("counter after every rank added under the lock", total, (long long)th_size * RANK_ADDS);
  TH_OK(tubo_barrier(th_world)); /* everyone has read before anyone lets go */
  TH_OK(tubo_value_free(count));
  TH_OK(tubo_array_free(a));
}

/* Two ranks open one array with different types of one size, or different lengths of
 * one page: one of them (whichever set the header first) gets it, the other TUBO_EINVAL. */
static void body_open_mismatch(void)
{
  static const struct {
    tubo_type_t type[2];
    size_t length[2];
    const char *what;
  } cases[] = {
      {{TUBO_INT, TUBO_UINT}, {16, 16}, "types 'i' and 'I'"},
      {{TUBO_INT, TUBO_INT}, {16, 17}, "lengths 16 and 17"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tubo_array_t *a = NULL;
    int rc = tubo_array_open(th_world, cases[i].type[th_rank], cases[i].length[th_rank], &a);
    TH_CHECK(rc == 0 || rc == TUBO_EINVAL, "open with %s: expected 0 or TUBO_EINVAL, got %s",
             cases[i].what, tubo_err_name(rc));
    if (th_rank == 1) {
      TH_OK(tubo_send(&rc, sizeof rc, 0, 0, th_world));
    } else {
      int other = 1;
      TH_OK(tubo_recv(&other, sizeof other, 1, 0, th_world, TUBO_STATUS_IGNORE));
      TH_CHECK((rc == 0) != (other == 0),
               "open with %s: expected one rank to get 0 and the other TUBO_EINVAL, got %s and "
               "%s",
               cases[i].what, tubo_err_name(rc), tubo_err_name(other));
    }
    if (a != NULL)
      TH_OK(tubo_array_free(a));
  }
}

/* tubo_value_open with a first value: every rank finds it as soon as its open returns,
 * without the lock (in its own copy, where rank 0 serves the value) and under it. */
static void body_open_init(void)
{
  const double init = 2.75;
  tubo_value_t *v = NULL;
  TH_OK(tubo_value_open(th_world, TUBO_DOUBLE, &init, &v));
  const double *d = tubo_value_data(v);
  TH_CHECK(d != NULL, "opened value: expected a pointer, got NULL");
  TH_CHECK(*d == init, "opened value as its open returned: expected %g, got %g", init, *d);
  TH_OK(tubo_value_lock(v));
  TH_CHECK(*d == init, "opened value under the lock: expected %g, got %g", init, *d);
  TH_OK(tubo_value_unlock(v));
  TH_OK(tubo_barrier(th_world)); /* everyone has read before anyone lets go */
  TH_OK(tubo_value_free(v));
}

static const th_body_t bodies[] = {
    {"open", body_open, 0},
    {"open_init", body_open_init, 0},
    {"open_locked", body_open_locked, 0},
    {"open_mismatch", body_open_mismatch, 0},
    {NULL, NULL, 0},
};

static Suite *shared_suite(void)
{
  Suite *s = suite_create("shared");
  TCase *tc = th_tcase("local");
  tcase_add_test(tc, type_sizes);
  tcase_add_test(tc, zeroed_aligned_shared);
  tcase_add_test(tc, value_initial);
  tcase_add_test(tc, seed_squares);
  tcase_add_test(tc, seed_negate);
  tcase_add_test(tc, bad_arguments);
  tcase_add_test(tc, header_checked);
  suite_add_tcase(s, tc);
  tc = th_tcase("lock");
  tcase_add_test(tc, lock_counter);
  tcase_add_test(tc, lock_recursive_and_unheld);
  tcase_add_test(tc, lock_holder_killed);
  tcase_add_test(tc, lock_holder_zombie);
  tcase_add_test(tc, lock_holder_killed_while_waited);
  tcase_add_test(tc, lock_released_by_free);
  suite_add_tcase(s, tc);
  /* More ranks than the machine's 2 cores, so that holders are preempted. */
  tc = th_add_case(s, "open", 4, TH_SHM);
  th_add_job(tc, "open", 1, TH_SOLO | TH_SHM);
  th_add_case(s, "open_locked", 4, TH_BOTH);
  th_add_case(s, "open_init", 4, TH_BOTH);
  th_add_case(s, "open_mismatch", 2, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, shared_suite);
}
