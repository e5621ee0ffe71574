/* SPDX-License-Identifier: MIT */
/* tuboinfo: the build. Version, configure's arguments, where it installs, the compiler,
 * the hwloc and Open MPI it was built against, the transports compiled in. */
#include "config.h"

#include <hwloc.h>

#include "tubo.h"
#include "tuboinfo.h"

#ifdef TUBO_HAVE_MPI
#define INFO_MPI 1
#else
#define INFO_MPI 0
#endif
#ifdef TUBO_HAVE_CXX
#define INFO_CXX 1
#else
#define INFO_CXX 0
#endif

int tuboinfo_build(tuboinfo_t *t)
{
  int all = t->o->all;
  tuboinfo_section(t, "tubo %s", tubo_version_string());
  tuboinfo_add(t, "package", NULL, "tubo %s", tubo_version_string());
  tuboinfo_add(t, "version:full", "version", "%s", tubo_version_string());
  tuboinfo_add(t, "version:header", all ? "version of tubo.h" : NULL, "%d.%d.%d",
               TUBO_VERSION_MAJOR, TUBO_VERSION_MINOR, TUBO_VERSION_PATCH);
  const char *args = TUBO_CONFIGURE_ARGS;
  while (*args == ' ')
    args++;
  tuboinfo_add(t, "build:configure", "configure arguments", "%s", *args ? args : "(none)");
  tuboinfo_add(t, "build:prefix", "prefix", "%s", TUBOINFO_PREFIX);
  tuboinfo_add(t, "build:bindir", all ? "programs" : NULL, "%s", TUBOINFO_BINDIR);
  tuboinfo_add(t, "build:libdir", all ? "library" : NULL, "%s", TUBOINFO_LIBDIR);
  tuboinfo_add(t, "build:includedir", all ? "header" : NULL, "%s", TUBOINFO_INCLUDEDIR);
  tuboinfo_add(t, "build:cc", "compiler", "%s", TUBO_BUILD_CC);
  tuboinfo_add(t, "build:cflags", all ? "compiler flags" : NULL, "%s", TUBO_BUILD_CFLAGS);
  tuboinfo_add(t, "build:wrappers", "compiler wrappers", "%s",
               INFO_CXX ? "tubocc, tubocxx" : "tubocc");
  unsigned api = hwloc_get_api_version();
  tuboinfo_add(t, NULL, "hwloc", "%s (built against), %u.%u.%u (loaded)", TUBO_BUILD_HWLOC_VERSION,
               api >> 16, (api >> 8) & 0xff, api & 0xff);
  tuboinfo_add(t, "build:hwloc:built", NULL, "%s", TUBO_BUILD_HWLOC_VERSION);
  tuboinfo_add(t, "build:hwloc:loaded", NULL, "%u.%u.%u", api >> 16, (api >> 8) & 0xff, api & 0xff);
  const char *mpiv = TUBO_BUILD_MPI_VERSION[0] ? TUBO_BUILD_MPI_VERSION : "unknown";
  if (INFO_MPI)
    tuboinfo_add(t, NULL, "Open MPI", "yes, %s (built against): jobs across nodes under mpirun",
                 mpiv);
  else
    tuboinfo_add(t, NULL, "Open MPI", "no: jobs on one node, under tuborun");
  tuboinfo_add(t, "build:mpi:found", NULL, "%s", INFO_MPI ? "yes" : "no");
  if (INFO_MPI)
    tuboinfo_add(t, "build:mpi:version", NULL, "%s", mpiv);

  /* self reaches the rank itself; shm and pipe ranks of one node; mpi other nodes. */
  static const char *const names[] = {"self", "shm", "pipe", "mpi"};
  const int built[] = {1, 1, 1, INFO_MPI};
  tuboinfo_add(t, NULL, "transports", "%s, %s, %s%s%s", names[0], names[1], names[2],
               built[3] ? ", " : "", built[3] ? names[3] : "");
  for (int i = 0; i < 4; i++) {
    char key[32];
    snprintf(key, sizeof key, "transport:%s", names[i]);
    tuboinfo_add(t, key, NULL, "%s", built[i] ? "yes" : "no");
  }
  return 0;
}
