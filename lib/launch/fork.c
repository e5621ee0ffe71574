/* SPDX-License-Identifier: MIT */
/* Forking children for the patterns (fork.h). */
#include "config.h"

#include "patterns/fork.h"

#include <stdio.h>
#include <unistd.h>

#include "launch.h"
#include "os/os.h"
#include "patterns/pipe.h"
#include "world.h"

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
  /* _exit runs no atexit handler: close the pipe ends here, as exit() would. */
  tubo__pipe_close_all();
  fflush(NULL);
  _exit(code & 0xff);
}
