/* SPDX-License-Identifier: MIT */
/* A child sets a shared Value and negates a shared Array; the parent prints both. Port of
 * seed 002's Value and Array program (from the Python documentation). */
#include <stdio.h>
#include <tubo.h>

#include "print_list.h"

struct shared {
  tubo_value_t *num;
  tubo_array_t *arr;
};

static int f(void *arg)
{
  struct shared *sh = arg;
  *(double *)tubo_value_data(sh->num) = 3.1415927;
  int *a = tubo_array_data(sh->arr);
  for (int i = 0; i < 10; i++)
    a[i] = -a[i];
  return 0;
}

int main(void)
{
  struct shared sh;
  if (tubo_value_create(TUBO_DOUBLE, NULL, &sh.num) != 0 ||
      tubo_array_create(TUBO_INT, 10, &sh.arr) != 0)
    return 1;
  int *a = tubo_array_data(sh.arr);
  for (int i = 0; i < 10; i++) /* Array('i', range(10)) */
    a[i] = i;
  tubo_process_t *p;
  if (tubo_process_create(f, &sh, &p) != 0 || tubo_process_start(p) != 0)
    return 1;
  tubo_process_join(p, -1);
  printf("%.8g\n", *(double *)tubo_value_data(sh.num));
  print_int_list(a, 10);
  printf("\n");
  tubo_process_free(p);
  tubo_value_free(sh.num);
  tubo_array_free(sh.arr);
  return 0;
}
