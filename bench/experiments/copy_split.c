/* SPDX-License-Identifier: MIT */
/* The receiver's copy of a large message out of the shared heap (lib/copy.h), alone, and
 * split between two processes on two CPUs.
 *
 *   copy_split [rounds]
 *
 * Two processes, each bound to its own CPU, share a source and a destination buffer. For
 * each message of 1, 2 and 4 MiB, process 0 copies it whole (glibc's memcpy, one "rep
 * movsb", the library's tubo__copy_large, "rep movsb" in 256 KiB pieces, or non-temporal
 * stores) while process 1 waits, or each copies half with tubo__copy_large ("split"); then
 * both meet at a barrier, as a receiver answers each message with a FIN. Like osu's bw
 * test, the same buffers are copied again and again (20 MiB of windows of 64 messages).
 * The modes alternate round by round; each round's rate is printed, then the medians. */
#include "config.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "copy.h"

enum { CS_MODES = 6, CS_SIZES = 3, CS_MAX_ROUNDS = 64, CS_WINDOW = 64 };
static const char *const cs_names[CS_MODES] = {"memcpy",     "movsb",       "copy_large",
                                               "pieces256k", "nontemporal", "split"};
static const size_t cs_sizes[CS_SIZES] = {(size_t)1 << 20, (size_t)2 << 20, (size_t)4 << 20};

/* Copies n bytes with non-temporal stores (x86-64), memcpy elsewhere. */
static void cs_copy_nt(unsigned char *d, const unsigned char *s, size_t n)
{
#if defined(__x86_64__)
  for (; n >= 64; d += 64, s += 64, n -= 64)
    for (int i = 0; i < 64; i += 16)
      _mm_stream_si128((__m128i *)(void *)(d + i),
                       _mm_loadu_si128((const __m128i *)(const void *)(s + i)));
  _mm_sfence();
#endif
  memcpy(d, s, n);
}

static void cs_copy(int mode, int me, unsigned char *d, const unsigned char *s, size_t n)
{
  if (mode == 5) {
    size_t h = n / 2, off = me ? h : 0;
    tubo__copy_large(d + off, s + off, me ? n - h : h);
    return;
  }
  if (me != 0)
    return;
  switch (mode) {
  case 0:
    memcpy(d, s, n);
    break;
  case 1:
    tubo__os_copy_string(d, s, n);
    break;
  case 2:
    tubo__copy_large(d, s, n);
    break;
  case 3:
    for (size_t o = 0; o < n; o += (size_t)256 << 10)
      tubo__os_copy_string(d + o, s + o, n - o < ((size_t)256 << 10) ? n - o : (size_t)256 << 10);
    break;
  default:
    cs_copy_nt(d, s, n);
  }
}

static double cs_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Each process's message count sits on its own cache line. */
struct cs_bar {
  _Atomic long count[2][8];
};

/* Copies msgs messages of n bytes in the given mode, meeting the other process after each,
 * and returns the rate in GB/s (process 0's clock). */
static double cs_run(struct cs_bar *bar, int me, int mode, unsigned char *d, const unsigned char *s,
                     size_t n)
{
  long msgs = (long)(((size_t)20 << 20) / n) * CS_WINDOW;
  long base = atomic_load(&bar->count[me][0]);
  double t0 = cs_now();
  for (long i = 1; i <= msgs; i++) {
    cs_copy(mode, me, d, s, n);
    atomic_store(&bar->count[me][0], base + i);
    while (atomic_load(&bar->count[!me][0]) < base + i)
      ;
  }
  return (double)n * (double)msgs / (cs_now() - t0) / 1e9;
}

static int cs_pin(int cpu)
{
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set);
}

static int cs_cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
  int rounds = argc > 1 ? atoi(argv[1]) : 5;
  if (rounds < 1 || rounds > CS_MAX_ROUNDS) {
    fprintf(stderr, "copy_split: rounds from 1 to %d\n", CS_MAX_ROUNDS);
    return 2;
  }
  size_t max = cs_sizes[CS_SIZES - 1];
  unsigned char *s = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  unsigned char *d = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  struct cs_bar *bar =
      mmap(NULL, sizeof *bar, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED || d == MAP_FAILED || bar == MAP_FAILED) {
    perror("copy_split: mmap");
    return 1;
  }
  memset(s, 1, max);
  memset(d, 2, max);
  pid_t child = fork();
  if (child < 0) {
    perror("copy_split: fork");
    return 1;
  }
  int me = child == 0;
  if (cs_pin(me) != 0) {
    perror("copy_split: sched_setaffinity");
    if (me)
      _exit(1);
    return 1;
  }
  static double rate[CS_SIZES][CS_MODES][CS_MAX_ROUNDS];
  for (int r = 0; r < rounds; r++)
    for (int z = 0; z < CS_SIZES; z++)
      for (int m = 0; m < CS_MODES; m++) {
        rate[z][m][r] = cs_run(bar, me, m, d, s, cs_sizes[z]);
        if (!me)
          printf("round=%d size=%zu mode=%s GBps=%.1f\n", r + 1, cs_sizes[z], cs_names[m],
                 rate[z][m][r]);
      }
  if (me)
    _exit(0);
  int status;
  waitpid(child, &status, 0);
  for (int z = 0; z < CS_SIZES; z++)
    for (int m = 0; m < CS_MODES; m++) {
      qsort(rate[z][m], (size_t)rounds, sizeof(double), cs_cmp);
      printf("median size=%zu mode=%s GBps=%.1f (%.1f-%.1f)\n", cs_sizes[z], cs_names[m],
             rate[z][m][rounds / 2], rate[z][m][0], rate[z][m][rounds - 1]);
    }
  return 0;
}
