/* SPDX-License-Identifier: MIT */
/* Message buffers and loans: tubo_alloc_mem buffers on either side of a message or both,
 * loans sent, received (as loans and as ordinary messages) and released, every size from
 * 0 to 64 MiB across the protocol boundaries of every variant (shm forced to each
 * protocol, pipe, and pretend nodes in the mpirun pass); buffers and loans of a rank that
 * leaves or dies given back to the heap. Contents are checked everywhere. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "harness.h"

/* Around every boundary: inline slots, small and default frames, the 1 KiB and default
 * single-copy thresholds, the heap's page runs; then 4 and 64 MiB. */
static const size_t lsizes[] = {0,      1,      4080,           4097,           65536,    65537,
                                262144, 262145, (1u << 20) + 1, (4u << 20) + 3, 64u << 20};
#define NLSIZES (sizeof lsizes / sizeof lsizes[0])

/* How many sizes a variant runs: 64 MiB only on the default paths (shm, pipe), to keep
 * the suite short; the forced protocols' boundaries are all below 4 MiB. */
static size_t nsizes(void)
{
  unsigned v = th_variant();
  return v == TH_SHM || v == TH_PIPE || v == 0 ? NLSIZES : NLSIZES - 1;
}

/* A buffer of len bytes: from tubo_alloc_mem, or malloc. */
static void *buf_get(size_t len, int shared)
{
  void *p = NULL;
  if (shared)
    TH_OK(tubo_alloc_mem(len, &p));
  else
    p = th_malloc(len ? len : 1);
  TH_CHECK(p != NULL, "expected a buffer of %zu bytes", len);
  return p;
}

static void buf_put(void *p, int shared)
{
  if (shared)
    TH_OK(tubo_free_mem(p));
  else
    free(p);
}

/* Each size with heap buffers on neither side, the sender's, the receiver's, both, between
 * ranks 0 and 1 (both directions over the sizes). */
static void sizes_each_mode(const size_t *sizes, size_t n)
{
  int peer = 1 - th_rank;
  for (size_t i = 0; i < n; i++) {
    size_t len = sizes[i];
    for (int mode = 0; mode < 4; mode++) {
      int sender = (int)(i + (size_t)mode) % 2;
      int iter = (int)(i * 4 + (size_t)mode);
      if (th_rank == sender) {
        void *b = buf_get(len, mode & 1);
        th_fill(b, len, th_seed(th_rank, peer, len, iter));
        TH_OK(tubo_send(b, len, peer, mode, th_world));
        buf_put(b, mode & 1);
      } else {
        void *b = buf_get(len, mode & 2);
        tubo_status_t st;
        TH_OK(tubo_recv(b, len, peer, mode, th_world, &st));
        TH_STATUS(st, peer, mode, len, 0);
        TH_CHECK_DATA(b, len, th_seed(peer, th_rank, len, iter),
                      "%zu bytes, heap buffers: sender %d receiver %d", len, mode & 1, mode >> 1);
        buf_put(b, mode & 2);
      }
    }
  }
}

/* Every size, with heap buffers on neither side, the sender's, the receiver's, both. */
static void body_alloc_mem(void)
{
  if (th_rank > 1)
    return;
  sizes_each_mode(lsizes, nsizes());
  /* Non-blocking sends from one heap buffer to the same peer, received out of order. */
  size_t len = (1u << 20) + 5;
  if (th_rank == 0) {
    unsigned char *b = buf_get(2 * len, 1);
    th_fill(b, len, th_seed(0, 1, len, 100));
    th_fill(b + len, len, th_seed(0, 1, len, 101));
    tubo_request_t *r[2];
    TH_OK(tubo_isend(b, len, 1, 20, th_world, &r[0]));
    TH_OK(tubo_isend(b + len, len, 1, 21, th_world, &r[1]));
    TH_OK(tubo_waitall(2, r, TUBO_STATUSES_IGNORE));
    buf_put(b, 1);
  } else {
    unsigned char *b = buf_get(len, 1);
    TH_OK(tubo_recv(b, len, 0, 21, th_world, TUBO_STATUS_IGNORE));
    TH_CHECK_DATA(b, len, th_seed(0, 1, len, 101), "second heap send, received first");
    TH_OK(tubo_recv(b, len, 0, 20, th_world, TUBO_STATUS_IGNORE));
    TH_CHECK_DATA(b, len, th_seed(0, 1, len, 100), "first heap send, received second");
    buf_put(b, 1);
  }
  TH_OK(tubo_free_mem(NULL));
  void *p;
  TH_OK(tubo_alloc_mem(0, &p));
  TH_CHECK(p != NULL, "expected a buffer for 0 bytes");
  TH_OK(tubo_free_mem(p));
  TH_EXPECT_RC(tubo_alloc_mem(16, NULL), TUBO_EINVAL);
}

/* Around the size from which messages between heap buffers are split (TUBO_SHM_SPLIT_BYTES,
 * 512 KiB by default), the chunks both ranks take (a quarter of a message below 1 MiB,
 * then 256 KiB) and the largest split message (4 MiB): a byte short, one over. */
static const size_t ssizes[] = {(1u << 19) - 1,     1u << 19,       (1u << 19) + 1, (1u << 20) - 1,
                                1u << 20,           (1u << 20) + 1, (5u << 18) - 1, (5u << 18) + 1,
                                (9u << 18) + 4095u, 4u << 20,       (4u << 20) + 1};
#define NSSIZES (sizeof ssizes / sizeof ssizes[0])

/* More split sends in flight than a rank has control blocks (64): the last ones go
 * unsplit, and each block serves again once its send is over. */
static void split_window(void)
{
  enum { N = 70 };
  size_t len = (520u << 10) + 8;
  unsigned char *b = buf_get(N * len, 1);
  if (th_rank == 0) {
    tubo_request_t *r[N];
    for (int i = 0; i < N; i++) {
      th_fill(b + (size_t)i * len, len, th_seed(0, 1, len, 500 + i));
      TH_OK(tubo_isend(b + (size_t)i * len, len, 1, 40 + i, th_world, &r[i]));
    }
    TH_OK(tubo_waitall(N, r, TUBO_STATUSES_IGNORE));
  } else {
    for (int i = N; i-- > 0;)
      TH_OK(tubo_recv(b + (size_t)i * len, len, 0, 40 + i, th_world, TUBO_STATUS_IGNORE));
    for (int i = 0; i < N; i++)
      TH_CHECK_DATA(b + (size_t)i * len, len, th_seed(0, 1, len, 500 + i),
                    "split send %d of %d in flight at once", i, (int)N);
  }
  buf_put(b, 1);
}

/* Whether a send from a private buffer of a split message's size goes by single copy, and
 * so may be split, in this variant: where single copy is forced. */
static int split_private_send(void)
{
  return th_variant() == TH_SHM_RNDV && th_single_copy_expected();
}

/* A split message from private memory into a receive buffer the kernel will not write (a
 * read-only mapping): both ranks' single copies fault. The receive ends with TUBO_ESYS and
 * the send with TUBO_EPEER (its FIN says the receiver could not read it), no rank
 * crashes, and the next message between them goes through whole. */
static void split_fault(void)
{
  size_t len = (1u << 20) + 7;
  void *b = buf_get(len, 0);
  if (th_rank == 0) {
    th_fill(b, len, th_seed(0, 1, len, 600));
    int rc = tubo_send(b, len, 1, 60, th_world);
    TH_CHECK(rc == TUBO_EPEER,
             "expected TUBO_EPEER from a send the receiver could not take, got %s",
             tubo_err_name(rc));
    TH_OK(tubo_send(b, len, 1, 61, th_world));
  } else {
    void *ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TH_CHECK(ro != MAP_FAILED, "expected a read-only mapping of %zu bytes", len);
    int rc = tubo_recv(ro, len, 0, 60, th_world, TUBO_STATUS_IGNORE);
    TH_CHECK(rc == TUBO_ESYS, "expected TUBO_ESYS from a receive into read-only memory, got %s",
             tubo_err_name(rc));
    munmap(ro, len);
    TH_OK(tubo_recv(b, len, 0, 61, th_world, TUBO_STATUS_IGNORE));
    TH_CHECK_DATA(b, len, th_seed(0, 1, len, 600), "the message after a faulted one");
  }
  buf_put(b, 0);
}

/* Split messages: each size with heap buffers on neither side, the sender's, the
 * receiver's, both; then a receive shorter than the message (truncated: only its bytes are
 * copied, by both ranks); then more sends in flight than control blocks. */
static void body_alloc_split(void)
{
  if (th_rank > 1)
    return;
  sizes_each_mode(ssizes, NSSIZES);
  size_t len = (3u << 20) + 5, cap = (3u << 19) + 3;
  if (th_rank == 0) {
    void *b = buf_get(len, 1);
    th_fill(b, len, th_seed(0, 1, len, 200));
    TH_OK(tubo_send(b, len, 1, 30, th_world));
    buf_put(b, 1);
  } else {
    unsigned char *b = buf_get(cap + 64, 1);
    memset(b + cap, 0x5a, 64);
    TH_EXPECT_RC(tubo_recv(b, cap, 0, 30, th_world, TUBO_STATUS_IGNORE), TUBO_ETRUNC);
    TH_CHECK_DATA(b, cap, th_seed(0, 1, len, 200), "the first %zu bytes of a truncated message",
                  cap);
    for (size_t k = cap; k < cap + 64; k++)
      TH_CHECK(b[k] == 0x5a, "expected byte %zu past the receive buffer untouched, got 0x%02x",
               k - cap, b[k]);
    buf_put(b, 1);
  }
  split_window();
  if (split_private_send())
    split_fault();
}

/* How many times this process was refused process_vm_writev (split_deny_writes). */
static volatile sig_atomic_t split_denied;

/* SIGSYS from the filter below: counts the call and makes it fail with EPERM, as a kernel
 * that lets this process read its peer but not write into it would. */
static void split_on_sigsys(int sig, siginfo_t *si, void *ctx)
{
  (void)sig;
  (void)si;
  ucontext_t *uc = ctx;
#if defined(__x86_64__)
  uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
  uc->uc_mcontext.regs[0] = (unsigned long long)-EPERM;
#endif
  split_denied++;
}

/* Whether this test knows how to set a trapped call's result on this processor. */
static int split_deny_known(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
  return 1;
#else
  return 0;
#endif
}

/* From now on this process's process_vm_writev traps (seccomp) and fails with EPERM. */
static void split_deny_writes(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = split_on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  TH_CHECK(sigaction(SIGSYS, &sa, NULL) == 0, "expected a SIGSYS handler");
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_writev, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
  TH_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "expected no_new_privs");
  TH_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0,
           "expected a seccomp filter on process_vm_writev");
}

/* Split private messages of len bytes whose sender may read-share but not write into its
 * receiver: every chunk (or front half) the sender takes fails to write, the receiver
 * copies it again, and every message arrives whole. Messages go until the sender has been
 * refused at least once (it takes chunks only when it runs while the receiver copies), at
 * most 400. */
static void split_denied_size(size_t len)
{
  unsigned char *b = buf_get(len, 0);
  int more = 1, n = 0;
  split_denied = 0;
  for (; more && n < 400; n++) {
    if (th_rank == 0) {
      th_fill(b, len, th_seed(0, 1, len, 700 + n));
      TH_OK(tubo_send(b, len, 1, 70, th_world));
      more = split_denied == 0;
      TH_OK(tubo_send(&more, sizeof more, 1, 71, th_world));
    } else {
      memset(b, 0, len);
      TH_OK(tubo_recv(b, len, 0, 70, th_world, TUBO_STATUS_IGNORE));
      TH_CHECK_DATA(b, len, th_seed(0, 1, len, 700 + n),
                    "split message %d, its sender refused process_vm_writev", n);
      TH_OK(tubo_recv(&more, sizeof more, 0, 71, th_world, TUBO_STATUS_IGNORE));
    }
  }
  if (th_rank == 0)
    TH_CHECK(split_denied > 0,
             "expected the sender to take (and fail to write) a chunk of %d split messages of "
             "%zu bytes",
             n, len);
  buf_put(b, 0);
}

/* Split in chunks, and shared in halves (shm_split.h), where the sender fails to write the
 * front halves it takes. */
static void body_split_denied(void)
{
  if (th_rank > 1 || !split_private_send() || !split_deny_known())
    return;
  if (th_rank == 0)
    split_deny_writes();
  split_denied_size((4u << 20) - 5);
  split_denied_size((256u << 10) + 3);
}

/* Split messages whose sender does not enter the library until its receiver has them:
 * each receive completes with the receiver's progress alone. Heap buffers on either side
 * or both (the sender's private one only where it goes by single copy). The sender learns
 * that each receive is over through a FIFO, outside the library. */
static void body_split_alone(void)
{
  if (th_rank > 1)
    return;
  /* Split in chunks, and shared in halves (shm_split.h). */
  const size_t lens[] = {(4u << 20) - 3, (256u << 10) + 1};
  char path[64];
  if (th_rank == 0) {
    char dir[] = "/tmp/check_loan-XXXXXX";
    TH_CHECK(mkdtemp(dir) != NULL, "expected a temporary directory");
    snprintf(path, sizeof path, "%s/fifo", dir);
    TH_CHECK(mkfifo(path, 0600) == 0, "expected a FIFO at %s", path);
    TH_OK(tubo_send(path, sizeof path, 1, 1, th_world));
    int fd = open(path, O_RDONLY);
    TH_CHECK(fd >= 0, "expected to open the FIFO %s", path);
    for (int mode = 0; mode < 8; mode++) {
      size_t len = lens[mode >> 2];
      if (!(mode & 1) && !split_private_send())
        continue;
      void *b = buf_get(len, mode & 1);
      th_fill(b, len, th_seed(0, 1, len, 300 + mode));
      tubo_request_t *r;
      TH_OK(tubo_isend(b, len, 1, 2, th_world, &r));
      char c = 0;
      TH_CHECK(read(fd, &c, 1) == 1 && c == 'y', "expected the receiver's 'y', got '%c'", c);
      TH_OK(tubo_wait(&r, TUBO_STATUS_IGNORE));
      buf_put(b, mode & 1);
    }
    close(fd);
    unlink(path);
    rmdir(dir);
  } else {
    TH_OK(tubo_recv(path, sizeof path, 0, 1, th_world, TUBO_STATUS_IGNORE));
    int fd = open(path, O_WRONLY);
    TH_CHECK(fd >= 0, "expected to open the FIFO %s", path);
    for (int mode = 0; mode < 8; mode++) {
      size_t len = lens[mode >> 2];
      if (!(mode & 1) && !split_private_send())
        continue;
      void *b = buf_get(len, mode & 2);
      TH_OK(tubo_recv(b, len, 0, 2, th_world, TUBO_STATUS_IGNORE));
      TH_CHECK_DATA(b, len, th_seed(0, 1, len, 300 + mode),
                    "a split message of %zu bytes whose sender was away, heap buffers: sender "
                    "%d receiver %d",
                    len, mode & 1, (mode >> 1) & 1);
      TH_CHECK(write(fd, "y", 1) == 1, "expected to write to the FIFO %s", path);
      buf_put(b, mode & 2);
    }
    close(fd);
  }
}

/* Forks a watcher of the buffer b of len bytes (zeroed, shared with the child) that kills
 * victim once a byte of its second half is written. Returns the watcher's pid. */
static pid_t split_watch(unsigned char *b, size_t len, pid_t victim)
{
  fflush(stdout);
  pid_t watcher = fork();
  TH_CHECK(watcher >= 0, "expected to fork the watcher");
  if (watcher == 0) {
    volatile unsigned char *v = b;
    for (;;)
      for (size_t k = len / 2; k < len; k += 4096)
        if (v[k] != 0) {
          kill(victim, SIGKILL);
          _exit(0);
        }
  }
  return watcher;
}

/* The sender of a split message (rank 1) killed while both ranks copy it: a child of the
 * receiver's, which shares its buffer, kills it once the last half of the buffer begins to
 * change. The receive ends, with the whole message or TUBO_EPEER. heap: the buffers are
 * tubo_alloc_mem's; else the sender's is malloc's and the receiver's a shared mapping of its
 * own (private to tubo, seen by the child), and the job sends by single copy. */
static void split_death(int heap, size_t len)
{
  if (th_rank == 1) {
    pid_t me = getpid();
    TH_OK(tubo_send(&me, sizeof me, 0, 1, th_world));
    void *b = buf_get(len, heap);
    th_fill(b, len, th_seed(1, 0, len, 400));
    for (;;)
      TH_OK(tubo_send(b, len, 0, 2, th_world)); /* until it is killed */
  }
  pid_t sender;
  TH_OK(tubo_recv(&sender, sizeof sender, 1, 1, th_world, TUBO_STATUS_IGNORE));
  unsigned char *b =
      heap ? buf_get(len, 1)
           : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  TH_CHECK(b != MAP_FAILED, "expected a shared mapping of %zu bytes", len);
  memset(b, 0, len);
  pid_t watcher = split_watch(b, len, sender);
  int rc = 0, n = 0;
  while (rc == 0) {
    rc = tubo_recv(b, len, 1, 2, th_world, TUBO_STATUS_IGNORE);
    if (rc == 0)
      TH_CHECK_DATA(b, len, th_seed(1, 0, len, 400), "a split message, its sender killed");
    n += rc == 0;
  }
  TH_CHECK(rc == TUBO_EPEER, "expected TUBO_EPEER once the sender died, got %s", tubo_err_name(rc));
  kill(watcher, SIGKILL);
  printf("split_death: %d whole messages, then TUBO_EPEER\n", n);
  fflush(stdout);
}

/* Every size as a loan: received as a loan, then by tubo_recv (copied and given back),
 * then an ordinary message received as a loan; a receive smaller than the loan. */
static void body_loan(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  for (size_t i = 0; i < nsizes(); i++) {
    size_t len = lsizes[i];
    for (int how = 0; how < 3; how++) {
      int sender = (int)(i + (size_t)how) % 2;
      int iter = (int)(i * 3 + (size_t)how);
      uint32_t seed = th_seed(sender, 1 - sender, len, iter);
      if (th_rank == sender) {
        void *b;
        if (how < 2) {
          /* A loan a little larger than the message: only len bytes travel. */
          TH_OK(tubo_loan(th_world, peer, len + 3, &b));
          th_fill(b, len, seed);
          TH_OK(tubo_send_loan(b, len, peer, how, th_world));
        } else {
          b = th_malloc(len ? len : 1);
          th_fill(b, len, seed);
          TH_OK(tubo_send(b, len, peer, how, th_world));
          free(b);
        }
        continue;
      }
      tubo_status_t st;
      if (how == 1) {
        void *b = th_malloc(len ? len : 1);
        TH_OK(tubo_recv(b, len, peer, how, th_world, &st));
        TH_STATUS(st, peer, how, len, 0);
        TH_CHECK_DATA(b, len, seed, "loan of %zu bytes received by tubo_recv", len);
        free(b);
        continue;
      }
      void *p = NULL;
      memset(&st, 0xff, sizeof st);
      TH_OK(tubo_recv_loan(how == 0 ? TUBO_ANY_SOURCE : peer, TUBO_ANY_TAG, th_world, &p, &st));
      TH_STATUS(st, peer, how, len, 0);
      TH_CHECK(p != NULL, "expected a pointer from tubo_recv_loan (%zu bytes)", len);
      TH_CHECK_DATA(p, len, seed, "%s of %zu bytes received by tubo_recv_loan",
                    how == 0 ? "loan" : "ordinary message", len);
      TH_OK(tubo_loan_release(p));
    }
  }
  /* A loan received into a smaller buffer: truncated, and given back all the same. */
  size_t len = 300000;
  if (th_rank == 0) {
    void *b;
    TH_OK(tubo_loan(th_world, 1, len, &b));
    th_fill(b, len, th_seed(0, 1, len, 7));
    TH_OK(tubo_send_loan(b, len, 1, 9, th_world));
  } else {
    unsigned char *b = th_malloc(len / 2);
    tubo_status_t st;
    TH_EXPECT_RC(tubo_recv(b, len / 2, 0, 9, th_world, &st), TUBO_ETRUNC);
    TH_STATUS(st, 0, 9, len, TUBO_ETRUNC);
    TH_CHECK_DATA(b, len / 2, th_seed(0, 1, len, 7), "truncated loan");
    free(b);
  }
}

/* What body_loan_paths sends: a loan, a message in one frame, a larger one from ordinary
 * memory, a larger one from a tubo_alloc_mem buffer. */
enum { PATH_LOAN, PATH_SMALL, PATH_LARGE, PATH_HEAP, NPATHS };
static const char *const path_names[] = {"loan", "one-frame message", "large message",
                                         "tubo_alloc_mem message"};

static size_t path_len(int kind)
{
  return kind == PATH_SMALL ? 16 : kind == PATH_LOAN ? 100000 : 300000;
}

/* Whether pointers this rank no longer holds are found out (shared memory on one node). */
static int stale_found(void)
{
  return th_variant() == TH_SHM && th_one_node();
}

static void path_send(int kind, int peer, int tag, uint32_t seed)
{
  size_t len = path_len(kind);
  void *b;
  if (kind == PATH_LOAN)
    TH_OK(tubo_loan(th_world, peer, len, &b));
  else
    b = buf_get(len, kind == PATH_HEAP);
  th_fill(b, len, seed);
  if (kind != PATH_LOAN) {
    TH_OK(tubo_send(b, len, peer, tag, th_world));
    buf_put(b, kind == PATH_HEAP);
    return;
  }
  TH_OK(tubo_send_loan(b, len, peer, tag, th_world));
  if (stale_found()) {
    /* The loan is the receiver's now: the sender's pointer is stale. */
    TH_EXPECT_RC(tubo_send_loan(b, len, peer, tag, th_world), TUBO_EINVAL);
    TH_EXPECT_RC(tubo_loan_release(b), TUBO_EINVAL);
  }
}

/* Every kind of message received by tubo_recv_loan every way it can meet its receive:
 * from one source (the transport's fast path when nothing else is queued), from any
 * source (a posted receive, mostly posted before the message came: the receiver asks for
 * it first), and after the message went to the unexpected queue (a receive for a later
 * message from the same sender was waiting). */
static void body_loan_paths(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  for (int kind = 0; kind < NPATHS; kind++)
    for (int how = 0; how < 4; how++) {
      int iter = kind * 4 + how, tag = 10 + iter;
      int any = how & 1, queued = how >> 1;
      size_t len = path_len(kind);
      uint32_t seed = th_seed(0, 1, len, iter);
      if (th_rank == 0) {
        TH_OK(tubo_recv(NULL, 0, 1, 1, th_world, TUBO_STATUS_IGNORE)); /* its receive is up */
        path_send(kind, 1, tag, seed);
        if (queued)
          TH_OK(tubo_send(&iter, sizeof iter, 1, 2, th_world));
        continue;
      }
      tubo_request_t *later = NULL;
      int got = -1;
      if (queued)
        TH_OK(tubo_irecv(&got, sizeof got, 0, 2, th_world, &later));
      TH_OK(tubo_send(NULL, 0, 0, 1, th_world));
      if (queued) {
        TH_OK(tubo_wait(&later, TUBO_STATUS_IGNORE));
        TH_EQ("the message after it", got, iter);
      }
      void *p = NULL;
      tubo_status_t st;
      memset(&st, 0xff, sizeof st);
      TH_OK(tubo_recv_loan(any ? TUBO_ANY_SOURCE : 0, tag, th_world, &p, &st));
      TH_STATUS(st, 0, tag, len, 0);
      TH_CHECK(p != NULL, "expected a pointer for the %s", path_names[kind]);
      TH_CHECK_DATA(p, len, seed, "%s received by tubo_recv_loan (source %s, %s)", path_names[kind],
                    any ? "any" : "named", queued ? "queued first" : "direct");
      TH_OK(tubo_loan_release(p));
      if (stale_found()) {
        TH_EXPECT_RC(tubo_loan_release(p), TUBO_EINVAL);
        TH_EXPECT_RC(tubo_send_loan(p, 1, peer, 0, th_world), TUBO_EINVAL);
      }
    }
}

/* Argument errors leave a loan with its holder; releasing it then works once. */
static void body_loan_args(void)
{
  void *b = NULL;
  int peer = th_size > 1 ? 1 - th_rank : 0;
  TH_EXPECT_RC(tubo_loan(th_world, peer, 8, NULL), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_loan(th_world, th_size, 8, &b), TUBO_ERANK);
  TH_EXPECT_RC(tubo_loan(NULL, peer, 8, &b), TUBO_ECOMM);
  TH_OK(tubo_loan(th_world, peer, 64, &b));
  TH_EXPECT_RC(tubo_send_loan(b, 64, th_size, 0, th_world), TUBO_ERANK);
  TH_EXPECT_RC(tubo_send_loan(b, 64, peer, -5, th_world), TUBO_ETAG);
  TH_EXPECT_RC(tubo_send_loan(b, 65, peer, 0, th_world), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_send_loan(NULL, 0, peer, 0, th_world), TUBO_EINVAL);
  TH_EXPECT_RC(tubo_recv_loan(peer, 0, th_world, NULL, NULL), TUBO_EINVAL);
  TH_OK(tubo_loan_release(b));
  TH_OK(tubo_loan_release(NULL));
  if (th_variant() == TH_SHM && th_size > 1 && th_one_node()) {
    /* In shared memory a second release is found out (in private memory, as free, it
     * is undefined). */
    TH_OK(tubo_alloc_mem(100, &b));
    TH_OK(tubo_free_mem(b));
    TH_EXPECT_RC(tubo_free_mem(b), TUBO_EINVAL);
    TH_OK(tubo_loan(th_world, peer, 1u << 20, &b));
    TH_OK(tubo_loan_release(b));
    TH_EXPECT_RC(tubo_loan_release(b), TUBO_EINVAL);
    /* Nor can a released loan (kept by this rank for its next one) be sent. */
    TH_EXPECT_RC(tubo_send_loan(b, 8, peer, 0, th_world), TUBO_EINVAL);
  }
}

/* Many loans one after another: each given back, or the ledger (16384 slots) and the
 * heap would run out. */
static void body_loan_many(void)
{
  if (th_rank > 1)
    return;
  int peer = 1 - th_rank;
  for (int i = 0; i < 17000; i++) {
    size_t len = 4096 + (size_t)(i % 7) * 1000;
    if (th_rank == 0) {
      unsigned char *b;
      TH_OK(tubo_loan(th_world, peer, len, (void **)&b));
      b[0] = (unsigned char)i;
      b[len - 1] = (unsigned char)(i >> 8);
      TH_OK(tubo_send_loan(b, len, peer, 1, th_world));
    } else {
      unsigned char *p;
      tubo_status_t st;
      TH_OK(tubo_recv_loan(peer, 1, th_world, (void **)&p, &st));
      TH_EQ("loan length", st.length, len);
      TH_EQ("loan's first byte", p[0], (unsigned char)i);
      TH_EQ("loan's last byte", p[len - 1], (unsigned char)(i >> 8));
      TH_OK(tubo_loan_release(p));
    }
  }
}

/* How many blocks of FULL_BLOCK bytes tubo_alloc_mem gives before the heap is full. */
#define FULL_BLOCK (4u << 20)
static int fill_heap(void **held, int max)
{
  int n = 0;
  while (n < max) {
    int rc = tubo_alloc_mem(FULL_BLOCK, &held[n]);
    if (rc == TUBO_ENOMEM)
      break;
    TH_OK(rc);
    n++;
  }
  return n;
}

/* Rank 1 sends rank 0 nothing but fills the job's heap (32 MiB: TUBO_SHM_HEAP_BYTES in
 * the job) with buffers and two loans rank 0 sent it (one it took with tubo_recv_loan and
 * holds, one it never received), frees one buffer (which it keeps for reuse), then leaves
 * (finalized, or killed by SIGKILL in loan_death): rank 0 then gets every block back. */
static void leaver(int die)
{
  void *held[64];
  if (th_rank == 0) {
    void *b;
    TH_OK(tubo_loan(th_world, 1, FULL_BLOCK, &b));
    TH_OK(tubo_send_loan(b, FULL_BLOCK, 1, 6, th_world)); /* rank 1 takes it and holds it */
    TH_OK(tubo_loan(th_world, 1, FULL_BLOCK, &b));
    TH_OK(tubo_send_loan(b, FULL_BLOCK, 1, 1, th_world)); /* now rank 1's, never received */
    TH_OK(tubo_send(NULL, 0, 1, 5, th_world));            /* rank 1 may fill the heap now */
    int k;
    TH_OK(tubo_recv(&k, sizeof k, 1, 2, th_world, TUBO_STATUS_IGNORE));
    TH_CHECK(k > 0, "expected rank 1 to hold heap blocks, it holds %d", k);
    void *p;
    TH_EXPECT_RC(tubo_alloc_mem(FULL_BLOCK, &p), TUBO_ENOMEM);
    TH_OK(tubo_send(NULL, 0, 1, 4, th_world)); /* rank 1 may leave now */
    TH_EXPECT_RC(tubo_recv(NULL, 0, 1, 3, th_world, TUBO_STATUS_IGNORE), TUBO_EPEER);
    int n = fill_heap(held, 64);
    TH_CHECK(n >= k + 2, "expected the %d blocks rank 1 held and its two loans back, got %d", k, n);
    for (int i = 0; i < n; i++)
      TH_OK(tubo_free_mem(held[i]));
    printf("leaver: %d blocks back\n", n);
    fflush(stdout);
    return;
  }
  void *loan;
  TH_OK(tubo_recv_loan(0, 6, th_world, &loan, TUBO_STATUS_IGNORE)); /* held until it leaves */
  TH_OK(tubo_recv(NULL, 0, 0, 5, th_world, TUBO_STATUS_IGNORE));
  int k = fill_heap(held, 64);
  /* Its last block freed: it keeps it for its next allocation, and it must come back
   * all the same. */
  if (k > 0)
    TH_OK(tubo_free_mem(held[k - 1]));
  TH_OK(tubo_send(&k, sizeof k, 0, 2, th_world));
  TH_OK(tubo_recv(NULL, 0, 0, 4, th_world, TUBO_STATUS_IGNORE));
  if (die)
    raise(SIGKILL);
}

/* The leaver jobs run with a heap of their own size: they make their world themselves. */
static void leaver_job(int die)
{
  if (die) {
    /* tuborun ends the survivors soon after a death: rank 0's checks come first. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
  }
  th_init_world(NULL, NULL);
  leaver(die);
  int rc = tubo_finalize();
  if (th_rank == 0)
    TH_CHECK(rc == 0 || rc == TUBO_EPEER, "expected tubo_finalize to succeed, got %d", rc);
}

static void body_loan_left(void)
{
  leaver_job(0);
}

static void body_loan_death(void)
{
  leaver_job(1);
}

/* A split message longer than 4 MiB (split where TUBO_SHM_SPLIT_LONG=1), its receiver
 * killed: rank 1 receives into a shared mapping (private to tubo, seen by its child), and
 * its child kills it once the second half of the buffer is being written. Rank 0's send
 * from its private buffer, or from the heap where heap, ends with TUBO_EPEER. */
static void split_recv_death(int heap, size_t len)
{
  if (th_rank == 1) {
    unsigned char *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    TH_CHECK(b != MAP_FAILED, "expected a shared mapping of %zu bytes", len);
    memset(b, 0, len);
    (void)split_watch(b, len, getpid());
    for (;;)
      TH_OK(tubo_recv(b, len, 0, 2, th_world, TUBO_STATUS_IGNORE)); /* until it is killed */
  }
  unsigned char *b = buf_get(len, heap);
  th_fill(b, len, th_seed(0, 1, len, 410));
  int rc = 0, n = 0;
  while (rc == 0) {
    rc = tubo_send(b, len, 1, 2, th_world);
    n += rc == 0;
  }
  TH_CHECK(rc == TUBO_EPEER, "expected TUBO_EPEER once the receiver died, got %s",
           tubo_err_name(rc));
  printf("split_death: %d whole messages, then TUBO_EPEER\n", n);
  fflush(stdout);
}

/* Which split_death job: the sender killed, or (recv) the receiver; heap buffers or private
 * ones; messages of len bytes. */
static void split_death_job(int heap, int recv, size_t len)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  th_init_world(NULL, NULL);
  if (recv)
    split_recv_death(heap, len);
  else
    split_death(heap, len);
  int rc = tubo_finalize();
  TH_CHECK(rc == 0 || rc == TUBO_EPEER, "expected tubo_finalize to succeed, got %d", rc);
}

static void body_split_death(void)
{
  split_death_job(1, 0, 4u << 20);
}

static void body_split_death_private(void)
{
  split_death_job(0, 0, 4u << 20);
}

/* A private message shared in halves (shm_split.h), its sender killed. */
static void body_split_death_halves(void)
{
  split_death_job(0, 0, (256u << 10) + 5);
}

/* Messages of 16 MiB, split where TUBO_SHM_SPLIT_LONG=1: TH_SPLIT_DEATH names the rank
 * killed ("sender" or "receiver") and the buffers ("heap" or "private"). */
static void body_split_death_long(void)
{
  const char *how = getenv("TH_SPLIT_DEATH");
  TH_CHECK(how != NULL, "expected TH_SPLIT_DEATH in the environment");
  split_death_job(strstr(how, "heap") != NULL, strstr(how, "receiver") != NULL, 16u << 20);
}

/* Messages longer than 4 MiB, split as the job's settings say (TUBO_SHM_SPLIT_LONG): just
 * over, a multiple of the chunk, a short last chunk, and 256 chunks; each with heap buffers
 * on neither side, the sender's, the receiver's, both. */
static void body_split_long(void)
{
  static const size_t sizes[] = {(4u << 20) + 1, 8u << 20, (16u << 20) + 3, 64u << 20};
  if (th_rank > 1)
    return;
  sizes_each_mode(sizes, sizeof sizes / sizeof sizes[0]);
}

static const th_body_t bodies[] = {
    {"alloc_mem", body_alloc_mem, 0},
    {"loan", body_loan, 0},
    {"loan_args", body_loan_args, 0},
    {"loan_many", body_loan_many, 0},
    {"loan_paths", body_loan_paths, 0},
    {"loan_left", body_loan_left, TH_SELF_INIT},
    {"loan_death", body_loan_death, TH_SELF_INIT},
    {"alloc_split", body_alloc_split, 0},
    {"split_alone", body_split_alone, 0},
    {"split_denied", body_split_denied, 0},
    {"split_death", body_split_death, TH_SELF_INIT},
    {"split_death_private", body_split_death_private, TH_SELF_INIT},
    {"split_death_halves", body_split_death_halves, TH_SELF_INIT},
    {"split_death_long", body_split_death_long, TH_SELF_INIT},
    {"split_long", body_split_long, 0},
    {NULL, NULL, 0},
};

/* Runs a leaver job; rank 0 says how many blocks came back. */
static void leaver_run(const char *body, int want_status)
{
  const char *argv[] = {th_tuborun(), "-n", "2", "--timeout", "60", "@self", "--body", body, NULL};
  const char *env[] = {"TUBO_SHM_HEAP_BYTES=32m", NULL};
  char *out = NULL;
  int st = th_run(argv, env, &out);
  ck_assert_msg(st == want_status, "%s: expected the job to end with status %d, got %d: %s", body,
                want_status, st, out);
  ck_assert_msg(strstr(out, "leaver: ") != NULL,
                "%s: expected rank 0 to get rank 1's blocks back; output:\n%s", body, out);
  free(out);
}

START_TEST(loan_left)
{
  leaver_run("loan_left", 0);
}
END_TEST

START_TEST(loan_death)
{
  leaver_run("loan_death", 128 + SIGKILL);
}
END_TEST

/* Runs a split_death job (body) with the settings env. */
static void split_kill_run(const char *body, const char *const *env)
{
  const char *argv[] = {th_tuborun(), "-n", "2", "--timeout", "60", "@self", "--body", body, NULL};
  char *out = NULL;
  int st = th_run(argv, env, &out);
  ck_assert_msg(st == 128 + SIGKILL, "%s: expected the job to end with status %d, got %d: %s", body,
                128 + SIGKILL, st, out);
  ck_assert_msg(strstr(out, "split_death: ") != NULL,
                "%s: expected rank 0's receive to end with TUBO_EPEER; output:\n%s", body, out);
  free(out);
}

START_TEST(split_kill)
{
  split_kill_run("split_death", NULL);
}
END_TEST

/* Private buffers, sent by single copy from 64 KiB: split where the kernel allows single
 * copy, else streamed through the channel; TUBO_EPEER either way. */
START_TEST(split_kill_private)
{
  const char *env[] = {"TUBO_SHM_RNDV_BYTES=64k", NULL};
  split_kill_run("split_death_private", env);
}
END_TEST

START_TEST(split_kill_halves)
{
  const char *env[] = {"TUBO_SHM_RNDV_BYTES=64k", NULL};
  split_kill_run("split_death_halves", env);
}
END_TEST

/* 16 MiB, split (TUBO_SHM_SPLIT_LONG=1): the sender killed, then the receiver; from the
 * heap and from private memory (by single copy from 64 KiB). */
START_TEST(split_kill_long)
{
  static const char *const envs[][4] = {
      {"TUBO_SHM_SPLIT_LONG=1", "TH_SPLIT_DEATH=sender heap", NULL, NULL},
      {"TUBO_SHM_SPLIT_LONG=1", "TUBO_SHM_RNDV_BYTES=64k", "TH_SPLIT_DEATH=sender private", NULL},
      {"TUBO_SHM_SPLIT_LONG=1", "TH_SPLIT_DEATH=receiver heap", NULL, NULL},
      {"TUBO_SHM_SPLIT_LONG=1", "TUBO_SHM_RNDV_BYTES=64k", "TH_SPLIT_DEATH=receiver private", NULL},
  };
  for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++)
    split_kill_run("split_death_long", (const char *const *)envs[i]);
}
END_TEST

/* Messages longer than 4 MiB on every kind of buffer: split always (private ones by single
 * copy from 64 KiB), and never (the online choice: check_protocol's job_split_stream). */
START_TEST(split_long)
{
  const char *argv[] = {th_tuborun(), "-n",    "2",      "--bind-to",  "core", "--timeout",
                        "120",        "@self", "--body", "split_long", NULL};
  static const char *const envs[][3] = {
      {"TUBO_SHM_SPLIT_LONG=1", "TUBO_SHM_RNDV_BYTES=64k", NULL},
      {"TUBO_SHM_SPLIT_LONG=1", NULL, NULL},
      {"TUBO_SHM_SPLIT_LONG=0", "TUBO_SHM_RNDV_BYTES=64k", NULL},
  };
  for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
    char *out = NULL;
    int st = th_run(argv, (const char *const *)envs[i], &out);
    ck_assert_msg(st == 0, "with %s %s: expected the job to pass, got status %d:\n%s", envs[i][0],
                  envs[i][1] ? envs[i][1] : "", st, out);
    free(out);
  }
}
END_TEST

static Suite *loan_suite(void)
{
  Suite *s = suite_create("loan");
  th_add_case(s, "alloc_mem", 2, TH_ALL_PATHS);
  th_add_case(s, "loan", 2, TH_ALL_PATHS);
  th_add_case(s, "loan_args", 2, TH_BOTH);
  th_add_job(th_add_case(s, "loan_args", 1, TH_SOLO), "loan_args", 1, TH_SHM);
  th_add_case(s, "loan_many", 2, TH_SHM);
  th_add_case(s, "loan_paths", 2, TH_ALL_PATHS);
  th_add_case(s, "alloc_split", 2, TH_ALL_PATHS);
  th_add_case(s, "split_alone", 2, TH_SHM | TH_SHM_RNDV);
  th_add_case(s, "split_denied", 2, TH_SHM_RNDV);
  TCase *tc = th_tcase("loan_leaver");
  tcase_add_test(tc, loan_left);
  tcase_add_test(tc, loan_death);
  tcase_add_test(tc, split_kill);
  tcase_add_test(tc, split_kill_private);
  tcase_add_test(tc, split_kill_halves);
  tcase_add_test(tc, split_kill_long);
  tcase_add_test(tc, split_long);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, loan_suite);
}
