/* SPDX-License-Identifier: MIT */
/* A rank for tuborun's tests (check_tuborun.c): each mode does one thing a test looks for.
 *
 *   hang              waits for a signal, forever
 *   exit-if R CODE    rank R exits with CODE, the others with 0
 *   kill-if R         rank R kills itself with SIGKILL, the others hang
 *   say               one line on stdout and one on stderr, naming the rank
 *   env VAR...        one line: VAR=value for each VAR ("(unset)" when it is not set)
 *   affinity          one line: the processors it may run on, as a list ("0-1,4")
 *   stdin             one line: how many bytes it read from standard input
 *   init-only         calls tubo_init, then exits 0 without tubo_finalize
 *   init-never R      rank R waits for a signal without calling tubo_init; the others
 *                     call tubo_init and tubo_finalize
 *   blocked           calls tubo_init; then rank 0 blocks in tubo_barrier, rank 1 in a
 *                     tubo_recv from rank 0 with tag 7 that is never sent, the others
 *                     wait for a signal outside tubo */
#include "config.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tubo.h"

static int helper_rank(void)
{
  const char *r = getenv("TUBO_RANK");
  if (r == NULL)
    r = getenv("OMPI_COMM_WORLD_RANK"); /* under mpirun */
  return r != NULL ? atoi(r) : -1;
}

static void helper_hang(void)
{
  for (;;)
    pause();
}

/* Prints the affinity mask as a list of ranges, as /proc's Cpus_allowed_list does. */
static void helper_affinity(void)
{
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    perror("sched_getaffinity");
    exit(1);
  }
  printf("rank %d cpus ", helper_rank());
  const char *sep = "";
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (!CPU_ISSET(c, &set))
      continue;
    int end = c;
    while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, &set))
      end++;
    if (end == c)
      printf("%s%d", sep, c);
    else
      printf("%s%d-%d", sep, c, end);
    sep = ",";
    c = end;
  }
  printf("\n");
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  int rank = helper_rank();
  if (strcmp(mode, "hang") == 0) {
    helper_hang();
  } else if (strcmp(mode, "exit-if") == 0 && argc > 3) {
    return rank == atoi(argv[2]) ? atoi(argv[3]) : 0;
  } else if (strcmp(mode, "kill-if") == 0 && argc > 2) {
    if (rank == atoi(argv[2]))
      raise(SIGKILL);
    helper_hang();
  } else if (strcmp(mode, "say") == 0) {
    printf("out from rank %d\n", rank);
    fprintf(stderr, "err from rank %d\n", rank);
    return 0;
  } else if (strcmp(mode, "env") == 0) {
    for (int i = 2; i < argc; i++) {
      const char *v = getenv(argv[i]);
      printf("%s%s=%s", i > 2 ? " " : "", argv[i], v != NULL ? v : "(unset)");
    }
    printf("\n");
    return 0;
  } else if (strcmp(mode, "stdin") == 0) {
    char buf[256];
    size_t n = 0;
    for (ssize_t k; (k = read(STDIN_FILENO, buf, sizeof buf)) > 0;)
      n += (size_t)k;
    printf("rank %d read %zu bytes\n", rank, n);
    return 0;
  } else if (strcmp(mode, "init-only") == 0) {
    int rc = tubo_init(NULL, NULL);
    if (rc != 0)
      fprintf(stderr, "rank_helper: tubo_init: %s\n", tubo_strerror(rc));
    return rc != 0;
  } else if (strcmp(mode, "init-never") == 0 && argc > 2) {
    if (rank == atoi(argv[2]))
      helper_hang();
    int rc = tubo_init(NULL, NULL);
    if (rc == 0)
      rc = tubo_finalize();
    if (rc != 0)
      fprintf(stderr, "rank_helper: rank %d: %s\n", rank, tubo_strerror(rc));
    return rc != 0;
  } else if (strcmp(mode, "blocked") == 0) {
    int rc = tubo_init(NULL, NULL);
    char buf[4];
    if (rc == 0 && rank == 0)
      rc = tubo_barrier(TUBO_COMM_WORLD);
    else if (rc == 0 && rank == 1)
      rc = tubo_recv(buf, sizeof buf, 0, 7, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE);
    else if (rc == 0)
      helper_hang();
    fprintf(stderr, "rank_helper: rank %d returned: %s\n", rank, tubo_strerror(rc));
    return 1;
  } else if (strcmp(mode, "affinity") == 0) {
    helper_affinity();
    return 0;
  }
  fprintf(stderr, "rank_helper: unknown mode '%s'\n", mode);
  return 64;
}
