/* SPDX-License-Identifier: MIT */
/* The PyCSP process network of seed 002's figure: Process 1 and Process 2 talk through
 * two channels. Process 1 sends numbers on channel 1; Process 2 squares each and sends it
 * back on channel 2. Then Process 1 poisons both channels, and Process 2, whose next read
 * returns TUBO_EPOISON, ends: the network shuts down as PyCSP's does. In PyCSP:
 *
 *   @process
 *   def process1(cout, cin):
 *       for i in range(5):
 *           cout(i)
 *           print(i, 'squared is', cin())
 *       poison(cout, cin)
 *
 *   @process
 *   def process2(cin, cout):
 *       while True:
 *           x = cin()
 *           cout(x * x)
 *
 *   c1, c2 = Channel(), Channel()
 *   Parallel(process1(c1.writer(), c2.reader()), process2(c1.reader(), c2.writer()))
 *   print('network done')
 */
#include <stdio.h>
#include <tubo.h>

struct ends {
  tubo_channel_t *in, *out;
};

static int process1(void *arg)
{
  struct ends *e = arg;
  for (long i = 0; i < 5; i++) {
    long sq;
    if (tubo_channel_write(e->out, &i, sizeof i) != 0 ||
        tubo_channel_read(e->in, &sq, sizeof sq, NULL) != 0)
      return 1;
    printf("%ld squared is %ld\n", i, sq);
  }
  tubo_channel_poison(e->out);
  tubo_channel_poison(e->in);
  return 0;
}

static int process2(void *arg)
{
  struct ends *e = arg;
  for (;;) {
    long x;
    int rc = tubo_channel_read(e->in, &x, sizeof x, NULL);
    if (rc == TUBO_EPOISON)
      return 0; /* the network is shutting down */
    x *= x;
    if (rc != 0 || (rc = tubo_channel_write(e->out, &x, sizeof x)) == TUBO_EPOISON)
      return rc == TUBO_EPOISON ? 0 : 1;
  }
}

int main(void)
{
  tubo_channel_t *c1, *c2;
  if (tubo_channel_create(0, &c1) != 0 || tubo_channel_create(0, &c2) != 0)
    return 1;
  struct ends e1, e2;
  if (tubo_channel_writer(c1, &e1.out) != 0 || tubo_channel_reader(c2, &e1.in) != 0 ||
      tubo_channel_reader(c1, &e2.in) != 0 || tubo_channel_writer(c2, &e2.out) != 0)
    return 1;
  const tubo_csp_process_t procs[] = {TUBO_CSP_PROCESS(process1, &e1),
                                      TUBO_CSP_PROCESS(process2, &e2)};
  if (tubo_parallel(procs, 2, NULL) != 0)
    return 1;
  printf("network done\n");
  tubo_channel_free(e1.out);
  tubo_channel_free(e1.in);
  tubo_channel_free(e2.in);
  tubo_channel_free(e2.out);
  tubo_channel_free(c1);
  tubo_channel_free(c2);
  return 0;
}
