/* SPDX-License-Identifier: MIT */
/* Shared values, as multiprocessing.Value: an array of one element (shared_array.c). */
#include "config.h"

#include "tubo.h"

int tubo_value_create(tubo_type_t type, tubo_value_t **v)
{
  return tubo_array_create(type, 1, v);
}

int tubo_value_open(tubo_comm_t *comm, tubo_type_t type, tubo_value_t **v)
{
  return tubo_array_open(comm, type, 1, v);
}

void *tubo_value_ptr(const tubo_value_t *v)
{
  return tubo_array_data(v);
}

int tubo_value_lock(tubo_value_t *v)
{
  return tubo_array_lock(v);
}

int tubo_value_unlock(tubo_value_t *v)
{
  return tubo_array_unlock(v);
}

int tubo_value_free(tubo_value_t *v)
{
  return tubo_array_free(v);
}
