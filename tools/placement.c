/* SPDX-License-Identifier: MIT */
/* Mapping ranks onto cores and binding them (placement.h). */
#include "config.h"

#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tubo.h"

/* mpirun's names; the first one of each level is its canonical name. */
static const struct {
  const char *name;
  tubo__place_level_t level;
  int roles; /* 1: mapping, 2: binding */
} pl_names[] = {
    {"hwthread", TUBO__PL_HWTHREAD, 3}, {"core", TUBO__PL_CORE, 3},
    {"l3cache", TUBO__PL_L3, 3},        {"l3", TUBO__PL_L3, 3},
    {"numa", TUBO__PL_NUMA, 3},         {"package", TUBO__PL_PACKAGE, 3},
    {"socket", TUBO__PL_PACKAGE, 3},    {"slot", TUBO__PL_SLOT, 1},
    {"none", TUBO__PL_NONE, 2},
};

#define PL_NNAMES (sizeof pl_names / sizeof pl_names[0])

int tubo__place_parse(const char *s, int binding, tubo__place_level_t *out)
{
  for (size_t i = 0; s != NULL && i < PL_NNAMES; i++)
    if (strcasecmp(s, pl_names[i].name) == 0 && (pl_names[i].roles & (binding ? 2 : 1))) {
      *out = pl_names[i].level;
      return 0;
    }
  return TUBO_EINVAL;
}

const char *tubo__place_level_name(tubo__place_level_t l)
{
  for (size_t i = 0; i < PL_NNAMES; i++)
    if (pl_names[i].level == l)
      return pl_names[i].name;
  return "default";
}

/* The hwloc type of a level's objects; the machine itself for those that have none. */
static hwloc_obj_type_t pl_type(tubo__place_level_t l)
{
  switch (l) {
  case TUBO__PL_HWTHREAD:
    return HWLOC_OBJ_PU;
  case TUBO__PL_CORE:
  case TUBO__PL_SLOT:
    return HWLOC_OBJ_CORE;
  case TUBO__PL_L3:
    return HWLOC_OBJ_L3CACHE;
  case TUBO__PL_NUMA:
    return HWLOC_OBJ_NUMANODE;
  case TUBO__PL_PACKAGE:
    return HWLOC_OBJ_PACKAGE;
  default:
    return HWLOC_OBJ_MACHINE;
  }
}

/* One placement under way: the topology and the units (cores or hardware threads) that
 * ranks map onto, in logical order. */
typedef struct pl {
  hwloc_topology_t topo;
  hwloc_const_cpuset_t allowed;
  hwloc_obj_t *units;
  int nunits;
} pl_t;

static void pl_init(pl_t *c, const tubo__topo_t *t)
{
  memset(c, 0, sizeof *c);
  c->topo = tubo__topo_hwloc(t);
  c->allowed = hwloc_topology_get_allowed_cpuset(c->topo);
}

/* The next object of type after prev that holds allowed processors. */
static hwloc_obj_t pl_next(const pl_t *c, hwloc_obj_type_t type, hwloc_obj_t prev)
{
  hwloc_obj_t o = prev;
  while ((o = hwloc_get_next_obj_by_type(c->topo, type, o)) != NULL)
    if (o->cpuset != NULL && hwloc_bitmap_intersects(o->cpuset, c->allowed))
      return o;
  return NULL;
}

/* Collects the units: the allowed cores, or hardware threads where asked or where the
 * machine shows no cores. Returns 0 or TUBO_ENOMEM. */
static int pl_units(pl_t *c, int hwthreads)
{
  hwloc_obj_type_t type = HWLOC_OBJ_PU;
  if (!hwthreads && pl_next(c, HWLOC_OBJ_CORE, NULL) != NULL)
    type = HWLOC_OBJ_CORE;
  int n = hwloc_get_nbobjs_by_type(c->topo, type);
  c->units = calloc(n > 0 ? (size_t)n : 1, sizeof *c->units);
  if (c->units == NULL)
    return TUBO_ENOMEM;
  for (hwloc_obj_t o = pl_next(c, type, NULL); o != NULL && c->nunits < n; o = pl_next(c, type, o))
    c->units[c->nunits++] = o;
  return 0;
}

/* The first allowed processor of an object (its os index). */
static int pl_first_pu(const pl_t *c, hwloc_obj_t o)
{
  int i;
  for (i = hwloc_bitmap_first(o->cpuset); i >= 0; i = hwloc_bitmap_next(o->cpuset, i))
    if (hwloc_bitmap_isset(c->allowed, (unsigned)i))
      break;
  return i;
}

/* The object of type that holds unit u, or NULL. NUMA nodes are not ancestors of cores in
 * hwloc 2, so containment is decided by the unit's first allowed processor. */
static hwloc_obj_t pl_container(const pl_t *c, hwloc_obj_type_t type, hwloc_obj_t u)
{
  int pu = pl_first_pu(c, u);
  for (hwloc_obj_t o = pl_next(c, type, NULL); o != NULL && pu >= 0; o = pl_next(c, type, o))
    if (hwloc_bitmap_isset(o->cpuset, (unsigned)pu))
      return o;
  return NULL;
}

int tubo__place_level_present(const tubo__topo_t *t, tubo__place_level_t l)
{
  if (l != TUBO__PL_L3 && l != TUBO__PL_NUMA && l != TUBO__PL_PACKAGE)
    return 1; /* cores and hardware threads always exist: PUs stand in for missing cores */
  pl_t c;
  pl_init(&c, t);
  return pl_next(&c, pl_type(l), NULL) != NULL;
}

int tubo__place_slots(const tubo__topo_t *t, tubo__place_level_t map_by)
{
  pl_t c;
  pl_init(&c, t);
  if (pl_units(&c, map_by == TUBO__PL_HWTHREAD) != 0)
    return 0;
  free(c.units);
  return c.nunits;
}

/* Fills order with the unit each of the first nunits ranks takes: round-robin over the
 * objects of type in logical order, skipping objects whose units are all taken. Units in no
 * such object form one last group. Returns 0 or TUBO_ENOMEM. */
static int pl_order(const pl_t *c, hwloc_obj_type_t type, int *order)
{
  int n = c->nunits, nobj = hwloc_get_nbobjs_by_type(c->topo, type);
  int ng = (nobj > 0 ? nobj : 0) + 1;
  int *group = calloc((size_t)n, sizeof *group);
  int *cap = calloc((size_t)ng, sizeof *cap), *start = calloc((size_t)ng, sizeof *start);
  int *used = calloc((size_t)ng, sizeof *used), *byg = calloc((size_t)n, sizeof *byg);
  int rc = TUBO_ENOMEM;
  if (!group || !cap || !start || !used || !byg)
    goto out;
  for (int i = 0; i < n; i++) {
    hwloc_obj_t o = pl_container(c, type, c->units[i]);
    group[i] = o != NULL && (int)o->logical_index < ng - 1 ? (int)o->logical_index : ng - 1;
    cap[group[i]]++;
  }
  for (int g = 1; g < ng; g++)
    start[g] = start[g - 1] + cap[g - 1];
  for (int i = 0; i < n; i++) /* units sorted by group, logical order kept within each */
    byg[start[group[i]] + used[group[i]]++] = i;
  memset(used, 0, (size_t)ng * sizeof *used);
  for (int k = 0, g = 0; k < n; k++, g = (g + 1) % ng) {
    while (used[g] >= cap[g])
      g = (g + 1) % ng;
    order[k] = byg[start[g] + used[g]++];
  }
  rc = 0;
out:
  free(group);
  free(cap);
  free(start);
  free(used);
  free(byg);
  return rc;
}

/* Sets out to where a rank mapped to unit u binds, on its turn-th pass over the units
 * (turn > 0: oversubscribed). */
static void pl_bind_set(const pl_t *c, tubo__place_level_t bind, hwloc_obj_t u, int turn,
                        hwloc_bitmap_t out)
{
  hwloc_obj_t o = u;
  if (bind == TUBO__PL_HWTHREAD && u->type != HWLOC_OBJ_PU) {
    /* Ranks sharing a core take its hardware threads in turn. */
    hwloc_bitmap_and(out, u->cpuset, c->allowed);
    int skip = turn % hwloc_bitmap_weight(out), pu = hwloc_bitmap_first(out);
    while (skip-- > 0)
      pu = hwloc_bitmap_next(out, pu);
    hwloc_bitmap_only(out, (unsigned)pu);
    return;
  }
  if (bind == TUBO__PL_CORE && u->type == HWLOC_OBJ_PU) {
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(c->topo, HWLOC_OBJ_CORE, u);
    o = core != NULL ? core : u;
  } else if (bind == TUBO__PL_L3 || bind == TUBO__PL_NUMA || bind == TUBO__PL_PACKAGE) {
    o = pl_container(c, pl_type(bind), u);
    if (o == NULL) /* only a default level can be missing: bind to everything allowed */
      o = hwloc_get_root_obj(c->topo);
  }
  hwloc_bitmap_and(out, o->cpuset, c->allowed);
}

/* Sets idx to the logical indexes of what set holds inside scope: its cores when it holds
 * each of them whole (returns "core"), else its hardware threads (returns "hwt"). */
static const char *pl_indexes(const pl_t *c, hwloc_obj_t scope, hwloc_const_bitmap_t set,
                              hwloc_bitmap_t idx, hwloc_bitmap_t tmp)
{
  int whole = 0;
  hwloc_bitmap_zero(idx);
  for (hwloc_obj_t k = pl_next(c, HWLOC_OBJ_CORE, NULL); k; k = pl_next(c, HWLOC_OBJ_CORE, k)) {
    hwloc_bitmap_and(tmp, k->cpuset, c->allowed);
    if (!hwloc_bitmap_intersects(tmp, set) || !hwloc_bitmap_intersects(tmp, scope->cpuset))
      continue;
    whole = hwloc_bitmap_isincluded(tmp, set);
    if (!whole)
      break;
    hwloc_bitmap_set(idx, k->logical_index);
  }
  if (whole)
    return "core";
  hwloc_bitmap_zero(idx);
  for (hwloc_obj_t p = pl_next(c, HWLOC_OBJ_PU, NULL); p; p = pl_next(c, HWLOC_OBJ_PU, p))
    if (hwloc_bitmap_isset(set, p->os_index) && hwloc_bitmap_isset(scope->cpuset, p->os_index))
      hwloc_bitmap_set(idx, p->logical_index);
  return "hwt";
}

/* Describes a binding as Open MPI 5 does: "package[0][core:0-1]", one such part per package
 * it touches, separated by spaces ("[core:0-1]" on a machine without packages). Returns a
 * malloc'd string or NULL. */
static char *pl_describe(const pl_t *c, hwloc_const_bitmap_t set)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  hwloc_bitmap_t idx = hwloc_bitmap_alloc(), tmp = hwloc_bitmap_alloc();
  int ok = f != NULL && idx != NULL && tmp != NULL;
  int pkgs = pl_next(c, HWLOC_OBJ_PACKAGE, NULL) != NULL;
  const char *sep = "";
  hwloc_obj_t s = pkgs ? pl_next(c, HWLOC_OBJ_PACKAGE, NULL) : hwloc_get_root_obj(c->topo);
  for (; ok && s != NULL; s = pkgs ? pl_next(c, HWLOC_OBJ_PACKAGE, s) : NULL) {
    if (!hwloc_bitmap_intersects(s->cpuset, set))
      continue;
    const char *kind = pl_indexes(c, s, set, idx, tmp);
    char *list = NULL;
    ok = hwloc_bitmap_list_asprintf(&list, idx) >= 0;
    if (ok && pkgs)
      fprintf(f, "%spackage[%u][%s:%s]", sep, s->logical_index, kind, list);
    else if (ok)
      fprintf(f, "[%s:%s]", kind, list);
    free(list);
    sep = " ";
  }
  if (f != NULL && fclose(f) != 0)
    ok = 0;
  hwloc_bitmap_free(idx);
  hwloc_bitmap_free(tmp);
  if (!ok) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* The binding level when none was given (see placement.h). */
static tubo__place_level_t pl_default_bind(tubo__place_level_t map_by, tubo__place_level_t map,
                                           int nranks, int oversubscribed)
{
  if (oversubscribed)
    return TUBO__PL_NONE;
  if (map_by != TUBO__PL_DEFAULT)
    return map == TUBO__PL_SLOT ? TUBO__PL_CORE : map;
  return nranks <= 2 ? TUBO__PL_CORE : TUBO__PL_PACKAGE;
}

/* Places every rank of p, whose policies are resolved, on the units of c. */
static int pl_place(const pl_t *c, tubo__placement_t *p)
{
  int *order = calloc((size_t)c->nunits, sizeof *order);
  if (order == NULL)
    return TUBO_ENOMEM;
  int rc = 0;
  if (p->map_by == TUBO__PL_L3 || p->map_by == TUBO__PL_NUMA || p->map_by == TUBO__PL_PACKAGE)
    rc = pl_order(c, pl_type(p->map_by), order);
  else
    for (int i = 0; i < c->nunits; i++)
      order[i] = i;
  for (int r = 0; rc == 0 && r < p->nranks; r++) {
    hwloc_obj_t u = c->units[order[r % c->nunits]];
    tubo__place_rank_t *pr = &p->rank[r];
    pr->unit = (int)u->logical_index;
    if (p->bind_to == TUBO__PL_NONE)
      continue;
    pr->cpuset = hwloc_bitmap_alloc();
    if (pr->cpuset == NULL) {
      rc = TUBO_ENOMEM;
      break;
    }
    pl_bind_set(c, p->bind_to, u, r / c->nunits, pr->cpuset);
    if (hwloc_bitmap_isequal(pr->cpuset, c->allowed)) {
      /* Bound to every allowed processor is not bound (as mpirun reports it). */
      hwloc_bitmap_free(pr->cpuset);
      pr->cpuset = NULL;
      continue;
    }
    if ((pr->where = pl_describe(c, pr->cpuset)) == NULL)
      rc = TUBO_ENOMEM;
  }
  free(order);
  return rc;
}

int tubo__place_compute(const tubo__topo_t *t, tubo__place_level_t map_by,
                        tubo__place_level_t bind_to, int nranks, tubo__placement_t **out)
{
  *out = NULL;
  if (nranks < 1 || map_by == TUBO__PL_NONE || bind_to == TUBO__PL_SLOT)
    return TUBO_EINVAL;
  if (!tubo__place_level_present(t, map_by) || !tubo__place_level_present(t, bind_to))
    return TUBO_ENOTSUP;
  pl_t c;
  pl_init(&c, t);
  tubo__place_level_t map = map_by != TUBO__PL_DEFAULT ? map_by
                            : nranks <= 2              ? TUBO__PL_CORE
                                                       : TUBO__PL_PACKAGE;
  tubo__placement_t *p = calloc(1, sizeof *p);
  int rc = p != NULL ? pl_units(&c, map == TUBO__PL_HWTHREAD) : TUBO_ENOMEM;
  if (rc == 0 && c.nunits == 0)
    rc = TUBO_ETOPO;
  if (rc == 0 && (p->rank = calloc((size_t)nranks, sizeof *p->rank)) == NULL)
    rc = TUBO_ENOMEM;
  if (rc == 0) {
    p->nranks = nranks;
    p->nslots = c.nunits;
    p->oversubscribed = nranks > c.nunits;
    p->map_by = map;
    p->bind_to = bind_to != TUBO__PL_DEFAULT
                     ? bind_to
                     : pl_default_bind(map_by, map, nranks, p->oversubscribed);
    rc = pl_place(&c, p);
  }
  free(c.units);
  if (rc != 0) {
    tubo__placement_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

void tubo__placement_free(tubo__placement_t *p)
{
  if (p == NULL)
    return;
  for (int r = 0; p->rank != NULL && r < p->nranks; r++) {
    if (p->rank[r].cpuset != NULL)
      hwloc_bitmap_free(p->rank[r].cpuset);
    free(p->rank[r].where);
  }
  free(p->rank);
  free(p);
}

int tubo__place_bind_self(const tubo__topo_t *t, const tubo__placement_t *p, int r)
{
  if (r < 0 || r >= p->nranks)
    return TUBO_EINVAL;
  if (p->rank[r].cpuset == NULL)
    return 0;
  return hwloc_set_cpubind(tubo__topo_hwloc(t), p->rank[r].cpuset, HWLOC_CPUBIND_PROCESS) == 0
             ? 0
             : TUBO_ETOPO;
}
