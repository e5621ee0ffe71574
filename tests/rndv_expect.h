/* SPDX-License-Identifier: MIT */
/* For the suites' bodies that check which protocol the shm transport chose: the threshold
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

/* What tuborun gave for that kind: its threshold (SIZE_MAX for never), or 0 where it gave
 * none and the rule applies. */
static inline size_t th_rndv_measured(int peer)
{
  const struct tubo__rankctl *a, *b;
  struct tubo__jobctl *c = th_rndv_ctl(peer, &a, &b);
  if (c->rndv_magic != TUBO__RNDV_MAGIC)
    return 0;
  uint64_t v = c->rndv_min[th_rndv_kind(peer)];
  return v == TUBO__RNDV_NEVER ? SIZE_MAX : (size_t)v;
}

#endif /* TUBO_TESTS_RNDV_EXPECT_H */
