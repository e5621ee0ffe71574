/* SPDX-License-Identifier: MIT */
/* What each rank was doing when tuborun stopped a job that ran past its timeout: the
 * blocking call each rank had published in its record of the job control block
 * (launch/jobctl.h), with its peer and tag, or why it published none. Ranks that say the
 * same are told in one line. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "launch/jobctl.h"
#include "tubo.h"
#include "tuborun.h"

/* Rank r's state in words, into buf, as a predicate ("was blocked in ...", "had exited
 * ..."): only what the control block says, every value checked. */
static void blocked_describe(const tuborun_job_t *j, int r, char *buf, size_t cap)
{
  const tuborun_rank_t *rk = &j->ranks[r];
  if (rk->ended) {
    snprintf(buf, cap, "had exited (status %d)", rk->status);
    return;
  }
  struct tubo__rankctl *rc = tubo__jobctl_rank(j->ctl, (uint32_t)r);
  uint32_t st = atomic_load(&rc->state);
  tubo__blocked_view_t v;
  if (tubo__blocked_read(&rc->blocked, &v) != 0) {
    snprintf(buf, cap, "left an unreadable record of what it was blocked in");
    return;
  }
  if (!v.active) {
    if (j->nranks == 1)
      snprintf(buf, cap,
               "was running (a rank alone in its job has no peer to wait for, and "
               "says nothing of its calls)");
    else if (st == TUBO__RANK_STARTING)
      snprintf(buf, cap,
               "had not joined the job (it had not called tubo_init, or was still attaching)");
    else if (st == TUBO__RANK_READY && atomic_load(&rc->joined) < 2)
      snprintf(buf, cap, "was in tubo_init, waiting for the other ranks to join");
    else if (st == TUBO__RANK_READY)
      snprintf(buf, cap, "was computing (not blocked in tubo)");
    else if (st == TUBO__RANK_DONE)
      snprintf(buf, cap, "had called tubo_finalize and was still running");
    else if (st == TUBO__RANK_DEAD)
      snprintf(buf, cap, "had died");
    else
      snprintf(buf, cap, "left an unreadable record of its state");
    return;
  }
  /* The call's arguments, as the program passed them. */
  static const char *const role[TUBO__BLK_NROLES] = {NULL, "source", "dest", "root"};
  char args[160] = "";
  size_t n = 0;
  const char *sep = "";
  if (v.role != TUBO__BLK_NOPEER) {
    if (v.role == TUBO__BLK_SOURCE && v.peer == TUBO_ANY_SOURCE)
      n += (size_t)snprintf(args + n, sizeof args - n, "%s any", role[v.role]);
    else
      n += (size_t)snprintf(args + n, sizeof args - n, "%s %d", role[v.role], (int)v.peer);
    sep = ", ";
  }
  if (v.has_tag && n < sizeof args) {
    if (v.tag == TUBO_ANY_TAG)
      n += (size_t)snprintf(args + n, sizeof args - n, "%stag any", sep);
    else
      n += (size_t)snprintf(args + n, sizeof args - n, "%stag %d", sep, (int)v.tag);
    sep = ", ";
  }
  if (v.has_comm && n < sizeof args) {
    if (v.cid == 0)
      n += (size_t)snprintf(args + n, sizeof args - n, "%sTUBO_COMM_WORLD", sep);
    else
      n += (size_t)snprintf(args + n, sizeof args - n,
                            "%sa communicator of %u rank%s, context id %u", sep, v.comm_size,
                            v.comm_size == 1 ? "" : "s", v.cid);
  }
  if (v.name[0] == '\0')
    snprintf(buf, cap, "was blocked in tubo (in no call it names)%s%s%s", n ? " (" : "", args,
             n ? ")" : "");
  else
    snprintf(buf, cap, "was blocked in %s%s%s%s", v.name, n ? " (" : "", args, n ? ")" : "");
}

void tuborun_say_blocked(const tuborun_job_t *j)
{
  if (j->ctl == NULL) {
    fprintf(stderr, "tuborun: what each rank was blocked in is known with the shared-memory "
                    "transport only\n");
    return;
  }
  char cur[320], next[320];
  int first = 0;
  int last = j->started < j->nranks ? j->started : j->nranks;
  for (int r = 0; r < last; r++) {
    if (r == first)
      blocked_describe(j, r, cur, sizeof cur);
    if (r + 1 < last) {
      blocked_describe(j, r + 1, next, sizeof next);
      if (strcmp(next, cur) == 0)
        continue;
    }
    if (r == first)
      fprintf(stderr, "tuborun: rank %d %s\n", r, cur);
    else
      fprintf(stderr, "tuborun: each of ranks %d-%d %s\n", first, r, cur);
    first = r + 1;
    if (r + 1 < last)
      memcpy(cur, next, sizeof cur);
  }
}
