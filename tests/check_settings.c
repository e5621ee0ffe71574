/* SPDX-License-Identifier: MIT */
/* Tunable settings (lib/settings.c): TUBO_* sizes with k/m/g suffixes, defaults for
 * unset or malformed values, clamping to the allowed range. */
#include "config.h"

#include <stdlib.h>

#include "harness.h"
#include "settings.h"

#define VAR "TUBO_TEST_SETTING"

typedef struct setting_case {
  const char *value; /* NULL: unset */
  uint64_t dflt, lo, hi, want;
} setting_case_t;

static const setting_case_t cases[] = {
    {NULL, 7, 0, 100, 7},
    {"", 7, 0, 100, 7},
    {"42", 7, 0, 100, 42},
    {"0", 7, 0, 100, 0},
    {"4k", 7, 0, 1u << 30, 4096},
    {"4K", 7, 0, 1u << 30, 4096},
    {"2m", 7, 0, 1u << 30, 2u << 20},
    {"3M", 7, 0, 1u << 30, 3u << 20},
    {"1g", 7, 0, 1ull << 40, 1u << 30},
    {"5G", 7, 0, 1ull << 40, 5ull << 30},
    {"32k", 0, 0, 512u << 10, 32u << 10},
    {"1000", 7, 0, 100, 100}, /* above the range: the top */
    {"1", 7, 10, 100, 10},    /* below the range: the bottom */
    {"1m", 7, 0, 4096, 4096},
    {"abc", 7, 0, 100, 7}, /* malformed: the default */
    {"12x", 7, 0, 100, 7},
    {"4kb", 7, 0, 1u << 20, 7},
    {"k", 7, 0, 100, 7},
    {"18446744073709551616", 7, 0, 100, 7}, /* does not fit 64 bits */
    {"18446744073709551615", 7, 0, 100, 100},
};
#define NCASES (sizeof cases / sizeof cases[0])

START_TEST(test_setting)
{
  const setting_case_t *c = &cases[_i];
  if (c->value)
    setenv(VAR, c->value, 1);
  else
    unsetenv(VAR);
  uint64_t got = tubo__setting_u64(VAR, c->dflt, c->lo, c->hi);
  ck_assert_msg(got == c->want, "%s=%s (default %llu, range %llu..%llu): expected %llu, got %llu",
                VAR, c->value ? c->value : "(unset)", (unsigned long long)c->dflt,
                (unsigned long long)c->lo, (unsigned long long)c->hi, (unsigned long long)c->want,
                (unsigned long long)got);
}
END_TEST

/* A negative value is below every range: it must not become the largest value allowed. */
START_TEST(test_negative)
{
  setenv(VAR, "-1", 1);
  uint64_t got = tubo__setting_u64(VAR, 7, 5, 100);
  ck_assert_msg(
      got == 5 || got == 7,
      "%s=-1 (default 7, range 5..100): expected 5 (clamped up) or 7 (rejected), got %llu", VAR,
      (unsigned long long)got);
}
END_TEST

/* A suffix that overflows 64 bits is above every range, not wrapped around. */
START_TEST(test_suffix_overflow)
{
  setenv(VAR, "17179869184g", 1); /* 2^34 GiB = 2^64 bytes */
  uint64_t got = tubo__setting_u64(VAR, 7, 5, 100);
  ck_assert_msg(got == 100 || got == 7,
                "%s=17179869184g (2^64, default 7, range 5..100): expected 100 (clamped down) or "
                "7 (rejected), got %llu",
                VAR, (unsigned long long)got);
}
END_TEST

static Suite *settings_suite(void)
{
  Suite *s = suite_create("settings");
  TCase *tc = tcase_create("settings");
  tcase_add_loop_test(tc, test_setting, 0, NCASES);
  /* strtoull would turn "-1" into the top of the range, and a suffix could wrap 64 bits. */
  tcase_add_test(tc, test_negative);
  tcase_add_test(tc, test_suffix_overflow);
  suite_add_tcase(s, tc);
  return s;
}

static const th_body_t bodies[] = {{NULL, NULL, 0}};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, settings_suite);
}
