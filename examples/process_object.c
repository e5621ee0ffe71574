/* SPDX-License-Identifier: MIT */
/* A process as an object: a struct whose run function the process executes, as the
 * class MyProcess(multiprocessing.Process) with a run method of seed 001. */
#include <stdio.h>
#include <tubo.h>
#include <unistd.h>

struct my_process {
  tubo_process_t *base; /* what multiprocessing.Process is to the Python class */
  const char *label;
};

static int my_process_run(void *self)
{
  struct my_process *me = self;
  printf("%s PID: %d\n", me->label, (int)getpid());
  return 0;
}

static int my_process_init(struct my_process *me)
{
  me->label = "Child process";
  return tubo_process_create(my_process_run, me, &me->base);
}

int main(void)
{
  printf("Main process PID: %d\n", (int)getpid());
  struct my_process my_process;
  if (my_process_init(&my_process) != 0 || tubo_process_start(my_process.base) != 0)
    return 1;
  tubo_process_join(my_process.base, -1);
  tubo_process_free(my_process.base);
  return 0;
}
