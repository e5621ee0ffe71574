/* SPDX-License-Identifier: MIT */
/* An Array or Value whose ranks share no memory, served by its home (served.h).
 *
 * Every rank keeps a copy of the elements, and the copies agree under the lock: taking
 * it brings the home's copy (the reference), releasing it sends this rank's copy back.
 * So a rank that reads and writes only while it holds the lock, as Python's documentation
 * asks of a shared Array, sees every change made before under the lock by any rank. The
 * home's copy is the reference itself: it holds the lock as any rank does. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patterns/served.h"
#include "patterns/array.h"

enum { AS_LOCK = 1, AS_UNLOCK };

struct tubo__array_srv {
  tubo__served_t *served;
  unsigned char *data; /* this rank's copy (the home's: the reference) */
  size_t bytes;
  int depth;  /* how many times this rank holds the lock (it is recursive) */
  int holder; /* at the home: the rank holding the lock, or -1 */
};

/* At the home: another rank takes or releases the lock. */
static int as_try(tubo__served_t *sv, int src, int op, const void *payload, size_t len)
{
  tubo__array_srv_t *s = sv->obj;
  if (op == AS_LOCK) {
    if (s->holder != -1)
      return 1;
    s->holder = src;
    return tubo__served_reply(sv, src, 0, 0, s->data, s->bytes);
  }
  if (op == AS_UNLOCK) {
    if (s->holder != src || len != s->bytes)
      return tubo__served_reply(sv, src, TUBO_EINVAL, 0, NULL, 0);
    memcpy(s->data, payload, len);
    s->holder = -1;
    return tubo__served_reply(sv, src, 0, 0, NULL, 0);
  }
  return tubo__served_reply(sv, src, TUBO_ECORRUPT, 0, NULL, 0);
}

/* Locks wait for ever: the timeout's answer is never used. */
static const tubo__served_ops_t as_ops = {as_try, tubo__served_timedout, 0};

static int as_home_free(void *arg)
{
  tubo__array_srv_t *s = arg;
  if (s->holder != -1)
    return 0;
  s->holder = 0;
  return 1;
}

static int as_lock(tubo_array_t *a)
{
  tubo__array_srv_t *s = a->srv;
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (s->depth > 0) {
    s->depth++;
    return 0;
  }
  if (s->served->home) {
    rc = tubo__served_wait(s->served, as_home_free, s);
  } else {
    size_t got = 0;
    rc = tubo__served_call(s->served, AS_LOCK, -1, NULL, 0, s->data, s->bytes, &got, NULL);
    if (rc == 0 && got != s->bytes)
      rc = TUBO_ECORRUPT;
  }
  if (rc == 0)
    s->depth = 1;
  return rc;
}

static int as_unlock(tubo_array_t *a)
{
  tubo__array_srv_t *s = a->srv;
  int rc = tubo__served_live(s->served);
  if (rc != 0)
    return rc;
  if (s->depth == 0)
    return TUBO_EINVAL;
  if (--s->depth > 0)
    return 0;
  if (!s->served->home)
    return tubo__served_call(s->served, AS_UNLOCK, -1, s->data, s->bytes, NULL, 0, NULL, NULL);
  s->holder = -1;
  tubo__served_kick(s->served); /* a rank waiting for the lock gets it now */
  return 0;
}

/* Releases the lock if held, then ends this rank's part (the home waits for the others). */
static int as_free(tubo_array_t *a)
{
  tubo__array_srv_t *s = a->srv;
  if (s->depth > 0) {
    s->depth = 1;
    (void)as_unlock(a);
  }
  int rc = tubo__served_free(s->served);
  free(s);
  a->srv = NULL;
  return rc;
}

const tubo__array_ops_t tubo__array_served_ops = {as_lock, as_unlock, as_free};

int tubo__array_srv_open(tubo_comm_t *comm, void *data, size_t bytes, uint64_t type,
                         uint64_t length, tubo__array_srv_t **out)
{
  tubo__array_srv_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  s->data = data;
  s->bytes = bytes;
  s->holder = -1;
  uint64_t cfg[2] = {type, length};
  int rc = tubo__served_open(comm, &as_ops, s, bytes, cfg, sizeof cfg, 0, &s->served);
  if (rc != 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}
