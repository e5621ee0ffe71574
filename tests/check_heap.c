/* SPDX-License-Identifier: MIT */
/* The shared heap (lib/heap/heap.h).
 *
 * Heaps of their own (a memfd) are shared by processes this suite forks: workers that
 * allocate and free at random, hand blocks to each other, fill every block with a pattern
 * and check it before freeing; processes killed with SIGKILL at each step of an
 * allocation or a free, and at random, while others go on; headers overwritten on
 * purpose. The job's heap is checked under tuborun: ranks free each other's blocks, and
 * pattern objects opened over and over in a heap too small to hold them all without
 * reuse. Children report on stderr and through their exit code; the parent asserts. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "heap/heap.h"
#include "heap/heap_shared.h"
#include "patterns/array.h"
#include "world.h"

/* ---- Helpers ---- */

/* ck_assert_msg, which costs Check a message to its parent only when it fails: Check's
 * own records every passing assertion, and the loops below make many. */
#define EXPECT(cond, ...)        \
  do {                           \
    if (!(cond))                 \
      ck_abort_msg(__VA_ARGS__); \
  } while (0)

static uint64_t rng_next(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static uint64_t mix(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

/* Fills n bytes at p with the pattern of seed. */
static void pat_fill(unsigned char *p, size_t n, uint64_t seed)
{
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = mix(seed + i);
    memcpy(p + i, &v, n - i < 8 ? n - i : 8);
  }
}

/* The first byte of [p, p + n) that differs from seed's pattern, or n. */
static size_t pat_check(const unsigned char *p, size_t n, uint64_t seed)
{
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = mix(seed + i);
    size_t k = n - i < 8 ? n - i : 8;
    if (memcmp(p + i, &v, k) != 0)
      for (size_t j = 0; j < k; j++)
        if (p[i + j] != ((unsigned char *)&v)[j])
          return i + j;
  }
  return n;
}

/* A block that describes itself: its size and seed in its first 16 bytes, then the
 * pattern of the seed. */
static void blk_write(tubo__heap_t *h, uint64_t off, size_t size, uint64_t seed)
{
  unsigned char *p = tubo__heap_at(h, off, size);
  uint64_t head[2] = {size, seed};
  memcpy(p, head, sizeof head);
  pat_fill(p + 16, size - 16, seed);
}

/* Checks a block written by blk_write: NULL if it is intact, else what is wrong. */
static const char *blk_verify(tubo__heap_t *h, uint64_t off, size_t want_size, char *why,
                              size_t cap)
{
  size_t usable = 0;
  int rc = tubo__heap_usable(h, off, &usable);
  if (rc != 0) {
    snprintf(why, cap, "block %#llx: usable: expected 0, got %s", (unsigned long long)off,
             tubo_err_name(rc));
    return why;
  }
  unsigned char *p = tubo__heap_at(h, off, 16);
  uint64_t head[2];
  memcpy(head, p, sizeof head);
  if (head[0] < 16 || head[0] > usable || (want_size && head[0] != want_size)) {
    snprintf(why, cap, "block %#llx: size %llu recorded, expected %zu (usable %zu)",
             (unsigned long long)off, (unsigned long long)head[0], want_size, usable);
    return why;
  }
  size_t bad = pat_check(p + 16, (size_t)head[0] - 16, head[1]);
  if (bad != (size_t)head[0] - 16) {
    snprintf(why, cap, "block %#llx of %llu bytes: expected its pattern, byte %zu differs",
             (unsigned long long)off, (unsigned long long)head[0], bad + 16);
    return why;
  }
  return NULL;
}

/* A random size: mostly small, some of every class up to a few page runs. */
static size_t pick_size(uint64_t *rng)
{
  uint64_t r = rng_next(rng) % 100, v = rng_next(rng);
  if (r < 60)
    return 16 + v % 240;
  if (r < 90)
    return 256 + v % (16u << 10);
  if (r < 98)
    return (16u << 10) + v % (48u << 10);
  return (64u << 10) + v % (192u << 10);
}

/* The heap the test's processes share, made in the parent before any fork. */
static tubo__heap_own_t heap_own;
static tubo__heap_t *H;

static void heap_make(uint64_t bytes)
{
  int rc = tubo__heap_own_create(bytes, &heap_own);
  EXPECT(rc == 0, "tubo__heap_own_create(%llu): expected 0, got %s", (unsigned long long)bytes,
         tubo_err_name(rc));
  H = &heap_own.heap;
}

static void heap_done(void)
{
  tubo__heap_own_destroy(&heap_own);
  H = NULL;
}

static void *shared_area(size_t bytes)
{
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  EXPECT(p != MAP_FAILED, "mmap of %zu shared bytes: expected memory", bytes);
  return p;
}

/* Waits for pid; returns its wait status. */
static int wait_for(pid_t pid)
{
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
    ;
  return ws;
}

static void expect_exit0(pid_t pid, const char *what)
{
  int ws = wait_for(pid);
  EXPECT(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
         "%s: expected exit code 0, got %s %d (its message is above)", what,
         WIFEXITED(ws) ? "exit code" : "signal", WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
}

/* In a child: reports a failure and exits 1 (without the parent's exit handlers). */
static void child_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void child_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "child %d: ", (int)getpid());
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  _exit(1);
}

/* Allocates size bytes or fails the test. */
static uint64_t must_alloc(size_t size, unsigned flags)
{
  uint64_t off = 0;
  int rc = tubo__heap_alloc(H, size, flags, &off);
  EXPECT(rc == 0, "alloc(%zu): expected 0, got %s", size, tubo_err_name(rc));
  return off;
}

static void must_free(uint64_t off)
{
  int rc = tubo__heap_free(H, off);
  EXPECT(rc == 0, "free(%#llx): expected 0, got %s", (unsigned long long)off, tubo_err_name(rc));
}

static void expect_empty_and_sound(void)
{
  tubo__heap_stats_t st;
  tubo__heap_stats(H, &st);
  EXPECT(st.blocks == 0 && st.in_use == 0,
         "stats after freeing everything: expected 0 blocks, 0 bytes, got %llu, %llu",
         (unsigned long long)st.blocks, (unsigned long long)st.in_use);
  int rc = tubo__heap_check(H);
  EXPECT(rc == 0, "tubo__heap_check: expected 0, got %s", tubo_err_name(rc));
}

/* ---- One process ---- */

START_TEST(sizes_alignment_bounds)
{
  heap_make((uint64_t)64 << 20);
  static const size_t sizes[] = {
      1,    15,   16,    17,    96,    97,     112,     113,           500,    512,
      4096, 5000, 65520, 65521, 65536, 100000, 1 << 20, (1 << 20) + 1, 3 << 20};
  uint64_t offs[sizeof sizes / sizeof sizes[0]];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    uint64_t off = offs[i] = must_alloc(n, 0);
    size_t usable = 0;
    int rc = tubo__heap_usable(H, off, &usable);
    EXPECT(rc == 0 && usable >= n, "usable(%zu-byte block): expected >= %zu, got %zu (%s)", n, n,
           usable, tubo_err_name(rc));
    size_t align = n > 65520 ? (size_t)sysconf(_SC_PAGESIZE) : n >= 112 ? 64 : 16;
    EXPECT(off % align == 0, "block of %zu bytes at %#llx: expected %zu-byte alignment", n,
           (unsigned long long)off, align);
    unsigned char *p = tubo__heap_at(H, off, usable);
    EXPECT(p != NULL, "at(off, usable) of a %zu-byte block: expected an address", n);
    /* Fresh memory reads as zeros. */
    for (size_t j = 0; j < n; j += 509)
      EXPECT(p[j] == 0, "fresh %zu-byte block: expected zeros, byte %zu is %d", n, j, p[j]);
    pat_fill(p, usable, off);
  }
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t usable = 0;
    tubo__heap_usable(H, offs[i], &usable);
    size_t bad = pat_check(tubo__heap_at(H, offs[i], usable), usable, offs[i]);
    EXPECT(bad == usable, "block %zu (%zu bytes): expected its pattern, byte %zu differs", i,
           sizes[i], bad);
  }
  tubo__heap_stats_t st;
  tubo__heap_stats(H, &st);
  EXPECT(st.blocks == sizeof sizes / sizeof sizes[0], "stats: expected %zu blocks, got %llu",
         sizeof sizes / sizeof sizes[0], (unsigned long long)st.blocks);
  EXPECT(st.in_use >= (4u << 20) && st.in_use <= st.carved && st.carved <= st.bytes,
         "stats: expected 4 MiB <= in use (%llu) <= carved (%llu) <= bytes (%llu)",
         (unsigned long long)st.in_use, (unsigned long long)st.carved,
         (unsigned long long)st.bytes);
  /* at() refuses what is outside the region. */
  EXPECT(tubo__heap_at(H, 0, 1) == NULL, "at(0, 1): expected NULL (the header)");
  EXPECT(tubo__heap_at(H, st.bytes - 8, 16) == NULL, "at(end - 8, 16): expected NULL");
  EXPECT(tubo__heap_at(H, UINT64_MAX - 4, 8) == NULL, "at(huge, 8): expected NULL");
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    must_free(offs[i]);
  expect_empty_and_sound();
  uint64_t off;
  int rc = tubo__heap_alloc(H, 0, 0, &off);
  EXPECT(rc == TUBO_EINVAL, "alloc(0): expected TUBO_EINVAL, got %s", tubo_err_name(rc));
  rc = tubo__heap_alloc(H, (size_t)1 << 41, 0, &off);
  EXPECT(rc == TUBO_ETOOBIG, "alloc(2 TiB): expected TUBO_ETOOBIG, got %s", tubo_err_name(rc));
  rc = tubo__heap_alloc(H, (size_t)65 << 20, 0, &off);
  EXPECT(rc == TUBO_ESHM, "alloc(65 MiB) from 64 MiB: expected TUBO_ESHM, got %s",
         tubo_err_name(rc));
  heap_done();
}
END_TEST

START_TEST(reuse_after_free)
{
  heap_make((uint64_t)16 << 20);
  /* The same class gives the block back: the last freed first. */
  uint64_t a = must_alloc(100, 0), b = must_alloc(100, 0);
  pat_fill(tubo__heap_at(H, a, 100), 100, 7);
  must_free(a);
  uint64_t c = must_alloc(97, TUBO__HEAP_ZERO);
  EXPECT(c == a, "alloc after free in the same class: expected %#llx again, got %#llx",
         (unsigned long long)a, (unsigned long long)c);
  unsigned char *p = tubo__heap_at(H, c, 97);
  for (size_t i = 0; i < 97; i++)
    EXPECT(p[i] == 0, "reused block with TUBO__HEAP_ZERO: expected zeros, byte %zu is %d", i, p[i]);
  must_free(b);
  must_free(c);
  /* A heap far smaller than what is allocated in all: only reuse lets this finish. */
  tubo__heap_stats_t st;
  tubo__heap_stats(H, &st);
  uint64_t total = 0;
  uint64_t rng = 99;
  for (int i = 0; total < 8 * st.bytes; i++) {
    size_t n = pick_size(&rng) * 4;
    uint64_t off = must_alloc(n, 0);
    total += n;
    must_free(off);
  }
  expect_empty_and_sound();
  /* Fill the heap, free everything, fill it again. */
  uint64_t *offs = th_malloc(sizeof *offs * 100000);
  int n = 0, m = 0;
  for (; n < 100000; n++)
    if (tubo__heap_alloc(H, 1000, 0, &offs[n]) != 0)
      break;
  EXPECT(n > 100 && n < 100000,
         "filling 16 MiB with 1000-byte blocks: expected TUBO_ESHM "
         "after a few thousand, got %d blocks",
         n);
  for (int i = 0; i < n; i++)
    must_free(offs[i]);
  for (; m < 100000; m++)
    if (tubo__heap_alloc(H, 1000, 0, &offs[m]) != 0)
      break;
  EXPECT(m >= n, "refilling after freeing all: expected at least %d blocks again, got %d", n, m);
  for (int i = 0; i < m; i++)
    must_free(offs[i]);
  free(offs);
  expect_empty_and_sound();
  heap_done();
}
END_TEST

START_TEST(runs_give_pages_back)
{
  heap_make((uint64_t)64 << 20);
  tubo__heap_stats_t before, held, after;
  tubo__heap_stats(H, &before);
  uint64_t off = must_alloc(4u << 20, 0);
  pat_fill(tubo__heap_at(H, off, 4u << 20), 4u << 20, 3);
  tubo__heap_stats(H, &held);
  EXPECT(held.reserved >= before.reserved + (4u << 20),
         "a 4 MiB run: expected reserved to grow by 4 MiB, from %llu to %llu",
         (unsigned long long)before.reserved, (unsigned long long)held.reserved);
  must_free(off);
  tubo__heap_stats(H, &after);
  EXPECT(after.reserved + (4u << 20) <= held.reserved,
         "a freed 4 MiB run: expected its pages given back, reserved %llu then %llu",
         (unsigned long long)held.reserved, (unsigned long long)after.reserved);
  /* Reused: its pages were given back, so it reads as zeros without being cleared. */
  uint64_t again = must_alloc(4u << 20, 0);
  EXPECT(again == off, "the same run size again: expected the freed run %#llx, got %#llx",
         (unsigned long long)off, (unsigned long long)again);
  const unsigned char *p = tubo__heap_at(H, again, 4u << 20);
  for (size_t i = 0; i < (4u << 20); i += 4093)
    EXPECT(p[i] == 0, "a run reused after its pages went: expected zeros, byte %zu is %d", i, p[i]);
  /* Its class reuses runs now: the next free keeps the pages for the next allocation. */
  must_free(again);
  tubo__heap_stats(H, &after);
  EXPECT(after.reserved >= held.reserved,
         "a run freed in a class that reuses runs: expected its pages kept, reserved %llu "
         "then %llu",
         (unsigned long long)held.reserved, (unsigned long long)after.reserved);
  expect_empty_and_sound();
  heap_done();
}
END_TEST

START_TEST(bad_frees)
{
  heap_make((uint64_t)16 << 20);
  uint64_t a = must_alloc(200, 0), r = must_alloc(100000, 0);
  tubo__heap_stats_t st;
  tubo__heap_stats(H, &st);
  struct {
    uint64_t off;
    int want;
    const char *what;
  } cases[] = {
      {0, TUBO_EINVAL, "offset 0 (the header)"},
      {16, TUBO_EINVAL, "an offset inside the header"},
      {a + 8, TUBO_EINVAL, "a misaligned offset"},
      {st.bytes, TUBO_EINVAL, "the region's end"},
      {st.bytes + 4096, TUBO_EINVAL, "past the region"},
      {UINT64_MAX & ~(uint64_t)15, TUBO_EINVAL, "a huge offset"},
      {a + 64, TUBO_ECORRUPT, "inside a block"},
      {r + 4096, TUBO_ECORRUPT, "inside a run"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = tubo__heap_free(H, cases[i].off);
    EXPECT(rc == cases[i].want, "free of %s: expected %s, got %s", cases[i].what,
           tubo_err_name(cases[i].want), tubo_err_name(rc));
  }
  must_free(a);
  int rc = tubo__heap_free(H, a);
  EXPECT(rc == TUBO_EINVAL, "double free: expected TUBO_EINVAL, got %s", tubo_err_name(rc));
  size_t u;
  rc = tubo__heap_usable(H, a, &u);
  EXPECT(rc == TUBO_EINVAL, "usable of a freed block: expected TUBO_EINVAL, got %s",
         tubo_err_name(rc));
  /* The double free changed nothing: the block comes back once, then a new one. */
  uint64_t x = must_alloc(200, 0), y = must_alloc(200, 0);
  EXPECT(x == a && y != a, "after a double free: expected %#llx once, got %#llx then %#llx",
         (unsigned long long)a, (unsigned long long)x, (unsigned long long)y);
  must_free(x);
  must_free(y);
  must_free(r);
  expect_empty_and_sound();
  heap_done();
}
END_TEST

/* ---- Corruption: detected, never followed ---- */

static struct heap_block *hdr_of(uint64_t off)
{
  return (struct heap_block *)(H->base + off - HEAP_HDR);
}

START_TEST(corrupt_allocated_header)
{
  heap_make((uint64_t)16 << 20);
  uint64_t a = must_alloc(300, 0);
  uint64_t saved = atomic_load(&hdr_of(a)->word);
  static const uint64_t bad[] = {0, 0xdeadbeefdeadbeefull, 0};
  for (int i = 0; i < 5; i++) {
    uint64_t w = i < 2 ? bad[i] : saved;
    if (i == 2)
      w ^= (uint64_t)1 << HEAP_CLASS_SHIFT; /* another class */
    if (i == 3)
      w ^= 1; /* another block's offset */
    if (i == 4)
      w ^= (uint64_t)1 << HEAP_MAGIC_SHIFT; /* the magic */
    atomic_store(&hdr_of(a)->word, w);
    int rc = tubo__heap_free(H, a);
    EXPECT(rc == TUBO_ECORRUPT,
           "free of a block whose header is overwritten (case %d): "
           "expected TUBO_ECORRUPT, got %s",
           i, tubo_err_name(rc));
    size_t u;
    rc = tubo__heap_usable(H, a, &u);
    EXPECT(rc == TUBO_ECORRUPT, "usable of it (case %d): expected TUBO_ECORRUPT, got %s", i,
           tubo_err_name(rc));
  }
  atomic_store(&hdr_of(a)->word, saved);
  must_free(a);
  expect_empty_and_sound();
  heap_done();
}
END_TEST

START_TEST(corrupt_free_list)
{
  heap_make((uint64_t)16 << 20);
  /* A free block whose header is overwritten, first in its class's list. */
  uint64_t a = must_alloc(300, 0);
  must_free(a);
  atomic_store(&hdr_of(a)->word, 0x4141414141414141ull);
  uint64_t off = 0;
  for (int i = 0; i < 3; i++) {
    int rc = tubo__heap_alloc(H, 300, 0, &off);
    EXPECT(rc == TUBO_ECORRUPT,
           "alloc from a list whose first block is overwritten (try "
           "%d): expected TUBO_ECORRUPT, got %s (off %#llx)",
           i, tubo_err_name(rc), (unsigned long long)off);
  }
  int rc = tubo__heap_check(H);
  EXPECT(rc == TUBO_ECORRUPT, "check: expected TUBO_ECORRUPT, got %s", tubo_err_name(rc));
  /* Other classes go on. */
  uint64_t b = must_alloc(40, 0), c = must_alloc(200000, 0);
  must_free(b);
  must_free(c);
  heap_done();
}
END_TEST

/* A free list made a cycle, with its class's counts forged so that they allow any walk:
 * the check still ends, and says the heap is corrupt (it walked for ever). */
START_TEST(corrupt_cycle_forged_counts)
{
  heap_make((uint64_t)16 << 20);
  uint64_t a = must_alloc(300, 0), b = must_alloc(300, 0);
  must_free(a);
  must_free(b); /* the list: b, a, ... */
  atomic_store(&hdr_of(a)->next, b >> 4);
  unsigned c = heap_small_class(300 + HEAP_HDR);
  atomic_store(&H->ctl->cls[c].carved, UINT64_MAX / 2);
  atomic_store(&H->ctl->cls[c].used, 0);
  int rc = tubo__heap_check(H);
  EXPECT(rc == TUBO_ECORRUPT,
         "check of a cycled list with forged counts: expected "
         "TUBO_ECORRUPT, got %s",
         tubo_err_name(rc));
  heap_done();
}
END_TEST

START_TEST(corrupt_links)
{
  heap_make((uint64_t)16 << 20);
  uint64_t live = must_alloc(1000, 0);
  tubo__heap_stats_t st;
  tubo__heap_stats(H, &st);
  /* Links to: outside the region, a misaligned place, the header, another class's block,
   * and a block still allocated (valid in every other way). */
  uint64_t other = must_alloc(40, 0);
  const uint64_t links[] = {st.bytes >> 4, (live + 16) >> 4, 1, other >> 4, live >> 4};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    uint64_t x = must_alloc(1000, 0), y = must_alloc(1000, 0);
    must_free(x);
    must_free(y); /* list: y, x */
    atomic_store(&hdr_of(y)->next, links[i]);
    uint64_t got = 0;
    int rc = tubo__heap_alloc(H, 1000, 0, &got);
    if (rc == 0) {
      /* y's link passed the cheap checks: the block it names is refused instead. */
      EXPECT(got == y, "link case %zu: expected y back first, got %#llx", i,
             (unsigned long long)got);
      rc = tubo__heap_alloc(H, 1000, 0, &got);
    }
    EXPECT(rc == TUBO_ECORRUPT && got != live,
           "alloc through a link to a bad place (case %zu): expected TUBO_ECORRUPT and "
           "never the live block %#llx, got %s (%#llx)",
           i, (unsigned long long)live, tubo_err_name(rc), (unsigned long long)got);
    /* Mend the list for the next case: an empty list for this class. */
    atomic_store(&H->ctl->cls[heap_small_class(1000 + HEAP_HDR)].head, 0);
  }
  must_free(other);
  must_free(live);
  heap_done();
}
END_TEST

START_TEST(corrupt_region_header)
{
  heap_make((uint64_t)16 << 20);
  uint64_t saved = atomic_load(&H->ctl->carve);
  atomic_store(&H->ctl->carve, UINT64_MAX);
  uint64_t off = 0;
  int rc = tubo__heap_alloc(H, 100, 0, &off);
  EXPECT(rc == TUBO_ECORRUPT,
         "alloc with the carving word overwritten: expected "
         "TUBO_ECORRUPT, got %s",
         tubo_err_name(rc));
  rc = tubo__heap_alloc(H, 1 << 20, 0, &off);
  EXPECT(rc == TUBO_ECORRUPT, "alloc of a run, same: expected TUBO_ECORRUPT, got %s",
         tubo_err_name(rc));
  atomic_store(&H->ctl->carve, saved);
  /* A head naming no block (outside the region) of an empty class. */
  atomic_store(&H->ctl->cls[3].head, HEAP_UNIT_MASK);
  rc = tubo__heap_alloc(H, heap_small_bytes(3) - HEAP_HDR, 0, &off);
  EXPECT(rc == TUBO_ECORRUPT,
         "alloc from a head outside the region: expected "
         "TUBO_ECORRUPT, got %s",
         tubo_err_name(rc));
  atomic_store(&H->ctl->cls[3].head, 0);
  /* Another geometry, or something else, in the region. */
  tubo__heap_t other;
  tubo__heap_backing_t none = {NULL, NULL, NULL};
  rc = tubo__heap_attach(&other, H->base, (uint64_t)8 << 20, &none);
  EXPECT(rc == TUBO_ECORRUPT, "attach with another size: expected TUBO_ECORRUPT, got %s",
         tubo_err_name(rc));
  rc = tubo__heap_attach(&other, H->base, (uint64_t)16 << 20, &none);
  EXPECT(rc == 0, "attach with the same size: expected 0, got %s", tubo_err_name(rc));
  rc = tubo__heap_attach(&other, H->base, 4096, &none);
  EXPECT(rc == TUBO_EINVAL, "attach of one page: expected TUBO_EINVAL, got %s", tubo_err_name(rc));
  rc = tubo__heap_attach(&other, H->base + 8, (uint64_t)16 << 20, &none);
  EXPECT(rc == TUBO_EINVAL, "attach at a misaligned base: expected TUBO_EINVAL, got %s",
         tubo_err_name(rc));
  heap_done();
}
END_TEST

/* ---- Several processes ---- */

/* A process stalled in the middle of a pop, between reading the list and taking its
 * first block, while others pop that block and the next and push the first back: the
 * list's head is the same block again, but the stalled pop must not take it with the
 * link it read (to a block now allocated). */
static int aba_stalled[2], aba_go[2];

static void aba_hook(enum tubo__heap_step s)
{
  static int done;
  char c = 's';
  if (s != TUBO__HEAP_S_POP_READ || done++)
    return;
  if (write(aba_stalled[1], &c, 1) != 1 || read(aba_go[0], &c, 1) != 1)
    _exit(4);
}

START_TEST(aba_stalled_pop)
{
  heap_make((uint64_t)16 << 20);
  uint64_t x = must_alloc(500, 0), y = must_alloc(500, 0), z = must_alloc(500, 0);
  /* The list, beyond spares carved with them: x, y, z. */
  must_free(z);
  must_free(y);
  must_free(x);
  int res[2];
  EXPECT(pipe(aba_stalled) == 0 && pipe(aba_go) == 0 && pipe(res) == 0, "pipe: expected pipes");
  pid_t pid = fork();
  EXPECT(pid >= 0, "fork: expected a child");
  if (pid == 0) {
    tubo__heap_step_hook = aba_hook;
    uint64_t off = 0;
    int rc = tubo__heap_alloc(H, 500, 0, &off);
    uint64_t out[2] = {(uint64_t)(int64_t)rc, off};
    _exit(write(res[1], out, sizeof out) == (ssize_t)sizeof out ? 0 : 4);
  }
  char c;
  EXPECT(read(aba_stalled[0], &c, 1) == 1, "the child to stall in its pop: expected a byte");
  uint64_t a = must_alloc(500, 0), b = must_alloc(500, 0);
  EXPECT(
      a == x && b == y, "pops while the child stalls: expected %#llx then %#llx, got %#llx, %#llx",
      (unsigned long long)x, (unsigned long long)y, (unsigned long long)a, (unsigned long long)b);
  must_free(a); /* the head is x again, linking to z */
  EXPECT(write(aba_go[1], "g", 1) == 1, "waking the child: expected to write");
  uint64_t out[2] = {0, 0};
  EXPECT(read(res[0], out, sizeof out) == (ssize_t)sizeof out, "the child's result: expected it");
  expect_exit0(pid, "the stalled child");
  EXPECT((int)(int64_t)out[0] == 0 && out[1] == x,
         "the stalled pop: expected 0 and %#llx, got %s and %#llx", (unsigned long long)x,
         tubo_err_name((int)(int64_t)out[0]), (unsigned long long)out[1]);
  uint64_t next = 0;
  int rc = tubo__heap_alloc(H, 500, 0, &next);
  EXPECT(rc == 0 && next == z,
         "the pop after it: expected z %#llx (y %#llx is allocated), got %s, %#llx",
         (unsigned long long)z, (unsigned long long)y, tubo_err_name(rc), (unsigned long long)next);
  must_free(next);
  must_free(x);
  must_free(b);
  expect_empty_and_sound();
  for (int i = 0; i < 2; i++) {
    close(aba_stalled[i]);
    close(aba_go[i]);
    close(res[i]);
  }
  heap_done();
}
END_TEST

#define NWORKERS 4
#define MAXLIVE  32
#define MAILBOX  16

typedef struct rec {
  uint64_t off;
  uint64_t size;
} rec_t;

typedef struct area {
  _Atomic uint64_t mailbox[MAILBOX]; /* blocks handed from one process to another */
  _Atomic uint64_t allocated;        /* bytes allocated by all, over the run */
  _Atomic uint32_t nlive[NWORKERS];
  rec_t live[NWORKERS][MAXLIVE]; /* what each worker still holds at its end */
} area_t;

/* Allocates, hands over, takes and frees blocks at random for ops steps; checks every
 * block before freeing it. Leaves what it holds at the end in a->live[id]. */
static void worker(area_t *a, int id, int ops, uint64_t seed)
{
  rec_t live[MAXLIVE];
  int n = 0;
  uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
  char why[256];
  for (int op = 0; op < ops; op++) {
    uint64_t r = rng_next(&rng) % 100;
    if (n == MAXLIVE || (n > 0 && r < 45)) {
      int i = (int)(rng_next(&rng) % (uint64_t)n);
      if (blk_verify(H, live[i].off, live[i].size, why, sizeof why))
        child_fail("worker %d, step %d, before free: %s", id, op, why);
      int rc = tubo__heap_free(H, live[i].off);
      if (rc != 0)
        child_fail("worker %d: free(%#llx): expected 0, got %s", id,
                   (unsigned long long)live[i].off, tubo_err_name(rc));
      live[i] = live[--n];
    } else if (r < 52) {
      uint64_t off = atomic_exchange(&a->mailbox[rng_next(&rng) % MAILBOX], 0);
      if (off == 0)
        continue;
      if (blk_verify(H, off, 0, why, sizeof why))
        child_fail("worker %d, a block handed over: %s", id, why);
      int rc = tubo__heap_free(H, off);
      if (rc != 0)
        child_fail("worker %d: free of a block handed over: expected 0, got %s", id,
                   tubo_err_name(rc));
    } else if (r < 58 && n > 0) {
      uint64_t none = 0;
      int i = (int)(rng_next(&rng) % (uint64_t)n);
      if (atomic_compare_exchange_strong(&a->mailbox[rng_next(&rng) % MAILBOX], &none, live[i].off))
        live[i] = live[--n];
    } else {
      size_t size = pick_size(&rng);
      uint64_t off = 0;
      int rc = tubo__heap_alloc(H, size, 0, &off);
      if (rc != 0)
        child_fail("worker %d, step %d: alloc(%zu): expected 0, got %s", id, op, size,
                   tubo_err_name(rc));
      blk_write(H, off, size, rng_next(&rng));
      atomic_fetch_add(&a->allocated, size);
      live[n++] = (rec_t){off, size};
    }
  }
  memcpy(a->live[id], live, sizeof live[0] * (size_t)n);
  atomic_store(&a->nlive[id], (uint32_t)n);
}

static int rec_cmp(const void *x, const void *y)
{
  const rec_t *a = x, *b = y;
  return a->off < b->off ? -1 : a->off > b->off;
}

/* Checks that the blocks in recs (n) are intact and do not overlap, then frees them. */
static void check_and_free(rec_t *recs, size_t n)
{
  qsort(recs, n, sizeof *recs, rec_cmp);
  char why[256];
  for (size_t i = 0; i < n; i++) {
    const char *bad = blk_verify(H, recs[i].off, recs[i].size, why, sizeof why);
    EXPECT(bad == NULL, "a block left by a worker: %s", bad);
    size_t usable = 0;
    tubo__heap_usable(H, recs[i].off, &usable);
    if (i + 1 < n)
      EXPECT(recs[i].off + usable + HEAP_HDR <= recs[i + 1].off,
             "blocks %#llx (%zu usable) and %#llx: expected no overlap",
             (unsigned long long)recs[i].off, usable, (unsigned long long)recs[i + 1].off);
  }
  for (size_t i = 0; i < n; i++)
    must_free(recs[i].off);
}

/* Checks and frees what nworkers workers left: their blocks and those in the mailbox. */
static void workers_check_and_free(area_t *a, int nworkers)
{
  rec_t all[NWORKERS * MAXLIVE + MAILBOX];
  size_t n = 0;
  for (int i = 0; i < nworkers; i++)
    for (uint32_t j = 0; j < atomic_load(&a->nlive[i]); j++)
      all[n++] = a->live[i][j];
  for (int i = 0; i < MAILBOX; i++)
    if (atomic_load(&a->mailbox[i]) != 0)
      all[n++] = (rec_t){atomic_load(&a->mailbox[i]), 0};
  check_and_free(all, n);
}

/* Carved batches wait in their carver's shard: a process's small blocks are contiguous,
 * not interleaved with another's; a full heap hands out what waits in any shard; a shard
 * word overwritten is TUBO_ECORRUPT. */
START_TEST(shard_batches)
{
  heap_make((uint64_t)1 << 20);
  unsigned c = heap_small_class(48 + HEAP_HDR);
  uint64_t bytes = heap_small_bytes(c);
  uint64_t a = must_alloc(48, 0);
  _Atomic uint64_t *in = shared_area(4 * sizeof(uint64_t));
  pid_t kid = fork();
  if (kid == 0) {
    uint64_t x = 0, y = 0;
    if (tubo__heap_alloc(H, 48, 0, &x) != 0 || tubo__heap_alloc(H, 48, 0, &y) != 0)
      child_fail("two allocs of 48 bytes: expected 0");
    atomic_store(&in[0], x);
    atomic_store(&in[1], y);
    atomic_store(&in[2], (uint64_t)getpid() % HEAP_NSHARD);
    _exit(0); /* its blocks stay allocated, its batch's spares wait in its shard */
  }
  expect_exit0(kid, "child allocating two blocks");
  uint64_t x = atomic_load(&in[0]), y = atomic_load(&in[1]);
  uint64_t b = must_alloc(48, 0);
  EXPECT(b == a + bytes, "the parent's second block: expected %#llx, next in its batch, got %#llx",
         (unsigned long long)(a + bytes), (unsigned long long)b);
  EXPECT(y == x + bytes, "the child's second block: expected %#llx, next to its first, got %#llx",
         (unsigned long long)(x + bytes), (unsigned long long)y);
  if (atomic_load(&in[2]) != (uint64_t)getpid() % HEAP_NSHARD)
    EXPECT(x >= a + HEAP_BATCH_MAX * bytes,
           "the child's first block: expected a batch of its own past %#llx, got %#llx",
           (unsigned long long)(a + HEAP_BATCH_MAX * bytes), (unsigned long long)x);
  /* Full: every block comes out, those waiting in the child's shard included. */
  uint64_t n = 4, off; /* a, b and the child's two */
  int rc;
  while ((rc = tubo__heap_alloc(H, 48, 0, &off)) == 0)
    n++;
  EXPECT(rc == TUBO_ESHM, "filling the heap: expected TUBO_ESHM at the end, got %s",
         tubo_err_name(rc));
  for (unsigned s = 0; s < HEAP_NSHARD; s++)
    EXPECT(atomic_load(&H->ctl->shard[s].batch[c]) == 0,
           "shard %u once the heap is full: expected no blocks waiting, got word %#llx", s,
           (unsigned long long)atomic_load(&H->ctl->shard[s].batch[c]));
  tubo__heap_stats_t st;
  tubo__heap_stats(H, &st);
  EXPECT(st.blocks == n, "blocks allocated: expected %llu, got %llu", (unsigned long long)n,
         (unsigned long long)st.blocks);
  EXPECT(tubo__heap_check(H) == 0, "check of the full heap: expected 0");
  heap_done();
  /* A shard word that names blocks never carved. */
  heap_make((uint64_t)1 << 20);
  a = must_alloc(48, 0);
  _Atomic uint64_t *w = &H->ctl->shard[(uint64_t)getpid() % HEAP_NSHARD].batch[c];
  uint64_t saved = atomic_load(w);
  EXPECT(saved != 0, "after one alloc of 48 bytes: expected its batch's spares in the shard");
  atomic_store(w, (uint64_t)5 << HEAP_UNIT_BITS | ((uint64_t)H->end - 4096) >> 4);
  rc = tubo__heap_alloc(H, 48, 0, &off);
  EXPECT(rc == TUBO_ECORRUPT, "alloc from a forged shard word: expected TUBO_ECORRUPT, got %s",
         tubo_err_name(rc));
  rc = tubo__heap_check(H);
  EXPECT(rc == TUBO_ECORRUPT, "check with a forged shard word: expected TUBO_ECORRUPT, got %s",
         tubo_err_name(rc));
  atomic_store(w, saved);
  b = must_alloc(48, 0);
  EXPECT(b == a + bytes, "with the shard word put back: expected %#llx, got %#llx",
         (unsigned long long)(a + bytes), (unsigned long long)b);
  must_free(a);
  must_free(b);
  EXPECT(tubo__heap_check(H) == 0, "check with the shard word put back: expected 0");
  munmap((void *)in, 4 * sizeof(uint64_t));
  heap_done();
}
END_TEST

START_TEST(processes_random)
{
  heap_make((uint64_t)64 << 20);
  area_t *a = shared_area(sizeof *a);
  pid_t pids[NWORKERS];
  for (int i = 0; i < NWORKERS; i++) {
    pids[i] = fork();
    EXPECT(pids[i] >= 0, "fork: expected a worker");
    if (pids[i] == 0) {
      worker(a, i, 16000, (uint64_t)i + 1);
      _exit(0);
    }
  }
  for (int i = 0; i < NWORKERS; i++)
    expect_exit0(pids[i], "a worker");
  workers_check_and_free(a, NWORKERS);
  tubo__heap_stats_t st;
  tubo__heap_stats(H, &st);
  EXPECT(atomic_load(&a->allocated) > st.bytes,
         "workers allocated %llu bytes in all: expected more than the heap (%llu), which "
         "only reuse allows",
         (unsigned long long)atomic_load(&a->allocated), (unsigned long long)st.bytes);
  expect_empty_and_sound();
  munmap(a, sizeof *a);
  heap_done();
}
END_TEST

/* What a victim holds, for the parent to check that nobody else was given it. */
#define VICTIM_MAX  64
#define VICTIM_KEEP 128
typedef struct victim_area {
  _Atomic uint64_t held[VICTIM_MAX];
  _Atomic uint32_t target, count;
  /* Blocks victims keep for good, so that each carves fresh memory, and their number. */
  _Atomic uint64_t kept[64 * VICTIM_KEEP];
  _Atomic uint32_t nkept;
} victim_area_t;

static victim_area_t *victim;

static void victim_hook(enum tubo__heap_step s)
{
  if ((uint32_t)s == atomic_load(&victim->target) && atomic_fetch_sub(&victim->count, 1) == 1)
    kill(getpid(), SIGKILL);
}

/* Allocates and frees in a loop that passes every step of both calls: small blocks of
 * fresh classes (carved in batches), reused ones, page runs of fresh classes (freed with
 * their pages given back) and reused ones. Records what it holds in victim->held. */
static void victim_loop(uint64_t seed, int rounds, int tell_fd)
{
  uint64_t rng = seed;
  for (int round = 0; round < rounds; round++) {
    /* Some memory kept for good (at first): the small blocks' end moves on, to pages
     * not yet reserved. */
    for (int i = 0; i < 8 && round < VICTIM_KEEP / 8; i++) {
      uint32_t k = atomic_load(&victim->nkept);
      uint64_t off;
      if (k < sizeof victim->kept / sizeof victim->kept[0] &&
          tubo__heap_alloc(H, 8000, 0, &off) == 0) {
        atomic_store(&victim->kept[k], off);
        atomic_store(&victim->nkept, k + 1);
      }
    }
    for (int i = 0; i < VICTIM_MAX; i++) {
      size_t size = i < 8 ? ((size_t)64 << 10) * (size_t)(1 + (round * 8 + i) % 24)
                          : 16 + (size_t)(rng_next(&rng) % 20000);
      uint64_t off;
      if (tubo__heap_alloc(H, size, 0, &off) != 0)
        continue;
      memset(tubo__heap_at(H, off, 16), 0x5a, 16);
      atomic_store(&victim->held[i], off);
    }
    for (int i = 0; i < VICTIM_MAX; i++) {
      uint64_t off = atomic_load(&victim->held[i]);
      if (off == 0)
        continue;
      atomic_store(&victim->held[i], 0);
      int rc = tubo__heap_free(H, off);
      if (rc != 0)
        child_fail("victim: free(%#llx): expected 0, got %s", (unsigned long long)off,
                   tubo_err_name(rc));
    }
    if (tell_fd >= 0 && round == 2) {
      char c = 'r';
      if (write(tell_fd, &c, 1) != 1)
        _exit(4);
    }
  }
}

/* Frees what a dead victim held: any process may free any block. */
static void victim_reap(const char *what)
{
  for (int v = 0; v < VICTIM_MAX; v++) {
    uint64_t off = atomic_exchange(&victim->held[v], 0);
    if (off == 0)
      continue;
    int rc = tubo__heap_free(H, off);
    EXPECT(rc == 0, "%s: free of a block the dead process held: expected 0, got %s", what,
           tubo_err_name(rc));
  }
}

/* After a process died inside the heap: the heap is sound, and blocks of every class the
 * victim used go to others, never one it still holds, none twice. */
static void check_after_victim(const char *what)
{
  int rc = tubo__heap_check(H);
  EXPECT(rc == 0, "%s: tubo__heap_check: expected 0, got %s", what, tubo_err_name(rc));
  rec_t got[300];
  size_t n = 0;
  uint64_t rng = 5;
  for (int i = 0; i < 300; i++) {
    size_t size =
        i < 24 ? ((size_t)64 << 10) * (size_t)(1 + i) : 16 + (size_t)(rng_next(&rng) % 20000);
    uint64_t off;
    rc = tubo__heap_alloc(H, size, 0, &off);
    EXPECT(rc == 0, "%s: alloc(%zu) afterwards: expected 0, got %s", what, size, tubo_err_name(rc));
    for (int v = 0; v < VICTIM_MAX; v++)
      EXPECT(atomic_load(&victim->held[v]) != off,
             "%s: alloc gave %#llx, which the dead process still held", what,
             (unsigned long long)off);
    for (uint32_t v = 0; v < atomic_load(&victim->nkept); v++)
      EXPECT(atomic_load(&victim->kept[v]) != off, "%s: alloc gave %#llx, which a victim keeps",
             what, (unsigned long long)off);
    blk_write(H, off, size, (uint64_t)i);
    got[n++] = (rec_t){off, size};
  }
  check_and_free(got, n);
  victim_reap(what);
  rc = tubo__heap_check(H);
  EXPECT(rc == 0, "%s: check at the end: expected 0, got %s", what, tubo_err_name(rc));
}

START_TEST(killed_at_each_step)
{
  victim = shared_area(sizeof *victim);
  for (int step = TUBO__HEAP_S_POP_READ; step < TUBO__HEAP_S_END; step++) {
    for (uint32_t nth = 1; nth <= 3; nth += 2) {
      /* A fresh heap each time, so that the victim carves as well as reuses. */
      heap_make((uint64_t)64 << 20);
      memset(victim, 0, sizeof *victim);
      atomic_store(&victim->target, (uint32_t)step);
      atomic_store(&victim->count, nth);
      pid_t pid = fork();
      EXPECT(pid >= 0, "fork: expected a victim");
      if (pid == 0) {
        tubo__heap_step_hook = victim_hook;
        victim_loop((uint64_t)step * 31 + nth, 50, -1);
        _exit(3); /* never reached the step */
      }
      int ws = wait_for(pid);
      EXPECT(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL,
             "victim to die at step %d (time %u): expected SIGKILL, got %s %d", step, nth,
             WIFEXITED(ws) ? "exit code" : "signal",
             WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
      char what[64];
      snprintf(what, sizeof what, "killed at step %d (time %u)", step, nth);
      check_after_victim(what);
      heap_done();
    }
  }
  munmap(victim, sizeof *victim);
}
END_TEST

START_TEST(killed_at_random_while_others_work)
{
  heap_make((uint64_t)256 << 20);
  victim = shared_area(sizeof *victim);
  area_t *a = shared_area(sizeof *a);
  pid_t workers[2];
  for (int i = 0; i < 2; i++) {
    workers[i] = fork();
    EXPECT(workers[i] >= 0, "fork: expected a worker");
    if (workers[i] == 0) {
      worker(a, i, 20000, (uint64_t)i + 11);
      _exit(0);
    }
  }
  for (int k = 0; k < 20; k++) {
    memset((void *)victim->held, 0, sizeof victim->held);
    int fds[2];
    EXPECT(pipe(fds) == 0, "pipe: expected an OS pipe");
    pid_t pid = fork();
    EXPECT(pid >= 0, "fork: expected a victim");
    if (pid == 0) {
      close(fds[0]);
      victim_loop((uint64_t)k + 100, 1 << 30, fds[1]);
      _exit(0);
    }
    close(fds[1]);
    char c;
    EXPECT(read(fds[0], &c, 1) == 1, "victim %d: expected word that it runs", k);
    kill(pid, SIGKILL); /* wherever it is in its loop */
    wait_for(pid);
    close(fds[0]);
    victim_reap("a victim killed at random");
  }
  for (int i = 0; i < 2; i++)
    expect_exit0(workers[i], "a worker beside the victims");
  workers_check_and_free(a, 2);
  check_after_victim("after 20 victims killed at random");
  munmap(a, sizeof *a);
  munmap(victim, sizeof *victim);
  heap_done();
}
END_TEST

/* ---- The job's heap, under tuborun ---- */

static tubo__tport_t *body_heap(void)
{
  tubo__world_t *w = tubo__world;
  TH_CHECK(w != NULL && th_size > 1, "a world of several ranks");
  tubo__tport_t *t = tubo__tport_of(w, (th_rank + 1) % th_size);
  TH_CHECK(t->ops->heap_alloc != NULL && t->ops->heap_free != NULL && t->ops->heap_at != NULL,
           "the shm transport: expected a heap");
  return t;
}

struct hand {
  uint64_t off, size, seed;
};

/* Each rank allocates blocks, fills them and hands them to the next rank, which checks
 * and frees them: blocks freed by another process than the one that allocated them. */
static void body_cross_free(void)
{
  tubo__tport_t *t = body_heap();
  int next = (th_rank + 1) % th_size, prev = (th_rank + th_size - 1) % th_size;
  uint64_t rng = (uint64_t)th_rank * 7919 + 3;
  for (int round = 0; round < 300; round++) {
    size_t size = round % 25 == 0 ? (size_t)(1 << 20) + (size_t)(rng_next(&rng) % 100000)
                                  : 16 + (size_t)(rng_next(&rng) % 5000);
    struct hand mine = {0, size, rng_next(&rng)}, theirs;
    TH_OK(t->ops->heap_alloc(t->state, size, &mine.off));
    unsigned char *p = t->ops->heap_at(t->state, mine.off, size);
    TH_CHECK(p != NULL, "heap_at of a new block: expected an address");
    for (size_t i = 0; i < size; i++)
      TH_CHECK(p[i] == 0, "a new block of %zu bytes: expected zeros, byte %zu is %d", size, i,
               p[i]);
    pat_fill(p, size, mine.seed);
    TH_OK(tubo_sendrecv(&mine, sizeof mine, next, 5, &theirs, sizeof theirs, prev, 5, th_world,
                        TUBO_STATUS_IGNORE));
    p = t->ops->heap_at(t->state, theirs.off, theirs.size);
    TH_CHECK(p != NULL, "heap_at of a block from rank %d: expected an address", prev);
    size_t bad = pat_check(p, theirs.size, theirs.seed);
    TH_CHECK(bad == theirs.size, "a block from rank %d: expected its pattern, byte %zu differs",
             prev, bad);
    TH_OK(t->ops->heap_free(t->state, theirs.off));
  }
  TH_OK(tubo_barrier(th_world));
  uint64_t off;
  TH_OK(t->ops->heap_alloc(t->state, 100, &off));
  TH_OK(t->ops->heap_free(t->state, off));
  TH_EXPECT_RC(t->ops->heap_free(t->state, off), TUBO_EINVAL);
}

/* Arrays and queues opened and freed many times over, far more than the job's heap
 * (TUBO_SHM_HEAP_BYTES, set by main) holds at once: their memory is freed. */
static void body_objects_freed(void)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < 24; i++) {
    /* A small array (a block of the heap's small classes) and a large one (a page run):
     * each starts on a page, as an anonymous one, since layouts align to more than 64 B. */
    tubo_array_t *small = NULL, *a = NULL;
    TH_OK(tubo_array_open(th_world, TUBO_BYTE, 100, &small));
    TH_OK(tubo_array_open(th_world, TUBO_BYTE, (size_t)4 << 20, &a));
    unsigned char *d = tubo_array_data(small);
    TH_CHECK(d != NULL, "array data: expected an address");
    TH_EQ("a small array's offset in its page", ((uintptr_t)d - TUBO__ARRAY_DATA_OFF) % page, 0);
    TH_OK(tubo_array_free(small));
    d = tubo_array_data(a);
    TH_CHECK(d != NULL, "array data: expected an address");
    TH_EQ("a large array's offset in its page", ((uintptr_t)d - TUBO__ARRAY_DATA_OFF) % page, 0);
    d[(size_t)th_rank * 4096] = (unsigned char)(i + 1);
    TH_OK(tubo_barrier(th_world));
    for (int r = 0; r < th_size; r++)
      TH_EQ("a byte another rank wrote", d[(size_t)r * 4096], i + 1);
    TH_OK(tubo_array_free(a));
    tubo_queue_t *q = NULL;
    TH_OK(tubo_queue_open(th_world, 64, (size_t)32 << 10, 0, &q));
    int v = th_rank + 1000 * i, got = 0;
    size_t n = 0;
    TH_OK(tubo_queue_put(q, &v, sizeof v, -1));
    TH_OK(tubo_queue_get(q, &got, sizeof got, &n, -1));
    TH_EQ("an item's length", n, sizeof got);
    TH_OK(tubo_barrier(th_world));
    TH_OK(tubo_queue_free(q));
  }
}

static const th_body_t bodies[] = {
    {"cross_free", body_cross_free, 0},
    {"objects_freed", body_objects_freed, 0},
    {NULL, NULL, 0},
};

static Suite *heap_suite(void)
{
  Suite *s = suite_create("heap");
  TCase *tc = th_tcase("one_process");
  tcase_add_test(tc, sizes_alignment_bounds);
  tcase_add_test(tc, reuse_after_free);
  tcase_add_test(tc, runs_give_pages_back);
  tcase_add_test(tc, bad_frees);
  suite_add_tcase(s, tc);
  tc = th_tcase("corruption");
  tcase_add_test(tc, corrupt_allocated_header);
  tcase_add_test(tc, corrupt_free_list);
  tcase_add_test(tc, corrupt_cycle_forged_counts);
  tcase_add_test(tc, corrupt_links);
  tcase_add_test(tc, corrupt_region_header);
  suite_add_tcase(s, tc);
  tc = th_tcase("processes");
  tcase_add_test(tc, aba_stalled_pop);
  tcase_add_test(tc, shard_batches);
  tcase_add_test(tc, processes_random);
  tcase_add_test(tc, killed_at_each_step);
  tcase_add_test(tc, killed_at_random_while_others_work);
  suite_add_tcase(s, tc);
  th_add_case(s, "cross_free", 3, TH_SHM);
  th_add_case(s, "objects_freed", 3, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  /* The job's heap, small enough that the objects opened by objects_freed fit in it only
   * if their memory is reused. */
  setenv("TUBO_SHM_HEAP_BYTES", "32m", 1);
  return th_main(argc, argv, bodies, heap_suite);
}
