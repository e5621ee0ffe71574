/* SPDX-License-Identifier: MIT */
/* libFuzzer target: tuborun's command line. The input is split at NUL bytes into
 * arguments; whatever they are, parsing must end in a run, a usage error or help, and
 * never read or write outside its buffers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuborun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *copy = malloc(size + 1);
  if (copy == NULL)
    return 0;
  memcpy(copy, data, size);
  copy[size] = '\0';
  char *argv[34];
  int argc = 0;
  argv[argc++] = "tuborun";
  for (size_t at = 0; at <= size && argc < 33;) {
    argv[argc++] = copy + at;
    at += strlen(copy + at) + 1;
  }
  argv[argc] = NULL;
  tuborun_opts_t o;
  int rc = tuborun_parse(argc, argv, &o);
  if (rc != 0 && rc != 1 && rc != 2)
    abort();
  free(copy);
  return 0;
}
