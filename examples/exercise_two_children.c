/* SPDX-License-Identifier: MIT */
/* Seed 001's exercise, solved: two processes each receive a message from the parent and
 * each returns one. One duplex pipe per child; the parent talks to them in turn, so the
 * output comes in a fixed order. */
#include <stdio.h>
#include <string.h>
#include <tubo.h>

struct child {
  int id;
  tubo_pipe_t *conn;
};

static int child_run(void *arg)
{
  struct child *c = arg;
  char buf[128], reply[128];
  size_t len;
  if (tubo_pipe_recv(c->conn, buf, sizeof buf, &len) != 0)
    return 1;
  printf("Hijo %d recibió: %.*s\n", c->id, (int)len, buf);
  fflush(stdout);
  int n = snprintf(reply, sizeof reply, "Hola padre, soy el hijo %d", c->id);
  int rc = tubo_pipe_send(c->conn, reply, (size_t)n);
  tubo_pipe_close(c->conn);
  return rc == 0 ? 0 : 1;
}

int main(void)
{
  struct child kids[2];
  tubo_pipe_t *parent_end[2];
  tubo_process_t *p[2];
  for (int i = 0; i < 2; i++) {
    kids[i].id = i + 1;
    if (tubo_pipe_create(TUBO_PIPE_DUPLEX, &parent_end[i], &kids[i].conn) != 0 ||
        tubo_process_create(child_run, &kids[i], &p[i]) != 0 || tubo_process_start(p[i]) != 0)
      return 1;
  }
  for (int i = 0; i < 2; i++) {
    char msg[64], buf[128];
    size_t len;
    int n = snprintf(msg, sizeof msg, "Hola hijo %d", i + 1);
    if (tubo_pipe_send(parent_end[i], msg, (size_t)n) != 0 ||
        tubo_pipe_recv(parent_end[i], buf, sizeof buf, &len) != 0)
      return 1;
    printf("El padre recibió: %.*s\n", (int)len, buf);
    fflush(stdout); /* before the next child prints */
  }
  for (int i = 0; i < 2; i++) {
    tubo_process_join(p[i], -1);
    tubo_process_free(p[i]);
    tubo_pipe_free(parent_end[i]);
    tubo_pipe_free(kids[i].conn);
  }
  return 0;
}
