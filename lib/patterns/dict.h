/* SPDX-License-Identifier: MIT */
/* A dict in shared memory (dict_layout.h, dict_table.c): the operations on one held by a
 * heap this process maps, whichever heap it is. The public tubo_dict (dict.c) is this,
 * or, where the ranks share no memory, calls to a home rank that holds one
 * (dict_served.c); the Namespace (namespace.c) is a dict.
 *
 * Readers take no lock and write nothing shared: they read a stripe's sequence, find the
 * entry, copy it, and read the sequence again; a change means a block they read may have
 * been freed meanwhile, and they read again (after many tries, under the stripe's lock,
 * so that a reader always finishes). Writers take their key's stripe lock, build a new
 * entry, swap it in with one store, and free the old one after bumping the sequence.
 * A writer that dies leaves its stripe locked by a dead process: the next one takes the
 * lock over and repairs what the dead one left half done (dict_table.c). */
#ifndef TUBO_PATTERNS_DICT_H
#define TUBO_PATTERNS_DICT_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "patterns/dict_layout.h"
#include "patterns/objheap.h"
#include "patterns/objmem.h"
#include "tubo.h"

typedef struct tubo__dcore {
  tubo__objheap_t mem;
  uint64_t off;    /* the header block */
  dict_head_t *sh; /* where it is mapped here */
} tubo__dcore_t;

/* Keys are at most this long: a length must fit the entry's 24 bits. */
#define TUBO__DICT_KEY_MAX ((size_t)DICT_KLEN_MAX)

/* Makes an empty dict in mem. Returns 0, TUBO_ESHM, TUBO_ECORRUPT. */
int tubo__dcore_make(const tubo__objheap_t *mem, tubo__dcore_t *c);
/* Makes one in a header block already allocated at off (zeroed), by the one process that
 * sets it up. */
int tubo__dcore_make_at(const tubo__objheap_t *mem, uint64_t off, tubo__dcore_t *c);
/* Joins the dict whose header is at off: 0 or TUBO_ECORRUPT. */
int tubo__dcore_attach(const tubo__objheap_t *mem, uint64_t off, tubo__dcore_t *c);
/* Frees every block of the dict but the header (the last process using it, nobody else
 * touching it). */
void tubo__dcore_empty(tubo__dcore_t *c);
/* Frees every block of the dict, the header included. */
void tubo__dcore_destroy(tubo__dcore_t *c);
/* Whether the header is still a dict's: 0 or TUBO_ECORRUPT. */
int tubo__dcore_check(const tubo__dcore_t *c);

/* The operations; key is klen bytes (no NUL inside), arguments already checked. */
int tubo__dcore_set(tubo__dcore_t *c, const char *key, size_t klen, const void *val, size_t len);
int tubo__dcore_get(tubo__dcore_t *c, const char *key, size_t klen, void *buf, size_t cap,
                    size_t *len);
/* As get, into a buffer it allocates (malloc; NULL for an empty value). With stamp set,
 * also the stamp of the write that made the value (for tubo__dcore_cas). */
int tubo__dcore_get_alloc(tubo__dcore_t *c, const char *key, size_t klen, void **buf, size_t *len,
                          uint64_t *stamp);
int tubo__dcore_del(tubo__dcore_t *c, const char *key, size_t klen);
int tubo__dcore_contains(tubo__dcore_t *c, const char *key, size_t klen, int *found);
int tubo__dcore_len(tubo__dcore_t *c, size_t *n);
int tubo__dcore_clear(tubo__dcore_t *c);
int tubo__dcore_update(tubo__dcore_t *c, const char *key, size_t klen, tubo_dict_update_fn fn,
                       void *arg);
/* Sets key to val only while its value is still the one stamp names (0: still missing):
 * 0, or TUBO_EAGAIN when it changed meanwhile. */
int tubo__dcore_cas(tubo__dcore_t *c, const char *key, size_t klen, uint64_t stamp, const void *val,
                    size_t len);
/* Deletes key only while its value is still the one stamp names: 0, TUBO_EAGAIN. */
int tubo__dcore_cad(tubo__dcore_t *c, const char *key, size_t klen, uint64_t stamp);
/* The keys in insertion order, packed one after another with their NULs into one block
 * (malloc): *bytes long, *n keys. */
int tubo__dcore_keys_packed(tubo__dcore_t *c, char **packed, size_t *bytes, size_t *n);

/* Turns n packed keys (bytes long) into the array tubo_dict_keys returns: one malloc
 * block, freed with free(). Frees packed. */
int tubo__dict_keys_unpack(char *packed, size_t bytes, size_t n, char ***keys);

/* Fault injection for tests: when set, called at each step below (tests/check_dict.c kills
 * the process there, to show that a writer dying at any step leaves the dict whole and
 * usable, and leaks nothing). NULL otherwise. */
enum tubo__dict_step {
  TUBO__DICT_S_LOCKED = 1, /* a write holds its stripe lock, nothing changed yet */
  TUBO__DICT_S_PENDING,    /* the new entry is recorded, not yet published */
  TUBO__DICT_S_PUBLISHED,  /* the new entry (or a tomb) is in its slot, counts not updated */
  TUBO__DICT_S_COUNTED,    /* counts updated, the old entry not yet freed */
  TUBO__DICT_S_RS_MADE,    /* a resize or clear made its new table, not yet published */
  TUBO__DICT_S_RS_SWAPPED, /* ... published it, the old one not yet freed */
  TUBO__DICT_S_END
};
extern void (*tubo__dict_step_hook)(enum tubo__dict_step step);

/* ---- The public dict (dict.c), which the Namespace is made of ---- */

typedef struct tubo__dict_srv tubo__dict_srv_t;

struct tubo_dict {
  tubo__dcore_t core;    /* the dict, where this process maps it (srv NULL) */
  pid_t owner;           /* made for processes: the maker, whose free destroys it */
  tubo__objmem_t mem;    /* opened on comm in the job's heap: the header block */
  tubo_comm_t *comm;     /* opened on comm */
  tubo__dict_srv_t *srv; /* the ranks share no memory: rank 0 holds it (dict_served.c) */
};

/* Makes a dict without registering a handle: for processes, or (collective) opened on
 * comm. */
int tubo__dict_make(tubo_comm_t *comm, int collective, tubo_dict_t **out);
/* Frees what tubo__dict_make made. */
int tubo__dict_unmake(tubo_dict_t *d);

/* The calls on a dict whose handle and arguments are checked; keys klen bytes long. */
int tubo__dict_set(tubo_dict_t *d, const char *key, size_t klen, const void *val, size_t len);
int tubo__dict_get(tubo_dict_t *d, const char *key, size_t klen, void *buf, size_t cap,
                   size_t *len);
int tubo__dict_get_alloc(tubo_dict_t *d, const char *key, size_t klen, void **buf, size_t *len,
                         uint64_t *stamp);
int tubo__dict_del(tubo_dict_t *d, const char *key, size_t klen);
int tubo__dict_keys(tubo_dict_t *d, char ***keys, size_t *n);
int tubo__dict_update(tubo_dict_t *d, const char *key, size_t klen, tubo_dict_update_fn fn,
                      void *arg);

#endif /* TUBO_PATTERNS_DICT_H */
