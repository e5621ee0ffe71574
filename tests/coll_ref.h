/* SPDX-License-Identifier: MIT */
/* What the collective suites compute alone to check tubo against: element types and the
 * reduction operations, written again here with C's own operators, the values each rank
 * contributes, and the fixed reduction order tubo.h documents. */
#ifndef TUBO_TESTS_COLL_REF_H
#define TUBO_TESTS_COLL_REF_H

#include <stddef.h>

#include "tubo.h"

/* Every element type, in tubo.h's order, and the predefined operations. */
#define CR_NTYPES 17
#define CR_NOPS   10
extern const tubo_type_t cr_types[CR_NTYPES];
extern const tubo_op_t *cr_ops[CR_NOPS];
extern const char *const cr_op_names[CR_NOPS];
enum { CR_SUM, CR_PROD, CR_MIN, CR_MAX, CR_LAND, CR_LOR, CR_LXOR, CR_BAND, CR_BOR, CR_BXOR };

/* The name and size of a type. */
const char *cr_type_name(tubo_type_t t);
size_t cr_size(tubo_type_t t);

/* Whether C defines operation op (CR_x) on type t. */
int cr_defined(tubo_type_t t, int op);

/* Stores v as element i of buf (a complex element gets v + (v % 2) i). */
void cr_set(tubo_type_t t, void *buf, size_t i, long long v);

/* Whether element i of a equals element j of b. */
int cr_equal(tubo_type_t t, const void *a, size_t i, const void *b, size_t j);

/* Element i of acc becomes acc[i] op x[j] (acc holds the lower ranks' part). */
void cr_combine(tubo_type_t t, int op, void *acc, size_t i, const void *x, size_t j);

/* Prints element i of buf into out (for failure messages). */
void cr_format(tubo_type_t t, const void *buf, size_t i, char *out, size_t cap);

/* What comm rank r of p contributes as element i to a reduction by op: small integers
 * whose every combination is exact in every type. */
long long cr_value(int op, int r, int p, size_t i);

/* The reduction of what ranks 0 .. n - 1 contribute by op, element i, into element i of
 * out, in rank order. */
void cr_reduce_ranks(tubo_type_t t, int op, int lo, int hi, int p, size_t i, void *out);

/* The fixed tree of tubo.h over doubles: vals[r] (count elements each) of the n ranks of
 * a communicator whose rank r is on node node_of[r] (NULL: one node); two_level says the
 * operation is commutative (the tree spans nodes then). out gets count elements. */
void cr_tree_sum(const double *const *vals, int n, const int *node_of, int two_level, size_t count,
                 double *out);

/* A double of rank r, element i, whose exponent varies so that the order of a sum shows
 * in its bits (salt: another set of values). */
double cr_spread_val(int r, size_t i, unsigned salt);

#endif /* TUBO_TESTS_COLL_REF_H */
