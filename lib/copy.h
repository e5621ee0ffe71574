/* SPDX-License-Identifier: MIT */
/* Copying the few bytes of a small message on a fast path, without a call into libc, and
 * the bytes of a large one out of the shared heap. */
#ifndef TUBO_COPY_H
#define TUBO_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "os/os.h"

/* Copies n bytes from src to dst: two overlapping loads and stores cover every length of
 * a range and never touch a byte outside [0, n). Above 16 bytes it is memcpy. */
static inline void tubo__copy_small(void *dst, const void *src, size_t n)
{
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + n - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + n - 4, 4);
    memcpy(d, &a, 4);
    memcpy(d + n - 4, &b, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; i++)
      d[i] = s[i];
  } else {
    memcpy(d, s, n);
  }
}

/* Messages from the shared heap are copied by "rep movsb" in pieces of at most this many
 * bytes. */
#define TUBO__COPY_MOVSB_MAX ((size_t)2 << 20)
/* The piece of a larger message. */
#define TUBO__COPY_PIECE ((size_t)1 << 20)

/* Copies a large message (more than a frame) out of the shared heap with the processor's
 * string copy (tubo__os_copy_string: "rep movsb" on x86-64, which runs as a whole-line
 * copy), since glibc's memcpy leaves it above the L2's size on AMD processors for a vector
 * loop; rep movsb streamed 1 MiB 11-22% and 2 MiB 12-39% faster on the VM of
 * doc/benchmarks.md ("Large messages"). Past TUBO__COPY_MOVSB_MAX, one string copy of the
 * whole was 18% slower than memcpy there, but string copies of 1 MiB pieces streamed 4 MiB
 * 17% and 8 MiB 31% faster than memcpy ("String copies in pieces past 2 MiB"). Pieces of
 * 256 KiB, a prefetch ahead of each piece and non-temporal stores were no faster (the last
 * about 25% slower): one core copies at this rate, and the channel runs at it ("The 2-4 MiB
 * copy from tubo_alloc_mem buffers"). */
static inline void tubo__copy_large(void *dst, const void *src, size_t n)
{
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n > TUBO__COPY_MOVSB_MAX) {
    tubo__os_copy_string(d, s, TUBO__COPY_PIECE);
    d += TUBO__COPY_PIECE;
    s += TUBO__COPY_PIECE;
    n -= TUBO__COPY_PIECE;
  }
  tubo__os_copy_string(d, s, n);
}

#endif /* TUBO_COPY_H */
