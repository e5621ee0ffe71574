/* SPDX-License-Identifier: MIT */
/* multiprocessing.Pool's documentation example: squares of 0..9 by map, and one
 * apply_async, in a pool of four worker processes.
 *
 *   with Pool(4) as pool:
 *       print(pool.map(f, range(10)))
 *       r = pool.apply_async(f, (20,))
 *       print(r.get(timeout=1))
 *
 * Usage: examples/pool_squares */
#include <stdio.h>

#include "tubo.h"

static int square(const void *in, void *out)
{
  *(long *)out = *(const long *)in * *(const long *)in;
  return 0;
}

int main(void)
{
  long x[10], y[10];
  for (int i = 0; i < 10; i++)
    x[i] = i;
  tubo_pool_t *pool = NULL;
  int rc = tubo_pool_create(4, &pool);
  if (rc == 0)
    rc = tubo_pool_map(pool, square, x, sizeof *x, y, sizeof *y, 10);
  if (rc != 0) {
    fprintf(stderr, "pool_squares: %s\n", tubo_strerror(rc));
    return 1;
  }
  printf("[");
  for (int i = 0; i < 10; i++)
    printf(i ? ", %ld" : "%ld", y[i]);
  printf("]\n");
  long twenty = 20, r = 0;
  tubo_pool_result_t *res = NULL;
  rc = tubo_pool_apply_async(pool, square, &twenty, sizeof twenty, sizeof r, &res);
  if (rc == 0)
    rc = tubo_pool_result_get(res, &r, sizeof r, 1000);
  if (rc != 0) {
    fprintf(stderr, "pool_squares: %s\n", tubo_strerror(rc));
    return 1;
  }
  printf("%ld\n", r);
  tubo_pool_result_free(res);
  tubo_pool_free(pool); /* leaving `with Pool(4) as pool:` terminates the workers */
  return 0;
}
