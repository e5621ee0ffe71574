/* SPDX-License-Identifier: MIT */
/* The public pipe calls: argument, state and direction checks, then the kind's own
 * operation (pipe.h). */
#include "config.h"

#include "patterns/pipe.h"

#include "handles.h"

#include <stdint.h>
#include <stdlib.h>

tubo_pipe_t *tubo__pipe_new(const tubo__pipe_ops_t *ops, void *impl, int can_send, int can_recv)
{
  tubo_pipe_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return NULL;
  if (tubo__handle_add(p, TUBO__H_PIPE) != 0) {
    free(p);
    return NULL;
  }
  p->magic = TUBO__PIPE_MAGIC;
  p->ops = ops;
  p->impl = impl;
  p->can_send = can_send;
  p->can_recv = can_recv;
  return p;
}

/* Whether p is a live handle: looked up before it is followed, so that a freed one is
 * never read. */
static int pipe_live(const tubo_pipe_t *p)
{
  return tubo__handle_live(p, TUBO__H_PIPE) && p->magic == TUBO__PIPE_MAGIC;
}

/* The checks every call on an end shares: a valid handle, still open. */
static int pipe_check(const tubo_pipe_t *p)
{
  if (!pipe_live(p))
    return TUBO_EPIPE;
  return p->closed ? TUBO_ECLOSED : 0;
}

int tubo_pipe_send(tubo_pipe_t *p, const void *buf, size_t len)
{
  int rc = pipe_check(p);
  if (rc != 0)
    return rc;
  if (buf == NULL && len > 0)
    return TUBO_EINVAL;
  /* No object spans more than PTRDIFF_MAX bytes: such a length is a negative count
   * converted, and reading it would run off the buffer. */
  if (len > PTRDIFF_MAX)
    return TUBO_ETOOBIG;
  if (!p->can_send)
    return TUBO_ENOTSUP;
  return p->ops->send(p, buf, len);
}

int tubo_pipe_recv(tubo_pipe_t *p, void *buf, size_t cap, size_t *len)
{
  int rc = pipe_check(p);
  if (rc != 0)
    return rc;
  if (buf == NULL && cap > 0)
    return TUBO_EINVAL;
  if (!p->can_recv)
    return TUBO_ENOTSUP;
  size_t n = 0;
  rc = p->ops->recv(p, buf, cap, 0, NULL, &n);
  if (len != NULL && (rc == 0 || rc == TUBO_ETRUNC))
    *len = n;
  return rc;
}

int tubo_pipe_recv_alloc(tubo_pipe_t *p, void **buf, size_t *len)
{
  int rc = pipe_check(p);
  if (rc != 0)
    return rc;
  if (buf == NULL)
    return TUBO_EINVAL;
  *buf = NULL;
  if (!p->can_recv)
    return TUBO_ENOTSUP;
  size_t n = 0;
  rc = p->ops->recv(p, NULL, 0, 1, buf, &n);
  if (len != NULL && rc == 0)
    *len = n;
  return rc;
}

int tubo_pipe_poll(tubo_pipe_t *p, int timeout_ms, int *ready)
{
  int rc = pipe_check(p);
  if (rc != 0)
    return rc;
  if (ready == NULL)
    return TUBO_EINVAL;
  *ready = 0;
  if (!p->can_recv)
    return TUBO_ENOTSUP;
  return p->ops->poll(p, timeout_ms, ready);
}

int tubo_pipe_close(tubo_pipe_t *p)
{
  int rc = pipe_check(p);
  if (rc != 0)
    return rc;
  p->closed = 1;
  p->ops->close(p);
  return 0;
}

int tubo_pipe_free(tubo_pipe_t *p)
{
  if (!pipe_live(p))
    return TUBO_EPIPE;
  if (!p->closed) {
    p->closed = 1;
    p->ops->close(p);
  }
  p->ops->free_(p);
  p->magic = 0;
  tubo__handle_remove(p);
  free(p);
  return 0;
}
