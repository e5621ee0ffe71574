/* SPDX-License-Identifier: MIT */
/* The live handles of the patterns (Process, Pipe, Queue, Array and Value, dict, list,
 * Namespace, channel), communicators and operations, by address: a process-local table
 * below everything that makes handles.
 * A public call looks its handle up here before following it, so that a handle already
 * freed (or never made) is an error, the code of its kind, instead of a read of freed
 * memory. A forked child inherits the set with the rest of its memory, as it inherits the
 * handles. */
#ifndef TUBO_HANDLES_H
#define TUBO_HANDLES_H

#include <stddef.h>

typedef enum tubo__hkind {
  TUBO__H_PROCESS = 1,
  TUBO__H_PIPE,
  TUBO__H_QUEUE,
  TUBO__H_ARRAY,
  TUBO__H_VALUE,
  TUBO__H_COMM, /* communicators (comm.c) */
  TUBO__H_OP,   /* user operations (op/op.c) */
  TUBO__H_DICT,
  TUBO__H_LIST,
  TUBO__H_NS,
  TUBO__H_CHANNEL,
  TUBO__H_POOL,
  TUBO__H_POOL_RESULT,
  TUBO__H_NKINDS
} tubo__hkind_t;

/* Records a new handle h of kind; 0, or TUBO_ENOMEM (then h is not live). */
int tubo__handle_add(const void *h, tubo__hkind_t kind);

/* Forgets h, before it is freed. */
void tubo__handle_remove(const void *h);

/* The handle of each kind found live last, or NULL: a program uses one queue or pipe many
 * times in a row, and its calls then cost one comparison. */
extern const void *tubo__handle_last[TUBO__H_NKINDS];

int tubo__handle_live_slow(const void *h, tubo__hkind_t kind);

/* Whether h is a live handle of kind (NULL never is). */
static inline int tubo__handle_live(const void *h, tubo__hkind_t kind)
{
  if (h != NULL && h == tubo__handle_last[kind])
    return 1;
  return tubo__handle_live_slow(h, kind);
}

#endif /* TUBO_HANDLES_H */
