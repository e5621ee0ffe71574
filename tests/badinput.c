/* SPDX-License-Identifier: MIT */
/* The bad-input suites' shared helpers (badinput.h). */
#include "config.h"

#include "badinput.h"
#include "harness.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

const int bi_bad_ranks[BI_NRANKS] = {-1, -2, 1, INT_MAX, INT_MIN};
const int bi_bad_tags[BI_NTAGS] = {TUBO_ANY_TAG, -2, TUBO_TAG_MAX + 1, INT_MAX, INT_MIN};
const size_t bi_huge_lens[BI_NHUGE] = {SIZE_MAX, SIZE_MAX / 2 + 1};

tubo_comm_t *bi_init(void)
{
  BI_RC("tubo_init(NULL, NULL)", tubo_init(NULL, NULL), 0);
  tubo_comm_t *w = tubo_comm_world();
  ck_assert_msg(w != NULL, "tubo_comm_world() after tubo_init: expected the world, got NULL");
  return w;
}

void bi_finalize(void)
{
  BI_RC("tubo_finalize()", tubo_finalize(), 0);
}

tubo_comm_t *bi_bogus_comm(void)
{
  /* Static, so that it is valid memory: the library must reject it by address alone. */
  static _Alignas(max_align_t) unsigned char bogus[256];
  return (tubo_comm_t *)(void *)bogus;
}

int bi_worker_ok(tubo_comm_t *comm, void *arg)
{
  (void)comm;
  (void)arg;
  return 0;
}

tubo_comm_t *bi_freed_comm(void)
{
  tubo_comm_t *c = NULL;
  BI_RC("tubo_spawn(1 worker)", tubo_spawn(1, bi_worker_ok, NULL, &c), 0);
  tubo_comm_t *stale = c;
  BI_RC("tubo_spawn_join", tubo_spawn_join(&c, NULL), 0);
  return stale;
}

void bi_comm_cases(const char *name, bi_comm_call_fn call, int null_before_init, bi_extra_fn extra)
{
  char what[160];
  snprintf(what, sizeof what, "%s(NULL comm) before tubo_init", name);
  BI_RC(what, call(NULL), null_before_init);
  snprintf(what, sizeof what, "%s(bogus comm) before tubo_init", name);
  BI_RC(what, call(bi_bogus_comm()), TUBO_ENOTINIT);
  tubo_comm_t *world = bi_init();
  snprintf(what, sizeof what, "%s(NULL comm)", name);
  BI_RC(what, call(NULL), TUBO_ECOMM);
  snprintf(what, sizeof what, "%s(bogus comm)", name);
  BI_RC(what, call(bi_bogus_comm()), TUBO_ECOMM);
  snprintf(what, sizeof what, "%s(freed comm)", name);
  BI_RC(what, call(bi_freed_comm()), TUBO_ECOMM);
  if (extra != NULL)
    extra(world);
  bi_finalize();
  snprintf(what, sizeof what, "%s(world) after tubo_finalize", name);
  BI_RC(what, call(world), TUBO_ENOTINIT);
  snprintf(what, sizeof what, "%s(NULL comm) after tubo_finalize", name);
  BI_RC(what, call(NULL), null_before_init);
}

void bi_handle_cases(const char *name, bi_handle_call_fn call, void *freed)
{
  char what[128];
  snprintf(what, sizeof what, "%s(NULL)", name);
  BI_RC(what, call(NULL), TUBO_EINVAL);
  snprintf(what, sizeof what, "%s(bogus handle)", name);
  BI_RC(what, call(bi_bogus_comm()), TUBO_EINVAL);
  snprintf(what, sizeof what, "%s(freed handle)", name);
  BI_RC(what, call(freed), TUBO_EINVAL);
}

Suite *bi_suite(const char *name, const bi_test_t *tests, size_t n)
{
  Suite *s = suite_create(name);
  for (size_t i = 0; i < n; i++) {
    TCase *tc = tcase_create(tests[i].name);
    tcase_add_test(tc, tests[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int bi_main(int argc, char **argv, Suite *(*make_suite)(void))
{
  /* The harness runs each test in its own process; these suites have no rank bodies. */
  static const th_body_t no_bodies[] = {{NULL, NULL, 0}};
  return th_main(argc, argv, no_bodies, make_suite);
}
