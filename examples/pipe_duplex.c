/* SPDX-License-Identifier: MIT */
/* Two-way communication over one pipe: the parent sends, the child prints it and answers,
 * the parent prints the answer. Port of seed 001's "Doble comunicación". */
#include <stdio.h>
#include <string.h>
#include <tubo.h>

static int pipe_print(tubo_pipe_t *conn)
{
  char buf[128];
  size_t len;
  int rc = tubo_pipe_recv(conn, buf, sizeof buf, &len);
  if (rc == 0)
    printf("%.*s\n", (int)len, buf);
  fflush(stdout); /* the other process prints next */
  return rc;
}

static int worker(void *arg)
{
  tubo_pipe_t *conn = arg;
  const char msg[] = "Sent from the child process";
  int rc = pipe_print(conn);
  if (rc == 0)
    rc = tubo_pipe_send(conn, msg, strlen(msg));
  tubo_pipe_close(conn);
  return rc == 0 ? 0 : 1;
}

int main(void)
{
  tubo_pipe_t *conn1, *conn2;
  tubo_process_t *process;
  if (tubo_pipe_create(TUBO_PIPE_DUPLEX, &conn1, &conn2) != 0 ||
      tubo_process_create(worker, conn2, &process) != 0 || tubo_process_start(process) != 0)
    return 1;
  const char msg[] = "Sent from the main process";
  if (tubo_pipe_send(conn1, msg, strlen(msg)) != 0 || pipe_print(conn1) != 0)
    return 1;
  tubo_process_join(process, -1);
  tubo_process_free(process);
  tubo_pipe_free(conn1);
  tubo_pipe_free(conn2);
  return 0;
}
