/* SPDX-License-Identifier: MIT */
/* Forking a child that leaves this process's job: tubo_spawn's workers (spawn.c) and the
 * Process pattern's children. */
#ifndef TUBO_LAUNCH_FORK_H
#define TUBO_LAUNCH_FORK_H

#include <sys/types.h>

#include "list.h"

/* Forks after flushing stdio (so buffered output is not printed twice). In the child: it
 * dies with SIGKILL if the parent dies, and it no longer belongs to the parent's tubo job
 * (the parent's world is forgotten, never finalized, since it is the parent's). Returns
 * the pid in the parent, 0 in the child, or -1. */
pid_t tubo__fork_child(void);

/* Ends the child with status code (0..255) after flushing stdio and running the hooks
 * below, without running the parent's atexit handlers, which belong to the parent's copy
 * of everything. */
_Noreturn void tubo__child_exit(int code);

/* What a child must still do as it ends through tubo__child_exit, which runs no atexit
 * handler: a module above this one registers its own (the Pipe pattern closes its ends,
 * as its atexit handler does in a process that calls exit). */
typedef struct tubo__child_exit_hook {
  void (*fn)(void);
  tubo__list_node_t link;
} tubo__child_exit_hook_t;

/* Registers h, whose memory must last; registering it again does nothing. Hooks run in
 * the order they were registered. A child inherits the hooks its parent had. */
void tubo__child_exit_hook_add(tubo__child_exit_hook_t *h);

#endif /* TUBO_LAUNCH_FORK_H */
