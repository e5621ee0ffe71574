/* SPDX-License-Identifier: MIT */
/* Where the ranks run: the topology, their placement, and what tuborun says about it
 * (oversubscription, --report-bindings, --dry-run). The placement itself is placement.c's. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tubo.h"
#include "tuborun.h"

/* "1 core", "3 hardware threads". */
static const char *place_unit(tubo__place_level_t map_by, int n)
{
  if (map_by == TUBO__PL_HWTHREAD)
    return n == 1 ? "hardware thread" : "hardware threads";
  return n == 1 ? "core" : "cores";
}

/* What a level's objects are called, for messages. */
static const char *place_object(tubo__place_level_t l)
{
  return l == TUBO__PL_L3 ? "L3 cache" : l == TUBO__PL_NUMA ? "NUMA node" : "package";
}

/* One line per rank, as Open MPI 5's --report-bindings prints them. */
static void place_report(const tuborun_place_t *pl, const tuborun_opts_t *o)
{
  char host[256] = "localhost";
  if (gethostname(host, sizeof host) != 0)
    strcpy(host, "localhost");
  host[sizeof host - 1] = '\0';
  int pid = (int)getpid();
  for (int r = 0; r < o->nranks; r++) {
    const tubo__place_rank_t *pr = pl->p != NULL ? &pl->p->rank[r] : NULL;
    char *list = NULL, *mask = NULL;
    if (pr != NULL && pr->cpuset != NULL && (o->dry_run || pl->bind) &&
        hwloc_bitmap_list_asprintf(&list, pr->cpuset) >= 0 &&
        hwloc_bitmap_asprintf(&mask, pr->cpuset) >= 0)
      fprintf(stderr, "[%s:%d] Rank %d bound to %s (cpus %s; mask %s)\n", host, pid, r, pr->where,
              list, mask);
    else
      fprintf(stderr, "[%s:%d] Rank %d is not bound\n", host, pid, r);
    free(list);
    free(mask);
  }
}

/* Without a topology: every rank runs unbound. */
static int place_without_topology(tuborun_place_t *pl, tuborun_opts_t *o)
{
  fprintf(stderr, "tuborun: cannot read this machine's topology (hwloc): ranks run unbound\n");
  if (o->nranks == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->nranks = n < 1 ? 1 : n > TUBO__MAX_RANKS ? TUBO__MAX_RANKS : (int)n;
  }
  if (o->report_bindings || o->dry_run)
    place_report(pl, o);
  return 0;
}

/* Says once that the ranks outnumber the slots. */
static void place_say_oversubscribed(const tubo__placement_t *p, const tuborun_opts_t *o)
{
  fprintf(stderr, "tuborun: %d ranks on %d %s: oversubscribed, ranks share %s round-robin%s\n",
          p->nranks, p->nslots, place_unit(p->map_by, p->nslots), place_unit(p->map_by, 2),
          p->bind_to == TUBO__PL_NONE && o->bind_to == TUBO__PL_DEFAULT
              ? " (not bound: give --bind-to to bind them)"
              : "");
}

int tuborun_place(tuborun_place_t *pl, tuborun_opts_t *o)
{
  memset(pl, 0, sizeof *pl);
  int rc = o->topology != NULL ? tubo__topo_load_xml(o->topology, &pl->topo)
                               : tubo__topo_load(&pl->topo);
  if (rc != 0 && o->topology != NULL) {
    fprintf(stderr, "tuborun: cannot load the topology in '%s': not an hwloc XML file?\n",
            o->topology);
    return 2;
  }
  if (rc != 0) {
    pl->topo = NULL;
    return place_without_topology(pl, o);
  }
  if (o->nranks == 0) {
    int n = tubo__place_slots(pl->topo, o->map_by);
    o->nranks = n < 1 ? 1 : n > TUBO__MAX_RANKS ? TUBO__MAX_RANKS : n;
  }
  rc = tubo__place_compute(pl->topo, o->map_by, o->bind_to, o->nranks, &pl->p);
  if (rc == TUBO_ENOTSUP) {
    int map = !tubo__place_level_present(pl->topo, o->map_by);
    tubo__place_level_t l = map ? o->map_by : o->bind_to;
    fprintf(stderr, "tuborun: %s %s: %s%s%s has no %s\n", map ? "--map-by" : "--bind-to",
            tubo__place_level_name(l), o->topology ? "'" : "",
            o->topology ? o->topology : "this machine", o->topology ? "'" : "", place_object(l));
    return 2;
  }
  if (rc != 0) {
    fprintf(stderr, "tuborun: cannot place the ranks: %s\n", tubo_strerror(rc));
    return 1;
  }
  const tubo__placement_t *p = pl->p;
  pl->bind = p->bind_to != TUBO__PL_NONE && !o->dry_run;
  if (pl->bind && !hwloc_topology_is_thissystem(tubo__topo_hwloc(pl->topo))) {
    fprintf(stderr, "tuborun: the topology hwloc reads is not this machine's (HWLOC_XMLFILE?): "
                    "ranks run unbound\n");
    pl->bind = 0;
  }
  if (o->dry_run) {
    int cores = tubo__place_slots(pl->topo, TUBO__PL_CORE);
    int pus = tubo__place_slots(pl->topo, TUBO__PL_HWTHREAD);
    fprintf(stderr,
            "tuborun: dry run on %s (%d %s, %d %s): %d rank%s, map-by %s, bind-to %s; "
            "nothing started\n",
            o->topology ? o->topology : "this machine", cores, place_unit(TUBO__PL_CORE, cores),
            pus, place_unit(TUBO__PL_HWTHREAD, pus), p->nranks, p->nranks == 1 ? "" : "s",
            tubo__place_level_name(p->map_by), tubo__place_level_name(p->bind_to));
  }
  if (p->oversubscribed)
    place_say_oversubscribed(p, o);
  if (o->report_bindings || o->dry_run)
    place_report(pl, o);
  return 0;
}

void tuborun_place_free(tuborun_place_t *pl)
{
  tubo__placement_free(pl->p);
  tubo__topo_free(pl->topo);
  pl->p = NULL;
  pl->topo = NULL;
}
