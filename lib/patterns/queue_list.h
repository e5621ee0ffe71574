/* SPDX-License-Identifier: MIT */
/* The unbounded Queue (capacity 0, as Python's Queue()): a linked list of items in a
 * shared heap (objheap.h), guarded by a lock that survives its holder's death (lock.h).
 *
 *   header block: identity, arguments | lock, first, last, count | getters' wait |
 *                 unfinished tasks, joiners' wait
 *   item blocks:  next, length | bytes
 *
 * A put allocates its item's block and fills it before it takes the lock, so the lock is
 * held only to link it; a get unlinks the first item under the lock and copies it out
 * after. Processes that find it empty wait in objwait.h on the count. A holder that dies
 * mid-link leaves the next taker to walk the list again and rebuild last and count; an
 * item it had unlinked is lost with it. Queues made by tubo_queue_create use the process
 * tree's heap, queues opened on a communicator the job's heap, and a served queue's home
 * keeps one in its own. */
#ifndef TUBO_PATTERNS_QUEUE_LIST_H
#define TUBO_PATTERNS_QUEUE_LIST_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "patterns/lock.h"
#include "patterns/objheap.h"
#include "patterns/objmem.h"
#include "patterns/objwait.h"
#include "tubo.h"

#define QLIST_LINE 64

typedef struct qlist_head {
  alignas(QLIST_LINE) _Atomic uint64_t ident; /* QLIST_IDENT: a header, not stray memory */
  _Atomic uint64_t config;                    /* the arguments' summary */
  alignas(QLIST_LINE) tubo__lock_t lock;
  _Atomic uint64_t first;                        /* the oldest item's block, 0 when empty */
  _Atomic uint64_t last;                         /* the newest item's block, 0 when empty */
  _Atomic uint64_t count;                        /* items linked */
  alignas(QLIST_LINE) tubo__objwait_t not_empty; /* getters sleep here */
  /* JoinableQueue: items put and not yet marked done. */
  alignas(QLIST_LINE) _Atomic uint64_t unfinished;
  tubo__objwait_t all_done; /* joiners sleep here */
} qlist_head_t;

typedef struct qlist_item {
  _Atomic uint64_t next; /* the next item's block, 0 for the last */
  uint64_t len;          /* bytes, at most item_max */
  unsigned char data[];
} qlist_item_t;

typedef struct tubo__queue_list {
  tubo__objheap_t heap;
  uint64_t off; /* the header block */
  qlist_head_t *sh;
  uint64_t item_max;
  unsigned flags;
  uint64_t config;
  pid_t owner;        /* made for processes: the maker, whose free destroys it */
  tubo__objmem_t mem; /* opened on comm in the job's heap: the header block */
  tubo_comm_t *comm;  /* opened on comm: its world is watched while waiting */
  tubo__objwait_watch_t watch;
} tubo__queue_list_t;

/* Makes an unbounded queue in the process tree's heap, for processes forked afterwards. */
int tubo__queue_list_create(size_t item_max, unsigned flags, tubo__queue_list_t *l);

/* Opens one in the job's heap, collectively over comm. Returns TUBO_ENOTSUP, before any
 * exchange with the other ranks, where they share no memory. */
int tubo__queue_list_open(tubo_comm_t *comm, size_t item_max, unsigned flags,
                          tubo__queue_list_t *l);

#endif /* TUBO_PATTERNS_QUEUE_LIST_H */
