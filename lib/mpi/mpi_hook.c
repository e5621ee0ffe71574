/* SPDX-License-Identifier: MIT */
/* Serving from inside MPI (mpi_transport.h): a rank that is home to objects served across
 * nodes answers the others only while its progress runs. A program that calls MPI itself
 * may leave the home inside an MPI call (MPI_Barrier) while the others wait for it, and
 * neither would ever return. Open MPI runs registered callbacks from its progress engine,
 * which every blocking MPI call spins on; tubo registers one that makes tubo's progress
 * whenever MPI progresses outside tubo's own calls into MPI. Open MPI's own one-sided
 * and non-blocking collective components progress the same way.
 *
 * The callback makes no progress while tubo itself is inside MPI (tubo__mpi_depth):
 * tubo's state may be half-changed there, and tubo's waits serve on their own. It runs
 * only on the thread that opened the world, since tubo's calls come from that thread, and
 * never in a forked child, whose copy of the world is not its own.
 * Open MPI's registration is found at run time, so that another MPI leaves it out: a
 * program that initialized MPI itself then cannot open such objects (TUBO_ENOTSUP). */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "engine.h"
#include "mpi/mpi_transport.h"
#include "settings.h"

int tubo__mpi_depth;

typedef int (*mpi_progress_fn)(void);
typedef int (*mpi_register_fn)(mpi_progress_fn);

static tubo__world_t *hook_world; /* NULL: the callback does nothing */
static pthread_t hook_thread;
static int hook_state; /* 0 not tried, 1 registered, -1 not available */

static int mpi_hook(void)
{
  tubo__world_t *w = hook_world;
  if (w == NULL || tubo__mpi_depth > 0 || !pthread_equal(pthread_self(), hook_thread))
    return 0;
  tubo__mpi_depth++; /* tubo's own MPI calls below do not come back here */
  int n = tubo__tp_serve(w);
  tubo__mpi_depth--;
  return n;
}

/* In a forked child (pthread_atfork): the parent's world is not this process's. */
static void mpi_hook_forget(void)
{
  hook_world = NULL;
}

/* Open MPI's function name, or NULL where this MPI has none. */
static void *mpi_hook_sym(const char *name)
{
  return dlsym(RTLD_DEFAULT, name);
}

int tubo__mpi_hook_arm(tubo__world_t *w, int owns_mpi)
{
  if (hook_state == 0) {
    mpi_register_fn reg = NULL;
    /* Low priority: once in eight of MPI's progress calls, so that the program's own
     * MPI calls pay little for it. */
    if (tubo__setting_u64("TUBO_MPI_SERVE", 1, 0, 1))
      *(void **)&reg = mpi_hook_sym("opal_progress_register_lp");
    static int forks_seen;
    if (reg != NULL && !forks_seen && pthread_atfork(NULL, NULL, mpi_hook_forget) == 0)
      forks_seen = 1;
    hook_state = forks_seen && reg != NULL && reg(mpi_hook) == 0 ? 1 : -1;
  }
  if (hook_state == 1) {
    hook_world = w;
    hook_thread = pthread_self();
    return 0;
  }
  /* A program that leaves MPI to tubo makes no MPI calls of its own to wait in. */
  if (owns_mpi)
    return 0;
  static int said; /* once a process: every such open fails alike */
  if (!said) {
    said = 1;
    fprintf(stderr,
            "tubo: an object served across nodes cannot be opened in a program that "
            "initialized MPI itself: %s, so its home rank would serve the others only "
            "inside tubo calls, and one waiting in an MPI call would leave them waiting "
            "for ever (doc/mpi.md).\n",
            tubo__setting_u64("TUBO_MPI_SERVE", 1, 0, 1) ? "this MPI lets tubo run nothing "
                                                           "from its progress"
                                                         : "TUBO_MPI_SERVE=0 keeps tubo out "
                                                           "of MPI's progress");
  }
  return TUBO_ENOTSUP;
}

void tubo__mpi_hook_disarm(tubo__world_t *w, int mpi_finalized)
{
  if (hook_world != w)
    return;
  hook_world = NULL;
  if (hook_state == 1 && !mpi_finalized) {
    mpi_register_fn unreg = NULL;
    *(void **)&unreg = mpi_hook_sym("opal_progress_unregister");
    if (unreg != NULL && unreg(mpi_hook) == 0)
      hook_state = 0; /* the next world registers again */
  }
}

/* Open MPI's switch of its yield (opal_progress_set_yield_when_idle), or NULL where this
 * MPI has none; looked up once. */
typedef _Bool (*mpi_yield_fn)(_Bool);
static mpi_yield_fn mpi_yield_switch(void)
{
  static mpi_yield_fn fn;
  static int looked;
  if (!looked) {
    looked = 1;
    *(void **)&fn = mpi_hook_sym("opal_progress_set_yield_when_idle");
  }
  return fn;
}

int tubo__mpi_test_noyield(MPI_Request *r, int *flag)
{
  mpi_yield_fn sw = mpi_yield_switch();
  _Bool was = sw != NULL ? sw(0) : 0;
  tubo__mpi_enter();
  int rc = MPI_Test(r, flag, MPI_STATUS_IGNORE);
  tubo__mpi_leave();
  if (sw != NULL)
    sw(was);
  return rc;
}
