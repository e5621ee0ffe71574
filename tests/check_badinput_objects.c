/* SPDX-License-Identifier: MIT */
/* Bad input to Queue, Array and Value. One test per public function gives it every kind
 * of bad input that applies (NULL, bogus and freed handles, closed queues, NULL buffers,
 * impossible sizes and types, bad communicators) and expects the code tubo.h documents,
 * without a crash. Each test is its own process; those that need a communicator are a
 * world of one without a launcher. */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "badinput.h"

/* ---- Queue ---- */

static tubo_queue_t *new_queue(unsigned flags)
{
  tubo_queue_t *q = NULL;
  BI_RC("tubo_queue_create", tubo_queue_create(2, 8, flags, &q), 0);
  return q;
}

static void *freed_queue(void)
{
  tubo_queue_t *q = new_queue(TUBO_QUEUE_JOINABLE);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
  return q;
}

/* The handle cases, and the call on a closed joinable queue. */
static void queue_cases(const char *name, bi_handle_call_fn call)
{
  bi_handle_cases(name, call, freed_queue(), TUBO_EQUEUE);
  tubo_queue_t *q = new_queue(TUBO_QUEUE_JOINABLE);
  BI_RC("tubo_queue_close", tubo_queue_close(q), 0);
  char what[128];
  snprintf(what, sizeof what, "%s(closed queue)", name);
  BI_RC(what, call(q), TUBO_ECLOSED);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
}

/* Arguments no queue can be made with, for tubo_queue_create and tubo_queue_open. */
typedef int (*queue_make_fn)(tubo_comm_t *comm, size_t capacity, size_t item_max, unsigned flags,
                             tubo_queue_t **q);

static void queue_make_cases(const char *name, queue_make_fn make, tubo_comm_t *comm)
{
  static const struct {
    size_t capacity, item_max;
    unsigned flags;
    int want;
    const char *bad;
  } c[] = {
      {TUBO_QUEUE_UNBOUNDED, 0, 0, TUBO_EINVAL, "unbounded, item_max 0"},
      {TUBO_QUEUE_UNBOUNDED, 8, 0x2, TUBO_EINVAL, "unbounded, unknown flag 0x2"},
      {TUBO_QUEUE_UNBOUNDED, SIZE_MAX, 0, TUBO_ETOOBIG, "unbounded, item_max SIZE_MAX"},
      {4, 0, 0, TUBO_EINVAL, "item_max 0"},
      {4, 8, 0x2, TUBO_EINVAL, "unknown flag 0x2"},
      {4, 8, ~0u, TUBO_EINVAL, "flags ~0"},
      {SIZE_MAX, 8, 0, TUBO_ETOOBIG, "capacity SIZE_MAX"},
      {4, SIZE_MAX, 0, TUBO_ETOOBIG, "item_max SIZE_MAX"},
      {SIZE_MAX / 2, 1024, 0, TUBO_ETOOBIG, "capacity SIZE_MAX / 2"},
  };
  char what[128];
  tubo_queue_t *q = NULL;
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    snprintf(what, sizeof what, "%s(%s)", name, c[i].bad);
    BI_RC(what, make(comm, c[i].capacity, c[i].item_max, c[i].flags, &q), c[i].want);
  }
  snprintf(what, sizeof what, "%s(NULL queue)", name);
  BI_RC(what, make(comm, 4, 8, 0, NULL), TUBO_EINVAL);
  ck_assert_msg(q == NULL, "%s: failed calls must make no queue", name);
}

static int queue_create_as_make(tubo_comm_t *comm, size_t capacity, size_t item_max, unsigned flags,
                                tubo_queue_t **q)
{
  (void)comm;
  return tubo_queue_create(capacity, item_max, flags, q);
}

START_TEST(test_queue_create)
{
  queue_make_cases("tubo_queue_create", queue_create_as_make, NULL);
}
END_TEST

static int call_queue_open(tubo_comm_t *comm)
{
  tubo_queue_t *q;
  return tubo_queue_open(comm, 4, 8, 0, &q);
}

static void queue_open_extra(tubo_comm_t *world)
{
  queue_make_cases("tubo_queue_open", tubo_queue_open, world);
}

/* No case uses a queue or an array opened on a world after tubo_finalize: its memory
 * went with the job, and tubo.h says such a use is undefined. */
START_TEST(test_queue_open)
{
  /* A NULL communicator is told apart without a world: TUBO_ECOMM even before init. */
  bi_comm_cases("tubo_queue_open", call_queue_open, TUBO_ECOMM, queue_open_extra);
}
END_TEST

static int call_queue_put(void *h)
{
  char item = 0;
  return tubo_queue_put(h, &item, 1, 0);
}

START_TEST(test_queue_put)
{
  queue_cases("tubo_queue_put", call_queue_put);
  tubo_queue_t *q = new_queue(0);
  char item[16] = {0};
  BI_RC("tubo_queue_put(NULL item, length 1)", tubo_queue_put(q, NULL, 1, 0), TUBO_EINVAL);
  BI_RC("tubo_queue_put(length item_max + 1)", tubo_queue_put(q, item, 9, 0), TUBO_ETOOBIG);
  for (int i = 0; i < BI_NHUGE; i++)
    BI_RC("tubo_queue_put(huge length)", tubo_queue_put(q, item, bi_huge_lens[i], 0), TUBO_ETOOBIG);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
}
END_TEST

static int call_queue_get(void *h)
{
  char buf[8];
  return tubo_queue_get(h, buf, sizeof buf, NULL, 0);
}

START_TEST(test_queue_get)
{
  queue_cases("tubo_queue_get", call_queue_get);
  tubo_queue_t *q = new_queue(0);
  BI_RC("tubo_queue_get(NULL buffer, capacity 1)", tubo_queue_get(q, NULL, 1, NULL, 0),
        TUBO_EINVAL);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
}
END_TEST

/* size, empty and full: the handle cases, and NULL for the answer. */
typedef int (*queue_look_fn)(const tubo_queue_t *q, void *out);
static queue_look_fn look_fn;

static int call_queue_look(void *h)
{
  size_t out; /* room for each answer's type */
  return look_fn(h, &out);
}

static void queue_look_cases(const char *name, queue_look_fn fn)
{
  look_fn = fn;
  queue_cases(name, call_queue_look);
  tubo_queue_t *q = new_queue(0);
  char what[128];
  snprintf(what, sizeof what, "%s(q, NULL)", name);
  BI_RC(what, fn(q, NULL), TUBO_EINVAL);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
}

static int queue_size_as_look(const tubo_queue_t *q, void *out)
{
  return tubo_queue_size(q, out);
}

static int queue_empty_as_look(const tubo_queue_t *q, void *out)
{
  return tubo_queue_empty(q, out);
}

static int queue_full_as_look(const tubo_queue_t *q, void *out)
{
  return tubo_queue_full(q, out);
}

START_TEST(test_queue_size)
{
  queue_look_cases("tubo_queue_size", queue_size_as_look);
}
END_TEST

START_TEST(test_queue_empty)
{
  queue_look_cases("tubo_queue_empty", queue_empty_as_look);
}
END_TEST

START_TEST(test_queue_full)
{
  queue_look_cases("tubo_queue_full", queue_full_as_look);
}
END_TEST

/* The cases of a JoinableQueue call: also TUBO_ENOTSUP on a plain queue. */
static void joinable_cases(const char *name, bi_handle_call_fn call)
{
  queue_cases(name, call);
  tubo_queue_t *q = new_queue(0);
  char what[128];
  snprintf(what, sizeof what, "%s(queue not joinable)", name);
  BI_RC(what, call(q), TUBO_ENOTSUP);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
}

static int call_queue_task_done(void *h)
{
  return tubo_queue_task_done(h);
}

START_TEST(test_queue_task_done)
{
  joinable_cases("tubo_queue_task_done", call_queue_task_done);
  tubo_queue_t *q = new_queue(TUBO_QUEUE_JOINABLE);
  BI_RC("tubo_queue_task_done(more times than items put)", tubo_queue_task_done(q), TUBO_EINVAL);
  BI_RC("tubo_queue_free", tubo_queue_free(q), 0);
}
END_TEST

static int call_queue_join(void *h)
{
  return tubo_queue_join(h, 0);
}

START_TEST(test_queue_join)
{
  joinable_cases("tubo_queue_join", call_queue_join);
}
END_TEST

static int call_queue_close(void *h)
{
  return tubo_queue_close(h);
}

START_TEST(test_queue_close)
{
  /* The closed queue case is a second close. */
  queue_cases("tubo_queue_close", call_queue_close);
}
END_TEST

static int call_queue_free(void *h)
{
  return tubo_queue_free(h);
}

START_TEST(test_queue_free)
{
  bi_handle_cases("tubo_queue_free", call_queue_free, freed_queue(), TUBO_EQUEUE);
}
END_TEST

/* ---- Array and Value ---- */

/* Arrays and values share their calls' checks, each with handles of its own kind. Each
 * test below runs for the array call or the value call named by its table. */
static tubo_array_t *new_array(void)
{
  tubo_array_t *a = NULL;
  BI_RC("tubo_array_create", tubo_array_create(TUBO_INT, 4, &a), 0);
  return a;
}

static void *freed_array(void)
{
  tubo_array_t *a = new_array();
  BI_RC("tubo_array_free", tubo_array_free(a), 0);
  return a;
}

static tubo_value_t *new_value(void)
{
  tubo_value_t *v = NULL;
  BI_RC("tubo_value_create", tubo_value_create(TUBO_INT, NULL, &v), 0);
  return v;
}

static void *freed_value(void)
{
  tubo_value_t *v = new_value();
  BI_RC("tubo_value_free", tubo_value_free(v), 0);
  return v;
}

/* Types no array can hold: not one of Python's typecodes. */
static const int bad_types[] = {0, 'x', 'Z', -1, INT_MAX};
#define NBAD_TYPES (sizeof bad_types / sizeof bad_types[0])

/* A call that makes an array or a value; h receives the handle (h may be NULL). */
typedef int (*shared_make_fn)(tubo_comm_t *comm, tubo_type_t type, size_t length, void **h);

/* Impossible types, lengths and a NULL handle pointer (with_length: the call takes one). */
static void shared_make_cases(const char *name, shared_make_fn make, tubo_comm_t *comm,
                              int with_length)
{
  char what[128];
  void *h = NULL;
  for (size_t i = 0; i < NBAD_TYPES; i++) {
    snprintf(what, sizeof what, "%s(type %d)", name, bad_types[i]);
    BI_RC(what, make(comm, (tubo_type_t)bad_types[i], 4, &h), TUBO_EINVAL);
  }
  if (with_length) {
    snprintf(what, sizeof what, "%s(length 0)", name);
    BI_RC(what, make(comm, TUBO_INT, 0, &h), TUBO_EINVAL);
    for (int i = 0; i < BI_NHUGE; i++) {
      snprintf(what, sizeof what, "%s(length %zu)", name, bi_huge_lens[i]);
      BI_RC(what, make(comm, TUBO_INT, bi_huge_lens[i], &h), TUBO_ETOOBIG);
    }
  }
  snprintf(what, sizeof what, "%s(NULL handle)", name);
  BI_RC(what, make(comm, TUBO_INT, 4, NULL), TUBO_EINVAL);
  ck_assert_msg(h == NULL, "%s: failed calls must make nothing", name);
}

static int array_create_as_make(tubo_comm_t *comm, tubo_type_t type, size_t length, void **h)
{
  (void)comm;
  tubo_array_t *a = NULL;
  int rc = tubo_array_create(type, length, h != NULL ? &a : NULL);
  if (h != NULL)
    *h = a;
  return rc;
}

static int array_open_as_make(tubo_comm_t *comm, tubo_type_t type, size_t length, void **h)
{
  tubo_array_t *a = NULL;
  int rc = tubo_array_open(comm, type, length, h != NULL ? &a : NULL);
  if (h != NULL)
    *h = a;
  return rc;
}

static int value_create_as_make(tubo_comm_t *comm, tubo_type_t type, size_t length, void **h)
{
  (void)comm;
  (void)length;
  tubo_value_t *v = NULL;
  int rc = tubo_value_create(type, NULL, h != NULL ? &v : NULL);
  if (h != NULL)
    *h = v;
  return rc;
}

static int value_open_as_make(tubo_comm_t *comm, tubo_type_t type, size_t length, void **h)
{
  (void)length;
  tubo_value_t *v = NULL;
  int rc = tubo_value_open(comm, type, NULL, h != NULL ? &v : NULL);
  if (h != NULL)
    *h = v;
  return rc;
}

START_TEST(test_array_create)
{
  shared_make_cases("tubo_array_create", array_create_as_make, NULL, 1);
}
END_TEST

START_TEST(test_value_create)
{
  shared_make_cases("tubo_value_create", value_create_as_make, NULL, 0);
}
END_TEST

static int call_array_open(tubo_comm_t *comm)
{
  tubo_array_t *a;
  return tubo_array_open(comm, TUBO_INT, 4, &a);
}

static void array_open_extra(tubo_comm_t *world)
{
  shared_make_cases("tubo_array_open", array_open_as_make, world, 1);
}

START_TEST(test_array_open)
{
  bi_comm_cases("tubo_array_open", call_array_open, TUBO_ENOTINIT, array_open_extra);
}
END_TEST

static int call_value_open(tubo_comm_t *comm)
{
  tubo_value_t *v;
  return tubo_value_open(comm, TUBO_INT, NULL, &v);
}

static void value_open_extra(tubo_comm_t *world)
{
  shared_make_cases("tubo_value_open", value_open_as_make, world, 0);
}

START_TEST(test_value_open)
{
  bi_comm_cases("tubo_value_open", call_value_open, TUBO_ENOTINIT, value_open_extra);
}
END_TEST

/* The data calls: NULL for every bad handle. */
typedef void *(*shared_data_fn)(const void *h);

static void data_cases(const char *name, shared_data_fn get, void *freed)
{
  ck_assert_msg(get(NULL) == NULL, "%s(NULL): expected NULL", name);
  ck_assert_msg(get(bi_bogus_comm()) == NULL, "%s(bogus handle): expected NULL", name);
  ck_assert_msg(get(freed) == NULL, "%s(freed handle): expected NULL", name);
}

static void *array_data_as_get(const void *h)
{
  return tubo_array_data(h);
}

static void *value_data_as_get(const void *h)
{
  return tubo_value_data(h);
}

START_TEST(test_array_data)
{
  data_cases("tubo_array_data", array_data_as_get, freed_array());
}
END_TEST

START_TEST(test_value_data)
{
  data_cases("tubo_value_data", value_data_as_get, freed_value());
}
END_TEST

static int call_array_length(void *h)
{
  size_t n;
  return tubo_array_length(h, &n);
}

START_TEST(test_array_length)
{
  bi_handle_cases("tubo_array_length", call_array_length, freed_array(), TUBO_EARRAY);
  tubo_array_t *a = new_array();
  BI_RC("tubo_array_length(a, NULL)", tubo_array_length(a, NULL), TUBO_EINVAL);
  BI_RC("tubo_array_free", tubo_array_free(a), 0);
}
END_TEST

static int call_array_lock(void *h)
{
  return tubo_array_lock(h);
}

static int call_value_lock(void *h)
{
  return tubo_value_lock(h);
}

START_TEST(test_array_lock)
{
  bi_handle_cases("tubo_array_lock", call_array_lock, freed_array(), TUBO_EARRAY);
}
END_TEST

START_TEST(test_value_lock)
{
  bi_handle_cases("tubo_value_lock", call_value_lock, freed_value(), TUBO_EVALUE);
}
END_TEST

static int call_array_unlock(void *h)
{
  return tubo_array_unlock(h);
}

static int call_value_unlock(void *h)
{
  return tubo_value_unlock(h);
}

static int call_array_free(void *h)
{
  return tubo_array_free(h);
}

static int call_value_free(void *h)
{
  return tubo_value_free(h);
}

/* An array's or a value's calls, for the cases that need a live one. */
typedef struct shared_kind {
  const char *prefix; /* "tubo_array" or "tubo_value" */
  void *(*make)(void);
  void *(*freed)(void);
  int bad_handle; /* the code of a NULL, bogus or freed handle of this kind */
  bi_handle_call_fn lock, unlock, release;
} shared_kind_t;

static void *new_array_any(void)
{
  return new_array();
}

static void *new_value_any(void)
{
  return new_value();
}

static const shared_kind_t array_kind = {.prefix = "tubo_array",
                                         .make = new_array_any,
                                         .freed = freed_array,
                                         .bad_handle = TUBO_EARRAY,
                                         .lock = call_array_lock,
                                         .unlock = call_array_unlock,
                                         .release = call_array_free};
static const shared_kind_t value_kind = {.prefix = "tubo_value",
                                         .make = new_value_any,
                                         .freed = freed_value,
                                         .bad_handle = TUBO_EVALUE,
                                         .lock = call_value_lock,
                                         .unlock = call_value_unlock,
                                         .release = call_value_free};

/* unlock: the handle cases, and a lock this process does not hold. */
static void unlock_cases(const shared_kind_t *k)
{
  char name[64], what[128], other[96];
  snprintf(name, sizeof name, "%s_unlock", k->prefix);
  bi_handle_cases(name, k->unlock, k->freed(), k->bad_handle);
  void *h = k->make();
  snprintf(what, sizeof what, "%s(lock not held)", name);
  BI_RC(what, k->unlock(h), TUBO_EINVAL);
  snprintf(other, sizeof other, "%s_lock", k->prefix);
  BI_RC(other, k->lock(h), 0);
  BI_RC(name, k->unlock(h), 0);
  snprintf(what, sizeof what, "%s(lock released already)", name);
  BI_RC(what, k->unlock(h), TUBO_EINVAL);
  snprintf(other, sizeof other, "%s_free", k->prefix);
  BI_RC(other, k->release(h), 0);
}

START_TEST(test_array_unlock)
{
  unlock_cases(&array_kind);
}
END_TEST

START_TEST(test_value_unlock)
{
  unlock_cases(&value_kind);
}
END_TEST

START_TEST(test_array_free)
{
  /* The freed handle case is a second free. */
  bi_handle_cases("tubo_array_free", call_array_free, freed_array(), TUBO_EARRAY);
}
END_TEST

START_TEST(test_value_free)
{
  bi_handle_cases("tubo_value_free", call_value_free, freed_value(), TUBO_EVALUE);
}
END_TEST

static Suite *badinput_objects_suite(void)
{
  /* Not static: the test handles are variables, not constants. */
  const bi_test_t tests[] = {
      {"tubo_queue_create", test_queue_create}, {"tubo_queue_open", test_queue_open},
      {"tubo_queue_put", test_queue_put},       {"tubo_queue_get", test_queue_get},
      {"tubo_queue_size", test_queue_size},     {"tubo_queue_empty", test_queue_empty},
      {"tubo_queue_full", test_queue_full},     {"tubo_queue_task_done", test_queue_task_done},
      {"tubo_queue_join", test_queue_join},     {"tubo_queue_close", test_queue_close},
      {"tubo_queue_free", test_queue_free},     {"tubo_array_create", test_array_create},
      {"tubo_array_open", test_array_open},     {"tubo_array_data", test_array_data},
      {"tubo_array_length", test_array_length}, {"tubo_array_lock", test_array_lock},
      {"tubo_array_unlock", test_array_unlock}, {"tubo_array_free", test_array_free},
      {"tubo_value_create", test_value_create}, {"tubo_value_open", test_value_open},
      {"tubo_value_data", test_value_data},     {"tubo_value_lock", test_value_lock},
      {"tubo_value_unlock", test_value_unlock}, {"tubo_value_free", test_value_free},
  };
  return bi_suite("badinput_objects", tests, sizeof tests / sizeof tests[0]);
}

int main(int argc, char **argv)
{
  return bi_main(argc, argv, badinput_objects_suite);
}
