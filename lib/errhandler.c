/* SPDX-License-Identifier: MIT */
/* Error handlers: what a failed public call does besides returning its code. The calls
 * route every error through tubo__error, the one place that picks the communicator's
 * handler (or the job's default, from TUBO_ERRORS) and runs it. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "world.h"

/* The job's default handler: TUBO_ERRORS, read once. */
static tubo_errhandler_fn *errh_default(void)
{
  static tubo_errhandler_fn *dflt;
  if (dflt == NULL) {
    const char *v = getenv("TUBO_ERRORS");
    dflt = v != NULL && strcmp(v, "fatal") == 0 ? TUBO_ERRORS_ARE_FATAL : TUBO_ERRORS_RETURN;
    if (v != NULL && *v != '\0' && strcmp(v, "fatal") != 0 && strcmp(v, "return") != 0)
      fprintf(stderr, "tubo: TUBO_ERRORS must be 'fatal' or 'return', not '%s': using return\n", v);
  }
  return dflt;
}

void tubo__errors_return(tubo_comm_t *comm, int err, const char *msg)
{
  (void)comm;
  (void)err;
  (void)msg;
}

void tubo__errors_are_fatal(tubo_comm_t *comm, int err, const char *msg)
{
  (void)comm;
  tubo__world_t *w = tubo__world;
  if (w != NULL)
    fprintf(stderr, "%s (%s) on rank %d of %d; aborting the job\n", msg, tubo_err_name(err),
            w->rank, w->size);
  else
    fprintf(stderr, "%s (%s); aborting\n", msg, tubo_err_name(err));
  fflush(stderr);
  if (w != NULL)
    tubo_abort(TUBO_COMM_WORLD, 1);
  _exit(1);
}

/* The handler in effect on comm: its own, else the world's, else the job's default. */
tubo_errhandler_fn *tubo__errh_of(const tubo_comm_t *comm)
{
  if (comm != NULL && tubo__comm_check(comm) == 0 && comm->errh != NULL)
    return comm->errh;
  if (tubo__world != NULL && tubo__world->world_comm.errh != NULL)
    return tubo__world->world_comm.errh;
  return errh_default();
}

int tubo__error_returns(const tubo_comm_t *comm)
{
  return tubo__errh_of(comm) == TUBO_ERRORS_RETURN;
}

/* Runs h with the message "fn: " and fmt's text (NULL: the error's own); comm goes to h
 * where it is given (h_comm), else where it is a valid communicator. */
static int errh_run(tubo_errhandler_fn *h, tubo_comm_t *comm, tubo_comm_t *h_comm, int err,
                    const char *fn, const char *fmt, va_list ap)
{
  char msg[256];
  int n = snprintf(msg, sizeof msg, "%s: ", fn);
  if (n < 0 || (size_t)n >= sizeof msg)
    n = 0;
  if (fmt != NULL) {
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  } else if (err == TUBO_ECOMM) {
    snprintf(msg + n, sizeof msg - (size_t)n, "invalid communicator %p (NULL, freed or never made)",
             (const void *)comm);
  } else {
    snprintf(msg + n, sizeof msg - (size_t)n, "%s", tubo_strerror(err));
  }
  if (h_comm == NULL)
    h_comm = comm != NULL && tubo__comm_check(comm) == 0 ? comm : NULL;
  h(h_comm, err, msg);
  return err;
}

int tubo__error(tubo_comm_t *comm, int err, const char *fn, const char *fmt, ...)
{
  tubo_errhandler_fn *h = tubo__errh_of(comm);
  if (h == TUBO_ERRORS_RETURN)
    return err;
  va_list ap;
  va_start(ap, fmt);
  errh_run(h, comm, NULL, err, fn, fmt, ap);
  va_end(ap);
  return err;
}

int tubo__error_with(tubo_errhandler_fn *h, tubo_comm_t *comm, int err, const char *fn,
                     const char *fmt, ...)
{
  if (h == TUBO_ERRORS_RETURN)
    return err;
  va_list ap;
  va_start(ap, fmt);
  errh_run(h, comm, comm, err, fn, fmt, ap);
  va_end(ap);
  return err;
}

int tubo_comm_set_errhandler(tubo_comm_t *comm, tubo_errhandler_fn *handler)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return tubo__error(comm, rc, "tubo_comm_set_errhandler", NULL);
  comm->errh = handler;
  return 0;
}

int tubo_comm_get_errhandler(const tubo_comm_t *comm, tubo_errhandler_fn **handler)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return tubo__error((tubo_comm_t *)comm, rc, "tubo_comm_get_errhandler", NULL);
  if (handler == NULL)
    return tubo__error((tubo_comm_t *)comm, TUBO_EINVAL, "tubo_comm_get_errhandler",
                       "NULL handler pointer");
  *handler = tubo__errh_of(comm);
  return 0;
}
