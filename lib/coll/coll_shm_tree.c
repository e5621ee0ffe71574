/* SPDX-License-Identifier: MIT */
/* The shared-memory collectives' tree (coll_shm.h): where a node's ranks sit in several
 * L3 caches, NUMA nodes or packages, the latency-bound collectives (barrier, and bcast,
 * reduce and allreduce of data that fits a flag record) read along a two-level tree
 * instead of every rank reading every rank's line: members write their lines, each
 * group's leader (its first rank) reads its members' and publishes in its own line, the
 * leaders read the leaders', and members read their leader's. Each line still has one
 * writer, steps are published with release order as in the flat engine, and a rank that
 * completes what others wait on wakes the sleepers with one system call.
 *
 * The groups come from where the transport says every rank runs (the same places on
 * every rank, no message): the first of L3, NUMA node and package that makes at least
 * two groups of more than one rank; with none, or with more ranks on the node than
 * processing units, the engine stays flat. TUBO_COLL_TREE=g forces groups of g
 * consecutive ranks (1: never a tree).
 *
 * Reductions must give the bits of the fixed reduction tree (coll.h). They use the tree
 * where each group is a subtree of it and the leaders' tree is the rest of it, which is
 * checked when the tree is made by building both (groups of consecutive ranks only: pairs
 * or fours at 6, 7 or 8 ranks qualify, threes at 5, none at 9, where one pair folds
 * first), or where the operation is exact (a predefined one on integers, where any order
 * gives the same bits); else they stay flat. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coll/coll_shm.h"
#include "op/op.h"
#include "settings.h"
#include "world.h"

/* ---- Groups ------------------------------------------------------------------------- */

/* The index of rank r at level type of loc (-1: under no object of it). */
static int tree_index(const tubo__locality_t *loc, int type)
{
  return type == TUBO_COMM_TYPE_L3CACHE ? loc->l3
         : type == TUBO_COMM_TYPE_NUMA  ? loc->numa
                                        : loc->package;
}

/* Groups by level type: ranks of one index together, each rank under none alone.
 * Returns the number of groups; *big counts those of more than one rank (size[] is
 * scratch for P counts). */
static int tree_by_level(int P, const tubo__locality_t *loc, int type, int *group_of, int *size,
                         int *big)
{
  int G = 0;
  *big = 0;
  for (int r = 0; r < P; r++) {
    int x = tree_index(&loc[r], type), q = 0;
    while (q < r && (x < 0 || tree_index(&loc[q], type) != x))
      q++;
    group_of[r] = q < r ? group_of[q] : G++;
    size[group_of[r]] = q < r ? size[group_of[r]] + 1 : 1;
    *big += size[group_of[r]] == 2; /* a group becomes big with its second rank */
  }
  return G;
}

int tubo__shmc_tree_groups(int P, const tubo__locality_t *loc, uint64_t forced, int oversubscribed,
                           int *group_of, int *level)
{
  *level = 0;
  if (forced == 1 || P < 3)
    return 0;
  /* Ranks that share cores pay a switch of process for each step a rank waits in, and the
   * tree has two where the flat engine has one: bound by tuborun --bind-to core on a VM
   * that shows an L3 per vCPU, 4 and 16 ranks on 2 cores took 1.4-2x as long per barrier
   * along the tree (doc/benchmarks.md, "What decides the two modes"). */
  if (forced == 0 && oversubscribed)
    return 0;
  if (forced >= 2) {
    if (forced >= (uint64_t)P)
      return 0;
    for (int r = 0; r < P; r++)
      group_of[r] = (int)((uint64_t)r / forced);
    return (int)(((uint64_t)P + forced - 1) / forced);
  }
  static const int levels[] = {TUBO_COMM_TYPE_L3CACHE, TUBO_COMM_TYPE_NUMA, TUBO_COMM_TYPE_PACKAGE};
  int *size = malloc((size_t)P * sizeof *size), G = 0;
  for (size_t i = 0; size != NULL && G == 0 && i < sizeof levels / sizeof levels[0]; i++) {
    int big;
    G = tree_by_level(P, loc, levels[i], group_of, size, &big);
    *level = levels[i];
    if (big < 2)
      G = *level = 0;
  }
  free(size); /* out of memory: flat */
  return G;
}

/* ---- Whether the groups compute the fixed tree --------------------------------------- */

/* Nodes of reduction trees over ranks: 0 .. P-1 are the ranks, later ones combine two. */
typedef struct tree_sym {
  int *left, *right; /* of node i >= P */
  int n;             /* nodes so far */
} tree_sym_t;

/* The fixed tree (tubo__shmc_tree's order) over parts[0..n): returns its root node. */
static int tree_sym_fixed(tree_sym_t *t, int *parts, int n)
{
  int pof2 = tubo__coll_pof2(n), rem = n - pof2;
  for (int v = 0; v < rem; v++) {
    t->left[t->n] = parts[2 * v], t->right[t->n] = parts[2 * v + 1];
    parts[v] = t->n++;
  }
  for (int v = rem; v < pof2; v++)
    parts[v] = parts[v + rem];
  for (int m = 1; m < pof2; m *= 2)
    for (int v = 0; v < pof2; v += 2 * m) {
      t->left[t->n] = parts[v], t->right[t->n] = parts[v + m];
      parts[v] = t->n++;
    }
  return parts[0];
}

static int tree_sym_equal(const tree_sym_t *t, int P, int a, int b)
{
  if (a < P || b < P)
    return a == b;
  return tree_sym_equal(t, P, t->left[a], t->left[b]) &&
         tree_sym_equal(t, P, t->right[a], t->right[b]);
}

/* Whether combining each group along the fixed tree over its ranks (in rank order), then
 * the groups' results along the fixed tree over the groups, is the fixed tree over all P
 * ranks: the same operands in the same order, so the same bits. */
static int tree_is_fixed(int P, const int *group_of, int G)
{
  for (int r = 1; r < P; r++)
    if (group_of[r] < group_of[r - 1])
      return 0; /* a group of ranks that are not consecutive is no subtree */
  tree_sym_t t = {malloc(3 * (size_t)P * sizeof(int)), malloc(3 * (size_t)P * sizeof(int)), P};
  int *parts = malloc(2 * (size_t)P * sizeof(int)), ok = 0;
  if (t.left != NULL && t.right != NULL && parts != NULL) {
    for (int r = 0; r < P; r++)
      parts[r] = r;
    int whole = tree_sym_fixed(&t, parts, P);
    int *roots = parts + P;
    for (int g = 0, r = 0; g < G; g++) {
      int lo = r;
      while (r < P && group_of[r] == g)
        parts[r - lo] = r, r++;
      roots[g] = tree_sym_fixed(&t, parts, r - lo);
    }
    memmove(parts, roots, (size_t)G * sizeof(int));
    ok = tree_sym_equal(&t, P, whole, tree_sym_fixed(&t, parts, G));
  }
  free(t.left);
  free(t.right);
  free(parts);
  return ok;
}

/* ---- Setup -------------------------------------------------------------------------- */

int tubo__shmc_tree_setup(shmc_t *s)
{
  shmc_tree_t *t = &s->tree;
  memset(t, 0, sizeof *t);
  uint64_t forced = tubo__setting_u64("TUBO_COLL_TREE", 0, 0, INT32_MAX);
  tubo__locality_t *loc = malloc((size_t)s->P * sizeof *loc);
  int *group_of = malloc((size_t)s->P * sizeof *group_of);
  if (loc == NULL || group_of == NULL) {
    free(loc);
    free(group_of);
    return TUBO_ENOMEM;
  }
  tubo__world_t *w = s->comm->w;
  for (int r = 0; r < s->P; r++)
    loc[r] = w->peers[tubo__comm_world_rank(s->comm, r)].loc;
  int G = tubo__shmc_tree_groups(s->P, loc, forced, w->oversubscribed, group_of, &t->level);
  int rc = 0;
  if (G > 0) {
    t->leaders = malloc((size_t)G * sizeof *t->leaders);
    t->members = malloc((size_t)s->P * sizeof *t->members);
    if (t->leaders == NULL || t->members == NULL) {
      tubo__shmc_tree_free(s);
      rc = TUBO_ENOMEM;
    } else {
      for (int r = 0, g = 0; r < s->P; r++) {
        if (group_of[r] == g)
          t->leaders[g++] = r; /* groups are numbered by their first rank */
        if (group_of[r] == group_of[s->me])
          t->members[t->nmembers++] = r;
      }
      t->fixed = tree_is_fixed(s->P, group_of, G);
      t->G = G;
    }
  }
  free(loc);
  free(group_of);
  return rc;
}

void tubo__shmc_tree_free(shmc_t *s)
{
  free(s->tree.leaders);
  free(s->tree.members);
  memset(&s->tree, 0, sizeof s->tree);
}

int tubo__coll_tree_groups(const tubo_comm_t *comm, int *level)
{
  if (comm->coll != &tubo__coll_shm || comm->coll_state == NULL)
    return -1;
  const shmc_t *s = comm->coll_state;
  if (level != NULL)
    *level = s->tree.level;
  return s->tree.G;
}

/* ---- The collectives ---------------------------------------------------------------- */

static inline int tree_leads(const shmc_t *s)
{
  return s->tree.members[0] == s->me;
}

/* barrier: members arrive at k1; a leader, once its members have, arrives at k1 for its
 * group; once every leader has, the leaders publish k2, which their members wait for. */
int tubo__shmc_tree_barrier(shmc_t *s)
{
  const shmc_tree_t *t = &s->tree;
  uint32_t k1 = s->step + 1, k2 = k1 + 1;
  int rc;
  s->floor = k1;
  s->tree.calls++;
  if (!tree_leads(s)) {
    tubo__shmc_publish_set(s, k1, t->members + 1, t->nmembers - 1);
    if ((rc = tubo__shmc_wait(s, t->members[0], k2)) != 0)
      return rc;
    tubo__shmc_publish(s, k2, SHMC_WAKE_IF_LAST);
    return 0;
  }
  if ((rc = tubo__shmc_wait_set(s, t->members + 1, t->nmembers - 1, k1)) != 0)
    return rc;
  tubo__shmc_publish_set(s, k1, t->leaders, t->G);
  if ((rc = tubo__shmc_wait_set(s, t->leaders, t->G, k1)) != 0)
    return rc;
  /* The last leader to publish wakes every member asleep (and, where the members are all
   * through already, whoever waits for every rank). */
  tubo__shmc_publish_set(s, k2, t->leaders, t->G);
  return 0;
}

static int tree_in_group(const shmc_t *s, int r)
{
  for (int i = 0; i < s->tree.nmembers; i++)
    if (s->tree.members[i] == r)
      return 1;
  return 0;
}

/* bcast of up to SHMC_INLINE bytes in one step: the root writes its line; the other
 * leaders copy it into theirs; members read their leader's line, or the root's where it
 * is in their group. */
int tubo__shmc_tree_bcast(shmc_t *s, const tubo__coll_args_t *a)
{
  const shmc_tree_t *t = &s->tree;
  size_t len = a->count * a->t->size;
  int root = a->root, rc;
  uint32_t k = s->step + 1;
  s->floor = k;
  s->tree.calls++;
  if (s->me == root) {
    if ((rc = tubo__shmc_guard_line(s, k)) != 0)
      return rc;
    tubo__coll_copy(shmc_line(s, root, k)->data, a->rbuf, len);
    tubo__shmc_publish(s, k, SHMC_WAKE_ALWAYS);
    return 0;
  }
  int src = tree_in_group(s, root) ? root : t->members[0];
  if (tree_leads(s) && src != root) {
    if ((rc = tubo__shmc_wait(s, root, k)) != 0 || (rc = tubo__shmc_guard_line(s, k)) != 0)
      return rc;
    tubo__coll_copy(shmc_line(s, s->me, k)->data, shmc_line(s, root, k)->data, len);
    tubo__coll_copy(a->rbuf, shmc_line(s, s->me, k)->data, len);
    /* Its members wait for it: the last leader wakes them all. */
    tubo__shmc_publish_set(s, k, t->leaders, t->G);
    return 0;
  }
  if ((rc = tubo__shmc_wait(s, src, k)) != 0)
    return rc;
  tubo__coll_copy(a->rbuf, shmc_line(s, src, k)->data, len);
  /* A leader that read the root directly still counts among the leaders whose last one
   * wakes the members of the others. */
  if (tree_leads(s))
    tubo__shmc_publish_set(s, k, t->leaders, t->G);
  else
    tubo__shmc_publish(s, k, SHMC_WAKE_IF_LAST);
  return 0;
}

/* Whether every order of combining gives the same bits: a predefined operation on
 * integers (wrapping sums and products, minima, maxima, logical and bitwise ones). */
static int tree_exact(const tubo__coll_args_t *a)
{
  switch (a->t->type) {
  case TUBO_FLOAT:
  case TUBO_DOUBLE:
  case TUBO_LDOUBLE:
  case TUBO_CFLOAT:
  case TUBO_CDOUBLE:
    return 0;
  default:
    return a->op->fn == NULL;
  }
}

/* The fixed tree over n lines of step k, of ranks set[0..n), into out (len bytes); mine,
 * where not NULL, holds this rank's (shmc_data_of). */
static void tree_combine(shmc_t *s, const tubo__coll_args_t *a, const int *set, int n, uint32_t k,
                         size_t len, const void *mine, void *out)
{
  for (int i = 0; i < n; i++) {
    s->parts[i] = shmc_tmp(s, i);
    memcpy(s->parts[i], shmc_data_of(s, set[i], k, mine), len);
  }
  tubo__coll_copy(out, tubo__shmc_tree(a, s->parts, n, a->count), len);
}

/* reduce (all 0) or allreduce (all 1) of up to SHMC_INLINE bytes: every rank writes its
 * line at k1; each leader combines its group's lines and publishes the result in its own
 * line at k1; the root, or every leader, combines the leaders' lines. In an allreduce the
 * leaders then publish the result at k2 for their members. */
int tubo__shmc_tree_reduce(shmc_t *s, const tubo__coll_args_t *a, int all)
{
  const shmc_tree_t *t = &s->tree;
  if (!t->fixed && !tree_exact(a))
    return TUBO__COLL_DECLINE;
  size_t len = a->count * a->t->size;
  const void *in = a->in_place ? a->rbuf : a->sbuf;
  uint32_t k1 = s->step + 1, k2 = k1 + 1;
  unsigned char part[SHMC_INLINE];
  int rc, leads = tree_leads(s), root = all ? -1 : a->root;
  s->floor = k1;
  s->tree.calls++;
  if ((rc = tubo__shmc_guard_line(s, k1)) != 0)
    return rc;
  /* A leader's own value goes in its line too: the group's tree reads it from there. */
  tubo__coll_copy(shmc_line(s, s->me, k1)->data, in, len);
  if (!leads) {
    tubo__shmc_publish_set(s, k1, t->members + 1, t->nmembers - 1);
  } else {
    if ((rc = tubo__shmc_wait_set(s, t->members + 1, t->nmembers - 1, k1)) != 0)
      return rc;
    tree_combine(s, a, t->members, t->nmembers, k1, len, in, part);
    tubo__coll_copy(shmc_line(s, s->me, k1)->data, part, len);
    tubo__shmc_publish_set(s, k1, t->leaders, t->G);
  }
  if (!all) {
    if (s->me != root)
      return 0;
    if ((rc = tubo__shmc_wait_set(s, t->leaders, t->G, k1)) != 0)
      return rc;
    tree_combine(s, a, t->leaders, t->G, k1, len, leads ? part : NULL, a->rbuf);
    return 0;
  }
  if (!leads) {
    if ((rc = tubo__shmc_wait(s, t->members[0], k2)) != 0)
      return rc;
    tubo__coll_copy(a->rbuf, shmc_line(s, t->members[0], k2)->data, len);
    tubo__shmc_publish(s, k2, SHMC_WAKE_IF_LAST);
    return 0;
  }
  if ((rc = tubo__shmc_wait_set(s, t->leaders, t->G, k1)) != 0)
    return rc;
  tree_combine(s, a, t->leaders, t->G, k1, len, part, part);
  if ((rc = tubo__shmc_guard_line(s, k2)) != 0)
    return rc;
  tubo__coll_copy(shmc_line(s, s->me, k2)->data, part, len);
  tubo__coll_copy(a->rbuf, part, len);
  tubo__shmc_publish_set(s, k2, t->leaders, t->G);
  return 0;
}
