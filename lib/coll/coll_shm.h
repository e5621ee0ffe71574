/* SPDX-License-Identifier: MIT */
/* The shared-memory collectives (coll_shm*.c): for a communicator whose ranks all share
 * one node's memory, collectives move data through a segment of the job's shared heap
 * instead of messages.
 *
 * The segment: SHMC_DEPTH control lines (a bell per step residue, which the ranks waiting
 * for a step of that residue sleep on, and how many sleep), then SHMC_DEPTH flag records
 * per rank, then two data slots per rank:
 *
 *   [ ctl[0..DEPTH) | line[0][0..P) .. line[DEPTH-1][0..P) | slot[0][0..P) | slot[1][0..P) ]
 *
 * A flag record ("line" below) is a cache line that holds the flag and the first bytes of
 * data, then SHMC_REC_LINES - 1 more lines of data.
 *
 * Ranks move through numbered steps, the same on every rank (each collective takes a
 * fixed number, from its arguments). At step k a rank writes what it shares into its
 * line k % SHMC_DEPTH (up to SHMC_INLINE bytes ride in the record itself, beside the flag)
 * or its slot of parity k & 1, then stores k in the line's flag with release order: one
 * writer per line, no atomic read-modify-write on the way. A reader waits until the flags
 * it needs say k (or more) and reads. A rank that reaches step k + 1 is done reading step
 * k, so the writer of a slot at step k + 2 first waits until every rank is at k + 1 (of a
 * line, at k + 1 - SHMC_DEPTH): in the collectives where all ranks wait for all, that
 * holds already, and a root of small broadcasts runs up to SHMC_DEPTH steps ahead. A bcast
 * of two ranks beyond a record goes in pieces of its root's two slots (SHMC_PIECES), whose
 * reader publishes each step once it has copied the piece: the root waits for that alone,
 * up to two slots ahead. A reduce of two ranks goes so the other way, and an allreduce of
 * two ranks in pieces of both ranks' slots, each rank combining half of each piece
 * (coll_shm_reduce.c).
 *
 * Larger bcasts, reduces, allreduces, gathers, scatters, allgathers(v) and alltoalls of
 * more than two ranks copy once through a scratch block of the heap that the
 * communicator keeps between calls (coll_shm_big.c). Where ranks can read each other's
 * memory (the transport's single copy), a scatter of blocks past a slot, of two ranks
 * too (and of two ranks, blocks that shmc_direct_for names; of more, blocks that
 * shmc_direct_scatter names, below), has each rank read its block straight from the
 * root's buffer instead. Of two ranks that can also write each other's memory, where the
 * transport starts the pair on single copy for the size (shmc_direct_for: its starting
 * choice, the same on both ranks, not what a sender adapts to), bcasts, gathers,
 * allgathers and alltoalls (not in place) copy straight between the two ranks' buffers,
 * named in their records, one copy per byte and both ranks copying at once, and reduces
 * up to SHMC_REDUCE_DIRECT_MAX have the root read the other's data (coll_shm_direct.c);
 * where single copy is not the pair's choice, the paths above serve. A rank that fails to copy
 * still publishes its step, with the error in its record, so that the other fails too rather than
 * wait.
 *
 * Waiting ranks poll as the waiting policy says (waitpol.h), then sleep on the bell of the
 * step they wait for; the rank whose flag completes what sleepers wait for (the last to
 * arrive, or the root others wait on) wakes that step's sleepers with one system call, and
 * no other: a root of small bcasts in a row running ahead of sleeping readers wakes them
 * once, at the step they sleep on, not at every step. Sleepers wake every few
 * milliseconds anyway to serve point-to-point traffic and to notice a rank that died.
 *
 * Where the ranks sit in several L3 caches, NUMA nodes or packages (or TUBO_COLL_TREE
 * says so), barrier and the bcast, reduce and allreduce that fit a line go along a
 * two-level tree of groups instead (coll_shm_tree.c): the same lines and steps, each rank
 * reading its group's or its leader's lines rather than every rank's.
 *
 * Every rank can write the segment, so nothing read from it is trusted beyond a flag's
 * step: sizes and offsets come from the call's arguments. A forged flag could still hold
 * readers waiting for ever, for a step its writer published long ago. Each rank knows
 * what its own lines must hold, and checks them (and the control lines' counts of
 * sleepers) at every health check of its world, wherever it waits (world.h's
 * tubo__selfcheck_t); a waiting rank also checks that the flags it waits on hold steps
 * of their line. The v-forms' headers and tables, which tell a reader whether to wait for a
 * message, are checked so too while they stand (struct shmc_vmark). A mismatch breaks the job with
 * TUBO_ECORRUPT, and the ranks waiting for this one then see it leave. */
#ifndef TUBO_COLL_SHM_H
#define TUBO_COLL_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "coll/coll.h"
#include "launch/jobctl.h"
#include "patterns/objmem.h"
#include "topo.h"

#define SHMC_LINE 64u
/* Cache lines of a flag record. Payloads that fit ride in it with their flag, in one step
 * with no slot; a reader touches only the lines the payload fills. Why four (248 bytes):
 * doc/benchmarks.md, "Payloads in the flag record". */
#define SHMC_REC_LINES 4u
#define SHMC_INLINE    (SHMC_REC_LINES * SHMC_LINE - 8u) /* bytes of data a record carries */
/* A collective among more than two ranks that would take more than this many of the
 * engine's steps goes point to point (TUBO__COLL_DECLINE): each step holds every rank
 * until all have copied, and with more ranks than cores those waits cost more than the
 * copies (doc/design.md, "Collectives"). Calls of more than a slot (alltoall: a slot's
 * P-th part a block) copy once through the scratch instead where it can be had
 * (shmc_one_copy). The rules read only what every rank of the call knows alike (the
 * arguments, the ranks, the slot's size), so all choose together. */
#define SHMC_STEPS_MAX 8u
/* The largest scratch block a communicator takes by default (TUBO_COLL_SCRATCH_BYTES): a
 * 64-rank allreduce of 1 MiB, a quarter of the default heap (TUBO_SHM_HEAP_BYTES). */
#define SHMC_SCRATCH_DEFAULT (64u << 20)
/* Pieces of a slot in a bcast of two ranks beyond a record: the root copies one piece in
 * while its reader copies the last one out, up to two slots ahead. A 1 MiB bcast took
 * half the time of whole slots (doc/benchmarks.md, "The 2-rank collectives"). */
#define SHMC_PIECES 4u
/* Flag records per rank: steps a rank may run ahead of the slowest (a power of two). A
 * root of small bcasts in a row fills that many before it waits, and ranks that share a
 * core read as many in one time slice: 32 made such a row 3-7x faster than 8 at 4 and 16
 * ranks on 2 cores (doc/benchmarks.md, "Payloads in the flag record"). */
#define SHMC_DEPTH 32u

/* The bell of the steps k with k % SHMC_DEPTH its index. Every rank publishes every step
 * (a flag says only the step its line last held), so whoever completes a wait for step k
 * publishes k and rings k's bell: a bell per residue wakes only the ranks waiting for that
 * step, where one bell for all woke every sleeper at every step a root published while any
 * slept (doc/benchmarks.md, "Calls in a row at 16 and 64 ranks"). */
struct shmc_ctl {
  _Alignas(SHMC_LINE) _Atomic uint32_t bell; /* futex word: bumped to wake sleepers */
  _Atomic uint32_t sleepers;                 /* ranks asleep on it, or about to be */
};
/* Bytes of the control lines at the segment's start. */
#define SHMC_CTL_BYTES (SHMC_DEPTH * sizeof(struct shmc_ctl))

struct shmc_line {
  _Alignas(SHMC_LINE) _Atomic uint32_t step; /* the last step whose data this line holds */
  uint32_t pad;
  unsigned char data[SHMC_INLINE];
};

/* The tree over groups of ranks (coll_shm_tree.c): each group's first rank leads it. G is
 * 0 where the engine stays flat. */
typedef struct shmc_tree {
  int G;        /* groups, or 0: flat */
  int level;    /* what made them: TUBO_COMM_TYPE_L3CACHE, _NUMA, _PACKAGE, or 0 (the setting) */
  int fixed;    /* each group is a subtree of the fixed reduction tree, and the groups' tree
                 * the rest of it: every reduction may use the tree, floating point too */
  int *leaders; /* [G] the leaders, ascending */
  int *members; /* [nmembers] this rank's group, ascending: members[0] is its leader */
  int nmembers;
  uint64_t calls; /* collectives that went along the tree (tests look) */
} shmc_tree_t;

/* What a v-form wrote at a step that steers its readers (coll_shm_vforms.c): its record's
 * first line bytes (headers, names, a table there) and a table at the start of its slot,
 * as hashes, which the rank's health checks compare with the segment while those bytes
 * still stand: a forged way would otherwise hold its reader waiting for a message that
 * never comes. step 0: nothing marked. */
struct shmc_vmark {
  uint32_t step;
  uint32_t line_bytes, slot_bytes; /* 0: no bytes there */
  uint64_t line_sum, slot_sum;
};

typedef struct shmc {
  int P, me;
  uint32_t step;           /* steps taken so far (the last one published) */
  uint32_t all_at;         /* a step every rank has published, as this rank last saw */
  size_t slot;             /* bytes of a data slot */
  struct shmc_ctl *ctl;    /* in the segment: [SHMC_DEPTH] */
  struct shmc_line *lines; /* [SHMC_DEPTH][P] */
  unsigned char *slots;    /* [2][P][slot] */
  unsigned char *tmp;      /* private scratch: one record's data per part of a tree */
  unsigned char **parts;   /* private: P part pointers */
  int *ranks;              /* private: the ranks 0 .. P - 1, ascending (sets to wait on) */
  /* Rank 0's: the step of its last flat barrier, and the step at which its last collective
   * whose data flows from it began (a bcast, scatter or scatterv from it, a scan or exscan):
   * where that was right after the barrier, its next barrier, ranks sharing cores, publishes
   * last (coll_shm_move.c). */
  uint32_t barrier_at, rooted_at;
  tubo_comm_t *comm;
  tubo__objmem_t seg;      /* the segment: the last rank to let it go gives it back to the heap */
  tubo__selfcheck_t check; /* of this rank's lines, run by its world's health checks */
  shmc_tree_t tree;
  uint32_t floor; /* the first step of the tree collective in progress (coll_shm_tree.c) */
  /* Whether every rank can read every other rank's memory (the shm transport's single
   * copy): the same on every rank, from the job's control block. */
  int direct;
  /* Where direct: the sizes its starting choice sends by single copy between every pair
   * (world.h's rndv_min and rndv_chan over the communicator's pairs, the same on every
   * rank: shmc_direct_for, shmc_alltoall_messages). */
  size_t direct_min;
  uint8_t direct_chan;
  /* Where direct: every pair's starting choice was measured, and single copy won at the
   * least size measured (rndv_least): shmc_direct_for goes direct from SHMC_DIRECT_LEAST. */
  int direct_least;
  int writes;               /* direct, and every rank can write every other's memory too */
  uint64_t direct_calls;    /* collectives whose ranks read the root's buffer (tests look) */
  uint64_t scan_slot_calls; /* scans and exscans that went through the slots (tests look) */
  uint64_t root_calls;      /* reduces combined by the root alone (tests look) */
  uint64_t rang, slept;     /* bells this rank rang, and sleeps on them (tests look) */
  /* The blocks a gatherv root took ([0]) and a scatterv root sent ([1]) each way
   * (coll_shm_vforms.c; tests look). */
  uint64_t v_ways[2][5];
  struct shmc_vmark vmark[SHMC_DEPTH];
  /* The one-copy collectives' scratch (coll_shm_big.c). */
  struct {
    tubo__objmem_t mem; /* base NULL until a call needs it */
    size_t cap;         /* TUBO_COLL_SCRATCH_BYTES, read at the first call that asks */
    int cap_read;
    size_t failed;  /* the least size the heap had no room for, or 0 */
    uint64_t calls; /* collectives that went through it (tests look) */
  } big;
} shmc_t;

/* Whether a call of len bytes, step bytes of it per engine step, goes point to point
 * (SHMC_STEPS_MAX). */
static inline int shmc_too_many_steps(const shmc_t *s, size_t len, size_t step)
{
  return s->P > 2 && len > SHMC_STEPS_MAX * step;
}

/* Whether a bcast, reduce or allreduce of len bytes goes through the scratch
 * (coll_shm_big.c): among more than two ranks, more than one slot. Measured on 2 vCPUs,
 * it beat the slots from two steps at 16 ranks (doc/benchmarks.md, "Collectives"). */
static inline int shmc_one_copy(const shmc_t *s, size_t len)
{
  return s->P > 2 && len > s->slot;
}

/* Below the least size tuborun measures (TUBO__RNDV_SIZE(0), 64 KiB), where single copy
 * won at that size: blocks from this size on go direct too. A point-to-point single copy
 * costs an RTS and its answer more than the channel's copies, which a collective's steps
 * do not; the measurement says nothing below its least size. Of two ranks on an Intel
 * 2-vCPU host whose measurement chose single copy at every size, 16-48 KiB blocks took
 * 1.04-2.29x Open MPI's time through the slots and 0.53-1.05x direct (bcast, gather,
 * scatter, allgather, alltoall), 8 KiB 0.67-1.01x against 0.51-0.97x; direct 4 KiB blocks
 * lost (0.60-0.98x against 0.55-0.59x) (doc/benchmarks.md, 2026-12-07, "Direct
 * collectives below 64 KiB"). */
#define SHMC_DIRECT_LEAST ((size_t)8 << 10)

/* Whether a bcast, gather, allgather or alltoall moving blocks of len bytes copies them
 * straight between the ranks' buffers (coll_shm_direct.c): of two ranks that can read and
 * write each other's memory, where the transport starts the pair on single copy for
 * messages of that size (or below the least size measured, SHMC_DIRECT_LEAST). Of four
 * ranks on 2 vCPUs (taking turns), reading the root's or each other's buffers took 1.4-3x
 * the scratch's time from 256 KiB in bcast, gather and allgather, one run each
 * (doc/benchmarks.md, 2026-12-07, "direct collectives of two ranks"). */
static inline int shmc_direct_for(const shmc_t *s, size_t len)
{
  return s->P == 2 && s->writes && len > SHMC_INLINE &&
         (tubo__rndv_single_copy(len, s->direct_min, s->direct_chan) ||
          (s->direct_least && len >= SHMC_DIRECT_LEAST && len < TUBO__RNDV_SIZE(0)));
}

/* Whether an alltoall of more than two ranks whose blocks of len bytes pass a slot's P-th
 * part sends them as alltoallv does (tubo__shmc_alltoallv: each block in the writer's slot
 * while it has room, else a message; where its table fits a slot, else the scratch's
 * way), instead of through the scratch: where the transport
 * starts every pair on single copy for messages of that size, each block then crosses
 * memory once, read by its receiver, where the scratch's cross it twice. On an Intel
 * 2-vCPU host (ranks taking turns, single copy from 256 KiB) 256 KiB-4 MiB blocks took
 * 0.73-0.91x the scratch's time at 4 ranks, 0.86-0.98x at 8 (5 rounds), 0.96-1.00x at 16
 * (doc/benchmarks.md, 2026-12-08, "alltoall's large blocks as messages"). */
static inline int shmc_alltoall_messages(const shmc_t *s, size_t len)
{
  return s->P > 2 && s->direct && tubo__rndv_single_copy(len, s->direct_min, s->direct_chan);
}

/* The largest reduce of two ranks in which the root reads the other's data straight
 * from its buffer (tubo__shmc_reduce_direct) where shmc_direct_for says so; larger ones
 * go through the slots' pieces, where both ranks copy at once. On an Intel 2-vCPU host,
 * reading took 0.63-0.97x Open MPI's time at 8-512 KiB against the pieces' 0.97-2.20x,
 * but 1.32x at 1 MiB and 1.06x at 4 MiB against 0.88x and 0.92x (doc/benchmarks.md,
 * 2026-12-07, "The 2-rank reduce"). */
#define SHMC_REDUCE_DIRECT_MAX ((size_t)512 << 10)

/* Of more than two ranks, a scatter reads the root's buffer (below) also for blocks within
 * a slot of at least this size, where the root's copies into the slots (P - 1 blocks) come
 * to this many bytes: each reader's system call then costs less than the root's copies it
 * saves. On an Intel 2-vCPU host (ranks taking turns), 16-64 KiB blocks took 0.27-0.57x
 * the slots' time at 8 and 16 ranks and 64-128 KiB 0.70-0.75x at 4 ranks, where 32 KiB
 * took 1.05-1.11x and 16 KiB 1.50x; 4 KiB at 8 ranks 1.30x (doc/benchmarks.md,
 * 2026-12-07, "Scatter of more than two ranks below a slot"). */
#define SHMC_SCATTER_DIRECT_BLOCK  ((size_t)8 << 10)
#define SHMC_SCATTER_DIRECT_COPIES ((size_t)64 << 10)

/* Whether a scatter of blocks of len bytes has each rank read its block straight from the
 * root's buffer (tubo__shmc_scatter_direct): where ranks can read each other's memory,
 * blocks past a slot, and of more than two ranks those the constants above name; of two
 * ranks, also the blocks shmc_direct_for sends by single copy.
 * Through a slot the other rank waited for the root's copy in before its own copy out:
 * 64-256 KiB scatters took 2.9-8.9x the time of reading the root's buffer
 * (doc/benchmarks.md, 2026-12-07, "The 2-rank scatter of 64 KiB and gather"). */
static inline int shmc_direct_scatter(const shmc_t *s, size_t len)
{
  return s->direct && (len > s->slot || shmc_direct_for(s, len) ||
                       (s->P > 2 && len >= SHMC_SCATTER_DIRECT_BLOCK &&
                        len * (size_t)(s->P - 1) >= SHMC_SCATTER_DIRECT_COPIES));
}

/* A scatter whose blocks all fit in this many of the root's records (whole blocks in
 * each) goes through them, a step a record, rather than through the slots: the slots'
 * guard holds the root of scatters in a row until every rank has read the last one, where
 * records let it run ahead, SHMC_DEPTH / SHMC_SCATTER_RECORDS calls at least. 64 ranks'
 * 8-byte blocks take three records (doc/benchmarks.md, "Calls in a row at 16 and 64
 * ranks"). */
#define SHMC_SCATTER_RECORDS 8u

/* The bytes of each root record a scatter of P blocks of len bytes fills (a whole number
 * of blocks), or 0 where the blocks do not fit in SHMC_SCATTER_RECORDS records (of two
 * ranks, in one: a 248-byte block in the second record, not in a slot, took 1.7x the time
 * between barriers, each rank on its core, 11 alternated rounds). */
static inline size_t shmc_scatter_per(int P, size_t len)
{
  if (len == 0 || len > SHMC_INLINE)
    return 0;
  size_t blocks = SHMC_INLINE / len; /* blocks a record holds */
  size_t most = P > 2 ? SHMC_SCATTER_RECORDS : 1;
  return ((size_t)P + blocks - 1) / blocks <= most ? blocks * len : 0;
}

/* Bulk data in the segment's slots and in the scratch starts half of 4 KiB away from the
 * start of a page. A copy runs at a third of its speed where its destination lies a few
 * dozen bytes above its source modulo 4 KiB (4K aliasing: loads wait on stores they only
 * seem to depend on): 2-rank 1 MiB bcasts took 165 us instead of 58 on the VM of
 * doc/benchmarks.md when the slots began 64 bytes past a page and malloc's buffers 16
 * bytes past one. Half a page keeps clear of buffers at or near a page's start both ways. */
#define SHMC_ALIAS 4096u
#define SHMC_SKEW  2048u

/* Bytes to add to p so that it lies SHMC_SKEW past a multiple of SHMC_ALIAS: less than
 * SHMC_ALIAS, and the same on every rank (a mapping keeps offsets within pages). */
static inline size_t shmc_skew(const void *p)
{
  return (SHMC_SKEW - ((uintptr_t)p & (SHMC_ALIAS - 1))) & (SHMC_ALIAS - 1);
}

/* The bell that ranks waiting for step k sleep on. */
static inline struct shmc_ctl *shmc_bell(const shmc_t *s, uint32_t k)
{
  return &s->ctl[k % SHMC_DEPTH];
}

static inline struct shmc_line *shmc_line(const shmc_t *s, int rank, uint32_t k)
{
  return &s->lines[(size_t)(k % SHMC_DEPTH) * (size_t)s->P + (size_t)rank];
}

/* The data rank q put in its record at step k; this rank's own from mine (not NULL), its
 * private copy of the same bytes: the others' reads may have taken the record's line
 * from this core's cache, and reading it back would wait for the line to return (2
 * ranks, 8 B allreduce, doc/benchmarks.md). */
static inline const void *shmc_data_of(const shmc_t *s, int q, uint32_t k, const void *mine)
{
  return q == s->me && mine != NULL ? mine : (const void *)shmc_line(s, q, k)->data;
}

/* Part i of the private scratch: room for one record's data. */
static inline unsigned char *shmc_tmp(const shmc_t *s, int i)
{
  return s->tmp + (size_t)i * sizeof(struct shmc_line);
}

static inline unsigned char *shmc_slot(const shmc_t *s, int rank, uint32_t k)
{
  return s->slots + ((size_t)(k & 1) * (size_t)s->P + (size_t)rank) * s->slot;
}

/* Pieces beyond a record (bcast, and the 2-rank reduce and allreduce): a slot cut into np
 * pieces of whole lines and whole elements of es bytes; piece j of a call that begins
 * after step s0 lies in rank's slot s0 + 1 + j / np, at (j % np) pieces. */
static inline size_t shmc_piece_bytes(const shmc_t *s, size_t np, size_t es)
{
  return (s->slot / np & ~(size_t)(SHMC_LINE - 1)) / es * es;
}

static inline unsigned char *shmc_piece_at(const shmc_t *s, int rank, uint32_t s0, size_t j,
                                           size_t np, size_t piece)
{
  return shmc_slot(s, rank, s0 + 1 + (uint32_t)(j / np)) + j % np * piece;
}

/* Whether rank r has published step k (or later). */
static inline int shmc_at(const shmc_t *s, int r, uint32_t k)
{
  uint32_t v = atomic_load_explicit(&shmc_line(s, r, k)->step, memory_order_acquire);
  return (int32_t)(v - k) >= 0;
}

/* Who a publication wakes: those waiting for every rank (when this one was the last), or
 * everyone (the root, which others wait on). */
enum { SHMC_WAKE_IF_LAST = 0, SHMC_WAKE_ALWAYS = 1 };

/* Stores step k in this rank's line (after its data), then wakes sleepers as told. */
void tubo__shmc_publish(shmc_t *s, uint32_t k, int wake);
/* The same, waking sleepers when every rank of set[0..n) has published step k (set NULL:
 * every rank): this one completed what a rank waits for on that set. */
void tubo__shmc_publish_set(shmc_t *s, uint32_t k, const int *set, int n);
/* Waits until every rank of set[0..n) (set NULL: every rank, then noted in all_at) has
 * published step k. Returns 0, or TUBO_EPEER / TUBO_EABORT when the job broke meanwhile. */
int tubo__shmc_wait_set(shmc_t *s, const int *set, int n, uint32_t k);
/* Waits until at least one rank of set[0..n) (other ranks, n > 0) has published step k. */
int tubo__shmc_wait_any(shmc_t *s, const int *set, int n, uint32_t k);
/* Waits until rank r (or every rank, r < 0) has published step k. */
static inline int tubo__shmc_wait(shmc_t *s, int r, uint32_t k)
{
  return r >= 0 ? tubo__shmc_wait_set(s, &r, 1, k) : tubo__shmc_wait_set(s, NULL, s->P, k);
}
/* Waits until every rank has published step k, unless this rank saw them all there
 * already (all_at): a guard then reads no other rank's flag, whose line that rank is
 * about to write again. */
static inline int tubo__shmc_wait_all(shmc_t *s, uint32_t k)
{
  if ((int32_t)(s->all_at - k) >= 0)
    return 0;
  return tubo__shmc_wait_set(s, NULL, s->P, k);
}
/* Before writing slot data of step k: waits until every rank is done reading step k - 2
 * (the slot's last use). */
static inline int tubo__shmc_guard(shmc_t *s, uint32_t k)
{
  return tubo__shmc_wait_all(s, k - 1);
}
/* Before writing record data of step k: until every rank is done reading step k -
 * SHMC_DEPTH, so that a root broadcasting small data may run that far ahead. */
static inline int tubo__shmc_guard_line(shmc_t *s, uint32_t k)
{
  return tubo__shmc_wait_all(s, k - (SHMC_DEPTH - 1));
}

static inline size_t shmc_min(size_t a, size_t b)
{
  return a < b ? a : b;
}

/* The most bytes the highest rank of a scan in the slots combines, (P - 1) times a rank's
 * data: beyond, the scratch's slices share the work. */
#define SHMC_SCAN_SLOTS_MAX ((size_t)512 << 10)

/* Whether a scan or exscan of len bytes goes in the slots (coll_shm_reduce.c): past a flag
 * record, within a slot and SHMC_SCAN_SLOTS_MAX. Through the scratch (three steps of all
 * ranks) 1 KiB-128 KiB took 1.1-5.8x as long at 4-16 ranks on 2 vCPUs, and up to 512 KiB
 * of combining at the highest rank 1.1-1.8x at 32 and 64 ranks; at about 1 MiB the slots
 * took 0.9-1.1x the scratch's time at 16 ranks, 1.1x at 64 (doc/benchmarks.md, "scan and
 * exscan in the slots"). */
static inline int shmc_scan_in_slots(const shmc_t *s, size_t len)
{
  return len > SHMC_INLINE && len <= s->slot && (size_t)(s->P - 1) * len <= SHMC_SCAN_SLOTS_MAX;
}

/* At rank 0, the root of a bcast, scatter or scatterv, or in a scan or exscan (root 0),
 * whose data flows from rank 0: notes where it began, for the next barrier
 * (tubo__shmc_barrier). */
static inline void shmc_note_root(shmc_t *s, int root)
{
  if (s->me == 0 && root == 0)
    s->rooted_at = s->step;
}

/* Slice q of n elements of es bytes shared among the ranks: [*lo, *hi), aligned to cache
 * lines where the type allows. */
static inline void tubo__shmc_slice(const shmc_t *s, size_t es, size_t n, int q, size_t *lo,
                                    size_t *hi)
{
  size_t align = es >= SHMC_LINE ? 1 : SHMC_LINE / es;
  size_t per = (n + (size_t)s->P - 1) / (size_t)s->P;
  per = (per + align - 1) / align * align;
  *lo = shmc_min(n, per * (size_t)q);
  *hi = shmc_min(n, *lo + per);
}

/* Combines n parts of count elements along the fixed tree (coll.h), in place: parts[i]'s
 * memory may be overwritten (but not parts[0]'s unless n is 1). Returns the part that
 * holds the result. */
unsigned char *tubo__shmc_tree(const tubo__coll_args_t *a, unsigned char **parts, int n,
                               size_t count);

/* The algorithms (coll_shm_move.c, coll_shm_reduce.c). */
int tubo__shmc_barrier(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_bcast(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_gather(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_scatter(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_allgather(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_alltoall(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_allgatherv(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_gatherv(tubo_comm_t *comm, const tubo__coll_args_t *a);   /* coll_shm_vforms.c */
int tubo__shmc_scatterv(tubo_comm_t *comm, const tubo__coll_args_t *a);  /* coll_shm_vforms.c */
int tubo__shmc_alltoallv(tubo_comm_t *comm, const tubo__coll_args_t *a); /* coll_shm_vforms.c */
/* TUBO_ECORRUPT where the bytes a v-form of this rank marked no longer hold what it wrote
 * (coll_shm_vforms.c), else 0: run with the engine's other checks of its own lines. */
int tubo__shmc_v_selfcheck(const shmc_t *s);
int tubo__shmc_reduce(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_allreduce(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_scan(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_exscan(tubo_comm_t *comm, const tubo__coll_args_t *a);
int tubo__shmc_reduce_scatter_block(tubo_comm_t *comm, const tubo__coll_args_t *a);

/* The one-copy collectives through the scratch (coll_shm_big.c), for calls the slots
 * would take more than one step for (shmc_one_copy; of alltoall, more than a slot's P-th
 * part per block; of allgatherv, more than a slot in its largest block);
 * TUBO__COLL_DECLINE (on every rank alike) where the scratch cannot be had. all:
 * allreduce rather than reduce. */
int tubo__shmc_bcast_big(shmc_t *s, const tubo__coll_args_t *a);
int tubo__shmc_reduce_big(shmc_t *s, const tubo__coll_args_t *a, int all);
/* gather (to root) and allgather, allgatherv (root -1); scatter; alltoall. */
int tubo__shmc_gather_big(shmc_t *s, const tubo__coll_args_t *a, int root);
int tubo__shmc_scatter_big(shmc_t *s, const tubo__coll_args_t *a);
int tubo__shmc_alltoall_big(shmc_t *s, const tubo__coll_args_t *a);
/* scatter where shmc_direct_scatter says so: each rank reads its block straight from
 * the root's buffer, in one step (coll_shm_direct.c). */
int tubo__shmc_scatter_direct(shmc_t *s, const tubo__coll_args_t *a);
/* Of two ranks, where shmc_direct_for says so: bcast and gather, each rank copying half
 * straight between the two buffers (the root's or the sender's reads or writes the
 * other's); allgather, allgatherv (for its largest block) and alltoall (not in place),
 * each rank reading its blocks straight from the other's buffer (coll_shm_direct.c). */
int tubo__shmc_bcast_direct(shmc_t *s, const tubo__coll_args_t *a);
int tubo__shmc_gather_direct(shmc_t *s, const tubo__coll_args_t *a);
int tubo__shmc_allgather_direct(shmc_t *s, const tubo__coll_args_t *a);
int tubo__shmc_alltoall_direct(shmc_t *s, const tubo__coll_args_t *a);
/* Of two ranks, where shmc_direct_for says so up to SHMC_REDUCE_DIRECT_MAX: reduce, the
 * root reading the other rank's data straight from its buffer, then combining it
 * (coll_shm_direct.c); the other rank returns once the root has read it. */
int tubo__shmc_reduce_direct(shmc_t *s, const tubo__coll_args_t *a);
/* The direct collectives' parts that gatherv uses too (coll_shm_direct.c), of two ranks:
 * the name by which the other rank reads [buf, buf + len) of this one; a read of len
 * bytes at at of the buffer rank r named at the start of its record of step k, and a write
 * of len bytes from src there; a
 * publication of step k with rc in the record; TUBO_EPEER where rank r (every rank, r <
 * 0) published a failed copy at step k. */
uint64_t tubo__shmc_name(shmc_t *s, const void *buf, size_t len);
int tubo__shmc_read_named(shmc_t *s, int r, uint32_t k, size_t at, void *dst, size_t len);
int tubo__shmc_write_named(shmc_t *s, int r, uint32_t k, size_t at, const void *src, size_t len);
void tubo__shmc_publish_rc(shmc_t *s, uint32_t k, int rc, int wake);
int tubo__shmc_read_rc(const shmc_t *s, int r, uint32_t k);
/* scan (ex 0) or exscan (ex 1), and reduce_scatter_block, beyond a flag record: through
 * the scratch, of two ranks too; TUBO__COLL_DECLINE where it cannot be had. */
int tubo__shmc_scan_big(shmc_t *s, const tubo__coll_args_t *a, int ex);
int tubo__shmc_reduce_scatter_big(shmc_t *s, const tubo__coll_args_t *a);
/* Lets the scratch go (teardown). */
void tubo__shmc_big_free(shmc_t *s);

/* The tree (coll_shm_tree.c). Groups P ranks placed at loc[0..P) (by comm rank): forced
 * >= 2 makes groups of forced consecutive ranks, forced 1 none; forced 0 groups by the
 * first of L3, NUMA node and package that gives at least two groups of more than one
 * rank, unless the node's ranks outnumber its processing units (oversubscribed): then
 * flat. Sets group_of[r] (groups numbered by their first rank) and *level (the
 * TUBO_COMM_TYPE_ value, 0 when forced); returns the number of groups, or 0 where the
 * engine should stay flat. The same on every rank: it reads only what all know alike. */
int tubo__shmc_tree_groups(int P, const tubo__locality_t *loc, uint64_t forced, int oversubscribed,
                           int *group_of, int *level);
/* Makes s's tree from the places its transport told every rank (TUBO_COLL_TREE), or
 * leaves it flat. Returns 0 or TUBO_ENOMEM. */
int tubo__shmc_tree_setup(shmc_t *s);
void tubo__shmc_tree_free(shmc_t *s);
/* For tests: the number of groups of comm's tree (0: flat), -1 where the shared-memory
 * engine does not serve comm; *level (if not NULL) as tubo__shmc_tree_groups sets it. */
int tubo__coll_tree_groups(const tubo_comm_t *comm, int *level);
/* The tree's collectives, or TUBO__COLL_DECLINE where the flat engine serves the call. */
int tubo__shmc_tree_barrier(shmc_t *s);
int tubo__shmc_tree_bcast(shmc_t *s, const tubo__coll_args_t *a);
int tubo__shmc_tree_reduce(shmc_t *s, const tubo__coll_args_t *a, int all);

/* The table (coll_shm.c). */
extern const tubo__coll_table_t tubo__coll_shm;

#endif /* TUBO_COLL_SHM_H */
