/* SPDX-License-Identifier: MIT */
/* The public list (tubo.h): a handle on a list in shared memory (list_core.c), or on one a
 * home rank holds for ranks that share no memory (list_served.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handles.h"
#include "patterns/list.h"
#include "patterns/list_served.h"
#include "world.h"

struct tubo_list {
  tubo__lcore_t core;    /* the list, where this process maps it (srv NULL) */
  pid_t owner;           /* made for processes: the maker, whose free destroys it */
  tubo__objmem_t mem;    /* opened on comm in the job's heap: the header block */
  tubo_comm_t *comm;     /* opened on comm */
  tubo__list_srv_t *srv; /* the ranks share no memory: rank 0 holds it */
};

/* ---- Making and freeing ---- */

static int list_make_own(tubo_list_t *l)
{
  tubo__objheap_t mem;
  int rc = tubo__objheap_process(&mem);
  if (rc == 0)
    rc = tubo__lcore_make(&mem, &l->core);
  if (rc == 0)
    l->owner = getpid();
  return rc;
}

static int list_kind_make_at(const tubo__objheap_t *mem, uint64_t off, void *core)
{
  return tubo__lcore_make_at(mem, off, core);
}

static int list_kind_attach(const tubo__objheap_t *mem, uint64_t off, void *core)
{
  return tubo__lcore_attach(mem, off, core);
}

static void list_kind_empty(void *core)
{
  tubo__lcore_empty(core);
}

static const tubo__objheap_kind_t list_kind = {sizeof(list_head_t), list_kind_make_at,
                                               list_kind_attach, list_kind_empty};

static int list_make(tubo_comm_t *comm, tubo_list_t **out)
{
  if (out == NULL)
    return TUBO_EINVAL;
  *out = NULL;
  tubo_list_t *l = calloc(1, sizeof *l);
  if (l == NULL)
    return TUBO_ENOMEM;
  int rc =
      comm == NULL ? list_make_own(l) : tubo__objheap_open(comm, &list_kind, &l->core, &l->mem);
  if (rc == TUBO_ENOTSUP && comm != NULL)
    rc = tubo__list_srv_open(comm, &l->srv);
  else if (rc == 1)
    rc = list_make_own(l);
  else if (rc == 0)
    l->comm = comm;
  if (rc == 0 && tubo__handle_add(l, TUBO__H_LIST) != 0) {
    tubo_list_free(l);
    return TUBO_ENOMEM;
  }
  if (rc != 0) {
    free(l);
    return rc;
  }
  *out = l;
  return 0;
}

int tubo_list_create(tubo_list_t **l)
{
  return list_make(NULL, l);
}

static int list_open_do(tubo_comm_t *comm, tubo_list_t **l)
{
  if (comm == NULL)
    return TUBO_ECOMM;
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  return list_make(comm, l);
}

int tubo_list_open(tubo_comm_t *comm, tubo_list_t **l)
{
  return tubo__error_ret(comm, list_open_do(comm, l), "tubo_list_open");
}

int tubo_list_free(tubo_list_t *l)
{
  if (!tubo__handle_live(l, TUBO__H_LIST))
    return TUBO_ELIST;
  tubo__handle_remove(l);
  int rc = 0;
  if (l->srv != NULL) {
    rc = tubo__list_srv_free(l->srv);
  } else if (l->owner != 0) {
    if (l->owner == getpid())
      tubo__lcore_destroy(&l->core);
  } else if (tubo__objmem_release_last(&l->mem)) {
    tubo__lcore_empty(&l->core);
    tubo__objmem_free_block(&l->mem);
  }
  free(l);
  return rc;
}

/* ---- The calls ---- */

/* A live handle whose list is still there. */
static int list_check(tubo_list_t *l)
{
  if (!tubo__handle_live(l, TUBO__H_LIST))
    return TUBO_ELIST;
  if (l->srv != NULL)
    return 0;
  if (l->comm != NULL) {
    int rc = tubo__comm_check(l->comm);
    if (rc != 0)
      return rc;
  }
  return tubo__lcore_check(&l->core);
}

int tubo_list_extend(tubo_list_t *l, const tubo_item_t *items, size_t n)
{
  int rc = list_check(l);
  if (rc != 0)
    return rc;
  if (items == NULL && n > 0)
    return TUBO_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (items[i].data == NULL && items[i].len > 0)
      return TUBO_EINVAL;
  if (l->srv != NULL)
    return tubo__list_srv_extend(l->srv, items, n);
  return tubo__lcore_extend(&l->core, items, n);
}

int tubo_list_append(tubo_list_t *l, const void *item, size_t len)
{
  tubo_item_t one = {item, len};
  return tubo_list_extend(l, &one, 1);
}

int tubo_list_get(tubo_list_t *l, ptrdiff_t index, void *buf, size_t cap, size_t *len)
{
  int rc = list_check(l);
  if (rc != 0)
    return rc;
  if (buf == NULL && cap > 0)
    return TUBO_EINVAL;
  if (l->srv != NULL)
    return tubo__list_srv_get(l->srv, index, buf, cap, len);
  return tubo__lcore_get(&l->core, index, buf, cap, len);
}

/* tubo_list_set, or tubo_list_insert where insert is 1. */
static int list_store(tubo_list_t *l, ptrdiff_t index, const void *item, size_t len, int insert)
{
  int rc = list_check(l);
  if (rc != 0)
    return rc;
  if (item == NULL && len > 0)
    return TUBO_EINVAL;
  if (l->srv != NULL)
    return insert ? tubo__list_srv_insert(l->srv, index, item, len)
                  : tubo__list_srv_set(l->srv, index, item, len);
  return insert ? tubo__lcore_insert(&l->core, index, item, len)
                : tubo__lcore_set(&l->core, index, item, len);
}

int tubo_list_set(tubo_list_t *l, ptrdiff_t index, const void *item, size_t len)
{
  return list_store(l, index, item, len, 0);
}

int tubo_list_insert(tubo_list_t *l, ptrdiff_t index, const void *item, size_t len)
{
  return list_store(l, index, item, len, 1);
}

int tubo_list_pop(tubo_list_t *l, ptrdiff_t index, void *buf, size_t cap, size_t *len)
{
  int rc = list_check(l);
  if (rc != 0)
    return rc;
  if (buf == NULL && cap > 0)
    return TUBO_EINVAL;
  void *item = NULL;
  size_t n = 0;
  rc = l->srv != NULL ? tubo__list_srv_pop_alloc(l->srv, index, &item, &n)
                      : tubo__lcore_pop_alloc(&l->core, index, &item, &n);
  if (rc != 0)
    return rc;
  if (n > 0 && cap > 0)
    memcpy(buf, item, n < cap ? n : cap);
  free(item);
  if (len != NULL)
    *len = n;
  return n > cap ? TUBO_ETRUNC : 0;
}

int tubo_list_len(tubo_list_t *l, size_t *n)
{
  int rc = list_check(l);
  if (rc != 0)
    return rc;
  if (n == NULL)
    return TUBO_EINVAL;
  if (l->srv != NULL)
    return tubo__list_srv_len(l->srv, n);
  return tubo__lcore_len(&l->core, n);
}

int tubo_list_snapshot(tubo_list_t *l, tubo_item_t **items, size_t *n)
{
  int rc = list_check(l);
  if (rc != 0)
    return rc;
  if (items == NULL || n == NULL)
    return TUBO_EINVAL;
  *items = NULL;
  *n = 0;
  unsigned char *packed = NULL;
  size_t bytes = 0, count = 0;
  rc = l->srv != NULL ? tubo__list_srv_packed(l->srv, &packed, &bytes, &count)
                      : tubo__lcore_packed(&l->core, &packed, &bytes, &count);
  if (rc == 0)
    rc = tubo__list_unpack(packed, bytes, count, items);
  if (rc == 0)
    *n = count;
  return rc;
}
