/* SPDX-License-Identifier: MIT */
/* Making communicators: tubo_comm_dup, tubo_comm_split, tubo_comm_split_type.
 *
 * dup and split cost one allreduce on the parent: a bitwise and of the ranks' masks of
 * free context ids (ctxid.c), followed, for a split, by a table where each rank's slot
 * holds its color and key (complemented, every other slot all ones, so that the same and
 * gathers them). A level split (split_type) uses an id the parent kept for it when it was
 * made and asks the parent nothing: the ranks of each node tell each other their types,
 * keys and where they run (one allgather among the node's ranks), which is all a rank
 * needs to know its group, since every level lies inside a node. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coll/coll.h"
#include "coll/coll_p2p.h"
#include "world.h"

#define MASK_BYTES (TUBO__CID_MAX / 8)

/* What a rank tells the others of a split: color (or type) and key, then where it runs. */
enum { E_COLOR, E_KEY, E_LEVEL, E_WORDS = E_LEVEL + TUBO__NLEVELS - 1 };

/* One allreduce on parent: with_mask, the agreed mask of free ids into mask; with a
 * table, every rank's entry (E_WORDS words) into table (parent->size entries). */
static int split_agree(tubo_comm_t *parent, unsigned char *mask, const int32_t *mine,
                       int32_t *table)
{
  size_t mlen = mask != NULL ? MASK_BYTES : 0;
  size_t tlen = table != NULL ? (size_t)parent->size * E_WORDS * sizeof(int32_t) : 0;
  unsigned char *buf = malloc(mlen + tlen);
  if (buf == NULL)
    return TUBO_ENOMEM;
  if (mask != NULL)
    tubo__cid_mask(parent->w, buf);
  if (table != NULL) {
    memset(buf + mlen, 0xff, tlen);
    int32_t mine_c[E_WORDS];
    for (int i = 0; i < E_WORDS; i++)
      mine_c[i] = ~mine[i];
    memcpy(buf + mlen + (size_t)parent->rank * sizeof mine_c, mine_c, sizeof mine_c);
  }
  int rc = tubo__allreduce(TUBO_IN_PLACE, buf, mlen + tlen, TUBO_BYTE, TUBO_BAND, parent);
  if (rc == 0) {
    if (mask != NULL)
      memcpy(mask, buf, mlen);
    if (table != NULL) {
      memcpy(table, buf + mlen, tlen);
      for (size_t i = 0; i < (size_t)parent->size * E_WORDS; i++)
        table[i] = ~table[i];
    }
  }
  free(buf);
  return rc;
}

/* The entries of the ranks of this rank's node of parent (table, in the order of
 * parent->nodes.local): one allgather among them, on the parent's internal context under
 * a collective number of the parent's, which every rank of the parent takes. */
static int split_node_exchange(tubo_comm_t *parent, const int32_t *mine, int32_t *table)
{
  const tubo__comm_nodes_t *nd = &parent->nodes;
  int *to_world = malloc((size_t)nd->nlocal * sizeof *to_world);
  if (to_world == NULL) {
    parent->coll_seq++;
    return TUBO_ENOMEM;
  }
  for (int i = 0; i < nd->nlocal; i++)
    to_world[i] = tubo__comm_world_rank(parent, nd->local[i]);
  tubo_comm_t node = {.magic = TUBO__COMM_VIEW_MAGIC,
                      .w = parent->w,
                      .rank = nd->local_rank,
                      .size = nd->nlocal,
                      .ctx = parent->ctx_coll,
                      .ctx_coll = parent->ctx_coll,
                      .to_world = to_world,
                      .coll_seq = parent->coll_seq++};
  tubo__coll_args_t a = {.kind = TUBO__C_ALLGATHER,
                         .sbuf = mine,
                         .rbuf = table,
                         .count = E_WORDS,
                         .t = tubo__type_info(TUBO_INT32)};
  int rc = TUBO_ENOMEM;
  tubo__coll_req_t *c = tubo__coll_new(&node, &a, tubo__p2p_allgather);
  if (c != NULL)
    rc = tubo__coll_run(c);
  free(to_world);
  return rc;
}

/* Sorting members by key, then by rank in the parent. */
typedef struct member {
  int32_t key;
  int rank;
} member_t;

static int member_cmp(const void *pa, const void *pb)
{
  const member_t *a = pa, *b = pb;
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return (a->rank > b->rank) - (a->rank < b->rank);
}

/* Makes the communicator of the n members (ranks of parent, in their new order) with
 * context id cid and the ids kept for its level splits (levels, or NULL: it keeps none). */
static int split_make(tubo_comm_t *parent, member_t *m, int n, uint16_t cid, const uint16_t *levels,
                      tubo_comm_t **out)
{
  qsort(m, (size_t)n, sizeof *m, member_cmp);
  int me = -1;
  for (int i = 0; i < n; i++)
    if (m[i].rank == parent->rank)
      me = i;
  tubo_comm_t *c = tubo__comm_alloc(parent->w, n, me);
  if (c != NULL)
    c->errh = parent->errh; /* as MPI: a new communicator inherits its parent's handler */
  if (c == NULL)
    return TUBO_ENOMEM;
  int *to = (int *)c->to_world, *from = (int *)c->from_world;
  for (int i = 0; i < n; i++) {
    to[i] = tubo__comm_world_rank(parent, m[i].rank);
    from[to[i]] = i;
  }
  c->cid = cid;
  if (levels != NULL) {
    memcpy(c->level_cid, levels, sizeof c->level_cid);
    c->level_splits = 0;
  } else {
    c->level_splits = TUBO__NLEVELS; /* none kept: its level splits agree on ids */
  }
  int rc = tubo__comm_publish(c);
  if (rc != 0) {
    tubo__comm_discard(c); /* gives its ids back */
    return rc;
  }
  *out = c;
  return 0;
}

/* Takes the ids of a new communicator from the agreed mask; returns 0 or TUBO_ETOOBIG. */
static int split_ids(tubo_comm_t *parent, const unsigned char *mask, uint16_t *ids)
{
  return tubo__cid_take(parent->w, mask, TUBO__CID_PER_COMM, ids);
}

/* Checks the handle and the out argument of a call that makes a communicator. */
static int split_check(const char *fn, tubo_comm_t *comm, tubo_comm_t **newcomm)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return tubo__error(comm, rc, fn, NULL);
  if (newcomm == NULL)
    return tubo__error(comm, TUBO_EINVAL, fn, "NULL newcomm pointer");
  *newcomm = NULL;
  return 0;
}

int tubo_comm_dup(tubo_comm_t *comm, tubo_comm_t **newcomm)
{
  int rc = split_check("tubo_comm_dup", comm, newcomm);
  if (rc != 0)
    return rc;
  unsigned char mask[MASK_BYTES];
  uint16_t ids[TUBO__CID_PER_COMM];
  if ((rc = split_agree(comm, mask, NULL, NULL)) != 0 || (rc = split_ids(comm, mask, ids)) != 0)
    return tubo__error(comm, rc, "tubo_comm_dup", NULL);
  member_t *m = malloc((size_t)comm->size * sizeof *m);
  if (m == NULL)
    rc = TUBO_ENOMEM;
  for (int i = 0; rc == 0 && i < comm->size; i++)
    m[i] = (member_t){0, i};
  if (rc == 0)
    rc = split_make(comm, m, comm->size, ids[0], ids + 1, newcomm);
  free(m);
  return tubo__error_ret(comm, rc, "tubo_comm_dup");
}

int tubo_comm_split(tubo_comm_t *comm, int color, int key, tubo_comm_t **newcomm)
{
  int rc = split_check("tubo_comm_split", comm, newcomm);
  if (rc != 0)
    return rc;
  int asked = color;
  /* A bad color is this rank's error: it takes part as TUBO_UNDEFINED, so that the
   * others' calls complete. */
  int bad = color < 0 && color != TUBO_UNDEFINED ? TUBO_EINVAL : 0;
  if (bad)
    color = TUBO_UNDEFINED;
  int32_t mine[E_WORDS] = {color, key};
  unsigned char mask[MASK_BYTES];
  int32_t *table = malloc((size_t)comm->size * sizeof mine);
  member_t *m = malloc((size_t)comm->size * sizeof *m);
  if (table == NULL || m == NULL) {
    free(table);
    free(m);
    return tubo__error(comm, TUBO_ENOMEM, "tubo_comm_split", NULL);
  }
  rc = split_agree(comm, mask, mine, table);
  int n = 0;
  for (int r = 0; rc == 0 && r < comm->size; r++)
    if (table[r * E_WORDS + E_COLOR] == color)
      m[n++] = (member_t){table[r * E_WORDS + E_KEY], r};
  uint16_t ids[TUBO__CID_PER_COMM];
  if (rc == 0 && color != TUBO_UNDEFINED && (rc = split_ids(comm, mask, ids)) == 0)
    rc = split_make(comm, m, n, ids[0], ids + 1, newcomm);
  free(table);
  free(m);
  if (rc == 0 && bad != 0)
    return tubo__error(comm, bad, "tubo_comm_split", "color %d is negative and not TUBO_UNDEFINED",
                       asked);
  return tubo__error_ret(comm, rc, "tubo_comm_split");
}

/* Whether ranks of entries a and b share level type (TUBO_COMM_TYPE_x) on one node. */
static int split_same_level(const int32_t *a, const int32_t *b, int type)
{
  if (type == TUBO_COMM_TYPE_NODE)
    return 1;
  int32_t la = a[E_LEVEL + type - 2], lb = b[E_LEVEL + type - 2];
  return la >= 0 && la == lb;
}

int tubo_comm_split_type(tubo_comm_t *comm, int type, int key, tubo_comm_t **newcomm)
{
  int rc = split_check("tubo_comm_split_type", comm, newcomm);
  if (rc != 0)
    return rc;
  int bad = 0, asked = type;
  if (type != TUBO_UNDEFINED && (type < TUBO_COMM_TYPE_NODE || type > TUBO_COMM_TYPE_CORE)) {
    bad = TUBO_EINVAL;
    type = TUBO_UNDEFINED;
  }
  tubo__world_t *w = comm->w;
  int32_t mine[E_WORDS] = {type, key};
  for (int k = 1; k < TUBO__NLEVELS; k++)
    mine[E_LEVEL + k - 1] = w->where.at[k];
  /* The parent kept ids for its first level splits: then only the node's ranks talk.
   * Later ones agree on ids with the parent, and learn every entry on the way. */
  int slot = comm->level_splits++;
  int kept = slot < TUBO__NLEVELS;
  const tubo__comm_nodes_t *nd = &comm->nodes;
  int nrows = kept ? nd->nlocal : comm->size;
  int32_t *table = malloc((size_t)nrows * sizeof mine);
  member_t *m = malloc((size_t)nrows * sizeof *m);
  if (table == NULL || m == NULL) {
    free(table);
    free(m);
    if (kept)
      comm->coll_seq++; /* as split_node_exchange would have */
    return tubo__error(comm, TUBO_ENOMEM, "tubo_comm_split_type", NULL);
  }
  unsigned char mask[MASK_BYTES];
  rc = kept ? split_node_exchange(comm, mine, table) : split_agree(comm, mask, mine, table);
  int n = 0;
  for (int i = 0; rc == 0 && type != TUBO_UNDEFINED && i < nrows; i++) {
    int r = kept ? nd->local[i] : i;
    const int32_t *e = table + (size_t)i * E_WORDS;
    if (e[E_COLOR] != type || w->node_id[tubo__comm_world_rank(comm, r)] != w->node_id[w->rank])
      continue;
    /* A rank bound under no object of the level is alone. */
    if (r == comm->rank || split_same_level(mine, e, type))
      m[n++] = (member_t){e[E_KEY], r};
  }
  if (rc == 0 && type != TUBO_UNDEFINED) {
    uint16_t ids[TUBO__CID_PER_COMM];
    if (kept)
      rc = split_make(comm, m, n, comm->level_cid[slot], NULL, newcomm);
    else if ((rc = split_ids(comm, mask, ids)) == 0)
      rc = split_make(comm, m, n, ids[0], ids + 1, newcomm);
  }
  if (kept && (rc != 0 || type == TUBO_UNDEFINED) && *newcomm == NULL) {
    /* The kept id goes unused on this rank: give it back. */
    tubo__cid_give(w, comm->level_cid[slot]);
  }
  free(table);
  free(m);
  if (rc == 0 && bad != 0)
    return tubo__error(comm, bad, "tubo_comm_split_type",
                       "type %d is neither a TUBO_COMM_TYPE_ value nor TUBO_UNDEFINED", asked);
  return tubo__error_ret(comm, rc, "tubo_comm_split_type");
}
