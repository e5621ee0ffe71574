/* SPDX-License-Identifier: MIT */
/* Seed 004's ping and pong over a queue: one process puts "Geek", the other gets it and
 * prints it with " University." after it. */
#include <stdio.h>
#include <string.h>
#include <tubo.h>

static int ping(void *arg)
{
  return tubo_queue_put(arg, "Geek", strlen("Geek"), -1) == 0 ? 0 : 1;
}

static int pong(void *arg)
{
  char msg[64];
  size_t len;
  if (tubo_queue_get(arg, msg, sizeof msg, &len, -1) != 0)
    return 1;
  printf("%.*s University.\n", (int)len, msg);
  return 0;
}

int main(void)
{
  tubo_queue_t *queue;
  if (tubo_queue_create(8, 64, 0, &queue) != 0)
    return 1;
  tubo_process_t *procs[2];
  if (tubo_process_create(ping, queue, &procs[0]) != 0 ||
      tubo_process_create(pong, queue, &procs[1]) != 0)
    return 1;
  int ok = 1;
  for (int i = 0; i < 2; i++)
    ok = ok && tubo_process_start(procs[i]) == 0;
  for (int i = 0; i < 2; i++) {
    int code = 1;
    tubo_process_join(procs[i], -1);
    tubo_process_exitcode(procs[i], &code);
    ok = ok && code == 0;
    tubo_process_free(procs[i]);
  }
  tubo_queue_free(queue);
  return ok ? 0 : 1;
}
