/* SPDX-License-Identifier: MIT */
/* Joining and leaving the job: tubo_init, tubo_finalize, tubo_abort. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "launch/jobctl.h"
#include "mpi/mpi_world.h"
#include "os/os.h"
#include "world.h"

tubo__world_t *tubo__world;
tubo_comm_t *tubo__comm_world_handle;

void tubo__world_set_own(tubo__world_t *w)
{
  tubo__world = w;
  tubo__comm_world_handle = w != NULL ? &w->world_comm : NULL;
}

/* 0: never initialized; 1: initialized; 2: finalized (MPI forbids a second init). */
static int init_phase;
/* This process was forked by a tubo process: what it inherited of an MPI job is not its. */
static int init_forked;

/* Under tuborun, a program that initialized MPI itself got a world of its own process
 * alone from MPI (a singleton): its MPI calls will not reach the other ranks. Rank 0 says
 * so now, before MPI fails or hangs on it later. */
static void init_mpi_beside(const tubo__world_t *w)
{
  int msize = tubo__mpi_program_size();
  if (w->rank != 0 || msize == 0 || msize == w->size)
    return;
  fprintf(stderr,
          "tubo: this program initialized MPI under tuborun: MPI's world has %d rank(s), "
          "tubo's has %d. tuborun starts tubo ranks, not MPI ones: run the program under "
          "mpirun, where tubo's ranks are MPI's (doc/mpi.md).\n",
          msize, w->size);
}

/* tubo_init's failure under a launcher. A rank of the job that ended before it joined is
 * named: in the error's message, and on standard error by one rank (the lowest other than
 * it, so that a large job prints one line, not one per rank) unless the handler in effect
 * prints the message anyway. */
static int init_failed(int rc, int rank, int size)
{
  int joined = 0, status = 0;
  int gone = rc == TUBO_EPEER ? tubo__jobctl_gone(&joined, &status) : -1;
  if (gone < 0 || gone == rank)
    return tubo__error(NULL, rc, "tubo_init", NULL);
  char what[96];
  if (joined == 0)
    snprintf(what, sizeof what, "ended (status %d) before it called tubo_init", status);
  else
    snprintf(what, sizeof what, "ended (status %d) during its tubo_init", status);
  if (rank == (gone == 0 ? 1 : 0) && tubo__error_returns(NULL))
    fprintf(stderr, "tubo_init: rank %d of %d %s: the job cannot start (TUBO_EPEER)\n", gone, size,
            what);
  return tubo__error(NULL, rc, "tubo_init", "rank %d of %d %s", gone, size, what);
}

int tubo_init(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if (init_phase != 0)
    return TUBO_EINIT;
  tubo__launch_t l;
  int rc = tubo__launch_read(&l);
  if (rc != 0)
    return rc;
  tubo__world_t *w;
  int launched = l.launched; /* l is the world's once it is made */
  int rank = l.rank, size = l.size;
  /* Under tuborun the world is tuborun's; else, under mpirun (or after MPI_Init), MPI's. */
  if (!launched && !init_forked && tubo__mpi_detect()) {
    tubo__launch_free(&l);
    rc = tubo__mpi_world_create(&w);
  } else {
    rc = tubo__world_create(&l, &w);
    /* Joined: the launch contract is this process's alone, not its children's. */
    if (rc == 0)
      tubo__launch_take(&w->launch);
  }
  if (rc != 0)
    return launched ? init_failed(rc, rank, size) : rc;
  tubo__world_adopt(w);
  if (launched)
    init_mpi_beside(w);
  return 0;
}

int tubo_finalize(void)
{
  if (init_phase != 1)
    return TUBO_ENOTINIT;
  tubo__world_t *w = tubo__world;
  int rc = tubo__world_leave(w);
  tubo__world_set_own(NULL);
  tubo__world_unregister(w);
  init_phase = 2;
  tubo__world_free(w);
  return rc;
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
    return tubo__error(comm, rc, "tubo_abort", NULL);
  tubo__world_t *w = tubo__world;
  for (int t = 0; t < w->ntports; t++)
    w->tports[t].ops->abort(w->tports[t].state, code);
  _exit(code);
}

double tubo_wtime(void)
{
  return (double)tubo__os_now_ns() * 1e-9;
}

void tubo__world_adopt(tubo__world_t *w)
{
  tubo__world_set_own(w);
  tubo__world_register(w);
  init_phase = 1;
}

void tubo__init_forget(void)
{
  tubo__world_forget();
  init_phase = 0;
  init_forked = 1;
}
