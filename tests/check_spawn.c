/* SPDX-License-Identifier: MIT */
/* Spawned workers: tubo_spawn forks N workers that form a communicator with the caller
 * (rank 0; workers 1..N, whose TUBO_COMM_WORLD it is), tubo_spawn_join waits for them.
 * Ranks and sizes, messages both ways, between workers and from any source, barriers,
 * large messages, exit codes, a worker killed by a signal (while the others and rank 0
 * wait on it, or rank 0 joins or sends to it), a join while workers still wait, several
 * spawned communicators (one of them broken), spawning from a rank of a tuborun job, and
 * bad arguments. More workers than cores: the machine has two.
 *
 * Each body ends by checking that no child is left and nothing new is in /dev/shm
 * (leftovers.h). Workers check with the harness's TH_ checks too: a failed one prints
 * its reason and exits 1, which the parent sees in the exit codes. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"
#include "leftovers.h"

#define MAX_WORKERS 8
#define BIG_A       (1u << 20)
#define BIG_B       ((4u << 20) + 3)

/* ---- The harness's view: which communicator its checks and helpers act on ---- */

/* In a worker: the harness's globals name the spawned communicator, so that TH_SEND_MSG,
 * TH_RECV_MSG and failure messages act there as this worker's rank. */
static void worker_enter(tubo_comm_t *comm)
{
  tubo_comm_t *world = TUBO_COMM_WORLD;
  TH_CHECK(world == comm, "worker: TUBO_COMM_WORLD: expected the spawned communicator (%p), got %p",
           (void *)comm, (void *)world);
  th_world = comm;
  TH_OK(tubo_comm_rank(comm, &th_rank));
  TH_OK(tubo_comm_size(comm, &th_size));
}

/* In the spawning process: the same for its rank 0 in a spawned communicator, and back. */
typedef struct view {
  tubo_comm_t *world;
  int rank, size;
} view_t;

static view_t view_enter(tubo_comm_t *comm)
{
  view_t saved = {th_world, th_rank, th_size};
  th_world = comm;
  th_rank = 0;
  TH_OK(tubo_comm_size(comm, &th_size));
  return saved;
}

static void view_leave(view_t saved)
{
  th_world = saved.world;
  th_rank = saved.rank;
  th_size = saved.size;
}

/* ---- Spawning and joining ---- */

static tubo_comm_t *spawn(int n, tubo_spawn_fn fn, void *arg)
{
  tubo_comm_t *before = tubo_comm_world(), *c = NULL;
  TH_OK(tubo_spawn(n, fn, arg, &c));
  TH_CHECK(c != NULL, "tubo_spawn(%d) returned 0 but no communicator", n);
  int rank = -1, size = -1;
  TH_OK(tubo_comm_rank(c, &rank));
  TH_OK(tubo_comm_size(c, &size));
  TH_EQ("rank of the spawning process in the spawned communicator", rank, 0);
  TH_CHECK(size == n + 1, "size of a communicator of %d spawned workers: expected %d, got %d", n,
           n + 1, size);
  TH_CHECK(tubo_comm_world() == before,
           "TUBO_COMM_WORLD of the spawning process: expected it unchanged (%p), got %p",
           (void *)before, (void *)tubo_comm_world());
  return c;
}

/* Joins *c and checks every worker's exit code against want (NULL: all 0) and the
 * result against want_rc. */
static void join(tubo_comm_t **c, int n, const int *want, int want_rc)
{
  int codes[MAX_WORKERS];
  for (int i = 0; i < MAX_WORKERS; i++)
    codes[i] = INT_MIN;
  int rc = tubo_spawn_join(c, codes);
  for (int r = 1; r <= n; r++) {
    int w = want ? want[r - 1] : 0;
    TH_CHECK(codes[r - 1] == w,
             "exit code of spawned worker %d of %d: expected %d, got %d (the worker's own "
             "message above, if any, says why)",
             r, n, w, codes[r - 1]);
  }
  TH_CHECK(rc == want_rc, "tubo_spawn_join: expected %s, got %s", tubo_err_name(want_rc),
           tubo_err_name(rc));
  TH_CHECK(*c == NULL, "tubo_spawn_join: expected the communicator set to NULL, got %p",
           (void *)*c);
}

static void expect_transport(tubo_comm_t *c, int rank, const char *want, const char *who)
{
  const char *name = NULL;
  TH_OK(tubo_comm_transport(c, rank, &name));
  TH_CHECK(name != NULL && strcmp(name, want) == 0, "%s: transport to rank %d: expected %s, got %s",
           who, rank, want, name ? name : "(null)");
}

/* ---- Ranks, sizes, the worker's world ---- */

struct hello {
  int rank, size, pid;
};

static int w_hello(tubo_comm_t *comm, void *arg)
{
  int n = *(const int *)arg;
  worker_enter(comm);
  TH_CHECK(th_rank >= 1 && th_rank <= n, "worker: rank: expected 1..%d, got %d", n, th_rank);
  TH_EQ("worker: size of the spawned communicator", th_size, n + 1);
  expect_transport(comm, 0, "shm", "worker");
  expect_transport(comm, th_rank, "self", "worker");
  TH_CHECK(TUBO_COMM_WORLD == comm && tubo_comm_world() == comm,
           "worker: TUBO_COMM_WORLD and tubo_comm_world(): expected the worker's communicator "
           "%p, got %p and %p",
           (void *)comm, (void *)TUBO_COMM_WORLD, (void *)tubo_comm_world());
  /* A worker may not join the communicator it belongs to: it did not spawn it. */
  tubo_comm_t *own = comm;
  TH_EXPECT_RC(tubo_spawn_join(&own, NULL), TUBO_ECOMM);
  TH_CHECK(own == comm, "worker: a refused tubo_spawn_join changed the communicator");
  struct hello h = {th_rank, th_size, (int)getpid()};
  TH_OK(tubo_send(&h, sizeof h, 0, 1, comm));
  return 0;
}

static void test_ranks(void)
{
  static const int counts[] = {1, 3, 7};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    int n = counts[i];
    tubo_comm_t *c = spawn(n, w_hello, &n);
    int pids[MAX_WORKERS] = {0};
    for (int r = 1; r <= n; r++) {
      expect_transport(c, r, "shm", "spawning process");
      struct hello h = {-1, -1, -1};
      tubo_status_t st;
      TH_OK(tubo_recv(&h, sizeof h, r, 1, c, &st));
      TH_STATUS(st, r, 1, sizeof h, 0);
      TH_EQ("rank a worker reports", h.rank, r);
      TH_EQ("size a worker reports", h.size, n + 1);
      TH_CHECK(h.pid > 0 && h.pid != (int)getpid(),
               "worker %d's pid: expected a child's, got %d (this process is %d)", r, h.pid,
               (int)getpid());
      for (int q = 1; q < r; q++)
        TH_CHECK(pids[q] != h.pid, "workers %d and %d report the same pid %d", q, r, h.pid);
      pids[r] = h.pid;
    }
    join(&c, n, NULL, 0);
  }
}

/* ---- Messages: both ways, a ring of workers, any source, barriers ---- */

#define BARRIER_ROUNDS 5

struct p2p_arg {
  int n;
  atomic_int *arrived; /* shared (mapped before the spawn): barrier arrivals so far */
};

/* Round k of a barrier checked with a shared counter: once a rank leaves barrier k, all
 * n + 1 ranks have arrived k + 1 times, and none can arrive a (k + 3)rd time before this
 * rank arrives again. */
static void counted_barrier(atomic_int *arrived, int k, int nranks)
{
  atomic_fetch_add(arrived, 1);
  TH_OK(tubo_barrier(th_world));
  int v = atomic_load(arrived);
  TH_CHECK(v >= (k + 1) * nranks && v <= (k + 2) * nranks,
           "barrier round %d of %d ranks: expected %d..%d arrivals when leaving, got %d", k, nranks,
           (k + 1) * nranks, (k + 2) * nranks, v);
}

static int w_p2p(tubo_comm_t *comm, void *arg)
{
  const struct p2p_arg *a = arg;
  worker_enter(comm);
  int n = a->n, r = th_rank;
  TH_RECV_MSG(0, 2, 100, r);
  TH_SEND_MSG(0, 3, 100, r);
  int next = r % n + 1, prev = (r + n - 2) % n + 1;
  TH_SEND_MSG(next, 4, 64, 0);
  TH_RECV_MSG(prev, 4, 64, 0);
  TH_OK(tubo_send(&r, sizeof r, 0, 5, comm));
  for (int k = 0; k < BARRIER_ROUNDS; k++)
    counted_barrier(a->arrived, k, n + 1);
  return 0;
}

static void p2p_with(int n)
{
  atomic_int *arrived =
      mmap(NULL, sizeof *arrived, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  TH_CHECK(arrived != MAP_FAILED, "mmap of the shared counter: %s", strerror(errno));
  atomic_init(arrived, 0);
  struct p2p_arg a = {n, arrived};
  tubo_comm_t *c = spawn(n, w_p2p, &a);
  view_t saved = view_enter(c);
  for (int r = 1; r <= n; r++)
    TH_SEND_MSG(r, 2, 100, r);
  for (int r = 1; r <= n; r++)
    TH_RECV_MSG(r, 3, 100, r);
  int seen[MAX_WORKERS] = {0};
  for (int i = 0; i < n; i++) {
    int who = -1;
    tubo_status_t st;
    TH_OK(tubo_recv(&who, sizeof who, TUBO_ANY_SOURCE, 5, c, &st));
    TH_STATUS(st, who, 5, sizeof who, 0);
    TH_CHECK(who >= 1 && who <= n && !seen[who],
             "ANY_SOURCE receive %d of %d: expected a worker not yet heard from, got rank %d", i, n,
             who);
    seen[who] = 1;
  }
  for (int k = 0; k < BARRIER_ROUNDS; k++)
    counted_barrier(arrived, k, n + 1);
  view_leave(saved);
  join(&c, n, NULL, 0);
  munmap(arrived, sizeof *arrived);
}

static void test_p2p(void)
{
  p2p_with(3);
  p2p_with(7);
}

/* ---- Large messages ---- */

static const size_t big_sizes[] = {BIG_A, BIG_B};
#define NBIG (sizeof big_sizes / sizeof big_sizes[0])

static int w_large(tubo_comm_t *comm, void *arg)
{
  int n = *(const int *)arg;
  worker_enter(comm);
  int r = th_rank, next = r % n + 1, prev = (r + n - 2) % n + 1;
  /* Everything from rank 0 first, then everything to it: no two blocking sends face each
   * other. */
  for (size_t i = 0; i < NBIG; i++)
    TH_RECV_MSG(0, 10, big_sizes[i], r);
  for (size_t i = 0; i < NBIG; i++)
    TH_SEND_MSG(0, 11, big_sizes[i], r);
  for (size_t i = 0; i < NBIG; i++) {
    unsigned char *b = th_malloc(big_sizes[i]);
    th_fill(b, big_sizes[i], th_seed(r, next, big_sizes[i], (int)i));
    tubo_request_t *req = NULL;
    TH_OK(tubo_isend(b, big_sizes[i], next, 12, comm, &req));
    TH_RECV_MSG(prev, 12, big_sizes[i], (int)i);
    TH_OK(tubo_wait(&req, TUBO_STATUS_IGNORE));
    free(b);
  }
  return 0;
}

/* The shm settings a spawned communicator is made with: its processes read them when it
 * is made, from this process's environment. Each row is one protocol path for large
 * messages: single copy where the kernel allows it, streamed through the rings, and
 * streamed through small rings (4 KiB frames). */
static const char *const large_settings[][3] = {
    {NULL, NULL, NULL}, {"0", NULL, NULL}, {"0", "64", "16k"}};

static void set_or_unset(const char *name, const char *value)
{
  if (value != NULL)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

static void test_large(void)
{
  int n = 3;
  for (size_t k = 0; k < sizeof large_settings / sizeof large_settings[0]; k++) {
    set_or_unset("TUBO_SHM_CMA", large_settings[k][0]);
    set_or_unset("TUBO_SHM_SLOTS", large_settings[k][1]);
    set_or_unset("TUBO_SHM_DATA_BYTES", large_settings[k][2]);
    tubo_comm_t *c = spawn(n, w_large, &n);
    view_t saved = view_enter(c);
    for (int r = 1; r <= n; r++)
      for (size_t i = 0; i < NBIG; i++)
        TH_SEND_MSG(r, 10, big_sizes[i], r);
    for (int r = 1; r <= n; r++)
      for (size_t i = 0; i < NBIG; i++)
        TH_RECV_MSG(r, 11, big_sizes[i], r);
    view_leave(saved);
    join(&c, n, NULL, 0);
  }
}

/* ---- Exit codes and failures ---- */

static const int exit_codes[] = {0, 3, 0, 255};

static int w_exit(tubo_comm_t *comm, void *arg)
{
  (void)arg;
  worker_enter(comm);
  return exit_codes[th_rank - 1];
}

static void test_exit_codes(void)
{
  int n = (int)(sizeof exit_codes / sizeof exit_codes[0]);
  tubo_comm_t *c = spawn(n, w_exit, NULL);
  join(&c, n, exit_codes, TUBO_EPEER);
}

/* Dies of SIGABRT, without a core file: this death is the test. */
_Noreturn static void die_quietly(void)
{
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  abort();
}

static int w_die(tubo_comm_t *comm, void *arg)
{
  (void)comm;
  (void)arg;
  die_quietly();
}

/* Rank 2 dies of SIGABRT. Rank 1 waits for it, rank 3 for rank 1, which never sends:
 * both must get TUBO_EPEER (a peer died: the communicator is broken). */
static int w_abort(tubo_comm_t *comm, void *arg)
{
  (void)arg;
  worker_enter(comm);
  char b[8];
  if (th_rank == 2)
    die_quietly();
  int from = th_rank == 1 ? 2 : 1;
  TH_EXPECT_RC(tubo_recv(b, sizeof b, from, 0, comm, TUBO_STATUS_IGNORE), TUBO_EPEER);
  return 0;
}

static const int abort_codes[] = {0, -SIGABRT, 0};

/* The spawning process waits in a receive meanwhile: it learns of the death there. */
static void test_abort_parent_waits(void)
{
  tubo_comm_t *c = spawn(3, w_abort, NULL);
  char b[8];
  TH_EXPECT_RC(tubo_recv(b, sizeof b, TUBO_ANY_SOURCE, 0, c, TUBO_STATUS_IGNORE), TUBO_EPEER);
  join(&c, 3, abort_codes, TUBO_EPEER);
}

/* The spawning process joins at once: the workers learn of the death by themselves. */
static void test_abort_parent_joins(void)
{
  tubo_comm_t *c = spawn(3, w_abort, NULL);
  join(&c, 3, abort_codes, TUBO_EPEER);
}

/* Rank 0 sends a message too large to be buffered to a worker that dies: the send must
 * return TUBO_EPEER, not wait for a receiver that is gone. */
static void test_abort_during_send(void)
{
  tubo_comm_t *c = spawn(1, w_die, NULL);
  unsigned char *b = th_malloc(BIG_B);
  th_fill(b, BIG_B, 5);
  TH_EXPECT_RC(tubo_send(b, BIG_B, 1, 0, c), TUBO_EPEER);
  free(b);
  static const int died[] = {-SIGABRT};
  join(&c, 1, died, TUBO_EPEER);
}

/* Every worker waits for rank 0, which joins without sending: each is told it left. */
static int w_wait_rank0(tubo_comm_t *comm, void *arg)
{
  (void)arg;
  worker_enter(comm);
  char b[8];
  tubo_status_t st;
  tubo_request_t *req = NULL;
  switch (th_rank) {
  case 1:
    TH_EXPECT_RC(tubo_recv(b, sizeof b, 0, 0, comm, &st), TUBO_EPEER);
    break;
  case 2:
    TH_EXPECT_RC(tubo_probe(0, TUBO_ANY_TAG, comm, &st), TUBO_EPEER);
    break;
  default:
    TH_OK(tubo_irecv(b, sizeof b, 0, 0, comm, &req));
    TH_EXPECT_RC(tubo_wait(&req, &st), TUBO_EPEER);
  }
  return 0;
}

static void test_join_while_waiting(void)
{
  tubo_comm_t *c = spawn(3, w_wait_rank0, NULL);
  join(&c, 3, NULL, 0);
}

/* ---- Several spawned communicators ---- */

struct tagged {
  char id;
  int rank;
};

/* Says which communicator it is in, then waits for rank 0's answer to it. */
static int w_tagged(tubo_comm_t *comm, void *arg)
{
  char id = *(const char *)arg;
  worker_enter(comm);
  struct tagged t = {id, th_rank};
  TH_OK(tubo_send(&t, sizeof t, 0, 1, comm));
  int answer = -1;
  tubo_status_t st;
  TH_OK(tubo_recv(&answer, sizeof answer, 0, 2, comm, &st));
  TH_STATUS(st, 0, 2, sizeof answer, 0);
  TH_EQ("worker: the answer rank 0 sent it", answer, id * 100 + th_rank);
  return 0;
}

/* Hears from every worker of c (any source) and checks they are the workers of id. */
static void hear_all(tubo_comm_t *c, int n, char id)
{
  int seen[MAX_WORKERS] = {0};
  for (int i = 0; i < n; i++) {
    struct tagged t = {0, -1};
    tubo_status_t st;
    TH_OK(tubo_recv(&t, sizeof t, TUBO_ANY_SOURCE, 1, c, &st));
    TH_STATUS(st, t.rank, 1, sizeof t, 0);
    TH_CHECK(t.id == id,
             "message on communicator %c from rank %d: expected it from %c's worker, "
             "got %c's",
             id, st.source, id, t.id);
    TH_CHECK(t.rank >= 1 && t.rank <= n && !seen[t.rank],
             "communicator %c: expected a worker not yet heard from, got rank %d", id, t.rank);
    seen[t.rank] = 1;
  }
}

static void answer_all(tubo_comm_t *c, int n, char id)
{
  for (int r = 1; r <= n; r++) {
    int answer = id * 100 + r;
    TH_OK(tubo_send(&answer, sizeof answer, r, 2, c));
  }
}

/* One communicator after another. */
static void test_twice(void)
{
  static const char ids[] = {'A', 'B'};
  for (int i = 0; i < 2; i++) {
    char id = ids[i];
    int n = 2 + i;
    tubo_comm_t *c = spawn(n, w_tagged, &id);
    hear_all(c, n, id);
    answer_all(c, n, id);
    join(&c, n, NULL, 0);
  }
}

/* Two at once: messages stay in their own communicator, and joining one leaves the other
 * working. */
static void test_two_at_once(void)
{
  char a_id = 'A', b_id = 'B';
  tubo_comm_t *a = spawn(2, w_tagged, &a_id);
  tubo_comm_t *b = spawn(3, w_tagged, &b_id);
  TH_CHECK(a != b, "two spawned communicators: expected two handles, got the same");
  hear_all(b, 3, 'B');
  hear_all(a, 2, 'A');
  answer_all(b, 3, 'B');
  join(&b, 3, NULL, 0);
  answer_all(a, 2, 'A');
  join(&a, 2, NULL, 0);
}

/* A worker that dies breaks its own communicator only: another one alive at the same time
 * works on. */
static void test_death_in_other(void)
{
  char a_id = 'A';
  tubo_comm_t *a = spawn(2, w_tagged, &a_id);
  tubo_comm_t *b = spawn(1, w_die, NULL);
  static const int died[] = {-SIGABRT};
  join(&b, 1, died, TUBO_EPEER);
  hear_all(a, 2, 'A');
  answer_all(a, 2, 'A');
  join(&a, 2, NULL, 0);
}

/* ---- Spawning from a rank of a tuborun job ---- */

struct job_arg {
  tubo_comm_t *job; /* the job's world, in the spawning rank */
  int job_rank;
};

static int w_from_job(tubo_comm_t *comm, void *arg)
{
  const struct job_arg *a = arg;
  int job_rank = a->job_rank, v = 0;
  worker_enter(comm);
  /* The job is the spawning rank's, not the worker's. */
  TH_EXPECT_RC(tubo_comm_rank(a->job, &v), TUBO_ECOMM);
  TH_EXPECT_RC(tubo_send(&v, sizeof v, 0, 0, a->job), TUBO_ECOMM);
  TH_EQ("worker of a job's rank: size", th_size, 3);
  /* The spawned communicator uses shared memory, whatever the job uses. */
  expect_transport(comm, 0, "shm", "worker of a job's rank");
  expect_transport(comm, 3 - th_rank, "shm", "worker of a job's rank");
  tubo_comm_t *own = comm;
  TH_EXPECT_RC(tubo_spawn_join(&own, NULL), TUBO_ECOMM);
  TH_SEND_MSG(0, 1, BIG_A, job_rank);
  TH_RECV_MSG(0, 2, 4096, job_rank);
  TH_OK(tubo_barrier(comm));
  return 0;
}

static void test_from_job(void)
{
  tubo_comm_t *job = th_world;
  int job_rank = th_rank;
  struct job_arg a = {job, job_rank};
  tubo_comm_t *c = spawn(2, w_from_job, &a);
  /* The job's own communicator is not a spawned one. */
  tubo_comm_t *w = job;
  TH_EXPECT_RC(tubo_spawn_join(&w, NULL), TUBO_ECOMM);
  TH_CHECK(w == job, "a refused tubo_spawn_join changed TUBO_COMM_WORLD's handle");
  view_t saved = view_enter(c);
  for (int r = 1; r <= 2; r++)
    TH_RECV_MSG(r, 1, BIG_A, job_rank);
  for (int r = 1; r <= 2; r++)
    TH_SEND_MSG(r, 2, 4096, job_rank);
  TH_OK(tubo_barrier(c));
  view_leave(saved);
  join(&c, 2, NULL, 0);
  /* A worker's death breaks its communicator, not the job. */
  c = spawn(1, w_die, NULL);
  static const int died[] = {-SIGABRT};
  join(&c, 1, died, TUBO_EPEER);
  /* The job goes on as before. */
  int next = (th_rank + 1) % th_size, prev = (th_rank + th_size - 1) % th_size;
  const char *want = th_node_of(next) != th_node_of(th_rank) ? "mpi"
                     : th_variant() == TH_PIPE               ? "pipe"
                                                             : "shm";
  expect_transport(job, next, want, "the job's rank after its spawn");
  TH_SEND_MSG(next, 7, 100, 1);
  TH_RECV_MSG(prev, 7, 100, 1);
  TH_OK(tubo_barrier(job));
}

/* ---- Bad arguments ---- */

static int w_nothing(tubo_comm_t *comm, void *arg)
{
  (void)arg;
  worker_enter(comm);
  return 0;
}

static void test_bad_arguments(void)
{
  tubo_comm_t *c = NULL;
  int codes[MAX_WORKERS];
  TH_EXPECT_RC(tubo_spawn(0, w_nothing, NULL, &c), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_spawn(-1, w_nothing, NULL, &c), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_spawn(INT_MAX, w_nothing, NULL, &c), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_spawn(1, NULL, NULL, &c), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_spawn(1, w_nothing, NULL, NULL), TUBO_EINVAL);
  TH_CHECK(c == NULL, "failed tubo_spawn calls: expected the communicator left NULL, got %p",
           (void *)c);
  TH_EXPECT_RC(tubo_spawn_join(NULL, codes), TUBO_EINVAL);
  /* No communicator at all in this process yet: as every call, "not initialized". */
  TH_EXPECT_RC(tubo_spawn_join(&c, codes), TUBO_ENOTINIT);

  c = spawn(1, w_nothing, NULL);
  tubo_comm_t *none = NULL, *stale = c;
  TH_EXPECT_RC(tubo_spawn_join(&none, codes), TUBO_ECOMM);
  /* The exit codes are optional. */
  TH_OK(tubo_spawn_join(&c, NULL));
  TH_CHECK(c == NULL, "tubo_spawn_join: expected the communicator set to NULL, got %p", (void *)c);

  /* A world that tubo_init joined is not a spawned communicator. */
  TH_OK(tubo_init(NULL, NULL));
  tubo_comm_t *world = TUBO_COMM_WORLD, *w = world;
  TH_EXPECT_RC(tubo_spawn_join(&w, codes), TUBO_ECOMM);
  TH_CHECK(w == world, "a refused tubo_spawn_join changed the handle");
  /* Nor is a handle of a communicator already joined, while another world lives: the
   * world freed last keeps its memory (world.c), so the new world cannot take its
   * address and pass for it. */
  int i = 0;
  TH_EXPECT_RC(tubo_comm_rank(stale, &i), TUBO_ECOMM);
  TH_EXPECT_RC(tubo_spawn_join(&stale, codes), TUBO_ECOMM);
  TH_OK(tubo_barrier(world));
  TH_OK(tubo_finalize());
}

LO_BODY(ranks)
LO_BODY(p2p)
LO_BODY(large)
LO_BODY(exit_codes)
LO_BODY(abort_parent_waits)
LO_BODY(abort_parent_joins)
LO_BODY(abort_during_send)
LO_BODY(death_in_other)
LO_BODY(join_while_waiting)
LO_BODY(twice)
LO_BODY(two_at_once)
LO_BODY(from_job)
LO_BODY(bad_arguments)

static const th_body_t bodies[] = {{"ranks", body_ranks, TH_SELF_INIT},
                                   {"p2p", body_p2p, TH_SELF_INIT},
                                   {"large", body_large, TH_SELF_INIT},
                                   {"exit_codes", body_exit_codes, TH_SELF_INIT},
                                   {"abort_parent_waits", body_abort_parent_waits, TH_SELF_INIT},
                                   {"abort_parent_joins", body_abort_parent_joins, TH_SELF_INIT},
                                   {"abort_during_send", body_abort_during_send, TH_SELF_INIT},
                                   {"death_in_other", body_death_in_other, TH_SELF_INIT},
                                   {"join_while_waiting", body_join_while_waiting, TH_SELF_INIT},
                                   {"twice", body_twice, TH_SELF_INIT},
                                   {"two_at_once", body_two_at_once, TH_SELF_INIT},
                                   {"from_job", body_from_job, 0},
                                   {"bad_arguments", body_bad_arguments, TH_SELF_INIT},
                                   {NULL, NULL, 0}};

static Suite *spawn_suite(void)
{
  Suite *s = suite_create("spawn");
  static const char *const solo[] = {"ranks",
                                     "p2p",
                                     "large",
                                     "exit_codes",
                                     "abort_parent_waits",
                                     "abort_parent_joins",
                                     "abort_during_send",
                                     "death_in_other",
                                     "join_while_waiting",
                                     "twice",
                                     "two_at_once",
                                     "bad_arguments"};
  for (size_t i = 0; i < sizeof solo / sizeof solo[0]; i++)
    th_add_case(s, solo[i], 1, TH_SOLO);
  th_add_case(s, "from_job", 2, TH_BOTH);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, spawn_suite);
}
