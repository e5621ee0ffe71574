/* SPDX-License-Identifier: MIT */
/* Forking children that leave this process's job (fork.h). */
#include "config.h"

#include "launch/fork.h"

#include <stdio.h>
#include <unistd.h>

#include "launch/launch.h"
#include "os/os.h"
#include "world.h"

/* What tubo__child_exit runs before it ends the child. */
static tubo__list_t fork_exit_hooks;

void tubo__child_exit_hook_add(tubo__child_exit_hook_t *h)
{
  if (!tubo__list_contains(&fork_exit_hooks, &h->link))
    tubo__list_append(&fork_exit_hooks, &h->link);
}

pid_t tubo__fork_child(void)
{
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  if (tubo__os_die_with_parent(parent) != 0)
    _exit(127);
  /* The parent's job is the parent's: this process may start its own with tubo_init,
   * which must not find the parent's launch variables. */
  tubo__init_forget();
  tubo__launch_unset();
  return 0;
}

_Noreturn void tubo__child_exit(int code)
{
  /* _exit runs no atexit handler: what must still be done is done here, as exit() would. */
  tubo__child_exit_hook_t *h;
  TUBO__LIST_FOREACH(h, &fork_exit_hooks, tubo__child_exit_hook_t, link) {
    h->fn();
  }
  fflush(NULL);
  _exit(code & 0xff);
}
