/* SPDX-License-Identifier: MIT */
/* tuborun: starts a tubo job of N ranks on this machine, as mpirun does. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "tuborun.h"

void tuborun_monitor_prepare(void);

/* Started with a standard descriptor closed, tuborun would hand the job's memory or a
 * pipe out under that number, where the rank's stdio (and the launch contract, which
 * refuses them) expects something else: each closed one is opened on /dev/null. */
static void tuborun_stdio(void)
{
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) == -1 && open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
      break;
}

int main(int argc, char **argv)
{
  tuborun_stdio();
  tuborun_opts_t o;
  int rc = tuborun_parse(argc, argv, &o);
  if (rc == 1)
    return 0;
  if (rc != 0)
    return rc;
  tuborun_place_t place;
  rc = tuborun_place(&place, &o);
  if (rc != 0 || o.dry_run) {
    tuborun_place_free(&place);
    return rc;
  }
  tuborun_job_t j;
  if ((rc = tuborun_job_create(&j, &o, &place)) != 0) {
    tuborun_job_destroy(&j);
    tuborun_place_free(&place);
    return rc;
  }
  /* Signals are the monitor's from here: one that comes during the measurement stops the
   * job before any rank starts, as it would between two ranks' starts. */
  tuborun_monitor_prepare();
  tuborun_protocol(&j);
  rc = tuborun_monitor(&j);
  tuborun_job_destroy(&j);
  tuborun_place_free(&place);
  return rc;
}
