/* SPDX-License-Identifier: MIT */
/* CSP channels in shared memory (channel_core.c): the layout, and the engine that reads,
 * writes and alternates over channels a heap this process maps holds. The public channel
 * (channel.c) is this, or, where ranks share no memory, calls to a home rank that runs
 * the engine for them (channel_served.c).
 *
 *   channel block:  identity, capacity | lock | state | waiting readers, waiting writers |
 *                   ring of capacity message offsets
 *   message blocks: identity, length | bytes
 *   waiter blocks:  identity, state, pid, futex word, what fired | one entry per guard
 *   end blocks:     identity, reading or writing, retired, next end of the channel
 *
 * The design is Go's select, over processes: every channel has a robust lock
 * (patterns/lock.h) and two queues of waiting guards. An Alternation (and a plain read or
 * write, an Alternation of one guard) locks all its channels in offset order, performs
 * the first ready guard (a message in the ring or a waiting writer to read; a waiting
 * reader or room in the ring to write), or else links one entry per guard into the
 * channels' queues, unlocks, and sleeps on its waiter's futex word. A process that finds
 * an entry to match claims its waiter with a compare-and-swap of the waiter's state (an
 * Alternation waiting on several channels is claimed once), hands the message over, and
 * wakes it; the woken process locks its channels again to unlink its other entries. A
 * message is a heap block written whole before anyone can see it, and changes hands as
 * an offset under a lock: it is read once, whole, or not at all. */
#ifndef TUBO_PATTERNS_CHANNEL_H
#define TUBO_PATTERNS_CHANNEL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "patterns/lock.h"
#include "patterns/objheap.h"
#include "patterns/objwait.h"
#include "tubo.h"

#define CHAN_LINE    64u
#define CHAN_ID_CHAN 0xc4a1ull
#define CHAN_ID_MSG  0xc4a5ull
#define CHAN_ID_WAIT 0xc4a7ull
#define CHAN_ID_END  0xc4aeull

/* Retired: by its readers (every reading end retired), by its writers. */
#define CHAN_RETIRED_R 1u
#define CHAN_RETIRED_W 2u

typedef struct chan_shared {
  _Atomic uint64_t ident;
  uint64_t capacity; /* ring slots; 0: synchronous */
  alignas(CHAN_LINE) tubo__lock_t lock;
  /* Under the lock: */
  _Atomic uint32_t poisoned;
  _Atomic uint32_t retired;                    /* CHAN_RETIRED_ bits */
  _Atomic uint32_t readers, writers;           /* ends made */
  _Atomic uint32_t readers_left, writers_left; /* ends retired */
  _Atomic uint64_t ring_pos;                   /* first slot (32 bits) | messages (32 bits) */
  _Atomic uint64_t recvq[2], sendq[2];         /* first and last entry of each queue */
  _Atomic uint64_t ends;                       /* the first end block */
  alignas(CHAN_LINE) _Atomic uint64_t ring[];  /* message offsets */
} chan_shared_t;

typedef struct chan_msg {
  _Atomic uint64_t ident;
  _Atomic uint64_t len;
  unsigned char data[];
} chan_msg_t;

/* One guard of a waiting Alternation, linked into its channel's queue. */
typedef struct chan_entry {
  _Atomic uint64_t next;   /* the next entry of the queue, 0 for none */
  _Atomic uint64_t waiter; /* its waiter block */
  _Atomic uint64_t chan;   /* its channel block */
  _Atomic uint64_t msg;    /* an output guard's message */
  _Atomic uint32_t guard;  /* its index in the Alternation */
  _Atomic uint32_t linked; /* in its channel's queue */
} chan_entry_t;

/* A waiter's states: waiting; being claimed (by a match, a poison, a retirement: the
 * claimer writes what fired); done (what fired is written); withdrawn (by its own process,
 * which gave up waiting). Only the waiting state is left by a compare-and-swap, so a
 * waiter is claimed once. */
enum { CHAN_WAITING = 0, CHAN_CLAIMING = 1, CHAN_DONE = 2, CHAN_WITHDRAWN = 3 };

/* A waiter block belongs to one process, which reuses it for its waits and never frees
 * it: a claimer may wake it after releasing the channel's lock, when its owner may
 * already be waiting for something else (a spurious wake-up), never on freed memory. */
typedef struct chan_waiter {
  _Atomic uint64_t ident;
  _Atomic uint32_t state;
  uint32_t pid;
  tubo__objwait_t wake;
  _Atomic uint32_t fired; /* the guard that fired */
  _Atomic int32_t rc;     /* 0, TUBO_EPOISON, TUBO_ERETIRED */
  _Atomic uint64_t msg;   /* an input guard's message, handed over */
  uint32_t nentries;      /* entries of this wait */
  uint32_t cap;           /* entries the block has room for */
  chan_entry_t entry[];
} chan_waiter_t;

typedef struct chan_end {
  _Atomic uint64_t ident;
  _Atomic uint32_t writer; /* 1: a writing end, 0: a reading one */
  _Atomic uint32_t retired;
  _Atomic uint64_t next;
} chan_end_t;

/* Most ring slots. */
#define TUBO__CHAN_CAP_MAX ((uint64_t)1 << 32)

/* A channel in a heap this process maps. */
typedef struct tubo__ccore {
  tubo__objheap_t mem;
  uint64_t off;
  chan_shared_t *sh;
  uint64_t capacity; /* what the maker asked for (the header's, once checked) */
} tubo__ccore_t;

/* Header bytes of a channel of capacity slots (0 when impossible). */
size_t tubo__ccore_bytes(uint64_t capacity);
int tubo__ccore_make(const tubo__objheap_t *mem, uint64_t capacity, tubo__ccore_t *c);
int tubo__ccore_make_at(const tubo__objheap_t *mem, uint64_t off, uint64_t capacity,
                        tubo__ccore_t *c);
int tubo__ccore_attach(const tubo__objheap_t *mem, uint64_t off, tubo__ccore_t *c);
int tubo__ccore_check(const tubo__ccore_t *c);
/* Frees its messages and ends (the last user, nobody waiting); destroy the header too. */
void tubo__ccore_empty(tubo__ccore_t *c);
void tubo__ccore_destroy(tubo__ccore_t *c);

/* A new end (writer 1 or 0): its block's offset in *end. */
int tubo__ccore_join(tubo__ccore_t *c, int writer, uint64_t *end);
/* Retires the end at end: 0, or TUBO_ERETIRED when it was already. */
int tubo__ccore_retire(tubo__ccore_t *c, uint64_t end);
/* Whether the end at end has retired: 1, 0, or TUBO_ECORRUPT. */
int tubo__ccore_end_retired(const tubo__ccore_t *c, uint64_t end);
int tubo__ccore_poison(tubo__ccore_t *c);

/* A message block holding len bytes of data. */
int tubo__ccore_msg_new(const tubo__objheap_t *mem, const void *data, size_t len, uint64_t *off);
/* The message at off, checked: its bytes and length. */
const chan_msg_t *tubo__ccore_msg_at(const tubo__objheap_t *mem, uint64_t off, size_t *len);

/* An Alternation in the engine: its guards, resolved to channels of one heap. */
typedef struct tubo__calt_guard {
  int kind;         /* TUBO_GUARD_ */
  tubo__ccore_t *c; /* INPUT, OUTPUT */
  uint64_t msg;     /* OUTPUT: the message block to write */
  int timeout_ms;   /* TIMEOUT */
} tubo__calt_guard_t;

struct chan_pooled;

typedef struct tubo__calt {
  tubo__calt_guard_t *g;
  size_t n;
  size_t start;          /* the guard tried first (fair choice); then the following ones */
  tubo__ccore_t **locks; /* the distinct channels, in lock order */
  size_t nlocks;
  struct chan_pooled *waiter; /* posted: this process's waiter block it waits in */
  /* The outcome: */
  size_t chosen;
  int rc;       /* 0, TUBO_EPOISON, TUBO_ERETIRED, TUBO_ETIMEDOUT (the timeout guard) */
  uint64_t msg; /* an input guard's message, now the caller's to read and free */
} tubo__calt_t;

/* Prepares a (g and n set): the lock order. Returns 0, TUBO_ENOMEM, TUBO_ENOTSUP (the
 * channels are in different heaps). */
int tubo__calt_prepare(tubo__calt_t *a);
/* Tries every guard in order, once, under the channels' locks. Returns 1 with the outcome
 * set when one was ready (or, with no post, a timeout guard of 0 and none was); else with
 * post set links a waiter into the channels and returns 0 (a->waiter set); with post
 * clear returns 0. Or an error (TUBO_ESHM, TUBO_ECORRUPT). */
int tubo__calt_try(tubo__calt_t *a, int post);
/* Whether the posted waiter was claimed (its claimer may still be writing what fired:
 * tubo__calt_finish waits for that). */
int tubo__calt_claimed(const tubo__calt_t *a);
/* The posted waiter's futex word, to sleep on. */
tubo__objwait_t *tubo__calt_wake_word(const tubo__calt_t *a);
/* Ends a posted Alternation: with give_up set, withdraws it unless it was claimed meanwhile
 * (the outcome is then rc TUBO_ETIMEDOUT, chosen unset); unlinks its entries and gives its
 * waiter back; sets the outcome. Returns 0, TUBO_ECORRUPT, or TUBO_EPEER when the process
 * that claimed it died before it said what fired (what it handed over is lost). */
int tubo__calt_finish(tubo__calt_t *a, int give_up);
/* Frees the output guards' messages that were not written, and the prepared lock order. */
void tubo__calt_release(tubo__calt_t *a);

/* Fault injection for tests: when set, called at each step below (tests/check_channel.c
 * kills the process there, to show that a process dying at any step leaves the channel
 * usable). NULL otherwise. */
enum tubo__chan_step {
  TUBO__CHAN_S_LOCKED = 1, /* an Alternation holds its channels' locks */
  TUBO__CHAN_S_POSTED,     /* ... has linked its entries, not yet released the locks */
  TUBO__CHAN_S_CLAIMED,    /* a claimer claimed a waiter, not yet said what fired */
  TUBO__CHAN_S_END
};
extern void (*tubo__chan_step_hook)(enum tubo__chan_step step);

/* ---- The public handle (channel.c) ---- */

#include <sys/types.h>

#include "patterns/objmem.h"

typedef struct tubo__chan_srv tubo__chan_srv_t;

/* What a handle may do. */
enum { CH_BOTH = 0, CH_READER = 1, CH_WRITER = 2 };

struct tubo_channel {
  tubo__ccore_t core;    /* the channel, where this process maps it (srv NULL) */
  int dir;               /* CH_ */
  uint64_t end;          /* an end: its block (its offset at the home where served) */
  int own;               /* the channel's own handle (not an end) */
  pid_t owner;           /* made for processes: the maker, whose free destroys it */
  tubo__objmem_t mem;    /* opened on comm in the job's heap: the header block */
  tubo_comm_t *comm;     /* opened on comm */
  tubo__chan_srv_t *srv; /* the ranks share no memory: rank 0 holds it */
};

#endif /* TUBO_PATTERNS_CHANNEL_H */
