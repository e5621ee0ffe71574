/* SPDX-License-Identifier: MIT */
/* The shared-memory segment layout (lib/shm/shm_layout.c): powers of two and page
 * multiples, channels that never overlap, a total that holds them all, the size settings;
 * and the slot reader that checks what a peer wrote into a channel (shm_ring.h); the job
 * control block's checks of what any rank may have written there (launch/jobctl.h). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "launch/jobctl.h"
#include "world.h"
#include "shm/shm_inbox.h"
#include "shm/shm_layout.h"
#include "shm/shm_ring.h"

/* ck_assert_msg records every passing check with the runner (a system call each): the
 * hundreds of thousands of checks below only call Check when one fails. */
#define REQUIRE(cond, ...)       \
  do {                           \
    if (!(cond))                 \
      ck_abort_msg(__VA_ARGS__); \
  } while (0)

static int is_pow2(uint64_t v)
{
  return v != 0 && (v & (v - 1)) == 0;
}

/* Checks the invariants of one layout. */
static void layout_check(uint32_t n, size_t page, size_t nslots, size_t dbytes)
{
  tubo__shm_layout_t L;
  int rc = tubo__shm_layout_compute(n, page, nslots, dbytes, 0, (size_t)3 << 20, SIZE_MAX, &L);
  REQUIRE(rc == 0, "n=%u page=%zu slots=%zu data=%zu: expected 0, got %s", n, page, nslots, dbytes,
          tubo_err_name(rc));
  REQUIRE(L.nranks == n, "n=%u: nranks %u", n, L.nranks);
  REQUIRE(is_pow2(L.nslots) && L.nslots >= TUBO__SHM_SLOTS_MIN && L.nslots <= TUBO__SHM_SLOTS_MAX,
          "n=%u slots=%zu: nslots %u, expected a power of two in [%u, %u]", n, nslots, L.nslots,
          TUBO__SHM_SLOTS_MIN, TUBO__SHM_SLOTS_MAX);
  REQUIRE(is_pow2(L.dbytes) && L.dbytes >= TUBO__SHM_DATA_MIN && L.dbytes <= TUBO__SHM_DATA_MAX,
          "n=%u data=%zu: data ring %u B, expected a power of two in [%u, %u]", n, dbytes, L.dbytes,
          TUBO__SHM_DATA_MIN, TUBO__SHM_DATA_MAX);
  size_t need = TUBO__SHM_CHAN_HDR + (size_t)L.nslots * TUBO__SHM_SLOT + L.dbytes;
  REQUIRE(L.chan_bytes >= need && L.chan_bytes % page == 0 && L.chan_bytes - need < page,
          "n=%u page=%zu: channel %zu B, expected the page multiple just above %zu", n, page,
          L.chan_bytes, need);
  size_t inbox = tubo__shm_inbox_hdr_bytes(n) + (size_t)L.inbox_slots * 64u;
  REQUIRE(is_pow2(L.inbox_slots) && L.inbox_slots >= TUBO__SHM_INBOX_MIN &&
              L.inbox_slots <= TUBO__SHM_INBOX_MAX,
          "n=%u: %u inbox slots, expected a power of two in [%u, %u]", n, L.inbox_slots,
          TUBO__SHM_INBOX_MIN, TUBO__SHM_INBOX_MAX);
  REQUIRE(L.inbox_bytes >= inbox && L.inbox_bytes % page == 0 && L.inbox_bytes - inbox < page,
          "n=%u page=%zu: inbox %zu B, expected the page multiple just above %zu", n, page,
          L.inbox_bytes, inbox);
  size_t ctl_min = TUBO__JOBCTL_RANKS_OFF + (size_t)n * sizeof(struct tubo__rankctl);
  REQUIRE(L.ctl_bytes >= ctl_min && L.ctl_bytes % page == 0,
          "n=%u page=%zu: control block %zu B, expected a page multiple >= %zu", n, page,
          L.ctl_bytes, ctl_min);
  REQUIRE(L.heap_off == L.ctl_bytes + L.inbox_bytes * n, "n=%u: heap at %zu, expected %zu", n,
          L.heap_off, L.ctl_bytes + L.inbox_bytes * n);
  /* Channels: at least one per receiver, none beyond its peers, and all of them within
   * 8 MiB + 640 KiB per rank, or the one a pair needs. */
  size_t budget = TUBO__SHM_CHAN_BUDGET + (size_t)n * TUBO__SHM_CHAN_BUDGET_RANK;
  REQUIRE(L.fast_max <= n - 1 && (n == 1 || L.fast_max >= 1), "n=%u: %u channels per receiver", n,
          L.fast_max);
  REQUIRE(L.fast_max <= 1 || (size_t)n * L.fast_max * L.chan_bytes <= budget,
          "n=%u: %u channels of %zu B per receiver, expected within %zu B for the job", n,
          L.fast_max, L.chan_bytes, budget);
  size_t room = (size_t)n * L.fast_max * L.chan_bytes + TUBO__SHM_HEAP_INFLIGHT +
                (size_t)n * TUBO__SHM_HEAP_INFLIGHT_RANK;
  REQUIRE(L.heap_user >= ((size_t)3 << 20) && L.heap_user - ((size_t)3 << 20) < page &&
              L.heap_bytes % page == 0 && L.heap_bytes >= L.heap_user + room &&
              L.heap_bytes - (L.heap_user + room) < page,
          "n=%u page=%zu: heap %zu B (objects %zu B), expected room for 3 MiB of objects and "
          "%zu B of channels and payloads",
          n, page, L.heap_bytes, L.heap_user, room);
  REQUIRE(L.total == L.heap_off + L.heap_bytes, "n=%u: total %zu, expected %zu", n, L.total,
          L.heap_off + L.heap_bytes);
  /* Every inbox: page-aligned, after the control block, before the heap, one after the
   * other. */
  for (uint32_t r = 0; r < n; r++) {
    size_t off = tubo__shm_inbox_off(&L, r);
    REQUIRE(off % page == 0 && off >= L.ctl_bytes && off + L.inbox_bytes <= L.heap_off &&
                (r == 0 || off - tubo__shm_inbox_off(&L, r - 1) == L.inbox_bytes),
            "n=%u: inbox %u at %zu, expected page-aligned between the control block and the "
            "heap, after the previous one",
            n, r, off);
  }
  /* What tuborun checks against the machine: the start-up memory and every channel. */
  REQUIRE(tubo__shm_layout_need(&L) == L.heap_off + (size_t)n * L.fast_max * L.chan_bytes,
          "n=%u: need %zu", n, tubo__shm_layout_need(&L));
}

START_TEST(test_invariants)
{
  static const size_t pages[] = {4096, 16384, 65536};
  static const size_t slots[] = {0, 64, 1000, 1u << 20};
  static const size_t datas[] = {0, 16u << 10, 100000, 1u << 20};
  for (uint32_t n = 1; n <= 64; n++)
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++)
      for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        layout_check(n, pages[p], slots[i], datas[(i + p) % (sizeof datas / sizeof datas[0])]);
}
END_TEST

/* Default sizes: 4 MiB of slots and 8 MiB of data rings per rank, shared among its peers,
 * each channel clamped to 64..16384 slots and 16..256 KiB, rounded down to powers of two,
 * the slots halved (down to 4096) where that gives every peer its channel (4 and 5
 * ranks); asked sizes are clamped and rounded the same way. */
START_TEST(test_sizes)
{
  static const struct {
    uint32_t n;
    size_t slots, data, want_slots, want_data;
  } cases[] = {
      {2, 0, 0, 16384, 256u << 10},
      {1, 0, 0, 16384, 256u << 10},
      {3, 0, 0, 16384, 256u << 10},
      {4, 0, 0, 8192, 256u << 10},
      {5, 0, 0, 4096, 256u << 10},
      {6, 0, 0, 8192, 256u << 10},
      {33, 0, 0, 2048, 256u << 10},
      {34, 0, 0, 1024, 128u << 10},
      {65, 0, 0, 1024, 128u << 10},
      {4096, 0, 0, 64, 16u << 10},
      {2, 1, 1, 64, 16u << 10},
      {2, 1000, 100000, 512, 64u << 10},
      {2, 100000, 1u << 20, 16384, 256u << 10},
      {4096, 16384, 256u << 10, 16384, 256u << 10},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tubo__shm_layout_t L;
    int rc = tubo__shm_layout_compute(cases[i].n, 4096, cases[i].slots, cases[i].data, 0, 0,
                                      SIZE_MAX, &L);
    ck_assert_msg(rc == 0, "n=%u slots=%zu data=%zu: expected 0, got %s", cases[i].n,
                  cases[i].slots, cases[i].data, tubo_err_name(rc));
    ck_assert_msg(L.nslots == cases[i].want_slots && L.dbytes == cases[i].want_data,
                  "n=%u slots=%zu data=%zu: expected %zu slots and %zu B of data, got %u and %u",
                  cases[i].n, cases[i].slots, cases[i].data, cases[i].want_slots,
                  cases[i].want_data, L.nslots, L.dbytes);
  }
}
END_TEST

/* Every rank of a job of 2 to 5 ranks has a channel for each of its peers by default (4
 * and 5 ranks with fewer slots, within the same budget); asked slots, or fewer channels
 * asked, are not shrunk for it; 6 ranks do not fit and keep their slots. */
START_TEST(test_every_peer)
{
  tubo__shm_layout_t L;
  for (uint32_t n = 2; n <= 5; n++) {
    ck_assert_int_eq(tubo__shm_layout_compute(n, 4096, 0, 0, 0, 0, SIZE_MAX, &L), 0);
    ck_assert_msg(L.fast_max == n - 1, "%u ranks: expected %u channels a rank, got %u", n, n - 1,
                  L.fast_max);
  }
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 16384, 0, 0, 0, SIZE_MAX, &L), 0);
  ck_assert_msg(L.nslots == 16384 && L.fast_max == 2,
                "4 ranks, 16384 slots asked: expected 16384 slots and 2 channels, got %u and %u",
                L.nslots, L.fast_max);
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 0, 0, 0, 0, 2, &L), 0);
  ck_assert_msg(L.nslots == 16384 && L.fast_max == 2,
                "4 ranks, 2 channels asked: expected 16384 slots and 2 channels, got %u and %u",
                L.nslots, L.fast_max);
  ck_assert_int_eq(tubo__shm_layout_compute(6, 4096, 0, 0, 0, 0, SIZE_MAX, &L), 0);
  ck_assert_msg(L.nslots == 8192 && L.fast_max == 2,
                "6 ranks: expected 8192 slots and 2 channels, got %u and %u", L.nslots, L.fast_max);
}
END_TEST

/* All ranks must compute the same layout, and a different one must show in the key. */
START_TEST(test_key)
{
  tubo__shm_layout_t a, b;
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 0, 0, 0, 0, SIZE_MAX, &a), 0);
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 0, 0, 0, 0, SIZE_MAX, &b), 0);
  ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "the same inputs gave different layouts");
  ck_assert_int_eq(tubo__shm_layout_compute(5, 4096, 0, 0, 0, 0, SIZE_MAX, &b), 0);
  ck_assert_msg(a.key != b.key, "4 and 5 ranks: expected different keys, both 0x%llx",
                (unsigned long long)a.key);
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 64, 0, 0, 0, SIZE_MAX, &b), 0);
  ck_assert_msg(a.key != b.key, "default and 64 slots: expected different keys, both 0x%llx",
                (unsigned long long)a.key);
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 0, 16u << 10, 0, 0, SIZE_MAX, &b), 0);
  ck_assert_msg(a.key != b.key,
                "default and a 16 KiB data ring: expected different keys, both 0x%llx",
                (unsigned long long)a.key);
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 0, 0, 0, 1u << 20, SIZE_MAX, &b), 0);
  ck_assert_msg(a.key != b.key, "no heap and a 1 MiB heap: expected different keys, both 0x%llx",
                (unsigned long long)a.key);
  /* The frame size decides what a receiver accepts: ranks must agree on it too. */
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 0, 0, 8192, 0, SIZE_MAX, &b), 0);
  ck_assert_msg(b.frame_max == 8192 && a.frame_max == TUBO__SHM_FRAME_DEFAULT,
                "frame sizes: expected 8192 and the default %u, got %u and %u",
                TUBO__SHM_FRAME_DEFAULT, b.frame_max, a.frame_max);
  ck_assert_msg(a.key != b.key, "64 KiB and 8 KiB frames: expected different keys, both 0x%llx",
                (unsigned long long)a.key);
  /* Layouts that differ in two fields never meet on one key: 64 slots without a heap and
   * 128 slots with a heap of 12 pages once did (the fields were shifted into overlapping
   * bits and combined with exclusive or). */
  tubo__shm_layout_t c;
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 64, 0, 0, 0, SIZE_MAX, &b), 0);
  ck_assert_int_eq(tubo__shm_layout_compute(4, 4096, 128, 0, 0, 12 * 4096, SIZE_MAX, &c), 0);
  ck_assert_msg(b.key != c.key, "different slots and heaps: expected different keys, both 0x%llx",
                (unsigned long long)b.key);
}
END_TEST

START_TEST(test_errors)
{
  tubo__shm_layout_t L;
  int rc = tubo__shm_layout_compute(0, 4096, 0, 0, 0, 0, SIZE_MAX, &L);
  ck_assert_msg(rc == TUBO_EINVAL, "0 ranks: expected TUBO_EINVAL, got %s", tubo_err_name(rc));
  rc = tubo__shm_layout_compute(2, 0, 0, 0, 0, 0, SIZE_MAX, &L);
  ck_assert_msg(rc == TUBO_EINVAL, "page 0: expected TUBO_EINVAL, got %s", tubo_err_name(rc));
  /* A segment larger than the address space. */
  rc = tubo__shm_layout_compute(UINT32_MAX, (size_t)1 << 30, 0, 0, 0, 0, SIZE_MAX, &L);
  ck_assert_msg(rc == TUBO_ETOOBIG, "2^32-1 ranks with 1 GiB pages: expected TUBO_ETOOBIG, got %s",
                tubo_err_name(rc));
  rc = tubo__shm_layout_compute(1u << 30, (size_t)1 << 40, 0, 0, 0, 0, SIZE_MAX, &L);
  ck_assert_msg(rc == TUBO_ETOOBIG, "2^30 ranks with 1 TiB pages: expected TUBO_ETOOBIG, got %s",
                tubo_err_name(rc));
}
END_TEST

/* The slot reader (shm_ring.h): what it accepts and refuses of what a peer wrote. */
START_TEST(test_slot_read)
{
  struct tubo__shm_slot slot;
  tubo__shm_rxf_t x;
  memset(&slot, 0, sizeof slot);
  /* Not yet written: the stamp is that of an earlier lap. */
  atomic_store(&slot.stamp, 7);
  ck_assert_msg(tubo__shm_slot_read(&slot, 7 + 64, 0, 4096, 1024, &x) == 0,
                "a stale stamp: expected 0 (not yet written)");
  /* A payload in the data ring whose release position wraps the 32-bit count to 0: valid
   * (streams of more than 4 GiB do this; it was once refused as corrupt). */
  uint64_t head = 1000;
  atomic_store(&slot.stamp, (uint32_t)(head + 1));
  slot.kind = TUBO__F_CONT;
  slot.len = 1024;
  slot.doff = 3072;
  slot.dend = 0;
  uint32_t dhead = UINT32_MAX - 1023; /* 1024 bytes before the wrap */
  int rc = tubo__shm_slot_read(&slot, head, dhead, 4096, 1024, &x);
  ck_assert_msg(rc == 1 && x.dend == 0 && x.f.len == 1024,
                "a release wrapping to 0: expected 1 with dend 0, got %d (dend %u)", rc, x.dend);
  /* Refused: a payload past the ring's end, a frame longer than allowed, a release that
   * runs ahead of everything the ring can hold. */
  slot.doff = 3073;
  ck_assert_msg(tubo__shm_slot_read(&slot, head, dhead, 4096, 1024, &x) == TUBO_ECORRUPT,
                "a payload past the data ring's end: expected TUBO_ECORRUPT");
  slot.doff = 0;
  slot.len = 2048;
  ck_assert_msg(tubo__shm_slot_read(&slot, head, dhead, 4096, 1024, &x) == TUBO_ECORRUPT,
                "a frame longer than the frame limit: expected TUBO_ECORRUPT");
  slot.len = 1024;
  slot.dend = dhead + 4097;
  ck_assert_msg(tubo__shm_slot_read(&slot, head, dhead, 4096, 1024, &x) == TUBO_ECORRUPT,
                "a release beyond what the ring holds: expected TUBO_ECORRUPT");
  /* An inline payload: no data ring fields are read. */
  slot.len = TUBO__SHM_INLINE;
  slot.dend = 12345;
  rc = tubo__shm_slot_read(&slot, head, dhead, 4096, 1024, &x);
  ck_assert_msg(rc == 1 && x.dend == 0, "an inline payload: expected 1 and no release, got %d", rc);
}
END_TEST

/* What the slow path accepts in the slot it waits on (shm_ring.h): the stamp of its own
 * position or of one lap earlier (0 in the first lap); anything else is corruption. */
START_TEST(test_stamp_ok)
{
  struct tubo__shm_slot slot;
  memset(&slot, 0, sizeof slot);
  static const struct {
    uint64_t head;
    uint32_t stamp;
    int ok;
  } cases[] = {
      {0, 0, 1},
      {0, 1, 1},
      {5, 0, 1},
      {5, 6, 1},
      {5, 7, 0},
      {63, 0, 1},
      {64, 1, 1},
      {64, 0, 0},
      {64, 65, 1},
      {64, 66, 0},
      {1000, 937, 1},
      {1000, 1001, 1},
      {1000, 0, 0},
      {1000, 999, 0},
      {1000, 0xdeadbeef, 0},
      {(1ull << 32) + 10, 11, 1},
      {(1ull << 32) + 10, (uint32_t)((1ull << 32) + 10 + 1 - 64), 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    atomic_store(&slot.stamp, cases[i].stamp);
    int ok = tubo__shm_slot_stamp_ok(&slot, cases[i].head, 64);
    ck_assert_msg(ok == cases[i].ok, "head %llu, stamp %u, 64 slots: expected %s, got %s",
                  (unsigned long long)cases[i].head, cases[i].stamp,
                  cases[i].ok ? "valid" : "corrupt", ok ? "valid" : "corrupt");
  }
}
END_TEST

/* Which slot a sender that filled a position asks for ahead (shm_ring.h): never the next
 * one, which a caught-up receiver polls, nor one whose position the receiver may not have
 * read yet; 0 and 1 ask for none. */
START_TEST(test_prefetch_ok)
{
  static const struct {
    uint64_t pos, head_seen;
    uint32_t dist;
    int ok;
  } cases[] = {
      {0, 0, 0, 0}, /* off */
      {0, 0, 1, 0}, /* the slot the receiver polls */
      {0, 0, 2, 1},
      {0, 0, 8, 1},
      {55, 0, 8, 1}, /* position 63: the ring's last free slot */
      {56, 0, 8, 0}, /* position 64 holds position 0, maybe unread */
      {56, 1, 8, 1}, /* read as far as 1: position 0 was read */
      {100, 45, 8, 1},
      {100, 44, 8, 0},
      {10, 10, 64, 0}, /* a whole ring ahead: the slot of position 10 itself */
      {10, 10, 63, 1},
      {(1ull << 32) + 60, (1ull << 32), 8, 0},
      {(1ull << 32) + 50, (1ull << 32), 8, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int ok = tubo__shm_prefetch_ok(cases[i].pos, cases[i].dist, cases[i].head_seen, 64);
    ck_assert_msg(ok == cases[i].ok,
                  "filled %llu, receiver read %llu, %u ahead, 64 slots: expected %s, got %s",
                  (unsigned long long)cases[i].pos, (unsigned long long)cases[i].head_seen,
                  cases[i].dist, cases[i].ok ? "prefetch" : "none", ok ? "prefetch" : "none");
  }
}
END_TEST

/* A receiver's read-ahead (shm_ring.h) in a ring of 64 slots that a sender fills up to
 * position last: it asks only for slots it knows filled, for nearly every position where
 * the sender is far ahead, never where the receiver has caught up (there its probes come
 * ever more rarely), and never with a distance of 0 or 1. */
static void ahead_fill(struct tubo__shm_slot *slots, uint64_t from, uint64_t last)
{
  for (uint64_t p = from; p <= last; p++)
    atomic_store(&slots[p & 63].stamp, (uint32_t)(p + 1));
}

START_TEST(test_read_ahead)
{
  static struct tubo__shm_slot slots[64];
  tubo__shm_ahead_t a;
  /* The sender stays 60 positions ahead of the receiver. */
  memset(slots, 0, sizeof slots);
  memset(&a, 0, sizeof a);
  uint64_t last = 0, asked = 0;
  ahead_fill(slots, 0, 60);
  last = 60;
  for (uint64_t h = 0; h < 1000; h++) {
    if (h + 60 > last) {
      ahead_fill(slots, last + 1, h + 60);
      last = h + 60;
    }
    uint64_t p = tubo__shm_read_ahead(&a, slots, 64, h, 8);
    if (p == UINT64_MAX)
      continue;
    asked++;
    ck_assert_msg(p == h + 8, "behind, at %llu: expected to ask for %llu, got %llu",
                  (unsigned long long)h, (unsigned long long)(h + 8), (unsigned long long)p);
    ck_assert_msg(p <= last, "behind, at %llu: expected a filled slot (filled to %llu), got %llu",
                  (unsigned long long)h, (unsigned long long)last, (unsigned long long)p);
  }
  ck_assert_msg(asked >= 900,
                "behind: expected a slot asked for at 900 or more of 1000 positions, "
                "got %llu",
                (unsigned long long)asked);

  /* The sender stops at position 100; the receiver reads on to it. */
  memset(slots, 0, sizeof slots);
  memset(&a, 0, sizeof a);
  ahead_fill(slots, 0, 63);
  for (uint64_t h = 0; h <= 100; h++) {
    if (h + 63 <= 100)
      ahead_fill(slots, h + 63, h + 63);
    uint64_t p = tubo__shm_read_ahead(&a, slots, 64, h, 8);
    ck_assert_msg(p == UINT64_MAX || p <= 100,
                  "sender stopped at 100, at %llu: expected no slot past 100, got %llu",
                  (unsigned long long)h, (unsigned long long)p);
  }

  /* Caught up: each position filled just before the receiver reads it. */
  memset(slots, 0, sizeof slots);
  memset(&a, 0, sizeof a);
  unsigned probes = 0;
  for (uint64_t h = 0; h < 10000; h++) {
    ahead_fill(slots, h, h);
    uint64_t before = a.probe_at;
    uint64_t p = tubo__shm_read_ahead(&a, slots, 64, h, 8);
    ck_assert_msg(p == UINT64_MAX, "caught up, at %llu: expected no slot asked for, got %llu",
                  (unsigned long long)h, (unsigned long long)p);
    probes += a.probe_at != before;
  }
  ck_assert_msg(a.gap == TUBO__SHM_AHEAD_GAP_MAX,
                "caught up: expected probes %u positions apart at the end, got %u",
                TUBO__SHM_AHEAD_GAP_MAX, a.gap);
  ck_assert_msg(probes <= 20, "caught up: expected at most 20 probes in 10000 positions, got %u",
                probes);

  /* Distances 0 and 1 ask for nothing, with every slot filled. */
  ahead_fill(slots, 10000, 10063);
  for (uint32_t d = 0; d < 2; d++) {
    memset(&a, 0, sizeof a);
    uint64_t p = tubo__shm_read_ahead(&a, slots, 64, 10000, d);
    ck_assert_msg(p == UINT64_MAX, "distance %u: expected no slot asked for, got %llu", d,
                  (unsigned long long)p);
  }
}
END_TEST

/* ---- Ranks whose settings differ ---- */

/* Rank 1 asks for another frame size than rank 0: each learns in tubo_init, one that the
 * layouts differ (TUBO_ELAUNCH), the other that its peer left without joining
 * (TUBO_EPEER). Each says which, and exits 0. */
static void body_frame_mismatch(void)
{
  const char *r = getenv("TUBO_RANK");
  if (r != NULL && strcmp(r, "1") == 0)
    setenv("TUBO_SHM_FRAME_BYTES", "8192", 1);
  int rc = tubo_init(NULL, NULL);
  printf("frame-mismatch rank %s: %s\n", r ? r : "?", tubo_err_name(rc));
  fflush(stdout);
  TH_CHECK(rc == TUBO_ELAUNCH || rc == TUBO_EPEER,
           "rank %s: tubo_init with another frame size than its peer: expected TUBO_ELAUNCH or "
           "TUBO_EPEER, got %s",
           r ? r : "?", tubo_err_name(rc));
}

/* A message of len bytes each way between ranks 0 and 1, checked. */
static void exchange(size_t len, int iter)
{
  int peer = 1 - th_rank;
  tubo_request_t *rq;
  unsigned char *b = th_malloc(len);
  th_fill(b, len, th_seed(th_rank, peer, len, iter));
  TH_OK(tubo_isend(b, len, peer, 3, th_world, &rq));
  TH_RECV_MSG(peer, 3, len, iter);
  TH_OK(tubo_wait(&rq, TUBO_STATUS_IGNORE));
  free(b);
}

/* Every rank given the same frame size: large messages stream in frames of that size. */
static void body_frame_agree(void)
{
  tubo__world_t *w = th_world->w;
  TH_EQ("frame size to the peer", w->peers[1 - th_rank].frame_max, 8192);
  for (int i = 0; i < 4; i++)
    exchange(100000 + (size_t)i, i);
}

/* Settings a rank may give alone: single copy forbidden, no asymmetric fences, another
 * single-copy threshold. The rank that forbids single copy decides for the whole job, so
 * no peer sends it a message to read from its memory. */
static void body_settings_differ(void)
{
  const char *r = getenv("TUBO_RANK");
  if (r != NULL && strcmp(r, "1") == 0) {
    setenv("TUBO_SHM_CMA", "0", 1);
    setenv("TUBO_SHM_ASYM_FENCE", "0", 1);
  } else {
    setenv("TUBO_SHM_RNDV_BYTES", "1k", 1);
  }
  th_init_world(NULL, NULL);
  tubo__world_t *w = th_world->w;
  TH_EQ("single copy on this rank's transport", w->tports[0].caps.single_copy, 0);
  static const size_t lens[] = {8, 100, 5000, 70000, 1u << 20};
  for (int i = 0; i < 10; i++)
    exchange(lens[i % 5], i);
  TH_OK(tubo_finalize());
}

/* Runs body on 2 ranks (env: NULL-terminated NAME=value strings); returns the status
 * and the output. */
static int layout_job(const char *body, const char *const *env, char **out)
{
  const char *argv[] = {th_tuborun(), "-n", "2", "--timeout", "120", "@self", "--body", body, NULL};
  return th_run(argv, env, out);
}

START_TEST(test_frame_mismatch)
{
  char *out = NULL;
  int st = layout_job("frame_mismatch", NULL, &out);
  ck_assert_msg(st == 0,
                "rank 1 with another frame size: expected every rank to see it in "
                "tubo_init and exit 0, got status %d; output:\n%s",
                st, out);
  ck_assert_msg(strstr(out, ": TUBO_ELAUNCH") != NULL && strstr(out, "rank 0: ") != NULL &&
                    strstr(out, "rank 1: ") != NULL,
                "expected both ranks to report, one TUBO_ELAUNCH; output:\n%s", out);
  free(out);
}
END_TEST

START_TEST(test_frame_agree)
{
  static const char *const env[] = {"TUBO_SHM_FRAME_BYTES=8192", "TUBO_SHM_CMA=0", NULL};
  char *out = NULL;
  int st = layout_job("frame_agree", env, &out);
  ck_assert_msg(st == 0, "every rank with 8 KiB frames: expected 0, got %d; output:\n%s", st, out);
  free(out);
}
END_TEST

START_TEST(test_settings_differ)
{
  char *out = NULL;
  int st = layout_job("settings_differ", NULL, &out);
  ck_assert_msg(st == 0,
                "ranks with different single-copy and fence settings: expected 0, "
                "got %d; output:\n%s",
                st, out);
  free(out);
}
END_TEST

/* A job control block of two ranks where rank 1 never comes: a failed rank that names
 * no rank of the job is a forgery, TUBO_ECORRUPT, not a peer's end. */
START_TEST(test_jobctl_forged_failed_rank)
{
  static const int32_t forged[] = {2, 1000, -2, INT32_MIN};
  for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
    uint8_t jobid[16] = {1};
    struct tubo__jobctl *c = NULL;
    int fd = tubo__jobctl_create(2, jobid, 0, &c);
    ck_assert_msg(fd >= 0, "tubo__jobctl_create: expected a descriptor, got %d", fd);
    atomic_store(&c->failed_rank, forged[i]);
    int rc = tubo__jobctl_rendezvous(c, 2, 0, 1, 0);
    ck_assert_msg(rc == TUBO_ECORRUPT, "failed rank %d of 2: expected TUBO_ECORRUPT, got %s",
                  (int)forged[i], tubo_err_name(rc));
    munmap(c, c->ctl_bytes);
    close(fd);
  }
}
END_TEST

/* The record of what a rank is blocked in: read back as written, cleared, and refused
 * when it holds what no rank writes. */
START_TEST(test_blocked_record)
{
  struct tubo__blocked b;
  memset(&b, 0, sizeof b);
  tubo__blocked_view_t v;
  ck_assert_msg(tubo__blocked_read(&b, &v) == 0 && !v.active, "a zeroed record: not blocked");
  tubo__blocked_write(&b, "tubo_recv", TUBO__BLK_SOURCE, TUBO_ANY_SOURCE, 1, 7, 4, 3);
  ck_assert_msg(tubo__blocked_read(&b, &v) == 0 && v.active, "expected the record read back");
  ck_assert_msg(strcmp(v.name, "tubo_recv") == 0 && v.role == TUBO__BLK_SOURCE &&
                    v.peer == TUBO_ANY_SOURCE && v.has_tag && v.tag == 7 && v.has_comm &&
                    v.comm_size == 4 && v.cid == 3,
                "expected tubo_recv (source any, tag 7, 4 ranks, context 3), got %s role %d "
                "peer %d tag %d size %u cid %u",
                v.name, v.role, (int)v.peer, (int)v.tag, v.comm_size, v.cid);
  /* A name longer than the record is cut, and stays terminated. */
  tubo__blocked_write(&b, "tubo_a_name_longer_than_thirty_two_characters", TUBO__BLK_NOPEER, 0, 0,
                      0, 0, 0);
  ck_assert_msg(tubo__blocked_read(&b, &v) == 0 && strlen(v.name) == TUBO__BLOCKED_NAME - 1 &&
                    !v.has_comm && !v.has_tag,
                "expected a long name cut to %d characters, got '%s'", TUBO__BLOCKED_NAME - 1,
                v.name);
  tubo__blocked_clear_rec(&b);
  ck_assert_msg(tubo__blocked_read(&b, &v) == 0 && !v.active, "a cleared record: not blocked");
  /* Forgeries: a role out of range, a name that is no identifier or not terminated, a
   * sequence number that stays odd. */
  tubo__blocked_write(&b, "tubo_recv", TUBO__BLK_SOURCE, 0, 1, 0, 2, 0);
  atomic_store(&b.flags, TUBO__BLK_ACTIVE | (200u << TUBO__BLK_ROLE_SHIFT));
  ck_assert_msg(tubo__blocked_read(&b, &v) == -1 && !v.active, "a forged role: refused");
  tubo__blocked_write(&b, "tubo_recv", TUBO__BLK_SOURCE, 0, 1, 0, 2, 0);
  atomic_store(&b.name[0], 0x2e2e2f2e2e2f2e2eull); /* "../../.." */
  ck_assert_msg(tubo__blocked_read(&b, &v) == -1 && !v.active, "a forged name: refused");
  for (size_t i = 0; i < TUBO__BLOCKED_NAME / 8; i++)
    atomic_store(&b.name[i], 0x6161616161616161ull); /* no terminating NUL */
  ck_assert_msg(tubo__blocked_read(&b, &v) == -1 && !v.active, "an unterminated name: refused");
  tubo__blocked_write(&b, "tubo_recv", TUBO__BLK_SOURCE, 0, 1, 0, 2, 0);
  atomic_store(&b.seq, 1);
  ck_assert_msg(tubo__blocked_read(&b, &v) == -1 && !v.active,
                "a record written for ever: given up");
}
END_TEST

static Suite *layout_suite(void)
{
  Suite *s = suite_create("layout");
  TCase *tc = tcase_create("layout");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_invariants);
  tcase_add_test(tc, test_sizes);
  tcase_add_test(tc, test_every_peer);
  tcase_add_test(tc, test_key);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_slot_read);
  tcase_add_test(tc, test_stamp_ok);
  tcase_add_test(tc, test_prefetch_ok);
  tcase_add_test(tc, test_read_ahead);
  tcase_add_test(tc, test_jobctl_forged_failed_rank);
  tcase_add_test(tc, test_blocked_record);
  suite_add_tcase(s, tc);
  tc = th_tcase("settings");
  tcase_add_test(tc, test_frame_mismatch);
  tcase_add_test(tc, test_frame_agree);
  tcase_add_test(tc, test_settings_differ);
  suite_add_tcase(s, tc);
  return s;
}

static const th_body_t bodies[] = {{"frame_mismatch", body_frame_mismatch, TH_SELF_INIT},
                                   {"frame_agree", body_frame_agree, 0},
                                   {"settings_differ", body_settings_differ, TH_SELF_INIT},
                                   {NULL, NULL, 0}};

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, layout_suite);
}
