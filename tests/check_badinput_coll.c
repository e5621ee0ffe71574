/* SPDX-License-Identifier: MIT */
/* Bad input to communicators, operations and collectives: one test per public function,
 * each given every kind of bad input that applies in a world of one (NULL, bogus and
 * freed handles; unknown types and operations, operations undefined on a type; roots out
 * of range; NULL buffers with elements to move; TUBO_IN_PLACE where the call forbids it;
 * buffers that overlap; counts whose bytes do not fit), expecting the code tubo.h
 * documents, without a crash. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "badinput.h"

/* A value that is no tubo_type_t, and counts whose bytes no buffer can hold. */
#define BAD_TYPE ((tubo_type_t)'x')
static const size_t huge_counts[] = {(size_t)-1, (size_t)1 << 62};

/* Buffers the calls below are given: room for every valid call in a world of one. */
static double b1[64], b2[64];
static size_t one[1] = {4}, zero[1] = {0};

/* ---- Communicators ---- */

static int call_comm_dup(tubo_comm_t *comm)
{
  tubo_comm_t *n = NULL;
  int rc = tubo_comm_dup(comm, &n);
  if (rc == 0)
    tubo_comm_free(&n);
  return rc;
}

static void comm_dup_extra(tubo_comm_t *world)
{
  BI_RC("tubo_comm_dup(world, NULL)", tubo_comm_dup(world, NULL), TUBO_EINVAL);
  tubo_comm_t *d = NULL;
  BI_RC("tubo_comm_dup(world)", tubo_comm_dup(world, &d), 0);
  tubo_comm_t *stale = d;
  BI_RC("tubo_comm_free(dup)", tubo_comm_free(&d), 0);
  BI_RC("tubo_comm_dup(freed dup)", tubo_comm_dup(stale, &d), TUBO_ECOMM);
  ck_assert_msg(d == NULL, "tubo_comm_dup of a freed communicator: expected NULL out");
}

START_TEST(test_comm_dup)
{
  bi_comm_cases("tubo_comm_dup", call_comm_dup, TUBO_ENOTINIT, comm_dup_extra);
}
END_TEST

static int call_comm_split(tubo_comm_t *comm)
{
  tubo_comm_t *n = NULL;
  int rc = tubo_comm_split(comm, 0, 0, &n);
  if (rc == 0)
    tubo_comm_free(&n);
  return rc;
}

static void comm_split_extra(tubo_comm_t *world)
{
  tubo_comm_t *n = (tubo_comm_t *)b1;
  BI_RC("tubo_comm_split(world, 0, 0, NULL)", tubo_comm_split(world, 0, 0, NULL), TUBO_EINVAL);
  BI_RC("tubo_comm_split(color -1)", tubo_comm_split(world, -1, 0, &n), TUBO_EINVAL);
  ck_assert_msg(n == NULL, "tubo_comm_split with a bad color: expected NULL out");
  n = (tubo_comm_t *)b1;
  BI_RC("tubo_comm_split(TUBO_UNDEFINED)", tubo_comm_split(world, TUBO_UNDEFINED, 0, &n), 0);
  ck_assert_msg(n == NULL, "tubo_comm_split(TUBO_UNDEFINED): expected NULL out");
}

START_TEST(test_comm_split)
{
  bi_comm_cases("tubo_comm_split", call_comm_split, TUBO_ENOTINIT, comm_split_extra);
}
END_TEST

static int call_comm_split_type(tubo_comm_t *comm)
{
  tubo_comm_t *n = NULL;
  int rc = tubo_comm_split_type(comm, TUBO_COMM_TYPE_NODE, 0, &n);
  if (rc == 0)
    tubo_comm_free(&n);
  return rc;
}

static void comm_split_type_extra(tubo_comm_t *world)
{
  tubo_comm_t *n = (tubo_comm_t *)b1;
  BI_RC("tubo_comm_split_type(NULL out)", tubo_comm_split_type(world, TUBO_COMM_TYPE_CORE, 0, NULL),
        TUBO_EINVAL);
  static const int bad[] = {0, -1, TUBO_COMM_TYPE_CORE + 1, 1000};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "tubo_comm_split_type(type %d)", bad[i]);
    BI_RC(what, tubo_comm_split_type(world, bad[i], 0, &n), TUBO_EINVAL);
    ck_assert_msg(n == NULL, "%s: expected NULL out", what);
  }
  n = (tubo_comm_t *)b1;
  BI_RC("tubo_comm_split_type(TUBO_UNDEFINED)", tubo_comm_split_type(world, TUBO_UNDEFINED, 0, &n),
        0);
  ck_assert_msg(n == NULL, "tubo_comm_split_type(TUBO_UNDEFINED): expected NULL out");
}

START_TEST(test_comm_split_type)
{
  bi_comm_cases("tubo_comm_split_type", call_comm_split_type, TUBO_ENOTINIT, comm_split_type_extra);
}
END_TEST

START_TEST(test_comm_free)
{
  tubo_comm_t *c = NULL;
  BI_RC("tubo_comm_free(NULL) before tubo_init", tubo_comm_free(NULL), TUBO_EINVAL);
  BI_RC("tubo_comm_free(&NULL) before tubo_init", tubo_comm_free(&c), TUBO_ENOTINIT);
  tubo_comm_t *world = bi_init();
  BI_RC("tubo_comm_free(NULL)", tubo_comm_free(NULL), TUBO_EINVAL);
  c = NULL;
  BI_RC("tubo_comm_free(&NULL)", tubo_comm_free(&c), TUBO_ECOMM);
  c = bi_bogus_comm();
  BI_RC("tubo_comm_free(bogus)", tubo_comm_free(&c), TUBO_ECOMM);
  c = world;
  BI_RC("tubo_comm_free(the world)", tubo_comm_free(&c), TUBO_ECOMM);
  ck_assert_msg(c == world, "tubo_comm_free(the world): expected the handle left alone");
  c = bi_freed_comm();
  BI_RC("tubo_comm_free(freed spawned)", tubo_comm_free(&c), TUBO_ECOMM);
  tubo_comm_t *d = NULL;
  BI_RC("tubo_comm_dup", tubo_comm_dup(world, &d), 0);
  tubo_comm_t *stale = d;
  BI_RC("tubo_comm_free(dup)", tubo_comm_free(&d), 0);
  BI_RC("tubo_comm_free(freed dup)", tubo_comm_free(&stale), TUBO_ECOMM);
  BI_RC("tubo_comm_dup", tubo_comm_dup(world, &d), 0);
  stale = d;
  bi_finalize();
  /* Freed by tubo_finalize. */
  BI_RC("tubo_comm_free(dup) after tubo_finalize", tubo_comm_free(&stale), TUBO_ENOTINIT);
}
END_TEST

/* ---- Operations ---- */

static void op_fn(const void *in, void *inout, size_t count, tubo_type_t type)
{
  (void)in, (void)inout, (void)count, (void)type;
}

START_TEST(test_op_create)
{
  tubo_op_t *op = (tubo_op_t *)b1;
  BI_RC("tubo_op_create(fn, 1, NULL)", tubo_op_create(op_fn, 1, NULL), TUBO_EINVAL);
  BI_RC("tubo_op_create(NULL fn)", tubo_op_create(NULL, 1, &op), TUBO_EINVAL);
  ck_assert_msg(op == NULL, "tubo_op_create(NULL fn): expected NULL out");
  /* Operations need no initialized tubo. */
  BI_RC("tubo_op_create before tubo_init", tubo_op_create(op_fn, 0, &op), 0);
  BI_RC("tubo_op_free", tubo_op_free(&op), 0);
}
END_TEST

START_TEST(test_op_free)
{
  tubo_op_t *op = NULL;
  BI_RC("tubo_op_free(NULL)", tubo_op_free(NULL), TUBO_EINVAL);
  BI_RC("tubo_op_free(&NULL)", tubo_op_free(&op), TUBO_EOP);
  op = (tubo_op_t *)b1;
  BI_RC("tubo_op_free(bogus)", tubo_op_free(&op), TUBO_EOP);
  op = (tubo_op_t *)TUBO_SUM;
  BI_RC("tubo_op_free(TUBO_SUM)", tubo_op_free(&op), TUBO_EOP);
  void *foreign = bi_foreign_handle(TUBO_EOP);
  op = foreign;
  BI_RC("tubo_op_free(a process handle)", tubo_op_free(&op), TUBO_EOP);
  bi_foreign_free(foreign, TUBO_EOP);
  BI_RC("tubo_op_create", tubo_op_create(op_fn, 1, &op), 0);
  tubo_op_t *stale = op;
  BI_RC("tubo_op_free", tubo_op_free(&op), 0);
  ck_assert_msg(op == NULL, "tubo_op_free: expected the handle set to NULL");
  BI_RC("tubo_op_free(freed)", tubo_op_free(&stale), TUBO_EOP);
}
END_TEST

/* ---- Collectives: the bad arguments they share ---- */

/* Which arguments a collective takes, for the shared cases. */
typedef struct coll_case {
  const char *name;
  /* Calls it with comm; type, op, root, count and the buffers as given. */
  int (*call)(tubo_comm_t *comm, tubo_type_t type, const tubo_op_t *op, int root, size_t count,
              const void *sbuf, void *rbuf);
  int has_op, has_root;
  int in_place_ok;   /* TUBO_IN_PLACE as sbuf is valid in a world of one */
  int rbuf_in_place; /* the call's in-place argument is rbuf (scatter) */
} coll_case_t;

static const coll_case_t *cur;

static int call_cur(tubo_comm_t *comm)
{
  return cur->call(comm, TUBO_DOUBLE, TUBO_SUM, 0, 1, b1, b2);
}

static void coll_extra(tubo_comm_t *world)
{
  const coll_case_t *c = cur;
  char what[160];
  if (strcmp(c->name, "tubo_iallreduce") == 0)
    BI_RC("tubo_iallreduce(NULL request)",
          tubo_iallreduce(b1, b2, 1, TUBO_DOUBLE, TUBO_SUM, world, NULL), TUBO_EINVAL);
  snprintf(what, sizeof what, "%s(unknown type)", c->name);
  BI_RC(what, c->call(world, BAD_TYPE, TUBO_SUM, 0, 1, b1, b2), TUBO_EINVAL);
  if (c->has_op) {
    tubo_op_t *user = NULL;
    BI_RC("tubo_op_create", tubo_op_create(op_fn, 1, &user), 0);
    tubo_op_t *stale = user;
    BI_RC("tubo_op_free", tubo_op_free(&user), 0);
    void *foreign = bi_foreign_handle(TUBO_EOP);
    const struct {
      const char *what;
      const tubo_op_t *op;
      tubo_type_t type;
      int want;
    } ops[] = {{"NULL op", NULL, TUBO_DOUBLE, TUBO_EOP},
               {"bogus op", (const tubo_op_t *)b1, TUBO_DOUBLE, TUBO_EOP},
               {"freed op", stale, TUBO_DOUBLE, TUBO_EOP},
               {"a process handle as the op", foreign, TUBO_DOUBLE, TUBO_EOP},
               {"TUBO_BAND on doubles", TUBO_BAND, TUBO_DOUBLE, TUBO_EINVAL},
               {"TUBO_MIN on complex", TUBO_MIN, TUBO_CDOUBLE, TUBO_EINVAL}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
      snprintf(what, sizeof what, "%s(%s)", c->name, ops[i].what);
      BI_RC(what, c->call(world, ops[i].type, ops[i].op, 0, 1, b1, b2), ops[i].want);
    }
    bi_foreign_free(foreign, TUBO_EOP);
  }
  if (c->has_root) {
    static const int roots[] = {1, -1, 1000, TUBO_ANY_SOURCE};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
      snprintf(what, sizeof what, "%s(root %d)", c->name, roots[i]);
      BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, roots[i], 1, b1, b2), TUBO_ERANK);
    }
  }
  snprintf(what, sizeof what, "%s(NULL send buffer, count 1)", c->name);
  BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, 1, NULL, b2), TUBO_EINVAL);
  snprintf(what, sizeof what, "%s(NULL receive buffer, count 1)", c->name);
  BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, 1, b1, NULL), TUBO_EINVAL);
  snprintf(what, sizeof what, "%s(NULL buffers, count 0)", c->name);
  BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, 0, NULL, NULL), 0);
  /* The same buffer as both, or overlapping ones, without TUBO_IN_PLACE. */
  snprintf(what, sizeof what, "%s(overlapping buffers)", c->name);
  BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, 2, b1, b1 + 1), TUBO_EINVAL);
  /* TUBO_IN_PLACE on the side that may not have it. */
  snprintf(what, sizeof what, "%s(TUBO_IN_PLACE as the %s buffer)", c->name,
           c->rbuf_in_place ? "send" : "receive");
  if (c->rbuf_in_place)
    BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, 1, TUBO_IN_PLACE, b2), TUBO_EINVAL);
  else
    BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, 1, b1, TUBO_IN_PLACE), TUBO_EINVAL);
  if (c->in_place_ok) {
    snprintf(what, sizeof what, "%s(TUBO_IN_PLACE where allowed)", c->name);
    if (c->rbuf_in_place)
      BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, 1, b1, TUBO_IN_PLACE), 0);
    else
      BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, 1, TUBO_IN_PLACE, b2), 0);
  }
  for (size_t i = 0; i < sizeof huge_counts / sizeof huge_counts[0]; i++) {
    snprintf(what, sizeof what, "%s(count %zu)", c->name, huge_counts[i]);
    BI_RC(what, c->call(world, TUBO_DOUBLE, TUBO_SUM, 0, huge_counts[i], b1, b2), TUBO_ETOOBIG);
  }
}

static void coll_cases(const coll_case_t *c)
{
  cur = c;
  bi_comm_cases(c->name, call_cur, TUBO_ENOTINIT, coll_extra);
}

/* ---- Each collective as a coll_case_t call ---- */

static int c_bcast(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                   const void *s, void *r)
{
  (void)o, (void)r;
  /* bcast has one buffer: the send side's cases stand for it. */
  return tubo_bcast((void *)s, n, t, root, m);
}

static int c_reduce(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                    const void *s, void *r)
{
  return tubo_reduce(s, r, n, t, o, root, m);
}

static int c_allreduce(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                       const void *s, void *r)
{
  (void)root;
  return tubo_allreduce(s, r, n, t, o, m);
}

static int c_iallreduce(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                        const void *s, void *r)
{
  (void)root;
  tubo_request_t *rq = NULL;
  int rc = tubo_iallreduce(s, r, n, t, o, m, &rq);
  if (rc == 0)
    rc = tubo_wait(&rq, TUBO_STATUS_IGNORE);
  return rc;
}

static int c_ibcast(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                    const void *s, void *r)
{
  (void)o, (void)r;
  tubo_request_t *rq = NULL;
  int rc = tubo_ibcast((void *)s, n, t, root, m, &rq);
  if (rc == 0)
    rc = tubo_wait(&rq, TUBO_STATUS_IGNORE);
  return rc;
}

static int c_gather(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                    const void *s, void *r)
{
  (void)o;
  return tubo_gather(s, r, n, t, root, m);
}

static int c_gatherv(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                     const void *s, void *r)
{
  (void)o;
  size_t cnt[1] = {n}, dsp[1] = {0};
  return tubo_gatherv(s, n, r, cnt, dsp, t, root, m);
}

static int c_scatter(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                     const void *s, void *r)
{
  (void)o;
  return tubo_scatter(s, r, n, t, root, m);
}

static int c_scatterv(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                      const void *s, void *r)
{
  (void)o;
  size_t cnt[1] = {n}, dsp[1] = {0};
  return tubo_scatterv(s, cnt, dsp, r, n, t, root, m);
}

static int c_allgather(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                       const void *s, void *r)
{
  (void)o, (void)root;
  return tubo_allgather(s, r, n, t, m);
}

static int c_allgatherv(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                        const void *s, void *r)
{
  (void)o, (void)root;
  size_t cnt[1] = {n}, dsp[1] = {0};
  return tubo_allgatherv(s, n, r, cnt, dsp, t, m);
}

static int c_alltoall(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                      const void *s, void *r)
{
  (void)o, (void)root;
  return tubo_alltoall(s, r, n, t, m);
}

static int c_alltoallv(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                       const void *s, void *r)
{
  (void)o, (void)root;
  size_t cnt[1] = {n}, dsp[1] = {0};
  return tubo_alltoallv(s, cnt, dsp, r, cnt, dsp, t, m);
}

static int c_rsb(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                 const void *s, void *r)
{
  (void)root;
  return tubo_reduce_scatter_block(s, r, n, t, o, m);
}

static int c_scan(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                  const void *s, void *r)
{
  (void)root;
  return tubo_scan(s, r, n, t, o, m);
}

static int c_exscan(tubo_comm_t *m, tubo_type_t t, const tubo_op_t *o, int root, size_t n,
                    const void *s, void *r)
{
  (void)root;
  return tubo_exscan(s, r, n, t, o, m);
}

#define COLL_TEST(fn, ...)                      \
  START_TEST(test_##fn)                         \
  {                                             \
    static const coll_case_t c = {__VA_ARGS__}; \
    coll_cases(&c);                             \
  }                                             \
  END_TEST

/* name, call, has_op, has_root, in_place_ok, rbuf_in_place */
COLL_TEST(reduce, "tubo_reduce", c_reduce, 1, 1, 1, 0)
COLL_TEST(allreduce, "tubo_allreduce", c_allreduce, 1, 0, 1, 0)
COLL_TEST(iallreduce, "tubo_iallreduce", c_iallreduce, 1, 0, 1, 0)
COLL_TEST(gather, "tubo_gather", c_gather, 0, 1, 1, 0)
COLL_TEST(gatherv, "tubo_gatherv", c_gatherv, 0, 1, 1, 0)
COLL_TEST(scatter, "tubo_scatter", c_scatter, 0, 1, 1, 1)
COLL_TEST(scatterv, "tubo_scatterv", c_scatterv, 0, 1, 1, 1)
COLL_TEST(allgather, "tubo_allgather", c_allgather, 0, 0, 1, 0)
COLL_TEST(allgatherv, "tubo_allgatherv", c_allgatherv, 0, 0, 1, 0)
COLL_TEST(alltoall, "tubo_alltoall", c_alltoall, 0, 0, 1, 0)
COLL_TEST(alltoallv, "tubo_alltoallv", c_alltoallv, 0, 0, 1, 0)
COLL_TEST(reduce_scatter_block, "tubo_reduce_scatter_block", c_rsb, 1, 0, 1, 0)
COLL_TEST(scan, "tubo_scan", c_scan, 1, 0, 1, 0)
COLL_TEST(exscan, "tubo_exscan", c_exscan, 1, 0, 1, 0)

/* bcast and ibcast: one buffer, no overlap or in-place cases. */
static const coll_case_t *bcast_case;
static int call_bcast_case(tubo_comm_t *comm)
{
  return bcast_case->call(comm, TUBO_DOUBLE, NULL, 0, 1, b1, NULL);
}

static void bcast_extra(tubo_comm_t *world)
{
  const coll_case_t *c = bcast_case;
  char what[96];
  snprintf(what, sizeof what, "%s(unknown type)", c->name);
  BI_RC(what, c->call(world, BAD_TYPE, NULL, 0, 1, b1, NULL), TUBO_EINVAL);
  static const int roots[] = {1, -1, 1000};
  for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
    snprintf(what, sizeof what, "%s(root %d)", c->name, roots[i]);
    BI_RC(what, c->call(world, TUBO_DOUBLE, NULL, roots[i], 1, b1, NULL), TUBO_ERANK);
  }
  snprintf(what, sizeof what, "%s(NULL buffer, count 1)", c->name);
  BI_RC(what, c->call(world, TUBO_DOUBLE, NULL, 0, 1, NULL, NULL), TUBO_EINVAL);
  snprintf(what, sizeof what, "%s(TUBO_IN_PLACE)", c->name);
  BI_RC(what, c->call(world, TUBO_DOUBLE, NULL, 0, 1, TUBO_IN_PLACE, NULL), TUBO_EINVAL);
  for (size_t i = 0; i < sizeof huge_counts / sizeof huge_counts[0]; i++) {
    snprintf(what, sizeof what, "%s(count %zu)", c->name, huge_counts[i]);
    BI_RC(what, c->call(world, TUBO_DOUBLE, NULL, 0, huge_counts[i], b1, NULL), TUBO_ETOOBIG);
  }
  if (strcmp(c->name, "tubo_ibcast") == 0)
    BI_RC("tubo_ibcast(NULL request)", tubo_ibcast(b1, 1, TUBO_DOUBLE, 0, world, NULL),
          TUBO_EINVAL);
}

START_TEST(test_bcast)
{
  static const coll_case_t c = {"tubo_bcast", c_bcast, 0, 1, 0, 0};
  bcast_case = &c;
  bi_comm_cases(c.name, call_bcast_case, TUBO_ENOTINIT, bcast_extra);
}
END_TEST

START_TEST(test_ibcast)
{
  static const coll_case_t c = {"tubo_ibcast", c_ibcast, 0, 1, 0, 0};
  bcast_case = &c;
  bi_comm_cases(c.name, call_bcast_case, TUBO_ENOTINIT, bcast_extra);
}
END_TEST

static int call_ibarrier(tubo_comm_t *comm)
{
  tubo_request_t *r = NULL;
  int rc = tubo_ibarrier(comm, &r);
  if (rc == 0)
    rc = tubo_wait(&r, TUBO_STATUS_IGNORE);
  return rc;
}

static void ibarrier_extra(tubo_comm_t *world)
{
  BI_RC("tubo_ibarrier(world, NULL)", tubo_ibarrier(world, NULL), TUBO_EINVAL);
}

START_TEST(test_ibarrier)
{
  bi_comm_cases("tubo_ibarrier", call_ibarrier, TUBO_ENOTINIT, ibarrier_extra);
}
END_TEST

/* gatherv, scatterv, allgatherv and alltoallv also need their count arrays. */
START_TEST(test_v_arrays)
{
  tubo_comm_t *w = bi_init();
  size_t dsp[1] = {0};
  BI_RC("tubo_gatherv(NULL rcounts)", tubo_gatherv(b1, 1, b2, NULL, dsp, TUBO_DOUBLE, 0, w),
        TUBO_EINVAL);
  BI_RC("tubo_gatherv(NULL displs)", tubo_gatherv(b1, 1, b2, one, NULL, TUBO_DOUBLE, 0, w),
        TUBO_EINVAL);
  BI_RC("tubo_scatterv(NULL scounts)", tubo_scatterv(b1, NULL, dsp, b2, 1, TUBO_DOUBLE, 0, w),
        TUBO_EINVAL);
  BI_RC("tubo_allgatherv(NULL rcounts)", tubo_allgatherv(b1, 1, b2, NULL, dsp, TUBO_DOUBLE, w),
        TUBO_EINVAL);
  BI_RC("tubo_alltoallv(NULL sdispls)", tubo_alltoallv(b1, one, NULL, b2, one, dsp, TUBO_DOUBLE, w),
        TUBO_EINVAL);
  size_t far[1] = {SIZE_MAX - 1};
  BI_RC("tubo_allgatherv(displacement + count overflows)",
        tubo_allgatherv(b1, 4, b2, one, far, TUBO_DOUBLE, w), TUBO_ETOOBIG);
  /* A count the root's array does not allow for: truncation, reported. */
  BI_RC("tubo_gatherv(more sent than the count received)",
        tubo_gatherv(b1, 4, b2, zero, dsp, TUBO_DOUBLE, 0, w), TUBO_ETRUNC);
  bi_finalize();
}
END_TEST

static Suite *badinput_coll_suite(void)
{
  const bi_test_t tests[] = {
      {"tubo_comm_dup", test_comm_dup},
      {"tubo_comm_split", test_comm_split},
      {"tubo_comm_split_type", test_comm_split_type},
      {"tubo_comm_free", test_comm_free},
      {"tubo_op_create", test_op_create},
      {"tubo_op_free", test_op_free},
      {"tubo_bcast", test_bcast},
      {"tubo_reduce", test_reduce},
      {"tubo_allreduce", test_allreduce},
      {"tubo_gather", test_gather},
      {"tubo_gatherv", test_gatherv},
      {"tubo_scatter", test_scatter},
      {"tubo_scatterv", test_scatterv},
      {"tubo_allgather", test_allgather},
      {"tubo_allgatherv", test_allgatherv},
      {"tubo_alltoall", test_alltoall},
      {"tubo_alltoallv", test_alltoallv},
      {"tubo_reduce_scatter_block", test_reduce_scatter_block},
      {"tubo_scan", test_scan},
      {"tubo_exscan", test_exscan},
      {"tubo_ibarrier", test_ibarrier},
      {"tubo_ibcast", test_ibcast},
      {"tubo_iallreduce", test_iallreduce},
      {"v-form arrays", test_v_arrays},
  };
  return bi_suite("badinput_coll", tests, sizeof tests / sizeof tests[0]);
}

int main(int argc, char **argv)
{
  return bi_main(argc, argv, badinput_coll_suite);
}
