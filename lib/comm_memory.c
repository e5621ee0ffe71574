/* SPDX-License-Identifier: MIT */
/* What a job's shared memory holds (tubo_comm_shm_bytes). */
#include "config.h"

#include "transport.h"
#include "tubo.h"
#include "world.h"

int tubo_comm_shm_bytes(const tubo_comm_t *comm, uint64_t *bytes)
{
  int rc = tubo__comm_check(comm);
  if (rc != 0)
    return rc;
  if (bytes == NULL)
    return TUBO_EINVAL;
  tubo__world_t *w = comm->w;
  for (int i = 0; i < w->ntports; i++) {
    const tubo__tport_t *t = &w->tports[i];
    if (t->ops->mem_used != NULL)
      return t->ops->mem_used(t->state, bytes);
  }
  return TUBO_ENOTSUP;
}
