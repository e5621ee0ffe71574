/* SPDX-License-Identifier: MIT */
/* tuborun's parts: its options, where the ranks run, the job it starts, and the watch over
 * the job. */
#ifndef TUBORUN_H
#define TUBORUN_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "launch/launch.h"
#include "placement.h"

#define TUBORUN_MAX_X 256

typedef struct tuborun_opts {
  int nranks; /* 0: not given, one rank per slot */
  int tag_output;
  double timeout_s;  /* 0: none */
  int timeout_env;   /* the timeout came from MPIEXEC_TIMEOUT */
  int stdin_rank;    /* --stdin: the rank that reads standard input, or -1 none, -2 all */
  double progress_s; /* --show-progress: seconds between progress lines; 0: none */
  enum tubo__transport_kind transport;
  const char *xvars[TUBORUN_MAX_X]; /* -x VAR or VAR=value */
  int nx;
  tubo__place_level_t map_by, bind_to; /* TUBO__PL_DEFAULT when not given */
  int report_bindings;
  int dry_run;
  int no_memory_check;  /* --no-memory-check: start even when the job will not fit */
  const char *topology; /* --topology FILE, or NULL: this machine */
  char **argv;          /* the program and its arguments; NULL in a dry run without one */
} tuborun_opts_t;

/* Parses the command line. Returns 0 to run, 1 when --help or --version was printed
 * (exit 0), or 2 after printing a usage error (exit 2). */
int tuborun_parse(int argc, char **argv, tuborun_opts_t *o);

/* Where the ranks run. */
typedef struct tuborun_place {
  tubo__topo_t *topo;   /* NULL when the topology could not be read: ranks run unbound */
  tubo__placement_t *p; /* NULL likewise */
  int bind;             /* whether ranks bind themselves (this machine, not bind-to none) */
} tuborun_place_t;

/* Reads the topology, places o->nranks ranks (one per slot when -n was not given: it then
 * sets o->nranks), says when they are oversubscribed, and prints the bindings for
 * --report-bindings and --dry-run. Returns 0, or prints why and returns an exit status. */
int tuborun_place(tuborun_place_t *pl, tuborun_opts_t *o);
void tuborun_place_free(tuborun_place_t *pl);

/* One rank's process, as the launcher sees it. */
typedef struct tuborun_rank {
  pid_t pid;
  int status; /* exit code or 128 + signal, once ended */
  int ended;
  int out_fd, err_fd;   /* --tag-output: read ends of its stdout and stderr, else -1 */
  int no_init, no_fini; /* it exited 0 without tubo_init / without tubo_finalize */
} tuborun_rank_t;

/* A rank's exit that a peer's pipe had no room to hear yet. */
typedef struct tuborun_note {
  int to, rank, status;
} tuborun_note_t;

typedef struct tuborun_job {
  tuborun_opts_t *o;
  tuborun_place_t *place;
  int bind_failed;            /* a rank could not bind: the ranks after it do not try */
  hwloc_bitmap_t own_binding; /* the launcher's binding, while it lends it to ranks */
  tuborun_rank_t *ranks;
  int nranks;
  uint8_t jobid[16];
  int shm_fd;               /* shm transport: the job's memory */
  struct tubo__jobctl *ctl; /* its control block, mapped */
  size_t ctl_bytes;
  int *pipe_r, *pipe_w;    /* pipe transport: each rank's pipe */
  tuborun_note_t *pending; /* pipe transport: exits not yet told */
  int npending;
  int started; /* ranks 0 .. started-1 have been started */
} tuborun_job_t;

/* Checks that this user may open the descriptors and run the processes o's job needs,
 * raising a soft limit up to its hard limit where that is enough. Returns 0, or prints
 * why and returns 1. */
int tuborun_check_limits(const tuborun_opts_t *o);

/* Creates the job's shared resources, after checking that the memory the job will take
 * fits in what this machine and this process's memory cgroups allow (unless
 * --no-memory-check). Returns 0, or prints why and returns an exit status. */
int tuborun_job_create(tuborun_job_t *j, tuborun_opts_t *o, tuborun_place_t *place);
/* Chooses how large messages go between the job's ranks (shm transport): reads the
 * machine's cache or measures the kinds of pair the job has, and writes the thresholds in
 * the job control block; says so with --report-bindings. Never fails the job: where
 * nothing is known the ranks follow their rule. */
void tuborun_protocol(tuborun_job_t *j);
/* Starts the next rank (j->started). Returns 0, or prints why and returns an exit status. */
int tuborun_job_start_next(tuborun_job_t *j);
/* Tells the ranks still running that rank r's process ended with status. */
void tuborun_job_notify_exit(tuborun_job_t *j, int r, int status);
/* Retries telling exits that found a full pipe; returns how many are still waiting. */
int tuborun_job_retry_notes(tuborun_job_t *j);
void tuborun_job_destroy(tuborun_job_t *j);

/* Says, one line per rank (or per run of ranks that say the same), what each started
 * rank was blocked in, from the job control block: for a job stopped at its timeout. */
void tuborun_say_blocked(const tuborun_job_t *j);

/* Starts the job's ranks and watches them until every rank has ended; returns tuborun's
 * exit status. Signals, the timeout and rank deaths are answered from the first fork on:
 * the ranks still to start then never are. */
int tuborun_monitor(tuborun_job_t *j);

#endif /* TUBORUN_H */
