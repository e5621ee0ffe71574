/* SPDX-License-Identifier: MIT */
/* The ring of framed records under each direction of a pipe (pipe_ring.h). */
#include "config.h"

#include "patterns/pipe_ring.h"

#include <string.h>

#include "tubo.h"

/* The header at the start of every record, in shared memory. The fields other than the
 * stamp are read once each, after the stamp, and checked before use. */
typedef struct pipe_rec_hdr {
  _Atomic uint64_t stamp; /* position / 64 + 1 once the record is complete */
  _Atomic uint32_t kind;
  _Atomic uint32_t chunk; /* payload bytes in this record */
  _Atomic uint64_t total; /* HEAD: the message's length */
} pipe_rec_hdr_t;

_Static_assert(sizeof(pipe_rec_hdr_t) == TUBO__PIPE_HDR, "record header size");

static inline pipe_rec_hdr_t *ring_hdr(const tubo__pipe_ring_t *r, uint64_t pos)
{
  return (pipe_rec_hdr_t *)(void *)(r->data + (pos & (r->size - 1)));
}

static inline uint64_t ring_lines(uint64_t bytes)
{
  return (bytes + TUBO__PIPE_LINE - 1) & ~(uint64_t)(TUBO__PIPE_LINE - 1);
}

void tubo__pipe_ring_init(tubo__pipe_ring_t *r, tubo__pipe_ring_ctl_t *ctl, void *data,
                          uint64_t size)
{
  r->ctl = ctl;
  r->data = data;
  r->size = size;
  r->max_chunk = size / 4 - TUBO__PIPE_HDR;
  r->rseen = 0;
}

/* The writer's position, checked: a multiple of a line, never behind what it saw read. */
static int ring_wpos(const tubo__pipe_ring_t *r, uint64_t *wpos)
{
  uint64_t w = atomic_load_explicit(&r->ctl->wpos, memory_order_relaxed);
  if ((w & (TUBO__PIPE_LINE - 1)) != 0)
    return TUBO_ECORRUPT;
  *wpos = w;
  return 0;
}

int tubo__pipe_ring_has_room(tubo__pipe_ring_t *r, uint64_t need)
{
  uint64_t w;
  if (ring_wpos(r, &w) != 0)
    return TUBO_ECORRUPT;
  uint64_t rd = atomic_load_explicit(&r->ctl->rpos, memory_order_seq_cst);
  /* The reader can neither pass the writer nor lag a whole ring behind. */
  if (rd > w || w - rd > r->size || (rd & (TUBO__PIPE_LINE - 1)) != 0)
    return TUBO_ECORRUPT;
  r->rseen = rd;
  return w - rd + need <= r->size;
}

int64_t tubo__pipe_ring_put(tubo__pipe_ring_t *r, const void *src, size_t n, uint32_t kind,
                            uint64_t total, uint64_t *need)
{
  uint64_t w;
  if (ring_wpos(r, &w) != 0)
    return TUBO_ECORRUPT;
  /* A record ends at the ring's end at the latest: it is cut there, and the rest of the
   * message follows in CONT records from the start. */
  uint64_t off = w & (r->size - 1);
  uint64_t chunk = r->size - off - TUBO__PIPE_HDR;
  if (chunk > r->max_chunk)
    chunk = r->max_chunk;
  if (chunk > n)
    chunk = n;
  uint64_t bytes = ring_lines(TUBO__PIPE_HDR + chunk);
  /* Room for the record and the line after it, whose stamp word is cleared. */
  *need = bytes + TUBO__PIPE_LINE;
  if (w - r->rseen + *need > r->size || w < r->rseen) {
    uint64_t rd = atomic_load_explicit(&r->ctl->rpos, memory_order_acquire);
    if (rd > w || w - rd > r->size || (rd & (TUBO__PIPE_LINE - 1)) != 0)
      return TUBO_ECORRUPT;
    r->rseen = rd;
    if (w - rd + *need > r->size)
      return TUBO_EAGAIN;
  }
  pipe_rec_hdr_t *h = ring_hdr(r, w);
  atomic_store_explicit(&h->kind, kind, memory_order_relaxed);
  atomic_store_explicit(&h->chunk, (uint32_t)chunk, memory_order_relaxed);
  atomic_store_explicit(&h->total, total, memory_order_relaxed);
  unsigned char *dst = (unsigned char *)h + TUBO__PIPE_HDR;
  /* Small payloads are copied inline: a call to memcpy costs more than the copy. */
  if (chunk <= 16) {
    for (uint64_t i = 0; i < chunk; i++)
      dst[i] = ((const unsigned char *)src)[i];
  } else {
    memcpy(dst, src, chunk);
  }
  /* Where the next record will start, a word of an earlier lap must not look like the
   * stamp the reader will wait for there: only payload that happens to hold that value
   * could, and it is cleared. Reading it is cheap, writing it would cost a cache line. */
  _Atomic uint64_t *next = &ring_hdr(r, w + bytes)->stamp;
  uint64_t next_stamp = (w + bytes) / TUBO__PIPE_LINE + 1;
  if (atomic_load_explicit(next, memory_order_relaxed) == next_stamp)
    atomic_store_explicit(next, 0, memory_order_relaxed);
  atomic_store_explicit(&r->ctl->wpos, w + bytes, memory_order_relaxed);
  /* Sequentially consistent, so that the caller may then read a sleeping flag. */
  atomic_store_explicit(&h->stamp, w / TUBO__PIPE_LINE + 1, memory_order_seq_cst);
  return (int64_t)chunk;
}

/* The reader's position, checked. */
static inline int ring_rpos(const tubo__pipe_ring_t *r, uint64_t *rpos)
{
  uint64_t rd = atomic_load_explicit(&r->ctl->rpos, memory_order_relaxed);
  if ((rd & (TUBO__PIPE_LINE - 1)) != 0)
    return TUBO_ECORRUPT;
  *rpos = rd;
  return 0;
}

int tubo__pipe_ring_ready(const tubo__pipe_ring_t *r)
{
  uint64_t rd;
  if (ring_rpos(r, &rd) != 0)
    return 1; /* let the receive find and report it */
  return atomic_load_explicit(&ring_hdr(r, rd)->stamp, memory_order_acquire) ==
         rd / TUBO__PIPE_LINE + 1;
}

int tubo__pipe_ring_peek(const tubo__pipe_ring_t *r, tubo__pipe_rec_t *rec)
{
  uint64_t rd;
  if (ring_rpos(r, &rd) != 0)
    return TUBO_ECORRUPT;
  pipe_rec_hdr_t *h = ring_hdr(r, rd);
  if (atomic_load_explicit(&h->stamp, memory_order_acquire) != rd / TUBO__PIPE_LINE + 1)
    return 0;
  rec->kind = atomic_load_explicit(&h->kind, memory_order_relaxed);
  rec->chunk = atomic_load_explicit(&h->chunk, memory_order_relaxed);
  rec->total = atomic_load_explicit(&h->total, memory_order_relaxed);
  uint64_t off = rd & (r->size - 1);
  if (rec->chunk > r->size - off - TUBO__PIPE_HDR)
    return TUBO_ECORRUPT;
  rec->payload = (const unsigned char *)h + TUBO__PIPE_HDR;
  rec->bytes = ring_lines(TUBO__PIPE_HDR + (uint64_t)rec->chunk);
  return 1;
}

int tubo__pipe_ring_consume(tubo__pipe_ring_t *r, const tubo__pipe_rec_t *rec)
{
  uint64_t rd = atomic_load_explicit(&r->ctl->rpos, memory_order_relaxed);
  uint64_t next = rd + rec->bytes;
  uint64_t quarter = r->size / 4;
  if (rd / quarter == next / quarter) {
    atomic_store_explicit(&r->ctl->rpos, next, memory_order_release);
    return 0;
  }
  /* Sequentially consistent, so that the caller may then read the writer's flag. */
  atomic_store_explicit(&r->ctl->rpos, next, memory_order_seq_cst);
  return 1;
}
