/* SPDX-License-Identifier: MIT */
/* One process sends names through a pipe until the sentinel "END"; another prints them.
 * Port of seed 001's send_msgs / recv_msgs. */
#include <stdio.h>
#include <string.h>
#include <tubo.h>

static const char *const nombres[] = {"Carlos", "Renata", "Rebeca", "Sandra", "END"};

static int send_msgs(void *arg)
{
  tubo_pipe_t *conn = arg;
  for (size_t i = 0; i < sizeof nombres / sizeof nombres[0]; i++)
    if (tubo_pipe_send(conn, nombres[i], strlen(nombres[i])) != 0)
      return 1;
  tubo_pipe_close(conn);
  return 0;
}

static int recv_msgs(void *arg)
{
  tubo_pipe_t *conn = arg;
  for (;;) {
    char msg[64];
    size_t len;
    if (tubo_pipe_recv(conn, msg, sizeof msg - 1, &len) != 0)
      return 1;
    msg[len] = '\0';
    if (strcmp(msg, "END") == 0)
      break;
    printf("%s\n", msg);
  }
  return 0;
}

int main(void)
{
  tubo_pipe_t *parent_conn, *child_conn;
  tubo_process_t *p1, *p2;
  if (tubo_pipe_create(TUBO_PIPE_DUPLEX, &parent_conn, &child_conn) != 0 ||
      tubo_process_create(send_msgs, parent_conn, &p1) != 0 ||
      tubo_process_create(recv_msgs, child_conn, &p2) != 0 || tubo_process_start(p1) != 0 ||
      tubo_process_start(p2) != 0)
    return 1;
  tubo_process_join(p1, -1);
  tubo_process_join(p2, -1);
  int c1 = -1, c2 = -1;
  tubo_process_exitcode(p1, &c1);
  tubo_process_exitcode(p2, &c2);
  tubo_process_free(p1);
  tubo_process_free(p2);
  tubo_pipe_free(parent_conn);
  tubo_pipe_free(child_conn);
  return c1 == 0 && c2 == 0 ? 0 : 1;
}
