/* SPDX-License-Identifier: MIT */
/* The shared-memory collectives' segment, steps and sleeps (coll_shm.h), and their table. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll_shm.h"
#include "engine.h"
#include "os/os.h"
#include "patterns/objmem.h"
#include "settings.h"

/* Data slot bytes: as large as a rank's share of SHMC_BUDGET allows, within bounds. */
#define SHMC_BUDGET   (2u << 20)
#define SHMC_SLOT_MIN (4u << 10)
#define SHMC_SLOT_MAX (256u << 10)
/* A waiting rank sleeps this long at most before it looks at the job again. */
#define SHMC_SLEEP_MS 10

/* Whether publishers may skip their full fence because sleepers make every CPU pass one
 * (os.h's asymmetric fences); decided once per process. */
static int shmc_asym = -1;

/* Whether every rank of set[0..n) (set NULL: every rank) has published step k. This
 * rank's own step is known without reading its line (s->step): reading it while the
 * others poll that line made the 2-rank 8 B allreduce slower (a bare exchange of two
 * processes polling both lines took 248-277 ns against 215-229 polling the other's). */
static int shmc_ready(const shmc_t *s, const int *set, int n, uint32_t k)
{
  for (int i = 0; i < n; i++) {
    int q = set != NULL ? set[i] : i;
    if (q == s->me ? (int32_t)(s->step - k) < 0 : !shmc_at(s, q, k))
      return 0;
  }
  return 1;
}

/* shmc_ready, or where any is set, whether at least one rank of the set has (a set of
 * other ranks). */
static int shmc_ready_of(const shmc_t *s, const int *set, int n, uint32_t k, int any)
{
  if (!any)
    return shmc_ready(s, set, n, k);
  for (int i = 0; i < n; i++)
    if (shmc_at(s, set[i], k))
      return 1;
  return 0;
}

/* Stores step k in this rank's line, then wakes the sleepers on k's bell when wake_all
 * says so, or when every rank of set[0..n) has published k (this one was the last of
 * them). */
static void shmc_publish(shmc_t *s, uint32_t k, int wake_all, const int *set, int n)
{
  struct shmc_ctl *bell = shmc_bell(s, k);
  atomic_store_explicit(&shmc_line(s, s->me, k)->step, k, memory_order_release);
  s->step = k;
  /* The store must not pass the load of sleepers (a sleeper looks again after it counted
   * itself in): a full fence, or one every CPU passes when a rank goes to sleep. */
  if (shmc_asym)
    atomic_signal_fence(memory_order_seq_cst);
  else
    atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(&bell->sleepers, memory_order_relaxed) == 0)
    return;
  if (!wake_all && !shmc_ready(s, set, n, k))
    return; /* not the last: the last one wakes them */
  atomic_fetch_add_explicit(&bell->bell, 1, memory_order_seq_cst);
  tubo__os_futex_wake(&bell->bell, INT_MAX);
  s->rang++;
}

void tubo__shmc_publish(shmc_t *s, uint32_t k, int wake)
{
  shmc_publish(s, k, wake == SHMC_WAKE_ALWAYS, NULL, s->P);
}

void tubo__shmc_publish_set(shmc_t *s, uint32_t k, const int *set, int n)
{
  shmc_publish(s, k, 0, set, n);
}

/* Whether this rank's lines hold the steps it published last with their residues, and
 * no control line counts more sleepers than there are ranks (each counts itself on one
 * bell at most once): else someone forged them. A line never written yet holds 0. */
static int shmc_selfcheck(void *arg)
{
  const shmc_t *s = arg;
  for (uint32_t j = 0; j < SHMC_DEPTH; j++) {
    if (atomic_load_explicit(&s->ctl[j].sleepers, memory_order_relaxed) > (uint32_t)s->P)
      return TUBO_ECORRUPT;
    /* Steps wrap at 2^32, as SHMC_DEPTH divides it: the residues stay right. */
    uint32_t want = s->step - (s->step - j) % SHMC_DEPTH;
    uint32_t got = atomic_load_explicit(&shmc_line(s, s->me, j)->step, memory_order_relaxed);
    if (got != want && !(want > s->step && got == 0))
      return TUBO_ECORRUPT;
  }
  return tubo__shmc_v_selfcheck(s);
}

/* Whether the flags a wait for step k looks at hold steps of their line (k's residue),
 * or 0 (never written): no rank can leave any other value there. */
static int shmc_flags_sane(const shmc_t *s, const int *set, int n, uint32_t k)
{
  for (int i = 0; i < n; i++) {
    int q = set != NULL ? set[i] : i;
    uint32_t v = atomic_load_explicit(&shmc_line(s, q, k)->step, memory_order_relaxed);
    if (v != 0 && v % SHMC_DEPTH != k % SHMC_DEPTH)
      return 0;
  }
  return 1;
}

/* Whether rank q of s left the job (a clean exit) before it published step k: it will
 * never come. */
static int shmc_left_before(const shmc_t *s, int q, uint32_t k)
{
  tubo__world_t *w = s->comm->w;
  int wr = tubo__comm_world_rank(s->comm, q);
  return wr != w->rank && w->peers[wr].gone && !shmc_at(s, q, k);
}

/* Sleeps on step k's bell until woken, or SHMC_SLEEP_MS; then looks at the job's health. */
static int shmc_sleep(shmc_t *s, const int *set, int n, uint32_t k, int any)
{
  tubo__world_t *w = s->comm->w;
  struct shmc_ctl *bell = shmc_bell(s, k);
  uint32_t gen = atomic_load_explicit(&bell->bell, memory_order_seq_cst);
  atomic_fetch_add_explicit(&bell->sleepers, 1, memory_order_seq_cst);
  s->slept++;
  if (shmc_asym)
    tubo__os_fence_remote(); /* every publisher's last store is now visible */
  if (!shmc_ready_of(s, set, n, k, any))
    tubo__os_futex_wait(&bell->bell, gen, SHMC_SLEEP_MS);
  atomic_fetch_sub_explicit(&bell->sleepers, 1, memory_order_seq_cst);
  if (!shmc_flags_sane(s, set, n, k))
    tubo__job_corrupt(w);
  int rc = tubo__world_health(w);
  if (rc != 0)
    return rc;
  /* A rank waited for that left the job (a clean exit) will never come either; in a tree
   * collective, nor will one that left before it began, which the ranks waited for wait
   * on (coll_shm_tree.c). */
  for (int i = 0; i < n; i++)
    if (shmc_left_before(s, set != NULL ? set[i] : i, k))
      return TUBO_EPEER;
  for (int q = 0; s->tree.G > 0 && q < s->P; q++)
    if (shmc_left_before(s, q, s->floor))
      return TUBO_EPEER;
  return 0;
}

/* Notes that every rank has published step k. */
static void shmc_saw_all(shmc_t *s, const int *set, uint32_t k)
{
  if (set == NULL && (int32_t)(k - s->all_at) > 0)
    s->all_at = k;
}

static int shmc_wait_of(shmc_t *s, const int *set, int n, uint32_t k, int any)
{
  if (shmc_ready_of(s, set, n, k, any)) {
    if (!any)
      shmc_saw_all(s, set, k);
    return 0;
  }
  tubo__world_t *w = s->comm->w;
  tubo__waiter_t wt = {0, 0, 0};
  int rc = 0;
  for (unsigned spins = 1;; spins++) {
    if (shmc_ready_of(s, set, n, k, any))
      break;
    /* Now and then, and at every poll where the policy yields (a system call anyway):
     * the rank's other work (point-to-point, non-blocking collectives, served objects),
     * and whether the job broke. */
    if (w->wait.shared || (spins & 63) == 0) {
      int did = tubo__progress(w);
      if (did < 0 || w->broken) {
        rc = did < 0 ? did : w->broken_code;
        break;
      }
    }
    if (!tubo__waiter_idle(&w->wait, &wt))
      continue;
    uint64_t now = tubo__os_now_ns();
    tubo__blocked_publish(w);
    rc = shmc_sleep(s, set, n, k, any);
    tubo__waiter_slept(&wt, now);
    if (rc != 0 && !shmc_ready_of(s, set, n, k, any))
      break;
    rc = 0;
  }
  tubo__waiter_end(&w->wait, &wt);
  tubo__blocked_clear(w);
  if (rc == 0 && !any)
    shmc_saw_all(s, set, k);
  return rc;
}

int tubo__shmc_wait_set(shmc_t *s, const int *set, int n, uint32_t k)
{
  return shmc_wait_of(s, set, n, k, 0);
}

int tubo__shmc_wait_any(shmc_t *s, const int *set, int n, uint32_t k)
{
  return shmc_wait_of(s, set, n, k, 1);
}

unsigned char *tubo__shmc_tree(const tubo__coll_args_t *a, unsigned char **parts, int n,
                               size_t count)
{
  int pof2 = tubo__coll_pof2(n), rem = n - pof2;
  /* Fold the first 2 rem parts in pairs; the lower is the operation's left (in). */
  for (int v = 0; v < rem; v++) {
    tubo__op_apply(a->op, a->t, parts[2 * v], parts[2 * v + 1], count);
    parts[v] = parts[2 * v + 1];
  }
  for (int v = rem; v < pof2; v++)
    parts[v] = parts[v + rem];
  for (int m = 1; m < pof2; m *= 2)
    for (int v = 0; v < pof2; v += 2 * m) {
      tubo__op_apply(a->op, a->t, parts[v], parts[v + m], count);
      parts[v] = parts[v + m];
    }
  return parts[0];
}

/* ---- Setup ---------------------------------------------------------------------------- */

static void shmc_teardown(tubo_comm_t *comm);

/* The sizes at which the direct collectives read each other's buffers: where the shm
 * transport's starting choice (world.h: rndv_min and rndv_chan, before any sender adapts)
 * sends a message of that size by single copy between every pair of the communicator's
 * ranks. Each rank knows the choice for its own pairs only, so each puts its peers' largest
 * threshold and every class they keep on the channel into its record at the first step, and
 * all take the largest and the union: the same on every rank. Likewise whether it may write
 * into every peer's memory (the transport trusts their pids): where one may not, no rank
 * takes the paths that write; and whether every pair's choice was measured single copy at
 * the least size measured (world.h: rndv_least), which takes the paths below it too
 * (shmc_direct_for). */
static int shmc_direct_sizes(shmc_t *s)
{
  tubo__world_t *w = s->comm->w;
  uint64_t mine[4] = {0, 0, 1, 1};
  for (int r = 0; r < s->P; r++) {
    int wr = tubo__comm_world_rank(s->comm, r);
    if (wr == w->rank)
      continue;
    const tubo__peer_t *pe = &w->peers[wr];
    mine[0] = pe->rndv_min > mine[0] ? pe->rndv_min : mine[0];
    mine[1] |= pe->rndv_chan;
    mine[2] &= (uint64_t)tubo__peer_writable(w, wr);
    mine[3] &= pe->rndv_least;
  }
  uint32_t k = s->step + 1;
  memcpy(shmc_line(s, s->me, k)->data, mine, sizeof mine);
  tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  int rc = tubo__shmc_wait(s, -1, k);
  if (rc != 0)
    return rc;
  s->direct_least = 1;
  for (int r = 0; r < s->P; r++) {
    uint64_t v[4];
    memcpy(v, shmc_line(s, r, k)->data, sizeof v);
    s->direct_min = v[0] > s->direct_min ? (size_t)v[0] : s->direct_min;
    s->direct_chan |= (uint8_t)v[1];
    s->writes &= v[2] == 1;
    s->direct_least &= v[3] == 1;
  }
  return 0;
}

static int shmc_setup(tubo_comm_t *comm)
{
  tubo__world_t *w = comm->w;
  /* Every rank of one node, all reached through a transport with a shared heap: the same
   * answer on every rank. */
  if (comm->size < 2 || comm->nodes.n != 1 || !tubo__setting_u64("TUBO_COLL_SHM", 1, 0, 1))
    return TUBO__COLL_DECLINE;
  for (int r = 0; r < comm->size; r++) {
    int wr = tubo__comm_world_rank(comm, r);
    if (wr != w->rank && tubo__tport_of(w, wr)->ops->heap_alloc == NULL)
      return TUBO__COLL_DECLINE;
  }
  /* Single copy between every pair: the shm transport's answer for the whole job (every
   * rank's probe went into its control block before any rank read it), so the same on
   * every rank. */
  int direct = 1, writes = 1;
  for (int r = 0; r < comm->size; r++) {
    int wr = tubo__comm_world_rank(comm, r);
    const tubo__tport_t *t = wr != w->rank ? tubo__tport_of(w, wr) : NULL;
    if (t != NULL && (!t->caps.single_copy || t->ops->read == NULL))
      direct = 0;
    if (t != NULL && t->ops->write == NULL)
      writes = 0;
  }
  int P = comm->size;
  size_t slot = SHMC_BUDGET / (2 * (size_t)P);
  slot = slot < SHMC_SLOT_MIN ? SHMC_SLOT_MIN : slot > SHMC_SLOT_MAX ? SHMC_SLOT_MAX : slot;
  slot &= ~(size_t)(SHMC_LINE - 1);
  size_t bytes =
      SHMC_CTL_BYTES + SHMC_ALIAS + (size_t)P * (SHMC_DEPTH * sizeof(struct shmc_line) + 2 * slot);
  tubo__objmem_t m;
  int rc = tubo__objmem_comm(comm, bytes, &m);
  /* Out of heap (the same on every rank: rank 0 took it and told the others): the
   * point-to-point algorithms serve. */
  if (rc == TUBO_ESHM || rc == TUBO_ENOTSUP)
    return TUBO__COLL_DECLINE;
  if (rc != 0)
    return rc;
  shmc_t *s = calloc(1, sizeof *s);
  if (s != NULL) {
    s->tmp = malloc((size_t)P * sizeof(struct shmc_line));
    s->parts = malloc((size_t)P * sizeof *s->parts);
    s->ranks = malloc((size_t)P * sizeof *s->ranks);
  }
  if (s == NULL || s->tmp == NULL || s->parts == NULL || s->ranks == NULL) {
    if (s != NULL) {
      free(s->tmp);
      free(s->parts);
      free(s->ranks);
    }
    free(s);
    tubo__objmem_release(&m);
    return TUBO_ENOMEM;
  }
  for (int r = 0; r < P; r++)
    s->ranks[r] = r;
  s->rooted_at = UINT32_MAX; /* no bcast or scatter yet, nor right after a barrier */
  s->seg = m;
  s->P = P;
  s->me = comm->rank;
  s->slot = slot;
  s->direct = direct;
  s->writes = direct && writes;
  s->comm = comm;
  s->ctl = m.base;
  s->lines = (struct shmc_line *)((unsigned char *)m.base + SHMC_CTL_BYTES);
  s->slots = (unsigned char *)(s->lines + SHMC_DEPTH * (size_t)P);
  s->slots += shmc_skew(s->slots);
  /* The flag records, which every collective touches, are mapped now rather than on the
   * first collective after this one (a fault per page is slow on some virtual machines);
   * the slots come as large collectives use them. */
  tubo__os_prefault(m.base, (size_t)(s->slots - (unsigned char *)m.base));
  if (shmc_asym < 0)
    shmc_asym = tubo__os_fence_register() == 0;
  if (tubo__shmc_tree_setup(s) != 0) {
    tubo__objmem_release(&m);
    free(s->tmp);
    free(s->parts);
    free(s->ranks);
    free(s);
    return TUBO_ENOMEM;
  }
  s->check.run = shmc_selfcheck;
  s->check.arg = s;
  tubo__selfcheck_add(comm->w, &s->check);
  comm->coll_state = s;
  /* Of two ranks for the direct collectives (shmc_direct_for), of more for alltoall's
   * blocks as messages (shmc_alltoall_messages). */
  if (s->direct && (rc = shmc_direct_sizes(s)) != 0) {
    shmc_teardown(comm);
    comm->coll_state = NULL;
    return rc;
  }
  return 0;
}

static void shmc_teardown(tubo_comm_t *comm)
{
  shmc_t *s = comm->coll_state;
  if (s == NULL)
    return;
  /* Every collective of this rank on the communicator is complete: its lines are looked
   * at a last time (others may still wait on them), its hold on the segment goes, and
   * the last rank's frees it. */
  tubo__selfcheck_remove(comm->w, &s->check);
  if (shmc_selfcheck(s) != 0)
    tubo__job_corrupt(comm->w);
  tubo__objmem_release(&s->seg);
  tubo__shmc_big_free(s);
  tubo__shmc_tree_free(s);
  free(s->tmp);
  free(s->parts);
  free(s->ranks);
  free(s);
}

/* The v-forms whose ranks know only their own blocks' sizes (gatherv, scatterv,
 * alltoallv) do not first agree on the largest (a step in which all wait for all, after
 * which every rank stays in step): written that way and measured (8-byte blocks, 2000
 * calls in a row, 4 and 8 ranks on 2 cores), gatherv and scatterv took 10 to 100 times as
 * long as the point-to-point forms, whose other ranks send and go on, and alltoallv about
 * 1.5 times. Whoever writes a block chooses its way and says which where its reader looks
 * (coll_shm_vforms.c). allgatherv knows every size. */
const tubo__coll_table_t tubo__coll_shm = {
    "shm",
    shmc_setup,
    shmc_teardown,
    {
        [TUBO__C_BARRIER] = tubo__shmc_barrier,
        [TUBO__C_BCAST] = tubo__shmc_bcast,
        [TUBO__C_REDUCE] = tubo__shmc_reduce,
        [TUBO__C_ALLREDUCE] = tubo__shmc_allreduce,
        [TUBO__C_GATHER] = tubo__shmc_gather,
        [TUBO__C_SCATTER] = tubo__shmc_scatter,
        [TUBO__C_ALLGATHER] = tubo__shmc_allgather,
        [TUBO__C_ALLTOALL] = tubo__shmc_alltoall,
        [TUBO__C_GATHERV] = tubo__shmc_gatherv,
        [TUBO__C_SCATTERV] = tubo__shmc_scatterv,
        [TUBO__C_ALLTOALLV] = tubo__shmc_alltoallv,
        [TUBO__C_ALLGATHERV] = tubo__shmc_allgatherv,
        [TUBO__C_REDUCE_SCATTER_BLOCK] = tubo__shmc_reduce_scatter_block,
        [TUBO__C_SCAN] = tubo__shmc_scan,
        [TUBO__C_EXSCAN] = tubo__shmc_exscan,
    },
};
