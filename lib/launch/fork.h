/* SPDX-License-Identifier: MIT */
/* Forking a child that belongs to this process's patterns (Process, spawned workers). */
#ifndef TUBO_PATTERNS_FORK_H
#define TUBO_PATTERNS_FORK_H

#include <sys/types.h>

/* Forks after flushing stdio (so buffered output is not printed twice). In the child: it
 * dies with SIGKILL if the parent dies, and it no longer belongs to the parent's tubo job
 * (the parent's world is forgotten, never finalized, since it is the parent's). Returns
 * the pid in the parent, 0 in the child, or -1. */
pid_t tubo__fork_child(void);

/* Ends the child with status code (0..255) after flushing stdio, without running the
 * parent's atexit handlers, which belong to the parent's copy of everything. */
_Noreturn void tubo__child_exit(int code);

#endif /* TUBO_PATTERNS_FORK_H */
