/* SPDX-License-Identifier: MIT */
/* The process and descriptor limits a job needs, checked before any rank starts: a job
 * that ran out of either midway would leave some ranks started and the others failing
 * one by one. */
#include "config.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tuborun.h"

/* Descriptors a process holds besides those the job needs per rank: standard streams,
 * the job's memory, the launcher's signal pipe and a rank's start pipe, and room for
 * what the C library and the program open. */
#define LIMITS_BASE_FDS 32

/* Raises the soft limit of resource res to need where the hard limit allows. Returns 0
 * when the limit (now) holds need, else -1 with *cur the limit that stands. */
static int limits_fit(int res, rlim_t need, rlim_t *cur)
{
  struct rlimit rl;
  if (getrlimit(res, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
    return 0;
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
    rl.rlim_cur = need;
    if (setrlimit(res, &rl) == 0)
      return 0;
  }
  *cur = rl.rlim_cur;
  return -1;
}

int tuborun_check_limits(const tuborun_opts_t *o)
{
  rlim_t n = (rlim_t)o->nranks, cur = 0;
  /* tuborun keeps the read ends of each rank's output (--tag-output) and, with pipes,
   * both ends of each rank's pipe; each rank of a pipe job holds every rank's write end. */
  rlim_t per_rank = (o->tag_output ? 2 : 0) + (o->transport == TUBO__TP_PIPE ? 2 : 0);
  rlim_t need = LIMITS_BASE_FDS + per_rank * n;
  if (o->transport == TUBO__TP_PIPE && LIMITS_BASE_FDS + n + 1 > need)
    need = LIMITS_BASE_FDS + n + 1;
  if (limits_fit(RLIMIT_NOFILE, need, &cur) != 0) {
    fprintf(stderr,
            "tuborun: %d ranks need %llu open files%s, but the limit is %llu (ulimit -n); "
            "start fewer ranks, or raise the limit\n",
            o->nranks, (unsigned long long)need,
            o->transport == TUBO__TP_PIPE ? " (pipe transport: two pipe ends per rank)"
            : o->tag_output               ? " (--tag-output: two pipes per rank)"
                                          : "",
            (unsigned long long)cur);
    return 1;
  }
  /* The kernel does not hold the superuser to the process limit. */
  if (geteuid() != 0 && limits_fit(RLIMIT_NPROC, n + 1, &cur) != 0) {
    fprintf(stderr,
            "tuborun: %d ranks need %d processes, but this user may run %llu at most "
            "(ulimit -u), counting those it runs already; start fewer ranks, or raise the "
            "limit\n",
            o->nranks, o->nranks + 1, (unsigned long long)cur);
    return 1;
  }
  return 0;
}
