/* SPDX-License-Identifier: MIT */
/* Element types and reduction operations (type.c, op.c, op_kernels.c).
 *
 * A type is one of tubo_type_t's typecodes; every table below is indexed by its dense
 * index (tubo__type_index). An operation is a predefined one (TUBO_SUM...) or a user's
 * (tubo_op_create); both combine as MPI's do: inout[i] = in[i] op inout[i]. */
#ifndef TUBO_OP_H
#define TUBO_OP_H

#include <stddef.h>
#include <stdint.h>

#include "tubo.h"

#define TUBO__OP_MAGIC 0x6f706572u /* "oper" */

/* The predefined operations, in the order of their objects (op.c). */
enum tubo__op_kind {
  TUBO__OP_SUM = 0,
  TUBO__OP_PROD,
  TUBO__OP_MIN,
  TUBO__OP_MAX,
  TUBO__OP_LAND,
  TUBO__OP_LOR,
  TUBO__OP_LXOR,
  TUBO__OP_BAND,
  TUBO__OP_BOR,
  TUBO__OP_BXOR,
  TUBO__OP_NPREDEF,
  TUBO__OP_USER = 255
};

struct tubo_op {
  uint32_t magic;
  uint8_t kind;        /* tubo__op_kind */
  uint8_t commutative; /* 1 for every predefined operation */
  tubo_op_fn fn;       /* a user's operation, else NULL */
};

/* Combines n elements: inout[i] = in[i] op inout[i]; in and inout do not overlap. */
typedef void (*tubo__kernel_t)(const void *in, void *inout, size_t n);

/* Facts of an element type. */
typedef struct tubo__type_info {
  tubo_type_t type;
  uint8_t index; /* dense, 0 .. TUBO__NTYPES - 1 */
  uint8_t size, align;
} tubo__type_info_t;

#define TUBO__NTYPES 17

/* The facts of type, or NULL for a value that is no tubo_type_t. */
const tubo__type_info_t *tubo__type_info(tubo_type_t type);

/* The predefined kernel of (kind, type index), or NULL where C does not define it. */
tubo__kernel_t tubo__kernel(unsigned kind, unsigned type_index);

/* Checks that op is a predefined operation or a live user operation, and that it is
 * defined on type. Returns 0, TUBO_EOP (a NULL, freed or never-made operation, or a handle
 * of another kind) or TUBO_EINVAL (unknown type, a predefined operation undefined on it). */
int tubo__op_check(const tubo_op_t *op, tubo_type_t type);

/* Combines count elements of type: inout = in op inout. op and type are checked. */
static inline void tubo__op_apply(const tubo_op_t *op, const tubo__type_info_t *t, const void *in,
                                  void *inout, size_t count)
{
  if (count == 0)
    return;
  if (op->fn != NULL)
    op->fn(in, inout, count, t->type);
  else
    tubo__kernel(op->kind, t->index)(in, inout, count);
}

#endif /* TUBO_OP_H */
