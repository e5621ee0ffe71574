/* SPDX-License-Identifier: MIT */
/* The seeds send the Python list [42, None, 'hello']; in C it is a record, sent as bytes
 * and printed the way Python prints the list. */
#ifndef TUBO_EXAMPLES_RECORD_H
#define TUBO_EXAMPLES_RECORD_H

#include <stdio.h>

struct record {
  int number;     /* 42 */
  int has_second; /* 0: Python's None */
  char text[16];  /* 'hello' */
};

static inline void record_print(const struct record *r)
{
  printf("[%d, ", r->number);
  if (r->has_second)
    printf("?, ");
  else
    printf("None, ");
  printf("'%s']\n", r->text);
}

#endif
