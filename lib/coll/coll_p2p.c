/* SPDX-License-Identifier: MIT */
/* Point-to-point collectives that move data without combining it, and the table of the
 * point-to-point algorithms, which serves every collective on every transport. */
#include "config.h"

#include <string.h>

#include "coll/coll.h"
#include "coll/coll_p2p.h"

static inline size_t bytes_of(const tubo__coll_req_t *c, size_t count)
{
  return count * c->a.t->size;
}

/* Dissemination: in round k each rank signals rank + 2^k and waits for rank - 2^k; after
 * ceil(log2(size)) rounds every rank has heard, directly or not, from every other. */
void tubo__p2p_barrier(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  CO_BEGIN(c);
  for (c->mask = 1, c->k = 0; c->mask < m->size; c->mask <<= 1, c->k++) {
    tubo__coll_recv(c, NULL, 0, (m->rank - c->mask + m->size) % m->size, c->k);
    tubo__coll_send(c, NULL, 0, (m->rank + c->mask) % m->size, c->k);
    CO_WAIT(c);
  }
  CO_END(c);
}

int tubo__p2p_bcast_sub(tubo__coll_req_t *c, void *buf, size_t len, int root, int step)
{
  tubo_comm_t *m = c->comm;
  int vrank = (m->rank - root + m->size) % m->size;
  CO_SUB_BEGIN(c);
  /* The parent is vrank without its lowest set bit; children are vrank + 2^j below it. */
  for (c->i = 1; c->i < m->size; c->i <<= 1)
    if (vrank & c->i) {
      tubo__coll_recv(c, buf, len, (vrank - c->i + root) % m->size, step);
      break;
    }
  CO_SUB_WAIT(c);
  for (c->i >>= 1; c->i > 0; c->i >>= 1)
    if (vrank + c->i < m->size)
      tubo__coll_send(c, buf, len, (vrank + c->i + root) % m->size, step);
  CO_SUB_WAIT(c);
  CO_SUB_END(c);
}

void tubo__p2p_bcast(tubo__coll_req_t *c)
{
  CO_BEGIN(c);
  CO_AWAIT(c, tubo__p2p_bcast_sub(c, c->a.rbuf, bytes_of(c, c->a.count), c->a.root, 0));
  CO_END(c);
}

/* Where rank i's block of a gather or scatter lies, and how long it is. */
static void block_of(const tubo__coll_req_t *c, int i, const size_t *counts, const size_t *displs,
                     size_t *off, size_t *len)
{
  if (counts != NULL) {
    *off = bytes_of(c, displs[i]);
    *len = bytes_of(c, counts[i]);
  } else {
    *off = bytes_of(c, (size_t)i * c->a.count);
    *len = bytes_of(c, c->a.count);
  }
}

/* Gather and gatherv: the root posts a receive for every rank's block at once. */
void tubo__p2p_gather(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  size_t off, len;
  CO_BEGIN(c);
  if (m->rank == c->a.root) {
    for (int i = 0; i < m->size; i++) {
      block_of(c, i, c->a.rcounts, c->a.rdispls, &off, &len);
      if (i != m->rank) {
        tubo__coll_recv(c, (char *)c->a.rbuf + off, len, i, 0);
      } else if (!c->a.in_place) {
        size_t mine = bytes_of(c, c->a.count);
        tubo__coll_copy((char *)c->a.rbuf + off, c->a.sbuf, mine < len ? mine : len);
        if (mine > len)
          c->truncated = 1;
      }
    }
  } else {
    tubo__coll_send(c, c->a.sbuf, bytes_of(c, c->a.count), c->a.root, 0);
  }
  CO_WAIT(c);
  CO_END(c);
}

/* Scatter and scatterv: the root posts a send of every rank's block at once. */
void tubo__p2p_scatter(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  size_t off, len;
  CO_BEGIN(c);
  if (m->rank == c->a.root) {
    for (int i = 0; i < m->size; i++) {
      block_of(c, i, c->a.scounts, c->a.sdispls, &off, &len);
      if (i != m->rank) {
        tubo__coll_send(c, (const char *)c->a.sbuf + off, len, i, 0);
      } else if (!c->a.in_place) {
        size_t cap = bytes_of(c, c->a.count);
        tubo__coll_copy(c->a.rbuf, (const char *)c->a.sbuf + off, len < cap ? len : cap);
        if (len > cap)
          c->truncated = 1;
      }
    }
  } else {
    tubo__coll_recv(c, c->a.rbuf, bytes_of(c, c->a.count), c->a.root, 0);
  }
  CO_WAIT(c);
  CO_END(c);
}

/* Allgather and allgatherv on a ring: in step k each rank passes on the block it got in
 * step k - 1 (its own first), so that after size - 1 steps every rank has every block. */
void tubo__p2p_allgather(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  size_t off, len;
  int right = (m->rank + 1) % m->size, left = (m->rank - 1 + m->size) % m->size;
  CO_BEGIN(c);
  if (!c->a.in_place) {
    block_of(c, m->rank, c->a.rcounts, c->a.rdispls, &off, &len);
    size_t mine = bytes_of(c, c->a.count);
    tubo__coll_copy((char *)c->a.rbuf + off, c->a.sbuf, mine < len ? mine : len);
    if (mine > len)
      c->truncated = 1;
  }
  for (c->k = 0; c->k < m->size - 1; c->k++) {
    int sb = (m->rank - c->k + m->size) % m->size, rb = (m->rank - c->k - 1 + m->size) % m->size;
    block_of(c, sb, c->a.rcounts, c->a.rdispls, &off, &len);
    tubo__coll_send(c, (char *)c->a.rbuf + off, len, right, 0);
    block_of(c, rb, c->a.rcounts, c->a.rdispls, &off, &len);
    tubo__coll_recv(c, (char *)c->a.rbuf + off, len, left, 0);
    CO_WAIT(c);
  }
  CO_END(c);
}

/* Alltoall and alltoallv: every receive, then every send, posted at once; the sends go
 * to rank + 1, rank + 2, ... so that no rank is every rank's first. In place, the blocks
 * to send are copied aside first. */
void tubo__p2p_alltoall(tubo__coll_req_t *c)
{
  tubo_comm_t *m = c->comm;
  const size_t *sc = c->a.scounts, *sd = c->a.sdispls;
  const unsigned char *src = c->a.sbuf;
  size_t off, len, soff, slen;
  CO_BEGIN(c);
  if (c->a.in_place) {
    /* The whole receive buffer as it is: its blocks are what to send. */
    size_t end = 0;
    for (int i = 0; i < m->size; i++) {
      block_of(c, i, c->a.rcounts, c->a.rdispls, &off, &len);
      if (off + len > end)
        end = off + len;
    }
    if (tubo__coll_scratch(c, &c->tmp, end) != 0)
      return;
    tubo__coll_copy(c->tmp, c->a.rbuf, end);
  }
  if (c->a.in_place) {
    src = c->tmp;
    sc = c->a.rcounts;
    sd = c->a.rdispls;
  }
  for (int k = 1; k < m->size; k++) {
    int from = (m->rank - k + m->size) % m->size;
    block_of(c, from, c->a.rcounts, c->a.rdispls, &off, &len);
    tubo__coll_recv(c, (char *)c->a.rbuf + off, len, from, 0);
  }
  for (int k = 1; k < m->size; k++) {
    int to = (m->rank + k) % m->size;
    block_of(c, to, sc, sd, &soff, &slen);
    tubo__coll_send(c, src + soff, slen, to, 0);
  }
  if (!c->a.in_place) {
    block_of(c, m->rank, sc, sd, &soff, &slen);
    block_of(c, m->rank, c->a.rcounts, c->a.rdispls, &off, &len);
    tubo__coll_copy((char *)c->a.rbuf + off, src + soff, slen < len ? slen : len);
    if (slen > len)
      c->truncated = 1;
  }
  CO_WAIT(c);
  CO_END(c);
}

/* The point-to-point table has no blocking functions of its own: coll_api.c runs its
 * step functions (coll_p2p_steps) on the engine. */
const tubo__coll_table_t tubo__coll_p2p = {"p2p", NULL, NULL, {NULL}};
