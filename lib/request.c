/* SPDX-License-Identifier: MIT */
/* The request pool: requests are recycled, and named by a 32-bit id (index and
 * generation) in frames, so that an id read from shared memory is checked, never followed. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "os/os.h"
#include "world.h"

#define REQ_CHUNK_SHIFT 8
#define REQ_CHUNK       (1u << REQ_CHUNK_SHIFT)
#define REQ_INDEX_BITS  22
#define REQ_INDEX_MASK  ((1u << REQ_INDEX_BITS) - 1)
#define REQ_MAX_CHUNKS  ((1u << REQ_INDEX_BITS) / REQ_CHUNK)

static int reqpool_grow(tubo__reqpool_t *p)
{
  if (p->nchunks >= REQ_MAX_CHUNKS)
    return TUBO_ENOMEM;
  tubo_request_t **chunks = realloc(p->chunks, (p->nchunks + 1) * sizeof *chunks);
  if (chunks == NULL)
    return TUBO_ENOMEM;
  p->chunks = chunks;
  tubo_request_t *c = calloc(REQ_CHUNK, sizeof *c);
  if (c == NULL)
    return TUBO_ENOMEM;
  /* Its pages mapped in one call: a fault per page costs tens of microseconds on some
   * virtual machines, and the loop below would take one on each. */
  tubo__os_prefault(c, REQ_CHUNK * sizeof *c);
  chunks[p->nchunks] = c;
  /* Push in reverse so that low indices are handed out first. */
  for (uint32_t i = REQ_CHUNK; i-- > 0;) {
    c[i].id = (p->nchunks << REQ_CHUNK_SHIFT) | i;
    c[i].pooled = 1;
    tubo__list_prepend(&p->free, &c[i].link);
  }
  p->nchunks++;
  return 0;
}

void tubo__reqpool_prepare(tubo__reqpool_t *p)
{
  if (p->nchunks == 0)
    (void)reqpool_grow(p); /* else the first request grows it */
}

tubo_request_t *tubo__req_alloc(tubo__world_t *w)
{
  tubo__reqpool_t *p = &w->pool;
  if (tubo__list_empty(&p->free) && reqpool_grow(p) != 0)
    return NULL;
  tubo_request_t *r = TUBO__LIST_ENTRY(tubo__list_pop(&p->free), tubo_request_t, link);
  uint32_t id = r->id;
  memset(r, 0, offsetof(tubo_request_t, cf));
  /* A new generation each time, so that a stale FIN cannot complete a reused request. */
  r->id = (id & REQ_INDEX_MASK) | (((id >> REQ_INDEX_BITS) + 1) << REQ_INDEX_BITS);
  r->pooled = 1;
  r->magic = TUBO__REQ_MAGIC;
  r->state = TUBO__RS_ACTIVE;
  r->w = w;
  return r;
}

void tubo__req_free(tubo__world_t *w, tubo_request_t *r)
{
  r->magic = 0;
  r->state = TUBO__RS_FREE;
  if (!r->pooled)
    return;
  tubo__list_prepend(&w->pool.free, &r->link);
}

tubo_request_t *tubo__req_lookup(tubo__world_t *w, uint32_t id)
{
  uint32_t index = id & REQ_INDEX_MASK;
  if ((index >> REQ_CHUNK_SHIFT) >= w->pool.nchunks)
    return NULL;
  tubo_request_t *r = &w->pool.chunks[index >> REQ_CHUNK_SHIFT][index & (REQ_CHUNK - 1)];
  if (r->id != id || r->magic != TUBO__REQ_MAGIC || r->state == TUBO__RS_FREE)
    return NULL;
  return r;
}

void tubo__reqpool_fini(tubo__reqpool_t *p)
{
  for (uint32_t i = 0; i < p->nchunks; i++)
    free(p->chunks[i]);
  free(p->chunks);
  memset(p, 0, sizeof *p);
}

void tubo__waitfin_complete(tubo__world_t *w, tubo_request_t *r, int error)
{
  if (r->state != TUBO__RS_ACTIVE)
    return;
  w->waitfin--;
  tubo__send_split_over(w, r);
  tubo__req_complete(r, error);
  if ((r->timed & TUBO__TIMED) && error == 0)
    tubo__send_timed_done(w, r);
}

void tubo__req_fail_waitfin(tubo__world_t *w, int peer, int error)
{
  if (w->waitfin == 0)
    return;
  tubo__reqpool_t *p = &w->pool;
  for (uint32_t c = 0; c < p->nchunks; c++)
    for (uint32_t i = 0; i < REQ_CHUNK; i++) {
      tubo_request_t *r = &p->chunks[c][i];
      if (r->magic == TUBO__REQ_MAGIC && r->kind == TUBO__REQ_SEND &&
          r->proto == TUBO__SP_WAITFIN && r->peer == peer)
        tubo__waitfin_complete(w, r, error);
    }
}

int tubo__req_in_pool(const tubo__reqpool_t *p, const tubo_request_t *r)
{
  uintptr_t a = (uintptr_t)r;
  for (uint32_t i = 0; i < p->nchunks; i++) {
    uintptr_t lo = (uintptr_t)p->chunks[i], hi = lo + REQ_CHUNK * sizeof *p->chunks[i];
    if (a >= lo && a < hi)
      return (a - lo) % sizeof *p->chunks[i] == 0;
  }
  return 0;
}
