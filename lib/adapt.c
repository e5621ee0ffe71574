/* SPDX-License-Identifier: MIT */
/* The online choice between the channel and single copy (adapt.h). */
#include "config.h"

#include <string.h>

#include "adapt.h"

/* The first exploration comes after this many messages of the class. */
#define ADAPT_FIRST 8u

void tubo__adapt_init(tubo__adapt_t *a, int use, uint64_t min_len)
{
  memset(a, 0, sizeof *a);
  a->use = (uint8_t)(use != 0);
  uint64_t run = min_len ? (TUBO__ADAPT_RUN_BYTES + min_len - 1) / min_len : 1;
  if (run < TUBO__ADAPT_RUN_MSGS)
    run = TUBO__ADAPT_RUN_MSGS;
  a->explore = (uint32_t)(1 + TUBO__ADAPT_EXPLORE_RUNS * run);
  a->first = ADAPT_FIRST;
}

int tubo__adapt_pick(tubo__adapt_t *a, uint32_t period)
{
  if (period < TUBO__ADAPT_PERIOD_MIN)
    period = TUBO__ADAPT_PERIOD_MIN;
  uint64_t every = ((uint64_t)period * a->explore) << a->backoff;
  a->picked++;
  if (a->first > 0) {
    /* The first exploration comes right after the first few messages. */
    if (--a->first == 0)
      a->count = (uint32_t)(every - a->explore);
    return a->use;
  }
  if (a->count >= every) /* the period got shorter: a close exploration ended the backoff */
    a->count = 0;
  uint64_t phase = a->count++;
  if (a->count >= every)
    a->count = 0;
  if (phase >= every - a->explore) {
    a->explored++;
    return !a->use;
  }
  return a->use;
}

double tubo__adapt_rate(const tubo__adapt_t *a, int proto, uint64_t now)
{
  double v[TUBO__ADAPT_KEEP];
  int n = 0;
  for (int i = 0; i < TUBO__ADAPT_KEEP; i++) {
    const tubo__adapt_sample_t *s = &a->s[proto][i];
    if (s->rate > 0 && now - s->now <= TUBO__ADAPT_AGE_NS)
      v[n++] = s->rate;
  }
  double best = 0, second = 0;
  for (int i = 0; i < n; i++) {
    if (v[i] > best) {
      second = best;
      best = v[i];
    } else if (v[i] > second) {
      second = v[i];
    }
  }
  return n > 1 ? second : best;
}

int tubo__adapt_sample(tubo__adapt_t *a, int proto, uint64_t bytes, uint64_t ns, uint64_t now)
{
  if (ns == 0 || bytes == 0)
    return 0;
  proto = proto != 0;
  tubo__adapt_sample_t *s = &a->s[proto][a->next[proto]];
  s->rate = (double)bytes / (double)ns;
  s->now = now;
  a->next[proto] = (uint8_t)((a->next[proto] + 1) % TUBO__ADAPT_KEEP);
  double in_use = tubo__adapt_rate(a, a->use, now), other = tubo__adapt_rate(a, !a->use, now);
  if (in_use <= 0 || other <= 0)
    return 0;
  if (other * 8 > in_use * TUBO__ADAPT_SWITCH_8THS) {
    a->use = (uint8_t)!a->use;
    a->backoff = 0;
    a->count = 0; /* a new period: the next exploration tries the old protocol again */
    a->switches++;
    return 1;
  }
  /* An exploration that lost clearly: the next comes later, so that exploring a protocol
   * much slower than the one in use costs little. A close one keeps the period. */
  if (proto != a->use) {
    if (other * TUBO__ADAPT_SWITCH_8THS < in_use * 8) {
      if (a->backoff < TUBO__ADAPT_BACKOFF_MAX)
        a->backoff++;
    } else {
      a->backoff = 0;
    }
  }
  return 0;
}

int tubo__adapt_pick_split(tubo__adapt_t *a, tubo__adapt_t *split, uint32_t period, uint64_t now)
{
  if (a->use == TUBO__ADAPT_CMA) {
    split->try_left = 0;
    return tubo__adapt_pick(split, period);
  }
  if (split->try_left == 0) {
    double other = tubo__adapt_rate(split, !split->use, now);
    double in_use = tubo__adapt_rate(split, split->use, now);
    int way = split->use;
    if (other <= 0 || (in_use > 0 && other > in_use))
      way = !split->use;
    split->try_way = (uint8_t)way;
    split->try_left = a->explore;
  }
  split->try_left--;
  return split->try_way;
}

int tubo__adapt_sample_way(tubo__adapt_t *a, tubo__adapt_t *split, int way, uint64_t bytes,
                           uint64_t ns, uint64_t now)
{
  if (way == TUBO__ADAPT_WAY_CHAN || split == NULL)
    return tubo__adapt_sample(a, way != TUBO__ADAPT_WAY_CHAN, bytes, ns, now);
  int s = way == TUBO__ADAPT_WAY_SPLIT;
  if (tubo__adapt_sample(split, s, bytes, ns, now)) {
    /* Single copy now goes the other way: what the class knows of it is that way's. */
    memcpy(a->s[TUBO__ADAPT_CMA], split->s[split->use], sizeof a->s[TUBO__ADAPT_CMA]);
    a->next[TUBO__ADAPT_CMA] = split->next[split->use];
    return 0;
  }
  if (a->use == TUBO__ADAPT_CHAN || s == split->use)
    return tubo__adapt_sample(a, TUBO__ADAPT_CMA, bytes, ns, now);
  return 0;
}

int tubo__adapt_track_done(tubo__adapt_track_t *t, uint32_t seq, int proto, int cls, int ok,
                           uint64_t len, uint64_t start, uint64_t now, uint64_t *bytes,
                           uint64_t *ns)
{
  const unsigned k = TUBO__ADAPT_TRACK, prev = (seq - 1u) % k;
  int after_same = seq > 0 && t->done[prev].seq == seq && t->done[prev].proto == proto;
  uint64_t prev_at = t->done[prev].at;
  /* Over a later message's record, where one completes that long after it: that one's
   * successor then makes no sample, a loss of one. */
  t->done[seq % k].seq = seq + 1;
  t->done[seq % k].proto = (uint8_t)proto;
  t->done[seq % k].at = now;
  /* A message queued behind the one before it measures the pair's pace, as does one that
   * waited for room. */
  ok = ok || (after_same && start < prev_at);
  uint64_t begin = start > prev_at ? start : prev_at;
  int more = t->run_open && t->run_proto == proto && t->run_cls == cls && t->run_last == seq - 1;
  /* A run begins only at a message whose time says something, but goes on through one
   * that found room in a ring the run keeps full. */
  if (!after_same || (!ok && !more)) {
    t->run_open = 0;
    return 0;
  }
  if (more) {
    t->run_bytes += len;
    t->run_n++;
  } else {
    t->run_n = 1;
    t->run_open = 1;
    t->run_proto = proto;
    t->run_cls = cls;
    t->run_begin = begin;
    t->run_bytes = len;
  }
  t->run_last = seq;
  if (t->run_bytes < TUBO__ADAPT_RUN_BYTES || t->run_n < TUBO__ADAPT_RUN_MSGS)
    return 0;
  t->run_open = 0;
  /* A run seen complete faster than any copy runs was seen in one go (the sender polled
   * after all of it was done, having slept or copied meanwhile): its time is the sender's
   * polls', not the protocol's. */
  if (now <= t->run_begin || (now - t->run_begin) * TUBO__ADAPT_MAX_RATE < t->run_bytes)
    return 0;
  *bytes = t->run_bytes;
  *ns = now - t->run_begin;
  return 1;
}
