/* SPDX-License-Identifier: MIT */
/* Choosing online, per peer and size class, which of two protocols carries large messages
 * (the channel or single copy) from the rates the sender observes.
 *
 * Pure functions over small structs, no clock and no world: the caller times its messages
 * and says what it saw, so that tests drive them with made-up timings.
 *
 * A message's time is the time it spent as the head of the pair's traffic: from the later
 * of its start and the completion of the message sent before it to that peer, to its own
 * completion. One message's time is not a rate: the sender sees completions when it polls,
 * often several at once (the FINs of single copies that came while it slept), so a sample
 * is a run of consecutive messages of one protocol and class, TUBO__ADAPT_RUN_BYTES and
 * TUBO__ADAPT_RUN_MSGS or more, over the time from the first's head to the last's completion
 * (tubo__adapt_track_done). A run ends at a message after one of the other protocol: that
 * one shares the receiver with the message before, and its time says nothing of its own
 * protocol. So an exploration sends TUBO__ADAPT_EXPLORE_RUNS runs of the other protocol,
 * and one message more. */
#ifndef TUBO_ADAPT_H
#define TUBO_ADAPT_H

#include <stddef.h>
#include <stdint.h>

enum { TUBO__ADAPT_CHAN = 0, TUBO__ADAPT_CMA = 1 };

/* The second choice, for single copies longer than TUBO__ADAPT_SPLIT_FROM (which the shared
 * memory transport splits up to, TUBO__SPLIT_MAX): whole, or split between both ranks. It
 * is made with the same functions, over the same classes, from samples of single copies
 * only. */
enum { TUBO__ADAPT_WHOLE = 0, TUBO__ADAPT_SPLIT = 1 };
#define TUBO__ADAPT_SPLIT_FROM ((uint64_t)4 << 20)

/* A timed message's way, as its runs are told apart: the channel, single copy whole, and
 * single copy split. */
enum { TUBO__ADAPT_WAY_CHAN = 0, TUBO__ADAPT_WAY_WHOLE = 1, TUBO__ADAPT_WAY_SPLIT = 2 };

/* The classes of sizes it chooses for: each power of two from 64 KiB up to the next,
 * [64 KiB, 128 KiB) to [16 MiB, 32 MiB), then every longer message. Finer than the four
 * sizes tuborun measures (jobctl.h), each within one of those, so that a choice finds
 * where the protocols really cross and starts from what tuborun gave. */
#define TUBO__ADAPT_CLASSES 10
#define TUBO__ADAPT_MIN     ((uint64_t)64 << 10)

/* The class of a message of len bytes, or -1 below TUBO__ADAPT_MIN. */
static inline int tubo__adapt_class(uint64_t len)
{
  if (len < TUBO__ADAPT_MIN)
    return -1;
  int c = 0;
  while (c + 1 < TUBO__ADAPT_CLASSES && len >= (TUBO__ADAPT_MIN << (c + 1)))
    c++;
  return c;
}

/* The shortest message of class c. */
static inline uint64_t tubo__adapt_class_min(int c)
{
  return TUBO__ADAPT_MIN << c;
}

/* Samples kept per protocol; the estimate is the second best of them (the best where there
 * is one): a run the sender spent descheduled looks slow, which a loaded machine does
 * often, and one outlier the other way is passed over. */
#define TUBO__ADAPT_KEEP 4
/* A sample older than this no longer counts: the host may have changed state since. */
#define TUBO__ADAPT_AGE_NS 2000000000ull
/* The other protocol must be this much faster (in 1/8ths: 9/8) before the class switches. */
#define TUBO__ADAPT_SWITCH_8THS 9
/* Bytes and messages a run takes to make a sample: two messages at least, so that the
 * sender's lag in seeing a completion is shared by both. */
#define TUBO__ADAPT_RUN_BYTES ((uint64_t)1 << 20)
#define TUBO__ADAPT_RUN_MSGS  2u
/* Runs of samples one exploration makes: as many as the estimate keeps, so that its
 * estimate of the other protocol is the second best of its own, as that of the protocol
 * in use (a protocol explored with fewer would be judged by its worse sample, and lose
 * whenever the sender was descheduled during one). */
#define TUBO__ADAPT_EXPLORE_RUNS 4u
/* Bytes per nanosecond no copy between two processes reaches (200 GB/s): a run seen
 * faster was seen complete in one go, and makes no sample. */
#define TUBO__ADAPT_MAX_RATE 200u
/* One exploration in every this many by default (the rest use the protocol in use), and
 * the fewest a setting may ask for. An exploration is tubo__adapt_explore_len messages. */
#define TUBO__ADAPT_PERIOD_DEFAULT 64u
#define TUBO__ADAPT_PERIOD_MIN     2u
/* An exploration whose protocol lost clearly comes back at most 4x less often. */
#define TUBO__ADAPT_BACKOFF_MAX 2

typedef struct tubo__adapt_sample {
  double rate;  /* bytes per nanosecond; 0: none */
  uint64_t now; /* when it was taken */
} tubo__adapt_sample_t;

/* One size class of one peer. */
typedef struct tubo__adapt {
  tubo__adapt_sample_t s[2][TUBO__ADAPT_KEEP];
  uint8_t next[2];   /* where each protocol's next sample goes */
  uint8_t use;       /* the protocol in use */
  uint8_t backoff;   /* explorations come every period << backoff explorations' worth */
  uint32_t explore;  /* messages of one exploration: TUBO__ADAPT_EXPLORE_RUNS runs, one more */
  uint32_t count;    /* messages picked in the current period */
  uint32_t first;    /* messages still to pick before the first exploration */
  uint64_t picked;   /* messages picked */
  uint64_t explored; /* of them, sent with the other protocol to measure it */
  uint32_t switches; /* times the class changed protocol */
  /* As a choice of split or whole: the way of an exploration of single copy made from the
   * channel (tubo__adapt_pick_split), and its messages left. */
  uint8_t try_way;
  uint32_t try_left;
} tubo__adapt_t;

/* Starts a class of messages of at least min_len bytes on protocol use. Its first
 * exploration comes after a few messages, so that a wrong start is found early. */
void tubo__adapt_init(tubo__adapt_t *a, int use, uint64_t min_len);

/* The protocol for the next message of the class: the one in use, or, for an
 * exploration's explore messages of every period explorations' worth (period << backoff
 * once an exploration lost clearly), the other. */
int tubo__adapt_pick(tubo__adapt_t *a, uint32_t period);

/* Records that a message of bytes went by protocol proto in ns nanoseconds, seen at time
 * now, and switches the class when the other protocol's estimate beats the one in use by
 * TUBO__ADAPT_SWITCH_8THS/8. Returns 1 when it switched, else 0. */
int tubo__adapt_sample(tubo__adapt_t *a, int proto, uint64_t bytes, uint64_t ns, uint64_t now);

/* For a message of class a longer than TUBO__ADAPT_SPLIT_FROM that tubo__adapt_pick sent
 * by single copy, at time now (when its receiver is ready for it, send.c, so that the
 * later messages of a window posted at once see the samples of its earlier ones): whether
 * it goes split (1) or whole (0), split being the class's choice of the two. Where the
 * class uses single copy, that choice picks (and explores); where it uses the channel, the
 * message is part of an exploration of single copy, all of which goes one way: the way
 * that choice has no current estimate of (the one it does not use first), else the way it
 * estimates faster. A class started on the channel thus measures the split too (its whole
 * single copy may lose where the split would win). */
int tubo__adapt_pick_split(tubo__adapt_t *a, tubo__adapt_t *split, uint32_t period, uint64_t now);

/* Records a run's sample that went by way (TUBO__ADAPT_WAY_*) in class a, as
 * tubo__adapt_sample, and, where split is not NULL (single copies of the run could go
 * split or whole), a single copy's in the class's choice split too. Class a learns of a
 * single copy only the way in use (the other way's explorations would drag its estimate
 * down and move it to the channel on a way not used), or, where a uses the channel, every
 * way (its explorations of single copy); where the choice switches way, a's estimate of
 * single copy becomes that of the new way. Returns 1 where a switched protocol. */
int tubo__adapt_sample_way(tubo__adapt_t *a, tubo__adapt_t *split, int way, uint64_t bytes,
                           uint64_t ns, uint64_t now);

/* Protocol proto's estimate at time now in bytes per nanosecond (GB/s): the second best of
 * its samples not older than TUBO__ADAPT_AGE_NS (the best where there is only one), 0
 * where there is none. */
double tubo__adapt_rate(const tubo__adapt_t *a, int proto, uint64_t now);

/* The order of a pair's timed messages: each gets a sequence number when it starts, and
 * their completions are kept for a few, so that the next one knows when it became the
 * head of the pair's traffic; and the run of messages being timed. */
#define TUBO__ADAPT_TRACK 16
typedef struct tubo__adapt_track {
  uint32_t seq; /* timed messages started */
  struct {
    uint32_t seq; /* whose completion this is (+1: 0 means none) */
    uint8_t proto;
    uint64_t at;
  } done[TUBO__ADAPT_TRACK];
  int run_open; /* a run is being timed: */
  int run_proto, run_cls;
  uint32_t run_last; /* its last message */
  uint32_t run_n;    /* its messages */
  uint64_t run_begin, run_bytes;
} tubo__adapt_track_t;

/* Numbers a timed message as it starts. */
static inline uint32_t tubo__adapt_track_start(tubo__adapt_track_t *t)
{
  return t->seq++;
}

/* Whether the timed message started last has not completed yet: one starting now is then
 * queued behind it, and its time counts from that one's completion whatever its start
 * (tubo__adapt_track_done), which the caller need not read the clock for (0 will do). */
static inline int tubo__adapt_track_behind(const tubo__adapt_track_t *t)
{
  return t->seq > 0 && t->done[(t->seq - 1u) % TUBO__ADAPT_TRACK].seq != t->seq;
}

/* Records the completion at time now of message seq of len bytes and class cls, started at
 * time start, that went by proto (a TUBO__ADAPT_WAY_*: a run is of one way). ok is 0 where its time
 * may say nothing of its protocol (a message through the channel that never waited for room: it may
 * have gone into an empty ring at the speed of one copy); such a message counts where it was queued
 * behind the one before it (it started before that one completed), else it begins no run, but goes
 * on with one. Returns 1 where it ends a run that makes a sample: its bytes in *bytes, its time in
 * nanoseconds in *ns; else 0. */
int tubo__adapt_track_done(tubo__adapt_track_t *t, uint32_t seq, int proto, int cls, int ok,
                           uint64_t len, uint64_t start, uint64_t now, uint64_t *bytes,
                           uint64_t *ns);

#endif /* TUBO_ADAPT_H */
