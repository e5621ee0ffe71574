/* SPDX-License-Identifier: MIT */
/* Bad input to the dict, the list and the Namespace. One test per public function gives
 * it every kind of bad input that applies (NULL, bogus, freed handles and a live handle of
 * another kind, NULL keys and buffers, impossible lengths and indexes, bad communicators)
 * and expects the code tubo.h documents, without a crash. Each test is its own process;
 * those that need a communicator are a world of one without a launcher. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "badinput.h"

/* The handle cases of a call on handles of one kind (badinput.h's: NULL, never handed
 * out, freed, a process's handle), and a queue's handle: all give the kind's own code. */
static void kind_cases(const char *name, bi_handle_call_fn call, void *freed, int code)
{
  char what[128];
  bi_handle_cases(name, call, freed, code);
  tubo_queue_t *q = NULL;
  BI_RC("tubo_queue_create", tubo_queue_create(1, 8, 0, &q), 0);
  snprintf(what, sizeof what, "%s(a queue's handle)", name);
  BI_RC(what, call(q), code);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
}

/* ---- dict ---- */

static tubo_dict_t *new_dict(void)
{
  tubo_dict_t *d = NULL;
  BI_RC("tubo_dict_create", tubo_dict_create(&d), 0);
  BI_RC("tubo_dict_set", tubo_dict_set(d, "k", "v", 1), 0);
  return d;
}

static void *freed_dict(void)
{
  tubo_dict_t *d = new_dict();
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
  return d;
}

static void dict_cases(const char *name, bi_handle_call_fn call)
{
  kind_cases(name, call, freed_dict(), TUBO_EDICT);
}

START_TEST(test_dict_create)
{
  BI_RC("tubo_dict_create(NULL)", tubo_dict_create(NULL), TUBO_EINVAL);
}
END_TEST

static int call_dict_open(tubo_comm_t *comm)
{
  tubo_dict_t *d;
  return tubo_dict_open(comm, &d);
}

static void dict_open_extra(tubo_comm_t *world)
{
  BI_RC("tubo_dict_open(world, NULL)", tubo_dict_open(world, NULL), TUBO_EINVAL);
  tubo_dict_t *d = NULL;
  BI_RC("tubo_dict_open(world)", tubo_dict_open(world, &d), 0);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}

START_TEST(test_dict_open)
{
  bi_comm_cases("tubo_dict_open", call_dict_open, TUBO_ECOMM, dict_open_extra);
}
END_TEST

static int call_dict_set(void *h)
{
  return tubo_dict_set(h, "k", "v", 1);
}

START_TEST(test_dict_set)
{
  dict_cases("tubo_dict_set", call_dict_set);
  tubo_dict_t *d = new_dict();
  BI_RC("tubo_dict_set(NULL key)", tubo_dict_set(d, NULL, "v", 1), TUBO_EINVAL);
  BI_RC("tubo_dict_set(NULL value, length 1)", tubo_dict_set(d, "k", NULL, 1), TUBO_EINVAL);
  for (int i = 0; i < BI_NHUGE; i++)
    BI_RC("tubo_dict_set(huge length)", tubo_dict_set(d, "k", "v", bi_huge_lens[i]), TUBO_ETOOBIG);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}
END_TEST

static int call_dict_get(void *h)
{
  char buf[4];
  return tubo_dict_get(h, "k", buf, sizeof buf, NULL);
}

START_TEST(test_dict_get)
{
  dict_cases("tubo_dict_get", call_dict_get);
  tubo_dict_t *d = new_dict();
  char buf[4];
  BI_RC("tubo_dict_get(NULL key)", tubo_dict_get(d, NULL, buf, sizeof buf, NULL), TUBO_EINVAL);
  BI_RC("tubo_dict_get(NULL buffer, capacity 1)", tubo_dict_get(d, "k", NULL, 1, NULL),
        TUBO_EINVAL);
  BI_RC("tubo_dict_get(missing key)", tubo_dict_get(d, "nope", buf, sizeof buf, NULL), TUBO_ENOKEY);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}
END_TEST

static int call_dict_get_alloc(void *h)
{
  void *p = NULL;
  size_t len;
  int rc = tubo_dict_get_alloc(h, "k", &p, &len);
  free(p);
  return rc;
}

START_TEST(test_dict_get_alloc)
{
  dict_cases("tubo_dict_get_alloc", call_dict_get_alloc);
  tubo_dict_t *d = new_dict();
  void *p = (void *)1;
  BI_RC("tubo_dict_get_alloc(NULL key)", tubo_dict_get_alloc(d, NULL, &p, NULL), TUBO_EINVAL);
  BI_RC("tubo_dict_get_alloc(NULL buffer pointer)", tubo_dict_get_alloc(d, "k", NULL, NULL),
        TUBO_EINVAL);
  BI_RC("tubo_dict_get_alloc(missing key)", tubo_dict_get_alloc(d, "nope", &p, NULL), TUBO_ENOKEY);
  ck_assert_msg(p == NULL, "tubo_dict_get_alloc(missing key): expected *buf NULL");
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}
END_TEST

static int call_dict_del(void *h)
{
  return tubo_dict_del(h, "k");
}

START_TEST(test_dict_del)
{
  dict_cases("tubo_dict_del", call_dict_del);
  tubo_dict_t *d = new_dict();
  BI_RC("tubo_dict_del(NULL key)", tubo_dict_del(d, NULL), TUBO_EINVAL);
  BI_RC("tubo_dict_del(missing key)", tubo_dict_del(d, "nope"), TUBO_ENOKEY);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}
END_TEST

static int call_dict_contains(void *h)
{
  int found;
  return tubo_dict_contains(h, "k", &found);
}

START_TEST(test_dict_contains)
{
  dict_cases("tubo_dict_contains", call_dict_contains);
  tubo_dict_t *d = new_dict();
  int found;
  BI_RC("tubo_dict_contains(NULL key)", tubo_dict_contains(d, NULL, &found), TUBO_EINVAL);
  BI_RC("tubo_dict_contains(NULL found)", tubo_dict_contains(d, "k", NULL), TUBO_EINVAL);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}
END_TEST

static int call_dict_len(void *h)
{
  size_t n;
  return tubo_dict_len(h, &n);
}

START_TEST(test_dict_len)
{
  dict_cases("tubo_dict_len", call_dict_len);
  tubo_dict_t *d = new_dict();
  BI_RC("tubo_dict_len(NULL n)", tubo_dict_len(d, NULL), TUBO_EINVAL);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}
END_TEST

static int call_dict_keys(void *h)
{
  char **keys = NULL;
  size_t n;
  int rc = tubo_dict_keys(h, &keys, &n);
  free(keys);
  return rc;
}

START_TEST(test_dict_keys)
{
  dict_cases("tubo_dict_keys", call_dict_keys);
  tubo_dict_t *d = new_dict();
  char **keys;
  size_t n;
  BI_RC("tubo_dict_keys(NULL keys)", tubo_dict_keys(d, NULL, &n), TUBO_EINVAL);
  BI_RC("tubo_dict_keys(NULL n)", tubo_dict_keys(d, &keys, NULL), TUBO_EINVAL);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}
END_TEST

static int call_dict_clear(void *h)
{
  return tubo_dict_clear(h);
}

START_TEST(test_dict_clear)
{
  dict_cases("tubo_dict_clear", call_dict_clear);
}
END_TEST

static int keep_fn(void *value, size_t *len, size_t cap, void *arg)
{
  (void)value, (void)len, (void)cap, (void)arg;
  return 1;
}

static int call_dict_update(void *h)
{
  return tubo_dict_update(h, "k", keep_fn, NULL);
}

START_TEST(test_dict_update)
{
  dict_cases("tubo_dict_update", call_dict_update);
  tubo_dict_t *d = new_dict();
  BI_RC("tubo_dict_update(NULL key)", tubo_dict_update(d, NULL, keep_fn, NULL), TUBO_EINVAL);
  BI_RC("tubo_dict_update(NULL fn)", tubo_dict_update(d, "k", NULL, NULL), TUBO_EINVAL);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}
END_TEST

static int call_dict_free(void *h)
{
  return tubo_dict_free(h);
}

START_TEST(test_dict_free)
{
  dict_cases("tubo_dict_free", call_dict_free);
}
END_TEST

/* ---- list ---- */

static tubo_list_t *new_list(void)
{
  tubo_list_t *l = NULL;
  BI_RC("tubo_list_create", tubo_list_create(&l), 0);
  BI_RC("tubo_list_append", tubo_list_append(l, "v", 1), 0);
  return l;
}

static void *freed_list(void)
{
  tubo_list_t *l = new_list();
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
  return l;
}

static void list_cases(const char *name, bi_handle_call_fn call)
{
  kind_cases(name, call, freed_list(), TUBO_ELIST);
  tubo_dict_t *d = new_dict();
  char what[128];
  snprintf(what, sizeof what, "%s(a dict's handle)", name);
  BI_RC(what, call(d), TUBO_ELIST);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
}

START_TEST(test_list_create)
{
  BI_RC("tubo_list_create(NULL)", tubo_list_create(NULL), TUBO_EINVAL);
}
END_TEST

static int call_list_open(tubo_comm_t *comm)
{
  tubo_list_t *l;
  return tubo_list_open(comm, &l);
}

static void list_open_extra(tubo_comm_t *world)
{
  BI_RC("tubo_list_open(world, NULL)", tubo_list_open(world, NULL), TUBO_EINVAL);
}

START_TEST(test_list_open)
{
  bi_comm_cases("tubo_list_open", call_list_open, TUBO_ECOMM, list_open_extra);
}
END_TEST

static int call_list_append(void *h)
{
  return tubo_list_append(h, "v", 1);
}

START_TEST(test_list_append)
{
  list_cases("tubo_list_append", call_list_append);
  tubo_list_t *l = new_list();
  BI_RC("tubo_list_append(NULL item, length 1)", tubo_list_append(l, NULL, 1), TUBO_EINVAL);
  for (int i = 0; i < BI_NHUGE; i++)
    BI_RC("tubo_list_append(huge length)", tubo_list_append(l, "v", bi_huge_lens[i]), TUBO_ETOOBIG);
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
}
END_TEST

static int call_list_extend(void *h)
{
  tubo_item_t it = {"v", 1};
  return tubo_list_extend(h, &it, 1);
}

START_TEST(test_list_extend)
{
  list_cases("tubo_list_extend", call_list_extend);
  tubo_list_t *l = new_list();
  BI_RC("tubo_list_extend(NULL items, 1)", tubo_list_extend(l, NULL, 1), TUBO_EINVAL);
  tubo_item_t bad[2] = {{"v", 1}, {NULL, 3}};
  BI_RC("tubo_list_extend(an item NULL with length 3)", tubo_list_extend(l, bad, 2), TUBO_EINVAL);
  size_t n = 0;
  BI_RC("tubo_list_len", tubo_list_len(l, &n), 0);
  ck_assert_msg(n == 1, "a failed extend: expected no item added, got %zu items", n);
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
}
END_TEST

static int call_list_get(void *h)
{
  char buf[4];
  return tubo_list_get(h, 0, buf, sizeof buf, NULL);
}

static const ptrdiff_t bad_indexes[] = {1, -2, PTRDIFF_MAX, PTRDIFF_MIN, 1000000};

START_TEST(test_list_get)
{
  list_cases("tubo_list_get", call_list_get);
  tubo_list_t *l = new_list();
  char buf[4];
  BI_RC("tubo_list_get(NULL buffer, capacity 1)", tubo_list_get(l, 0, NULL, 1, NULL), TUBO_EINVAL);
  for (size_t i = 0; i < sizeof bad_indexes / sizeof bad_indexes[0]; i++)
    BI_RC("tubo_list_get(index out of range)", tubo_list_get(l, bad_indexes[i], buf, 4, NULL),
          TUBO_EINDEX);
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
}
END_TEST

static int call_list_set(void *h)
{
  return tubo_list_set(h, 0, "v", 1);
}

START_TEST(test_list_set)
{
  list_cases("tubo_list_set", call_list_set);
  tubo_list_t *l = new_list();
  BI_RC("tubo_list_set(NULL item, length 1)", tubo_list_set(l, 0, NULL, 1), TUBO_EINVAL);
  for (size_t i = 0; i < sizeof bad_indexes / sizeof bad_indexes[0]; i++)
    BI_RC("tubo_list_set(index out of range)", tubo_list_set(l, bad_indexes[i], "v", 1),
          TUBO_EINDEX);
  BI_RC("tubo_list_set(huge length)", tubo_list_set(l, 0, "v", SIZE_MAX), TUBO_ETOOBIG);
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
}
END_TEST

static int call_list_insert(void *h)
{
  return tubo_list_insert(h, 0, "v", 1);
}

START_TEST(test_list_insert)
{
  list_cases("tubo_list_insert", call_list_insert);
  tubo_list_t *l = new_list();
  BI_RC("tubo_list_insert(NULL item, length 1)", tubo_list_insert(l, 0, NULL, 1), TUBO_EINVAL);
  BI_RC("tubo_list_insert(huge length)", tubo_list_insert(l, 0, "v", SIZE_MAX), TUBO_ETOOBIG);
  /* Python's insert takes any index: far past either end is the end. */
  BI_RC("tubo_list_insert(PTRDIFF_MIN)", tubo_list_insert(l, PTRDIFF_MIN, "a", 1), 0);
  BI_RC("tubo_list_insert(PTRDIFF_MAX)", tubo_list_insert(l, PTRDIFF_MAX, "z", 1), 0);
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
}
END_TEST

static int call_list_pop(void *h)
{
  char buf[4];
  return tubo_list_pop(h, -1, buf, sizeof buf, NULL);
}

START_TEST(test_list_pop)
{
  list_cases("tubo_list_pop", call_list_pop);
  tubo_list_t *l = new_list();
  char buf[4];
  BI_RC("tubo_list_pop(NULL buffer, capacity 1)", tubo_list_pop(l, 0, NULL, 1, NULL), TUBO_EINVAL);
  for (size_t i = 0; i < sizeof bad_indexes / sizeof bad_indexes[0]; i++)
    BI_RC("tubo_list_pop(index out of range)", tubo_list_pop(l, bad_indexes[i], buf, 4, NULL),
          TUBO_EINDEX);
  BI_RC("tubo_list_pop", tubo_list_pop(l, 0, buf, sizeof buf, NULL), 0);
  BI_RC("tubo_list_pop(empty list)", tubo_list_pop(l, -1, buf, sizeof buf, NULL), TUBO_EINDEX);
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
}
END_TEST

static int call_list_len(void *h)
{
  size_t n;
  return tubo_list_len(h, &n);
}

START_TEST(test_list_len)
{
  list_cases("tubo_list_len", call_list_len);
  tubo_list_t *l = new_list();
  BI_RC("tubo_list_len(NULL n)", tubo_list_len(l, NULL), TUBO_EINVAL);
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
}
END_TEST

static int call_list_snapshot(void *h)
{
  tubo_item_t *items = NULL;
  size_t n;
  int rc = tubo_list_snapshot(h, &items, &n);
  free(items);
  return rc;
}

START_TEST(test_list_snapshot)
{
  list_cases("tubo_list_snapshot", call_list_snapshot);
  tubo_list_t *l = new_list();
  tubo_item_t *items;
  size_t n;
  BI_RC("tubo_list_snapshot(NULL items)", tubo_list_snapshot(l, NULL, &n), TUBO_EINVAL);
  BI_RC("tubo_list_snapshot(NULL n)", tubo_list_snapshot(l, &items, NULL), TUBO_EINVAL);
  BI_RC("tubo_list_free", tubo_list_free(l), 0);
}
END_TEST

static int call_list_free(void *h)
{
  return tubo_list_free(h);
}

START_TEST(test_list_free)
{
  list_cases("tubo_list_free", call_list_free);
}
END_TEST

/* ---- Namespace ---- */

static tubo_ns_t *new_ns(void)
{
  tubo_ns_t *ns = NULL;
  BI_RC("tubo_ns_create", tubo_ns_create(&ns), 0);
  BI_RC("tubo_ns_set_long", tubo_ns_set_long(ns, "n", 1), 0);
  BI_RC("tubo_ns_set_double", tubo_ns_set_double(ns, "d", 1), 0);
  BI_RC("tubo_ns_set_str", tubo_ns_set_str(ns, "s", "x"), 0);
  return ns;
}

static void *freed_ns(void)
{
  tubo_ns_t *ns = new_ns();
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
  return ns;
}

/* The handle cases (a dict's handle is no Namespace either), and the name cases. */
static void ns_cases(const char *name, bi_handle_call_fn call,
                     int (*named)(tubo_ns_t *, const char *))
{
  kind_cases(name, call, freed_ns(), TUBO_ENS);
  tubo_dict_t *d = new_dict();
  char what[128];
  snprintf(what, sizeof what, "%s(a dict's handle)", name);
  BI_RC(what, call(d), TUBO_ENS);
  BI_RC("tubo_dict_free", tubo_dict_free(d), 0);
  if (named == NULL)
    return;
  tubo_ns_t *ns = new_ns();
  snprintf(what, sizeof what, "%s(NULL name)", name);
  BI_RC(what, named(ns, NULL), TUBO_EINVAL);
  snprintf(what, sizeof what, "%s(empty name)", name);
  BI_RC(what, named(ns, ""), TUBO_EINVAL);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}

START_TEST(test_ns_create)
{
  BI_RC("tubo_ns_create(NULL)", tubo_ns_create(NULL), TUBO_EINVAL);
}
END_TEST

static int call_ns_open(tubo_comm_t *comm)
{
  tubo_ns_t *ns;
  return tubo_ns_open(comm, &ns);
}

static void ns_open_extra(tubo_comm_t *world)
{
  BI_RC("tubo_ns_open(world, NULL)", tubo_ns_open(world, NULL), TUBO_EINVAL);
}

START_TEST(test_ns_open)
{
  bi_comm_cases("tubo_ns_open", call_ns_open, TUBO_ECOMM, ns_open_extra);
}
END_TEST

static int named_set_long(tubo_ns_t *ns, const char *name)
{
  return tubo_ns_set_long(ns, name, 1);
}

static int call_ns_set_long(void *h)
{
  return named_set_long(h, "n");
}

START_TEST(test_ns_set_long)
{
  ns_cases("tubo_ns_set_long", call_ns_set_long, named_set_long);
}
END_TEST

static int named_get_long(tubo_ns_t *ns, const char *name)
{
  long v;
  return tubo_ns_get_long(ns, name, &v);
}

static int call_ns_get_long(void *h)
{
  return named_get_long(h, "n");
}

START_TEST(test_ns_get_long)
{
  ns_cases("tubo_ns_get_long", call_ns_get_long, named_get_long);
  tubo_ns_t *ns = new_ns();
  BI_RC("tubo_ns_get_long(NULL v)", tubo_ns_get_long(ns, "n", NULL), TUBO_EINVAL);
  BI_RC("tubo_ns_get_long(missing)", named_get_long(ns, "nope"), TUBO_ENOKEY);
  BI_RC("tubo_ns_get_long(a double)", named_get_long(ns, "d"), TUBO_ETYPE);
  BI_RC("tubo_ns_get_long(a string)", named_get_long(ns, "s"), TUBO_ETYPE);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}
END_TEST

static int named_add_long(tubo_ns_t *ns, const char *name)
{
  return tubo_ns_add_long(ns, name, 1, NULL);
}

static int call_ns_add_long(void *h)
{
  return named_add_long(h, "n");
}

START_TEST(test_ns_add_long)
{
  ns_cases("tubo_ns_add_long", call_ns_add_long, named_add_long);
  tubo_ns_t *ns = new_ns();
  BI_RC("tubo_ns_add_long(missing)", named_add_long(ns, "nope"), TUBO_ENOKEY);
  BI_RC("tubo_ns_add_long(a double)", named_add_long(ns, "d"), TUBO_ETYPE);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}
END_TEST

static int named_set_double(tubo_ns_t *ns, const char *name)
{
  return tubo_ns_set_double(ns, name, 1.5);
}

static int call_ns_set_double(void *h)
{
  return named_set_double(h, "d");
}

START_TEST(test_ns_set_double)
{
  ns_cases("tubo_ns_set_double", call_ns_set_double, named_set_double);
}
END_TEST

static int named_get_double(tubo_ns_t *ns, const char *name)
{
  double v;
  return tubo_ns_get_double(ns, name, &v);
}

static int call_ns_get_double(void *h)
{
  return named_get_double(h, "d");
}

START_TEST(test_ns_get_double)
{
  ns_cases("tubo_ns_get_double", call_ns_get_double, named_get_double);
  tubo_ns_t *ns = new_ns();
  BI_RC("tubo_ns_get_double(NULL v)", tubo_ns_get_double(ns, "d", NULL), TUBO_EINVAL);
  BI_RC("tubo_ns_get_double(missing)", named_get_double(ns, "nope"), TUBO_ENOKEY);
  BI_RC("tubo_ns_get_double(a long)", named_get_double(ns, "n"), TUBO_ETYPE);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}
END_TEST

static int named_add_double(tubo_ns_t *ns, const char *name)
{
  return tubo_ns_add_double(ns, name, 1, NULL);
}

static int call_ns_add_double(void *h)
{
  return named_add_double(h, "d");
}

START_TEST(test_ns_add_double)
{
  ns_cases("tubo_ns_add_double", call_ns_add_double, named_add_double);
  tubo_ns_t *ns = new_ns();
  BI_RC("tubo_ns_add_double(missing)", named_add_double(ns, "nope"), TUBO_ENOKEY);
  BI_RC("tubo_ns_add_double(a long)", named_add_double(ns, "n"), TUBO_ETYPE);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}
END_TEST

static int named_set_str(tubo_ns_t *ns, const char *name)
{
  return tubo_ns_set_str(ns, name, "x");
}

static int call_ns_set_str(void *h)
{
  return named_set_str(h, "s");
}

START_TEST(test_ns_set_str)
{
  ns_cases("tubo_ns_set_str", call_ns_set_str, named_set_str);
  tubo_ns_t *ns = new_ns();
  BI_RC("tubo_ns_set_str(NULL string)", tubo_ns_set_str(ns, "s", NULL), TUBO_EINVAL);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}
END_TEST

static int named_get_str(tubo_ns_t *ns, const char *name)
{
  char buf[8];
  return tubo_ns_get_str(ns, name, buf, sizeof buf);
}

static int call_ns_get_str(void *h)
{
  return named_get_str(h, "s");
}

START_TEST(test_ns_get_str)
{
  ns_cases("tubo_ns_get_str", call_ns_get_str, named_get_str);
  tubo_ns_t *ns = new_ns();
  char buf[8];
  BI_RC("tubo_ns_get_str(NULL buffer)", tubo_ns_get_str(ns, "s", NULL, 8), TUBO_EINVAL);
  BI_RC("tubo_ns_get_str(capacity 0)", tubo_ns_get_str(ns, "s", buf, 0), TUBO_EINVAL);
  BI_RC("tubo_ns_get_str(missing)", named_get_str(ns, "nope"), TUBO_ENOKEY);
  BI_RC("tubo_ns_get_str(a long)", named_get_str(ns, "n"), TUBO_ETYPE);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}
END_TEST

static int named_del(tubo_ns_t *ns, const char *name)
{
  return tubo_ns_del(ns, name);
}

static int call_ns_del(void *h)
{
  return named_del(h, "n");
}

START_TEST(test_ns_del)
{
  ns_cases("tubo_ns_del", call_ns_del, named_del);
  tubo_ns_t *ns = new_ns();
  BI_RC("tubo_ns_del(missing)", named_del(ns, "nope"), TUBO_ENOKEY);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}
END_TEST

static int call_ns_names(void *h)
{
  char **names = NULL;
  size_t n;
  int rc = tubo_ns_names(h, &names, &n);
  free(names);
  return rc;
}

START_TEST(test_ns_names)
{
  ns_cases("tubo_ns_names", call_ns_names, NULL);
  tubo_ns_t *ns = new_ns();
  char **names;
  size_t n;
  BI_RC("tubo_ns_names(NULL names)", tubo_ns_names(ns, NULL, &n), TUBO_EINVAL);
  BI_RC("tubo_ns_names(NULL n)", tubo_ns_names(ns, &names, NULL), TUBO_EINVAL);
  BI_RC("tubo_ns_free", tubo_ns_free(ns), 0);
}
END_TEST

static int call_ns_free(void *h)
{
  return tubo_ns_free(h);
}

START_TEST(test_ns_free)
{
  ns_cases("tubo_ns_free", call_ns_free, NULL);
}
END_TEST

static Suite *badinput_manager_suite(void)
{
  const bi_test_t tests[] = {
      {"tubo_dict_create", test_dict_create},
      {"tubo_dict_open", test_dict_open},
      {"tubo_dict_set", test_dict_set},
      {"tubo_dict_get", test_dict_get},
      {"tubo_dict_get_alloc", test_dict_get_alloc},
      {"tubo_dict_del", test_dict_del},
      {"tubo_dict_contains", test_dict_contains},
      {"tubo_dict_len", test_dict_len},
      {"tubo_dict_keys", test_dict_keys},
      {"tubo_dict_clear", test_dict_clear},
      {"tubo_dict_update", test_dict_update},
      {"tubo_dict_free", test_dict_free},
      {"tubo_list_create", test_list_create},
      {"tubo_list_open", test_list_open},
      {"tubo_list_append", test_list_append},
      {"tubo_list_extend", test_list_extend},
      {"tubo_list_get", test_list_get},
      {"tubo_list_set", test_list_set},
      {"tubo_list_insert", test_list_insert},
      {"tubo_list_pop", test_list_pop},
      {"tubo_list_len", test_list_len},
      {"tubo_list_snapshot", test_list_snapshot},
      {"tubo_list_free", test_list_free},
      {"tubo_ns_create", test_ns_create},
      {"tubo_ns_open", test_ns_open},
      {"tubo_ns_set_long", test_ns_set_long},
      {"tubo_ns_get_long", test_ns_get_long},
      {"tubo_ns_add_long", test_ns_add_long},
      {"tubo_ns_set_double", test_ns_set_double},
      {"tubo_ns_get_double", test_ns_get_double},
      {"tubo_ns_add_double", test_ns_add_double},
      {"tubo_ns_set_str", test_ns_set_str},
      {"tubo_ns_get_str", test_ns_get_str},
      {"tubo_ns_del", test_ns_del},
      {"tubo_ns_names", test_ns_names},
      {"tubo_ns_free", test_ns_free},
  };
  return bi_suite("badinput_manager", tests, sizeof tests / sizeof tests[0]);
}

int main(int argc, char **argv)
{
  return bi_main(argc, argv, badinput_manager_suite);
}
