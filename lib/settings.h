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

#endif /* TUBO_SETTINGS_H */
