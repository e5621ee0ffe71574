/* SPDX-License-Identifier: MIT */
/* The barrier, checked without sleeps or clocks.
 *
 * Before each barrier every rank sends every other rank a token (blocking send: once it
 * returns, the token is in the transport). A barrier may release a rank only after every
 * rank has entered it, so every token sent before it has already reached this rank's
 * transport: one tubo_iprobe after the barrier must find each of them. A barrier that
 * released a rank early would show up as a missing token, and is made likely to by
 * holding one rank back each round (by yielding its core; not as synchronisation). Also
 * with the waiting policy forced both ways and a bcast from rank 0 in each round, for the
 * shared-memory barrier's two orders. */
#include "config.h"

#include <sched.h>
#include <stdlib.h>

#include "harness.h"

#define TOKEN_ROUNDS 40

/* Whether each round ends with a bcast from rank 0 (the shared-memory barrier that
 * follows one has rank 0 publish last where ranks share cores). */
static int tokens_bcast;

/* Tokens carry user traffic with the tags the barrier uses internally (its rounds). */
static void body_tokens(void)
{
  for (int round = 0; round < TOKEN_ROUNDS; round++) {
    int tag = round % 4;
    if (th_rank == round % th_size)
      for (int k = 0; k < 200; k++)
        sched_yield();
    for (int p = 0; p < th_size; p++)
      if (p != th_rank)
        TH_OK(tubo_send(&round, sizeof round, p, tag, th_world));
    TH_OK(tubo_barrier(th_world));
    for (int p = 0; p < th_size; p++) {
      /* A token from another node travels through MPI, which (as MPI itself) does not
       * promise it has arrived when the barrier, whose messages took other paths, is
       * over: it is only received below. Inside a node it must be there. */
      if (p == th_rank || th_node_of(p) != th_node_of(th_rank))
        continue;
      int flag = 0;
      tubo_status_t st;
      TH_OK(tubo_iprobe(p, tag, th_world, &flag, &st));
      TH_CHECK(flag == 1,
               "round %d: after the barrier, no token from rank %d: expected it sent before "
               "rank %d entered the barrier, so the barrier released this rank too early",
               round, p, p);
      TH_STATUS(st, p, tag, sizeof round, 0);
    }
    for (int p = 0; p < th_size; p++) {
      if (p == th_rank)
        continue;
      int got = -1;
      tubo_status_t st;
      TH_OK(tubo_recv(&got, sizeof got, p, tag, th_world, &st));
      TH_STATUS(st, p, tag, sizeof got, 0);
      TH_EQ("token's round", got, round);
    }
    if (tokens_bcast) {
      int v = th_rank == 0 ? round : -1;
      TH_OK(tubo_bcast(&v, 1, TUBO_INT, 0, th_world));
      TH_EQ("round from rank 0's bcast", v, round);
    }
  }
}

/* Many barriers in a row (the barrier reuses its internal tags every time). */
static void body_repeated(void)
{
  for (int i = 0; i < 500; i++)
    TH_OK(tubo_barrier(th_world));
  /* Still in step: one more token round. */
  int v = th_rank;
  for (int p = 0; p < th_size; p++)
    if (p != th_rank)
      TH_OK(tubo_send(&v, sizeof v, p, 0, th_world));
  TH_OK(tubo_barrier(th_world));
  for (int p = 0; p < th_size; p++) {
    if (p == th_rank)
      continue;
    int flag = 0, got = -1;
    TH_OK(tubo_iprobe(p, 0, th_world, &flag, TUBO_STATUS_IGNORE));
    TH_CHECK(flag == 1, "after 501 barriers, no token from rank %d", p);
    TH_OK(tubo_recv(&got, sizeof got, p, 0, th_world, TUBO_STATUS_IGNORE));
    TH_EQ("token's sender", got, p);
  }
}

/* The barrier's own messages never reach user receives or probes. */
static void body_isolation(void)
{
  tubo_request_t *r = NULL;
  tubo_status_t st;
  int flag = -1;
  TH_OK(tubo_irecv(NULL, 0, TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &r));
  for (int i = 0; i < 20; i++)
    TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_iprobe(TUBO_ANY_SOURCE, TUBO_ANY_TAG, th_world, &flag, &st));
  TH_EQ("iprobe(ANY, ANY) flag after barriers with no user message sent", flag, 0);
  TH_OK(tubo_test(&r, &flag, &st));
  TH_EQ("tubo_test flag of a receive(ANY, ANY) after barriers, no user message sent", flag, 0);
  /* Only now (everyone has tested) a user message completes it. */
  TH_OK(tubo_barrier(th_world));
  int to = (th_rank + 1) % th_size, from = (th_rank - 1 + th_size) % th_size;
  TH_OK(tubo_send(NULL, 0, to, 0, th_world));
  TH_OK(tubo_wait(&r, &st));
  TH_STATUS(st, from, 0, 0, 0);
}

/* The tokens with the waiting policy forced, whatever the machine's cores, and a bcast
 * from rank 0 after each barrier: yielding (where the shared-memory barrier then has rank
 * 0 publish last, once every other rank has) or polling (every rank publishes at once). */
static void tokens_waiting(const char *yield)
{
  tokens_bcast = 1;
  TH_CHECK(setenv("TUBO_YIELD_WHEN_IDLE", yield, 1) == 0, "expected setenv to work");
  th_init_world(NULL, NULL);
  body_tokens();
  TH_OK(tubo_finalize());
}

static void body_tokens_yield(void)
{
  tokens_waiting("1");
}

static void body_tokens_poll(void)
{
  tokens_waiting("0");
}

static const th_body_t bodies[] = {
    {"tokens", body_tokens, 0},
    {"tokens_yield", body_tokens_yield, TH_SELF_INIT},
    {"tokens_poll", body_tokens_poll, TH_SELF_INIT},
    {"repeated", body_repeated, 0},
    {"isolation", body_isolation, 0},
    {NULL, NULL, 0},
};

static Suite *barrier_suite(void)
{
  Suite *s = suite_create("barrier");
  static const int counts[] = {1, 2, 3, 7};
  TCase *tc = th_add_case(s, "tokens", 1, TH_SOLO);
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
    th_add_job(tc, "tokens", counts[i], TH_BOTH);
  th_add_job(tc, "tokens_yield", 2, TH_SHM);
  th_add_job(tc, "tokens_yield", 5, TH_SHM);
  th_add_job(tc, "tokens_poll", 3, TH_SHM);
  tc = th_add_case(s, "repeated", 2, TH_BOTH);
  th_add_job(tc, "repeated", 7, TH_BOTH);
  th_add_case(s, "isolation", 3, TH_BOTH);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, barrier_suite);
}
