/* SPDX-License-Identifier: MIT */
/* For the suites' bodies that check which protocol the shm transport chose: the choice
 * tuborun handed the ranks for the kind of pair this rank and peer form (tools/protocol.h),
 * from the job control block as the ranks read it. */
#ifndef TUBO_TESTS_RNDV_EXPECT_H
#define TUBO_TESTS_RNDV_EXPECT_H

#include <stdint.h>

#include "shm/shm_state.h"
#include "world.h"

/* The job control block of the shm transport that reaches world rank peer, with this
 * rank's and the peer's records. */
static inline struct tubo__jobctl *th_rndv_ctl(int peer, const struct tubo__rankctl **me,
                                               const struct tubo__rankctl **other)
{
  shm_state_t *s = tubo__tp_state_of(tubo__world, peer);
  *me = s->me;
  *other = tubo__jobctl_rank(s->ctl, (uint32_t)tubo__tp_index_of(tubo__world, peer));
  return s->ctl;
}

/* The kind of pair (TUBO__PAIR_*) this rank forms with peer, as the transport sees it. */
static inline int th_rndv_kind(int peer)
{
  const struct tubo__rankctl *a, *b;
  (void)th_rndv_ctl(peer, &a, &b);
  return tubo__pair_kind(a->l2, a->l3, a->package, b->l2, b->l3, b->package);
}

/* What tuborun gave for that kind: its choice (jobctl.h: TUBO__RNDV_KNOWN | the size classes
 * that go by single copy), or 0 where it gave none and the rule applies. */
static inline uint32_t th_rndv_measured(int peer)
{
  const struct tubo__rankctl *a, *b;
  struct tubo__jobctl *c = th_rndv_ctl(peer, &a, &b);
  if (c->rndv_magic != TUBO__RNDV_MAGIC)
    return 0;
  uint32_t v = c->rndv_cma[th_rndv_kind(peer)];
  return v & TUBO__RNDV_KNOWN ? v : 0;
}

/* The smallest message that a choice sends by single copy: the smallest measured size at
 * which single copy won, SIZE_MAX where it won at none. */
static inline size_t th_rndv_min_of(uint32_t cma)
{
  for (int i = 0; i < TUBO__RNDV_NSIZES; i++)
    if (cma & (1u << i))
      return TUBO__RNDV_SIZE(i);
  return SIZE_MAX;
}

/* Whether a choice sends a message of len bytes by single copy: that of the largest measured
 * size not above len. */
static inline int th_rndv_single(uint32_t cma, size_t len)
{
  int c = -1;
  for (int i = 0; i < TUBO__RNDV_NSIZES; i++)
    if (len >= TUBO__RNDV_SIZE(i))
      c = i;
  return c >= 0 && (cma & (1u << c));
}

#endif /* TUBO_TESTS_RNDV_EXPECT_H */
