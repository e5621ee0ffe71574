/* SPDX-License-Identifier: MIT */
/* Which way large messages go between two ranks of a node, measured: for each kind of pair
 * of cores (jobctl.h's TUBO__PAIR_*), tuborun times the channel (two copies through a
 * ring, pipelined on both cores, in the library's frames) against single copy
 * (process_vm_readv of the peer's memory; split as the library splits it, shm_split.h,
 * where the receiver reads chunks while the sender writes others with process_vm_writev)
 * on a representative pair of cores, and the ranks send by single copy the messages of the
 * size classes (jobctl.h's tubo__rndv_class) at whose measured size it was faster. The figures
 * are kept in a cache file per machine, keyed by the CPU, the kernel, the topology, the
 * channel's layout and the size from which single copies are split. */
#ifndef TUBO_PROTOCOL_H
#define TUBO_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "launch/jobctl.h"
#include "topo.h"

/* The sizes measured: jobctl.h's size classes. */
#define TUBO__PROTO_NSIZES TUBO__RNDV_NSIZES

typedef struct tubo__proto {
  /* Per kind: the choice, TUBO__RNDV_KNOWN | the mask of the sizes (1 << index in
   * tubo__proto_sizes) at which single copy won; 0 where not known. */
  uint32_t cma[TUBO__PAIR_KINDS];
  /* Per kind and size, what the measurement found (GB/s); 0 where it did not run. */
  double ring_gbps[TUBO__PAIR_KINDS][TUBO__PROTO_NSIZES];
  double cma_gbps[TUBO__PAIR_KINDS][TUBO__PROTO_NSIZES];
  int source[TUBO__PAIR_KINDS]; /* TUBO__RNDV_FROM_*, 0 where not known */
  /* The load average, in hundredths, when the figures were measured (the largest, for a
   * table measured in several jobs). */
  uint32_t load_centi;
} tubo__proto_t;

/* The load average now, in hundredths; 0 where /proc/loadavg cannot tell. */
uint32_t tubo__proto_load_now(void);

/* The sizes measured, in bytes. */
extern const size_t tubo__proto_sizes[TUBO__PROTO_NSIZES];

/* The name of a kind of pair, for reports and the cache file ("l2", "l3", "package",
 * "far"). */
const char *tubo__proto_kind_name(int kind);

/* A representative pair of processing units (OS indexes) of each kind on this machine,
 * among the allowed ones; -1 where the machine has no pair of that kind. */
void tubo__proto_pairs(tubo__topo_t *t, int a[TUBO__PAIR_KINDS], int b[TUBO__PAIR_KINDS]);

/* The key of this machine's cache: CPU model, kernel, topology (the L2, L3 and package of
 * every allowed processing unit), the channel's data ring and frame sizes and split_min
 * (tubo__shm_split_min). */
uint64_t tubo__proto_key(tubo__topo_t *t, size_t dbytes, size_t frame, size_t split_min);

/* The choice from figures of the sizes measured (GB/s, TUBO__PROTO_NSIZES each):
 * TUBO__RNDV_KNOWN | the mask of the sizes at which single copy was faster. A window (single
 * copy faster at 1 MiB, the channel at 4 MiB) stays one: each size class goes its own way. */
uint32_t tubo__proto_choice(const double *ring, const double *cma);

/* The choice in words, for reports: "single copy at 1 MiB; channel at 64 KiB, 256 KiB,
 * 4 MiB", "single copy at every size measured", "channel at every size measured". */
void tubo__proto_choice_text(uint32_t cma, char *buf, size_t n);

/* The cache file's path: $XDG_CACHE_HOME/tubo/protocol-KEY, or ~/.cache/tubo/...
 * Returns 0, or -1 when neither directory is known or the path does not fit. */
int tubo__proto_cache_path(char *buf, size_t n, uint64_t key);

/* Reads the cache at path into p (source TUBO__RNDV_FROM_CACHE for each kind it holds,
 * and the load it was measured at).
 * Returns 0, or -1 when there is none or it is not a cache of this key: anything that is
 * not exactly what tubo__proto_cache_write writes is ignored whole, p left unchanged. */
int tubo__proto_cache_read(const char *path, uint64_t key, tubo__proto_t *p);

/* Writes p's known choices and load to path, making its directory (0700), through a
 * file renamed into place. Returns 0 or -1. */
int tubo__proto_cache_write(const char *path, uint64_t key, const tubo__proto_t *p);

/* Measures the kinds in mask (1 << kind) whose pair of units exists (tubo__proto_pairs)
 * and fills p for them (source TUBO__RNDV_FROM_MEASURED). dbytes and frame: the channel's
 * data ring and largest frame; split_min: single copies of the sizes tubo__shm_split_wanted
 * says are split. Kinds that could not be measured (single copy denied, a process that
 * could not start, a machine too busy to finish within a second) stay unknown. Returns
 * the mask of the kinds measured. t must be this machine's topology. */
unsigned tubo__proto_measure(tubo__topo_t *t, unsigned mask, size_t dbytes, size_t frame,
                             size_t split_min, tubo__proto_t *p);

#endif /* TUBO_PROTOCOL_H */
