/* SPDX-License-Identifier: MIT */
/* What the machine is and how busy, as Linux tells it in /proc. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "os/os.h"
#include "tubo.h"

int tubo__os_cpu_model(char *buf, size_t cap)
{
  if (cap == 0)
    return TUBO_EINVAL;
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (f == NULL)
    return TUBO_ENOTSUP;
  char line[512];
  int rc = TUBO_ENOTSUP;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "model name", 10) == 0) {
      const char *v = strchr(line, ':');
      v = v != NULL ? v + 1 + strspn(v + 1, " \t") : line;
      size_t n = strcspn(v, "\n");
      if (n >= cap)
        n = cap - 1;
      memcpy(buf, v, n);
      buf[n] = '\0';
      rc = 0;
      break;
    }
  fclose(f);
  return rc;
}

int tubo__os_load_average(double *load)
{
  FILE *f = fopen("/proc/loadavg", "re");
  if (f == NULL)
    return TUBO_ENOTSUP;
  int got = fscanf(f, "%lf", load) == 1;
  fclose(f);
  return got && *load >= 0 && *load < 1e6 ? 0 : TUBO_ENOTSUP;
}

int tubo__os_cpu_is_intel(void)
{
#if defined(__x86_64__) || defined(__i386__)
  unsigned int max, b, c, d;
  if (__get_cpuid(0, &max, &b, &c, &d) == 0)
    return 0;
  return b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu; /* "Genu" "ineI" "ntel" */
#else
  return 0;
#endif
}
