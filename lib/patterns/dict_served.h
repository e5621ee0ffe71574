/* SPDX-License-Identifier: MIT */
/* A dict whose ranks share no memory (they span nodes, or the job runs over the pipe
 * transport): the communicator's rank 0 holds it in its own heap and serves the others'
 * calls (served.h); its own calls go straight to the dict. An update is a compare-and-set
 * loop: the value and the stamp of the write that made it come to the caller, which runs
 * its function and sends the result back, taken only if no write came between. */
#ifndef TUBO_PATTERNS_DICT_SERVED_H
#define TUBO_PATTERNS_DICT_SERVED_H

#include "patterns/dict.h"

/* Collective over comm; on success *out is set. */
int tubo__dict_srv_open(tubo_comm_t *comm, tubo__dict_srv_t **out);
/* Ends this rank's part (the home waits for the others), and frees s. */
int tubo__dict_srv_free(tubo__dict_srv_t *s);

int tubo__dict_srv_set(tubo__dict_srv_t *s, const char *key, size_t klen, const void *val,
                       size_t len);
int tubo__dict_srv_get(tubo__dict_srv_t *s, const char *key, size_t klen, void *buf, size_t cap,
                       size_t *len);
int tubo__dict_srv_get_alloc(tubo__dict_srv_t *s, const char *key, size_t klen, void **buf,
                             size_t *len, uint64_t *stamp);
int tubo__dict_srv_del(tubo__dict_srv_t *s, const char *key, size_t klen);
int tubo__dict_srv_contains(tubo__dict_srv_t *s, const char *key, size_t klen, int *found);
int tubo__dict_srv_len(tubo__dict_srv_t *s, size_t *n);
int tubo__dict_srv_keys_packed(tubo__dict_srv_t *s, char **packed, size_t *bytes, size_t *n);
int tubo__dict_srv_clear(tubo__dict_srv_t *s);
int tubo__dict_srv_update(tubo__dict_srv_t *s, const char *key, size_t klen, tubo_dict_update_fn fn,
                          void *arg);

#endif /* TUBO_PATTERNS_DICT_SERVED_H */
