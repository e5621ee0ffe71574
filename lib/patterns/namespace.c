/* SPDX-License-Identifier: MIT */
/* A Namespace (tubo.h), as a Manager's: a dict whose keys are the names and whose values
 * carry their C type. A value is a type byte ('l' long, 'd' double, 's' string) then the
 * value's bytes (a string's without its NUL). The atomic additions are dict updates. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patterns/dict.h"
#include "handles.h"
#include "world.h"

struct tubo_ns {
  tubo_dict_t *d;
};

enum { NS_LONG = 'l', NS_DOUBLE = 'd', NS_STR = 's' };

static int ns_make(tubo_comm_t *comm, tubo_ns_t **out)
{
  if (out == NULL)
    return TUBO_EINVAL;
  *out = NULL;
  tubo_ns_t *ns = calloc(1, sizeof *ns);
  if (ns == NULL)
    return TUBO_ENOMEM;
  int rc = tubo__dict_make(comm, comm != NULL, &ns->d);
  if (rc == 0 && tubo__handle_add(ns, TUBO__H_NS) != 0) {
    tubo__dict_unmake(ns->d);
    rc = TUBO_ENOMEM;
  }
  if (rc != 0) {
    free(ns);
    return rc;
  }
  *out = ns;
  return 0;
}

int tubo_ns_create(tubo_ns_t **ns)
{
  return ns_make(NULL, ns);
}

static int ns_open_do(tubo_comm_t *comm, tubo_ns_t **ns)
{
  if (comm == NULL)
    return TUBO_ECOMM;
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  return ns_make(comm, ns);
}

int tubo_ns_open(tubo_comm_t *comm, tubo_ns_t **ns)
{
  return tubo__error_ret(comm, ns_open_do(comm, ns), "tubo_ns_open");
}

int tubo_ns_free(tubo_ns_t *ns)
{
  if (!tubo__handle_live(ns, TUBO__H_NS))
    return TUBO_ENS;
  tubo__handle_remove(ns);
  int rc = tubo__dict_unmake(ns->d);
  free(ns);
  return rc;
}

/* A live handle and a name; *klen its length. */
static int ns_args(const tubo_ns_t *ns, const char *name, size_t *klen)
{
  if (!tubo__handle_live(ns, TUBO__H_NS))
    return TUBO_ENS;
  if (name == NULL || name[0] == '\0')
    return TUBO_EINVAL;
  *klen = strlen(name);
  return *klen > TUBO__DICT_KEY_MAX ? TUBO_ETOOBIG : 0;
}

/* Sets name to a value of type: the type byte, then len bytes. */
static int ns_set(tubo_ns_t *ns, const char *name, int type, const void *val, size_t len)
{
  size_t klen;
  int rc = ns_args(ns, name, &klen);
  if (rc != 0)
    return rc;
  if (len > SIZE_MAX - 1)
    return TUBO_ETOOBIG;
  unsigned char small[16], *buf = len < sizeof small ? small : malloc(len + 1);
  if (buf == NULL)
    return TUBO_ENOMEM;
  buf[0] = (unsigned char)type;
  if (len > 0)
    memcpy(buf + 1, val, len);
  rc = tubo__dict_set(ns->d, name, klen, buf, len + 1);
  if (buf != small)
    free(buf);
  return rc;
}

/* Reads a number of type (8 bytes) into out. */
static int ns_get_num(tubo_ns_t *ns, const char *name, int type, void *out)
{
  size_t klen;
  int rc = ns_args(ns, name, &klen);
  if (rc != 0)
    return rc;
  if (out == NULL)
    return TUBO_EINVAL;
  unsigned char buf[9];
  size_t len = 0;
  rc = tubo__dict_get(ns->d, name, klen, buf, sizeof buf, &len);
  if (rc == TUBO_ETRUNC || (rc == 0 && (len == 0 || buf[0] != type)))
    return TUBO_ETYPE;
  if (rc == 0 && len != sizeof buf)
    return TUBO_ECORRUPT;
  if (rc == 0)
    memcpy(out, buf + 1, 8);
  return rc;
}

int tubo_ns_set_long(tubo_ns_t *ns, const char *name, long v)
{
  int64_t x = v;
  return ns_set(ns, name, NS_LONG, &x, 8);
}

int tubo_ns_get_long(tubo_ns_t *ns, const char *name, long *v)
{
  int64_t x = 0;
  int rc = ns_get_num(ns, name, NS_LONG, v == NULL ? NULL : &x);
  if (rc == 0)
    *v = (long)x;
  return rc;
}

int tubo_ns_set_double(tubo_ns_t *ns, const char *name, double v)
{
  return ns_set(ns, name, NS_DOUBLE, &v, 8);
}

int tubo_ns_get_double(tubo_ns_t *ns, const char *name, double *v)
{
  return ns_get_num(ns, name, NS_DOUBLE, v);
}

int tubo_ns_set_str(tubo_ns_t *ns, const char *name, const char *s)
{
  if (s == NULL)
    return tubo__handle_live(ns, TUBO__H_NS) ? TUBO_EINVAL : TUBO_ENS;
  return ns_set(ns, name, NS_STR, s, strlen(s));
}

int tubo_ns_get_str(tubo_ns_t *ns, const char *name, char *buf, size_t cap)
{
  size_t klen;
  int rc = ns_args(ns, name, &klen);
  if (rc != 0)
    return rc;
  if (buf == NULL || cap == 0)
    return TUBO_EINVAL;
  void *v = NULL;
  size_t len = 0;
  rc = tubo__dict_get_alloc(ns->d, name, klen, &v, &len, NULL);
  const unsigned char *p = v;
  if (rc == 0 && (len == 0 || p[0] != NS_STR))
    rc = TUBO_ETYPE;
  if (rc == 0) {
    size_t n = len - 1 < cap - 1 ? len - 1 : cap - 1;
    memcpy(buf, p + 1, n);
    buf[n] = '\0';
    if (len - 1 > cap - 1)
      rc = TUBO_ETRUNC;
  }
  free(v);
  return rc;
}

/* The addition an update makes: a number of its type, plus delta; the result kept. */
typedef struct ns_add {
  int type;
  int64_t dl;
  double dd;
  unsigned char result[8];
} ns_add_t;

static int ns_add_fn(void *value, size_t *len, size_t cap, void *arg)
{
  ns_add_t *a = arg;
  unsigned char *p = value;
  (void)cap;
  if (*len == TUBO_DICT_MISSING)
    return TUBO_ENOKEY;
  if (*len != 9 || p[0] != a->type)
    return TUBO_ETYPE;
  if (a->type == NS_LONG) {
    int64_t x;
    memcpy(&x, p + 1, 8);
    x = (int64_t)((uint64_t)x + (uint64_t)a->dl); /* wraps, as the processor's addition */
    memcpy(p + 1, &x, 8);
  } else {
    double x;
    memcpy(&x, p + 1, 8);
    x += a->dd;
    memcpy(p + 1, &x, 8);
  }
  memcpy(a->result, p + 1, 8);
  return 0;
}

static int ns_add(tubo_ns_t *ns, const char *name, ns_add_t *a)
{
  size_t klen;
  int rc = ns_args(ns, name, &klen);
  if (rc != 0)
    return rc;
  return tubo__dict_update(ns->d, name, klen, ns_add_fn, a);
}

int tubo_ns_add_long(tubo_ns_t *ns, const char *name, long delta, long *result)
{
  ns_add_t a = {NS_LONG, delta, 0, {0}};
  int rc = ns_add(ns, name, &a);
  if (rc == 0 && result != NULL) {
    int64_t x;
    memcpy(&x, a.result, 8);
    *result = (long)x;
  }
  return rc;
}

int tubo_ns_add_double(tubo_ns_t *ns, const char *name, double delta, double *result)
{
  ns_add_t a = {NS_DOUBLE, 0, delta, {0}};
  int rc = ns_add(ns, name, &a);
  if (rc == 0 && result != NULL)
    memcpy(result, a.result, 8);
  return rc;
}

int tubo_ns_del(tubo_ns_t *ns, const char *name)
{
  size_t klen;
  int rc = ns_args(ns, name, &klen);
  if (rc != 0)
    return rc;
  return tubo__dict_del(ns->d, name, klen);
}

int tubo_ns_names(tubo_ns_t *ns, char ***names, size_t *n)
{
  if (!tubo__handle_live(ns, TUBO__H_NS))
    return TUBO_ENS;
  if (names == NULL || n == NULL)
    return TUBO_EINVAL;
  *names = NULL;
  *n = 0;
  return tubo__dict_keys(ns->d, names, n);
}
