/* SPDX-License-Identifier: MIT */
/* A list served by its home rank (list_served.h). A call's payload is its index (8
 * bytes, for the calls that take one) then the item; extend sends items packed as a
 * snapshot comes back: each one's length (8 bytes), then its bytes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patterns/list_served.h"
#include "patterns/served.h"

enum { LS_EXTEND = 1, LS_GET, LS_SET, LS_INSERT, LS_POP, LS_LEN, LS_SNAPSHOT };

struct tubo__list_srv {
  tubo__served_t *served;
  tubo__lcore_t core; /* the home's list */
};

/* Packs n items: each one's length, then its bytes. */
static int ls_pack(const tubo_item_t *items, size_t n, unsigned char **out, size_t *bytes)
{
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (items[i].len > SIZE_MAX / 2 - total - 8)
      return TUBO_ETOOBIG;
    total += 8 + items[i].len;
  }
  unsigned char *p = malloc(total ? total : 1);
  if (p == NULL)
    return TUBO_ENOMEM;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t len = items[i].len;
    memcpy(p + at, &len, 8);
    if (len > 0)
      memcpy(p + at + 8, items[i].data, items[i].len);
    at += 8 + items[i].len;
  }
  *out = p;
  *bytes = total;
  return 0;
}

/* At the home: the extend of another rank, from its packed items. */
static int ls_extend_packed(tubo__list_srv_t *s, const unsigned char *p, size_t bytes)
{
  size_t n = 0;
  for (size_t at = 0; at < bytes; n++) {
    uint64_t len;
    if (bytes - at < 8)
      return TUBO_ECORRUPT;
    memcpy(&len, p + at, 8);
    if (len > bytes - at - 8)
      return TUBO_ECORRUPT;
    at += 8 + (size_t)len;
  }
  tubo_item_t *items = malloc((n ? n : 1) * sizeof *items);
  if (items == NULL)
    return TUBO_ENOMEM;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t len;
    memcpy(&len, p + at, 8);
    items[i] = (tubo_item_t){p + at + 8, (size_t)len};
    at += 8 + (size_t)len;
  }
  int rc = tubo__lcore_extend(&s->core, items, n);
  free(items);
  return rc;
}

static int ls_try(tubo__served_t *sv, int src, int op, const void *payload, size_t plen)
{
  tubo__list_srv_t *s = sv->obj;
  const unsigned char *p = payload;
  int64_t index = 0;
  size_t n = 0;
  void *buf = NULL;
  int rc = 0;
  if (op == LS_GET || op == LS_SET || op == LS_INSERT || op == LS_POP) {
    if (plen < 8)
      return tubo__served_reply(sv, src, TUBO_ECORRUPT, 0, NULL, 0);
    memcpy(&index, p, 8);
    p += 8;
    plen -= 8;
  }
  switch (op) {
  case LS_EXTEND:
    return tubo__served_reply(sv, src, ls_extend_packed(s, p, plen), 0, NULL, 0);
  case LS_GET:
  case LS_POP:
    rc = op == LS_GET ? tubo__lcore_get_alloc(&s->core, (ptrdiff_t)index, &buf, &n)
                      : tubo__lcore_pop_alloc(&s->core, (ptrdiff_t)index, &buf, &n);
    rc = tubo__served_reply(sv, src, rc, n, buf, rc == 0 ? n : 0);
    free(buf);
    return rc;
  case LS_SET:
    return tubo__served_reply(sv, src, tubo__lcore_set(&s->core, (ptrdiff_t)index, p, plen), 0,
                              NULL, 0);
  case LS_INSERT:
    return tubo__served_reply(sv, src, tubo__lcore_insert(&s->core, (ptrdiff_t)index, p, plen), 0,
                              NULL, 0);
  case LS_LEN:
    rc = tubo__lcore_len(&s->core, &n);
    return tubo__served_reply(sv, src, rc, n, NULL, 0);
  case LS_SNAPSHOT: {
    unsigned char *packed = NULL;
    size_t bytes = 0;
    rc = tubo__lcore_packed(&s->core, &packed, &bytes, &n);
    rc = tubo__served_reply(sv, src, rc, n, packed, rc == 0 ? bytes : 0);
    free(packed);
    return rc;
  }
  default:
    return tubo__served_reply(sv, src, TUBO_ECORRUPT, 0, NULL, 0);
  }
}

static const tubo__served_ops_t ls_ops = {ls_try, tubo__served_timedout, 0};

/* At a rank other than the home: a call with an index and an item. */
static int ls_call(tubo__list_srv_t *s, int op, ptrdiff_t index, const void *item, size_t len,
                   size_t *rlen, uint64_t *value)
{
  if (len > SIZE_MAX - 8)
    return TUBO_ETOOBIG;
  unsigned char *p = malloc(8 + len);
  if (p == NULL)
    return TUBO_ENOMEM;
  int64_t i = (int64_t)index;
  memcpy(p, &i, 8);
  if (len > 0)
    memcpy(p + 8, item, len);
  int rc = tubo__served_call(s->served, op, -1, p, 8 + len, NULL, 0, rlen, value);
  free(p);
  return rc;
}

int tubo__list_srv_extend(tubo__list_srv_t *s, const tubo_item_t *items, size_t n)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__lcore_extend(&s->core, items, n);
  unsigned char *p = NULL;
  size_t bytes = 0;
  if ((rc = ls_pack(items, n, &p, &bytes)) != 0)
    return rc;
  rc = tubo__served_call(s->served, LS_EXTEND, -1, p, bytes, NULL, 0, NULL, NULL);
  free(p);
  return rc;
}

int tubo__list_srv_get(tubo__list_srv_t *s, ptrdiff_t index, void *buf, size_t cap, size_t *len)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__lcore_get(&s->core, index, buf, cap, len);
  size_t n = 0;
  if ((rc = ls_call(s, LS_GET, index, NULL, 0, &n, NULL)) != 0)
    return rc;
  return tubo__served_answer_copy(s->served, n, buf, cap, len);
}

int tubo__list_srv_set(tubo__list_srv_t *s, ptrdiff_t index, const void *item, size_t len)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__lcore_set(&s->core, index, item, len);
  return ls_call(s, LS_SET, index, item, len, NULL, NULL);
}

int tubo__list_srv_insert(tubo__list_srv_t *s, ptrdiff_t index, const void *item, size_t len)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__lcore_insert(&s->core, index, item, len);
  return ls_call(s, LS_INSERT, index, item, len, NULL, NULL);
}

int tubo__list_srv_pop_alloc(tubo__list_srv_t *s, ptrdiff_t index, void **buf, size_t *len)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__lcore_pop_alloc(&s->core, index, buf, len);
  size_t n = 0;
  if ((rc = ls_call(s, LS_POP, index, NULL, 0, &n, NULL)) != 0)
    return rc;
  return tubo__served_answer_dup(s->served, n, buf, len); /* ENOMEM: popped all the same */
}

int tubo__list_srv_len(tubo__list_srv_t *s, size_t *n)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__lcore_len(&s->core, n);
  return tubo__served_call_count(s->served, LS_LEN, n);
}

int tubo__list_srv_packed(tubo__list_srv_t *s, unsigned char **packed, size_t *bytes, size_t *n)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__lcore_packed(&s->core, packed, bytes, n);
  void *p = NULL;
  if ((rc = tubo__served_call_packed(s->served, LS_SNAPSHOT, &p, bytes, n)) == 0)
    *packed = p;
  return rc;
}

static void ls_release(tubo__list_srv_t *s)
{
  if (s->core.sh != NULL)
    tubo__lcore_destroy(&s->core);
  free(s);
}

int tubo__list_srv_free(tubo__list_srv_t *s)
{
  int rc = tubo__served_free(s->served);
  ls_release(s);
  return rc;
}

static int ls_make(tubo__objheap_t *mem, void *core)
{
  return tubo__lcore_make(mem, core);
}

int tubo__list_srv_open(tubo_comm_t *comm, tubo__list_srv_t **out)
{
  tubo__list_srv_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  static const char config[] = "list";
  int rc = tubo__served_open_heap(comm, &ls_ops, s, config, sizeof config, ls_make, &s->core,
                                  &s->served);
  if (rc != 0) {
    ls_release(s);
    return rc;
  }
  *out = s;
  return 0;
}
