/* SPDX-License-Identifier: MIT */
/* Frames: the units every transport carries between two ranks, in order.
 *
 * A message of up to the transport's frame limit travels as one EAGER frame. A longer one
 * travels either as an RTS frame that lets the receiver copy it straight out of the
 * sender's memory (and a FIN frame back), or as a FIRST frame and CONT frames that
 * stream it through the transport. Payload layouts of the control frames follow. */
#ifndef TUBO_FRAME_H
#define TUBO_FRAME_H

#include <stdint.h>

enum tubo__frame_kind {
  TUBO__F_EAGER = 1, /* the whole message */
  TUBO__F_FIRST = 2, /* struct tubo__f_first, then the message's first bytes */
  TUBO__F_CONT = 3,  /* the next bytes of the message FIRST started */
  TUBO__F_RTS = 4,   /* struct tubo__f_rts: read the message from my memory */
  TUBO__F_FIN = 5,   /* struct tubo__f_fin: I have read it, your send is complete */
  TUBO__F_GONE = 6,  /* struct tubo__f_gone: from the launcher, a rank's process ended */
  TUBO__F_ABORT = 7, /* struct tubo__f_abort: a rank called tubo_abort */
  TUBO__F_KIND_MAX = 7
};

/* The header each transport stores in its own way. */
typedef struct tubo__frame {
  uint8_t kind;
  uint8_t flags;
  uint16_t ctx; /* communication context: which communicator, user or internal traffic */
  int32_t tag;
  uint32_t len; /* payload bytes of this frame */
} tubo__frame_t;

struct tubo__f_first {
  uint64_t total; /* length of the whole message */
};

struct tubo__f_rts {
  uint64_t total; /* length of the message */
  uint64_t addr;  /* where it lies in the sender's address space, or with TUBO__RTS_HEAP
                   * set, the offset of the data in the job's shared heap */
  uint32_t sreq;  /* the sender's request id, echoed in FIN */
  uint32_t pad;
};

/* Bits of tubo__f_rts.addr. User addresses never have them (they lie below 2^47). HEAP:
 * the receiver copies the message out of the shared heap with memcpy. LOAN too: the data
 * is a loan (lib/shm/shm_loan.h) the sender gave the receiver, which the receiver keeps
 * or releases; no FIN answers it (the send completed when it was pushed). SPLIT too: the
 * offset is that of a control block in the heap (lib/shm/shm_split.h) naming the
 * message, which both ranks copy, each a part (doc/large-messages.md). */
#define TUBO__RTS_HEAP   ((uint64_t)1 << 63)
#define TUBO__RTS_LOAN   ((uint64_t)1 << 62)
#define TUBO__RTS_SPLIT  ((uint64_t)1 << 61)
#define TUBO__RTS_OFF(a) ((a) & ~(TUBO__RTS_HEAP | TUBO__RTS_LOAN | TUBO__RTS_SPLIT))

struct tubo__f_fin {
  uint32_t sreq;
  int32_t error; /* 0, or why the receiver could not read it */
};

struct tubo__f_gone {
  int32_t rank;
  int32_t status; /* exit code (0: it left cleanly), or 128 + signal number */
};

struct tubo__f_abort {
  int32_t code;
  int32_t pad;
};

#endif /* TUBO_FRAME_H */
