/* SPDX-License-Identifier: MIT */
/* Seed 003's pipeline as it is written there: three processes joined by two pipes, the
 * end of the stream told by closing them (EOFError in Python, TUBO_EEOF here). Each
 * process closes the ends it does not use, so that the reader sees the end of file once
 * the last writer closes. (examples/pipeline does the same on three ranks of tuborun.) */
#include <stdio.h>
#include <tubo.h>

/* Pipe(True) gives two ends; the seed uses end [0] to send and end [1] to receive. */
struct pipe_pair {
  tubo_pipe_t *out, *in;
};

struct stage {
  struct pipe_pair *p1, *p2;
};

static int create_items(void *arg)
{
  struct stage *s = arg;
  for (long item = 0; item < 10; item++)
    if (tubo_pipe_send(s->p1->out, &item, sizeof item) != 0)
      return 1;
  tubo_pipe_close(s->p1->out);
  return 0;
}

static int multiply_items(void *arg)
{
  struct stage *s = arg;
  tubo_pipe_close(s->p1->out); /* close, input_pipe = pipe_1; close.close() */
  for (;;) {
    long item;
    int rc = tubo_pipe_recv(s->p1->in, &item, sizeof item, NULL);
    if (rc == TUBO_EEOF)
      break;
    if (rc != 0)
      return 1;
    item *= item;
    if (tubo_pipe_send(s->p2->out, &item, sizeof item) != 0)
      return 1;
  }
  tubo_pipe_close(s->p2->out);
  return 0;
}

int main(void)
{
  struct pipe_pair pipe_1, pipe_2;
  struct stage s = {&pipe_1, &pipe_2};
  tubo_process_t *process_pipe_1, *process_pipe_2;
  if (tubo_pipe_create(TUBO_PIPE_DUPLEX, &pipe_1.out, &pipe_1.in) != 0 ||
      tubo_process_create(create_items, &s, &process_pipe_1) != 0 ||
      tubo_process_start(process_pipe_1) != 0)
    return 1;
  if (tubo_pipe_create(TUBO_PIPE_DUPLEX, &pipe_2.out, &pipe_2.in) != 0 ||
      tubo_process_create(multiply_items, &s, &process_pipe_2) != 0 ||
      tubo_process_start(process_pipe_2) != 0)
    return 1;
  tubo_pipe_close(pipe_1.out);
  tubo_pipe_close(pipe_2.out);
  for (;;) {
    long item;
    int rc = tubo_pipe_recv(pipe_2.in, &item, sizeof item, NULL);
    if (rc == TUBO_EEOF) {
      printf("Final de la comunicación\n");
      break;
    }
    if (rc != 0)
      return 1;
    printf("%ld\n", item);
  }
  tubo_process_join(process_pipe_1, -1);
  tubo_process_join(process_pipe_2, -1);
  tubo_process_free(process_pipe_1);
  tubo_process_free(process_pipe_2);
  tubo_pipe_free(pipe_1.out);
  tubo_pipe_free(pipe_1.in);
  tubo_pipe_free(pipe_2.out);
  tubo_pipe_free(pipe_2.in);
  return 0;
}
