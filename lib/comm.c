/* SPDX-License-Identifier: MIT */
/* Communicator handles: the world's, and those made from it (comm_split.c), as allocated
 * objects with rank maps both ways and a node map, found by address in the registry of
 * live handles before they are followed. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coll/coll.h"
#include "handles.h"
#include "world.h"

tubo_comm_t *tubo_comm_world(void)
{
  return tubo__comm_world_handle;
}

int tubo_comm_rank(const tubo_comm_t *comm, int *rank)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return tubo__error((tubo_comm_t *)comm, rc, "tubo_comm_rank", NULL);
  if (rank == NULL)
    return tubo__error((tubo_comm_t *)comm, TUBO_EINVAL, "tubo_comm_rank", "NULL rank pointer");
  *rank = comm->rank;
  return 0;
}

int tubo_comm_size(const tubo_comm_t *comm, int *size)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return tubo__error((tubo_comm_t *)comm, rc, "tubo_comm_size", NULL);
  if (size == NULL)
    return tubo__error((tubo_comm_t *)comm, TUBO_EINVAL, "tubo_comm_size", "NULL size pointer");
  *size = comm->size;
  return 0;
}

int tubo_comm_transport(const tubo_comm_t *comm, int rank, const char **name)
{
  tubo_comm_t *c = (tubo_comm_t *)comm;
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return tubo__error(c, rc, "tubo_comm_transport", NULL);
  if (rank < 0 || rank >= comm->size)
    return tubo__error(c, TUBO_ERANK, "tubo_comm_transport",
                       "rank %d out of range for a communicator of %d", rank, comm->size);
  if (name == NULL)
    return tubo__error(c, TUBO_EINVAL, "tubo_comm_transport", "NULL name pointer");
  tubo__world_t *w = comm->w;
  int wr = tubo__comm_world_rank(comm, rank);
  *name = wr == w->rank ? "self" : tubo__tport_of(w, wr)->ops->name;
  return 0;
}

int tubo__comm_pipe_ctx(tubo_comm_t *comm, int peer, uint16_t *ctx)
{
  /* Counted per pair of processes, whatever the communicator: two pipes between the same
   * two ranks never share a context, on one communicator or on two. */
  tubo__world_t *w = comm->w;
  if (w->pipe_seq == NULL) {
    w->pipe_seq = calloc((size_t)w->size, sizeof *w->pipe_seq);
    if (w->pipe_seq == NULL)
      return TUBO_ENOMEM;
  }
  int wp = tubo__comm_world_rank(comm, peer);
  if (w->pipe_seq[wp] >= 0x7fff)
    return TUBO_ETOOBIG;
  *ctx = (uint16_t)(TUBO__CTX_PIPE_BASE + w->pipe_seq[wp]++);
  return 0;
}

int tubo__comm_rank_of_world(const tubo_comm_t *c, int wr)
{
  if (c->from_world == NULL)
    return wr;
  return wr >= 0 && wr < c->w->size ? c->from_world[wr] : -1;
}

/* ---- The node map ----------------------------------------------------------------------- */

static void nodes_free(tubo__comm_nodes_t *nd)
{
  free(nd->node_of);
  free(nd->leader);
  free(nd->local);
  memset(nd, 0, sizeof *nd);
}

int tubo__comm_nodes_build(tubo_comm_t *c)
{
  tubo__comm_nodes_t *nd = &c->nodes;
  const int32_t *node_id = c->w->node_id;
  int n = c->size;
  nd->node_of = malloc((size_t)n * sizeof *nd->node_of);
  nd->leader = malloc((size_t)n * sizeof *nd->leader);
  nd->local = malloc((size_t)n * sizeof *nd->local);
  if (nd->node_of == NULL || nd->leader == NULL || nd->local == NULL) {
    nodes_free(nd);
    return TUBO_ENOMEM;
  }
  /* Nodes in the order of their first rank: a rank's node is that of the first rank
   * found on the same node (a quadratic scan only over the nodes found so far). */
  nd->n = 0;
  for (int r = 0; r < n; r++) {
    int32_t id = node_id[tubo__comm_world_rank(c, r)];
    int k = 0;
    while (k < nd->n && node_id[tubo__comm_world_rank(c, nd->leader[k])] != id)
      k++;
    if (k == nd->n)
      nd->leader[nd->n++] = r;
    nd->node_of[r] = k;
    if (r == c->rank)
      nd->my = k;
  }
  nd->nlocal = 0;
  for (int r = 0; r < n; r++)
    if (nd->node_of[r] == nd->my) {
      if (r == c->rank)
        nd->local_rank = nd->nlocal;
      nd->local[nd->nlocal++] = r;
    }
  return 0;
}

/* ---- Allocated communicators ----------------------------------------------------------- */

tubo_comm_t *tubo__comm_alloc(tubo__world_t *w, int size, int rank)
{
  tubo_comm_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  int *to = malloc((size_t)size * sizeof *to);
  int *from = malloc((size_t)w->size * sizeof *from);
  if (to == NULL || from == NULL) {
    free(to);
    free(from);
    free(c);
    return NULL;
  }
  for (int i = 0; i < w->size; i++)
    from[i] = -1;
  c->w = w;
  c->size = size;
  c->rank = rank;
  c->to_world = to;
  c->from_world = from;
  return c;
}

/* The maps an allocated communicator owns. */
static void comm_release(tubo_comm_t *c)
{
  tubo__coll_deselect(c);
  nodes_free(&c->nodes);
  free((void *)c->to_world);
  free((void *)c->from_world);
  c->magic = 0;
  free(c);
}

int tubo__comm_publish(tubo_comm_t *c)
{
  c->ctx = (uint16_t)(2 * c->cid);
  c->ctx_coll = (uint16_t)(2 * c->cid + 1);
  int rc = tubo__comm_nodes_build(c);
  if (rc == 0 && (rc = tubo__handle_add(c, TUBO__H_COMM)) == 0) {
    c->magic = TUBO__COMM_MAGIC;
    /* An internal one is its owner's to free, not the world's. */
    if (!c->internal) {
      c->next_comm = c->w->comms;
      c->w->comms = c;
    }
  }
  return rc;
}

void tubo__comm_discard(tubo_comm_t *c)
{
  if (c == NULL)
    return;
  if (c->magic == TUBO__COMM_MAGIC) {
    tubo__handle_remove(c);
    for (tubo_comm_t **p = &c->w->comms; *p != NULL && !c->internal; p = &(*p)->next_comm)
      if (*p == c) {
        *p = c->next_comm;
        break;
      }
  }
  tubo__cid_release(c);
  comm_release(c);
}

int tubo_comm_free(tubo_comm_t **comm)
{
  if (comm == NULL)
    return tubo__error(NULL, TUBO_EINVAL, "tubo_comm_free", "NULL communicator pointer");
  int rc = tubo__comm_check(*comm);
  if (rc != 0)
    return tubo__error(*comm, rc, "tubo_comm_free", NULL);
  tubo_comm_t *c = *comm;
  /* The world, spawned worlds' communicators and internal ones are not this call's to
   * free. */
  if (c == &c->w->world_comm || c->magic != TUBO__COMM_MAGIC || c->internal)
    return tubo__error(c, TUBO_ECOMM, "tubo_comm_free",
                       "communicator %p is not one tubo_comm_dup or tubo_comm_split made",
                       (void *)c);
  tubo__comm_discard(c);
  *comm = NULL;
  return 0;
}

void tubo__comm_free_all(tubo__world_t *w)
{
  while (w->comms != NULL)
    tubo__comm_discard(w->comms);
}

int tubo__comm_live(const tubo_comm_t *c)
{
  return tubo__handle_live(c, TUBO__H_COMM);
}
