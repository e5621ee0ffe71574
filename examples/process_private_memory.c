/* SPDX-License-Identifier: MIT */
/* The lesson of seed 001: a child appends squares to a global list, and the parent, after
 * join, still sees it empty, because each process has its own memory. (The shared Array
 * of array_squares is the fix.) */
#include <stdio.h>
#include <tubo.h>

static int num_res[10];
static int num_res_len;

static int calc_cuad(void *arg)
{
  (void)arg;
  for (int n = 0; n < 10; n++) {
    printf("cuadrado:  %d\n", n * n);
    num_res[num_res_len++] = n * n; /* the child's copy only */
  }
  return 0;
}

int main(void)
{
  double t = tubo_wtime();
  tubo_process_t *p1;
  if (tubo_process_create(calc_cuad, NULL, &p1) != 0 || tubo_process_start(p1) != 0)
    return 1;
  tubo_process_join(p1, -1);
  printf("Tiempo de ejecución:  %.17g\n", tubo_wtime() - t);
  printf("Resultado operación:  [");
  for (int i = 0; i < num_res_len; i++)
    printf(i ? ", %d" : "%d", num_res[i]);
  printf("]\n");
  printf("Finaliza ejecución\n");
  tubo_process_free(p1);
  return 0;
}
