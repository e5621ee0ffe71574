/* SPDX-License-Identifier: MIT */
/* Reading tunable settings from the environment (settings.h). */
#include "config.h"

#include "settings.h"

#include <errno.h>
#include <stdlib.h>

uint64_t tubo__setting_u64(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi)
{
  const char *s = getenv(name);
  if (s == NULL || *s == '\0')
    return dflt;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s)
    return dflt;
  switch (*end) {
  case 'k':
  case 'K':
    v <<= 10;
    end++;
    break;
  case 'm':
  case 'M':
    v <<= 20;
    end++;
    break;
  case 'g':
  case 'G':
    v <<= 30;
    end++;
    break;
  default:
    break;
  }
  if (*end != '\0')
    return dflt;
  if (v < lo)
    v = lo;
  if (v > hi)
    v = hi;
  return v;
}
