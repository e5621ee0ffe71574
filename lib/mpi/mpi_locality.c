/* SPDX-License-Identifier: MIT */
/* Which peers MPI reaches through shared memory (mpi_transport.h): those on this host,
 * unless Open MPI was told not to use its shared-memory BTL, or to use a PML without
 * BTLs. The MPI transport chooses
 * how messages travel by it: through shared memory MPI copies a large message once and
 * at once, so that tubo's RTS pays; over a network an MPI message that meets a posted
 * receive is faster, so frames carry messages up to the largest (doc/mpi.md). */
#include "config.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi_transport.h"
#include "tubo.h"

/* Whether word is one of the comma-separated names in list. */
static int locality_listed(const char *list, const char *word)
{
  size_t n = strlen(word);
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t k = end ? (size_t)(end - p) : strlen(p);
    if (k == n && strncmp(p, word, n) == 0)
      return 1;
    if (end == NULL)
      break;
    p = end + 1;
  }
  return 0;
}

/* Whether Open MPI's selection in MCA parameter name ("a,b" includes only those, "^a,b"
 * excludes those, empty: no choice made) lets it use one of the components named in
 * want (a NULL-ended list). MPI_T's control variables tell; a variable this MPI lacks,
 * or cannot read, is taken as no choice made. MPI_T must be initialized. */
static int locality_allows(const char *name, const char *const *want)
{
  int idx, count = 0, ok = 1;
  MPI_T_cvar_handle h;
  if (MPI_T_cvar_get_index(name, &idx) != MPI_SUCCESS ||
      MPI_T_cvar_handle_alloc(idx, NULL, &h, &count) != MPI_SUCCESS)
    return 1;
  char *v = count > 0 ? calloc((size_t)count + 1, 1) : NULL;
  if (v != NULL && MPI_T_cvar_read(h, v) == MPI_SUCCESS && v[0] != '\0') {
    int ex = v[0] == '^';
    const char *list = v + ex;
    int named = 0;
    for (int i = 0; want[i] != NULL && !named; i++)
      named = locality_listed(list, want[i]);
    ok = ex ? !named : named;
  }
  free(v);
  MPI_T_cvar_handle_free(&h);
  return ok;
}

/* Whether Open MPI moves messages between ranks of a host through its shared-memory BTL
 * (vader, or sm, its alias): only its ob1 PML uses BTLs ("pml" set to cm or ucx moves
 * them through an MTL or UCX, as over a network), and the "btl" parameter must let vader
 * in. An MPI without these variables is taken to use shared memory within a host, as
 * every MPI does by default. An unset "pml" is taken as ob1: Open MPI picks UCX by
 * itself only where a UCX device is found, which tubo cannot see. */
static int locality_btl_sm(void)
{
  static const char *const ob1[] = {"ob1", NULL}, *const vader[] = {"vader", "sm", NULL};
  int provided;
  if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS)
    return 1;
  int ok = locality_allows("pml", ob1) && locality_allows("btl", vader);
  MPI_T_finalize();
  return ok;
}

/* Sets mark[r] to v for every rank r of comm that is in sub. Returns 0 or an error. */
static int locality_mark(MPI_Comm comm, MPI_Comm sub, unsigned char *mark, unsigned char v)
{
  int size, n;
  MPI_Comm_size(comm, &size);
  MPI_Comm_size(sub, &n);
  MPI_Group g, sg;
  int *in = malloc((size_t)n * sizeof *in), *out = malloc((size_t)n * sizeof *out);
  int rc = in && out ? 0 : TUBO_ENOMEM;
  if (rc == 0 && MPI_Comm_group(sub, &sg) == MPI_SUCCESS) {
    if (MPI_Comm_group(comm, &g) == MPI_SUCCESS) {
      for (int i = 0; i < n; i++)
        in[i] = i;
      if (MPI_Group_translate_ranks(sg, n, in, g, out) != MPI_SUCCESS)
        rc = TUBO_ELAUNCH;
      for (int i = 0; i < n && rc == 0; i++)
        if (out[i] >= 0 && out[i] < size)
          mark[out[i]] = v;
      MPI_Group_free(&g);
    }
    MPI_Group_free(&sg);
  }
  free(in);
  free(out);
  return rc;
}

int tubo__mpi_shm_peers(MPI_Comm comm, MPI_Comm host, MPI_Comm node, unsigned char *shm)
{
  int size;
  MPI_Comm_size(comm, &size);
  memset(shm, 0, (size_t)size);
  int rc = locality_mark(comm, host, shm, 1);
  if (rc == 0)
    rc = locality_mark(comm, node, shm, 0);
  if (rc != 0)
    return rc;
  /* Only pretend nodes put MPI peers on this host: MPI's settings are read only then
   * (MPI_T costs milliseconds at start-up). */
  int any = 0;
  for (int r = 0; r < size && !any; r++)
    any = shm[r];
  if (any && !locality_btl_sm())
    memset(shm, 0, (size_t)size);
  return 0;
}
