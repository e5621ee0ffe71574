/* SPDX-License-Identifier: MIT */
/* How a rank waits for another rank: what it does between two looks that found nothing,
 * and when it goes to sleep on a futex (waitpol.c). Point-to-point waits (progress.c) and
 * the shared-memory collectives (coll/coll_shm.c) follow the same policy. */
#ifndef TUBO_WAITPOL_H
#define TUBO_WAITPOL_H

#include <stdint.h>

/* One per world. Where each rank has a processing unit, a waiter polls for spin_ns, then
 * sleeps. Where ranks share them, the rank that will answer may be waiting for this
 * rank's unit: a waiter gives the unit away between two polls (sched_yield, as Open MPI's
 * yield_when_idle) for yield_ns before it sleeps, and yield_ns follows what ends the waits
 * (tubo__waiter_end). */
typedef struct tubo__waitpol {
  uint64_t spin_ns;                 /* busy polling before a sleep, each rank on its own unit */
  uint64_t spin_min;                /* the least spin_ns becomes (TUBO_SPIN_NS) */
  uint64_t spin_max;                /* the most: TUBO__SPIN_GROW times spin_min */
  uint64_t yield_ns;                /* polling and yielding before a sleep, ranks sharing units */
  uint64_t yield_max;               /* the most yield_ns becomes (TUBO_YIELD_NS) */
  int shared;                       /* ranks share processing units: yield between polls */
  uint32_t grown, shrunk;           /* times yield_ns doubled and halved (tests, tuboinfo) */
  uint32_t spin_grown, spin_shrunk; /* times spin_ns doubled and halved (tests) */
} tubo__waitpol_t;

/* One wait in progress, on the waiter's stack: zero it to start. */
typedef struct tubo__waiter {
  uint64_t idle_since; /* when this run of empty polls began, 0 before the first */
  uint64_t slept_at;   /* when this wait first went to sleep, 0 while it has not */
  unsigned polls;
} tubo__waiter_t;

/* Sets the policy from the settings, for ranks that do (shared) or do not share
 * processing units; TUBO_YIELD_WHEN_IDLE overrides shared. */
void tubo__waitpol_init(tubo__waitpol_t *p, int shared);

/* After a poll that found nothing: relaxes the processor or yields it; returns 1 when the
 * waiter should now sleep, 0 to poll again. */
int tubo__waiter_idle(const tubo__waitpol_t *p, tubo__waiter_t *wt);

/* After a poll that found something: the next empty poll starts a new run. */
static inline void tubo__waiter_busy(tubo__waiter_t *wt)
{
  wt->idle_since = 0;
}

/* After a sleep, whether rung or timed out. */
void tubo__waiter_slept(tubo__waiter_t *wt, uint64_t fell_asleep);

/* How far spin_ns may grow above TUBO_SPIN_NS (tubo__waitpol_slept). */
#define TUBO__SPIN_GROW 16u

/* After one sleep of a wait, asleep_ns long, whether rung or timed out. Where each rank
 * has its unit, spin_ns follows what ends the sleeps: a sleep over within the budget
 * would have been a spin, had the budget been twice as long, and cost whoever rang the
 * bell a futex wake (a system call, and a wake-up of an idle CPU: 13 us to the waker on
 * the VM of doc/benchmarks.md): spin_ns doubles, up to spin_max. A sleep more than 16
 * times the budget waited for something slow: spin_ns halves, down to spin_min. A sender
 * streaming 4 MiB messages from tubo_alloc_mem buffers waits about 80 us for each FIN
 * there, beyond the 50 us default, and so slept (and had its bell rung) at every other
 * message. Where ranks share units nothing changes here (tubo__waiter_end). */
void tubo__waitpol_slept(tubo__waitpol_t *p, uint64_t asleep_ns);

/* How long a wait that slept may have slept, in budgets, and still make yield_ns grow
 * (tubo__waiter_end). With 1 (a sleep shorter than the budget) a budget halved down to its
 * 20 us floor by long waits stayed there once the waits were short again: a sleep and its
 * wake-up take more than 20 us on 2 vCPUs with 16 ranks, so no sleep was ever shorter, and
 * 8 B scans after 1 MiB reduce_scatter_blocks took 64-151 us a call against 10-14 (16
 * ranks, doc/benchmarks.md, "The yield budget comes back"). */
#define TUBO__YIELD_GROW_X 4u

/* The wait is over: where ranks share units, a wait that slept adjusts yield_ns. One
 * that ended soon after it fell asleep, within TUBO__YIELD_GROW_X budgets, would have
 * ended while yielding, had it yielded that much longer, and saved a sleep and a futex
 * wake: yield_ns doubles. One that slept more than 16 times longer than it yielded waited
 * for something slow, and yielding longer would only have burned time: yield_ns halves. */
void tubo__waiter_end(tubo__waitpol_t *p, const tubo__waiter_t *wt);

#endif /* TUBO_WAITPOL_H */
