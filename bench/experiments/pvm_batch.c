/* SPDX-License-Identifier: MIT */
/* Single copies with process_vm_readv, one message per call against several per call (an
 * iovec each), as a receiver reads the single copies of one pass over a sender's frames
 * (doc/large-messages.md, "Single copies read together").
 *
 *   pvm_batch SIZE BATCH ITERS
 *
 * A child bound to CPU 0 holds a private buffer of SIZE bytes; the parent, bound to CPU 1,
 * reads it ITERS times into one buffer of its own, BATCH messages per call, as osu's bw
 * test sends one buffer again and again. Prints the best of five runs in ns per message,
 * and a memcpy of the same size in the parent's cache for comparison. */
#include "config.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { PVM_MAX_BATCH = 1024 };

static double pvm_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void pvm_bind(int cpu)
{
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  if (sched_setaffinity(0, sizeof s, &s) != 0)
    perror("pvm_batch: sched_setaffinity");
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: pvm_batch SIZE BATCH ITERS\n");
    return 2;
  }
  size_t n = strtoul(argv[1], NULL, 0);
  int batch = atoi(argv[2]), iters = atoi(argv[3]);
  if (n == 0 || batch < 1 || batch > PVM_MAX_BATCH || iters < batch) {
    fprintf(stderr, "pvm_batch: SIZE > 0, 1 <= BATCH <= %d, ITERS >= BATCH\n", PVM_MAX_BATCH);
    return 2;
  }
  int p[2];
  if (pipe(p) != 0)
    return 1;
  pid_t child = fork();
  if (child < 0)
    return 1;
  if (child == 0) {
    pvm_bind(0);
    char *src = malloc(n);
    if (src == NULL)
      _exit(1);
    memset(src, 1, n);
    void *at = src;
    if (write(p[1], &at, sizeof at) != (ssize_t)sizeof at)
      _exit(1);
    pause();
    _exit(0);
  }
  pvm_bind(1);
  void *remote;
  char *dst = aligned_alloc(4096, (n + 4095) & ~(size_t)4095), *mine = malloc(n);
  if (read(p[0], &remote, sizeof remote) != (ssize_t)sizeof remote || dst == NULL || mine == NULL)
    return 1;
  memset(dst, 0, n);
  memset(mine, 1, n);
  static struct iovec l[PVM_MAX_BATCH], r[PVM_MAX_BATCH];
  for (int k = 0; k < batch; k++) {
    l[k] = (struct iovec){dst, n};
    r[k] = (struct iovec){remote, n};
  }
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = pvm_now();
    for (int i = 0; i + batch <= iters; i += batch)
      if (process_vm_readv(child, l, (unsigned long)batch, r, (unsigned long)batch, 0) !=
          (ssize_t)(n * (size_t)batch)) {
        perror("pvm_batch: process_vm_readv");
        kill(child, SIGKILL);
        return 1;
      }
    double t = pvm_now() - t0;
    best = t < best ? t : best;
  }
  int done = iters / batch * batch;
  double t0 = pvm_now();
  for (int i = 0; i < done; i++) {
    memcpy(dst, mine, n);
    __asm__ volatile("" ::: "memory");
  }
  double tm = pvm_now() - t0;
  printf("pvm_batch size=%zu batch=%d ns_per_msg=%.0f GBps=%.2f memcpy_GBps=%.2f\n", n, batch,
         best / done * 1e9, (double)n * done / best / 1e9, (double)n * done / tm / 1e9);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  return 0;
}
