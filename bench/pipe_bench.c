/* SPDX-License-Identifier: MIT */
/* A tubo pipe between two processes (tubo_pipe_create and tubo_process), measured as
 * bench/py_pipe.py measures multiprocessing.Pipe:
 *
 *   latency:    the parent sends an 8-byte message, the child sends it back; the figure
 *               is half the mean round trip, warm-up round trips excluded.
 *   throughput: the child sends COUNT messages of SIZE bytes one way, then closes its
 *               end; the parent receives until the end of file. The figure is messages
 *               (and bytes) per second, from the first message to the end of file.
 *
 * One line of key=value pairs per figure:
 *   pipe impl=tubo test=latency size=8 iters=200000 half_rtt_ns=151.2
 *   pipe impl=tubo test=throughput size=8 msgs=2000000 msgs_per_s=1.2e+07 GBps=0.096
 * Usage: pipe_bench [-b] [-i ITERS] [-n COUNT] [-s SIZE,...]
 *   -b  bind the parent to the first CPU it may use and the child to the second */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tubo.h>

static int bind_cpus;
static cpu_set_t allowed; /* the CPUs this program may use, as started */

/* Binds the calling process to the which-th CPU of allowed (with -b). */
static void bind_to(int which)
{
  if (!bind_cpus)
    return;
  for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &allowed))
      continue;
    if (seen++ == which) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof set, &set);
      return;
    }
  }
}

static void die(const char *what, int rc)
{
  fprintf(stderr, "pipe_bench: %s: %s\n", what, tubo_strerror(rc));
  exit(1);
}

struct job {
  tubo_pipe_t *mine, *theirs; /* the child's end, and the parent's (closed in the child) */
  long iters;
  size_t size;
};

/* The child of the latency test: sends back whatever comes, until the end of file. */
static int echo(void *arg)
{
  struct job *j = arg;
  bind_to(1);
  tubo_pipe_close(j->theirs);
  char buf[64];
  size_t len;
  int rc;
  while ((rc = tubo_pipe_recv(j->mine, buf, sizeof buf, &len)) == 0)
    if ((rc = tubo_pipe_send(j->mine, buf, len)) != 0)
      break;
  return rc == TUBO_EEOF ? 0 : 1;
}

/* The child of the throughput test: sends iters messages of size bytes, then closes. */
static int stream(void *arg)
{
  struct job *j = arg;
  bind_to(1);
  tubo_pipe_close(j->theirs);
  unsigned char *buf = calloc(1, j->size ? j->size : 1);
  if (buf == NULL)
    return 1;
  for (long i = 0; i < j->iters; i++) {
    buf[0] = (unsigned char)i;
    if (tubo_pipe_send(j->mine, buf, j->size) != 0)
      return 1;
  }
  free(buf);
  return tubo_pipe_close(j->mine) == 0 ? 0 : 1;
}

/* Starts fn in a child with end1 of a fresh pipe; returns the parent's end0. */
static tubo_pipe_t *start(tubo_process_fn fn, struct job *j, tubo_process_t **proc)
{
  tubo_pipe_t *e0, *e1;
  int rc = tubo_pipe_create(TUBO_PIPE_DUPLEX, &e0, &e1);
  if (rc != 0)
    die("tubo_pipe_create", rc);
  j->mine = e1;
  j->theirs = e0;
  if ((rc = tubo_process_create(fn, j, proc)) != 0 || (rc = tubo_process_start(*proc)) != 0)
    die("starting the child", rc);
  tubo_pipe_free(e1);
  return e0;
}

static void finish(tubo_pipe_t *e0, tubo_process_t *proc)
{
  tubo_pipe_free(e0);
  int code = -1;
  tubo_process_join(proc, -1);
  tubo_process_exitcode(proc, &code);
  tubo_process_free(proc);
  if (code != 0) {
    fprintf(stderr, "pipe_bench: the child failed (exit code %d)\n", code);
    exit(1);
  }
}

static void latency(long iters)
{
  struct job j = {NULL, NULL, iters, 8};
  tubo_process_t *proc;
  tubo_pipe_t *e = start(echo, &j, &proc);
  uint64_t msg = 0;
  size_t len;
  long warm = iters / 10 + 100;
  double t0 = 0;
  for (long i = -warm; i < iters; i++) {
    if (i == 0)
      t0 = tubo_wtime();
    int rc = tubo_pipe_send(e, &msg, sizeof msg);
    if (rc == 0)
      rc = tubo_pipe_recv(e, &msg, sizeof msg, &len);
    if (rc != 0)
      die("ping-pong", rc);
    msg++;
  }
  double dt = tubo_wtime() - t0;
  printf("pipe impl=tubo test=latency size=8 iters=%ld half_rtt_ns=%.1f\n", iters,
         dt / (double)iters / 2 * 1e9);
  finish(e, proc);
}

static void throughput(long count, size_t size)
{
  struct job j = {NULL, NULL, count, size};
  tubo_process_t *proc;
  tubo_pipe_t *e = start(stream, &j, &proc);
  unsigned char *buf = malloc(size ? size : 1);
  if (buf == NULL)
    die("malloc", TUBO_ENOMEM);
  size_t len;
  long got = 0;
  double t0 = 0;
  int rc;
  while ((rc = tubo_pipe_recv(e, buf, size, &len)) == 0) {
    if (got++ == 0)
      t0 = tubo_wtime();
  }
  double dt = tubo_wtime() - t0;
  if (rc != TUBO_EEOF || got != count)
    die("stream", rc == TUBO_EEOF ? TUBO_ECORRUPT : rc);
  /* The first message started the clock: the rate is over the count - 1 after it. */
  double rate = (double)(count - 1) / dt;
  printf("pipe impl=tubo test=throughput size=%zu msgs=%ld msgs_per_s=%.4g GBps=%.4g\n", size,
         count, rate, rate * (double)size * 1e-9);
  free(buf);
  finish(e, proc);
}

int main(int argc, char **argv)
{
  long iters = 200000, count = 2000000;
  const char *sizes = "8,1048576";
  int opt;
  while ((opt = getopt(argc, argv, "bi:n:s:")) != -1) {
    switch (opt) {
    case 'b':
      bind_cpus = 1;
      break;
    case 'i':
      iters = atol(optarg);
      break;
    case 'n':
      count = atol(optarg);
      break;
    case 's':
      sizes = optarg;
      break;
    default:
      fprintf(stderr, "usage: %s [-b] [-i ITERS] [-n COUNT] [-s SIZE,...]\n", argv[0]);
      return 2;
    }
  }
  if (iters < 1 || count < 2) {
    fprintf(stderr, "pipe_bench: -i needs at least 1, -n at least 2\n");
    return 2;
  }
  if (bind_cpus && sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    bind_cpus = 0;
  bind_to(0);
  latency(iters);
  for (const char *s = sizes; *s;) {
    char *end;
    unsigned long long size = strtoull(s, &end, 10);
    if (end == s || (*end != ',' && *end != '\0')) {
      fprintf(stderr, "pipe_bench: bad size list '%s'\n", sizes);
      return 2;
    }
    /* Large messages: fewer of them, about 4 GiB in all at most. */
    long n = count;
    if (size > 0 && (unsigned long long)n * size > (4ull << 30))
      n = (long)((4ull << 30) / size) + 2;
    throughput(n, (size_t)size);
    s = *end ? end + 1 : end;
  }
  return 0;
}
