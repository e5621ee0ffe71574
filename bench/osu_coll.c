/* SPDX-License-Identifier: MIT */
/* Collective latency in the style of the OSU micro-benchmarks (osu_barrier, osu_bcast,
 * osu_reduce, osu_allreduce, osu_gather, osu_allgather, osu_alltoall, osu_scatter,
 * osu_reduce_scatter, osu_scan, exscan as scan, and the v-forms osu_gatherv, osu_scatterv,
 * osu_allgatherv, osu_alltoallv, with every rank's count the same). One source, built
 * twice: against tubo (bench/osu_coll_tubo) and, with -DOSU_USE_MPI, against MPI
 * (bench/osu_coll_mpi), through the shim below, so that both time exactly the same loops.
 *
 * For each test and size, every rank times each call alone (warm-up calls excluded) and
 * passes a barrier between calls, as OSU does, and every size ends with one before its
 * buffers are freed; the figure is the mean over the calls,
 * then over the ranks (max_us: the slowest rank's mean, as a rooted call's root that
 * waits for all). Elements are doubles (8 bytes: size / 8 of them), reduced by sum. The
 * size is each rank's block: what alltoall and scatter send each rank, and what
 * reduce_scatter (MPI_Reduce_scatter_block) leaves each rank of a send buffer of size
 * times the ranks.
 * The same buffer serves every call (OSU's way), which flatters shared memory; -f gives
 * each call a fresh buffer from a ring larger than the caches. -b drops the barrier between
 * calls: calls in a row, where a root may run ahead of its readers (the line then says
 * row=1).
 *
 * Rank 0 prints one line of key=value pairs per test and size:
 *   osu_coll impl=tubo test=allreduce ranks=2 size=8 iters=20000 avg_us=0.123 max_us=0.2
 *
 * Usage: osu_coll [-t test,test,...] [-s size,size,...] [-n iters] [-f] [-b] */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The shim ---- */
#ifdef OSU_USE_MPI
#include <mpi.h>
#define OSU_IMPL "mpi"
static int osu_init(int *argc, char ***argv)
{
  return MPI_Init(argc, argv);
}
static int osu_finalize(void)
{
  return MPI_Finalize();
}
static void osu_rank_size(int *rank, int *size)
{
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
}
static double osu_wtime(void)
{
  return MPI_Wtime();
}
static int osu_barrier(void)
{
  return MPI_Barrier(MPI_COMM_WORLD);
}
static int osu_bcast(void *b, size_t n, int root)
{
  return MPI_Bcast(b, (int)n, MPI_DOUBLE, root, MPI_COMM_WORLD);
}
static int osu_reduce(const void *s, void *r, size_t n, int root)
{
  return MPI_Reduce(s, r, (int)n, MPI_DOUBLE, MPI_SUM, root, MPI_COMM_WORLD);
}
static int osu_allreduce(const void *s, void *r, size_t n)
{
  return MPI_Allreduce(s, r, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int osu_gather(const void *s, void *r, size_t n, int root)
{
  return MPI_Gather(s, (int)n, MPI_DOUBLE, r, (int)n, MPI_DOUBLE, root, MPI_COMM_WORLD);
}
static int osu_allgather(const void *s, void *r, size_t n)
{
  return MPI_Allgather(s, (int)n, MPI_DOUBLE, r, (int)n, MPI_DOUBLE, MPI_COMM_WORLD);
}
static int osu_alltoall(const void *s, void *r, size_t n)
{
  return MPI_Alltoall(s, (int)n, MPI_DOUBLE, r, (int)n, MPI_DOUBLE, MPI_COMM_WORLD);
}
static int osu_scatter(const void *s, void *r, size_t n, int root)
{
  return MPI_Scatter(s, (int)n, MPI_DOUBLE, r, (int)n, MPI_DOUBLE, root, MPI_COMM_WORLD);
}
static int osu_reduce_scatter(const void *s, void *r, size_t n)
{
  return MPI_Reduce_scatter_block(s, r, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int osu_scan(const void *s, void *r, size_t n)
{
  return MPI_Scan(s, r, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int osu_exscan(const void *s, void *r, size_t n)
{
  return MPI_Exscan(s, r, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
/* The v-forms' counts and displacements (osu_v below). */
typedef int osu_count_t;
static osu_count_t *vc, *vd;
static void osu_v(size_t n, int p);
static int osu_gatherv(const void *s, void *r, size_t n, int root, int p)
{
  osu_v(n, p);
  return MPI_Gatherv(s, (int)n, MPI_DOUBLE, r, vc, vd, MPI_DOUBLE, root, MPI_COMM_WORLD);
}
static int osu_scatterv(const void *s, void *r, size_t n, int root, int p)
{
  osu_v(n, p);
  return MPI_Scatterv(s, vc, vd, MPI_DOUBLE, r, (int)n, MPI_DOUBLE, root, MPI_COMM_WORLD);
}
static int osu_allgatherv(const void *s, void *r, size_t n, int p)
{
  osu_v(n, p);
  return MPI_Allgatherv(s, (int)n, MPI_DOUBLE, r, vc, vd, MPI_DOUBLE, MPI_COMM_WORLD);
}
static int osu_alltoallv(const void *s, void *r, size_t n, int p)
{
  osu_v(n, p);
  return MPI_Alltoallv(s, vc, vd, MPI_DOUBLE, r, vc, vd, MPI_DOUBLE, MPI_COMM_WORLD);
}
static int osu_reduce_time(double *t, double *sum)
{
  return MPI_Reduce(t, sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
}
static int osu_max_time(double *t, double *max)
{
  return MPI_Reduce(t, max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
}
#else
#include <tubo.h>
#define OSU_IMPL "tubo"
static int osu_init(int *argc, char ***argv)
{
  return tubo_init(argc, argv);
}
static int osu_finalize(void)
{
  return tubo_finalize();
}
static void osu_rank_size(int *rank, int *size)
{
  tubo_comm_rank(TUBO_COMM_WORLD, rank);
  tubo_comm_size(TUBO_COMM_WORLD, size);
}
static double osu_wtime(void)
{
  return tubo_wtime();
}
static int osu_barrier(void)
{
  return tubo_barrier(TUBO_COMM_WORLD);
}
static int osu_bcast(void *b, size_t n, int root)
{
  return tubo_bcast(b, n, TUBO_DOUBLE, root, TUBO_COMM_WORLD);
}
static int osu_reduce(const void *s, void *r, size_t n, int root)
{
  return tubo_reduce(s, r, n, TUBO_DOUBLE, TUBO_SUM, root, TUBO_COMM_WORLD);
}
static int osu_allreduce(const void *s, void *r, size_t n)
{
  return tubo_allreduce(s, r, n, TUBO_DOUBLE, TUBO_SUM, TUBO_COMM_WORLD);
}
static int osu_gather(const void *s, void *r, size_t n, int root)
{
  return tubo_gather(s, r, n, TUBO_DOUBLE, root, TUBO_COMM_WORLD);
}
static int osu_allgather(const void *s, void *r, size_t n)
{
  return tubo_allgather(s, r, n, TUBO_DOUBLE, TUBO_COMM_WORLD);
}
static int osu_alltoall(const void *s, void *r, size_t n)
{
  return tubo_alltoall(s, r, n, TUBO_DOUBLE, TUBO_COMM_WORLD);
}
static int osu_scatter(const void *s, void *r, size_t n, int root)
{
  return tubo_scatter(s, r, n, TUBO_DOUBLE, root, TUBO_COMM_WORLD);
}
static int osu_reduce_scatter(const void *s, void *r, size_t n)
{
  return tubo_reduce_scatter_block(s, r, n, TUBO_DOUBLE, TUBO_SUM, TUBO_COMM_WORLD);
}
static int osu_scan(const void *s, void *r, size_t n)
{
  return tubo_scan(s, r, n, TUBO_DOUBLE, TUBO_SUM, TUBO_COMM_WORLD);
}
static int osu_exscan(const void *s, void *r, size_t n)
{
  return tubo_exscan(s, r, n, TUBO_DOUBLE, TUBO_SUM, TUBO_COMM_WORLD);
}
/* The v-forms' counts and displacements (osu_v below). */
typedef size_t osu_count_t;
static osu_count_t *vc, *vd;
static void osu_v(size_t n, int p);
static int osu_gatherv(const void *s, void *r, size_t n, int root, int p)
{
  osu_v(n, p);
  return tubo_gatherv(s, n, r, vc, vd, TUBO_DOUBLE, root, TUBO_COMM_WORLD);
}
static int osu_scatterv(const void *s, void *r, size_t n, int root, int p)
{
  osu_v(n, p);
  return tubo_scatterv(s, vc, vd, r, n, TUBO_DOUBLE, root, TUBO_COMM_WORLD);
}
static int osu_allgatherv(const void *s, void *r, size_t n, int p)
{
  osu_v(n, p);
  return tubo_allgatherv(s, n, r, vc, vd, TUBO_DOUBLE, TUBO_COMM_WORLD);
}
static int osu_alltoallv(const void *s, void *r, size_t n, int p)
{
  osu_v(n, p);
  return tubo_alltoallv(s, vc, vd, r, vc, vd, TUBO_DOUBLE, TUBO_COMM_WORLD);
}
static int osu_reduce_time(double *t, double *sum)
{
  return tubo_reduce(t, sum, 1, TUBO_DOUBLE, TUBO_SUM, 0, TUBO_COMM_WORLD);
}
static int osu_max_time(double *t, double *max)
{
  return tubo_reduce(t, max, 1, TUBO_DOUBLE, TUBO_MAX, 0, TUBO_COMM_WORLD);
}
#endif
/* ---- End of the shim ---- */

/* The v-forms' counts and displacements: every block n elements, in rank order. */
static void osu_v(size_t n, int p)
{
  for (int q = 0; q < p; q++) {
    vc[q] = (osu_count_t)n;
    vd[q] = (osu_count_t)(n * (size_t)q);
  }
}

static int osu_v_alloc(int p)
{
  vc = malloc((size_t)p * sizeof *vc);
  vd = malloc((size_t)p * sizeof *vd);
  return vc != NULL && vd != NULL ? 0 : -1;
}

enum {
  T_BARRIER,
  T_BCAST,
  T_REDUCE,
  T_ALLREDUCE,
  T_GATHER,
  T_ALLGATHER,
  T_ALLTOALL,
  T_SCATTER,
  T_REDUCE_SCATTER,
  T_SCAN,
  T_EXSCAN,
  T_GATHERV,
  T_SCATTERV,
  T_ALLGATHERV,
  T_ALLTOALLV,
  T_N
};
static const char *const test_names[T_N] = {"barrier",        "bcast",      "reduce",   "allreduce",
                                            "gather",         "allgather",  "alltoall", "scatter",
                                            "reduce_scatter", "scan",       "exscan",   "gatherv",
                                            "scatterv",       "allgatherv", "alltoallv"};

static int rank, size, in_row;

static void check(int rc, const char *what)
{
  if (rc == 0)
    return;
  fprintf(stderr, "osu_coll_" OSU_IMPL ": rank %d: %s failed (%d)\n", rank, what, rc);
  exit(1);
}

/* Calls for a size: fewer for larger ones, as OSU does. */
static int iters_for(size_t bytes, int base)
{
  if (bytes <= 8192)
    return base;
  int n = (int)((size_t)base * 8192 / bytes);
  return n < 20 ? 20 : n;
}

/* A ring of buffers larger than the caches (-f), or one buffer. */
typedef struct bufs {
  unsigned char *mem;
  size_t each, n;
  size_t next;
} bufs_t;

static void bufs_init(bufs_t *b, size_t each, int fresh)
{
  b->each = (each + 63) & ~(size_t)63;
  b->n = fresh ? 1 + ((size_t)64 << 20) / (b->each ? b->each : 1) : 1;
  if (b->n > 4096)
    b->n = 4096;
  b->mem = calloc(b->n, b->each ? b->each : 64);
  if (b->mem == NULL) {
    fprintf(stderr, "osu_coll: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < b->n * b->each / sizeof(double); i++)
    ((double *)b->mem)[i] = 1.0;
  b->next = 0;
}

static void *bufs_take(bufs_t *b)
{
  void *p = b->mem + b->next * b->each;
  b->next = (b->next + 1) % b->n;
  return p;
}

/* One call of test t on n doubles. */
static void call(int t, void *s, void *r, size_t n, int root)
{
  switch (t) {
  case T_BARRIER:
    check(osu_barrier(), "barrier");
    break;
  case T_BCAST:
    check(osu_bcast(s, n, root), "bcast");
    break;
  case T_REDUCE:
    check(osu_reduce(s, r, n, root), "reduce");
    break;
  case T_ALLREDUCE:
    check(osu_allreduce(s, r, n), "allreduce");
    break;
  case T_GATHER:
    check(osu_gather(s, r, n, root), "gather");
    break;
  case T_ALLGATHER:
    check(osu_allgather(s, r, n), "allgather");
    break;
  case T_SCATTER:
    check(osu_scatter(s, r, n, root), "scatter");
    break;
  case T_REDUCE_SCATTER:
    check(osu_reduce_scatter(s, r, n), "reduce_scatter");
    break;
  case T_SCAN:
    check(osu_scan(s, r, n), "scan");
    break;
  case T_EXSCAN:
    check(osu_exscan(s, r, n), "exscan");
    break;
  case T_GATHERV:
    check(osu_gatherv(s, r, n, root, size), "gatherv");
    break;
  case T_SCATTERV:
    check(osu_scatterv(s, r, n, root, size), "scatterv");
    break;
  case T_ALLGATHERV:
    check(osu_allgatherv(s, r, n, size), "allgatherv");
    break;
  case T_ALLTOALLV:
    check(osu_alltoallv(s, r, n, size), "alltoallv");
    break;
  default:
    check(osu_alltoall(s, r, n), "alltoall");
    break;
  }
}

static void run(int t, size_t bytes, int base_iters, int fresh)
{
  size_t n = bytes / sizeof(double);
  if (t != T_BARRIER && n == 0)
    return;
  /* Receive buffers of gathers and alltoalls hold every rank's part, send buffers of
   * alltoalls, scatters and reduce_scatter too. */
  int rall =
      (t >= T_GATHER && t <= T_ALLTOALL) || t == T_GATHERV || t == T_ALLGATHERV || t == T_ALLTOALLV;
  int sall = t == T_ALLTOALL || t == T_SCATTER || t == T_REDUCE_SCATTER || t == T_SCATTERV ||
             t == T_ALLTOALLV;
  size_t rbytes = rall ? bytes * (size_t)size : bytes;
  size_t sbytes = sall ? bytes * (size_t)size : bytes;
  bufs_t sb, rb;
  bufs_init(&sb, sbytes, fresh);
  bufs_init(&rb, rbytes, fresh);
  int iters = iters_for(bytes, base_iters), skip = iters / 10 + 1;
  double total = 0;
  for (int i = 0; i < iters + skip; i++) {
    void *s = bufs_take(&sb), *r = bufs_take(&rb);
    /* The barrier test times barriers back to back; the others pass one between calls. */
    if (t != T_BARRIER && !in_row)
      check(osu_barrier(), "barrier");
    double t0 = osu_wtime();
    call(t, s, r, n, 0);
    double t1 = osu_wtime();
    if (i >= skip)
      total += t1 - t0;
  }
  double mine = total / iters * 1e6, sum = 0, max = 0;
  check(osu_reduce_time(&mine, &sum), "reduce of the times");
  check(osu_max_time(&mine, &max), "largest of the times");
  if (rank == 0)
    printf("osu_coll impl=%s test=%s ranks=%d size=%zu iters=%d avg_us=%.3f max_us=%.3f%s\n",
           OSU_IMPL, test_names[t], size, t == T_BARRIER ? (size_t)0 : bytes, iters, sum / size,
           max, in_row ? " row=1" : "");
  fflush(stdout);
  /* Every rank ends the size before any frees its buffers, as OSU ends each size with a
   * barrier: ranks that returned from their last call and freed and allocated buffers
   * while the root's last call was in flight made that call take 0.3-6 ms on 4 ranks of
   * 2 vCPUs, in both builds (doc/benchmarks.md, "the last call of a size"). */
  check(osu_barrier(), "barrier");
  free(sb.mem);
  free(rb.mem);
}

int main(int argc, char **argv)
{
  int tests[T_N] = {0}, any = 0, base_iters = 10000, fresh = 0;
  size_t sizes[32];
  int nsizes = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
      char *list = strdup(argv[++i]);
      for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
        for (int t = 0; t < T_N; t++)
          if (strcmp(tok, test_names[t]) == 0)
            tests[t] = any = 1;
      free(list);
    } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
      char *list = strdup(argv[++i]);
      for (char *tok = strtok(list, ","); tok && nsizes < 32; tok = strtok(NULL, ","))
        sizes[nsizes++] = strtoull(tok, NULL, 0);
      free(list);
    } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      base_iters = atoi(argv[++i]);
    } else if (strcmp(argv[i], "-f") == 0) {
      fresh = 1;
    } else if (strcmp(argv[i], "-b") == 0) {
      in_row = 1;
    } else {
      fprintf(stderr, "usage: osu_coll [-t test,...] [-s size,...] [-n iters] [-f] [-b]\n");
      return 2;
    }
  }
  if (!any)
    for (int t = 0; t < T_N; t++)
      tests[t] = 1;
  if (nsizes == 0)
    for (size_t s = 8; s <= ((size_t)1 << 20); s *= 8)
      sizes[nsizes++] = s;
  check(osu_init(&argc, &argv), "init");
  osu_rank_size(&rank, &size);
  check(osu_v_alloc(size), "allocation of the v-forms' counts");
  for (int t = 0; t < T_N; t++) {
    if (!tests[t])
      continue;
    if (t == T_BARRIER) {
      run(t, 0, base_iters, fresh);
      continue;
    }
    for (int k = 0; k < nsizes; k++)
      run(t, sizes[k], base_iters, fresh);
  }
  return osu_finalize() == 0 ? 0 : 1;
}
