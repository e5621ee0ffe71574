/* SPDX-License-Identifier: MIT */
/* Two processes run in parallel and the program waits for both, as PyCSP's
 * Parallel(P1(), P2()) in seed 002. Which one prints first is up to the scheduler. (The
 * seed's processes sleep a second first; that changes nothing but the wait.) */
#include <stdio.h>
#include <tubo.h>

static int p_exiting(void *arg)
{
  printf("%s exiting\n", (const char *)arg);
  return 0;
}

/* Runs every function in its own process and waits for all, like Parallel(...). */
static int parallel(int n, tubo_process_fn fn, const char *const *args)
{
  tubo_process_t *p[8];
  for (int i = 0; i < n; i++)
    if (tubo_process_create(fn, (void *)args[i], &p[i]) != 0 || tubo_process_start(p[i]) != 0)
      return 1;
  for (int i = 0; i < n; i++) {
    tubo_process_join(p[i], -1);
    tubo_process_free(p[i]);
  }
  return 0;
}

int main(void)
{
  static const char *const names[] = {"P1", "P2"};
  if (parallel(2, p_exiting, names) != 0)
    return 1;
  printf("Terminating\n");
  return 0;
}
