/* SPDX-License-Identifier: MIT */
/* The shared list (tubo_list_*): Python's list semantics in one process; processes that
 * append, set and pop at once, every item accounted for; readers that see items whole;
 * a process killed (SIGKILL) at each step of a write while it holds the lock; ranks under
 * tuborun, in shared memory and served by rank 0 over the pipe transport. */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "heap/heap.h"
#include "patterns/list.h"
#include "patterns/objheap.h"

static tubo_list_t *new_list(void)
{
  tubo_list_t *l = NULL;
  TH_CK_OK(tubo_list_create(&l));
  return l;
}

static uint64_t heap_blocks(void)
{
  tubo__heap_stats_t st;
  tubo__heap_stats(tubo__objheap_process_heap(), &st);
  return st.blocks;
}

/* The list's items as longs, into out (room for max); returns how many. */
static size_t list_longs(tubo_list_t *l, long *out, size_t max)
{
  tubo_item_t *items = NULL;
  size_t n = 0;
  TH_CK_OK(tubo_list_snapshot(l, &items, &n));
  for (size_t i = 0; i < n && i < max; i++) {
    ck_assert_msg(items[i].len == sizeof(long), "item %zu: expected a long, got %zu bytes", i,
                  items[i].len);
    memcpy(&out[i], items[i].data, sizeof(long));
  }
  free(items);
  return n;
}

static void expect_longs(tubo_list_t *l, const long *want, size_t n, const char *what)
{
  long got[64];
  size_t k = list_longs(l, got, 64);
  ck_assert_msg(k == n, "%s: expected %zu items, got %zu", what, n, k);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(got[i] == want[i], "%s: item %zu: expected %ld, got %ld", what, i, want[i],
                  got[i]);
}

START_TEST(test_python_semantics)
{
  tubo_list_t *l = new_list();
  uint64_t base = heap_blocks();
  long v, items[8];
  size_t n = 99, len = 0;
  TH_CK_OK(tubo_list_len(l, &n));
  ck_assert_msg(n == 0, "len of a new list: expected 0, got %zu", n);
  TH_CK_RC(tubo_list_get(l, 0, &v, sizeof v, NULL), TUBO_EINDEX);
  TH_CK_RC(tubo_list_pop(l, -1, &v, sizeof v, NULL), TUBO_EINDEX);
  for (long i = 0; i < 5; i++)
    TH_CK_OK(tubo_list_append(l, &i, sizeof i));
  expect_longs(l, (long[]){0, 1, 2, 3, 4}, 5, "appended 0..4");
  TH_CK_OK(tubo_list_get(l, -1, &v, sizeof v, &len));
  ck_assert_msg(v == 4 && len == sizeof v, "l[-1]: expected 4, got %ld", v);
  TH_CK_OK(tubo_list_get(l, -5, &v, sizeof v, NULL));
  ck_assert_msg(v == 0, "l[-5]: expected 0, got %ld", v);
  TH_CK_RC(tubo_list_get(l, 5, &v, sizeof v, NULL), TUBO_EINDEX);
  TH_CK_RC(tubo_list_get(l, -6, &v, sizeof v, NULL), TUBO_EINDEX);
  v = 10;
  TH_CK_OK(tubo_list_set(l, 1, &v, sizeof v));
  v = 11;
  TH_CK_OK(tubo_list_set(l, -1, &v, sizeof v));
  TH_CK_RC(tubo_list_set(l, 7, &v, sizeof v), TUBO_EINDEX);
  v = 20;
  TH_CK_OK(tubo_list_insert(l, 0, &v, sizeof v));
  v = 21;
  TH_CK_OK(tubo_list_insert(l, 100, &v, sizeof v)); /* past the end: appends */
  v = 22;
  TH_CK_OK(tubo_list_insert(l, -2, &v, sizeof v));
  v = 23;
  TH_CK_OK(tubo_list_insert(l, -100, &v, sizeof v)); /* before the start: first */
  expect_longs(l, (long[]){23, 20, 0, 10, 2, 3, 22, 11, 21}, 9, "after sets and inserts");
  TH_CK_OK(tubo_list_pop(l, -1, &v, sizeof v, &len));
  ck_assert_msg(v == 21, "pop(): expected 21, got %ld", v);
  TH_CK_OK(tubo_list_pop(l, 0, &v, sizeof v, NULL));
  ck_assert_msg(v == 23, "pop(0): expected 23, got %ld", v);
  TH_CK_OK(tubo_list_pop(l, 3, &v, sizeof v, NULL));
  ck_assert_msg(v == 2, "pop(3): expected 2, got %ld", v);
  expect_longs(l, (long[]){20, 0, 10, 3, 22, 11}, 6, "after pops");
  tubo_item_t more[3] = {{&(long){7}, sizeof(long)}, {&(long){8}, sizeof(long)}, {NULL, 0}};
  TH_CK_OK(tubo_list_extend(l, more, 2));
  TH_CK_OK(tubo_list_extend(l, more + 2, 1)); /* an empty item */
  TH_CK_OK(tubo_list_get(l, -1, NULL, 0, &len));
  ck_assert_msg(len == 0, "an empty item: expected length 0, got %zu", len);
  char small[3];
  long big = 0x1122334455667788;
  TH_CK_OK(tubo_list_set(l, 0, &big, sizeof big));
  TH_CK_RC(tubo_list_get(l, 0, small, sizeof small, &len), TUBO_ETRUNC);
  ck_assert_msg(len == sizeof big && memcmp(small, &big, 3) == 0, "truncated get: first 3 bytes");
  TH_CK_RC(tubo_list_pop(l, 0, small, sizeof small, &len), TUBO_ETRUNC);
  TH_CK_OK(tubo_list_len(l, &n));
  ck_assert_msg(n == 8, "len after a truncated pop (the item is gone): expected 8, got %zu", n);
  while (n-- > 0)
    TH_CK_OK(tubo_list_pop(l, 0, items, sizeof items, NULL));
  ck_assert_msg(heap_blocks() == base, "blocks after popping every item: expected %llu, got %llu",
                (unsigned long long)base, (unsigned long long)heap_blocks());
  TH_CK_OK(tubo_list_free(l));
  ck_assert_msg(heap_blocks() == 0, "blocks after free: expected 0, got %llu",
                (unsigned long long)heap_blocks());
}
END_TEST

/* Large items and many of them: the vector grows, items of 0 B to 1 MiB come back whole. */
START_TEST(test_sizes_and_growth)
{
  tubo_list_t *l = new_list();
  unsigned char *buf = malloc(1 << 20), *got = malloc(1 << 20);
  static const size_t sizes[] = {0, 1, 100, 4096, 65536, 100000, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    th_fill(buf, sizes[i], (uint32_t)i);
    TH_CK_OK(tubo_list_append(l, buf, sizes[i]));
  }
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t len = 0;
    TH_CK_OK(tubo_list_get(l, (ptrdiff_t)i, got, 1 << 20, &len));
    th_fill(buf, sizes[i], (uint32_t)i);
    ck_assert_msg(len == sizes[i] && memcmp(got, buf, len) == 0, "item %zu: expected %zu bytes", i,
                  sizes[i]);
  }
  /* A snapshot holds every item whole, each starting 16-byte aligned whatever the lengths
   * before it, so that an item holding a C struct is read through a pointer to it. */
  tubo_item_t *items = NULL;
  size_t n = 0;
  TH_CK_OK(tubo_list_snapshot(l, &items, &n));
  ck_assert_msg(n == sizeof sizes / sizeof sizes[0], "snapshot: expected %zu items, got %zu",
                sizeof sizes / sizeof sizes[0], n);
  for (size_t i = 0; i < n; i++) {
    th_fill(buf, sizes[i], (uint32_t)i);
    ck_assert_msg(
        items[i].len == sizes[i] && (uintptr_t)items[i].data % 16 == 0 &&
            (sizes[i] == 0 || memcmp(items[i].data, buf, sizes[i]) == 0),
        "snapshot item %zu: expected %zu bytes at a 16-byte aligned address, got %zu at %p", i,
        sizes[i], items[i].len, items[i].data);
  }
  free(items);
  for (long i = 0; i < 100000; i++)
    TH_CK_OK(tubo_list_append(l, &i, sizeof i));
  TH_CK_OK(tubo_list_len(l, &n));
  ck_assert_msg(n == 100007, "len: expected 100007, got %zu", n);
  long v = 0;
  TH_CK_OK(tubo_list_get(l, -1, &v, sizeof v, NULL));
  ck_assert_msg(v == 99999, "l[-1]: expected 99999, got %ld", v);
  free(buf);
  free(got);
  TH_CK_OK(tubo_list_free(l));
}
END_TEST

/* Processes appending at once: every item once, each process's in its order. */
#define APP_PROCS 4
#define APP_ITEMS 3000

START_TEST(test_appenders)
{
  tubo_list_t *l = new_list();
  pid_t kids[APP_PROCS];
  for (int p = 0; p < APP_PROCS; p++)
    if ((kids[p] = th_child_fork()) == 0) {
      for (long i = 0; i < APP_ITEMS; i++) {
        long v = p * 1000000L + i;
        if (i % 100 == 99) {
          tubo_item_t two[2] = {{&v, sizeof v}, {&(long){v + 500000}, sizeof v}};
          if (tubo_list_extend(l, two, 2) != 0)
            _exit(2);
        } else if (tubo_list_append(l, &v, sizeof v) != 0)
          _exit(2);
      }
      _exit(0);
    }
  for (int p = 0; p < APP_PROCS; p++) {
    int code = th_child_wait(kids[p]);
    ck_assert_msg(code == 0, "appender %d: expected exit code 0, got %d", p, code);
  }
  tubo_item_t *items = NULL;
  size_t n = 0;
  TH_CK_OK(tubo_list_snapshot(l, &items, &n));
  size_t want = APP_PROCS * (APP_ITEMS + APP_ITEMS / 100);
  ck_assert_msg(n == want, "items: expected %zu, got %zu", want, n);
  long next[APP_PROCS] = {0};
  for (size_t i = 0; i < n; i++) {
    long v;
    memcpy(&v, items[i].data, sizeof v);
    int p = (int)(v / 1000000L);
    long k = v % 1000000L;
    if (k >= 500000) {
      /* extend's second item: right after its first */
      long prev;
      memcpy(&prev, items[i - 1].data, sizeof prev);
      ck_assert_msg(prev == v - 500000, "extend's items: expected together, got %ld then %ld", prev,
                    v);
      continue;
    }
    ck_assert_msg(p >= 0 && p < APP_PROCS && k == next[p],
                  "process %d's item: expected %ld (in order), got %ld", p, next[p], k);
    next[p]++;
  }
  free(items);
  TH_CK_OK(tubo_list_free(l));
}
END_TEST

/* A process pops while others append: every item is popped or left, once. */
START_TEST(test_pop_and_append)
{
  tubo_list_t *l = new_list();
  for (long i = 0; i < 2000; i++)
    TH_CK_OK(tubo_list_append(l, &i, sizeof i));
  pid_t popper = th_child_fork();
  if (popper == 0) {
    long sum = 0, v;
    for (int i = 0; i < 1500; i++) {
      if (tubo_list_pop(l, i % 3 == 0 ? 0 : -1, &v, sizeof v, NULL) != 0)
        _exit(2);
      sum += v;
    }
    v = sum; /* reports its sum as an item */
    _exit(tubo_list_append(l, &v, sizeof v) == 0 ? 0 : 3);
  }
  for (long i = 2000; i < 3000; i++)
    TH_CK_OK(tubo_list_append(l, &i, sizeof i));
  ck_assert_msg(th_child_wait(popper) == 0, "popper: expected exit code 0");
  tubo_item_t *items = NULL;
  size_t n = 0;
  TH_CK_OK(tubo_list_snapshot(l, &items, &n));
  long sum = 0;
  for (size_t i = 0; i < n; i++) {
    long v;
    memcpy(&v, items[i].data, sizeof v);
    sum += v;
  }
  free(items);
  ck_assert_msg(n == 1501, "items left: expected 1501, got %zu", n);
  ck_assert_msg(
      sum == 2999L * 3000 / 2,
      "items left and the popper's sum: expected 0+...+2999 = %ld (each item once), got %ld",
      2999L * 3000 / 2, sum);
  TH_CK_OK(tubo_list_free(l));
}
END_TEST

/* Readers see every item whole while a writer keeps replacing it. */
static int whole_reader(tubo_list_t *l)
{
  unsigned char buf[4096];
  for (;;) {
    size_t len = 0;
    if (tubo_list_get(l, 0, buf, sizeof buf, &len) != 0)
      return 2;
    uint32_t seed;
    memcpy(&seed, buf, 4);
    unsigned char want[4096];
    th_fill(want, len, seed);
    memcpy(want, &seed, 4);
    if (len != 8 + seed % 4000 || memcmp(want, buf, len) != 0)
      return 3;
    if (seed == 9999)
      return 0;
  }
}

START_TEST(test_readers_see_whole_items)
{
  tubo_list_t *l = new_list();
  unsigned char buf[4096];
  uint32_t seed = 0;
  th_fill(buf, 8, seed);
  memcpy(buf, &seed, 4);
  TH_CK_OK(tubo_list_append(l, buf, 8));
  pid_t r = th_child_fork();
  if (r == 0)
    _exit(whole_reader(l));
  for (seed = 1; seed < 10000; seed++) {
    size_t len = 8 + seed % 4000;
    th_fill(buf, len, seed);
    memcpy(buf, &seed, 4);
    if (seed % 3 == 0) {
      TH_CK_OK(tubo_list_insert(l, 0, buf, len));                /* a new vector */
      TH_CK_RC(tubo_list_pop(l, 1, NULL, 0, NULL), TUBO_ETRUNC); /* popped, not copied */
    } else {
      TH_CK_OK(tubo_list_set(l, 0, buf, len));
    }
  }
  ck_assert_msg(th_child_wait(r) == 0, "reader: expected exit code 0 (every item whole)");
  TH_CK_OK(tubo_list_free(l));
}
END_TEST

/* ---- Killed holding the lock ---- */

static enum tubo__list_step kill_at;
static int kill_after; /* occurrences of the step to let pass first */

static void kill_hook(enum tubo__list_step step)
{
  if (step == kill_at && kill_after-- == 0)
    kill(getpid(), SIGKILL);
}

static void op_append(tubo_list_t *l)
{
  long v = 100;
  tubo_list_append(l, &v, sizeof v);
}

static void op_append_grow(tubo_list_t *l)
{
  for (long v = 100; v < 200; v++)
    tubo_list_append(l, &v, sizeof v);
}

static void op_set(tubo_list_t *l)
{
  long v = 100;
  tubo_list_set(l, 2, &v, sizeof v);
}

static void op_insert(tubo_list_t *l)
{
  long v = 100;
  tubo_list_insert(l, 1, &v, sizeof v);
}

static void op_pop_last(tubo_list_t *l)
{
  tubo_list_pop(l, -1, NULL, 0, NULL);
}

static void op_pop_first(tubo_list_t *l)
{
  tubo_list_pop(l, 0, NULL, 0, NULL);
}

START_TEST(test_killed_writers)
{
  static const struct {
    void (*op)(tubo_list_t *);
    const char *name;
    int skip; /* the fourth append of append_grow grows the vector */
  } ops[] = {{op_append, "append", 0},     {op_append_grow, "append growing", 3},
             {op_set, "set", 0},           {op_insert, "insert", 0},
             {op_pop_last, "pop last", 0}, {op_pop_first, "pop first", 0}};
  for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
    for (int step = TUBO__LIST_S_LOCKED; step < TUBO__LIST_S_END; step++) {
      tubo_list_t *l = new_list();
      for (long i = 0; i < 5; i++)
        TH_CK_OK(tubo_list_append(l, &i, sizeof i));
      pid_t pid = th_child_fork();
      if (pid == 0) {
        kill_at = (enum tubo__list_step)step;
        kill_after = ops[o].skip;
        tubo__list_step_hook = kill_hook;
        ops[o].op(l);
        _exit(0);
      }
      int code = th_child_wait(pid);
      ck_assert_msg(code == -SIGKILL, "%s killed at step %d: expected SIGKILL, got %d", ops[o].name,
                    step, code);
      /* The next writer takes the lock over and repairs; the list is whole. */
      long v = 7;
      TH_CK_OK(tubo_list_append(l, &v, sizeof v));
      long got[64];
      size_t n = list_longs(l, got, 64);
      ck_assert_msg(n >= 5 && n <= 9, "%s killed at step %d: expected 5 to 9 items, got %zu",
                    ops[o].name, step, n);
      ck_assert_msg(got[n - 1] == 7, "%s killed at step %d: expected the last append last",
                    ops[o].name, step);
      ck_assert_msg(heap_blocks() == 2 + n,
                    "%s killed at step %d: heap blocks: expected %zu (no leak), got %llu",
                    ops[o].name, step, 2 + n, (unsigned long long)heap_blocks());
      TH_CK_OK(tubo_list_free(l));
    }
}
END_TEST

/* ---- Ranks ---- */

static void body_open(void)
{
  tubo_list_t *l = NULL;
  TH_OK(tubo_list_open(th_world, &l));
  for (long i = 0; i < 100; i++) {
    long v = th_rank * 1000 + i;
    TH_OK(tubo_list_append(l, &v, sizeof v));
  }
  TH_OK(tubo_barrier(th_world));
  size_t n = 0;
  TH_OK(tubo_list_len(l, &n));
  TH_EQ("items after every rank appended 100", n, 100 * th_size);
  tubo_item_t *items = NULL;
  TH_OK(tubo_list_snapshot(l, &items, &n));
  long next[64] = {0};
  for (size_t i = 0; i < n; i++) {
    long v;
    memcpy(&v, items[i].data, sizeof v);
    TH_EQ("a rank's items in its order", v % 1000, next[v / 1000]);
    next[v / 1000]++;
  }
  free(items);
  TH_OK(tubo_barrier(th_world));
  if (th_rank == 0) {
    long v = -1;
    TH_OK(tubo_list_insert(l, 0, &v, sizeof v));
    TH_OK(tubo_list_set(l, 1, &v, sizeof v));
  }
  TH_OK(tubo_barrier(th_world));
  long v = 0;
  TH_OK(tubo_list_get(l, 1, &v, sizeof v, NULL));
  TH_EQ("l[1] set by rank 0", v, -1);
  TH_EXPECT_RC(tubo_list_get(l, 100000, &v, sizeof v, NULL), TUBO_EINDEX);
  TH_OK(tubo_barrier(th_world));
  /* Every rank pops 50: none twice. */
  long sum = 0;
  for (int i = 0; i < 50; i++) {
    TH_OK(tubo_list_pop(l, -1, &v, sizeof v, NULL));
    sum += v;
  }
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_list_len(l, &n));
  TH_EQ("items after every rank popped 50", n, 1 + 50 * th_size);
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_list_free(l));
}

static const th_body_t bodies[] = {
    {"open", body_open, 0},
    {NULL, NULL, 0},
};

static Suite *list_suite(void)
{
  Suite *s = suite_create("list");
  TCase *tc = th_tcase("one process");
  tcase_add_test(tc, test_python_semantics);
  tcase_add_test(tc, test_sizes_and_growth);
  suite_add_tcase(s, tc);

  tc = th_tcase("processes");
  tcase_add_test(tc, test_appenders);
  tcase_add_test(tc, test_pop_and_append);
  tcase_add_test(tc, test_readers_see_whole_items);
  tcase_add_test(tc, test_killed_writers);
  suite_add_tcase(s, tc);

  th_add_case(s, "open", 3, TH_BOTH | TH_SOLO);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, list_suite);
}
