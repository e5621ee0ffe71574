/* SPDX-License-Identifier: MIT */
/* An application that uses MPI itself and tubo beside it (tests/run_mpi.sh runs it).
 *
 *   mpi_app app      under mpirun, on ranks of more than one node: MPI_Init first, then
 *                    tubo_init; messages of both kinds around the ring; a queue and a
 *                    value across nodes; Open MPI's yield setting unchanged by tubo's
 *                    collectives; tubo_finalize leaves MPI working for the program,
 *                    which finalizes it.
 *   mpi_app refused  under mpirun across nodes with TUBO_MPI_SERVE=0: MPI_Init first;
 *                    opening a queue or a value across nodes fails at once with
 *                    TUBO_ENOTSUP on every rank, since nothing would serve them while
 *                    rank 0 sits in an MPI call; tubo goes on working.
 *   mpi_app tuborun  under tuborun: tubo_init must not initialize MPI.
 *   mpi_app tuborun_mpi  under tuborun, MPI_Init first: MPI gives each rank a world of
 *                    its own; tubo's world is still tuborun's (rank 0 warns at tubo_init).
 * Prints "mpi_app: ok" and exits 0 when every check passed; else names the failed one. */
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tubo.h"

static int app_rank = -1;

#define APP_CHECK(cond, ...)                           \
  do {                                                 \
    if (!(cond)) {                                     \
      fprintf(stderr, "mpi_app: rank %d: ", app_rank); \
      fprintf(stderr, __VA_ARGS__);                    \
      fprintf(stderr, "\n");                           \
      exit(1);                                         \
    }                                                  \
  } while (0)

static void app_tubo_ok(int rc, const char *what)
{
  APP_CHECK(rc == 0, "%s: expected 0, got %s", what, tubo_err_name(rc));
}

static int app_under_mpirun(void)
{
  APP_CHECK(MPI_Init(NULL, NULL) == MPI_SUCCESS, "MPI_Init failed");
  int mrank, msize;
  MPI_Comm_rank(MPI_COMM_WORLD, &mrank);
  MPI_Comm_size(MPI_COMM_WORLD, &msize);
  app_rank = mrank;
  app_tubo_ok(tubo_init(NULL, NULL), "tubo_init after MPI_Init");
  int trank = -1, tsize = -1;
  app_tubo_ok(tubo_comm_rank(TUBO_COMM_WORLD, &trank), "tubo_comm_rank");
  app_tubo_ok(tubo_comm_size(TUBO_COMM_WORLD, &tsize), "tubo_comm_size");
  APP_CHECK(trank == mrank && tsize == msize, "tubo's rank %d of %d: expected MPI's, %d of %d",
            trank, tsize, mrank, msize);

  /* A tubo message and an MPI message around the ring, interleaved: neither sees the
   * other's (tubo has a communicator of its own). */
  int next = (mrank + 1) % msize, prev = (mrank + msize - 1) % msize;
  long tubo_out = 1000 + mrank, tubo_in = -1, mpi_out = 2000 + mrank, mpi_in = -1;
  tubo_request_t *r;
  MPI_Request mr;
  app_tubo_ok(tubo_irecv(&tubo_in, sizeof tubo_in, prev, 5, TUBO_COMM_WORLD, &r), "tubo_irecv");
  MPI_Irecv(&mpi_in, 1, MPI_LONG, prev, 5, MPI_COMM_WORLD, &mr);
  MPI_Send(&mpi_out, 1, MPI_LONG, next, 5, MPI_COMM_WORLD);
  app_tubo_ok(tubo_send(&tubo_out, sizeof tubo_out, next, 5, TUBO_COMM_WORLD), "tubo_send");
  app_tubo_ok(tubo_wait(&r, TUBO_STATUS_IGNORE), "tubo_wait");
  MPI_Wait(&mr, MPI_STATUS_IGNORE);
  APP_CHECK(tubo_in == 1000 + prev, "tubo message from rank %d: expected %d, got %ld", prev,
            1000 + prev, tubo_in);
  APP_CHECK(mpi_in == 2000 + prev, "MPI message from rank %d: expected %d, got %ld", prev,
            2000 + prev, mpi_in);

  /* A queue across nodes (this job has two, TUBO_NODE_SIZE=2): rank 0 serves it; every
   * other rank puts its number, rank 0 gets them all. */
  tubo_queue_t *q = NULL;
  app_tubo_ok(tubo_queue_open(TUBO_COMM_WORLD, 2, 64, 0, &q), "tubo_queue_open across nodes");
  if (mrank != 0) {
    app_tubo_ok(tubo_queue_put(q, &mrank, sizeof mrank, -1), "tubo_queue_put");
  } else {
    long sum = 0;
    for (int i = 1; i < msize; i++) {
      int got = -1;
      app_tubo_ok(tubo_queue_get(q, &got, sizeof got, NULL, -1), "tubo_queue_get");
      sum += got;
    }
    APP_CHECK(sum == (long)msize * (msize - 1) / 2, "sum of the ranks put: expected %ld, got %ld",
              (long)msize * (msize - 1) / 2, sum);
  }
  app_tubo_ok(tubo_queue_free(q), "tubo_queue_free");
  /* A Value across nodes: every rank adds its number under the lock; after a barrier,
   * under the lock, every rank sees the sum. */
  tubo_value_t *v = NULL;
  app_tubo_ok(tubo_value_open(TUBO_COMM_WORLD, TUBO_LONG, NULL, &v),
              "tubo_value_open across nodes");
  long *p = tubo_value_data(v);
  app_tubo_ok(tubo_value_lock(v), "tubo_value_lock");
  *p += mrank;
  app_tubo_ok(tubo_value_unlock(v), "tubo_value_unlock");
  app_tubo_ok(tubo_barrier(TUBO_COMM_WORLD), "tubo_barrier");
  app_tubo_ok(tubo_value_lock(v), "tubo_value_lock");
  long total = *p;
  app_tubo_ok(tubo_value_unlock(v), "tubo_value_unlock");
  APP_CHECK(total == (long)msize * (msize - 1) / 2,
            "value after every rank added: expected %ld, "
            "got %ld",
            (long)msize * (msize - 1) / 2, total);
  app_tubo_ok(tubo_barrier(TUBO_COMM_WORLD), "tubo_barrier");
  app_tubo_ok(tubo_value_free(v), "tubo_value_free");

  /* A queue across nodes while its home sits in an MPI call of the program's own: every
   * other rank puts, then every rank enters MPI_Barrier, which rank 0 reaches before the
   * others' puts are answered. The home serves them from inside MPI's progress. */
  app_tubo_ok(tubo_queue_open(TUBO_COMM_WORLD, TUBO_QUEUE_UNBOUNDED, 64, 0, &q),
              "tubo_queue_open across nodes");
  if (mrank != 0)
    app_tubo_ok(tubo_queue_put(q, &mrank, sizeof mrank, -1), "tubo_queue_put before MPI_Barrier");
  APP_CHECK(MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS, "MPI_Barrier after tubo_queue_put");
  if (mrank == 0) {
    long got_sum = 0;
    for (int i = 1; i < msize; i++) {
      int got = -1;
      app_tubo_ok(tubo_queue_get(q, &got, sizeof got, NULL, 0),
                  "tubo_queue_get without waiting, after MPI_Barrier");
      got_sum += got;
    }
    APP_CHECK(got_sum == (long)msize * (msize - 1) / 2,
              "sum of the ranks put before MPI_Barrier: expected %ld, got %ld",
              (long)msize * (msize - 1) / 2, got_sum);
  }
  app_tubo_ok(tubo_queue_free(q), "tubo_queue_free");
  /* The same with a Value: every other rank adds under the lock, then MPI_Barrier. */
  app_tubo_ok(tubo_value_open(TUBO_COMM_WORLD, TUBO_LONG, NULL, &v),
              "tubo_value_open across nodes");
  p = tubo_value_data(v);
  if (mrank != 0) {
    app_tubo_ok(tubo_value_lock(v), "tubo_value_lock before MPI_Barrier");
    *p += mrank;
    app_tubo_ok(tubo_value_unlock(v), "tubo_value_unlock before MPI_Barrier");
  }
  APP_CHECK(MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS, "MPI_Barrier after tubo_value_unlock");
  if (mrank == 0) {
    app_tubo_ok(tubo_value_lock(v), "tubo_value_lock after MPI_Barrier");
    total = *p;
    app_tubo_ok(tubo_value_unlock(v), "tubo_value_unlock after MPI_Barrier");
    APP_CHECK(total == (long)msize * (msize - 1) / 2,
              "value after every other rank added before MPI_Barrier: expected %ld, got %ld",
              (long)msize * (msize - 1) / 2, total);
  }
  app_tubo_ok(tubo_value_free(v), "tubo_value_free");

  /* Open MPI's yield when idle, which the hierarchical collectives' leaders switch off
   * while they test their MPI requests, is the program's setting again after each
   * collective, both ways (where this MPI has the switch). */
  _Bool (*yield_set)(_Bool) = NULL;
  *(void **)&yield_set = dlsym(RTLD_DEFAULT, "opal_progress_set_yield_when_idle");
  if (yield_set != NULL) {
    _Bool orig = yield_set(1);
    for (int want = 1; want >= 0; want--) {
      yield_set(want != 0);
      long one = 1, all = 0;
      app_tubo_ok(tubo_allreduce(&one, &all, 1, TUBO_LONG, TUBO_SUM, TUBO_COMM_WORLD),
                  "tubo_allreduce across nodes");
      APP_CHECK(all == msize, "tubo_allreduce of ones: expected %d, got %ld", msize, all);
      app_tubo_ok(tubo_barrier(TUBO_COMM_WORLD), "tubo_barrier across nodes");
      _Bool now = yield_set(orig);
      APP_CHECK(now == (want != 0),
                "Open MPI's yield when idle after tubo's collectives: expected %d, got %d", want,
                (int)now);
    }
  }

  app_tubo_ok(tubo_finalize(), "tubo_finalize");
  /* MPI is the program's: still initialized, still working. */
  int init = 0, fin = 1;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  APP_CHECK(init == 1 && fin == 0,
            "after tubo_finalize: expected MPI initialized and not "
            "finalized, got initialized=%d finalized=%d",
            init, fin);
  long sum = 0, one = 1;
  APP_CHECK(MPI_Allreduce(&one, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS &&
                sum == msize,
            "MPI_Allreduce after tubo_finalize: expected %d, got %ld", msize, sum);
  MPI_Finalize();
  return 0;
}

static int app_refused(void)
{
  APP_CHECK(MPI_Init(NULL, NULL) == MPI_SUCCESS, "MPI_Init failed");
  app_tubo_ok(tubo_init(NULL, NULL), "tubo_init after MPI_Init");
  app_tubo_ok(tubo_comm_rank(TUBO_COMM_WORLD, &app_rank), "tubo_comm_rank");
  tubo_queue_t *q = NULL;
  int rc = tubo_queue_open(TUBO_COMM_WORLD, TUBO_QUEUE_UNBOUNDED, 64, 0, &q);
  APP_CHECK(rc == TUBO_ENOTSUP && q == NULL,
            "tubo_queue_open across nodes with TUBO_MPI_SERVE=0: expected TUBO_ENOTSUP and "
            "no queue, got %s",
            tubo_err_name(rc));
  tubo_value_t *v = NULL;
  rc = tubo_value_open(TUBO_COMM_WORLD, TUBO_LONG, NULL, &v);
  APP_CHECK(rc == TUBO_ENOTSUP && v == NULL,
            "tubo_value_open across nodes with TUBO_MPI_SERVE=0: expected TUBO_ENOTSUP and "
            "no value, got %s",
            tubo_err_name(rc));
  app_tubo_ok(tubo_barrier(TUBO_COMM_WORLD), "tubo_barrier after the refused opens");
  app_tubo_ok(tubo_finalize(), "tubo_finalize");
  APP_CHECK(MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS, "MPI_Barrier after tubo_finalize");
  MPI_Finalize();
  return 0;
}

static int app_under_tuborun(void)
{
  app_tubo_ok(tubo_init(NULL, NULL), "tubo_init under tuborun");
  app_tubo_ok(tubo_comm_rank(TUBO_COMM_WORLD, &app_rank), "tubo_comm_rank");
  int init = 1;
  MPI_Initialized(&init);
  APP_CHECK(init == 0, "under tuborun: expected tubo_init to leave MPI alone, but MPI is "
                       "initialized");
  app_tubo_ok(tubo_barrier(TUBO_COMM_WORLD), "tubo_barrier");
  app_tubo_ok(tubo_finalize(), "tubo_finalize");
  return 0;
}

static int app_mpi_under_tuborun(void)
{
  APP_CHECK(MPI_Init(NULL, NULL) == MPI_SUCCESS, "MPI_Init failed");
  app_tubo_ok(tubo_init(NULL, NULL), "tubo_init after MPI_Init under tuborun");
  app_tubo_ok(tubo_comm_rank(TUBO_COMM_WORLD, &app_rank), "tubo_comm_rank");
  int tsize = 0, msize = 0;
  app_tubo_ok(tubo_comm_size(TUBO_COMM_WORLD, &tsize), "tubo_comm_size");
  MPI_Comm_size(MPI_COMM_WORLD, &msize);
  APP_CHECK(tsize == 2 && msize == 1, "expected tubo's world of 2 and MPI's of 1, got %d and %d",
            tsize, msize);
  app_tubo_ok(tubo_barrier(TUBO_COMM_WORLD), "tubo_barrier");
  app_tubo_ok(tubo_finalize(), "tubo_finalize");
  MPI_Finalize();
  return 0;
}

int main(int argc, char **argv)
{
  if (argc != 2 || (strcmp(argv[1], "app") != 0 && strcmp(argv[1], "refused") != 0 &&
                    strcmp(argv[1], "tuborun") != 0 && strcmp(argv[1], "tuborun_mpi") != 0)) {
    fprintf(stderr, "usage: mpi_app app|refused|tuborun|tuborun_mpi\n");
    return 2;
  }
  int rc = strcmp(argv[1], "app") == 0       ? app_under_mpirun()
           : strcmp(argv[1], "refused") == 0 ? app_refused()
           : strcmp(argv[1], "tuborun") == 0 ? app_under_tuborun()
                                             : app_mpi_under_tuborun();
  if (rc == 0 && app_rank == 0)
    printf("mpi_app: ok\n");
  return rc;
}
