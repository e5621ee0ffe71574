/* SPDX-License-Identifier: MIT */
/* The floor under commstime (examples/commstime.c): the same network of four processes
 * (prefix, delta, successor, consumer), passing a long through bare synchronous channels
 * with nothing else: one shared word per channel beside the value, no heap, no lock, no
 * queue, no Alternation, no check. As in tubo's channels, the first of the two parties
 * to come waits and the second completes the communication and goes on: a write returns
 * once the reader has the value. How a process waits is what differs:
 *   futex   sleeps at once on the word (futex), and the other side wakes it only when
 *           the word says someone sleeps;
 *   yield   polls the word and gives its processing unit away (sched_yield) between two
 *           looks, never sleeping: a partner that shares the unit runs at once;
 *   hybrid  yields for 200 looks, then sleeps.
 * And switch: two processes bound to one processing unit hand it to each other with
 * sched_yield, printing the time of one switch of process (us_per_switch).
 * With fewer processing units than the four processes, most communications cost a switch
 * of process, which no channel can avoid: this is what tubo's commstime is compared with,
 * in the same run (bench/manager.sh). Prints, per mode:
 *   csp_floor wait=futex rounds=N seconds=S us_per_comm=U
 * Usage: csp_floor [-n ROUNDS] [futex|yield|hybrid|switch ...]   (default: the first three) */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A channel's word: who waits (idle, the writer with its value in wval, the reader), or
 * a value handed to the waiting reader in rval; SLEEPER: someone sleeps on the word. As in
 * tubo's channels, the second party to come completes the communication and goes on
 * without waiting: only the first waits. */
enum { IDLE = 0, WRITER = 1, READER = 2, HANDED = 3, STATE = 3u, SLEEPER = 4u };

struct chan {
  _Atomic uint32_t word;
  _Atomic long wval, rval;
  char pad[64 - sizeof(uint32_t) - 2 * sizeof(long)];
};

/* The mode: 0 futex, 1 yield, 2 yield for a while, then futex. */
static int floor_mode;
static const char *const floor_modes[] = {"futex", "yield", "hybrid"};

static void floor_futex(_Atomic uint32_t *w, int op, uint32_t val)
{
  syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
}

/* Waits until the word's state is want (leave 0) or is not it (leave 1). */
static void floor_wait(_Atomic uint32_t *w, uint32_t state, int leave)
{
  unsigned tries = 0;
  for (;;) {
    uint32_t v = atomic_load(w);
    if (((v & STATE) == state) != leave)
      return;
    if (floor_mode == 1 || (floor_mode == 2 && ++tries < 200)) {
      sched_yield();
      continue;
    }
    if (!(v & SLEEPER) && !atomic_compare_exchange_strong(w, &v, v | SLEEPER))
      continue;
    floor_futex(w, FUTEX_WAIT, v | SLEEPER);
  }
}

/* Moves the word from state from to state to: 0 when it was not in from. Wakes whoever
 * sleeps on it. */
static int floor_move(_Atomic uint32_t *w, uint32_t from, uint32_t to)
{
  uint32_t v = atomic_load(w);
  while ((v & STATE) == from)
    if (atomic_compare_exchange_weak(w, &v, to)) {
      if (v & SLEEPER)
        floor_futex(w, FUTEX_WAKE, INT_MAX);
      return 1;
    }
  return 0;
}

static void floor_write(struct chan *c, long x)
{
  for (;;) {
    atomic_store_explicit(&c->wval, x, memory_order_relaxed);
    if (floor_move(&c->word, IDLE, WRITER)) {
      floor_wait(&c->word, WRITER, 1); /* until the reader took it */
      return;
    }
    /* The reader waits for rval only once the word says so. */
    uint32_t v = atomic_load(&c->word);
    if ((v & STATE) == READER) {
      atomic_store_explicit(&c->rval, x, memory_order_relaxed);
      if (floor_move(&c->word, READER, HANDED))
        return;
    }
    floor_wait(&c->word, HANDED, 1); /* the reader has not yet taken the last one */
  }
}

static long floor_read(struct chan *c)
{
  for (;;) {
    /* The writer leaves wval alone while the word says it waits. */
    uint32_t v = atomic_load(&c->word);
    long x = atomic_load_explicit(&c->wval, memory_order_relaxed);
    if ((v & STATE) == WRITER && atomic_compare_exchange_strong(&c->word, &v, IDLE)) {
      if (v & SLEEPER)
        floor_futex(&c->word, FUTEX_WAKE, INT_MAX);
      return x;
    }
    if (floor_move(&c->word, IDLE, READER)) {
      floor_wait(&c->word, HANDED, 0);
      x = atomic_load_explicit(&c->rval, memory_order_relaxed);
      floor_move(&c->word, HANDED, IDLE);
      return x;
    }
  }
}

static double floor_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One run of the network: a, b, c, d as in commstime. The consumer prints. */
static int floor_run(struct chan *ch, long rounds)
{
  struct chan *a = &ch[0], *b = &ch[1], *c = &ch[2], *d = &ch[3];
  memset(ch, 0, 4 * sizeof *ch);
  pid_t pid[3];
  for (int p = 0; p < 3; p++) {
    pid[p] = fork();
    if (pid[p] < 0)
      return 1;
    if (pid[p] > 0)
      continue;
    /* Each process runs rounds + 1 times: the first round starts the consumer's clock. */
    for (long i = 0; i <= rounds; i++) {
      if (p == 0) { /* prefix */
        floor_write(a, i == 0 ? 0 : floor_read(c));
      } else if (p == 1) { /* delta */
        long x = floor_read(a);
        floor_write(b, x);
        floor_write(d, x);
      } else { /* successor */
        floor_write(c, floor_read(b) + 1);
      }
    }
    _exit(0);
  }
  int bad = floor_read(d) != 0;
  double t0 = floor_now();
  for (long i = 1; i <= rounds; i++)
    bad |= floor_read(d) != i;
  double dt = floor_now() - t0;
  /* The successor's last write has no reader: its last value is taken here. */
  (void)floor_read(c);
  for (int p = 0; p < 3; p++)
    waitpid(pid[p], NULL, 0);
  if (bad) {
    fprintf(stderr, "csp_floor: values out of order\n");
    return 1;
  }
  printf("csp_floor wait=%s rounds=%ld seconds=%.6f us_per_comm=%.3f\n", floor_modes[floor_mode],
         rounds, dt, dt * 1e6 / (4.0 * (double)rounds));
  fflush(stdout);
  return 0;
}

/* The switch: two processes bound to one processing unit hand it to each other with
 * sched_yield, rounds times each way, through one shared word. What one switch of process
 * costs here: the least a communication costs when the two parties share a unit. */
static int floor_switch(struct chan *ch, long rounds)
{
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0)
    return 1;
  _Atomic long *turn = &ch[0].wval;
  atomic_store(turn, 0);
  pid_t pid = fork();
  if (pid < 0)
    return 1;
  double t0 = floor_now();
  for (long i = pid == 0; i < 2 * rounds; i += 2) {
    while (atomic_load(turn) != i)
      sched_yield();
    atomic_store(turn, i + 1);
  }
  if (pid == 0)
    _exit(0);
  double dt = floor_now() - t0;
  waitpid(pid, NULL, 0);
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < CPU_SETSIZE; c++)
    CPU_SET(c, &all);
  (void)sched_setaffinity(0, sizeof all, &all);
  printf("csp_floor wait=switch rounds=%ld seconds=%.6f us_per_switch=%.3f\n", rounds, dt,
         dt * 1e6 / (2.0 * (double)rounds));
  fflush(stdout);
  return 0;
}

static int floor_mode_of(const char *name)
{
  for (int m = 0; m < 3; m++)
    if (strcmp(name, floor_modes[m]) == 0)
      return m;
  return -1;
}

int main(int argc, char **argv)
{
  long rounds = 100000;
  int ran = 0, rc = 0;
  struct chan *ch =
      mmap(NULL, 4 * sizeof *ch, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (ch == MAP_FAILED)
    return 1;
  for (int i = 1; i < argc; i++) /* the rounds first, wherever they are */
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && (rounds = atol(argv[++i])) <= 0) {
      fprintf(stderr, "usage: csp_floor [-n ROUNDS] [futex|yield|hybrid|switch ...]\n");
      return 2;
    }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0) {
      i++;
    } else if (strcmp(argv[i], "switch") == 0) {
      rc |= floor_switch(ch, rounds);
      ran = 1;
    } else if ((floor_mode = floor_mode_of(argv[i])) >= 0) {
      rc |= floor_run(ch, rounds);
      ran = 1;
    } else {
      fprintf(stderr, "usage: csp_floor [-n ROUNDS] [futex|yield|hybrid|switch ...]\n");
      return 2;
    }
  }
  for (int m = 0; !ran && m < 3; m++) {
    floor_mode = m;
    rc |= floor_run(ch, rounds);
  }
  return rc;
}
