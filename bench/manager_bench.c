/* SPDX-License-Identifier: MIT */
/* Rates of the shared dict and Namespace, measured as bench/py_manager.py measures
 * Python's Manager. With -p 1 (the default), one process: N writes `d[str(i)] = i`, N
 * reads `d[str(i)]`, N Namespace sets `ns.x = i`. With -p P, P processes forked after the
 * objects are made, started together at a gate, each doing the same on keys of its own in
 * the one dict and on its own Namespace name; a rate is P * N over the slowest process's
 * time. Every read is checked. Keys are written in the loops, as the Python writes them,
 * by a plain decimal formatter: snprintf alone would cost as much as a read. Prints one
 * line:
 *   manager impl=tubo procs=P dict_writes_per_s=W dict_reads_per_s=R ns_sets_per_s=A
 *     cpu_dict_writes_per_s=.. cpu_dict_reads_per_s=.. cpu_ns_sets_per_s=..
 * the cpu_ rates over the processor time the slowest process spent in each loop instead
 * of its wall-clock time: on a shared machine, what the loops cost without the time the
 * process waited for a CPU (a loop of a few milliseconds loses half its rate to one
 * preemption). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tubo.h>

struct job {
  tubo_dict_t *d;
  tubo_ns_t *ns;
  tubo_array_t *shared; /* [0] the gate, [1 + NT i ..] process i's times, in ns */
  long n;
  int procs;
};

/* Each loop's wall-clock time, then the processor time its process spent in it. */
#define NT 6

static int64_t clock_ns(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(void)
{
  return clock_ns(CLOCK_MONOTONIC);
}

static int64_t cpu_ns(void)
{
  return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* Writes "me-i" into key (room for two longs), as "%d-%ld" would. */
static void key_of(char *key, int me, long i)
{
  char t[24];
  int n = 0, k = 0;
  unsigned long a = (unsigned long)me, b = (unsigned long)i;
  do
    t[n++] = (char)('0' + a % 10);
  while ((a /= 10) != 0);
  while (n > 0)
    key[k++] = t[--n];
  key[k++] = '-';
  do
    t[n++] = (char)('0' + b % 10);
  while ((b /= 10) != 0);
  while (n > 0)
    key[k++] = t[--n];
  key[k] = '\0';
}

/* One process's three loops; their times go to t[0..2]. 0, or 1 when a call failed. */
static int run_loops(const struct job *j, int me, int64_t *t)
{
  char key[48], name[32];
  snprintf(name, sizeof name, "x%d", me);
  int64_t t0 = now_ns(), c0 = cpu_ns();
  for (long i = 0; i < j->n; i++) {
    key_of(key, me, i);
    if (tubo_dict_set(j->d, key, &i, sizeof i) != 0)
      return 1;
  }
  int64_t t1 = now_ns(), c1 = cpu_ns();
  for (long i = 0; i < j->n; i++) {
    long v = -1;
    key_of(key, me, i);
    if (tubo_dict_get(j->d, key, &v, sizeof v, NULL) != 0 || v != i) {
      fprintf(stderr, "manager_bench: %s: expected %ld, got %ld\n", key, i, v);
      return 1;
    }
  }
  int64_t t2 = now_ns(), c2 = cpu_ns();
  for (long i = 0; i < j->n; i++)
    if (tubo_ns_set_long(j->ns, name, i) != 0)
      return 1;
  int64_t t3 = now_ns(), c3 = cpu_ns();
  t[0] = t1 - t0;
  t[1] = t2 - t1;
  t[2] = t3 - t2;
  t[3] = c1 - c0;
  t[4] = c2 - c1;
  t[5] = c3 - c2;
  return 0;
}

static int worker(void *arg)
{
  const struct job *j = arg;
  _Atomic long long *s = tubo_array_data(j->shared);
  int me = (int)atomic_fetch_add(&s[0], 1);
  while (atomic_load(&s[0]) < j->procs) /* the gate: all start together */
    ;
  int64_t t[NT];
  if (run_loops(j, me, t) != 0)
    return 1;
  for (int k = 0; k < NT; k++)
    atomic_store(&s[1 + NT * me + k], t[k]);
  return 0;
}

int main(int argc, char **argv)
{
  struct job j = {NULL, NULL, NULL, 20000, 1};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
      j.n = atol(argv[++i]);
    else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
      j.procs = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: manager_bench [-n N] [-p PROCS]\n");
      return 2;
    }
  }
  if (j.n < 1 || j.procs < 1 || j.procs > 64) {
    fprintf(stderr, "manager_bench: N and PROCS (1..64) must be positive\n");
    return 2;
  }
  if (tubo_dict_create(&j.d) != 0 || tubo_ns_create(&j.ns) != 0 ||
      tubo_array_create(TUBO_LLONG, (size_t)(1 + NT * j.procs), &j.shared) != 0)
    return 1;
  int64_t worst[NT] = {0, 0, 0, 0, 0, 0};
  if (j.procs == 1) {
    if (run_loops(&j, 0, worst) != 0)
      return 1;
  } else {
    tubo_process_t *p[64];
    int code = 0;
    for (int i = 0; i < j.procs; i++)
      if (tubo_process_create(worker, &j, &p[i]) != 0 || tubo_process_start(p[i]) != 0)
        return 1;
    for (int i = 0; i < j.procs; i++) {
      int c = 1;
      tubo_process_join(p[i], -1);
      tubo_process_exitcode(p[i], &c);
      code |= c;
      tubo_process_free(p[i]);
    }
    if (code != 0)
      return 1;
    const long long *s = tubo_array_data(j.shared);
    for (int i = 0; i < j.procs; i++)
      for (int k = 0; k < NT; k++)
        if (s[1 + NT * i + k] > worst[k])
          worst[k] = s[1 + NT * i + k];
  }
  double ops = (double)j.n * j.procs;
  printf("manager impl=tubo procs=%d dict_writes_per_s=%.0f dict_reads_per_s=%.0f "
         "ns_sets_per_s=%.0f cpu_dict_writes_per_s=%.0f cpu_dict_reads_per_s=%.0f "
         "cpu_ns_sets_per_s=%.0f\n",
         j.procs, ops * 1e9 / (double)worst[0], ops * 1e9 / (double)worst[1],
         ops * 1e9 / (double)worst[2], ops * 1e9 / (double)worst[3], ops * 1e9 / (double)worst[4],
         ops * 1e9 / (double)worst[5]);
  tubo_array_free(j.shared);
  tubo_ns_free(j.ns);
  tubo_dict_free(j.d);
  return 0;
}
