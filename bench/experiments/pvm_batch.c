/* SPDX-License-Identifier: MIT */
/* Single copies with process_vm_readv, one message per call against several per call (an
 * iovec each), as a receiver reads the single copies of one pass over a sender's frames
 * (doc/large-messages.md, "Single copies read together").
 *
 *   pvm_batch SIZE BATCH ITERS [both]
 *
 * A child bound to CPU 0 holds a private buffer of SIZE bytes; the parent, bound to CPU 1,
 * reads it ITERS times into one buffer of its own, BATCH messages (at most 64) per call
 * with the library's tubo__os_peer_readv (tubo__os_peer_read for one), as osu's bw test
 * sends one buffer again and again. Prints the best of five runs in ns per message, and a
 * memcpy of the same size in the parent's cache for comparison. With "both", the child
 * meanwhile writes its buffer ITERS times into another buffer of the parent's with
 * process_vm_writev (both cores copying, as a split message's two ranks), and the time is
 * until both are done; GBps then counts both copies. */
#include "config.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/os.h"

enum { PVM_MAX_BATCH = 64 }; /* as many as tubo__os_peer_readv takes */

int main(int argc, char **argv)
{
  if (argc != 4 && (argc != 5 || strcmp(argv[4], "both") != 0)) {
    fprintf(stderr, "usage: pvm_batch SIZE BATCH ITERS [both]\n");
    return 2;
  }
  int both = argc == 5;
  size_t n = strtoul(argv[1], NULL, 0);
  int batch = atoi(argv[2]), iters = atoi(argv[3]);
  if (n == 0 || batch < 1 || batch > PVM_MAX_BATCH || iters < batch) {
    fprintf(stderr, "pvm_batch: SIZE > 0, 1 <= BATCH <= %d, ITERS >= BATCH\n", PVM_MAX_BATCH);
    return 2;
  }
  int p[2];
  /* Where the child writes in "both", at the same address in the parent after the fork;
   * and the rounds each has begun (the parent) or finished (the child). */
  char *dst2 = malloc(n);
  _Atomic int *round = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (pipe(p) != 0 || dst2 == NULL || round == MAP_FAILED)
    return 1;
  memset(dst2, 0, n);
  pid_t child = fork();
  if (child < 0)
    return 1;
  /* The child holds the message on CPU 0, the parent reads it on CPU 1. */
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(child == 0 ? 0 : 1, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    perror("pvm_batch: sched_setaffinity");
  if (child == 0) {
    char *src = malloc(n);
    if (src == NULL)
      _exit(1);
    memset(src, 1, n);
    uint64_t at = (uint64_t)(uintptr_t)src;
    if (write(p[1], &at, sizeof at) != (ssize_t)sizeof at)
      _exit(1);
    for (int r = 1; both && r <= 5; r++) {
      while (atomic_load(&round[0]) < r)
        ;
      for (int i = 0; i < iters; i++)
        if (tubo__os_peer_write(getppid(), (uint64_t)(uintptr_t)dst2, src, n) != 0)
          _exit(1);
      atomic_store(&round[16], r);
    }
    pause();
    _exit(0);
  }
  uint64_t remote;
  char *dst = malloc(n), *mine = malloc(n);
  if (read(p[0], &remote, sizeof remote) != (ssize_t)sizeof remote || dst == NULL || mine == NULL)
    return 1;
  memset(dst, 0, n);
  memset(mine, 1, n);
  tubo__os_span_t v[PVM_MAX_BATCH];
  for (int k = 0; k < batch; k++)
    v[k] = (tubo__os_span_t){remote, dst, n};
  uint64_t best = UINT64_MAX;
  int done = iters / batch * batch, ok = 1;
  for (int rep = 0; rep < 5 && ok; rep++) {
    uint64_t t0 = tubo__os_now_ns();
    atomic_store(&round[0], rep + 1);
    for (int i = 0; i < done && ok; i += batch)
      ok = batch == 1 ? tubo__os_peer_read(child, remote, dst, n) == 0
                      : tubo__os_peer_readv(child, v, batch) == batch;
    while (both && ok && atomic_load(&round[16]) < rep + 1)
      ok = waitpid(child, NULL, WNOHANG) == 0;
    uint64_t t = tubo__os_now_ns() - t0;
    best = t < best ? t : best;
  }
  uint64_t t0 = tubo__os_now_ns();
  for (int i = 0; i < done; i++) {
    memcpy(dst, mine, n);
    __asm__ volatile("" ::: "memory");
  }
  uint64_t tm = tubo__os_now_ns() - t0;
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  if (!ok) {
    fprintf(stderr, "pvm_batch: a single copy failed (ptrace rights?)\n");
    return 1;
  }
  printf("pvm_batch size=%zu batch=%d%s ns_per_msg=%.0f GBps=%.2f memcpy_GBps=%.2f\n", n, batch,
         both ? " both" : "", (double)best / done, (double)n * done * (both ? 2 : 1) / (double)best,
         (double)n * done / (double)tm);
  return 0;
}
