/* SPDX-License-Identifier: MIT */
/* A world's life: made from a launch description, left, freed. A process lives in the
 * world tubo_init joins, and in those it made with tubo_spawn. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coll/coll.h"
#include "engine.h"
#include "settings.h"
#include "topo.h"
#include "world.h"

/* What this rank needs of the machine: given by the launcher, which read the topology
 * once for every rank, or else read here. */
static void world_here(tubo__world_t *w, const tubo__here_t *given)
{
  if (given != NULL) {
    w->here = *given;
    return;
  }
  if (tubo__topo_load(&w->topo) != 0)
    w->topo = NULL; /* placement-aware choices fall back to defaults */
  if (w->topo != NULL) {
    tubo__topo_here_self(w->topo, &w->here);
    return;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  w->here = (tubo__here_t){n > 0 ? (int)n : 1, {-1, -1, -1, -1, -1}, -1};
}

/* Where this rank runs: the levels of tubo_comm_split_type (its node is set by
 * tubo__world_ready, from the world's node map). */
static void world_where_self(tubo__world_t *w)
{
  const tubo__locality_t loc = w->here.loc;
  w->where.at[TUBO_COMM_TYPE_PACKAGE - 1] = loc.package;
  w->where.at[TUBO_COMM_TYPE_NUMA - 1] = loc.numa;
  w->where.at[TUBO_COMM_TYPE_L3CACHE - 1] = loc.l3;
  w->where.at[TUBO_COMM_TYPE_L2CACHE - 1] = loc.l2;
  w->where.at[TUBO_COMM_TYPE_CORE - 1] = loc.core;
}

/* The memory of the world freed last, kept until the next is freed: the next world made
 * would often get the same address, and a handle of the old one's communicator (kept by a
 * program after tubo_spawn_join or tubo_finalize) would pass for the new world's. */
static tubo__world_t *world_retired;

void tubo__world_free(tubo__world_t *w)
{
  if (w == NULL)
    return;
  tubo__comm_free_all(w);
  tubo__coll_deselect(&w->world_comm);
  free(w->world_comm.nodes.node_of);
  free(w->world_comm.nodes.leader);
  free(w->world_comm.nodes.local);
  free(w->pipe_seq);
  free(w->node_id);
  tubo__topo_free(w->topo);
  for (int t = 0; t < w->ntports; t++)
    if (w->tports[t].state != NULL)
      w->tports[t].ops->close(w->tports[t].state);
  tubo__unexp_fini(w);
  tubo__reqpool_fini(&w->pool);
  tubo__launch_free(&w->launch);
  tubo__send_adapt_fini(w);
  free(w->peers);
  w->world_comm.magic = 0;
  free(world_retired);
  world_retired = w;
}

/* Adds to w a transport just opened, over n ranks: its rank i is world rank
 * world_ranks[i] (NULL: i itself). caps->rndv_min, if not 0, becomes those peers'
 * single-copy threshold. */
static void world_attach_tport(tubo__world_t *w, const tubo__tp_ops_t *ops, void *state,
                               const tubo__tp_caps_t *caps, int n, const int *world_ranks)
{
  tubo__tport_t *t = &w->tports[w->ntports];
  t->ops = ops;
  t->state = state;
  t->caps = *caps;
  for (int i = 0; i < n; i++) {
    int p = world_ranks ? world_ranks[i] : i;
    if (p == w->rank)
      continue;
    w->peers[p].tport = (uint8_t)w->ntports;
    w->peers[p].tpeer = i;
    w->peers[p].frame_max = caps->frame_max;
    if (!caps->single_copy)
      tubo__tp_set_rndv(w, p, SIZE_MAX);
    else if (caps->rndv_min != 0)
      tubo__tp_set_rndv(w, p, caps->rndv_min);
  }
  w->ntports++;
}

int tubo__world_add_tport(tubo__world_t *w, enum tubo__transport_kind kind, tubo__launch_t *l,
                          const void *arg)
{
  const tubo__tp_ops_t *ops = tubo__tp_lookup(kind);
  if (ops == NULL || w->ntports >= TUBO__MAX_TPORTS)
    return TUBO_ELAUNCH;
  for (int t = 0; t < w->ntports; t++)
    if (w->tports[t].ops == ops)
      return TUBO_ELAUNCH; /* each kind once: the table has room for one of each */
  const int *world_ranks = l->world_of;
  /* The transport sets the single-copy threshold of the peers it serves as it opens;
   * until then they have none. */
  for (int i = 0; i < l->size; i++)
    tubo__tp_set_rndv(w, world_ranks ? world_ranks[i] : i, SIZE_MAX);
  void *state = NULL;
  tubo__tp_caps_t caps = {0, 0, 0, 0};
  int rc = ops->open(w, l, arg, &state, &caps);
  if (rc != 0)
    return rc;
  world_attach_tport(w, ops, state, &caps, l->size, world_ranks);
  return 0;
}

int tubo__world_new(int rank, int size, int local_size, const tubo__here_t *here,
                    tubo__world_t **out)
{
  tubo__world_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return TUBO_ENOMEM;
  w->launch.shm_fd = w->launch.pipe_rfd = -1;
  w->rank = rank;
  w->size = size;
  w->wait_peer = -1;
  w->peers = calloc((size_t)size, sizeof *w->peers);
  w->node_id = calloc((size_t)size, sizeof *w->node_id); /* one node, until told otherwise */
  if (w->peers == NULL || w->node_id == NULL) {
    free(w->peers);
    free(w->node_id);
    free(w);
    return TUBO_ENOMEM;
  }
  for (int p = 0; p < size; p++) {
    tubo__tp_set_rndv(w, p, SIZE_MAX); /* no single copy unless a transport offers it */
    w->peers[p].loc = (tubo__locality_t){-1, -1, -1, -1, -1};
  }
  world_here(w, here);
  world_where_self(w);
  w->oversubscribed = local_size > w->here.npus;
  tubo__waitpol_init(&w->wait, w->oversubscribed);
  w->sleep_ms =
      (int)tubo__setting_u64("TUBO_SLEEP_MS", TUBO__SLEEP_MS_DEFAULT, 1, TUBO__SLEEP_MS_MAX);
  w->world_comm = (tubo_comm_t){.magic = TUBO__COMM_MAGIC,
                                .w = w,
                                .rank = w->rank,
                                .size = w->size,
                                .ctx = TUBO__CTX_WORLD,
                                .ctx_coll = TUBO__CTX_WORLD_COLL};
  tubo__cid_init(w);
  *out = w;
  return 0;
}

int tubo__world_ready(tubo__world_t *w)
{
  w->nact = 0;
  for (int t = 0; t < w->ntports; t++) {
    int serves = 0;
    for (int p = 0; p < w->size && !serves; p++)
      serves = p != w->rank && w->peers[p].tport == t;
    if (serves)
      w->act[w->nact++] = (uint8_t)t;
  }
  tubo__topo_free(w->topo);
  w->topo = NULL;
  tubo__reqpool_prepare(&w->pool);
  w->where.at[0] = w->node_id[w->rank];
  return tubo__comm_nodes_build(&w->world_comm);
}

int tubo__world_create(tubo__launch_t *l, tubo__world_t **out)
{
  tubo__world_t *w;
  int rc = tubo__world_new(l->rank, l->size, l->local_size, l->here_given ? &l->here : NULL, &w);
  if (rc != 0) {
    tubo__launch_free(l);
    return rc;
  }
  w->launch = *l;
  memset(l, 0, sizeof *l);
  l->shm_fd = l->pipe_rfd = -1;
  if (w->size > 1) {
    rc = tubo__world_add_tport(w, w->launch.transport, &w->launch, NULL);
    if (rc != 0) {
      tubo__world_free(w);
      return rc;
    }
  }
  if ((rc = tubo__world_ready(w)) != 0) {
    tubo__world_free(w);
    return rc;
  }
  *out = w;
  return 0;
}

static int world_sends_done(void *arg)
{
  tubo__world_t *w = arg;
  return w->sq_peers == 0 && w->waitfin == 0;
}

int tubo__world_leave(tubo__world_t *w)
{
  /* Sends still on their way must leave before this rank does. */
  int rc = tubo__wait_until(w, world_sends_done, w);
  /* A job that broke (a peer died, or it was aborted) is reported here as tubo.h says,
   * also when nothing was left to send and the wait above had no reason to look. */
  if (rc == 0)
    rc = tubo__world_health(w);
  for (int t = 0; t < w->ntports; t++)
    w->tports[t].ops->leave(w->tports[t].state);
  w->world_comm.magic = 0;
  return rc == TUBO_EDEADLK ? 0 : rc;
}

/* The live worlds: the one tubo_init joined and those tubo_spawn made. */
static tubo__list_t world_live;
int tubo__nworlds;

void tubo__world_register(tubo__world_t *w)
{
  tubo__list_prepend(&world_live, &w->live_link);
  tubo__nworlds++;
}

void tubo__world_unregister(tubo__world_t *w)
{
  if (!tubo__list_contains(&world_live, &w->live_link))
    return;
  tubo__list_remove(&world_live, &w->live_link);
  tubo__nworlds--;
}

/* The live views of communicators (tubo__comm_view). */
static tubo__list_t world_views;

void tubo__comm_view(const tubo_comm_t *c, uint16_t ctx, tubo_comm_t *out)
{
  *out = *c;
  out->ctx = ctx;
  out->magic = TUBO__COMM_VIEW_MAGIC;
  out->errh = TUBO_ERRORS_RETURN;
  tubo__list_prepend(&world_views, &out->view_link);
}

void tubo__comm_view_end(tubo_comm_t *view)
{
  if (tubo__list_contains(&world_views, &view->view_link))
    tubo__list_remove(&world_views, &view->view_link);
  view->magic = 0;
}

int tubo__comm_check_slow(const tubo_comm_t *c)
{
  if (tubo__nworlds == 0)
    return TUBO_ENOTINIT; /* every handle there was is stale: do not follow it */
  /* Found by address first: a handle of a freed world is never followed. */
  tubo__world_t *w;
  TUBO__LIST_FOREACH(w, &world_live, tubo__world_t, live_link) {
    if (c == &w->world_comm)
      return c->magic == TUBO__COMM_MAGIC ? 0 : TUBO_ECOMM;
  }
  tubo_comm_t *v;
  TUBO__LIST_FOREACH(v, &world_views, tubo_comm_t, view_link) {
    if (c == v)
      return 0;
  }
  /* An allocated communicator: live in the registry, and of a live world (the registry
   * outlives the worlds of a forked child's parent). */
  if (tubo__comm_live(c) && c->magic == TUBO__COMM_MAGIC) {
    TUBO__LIST_FOREACH(w, &world_live, tubo__world_t, live_link) {
      if (c->w == w)
        return 0;
    }
  }
  return TUBO_ECOMM;
}

tubo__world_t *tubo__req_world(const tubo_request_t *r)
{
  tubo__world_t *w;
  TUBO__LIST_FOREACH(w, &world_live, tubo__world_t, live_link) {
    if (tubo__req_in_pool(&w->pool, r))
      return w;
  }
  return NULL;
}

void tubo__world_forget(void)
{
  /* In a forked child: the parent's worlds are copies this process may keep; they are no
   * longer its own. */
  tubo__list_init(&world_live);
  tubo__list_init(&world_views);
  tubo__nworlds = 0;
  tubo__world_set_own(NULL);
}

void tubo__world_set_watcher(tubo__world_t *w, tubo__watcher_fn fn, void *arg)
{
  w->watcher = fn;
  w->watcher_arg = fn != NULL ? arg : NULL;
}

void *tubo__world_watcher(const tubo__world_t *w, tubo__watcher_fn fn)
{
  return fn != NULL && w->watcher == fn ? w->watcher_arg : NULL;
}

void tubo__selfcheck_add(tubo__world_t *w, tubo__selfcheck_t *c)
{
  tubo__list_prepend(&w->selfchecks, &c->link);
}

void tubo__selfcheck_remove(tubo__world_t *w, tubo__selfcheck_t *c)
{
  if (tubo__list_contains(&w->selfchecks, &c->link))
    tubo__list_remove(&w->selfchecks, &c->link);
}

int tubo__world_health(tubo__world_t *w)
{
  if (w->watcher != NULL)
    w->watcher(w->watcher_arg);
  /* A forgery in what this rank published may hold others waiting for it while it waits
   * elsewhere (for one of them, perhaps): it is looked for at every wait's slow path. */
  tubo__selfcheck_t *sc;
  TUBO__LIST_FOREACH(sc, &w->selfchecks, tubo__selfcheck_t, link) {
    if (sc->run(sc->arg) != 0)
      tubo__job_corrupt(w);
  }
  for (int t = 0; t < w->ntports; t++) {
    int c = w->tports[t].ops->check(w->tports[t].state);
    /* An abort explains every death that follows it: it wins over TUBO_EPEER. */
    if (c < 0 && (!w->broken || c == TUBO_EABORT))
      tubo__job_break(w, c);
  }
  return w->broken ? w->broken_code : 0;
}
