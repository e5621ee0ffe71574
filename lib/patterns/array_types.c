/* SPDX-License-Identifier: MIT */
/* Element types of shared arrays and how much memory an array takes (array.h). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "op/op.h"
#include "patterns/array.h"

_Static_assert(TUBO__ARRAY_DATA_OFF % _Alignof(max_align_t) == 0,
               "the elements start aligned for every type");

int tubo__array_type(tubo_type_t type, size_t *size, size_t *align)
{
  const tubo__type_info_t *t = tubo__type_info(type);
  if (t == NULL)
    return TUBO_EINVAL;
  *size = t->size;
  if (align != NULL)
    *align = t->align;
  return 0;
}

int tubo__array_bytes(size_t length, size_t size, size_t *bytes)
{
  if (length == 0 || size == 0)
    return TUBO_EINVAL;
  /* No object may span more than PTRDIFF_MAX bytes: pointer differences inside it must
   * stay defined. */
  if (length > (PTRDIFF_MAX - TUBO__ARRAY_DATA_OFF) / size)
    return TUBO_ETOOBIG;
  *bytes = TUBO__ARRAY_DATA_OFF + length * size;
  return 0;
}
