/* SPDX-License-Identifier: MIT */
/* Prints C arrays the way Python prints lists, so the examples print what the seeds do. */
#ifndef TUBO_EXAMPLES_PRINT_LIST_H
#define TUBO_EXAMPLES_PRINT_LIST_H

#include <stddef.h>
#include <stdio.h>

/* Prints "[a, b, c]" (no newline). */
static inline void print_int_list(const int *v, size_t n)
{
  putchar('[');
  for (size_t i = 0; i < n; i++)
    printf(i ? ", %d" : "%d", v[i]);
  putchar(']');
}

#endif
