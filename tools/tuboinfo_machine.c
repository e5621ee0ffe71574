/* SPDX-License-Identifier: MIT */
/* tuboinfo: the machine as hwloc sees it, in a few lines, and where tuborun -n N would put
 * the ranks on it (the placement tuborun itself computes). */
#include "config.h"

#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch/launch.h"
#include "size_text.h"
#include "tubo.h"
#include "tuboinfo.h"

/* hwloc's name of a cache level ("L3"), and whether it is printed without --all. */
static const struct {
  hwloc_obj_type_t type;
  const char *name;
  int always;
} machine_caches[] = {
    {HWLOC_OBJ_L1CACHE, "L1d", 1}, {HWLOC_OBJ_L1ICACHE, "L1i", 0}, {HWLOC_OBJ_L2CACHE, "L2", 1},
    {HWLOC_OBJ_L3CACHE, "L3", 1},  {HWLOC_OBJ_L4CACHE, "L4", 1},   {HWLOC_OBJ_L5CACHE, "L5", 1},
};

/* How many objects of a type hold processors the job may use. */
static int machine_count_allowed(hwloc_topology_t h, hwloc_obj_type_t type)
{
  hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(h);
  int n = 0;
  for (hwloc_obj_t o = NULL; (o = hwloc_get_next_obj_by_type(h, type, o)) != NULL;)
    n += o->cpuset != NULL && hwloc_bitmap_intersects(o->cpuset, allowed);
  return n;
}

static void machine_cache(tuboinfo_t *t, hwloc_topology_t h, hwloc_obj_type_t type,
                          const char *name)
{
  int n = hwloc_get_nbobjs_by_type(h, type);
  if (n <= 0)
    return;
  hwloc_obj_t first = hwloc_get_obj_by_type(h, type, 0);
  uint64_t size = first->attr->cache.size;
  int cores = hwloc_get_nbobjs_inside_cpuset_by_type(h, first->cpuset, HWLOC_OBJ_CORE);
  int same = 1;
  for (hwloc_obj_t o = first; (o = hwloc_get_next_obj_by_type(h, type, o)) != NULL;)
    same &= o->attr->cache.size == size &&
            hwloc_get_nbobjs_inside_cpuset_by_type(h, o->cpuset, HWLOC_OBJ_CORE) == cores;
  char key[64], label[32], sz[32];
  snprintf(label, sizeof label, "%s caches", name);
  snprintf(key, sizeof key, "machine:cache:%s:count", name);
  if (same && cores > 1)
    tuboinfo_add(t, NULL, label, "%d x %s, each shared by %d cores", n,
                 tubo__size_text(size, sz, sizeof sz), cores);
  else if (same)
    tuboinfo_add(t, NULL, label, "%d x %s", n, tubo__size_text(size, sz, sizeof sz));
  else
    tuboinfo_add(t, NULL, label, "%d, of different sizes or sharing", n);
  tuboinfo_add(t, key, NULL, "%d", n);
  snprintf(key, sizeof key, "machine:cache:%s:size", name);
  tuboinfo_add(t, key, NULL, "%llu", (unsigned long long)size);
  snprintf(key, sizeof key, "machine:cache:%s:cores", name);
  tuboinfo_add(t, key, NULL, "%d", same ? cores : -1);
}

/* The processor's name, as the first package (or the machine) records it. */
static const char *machine_cpu_model(hwloc_topology_t h)
{
  hwloc_obj_t pkg = hwloc_get_obj_by_type(h, HWLOC_OBJ_PACKAGE, 0);
  const char *m = pkg != NULL ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
  if (m == NULL)
    m = hwloc_obj_get_info_by_name(hwloc_get_root_obj(h), "CPUModel");
  return m != NULL ? m : "unknown";
}

int tuboinfo_machine(tuboinfo_t *t)
{
  const tuboinfo_opts_t *o = t->o;
  int rc =
      o->topology != NULL ? tubo__topo_load_xml(o->topology, &t->topo) : tubo__topo_load(&t->topo);
  if (rc != 0 && o->topology != NULL) {
    fprintf(stderr, "tuboinfo: cannot load the topology in '%s': not an hwloc XML file?\n",
            o->topology);
    return 2;
  }
  const char *source = o->topology != NULL ? o->topology : "this machine";
  tuboinfo_section(t, "Machine (hwloc): %s", source);
  tuboinfo_add(t, "machine:source", NULL, "%s", source);
  if (rc != 0) {
    t->topo = NULL;
    tuboinfo_add(t, "machine:topology", "topology", "unknown: hwloc cannot read it");
    return 0;
  }
  hwloc_topology_t h = tubo__topo_hwloc(t->topo);
  const char *model = machine_cpu_model(h);
  int len = (int)strlen(model);
  while (len > 0 && model[len - 1] == ' ')
    len--;
  tuboinfo_add(t, "machine:cpu_model", "processor", "%.*s", len, model);
  tuboinfo_add(t, "machine:packages", "packages", "%d",
               hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PACKAGE));
  tuboinfo_add(t, "machine:numa_nodes", "NUMA nodes", "%d",
               hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_NUMANODE));
  for (size_t i = 0; i < sizeof machine_caches / sizeof machine_caches[0]; i++)
    if (machine_caches[i].always || o->all)
      machine_cache(t, h, machine_caches[i].type, machine_caches[i].name);
  int cores = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_CORE);
  int pus = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PU);
  tuboinfo_add(t, "machine:cores", "cores", "%d", cores);
  if (cores > 0 && pus % cores == 0)
    tuboinfo_add(t, NULL, "hardware threads", "%d (%d per core)", pus, pus / cores);
  else
    tuboinfo_add(t, NULL, "hardware threads", "%d", pus);
  tuboinfo_add(t, "machine:hwthreads", NULL, "%d", pus);
  uint64_t mem = hwloc_get_root_obj(h)->total_memory;
  char sz[32];
  tuboinfo_add(t, NULL, "memory", "%s", mem ? tubo__size_text(mem, sz, sizeof sz) : "unknown");
  tuboinfo_add(t, "machine:memory", NULL, "%llu", (unsigned long long)mem);
  char *cpus = NULL;
  if (hwloc_bitmap_list_asprintf(&cpus, hwloc_topology_get_allowed_cpuset(h)) < 0)
    cpus = NULL;
  tuboinfo_add(t, NULL, "allowed (cgroup cpuset)", "%d core%s, %d hardware thread%s (cpus %s)",
               machine_count_allowed(h, HWLOC_OBJ_CORE),
               machine_count_allowed(h, HWLOC_OBJ_CORE) == 1 ? "" : "s", tubo__topo_npus(t->topo),
               tubo__topo_npus(t->topo) == 1 ? "" : "s", cpus ? cpus : "?");
  tuboinfo_add(t, "machine:allowed:cores", NULL, "%d", machine_count_allowed(h, HWLOC_OBJ_CORE));
  tuboinfo_add(t, "machine:allowed:hwthreads", NULL, "%d", tubo__topo_npus(t->topo));
  tuboinfo_add(t, "machine:allowed:cpus", NULL, "%s", cpus ? cpus : "?");
  free(cpus);
  return 0;
}

/* What a level's objects are called, for messages (as tuborun says it). */
static const char *machine_object(tubo__place_level_t l)
{
  return l == TUBO__PL_L3 ? "L3 cache" : l == TUBO__PL_NUMA ? "NUMA node" : "package";
}

/* Ranks listed without --all: a job of hundreds of ranks stays readable. */
#define PLACE_SHOWN 8

int tuboinfo_placement(tuboinfo_t *t)
{
  const tuboinfo_opts_t *o = t->o;
  if (t->topo == NULL) {
    tuboinfo_section(t, "tuborun");
    tuboinfo_add(t, "place:bound", "placement", "none: without a topology, ranks run unbound");
    return 0;
  }
  int n = o->nranks;
  if (n == 0) {
    n = tubo__place_slots(t->topo, o->map_by);
    n = n < 1 ? 1 : n > TUBO__MAX_RANKS ? TUBO__MAX_RANKS : n;
  }
  int rc = tubo__place_compute(t->topo, o->map_by, o->bind_to, n, &t->p);
  if (rc == TUBO_ENOTSUP) {
    int map = !tubo__place_level_present(t->topo, o->map_by);
    tubo__place_level_t l = map ? o->map_by : o->bind_to;
    fprintf(stderr, "tuboinfo: %s %s: %s has no %s\n", map ? "--map-by" : "--bind-to",
            tubo__place_level_name(l), o->topology ? o->topology : "this machine",
            machine_object(l));
    return 2;
  }
  if (rc != 0) {
    fprintf(stderr, "tuboinfo: cannot place the ranks: %s\n", tubo_strerror(rc));
    return 1;
  }
  const tubo__placement_t *p = t->p;
  tuboinfo_section(t, "tuborun -n %d%s", n, o->nranks ? "" : " (the default: one rank per slot)");
  tuboinfo_add(t, "place:ranks", NULL, "%d", n);
  tuboinfo_add(t, "place:map-by", "map-by", "%s", tubo__place_level_name(p->map_by));
  tuboinfo_add(t, "place:bind-to", "bind-to", "%s", tubo__place_level_name(p->bind_to));
  tuboinfo_add(t, NULL, "slots", "%d %s", p->nslots,
               p->map_by == TUBO__PL_HWTHREAD ? "hardware threads" : "cores");
  tuboinfo_add(t, "place:slots", NULL, "%d", p->nslots);
  tuboinfo_add(t, NULL, "oversubscribed", "%s",
               p->oversubscribed ? "yes: ranks share cores round-robin" : "no");
  tuboinfo_add(t, "place:oversubscribed", NULL, "%s", p->oversubscribed ? "yes" : "no");
  for (int r = 0; r < n; r++) {
    char key[48], label[32], *list = NULL;
    const tubo__place_rank_t *pr = &p->rank[r];
    snprintf(label, sizeof label, "rank %d", r);
    int shown = o->all || r < PLACE_SHOWN;
    int bound = pr->cpuset != NULL && hwloc_bitmap_list_asprintf(&list, pr->cpuset) >= 0;
    if (shown && bound)
      tuboinfo_add(t, NULL, label, "%s (cpus %s)", pr->where, list);
    else if (shown)
      tuboinfo_add(t, NULL, label, "not bound");
    snprintf(key, sizeof key, "place:rank:%d:where", r);
    tuboinfo_add(t, key, NULL, "%s", bound ? pr->where : "unbound");
    snprintf(key, sizeof key, "place:rank:%d:cpus", r);
    tuboinfo_add(t, key, NULL, "%s", bound ? list : "");
    free(list);
  }
  if (!o->all && n > PLACE_SHOWN) {
    char label[32];
    snprintf(label, sizeof label, "ranks %d-%d", PLACE_SHOWN, n - 1);
    tuboinfo_add(t, NULL, label, "... (tuboinfo --all lists them)");
  }
  return 0;
}
