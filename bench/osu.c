/* SPDX-License-Identifier: MIT */
/* Point-to-point latency and bandwidth between two ranks, in the style of the OSU
 * micro-benchmarks (osu_latency, osu_bw). One source, built twice: against tubo
 * (bench/osu_tubo) and, with -DOSU_USE_MPI, against MPI (bench/osu_mpi), through the shim
 * below, so that both measure exactly the same loops.
 *
 *   latency: rank 0 sends SIZE bytes, rank 1 sends them back; the figure is half the mean
 *            round trip, warm-up iterations excluded (osu_latency).
 *   bw:      rank 0 starts a window of 64 non-blocking sends, waits for them, then waits
 *            for a 1-byte ack; the figure is bytes sent over time (osu_bw).
 *
 * Rank 0 prints one line of key=value pairs per size:
 *   osu impl=tubo test=latency size=8 iters=10000 half_rtt_ns=251.3
 *   osu impl=tubo test=bw size=1048576 iters=20 window=64 GBps=12.345 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* ---- The shim: the few calls the benchmark makes, for each library. ---- */
#ifdef OSU_USE_MPI
#include <mpi.h>
#define OSU_IMPL "mpi"
typedef MPI_Request osu_req_t;
static inline int osu_init(int *argc, char ***argv)
{
  return MPI_Init(argc, argv);
}
static inline int osu_finalize(void)
{
  return MPI_Finalize();
}
static inline int osu_rank_size(int *rank, int *size)
{
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  return MPI_Comm_size(MPI_COMM_WORLD, size);
}
static inline int osu_send(const void *b, size_t n, int peer, int tag)
{
  return MPI_Send(b, (int)n, MPI_BYTE, peer, tag, MPI_COMM_WORLD);
}
static inline int osu_recv(void *b, size_t n, int peer, int tag)
{
  return MPI_Recv(b, (int)n, MPI_BYTE, peer, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}
static inline int osu_isend(const void *b, size_t n, int peer, int tag, osu_req_t *r)
{
  return MPI_Isend(b, (int)n, MPI_BYTE, peer, tag, MPI_COMM_WORLD, r);
}
static inline int osu_irecv(void *b, size_t n, int peer, int tag, osu_req_t *r)
{
  return MPI_Irecv(b, (int)n, MPI_BYTE, peer, tag, MPI_COMM_WORLD, r);
}
static inline int osu_waitall(int n, osu_req_t *r)
{
  return MPI_Waitall(n, r, MPI_STATUSES_IGNORE);
}
static inline int osu_barrier(void)
{
  return MPI_Barrier(MPI_COMM_WORLD);
}
static inline int osu_iprobe(int peer, int tag, int *flag)
{
  return MPI_Iprobe(peer, tag, MPI_COMM_WORLD, flag, MPI_STATUS_IGNORE);
}
static inline double osu_wtime(void)
{
  return MPI_Wtime();
}
static inline const char *osu_strerror(int rc)
{
  (void)rc;
  return "MPI call failed";
}
static inline void osu_abort(int code)
{
  MPI_Abort(MPI_COMM_WORLD, code);
}
/* Buffers as MPI_Alloc_mem gives them; MPI has no loans. */
static inline void *osu_alloc_mem(size_t n)
{
  void *p = NULL;
  return MPI_Alloc_mem((MPI_Aint)n, MPI_INFO_NULL, &p) == MPI_SUCCESS ? p : NULL;
}
static inline void osu_free_mem(void *p)
{
  MPI_Free_mem(p);
}
#define OSU_HAS_LOANS 0
static inline int osu_loan_pingpong(size_t n, int peer, int tag)
{
  (void)n, (void)peer, (void)tag;
  return -1;
}
#else
#include <tubo.h>
#define OSU_IMPL      "tubo"
typedef tubo_request_t *osu_req_t;
static inline int osu_init(int *argc, char ***argv)
{
  return tubo_init(argc, argv);
}
static inline int osu_finalize(void)
{
  return tubo_finalize();
}
static inline int osu_rank_size(int *rank, int *size)
{
  int rc = tubo_comm_rank(TUBO_COMM_WORLD, rank);
  return rc != 0 ? rc : tubo_comm_size(TUBO_COMM_WORLD, size);
}
static inline int osu_send(const void *b, size_t n, int peer, int tag)
{
  return tubo_send(b, n, peer, tag, TUBO_COMM_WORLD);
}
static inline int osu_recv(void *b, size_t n, int peer, int tag)
{
  return tubo_recv(b, n, peer, tag, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE);
}
static inline int osu_isend(const void *b, size_t n, int peer, int tag, osu_req_t *r)
{
  return tubo_isend(b, n, peer, tag, TUBO_COMM_WORLD, r);
}
static inline int osu_irecv(void *b, size_t n, int peer, int tag, osu_req_t *r)
{
  return tubo_irecv(b, n, peer, tag, TUBO_COMM_WORLD, r);
}
static inline int osu_waitall(int n, osu_req_t *r)
{
  return tubo_waitall((size_t)n, r, TUBO_STATUSES_IGNORE);
}
static inline int osu_barrier(void)
{
  return tubo_barrier(TUBO_COMM_WORLD);
}
static inline int osu_iprobe(int peer, int tag, int *flag)
{
  return tubo_iprobe(peer, tag, TUBO_COMM_WORLD, flag, TUBO_STATUS_IGNORE);
}
static inline double osu_wtime(void)
{
  return tubo_wtime();
}
static inline const char *osu_strerror(int rc)
{
  return tubo_strerror(rc);
}
static inline void osu_abort(int code)
{
  tubo_abort(TUBO_COMM_WORLD, code);
}
static inline void *osu_alloc_mem(size_t n)
{
  void *p = NULL;
  return tubo_alloc_mem(n, &p) == 0 ? p : NULL;
}
static inline void osu_free_mem(void *p)
{
  (void)tubo_free_mem(p);
}
#define OSU_HAS_LOANS 1
/* One leg of a loan ping-pong: rank 0 loans a buffer, writes its first and last byte
 * and hands it over; the peer takes it, reads them, gives it back and answers alike. */
static inline int osu_loan_send(size_t n, int peer, int tag)
{
  char *p;
  int rc = tubo_loan(TUBO_COMM_WORLD, peer, n, (void **)&p);
  if (rc != 0)
    return rc;
  p[0] = p[n - 1] = 'L';
  return tubo_send_loan(p, n, peer, tag, TUBO_COMM_WORLD);
}
static inline int osu_loan_recv(size_t n, int peer, int tag)
{
  char *p;
  tubo_status_t st;
  int rc = tubo_recv_loan(peer, tag, TUBO_COMM_WORLD, (void **)&p, &st);
  if (rc != 0)
    return rc;
  if (st.length != n || p[0] != 'L' || p[n - 1] != 'L')
    return TUBO_ECORRUPT;
  return tubo_loan_release(p);
}
static inline int osu_loan_pingpong(size_t n, int peer, int first)
{
  int rc;
  if (first)
    return (rc = osu_loan_send(n, peer, 7)) != 0 ? rc : osu_loan_recv(n, peer, 7);
  return (rc = osu_loan_recv(n, peer, 7)) != 0 ? rc : osu_loan_send(n, peer, 7);
}
#endif
/* ---- End of the shim. ---- */

enum { OSU_WINDOW = 64, OSU_MAX_SIZES = 64 };
enum { OSU_TAG_LAT = 1, OSU_TAG_BW = 2, OSU_TAG_ACK = 3, OSU_TAG_SYNC = 4, OSU_TAG_DONE = 5 };

static int osu_size;

static int osu_rank;

static void osu_check(int rc, const char *what)
{
  if (rc == 0)
    return;
  fprintf(stderr, "osu_" OSU_IMPL ": rank %d: %s: %s\n", osu_rank, what, osu_strerror(rc));
  osu_abort(1);
}

/* Ranks 0 and 1 meet before a test: a barrier, or with idle ranks about, a message each
 * way (the idle ranks take no part). */
static void osu_sync(void)
{
  if (osu_size == 2) {
    osu_check(osu_barrier(), "barrier");
    return;
  }
  char b = 0;
  int peer = 1 - osu_rank;
  if (osu_rank == 0) {
    osu_check(osu_send(&b, 1, peer, OSU_TAG_SYNC), "sync send");
    osu_check(osu_recv(&b, 1, peer, OSU_TAG_SYNC), "sync recv");
  } else {
    osu_check(osu_recv(&b, 1, peer, OSU_TAG_SYNC), "sync recv");
    osu_check(osu_send(&b, 1, peer, OSU_TAG_SYNC), "sync send");
  }
}

/* A rank beyond the first two (-i): it waits, looking for rank 0's word every
 * millisecond, so that ranks 0 and 1 run with peers that are reached through another
 * transport and idle, without those peers taking their cores. */
static void osu_idle(void)
{
  int flag = 0;
  char b;
  while (!flag) {
    osu_check(osu_iprobe(0, OSU_TAG_DONE, &flag), "idle iprobe");
    if (!flag)
      nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  osu_check(osu_recv(&b, 1, 0, OSU_TAG_DONE), "idle recv");
}
#define OSU_MAX_SIZE ((size_t)64 << 20)

typedef struct osu_opts {
  int latency, bw; /* which tests run */
  int bind;        /* bind rank r to the r-th allowed CPU */
  int alloc_mem;   /* buffers from tubo_alloc_mem / MPI_Alloc_mem: 1 the send buffer, 2 the
                    * receive buffer */
  int loan;        /* the loan ping-pong (tubo only) */
  int idle;        /* ranks beyond the first two idle */
  size_t offset;   /* both buffers start this many bytes into a page */
  size_t sizes[OSU_MAX_SIZES];
  int nsizes;
} osu_opts_t;

static void osu_usage(FILE *f)
{
  fprintf(f, "Usage: tuborun -n 2 osu_tubo [options]   or   mpirun -n 2 osu_mpi [options]\n"
             "  -t latency|bw|both|loan  which test to run (default both); loan: a\n"
             "                      ping-pong of loans (tubo only), as latency\n"
             "  -m                  buffers from tubo_alloc_mem / MPI_Alloc_mem\n"
             "  -ms, -mr            only the send buffer, only the receive buffer so\n"
             "  -s S1,S2,...        message sizes in bytes (default 8, 16, ... 4194304)\n"
             "  -b                  bind rank r to the r-th CPU this process may use\n"
             "  -i                  more than 2 ranks: ranks 2 and up stay idle until the end\n"
             "  -o N                both buffers N bytes (0-4095) into a page (default 0)\n"
             "  -h                  print this help\n");
}

/* Parses "8,1024,..." into o->sizes. Returns 0 or -1. */
static int osu_parse_sizes(const char *s, osu_opts_t *o)
{
  o->nsizes = 0;
  while (*s) {
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || v < 1 || v > OSU_MAX_SIZE || o->nsizes == OSU_MAX_SIZES ||
        (*end != ',' && *end != '\0'))
      return -1;
    o->sizes[o->nsizes++] = (size_t)v;
    s = *end == ',' ? end + 1 : end;
  }
  return o->nsizes > 0 ? 0 : -1;
}

/* Returns 0 to run, 1 after -h, 2 for a usage error (with its message in err). */
static int osu_parse(int argc, char **argv, osu_opts_t *o, const char **err)
{
  memset(o, 0, sizeof *o);
  o->latency = o->bw = 1;
  for (size_t n = 8; n <= ((size_t)4 << 20); n *= 2)
    o->sizes[o->nsizes++] = n;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-h") == 0)
      return 1;
    if (strcmp(a, "-b") == 0) {
      o->bind = 1;
    } else if (strcmp(a, "-m") == 0) {
      o->alloc_mem = 3;
    } else if (strcmp(a, "-ms") == 0) {
      o->alloc_mem = 1;
    } else if (strcmp(a, "-mr") == 0) {
      o->alloc_mem = 2;
    } else if (strcmp(a, "-i") == 0) {
      o->idle = 1;
    } else if (strcmp(a, "-o") == 0 && v != NULL) {
      char *end = NULL;
      unsigned long off = strtoul(v, &end, 10);
      if (end == v || *end != '\0' || off > 4095) {
        *err = "-o needs an offset from 0 to 4095";
        return 2;
      }
      o->offset = (size_t)off;
      i++;
    } else if (strcmp(a, "-t") == 0 && v != NULL) {
      o->latency = strcmp(v, "latency") == 0 || strcmp(v, "both") == 0;
      o->bw = strcmp(v, "bw") == 0 || strcmp(v, "both") == 0;
      o->loan = strcmp(v, "loan") == 0;
      if (o->loan && !OSU_HAS_LOANS) {
        *err = "-t loan: MPI has no loans";
        return 2;
      }
      if (!o->latency && !o->bw && !o->loan) {
        *err = "-t needs latency, bw, both or loan";
        return 2;
      }
      i++;
    } else if (strcmp(a, "-s") == 0 && v != NULL) {
      if (osu_parse_sizes(v, o) != 0) {
        *err = "-s needs sizes from 1 to 64 MiB, separated by commas";
        return 2;
      }
      i++;
    } else {
      *err = "unknown or incomplete option";
      return 2;
    }
  }
  return 0;
}

/* Binds this process to the rank-th CPU of those it may run on (for launchers that do not
 * bind): the same placement Open MPI's mpirun gives two ranks by default. */
static void osu_bind(int rank)
{
  cpu_set_t allowed, one;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    return;
  int count = CPU_COUNT(&allowed), want = rank % (count > 0 ? count : 1);
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &allowed) && want-- == 0) {
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      if (sched_setaffinity(0, sizeof one, &one) != 0)
        perror("osu: sched_setaffinity");
      return;
    }
}

/* Iterations for a size: as osu_latency and osu_bw, fewer for large messages, and few
 * enough that a 4 MiB run stays well under a second. */
static int osu_lat_iters(size_t n)
{
  long it = n <= 8192 ? 10000 : (long)(((size_t)1 << 30) / n);
  return (int)(it < 100 ? 100 : it > 10000 ? 10000 : it);
}

static int osu_bw_iters(size_t n)
{
  if (n <= 8192)
    return 100;
  long it = (long)(((size_t)20 << 20) / n); /* above 1 MiB: 20 MiB of windows, at least 2 */
  return it > 20 ? 20 : it < 2 ? 2 : (int)it;
}

static void osu_latency(char *buf, size_t n)
{
  int iters = osu_lat_iters(n), skip = iters / 10;
  double t0 = 0;
  osu_sync();
  for (int i = 0; i < iters + skip; i++) {
    if (i == skip)
      t0 = osu_wtime();
    if (osu_rank == 0) {
      osu_check(osu_send(buf, n, 1, OSU_TAG_LAT), "latency send");
      osu_check(osu_recv(buf, n, 1, OSU_TAG_LAT), "latency recv");
    } else {
      osu_check(osu_recv(buf, n, 0, OSU_TAG_LAT), "latency recv");
      osu_check(osu_send(buf, n, 0, OSU_TAG_LAT), "latency send");
    }
  }
  double t = osu_wtime() - t0;
  if (osu_rank == 0)
    printf("osu impl=" OSU_IMPL " test=latency size=%zu iters=%d half_rtt_ns=%.1f\n", n, iters,
           t / iters / 2 * 1e9);
}

/* The loan ping-pong: half the mean round trip, as osu_latency. A loan moves two bytes
 * whatever its size: as many round trips as for the smallest messages. */
static void osu_loan(size_t n)
{
  int iters = osu_lat_iters(1), skip = iters / 10;
  double t0 = 0;
  osu_sync();
  for (int i = 0; i < iters + skip; i++) {
    if (i == skip)
      t0 = osu_wtime();
    osu_check(osu_loan_pingpong(n, 1 - osu_rank, osu_rank == 0), "loan ping-pong");
  }
  double t = osu_wtime() - t0;
  if (osu_rank == 0)
    printf("osu impl=" OSU_IMPL " test=loan size=%zu iters=%d half_rtt_ns=%.1f\n", n, iters,
           t / iters / 2 * 1e9);
}

/* Streams windows of messages to rank 1. Rank 1 then checks that the bytes arrived: the
 * sender fills its buffer with a mark the receiver's buffer did not hold. */
static void osu_bw(char *sbuf, char *rbuf, size_t n, char mark)
{
  int iters = osu_bw_iters(n), skip = iters / 10;
  osu_req_t req[OSU_WINDOW];
  double t0 = 0;
  if (osu_rank == 0)
    memset(sbuf, mark, n);
  else
    memset(rbuf, mark + 1, n);
  osu_sync();
  for (int i = 0; i < iters + skip; i++) {
    if (i == skip)
      t0 = osu_wtime();
    if (osu_rank == 0) {
      for (int w = 0; w < OSU_WINDOW; w++)
        osu_check(osu_isend(sbuf, n, 1, OSU_TAG_BW, &req[w]), "bw isend");
      osu_check(osu_waitall(OSU_WINDOW, req), "bw waitall");
      osu_check(osu_recv(rbuf, 1, 1, OSU_TAG_ACK), "bw ack recv");
    } else {
      for (int w = 0; w < OSU_WINDOW; w++)
        osu_check(osu_irecv(rbuf, n, 0, OSU_TAG_BW, &req[w]), "bw irecv");
      osu_check(osu_waitall(OSU_WINDOW, req), "bw waitall");
      osu_check(osu_send(sbuf, 1, 0, OSU_TAG_ACK), "bw ack send");
    }
  }
  double t = osu_wtime() - t0;
  if (osu_rank == 1 && (rbuf[0] != mark || rbuf[n / 2] != mark || rbuf[n - 1] != mark)) {
    fprintf(stderr, "osu_" OSU_IMPL ": bw %zu B: the data that arrived is not what was sent\n", n);
    osu_abort(1);
  }
  if (osu_rank == 0)
    printf("osu impl=" OSU_IMPL " test=bw size=%zu iters=%d window=%d GBps=%.3f\n", n, iters,
           OSU_WINDOW, (double)n * OSU_WINDOW * iters / t / 1e9);
}

/* Page-aligned (then off bytes in: -o) and touched, so that first-touch faults stay out of
 * the timed loops; or (-m) from the library's allocator, touched too. */
static char *osu_buffer(size_t n, int alloc_mem, size_t off)
{
  void *p = alloc_mem
                ? osu_alloc_mem(n + off)
                : mmap(NULL, n + off, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED || p == NULL) {
    perror("osu: buffer");
    osu_abort(1);
  }
  memset(p, 1, n + off);
  return (char *)p + off;
}

static void osu_buffer_free(char *p, size_t n, int alloc_mem, size_t off)
{
  if (alloc_mem)
    osu_free_mem(p - off);
  else
    munmap(p - off, n + off);
}

int main(int argc, char **argv)
{
  int size;
  osu_check(osu_init(&argc, &argv), "init");
  osu_check(osu_rank_size(&osu_rank, &size), "rank and size");
  osu_opts_t o;
  const char *err = NULL;
  int status = osu_parse(argc, argv, &o, &err);
  osu_size = size;
  if (status == 0 && size != 2 && !(o.idle && size > 2)) {
    err = "needs exactly 2 ranks (or more with -i)";
    status = 2;
  }
  if (status != 0) {
    if (osu_rank == 0 && status == 1)
      osu_usage(stdout);
    if (osu_rank == 0 && status == 2) {
      fprintf(stderr, "osu_" OSU_IMPL ": %s\n", err);
      osu_usage(stderr);
    }
    osu_finalize();
    return status == 1 ? 0 : 2;
  }
  if (osu_rank >= 2) {
    osu_idle();
    osu_check(osu_finalize(), "finalize");
    return 0;
  }
  if (o.bind)
    osu_bind(osu_rank);
  size_t max = 1;
  for (int k = 0; k < o.nsizes; k++)
    max = o.sizes[k] > max ? o.sizes[k] : max;
  char *sbuf = osu_buffer(max, o.alloc_mem & 1, o.offset),
       *rbuf = osu_buffer(max, o.alloc_mem & 2, o.offset);
  for (int k = 0; k < o.nsizes && o.loan; k++) {
    osu_loan(o.sizes[k]);
    fflush(stdout);
  }
  for (int k = 0; k < o.nsizes && o.latency; k++) {
    osu_latency(sbuf, o.sizes[k]);
    fflush(stdout);
  }
  for (int k = 0; k < o.nsizes && o.bw; k++) {
    osu_bw(sbuf, rbuf, o.sizes[k], (char)('A' + k % 26));
    fflush(stdout);
  }
  osu_buffer_free(sbuf, max, o.alloc_mem & 1, o.offset);
  osu_buffer_free(rbuf, max, o.alloc_mem & 2, o.offset);
  char done = 0;
  for (int r = 2; r < size && osu_rank == 0; r++)
    osu_check(osu_send(&done, 1, r, OSU_TAG_DONE), "done send");
  osu_check(osu_finalize(), "finalize");
  return 0;
}
