/* SPDX-License-Identifier: MIT */
/* Reading tunable settings from the environment (settings.h). */
#include "config.h"

#include "settings.h"

#include <errno.h>
#include <stdlib.h>

static uint64_t setting_clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* Anything but "N", "Nk", "Nm" or "Ng" is -1: a sign, garbage, a value that does not fit
 * in 64 bits. */
int tubo__setting_parse(const char *s, uint64_t *out)
{
  if (*s < '0' || *s > '9')
    return -1; /* strtoull would accept and negate "-1" */
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s)
    return -1;
  unsigned shift = 0;
  switch (*end) {
  case 'k':
  case 'K':
    shift = 10;
    break;
  case 'm':
  case 'M':
    shift = 20;
    break;
  case 'g':
  case 'G':
    shift = 30;
    break;
  default:
    break;
  }
  if (shift != 0) {
    if (v > (UINT64_MAX >> shift))
      return -1;
    v <<= shift;
    end++;
  }
  if (*end != '\0')
    return -1;
  *out = v;
  return 0;
}

uint64_t tubo__setting_u64(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi)
{
  const char *s = getenv(name);
  uint64_t v;
  if (s == NULL || tubo__setting_parse(s, &v) != 0)
    v = dflt;
  return setting_clamp(v, lo, hi);
}
