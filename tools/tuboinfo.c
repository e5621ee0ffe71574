/* SPDX-License-Identifier: MIT */
/* tuboinfo: what this tubo was built with, the machine as hwloc sees it, what tuborun -n N
 * would do there, the settings in effect and the protocol thresholds they give, as
 * ompi_info and lstopo tell theirs. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch/launch.h"
#include "tubo.h"
#include "tuboinfo.h"

static void info_usage(FILE *f)
{
  fprintf(f,
          "Usage: tuboinfo [--parsable] [--all] [-n N] [--map-by LEVEL] [--bind-to LEVEL]\n"
          "                [--topology FILE]\n"
          "Prints how tubo was built, this machine as hwloc sees it, what 'tuborun -n N' would\n"
          "do on it, the TUBO_* settings in effect and the protocol thresholds they give.\n"
          "\n"
          "  --parsable        one key:value per line, for scripts (also --parseable)\n"
          "  -a, --all         everything: every setting, rank, cache level and build flag\n"
          "  -n, --np N        the job to describe: N ranks (default: as tuborun, one per core)\n"
          "  --map-by LEVEL    as tuborun: core, hwthread, l3cache, numa, package or slot\n"
          "  --bind-to LEVEL   as tuborun: core, hwthread, l3cache, numa, package or none\n"
          "  --topology FILE   describe the machine an hwloc XML file holds (lstopo FILE.xml)\n"
          "  -h, --help        print this help\n"
          "  -V, --version     print the version\n");
}

static char *info_vformat(const char *fmt, va_list ap)
{
  char *s = NULL;
  return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

/* The array of n elements of size bytes, with room for one more: the same or a larger
 * one; NULL when out of memory (the array given stays). */
static void *info_room(void *array, size_t *cap, size_t n, size_t size)
{
  if (n < *cap)
    return array;
  size_t more = *cap ? 2 * *cap : 16;
  void *a = realloc(array, more * size);
  if (a != NULL)
    *cap = more;
  return a;
}

void tuboinfo_section(tuboinfo_t *t, const char *fmt, ...)
{
  tuboinfo_section_t *all = info_room(t->s, &t->cap, t->n, sizeof *t->s);
  if (all == NULL) {
    t->failed = 1;
    return;
  }
  t->s = all;
  va_list ap;
  va_start(ap, fmt);
  tuboinfo_section_t *s = &t->s[t->n++];
  memset(s, 0, sizeof *s);
  s->title = info_vformat(fmt, ap);
  va_end(ap);
  t->failed |= s->title == NULL;
}

void tuboinfo_add(tuboinfo_t *t, const char *key, const char *label, const char *fmt, ...)
{
  if (t->n == 0 || t->failed) {
    t->failed = 1;
    return;
  }
  tuboinfo_section_t *s = &t->s[t->n - 1];
  tuboinfo_entry_t *entries = info_room(s->e, &s->cap, s->n, sizeof *s->e);
  if (entries == NULL) {
    t->failed = 1;
    return;
  }
  s->e = entries;
  va_list ap;
  va_start(ap, fmt);
  tuboinfo_entry_t *e = &s->e[s->n++];
  e->key = key != NULL ? strdup(key) : NULL;
  e->label = label != NULL ? strdup(label) : NULL;
  e->value = info_vformat(fmt, ap);
  va_end(ap);
  t->failed |=
      (key != NULL && e->key == NULL) || (label != NULL && e->label == NULL) || e->value == NULL;
}

/* For people: each section's title, then its entries, their labels aligned across the
 * sections (the longest label is the machine's, whatever the build). */
static void info_print_human(const tuboinfo_t *t)
{
  size_t width = 0;
  for (size_t i = 0; i < t->n; i++)
    for (size_t k = 0; k < t->s[i].n; k++)
      if (t->s[i].e[k].label != NULL && strlen(t->s[i].e[k].label) > width)
        width = strlen(t->s[i].e[k].label);
  for (size_t i = 0; i < t->n; i++) {
    const tuboinfo_section_t *s = &t->s[i];
    printf("%s%s\n", i ? "\n" : "", s->title);
    for (size_t k = 0; k < s->n; k++)
      if (s->e[k].label != NULL)
        printf("  %-*s : %s\n", (int)width, s->e[k].label, s->e[k].value);
  }
}

/* For scripts: key:value, as ompi_info --parsable. Keys hold no spaces. */
static void info_print_parsable(const tuboinfo_t *t)
{
  for (size_t i = 0; i < t->n; i++)
    for (size_t k = 0; k < t->s[i].n; k++)
      if (t->s[i].e[k].key != NULL)
        printf("%s:%s\n", t->s[i].e[k].key, t->s[i].e[k].value);
}

static void info_free(tuboinfo_t *t)
{
  for (size_t i = 0; i < t->n; i++) {
    for (size_t k = 0; k < t->s[i].n; k++) {
      free(t->s[i].e[k].key);
      free(t->s[i].e[k].label);
      free(t->s[i].e[k].value);
    }
    free(t->s[i].e);
    free(t->s[i].title);
  }
  free(t->s);
  tubo__placement_free(t->p);
  tubo__topo_free(t->topo);
}

static int info_error(const char *fmt, const char *what)
{
  fprintf(stderr, "tuboinfo: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\nTry 'tuboinfo --help' for more information.\n");
  return 2;
}

/* Parses the command line. Returns 0 to print the report, 1 when --help or --version was
 * printed, or 2 after a usage error. Long options take one dash or two, as tuborun's. */
static int info_parse(int argc, char **argv, tuboinfo_opts_t *o)
{
  static const struct option longs[] = {{"parsable", no_argument, NULL, 'p'},
                                        {"parseable", no_argument, NULL, 'p'},
                                        {"all", no_argument, NULL, 'a'},
                                        {"np", required_argument, NULL, 'n'},
                                        {"map-by", required_argument, NULL, 'm'},
                                        {"bind-to", required_argument, NULL, 'b'},
                                        {"topology", required_argument, NULL, 't'},
                                        {"help", no_argument, NULL, 'h'},
                                        {"version", no_argument, NULL, 'V'},
                                        {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof *o);
  opterr = 0;
  int c;
  while ((c = getopt_long_only(argc, argv, ":n:ahV", longs, NULL)) != -1) {
    long n;
    switch (c) {
    case 'p':
      o->parsable = 1;
      break;
    case 'a':
      o->all = 1;
      break;
    case 'n':
      if (tubo__parse_int(optarg, 1, TUBO__MAX_RANKS, &n) != 0)
        return info_error("the number of ranks must be a whole number from 1 to 4096, not '%s'",
                          optarg);
      o->nranks = (int)n;
      break;
    case 'm':
      if (tubo__place_parse(optarg, 0, &o->map_by) != 0)
        return info_error("--map-by must be core, hwthread, l3cache, numa, package or slot, "
                          "not '%s'",
                          optarg);
      break;
    case 'b':
      if (tubo__place_parse(optarg, 1, &o->bind_to) != 0)
        return info_error("--bind-to must be core, hwthread, l3cache, numa, package or none, "
                          "not '%s'",
                          optarg);
      break;
    case 't':
      o->topology = optarg;
      break;
    case 'h':
      info_usage(stdout);
      return 1;
    case 'V':
      printf("tuboinfo (tubo) %s\n", tubo_version_string());
      return 1;
    case ':':
      return info_error("%s needs a value", argv[optind - 1]);
    default:
      return info_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return info_error("unexpected argument '%s'", argv[optind]);
  return 0;
}

int main(int argc, char **argv)
{
  tuboinfo_opts_t o;
  int rc = info_parse(argc, argv, &o);
  if (rc != 0)
    return rc == 1 ? 0 : rc;
  tuboinfo_t t;
  memset(&t, 0, sizeof t);
  t.o = &o;
  int (*const parts[])(tuboinfo_t *) = {tuboinfo_build, tuboinfo_machine, tuboinfo_placement,
                                        tuboinfo_settings, tuboinfo_protocol};
  for (size_t i = 0; rc == 0 && i < sizeof parts / sizeof parts[0]; i++)
    rc = parts[i](&t);
  if (rc == 0 && t.failed) {
    fprintf(stderr, "tuboinfo: out of memory\n");
    rc = 1;
  }
  if (rc == 0) {
    if (o.parsable)
      info_print_parsable(&t);
    else
      info_print_human(&t);
    rc = fflush(stdout) == 0 ? 0 : 1;
  }
  info_free(&t);
  return rc;
}
