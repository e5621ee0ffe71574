/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "size_text.h"

#include <stdio.h>

const char *tubo__size_text(uint64_t bytes, char *buf, size_t cap)
{
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (u < 6 && bytes >> (10 * (u + 1)) != 0)
    u++;
  uint64_t whole = bytes >> (10 * u);
  if (whole << (10 * u) == bytes)
    snprintf(buf, cap, "%llu %s", (unsigned long long)whole, unit[u]);
  else if (bytes < (1u << 20))
    snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
  else
    snprintf(buf, cap, "%.1f %s", (double)bytes / (double)(1ull << (10 * u)), unit[u]);
  return buf;
}
