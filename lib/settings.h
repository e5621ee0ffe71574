/* SPDX-License-Identifier: MIT */
/* Tunable settings, read from TUBO_* environment variables (documented in doc/settings.md). */
#ifndef TUBO_SETTINGS_H
#define TUBO_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

/* The value of environment variable name as a size (suffixes k, m, g accepted), or dflt
 * when unset or not such a number (a sign, garbage, more than 64 bits); the result is
 * clamped to [lo, hi] either way. */
uint64_t tubo__setting_u64(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi);

/* Parses a setting's value as tubo__setting_u64 does: "N", "Nk", "Nm" or "Ng". Returns 0,
 * or -1 for anything else (tuboinfo tells which settings it ignores). */
int tubo__setting_parse(const char *s, uint64_t *out);

/* The defaults that no other header names (waitpol.c, world.c): how long a waiting rank
 * spins before it sleeps with a processing unit per rank; how long at most it polls and
 * yields when ranks share units, and the least that adapts down to; its longest sleep. */
#define TUBO__SPIN_NS_DEFAULT  50000u
#define TUBO__SPIN_NS_MAX      10000000000ull
#define TUBO__YIELD_NS_DEFAULT 1000000u
#define TUBO__YIELD_NS_MIN     20000u
#define TUBO__SLEEP_MS_DEFAULT 100u
#define TUBO__SLEEP_MS_MAX     1000u

/* The heap per process tree of the objects made by _create (patterns/objheap.c): address
 * space, whose pages are reserved only as blocks are used; the most is half of what a heap
 * may span (TUBO__HEAP_MAX). */
#define TUBO__PROCESS_HEAP_DEFAULT ((uint64_t)16 << 30)
#define TUBO__PROCESS_HEAP_MIN     ((uint64_t)1 << 20)
#define TUBO__PROCESS_HEAP_MAX     ((uint64_t)1 << 39)

#endif /* TUBO_SETTINGS_H */
