/* SPDX-License-Identifier: MIT */
/* The launch contract: the environment tuborun gives each rank, and how a rank reads it.
 *
 *   TUBO_JOBID        32 hex digits, random per job
 *   TUBO_RANK         this rank, 0 .. TUBO_SIZE-1
 *   TUBO_SIZE         number of ranks
 *   TUBO_LOCAL_RANK   rank among those on this node (== TUBO_RANK under tuborun)
 *   TUBO_LOCAL_SIZE   ranks on this node
 *   TUBO_LAUNCHER_PID pid of tuborun
 *   TUBO_TRANSPORT    "shm" (default) or "pipe"
 *   TUBO_SHM_FD       shm: descriptor of the job's shared memory (control block first)
 *   TUBO_PIPE_FDS     pipe: "R,W0,W1,...": this rank's read end, then every rank's write end
 *   TUBO_PLACE        optional: "NPUS,L2,L3,NUMA,PACKAGE,CORE,MEMNODE", the facts of
 *                     tubo__here_t (topo.h) tuborun found for this rank; without it the
 *                     rank loads the topology itself
 *
 * A process without TUBO_RANK is a world of one rank. The contract is used once: once
 * tubo_init joined the job, the variables are removed from the environment and the
 * descriptors closed on exec (tubo__launch_take), so that a program the rank runs
 * (system(), exec) starts a world of its own and cannot reach the job's memory. */
#ifndef TUBO_LAUNCH_H
#define TUBO_LAUNCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "topo.h"

#define TUBO__ENV_JOBID        "TUBO_JOBID"
#define TUBO__ENV_RANK         "TUBO_RANK"
#define TUBO__ENV_SIZE         "TUBO_SIZE"
#define TUBO__ENV_LOCAL_RANK   "TUBO_LOCAL_RANK"
#define TUBO__ENV_LOCAL_SIZE   "TUBO_LOCAL_SIZE"
#define TUBO__ENV_LAUNCHER_PID "TUBO_LAUNCHER_PID"
#define TUBO__ENV_TRANSPORT    "TUBO_TRANSPORT"
#define TUBO__ENV_SHM_FD       "TUBO_SHM_FD"
#define TUBO__ENV_PIPE_FDS     "TUBO_PIPE_FDS"
#define TUBO__ENV_PLACE        "TUBO_PLACE"

/* Largest job tuborun starts; bounds every rank count read from the environment. */
#define TUBO__MAX_RANKS 4096

/* How ranks talk: shm and pipe are what TUBO_TRANSPORT names; a world under mpirun talks
 * through MPI between nodes (transport.c holds the table of each kind's operations). */
enum tubo__transport_kind {
  TUBO__TP_SHM = 0,
  TUBO__TP_PIPE = 1,
  TUBO__TP_MPI = 2,
  TUBO__TP_NKINDS /* how many there are */
};

typedef struct tubo__launch {
  int launched; /* 0: no launcher, a world of one */
  int rank, size;
  int local_rank, local_size;
  pid_t launcher_pid;
  uint8_t jobid[16];
  enum tubo__transport_kind transport;
  int shm_fd;     /* shm: the job's memory, or -1 */
  int pipe_rfd;   /* pipe: this rank's read end, or -1 */
  int *pipe_wfds; /* pipe: size write ends, malloc'd, or NULL */
  int spawned;    /* no dedicated launcher watches the ranks (tubo_spawn's rank 0 may be
                   * busy, mpirun's does not tell): ranks watch each other's processes */
  int *world_of;  /* rank -> world rank when these ranks are part of a larger world (the
                   * node's ranks under mpirun), malloc'd; NULL where they are the same */
  int owns_fds;   /* tubo__launch_free closes the descriptors (they are the library's) */
  int here_given; /* TUBO_PLACE was set: here holds what tuborun found */
  tubo__here_t here;
} tubo__launch_t;

/* Reads the launch environment. Returns 0, TUBO_ELAUNCH for inconsistent variables
 * (a bad number, a rank out of range, a descriptor that is not open or is standard
 * input, output or error; shm: one that is not a regular file (memfd); pipe: not a pipe
 * end of the right direction, one given twice, the wrong count, a write end of its own
 * that is not on the pipe it reads), TUBO_ENOMEM. It changes nothing, and the record it
 * fills does not own the descriptors: freeing it, or failing, closes none. */
int tubo__launch_read(tubo__launch_t *l);

/* Writes h as TUBO_PLACE holds it. Returns 0, or TUBO_EINVAL when n is too small. */
int tubo__launch_format_place(const tubo__here_t *h, char *buf, size_t n);

/* Takes the launch contract that joined a job: the record now owns its descriptors,
 * which close on exec, and the launch variables leave the environment. */
void tubo__launch_take(tubo__launch_t *l);

/* Removes the launch variables from this process's environment: a process forked by a
 * rank is not that rank, and must start a world of its own if it calls tubo_init. */
void tubo__launch_unset(void);

/* Releases what tubo__launch_read allocated, and closes the descriptors it names if it
 * owns them (tubo__launch_take, or a record the library made with descriptors of its own). */
void tubo__launch_free(tubo__launch_t *l);

/* Parses a decimal integer in [lo, hi] that fills the whole string. Returns 0 or
 * TUBO_EINVAL. Shared with tuborun's argument parsing. */
int tubo__parse_int(const char *s, long lo, long hi, long *out);

/* Parses "transport" names: "shm" or "pipe". Returns 0 or TUBO_EINVAL. */
int tubo__parse_transport(const char *s, enum tubo__transport_kind *out);

#endif /* TUBO_LAUNCH_H */
