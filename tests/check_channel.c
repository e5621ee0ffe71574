/* SPDX-License-Identifier: MIT */
/* CSP channels (tubo_channel_*, tubo_alt_select, tubo_parallel, tubo_sequence).
 *
 * One process: buffered channels, every guard kind, prioritised and fair choice, poison
 * and retire on each call. Processes: many writers and many readers on one channel, every
 * message delivered once (waiters yielding, sleeping at once, or spinning); poison and retire
 * passed through a network until it shuts down; a process killed while it writes (blocked in a
 * write, holding a channel's lock, handing a message over), after which the channel goes on
 * working. Ranks (tuborun): channels opened on the world, in shared memory and served by rank 0
 * over the pipe transport. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "patterns/channel.h"
#include "waitpol.h"

static tubo_channel_t *new_channel(size_t capacity)
{
  tubo_channel_t *ch = NULL;
  TH_CK_OK(tubo_channel_create(capacity, &ch));
  return ch;
}

/* ---- One process ---- */

START_TEST(test_buffered)
{
  tubo_channel_t *ch = new_channel(3);
  for (long i = 0; i < 3; i++)
    TH_CK_OK(tubo_channel_write(ch, &i, sizeof i)); /* room in the buffer: no reader needed */
  tubo_guard_t g[2] = {TUBO_OUT_GUARD(ch, "x", 1), TUBO_SKIP_GUARD};
  size_t chosen = 99;
  TH_CK_OK(tubo_alt_select(g, 2, 0, &chosen));
  ck_assert_msg(chosen == 1, "a write to a full buffer: expected the skip guard, got %zu", chosen);
  for (long i = 0; i < 3; i++) {
    long v = -1;
    size_t len = 0;
    TH_CK_OK(tubo_channel_read(ch, &v, sizeof v, &len));
    ck_assert_msg(v == i && len == sizeof v, "read %ld: expected %ld in order, got %ld", i, i, v);
  }
  TH_CK_OK(tubo_channel_write(ch, "", 0));
  TH_CK_OK(tubo_channel_write(ch, "hello", 5));
  TH_CK_OK(tubo_channel_write(ch, "0123456789", 10));
  size_t len = 99;
  TH_CK_OK(tubo_channel_read(ch, NULL, 0, &len));
  ck_assert_msg(len == 0, "an empty message: expected length 0, got %zu", len);
  void *p = NULL;
  TH_CK_OK(tubo_channel_read_alloc(ch, &p, &len));
  ck_assert_msg(len == 5 && memcmp(p, "hello", 5) == 0, "read_alloc: expected hello");
  free(p);
  char small[4];
  TH_CK_RC(tubo_channel_read(ch, small, sizeof small, &len), TUBO_ETRUNC);
  ck_assert_msg(len == 10 && memcmp(small, "0123", 4) == 0, "truncated: expected 0123 and 10");
  TH_CK_RC(tubo_alt_select((tubo_guard_t[]){TUBO_IN_GUARD(ch, small, 4), TUBO_TIMEOUT_GUARD(0)}, 2,
                           0, &chosen),
           0);
  ck_assert_msg(chosen == 1, "the message truncated was consumed: expected the timeout guard");
  TH_CK_OK(tubo_channel_free(ch));
}
END_TEST

START_TEST(test_guards)
{
  tubo_channel_t *a = new_channel(4), *b = new_channel(4), *s = new_channel(0);
  long v = 0, x = 0, y = 0;
  size_t chosen = 0;
  /* Nothing ready: the timeout guard, after its time. */
  tubo_guard_t t[3] = {TUBO_IN_GUARD(a, &x, sizeof x), TUBO_IN_GUARD(s, &y, sizeof y),
                       TUBO_TIMEOUT_GUARD(20)};
  TH_CK_OK(tubo_alt_select(t, 3, 0, &chosen));
  ck_assert_msg(chosen == 2, "nothing ready: expected the timeout guard, got %zu", chosen);
  /* A synchronous channel has no reader: an output guard is not ready; skip is. */
  tubo_guard_t o[2] = {TUBO_OUT_GUARD(s, &v, sizeof v), TUBO_SKIP_GUARD};
  TH_CK_OK(tubo_alt_select(o, 2, 0, &chosen));
  ck_assert_msg(chosen == 1, "no reader: expected the skip guard, got %zu", chosen);
  /* Both ready: prioritised takes the first every time, fair takes turns. */
  for (v = 0; v < 4; v++) {
    TH_CK_OK(tubo_channel_write(a, &v, sizeof v));
    TH_CK_OK(tubo_channel_write(b, &v, sizeof v));
  }
  tubo_guard_t g[2] = {TUBO_IN_GUARD(a, &x, sizeof x), TUBO_IN_GUARD(b, &y, sizeof y)};
  for (int i = 0; i < 2; i++) {
    TH_CK_OK(tubo_alt_select(g, 2, 0, &chosen));
    ck_assert_msg(chosen == 0, "prioritised: expected guard 0, got %zu", chosen);
    TH_CK_OK(tubo_channel_write(a, &v, sizeof v));
  }
  int count[2] = {0, 0};
  chosen = 1;
  for (int i = 0; i < 100; i++) {
    TH_CK_OK(tubo_alt_select(g, 2, TUBO_ALT_FAIR, &chosen));
    count[chosen]++;
    TH_CK_OK(tubo_channel_write(chosen == 0 ? a : b, &v, sizeof v)); /* both stay ready */
  }
  ck_assert_msg(count[0] == 50 && count[1] == 50,
                "fair over two ready guards: expected 50 and 50, "
                "got %d and %d",
                count[0], count[1]);
  /* An input and an output guard in one Alternation, and the input guard's length. */
  tubo_guard_t io[2] = {TUBO_OUT_GUARD(s, "z", 1), TUBO_IN_GUARD(b, &y, sizeof y)};
  TH_CK_OK(tubo_alt_select(io, 2, 0, &chosen));
  ck_assert_msg(chosen == 1 && io[1].in_len == sizeof y, "expected the input guard, 8 bytes");
  /* Checks of the guards. */
  tubo_guard_t two[2] = {TUBO_TIMEOUT_GUARD(1), TUBO_TIMEOUT_GUARD(2)};
  TH_CK_RC(tubo_alt_select(two, 2, 0, &chosen), TUBO_EINVAL);
  tubo_channel_t *in = NULL;
  TH_CK_OK(tubo_channel_reader(a, &in));
  tubo_guard_t wrong[1] = {TUBO_OUT_GUARD(in, "z", 1)};
  TH_CK_RC(tubo_alt_select(wrong, 1, 0, &chosen), TUBO_ENOTSUP);
  TH_CK_OK(tubo_channel_free(in));
  TH_CK_OK(tubo_channel_free(a));
  TH_CK_OK(tubo_channel_free(b));
  TH_CK_OK(tubo_channel_free(s));
}
END_TEST

START_TEST(test_poison_calls)
{
  tubo_channel_t *ch = new_channel(2), *in = NULL, *out = NULL;
  TH_CK_OK(tubo_channel_reader(ch, &in));
  TH_CK_OK(tubo_channel_writer(ch, &out));
  TH_CK_OK(tubo_channel_write(out, "a", 1));
  TH_CK_OK(tubo_channel_poison(in)); /* any end poisons the channel */
  char buf[4];
  size_t chosen = 9;
  TH_CK_RC(tubo_channel_read(in, buf, sizeof buf, NULL), TUBO_EPOISON); /* the buffer is dropped */
  TH_CK_RC(tubo_channel_write(out, "b", 1), TUBO_EPOISON);
  TH_CK_RC(tubo_channel_write(ch, "b", 1), TUBO_EPOISON);
  tubo_guard_t g[2] = {TUBO_SKIP_GUARD, TUBO_IN_GUARD(ch, buf, sizeof buf)};
  TH_CK_OK(tubo_alt_select(g, 2, 0, &chosen)); /* skip comes first */
  TH_CK_RC(tubo_alt_select(g + 1, 1, 0, &chosen), TUBO_EPOISON);
  ck_assert_msg(chosen == 0, "poisoned guard: expected index 0, got %zu", chosen);
  tubo_channel_t *more = NULL;
  TH_CK_RC(tubo_channel_reader(ch, &more), TUBO_EPOISON);
  TH_CK_OK(tubo_channel_poison(ch)); /* again: no error */
  TH_CK_OK(tubo_channel_free(in));
  TH_CK_OK(tubo_channel_free(out));
  TH_CK_OK(tubo_channel_free(ch));
}
END_TEST

START_TEST(test_retire_calls)
{
  tubo_channel_t *ch = new_channel(4), *in = NULL, *w1 = NULL, *w2 = NULL;
  TH_CK_OK(tubo_channel_reader(ch, &in));
  TH_CK_OK(tubo_channel_writer(ch, &w1));
  TH_CK_OK(tubo_channel_writer(ch, &w2));
  TH_CK_RC(tubo_channel_write(in, "x", 1), TUBO_ENOTSUP);
  char buf[4];
  TH_CK_RC(tubo_channel_read(w1, buf, sizeof buf, NULL), TUBO_ENOTSUP);
  TH_CK_RC(tubo_channel_retire(ch), TUBO_EINVAL);
  TH_CK_OK(tubo_channel_write(w1, "1", 1));
  TH_CK_OK(tubo_channel_retire(w1));
  TH_CK_RC(tubo_channel_retire(w1), TUBO_ERETIRED);
  TH_CK_RC(tubo_channel_write(w1, "x", 1), TUBO_ERETIRED);
  TH_CK_OK(tubo_channel_write(w2, "2", 1)); /* one writer left: not retired */
  TH_CK_OK(tubo_channel_retire(w2));
  /* Every writer retired: the reader reads what is buffered, then hears it. */
  TH_CK_OK(tubo_channel_read(in, buf, sizeof buf, NULL));
  ck_assert_msg(buf[0] == '1', "first buffered: expected 1, got %c", buf[0]);
  TH_CK_OK(tubo_channel_read(in, buf, sizeof buf, NULL));
  ck_assert_msg(buf[0] == '2', "second buffered: expected 2, got %c", buf[0]);
  TH_CK_RC(tubo_channel_read(in, buf, sizeof buf, NULL), TUBO_ERETIRED);
  TH_CK_RC(tubo_channel_write(ch, "x", 1), TUBO_ERETIRED);
  TH_CK_OK(tubo_channel_free(in));
  TH_CK_OK(tubo_channel_free(w1));
  TH_CK_OK(tubo_channel_free(w2));
  TH_CK_OK(tubo_channel_free(ch));

  /* Every reader retired: writes hear it at once. */
  ch = new_channel(0);
  TH_CK_OK(tubo_channel_reader(ch, &in));
  TH_CK_OK(tubo_channel_retire(in));
  TH_CK_RC(tubo_channel_write(ch, "x", 1), TUBO_ERETIRED);
  TH_CK_OK(tubo_channel_free(in));
  TH_CK_OK(tubo_channel_free(ch));
}
END_TEST

/* ---- Processes ---- */

#define MM_PROCS 4
#define MM_MSGS  3000

/* Each writer writes its messages, then retires its end; each reader reads until the
 * channel is retired and counts every message in shared memory. */
static int mm_writer(tubo_channel_t *out, int p)
{
  for (int i = 0; i < MM_MSGS; i++) {
    unsigned char msg[64];
    int32_t id = p * MM_MSGS + i;
    size_t len = 4 + (size_t)i % 60;
    th_fill(msg, len, (uint32_t)id);
    memcpy(msg, &id, 4);
    if (tubo_channel_write(out, msg, len) != 0)
      return 2;
  }
  return tubo_channel_retire(out) == 0 ? 0 : 3;
}

static int mm_reader(tubo_channel_t *in, _Atomic uint32_t *seen)
{
  for (;;) {
    unsigned char msg[64], want[64];
    size_t len = 0;
    int rc = tubo_channel_read(in, msg, sizeof msg, &len);
    if (rc == TUBO_ERETIRED)
      return 0;
    if (rc != 0)
      return 2;
    int32_t id;
    memcpy(&id, msg, 4);
    if (id < 0 || id >= MM_PROCS * MM_MSGS || len != 4 + (size_t)(id % MM_MSGS) % 60)
      return 3;
    th_fill(want, len, (uint32_t)id);
    memcpy(want, &id, 4);
    if (memcmp(want, msg, len) != 0)
      return 4; /* not whole */
    atomic_fetch_add(&seen[id], 1);
  }
}

static void many_to_many(size_t capacity)
{
  tubo_channel_t *ch = new_channel(capacity), *ends[2 * MM_PROCS];
  size_t bytes = MM_PROCS * MM_MSGS * sizeof(uint32_t);
  _Atomic uint32_t *seen =
      mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert_msg(seen != MAP_FAILED, "mmap: expected shared memory for the counts");
  /* Every end is made before any process starts, so that no writer retires the channel
   * before the last writer joined. */
  for (int p = 0; p < MM_PROCS; p++) {
    TH_CK_OK(tubo_channel_writer(ch, &ends[p]));
    TH_CK_OK(tubo_channel_reader(ch, &ends[MM_PROCS + p]));
  }
  pid_t kids[2 * MM_PROCS];
  for (int p = 0; p < 2 * MM_PROCS; p++)
    if ((kids[p] = th_child_fork()) == 0)
      _exit(p < MM_PROCS ? mm_writer(ends[p], p) : mm_reader(ends[p], seen));
  for (int p = 0; p < 2 * MM_PROCS; p++) {
    int code = th_child_wait(kids[p]);
    ck_assert_msg(code == 0, "%s %d: expected exit code 0, got %d",
                  p < MM_PROCS ? "writer" : "reader", p % MM_PROCS, code);
  }
  for (int id = 0; id < MM_PROCS * MM_MSGS; id++)
    ck_assert_msg(seen[id] == 1, "message %d: expected delivered once, got %u times", id,
                  (unsigned)seen[id]);
  munmap((void *)seen, bytes);
  for (int p = 0; p < 2 * MM_PROCS; p++)
    TH_CK_OK(tubo_channel_free(ends[p]));
  TH_CK_OK(tubo_channel_free(ch));
}

START_TEST(test_many_to_many_sync)
{
  many_to_many(0);
}
END_TEST

/* The same with the other ways a channel's waiter waits (objwait.h): sleeping at the first
 * empty look after one yield (a yield budget of 0), and spinning, then sleeping, without
 * yielding (TUBO_YIELD_WHEN_IDLE=0). The policy is made here, before the processes fork,
 * from the settings. */
static void many_to_many_waiting(const char *when_idle, const char *yield_ns, int shared)
{
  setenv("TUBO_YIELD_WHEN_IDLE", when_idle, 1);
  setenv("TUBO_YIELD_NS", yield_ns, 1);
  const tubo__waitpol_t *pol = tubo__objwait_policy();
  ck_assert_msg(pol->shared == shared && pol->yield_max == strtoull(yield_ns, NULL, 10),
                "TUBO_YIELD_WHEN_IDLE=%s TUBO_YIELD_NS=%s: expected shared %d, budget %s, got "
                "shared %d, budget %llu",
                when_idle, yield_ns, shared, yield_ns, pol->shared,
                (unsigned long long)pol->yield_max);
  many_to_many(0);
  unsetenv("TUBO_YIELD_WHEN_IDLE");
  unsetenv("TUBO_YIELD_NS");
}

START_TEST(test_many_to_many_sleeping)
{
  many_to_many_waiting("1", "0", 1);
}
END_TEST

START_TEST(test_many_to_many_spinning)
{
  many_to_many_waiting("0", "1000000", 0);
}
END_TEST

START_TEST(test_many_to_many_buffered)
{
  many_to_many(8);
}
END_TEST

/* A pipeline source -> stage -> stage -> sink, shut down by poison from the sink: each
 * process passes the poison on and ends with 0 once it heard it. */
static tubo_channel_t *net[3];

static int net_source(void *arg)
{
  (void)arg;
  for (long i = 0;; i++)
    if (tubo_channel_write(net[0], &i, sizeof i) == TUBO_EPOISON)
      break;
  return tubo_channel_poison(net[0]);
}

static int net_stage(void *arg)
{
  long k = (long)arg, v;
  int rc;
  for (;;) {
    if ((rc = tubo_channel_read(net[k], &v, sizeof v, NULL)) != 0)
      break;
    v *= 2;
    if ((rc = tubo_channel_write(net[k + 1], &v, sizeof v)) != 0)
      break;
  }
  tubo_channel_poison(net[k]);
  tubo_channel_poison(net[k + 1]);
  return rc == TUBO_EPOISON ? 0 : 10 - rc;
}

static int net_sink(void *arg)
{
  (void)arg;
  for (long i = 0; i < 100; i++) {
    long v = -1;
    if (tubo_channel_read(net[2], &v, sizeof v, NULL) != 0 || v != 4 * i)
      return 2;
  }
  return tubo_channel_poison(net[2]);
}

START_TEST(test_poison_network)
{
  for (int i = 0; i < 3; i++)
    net[i] = new_channel(i == 1 ? 4 : 0);
  tubo_csp_process_t procs[] = {
      TUBO_CSP_PROCESS(net_source, NULL), TUBO_CSP_PROCESS(net_stage, (void *)0),
      TUBO_CSP_PROCESS(net_stage, (void *)1), TUBO_CSP_PROCESS(net_sink, NULL)};
  int codes[4];
  int rc = tubo_parallel(procs, 4, codes);
  ck_assert_msg(rc == 0, "the network: expected every process to end with 0, got %s (%d %d %d %d)",
                tubo_err_name(rc), codes[0], codes[1], codes[2], codes[3]);
  for (int i = 0; i < 3; i++)
    TH_CK_OK(tubo_channel_free(net[i]));
}
END_TEST

/* The same pipeline shut down by retirement from the source: each stage, once its input
 * is retired, retires its output end. */
static tubo_channel_t *rin[3], *rout[3];

static int ret_source(void *arg)
{
  (void)arg;
  for (long i = 0; i < 200; i++)
    if (tubo_channel_write(rout[0], &i, sizeof i) != 0)
      return 2;
  return tubo_channel_retire(rout[0]);
}

static int ret_stage(void *arg)
{
  long k = (long)arg, v;
  int rc;
  while ((rc = tubo_channel_read(rin[k], &v, sizeof v, NULL)) == 0)
    if (tubo_channel_write(rout[k + 1], &v, sizeof v) != 0)
      return 2;
  if (rc != TUBO_ERETIRED)
    return 3;
  return tubo_channel_retire(rout[k + 1]) == 0 ? 0 : 4;
}

static int ret_sink(void *arg)
{
  (void)arg;
  long v, n = 0;
  int rc;
  while ((rc = tubo_channel_read(rin[2], &v, sizeof v, NULL)) == 0)
    if (v != n++)
      return 2;
  return rc == TUBO_ERETIRED && n == 200 ? 0 : 3;
}

START_TEST(test_retire_network)
{
  tubo_channel_t *ch[3];
  for (int i = 0; i < 3; i++) {
    ch[i] = new_channel(i == 2 ? 16 : 0);
    TH_CK_OK(tubo_channel_reader(ch[i], &rin[i]));
    TH_CK_OK(tubo_channel_writer(ch[i], &rout[i]));
  }
  tubo_csp_process_t procs[] = {
      TUBO_CSP_PROCESS(ret_source, NULL), TUBO_CSP_PROCESS(ret_stage, (void *)0),
      TUBO_CSP_PROCESS(ret_stage, (void *)1), TUBO_CSP_PROCESS(ret_sink, NULL)};
  int codes[4];
  int rc = tubo_parallel(procs, 4, codes);
  ck_assert_msg(rc == 0, "the network: expected every process to end with 0, got %s (%d %d %d %d)",
                tubo_err_name(rc), codes[0], codes[1], codes[2], codes[3]);
  for (int i = 0; i < 3; i++) {
    TH_CK_OK(tubo_channel_free(rin[i]));
    TH_CK_OK(tubo_channel_free(rout[i]));
    TH_CK_OK(tubo_channel_free(ch[i]));
  }
}
END_TEST

static int seq_fn(void *arg)
{
  return *(int *)arg;
}

START_TEST(test_sequence)
{
  int zero = 0, three = 3, codes[3] = {-1, -1, -1};
  tubo_csp_process_t ok[] = {TUBO_CSP_PROCESS(seq_fn, &zero), TUBO_CSP_PROCESS(seq_fn, &zero)};
  TH_CK_OK(tubo_sequence(ok, 2, codes));
  tubo_csp_process_t bad[] = {TUBO_CSP_PROCESS(seq_fn, &zero), TUBO_CSP_PROCESS(seq_fn, &three),
                              TUBO_CSP_PROCESS(seq_fn, &zero)};
  TH_CK_RC(tubo_sequence(bad, 3, codes), TUBO_EPEER);
  ck_assert_msg(codes[0] == 0 && codes[1] == 3 && codes[2] == 0,
                "sequence's codes: expected 0 3 0 (every process runs), got %d %d %d", codes[0],
                codes[1], codes[2]);
  TH_CK_RC(tubo_parallel(bad, 3, codes), TUBO_EPEER);
  ck_assert_msg(codes[1] == 3, "parallel's second code: expected 3, got %d", codes[1]);
}
END_TEST

/* ---- A process killed while it writes ---- */

/* Waits until ch has a waiting writer (its entry linked). */
static void await_waiting_writer(tubo_channel_t *ch)
{
  while (atomic_load(&ch->core.sh->sendq[0]) == 0)
    usleep(1000); /* polls shared state: the writer's arrival is the event */
}

START_TEST(test_killed_blocked_writer)
{
  tubo_channel_t *ch = new_channel(0);
  pid_t w = th_child_fork();
  if (w == 0) {
    char msg[100];
    memset(msg, 'k', sizeof msg);
    tubo_channel_write(ch, msg, sizeof msg); /* no reader: waits */
    _exit(0);
  }
  await_waiting_writer(ch);
  kill(w, SIGKILL);
  ck_assert_msg(th_child_wait(w) == -SIGKILL, "writer: expected SIGKILL");
  /* Its message was whole before it waited: it is delivered, once. */
  char buf[128];
  size_t len = 0;
  TH_CK_OK(tubo_channel_read(ch, buf, sizeof buf, &len));
  ck_assert_msg(len == 100 && buf[0] == 'k' && buf[99] == 'k', "the dead writer's message: "
                                                               "expected 100 bytes of k");
  size_t chosen;
  TH_CK_OK(tubo_alt_select((tubo_guard_t[]){TUBO_IN_GUARD(ch, buf, 8), TUBO_TIMEOUT_GUARD(0)}, 2, 0,
                           &chosen));
  ck_assert_msg(chosen == 1, "after it: expected nothing more to read");
  TH_CK_OK(tubo_channel_free(ch));
}
END_TEST

static enum tubo__chan_step kill_at;

static void kill_hook(enum tubo__chan_step step)
{
  if (step == kill_at)
    kill(getpid(), SIGKILL);
}

/* A write and a read between two processes: the channel still works. */
static void channel_works(tubo_channel_t *ch, const char *what)
{
  pid_t r = th_child_fork();
  if (r == 0) {
    long v = 0;
    _exit(tubo_channel_read(ch, &v, sizeof v, NULL) == 0 && v == 42 ? 0 : 2);
  }
  long v = 42;
  TH_CK_OK(tubo_channel_write(ch, &v, sizeof v));
  ck_assert_msg(th_child_wait(r) == 0, "%s: the reader after it: expected to read 42", what);
}

START_TEST(test_killed_holding_lock)
{
  for (int step = TUBO__CHAN_S_LOCKED; step <= TUBO__CHAN_S_POSTED; step++) {
    tubo_channel_t *ch = new_channel(0);
    pid_t w = th_child_fork();
    if (w == 0) {
      kill_at = (enum tubo__chan_step)step;
      tubo__chan_step_hook = kill_hook;
      tubo_channel_write(ch, "dead", 4);
      _exit(0);
    }
    ck_assert_msg(th_child_wait(w) == -SIGKILL, "writer killed at step %d: expected SIGKILL", step);
    /* Whatever the dead writer left in the queue is dropped by the lock's next holder. */
    channel_works(ch, step == TUBO__CHAN_S_LOCKED ? "killed holding the lock"
                                                  : "killed holding the lock, its entry linked");
    TH_CK_OK(tubo_channel_free(ch));
  }
}
END_TEST

/* A writer that dies after claiming a waiting reader, before it says what it handed over:
 * the reader hears TUBO_EPEER, and the channel goes on. */
START_TEST(test_killed_claimer)
{
  tubo_channel_t *ch = new_channel(0);
  _Atomic int *rc =
      mmap(NULL, sizeof *rc, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert_msg(rc != MAP_FAILED, "mmap: expected shared memory");
  pid_t r = th_child_fork();
  if (r == 0) {
    long v = 0;
    atomic_store(rc, tubo_channel_read(ch, &v, sizeof v, NULL));
    _exit(0);
  }
  while (atomic_load(&ch->core.sh->recvq[0]) == 0)
    usleep(1000); /* the reader is waiting */
  pid_t w = th_child_fork();
  if (w == 0) {
    kill_at = TUBO__CHAN_S_CLAIMED;
    tubo__chan_step_hook = kill_hook;
    long v = 1;
    tubo_channel_write(ch, &v, sizeof v);
    _exit(0);
  }
  ck_assert_msg(th_child_wait(w) == -SIGKILL, "claimer: expected SIGKILL");
  ck_assert_msg(th_child_wait(r) == 0, "reader: expected exit code 0");
  ck_assert_msg(atomic_load(rc) == TUBO_EPEER,
                "reader whose claimer died: expected TUBO_EPEER, got %s",
                tubo_err_name(atomic_load(rc)));
  channel_works(ch, "after a dead claimer");
  munmap((void *)rc, sizeof *rc);
  TH_CK_OK(tubo_channel_free(ch));
}
END_TEST

/* ---- Ranks ---- */

static void body_open_pingpong(void)
{
  tubo_channel_t *ping = NULL, *pong = NULL;
  TH_OK(tubo_channel_open(th_world, 0, &ping));
  TH_OK(tubo_channel_open(th_world, 2, &pong));
  for (long i = 0; i < 200 && th_rank < 2; i++) {
    long v = -1;
    if (th_rank == 0) {
      TH_OK(tubo_channel_write(ping, &i, sizeof i));
      TH_OK(tubo_channel_read(pong, &v, sizeof v, NULL));
      TH_EQ("pong", v, i + 1);
    } else {
      TH_OK(tubo_channel_read(ping, &v, sizeof v, NULL));
      TH_EQ("ping", v, i);
      v++;
      TH_OK(tubo_channel_write(pong, &v, sizeof v));
    }
  }
  /* A message larger than any buffer a served channel starts with. */
  if (th_rank == 1) {
    unsigned char *big = malloc(200000);
    th_fill(big, 200000, 9);
    TH_OK(tubo_channel_write(ping, big, 200000));
    free(big);
  } else if (th_rank == 0) {
    void *p = NULL;
    size_t len = 0;
    TH_OK(tubo_channel_read_alloc(ping, &p, &len));
    TH_EQ("big message", len, 200000);
    TH_CHECK_DATA(p, len, 9, "the big message");
    free(p);
  }
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_channel_free(ping));
  TH_OK(tubo_channel_free(pong));
}

/* Every rank but 0 writes through its own writing end and retires it; rank 0 reads all,
 * then hears the channel retired. */
static void body_open_many(void)
{
  tubo_channel_t *ch = NULL, *end = NULL;
  TH_OK(tubo_channel_open(th_world, 0, &ch));
  if (th_rank == 0)
    TH_OK(tubo_channel_reader(ch, &end));
  else
    TH_OK(tubo_channel_writer(ch, &end));
  TH_OK(tubo_barrier(th_world)); /* every end made before any retires */
  if (th_rank == 0) {
    long count[64] = {0}, v;
    int rc, n = 0;
    while ((rc = tubo_channel_read(end, &v, sizeof v, NULL)) == 0) {
      int from = (int)(v / 1000);
      TH_EQ("a rank's messages in order", v % 1000, count[from]);
      count[from]++;
      n++;
    }
    TH_EXPECT_RC(rc, TUBO_ERETIRED);
    TH_EQ("messages", n, 50 * (th_size - 1));
  } else {
    for (long i = 0; i < 50; i++) {
      long v = th_rank * 1000 + i;
      TH_OK(tubo_channel_write(end, &v, sizeof v));
    }
    TH_OK(tubo_channel_retire(end));
  }
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_channel_free(end));
  TH_OK(tubo_channel_free(ch));
}

/* Rank 1 alternates over two channels, written by ranks 0 and 2, until both retired;
 * then rank 0 poisons a third that rank 2 waits on. */
static void body_open_alt(void)
{
  tubo_channel_t *a = NULL, *b = NULL, *p = NULL, *end = NULL;
  TH_OK(tubo_channel_open(th_world, 0, &a));
  TH_OK(tubo_channel_open(th_world, 1, &b));
  TH_OK(tubo_channel_open(th_world, 0, &p));
  if (th_rank == 0)
    TH_OK(tubo_channel_writer(a, &end));
  else if (th_rank == 2)
    TH_OK(tubo_channel_writer(b, &end));
  TH_OK(tubo_barrier(th_world));
  if (th_rank == 0 || th_rank == 2) {
    for (long i = 0; i < 40; i++)
      TH_OK(tubo_channel_write(end, &i, sizeof i));
    TH_OK(tubo_channel_retire(end));
  } else if (th_rank == 1) {
    long x = 0, y = 0, got[2] = {0, 0};
    tubo_guard_t g[2] = {TUBO_IN_GUARD(a, &x, sizeof x), TUBO_IN_GUARD(b, &y, sizeof y)};
    size_t n = 2, chosen = 0;
    while (n > 0) {
      int rc = tubo_alt_select(g, n, TUBO_ALT_FAIR, &chosen);
      if (rc == TUBO_ERETIRED) {
        g[chosen] = g[n - 1]; /* that channel is done: the others go on */
        n--;
        continue;
      }
      TH_OK(rc);
      int which = g[chosen].in == &x ? 0 : 1;
      TH_EQ("messages of one channel in order", which ? y : x, got[which]);
      got[which]++;
    }
    TH_EQ("messages from rank 0", got[0], 40);
    TH_EQ("messages from rank 2", got[1], 40);
  }
  TH_OK(tubo_barrier(th_world));
  if (th_rank == 2) {
    long v;
    TH_EXPECT_RC(tubo_channel_read(p, &v, sizeof v, NULL), TUBO_EPOISON);
  } else if (th_rank == 0) {
    TH_OK(tubo_channel_poison(p));
  }
  TH_OK(tubo_barrier(th_world));
  if (end != NULL)
    TH_OK(tubo_channel_free(end));
  TH_OK(tubo_channel_free(a));
  TH_OK(tubo_channel_free(b));
  TH_OK(tubo_channel_free(p));
}

static const th_body_t bodies[] = {
    {"open_pingpong", body_open_pingpong, 0},
    {"open_many", body_open_many, 0},
    {"open_alt", body_open_alt, 0},
    {NULL, NULL, 0},
};

static Suite *channel_suite(void)
{
  Suite *s = suite_create("channel");
  TCase *tc = th_tcase("one process");
  tcase_add_test(tc, test_buffered);
  tcase_add_test(tc, test_guards);
  tcase_add_test(tc, test_poison_calls);
  tcase_add_test(tc, test_retire_calls);
  tcase_add_test(tc, test_sequence);
  suite_add_tcase(s, tc);

  tc = th_tcase("processes");
  tcase_add_test(tc, test_many_to_many_sync);
  tcase_add_test(tc, test_many_to_many_buffered);
  tcase_add_test(tc, test_many_to_many_sleeping);
  tcase_add_test(tc, test_many_to_many_spinning);
  tcase_add_test(tc, test_poison_network);
  tcase_add_test(tc, test_retire_network);
  tcase_add_test(tc, test_killed_blocked_writer);
  tcase_add_test(tc, test_killed_holding_lock);
  tcase_add_test(tc, test_killed_claimer);
  suite_add_tcase(s, tc);

  th_add_case(s, "open_pingpong", 2, TH_BOTH);
  th_add_case(s, "open_many", 4, TH_BOTH);
  th_add_case(s, "open_alt", 3, TH_BOTH);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, channel_suite);
}
