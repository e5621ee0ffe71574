/* SPDX-License-Identifier: MIT */
/* The test harness: each check_<feature> program is both a Check suite and the program
 * its ranks run.
 *
 * Started normally, th_main runs the Check suite. Its test cases start jobs with
 * th_add_job: `$TUBORUN -n N --transport T --timeout 120 <this program> --body NAME`, once
 * per transport and protocol variant, and assert that the job exited 0, quoting its
 * output otherwise. Started with `--body NAME`, th_main runs rank body NAME between
 * tubo_init and tubo_finalize; a failed TH_ check prints `rank R: <file:line>: <what was
 * expected, what came>` and exits 1. */
#ifndef TUBO_TESTS_HARNESS_H
#define TUBO_TESTS_HARNESS_H

#include <check.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "tubo.h"

/* A rank body: returns when its scenario passed; fails through th_fail. */
typedef void (*th_body_fn)(void);

/* The body calls tubo_init and tubo_finalize itself (else the harness does). */
#define TH_SELF_INIT 1u

typedef struct th_body {
  const char *name;
  th_body_fn fn;
  unsigned flags;
} th_body_t;

/* Where and how a job runs: one bit per transport and protocol variant. */
enum th_variant {
  TH_SOLO = 1u << 0,           /* no launcher at all: a world of one */
  TH_SHM = 1u << 1,            /* shm with default settings */
  TH_PIPE = 1u << 2,           /* pipe: eager up to 4080 B, streamed above */
  TH_SHM_COPY = 1u << 3,       /* shm, no single copy: eager up to 64 KiB, streamed above */
  TH_SHM_COPY_SMALL = 1u << 4, /* as TH_SHM_COPY with 64 slots, 16 KiB data: 4 KiB frames */
  TH_SHM_RNDV = 1u << 5,       /* shm, single copy from 1 KiB */
  TH_SHM_RNDV_SMALL = 1u << 6, /* as TH_SHM_RNDV with the small channels */
  TH_VARIANT_END = 1u << 7
};
/* Every transport once. */
#define TH_BOTH (TH_SHM | TH_PIPE)
/* Every protocol path of both transports. */
#define TH_ALL_PATHS \
  (TH_SHM | TH_PIPE | TH_SHM_COPY | TH_SHM_COPY_SMALL | TH_SHM_RNDV | TH_SHM_RNDV_SMALL)

/* The environment variable that tells a body which variant it runs under. */
#define TH_ENV_VARIANT "TH_VARIANT"

/* Runs the suite, or the body named by `--body NAME`. Returns the exit status. */
int th_main(int argc, char **argv, const th_body_t *bodies, Suite *(*make_suite)(void));

/* Adds to tc one test per variant in variants: a job of nranks ranks running body.
 * TH_SKIP_VARIANTS (variant names separated by spaces) leaves those variants out. */
void th_add_job(TCase *tc, const char *body, int nranks, unsigned variants);

/* The tuborun the tests run: $TUBORUN, else the one built here. */
const char *th_tuborun(void);

/* Runs argv, in which the entry "@self" stands for this program (started as a rank with
 * "--body NAME"), with this process's environment less the launch variables, plus env
 * (NAME=value strings, NULL-terminated; NULL for none). Returns its exit status (128 +
 * the signal that killed it), and in *out its output, stdout and stderr (malloc'd). */
int th_run(const char *const *argv, const char *const *env, char **out);

/* A test case with a timeout long enough for jobs on a loaded machine. */
TCase *th_tcase(const char *name);

/* Adds to s a test case named after body with its jobs (th_add_job); returns it, for
 * more jobs of the same body. */
TCase *th_add_case(Suite *s, const char *body, int nranks, unsigned variants);

/* In a body: the world, this rank and the number of ranks (set after tubo_init). */
extern tubo_comm_t *th_world;
extern int th_rank, th_size;

/* tubo_init(argc, argv) (both may be NULL), then th_world, th_rank and th_size set: what
 * the harness does before every body but a TH_SELF_INIT one, which calls it itself after
 * its own preparations. Fails the body if any step fails. */
void th_init_world(int *argc, char ***argv);

/* In a body: the variant it runs under (0 if unknown) and its name. */
unsigned th_variant(void);
const char *th_variant_name(unsigned v);
/* In a body: whether its variant should move large messages with a single copy, which
 * needs the variant to allow it and the kernel to let processes read each other. */
int th_single_copy_expected(void);

/* In a body: the node rank r runs on. In the mpirun pass (tests/run_mpi.sh), ranks make
 * pretend nodes of TUBO_NODE_SIZE consecutive ranks and reach other nodes through MPI;
 * across real hosts (tests/run_hosts.sh, TH_NODE_MAP=cyclic:K) rank r runs on host r % K;
 * elsewhere every rank is on node 0. */
int th_node_of(int r);
/* In a body: whether every rank of the job is on one node (they share memory). */
int th_one_node(void);

/* In a body: reports a failed check and exits 1. */
void th_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define TH_CHECK(cond, ...)                     \
  do {                                          \
    if (!(cond))                                \
      th_fail(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

/* Checks that a tubo call returned want; names both codes otherwise. */
#define TH_EXPECT_RC(call, want)                                                                  \
  do {                                                                                            \
    int th_got_ = (call);                                                                         \
    int th_want_ = (want);                                                                        \
    if (th_got_ != th_want_)                                                                      \
      th_fail(__FILE__, __LINE__, "%s: expected %s, got %s (%d)", #call, tubo_err_name(th_want_), \
              tubo_err_name(th_got_), th_got_);                                                   \
  } while (0)

#define TH_OK(call) TH_EXPECT_RC(call, 0)

/* Checks two integers (any integer type) for equality. */
#define TH_EQ(what, got, want)                                                        \
  do {                                                                                \
    long long th_g_ = (long long)(got), th_w_ = (long long)(want);                    \
    if (th_g_ != th_w_)                                                               \
      th_fail(__FILE__, __LINE__, "%s: expected %lld, got %lld", what, th_w_, th_g_); \
  } while (0)

/* In the test process, where Check's assertions report: a tubo call returned 0, or want. */
#define TH_CK_OK(call)                                                                      \
  do {                                                                                      \
    int rc_ = (call);                                                                       \
    ck_assert_msg(rc_ == 0, "%s: expected 0, got %s (%d)", #call, tubo_err_name(rc_), rc_); \
  } while (0)

#define TH_CK_RC(call, want)                                                                 \
  do {                                                                                       \
    int rc_ = (call), want_ = (want);                                                        \
    ck_assert_msg(rc_ == want_, "%s: expected %s, got %s (%d)", #call, tubo_err_name(want_), \
                  tubo_err_name(rc_), rc_);                                                  \
  } while (0)

/* In the test process: forks a child (output flushed first, so that it is not written twice). */
pid_t th_child_fork(void);

/* In the test process: waits for a child; its exit code, or minus the signal that killed it. */
int th_child_wait(pid_t pid);

/* Checks a status against the source, tag, length and error a receive expects. */
#define TH_STATUS(st, src, tg, len, err) \
  th_check_status(__FILE__, __LINE__, &(st), (src), (tg), (len), (err))
void th_check_status(const char *file, int line, const tubo_status_t *st, int source, int tag,
                     size_t length, int error);

/* A seed for message contents from what identifies a message. */
uint32_t th_seed(int from, int to, size_t len, int iter);
/* Fills buf with the pattern of seed. */
void th_fill(void *buf, size_t len, uint32_t seed);
/* Checks buf against the pattern of seed; fails naming the first differing byte. */
#define TH_CHECK_DATA(buf, len, seed, ...) \
  th_check_data(__FILE__, __LINE__, (buf), (len), (seed), __VA_ARGS__)
void th_check_data(const char *file, int line, const void *buf, size_t len, uint32_t seed,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Sends len bytes of the pattern for (this rank, to, len, iter) with a blocking send. */
#define TH_SEND_MSG(to, tag, len, iter) th_send_msg(__FILE__, __LINE__, (to), (tag), (len), (iter))
void th_send_msg(const char *file, int line, int to, int tag, size_t len, int iter);
/* Receives that message from rank from into a buffer of exactly len bytes followed by a
 * guard, and checks its status, its contents and the guard. */
#define TH_RECV_MSG(from, tag, len, iter) \
  th_recv_msg(__FILE__, __LINE__, (from), (tag), (len), (iter))
void th_recv_msg(const char *file, int line, int from, int tag, size_t len, int iter);
/* Fails unless the n bytes at p all equal the guard byte. */
#define TH_GUARD                  64
#define TH_GUARD_BYTE             0x5a
#define TH_CHECK_GUARD(p, n, ...) th_check_guard(__FILE__, __LINE__, (p), (n), __VA_ARGS__)
void th_check_guard(const char *file, int line, const unsigned char *p, size_t n, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

/* Allocates or fails. */
void *th_malloc(size_t n);

#endif /* TUBO_TESTS_HARNESS_H */
