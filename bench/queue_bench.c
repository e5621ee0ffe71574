/* SPDX-License-Identifier: MIT */
/* Queue throughput: P producer processes put 8-byte items into one tubo Queue, P consumer
 * processes get them (processes started with tubo_process, as multiprocessing.Process).
 * bench/py_queue.py measures Python's multiprocessing.Queue the same way.
 *
 * The clock starts when every process has said it started (one byte up an OS pipe) and the
 * parent opens the gate (one byte per process down another), and stops when the consumers have
 * reported: the producers put the values 1..N between them, the parent puts one 0 per consumer
 * after the producers ended, and each consumer reports its count and sum through a second queue.
 * Prints queue impl=tubo producers=P consumers=P items=N capacity=C seconds=S items_per_s=R
 * check=ok (check=bad when the count or the sum is wrong; exit status 1 then). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tubo.h"

#define MAX_PAIRS 64

static tubo_queue_t *items, *results;
static int gate[2], ready[2];
static uint64_t n_items;
static int pairs;

struct report {
  uint64_t count, sum;
};

static void die(const char *what, int rc)
{
  fprintf(stderr, "queue_bench: %s: %s\n", what, tubo_strerror(rc));
  exit(1);
}

/* Says "started", then waits for the parent to open the gate. */
static void wait_gate(void)
{
  char c = 'r';
  if (write(ready[1], &c, 1) != 1 || read(gate[0], &c, 1) != 1)
    exit(3);
}

static int producer(void *arg)
{
  int id = (int)(intptr_t)arg;
  wait_gate();
  /* Producer id puts the values id+1, id+1+P, ... up to N. */
  for (uint64_t v = (uint64_t)id + 1; v <= n_items; v += (uint64_t)pairs)
    if (tubo_queue_put(items, &v, sizeof v, -1) != 0)
      return 2;
  return 0;
}

static int consumer(void *arg)
{
  (void)arg;
  wait_gate();
  struct report r = {0, 0};
  for (;;) {
    uint64_t v;
    if (tubo_queue_get(items, &v, sizeof v, NULL, -1) != 0)
      return 2;
    if (v == 0)
      break;
    r.count++;
    r.sum += v;
  }
  return tubo_queue_put(results, &r, sizeof r, -1) == 0 ? 0 : 2;
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: queue_bench [-p PAIRS] [-n ITEMS] [-c CAPACITY]\n"
          "  -p PAIRS     producers, and as many consumers (default 1, at most %d)\n"
          "  -n ITEMS     items in all (default 2000000)\n"
          "  -c CAPACITY  the queue's capacity (default 4096)\n",
          MAX_PAIRS);
}

int main(int argc, char **argv)
{
  pairs = 1;
  n_items = 2000000;
  unsigned long capacity = 4096;
  int opt;
  while ((opt = getopt(argc, argv, "p:n:c:h")) != -1) {
    switch (opt) {
    case 'p':
      pairs = atoi(optarg);
      break;
    case 'n':
      n_items = strtoull(optarg, NULL, 10);
      break;
    case 'c':
      capacity = strtoul(optarg, NULL, 10);
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (pairs < 1 || pairs > MAX_PAIRS || n_items == 0 || capacity == 0) {
    usage(stderr);
    return 2;
  }
  int rc = tubo_queue_create(capacity, sizeof(uint64_t), 0, &items);
  if (rc != 0)
    die("tubo_queue_create", rc);
  rc = tubo_queue_create((size_t)pairs, sizeof(struct report), 0, &results);
  if (rc != 0)
    die("tubo_queue_create (results)", rc);
  if (pipe(gate) != 0 || pipe(ready) != 0) {
    perror("queue_bench: pipe");
    return 1;
  }
  tubo_process_t *prod[MAX_PAIRS], *cons[MAX_PAIRS];
  for (int i = 0; i < pairs; i++) {
    if ((rc = tubo_process_create(producer, (void *)(intptr_t)i, &prod[i])) != 0 ||
        (rc = tubo_process_start(prod[i])) != 0 ||
        (rc = tubo_process_create(consumer, NULL, &cons[i])) != 0 ||
        (rc = tubo_process_start(cons[i])) != 0)
      die("starting the processes", rc);
  }
  char open_gate[2 * MAX_PAIRS];
  for (int got = 0; got < 2 * pairs;) {
    ssize_t n = read(ready[0], open_gate, (size_t)(2 * pairs - got));
    if (n <= 0) {
      perror("queue_bench: read");
      return 1;
    }
    got += (int)n;
  }
  memset(open_gate, 'g', sizeof open_gate);
  double t0 = tubo_wtime();
  if (write(gate[1], open_gate, (size_t)(2 * pairs)) != 2 * pairs) {
    perror("queue_bench: write");
    return 1;
  }
  int bad = 0, code = 0;
  for (int i = 0; i < pairs; i++) {
    tubo_process_join(prod[i], -1);
    tubo_process_exitcode(prod[i], &code);
    bad |= code != 0;
  }
  uint64_t stop = 0;
  for (int i = 0; i < pairs; i++)
    if ((rc = tubo_queue_put(items, &stop, sizeof stop, -1)) != 0)
      die("tubo_queue_put", rc);
  struct report total = {0, 0};
  for (int i = 0; i < pairs; i++) {
    struct report r;
    if ((rc = tubo_queue_get(results, &r, sizeof r, NULL, -1)) != 0)
      die("tubo_queue_get", rc);
    total.count += r.count;
    total.sum += r.sum;
  }
  double secs = tubo_wtime() - t0;
  for (int i = 0; i < pairs; i++) {
    tubo_process_join(cons[i], -1);
    tubo_process_exitcode(cons[i], &code);
    bad |= code != 0;
    tubo_process_free(prod[i]);
    tubo_process_free(cons[i]);
  }
  /* 1 + ... + N, computed so that it cannot overflow for any N that fits the count. */
  uint64_t want = n_items % 2 == 0 ? n_items / 2 * (n_items + 1) : (n_items + 1) / 2 * n_items;
  bad |= total.count != n_items || total.sum != want;
  printf("queue impl=tubo producers=%d consumers=%d items=%" PRIu64
         " capacity=%lu seconds=%.4f items_per_s=%.0f check=%s\n",
         pairs, pairs, n_items, capacity, secs, (double)n_items / secs, bad ? "bad" : "ok");
  tubo_queue_free(items);
  tubo_queue_free(results);
  return bad ? 1 : 0;
}
