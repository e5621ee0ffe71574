/* SPDX-License-Identifier: MIT */
/* Checks for what a test left behind (leftovers.h). */
#include "config.h"

#include "leftovers.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

/* Only objects whose name starts with this are tubo's (its fallback for kernels without
 * memfd); other programs on the machine may come and go in /dev/shm meanwhile. */
#define LO_PREFIX "tubo"

/* The tubo names in /dev/shm, each followed by '\n'; NULL for none. */
static char *lo_list(void)
{
  DIR *d = opendir("/dev/shm");
  if (d == NULL)
    return NULL; /* no /dev/shm: nothing can be left there */
  char *names = NULL;
  size_t len = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, LO_PREFIX, strlen(LO_PREFIX)) != 0)
      continue;
    size_t n = strlen(e->d_name);
    char *grown = realloc(names, len + n + 2);
    TH_CHECK(grown != NULL, "out of memory listing /dev/shm");
    names = grown;
    memcpy(names + len, e->d_name, n);
    names[len + n] = '\n';
    names[len + n + 1] = '\0';
    len += n + 1;
  }
  closedir(d);
  return names;
}

void lo_take(lo_snapshot_t *s)
{
  s->names = lo_list();
}

void lo_check(lo_snapshot_t *s, const char *when)
{
  int ws = 0;
  pid_t pid = waitpid(-1, &ws, WNOHANG);
  int err = errno;
  TH_CHECK(pid == -1 && err == ECHILD,
           "%s: waitpid(-1, WNOHANG): expected -1 with ECHILD (no child left), got %d (%s)", when,
           (int)pid,
           pid > 0    ? "a child that ended and was never reaped"
           : pid == 0 ? "a child still running"
                      : strerror(err));
  char *now = lo_list();
  for (char *line = now; line != NULL && *line != '\0';) {
    char *end = strchr(line, '\n');
    *end = '\0';
    int known = 0;
    for (char *old = s->names; old != NULL && *old != '\0'; old = strchr(old, '\n') + 1)
      if (strncmp(old, line, (size_t)(end - line)) == 0 && old[end - line] == '\n')
        known = 1;
    TH_CHECK(known, "%s: /dev/shm/%s is new: expected nothing new in /dev/shm", when, line);
    line = end + 1;
  }
  free(now);
  free(s->names);
  s->names = NULL;
}
