/* SPDX-License-Identifier: MIT */
/* The 8 B ping-pong through rings of 64-byte slots, as tubo's channels carry it, with
 * nothing of tubo around it: two processes, each bound to its own CPU, one ring per
 * direction; the sender writes the payload and the header, then the stamp (release); the
 * receiver polls the stamp of its next slot, copies the payload out and every quarter ring
 * publishes how far it read on a line of its own. Between bench/floor (one line bounced)
 * and osu_tubo, it says what the ring itself costs. Arguments: the ring's slots, the
 * prefetch distance (prefetchw of the slot that many positions ahead after each send, 0:
 * none) and the spin (plain, or pause: x86 PAUSE between polls). An optional fifth word:
 * "nohead" (the receiver never publishes its head, the sender never checks room: with 1
 * slot, two fixed lines, one per direction), "oneline" (both directions' slots of a
 * position share one line, the second direction's in its second half; implies nohead) or
 * "demote" (cldemote of the slot after its stamp).
 * Usage: slot_ring ITERATIONS SLOTS PREFETCH plain|pause [nohead|oneline|demote]
 * Prints: slot_ring slots=S prefetch=P spin=M demote=D oneline=O half_rtt_ns=T iters=N */
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

struct sr_slot {
  _Atomic uint32_t stamp;
  uint32_t len;
  int32_t tag;
  uint32_t pad;
  uint64_t inl[6];
};

struct sr_ring {
  _Alignas(64) _Atomic uint64_t head; /* written by the receiver */
  _Alignas(64) struct sr_slot slots[];
};

static int sr_pause, sr_nohead, sr_demote, sr_oneline;

static inline void sr_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  if (sr_pause)
    __builtin_ia32_pause();
#endif
}

static double sr_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sr_bind(int cpu)
{
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)sched_setaffinity(0, sizeof set, &set);
}

/* The slot of position pos in ring r: with "oneline" both directions' slots of a
 * position share one line, the second ring's at its second half. */
static inline struct sr_slot *sr_at(struct sr_ring *r, uint64_t pos, uint64_t nslots)
{
  return (struct sr_slot *)((char *)r->slots + (pos & (nslots - 1)) * 64);
}

typedef struct sr_end {
  struct sr_ring *tx, *rx;
  uint64_t tail, head, head_pub, nslots, prefetch;
} sr_end_t;

static void sr_send(sr_end_t *e, uint64_t v)
{
  while (!sr_nohead &&
         e->tail - atomic_load_explicit(&e->tx->head, memory_order_acquire) >= e->nslots)
    sr_relax();
  struct sr_slot *s = sr_at(e->tx, e->tail, e->nslots);
  s->len = 8;
  s->tag = 1;
  s->inl[0] = v;
  atomic_store_explicit(&s->stamp, (uint32_t)(e->tail + 1), memory_order_release);
  e->tail++;
#if defined(__x86_64__)
  if (sr_demote)
    __asm__ __volatile__("cldemote %0" ::"m"(*(volatile char *)s));
#endif
  if (e->prefetch != 0)
    __builtin_prefetch(&e->tx->slots[(e->tail - 1 + e->prefetch) & (e->nslots - 1)], 1);
  atomic_signal_fence(memory_order_seq_cst);
}

static uint64_t sr_recv(sr_end_t *e)
{
  struct sr_slot *s = sr_at(e->rx, e->head, e->nslots);
  while (atomic_load_explicit(&s->stamp, memory_order_acquire) != (uint32_t)(e->head + 1))
    sr_relax();
  uint64_t v;
  memcpy(&v, s->inl, sizeof v);
  e->head++;
  if (!sr_nohead && e->head - e->head_pub >= (e->nslots + 3) / 4) {
    atomic_store_explicit(&e->rx->head, e->head, memory_order_release);
    e->head_pub = e->head;
  }
  return v;
}

int main(int argc, char **argv)
{
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: slot_ring ITERATIONS SLOTS PREFETCH plain|pause\n");
    return 2;
  }
  long iters = atol(argv[1]);
  uint64_t nslots = strtoull(argv[2], NULL, 10), prefetch = strtoull(argv[3], NULL, 10);
  sr_pause = strcmp(argv[4], "pause") == 0;
  sr_nohead = argc == 6 && strstr(argv[5], "nohead") != NULL;
  sr_demote = argc == 6 && strstr(argv[5], "demote") != NULL;
  if (iters <= 0 || nslots == 0 || (nslots & (nslots - 1)) != 0) {
    fprintf(stderr, "slot_ring: ITERATIONS > 0, SLOTS a power of two\n");
    return 2;
  }
  size_t rb = 64 + nslots * 64;
  char *m = mmap(NULL, 2 * rb, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return 1;
  sr_oneline = argc == 6 && strstr(argv[5], "oneline") != NULL;
  struct sr_ring *a = (struct sr_ring *)m, *b = (struct sr_ring *)(m + rb);
  if (sr_oneline) {
    /* Only stamp, len, tag and one payload word are used: 24 bytes fit half a line. */
    b = (struct sr_ring *)(m + 32);
    sr_nohead = 1;
  }
  long warm = iters / 10;
  pid_t pid = fork();
  if (pid < 0)
    return 1;
  sr_end_t e = {.nslots = nslots, .prefetch = prefetch};
  if (pid == 0) {
    sr_bind(1);
    e.tx = b;
    e.rx = a;
    for (long i = 0; i < warm + iters; i++)
      sr_send(&e, sr_recv(&e) + 1);
    _exit(0);
  }
  sr_bind(0);
  e.tx = a;
  e.rx = b;
  double t0 = 0;
  for (long i = 0; i < warm + iters; i++) {
    if (i == warm)
      t0 = sr_now();
    sr_send(&e, (uint64_t)i);
    (void)sr_recv(&e);
  }
  double t = sr_now() - t0;
  waitpid(pid, NULL, 0);
  printf("slot_ring slots=%llu prefetch=%llu spin=%s demote=%d oneline=%d half_rtt_ns=%.1f "
         "iters=%ld\n",
         (unsigned long long)nslots, (unsigned long long)prefetch, sr_pause ? "pause" : "plain",
         sr_demote, sr_oneline, t / (double)iters / 2 * 1e9, iters);
  return 0;
}
