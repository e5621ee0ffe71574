/* SPDX-License-Identifier: MIT */
/* The measured choice between the channel and single copy (protocol.h). */
#include "config.h"

#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <hwloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "hash.h"
#include "os/os.h"
#include "settings.h"
#include "shm/shm_layout.h"
#include "shm/shm_split.h"
#include "size_text.h"

const size_t tubo__proto_sizes[TUBO__PROTO_NSIZES] = {TUBO__RNDV_SIZE(0), TUBO__RNDV_SIZE(1),
                                                      TUBO__RNDV_SIZE(2), TUBO__RNDV_SIZE(3)};

/* The cache file's first line: a new format is a new name, and old files are ignored. */
#define PROTO_CACHE_HEAD "tubo-protocol 4"
/* A file larger than this is no cache of ours. */
#define PROTO_CACHE_MAX 1024
/* Bytes moved per timed run, at least: every size repeats, as a stream does (one 4 MiB
 * message timed alone was noise: the start of either process weighed on it). */
#define PROTO_RUN_BYTES (8u << 20)
/* Timed runs per size and protocol, alternated; the fastest counts. */
#define PROTO_TRIALS 3
/* A measurement of a pair not done within TUBO_SHM_MEASURE_MS (a machine too busy to run
 * it) is given up: the job then starts with the rule rather than wait. */
#define PROTO_DEADLINE_MS_DEFAULT 1000u
#define PROTO_DEADLINE_MS_MAX     600000u

static const char *const proto_kind_names[TUBO__PAIR_KINDS] = {"l2", "l3", "package", "far"};

const char *tubo__proto_kind_name(int kind)
{
  return kind >= 0 && kind < TUBO__PAIR_KINDS ? proto_kind_names[kind] : "?";
}

/* The locality of the one processing unit pu (OS index). */
static void proto_locality_of_pu(tubo__topo_t *t, int pu, tubo__locality_t *loc)
{
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (set == NULL) {
    loc->l2 = loc->l3 = loc->numa = loc->package = loc->core = -1;
    return;
  }
  hwloc_bitmap_only(set, (unsigned)pu);
  tubo__topo_locality_of(t, set, loc);
  hwloc_bitmap_free(set);
}

static int proto_kind_of(const tubo__locality_t *a, const tubo__locality_t *b)
{
  return tubo__pair_kind(a->l2, a->l3, a->package, b->l2, b->l3, b->package);
}

void tubo__proto_pairs(tubo__topo_t *t, int a[TUBO__PAIR_KINDS], int b[TUBO__PAIR_KINDS])
{
  for (int k = 0; k < TUBO__PAIR_KINDS; k++)
    a[k] = b[k] = -1;
  hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(tubo__topo_hwloc(t));
  int first = hwloc_bitmap_first(allowed);
  if (first < 0)
    return;
  tubo__locality_t la, lb;
  proto_locality_of_pu(t, first, &la);
  /* Units of other cores first: two hardware threads of one core share more than an L2,
   * and stand for the kind only where no two cores share one. */
  for (int pass = 0; pass < 2; pass++) {
    int u;
    hwloc_bitmap_foreach_begin(u, allowed)
    {
      if (u == first)
        continue;
      proto_locality_of_pu(t, u, &lb);
      int same_core = la.core >= 0 && la.core == lb.core;
      if (same_core != pass)
        continue;
      int k = proto_kind_of(&la, &lb);
      if (a[k] < 0) {
        a[k] = first;
        b[k] = u;
      }
    }
    hwloc_bitmap_foreach_end();
  }
}

static uint64_t proto_hash_int(uint64_t h, long v)
{
  return tubo__fnv1a(h, &v, sizeof v);
}

/* Hashes the processor's model name, or nothing where the system does not say it. */
static uint64_t proto_hash_cpu(uint64_t h)
{
  char model[256];
  return tubo__os_cpu_model(model, sizeof model) == 0 ? tubo__fnv1a(h, model, strlen(model)) : h;
}

uint64_t tubo__proto_key(tubo__topo_t *t, size_t dbytes, size_t frame, size_t split_min)
{
  uint64_t h = tubo__fnv1a(TUBO__FNV_START, PROTO_CACHE_HEAD, sizeof PROTO_CACHE_HEAD);
  h = proto_hash_cpu(h);
  struct utsname u;
  if (uname(&u) == 0) {
    h = tubo__fnv1a(h, u.release, strlen(u.release));
    h = tubo__fnv1a(h, u.version, strlen(u.version));
  }
  h = proto_hash_int(h, (long)dbytes);
  h = proto_hash_int(h, (long)frame);
  h = proto_hash_int(h, (long)split_min);
  int pu;
  hwloc_bitmap_foreach_begin(pu, hwloc_topology_get_allowed_cpuset(tubo__topo_hwloc(t)))
  {
    tubo__locality_t l;
    proto_locality_of_pu(t, pu, &l);
    long words[] = {pu, l.l2, l.l3, l.package, l.core};
    h = tubo__fnv1a(h, words, sizeof words);
  }
  hwloc_bitmap_foreach_end();
  return h;
}

int tubo__proto_cache_path(char *buf, size_t n, uint64_t key)
{
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int len;
  if (xdg != NULL && xdg[0] == '/')
    len = snprintf(buf, n, "%s/tubo/protocol-%016llx", xdg, (unsigned long long)key);
  else if (home != NULL && home[0] == '/')
    len = snprintf(buf, n, "%s/.cache/tubo/protocol-%016llx", home, (unsigned long long)key);
  else
    return -1;
  return len > 0 && (size_t)len < n ? 0 : -1;
}

/* A choice as the cache writes it: one letter per size measured, in order, 's' where
 * single copy won and 'c' where the channel did ("ccsc": single copy at 1 MiB only). */
static void proto_format_choice(uint32_t cma, char out[TUBO__PROTO_NSIZES + 1])
{
  for (int i = 0; i < TUBO__PROTO_NSIZES; i++)
    out[i] = cma & (1u << i) ? 's' : 'c';
  out[TUBO__PROTO_NSIZES] = '\0';
}

/* Parses a choice as proto_format_choice writes it. Returns 0 or -1. */
static int proto_parse_choice(const char *s, uint32_t *v)
{
  if (strlen(s) != TUBO__PROTO_NSIZES || strspn(s, "cs") != TUBO__PROTO_NSIZES)
    return -1;
  *v = TUBO__RNDV_KNOWN;
  for (int i = 0; i < TUBO__PROTO_NSIZES; i++)
    if (s[i] == 's')
      *v |= 1u << i;
  return 0;
}

int tubo__proto_cache_read(const char *path, uint64_t key, tubo__proto_t *p)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return -1;
  char buf[PROTO_CACHE_MAX + 1];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0 || n > PROTO_CACHE_MAX || buf[n - 1] != '\n' || memchr(buf, '\0', (size_t)n))
    return -1;
  buf[n] = '\0';
  uint32_t got[TUBO__PAIR_KINDS] = {0};
  char *save = NULL;
  char *line = strtok_r(buf, "\n", &save);
  if (line == NULL || strcmp(line, PROTO_CACHE_HEAD) != 0)
    return -1;
  char want[40];
  snprintf(want, sizeof want, "key %016llx", (unsigned long long)key);
  line = strtok_r(NULL, "\n", &save);
  if (line == NULL || strcmp(line, want) != 0)
    return -1;
  /* The load it was measured at: "load N", N in hundredths, up to 8 digits. */
  line = strtok_r(NULL, "\n", &save);
  size_t digits =
      line != NULL && strncmp(line, "load ", 5) == 0 ? strspn(line + 5, "0123456789") : 0;
  if (digits == 0 || digits > 8 || line[5 + digits] != '\0')
    return -1;
  uint32_t load = (uint32_t)strtoul(line + 5, NULL, 10);
  int any = 0;
  while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
    char name[16], val[24], rest[2];
    if (sscanf(line, "kind %15s %23s %1s", name, val, rest) != 2)
      return -1;
    int k = 0;
    while (k < TUBO__PAIR_KINDS && strcmp(name, proto_kind_names[k]) != 0)
      k++;
    uint32_t v;
    if (k == TUBO__PAIR_KINDS || got[k] != 0 || proto_parse_choice(val, &v) != 0)
      return -1;
    got[k] = v;
    any = 1;
  }
  if (!any)
    return -1;
  for (int k = 0; k < TUBO__PAIR_KINDS; k++)
    if (got[k] != 0) {
      p->cma[k] = got[k];
      p->source[k] = TUBO__RNDV_FROM_CACHE;
    }
  p->load_centi = load;
  return 0;
}

int tubo__proto_cache_write(const char *path, uint64_t key, const tubo__proto_t *p)
{
  char dir[4096], tmp[4096 + 32];
  size_t len = strlen(path);
  if (len >= sizeof dir)
    return -1;
  memcpy(dir, path, len + 1);
  /* Makes .../tubo, and .cache above it where that is missing. */
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    return -1;
  *slash = '\0';
  if (mkdir(dir, 0700) != 0 && errno == ENOENT) {
    char *up = strrchr(dir, '/');
    if (up != NULL && up != dir) {
      *up = '\0';
      (void)mkdir(dir, 0700);
      *up = '/';
    }
    (void)mkdir(dir, 0700);
  }
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  char buf[PROTO_CACHE_MAX];
  int n = snprintf(buf, sizeof buf, "%s\nkey %016llx\nload %u\n", PROTO_CACHE_HEAD,
                   (unsigned long long)key, p->load_centi);
  for (int k = 0; k < TUBO__PAIR_KINDS; k++) {
    if (!(p->cma[k] & TUBO__RNDV_KNOWN))
      continue;
    char choice[TUBO__PROTO_NSIZES + 1];
    proto_format_choice(p->cma[k], choice);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "kind %s %s\n", proto_kind_names[k], choice);
  }
  int ok = write(fd, buf, (size_t)n) == n;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

uint32_t tubo__proto_load_now(void)
{
  double load;
  return tubo__os_load_average(&load) == 0 ? (uint32_t)(load * 100 + 0.5) : 0;
}

/* The shared page of a measurement: the reader (the measuring process) and the sender (its
 * child) each write their own line. */
struct proto_shared {
  /* reader: seq << 40 | reps << 32 | bytes << 8 | op (bytes < 16 MiB, reps < 256) */
  _Alignas(64) _Atomic uint64_t cmd;
  _Alignas(64) _Atomic uint64_t done; /* sender: the seq it finished */
  _Atomic uint64_t tail;              /* sender: frames put in the ring */
  uint64_t src;                       /* sender: its buffer's address */
  uint64_t dst;                       /* reader: its buffer's address */
  _Atomic uint64_t dhead;             /* reader: data ring bytes released */
  /* A split single copy: the message's number << 32 | chunks taken (both claim), chunks
   * copied (both count), and 1 + a chunk the sender could not write (the reader redoes it). */
  _Alignas(64) _Atomic uint64_t claim;
  _Alignas(64) _Atomic uint64_t cdone;
  _Atomic uint32_t redo;
  _Alignas(64) double ring[TUBO__PROTO_NSIZES], cma[TUBO__PROTO_NSIZES];
  _Atomic int32_t ok;
};

enum {
  PROTO_OP_RING = 1,
  PROTO_OP_CMA = 2,
  PROTO_OP_QUIT = 3,
  PROTO_OP_READY = 4,
  PROTO_OP_SPLIT = 5
};

/* The number of a split message that says the run is over. */
#define PROTO_SPLIT_END UINT32_MAX

typedef struct proto_run {
  struct proto_shared *sh;
  unsigned char *ring; /* dbytes */
  size_t dbytes, frame;
  unsigned char *buf; /* the largest size */
  uint64_t deadline;
  pid_t peer; /* the other process */
  /* This side's place in the ring: frames put or taken, data ring bytes used or released,
   * what it last published and last read of the other's count. */
  uint64_t pos, dpos, dpub, seen;
  uint32_t mseq;    /* the reader: split messages begun */
  int write_denied; /* the sender: a process_vm_writev failed, it copies no more */
} proto_run_t;

/* Whether the measurement ran out of time; looked at every thousand spins, where the
 * spinner also yields: on a busy machine the peer it waits for may need its processor. */
static int proto_late(const proto_run_t *r, unsigned *spins)
{
  if ((++*spins & 1023u) != 0)
    return 0;
  sched_yield();
  return tubo__os_now_ns() > r->deadline;
}

/* One side of reps streamed messages of n bytes, laid out as the library's channel lays
 * them (lib/send.c, shm_transport.c's shm_push): a message of at most a frame in one
 * frame, a longer one as a first frame of its 8-byte header (struct tubo__f_first) and
 * the message's first frame - 8 bytes, then frames of up to a frame. Each frame lies at a
 * 64-byte multiple of the data ring, at its start where it would cross the ring's end;
 * the reader releases them every quarter ring and whenever it waits, as the receiver
 * does (shm_consume, and its answer to a sender that wants room). The header puts every
 * later frame of the message 8 bytes off the ring's alignment, which on the 2-vCPU VM of
 * doc/benchmarks.md halves the rate of both copies between two cores
 * (doc/large-messages.md). Both sides compute every frame's place from the lengths. */
static int proto_ring(proto_run_t *r, size_t n, unsigned reps, int send)
{
  struct proto_shared *sh = r->sh;
  unsigned spins = 0;
  for (unsigned i = 0; i < reps; i++)
    for (size_t off = 0; off < n;) {
      size_t hdr = n > r->frame && off == 0 ? sizeof(struct tubo__f_first) : 0;
      size_t len = n - off + hdr < r->frame ? n - off + hdr : r->frame;
      size_t need = (len + 63) & ~(size_t)63, at = (size_t)(r->dpos % r->dbytes);
      size_t skip = at + need > r->dbytes ? r->dbytes - at : 0;
      /* The sender waits for room, the reader for a frame. */
      while (send ? r->dpos + skip + need - r->seen > r->dbytes : r->pos == r->seen) {
        if (!send && r->dpub != r->dpos) {
          atomic_store_explicit(&sh->dhead, r->dpos, memory_order_release);
          r->dpub = r->dpos;
        }
        r->seen = atomic_load_explicit(send ? &sh->dhead : &sh->tail, memory_order_acquire);
        if (proto_late(r, &spins))
          return -1;
      }
      unsigned char *slot = r->ring + (skip ? 0 : at);
      if (send) {
        struct tubo__f_first h = {n};
        if (hdr)
          memcpy(slot, &h, hdr);
        memcpy(slot + hdr, r->buf + off, len - hdr);
      } else {
        memcpy(r->buf + off, slot + hdr, len - hdr);
      }
      off += len - hdr;
      r->dpos += skip + need;
      r->pos++;
      if (send) {
        atomic_store_explicit(&sh->tail, r->pos, memory_order_release);
      } else if (r->dpos - r->dpub >= r->dbytes / 4) {
        atomic_store_explicit(&sh->dhead, r->dpos, memory_order_release);
        r->dpub = r->dpos;
      }
    }
  return 0;
}

/* Takes the next chunk of split message seq of nch chunks. Returns it, or nch where none
 * is left (or the message is another one). */
static uint32_t proto_claim(struct proto_shared *sh, uint32_t seq, uint32_t nch)
{
  uint64_t w = atomic_load_explicit(&sh->claim, memory_order_acquire);
  do {
    if ((uint32_t)(w >> 32) != seq || (uint32_t)w >= nch)
      return nch;
  } while (!atomic_compare_exchange_weak_explicit(&sh->claim, &w, w + 1, memory_order_acq_rel,
                                                  memory_order_acquire));
  return (uint32_t)w;
}

/* The sender's part of split single copies of n bytes, until the reader says the run is
 * over: the chunks it takes of each message it finds begun, written into the reader's
 * buffer with process_vm_writev (as tubo__shm_split_help). */
static int proto_split_write(proto_run_t *r, size_t n)
{
  struct proto_shared *sh = r->sh;
  uint32_t nch = tubo__shm_split_chunks(n), last = 0;
  unsigned spins = 0;
  for (;;) {
    uint32_t seq = (uint32_t)(atomic_load_explicit(&sh->claim, memory_order_acquire) >> 32);
    if (seq == PROTO_SPLIT_END)
      return 0;
    if (seq == 0 || seq == last || r->write_denied) {
      if (proto_late(r, &spins))
        return -1;
      continue;
    }
    last = seq;
    uint32_t k;
    while ((k = proto_claim(sh, seq, nch)) < nch) {
      size_t len, at = tubo__shm_split_range(n, k, &len);
      if (tubo__os_peer_write(r->peer, sh->dst + at, r->buf + at, len) != 0) {
        /* As the library's sender: the reader copies this chunk, and the others left. */
        atomic_store_explicit(&sh->redo, k + 1, memory_order_relaxed);
        r->write_denied = 1;
        atomic_fetch_add_explicit(&sh->cdone, 1, memory_order_release);
        break;
      }
      atomic_fetch_add_explicit(&sh->cdone, 1, memory_order_release);
    }
  }
}

/* The reader's part of one split single copy of n bytes (as tubo__shm_split_read): begins
 * the message, reads the chunks it takes, waits for the sender's. Returns 0 or -1. */
static int proto_split_read(proto_run_t *r, size_t n)
{
  struct proto_shared *sh = r->sh;
  uint32_t nch = tubo__shm_split_chunks(n), seq = ++r->mseq, k;
  atomic_store_explicit(&sh->cdone, (uint64_t)seq << 32, memory_order_relaxed);
  atomic_store_explicit(&sh->redo, 0, memory_order_relaxed);
  atomic_store_explicit(&sh->claim, (uint64_t)seq << 32, memory_order_release);
  int rc = 0;
  while ((k = proto_claim(sh, seq, nch)) < nch) {
    size_t len, at = tubo__shm_split_range(n, k, &len);
    if (rc == 0)
      rc = tubo__os_peer_read(r->peer, sh->src + at, r->buf + at, len);
    atomic_fetch_add_explicit(&sh->cdone, 1, memory_order_release);
  }
  unsigned spins = 0;
  while (rc == 0 &&
         atomic_load_explicit(&sh->cdone, memory_order_acquire) != ((uint64_t)seq << 32 | nch))
    if (proto_late(r, &spins))
      rc = -1;
  uint32_t redo = atomic_load_explicit(&sh->redo, memory_order_relaxed);
  /* A chunk the sender names is one of this message's, or the measurement fails. */
  if (rc == 0 && redo > nch)
    rc = -1;
  if (rc == 0 && redo != 0) {
    size_t len, at = tubo__shm_split_range(n, redo - 1, &len);
    rc = tubo__os_peer_read(r->peer, sh->src + at, r->buf + at, len);
  }
  return rc == 0 ? 0 : -1;
}

/* The sender: fills its buffer, says where it is, then follows the reader's commands. */
static _Noreturn void proto_sender(proto_run_t *r, size_t most)
{
  struct proto_shared *sh = r->sh;
  memset(r->buf, 0x5a, most);
  sh->src = (uint64_t)(uintptr_t)r->buf;
  atomic_store_explicit(&sh->done, PROTO_OP_READY, memory_order_release);
  uint64_t seen = 0;
  unsigned spins = 0;
  for (;;) {
    uint64_t c = atomic_load_explicit(&sh->cmd, memory_order_acquire);
    if (c == seen) {
      if (proto_late(r, &spins))
        _exit(1);
      continue;
    }
    seen = c;
    unsigned op = (unsigned)(c & 0xff);
    size_t n = (size_t)(c >> 8 & 0xffffffu);
    unsigned reps = (unsigned)(c >> 32 & 0xffu);
    if (op == PROTO_OP_QUIT)
      _exit(0);
    if (op == PROTO_OP_RING && proto_ring(r, n, reps, 1) != 0)
      _exit(1);
    if (op == PROTO_OP_SPLIT && proto_split_write(r, n) != 0)
      _exit(1);
    /* Unsplit single copy: the sender waits, as a sender whose message is read does. */
    atomic_store_explicit(&sh->done, c, memory_order_release);
  }
}

/* Tells the sender to do op for reps messages of n bytes and waits until it has (the
 * reader's part runs in between, through part). Returns the time taken, or 0 when late. */
static uint64_t proto_timed(proto_run_t *r, unsigned op, size_t n, unsigned reps, uint64_t *seq,
                            pid_t sender)
{
  struct proto_shared *sh = r->sh;
  /* The sequence number makes every command differ from the one before. */
  uint64_t c = ++*seq << 40 | (uint64_t)reps << 32 | (uint64_t)n << 8 | op;
  /* No message of a split run before it is begun: the sender waits for the first. */
  atomic_store_explicit(&sh->claim, 0, memory_order_relaxed);
  uint64_t t0 = tubo__os_now_ns();
  atomic_store_explicit(&sh->cmd, c, memory_order_release);
  int rc = 0;
  if (op == PROTO_OP_RING) {
    rc = proto_ring(r, n, reps, 0);
  } else if (op == PROTO_OP_SPLIT) {
    for (unsigned i = 0; i < reps && rc == 0; i++)
      rc = proto_split_read(r, n);
    atomic_store_explicit(&sh->claim, (uint64_t)PROTO_SPLIT_END << 32, memory_order_release);
  } else {
    for (unsigned i = 0; i < reps && rc == 0; i++)
      rc = tubo__os_peer_read(sender, sh->src, r->buf, n);
  }
  unsigned spins = 0;
  while (rc == 0 && atomic_load_explicit(&sh->done, memory_order_acquire) != c)
    if (proto_late(r, &spins))
      rc = -1;
  uint64_t t = tubo__os_now_ns() - t0;
  return rc == 0 ? (t ? t : 1) : 0;
}

/* The single copy of n bytes as the library makes it: split or whole. The sizes measured
 * end at TUBO__SPLIT_MAX (4 MiB), below the sender's choice of split or whole for longer
 * messages, which the ranks make themselves. */
_Static_assert(TUBO__RNDV_SIZE(TUBO__PROTO_NSIZES - 1) <= TUBO__SPLIT_MAX,
               "a size measured would be split as the sender chooses");
static unsigned proto_cma_op(size_t n, size_t split_min)
{
  return tubo__shm_split_wanted(n, split_min, 0) ? PROTO_OP_SPLIT : PROTO_OP_CMA;
}

/* The reader: starts the sender on unit b, then times both protocols at every size. */
static _Noreturn void proto_reader(tubo__topo_t *t, proto_run_t *r, int b, size_t split_min)
{
  struct proto_shared *sh = r->sh;
  size_t most = tubo__proto_sizes[TUBO__PROTO_NSIZES - 1];
  hwloc_topology_t h = tubo__topo_hwloc(t);
  pid_t self = getpid();
  sh->dst = (uint64_t)(uintptr_t)r->buf;
  /* Where a security module lets only ancestors reach a process's memory, the sender (a
   * descendant) may write this one's, as a rank may write its peer's. */
  tubo__os_allow_peer_reads(self);
  pid_t sender = fork();
  if (sender < 0)
    _exit(1);
  if (sender == 0) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (set == NULL || tubo__os_die_with_parent(self) != 0)
      _exit(1);
    hwloc_bitmap_only(set, (unsigned)b);
    if (hwloc_set_cpubind(h, set, HWLOC_CPUBIND_PROCESS) != 0)
      _exit(1);
    r->peer = self;
    proto_sender(r, most);
  }
  r->peer = sender;
  memset(r->buf, 0, most);
  unsigned spins = 0;
  int ok = 1;
  while (atomic_load_explicit(&sh->done, memory_order_acquire) != PROTO_OP_READY)
    if (proto_late(r, &spins)) {
      ok = 0;
      break;
    }
  uint64_t seq = 0;
  /* A first pass of each, untimed: the pages of both buffers and the ring are mapped, and
   * the kernel's path of the single copy is warm. */
  if (ok)
    ok = proto_timed(r, PROTO_OP_RING, most, 1, &seq, sender) &&
         proto_timed(r, proto_cma_op(most, split_min), most, 1, &seq, sender);
  for (int i = 0; ok && i < TUBO__PROTO_NSIZES; i++) {
    size_t n = tubo__proto_sizes[i];
    unsigned reps = n >= PROTO_RUN_BYTES ? 1u : (unsigned)(PROTO_RUN_BYTES / n);
    uint64_t best_ring = UINT64_MAX, best_cma = UINT64_MAX;
    for (int trial = 0; ok && trial < PROTO_TRIALS; trial++) {
      uint64_t a = proto_timed(r, PROTO_OP_RING, n, reps, &seq, sender);
      uint64_t c = proto_timed(r, proto_cma_op(n, split_min), n, reps, &seq, sender);
      ok = a != 0 && c != 0;
      best_ring = a < best_ring ? a : best_ring;
      best_cma = c < best_cma ? c : best_cma;
    }
    if (ok) {
      sh->ring[i] = (double)n * reps / (double)best_ring;
      sh->cma[i] = (double)n * reps / (double)best_cma;
    }
  }
  atomic_store_explicit(&sh->cmd, PROTO_OP_QUIT, memory_order_release);
  if (!ok)
    kill(sender, SIGKILL);
  int st;
  while (waitpid(sender, &st, 0) < 0 && errno == EINTR)
    ;
  atomic_store(&sh->ok, ok);
  _exit(0);
}

/* Measures the pair of units a, b into ring[] and cma[] (GB/s). Returns 0 or -1. */
static int proto_measure_pair(tubo__topo_t *t, int a, int b, size_t dbytes, size_t frame,
                              size_t split_min, double *ring, double *cma)
{
  size_t most = tubo__proto_sizes[TUBO__PROTO_NSIZES - 1];
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  /* The ring's data lies where the channel's does in a page: after the channel's header
   * and its slots (whole pages, shm_layout.h). Its place against the buffers' matters: 8
   * bytes past them in a page (the page-aligned buffers of a message's later frames),
   * both copies ran a third of the rate (doc/large-messages.md). */
  size_t hdr = (sizeof(struct proto_shared) + page - 1) / page * page;
  size_t shared = hdr + TUBO__SHM_CHAN_HDR + dbytes;
  void *mem = mmap(NULL, shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return -1;
  /* Each process allocates its buffer after the fork: private pages, as a rank's. */
  proto_run_t r = {.sh = mem,
                   .ring = (unsigned char *)mem + hdr + TUBO__SHM_CHAN_HDR,
                   .dbytes = dbytes,
                   .frame = frame,
                   .deadline = tubo__os_now_ns() + tubo__setting_u64("TUBO_SHM_MEASURE_MS",
                                                                     PROTO_DEADLINE_MS_DEFAULT, 1,
                                                                     PROTO_DEADLINE_MS_MAX) *
                                                       1000000u};
  int rc = -1;
  pid_t self = getpid();
  pid_t reader = fork();
  if (reader == 0) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    r.buf = mmap(NULL, most, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (set == NULL || r.buf == MAP_FAILED || tubo__os_die_with_parent(self) != 0)
      _exit(1);
    hwloc_bitmap_only(set, (unsigned)a);
    if (hwloc_set_cpubind(tubo__topo_hwloc(t), set, HWLOC_CPUBIND_PROCESS) != 0)
      _exit(1);
    proto_reader(t, &r, b, split_min);
  }
  if (reader > 0) {
    int st;
    while (waitpid(reader, &st, 0) < 0 && errno == EINTR)
      ;
    struct proto_shared *sh = mem;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && atomic_load(&sh->ok)) {
      for (int i = 0; i < TUBO__PROTO_NSIZES; i++) {
        ring[i] = sh->ring[i];
        cma[i] = sh->cma[i];
      }
      rc = 0;
    }
  }
  munmap(mem, shared);
  return rc;
}

uint32_t tubo__proto_choice(const double *ring, const double *cma)
{
  uint32_t v = TUBO__RNDV_KNOWN;
  for (int i = 0; i < TUBO__PROTO_NSIZES; i++)
    if (cma[i] > ring[i])
      v |= 1u << i;
  return v;
}

/* Appends the sizes measured whose bit in cma equals want, comma-separated, to buf at *at. */
static void proto_append_sizes(uint32_t cma, uint32_t want, char *buf, size_t n, size_t *at)
{
  const char *sep = "";
  for (int i = 0; i < TUBO__PROTO_NSIZES; i++) {
    if (((cma >> i) & 1u) != want)
      continue;
    char sz[32];
    tubo__size_text(tubo__proto_sizes[i], sz, sizeof sz);
    int w = snprintf(buf + *at, n - *at, "%s%s", sep, sz);
    *at = w < 0 || (size_t)w >= n - *at ? n - 1 : *at + (size_t)w;
    sep = ", ";
  }
}

void tubo__proto_choice_text(uint32_t cma, char *buf, size_t n)
{
  uint32_t all = (1u << TUBO__PROTO_NSIZES) - 1, s = cma & all;
  if (n == 0)
    return;
  buf[0] = '\0';
  if (s == all || s == 0) {
    snprintf(buf, n, "%s at every size measured", s ? "single copy" : "channel");
    return;
  }
  size_t at = (size_t)snprintf(buf, n, "single copy at ");
  if (at >= n)
    return;
  proto_append_sizes(s, 1, buf, n, &at);
  int w = snprintf(buf + at, n - at, "; channel at ");
  if (w < 0 || (size_t)w >= n - at)
    return;
  at += (size_t)w;
  proto_append_sizes(s, 0, buf, n, &at);
}

unsigned tubo__proto_measure(tubo__topo_t *t, unsigned mask, size_t dbytes, size_t frame,
                             size_t split_min, tubo__proto_t *p)
{
  if (frame == 0 || dbytes < 2 * frame)
    return 0;
  int a[TUBO__PAIR_KINDS], b[TUBO__PAIR_KINDS];
  tubo__proto_pairs(t, a, b);
  unsigned done = 0;
  for (int k = 0; k < TUBO__PAIR_KINDS; k++) {
    if (!(mask & (1u << k)) || a[k] < 0)
      continue;
    double *ring = p->ring_gbps[k], *cma = p->cma_gbps[k];
    if (proto_measure_pair(t, a[k], b[k], dbytes, frame, split_min, ring, cma) != 0)
      continue;
    p->cma[k] = tubo__proto_choice(ring, cma);
    p->source[k] = TUBO__RNDV_FROM_MEASURED;
    uint32_t load = tubo__proto_load_now();
    p->load_centi = load > p->load_centi ? load : p->load_centi;
    done |= 1u << k;
  }
  return done;
}
