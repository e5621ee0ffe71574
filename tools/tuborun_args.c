/* SPDX-License-Identifier: MIT */
/* tuborun's command line, in the style of mpirun: options first, then the program. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuborun.h"

static void args_usage(FILE *f)
{
  fprintf(f,
          "Usage: tuborun -n N [options] program [args...]\n"
          "Starts N ranks of program on this machine, connected by tubo.\n"
          "\n"
          "  -n, -np, --np N        number of ranks to start (required)\n"
          "  -x VAR[=value]         set VAR in every rank (VAR alone: pass this value on)\n"
          "  --tag-output           prefix each output line with [job,rank]<stdout>:\n"
          "  --timeout SECONDS      stop the job if it runs longer; exit status 124\n"
          "  --transport shm|pipe   how ranks talk (default shm; or TUBO_TRANSPORT)\n"
          "  --oversubscribe        accepted for mpirun users: more ranks than cores is allowed\n"
          "  --allow-run-as-root    accepted for mpirun users: root may always run jobs\n"
          "  -h, --help             print this help\n"
          "  -V, --version          print the version\n"
          "\n"
          "Exit status: 0 when every rank succeeded; else the first failing rank's exit\n"
          "status, or 128 + signal; 124 after --timeout; 2 for bad arguments; 127 when the\n"
          "program cannot be found.\n");
}

/* Matches "-name" and "--name". */
static int args_is(const char *arg, const char *name)
{
  if (arg[0] != '-')
    return 0;
  arg += arg[1] == '-' ? 2 : 1;
  return strcmp(arg, name) == 0;
}

static int args_error(const char *fmt, const char *what)
{
  fprintf(stderr, "tuborun: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\nTry 'tuborun --help' for more information.\n");
  return 2;
}

int tuborun_parse(int argc, char **argv, tuborun_opts_t *o)
{
  memset(o, 0, sizeof *o);
  o->nranks = -1;
  const char *tp = getenv(TUBO__ENV_TRANSPORT);
  if (tp != NULL && *tp && tubo__parse_transport(tp, &o->transport) != 0)
    return args_error("TUBO_TRANSPORT must be shm or pipe, not '%s'", tp);
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (args_is(a, "h") || args_is(a, "help")) {
      args_usage(stdout);
      return 1;
    } else if (args_is(a, "V") || args_is(a, "version")) {
      printf("tuborun (tubo) %s\n", PACKAGE_VERSION);
      return 1;
    } else if (args_is(a, "n") || args_is(a, "np") || args_is(a, "c")) {
      long n;
      if (val == NULL)
        return args_error("%s needs a number of ranks", a);
      if (tubo__parse_int(val, 1, TUBO__MAX_RANKS, &n) != 0)
        return args_error("the number of ranks must be a whole number from 1 to 4096, not '%s'",
                          val);
      o->nranks = (int)n;
      i++;
    } else if (args_is(a, "x")) {
      if (val == NULL || val[0] == '=' || val[0] == '\0')
        return args_error("%s needs VAR or VAR=value", a);
      if (o->nx >= TUBORUN_MAX_X)
        return args_error("too many -x options (at most %s)", "256");
      o->xvars[o->nx++] = val;
      i++;
    } else if (args_is(a, "tag-output")) {
      o->tag_output = 1;
    } else if (args_is(a, "timeout")) {
      char *end = NULL;
      double t = val ? strtod(val, &end) : -1;
      if (val == NULL || end == val || *end != '\0' || !(t > 0) || t > 1e9)
        return args_error("--timeout needs a positive number of seconds, not '%s'", val ? val : "");
      o->timeout_s = t;
      i++;
    } else if (args_is(a, "transport")) {
      if (val == NULL || tubo__parse_transport(val, &o->transport) != 0)
        return args_error("--transport must be shm or pipe, not '%s'", val ? val : "");
      i++;
    } else if (args_is(a, "oversubscribe") || args_is(a, "allow-run-as-root")) {
      /* Accepted for mpirun users; tuborun allows both anyway. */
    } else {
      return args_error("unknown option '%s'", a);
    }
  }
  if (o->nranks < 0)
    return args_error("%s", "missing -n N: how many ranks to start");
  if (i >= argc)
    return args_error("%s", "missing the program to run");
  o->argv = argv + i;
  return 0;
}
