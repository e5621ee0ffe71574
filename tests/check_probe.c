/* SPDX-License-Identifier: MIT */
/* Probes: tubo_iprobe before and after a message arrives, tubo_probe with wildcards and
 * the receive that follows, probes of large (streamed or single-copy) messages. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Sizes on each protocol path of every variant. */
static const size_t psizes[] = {0, 40, 41, 4097, 70000, (1u << 20) + 1, (4u << 20) + 3};
#define NPSIZES (sizeof psizes / sizeof psizes[0])

/* iprobe finds nothing before the peer may send, then finds the message (as often as
 * asked: a probe receives nothing), then nothing once it was received. */
static void body_iprobe(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  for (size_t i = 0; i < NPSIZES; i++) {
    size_t len = psizes[i];
    if (th_rank == 0) {
      TH_OK(tubo_recv(NULL, 0, peer, 2, th_world, TUBO_STATUS_IGNORE));
      TH_SEND_MSG(peer, 1, len, (int)i);
      continue;
    }
    int flag = -1;
    tubo_status_t st;
    TH_OK(tubo_iprobe(peer, 1, th_world, &flag, &st));
    TH_EQ("iprobe flag before the peer may send", flag, 0);
    TH_OK(tubo_iprobe(TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &flag, TUBO_STATUS_IGNORE));
    TH_EQ("iprobe(ANY, ANY) flag before the peer may send", flag, 0);
    TH_OK(tubo_send(NULL, 0, peer, 2, th_world)); /* go */
    do
      TH_OK(tubo_iprobe(peer, 1, th_world, &flag, &st));
    while (!flag);
    TH_STATUS(st, peer, 1, len, 0);
    for (int again = 0; again < 3; again++) {
      memset(&st, 0, sizeof st);
      TH_OK(tubo_iprobe(TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &flag, &st));
      TH_EQ("iprobe flag for a message probed before", flag, 1);
      TH_STATUS(st, peer, 1, len, 0);
    }
    TH_OK(tubo_iprobe(peer, 3, th_world, &flag, &st));
    TH_EQ("iprobe flag for a tag nobody sent", flag, 0);
    TH_RECV_MSG(peer, 1, len, (int)i);
    TH_OK(tubo_iprobe(peer, 1, th_world, &flag, &st));
    TH_EQ("iprobe flag after the message was received", flag, 0);
  }
}

/* What rank s sends to rank 0 in body_probe_any: all sizes, spread over the senders. */
static size_t any_len(int s, size_t k)
{
  return psizes[(k + (size_t)s) % NPSIZES];
}

/* The MPI idiom: probe with wildcards, size the buffer from the status, receive. */
static void body_probe_any(void)
{
  if (th_rank != 0) {
    for (size_t k = 0; k < NPSIZES; k++)
      TH_SEND_MSG(0, 10 + th_rank, any_len(th_rank, k), (int)k);
    return;
  }
  size_t *next = calloc((size_t)th_size, sizeof *next);
  for (size_t m = 0; m < (size_t)(th_size - 1) * NPSIZES; m++) {
    tubo_status_t st;
    memset(&st, 0xff, sizeof st);
    /* Alternately: both wildcards, a given source, a given tag. */
    int src = TUBO_ANY_SOURCE, tag = TUBO_ANY_TAG;
    if (m % 3 == 1)
      src = 1 + (int)(m % (size_t)(th_size - 1));
    if (m % 3 == 2)
      tag = 10 + 1 + (int)(m % (size_t)(th_size - 1));
    if (src != TUBO_ANY_SOURCE && next[src] == NPSIZES)
      src = TUBO_ANY_SOURCE;
    if (tag != TUBO_ANY_TAG && next[tag - 10] == NPSIZES)
      tag = TUBO_ANY_TAG;
    TH_OK(tubo_probe(src, tag, th_world, &st));
    TH_CHECK(st.source >= 1 && st.source < th_size, "probe(%d, %d): status.source %d", src, tag,
             st.source);
    int s = st.source;
    size_t k = next[s]++;
    TH_STATUS(st, s, 10 + s, any_len(s, k), 0);
    TH_RECV_MSG(st.source, st.tag, st.length, (int)k);
  }
  free(next);
}

/* A large message: probe sees it before it is all there (streamed) or before it is
 * read (single copy), probing again finds the same one, and the receive after the probe
 * gets it whole, or truncated with the full length. A second message with the same tag
 * stays behind it. */
static void body_probe_large(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  static const size_t lsizes[] = {5000, 70000, (1u << 20) + 7, (4u << 20) + 3};
  for (size_t i = 0; i < sizeof lsizes / sizeof lsizes[0]; i++) {
    size_t len = lsizes[i];
    if (th_rank == 0) {
      unsigned char *a = th_malloc(len), *b = th_malloc(len / 2);
      th_fill(a, len, th_seed(0, peer, len, 1));
      th_fill(b, len / 2, th_seed(0, peer, len / 2, 2));
      tubo_request_t *r[3];
      TH_OK(tubo_isend(a, len, peer, 6, th_world, &r[0]));
      TH_OK(tubo_isend(b, len / 2, peer, 6, th_world, &r[1]));
      TH_OK(tubo_isend(a, len, peer, 7, th_world, &r[2]));
      TH_OK(tubo_waitall(3, r, TUBO_STATUSES_IGNORE));
      free(a);
      free(b);
      continue;
    }
    tubo_status_t st;
    TH_OK(tubo_probe(peer, 6, th_world, &st));
    TH_STATUS(st, peer, 6, len, 0);
    TH_OK(tubo_probe(TUBO_ANY_SOURCE, 6, th_world, &st));
    TH_STATUS(st, peer, 6, len, 0);
    TH_RECV_MSG(peer, 6, len, 1);
    TH_OK(tubo_probe(peer, TUBO_ANY_TAG, th_world, &st));
    TH_STATUS(st, peer, 6, len / 2, 0);
    TH_RECV_MSG(peer, 6, len / 2, 2);
    TH_OK(tubo_probe(peer, 7, th_world, &st));
    TH_STATUS(st, peer, 7, len, 0);
    size_t cap = len / 3;
    unsigned char *b = th_malloc(cap);
    TH_EXPECT_RC(tubo_recv(b, cap, peer, 7, th_world, &st), TUBO_ETRUNC);
    TH_STATUS(st, peer, 7, len, TUBO_ETRUNC);
    TH_CHECK_DATA(b, cap, th_seed(peer, 1, len, 1), "truncated receive after probe");
    free(b);
  }
}

/* A probe for one tag passes over an earlier message with another, which stays. */
static void body_probe_skip(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  if (th_rank == 0) {
    size_t len = 70000;
    unsigned char *a = th_malloc(len);
    th_fill(a, len, th_seed(0, peer, len, 1));
    tubo_request_t *r;
    TH_OK(tubo_isend(a, len, peer, 1, th_world, &r));
    TH_SEND_MSG(peer, 2, 12, 2);
    TH_OK(tubo_wait(&r, TUBO_STATUS_IGNORE));
    free(a);
    return;
  }
  tubo_status_t st;
  TH_OK(tubo_probe(peer, 2, th_world, &st));
  TH_STATUS(st, peer, 2, 12, 0);
  int flag = 0;
  TH_OK(tubo_iprobe(peer, 1, th_world, &flag, &st));
  TH_EQ("iprobe flag for the earlier message", flag, 1);
  TH_STATUS(st, peer, 1, 70000, 0);
  TH_RECV_MSG(peer, 2, 12, 2);
  TH_RECV_MSG(peer, 1, 70000, 1);
}

static const th_body_t bodies[] = {
    {"iprobe", body_iprobe, 0},
    {"probe_any", body_probe_any, 0},
    {"probe_large", body_probe_large, 0},
    {"probe_skip", body_probe_skip, 0},
    {NULL, NULL, 0},
};

static Suite *probe_suite(void)
{
  Suite *s = suite_create("probe");
  th_add_case(s, "iprobe", 2, TH_ALL_PATHS);
  th_add_case(s, "probe_any", 4, TH_ALL_PATHS);
  th_add_case(s, "probe_large", 2, TH_ALL_PATHS);
  th_add_case(s, "probe_skip", 2, TH_ALL_PATHS);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, probe_suite);
}
