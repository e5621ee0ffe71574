/* SPDX-License-Identifier: MIT */
/* Shared arrays with a lock, as multiprocessing.Array (array.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "handles.h"
#include "patterns/array.h"
#include "patterns/objmem.h"
#include "world.h"

static tubo__array_head_t *array_head(const tubo_array_t *a)
{
  return a->mem.base;
}

/* Whether the header in shared memory still says what this handle knows. */
static int array_head_ok(const tubo_array_t *a)
{
  tubo__array_head_t *h = array_head(a);
  return atomic_load_explicit(&h->magic, memory_order_relaxed) == TUBO__ARRAY_MAGIC &&
         atomic_load_explicit(&h->type, memory_order_relaxed) == (uint32_t)a->type &&
         atomic_load_explicit(&h->length, memory_order_relaxed) == (uint64_t)a->length;
}

/* Sets the field from zero to want, or checks that another process set it to want. */
static int array_claim32(_Atomic uint32_t *field, uint32_t want)
{
  uint32_t seen = 0;
  return atomic_compare_exchange_strong(field, &seen, want) || seen == want;
}

static int array_claim64(_Atomic uint64_t *field, uint64_t want)
{
  uint64_t seen = 0;
  return atomic_compare_exchange_strong(field, &seen, want) || seen == want;
}

/* Writes the header into fresh (zeroed) memory. Ranks that open one array all do it: the
 * first sets each field, the others find their own values there, or differing arguments
 * (TUBO_EINVAL), or something that is no header (TUBO_ECORRUPT). */
static int array_head_setup(tubo__array_head_t *h, tubo_type_t type, size_t length)
{
  if (!array_claim32(&h->type, (uint32_t)type) || !array_claim64(&h->length, (uint64_t)length))
    return TUBO_EINVAL;
  if (!array_claim32(&h->magic, TUBO__ARRAY_MAGIC))
    return TUBO_ECORRUPT;
  return 0;
}

int tubo__array_make(tubo_comm_t *comm, int collective, tubo_type_t type, size_t length,
                     const void *init, tubo_array_t **out)
{
  if (out == NULL)
    return TUBO_EINVAL;
  *out = NULL;
  size_t size, bytes;
  int rc = tubo__array_type(type, &size, NULL);
  if (rc == 0)
    rc = tubo__array_bytes(length, size, &bytes);
  if (rc != 0)
    return rc;
  tubo__objmem_t mem;
  /* The first values are in place before any other process can see the memory. */
  size_t init_len = init != NULL ? length * size : 0;
  if (collective)
    rc = tubo__objmem_comm_fill(comm, bytes, TUBO__ARRAY_DATA_OFF, init, init_len, &mem);
  else if ((rc = tubo__objmem_anon(bytes, &mem)) == 0 && init != NULL)
    memcpy((char *)mem.base + TUBO__ARRAY_DATA_OFF, init, init_len);
  /* The ranks share no memory: each has a copy, rank 0 serves the reference. */
  tubo__array_srv_t *srv = NULL;
  if (rc == TUBO_ENOTSUP && collective) {
    if ((rc = tubo__objmem_anon(bytes, &mem)) != 0)
      return rc;
    if (init != NULL)
      memcpy((char *)mem.base + TUBO__ARRAY_DATA_OFF, init, init_len);
    rc = tubo__array_srv_open(comm, (char *)mem.base + TUBO__ARRAY_DATA_OFF, length * size,
                              (uint64_t)type, (uint64_t)length, &srv);
    if (rc != 0) {
      tubo__objmem_release(&mem);
      return rc;
    }
  }
  if (rc != 0)
    return rc;
  rc = array_head_setup(mem.base, type, length);
  tubo_array_t *a = rc == 0 ? malloc(sizeof *a) : NULL;
  if (a != NULL && tubo__handle_add(a, TUBO__H_ARRAY) != 0) {
    free(a);
    a = NULL;
  }
  if (a == NULL) {
    if (srv != NULL) {
      tubo_array_t tmp = {&tubo__array_served_ops, type, length, mem, srv};
      (void)tmp.ops->free_(&tmp);
    }
    tubo__objmem_release(&mem);
    return rc != 0 ? rc : TUBO_ENOMEM;
  }
  *a = (tubo_array_t){srv != NULL ? &tubo__array_served_ops : &tubo__array_shm_ops, type, length,
                      mem, srv};
  *out = a;
  return 0;
}

int tubo_array_create(tubo_type_t type, size_t length, tubo_array_t **a)
{
  return tubo__array_make(NULL, 0, type, length, NULL, a);
}

static int array_open_do(tubo_comm_t *comm, tubo_type_t type, size_t length, tubo_array_t **a)
{
  return tubo__array_make(comm, 1, type, length, NULL, a);
}

int tubo_array_open(tubo_comm_t *comm, tubo_type_t type, size_t length, tubo_array_t **a)
{
  return tubo__error_ret(comm, array_open_do(comm, type, length, a), "tubo_array_open");
}

/* Whether a is a live handle: looked up before it is followed, so that a freed one is
 * never read. */
static int array_live(const tubo_array_t *a)
{
  return tubo__handle_live(a, TUBO__H_ARRAY);
}

void *tubo_array_data(const tubo_array_t *a)
{
  if (!array_live(a) || !array_head_ok(a))
    return NULL;
  return (char *)a->mem.base + TUBO__ARRAY_DATA_OFF;
}

int tubo_array_length(const tubo_array_t *a, size_t *length)
{
  if (!array_live(a))
    return TUBO_EARRAY;
  if (length == NULL)
    return TUBO_EINVAL;
  *length = a->length;
  return 0;
}

/* The checks of lock and unlock: a live handle, and a header that says what it knows. */
static int array_usable(const tubo_array_t *a)
{
  if (!array_live(a))
    return TUBO_EARRAY;
  return array_head_ok(a) ? 0 : TUBO_ECORRUPT;
}

int tubo_array_lock(tubo_array_t *a)
{
  int rc = array_usable(a);
  return rc != 0 ? rc : a->ops->lock(a);
}

int tubo_array_unlock(tubo_array_t *a)
{
  int rc = array_usable(a);
  return rc != 0 ? rc : a->ops->unlock(a);
}

int tubo_array_free(tubo_array_t *a)
{
  if (!array_live(a))
    return TUBO_EARRAY;
  int rc = a->ops->free_(a);
  tubo__handle_remove(a);
  tubo__objmem_release(&a->mem);
  free(a);
  return rc;
}

/* ---- The array in shared memory: the lock is in its header ---- */

static int array_shm_lock(tubo_array_t *a)
{
  return tubo__lock_take(&array_head(a)->lock);
}

static int array_shm_unlock(tubo_array_t *a)
{
  return tubo__lock_release(&array_head(a)->lock);
}

/* A lock this process holds would otherwise stay taken while it lives. */
static int array_shm_free(tubo_array_t *a)
{
  if (array_head_ok(a))
    tubo__lock_drop(&array_head(a)->lock);
  return 0;
}

const tubo__array_ops_t tubo__array_shm_ops = {array_shm_lock, array_shm_unlock, array_shm_free};
