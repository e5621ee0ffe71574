/* SPDX-License-Identifier: MIT */
/* Two processes run in parallel and the program waits for both, as PyCSP's
 * Parallel(P1(), P2()) in seed 002. Which one prints first is up to the scheduler. (The
 * seed's processes sleep a second first; that changes nothing but the wait.) */
#include <stdio.h>
#include <tubo.h>

static int p1(void *arg)
{
  (void)arg;
  printf("P1 exiting\n");
  return 0;
}

static int p2(void *arg)
{
  (void)arg;
  printf("P2 exiting\n");
  return 0;
}

int main(void)
{
  const tubo_csp_process_t procs[] = {TUBO_CSP_PROCESS(p1, NULL), TUBO_CSP_PROCESS(p2, NULL)};
  if (tubo_parallel(procs, 2, NULL) != 0) /* Parallel(P1(), P2()) */
    return 1;
  printf("Terminating\n");
  return 0;
}
