/* SPDX-License-Identifier: MIT */
/* Element types: Python's typecodes, their sizes and a dense index for tables (op.h). */
#include "config.h"

#include <complex.h>
#include <stdbool.h>

#include "op/op.h"

/* The fixed-width names of tubo.h stand for these types on every platform tubo builds on. */
_Static_assert(sizeof(signed char) == 1 && sizeof(short) == 2 && sizeof(int) == 4 &&
                   sizeof(long long) == 8,
               "TUBO_INT8..TUBO_UINT64 name the types of their widths");

#define TYPE(code, ctype, i) [i] = {code, i, sizeof(ctype), _Alignof(ctype)}

static const tubo__type_info_t type_table[TUBO__NTYPES] = {
    TYPE(TUBO_CHAR, char, 0),
    TYPE(TUBO_BYTE, unsigned char, 1),
    TYPE(TUBO_SHORT, short, 2),
    TYPE(TUBO_INT, int, 3),
    TYPE(TUBO_UINT, unsigned int, 4),
    TYPE(TUBO_LONG, long, 5),
    TYPE(TUBO_ULONG, unsigned long, 6),
    TYPE(TUBO_LLONG, long long, 7),
    TYPE(TUBO_FLOAT, float, 8),
    TYPE(TUBO_DOUBLE, double, 9),
    TYPE(TUBO_SCHAR, signed char, 10),
    TYPE(TUBO_USHORT, unsigned short, 11),
    TYPE(TUBO_ULLONG, unsigned long long, 12),
    TYPE(TUBO_BOOL, bool, 13),
    TYPE(TUBO_LDOUBLE, long double, 14),
    TYPE(TUBO_CFLOAT, float complex, 15),
    TYPE(TUBO_CDOUBLE, double complex, 16),
};

/* Typecodes are printable ASCII: this table finds a type's entry (its index + 1) in one
 * load. */
static const uint8_t type_by_code[128] = {
    [TUBO_CHAR] = 1,     [TUBO_BYTE] = 2,    [TUBO_SHORT] = 3,    [TUBO_INT] = 4,
    [TUBO_UINT] = 5,     [TUBO_LONG] = 6,    [TUBO_ULONG] = 7,    [TUBO_LLONG] = 8,
    [TUBO_FLOAT] = 9,    [TUBO_DOUBLE] = 10, [TUBO_SCHAR] = 11,   [TUBO_USHORT] = 12,
    [TUBO_ULLONG] = 13,  [TUBO_BOOL] = 14,   [TUBO_LDOUBLE] = 15, [TUBO_CFLOAT] = 16,
    [TUBO_CDOUBLE] = 17,
};

const tubo__type_info_t *tubo__type_info(tubo_type_t type)
{
  if ((unsigned)type >= 128 || type_by_code[type] == 0)
    return NULL;
  return &type_table[type_by_code[type] - 1];
}
