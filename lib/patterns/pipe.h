/* SPDX-License-Identifier: MIT */
/* Pipes, as multiprocessing.Pipe: the handle every kind of pipe shares, and the table of
 * operations each kind fills in. tubo_pipe_create makes pipes in shared memory for forked
 * processes (pipe_shm.c); tubo_pipe_open makes pipes over a communicator's messages
 * (pipe_comm.c). pipe.c checks the public calls' arguments and dispatches. */
#ifndef TUBO_PATTERNS_PIPE_H
#define TUBO_PATTERNS_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "tubo.h"

#define TUBO__PIPE_MAGIC 0x70697065u /* "pipe" */

/* What one kind of pipe does; pipe.c has checked the handle, that it is open and that
 * the direction is allowed. Return 0 or a negative TUBO_E code, as the public calls. */
typedef struct tubo__pipe_ops {
  int (*send)(tubo_pipe_t *p, const void *buf, size_t len);
  /* Receives the next message: with alloc set, into a buffer it mallocs (*out, NULL for
   * an empty message), else into buf of cap bytes. *len gets the message's length. */
  int (*recv)(tubo_pipe_t *p, void *buf, size_t cap, int alloc, void **out, size_t *len);
  int (*poll)(tubo_pipe_t *p, int timeout_ms, int *ready);
  /* Ends this process's use of the end (the handle stays until free_). */
  void (*close)(tubo_pipe_t *p);
  /* Releases what the handle holds besides itself; the end is closed already. */
  void (*free_)(tubo_pipe_t *p);
} tubo__pipe_ops_t;

struct tubo_pipe {
  uint32_t magic;
  int can_send, can_recv; /* the directions of this end */
  int closed;             /* tubo_pipe_close was called */
  const tubo__pipe_ops_t *ops;
  void *impl; /* the kind's own state */
};

/* Fills a handle for ops and impl, magic set and open; returns NULL when out of memory. */
tubo_pipe_t *tubo__pipe_new(const tubo__pipe_ops_t *ops, void *impl, int can_send, int can_recv);

/* Closes every end of a created pipe this process still has open, as it exits: senders
 * on the other ends then learn at once that nobody reads (pipe_shm.c). Registered with
 * atexit, and as a child exit hook (launch/fork.h) for children that end with _exit. */
void tubo__pipe_close_all(void);

#endif /* TUBO_PATTERNS_PIPE_H */
