/* SPDX-License-Identifier: MIT */
/* Point-to-point: sizes on every protocol path, MPI's ordering, tags and wildcards,
 * truncation, non-blocking requests, sendrecv, all-to-all and argument errors, as jobs of
 * real processes over shm (with and without single copy, in small channels) and pipes.
 *
 * Linked against the core so that the caps test can check which protocol each variant
 * really uses: EAGER (inline up to 40 B, else in the data ring), STREAM (FIRST and CONT
 * frames) above the frame size, RTS (single copy) from the rendezvous size. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mpi/mpi_world.h"
#include "pipe/pipe_wire.h"
#include "rndv_expect.h"
#include "shm/shm_layout.h"
#include "shm/shm_state.h"
#include "topo.h"
#include "world.h"

/* Sizes around every protocol boundary of every variant. */
static const size_t sizes[] = {0,     1,     40,    41,    1023,     1024,
                               4080,  4081,  4096,  4097,  8191,     8192,
                               32767, 32768, 65536, 65537, 1u << 20, (4u << 20) + 3};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- The protocol each variant uses ---- */

/* Whether the Open MPI component selection in environment variable var ("a,b" or
 * "^a,b"; unset or empty: none made) lets name in. */
static int mpi_mca_allows(const char *var, const char *name)
{
  const char *v = getenv(var);
  return v == NULL || v[0] == '\0' || (v[0] == '^') != (strstr(v, name) != NULL);
}

/* Whether Open MPI would reach peer through shared memory: it runs on this host (by
 * name: the test hosts of `make check-hosts` have their own), the PML mpirun was given
 * leaves ob1 in, the only one that uses BTLs, and the BTLs leave vader in. Every rank
 * calls it. */
static int mpi_peer_by_shm(int peer)
{
  char me[256] = "", other[256] = "";
  gethostname(me, sizeof me - 1);
  int left = (th_rank + th_size - 1) % th_size;
  TH_OK(tubo_sendrecv(me, sizeof me, left, 8, other, sizeof other, peer, 8, th_world, NULL));
  return strcmp(me, other) == 0 && mpi_mca_allows("OMPI_MCA_pml", "ob1") &&
         mpi_mca_allows("OMPI_MCA_btl", "vader");
}

static void body_caps(void)
{
  tubo__world_t *w = tubo__world;
  unsigned v = th_variant();
  int peer = (th_rank + 1) % th_size;
  const tubo__tp_caps_t *c = &tubo__tport_of(w, peer)->caps;
  const char *name = NULL;
  TH_OK(tubo_comm_transport(th_world, peer, &name));
  int by_shm = mpi_peer_by_shm(peer);
  if (th_node_of(peer) != th_node_of(th_rank)) {
    /* On another node: MPI, whatever the variant says of shared memory. */
    TH_CHECK(strcmp(name, "mpi") == 0, "transport to rank %d: expected \"mpi\", got \"%s\"", peer,
             name);
    TH_EQ("largest frame payload", c->frame_max, TUBO__MPI_FRAME_MAX);
    TH_EQ("single copy in use", c->single_copy, 1);
    TH_EQ("smallest single-copy message", w->peers[peer].rndv_min,
          by_shm ? (size_t)TUBO__MPI_RNDV_SHM : (size_t)TUBO__MPI_RNDV_NET);
    return;
  }
  size_t want_frame = 65536;
  if (v == TH_PIPE)
    want_frame = (size_t)TUBO__PIPE_FRAME_MAX;
  if (v == TH_SHM_COPY_SMALL || v == TH_SHM_RNDV_SMALL)
    want_frame = 4096;
  TH_EQ("largest frame payload", c->frame_max, want_frame);
  TH_EQ("single copy in use", c->single_copy, th_single_copy_expected());
  /* Without a measurement single copy serves only ranks that share no cache: ask hwloc
   * here, and the peer, where each runs. */
  tubo__locality_t me = {-1, -1, -1, -1, -1}, other;
  tubo__topo_t *t = NULL;
  if (tubo__topo_load(&t) == 0) {
    tubo__topo_locality_self(t, &me);
    tubo__topo_free(t);
  }
  int left = (th_rank + th_size - 1) % th_size;
  TH_OK(tubo_sendrecv(&me, sizeof me, left, 9, &other, sizeof other, peer, 9, th_world, NULL));
  int share = (me.l2 >= 0 && me.l2 == other.l2) || (me.l3 >= 0 && me.l3 == other.l3);
  size_t want_rndv = SIZE_MAX;
  if (c->single_copy)
    want_rndv = (v == TH_SHM_RNDV || v == TH_SHM_RNDV_SMALL) ? 1024
                : share                                      ? SIZE_MAX
                                                             : TUBO__SHM_RNDV_DEFAULT;
  /* Unless tuborun measured this kind of pair: then its choice holds, forced aside. */
  if (c->single_copy && v != TH_SHM_RNDV && v != TH_SHM_RNDV_SMALL && th_rndv_measured(peer))
    want_rndv = th_rndv_min_of(th_rndv_measured(peer));
  TH_EQ("smallest single-copy message to the next rank", w->peers[peer].rndv_min, want_rndv);
  const char *want_name = v == TH_PIPE ? "pipe" : "shm";
  TH_CHECK(strcmp(name, want_name) == 0, "transport to rank %d: expected \"%s\", got \"%s\"", peer,
           want_name, name);
}

/* ---- Ping-pong of every size ---- */

static void body_pingpong(void)
{
  int peer = th_rank ^ 1;
  if (peer >= th_size)
    return;
  for (size_t i = 0; i < NSIZES; i++)
    for (int iter = 0; iter < 3; iter++) {
      if (th_rank % 2 == 0) {
        TH_SEND_MSG(peer, iter, sizes[i], iter);
        TH_RECV_MSG(peer, iter, sizes[i], iter);
      } else {
        TH_RECV_MSG(peer, iter, sizes[i], iter);
        TH_SEND_MSG(peer, iter, sizes[i], iter);
      }
    }
}

/* ---- Buffers anywhere in a page ---- */

/* One message of len bytes from and into buffers off bytes into a page (in mem, most
 * bytes), tagged tag: contents and the bytes around the receive buffer checked. */
static void offsets_one(unsigned char *mem, size_t most, size_t off, size_t len, int tag)
{
  int peer = th_rank ^ 1;
  unsigned char *buf = mem + off;
  uint32_t seed = th_seed(0, 1, len, tag);
  if (th_rank == 0) {
    th_fill(buf, len, seed);
    TH_OK(tubo_send(buf, len, peer, tag, th_world));
    return;
  }
  memset(mem, TH_GUARD_BYTE, most);
  tubo_status_t st;
  TH_OK(tubo_recv(buf, len, peer, tag, th_world, &st));
  TH_STATUS(st, peer, tag, len, 0);
  TH_CHECK_DATA(buf, len, seed, "%zu bytes at %zu into a page", len, off);
  TH_CHECK_GUARD(mem, off, "before a buffer %zu bytes into a page", off);
  TH_CHECK_GUARD(buf + len, TH_GUARD, "after %zu bytes at %zu into a page", len, off);
}

/* Messages of several frames and laps of the ring from and into buffers at every eighth
 * byte's class of places in a page (steps of 56): wherever the channel's data ring lies,
 * some of them get frames the channel places further on (shm_transport.c's
 * shm_alias_pad), and 4 MiB at the places that do with page-aligned buffers on a ring 128
 * bytes into its page. */
static void body_offsets(void)
{
  if ((th_rank ^ 1) >= th_size)
    return;
  size_t most = (4u << 20) + 8192;
  unsigned char *mem = aligned_alloc(4096, most);
  TH_CHECK(mem != NULL, "expected %zu bytes for the buffers", most);
  int tag = 0;
  for (size_t off = 0; off < 4096; off += 56)
    offsets_one(mem, most, off, (1u << 20) + 3, tag++);
  offsets_one(mem, most, 120, (4u << 20) - 1, tag++);
  offsets_one(mem, most, 128, (4u << 20) - 1, tag++);
  free(mem);
}

/* ---- The fast paths ---- */

/* Blocking calls of small messages finish on their fast paths when nothing else is going
 * on: every send, on any transport, and every receive, with a tag and with TUBO_ANY_TAG,
 * from a peer reached through MPI where MPI is the rank's only transport (the receive
 * then waits for the next frame in MPI_Wait). Elsewhere a receive takes the fast path
 * only if the message came before it, which no test can arrange. A slip that sends
 * these calls down the general path costs speed alone and passes every other case (the
 * ANY_TAG receive did, once). */
#define FAST_N 100

static void body_fast_paths(void)
{
  tubo__world_t *w = tubo__world;
  int peer = th_rank ^ 1;
  if (peer >= th_size)
    return;
  const char *name = NULL;
  TH_OK(tubo_comm_transport(th_world, peer, &name));
  uint64_t r0 = w->fast_recvs, s0 = w->fast_sends;
  for (int i = 0; i < 2 * FAST_N; i++) {
    int v = th_rank * 1000 + i, got = -1, rtag = i < FAST_N ? 9 : TUBO_ANY_TAG;
    tubo_status_t st;
    if (th_rank % 2 == 0) {
      TH_OK(tubo_send(&v, sizeof v, peer, 9, th_world));
      TH_OK(tubo_recv(&got, sizeof got, peer, rtag, th_world, &st));
    } else {
      TH_OK(tubo_recv(&got, sizeof got, peer, rtag, th_world, &st));
      TH_OK(tubo_send(&v, sizeof v, peer, 9, th_world));
    }
    TH_STATUS(st, peer, 9, sizeof got, 0);
    TH_EQ("value of the ping-pong received", got, peer * 1000 + i);
  }
  TH_EQ("blocking sends that finished on the fast path", w->fast_sends - s0, 2 * FAST_N);
  if (strcmp(name, "mpi") == 0 && w->nact == 1)
    TH_EQ("blocking receives from an MPI peer that finished on the fast path", w->fast_recvs - r0,
          2 * FAST_N);
}

/* ---- MPI's ordering ---- */

/* Sizes that switch protocol from one message to the next. */
static const size_t mixed[] = {1,  300000, 2, 0,     70000, 41,   5000, 1u << 20,
                               40, 4097,   3, 65537, 1023,  1024, 9,    (2u << 20) + 5};
#define NMIXED  (sizeof mixed / sizeof mixed[0])
#define ORDER_N 64

static void body_ordering(void)
{
  /* Rank 1 and up send ORDER_N messages each to rank 0 with one tag: half blocking, half
   * non-blocking. Rank 0 receives them with specific and wildcard sources. */
  const int tag = 7;
  if (th_rank != 0) {
    unsigned char *bufs[ORDER_N];
    tubo_request_t *reqs[ORDER_N];
    for (int i = 0; i < ORDER_N; i++) {
      size_t len = mixed[(size_t)(i + th_rank) % NMIXED];
      bufs[i] = th_malloc(len);
      th_fill(bufs[i], len, th_seed(th_rank, 0, len, i));
      reqs[i] = NULL;
      if (i < ORDER_N / 2)
        TH_OK(tubo_send(bufs[i], len, 0, tag, th_world));
      else
        TH_OK(tubo_isend(bufs[i], len, 0, tag, th_world, &reqs[i]));
    }
    TH_OK(tubo_waitall(ORDER_N, reqs, TUBO_STATUSES_IGNORE));
    for (int i = 0; i < ORDER_N; i++)
      free(bufs[i]);
    return;
  }
  /* Rank 1's messages by its rank, the others' by TUBO_ANY_SOURCE: either way each
   * sender's messages come in the order sent. */
  size_t cap = (4u << 20);
  unsigned char *b = th_malloc(cap);
  for (int i = 0; i < ORDER_N; i++) {
    size_t len = mixed[(size_t)(i + 1) % NMIXED];
    tubo_status_t st;
    TH_OK(tubo_recv(b, cap, 1, tag, th_world, &st));
    TH_STATUS(st, 1, tag, len, 0);
    TH_CHECK_DATA(b, len, th_seed(1, 0, len, i), "message %d from rank 1", i);
  }
  int *next = calloc((size_t)th_size, sizeof *next);
  for (int k = 0; k < (th_size - 2) * ORDER_N; k++) {
    tubo_status_t st;
    TH_OK(tubo_recv(b, cap, TUBO_ANY_SOURCE, tag, th_world, &st));
    TH_CHECK(st.source >= 2 && st.source < th_size, "ANY_SOURCE: source %d, expected 2..%d",
             st.source, th_size - 1);
    int s = st.source, i = next[s]++;
    size_t len = mixed[(size_t)(i + s) % NMIXED];
    TH_STATUS(st, s, tag, len, 0);
    TH_CHECK_DATA(b, len, th_seed(s, 0, len, i), "message %d from rank %d", i, s);
  }
  free(next);
  free(b);
}

/* Receives posted before the messages are matched in the order they were posted. */
static void body_ordering_posted(void)
{
  const int tag = 3;
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  unsigned char *bufs[ORDER_N];
  tubo_request_t *reqs[ORDER_N];
  tubo_status_t sts[ORDER_N];
  if (th_rank == 1) {
    for (int i = 0; i < ORDER_N; i++) {
      /* Room for more than the message it should get, so that a mismatch shows. */
      size_t cap = mixed[(size_t)i % NMIXED] + 100;
      bufs[i] = th_malloc(cap);
      TH_OK(tubo_irecv(bufs[i], cap, peer, tag, th_world, &reqs[i]));
    }
    TH_OK(tubo_send(NULL, 0, peer, 99, th_world)); /* go */
    TH_OK(tubo_waitall(ORDER_N, reqs, sts));
    for (int i = 0; i < ORDER_N; i++) {
      size_t len = mixed[(size_t)i % NMIXED];
      TH_STATUS(sts[i], peer, tag, len, 0);
      TH_CHECK_DATA(bufs[i], len, th_seed(peer, th_rank, len, i), "posted receive %d", i);
      free(bufs[i]);
    }
  } else {
    TH_OK(tubo_recv(NULL, 0, peer, 99, th_world, TUBO_STATUS_IGNORE));
    for (int i = 0; i < ORDER_N; i++)
      TH_SEND_MSG(peer, tag, mixed[(size_t)i % NMIXED], i);
  }
}

/* ---- Tags and wildcards ---- */

/* Sends two messages of len bytes with tags t1 then t2 (iterations = tags), without
 * blocking: a blocking send may wait for its receive, as in MPI. */
static void send_two(int peer, size_t len, int t1, int t2)
{
  unsigned char *a = th_malloc(len), *b = th_malloc(len);
  th_fill(a, len, th_seed(th_rank, peer, len, t1));
  th_fill(b, len, th_seed(th_rank, peer, len, t2));
  tubo_request_t *r[2];
  TH_OK(tubo_isend(a, len, peer, t1, th_world, &r[0]));
  TH_OK(tubo_isend(b, len, peer, t2, th_world, &r[1]));
  TH_OK(tubo_waitall(2, r, TUBO_STATUSES_IGNORE));
  free(a);
  free(b);
}

/* Receiving tag 2 before tag 1 from the same source: the tag-1 message waits. */
static void body_tags(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  static const size_t tsizes[] = {0, 8, 41, 5000, 70000, 1u << 20};
  for (size_t i = 0; i < sizeof tsizes / sizeof tsizes[0]; i++) {
    size_t len = tsizes[i];
    if (th_rank == 0) {
      send_two(peer, len, 1, 2);
      send_two(peer, len, 10, 20);
      continue;
    }
    TH_RECV_MSG(peer, 2, len, 2);
    TH_RECV_MSG(peer, 1, len, 1);
    /* Wildcards: any source with the second tag, then the given source with any tag. */
    unsigned char *b = th_malloc(len);
    tubo_status_t st;
    TH_OK(tubo_recv(b, len, TUBO_ANY_SOURCE, 20, th_world, &st));
    TH_STATUS(st, peer, 20, len, 0);
    TH_CHECK_DATA(b, len, th_seed(peer, 1, len, 20), "tag 20, %zu B", len);
    TH_OK(tubo_recv(b, len, peer, TUBO_ANY_TAG, th_world, &st));
    TH_STATUS(st, peer, 10, len, 0);
    TH_CHECK_DATA(b, len, th_seed(peer, 1, len, 10), "tag 10, %zu B", len);
    free(b);
  }
}

/* Messages of one sender keep their order for a receive of any tag, whatever way the
 * transport carries each tag (MPI: small tags in the MPI tag with no header, others with
 * one, large messages apart): tags on both sides of 2^20, and sizes of every protocol. */
static void body_tag_order(void)
{
  static const int tags[] = {3, TUBO_TAG_MAX, (1 << 20) - 1, 1 << 20, 0, 77777777, 5};
  static const size_t lens[] = {8, 0, 5000, 8, 70000, 1, (1u << 20) + 3};
  enum { N = sizeof tags / sizeof tags[0] };
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  if (th_rank == 0) {
    for (int i = 0; i < N; i++)
      TH_SEND_MSG(peer, tags[i], lens[i], i);
    return;
  }
  size_t cap = (1u << 20) + 3;
  unsigned char *b = th_malloc(cap);
  for (int i = 0; i < N; i++) {
    tubo_status_t st;
    TH_OK(tubo_recv(b, cap, peer, TUBO_ANY_TAG, th_world, &st));
    TH_STATUS(st, peer, tags[i], lens[i], 0);
    TH_CHECK_DATA(b, lens[i], th_seed(peer, th_rank, lens[i], i), "message %d (tag %d, %zu B)", i,
                  tags[i], lens[i]);
  }
  free(b);
}

#define ANY_K 12

/* What rank s sends as its k-th message to rank 0 in body_any. */
static size_t any_len(int s, int k)
{
  return k % 4 == 3 ? 70000 + (size_t)s * 1000 + (size_t)k : (size_t)s * 100 + (size_t)k;
}

static void body_any(void)
{
  if (th_rank != 0) {
    for (int k = 0; k < ANY_K; k++)
      TH_SEND_MSG(0, th_rank * 100 + k, any_len(th_rank, k), k);
    /* Then, once rank 0 took all those, one message per tag, for receives with a given
     * tag from any source. */
    TH_OK(tubo_recv(NULL, 0, 0, 4999, th_world, TUBO_STATUS_IGNORE));
    TH_SEND_MSG(0, 5000 + th_rank, 3, 0);
    return;
  }
  size_t cap = 200000;
  unsigned char *b = th_malloc(cap);
  int *next = calloc((size_t)th_size, sizeof *next);
  for (int m = 0; m < (th_size - 1) * ANY_K; m++) {
    tubo_status_t st;
    memset(&st, 0xff, sizeof st);
    TH_OK(tubo_recv(b, cap, TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &st));
    TH_CHECK(st.source >= 1 && st.source < th_size,
             "ANY_SOURCE/ANY_TAG: status.source %d, expected 1..%d", st.source, th_size - 1);
    int s = st.source, k = next[s]++;
    TH_STATUS(st, s, s * 100 + k, any_len(s, k), 0);
    TH_CHECK_DATA(b, any_len(s, k), th_seed(s, 0, any_len(s, k), k), "message %d from rank %d", k,
                  s);
  }
  for (int s = 1; s < th_size; s++)
    TH_OK(tubo_send(NULL, 0, s, 4999, th_world));
  for (int s = th_size - 1; s >= 1; s--) {
    tubo_status_t st;
    TH_OK(tubo_recv(b, cap, TUBO_ANY_SOURCE, 5000 + s, th_world, &st));
    TH_STATUS(st, s, 5000 + s, 3, 0);
  }
  free(next);
  free(b);
}

/* ---- Truncation ---- */

typedef struct trunc_case {
  size_t len, cap;
} trunc_case_t;

static const trunc_case_t truncs[] = {
    {41, 40},         {100, 1},         {4081, 4080},
    {4097, 4096},     {65537, 65536},   {70000, 0},
    {1u << 20, 1000}, {300000, 299999}, {(4u << 20) + 3, 4u << 20}};
#define NTRUNCS (sizeof truncs / sizeof truncs[0])

/* Receives a message that is longer than the buffer and checks the stored prefix, the
 * status and the guard after the buffer. */
static void trunc_check(const unsigned char *b, const tubo_status_t *st, int rc, size_t len,
                        size_t cap, int peer, int iter, const char *how)
{
  TH_CHECK(rc == TUBO_ETRUNC, "%s, %zu B into %zu: expected TUBO_ETRUNC, got %s", how, len, cap,
           tubo_err_name(rc));
  TH_STATUS(*st, peer, 4, len, TUBO_ETRUNC);
  TH_CHECK_DATA(b, cap, th_seed(peer, th_rank, len, iter), "%s: stored prefix of %zu B", how, len);
  TH_CHECK_GUARD(b + cap, TH_GUARD, "%s, %zu B into %zu", how, len, cap);
}

static void body_truncation(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  for (size_t i = 0; i < NTRUNCS; i++) {
    size_t len = truncs[i].len, cap = truncs[i].cap;
    if (th_rank == 0) {
      /* 1: a receive posted before the message; 2: the message arrives before the receive
       * (the receiver takes a later message first); each followed by a small message
       * with the same tag, which must arrive whole and next. */
      TH_OK(tubo_recv(NULL, 0, peer, 98, th_world, TUBO_STATUS_IGNORE));
      TH_SEND_MSG(peer, 4, len, 1);
      TH_SEND_MSG(peer, 4, 16, 2);
      unsigned char *b = th_malloc(len);
      th_fill(b, len, th_seed(0, peer, len, 3));
      tubo_request_t *r;
      TH_OK(tubo_isend(b, len, peer, 4, th_world, &r));
      TH_SEND_MSG(peer, 5, 0, 0);
      TH_SEND_MSG(peer, 4, 16, 4);
      TH_OK(tubo_wait(&r, TUBO_STATUS_IGNORE));
      free(b);
    } else {
      unsigned char *b = th_malloc(cap + TH_GUARD);
      tubo_status_t st;
      memset(b, TH_GUARD_BYTE, cap + TH_GUARD);
      tubo_request_t *r;
      TH_OK(tubo_irecv(cap ? b : NULL, cap, peer, 4, th_world, &r));
      TH_OK(tubo_send(NULL, 0, peer, 98, th_world));
      int rc = tubo_wait(&r, &st);
      trunc_check(b, &st, rc, len, cap, peer, 1, "posted receive");
      TH_RECV_MSG(peer, 4, 16, 2);
      TH_OK(tubo_recv(NULL, 0, peer, 5, th_world, TUBO_STATUS_IGNORE));
      memset(b, TH_GUARD_BYTE, cap + TH_GUARD);
      rc = tubo_recv(cap ? b : NULL, cap, peer, 4, th_world, &st);
      trunc_check(b, &st, rc, len, cap, peer, 3, "unexpected message");
      TH_RECV_MSG(peer, 4, 16, 4);
      free(b);
    }
  }
  /* waitall: one truncated receive among good ones gives its error in its status. */
  if (th_rank == 0) {
    TH_SEND_MSG(peer, 4, 10, 0);
    TH_SEND_MSG(peer, 4, 5000, 1);
    TH_SEND_MSG(peer, 4, 10, 2);
  } else {
    unsigned char b[3][TH_GUARD + 5000];
    tubo_request_t *r[3];
    tubo_status_t st[3];
    TH_OK(tubo_irecv(b[0], 10, peer, 4, th_world, &r[0]));
    TH_OK(tubo_irecv(b[1], 4999, peer, 4, th_world, &r[1]));
    TH_OK(tubo_irecv(b[2], 10, peer, 4, th_world, &r[2]));
    TH_EXPECT_RC(tubo_waitall(3, r, st), TUBO_ETRUNC);
    TH_STATUS(st[0], peer, 4, 10, 0);
    TH_STATUS(st[1], peer, 4, 5000, TUBO_ETRUNC);
    TH_STATUS(st[2], peer, 4, 10, 0);
    TH_CHECK_DATA(b[2], 10, th_seed(peer, 1, 10, 2), "message after the truncated one");
  }
}

/* ---- Non-blocking requests ---- */

#define NB_N 200

/* The i-th message of body_nb_*: tags 0..99 each once, then tag 1000 a hundred times. */
static int nb_tag(int i)
{
  return i < NB_N / 2 ? i : 1000;
}
static size_t nb_len(int i)
{
  return i % 50 == 49 ? (1u << 20) + (size_t)i : sizes[(size_t)i % 14];
}

/* 200 receives posted (unique tags in reverse order, then one tag) before the sends.
 * Where single copy ran (variants shm-rndv), the receiver read some of the single copies
 * of one pass over the sender's frames together, in one call (shm_reads_flush), and
 * completed them after eager messages that came later in the pass. */
static void body_nb_preposted(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  unsigned char *bufs[NB_N];
  tubo_request_t *reqs[NB_N];
  tubo_status_t sts[NB_N];
  if (th_rank == 1) {
    for (int i = NB_N / 2 - 1; i >= 0; i--) {
      bufs[i] = th_malloc(nb_len(i));
      TH_OK(tubo_irecv(bufs[i], nb_len(i), peer, nb_tag(i), th_world, &reqs[i]));
    }
    for (int i = NB_N / 2; i < NB_N; i++) {
      bufs[i] = th_malloc(nb_len(i));
      TH_OK(tubo_irecv(bufs[i], nb_len(i), peer, nb_tag(i), th_world, &reqs[i]));
    }
    TH_OK(tubo_send(NULL, 0, peer, 5000, th_world));
    TH_OK(tubo_waitall(NB_N, reqs, sts));
    for (int i = 0; i < NB_N; i++) {
      TH_CHECK(reqs[i] == NULL, "waitall left request %d set", i);
      TH_STATUS(sts[i], peer, nb_tag(i), nb_len(i), 0);
      TH_CHECK_DATA(bufs[i], nb_len(i), th_seed(peer, 1, nb_len(i), i), "message %d", i);
      free(bufs[i]);
    }
    /* Only between ranks of one node: across hosts the pair talks through MPI. */
    if ((th_variant() & (TH_SHM_RNDV | TH_SHM_RNDV_SMALL)) && th_single_copy_expected() &&
        th_node_of(peer) == th_node_of(th_rank)) {
      const shm_state_t *s = tubo__tport_of(tubo__world, peer)->state;
      TH_CHECK(s->reads.together > 0, "expected some of %d messages read together, got none", NB_N);
    }
  } else {
    TH_OK(tubo_recv(NULL, 0, peer, 5000, th_world, TUBO_STATUS_IGNORE));
    for (int i = 0; i < NB_N; i++) {
      bufs[i] = th_malloc(nb_len(i));
      th_fill(bufs[i], nb_len(i), th_seed(0, peer, nb_len(i), i));
      TH_OK(tubo_isend(bufs[i], nb_len(i), peer, nb_tag(i), th_world, &reqs[i]));
    }
    TH_OK(tubo_waitall(NB_N, reqs, sts));
    for (int i = 0; i < NB_N; i++) {
      TH_EQ("send status error", sts[i].error, 0);
      free(bufs[i]);
    }
  }
}

/* Messages shared in halves (shm_split.h: private, from TUBO__SPLIT_HALVES_MIN to below
 * TUBO_SHM_SPLIT_BYTES): windows of HV_N of each size received into buffers of their own,
 * then into one buffer (as osu_bw does), the receives posted before the sends; contents
 * checked each window. Where single copy runs (shm-rndv), windows go until the sender
 * wrote front halves and the receiver read back halves with others (at most 200 windows:
 * the sender takes a front half only where it runs while the receiver copies). */
enum { HV_N = 8 };
static const size_t hv_sizes[] = {TUBO__SPLIT_HALVES_MIN, (256u << 10) + 3,
                                  TUBO__SHM_SPLIT_DEFAULT - 1};

static void hv_window(int peer, size_t len, int one, int w)
{
  unsigned char *bufs[HV_N];
  tubo_request_t *reqs[HV_N];
  for (int i = 0; i < HV_N; i++) {
    bufs[i] = th_malloc(len);
    /* Into one buffer every message has the same bytes: which lands last is not said. */
    uint32_t seed = th_seed(0, 1, len, 8000 + w * HV_N + (one ? 0 : i));
    if (th_rank == 0)
      th_fill(bufs[i], len, seed);
    else
      memset(bufs[i], 0, len);
  }
  if (th_rank == 1) {
    for (int i = 0; i < HV_N; i++)
      TH_OK(tubo_irecv(bufs[one ? 0 : i], len, peer, 80, th_world, &reqs[i]));
    TH_OK(tubo_send(NULL, 0, peer, 81, th_world));
  } else {
    TH_OK(tubo_recv(NULL, 0, peer, 81, th_world, TUBO_STATUS_IGNORE));
    for (int i = 0; i < HV_N; i++)
      TH_OK(tubo_isend(bufs[i], len, peer, 80, th_world, &reqs[i]));
  }
  TH_OK(tubo_waitall(HV_N, reqs, TUBO_STATUSES_IGNORE));
  for (int i = 0; i < HV_N; i++) {
    if (th_rank == 1 && (!one || i == 0))
      TH_CHECK_DATA(bufs[i], len, th_seed(0, 1, len, 8000 + w * HV_N + (one ? 0 : i)),
                    "message %d of window %d of %zu bytes%s", i, w, len,
                    one ? ", all into one buffer" : "");
    free(bufs[i]);
  }
}

/* This rank's side of the messages shared in halves so far: rank 0 sends, rank 1 receives. */
static uint64_t hv_count(const shm_state_t *s)
{
  return th_rank == 0 ? s->splits.wrote_halves : s->splits.read_halves;
}

static void body_halves(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  /* Only between ranks of one node: across hosts the pair talks through MPI. */
  int counted = th_variant() == TH_SHM_RNDV && th_single_copy_expected() &&
                th_node_of(peer) == th_node_of(th_rank);
  const shm_state_t *s = counted ? tubo__tport_of(tubo__world, peer)->state : NULL;
  for (size_t k = 0; k < sizeof hv_sizes / sizeof hv_sizes[0]; k++)
    for (int one = 0; one < 2; one++) {
      int more = 1, w = 0;
      uint64_t base = counted ? hv_count(s) : 0;
      for (; more && w < 200; w++) {
        hv_window(peer, hv_sizes[k], one, w);
        /* Each rank says whether it saw its side shared; both go on until both did. */
        int mine = !counted || hv_count(s) > base;
        int theirs = 0;
        TH_OK(tubo_sendrecv(&mine, sizeof mine, peer, 82, &theirs, sizeof theirs, peer, 82,
                            th_world, TUBO_STATUS_IGNORE));
        more = !(mine && theirs);
      }
      if (counted)
        TH_CHECK(!more,
                 "expected, within %d windows of %zu bytes, the sender to write front "
                 "halves and the receiver to read back halves with others "
                 "(wrote %llu, read %llu on this rank)",
                 w, hv_sizes[k], (unsigned long long)s->splits.wrote_halves,
                 (unsigned long long)s->splits.read_halves);
    }
}

/* 200 messages that arrive before their receives; completed with tubo_waitany. */
static void body_nb_unexpected(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  unsigned char *bufs[NB_N];
  tubo_request_t *reqs[NB_N];
  if (th_rank == 0) {
    for (int i = 0; i < NB_N; i++) {
      bufs[i] = th_malloc(nb_len(i));
      th_fill(bufs[i], nb_len(i), th_seed(0, peer, nb_len(i), i));
      TH_OK(tubo_isend(bufs[i], nb_len(i), peer, nb_tag(i), th_world, &reqs[i]));
    }
    TH_OK(tubo_send(NULL, 0, peer, 5000, th_world)); /* after all of them */
    size_t done = 0, index;
    while (done < NB_N) {
      TH_OK(tubo_waitany(NB_N, reqs, &index, TUBO_STATUS_IGNORE));
      TH_CHECK(index < NB_N && reqs[index] == NULL, "waitany: index %zu, request left set", index);
      done++;
    }
    TH_OK(tubo_waitany(NB_N, reqs, &index, TUBO_STATUS_IGNORE));
    TH_EQ("waitany index when every request is NULL", index, (size_t)-1);
    for (int i = 0; i < NB_N; i++)
      free(bufs[i]);
    return;
  }
  TH_OK(tubo_recv(NULL, 0, peer, 5000, th_world, TUBO_STATUS_IGNORE));
  for (int i = 0; i < NB_N; i++) {
    bufs[i] = th_malloc(nb_len(i));
    TH_OK(tubo_irecv(bufs[i], nb_len(i), peer, nb_tag(i), th_world, &reqs[i]));
  }
  char seen[NB_N] = {0};
  for (int k = 0; k < NB_N; k++) {
    size_t i;
    tubo_status_t st;
    TH_OK(tubo_waitany(NB_N, reqs, &i, &st));
    TH_CHECK(i < NB_N && !seen[i], "waitany returned index %zu (seen before: %d)", i,
             i < NB_N ? seen[i] : -1);
    seen[i] = 1;
    TH_CHECK(reqs[i] == NULL, "waitany left request %zu set", i);
    TH_STATUS(st, peer, nb_tag((int)i), nb_len((int)i), 0);
    TH_CHECK_DATA(bufs[i], nb_len((int)i), th_seed(peer, 1, nb_len((int)i), (int)i), "message %zu",
                  i);
    free(bufs[i]);
  }
}

/* tubo_test: incomplete while the peer cannot have sent, complete once it has. */
static void body_nb_test(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  static const size_t tsizes[] = {0, 40, 4097, 70000, (1u << 20) + 1};
  for (size_t i = 0; i < sizeof tsizes / sizeof tsizes[0]; i++) {
    size_t len = tsizes[i];
    if (th_rank == 0) {
      unsigned char *b = th_malloc(len);
      tubo_request_t *r;
      tubo_status_t st;
      int flag = -1;
      TH_OK(tubo_irecv(b, len, peer, 1, th_world, &r));
      TH_OK(tubo_test(&r, &flag, &st));
      TH_EQ("tubo_test flag before the peer may send", flag, 0);
      TH_CHECK(r != NULL, "tubo_test freed an incomplete request");
      TH_OK(tubo_send(NULL, 0, peer, 2, th_world)); /* go */
      long polls = 0;
      do {
        TH_OK(tubo_test(&r, &flag, &st));
        polls++;
      } while (!flag);
      TH_CHECK(r == NULL, "tubo_test completed a request but left it set");
      TH_STATUS(st, peer, 1, len, 0);
      TH_CHECK_DATA(b, len, th_seed(peer, 0, len, (int)i), "%zu B after %ld tests", len, polls);
      /* A completed (NULL) request tests as done with an empty status. */
      TH_OK(tubo_test(&r, &flag, &st));
      TH_EQ("tubo_test flag of a NULL request", flag, 1);
      TH_STATUS(st, TUBO_ANY_SOURCE, TUBO_ANY_TAG, 0, 0);
      TH_OK(tubo_wait(&r, &st));
      TH_STATUS(st, TUBO_ANY_SOURCE, TUBO_ANY_TAG, 0, 0);
      free(b);
    } else {
      unsigned char *b = th_malloc(len);
      th_fill(b, len, th_seed(th_rank, peer, len, (int)i));
      TH_OK(tubo_recv(NULL, 0, peer, 2, th_world, TUBO_STATUS_IGNORE));
      /* The send is tested to completion too (large ones need the receiver). */
      tubo_request_t *r;
      int flag = 0;
      TH_OK(tubo_isend(b, len, peer, 1, th_world, &r));
      while (!flag)
        TH_OK(tubo_test(&r, &flag, TUBO_STATUS_IGNORE));
      free(b);
    }
  }
}

/* ---- sendrecv around a ring, all-to-all ---- */

static void body_ring(void)
{
  int to = (th_rank + 1) % th_size, from = (th_rank - 1 + th_size) % th_size;
  for (size_t i = 0; i < NSIZES; i++) {
    size_t len = sizes[i];
    unsigned char *s = th_malloc(len), *r = th_malloc(len + TH_GUARD);
    th_fill(s, len, th_seed(th_rank, to, len, (int)i));
    memset(r, TH_GUARD_BYTE, len + TH_GUARD);
    tubo_status_t st;
    TH_OK(tubo_sendrecv(s, len, to, (int)i, r, len, from, (int)i, th_world, &st));
    TH_STATUS(st, from, (int)i, len, 0);
    TH_CHECK_DATA(r, len, th_seed(from, th_rank, len, (int)i), "ring, %zu B from rank %d", len,
                  from);
    TH_CHECK_GUARD(r + len, TH_GUARD, "ring, %zu B from rank %d", len, from);
    /* And with oneself. */
    TH_OK(tubo_sendrecv(s, len, th_rank, 1, r, len, th_rank, 1, th_world, &st));
    TH_STATUS(st, th_rank, 1, len, 0);
    TH_CHECK_DATA(r, len, th_seed(th_rank, to, len, (int)i), "sendrecv with self, %zu B", len);
    free(s);
    free(r);
  }
}

/* What rank s sends to rank d in round k of all-to-all. */
static size_t a2a_len(int s, int d, int k)
{
  static const size_t base[] = {0, 40, 3000, 70000, 300000};
  return base[k % 5] + (size_t)(s * 7 + d);
}

static void body_alltoall(void)
{
  int n = th_size;
  unsigned char **sb = calloc((size_t)n, sizeof *sb), **rb = calloc((size_t)n, sizeof *rb);
  tubo_request_t **reqs = calloc(2 * (size_t)n, sizeof *reqs);
  tubo_status_t *sts = calloc(2 * (size_t)n, sizeof *sts);
  for (int k = 0; k < 5; k++) {
    /* Non-blocking: every receive and send at once. */
    for (int p = 0; p < n; p++) {
      size_t in = a2a_len(p, th_rank, k), out = a2a_len(th_rank, p, k);
      rb[p] = th_malloc(in);
      sb[p] = th_malloc(out);
      th_fill(sb[p], out, th_seed(th_rank, p, out, k));
      TH_OK(tubo_irecv(rb[p], in, p, k, th_world, &reqs[p]));
    }
    for (int p = 0; p < n; p++) {
      int d = (th_rank + p) % n; /* not everyone to rank 0 first */
      TH_OK(tubo_isend(sb[d], a2a_len(th_rank, d, k), d, k, th_world, &reqs[n + d]));
    }
    TH_OK(tubo_waitall(2 * (size_t)n, reqs, sts));
    for (int p = 0; p < n; p++) {
      size_t in = a2a_len(p, th_rank, k);
      TH_STATUS(sts[p], p, k, in, 0);
      TH_CHECK_DATA(rb[p], in, th_seed(p, th_rank, in, k), "round %d from rank %d", k, p);
    }
    /* Blocking: pairwise exchanges with tubo_sendrecv. */
    for (int step = 1; step < n; step++) {
      int to = (th_rank + step) % n, from = (th_rank - step + n) % n;
      size_t in = a2a_len(from, th_rank, k + 1), out = a2a_len(th_rank, to, k + 1);
      unsigned char *s = th_malloc(out), *r = th_malloc(in);
      th_fill(s, out, th_seed(th_rank, to, out, 100 + k));
      tubo_status_t st;
      TH_OK(tubo_sendrecv(s, out, to, 100 + k, r, in, from, 100 + k, th_world, &st));
      TH_STATUS(st, from, 100 + k, in, 0);
      TH_CHECK_DATA(r, in, th_seed(from, th_rank, in, 100 + k), "pairwise step %d from rank %d",
                    step, from);
      free(s);
      free(r);
    }
    for (int p = 0; p < n; p++) {
      free(sb[p]);
      free(rb[p]);
    }
  }
  free(sb);
  free(rb);
  free(reqs);
  free(sts);
}

/* ---- Argument errors ---- */

static void body_arg_errors(void)
{
  int peer = (th_rank + 1) % th_size;
  int n = th_size;
  char buf[16] = {0};
  int flag = 0;
  size_t index = 0;
  tubo_status_t st;
  tubo_request_t *r = NULL;
  const char *name = NULL;
  /* Ranks: -3 and size are out of range; -1 (TUBO_ANY_SOURCE) only when receiving, -2 is
   * TUBO_PROC_NULL (check_errhandler). */
  const int bad_ranks[] = {-3, n, n + 1, -100};
  for (size_t i = 0; i < sizeof bad_ranks / sizeof bad_ranks[0]; i++) {
    int b = bad_ranks[i];
    TH_EXPECT_RC(tubo_send(buf, 1, b, 0, th_world), TUBO_ERANK);
    TH_EXPECT_RC(tubo_isend(buf, 1, b, 0, th_world, &r), TUBO_ERANK);
    TH_EXPECT_RC(tubo_recv(buf, 1, b, 0, th_world, &st), TUBO_ERANK);
    TH_EXPECT_RC(tubo_irecv(buf, 1, b, 0, th_world, &r), TUBO_ERANK);
    TH_EXPECT_RC(tubo_probe(b, 0, th_world, &st), TUBO_ERANK);
    TH_EXPECT_RC(tubo_iprobe(b, 0, th_world, &flag, &st), TUBO_ERANK);
    TH_EXPECT_RC(tubo_comm_transport(th_world, b, &name), TUBO_ERANK);
  }
  TH_EXPECT_RC(tubo_send(buf, 1, TUBO_ANY_SOURCE, 0, th_world), TUBO_ERANK);
  TH_EXPECT_RC(tubo_isend(buf, 1, TUBO_ANY_SOURCE, 0, th_world, &r), TUBO_ERANK);
  TH_EXPECT_RC(tubo_comm_transport(th_world, -1, &name), TUBO_ERANK);
  /* Tags: 0..TUBO_TAG_MAX; TUBO_ANY_TAG only when receiving. */
  const int bad_tags[] = {-5, TUBO_TAG_MAX + 1, -2, (int)0x7fffffff};
  for (size_t i = 0; i < sizeof bad_tags / sizeof bad_tags[0]; i++) {
    int t = bad_tags[i];
    TH_EXPECT_RC(tubo_send(buf, 1, peer, t, th_world), TUBO_ETAG);
    TH_EXPECT_RC(tubo_isend(buf, 1, peer, t, th_world, &r), TUBO_ETAG);
    TH_EXPECT_RC(tubo_recv(buf, 1, peer, t, th_world, &st), TUBO_ETAG);
    TH_EXPECT_RC(tubo_irecv(buf, 1, peer, t, th_world, &r), TUBO_ETAG);
    TH_EXPECT_RC(tubo_iprobe(peer, t, th_world, &flag, &st), TUBO_ETAG);
  }
  TH_EXPECT_RC(tubo_send(buf, 1, peer, TUBO_ANY_TAG, th_world), TUBO_ETAG);
  /* Buffers: NULL only with length 0. */
  TH_EXPECT_RC(tubo_send(NULL, 1, peer, 0, th_world), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_isend(NULL, 8, peer, 0, th_world, &r), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_recv(NULL, 1, peer, 0, th_world, &st), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_irecv(NULL, 8, peer, 0, th_world, &r), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_sendrecv(NULL, 1, peer, 0, buf, 1, peer, 0, th_world, &st), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_send(buf, SIZE_MAX, peer, 0, th_world), TUBO_ETOOBIG);
  /* Communicators: NULL, and memory that is not one. */
  static const uint64_t not_a_comm[16] = {0};
  tubo_comm_t *bogus = (tubo_comm_t *)(uintptr_t)not_a_comm;
  tubo_comm_t *bad_comms[] = {NULL, bogus};
  for (size_t i = 0; i < 2; i++) {
    tubo_comm_t *c = bad_comms[i];
    int v;
    TH_EXPECT_RC(tubo_comm_rank(c, &v), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_comm_size(c, &v), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_comm_transport(c, 0, &name), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_send(buf, 1, peer, 0, c), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_isend(buf, 1, peer, 0, c, &r), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_recv(buf, 1, peer, 0, c, &st), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_irecv(buf, 1, peer, 0, c, &r), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_probe(peer, 0, c, &st), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_iprobe(peer, 0, c, &flag, &st), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_sendrecv(buf, 1, peer, 0, buf, 1, peer, 0, c, &st), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_barrier(c), TUBO_ECOMM);
    TH_EXPECT_RC(tubo_abort(c, 5), TUBO_ECOMM);
  }
  TH_CHECK(r == NULL, "a call that failed its argument checks set the request pointer");
  /* Output pointers. */
  TH_EXPECT_RC(tubo_comm_rank(th_world, NULL), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_comm_size(th_world, NULL), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_comm_transport(th_world, 0, NULL), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_isend(buf, 1, peer, 0, th_world, NULL), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_irecv(buf, 1, peer, 0, th_world, NULL), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_wait(NULL, &st), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_test(NULL, &flag, &st), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_test(&r, NULL, &st), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_waitall(1, NULL, NULL), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_waitany(1, NULL, &index, &st), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_waitany(1, &r, NULL, &st), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_iprobe(peer, 0, th_world, NULL, &st), TUBO_EINVAL);
  /* A freed request: waiting or testing it again is an error, not a crash. */
  tubo_request_t *stale;
  TH_OK(tubo_isend(buf, 4, th_rank, 7, th_world, &r));
  stale = r;
  TH_OK(tubo_wait(&r, TUBO_STATUS_IGNORE));
  TH_EXPECT_RC(tubo_wait(&stale, &st), TUBO_EREQUEST);
  TH_EXPECT_RC(tubo_test(&stale, &flag, &st), TUBO_EREQUEST);
  tubo_request_t *two[2] = {NULL, stale};
  TH_EXPECT_RC(tubo_waitall(2, two, NULL), TUBO_EREQUEST);
  TH_EXPECT_RC(tubo_waitany(2, two, &index, &st), TUBO_EREQUEST);
  TH_OK(tubo_recv(buf, sizeof buf, th_rank, 7, th_world, &st));
  /* A sendrecv whose send is wrong leaves no receive behind; one whose receive is wrong
   * sends nothing. */
  int from = (th_rank - 1 + n) % n;
  TH_EXPECT_RC(tubo_sendrecv(buf, 1, -3, 0, buf, 1, from, 31, th_world, &st), TUBO_ERANK);
  TH_EXPECT_RC(tubo_sendrecv(buf, 1, peer, 32, buf, 1, -3, 0, th_world, &st), TUBO_ERANK);
  TH_EXPECT_RC(tubo_sendrecv(buf, 1, peer, 32, buf, 1, from, -5, th_world, &st), TUBO_ETAG);
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_iprobe(from, 32, th_world, &flag, &st));
  TH_EQ("iprobe flag for a message a failed sendrecv must not have sent", flag, 0);
  int v = th_rank + 1000, got = -1;
  TH_OK(tubo_send(&v, sizeof v, peer, 31, th_world));
  TH_OK(tubo_recv(&got, sizeof got, from, 31, th_world, &st));
  TH_STATUS(st, from, 31, sizeof got, 0);
  TH_EQ("message after failed calls", got, from + 1000);
  /* The largest tag is valid. */
  TH_OK(tubo_send(&v, sizeof v, peer, TUBO_TAG_MAX, th_world));
  TH_OK(tubo_recv(&got, sizeof got, from, TUBO_TAG_MAX, th_world, &st));
  TH_STATUS(st, from, TUBO_TAG_MAX, sizeof got, 0);
}

/* tubo_comm_transport: "self" for this rank, the job's transport for the others: MPI for
 * those on another node. */
static void body_transport_names(void)
{
  const char *want = th_variant() == TH_PIPE ? "pipe" : "shm";
  for (int p = 0; p < th_size; p++) {
    const char *name = NULL;
    TH_OK(tubo_comm_transport(th_world, p, &name));
    const char *w = p == th_rank ? "self" : th_node_of(p) != th_node_of(th_rank) ? "mpi" : want;
    TH_CHECK(name != NULL && strcmp(name, w) == 0,
             "tubo_comm_transport(rank %d): expected \"%s\", got \"%s\"", p, w,
             name ? name : "(null)");
  }
}

/* A job of 2 to 5 ranks makes every pair's channel in tubo_init: before any message, the
 * job's shared memory already holds them all (without them it holds the control block and
 * the inboxes, some KiB). Then every pair streams messages of the sizes that go inline,
 * through the data ring and in frames, contents checked. */
static void body_wired(void)
{
  int n = th_size;
  if (th_one_node()) { /* under mpirun, pretend nodes of one rank share no memory */
    tubo__shm_layout_t L;
    TH_OK(tubo__shm_layout_from_settings((uint32_t)n, &L));
    uint64_t used = 0, chans = (uint64_t)n * (uint64_t)(n - 1) * L.chan_bytes;
    TH_OK(tubo_comm_shm_bytes(th_world, &used));
    TH_CHECK(used >= chans,
             "%d ranks right after tubo_init: expected the %d channels made there (%llu B) "
             "in the job's shared memory, it holds %llu B",
             n, n * (n - 1), (unsigned long long)chans, (unsigned long long)used);
  }
  const size_t lens[] = {0, 8, 40, 41, 4096, 100000};
  enum { BIG = 100000 };
  unsigned char *out = th_malloc(BIG), *in = th_malloc(BIG);
  for (int step = 1; step < n; step++) {
    int to = (th_rank + step) % n, from = (th_rank + n - step) % n;
    for (int rep = 0; rep < 20; rep++)
      for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t len = lens[k];
        th_fill(out, len, th_seed(th_rank, to, len, rep));
        tubo_status_t st;
        TH_OK(tubo_sendrecv(out, len, to, rep, in, BIG, from, rep, th_world, &st));
        TH_STATUS(st, from, rep, len, 0);
        TH_CHECK_DATA(in, len, th_seed(from, th_rank, len, rep), "message %d of %zu B from %d", rep,
                      len, from);
      }
  }
  free(out);
  free(in);
}

/* A pair of a job too large to make its channels at start-up (a node of 6 ranks) makes its channel
 * at its first message above what an inbox slot holds, a message by single copy (an RTS frame of a
 * few bytes) included: one 64 KiB message from rank 0 to rank 1 adds a channel to the job's shared
 * memory. (Made at the 16th frame, the RTS's channel came in the middle of a program's first large
 * collectives: doc/benchmarks.md.) */
static void body_rts_channel(void)
{
  enum { LEN = 65536 };
  tubo__shm_layout_t L;
  TH_OK(tubo__shm_layout_from_settings((uint32_t)th_size, &L));
  uint64_t before = 0, after = 0;
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_comm_shm_bytes(th_world, &before));
  TH_OK(tubo_barrier(th_world));
  unsigned char *buf = th_malloc(LEN);
  if (th_rank == 0) {
    th_fill(buf, LEN, th_seed(0, 1, LEN, 0));
    TH_OK(tubo_send(buf, LEN, 1, 3, th_world));
  } else if (th_rank == 1) {
    tubo_status_t st;
    TH_OK(tubo_recv(buf, LEN, 0, 3, th_world, &st));
    TH_STATUS(st, 0, 3, LEN, 0);
    TH_CHECK_DATA(buf, LEN, th_seed(0, 1, LEN, 0), "the message of %d B", LEN);
  }
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_comm_shm_bytes(th_world, &after));
  /* Under mpirun's pretend nodes the pair's node is smaller, and made its channels at
   * start-up, or the pair talks through MPI. */
  TH_CHECK(!th_one_node() || after >= before + L.chan_bytes,
           "%d ranks, one message of %d B (single copy: %d): expected a channel of %zu B more "
           "in the job's shared memory, it went from %llu B to %llu B",
           th_size, LEN, th_single_copy_expected(), L.chan_bytes, (unsigned long long)before,
           (unsigned long long)after);
  free(buf);
}

static const th_body_t bodies[] = {
    {"caps", body_caps, 0},
    {"pingpong", body_pingpong, 0},
    {"offsets", body_offsets, 0},
    {"fast_paths", body_fast_paths, 0},
    {"ordering", body_ordering, 0},
    {"ordering_posted", body_ordering_posted, 0},
    {"tag_order", body_tag_order, 0},
    {"tags", body_tags, 0},
    {"any", body_any, 0},
    {"truncation", body_truncation, 0},
    {"nb_preposted", body_nb_preposted, 0},
    {"halves", body_halves, 0},
    {"rts_channel", body_rts_channel, 0},
    {"nb_unexpected", body_nb_unexpected, 0},
    {"nb_test", body_nb_test, 0},
    {"ring", body_ring, 0},
    {"alltoall", body_alltoall, 0},
    {"arg_errors", body_arg_errors, 0},
    {"transport_names", body_transport_names, 0},
    {"wired", body_wired, 0},
    {NULL, NULL, 0},
};

static Suite *p2p_suite(void)
{
  Suite *s = suite_create("p2p");
  th_add_case(s, "caps", 2, TH_ALL_PATHS);
  th_add_case(s, "pingpong", 2, TH_ALL_PATHS);
  th_add_case(s, "offsets", 2, TH_ALL_PATHS);
  th_add_case(s, "fast_paths", 2, TH_ALL_PATHS);
  th_add_case(s, "ordering", 3, TH_ALL_PATHS);
  th_add_case(s, "ordering_posted", 2, TH_ALL_PATHS);
  th_add_case(s, "tags", 2, TH_ALL_PATHS);
  th_add_case(s, "tag_order", 2, TH_ALL_PATHS);
  th_add_case(s, "any", 4, TH_ALL_PATHS);
  th_add_case(s, "truncation", 2, TH_ALL_PATHS);
  th_add_case(s, "nb_preposted", 2, TH_ALL_PATHS);
  th_add_case(s, "halves", 2, TH_ALL_PATHS);
  th_add_case(s, "nb_unexpected", 2, TH_ALL_PATHS);
  th_add_case(s, "nb_test", 2, TH_ALL_PATHS);
  th_add_case(s, "ring", 3, TH_ALL_PATHS);
  th_add_case(s, "alltoall", 6, TH_BOTH | TH_SHM_COPY_SMALL | TH_SHM_RNDV_SMALL);
  th_add_case(s, "arg_errors", 2, TH_BOTH);
  th_add_case(s, "transport_names", 3, TH_BOTH);
  TCase *tc = th_add_case(s, "wired", 2, TH_SHM);
  th_add_job(tc, "wired", 3, TH_SHM);
  th_add_job(tc, "wired", 4, TH_SHM);
  th_add_job(tc, "wired", 5, TH_SHM);
  th_add_case(s, "rts_channel", 6, TH_SHM_RNDV);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, p2p_suite);
}
