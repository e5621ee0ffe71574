/* SPDX-License-Identifier: MIT */
/* The shared-memory collectives' tree (lib/coll/coll_shm_tree.c).
 *
 * How ranks are grouped: by the first of L3, NUMA node and package that makes two groups
 * of more than one rank, or by TUBO_COLL_TREE's consecutive ranks (the groups of real
 * machines' placements are checked by check_tuboinfo.sh against tests/tuboinfo/). Then
 * jobs of 5 to 9 ranks with the tree forced to groups of 2, 3 and 4: barrier, bcast from
 * every root, reduce to every root and allreduce of data that fits a flag record, checked
 * against what each rank computes alone; doubles bit for bit against the fixed tree and
 * against a flat communicator; and whether the tree really served each call. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll_shm.h"
#include "coll_ref.h"
#include "harness.h"
#include "world.h"

/* ---- Groups, from places given by hand ---- */

static tubo__locality_t tr_loc(int l3, int numa, int package)
{
  return (tubo__locality_t){-1, l3, numa, package, -1};
}

/* Checks the groups of P ranks at loc against want (group of each rank) and level. */
static void tr_expect_on(const char *what, int P, const tubo__locality_t *loc, uint64_t forced,
                         int oversubscribed, const int *want, int want_G, int want_level)
{
  int group_of[16], level = -1;
  int G = tubo__shmc_tree_groups(P, loc, forced, oversubscribed, group_of, &level);
  ck_assert_msg(G == want_G, "%s: expected %d groups, got %d", what, want_G, G);
  ck_assert_msg(level == want_level, "%s: expected level %d, got %d", what, want_level, level);
  for (int r = 0; r < P && G > 0; r++)
    ck_assert_msg(group_of[r] == want[r], "%s: expected rank %d in group %d, got %d", what, r,
                  want[r], group_of[r]);
}

/* The same with a processing unit per rank. */
static void tr_expect(const char *what, int P, const tubo__locality_t *loc, uint64_t forced,
                      const int *want, int want_G, int want_level)
{
  tr_expect_on(what, P, loc, forced, 0, want, want_G, want_level);
}

START_TEST(groups_by_place)
{
  tubo__locality_t loc[8];
  /* Two L3s of four ranks each, placed round-robin: groups by L3, numbered by first rank. */
  for (int r = 0; r < 8; r++)
    loc[r] = tr_loc(r % 2, 0, 0);
  static const int rr[8] = {0, 1, 0, 1, 0, 1, 0, 1};
  tr_expect("two L3s round-robin", 8, loc, 0, rr, 2, TUBO_COMM_TYPE_L3CACHE);
  /* The same ranks sharing cores (8 on 2 cores, as --bind-to core binds them on a VM with
   * an L3 per vCPU): flat, unless TUBO_COLL_TREE forces groups. */
  tr_expect_on("two L3s, oversubscribed", 8, loc, 0, 1, NULL, 0, 0);
  static const int by4[8] = {0, 0, 0, 0, 1, 1, 1, 1};
  tr_expect_on("TUBO_COLL_TREE=4, oversubscribed", 8, loc, 4, 1, by4, 2, 0);
  /* An L3 per pair of ranks, in blocks. */
  for (int r = 0; r < 8; r++)
    loc[r] = tr_loc(7 - r / 2, 0, 0);
  static const int pairs[8] = {0, 0, 1, 1, 2, 2, 3, 3};
  tr_expect("four L3s in blocks", 8, loc, 0, pairs, 4, TUBO_COMM_TYPE_L3CACHE);
  /* One L3 for all (one group: no tree by it), two NUMA nodes: by NUMA node. */
  for (int r = 0; r < 8; r++)
    loc[r] = tr_loc(0, r < 3 ? 1 : 0, 0);
  static const int numa[8] = {0, 0, 0, 1, 1, 1, 1, 1};
  tr_expect("one L3, two NUMA nodes", 8, loc, 0, numa, 2, TUBO_COMM_TYPE_NUMA);
  /* Unbound ranks (-1 everywhere) are each alone: no two groups of two, flat. */
  for (int r = 0; r < 8; r++)
    loc[r] = tr_loc(-1, -1, -1);
  tr_expect("unbound ranks", 8, loc, 0, NULL, 0, 0);
  /* Only one group of more than one rank at every level: flat. */
  for (int r = 0; r < 8; r++)
    loc[r] = tr_loc(r < 6 ? 0 : r, -1, r < 6 ? 0 : r);
  tr_expect("one big group and singles", 8, loc, 0, NULL, 0, 0);
  /* Packages only (each rank bound to two L3s, say). */
  for (int r = 0; r < 6; r++)
    loc[r] = tr_loc(-1, -1, r / 3);
  static const int pk[6] = {0, 0, 0, 1, 1, 1};
  tr_expect("two packages", 6, loc, 0, pk, 2, TUBO_COMM_TYPE_PACKAGE);
  /* Forced: consecutive ranks, whatever the places; 1 or a group of all: flat. */
  static const int by3[7] = {0, 0, 0, 1, 1, 1, 2};
  tr_expect("TUBO_COLL_TREE=3 at 7", 7, loc, 3, by3, 3, 0);
  tr_expect("TUBO_COLL_TREE=1", 7, loc, 1, NULL, 0, 0);
  tr_expect("TUBO_COLL_TREE=7 at 7", 7, loc, 7, NULL, 0, 0);
}
END_TEST

/* ---- Jobs with the tree forced ---- */

/* Whether the groups of g consecutive ranks among P are subtrees of the fixed reduction
 * tree (tubo.h) whose rest is the fixed tree over the groups, worked out by hand from the
 * trees: P = 5, ((01)2)(34): threes; P = 6, ((01)(23))(45): pairs and fours; P = 7,
 * ((01)(23))((45)6): pairs and fours; P = 8: pairs and fours; P = 9,
 * (((01)2)(34))((56)(78)): none. */
static int tr_fixed_expected(int P, int g)
{
  if (P == 5)
    return g == 3;
  return (P == 6 || P == 7 || P == 8) && (g == 2 || g == 4);
}

static tubo_comm_t *tr_dup(const char *setting)
{
  tubo_comm_t *c = NULL;
  TH_CHECK(setenv("TUBO_COLL_TREE", setting, 1) == 0, "expected setenv to work");
  TH_OK(tubo_comm_dup(th_world, &c));
  /* The engine is chosen, and reads the setting, at the communicator's first collective. */
  TH_OK(tubo_barrier(c));
  TH_CHECK(unsetenv("TUBO_COLL_TREE") == 0, "expected unsetenv to work");
  return c;
}

static shmc_tree_t *tr_tree(tubo_comm_t *c)
{
  TH_CHECK(tubo__coll_tree_groups(c, NULL) >= 0, "expected the shared-memory engine to serve");
  return &((shmc_t *)c->coll_state)->tree;
}

#define TR_N (SHMC_INLINE / sizeof(double)) /* doubles in a flag record */

/* Sums of doubles: the fixed tree's bits on every rank, tree or flat, allreduce or reduce
 * to every root, in place or not; whether the tree served them is as tr_fixed says. */
static void tr_doubles(tubo_comm_t *c, tubo_comm_t *flat, int g)
{
  int P = th_size, me = th_rank;
  shmc_tree_t *t = tr_tree(c);
  double *vals[16], want[TR_N], out[TR_N], ref[TR_N];
  for (int q = 0; q < P; q++) {
    vals[q] = th_malloc(TR_N * sizeof(double));
    for (size_t i = 0; i < TR_N; i++)
      vals[q][i] = cr_spread_val(q, i, (unsigned)g);
  }
  cr_tree_sum((const double *const *)vals, P, NULL, 0, TR_N, want);
  for (size_t cnt = 1; cnt <= TR_N; cnt += TR_N - 1) {
    uint64_t before = t->calls;
    TH_OK(tubo_allreduce(vals[me], out, cnt, TUBO_DOUBLE, TUBO_SUM, c));
    TH_EQ("tree allreduces of doubles (fixed tree expected)", t->calls - before,
          tr_fixed_expected(P, g));
    TH_OK(tubo_allreduce(vals[me], ref, cnt, TUBO_DOUBLE, TUBO_SUM, flat));
    for (size_t i = 0; i < cnt; i++) {
      TH_CHECK(memcmp(&out[i], &want[i], sizeof out[i]) == 0,
               "groups of %d, %zu doubles: element %zu is %.17g, the fixed tree gives %.17g", g,
               cnt, i, out[i], want[i]);
      TH_CHECK(memcmp(&out[i], &ref[i], sizeof out[i]) == 0,
               "groups of %d, %zu doubles: element %zu is %.17g, the flat engine gives %.17g", g,
               cnt, i, out[i], ref[i]);
    }
  }
  for (int root = 0; root < P; root++) {
    memcpy(out, vals[me], sizeof out);
    TH_OK(tubo_reduce(me == root ? TUBO_IN_PLACE : vals[me], me == root ? out : NULL, TR_N,
                      TUBO_DOUBLE, TUBO_SUM, root, c));
    if (me == root)
      TH_CHECK(memcmp(out, want, sizeof out) == 0,
               "groups of %d: reduce in place to %d gave other bits than the fixed tree", g, root);
  }
  for (int q = 0; q < P; q++)
    free(vals[q]);
}

/* Integers, exact in any order: the tree serves every predefined operation. */
static void tr_integers(tubo_comm_t *c, int g)
{
  int P = th_size, me = th_rank;
  shmc_tree_t *t = tr_tree(c);
  static const int ops[] = {CR_SUM, CR_MAX, CR_BXOR, CR_LAND};
  const tubo_op_t *handles[] = {TUBO_SUM, TUBO_MAX, TUBO_BXOR, TUBO_LAND};
  enum { N = SHMC_INLINE / sizeof(int) }; /* ints in a flag record */
  int in[N], out[N], want[N];
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
    int op = ops[k];
    for (size_t i = 0; i < N; i++) {
      cr_set(TUBO_INT, in, i, cr_value(op, me, P, i));
      cr_reduce_ranks(TUBO_INT, op, 0, P, P, i, want);
    }
    uint64_t before = t->calls;
    memcpy(out, in, sizeof out);
    TH_OK(tubo_allreduce(TUBO_IN_PLACE, out, N, TUBO_INT, handles[k], c));
    for (int root = 0; root < P; root++) {
      int r2[N];
      TH_OK(tubo_reduce(in, r2, N, TUBO_INT, handles[k], root, c));
      if (me == root)
        TH_CHECK(memcmp(r2, want, sizeof r2) == 0, "groups of %d: reduce %s to %d is wrong", g,
                 cr_op_names[op], root);
    }
    TH_EQ("tree reductions of ints (every one expected)", t->calls - before, 1 + P);
    for (size_t i = 0; i < N; i++)
      TH_CHECK(out[i] == want[i], "groups of %d: allreduce %s element %zu: expected %d, got %d", g,
               cr_op_names[op], i, want[i], out[i]);
  }
}

/* bcast from every root, in a flag record and (through the flat engine) beyond it, and
 * barriers between them: each rank's steps stay in line whichever engine moves them. */
static void tr_bcast_barrier(tubo_comm_t *c, int g)
{
  int P = th_size, me = th_rank;
  shmc_tree_t *t = tr_tree(c);
  for (int root = 0; root < P; root++) {
    enum { SMALL = SHMC_INLINE / sizeof(long long) }; /* a full flag record */
    long long small[SMALL];
    double big[100];
    for (size_t i = 0; i < SMALL; i++)
      small[i] = me == root ? (long long)root * 1000 + (long long)i : -1;
    for (size_t i = 0; i < 100; i++)
      big[i] = me == root ? root + i / 8.0 : -1;
    uint64_t before = t->calls;
    TH_OK(tubo_bcast(small, SMALL, TUBO_LLONG, root, c));
    TH_OK(tubo_barrier(c));
    TH_OK(tubo_bcast(big, 100, TUBO_DOUBLE, root, c));
    TH_OK(tubo_bcast(small, 1, TUBO_LLONG, root, c));
    TH_EQ("tree collectives among bcasts and a barrier (3 expected)", t->calls - before, 3);
    for (size_t i = 0; i < SMALL; i++)
      TH_CHECK(small[i] == (long long)root * 1000 + (long long)i,
               "groups of %d: bcast from %d: element %zu: expected %lld, got %lld", g, root, i,
               (long long)root * 1000 + (long long)i, small[i]);
    for (size_t i = 0; i < 100; i++)
      TH_CHECK(big[i] == root + i / 8.0, "groups of %d: bcast of 100 from %d: element %zu wrong", g,
               root, i);
  }
  /* A root that runs ahead of slow readers (several bcasts in a row, no barrier). */
  for (int k = 0; k < 20; k++) {
    int v = me == k % P ? k : -1;
    TH_OK(tubo_bcast(&v, 1, TUBO_INT, k % P, c));
    TH_EQ("bcast in a row", v, k);
  }
  TH_OK(tubo_barrier(c));
}

static void body_tree(void)
{
  int P = th_size;
  tubo_comm_t *flat = tr_dup("1");
  TH_EQ("groups with TUBO_COLL_TREE=1", tubo__coll_tree_groups(flat, NULL), 0);
  for (int g = 2; g <= 4; g++) {
    char gs[8];
    snprintf(gs, sizeof gs, "%d", g);
    tubo_comm_t *c = tr_dup(gs);
    int level = -1;
    TH_EQ("groups with TUBO_COLL_TREE=g", tubo__coll_tree_groups(c, &level), (P + g - 1) / g);
    TH_EQ("level of forced groups", level, 0);
    shmc_tree_t *t = tr_tree(c);
    TH_EQ("this rank's leader", t->members[0], th_rank / g * g);
    TH_EQ("whether the groups compute the fixed tree", t->fixed, tr_fixed_expected(P, g));
    tr_bcast_barrier(c, g);
    tr_doubles(c, flat, g);
    tr_integers(c, g);
    TH_OK(tubo_comm_free(&c));
  }
  TH_OK(tubo_comm_free(&flat));
}

static const th_body_t bodies[] = {
    {"tree", body_tree, 0},
    {NULL, NULL, 0},
};

static Suite *coll_tree_suite(void)
{
  Suite *s = suite_create("coll_tree");
  TCase *tc = th_tcase("groups");
  tcase_add_test(tc, groups_by_place);
  suite_add_tcase(s, tc);
  tc = th_add_case(s, "tree", 5, TH_SHM);
  for (int n = 6; n <= 9; n++)
    th_add_job(tc, "tree", n, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, coll_tree_suite);
}
