/* SPDX-License-Identifier: MIT */
/* The predefined operations on every type where C defines them, each a plain loop the
 * compiler vectorizes: inout[i] = in[i] op inout[i]. Types fall in classes by what C
 * allows on them: integers (and bool) take every operation, real floating types all but
 * the bitwise ones, complex types the arithmetic and logical ones. */
#include "config.h"

#include <complex.h>
#include <stdbool.h>
#include <string.h>

#include "op/op.h"

#define K_SUM(a, b)  ((a) + (b))
#define K_PROD(a, b) ((a) * (b))
#define K_MIN(a, b)  ((a) < (b) ? (a) : (b))
#define K_MAX(a, b)  ((a) > (b) ? (a) : (b))
#define K_LAND(a, b) ((a) && (b))
#define K_LOR(a, b)  ((a) || (b))
#define K_LXOR(a, b) (!(a) != !(b))
#define K_BAND(a, b) ((a) & (b))
#define K_BOR(a, b)  ((a) | (b))
#define K_BXOR(a, b) ((a) ^ (b))
/* bool's sum and product, as C converts them back to bool. */
#define K_BSUM(a, b)  ((a) + (b) != 0)
#define K_BPROD(a, b) ((a) * (b) != 0)

/* Elements a block: the loop over a block has a count the vector width divides, which GCC
 * vectorizes at -O2 (its default cost model takes no loop that needs a scalar epilogue:
 * one loop over all n elements ran one addsd a double, and a 2-rank allreduce of 1 MiB
 * spent a ninth of its time there; doc/benchmarks.md, "The 2-rank collectives, again").
 * Every element is still combined alone, in the same way: the results keep their bits. */
#define K_BLOCK 16

/* Elements move through memcpy: a collective's data may sit in shared memory aligned
 * only to 8 bytes, less than long double and its complex type need. The operation works
 * on them as utype: their own type (KERNEL), but for sums and products of signed types
 * that int promotion does not protect, which work on their unsigned twins so that they
 * overflow as those do (wrapping), not as undefined behaviour. */
#define KERNEL_WRAP(op, name, ctype, utype)                                               \
  static inline void k1_##op##_##name(const char *restrict a, char *restrict b, size_t i) \
  {                                                                                       \
    ctype x, y;                                                                           \
    memcpy(&x, a + i * sizeof x, sizeof x);                                               \
    memcpy(&y, b + i * sizeof y, sizeof y);                                               \
    y = (ctype)K_##op((utype)x, (utype)y);                                                \
    memcpy(b + i * sizeof y, &y, sizeof y);                                               \
  }                                                                                       \
  static void k_##op##_##name(const void *restrict in, void *restrict inout, size_t n)    \
  {                                                                                       \
    const char *restrict a = in;                                                          \
    char *restrict b = inout;                                                             \
    size_t i = 0;                                                                         \
    for (; n - i >= K_BLOCK; i += K_BLOCK)                                                \
      for (size_t j = 0; j < K_BLOCK; j++)                                                \
        k1_##op##_##name(a, b, i + j);                                                    \
    for (; i < n; i++)                                                                    \
      k1_##op##_##name(a, b, i);                                                          \
  }

#define KERNEL(op, name, ctype) KERNEL_WRAP(op, name, ctype, ctype)

#define LOGICAL(name, ctype) \
  KERNEL(LAND, name, ctype)  \
  KERNEL(LOR, name, ctype)   \
  KERNEL(LXOR, name, ctype)
#define MINMAX(name, ctype) \
  KERNEL(MIN, name, ctype)  \
  KERNEL(MAX, name, ctype)
#define BITS(name, ctype)   \
  KERNEL(BAND, name, ctype) \
  KERNEL(BOR, name, ctype)  \
  KERNEL(BXOR, name, ctype)
#define ARITH(name, ctype)  \
  KERNEL(SUM, name, ctype)  \
  KERNEL(PROD, name, ctype) \
  LOGICAL(name, ctype)
#define ORDERED(name, ctype) \
  ARITH(name, ctype)         \
  MINMAX(name, ctype)
#define INTEGER(name, ctype) \
  ORDERED(name, ctype)       \
  BITS(name, ctype)
#define WIDE(name, ctype, utype)        \
  KERNEL_WRAP(SUM, name, ctype, utype)  \
  KERNEL_WRAP(PROD, name, ctype, utype) \
  LOGICAL(name, ctype)                  \
  MINMAX(name, ctype)                   \
  BITS(name, ctype)

/* One row of the table: the kernels of a type, by operation. */
#define ROW_INTEGER(name)                                                                 \
  {                                                                                       \
    k_SUM_##name, k_PROD_##name, k_MIN_##name, k_MAX_##name, k_LAND_##name, k_LOR_##name, \
        k_LXOR_##name, k_BAND_##name, k_BOR_##name, k_BXOR_##name                         \
  }
#define ROW_ORDERED(name)                                                                 \
  {                                                                                       \
    k_SUM_##name, k_PROD_##name, k_MIN_##name, k_MAX_##name, k_LAND_##name, k_LOR_##name, \
        k_LXOR_##name, NULL, NULL, NULL                                                   \
  }
#define ROW_BOOLEAN                                                                               \
  {                                                                                               \
    k_BSUM_boolean, k_BPROD_boolean, k_MIN_boolean, k_MAX_boolean, k_LAND_boolean, k_LOR_boolean, \
        k_LXOR_boolean, k_BAND_boolean, k_BOR_boolean, k_BXOR_boolean                             \
  }
#define ROW_ARITH(name)                                                                        \
  {                                                                                            \
    k_SUM_##name, k_PROD_##name, NULL, NULL, k_LAND_##name, k_LOR_##name, k_LXOR_##name, NULL, \
        NULL, NULL                                                                             \
  }

INTEGER(char, char)
INTEGER(uchar, unsigned char)
INTEGER(short, short)
WIDE(int, int, unsigned int)
INTEGER(uint, unsigned int)
WIDE(long, long, unsigned long)
INTEGER(ulong, unsigned long)
WIDE(llong, long long, unsigned long long)
ORDERED(float, float)
ORDERED(double, double)
INTEGER(schar, signed char)
INTEGER(ushort, unsigned short)
INTEGER(ullong, unsigned long long)
KERNEL(BSUM, boolean, bool)
KERNEL(BPROD, boolean, bool)
LOGICAL(boolean, bool)
MINMAX(boolean, bool)
BITS(boolean, bool)
ORDERED(ldouble, long double)
ARITH(cfloat, float complex)
ARITH(cdouble, double complex)

/* By type index (type.c's order), then operation. */
static const tubo__kernel_t kernels[TUBO__NTYPES][TUBO__OP_NPREDEF] = {
    ROW_INTEGER(char),   ROW_INTEGER(uchar),  ROW_INTEGER(short),   ROW_INTEGER(int),
    ROW_INTEGER(uint),   ROW_INTEGER(long),   ROW_INTEGER(ulong),   ROW_INTEGER(llong),
    ROW_ORDERED(float),  ROW_ORDERED(double), ROW_INTEGER(schar),   ROW_INTEGER(ushort),
    ROW_INTEGER(ullong), ROW_BOOLEAN,         ROW_ORDERED(ldouble), ROW_ARITH(cfloat),
    ROW_ARITH(cdouble),
};

tubo__kernel_t tubo__kernel(unsigned kind, unsigned type_index)
{
  if (kind >= TUBO__OP_NPREDEF || type_index >= TUBO__NTYPES)
    return NULL;
  return kernels[type_index][kind];
}
