/* SPDX-License-Identifier: MIT */
/* The launch contract (lib/launch/launch.c): reading TUBO_* variables into a launch record,
 * rejecting every inconsistent environment with TUBO_ELAUNCH, and the integer and
 * transport parsers tuborun shares. Each test runs in its own process (CK_FORK), so it
 * may change the environment freely. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "launch/launch.h"

#define JOBID "00112233445566778899aabbccddeeff"

static const char *const launch_vars[] = {
    TUBO__ENV_JOBID,      TUBO__ENV_RANK,       TUBO__ENV_SIZE,
    TUBO__ENV_LOCAL_RANK, TUBO__ENV_LOCAL_SIZE, TUBO__ENV_LAUNCHER_PID,
    TUBO__ENV_TRANSPORT,  TUBO__ENV_SHM_FD,     TUBO__ENV_PIPE_FDS};

static void env_clear(void)
{
  for (size_t i = 0; i < sizeof launch_vars / sizeof launch_vars[0]; i++)
    unsetenv(launch_vars[i]);
}

static void env_int(const char *name, long v)
{
  char buf[32];
  snprintf(buf, sizeof buf, "%ld", v);
  setenv(name, buf, 1);
}

static int open_null(void)
{
  int fd = open("/dev/null", O_RDONLY);
  ck_assert_msg(fd >= 0, "cannot open /dev/null");
  return fd;
}

/* A stand-in for the job's memory: a memfd, as tuborun makes. */
static int open_memfd(void)
{
  int fd = memfd_create("launch-test", 0);
  ck_assert_msg(fd > 2, "expected a memfd above the standard descriptors, got %d", fd);
  return fd;
}

/* A descriptor number that is not open. */
static int closed_fd(void)
{
  int fd = open_null();
  close(fd);
  return fd;
}

static int fd_open(int fd)
{
  return fcntl(fd, F_GETFD) != -1;
}

static int fd_cloexec(int fd)
{
  int fl = fcntl(fd, F_GETFD);
  return fl != -1 && (fl & FD_CLOEXEC);
}

/* Checks that a failed read of the contract had no effect on the descriptors: every one
 * of fds (n of them) and the standard ones are still open. */
static void expect_all_open(const int *fds, int n, const char *what)
{
  for (int fd = 0; fd <= 2; fd++)
    ck_assert_msg(fd_open(fd), "%s: expected standard descriptor %d still open", what, fd);
  for (int i = 0; i < n; i++)
    ck_assert_msg(fd_open(fds[i]), "%s: expected descriptor %d still open", what, fds[i]);
}

/* A consistent environment: rank 1 of 3 over shm, with fd as the job's memory. */
static void env_valid_shm(int fd)
{
  env_clear();
  setenv(TUBO__ENV_JOBID, JOBID, 1);
  setenv(TUBO__ENV_RANK, "1", 1);
  setenv(TUBO__ENV_SIZE, "3", 1);
  setenv(TUBO__ENV_LOCAL_RANK, "1", 1);
  setenv(TUBO__ENV_LOCAL_SIZE, "3", 1);
  env_int(TUBO__ENV_LAUNCHER_PID, (long)getpid());
  setenv(TUBO__ENV_TRANSPORT, "shm", 1);
  env_int(TUBO__ENV_SHM_FD, fd);
}

START_TEST(test_no_launcher)
{
  env_clear();
  /* Without TUBO_RANK nothing else is read, however wrong. */
  setenv(TUBO__ENV_SIZE, "garbage", 1);
  setenv(TUBO__ENV_SHM_FD, "-3", 1);
  tubo__launch_t l;
  int rc = tubo__launch_read(&l);
  ck_assert_msg(rc == 0, "no TUBO_RANK: expected 0, got %s", tubo_err_name(rc));
  ck_assert_msg(l.launched == 0 && l.rank == 0 && l.size == 1 && l.local_rank == 0 &&
                    l.local_size == 1,
                "no TUBO_RANK: expected an unlaunched world of one (0 of 1), got launched %d, "
                "rank %d of %d, local %d of %d",
                l.launched, l.rank, l.size, l.local_rank, l.local_size);
  ck_assert_msg(l.transport == TUBO__TP_SHM && l.shm_fd == -1 && l.pipe_rfd == -1 &&
                    l.pipe_wfds == NULL,
                "no TUBO_RANK: expected shm and no descriptors, got transport %d, shm fd %d, "
                "pipe fd %d",
                (int)l.transport, l.shm_fd, l.pipe_rfd);
  tubo__launch_free(&l);
  setenv(TUBO__ENV_TRANSPORT, "pipe", 1);
  rc = tubo__launch_read(&l);
  ck_assert_msg(rc == 0 && l.transport == TUBO__TP_PIPE && !l.launched,
                "no TUBO_RANK, TUBO_TRANSPORT=pipe: expected 0 and pipe, got %s and %d",
                tubo_err_name(rc), (int)l.transport);
  tubo__launch_free(&l);
  setenv(TUBO__ENV_TRANSPORT, "", 1);
  rc = tubo__launch_read(&l);
  ck_assert_msg(rc == 0 && l.transport == TUBO__TP_SHM,
                "TUBO_TRANSPORT empty: expected 0 and the default shm, got %s and %d",
                tubo_err_name(rc), (int)l.transport);
  setenv(TUBO__ENV_TRANSPORT, "tcp", 1);
  rc = tubo__launch_read(&l);
  ck_assert_msg(rc == TUBO_ELAUNCH,
                "no TUBO_RANK, TUBO_TRANSPORT=tcp: expected TUBO_ELAUNCH, got %s",
                tubo_err_name(rc));
}
END_TEST

/* After a successful read nothing is owned yet; taking the contract makes the descriptors
 * the library's (close-on-exec, closed by free) and removes the launch variables, so that
 * a program the rank runs starts a world of its own. */
static void expect_taken(tubo__launch_t *l, const int *fds, int n, const char *what)
{
  tubo__launch_free(l);
  expect_all_open(fds, n, what);
  ck_assert_msg(tubo__launch_read(l) == 0, "%s: expected a second read to work", what);
  tubo__launch_take(l);
  for (int i = 0; i < n; i++)
    ck_assert_msg(fd_cloexec(fds[i]), "%s: descriptor %d taken: expected close-on-exec", what,
                  fds[i]);
  static const char *const gone[] = {
      TUBO__ENV_JOBID,      TUBO__ENV_RANK,       TUBO__ENV_SIZE,
      TUBO__ENV_LOCAL_RANK, TUBO__ENV_LOCAL_SIZE, TUBO__ENV_LAUNCHER_PID,
      TUBO__ENV_SHM_FD,     TUBO__ENV_PIPE_FDS,   TUBO__ENV_PLACE};
  for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
    ck_assert_msg(getenv(gone[i]) == NULL, "%s: taken: expected %s removed, it is \"%s\"", what,
                  gone[i], getenv(gone[i]));
  tubo__launch_t again;
  int rc = tubo__launch_read(&again);
  ck_assert_msg(rc == 0 && !again.launched,
                "%s: read after take: expected a world of one, got %s, launched %d", what,
                tubo_err_name(rc), again.launched);
  tubo__launch_free(l);
  for (int i = 0; i < n; i++)
    ck_assert_msg(!fd_open(fds[i]), "%s: tubo__launch_free left taken descriptor %d open", what,
                  fds[i]);
}

START_TEST(test_valid_shm)
{
  int fd = open_memfd();
  env_valid_shm(fd);
  unsetenv(TUBO__ENV_LOCAL_RANK);
  unsetenv(TUBO__ENV_LOCAL_SIZE);
  tubo__launch_t l;
  int rc = tubo__launch_read(&l);
  ck_assert_msg(rc == 0, "valid shm environment: expected 0, got %s", tubo_err_name(rc));
  ck_assert_msg(l.launched == 1 && l.rank == 1 && l.size == 3,
                "expected launched rank 1 of 3, got launched %d rank %d of %d", l.launched, l.rank,
                l.size);
  ck_assert_msg(l.local_rank == 1 && l.local_size == 3,
                "no TUBO_LOCAL_*: expected local rank 1 of 3 (as the world), got %d of %d",
                l.local_rank, l.local_size);
  ck_assert_msg(l.launcher_pid == getpid(), "launcher pid: expected %d, got %d", (int)getpid(),
                (int)l.launcher_pid);
  ck_assert_msg(l.transport == TUBO__TP_SHM && l.shm_fd == fd,
                "expected shm with fd %d, got transport %d fd %d", fd, (int)l.transport, l.shm_fd);
  static const uint8_t want[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  for (int i = 0; i < 16; i++)
    ck_assert_msg(l.jobid[i] == want[i], "job id byte %d: expected 0x%02x, got 0x%02x", i, want[i],
                  l.jobid[i]);
  ck_assert_msg(!l.here_given, "no TUBO_PLACE: expected no facts given");
  expect_taken(&l, &fd, 1, "shm");
  ck_assert_msg(l.shm_fd == -1, "tubo__launch_free: expected shm_fd -1, got %d", l.shm_fd);

  /* What tuborun found of where the rank runs, read as written, and taken with the rest. */
  fd = open_memfd();
  env_valid_shm(fd);
  setenv(TUBO__ENV_PLACE, "192,5,1,2,0,17,3", 1);
  rc = tubo__launch_read(&l);
  ck_assert_msg(rc == 0 && l.here_given,
                "TUBO_PLACE=192,5,1,2,0,17,3: expected 0 with facts, got %s", tubo_err_name(rc));
  const tubo__here_t *h = &l.here;
  ck_assert_msg(h->npus == 192 && h->loc.l2 == 5 && h->loc.l3 == 1 && h->loc.numa == 2 &&
                    h->loc.package == 0 && h->loc.core == 17 && h->mem_node == 3,
                "TUBO_PLACE=192,5,1,2,0,17,3: expected those facts, got %d,%d,%d,%d,%d,%d,%d",
                h->npus, h->loc.l2, h->loc.l3, h->loc.numa, h->loc.package, h->loc.core,
                h->mem_node);
  char buf[64];
  ck_assert_msg(tubo__launch_format_place(h, buf, sizeof buf) == 0 &&
                    strcmp(buf, "192,5,1,2,0,17,3") == 0,
                "expected the facts written back as read, got '%s'", buf);
  ck_assert_msg(tubo__launch_format_place(h, buf, 8) == TUBO_EINVAL,
                "expected TUBO_EINVAL writing the facts into 8 bytes");
  expect_taken(&l, &fd, 1, "shm with TUBO_PLACE");

  /* Local rank and size, when given, are read. */
  fd = open_memfd();
  env_valid_shm(fd);
  setenv(TUBO__ENV_LOCAL_RANK, "0", 1);
  setenv(TUBO__ENV_LOCAL_SIZE, "2", 1);
  rc = tubo__launch_read(&l);
  ck_assert_msg(rc == 0 && l.local_rank == 0 && l.local_size == 2,
                "TUBO_LOCAL_RANK=0 TUBO_LOCAL_SIZE=2: expected 0 with local 0 of 2, got %s with "
                "%d of %d",
                tubo_err_name(rc), l.local_rank, l.local_size);
  tubo__launch_free(&l);
}
END_TEST

/* One variable changed from the valid shm environment (NULL: unset) must give
 * TUBO_ELAUNCH. */
typedef struct bad_env {
  const char *name, *value;
} bad_env_t;

static const bad_env_t bad_shm[] = {
    {TUBO__ENV_RANK, "3"},
    {TUBO__ENV_RANK, "-1"},
    {TUBO__ENV_RANK, "x"},
    {TUBO__ENV_RANK, ""},
    {TUBO__ENV_RANK, "1.0"},
    {TUBO__ENV_SIZE, NULL},
    {TUBO__ENV_SIZE, "0"},
    {TUBO__ENV_SIZE, "4097"},
    {TUBO__ENV_SIZE, "3x"},
    {TUBO__ENV_SIZE, "99999999999999999999"},
    {TUBO__ENV_SIZE, "-3"},
    {TUBO__ENV_LOCAL_SIZE, "4"},
    {TUBO__ENV_LOCAL_SIZE, "0"},
    {TUBO__ENV_LOCAL_RANK, "3"},
    {TUBO__ENV_LOCAL_RANK, NULL},
    {TUBO__ENV_LOCAL_RANK, "-1"},
    {TUBO__ENV_LAUNCHER_PID, NULL},
    {TUBO__ENV_LAUNCHER_PID, "0"},
    {TUBO__ENV_LAUNCHER_PID, "-5"},
    {TUBO__ENV_LAUNCHER_PID, "abc"},
    {TUBO__ENV_JOBID, NULL},
    {TUBO__ENV_JOBID, "00112233"},
    {TUBO__ENV_JOBID, JOBID "00"},
    {TUBO__ENV_JOBID, "00112233445566778899AABBCCDDEEFF"},
    {TUBO__ENV_JOBID, "0011223344556677889gaabbccddeeff"},
    {TUBO__ENV_JOBID, ""},
    {TUBO__ENV_TRANSPORT, "tcp"},
    {TUBO__ENV_TRANSPORT, "SHM"},
    {TUBO__ENV_SHM_FD, NULL},
    {TUBO__ENV_SHM_FD, "-1"},
    {TUBO__ENV_SHM_FD, "abc"},
    {TUBO__ENV_SHM_FD, "closed"},
    /* The standard descriptors are never the job's memory, nor is a device. */
    {TUBO__ENV_SHM_FD, "0"},
    {TUBO__ENV_SHM_FD, "1"},
    {TUBO__ENV_SHM_FD, "2"},
    {TUBO__ENV_SHM_FD, "devnull"},
    /* Seven whole numbers: processing units at least 1, the others at least -1. */
    {TUBO__ENV_PLACE, ""},
    {TUBO__ENV_PLACE, "2,0,0,0,0,0"},
    {TUBO__ENV_PLACE, "2,0,0,0,0,0,-1,0"},
    {TUBO__ENV_PLACE, "0,0,0,0,0,0,-1"},
    {TUBO__ENV_PLACE, "2,-2,0,0,0,0,-1"},
    {TUBO__ENV_PLACE, "2,0,0,x,0,0,-1"},
    {TUBO__ENV_PLACE, "2,0,0,0,0,0,99999999999"},
    {TUBO__ENV_PLACE, "2,0,0,0,0,0,-1,"},
};
#define NBAD_SHM (sizeof bad_shm / sizeof bad_shm[0])

START_TEST(test_bad_shm)
{
  const bad_env_t *b = &bad_shm[_i];
  int fds[2] = {open_memfd(), open_null()};
  env_valid_shm(fds[0]);
  if (b->value == NULL)
    unsetenv(b->name);
  else if (strcmp(b->value, "closed") == 0)
    env_int(b->name, closed_fd());
  else if (strcmp(b->value, "devnull") == 0)
    env_int(b->name, fds[1]);
  else
    setenv(b->name, b->value, 1);
  tubo__launch_t l;
  int rc = tubo__launch_read(&l);
  char what[128];
  snprintf(what, sizeof what, "%s=%s%s%s", b->name, b->value ? "\"" : "",
           b->value ? b->value : "(unset)", b->value ? "\"" : "");
  ck_assert_msg(rc == TUBO_ELAUNCH, "%s: expected TUBO_ELAUNCH, got %s", what, tubo_err_name(rc));
  expect_all_open(fds, 2, what);
  /* tubo_init says the same and closes nothing either. */
  rc = tubo_init(NULL, NULL);
  ck_assert_msg(rc == TUBO_ELAUNCH, "%s: tubo_init: expected TUBO_ELAUNCH, got %s", what,
                tubo_err_name(rc));
  expect_all_open(fds, 2, what);
}
END_TEST

/* tubo_init given a regular file that is not the job's memory (wrong magic): refused,
 * and neither closed nor changed. */
START_TEST(test_shm_not_the_job)
{
  int fd = open_memfd();
  char junk[8192];
  memset(junk, 0x5a, sizeof junk);
  ck_assert_msg(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk, "expected to fill the memfd");
  env_valid_shm(fd);
  int rc = tubo_init(NULL, NULL);
  ck_assert_msg(rc == TUBO_ELAUNCH, "a memfd of junk: tubo_init: expected TUBO_ELAUNCH, got %s",
                tubo_err_name(rc));
  expect_all_open(&fd, 1, "a memfd of junk");
  struct stat st;
  ck_assert_msg(fstat(fd, &st) == 0 && st.st_size == (off_t)sizeof junk,
                "a memfd of junk: expected its size %zu unchanged, got %lld", sizeof junk,
                (long long)st.st_size);
  ck_assert_msg(getenv(TUBO__ENV_RANK) != NULL,
                "a failed tubo_init: expected the launch variables kept");
}
END_TEST

/* Rank 1 of 3 over pipes: one pipe per rank; rank 1 reads its own and holds every write
 * end. fds: the three read ends, then the three write ends. */
static void env_valid_pipe(int fds[6])
{
  for (int r = 0; r < 3; r++) {
    int p[2];
    ck_assert_msg(pipe(p) == 0, "pipe() failed");
    fds[r] = p[0];
    fds[3 + r] = p[1];
  }
  env_valid_shm(open_memfd());
  unsetenv(TUBO__ENV_SHM_FD);
  setenv(TUBO__ENV_TRANSPORT, "pipe", 1);
  char list[64];
  snprintf(list, sizeof list, "%d,%d,%d,%d", fds[1], fds[3], fds[4], fds[5]);
  setenv(TUBO__ENV_PIPE_FDS, list, 1);
}

START_TEST(test_valid_pipe)
{
  int fds[6];
  env_valid_pipe(fds);
  tubo__launch_t l;
  int rc = tubo__launch_read(&l);
  ck_assert_msg(rc == 0, "valid pipe environment (%s): expected 0, got %s",
                getenv(TUBO__ENV_PIPE_FDS), tubo_err_name(rc));
  ck_assert_msg(l.transport == TUBO__TP_PIPE && l.pipe_rfd == fds[1] && l.pipe_wfds != NULL &&
                    l.shm_fd == -1,
                "expected pipe with read end %d and no shm, got transport %d read end %d shm %d",
                fds[1], (int)l.transport, l.pipe_rfd, l.shm_fd);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(l.pipe_wfds[i] == fds[3 + i], "write end of rank %d: expected %d, got %d", i,
                  fds[3 + i], l.pipe_wfds[i]);
  int used[4] = {fds[1], fds[3], fds[4], fds[5]};
  expect_taken(&l, used, 4, "pipe");
  ck_assert_msg(l.pipe_wfds == NULL && l.pipe_rfd == -1,
                "tubo__launch_free: expected no descriptors left in the record");
}
END_TEST

/* The i-th malformed TUBO_PIPE_FDS for rank 1 of 3 (which needs 4 descriptors: its read
 * end, then the write ends of ranks 0, 1, 2). */
static void bad_pipe_list(int i, const int fds[6], int closed, int devnull, char *out, size_t n)
{
  int r0 = fds[0], r1 = fds[1], w0 = fds[3], w1 = fds[4], w2 = fds[5];
  switch (i) {
  case 0: /* too few */
    snprintf(out, n, "%d,%d,%d", r1, w0, w1);
    break;
  case 1: /* too many */
    snprintf(out, n, "%d,%d,%d,%d,%d", r1, w0, w1, w2, w2);
    break;
  case 2: /* one is not open */
    snprintf(out, n, "%d,%d,%d,%d", r1, w0, closed, w2);
    break;
  case 3:
    snprintf(out, n, "%d,%d,x,%d", r1, w0, w2);
    break;
  case 4:
    snprintf(out, n, "%d,%d,%d,-1", r1, w0, w1);
    break;
  case 5:
    snprintf(out, n, "%d", r1);
    break;
  case 6:
    snprintf(out, n, "%s", ",,,");
    break;
  case 7:
    snprintf(out, n, "%s", "");
    break;
  case 8: /* the standard descriptors */
    snprintf(out, n, "0,1,2,%d", w2);
    break;
  case 9:
    snprintf(out, n, "%d,%d,1,%d", r1, w0, w2);
    break;
  case 10: /* a write end twice */
    snprintf(out, n, "%d,%d,%d,%d", r1, w0, w1, w0);
    break;
  case 11: /* the read end as a write end too */
    snprintf(out, n, "%d,%d,%d,%d", r1, w0, r1, w2);
    break;
  case 12: /* not a pipe */
    snprintf(out, n, "%d,%d,%d,%d", r1, devnull, w1, w2);
    break;
  case 13: /* a read end where a write end belongs */
    snprintf(out, n, "%d,%d,%d,%d", r1, r0, w1, w2);
    break;
  case 14: /* a write end where the read end belongs */
    snprintf(out, n, "%d,%d,%d,%d", w1, w0, w1, w2);
    break;
  default: /* its own write end is not on the pipe it reads */
    snprintf(out, n, "%d,%d,%d,%d", r1, w0, w2, w1);
    break;
  }
}
#define NBAD_PIPE 16

START_TEST(test_bad_pipe)
{
  int fds[8];
  env_valid_pipe(fds);
  fds[6] = open_null();
  fds[7] = open_memfd();
  char list[96];
  bad_pipe_list(_i, fds, closed_fd(), fds[6], list, sizeof list);
  setenv(TUBO__ENV_PIPE_FDS, list, 1);
  tubo__launch_t l;
  int rc = tubo__launch_read(&l);
  char what[160];
  snprintf(what, sizeof what, "TUBO_PIPE_FDS=\"%s\" for 3 ranks", list);
  ck_assert_msg(rc == TUBO_ELAUNCH, "%s: expected TUBO_ELAUNCH, got %s", what, tubo_err_name(rc));
  expect_all_open(fds, 8, what);
  /* Through tubo_init as well: nothing closed, no descriptor changed. */
  rc = tubo_init(NULL, NULL);
  ck_assert_msg(rc == TUBO_ELAUNCH, "%s: tubo_init: expected TUBO_ELAUNCH, got %s", what,
                tubo_err_name(rc));
  expect_all_open(fds, 8, what);
  for (int i = 0; i < 6; i++)
    ck_assert_msg(!fd_cloexec(fds[i]), "%s: expected descriptor %d left without close-on-exec",
                  what, fds[i]);
}
END_TEST

START_TEST(test_pipe_fds_unset)
{
  int fds[6];
  env_valid_pipe(fds);
  unsetenv(TUBO__ENV_PIPE_FDS);
  tubo__launch_t l;
  int rc = tubo__launch_read(&l);
  ck_assert_msg(rc == TUBO_ELAUNCH, "TUBO_PIPE_FDS unset: expected TUBO_ELAUNCH, got %s",
                tubo_err_name(rc));
}
END_TEST

START_TEST(test_parse_int)
{
  static const struct {
    const char *s;
    long lo, hi;
    int ok;
    long want;
  } cases[] = {
      {"0", 0, 10, 1, 0},
      {"10", 0, 10, 1, 10},
      {"11", 0, 10, 0, 0},
      {"-1", 0, 10, 0, 0},
      {"-1", -5, 10, 1, -1},
      {"-5", -5, 10, 1, -5},
      {"-6", -5, 10, 0, 0},
      {"007", 0, 10, 1, 7},
      {"", 0, 10, 0, 0},
      {"12a", 0, 100, 0, 0},
      {"a12", 0, 100, 0, 0},
      {"1 ", 0, 10, 0, 0},
      {"0x10", 0, 100, 0, 0},
      {"1e3", 0, 10000, 0, 0},
      {"1.5", 0, 10, 0, 0},
      {"-", -10, 10, 0, 0},
      {"+", 0, 10, 0, 0},
      {"--1", -10, 10, 0, 0},
      {"9223372036854775807", 0, LONG_MAX, 1, LONG_MAX},
      {"-9223372036854775808", LONG_MIN, 0, 1, LONG_MIN},
      {"9223372036854775808", 0, LONG_MAX, 0, 0},
      {"99999999999999999999", 0, LONG_MAX, 0, 0},
      {"-99999999999999999999", LONG_MIN, 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    long out = 12345;
    int rc = tubo__parse_int(cases[i].s, cases[i].lo, cases[i].hi, &out);
    if (cases[i].ok)
      ck_assert_msg(rc == 0 && out == cases[i].want,
                    "parse_int(\"%s\", %ld, %ld): expected 0 and %ld, got %s and %ld", cases[i].s,
                    cases[i].lo, cases[i].hi, cases[i].want, tubo_err_name(rc), out);
    else
      ck_assert_msg(rc == TUBO_EINVAL,
                    "parse_int(\"%s\", %ld, %ld): expected TUBO_EINVAL, got %s (%ld)", cases[i].s,
                    cases[i].lo, cases[i].hi, tubo_err_name(rc), out);
  }
  long out = 0;
  int rc = tubo__parse_int(NULL, 0, 10, &out);
  ck_assert_msg(rc == TUBO_EINVAL, "parse_int(NULL): expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));
}
END_TEST

START_TEST(test_parse_transport)
{
  enum tubo__transport_kind k = TUBO__TP_PIPE;
  ck_assert_msg(tubo__parse_transport("shm", &k) == 0 && k == TUBO__TP_SHM,
                "\"shm\": expected shm");
  ck_assert_msg(tubo__parse_transport("pipe", &k) == 0 && k == TUBO__TP_PIPE,
                "\"pipe\": expected pipe");
  static const char *const bad[] = {"", "SHM", "Pipe", " shm", "shm ", "pipes", "sh", "mpi"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = tubo__parse_transport(bad[i], &k);
    ck_assert_msg(rc == TUBO_EINVAL, "parse_transport(\"%s\"): expected TUBO_EINVAL, got %s",
                  bad[i], tubo_err_name(rc));
  }
  int rc = tubo__parse_transport(NULL, &k);
  ck_assert_msg(rc == TUBO_EINVAL, "parse_transport(NULL): expected TUBO_EINVAL, got %s",
                tubo_err_name(rc));
}
END_TEST

/* ---- A program a rank runs does not join the rank's job ---- */

/* The environment variable in which a rank tells its helpers which objects its job's
 * descriptors are ("dev:ino,dev:ino,..."). */
#define HELPER_JOB_FDS "TH_JOB_FDS"

/* In a rank, before tubo_init: the identities of the job's descriptors the launch
 * variables name, for its helpers to look for. */
static void rank_job_fds(char *out, size_t cap)
{
  const char *shm = getenv(TUBO__ENV_SHM_FD), *pipes = getenv(TUBO__ENV_PIPE_FDS);
  char list[1024];
  snprintf(list, sizeof list, "%s", shm != NULL ? shm : pipes != NULL ? pipes : "");
  out[0] = '\0';
  char *save = NULL;
  for (char *tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    struct stat st;
    TH_CHECK(fstat(atoi(tok), &st) == 0, "expected the job's descriptor %s open", tok);
    snprintf(out + strlen(out), cap - strlen(out), "%s%llu:%llu", out[0] ? "," : "",
             (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
  }
  TH_CHECK(out[0] != '\0', "expected the launch variables to name the job's descriptors");
}

/* In a helper: none of its descriptors may be one of the job's (the rank's memfd or
 * pipes), which close on exec once the rank joined its job. */
static void helper_check_fds(void)
{
  const char *job = getenv(HELPER_JOB_FDS);
  TH_CHECK(job != NULL && *job != '\0', "helper: expected %s from the rank", HELPER_JOB_FDS);
  DIR *d = opendir("/proc/self/fd");
  TH_CHECK(d != NULL, "expected to list /proc/self/fd");
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    int fd = atoi(e->d_name);
    struct stat st;
    if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &st) != 0)
      continue;
    char id[64];
    snprintf(id, sizeof id, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    char list[2048];
    snprintf(list, sizeof list, ",%s,", job);
    char key[70];
    snprintf(key, sizeof key, ",%s,", id);
    TH_CHECK(strstr(list, key) == NULL,
             "helper: descriptor %d is the job's (%s) that the rank holds: expected it closed on "
             "exec",
             fd, id);
  }
  closedir(d);
}

/* Run by a rank with system(): a world of one, whatever the rank it came from. */
static void body_alone(void)
{
  TH_CHECK(getenv(TUBO__ENV_RANK) == NULL && getenv(TUBO__ENV_SHM_FD) == NULL &&
               getenv(TUBO__ENV_PIPE_FDS) == NULL && getenv(TUBO__ENV_JOBID) == NULL,
           "helper: expected no launch variables, got TUBO_RANK=%s", getenv(TUBO__ENV_RANK));
  helper_check_fds();
  TH_OK(tubo_init(NULL, NULL));
  tubo_comm_t *w = TUBO_COMM_WORLD;
  int rank = -1, size = -1;
  TH_OK(tubo_comm_rank(w, &rank));
  TH_OK(tubo_comm_size(w, &size));
  TH_CHECK(rank == 0 && size == 1, "helper: expected a world of one (rank 0 of 1), got %d of %d",
           rank, size);
  TH_OK(tubo_finalize());
}

/* Run by a rank with the launch variables the rank had, given again on purpose: the
 * descriptors they name are closed, so the job cannot be joined. */
static void body_insist(void)
{
  TH_CHECK(getenv(TUBO__ENV_RANK) != NULL, "insisting helper: expected TUBO_RANK given to it");
  TH_EXPECT_RC(tubo_init(NULL, NULL), TUBO_ELAUNCH);
}

/* Each rank runs both helpers through system() while its job is up, then the job goes on
 * as if nothing happened: no helper took a rank's place or left the job in its name. */
static void body_exec_helper(void)
{
  static const char *const vars[] = {
      TUBO__ENV_JOBID,      TUBO__ENV_RANK,       TUBO__ENV_SIZE,
      TUBO__ENV_LOCAL_RANK, TUBO__ENV_LOCAL_SIZE, TUBO__ENV_LAUNCHER_PID,
      TUBO__ENV_TRANSPORT,  TUBO__ENV_SHM_FD,     TUBO__ENV_PIPE_FDS};
  char given[2048] = "", fds[1024];
  rank_job_fds(fds, sizeof fds);
  setenv(HELPER_JOB_FDS, fds, 1);
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i]) != NULL)
      snprintf(given + strlen(given), sizeof given - strlen(given), "%s='%s' ", vars[i],
               getenv(vars[i]));
  th_init_world(NULL, NULL);
  TH_CHECK(getenv(TUBO__ENV_RANK) == NULL,
           "after tubo_init: expected TUBO_RANK removed from the environment, it is %s",
           getenv(TUBO__ENV_RANK));
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  TH_CHECK(n > 0, "expected to find this program");
  exe[n] = '\0';
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%.4000s' --body alone", exe);
  int ws = system(cmd);
  TH_CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
           "system(helper): expected it to run as a world of one and exit 0, got status 0x%x", ws);
  snprintf(cmd, sizeof cmd, "env %s '%.4000s' --body insist", given, exe);
  ws = system(cmd);
  TH_CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
           "system(helper given the launch variables): expected TUBO_ELAUNCH and exit 0, got "
           "status 0x%x",
           ws);
  /* The job is whole: a ring of messages, then a barrier. */
  int next = (th_rank + 1) % th_size, prev = (th_rank + th_size - 1) % th_size;
  for (int iter = 0; iter < 3; iter++) {
    tubo_request_t *rq;
    unsigned char buf[64];
    th_fill(buf, sizeof buf, th_seed(th_rank, next, sizeof buf, iter));
    TH_OK(tubo_isend(buf, sizeof buf, next, 7, th_world, &rq));
    TH_RECV_MSG(prev, 7, sizeof buf, iter);
    TH_OK(tubo_wait(&rq, TUBO_STATUS_IGNORE));
  }
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_finalize());
}

static Suite *launch_suite(void)
{
  Suite *s = suite_create("launch");
  TCase *tc = tcase_create("environment");
  tcase_add_test(tc, test_no_launcher);
  tcase_add_test(tc, test_valid_shm);
  tcase_add_loop_test(tc, test_bad_shm, 0, NBAD_SHM);
  tcase_add_test(tc, test_shm_not_the_job);
  tcase_add_test(tc, test_valid_pipe);
  tcase_add_loop_test(tc, test_bad_pipe, 0, NBAD_PIPE);
  tcase_add_test(tc, test_pipe_fds_unset);
  suite_add_tcase(s, tc);
  tc = tcase_create("parsers");
  tcase_add_test(tc, test_parse_int);
  tcase_add_test(tc, test_parse_transport);
  suite_add_tcase(s, tc);
  th_add_case(s, "exec_helper", 3, TH_BOTH);
  return s;
}

static const th_body_t bodies[] = {{"exec_helper", body_exec_helper, TH_SELF_INIT},
                                   {"alone", body_alone, TH_SELF_INIT},
                                   {"insist", body_insist, TH_SELF_INIT},
                                   {NULL, NULL, 0}};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, launch_suite);
}
