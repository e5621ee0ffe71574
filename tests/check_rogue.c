/* SPDX-License-Identifier: MIT */
/* A rogue rank: a process of the job writes where it must not, into the job's shared
 * memory, which every rank can write.
 *
 * - forge: the smallest case, one 4-byte store over the control block's rank count, by a
 *   rank that then exits 1 (before, this crashed tuborun), by a worker of tubo_spawn (it
 *   crashed the spawning process), or before the other rank calls tubo_abort (it crashed
 *   that rank).
 * - rogue: the last rank of a 4-rank job writes random bytes, seeded, over one region of
 *   the job's memory (the control block, the other ranks' inbox headers, their inbox
 *   slots, the channels the ranks made in the heap, the shared heap from its header to
 *   its last object, a Queue, an Array's header with its lock, the shared-memory
 *   collectives' segment of the other three's communicator), in bursts at random moments,
 *   while the other three exchange messages around a ring, share a Queue and update an
 *   Array under its lock (and, for the collectives' segment, run an allreduce and a bcast
 *   at every step). Over that segment, some bursts instead set a rank's newest flag back
 *   by a lap of its lines, a forgery of the right form that random bytes seldom make and
 *   that only the rank itself can tell from the truth. Then it stays quiet until they are
 *   gone (or, with some seeds, exits 1 at once).
 *
 * - revoke: a rank whose job broke (it forged its own inbox) fails a send that its
 *   receiver is still to copy and writes over the buffer: the receiver must not get those
 *   bytes with TUBO_OK (messages of 40000 B, 300000 B and 1 MiB, single copy each way).
 *
 * - slow_claimer: not a rogue but its nearest honest neighbour, a sender that claims a
 *   position in an inbox and fills it seconds later (a machine crowded with ranks kept it
 *   off the processor); a rank that finalized behind it must not be taken for gone before
 *   its last message is read.
 *
 * What must hold: every other rank ends by itself, each call returning 0, TUBO_ECORRUPT,
 * TUBO_EPEER or TUBO_EABORT, and then says so; tuborun ends with the rogue's status (0, or
 * 1 when it exits 1), never with a crash of its own or of a rank. The bound on the time
 * is tuborun's --timeout: a job that reaches it (status 124) waited for ever. Bytes that
 * arrive changed are allowed only where the rogue wrote over what carries them (the rings,
 * the heap, the Queue, the collectives' segment): tubo keeps no checksums, so a message in
 * flight through memory a peer overwrites arrives as overwritten (doc/security.md). Where
 * nothing carries payloads (the control block, the channels' headers, the lock), every
 * message must arrive intact or not at all.
 *
 * TUBO_ROGUE_SEEDS sets the seeds per region (default 6), TUBO_ROGUE_ONLY=i runs only the
 * i-th job (region i / seeds, seed i % seeds), to look at one. The suite runs under
 * AddressSanitizer too (make check-asan), which would report any read or write outside
 * a buffer that garbage made a rank do. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coll/coll_shm.h"
#include "frame.h"
#include "harness.h"
#include "launch/jobctl.h"
#include "os/os.h"
#include "patterns/array.h"
#include "patterns/queue_layout.h"
#include "shm/shm_inbox.h"
#include "shm/shm_layout.h"
#include "shm/shm_ring.h"
#include "world.h"

/* ---- The job's memory, as a rank finds it ---- */

/* This process's descriptor of the job's memory: tubo_init made it close-on-exec and
 * removed TUBO_SHM_FD, but it is still open; it is the memfd named "tubo". */
static int rg_job_fd(void)
{
  DIR *d = opendir("/proc/self/fd");
  TH_CHECK(d != NULL, "expected to list /proc/self/fd");
  int found = -1;
  for (struct dirent *e; found < 0 && (e = readdir(d)) != NULL;) {
    char path[300], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0)
      continue;
    target[n] = '\0';
    if (strncmp(target, "/memfd:tubo", 11) == 0)
      found = atoi(e->d_name);
  }
  closedir(d);
  TH_CHECK(found >= 0, "expected the job's memfd among this process's descriptors");
  return found;
}

/* Maps the whole job memory of fd. */
static unsigned char *rg_map(int fd, size_t *len)
{
  struct stat st;
  TH_CHECK(fstat(fd, &st) == 0 && st.st_size > 0, "expected the job's memory to have a size");
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  TH_CHECK(p != MAP_FAILED, "expected to map the job's memory: %s", strerror(errno));
  *len = (size_t)st.st_size;
  return p;
}

/* Rank r's inbox in the job's memory m (len bytes, rg_map), where the layout of this job's
 * settings puts it; the layout in *L. */
static struct tubo__shm_inbox *rg_inbox(unsigned char *m, size_t len, int r, tubo__shm_layout_t *L)
{
  TH_OK(tubo__shm_layout_from_settings((uint32_t)th_size, L));
  TH_CHECK(L->total <= len, "expected the job's memory (%zu B) to hold the layout (%zu B)", len,
           L->total);
  return (void *)(m + tubo__shm_inbox_off(L, (uint32_t)r));
}

/* Reads the byte another process of the test writes on fd (a pipe the test made); what
 * names it. */
static void rg_read_byte(int fd, const char *what)
{
  char c;
  ssize_t n;
  while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
    ;
  TH_CHECK(n == 1, "rank %d: expected %s", th_rank, what);
}

/* A rank that tuborun stops (SIGTERM, after a rank died: doc/failures.md) says so before
 * it goes, so that a rank that crashed, which says nothing, is told apart from one that
 * was slow to notice on a loaded machine. */
static char rg_stopped_line[64];
static size_t rg_stopped_len;

static void rg_on_sigterm(int sig)
{
  (void)sig;
  ssize_t n = write(STDOUT_FILENO, rg_stopped_line, rg_stopped_len);
  (void)n;
  _exit(143);
}

static void rg_say_when_stopped(const char *what, int rank)
{
  snprintf(rg_stopped_line, sizeof rg_stopped_line, "%s rank %d: stopped by tuborun\n", what, rank);
  rg_stopped_len = strlen(rg_stopped_line);
  signal(SIGTERM, rg_on_sigterm);
}

/* Where the library maps the job's memory in this process: the mapping of the memfd
 * (/proc/self/maps) other than mine. */
static unsigned char *rg_lib_base(const unsigned char *mine)
{
  FILE *f = fopen("/proc/self/maps", "r");
  TH_CHECK(f != NULL, "expected to read /proc/self/maps");
  char line[512];
  unsigned char *found = NULL;
  while (found == NULL && fgets(line, sizeof line, f) != NULL) {
    unsigned long lo, hi, off;
    if (strstr(line, "/memfd:tubo") == NULL || sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) != 3)
      continue;
    if (off == 0 && (unsigned char *)lo != mine)
      found = (unsigned char *)lo;
  }
  fclose(f);
  TH_CHECK(found != NULL, "expected the library's mapping of the job's memory");
  return found;
}

/* ---- forge: the control block's rank count ---- */

/* The rank count's word: after the magic (8 bytes) and the version (4). */
static void rg_forge_nranks(unsigned char *ctl, uint32_t value)
{
  memcpy(ctl + offsetof(struct tubo__jobctl, nranks), &value, sizeof value);
}

/* The smallest reproducer: rank 1 overwrites the rank count (through TUBO_SHM_FD, read
 * before tubo_init removes it) and exits 1; rank 0 waits for a message from it. */
static void body_forge(void)
{
  const char *fdv = getenv("TUBO_SHM_FD");
  TH_CHECK(fdv != NULL, "expected TUBO_SHM_FD before tubo_init");
  int fd = atoi(fdv);
  TH_OK(tubo_init(NULL, NULL));
  TH_OK(tubo_comm_rank(TUBO_COMM_WORLD, &th_rank));
  if (th_rank == 1) {
    uint32_t *ctl = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    TH_CHECK(ctl != MAP_FAILED, "expected to map the control block");
    ctl[3] = 100; /* the control block's rank count */
    exit(1);
  }
  rg_say_when_stopped("forge:", 0);
  long x;
  TH_EXPECT_RC(tubo_recv(&x, 8, 1, 0, TUBO_COMM_WORLD, TUBO_STATUS_IGNORE), TUBO_EPEER);
  TH_EXPECT_RC(tubo_finalize(), TUBO_EPEER);
  printf("forge: rank 0 saw TUBO_EPEER\n");
}

/* Rank 1 sets the rank count to 2^31-1, tells rank 0, and waits; rank 0 then calls
 * tubo_abort, which wakes every rank. */
static void body_forge_abort(void)
{
  if (th_rank == 1) {
    size_t len;
    unsigned char *m = rg_map(rg_job_fd(), &len);
    rg_forge_nranks(m, 0x7fffffffu);
    TH_OK(tubo_send("x", 1, 0, 1, th_world));
    char c;
    int rc = tubo_recv(&c, 1, 0, 2, th_world, TUBO_STATUS_IGNORE);
    TH_CHECK(rc == TUBO_EABORT, "rank 1: expected TUBO_EABORT, got %s", tubo_err_name(rc));
    exit(0);
  }
  char c;
  TH_OK(tubo_recv(&c, 1, 1, 1, th_world, TUBO_STATUS_IGNORE));
  tubo_abort(th_world, 5);
}

/* A worker of tubo_spawn overwrites the rank count with 2^32-1 and exits 1. */
static int rg_spawn_worker(tubo_comm_t *comm, void *arg)
{
  (void)comm;
  (void)arg;
  size_t len;
  unsigned char *m = rg_map(rg_job_fd(), &len);
  rg_forge_nranks(m, 0xffffffffu);
  _exit(1);
}

/* The spawning process then waits for a message from it: it learns that it died. */
static void body_spawn_forge(void)
{
  TH_OK(tubo_init(NULL, NULL));
  tubo_comm_t *c = NULL;
  TH_OK(tubo_spawn(1, rg_spawn_worker, NULL, &c));
  long x;
  TH_EXPECT_RC(tubo_recv(&x, 8, 1, 0, c, TUBO_STATUS_IGNORE), TUBO_EPEER);
  int code = 0;
  TH_EXPECT_RC(tubo_spawn_join(&c, &code), TUBO_EPEER);
  TH_EQ("the worker's exit code", code, 1);
  TH_OK(tubo_finalize());
  printf("spawn_forge: the parent saw TUBO_EPEER\n");
}

/* ---- rogue: random bytes over a region while the others work ---- */

enum rg_region {
  RG_CTL,      /* the control block */
  RG_CHAN_HDR, /* the other ranks' inbox headers */
  RG_SLOTS,    /* their inbox slots */
  RG_DATA,     /* the channels between them, in the heap */
  RG_HEAP,     /* the part of the shared heap handed out (the Queue and the Array) */
  RG_QUEUE,    /* the Queue: its counters and cells */
  RG_LOCK,     /* the Array's header, its lock included */
  RG_COLL,     /* the shared-memory collectives' segment of the other ranks' communicator */
  RG_NREGIONS
};
static const char *const rg_region_names[RG_NREGIONS] = {"ctl",  "chan_hdr", "slots", "data",
                                                         "heap", "queue",    "lock",  "coll"};

/* Whether bytes of messages or items pass through the region (they may then arrive
 * changed). */
static int rg_carries_payload(int region)
{
  return region == RG_SLOTS || region == RG_DATA || region == RG_HEAP || region == RG_QUEUE ||
         region == RG_COLL;
}

#define RG_RANKS      4
#define RG_HONEST     (RG_RANKS - 1)
#define RG_PRE_ITERS  150 /* before the honest ranks wait for the rogue's first burst */
#define RG_POST_ITERS 150
#define RG_ITEM       24

/* A seeded generator (splitmix64). */
static uint64_t rg_next(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int rg_env_int(const char *name)
{
  const char *s = getenv(name);
  TH_CHECK(s != NULL && *s != '\0', "%s: expected in the environment (set by the test)", name);
  return atoi(s);
}

typedef struct rg_span {
  unsigned char *p;
  size_t len;
} rg_span_t;

#define RG_MAX_SPANS 64

/* Where the collectives' segment of the honest ranks' communicator lies, from the job
 * memory's start: its flags (the control line and every flag line), then its data slots. */
typedef struct rg_seg {
  uint64_t off, flags, bytes;
} rg_seg_t;

/* The spans of the region, in the rogue's own mapping m of the job's memory. */
static int rg_spans(int region, unsigned char *m, size_t mlen, tubo_queue_t *q, tubo_array_t *a,
                    const rg_seg_t *seg, rg_span_t *out)
{
  tubo__shm_layout_t L;
  TH_OK(tubo__shm_layout_from_settings(RG_RANKS, &L));
  TH_CHECK(L.total <= mlen, "expected the job's memory (%zu B) to hold the layout (%zu B)", mlen,
           L.total);
  int n = 0;
  if (region == RG_CTL) {
    out[n++] = (rg_span_t){m, L.ctl_bytes};
  } else if (region == RG_CHAN_HDR || region == RG_SLOTS) {
    for (uint32_t r = 0; r < RG_HONEST; r++) {
      unsigned char *ib = m + tubo__shm_inbox_off(&L, r);
      size_t hdr = tubo__shm_inbox_hdr_bytes(RG_RANKS);
      if (region == RG_CHAN_HDR)
        out[n++] = (rg_span_t){ib, hdr};
      else
        out[n++] = (rg_span_t){ib + hdr, (size_t)L.inbox_slots * 64u};
    }
  } else if (region == RG_HEAP) {
    /* From the heap's start (its own header) to the end of the last object in it: the
     * Queue's cells or the Array's elements, at the offsets the library's mapping has
     * them. */
    unsigned char *lib = rg_lib_base(m);
    size_t stride;
    const unsigned char *qs = (const unsigned char *)tubo__queue_shared(q, &stride);
    size_t qend = (size_t)(qs - lib) + QUEUE_CELLS + 64 * stride;
    size_t aend = (size_t)((const unsigned char *)tubo_array_data(a) - lib) + 8 * sizeof(long long);
    size_t end = qend > aend ? qend : aend;
    TH_CHECK(end > L.heap_off && end <= L.heap_off + L.heap_bytes,
             "expected the objects inside the heap, ending at %zu", end);
    out[n++] = (rg_span_t){m + L.heap_off, end - L.heap_off};
  } else if (region == RG_DATA) {
    /* The channels between the other ranks, whole: each was announced in its receiver's
     * inbox, whose slot still says where it is (shm_inbox.h). */
    for (uint32_t r = 0; r < RG_HONEST; r++) {
      struct tubo__shm_inbox *ib = (void *)(m + tubo__shm_inbox_off(&L, r));
      struct tubo__shm_inbox_slot *sl = tubo__shm_inbox_slots(ib, RG_RANKS);
      for (uint32_t i = 0; i < L.inbox_slots && n < RG_MAX_SPANS; i++)
        if (atomic_load(&sl[i].stamp) != 0 && sl[i].kind == TUBO__SHM_INBOX_CHAN &&
            sl[i].src < RG_HONEST && sl[i].off < L.heap_bytes &&
            L.chan_bytes <= L.heap_bytes - sl[i].off)
          out[n++] = (rg_span_t){m + L.heap_off + sl[i].off, L.chan_bytes};
    }
  } else if (region == RG_COLL) {
    TH_CHECK(seg->off + seg->bytes <= mlen && seg->flags < seg->bytes,
             "expected the collectives' segment (%llu B at %llu) inside the job's memory",
             (unsigned long long)seg->bytes, (unsigned long long)seg->off);
    out[n++] = (rg_span_t){m + seg->off, (size_t)seg->flags};
    out[n++] = (rg_span_t){m + seg->off + seg->flags, (size_t)(seg->bytes - seg->flags)};
  } else if (region == RG_QUEUE) {
    size_t stride;
    unsigned char *sh = (unsigned char *)tubo__queue_shared(q, &stride);
    out[n++] = (rg_span_t){sh, QUEUE_CELLS + 64 * stride};
  } else {
    unsigned char *data = tubo_array_data(a);
    out[n++] = (rg_span_t){data - TUBO__ARRAY_DATA_OFF, sizeof(tubo__array_head_t)};
  }
  return n;
}

/* One burst: random bytes over the whole region, or over a random window of it that
 * starts and ends on 64-byte lines. */
static void rg_burst(const rg_span_t *spans, int n, uint64_t *rnd)
{
  for (int i = 0; i < n; i++) {
    size_t lines = (spans[i].len + 63) / 64;
    size_t from = 0, to = lines;
    if (rg_next(rnd) % 2) {
      from = rg_next(rnd) % lines;
      to = from + 1 + rg_next(rnd) % (lines - from);
    }
    size_t end = to * 64 < spans[i].len ? to * 64 : spans[i].len;
    for (size_t k = from * 64; k < end; k += 8) {
      uint64_t v = rg_next(rnd);
      memcpy(spans[i].p + k, &v, end - k < 8 ? end - k : 8);
    }
  }
}

/* Sets an honest rank's newest flag in the collectives' segment back by a lap of its
 * lines (to a step the rank published before, or to 0): a value of the right form, which
 * only the rank itself can tell from the truth. */
static void rg_rewind(const rg_span_t *flags, uint64_t *rnd)
{
  int q = (int)(rg_next(rnd) % RG_HONEST);
  unsigned char *newest = NULL;
  uint32_t top = 0;
  for (uint32_t j = 0; j < SHMC_DEPTH; j++) {
    unsigned char *at =
        flags->p + SHMC_CTL_BYTES + ((size_t)j * RG_HONEST + (size_t)q) * sizeof(struct shmc_line);
    uint32_t v;
    memcpy(&v, at, sizeof v);
    if (newest == NULL || v > top) {
      newest = at;
      top = v;
    }
  }
  uint32_t back = top >= SHMC_DEPTH ? top - SHMC_DEPTH : 0;
  memcpy(newest, &back, sizeof back);
}

static void rg_sleep_us(uint64_t us)
{
  struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* The rogue: bursts at random moments, then tells the others it is done (sync pipe);
 * then exits 1 at once, or waits until every other rank is gone and exits 0. */
static void rg_rogue(int region, uint64_t seed, int die, int sync_w, tubo_queue_t *q,
                     tubo_array_t *a, const rg_seg_t *seg)
{
  size_t mlen;
  unsigned char *m = rg_map(rg_job_fd(), &mlen);
  pid_t pids[RG_HONEST];
  for (int r = 0; r < RG_HONEST; r++)
    pids[r] = (pid_t)atomic_load(&tubo__jobctl_rank((struct tubo__jobctl *)(void *)m, r)->pid);
  rg_span_t spans[RG_MAX_SPANS];
  int n = rg_spans(region, m, mlen, q, a, seg, spans);
  uint64_t rnd = seed * 0x2545f4914f6cdd1dull + 1;
  int bursts = 1 + (int)(rg_next(&rnd) % 3);
  for (int b = 0; b < bursts; b++) {
    rg_sleep_us(rg_next(&rnd) % 3000);
    /* Channels are made as the ranks talk: looked up again at each burst. */
    if (region == RG_DATA)
      n = rg_spans(region, m, mlen, q, a, seg, spans);
    if (region == RG_COLL && rg_next(&rnd) % 2)
      rg_rewind(&spans[0], &rnd);
    else
      rg_burst(spans, n, &rnd);
  }
  char go[RG_HONEST] = {0};
  TH_CHECK(write(sync_w, go, sizeof go) == (ssize_t)sizeof go, "expected to tell the others");
  if (die)
    _exit(1);
  for (int r = 0; r < RG_HONEST; r++)
    while (tubo__os_pid_alive(pids[r]))
      rg_sleep_us(2000);
  _exit(0); /* its own state is garbage too: it leaves without tubo_finalize */
}

/* What an honest rank saw. */
typedef struct rg_seen {
  int region;
  int first_err; /* the first error a call returned, or 0 */
  const char *op;
  int iter;
  int wrong; /* messages or items that arrived changed */
} rg_seen_t;

/* Takes a call's result: 0 goes on; an error the job may end with stops the work; any
 * other result is a violation. Returns whether to go on. */
static int rg_take(rg_seen_t *s, int rc, const char *op, int iter)
{
  if (rc == 0)
    return 1;
  int allowed = rc == TUBO_ECORRUPT || rc == TUBO_EPEER || rc == TUBO_EABORT;
  /* A length the rogue wrote into a frame or a cell can claim more than the buffer;
   * a lock word it overwrote is no longer this rank's to release. */
  if (rg_carries_payload(s->region) && rc == TUBO_ETRUNC)
    allowed = 1;
  if ((s->region == RG_LOCK || s->region == RG_HEAP) && rc == TUBO_EINVAL &&
      strcmp(op, "array_unlock") == 0)
    allowed = 1;
  if (!allowed)
    th_fail(__FILE__, __LINE__, "rogue-violation: %s at iteration %d returned %s", op, iter,
            tubo_err_name(rc));
  s->first_err = rc;
  s->op = op;
  s->iter = iter;
  return 0;
}

/* Sizes the ring exchange cycles through: inline, the data ring, several frames, single
 * copy where allowed. */
static const size_t rg_lens[] = {8, 40, 200, 3000, 20000, 70000, 300000};
#define RG_NLENS (sizeof rg_lens / sizeof rg_lens[0])

#define RG_COLL_BIG 2000 /* elements of the allreduce that goes through the data slots */

/* On the honest ranks' communicator c: a gatherv, a scatterv and an alltoallv, whose
 * writers state each block's way in the segment (in the records, now and then through the
 * slots: rank q's blocks are 8 (q + 1) bytes, at every fourth step 1000 times as many).
 * The bytes may arrive changed (the region carries them); the calls must end. */
static int rg_vforms_step(rg_seen_t *s, int i, tubo_comm_t *c, unsigned char *x, unsigned char *y)
{
  size_t unit = i % 4 == 0 ? 1000 : 1, cnt[RG_HONEST], dsp[RG_HONEST], at = 0;
  for (int q = 0; q < RG_HONEST; q++) {
    cnt[q] = 8 * unit * (size_t)(q + 1);
    dsp[q] = at;
    at += cnt[q];
  }
  size_t mine = cnt[th_rank], each[RG_HONEST], off[RG_HONEST];
  int root = (i + 1) % RG_HONEST;
  memset(x, th_rank, at);
  if (!rg_take(s, tubo_gatherv(x, mine, y, cnt, dsp, TUBO_BYTE, root, c), "gatherv", i))
    return 0;
  if (!rg_take(s, tubo_scatterv(y, cnt, dsp, x, mine, TUBO_BYTE, root, c), "scatterv", i))
    return 0;
  for (int q = 0; q < RG_HONEST; q++) {
    each[q] = mine;
    off[q] = (size_t)q * mine;
  }
  /* Rank q sends each rank its own count's bytes and receives cnt[p] from rank p. */
  return rg_take(s, tubo_alltoallv(x, each, off, y, cnt, dsp, TUBO_BYTE, c), "alltoallv", i);
}

/* On the honest ranks' communicator c: an allreduce of a few values (in the flag lines),
 * now and then one through the data slots, and a bcast from a rank that changes. Returns
 * whether to go on. */
static int rg_coll_step(rg_seen_t *s, int i, tubo_comm_t *c, long long *big, long long *sum)
{
  size_t n = i % 4 == 0 ? RG_COLL_BIG : 4;
  for (size_t e = 0; e < n; e++)
    big[e] = (long long)((i + 1) * (th_rank + 1)) * (long long)(e + 1);
  if (!rg_take(s, tubo_allreduce(big, sum, n, TUBO_LLONG, TUBO_SUM, c), "allreduce", i))
    return 0;
  /* The ranks' (th_rank + 1) add up to 6. */
  for (size_t e = 0; e < n; e++)
    if (sum[e] != (long long)((i + 1) * 6) * (long long)(e + 1)) {
      s->wrong++;
      break;
    }
  long long word = th_rank == i % RG_HONEST ? 1000 + i : -1;
  if (!rg_take(s, tubo_bcast(&word, 1, TUBO_LLONG, i % RG_HONEST, c), "bcast", i))
    return 0;
  if (word != 1000 + i)
    s->wrong++;
  return rg_vforms_step(s, i, c, (unsigned char *)big, (unsigned char *)sum);
}

/* One step of an honest rank: a ring exchange, a Queue item in and out, now and then an
 * Array update under its lock, and collectives on c where it is set. Returns whether to
 * go on. */
static int rg_step(rg_seen_t *s, int i, tubo_queue_t *q, tubo_array_t *a, tubo_comm_t *c,
                   unsigned char *sb, unsigned char *rb)
{
  int next = (th_rank + 1) % RG_HONEST, prev = (th_rank + RG_HONEST - 1) % RG_HONEST;
  size_t len = rg_lens[i % RG_NLENS];
  th_fill(sb, len, th_seed(th_rank, next, len, i));
  tubo_status_t st;
  if (!rg_take(s, tubo_sendrecv(sb, len, next, 9, rb, len, prev, 9, th_world, &st), "sendrecv", i))
    return 0;
  th_fill(sb, len, th_seed(prev, th_rank, len, i));
  if (st.length != len || memcmp(sb, rb, len) != 0)
    s->wrong++;
  unsigned char item[RG_ITEM], got[RG_ITEM];
  memset(item, 0, sizeof item);
  memcpy(item, "rogueitm", 8);
  item[8] = (unsigned char)th_rank;
  memcpy(item + 12, &i, sizeof i);
  if (!rg_take(s, tubo_queue_put(q, item, sizeof item, -1), "queue_put", i))
    return 0;
  size_t glen = 0;
  if (!rg_take(s, tubo_queue_get(q, got, sizeof got, &glen, -1), "queue_get", i))
    return 0;
  if (glen != sizeof got || memcmp(got, "rogueitm", 8) != 0 || got[8] >= RG_HONEST)
    s->wrong++;
  if (i % 8 == 0) {
    if (!rg_take(s, tubo_array_lock(a), "array_lock", i))
      return 0;
    ((long long *)tubo_array_data(a))[th_rank]++;
    if (!rg_take(s, tubo_array_unlock(a), "array_unlock", i))
      return 0;
  }
  if (c != NULL)
    return rg_coll_step(s, i, c, (long long *)(void *)sb, (long long *)(void *)rb);
  return 1;
}

/* For the region of the collectives' segment: the honest ranks get a communicator of their
 * own and run a first collective on it, which makes its segment; then rank 0 tells the
 * rogue where the segment lies (the rogue gets no communicator). */
static void rg_coll_setup(tubo_comm_t **c, rg_seg_t *seg)
{
  int honest = th_rank < RG_HONEST;
  TH_OK(tubo_comm_split(th_world, honest ? 0 : TUBO_UNDEFINED, th_rank, c));
  if (!honest) {
    TH_CHECK(*c == NULL, "rank %d: expected no communicator", th_rank);
    TH_OK(tubo_recv(seg, sizeof *seg, 0, 5, th_world, TUBO_STATUS_IGNORE));
    return;
  }
  TH_OK(tubo_barrier(*c));
  if (th_rank != 0)
    return;
  TH_CHECK((*c)->coll == &tubo__coll_shm, "expected the shared-memory collectives on one node");
  const shmc_t *sh = (*c)->coll_state;
  const unsigned char *lib = rg_lib_base(NULL);
  const unsigned char *end = sh->slots + 2 * (size_t)sh->P * sh->slot;
  seg->off = (uint64_t)((const unsigned char *)sh->ctl - lib);
  seg->flags = (uint64_t)((const unsigned char *)sh->slots - (const unsigned char *)sh->ctl);
  seg->bytes = (uint64_t)(end - (const unsigned char *)sh->ctl);
  TH_EQ("ranks of the segment", sh->P, RG_HONEST);
  TH_OK(tubo_send(seg, sizeof *seg, RG_RANKS - 1, 5, th_world));
}

static void body_rogue(void)
{
  TH_EQ("ranks", th_size, RG_RANKS);
  int region = rg_env_int("RG_REGION");
  uint64_t seed = (uint64_t)rg_env_int("RG_SEED");
  int die = rg_env_int("RG_DIE");
  int sync_r = rg_env_int("RG_SYNC_R"), sync_w = rg_env_int("RG_SYNC_W");
  tubo_queue_t *q = NULL;
  tubo_array_t *a = NULL;
  TH_OK(tubo_queue_open(th_world, 64, RG_ITEM, 0, &q));
  TH_OK(tubo_array_open(th_world, TUBO_LLONG, 8, &a));
  tubo_comm_t *hc = NULL;
  rg_seg_t seg = {0, 0, 0};
  if (region == RG_COLL)
    rg_coll_setup(&hc, &seg);
  /* The rogue may leave the barrier, and start writing, before the others do. */
  rg_seen_t s = {region, 0, "", -1, 0};
  int go = rg_take(&s, tubo_barrier(th_world), "barrier", -1);
  if (th_rank == RG_RANKS - 1)
    rg_rogue(region, seed, die, sync_w, q, a, &seg);
  close(sync_w);
  rg_say_when_stopped("rogue-result", th_rank);

  unsigned char *sb = th_malloc(rg_lens[RG_NLENS - 1]), *rb = th_malloc(rg_lens[RG_NLENS - 1]);
  for (int i = 0; go && i < RG_PRE_ITERS; i++)
    go = rg_step(&s, i, q, a, hc, sb, rb);
  if (go) {
    /* The second half runs over what the rogue left. */
    rg_read_byte(sync_r, "the rogue's word");
  }
  for (int i = RG_PRE_ITERS; go && i < RG_PRE_ITERS + RG_POST_ITERS; i++)
    go = rg_step(&s, i, q, a, hc, sb, rb);
  if (s.wrong > 0 && !rg_carries_payload(region))
    th_fail(__FILE__, __LINE__,
            "rogue-violation: %d messages or items arrived changed, though the rogue wrote "
            "over no memory that carries them (%s)",
            s.wrong, rg_region_names[region]);
  /* Freeing the handles touches the Array's lock; a rank that saw the job break leaves
   * them to the exit. */
  if (s.first_err == 0 && hc != NULL)
    rg_take(&s, tubo_comm_free(&hc), "comm_free", -1);
  if (s.first_err == 0) {
    TH_OK(tubo_queue_free(q));
    int rc = tubo_array_free(a);
    rg_take(&s, rc, "array_free", -1);
  }
  int fin = tubo_finalize();
  if (fin != 0 && fin != TUBO_ECORRUPT && fin != TUBO_EPEER && fin != TUBO_EABORT)
    th_fail(__FILE__, __LINE__, "rogue-violation: tubo_finalize returned %s", tubo_err_name(fin));
  printf("rogue-result rank %d: %s%s%s at iteration %d; %d changed; finalize %s\n", th_rank,
         s.first_err ? tubo_err_name(s.first_err) : "all done", s.first_err ? " from " : "", s.op,
         s.iter, s.wrong, tubo_err_name(fin));
  fflush(stdout);
  free(sb);
  free(rb);
  exit(0);
}

/* ---- A claim held long: a sender off the processor between its claim and its fill ---- */

/* Longer than a crowded machine is expected to keep a sender off the processor, shorter
 * than the inbox lets a claim stay unfilled (TUBO__SHM_INBOX_STALL_NS). */
#define RG_CLAIM_HOLD_US 2500000

/* Rank 2 claims a position in rank 0's inbox as a sender does, tells rank 1, and fills the
 * position only after a long while, as a sender that the machine kept off the processor
 * between the two. Rank 1 sends its last message to rank 0 (its frame lies behind that
 * position) and finalizes. Rank 0 must receive both messages: the end of rank 1 is not
 * recorded while a live rank may still fill the position ahead of its last frame. */
static void body_slow_claimer(void)
{
  const int tag = 7;
  long v = 0;
  if (th_rank == 2) {
    size_t len;
    unsigned char *m = rg_map(rg_job_fd(), &len);
    tubo__shm_layout_t L;
    struct tubo__shm_inbox *ib = rg_inbox(m, len, 0, &L);
    uint64_t pos = atomic_fetch_add(&ib->tail, 1);
    TH_OK(tubo_send("g", 1, 1, tag, th_world));
    rg_sleep_us(RG_CLAIM_HOLD_US);
    struct tubo__shm_inbox_slot *sl =
        &tubo__shm_inbox_slots(ib, (uint32_t)th_size)[pos & (L.inbox_slots - 1)];
    v = 2;
    sl->kind = TUBO__F_EAGER;
    sl->flags = 0;
    sl->ctx = TUBO__CTX_WORLD;
    sl->tag = tag;
    sl->len = sizeof v;
    sl->src = 2;
    sl->off = 0;
    memcpy(sl->inl, &v, sizeof v);
    atomic_store_explicit(&sl->stamp, (uint32_t)(pos + 1), memory_order_release);
    tubo__bell_ring(tubo__jobctl_rank((struct tubo__jobctl *)(void *)m, 0));
    return;
  }
  if (th_rank == 1) {
    char go;
    TH_OK(tubo_recv(&go, 1, 2, tag, th_world, TUBO_STATUS_IGNORE));
    v = 1;
    TH_OK(tubo_send(&v, sizeof v, 0, tag, th_world));
    return;
  }
  int rc = tubo_recv(&v, sizeof v, 1, tag, th_world, TUBO_STATUS_IGNORE);
  TH_CHECK(rc == 0 && v == 1,
           "rank 0: expected rank 1's last message (1), which waited behind a position rank 2 "
           "held claimed for %d ms, got %s and %ld",
           RG_CLAIM_HOLD_US / 1000, tubo_err_name(rc), v);
  rc = tubo_recv(&v, sizeof v, 2, tag, th_world, TUBO_STATUS_IGNORE);
  TH_CHECK(rc == 0 && v == 2,
           "rank 0: expected rank 2's message in the claimed position (2), got %s and %ld",
           tubo_err_name(rc), v);
  printf("slow_claimer: rank 0 received both\n");
}

/* ---- A send failed while its receiver is still to copy the buffer ---- */

/* Writes a byte on the pipe end named by the environment variable var. */
static void rv_send_byte(const char *var)
{
  TH_CHECK(write(rg_env_int(var), "g", 1) == 1, "rank %d: expected to write on %s", th_rank, var);
}

/* Rank 1 starts a send of RV_LEN bytes that rank 0 takes by single copy from rank 1's
 * memory, then forges its own inbox's tail (a count no sender leaves), so that its wait
 * for the send ends with TUBO_ECORRUPT; it writes over the buffer, as an application may
 * once the call returned, and only then lets rank 0 post its receive. Rank 0 must get the
 * message as sent or an error, never the bytes written after (before, it got them with
 * TUBO_OK). */
static void body_revoked(void)
{
  size_t n = (size_t)rg_env_int("RV_LEN");
  unsigned char *buf = th_malloc(n);
  uint32_t seed = th_seed(1, 0, n, 0);
  if (th_rank == 1) {
    th_fill(buf, n, seed);
    tubo_request_t *req;
    TH_OK(tubo_isend(buf, n, 0, 3, th_world, &req));
    size_t len;
    unsigned char *m = rg_map(rg_job_fd(), &len);
    tubo__shm_layout_t L;
    atomic_store(&rg_inbox(m, len, 1, &L)->tail, (uint64_t)1 << 62);
    int rc = tubo_wait(&req, TUBO_STATUS_IGNORE);
    TH_CHECK(rc == TUBO_ECORRUPT,
             "rank 1: expected its wait for the send to end with TUBO_ECORRUPT (its inbox's "
             "tail forged), got %s",
             tubo_err_name(rc));
    memset(buf, 'X', n);
    rv_send_byte("RV_TO0");
    rg_read_byte(rg_env_int("RV_FROM0"), "rank 0's word");
    (void)tubo_finalize();
    exit(0);
  }
  rg_read_byte(rg_env_int("RV_FROM1"), "rank 1's word");
  tubo_status_t st;
  int rc = tubo_recv(buf, n, 1, 3, th_world, &st);
  unsigned char *want = th_malloc(n);
  th_fill(want, n, seed);
  if (rc == 0)
    TH_CHECK(st.length == n && memcmp(buf, want, n) == 0,
             "rank 0: expected a receive that returns TUBO_OK to hold the %zu bytes as sent; "
             "it holds %s",
             n, buf[0] == 'X' ? "what rank 1 wrote after its send failed" : "other bytes");
  else
    TH_CHECK(rc == TUBO_EPEER || rc == TUBO_ECORRUPT,
             "rank 0: expected the message, TUBO_EPEER or TUBO_ECORRUPT, got %s",
             tubo_err_name(rc));
  printf("revoked: rank 0 got %s\n", rc == 0 ? "the message" : tubo_err_name(rc));
  fflush(stdout);
  rv_send_byte("RV_TO1");
  (void)tubo_finalize();
  free(want);
  exit(0);
}

/* ---- The suite ---- */

START_TEST(forge_crashes_nothing)
{
  const char *argv[] = {th_tuborun(), "-n",     "2",     "--timeout", "60",
                        "@self",      "--body", "forge", NULL};
  char *out = NULL;
  int st = th_run(argv, NULL, &out);
  ck_assert_msg(st == 1,
                "rank 1 overwrote the rank count and exited 1: expected tuborun to exit with 1 "
                "(139 was its crash), got %d; output:\n%s",
                st, out);
  /* Rank 0 sees TUBO_EPEER, or, on a machine too loaded for it to notice within tuborun's
   * grace, is stopped by tuborun's SIGTERM: either way it does not crash. */
  ck_assert_msg(strstr(out, "tuborun: rank 1 (pid ") != NULL &&
                    strstr(out, ") exited with status 1; stopping the job") != NULL &&
                    (strstr(out, "forge: rank 0 saw TUBO_EPEER") != NULL ||
                     strstr(out, "forge: rank 0: stopped by tuborun") != NULL),
                "expected tuborun to name rank 1 and rank 0 to see TUBO_EPEER; output:\n%s", out);
  free(out);
}
END_TEST

START_TEST(forge_then_abort)
{
  const char *argv[] = {th_tuborun(), "-n",     "2",           "--timeout", "60",
                        "@self",      "--body", "forge_abort", NULL};
  char *out = NULL;
  int st = th_run(argv, NULL, &out);
  ck_assert_msg(st == 5,
                "rank 0 called tubo_abort(5) after rank 1 overwrote the rank count: expected "
                "tuborun to exit with 5, got %d; output:\n%s",
                st, out);
  free(out);
}
END_TEST

START_TEST(forge_by_spawned_worker)
{
  const char *argv[] = {"@self", "--body", "spawn_forge", NULL};
  char *out = NULL;
  int st = th_run(argv, NULL, &out);
  ck_assert_msg(st == 0 && strstr(out, "spawn_forge: the parent saw TUBO_EPEER") != NULL,
                "a spawned worker overwrote the rank count and exited 1: expected its parent to "
                "see TUBO_EPEER and exit 0, got %d; output:\n%s",
                st, out);
  free(out);
}
END_TEST

START_TEST(slow_claimer)
{
  const char *argv[] = {th_tuborun(), "-n",           "3", "--timeout", "60", "@self",
                        "--body",     "slow_claimer", NULL};
  char *out = NULL;
  int st = th_run(argv, NULL, &out);
  ck_assert_msg(st == 0 && strstr(out, "slow_claimer: rank 0 received both") != NULL,
                "a sender held its claim in rank 0's inbox for %d ms: expected rank 0 to receive "
                "the message of a rank that finalized behind it and tuborun to exit 0, got %d; "
                "output:\n%s",
                RG_CLAIM_HOLD_US / 1000, st, out);
  free(out);
}
END_TEST

/* Sizes that take each single-copy path: a plain read (the threshold set to 16 KiB), a
 * message shared in halves, a split one. */
static const size_t rv_lens[] = {40000, 300000, 1 << 20};

START_TEST(revoked_buffer)
{
  int a[2], b[2];
  ck_assert_msg(pipe(a) == 0 && pipe(b) == 0, "pipe: %s", strerror(errno));
  char ev[6][64];
  snprintf(ev[0], sizeof ev[0], "RV_LEN=%zu", rv_lens[_i]);
  snprintf(ev[1], sizeof ev[1], "RV_TO0=%d", a[1]);
  snprintf(ev[2], sizeof ev[2], "RV_FROM1=%d", a[0]);
  snprintf(ev[3], sizeof ev[3], "RV_TO1=%d", b[1]);
  snprintf(ev[4], sizeof ev[4], "RV_FROM0=%d", b[0]);
  snprintf(ev[5], sizeof ev[5], "TUBO_SHM_RNDV_BYTES=16k");
  const char *env[] = {ev[0], ev[1], ev[2], ev[3], ev[4], ev[5], NULL};
  const char *argv[] = {th_tuborun(), "-n",     "2",       "--timeout", "60",
                        "@self",      "--body", "revoked", NULL};
  char *out = NULL;
  int st = th_run(argv, env, &out);
  for (int i = 0; i < 2; i++) {
    close(a[i]);
    close(b[i]);
  }
  ck_assert_msg(st == 0 && strstr(out, "revoked: rank 0 got TUBO_EPEER") != NULL,
                "%zu B: rank 1's send failed and it wrote over the buffer before rank 0 copied "
                "it: expected rank 0's receive to fail with TUBO_EPEER and tuborun to exit 0, "
                "got %d; output:\n%s",
                rv_lens[_i], st, out);
  free(out);
}
END_TEST

static int rg_seeds = 6;

START_TEST(rogue_job)
{
  const char *only = getenv("TUBO_ROGUE_ONLY");
  if (only != NULL && atoi(only) != _i)
    return;
  int region = _i / rg_seeds, seed = _i % rg_seeds;
  int die = seed % 4 == 3, small = seed % 2 == 1;
  int sync[2];
  ck_assert_msg(pipe(sync) == 0, "pipe: %s", strerror(errno));
  char ev[8][64];
  snprintf(ev[0], sizeof ev[0], "RG_REGION=%d", region);
  snprintf(ev[1], sizeof ev[1], "RG_SEED=%d", 1000 * region + seed);
  snprintf(ev[2], sizeof ev[2], "RG_DIE=%d", die);
  snprintf(ev[3], sizeof ev[3], "RG_SYNC_R=%d", sync[0]);
  snprintf(ev[4], sizeof ev[4], "RG_SYNC_W=%d", sync[1]);
  snprintf(ev[5], sizeof ev[5], "TUBO_SHM_SLOTS=%s", small ? "64" : "1024");
  snprintf(ev[6], sizeof ev[6], "TUBO_SHM_DATA_BYTES=%s", small ? "16k" : "64k");
  const char *env[] = {ev[0], ev[1], ev[2], ev[3], ev[4], ev[5], ev[6], NULL};
  const char *argv[] = {th_tuborun(), "-n",     "4",     "--timeout", "60",
                        "@self",      "--body", "rogue", NULL};
  char *out = NULL;
  int st = th_run(argv, env, &out);
  close(sync[0]);
  close(sync[1]);
  char what[160];
  snprintf(what, sizeof what, "region %s, seed %d%s%s", rg_region_names[region],
           1000 * region + seed, small ? ", small channels" : "", die ? ", the rogue exits 1" : "");
  ck_assert_msg(st != 124, "%s: the job waited for ever (tuborun --timeout 60); output:\n%s", what,
                out);
  ck_assert_msg(st == (die ? 1 : 0),
                "%s: expected tuborun to exit with the rogue's %d, got %d; output:\n%s", what,
                die ? 1 : 0, st, out);
  for (int r = 0; r < RG_HONEST; r++) {
    char line[64], stopped[64];
    snprintf(line, sizeof line, "rogue-result rank %d: ", r);
    snprintf(stopped, sizeof stopped, "rogue-result rank %d: stopped by tuborun", r);
    ck_assert_msg(strstr(out, line) != NULL,
                  "%s: expected rank %d to end by itself and say how; output:\n%s", what, r, out);
    /* Where the rogue dies, tuborun stops the job: a rank too slow to see it first (a
     * loaded machine) is stopped, which it says. Where the rogue lives on, nobody stops
     * the others: they end by themselves. */
    ck_assert_msg(die || strstr(out, stopped) == NULL,
                  "%s: rank %d was stopped by tuborun, though no rank failed; output:\n%s", what, r,
                  out);
  }
  ck_assert_msg(strstr(out, "rogue-violation") == NULL, "%s: output:\n%s", what, out);
  if (getenv("TH_TRACE") != NULL)
    fprintf(stderr, "%s:\n%s", what, out);
  free(out);
}
END_TEST

static Suite *rogue_suite(void)
{
  const char *n = getenv("TUBO_ROGUE_SEEDS");
  if (n != NULL && atoi(n) > 0)
    rg_seeds = atoi(n);
  Suite *s = suite_create("rogue");
  TCase *tc = th_tcase("forge");
  tcase_add_test(tc, forge_crashes_nothing);
  tcase_add_test(tc, forge_then_abort);
  tcase_add_test(tc, forge_by_spawned_worker);
  suite_add_tcase(s, tc);
  tc = th_tcase("claim");
  tcase_add_test(tc, slow_claimer);
  suite_add_tcase(s, tc);
  tc = th_tcase("revoke");
  tcase_add_loop_test(tc, revoked_buffer, 0, (int)(sizeof rv_lens / sizeof rv_lens[0]));
  suite_add_tcase(s, tc);
  tc = th_tcase("rogue");
  tcase_add_loop_test(tc, rogue_job, 0, RG_NREGIONS * rg_seeds);
  suite_add_tcase(s, tc);
  return s;
}

static const th_body_t bodies[] = {{"forge", body_forge, TH_SELF_INIT},
                                   {"forge_abort", body_forge_abort, 0},
                                   {"spawn_forge", body_spawn_forge, TH_SELF_INIT},
                                   {"rogue", body_rogue, 0},
                                   {"slow_claimer", body_slow_claimer, 0},
                                   {"revoked", body_revoked, 0},
                                   {NULL, NULL, 0}};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, rogue_suite);
}
