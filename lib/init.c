/* SPDX-License-Identifier: MIT */
/* Joining and leaving the job: tubo_init, tubo_finalize, tubo_abort. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"
#include "settings.h"
#include "topo.h"
#include "world.h"

tubo__world_t *tubo__world;

/* 0: never initialized; 1: initialized; 2: finalized (MPI forbids a second init). */
static int init_phase;

/* How long to spin before sleeping: long on a node with a core per rank, where the reply
 * is usually a microsecond away; short when ranks share cores, where spinning only
 * delays the rank we wait for. */
static uint64_t init_spin_ns(const tubo__world_t *w)
{
  uint64_t dflt = w->oversubscribed ? 2000 : 50000;
  return tubo__setting_u64("TUBO_SPIN_NS", dflt, 0, 10000000000ull);
}

static void world_free(tubo__world_t *w)
{
  free(w->world_comm.pipe_seq);
  tubo__topo_free(w->topo);
  if (w->tp && w->tp_state)
    w->tp->close(w->tp_state);
  tubo__unexp_fini(w);
  tubo__reqpool_fini(&w->pool);
  tubo__launch_free(&w->launch);
  free(w->peers);
  free(w);
}

int tubo_init(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if (init_phase != 0)
    return TUBO_EINIT;
  tubo__world_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return TUBO_ENOMEM;
  int rc = tubo__launch_read(&w->launch);
  if (rc != 0) {
    free(w);
    return rc;
  }
  w->rank = w->launch.rank;
  w->size = w->launch.size;
  w->peers = calloc((size_t)w->size, sizeof *w->peers);
  if (w->peers == NULL) {
    world_free(w);
    return TUBO_ENOMEM;
  }
  for (int p = 0; p < w->size; p++)
    w->peers[p].rndv_min = SIZE_MAX; /* no single copy unless the transport offers it */
  if (tubo__topo_load(&w->topo) != 0)
    w->topo = NULL; /* placement-aware choices fall back to defaults */
  int npus = w->topo ? tubo__topo_npus(w->topo) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  w->oversubscribed = w->launch.local_size > npus;
  w->spin_ns = init_spin_ns(w);
  w->sleep_ms = (int)tubo__setting_u64("TUBO_SLEEP_MS", 100, 1, 1000);
  if (w->size > 1) {
    w->tp = tubo__tp_lookup(w->launch.transport);
    if (w->tp == NULL) {
      world_free(w);
      return TUBO_ELAUNCH;
    }
    rc = w->tp->open(w, &w->launch, &w->tp_state, &w->caps);
    if (rc != 0) {
      w->tp_state = NULL;
      world_free(w);
      return rc;
    }
  }
  tubo__topo_free(w->topo);
  w->topo = NULL;
  w->world_comm = (tubo_comm_t){.magic = TUBO__COMM_MAGIC,
                                .rank = w->rank,
                                .size = w->size,
                                .ctx = TUBO__CTX_WORLD,
                                .ctx_coll = TUBO__CTX_WORLD_COLL};
  tubo__world = w;
  init_phase = 1;
  return 0;
}

static int fini_sends_done(void *arg)
{
  tubo__world_t *w = arg;
  return w->sq_peers == 0 && w->waitfin == 0;
}

int tubo_finalize(void)
{
  if (init_phase != 1)
    return TUBO_ENOTINIT;
  tubo__world_t *w = tubo__world;
  /* Sends still on their way must leave before this rank does. */
  int rc = tubo__wait_until(w, fini_sends_done, w);
  if (w->tp)
    w->tp->leave(w->tp_state);
  w->world_comm.magic = 0;
  tubo__world = NULL;
  init_phase = 2;
  world_free(w);
  return rc == TUBO_EDEADLK ? 0 : rc;
}

int tubo_initialized(int *flag)
{
  if (flag == NULL)
    return TUBO_EINVAL;
  *flag = init_phase == 1;
  return 0;
}

int tubo_abort(tubo_comm_t *comm, int code)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  tubo__world_t *w = tubo__world;
  if (w->tp)
    w->tp->abort(w->tp_state, code);
  _exit(code);
}

double tubo_wtime(void)
{
  return (double)tubo__os_now_ns() * 1e-9;
}

void tubo__world_forget(void)
{
  /* Its memory is a copy that this process may keep; only the phase matters. */
  tubo__world = NULL;
  init_phase = 0;
}
