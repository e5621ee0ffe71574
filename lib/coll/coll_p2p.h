/* SPDX-License-Identifier: MIT */
/* The point-to-point algorithms (coll_p2p.c, coll_p2p_reduce.c): step functions of the
 * engine (coll.h), one per collective, and the sub-steps they share. */
#ifndef TUBO_COLL_P2P_H
#define TUBO_COLL_P2P_H

#include "coll/coll.h"

void tubo__p2p_barrier(tubo__coll_req_t *c);
void tubo__p2p_bcast(tubo__coll_req_t *c);
void tubo__p2p_reduce(tubo__coll_req_t *c);
void tubo__p2p_allreduce(tubo__coll_req_t *c);
void tubo__p2p_gather(tubo__coll_req_t *c);
void tubo__p2p_scatter(tubo__coll_req_t *c);
void tubo__p2p_allgather(tubo__coll_req_t *c);
void tubo__p2p_alltoall(tubo__coll_req_t *c);
void tubo__p2p_reduce_scatter_block(tubo__coll_req_t *c);
void tubo__p2p_scan(tubo__coll_req_t *c);

/* Sub-step: sends len bytes of buf from comm rank root to every rank's buf, along a
 * binomial tree; tag phase step. */
int tubo__p2p_bcast_sub(tubo__coll_req_t *c, void *buf, size_t len, int root, int step);

#endif /* TUBO_COLL_P2P_H */
