/* SPDX-License-Identifier: MIT */
/* The bad-input suites' shared helpers (badinput.h). */
#include "config.h"

#include "badinput.h"
#include "harness.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* -2 is TUBO_PROC_NULL, a valid peer: -3 is the next negative rank that is none. */
const int bi_bad_ranks[BI_NRANKS] = {-1, -3, 1, INT_MAX, INT_MIN};
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

int bi_process_ok(void *arg)
{
  (void)arg;
  return 0;
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

void *bi_foreign_handle(int kind_code)
{
  if (kind_code == TUBO_EPROCESS) {
    tubo_queue_t *q = NULL;
    BI_RC("tubo_queue_create", tubo_queue_create(1, 1, 0, &q), 0);
    return q;
  }
  tubo_process_t *p = NULL;
  BI_RC("tubo_process_create", tubo_process_create(bi_process_ok, NULL, &p), 0);
  return p;
}

void bi_foreign_free(void *h, int kind_code)
{
  if (kind_code == TUBO_EPROCESS)
    BI_RC("tubo_queue_free", tubo_queue_free(h), 0);
  else
    BI_RC("tubo_process_free", tubo_process_free(h), 0);
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
  void *foreign = bi_foreign_handle(TUBO_ECOMM);
  snprintf(what, sizeof what, "%s(a process handle as the comm)", name);
  BI_RC(what, call(foreign), TUBO_ECOMM);
  bi_foreign_free(foreign, TUBO_ECOMM);
  if (extra != NULL)
    extra(world);
  bi_finalize();
  snprintf(what, sizeof what, "%s(world) after tubo_finalize", name);
  BI_RC(what, call(world), TUBO_ENOTINIT);
  snprintf(what, sizeof what, "%s(NULL comm) after tubo_finalize", name);
  BI_RC(what, call(NULL), null_before_init);
}

void bi_handle_cases(const char *name, bi_handle_call_fn call, void *freed, int bad_handle)
{
  char what[128];
  snprintf(what, sizeof what, "%s(NULL)", name);
  BI_RC(what, call(NULL), bad_handle);
  snprintf(what, sizeof what, "%s(bogus handle)", name);
  BI_RC(what, call(bi_bogus_comm()), bad_handle);
  snprintf(what, sizeof what, "%s(freed handle)", name);
  BI_RC(what, call(freed), bad_handle);
  void *foreign = bi_foreign_handle(bad_handle);
  snprintf(what, sizeof what, "%s(a live handle of another kind)", name);
  BI_RC(what, call(foreign), bad_handle);
  bi_foreign_free(foreign, bad_handle);
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
