/* SPDX-License-Identifier: MIT */
/* Large messages copied by both ranks at once.
 *
 * A send by RTS of at least TUBO_SHM_SPLIT_BYTES (from a buffer in the job's shared heap,
 * or from a private one where single copy is allowed and chosen) names, in its RTS, a
 * control block of the sender's (one of TUBO__SPLIT_SLOTS in a block of the heap the
 * sender owns) instead of the message; the block says where the message lies. The
 * receiver publishes where its buffer lies: its heap offset, or, for a private message,
 * its address. Then both ranks take chunks of TUBO__SPLIT_CHUNK bytes from one claim
 * counter, copy them, and count them in a done counter: each copies from or to the other's
 * private memory with process_vm_readv or process_vm_writev, the heap with memcpy. The
 * receiver takes chunks too, so it finishes alone where the sender does not come (it is
 * busy elsewhere, or asleep); it sends its FIN once every chunk is done, and the sender
 * frees the block when the FIN comes (or its send fails). Where the receiver's buffer is
 * private and the message lies in the heap (the receiver's memcpy outruns the sender's
 * writes), or single copy is denied, the receiver copies the whole message alone. */
#ifndef TUBO_SHM_SPLIT_H
#define TUBO_SHM_SPLIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tubo.h"

/* Default of TUBO_SHM_SPLIT_BYTES: messages of this many bytes or more are split. */
#define TUBO__SHM_SPLIT_DEFAULT ((size_t)512 << 10)

/* Longer messages are split only where TUBO_SHM_SPLIT_LONG says so: by default where the
 * sender's online choice (adapt.h, send.c) found the split faster for the size class.
 * Beyond the caches two cores copying share the memory's bandwidth: on an AMD EPYC host
 * 8 and 16 MiB ran no faster split on a quiet machine and up to 2x slower on a busy one,
 * on an Intel Xeon 2-vCPU VM 8-64 MiB ran twice as fast split (doc/large-messages.md). */
#define TUBO__SPLIT_MAX ((size_t)4 << 20)

/* TUBO_SHM_SPLIT_LONG: messages longer than TUBO__SPLIT_MAX are split never (as up to
 * 4 MiB they always are), always, or where the sender chose it (the default). */
enum { TUBO__SPLIT_LONG_NEVER = 0, TUBO__SPLIT_LONG_ALWAYS = 1, TUBO__SPLIT_LONG_CHOSEN = 2 };

/* Private messages from TUBO__SPLIT_HALVES_MIN bytes to below TUBO_SHM_SPLIT_BYTES are
 * shared in two halves, not chunks from one counter: the front half goes to the rank that
 * claims it first, the back half is always the receiver's. The receiver publishes the
 * buffers of the messages it matched in one pass over the sender's frames
 * (shm_reads_flush) and reads their back halves, the sender writes the front halves it
 * claims with process_vm_writev meanwhile, and the receiver then claims the front halves
 * left (where the sender is at work on them, once it stops taking them:
 * shm_reads_fronts). Each receive completes once its message is in: the receiver waits only for
 * front halves the sender took. Each half of the buffer is written by the same rank message after
 * message, so that a buffer received into again and again (osu_bw's) stays in the caches of the
 * core that writes it: where the two ranks' copies wrote the same buffer by turns they ran slower
 * than one (doc/large-messages.md). A sender that is busy or asleep takes none, and the receiver
 * copies every message whole. */
#define TUBO__SPLIT_HALVES_MIN ((size_t)64 << 10)

/* Where the back half of a message of n bytes shared in halves starts (a whole page). */
static inline size_t tubo__shm_split_front(uint64_t n)
{
  return ((size_t)n / 2) & ~(size_t)4095;
}

/* Control blocks each rank holds at once; a send that finds none free is not split. */
#define TUBO__SPLIT_SLOTS 64
/* The unit both ranks claim (a quarter of a message shorter than four, at least
 * TUBO__SPLIT_CHUNK_MIN). */
#define TUBO__SPLIT_CHUNK     ((size_t)256 << 10)
#define TUBO__SPLIT_CHUNK_MIN ((size_t)32 << 10)
/* The longest message split at all (256 TiB): its chunks (2^30), and the claims past them
 * (one or two per rank and message), stay far below the 32-bit counters' limit. */
#define TUBO__SPLIT_LONGEST ((uint64_t)TUBO__SPLIT_CHUNK << 30)

/* The chunk of a message of n bytes: TUBO__SPLIT_CHUNK, or a quarter of a shorter message
 * (whole pages, at least TUBO__SPLIT_CHUNK_MIN), so that it makes chunks for both ranks.
 * Both ranks compute it from n, which the receiver publishes; tuborun's measurement
 * (tools/protocol.c) splits its single copies with it too. */
static inline size_t tubo__shm_split_chunk(uint64_t n)
{
  if (n >= 4 * TUBO__SPLIT_CHUNK)
    return TUBO__SPLIT_CHUNK;
  size_t c = ((size_t)n / 4 + 4095) & ~(size_t)4095;
  return c < TUBO__SPLIT_CHUNK_MIN ? TUBO__SPLIT_CHUNK_MIN : c;
}

/* The chunks of a message of n bytes. */
static inline uint32_t tubo__shm_split_chunks(uint64_t n)
{
  size_t c = tubo__shm_split_chunk(n);
  return (uint32_t)((n + c - 1) / c);
}

/* Where chunk k of a message of n bytes starts, and its length in *len. */
static inline size_t tubo__shm_split_range(uint64_t n, uint32_t k, size_t *len)
{
  size_t c = tubo__shm_split_chunk(n);
  size_t at = (size_t)k * c;
  *len = n - at < c ? (size_t)(n - at) : c;
  return at;
}

/* TUBO_SHM_SPLIT_BYTES: the size from which messages are split (0: never). Read by the
 * transport at start-up and by tuborun's measurement (tools/protocol.c). */
size_t tubo__shm_split_min(void);

/* TUBO_SHM_SPLIT_LONG (TUBO__SPLIT_LONG_*). Read by the transport at start-up and by
 * tuborun's measurement. */
int tubo__shm_split_long(void);

/* Whether a message of n bytes is split where the setting is split_min: from split_min
 * (not 0) to TUBO__SPLIT_MAX, and longer (to TUBO__SPLIT_LONGEST) where long_ok. */
static inline int tubo__shm_split_wanted(size_t n, size_t split_min, int long_ok)
{
  return split_min != 0 && n >= split_min &&
         (n <= TUBO__SPLIT_MAX || (long_ok && (uint64_t)n <= TUBO__SPLIT_LONGEST));
}

/* Where a control block's message or buffer lies: in the heap (an offset), or in the
 * memory of the rank that publishes it (an address, reached with a single copy). */
#define TUBO__SPLIT_HEAP 1u
#define TUBO__SPLIT_ADDR 2u

/* A control block, in shared memory: every field is checked by the rank that reads it. */
struct tubo__shm_split {
  _Atomic uint64_t src;    /* the sender's: where the message lies (src_at says how) */
  _Atomic uint64_t total;  /* and its length */
  _Atomic uint64_t dst;    /* the receiver's: where its buffer lies (ready says how) */
  _Atomic uint64_t n;      /* and how many bytes go there (at most total) */
  _Atomic uint32_t src_at; /* TUBO__SPLIT_HEAP or TUBO__SPLIT_ADDR */
  _Atomic uint32_t ready;  /* 0, then TUBO__SPLIT_HEAP or _ADDR once dst and n are there */
  _Atomic uint32_t redo;   /* 1 + the chunk the sender counted done but could not copy */
  _Atomic uint32_t halves; /* 1: the message is shared in halves (TUBO__SPLIT_HALVES_MIN) */
  _Atomic uint32_t claim __attribute__((aligned(64))); /* chunks taken */
  _Atomic uint32_t done __attribute__((aligned(64)));  /* chunks copied */
} __attribute__((aligned(64)));

/* A sender's record of its control blocks, in its own memory. */
typedef struct tubo__splits {
  size_t min;                   /* messages of this many bytes or more are split; 0: none */
  int long_mode;                /* TUBO_SHM_SPLIT_LONG: longer than TUBO__SPLIT_MAX */
  struct tubo__shm_split *pool; /* TUBO__SPLIT_SLOTS blocks, NULL until the first split */
  uint64_t pool_off;            /* its offset in the heap */
  uint64_t used;                /* a bit per block in use */
  uint64_t helping;             /* of those, the blocks whose chunks may be left to take */
  uint64_t late;                /* of those, the blocks whose sender chooses whether it helps */
  const unsigned char *src[TUBO__SPLIT_SLOTS]; /* the message, in this rank's memory */
  size_t total[TUBO__SPLIT_SLOTS];
  int peer[TUBO__SPLIT_SLOTS];            /* its receiver (the transport's number) */
  tubo_request_t *req[TUBO__SPLIT_SLOTS]; /* where late: the send, asked when it is ready */
  uint64_t wrote_halves; /* front halves of messages shared in halves it took (tests) */
  uint64_t read_halves;  /* back halves it read with other reads (tests) */
} tubo__splits_t;

struct shm_state;

/* Reads TUBO_SHM_SPLIT_BYTES. */
void tubo__shm_split_init(struct shm_state *s);

/* The transport's split_begin and split_end (transport.h). */
int tubo__shm_split_begin(void *state, int peer, const void *buf, size_t len, tubo_request_t *late,
                          uint64_t *name);
void tubo__shm_split_end(void *state, uint64_t name);

/* The sender's part: copies the chunks left of every split message whose receiver has
 * published its buffer. Returns how many chunks it copied. */
int tubo__shm_split_help(struct shm_state *s);

/* The receiver's part: copies the first n of total bytes of the message the control block
 * at off (from an RTS of peer's) names into dst, with the sender's help where it can reach
 * dst. Returns 0, TUBO_ECORRUPT (the block does not name such a message), TUBO_EPEER (the
 * sender died holding a chunk) or what a single copy returned (tubo__os_peer_read). */
int tubo__shm_split_read(struct shm_state *s, int peer, uint64_t off, void *dst, size_t n,
                         size_t total);

/* The receiver's part of a message shared in halves (TUBO__SPLIT_HALVES_MIN), n bytes from
 * the control block at off (from an RTS of peer's): where the block names such a message,
 * publishes dst for the sender to write into and returns 1 with the block in *cp and the
 * message's address in the sender's memory in *src; 0 where the block is a split in
 * chunks (tubo__shm_split_read takes it); TUBO_ECORRUPT where it names no such message.
 * The receiver then copies the back half (tubo__shm_split_front) and claims the front half
 * (tubo__shm_split_halves_claim) or waits for the sender's copy of it
 * (tubo__shm_split_halves_wait). */
int tubo__shm_split_halves_offer(struct shm_state *s, uint64_t off, void *dst, size_t n,
                                 struct tubo__shm_split **cp, uint64_t *src);

/* Takes the front half of the message of block c for this rank to copy: 1, or 0 where the
 * sender took it. */
static inline int tubo__shm_split_halves_claim(struct tubo__shm_split *c)
{
  return atomic_fetch_add_explicit(&c->claim, 1, memory_order_relaxed) == 0;
}

/* Waits for the sender's copy of the front half of the message of block c (n bytes from
 * src in peer's memory) into dst, and copies it again where the sender could not (not
 * where dst is NULL: the receive is being failed). Returns 0, TUBO_EPEER (the sender died
 * while it copied) or what a single copy returned. */
int tubo__shm_split_halves_wait(struct shm_state *s, int peer, struct tubo__shm_split *c,
                                uint64_t src, void *dst, size_t n);

/* Frees the blocks (at the transport's close; no send is split any more). */
void tubo__shm_split_fini(struct shm_state *s);

#endif /* TUBO_SHM_SPLIT_H */
