/* SPDX-License-Identifier: MIT */
/* Bad input to the CSP calls: channels, their ends, Alternation, Parallel and Sequence.
 * One test per public function, every kind of bad input that applies, the code tubo.h
 * documents, no crash, and no wait for ever (every call here returns at once). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "badinput.h"

static tubo_channel_t *new_channel(size_t capacity)
{
  tubo_channel_t *ch = NULL;
  BI_RC("tubo_channel_create", tubo_channel_create(capacity, &ch), 0);
  return ch;
}

static void *freed_channel(void)
{
  tubo_channel_t *ch = new_channel(1);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
  return ch;
}

/* NULL, bogus, freed, and live handles of other kinds (a process, a queue, a dict):
 * TUBO_ECHANNEL. */
static void channel_cases(const char *name, bi_handle_call_fn call)
{
  char what[128];
  bi_handle_cases(name, call, freed_channel(), TUBO_ECHANNEL);
  tubo_queue_t *q = NULL;
  BI_RC("tubo_queue_create", tubo_queue_create(1, 8, 0, &q), 0);
  snprintf(what, sizeof what, "%s(a queue's handle)", name);
  BI_RC(what, call(q), TUBO_ECHANNEL);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
  tubo_dict_t *d = NULL;
  BI_RC("tubo_dict_create", tubo_dict_create(&d), 0);
  snprintf(what, sizeof what, "%s(a dict's handle)", name);
  BI_RC(what, call(d), TUBO_ECHANNEL);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}

START_TEST(test_channel_create)
{
  tubo_channel_t *ch = NULL;
  BI_RC("tubo_channel_create(NULL)", tubo_channel_create(0, NULL), TUBO_EINVAL);
  BI_RC("tubo_channel_create(SIZE_MAX)", tubo_channel_create(SIZE_MAX, &ch), TUBO_ETOOBIG);
  BI_RC("tubo_channel_create((size_t)1 << 40)", tubo_channel_create((size_t)1 << 40, &ch),
        TUBO_ETOOBIG);
  ck_assert_msg(ch == NULL, "failed creates: expected no channel");
}
END_TEST

static int call_channel_open(tubo_comm_t *comm)
{
  tubo_channel_t *ch;
  return tubo_channel_open(comm, 0, &ch);
}

static void channel_open_extra(tubo_comm_t *world)
{
  tubo_channel_t *ch = NULL;
  BI_RC("tubo_channel_open(world, 0, NULL)", tubo_channel_open(world, 0, NULL), TUBO_EINVAL);
  BI_RC("tubo_channel_open(world, SIZE_MAX)", tubo_channel_open(world, SIZE_MAX, &ch),
        TUBO_ETOOBIG);
  BI_RC("tubo_channel_open(world, 2)", tubo_channel_open(world, 2, &ch), 0);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
}

START_TEST(test_channel_open)
{
  bi_comm_cases("tubo_channel_open", call_channel_open, TUBO_ECOMM, channel_open_extra);
}
END_TEST

static int call_channel_reader(void *h)
{
  tubo_channel_t *in = NULL;
  int rc = tubo_channel_reader(h, &in);
  if (rc == 0)
    tubo_channel_free(in);
  return rc;
}

START_TEST(test_channel_reader)
{
  channel_cases("tubo_channel_reader", call_channel_reader);
  tubo_channel_t *ch = new_channel(0);
  BI_RC("tubo_channel_reader(ch, NULL)", tubo_channel_reader(ch, NULL), TUBO_EINVAL);
  BI_RC("tubo_channel_poison", tubo_channel_poison(ch), 0);
  BI_RC("tubo_channel_reader(poisoned)", call_channel_reader(ch), TUBO_EPOISON);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
}
END_TEST

static int call_channel_writer(void *h)
{
  tubo_channel_t *out = NULL;
  int rc = tubo_channel_writer(h, &out);
  if (rc == 0)
    tubo_channel_free(out);
  return rc;
}

START_TEST(test_channel_writer)
{
  channel_cases("tubo_channel_writer", call_channel_writer);
  tubo_channel_t *ch = new_channel(0), *out = NULL;
  BI_RC("tubo_channel_writer(ch, NULL)", tubo_channel_writer(ch, NULL), TUBO_EINVAL);
  BI_RC("tubo_channel_writer", tubo_channel_writer(ch, &out), 0);
  BI_RC("tubo_channel_retire", tubo_channel_retire(out), 0);
  BI_RC("tubo_channel_writer(retired)", call_channel_writer(ch), TUBO_ERETIRED);
  BI_RC("tubo_channel_free", tubo_channel_free(out), 0);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
}
END_TEST

static int call_channel_write(void *h)
{
  return tubo_channel_write(h, "x", 1);
}

START_TEST(test_channel_write)
{
  channel_cases("tubo_channel_write", call_channel_write);
  tubo_channel_t *ch = new_channel(1), *in = NULL;
  BI_RC("tubo_channel_write(NULL buffer, length 1)", tubo_channel_write(ch, NULL, 1), TUBO_EINVAL);
  for (int i = 0; i < BI_NHUGE; i++)
    BI_RC("tubo_channel_write(huge length)", tubo_channel_write(ch, "x", bi_huge_lens[i]),
          TUBO_ETOOBIG);
  BI_RC("tubo_channel_reader", tubo_channel_reader(ch, &in), 0);
  BI_RC("tubo_channel_write(reading end)", tubo_channel_write(in, "x", 1), TUBO_ENOTSUP);
  BI_RC("tubo_channel_free", tubo_channel_free(in), 0);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
}
END_TEST

static int call_channel_read(void *h)
{
  char buf[4];
  return tubo_channel_read(h, buf, sizeof buf, NULL);
}

START_TEST(test_channel_read)
{
  channel_cases("tubo_channel_read", call_channel_read);
  tubo_channel_t *ch = new_channel(1), *out = NULL;
  BI_RC("tubo_channel_read(NULL buffer, capacity 1)", tubo_channel_read(ch, NULL, 1, NULL),
        TUBO_EINVAL);
  BI_RC("tubo_channel_writer", tubo_channel_writer(ch, &out), 0);
  BI_RC("tubo_channel_read(writing end)", call_channel_read(out), TUBO_ENOTSUP);
  BI_RC("tubo_channel_free", tubo_channel_free(out), 0);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
}
END_TEST

static int call_channel_read_alloc(void *h)
{
  void *p = NULL;
  size_t len;
  int rc = tubo_channel_read_alloc(h, &p, &len);
  free(p);
  return rc;
}

START_TEST(test_channel_read_alloc)
{
  channel_cases("tubo_channel_read_alloc", call_channel_read_alloc);
  tubo_channel_t *ch = new_channel(1), *out = NULL;
  BI_RC("tubo_channel_read_alloc(NULL buffer pointer)", tubo_channel_read_alloc(ch, NULL, NULL),
        TUBO_EINVAL);
  BI_RC("tubo_channel_writer", tubo_channel_writer(ch, &out), 0);
  BI_RC("tubo_channel_read_alloc(writing end)", call_channel_read_alloc(out), TUBO_ENOTSUP);
  BI_RC("tubo_channel_free", tubo_channel_free(out), 0);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
}
END_TEST

static int call_channel_poison(void *h)
{
  return tubo_channel_poison(h);
}

START_TEST(test_channel_poison)
{
  channel_cases("tubo_channel_poison", call_channel_poison);
}
END_TEST

static int call_channel_retire(void *h)
{
  return tubo_channel_retire(h);
}

START_TEST(test_channel_retire)
{
  channel_cases("tubo_channel_retire", call_channel_retire);
  tubo_channel_t *ch = new_channel(0), *in = NULL;
  BI_RC("tubo_channel_retire(the channel's own handle)", tubo_channel_retire(ch), TUBO_EINVAL);
  BI_RC("tubo_channel_reader", tubo_channel_reader(ch, &in), 0);
  BI_RC("tubo_channel_retire", tubo_channel_retire(in), 0);
  BI_RC("tubo_channel_retire(again)", tubo_channel_retire(in), TUBO_ERETIRED);
  BI_RC("tubo_channel_free", tubo_channel_free(in), 0);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
}
END_TEST

static int call_channel_free(void *h)
{
  return tubo_channel_free(h);
}

START_TEST(test_channel_free)
{
  channel_cases("tubo_channel_free", call_channel_free);
}
END_TEST

static int call_alt_select(void *h)
{
  char buf[4];
  tubo_guard_t g[2] = {TUBO_IN_GUARD(h, buf, sizeof buf), TUBO_SKIP_GUARD};
  size_t chosen;
  return tubo_alt_select(g, 2, 0, &chosen);
}

START_TEST(test_alt_select)
{
  channel_cases("tubo_alt_select(a guard's channel)", call_alt_select);
  tubo_channel_t *ch = new_channel(1), *in = NULL;
  char buf[4];
  size_t chosen = 0;
  tubo_guard_t g[2] = {TUBO_IN_GUARD(ch, buf, sizeof buf), TUBO_SKIP_GUARD};
  BI_RC("tubo_alt_select(NULL guards)", tubo_alt_select(NULL, 1, 0, &chosen), TUBO_EINVAL);
  BI_RC("tubo_alt_select(0 guards)", tubo_alt_select(g, 0, 0, &chosen), TUBO_EINVAL);
  BI_RC("tubo_alt_select(NULL chosen)", tubo_alt_select(g, 2, 0, NULL), TUBO_EINVAL);
  BI_RC("tubo_alt_select(unknown flag)", tubo_alt_select(g, 2, 2, &chosen), TUBO_EINVAL);
  BI_RC("tubo_alt_select(flags ~0)", tubo_alt_select(g, 2, ~0u, &chosen), TUBO_EINVAL);
  tubo_guard_t bad = g[0];
  bad.kind = (tubo_guard_kind_t)99;
  BI_RC("tubo_alt_select(a guard of no kind)", tubo_alt_select(&bad, 1, 0, &chosen), TUBO_EINVAL);
  bad = g[0];
  bad.in = NULL;
  BI_RC("tubo_alt_select(input guard, NULL room of 4)", tubo_alt_select(&bad, 1, 0, &chosen),
        TUBO_EINVAL);
  bad = TUBO_OUT_GUARD(ch, NULL, 3);
  BI_RC("tubo_alt_select(output guard, NULL message of 3)", tubo_alt_select(&bad, 1, 0, &chosen),
        TUBO_EINVAL);
  tubo_guard_t two[2] = {TUBO_TIMEOUT_GUARD(0), TUBO_TIMEOUT_GUARD(0)};
  BI_RC("tubo_alt_select(two timeout guards)", tubo_alt_select(two, 2, 0, &chosen), TUBO_EINVAL);
  BI_RC("tubo_channel_reader", tubo_channel_reader(ch, &in), 0);
  tubo_guard_t wrong[2] = {TUBO_OUT_GUARD(in, "x", 1), TUBO_SKIP_GUARD};
  BI_RC("tubo_alt_select(output guard on a reading end)", tubo_alt_select(wrong, 2, 0, &chosen),
        TUBO_ENOTSUP);
  BI_RC("tubo_channel_free", tubo_channel_free(in), 0);
  /* A fair choice with a stale *chosen starts anywhere valid. */
  chosen = SIZE_MAX;
  BI_RC("tubo_alt_select(fair, *chosen SIZE_MAX)", tubo_alt_select(g, 2, TUBO_ALT_FAIR, &chosen),
        0);
  BI_RC("tubo_channel_free", tubo_channel_free(ch), 0);
}
END_TEST

static int csp_ok(void *arg)
{
  (void)arg;
  return 0;
}

START_TEST(test_parallel)
{
  tubo_csp_process_t p[2] = {TUBO_CSP_PROCESS(csp_ok, NULL), TUBO_CSP_PROCESS(NULL, NULL)};
  BI_RC("tubo_parallel(NULL procs, 1)", tubo_parallel(NULL, 1, NULL), TUBO_EINVAL);
  BI_RC("tubo_parallel(a NULL function)", tubo_parallel(p, 2, NULL), TUBO_EINVAL);
  BI_RC("tubo_parallel(NULL procs, 0)", tubo_parallel(NULL, 0, NULL), 0);
}
END_TEST

START_TEST(test_sequence)
{
  tubo_csp_process_t p[2] = {TUBO_CSP_PROCESS(csp_ok, NULL), TUBO_CSP_PROCESS(NULL, NULL)};
  BI_RC("tubo_sequence(NULL procs, 1)", tubo_sequence(NULL, 1, NULL), TUBO_EINVAL);
  BI_RC("tubo_sequence(a NULL function)", tubo_sequence(p, 2, NULL), TUBO_EINVAL);
  BI_RC("tubo_sequence(NULL procs, 0)", tubo_sequence(NULL, 0, NULL), 0);
}
END_TEST

static Suite *badinput_csp_suite(void)
{
  const bi_test_t tests[] = {
      {"tubo_channel_create", test_channel_create},
      {"tubo_channel_open", test_channel_open},
      {"tubo_channel_reader", test_channel_reader},
      {"tubo_channel_writer", test_channel_writer},
      {"tubo_channel_write", test_channel_write},
      {"tubo_channel_read", test_channel_read},
      {"tubo_channel_read_alloc", test_channel_read_alloc},
      {"tubo_channel_poison", test_channel_poison},
      {"tubo_channel_retire", test_channel_retire},
      {"tubo_channel_free", test_channel_free},
      {"tubo_alt_select", test_alt_select},
      {"tubo_parallel", test_parallel},
      {"tubo_sequence", test_sequence},
  };
  return bi_suite("badinput_csp", tests, sizeof tests / sizeof tests[0]);
}

int main(int argc, char **argv)
{
  return bi_main(argc, argv, badinput_csp_suite);
}
