/* SPDX-License-Identifier: MIT */
/* A child sends one message through a pipe and closes its end; the parent receives it.
 * Port of the Pipe program of seeds 000 and 001 (conn.send(['hello world'])); seed 000
 * spells it 'hellow' and joins before receiving, which works the same for one message. */
#include <stdio.h>
#include <string.h>
#include <tubo.h>

static int f(void *arg)
{
  tubo_pipe_t *conn = arg;
  const char msg[] = "hello world";
  int rc = tubo_pipe_send(conn, msg, strlen(msg));
  tubo_pipe_close(conn);
  return rc == 0 ? 0 : 1;
}

int main(void)
{
  tubo_pipe_t *parent_conn, *child_conn;
  tubo_process_t *p;
  if (tubo_pipe_create(TUBO_PIPE_DUPLEX, &parent_conn, &child_conn) != 0 ||
      tubo_process_create(f, child_conn, &p) != 0 || tubo_process_start(p) != 0)
    return 1;
  char buf[64];
  size_t len;
  if (tubo_pipe_recv(parent_conn, buf, sizeof buf, &len) != 0)
    return 1;
  printf("['%.*s']\n", (int)len, buf); /* Python prints the list it was sent */
  tubo_process_join(p, -1);
  tubo_process_free(p);
  tubo_pipe_free(parent_conn);
  tubo_pipe_free(child_conn);
  return 0;
}
