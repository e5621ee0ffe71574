/* SPDX-License-Identifier: MIT */
/* Worlds under mpirun (mpi_world.h), on the core's side: the MPI transport lives in a
 * module (mpi_module.h) loaded only where this process joins an MPI job (an MPI launcher
 * started it, or the program has MPI in it), so that a rank started by tuborun never maps
 * MPI's libraries. Where it is found: TUBO_MPI_MODULE (a path), else beside libtubo's own
 * file (a build tree), else the package's library folder chosen at configure time. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coll/coll_p2p.h"
#include "coll/coll_shm.h"
#include "engine.h"
#include "launch/jobctl.h"
#include "mpi/mpi_module.h"
#include "mpi/mpi_world.h"
#include "os/os.h"
#include "settings.h"

static const tubo__mpi_core_t mpi_core = {
    .abi = TUBO__MPI_MODULE_ABI,
    .size = sizeof(tubo__mpi_core_t),
    .cid_give = tubo__cid_give,
    .cid_mask = tubo__cid_mask,
    .cid_take = tubo__cid_take,
    .coll_call = tubo__coll_call,
    .coll_new = tubo__coll_new,
    .coll_run = tubo__coll_run,
    .coll_select = tubo__coll_select,
    .comm_alloc = tubo__comm_alloc,
    .comm_discard = tubo__comm_discard,
    .comm_publish = tubo__comm_publish,
    .comm_rank_of_world = tubo__comm_rank_of_world,
    .deliver = tubo__deliver,
    .jobctl_create = tubo__jobctl_create,
    .os_random = tubo__os_random,
    .os_shm_from = tubo__os_shm_from,
    .p2p_allreduce = tubo__p2p_allreduce,
    .read_done = tubo__read_done,
    .recv_general = tubo__recv_general,
    .rts_sent = tubo__rts_sent,
    .setting_u64 = tubo__setting_u64,
    .shmc_tree = tubo__shmc_tree,
    .tp_lookup = tubo__tp_lookup,
    .tp_serve = tubo__tp_serve,
    .type_info = tubo__type_info,
    .wait_until = tubo__wait_until,
    .world_add_tport = tubo__world_add_tport,
    .world_free = tubo__world_free,
    .world_new = tubo__world_new,
    .world_ready = tubo__world_ready,
    .op_band = TUBO_BAND,
};

/* The module once loaded; why it could not be, once tried. */
static const tubo__mpi_module_t *mpi_mod;
static int mpi_tried;
static char mpi_why[512];

/* What MPI launchers (Open MPI's, and PMIx or PMI based ones) give each rank. */
static const char *mpi_launcher_var(void)
{
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i]) != NULL)
      return vars[i];
  return NULL;
}

/* Whether MPI's library is in this process already (the program links it). */
static int mpi_in_process(void)
{
  return dlsym(RTLD_DEFAULT, "MPI_Initialized") != NULL;
}

/* Tries to load the module at path: 1 loaded, 0 no file there, -1 a file that did not
 * load (mpi_why says why). */
static int mpi_try(const char *path)
{
  if (access(path, F_OK) != 0)
    return 0;
  /* Global: Open MPI's own components look MPI's symbols up in the process. */
  void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (h == NULL) {
    const char *e = dlerror();
    snprintf(mpi_why, sizeof mpi_why, "%s", e != NULL ? e : path);
    return -1;
  }
  tubo__mpi_module_fn *entry = (tubo__mpi_module_fn *)dlsym(h, TUBO__MPI_MODULE_ENTRY);
  const tubo__mpi_module_t *m = entry != NULL ? entry(&mpi_core) : NULL;
  if (m == NULL || m->abi != TUBO__MPI_MODULE_ABI || m->size != sizeof *m) {
    snprintf(mpi_why, sizeof mpi_why, "%s: not a module of this version of tubo", path);
    dlclose(h);
    return -1;
  }
  mpi_mod = m;
  return 1;
}

/* The folder of the object this code was linked into, when that is libtubo's shared
 * file (not a program that holds the core itself): into dir, with a trailing '/'. */
static int mpi_lib_dir(char *dir, size_t cap)
{
  Dl_info info;
  if (dladdr((void *)mpi_try, &info) == 0 || info.dli_fname == NULL)
    return 0;
  const char *slash = strrchr(info.dli_fname, '/');
  if (slash == NULL || strncmp(slash + 1, "libtubo", 7) != 0 ||
      (size_t)(slash + 1 - info.dli_fname) >= cap)
    return 0;
  memcpy(dir, info.dli_fname, (size_t)(slash + 1 - info.dli_fname));
  dir[slash + 1 - info.dli_fname] = '\0';
  return 1;
}

static const tubo__mpi_module_t *mpi_load(void)
{
  if (mpi_tried)
    return mpi_mod;
  mpi_tried = 1;
  snprintf(mpi_why, sizeof mpi_why, "no %s in %s", TUBO__MPI_MODULE_FILE, TUBO_MPI_MODULE_DIR);
  const char *given = getenv("TUBO_MPI_MODULE");
  if (given != NULL && *given != '\0') {
    if (mpi_try(given) == 0)
      snprintf(mpi_why, sizeof mpi_why, "TUBO_MPI_MODULE=%s: no such file", given);
    return mpi_mod;
  }
  char path[4096];
  if (mpi_lib_dir(path, sizeof path - sizeof TUBO__MPI_MODULE_FILE)) {
    strcat(path, TUBO__MPI_MODULE_FILE);
    if (mpi_try(path) != 0)
      return mpi_mod;
  }
  snprintf(path, sizeof path, "%s/%s", TUBO_MPI_MODULE_DIR, TUBO__MPI_MODULE_FILE);
  (void)mpi_try(path);
  return mpi_mod;
}

int tubo__mpi_detect(void)
{
  if (mpi_launcher_var() != NULL)
    return 1;
  /* A program that initialized MPI itself has MPI's library in it already. */
  if (!mpi_in_process())
    return 0;
  const tubo__mpi_module_t *m = mpi_load();
  return m != NULL && m->detect();
}

int tubo__mpi_program_size(void)
{
  if (!mpi_in_process())
    return 0;
  const tubo__mpi_module_t *m = mpi_load();
  return m != NULL ? m->program_size() : 0;
}

int tubo__mpi_world_create(tubo__world_t **out)
{
  const tubo__mpi_module_t *m = mpi_load();
  if (m == NULL) {
    const char *var = mpi_launcher_var();
    char how[96];
    if (var != NULL)
      snprintf(how, sizeof how, "was started by an MPI launcher (%s is set)", var);
    else
      snprintf(how, sizeof how, "has initialized MPI");
    fprintf(stderr,
            "tubo_init: this process %s, but tubo's MPI transport could not be loaded: %s. "
            "Install it (%s/%s) or set TUBO_MPI_MODULE to its path (doc/mpi.md).\n",
            how, mpi_why, TUBO_MPI_MODULE_DIR, TUBO__MPI_MODULE_FILE);
    return TUBO_ENOTSUP;
  }
  return m->world_create(out);
}

/* Only open is ever called: a transport that did not open is never used. */
static int mpi_unloaded_open(tubo__world_t *w, tubo__launch_t *l, const void *arg, void **state,
                             tubo__tp_caps_t *caps)
{
  (void)w, (void)l, (void)arg, (void)state, (void)caps;
  return TUBO_ENOTSUP;
}

static const tubo__tp_ops_t mpi_unloaded_ops = {.name = "mpi", .open = mpi_unloaded_open};

const tubo__tp_ops_t *tubo__mpi_tp_ops(void)
{
  return mpi_mod != NULL ? mpi_mod->ops : &mpi_unloaded_ops;
}

const tubo__coll_table_t *tubo__coll_hier(void)
{
  return mpi_mod != NULL ? mpi_mod->hier : NULL;
}
