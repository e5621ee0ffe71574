/* SPDX-License-Identifier: MIT */
/* A child puts the squares of 0..9 on a queue; after join the parent gets until the queue
 * is empty. Port of seed 001's calc_cuad with multiprocessing.Queue. */
#include <stdio.h>
#include <tubo.h>

static int calc_cuad(void *arg)
{
  tubo_queue_t *q = arg;
  for (int n = 0; n < 10; n++) {
    int sq = n * n;
    if (tubo_queue_put(q, &sq, sizeof sq, -1) != 0)
      return 1;
  }
  return 0;
}

int main(void)
{
  tubo_queue_t *q;
  tubo_process_t *p;
  if (tubo_queue_create(16, sizeof(int), 0, &q) != 0 ||
      tubo_process_create(calc_cuad, q, &p) != 0 || tubo_process_start(p) != 0)
    return 1;
  tubo_process_join(p, -1);
  int empty = 0;
  while (tubo_queue_empty(q, &empty) == 0 && !empty) {
    int v;
    if (tubo_queue_get(q, &v, sizeof v, NULL, 0) != 0)
      return 1;
    printf("%d\n", v);
  }
  tubo_process_free(p);
  tubo_queue_free(q);
  return 0;
}
