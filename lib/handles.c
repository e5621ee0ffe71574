/* SPDX-License-Identifier: MIT */
/* The live pattern handles (handles.h): an open-addressing hash set of addresses with
 * linear probing, at most half full, so that a lookup on every call costs a hash and a
 * probe or two. Deletion shifts later entries back, so that no tombstones pile up. */
#include "config.h"

#include "handles.h"

#include <stdint.h>
#include <stdlib.h>

#include "tubo.h"

typedef struct handle_slot {
  const void *h; /* NULL: empty */
  tubo__hkind_t kind;
} handle_slot_t;

const void *tubo__handle_last[TUBO__H_NKINDS];

static handle_slot_t *handle_tab;
static size_t handle_cap; /* a power of two, or 0 before the first handle */
static size_t handle_count;

static size_t handle_hash(const void *h)
{
  uint64_t x = (uint64_t)(uintptr_t)h;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x;
}

/* The slot holding h, or the empty slot where it would go. */
static size_t handle_find(const void *h)
{
  size_t mask = handle_cap - 1, i = handle_hash(h) & mask;
  while (handle_tab[i].h != NULL && handle_tab[i].h != h)
    i = (i + 1) & mask;
  return i;
}

static int handle_grow(void)
{
  size_t old_cap = handle_cap, cap = old_cap ? old_cap * 2 : 64;
  handle_slot_t *old = handle_tab, *tab = calloc(cap, sizeof *tab);
  if (tab == NULL)
    return TUBO_ENOMEM;
  handle_tab = tab;
  handle_cap = cap;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].h != NULL)
      handle_tab[handle_find(old[i].h)] = old[i];
  free(old);
  return 0;
}

int tubo__handle_add(const void *h, tubo__hkind_t kind)
{
  if ((handle_count + 1) * 2 > handle_cap && handle_grow() != 0)
    return TUBO_ENOMEM;
  size_t i = handle_find(h);
  if (handle_tab[i].h == NULL)
    handle_count++;
  handle_tab[i] = (handle_slot_t){h, kind};
  return 0;
}

void tubo__handle_remove(const void *h)
{
  if (handle_cap == 0 || h == NULL)
    return;
  for (size_t k = 0; k < sizeof tubo__handle_last / sizeof tubo__handle_last[0]; k++)
    if (tubo__handle_last[k] == h)
      tubo__handle_last[k] = NULL;
  size_t mask = handle_cap - 1, i = handle_find(h);
  if (handle_tab[i].h == NULL)
    return;
  handle_count--;
  /* Backward shift: move up every later entry of the run that the hole would cut off
   * from its home slot. */
  for (size_t j = (i + 1) & mask; handle_tab[j].h != NULL; j = (j + 1) & mask) {
    size_t home = handle_hash(handle_tab[j].h) & mask;
    if (((j - home) & mask) >= ((j - i) & mask)) {
      handle_tab[i] = handle_tab[j];
      i = j;
    }
  }
  handle_tab[i] = (handle_slot_t){NULL, 0};
}

int tubo__handle_live_slow(const void *h, tubo__hkind_t kind)
{
  if (h == NULL || handle_cap == 0)
    return 0;
  const handle_slot_t *s = &handle_tab[handle_find(h)];
  if (s->h != h || s->kind != kind)
    return 0;
  tubo__handle_last[kind] = h;
  return 1;
}
