/* SPDX-License-Identifier: MIT */
/* The shared-memory engine's one-copy collectives (lib/coll/coll_shm_big.c): bcast,
 * reduce and allreduce of more data than one of the slots takes, on 3 to 9 ranks (and on
 * 2, whose slots take them, a bcast in pieces: coll_shm_move.c); then
 * gather and scatter from every root (in place at even roots), allgather, alltoall and
 * allgatherv (uneven blocks, one empty, backwards with gaps) in place and not, every byte
 * checked, of blocks past a slot's P-th part, past a slot, and (gather, scatter) past
 * SHMC_STEPS_MAX slots, counted as the rule says, and through the slots when capped. Sizes
 * just past a slot (an odd count), 1 MiB and past twice what the slots would take in
 * SHMC_STEPS_MAX steps (odd byte counts for bcast); bcast from every root, reduce to every root in
 * place and not, allreduce in place and not, several in a row with no barrier. Doubles are checked
 * bit for bit against the fixed tree each rank computes alone and against the point-to-point table
 * (TUBO_COLL_SHM=0); a non-commutative operation of the user's against the point-to-point table;
 * and the engine's count says which calls went through the scratch. Then the scratch refused: by
 * TUBO_COLL_SCRATCH_BYTES, and by a heap that rank 0 filled, where every rank must leave the call
 * to the point-to-point table alike (the heap does not merge freed blocks, so no later call in the
 * job could have the scratch again). Two ranks one of whose pids is not vouched for (started too
 * far below the launcher) write nothing into each other's memory. Last, the bells: ranks that sleep
 * at every wait under a root of bcasts in a row, which must ring no more often than they slept. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coll/coll_shm.h"
#include "coll_ref.h"
#include "harness.h"
#include "world.h"

/* A communicator like the world's, made with a setting in force for its engine's choice
 * (and, with first, for its first one-copy call, which reads TUBO_COLL_SCRATCH_BYTES). */
static tubo_comm_t *cb_dup(const char *name, const char *value)
{
  tubo_comm_t *c = NULL;
  if (name != NULL)
    TH_CHECK(setenv(name, value, 1) == 0, "expected setenv to work");
  TH_OK(tubo_comm_dup(th_world, &c));
  TH_OK(tubo_barrier(c));
  return c;
}

static void cb_unset(const char *name)
{
  TH_CHECK(unsetenv(name) == 0, "expected unsetenv to work");
}

static shmc_t *cb_engine(tubo_comm_t *c)
{
  TH_CHECK(tubo__coll_tree_groups(c, NULL) >= 0, "expected the shared-memory engine to serve");
  return c->coll_state;
}

/* Whether the engine's rule sends a call of len bytes through the scratch. */
static int cb_big(const shmc_t *s, size_t len)
{
  return s->P > 2 && len > s->slot;
}

/* The fixed tree's sums of every rank's cr_spread_val(q, i, salt), n elements. */
static void cb_want(int P, size_t n, unsigned salt, double *out)
{
  enum { B = 512 };
  double *blk[16], *vals[16];
  for (int q = 0; q < P; q++)
    blk[q] = th_malloc(B * sizeof(double));
  for (size_t b0 = 0; b0 < n; b0 += B) {
    size_t m = n - b0 < B ? n - b0 : B;
    for (int q = 0; q < P; q++) {
      for (size_t j = 0; j < m; j++)
        blk[q][j] = cr_spread_val(q, b0 + j, salt);
      vals[q] = blk[q];
    }
    cr_tree_sum((const double *const *)vals, P, NULL, 0, m, out + b0);
  }
  for (int q = 0; q < P; q++)
    free(blk[q]);
}

static void cb_fill(double *v, size_t n, int r, unsigned salt)
{
  for (size_t i = 0; i < n; i++)
    v[i] = cr_spread_val(r, i, salt);
}

/* Bit for bit: got against want, n doubles. */
static void cb_same(const char *what, size_t n, const double *got, const double *want)
{
  if (memcmp(got, want, n * sizeof(double)) == 0)
    return;
  size_t i = 0;
  while (memcmp(&got[i], &want[i], sizeof(double)) == 0)
    i++;
  TH_CHECK(0, "%s, %zu doubles: element %zu is %.17g, expected %.17g", what, n, i, got[i], want[i]);
}

/* Sums of n doubles: allreduce in place and not (twice in a row, other data), reduce to
 * every root; the bits of the fixed tree and of the point-to-point table. */
static void cb_sums(tubo_comm_t *c, tubo_comm_t *p2p, size_t n, unsigned salt)
{
  int P = th_size, me = th_rank;
  shmc_t *s = cb_engine(c);
  double *in = th_malloc(n * sizeof(double)), *out = th_malloc(n * sizeof(double));
  double *want = th_malloc(n * sizeof(double)), *ref = th_malloc(n * sizeof(double));
  int big = cb_big(s, n * sizeof(double));
  for (unsigned k = 0; k < 2; k++) {
    cb_fill(in, n, me, salt + k);
    cb_want(P, n, salt + k, want);
    uint64_t before = s->big.calls;
    TH_OK(tubo_allreduce(in, out, n, TUBO_DOUBLE, TUBO_SUM, c));
    cb_same("allreduce against the fixed tree", n, out, want);
    memcpy(out, in, n * sizeof(double));
    TH_OK(tubo_allreduce(TUBO_IN_PLACE, out, n, TUBO_DOUBLE, TUBO_SUM, c));
    cb_same("allreduce in place against the fixed tree", n, out, want);
    TH_EQ("one-copy allreduces (2 where the rule says, else 0)", s->big.calls - before,
          (uint64_t)(2 * big));
  }
  TH_OK(tubo_allreduce(in, ref, n, TUBO_DOUBLE, TUBO_SUM, p2p));
  cb_same("allreduce against the point-to-point table", n, ref, want);
  uint64_t before = s->big.calls, at_root = s->root_calls;
  size_t len = n * sizeof(double);
  int by_root = P > 2 && len > SHMC_INLINE && len <= s->slot;
  for (int root = 0; root < P; root++) {
    int inplace = me == root && root % 2 == 0;
    memset(out, 0xa5, n * sizeof(double));
    if (inplace)
      memcpy(out, in, n * sizeof(double));
    TH_OK(tubo_reduce(inplace ? TUBO_IN_PLACE : in, me == root ? out : NULL, n, TUBO_DOUBLE,
                      TUBO_SUM, root, c));
    if (me == root)
      cb_same(inplace ? "reduce in place to its root" : "reduce to its root", n, out, want);
  }
  TH_EQ("one-copy reduces (one per root where the rule says)", s->big.calls - before,
        (uint64_t)(P * big));
  TH_EQ("reduces combined by this rank as their root (one where the rule says)",
        s->root_calls - at_root, (uint64_t)by_root);
  free(in);
  free(out);
  free(want);
  free(ref);
}

/* A non-commutative operation (element by element, as MPI's): the order of the operands
 * shows in the result. */
static void cb_skew(const void *in, void *inout, size_t count, tubo_type_t type)
{
  (void)type;
  const double *a = in;
  double *b = inout;
  for (size_t i = 0; i < count; i++)
    b[i] = a[i] * 0.75 + b[i] * 1.25 + 1.0;
}

static void cb_user_op(tubo_comm_t *c, tubo_comm_t *p2p, size_t n)
{
  shmc_t *s = cb_engine(c);
  tubo_op_t *op = NULL;
  TH_OK(tubo_op_create(cb_skew, 0, &op));
  double *in = th_malloc(n * sizeof(double)), *out = th_malloc(n * sizeof(double));
  double *ref = th_malloc(n * sizeof(double));
  cb_fill(in, n, th_rank, 7);
  uint64_t before = s->big.calls;
  TH_OK(tubo_allreduce(in, out, n, TUBO_DOUBLE, op, c));
  TH_EQ("one-copy allreduces of the user's operation", s->big.calls - before,
        (uint64_t)cb_big(s, n * sizeof(double)));
  TH_OK(tubo_allreduce(in, ref, n, TUBO_DOUBLE, op, p2p));
  cb_same("a non-commutative operation against the point-to-point table", n, out, ref);
  for (int root = 0; root < th_size; root++) {
    int me = th_rank == root;
    TH_OK(tubo_reduce(in, me ? out : NULL, n, TUBO_DOUBLE, op, root, c));
    if (me)
      cb_same("a non-commutative reduce against the allreduce", n, out, ref);
  }
  TH_OK(tubo_op_free(&op));
  free(in);
  free(out);
  free(ref);
}

/* Byte i of bcast k: not periodic in any power of two, so that a piece read from another
 * piece's place shows. */
static unsigned char cb_bval(size_t i, int k)
{
  return (unsigned char)(i * 7 + i / 4093 + (size_t)k);
}

/* bcast of len bytes from every root, then from rotating roots with no barrier between
 * (a root runs ahead of the readers by one call at most), then a row from rank 0 whose
 * root leaves the checks to its readers and so starts each call well ahead of them (it
 * must not overwrite what they have not read yet); the engine's count says which went
 * through the scratch (none where use is 0). */
static void cb_bcasts(tubo_comm_t *c, size_t len, int use)
{
  enum { ROW = 3 };
  int P = th_size, me = th_rank;
  shmc_t *s = cb_engine(c);
  unsigned char *buf = th_malloc(len);
  uint64_t before = s->big.calls, direct = s->direct_calls;
  for (int k = 0; k < 2 * P + ROW; k++) {
    int root = k < 2 * P ? k % P : 0;
    for (size_t i = 0; i < len; i++)
      buf[i] = me == root ? cb_bval(i, k) : 0;
    TH_OK(tubo_bcast(buf, len, TUBO_BYTE, root, c));
    for (size_t i = 0; (me != root || k < 2 * P) && i < len; i++)
      if (buf[i] != cb_bval(i, k))
        TH_CHECK(0, "bcast %d of %zu bytes from %d: byte %zu: expected %u, got %u", k, len, root, i,
                 (unsigned)cb_bval(i, k), (unsigned)buf[i]);
  }
  TH_EQ("one-copy bcasts (every one where the rule says)", s->big.calls - before,
        (uint64_t)((2 * P + ROW) * (use && cb_big(s, len))));
  TH_EQ("bcasts straight between the ranks' buffers (every one where the rule says)",
        s->direct_calls - direct, (uint64_t)((2 * P + ROW) * shmc_direct_for(s, len)));
  free(buf);
}

/* Byte i of the block that rank src sends rank dst in call k. */
static unsigned char cb_byte(int src, int dst, size_t i, int k)
{
  return (unsigned char)(i * 13 + (size_t)src * 7 + (size_t)dst * 3 + (size_t)k);
}

static void cb_block(const char *what, int k, const unsigned char *got, int src, int dst,
                     size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (got[i] != cb_byte(src, dst, i, k))
      TH_CHECK(0, "%s (call %d), block of %zu bytes from %d to %d: byte %zu: expected %u, got %u",
               what, k, len, src, dst, i, (unsigned)cb_byte(src, dst, i, k), (unsigned)got[i]);
}

static void cb_make(unsigned char *v, int src, int dst, size_t len, int k)
{
  for (size_t i = 0; i < len; i++)
    v[i] = cb_byte(src, dst, i, k);
}

/* gather and scatter to and from every root (in place at even roots) of len bytes a
 * block; the engine's count says which went through the scratch (none where use is 0). */
static void cb_rooted(tubo_comm_t *c, size_t len, int use)
{
  int P = th_size, me = th_rank;
  shmc_t *s = cb_engine(c);
  unsigned char *mine = th_malloc(len), *all = th_malloc(len * (size_t)P);
  uint64_t before = s->big.calls, direct = s->direct_calls;
  for (int root = 0; root < P; root++) {
    int inplace = me == root && root % 2 == 0;
    unsigned char *own = all + (size_t)me * len;
    cb_make(inplace ? own : mine, me, root, len, root);
    TH_OK(tubo_gather(inplace ? TUBO_IN_PLACE : mine, me == root ? all : NULL, len, TUBO_BYTE, root,
                      c));
    for (int q = 0; q < P && me == root; q++)
      cb_block("gather", root, all + (size_t)q * len, q, root, len);
    for (int q = 0; q < P && me == root; q++)
      cb_make(all + (size_t)q * len, root, q, len, P + root);
    memset(mine, 0, len);
    TH_OK(tubo_scatter(me == root ? all : NULL, inplace ? TUBO_IN_PLACE : mine, len, TUBO_BYTE,
                       root, c));
    cb_block("scatter", P + root, inplace ? own : mine, root, me, len);
  }
  /* Scatters past a slot (of two ranks, from single copy's size) read the root's buffer
   * where ranks can read each other's memory (the scratch's cap does not matter then), else
   * go through the scratch as gathers do. */
  int reads = shmc_direct_scatter(s, len), gathers = shmc_direct_for(s, len);
  TH_EQ("one-copy gathers and scatters through the scratch (1 or 2 per root where the rule says)",
        s->big.calls - before, (uint64_t)((2 - reads) * P * (use && cb_big(s, len))));
  TH_EQ("scatters that read the root's buffer and gathers straight between the buffers (1 "
        "each per root where the rules say)",
        s->direct_calls - direct, (uint64_t)(P * (reads + gathers)));
  free(mine);
  free(all);
}

/* scatter from every root whose send buffer lies in the job's heap (tubo_alloc_mem): the
 * others read it with memcpy where the engine reads the root's buffer. */
static void cb_scatter_heap(tubo_comm_t *c, size_t len)
{
  int P = th_size, me = th_rank;
  shmc_t *s = cb_engine(c);
  unsigned char *all = NULL, *mine = th_malloc(len);
  TH_OK(tubo_alloc_mem(len * (size_t)P, (void **)&all));
  uint64_t direct = s->direct_calls;
  for (int root = 0; root < P; root++) {
    for (int q = 0; q < P && me == root; q++)
      cb_make(all + (size_t)q * len, root, q, len, 30 + root);
    memset(mine, 0, len);
    TH_OK(tubo_scatter(me == root ? all : NULL, mine, len, TUBO_BYTE, root, c));
    cb_block("scatter from the heap", 30 + root, mine, root, me, len);
  }
  TH_EQ("scatters from the heap that read the root's buffer (1 per root where the rule says)",
        s->direct_calls - direct, (uint64_t)(P * shmc_direct_scatter(s, len)));
  TH_OK(tubo_free_mem(all));
  free(mine);
}

/* allgather, alltoall and allgatherv of len bytes a block, in place and not, twice in a
 * row with no barrier. allgatherv's blocks grow with the rank, rank 1's is empty, and
 * they lie in the buffer backwards with gaps. */
static void cb_alls(tubo_comm_t *c, size_t len, int use)
{
  int P = th_size, me = th_rank;
  size_t PP = (size_t)P;
  shmc_t *s = cb_engine(c);
  size_t *counts = th_malloc(PP * sizeof(size_t)), *displs = th_malloc(PP * sizeof(size_t));
  size_t end = 0, max = 0;
  for (int q = P - 1; q >= 0; q--) {
    counts[q] = q == 1 ? 0 : len + (size_t)q * 5;
    displs[q] = end + 64;
    end = displs[q] + counts[q];
    max = counts[q] > max ? counts[q] : max;
  }
  unsigned char *sb = th_malloc(len * PP), *rb = th_malloc(end > len * PP ? end : len * PP);
  uint64_t before = s->big.calls, direct = s->direct_calls;
  for (int k = 0; k < 2; k++) {
    cb_make(k ? rb + (size_t)me * len : sb, me, 0, len, k);
    TH_OK(tubo_allgather(k ? TUBO_IN_PLACE : sb, rb, len, TUBO_BYTE, c));
    for (int q = 0; q < P; q++)
      cb_block(k ? "allgather in place" : "allgather", k, rb + (size_t)q * len, q, 0, len);
  }
  TH_EQ("one-copy allgathers (2 where the rule says)", s->big.calls - before,
        (uint64_t)(2 * (use && cb_big(s, len))));
  before = s->big.calls;
  uint64_t vblocks = 0;
  for (int w = 0; w < 5; w++)
    vblocks += s->v_ways[1][w];
  /* Of more than two ranks, blocks past a slot's P-th part that every pair sends by single
   * copy go as alltoallv's (each of the P - 1 a way in its writer's table), the others
   * through the scratch (where it is not capped: use). */
  int as_v = len > s->slot / PP && shmc_alltoall_messages(s, len);
  if (th_variant() == TH_SHM_RNDV) /* single copy from 1 KiB for every pair */
    TH_EQ("alltoalls as alltoallv's where single copy starts at 1 KiB", as_v,
          P > 2 && s->direct && len > s->slot / PP && len >= 1024);
  for (int k = 0; k < 2; k++) {
    for (int q = 0; q < P; q++)
      cb_make((k ? rb : sb) + (size_t)q * len, me, q, len, 10 + k);
    TH_OK(tubo_alltoall(k ? TUBO_IN_PLACE : sb, rb, len, TUBO_BYTE, c));
    for (int q = 0; q < P; q++)
      cb_block(k ? "alltoall in place" : "alltoall", 10 + k, rb + (size_t)q * len, q, me, len);
  }
  for (int w = 0; w < 5; w++)
    vblocks -= s->v_ways[1][w];
  TH_EQ("one-copy alltoalls (2 where the rule says)", s->big.calls - before,
        (uint64_t)(2 * (use && P > 2 && len > s->slot / PP && !as_v)));
  TH_EQ("blocks of alltoalls sent as alltoallv's (2 x (P - 1) where the rule says)",
        (uint64_t)0 - vblocks, (uint64_t)(as_v ? 2 * (P - 1) : 0));
  before = s->big.calls;
  for (int k = 0; k < 2; k++) {
    cb_make(k ? rb + displs[me] : sb, me, 0, counts[me], 20 + k);
    TH_OK(tubo_allgatherv(k ? TUBO_IN_PLACE : sb, counts[me], rb, counts, displs, TUBO_BYTE, c));
    for (int q = 0; q < P; q++)
      cb_block(k ? "allgatherv in place" : "allgatherv", 20 + k, rb + displs[q], q, 0, counts[q]);
  }
  TH_EQ("one-copy allgathervs (2 where the rule says)", s->big.calls - before,
        (uint64_t)(2 * (use && cb_big(s, max))));
  /* Both allgathers, and the alltoall not in place, read the others' buffers where the
   * rule says for their blocks, and both allgathervs where it says for the largest. */
  TH_EQ("allgathers, alltoalls and allgathervs straight from the others' buffers (3 and 2 "
        "where the rule says)",
        s->direct_calls - direct,
        (uint64_t)(3 * shmc_direct_for(s, len) + 2 * shmc_direct_for(s, max)));
  free(counts);
  free(displs);
  free(sb);
  free(rb);
}

/* The collectives that move data: blocks just past a slot's P-th part and a slot (odd
 * byte counts), and past what the slots would take in SHMC_STEPS_MAX steps. */
static void body_moves(void)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  shmc_t *s = cb_engine(c);
  size_t lens[3] = {s->slot / (size_t)th_size + 3, s->slot + 3, 2 * SHMC_STEPS_MAX * s->slot + 5};
  for (int i = 0; i < 3; i++) {
    cb_rooted(c, lens[i], 1);
    if (i < 2) /* the third's alltoall would take more than the scratch's default cap */
      cb_alls(c, lens[i], 1);
  }
  cb_scatter_heap(c, lens[1]);
  /* Of more than two ranks, blocks within a slot: scatters read the root's buffer from 8 KiB
   * where the root's copies into the slots would come to 64 KiB (4 ranks: from 32 KiB; 9
   * ranks: from 8 KiB). */
  for (size_t len = 4096; th_size > 2 && len <= 32768; len *= 2) {
    TH_EQ("scatters within a slot that read the root's buffer", shmc_direct_scatter(s, len),
          s->direct && len >= 8192 && len * (size_t)(th_size - 1) >= 65536);
    cb_rooted(c, len, 1);
  }
  /* Of two ranks where every size goes by single copy (TUBO_SHM_RNDV_BYTES=1k): the direct
   * paths around their threshold (a record, a kibibyte), odd sizes and 1 MiB. */
  if (th_variant() == TH_SHM_RNDV) {
    size_t more[5] = {SHMC_INLINE + 1, 1023, 1024, 4097, (size_t)1 << 20};
    for (int i = 0; i < 5; i++) {
      TH_EQ("direct paths where single copy starts at 1 KiB (of two ranks)",
            shmc_direct_for(s, more[i]), th_size == 2 && more[i] >= 1024);
      TH_EQ("scatters that read the root's buffer where single copy starts at 1 KiB (of two "
            "ranks; past a slot, of any number)",
            shmc_direct_scatter(s, more[i]),
            more[i] > s->slot ? s->direct : th_size == 2 && more[i] >= 1024);
      cb_rooted(c, more[i], 1);
      cb_alls(c, more[i], 1);
      cb_bcasts(c, more[i], 1);
    }
  }
  TH_CHECK(th_size < 3 || s->big.calls > 0, "expected some calls through the scratch at %d ranks",
           th_size);
  TH_EQ("the engine's reads of other ranks' memory (on where the transport has single copy)",
        s->direct, th_single_copy_expected());
  TH_OK(tubo_comm_free(&c));
}

/* Rank 1 starts its tubo three forks below the process tuborun started, beyond the
 * generations within which the shm transport looks for the launcher: its pid is not vouched
 * for, so neither rank may write into the other's memory (a pid the control block names
 * could be another process's). Both must leave the two-rank paths that write (bcast,
 * gather) alike, and every result stays right; the paths that read are kept. */
static void body_deep(void)
{
  const char *r = getenv("TUBO_RANK");
  for (int gen = 0; r != NULL && strcmp(r, "1") == 0 && gen < 3; gen++) {
    fflush(NULL);
    pid_t pid = fork();
    TH_CHECK(pid >= 0, "fork: expected a child");
    if (pid != 0) {
      int ws = 0;
      if (waitpid(pid, &ws, 0) != pid)
        _exit(70);
      _exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 71);
    }
  }
  th_init_world(NULL, NULL);
  tubo_comm_t *c = cb_dup(NULL, NULL);
  shmc_t *s = cb_engine(c);
  TH_EQ("writes into the other rank's memory (neither, one pid not vouched for)", s->writes, 0);
  TH_EQ("reads of the other rank's memory (kept)", s->direct, th_single_copy_expected());
  size_t more[3] = {SHMC_INLINE + 1, 4097, (size_t)1 << 20};
  for (int i = 0; i < 3; i++) {
    TH_EQ("direct paths with no writes", shmc_direct_for(s, more[i]), 0);
    cb_rooted(c, more[i], 1);
    cb_alls(c, more[i], 1);
    cb_bcasts(c, more[i], 1);
  }
  TH_OK(tubo_comm_free(&c));
  TH_OK(tubo_finalize());
}

/* Ranks that sleep at every wait (the waiting policy set so), and a root of 8-byte bcasts
 * in a row, which runs ahead of them: the root rings a step's bell only where a rank sleeps
 * on that step, and each sleep is over before the root publishes the next step of its
 * bell (the guard), so the root rings at most as often as the others fell asleep. With one
 * bell for all steps it rang at every step it published while any rank slept. */
static void body_wakes(void)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  shmc_t *s = cb_engine(c);
  tubo__waitpol_t was = c->w->wait;
  c->w->wait.shared = 1;
  c->w->wait.yield_ns = c->w->wait.yield_max = 0;
  uint64_t rang = s->rang, slept = s->slept;
  for (int k = 0; k < 4 * (int)SHMC_DEPTH; k++) {
    long long v = th_rank == 0 ? k : -1;
    TH_OK(tubo_bcast(&v, 1, TUBO_LLONG, 0, c));
    TH_CHECK(v == k, "bcast %d of a row of sleepers: expected %d, got %lld", k, k, v);
  }
  rang = s->rang - rang, slept = s->slept - slept;
  c->w->wait = was;
  long long mine[2] = {th_rank == 0 ? (long long)rang : 0, th_rank == 0 ? 0 : (long long)slept},
            sum[2];
  TH_OK(tubo_allreduce(mine, sum, 2, TUBO_LLONG, TUBO_SUM, c));
  TH_CHECK(sum[0] <= sum[1],
           "a row of bcasts: expected the root to ring at most as often as the others slept "
           "(%lld times), it rang %lld times",
           sum[1], sum[0]);
  TH_OK(tubo_comm_free(&c));
}

static void body_big(void)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  tubo_comm_t *p2p = cb_dup("TUBO_COLL_SHM", "0");
  cb_unset("TUBO_COLL_SHM");
  shmc_t *s = cb_engine(c);
  TH_CHECK(tubo__coll_tree_groups(p2p, NULL) < 0,
           "expected TUBO_COLL_SHM=0 to leave the communicator to point-to-point messages");
  size_t slot = s->slot; /* bytes: a multiple of 64 */
  size_t counts[3] = {slot / sizeof(double) + 1, ((size_t)1 << 20) / sizeof(double),
                      2 * SHMC_STEPS_MAX * slot / sizeof(double) + 12345};
  for (int i = 0; i < 3; i++) {
    cb_sums(c, p2p, counts[i], (unsigned)i * 10);
    cb_bcasts(c, counts[i] * sizeof(double) + (i == 1 ? 0 : 3), 1);
  }
  TH_CHECK(th_size < 3 || s->big.calls > 0, "expected some calls through the scratch at %d ranks",
           th_size);
  /* The scratch grew to the largest call's need and stays for smaller ones; two ranks
   * take none for these (their scans do: body_scans). */
  size_t need = th_size < 3 ? 0 : th_size * ((counts[2] * sizeof(double) + 63) / 64 * 64);
  TH_CHECK(th_size < 3 ? s->big.mem.size == 0 : s->big.mem.size >= need,
           "expected a scratch of %s %zu bytes, got %zu", th_size < 3 ? "exactly" : "at least",
           need, s->big.mem.size);
  void *base = s->big.mem.base;
  cb_sums(c, p2p, counts[0], 40);
  TH_CHECK(s->big.mem.base == base, "expected the scratch to stay where it was for a smaller call");
  cb_user_op(c, p2p, counts[2]);
  /* A whole slot: of more than two ranks, a reduce combined by its root alone. */
  cb_sums(c, p2p, slot / sizeof(double), 50);
  cb_user_op(c, p2p, slot / sizeof(double));
  /* Small ones among them still go through the slots and lines. */
  double x = th_rank, sum = 0;
  TH_OK(tubo_allreduce(&x, &sum, 1, TUBO_DOUBLE, TUBO_SUM, c));
  TH_EQ("sum of ranks", sum, (double)(th_size * (th_size - 1) / 2));
  TH_OK(tubo_comm_free(&c));
  TH_OK(tubo_comm_free(&p2p));
}

/* scan, exscan and reduce_scatter_block of n elements on the engine: in a flag record, past
 * one in the slots while a slot holds them, past a slot through the scratch (of two ranks
 * too, but a 2-rank exscan, a bcast from rank 0), in place and not, the engine's counts
 * checked. Sums of long longs,
 * exact whatever the order: rank r's data (r + 1)(i + 3), so that scan gives (i + 3)(r + 1)(r + 2)
 * / 2 and exscan (i + 3) r (r + 1) / 2, rank 0's buffer untouched. reduce_scatter_block of doubles:
 * bit for bit the allreduce's block. */
static void cb_scans(tubo_comm_t *c, size_t n)
{
  int P = th_size, me = th_rank;
  shmc_t *s = cb_engine(c);
  long long *in = th_malloc(n * sizeof(long long)), *out = th_malloc(n * sizeof(long long));
  size_t len = n * sizeof(long long);
  int big = len > SHMC_INLINE && !shmc_scan_in_slots(s, len), slots = shmc_scan_in_slots(s, len);
  for (int ex = 0; ex < 2; ex++) {
    for (int inplace = 0; inplace < 2; inplace++) {
      for (size_t i = 0; i < n; i++) {
        in[i] = (long long)(me + 1) * (long long)(i + 3);
        out[i] = inplace ? in[i] : -7;
      }
      uint64_t before = s->big.calls, direct = s->direct_calls, in_slots = s->scan_slot_calls;
      const void *sb = inplace ? TUBO_IN_PLACE : in;
      TH_OK(ex ? tubo_exscan(sb, out, n, TUBO_LLONG, TUBO_SUM, c)
               : tubo_scan(sb, out, n, TUBO_LLONG, TUBO_SUM, c));
      /* Of two ranks, an exscan is a bcast from rank 0: never through the scratch, and
       * straight between the buffers where the rule says. */
      int two = ex && P == 2, reads = two && shmc_direct_for(s, len);
      TH_EQ(ex ? "exscans through the scratch" : "scans through the scratch", s->big.calls - before,
            (uint64_t)(big && !two));
      TH_EQ(ex ? "exscans through the slots" : "scans through the slots",
            s->scan_slot_calls - in_slots, (uint64_t)(slots && !two));
      TH_EQ("exscans straight from rank 0's buffer", s->direct_calls - direct, (uint64_t)reads);
      long long tri = ex ? (long long)me * (me + 1) / 2 : (long long)(me + 1) * (me + 2) / 2;
      for (size_t i = 0; i < n; i++) {
        long long want = ex && me == 0 ? (inplace ? in[i] : -7) : tri * (long long)(i + 3);
        TH_CHECK(out[i] == want, "%s%s of %zu on %d ranks: element %zu is %lld, expected %lld",
                 ex ? "exscan" : "scan", inplace ? " in place" : "", n, P, i, out[i], want);
      }
    }
  }
  size_t all = n * (size_t)P;
  double *d = th_malloc(all * sizeof(double)), *sum = th_malloc(all * sizeof(double));
  double *blk = th_malloc(all * sizeof(double));
  cb_fill(d, all, me, 3);
  TH_OK(tubo_allreduce(d, sum, all, TUBO_DOUBLE, TUBO_SUM, c));
  int rs_big = n * sizeof(double) * (size_t)P > SHMC_INLINE;
  for (int inplace = 0; inplace < 2; inplace++) {
    uint64_t before = s->big.calls;
    if (inplace) {
      memcpy(blk, d, all * sizeof(double));
      TH_OK(tubo_reduce_scatter_block(TUBO_IN_PLACE, blk, n, TUBO_DOUBLE, TUBO_SUM, c));
    } else {
      TH_OK(tubo_reduce_scatter_block(d, blk, n, TUBO_DOUBLE, TUBO_SUM, c));
    }
    TH_EQ("reduce_scatter_blocks through the scratch", s->big.calls - before, (uint64_t)rs_big);
    cb_same(inplace ? "reduce_scatter_block in place against the allreduce's block"
                    : "reduce_scatter_block against the allreduce's block",
            n, blk, sum + n * (size_t)me);
  }
  free(in);
  free(out);
  free(d);
  free(sum);
  free(blk);
}

static void body_scans(void)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  /* In a record (3 elements: 216 bytes of reduce_scatter_block's 9 blocks), just past one,
   * the most a scan takes in the slots (a slot, or what its highest rank may combine) and
   * one more, and just past a slot. */
  size_t slot = cb_engine(c)->slot;
  size_t most = th_size > 1 ? SHMC_SCAN_SLOTS_MAX / (size_t)(th_size - 1) : slot;
  most = (most < slot ? most : slot) / sizeof(long long);
  size_t counts[5] = {3, SHMC_INLINE / sizeof(double) + 1, most, most + 1,
                      slot / sizeof(long long) + 1};
  for (int i = 0; i < 5; i++)
    cb_scans(c, counts[i]);
  TH_OK(tubo_comm_free(&c));
}

/* The scratch refused: a cap below the call's need, then a heap rank 0 filled. Every rank
 * leaves the call to the slots or the point-to-point table alike, and the result is the
 * same. */
static void body_refused(void)
{
  int P = th_size, me = th_rank;
  tubo_comm_t *c = cb_dup("TUBO_COLL_SCRATCH_BYTES", "4096");
  shmc_t *s = cb_engine(c);
  /* Through the slots (a few steps), then point to point (too many). */
  size_t n = 2 * SHMC_STEPS_MAX * s->slot / sizeof(double) + 3, mid = 3 * s->slot / 8 + 3;
  double *in = th_malloc(n * sizeof(double)), *out = th_malloc(n * sizeof(double));
  double *want = th_malloc(n * sizeof(double));
  cb_fill(in, n, me, 3);
  cb_want(P, mid, 3, want);
  TH_OK(tubo_allreduce(in, out, mid, TUBO_DOUBLE, TUBO_SUM, c));
  cb_unset("TUBO_COLL_SCRATCH_BYTES");
  cb_same("allreduce through the slots with the scratch capped", mid, out, want);
  cb_want(P, n, 3, want);
  TH_OK(tubo_allreduce(in, out, n, TUBO_DOUBLE, TUBO_SUM, c));
  cb_same("allreduce point to point with the scratch capped", n, out, want);
  TH_EQ("one-copy calls with the scratch capped", s->big.calls, (uint64_t)0);
  TH_OK(tubo_comm_free(&c));
  /* The collectives that move data, capped likewise, through the slots. */
  c = cb_dup("TUBO_COLL_SCRATCH_BYTES", "4096");
  s = cb_engine(c);
  cb_rooted(c, s->slot + 3, 0);
  cb_bcasts(c, 5 * s->slot + 3, 0);
  cb_unset("TUBO_COLL_SCRATCH_BYTES");
  cb_alls(c, s->slot + 3, 0);
  TH_OK(tubo_comm_free(&c));

  /* Rank 0 takes the heap's blocks until none is left. */
  enum { NB = 4096 };
  void **held = th_malloc(NB * sizeof(void *));
  int nheld = 0;
  if (me == 0) {
    int rc = 0;
    while (nheld < NB && (rc = tubo_alloc_mem((size_t)4 << 20, &held[nheld])) == 0)
      nheld++;
    TH_EQ("tubo_alloc_mem once the heap is full", rc, TUBO_ENOMEM);
  }
  c = cb_dup(NULL, NULL);
  s = cb_engine(c);
  TH_OK(tubo_allreduce(in, out, n, TUBO_DOUBLE, TUBO_SUM, c));
  cb_same("allreduce with the heap full", n, out, want);
  memset(out, 0, n * sizeof(double));
  if (me == 1)
    memcpy(out, want, n * sizeof(double));
  TH_OK(tubo_bcast(out, n, TUBO_DOUBLE, 1, c));
  cb_same("bcast with the heap full", n, out, want);
  TH_EQ("one-copy calls with the heap full", s->big.calls, (uint64_t)0);
  for (int i = 0; i < nheld; i++)
    TH_OK(tubo_free_mem(held[i]));
  TH_OK(tubo_comm_free(&c));
  free(held);
  free(in);
  free(out);
  free(want);
}

/* ---- Two ranks' reductions beyond a record ---- */

/* Elements of es bytes that fill 9 of a 2-rank reduce's pieces and 3 more: past its two
 * slots, so that later pieces take earlier ones' places (coll_shm_reduce.c). */
static size_t cb_two_count(const shmc_t *s, size_t es)
{
  return 9 * (s->slot / SHMC_PIECES / es) + 3;
}

/* Element i of got against want's, n of type t. */
static void cb_two_same(const char *what, tubo_type_t t, size_t n, const void *got,
                        const void *want)
{
  for (size_t i = 0; i < n; i++)
    if (!cr_equal(t, got, i, want, i)) {
      char g[64], w[64];
      cr_format(t, got, i, g, sizeof g);
      cr_format(t, want, i, w, sizeof w);
      TH_CHECK(0, "%s, type %s: element %zu is %s, expected %s", what, cr_type_name(t), i, g, w);
    }
}

/* Two ranks, every type and operation where C defines them, counts 0, 1, 7, 1000 and past
 * two slots of pieces: reduce to each root (in place there every other count) and
 * allreduce in place and not, in a row with no barrier (a call's first pieces follow the
 * last one's), each against what this rank computes alone; then a non-commutative
 * operation of the user's, reduce to each root and allreduce, of a million doubles. */
static void body_two(void)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  shmc_t *s = cb_engine(c);
  int me = th_rank;
  TH_EQ("ranks", th_size, 2);
  for (int ti = 0; ti < CR_NTYPES; ti++)
    for (int op = 0; op < CR_NOPS; op++) {
      tubo_type_t t = cr_types[ti];
      if (!cr_defined(t, op))
        continue;
      size_t es = cr_size(t), big = cb_two_count(s, es);
      const size_t ns[] = {0, 1, 7, 1000, big};
      unsigned char *in = th_malloc(big * es), *out = th_malloc(big * es);
      unsigned char *want = th_malloc(big * es);
      char what[96];
      for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        size_t n = ns[k];
        for (size_t i = 0; i < n; i++) {
          cr_set(t, in, i, cr_value(op, me, 2, i));
          cr_reduce_ranks(t, op, 0, 2, 2, i, want);
        }
        for (int root = 0; root < 2; root++) {
          int inplace = (int)(k + (size_t)op) % 2 && me == root;
          snprintf(what, sizeof what, "2-rank reduce %s of %zu to %d%s", cr_op_names[op], n, root,
                   inplace ? " in place" : "");
          memset(out, 0x5a, n * es);
          if (inplace)
            memcpy(out, in, n * es);
          TH_OK(tubo_reduce(inplace ? TUBO_IN_PLACE : in, me == root ? out : NULL, n, t, cr_ops[op],
                            root, c));
          if (me == root)
            cb_two_same(what, t, n, out, want);
        }
        snprintf(what, sizeof what, "2-rank allreduce %s of %zu", cr_op_names[op], n);
        memset(out, 0x5a, n * es);
        TH_OK(tubo_allreduce(in, out, n, t, cr_ops[op], c));
        cb_two_same(what, t, n, out, want);
        snprintf(what, sizeof what, "2-rank allreduce in place %s of %zu", cr_op_names[op], n);
        memcpy(out, in, n * es);
        TH_OK(tubo_allreduce(TUBO_IN_PLACE, out, n, t, cr_ops[op], c));
        cb_two_same(what, t, n, out, want);
      }
      free(in), free(out), free(want);
    }
  tubo_op_t *skew = NULL;
  TH_OK(tubo_op_create(cb_skew, 0, &skew));
  size_t n = 1000000;
  double *in = th_malloc(n * sizeof(double)), *out = th_malloc(n * sizeof(double));
  double *want = th_malloc(n * sizeof(double));
  cb_fill(in, n, me, 3);
  cb_fill(want, n, 1, 3);
  double *in0 = th_malloc(n * sizeof(double));
  cb_fill(in0, n, 0, 3);
  cb_skew(in0, want, n, TUBO_DOUBLE); /* rank 0's op rank 1's */
  for (int root = 0; root < 2; root++) {
    memset(out, 0, n * sizeof(double));
    TH_OK(tubo_reduce(in, me == root ? out : NULL, n, TUBO_DOUBLE, skew, root, c));
    if (me == root)
      cb_same(root == 0 ? "2-rank reduce of the user's operation to 0"
                        : "2-rank reduce of the user's operation to 1",
              n, out, want);
  }
  TH_OK(tubo_allreduce(in, out, n, TUBO_DOUBLE, skew, c));
  cb_same("2-rank allreduce of the user's operation", n, out, want);
  /* The same of 4096 doubles (32 KiB) to each root, in place and not: where single copy
   * serves that size (TUBO_SHM_RNDV_BYTES=1k), the root reads the other's data straight
   * from its buffer, once per call. */
  n = 4096;
  uint64_t direct = s->direct_calls;
  for (int k = 0; k < 4; k++) {
    int root = k % 2, inplace = k / 2 && me == root;
    memcpy(out, in, n * sizeof(double));
    TH_OK(tubo_reduce(inplace ? TUBO_IN_PLACE : in, me == root ? out : NULL, n, TUBO_DOUBLE, skew,
                      root, c));
    if (me == root)
      cb_same(inplace ? "2-rank reduce of 32 KiB of the user's operation in place"
                      : "2-rank reduce of 32 KiB of the user's operation",
              n, out, want);
  }
  TH_EQ("2-rank reduces of 32 KiB read straight from the other rank's buffer",
        s->direct_calls - direct, (uint64_t)(4 * shmc_direct_for(s, n * sizeof(double))));
  TH_CHECK(th_variant() != TH_SHM_RNDV || shmc_direct_for(s, n * sizeof(double)),
           "expected direct 2-rank reduces of 32 KiB where single copy starts at 1 KiB");
  TH_OK(tubo_op_free(&skew));
  TH_OK(tubo_comm_free(&c));
  free(in), free(out), free(want), free(in0);
}

/* The way the engine's gatherv sends a block of len bytes, as coll_shm_vforms.c states
 * it: in the sender's record up to 232 bytes (of two ranks, what fits the flag's line: 40);
 * of two ranks where the direct paths take the size, written by the sender into the
 * root's buffer; else through the sender's slot up to a slot; else a message. 0 record,
 * 1 slot, 3 write, 4 message (2, read, is scatterv's and alltoallv's). */
static int cb_v_way(const shmc_t *s, size_t len)
{
  if (len <= 232 && (s->P > 2 || len <= 40))
    return 0;
  if (s->P == 2 && shmc_direct_for(s, len))
    return 3;
  return len <= s->slot ? 1 : 4;
}

/* At a root: the blocks its gatherv (v 0) took or scatterv (v 1) sent each way since it
 * read ways, as the rule wants. */
static void cb_v_ways_check(const shmc_t *s, int v, const uint64_t *ways, const uint64_t *want,
                            size_t base, int root)
{
  const char *names[5] = {"in a record", "through a slot", "read from the other's buffer",
                          "written into the root's", "as a message"};
  for (int w = 0; w < 5; w++) {
    char what[160];
    snprintf(what, sizeof what, "%s blocks around %zu bytes, root %d, %s",
             v ? "scatterv or alltoallv" : "gatherv", base, root, names[w]);
    TH_EQ(what, s->v_ways[v][w] - ways[w], want[w]);
  }
}

/* The v-forms' blocks: rank q's base + 3 q bytes, placed backwards with 64-byte gaps;
 * returns the bytes they span. */
static size_t cb_v_layout(int P, size_t base, size_t **counts, size_t **displs)
{
  size_t end = 0;
  *counts = th_malloc((size_t)P * sizeof(size_t));
  *displs = th_malloc((size_t)P * sizeof(size_t));
  for (int q = P - 1; q >= 0; q--) {
    (*counts)[q] = base + (size_t)q * 3;
    (*displs)[q] = end + 64;
    end = (*displs)[q] + (*counts)[q];
  }
  return end;
}

/* gatherv to every root (in place at even roots) of blocks around base bytes: rank q sends
 * base + 3 q bytes (rank 1 none where base is 0), placed backwards with gaps that must stay
 * as they were; twice in a row with no barrier. The root's count of the ways it took the
 * blocks must match the rule. */
static void cb_gathervs(tubo_comm_t *c, size_t base)
{
  int P = th_size, me = th_rank;
  shmc_t *s = cb_engine(c);
  size_t *counts, *displs, end = cb_v_layout(P, base, &counts, &displs);
  unsigned char *sb = th_malloc(counts[me] + 1), *rb = th_malloc(end + 64);
  for (int root = 0; root < P; root++) {
    uint64_t ways[5];
    memcpy(ways, s->v_ways[0], sizeof ways);
    for (int k = 0; k < 2; k++) {
      int inplace = me == root && root % 2 == 0;
      memset(rb, 0xee, end + 64);
      cb_make(inplace ? rb + displs[me] : sb, me, root, counts[me], 40 + k);
      TH_OK(tubo_gatherv(inplace ? TUBO_IN_PLACE : sb, counts[me], me == root ? rb : NULL, counts,
                         displs, TUBO_BYTE, root, c));
      for (int q = 0; q < P && me == root; q++)
        cb_block(inplace ? "gatherv in place" : "gatherv", 40 + k, rb + displs[q], q, root,
                 counts[q]);
      for (size_t i = 0, q = (size_t)P; me == root && i < end + 64; i++) {
        int gap = 1;
        for (q = 0; q < (size_t)P && gap; q++)
          gap = !(i >= displs[q] && i < displs[q] + counts[q]);
        if (gap && rb[i] != 0xee)
          TH_CHECK(0, "gatherv of %zu to %d: byte %zu between the blocks: expected 0xee, got %u",
                   base, root, i, (unsigned)rb[i]);
      }
    }
    if (me != root)
      continue;
    uint64_t want[5] = {0, 0, 0, 0, 0};
    for (int q = 0; q < P; q++)
      if (q != root)
        want[cb_v_way(s, counts[q])] += 2;
    cb_v_ways_check(s, 0, ways, want, base, root);
  }
  free(counts), free(displs), free(sb), free(rb);
}

/* Counts that disagree: every sender sends extra bytes more than the root's count for it
 * (extra < 0: fewer), so that the sender's way and the size the root expects may differ.
 * The root gets TUBO_ETRUNC where any sent more, its count's bytes of each block (where
 * fewer, the rest untouched), the senders 0, and nobody waits for ever: a gatherv and a
 * barrier after it work. */
static void cb_gatherv_wrong(tubo_comm_t *c, size_t base, long extra)
{
  int P = th_size, me = th_rank, root = P - 1;
  size_t *counts = th_malloc((size_t)P * sizeof(size_t)),
         *displs = th_malloc((size_t)P * sizeof(size_t));
  for (int q = 0; q < P; q++) {
    counts[q] = base;
    displs[q] = (size_t)q * (base + 64);
  }
  size_t sent = me == root ? base : (size_t)((long)base + extra), total = (size_t)P * (base + 64);
  unsigned char *sb = th_malloc(sent + 1), *rb = th_malloc(total);
  memset(rb, 0xee, total);
  cb_make(sb, me, root, sent, 50);
  TH_EXPECT_RC(tubo_gatherv(sb, sent, me == root ? rb : NULL, counts, displs, TUBO_BYTE, root, c),
               me == root && extra > 0 ? TUBO_ETRUNC : 0);
  for (int q = 0; q < P && me == root; q++) {
    size_t got = q == root || extra > 0 ? base : (size_t)((long)base + extra);
    cb_block("gatherv of counts that disagree", 50, rb + displs[q], q, root, got);
    for (size_t i = got; i < base + 64; i++)
      if (rb[displs[q] + i] != 0xee)
        TH_CHECK(0,
                 "gatherv of %zu (senders %+ld): byte %zu past rank %d's %zu: expected 0xee, "
                 "got %u",
                 base, extra, i, q, got, (unsigned)rb[displs[q] + i]);
  }
  free(sb), free(rb), free(counts), free(displs);
  cb_gathervs(c, 8);
  TH_OK(tubo_barrier(c));
}

/* The ways the engine's scatterv (alltoall 0) or alltoallv sends the blocks of counts[]
 * from root, as coll_shm_vforms.c states it, counted into want (0 record, 1 slot, 2 read,
 * 4 message): all in the root's record where a table of 16 bytes a rank, 16 more and every
 * other rank's block (rounded up to 8 bytes) fit in 248; else each read by its rank where
 * a scatter of its size would be (alltoallv: of two ranks, where the direct paths take
 * it), else in the slot after the table while it has room (blocks rounded up to 64
 * bytes), else read where ranks can read each other's memory (alltoallv: of two ranks),
 * else a message. */
static void cb_v_scatter_ways(const shmc_t *s, const size_t *counts, int root, int alltoall,
                              uint64_t *want)
{
  size_t P = (size_t)s->P, total = 16 + 16 * P, pos = 16 * P;
  for (int q = 0; q < s->P; q++)
    total += q != root ? (counts[q] + 7) / 8 * 8 : 0;
  for (int q = 0; q < s->P; q++) {
    if (q == root)
      continue;
    size_t len = counts[q];
    if (total <= 248) {
      want[0]++;
    } else if (alltoall ? s->P == 2 && shmc_direct_for(s, len) : shmc_direct_scatter(s, len)) {
      want[2]++;
    } else if (pos + len <= s->slot) {
      want[1]++;
      pos += (len + 63) / 64 * 64;
    } else {
      want[s->direct && !(alltoall && s->P > 2) ? 2 : 4]++;
    }
  }
}

/* scatterv from every root (in place at even roots) of blocks around base bytes, laid out
 * as cb_gathervs's; each rank's buffer has room past its block, which must stay as it
 * was; twice in a row with no barrier. The root's count of the ways must match the rule. */
static void cb_scattervs(tubo_comm_t *c, size_t base)
{
  int P = th_size, me = th_rank;
  shmc_t *s = cb_engine(c);
  size_t *counts, *displs, end = cb_v_layout(P, base, &counts, &displs);
  unsigned char *sb = th_malloc(end + 64), *rb = th_malloc(counts[me] + 64);
  for (int root = 0; root < P; root++) {
    uint64_t ways[5], want[5] = {0, 0, 0, 0, 0};
    memcpy(ways, s->v_ways[1], sizeof ways);
    for (int k = 0; k < 2; k++) {
      int inplace = me == root && root % 2 == 0;
      for (int q = 0; q < P && me == root; q++)
        cb_make(sb + displs[q], root, q, counts[q], 60 + k);
      memset(rb, 0xee, counts[me] + 64);
      TH_OK(tubo_scatterv(me == root ? sb : NULL, counts, displs, inplace ? TUBO_IN_PLACE : rb,
                          counts[me], TUBO_BYTE, root, c));
      cb_block(inplace ? "scatterv in place" : "scatterv", 60 + k, inplace ? sb + displs[me] : rb,
               root, me, counts[me]);
      for (size_t i = counts[me]; !inplace && i < counts[me] + 64; i++)
        if (rb[i] != 0xee)
          TH_CHECK(0, "scatterv of %zu from %d: byte %zu past the block: expected 0xee, got %u",
                   base, root, i, (unsigned)rb[i]);
      if (me == root)
        cb_v_scatter_ways(s, counts, root, 0, want);
    }
    if (me == root)
      cb_v_ways_check(s, 1, ways, want, base, root);
  }
  free(counts), free(displs), free(sb), free(rb);
}

/* scatterv of counts that disagree: each rank's count is extra bytes more than the root
 * sends it (extra < 0: fewer). A rank that gets more than its count gets TUBO_ETRUNC and
 * its count's bytes; one that gets less, the block and the rest of its buffer untouched;
 * nobody waits for ever. */
static void cb_scatterv_wrong(tubo_comm_t *c, size_t base, long extra)
{
  int P = th_size, me = th_rank, root = 0;
  size_t *counts = th_malloc((size_t)P * sizeof(size_t)),
         *displs = th_malloc((size_t)P * sizeof(size_t));
  for (int q = 0; q < P; q++) {
    counts[q] = base;
    displs[q] = (size_t)q * (base + 64);
  }
  size_t mine = me == root ? base : (size_t)((long)base + extra);
  unsigned char *sb = th_malloc((size_t)P * (base + 64)), *rb = th_malloc(mine + base + 64);
  for (int q = 0; q < P && me == root; q++)
    cb_make(sb + displs[q], root, q, base, 70);
  memset(rb, 0xee, mine + base + 64);
  TH_EXPECT_RC(tubo_scatterv(me == root ? sb : NULL, counts, displs, rb, mine, TUBO_BYTE, root, c),
               me != root && extra < 0 ? TUBO_ETRUNC : 0);
  size_t got = mine < base ? mine : base;
  cb_block("scatterv of counts that disagree", 70, rb, root, me, got);
  for (size_t i = got; i < mine + base + 64; i++)
    if (rb[i] != 0xee)
      TH_CHECK(0,
               "scatterv of %zu (counts %+ld): byte %zu past the %zu received: expected 0xee, "
               "got %u",
               base, extra, i, got, (unsigned)rb[i]);
  free(sb), free(rb), free(counts), free(displs);
  cb_scattervs(c, 8);
  TH_OK(tubo_barrier(c));
}

/* scatterv in the shared-memory engine: every way, around each threshold, then counts that
 * disagree across them. */
static void body_scatterv(void)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  shmc_t *s = cb_engine(c);
  size_t sizes[9] = {0, 8, 40, 200, 4096, 9000, 40000};
  sizes[7] = s->slot / 2 + 1;
  sizes[8] = ((size_t)1 << 20) + 3;
  for (size_t i = 0; i < 9; i++)
    cb_scattervs(c, sizes[i]);
  cb_scatterv_wrong(c, 8, 300);
  cb_scatterv_wrong(c, 300, -280);
  cb_scatterv_wrong(c, s->slot / 2, 64);
  cb_scatterv_wrong(c, 70000, -60000);
  cb_scatterv_wrong(c, 300000, -100000);
  TH_OK(tubo_comm_free(&c));
}

/* alltoallv of blocks around base bytes: rank i sends rank j base + 3 i + 5 j bytes (none
 * from 1 to 2), its send blocks backwards with gaps, its receive blocks forwards with gaps
 * that must stay as they were; twice in a row with no barrier; the ways each rank sent
 * its blocks counted against the rule. extra (not 0): every rank's receive counts are
 * extra bytes more than what is sent (fewer where negative): TUBO_ETRUNC where fewer, and
 * the rest as it was where more. */
static void cb_alltoallvs(tubo_comm_t *c, size_t base, long extra)
{
  int P = th_size, me = th_rank;
  size_t PP = (size_t)P;
  shmc_t *s = cb_engine(c);
  size_t *sc = th_malloc(PP * sizeof(size_t)), *sd = th_malloc(PP * sizeof(size_t));
  size_t *rc = th_malloc(PP * sizeof(size_t)), *rd = th_malloc(PP * sizeof(size_t));
  size_t send_end = 0, recv_end = 0;
  for (int q = P - 1; q >= 0; q--) {
    sc[q] = me == 1 && q == 2 ? 0 : base + 3 * (size_t)me + 5 * (size_t)q;
    sd[q] = send_end + 64;
    send_end = sd[q] + sc[q];
  }
  for (int q = 0; q < P; q++) {
    size_t sent = q == 1 && me == 2 ? 0 : base + 3 * (size_t)q + 5 * (size_t)me;
    rc[q] = q == me || sent == 0 ? sent : (size_t)((long)sent + extra);
    rd[q] = recv_end + 64;
    recv_end = rd[q] + rc[q] + 64;
  }
  unsigned char *sb = th_malloc(send_end), *rb = th_malloc(recv_end);
  uint64_t ways[5], want[5] = {0, 0, 0, 0, 0};
  memcpy(ways, s->v_ways[1], sizeof ways);
  for (int k = 0; k < 2; k++) {
    for (int q = 0; q < P; q++)
      cb_make(sb + sd[q], me, q, sc[q], 80 + k);
    memset(rb, 0xee, recv_end);
    TH_EXPECT_RC(tubo_alltoallv(sb, sc, sd, rb, rc, rd, TUBO_BYTE, c),
                 extra < 0 && P > 1 ? TUBO_ETRUNC : 0);
    for (int q = 0; q < P; q++) {
      size_t sent = q == 1 && me == 2 ? 0 : base + 3 * (size_t)q + 5 * (size_t)me;
      size_t got = sent < rc[q] ? sent : rc[q];
      cb_block("alltoallv", 80 + k, rb + rd[q], q, me, got);
      for (size_t i = got; i < rc[q] + 64; i++)
        if (rb[rd[q] + i] != 0xee)
          TH_CHECK(0,
                   "alltoallv of %zu (counts %+ld): byte %zu past the %zu from %d: expected "
                   "0xee, got %u",
                   base, extra, i, got, q, (unsigned)rb[rd[q] + i]);
    }
    cb_v_scatter_ways(s, sc, me, 1, want);
  }
  if (extra == 0)
    cb_v_ways_check(s, 1, ways, want, base, me);
  free(sc), free(sd), free(rc), free(rd), free(sb), free(rb);
}

/* alltoallv in the shared-memory engine: every way, around each threshold, then counts
 * that disagree; in place, point to point (every byte checked). */
static void body_alltoallv(void)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  shmc_t *s = cb_engine(c);
  size_t sizes[8] = {0, 8, 30, 200, 4096, 40000};
  sizes[6] = s->slot / (size_t)th_size;
  sizes[7] = ((size_t)1 << 20) + 3;
  for (size_t i = 0; i < 8; i++)
    cb_alltoallvs(c, sizes[i], 0);
  cb_alltoallvs(c, 8, 300);
  cb_alltoallvs(c, 300, -280);
  cb_alltoallvs(c, s->slot / 2, 64);
  cb_alltoallvs(c, 300000, -100000);
  TH_OK(tubo_barrier(c));
  int P = th_size, me = th_rank;
  size_t *cnt = th_malloc((size_t)P * sizeof(size_t)), *dsp = th_malloc((size_t)P * sizeof(size_t));
  unsigned char *rb = th_malloc((size_t)P * 100);
  for (int q = 0; q < P; q++) {
    cnt[q] = 100;
    dsp[q] = (size_t)q * 100;
    cb_make(rb + dsp[q], me, q, 100, 90);
  }
  TH_OK(tubo_alltoallv(TUBO_IN_PLACE, NULL, NULL, rb, cnt, dsp, TUBO_BYTE, c));
  for (int q = 0; q < P; q++)
    cb_block("alltoallv in place", 90, rb + dsp[q], q, me, 100);
  free(cnt), free(dsp), free(rb);
  TH_OK(tubo_comm_free(&c));
}

/* A forged way: on 3 ranks, rank 2 makes a block's header (gatherv: rank 1's record; scatterv:
 * rank 1's entry in the root's table, in its slot) say that a message comes, after its
 * writer wrote it and before its reader reads it (the ranks take turns by messages on the
 * world). The reader then waits for a message no one sends, while the writer waits for the
 * reader in a barrier: the writer's health checks must find the bytes it wrote changed and
 * break the job, so that every rank's call ends (TUBO_ECORRUPT, or TUBO_EPEER where the
 * rank that found it left first) instead of waiting for ever. */
static void cb_vforge(int scatter)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  shmc_t *s = cb_engine(c);
  int me = th_rank, writer = scatter ? 0 : 1, reader = scatter ? 1 : 0, token = 0;
  size_t len = scatter ? 4096 : 8, cnt[3] = {len, len, len}, dsp[3] = {0, len, 2 * len};
  unsigned char *sb = th_malloc(3 * len), *rb = th_malloc(3 * len);
  memset(sb, me, 3 * len);
  int rc = 0;
  if (me == 2 || me == writer) {
    rc = scatter ? tubo_scatterv(sb, cnt, dsp, rb, len, TUBO_BYTE, 0, c)
                 : tubo_gatherv(sb, len, rb, cnt, dsp, TUBO_BYTE, 0, c);
    TH_OK(rc);
  }
  if (me == writer)
    TH_OK(tubo_send(&token, sizeof token, 2, 7, th_world));
  if (me == 2) {
    TH_OK(tubo_recv(&token, sizeof token, writer, 7, th_world, TUBO_STATUS_IGNORE));
    uint32_t k1 = s->step - (scatter ? 0 : 1);
    uint64_t hdr = (uint64_t)len << 3 | 4; /* SHMC_V_MESSAGE */
    unsigned char *at = scatter ? shmc_slot(s, 0, k1) + 16 : shmc_line(s, 1, k1)->data + 8;
    memcpy(at, &hdr, sizeof hdr);
    TH_OK(tubo_send(&token, sizeof token, reader, 8, th_world));
  }
  if (me == reader) {
    TH_OK(tubo_recv(&token, sizeof token, 2, 8, th_world, TUBO_STATUS_IGNORE));
    rc = scatter ? tubo_scatterv(NULL, NULL, NULL, rb, len, TUBO_BYTE, 0, c)
                 : tubo_gatherv(sb, len, rb, cnt, dsp, TUBO_BYTE, 0, c);
    TH_CHECK(rc == TUBO_ECORRUPT || rc == TUBO_EPEER,
             "rank %d: the call whose way was forged: expected TUBO_ECORRUPT or TUBO_EPEER, got %s",
             me, tubo_err_name(rc));
  } else {
    rc = tubo_barrier(c);
    TH_CHECK(rc == TUBO_ECORRUPT || rc == TUBO_EPEER,
             "rank %d: a barrier after a forged way: expected TUBO_ECORRUPT or TUBO_EPEER, got %s",
             me, tubo_err_name(rc));
  }
  free(sb), free(rb);
  _exit(0); /* the job is broken: no finalize to wait for */
}

static void body_vforge_gather(void)
{
  cb_vforge(0);
}

static void body_vforge_scatter(void)
{
  cb_vforge(1);
}

/* gatherv in the shared-memory engine: every way a block travels, and around each
 * threshold, then counts that disagree across the thresholds. */
static void body_gatherv(void)
{
  tubo_comm_t *c = cb_dup(NULL, NULL);
  shmc_t *s = cb_engine(c);
  /* Rank q sends base + 3 q: 37 and 40 fit the flag's line, 229 and 232 a record. */
  size_t sizes[10] = {0, 8, 37, 38, 229, 230, 4096};
  sizes[7] = s->slot - 2 * (size_t)th_size;
  sizes[8] = s->slot + 1;
  sizes[9] = ((size_t)1 << 20) + 3;
  for (size_t i = 0; i < 10; i++)
    cb_gathervs(c, sizes[i]);
  cb_gatherv_wrong(c, 8, 300);              /* the root expects a record's, gets a slot's */
  cb_gatherv_wrong(c, 300, -280);           /* the other way */
  cb_gatherv_wrong(c, s->slot, 64);         /* a slot's, gets a message */
  cb_gatherv_wrong(c, s->slot + 100, -200); /* a message's, gets a slot's */
  cb_gatherv_wrong(c, 70000, 70000);        /* a message or a write, longer */
  cb_gatherv_wrong(c, 300000, 100000);      /* a message or a write, longer */
  cb_gatherv_wrong(c, 600000, -100000);     /* a message or a write, shorter */
  TH_OK(tubo_comm_free(&c));
}

static const th_body_t bodies[] = {
    {"big", body_big, 0},
    {"moves", body_moves, 0},
    {"refused", body_refused, 0},
    {"wakes", body_wakes, 0},
    {"two", body_two, 0},
    {"deep", body_deep, TH_SELF_INIT},
    {"scans", body_scans, 0},
    {"gatherv", body_gatherv, 0},
    {"scatterv", body_scatterv, 0},
    {"alltoallv", body_alltoallv, 0},
    {"vforge_gather", body_vforge_gather, 0},
    {"vforge_scatter", body_vforge_scatter, 0},
    {NULL, NULL, 0},
};

static Suite *coll_big_suite(void)
{
  Suite *s = suite_create("coll_big");
  TCase *tc = th_add_case(s, "big", 3, TH_SHM);
  /* Two ranks have no scratch: their large bcasts and reductions go through the slots, a
   * bcast in pieces the root writes ahead of its reader's copies. */
  th_add_job(tc, "big", 2, TH_SHM);
  for (int n = 4; n <= 9; n++)
    th_add_job(tc, "big", n, TH_SHM);
  for (int n = 3; n <= 9; n += 2)
    th_add_job(tc, "moves", n, TH_SHM);
  th_add_job(tc, "moves", 8, TH_SHM);
  /* Two ranks read the root's buffer in a scatter too; with no single copy (TH_SHM_COPY)
   * scatters go through the scratch. */
  th_add_job(tc, "moves", 2, TH_SHM);
  th_add_job(tc, "moves", 5, TH_SHM_COPY);
  /* Every size past 1 KiB by single copy: two ranks copy bcasts, gathers, allgathers and
   * alltoalls straight between their buffers; three and four keep the slots and scratch. */
  for (int n = 2; n <= 4; n++)
    th_add_job(tc, "moves", n, TH_SHM_RNDV);
  /* The same, rank 1 started too far below the launcher for its pid to be vouched for: no
   * rank writes into the other's memory. */
  th_add_job(tc, "deep", 2, TH_SHM_RNDV);
  th_add_job(tc, "refused", 3, TH_SHM);
  th_add_job(tc, "refused", 5, TH_SHM);
  th_add_job(tc, "wakes", 2, TH_SHM);
  th_add_job(tc, "wakes", 5, TH_SHM);
  th_add_job(tc, "wakes", 9, TH_SHM);
  /* Two ranks' reductions beyond a record: a reduce in pieces, an allreduce in halves of pieces. */
  th_add_job(tc, "two", 2, TH_SHM);
  /* Every size past 1 KiB by single copy: allreduces keep the slots, bcasts go straight
   * between the buffers, and up to 512 KiB a reduce's root reads the other's data. */
  th_add_job(tc, "two", 2, TH_SHM_RNDV);
  th_add_job(tc, "big", 2, TH_SHM_RNDV);
  /* scan, exscan and reduce_scatter_block in a record, in the slots and through the scratch. */
  for (int n = 2; n <= 9; n += 3)
    th_add_job(tc, "scans", n, TH_SHM);
  /* Every size past 1 KiB by single copy: a 2-rank exscan past a record goes straight
   * from rank 0's buffer. */
  th_add_job(tc, "scans", 2, TH_SHM_RNDV);
  /* The v-forms: gatherv (each sender's way from its size alone: record, slot, of two ranks
   * written into the root's buffer where single copy takes the size, message), scatterv
   * (the root's table in its record or its slot; blocks in the record, the slot, read
   * from its buffer or as messages) and alltoallv (every rank's table as scatterv's root's),
   * around every threshold and with counts that disagree: two ranks with and without
   * single copy from 1 KiB, more, and no single copy at all (TH_SHM_COPY). */
  const char *vforms[3] = {"gatherv", "scatterv", "alltoallv"};
  for (int i = 0; i < 3; i++) {
    th_add_job(tc, vforms[i], 2, TH_SHM);
    th_add_job(tc, vforms[i], 2, TH_SHM_RNDV);
    th_add_job(tc, vforms[i], 4, TH_SHM);
    th_add_job(tc, vforms[i], i < 2 ? 9 : 7, TH_SHM);
    th_add_job(tc, vforms[i], 5, TH_SHM_COPY);
  }
  /* A forged way in a gatherv record and a scatterv table: the job breaks, nobody waits. */
  th_add_job(tc, "vforge_gather", 3, TH_SHM);
  th_add_job(tc, "vforge_scatter", 3, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, coll_big_suite);
}
