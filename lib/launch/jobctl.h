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

/* TUBO__JOBCTL_VERSION: bump it with any change to what tuborun and the ranks share in
 * this block, so that a rank of one version under a tuborun of another fails to start
 * (TUBO_ELAUNCH) instead of misreading it. */
#define TUBO__JOBCTL_MAGIC     0x31424f4a4f425554ull /* "TUBOJOB1" */
#define TUBO__JOBCTL_VERSION   3u
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

/* Kinds of pairs of ranks, by what they share: an L2 cache, an L3 cache (and no L2), a
 * package only, or nothing known (other packages or NUMA nodes, or unbound ranks whose
 * places hwloc cannot tell). */
enum { TUBO__PAIR_L2 = 0, TUBO__PAIR_L3, TUBO__PAIR_PACKAGE, TUBO__PAIR_FAR, TUBO__PAIR_KINDS };
#define TUBO__RNDV_MAGIC 0x31564452424f5554ull /* "TUBORDV1" */
enum { TUBO__RNDV_FROM_CACHE = 1, TUBO__RNDV_FROM_MEASURED = 2 };

/* The sizes tuborun measures the two protocols at (64 KiB, 256 KiB, 1 MiB, 4 MiB), each a
 * size class: a message belongs to the class of the largest measured size it reaches
 * (tubo__rndv_class). A choice per kind of pair is a mask of the classes that go by single
 * copy, with TUBO__RNDV_KNOWN set; 0 where nothing was measured. */
#define TUBO__RNDV_NSIZES  4
#define TUBO__RNDV_SIZE(i) ((size_t)65536 << (2 * (i)))
#define TUBO__RNDV_KNOWN   0x80000000u

/* The size class of a message of len bytes: the index of the largest measured size not
 * above len, or -1 below the smallest. The class ends where the next measured size begins,
 * not at a midpoint between them: each measured size then gets exactly the protocol that
 * won at it, and a choice without a window is the threshold it always was (single copy from
 * a measured size on). */
static inline int tubo__rndv_class(size_t len)
{
  int c = -1;
  while (c + 1 < TUBO__RNDV_NSIZES && len >= TUBO__RNDV_SIZE(c + 1))
    c++;
  return c;
}

/* Whether a message of len bytes goes by single copy where single copy starts at min and
 * the classes set in chan (1 << tubo__rndv_class) stay on the channel: a peer's starting
 * choice (world.h) and the direct collectives' choice over a communicator (coll_shm.h). */
static inline int tubo__rndv_single_copy(size_t len, size_t min, uint32_t chan)
{
  if (len < min)
    return 0;
  int c = tubo__rndv_class(len);
  return c < 0 || !((chan >> c) & 1u);
}

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
  /* Large messages: per kind of pair (TUBO__PAIR_*), the size classes at which tuborun found
   * single copy faster than the channel (TUBO__RNDV_KNOWN | a mask of classes), 0 where it
   * did not measure (the ranks then follow their rule). Valid only while rndv_magic holds
   * TUBO__RNDV_MAGIC; rndv_source says where the figures came from (TUBO__RNDV_FROM_*). */
  _Alignas(TUBO__CACHELINE) uint64_t rndv_magic;
  uint32_t rndv_source;
  uint32_t rndv_cma[TUBO__PAIR_KINDS];
};

/* The kind of the pair of two places, each given as the logical indexes of its L2, L3 and
 * package (-1: none holds the place whole, topo.h). */
static inline int tubo__pair_kind(int l2a, int l3a, int pka, int l2b, int l3b, int pkb)
{
  if (l2a >= 0 && l2a == l2b)
    return TUBO__PAIR_L2;
  if (l3a >= 0 && l3a == l3b)
    return TUBO__PAIR_L3;
  if (pka >= 0 && pka == pkb)
    return TUBO__PAIR_PACKAGE;
  return TUBO__PAIR_FAR;
}

/* What a rank is blocked in: published by the rank when a wait of a blocking call goes to
 * sleep, cleared when the wait ends, and read by tuborun when it stops a job that ran past
 * its timeout. A sequence lock: seq is odd while the rank writes it. The call's name is
 * text (NUL-padded, "" when the wait belongs to no public call). Anyone can write it: a
 * reader checks every field (tubo__blocked_read). */
#define TUBO__BLOCKED_NAME 32
enum {
  TUBO__BLK_ACTIVE = 1u,   /* flags: the rank is blocked */
  TUBO__BLK_HAS_TAG = 2u,  /* the call has a tag */
  TUBO__BLK_HAS_COMM = 4u, /* the call has a communicator: comm_size and cid hold */
  TUBO__BLK_ROLE_SHIFT = 8 /* bits 8..15: the peer's role, TUBO__BLK_* below */
};
enum { TUBO__BLK_NOPEER = 0, TUBO__BLK_SOURCE, TUBO__BLK_DEST, TUBO__BLK_ROOT, TUBO__BLK_NROLES };
struct tubo__blocked {
  _Atomic uint32_t seq;
  _Atomic uint32_t flags;     /* TUBO__BLK_ACTIVE, ... | role << TUBO__BLK_ROLE_SHIFT */
  _Atomic int32_t peer;       /* a rank of the communicator, or TUBO_ANY_SOURCE */
  _Atomic int32_t tag;        /* or TUBO_ANY_TAG */
  _Atomic uint32_t comm_size; /* ranks of the communicator */
  _Atomic uint32_t cid;       /* its context id: 0 is the world's */
  _Atomic uint64_t name[TUBO__BLOCKED_NAME / 8];
};

/* What tubo__blocked_read found, checked: name is NUL-terminated and holds only letters,
 * digits and '_'. */
typedef struct tubo__blocked_view {
  int active; /* 0: not blocked in tubo (or the record could not be read) */
  int role;   /* TUBO__BLK_NOPEER .. TUBO__BLK_NROLES - 1 */
  int has_tag, has_comm;
  int32_t peer, tag;
  uint32_t comm_size, cid;
  char name[TUBO__BLOCKED_NAME];
} tubo__blocked_view_t;

struct tubo__rankctl {
  /* The bell: a rank sleeps on it; whoever makes work for it bumps it and wakes it,
   * but only when sleeping says it may be asleep, so the fast path makes no system call. */
  _Alignas(TUBO__CACHELINE) _Atomic uint32_t bell;
  _Atomic uint32_t sleeping;
  /* Written by the rank when it goes to sleep, as sleeping is: on the same line. */
  struct tubo__blocked blocked;
  /* Written once at start-up, then read by peers. */
  _Alignas(TUBO__CACHELINE) _Atomic int32_t pid;
  _Atomic uint32_t state; /* TUBO__RANK_* */
  _Atomic int32_t exit_status;
  _Atomic uint32_t joined; /* phases of the start-up rendezvous it reached */
  int32_t numa_node;       /* NUMA node its receive memory lives on, or -1 */
  int32_t l2, l3, package; /* logical indexes of what holds its binding, or -1 (topo.h) */
  uint64_t probe_addr;     /* address of a word peers read to test single-copy reads */
  /* Set once, when the job broke on this rank: the sends it fails from then on give their
   * buffers back to the application while peers may still be copying them (engine.h,
   * tubo__job_break). Memory never written holds 0, so older launchers need no change. */
  _Atomic uint32_t revoked;
};

/* The record shares the bell's line: the layout of the control block stays as it was. */
_Static_assert(sizeof(struct tubo__rankctl) == 2 * TUBO__CACHELINE,
               "a rank's control record is two cache lines");

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

/* Publishes in b that its rank is blocked in the call named fn (NULL: none named), with
 * the call's peer of role (TUBO__BLK_*), tag (has_tag) and communicator (comm_size > 0:
 * its size and context id). Only the rank itself writes its record. */
void tubo__blocked_write(struct tubo__blocked *b, const char *fn, int role, int32_t peer,
                         int has_tag, int32_t tag, uint32_t comm_size, uint32_t cid);

/* Clears b: its rank is no longer blocked. */
void tubo__blocked_clear_rec(struct tubo__blocked *b);

/* Reads b into *v, checked; returns 0, or -1 when it was being written at every try or
 * holds what no rank writes (v->active is 0 then). */
int tubo__blocked_read(const struct tubo__blocked *b, tubo__blocked_view_t *v);

/* Start-up rendezvous number phase (1, 2, ...) of a job of nranks ranks: counts rank in
 * and waits until every rank has reached this phase.
 * Returns 0, TUBO_EPEER if a rank died meanwhile, TUBO_EABORT if the job was aborted,
 * TUBO_ECORRUPT if the job's state or failed rank holds no valid value, TUBO_ELAUNCH if the
 * launcher (launcher > 0) is gone. */
int tubo__jobctl_rendezvous(struct tubo__jobctl *c, uint32_t nranks, uint32_t rank, uint32_t phase,
                            int32_t launcher);

/* After a rendezvous of this process failed with TUBO_EPEER: the rank whose end made it
 * fail, with the phases it had reached (*joined; 0: it never called tubo_init) and the
 * status it ended with; -1 when no rank is known. */
int tubo__jobctl_gone(int *joined, int *status);

#endif /* TUBO_JOBCTL_H */
