/* SPDX-License-Identifier: MIT */
/* commstime, the classic CSP benchmark network, as PyCSP writes it:
 *
 *   prefix(0) -> delta -> successor -> prefix      (a ring of three processes)
 *                  delta -> consumer
 *
 * Prefix sends 0, then forwards what it reads; delta sends each value to successor and to
 * consumer; successor adds one. The consumer reads N values (0, 1, 2, ... in order), then
 * poisons its channel: delta sees TUBO_EPOISON, poisons its channels, and so on round the
 * ring until every process has ended. Each round is four channel communications.
 *
 * Usage: commstime [-n ROUNDS] [-t]. -t also prints the time per communication. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tubo.h>

struct proc {
  tubo_channel_t *in, *out, *out2;
  long rounds;
  int timed;
};

/* A process that meets poison passes it on to its other channels and ends. */
static int shut_down(const struct proc *p, int rc)
{
  tubo_channel_poison(p->in);
  tubo_channel_poison(p->out);
  if (p->out2 != NULL)
    tubo_channel_poison(p->out2);
  return rc == TUBO_EPOISON ? 0 : 1;
}

static int prefix(void *arg)
{
  const struct proc *p = arg;
  long x = 0;
  int rc = tubo_channel_write(p->out, &x, sizeof x);
  while (rc == 0 && (rc = tubo_channel_read(p->in, &x, sizeof x, NULL)) == 0)
    rc = tubo_channel_write(p->out, &x, sizeof x);
  return shut_down(p, rc);
}

static int delta(void *arg)
{
  const struct proc *p = arg;
  long x;
  int rc;
  while ((rc = tubo_channel_read(p->in, &x, sizeof x, NULL)) == 0 &&
         (rc = tubo_channel_write(p->out, &x, sizeof x)) == 0 &&
         (rc = tubo_channel_write(p->out2, &x, sizeof x)) == 0)
    ;
  return shut_down(p, rc);
}

static int successor(void *arg)
{
  const struct proc *p = arg;
  long x;
  int rc;
  while ((rc = tubo_channel_read(p->in, &x, sizeof x, NULL)) == 0) {
    x++;
    if ((rc = tubo_channel_write(p->out, &x, sizeof x)) != 0)
      break;
  }
  return shut_down(p, rc);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int consumer(void *arg)
{
  const struct proc *p = arg;
  long x, want = 0;
  if (tubo_channel_read(p->in, &x, sizeof x, NULL) != 0 || x != want++)
    return 1;
  double t0 = now_s();
  for (long i = 0; i < p->rounds; i++)
    if (tubo_channel_read(p->in, &x, sizeof x, NULL) != 0 || x != want++) {
      fprintf(stderr, "commstime: round %ld: expected %ld, got %ld\n", i, want - 1, x);
      return 1;
    }
  double dt = now_s() - t0;
  printf("commstime: %ld rounds, every value in order\n", p->rounds);
  if (p->timed)
    printf("commstime rounds=%ld seconds=%.6f us_per_comm=%.3f\n", p->rounds, dt,
           dt * 1e6 / (4.0 * (double)p->rounds));
  tubo_channel_poison(p->in);
  return 0;
}

int main(int argc, char **argv)
{
  long rounds = 10000;
  int timed = 0;
  for (int i = 1; i < argc; i++) {
    char *end = NULL;
    if (strcmp(argv[i], "-t") == 0)
      timed = 1;
    else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc &&
             (rounds = strtol(argv[++i], &end, 10)) > 0 && *end == '\0')
      ;
    else {
      fprintf(stderr, "usage: commstime [-n ROUNDS] [-t]\n");
      return 2;
    }
  }
  tubo_channel_t *a, *b, *c, *d; /* prefix->delta, delta->successor, successor->prefix,
                                    delta->consumer */
  if (tubo_channel_create(0, &a) != 0 || tubo_channel_create(0, &b) != 0 ||
      tubo_channel_create(0, &c) != 0 || tubo_channel_create(0, &d) != 0)
    return 1;
  struct proc pp = {c, a, NULL, 0, 0}, pd = {a, b, d, 0, 0}, ps = {b, c, NULL, 0, 0},
              pc = {d, d, NULL, rounds, timed};
  const tubo_csp_process_t procs[] = {TUBO_CSP_PROCESS(prefix, &pp), TUBO_CSP_PROCESS(delta, &pd),
                                      TUBO_CSP_PROCESS(successor, &ps),
                                      TUBO_CSP_PROCESS(consumer, &pc)};
  int rc = tubo_parallel(procs, 4, NULL); /* Parallel(prefix, delta, successor, consumer) */
  tubo_channel_free(a);
  tubo_channel_free(b);
  tubo_channel_free(c);
  tubo_channel_free(d);
  return rc == 0 ? 0 : 1;
}
