/* SPDX-License-Identifier: MIT */
/* libFuzzer target: what a peer writes into shared memory. Each input is a series of
 * 64-byte slots and data-ring bytes, as a peer (perhaps a broken or hostile one) could have
 * written them; they go through the checked slot reader and the matching engine, against
 * posted receives of sizes the input chooses. AddressSanitizer watches every buffer: no
 * input may make tubo read or write outside one. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shm/shm_ring.h"
#include "engine.h"
#include "world.h"

#define FUZZ_DBYTES 4096u

static int fuzz_push(void *state, int peer, const tubo__frame_t *f, const void *p1, size_t n1,
                     const void *p2, size_t n2)
{
  (void)state, (void)peer, (void)f, (void)p1, (void)n1, (void)p2, (void)n2;
  return 0;
}

/* A single copy "from the peer": fills what the engine asks for, which must fit dst. */
static int fuzz_read(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n,
                     size_t total)
{
  (void)state, (void)peer, (void)addr, (void)id, (void)total;
  memset(dst, 0xab, n);
  return 0;
}

static const tubo__tp_ops_t fuzz_ops = {.name = "fuzz", .push = fuzz_push, .read = fuzz_read};

/* Takes n bytes of the input, or fewer at its end. */
static size_t fuzz_take(const uint8_t **data, size_t *size, void *out, size_t n)
{
  size_t k = n < *size ? n : *size;
  memset(out, 0, n);
  memcpy(out, *data, k);
  *data += k;
  *size -= k;
  return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t cfg[8];
  fuzz_take(&data, &size, cfg, sizeof cfg);
  tubo__world_t w;
  memset(&w, 0, sizeof w);
  tubo__peer_t peers[2];
  memset(peers, 0, sizeof peers);
  for (int p = 0; p < 2; p++) {
    peers[p].rndv_min = SIZE_MAX;
    peers[p].frame_max = 1024;
    peers[p].tport = 0;
    peers[p].tpeer = p;
  }
  w.rank = 0;
  w.size = 2;
  w.peers = peers;
  w.tports[0].ops = &fuzz_ops;
  w.tports[0].caps.frame_max = 1024;
  w.tports[0].caps.single_copy = cfg[0] & 1;
  w.ntports = 1;
  w.nact = 1;
  w.stalled = cfg[0] >> 1 & 3;
  w.world_comm = (tubo_comm_t){.magic = TUBO__COMM_MAGIC, .w = &w, .rank = 0, .size = 2};

  /* Up to three receives posted, of sizes the input picks. */
  tubo_request_t *posted[3] = {NULL, NULL, NULL};
  for (int i = 0; i < (cfg[1] & 3) && i < 3; i++) {
    tubo_request_t *r = tubo__req_alloc(&w);
    size_t cap = (size_t)cfg[2 + i] * 97;
    r->kind = TUBO__REQ_RECV;
    r->w = &w;
    r->comm = &w.world_comm;
    r->ctx = cfg[5] & 1;
    r->tag = (cfg[6] >> i) & 1 ? TUBO_ANY_TAG : (int32_t)(cfg[6] & 7);
    r->peer = (cfg[7] >> i) & 1 ? TUBO_ANY_SOURCE : 1;
    r->buf = malloc(cap ? cap : 1);
    r->cap = cap;
    r->msg_len = (size_t)-1;
    tubo__recv_start(&w, r);
    posted[i] = r;
  }

  unsigned char *ring = malloc(FUZZ_DBYTES);
  uint64_t head = 0;
  uint32_t dhead = 0;
  while (size > 0) {
    struct tubo__shm_slot slot;
    fuzz_take(&data, &size, &slot, sizeof slot);
    fuzz_take(&data, &size, ring, size < 256 ? size : 256); /* fresh bytes at the ring's start */
    atomic_store(&slot.stamp, (uint32_t)(head + 1));        /* as if the peer published it */
    tubo__shm_rxf_t x;
    int rc = tubo__shm_slot_read(&slot, head, dhead, FUZZ_DBYTES, 1024, &x);
    if (rc <= 0)
      continue; /* refused: the transport would report TUBO_ECORRUPT */
    const void *payload = x.f.len > TUBO__SHM_INLINE ? (const void *)(ring + x.doff) : slot.inl;
    rc = tubo__deliver(&w, 1, &x.f, payload, slot.flags & 1);
    if (rc < 0)
      break;
    if (rc > 0) {
      head++;
      if (x.f.len > TUBO__SHM_INLINE)
        dhead = x.dend;
    }
  }
  free(ring);
  for (int i = 0; i < 3; i++)
    if (posted[i] != NULL) {
      if (posted[i]->state == TUBO__RS_ACTIVE && posted[i]->msg_len == (size_t)-1)
        tubo__posted_remove(&w, posted[i]);
      free(posted[i]->buf);
    }
  tubo__unexp_fini(&w);
  tubo__reqpool_fini(&w.pool);
  return 0;
}
