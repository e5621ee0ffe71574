/* SPDX-License-Identifier: MIT */
/* tuboinfo's parts. Each part adds entries to one report: a key (for --parsable), a label
 * and a value (for people), in sections. Printing them either way from one list keeps the
 * two formats in agreement. */
#ifndef TUBOINFO_H
#define TUBOINFO_H

#include <stddef.h>
#include <stdint.h>

#include "placement.h"

typedef struct tuboinfo_opts {
  int parsable;
  int all;
  int nranks; /* 0: as tuborun, one per slot */
  tubo__place_level_t map_by, bind_to;
  const char *topology; /* --topology FILE, or NULL: this machine */
} tuboinfo_opts_t;

typedef struct tuboinfo_entry {
  char *key;   /* "machine:cores"; NULL: the entry is for people only */
  char *label; /* "cores"; NULL: the entry is for --parsable only */
  char *value;
} tuboinfo_entry_t;

typedef struct tuboinfo_section {
  char *title;
  tuboinfo_entry_t *e;
  size_t n, cap;
} tuboinfo_section_t;

typedef struct tuboinfo {
  const tuboinfo_opts_t *o;
  tuboinfo_section_t *s;
  size_t n, cap;
  int failed; /* out of memory: the report is incomplete */
  /* Shared between the parts: the machine and the job that tuborun -n N would start. */
  tubo__topo_t *topo;
  tubo__placement_t *p;
} tuboinfo_t;

/* Starts a new section titled by printf's format. */
void tuboinfo_section(tuboinfo_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds an entry to the current section; the value is formatted by printf. A NULL label
 * hides the entry from people, a NULL key from --parsable. */
void tuboinfo_add(tuboinfo_t *t, const char *key, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The parts, in the order they are printed. Each returns 0, or an exit status after
 * saying why on stderr. */
int tuboinfo_build(tuboinfo_t *t);
int tuboinfo_machine(tuboinfo_t *t);
int tuboinfo_placement(tuboinfo_t *t);
int tuboinfo_settings(tuboinfo_t *t);
int tuboinfo_protocol(tuboinfo_t *t);

#endif /* TUBOINFO_H */
