/* SPDX-License-Identifier: MIT */
/* The shared-memory transport: an inbox per rank (shm_inbox.h) and a channel (shm_ring.h)
 * per pair of ranks that talk, in a segment tuborun created without a name
 * (shm_layout.h), futex bells for sleeping, and process_vm_readv for single-copy large
 * messages where the kernel allows it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy.h"
#include "engine.h"
#include "heap/heap.h"
#include "os/os.h"
#include "settings.h"
#include "shm/shm_layout.h"
#include "shm/shm_loan.h"
#include "shm/shm_ring.h"
#include "shm/shm_state.h"
#include "topo.h"
#include "transport.h"

/* Frames a sender sends a peer through its inbox before it makes their channel, as
 * Open MPI's fast boxes: pairs that talk once or twice take no memory of their own. */
#define SHM_FAST_AFTER 16u

/* A word peers read at start-up to learn whether single-copy reads are allowed. */
static volatile uint64_t shm_probe_word = TUBO__JOBCTL_MAGIC;

static inline uint32_t shm_round64(uint32_t n)
{
  return (n + 63u) & ~63u;
}

/* The channel to a peer is full: ask it to empty the channel, and wake it to see that. */
static int shm_no_room(const shm_state_t *s, shm_tx_t *tx)
{
  if (!tx->want_room) {
    tx->want_room = 1;
    atomic_store_explicit(&tx->chan->want_room, 1, memory_order_release);
    shm_wake_if_sleeping(s, tx->peer_ctl);
  }
  return TUBO_EAGAIN;
}

/* Fills the header of the slot of position pos, whose payload is in place, and publishes
 * the frame: the stamp last. */
static inline void shm_slot_publish(const shm_state_t *s, shm_tx_t *tx, struct tubo__shm_slot *slot,
                                    uint64_t pos, const tubo__frame_t *f)
{
  slot->kind = f->kind;
  slot->flags = f->flags;
  slot->ctx = f->ctx;
  slot->tag = f->tag;
  slot->len = f->len;
  atomic_store_explicit(&slot->stamp, (uint32_t)(pos + 1), memory_order_release);
  tx->tail = pos + 1;
  if (tubo__shm_prefetch_ok(pos, s->prefetch, tx->head_seen, s->L.nslots))
    tubo__os_prefetch_write(&tx->slots[(pos + s->prefetch) & s->smask]);
  if (tx->want_room) {
    tx->want_room = 0;
    atomic_store_explicit(&tx->chan->want_room, 0, memory_order_relaxed);
  }
  shm_wake_if_sleeping(s, tx->peer_ctl);
}

/* A payload's bulk copied to an address at most this far past its source in a 4 KiB
 * frame of addresses (the low 12 bits, which the processor compares first between a load
 * and the stores before it) is placed 64 bytes further: copied so, each load waited for
 * the store just before it, whose line the receiver's core held. With page-aligned buffers
 * a message's later frames lie 8 bytes past their source where the data ring starts 128
 * bytes into a page, as it does: buffers 120 or 128 bytes into a page streamed 256 KiB-4
 * MiB through the channel at 6.9-14.5 GB/s against 25.6-31.2 at 0 or 16 bytes in, on the
 * 2-vCPU VM of doc/benchmarks.md, and at 27.7-30.8 placed so (doc/large-messages.md). The
 * receiver's copy, into its own memory, showed no such loss. */
#define SHM_ALIAS_NEAR 64u
/* Payloads shorter than this are not moved: their copy is too short to matter. */
#define SHM_ALIAS_MIN 4096u

/* The bytes to leave before a payload (p1 and p2, n1 and n2 bytes) placed at d. */
static inline uint32_t shm_alias_pad(const unsigned char *d, const void *p1, size_t n1,
                                     const void *p2, size_t n2)
{
  const void *src = n2 ? p2 : p1;
  uintptr_t dst = (uintptr_t)d + (n2 ? n1 : 0);
  if ((n2 ? n2 : n1) < SHM_ALIAS_MIN)
    return 0;
  uint32_t dist = (uint32_t)((dst - (uintptr_t)src) & 4095u);
  return dist != 0 && dist < SHM_ALIAS_NEAR ? SHM_ALIAS_NEAR : 0;
}

static int shm_push(void *state, int peer, const tubo__frame_t *f, const void *p1, size_t n1,
                    const void *p2, size_t n2)
{
  shm_state_t *s = state;
  shm_tx_t *tx = &s->tx[peer];
  if (__builtin_expect(tx->slots == NULL, 0)) {
    int rc = tubo__shm_inbox_send(s, peer, f, p1, n1, p2, n2);
    if (rc != 1)
      return rc;
  }
  uint64_t pos = tx->tail;
  if (pos - tx->head_seen >= s->L.nslots) {
    /* The receiver's count only moves forward, and never past what was sent. */
    uint64_t h = atomic_load_explicit(&tx->chan->head, memory_order_acquire);
    if (h > pos || h < tx->head_seen)
      return shm_corrupt(s);
    tx->head_seen = h;
    if (pos - h >= s->L.nslots)
      return shm_no_room(s, tx);
  }
  struct tubo__shm_slot *slot = &tx->slots[pos & s->smask];
  uint32_t len = f->len;
  if (len <= TUBO__SHM_INLINE) {
    if (n1)
      tubo__copy_small(slot->inl, p1, n1);
    if (n2)
      memcpy(slot->inl + n1, p2, n2);
  } else {
    if (len > s->frame_max)
      return TUBO_ETOOBIG;
    uint32_t need = shm_round64(len);
    uint32_t off = tx->dtail & s->dmask;
    uint32_t skip = off + need > s->L.dbytes ? s->L.dbytes - off : 0;
    if (skip)
      off = 0;
    /* Placed further where that fits before the ring's end (it does after a skip: a frame
     * takes at most a quarter of the ring). */
    uint32_t pad = shm_alias_pad(tx->data + off, p1, n1, p2, n2);
    if (off + pad + need > s->L.dbytes)
      pad = 0;
    if (tx->dtail + skip + pad + need - tx->dhead_seen > s->L.dbytes) {
      /* Likewise the data it released: between what it released before and what was
       * sent (counts that wrap at 32 bits). */
      uint32_t d = atomic_load_explicit(&tx->chan->dhead, memory_order_acquire);
      if ((uint32_t)(d - tx->dhead_seen) > (uint32_t)(tx->dtail - tx->dhead_seen))
        return shm_corrupt(s);
      tx->dhead_seen = d;
      if (tx->dtail + skip + pad + need - d > s->L.dbytes)
        return shm_no_room(s, tx);
    }
    off += pad;
    unsigned char *d = tx->data + off;
    if (n1)
      memcpy(d, p1, n1);
    if (n2)
      memcpy(d + n1, p2, n2);
    tx->dtail += skip + pad + need;
    slot->doff = off;
    slot->dend = tx->dtail;
  }
  shm_slot_publish(s, tx, slot, pos, f);
  return 0;
}

/* The fast path of a blocking send (transport.h): a message that fits in a slot, to a
 * peer whose channel is made and has room, goes straight into the slot; any other takes
 * shm_push. */
static int shm_send_eager(void *state, int peer, uint16_t ctx, int32_t tag, const void *buf,
                          size_t len)
{
  shm_state_t *s = state;
  shm_tx_t *tx = &s->tx[peer];
  uint64_t pos = tx->tail;
  tubo__frame_t f = {TUBO__F_EAGER, 0, ctx, tag, (uint32_t)len};
  if (__builtin_expect(
          tx->slots == NULL || len > TUBO__SHM_INLINE || pos - tx->head_seen >= s->L.nslots, 0))
    return shm_push(state, peer, &f, buf, len, NULL, 0);
  struct tubo__shm_slot *slot = &tx->slots[pos & s->smask];
  tubo__copy_small(slot->inl, buf, len);
  shm_slot_publish(s, tx, slot, pos, &f);
  return 0;
}

/* Tells the sender how far this rank has read, and wakes it if it waits for room. */
static void shm_rx_publish(const shm_state_t *s, shm_rx_t *rx)
{
  atomic_store_explicit(&rx->chan->dhead, rx->dhead, memory_order_relaxed);
  atomic_store_explicit(&rx->chan->head, rx->head, memory_order_release);
  rx->head_pub = rx->head;
  rx->dhead_pub = rx->dhead;
  shm_wake_if_sleeping(s, rx->peer_ctl);
}

/* Whether frames from peer that nobody wants must still be taken (progress.c explains):
 * stalled for long, everything is; stalled briefly, the channel of a peer that waits for
 * room while this rank waits to send to it. */
static inline int shm_must_empty(const shm_state_t *s, int peer, shm_rx_t *rx)
{
  int stalled = tubo__tp_stalled(s->w);
  if (stalled == TUBO__STALLED_LONG)
    return 1;
  return stalled && tubo__tp_peer_waits_room(s->w, shm_world(s, peer)) &&
         atomic_load_explicit(&rx->chan->want_room, memory_order_acquire);
}

/* Delivers what arrived from one peer (all of it, wanted or not, if all is set); returns
 * frames taken or an error. */
/* The payload of a frame read from rx. */
static inline const void *shm_payload(const shm_rx_t *rx, const struct tubo__shm_slot *slot,
                                      const tubo__shm_rxf_t *x)
{
  return x->f.len > TUBO__SHM_INLINE ? (const void *)(rx->data + x->doff) : slot->inl;
}

/* Takes the frame at rx's head: releases its slot and payload, tells the sender now and
 * then. */
static inline void shm_consume(shm_state_t *s, shm_rx_t *rx, const tubo__shm_rxf_t *x)
{
  rx->head++;
  if (x->f.len > TUBO__SHM_INLINE)
    rx->dhead = x->dend;
  if (rx->head - rx->head_pub >= s->quarter || rx->dhead - rx->dhead_pub >= s->dquarter)
    shm_rx_publish(s, rx);
}

/* What a copy from peer's buffer that ended with err yields. Where the peer broke
 * meanwhile (shm_revoke), it may have failed the send and handed the buffer back to its
 * application, which may have written or freed it under the copy: the receive fails
 * rather than deliver those bytes. The sender's mark precedes any such write, so a copy
 * that saw one sees the mark after it. */
static int shm_copy_kept(const shm_state_t *s, int peer, int err)
{
  if (err != 0)
    return err;
  atomic_thread_fence(memory_order_seq_cst);
  return atomic_load_explicit(&tubo__jobctl_rank(s->ctl, (uint32_t)peer)->revoked,
                              memory_order_relaxed)
             ? TUBO_EPEER
             : 0;
}

/* Completes the receive of read i of a pass over peer's frames with err (or the error its
 * back half had), where it is still named. */
static void shm_read_complete(shm_state_t *s, int peer, int i, int err)
{
  shm_reads_t *q = &s->reads;
  tubo_request_t *r = q->rd[i].r;
  if (err == 0)
    err = shm_copy_kept(s, peer, q->rd[i].err);
  q->rd[i].r = NULL;
  q->rd[i].st = SHM_RD_DONE;
  if (r != NULL)
    tubo__read_done(s->w, r, q->rd[i].id, err);
}

/* The part of read i that this rank copies now: all of a plain one, the back half of a
 * message shared in halves (shm_split.h) not begun, its front half once this rank took
 * it. */
static tubo__os_span_t shm_read_part(const shm_read_t *x)
{
  tubo__os_span_t v = x->span;
  size_t h = x->st == SHM_RD_PLAIN ? 0 : tubo__shm_split_front(v.len);
  if (x->st == SHM_RD_OPEN)
    return (tubo__os_span_t){v.remote + h, (unsigned char *)v.local + h, v.len - h};
  if (x->st == SHM_RD_MINE)
    v.len = h;
  return v;
}

/* Makes the parts of the reads of a pass that are this rank's to copy now (shm_read_part)
 * in one system call, each piece that could not be so alone, then completes the receives
 * whose messages are in, in the order their RTSs came. */
static void shm_reads_make(shm_state_t *s, int peer)
{
  shm_reads_t *q = &s->reads;
  tubo__os_span_t span[TUBO__SHM_READS];
  int at[TUBO__SHM_READS], err[TUBO__SHM_READS], m = 0;
  for (int i = 0; i < q->n; i++)
    if (q->rd[i].st != SHM_RD_THEIRS && q->rd[i].st != SHM_RD_BACK && q->rd[i].st != SHM_RD_DONE &&
        q->rd[i].r != NULL) {
      at[m] = i;
      span[m++] = shm_read_part(&q->rd[i]);
    }
  if (m == 0)
    return;
  int whole = tubo__os_peer_readv(s->pids[peer], span, m);
  if (m > 1)
    q->together += (uint64_t)m;
  for (int j = 0; j < m; j++) {
    err[j] = j < whole
                 ? 0
                 : tubo__os_peer_read(s->pids[peer], span[j].remote, span[j].local, span[j].len);
    s->splits.read_halves += (uint64_t)(q->rd[at[j]].st == SHM_RD_OPEN && m > 1);
  }
  /* A receive failed meanwhile (shm_read_cancel) is no longer named. */
  for (int j = 0; j < m; j++)
    if (q->rd[at[j]].st == SHM_RD_OPEN) {
      q->rd[at[j]].st = SHM_RD_BACK;
      q->rd[at[j]].err = err[j];
    } else {
      shm_read_complete(s, peer, at[j], err[j]);
    }
}

/* Takes (1) the front half of the message shared in halves of read i, or finds the sender
 * took it (0). */
static int shm_read_claim(shm_reads_t *q, int i)
{
  int mine = tubo__shm_split_halves_claim(q->rd[i].c);
  q->rd[i].st = mine ? SHM_RD_MINE : SHM_RD_THEIRS;
  return mine;
}

/* How long the receiver waits for a sender at work on the front halves of a pass to take
 * or copy another (SHM_FRONTS_WAIT_NS without either: it is away after all). */
#define SHM_FRONTS_WAIT_NS 50000u

/* Claims the front halves of the pass's messages shared in halves that the sender has not
 * taken. Where it took one of them, it is at work on them: this rank waits for it to take
 * the others, as long as it takes or copies one at least every SHM_FRONTS_WAIT_NS. Were
 * this rank to take those it came to first, the halves of a buffer received into again
 * and again (osu_bw's) would go from one core's cache to the other's: at 256 KiB on the
 * Intel host such messages ran slower shared so than copied by the receiver alone, and up
 * to twice as fast where the sender took every front half (doc/large-messages.md). A
 * sender that took none (asleep, or busy elsewhere) costs no wait. */
static void shm_reads_fronts(shm_state_t *s)
{
  shm_reads_t *q = &s->reads;
  uint64_t since = 0, seen = UINT64_MAX;
  for (;;) {
    uint64_t sig = 0;
    int taken = 0, left = 0;
    for (int i = 0; i < q->n; i++)
      if (q->rd[i].st == SHM_RD_BACK) {
        uint32_t claim = atomic_load_explicit(&q->rd[i].c->claim, memory_order_relaxed);
        taken += claim != 0;
        left += claim == 0;
        sig += claim + atomic_load_explicit(&q->rd[i].c->done, memory_order_relaxed);
      }
    if (taken == 0 || left == 0)
      break;
    uint64_t now = tubo__os_now_ns();
    if (sig != seen) {
      seen = sig;
      since = now;
    } else if (now - since > SHM_FRONTS_WAIT_NS) {
      break;
    }
    tubo__os_cpu_relax();
  }
  for (int i = q->n - 1; i >= 0; i--)
    if (q->rd[i].st == SHM_RD_BACK)
      (void)shm_read_claim(q, i);
}

/* Reads the single copies a pass over peer's frames left waiting (shm_read_start), and
 * completes their receives: the plain ones and the back halves of the messages shared in
 * halves first (while the sender may write their front halves), then the front halves the
 * sender does not take (shm_reads_fronts), and last waits for the sender's copies. */
static void shm_reads_flush(shm_state_t *s, int peer)
{
  shm_reads_t *q = &s->reads;
  int n = q->n;
  if (n == 0)
    return;
  /* The receives that complete below may start others, or take frames in: those are read
   * alone. */
  int pass = q->peer;
  q->peer = -1;
  q->making = peer;
  q->flushing = 1;
  shm_reads_make(s, peer);
  shm_reads_fronts(s);
  shm_reads_make(s, peer);
  for (int i = 0; i < n; i++)
    if (q->rd[i].st == SHM_RD_THEIRS) {
      const tubo__os_span_t *v = &q->rd[i].span;
      shm_read_complete(
          s, peer, i,
          tubo__shm_split_halves_wait(s, peer, q->rd[i].c, v->remote, v->local, v->len));
    }
  q->n = 0;
  q->bytes = 0;
  q->peer = pass;
  q->flushing = 0;
}

/* A frame found at rx's head without waiting: asks for a slot ahead that the sender
 * filled (shm_ring.h). */
static inline void shm_read_ahead(const shm_state_t *s, shm_rx_t *rx)
{
  uint64_t p = tubo__shm_read_ahead(&rx->ahead, rx->slots, s->L.nslots, rx->head, s->prefetch);
  if (p != UINT64_MAX)
    tubo__os_prefetch_read(&rx->slots[p & s->smask]);
}

static int shm_poll_peer(shm_state_t *s, int peer, int all)
{
  shm_rx_t *rx = &s->rx[peer];
  int n = 0, rc;
  /* A pass within another (over another peer's frames) ends that one's reads first; one
   * within the end of a pass (shm_reads_flush) reads alone. */
  int outer = s->reads.peer, batch = !s->reads.flushing;
  if (batch && outer >= 0 && outer != peer)
    shm_reads_flush(s, outer);
  if (batch)
    s->reads.peer = peer;
  for (;;) {
    const struct tubo__shm_slot *slot = &rx->slots[rx->head & s->smask];
    tubo__shm_rxf_t x;
    rc = tubo__shm_slot_read(slot, rx->head, rx->dhead, s->L.dbytes, s->frame_max, &x);
    if (rc <= 0) {
      rc = rc < 0 ? shm_corrupt(s) : n;
      break;
    }
    shm_read_ahead(s, rx);
    const void *payload = shm_payload(rx, slot, &x);
    rc = tubo__deliver(s->w, shm_world(s, peer), &x.f, payload, 0);
    if (rc == 0 && (all || shm_must_empty(s, peer, rx)))
      rc = tubo__deliver(s->w, shm_world(s, peer), &x.f, payload, 1);
    if (rc <= 0) {
      rc = rc == TUBO_ECORRUPT ? shm_corrupt(s) : rc < 0 ? rc : n;
      break;
    }
    shm_consume(s, rx, &x);
    n++;
    if (batch && s->reads.bytes >= TUBO__SHM_READS_BYTES)
      shm_reads_flush(s, peer);
  }
  /* Every pass ends with its reads done, so that nothing waits on a later pass. */
  if (batch) {
    shm_reads_flush(s, peer);
    s->reads.peer = outer;
  }
  return rc;
}

/* The next frame from a peer is not there yet: polls that one slot for it for at most
 * budget nanoseconds, as the spin of the cache-line floor does, rather than a pass of the
 * whole engine each time: the frame is seen as soon as its line arrives. Between polls the
 * processor's spin-wait hint, unless rx->plain_spin (shm_choose_spin). Returns as
 * tubo__shm_slot_read; 0 once the spin is over. The clock is read only every 64 polls,
 * from the 64th on. */
static __attribute__((noinline)) int shm_recv_spin(const shm_state_t *s, const shm_rx_t *rx,
                                                   const struct tubo__shm_slot *slot,
                                                   uint64_t budget, tubo__shm_rxf_t *x)
{
  uint64_t since = 0;
  if (budget == 0)
    return 0;
  for (unsigned polls = 1;; polls++) {
    if (!rx->plain_spin)
      tubo__os_cpu_relax();
    int rc = tubo__shm_slot_read(slot, rx->head, rx->dhead, s->L.dbytes, s->frame_max, x);
    if (rc != 0)
      return rc;
    if ((polls & 63) == 0) {
      uint64_t now = tubo__os_now_ns();
      if (since == 0)
        since = now;
      else if (now - since >= budget)
        return 0;
    }
  }
}

/* Waits a while for the next frame from peer (transport.h, spin): a receive posted before
 * its message came then takes it in the engine's next pass. What it finds wrong with the
 * slot is left to that pass to report. */
static int shm_spin(void *state, int peer, uint64_t budget)
{
  const shm_state_t *s = state;
  const shm_rx_t *rx = &s->rx[peer];
  if (rx->slots == NULL)
    return 0;
  tubo__shm_rxf_t x;
  const struct tubo__shm_slot *slot = &rx->slots[rx->head & s->smask];
  int rc = tubo__shm_slot_read(slot, rx->head, rx->dhead, s->L.dbytes, s->frame_max, &x);
  if (rc == 0)
    rc = shm_recv_spin(s, rx, slot, budget, &x);
  return rc != 0;
}

/* The fast path of a blocking receive (transport.h): takes the message if it is the next
 * frame from source and whole, waiting for it a while where nothing else could end the
 * wait (shm_recv_spin), else hands the call to the general path. */
/* The next frame from a peer, as a blocking receive's fast path finds it. */
typedef struct shm_next {
  shm_state_t *s;
  shm_rx_t *rx;
  const struct tubo__shm_slot *slot; /* NULL: the channel from the peer is not made yet */
  tubo__shm_rxf_t x;
} shm_next_t;

/* A blocking receive's fast path from source (shm_recv, shm_recv_loan): the channel's
 * next slot and what it holds, waited for a while (shm_recv_spin) where nothing is there
 * yet. Returns as tubo__shm_slot_read, or 0 where the channel is not made yet. */
static inline __attribute__((always_inline)) int shm_recv_next(tubo__world_t *w, int source,
                                                               tubo_comm_t *comm, shm_next_t *n)
{
  int wpeer = tubo__comm_world_rank(comm, source);
  shm_state_t *s = n->s = tubo__tp_state_of(w, wpeer);
  shm_rx_t *rx = n->rx = &s->rx[tubo__tp_index_of(w, wpeer)];
  n->slot = NULL;
  if (rx->slots == NULL)
    return 0;
  n->slot = &rx->slots[rx->head & s->smask];
  int rc = tubo__shm_slot_read(n->slot, rx->head, rx->dhead, s->L.dbytes, s->frame_max, &n->x);
  if (rc == 0)
    rc = shm_recv_spin(s, rx, n->slot, tubo__tp_recv_spin_ns(w, wpeer), &n->x);
  else if (rc == 1)
    shm_read_ahead(s, rx);
  return rc;
}

static int shm_recv(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                    tubo_status_t *status)
{
  tubo__world_t *w = tubo__tp_comm_world(comm);
  shm_next_t n;
  int rc = shm_recv_next(w, source, comm, &n);
  if (rc < 0)
    return shm_corrupt(n.s);
  if (rc == 0 || n.x.f.kind != TUBO__F_EAGER || n.x.f.ctx != tubo__tp_comm_ctx(comm) ||
      (tag != TUBO_ANY_TAG && n.x.f.tag != tag))
    return tubo__recv_general(buf, cap, source, tag, comm, status);
  const void *payload = shm_payload(n.rx, n.slot, &n.x);
  tubo__copy_small(buf, payload, n.x.f.len < cap ? n.x.f.len : cap);
  int32_t got_tag = n.x.f.tag;
  size_t len = n.x.f.len;
  shm_consume(n.s, n.rx, &n.x);
  return tubo__recv_fast_done(w, source, got_tag, len, cap, status);
}

/* The fast path of tubo_recv_loan (transport.h), as shm_recv's: takes the loan if the
 * next frame from source is its RTS, waiting for it a while as shm_recv does. */
static int shm_recv_loan(int source, int tag, tubo_comm_t *comm, void **ptr, tubo_status_t *status)
{
  tubo__world_t *w = tubo__tp_comm_world(comm);
  shm_next_t n;
  int rc = shm_recv_next(w, source, comm, &n);
  if (rc < 0)
    return shm_corrupt(n.s);
  struct tubo__f_rts h;
  if (rc == 0 || n.x.f.kind != TUBO__F_RTS || n.x.f.len != sizeof h ||
      n.x.f.ctx != tubo__tp_comm_ctx(comm) || (tag != TUBO_ANY_TAG && n.x.f.tag != tag))
    return tubo__recv_loan_general(source, tag, comm, ptr, status);
  memcpy(&h, shm_payload(n.rx, n.slot, &n.x), sizeof h);
  void *p = NULL;
  /* Anything else (or a loan that is not right: the engine says so) takes the general path. */
  if (!(h.addr & TUBO__RTS_LOAN) || h.total > SIZE_MAX / 2 ||
      (p = tubo__shm_loan_accept(&n.s->loans, TUBO__RTS_OFF(h.addr), (size_t)h.total)) == NULL)
    return tubo__recv_loan_general(source, tag, comm, ptr, status);
  int32_t got_tag = n.x.f.tag;
  shm_consume(n.s, n.rx, &n.x);
  *ptr = p;
  return tubo__recv_fast_done(w, source, got_tag, (size_t)h.total, (size_t)h.total, status);
}

static int shm_progress(void *state)
{
  shm_state_t *s = state;
  int total = tubo__shm_inbox_poll(s);
  if (total < 0)
    return total;
  /* Chunks of split messages are no frames: copying them is no event. */
  if (s->splits.helping != 0)
    (void)tubo__shm_split_help(s);
  int np = s->nlive;
  int start = s->rr < np ? s->rr : 0;
  for (int i = 0; i < np; i++) {
    int k = start + i;
    if (k >= np)
      k -= np;
    int rc = shm_poll_peer(s, s->live[k], 0);
    if (rc < 0)
      return rc;
    total += rc;
  }
  if (np > 1 && ++s->rr >= np)
    s->rr = 0;
  return total;
}

static void shm_sleep(void *state, int timeout_ms, int (*ready)(void *), void *arg)
{
  shm_state_t *s = state;
  struct tubo__rankctl *me = s->me;
  /* Read the bell before arming: a waker that clears sleeping from now on also bumps the
   * bell, so the wait below returns at once instead of missing it. */
  uint32_t v = atomic_load_explicit(&me->bell, memory_order_seq_cst);
  atomic_store_explicit(&me->sleeping, 1, memory_order_seq_cst);
  if (s->asym_fence)
    tubo__os_fence_remote(); /* every publisher's last store is now visible */
  if (!ready(arg) && atomic_load(&s->ctl->state) == TUBO__JOB_RUNNING)
    tubo__os_futex_wait(&me->bell, v, timeout_ms);
  atomic_store_explicit(&me->sleeping, 0, memory_order_relaxed);
}

int tubo__shm_pid_trusted(shm_state_t *s, int p)
{
  if (s->pid_trust[p] == 0) {
    pid_t at = s->pids[p];
    int ok = 0;
    for (int gen = 0; gen < 4 && at > 1 && !ok; gen++) {
      ok = at == s->ancestor;
      at = tubo__os_pid_parent(at);
    }
    s->pid_trust[p] = ok ? 1 : 2;
  }
  return s->pid_trust[p] == 1;
}

int tubo__shm_peer_writable(shm_state_t *s, int p)
{
  return !atomic_load(&s->ctl->cma_denied) && tubo__shm_pid_trusted(s, p);
}

/* Records peer p's death if its process ended while still in the job. How it ended is
 * its parent's to know: the record says 255. */
static void shm_watch_one(shm_state_t *s, int p)
{
  struct tubo__rankctl *rc = tubo__jobctl_rank(s->ctl, (uint32_t)p);
  if (atomic_load(&rc->state) == TUBO__RANK_READY && tubo__shm_pid_trusted(s, p) &&
      !tubo__os_pid_alive(s->pids[p]) && atomic_load(&rc->state) == TUBO__RANK_READY)
    tubo__jobctl_exited(s->ctl, (uint32_t)s->size, p, 255);
}

int tubo__shm_peer_lost(shm_state_t *s, int p)
{
  /* Where the ranks watch each other, a death found here is recorded for every rank. */
  if (s->watch_peers)
    shm_watch_one(s, p);
  uint32_t st = atomic_load(&tubo__jobctl_rank(s->ctl, (uint32_t)p)->state);
  return st == TUBO__RANK_DONE || st == TUBO__RANK_DEAD;
}

/* Peers looked at per pass, besides the one waited for: every peer of a small job, and a
 * bounded cost in a large one, whose peers are looked at in turn. */
#define SHM_WATCH_BATCH 16

/* Where no launcher records the ranks' ends (a world of tubo_spawn, whose rank 0 may be
 * busy elsewhere; the node's ranks under mpirun), or while the launcher is stopped, the
 * ranks look at each other's processes themselves, at most every 250 ms: first the peer
 * this rank waits for, then the next few. A death found is recorded for every rank to
 * see. */
static void shm_watch_peers(shm_state_t *s)
{
  uint64_t now = tubo__os_now_ns();
  if (now - s->watched_at < 250000000u || s->npoll == 0)
    return;
  s->watched_at = now;
  int waited = -1;
  int wp = tubo__tp_wait_peer(s->w);
  if (wp >= 0 && tubo__tp_state_of(s->w, wp) == (void *)s) {
    waited = tubo__tp_index_of(s->w, wp);
    shm_watch_one(s, waited);
  }
  int n = s->npoll < SHM_WATCH_BATCH ? s->npoll : SHM_WATCH_BATCH;
  for (int k = 0; k < n; k++) {
    if (s->watch_next >= s->npoll)
      s->watch_next = 0;
    int p = s->poll[s->watch_next++];
    if (p != waited)
      shm_watch_one(s, p);
  }
}

/* Looks, at most every sleep period, for what someone other than the sender wrote into
 * this rank's channels, which could hold a wait for ever: the slot this rank reads next
 * must hold a stamp the sender can leave there (else TUBO_ECORRUPT), and the counts it
 * published must still be there (else they are published again, so that a sender never
 * waits for room that was made). Where this rank waits for room, it asks again. */
static int shm_check_channels(shm_state_t *s)
{
  uint64_t now = tubo__os_now_ns();
  if (now - s->checked_at < (uint64_t)tubo__tp_sleep_ms(s->w) * 1000000u)
    return 0;
  s->checked_at = now;
  int rc = tubo__shm_inbox_check(s);
  if (rc != 0)
    return rc;
  for (int i = 0; i < s->nlive; i++) {
    int p = s->live[i];
    shm_rx_t *rx = &s->rx[p];
    if (!tubo__shm_slot_stamp_ok(&rx->slots[rx->head & s->smask], rx->head, s->L.nslots))
      return shm_corrupt(s);
    if (atomic_load_explicit(&rx->chan->head, memory_order_relaxed) != rx->head_pub ||
        atomic_load_explicit(&rx->chan->dhead, memory_order_relaxed) != rx->dhead_pub)
      shm_rx_publish(s, rx);
  }
  for (int i = 0; i < s->npoll; i++) {
    shm_tx_t *tx = &s->tx[s->poll[i]];
    if (tx->slots != NULL && tx->want_room &&
        !atomic_load_explicit(&tx->chan->want_room, memory_order_relaxed)) {
      atomic_store_explicit(&tx->chan->want_room, 1, memory_order_release);
      shm_wake_if_sleeping(s, tx->peer_ctl);
    }
  }
  return 0;
}

/* How long a peer's end waits for this rank's inbox to settle once a rank of the job died:
 * the dead rank may be the one that claimed the position, and then nobody fills it. */
#define SHM_GONE_WAIT_DIED_NS 1000000000ull

/* Whether the record of a peer's end may still wait for a position of this rank's inbox
 * that a sender claimed and has not filled. A rank that called tubo_finalize filled every
 * position it claimed before it said so; while no rank died, the claimer is therefore a
 * live rank, which fills the position once it runs again, however long a crowded machine
 * (hundreds of ranks on a few cores) keeps it off the processor: the record waits as long
 * as the inbox check lets a claim stay unfilled (TUBO__SHM_INBOX_STALL_NS; longer is a
 * rogue, and the inbox check breaks the job). Once a rank died, it may be the claimer:
 * the record waits a short while only, and the job breaks anyway. */
static int shm_gone_may_wait(shm_state_t *s)
{
  uint64_t now = tubo__os_now_ns();
  if (s->gone_wait == 0)
    s->gone_wait = now;
  uint64_t bound =
      atomic_load(&s->ctl->failed_rank) < 0 ? TUBO__SHM_INBOX_STALL_NS : SHM_GONE_WAIT_DIED_NS;
  return now - s->gone_wait < bound;
}

static int shm_check(void *state)
{
  shm_state_t *s = state;
  /* A wait for the inbox that ended otherwise (the peer recorded gone elsewhere) does not
   * shorten the next one. */
  if (s->gone_wait != 0 && !tubo__shm_inbox_unsettled(s))
    s->gone_wait = 0;
  int launcher = s->launcher > 0 ? tubo__os_pid_state(s->launcher) : TUBO__PID_ALIVE;
  if (s->watch_peers || launcher == TUBO__PID_STOPPED)
    shm_watch_peers(s);
  /* The abort first: the rank that aborted dies right after, and its death must not be
   * taken for the reason the job broke. */
  uint32_t job = atomic_load(&s->ctl->state);
  if (job == TUBO__JOB_ABORTED)
    tubo__job_aborted(s->w);
  else if (job != TUBO__JOB_RUNNING)
    return shm_corrupt(s);
  for (int i = 0; i < s->npoll; i++) {
    int p = s->poll[i];
    struct tubo__rankctl *rc = tubo__jobctl_rank(s->ctl, (uint32_t)p);
    uint32_t st = atomic_load(&rc->state);
    if ((st != TUBO__RANK_DONE && st != TUBO__RANK_DEAD) ||
        tubo__tp_peer_is_gone(s->w, shm_world(s, p)))
      continue;
    /* What it sent before it left is in its channel and this rank's inbox (it stored the
     * state after its last frame): take all of it first, its FINs above all, then record
     * that it is gone. Its last frames in the inbox may wait behind a position another
     * sender claimed and has not filled yet: the record waits for that. */
    int n = tubo__shm_inbox_poll(s);
    if (n < 0)
      return n;
    if (s->rx[p].slots != NULL && (n = shm_poll_peer(s, p, 1)) < 0)
      return n;
    if (tubo__shm_inbox_unsettled(s) && shm_gone_may_wait(s))
      continue;
    s->gone_wait = 0;
    /* Its buffers and the loans it held (sent to it included) are nobody's now. */
    (void)tubo__shm_loan_reclaim(&s->loans, (uint32_t)p);
    if (st == TUBO__RANK_DONE)
      tubo__peer_gone(s->w, shm_world(s, p), TUBO__GONE_LEFT, 0);
    else
      tubo__peer_gone(s->w, shm_world(s, p), TUBO__GONE_DIED, atomic_load(&rc->exit_status));
  }
  if (job == TUBO__JOB_ABORTED)
    return TUBO_EABORT;
  if (launcher == TUBO__PID_GONE)
    return TUBO_EABORT;
  return shm_check_channels(s);
}

static int shm_read(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n,
                    size_t total)
{
  shm_state_t *s = state;
  (void)id;
  if (addr & TUBO__RTS_SPLIT)
    return shm_copy_kept(s, peer,
                         tubo__shm_split_read(s, peer, TUBO__RTS_OFF(addr), dst, n, total));
  if (addr & TUBO__RTS_HEAP) {
    /* The message lies in the shared heap: one plain copy, no system call. */
    const void *src = tubo__heap_at(&s->heap, TUBO__RTS_OFF(addr), n);
    if (src == NULL)
      return TUBO_ECORRUPT;
    tubo__copy_large(dst, src, n);
    return shm_copy_kept(s, peer, 0);
  }
  if (atomic_load(&s->ctl->cma_denied))
    return TUBO_ENOTSUP;
  return shm_copy_kept(s, peer, tubo__os_peer_read(s->pids[peer], addr, dst, n));
}

/* Within a pass over peer's frames (shm_poll_peer), a single copy from the sender's private
 * memory waits to be read with the others of the pass in one process_vm_readv: one system
 * call (its entry, the lookup of the sender and the check of the right to read it) for
 * several messages. Bare, 8 reads of 64 KiB per call took 2879 ns each against 3196 alone
 * (doc/benchmarks.md). */
static int shm_read_start(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n,
                          tubo_request_t *r)
{
  shm_state_t *s = state;
  shm_reads_t *q = &s->reads;
  struct tubo__shm_split *c = NULL;
  uint64_t src = addr;
  if (q->peer != peer || q->n == TUBO__SHM_READS || (addr & TUBO__RTS_LOAN) ||
      atomic_load(&s->ctl->cma_denied))
    return 0;
  /* A message shared in halves is offered to the sender now, which may take its front
   * half while this rank goes on with the pass; any other split, or a message in the heap,
   * is read alone. */
  if (addr & TUBO__RTS_SPLIT) {
    int rc = tubo__shm_split_halves_offer(s, TUBO__RTS_OFF(addr), dst, n, &c, &src);
    if (rc <= 0)
      return rc;
  } else if (addr & TUBO__RTS_HEAP) {
    return 0;
  }
  q->rd[q->n++] = (shm_read_t){.span = {src, dst, n},
                               .id = id,
                               .r = r,
                               .c = c,
                               .st = c != NULL ? SHM_RD_OPEN : SHM_RD_PLAIN};
  q->bytes += n;
  return 1;
}

/* A read not made yet is dropped; one being completed (shm_reads_flush) is only no
 * longer named. The front half of a message shared in halves that the sender may write is
 * taken first, or its copy waited for (its outcome does not matter: the receive fails). */
static void shm_read_cancel(void *state, tubo_request_t *r)
{
  shm_state_t *s = state;
  shm_reads_t *q = &s->reads;
  for (int i = 0; i < q->n; i++)
    if (q->rd[i].r == r) {
      if (q->rd[i].st == SHM_RD_OPEN || q->rd[i].st == SHM_RD_BACK)
        (void)shm_read_claim(q, i);
      if (q->rd[i].st == SHM_RD_THEIRS)
        (void)tubo__shm_split_halves_wait(s, q->peer >= 0 ? q->peer : q->making, q->rd[i].c, 0,
                                          NULL, 0);
      q->rd[i].r = NULL;
      q->rd[i].st = SHM_RD_DONE;
      if (q->peer < 0)
        return; /* being completed: its data is in already, or never will be */
      q->bytes -= q->rd[i].span.len;
      memmove(&q->rd[i], &q->rd[i + 1], (size_t)(q->n - i - 1) * sizeof q->rd[0]);
      q->n--;
      return;
    }
}

static int shm_write(void *state, int peer, uint64_t addr, const void *src, size_t n)
{
  shm_state_t *s = state;
  if (addr & TUBO__RTS_SPLIT)
    return TUBO_ECORRUPT;
  if (addr & TUBO__RTS_HEAP) {
    void *dst = tubo__heap_at(&s->heap, TUBO__RTS_OFF(addr), n);
    if (dst == NULL)
      return TUBO_ECORRUPT;
    tubo__copy_large(dst, src, n);
    return 0;
  }
  if (!tubo__shm_peer_writable(s, peer))
    return TUBO_ENOTSUP;
  return tubo__os_peer_write(s->pids[peer], addr, src, n);
}

static int shm_writable(void *state, int peer)
{
  return tubo__shm_peer_writable(state, peer);
}

/* Marks this rank's record: peers fail the copies from its memory that end from now on
 * (shm_copy_kept). */
static void shm_revoke(void *state)
{
  shm_state_t *s = state;
  atomic_store_explicit(&s->me->revoked, 1, memory_order_seq_cst);
}

static int shm_heap_of(void *state, const void *p, size_t n, uint64_t *off)
{
  shm_state_t *s = state;
  return tubo__shm_heap_of(&s->loans, p, n, off);
}

static int shm_loan_alloc(void *state, size_t size, void **p)
{
  shm_state_t *s = state;
  return tubo__shm_loan_alloc(&s->loans, size, p);
}

static int shm_loan_give(void *state, uint64_t off, size_t len, int peer)
{
  shm_state_t *s = state;
  return tubo__shm_loan_give(&s->loans, off, len, (uint32_t)peer);
}

static void *shm_loan_take(void *state, uint64_t off, size_t len)
{
  shm_state_t *s = state;
  uint32_t slot;
  if (tubo__shm_loan_check(&s->loans, off, len, &slot) != 0)
    return NULL;
  return tubo__heap_at(&s->heap, off, len);
}

static void *shm_loan_accept(void *state, uint64_t off, size_t len)
{
  shm_state_t *s = state;
  return tubo__shm_loan_accept(&s->loans, off, len);
}

static int shm_loan_free(void *state, uint64_t off)
{
  shm_state_t *s = state;
  return tubo__shm_loan_free(&s->loans, off);
}

static int shm_heap_alloc(void *state, size_t size, uint64_t *off)
{
  shm_state_t *s = state;
  if (s->heap.ctl == NULL)
    return TUBO_ESHM;
  return tubo__heap_alloc(&s->heap, size, TUBO__HEAP_ZERO, off);
}

static int shm_heap_free(void *state, uint64_t off)
{
  shm_state_t *s = state;
  return tubo__heap_free(&s->heap, off);
}

static void *shm_heap_at(void *state, uint64_t off, size_t size)
{
  shm_state_t *s = state;
  return tubo__heap_at(&s->heap, off, size);
}

/* The pages the segment holds, as the kernel counts them (Shmem in /proc/meminfo). */
static int shm_mem_used(void *state, uint64_t *bytes)
{
  shm_state_t *s = state;
  struct stat sb;
  if (fstat(s->fd, &sb) != 0)
    return TUBO_ESYS;
  *bytes = (uint64_t)sb.st_blocks * 512u;
  return 0;
}

/* Joins the job's heap: the first rank here makes it. A heap too small for any block
 * (TUBO_SHM_HEAP_BYTES) is none: allocations then fail with TUBO_ESHM. */
static int shm_heap_attach(shm_state_t *s)
{
  s->heap_fd.fd = s->fd;
  s->heap_fd.off = s->L.heap_off;
  tubo__heap_backing_t b = tubo__heap_fd_backing(&s->heap_fd);
  int rc = tubo__heap_attach(&s->heap, (char *)s->base + s->L.heap_off, s->L.heap_bytes, &b);
  s->loans.heap = &s->heap;
  s->loans.ctl = s->ctl;
  s->loans.me = (uint32_t)s->rank;
  s->loans.hint = (uint32_t)s->rank * 61u % TUBO__LOAN_SLOTS;
  tubo__shm_split_init(s);
  s->reads.peer = -1;
  return rc == TUBO_EINVAL ? 0 : rc;
}

static void shm_leave(void *state)
{
  shm_state_t *s = state;
  atomic_store(&s->me->state, TUBO__RANK_DONE);
  for (int i = 0; i < s->npoll; i++)
    tubo__bell_ring(tubo__jobctl_rank(s->ctl, (uint32_t)s->poll[i]));
}

static void shm_abort(void *state, int code)
{
  shm_state_t *s = state;
  tubo__jobctl_abort(s->ctl, (uint32_t)s->size, code);
}

static void shm_close(void *state)
{
  shm_state_t *s = state;
  if (s == NULL)
    return;
  if (s->base != NULL && s->base != MAP_FAILED) {
    if (s->w != NULL && s->me != NULL)
      tubo__tp_unset_blocked(s->w, &s->me->blocked);
    tubo__shm_split_fini(s);
    tubo__shm_loan_drop(&s->loans); /* the block it kept for reuse is the heap's again */
    munmap(s->base, s->L.total);
  }
  tubo__shm_loan_fini(&s->loans);
  free(s->tx);
  free(s->rx);
  free(s->poll);
  free(s->live);
  free(s->pids);
  free(s->pid_trust);
  free(s);
}

/* Maps the control block alone and checks it belongs to this job; gives the launcher it
 * names, which must be none or the one this rank was told of. */
static int shm_check_ctl(const tubo__launch_t *l, size_t page, struct stat *sb, int32_t *launcher)
{
  size_t ctl_bytes = tubo__jobctl_bytes((uint32_t)l->size, page);
  if (fstat(l->shm_fd, sb) != 0 || !S_ISREG(sb->st_mode) || (size_t)sb->st_size < ctl_bytes)
    return TUBO_ELAUNCH;
  struct tubo__jobctl *c = mmap(NULL, ctl_bytes, PROT_READ, MAP_SHARED, l->shm_fd, 0);
  if (c == MAP_FAILED)
    return TUBO_ESHM;
  int ok = c->magic == TUBO__JOBCTL_MAGIC && c->version == TUBO__JOBCTL_VERSION &&
           c->nranks == (uint32_t)l->size && c->ctl_bytes == ctl_bytes &&
           memcmp(c->jobid, l->jobid, sizeof c->jobid) == 0 &&
           (c->launcher_pid == 0 || c->launcher_pid == (int32_t)l->launcher_pid);
  *launcher = c->launcher_pid;
  munmap(c, ctl_bytes);
  return ok ? 0 : TUBO_ELAUNCH;
}

/* Binds this rank's inbox near it, reserves its pages and clears it. */
static int shm_prepare_region(shm_state_t *s, int fd)
{
  size_t off = tubo__shm_inbox_off(&s->L, (uint32_t)s->rank);
  void *region = (char *)s->base + off;
  int node = -1;
  const tubo__here_t *h = tubo__tp_here(s->w);
  const tubo__locality_t loc = h->loc;
  tubo__topo_t *topo = tubo__tp_topo(s->w);
  if (topo != NULL)
    (void)tubo__topo_membind_near_self(topo, region, s->L.inbox_bytes, &node);
  else if (h->mem_node >= 0 && tubo__os_membind(region, s->L.inbox_bytes, h->mem_node) == 0)
    node = loc.numa;
  s->me->numa_node = node;
  s->me->l2 = loc.l2;
  s->me->l3 = loc.l3;
  s->me->package = loc.package;
  return tubo__os_shm_reserve(fd, off, s->L.inbox_bytes);
}

/* Every peer is polled for its end; channels come as pairs talk (shm_inbox.c). */
static void shm_wire(shm_state_t *s)
{
  for (int p = 0; p < s->size; p++) {
    if (p == s->rank)
      continue;
    s->tx[p].peer_ctl = tubo__jobctl_rank(s->ctl, (uint32_t)p);
    s->poll[s->npoll++] = p;
  }
  s->ib = shm_inbox_of(s, s->rank);
  s->ib_slots = tubo__shm_inbox_slots(s->ib, s->L.nranks);
  s->ib_mask = s->L.inbox_slots - 1;
  s->fast_after = SHM_FAST_AFTER;
}

/* Maps now every page this rank reads, and brings its lines into this core's caches
 * (shm_warm): its own inbox, cleared and reserved at start-up phase 1; otherwise the
 * first pass over it would take a page fault per 64 frames. */
static void shm_prefault(shm_state_t *s)
{
  void *ib = (char *)s->base + tubo__shm_inbox_off(&s->L, (uint32_t)s->rank);
  tubo__os_prefault(ib, s->L.inbox_bytes);
  shm_warm(ib, s->L.inbox_bytes);
}

/* Whether this rank makes its channels at start-up. Where every pair of a few ranks may
 * have its channel, making them here puts their cost (a heap block and its pages mapped
 * on both sides, about a millisecond) before the program's first message, as Open MPI
 * wires its pairs in MPI_Init, instead of on its first iterations. A larger job makes
 * them as pairs talk: start-up stays flat and memory linear in the ranks. */
static int shm_wire_early(const shm_state_t *s)
{
  uint64_t most =
      tubo__setting_u64("TUBO_SHM_WIRE_RANKS", TUBO__SHM_WIRE_RANKS_DEFAULT, 0, UINT32_MAX);
  return s->size > 1 && (uint64_t)s->size <= most && (uint32_t)(s->size - 1) <= s->L.fast_max &&
         s->heap.ctl != NULL;
}

/* Tries to read a peer's probe word with a single copy; every rank tells the job. */
static void shm_probe_single_copy(shm_state_t *s)
{
  int peer = (s->rank + 1) % s->size;
  struct tubo__rankctl *pc = tubo__jobctl_rank(s->ctl, (uint32_t)peer);
  uint64_t v = 0;
  int rc = tubo__os_peer_read(s->pids[peer], pc->probe_addr, &v, sizeof v);
  if (rc != 0 || v != TUBO__JOBCTL_MAGIC)
    atomic_store(&s->ctl->cma_denied, 1);
}

/* The choice tuborun measured for pairs of this kind (jobctl.h: TUBO__RNDV_KNOWN | the size
 * classes that go by single copy), or 0 where it gave none (the control block is anyone's
 * to write: any value only changes which protocol carries a message, never what it
 * carries). */
static uint32_t shm_measured_rndv(const shm_state_t *s, int kind)
{
  if (s->ctl->rndv_magic != TUBO__RNDV_MAGIC)
    return 0;
  uint32_t v = s->ctl->rndv_cma[kind];
  return v & TUBO__RNDV_KNOWN ? v : 0;
}

/* Chooses, for each peer, which messages go by single copy: what tuborun measured for the
 * kind of pair they form, per size class (tools/protocol.h), or else the rule. Two ranks
 * that share a cache can move data faster through the channel, two copies that stay in
 * that cache running in parallel on both cores, than with one process_vm_readv (measured
 * in doc/benchmarks-log.md), but on virtual machines whose vCPUs only appear to share a
 * cache the single copy can win (doc/large-messages.md): the rule keeps ranks that share a
 * cache on the channel, and sends between the others by single copy from
 * TUBO__SHM_RNDV_DEFAULT. TUBO_SHM_RNDV_BYTES overrides both for every pair.
 *
 * Where the node has more ranks than processing units, every pair sends by single copy
 * from TUBO__SHM_RNDV_DEFAULT, whatever was measured: the channel's two copies run in
 * parallel only while both ranks run, and ranks that take turns on a unit cross it a
 * ring's worth per turn, a switch of process each, where the receiver of a single copy
 * reads the whole message in its own turn (64 ranks on 2 vCPUs: a point-to-point bcast of
 * 1 MiB 2.7x faster, doc/benchmarks.md). The measurement ran two processes on two units.
 *
 * Unless TUBO_SHM_ADAPT=0, the choice made so is where each pair starts: the sender then
 * times its large messages and moves each size class to the protocol it finds faster
 * (adapt.h), since the measurement timed a model of the two paths, once, and the host's
 * state changes within minutes. Not where TUBO_SHM_RNDV_BYTES fixes the choice, nor where
 * ranks take turns on units: a rate seen then is the scheduler's more than the protocol's,
 * and exploring the channel would cost a switch of process per ring. */
static void shm_choose_rndv(shm_state_t *s)
{
  uint64_t forced = tubo__setting_u64("TUBO_SHM_RNDV_BYTES", 0, 0, SIZE_MAX);
  int adapt = (int)tubo__setting_u64("TUBO_SHM_ADAPT", 1, 0, 2);
  uint64_t period = tubo__setting_u64("TUBO_SHM_ADAPT_PERIOD", TUBO__ADAPT_PERIOD_DEFAULT,
                                      TUBO__ADAPT_PERIOD_MIN, 1u << 20);
  for (int p = 0; p < s->size; p++) {
    if (p == s->rank)
      continue;
    const struct tubo__rankctl *a = s->me, *b = tubo__jobctl_rank(s->ctl, (uint32_t)p);
    int kind = tubo__pair_kind(a->l2, a->l3, a->package, b->l2, b->l3, b->package);
    uint32_t measured = shm_measured_rndv(s, kind);
    if (forced)
      tubo__tp_set_rndv(s->w, shm_world(s, p), (size_t)forced);
    else if (tubo__tp_oversubscribed(s->w))
      tubo__tp_set_rndv(s->w, shm_world(s, p), TUBO__SHM_RNDV_DEFAULT);
    else if (measured != 0)
      tubo__tp_set_rndv_classes(s->w, shm_world(s, p), measured);
    else /* the rule: a shared L2 or L3 keeps the pair on the channel */
      tubo__tp_set_rndv(s->w, shm_world(s, p),
                        kind == TUBO__PAIR_L2 || kind == TUBO__PAIR_L3 ? SIZE_MAX
                                                                       : TUBO__SHM_RNDV_DEFAULT);
    /* Without memory to adapt, the choice made so holds. */
    if (adapt && !forced && !tubo__tp_oversubscribed(s->w))
      (void)tubo__tp_adapt(s->w, shm_world(s, p), (uint32_t)period, adapt == 2,
                           s->splits.long_mode == TUBO__SPLIT_LONG_CHOSEN);
  }
}

/* How a blocking receive polls each peer's next slot (TUBO_SPIN_PAUSE): with the spin-wait
 * hint or without. On an AMD EPYC host the hint halved the cache-line floor; on an Intel
 * Xeon host it left the floor as it was and made the 8 B hop 7-16% slower (an x86 PAUSE
 * takes about 140 cycles on Intel's cores since Skylake, by Intel's manual, which the
 * waiter spends before it sees the line): by default, ranks poll without it on Intel
 * processors, unless the two share an L2 (hardware threads of one core, where the hint
 * gives the sibling its share). */
static void shm_choose_spin(shm_state_t *s)
{
  uint64_t mode = tubo__setting_u64("TUBO_SPIN_PAUSE", 2, 0, 2);
  int intel = mode == 2 && tubo__os_cpu_is_intel();
  for (int p = 0; p < s->size; p++) {
    if (p == s->rank)
      continue;
    const struct tubo__rankctl *a = s->me, *b = tubo__jobctl_rank(s->ctl, (uint32_t)p);
    int kind = tubo__pair_kind(a->l2, a->l3, a->package, b->l2, b->l3, b->package);
    s->rx[p].plain_spin = mode == 0 || (intel && a->l2 >= 0 && b->l2 >= 0 && kind != TUBO__PAIR_L2);
  }
}

/* Tells the world where every rank runs, from the records each wrote at start-up, so that
 * every rank knows the same places (the shared-memory collectives' groups depend on it). */
static void shm_tell_places(shm_state_t *s)
{
  for (int p = 0; p < s->size; p++) {
    const struct tubo__rankctl *b = tubo__jobctl_rank(s->ctl, (uint32_t)p);
    tubo__locality_t loc = {b->l2, b->l3, b->numa_node, b->package, -1};
    tubo__tp_set_place(s->w, shm_world(s, p), &loc);
  }
}

static int shm_open_job(tubo__world_t *w, tubo__launch_t *l, const void *arg, void **state,
                        tubo__tp_caps_t *caps)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  struct stat sb;
  int32_t launcher = 0;
  if (l->shm_fd < 0)
    return TUBO_ELAUNCH;
  int rc = shm_check_ctl(l, page, &sb, &launcher);
  if (rc != 0)
    return rc;
  shm_state_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  s->w = w;
  s->rank = l->rank;
  s->size = l->size;
  s->fd = l->shm_fd;
  s->world_of = l->world_of;
  s->launcher = launcher;
  s->ancestor = l->launcher_pid;
  if ((rc = tubo__shm_layout_from_settings((uint32_t)s->size, &s->L)) != 0)
    goto fail;
  s->tx = calloc((size_t)s->size, sizeof *s->tx);
  s->rx = calloc((size_t)s->size, sizeof *s->rx);
  s->poll = calloc((size_t)s->size, sizeof *s->poll);
  s->live = calloc((size_t)s->size, sizeof *s->live);
  s->pids = calloc((size_t)s->size, sizeof *s->pids);
  s->pid_trust = calloc((size_t)s->size, sizeof *s->pid_trust);
  if (!s->tx || !s->rx || !s->poll || !s->live || !s->pids || !s->pid_trust) {
    rc = TUBO_ENOMEM;
    goto fail;
  }
  /* Every rank grows the file to the same size; growing twice is harmless. */
  if ((size_t)sb.st_size < s->L.total && ftruncate(s->fd, (off_t)s->L.total) != 0) {
    rc = TUBO_ESHM;
    goto fail;
  }
  s->base = mmap(NULL, s->L.total, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
  if (s->base == MAP_FAILED) {
    rc = TUBO_ESHM;
    goto fail;
  }
  s->ctl = s->base;
  s->me = tubo__jobctl_rank(s->ctl, (uint32_t)s->rank);
  uint64_t none = 0;
  if (!atomic_compare_exchange_strong(&s->ctl->layout_key, &none, s->L.key) && none != s->L.key) {
    rc = TUBO_ELAUNCH; /* ranks computed different layouts: settings differ */
    goto fail;
  }
  if ((rc = shm_prepare_region(s, s->fd)) != 0 || (rc = shm_heap_attach(s)) != 0)
    goto fail;
  s->me->probe_addr = (uint64_t)(uintptr_t)&shm_probe_word;
  atomic_store(&s->me->pid, (int32_t)getpid());
  atomic_store(&s->me->state, TUBO__RANK_READY);
  tubo__os_allow_peer_reads(l->launcher_pid);
  /* Settings every rank must follow once one asks: a rank that will not fence
   * asymmetrically, or forbids single copy, decides for the whole job. */
  if (tubo__os_fence_register() != 0 || tubo__setting_u64("TUBO_SHM_ASYM_FENCE", 1, 0, 1) == 0)
    atomic_store(&s->ctl->fence_denied, 1);
  int want_cma = (int)tubo__setting_u64("TUBO_SHM_CMA", 1, 0, 1);
  if (!want_cma)
    atomic_store(&s->ctl->cma_denied, 1);
  shm_wire(s);
  if ((rc = tubo__jobctl_rendezvous(s->ctl, (uint32_t)s->size, (uint32_t)s->rank, 1,
                                    s->launcher)) != 0)
    goto fail;
  /* Every rank has joined the heap: channels may be made in it. */
  if (shm_wire_early(s))
    tubo__shm_inbox_wire_all(s);
  for (int p = 0; p < s->size; p++)
    s->pids[p] = (pid_t)atomic_load(&tubo__jobctl_rank(s->ctl, (uint32_t)p)->pid);
  shm_prefault(s);
  if (want_cma && s->size > 1 && !atomic_load(&s->ctl->cma_denied))
    shm_probe_single_copy(s);
  if ((rc = tubo__jobctl_rendezvous(s->ctl, (uint32_t)s->size, (uint32_t)s->rank, 2,
                                    s->launcher)) != 0)
    goto fail;
  /* The channels peers made above come first in this rank's inbox. */
  tubo__shm_inbox_take_wired(s);

  /* A remote fence costs interrupts on every CPU at each sleep; a local one costs tens of
   * cycles per message. With rings deep enough that ranks sleep rarely, remote wins, also
   * when ranks share cores (measured: doc/benchmarks-log.md). */
  s->asym_fence = !atomic_load(&s->ctl->fence_denied);
  s->prefetch = (uint32_t)tubo__setting_u64("TUBO_SHM_PREFETCH", TUBO__SHM_PREFETCH_DEFAULT, 0,
                                            TUBO__SHM_SLOTS_MAX);
  s->watch_peers = l->spawned;
  s->smask = s->L.nslots - 1;
  s->dmask = s->L.dbytes - 1;
  s->quarter = s->L.nslots / 4;
  s->dquarter = s->L.dbytes / 4;
  s->frame_max = s->L.frame_max;
  caps->frame_max = s->frame_max;
  caps->single_copy = s->size > 1 && !atomic_load(&s->ctl->cma_denied);
  if (caps->single_copy)
    shm_choose_rndv(s);
  shm_choose_spin(s);
  shm_tell_places(s);
  tubo__tp_set_blocked(w, &s->me->blocked);
  *state = s;
  return 0;
fail:
  shm_close(s);
  return rc;
}

const tubo__tp_ops_t tubo__shm_ops = {
    .name = "shm",
    .open = shm_open_job,
    .close = shm_close,
    .push = shm_push,
    .send_eager = shm_send_eager,
    .read = shm_read,
    .write = shm_write,
    .writable = shm_writable,
    .split_begin = tubo__shm_split_begin,
    .split_end = tubo__shm_split_end,
    .read_start = shm_read_start,
    .read_cancel = shm_read_cancel,
    .revoke = shm_revoke,
    .recv = shm_recv,
    .spin = shm_spin,
    .heap_alloc = shm_heap_alloc,
    .heap_free = shm_heap_free,
    .heap_at = shm_heap_at,
    .heap_of = shm_heap_of,
    .loan_alloc = shm_loan_alloc,
    .loan_give = shm_loan_give,
    .loan_take = shm_loan_take,
    .loan_accept = shm_loan_accept,
    .recv_loan = shm_recv_loan,
    .loan_free = shm_loan_free,
    .mem_used = shm_mem_used,
    .progress = shm_progress,
    .sleep = shm_sleep,
    .check = shm_check,
    .abort = shm_abort,
    .leave = shm_leave,
};
