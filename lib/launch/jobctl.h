/* SPDX-License-Identifier: MIT */
/* The job control block: the first pages of a job's shared memory, written by tuborun
 * and read by every rank. It carries what lives longer than any one rank: the job's
 * state, who failed, each rank's pid and the futex word ("bell") it sleeps on.
 *
 * Layout: struct tubo__jobctl at offset 0, then one struct tubo__rankctl per rank at
 * TUBO__JOBCTL_RANKS_OFF, the whole rounded up to pages (tubo__jobctl_bytes). The
 * transports' memory follows. Everything in it is fixed-size and holds no pointers. */
#ifndef TUBO_JOBCTL_H
#define TUBO_JOBCTL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TUBO__JOBCTL_MAGIC     0x31424f4a4f425554ull /* "TUBOJOB1" */
#define TUBO__JOBCTL_VERSION   1u
#define TUBO__JOBCTL_RANKS_OFF 4096u
#define TUBO__CACHELINE        64u

/* Job states. */
enum { TUBO__JOB_RUNNING = 0, TUBO__JOB_ABORTED = 1 };

/* Rank states, as the launcher and the rank itself see them. */
enum {
  TUBO__RANK_STARTING = 0, /* started, not yet attached */
  TUBO__RANK_READY = 1,    /* attached; its receive memory is ready */
  TUBO__RANK_DONE = 2,     /* called tubo_finalize */
  TUBO__RANK_DEAD = 3      /* exited or was killed without finalizing */
};

struct tubo__jobctl {
  uint64_t magic;
  uint32_t version;
  uint32_t nranks;
  uint8_t jobid[16];
  uint64_t ctl_bytes; /* bytes of the control block, pages */
  int32_t launcher_pid;
  uint32_t reserved0;
  _Alignas(TUBO__CACHELINE) _Atomic uint32_t state; /* TUBO__JOB_* */
  _Atomic int32_t failed_rank;                      /* first rank that failed, or -1 */
  _Atomic int32_t failed_status;                    /* its exit code, or 128 + signal */
  _Atomic int32_t abort_code;                       /* tubo_abort's code */
  /* Start-up and shutdown rendezvous of all ranks, before any ring can be used. */
  _Alignas(TUBO__CACHELINE) _Atomic uint32_t arrived;
  _Atomic uint32_t arrived_gen;  /* futex word: bumped when everyone arrived */
  _Atomic uint64_t layout_key;   /* the transport layout the first rank computed */
  _Atomic uint32_t cma_denied;   /* a rank could not read a peer's memory */
  _Atomic uint32_t fence_denied; /* a rank could not register for asymmetric fences */
  _Atomic uint64_t loan_ledger;  /* heap offset of the ledger of owned blocks, 0: none yet */
};

struct tubo__rankctl {
  /* The bell: a rank sleeps on it; whoever makes work for it bumps it and wakes it,
   * but only when sleeping says it may be asleep, so the fast path makes no system call. */
  _Alignas(TUBO__CACHELINE) _Atomic uint32_t bell;
  _Atomic uint32_t sleeping;
  /* Written once at start-up, then read by peers. */
  _Alignas(TUBO__CACHELINE) _Atomic int32_t pid;
  _Atomic uint32_t state; /* TUBO__RANK_* */
  _Atomic int32_t exit_status;
  _Atomic uint32_t joined; /* phases of the start-up rendezvous it reached */
  int32_t numa_node;       /* NUMA node its receive memory lives on, or -1 */
  int32_t l2, l3, package; /* logical indexes of what holds its binding, or -1 (topo.h) */
  uint64_t probe_addr;     /* address of a word peers read to test single-copy reads */
};

static inline size_t tubo__jobctl_bytes(uint32_t nranks, size_t page)
{
  size_t b = TUBO__JOBCTL_RANKS_OFF + (size_t)nranks * sizeof(struct tubo__rankctl);
  return (b + page - 1) / page * page;
}

static inline struct tubo__rankctl *tubo__jobctl_rank(struct tubo__jobctl *c, uint32_t r)
{
  return (struct tubo__rankctl *)((char *)c + TUBO__JOBCTL_RANKS_OFF) + r;
}

/* Creates the shared memory of a job of nranks ranks with its control block filled in
 * and mapped at *ctl (its ctl_bytes long, munmap when done). launcher_pid is the
 * process that watches the ranks, or 0 where none does (the ranks watch each other).
 * Returns the memory's descriptor (close-on-exec), or TUBO_ESHM when the system has no
 * room for it. */
int tubo__jobctl_create(uint32_t nranks, const uint8_t jobid[16], int32_t launcher_pid,
                        struct tubo__jobctl **ctl);

/* Wakes rank r if it may be asleep. Call after publishing the work it should see. */
void tubo__bell_ring(struct tubo__rankctl *rc);

/* Every rank can write the control block, so none of the calls below trusts a count,
 * rank or pid read from it: the caller passes what it knows itself (nranks: its own copy
 * of the rank count, which bounds every loop over the ranks; launcher: the pid it was
 * told, or 0). */

/* Records that rank's process ended with status (exit code, or 128 + signal): 0 leaves
 * the job like tubo_finalize, anything else is a death. Wakes every rank to notice, unless
 * the rank had called tubo_finalize and ended with 0 (it rang its peers as it left). */
void tubo__jobctl_exited(struct tubo__jobctl *c, uint32_t nranks, int rank, int status);

/* Marks the whole job aborted with code and wakes every rank to notice. */
void tubo__jobctl_abort(struct tubo__jobctl *c, uint32_t nranks, int code);

/* Start-up rendezvous number phase (1, 2, ...) of a job of nranks ranks: counts rank in
 * and waits until every rank has reached this phase.
 * Returns 0, TUBO_EPEER if a rank died meanwhile, TUBO_EABORT if the job was aborted,
 * TUBO_ECORRUPT if the job's state holds no valid value, TUBO_ELAUNCH if the launcher
 * (launcher > 0) is gone. */
int tubo__jobctl_rendezvous(struct tubo__jobctl *c, uint32_t nranks, uint32_t rank, uint32_t phase,
                            int32_t launcher);

/* After a rendezvous of this process failed with TUBO_EPEER: the rank whose end made it
 * fail, with the phases it had reached (*joined; 0: it never called tubo_init) and the
 * status it ended with; -1 when no rank is known. */
int tubo__jobctl_gone(int *joined, int *status);

#endif /* TUBO_JOBCTL_H */
