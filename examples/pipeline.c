/* SPDX-License-Identifier: MIT */
/* A producer -> squarer -> consumer pipeline on three ranks, the C twin of the Python
 * tutorial that chains two multiprocessing.Pipe()s.
 *
 *   rank 0 produces 0, 1, ..., n-1, one 8-byte message each;
 *   rank 1 squares every item it receives and passes it on;
 *   rank 2 consumes: prints each item (default) or adds them up (-q).
 *
 * Where Python closes the pipe and the reader sees EOFError, a rank here ends its stream
 * with an empty message carrying its own tag, PIPELINE_TAG_END.
 *
 * Usage: tuborun -n 3 pipeline [-n COUNT] [-q]
 * With -q the consumer prints one line of key=value pairs instead of the items:
 *   pipeline items=N seconds=S items_per_s=R checksum=C expected=E check=ok
 * where C is the sum of the squares it received (modulo 2^64) and E the closed form of that
 * sum; when they differ the line says check=FAIL and the consumer exits with status 1. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tubo.h>

enum { PIPELINE_TAG_ITEM = 1, PIPELINE_TAG_END = 2 };
enum { PIPELINE_DEFAULT_COUNT = 10 };
enum { PIPELINE_EXIT_USAGE = 2 };

/* The largest item count accepted: keeps every square within 64 bits. */
#define PIPELINE_MAX_COUNT (UINT64_C(1) << 32)

typedef struct pipeline_opts {
  uint64_t count;
  int quiet;
} pipeline_opts_t;

/* Stops the whole job when a call fails: the other ranks would otherwise wait forever. */
static void pipeline_check(int rc, const char *what)
{
  if (rc == 0)
    return;
  fprintf(stderr, "pipeline: %s: %s\n", what, tubo_strerror(rc));
  tubo_abort(TUBO_COMM_WORLD, 1);
}

static void pipeline_usage(FILE *f)
{
  fprintf(f, "Usage: tuborun -n 3 pipeline [-n COUNT] [-q]\n"
             "Streams COUNT items (default 10) from rank 0 through rank 1, which squares\n"
             "them, to rank 2, which prints them.\n"
             "\n"
             "  -n COUNT  number of items to stream (0 .. 2^32)\n"
             "  -q        print one line with the rate and the checksum instead of the items\n"
             "  -h        print this help\n");
}

/* Returns 0, 1 after -h, or PIPELINE_EXIT_USAGE with a message for rank 0 to print. */
static int pipeline_parse(int argc, char **argv, pipeline_opts_t *o, char *err, size_t errlen)
{
  o->count = PIPELINE_DEFAULT_COUNT;
  o->quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
      return 1;
    if (strcmp(a, "-q") == 0) {
      o->quiet = 1;
    } else if (strcmp(a, "-n") == 0) {
      const char *v = i + 1 < argc ? argv[++i] : "";
      char *end = NULL;
      unsigned long long n = strtoull(v, &end, 10);
      if (*v < '0' || *v > '9' || *end != '\0' || n > PIPELINE_MAX_COUNT) {
        snprintf(err, errlen, "-n needs a count from 0 to 2^32, not '%s'", v);
        return PIPELINE_EXIT_USAGE;
      }
      o->count = n;
    } else {
      snprintf(err, errlen, "unknown argument '%s'", a);
      return PIPELINE_EXIT_USAGE;
    }
  }
  return 0;
}

/* The sum of i*i for i in 0..n-1, modulo 2^64: (n-1) n (2n-1) / 6, divided before the
 * products so that the modular multiplications stay exact. */
static uint64_t pipeline_expected_sum(uint64_t n)
{
  if (n == 0)
    return 0;
  uint64_t a = n - 1, b = n, c = 2 * n - 1;
  if (a % 2 == 0)
    a /= 2;
  else
    b /= 2;
  if (a % 3 == 0)
    a /= 3;
  else if (b % 3 == 0)
    b /= 3;
  else
    c /= 3;
  return a * b * c;
}

static void pipeline_produce(uint64_t count, tubo_comm_t *world)
{
  for (uint64_t i = 0; i < count; i++)
    pipeline_check(tubo_send(&i, sizeof i, 1, PIPELINE_TAG_ITEM, world), "producer: send");
  pipeline_check(tubo_send(NULL, 0, 1, PIPELINE_TAG_END, world), "producer: send end");
}

static void pipeline_square(tubo_comm_t *world)
{
  for (;;) {
    uint64_t item;
    tubo_status_t st;
    pipeline_check(tubo_recv(&item, sizeof item, 0, TUBO_ANY_TAG, world, &st), "squarer: recv");
    if (st.tag == PIPELINE_TAG_END)
      break;
    item *= item;
    pipeline_check(tubo_send(&item, sizeof item, 2, PIPELINE_TAG_ITEM, world), "squarer: send");
  }
  pipeline_check(tubo_send(NULL, 0, 2, PIPELINE_TAG_END, world), "squarer: send end");
}

/* Returns the exit status: 0, or 1 when the checksum or the item count is wrong. */
static int pipeline_consume(const pipeline_opts_t *o, tubo_comm_t *world)
{
  uint64_t sum = 0, received = 0;
  double t0 = tubo_wtime();
  for (;;) {
    uint64_t item;
    tubo_status_t st;
    pipeline_check(tubo_recv(&item, sizeof item, 1, TUBO_ANY_TAG, world, &st), "consumer: recv");
    if (st.tag == PIPELINE_TAG_END)
      break;
    sum += item;
    received++;
    if (!o->quiet)
      printf("%" PRIu64 "\n", item);
  }
  double secs = tubo_wtime() - t0;
  if (!o->quiet) {
    printf("Final de la comunicación\n");
    return received == o->count ? 0 : 1;
  }
  uint64_t expected = pipeline_expected_sum(o->count);
  int ok = sum == expected && received == o->count;
  printf("pipeline items=%" PRIu64 " seconds=%.6f items_per_s=%.0f checksum=%" PRIu64
         " expected=%" PRIu64 " check=%s\n",
         received, secs, secs > 0 ? (double)received / secs : 0.0, sum, expected,
         ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
  int rc = tubo_init(&argc, &argv);
  if (rc != 0) {
    fprintf(stderr, "pipeline: tubo_init: %s\n", tubo_strerror(rc));
    return 1;
  }
  tubo_comm_t *world = TUBO_COMM_WORLD;
  int rank, size;
  pipeline_check(tubo_comm_rank(world, &rank), "tubo_comm_rank");
  pipeline_check(tubo_comm_size(world, &size), "tubo_comm_size");

  /* Every rank parses the same arguments and so reaches the same verdict; rank 0 speaks. */
  pipeline_opts_t o;
  char err[160] = "";
  int status = pipeline_parse(argc, argv, &o, err, sizeof err);
  if (status == 1 && rank == 0)
    pipeline_usage(stdout);
  if (status == PIPELINE_EXIT_USAGE && rank == 0) {
    fprintf(stderr, "pipeline: %s\n", err);
    pipeline_usage(stderr);
  }
  if (status == 1)
    status = 0;
  else if (status == 0 && size != 3) {
    if (rank == 0)
      fprintf(stderr,
              "pipeline: needs exactly 3 ranks (producer, squarer, consumer), not %d;"
              " run it as: tuborun -n 3 pipeline\n",
              size);
    status = 1;
  } else if (status == 0) {
    /* Start together, so that the consumer's clock measures the stream, not the start-up. */
    pipeline_check(tubo_barrier(world), "tubo_barrier");
    if (rank == 0)
      pipeline_produce(o.count, world);
    else if (rank == 1)
      pipeline_square(world);
    else
      status = pipeline_consume(&o, world);
  }
  fflush(stdout);
  rc = tubo_finalize();
  if (rc != 0) {
    fprintf(stderr, "pipeline: tubo_finalize: %s\n", tubo_strerror(rc));
    return 1;
  }
  return status;
}
