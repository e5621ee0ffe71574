/* SPDX-License-Identifier: MIT */
/* Picks a transport table by kind: the one place a new transport is registered. */
#include "config.h"

#include "transport.h"

const tubo__tp_ops_t *tubo__tp_lookup(enum tubo__transport_kind kind)
{
  switch (kind) {
  case TUBO__TP_SHM:
    return &tubo__shm_ops;
  case TUBO__TP_PIPE:
    return &tubo__pipe_ops;
  }
  return 0;
}
