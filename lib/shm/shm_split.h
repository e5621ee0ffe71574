/* SPDX-License-Identifier: MIT */
/* Large messages from the shared heap copied by both ranks at once.
 *
 * A send of at least TUBO_SHM_SPLIT_BYTES from a buffer in the job's shared heap names, in
 * its RTS, a control block of the sender's (one of TUBO__SPLIT_SLOTS in a block of the heap
 * the sender owns) instead of the message. The receiver, where its buffer lies in the heap
 * too, publishes the buffer's offset there; then both ranks take chunks of
 * TUBO__SPLIT_CHUNK bytes from one claim counter, copy them, and count them in a done
 * counter. The receiver takes chunks too, so it finishes alone where the sender does not
 * come (it is busy elsewhere, or asleep); it sends its FIN once every chunk is done, and the
 * sender frees the block when the FIN comes (or its send fails). Where the receiver's
 * buffer is private, it copies the whole message as it would without a control block. */
#ifndef TUBO_SHM_SPLIT_H
#define TUBO_SHM_SPLIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Default of TUBO_SHM_SPLIT_BYTES: messages of this many bytes or more are split. */
#define TUBO__SHM_SPLIT_DEFAULT ((size_t)512 << 10)

/* Longer messages are not split: beyond the caches, two cores copying share the memory's
 * bandwidth, and on the 2-vCPU VM of doc/benchmarks.md 8 and 16 MiB ran no faster split
 * on a quiet machine and up to 2x slower on a busy one (doc/large-messages.md). */
#define TUBO__SPLIT_MAX ((size_t)4 << 20)

/* Control blocks each rank holds at once; a send that finds none free is not split. */
#define TUBO__SPLIT_SLOTS 64
/* The unit both ranks claim (a quarter of a message shorter than four, at least
 * TUBO__SPLIT_CHUNK_MIN). */
#define TUBO__SPLIT_CHUNK     ((size_t)256 << 10)
#define TUBO__SPLIT_CHUNK_MIN ((size_t)32 << 10)

/* A control block, in shared memory: every field is checked by the rank that reads it. */
struct tubo__shm_split {
  _Atomic uint64_t src_off; /* the sender's: where the message lies in the heap */
  _Atomic uint64_t total;   /* and its length */
  _Atomic uint64_t dst_off; /* the receiver's: where its buffer lies in the heap */
  _Atomic uint64_t n;       /* and how many bytes go there (at most total) */
  _Atomic uint32_t ready;   /* 1 once dst_off and n are there */
  uint32_t pad;
  _Atomic uint32_t claim __attribute__((aligned(64))); /* chunks taken */
  _Atomic uint32_t done __attribute__((aligned(64)));  /* chunks copied */
} __attribute__((aligned(64)));

/* A sender's record of its control blocks, in its own memory. */
typedef struct tubo__splits {
  size_t min;                   /* messages of this many bytes or more are split; 0: none */
  struct tubo__shm_split *pool; /* TUBO__SPLIT_SLOTS blocks, NULL until the first split */
  uint64_t pool_off;            /* its offset in the heap */
  uint64_t used;                /* a bit per block in use */
  uint64_t helping;             /* of those, the blocks whose chunks may be left to take */
  const unsigned char *src[TUBO__SPLIT_SLOTS]; /* the message, in this rank's memory */
  size_t total[TUBO__SPLIT_SLOTS];
  int peer[TUBO__SPLIT_SLOTS]; /* its receiver (the transport's number) */
} tubo__splits_t;

struct shm_state;

/* Reads TUBO_SHM_SPLIT_BYTES. */
void tubo__shm_split_init(struct shm_state *s);

/* The transport's split_begin and split_end (transport.h). */
int tubo__shm_split_begin(void *state, int peer, const void *buf, size_t len, uint64_t *name);
void tubo__shm_split_end(void *state, uint64_t name);

/* The sender's part: copies the chunks left of every split message whose receiver has
 * published its buffer. Returns how many chunks it copied. */
int tubo__shm_split_help(struct shm_state *s);

/* The receiver's part: copies the first n of total bytes of the message the control block
 * at off (from an RTS of peer's) names into dst, with the sender's help where dst lies in
 * the heap. Returns 0, TUBO_ECORRUPT (the block does not name such a message) or
 * TUBO_EPEER (the sender died holding a chunk). */
int tubo__shm_split_read(struct shm_state *s, int peer, uint64_t off, void *dst, size_t n,
                         size_t total);

/* Frees the blocks (at the transport's close; no send is split any more). */
void tubo__shm_split_fini(struct shm_state *s);

#endif /* TUBO_SHM_SPLIT_H */
