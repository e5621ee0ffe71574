/* SPDX-License-Identifier: MIT */
/* The shared heap (lib/heap/heap.h) under processes that allocate and free at once.
 *
 *   heap_bench [pairs per process] [rounds]
 *
 * For 1, 2 and 4 processes, each allocates and frees small blocks of random sizes (16 B
 * to 1 KiB, 16 live at a time, each block written once) through the lock-free heap, and
 * through the same heap with every call inside one shared lock that survives its holder
 * (lib/patterns/lock.h): the alternative design's cost of locking alone. Modes alternate
 * round by round, so both see the same machine; the ratio is taken per round and the
 * median printed. Then the cost of a 1 MiB block allocated, written and freed, with its
 * pages given back at each free and with its pages kept. */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap/heap.h"
#include "heap/heap_shared.h"
#include "os/os.h"
#include "patterns/lock.h"

static tubo__heap_own_t own;
static tubo__lock_t *lock;

static uint64_t rnd(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void die(const char *what, int rc)
{
  fprintf(stderr, "heap_bench: %s: %d\n", what, rc);
  _exit(1);
}

/* One process's share: pairs allocations and as many frees. */
static void churn(long pairs, int locked, uint64_t seed)
{
  uint64_t live[16] = {0};
  uint64_t s = seed;
  for (long i = 0; i < pairs; i++) {
    int k = (int)(rnd(&s) % 16);
    size_t size = 16 + (size_t)(rnd(&s) % 1009);
    if (locked)
      tubo__lock_take(lock);
    int rc = live[k] ? tubo__heap_free(&own.heap, live[k]) : 0;
    if (rc == 0)
      rc = tubo__heap_alloc(&own.heap, size, 0, &live[k]);
    if (locked)
      tubo__lock_release(lock);
    if (rc != 0)
      die("alloc or free", rc);
    *(volatile unsigned char *)tubo__heap_at(&own.heap, live[k], 1) = (unsigned char)i;
  }
  for (int k = 0; k < 16; k++)
    if (live[k])
      tubo__heap_free(&own.heap, live[k]);
}

/* Pairs per second of nproc processes together. */
static double run(int nproc, long pairs, int locked)
{
  uint64_t t0 = tubo__os_now_ns();
  for (int p = 0; p < nproc; p++) {
    pid_t pid = fork();
    if (pid < 0)
      die("fork", -1);
    if (pid == 0) {
      churn(pairs, locked, (uint64_t)p * 7919 + 17);
      _exit(0);
    }
  }
  for (int p = 0; p < nproc; p++) {
    int ws;
    if (wait(&ws) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
      die("a process failed", ws);
  }
  return (double)nproc * (double)pairs / ((double)(tubo__os_now_ns() - t0) * 1e-9);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nanoseconds to allocate, write and free a 1 MiB block; with give set, its class is made
 * to give the pages back at the free (its reuse mark cleared). */
static double big_cycle(tubo__heap_t *h, _Atomic uint32_t *reuses, int give)
{
  uint64_t t0 = tubo__os_now_ns(), off;
  int rc = tubo__heap_alloc(h, (size_t)1 << 20, 0, &off);
  if (rc != 0)
    die("1 MiB alloc", rc);
  memset(tubo__heap_at(h, off, (size_t)1 << 20), 1, (size_t)1 << 20);
  if (give)
    atomic_store(reuses, 0);
  tubo__heap_free(h, off);
  return (double)(tubo__os_now_ns() - t0);
}

int main(int argc, char **argv)
{
  long pairs = argc > 1 ? atol(argv[1]) : 200000;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  if (pairs <= 0 || rounds <= 0 || rounds > 64)
    die("usage: heap_bench [pairs per process] [rounds (1..64)]", 2);
  int rc = tubo__heap_own_create((uint64_t)1 << 30, &own);
  if (rc != 0)
    die("heap", rc);
  lock = mmap(NULL, sizeof *lock, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (lock == MAP_FAILED)
    die("mmap", -1);
  memset(lock, 0, sizeof *lock);
  printf("%-6s %16s %16s %10s\n", "procs", "lock-free (M/s)", "locked (M/s)", "ratio");
  for (int nproc = 1; nproc <= 4; nproc *= 2) {
    double lf[64], lk[64], ratio[64];
    for (int r = 0; r < rounds; r++) {
      lf[r] = run(nproc, pairs, 0);
      lk[r] = run(nproc, pairs, 1);
      ratio[r] = lf[r] / lk[r];
    }
    qsort(lf, (size_t)rounds, sizeof lf[0], cmp_double);
    qsort(lk, (size_t)rounds, sizeof lk[0], cmp_double);
    qsort(ratio, (size_t)rounds, sizeof ratio[0], cmp_double);
    printf("%-6d %16.2f %16.2f %9.2fx\n", nproc, lf[rounds / 2] / 1e6, lk[rounds / 2] / 1e6,
           ratio[rounds / 2]);
  }
  /* The 1 MiB cycle in a class that keeps freed runs' pages (it has reused one), and in
   * one made to give them back at every free (its reuse mark cleared each time). */
  tubo__heap_own_t big;
  if ((rc = tubo__heap_own_create((uint64_t)256 << 20, &big)) != 0)
    die("heap", rc);
  struct heap_class *k = &big.heap.ctl->cls[HEAP_NSMALL + heap_geo_index(HEAP_RUN_PAGES0, 256)];
  double keep[201], give[201];
  for (int i = 0; i < 201; i++)
    give[i] = big_cycle(&big.heap, &k->reuses, 1);
  (void)big_cycle(&big.heap, &k->reuses, 0); /* takes back the pages given last */
  for (int i = 0; i < 201; i++)
    keep[i] = big_cycle(&big.heap, &k->reuses, 0);
  qsort(keep, 201, sizeof keep[0], cmp_double);
  qsort(give, 201, sizeof give[0], cmp_double);
  printf("1 MiB allocate, write, free (median of 201): %.1f us with its pages kept, %.1f us "
         "given back\n",
         keep[100] / 1e3, give[100] / 1e3);
  tubo__heap_own_destroy(&big);
  tubo__heap_own_destroy(&own);
  return 0;
}
