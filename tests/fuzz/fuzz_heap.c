/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the shared heap (lib/heap/heap.h) while another process, broken or
 * hostile, writes anything anywhere in it. Each input is a series of operations:
 * allocate (and fill the whole usable block), free a block allocated before, free any
 * offset, or overwrite 8 bytes of the region (headers, links, the carving word). The
 * region is an ordinary allocation, so AddressSanitizer sees any read or write outside
 * it: no input may make the heap read outside the region or hand out a block that is not
 * inside it. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heap/heap.h"

#define FUZZ_REGION ((size_t)1 << 20)
#define FUZZ_LIVE   64

static unsigned char *fuzz_region;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (fuzz_region == NULL && (fuzz_region = aligned_alloc(65536, FUZZ_REGION)) == NULL)
    return 0;
  memset(fuzz_region, 0, FUZZ_REGION);
  tubo__heap_t h;
  if (tubo__heap_format(&h, fuzz_region, FUZZ_REGION, NULL) != 0)
    __builtin_trap();
  uint64_t live[FUZZ_LIVE] = {0};
  while (size >= 4) {
    uint8_t op = data[0], a = data[1];
    uint32_t b = (uint32_t)data[2] | (uint32_t)data[3] << 8;
    data += 4;
    size -= 4;
    switch (op & 3) {
    case 0: { /* allocate: small, or (high bit) in 4 KiB steps up to runs */
      size_t n = (op & 0x80) ? (size_t)b * 16 + 1 : (size_t)b % 2048 + 1;
      uint64_t off;
      size_t usable;
      if (tubo__heap_alloc(&h, n, (op & 0x40) ? TUBO__HEAP_ZERO : 0, &off) != 0)
        break;
      if (tubo__heap_usable(&h, off, &usable) != 0 || usable < n)
        __builtin_trap(); /* a block just handed out must be whole */
      unsigned char *p = tubo__heap_at(&h, off, usable);
      if (p == NULL)
        __builtin_trap();
      memset(p, a, usable);
      live[a % FUZZ_LIVE] = off;
      break;
    }
    case 1: /* free a block allocated before (perhaps again, perhaps overwritten) */
      (void)tubo__heap_free(&h, live[a % FUZZ_LIVE]);
      break;
    case 2: /* free any offset */
      (void)tubo__heap_free(&h, (uint64_t)b << 4 | (a & 15));
      break;
    default: { /* overwrite 8 bytes anywhere */
      uint64_t v = 0;
      size_t k = size < 8 ? size : 8;
      memcpy(&v, data, k);
      data += k;
      size -= k;
      size_t at = ((size_t)b << 4 | (a & 8)) % (FUZZ_REGION - 8);
      memcpy(fuzz_region + at, &v, sizeof v);
      break;
    }
    }
  }
  tubo__heap_stats_t st;
  tubo__heap_stats(&h, &st);
  (void)tubo__heap_check(&h);
  return 0;
}
