/* SPDX-License-Identifier: MIT */
/* A child fills a shared array with squares; the parent sees them after join. Port of the
 * Array programs of seed 000 (mp.Array('i', 10)): unlike a list the child appends to (see
 * process_private_memory), a shared Array is the same memory in both processes. */
#include <stdio.h>
#include <tubo.h>

#include "print_list.h"

static int calc_cuad(void *arg)
{
  tubo_array_t *result = arg;
  int *r = tubo_array_data(result);
  for (int n = 0; n < 10; n++)
    r[n] = n * n;
  printf("Resultado del proceso: ");
  print_int_list(r, 10);
  printf("\n");
  return 0;
}

int main(void)
{
  double t = tubo_wtime();
  tubo_array_t *result;
  tubo_process_t *p1;
  if (tubo_array_create(TUBO_INT, 10, &result) != 0 ||
      tubo_process_create(calc_cuad, result, &p1) != 0 || tubo_process_start(p1) != 0)
    return 1;
  tubo_process_join(p1, -1);
  printf("Resultado fuera del proceso: ");
  print_int_list(tubo_array_data(result), 10);
  printf("\n");
  printf("Tiempo de ejecución:  %.17g\n", tubo_wtime() - t);
  printf("Finaliza ejecución\n");
  tubo_process_free(p1);
  tubo_array_free(result);
  return 0;
}
