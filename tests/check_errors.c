/* SPDX-License-Identifier: MIT */
/* Error codes: the TUBO_ERRORS list, tubo_strerror and tubo_err_name agree, and every
 * code has its own name and text. Linked against the public library only. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

typedef struct err_def {
  int value;
  const char *name; /* "TUBO_" followed by the list's name */
  const char *text;
} err_def_t;

static const err_def_t errs[] = {
#define ERR_DEF_(name, value, text) {value, "TUBO_" #name, text},
    TUBO_ERRORS(ERR_DEF_)
#undef ERR_DEF_
};
#define NERRS (sizeof errs / sizeof errs[0])

START_TEST(test_list_values)
{
  ck_assert_msg(NERRS >= 21, "expected at least the 21 codes of release 0.1, got %zu", NERRS);
  for (size_t i = 0; i < NERRS; i++) {
    ck_assert_msg(errs[i].value < 0, "%s: expected a negative value, got %d", errs[i].name,
                  errs[i].value);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(errs[i].value != errs[j].value, "%s and %s: expected distinct values, both %d",
                    errs[j].name, errs[i].name, errs[i].value);
  }
}
END_TEST

START_TEST(test_names_and_texts)
{
  for (size_t i = 0; i < NERRS; i++) {
    const char *name = tubo_err_name(errs[i].value);
    const char *text = tubo_strerror(errs[i].value);
    ck_assert_msg(name != NULL && strcmp(name, errs[i].name) == 0,
                  "tubo_err_name(%d): expected \"%s\", got \"%s\"", errs[i].value, errs[i].name,
                  name ? name : "(null)");
    ck_assert_msg(text != NULL && strcmp(text, errs[i].text) == 0,
                  "tubo_strerror(%d): expected \"%s\", got \"%s\"", errs[i].value, errs[i].text,
                  text ? text : "(null)");
    ck_assert_msg(strlen(text) > 0, "tubo_strerror(%d): expected a text, got \"\"", errs[i].value);
    for (size_t j = 0; j < i; j++) {
      ck_assert_msg(strcmp(name, tubo_err_name(errs[j].value)) != 0,
                    "codes %d and %d: expected distinct names, both \"%s\"", errs[j].value,
                    errs[i].value, name);
      ck_assert_msg(strcmp(text, tubo_strerror(errs[j].value)) != 0,
                    "codes %d and %d: expected distinct texts, both \"%s\"", errs[j].value,
                    errs[i].value, text);
    }
  }
}
END_TEST

/* The enum constants carry the list's values (the X-macro generated them). */
START_TEST(test_enum_constants)
{
  const struct {
    int constant, value;
    const char *name;
  } some[] = {{TUBO_EINVAL, -1, "TUBO_EINVAL"},    {TUBO_ETRUNC, -7, "TUBO_ETRUNC"},
              {TUBO_EPEER, -8, "TUBO_EPEER"},      {TUBO_ECOMM, -16, "TUBO_ECOMM"},
              {TUBO_EDEADLK, -21, "TUBO_EDEADLK"}, {TUBO_EPROCESS, -26, "TUBO_EPROCESS"},
              {TUBO_EPIPE, -27, "TUBO_EPIPE"},     {TUBO_EQUEUE, -28, "TUBO_EQUEUE"},
              {TUBO_EARRAY, -29, "TUBO_EARRAY"},   {TUBO_EVALUE, -30, "TUBO_EVALUE"},
              {TUBO_EOP, -31, "TUBO_EOP"},         {TUBO_OK, 0, "TUBO_OK"}};
  for (size_t i = 0; i < sizeof some / sizeof some[0]; i++) {
    ck_assert_msg(some[i].constant == some[i].value, "%s: expected %d, got %d", some[i].name,
                  some[i].value, some[i].constant);
    ck_assert_msg(strcmp(tubo_err_name(some[i].constant), some[i].name) == 0,
                  "tubo_err_name(%s): expected \"%s\", got \"%s\"", some[i].name, some[i].name,
                  tubo_err_name(some[i].constant));
  }
}
END_TEST

START_TEST(test_success)
{
  ck_assert_msg(strcmp(tubo_strerror(0), "success") == 0,
                "tubo_strerror(0): expected \"success\", got \"%s\"", tubo_strerror(0));
  ck_assert_msg(strcmp(tubo_err_name(0), "TUBO_OK") == 0,
                "tubo_err_name(0): expected \"TUBO_OK\", got \"%s\"", tubo_err_name(0));
}
END_TEST

START_TEST(test_unknown)
{
  int lowest = 0;
  for (size_t i = 0; i < NERRS; i++)
    if (errs[i].value < lowest)
      lowest = errs[i].value;
  const int unknown[] = {1, 2, 42, lowest - 1, -1000, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    int e = unknown[i];
    ck_assert_msg(strcmp(tubo_strerror(e), "unknown error") == 0,
                  "tubo_strerror(%d): expected \"unknown error\", got \"%s\"", e, tubo_strerror(e));
    ck_assert_msg(strcmp(tubo_err_name(e), "TUBO_E?") == 0,
                  "tubo_err_name(%d): expected \"TUBO_E?\", got \"%s\"", e, tubo_err_name(e));
  }
}
END_TEST

START_TEST(test_version)
{
  char want[64];
  snprintf(want, sizeof want, "%d.%d.%d", TUBO_VERSION_MAJOR, TUBO_VERSION_MINOR,
           TUBO_VERSION_PATCH);
  const char *got = tubo_version_string();
  ck_assert_msg(got != NULL && strcmp(got, want) == 0,
                "tubo_version_string(): expected \"%s\" (the header's version), got \"%s\"", want,
                got ? got : "(null)");
  /* Header, library and build take it from one place, AC_INIT. */
  ck_assert_msg(strcmp(TUBO_VERSION, want) == 0 && strcmp(PACKAGE_VERSION, want) == 0,
                "TUBO_VERSION \"%s\" and AC_INIT's \"%s\": expected both \"%s\"", TUBO_VERSION,
                PACKAGE_VERSION, want);
}
END_TEST

/* The man page the build wrote says the version AC_INIT gives, and nothing is left
 * unfilled. */
START_TEST(test_man_version)
{
  FILE *f = fopen(TUBORUN_MAN, "r");
  ck_assert_msg(f != NULL, "%s: expected the man page the build wrote", TUBORUN_MAN);
  char line[512], th[512] = "";
  int unfilled = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, ".TH ", 4) == 0)
      snprintf(th, sizeof th, "%s", line);
    unfilled += strstr(line, "%PACKAGE_VERSION%") != NULL;
  }
  fclose(f);
  ck_assert_msg(strstr(th, "\"tubo " PACKAGE_VERSION "\"") != NULL,
                "%s: expected a .TH line naming \"tubo %s\", got \"%s\"", TUBORUN_MAN,
                PACKAGE_VERSION, th);
  ck_assert_msg(unfilled == 0, "%s: expected %%PACKAGE_VERSION%% filled in, found %d left",
                TUBORUN_MAN, unfilled);
}
END_TEST

static Suite *errors_suite(void)
{
  Suite *s = suite_create("errors");
  TCase *tc = tcase_create("errors");
  tcase_add_test(tc, test_list_values);
  tcase_add_test(tc, test_names_and_texts);
  tcase_add_test(tc, test_enum_constants);
  tcase_add_test(tc, test_success);
  tcase_add_test(tc, test_unknown);
  tcase_add_test(tc, test_version);
  tcase_add_test(tc, test_man_version);
  suite_add_tcase(s, tc);
  return s;
}

static const th_body_t bodies[] = {{NULL, NULL, 0}};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, errors_suite);
}
