/* SPDX-License-Identifier: MIT */
/* Owned blocks of the job's shared heap: tubo_alloc_mem buffers and loans.
 *
 * A block handed to a user carries a header of TUBO__LOAN_HDR bytes before the user's
 * data, and its owner (a rank of the shared-memory transport) is written in the job's
 * ledger: an array of TUBO__LOAN_SLOTS words in the heap, made by the first rank that
 * needs it and found through the control block (jobctl.h, loan_ledger). A word packs the
 * block's offset with its owner + 1; 0 is a free slot. Every change of a word is one
 * compare-and-swap but one: the holder of a block hands it to the receiver of a loan with
 * a plain store, as nobody else writes a word whose owner lives (a rank's blocks are
 * reclaimed only once it has left or died). A process that dies between two calls leaves
 * a consistent ledger.
 *
 * Which blocks a rank holds it also keeps in its own memory (own[], by ledger slot): the
 * checks of a pointer it passes (to send, take or free) read that and the block's header,
 * which nobody writes between its allocation and its return to the heap, never the
 * ledger or anything else the rank that had the block before wrote. A loan's receiver
 * takes it (tubo__shm_loan_accept) without reading the ledger either: a loan costs the
 * cache lines of its RTS frame, the ledger word the sender writes and the data that is
 * read, no more.
 *
 * When a rank leaves or dies, a surviving rank returns every block the ledger says it
 * owned (tubo__shm_loan_reclaim): blocks of a process that died are not lost for the
 * rest of the job. A loan given to a rank is its own from the moment it was sent, so a
 * loan still in the channel of a rank that died is returned too.
 *
 * Everything read from shared memory (the header, the ledger word, offsets in frames) is
 * checked before use: a pointer that is no block this rank holds is TUBO_EINVAL. */
#ifndef TUBO_SHM_LOAN_H
#define TUBO_SHM_LOAN_H

#include <stddef.h>
#include <stdint.h>

#include "heap/heap.h"
#include "launch/jobctl.h"

#define TUBO__LOAN_HDR   64u
#define TUBO__LOAN_SLOTS 16384u

/* A block this rank holds, in its own memory at the block's ledger slot. */
typedef struct tubo__loan_own {
  uint64_t block; /* the heap block's offset; 0: none held at this slot */
  uint64_t size;  /* bytes of data the holder may use */
  uint64_t cap;   /* the heap block's usable bytes, the header included */
} tubo__loan_own_t;

/* What a process needs to use the ledger: its heap handle, the control block, its rank. */
typedef struct tubo__loans {
  tubo__heap_t *heap;
  struct tubo__jobctl *ctl;
  uint32_t me;
  uint32_t hint;            /* where the next search for a free slot starts */
  uint64_t kept;            /* a block this rank freed and keeps for its next allocation, or 0 */
  uint32_t kept_slot;       /* its ledger slot */
  size_t kept_cap;          /* and its usable bytes, header included */
  tubo__loan_own_t *own;    /* TUBO__LOAN_SLOTS entries, made at the first block held */
  _Atomic uint64_t *ledger; /* the ledger, once found */
} tubo__loans_t;

/* Allocates an owned block of size bytes (not cleared) and gives the address of its data.
 * Returns 0, TUBO_ENOTSUP (the job has no heap), TUBO_ESHM (heap full, or no free ledger
 * slot), TUBO_ETOOBIG or TUBO_ECORRUPT. */
int tubo__shm_loan_alloc(tubo__loans_t *L, size_t size, void **p);

/* Whether [p, p + n) lies in the heap's blocks: 1 with the offset of p in *off, else 0. */
int tubo__shm_heap_of(const tubo__loans_t *L, const void *p, size_t n, uint64_t *off);

/* Checks that off is the data of a block this rank holds, of at least len bytes; gives
 * its slot. Returns 0 or TUBO_EINVAL. */
int tubo__shm_loan_check(const tubo__loans_t *L, uint64_t off, size_t len, uint32_t *slot);

/* Makes rank to the owner of the block whose data is at off, of at least len bytes,
 * which this rank holds: it holds it no more. Returns 0 or TUBO_EINVAL. */
int tubo__shm_loan_give(tubo__loans_t *L, uint64_t off, size_t len, uint32_t to);

/* Takes the block whose data is at off, len bytes of it, that a peer gave this rank (a
 * loan's RTS named it): gives its address, or NULL where off is no owned block of at
 * least len bytes or this rank holds it already. */
void *tubo__shm_loan_accept(tubo__loans_t *L, uint64_t off, size_t len);

/* Frees the block whose data is at off, which this rank holds. Returns 0 or TUBO_EINVAL
 * (no block this rank holds). It may be kept instead (one at a time): still this rank's
 * in the ledger, so reclaimed if it dies, but no longer held, and given out again by its
 * next allocation that fits. */
int tubo__shm_loan_free(tubo__loans_t *L, uint64_t off);

/* Gives the block this rank keeps (if any) back to the heap. */
void tubo__shm_loan_drop(tubo__loans_t *L);

/* Frees this rank's own record of the blocks it holds (at the transport's close). */
void tubo__shm_loan_fini(tubo__loans_t *L);

/* Frees every block rank owns (it left or died), kept ones included. Returns how many. */
int tubo__shm_loan_reclaim(tubo__loans_t *L, uint32_t rank);

#endif /* TUBO_SHM_LOAN_H */
