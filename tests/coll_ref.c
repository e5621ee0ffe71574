/* SPDX-License-Identifier: MIT */
/* The collective suites' own reference (coll_ref.h). */
#include "config.h"

#include "coll_ref.h"

#include <complex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const tubo_type_t cr_types[CR_NTYPES] = {
    TUBO_CHAR,   TUBO_BYTE,  TUBO_SHORT,   TUBO_INT,    TUBO_UINT,   TUBO_LONG,
    TUBO_ULONG,  TUBO_LLONG, TUBO_FLOAT,   TUBO_DOUBLE, TUBO_SCHAR,  TUBO_USHORT,
    TUBO_ULLONG, TUBO_BOOL,  TUBO_LDOUBLE, TUBO_CFLOAT, TUBO_CDOUBLE};

const tubo_op_t *cr_ops[CR_NOPS];
const char *const cr_op_names[CR_NOPS] = {"SUM", "PROD", "MIN",  "MAX", "LAND",
                                          "LOR", "LXOR", "BAND", "BOR", "BXOR"};

/* The operations' handles are addresses the library exports: filled on first use. */
static void cr_ops_init(void)
{
  if (cr_ops[0] != NULL)
    return;
  const tubo_op_t *ops[CR_NOPS] = {TUBO_SUM, TUBO_PROD, TUBO_MIN,  TUBO_MAX, TUBO_LAND,
                                   TUBO_LOR, TUBO_LXOR, TUBO_BAND, TUBO_BOR, TUBO_BXOR};
  memcpy(cr_ops, ops, sizeof ops);
}

/* Classes of types, by what C allows on them. */
enum { K_INT, K_BOOL, K_REAL, K_CPLX };

/* X(code, C type, class, name) */
#define CR_TYPES(X)                                   \
  X(TUBO_CHAR, char, K_INT, "char")                   \
  X(TUBO_BYTE, unsigned char, K_INT, "byte")          \
  X(TUBO_SHORT, short, K_INT, "short")                \
  X(TUBO_INT, int, K_INT, "int")                      \
  X(TUBO_UINT, unsigned int, K_INT, "uint")           \
  X(TUBO_LONG, long, K_INT, "long")                   \
  X(TUBO_ULONG, unsigned long, K_INT, "ulong")        \
  X(TUBO_LLONG, long long, K_INT, "llong")            \
  X(TUBO_FLOAT, float, K_REAL, "float")               \
  X(TUBO_DOUBLE, double, K_REAL, "double")            \
  X(TUBO_SCHAR, signed char, K_INT, "schar")          \
  X(TUBO_USHORT, unsigned short, K_INT, "ushort")     \
  X(TUBO_ULLONG, unsigned long long, K_INT, "ullong") \
  X(TUBO_BOOL, bool, K_BOOL, "bool")                  \
  X(TUBO_LDOUBLE, long double, K_REAL, "ldouble")     \
  X(TUBO_CFLOAT, float complex, K_CPLX, "cfloat")     \
  X(TUBO_CDOUBLE, double complex, K_CPLX, "cdouble")

static int cr_class(tubo_type_t t)
{
#define X(code, ct, cls, name) \
  case code:                   \
    return cls;
  switch (t) {
    CR_TYPES(X)
  }
#undef X
  abort();
}

const char *cr_type_name(tubo_type_t t)
{
#define X(code, ct, cls, name) \
  case code:                   \
    return name;
  switch (t) {
    CR_TYPES(X)
  }
#undef X
  return "?";
}

size_t cr_size(tubo_type_t t)
{
#define X(code, ct, cls, name) \
  case code:                   \
    return sizeof(ct);
  switch (t) {
    CR_TYPES(X)
  }
#undef X
  abort();
}

int cr_defined(tubo_type_t t, int op)
{
  cr_ops_init();
  switch (cr_class(t)) {
  case K_INT:
  case K_BOOL:
    return 1;
  case K_REAL:
    return op < CR_BAND;
  default:
    return op == CR_SUM || op == CR_PROD || op == CR_LAND || op == CR_LOR || op == CR_LXOR;
  }
}

void cr_set(tubo_type_t t, void *buf, size_t i, long long v)
{
  switch (t) {
  case TUBO_CFLOAT:
    ((float complex *)buf)[i] = (float)v + (float)(v % 2) * I;
    return;
  case TUBO_CDOUBLE:
    ((double complex *)buf)[i] = (double)v + (double)(v % 2) * I;
    return;
  default:
    break;
  }
#define X(code, ct, cls, name)      \
  case code:                        \
    if (cls != K_CPLX)              \
      ((ct *)buf)[i] = (ct)(v + 0); \
    return;
  switch (t) {
    CR_TYPES(X)
  }
#undef X
}

int cr_equal(tubo_type_t t, const void *a, size_t i, const void *b, size_t j)
{
#define X(code, ct, cls, name) \
  case code:                   \
    return ((const ct *)a)[i] == ((const ct *)b)[j];
  switch (t) {
    CR_TYPES(X)
  }
#undef X
  return 0;
}

void cr_format(tubo_type_t t, const void *buf, size_t i, char *out, size_t cap)
{
  switch (cr_class(t)) {
  case K_CPLX: {
    double complex z =
        t == TUBO_CFLOAT ? ((const float complex *)buf)[i] : ((const double complex *)buf)[i];
    snprintf(out, cap, "%g%+gi", creal(z), cimag(z));
    return;
  }
  case K_REAL: {
    long double v = t == TUBO_FLOAT    ? ((const float *)buf)[i]
                    : t == TUBO_DOUBLE ? ((const double *)buf)[i]
                                       : ((const long double *)buf)[i];
    snprintf(out, cap, "%Lg", v);
    return;
  }
  default:
    break;
  }
  long long v = 0;
#define X(code, ct, cls, name)             \
  case code:                               \
    if (cls == K_INT || cls == K_BOOL)     \
      v = (long long)((const ct *)buf)[i]; \
    break;
  switch (t) {
    CR_TYPES(X)
  }
#undef X
  snprintf(out, cap, "%lld", v);
}

/* acc = acc op x for one element of a C type, by class. */
#define CR_INT_OP(ct, op, a, x)                              \
  switch (op) {                                              \
  case CR_SUM:                                               \
    a = (ct)((unsigned long long)a + (unsigned long long)x); \
    break;                                                   \
  case CR_PROD:                                              \
    a = (ct)((unsigned long long)a * (unsigned long long)x); \
    break;                                                   \
  case CR_MIN:                                               \
    a = x < a ? x : a;                                       \
    break;                                                   \
  case CR_MAX:                                               \
    a = x > a ? x : a;                                       \
    break;                                                   \
  case CR_LAND:                                              \
    a = (ct)(a && x);                                        \
    break;                                                   \
  case CR_LOR:                                               \
    a = (ct)(a || x);                                        \
    break;                                                   \
  case CR_LXOR:                                              \
    a = (ct)(!a != !x);                                      \
    break;                                                   \
  case CR_BAND:                                              \
    a = (ct)(a & x);                                         \
    break;                                                   \
  case CR_BOR:                                               \
    a = (ct)(a | x);                                         \
    break;                                                   \
  default:                                                   \
    a = (ct)(a ^ x);                                         \
    break;                                                   \
  }

#define CR_REAL_OP(ct, op, a, x) \
  switch (op) {                  \
  case CR_SUM:                   \
    a = a + x;                   \
    break;                       \
  case CR_PROD:                  \
    a = a * x;                   \
    break;                       \
  case CR_MIN:                   \
    a = x < a ? x : a;           \
    break;                       \
  case CR_MAX:                   \
    a = x > a ? x : a;           \
    break;                       \
  case CR_LAND:                  \
    a = (ct)(a && x);            \
    break;                       \
  case CR_LOR:                   \
    a = (ct)(a || x);            \
    break;                       \
  default:                       \
    a = (ct)(!a != !x);          \
    break;                       \
  }

#define CR_CPLX_OP(ct, op, a, x) \
  switch (op) {                  \
  case CR_SUM:                   \
    a = a + x;                   \
    break;                       \
  case CR_PROD:                  \
    a = a * x;                   \
    break;                       \
  case CR_LAND:                  \
    a = (ct)(a && x);            \
    break;                       \
  case CR_LOR:                   \
    a = (ct)(a || x);            \
    break;                       \
  default:                       \
    a = (ct)(!a != !x);          \
    break;                       \
  }

void cr_combine(tubo_type_t t, int op, void *acc, size_t i, const void *x, size_t j)
{
  switch (t) {
  case TUBO_BOOL: {
    bool *a = (bool *)acc + i, b = ((const bool *)x)[j];
    int v = *a, w = b;
    CR_INT_OP(int, op, v, w)
    *a = v != 0;
    return;
  }
  case TUBO_FLOAT: {
    float *a = (float *)acc + i, b = ((const float *)x)[j];
    CR_REAL_OP(float, op, *a, b)
    return;
  }
  case TUBO_DOUBLE: {
    double *a = (double *)acc + i, b = ((const double *)x)[j];
    CR_REAL_OP(double, op, *a, b)
    return;
  }
  case TUBO_LDOUBLE: {
    long double *a = (long double *)acc + i, b = ((const long double *)x)[j];
    CR_REAL_OP(long double, op, *a, b)
    return;
  }
  case TUBO_CFLOAT: {
    float complex *a = (float complex *)acc + i, b = ((const float complex *)x)[j];
    CR_CPLX_OP(float complex, op, *a, b)
    return;
  }
  case TUBO_CDOUBLE: {
    double complex *a = (double complex *)acc + i, b = ((const double complex *)x)[j];
    CR_CPLX_OP(double complex, op, *a, b)
    return;
  }
  default:
    break;
  }
#define X(code, ct)                                \
  case code: {                                     \
    ct *a = (ct *)acc + i, b = ((const ct *)x)[j]; \
    CR_INT_OP(ct, op, *a, b)                       \
    return;                                        \
  }
  switch (t) {
    X(TUBO_CHAR, char)
    X(TUBO_BYTE, unsigned char)
    X(TUBO_SHORT, short)
    X(TUBO_INT, int)
    X(TUBO_UINT, unsigned int)
    X(TUBO_LONG, long)
    X(TUBO_ULONG, unsigned long)
    X(TUBO_LLONG, long long)
    X(TUBO_SCHAR, signed char)
    X(TUBO_USHORT, unsigned short)
    X(TUBO_ULLONG, unsigned long long)
  default:
    break;
  }
#undef X
}

long long cr_value(int op, int r, int p, size_t i)
{
  switch (op) {
  case CR_SUM:
    return (long long)((size_t)r + i) % 3;
  case CR_PROD:
    return (size_t)r == i % (size_t)p ? 2 : 1;
  case CR_MIN:
  case CR_MAX:
    return (long long)((size_t)r * 3 + i) % 7;
  case CR_LAND:
  case CR_LOR:
  case CR_LXOR:
    return (long long)((size_t)r + i) % 3;
  default:
    return (long long)(((size_t)r + 1) * (i + 3)) % 11;
  }
}

void cr_reduce_ranks(tubo_type_t t, int op, int lo, int hi, int p, size_t i, void *out)
{
  unsigned char x[32];
  cr_set(t, out, i, cr_value(op, lo, p, i));
  for (int r = lo + 1; r < hi; r++) {
    cr_set(t, x, 0, cr_value(op, r, p, i));
    cr_combine(t, op, out, i, x, 0);
  }
}

/* The flat tree over parts vals[0 .. n - 1] into out. */
static void cr_tree_flat(const double *const *vals, int n, size_t count, double *out)
{
  if (n < 1)
    return;
  int pof2 = 1;
  while (pof2 * 2 <= n)
    pof2 *= 2;
  int rem = n - pof2;
  double **part = calloc((size_t)pof2, sizeof *part);
  for (int v = 0; v < pof2; v++) {
    part[v] = malloc(count * sizeof(double));
    int r = v < rem ? 2 * v : v + rem;
    memcpy(part[v], vals[r], count * sizeof(double));
    if (v < rem)
      for (size_t i = 0; i < count; i++)
        part[v][i] = part[v][i] + vals[r + 1][i];
  }
  for (int m = 1; m < pof2; m *= 2)
    for (int v = 0; v < pof2; v += 2 * m)
      for (size_t i = 0; i < count; i++)
        part[v][i] = part[v][i] + part[v + m][i];
  memcpy(out, part[0], count * sizeof(double));
  for (int v = 0; v < pof2; v++)
    free(part[v]);
  free(part);
}

void cr_tree_sum(const double *const *vals, int n, const int *node_of, int two_level, size_t count,
                 double *out)
{
  int nodes = 0;
  int *first = malloc((size_t)n * sizeof *first);
  for (int r = 0; r < n && node_of != NULL; r++) {
    int k = 0;
    while (k < nodes && node_of[first[k]] != node_of[r])
      k++;
    if (k == nodes)
      first[nodes++] = r;
  }
  if (!two_level || node_of == NULL || nodes <= 1 || nodes == n) {
    cr_tree_flat(vals, n, count, out);
    free(first);
    return;
  }
  const double **sub = malloc((size_t)n * sizeof *sub);
  double **partial = malloc((size_t)nodes * sizeof *partial);
  for (int k = 0; k < nodes; k++) {
    int m = 0;
    for (int r = 0; r < n; r++)
      if (node_of[r] == node_of[first[k]])
        sub[m++] = vals[r];
    partial[k] = malloc(count * sizeof(double));
    cr_tree_flat(sub, m, count, partial[k]);
  }
  cr_tree_flat((const double *const *)partial, nodes, count, out);
  for (int k = 0; k < nodes; k++)
    free(partial[k]);
  free(partial);
  free(sub);
  free(first);
}

/* A double of rank r, element i, whose exponent varies so that the order of a sum shows
 * in its bits. */
double cr_spread_val(int r, size_t i, unsigned salt)
{
  uint64_t z = (uint64_t)r * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull + salt;
  z ^= z >> 31;
  z *= 0x94d049bb133111ebull;
  z ^= z >> 29;
  double m = (double)(z >> 11) / 9007199254740992.0 - 0.5;
  int e = (int)(z % 24) - 12;
  double s = 1;
  for (int k = 0; k < (e < 0 ? -e : e); k++)
    s = e < 0 ? s / 3 : s * 3;
  return m * s;
}
