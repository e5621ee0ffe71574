/* SPDX-License-Identifier: MIT */
/* A child changes two attributes of a shared Namespace; the parent prints them before and
 * after. Port of seed 002's Manager Namespace program: `manager.Namespace()` is a
 * tubo_ns, its attributes are set and read by name. */
#include <stdio.h>
#include <tubo.h>

static void print_ns(const char *when, tubo_ns_t *using_ns)
{
  long x = 0, y = 0;
  tubo_ns_get_long(using_ns, "x", &x);
  tubo_ns_get_long(using_ns, "y", &y);
  printf("%s Namespace(x = %ld, y = %ld)\n", when, x, y);
}

static int mng_nasp(void *arg)
{
  tubo_ns_t *using_ns = arg;
  long y;
  /* using_ns.x += 5, done atomically (Python's Manager reads and writes in two calls). */
  if (tubo_ns_add_long(using_ns, "x", 5, NULL) != 0)
    return 1;
  /* using_ns.y *= 10: a read, then a write, as Python does it. */
  if (tubo_ns_get_long(using_ns, "y", &y) != 0 || tubo_ns_set_long(using_ns, "y", y * 10) != 0)
    return 1;
  return 0;
}

int main(void)
{
  tubo_ns_t *using_ns;
  if (tubo_ns_create(&using_ns) != 0)
    return 1;
  tubo_ns_set_long(using_ns, "x", 1);
  tubo_ns_set_long(using_ns, "y", 1);
  print_ns("before", using_ns);
  tubo_process_t *p;
  if (tubo_process_create(mng_nasp, using_ns, &p) != 0 || tubo_process_start(p) != 0)
    return 1;
  tubo_process_join(p, -1);
  print_ns("after", using_ns);
  tubo_process_free(p);
  tubo_ns_free(using_ns);
  return 0;
}
