/* SPDX-License-Identifier: MIT */
/* Inboxes and the channels pairs make when they talk (shm_inbox.h, shm_layout.h). */
#include "config.h"

#include <string.h>

#include "copy.h"
#include "os/os.h"
#include "shm/shm_state.h"

/* A channel's pages mapped in this process now, and its lines brought into this core's
 * caches, as start-up does for the inbox: a first touch per page, and a trip to memory
 * per line, inside the ring would otherwise land on the message path (the slot ring is
 * walked once before it wraps). */
static void shm_chan_prefault(const shm_state_t *s, void *chan)
{
  tubo__os_prefault(chan, s->L.chan_bytes);
  shm_warm(chan, s->L.chan_bytes);
}

void tubo__shm_tx_wire(shm_state_t *s, int peer, void *chan)
{
  char *c = chan;
  shm_chan_prefault(s, chan);
  shm_tx_t *tx = &s->tx[peer];
  tx->chan = (struct tubo__shm_chan *)(void *)c;
  tx->data = (unsigned char *)(c + TUBO__SHM_CHAN_HDR) + (size_t)s->L.nslots * TUBO__SHM_SLOT;
  tx->slots = (struct tubo__shm_slot *)(void *)(c + TUBO__SHM_CHAN_HDR);
}

void tubo__shm_rx_wire(shm_state_t *s, int peer, void *chan)
{
  char *c = chan;
  shm_chan_prefault(s, chan);
  shm_rx_t *rx = &s->rx[peer];
  rx->chan = (struct tubo__shm_chan *)(void *)c;
  rx->data = (const unsigned char *)(c + TUBO__SHM_CHAN_HDR) + (size_t)s->L.nslots * TUBO__SHM_SLOT;
  rx->slots = (const struct tubo__shm_slot *)(const void *)(c + TUBO__SHM_CHAN_HDR);
  rx->peer_ctl = tubo__jobctl_rank(s->ctl, (uint32_t)peer);
  s->live[s->nlive++] = peer;
}

static void inbox_publish(shm_state_t *s);

/* No room in peer's inbox (or in the heap for a payload): this rank marks itself among
 * the inbox's waiters, so that the receiver wakes it when it has read on. */
static int inbox_no_room(shm_state_t *s, int peer, struct tubo__shm_inbox *ib)
{
  shm_tx_t *tx = &s->tx[peer];
  tx->ib_waiting = 1;
  atomic_fetch_or_explicit(&tubo__shm_inbox_waiters(ib)[s->rank / 64], 1ull << (s->rank % 64),
                           memory_order_relaxed);
  atomic_store_explicit(&ib->want_room, 1, memory_order_release);
  shm_wake_if_sleeping(s, tx->peer_ctl);
  return TUBO_EAGAIN;
}

/* Claims a position in peer's inbox. Returns 0 with *pos, TUBO_EAGAIN (full) or
 * TUBO_ECORRUPT (counts that cannot be). */
static int inbox_claim(shm_state_t *s, int peer, struct tubo__shm_inbox *ib, uint64_t *pos)
{
  shm_tx_t *tx = &s->tx[peer];
  uint32_t n = s->L.inbox_slots;
  for (;;) {
    uint64_t t = atomic_load_explicit(&ib->tail, memory_order_relaxed);
    if (t - tx->ib_head_seen >= n) {
      /* The head is read before the tail: it never passes the tail, nor lags it by more
       * than the ring, whoever else sends meanwhile. */
      uint64_t h = atomic_load_explicit(&ib->head, memory_order_acquire);
      t = atomic_load_explicit(&ib->tail, memory_order_relaxed);
      if (h > t || t - h > n)
        return shm_corrupt(s);
      tx->ib_head_seen = h;
      if (t - h >= n)
        return inbox_no_room(s, peer, ib);
    }
    if (atomic_compare_exchange_weak_explicit(&ib->tail, &t, t + 1, memory_order_relaxed,
                                              memory_order_relaxed)) {
      *pos = t;
      return 0;
    }
  }
}

/* Fills the slot of position pos and publishes it. */
static void inbox_fill(shm_state_t *s, struct tubo__shm_inbox *ib, uint64_t pos, uint8_t kind,
                       const tubo__frame_t *f, uint64_t off, const void *p1, size_t n1,
                       const void *p2, size_t n2)
{
  struct tubo__shm_inbox_slot *slot =
      &tubo__shm_inbox_slots(ib, s->L.nranks)[pos & (s->L.inbox_slots - 1)];
  slot->kind = kind;
  slot->flags = f ? f->flags : 0;
  slot->ctx = f ? f->ctx : 0;
  slot->tag = f ? f->tag : 0;
  slot->len = f ? f->len : 0;
  slot->src = (uint32_t)s->rank;
  slot->off = off;
  if (n1)
    tubo__copy_small(slot->inl, p1, n1);
  if (n2)
    memcpy(slot->inl + n1, p2, n2);
  atomic_store_explicit(&slot->stamp, (uint32_t)(pos + 1), memory_order_release);
}

/* Makes the channel from this rank to peer if the peer grants one: 1 made (in
 * tx->chan_off), 0 not. */
static int inbox_make_channel(shm_state_t *s, int peer, struct tubo__shm_inbox *ib)
{
  shm_tx_t *tx = &s->tx[peer];
  uint32_t n = atomic_load_explicit(&ib->nfast, memory_order_relaxed);
  do {
    if (n >= s->L.fast_max || s->heap.ctl == NULL) {
      tx->denied = 1;
      return 0;
    }
  } while (!atomic_compare_exchange_weak_explicit(&ib->nfast, &n, n + 1, memory_order_relaxed,
                                                  memory_order_relaxed));
  uint64_t off;
  int rc = tubo__heap_alloc(&s->heap, s->L.chan_bytes, TUBO__HEAP_ZERO, &off);
  if (rc != 0) {
    atomic_fetch_sub_explicit(&ib->nfast, 1, memory_order_relaxed);
    /* A heap full of buffers and loans (tubo_alloc_mem) empties again as they are freed:
     * the pair asks again after as many frames, or at its next large one. */
    if (rc == TUBO_ESHM)
      tx->ib_sent = 0;
    else
      tx->denied = 1;
    return 0;
  }
  tx->chan_off = off;
  return 1;
}

/* Announces the channel made to peer in its inbox, after every frame sent through it, and
 * sends through the channel from now on. Returns 1, or an error of inbox_claim. */
static int inbox_announce(shm_state_t *s, int peer, struct tubo__shm_inbox *ib)
{
  shm_tx_t *tx = &s->tx[peer];
  uint64_t pos;
  int rc = inbox_claim(s, peer, ib, &pos);
  if (rc != 0)
    return rc;
  inbox_fill(s, ib, pos, TUBO__SHM_INBOX_CHAN, NULL, tx->chan_off, NULL, 0, NULL, 0);
  tubo__shm_tx_wire(s, peer, tubo__heap_at(&s->heap, tx->chan_off, s->L.chan_bytes));
  tx->chan_off = 0;
  tx->ib_waiting = 0;
  shm_wake_if_sleeping(s, tx->peer_ctl);
  return 1;
}

void tubo__shm_inbox_wire_all(shm_state_t *s)
{
  for (int i = 0; i < s->npoll; i++) {
    int p = s->poll[i];
    struct tubo__shm_inbox *ib = shm_inbox_of(s, p);
    /* A channel the heap cannot give now comes later, as in any job; one made but not
     * announced (no room in the inbox) is announced at the first frame. */
    if (inbox_make_channel(s, p, ib))
      (void)inbox_announce(s, p, ib);
  }
}

void tubo__shm_inbox_take_wired(shm_state_t *s)
{
  for (;;) {
    const struct tubo__shm_inbox_slot *slot = &s->ib_slots[s->ib_head & s->ib_mask];
    if (atomic_load_explicit(&slot->stamp, memory_order_acquire) != (uint32_t)(s->ib_head + 1) ||
        slot->kind != TUBO__SHM_INBOX_CHAN)
      break;
    uint32_t src = slot->src;
    uint64_t off = slot->off;
    void *c = tubo__heap_at(&s->heap, off, s->L.chan_bytes);
    /* Anything else is left to tubo__shm_inbox_poll, which says what is wrong with it. */
    if (src >= (uint32_t)s->size || src == (uint32_t)s->rank || c == NULL ||
        off % TUBO__CACHELINE != 0 || s->rx[src].slots != NULL)
      break;
    tubo__shm_rx_wire(s, (int)src, c);
    s->ib_head++;
  }
  if (s->ib_head != s->ib_head_pub)
    inbox_publish(s);
}

int tubo__shm_inbox_send(shm_state_t *s, int peer, const tubo__frame_t *f, const void *p1,
                         size_t n1, const void *p2, size_t n2)
{
  shm_tx_t *tx = &s->tx[peer];
  struct tubo__shm_inbox *ib = shm_inbox_of(s, peer);
  uint64_t pos;
  int rc;
  /* A pair makes its channel at its 16th frame or at its first message above what an
   * inbox slot holds: a frame with more, or an RTS (a message of single-copy size). */
  if (!tx->denied && tx->chan_off == 0 &&
      (tx->ib_sent >= s->fast_after || f->len > TUBO__SHM_INBOX_INLINE || f->kind == TUBO__F_RTS))
    (void)inbox_make_channel(s, peer, ib);
  if (tx->chan_off != 0)
    return inbox_announce(s, peer, ib);
  if (f->len > s->frame_max)
    return TUBO_ETOOBIG;
  uint64_t off = 0;
  if (f->len > TUBO__SHM_INBOX_INLINE) {
    rc = s->heap.ctl ? tubo__heap_alloc(&s->heap, f->len, 0, &off) : TUBO_ESHM;
    if (rc == TUBO_ESHM || rc == TUBO_ETOOBIG)
      return inbox_no_room(s, peer, ib); /* the receiver frees payloads as it reads */
    if (rc != 0)
      return rc == TUBO_ECORRUPT ? shm_corrupt(s) : rc;
    unsigned char *d = tubo__heap_at(&s->heap, off, f->len);
    if (n1)
      memcpy(d, p1, n1);
    if (n2)
      memcpy(d + n1, p2, n2);
  }
  if ((rc = inbox_claim(s, peer, ib, &pos)) != 0) {
    if (off != 0)
      (void)tubo__heap_free(&s->heap, off);
    return rc;
  }
  if (off != 0)
    inbox_fill(s, ib, pos, f->kind, f, off, NULL, 0, NULL, 0);
  else
    inbox_fill(s, ib, pos, f->kind, f, 0, p1, n1, p2, n2);
  tx->ib_sent++;
  if (tx->ib_waiting)
    tx->ib_waiting = 0;
  shm_wake_if_sleeping(s, tx->peer_ctl);
  return 0;
}

/* Tells the senders how far this rank has read, and wakes those that wait for room. */
static void inbox_publish(shm_state_t *s)
{
  struct tubo__shm_inbox *ib = s->ib;
  atomic_store_explicit(&ib->head, s->ib_head, memory_order_release);
  s->ib_head_pub = s->ib_head;
  if (!atomic_load_explicit(&ib->want_room, memory_order_acquire))
    return;
  atomic_store_explicit(&ib->want_room, 0, memory_order_relaxed);
  _Atomic uint64_t *wb = tubo__shm_inbox_waiters(ib);
  for (uint32_t i = 0; i < (s->L.nranks + 63) / 64; i++) {
    uint64_t bits = atomic_exchange_explicit(&wb[i], 0, memory_order_acq_rel);
    while (bits) {
      uint32_t r = i * 64 + (uint32_t)__builtin_ctzll(bits);
      bits &= bits - 1;
      if (r < s->L.nranks)
        tubo__bell_ring(tubo__jobctl_rank(s->ctl, r));
    }
  }
}

/* A channel that peer src announces: checked, then read from now on. */
static int inbox_take_channel(shm_state_t *s, uint32_t src, uint64_t off)
{
  void *c = tubo__heap_at(&s->heap, off, s->L.chan_bytes);
  if (c == NULL || off % TUBO__CACHELINE != 0 || s->rx[src].slots != NULL)
    return shm_corrupt(s);
  tubo__shm_rx_wire(s, (int)src, c);
  return 0;
}

int tubo__shm_inbox_poll(shm_state_t *s)
{
  int n = 0;
  for (;;) {
    struct tubo__shm_inbox_slot *slot = &s->ib_slots[s->ib_head & s->ib_mask];
    if (atomic_load_explicit(&slot->stamp, memory_order_acquire) != (uint32_t)(s->ib_head + 1))
      break;
    /* Every field read once, then checked. */
    tubo__frame_t f = {slot->kind, slot->flags, slot->ctx, slot->tag, slot->len};
    uint32_t src = slot->src;
    uint64_t off = slot->off;
    if (src >= (uint32_t)s->size || src == (uint32_t)s->rank)
      return shm_corrupt(s);
    if (f.kind == TUBO__SHM_INBOX_CHAN) {
      int rc = inbox_take_channel(s, src, off);
      if (rc < 0)
        return rc;
    } else {
      const void *payload = slot->inl;
      if (f.len > TUBO__SHM_INBOX_INLINE) {
        size_t have = 0;
        if (f.len > s->frame_max || tubo__heap_usable(&s->heap, off, &have) != 0 || have < f.len ||
            (payload = tubo__heap_at(&s->heap, off, f.len)) == NULL)
          return shm_corrupt(s);
      }
      /* Nothing stays in the inbox: other senders' frames are behind it. */
      int rc = tubo__deliver(s->w, shm_world(s, (int)src), &f, payload, 1);
      if (rc < 0)
        return rc == TUBO_ECORRUPT ? shm_corrupt(s) : rc;
      if (f.len > TUBO__SHM_INBOX_INLINE && tubo__heap_free(&s->heap, off) != 0)
        return shm_corrupt(s);
      n++;
    }
    /* Published at every frame: senders then refuse a tail behind it (inbox_claim). */
    s->ib_head++;
    inbox_publish(s);
  }
  return n;
}

int tubo__shm_inbox_unsettled(const shm_state_t *s)
{
  return atomic_load_explicit(&s->ib->tail, memory_order_relaxed) != s->ib_head;
}

int tubo__shm_inbox_check(shm_state_t *s)
{
  struct tubo__shm_inbox *ib = s->ib;
  const struct tubo__shm_inbox_slot *slot = &s->ib_slots[s->ib_head & s->ib_mask];
  uint32_t st = atomic_load_explicit(&slot->stamp, memory_order_acquire);
  uint64_t h = s->ib_head;
  uint32_t before = h < s->L.inbox_slots ? 0 : (uint32_t)(h + 1 - s->L.inbox_slots);
  uint64_t t = atomic_load_explicit(&ib->tail, memory_order_relaxed);
  if ((st != (uint32_t)(h + 1) && st != before) || t < h || t - h > s->L.inbox_slots)
    return shm_corrupt(s);
  /* A position claimed and never filled: a sender holds it for a few instructions, or,
   * descheduled, for a time slice of a crowded machine; a tail moved by someone else
   * than a sender holds it for ever, and every frame behind it would wait. */
  if (st != (uint32_t)(h + 1) && t > h) {
    uint64_t now = tubo__os_now_ns();
    if (s->ib_stall_head != h + 1) {
      s->ib_stall_head = h + 1;
      s->ib_stall_since = now;
    } else if (now - s->ib_stall_since > TUBO__SHM_INBOX_STALL_NS) {
      return shm_corrupt(s);
    }
  }
  if (atomic_load_explicit(&ib->head, memory_order_relaxed) != s->ib_head_pub ||
      atomic_load_explicit(&ib->want_room, memory_order_relaxed))
    inbox_publish(s);
  /* Room this rank waits for in peers' inboxes: asked for again. */
  for (int i = 0; i < s->npoll; i++) {
    int p = s->poll[i];
    if (s->tx[p].ib_waiting) {
      struct tubo__shm_inbox *pib = shm_inbox_of(s, p);
      atomic_fetch_or_explicit(&tubo__shm_inbox_waiters(pib)[s->rank / 64], 1ull << (s->rank % 64),
                               memory_order_relaxed);
      atomic_store_explicit(&pib->want_room, 1, memory_order_release);
      shm_wake_if_sleeping(s, s->tx[p].peer_ctl);
    }
  }
  return 0;
}
