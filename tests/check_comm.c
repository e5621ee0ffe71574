/* SPDX-License-Identifier: MIT */
/* Communicators: tubo_comm_dup, tubo_comm_split, tubo_comm_split_type and tubo_comm_free.
 *
 * Each body checks a communicator's members and order against what this rank computes
 * alone (keys are a function of the rank every rank knows; hardware levels are what hwloc
 * says each rank runs on, exchanged over the node's communicator), that messages on two
 * communicators never match each other, and that everything of tubo works on a
 * communicator made here. */
#include "config.h"

#include <hwloc.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* A key each rank passes, the same function on every rank: shuffles the order, with ties. */
static int key_of(int r)
{
  return (r * 7 + 3) % 4;
}

/* The world ranks of comm's ranks, in order: each rank's world rank, allgathered. */
static int *world_ranks_of(tubo_comm_t *comm, int *n)
{
  TH_OK(tubo_comm_size(comm, n));
  int *w = th_malloc((size_t)*n * sizeof *w);
  TH_OK(tubo_allgather(&th_rank, w, 1, TUBO_INT, comm));
  return w;
}

static int key_neg(int r)
{
  return -r;
}

static int key_zero(int r)
{
  (void)r;
  return 0;
}

/* Checks that comm holds exactly the world ranks for which in(r) holds, ordered by
 * key(r), then by world rank. */
static void check_members(tubo_comm_t *comm, int (*in)(int r), int (*key)(int r), const char *what)
{
  int n = 0, want[64], nw = 0;
  int *got = world_ranks_of(comm, &n);
  for (int r = 0; r < th_size; r++)
    if (in(r))
      want[nw++] = r;
  /* Insertion sort by (key, rank): the order the split promises. */
  for (int i = 1; i < nw; i++)
    for (int j = i; j > 0; j--) {
      int a = want[j - 1], b = want[j];
      int ka = key(a), kb = key(b);
      if (ka < kb || (ka == kb && a < b))
        break;
      want[j - 1] = b;
      want[j] = a;
    }
  TH_EQ(what, n, nw);
  for (int i = 0; i < n; i++)
    TH_CHECK(got[i] == want[i], "%s: rank %d is world rank %d, expected %d", what, i, got[i],
             want[i]);
  int me = -1;
  TH_OK(tubo_comm_rank(comm, &me));
  TH_CHECK(me >= 0 && me < n && got[me] == th_rank,
           "%s: this rank's rank %d names world rank %d, expected %d", what, me,
           me >= 0 && me < n ? got[me] : -1, th_rank);
  free(got);
}

static int color_now;
static int same_color(int r)
{
  return r % 3 == color_now;
}

static int all_ranks(int r)
{
  (void)r;
  return 1;
}

/* A message on each of two communicators between the same ranks, with the same tag: each
 * receive gets its own communicator's message, also with wildcards. */
static void check_isolation(tubo_comm_t *a, tubo_comm_t *b, const char *what)
{
  int ra, rb, na, nb;
  TH_OK(tubo_comm_rank(a, &ra));
  TH_OK(tubo_comm_rank(b, &rb));
  TH_OK(tubo_comm_size(a, &na));
  TH_OK(tubo_comm_size(b, &nb));
  /* A receive posted on a with wildcards before anything is sent on b. */
  tubo_request_t *r = NULL;
  int got_a = -1, got_b = -1, flag = -1;
  TH_OK(tubo_irecv(&got_a, sizeof got_a, TUBO_ANY_SOURCE, TUBO_ANY_TAG, a, &r));
  int vb = 1000 + rb, va = 2000 + ra;
  TH_OK(tubo_send(&vb, sizeof vb, (rb + 1) % nb, 5, b));
  TH_OK(tubo_recv(&got_b, sizeof got_b, (rb - 1 + nb) % nb, TUBO_ANY_TAG, b, TUBO_STATUS_IGNORE));
  TH_EQ(what, got_b, 1000 + (rb - 1 + nb) % nb);
  /* Every rank of a has sent on b and tests below before any sends on a. */
  TH_OK(tubo_barrier(a));
  TH_OK(tubo_test(&r, &flag, TUBO_STATUS_IGNORE));
  TH_CHECK(flag == 0,
           "%s: a receive (ANY, ANY) on one communicator completed by a message of "
           "another (expected it still pending)",
           what);
  TH_OK(tubo_iprobe(TUBO_ANY_SOURCE, TUBO_ANY_TAG, a, &flag, TUBO_STATUS_IGNORE));
  TH_EQ("iprobe(ANY, ANY) on a communicator with nothing sent on it", flag, 0);
  TH_OK(tubo_barrier(a)); /* every rank has tested */
  TH_OK(tubo_send(&va, sizeof va, (ra + 1) % na, 5, a));
  tubo_status_t st;
  TH_OK(tubo_wait(&r, &st));
  TH_EQ(what, got_a, 2000 + (ra - 1 + na) % na);
  TH_STATUS(st, (ra - 1 + na) % na, 5, sizeof va, 0);
}

static void body_split(void)
{
  tubo_comm_t *c = NULL;
  color_now = th_rank % 3;
  TH_OK(tubo_comm_split(th_world, color_now, key_of(th_rank), &c));
  TH_CHECK(c != NULL, "split by color %d: expected a communicator", color_now);
  check_members(c, same_color, key_of, "split by rank % 3, shuffled keys");
  if (th_size > 1)
    check_isolation(th_world, c, "world and split");
  /* A split of the split: reversed keys. */
  tubo_comm_t *cc = NULL;
  TH_OK(tubo_comm_split(c, 0, -th_rank, &cc));
  check_members(cc, same_color, key_neg, "split of a split, reversed keys");
  TH_OK(tubo_comm_free(&cc));
  TH_CHECK(cc == NULL, "tubo_comm_free: expected the handle set to NULL");
  /* TUBO_UNDEFINED on the last rank: it gets none, the others go on without it. A bad
   * color on rank 0 is its error alone. */
  int color = th_rank == th_size - 1 ? TUBO_UNDEFINED : 0;
  int want = 0;
  if (th_rank == 0 && th_size > 1) {
    color = -5;
    want = TUBO_EINVAL;
  }
  tubo_comm_t *u = (tubo_comm_t *)&color;
  TH_EXPECT_RC(tubo_comm_split(th_world, color, 0, &u), want);
  if (color != 0) {
    TH_CHECK(u == NULL, "split with color %d: expected NULL", color);
  } else {
    int n;
    TH_OK(tubo_comm_size(u, &n));
    TH_EQ("ranks of a split where one is undefined and one bad", n, th_size - 2);
    TH_OK(tubo_barrier(u));
    TH_OK(tubo_comm_free(&u));
  }
  TH_OK(tubo_comm_free(&c));
  TH_EXPECT_RC(tubo_comm_rank(c, &color), TUBO_ECOMM);
}

static void body_dup(void)
{
  tubo_comm_t *d = NULL, *dd = NULL;
  TH_OK(tubo_comm_dup(th_world, &d));
  check_members(d, all_ranks, key_zero, "dup of the world");
  TH_OK(tubo_comm_dup(d, &dd));
  if (th_size > 1) {
    check_isolation(th_world, d, "world and its dup");
    check_isolation(d, dd, "a dup and its dup");
  }
  TH_OK(tubo_comm_free(&dd));
  /* Context ids go back when freed: many more than there are ids in turn. */
  for (int i = 0; i < 1500; i++) {
    TH_OK(tubo_comm_dup(d, &dd));
    TH_OK(tubo_comm_free(&dd));
  }
  TH_OK(tubo_comm_free(&d));
  /* Freed handles, the world, NULL. */
  TH_EXPECT_RC(tubo_comm_free(&d), TUBO_ECOMM);
  tubo_comm_t *w = th_world;
  TH_EXPECT_RC(tubo_comm_free(&w), TUBO_ECOMM);
  TH_EXPECT_RC(tubo_comm_free(NULL), TUBO_EINVAL);
  /* One left for tubo_finalize to free. */
  TH_OK(tubo_comm_dup(th_world, &d));
}

/* Every id in use at once: the next communicator fails alike on every rank. */
static void body_exhaust(void)
{
  enum { MAX = 2048 };
  static tubo_comm_t *held[MAX];
  int n = 0, rc = 0;
  while (n < MAX && (rc = tubo_comm_dup(th_world, &held[n])) == 0)
    n++;
  TH_EXPECT_RC(rc, TUBO_ETOOBIG);
  TH_CHECK(n > 1000, "communicators made before the ids ran out: %d, expected over 1000", n);
  int most = 0;
  TH_OK(tubo_allreduce(&n, &most, 1, TUBO_INT, TUBO_MAX, th_world));
  TH_EQ("communicators made on this rank against the most on any rank", n, most);
  for (int i = 0; i < n; i++)
    TH_OK(tubo_comm_free(&held[i]));
  TH_OK(tubo_comm_dup(th_world, &held[0]));
  TH_OK(tubo_comm_free(&held[0]));
}

/* A communicator's collectives hold a segment of the job's shared heap, which goes back when
 * every rank has freed the communicator: the job's shared memory (tubo_comm_shm_bytes)
 * grows by the segment while a dup that ran a collective lives, shrinks when it is freed
 * (the heap gives a freed run's pages back), and does not grow round after round as dups
 * come and go (the next dup reuses the freed run). */
static void body_segment(void)
{
  enum { SEG_MIN = 1 << 20, SLACK = 256 << 10, ROUNDS = 6 };
  /* Ranks on two hosts share no memory and run no shared-memory collectives. */
  if (!th_one_node())
    return;
  int peer = th_rank ^ 1;
  /* The world's own segment and the pair's channel come from the heap too: made first. */
  TH_OK(tubo_barrier(th_world));
  char out[200] = {0}, in[200];
  for (int i = 0; i < 20; i++)
    TH_OK(tubo_sendrecv(out, sizeof out, peer, 4, in, sizeof in, peer, 4, th_world, NULL));
  TH_OK(tubo_barrier(th_world));
  uint64_t before = 0, first = 0;
  TH_OK(tubo_comm_shm_bytes(th_world, &before));
  for (int round = 0; round < ROUNDS; round++) {
    tubo_comm_t *d = NULL;
    TH_OK(tubo_comm_dup(th_world, &d));
    int one = 1, sum = 0;
    TH_OK(tubo_allreduce(&one, &sum, 1, TUBO_INT, TUBO_SUM, d));
    TH_EQ("allreduce on the dup", sum, th_size);
    TH_OK(tubo_barrier(th_world));
    uint64_t held = 0, after = 0;
    TH_OK(tubo_comm_shm_bytes(th_world, &held));
    if (round == 0) {
      first = held;
      TH_CHECK(held >= before + SEG_MIN,
               "expected the dup's collectives to hold at least 1 MiB of the heap: "
               "%llu B before, %llu B with the dup",
               (unsigned long long)before, (unsigned long long)held);
    } else {
      TH_CHECK(held <= first + SLACK,
               "round %d: expected the dup to reuse the segment a freed dup gave back: "
               "%llu B with the first dup, %llu B now",
               round, (unsigned long long)first, (unsigned long long)held);
    }
    TH_OK(tubo_barrier(th_world));
    TH_OK(tubo_comm_free(&d));
    TH_OK(tubo_barrier(th_world));
    TH_OK(tubo_comm_shm_bytes(th_world, &after));
    if (round == 0)
      TH_CHECK(after + SEG_MIN <= held,
               "expected the freed dup's segment to give its pages back: %llu B with the "
               "dup, %llu B after every rank freed it",
               (unsigned long long)held, (unsigned long long)after);
    TH_OK(tubo_barrier(th_world));
  }
}

/* ---- Hardware levels ---- */

/* What hwloc says holds this rank's binding at each level (the test's own oracle). */
static void hw_levels(int lv[6])
{
  hwloc_topology_t topo;
  TH_CHECK(hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0,
           "hwloc: cannot load the topology");
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) != 0)
    hwloc_bitmap_copy(set, hwloc_topology_get_allowed_cpuset(topo));
  hwloc_bitmap_and(set, set, hwloc_topology_get_allowed_cpuset(topo));
  static const hwloc_obj_type_t types[6] = {HWLOC_OBJ_MACHINE,  HWLOC_OBJ_PACKAGE,
                                            HWLOC_OBJ_NUMANODE, HWLOC_OBJ_L3CACHE,
                                            HWLOC_OBJ_L2CACHE,  HWLOC_OBJ_CORE};
  for (int k = 0; k < 6; k++) {
    lv[k] = -1;
    if (types[k] == HWLOC_OBJ_NUMANODE) {
      hwloc_obj_t o = NULL;
      while ((o = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, o)) != NULL)
        if (hwloc_bitmap_isincluded(set, o->cpuset)) {
          lv[k] = (int)o->logical_index;
          break;
        }
      continue;
    }
    hwloc_obj_t o = hwloc_get_obj_covering_cpuset(topo, set);
    while (o != NULL && o->type != types[k])
      o = o->parent;
    lv[k] = o ? (int)o->logical_index : -1;
  }
  lv[0] = 0;
  hwloc_bitmap_free(set);
  hwloc_topology_destroy(topo);
}

static int lv_all[64][6], lv_type;
static int same_level(int r)
{
  if (th_node_of(r) != th_node_of(th_rank))
    return 0;
  if (r == th_rank)
    return 1;
  int k = lv_type - 1;
  return lv_all[r][k] >= 0 && lv_all[r][k] == lv_all[th_rank][k];
}

static void body_level(void)
{
  int lv[6];
  hw_levels(lv);
  TH_OK(tubo_allgather(lv, lv_all, 6, TUBO_INT, th_world));
  /* Twice round the levels: the first six use ids the world kept, the rest agree. */
  for (int round = 0; round < 2; round++)
    for (lv_type = TUBO_COMM_TYPE_NODE; lv_type <= TUBO_COMM_TYPE_CORE; lv_type++) {
      tubo_comm_t *c = NULL;
      TH_OK(tubo_comm_split_type(th_world, lv_type, -th_rank, &c));
      char what[64];
      snprintf(what, sizeof what, "split_type %d, round %d", lv_type, round);
      check_members(c, same_level, key_neg, what);
      TH_OK(tubo_barrier(c));
      /* A level split of a level split, which kept no ids: it agrees on one. */
      tubo_comm_t *cc = NULL;
      TH_OK(tubo_comm_split_type(c, TUBO_COMM_TYPE_NODE, 0, &cc));
      TH_OK(tubo_comm_free(&cc));
      TH_OK(tubo_comm_free(&c));
    }
  /* TUBO_UNDEFINED on one rank, an unknown type on another. */
  int type = TUBO_COMM_TYPE_NODE, want = 0;
  if (th_rank == th_size - 1)
    type = TUBO_UNDEFINED;
  else if (th_rank == 0 && th_size > 1) {
    type = 99;
    want = TUBO_EINVAL;
  }
  tubo_comm_t *c = NULL;
  TH_EXPECT_RC(tubo_comm_split_type(th_world, type, 0, &c), want);
  if (type == TUBO_COMM_TYPE_NODE) {
    TH_CHECK(c != NULL, "split_type(NODE): expected a communicator");
    TH_OK(tubo_barrier(c));
    TH_OK(tubo_comm_free(&c));
  } else {
    TH_CHECK(c == NULL, "split_type(%d): expected NULL", type);
  }
}

/* ---- Everything works on a communicator made here ---- */

static void body_everything(void)
{
  /* The reversed world: rank r of it is world rank size - 1 - r. */
  tubo_comm_t *c = NULL;
  TH_OK(tubo_comm_split(th_world, 0, -th_rank, &c));
  int me, n;
  TH_OK(tubo_comm_rank(c, &me));
  TH_OK(tubo_comm_size(c, &n));
  TH_EQ("rank in the reversed world", me, th_size - 1 - th_rank);
  int right = (me + 1) % n, left = (me - 1 + n) % n;
  /* Point-to-point: statuses name ranks of the communicator. */
  int v = me, got = -1, flag = 0;
  tubo_status_t st;
  TH_OK(tubo_sendrecv(&v, sizeof v, right, 1, &got, sizeof got, left, 1, c, &st));
  TH_STATUS(st, left, 1, sizeof v, 0);
  TH_EQ("sendrecv on the reversed world", got, left);
  TH_OK(tubo_send(&v, sizeof v, right, 2, c));
  TH_OK(tubo_probe(TUBO_ANY_SOURCE, 2, c, &st));
  TH_STATUS(st, left, 2, sizeof v, 0);
  TH_OK(tubo_iprobe(left, 2, c, &flag, TUBO_STATUS_IGNORE));
  TH_EQ("iprobe after probe", flag, 1);
  TH_OK(tubo_recv(&got, sizeof got, TUBO_ANY_SOURCE, TUBO_ANY_TAG, c, &st));
  TH_STATUS(st, left, 2, sizeof v, 0);
  tubo_request_t *r[2];
  TH_OK(tubo_irecv(&got, sizeof got, left, 3, c, &r[0]));
  TH_OK(tubo_isend(&v, sizeof v, right, 3, c, &r[1]));
  TH_OK(tubo_waitall(2, r, TUBO_STATUSES_IGNORE));
  TH_EQ("irecv on the reversed world", got, left);
  TH_OK(tubo_barrier(c));
  const char *tp = NULL;
  TH_OK(tubo_comm_transport(c, me, &tp));
  TH_CHECK(strcmp(tp, "self") == 0, "transport to oneself: got %s", tp);
  /* A pipe on it and one on the world between the same two processes. */
  if (n > 1 && (me == 0 || me == 1)) {
    tubo_pipe_t *pc = NULL, *pw = NULL;
    int peer_c = 1 - me, peer_w = th_size - 1 - peer_c;
    TH_OK(tubo_pipe_open(c, peer_c, &pc));
    TH_OK(tubo_pipe_open(th_world, peer_w, &pw));
    char b[16] = {0};
    size_t len = 0;
    TH_OK(tubo_pipe_send(pc, "on c", 5));
    TH_OK(tubo_pipe_send(pw, "on world", 9));
    TH_OK(tubo_pipe_recv(pw, b, sizeof b, &len));
    TH_CHECK(len == 9 && strcmp(b, "on world") == 0, "pipe on the world got '%s'", b);
    TH_OK(tubo_pipe_recv(pc, b, sizeof b, &len));
    TH_CHECK(len == 5 && strcmp(b, "on c") == 0, "pipe on the split got '%s'", b);
    TH_OK(tubo_pipe_free(pc));
    TH_OK(tubo_pipe_free(pw));
  }
  /* A queue, an array and a value on it. */
  tubo_queue_t *q = NULL;
  TH_OK(tubo_queue_open(c, 64, sizeof v, 0, &q));
  TH_OK(tubo_queue_put(q, &me, sizeof me, -1));
  TH_OK(tubo_barrier(c));
  int sum = 0;
  for (int i = 0; i < 1 && me == 0; i++)
    for (int k = 0; k < n; k++) {
      size_t len = 0;
      TH_OK(tubo_queue_get(q, &got, sizeof got, &len, -1));
      sum += got;
    }
  if (me == 0)
    TH_EQ("sum of the ranks put in a queue on the split", sum, n * (n - 1) / 2);
  TH_OK(tubo_barrier(c));
  TH_OK(tubo_queue_free(q));
  tubo_array_t *a = NULL;
  TH_OK(tubo_array_open(c, TUBO_INT, 1, &a));
  TH_OK(tubo_array_lock(a));
  ((int *)tubo_array_data(a))[0] += me + 1;
  TH_OK(tubo_array_unlock(a));
  TH_OK(tubo_barrier(c));
  TH_OK(tubo_array_lock(a));
  int total = ((int *)tubo_array_data(a))[0];
  TH_OK(tubo_array_unlock(a));
  TH_EQ("array on the split: every rank's addition", total, n * (n + 1) / 2);
  TH_OK(tubo_barrier(c));
  TH_OK(tubo_array_free(a));
  tubo_value_t *val = NULL;
  TH_OK(tubo_value_open(c, TUBO_DOUBLE, NULL, &val));
  TH_OK(tubo_value_free(val));
  TH_OK(tubo_comm_free(&c));
}

static const th_body_t bodies[] = {
    {"split", body_split, 0},
    {"dup", body_dup, 0},
    {"exhaust", body_exhaust, 0},
    {"level", body_level, 0},
    {"everything", body_everything, 0},
    {"segment", body_segment, 0},
    {NULL, NULL, 0},
};

static Suite *comm_suite(void)
{
  Suite *s = suite_create("comm");
  TCase *tc = th_add_case(s, "split", 1, TH_SOLO | TH_BOTH);
  th_add_job(tc, "split", 4, TH_BOTH);
  th_add_job(tc, "split", 7, TH_SHM);
  tc = th_add_case(s, "dup", 1, TH_SOLO);
  th_add_job(tc, "dup", 3, TH_BOTH);
  th_add_case(s, "exhaust", 2, TH_SHM);
  tc = th_add_case(s, "level", 1, TH_SOLO);
  th_add_job(tc, "level", 2, TH_BOTH);
  th_add_job(tc, "level", 5, TH_SHM);
  tc = th_add_case(s, "everything", 2, TH_BOTH);
  th_add_job(tc, "everything", 5, TH_BOTH);
  th_add_case(s, "segment", 2, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, comm_suite);
}
