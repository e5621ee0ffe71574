/* SPDX-License-Identifier: MIT */
/* Owned blocks of the job's shared heap: tubo_alloc_mem buffers and loans.
 *
 * A block handed to a user carries a header of TUBO__LOAN_HDR bytes before the user's
 * data, and its owner (a rank of the shared-memory transport) is written in the job's
 * ledger: an array of TUBO__LOAN_SLOTS words in the heap, made by the first rank that
 * needs it and found through the control block (jobctl.h, loan_ledger). A word packs the
 * block's offset with its owner + 1; 0 is a free slot. Every change of a word is one
 * compare-and-swap, so a loan passes from one owner to the next without a lock and a
 * process that dies between two calls leaves a consistent ledger.
 *
 * When a rank leaves or dies, a surviving rank returns every block the ledger says it
 * owned (tubo__shm_loan_reclaim): blocks of a process that died are not lost for the
 * rest of the job. A loan given to a rank is its own from the moment it was sent, so a
 * loan still in the channel of a rank that died is returned too.
 *
 * Everything read from shared memory (the header, the ledger word, offsets in frames) is
 * checked before use: a header that does not match its ledger word is TUBO_EINVAL. */
#ifndef TUBO_SHM_LOAN_H
#define TUBO_SHM_LOAN_H

#include <stddef.h>
#include <stdint.h>

#include "heap/heap.h"
#include "launch/jobctl.h"

#define TUBO__LOAN_HDR   64u
#define TUBO__LOAN_SLOTS 16384u

/* What a process needs to use the ledger: its heap handle, the control block, its rank. */
typedef struct tubo__loans {
  tubo__heap_t *heap;
  struct tubo__jobctl *ctl;
  uint32_t me;
  uint32_t hint; /* where the next search for a free slot starts */
  uint64_t kept; /* a block this rank freed and keeps for its next allocation, or 0 */
} tubo__loans_t;

/* Allocates an owned block of size bytes (not cleared) and gives the address of its data.
 * Returns 0, TUBO_ENOTSUP (the job has no heap), TUBO_ESHM (heap full, or no free ledger
 * slot), TUBO_ETOOBIG or TUBO_ECORRUPT. */
int tubo__shm_loan_alloc(tubo__loans_t *L, size_t size, void **p);

/* Whether [p, p + n) lies in the heap's blocks: 1 with the offset of p in *off, else 0. */
int tubo__shm_heap_of(const tubo__loans_t *L, const void *p, size_t n, uint64_t *off);

/* Checks that off is the data of a live owned block of at least len bytes whose owner is
 * owner (-1: anyone); gives its slot. Returns 0 or TUBO_EINVAL. */
int tubo__shm_loan_check(const tubo__loans_t *L, uint64_t off, size_t len, int64_t owner,
                         uint32_t *slot);

/* Makes rank to the owner of the block whose data is at off, which this rank owns.
 * Returns 0 or TUBO_EINVAL. */
int tubo__shm_loan_give(tubo__loans_t *L, uint64_t off, uint32_t to);

/* Frees the owned block whose data is at off (owner: anyone, -1, or that rank). Returns
 * 0 or TUBO_EINVAL (not a live owned block). A block this rank owns may be kept instead
 * (one at a time): still this rank's in the ledger, so reclaimed if it dies, but no
 * longer a live block, and given out again by its next allocation that fits. */
int tubo__shm_loan_free(tubo__loans_t *L, uint64_t off, int64_t owner);

/* Gives the block this rank keeps (if any) back to the heap. */
void tubo__shm_loan_drop(tubo__loans_t *L);

/* Frees every block rank owns (it left or died), kept ones included. Returns how many. */
int tubo__shm_loan_reclaim(tubo__loans_t *L, uint32_t rank);

#endif /* TUBO_SHM_LOAN_H */
