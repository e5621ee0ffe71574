/* SPDX-License-Identifier: MIT */
/* FNV-1a, the one hash the library and its tools use for keys that only need to differ
 * when their inputs do (layout keys, the protocol cache's key): not for tables that an
 * adversary fills, nor across machines of other byte orders. */
#ifndef TUBO_HASH_H
#define TUBO_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Where every FNV-1a hash starts. */
#define TUBO__FNV_START 0xcbf29ce484222325ull

/* Continues h over n bytes at p. */
static inline uint64_t tubo__fnv1a(uint64_t h, const void *p, size_t n)
{
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) {
    h ^= c[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

#endif
