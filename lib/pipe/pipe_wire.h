/* SPDX-License-Identifier: MIT */
/* The pipe transport's wire format, shared with tuborun (which writes GONE frames).
 *
 * Each rank reads one pipe that every peer writes to. A frame is a header and its
 * payload written with one write() of at most PIPE_BUF bytes, which POSIX makes atomic:
 * frames from different writers never interleave. */
#ifndef TUBO_PIPE_WIRE_H
#define TUBO_PIPE_WIRE_H

#include <limits.h>
#include <stdint.h>

struct tubo__pipe_hdr {
  uint8_t kind; /* enum tubo__frame_kind */
  uint8_t flags;
  uint16_t ctx;
  int32_t tag;
  uint32_t len; /* payload bytes that follow */
  int32_t src;  /* sending rank, or TUBO__PIPE_SRC_LAUNCHER */
};

#define TUBO__PIPE_SRC_LAUNCHER (-2)
#define TUBO__PIPE_ATOMIC       PIPE_BUF
#define TUBO__PIPE_FRAME_MAX    (TUBO__PIPE_ATOMIC - (int)sizeof(struct tubo__pipe_hdr))

#endif /* TUBO_PIPE_WIRE_H */
