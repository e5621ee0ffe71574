/* SPDX-License-Identifier: MIT */
/* A child changes two attributes of a shared namespace; the parent prints them before and
 * after. Port of seed 002's Manager Namespace program: a shared C struct (an array of
 * bytes) under its lock. */
#include <stdio.h>
#include <tubo.h>

struct namespace
{
  int x, y;
};

static void namespace_print(const char *when, tubo_array_t *ns)
{
  const struct namespace *n = tubo_array_data(ns);
  printf("%s Namespace(x = %d, y = %d)\n", when, n->x, n->y);
}

static int mng_nasp(void *arg)
{
  tubo_array_t *using_ns = arg;
  tubo_array_lock(using_ns);
  struct namespace *n = tubo_array_data(using_ns);
  n->x += 5;
  n->y *= 10;
  tubo_array_unlock(using_ns);
  return 0;
}

int main(void)
{
  tubo_array_t *using_ns;
  if (tubo_array_create(TUBO_BYTE, sizeof(struct namespace), &using_ns) != 0)
    return 1;
  struct namespace *n = tubo_array_data(using_ns);
  n->x = 1;
  n->y = 1;
  namespace_print("before", using_ns);
  tubo_process_t *p;
  if (tubo_process_create(mng_nasp, using_ns, &p) != 0 || tubo_process_start(p) != 0)
    return 1;
  tubo_process_join(p, -1);
  namespace_print("after", using_ns);
  tubo_process_free(p);
  tubo_array_free(using_ns);
  return 0;
}
