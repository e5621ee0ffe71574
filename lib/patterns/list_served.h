/* SPDX-License-Identifier: MIT */
/* A list whose ranks share no memory: the communicator's rank 0 holds it in its own heap
 * and serves the others' calls (served.h), as a dict (dict_served.h). */
#ifndef TUBO_PATTERNS_LIST_SERVED_H
#define TUBO_PATTERNS_LIST_SERVED_H

#include "patterns/list.h"

typedef struct tubo__list_srv tubo__list_srv_t;

/* Collective over comm; on success *out is set. */
int tubo__list_srv_open(tubo_comm_t *comm, tubo__list_srv_t **out);
/* Ends this rank's part (the home waits for the others), and frees s. */
int tubo__list_srv_free(tubo__list_srv_t *s);

/* The calls, as the tubo__lcore_ ones. */
int tubo__list_srv_extend(tubo__list_srv_t *s, const tubo_item_t *items, size_t n);
int tubo__list_srv_get(tubo__list_srv_t *s, ptrdiff_t index, void *buf, size_t cap, size_t *len);
int tubo__list_srv_set(tubo__list_srv_t *s, ptrdiff_t index, const void *item, size_t len);
int tubo__list_srv_insert(tubo__list_srv_t *s, ptrdiff_t index, const void *item, size_t len);
int tubo__list_srv_pop_alloc(tubo__list_srv_t *s, ptrdiff_t index, void **buf, size_t *len);
int tubo__list_srv_len(tubo__list_srv_t *s, size_t *n);
int tubo__list_srv_packed(tubo__list_srv_t *s, unsigned char **packed, size_t *bytes, size_t *n);

#endif /* TUBO_PATTERNS_LIST_SERVED_H */
