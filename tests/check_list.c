/* SPDX-License-Identifier: MIT */
/* The intrusive list (lib/list.h) that the engine's queues, the transports' backlogs and
 * the patterns' lists share: order kept, any element removed, ends NULL. */
#include "config.h"

#include "harness.h"
#include "list.h"

typedef struct item {
  int value;
  tubo__list_node_t link;
} item_t;

/* The values of l from head to tail, and back from tail to head (which must mirror it),
 * into got (at most cap); returns the count, or -1 when the two walks disagree. */
static int list_values(const tubo__list_t *l, int *got, int cap)
{
  int n = 0;
  const item_t *e;
  TUBO__LIST_FOREACH(e, l, item_t, link) {
    if (n < cap)
      got[n] = e->value;
    n++;
  }
  int k = n;
  for (const tubo__list_node_t *p = l->tail; p != NULL; p = p->prev) {
    k--;
    if (k < 0 || (k < cap && TUBO__LIST_ENTRY(p, item_t, link)->value != got[k]))
      return -1;
  }
  return k == 0 ? n : -1;
}

static void expect_values(const tubo__list_t *l, const int *want, int n, const char *what)
{
  int got[16];
  int count = list_values(l, got, 16);
  ck_assert_msg(count == n, "%s: expected %d elements, both ways alike, got %d", what, n, count);
  for (int i = 0; i < n; i++)
    ck_assert_msg(got[i] == want[i], "%s: expected element %d to be %d, got %d", what, i, want[i],
                  got[i]);
  ck_assert_msg(tubo__list_empty(l) == (n == 0), "%s: expected empty() to say %d", what, n == 0);
}

START_TEST(test_append_prepend)
{
  tubo__list_t l;
  tubo__list_init(&l);
  item_t it[4] = {{1, {NULL, NULL}}, {2, {NULL, NULL}}, {3, {NULL, NULL}}, {4, {NULL, NULL}}};
  expect_values(&l, NULL, 0, "a new list");
  ck_assert_msg(TUBO__LIST_FIRST(&l, item_t, link) == NULL, "expected no first element");
  tubo__list_append(&l, &it[1].link);
  tubo__list_append(&l, &it[2].link);
  tubo__list_prepend(&l, &it[0].link);
  tubo__list_append(&l, &it[3].link);
  expect_values(&l, (int[]){1, 2, 3, 4}, 4, "append 2, 3, prepend 1, append 4");
  ck_assert_msg(TUBO__LIST_FIRST(&l, item_t, link) == &it[0], "expected item 1 first");
}
END_TEST

START_TEST(test_remove)
{
  tubo__list_t l = {NULL, NULL};
  item_t it[4];
  for (int i = 0; i < 4; i++) {
    it[i].value = i + 1;
    tubo__list_append(&l, &it[i].link);
  }
  tubo__list_remove(&l, &it[1].link); /* a middle one */
  expect_values(&l, (int[]){1, 3, 4}, 3, "2 removed");
  ck_assert_msg(it[1].link.next == NULL && it[1].link.prev == NULL,
                "expected a removed node's links to be NULL");
  tubo__list_remove(&l, &it[3].link); /* the tail */
  expect_values(&l, (int[]){1, 3}, 2, "then 4 removed");
  tubo__list_remove(&l, &it[0].link); /* the head */
  expect_values(&l, (int[]){3}, 1, "then 1 removed");
  ck_assert_msg(tubo__list_contains(&l, &it[2].link) && !tubo__list_contains(&l, &it[0].link),
                "expected contains() to find 3 and not 1");
  tubo__list_remove(&l, &it[2].link); /* the last */
  expect_values(&l, NULL, 0, "then 3 removed");
  tubo__list_append(&l, &it[0].link);
  expect_values(&l, (int[]){1}, 1, "1 appended to the emptied list");
}
END_TEST

START_TEST(test_pop_and_safe_walk)
{
  tubo__list_t l = {NULL, NULL};
  item_t it[6];
  for (int i = 0; i < 6; i++) {
    it[i].value = i + 1;
    tubo__list_append(&l, &it[i].link);
  }
  /* The walk that may take elements off: every even one goes. */
  item_t *e;
  TUBO__LIST_FOREACH_SAFE(e, &l, item_t, link) {
    if (e->value % 2 == 0)
      tubo__list_remove(&l, &e->link);
  }
  expect_values(&l, (int[]){1, 3, 5}, 3, "even ones removed while walking");
  tubo__list_node_t *n = tubo__list_pop(&l);
  ck_assert_msg(n == &it[0].link, "expected pop to give item 1");
  expect_values(&l, (int[]){3, 5}, 2, "after one pop");
  tubo__list_pop(&l);
  tubo__list_pop(&l);
  ck_assert_msg(tubo__list_pop(&l) == NULL, "expected pop on an empty list to give NULL");
  expect_values(&l, NULL, 0, "popped empty");
}
END_TEST

static Suite *list_suite(void)
{
  Suite *s = suite_create("list");
  TCase *tc = tcase_create("list");
  tcase_add_test(tc, test_append_prepend);
  tcase_add_test(tc, test_remove);
  tcase_add_test(tc, test_pop_and_safe_walk);
  suite_add_tcase(s, tc);
  return s;
}

static const th_body_t bodies[] = {{NULL, NULL, 0}};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, list_suite);
}
