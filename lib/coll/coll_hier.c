/* SPDX-License-Identifier: MIT */
/* Hierarchical collectives for communicators that span nodes under mpirun: the ranks of
 * each node meet in their node's shared memory (an internal communicator of them, which
 * runs the shared-memory table), and one leader per node (its first rank) runs MPI's own
 * collectives with the other leaders, on an MPI communicator of just them.
 *
 * allreduce follows the communicator's fixed tree (tubo.h): each node's ranks combine
 * into their leader along the tree of the node, the leaders exchange their nodes' parts
 * (MPI_Allgather, or for large vectors MPI_Alltoallv of slices, each leader combining one
 * slice, then MPI_Allgatherv) and combine them along the tree of the nodes, in node
 * order, then each leader gives the result to its node. An operation that is not
 * commutative is left to the point-to-point table, whose tree is over the ranks in order.
 * bcast: the root's node, then the leaders (MPI_Bcast), then the other nodes. barrier:
 * each node, the leaders (MPI_Barrier), each node again. The rest is left to the
 * point-to-point table. The leaders start MPI's non-blocking collectives and make tubo's
 * progress while they wait: a rank sitting inside MPI would not serve the objects it is
 * home to (served.h), and ranks waiting on those would never reach the collective.
 *
 * Built into the MPI part of the library (it sees mpi.h); tubo__coll_hier_table is NULL in
 * builds without MPI (mpi_none.c). */
#include "config.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll.h"
#include "coll/coll_p2p.h"
#include "coll/coll_shm.h"
#include "mpi/mpi_module.h"
#include "mpi/mpi_transport.h"
#include "settings.h"

/* Up to this many bytes of every node's part together, the leaders gather all parts. */
#define HIER_GATHER_MAX (256u << 10)

typedef struct hier {
  tubo_comm_t *node; /* this node's ranks of the communicator (internal) */
  MPI_Comm leaders;  /* the nodes' first ranks, in node order; MPI_COMM_NULL elsewhere */
  int nnodes;
  unsigned char *buf; /* scratch of the leaders */
  size_t cap;
} hier_t;

/* The MPI transport of w, or NULL. */
static void *hier_mpi_state(tubo__world_t *w)
{
  for (int t = 0; t < w->ntports; t++)
    if (w->tports[t].ops == tubo__tp_lookup(TUBO__TP_MPI))
      return w->tports[t].state;
  return NULL;
}

static int hier_room(hier_t *h, size_t n)
{
  if (n <= h->cap)
    return 0;
  unsigned char *b = realloc(h->buf, n);
  if (b == NULL)
    return TUBO_ENOMEM;
  h->buf = b;
  h->cap = n;
  return 0;
}

/* The internal communicator of this node's ranks of comm, with an id agreed on comm. */
static int hier_node_comm(tubo_comm_t *comm, tubo_comm_t **out)
{
  tubo__world_t *w = comm->w;
  unsigned char mask[TUBO__CID_MAX / 8];
  tubo__cid_mask(w, mask);
  tubo__coll_args_t a = {.kind = TUBO__C_ALLREDUCE,
                         .in_place = 1,
                         .rbuf = mask,
                         .count = sizeof mask,
                         .t = tubo__type_info(TUBO_BYTE),
                         .op = tubo__mpi_op_band()};
  tubo__coll_req_t *c = tubo__coll_new(comm, &a, tubo__p2p_allreduce);
  if (c == NULL)
    return TUBO_ENOMEM;
  int rc = tubo__coll_run(c);
  uint16_t id;
  if (rc != 0 || (rc = tubo__cid_take(w, mask, 1, &id)) != 0)
    return rc;
  const tubo__comm_nodes_t *nd = &comm->nodes;
  tubo_comm_t *n = tubo__comm_alloc(w, nd->nlocal, nd->local_rank);
  if (n == NULL) {
    tubo__cid_give(w, id);
    return TUBO_ENOMEM;
  }
  int *to = (int *)n->to_world, *from = (int *)n->from_world;
  for (int i = 0; i < nd->nlocal; i++) {
    to[i] = tubo__comm_world_rank(comm, nd->local[i]);
    from[to[i]] = i;
  }
  n->cid = id;
  n->level_splits = TUBO__NLEVELS; /* it keeps no ids of its own */
  n->internal = 1;
  if ((rc = tubo__comm_publish(n)) == 0)
    rc = tubo__coll_select(n);
  if (rc != 0) {
    tubo__comm_discard(n);
    return rc;
  }
  *out = n;
  return 0;
}

static void hier_teardown(tubo_comm_t *comm)
{
  hier_t *h = comm->coll_state;
  if (h == NULL)
    return;
  int fin = 0;
  MPI_Finalized(&fin);
  if (h->leaders != MPI_COMM_NULL && !fin) {
    tubo__mpi_enter();
    MPI_Comm_free(&h->leaders);
    tubo__mpi_leave();
  }
  if (h->node != NULL)
    tubo__comm_discard(h->node);
  free(h->buf);
  free(h);
}

static int hier_setup(tubo_comm_t *comm)
{
  tubo__world_t *w = comm->w;
  void *mst = hier_mpi_state(w);
  const tubo__comm_nodes_t *nd = &comm->nodes;
  /* The same answer on every rank: the node map is every rank's. */
  if (mst == NULL || nd->n < 2 || !tubo__setting_u64("TUBO_COLL_HIER", 1, 0, 1))
    return TUBO__COLL_DECLINE;
  hier_t *h = calloc(1, sizeof *h);
  if (h == NULL)
    return TUBO_ENOMEM;
  h->leaders = MPI_COMM_NULL;
  h->nnodes = nd->n;
  comm->coll_state = h;
  int rc = hier_node_comm(comm, &h->node);
  if (rc == 0 && nd->local_rank == 0) {
    MPI_Group all, lead;
    int *ranks = malloc((size_t)nd->n * sizeof *ranks);
    if (ranks == NULL) {
      rc = TUBO_ENOMEM;
    } else {
      for (int k = 0; k < nd->n; k++)
        ranks[k] = tubo__comm_world_rank(comm, nd->leader[k]);
      MPI_Comm cc = tubo__mpi_tport_coll_comm(mst);
      tubo__mpi_enter();
      if (MPI_Comm_group(cc, &all) != MPI_SUCCESS ||
          MPI_Group_incl(all, nd->n, ranks, &lead) != MPI_SUCCESS ||
          MPI_Comm_create_group(cc, lead, (int)comm->cid, &h->leaders) != MPI_SUCCESS)
        rc = TUBO_EPEER;
      else
        MPI_Comm_set_errhandler(h->leaders, MPI_ERRORS_RETURN);
      MPI_Group_free(&lead);
      MPI_Group_free(&all);
      tubo__mpi_leave();
      free(ranks);
    }
  }
  if (rc != 0) {
    hier_teardown(comm);
    comm->coll_state = NULL;
  }
  return rc;
}

/* A blocking collective on the node's communicator. */
static int hier_node(hier_t *h, tubo__coll_args_t *a)
{
  if (h->node->size == 1 && a->kind == TUBO__C_BARRIER)
    return 0;
  return tubo__coll_call(h->node, a, NULL);
}

/* Whether an MPI request has completed (tubo__wait_until's test). The wait yields the
 * core between tests where ranks share cores (waitpol.h); Open MPI's own yield inside
 * MPI_Test made that two switches of process per test, each behind the other ranks
 * sharing the core: the leaders' 8-byte step took 10-15% longer (doc/benchmarks.md). */
static int hier_test(void *arg)
{
  int flag = 0;
  int rc = tubo__mpi_test_noyield(arg, &flag);
  if (rc != MPI_SUCCESS)
    return 1; /* failed: MPI_Wait below says so */
  return flag;
}

/* Waits for a started MPI collective while the rank makes progress on the rest of its
 * work: a rank that sits in MPI would not serve the objects it is home to, and ranks that
 * wait on them would never reach the collective. */
static int hier_mpi_wait(tubo__world_t *w, int rc, MPI_Request *r)
{
  tubo__mpi_leave(); /* the collective has started (HIER_MPI) */
  if (rc != MPI_SUCCESS)
    return TUBO_EPEER;
  int wrc = tubo__wait_until(w, hier_test, r);
  if (wrc != 0) {
    /* The job broke: MPI's own handling of the failure ends the request (mpirun stops
     * the job), so it is not waited for again. */
    return wrc;
  }
  if (*r == MPI_REQUEST_NULL)
    return 0;
  tubo__mpi_enter();
  rc = MPI_Wait(r, MPI_STATUS_IGNORE);
  tubo__mpi_leave();
  return rc == MPI_SUCCESS ? 0 : TUBO_EPEER;
}

/* Starts an MPI collective (call) counted in tubo's MPI calls, and waits for it. */
#define HIER_MPI(w, call, r) (tubo__mpi_enter(), hier_mpi_wait((w), (call), (r)))

static int hier_barrier(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  hier_t *h = comm->coll_state;
  tubo__coll_args_t na = *a;
  MPI_Request rq;
  int rc = hier_node(h, &na);
  if (rc == 0 && h->leaders != MPI_COMM_NULL)
    rc = HIER_MPI(comm->w, MPI_Ibarrier(h->leaders, &rq), &rq);
  if (rc == 0)
    rc = hier_node(h, &na);
  return rc;
}

static int hier_bcast(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  hier_t *h = comm->coll_state;
  const tubo__comm_nodes_t *nd = &comm->nodes;
  size_t len = a->count * a->t->size;
  if (len > INT_MAX)
    return TUBO__COLL_DECLINE;
  int rnode = nd->node_of[a->root], rc = 0;
  tubo__coll_args_t na = *a;
  MPI_Request rq;
  if (nd->my == rnode && h->node->size > 1) {
    na.root = tubo__comm_rank_of_world(h->node, tubo__comm_world_rank(comm, a->root));
    rc = hier_node(h, &na);
  }
  if (rc == 0 && h->leaders != MPI_COMM_NULL)
    rc = HIER_MPI(comm->w, MPI_Ibcast(a->rbuf, (int)len, MPI_BYTE, rnode, h->leaders, &rq), &rq);
  if (rc == 0 && nd->my != rnode && h->node->size > 1) {
    na.root = 0;
    rc = hier_node(h, &na);
  }
  return rc;
}

/* Slice k of n elements among the leaders. */
static void hier_slice(const hier_t *h, size_t n, int k, size_t *lo, size_t *hi)
{
  size_t per = (n + (size_t)h->nnodes - 1) / (size_t)h->nnodes;
  *lo = per * (size_t)k < n ? per * (size_t)k : n;
  *hi = *lo + per < n ? *lo + per : n;
}

/* At a leader: part holds the node's part; the result goes to out. */
static int hier_leaders_allreduce(tubo__world_t *w, hier_t *h, const tubo__coll_args_t *a,
                                  const void *part, void *out)
{
  MPI_Request rq;
  size_t es = a->t->size, len = a->count * es;
  int n = h->nnodes, me, rc;
  MPI_Comm_rank(h->leaders, &me);
  unsigned char **parts = malloc((size_t)n * sizeof *parts);
  if (parts == NULL)
    return TUBO_ENOMEM;
  if (len * (size_t)n <= HIER_GATHER_MAX) {
    /* Every node's part at every leader, combined alike by each. */
    if ((rc = hier_room(h, len * (size_t)n)) == 0 &&
        (rc = HIER_MPI(
             w,
             MPI_Iallgather(part, (int)len, MPI_BYTE, h->buf, (int)len, MPI_BYTE, h->leaders, &rq),
             &rq)) == 0) {
      for (int k = 0; k < n; k++)
        parts[k] = h->buf + (size_t)k * len;
      tubo__coll_copy(out, tubo__shmc_tree(a, parts, n, a->count), len);
    }
    free(parts);
    return rc;
  }
  /* Slice k of every part to leader k, which combines it; then every slice to all. */
  int *cnt = malloc(4 * (size_t)n * sizeof *cnt);
  if (cnt == NULL) {
    free(parts);
    return TUBO_ENOMEM;
  }
  int *dsp = cnt + n, *rcnt = cnt + 2 * n, *rdsp = cnt + 3 * n;
  size_t mlo, mhi;
  hier_slice(h, a->count, me, &mlo, &mhi);
  size_t mine = (mhi - mlo) * es;
  for (int k = 0; k < n; k++) {
    size_t lo, hi;
    hier_slice(h, a->count, k, &lo, &hi);
    cnt[k] = (int)((hi - lo) * es);
    dsp[k] = (int)(lo * es);
    rcnt[k] = (int)mine;
    rdsp[k] = (int)(mine * (size_t)k);
  }
  rc = hier_room(h, mine * (size_t)n + 1);
  if (rc == 0)
    rc = HIER_MPI(
        w, MPI_Ialltoallv(part, cnt, dsp, MPI_BYTE, h->buf, rcnt, rdsp, MPI_BYTE, h->leaders, &rq),
        &rq);
  if (rc == 0) {
    for (int k = 0; k < n; k++)
      parts[k] = h->buf + mine * (size_t)k;
    unsigned char *res = mine ? tubo__shmc_tree(a, parts, n, mhi - mlo) : h->buf;
    memmove(h->buf, res, mine);
    rc = HIER_MPI(
        w, MPI_Iallgatherv(h->buf, (int)mine, MPI_BYTE, out, cnt, dsp, MPI_BYTE, h->leaders, &rq),
        &rq);
  }
  free(cnt);
  free(parts);
  return rc;
}

static int hier_allreduce(tubo_comm_t *comm, const tubo__coll_args_t *a)
{
  hier_t *h = comm->coll_state;
  size_t len = a->count * a->t->size;
  if (!a->op->commutative || len * (size_t)h->nnodes > INT_MAX)
    return TUBO__COLL_DECLINE;
  const void *in = a->in_place ? a->rbuf : a->sbuf;
  int leader = h->leaders != MPI_COMM_NULL, rc = 0;
  /* The node's part, at its leader, in a buffer of its own. */
  unsigned char *part = NULL;
  if (leader && (part = malloc(len)) == NULL)
    rc = TUBO_ENOMEM;
  if (rc == 0 && h->node->size > 1) {
    tubo__coll_args_t na = *a;
    na.kind = TUBO__C_REDUCE;
    na.root = 0;
    na.sbuf = in;
    na.in_place = 0;
    na.rbuf = part;
    rc = hier_node(h, &na);
  } else if (rc == 0) {
    tubo__coll_copy(part, in, len);
  }
  if (rc == 0 && leader)
    rc = hier_leaders_allreduce(comm->w, h, a, part, a->rbuf);
  free(part);
  if (rc == 0 && h->node->size > 1) {
    tubo__coll_args_t na = *a;
    na.kind = TUBO__C_BCAST;
    na.root = 0;
    rc = hier_node(h, &na);
  }
  return rc;
}

static const tubo__coll_table_t hier_table = {
    "hier",
    hier_setup,
    hier_teardown,
    {
        [TUBO__C_BARRIER] = hier_barrier,
        [TUBO__C_BCAST] = hier_bcast,
        [TUBO__C_ALLREDUCE] = hier_allreduce,
    },
};

const tubo__coll_table_t *const tubo__coll_hier_table = &hier_table;
