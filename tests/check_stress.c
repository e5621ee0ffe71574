/* SPDX-License-Identifier: MIT */
/* Stress: every rank sends to every rank (itself included) messages of random sizes from
 * 0 B to 4 MiB with random tags, through blocking and non-blocking sends, and receives
 * them with wildcard and specific receives and probes mixed. Every message carries who
 * sent it, its sequence number for (sender, receiver, tag) and a checksum of its bytes:
 * nothing may be lost, duplicated, corrupted or reordered per sender and tag.
 *
 * In `make check` each job sends a fixed number of messages; `make stress` (or
 * TUBO_STRESS_SECONDS=N) runs rounds for N seconds instead. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define STRESS_TAGS 3
#define STRESS_MAX  ((size_t)4 << 20)
#define STRESS_HDR  ((size_t)32)
#define STRESS_WIN  8 /* sends in flight per rank */

/* The header at the start of every message of STRESS_HDR bytes or more. Shorter messages
 * carry a prefix of it, and their sizes are chosen so that the prefix names the sender. */
struct stress_hdr {
  int32_t from;
  int32_t tag;
  uint32_t seq;
  uint32_t len;
  uint64_t sum; /* checksum of the bytes after the header */
  uint64_t pad;
};

/* A small deterministic generator, the same on every rank. */
static uint64_t stress_next(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Sizes: mostly small (eager, inline), some medium (data ring), a few large (streamed or
 * single copy), up to 4 MiB. Never below the header, so every message can be checked. */
static size_t stress_size(uint64_t *rng)
{
  uint64_t r = stress_next(rng);
  switch (r % 20) {
  case 0:
    return STRESS_HDR + (size_t)(stress_next(rng) % (STRESS_MAX - STRESS_HDR + 1));
  case 1:
  case 2:
    return STRESS_HDR + (size_t)(stress_next(rng) % (256u << 10));
  default:
    return STRESS_HDR + (size_t)(stress_next(rng) % 4096);
  }
}

static uint64_t stress_sum(const unsigned char *p, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static void stress_fill(unsigned char *buf, size_t len, int from, int tag, uint32_t seq)
{
  struct stress_hdr h = {from, tag, seq, (uint32_t)len, 0, 0};
  uint64_t s = ((uint64_t)from << 40) ^ ((uint64_t)tag << 32) ^ seq ^ 0x9e3779b97f4a7c15ull;
  for (size_t i = STRESS_HDR; i < len; i++)
    buf[i] = (unsigned char)(stress_next(&s) >> 24);
  h.sum = stress_sum(buf + STRESS_HDR, len - STRESS_HDR);
  memcpy(buf, &h, sizeof h);
}

/* What a receiver knows: the next sequence number it expects per (sender, tag). */
typedef struct stress_rx {
  uint32_t *next; /* [from * STRESS_TAGS + tag] */
  long got, want;
} stress_rx_t;

static void stress_check(stress_rx_t *rx, const unsigned char *buf, const tubo_status_t *st)
{
  TH_CHECK(st->length >= STRESS_HDR && st->length <= STRESS_MAX,
           "message of %zu bytes from rank %d, expected %zu to %zu", st->length, st->source,
           STRESS_HDR, STRESS_MAX);
  struct stress_hdr h;
  memcpy(&h, buf, sizeof h);
  TH_CHECK(h.from == st->source && h.tag == st->tag && h.len == st->length,
           "header says from %d tag %d len %u, status says from %d tag %d len %zu", h.from,
           h.tag, h.len, st->source, st->tag, st->length);
  uint32_t *next = &rx->next[h.from * STRESS_TAGS + h.tag];
  TH_CHECK(h.seq == *next,
           "from rank %d tag %d: expected message %u next, got %u (lost, duplicated or "
           "reordered)",
           h.from, h.tag, *next, h.seq);
  TH_CHECK(stress_sum(buf + STRESS_HDR, st->length - STRESS_HDR) == h.sum,
           "from rank %d tag %d message %u: checksum differs (corrupted)", h.from, h.tag,
           h.seq);
  (*next)++;
  rx->got++;
}

/* One round: each rank sends count messages to each rank, and receives as many from each. */
static void stress_round(stress_rx_t *rx, uint32_t *sent, int count, uint64_t round)
{
  int n = th_size, me = th_rank;
  unsigned char *rbuf = th_malloc(STRESS_MAX);
  unsigned char *sbuf[STRESS_WIN];
  tubo_request_t *sreq[STRESS_WIN];
  for (int i = 0; i < STRESS_WIN; i++) {
    sbuf[i] = th_malloc(STRESS_MAX);
    sreq[i] = NULL;
  }
  uint64_t rng = ((uint64_t)me + 1) * 0x2545f4914f6cdd1dull + round;
  rx->want += (long)count * n;
  long to_send = (long)count * n, posted = 0;
  tubo_request_t *rreq = NULL;
  while (posted < to_send || rx->got < rx->want) {
    /* Send: a free slot of the window gets the next message, blocking now and then. */
    if (posted < to_send) {
      size_t slot = (size_t)-1;
      for (size_t i = 0; i < STRESS_WIN && slot == (size_t)-1; i++) {
        int done = 1;
        TH_OK(tubo_test(&sreq[i], &done, NULL));
        if (done)
          slot = i;
      }
      if (slot != (size_t)-1) {
        int to = (int)(posted % n);
        int tag = (int)(stress_next(&rng) % STRESS_TAGS);
        size_t len = stress_size(&rng);
        uint32_t seq = sent[to * STRESS_TAGS + tag]++;
        stress_fill(sbuf[slot], len, me, tag, seq);
        if (stress_next(&rng) % 4 == 0)
          TH_OK(tubo_send(sbuf[slot], len, to, tag, th_world));
        else
          TH_OK(tubo_isend(sbuf[slot], len, to, tag, th_world, &sreq[slot]));
        posted++;
      }
    }
    /* Receive: a wildcard receive in flight, or a probe then a specific receive. */
    if (rx->got < rx->want) {
      tubo_status_t st;
      if (rreq == NULL && stress_next(&rng) % 2 == 0) {
        TH_OK(tubo_irecv(rbuf, STRESS_MAX, TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &rreq));
      } else if (rreq != NULL) {
        int done = 0;
        TH_OK(tubo_test(&rreq, &done, &st));
        if (done)
          stress_check(rx, rbuf, &st);
      } else {
        int flag = 0;
        TH_OK(tubo_iprobe(TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &flag, &st));
        if (flag) {
          int src = st.source, tag = st.tag;
          TH_OK(tubo_recv(rbuf, STRESS_MAX, src, tag, th_world, &st));
          stress_check(rx, rbuf, &st);
        }
      }
    }
  }
  TH_OK(tubo_waitall(STRESS_WIN, sreq, NULL));
  for (int i = 0; i < STRESS_WIN; i++)
    free(sbuf[i]);
  free(rbuf);
}

static void body_stress(void)
{
  const char *secs = getenv("TUBO_STRESS_SECONDS");
  double until = secs ? tubo_wtime() + atof(secs) : 0;
  stress_rx_t rx = {calloc((size_t)th_size * STRESS_TAGS, sizeof(uint32_t)), 0, 0};
  uint32_t *sent = calloc((size_t)th_size * STRESS_TAGS, sizeof(uint32_t));
  TH_CHECK(rx.next != NULL && sent != NULL, "out of memory");
  uint64_t round = 0;
  do {
    stress_round(&rx, sent, 12, round++);
    /* Every rank goes on as long as rank 0 says so, so that all run the same rounds. A
     * round ends with no receive posted (a wildcard receive is posted only while messages
     * of the round remain, so one of them completes it); the barrier makes sure no rank
     * still waits for stress messages when rank 0's answer travels. */
    int more = 0;
    if (until > 0) {
      TH_OK(tubo_barrier(th_world));
      if (th_rank == 0)
        more = tubo_wtime() < until;
      for (int r = 1; r < th_size && th_rank == 0; r++)
        TH_OK(tubo_send(&more, sizeof more, r, 99, th_world));
      if (th_rank != 0)
        TH_OK(tubo_recv(&more, sizeof more, 0, 99, th_world, NULL));
    }
    if (!more)
      break;
  } while (1);
  TH_EQ("messages received", rx.got, rx.want);
  TH_OK(tubo_barrier(th_world));
  free(rx.next);
  free(sent);
}

static const th_body_t bodies[] = {
    {"stress", body_stress, 0},
    {NULL, NULL, 0},
};

static Suite *stress_suite(void)
{
  Suite *s = suite_create("stress");
  /* More ranks than the two cores of the machine the suite was written on. */
  TCase *tc = th_add_case(s, "stress", 5, TH_ALL_PATHS);
  th_add_job(tc, "stress", 2, TH_BOTH);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, stress_suite);
}
