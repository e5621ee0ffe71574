/* SPDX-License-Identifier: MIT */
/* MPI_Init under a watch (mpi_world.h). A rank that exits before it initializes MPI holds
 * every other one inside MPI_Init_thread: Open MPI's start-up exchange waits for all of
 * them, and mpirun does not end a job for a rank that exited with status 0. tubo cannot
 * make that call return, so a thread watches it: once TUBO_INIT_TIMEOUT seconds pass, it
 * says why on standard error and ends the process with status 1, and mpirun then ends the
 * job as it ends any job whose rank failed. */
#include "config.h"

#include <errno.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mpi/mpi_world.h"
#include "settings.h"

typedef struct init_watch {
  pthread_mutex_t lock;
  pthread_cond_t done_cv;
  int done;
  unsigned seconds;
} init_watch_t;

static void *init_watch_run(void *arg)
{
  init_watch_t *iw = arg;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)iw->seconds;
  pthread_mutex_lock(&iw->lock);
  int rc = 0;
  while (!iw->done && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&iw->done_cv, &iw->lock, &until);
  int done = iw->done;
  pthread_mutex_unlock(&iw->lock);
  if (done)
    return NULL;
  const char *rank = getenv("OMPI_COMM_WORLD_RANK");
  const char *size = getenv("OMPI_COMM_WORLD_SIZE");
  fprintf(stderr,
          "tubo_init: rank %s of %s: MPI_Init has waited %u s for ranks that never started "
          "it (a rank that exited, or never called tubo_init or MPI_Init); ending this rank "
          "so that mpirun ends the job (TUBO_INIT_TIMEOUT=%u)\n",
          rank != NULL ? rank : "?", size != NULL ? size : "?", iw->seconds, iw->seconds);
  _exit(1);
}

int tubo__mpi_init_watched(int *provided)
{
  unsigned seconds = (unsigned)tubo__setting_u64("TUBO_INIT_TIMEOUT", 300, 0, 86400);
  static init_watch_t iw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  pthread_condattr_t ca;
  pthread_t th;
  int watched = 0;
  if (seconds > 0 && pthread_condattr_init(&ca) == 0) {
    iw.done = 0;
    iw.seconds = seconds;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
        pthread_cond_init(&iw.done_cv, &ca) == 0)
      watched = pthread_create(&th, NULL, init_watch_run, &iw) == 0;
    pthread_condattr_destroy(&ca);
  }
  int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SINGLE, provided);
  if (watched) {
    pthread_mutex_lock(&iw.lock);
    iw.done = 1;
    pthread_cond_signal(&iw.done_cv);
    pthread_mutex_unlock(&iw.lock);
    pthread_join(th, NULL);
  }
  return rc;
}
