/* SPDX-License-Identifier: MIT */
/* Three processes put one result each on a shared queue; the parent reads the three.
 * Port of the first program of seed 000 (multiprocessing.Queue with worker, sum and div).
 * Which child prints and puts first is up to the scheduler, as in Python. */
#include <stdio.h>
#include <tubo.h>

struct job {
  int a, b;
  char op; /* 's' square, '+' sum, '^' power */
  tubo_queue_t *q;
};

static int job_run(void *arg)
{
  struct job *j = arg;
  int v = j->op == 's' ? j->a * j->a : j->op == '+' ? j->a + j->b : 1;
  if (j->op == '^')
    for (int i = 0; i < j->b; i++)
      v *= j->a;
  printf("Se pone en la cola:  %d\n", v);
  return tubo_queue_put(j->q, &v, sizeof v, -1) == 0 ? 0 : 1;
}

int main(void)
{
  tubo_queue_t *q;
  if (tubo_queue_create(16, sizeof(int), 0, &q) != 0)
    return 1;
  struct job jobs[3] = {{5, 0, 's', q}, {6, 3, '+', q}, {7, 3, '^', q}};
  tubo_process_t *p[3];
  for (int i = 0; i < 3; i++)
    if (tubo_process_create(job_run, &jobs[i], &p[i]) != 0 || tubo_process_start(p[i]) != 0)
      return 1;
  for (int i = 0; i < 3; i++)
    tubo_process_join(p[i], -1);
  for (int i = 0; i < 3; i++) {
    int v;
    if (tubo_queue_get(q, &v, sizeof v, NULL, -1) != 0)
      return 1;
    printf("Se lee de la cola:  %d\n", v);
  }
  for (int i = 0; i < 3; i++)
    tubo_process_free(p[i]);
  tubo_queue_free(q);
  return 0;
}
