/* SPDX-License-Identifier: MIT */
/* A child sends one record through a pipe; the parent receives and prints it. Port of
 * seed 002's Pipe program (conn.send([42, None, 'hello'])). */
#include <tubo.h>

#include "record.h"

static int f(void *arg)
{
  tubo_pipe_t *conn = arg;
  struct record r = {42, 0, "hello"};
  int rc = tubo_pipe_send(conn, &r, sizeof r);
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
  struct record r;
  size_t len;
  if (tubo_pipe_recv(parent_conn, &r, sizeof r, &len) != 0 || len != sizeof r)
    return 1;
  record_print(&r);
  tubo_process_join(p, -1);
  tubo_process_free(p);
  tubo_pipe_free(parent_conn);
  tubo_pipe_free(child_conn);
  return 0;
}
