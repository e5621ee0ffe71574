/* SPDX-License-Identifier: MIT */
/* tuborun's choice of how large messages go between the ranks (protocol.h): from the
 * cache, or measured before the ranks start; handed to the ranks in the job control
 * block, and said with --report-bindings. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch/jobctl.h"
#include "os/os.h"
#include "protocol.h"
#include "settings.h"
#include "shm/shm_layout.h"
#include "shm/shm_split.h"
#include "size_text.h"
#include "tuborun.h"

/* TUBO_SHM_MEASURE: 0 the rule, 1 the cache or a measurement (default), 2 a new
 * measurement, written to the cache. */
#define PROTO_MEASURE_DEFAULT 1u
#define PROTO_MEASURE_REFRESH 2u

/* What the kinds are called in the report. */
static const char *const proto_kind_words[TUBO__PAIR_KINDS] = {
    "sharing an L2 cache", "sharing an L3 cache", "in one package", "sharing no cache"};

/* The kinds of pair that ranks of this job form (1 << TUBO__PAIR_*). */
static unsigned proto_job_kinds(const tuborun_job_t *j)
{
  const tuborun_place_t *pl = j->place;
  int n = j->nranks;
  tubo__locality_t *loc = calloc((size_t)n, sizeof *loc);
  int *count = calloc((size_t)n, sizeof *count);
  int distinct = 0;
  unsigned mask = 0;
  if (loc == NULL || count == NULL)
    goto out;
  /* The ranks' places, each once: ranks bound alike (or not bound) count as one. */
  for (int r = 0; r < n; r++) {
    const tubo__place_rank_t *pr = &pl->p->rank[r];
    tubo__locality_t l;
    tubo__topo_locality_of(pl->topo, pl->bind ? pr->cpuset : NULL, &l);
    int d = 0;
    while (d < distinct && (loc[d].l2 != l.l2 || loc[d].l3 != l.l3 || loc[d].package != l.package))
      d++;
    if (d == distinct)
      loc[distinct++] = l;
    count[d]++;
  }
  for (int a = 0; a < distinct; a++)
    for (int b = a; b < distinct; b++)
      if (b != a || count[a] > 1)
        mask |= 1u << tubo__pair_kind(loc[a].l2, loc[a].l3, loc[a].package, loc[b].l2, loc[b].l3,
                                      loc[b].package);
out:
  free(loc);
  free(count);
  return mask;
}

static void proto_report(const tubo__proto_t *p, unsigned mask, const char *path, int kept,
                         double ms, size_t split_min)
{
  for (int k = 0; k < TUBO__PAIR_KINDS; k++) {
    if (!(mask & (1u << k)))
      continue;
    char sz[32], choice[160];
    if (p->cma[k] == 0) {
      fprintf(stderr,
              "tuborun: large messages between ranks %s: by the rule (not measured: no pair of "
              "cores of that kind, or the measurement failed)\n",
              proto_kind_words[k]);
      continue;
    }
    tubo__proto_choice_text(p->cma[k], choice, sizeof choice);
    fprintf(stderr, "tuborun: large messages between ranks %s: %s (%s at load %.2f",
            proto_kind_words[k], choice,
            p->source[k] == TUBO__RNDV_FROM_CACHE ? "cache, measured" : "measured",
            p->load_centi / 100.0);
    if (p->source[k] == TUBO__RNDV_FROM_MEASURED) {
      fprintf(stderr, "; in %.0f ms, GB/s channel/single copy", ms);
      if (split_min != 0 && split_min <= TUBO__SPLIT_MAX) {
        tubo__size_text(split_min, sz, sizeof sz);
        fprintf(stderr, " (split from %s)", sz);
      }
      fprintf(stderr, ":");
      for (int i = 0; i < TUBO__PROTO_NSIZES; i++) {
        tubo__size_text(tubo__proto_sizes[i], sz, sizeof sz);
        fprintf(stderr, " %s %.1f/%.1f", sz, p->ring_gbps[k][i], p->cma_gbps[k][i]);
      }
    }
    if (path != NULL)
      fprintf(stderr, "; %s %s",
              p->source[k] == TUBO__RNDV_FROM_CACHE ? "read from"
              : kept                                ? "kept in"
                                                    : "not kept: cannot write",
              path);
    fprintf(stderr, ")\n");
  }
}

void tuborun_protocol(tuborun_job_t *j)
{
  const tuborun_opts_t *o = j->o;
  int say = o->report_bindings;
  if (j->ctl == NULL || j->nranks < 2 || j->place == NULL || j->place->topo == NULL ||
      j->place->p == NULL)
    return;
  if (tubo__setting_u64("TUBO_SHM_CMA", 1, 0, 1) == 0) {
    if (say)
      fprintf(stderr, "tuborun: large messages: through the channel only (TUBO_SHM_CMA=0)\n");
    return;
  }
  uint64_t forced = tubo__setting_u64("TUBO_SHM_RNDV_BYTES", 0, 0, SIZE_MAX);
  if (forced != 0) {
    char sz[32];
    tubo__size_text(forced, sz, sizeof sz);
    if (say)
      fprintf(stderr,
              "tuborun: large messages: single copy from %s for every pair "
              "(TUBO_SHM_RNDV_BYTES)\n",
              sz);
    return;
  }
  uint64_t measure =
      tubo__setting_u64("TUBO_SHM_MEASURE", PROTO_MEASURE_DEFAULT, 0, PROTO_MEASURE_REFRESH);
  hwloc_topology_t h = tubo__topo_hwloc(j->place->topo);
  if (measure == 0 || !hwloc_topology_is_thissystem(h)) {
    if (say)
      fprintf(stderr, "tuborun: large messages: by the rule (%s)\n",
              measure == 0 ? "TUBO_SHM_MEASURE=0" : "the topology is not this machine's");
    return;
  }
  unsigned mask = proto_job_kinds(j);
  tubo__shm_layout_t L;
  if (mask == 0 || tubo__shm_layout_from_settings((uint32_t)j->nranks, &L) != 0)
    return;
  tubo__proto_t p;
  memset(&p, 0, sizeof p);
  size_t split_min = tubo__shm_split_min();
  uint64_t key = tubo__proto_key(j->place->topo, L.dbytes, L.frame_max, split_min);
  char path[4096];
  int have_path = tubo__proto_cache_path(path, sizeof path, key) == 0;
  /* A cache measured while the machine was at least twice as busy as now, by a whole
   * processor's worth, is measured again: figures taken under load are noise, kept only
   * until a quieter moment replaces them. */
  uint32_t load = tubo__proto_load_now();
  if (have_path && measure != PROTO_MEASURE_REFRESH && tubo__proto_cache_read(path, key, &p) == 0 &&
      p.load_centi >= 2 * load + 100)
    memset(&p, 0, sizeof p);
  unsigned missing = 0;
  for (int k = 0; k < TUBO__PAIR_KINDS; k++)
    if ((mask & (1u << k)) && p.cma[k] == 0)
      missing |= 1u << k;
  int kept = 0;
  uint64_t t0 = tubo__os_now_ns();
  if (missing != 0 &&
      tubo__proto_measure(j->place->topo, missing, L.dbytes, L.frame_max, split_min, &p) &&
      have_path)
    kept = tubo__proto_cache_write(path, key, &p) == 0;
  double ms = (double)(tubo__os_now_ns() - t0) / 1e6;
  /* Measured wins over cached where the job has kinds of both; 0: nothing known. */
  uint32_t source = 0;
  for (int k = 0; k < TUBO__PAIR_KINDS; k++) {
    j->ctl->rndv_cma[k] = p.cma[k];
    if ((uint32_t)p.source[k] > source)
      source = (uint32_t)p.source[k];
  }
  j->ctl->rndv_source = source;
  j->ctl->rndv_magic = TUBO__RNDV_MAGIC;
  if (say)
    proto_report(&p, mask, have_path ? path : NULL, kept, ms, split_min);
}
