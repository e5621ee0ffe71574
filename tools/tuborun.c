/* SPDX-License-Identifier: MIT */
/* tuborun: starts a tubo job of N ranks on this machine, as mpirun does. */
#include "config.h"

#include <stdio.h>

#include "tuborun.h"

void tuborun_monitor_prepare(void);

int main(int argc, char **argv)
{
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
  tuborun_monitor_prepare();
  int spawn = tuborun_job_spawn(&j);
  if (spawn != 0) {
    /* Stop what did start; a missing program fails every rank the same way. */
    for (int r = 0; r < j.nranks; r++)
      if (j.ranks[r].pid > 0)
        tuborun_job_notify_exit(&j, r, spawn);
  }
  rc = tuborun_monitor(&j);
  tuborun_job_destroy(&j);
  tuborun_place_free(&place);
  return spawn != 0 ? spawn : rc;
}
