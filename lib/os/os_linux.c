/* SPDX-License-Identifier: MIT */
/* The OS contract (os.h) on Linux: futexes, memfd, process_vm_readv, prctl. */
#include "config.h"

#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tubo.h"

int tubo__os_futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms)
{
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    tsp = &ts;
  }
  /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
  long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tsp, NULL, 0);
  if (rc == -1 && errno == ETIMEDOUT)
    return TUBO_ETIMEDOUT;
  return 0;
}

void tubo__os_futex_wake(_Atomic uint32_t *word, int n)
{
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);
}

int tubo__os_fence_register(void)
{
  long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
      !(cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
    return TUBO_ENOTSUP;
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) != 0)
    return TUBO_ENOTSUP;
  return 0;
}

void tubo__os_fence_remote(void)
{
  /* Registration succeeded at start-up, so this cannot fail but for a signal. */
  while (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0 && errno == EINTR)
    ;
}

int tubo__os_shm_create(size_t size)
{
  int fd = (int)syscall(SYS_memfd_create, "tubo", (unsigned)MFD_CLOEXEC);
  if (fd < 0) {
    /* Kernels before 3.17: a POSIX object with an unguessable name, unlinked at once,
     * so that it is nameless before anyone else could know it. */
    unsigned char r[12];
    char name[64];
    if (tubo__os_random(r, sizeof r) != 0)
      return TUBO_ESHM;
    int n = snprintf(name, sizeof name, "/tubo.%d.", (int)getpid());
    for (size_t i = 0; i < sizeof r && n + 2 < (int)sizeof name; i++)
      n += snprintf(name + n, sizeof name - (size_t)n, "%02x", r[i]);
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      return TUBO_ESHM;
    shm_unlink(name);
  }
  if (size > 0 && ftruncate(fd, (off_t)size) != 0) {
    close(fd);
    return TUBO_ESHM;
  }
  return fd;
}

int tubo__os_shm_reserve(int fd, size_t offset, size_t len)
{
  int rc;
  do
    rc = posix_fallocate(fd, (off_t)offset, (off_t)len);
  while (rc == EINTR);
  /* EOPNOTSUPP: the filesystem cannot reserve; pages will come on first touch. */
  if (rc == 0 || rc == EOPNOTSUPP)
    return 0;
  return TUBO_ESHM;
}

int tubo__os_membind(void *addr, size_t len, int node)
{
  enum { WORD = 8 * sizeof(unsigned long) };
  unsigned long mask[1024 / WORD] = {0};
  if (node < 0 || node >= 1024)
    return TUBO_ENOTSUP;
  mask[node / WORD] = 1UL << (node % WORD);
  /* The kernel reads maxnode - 1 bits of the mask. */
  long rc = syscall(SYS_mbind, addr, len, MPOL_BIND, mask, (unsigned long)1024 + 1, 0UL);
  return rc == 0 ? 0 : TUBO_ENOTSUP;
}

int tubo__os_shm_release(int fd, size_t offset, size_t len)
{
  int rc;
  do
    rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : TUBO_ENOTSUP;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels refuse it with EINVAL */
#endif

void tubo__os_prefault(void *addr, size_t len)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = (uintptr_t)addr & ~(uintptr_t)(page - 1);
  size_t span = ((uintptr_t)addr + len - start + page - 1) & ~(page - 1);
  if (madvise((void *)start, span, MADV_POPULATE_WRITE) == 0)
    return;
  /* Older kernels: a write fault per page, by an atomic add of zero, which cannot disturb
   * what another process stores there at the same time. */
  for (uintptr_t p = start; p < start + span; p += page)
    atomic_fetch_add_explicit((_Atomic uint32_t *)p, 0, memory_order_relaxed);
}

/* Moves len bytes between local and address remote of process pid with
 * process_vm_readv (write 0) or process_vm_writev (write 1), as much as each call moves. */
static int os_peer_copy(pid_t pid, uint64_t remote, void *local, size_t len, int write)
{
  char *at = local;
  while (len > 0) {
    struct iovec l = {at, len};
    struct iovec r = {(void *)(uintptr_t)remote, len};
    ssize_t n =
        write ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EPERM || errno == ENOSYS || errno == EACCES)
        return TUBO_ENOTSUP;
      if (errno == ESRCH)
        return TUBO_EPEER;
      return TUBO_ESYS;
    }
    if (n == 0)
      return TUBO_ESYS;
    at += n;
    remote += (uint64_t)n;
    len -= (size_t)n;
  }
  return 0;
}

int tubo__os_peer_read(pid_t pid, uint64_t remote, void *local, size_t len)
{
  return os_peer_copy(pid, remote, local, len, 0);
}

int tubo__os_peer_readv(pid_t pid, const tubo__os_span_t *v, int n)
{
  enum { MAX = 64 };
  struct iovec l[MAX], r[MAX];
  if (n > MAX)
    n = MAX;
  size_t want = 0;
  for (int i = 0; i < n; i++) {
    l[i] = (struct iovec){v[i].local, v[i].len};
    r[i] = (struct iovec){(void *)(uintptr_t)v[i].remote, v[i].len};
    want += v[i].len;
  }
  ssize_t got = process_vm_readv(pid, l, (unsigned long)n, r, (unsigned long)n, 0);
  if (got == (ssize_t)want)
    return n;
  /* Short or failed: the pieces wholly copied count, the caller retries the rest. */
  int whole = 0;
  for (size_t at = 0; got > 0 && whole < n && at + v[whole].len <= (size_t)got; whole++)
    at += v[whole].len;
  return whole;
}

int tubo__os_peer_write(pid_t pid, uint64_t remote, const void *local, size_t len)
{
  /* process_vm_writev only reads the local side. */
  return os_peer_copy(pid, remote, (void *)(uintptr_t)local, len, 1);
}

void tubo__os_allow_peer_reads(pid_t ancestor)
{
  /* Yama's ptrace_scope=1 lets only ancestors read us; naming the launcher lets every
   * rank it started (its descendants) do so too. EINVAL where Yama is absent. */
  (void)prctl(PR_SET_PTRACER, (unsigned long)ancestor, 0, 0, 0);
}

int tubo__os_die_with_parent(pid_t parent)
{
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    return TUBO_ESYS;
  /* The parent may have died before the prctl took effect. */
  if (getppid() != parent)
    return TUBO_EPEER;
  return 0;
}

int tubo__os_shm_from(pid_t pid, int fd)
{
  /* /proc/pid/fd/N reopens the memfd itself, with the same checks as ptrace's read mode:
   * same user, and no Yama restriction (that applies to attaching only). pidfd_getfd
   * would need the attach mode, which Yama limits to descendants. */
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
  int nfd = open(path, O_RDWR | O_CLOEXEC);
  return nfd < 0 ? TUBO_ESHM : nfd;
}

/* Reads the state letter and the parent of process pid from /proc/PID/stat. Returns 0,
 * or -1 when there is no such process (or /proc cannot tell). The state follows the
 * command name, which may itself hold ')': "pid (comm) S ppid ...". */
static int os_stat(pid_t pid, char *state, pid_t *ppid)
{
  char path[32], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  char *end = strrchr(buf, ')');
  if (end == NULL || end[1] != ' ' || end[2] == '\0')
    return -1;
  *state = end[2];
  *ppid = (pid_t)strtol(end + 3, NULL, 10);
  return 0;
}

int tubo__os_pid_state(pid_t pid)
{
  if (pid <= 0)
    return TUBO__PID_GONE;
  if (kill(pid, 0) != 0 && errno != EPERM)
    return TUBO__PID_GONE;
  /* A zombie has ended; only its parent's wait is missing, and that parent may be the
   * very process asking (waiting for a lock the zombie held). */
  char st;
  pid_t ppid;
  if (os_stat(pid, &st, &ppid) != 0)
    return TUBO__PID_ALIVE; /* no /proc: kill said it is there */
  if (st == 'Z' || st == 'X')
    return TUBO__PID_GONE;
  return st == 'T' || st == 't' ? TUBO__PID_STOPPED : TUBO__PID_ALIVE;
}

/* getpid() is a system call, and the fast paths (locks, the heap's shards) make none.
 * Forked children start again from 0 (pthread_atfork) and look theirs up; where the fork
 * handler cannot be registered, nothing is cached: a child must never act as its
 * parent. */
static _Atomic uint32_t os_pid;
static _Atomic int os_pid_nocache;
static pthread_once_t os_pid_once = PTHREAD_ONCE_INIT;

static void os_pid_forked(void)
{
  atomic_store_explicit(&os_pid, 0, memory_order_relaxed);
}

static void os_pid_register(void)
{
  if (pthread_atfork(NULL, NULL, os_pid_forked) != 0)
    atomic_store_explicit(&os_pid_nocache, 1, memory_order_relaxed);
}

uint32_t tubo__os_self(void)
{
  uint32_t me = atomic_load_explicit(&os_pid, memory_order_relaxed);
  if (me != 0)
    return me;
  pthread_once(&os_pid_once, os_pid_register);
  me = (uint32_t)getpid();
  if (!atomic_load_explicit(&os_pid_nocache, memory_order_relaxed))
    atomic_store_explicit(&os_pid, me, memory_order_relaxed);
  return me;
}

int tubo__os_pid_alive(pid_t pid)
{
  return tubo__os_pid_state(pid) != TUBO__PID_GONE;
}

pid_t tubo__os_pid_parent(pid_t pid)
{
  char st;
  pid_t ppid;
  if (pid <= 0 || os_stat(pid, &st, &ppid) != 0)
    return -1;
  return ppid;
}

int tubo__os_cpu_time_ns(pid_t pid, uint64_t *ns)
{
  char path[32], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return TUBO_EPEER;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return TUBO_EPEER;
  buf[n] = '\0';
  /* "pid (comm) state ppid ... utime stime ...": utime and stime are the 12th and 13th
   * fields after the command name, which may itself hold spaces and ')'. */
  char *p = strrchr(buf, ')');
  unsigned long long utime, stime;
  if (p == NULL ||
      sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return TUBO_EPEER;
  long tick = sysconf(_SC_CLK_TCK);
  *ns = (utime + stime) * (1000000000ull / (uint64_t)(tick > 0 ? tick : 100));
  return 0;
}

void tubo__os_yield(void)
{
  sched_yield();
}

uint64_t tubo__os_now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int tubo__os_random(void *buf, size_t len)
{
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return TUBO_ESYS;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
