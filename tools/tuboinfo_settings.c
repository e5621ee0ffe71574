/* SPDX-License-Identifier: MIT */
/* tuboinfo: the TUBO_* settings in effect, each with where its value comes from, and the
 * protocol thresholds they give for the job tuborun -n N would start. The library reads
 * each setting where it uses it (doc/settings.md lists them); the table below names the
 * same bounds and defaults, and tests/check_tuboinfo.sh fails when a setting the library
 * reads is missing from it. */
#include "config.h"

#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt.h"
#include "launch/jobctl.h"
#include "launch/launch.h"
#include "mpi/mpi_world.h"
#include "pipe/pipe_wire.h"
#include "settings.h"
#include "shm/shm_inbox.h"
#include "coll/coll_shm.h"
#include "shm/shm_layout.h"
#include "shm/shm_ring.h"
#include "shm/shm_split.h"
#include "size_text.h"
#include "tuboinfo.h"

/* A numeric setting: its bounds, and its default where one number is the default (0 with
 * a text where the library computes it). */
typedef struct info_setting {
  const char *name;
  uint64_t dflt, lo, hi;
  const char *computed; /* the default in words, or NULL */
  const char *what;
} info_setting_t;

static const info_setting_t info_settings[] = {
    {"TUBO_SPIN_NS", TUBO__SPIN_NS_DEFAULT, 0, TUBO__SPIN_NS_MAX, NULL,
     "how long a waiting rank with a processing unit of its own polls before it sleeps (ns)"},
    {"TUBO_SPIN_PAUSE", 2, 0, 2, NULL,
     "a blocking receive polls its slot 0 plainly, 1 with PAUSE, 2 plainly on Intel's"},
    {"TUBO_YIELD_NS", TUBO__YIELD_NS_DEFAULT, 0, TUBO__SPIN_NS_MAX, NULL,
     "ranks sharing units: longest a waiting rank polls and yields before it sleeps (ns)"},
    {"TUBO_YIELD_WHEN_IDLE", 2, 0, 2, NULL,
     "0: waiting ranks never yield, 1: always, 2: when ranks outnumber processing units"},
    {"TUBO_SLEEP_MS", TUBO__SLEEP_MS_DEFAULT, 1, TUBO__SLEEP_MS_MAX, NULL,
     "longest sleep before a waiting rank looks for failed peers (ms)"},
    {"TUBO_SHM_SLOTS", 0, 0, TUBO__SHM_SLOTS_MAX, "by the number of ranks",
     "64-byte slots per channel"},
    {"TUBO_SHM_DATA_BYTES", 0, 0, TUBO__SHM_DATA_MAX, "by the number of ranks",
     "data ring bytes per channel"},
    {"TUBO_SHM_FRAME_BYTES", TUBO__SHM_FRAME_DEFAULT, 4096, TUBO__SHM_DATA_MAX / 4, NULL,
     "largest frame of a streamed message (at most a quarter of the data ring)"},
    {"TUBO_SHM_CHANNELS", SIZE_MAX, 0, SIZE_MAX, "by the number of ranks",
     "channels of its own a rank receives on (0: inboxes only)"},
    {"TUBO_SHM_WIRE_RANKS", TUBO__SHM_WIRE_RANKS_DEFAULT, 0, UINT32_MAX, NULL,
     "a node of at most this many ranks makes every pair's channel at start-up"},
    {"TUBO_SHM_HEAP_BYTES", TUBO__SHM_HEAP_DEFAULT, 0, (uint64_t)1 << 40, NULL,
     "shared heap for Queues, Arrays, Values and Pipes opened over a communicator"},
    {"TUBO_SHM_CMA", 1, 0, 1, NULL, "0 forbids single-copy (process_vm_readv/writev) transfers"},
    {"TUBO_SHM_RNDV_BYTES", 0, 0, SIZE_MAX, "measured by tuborun, else by cache sharing",
     "single copy from this size for every pair"},
    {"TUBO_SHM_ADAPT", 1, 0, 2, NULL,
     "the sender moves each size class to the protocol it sees faster (0: no; 2: report)"},
    {"TUBO_SHM_ADAPT_PERIOD", TUBO__ADAPT_PERIOD_DEFAULT, TUBO__ADAPT_PERIOD_MIN, 1u << 20, NULL,
     "one exploration of the other protocol in this many"},
    {"TUBO_SHM_SPLIT_BYTES", TUBO__SHM_SPLIT_DEFAULT, 0, SIZE_MAX, NULL,
     "messages by RTS from this size are copied by both ranks at once, private ones from "
     "64 KiB below it in halves (0: never)"},
    {"TUBO_SHM_SPLIT_LONG", TUBO__SPLIT_LONG_CHOSEN, TUBO__SPLIT_LONG_NEVER,
     TUBO__SPLIT_LONG_CHOSEN, NULL,
     "messages over 4 MiB split: 0 never, 1 always, 2 as the sender measures faster"},
    {"TUBO_SHM_ASYM_FENCE", 1, 0, 1, NULL, "0: full fences instead of membarrier"},
    {"TUBO_SHM_PREFETCH", TUBO__SHM_PREFETCH_DEFAULT, 0, TUBO__SHM_SLOTS_MAX, NULL,
     "slots ahead a sender prefetches for writing (0, 1: none)"},
    {"TUBO_NODE_SIZE", 0, 0, TUBO__MAX_RANKS, NULL,
     "under mpirun, pretend nodes of this many ranks (0: the real nodes)"},
    {"TUBO_INIT_TIMEOUT", 300, 0, 86400, NULL,
     "under mpirun, seconds tubo_init waits in MPI_Init for ranks that never start (0: no limit)"},
    {"TUBO_MPI_SERVE", 1, 0, 1, NULL,
     "0: objects served across nodes are served only inside tubo calls, not from MPI's"},
    {"TUBO_PROCESS_HEAP_BYTES", TUBO__PROCESS_HEAP_DEFAULT, TUBO__PROCESS_HEAP_MIN,
     TUBO__PROCESS_HEAP_MAX, NULL, "heap of the dicts, lists and channels made by _create"},
    {"TUBO_COLL_SHM", 1, 0, 1, NULL, "0: collectives in a node by point-to-point messages"},
    {"TUBO_COLL_TREE", 0, 0, INT32_MAX, "by the topology",
     "collectives in a node: 1 flat, g >= 2 a tree of groups of g consecutive ranks"},
    {"TUBO_COLL_SCRATCH_BYTES", SHMC_SCRATCH_DEFAULT, 0, (uint64_t)1 << 40, NULL,
     "most of the heap a communicator's one-copy collectives take (0: none)"},
    {"TUBO_COLL_HIER", 1, 0, 1, NULL, "0: collectives across nodes by point-to-point messages"},
};

/* The launch contract tuborun sets in each rank: shown, with --all, when present. */
static const char *const info_launch_vars[] = {
    TUBO__ENV_JOBID,      TUBO__ENV_RANK,         TUBO__ENV_SIZE,   TUBO__ENV_LOCAL_RANK,
    TUBO__ENV_LOCAL_SIZE, TUBO__ENV_LAUNCHER_PID, TUBO__ENV_SHM_FD, TUBO__ENV_PIPE_FDS,
};

/* A setting's value in effect, as tubo__setting_u64 gives it, and where it comes from. */
static uint64_t info_effective(const info_setting_t *s, uint64_t dflt, const char **source,
                               const char **raw)
{
  uint64_t v;
  *raw = getenv(s->name);
  if (*raw == NULL) {
    *source = "default";
    return dflt;
  }
  if (tubo__setting_parse(*raw, &v) != 0) {
    *source = "environment, ignored: not a number";
    return dflt;
  }
  if (v < s->lo || v > s->hi) {
    *source = "environment, clamped to its bounds";
    return v < s->lo ? s->lo : s->hi;
  }
  *source = "environment";
  return v;
}

/* The job described: its size, and whether it has more ranks than processing units. */
static int info_nranks(const tuboinfo_t *t)
{
  return t->p != NULL ? t->p->nranks : t->o->nranks > 0 ? t->o->nranks : 1;
}

static int info_oversubscribed(const tuboinfo_t *t)
{
  int npus = t->topo != NULL ? tubo__topo_npus(t->topo) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  return info_nranks(t) > npus;
}

/* The transport ranks of one node use: TUBO_TRANSPORT, else shm. */
static const char *info_transport(const char **source)
{
  const char *v = getenv(TUBO__ENV_TRANSPORT);
  enum tubo__transport_kind k;
  if (v == NULL || *v == '\0') {
    *source = "default";
    return "shm";
  }
  if (tubo__parse_transport(v, &k) != 0) {
    *source = "environment, refused: tuborun and tubo_init fail";
    return v;
  }
  *source = "environment";
  return k == TUBO__TP_PIPE ? "pipe" : "shm";
}

/* The job's default error handler: TUBO_ERRORS, as lib/errhandler.c reads it. */
static const char *info_errors(const char **source)
{
  const char *v = getenv("TUBO_ERRORS");
  if (v == NULL || *v == '\0') {
    *source = "default";
    return "return";
  }
  if (strcmp(v, "fatal") != 0 && strcmp(v, "return") != 0) {
    *source = "environment, ignored: neither fatal nor return";
    return "return";
  }
  *source = "environment";
  return v;
}

/* Where the MPI module is loaded from: TUBO_MPI_MODULE, as lib/mpi/mpi_load.c reads it
 * (unset: beside libtubo's file, else in the package's library folder). */
static const char *info_mpi_module(const char **source)
{
  const char *v = getenv("TUBO_MPI_MODULE");
  if (v == NULL || *v == '\0') {
    *source = "default";
    return "unset";
  }
  *source = "environment";
  return v;
}

/* A setting given as a word: its line and its two parsable keys. */
static void info_word(tuboinfo_t *t, const char *name, const char *value, const char *source)
{
  char key[96];
  tuboinfo_add(t, NULL, name, "%s (%s)", value, source);
  snprintf(key, sizeof key, "setting:%s:value", name);
  tuboinfo_add(t, key, NULL, "%s", value);
  snprintf(key, sizeof key, "setting:%s:source", name);
  tuboinfo_add(t, key, NULL, "%s", source);
}

int tuboinfo_settings(tuboinfo_t *t)
{
  tuboinfo_section(t, "Settings (TUBO_* environment variables)");
  const char *source;
  const char *transport = info_transport(&source);
  info_word(t, "TUBO_TRANSPORT", transport, source);
  const char *errors = info_errors(&source);
  info_word(t, "TUBO_ERRORS", errors, source);
  const char *module = info_mpi_module(&source);
  info_word(t, "TUBO_MPI_MODULE", module, source);
  for (size_t i = 0; i < sizeof info_settings / sizeof info_settings[0]; i++) {
    const info_setting_t *s = &info_settings[i];
    uint64_t dflt = s->dflt;
    const char *raw;
    uint64_t v = info_effective(s, dflt, &source, &raw);
    char key[96], text[64];
    /* 0 (or, where 0 means none, the largest value) asks for the default */
    int computed = s->computed != NULL && v == dflt && (dflt == 0 || dflt == UINT64_MAX);
    if (computed)
      snprintf(text, sizeof text, "unset: %s", s->computed);
    else
      snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    if (raw != NULL && strcmp(source, "environment") != 0)
      tuboinfo_add(t, NULL, s->name, "%s (%s '%s')", text, source, raw);
    else
      tuboinfo_add(t, NULL, s->name, "%s (%s)", text, source);
    snprintf(key, sizeof key, "setting:%s:value", s->name);
    tuboinfo_add(t, key, NULL, "%s", computed ? "unset" : text);
    if (raw != NULL) {
      snprintf(key, sizeof key, "setting:%s:environment", s->name);
      tuboinfo_add(t, key, NULL, "%s", raw);
    }
    snprintf(key, sizeof key, "setting:%s:source", s->name);
    tuboinfo_add(t, key, NULL, "%s", source);
    if (t->o->all) {
      snprintf(key, sizeof key, "setting:%s:bounds", s->name);
      tuboinfo_add(t, key, NULL, "%llu..%llu", (unsigned long long)s->lo,
                   (unsigned long long)s->hi);
      snprintf(key, sizeof key, "setting:%s:help", s->name);
      tuboinfo_add(t, key, NULL, "%s", s->what);
    }
  }
  for (size_t i = 0; t->o->all && i < sizeof info_launch_vars / sizeof info_launch_vars[0]; i++) {
    const char *v = getenv(info_launch_vars[i]);
    char key[64];
    snprintf(key, sizeof key, "launch:%s", info_launch_vars[i]);
    if (v != NULL)
      tuboinfo_add(t, key, info_launch_vars[i], "%s (set by the launcher)", v);
  }
  return 0;
}

/* Where each of the n ranks placed runs (the caller frees it), or NULL where nothing
 * is placed (or out of memory). */
static tubo__locality_t *info_places(const tuboinfo_t *t, int n)
{
  if (t->topo == NULL || t->p == NULL)
    return NULL;
  tubo__locality_t *loc = calloc((size_t)n, sizeof *loc);
  for (int r = 0; loc != NULL && r < n; r++)
    tubo__topo_locality_of(t->topo, t->p->rank[r].cpuset, &loc[r]);
  return loc;
}

/* How many pairs of the ranks placed share an L2 or an L3 cache: the kinds of pair
 * (tubo__pair_kind) for which the shm transport's rule keeps the channel. */
static long info_pairs_sharing(tuboinfo_t *t, long *pairs)
{
  int n = info_nranks(t);
  *pairs = (long)n * (n - 1) / 2;
  tubo__locality_t *loc = info_places(t, n);
  if (loc == NULL)
    return -1;
  long share = 0;
  for (int a = 0; a < n; a++)
    for (int b = a + 1; b < n; b++)
      share += tubo__pair_kind(loc[a].l2, loc[a].l3, loc[a].package, loc[b].l2, loc[b].l3,
                               loc[b].package) <= TUBO__PAIR_L3;
  free(loc);
  return share;
}

/* The groups of the shared-memory collectives' tree over the ranks placed, as each rank
 * computes them (coll_shm_tree.c), written "0,1|2,3" into buf; returns the number of
 * groups (0: flat, -1: unknown) and sets *level. */
static int info_coll_tree(tuboinfo_t *t, char *buf, size_t cap, int *level)
{
  int n = info_nranks(t), G = -1;
  buf[0] = '\0';
  *level = 0;
  tubo__locality_t *loc = info_places(t, n);
  int *group_of = loc != NULL ? calloc((size_t)n, sizeof *group_of) : NULL;
  if (loc != NULL && group_of != NULL) {
    uint64_t forced = tubo__setting_u64("TUBO_COLL_TREE", 0, 0, INT32_MAX);
    G = tubo__shmc_tree_groups(n, loc, forced, info_oversubscribed(t), group_of, level);
    size_t len = 0;
    for (int g = 0; g < G && len + 1 < cap; g++)
      for (int r = 0, first = 1; r < n && len + 1 < cap; r++)
        if (group_of[r] == g) {
          int w = snprintf(buf + len, cap - len, "%s%d", first ? (g ? "|" : "") : ",", r);
          len = w < 0 || (size_t)w >= cap - len ? cap - 1 : len + (size_t)w;
          first = 0;
        }
    if (len + 1 >= cap && cap > 4)
      memcpy(buf + cap - 4, "...", 4); /* cut short */
  }
  free(loc);
  free(group_of);
  return G;
}

static uint64_t info_u64(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi)
{
  return tubo__setting_u64(name, dflt, lo, hi);
}

int tuboinfo_protocol(tuboinfo_t *t)
{
  int n = info_nranks(t);
  const char *source;
  const char *transport = info_transport(&source);
  char a[32], b[32], c[32], d[32];
  tuboinfo_section(t, "Protocol for %d rank%s on one node", n, n == 1 ? "" : "s");
  tuboinfo_add(t, "protocol:ranks", NULL, "%d", n);
  tuboinfo_add(t, "protocol:transport", "transport", "%s", transport);

  uint64_t when = info_u64("TUBO_YIELD_WHEN_IDLE", 2, 0, 2);
  int shared = when < 2 ? (int)when : info_oversubscribed(t);
  uint64_t spin = info_u64("TUBO_SPIN_NS", TUBO__SPIN_NS_DEFAULT, 0, TUBO__SPIN_NS_MAX);
  uint64_t yield = info_u64("TUBO_YIELD_NS", TUBO__YIELD_NS_DEFAULT, 0, TUBO__SPIN_NS_MAX);
  uint64_t sleep_ms = info_u64("TUBO_SLEEP_MS", TUBO__SLEEP_MS_DEFAULT, 1, TUBO__SLEEP_MS_MAX);
  if (shared)
    tuboinfo_add(t, NULL, "waiting",
                 "ranks share cores: poll and yield up to %llu ns (adapting), then sleep (at "
                 "most %llu ms)",
                 (unsigned long long)yield, (unsigned long long)sleep_ms);
  else
    tuboinfo_add(t, NULL, "waiting", "spin %llu ns, then sleep (at most %llu ms)",
                 (unsigned long long)spin, (unsigned long long)sleep_ms);
  tuboinfo_add(t, "protocol:wait:policy", NULL, "%s", shared ? "yield" : "spin");
  tuboinfo_add(t, "protocol:wait:spin_ns", NULL, "%llu", (unsigned long long)spin);
  tuboinfo_add(t, "protocol:wait:yield_ns", NULL, "%llu", (unsigned long long)yield);
  tuboinfo_add(t, "protocol:wait:sleep_ms", NULL, "%llu", (unsigned long long)sleep_ms);

  /* The layout the ranks and tuborun compute from the same settings. */
  tubo__shm_layout_t L;
  int show_shm = strcmp(transport, "shm") == 0 || t->o->all;
  if (show_shm && tubo__shm_layout_from_settings((uint32_t)n, &L) == 0) {
    uint64_t frame = L.frame_max;
    tuboinfo_add(t, NULL, "shm channels",
                 "%u slots of %u B (payloads up to %u B inline), data ring %s", L.nslots,
                 TUBO__SHM_SLOT, TUBO__SHM_INLINE, tubo__size_text(L.dbytes, a, sizeof a));
    tuboinfo_add(t, NULL, "shm inboxes",
                 "%u slots of 64 B per rank (payloads up to %u B inline); "
                 "up to %u channels per rank",
                 L.inbox_slots, TUBO__SHM_INBOX_INLINE, L.fast_max);
    tuboinfo_add(t, "protocol:shm:inbox_slots", NULL, "%u", L.inbox_slots);
    tuboinfo_add(t, "protocol:shm:channels", NULL, "%u", L.fast_max);
    tuboinfo_add(t, "protocol:shm:slots", NULL, "%u", L.nslots);
    tuboinfo_add(t, "protocol:shm:inline_max", NULL, "%u", TUBO__SHM_INLINE);
    tuboinfo_add(t, "protocol:shm:data_ring", NULL, "%u", L.dbytes);
    tuboinfo_add(t, NULL, "shm frames", "up to %s", tubo__size_text(frame, a, sizeof a));
    tuboinfo_add(t, "protocol:shm:frame_max", NULL, "%llu", (unsigned long long)frame);
    int cma = (int)info_u64("TUBO_SHM_CMA", 1, 0, 1);
    uint64_t forced = info_u64("TUBO_SHM_RNDV_BYTES", 0, 0, SIZE_MAX);
    long pairs, share = info_pairs_sharing(t, &pairs);
    uint64_t from = !cma || n < 2 ? 0 : forced ? forced : TUBO__SHM_RNDV_DEFAULT;
    if (from == 0)
      tuboinfo_add(t, NULL, "shm single copy", "off (%s)", cma ? "one rank" : "TUBO_SHM_CMA=0");
    else if (forced)
      tuboinfo_add(t, NULL, "shm single copy", "from %s, every pair (TUBO_SHM_RNDV_BYTES)",
                   tubo__size_text(from, a, sizeof a));
    else if (info_oversubscribed(t))
      tuboinfo_add(t, NULL, "shm single copy",
                   "from %s, every pair (more ranks than processing units: they take turns, "
                   "and the channel streams only while both ends run)",
                   tubo__size_text(from, a, sizeof a));
    else if (share >= 0)
      tuboinfo_add(t, NULL, "shm single copy",
                   "as tuborun measures it per kind of pair (--report-bindings); unmeasured, "
                   "from %s between ranks sharing no L2 or L3 (%ld of %ld pairs)",
                   tubo__size_text(from, a, sizeof a), pairs - share, pairs);
    else
      tuboinfo_add(t, NULL, "shm single copy",
                   "as tuborun measures it per kind of pair (--report-bindings); unmeasured, "
                   "from %s between ranks sharing no L2 or L3",
                   tubo__size_text(from, a, sizeof a));
    /* The sender adapts the choice from where it starts, where it is not fixed. */
    int adapt =
        from != 0 && !forced && !info_oversubscribed(t) && info_u64("TUBO_SHM_ADAPT", 1, 0, 2) != 0;
    if (from != 0 && !forced && !info_oversubscribed(t))
      tuboinfo_add(t, NULL, "shm protocol per size",
                   adapt ? "from there, each rank moves each peer's size classes to the protocol "
                           "it sees faster (TUBO_SHM_ADAPT)"
                         : "as it starts (TUBO_SHM_ADAPT=0)");
    tuboinfo_add(t, "protocol:shm:adapt", NULL, "%d", adapt);
    tuboinfo_add(t, "protocol:shm:single_copy_from", NULL, "%llu", (unsigned long long)from);
    tuboinfo_add(t, "protocol:shm:pairs", NULL, "%ld", pairs);
    tuboinfo_add(t, "protocol:shm:pairs_sharing_cache", NULL, "%ld", share);
    tuboinfo_add(t, NULL, "shm segment",
                 "%s of address space (%s of control block and inboxes, %s of heap); at "
                 "most %s in use for inboxes and channels",
                 tubo__size_text(L.total, a, sizeof a), tubo__size_text(L.heap_off, b, sizeof b),
                 tubo__size_text(L.heap_bytes, c, sizeof c),
                 tubo__size_text(tubo__shm_layout_need(&L), d, sizeof d));
    tuboinfo_add(t, "protocol:shm:need", NULL, "%zu", tubo__shm_layout_need(&L));
    tuboinfo_add(t, "protocol:shm:segment", NULL, "%zu", L.total);
    tuboinfo_add(t, "protocol:shm:heap", NULL, "%zu", L.heap_bytes);
    char groups[512];
    int level, G = info_coll_tree(t, groups, sizeof groups, &level);
    const char *by = level == TUBO_COMM_TYPE_L3CACHE   ? "l3"
                     : level == TUBO_COMM_TYPE_NUMA    ? "numa"
                     : level == TUBO_COMM_TYPE_PACKAGE ? "package"
                                                       : "TUBO_COLL_TREE";
    if (G > 0)
      tuboinfo_add(t, NULL, "collectives' tree", "%d groups by %s: %s", G, by, groups);
    else
      tuboinfo_add(t, NULL, "collectives' tree", "%s", G == 0 ? "none (flat)" : "unknown");
    tuboinfo_add(t, "protocol:coll:tree_groups", NULL, "%d", G);
    tuboinfo_add(t, "protocol:coll:tree_by", NULL, "%s", G > 0 ? by : "");
    tuboinfo_add(t, "protocol:coll:tree", NULL, "%s", groups);
  }
  if (strcmp(transport, "pipe") == 0 || t->o->all) {
    tuboinfo_add(t, NULL, "pipe frames", "up to %d B, one atomic write each",
                 (int)TUBO__PIPE_FRAME_MAX);
    tuboinfo_add(t, "protocol:pipe:frame_max", NULL, "%d", (int)TUBO__PIPE_FRAME_MAX);
  }
#ifdef TUBO_HAVE_MPI
  tuboinfo_add(t, NULL, "mpi (other nodes)",
               "frames up to %s; rendezvous from %s (peers on MPI's shared memory), %s (others)",
               tubo__size_text(TUBO__MPI_FRAME_MAX, a, sizeof a),
               tubo__size_text(TUBO__MPI_RNDV_SHM, b, sizeof b),
               tubo__size_text(TUBO__MPI_RNDV_NET, c, sizeof c));
  tuboinfo_add(t, "protocol:mpi:frame_max", NULL, "%u", TUBO__MPI_FRAME_MAX);
  tuboinfo_add(t, "protocol:mpi:rndv_shm", NULL, "%u", TUBO__MPI_RNDV_SHM);
  tuboinfo_add(t, "protocol:mpi:rndv_net", NULL, "%u", TUBO__MPI_RNDV_NET);
#endif
  return 0;
}
