/* SPDX-License-Identifier: MIT */
/* One direction of a pipe in shared memory: a single-producer single-consumer ring of
 * framed records.
 *
 * The ring is a power-of-two number of bytes cut into 64-byte lines. A record starts on a
 * line: a 24-byte header (stamp, kind, chunk length, message length) and its payload, and
 * never wraps around the end of the ring. A message is a HEAD record (it carries the
 * message's total length and its first bytes) followed by CONT records until every byte
 * came, so a message of any length streams through a ring of any size.
 *
 * The writer fills a record, then stores its stamp (its position / 64 + 1) last; the
 * reader polls the stamp at its position only. Before publishing, the writer also looks
 * at the word where the next record will start and clears it if an earlier lap's payload
 * left there the very stamp the reader will wait for, so the reader never mistakes
 * payload for a record. The reader publishes how far it has read (rpos); the writer
 * reads it only when its last copy says the ring is full.
 *
 * Nothing here is a pointer; everything read from shared memory is checked before use:
 * a record must lie inside the ring and its lengths must agree with the message, or the
 * call returns TUBO_ECORRUPT. */
#ifndef TUBO_PATTERNS_PIPE_RING_H
#define TUBO_PATTERNS_PIPE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TUBO__PIPE_LINE 64u
/* The record header: stamp, kind, chunk, total. */
#define TUBO__PIPE_HDR 24u
/* Smallest and largest ring (bytes, powers of two). */
#define TUBO__PIPE_RING_MIN 4096u
#define TUBO__PIPE_RING_MAX (64u << 20)

enum { TUBO__PIPE_REC_HEAD = 1, TUBO__PIPE_REC_CONT = 2 };

/* The shared positions of one ring, each on its own line: the writer's line is read by
 * no one else while things go well, the reader's only when the writer finds no room. */
typedef struct tubo__pipe_ring_ctl {
  _Alignas(64) _Atomic uint64_t wpos; /* bytes of records written (a multiple of 64) */
  _Alignas(64) _Atomic uint64_t rpos; /* bytes of records consumed (a multiple of 64) */
} tubo__pipe_ring_ctl_t;

/* This process's view of a ring. */
typedef struct tubo__pipe_ring {
  tubo__pipe_ring_ctl_t *ctl;
  unsigned char *data; /* size bytes */
  uint64_t size;       /* a power of two */
  uint64_t max_chunk;  /* largest payload of one record: a quarter ring, less the header */
  uint64_t rseen;      /* writer: the reader's position it last read */
} tubo__pipe_ring_t;

/* A record found by the reader; payload points into the ring. */
typedef struct tubo__pipe_rec {
  uint32_t kind;
  uint32_t chunk;
  uint64_t total;
  const unsigned char *payload;
  uint64_t bytes; /* the record's size in the ring, whole lines */
} tubo__pipe_rec_t;

void tubo__pipe_ring_init(tubo__pipe_ring_t *r, tubo__pipe_ring_ctl_t *ctl, void *data,
                          uint64_t size);

/* Writer: writes one record of kind with the first bytes of src (n bytes left to send;
 * total is the message's length), as many as fit in one record now, and publishes it.
 * Returns the number of payload bytes taken (0 is possible only when n is 0), or
 * TUBO_EAGAIN when there is no room now (*need then tells how many bytes of the ring
 * must be free), or TUBO_ECORRUPT. The record is published with a sequentially
 * consistent store, so that the caller may then read the reader's sleeping flag. */
int64_t tubo__pipe_ring_put(tubo__pipe_ring_t *r, const void *src, size_t n, uint32_t kind,
                            uint64_t total, uint64_t *need);

/* Writer: whether need bytes of the ring are free, reading the reader's position again
 * (with a sequentially consistent load, after the caller set its sleeping flag).
 * Returns 1, 0 or TUBO_ECORRUPT. */
int tubo__pipe_ring_has_room(tubo__pipe_ring_t *r, uint64_t need);

/* Reader: the next record, if one is there. Returns 1 (rec filled), 0 (none yet) or
 * TUBO_ECORRUPT. The checks that need the message (kind, lengths) are the caller's. */
int tubo__pipe_ring_peek(const tubo__pipe_ring_t *r, tubo__pipe_rec_t *rec);

/* Reader: whether a record is there, without checking it (for polling). */
int tubo__pipe_ring_ready(const tubo__pipe_ring_t *r);

/* Reader: consumes the record rec found by peek. Returns 1 when the reader's position
 * crossed a quarter of the ring (time to see whether the writer waits for room), else 0. */
int tubo__pipe_ring_consume(tubo__pipe_ring_t *r, const tubo__pipe_rec_t *rec);

#endif /* TUBO_PATTERNS_PIPE_RING_H */
