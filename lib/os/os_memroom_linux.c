/* SPDX-License-Identifier: MIT */
/* How much more memory a job may take (os.h, tubo__os_memory_room) on Linux: what
 * /proc/meminfo says is available, what each memory cgroup of this process allows (v2:
 * memory.max and memory.high; v1: memory.limit_in_bytes; up to the hierarchy's root), and
 * the free space of a size-limited file system holding the job's memory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "os/os.h"
#include "tubo.h"

/* Limits at or above this mean "none" (cgroup v1 writes a page-rounded LLONG_MAX). */
#define ROOM_NO_LIMIT ((uint64_t)1 << 62)

/* Reads a small file whole into buf (NUL-terminated). Returns its length or -1. */
static ssize_t room_read(const char *path, char *buf, size_t cap)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
    if (len == cap - 1)
      break;
  }
  close(fd);
  buf[len] = '\0';
  return (ssize_t)len;
}

/* A file holding one number, or "max" (no limit). Returns 0 or -1. */
static int room_number(const char *dir, const char *name, uint64_t *v)
{
  char path[4200], buf[64];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
      room_read(path, buf, sizeof buf) <= 0)
    return -1;
  if (strncmp(buf, "max", 3) == 0) {
    *v = UINT64_MAX;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  unsigned long long n = strtoull(buf, &end, 10);
  if (errno != 0 || end == buf)
    return -1;
  *v = n >= ROOM_NO_LIMIT ? UINT64_MAX : (uint64_t)n;
  return 0;
}

/* The sum of the named keys of a "key value" file (memory.stat, /proc/meminfo). */
static uint64_t room_keys(const char *path, const char *const *keys, uint64_t scale)
{
  static char buf[16384];
  if (room_read(path, buf, sizeof buf) <= 0)
    return 0;
  uint64_t sum = 0;
  for (char *line = buf; line != NULL && *line != '\0';) {
    char *next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    for (int k = 0; keys[k] != NULL; k++) {
      size_t n = strlen(keys[k]);
      if (strncmp(line, keys[k], n) == 0 && (line[n] == ' ' || line[n] == ':'))
        sum += strtoull(line + n + 1 + strspn(line + n + 1, " :"), NULL, 10) * scale;
    }
    line = next;
  }
  return sum;
}

/* Takes room as the new bound if it is lower, naming what set it. */
static void room_bound(tubo__os_room_t *r, uint64_t room, const char *fmt, const char *arg)
{
  if (room >= r->bytes)
    return;
  r->bytes = room;
  snprintf(r->what, sizeof r->what, fmt, arg);
}

/* One cgroup directory: its limit less what it uses, page cache it could drop not
 * counted as used. v2 has memory.max and memory.high; v1 memory.limit_in_bytes. */
static void room_cgroup_dir(tubo__os_room_t *r, const char *dir, int v2)
{
  static const char *const cache_v2[] = {"active_file", "inactive_file", NULL};
  static const char *const cache_v1[] = {"total_active_file", "total_inactive_file", NULL};
  uint64_t limit = UINT64_MAX, high = UINT64_MAX, usage = 0;
  const char *lname = v2 ? "memory.max" : "memory.limit_in_bytes";
  if (room_number(dir, lname, &limit) != 0)
    return;
  if (v2 && room_number(dir, "memory.high", &high) == 0 && high < limit) {
    limit = high;
    lname = "memory.high";
  }
  if (limit == UINT64_MAX ||
      room_number(dir, v2 ? "memory.current" : "memory.usage_in_bytes", &usage) != 0)
    return;
  char path[4200];
  snprintf(path, sizeof path, "%s/memory.stat", dir);
  uint64_t cache = room_keys(path, v2 ? cache_v2 : cache_v1, 1);
  uint64_t used = usage > cache ? usage - cache : 0;
  uint64_t room = limit > used ? limit - used : 0;
  if (room < r->bytes) {
    r->bytes = room;
    snprintf(r->what, sizeof r->what, "the memory cgroup's limit (%.400s/%s)", dir, lname);
  }
}

/* This process's path in a cgroup hierarchy: v2's ("0::/path"), or v1's memory
 * controller's ("N:a,memory,b:/path"). Returns 0 or -1. */
static int room_cgroup_path(int v2, char *path, size_t cap)
{
  static char cg[8192];
  if (room_read("/proc/self/cgroup", cg, sizeof cg) <= 0)
    return -1;
  char *save = NULL;
  for (char *line = strtok_r(cg, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':'), *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL)
      continue;
    *c2 = '\0';
    const char *ctls = c1 + 1;
    int ok = v2 ? *ctls == '\0' : 0;
    if (!v2) {
      char list[256];
      snprintf(list, sizeof list, ",%s,", ctls);
      ok = strstr(list, ",memory,") != NULL;
    }
    if (ok) {
      snprintf(path, cap, "%s", c2 + 1);
      return 0;
    }
  }
  return -1;
}

/* Where the hierarchy (v2, or v1's memory controller) is mounted, and this process's
 * directory in it. Returns 0 or -1. */
static int room_cgroup_mount(int v2, const char *path, char *mount, size_t mcap, char *dir,
                             size_t dcap)
{
  static char mi[65536];
  if (room_read("/proc/self/mountinfo", mi, sizeof mi) <= 0)
    return -1;
  char *save = NULL;
  for (char *line = strtok_r(mi, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    /* "id parent maj:min root mountpoint options ... - fstype source superoptions" */
    char root[1024], mnt[1024], fstype[64], super[512];
    char *dash = strstr(line, " - ");
    if (dash == NULL || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2 ||
        sscanf(dash + 3, "%63s %*s %511s", fstype, super) != 2)
      continue;
    char list[520];
    snprintf(list, sizeof list, ",%s,", super);
    if (v2 ? strcmp(fstype, "cgroup2") != 0
           : strcmp(fstype, "cgroup") != 0 || strstr(list, ",memory,") == NULL)
      continue;
    /* A mount may show only a part of the hierarchy (a container's cgroup namespace). */
    size_t rlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
    if (rlen > 0 && strncmp(path, root, rlen) != 0)
      continue;
    snprintf(mount, mcap, "%s", mnt);
    snprintf(dir, dcap, "%s%s", mnt, strcmp(path + rlen, "/") == 0 ? "" : path + rlen);
    return 0;
  }
  return -1;
}

/* Finds this process's memory cgroup: in v2 when the unified hierarchy has the memory
 * controller, else in v1's memory hierarchy. Returns 1 (v2), 0 (v1) or -1 (none). */
static int room_cgroup_find(char *mount, size_t mcap, char *dir, size_t dcap)
{
  char path[2048], ctls[512], probe[1100];
  if (room_cgroup_path(1, path, sizeof path) == 0 &&
      room_cgroup_mount(1, path, mount, mcap, dir, dcap) == 0) {
    snprintf(probe, sizeof probe, "%s/cgroup.controllers", mount);
    char list[520];
    if (room_read(probe, ctls, sizeof ctls) > 0) {
      ctls[strcspn(ctls, "\n")] = '\0';
      snprintf(list, sizeof list, " %s ", ctls);
      if (strstr(list, " memory ") != NULL)
        return 1;
    }
  }
  if (room_cgroup_path(0, path, sizeof path) == 0 &&
      room_cgroup_mount(0, path, mount, mcap, dir, dcap) == 0)
    return 0;
  return -1;
}

int tubo__os_memory_room(int fd, tubo__os_room_t *r)
{
  static const char *const avail[] = {"MemAvailable", NULL};
  r->bytes = UINT64_MAX;
  r->what[0] = '\0';
  uint64_t mem = room_keys("/proc/meminfo", avail, 1024);
  if (mem > 0)
    room_bound(r, mem, "%s", "the memory available (MemAvailable in /proc/meminfo)");
  char mount[1024], dir[4096];
  int v2 = room_cgroup_find(mount, sizeof mount, dir, sizeof dir);
  if (v2 >= 0) {
    /* This cgroup and every one above it: each limit holds. */
    for (;;) {
      room_cgroup_dir(r, dir, v2);
      size_t n = strlen(dir);
      if (n <= strlen(mount))
        break;
      char *slash = strrchr(dir, '/');
      if (slash == NULL || (size_t)(slash - dir) < strlen(mount))
        break;
      *slash = '\0';
    }
  }
  struct statfs fs;
  if (fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_blocks > 0)
    room_bound(r, (uint64_t)fs.f_bavail * (uint64_t)fs.f_bsize, "%s",
               "the free space of the file system holding the job's memory (/dev/shm)");
  return 0;
}
