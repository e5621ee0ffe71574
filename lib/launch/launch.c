/* SPDX-License-Identifier: MIT */
/* Reading the launch contract (launch.h) from the environment. */
#include "config.h"

#include "launch/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tubo.h"

int tubo__parse_int(const char *s, long lo, long hi, long *out)
{
  if (s == NULL || *s == '\0')
    return TUBO_EINVAL;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    return TUBO_EINVAL;
  *out = v;
  return 0;
}

int tubo__parse_transport(const char *s, enum tubo__transport_kind *out)
{
  if (s == NULL)
    return TUBO_EINVAL;
  if (strcmp(s, "shm") == 0)
    *out = TUBO__TP_SHM;
  else if (strcmp(s, "pipe") == 0)
    *out = TUBO__TP_PIPE;
  else
    return TUBO_EINVAL;
  return 0;
}

static int launch_env_int(const char *name, long lo, long hi, long *out)
{
  return tubo__parse_int(getenv(name), lo, hi, out) == 0 ? 0 : TUBO_ELAUNCH;
}

/* The descriptors of the launch contract are tuborun's: never standard input, output or
 * error, which a wrong variable would otherwise hand to the transport (and its close). */
static int launch_fd_ok(long fd)
{
  return fd > STDERR_FILENO && fcntl((int)fd, F_GETFD) != -1;
}

/* Whether fd is one end of a pipe opened for mode (O_RDONLY or O_WRONLY); fills *st. */
static int launch_pipe_end(int fd, int mode, struct stat *st)
{
  int fl = fcntl(fd, F_GETFL);
  return fl != -1 && (fl & O_ACCMODE) == mode && fstat(fd, st) == 0 && S_ISFIFO(st->st_mode);
}

static int launch_hex(const char *s, uint8_t *out, size_t n)
{
  if (s == NULL || strlen(s) != 2 * n)
    return TUBO_ELAUNCH;
  for (size_t i = 0; i < 2 * n; i++) {
    char c = s[i];
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0)
      return TUBO_ELAUNCH;
    out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | v) : (v << 4));
  }
  return 0;
}

/* Checks the pipe descriptors once all are parsed: each a pipe end of the right
 * direction, none twice, and this rank's own write end on the pipe it reads. */
static int launch_pipes_check(const tubo__launch_t *l)
{
  struct stat rst, st;
  if (!launch_pipe_end(l->pipe_rfd, O_RDONLY, &rst))
    return TUBO_ELAUNCH;
  for (int i = 0; i < l->size; i++) {
    int fd = l->pipe_wfds[i];
    if (fd == l->pipe_rfd || !launch_pipe_end(fd, O_WRONLY, &st))
      return TUBO_ELAUNCH;
    if (i == l->rank && (st.st_dev != rst.st_dev || st.st_ino != rst.st_ino))
      return TUBO_ELAUNCH;
    for (int j = 0; j < i; j++)
      if (l->pipe_wfds[j] == fd)
        return TUBO_ELAUNCH;
  }
  return 0;
}

/* Parses "R,W0,W1,...". Nothing is closed here, whatever the outcome: the descriptors
 * become the library's only once the job was joined (tubo__launch_take). */
static int launch_pipes(tubo__launch_t *l, const char *s)
{
  l->pipe_wfds = calloc((size_t)l->size, sizeof(int));
  if (l->pipe_wfds == NULL)
    return TUBO_ENOMEM;
  for (int i = 0; i < l->size; i++)
    l->pipe_wfds[i] = -1;
  char *copy = strdup(s), *save = NULL;
  if (copy == NULL)
    return TUBO_ENOMEM;
  int n = 0, rc = 0;
  for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    long fd;
    if (n > l->size || tubo__parse_int(tok, 0, 1 << 20, &fd) != 0 || !launch_fd_ok(fd)) {
      rc = TUBO_ELAUNCH;
      break;
    }
    if (n == 0)
      l->pipe_rfd = (int)fd;
    else
      l->pipe_wfds[n - 1] = (int)fd;
    n++;
  }
  free(copy);
  if (rc == 0 && n != l->size + 1)
    rc = TUBO_ELAUNCH;
  if (rc == 0)
    rc = launch_pipes_check(l);
  return rc;
}

int tubo__launch_format_place(const tubo__here_t *h, char *buf, size_t n)
{
  int k = snprintf(buf, n, "%d,%d,%d,%d,%d,%d,%d", h->npus, h->loc.l2, h->loc.l3, h->loc.numa,
                   h->loc.package, h->loc.core, h->mem_node);
  return k < 0 || (size_t)k >= n ? TUBO_EINVAL : 0;
}

/* Parses TUBO_PLACE: seven whole numbers separated by single commas, the first at least
 * 1, the others at least -1 (none). */
static int launch_place(const char *s, tubo__here_t *h)
{
  enum { N = 7 };
  int v[N];
  for (int i = 0; i < N; i++) {
    char num[16];
    size_t len = strcspn(s, ",");
    long x;
    if (len >= sizeof num)
      return TUBO_ELAUNCH;
    memcpy(num, s, len);
    num[len] = '\0';
    if (tubo__parse_int(num, i == 0 ? 1 : -1, 1 << 20, &x) != 0)
      return TUBO_ELAUNCH;
    v[i] = (int)x;
    s += len;
    if (*s != (i == N - 1 ? '\0' : ','))
      return TUBO_ELAUNCH;
    s += i < N - 1;
  }
  *h = (tubo__here_t){v[0], {v[1], v[2], v[3], v[4], v[5]}, v[6]};
  return 0;
}

int tubo__launch_read(tubo__launch_t *l)
{
  memset(l, 0, sizeof *l);
  l->shm_fd = l->pipe_rfd = -1;
  l->size = l->local_size = 1;
  l->transport = TUBO__TP_SHM;
  const char *t = getenv(TUBO__ENV_TRANSPORT);
  if (t != NULL && *t != '\0' && tubo__parse_transport(t, &l->transport) != 0)
    return TUBO_ELAUNCH;
  if (getenv(TUBO__ENV_RANK) == NULL)
    return 0;

  long v;
  int rc = 0;
  l->launched = 1;
  if ((rc = launch_env_int(TUBO__ENV_SIZE, 1, TUBO__MAX_RANKS, &v)) != 0)
    return rc;
  l->size = (int)v;
  if ((rc = launch_env_int(TUBO__ENV_RANK, 0, l->size - 1, &v)) != 0)
    return rc;
  l->rank = (int)v;
  l->local_rank = l->rank;
  l->local_size = l->size;
  if (getenv(TUBO__ENV_LOCAL_SIZE) != NULL) {
    if ((rc = launch_env_int(TUBO__ENV_LOCAL_SIZE, 1, l->size, &v)) != 0)
      return rc;
    l->local_size = (int)v;
    if ((rc = launch_env_int(TUBO__ENV_LOCAL_RANK, 0, l->local_size - 1, &v)) != 0)
      return rc;
    l->local_rank = (int)v;
  }
  if ((rc = launch_env_int(TUBO__ENV_LAUNCHER_PID, 1, 1L << 30, &v)) != 0)
    return rc;
  l->launcher_pid = (pid_t)v;
  if ((rc = launch_hex(getenv(TUBO__ENV_JOBID), l->jobid, sizeof l->jobid)) != 0)
    return rc;
  const char *place = getenv(TUBO__ENV_PLACE);
  if (place != NULL) {
    if ((rc = launch_place(place, &l->here)) != 0)
      return rc;
    l->here_given = 1;
  }

  if (l->transport == TUBO__TP_PIPE) {
    const char *p = getenv(TUBO__ENV_PIPE_FDS);
    if (p == NULL)
      return TUBO_ELAUNCH;
    if ((rc = launch_pipes(l, p)) != 0) {
      tubo__launch_free(l); /* the memory only: nothing is owned yet */
      return rc;
    }
  } else {
    struct stat st;
    if ((rc = launch_env_int(TUBO__ENV_SHM_FD, 0, 1 << 20, &v)) != 0)
      return rc;
    /* The job's memory is a memfd (or a POSIX shared memory object): a regular file. */
    if (!launch_fd_ok(v) || fstat((int)v, &st) != 0 || !S_ISREG(st.st_mode))
      return TUBO_ELAUNCH;
    l->shm_fd = (int)v;
  }
  return 0;
}

/* Marks fd close-on-exec. */
static void launch_cloexec(int fd)
{
  int fl = fcntl(fd, F_GETFD);
  if (fl != -1 && !(fl & FD_CLOEXEC))
    (void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

void tubo__launch_take(tubo__launch_t *l)
{
  l->owns_fds = 1;
  if (l->shm_fd >= 0)
    launch_cloexec(l->shm_fd);
  if (l->pipe_rfd >= 0)
    launch_cloexec(l->pipe_rfd);
  for (int i = 0; l->pipe_wfds != NULL && i < l->size; i++)
    if (l->pipe_wfds[i] >= 0)
      launch_cloexec(l->pipe_wfds[i]);
  tubo__launch_unset();
}

void tubo__launch_free(tubo__launch_t *l)
{
  if (l->owns_fds && l->shm_fd >= 0)
    close(l->shm_fd);
  if (l->owns_fds && l->pipe_rfd >= 0)
    close(l->pipe_rfd);
  if (l->pipe_wfds != NULL) {
    for (int i = 0; l->owns_fds && i < l->size; i++)
      if (l->pipe_wfds[i] >= 0)
        close(l->pipe_wfds[i]);
    free(l->pipe_wfds);
  }
  l->shm_fd = l->pipe_rfd = -1;
  l->pipe_wfds = NULL;
  free(l->world_of);
  l->world_of = NULL;
}

void tubo__launch_unset(void)
{
  static const char *const vars[] = {
      TUBO__ENV_JOBID,      TUBO__ENV_RANK,       TUBO__ENV_SIZE,
      TUBO__ENV_LOCAL_RANK, TUBO__ENV_LOCAL_SIZE, TUBO__ENV_LAUNCHER_PID,
      TUBO__ENV_SHM_FD,     TUBO__ENV_PIPE_FDS,   TUBO__ENV_PLACE};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    unsetenv(vars[i]);
}
