/* SPDX-License-Identifier: MIT */
/* In the MPI module (mpi_module.h): the core's functions the module calls, each passed on
 * through the table the core handed over at load time. The module's own copies, hidden
 * like the core's: the transport, the world and the collectives call them by their usual
 * names. */
#include "config.h"

#include "coll/coll_p2p.h"
#include "coll/coll_shm.h"
#include "engine.h"
#include "launch/jobctl.h"
#include "mpi/mpi_module.h"
#include "os/os.h"
#include "settings.h"

/* Set once by the module's entry (mpi_module.c), before any other call. */
const tubo__mpi_core_t *tubo__mpi_core;
#define CORE tubo__mpi_core

void tubo__cid_give(tubo__world_t *w, uint16_t id)
{
  CORE->cid_give(w, id);
}

void tubo__cid_mask(const tubo__world_t *w, unsigned char *mask)
{
  CORE->cid_mask(w, mask);
}

int tubo__cid_take(tubo__world_t *w, const unsigned char *agreed, int n, uint16_t *ids)
{
  return CORE->cid_take(w, agreed, n, ids);
}

int tubo__coll_call(tubo_comm_t *comm, tubo__coll_args_t *a, tubo_request_t **req)
{
  return CORE->coll_call(comm, a, req);
}

tubo__coll_req_t *tubo__coll_new(tubo_comm_t *comm, const tubo__coll_args_t *a,
                                 tubo__coll_step_t step)
{
  return CORE->coll_new(comm, a, step);
}

int tubo__coll_run(tubo__coll_req_t *c)
{
  return CORE->coll_run(c);
}

int tubo__coll_select(tubo_comm_t *comm)
{
  return CORE->coll_select(comm);
}

tubo_comm_t *tubo__comm_alloc(tubo__world_t *w, int size, int rank)
{
  return CORE->comm_alloc(w, size, rank);
}

void tubo__comm_discard(tubo_comm_t *c)
{
  CORE->comm_discard(c);
}

int tubo__comm_publish(tubo_comm_t *c)
{
  return CORE->comm_publish(c);
}

int tubo__comm_rank_of_world(const tubo_comm_t *c, int wr)
{
  return CORE->comm_rank_of_world(c, wr);
}

int tubo__deliver(tubo__world_t *w, int src, const tubo__frame_t *f, const void *payload, int must)
{
  return CORE->deliver(w, src, f, payload, must);
}

int tubo__jobctl_create(uint32_t nranks, const uint8_t jobid[16], int32_t launcher_pid,
                        struct tubo__jobctl **ctl)
{
  return CORE->jobctl_create(nranks, jobid, launcher_pid, ctl);
}

int tubo__os_random(void *buf, size_t len)
{
  return CORE->os_random(buf, len);
}

int tubo__os_shm_from(pid_t pid, int fd)
{
  return CORE->os_shm_from(pid, fd);
}

void tubo__p2p_allreduce(tubo__coll_req_t *c)
{
  CORE->p2p_allreduce(c);
}

void tubo__read_done(tubo__world_t *w, tubo_request_t *r, uint32_t sreq, int err)
{
  CORE->read_done(w, r, sreq, err);
}

int tubo__recv_general(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                       tubo_status_t *status)
{
  return CORE->recv_general(buf, cap, source, tag, comm, status);
}

void tubo__rts_sent(tubo__world_t *w, uint32_t sreq)
{
  CORE->rts_sent(w, sreq);
}

uint64_t tubo__setting_u64(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi)
{
  return CORE->setting_u64(name, dflt, lo, hi);
}

unsigned char *tubo__shmc_tree(const tubo__coll_args_t *a, unsigned char **parts, int n,
                               size_t count)
{
  return CORE->shmc_tree(a, parts, n, count);
}

const tubo__tp_ops_t *tubo__tp_lookup(enum tubo__transport_kind kind)
{
  return CORE->tp_lookup(kind);
}

int tubo__tp_serve(tubo__world_t *w)
{
  return CORE->tp_serve(w);
}

const tubo__type_info_t *tubo__type_info(tubo_type_t type)
{
  return CORE->type_info(type);
}

int tubo__wait_until(tubo__world_t *w, int (*done)(void *), void *arg)
{
  return CORE->wait_until(w, done, arg);
}

int tubo__world_add_tport(tubo__world_t *w, enum tubo__transport_kind kind, tubo__launch_t *l,
                          const void *arg)
{
  return CORE->world_add_tport(w, kind, l, arg);
}

void tubo__world_free(tubo__world_t *w)
{
  CORE->world_free(w);
}

int tubo__world_new(int rank, int size, int local_size, const tubo__here_t *here,
                    tubo__world_t **out)
{
  return CORE->world_new(rank, size, local_size, here, out);
}

int tubo__world_ready(tubo__world_t *w)
{
  return CORE->world_ready(w);
}

tubo_op_t *tubo__mpi_op_band(void)
{
  return CORE->op_band;
}
