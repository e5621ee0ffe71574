/* SPDX-License-Identifier: MIT */
/* A dict served by its home rank (dict_served.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patterns/dict_served.h"
#include "patterns/served.h"

enum { DS_SET = 1, DS_GET, DS_DEL, DS_CONTAINS, DS_LEN, DS_KEYS, DS_CLEAR, DS_CAS };

struct tubo__dict_srv {
  tubo__served_t *served;
  tubo__dcore_t core; /* the home's dict */
};

/* A call's payload: [stamp, 8 bytes, and a delete flag, for DS_CAS] key NUL value. */
static int ds_payload(const char *key, size_t klen, const void *val, size_t len, const void *pre,
                      size_t prelen, unsigned char **out, size_t *outlen)
{
  if (len > SIZE_MAX - prelen - klen - 1)
    return TUBO_ETOOBIG;
  size_t n = prelen + klen + 1 + len;
  unsigned char *p = malloc(n);
  if (p == NULL)
    return TUBO_ENOMEM;
  if (prelen > 0)
    memcpy(p, pre, prelen);
  memcpy(p + prelen, key, klen);
  p[prelen + klen] = '\0';
  if (len > 0)
    memcpy(p + prelen + klen + 1, val, len);
  *out = p;
  *outlen = n;
  return 0;
}

/* Splits a payload into key and value; TUBO_ECORRUPT when it holds no key. */
static int ds_split(const unsigned char *p, size_t n, const char **key, size_t *klen,
                    const void **val, size_t *len)
{
  const unsigned char *end = memchr(p, '\0', n);
  if (end == NULL)
    return TUBO_ECORRUPT;
  *key = (const char *)p;
  *klen = (size_t)(end - p);
  *val = end + 1;
  *len = n - *klen - 1;
  return 0;
}

struct ds_cas_head {
  uint64_t stamp;
  uint8_t del;
};
#define DS_CAS_PRE 9

/* At the home: a call of another rank, answered at once (a dict never makes one wait). */
static int ds_try(tubo__served_t *sv, int src, int op, const void *payload, size_t plen)
{
  tubo__dict_srv_t *s = sv->obj;
  const char *key = NULL;
  const void *val = NULL;
  size_t klen = 0, len = 0, n = 0;
  int rc = 0, found = 0;
  const unsigned char *p = payload;
  switch (op) {
  case DS_SET:
    if ((rc = ds_split(p, plen, &key, &klen, &val, &len)) == 0)
      rc = tubo__dcore_set(&s->core, key, klen, val, len);
    return tubo__served_reply(sv, src, rc, 0, NULL, 0);
  case DS_GET: {
    void *buf = NULL;
    uint64_t stamp = 0;
    if ((rc = ds_split(p, plen, &key, &klen, &val, &len)) == 0)
      rc = tubo__dcore_get_alloc(&s->core, key, klen, &buf, &n, &stamp);
    rc = tubo__served_reply(sv, src, rc, stamp, buf, rc == 0 ? n : 0);
    free(buf);
    return rc;
  }
  case DS_DEL:
    if ((rc = ds_split(p, plen, &key, &klen, &val, &len)) == 0)
      rc = tubo__dcore_del(&s->core, key, klen);
    return tubo__served_reply(sv, src, rc, 0, NULL, 0);
  case DS_CONTAINS:
    if ((rc = ds_split(p, plen, &key, &klen, &val, &len)) == 0)
      rc = tubo__dcore_contains(&s->core, key, klen, &found);
    return tubo__served_reply(sv, src, rc, (uint64_t)found, NULL, 0);
  case DS_LEN:
    rc = tubo__dcore_len(&s->core, &n);
    return tubo__served_reply(sv, src, rc, n, NULL, 0);
  case DS_KEYS: {
    char *packed = NULL;
    size_t bytes = 0;
    rc = tubo__dcore_keys_packed(&s->core, &packed, &bytes, &n);
    rc = tubo__served_reply(sv, src, rc, n, packed, rc == 0 ? bytes : 0);
    free(packed);
    return rc;
  }
  case DS_CLEAR:
    return tubo__served_reply(sv, src, tubo__dcore_clear(&s->core), 0, NULL, 0);
  case DS_CAS: {
    struct ds_cas_head h;
    if (plen < DS_CAS_PRE)
      rc = TUBO_ECORRUPT;
    else {
      memcpy(&h.stamp, p, 8);
      h.del = p[8];
      rc = ds_split(p + DS_CAS_PRE, plen - DS_CAS_PRE, &key, &klen, &val, &len);
    }
    if (rc == 0)
      rc = h.del ? tubo__dcore_cad(&s->core, key, klen, h.stamp)
                 : tubo__dcore_cas(&s->core, key, klen, h.stamp, val, len);
    return tubo__served_reply(sv, src, rc, 0, NULL, 0);
  }
  default:
    return tubo__served_reply(sv, src, TUBO_ECORRUPT, 0, NULL, 0);
  }
}

static const tubo__served_ops_t ds_ops = {ds_try, tubo__served_timedout, 0};

/* At a rank other than the home: one call with key (and value), its answer's payload
 * left in the served buffer (*rlen bytes). */
static int ds_call(tubo__dict_srv_t *s, int op, const char *key, size_t klen, const void *val,
                   size_t len, const void *pre, size_t prelen, size_t *rlen, uint64_t *value)
{
  unsigned char *p = NULL;
  size_t plen = 0;
  int rc = ds_payload(key, klen, val, len, pre, prelen, &p, &plen);
  if (rc != 0)
    return rc;
  rc = tubo__served_call(s->served, op, -1, p, plen, NULL, 0, rlen, value);
  free(p);
  return rc;
}

int tubo__dict_srv_set(tubo__dict_srv_t *s, const char *key, size_t klen, const void *val,
                       size_t len)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_set(&s->core, key, klen, val, len);
  return ds_call(s, DS_SET, key, klen, val, len, NULL, 0, NULL, NULL);
}

int tubo__dict_srv_get(tubo__dict_srv_t *s, const char *key, size_t klen, void *buf, size_t cap,
                       size_t *len)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_get(&s->core, key, klen, buf, cap, len);
  size_t n = 0;
  rc = ds_call(s, DS_GET, key, klen, NULL, 0, NULL, 0, &n, NULL);
  if (rc != 0)
    return rc;
  return tubo__served_answer_copy(s->served, n, buf, cap, len);
}

int tubo__dict_srv_get_alloc(tubo__dict_srv_t *s, const char *key, size_t klen, void **buf,
                             size_t *len, uint64_t *stamp)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_get_alloc(&s->core, key, klen, buf, len, stamp);
  size_t n = 0;
  uint64_t st = 0;
  rc = ds_call(s, DS_GET, key, klen, NULL, 0, NULL, 0, &n, &st);
  if (rc != 0)
    return rc;
  if ((rc = tubo__served_answer_dup(s->served, n, buf, len)) != 0)
    return rc;
  if (stamp != NULL)
    *stamp = st;
  return 0;
}

int tubo__dict_srv_del(tubo__dict_srv_t *s, const char *key, size_t klen)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_del(&s->core, key, klen);
  return ds_call(s, DS_DEL, key, klen, NULL, 0, NULL, 0, NULL, NULL);
}

int tubo__dict_srv_contains(tubo__dict_srv_t *s, const char *key, size_t klen, int *found)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_contains(&s->core, key, klen, found);
  uint64_t v = 0;
  rc = ds_call(s, DS_CONTAINS, key, klen, NULL, 0, NULL, 0, NULL, &v);
  if (rc == 0)
    *found = v != 0;
  return rc;
}

int tubo__dict_srv_len(tubo__dict_srv_t *s, size_t *n)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_len(&s->core, n);
  return tubo__served_call_count(s->served, DS_LEN, n);
}

int tubo__dict_srv_keys_packed(tubo__dict_srv_t *s, char **packed, size_t *bytes, size_t *n)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_keys_packed(&s->core, packed, bytes, n);
  void *p = NULL;
  if ((rc = tubo__served_call_packed(s->served, DS_KEYS, &p, bytes, n)) == 0)
    *packed = p;
  return rc;
}

int tubo__dict_srv_clear(tubo__dict_srv_t *s)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_clear(&s->core);
  return tubo__served_call(s->served, DS_CLEAR, -1, NULL, 0, NULL, 0, NULL, NULL);
}

/* An update from a rank other than the home: read the value and its stamp, run fn, and
 * send the result back to be taken only if the stamp still holds; again until it does. */
int tubo__dict_srv_update(tubo__dict_srv_t *s, const char *key, size_t klen, tubo_dict_update_fn fn,
                          void *arg)
{
  int rc = tubo__served_live_poll(s->served);
  if (rc != 0)
    return rc;
  if (s->served->home)
    return tubo__dcore_update(&s->core, key, klen, fn, arg);
  for (;;) {
    void *cur = NULL;
    size_t curlen = 0;
    uint64_t stamp = 0;
    rc = tubo__dict_srv_get_alloc(s, key, klen, &cur, &curlen, &stamp);
    int found = rc == 0;
    if (rc != 0 && rc != TUBO_ENOKEY)
      return rc;
    if (!found)
      stamp = 0;
    size_t cap = found && curlen > 64 ? curlen : 64, len = 0;
    unsigned char *buf = NULL;
    for (rc = 0;;) {
      unsigned char *p = realloc(buf, cap);
      if (p == NULL) {
        rc = TUBO_ENOMEM;
        break;
      }
      buf = p;
      len = found ? curlen : TUBO_DICT_MISSING;
      if (found && curlen > 0)
        memcpy(buf, cur, curlen);
      rc = fn(buf, &len, cap, arg);
      if (rc != 0 || len == TUBO_DICT_MISSING || len <= cap)
        break;
      cap = len;
    }
    free(cur);
    if (rc != 0 || (len == TUBO_DICT_MISSING && !found)) {
      free(buf);
      return rc > 0 ? 0 : rc;
    }
    unsigned char pre[DS_CAS_PRE];
    memcpy(pre, &stamp, 8);
    pre[8] = len == TUBO_DICT_MISSING;
    rc = ds_call(s, DS_CAS, key, klen, buf, pre[8] ? 0 : len, pre, sizeof pre, NULL, NULL);
    free(buf);
    if (rc != TUBO_EAGAIN)
      return rc;
  }
}

static void ds_release(tubo__dict_srv_t *s)
{
  if (s->core.sh != NULL)
    tubo__dcore_destroy(&s->core);
  free(s);
}

int tubo__dict_srv_free(tubo__dict_srv_t *s)
{
  int rc = tubo__served_free(s->served);
  ds_release(s);
  return rc;
}

static int ds_make(tubo__objheap_t *mem, void *core)
{
  return tubo__dcore_make(mem, core);
}

int tubo__dict_srv_open(tubo_comm_t *comm, tubo__dict_srv_t **out)
{
  tubo__dict_srv_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  static const char config[] = "dict";
  int rc = tubo__served_open_heap(comm, &ds_ops, s, config, sizeof config, ds_make, &s->core,
                                  &s->served);
  if (rc != 0) {
    ds_release(s);
    return rc;
  }
  *out = s;
  return 0;
}
