/* SPDX-License-Identifier: MIT */
/* Point-to-point reductions: reduce, allreduce, reduce_scatter_block, scan, exscan.
 *
 * Every reduction combines the ranks' values in the communicator's fixed order (tubo.h):
 * the canonical tree over the ranks (parts 2k and 2k + 1 fold first while the count is
 * not a power of two, then neighbouring parts pair up level by level, the lower part on
 * the left), or, for a commutative operation on a communicator that spans nodes, that
 * tree within each node and then over the nodes. Each algorithm computes exactly that
 * tree, and a rank either receives a result computed once or computes the same
 * expression as every other rank, operand for operand: every rank gets the same bits. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coll/coll.h"
#include "coll/coll_p2p.h"

/* Tag phases: each phase of the tree uses 32 of its own; the rest follow. */
#define STEP_PHASE(ph) (32 * (ph))
#define STEP_TO_ROOT   100
#define STEP_BCAST     101
#define STEP_UNFOLD    102
#define STEP_RS        110 /* .. 139: reduce-scatter levels */
#define STEP_AG        140 /* .. 169: allgather levels */
#define STEP_SCAN      170 /* .. 199 */

/* Above this many bytes (and with at least a power of two of elements), allreduce
 * scatters the reduction (each rank reduces a slice) and gathers the slices. */
#define ALLREDUCE_SPLIT_BYTES (32u << 10)

static inline size_t bytes_of(const tubo__coll_req_t *c, size_t count)
{
  return count * c->a.t->size;
}

static inline const void *input_of(const tubo__coll_req_t *c)
{
  return c->a.in_place ? c->a.rbuf : c->a.sbuf;
}

/* Whether comm's tree has two levels: a commutative operation on ranks of several nodes
 * (but not each rank a node of its own, where both trees are one). */
static int tree_two_level(const tubo__coll_req_t *c)
{
  const tubo__comm_nodes_t *nd = &c->comm->nodes;
  return c->a.op->commutative && nd->n > 1 && nd->n < c->comm->size;
}

/* The parts of a phase of the tree: 0 the ranks of this rank's node, 1 the nodes'
 * leaders, 2 every rank (the one-level tree). Sets *n and *v (this rank's part, or -1). */
static const int *tree_parts(const tubo__coll_req_t *c, int phase, int *n, int *v)
{
  const tubo_comm_t *m = c->comm;
  const tubo__comm_nodes_t *nd = &m->nodes;
  switch (phase) {
  case 0:
    *n = nd->nlocal;
    *v = nd->local_rank;
    return nd->local;
  case 1:
    *n = nd->n;
    *v = nd->local_rank == 0 ? nd->my : -1;
    return nd->leader;
  default:
    *n = m->size;
    *v = m->rank;
    return NULL;
  }
}

/* The comm rank of part i of a phase. */
static int tree_rank(const tubo__coll_req_t *c, int i)
{
  int n, v;
  const int *parts = tree_parts(c, c->phase, &n, &v);
  return parts ? parts[i] : i;
}

/* tmp = tmp op tmp2, tmp the lower part: computed into tmp2 (the kernel writes its second
 * argument), then the two buffers trade places. */
static void combine_swap(tubo__coll_req_t *c)
{
  tubo__coll_combine(&c->a, c->tmp, c->tmp2, c->a.count);
  unsigned char *t = c->tmp;
  c->tmp = c->tmp2;
  c->tmp2 = t;
}

/* Sub-step: reduces the ranks' values (tmp holds this rank's a.count elements, tmp2 is
 * scratch of the same size) along the fixed tree into tmp at comm rank 0. */
static int tree_reduce(tubo__coll_req_t *c)
{
  size_t len = bytes_of(c, c->a.count);
  CO_SUB_BEGIN(c);
  for (c->phase = tree_two_level(c) ? 0 : 2; c->phase <= 2; c->phase += c->phase == 1 ? 2 : 1) {
    tree_parts(c, c->phase, &c->n, &c->vrank);
    if (c->vrank < 0 || c->n == 1)
      continue;
    c->pof2 = tubo__coll_pof2(c->n);
    c->rem = c->n - c->pof2;
    if (c->vrank < 2 * c->rem) {
      if (c->vrank % 2)
        tubo__coll_send(c, c->tmp, len, tree_rank(c, c->vrank - 1), STEP_PHASE(c->phase));
      else
        tubo__coll_recv(c, c->tmp2, len, tree_rank(c, c->vrank + 1), STEP_PHASE(c->phase));
      CO_SUB_WAIT(c);
      if (c->vrank % 2)
        break; /* folded into its lower neighbour: done */
      combine_swap(c);
    }
    c->vrank = tubo__coll_virt(c->vrank, c->rem);
    for (c->mask = 1, c->j = 1; c->mask < c->pof2; c->mask <<= 1, c->j++) {
      if (c->vrank & c->mask) {
        c->peer = tree_rank(c, tubo__coll_real(c->vrank - c->mask, c->rem));
        tubo__coll_send(c, c->tmp, len, c->peer, STEP_PHASE(c->phase) + c->j);
        CO_SUB_WAIT(c);
        c->vrank = -1;
        break;
      }
      c->peer = tree_rank(c, tubo__coll_real(c->vrank + c->mask, c->rem));
      tubo__coll_recv(c, c->tmp2, len, c->peer, STEP_PHASE(c->phase) + c->j);
      CO_SUB_WAIT(c);
      combine_swap(c);
    }
    if (c->vrank < 0)
      break;
  }
  CO_SUB_END(c);
}

/* Takes scratch for a tree reduction: tmp with this rank's input, tmp2 beside it. */
static int tree_setup(tubo__coll_req_t *c)
{
  size_t len = bytes_of(c, c->a.count);
  if (tubo__coll_scratch(c, &c->tmp, len) != 0 || tubo__coll_scratch(c, &c->tmp2, len) != 0)
    return -1;
  tubo__coll_copy(c->tmp, input_of(c), len);
  return 0;
}

void tubo__p2p_reduce(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  size_t len = bytes_of(c, c->a.count);
  CO_BEGIN(c);
  if (tree_setup(c) != 0)
    return;
  CO_AWAIT(c, tree_reduce(c));
  if (c->a.root == 0) {
    if (m->rank == 0)
      tubo__coll_copy(c->a.rbuf, c->tmp, len);
  } else if (m->rank == 0) {
    tubo__coll_send(c, c->tmp, len, c->a.root, STEP_TO_ROOT);
  } else if (m->rank == c->a.root) {
    tubo__coll_recv(c, c->a.rbuf, len, 0, STEP_TO_ROOT);
  }
  CO_WAIT(c);
  CO_END(c);
}

/* Allreduce by recursive doubling: every rank computes the whole tree itself, each level
 * combining its part and its partner's in the same order as the partner does. */
static void allreduce_doubling(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  size_t len = bytes_of(c, c->a.count);
  CO_BEGIN(c);
  if (tree_setup(c) != 0)
    return;
  c->pof2 = tubo__coll_pof2(m->size);
  c->rem = m->size - c->pof2;
  c->vrank = m->rank;
  if (m->rank < 2 * c->rem) {
    if (m->rank % 2)
      tubo__coll_send(c, c->tmp, len, m->rank - 1, STEP_PHASE(2));
    else
      tubo__coll_recv(c, c->tmp2, len, m->rank + 1, STEP_PHASE(2));
    CO_WAIT(c);
    if (m->rank % 2) {
      /* Folded: the result comes back from the lower neighbour. */
      tubo__coll_recv(c, c->a.rbuf, len, m->rank - 1, STEP_UNFOLD);
      CO_WAIT(c);
      c->vrank = -1;
    } else {
      combine_swap(c);
    }
  }
  if (c->vrank >= 0) {
    c->vrank = tubo__coll_virt(m->rank, c->rem);
    for (c->mask = 1, c->j = 1; c->mask < c->pof2; c->mask <<= 1, c->j++) {
      c->peer = tubo__coll_real(c->vrank ^ c->mask, c->rem);
      tubo__coll_send(c, c->tmp, len, c->peer, STEP_PHASE(2) + c->j);
      tubo__coll_recv(c, c->tmp2, len, c->peer, STEP_PHASE(2) + c->j);
      CO_WAIT(c);
      if (c->vrank & c->mask) /* the partner holds the lower part */
        tubo__coll_combine(&c->a, c->tmp2, c->tmp, c->a.count);
      else
        combine_swap(c);
    }
    tubo__coll_copy(c->a.rbuf, c->tmp, len);
    if (m->rank < 2 * c->rem)
      tubo__coll_send(c, c->a.rbuf, len, m->rank + 1, STEP_UNFOLD);
    CO_WAIT(c);
  }
  CO_END(c);
}

/* Allreduce of large vectors: a reduce-scatter by recursive halving, the nearest partners
 * first so that every element is combined along the same tree as by doubling (slice by
 * slice), then an allgather of the slices by recursive doubling. The result is built in
 * rbuf; tmp receives the partner's half. */
static void allreduce_split(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  size_t es = c->a.t->size, len = bytes_of(c, c->a.count);
  unsigned char *r = c->a.rbuf;
  CO_BEGIN(c);
  if (!c->a.in_place)
    tubo__coll_copy(r, c->a.sbuf, len);
  if (tubo__coll_scratch(c, &c->tmp, len) != 0)
    return;
  c->pof2 = tubo__coll_pof2(m->size);
  c->rem = m->size - c->pof2;
  c->vrank = m->rank;
  if (m->rank < 2 * c->rem) {
    if (m->rank % 2)
      tubo__coll_send(c, r, len, m->rank - 1, STEP_PHASE(2));
    else
      tubo__coll_recv(c, c->tmp, len, m->rank + 1, STEP_PHASE(2));
    CO_WAIT(c);
    if (m->rank % 2) {
      tubo__coll_recv(c, r, len, m->rank - 1, STEP_UNFOLD);
      CO_WAIT(c);
      c->vrank = -1;
    } else {
      /* This rank's part is the lower: r = r op tmp, computed into tmp and copied back. */
      tubo__coll_combine(&c->a, r, c->tmp, c->a.count);
      tubo__coll_copy(r, c->tmp, len);
    }
  }
  if (c->vrank >= 0) {
    c->vrank = tubo__coll_virt(m->rank, c->rem);
    c->lo[0] = 0;
    c->hi[0] = c->a.count;
    for (c->mask = 1, c->k = 0; c->mask < c->pof2; c->mask <<= 1, c->k++) {
      {
        size_t lo = c->lo[c->k], hi = c->hi[c->k], mid = lo + (hi - lo) / 2;
        int upper = (c->vrank & c->mask) != 0;
        c->peer = tubo__coll_real(c->vrank ^ c->mask, c->rem);
        /* Keep one half, send the other; the partner sends this rank the kept half. */
        c->lo[c->k + 1] = upper ? mid : lo;
        c->hi[c->k + 1] = upper ? hi : mid;
        if (upper)
          tubo__coll_send(c, r + lo * es, (mid - lo) * es, c->peer, STEP_RS + c->k);
        else
          tubo__coll_send(c, r + mid * es, (hi - mid) * es, c->peer, STEP_RS + c->k);
        tubo__coll_recv(c, c->tmp, (c->hi[c->k + 1] - c->lo[c->k + 1]) * es, c->peer,
                        STEP_RS + c->k);
      }
      CO_WAIT(c);
      {
        size_t lo = c->lo[c->k + 1], n = c->hi[c->k + 1] - lo;
        if (c->vrank & c->mask) {
          tubo__coll_combine(&c->a, c->tmp, r + lo * es, n); /* the partner's is lower */
        } else {
          tubo__coll_combine(&c->a, r + lo * es, c->tmp, n);
          tubo__coll_copy(r + lo * es, c->tmp, n * es);
        }
      }
    }
    /* Allgather: undo the halvings, the farthest first. */
    for (c->mask = c->pof2 >> 1, c->k--; c->mask >= 1; c->mask >>= 1, c->k--) {
      {
        size_t mine_lo = c->lo[c->k + 1], mine_hi = c->hi[c->k + 1];
        /* The partner holds the other half of [lo[k], hi[k]). */
        int upper = (c->vrank & c->mask) != 0;
        size_t o_lo = upper ? c->lo[c->k] : mine_hi, o_hi = upper ? mine_lo : c->hi[c->k];
        c->peer = tubo__coll_real(c->vrank ^ c->mask, c->rem);
        tubo__coll_send(c, r + mine_lo * es, (mine_hi - mine_lo) * es, c->peer, STEP_AG + c->k);
        tubo__coll_recv(c, r + o_lo * es, (o_hi - o_lo) * es, c->peer, STEP_AG + c->k);
      }
      CO_WAIT(c);
    }
    if (m->rank < 2 * c->rem) {
      tubo__coll_send(c, r, len, m->rank + 1, STEP_UNFOLD);
      CO_WAIT(c);
    }
  }
  CO_END(c);
}

/* Allreduce over nodes: the two-level tree to rank 0, then a broadcast. */
static void allreduce_tree(tubo__coll_req_t *c)
{
  size_t len = bytes_of(c, c->a.count);
  CO_BEGIN(c);
  if (tree_setup(c) != 0)
    return;
  CO_AWAIT(c, tree_reduce(c));
  if (c->comm->rank == 0)
    tubo__coll_copy(c->a.rbuf, c->tmp, len);
  CO_AWAIT(c, tubo__p2p_bcast_sub(c, c->a.rbuf, len, 0, STEP_BCAST));
  CO_END(c);
}

void tubo__p2p_allreduce(tubo__coll_req_t *c)
{
  /* Chosen at the first step, the same on every rank (the arguments are). */
  tubo_comm_t *m = c->comm;
  if (tree_two_level(c))
    c->step = allreduce_tree;
  else if (bytes_of(c, c->a.count) >= ALLREDUCE_SPLIT_BYTES &&
           c->a.count >= (size_t)tubo__coll_pof2(m->size))
    c->step = allreduce_split;
  else
    c->step = allreduce_doubling;
  c->step(c);
}

/* reduce_scatter_block: the allreduce of the whole vector into scratch, whose block of
 * this rank the engine copies out at the end (the same bits as an allreduce). */
void tubo__p2p_reduce_scatter_block(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  size_t blen = bytes_of(c, c->a.count), all = blen * (size_t)m->size;
  if (tubo__coll_scratch(c, &c->keep, all) != 0)
    return;
  c->keep_to = c->a.rbuf;
  c->keep_off = blen * (size_t)m->rank;
  c->keep_len = blen;
  c->a.sbuf = input_of(c);
  c->a.in_place = 0;
  c->a.rbuf = c->keep;
  c->a.count *= (size_t)m->size;
  c->a.kind = TUBO__C_ALLREDUCE;
  tubo__p2p_allreduce(c);
}

/* Inclusive and exclusive scans by recursive doubling over distance: at distance d a rank
 * sends its running value (ranks r - 2d + 1 .. r) to r + d and puts the one of r - d (the
 * lower ranks) on its left. */
void tubo__p2p_scan(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  size_t len = bytes_of(c, c->a.count);
  int ex = c->a.kind == TUBO__C_EXSCAN;
  CO_BEGIN(c);
  if (tubo__coll_scratch(c, &c->tmp, len) != 0 || tubo__coll_scratch(c, &c->tmp2, len) != 0)
    return;
  tubo__coll_copy(c->tmp, input_of(c), len); /* the running inclusive value */
  c->k = 0;                                  /* exscan: whether rbuf holds a value yet */
  for (c->mask = 1, c->j = 0; c->mask < m->size; c->mask <<= 1, c->j++) {
    if (m->rank + c->mask < m->size)
      tubo__coll_send(c, c->tmp, len, m->rank + c->mask, STEP_SCAN + c->j);
    if (m->rank - c->mask >= 0)
      tubo__coll_recv(c, c->tmp2, len, m->rank - c->mask, STEP_SCAN + c->j);
    CO_WAIT(c);
    if (m->rank - c->mask >= 0) {
      if (ex) {
        if (c->k)
          tubo__coll_combine(&c->a, c->tmp2, c->a.rbuf, c->a.count);
        else
          tubo__coll_copy(c->a.rbuf, c->tmp2, len);
        c->k = 1;
      }
      tubo__coll_combine(&c->a, c->tmp2, c->tmp, c->a.count);
    }
  }
  if (!ex)
    tubo__coll_copy(c->a.rbuf, c->tmp, len);
  CO_END(c);
}
