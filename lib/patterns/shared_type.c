/* SPDX-License-Identifier: MIT */
/* Element types of shared arrays and how much memory an array takes (shared.h). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "patterns/shared.h"

_Static_assert(TUBO__SHARED_DATA_OFF % _Alignof(max_align_t) == 0,
               "the elements start aligned for every type");

#define SHARED_TYPE(code, ctype)         \
  {                                      \
    code, sizeof(ctype), _Alignof(ctype) \
  }

static const struct {
  tubo_type_t type;
  size_t size, align;
} shared_types[] = {
    SHARED_TYPE(TUBO_CHAR, char),           SHARED_TYPE(TUBO_BYTE, unsigned char),
    SHARED_TYPE(TUBO_SHORT, short),         SHARED_TYPE(TUBO_INT, int),
    SHARED_TYPE(TUBO_UINT, unsigned int),   SHARED_TYPE(TUBO_LONG, long),
    SHARED_TYPE(TUBO_ULONG, unsigned long), SHARED_TYPE(TUBO_LLONG, long long),
    SHARED_TYPE(TUBO_FLOAT, float),         SHARED_TYPE(TUBO_DOUBLE, double),
};

int tubo__shared_type(tubo_type_t type, size_t *size, size_t *align)
{
  for (size_t i = 0; i < sizeof shared_types / sizeof shared_types[0]; i++) {
    if (shared_types[i].type == type) {
      *size = shared_types[i].size;
      if (align != NULL)
        *align = shared_types[i].align;
      return 0;
    }
  }
  return TUBO_EINVAL;
}

int tubo__shared_bytes(size_t length, size_t size, size_t *bytes)
{
  if (length == 0 || size == 0)
    return TUBO_EINVAL;
  /* No object may span more than PTRDIFF_MAX bytes: pointer differences inside it must
   * stay defined. */
  if (length > (PTRDIFF_MAX - TUBO__SHARED_DATA_OFF) / size)
    return TUBO_ETOOBIG;
  *bytes = TUBO__SHARED_DATA_OFF + length * size;
  return 0;
}
