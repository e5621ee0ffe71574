/* SPDX-License-Identifier: MIT */
/* pool_squares on the ranks of a job instead of forked processes, as mpi4py's
 * MPICommExecutor: rank 0 maps the squares of 0..9 and makes one apply_async, the other
 * ranks run the calls. The output is pool_squares's, on any number of ranks.
 *
 *   with MPICommExecutor(MPI.COMM_WORLD, root=0) as pool:
 *       if pool is not None:
 *           print(list(pool.map(f, range(10))))
 *           print(pool.submit(f, 20).result())
 *
 * Usage: tuborun -n 4 examples/pool_ranks */
#include <stdio.h>

#include "tubo.h"

static int square(const void *in, void *out)
{
  *(long *)out = *(const long *)in * *(const long *)in;
  return 0;
}

static int fail(const char *what, int rc)
{
  fprintf(stderr, "pool_ranks: %s: %s\n", what, tubo_strerror(rc));
  return 1;
}

int main(int argc, char **argv)
{
  int rc = tubo_init(&argc, &argv);
  if (rc != 0)
    return fail("tubo_init", rc);
  tubo_pool_t *pool = NULL;
  /* Ranks other than 0 run the pool's calls in here, and return once rank 0 ends it. */
  if ((rc = tubo_pool_open(TUBO_COMM_WORLD, 0, &pool)) != 0)
    return fail("tubo_pool_open", rc);
  if (pool != NULL) {
    long x[10], y[10], twenty = 20, r = 0;
    for (int i = 0; i < 10; i++)
      x[i] = i;
    if ((rc = tubo_pool_map(pool, square, x, sizeof *x, y, sizeof *y, 10)) != 0)
      return fail("tubo_pool_map", rc);
    printf("[");
    for (int i = 0; i < 10; i++)
      printf(i ? ", %ld" : "%ld", y[i]);
    printf("]\n");
    tubo_pool_result_t *res = NULL;
    rc = tubo_pool_apply_async(pool, square, &twenty, sizeof twenty, sizeof r, &res);
    if (rc == 0)
      rc = tubo_pool_result_get(res, &r, sizeof r, -1);
    if (rc != 0)
      return fail("apply_async", rc);
    printf("%ld\n", r);
    tubo_pool_result_free(res);
    tubo_pool_close(pool);
    if ((rc = tubo_pool_join(pool)) != 0)
      return fail("tubo_pool_join", rc);
    tubo_pool_free(pool);
  }
  return tubo_finalize() == 0 ? 0 : 1;
}
