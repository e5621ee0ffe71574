/* SPDX-License-Identifier: MIT */
/* What a test of Process or spawned workers must not leave behind: a child process of the
 * test (running, or ended and never reaped), or a new tubo object in /dev/shm. A body takes
 * a snapshot when it starts and checks against it when it ends (through TH_ checks). */
#ifndef TUBO_TESTS_LEFTOVERS_H
#define TUBO_TESTS_LEFTOVERS_H

/* The tubo objects in /dev/shm when the snapshot was taken. */
typedef struct lo_snapshot {
  char *names; /* the names, each ended by '\n', or NULL for none */
} lo_snapshot_t;

/* Records what is in /dev/shm now. */
void lo_take(lo_snapshot_t *s);

/* Fails (th_fail) if this process has a child, or if /dev/shm holds a tubo object that
 * was not there at the snapshot; when names the moment, for the message. Frees s. */
void lo_check(lo_snapshot_t *s, const char *when);

/* Defines body_NAME: test_NAME between a snapshot and its check. */
#define LO_BODY(name)                    \
  static void body_##name(void)          \
  {                                      \
    lo_snapshot_t lo_snap_;              \
    lo_take(&lo_snap_);                  \
    test_##name();                       \
    lo_check(&lo_snap_, "after " #name); \
  }

#endif /* TUBO_TESTS_LEFTOVERS_H */
