/* SPDX-License-Identifier: MIT */
/* What the library asks of hwloc: the machine's size, NUMA-local memory, and what two
 * cores share. Placement of ranks (for tuborun) lives in tools/placement.h. */
#ifndef TUBO_TOPO_H
#define TUBO_TOPO_H

#include <stddef.h>

typedef struct tubo__topo tubo__topo_t;
struct hwloc_bitmap_s;

/* Loads the topology of this machine (or of the XML file HWLOC_XMLFILE names).
 * Returns 0, TUBO_ETOPO or TUBO_ENOMEM. */
int tubo__topo_load(tubo__topo_t **out);
/* Loads the topology an hwloc XML file describes (tuborun --topology). It is not this
 * machine: nothing may be bound with it. Returns 0, TUBO_ETOPO or TUBO_ENOMEM. */
int tubo__topo_load_xml(const char *path, tubo__topo_t **out);
void tubo__topo_free(tubo__topo_t *t);

/* The hwloc topology itself, for the modules that walk it (tools/placement.c). */
struct hwloc_topology *tubo__topo_hwloc(const tubo__topo_t *t);

/* Processing units (hardware threads) the job may use: the allowed set, which honours the
 * cgroup cpuset. */
int tubo__topo_npus(const tubo__topo_t *t);

/* Binds the pages of [addr, addr + len) to the NUMA node(s) near the calling process's
 * current binding, so that memory this rank reads often is local to it. Sets *node to the
 * node's logical index or -1 when there is nothing to bind (one node, or not bound).
 * Returns 0, or TUBO_ETOPO when the kernel refused. */
int tubo__topo_membind_near_self(tubo__topo_t *t, void *addr, size_t len, int *node);

/* Where the calling process runs: the logical index of the smallest L2, L3, NUMA node,
 * package and core that hold its whole binding, each -1 where none does (an unbound
 * process on a machine of two packages has package -1). Two ranks with the same L2 or L3
 * index share that cache. */
typedef struct tubo__locality {
  int l2, l3, numa, package, core;
} tubo__locality_t;

void tubo__topo_locality_self(tubo__topo_t *t, tubo__locality_t *loc);

/* The same for a process bound to cpus (NULL: not bound, the whole allowed set), as
 * tuboinfo asks it of the ranks tuborun would place. */
void tubo__topo_locality_of(tubo__topo_t *t, const struct hwloc_bitmap_s *cpus,
                            tubo__locality_t *loc);

/* What a rank needs to know of the machine at start-up. tuborun, which reads the topology
 * once, hands it to each rank (the launch contract's TUBO_PLACE), so that hundreds of
 * ranks do not each load hwloc, which costs tens of milliseconds of processor time per
 * process. */
typedef struct tubo__here {
  int npus;             /* processing units the job may use (tubo__topo_npus) */
  tubo__locality_t loc; /* where the rank runs */
  int mem_node;         /* OS index of the one NUMA node holding the rank's binding, whose
                         * memory it should use; -1: none (not bound, one node, or several) */
} tubo__here_t;

/* The facts of a process bound to cpus; NULL: one that keeps the calling process's
 * binding (a child tuborun does not bind inherits it), mem_node -1. */
void tubo__topo_here_of(tubo__topo_t *t, const struct hwloc_bitmap_s *cpus, tubo__here_t *h);

/* The facts of the calling process, as it is bound now; mem_node is -1, since such a
 * process binds its memory with tubo__topo_membind_near_self. */
void tubo__topo_here_self(tubo__topo_t *t, tubo__here_t *h);

#endif /* TUBO_TOPO_H */
