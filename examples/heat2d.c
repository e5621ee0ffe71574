/* SPDX-License-Identifier: MIT */
/* A 2D heat equation on a square plate, solved by Jacobi iterations on a grid of ranks.
 *
 * The plate's top edge is held at 100 degrees and its other edges at 0; the interior
 * starts at 0. The ranks form a grid (rows x columns, as square as the rank count
 * allows), each owning a block of the plate. Two communicators come from splitting the
 * world: one per row of ranks and one per column. Each iteration, a rank swaps its
 * block's edges with its neighbours, left and right on its row communicator and up and
 * down on its column communicator (point-to-point, tubo_sendrecv), computes the new
 * temperatures, and the largest change on the plate is agreed by tubo_allreduce (MAX).
 * Once it is below the tolerance, rank 0 gathers the blocks (tubo_gatherv) and prints the
 * iterations, the last change and the mean temperature, summed in the plate's own order:
 * the output is the same for any number of ranks that divides the grid.
 *
 * Usage: tuborun -n 4 examples/heat2d [-n POINTS] [-t TOLERANCE] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tubo.h"

#define TOP_TEMP 100.0

static void check(int rc, const char *what)
{
  if (rc != 0) {
    fprintf(stderr, "heat2d: %s: %s\n", what, tubo_strerror(rc));
    exit(1);
  }
}

/* The grid of ranks: as many columns as the largest divisor of size up to its root. */
static void rank_grid(int size, int *rows, int *cols)
{
  int c = 1;
  for (int d = 1; d * d <= size; d++)
    if (size % d == 0)
      c = d;
  *cols = c;
  *rows = size / c;
}

int main(int argc, char **argv)
{
  int n = 24, max_iters = 100000;
  double tol = 1e-3;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
      n = atoi(argv[++i]);
    else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
      tol = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: heat2d [-n POINTS] [-t TOLERANCE]\n");
      return 2;
    }
  }
  check(tubo_init(&argc, &argv), "tubo_init");
  int rank, size, prows, pcols;
  check(tubo_comm_rank(TUBO_COMM_WORLD, &rank), "tubo_comm_rank");
  check(tubo_comm_size(TUBO_COMM_WORLD, &size), "tubo_comm_size");
  rank_grid(size, &prows, &pcols);
  if (n <= 0 || n % prows != 0 || n % pcols != 0) {
    if (rank == 0)
      fprintf(stderr, "heat2d: %d points do not divide among %d x %d ranks\n", n, prows, pcols);
    tubo_finalize();
    return 2;
  }
  /* This rank's place, and the communicators of its row and its column of ranks: on the
   * row, ranks are ordered by column; on the column, by row. */
  int prow = rank / pcols, pcol = rank % pcols;
  tubo_comm_t *row_comm, *col_comm;
  check(tubo_comm_split(TUBO_COMM_WORLD, prow, pcol, &row_comm), "tubo_comm_split (rows)");
  check(tubo_comm_split(TUBO_COMM_WORLD, pcol, prow, &col_comm), "tubo_comm_split (columns)");

  /* The block with a halo of one point on each side: (nr + 2) x (nc + 2). */
  int nr = n / prows, nc = n / pcols, w = nc + 2;
  double *u = calloc((size_t)(nr + 2) * (size_t)w, sizeof *u);
  double *v = calloc((size_t)(nr + 2) * (size_t)w, sizeof *v);
  double *sendcol = malloc((size_t)nr * sizeof *sendcol),
         *recvcol = malloc((size_t)nr * sizeof *recvcol);
  if (u == NULL || v == NULL || sendcol == NULL || recvcol == NULL) {
    fprintf(stderr, "heat2d: out of memory\n");
    return 1;
  }
  /* The plate's top edge is the halo row above the top row of ranks. */
  if (prow == 0)
    for (int j = 0; j < w; j++)
      u[j] = v[j] = TOP_TEMP;
#define AT(a, i, j) (a)[(size_t)(i) * (size_t)w + (size_t)(j)]

  int iters = 0;
  double change = 0;
  for (; iters < max_iters; iters++) {
    /* Edges to the neighbours: rows up and down the column, columns along the row. */
    if (prow > 0)
      check(tubo_sendrecv(&AT(u, 1, 1), (size_t)nc * sizeof *u, prow - 1, 0, &AT(u, 0, 1),
                          (size_t)nc * sizeof *u, prow - 1, 1, col_comm, TUBO_STATUS_IGNORE),
            "halo up");
    if (prow < prows - 1)
      check(tubo_sendrecv(&AT(u, nr, 1), (size_t)nc * sizeof *u, prow + 1, 1, &AT(u, nr + 1, 1),
                          (size_t)nc * sizeof *u, prow + 1, 0, col_comm, TUBO_STATUS_IGNORE),
            "halo down");
    for (int side = -1; side <= 1; side += 2) {
      int peer = pcol + side;
      if (peer < 0 || peer >= pcols)
        continue;
      int mine = side < 0 ? 1 : nc, theirs = side < 0 ? 0 : nc + 1;
      for (int i = 0; i < nr; i++)
        sendcol[i] = AT(u, i + 1, mine);
      check(tubo_sendrecv(sendcol, (size_t)nr * sizeof *u, peer, side < 0 ? 2 : 3, recvcol,
                          (size_t)nr * sizeof *u, peer, side < 0 ? 3 : 2, row_comm,
                          TUBO_STATUS_IGNORE),
            "halo sideways");
      for (int i = 0; i < nr; i++)
        AT(u, i + 1, theirs) = recvcol[i];
    }
    double local = 0;
    for (int i = 1; i <= nr; i++)
      for (int j = 1; j <= nc; j++) {
        double t = 0.25 * (AT(u, i - 1, j) + AT(u, i + 1, j) + AT(u, i, j - 1) + AT(u, i, j + 1));
        double d = fabs(t - AT(u, i, j));
        if (d > local)
          local = d;
        AT(v, i, j) = t;
      }
    double *t = u;
    u = v;
    v = t;
    /* The largest change anywhere on the plate: the same on every rank, exactly. */
    check(tubo_allreduce(&local, &change, 1, TUBO_DOUBLE, TUBO_MAX, TUBO_COMM_WORLD),
          "tubo_allreduce");
    if (change < tol) {
      iters++;
      break;
    }
  }

  /* Rank 0 gathers every block, in rank order, and sums the plate row by row. */
  double *block = malloc((size_t)nr * (size_t)nc * sizeof *block), *all = NULL;
  size_t *counts = NULL, *displs = NULL;
  for (int i = 0; i < nr; i++)
    memcpy(block + (size_t)i * (size_t)nc, &AT(u, i + 1, 1), (size_t)nc * sizeof *block);
  if (rank == 0) {
    all = malloc((size_t)n * (size_t)n * sizeof *all);
    counts = malloc((size_t)size * sizeof *counts);
    displs = malloc((size_t)size * sizeof *displs);
    for (int r = 0; r < size; r++) {
      counts[r] = (size_t)nr * (size_t)nc;
      displs[r] = (size_t)r * counts[r];
    }
  }
  check(tubo_gatherv(block, (size_t)nr * (size_t)nc, all, counts, displs, TUBO_DOUBLE, 0,
                     TUBO_COMM_WORLD),
        "tubo_gatherv");
  if (rank == 0) {
    double sum = 0;
    for (int gi = 0; gi < n; gi++)
      for (int gj = 0; gj < n; gj++) {
        int r = (gi / nr) * pcols + gj / nc;
        sum += all[displs[r] + (size_t)(gi % nr) * (size_t)nc + (size_t)(gj % nc)];
      }
    printf("heat2d: %d x %d points, top edge at %.0f degrees, tolerance %g\n", n, n, TOP_TEMP, tol);
    printf("heat2d: converged after %d iterations, last change %.10e\n", iters, change);
    printf("heat2d: mean temperature %.10f\n", sum / ((double)n * n));
  }
  free(u), free(v), free(sendcol), free(recvcol), free(block), free(all), free(counts),
      free(displs);
  check(tubo_comm_free(&row_comm), "tubo_comm_free");
  check(tubo_comm_free(&col_comm), "tubo_comm_free");
  return tubo_finalize() == 0 ? 0 : 1;
}
