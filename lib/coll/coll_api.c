/* SPDX-License-Identifier: MIT */
/* The public collectives: their arguments checked once, then the communicator's table
 * (coll.h), or the point-to-point algorithms on the engine. */
#include "config.h"

#include <stdint.h>

#include "coll/coll.h"
#include "coll/coll_p2p.h"

/* The point-to-point algorithm of each kind. */
static const tubo__coll_step_t coll_p2p_steps[TUBO__C_NKINDS] = {
    [TUBO__C_BARRIER] = tubo__p2p_barrier,
    [TUBO__C_BCAST] = tubo__p2p_bcast,
    [TUBO__C_REDUCE] = tubo__p2p_reduce,
    [TUBO__C_ALLREDUCE] = tubo__p2p_allreduce,
    [TUBO__C_GATHER] = tubo__p2p_gather,
    [TUBO__C_GATHERV] = tubo__p2p_gather,
    [TUBO__C_SCATTER] = tubo__p2p_scatter,
    [TUBO__C_SCATTERV] = tubo__p2p_scatter,
    [TUBO__C_ALLGATHER] = tubo__p2p_allgather,
    [TUBO__C_ALLGATHERV] = tubo__p2p_allgather,
    [TUBO__C_ALLTOALL] = tubo__p2p_alltoall,
    [TUBO__C_ALLTOALLV] = tubo__p2p_alltoall,
    [TUBO__C_REDUCE_SCATTER_BLOCK] = tubo__p2p_reduce_scatter_block,
    [TUBO__C_SCAN] = tubo__p2p_scan,
    [TUBO__C_EXSCAN] = tubo__p2p_scan,
};

static int coll_go(const char *fn, tubo_comm_t *comm, tubo__coll_args_t *a, tubo_request_t **req);

/* Kinds whose count is the same on every rank: with none to move, they do nothing. */
static int coll_fixed_count(int kind)
{
  return kind != TUBO__C_BARRIER && kind != TUBO__C_GATHERV && kind != TUBO__C_SCATTERV &&
         kind != TUBO__C_ALLGATHERV && kind != TUBO__C_ALLTOALLV;
}

/* Runs a checked collective: blocking (req NULL) through comm's table first, else on the
 * engine. */
int tubo__coll_call(tubo_comm_t *comm, tubo__coll_args_t *a, tubo_request_t **req)
{
  return coll_go(NULL, comm, a, req);
}

static int coll_run(tubo_comm_t *comm, tubo__coll_args_t *a, tubo_request_t **req);

/* Kinds with a root. */
static int coll_rooted(int kind)
{
  return kind == TUBO__C_BCAST || kind == TUBO__C_REDUCE || kind == TUBO__C_GATHER ||
         kind == TUBO__C_GATHERV || kind == TUBO__C_SCATTER || kind == TUBO__C_SCATTERV;
}

/* fn: the public call's name, which a blocking call's waits publish (blocked.c) and a
 * non-blocking one's request keeps for its errors; NULL for the library's own calls. */
static int coll_go(const char *fn, tubo_comm_t *comm, tubo__coll_args_t *a, tubo_request_t **req)
{
  a->fn = fn;
  if (req != NULL || fn == NULL)
    return coll_run(comm, a, req);
  int rooted = coll_rooted(a->kind);
  tubo__call_t was = tubo__call_enter(comm->w, fn, comm, rooted ? TUBO__BLK_ROOT : TUBO__BLK_NOPEER,
                                      rooted ? a->root : 0, 0, 0);
  int rc = coll_run(comm, a, req);
  tubo__call_leave(comm->w, was);
  return rc;
}

static int coll_run(tubo_comm_t *comm, tubo__coll_args_t *a, tubo_request_t **req)
{
  if (req == NULL) {
    if (a->count == 0 && coll_fixed_count(a->kind))
      return 0;
    if (comm->coll == NULL) {
      int rc = tubo__coll_select(comm);
      if (rc != 0)
        return rc;
    }
    const tubo__coll_table_t *t = comm->coll;
    if (t->fn[a->kind] != NULL) {
      int rc = t->fn[a->kind](comm, a);
      if (rc != TUBO__COLL_DECLINE)
        return rc;
    }
  }
  tubo__coll_req_t *c = tubo__coll_new(comm, a, coll_p2p_steps[a->kind]);
  if (c == NULL)
    return TUBO_ENOMEM;
  return req != NULL ? tubo__coll_start(c, req) : tubo__coll_run(c);
}

/* ---- Argument checks ------------------------------------------------------------------ */

/* The communicator, and the type (NULL t: no type). */
static int check_comm_type(tubo_comm_t *comm, tubo_type_t type, tubo__coll_args_t *a, int kind)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  *a = (tubo__coll_args_t){.kind = kind};
  if (kind == TUBO__C_BARRIER)
    return 0;
  a->t = tubo__type_info(type);
  return a->t != NULL ? 0 : TUBO_EINVAL;
}

static int check_root(const tubo_comm_t *comm, int root, tubo__coll_args_t *a)
{
  if (root < 0 || root >= comm->size)
    return TUBO_ERANK;
  a->root = root;
  return 0;
}

/* Bytes of n elements of a's type into *bytes: TUBO_ETOOBIG beyond PTRDIFF_MAX. */
static int check_bytes(const tubo__coll_args_t *a, size_t n, size_t *bytes)
{
  if (n > (size_t)PTRDIFF_MAX / a->t->size)
    return TUBO_ETOOBIG;
  *bytes = n * a->t->size;
  return 0;
}

/* n * m elements without overflow, or TUBO_ETOOBIG. */
static int check_mul(size_t n, size_t m, size_t *out)
{
  if (m != 0 && n > SIZE_MAX / m)
    return TUBO_ETOOBIG;
  *out = n * m;
  return 0;
}

/* A buffer that n elements (bytes) must fit: not NULL unless empty, not TUBO_IN_PLACE. */
static int check_buf(const void *buf, size_t bytes)
{
  if (buf == TUBO_IN_PLACE)
    return TUBO_EINVAL;
  return buf == NULL && bytes > 0 ? TUBO_EINVAL : 0;
}

/* Two buffers that must not overlap (the caller meant TUBO_IN_PLACE). */
static int check_apart(const void *p, size_t pn, const void *q, size_t qn)
{
  uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
  if (pn == 0 || qn == 0)
    return 0;
  return a < b + qn && b < a + pn ? TUBO_EINVAL : 0;
}

/* A send buffer other than TUBO_IN_PLACE: it fits sbytes, and lies apart from rbuf. */
static int check_sbuf(const void *sbuf, size_t sbytes, const void *rbuf, size_t rbytes)
{
  int rc = check_buf(sbuf, sbytes);
  return rc != 0 ? rc : check_apart(sbuf, sbytes, rbuf, rbytes);
}

/* Names a's buffers: sbuf (none where it is TUBO_IN_PLACE) and rbuf. */
static void args_bufs(tubo__coll_args_t *a, const void *sbuf, void *rbuf)
{
  a->in_place = sbuf == TUBO_IN_PLACE;
  a->sbuf = a->in_place ? NULL : sbuf;
  a->rbuf = rbuf;
}

static int check_op(const tubo_op_t *op, tubo__coll_args_t *a)
{
  int rc = tubo__op_check(op, a->t->type);
  if (rc != 0)
    return rc;
  a->op = op;
  return 0;
}

/* The extent of a v-form's blocks: the end of the farthest, in elements. */
static int check_extent(const size_t *counts, const size_t *displs, int n, size_t *end)
{
  if (counts == NULL || displs == NULL)
    return TUBO_EINVAL;
  *end = 0;
  for (int i = 0; i < n; i++) {
    if (counts[i] > SIZE_MAX - displs[i])
      return TUBO_ETOOBIG;
    if (counts[i] > 0 && displs[i] + counts[i] > *end)
      *end = displs[i] + counts[i];
  }
  return 0;
}

/* Stops at the first error: each check below runs only while rc is 0. */
#define CHECK(expr) \
  do {              \
    if (rc == 0)    \
      rc = (expr);  \
  } while (0)

/* ---- The error return path ------------------------------------------------------------ */

/* A refused call's error, with the argument that caused it, to comm's handler
 * (errhandler.c). root is -1 where the call has none; op matters where uses_op. */
static __attribute__((cold, noinline)) int coll_refused(const char *fn, tubo_comm_t *comm, int rc,
                                                        int root, size_t count, tubo_type_t type,
                                                        int uses_op, const tubo_op_t *op)
{
  switch (rc) {
  case TUBO_ERANK:
    return tubo__error(comm, rc, fn, "root %d out of range for a communicator of %d", root,
                       comm->size);
  case TUBO_EOP:
    return tubo__error(comm, rc, fn, "invalid operation %p (NULL, freed or never made)",
                       (const void *)op);
  case TUBO_ETOOBIG:
    return tubo__error(comm, rc, fn, "%zu elements (or the counts given) are over the limit",
                       count);
  case TUBO_EINVAL:
    if (tubo__type_info(type) == NULL)
      return tubo__error(comm, rc, fn, "invalid type %d", (int)type);
    if (uses_op && tubo__op_check(op, type) != 0)
      return tubo__error(comm, rc, fn, "the operation does not apply to type %d", (int)type);
    return tubo__error(comm, rc, fn,
                       "invalid buffers or counts for %zu elements (NULL, TUBO_IN_PLACE where "
                       "it is not allowed, or overlapping)",
                       count);
  default:
    return tubo__error(comm, rc, fn, NULL);
  }
}

/* Returns rc, through coll_refused when the checks refused the call. */
#define COLL_CHECKED(fn, comm, rc, root, count, type, uses_op, op) \
  (__builtin_expect((rc) != 0, 0) ? coll_refused(fn, comm, rc, root, count, type, uses_op, op) : 0)

/* Non-blocking forms need somewhere to put the request. */
static __attribute__((cold, noinline)) int coll_no_req(const char *fn, tubo_comm_t *comm)
{
  return tubo__error(comm, TUBO_EINVAL, fn, "NULL request pointer");
}

/* ---- The calls ------------------------------------------------------------------------- */

static int barrier_common(const char *fn, tubo_comm_t *comm, tubo_request_t **req, int nonblocking)
{
  tubo__coll_args_t a;
  int rc = check_comm_type(comm, TUBO_BYTE, &a, TUBO__C_BARRIER);
  if (rc != 0)
    return fn != NULL ? tubo__error(comm, rc, fn, NULL) : rc;
  if (nonblocking && req == NULL)
    return coll_no_req(fn, comm);
  rc = coll_go(fn, comm, &a, req);
  return fn != NULL ? tubo__error_ret(comm, rc, fn) : rc;
}

int tubo_barrier(tubo_comm_t *comm)
{
  return barrier_common("tubo_barrier", comm, NULL, 0);
}

int tubo__barrier(tubo_comm_t *comm)
{
  return barrier_common(NULL, comm, NULL, 0);
}

int tubo_ibarrier(tubo_comm_t *comm, tubo_request_t **req)
{
  return barrier_common("tubo_ibarrier", comm, req, 1);
}

static int bcast_common(const char *fn, void *buf, size_t count, tubo_type_t type, int root,
                        tubo_comm_t *comm, tubo_request_t **req, int nonblocking)
{
  tubo__coll_args_t a;
  size_t bytes = 0;
  int rc = check_comm_type(comm, type, &a, TUBO__C_BCAST);
  CHECK(check_root(comm, root, &a));
  CHECK(check_bytes(&a, count, &bytes));
  CHECK(check_buf(buf, bytes));
  if (rc != 0)
    return COLL_CHECKED(fn, comm, rc, root, count, type, 0, NULL);
  if (nonblocking && req == NULL)
    return coll_no_req(fn, comm);
  a.rbuf = buf;
  a.count = count;
  return tubo__error_ret(comm, coll_go(fn, comm, &a, req), fn);
}

int tubo_bcast(void *buf, size_t count, tubo_type_t type, int root, tubo_comm_t *comm)
{
  return bcast_common("tubo_bcast", buf, count, type, root, comm, NULL, 0);
}

int tubo_ibcast(void *buf, size_t count, tubo_type_t type, int root, tubo_comm_t *comm,
                tubo_request_t **req)
{
  return bcast_common("tubo_ibcast", buf, count, type, root, comm, req, 1);
}

/* The arguments of reductions that give every rank count elements (allreduce, scan,
 * exscan): sbuf or TUBO_IN_PLACE, rbuf. */
static int reduce_all_args(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                           const tubo_op_t *op, tubo_comm_t *comm, int kind, tubo__coll_args_t *a)
{
  size_t bytes = 0;
  int rc = check_comm_type(comm, type, a, kind);
  CHECK(check_op(op, a));
  CHECK(check_bytes(a, count, &bytes));
  CHECK(check_buf(rbuf, bytes));
  if (rc == 0 && sbuf != TUBO_IN_PLACE)
    CHECK(check_sbuf(sbuf, bytes, rbuf, bytes));
  args_bufs(a, sbuf, rbuf);
  a->count = count;
  return rc;
}

/* Runs one of those kinds; fn NULL: for the library itself, errors only returned. */
static int reduce_all(const char *fn, const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                      const tubo_op_t *op, tubo_comm_t *comm, int kind, tubo_request_t **req,
                      int nonblocking)
{
  tubo__coll_args_t a;
  int rc = reduce_all_args(sbuf, rbuf, count, type, op, comm, kind, &a);
  if (fn == NULL)
    return rc != 0 ? rc : coll_go(NULL, comm, &a, req);
  if (rc != 0)
    return COLL_CHECKED(fn, comm, rc, -1, count, type, 1, op);
  if (nonblocking && req == NULL)
    return coll_no_req(fn, comm);
  return tubo__error_ret(comm, coll_go(fn, comm, &a, req), fn);
}

int tubo_allreduce(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                   const tubo_op_t *op, tubo_comm_t *comm)
{
  return reduce_all("tubo_allreduce", sbuf, rbuf, count, type, op, comm, TUBO__C_ALLREDUCE, NULL,
                    0);
}

int tubo__allreduce(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                    const tubo_op_t *op, tubo_comm_t *comm)
{
  return reduce_all(NULL, sbuf, rbuf, count, type, op, comm, TUBO__C_ALLREDUCE, NULL, 0);
}

int tubo_iallreduce(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                    const tubo_op_t *op, tubo_comm_t *comm, tubo_request_t **req)
{
  return reduce_all("tubo_iallreduce", sbuf, rbuf, count, type, op, comm, TUBO__C_ALLREDUCE, req,
                    1);
}

int tubo_scan(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, const tubo_op_t *op,
              tubo_comm_t *comm)
{
  return reduce_all("tubo_scan", sbuf, rbuf, count, type, op, comm, TUBO__C_SCAN, NULL, 0);
}

int tubo_exscan(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, const tubo_op_t *op,
                tubo_comm_t *comm)
{
  return reduce_all("tubo_exscan", sbuf, rbuf, count, type, op, comm, TUBO__C_EXSCAN, NULL, 0);
}

int tubo_reduce(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, const tubo_op_t *op,
                int root, tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  size_t bytes = 0;
  int rc = check_comm_type(comm, type, &a, TUBO__C_REDUCE);
  CHECK(check_root(comm, root, &a));
  CHECK(check_op(op, &a));
  CHECK(check_bytes(&a, count, &bytes));
  int at_root = rc == 0 && comm->rank == root;
  if (rc == 0 && (sbuf != TUBO_IN_PLACE || !at_root))
    CHECK(check_buf(sbuf, bytes));
  if (at_root) {
    CHECK(check_buf(rbuf, bytes));
    if (sbuf != TUBO_IN_PLACE)
      CHECK(check_apart(sbuf, bytes, rbuf, bytes));
  }
  if (rc != 0)
    return COLL_CHECKED("tubo_reduce", comm, rc, root, count, type, 1, op);
  args_bufs(&a, sbuf, at_root ? rbuf : NULL);
  a.count = count;
  return tubo__error_ret(comm, coll_go("tubo_reduce", comm, &a, NULL), "tubo_reduce");
}

int tubo_reduce_scatter_block(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                              const tubo_op_t *op, tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  size_t bytes = 0, all = 0, n = 0;
  int rc = check_comm_type(comm, type, &a, TUBO__C_REDUCE_SCATTER_BLOCK);
  CHECK(check_op(op, &a));
  if (rc == 0)
    CHECK(check_mul(count, (size_t)comm->size, &n));
  CHECK(check_bytes(&a, n, &all));
  CHECK(check_bytes(&a, count, &bytes));
  if (rc == 0 && sbuf == TUBO_IN_PLACE) {
    CHECK(check_buf(rbuf, all));
  } else {
    CHECK(check_buf(rbuf, bytes));
    CHECK(check_sbuf(sbuf, all, rbuf, bytes));
  }
  if (rc != 0)
    return COLL_CHECKED("tubo_reduce_scatter_block", comm, rc, -1, count, type, 1, op);
  args_bufs(&a, sbuf, rbuf);
  a.count = count;
  return tubo__error_ret(comm, coll_go("tubo_reduce_scatter_block", comm, &a, NULL),
                         "tubo_reduce_scatter_block");
}

/* The arguments of gather, scatter and their v-forms: every rank's own block (mine,
 * mine_count elements, or TUBO_IN_PLACE at the root) and, at the root, the blocks of all
 * (big: counts and displs, or size blocks of mine_count). Fills a's buffers as the
 * caller's kind names them (gathering: mine is sbuf, big rbuf; else the reverse). */
static int rooted_args(tubo_comm_t *comm, tubo_type_t type, int kind, int root, const void *mine,
                       size_t mine_count, const void *big, const size_t *counts,
                       const size_t *displs, tubo__coll_args_t *a)
{
  size_t bytes = 0, all = 0, n = 0;
  int rc = check_comm_type(comm, type, a, kind);
  CHECK(check_root(comm, root, a));
  int at_root = rc == 0 && comm->rank == root;
  int in_place = mine == TUBO_IN_PLACE && at_root;
  if (!in_place) {
    CHECK(check_bytes(a, mine_count, &bytes));
    CHECK(check_buf(mine, bytes));
  }
  if (at_root) {
    if (counts != NULL || displs != NULL)
      CHECK(check_extent(counts, displs, comm->size, &n));
    else
      CHECK(check_mul(mine_count, (size_t)comm->size, &n));
    CHECK(check_bytes(a, n, &all));
    CHECK(check_buf(big, all));
    if (!in_place)
      CHECK(check_apart(mine, bytes, big, all));
  }
  if (rc != 0)
    return rc;
  int gathering = kind == TUBO__C_GATHER || kind == TUBO__C_GATHERV;
  const void *m = in_place ? NULL : mine, *b = at_root ? big : NULL;
  a->in_place = in_place;
  a->sbuf = gathering ? m : b;
  a->rbuf = (void *)(gathering ? b : m);
  a->count = in_place && counts != NULL ? counts[root] : mine_count;
  if (counts != NULL && gathering) {
    a->rcounts = at_root ? counts : NULL;
    a->rdispls = at_root ? displs : NULL;
  } else if (counts != NULL) {
    a->scounts = at_root ? counts : NULL;
    a->sdispls = at_root ? displs : NULL;
  }
  return 0;
}

int tubo_gather(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, int root,
                tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  int rc = rooted_args(comm, type, TUBO__C_GATHER, root, sbuf, count, rbuf, NULL, NULL, &a);
  if (rc != 0)
    return COLL_CHECKED("tubo_gather", comm, rc, root, count, type, 0, NULL);
  return tubo__error_ret(comm, coll_go("tubo_gather", comm, &a, NULL), "tubo_gather");
}

int tubo_gatherv(const void *sbuf, size_t scount, void *rbuf, const size_t *rcounts,
                 const size_t *displs, tubo_type_t type, int root, tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  /* NULL arrays at the root are its error: one of them stands for the v-form. */
  static const size_t none[1];
  int rc = rooted_args(comm, type, TUBO__C_GATHERV, root, sbuf, scount, rbuf,
                       rcounts != NULL || displs != NULL ? rcounts : none,
                       rcounts != NULL || displs != NULL ? displs : NULL, &a);
  if (rc != 0)
    return COLL_CHECKED("tubo_gatherv", comm, rc, root, scount, type, 0, NULL);
  return tubo__error_ret(comm, coll_go("tubo_gatherv", comm, &a, NULL), "tubo_gatherv");
}

int tubo_scatter(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, int root,
                 tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  int rc = rooted_args(comm, type, TUBO__C_SCATTER, root, rbuf, count, sbuf, NULL, NULL, &a);
  if (rc != 0)
    return COLL_CHECKED("tubo_scatter", comm, rc, root, count, type, 0, NULL);
  return tubo__error_ret(comm, coll_go("tubo_scatter", comm, &a, NULL), "tubo_scatter");
}

int tubo_scatterv(const void *sbuf, const size_t *scounts, const size_t *displs, void *rbuf,
                  size_t rcount, tubo_type_t type, int root, tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  static const size_t none[1];
  int rc = rooted_args(comm, type, TUBO__C_SCATTERV, root, rbuf, rcount, sbuf,
                       scounts != NULL || displs != NULL ? scounts : none,
                       scounts != NULL || displs != NULL ? displs : NULL, &a);
  if (rc != 0)
    return COLL_CHECKED("tubo_scatterv", comm, rc, root, rcount, type, 0, NULL);
  return tubo__error_ret(comm, coll_go("tubo_scatterv", comm, &a, NULL), "tubo_scatterv");
}

int tubo_allgather(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  size_t bytes = 0, all = 0, n = 0;
  int rc = check_comm_type(comm, type, &a, TUBO__C_ALLGATHER);
  CHECK(check_bytes(&a, count, &bytes));
  if (rc == 0)
    CHECK(check_mul(count, (size_t)comm->size, &n));
  CHECK(check_bytes(&a, n, &all));
  CHECK(check_buf(rbuf, all));
  if (sbuf != TUBO_IN_PLACE)
    CHECK(check_sbuf(sbuf, bytes, rbuf, all));
  if (rc != 0)
    return COLL_CHECKED("tubo_allgather", comm, rc, -1, count, type, 0, NULL);
  args_bufs(&a, sbuf, rbuf);
  a.count = count;
  return tubo__error_ret(comm, coll_go("tubo_allgather", comm, &a, NULL), "tubo_allgather");
}

int tubo_allgatherv(const void *sbuf, size_t scount, void *rbuf, const size_t *rcounts,
                    const size_t *displs, tubo_type_t type, tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  size_t bytes = 0, all = 0, end = 0;
  int rc = check_comm_type(comm, type, &a, TUBO__C_ALLGATHERV);
  CHECK(check_extent(rcounts, displs, rc == 0 ? comm->size : 0, &end));
  CHECK(check_bytes(&a, end, &all));
  CHECK(check_buf(rbuf, all));
  if (sbuf != TUBO_IN_PLACE) {
    CHECK(check_bytes(&a, scount, &bytes));
    CHECK(check_sbuf(sbuf, bytes, rbuf, all));
  }
  if (rc != 0)
    return COLL_CHECKED("tubo_allgatherv", comm, rc, -1, scount, type, 0, NULL);
  args_bufs(&a, sbuf, rbuf);
  a.count = a.in_place ? rcounts[comm->rank] : scount;
  a.rcounts = rcounts;
  a.rdispls = displs;
  return tubo__error_ret(comm, coll_go("tubo_allgatherv", comm, &a, NULL), "tubo_allgatherv");
}

int tubo_alltoall(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  size_t all = 0, n = 0;
  int rc = check_comm_type(comm, type, &a, TUBO__C_ALLTOALL);
  if (rc == 0)
    CHECK(check_mul(count, (size_t)comm->size, &n));
  CHECK(check_bytes(&a, n, &all));
  CHECK(check_buf(rbuf, all));
  if (sbuf != TUBO_IN_PLACE)
    CHECK(check_sbuf(sbuf, all, rbuf, all));
  if (rc != 0)
    return COLL_CHECKED("tubo_alltoall", comm, rc, -1, count, type, 0, NULL);
  args_bufs(&a, sbuf, rbuf);
  a.count = count;
  return tubo__error_ret(comm, coll_go("tubo_alltoall", comm, &a, NULL), "tubo_alltoall");
}

int tubo_alltoallv(const void *sbuf, const size_t *scounts, const size_t *sdispls, void *rbuf,
                   const size_t *rcounts, const size_t *rdispls, tubo_type_t type,
                   tubo_comm_t *comm)
{
  tubo__coll_args_t a;
  size_t sall = 0, rall = 0, send = 0, rend = 0;
  int rc = check_comm_type(comm, type, &a, TUBO__C_ALLTOALLV);
  int n = rc == 0 ? comm->size : 0;
  CHECK(check_extent(rcounts, rdispls, n, &rend));
  CHECK(check_bytes(&a, rend, &rall));
  CHECK(check_buf(rbuf, rall));
  if (sbuf != TUBO_IN_PLACE) {
    CHECK(check_extent(scounts, sdispls, n, &send));
    CHECK(check_bytes(&a, send, &sall));
    CHECK(check_sbuf(sbuf, sall, rbuf, rall));
  }
  if (rc != 0)
    return COLL_CHECKED("tubo_alltoallv", comm, rc, -1, 0, type, 0, NULL);
  args_bufs(&a, sbuf, rbuf);
  a.scounts = a.in_place ? NULL : scounts;
  a.sdispls = a.in_place ? NULL : sdispls;
  a.rcounts = rcounts;
  a.rdispls = rdispls;
  return tubo__error_ret(comm, coll_go("tubo_alltoallv", comm, &a, NULL), "tubo_alltoallv");
}
