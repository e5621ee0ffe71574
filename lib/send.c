/* SPDX-License-Identifier: MIT */
/* Sending: choosing how a message travels, and pushing it in order.
 *
 * Each peer has a queue of sends that found no room; a new send goes behind them, so
 * that messages to one peer leave in the order they were sent. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "os/os.h"
#include "size_text.h"
#include "world.h"

/* A peer's send queue, and the count of peers whose queue is not empty. */
static void sendq_append(tubo__world_t *w, tubo__peer_t *pe, tubo_request_t *r)
{
  if (tubo__list_empty(&pe->sq))
    w->sq_peers++;
  tubo__list_append(&pe->sq, &r->link);
}

static tubo_request_t *sendq_first(tubo__peer_t *pe)
{
  return TUBO__LIST_FIRST(&pe->sq, tubo_request_t, link);
}

static void sendq_pop(tubo__world_t *w, tubo__peer_t *pe)
{
  tubo__list_pop(&pe->sq);
  if (tubo__list_empty(&pe->sq))
    w->sq_peers--;
}

/* Lets the transport of send r's peer split its message, which r->off names (its offset in
 * the shared heap, or its address for a single copy): both ranks then copy it, each a part
 * (a message longer than TUBO__ADAPT_SPLIT_FROM where the sender chooses, once the receiver
 * is ready, to split it: tubo__send_split_pick). Returns 1 with the RTS's name for it in
 * *name, else 0 (*name unchanged). */
static int send_split_begin(tubo__world_t *w, tubo_request_t *r, uint64_t *name)
{
  tubo__tport_t *t = tubo__tport_of(w, r->peer);
  if (t->ops->split_begin == NULL)
    return 0;
  tubo_request_t *late = (r->timed & TUBO__TIMED_SPLIT_LATE) ? r : NULL;
  /* A send that waited for room may go the other way this time (no control block free). */
  r->timed &= (uint8_t)~TUBO__TIMED_SPLIT;
  if (t->ops->split_begin(t->state, w->peers[r->peer].tpeer, r->buf, r->cap, late, name) != 1)
    return 0;
  /* Its samples are told by the way it went; a late choice says it when it is made. */
  if (r->timed && late == NULL)
    r->timed |= TUBO__TIMED_SPLIT;
  return 1;
}

int tubo__send_split_pick(tubo__world_t *w, tubo_request_t *r)
{
  tubo__adapt_peer_t *ap = w->peers[r->peer].adapt;
  int c = tubo__adapt_class(r->cap);
  if (ap == NULL || c < 0 || !(r->timed & TUBO__TIMED_SPLIT_LATE))
    return 0;
  r->timed &= (uint8_t)~TUBO__TIMED_SPLIT_LATE;
  if (!tubo__adapt_pick_split(&ap->cls[c], &ap->split[c], w->adapt_period, tubo__os_now_ns()))
    return 0;
  r->timed |= TUBO__TIMED_SPLIT;
  return 1;
}

static void send_split_end(tubo__world_t *w, int peer, uint64_t name)
{
  tubo__tport_t *t = tubo__tport_of(w, peer);
  t->ops->split_end(t->state, name);
}

void tubo__send_split_over(tubo__world_t *w, tubo_request_t *r)
{
  if (r->off & TUBO__RTS_SPLIT) {
    send_split_end(w, r->peer, r->off);
    r->off &= ~TUBO__RTS_SPLIT;
  }
}

/* Pushes what it can of one send. Returns 1 when nothing of it is left to push,
 * 0 when it must wait for room, or a negative error (the request is then completed). */
static int send_push(tubo__world_t *w, tubo_request_t *r)
{
  int rc = 0;
  switch (r->proto) {
  case TUBO__SP_EAGER: {
    tubo__frame_t f = {TUBO__F_EAGER, 0, r->ctx, r->tag, (uint32_t)r->cap};
    rc = tubo__push(w, r->peer, &f, r->buf, r->cap, NULL, 0);
    if (rc == 0) {
      tubo__req_complete(r, 0);
      if (r->timed)
        tubo__send_timed_done(w, r);
    }
    break;
  }
  case TUBO__SP_LOAN: {
    struct tubo__f_rts h = {r->cap, r->off | TUBO__RTS_HEAP | TUBO__RTS_LOAN, r->id, 0};
    tubo__frame_t f = {TUBO__F_RTS, 0, r->ctx, r->tag, sizeof h};
    rc = tubo__push(w, r->peer, &f, &h, sizeof h, NULL, 0);
    if (rc == 0)
      tubo__req_complete(r, 0);
    break;
  }
  case TUBO__SP_RTS: {
    /* A message may be split: its RTS then names a control block, which this rank holds
     * until the send is over, not while it waits for room. */
    uint64_t name = r->off;
    int split = send_split_begin(w, r, &name);
    struct tubo__f_rts h = {r->cap, name, r->id, 0};
    tubo__frame_t f = {TUBO__F_RTS, 0, r->ctx, r->tag, sizeof h};
    rc = tubo__push(w, r->peer, &f, &h, sizeof h, NULL, 0);
    if (rc == 0) {
      r->off = name;
      r->proto = TUBO__SP_WAITFIN;
      w->waitfin++;
    } else if (split) {
      send_split_end(w, r->peer, name);
    }
    break;
  }
  case TUBO__SP_STREAM: {
    size_t max = w->peers[r->peer].frame_max;
    const char *buf = r->buf;
    if (r->off == 0) {
      struct tubo__f_first h = {r->cap};
      size_t n = max - sizeof h;
      tubo__frame_t f = {TUBO__F_FIRST, 0, r->ctx, r->tag, (uint32_t)(sizeof h + n)};
      rc = tubo__push(w, r->peer, &f, &h, sizeof h, buf, n);
      if (rc != 0)
        break;
      r->off = n;
    }
    while (r->off < r->cap) {
      size_t n = r->cap - r->off < max ? r->cap - r->off : max;
      tubo__frame_t f = {TUBO__F_CONT, 0, r->ctx, r->tag, (uint32_t)n};
      rc = tubo__push(w, r->peer, &f, buf + r->off, n, NULL, 0);
      if (rc != 0)
        break;
      r->off += n;
    }
    if (rc == 0) {
      tubo__req_complete(r, 0);
      if (r->timed)
        tubo__send_timed_done(w, r);
    }
    break;
  }
  default:
    if (r->kind == TUBO__REQ_CTRL) {
      rc = tubo__push(w, r->peer, &r->cf, r->cpayload, r->cf.len, NULL, 0);
      break;
    }
    return TUBO_EREQUEST;
  }
  if (rc == TUBO_EAGAIN) {
    /* A timed message through the channel that waited for room measures the receiver's
     * pace; one that found room throughout measures only its own copy. */
    if (r->timed)
      r->timed |= TUBO__TIMED_WAITED;
    return 0;
  }
  if (rc < 0) {
    tubo__req_complete(r, rc);
    return rc;
  }
  return 1;
}

int tubo__self_push(tubo__world_t *w, const tubo__frame_t *f, const void *payload)
{
  /* Nothing holds a frame for later on the way to oneself: match it or keep it now. */
  int rc = tubo__deliver(w, w->rank, f, payload, 1);
  return rc < 0 ? rc : 0;
}

int tubo__heap_name(tubo__world_t *w, int peer, const void *buf, size_t len, uint64_t *name)
{
  const tubo__tport_t *t = tubo__tport_of(w, peer);
  uint64_t off;
  if (t->ops->heap_of == NULL || !t->ops->heap_of(t->state, buf, len, &off))
    return 0;
  *name = off | TUBO__RTS_HEAP;
  return 1;
}

/* Whether the message of send r lies in the shared heap of the transport that reaches its
 * peer: then it goes by RTS whenever it is longer than a frame, and the receiver copies
 * it with memcpy (no system call, one copy). Sets r->off to what the RTS names. */
static int send_from_heap(tubo__world_t *w, tubo_request_t *r)
{
  return tubo__heap_name(w, r->peer, r->buf, r->cap, &r->off);
}

/* Whether send r of len bytes (at least its peer's rndv_gate) goes by single copy. Where
 * the sender chooses online (tubo__tp_adapt), its class's choice says, and the send is
 * timed for it. Longer than TUBO__ADAPT_SPLIT_FROM, it goes split or whole as the choice
 * says when its receiver is ready (tubo__send_split_pick), not now: the sends of a window
 * posted at once would all take the choice of before the window's first samples (at 64
 * MiB, osu_bw's first window of two: half the messages the wrong way). */
static int send_single_copy(tubo_request_t *r, tubo__peer_t *pe, size_t len, uint32_t period)
{
  int c = tubo__adapt_class(len);
  if (pe->adapt == NULL || c < 0)
    return tubo__peer_single_copy(pe, len);
  int cma = tubo__adapt_pick(&pe->adapt->cls[c], period);
  r->timed = (uint8_t)(TUBO__TIMED | (cma ? TUBO__TIMED_CMA : 0));
  /* In a stream, the clock is read once per message, at its completion. */
  r->t_start = tubo__adapt_track_behind(&pe->adapt->track) ? 0 : tubo__os_now_ns();
  /* A single copy longer than those the transport always splits: whole or split, as chosen
   * when its receiver is ready. */
  if (cma && pe->adapt->split_on && len > TUBO__ADAPT_SPLIT_FROM)
    r->timed |= TUBO__TIMED_SPLIT_LATE;
  r->aseq = tubo__adapt_track_start(&pe->adapt->track);
  return cma;
}

void tubo__send_timed_done(tubo__world_t *w, tubo_request_t *r)
{
  tubo__adapt_peer_t *ap = w->peers[r->peer].adapt;
  int cma = (r->timed & TUBO__TIMED_CMA) != 0, waited = (r->timed & TUBO__TIMED_WAITED) != 0;
  int split = (r->timed & TUBO__TIMED_SPLIT) != 0;
  r->timed = 0;
  if (ap == NULL)
    return;
  uint64_t now = tubo__os_now_ns();
  int c = tubo__adapt_class(r->cap);
  int way = !cma ? TUBO__ADAPT_WAY_CHAN : split ? TUBO__ADAPT_WAY_SPLIT : TUBO__ADAPT_WAY_WHOLE;
  if (cma && r->cap > TUBO__ADAPT_SPLIT_FROM)
    ap->ways[c][split]++;
  uint64_t bytes, ns;
  if (!tubo__adapt_track_done(&ap->track, r->aseq, way, c, cma || waited, r->cap, r->t_start, now,
                              &bytes, &ns))
    return;
  int chosen = ap->split_on && r->cap > TUBO__ADAPT_SPLIT_FROM;
  (void)tubo__adapt_sample_way(&ap->cls[c], chosen ? &ap->split[c] : NULL, way, bytes, ns, now);
}

int tubo__tp_adapt(tubo__world_t *w, int peer, uint32_t period, int report, int split)
{
  tubo__peer_t *pe = &w->peers[peer];
  w->adapt_period = period;
  w->adapt_report = report;
  if (pe->adapt != NULL)
    return 0;
  tubo__adapt_peer_t *ap = calloc(1, sizeof *ap);
  if (ap == NULL)
    return TUBO_ENOMEM;
  for (int c = 0; c < TUBO__ADAPT_CLASSES; c++) {
    uint64_t min = tubo__adapt_class_min(c);
    tubo__adapt_init(&ap->cls[c], tubo__peer_single_copy(pe, (size_t)min), min);
    /* Whole to start, as the fixed rule had it (on an AMD EPYC host the split lost). */
    tubo__adapt_init(&ap->split[c], TUBO__ADAPT_WHOLE, min);
  }
  ap->split_on = split;
  pe->adapt = ap;
  pe->rndv_gate = (size_t)TUBO__ADAPT_MIN;
  return 0;
}

/* The sizes of class c in words: "from 64 KiB, less than 128 KiB", "of 32 MiB and more". */
static void send_class_text(int c, char *buf, size_t len)
{
  char lo[32], hi[32];
  tubo__size_text(tubo__adapt_class_min(c), lo, sizeof lo);
  if (c + 1 == TUBO__ADAPT_CLASSES) {
    snprintf(buf, len, "of %s and more", lo);
    return;
  }
  tubo__size_text(tubo__adapt_class_min(c + 1), hi, sizeof hi);
  snprintf(buf, len, "from %s, less than %s", lo, hi);
}

/* The time of class a's last sample, or 0. */
static uint64_t send_last_sample(const tubo__adapt_t *a)
{
  uint64_t last = 0;
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < TUBO__ADAPT_KEEP; i++)
      if (a->s[k][i].rate > 0 && a->s[k][i].now > last)
        last = a->s[k][i].now;
  return last;
}

/* The line of TUBO_SHM_ADAPT=2 for the single copies longer than 4 MiB of class c (sizes):
 * the choice of split or whole where the sender makes it, and how many went each way. */
static void send_split_report(tubo__world_t *w, int p, int c, const char *sizes)
{
  static const char *const name[2] = {"whole", "split"};
  const tubo__adapt_peer_t *ap = w->peers[p].adapt;
  const tubo__adapt_t *a = &ap->split[c];
  if (ap->ways[c][0] + ap->ways[c][1] == 0)
    return;
  uint64_t last = send_last_sample(a);
  fprintf(stderr,
          "tubo: rank %d to %d, single copies %s, longer than 4 MiB: %s (GB/s whole %.1f, "
          "split %.1f; %llu whole, %llu split, %llu exploring, %u switches)\n",
          w->rank, p, sizes, ap->split_on ? name[a->use] : "not chosen",
          tubo__adapt_rate(a, 0, last), tubo__adapt_rate(a, 1, last),
          (unsigned long long)ap->ways[c][0], (unsigned long long)ap->ways[c][1],
          (unsigned long long)a->explored, a->switches);
}

void tubo__send_adapt_fini(tubo__world_t *w)
{
  static const char *const name[2] = {"channel", "single copy"};
  for (int p = 0; p < w->size && w->peers != NULL; p++) {
    tubo__adapt_peer_t *ap = w->peers[p].adapt;
    if (ap == NULL)
      continue;
    for (int c = 0; c < TUBO__ADAPT_CLASSES && w->adapt_report; c++) {
      const tubo__adapt_t *a = &ap->cls[c];
      if (a->picked == 0)
        continue;
      /* The estimates as of the class's last sample, however long ago that was. */
      uint64_t last = send_last_sample(a);
      char sizes[96];
      send_class_text(c, sizes, sizeof sizes);
      fprintf(stderr,
              "tubo: rank %d to %d, messages %s: %s (GB/s channel %.1f, single copy %.1f; "
              "%llu messages, %llu exploring, %u switches)\n",
              w->rank, p, sizes, name[a->use], tubo__adapt_rate(a, 0, last),
              tubo__adapt_rate(a, 1, last), (unsigned long long)a->picked,
              (unsigned long long)a->explored, a->switches);
      send_split_report(w, p, c, sizes);
    }
    free(ap);
    w->peers[p].adapt = NULL;
  }
}

int tubo__send_start(tubo__world_t *w, tubo_request_t *r)
{
  size_t len = r->cap;
  tubo__peer_t *pe = &w->peers[r->peer];
  if (r->proto == TUBO__SP_LOAN) {
    /* A loan: r->off names it already. */
  } else if (r->peer == w->rank) {
    /* To oneself every message is one frame, copied once. */
    r->proto = TUBO__SP_EAGER;
    if (len > UINT32_MAX) {
      tubo__req_complete(r, TUBO_ETOOBIG);
      return 0;
    }
  } else if (r->pooled && len > w->peers[r->peer].frame_max && send_from_heap(w, r)) {
    r->proto = TUBO__SP_RTS;
  } else if (r->pooled && !r->chan && len >= pe->rndv_gate &&
             send_single_copy(r, pe, len, w->adapt_period)) {
    r->proto = TUBO__SP_RTS;
    r->off = (uint64_t)(uintptr_t)r->buf;
  } else if (len <= w->peers[r->peer].frame_max)
    r->proto = TUBO__SP_EAGER;
  else
    r->proto = TUBO__SP_STREAM;
  if (pe->gone) {
    tubo__req_complete(r, TUBO_EPEER);
    return 0;
  }
  if (tubo__list_empty(&pe->sq)) {
    int rc = send_push(w, r);
    if (rc != 0)
      return 0; /* pushed, or failed: the request carries the error */
  }
  sendq_append(w, pe, r);
  return 0;
}

int tubo__send_progress(tubo__world_t *w)
{
  int events = 0;
  for (int p = 0; p < w->size && w->sq_peers > 0; p++) {
    tubo__peer_t *pe = &w->peers[p];
    tubo_request_t *r;
    while ((r = sendq_first(pe)) != NULL) {
      int rc = send_push(w, r);
      if (rc == 0)
        break;
      sendq_pop(w, pe);
      if (r->kind == TUBO__REQ_CTRL)
        tubo__req_free(w, r);
      events++;
    }
  }
  return events;
}

int tubo__send_ctrl(tubo__world_t *w, int peer, const tubo__frame_t *f, const void *payload)
{
  tubo__peer_t *pe = &w->peers[peer];
  if (pe->gone)
    return 0; /* nobody is left to tell */
  if (tubo__list_empty(&pe->sq)) {
    int rc = tubo__push(w, peer, f, payload, f->len, NULL, 0);
    if (rc != TUBO_EAGAIN)
      return rc;
  }
  tubo_request_t *r = tubo__req_alloc(w);
  if (r == NULL || f->len > sizeof r->cpayload) {
    if (r)
      tubo__req_free(w, r);
    return TUBO_ENOMEM;
  }
  r->kind = TUBO__REQ_CTRL;
  r->proto = 0xff;
  r->peer = peer;
  r->cf = *f;
  memcpy(r->cpayload, payload, f->len);
  sendq_append(w, pe, r);
  return 0;
}

void tubo__send_fail_peer(tubo__world_t *w, int peer, int error)
{
  tubo__peer_t *pe = &w->peers[peer];
  tubo_request_t *r;
  while ((r = sendq_first(pe)) != NULL) {
    sendq_pop(w, pe);
    if (r->kind == TUBO__REQ_CTRL)
      tubo__req_free(w, r);
    else
      tubo__req_complete(r, error);
  }
}
