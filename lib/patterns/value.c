/* SPDX-License-Identifier: MIT */
/* Shared values, as multiprocessing.Value: a handle of its own kind around an array of
 * one element (array.c), so that a Value is never taken for an Array. */
#include "config.h"

#include <stdlib.h>

#include "handles.h"
#include "patterns/array.h"
#include "tubo.h"
#include "world.h"

struct tubo_value {
  tubo_array_t *a; /* one element; live as long as the value */
};

/* Makes the handle before the array, so that a collective open that succeeds is never
 * undone on one rank alone for want of memory. */
static int value_make(tubo_comm_t *comm, int collective, tubo_type_t type, const void *init,
                      tubo_value_t **out)
{
  if (out == NULL)
    return TUBO_EINVAL;
  *out = NULL;
  tubo_value_t *v = calloc(1, sizeof *v);
  if (v == NULL)
    return TUBO_ENOMEM;
  if (tubo__handle_add(v, TUBO__H_VALUE) != 0) {
    free(v);
    return TUBO_ENOMEM;
  }
  int rc = tubo__array_make(comm, collective, type, 1, init, &v->a);
  if (rc != 0) {
    tubo__handle_remove(v);
    free(v);
    return rc;
  }
  *out = v;
  return 0;
}

int tubo_value_create(tubo_type_t type, const void *init, tubo_value_t **v)
{
  return value_make(NULL, 0, type, init, v);
}

static int value_open_do(tubo_comm_t *comm, tubo_type_t type, const void *init, tubo_value_t **v)
{
  return value_make(comm, 1, type, init, v);
}

int tubo_value_open(tubo_comm_t *comm, tubo_type_t type, const void *init, tubo_value_t **v)
{
  return tubo__error_ret(comm, value_open_do(comm, type, init, v), "tubo_value_open");
}

/* Whether v is a live handle: looked up before it is followed. */
static int value_live(const tubo_value_t *v)
{
  return tubo__handle_live(v, TUBO__H_VALUE);
}

void *tubo_value_data(const tubo_value_t *v)
{
  return value_live(v) ? tubo_array_data(v->a) : NULL;
}

int tubo_value_lock(tubo_value_t *v)
{
  return value_live(v) ? tubo_array_lock(v->a) : TUBO_EVALUE;
}

int tubo_value_unlock(tubo_value_t *v)
{
  return value_live(v) ? tubo_array_unlock(v->a) : TUBO_EVALUE;
}

int tubo_value_free(tubo_value_t *v)
{
  if (!value_live(v))
    return TUBO_EVALUE;
  int rc = tubo_array_free(v->a);
  tubo__handle_remove(v);
  free(v);
  return rc;
}
