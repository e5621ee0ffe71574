/* SPDX-License-Identifier: MIT */
/* The shared-memory segment layout (lib/shm/shm_layout.c): powers of two and page
 * multiples, channels that never overlap, a total that holds them all, the unit setting. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "jobctl.h"
#include "shm/shm_layout.h"

/* ck_assert_msg records every passing check with the runner (a system call each): the
 * hundreds of thousands of checks below only call Check when one fails. */
#define REQUIRE(cond, ...)       \
  do {                           \
    if (!(cond))                 \
      ck_abort_msg(__VA_ARGS__); \
  } while (0)

static int is_pow2(uint64_t v)
{
  return v != 0 && (v & (v - 1)) == 0;
}

/* Checks the invariants of one layout. */
static void layout_check(uint32_t n, size_t page, size_t unit)
{
  tubo__shm_layout_t L;
  int rc = tubo__shm_layout_compute(n, page, unit, &L);
  REQUIRE(rc == 0, "n=%u page=%zu unit=%zu: expected 0, got %s", n, page, unit, tubo_err_name(rc));
  REQUIRE(L.nranks == n, "n=%u: nranks %u", n, L.nranks);
  REQUIRE(is_pow2(L.nslots), "n=%u page=%zu unit=%zu: nslots %u is not a power of two", n, page,
          unit, L.nslots);
  REQUIRE(is_pow2(L.dbytes), "n=%u page=%zu unit=%zu: dbytes %u is not a power of two", n, page,
          unit, L.dbytes);
  REQUIRE(L.dbytes >= 4 * 4096u, "n=%u unit=%zu: data ring %u B, expected >= 16 KiB", n, unit,
          L.dbytes);
  size_t need = TUBO__SHM_CHAN_HDR + (size_t)L.nslots * TUBO__SHM_SLOT + L.dbytes;
  REQUIRE(L.chan_bytes >= need && L.chan_bytes % page == 0 && L.chan_bytes - need < page,
          "n=%u page=%zu: channel %zu B, expected the page multiple just above %zu", n, page,
          L.chan_bytes, need);
  REQUIRE(L.region_bytes == L.chan_bytes * (n - 1), "n=%u: region %zu B, expected %zu", n,
          L.region_bytes, L.chan_bytes * (n - 1));
  size_t ctl_min = TUBO__JOBCTL_RANKS_OFF + (size_t)n * sizeof(struct tubo__rankctl);
  REQUIRE(L.ctl_bytes >= ctl_min && L.ctl_bytes % page == 0,
          "n=%u page=%zu: control block %zu B, expected a page multiple >= %zu", n, page,
          L.ctl_bytes, ctl_min);
  REQUIRE(L.total == L.ctl_bytes + L.region_bytes * n, "n=%u: total %zu, expected %zu", n, L.total,
          L.ctl_bytes + L.region_bytes * n);

  /* Every channel: page-aligned, after the control block, inside the segment, and
   * disjoint from every other. Channel (r, s) starts at the offset for its index. */
  size_t nch = (size_t)n * (n - 1);
  size_t *offs = malloc((nch ? nch : 1) * sizeof *offs);
  REQUIRE(offs != NULL, "malloc");
  size_t k = 0;
  for (uint32_t r = 0; r < n; r++)
    for (uint32_t s = 0; s < n; s++) {
      if (r == s)
        continue;
      size_t off = tubo__shm_chan_off(&L, r, s);
      REQUIRE(off % page == 0, "n=%u: channel %u<-%u at %zu, not page-aligned", n, r, s, off);
      REQUIRE(off >= L.ctl_bytes, "n=%u: channel %u<-%u at %zu overlaps the control block", n, r, s,
              off);
      REQUIRE(off + L.chan_bytes <= L.total,
              "n=%u: channel %u<-%u ends at %zu, after the segment's end %zu", n, r, s,
              off + L.chan_bytes, L.total);
      /* Rank r's channels lie in r's region, so that they can be bound near r. */
      size_t region = L.ctl_bytes + (size_t)r * L.region_bytes;
      REQUIRE(off >= region && off + L.chan_bytes <= region + L.region_bytes,
              "n=%u: channel %u<-%u lies outside receiver %u's region", n, r, s, r);
      offs[k++] = off;
    }
  /* Sorted offsets must be at least a channel apart. */
  for (size_t i = 1; i < nch; i++) {
    size_t v = offs[i], j = i;
    while (j > 0 && offs[j - 1] > v) {
      offs[j] = offs[j - 1];
      j--;
    }
    offs[j] = v;
  }
  for (size_t i = 1; i < nch; i++)
    REQUIRE(offs[i] - offs[i - 1] >= L.chan_bytes,
            "n=%u: channels at %zu and %zu overlap (channel %zu B)", n, offs[i - 1], offs[i],
            L.chan_bytes);
  free(offs);
}

START_TEST(test_invariants)
{
  static const size_t pages[] = {4096, 16384, 65536};
  static const size_t units[] = {0, 32u << 10, 100000, 1u << 20};
  for (uint32_t n = 1; n <= 64; n++)
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++)
      for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        layout_check(n, pages[p], units[u]);
}
END_TEST

/* The per-channel unit: default from an 8 MiB budget per rank, clamped to 32..512 KiB,
 * rounded down to a power of two; a quarter of it for slots, half for data. */
START_TEST(test_unit)
{
  static const struct {
    uint32_t n;
    size_t unit, want;
  } cases[] = {
      {2, 0, 512u << 10},         {3, 0, 512u << 10},
      {17, 0, 512u << 10},        {18, 0, 256u << 10},
      {33, 0, 256u << 10},        {64, 0, 128u << 10},
      {1, 0, 512u << 10},         {4096, 0, 32u << 10},
      {2, 32u << 10, 32u << 10},  {2, 1, 32u << 10},
      {2, 100000, 64u << 10},     {2, 10u << 20, 512u << 10},
      {64, 32u << 10, 32u << 10}, {2, (64u << 10) - 1, 32u << 10},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tubo__shm_layout_t L;
    int rc = tubo__shm_layout_compute(cases[i].n, 4096, cases[i].unit, &L);
    ck_assert_msg(rc == 0, "n=%u unit=%zu: expected 0, got %s", cases[i].n, cases[i].unit,
                  tubo_err_name(rc));
    size_t want = cases[i].want;
    ck_assert_msg(L.dbytes == want / 2 && L.nslots == want / 4 / TUBO__SHM_SLOT,
                  "n=%u unit=%zu: expected unit %zu (data %zu B, %zu slots), got data %u B, %u "
                  "slots",
                  cases[i].n, cases[i].unit, want, want / 2, want / 4 / TUBO__SHM_SLOT, L.dbytes,
                  L.nslots);
  }
}
END_TEST

/* All ranks must compute the same layout, and a different one must show in the key. */
START_TEST(test_key)
{
  tubo__shm_layout_t a, b;
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 0, &a), 0);
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 0, &b), 0);
  ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "the same inputs gave different layouts");
  ck_assert_int_eq(tubo__shm_layout_compute(5, 4096, 0, &b), 0);
  ck_assert_msg(a.key != b.key, "4 and 5 ranks: expected different keys, both 0x%llx",
                (unsigned long long)a.key);
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 32u << 10, &b), 0);
  ck_assert_msg(a.key != b.key, "default and 32 KiB channels: expected different keys, both 0x%llx",
                (unsigned long long)a.key);
}
END_TEST

START_TEST(test_errors)
{
  tubo__shm_layout_t L;
  int rc = tubo__shm_layout_compute(0, 4096, 0, &L);
  ck_assert_msg(rc == TUBO_EINVAL, "0 ranks: expected TUBO_EINVAL, got %s", tubo_err_name(rc));
  rc = tubo__shm_layout_compute(2, 0, 0, &L);
  ck_assert_msg(rc == TUBO_EINVAL, "page 0: expected TUBO_EINVAL, got %s", tubo_err_name(rc));
  /* A segment larger than the address space. */
  rc = tubo__shm_layout_compute(UINT32_MAX, (size_t)1 << 30, 0, &L);
  ck_assert_msg(rc == TUBO_ETOOBIG, "2^32-1 ranks with 1 GiB pages: expected TUBO_ETOOBIG, got %s",
                tubo_err_name(rc));
  rc = tubo__shm_layout_compute(1u << 30, (size_t)1 << 40, 0, &L);
  ck_assert_msg(rc == TUBO_ETOOBIG, "2^30 ranks with 1 TiB pages: expected TUBO_ETOOBIG, got %s",
                tubo_err_name(rc));
}
END_TEST

static Suite *layout_suite(void)
{
  Suite *s = suite_create("layout");
  TCase *tc = tcase_create("layout");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_invariants);
  tcase_add_test(tc, test_unit);
  tcase_add_test(tc, test_key);
  tcase_add_test(tc, test_errors);
  suite_add_tcase(s, tc);
  return s;
}

static const th_body_t bodies[] = {{NULL, NULL, 0}};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, layout_suite);
}
