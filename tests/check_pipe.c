/* SPDX-License-Identifier: MIT */
/* Pipes, as multiprocessing.Pipe.
 *
 * tubo_pipe_create: processes started with tubo_process from the test, each holding its
 * own copy of both ends, as with Python's fork start method. Children report a failed
 * check on stderr and exit with status 1 (TH_CHECK); the test asserts their exit codes.
 * tubo_pipe_open: rank bodies under tuborun, over both transports. The ring under a
 * created pipe is also tested alone (an internal interface). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hash.h"
#include "patterns/pipe_ring.h"

/* ---- Helpers ---- */

/* The index of the first byte of buf that differs from the pattern of seed, or len. */
static size_t pattern_diff(const void *buf, size_t len, uint32_t seed)
{
  unsigned char *want = th_malloc(len);
  th_fill(want, len, seed);
  const unsigned char *p = buf;
  size_t i = 0;
  if (len > 0 && memcmp(p, want, len) != 0) /* buf may be NULL when len is 0 */
    while (p[i] == want[i])
      i++;
  else
    i = len;
  free(want);
  return i;
}

static uint64_t rng_next(uint64_t *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* Message sizes from 0 to 4 MiB, most of them small, the same sequence on both sides. */
static size_t random_size(uint64_t *x)
{
  uint64_t r = rng_next(x);
  switch (r % 8) {
  case 0:
    return 0;
  case 1:
  case 2:
  case 3:
    return (size_t)(r >> 8) % 65;
  case 4:
  case 5:
    return (size_t)(r >> 8) % 8193;
  case 6:
    return (size_t)(r >> 8) % 300001;
  default:
    return (size_t)(r >> 8) % ((4u << 20) + 1);
  }
}

/* Sizes around the ring's edges: inline in one line, one record, several, a whole ring. */
static const size_t edge_sizes[] = {0,     1,     39,    40,     41,     63,     64,     4096,
                                    32744, 32745, 65536, 131072, 131073, 262144, 1048583};
#define NEDGE (sizeof edge_sizes / sizeof edge_sizes[0])

static tubo_process_t *start(tubo_process_fn fn, void *arg)
{
  tubo_process_t *p = NULL;
  int rc = tubo_process_create(fn, arg, &p);
  ck_assert_msg(rc == 0, "tubo_process_create: expected TUBO_OK, got %s", tubo_err_name(rc));
  rc = tubo_process_start(p);
  ck_assert_msg(rc == 0, "tubo_process_start: expected TUBO_OK, got %s", tubo_err_name(rc));
  return p;
}

/* Joins a child and asserts its exit code. */
static void join_expect(tubo_process_t *p, int want, const char *what)
{
  int rc = tubo_process_join(p, -1);
  ck_assert_msg(rc == 0, "%s: join: expected TUBO_OK, got %s", what, tubo_err_name(rc));
  int code = 12345;
  rc = tubo_process_exitcode(p, &code);
  ck_assert_msg(rc == 0 && code == want,
                "%s: the child's exit code: expected %d, got %d (rc %s); its stderr says why", what,
                want, code, tubo_err_name(rc));
  tubo_process_free(p);
}

#define CK_RC(call, want)                                                     \
  do {                                                                        \
    int ck_got_ = (call), ck_want_ = (want);                                  \
    ck_assert_msg(ck_got_ == ck_want_, "%s: expected %s, got %s (%d)", #call, \
                  tubo_err_name(ck_want_), tubo_err_name(ck_got_), ck_got_);  \
  } while (0)

/* In a child: as CK_RC, reported through TH_CHECK (stderr and exit status 1). */
#define CH_RC(call, want)                                                                         \
  do {                                                                                            \
    int ch_got_ = (call), ch_want_ = (want);                                                      \
    TH_CHECK(ch_got_ == ch_want_, "%s: expected %s, got %s (%d)", #call, tubo_err_name(ch_want_), \
             tubo_err_name(ch_got_), ch_got_);                                                    \
  } while (0)

/* Receives one message and checks it against the pattern of seed and len: into a buffer
 * of exactly len bytes with a guard after it, or with recv_alloc. */
static void recv_expect(tubo_pipe_t *e, size_t len, uint32_t seed, int alloc, const char *what)
{
  size_t got = (size_t)-1;
  unsigned char *b;
  if (alloc) {
    void *vb = (void *)1;
    CK_RC(tubo_pipe_recv_alloc(e, &vb, &got), 0);
    b = vb;
    ck_assert_msg(len > 0 || b == NULL, "%s: recv_alloc of an empty message: expected NULL", what);
  } else {
    b = th_malloc(len + TH_GUARD);
    memset(b, TH_GUARD_BYTE, len + TH_GUARD);
    CK_RC(tubo_pipe_recv(e, b, len, &got), 0);
    for (size_t k = 0; k < TH_GUARD; k++)
      ck_assert_msg(b[len + k] == TH_GUARD_BYTE, "%s: guard byte %zu after %zu B changed", what, k,
                    len);
  }
  ck_assert_msg(got == len, "%s: length: expected %zu, got %zu", what, len, got);
  size_t d = pattern_diff(b, len, seed);
  ck_assert_msg(d == len, "%s: byte %zu of %zu differs from what was sent", what, d, len);
  free(b);
}

/* Sends len bytes of the pattern of seed; returns what the send returned. */
static int send_pattern_rc(tubo_pipe_t *e, size_t len, uint32_t seed)
{
  unsigned char *b = th_malloc(len);
  th_fill(b, len, seed);
  int rc = tubo_pipe_send(e, b, len);
  free(b);
  return rc;
}

static void send_pattern(tubo_pipe_t *e, size_t len, uint32_t seed, int want)
{
  CK_RC(send_pattern_rc(e, len, seed), want);
}

/* What a child of pair_start gets: its end, this process's copy of the other end (closed
 * before body runs), a count. */
struct pair_arg {
  tubo_pipe_t *mine, *theirs;
  int n;
  int (*body)(struct pair_arg *a);
};

static int pair_child(void *p)
{
  struct pair_arg *a = p;
  CH_RC(tubo_pipe_close(a->theirs), 0);
  return a->body(a);
}

/* A pipe and a child running body with end 1; this process closed its copy of end 1. */
typedef struct pair {
  tubo_pipe_t *e0, *e1;
  tubo_process_t *child;
} pair_t;

static pair_t pair_start(unsigned flags, int (*body)(struct pair_arg *a), int n)
{
  pair_t p;
  CK_RC(tubo_pipe_create(flags, &p.e0, &p.e1), 0);
  struct pair_arg a = {p.e1, p.e0, n, body}; /* the child gets its copy when it starts */
  p.child = start(pair_child, &a);
  CK_RC(tubo_pipe_close(p.e1), 0);
  return p;
}

/* Joins the child, expecting its exit code, and frees both ends. */
static void pair_finish(pair_t *p, int code, const char *what)
{
  join_expect(p->child, code, what);
  CK_RC(tubo_pipe_free(p->e0), 0);
  CK_RC(tubo_pipe_free(p->e1), 0);
}

/* ---- The ring under a pipe (pipe_ring.h), alone ---- */

#define RING_BYTES TUBO__PIPE_RING_MIN

/* A ring in local memory (tests of the ring need no sharing), aligned as in a pipe. */
struct test_ring {
  tubo__pipe_ring_ctl_t ctl;
  _Alignas(64) unsigned char data[RING_BYTES];
};

static void ring_put_ok(tubo__pipe_ring_t *r, const void *src, size_t n)
{
  uint64_t need = 0;
  int64_t got = tubo__pipe_ring_put(r, src, n, TUBO__PIPE_REC_HEAD, n, &need);
  ck_assert_msg(got == (int64_t)n, "ring put of %zu B: expected %zu taken, got %lld", n, n,
                (long long)got);
}

static void ring_get_ok(tubo__pipe_ring_t *r, size_t n)
{
  tubo__pipe_rec_t rec;
  int rc = tubo__pipe_ring_peek(r, &rec);
  ck_assert_msg(rc == 1 && rec.chunk == n && rec.total == n,
                "ring peek: expected a record of %zu B, got rc %d, chunk %u, total %llu", n, rc,
                rec.chunk, (unsigned long long)rec.total);
  tubo__pipe_ring_consume(r, &rec);
}

/* Payload of one lap that holds, where a record of the next lap will start, the very stamp
 * the reader will expect there: the reader must not take it for a record. */
START_TEST(ring_forged_stamp)
{
  static struct test_ring tr;
  memset(&tr, 0, sizeof tr);
  tubo__pipe_ring_t r;
  tubo__pipe_ring_init(&r, &tr.ctl, tr.data, RING_BYTES);
  /* Lap 0: a record of 4 lines at 0; its payload covers the line at 128. */
  unsigned char payload[200];
  memset(payload, 0xee, sizeof payload);
  uint64_t forged = (RING_BYTES + 128) / TUBO__PIPE_LINE + 1;
  memcpy(payload + 128 - TUBO__PIPE_HDR, &forged, sizeof forged);
  ring_put_ok(&r, payload, sizeof payload);
  ring_get_ok(&r, sizeof payload);
  /* One-line records up to the end of lap 0, then two at the start of lap 1. */
  for (uint64_t pos = 256; pos < RING_BYTES + 128; pos += TUBO__PIPE_LINE) {
    ring_put_ok(&r, "x", 1);
    ring_get_ok(&r, 1);
  }
  tubo__pipe_rec_t rec;
  int rc = tubo__pipe_ring_peek(&r, &rec);
  ck_assert_msg(rc == 0,
                "peek where lap 0's payload held lap 1's stamp: expected 0 (no record), "
                "got %d",
                rc);
  ck_assert_msg(!tubo__pipe_ring_ready(&r), "ready where lap 0's payload held lap 1's stamp: "
                                            "expected 0");
}
END_TEST

/* What a broken or hostile writer leaves in the ring is found, never followed. */
START_TEST(ring_corrupt)
{
  static struct test_ring tr;
  memset(&tr, 0, sizeof tr);
  tubo__pipe_ring_t r;
  tubo__pipe_ring_init(&r, &tr.ctl, tr.data, RING_BYTES);
  ring_put_ok(&r, "hello", 5);
  /* A chunk length that runs past the end of the ring. */
  uint32_t chunk = RING_BYTES;
  memcpy(tr.data + 12, &chunk, sizeof chunk);
  tubo__pipe_rec_t rec;
  int rc = tubo__pipe_ring_peek(&r, &rec);
  ck_assert_msg(rc == TUBO_ECORRUPT, "peek of a chunk past the ring's end: expected %s, got %d",
                tubo_err_name(TUBO_ECORRUPT), rc);
  /* A reader position off a line. */
  atomic_store(&tr.ctl.rpos, 3);
  rc = tubo__pipe_ring_peek(&r, &rec);
  ck_assert_msg(rc == TUBO_ECORRUPT, "peek at a position off a line: expected %s, got %d",
                tubo_err_name(TUBO_ECORRUPT), rc);
  /* A reader ahead of the writer. */
  atomic_store(&tr.ctl.rpos, 1024);
  rc = tubo__pipe_ring_has_room(&r, 64);
  ck_assert_msg(rc == TUBO_ECORRUPT, "room when the reader is ahead: expected %s, got %d",
                tubo_err_name(TUBO_ECORRUPT), rc);
}
END_TEST

/* A record never wraps: a message is cut at the ring's end and goes on from the start. */
START_TEST(ring_cut_at_end)
{
  static struct test_ring tr;
  memset(&tr, 0, sizeof tr);
  tubo__pipe_ring_t r;
  tubo__pipe_ring_init(&r, &tr.ctl, tr.data, RING_BYTES);
  for (uint64_t pos = 0; pos < RING_BYTES - 64; pos += 64) {
    ring_put_ok(&r, "x", 1);
    ring_get_ok(&r, 1);
  }
  unsigned char msg[100];
  th_fill(msg, sizeof msg, 9);
  uint64_t need;
  int64_t n = tubo__pipe_ring_put(&r, msg, sizeof msg, TUBO__PIPE_REC_HEAD, sizeof msg, &need);
  ck_assert_msg(n == 64 - TUBO__PIPE_HDR, "put in the last line: expected %u B taken, got %lld",
                64 - TUBO__PIPE_HDR, (long long)n);
  int64_t m = tubo__pipe_ring_put(&r, msg + n, sizeof msg - (size_t)n, TUBO__PIPE_REC_CONT,
                                  sizeof msg, &need);
  ck_assert_msg(m == (int64_t)sizeof msg - n, "the rest at the start: expected %lld B, got %lld",
                (long long)sizeof msg - n, (long long)m);
  tubo__pipe_rec_t rec;
  ck_assert_msg(tubo__pipe_ring_peek(&r, &rec) == 1 && rec.kind == TUBO__PIPE_REC_HEAD &&
                    rec.chunk == (uint32_t)n && rec.total == sizeof msg &&
                    memcmp(rec.payload, msg, (size_t)n) == 0,
                "the head record: expected %lld B of a %zu B message", (long long)n, sizeof msg);
  tubo__pipe_ring_consume(&r, &rec);
  ck_assert_msg(tubo__pipe_ring_peek(&r, &rec) == 1 && rec.kind == TUBO__PIPE_REC_CONT &&
                    rec.chunk == (uint32_t)m && rec.payload == tr.data + TUBO__PIPE_HDR &&
                    memcmp(rec.payload, msg + n, (size_t)m) == 0,
                "the continuation: expected %lld B at the ring's start", (long long)m);
}
END_TEST

/* ---- One process, both ends ---- */

/* A process may use both ends itself: messages come out in order, in both directions. */
START_TEST(loopback)
{
  for (int duplex = 0; duplex <= 1; duplex++) {
    tubo_pipe_t *e0 = NULL, *e1 = NULL;
    CK_RC(tubo_pipe_create(duplex ? TUBO_PIPE_DUPLEX : TUBO_PIPE_ONEWAY, &e0, &e1), 0);
    ck_assert_msg(e0 != NULL && e1 != NULL, "tubo_pipe_create: expected two ends");
    for (size_t i = 0; i < 5; i++)
      send_pattern(e1, edge_sizes[i], (uint32_t)i, 0);
    for (size_t i = 0; i < 5; i++)
      recv_expect(e0, edge_sizes[i], (uint32_t)i, (int)(i & 1), "end 1 -> end 0");
    if (duplex) {
      send_pattern(e0, 100, 7, 0);
      recv_expect(e1, 100, 7, 0, "end 0 -> end 1");
    }
    CK_RC(tubo_pipe_free(e0), 0);
    CK_RC(tubo_pipe_free(e1), 0);
  }
}
END_TEST

/* ---- Many messages of random sizes, echoed ---- */

#define ECHO_MSGS 300

/* Receives each message with recv_alloc, checks it, sends it back; then checks the
 * sender's checksum of everything, and sends its own. */
static int echo_child(struct pair_arg *a)
{
  uint64_t x = 42, sum = TUBO__FNV_START;
  for (int i = 0; i < ECHO_MSGS; i++) {
    size_t len = random_size(&x), got = 0;
    void *b = NULL;
    CH_RC(tubo_pipe_recv_alloc(a->mine, &b, &got), 0);
    TH_EQ("length of a message", got, len);
    TH_CHECK_DATA(b, len, (uint32_t)i, "message %d", i);
    sum = tubo__fnv1a(sum, b, len);
    CH_RC(tubo_pipe_send(a->mine, b, len), 0);
    free(b);
  }
  uint64_t theirs = 0;
  size_t got = 0;
  CH_RC(tubo_pipe_recv(a->mine, &theirs, sizeof theirs, &got), 0);
  TH_CHECK(got == sizeof theirs && theirs == sum,
           "checksum: expected %016llx (of what came), got %016llx", (unsigned long long)sum,
           (unsigned long long)theirs);
  CH_RC(tubo_pipe_send(a->mine, &sum, sizeof sum), 0);
  CH_RC(tubo_pipe_recv(a->mine, NULL, 0, NULL), TUBO_EEOF);
  return 0;
}

/* Ordering and content of messages of random sizes, 0 to 4 MiB, both ways. */
START_TEST(echo_random)
{
  pair_t p = pair_start(TUBO_PIPE_DUPLEX, echo_child, 0);
  tubo_pipe_t *e0 = p.e0;
  uint64_t x = 42, sum = TUBO__FNV_START;
  for (int i = 0; i < ECHO_MSGS; i++) {
    size_t len = random_size(&x);
    unsigned char *b = th_malloc(len);
    th_fill(b, len, (uint32_t)i);
    sum = tubo__fnv1a(sum, b, len);
    CK_RC(tubo_pipe_send(e0, b, len), 0);
    free(b);
    char what[64];
    snprintf(what, sizeof what, "echo of message %d", i);
    recv_expect(e0, len, (uint32_t)i, i & 1, what);
  }
  CK_RC(tubo_pipe_send(e0, &sum, sizeof sum), 0);
  uint64_t theirs = 0;
  size_t got = 0;
  CK_RC(tubo_pipe_recv(e0, &theirs, sizeof theirs, &got), 0);
  ck_assert_msg(theirs == sum, "the child's checksum: expected %016llx, got %016llx",
                (unsigned long long)sum, (unsigned long long)theirs);
  CK_RC(tubo_pipe_close(e0), 0); /* the child waits for the end of file */
  pair_finish(&p, 0, "echo child");
}
END_TEST

/* ---- One-way pipes ---- */

static int oneway_child(struct pair_arg *a)
{
  for (int i = 0; i < a->n; i++)
    CH_RC(send_pattern_rc(a->mine, edge_sizes[(size_t)i % NEDGE], (uint32_t)i), 0);
  /* The writing end cannot read. */
  size_t len;
  void *b;
  int ready;
  CH_RC(tubo_pipe_recv(a->mine, NULL, 0, &len), TUBO_ENOTSUP);
  CH_RC(tubo_pipe_recv_alloc(a->mine, &b, &len), TUBO_ENOTSUP);
  CH_RC(tubo_pipe_poll(a->mine, 0, &ready), TUBO_ENOTSUP);
  CH_RC(tubo_pipe_close(a->mine), 0);
  return 0;
}

/* Pipe(False): end 0 only receives, end 1 only sends; the wrong direction is ENOTSUP. */
START_TEST(oneway)
{
  int n = 3 * (int)NEDGE;
  pair_t p = pair_start(TUBO_PIPE_ONEWAY, oneway_child, n);
  tubo_pipe_t *rd = p.e0;
  CK_RC(tubo_pipe_send(rd, "x", 1), TUBO_ENOTSUP);
  for (int i = 0; i < n; i++) {
    char what[64];
    snprintf(what, sizeof what, "one-way message %d", i);
    recv_expect(rd, edge_sizes[(size_t)i % NEDGE], (uint32_t)i, i % 3 == 0, what);
  }
  CK_RC(tubo_pipe_recv(rd, NULL, 0, NULL), TUBO_EEOF);
  pair_finish(&p, 0, "one-way writer");
}
END_TEST

/* ---- End of file ---- */

/* Sends n small messages, closes its end (or not, with n < 0: it just returns). */
static int sender_child(struct pair_arg *a)
{
  int n = a->n < 0 ? -a->n : a->n;
  for (int i = 0; i < n; i++)
    CH_RC(tubo_pipe_send(a->mine, &i, sizeof i), 0);
  if (a->n >= 0)
    CH_RC(tubo_pipe_close(a->mine), 0);
  return 0;
}

/* The only holder closes its end (or exits without closing it): the other end gets every
 * message, then TUBO_EEOF, and again TUBO_EEOF. */
START_TEST(eof_single_holder)
{
  for (int explicit_close = 1; explicit_close >= 0; explicit_close--) {
    pair_t p = pair_start(TUBO_PIPE_DUPLEX, sender_child, explicit_close ? 1000 : -1000);
    tubo_pipe_t *e0 = p.e0;
    for (int i = 0; i < 1000; i++) {
      int v = -1;
      size_t len = 0;
      CK_RC(tubo_pipe_recv(e0, &v, sizeof v, &len), 0);
      ck_assert_msg(v == i && len == sizeof v, "message %d: expected %d (%zu B), got %d (%zu B)", i,
                    i, sizeof v, v, len);
    }
    CK_RC(tubo_pipe_recv(e0, NULL, 0, NULL), TUBO_EEOF);
    CK_RC(tubo_pipe_recv(e0, NULL, 0, NULL), TUBO_EEOF);
    void *b = (void *)1;
    CK_RC(tubo_pipe_recv_alloc(e0, &b, NULL), TUBO_EEOF);
    ck_assert_msg(b == NULL, "recv_alloc at EOF: expected *buf NULL");
    int ready = 0;
    CK_RC(tubo_pipe_poll(e0, 0, &ready), 0);
    ck_assert_msg(ready == 1, "poll at EOF: expected ready 1 (recv would not wait), got %d", ready);
    pair_finish(&p, 0, "sender");
  }
}
END_TEST

struct holder_arg {
  tubo_pipe_t *data0, *data1; /* the pipe under test: holders send on data0 */
  tubo_pipe_t *go0, *go1;     /* the test tells the second holder to go on go1 -> go0 */
};

/* First holder of data0: sends "a", closes its copy, exits. */
static int holder_a(void *p)
{
  struct holder_arg *a = p;
  CH_RC(tubo_pipe_send(a->data0, "a", 1), 0);
  CH_RC(tubo_pipe_close(a->data0), 0);
  return 0;
}

/* Second holder of data0: waits for the test's go, sends "b", closes its copy. */
static int holder_b(void *p)
{
  struct holder_arg *a = p;
  char c = 0;
  CH_RC(tubo_pipe_recv(a->go0, &c, 1, NULL), 0);
  CH_RC(tubo_pipe_send(a->data0, "b", 1), 0);
  CH_RC(tubo_pipe_close(a->data0), 0);
  return 0;
}

/* Several processes hold the sending end: EOF comes only once every one closed it. */
START_TEST(eof_several_holders)
{
  struct holder_arg a;
  CK_RC(tubo_pipe_create(TUBO_PIPE_DUPLEX, &a.data0, &a.data1), 0);
  CK_RC(tubo_pipe_create(TUBO_PIPE_ONEWAY, &a.go0, &a.go1), 0);
  tubo_process_t *pa = start(holder_a, &a);
  tubo_process_t *pb = start(holder_b, &a);
  /* This process holds data0 too, as the seed's parent does: close it (pipe_1[0].close()). */
  CK_RC(tubo_pipe_close(a.data0), 0);
  char c = 0;
  CK_RC(tubo_pipe_recv(a.data1, &c, 1, NULL), 0);
  ck_assert_msg(c == 'a', "first message: expected 'a', got 0x%02x", c);
  join_expect(pa, 0, "holder a");
  /* a closed and left; b holds data0 and waits for the go: no message, no EOF. */
  int ready = -1;
  CK_RC(tubo_pipe_poll(a.data1, 0, &ready), 0);
  ck_assert_msg(ready == 0, "poll while b still holds the end: expected 0, got %d", ready);
  CK_RC(tubo_pipe_send(a.go1, "g", 1), 0);
  CK_RC(tubo_pipe_recv(a.data1, &c, 1, NULL), 0);
  ck_assert_msg(c == 'b', "second message: expected 'b', got 0x%02x", c);
  CK_RC(tubo_pipe_recv(a.data1, &c, 1, NULL), TUBO_EEOF);
  join_expect(pb, 0, "holder b");
  CK_RC(tubo_pipe_free(a.data0), 0);
  CK_RC(tubo_pipe_free(a.data1), 0);
  CK_RC(tubo_pipe_free(a.go0), 0);
  CK_RC(tubo_pipe_free(a.go1), 0);
}
END_TEST

/* Seed 003: producer -> squarer -> consumer over two duplex pipes, until EOFError. */
struct seed3_arg {
  tubo_pipe_t *p1[2], *p2[2];
  int n;
};

static int seed3_create_items(void *p)
{
  struct seed3_arg *a = p;
  for (int item = 0; item < a->n; item++)
    CH_RC(tubo_pipe_send(a->p1[0], &item, sizeof item), 0);
  CH_RC(tubo_pipe_close(a->p1[0]), 0);
  return 0;
}

static int seed3_multiply_items(void *p)
{
  struct seed3_arg *a = p;
  CH_RC(tubo_pipe_close(a->p1[0]), 0);
  int item, rc;
  while ((rc = tubo_pipe_recv(a->p1[1], &item, sizeof item, NULL)) == 0) {
    long sq = (long)item * item;
    CH_RC(tubo_pipe_send(a->p2[0], &sq, sizeof sq), 0);
  }
  TH_CHECK(rc == TUBO_EEOF, "the squarer's receive: expected TUBO_EEOF at the end, got %s",
           tubo_err_name(rc));
  CH_RC(tubo_pipe_close(a->p2[0]), 0);
  return 0;
}

/* The parent closes its copies of the producers' ends, as the seed does, and reads the
 * squares in order until the end of file. */
START_TEST(seed_003_pipeline)
{
  struct seed3_arg a = {.n = 10000};
  CK_RC(tubo_pipe_create(TUBO_PIPE_DUPLEX, &a.p1[0], &a.p1[1]), 0);
  tubo_process_t *producer = start(seed3_create_items, &a);
  CK_RC(tubo_pipe_create(TUBO_PIPE_DUPLEX, &a.p2[0], &a.p2[1]), 0);
  tubo_process_t *squarer = start(seed3_multiply_items, &a);
  CK_RC(tubo_pipe_close(a.p1[0]), 0);
  CK_RC(tubo_pipe_close(a.p2[0]), 0);
  long sq;
  int i = 0, rc;
  while ((rc = tubo_pipe_recv(a.p2[1], &sq, sizeof sq, NULL)) == 0) {
    ck_assert_msg(sq == (long)i * i, "item %d: expected %ld, got %ld", i, (long)i * i, sq);
    i++;
  }
  ck_assert_msg(rc == TUBO_EEOF && i == a.n, "expected %d squares then TUBO_EEOF, got %d then %s",
                a.n, i, tubo_err_name(rc));
  join_expect(producer, 0, "producer");
  join_expect(squarer, 0, "squarer");
  for (int k = 0; k < 2; k++) {
    CK_RC(tubo_pipe_free(a.p1[k]), 0);
    CK_RC(tubo_pipe_free(a.p2[k]), 0);
  }
}
END_TEST

/* Says it is ready, then waits for a message that never comes. */
static int ready_then_wait(struct pair_arg *a)
{
  CH_RC(tubo_pipe_send(a->mine, "r", 1), 0);
  char c;
  tubo_pipe_recv(a->mine, &c, 1, NULL);
  return 3; /* never reached: killed */
}

/* The peer's process dies (SIGKILL): the other end reads EOF, and a send that needs the
 * reader (more than the ring holds) reports that nobody reads. */
START_TEST(eof_peer_killed)
{
  pair_t p = pair_start(TUBO_PIPE_DUPLEX, ready_then_wait, 0);
  tubo_pipe_t *e0 = p.e0;
  char c = 0;
  CK_RC(tubo_pipe_recv(e0, &c, 1, NULL), 0);
  ck_assert_msg(c == 'r', "ready message: expected 'r', got 0x%02x", c);
  int pid = 0;
  CK_RC(tubo_process_pid(p.child, &pid), 0);
  ck_assert_msg(kill(pid, SIGKILL) == 0, "kill(%d, SIGKILL) failed", pid);
  CK_RC(tubo_pipe_recv(e0, &c, 1, NULL), TUBO_EEOF);
  send_pattern(e0, 4u << 20, 1, TUBO_EEOF);
  pair_finish(&p, -SIGKILL, "killed child");
}
END_TEST

/* Receives one message, then releases its end: closes it (n 0), returns without closing
 * it (1), calls exit (2). */
static int release_end(struct pair_arg *a)
{
  char c;
  CH_RC(tubo_pipe_recv(a->mine, &c, 1, NULL), 0);
  if (a->n == 0)
    CH_RC(tubo_pipe_close(a->mine), 0);
  if (a->n == 2)
    exit(0);
  return 0;
}

/* Sending to an end every holder released: TUBO_EEOF (BrokenPipeError), for any size,
 * whether the holder closed it or ended without closing it. */
START_TEST(send_after_peer_closed)
{
  static const char *const how[] = {"closed", "returned", "called exit"};
  for (int n = 0; n < 3; n++) {
    pair_t p = pair_start(TUBO_PIPE_DUPLEX, release_end, n);
    tubo_pipe_t *e0 = p.e0;
    /* A send while the child holds its end; then it releases the end and ends. */
    CK_RC(tubo_pipe_send(e0, "x", 1), 0);
    int code = -1;
    CK_RC(tubo_process_join(p.child, -1), 0); /* it released its end before it ended */
    CK_RC(tubo_process_exitcode(p.child, &code), 0);
    ck_assert_msg(code == 0, "the child that %s: exit code expected 0, got %d", how[n], code);
    int rc = tubo_pipe_send(e0, "x", 1);
    ck_assert_msg(rc == TUBO_EEOF, "send after the only holder %s: expected TUBO_EEOF, got %s",
                  how[n], tubo_err_name(rc));
    CK_RC(tubo_pipe_send(e0, NULL, 0), TUBO_EEOF);
    send_pattern(e0, 1u << 20, 2, TUBO_EEOF);
    CK_RC(tubo_pipe_recv(e0, NULL, 0, NULL), TUBO_EEOF);
    pair_finish(&p, 0, how[n]);
  }
}
END_TEST

/* ---- Truncation, recv_alloc, poll ---- */

static int send_sizes(struct pair_arg *a)
{
  static const size_t sizes[] = {1000, 1048576, 5, 0, (4u << 20) + 3, 77};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    CH_RC(send_pattern_rc(a->mine, sizes[i], (uint32_t)(100 + i)), 0);
  return 0;
}

/* A message longer than the buffer: TUBO_ETRUNC, the first bytes stored, the full length
 * told, nothing written past the buffer, and the next message intact. */
static void recv_truncated(tubo_pipe_t *e, size_t cap, size_t len, uint32_t seed)
{
  unsigned char *b = th_malloc(cap + TH_GUARD);
  memset(b, TH_GUARD_BYTE, cap + TH_GUARD);
  size_t got = 0;
  CK_RC(tubo_pipe_recv(e, b, cap, &got), TUBO_ETRUNC);
  ck_assert_msg(got == len, "truncated receive: length expected %zu, got %zu", len, got);
  size_t d = pattern_diff(b, cap, seed);
  ck_assert_msg(d == cap, "truncated receive of %zu into %zu B: byte %zu differs", len, cap, d);
  for (size_t k = 0; k < TH_GUARD; k++)
    ck_assert_msg(b[cap + k] == TH_GUARD_BYTE,
                  "truncated receive of %zu into %zu B: guard byte %zu changed", len, cap, k);
  free(b);
}

/* Truncated receives of short, streamed and empty-buffer sizes, then recv_alloc of an
 * empty message and of 4 MiB + 3, then a message received whole. */
START_TEST(truncation_and_alloc)
{
  pair_t p = pair_start(TUBO_PIPE_DUPLEX, send_sizes, 0);
  tubo_pipe_t *e0 = p.e0;
  recv_truncated(e0, 100, 1000, 100);
  recv_truncated(e0, 70000, 1048576, 101);
  recv_truncated(e0, 0, 5, 102);
  recv_expect(e0, 0, 103, 1, "empty message, recv_alloc");
  recv_expect(e0, (4u << 20) + 3, 104, 1, "4 MiB + 3, recv_alloc");
  recv_expect(e0, 77, 105, 0, "the message after");
  CK_RC(tubo_pipe_recv(e0, NULL, 0, NULL), TUBO_EEOF);
  pair_finish(&p, 0, "sender of sizes");
}
END_TEST

/* Waits for "go", answers "reply", waits for "bye", closes. */
static int go_reply(struct pair_arg *a)
{
  char b[8];
  CH_RC(tubo_pipe_recv(a->mine, b, sizeof b, NULL), 0);
  CH_RC(tubo_pipe_send(a->mine, "reply", 5), 0);
  CH_RC(tubo_pipe_recv(a->mine, b, sizeof b, NULL), 0);
  CH_RC(tubo_pipe_close(a->mine), 0);
  return 0;
}

/* poll: nothing ready (timeout 0, and a timeout that expires), a message, the end of file. */
START_TEST(poll_states)
{
  pair_t p = pair_start(TUBO_PIPE_DUPLEX, go_reply, 0);
  tubo_pipe_t *e0 = p.e0;
  int ready = -1;
  /* The child sends nothing before the go. */
  CK_RC(tubo_pipe_poll(e0, 0, &ready), 0);
  ck_assert_msg(ready == 0, "poll(0) before anything was sent: expected 0, got %d", ready);
  double t0 = tubo_wtime();
  CK_RC(tubo_pipe_poll(e0, 30, &ready), 0);
  double waited = tubo_wtime() - t0;
  ck_assert_msg(ready == 0, "poll(30 ms) with nothing sent: expected 0, got %d", ready);
  ck_assert_msg(waited >= 0.029, "poll(30 ms) returned after %.4f s, expected at least 0.03 s",
                waited);
  CK_RC(tubo_pipe_send(e0, "go", 2), 0);
  CK_RC(tubo_pipe_poll(e0, -1, &ready), 0);
  ck_assert_msg(ready == 1, "poll(-1) after the reply was sent: expected 1, got %d", ready);
  CK_RC(tubo_pipe_poll(e0, 0, &ready), 0);
  ck_assert_msg(ready == 1, "poll(0) again before receiving: expected 1, got %d", ready);
  char b[8];
  size_t len = 0;
  CK_RC(tubo_pipe_recv(e0, b, sizeof b, &len), 0);
  ck_assert_msg(len == 5 && memcmp(b, "reply", 5) == 0, "reply: expected \"reply\" (5 B)");
  CK_RC(tubo_pipe_poll(e0, 0, &ready), 0);
  ck_assert_msg(ready == 0, "poll(0) after receiving the only message: expected 0, got %d", ready);
  CK_RC(tubo_pipe_send(e0, "bye", 3), 0);
  CK_RC(tubo_pipe_poll(e0, -1, &ready), 0);
  ck_assert_msg(ready == 1, "poll(-1) once the peer closed: expected 1 (EOF), got %d", ready);
  CK_RC(tubo_pipe_recv(e0, b, sizeof b, &len), TUBO_EEOF);
  pair_finish(&p, 0, "replier");
}
END_TEST

/* ---- Handles and arguments ---- */

/* Every call on a closed handle but free: TUBO_ECLOSED. */
START_TEST(closed_handle)
{
  tubo_pipe_t *e0, *e1;
  CK_RC(tubo_pipe_create(TUBO_PIPE_DUPLEX, &e0, &e1), 0);
  CK_RC(tubo_pipe_close(e0), 0);
  size_t len;
  void *b;
  int ready;
  CK_RC(tubo_pipe_send(e0, "x", 1), TUBO_ECLOSED);
  CK_RC(tubo_pipe_recv(e0, NULL, 0, &len), TUBO_ECLOSED);
  CK_RC(tubo_pipe_recv_alloc(e0, &b, &len), TUBO_ECLOSED);
  CK_RC(tubo_pipe_poll(e0, 0, &ready), TUBO_ECLOSED);
  CK_RC(tubo_pipe_close(e0), TUBO_ECLOSED);
  /* This process held the only copy of end 0: end 1 reads EOF, sending is pointless. */
  CK_RC(tubo_pipe_recv(e1, NULL, 0, &len), TUBO_EEOF);
  CK_RC(tubo_pipe_send(e1, "x", 1), TUBO_EEOF);
  CK_RC(tubo_pipe_free(e0), 0);
  CK_RC(tubo_pipe_free(e1), 0);
}
END_TEST

/* NULL handles: TUBO_EPIPE; NULL ends and buffers with a length: TUBO_EINVAL. */
START_TEST(null_arguments)
{
  tubo_pipe_t *e0, *e1;
  CK_RC(tubo_pipe_create(TUBO_PIPE_DUPLEX, NULL, &e1), TUBO_EINVAL);
  CK_RC(tubo_pipe_create(TUBO_PIPE_DUPLEX, &e0, NULL), TUBO_EINVAL);
  CK_RC(tubo_pipe_create(TUBO_PIPE_DUPLEX, &e0, &e1), 0);
  size_t len;
  void *b;
  int ready;
  CK_RC(tubo_pipe_send(NULL, "x", 1), TUBO_EPIPE);
  CK_RC(tubo_pipe_send(e0, NULL, 1), TUBO_EINVAL);
  CK_RC(tubo_pipe_recv(NULL, &ready, sizeof ready, &len), TUBO_EPIPE);
  CK_RC(tubo_pipe_recv(e0, NULL, 1, &len), TUBO_EINVAL);
  CK_RC(tubo_pipe_recv_alloc(NULL, &b, &len), TUBO_EPIPE);
  CK_RC(tubo_pipe_recv_alloc(e0, NULL, &len), TUBO_EINVAL);
  CK_RC(tubo_pipe_poll(NULL, 0, &ready), TUBO_EPIPE);
  CK_RC(tubo_pipe_poll(e0, 0, NULL), TUBO_EINVAL);
  CK_RC(tubo_pipe_close(NULL), TUBO_EPIPE);
  CK_RC(tubo_pipe_free(NULL), TUBO_EPIPE);
  CK_RC(tubo_pipe_open(NULL, 1, &e0), TUBO_ENOTINIT);
  /* An empty message needs no buffer, and a receive may ignore the length. */
  CK_RC(tubo_pipe_send(e1, NULL, 0), 0);
  CK_RC(tubo_pipe_recv(e0, NULL, 0, NULL), 0);
  CK_RC(tubo_pipe_free(e0), 0);
  CK_RC(tubo_pipe_free(e1), 0);
}
END_TEST

/* ---- tubo_pipe_open between ranks (bodies under tuborun) ---- */

/* Ranks 0 and 1: messages of random sizes both ways, ETRUNC, recv_alloc, poll, then rank 1
 * closes and rank 0 reads what is left, then EOF; sending to the closed end is EEOF. */
static void body_open_pair(void)
{
  tubo_pipe_t *p = NULL;
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  TH_EXPECT_RC(tubo_pipe_open(th_world, th_rank, &p), TUBO_ERANK);
  TH_EXPECT_RC(tubo_pipe_open(th_world, th_size, &p), TUBO_ERANK);
  TH_EXPECT_RC(tubo_pipe_open(th_world, peer, NULL), TUBO_EINVAL);
  TH_OK(tubo_pipe_open(th_world, peer, &p));
  uint64_t x = 7;
  for (int i = 0; i < 60; i++) {
    size_t len = random_size(&x);
    if ((i & 1) == th_rank) {
      unsigned char *b = th_malloc(len);
      th_fill(b, len, th_seed(th_rank, peer, len, i));
      TH_OK(tubo_pipe_send(p, b, len));
      free(b);
      continue;
    }
    size_t got = (size_t)-1;
    unsigned char *b;
    if (i % 4 < 2) {
      void *vb = NULL;
      TH_OK(tubo_pipe_recv_alloc(p, &vb, &got));
      b = vb;
      TH_CHECK(len > 0 || b == NULL, "recv_alloc of an empty message: expected NULL");
    } else {
      b = th_malloc(len + TH_GUARD);
      memset(b, TH_GUARD_BYTE, len + TH_GUARD);
      TH_OK(tubo_pipe_recv(p, b, len, &got));
      TH_CHECK_GUARD(b + len, TH_GUARD, "message %d", i);
    }
    TH_EQ("message length", got, len);
    TH_CHECK_DATA(b, len, th_seed(peer, th_rank, len, i), "message %d", i);
    free(b);
  }
  int ready = -1;
  if (th_rank == 1) {
    unsigned char big[1000];
    th_fill(big, sizeof big, 5);
    TH_OK(tubo_pipe_send(p, big, sizeof big));
    TH_OK(tubo_pipe_send(p, "last", 4));
    TH_OK(tubo_pipe_recv(p, big, sizeof big, NULL)); /* rank 0 saw the messages */
    TH_OK(tubo_pipe_close(p));
    TH_EXPECT_RC(tubo_pipe_send(p, "x", 1), TUBO_ECLOSED);
  } else {
    TH_OK(tubo_pipe_poll(p, -1, &ready));
    TH_EQ("poll(-1) with a message on its way", ready, 1);
    unsigned char b[100 + TH_GUARD];
    memset(b, TH_GUARD_BYTE, sizeof b);
    size_t got = 0;
    TH_EXPECT_RC(tubo_pipe_recv(p, b, 100, &got), TUBO_ETRUNC);
    TH_EQ("length of the truncated message", got, 1000);
    TH_CHECK_DATA(b, 100, 5, "the first 100 B of a truncated message");
    TH_CHECK_GUARD(b + 100, TH_GUARD, "truncated message");
    char last[8];
    TH_OK(tubo_pipe_recv(p, last, sizeof last, &got));
    TH_CHECK(got == 4 && memcmp(last, "last", 4) == 0, "the message after: expected \"last\"");
    TH_OK(tubo_pipe_poll(p, 0, &ready));
    TH_EQ("poll(0) with nothing sent", ready, 0);
    TH_OK(tubo_pipe_send(p, "ok", 2));
    TH_EXPECT_RC(tubo_pipe_recv(p, last, sizeof last, &got), TUBO_EEOF);
    TH_EXPECT_RC(tubo_pipe_recv(p, last, sizeof last, &got), TUBO_EEOF);
    TH_OK(tubo_pipe_poll(p, 0, &ready));
    TH_EQ("poll(0) at EOF", ready, 1);
    TH_EXPECT_RC(tubo_pipe_send(p, "x", 1), TUBO_EEOF);
  }
  TH_OK(tubo_pipe_free(p));
}

/* Rank 1 sends, then its process exits without closing: rank 0 gets every message, then
 * EOF. */
static void body_open_exit(void)
{
  if (th_rank > 1)
    return;
  tubo_pipe_t *p = NULL;
  TH_OK(tubo_pipe_open(th_world, 1 - th_rank, &p));
  if (th_rank == 1) {
    for (int i = 0; i < 100; i++)
      TH_OK(tubo_pipe_send(p, &i, sizeof i));
    TH_OK(tubo_finalize());
    exit(0);
  }
  for (int i = 0; i < 100; i++) {
    int v = -1;
    TH_OK(tubo_pipe_recv(p, &v, sizeof v, NULL));
    TH_EQ("message", v, i);
  }
  int v;
  TH_EXPECT_RC(tubo_pipe_recv(p, &v, sizeof v, NULL), TUBO_EEOF);
  TH_EXPECT_RC(tubo_pipe_send(p, &v, sizeof v), TUBO_EEOF);
  TH_OK(tubo_pipe_free(p));
}

/* Every pair of 3 ranks opens two pipes, in the same order: each pipe's messages stay on
 * it. A rank polls with a timeout that expires on a pipe nobody sends on. */
static void body_open_many(void)
{
  tubo_pipe_t *p[3][2] = {{NULL}};
  for (int r = 0; r < th_size; r++)
    for (int k = 0; k < 2; k++)
      if (r != th_rank)
        TH_OK(tubo_pipe_open(th_world, r, &p[r][k]));
  for (int r = 0; r < th_size; r++)
    for (int k = 0; k < 2; k++)
      if (r != th_rank) {
        int v = th_rank * 10 + k;
        TH_OK(tubo_pipe_send(p[r][k], &v, sizeof v));
      }
  for (int r = 0; r < th_size; r++)
    for (int k = 1; k >= 0; k--)
      if (r != th_rank) {
        int v = -1;
        TH_OK(tubo_pipe_recv(p[r][k], &v, sizeof v, NULL));
        TH_EQ("message on the pipe", v, r * 10 + k);
      }
  int ready = -1;
  int other = (th_rank + 1) % th_size;
  double t0 = tubo_wtime();
  TH_OK(tubo_pipe_poll(p[other][0], 20, &ready));
  TH_EQ("poll(20 ms) on a pipe nobody sends on", ready, 0);
  TH_CHECK(tubo_wtime() - t0 >= 0.019, "poll(20 ms) returned after %.4f s, expected >= 0.02 s",
           tubo_wtime() - t0);
  /* Nobody closes a pipe before everyone polled. */
  TH_OK(tubo_barrier(th_world));
  for (int r = 0; r < th_size; r++)
    for (int k = 0; k < 2; k++)
      if (r != th_rank)
        TH_OK(tubo_pipe_free(p[r][k]));
}

static const th_body_t bodies[] = {{"open_pair", body_open_pair, 0},
                                   {"open_exit", body_open_exit, 0},
                                   {"open_many", body_open_many, 0},
                                   {NULL, NULL, 0}};

static Suite *pipe_suite(void)
{
  Suite *s = suite_create("pipe");
  TCase *tc = th_tcase("ring");
  tcase_add_test(tc, ring_forged_stamp);
  tcase_add_test(tc, ring_corrupt);
  tcase_add_test(tc, ring_cut_at_end);
  suite_add_tcase(s, tc);
  tc = th_tcase("create");
  tcase_add_test(tc, loopback);
  tcase_add_test(tc, echo_random);
  tcase_add_test(tc, oneway);
  tcase_add_test(tc, truncation_and_alloc);
  tcase_add_test(tc, poll_states);
  tcase_add_test(tc, closed_handle);
  tcase_add_test(tc, null_arguments);
  suite_add_tcase(s, tc);
  tc = th_tcase("eof");
  tcase_add_test(tc, eof_single_holder);
  tcase_add_test(tc, eof_several_holders);
  tcase_add_test(tc, seed_003_pipeline);
  tcase_add_test(tc, eof_peer_killed);
  tcase_add_test(tc, send_after_peer_closed);
  suite_add_tcase(s, tc);
  th_add_case(s, "open_pair", 2, TH_BOTH);
  th_add_case(s, "open_exit", 2, TH_BOTH);
  th_add_case(s, "open_many", 3, TH_BOTH);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, pipe_suite);
}
