/* SPDX-License-Identifier: MIT */
/* Reduction operations: the predefined ones and users' (tubo_op_create). A user's handle
 * is looked up among the live ones before it is followed, as every handle of tubo is. */
#include "config.h"

#include <stdlib.h>

#include "op/op.h"
#include "handles.h"

#define PREDEF(k)              \
  {                            \
    TUBO__OP_MAGIC, k, 1, NULL \
  }

struct tubo_op tubo__op_sum = PREDEF(TUBO__OP_SUM);
struct tubo_op tubo__op_prod = PREDEF(TUBO__OP_PROD);
struct tubo_op tubo__op_min = PREDEF(TUBO__OP_MIN);
struct tubo_op tubo__op_max = PREDEF(TUBO__OP_MAX);
struct tubo_op tubo__op_land = PREDEF(TUBO__OP_LAND);
struct tubo_op tubo__op_lor = PREDEF(TUBO__OP_LOR);
struct tubo_op tubo__op_lxor = PREDEF(TUBO__OP_LXOR);
struct tubo_op tubo__op_band = PREDEF(TUBO__OP_BAND);
struct tubo_op tubo__op_bor = PREDEF(TUBO__OP_BOR);
struct tubo_op tubo__op_bxor = PREDEF(TUBO__OP_BXOR);

/* The predefined objects by kind: an operation is predefined if it is one of these. */
static const tubo_op_t *const op_predef[TUBO__OP_NPREDEF] = {
    &tubo__op_sum, &tubo__op_prod, &tubo__op_min,  &tubo__op_max, &tubo__op_land,
    &tubo__op_lor, &tubo__op_lxor, &tubo__op_band, &tubo__op_bor, &tubo__op_bxor,
};

static int op_predefined(const tubo_op_t *op)
{
  for (int k = 0; k < TUBO__OP_NPREDEF; k++)
    if (op == op_predef[k])
      return 1;
  return 0;
}

int tubo__op_check(const tubo_op_t *op, tubo_type_t type)
{
  int predef = op_predefined(op);
  if (!predef && (op == NULL || !tubo__handle_live(op, TUBO__H_OP) || op->magic != TUBO__OP_MAGIC))
    return TUBO_EOP;
  const tubo__type_info_t *t = tubo__type_info(type);
  if (t == NULL)
    return TUBO_EINVAL;
  if (predef)
    return tubo__kernel(op->kind, t->index) != NULL ? 0 : TUBO_EINVAL;
  return 0;
}

int tubo_op_create(tubo_op_fn fn, int commutative, tubo_op_t **op)
{
  if (op == NULL)
    return TUBO_EINVAL;
  *op = NULL;
  if (fn == NULL)
    return TUBO_EINVAL;
  tubo_op_t *o = malloc(sizeof *o);
  if (o == NULL)
    return TUBO_ENOMEM;
  *o = (tubo_op_t){TUBO__OP_MAGIC, TUBO__OP_USER, commutative != 0, fn};
  if (tubo__handle_add(o, TUBO__H_OP) != 0) {
    free(o);
    return TUBO_ENOMEM;
  }
  *op = o;
  return 0;
}

int tubo_op_free(tubo_op_t **op)
{
  if (op == NULL)
    return TUBO_EINVAL;
  if (*op == NULL || op_predefined(*op) || !tubo__handle_live(*op, TUBO__H_OP))
    return TUBO_EOP;
  tubo__handle_remove(*op);
  (*op)->magic = 0;
  free(*op);
  *op = NULL;
  return 0;
}
