/* SPDX-License-Identifier: MIT */
/* The cache-line floor: the least time any shared-memory message can take between two
 * cores. Two processes, each bound to its own CPU, bounce one 64-bit word (one cache
 * line): the parent writes odd values, the child answers with the next even value. Each
 * hop moves the line from one core's cache to the other's, with nothing else: no copy,
 * no header, no system call. It is measured twice, back to back: waiting in a plain spin
 * (as the project's anchor floor_pingpong.c does), then with the CPU's spin-wait hint
 * (x86 PAUSE, arm64 YIELD), which keeps the waiting core from snatching the line back
 * and on some hosts halves the figure. Prints the mean time of one hop (half a round
 * trip) for each:
 *   floor spin=plain half_rtt_ns=57.4 iters=1000000 cpus=0,1
 *   floor spin=pause half_rtt_ns=25.3 iters=1000000 cpus=0,1
 * With "loan" after the iterations it measures instead the floor of a loan's hop (the
 * loan ping-pong of osu_tubo -t loan): before it passes the line, each side writes the
 * first and last byte of a 4 MiB shared buffer and one more word (the ledger's) on lines
 * of their own, and after it takes the line it reads the two bytes:
 *   floor-loan spin=pause half_rtt_ns=306.0 iters=1000000 cpus=0,1
 * Then the floor of a channel, one line for each direction, as any pair of rings has:
 * each side writes its own line and waits on the other's. On the Intel VM of
 * doc/benchmarks.md that took twice the one line's time (a line that its last reader
 * writes next moves once a hop; two lines, each read by one side and written by the
 * other, move twice):
 *   floor-channel spin=plain half_rtt_ns=170.2 iters=1000000 cpus=0,1
 *   floor-channel spin=pause half_rtt_ns=171.9 iters=1000000 cpus=0,1
 * Usage: floor [ITERATIONS [loan]]   (the first tenth is warm-up and not timed) */
#define _GNU_SOURCE
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

/* The spin-wait hint, where the compiler knows one; elsewhere "pause" is a plain spin. */
static inline void floor_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static double floor_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int floor_bind(int cpu)
{
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set);
}

/* The first two CPUs this process may run on, or -1 when it has fewer than two. */
static int floor_pick_cpus(int cpu[2])
{
  cpu_set_t allowed;
  int found = 0;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    return -1;
  for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
    if (CPU_ISSET(c, &allowed))
      cpu[found++] = c;
  return found == 2 ? 0 : -1;
}

/* A loan's buffer: its first and last byte lie on lines of their own. */
#define FLOOR_LOAN_BYTES ((size_t)4 << 20)

/* The loan's hop (buf not NULL): the data and the ledger word written before the line
 * passes, with the value v the line is about to take. */
static inline void floor_loan_write(volatile unsigned char *buf, uint64_t v)
{
  buf[64] = (unsigned char)v;
  buf[FLOOR_LOAN_BYTES - 1] = (unsigned char)v;
  atomic_store_explicit((_Atomic uint64_t *)(buf + 4096), v, memory_order_relaxed);
}

/* And the two bytes read after the line came with v: 0 where they are not v's. */
static inline int floor_loan_read(volatile const unsigned char *buf, uint64_t v)
{
  return buf[64] == (unsigned char)v && buf[FLOOR_LOAN_BYTES - 1] == (unsigned char)v;
}

/* Bounces a value iters times between cpu[0] (this process) and cpu[1] (a child): this
 * process writes line and waits on back, the child the other way round (one line when
 * back is line), with a loan's lines when buf is not NULL. Returns the mean half round
 * trip in ns, or a negative value when the child failed. */
static double floor_measure(_Atomic uint64_t *line, _Atomic uint64_t *back, const int cpu[2],
                            long iters, int relax, volatile unsigned char *buf)
{
  atomic_store(line, 0);
  atomic_store(back, 0);
  pid_t child = fork();
  if (child < 0) {
    perror("floor: fork");
    return -1;
  }
  if (child == 0) {
    if (floor_bind(cpu[1]) != 0)
      perror("floor: sched_setaffinity");
    for (uint64_t v = 1; v < 2 * (uint64_t)iters; v += 2) {
      while (atomic_load_explicit(line, memory_order_acquire) != v)
        if (relax)
          floor_relax();
      if (buf != NULL) {
        if (!floor_loan_read(buf, v))
          _exit(1);
        floor_loan_write(buf, v + 1);
      }
      atomic_store_explicit(back, v + 1, memory_order_release);
    }
    _exit(0);
  }
  long skip = iters / 10;
  double t0 = 0;
  for (long i = 0; i < iters; i++) {
    if (i == skip)
      t0 = floor_now();
    uint64_t v = 2 * (uint64_t)i + 1;
    if (buf != NULL)
      floor_loan_write(buf, v);
    atomic_store_explicit(line, v, memory_order_release);
    while (atomic_load_explicit(back, memory_order_acquire) != v + 1)
      if (relax)
        floor_relax();
    if (buf != NULL && !floor_loan_read(buf, v + 1)) {
      fprintf(stderr, "floor: the loan's bytes are not what was written\n");
      return -1;
    }
  }
  double t = floor_now() - t0;
  int st = 0;
  if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "floor: the child process failed\n");
    return -1;
  }
  return t / (double)(iters - skip) / 2 * 1e9;
}

int main(int argc, char **argv)
{
  long iters = 1000000;
  int loan = argc == 3 && strcmp(argv[2], "loan") == 0;
  if (argc > 3 || (argc == 3 && !loan) || (argc >= 2 && (iters = atol(argv[1])) < 10)) {
    fprintf(stderr, "Usage: floor [ITERATIONS >= 10 [loan]]\n");
    return 2;
  }
  int cpu[2];
  if (floor_pick_cpus(cpu) != 0) {
    fprintf(stderr, "floor: needs two CPUs to run on (spinning on one measures nothing)\n");
    return 1;
  }
  _Atomic uint64_t *line =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (line == MAP_FAILED) {
    perror("floor: mmap");
    return 1;
  }
  if (floor_bind(cpu[0]) != 0)
    perror("floor: sched_setaffinity");
  if (loan) {
    unsigned char *buf =
        mmap(NULL, FLOOR_LOAN_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
      perror("floor: mmap");
      return 1;
    }
    double ns = floor_measure(line, line, cpu, iters, 1, buf);
    if (ns < 0)
      return 1;
    printf("floor-loan spin=pause half_rtt_ns=%.1f iters=%ld cpus=%d,%d\n", ns, iters, cpu[0],
           cpu[1]);
    return 0;
  }
  /* The channel's second line lies 256 bytes past the first: not in the pair of lines
   * that a processor's adjacent-line prefetcher fetches together. */
  static const char *const names[2] = {"plain", "pause"};
  for (int lines = 1; lines <= 2; lines++)
    for (int relax = 0; relax < 2; relax++) {
      double ns = floor_measure(line, lines == 1 ? line : line + 32, cpu, iters, relax, NULL);
      if (ns < 0)
        return 1;
      printf("floor%s spin=%s half_rtt_ns=%.1f iters=%ld cpus=%d,%d\n",
             lines == 1 ? "" : "-channel", names[relax], ns, iters, cpu[0], cpu[1]);
    }
  return 0;
}
