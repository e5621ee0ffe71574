/* SPDX-License-Identifier: MIT */
/* Byte counts as people read them, the one format of every tool's output and of the
 * library's reports. */
#ifndef TUBO_SIZE_TEXT_H
#define TUBO_SIZE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Writes bytes into buf in binary units: "4 MiB" where the unit divides it, "412.3 GiB"
 * where it does not, and "65537 B" below 1 MiB (where a rounded figure would hide the odd
 * byte that made a size odd). Returns buf. */
const char *tubo__size_text(uint64_t bytes, char *buf, size_t cap);

#endif
