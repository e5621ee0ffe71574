/* SPDX-License-Identifier: MIT */
/* Where tuborun's ranks run: mapping ranks onto cores and binding them there, as mpirun does.
 *
 * Placement is a pure function of a topology, the two policies and the number of ranks, so
 * that tests can check it against real machines' XML exports. Only the topology's allowed
 * cpuset is used (the cgroup cpuset, on this machine), and indexes are hwloc's logical ones,
 * as lstopo shows them.
 *
 * Mapping picks each rank's core (its hardware thread, mapping by hwthread): by core, slot
 * or hwthread in order; by l3, numa or package round-robin over those objects, skipping full
 * ones. Ranks beyond the number of slots start over from the first: oversubscribed, ranks
 * share cores round-robin. Binding then widens the rank's core to the object of the binding
 * level that holds it. */
#ifndef TUBO_PLACEMENT_H
#define TUBO_PLACEMENT_H

#include <hwloc.h>

#include "topo.h"

/* The levels ranks are mapped by and bound to. */
typedef enum tubo__place_level {
  TUBO__PL_DEFAULT = 0, /* not given: Open MPI's defaults apply */
  TUBO__PL_HWTHREAD,
  TUBO__PL_CORE,
  TUBO__PL_L3,
  TUBO__PL_NUMA,
  TUBO__PL_PACKAGE,
  TUBO__PL_SLOT, /* mapping only: one rank per core, in order */
  TUBO__PL_NONE  /* binding only: not bound */
} tubo__place_level_t;

/* Parses a level as mpirun spells it: core, hwthread, l3cache (or l3), numa, package (or
 * socket), and slot when mapping or none when binding; any case. Returns 0 or TUBO_EINVAL. */
int tubo__place_parse(const char *s, int binding, tubo__place_level_t *out);

/* The canonical name of a level ("core", "package", ...). */
const char *tubo__place_level_name(tubo__place_level_t l);

/* Whether the topology has an object of level l holding allowed processors; slot, none and
 * default always count as present. */
int tubo__place_level_present(const tubo__topo_t *t, tubo__place_level_t l);

/* Slots: how many ranks fit without oversubscription. The allowed cores, or hardware threads
 * when mapping by hwthread (a machine that shows no cores counts its hardware threads). */
int tubo__place_slots(const tubo__topo_t *t, tubo__place_level_t map_by);

typedef struct tubo__place_rank {
  hwloc_bitmap_t cpuset; /* where the rank is bound (allowed processors only); NULL: unbound,
                          * also where the binding would be every allowed processor */
  char *where; /* the binding in Open MPI's words, "package[0][core:0-1]"; NULL: unbound */
  int unit;    /* logical index of the core (hwthread mapping: hardware thread) it maps to */
} tubo__place_rank_t;

typedef struct tubo__placement {
  int nranks;
  tubo__place_level_t map_by, bind_to; /* as applied, defaults resolved */
  int nslots;                          /* tubo__place_slots for map_by */
  int oversubscribed;                  /* nranks > nslots */
  tubo__place_rank_t *rank;            /* nranks entries */
} tubo__placement_t;

/* Places nranks ranks on topology t. map_by and bind_to may be TUBO__PL_DEFAULT:
 *  - mapping: core for 2 ranks or fewer, else package;
 *  - binding: none when oversubscribed; else the level mapped by (slot: core) when map_by
 *    was given; else core for 2 ranks or fewer, else package.
 * A default level the machine lacks (no packages) falls back to the whole allowed set.
 * Returns 0; TUBO_EINVAL for nranks < 1 or a level in the wrong role (map-by none, bind-to
 * slot); TUBO_ENOTSUP when a level asked for is not present; TUBO_ENOMEM. */
int tubo__place_compute(const tubo__topo_t *t, tubo__place_level_t map_by,
                        tubo__place_level_t bind_to, int nranks, tubo__placement_t **out);

void tubo__placement_free(tubo__placement_t *p);

/* Binds the calling process (all its threads) where rank r belongs; nothing to do for an
 * unbound rank. Returns 0, or TUBO_ETOPO with errno saying why the kernel refused. */
int tubo__place_bind_self(const tubo__topo_t *t, const tubo__placement_t *p, int r);

#endif /* TUBO_PLACEMENT_H */
