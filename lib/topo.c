/* SPDX-License-Identifier: MIT */
/* The library's use of hwloc (topo.h). */
#include "config.h"

#include "topo.h"

#include <hwloc.h>
#include <stdlib.h>

#include "tubo.h"

struct tubo__topo {
  hwloc_topology_t topo;
};

/* Loads this machine, or the XML file path names when it is not NULL. */
static int topo_load(const char *path, tubo__topo_t **out)
{
  tubo__topo_t *t = calloc(1, sizeof *t);
  if (t == NULL)
    return TUBO_ENOMEM;
  if (hwloc_topology_init(&t->topo) != 0) {
    free(t);
    return TUBO_ETOPO;
  }
  /* Devices do not matter for placement and cost milliseconds to discover. */
  hwloc_topology_set_io_types_filter(t->topo, HWLOC_TYPE_FILTER_KEEP_NONE);
  if ((path != NULL && hwloc_topology_set_xml(t->topo, path) != 0) ||
      hwloc_topology_load(t->topo) != 0) {
    hwloc_topology_destroy(t->topo);
    free(t);
    return TUBO_ETOPO;
  }
  *out = t;
  return 0;
}

int tubo__topo_load(tubo__topo_t **out)
{
  return topo_load(NULL, out);
}

int tubo__topo_load_xml(const char *path, tubo__topo_t **out)
{
  return topo_load(path, out);
}

struct hwloc_topology *tubo__topo_hwloc(const tubo__topo_t *t)
{
  return t->topo;
}

void tubo__topo_free(tubo__topo_t *t)
{
  if (t == NULL)
    return;
  hwloc_topology_destroy(t->topo);
  free(t);
}

int tubo__topo_npus(const tubo__topo_t *t)
{
  int n = hwloc_bitmap_weight(hwloc_topology_get_allowed_cpuset(t->topo));
  return n > 0 ? n : 1;
}

int tubo__topo_membind_near_self(tubo__topo_t *t, void *addr, size_t len, int *node)
{
  *node = -1;
  if (!hwloc_topology_is_thissystem(t->topo))
    return 0;
  if (hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE) <= 1)
    return 0;
  hwloc_bitmap_t cpus = hwloc_bitmap_alloc();
  hwloc_bitmap_t nodes = hwloc_bitmap_alloc();
  int rc = 0;
  if (cpus == NULL || nodes == NULL) {
    rc = TUBO_ENOMEM;
    goto out;
  }
  if (hwloc_get_cpubind(t->topo, cpus, HWLOC_CPUBIND_PROCESS) != 0 ||
      hwloc_bitmap_isincluded(hwloc_topology_get_allowed_cpuset(t->topo), cpus))
    goto out; /* not bound: first touch decides */
  hwloc_cpuset_to_nodeset(t->topo, cpus, nodes);
  if (hwloc_bitmap_iszero(nodes))
    goto out;
  if (hwloc_set_area_membind(t->topo, addr, len, nodes, HWLOC_MEMBIND_BIND,
                             HWLOC_MEMBIND_BYNODESET) != 0) {
    rc = TUBO_ETOPO;
    goto out;
  }
  hwloc_obj_t n = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE, 0);
  for (; n != NULL; n = n->next_cousin)
    if (hwloc_bitmap_isset(nodes, n->os_index)) {
      *node = (int)n->logical_index;
      break;
    }
out:
  hwloc_bitmap_free(cpus);
  hwloc_bitmap_free(nodes);
  return rc;
}

/* The logical index of the object of type holding all of cpus, or -1. */
static int topo_covering(hwloc_topology_t topo, hwloc_const_cpuset_t cpus, hwloc_obj_type_t type)
{
  hwloc_obj_t o = hwloc_get_obj_covering_cpuset(topo, cpus);
  while (o != NULL && o->type != type)
    o = o->parent;
  return o ? (int)o->logical_index : -1;
}

void tubo__topo_locality_of(tubo__topo_t *t, const struct hwloc_bitmap_s *bound,
                            tubo__locality_t *loc)
{
  loc->l2 = loc->l3 = loc->numa = loc->package = loc->core = -1;
  hwloc_bitmap_t cpus = hwloc_bitmap_alloc();
  if (cpus == NULL)
    return;
  hwloc_bitmap_copy(cpus, bound != NULL ? bound : hwloc_topology_get_allowed_cpuset(t->topo));
  hwloc_bitmap_and(cpus, cpus, hwloc_topology_get_allowed_cpuset(t->topo));
  if (!hwloc_bitmap_iszero(cpus)) {
    loc->l2 = topo_covering(t->topo, cpus, HWLOC_OBJ_L2CACHE);
    loc->l3 = topo_covering(t->topo, cpus, HWLOC_OBJ_L3CACHE);
    loc->package = topo_covering(t->topo, cpus, HWLOC_OBJ_PACKAGE);
    loc->core = topo_covering(t->topo, cpus, HWLOC_OBJ_CORE);
    /* NUMA nodes hang off the tree as memory children: find the one whose cpuset holds it. */
    hwloc_obj_t n = NULL;
    while ((n = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE, n)) != NULL)
      if (n->cpuset && hwloc_bitmap_isincluded(cpus, n->cpuset)) {
        loc->numa = (int)n->logical_index;
        break;
      }
  }
  hwloc_bitmap_free(cpus);
}

void tubo__topo_locality_self(tubo__topo_t *t, tubo__locality_t *loc)
{
  hwloc_bitmap_t cpus = hwloc_bitmap_alloc();
  if (cpus != NULL && hwloc_get_cpubind(t->topo, cpus, HWLOC_CPUBIND_PROCESS) == 0) {
    tubo__topo_locality_of(t, cpus, loc);
  } else {
    tubo__topo_locality_of(t, NULL, loc);
  }
  hwloc_bitmap_free(cpus);
}

void tubo__topo_here_of(tubo__topo_t *t, const struct hwloc_bitmap_s *cpus, tubo__here_t *h)
{
  h->npus = tubo__topo_npus(t);
  h->mem_node = -1;
  if (cpus == NULL) {
    tubo__topo_locality_self(t, &h->loc);
    return;
  }
  tubo__topo_locality_of(t, cpus, &h->loc);
  if (hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE) <= 1)
    return;
  hwloc_bitmap_t nodes = hwloc_bitmap_alloc();
  if (nodes == NULL)
    return;
  hwloc_cpuset_to_nodeset(t->topo, cpus, nodes);
  if (hwloc_bitmap_weight(nodes) == 1)
    h->mem_node = hwloc_bitmap_first(nodes);
  hwloc_bitmap_free(nodes);
}

void tubo__topo_here_self(tubo__topo_t *t, tubo__here_t *h)
{
  tubo__topo_here_of(t, NULL, h);
}
