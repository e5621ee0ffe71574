/* SPDX-License-Identifier: MIT */
/* A 1D Jacobi solver, the shape of most stencil codes: each iteration exchanges one halo
 * point with each neighbour by non-blocking point-to-point, updates its slice, and agrees
 * on the largest change with a small max-allreduce. One source, built twice: against tubo
 * (bench/jacobi_tubo) and, with -DJACOBI_USE_MPI, against MPI (bench/jacobi_mpi), through
 * the shim below, so that both time exactly the same loop.
 *
 * The domain has P points (default 1001) split among the ranks, fixed at 1 on the left
 * and 0 on the right. After the timed run, each rank solves the whole domain alone and
 * compares its slice bit for bit, and the ranks agree on the outcome.
 *
 * Rank 0 prints one line of key=value pairs:
 *   jacobi impl=tubo ranks=4 points=1001 iters=2000 time_s=0.123 change=1.2e-04 check=ok
 * and the program exits 1 if the check failed.
 *
 * Usage: jacobi [-p points] [-i iters] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- The shim ---- */
#ifdef JACOBI_USE_MPI
#include <mpi.h>
#define JACOBI_IMPL "mpi"
typedef MPI_Request jreq_t;
static int j_init(int *argc, char ***argv)
{
  return MPI_Init(argc, argv);
}
static int j_finalize(void)
{
  return MPI_Finalize();
}
static void j_rank_size(int *rank, int *size)
{
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
}
static double j_wtime(void)
{
  return MPI_Wtime();
}
static int j_barrier(void)
{
  return MPI_Barrier(MPI_COMM_WORLD);
}
static int j_isend(const double *b, int peer, int tag, jreq_t *r)
{
  return MPI_Isend(b, 1, MPI_DOUBLE, peer, tag, MPI_COMM_WORLD, r);
}
static int j_irecv(double *b, int peer, int tag, jreq_t *r)
{
  return MPI_Irecv(b, 1, MPI_DOUBLE, peer, tag, MPI_COMM_WORLD, r);
}
static int j_waitall(int n, jreq_t *r)
{
  return MPI_Waitall(n, r, MPI_STATUSES_IGNORE);
}
static int j_allmax(double *x)
{
  return MPI_Allreduce(MPI_IN_PLACE, x, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
}
#else
#include <tubo.h>
#define JACOBI_IMPL "tubo"
typedef tubo_request_t *jreq_t;
static int j_init(int *argc, char ***argv)
{
  return tubo_init(argc, argv);
}
static int j_finalize(void)
{
  return tubo_finalize();
}
static void j_rank_size(int *rank, int *size)
{
  tubo_comm_rank(TUBO_COMM_WORLD, rank);
  tubo_comm_size(TUBO_COMM_WORLD, size);
}
static double j_wtime(void)
{
  return tubo_wtime();
}
static int j_barrier(void)
{
  return tubo_barrier(TUBO_COMM_WORLD);
}
static int j_isend(const double *b, int peer, int tag, jreq_t *r)
{
  return tubo_isend(b, sizeof *b, peer, tag, TUBO_COMM_WORLD, r);
}
static int j_irecv(double *b, int peer, int tag, jreq_t *r)
{
  return tubo_irecv(b, sizeof *b, peer, tag, TUBO_COMM_WORLD, r);
}
static int j_waitall(int n, jreq_t *r)
{
  return tubo_waitall((size_t)n, r, TUBO_STATUSES_IGNORE);
}
static int j_allmax(double *x)
{
  return tubo_allreduce(TUBO_IN_PLACE, x, 1, TUBO_DOUBLE, TUBO_MAX, TUBO_COMM_WORLD);
}
#endif
/* ---- End of the shim ---- */

static void check(int rc, const char *what)
{
  if (rc == 0)
    return;
  fprintf(stderr, "jacobi: %s failed (%d)\n", what, rc);
  exit(1);
}

/* One Jacobi sweep over u[1..n] into v[1..n]; returns the largest change. */
static double sweep(const double *u, double *v, int n)
{
  double change = 0;
  for (int i = 1; i <= n; i++) {
    v[i] = 0.5 * (u[i - 1] + u[i + 1]);
    double d = v[i] > u[i] ? v[i] - u[i] : u[i] - v[i];
    if (d > change)
      change = d;
  }
  return change;
}

/* Fills a slice of n points plus its two ghosts: 1 at the global left wall, else 0. */
static void start(double *u, int n, int left_wall)
{
  memset(u, 0, (size_t)(n + 2) * sizeof *u);
  u[0] = left_wall ? 1.0 : 0.0;
}

int main(int argc, char **argv)
{
  int points = 1001, iters = 2000, opt, rank, size;
  check(j_init(&argc, &argv), "init");
  while ((opt = getopt(argc, argv, "p:i:")) != -1) {
    if (opt == 'p')
      points = atoi(optarg);
    else if (opt == 'i')
      iters = atoi(optarg);
    else
      exit(2);
  }
  j_rank_size(&rank, &size);
  if (points < size || iters < 1) {
    fprintf(stderr, "jacobi: need points >= ranks and iters >= 1\n");
    exit(2);
  }
  /* Rank r owns global points [lo, lo + n) of 0..points-1. */
  int n = points / size + (rank < points % size);
  int lo = rank * (points / size) + (rank < points % size ? rank : points % size);
  int left = rank > 0 ? rank - 1 : -1, right = rank < size - 1 ? rank + 1 : -1;
  double *u = malloc((size_t)(n + 2) * sizeof *u), *v = malloc((size_t)(n + 2) * sizeof *v);
  double *g = malloc((size_t)(points + 2) * sizeof *g);
  double *h = malloc((size_t)(points + 2) * sizeof *h);
  if (u == NULL || v == NULL || g == NULL || h == NULL)
    check(-1, "malloc");
  start(u, n, left < 0);
  start(v, n, left < 0);

  check(j_barrier(), "barrier");
  double t0 = j_wtime(), change = 0;
  for (int it = 0; it < iters; it++) {
    jreq_t r[4];
    int k = 0;
    if (left >= 0) {
      check(j_irecv(&u[0], left, 0, &r[k++]), "irecv");
      check(j_isend(&u[1], left, 1, &r[k++]), "isend");
    }
    if (right >= 0) {
      check(j_irecv(&u[n + 1], right, 1, &r[k++]), "irecv");
      check(j_isend(&u[n], right, 0, &r[k++]), "isend");
    }
    check(j_waitall(k, r), "waitall");
    change = sweep(u, v, n);
    v[0] = u[0];
    v[n + 1] = u[n + 1];
    double *t = u;
    u = v;
    v = t;
    check(j_allmax(&change), "allreduce");
  }
  double elapsed = j_wtime() - t0;

  /* The same iterations on the whole domain, alone: the slice must match bit for bit. */
  start(g, points, 1);
  start(h, points, 1);
  double whole = 0;
  for (int it = 0; it < iters; it++) {
    whole = sweep(g, h, points);
    double *t = g;
    g = h;
    h = t;
  }
  double bad = memcmp(&u[1], &g[1 + lo], (size_t)n * sizeof *u) != 0 || whole != change;
  check(j_allmax(&bad), "allreduce");
  if (rank == 0)
    printf("jacobi impl=%s ranks=%d points=%d iters=%d time_s=%.4f change=%.3e check=%s\n",
           JACOBI_IMPL, size, points, iters, elapsed, change, bad != 0 ? "FAILED" : "ok");
  free(u);
  free(v);
  free(g);
  free(h);
  check(j_finalize(), "finalize");
  return bad != 0;
}
