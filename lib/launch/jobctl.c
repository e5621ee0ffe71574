/* SPDX-License-Identifier: MIT */
/* Operations on the job control block (jobctl.h): bells and failure marks. */
#include "config.h"

#include "launch/jobctl.h"

#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/os.h"
#include "tubo.h"

int tubo__jobctl_create(uint32_t nranks, const uint8_t jobid[16], int32_t launcher_pid,
                        struct tubo__jobctl **ctl)
{
  size_t bytes = tubo__jobctl_bytes(nranks, (size_t)sysconf(_SC_PAGESIZE));
  int fd = tubo__os_shm_create(bytes);
  if (fd < 0)
    return fd;
  void *p = MAP_FAILED;
  /* Reserved now: a full system fails here, not with SIGBUS at the first store. */
  if (tubo__os_shm_reserve(fd, 0, bytes) != 0 ||
      (p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
    close(fd);
    return TUBO_ESHM;
  }
  struct tubo__jobctl *c = p;
  c->magic = TUBO__JOBCTL_MAGIC;
  c->version = TUBO__JOBCTL_VERSION;
  c->nranks = nranks;
  memcpy(c->jobid, jobid, sizeof c->jobid);
  c->ctl_bytes = bytes;
  c->launcher_pid = launcher_pid;
  atomic_store(&c->failed_rank, -1);
  *ctl = c;
  return fd;
}

void tubo__bell_ring(struct tubo__rankctl *rc)
{
  /* Only the waker that clears sleeping makes the system call. */
  if (atomic_load_explicit(&rc->sleeping, memory_order_seq_cst) &&
      atomic_exchange_explicit(&rc->sleeping, 0, memory_order_seq_cst)) {
    atomic_fetch_add_explicit(&rc->bell, 1, memory_order_seq_cst);
    tubo__os_futex_wake(&rc->bell, INT_MAX);
  }
}

/* Wakes every rank, sleeping or not, and the start-up rendezvous, so that each looks at
 * the job's state again. */
static void jobctl_wake_all(struct tubo__jobctl *c, uint32_t nranks)
{
  for (uint32_t r = 0; r < nranks; r++) {
    struct tubo__rankctl *rc = tubo__jobctl_rank(c, r);
    atomic_store(&rc->sleeping, 0);
    atomic_fetch_add(&rc->bell, 1);
    tubo__os_futex_wake(&rc->bell, INT_MAX);
  }
  atomic_fetch_add(&c->arrived_gen, 1);
  tubo__os_futex_wake(&c->arrived_gen, INT_MAX);
}

void tubo__jobctl_exited(struct tubo__jobctl *c, uint32_t nranks, int rank, int status)
{
  if (rank < 0 || (uint32_t)rank >= nranks)
    return;
  struct tubo__rankctl *rc = tubo__jobctl_rank(c, (uint32_t)rank);
  atomic_store(&rc->exit_status, status);
  /* A clean exit leaves like tubo_finalize; any other end is a death. */
  uint32_t was = atomic_exchange(&rc->state, status == 0 ? TUBO__RANK_DONE : TUBO__RANK_DEAD);
  /* A rank that called tubo_finalize rang its peers as it left: its clean exit tells
   * nobody anything new. Waking every rank at each of these exits made a job's end cost
   * nranks squared wake-ups. */
  if (status == 0 && was == TUBO__RANK_DONE)
    return;
  int32_t none = -1;
  if (status != 0 && atomic_compare_exchange_strong(&c->failed_rank, &none, rank))
    atomic_store(&c->failed_status, status);
  jobctl_wake_all(c, nranks);
}

void tubo__jobctl_abort(struct tubo__jobctl *c, uint32_t nranks, int code)
{
  int32_t zero = 0;
  atomic_compare_exchange_strong(&c->abort_code, &zero, code);
  atomic_store(&c->state, TUBO__JOB_ABORTED);
  jobctl_wake_all(c, nranks);
}

void tubo__blocked_write(struct tubo__blocked *b, const char *fn, int role, int32_t peer,
                         int has_tag, int32_t tag, uint32_t comm_size, uint32_t cid)
{
  uint64_t words[TUBO__BLOCKED_NAME / 8] = {0};
  if (fn != NULL) {
    size_t n = strnlen(fn, TUBO__BLOCKED_NAME - 1);
    memcpy(words, fn, n);
  }
  uint32_t seq = atomic_load_explicit(&b->seq, memory_order_relaxed);
  atomic_store_explicit(&b->seq, seq + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  uint32_t flags = TUBO__BLK_ACTIVE | (has_tag ? TUBO__BLK_HAS_TAG : 0) |
                   (comm_size > 0 ? TUBO__BLK_HAS_COMM : 0) |
                   ((uint32_t)role << TUBO__BLK_ROLE_SHIFT);
  atomic_store_explicit(&b->flags, flags, memory_order_relaxed);
  atomic_store_explicit(&b->peer, peer, memory_order_relaxed);
  atomic_store_explicit(&b->tag, tag, memory_order_relaxed);
  atomic_store_explicit(&b->comm_size, comm_size, memory_order_relaxed);
  atomic_store_explicit(&b->cid, cid, memory_order_relaxed);
  for (size_t i = 0; i < TUBO__BLOCKED_NAME / 8; i++)
    atomic_store_explicit(&b->name[i], words[i], memory_order_relaxed);
  atomic_store_explicit(&b->seq, seq + 2, memory_order_release);
}

void tubo__blocked_clear_rec(struct tubo__blocked *b)
{
  uint32_t seq = atomic_load_explicit(&b->seq, memory_order_relaxed);
  atomic_store_explicit(&b->seq, seq + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  atomic_store_explicit(&b->flags, 0, memory_order_relaxed);
  atomic_store_explicit(&b->seq, seq + 2, memory_order_release);
}

/* Whether name holds a call's name: letters, digits and '_', NUL-terminated. */
static int blocked_name_ok(const char *name)
{
  size_t i = 0;
  for (; i < TUBO__BLOCKED_NAME && name[i] != '\0'; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return i < TUBO__BLOCKED_NAME;
}

int tubo__blocked_read(const struct tubo__blocked *b, tubo__blocked_view_t *v)
{
  memset(v, 0, sizeof *v);
  /* The rank writes a few words at most once per sleep: a handful of tries sees it still. */
  for (int tries = 0; tries < 100; tries++) {
    uint32_t s0 = atomic_load_explicit(&b->seq, memory_order_acquire);
    if (s0 & 1u)
      continue;
    uint32_t flags = atomic_load_explicit(&b->flags, memory_order_relaxed);
    int32_t peer = atomic_load_explicit(&b->peer, memory_order_relaxed);
    int32_t tag = atomic_load_explicit(&b->tag, memory_order_relaxed);
    uint32_t size = atomic_load_explicit(&b->comm_size, memory_order_relaxed);
    uint32_t cid = atomic_load_explicit(&b->cid, memory_order_relaxed);
    uint64_t words[TUBO__BLOCKED_NAME / 8];
    for (size_t i = 0; i < TUBO__BLOCKED_NAME / 8; i++)
      words[i] = atomic_load_explicit(&b->name[i], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&b->seq, memory_order_relaxed) != s0)
      continue;
    if (!(flags & TUBO__BLK_ACTIVE))
      return 0;
    uint32_t role = (flags >> TUBO__BLK_ROLE_SHIFT) & 0xffu;
    memcpy(v->name, words, sizeof v->name);
    if (role >= TUBO__BLK_NROLES || (flags & ~(0xffu << TUBO__BLK_ROLE_SHIFT) & ~7u) != 0 ||
        !blocked_name_ok(v->name)) {
      memset(v, 0, sizeof *v);
      return -1;
    }
    *v = (tubo__blocked_view_t){.active = 1,
                                .role = (int)role,
                                .has_tag = (flags & TUBO__BLK_HAS_TAG) != 0,
                                .has_comm = (flags & TUBO__BLK_HAS_COMM) != 0,
                                .peer = peer,
                                .tag = tag,
                                .comm_size = size,
                                .cid = cid};
    memcpy(v->name, words, sizeof v->name);
    return 0;
  }
  return -1;
}

/* The rank whose end made this process's last rendezvous fail, and how it ended. */
static int jobctl_gone_rank = -1, jobctl_gone_joined, jobctl_gone_status;

int tubo__jobctl_gone(int *joined, int *status)
{
  *joined = jobctl_gone_joined;
  *status = jobctl_gone_status;
  return jobctl_gone_rank;
}

static int jobctl_peer_gone(struct tubo__jobctl *c, uint32_t r)
{
  struct tubo__rankctl *rc = tubo__jobctl_rank(c, r);
  jobctl_gone_rank = (int)r;
  jobctl_gone_joined = (int)atomic_load(&rc->joined);
  jobctl_gone_status = atomic_load(&rc->exit_status);
  return TUBO_EPEER;
}

/* Why the job cannot go on, or 0. */
static int jobctl_trouble(struct tubo__jobctl *c, uint32_t nranks, uint32_t phase, int32_t launcher)
{
  for (uint32_t r = 0; r < nranks; r++) {
    struct tubo__rankctl *rc = tubo__jobctl_rank(c, r);
    uint32_t st = atomic_load(&rc->state);
    if ((st == TUBO__RANK_DONE || st == TUBO__RANK_DEAD) && atomic_load(&rc->joined) < phase)
      return jobctl_peer_gone(c, r); /* it ended without coming: it never will */
  }
  uint32_t js = atomic_load(&c->state);
  if (js == TUBO__JOB_ABORTED)
    return TUBO_EABORT;
  if (js != TUBO__JOB_RUNNING)
    return TUBO_ECORRUPT;
  int32_t failed = atomic_load(&c->failed_rank);
  if (failed >= 0 && (uint32_t)failed < nranks) /* any rank may write it: checked */
    return jobctl_peer_gone(c, (uint32_t)failed);
  if (failed != -1)
    return TUBO_ECORRUPT; /* no rank of the job: only a forgery writes that */
  if (launcher > 0 && !tubo__os_pid_alive(launcher))
    return TUBO_ELAUNCH;
  return 0;
}

/* Whether every rank reached phase. The shared count of arrivals only says when to look:
 * each rank's own mark decides, so that a count written by someone else can neither
 * release the rendezvous early nor hold it for ever. */
static int jobctl_all_joined(struct tubo__jobctl *c, uint32_t nranks, uint32_t phase)
{
  for (uint32_t r = 0; r < nranks; r++)
    if (atomic_load(&tubo__jobctl_rank(c, r)->joined) < phase)
      return 0;
  return 1;
}

int tubo__jobctl_rendezvous(struct tubo__jobctl *c, uint32_t nranks, uint32_t rank, uint32_t phase,
                            int32_t launcher)
{
  uint32_t target = nranks * phase;
  jobctl_gone_rank = -1;
  atomic_store(&tubo__jobctl_rank(c, rank)->joined, phase);
  uint32_t came = atomic_fetch_add(&c->arrived, 1) + 1;
  atomic_fetch_add(&c->arrived_gen, 1);
  /* Only the last to come wakes the others: a wake at every arrival would wake every
   * sleeper once per rank, a storm of nranks squared wake-ups on a machine with fewer
   * cores than ranks. */
  if (came >= target)
    tubo__os_futex_wake(&c->arrived_gen, INT_MAX);
  uint64_t looked = tubo__os_now_ns();
  for (unsigned spins = 0;; spins++) {
    uint32_t gen = atomic_load(&c->arrived_gen);
    /* Every rank's mark is read when the count says all came, and once a second in case
     * the count lies. */
    int look = atomic_load(&c->arrived) >= target;
    if (!look && spins >= 1000 && tubo__os_now_ns() - looked >= 1000000000u) {
      look = 1;
      looked = tubo__os_now_ns();
    }
    if (look && jobctl_all_joined(c, nranks, phase))
      return 0;
    if (spins < 1000) {
      tubo__os_cpu_relax();
      continue;
    }
    /* The job's trouble is looked for before each sleep, not at each spin: it reads every
     * rank's record and asks the kernel whether the launcher lives. The sleep is long: the
     * last rank to come, a rank's end and an abort all wake the sleepers
     * (jobctl_wake_all), and a thousand ranks each reading every record ten times a second
     * took more processor time than the start-up itself. */
    int rc = jobctl_trouble(c, nranks, phase, launcher);
    if (rc != 0)
      return rc;
    tubo__os_futex_wait(&c->arrived_gen, gen, 1000);
  }
}
