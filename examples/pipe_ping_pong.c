/* SPDX-License-Identifier: MIT */
/* Seed 004's ping and pong over a pipe: one process sends "Geek", the other prints it with
 * " University." after it. */
#include <stdio.h>
#include <string.h>
#include <tubo.h>

static int ping(void *arg)
{
  return tubo_pipe_send(arg, "Geek", strlen("Geek")) == 0 ? 0 : 1;
}

static int pong(void *arg)
{
  char msg[64];
  size_t len;
  if (tubo_pipe_recv(arg, msg, sizeof msg, &len) != 0)
    return 1;
  printf("%.*s University.\n", (int)len, msg);
  return 0;
}

int main(void)
{
  tubo_pipe_t *conn1, *conn2;
  if (tubo_pipe_create(TUBO_PIPE_DUPLEX, &conn1, &conn2) != 0)
    return 1;
  tubo_process_t *procs[2];
  if (tubo_process_create(ping, conn1, &procs[0]) != 0 ||
      tubo_process_create(pong, conn2, &procs[1]) != 0)
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
  tubo_pipe_free(conn1);
  tubo_pipe_free(conn2);
  return ok ? 0 : 1;
}
