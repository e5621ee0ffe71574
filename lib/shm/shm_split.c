/* SPDX-License-Identifier: MIT */
/* Large messages from the shared heap copied by both ranks at once (shm_split.h). */
#include "config.h"

#include <string.h>

#include "adapt.h"
#include "copy.h"
#include "os/os.h"
#include "settings.h"
#include "shm/shm_split.h"
#include "shm/shm_state.h"
#include "waitpol.h"

size_t tubo__shm_split_min(void)
{
  return (size_t)tubo__setting_u64("TUBO_SHM_SPLIT_BYTES", TUBO__SHM_SPLIT_DEFAULT, 0,
                                   (uint64_t)SIZE_MAX);
}

int tubo__shm_split_long(void)
{
  return (int)tubo__setting_u64("TUBO_SHM_SPLIT_LONG", TUBO__SPLIT_LONG_CHOSEN,
                                TUBO__SPLIT_LONG_NEVER, TUBO__SPLIT_LONG_CHOSEN);
}

void tubo__shm_split_init(shm_state_t *s)
{
  memset(&s->splits, 0, sizeof s->splits);
  s->splits.min = tubo__shm_split_min();
  s->splits.long_mode = tubo__shm_split_long();
}

/* The sender chooses for the messages the transport would not split otherwise. */
_Static_assert(TUBO__ADAPT_SPLIT_FROM == TUBO__SPLIT_MAX,
               "the sender's choice of split must begin where the fixed rule ends");

/* The blocks are 64-byte aligned as they are: a heap block of more than 96 bytes is
 * (heap.h), and a loan's data starts TUBO__LOAN_HDR bytes into its block. */
_Static_assert(TUBO__SPLIT_SLOTS * sizeof(struct tubo__shm_split) > 96 && TUBO__LOAN_HDR % 64 == 0,
               "split control blocks would not be 64-byte aligned");

/* The blocks, made at the first split: one block of the heap this rank owns, so that the
 * ranks that see it die give it back to the heap. */
static int split_pool(shm_state_t *s)
{
  tubo__splits_t *sp = &s->splits;
  if (sp->pool != NULL)
    return 1;
  void *p;
  if (tubo__shm_loan_alloc(&s->loans, TUBO__SPLIT_SLOTS * sizeof *sp->pool, &p) != 0)
    return 0;
  sp->pool_off = (uint64_t)((unsigned char *)p - s->heap.base);
  sp->pool = p;
  return 1;
}

int tubo__shm_split_begin(void *state, int peer, const void *buf, size_t len, tubo_request_t *late,
                          uint64_t *name)
{
  shm_state_t *s = state;
  tubo__splits_t *sp = &s->splits;
  /* A private message is read with single copies: the RTS named it by its address. */
  int heap = (*name & TUBO__RTS_HEAP) != 0;
  int long_ok = sp->long_mode == TUBO__SPLIT_LONG_ALWAYS ||
                (sp->long_mode == TUBO__SPLIT_LONG_CHOSEN && late != NULL);
  /* Up to TUBO__SPLIT_MAX, and where the setting splits every message, it is split. */
  if (len <= TUBO__SPLIT_MAX || sp->long_mode != TUBO__SPLIT_LONG_CHOSEN)
    late = NULL;
  /* Shorter private messages are shared in halves, where this rank may write into the peer. */
  int halves = !heap && late == NULL && sp->min != 0 && len >= TUBO__SPLIT_HALVES_MIN &&
               len < sp->min && tubo__shm_peer_writable(s, peer);
  if ((!halves && !tubo__shm_split_wanted(len, sp->min, long_ok)) || ~sp->used == 0 ||
      (!heap && atomic_load(&s->ctl->cma_denied)) || !split_pool(s))
    return 0;
  int i = __builtin_ctzll(~sp->used);
  struct tubo__shm_split *c = &sp->pool[i];
  uint64_t off = (uint64_t)((unsigned char *)c - s->heap.base);
  /* The receiver reads these once the RTS's frame, published after them, is there. */
  atomic_store_explicit(&c->src, TUBO__RTS_OFF(*name), memory_order_relaxed);
  atomic_store_explicit(&c->total, len, memory_order_relaxed);
  atomic_store_explicit(&c->src_at, heap ? TUBO__SPLIT_HEAP : TUBO__SPLIT_ADDR,
                        memory_order_relaxed);
  atomic_store_explicit(&c->dst, 0, memory_order_relaxed);
  atomic_store_explicit(&c->n, 0, memory_order_relaxed);
  atomic_store_explicit(&c->ready, 0, memory_order_relaxed);
  atomic_store_explicit(&c->redo, 0, memory_order_relaxed);
  atomic_store_explicit(&c->halves, (uint32_t)halves, memory_order_relaxed);
  atomic_store_explicit(&c->claim, 0, memory_order_relaxed);
  atomic_store_explicit(&c->done, 0, memory_order_relaxed);
  sp->src[i] = buf;
  sp->total[i] = len;
  sp->peer[i] = peer;
  sp->req[i] = late;
  sp->used |= (uint64_t)1 << i;
  sp->helping |= (uint64_t)1 << i;
  if (late != NULL)
    sp->late |= (uint64_t)1 << i;
  *name = off | TUBO__RTS_HEAP | TUBO__RTS_SPLIT;
  return 1;
}

/* The slot of the block at heap offset off, or -1 when it is none of this rank's. */
static int split_slot(const shm_state_t *s, uint64_t off)
{
  const tubo__splits_t *sp = &s->splits;
  if (sp->pool == NULL)
    return -1;
  uint64_t first = (uint64_t)((unsigned char *)sp->pool - s->heap.base);
  if (off < first || (off - first) % sizeof *sp->pool != 0 ||
      (off - first) / sizeof *sp->pool >= TUBO__SPLIT_SLOTS)
    return -1;
  return (int)((off - first) / sizeof *sp->pool);
}

void tubo__shm_split_end(void *state, uint64_t name)
{
  shm_state_t *s = state;
  int i = split_slot(s, TUBO__RTS_OFF(name));
  if (i < 0)
    return;
  s->splits.used &= ~((uint64_t)1 << i);
  s->splits.helping &= ~((uint64_t)1 << i);
  s->splits.late &= ~((uint64_t)1 << i);
  s->splits.req[i] = NULL;
}

/* Where the sender may write the buffer the receiver published in block c of n bytes: 1
 * with *hdst, its place in the heap, or NULL where it is at *addr in the receiver's memory,
 * reached with single copies; 0 where the sender copies nothing (the receiver then copies
 * every chunk itself). */
static int split_dst(shm_state_t *s, int peer, struct tubo__shm_split *c, uint32_t how, uint64_t n,
                     unsigned char **hdst, uint64_t *addr)
{
  *addr = atomic_load_explicit(&c->dst, memory_order_relaxed);
  *hdst = NULL;
  if (how == TUBO__SPLIT_HEAP)
    return (*hdst = tubo__heap_at(&s->heap, *addr, (size_t)n)) != NULL;
  /* A process this rank writes into must be the peer's for sure. */
  return how == TUBO__SPLIT_ADDR && tubo__shm_peer_writable(s, peer);
}

int tubo__shm_split_help(shm_state_t *s)
{
  tubo__splits_t *sp = &s->splits;
  int copied = 0;
  for (uint64_t m = sp->helping; m != 0; m &= m - 1) {
    int i = __builtin_ctzll(m);
    struct tubo__shm_split *c = &sp->pool[i];
    uint32_t how = atomic_load_explicit(&c->ready, memory_order_acquire);
    if (how == 0)
      continue;
    /* The receiver published these; a length beyond the message or a buffer not where the
     * block says is not copied to. */
    uint64_t n = atomic_load_explicit(&c->n, memory_order_relaxed), addr;
    unsigned char *hdst;
    int go = n <= sp->total[i] && split_dst(s, sp->peer[i], c, how, n, &hdst, &addr);
    /* A late choice is made now, with the samples of the messages before this one. */
    if (sp->late & ((uint64_t)1 << i)) {
      sp->late &= ~((uint64_t)1 << i);
      go = go && tubo__send_split_pick(s->w, sp->req[i]);
    }
    struct tubo__rankctl *peer = tubo__jobctl_rank(s->ctl, (uint32_t)sp->peer[i]);
    int halves = atomic_load_explicit(&c->halves, memory_order_relaxed) != 0;
    uint32_t nch = halves ? 1 : tubo__shm_split_chunks(n), k;
    while (go && atomic_load_explicit(&peer->state, memory_order_relaxed) == TUBO__RANK_READY &&
           (k = atomic_fetch_add_explicit(&c->claim, 1, memory_order_relaxed)) < nch) {
      /* Of a message shared in halves, the front half only. */
      size_t len = tubo__shm_split_front(n), at = halves ? 0 : tubo__shm_split_range(n, k, &len);
      sp->wrote_halves += (uint64_t)halves;
      if (hdst != NULL) {
        tubo__copy_large(hdst + at, sp->src[i] + at, len);
      } else if (tubo__os_peer_write(s->pids[sp->peer[i]], addr + at, sp->src[i] + at, len) != 0) {
        /* The receiver copies this chunk itself, and the others left. */
        atomic_store_explicit(&c->redo, k + 1, memory_order_relaxed);
        go = 0;
      }
      atomic_fetch_add_explicit(&c->done, 1, memory_order_release);
      copied++;
    }
    sp->helping &= ~((uint64_t)1 << i);
  }
  return copied;
}

/* Waits for the chunks the sender took to be done: within a chunk's copy, unless it lost
 * its processor or died. The wait follows the world's policy (waitpol.h) but never sleeps,
 * as no bell rings for a chunk: past the policy's spin it looks whether the sender lives
 * and yields. Chunks counted taken and not done for as long as an inbox's claimed position
 * may stay unfilled were taken by someone else than the sender (TUBO__SHM_INBOX_STALL_NS):
 * the job is broken. */
static int split_wait(shm_state_t *s, int peer, struct tubo__shm_split *c, uint32_t nch)
{
  tubo__waiter_t wt = {0};
  uint32_t seen = 0;
  uint64_t since = 0;
  for (;;) {
    uint32_t done = atomic_load_explicit(&c->done, memory_order_acquire);
    if (done >= nch)
      return 0;
    if (!tubo__waiter_idle(tubo__tp_waitpol(s->w), &wt))
      continue;
    if (tubo__shm_peer_lost(s, peer))
      return atomic_load_explicit(&c->done, memory_order_acquire) < nch ? TUBO_EPEER : 0;
    uint64_t now = tubo__os_now_ns();
    if (since == 0 || done != seen) {
      seen = done;
      since = now;
    } else if (now - since > TUBO__SHM_INBOX_STALL_NS) {
      return shm_corrupt(s);
    }
    if (!tubo__tp_waitpol(s->w)->shared) /* a shared unit's waiter yielded already */
      tubo__os_yield();
  }
}

/* The receiver's copy of chunk k of n bytes into dst: from the heap at hsrc, or where
 * that is NULL from address src in the sender's memory. */
static int split_take(shm_state_t *s, int peer, const unsigned char *hsrc, uint64_t src,
                      unsigned char *dst, uint64_t n, uint32_t k)
{
  size_t len, at = tubo__shm_split_range(n, k, &len);
  if (hsrc != NULL) {
    tubo__copy_large(dst + at, hsrc + at, len);
    return 0;
  }
  return tubo__os_peer_read(s->pids[peer], src + at, dst + at, len);
}

/* Publishes in block c where the receiver's buffer dst of n bytes lies: in the heap, or,
 * where the message is private (src_heap 0) and single copy is allowed, at its address in
 * this process. Returns 0 where the sender is not to copy there. From the heap into a
 * private buffer the receiver copies alone: its memcpy outran the sender's
 * process_vm_writev so far that the chunks the sender took came last (osu_tubo -ms, 512 KiB
 * 0.76x and 4 MiB 0.83x of the receiver alone, doc/large-messages.md). */
static int split_publish(shm_state_t *s, struct tubo__shm_split *c, void *dst, size_t n,
                         int src_heap)
{
  uint64_t where;
  uint32_t how = TUBO__SPLIT_HEAP;
  if (!tubo__shm_heap_of(&s->loans, dst, n, &where)) {
    if (src_heap || atomic_load(&s->ctl->cma_denied))
      return 0;
    how = TUBO__SPLIT_ADDR;
    where = (uint64_t)(uintptr_t)dst;
  }
  atomic_store_explicit(&c->dst, where, memory_order_relaxed);
  atomic_store_explicit(&c->n, n, memory_order_relaxed);
  atomic_store_explicit(&c->ready, how, memory_order_release);
  return 1;
}

int tubo__shm_split_read(shm_state_t *s, int peer, uint64_t off, void *dst, size_t n, size_t total)
{
  struct tubo__shm_split *c = tubo__heap_at(&s->heap, off, sizeof *c);
  if (c == NULL || ((uintptr_t)c & 63) != 0 ||
      atomic_load_explicit(&c->total, memory_order_relaxed) != total || n > total)
    return TUBO_ECORRUPT;
  uint64_t src = atomic_load_explicit(&c->src, memory_order_relaxed);
  const unsigned char *hsrc = NULL;
  switch (atomic_load_explicit(&c->src_at, memory_order_relaxed)) {
  case TUBO__SPLIT_HEAP:
    if ((hsrc = tubo__heap_at(&s->heap, src, total)) == NULL)
      return TUBO_ECORRUPT;
    break;
  case TUBO__SPLIT_ADDR:
    if (atomic_load(&s->ctl->cma_denied))
      return TUBO_ENOTSUP;
    break;
  default:
    return TUBO_ECORRUPT;
  }
  /* A message shared in halves that was not read in a pass is this rank's alone: nothing was
   * published, so the sender takes none of it. */
  if (atomic_load_explicit(&c->halves, memory_order_relaxed))
    return hsrc != NULL ? TUBO_ECORRUPT : tubo__os_peer_read(s->pids[peer], src, dst, n);
  if (!split_publish(s, c, dst, n, hsrc != NULL)) {
    /* The sender does not write there: the whole message is this rank's to copy (from the
     * heap: a private message came only where single copy was allowed, checked above). */
    if (hsrc == NULL)
      return TUBO_ENOTSUP;
    tubo__copy_large(dst, hsrc, n);
    return 0;
  }
  /* A sender asleep in its wait for this message would leave every chunk to this rank:
   * waking it costs a system call against a copy of at least 128 KiB. */
  shm_wake_if_sleeping(s, tubo__jobctl_rank(s->ctl, (uint32_t)peer));
  /* A chunk that fails leaves the rest taken but not copied: the sender may be writing
   * into dst still, so the receive ends only once every chunk is counted. */
  int err = 0;
  uint32_t nch = tubo__shm_split_chunks(n), k;
  while ((k = atomic_fetch_add_explicit(&c->claim, 1, memory_order_relaxed)) < nch) {
    if (err == 0)
      err = split_take(s, peer, hsrc, src, dst, n, k);
    atomic_fetch_add_explicit(&c->done, 1, memory_order_release);
  }
  int rc = split_wait(s, peer, c, nch);
  if (rc != 0)
    return rc;
  uint32_t redo = atomic_load_explicit(&c->redo, memory_order_relaxed);
  if (err == 0 && redo != 0)
    err = redo <= nch ? split_take(s, peer, hsrc, src, dst, n, redo - 1) : TUBO_ECORRUPT;
  return err;
}

int tubo__shm_split_halves_offer(shm_state_t *s, uint64_t off, void *dst, size_t n,
                                 struct tubo__shm_split **cp, uint64_t *src)
{
  struct tubo__shm_split *c = tubo__heap_at(&s->heap, off, sizeof *c);
  if (c == NULL || ((uintptr_t)c & 63) != 0)
    return TUBO_ECORRUPT;
  if (!atomic_load_explicit(&c->halves, memory_order_relaxed))
    return 0;
  if (atomic_load_explicit(&c->total, memory_order_relaxed) != n ||
      atomic_load_explicit(&c->src_at, memory_order_relaxed) != TUBO__SPLIT_ADDR)
    return TUBO_ECORRUPT;
  *src = atomic_load_explicit(&c->src, memory_order_relaxed);
  *cp = c;
  /* The sender writes into this process by its address, wherever dst lies. */
  atomic_store_explicit(&c->dst, (uint64_t)(uintptr_t)dst, memory_order_relaxed);
  atomic_store_explicit(&c->n, n, memory_order_relaxed);
  atomic_store_explicit(&c->ready, TUBO__SPLIT_ADDR, memory_order_release);
  return 1;
}

int tubo__shm_split_halves_wait(shm_state_t *s, int peer, struct tubo__shm_split *c, uint64_t src,
                                void *dst, size_t n)
{
  int rc = split_wait(s, peer, c, 1);
  if (rc != 0)
    return rc;
  if (dst != NULL && atomic_load_explicit(&c->redo, memory_order_relaxed) != 0)
    return tubo__os_peer_read(s->pids[peer], src, dst, tubo__shm_split_front(n));
  return 0;
}

void tubo__shm_split_fini(shm_state_t *s)
{
  tubo__splits_t *sp = &s->splits;
  if (sp->pool != NULL)
    (void)tubo__shm_loan_free(&s->loans, sp->pool_off);
  sp->pool = NULL;
  sp->used = sp->helping = sp->late = 0;
}
