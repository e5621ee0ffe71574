/* SPDX-License-Identifier: MIT */
/* A child fills a shared Array with squares and sets a shared Value; the parent sees both.
 * Port of seed 001's Array and Value program (mp.Array('i', 10), mp.Value('d', 0.0)). */
#include <stdio.h>
#include <tubo.h>

#include "print_list.h"

struct shared {
  tubo_array_t *result;
  tubo_value_t *val;
};

static int calc_cuad(void *arg)
{
  struct shared *sh = arg;
  *(double *)tubo_value_data(sh->val) = 5.35;
  int *r = tubo_array_data(sh->result);
  for (int n = 0; n < 10; n++)
    r[n] = n * n;
  printf("Resultado del proceso:  ");
  print_int_list(r, 10);
  printf("\n");
  return 0;
}

int main(void)
{
  double t = tubo_wtime();
  struct shared sh;
  tubo_process_t *p1;
  if (tubo_array_create(TUBO_INT, 10, &sh.result) != 0 ||
      tubo_value_create(TUBO_DOUBLE, NULL, &sh.val) != 0 ||
      tubo_process_create(calc_cuad, &sh, &p1) != 0 || tubo_process_start(p1) != 0)
    return 1;
  tubo_process_join(p1, -1);
  printf("Resultado fuera del proceso ");
  print_int_list(tubo_array_data(sh.result), 10);
  printf("\n");
  printf("Resultado fuera del proceso %g\n", *(double *)tubo_value_data(sh.val));
  printf("Tiempo de ejecución:  %.17g\n", tubo_wtime() - t);
  printf("Finaliza la ejecución\n");
  tubo_process_free(p1);
  tubo_value_free(sh.val);
  tubo_array_free(sh.result);
  return 0;
}
