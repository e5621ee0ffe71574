/* SPDX-License-Identifier: MIT */
/* tuborun's command line, in the style of mpirun: options first, then the program. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tuborun.h"

/* Seconds between progress lines when --show-progress gives none. */
#define ARGS_PROGRESS_DEFAULT 10.0

static void args_usage(FILE *f)
{
  fprintf(f, "Usage: tuborun [-n N] [options] program [args...]\n"
             "       tuborun --dry-run [-n N] [--topology FILE] [options] [program [args...]]\n"
             "Starts N ranks of program on this machine, connected by tubo, each bound to its\n"
             "place as mpirun does.\n"
             "\n"
             "Ranks, mapping and binding:\n"
             "  -n, -np, --np N       number of ranks (default: one per core of the cpuset)\n"
             "  --map-by LEVEL        by core, hwthread, l3cache, numa, package or slot\n"
             "  --bind-to LEVEL       to core, hwthread, l3cache, numa, package or none\n"
             "  --report-bindings     print each rank's binding, a line per rank (stderr)\n"
             "  --oversubscribe       accepted: more ranks than cores is always allowed\n"
             "Launch:\n"
             "  -x VAR[=value]        set VAR in every rank (VAR alone: pass this value on)\n"
             "  --transport shm|pipe  how ranks talk (default shm; or TUBO_TRANSPORT)\n"
             "  --timeout SECONDS     stop a longer job, status 124 (also MPIEXEC_TIMEOUT)\n"
             "  --stdin all|none|R    which rank reads standard input (default: rank 0)\n"
             "  --no-memory-check     start even if its memory will not fit (see man)\n"
             "  --allow-run-as-root   accepted: root may always run jobs\n"
             "Output:\n"
             "  --tag-output          prefix each output line with [job,rank]<stdout>:\n"
             "  --show-progress[=S]   every S seconds (10), print time, ranks and CPU use\n"
             "Without starting anything:\n"
             "  --dry-run             print the placement, start nothing (--do-not-launch)\n"
             "  --topology FILE       with --dry-run: place on the machine of an hwloc XML\n"
             "General:\n"
             "  -h, --help            print this help\n"
             "  -V, --version         print the version\n"
             "Options take one dash or two, and a value after a space or '='.\n"
             "\n"
             "Defaults, tuborun's own: 2 ranks or fewer: --map-by core --bind-to core (as\n"
             "Open MPI 4.1); more: --map-by package --bind-to package (Open MPI 4.1: numa).\n"
             "With --map-by alone, ranks bind to what they are mapped by (slot: core). More\n"
             "ranks than cores is allowed: tuborun says so once, ranks share cores\n"
             "round-robin and, without --bind-to, are not bound. Standard input goes to\n"
             "rank 0 only, as mpirun's.\n"
             "\n"
             "Exit status: 0 when every rank succeeded; else the first failing rank's exit\n"
             "status, or 128 + signal; 124 after --timeout; 2 for bad arguments (a program\n"
             "that cannot be run among them); 127 when the program cannot be found.\n");
}

/* Matches "-name" and "--name", alone or followed by "=value". */
static int args_is(const char *arg, const char *name)
{
  if (arg[0] != '-')
    return 0;
  arg += arg[1] == '-' ? 2 : 1;
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* The value of the option at argv[*i]: what follows its '=', else the next argument, which
 * it consumes. NULL when there is none. */
static const char *args_value(int argc, char **argv, int *i)
{
  const char *eq = strchr(argv[*i], '=');
  if (eq != NULL)
    return eq + 1;
  if (*i + 1 < argc)
    return argv[++*i];
  return NULL;
}

static int args_error(const char *fmt, const char *what)
{
  fprintf(stderr, "tuborun: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\nTry 'tuborun --help' for more information.\n");
  return 2;
}

/* Parses --map-by or --bind-to's LEVEL[:modifier]. The modifiers accepted are the ones
 * that ask for what tuborun always does. Returns 0 or a usage error. */
static int args_level(const char *opt, const char *val, int binding, tubo__place_level_t *out)
{
  static const char *const ok[2][3] = {{"oversubscribe", NULL, NULL},
                                       {"overload-allowed", "if-supported", NULL}};
  if (val == NULL || *val == '\0')
    return args_error("%s needs a level: see --help", opt);
  char *copy = strdup(val);
  if (copy == NULL)
    return args_error("%s", "out of memory");
  char *mod = strchr(copy, ':');
  if (mod != NULL)
    *mod++ = '\0';
  int rc = tubo__place_parse(copy, binding, out) == 0 ? 0 : 2;
  char *save = NULL;
  for (char *tok = mod != NULL ? strtok_r(mod, ":", &save) : NULL; rc == 0 && tok != NULL;
       tok = strtok_r(NULL, ":", &save)) {
    int known = 0;
    for (int k = 0; ok[binding][k] != NULL; k++)
      known |= strcasecmp(tok, ok[binding][k]) == 0;
    rc = known ? 0 : 3;
  }
  free(copy);
  if (rc == 2)
    return args_error(binding ? "--bind-to must be core, hwthread, l3cache, numa, package or "
                                "none, not '%s'"
                              : "--map-by must be core, hwthread, l3cache, numa, package or "
                                "slot, not '%s'",
                      val);
  if (rc == 3)
    return args_error("unsupported modifier in '%s'", val);
  return 0;
}

/* Parses the option at argv[*i], moving *i past any value it takes. Returns 0, 1 (help or
 * version printed) or 2 (usage error printed). */
static int args_one(int argc, char **argv, int *i, tuborun_opts_t *o)
{
  const char *a = argv[*i];
  int has_eq = strchr(a, '=') != NULL;
  if (args_is(a, "n") || args_is(a, "np") || args_is(a, "c")) {
    const char *val = args_value(argc, argv, i);
    long n;
    if (val == NULL)
      return args_error("%s needs a number of ranks", a);
    if (tubo__parse_int(val, 1, TUBO__MAX_RANKS, &n) != 0)
      return args_error("the number of ranks must be a whole number from 1 to 4096, not '%s'", val);
    o->nranks = (int)n;
  } else if (args_is(a, "x")) {
    const char *val = args_value(argc, argv, i);
    if (val == NULL || val[0] == '=' || val[0] == '\0')
      return args_error("%s needs VAR or VAR=value", a);
    if (o->nx >= TUBORUN_MAX_X)
      return args_error("too many -x options (at most %s)", "256");
    o->xvars[o->nx++] = val;
    if (strchr(val, '=') == NULL && getenv(val) == NULL)
      fprintf(stderr, "tuborun: warning: -x %s: %s is not set here, so the ranks get none\n", val,
              val);
  } else if (args_is(a, "map-by")) {
    return args_level("--map-by", args_value(argc, argv, i), 0, &o->map_by);
  } else if (args_is(a, "bind-to")) {
    return args_level("--bind-to", args_value(argc, argv, i), 1, &o->bind_to);
  } else if (args_is(a, "topology")) {
    const char *val = args_value(argc, argv, i);
    if (val == NULL || *val == '\0')
      return args_error("%s needs an hwloc XML file", a);
    o->topology = val;
  } else if (args_is(a, "timeout")) {
    const char *val = args_value(argc, argv, i);
    char *end = NULL;
    double t = val ? strtod(val, &end) : -1;
    if (val == NULL || end == val || *end != '\0' || !(t > 0) || t > 1e9)
      return args_error("--timeout needs a positive number of seconds, not '%s'", val ? val : "");
    o->timeout_s = t;
  } else if (args_is(a, "stdin")) {
    const char *val = args_value(argc, argv, i);
    long r;
    if (val != NULL && strcmp(val, "all") == 0)
      o->stdin_rank = -2;
    else if (val != NULL && strcmp(val, "none") == 0)
      o->stdin_rank = -1;
    else if (val != NULL && tubo__parse_int(val, 0, TUBO__MAX_RANKS - 1, &r) == 0)
      o->stdin_rank = (int)r;
    else
      return args_error("--stdin must be all, none or a rank, not '%s'", val ? val : "");
  } else if (args_is(a, "show-progress")) {
    const char *eq = strchr(a, '=');
    char *end = NULL;
    double t = eq ? strtod(eq + 1, &end) : ARGS_PROGRESS_DEFAULT;
    if (eq != NULL && (end == eq + 1 || *end != '\0' || !(t > 0) || t > 1e6))
      return args_error("--show-progress needs a positive number of seconds, not '%s'", eq + 1);
    o->progress_s = t;
  } else if (args_is(a, "transport")) {
    const char *val = args_value(argc, argv, i);
    if (val == NULL || tubo__parse_transport(val, &o->transport) != 0)
      return args_error("--transport must be shm or pipe, not '%s'", val ? val : "");
  } else if (has_eq) {
    return args_error("unknown option '%s'", a); /* no flag below takes a value */
  } else if (args_is(a, "h") || args_is(a, "help")) {
    args_usage(stdout);
    return 1;
  } else if (args_is(a, "V") || args_is(a, "version")) {
    printf("tuborun (tubo) %s\n", PACKAGE_VERSION);
    return 1;
  } else if (args_is(a, "tag-output")) {
    o->tag_output = 1;
  } else if (args_is(a, "report-bindings")) {
    o->report_bindings = 1;
  } else if (args_is(a, "dry-run") || args_is(a, "do-not-launch")) {
    o->dry_run = 1;
  } else if (args_is(a, "no-memory-check")) {
    o->no_memory_check = 1;
  } else if (args_is(a, "oversubscribe") || args_is(a, "allow-run-as-root")) {
    /* Accepted for mpirun users; tuborun allows both anyway. */
  } else {
    return args_error("unknown option '%s'", a);
  }
  return 0;
}

int tuborun_parse(int argc, char **argv, tuborun_opts_t *o)
{
  memset(o, 0, sizeof *o);
  const char *tp = getenv(TUBO__ENV_TRANSPORT);
  if (tp != NULL && *tp && tubo__parse_transport(tp, &o->transport) != 0)
    return args_error("TUBO_TRANSPORT must be shm or pipe, not '%s'", tp);
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    int rc = args_one(argc, argv, &i, o);
    if (rc != 0)
      return rc;
  }
  const char *mt = getenv("MPIEXEC_TIMEOUT");
  if (o->timeout_s == 0 && mt != NULL && *mt != '\0') {
    /* As mpirun: seconds, a whole number; --timeout wins over it. */
    long t;
    if (tubo__parse_int(mt, 1, 1000000000, &t) != 0)
      return args_error("MPIEXEC_TIMEOUT must be a positive whole number of seconds, not '%s'", mt);
    o->timeout_s = (double)t;
    o->timeout_env = 1;
  }
  if (o->topology != NULL && !o->dry_run)
    return args_error("--topology '%s' describes another machine, where ranks cannot start: "
                      "add --dry-run to see the placement",
                      o->topology);
  if (i >= argc && !o->dry_run)
    return args_error("%s", "missing the program to run");
  o->argv = i < argc ? argv + i : NULL;
  return 0;
}
