/* SPDX-License-Identifier: MIT */
/* The public dict (tubo.h): a handle on a dict in shared memory (dict_table.c), or on one
 * a home rank holds for ranks that share no memory (dict_served.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "patterns/dict.h"
#include "patterns/dict_served.h"
#include "handles.h"
#include "patterns/objmem.h"
#include "world.h"

/* ---- Making and freeing ---- */

/* A dict for this process and those it forks: the process tree's heap; the process that
 * makes it destroys it when it frees it. */
static int dict_make_own(tubo_dict_t *d)
{
  tubo__objheap_t mem;
  int rc = tubo__objheap_process(&mem);
  if (rc == 0)
    rc = tubo__dcore_make(&mem, &d->core);
  if (rc == 0)
    d->owner = getpid();
  return rc;
}

static int dict_kind_make_at(const tubo__objheap_t *mem, uint64_t off, void *core)
{
  return tubo__dcore_make_at(mem, off, core);
}

static int dict_kind_attach(const tubo__objheap_t *mem, uint64_t off, void *core)
{
  return tubo__dcore_attach(mem, off, core);
}

static void dict_kind_empty(void *core)
{
  tubo__dcore_empty(core);
}

static const tubo__objheap_kind_t dict_kind = {sizeof(dict_head_t), dict_kind_make_at,
                                               dict_kind_attach, dict_kind_empty};

/* A dict opened by every rank of comm: in the job's heap, or served by rank 0. */
static int dict_make_comm(tubo_comm_t *comm, tubo_dict_t *d)
{
  int rc = tubo__objheap_open(comm, &dict_kind, &d->core, &d->mem);
  if (rc == TUBO_ENOTSUP)
    return tubo__dict_srv_open(comm, &d->srv);
  if (rc == 1)
    return dict_make_own(d);
  if (rc == 0)
    d->comm = comm;
  return rc;
}

int tubo__dict_make(tubo_comm_t *comm, int collective, tubo_dict_t **out)
{
  if (out == NULL)
    return TUBO_EINVAL;
  *out = NULL;
  if (collective && comm == NULL)
    return TUBO_ECOMM;
  tubo_dict_t *d = calloc(1, sizeof *d);
  if (d == NULL)
    return TUBO_ENOMEM;
  int rc = collective ? dict_make_comm(comm, d) : dict_make_own(d);
  if (rc != 0) {
    free(d);
    return rc;
  }
  *out = d;
  return 0;
}

int tubo__dict_unmake(tubo_dict_t *d)
{
  int rc = 0;
  if (d->srv != NULL) {
    rc = tubo__dict_srv_free(d->srv);
  } else if (d->owner != 0) {
    if (d->owner == getpid())
      tubo__dcore_destroy(&d->core);
  } else if (tubo__objmem_release_last(&d->mem)) {
    tubo__dcore_empty(&d->core);
    tubo__objmem_free_block(&d->mem);
  }
  free(d);
  return rc;
}

static int dict_add_handle(int rc, tubo_dict_t **d)
{
  if (rc == 0 && tubo__handle_add(*d, TUBO__H_DICT) != 0) {
    tubo__dict_unmake(*d);
    *d = NULL;
    rc = TUBO_ENOMEM;
  }
  return rc;
}

int tubo_dict_create(tubo_dict_t **d)
{
  return dict_add_handle(tubo__dict_make(NULL, 0, d), d);
}

static int dict_open_do(tubo_comm_t *comm, tubo_dict_t **d)
{
  if (comm == NULL)
    return TUBO_ECOMM;
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  return dict_add_handle(tubo__dict_make(comm, 1, d), d);
}

int tubo_dict_open(tubo_comm_t *comm, tubo_dict_t **d)
{
  return tubo__error_ret(comm, dict_open_do(comm, d), "tubo_dict_open");
}

/* A live dict handle, its header still a dict's. */
static int dict_check(const tubo_dict_t *d)
{
  if (!tubo__handle_live(d, TUBO__H_DICT))
    return TUBO_EDICT;
  return 0;
}

int tubo_dict_free(tubo_dict_t *d)
{
  if (!tubo__handle_live(d, TUBO__H_DICT))
    return TUBO_EDICT;
  tubo__handle_remove(d);
  return tubo__dict_unmake(d);
}

/* ---- The calls, for dicts and Namespaces alike (handles checked) ---- */

/* The dict's shared memory still a dict's, and its communicator still there. */
static int dict_usable(tubo_dict_t *d)
{
  if (d->srv != NULL)
    return 0;
  if (d->comm != NULL) {
    int rc = tubo__comm_check(d->comm);
    if (rc != 0)
      return rc;
  }
  return tubo__dcore_check(&d->core);
}

int tubo__dict_set(tubo_dict_t *d, const char *key, size_t klen, const void *val, size_t len)
{
  int rc = dict_usable(d);
  if (rc != 0)
    return rc;
  if (d->srv != NULL)
    return tubo__dict_srv_set(d->srv, key, klen, val, len);
  return tubo__dcore_set(&d->core, key, klen, val, len);
}

int tubo__dict_get(tubo_dict_t *d, const char *key, size_t klen, void *buf, size_t cap, size_t *len)
{
  int rc = dict_usable(d);
  if (rc != 0)
    return rc;
  if (d->srv != NULL)
    return tubo__dict_srv_get(d->srv, key, klen, buf, cap, len);
  return tubo__dcore_get(&d->core, key, klen, buf, cap, len);
}

int tubo__dict_get_alloc(tubo_dict_t *d, const char *key, size_t klen, void **buf, size_t *len,
                         uint64_t *stamp)
{
  int rc = dict_usable(d);
  if (rc != 0)
    return rc;
  if (d->srv != NULL)
    return tubo__dict_srv_get_alloc(d->srv, key, klen, buf, len, stamp);
  return tubo__dcore_get_alloc(&d->core, key, klen, buf, len, stamp);
}

int tubo__dict_del(tubo_dict_t *d, const char *key, size_t klen)
{
  int rc = dict_usable(d);
  if (rc != 0)
    return rc;
  if (d->srv != NULL)
    return tubo__dict_srv_del(d->srv, key, klen);
  return tubo__dcore_del(&d->core, key, klen);
}

int tubo__dict_keys(tubo_dict_t *d, char ***keys, size_t *n)
{
  int rc = dict_usable(d);
  if (rc != 0)
    return rc;
  char *packed = NULL;
  size_t bytes = 0, count = 0;
  if (d->srv != NULL)
    rc = tubo__dict_srv_keys_packed(d->srv, &packed, &bytes, &count);
  else
    rc = tubo__dcore_keys_packed(&d->core, &packed, &bytes, &count);
  if (rc == 0)
    rc = tubo__dict_keys_unpack(packed, bytes, count, keys);
  if (rc == 0)
    *n = count;
  return rc;
}

int tubo__dict_update(tubo_dict_t *d, const char *key, size_t klen, tubo_dict_update_fn fn,
                      void *arg)
{
  int rc = dict_usable(d);
  if (rc != 0)
    return rc;
  if (d->srv != NULL)
    return tubo__dict_srv_update(d->srv, key, klen, fn, arg);
  return tubo__dcore_update(&d->core, key, klen, fn, arg);
}

/* ---- The public calls ---- */

/* The common checks: a live handle and a key; *klen its length. */
static int dict_args(const tubo_dict_t *d, const char *key, size_t *klen)
{
  int rc = dict_check(d);
  if (rc != 0)
    return rc;
  if (key == NULL)
    return TUBO_EINVAL;
  *klen = strlen(key);
  return *klen > TUBO__DICT_KEY_MAX ? TUBO_ETOOBIG : 0;
}

int tubo_dict_set(tubo_dict_t *d, const char *key, const void *val, size_t len)
{
  size_t klen;
  int rc = dict_args(d, key, &klen);
  if (rc != 0)
    return rc;
  if (val == NULL && len > 0)
    return TUBO_EINVAL;
  return tubo__dict_set(d, key, klen, val, len);
}

int tubo_dict_get(tubo_dict_t *d, const char *key, void *buf, size_t cap, size_t *len)
{
  size_t klen;
  int rc = dict_args(d, key, &klen);
  if (rc != 0)
    return rc;
  if (buf == NULL && cap > 0)
    return TUBO_EINVAL;
  return tubo__dict_get(d, key, klen, buf, cap, len);
}

int tubo_dict_get_alloc(tubo_dict_t *d, const char *key, void **buf, size_t *len)
{
  size_t klen;
  int rc = dict_args(d, key, &klen);
  if (rc != 0)
    return rc;
  if (buf == NULL)
    return TUBO_EINVAL;
  *buf = NULL;
  return tubo__dict_get_alloc(d, key, klen, buf, len, NULL);
}

int tubo_dict_del(tubo_dict_t *d, const char *key)
{
  size_t klen;
  int rc = dict_args(d, key, &klen);
  if (rc != 0)
    return rc;
  return tubo__dict_del(d, key, klen);
}

int tubo_dict_contains(tubo_dict_t *d, const char *key, int *found)
{
  size_t klen;
  int rc = dict_args(d, key, &klen);
  if (rc != 0)
    return rc;
  if (found == NULL)
    return TUBO_EINVAL;
  if ((rc = dict_usable(d)) != 0)
    return rc;
  if (d->srv != NULL)
    return tubo__dict_srv_contains(d->srv, key, klen, found);
  return tubo__dcore_contains(&d->core, key, klen, found);
}

int tubo_dict_len(tubo_dict_t *d, size_t *n)
{
  int rc = dict_check(d);
  if (rc != 0)
    return rc;
  if (n == NULL)
    return TUBO_EINVAL;
  if ((rc = dict_usable(d)) != 0)
    return rc;
  if (d->srv != NULL)
    return tubo__dict_srv_len(d->srv, n);
  return tubo__dcore_len(&d->core, n);
}

int tubo_dict_keys(tubo_dict_t *d, char ***keys, size_t *n)
{
  int rc = dict_check(d);
  if (rc != 0)
    return rc;
  if (keys == NULL || n == NULL)
    return TUBO_EINVAL;
  *keys = NULL;
  *n = 0;
  return tubo__dict_keys(d, keys, n);
}

int tubo_dict_clear(tubo_dict_t *d)
{
  int rc = dict_check(d);
  if (rc != 0)
    return rc;
  if ((rc = dict_usable(d)) != 0)
    return rc;
  if (d->srv != NULL)
    return tubo__dict_srv_clear(d->srv);
  return tubo__dcore_clear(&d->core);
}

int tubo_dict_update(tubo_dict_t *d, const char *key, tubo_dict_update_fn fn, void *arg)
{
  size_t klen;
  int rc = dict_args(d, key, &klen);
  if (rc != 0)
    return rc;
  if (fn == NULL)
    return TUBO_EINVAL;
  return tubo__dict_update(d, key, klen, fn, arg);
}
