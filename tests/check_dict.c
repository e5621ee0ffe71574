/* SPDX-License-Identifier: MIT */
/* The shared dict and the Namespace (tubo_dict_*, tubo_ns_*).
 *
 * One process: every call, values from 0 B to 1 MiB, a million keys (TUBO_DICT_KEYS sets
 * how many: make check-asan takes 200000, tests/sanitize.sh says why), a heap that fills
 * up, memory given back, corrupt shared memory. Processes (forked): many processes
 * setting, deleting and updating shared keys, every value checked at the end; readers
 * that must see every value whole while it is rewritten; a process killed (SIGKILL) at
 * each step of a write, holding a lock, after which the dict must be whole, usable, and
 * hold no leaked block. Ranks (tuborun): dicts and Namespaces opened on the world, in
 * shared memory and served by rank 0 over the pipe transport. Children report through
 * their exit status; hand-overs are waits for a child's end, never sleeps. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "heap/heap.h"
#include "patterns/dict.h"
#include "patterns/objheap.h"

/* ---- Helpers ---- */

static tubo_dict_t *new_dict(void)
{
  tubo_dict_t *d = NULL;
  TH_CK_OK(tubo_dict_create(&d));
  return d;
}

/* Blocks the process tree's heap holds now. */
static uint64_t heap_blocks(void)
{
  tubo__heap_t *h = tubo__objheap_process_heap();
  ck_assert_msg(h != NULL, "expected the process heap to exist once a dict was made");
  tubo__heap_stats_t st;
  tubo__heap_stats(h, &st);
  return st.blocks;
}

/* A value of len bytes for seed: its first 8 bytes say the seed, when it has room. */
static void value_fill(unsigned char *buf, size_t len, uint32_t seed)
{
  th_fill(buf, len, seed);
  if (len >= 4)
    memcpy(buf, &seed, 4);
}

static int value_ok(const unsigned char *buf, size_t len, uint32_t seed)
{
  unsigned char *want = malloc(len ? len : 1);
  value_fill(want, len, seed);
  int ok = memcmp(want, buf, len) == 0;
  free(want);
  return ok;
}

static int add_one(void *value, size_t *len, size_t cap, void *arg)
{
  (void)cap;
  (void)arg;
  long v = 0;
  if (*len != TUBO_DICT_MISSING)
    memcpy(&v, value, sizeof v);
  v++;
  memcpy(value, &v, sizeof v);
  *len = sizeof v;
  return 0;
}

static long get_long(tubo_dict_t *d, const char *key)
{
  long v = -1;
  size_t len = 0;
  TH_CK_OK(tubo_dict_get(d, key, &v, sizeof v, &len));
  ck_assert_msg(len == sizeof v, "%s: expected a long, got %zu bytes", key, len);
  return v;
}

/* ---- One process ---- */

START_TEST(test_calls)
{
  tubo_dict_t *d = new_dict();
  char buf[16];
  size_t len = 99, n = 99;
  int found = -1;
  TH_CK_OK(tubo_dict_len(d, &n));
  ck_assert_msg(n == 0, "len of a new dict: expected 0, got %zu", n);
  TH_CK_RC(tubo_dict_get(d, "a", buf, sizeof buf, &len), TUBO_ENOKEY);
  TH_CK_RC(tubo_dict_del(d, "a"), TUBO_ENOKEY);
  TH_CK_OK(tubo_dict_set(d, "a", "hello", 5));
  TH_CK_OK(tubo_dict_set(d, "", "empty key", 9));
  TH_CK_OK(tubo_dict_set(d, "zero", NULL, 0));
  TH_CK_OK(tubo_dict_get(d, "a", buf, sizeof buf, &len));
  ck_assert_msg(len == 5 && memcmp(buf, "hello", 5) == 0, "d[a]: expected hello, got %.*s",
                (int)len, buf);
  TH_CK_RC(tubo_dict_get(d, "a", buf, 3, &len), TUBO_ETRUNC);
  ck_assert_msg(len == 5 && memcmp(buf, "hel", 3) == 0, "truncated d[a]: expected hel and 5");
  TH_CK_OK(tubo_dict_get(d, "zero", NULL, 0, &len));
  ck_assert_msg(len == 0, "empty value: expected length 0, got %zu", len);
  void *p = (void *)1;
  TH_CK_OK(tubo_dict_get_alloc(d, "zero", &p, &len));
  ck_assert_msg(p == NULL && len == 0, "get_alloc of an empty value: expected NULL and 0");
  TH_CK_OK(tubo_dict_get_alloc(d, "", &p, &len));
  ck_assert_msg(len == 9 && memcmp(p, "empty key", 9) == 0, "d['']: expected 'empty key'");
  free(p);
  TH_CK_OK(tubo_dict_contains(d, "a", &found));
  ck_assert_msg(found == 1, "a in d: expected 1, got %d", found);
  TH_CK_OK(tubo_dict_contains(d, "b", &found));
  ck_assert_msg(found == 0, "b in d: expected 0, got %d", found);
  TH_CK_OK(tubo_dict_set(d, "a", "bye", 3)); /* replaced: keeps its place */
  TH_CK_OK(tubo_dict_set(d, "b", "x", 1));
  TH_CK_OK(tubo_dict_del(d, ""));
  TH_CK_OK(tubo_dict_set(d, "", "again", 5)); /* deleted and set: goes last */
  char **keys = NULL;
  TH_CK_OK(tubo_dict_keys(d, &keys, &n));
  const char *want[] = {"a", "zero", "b", ""};
  ck_assert_msg(n == 4, "keys: expected 4, got %zu", n);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(strcmp(keys[i], want[i]) == 0, "keys[%zu]: expected '%s', got '%s'", i, want[i],
                  keys[i]);
  ck_assert_msg(keys[n] == NULL, "keys: expected a NULL after the last");
  free(keys);
  for (int i = 0; i < 10; i++)
    TH_CK_OK(tubo_dict_update(d, "count", add_one, NULL));
  ck_assert_msg(get_long(d, "count") == 10, "count after 10 updates: expected 10");
  TH_CK_OK(tubo_dict_clear(d));
  TH_CK_OK(tubo_dict_len(d, &n));
  ck_assert_msg(n == 0, "len after clear: expected 0, got %zu", n);
  TH_CK_RC(tubo_dict_get(d, "a", buf, sizeof buf, &len), TUBO_ENOKEY);
  TH_CK_OK(tubo_dict_set(d, "after", "clear", 5));
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* update: growing a value past the room given, deleting, keeping, failing. */
static int grow_fn(void *value, size_t *len, size_t cap, void *arg)
{
  size_t want = *(size_t *)arg;
  if (want > cap) {
    *len = want; /* asks for more room */
    return 0;
  }
  memset(value, 'g', want);
  *len = want;
  return 0;
}

static int delete_fn(void *value, size_t *len, size_t cap, void *arg)
{
  (void)value, (void)cap, (void)arg;
  *len = TUBO_DICT_MISSING;
  return 0;
}

static int keep_fn(void *value, size_t *len, size_t cap, void *arg)
{
  (void)value, (void)len, (void)cap, (void)arg;
  return 1;
}

static int fail_fn(void *value, size_t *len, size_t cap, void *arg)
{
  (void)value, (void)cap, (void)arg;
  *len = 0;
  return TUBO_EAGAIN;
}

START_TEST(test_update)
{
  tubo_dict_t *d = new_dict();
  size_t big = 100000, len = 0;
  TH_CK_OK(tubo_dict_update(d, "g", grow_fn, &big));
  void *p = NULL;
  TH_CK_OK(tubo_dict_get_alloc(d, "g", &p, &len));
  ck_assert_msg(len == big && ((char *)p)[0] == 'g' && ((char *)p)[big - 1] == 'g',
                "grown value: expected %zu bytes of 'g', got %zu", big, len);
  free(p);
  TH_CK_OK(tubo_dict_update(d, "g", keep_fn, NULL));
  TH_CK_RC(tubo_dict_update(d, "g", fail_fn, NULL), TUBO_EAGAIN);
  TH_CK_RC(tubo_dict_get(d, "g", NULL, 0, &len), TUBO_ETRUNC);
  ck_assert_msg(len == big, "after keep and fail: expected the value unchanged");
  TH_CK_OK(tubo_dict_update(d, "g", delete_fn, NULL));
  TH_CK_RC(tubo_dict_get(d, "g", NULL, 0, &len), TUBO_ENOKEY);
  TH_CK_OK(tubo_dict_update(d, "g", delete_fn, NULL)); /* missing stays missing */
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* Values of every size class from 0 B to 1 MiB: stored and read whole, replaced by
 * values of other sizes, and every block given back once deleted. */
START_TEST(test_value_sizes)
{
  static const size_t sizes[] = {0,     1,      7,      8,      15,      16,           63,
                                 64,    100,    1000,   4095,   4096,    65535,        65536,
                                 70000, 100000, 262144, 500001, 1 << 20, (1 << 20) + 1};
  const size_t nsizes = sizeof sizes / sizeof sizes[0];
  tubo_dict_t *d = new_dict();
  uint64_t base = heap_blocks();
  unsigned char *buf = malloc((1 << 20) + 1 + TH_GUARD), *want = malloc((1 << 20) + 1);
  char key[32];
  for (int round = 0; round < 2; round++)
    for (size_t i = 0; i < nsizes; i++) {
      size_t len = sizes[(i + (size_t)round * 7) % nsizes];
      snprintf(key, sizeof key, "v%zu", i);
      value_fill(want, len, (uint32_t)(i * 31 + (size_t)round));
      TH_CK_OK(tubo_dict_set(d, key, want, len));
    }
  for (size_t i = 0; i < nsizes; i++) {
    size_t len = sizes[(i + 7) % nsizes], got = 0;
    snprintf(key, sizeof key, "v%zu", i);
    memset(buf + len, TH_GUARD_BYTE, TH_GUARD);
    TH_CK_OK(tubo_dict_get(d, key, buf, len, &got));
    ck_assert_msg(got == len, "%s: expected %zu bytes, got %zu", key, len, got);
    ck_assert_msg(value_ok(buf, len, (uint32_t)(i * 31 + 1)), "%s: expected its bytes", key);
    for (size_t g = 0; g < TH_GUARD; g++)
      ck_assert_msg(buf[len + g] == TH_GUARD_BYTE, "%s: a byte past the value was written", key);
    void *p = NULL;
    TH_CK_OK(tubo_dict_get_alloc(d, key, &p, &got));
    ck_assert_msg(got == len && (len == 0 || value_ok(p, len, (uint32_t)(i * 31 + 1))),
                  "%s: get_alloc expected %zu bytes of its value", key, len);
    free(p);
  }
  for (size_t i = 0; i < nsizes; i++) {
    snprintf(key, sizeof key, "v%zu", i);
    TH_CK_OK(tubo_dict_del(d, key));
  }
  ck_assert_msg(heap_blocks() == base, "blocks after deleting every value: expected %llu, got %llu",
                (unsigned long long)base, (unsigned long long)heap_blocks());
  free(buf);
  free(want);
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* The keys of test_million_keys: a million, or TUBO_DICT_KEYS (at least 2). */
static long dict_many_keys(void)
{
  const char *env = getenv("TUBO_DICT_KEYS");
  long n = env != NULL ? atol(env) : 0;
  return n >= 2 ? n : 1000000;
}

/* A million keys: the table grows from 1024 slots; every key is found with its value;
 * deleting them all gives every entry back. */
START_TEST(test_million_keys)
{
  const long n = dict_many_keys();
  tubo_dict_t *d = new_dict();
  char key[32];
  for (long i = 0; i < n; i++) {
    snprintf(key, sizeof key, "key:%ld", i);
    long v = i * 3;
    TH_CK_OK(tubo_dict_set(d, key, &v, sizeof v));
  }
  size_t len = 0;
  TH_CK_OK(tubo_dict_len(d, &len));
  ck_assert_msg(len == (size_t)n, "len: expected %ld, got %zu", n, len);
  for (long i = 0; i < n; i++) {
    snprintf(key, sizeof key, "key:%ld", i);
    long v = -1;
    TH_CK_OK(tubo_dict_get(d, key, &v, sizeof v, NULL));
    ck_assert_msg(v == i * 3, "%s: expected %ld, got %ld", key, i * 3, v);
  }
  char **keys = NULL;
  TH_CK_OK(tubo_dict_keys(d, &keys, &len));
  snprintf(key, sizeof key, "key:%ld", n - 1);
  ck_assert_msg(len == (size_t)n && strcmp(keys[0], "key:0") == 0 && strcmp(keys[n - 1], key) == 0,
                "keys: expected %ld in insertion order, key:0 to %s", n, key);
  free(keys);
  for (long i = 0; i < n; i += 2) {
    snprintf(key, sizeof key, "key:%ld", i);
    TH_CK_OK(tubo_dict_del(d, key));
  }
  TH_CK_OK(tubo_dict_len(d, &len));
  ck_assert_msg(len == (size_t)n / 2, "len after deleting half: expected %ld, got %zu", n / 2, len);
  TH_CK_OK(tubo_dict_clear(d));
  ck_assert_msg(heap_blocks() == 2, "blocks after clear: expected 2 (header, table), got %llu",
                (unsigned long long)heap_blocks());
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* A heap that fills: TUBO_ESHM, the dict whole, and memory reused once freed. */
START_TEST(test_heap_full)
{
  ck_assert_msg(setenv("TUBO_PROCESS_HEAP_BYTES", "2m", 1) == 0, "setenv: expected 0");
  tubo_dict_t *d = new_dict();
  unsigned char val[4000];
  char key[32];
  int rc = 0;
  long k = 0;
  for (; k < 100000; k++) {
    snprintf(key, sizeof key, "k%ld", k);
    value_fill(val, sizeof val, (uint32_t)k);
    if ((rc = tubo_dict_set(d, key, val, sizeof val)) != 0)
      break;
  }
  ck_assert_msg(rc == TUBO_ESHM, "set into a full heap: expected TUBO_ESHM, got %s",
                tubo_err_name(rc));
  ck_assert_msg(k > 100, "keys before the heap filled: expected more than 100, got %ld", k);
  size_t n = 0;
  TH_CK_OK(tubo_dict_len(d, &n));
  ck_assert_msg(n == (size_t)k, "len of a full dict: expected %ld, got %zu", k, n);
  for (long i = 0; i < k; i++) {
    snprintf(key, sizeof key, "k%ld", i);
    size_t len = 0;
    TH_CK_OK(tubo_dict_get(d, key, val, sizeof val, &len));
    ck_assert_msg(len == sizeof val && value_ok(val, len, (uint32_t)i), "%s: expected its value",
                  key);
  }
  snprintf(key, sizeof key, "k%ld", k);
  TH_CK_RC(tubo_dict_get(d, key, val, sizeof val, NULL), TUBO_ENOKEY);
  for (long i = 0; i < k / 2; i++) {
    snprintf(key, sizeof key, "k%ld", i);
    TH_CK_OK(tubo_dict_del(d, key));
  }
  for (long i = 0; i < k / 4; i++) {
    snprintf(key, sizeof key, "n%ld", i);
    TH_CK_OK(tubo_dict_set(d, key, val, sizeof val));
  }
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* Shared memory overwritten: TUBO_ECORRUPT, no crash; put back, the dict works. */
START_TEST(test_corrupt)
{
  tubo_dict_t *d = new_dict();
  TH_CK_OK(tubo_dict_set(d, "a", "1", 1));
  TH_CK_OK(tubo_dict_set(d, "b", "2", 1));
  dict_head_t *sh = d->core.sh;
  _Atomic uint64_t *tident = tubo__objheap_at(&d->core.mem, atomic_load(&sh->table), 8);
  uint64_t saved = atomic_load(tident);
  atomic_store(tident, 0x1234);
  char buf[4];
  TH_CK_RC(tubo_dict_get(d, "a", buf, sizeof buf, NULL), TUBO_ECORRUPT);
  TH_CK_RC(tubo_dict_set(d, "c", "3", 1), TUBO_ECORRUPT);
  TH_CK_RC(tubo_dict_del(d, "a"), TUBO_ECORRUPT);
  char **keys = NULL;
  size_t n = 0;
  TH_CK_RC(tubo_dict_keys(d, &keys, &n), TUBO_ECORRUPT);
  atomic_store(tident, saved);
  TH_CK_OK(tubo_dict_get(d, "a", buf, sizeof buf, NULL));
  /* An entry overwritten: its key is corrupt, the others fine. */
  uint32_t log2 = atomic_load(&((dict_table_t *)tident)->log2);
  dict_table_t *t = (dict_table_t *)tident;
  for (uint64_t i = 0; i < (uint64_t)1 << log2; i++) {
    uint64_t w = atomic_load(&t->slot[i]);
    if (!dict_slot_entry(w))
      continue;
    dict_entry_t *e = tubo__objheap_at(&d->core.mem, dict_slot_off(w), sizeof *e);
    if (e->key[0] == 'b')
      atomic_store(&e->ident, 99);
  }
  TH_CK_RC(tubo_dict_get(d, "b", buf, sizeof buf, NULL), TUBO_ECORRUPT);
  atomic_store(&sh->ident, 7);
  TH_CK_RC(tubo_dict_get(d, "a", buf, sizeof buf, NULL), TUBO_ECORRUPT);
  TH_CK_OK(tubo_dict_free(d)); /* a corrupt header is left alone */
}
END_TEST

/* The log2 of the slots of d's current table. */
static uint32_t table_log2(tubo_dict_t *d)
{
  dict_head_t *sh = d->core.sh;
  dict_table_t *t = tubo__objheap_at(&d->core.mem, atomic_load(&sh->table), sizeof *t);
  ck_assert_msg(t != NULL, "table: expected a block in the heap, got offset %llu",
                (unsigned long long)atomic_load(&sh->table));
  return atomic_load(&t->log2);
}

/* A growing dict goes through few tables (every process pays for each page of each table
 * it touches): 1024 slots, 8192, 65536, then twofold; each grows at three quarters full,
 * or a little before where an insert probed far. */
START_TEST(test_table_ladder)
{
  tubo_dict_t *d = new_dict();
  static const uint32_t want[] = {10, 13, 16, 17, 18};
  static const long grows_at[] = {768, 6144, 49152, 98304};
  size_t seen = 0;
  uint32_t sizes[8];
  sizes[seen++] = table_log2(d);
  char key[32];
  for (long i = 0; i < 100000; i++) {
    snprintf(key, sizeof key, "t%ld", i);
    TH_CK_OK(tubo_dict_set(d, key, &i, sizeof i));
    uint32_t l = table_log2(d);
    if (l != sizes[seen - 1]) {
      ck_assert_msg(seen < 5, "after %ld keys: expected no table past 2^18 slots, got 2^%u", i + 1,
                    l);
      /* At three quarters full, or earlier where one insert probed too far: past 5/8. */
      ck_assert_msg(i + 1 > grows_at[seen - 1] * 5 / 6 && i + 1 <= grows_at[seen - 1] + 1,
                    "table of 2^%u slots: expected it to grow past 5/8 full, at key %ld at the "
                    "latest, grew at key %ld",
                    sizes[seen - 1], grows_at[seen - 1] + 1, i + 1);
      sizes[seen++] = l;
    }
  }
  ck_assert_msg(seen == 5, "tables: expected 5 sizes, got %zu", seen);
  for (size_t k = 0; k < seen; k++)
    ck_assert_msg(sizes[k] == want[k], "table %zu: expected 2^%u slots, got 2^%u", k, want[k],
                  sizes[k]);
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* ---- Processes ---- */

#define MANY_PROCS  4
#define MANY_ROUNDS 3000
#define MANY_OWN    64
#define MANY_CTRS   8

/* What process p's own keys hold after its rounds: for each slot, the round that last set
 * it, or -1 when deleted. The same function the children follow. */
static void many_model(int p, int *last)
{
  for (int s = 0; s < MANY_OWN; s++)
    last[s] = -1;
  for (int r = 0; r < MANY_ROUNDS; r++) {
    int s = (r * 7 + p) % MANY_OWN;
    if (r % 5 == 4)
      last[(s + 13) % MANY_OWN] = -1;
    else
      last[s] = r;
  }
}

static size_t many_len(int r)
{
  return (size_t)(r * 37) % 300;
}

static int many_child(tubo_dict_t *d, int p)
{
  unsigned char val[300];
  char key[32];
  for (int r = 0; r < MANY_ROUNDS; r++) {
    snprintf(key, sizeof key, "ctr/%d", r % MANY_CTRS);
    if (tubo_dict_update(d, key, add_one, NULL) != 0)
      return 2;
    int s = (r * 7 + p) % MANY_OWN;
    if (r % 5 == 4) {
      snprintf(key, sizeof key, "own/%d/%d", p, (s + 13) % MANY_OWN);
      int rc = tubo_dict_del(d, key);
      if (rc != 0 && rc != TUBO_ENOKEY)
        return 3;
    } else {
      snprintf(key, sizeof key, "own/%d/%d", p, s);
      value_fill(val, many_len(r), (uint32_t)(p * 100000 + r));
      if (tubo_dict_set(d, key, val, many_len(r)) != 0)
        return 4;
    }
  }
  return 0;
}

START_TEST(test_many_processes)
{
  tubo_dict_t *d = new_dict();
  pid_t kids[MANY_PROCS];
  for (int p = 0; p < MANY_PROCS; p++)
    if ((kids[p] = th_child_fork()) == 0)
      _exit(many_child(d, p));
  for (int p = 0; p < MANY_PROCS; p++) {
    int code = th_child_wait(kids[p]);
    ck_assert_msg(code == 0, "writer %d: expected exit code 0, got %d", p, code);
  }
  char key[32];
  long total = 0;
  for (int c = 0; c < MANY_CTRS; c++) {
    snprintf(key, sizeof key, "ctr/%d", c);
    total += get_long(d, key);
  }
  ck_assert_msg(total == (long)MANY_PROCS * MANY_ROUNDS,
                "sum of the shared counters: expected %d (no update lost), got %ld",
                MANY_PROCS * MANY_ROUNDS, total);
  size_t present = 0;
  unsigned char val[300];
  for (int p = 0; p < MANY_PROCS; p++) {
    int last[MANY_OWN];
    many_model(p, last);
    for (int s = 0; s < MANY_OWN; s++) {
      snprintf(key, sizeof key, "own/%d/%d", p, s);
      size_t len = 0;
      int rc = tubo_dict_get(d, key, val, sizeof val, &len);
      if (last[s] < 0) {
        ck_assert_msg(rc == TUBO_ENOKEY, "%s: expected deleted, got %s", key, tubo_err_name(rc));
        continue;
      }
      present++;
      ck_assert_msg(rc == 0 && len == many_len(last[s]) &&
                        value_ok(val, len, (uint32_t)(p * 100000 + last[s])),
                    "%s: expected the value of round %d (%zu bytes), got %s, %zu bytes", key,
                    last[s], many_len(last[s]), tubo_err_name(rc), len);
    }
  }
  size_t n = 0;
  TH_CK_OK(tubo_dict_len(d, &n));
  ck_assert_msg(n == present + MANY_CTRS, "len: expected %zu, got %zu", present + MANY_CTRS, n);
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* Processes inserting keys of their own at once, through every resize from 1024 slots to
 * 262144 (the twofold steps from 65536 included): every key is found with its value, the
 * length is exact, each process's keys come in its own insertion order, and the heap
 * holds the dict's blocks and nothing more. */
#define GROW_PROCS 4
#define GROW_KEYS  40000

static int grow_child(tubo_dict_t *d, int p)
{
  char key[32];
  for (long i = 0; i < GROW_KEYS; i++) {
    long v = p * 1000000L + i;
    snprintf(key, sizeof key, "g/%d/%ld", p, i);
    if (tubo_dict_set(d, key, &v, sizeof v) != 0)
      return 1;
  }
  return 0;
}

START_TEST(test_many_processes_grow)
{
  tubo_dict_t *d = new_dict();
  pid_t kids[GROW_PROCS];
  for (int p = 0; p < GROW_PROCS; p++)
    if ((kids[p] = th_child_fork()) == 0)
      _exit(grow_child(d, p));
  for (int p = 0; p < GROW_PROCS; p++) {
    int code = th_child_wait(kids[p]);
    ck_assert_msg(code == 0, "inserter %d: expected exit code 0, got %d", p, code);
  }
  char key[32];
  for (int p = 0; p < GROW_PROCS; p++)
    for (long i = 0; i < GROW_KEYS; i++) {
      long v = -1;
      snprintf(key, sizeof key, "g/%d/%ld", p, i);
      int rc = tubo_dict_get(d, key, &v, sizeof v, NULL);
      ck_assert_msg(rc == 0 && v == p * 1000000L + i, "%s: expected %ld, got %s, %ld", key,
                    p * 1000000L + i, tubo_err_name(rc), v);
    }
  size_t n = 0;
  TH_CK_OK(tubo_dict_len(d, &n));
  ck_assert_msg(n == (size_t)GROW_PROCS * GROW_KEYS, "len: expected %d, got %zu",
                GROW_PROCS * GROW_KEYS, n);
  char **keys = NULL;
  TH_CK_OK(tubo_dict_keys(d, &keys, &n));
  long next[GROW_PROCS] = {0};
  for (size_t k = 0; k < n; k++) {
    int p = -1;
    long i = -1;
    ck_assert_msg(sscanf(keys[k], "g/%d/%ld", &p, &i) == 2 && p >= 0 && p < GROW_PROCS,
                  "keys[%zu]: expected g/<process>/<i>, got %s", k, keys[k]);
    ck_assert_msg(i == next[p], "keys[%zu]: expected g/%d/%ld next in insertion order, got %s", k,
                  p, next[p], keys[k]);
    next[p]++;
  }
  free(keys);
  ck_assert_msg(heap_blocks() == 2 + (uint64_t)GROW_PROCS * GROW_KEYS,
                "heap blocks: expected %d (header, table, entries), got %llu",
                2 + GROW_PROCS * GROW_KEYS, (unsigned long long)heap_blocks());
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* A writer rewrites one key with values of changing lengths; readers in other processes
 * check that each value they read is whole: the length and bytes of one write. */
#define WHOLE_WRITES 20000

static size_t whole_len(uint32_t i)
{
  return 4 + (size_t)(i * 7919u) % 6000;
}

static int whole_reader(tubo_dict_t *d)
{
  unsigned char *buf = malloc(8192);
  long reads = 0;
  for (;;) {
    size_t len = 0;
    int rc = tubo_dict_get(d, "v", buf, 8192, &len);
    if (rc != 0)
      return 2;
    uint32_t seed;
    memcpy(&seed, buf, 4);
    if (len != whole_len(seed) || !value_ok(buf, len, seed))
      return 3; /* half of one write and half of another */
    reads++;
    if (seed == WHOLE_WRITES - 1)
      break;
  }
  free(buf);
  return reads > 0 ? 0 : 4;
}

START_TEST(test_readers_see_whole_values)
{
  tubo_dict_t *d = new_dict();
  unsigned char buf[8192];
  value_fill(buf, whole_len(0), 0);
  TH_CK_OK(tubo_dict_set(d, "v", buf, whole_len(0)));
  pid_t r[2];
  for (int i = 0; i < 2; i++)
    if ((r[i] = th_child_fork()) == 0)
      _exit(whole_reader(d));
  for (uint32_t i = 1; i < WHOLE_WRITES; i++) {
    value_fill(buf, whole_len(i), i);
    TH_CK_OK(tubo_dict_set(d, "v", buf, whole_len(i)));
    if (i % 64 == 0) {
      /* Other keys of the same stripes change too (and the table grows). */
      char key[32];
      snprintf(key, sizeof key, "other%u", i);
      TH_CK_OK(tubo_dict_set(d, key, buf, 8));
    }
  }
  for (int i = 0; i < 2; i++) {
    int code = th_child_wait(r[i]);
    ck_assert_msg(code == 0, "reader %d: expected exit code 0 (every value whole), got %d", i,
                  code);
  }
  TH_CK_OK(tubo_dict_free(d));
}
END_TEST

/* ---- A process killed holding a lock ---- */

static enum tubo__dict_step kill_at;
static int kill_after; /* occurrences of the step to let pass first */

static void kill_hook(enum tubo__dict_step step)
{
  if (step == kill_at && kill_after-- == 0)
    kill(getpid(), SIGKILL);
}

/* Runs op in a child that SIGKILLs itself at step (its skip-th occurrence); the child must
 * die there. */
static void kill_during(tubo_dict_t *d, enum tubo__dict_step step, int skip,
                        void (*op)(tubo_dict_t *d))
{
  pid_t pid = th_child_fork();
  if (pid == 0) {
    kill_at = step;
    kill_after = skip;
    tubo__dict_step_hook = kill_hook;
    op(d);
    _exit(0);
  }
  int code = th_child_wait(pid);
  ck_assert_msg(code == -SIGKILL, "child killed at step %d: expected SIGKILL, got %d", step, code);
}

static void op_insert(tubo_dict_t *d)
{
  tubo_dict_set(d, "new", "N", 1);
}

static void op_replace(tubo_dict_t *d)
{
  tubo_dict_set(d, "k5", "R", 1);
}

static void op_delete(tubo_dict_t *d)
{
  tubo_dict_del(d, "k5");
}

static void op_update(tubo_dict_t *d)
{
  tubo_dict_update(d, "ctr", add_one, NULL);
}

/* A dict of keys k0..k(n-1), "k<i>" holding i, and a counter of 5. */
static tubo_dict_t *kill_dict(int n)
{
  tubo_dict_t *d = new_dict();
  char key[32];
  for (long i = 0; i < n; i++) {
    snprintf(key, sizeof key, "k%ld", i);
    TH_CK_OK(tubo_dict_set(d, key, &i, sizeof i));
  }
  long five = 5;
  TH_CK_OK(tubo_dict_set(d, "ctr", &five, sizeof five));
  return d;
}

/* After the kill: the keys other than skip hold their values, the dict's counts agree
 * with what it holds, and the heap holds exactly its blocks (header, table, entries). */
static void kill_check(tubo_dict_t *d, int n, const char *what)
{
  char key[32];
  size_t len = 0, found = 0;
  for (long i = 0; i < n; i++) {
    snprintf(key, sizeof key, "k%ld", i);
    long v = -1;
    int rc = tubo_dict_get(d, key, &v, sizeof v, &len);
    if (rc == TUBO_ENOKEY && i == 5)
      continue;
    ck_assert_msg(rc == 0, "%s: %s: expected 0, got %s", what, key, tubo_err_name(rc));
    found++;
    if (i != 5 || len == sizeof v)
      ck_assert_msg(v == i || (i == 5 && len == 1), "%s: %s: expected %ld, got %ld", what, key, i,
                    v);
  }
  int have_new = 0, have_ctr = 0;
  TH_CK_OK(tubo_dict_contains(d, "new", &have_new));
  TH_CK_OK(tubo_dict_contains(d, "ctr", &have_ctr));
  size_t count = 0;
  TH_CK_OK(tubo_dict_len(d, &count));
  ck_assert_msg(count == found + (size_t)have_new + (size_t)have_ctr,
                "%s: len: expected %zu, got %zu", what, found + (size_t)have_new + (size_t)have_ctr,
                count);
  uint64_t blocks = heap_blocks();
  ck_assert_msg(blocks == 2 + count, "%s: heap blocks: expected %zu (no leak), got %llu", what,
                2 + count, (unsigned long long)blocks);
}

START_TEST(test_killed_writers)
{
  static const struct {
    void (*op)(tubo_dict_t *);
    const char *name;
  } ops[] = {
      {op_insert, "insert"}, {op_replace, "replace"}, {op_delete, "delete"}, {op_update, "update"}};
  for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
    for (int step = TUBO__DICT_S_LOCKED; step <= TUBO__DICT_S_COUNTED; step++) {
      tubo_dict_t *d = kill_dict(20);
      kill_during(d, (enum tubo__dict_step)step, 0, ops[o].op);
      char what[64];
      snprintf(what, sizeof what, "%s killed at step %d", ops[o].name, step);
      /* The next writer of the key takes the dead writer's lock over and repairs. */
      ops[o].op(d);
      long ctr = get_long(d, "ctr");
      ck_assert_msg(ctr >= 5 && ctr <= 7, "%s: ctr: expected 5 to 7, got %ld", what, ctr);
      kill_check(d, 20, what);
      TH_CK_OK(tubo_dict_free(d));
      ck_assert_msg(heap_blocks() == 0, "%s: blocks after free: expected 0, got %llu", what,
                    (unsigned long long)heap_blocks());
    }
}
END_TEST

static void op_grow(tubo_dict_t *d)
{
  char key[32];
  for (long i = 20; i < 5000; i++) {
    snprintf(key, sizeof key, "k%ld", i);
    tubo_dict_set(d, key, &i, sizeof i);
  }
}

static void op_clear(tubo_dict_t *d)
{
  tubo_dict_clear(d);
}

START_TEST(test_killed_resizer)
{
  for (int step = TUBO__DICT_S_RS_MADE; step <= TUBO__DICT_S_RS_SWAPPED; step++) {
    tubo_dict_t *d = kill_dict(20);
    kill_during(d, (enum tubo__dict_step)step, 0, op_grow);
    /* The keys the child set before it died are k0..k(m-1). */
    long m = 20;
    char key[32];
    for (;; m++) {
      int found = 0;
      snprintf(key, sizeof key, "k%ld", m);
      TH_CK_OK(tubo_dict_contains(d, key, &found));
      if (!found)
        break;
    }
    ck_assert_msg(m > 20 && m < 5000, "resize killed at step %d: expected some keys, got %ld", step,
                  m);
    kill_check(d, (int)m,
               step == TUBO__DICT_S_RS_MADE ? "resize killed before its swap"
                                            : "resize killed after its swap");
    op_grow(d); /* grows on, past the dead resize */
    kill_check(d, 5000, "growth after a dead resize");
    TH_CK_OK(tubo_dict_free(d));

    d = kill_dict(20);
    kill_during(d, (enum tubo__dict_step)step, 0, op_clear);
    size_t n = 99;
    TH_CK_OK(tubo_dict_len(d, &n));
    if (step == TUBO__DICT_S_RS_MADE)
      kill_check(d, 20, "clear killed before its swap");
    else
      ck_assert_msg(n == 0 && heap_blocks() == 2,
                    "clear killed after its swap: expected len 0 and 2 blocks, got %zu and %llu", n,
                    (unsigned long long)heap_blocks());
    TH_CK_OK(tubo_dict_set(d, "k0", "x", 1));
    TH_CK_OK(tubo_dict_free(d));
  }
}
END_TEST

/* ---- Namespace ---- */

START_TEST(test_namespace)
{
  tubo_ns_t *ns = NULL;
  TH_CK_OK(tubo_ns_create(&ns));
  long x = 0, r = 0;
  double y = 0, z = 0;
  char s[8];
  TH_CK_RC(tubo_ns_get_long(ns, "x", &x), TUBO_ENOKEY);
  TH_CK_OK(tubo_ns_set_long(ns, "x", 1));
  TH_CK_OK(tubo_ns_set_double(ns, "y", 2.5));
  TH_CK_OK(tubo_ns_set_str(ns, "name", "tubo!"));
  TH_CK_OK(tubo_ns_get_long(ns, "x", &x));
  ck_assert_msg(x == 1, "ns.x: expected 1, got %ld", x);
  TH_CK_OK(tubo_ns_get_double(ns, "y", &y));
  ck_assert_msg(y == 2.5, "ns.y: expected 2.5, got %g", y);
  TH_CK_RC(tubo_ns_get_long(ns, "y", &x), TUBO_ETYPE);
  TH_CK_RC(tubo_ns_get_double(ns, "x", &y), TUBO_ETYPE);
  TH_CK_RC(tubo_ns_get_long(ns, "name", &x), TUBO_ETYPE);
  TH_CK_OK(tubo_ns_get_str(ns, "name", s, sizeof s));
  ck_assert_msg(strcmp(s, "tubo!") == 0, "ns.name: expected tubo!, got %s", s);
  TH_CK_RC(tubo_ns_get_str(ns, "name", s, 3), TUBO_ETRUNC);
  ck_assert_msg(strcmp(s, "tu") == 0, "truncated ns.name: expected tu, got %s", s);
  TH_CK_RC(tubo_ns_get_str(ns, "x", s, sizeof s), TUBO_ETYPE);
  TH_CK_OK(tubo_ns_add_long(ns, "x", 5, &r));
  ck_assert_msg(r == 6, "ns.x += 5: expected 6, got %ld", r);
  TH_CK_OK(tubo_ns_add_double(ns, "y", 0.25, &z));
  ck_assert_msg(z == 2.75, "ns.y += 0.25: expected 2.75, got %g", z);
  TH_CK_RC(tubo_ns_add_long(ns, "y", 1, NULL), TUBO_ETYPE);
  TH_CK_RC(tubo_ns_add_long(ns, "nope", 1, NULL), TUBO_ENOKEY);
  char **names = NULL;
  size_t n = 0;
  TH_CK_OK(tubo_ns_names(ns, &names, &n));
  ck_assert_msg(n == 3 && strcmp(names[0], "x") == 0 && strcmp(names[1], "y") == 0 &&
                    strcmp(names[2], "name") == 0,
                "names: expected x, y, name");
  free(names);
  TH_CK_OK(tubo_ns_del(ns, "x"));
  TH_CK_RC(tubo_ns_del(ns, "x"), TUBO_ENOKEY);
  TH_CK_OK(tubo_ns_free(ns));
}
END_TEST

static int ns_adder(tubo_ns_t *ns)
{
  for (int i = 0; i < 2000; i++)
    if (tubo_ns_add_long(ns, "n", 1, NULL) != 0 || tubo_ns_add_double(ns, "d", 0.5, NULL) != 0)
      return 2;
  return 0;
}

START_TEST(test_namespace_processes)
{
  tubo_ns_t *ns = NULL;
  TH_CK_OK(tubo_ns_create(&ns));
  TH_CK_OK(tubo_ns_set_long(ns, "n", 0));
  TH_CK_OK(tubo_ns_set_double(ns, "d", 0));
  pid_t kids[3];
  for (int i = 0; i < 3; i++)
    if ((kids[i] = th_child_fork()) == 0)
      _exit(ns_adder(ns));
  for (int i = 0; i < 3; i++) {
    int code = th_child_wait(kids[i]);
    ck_assert_msg(code == 0, "adder %d: expected exit code 0, got %d", i, code);
  }
  long n = 0;
  double d = 0;
  TH_CK_OK(tubo_ns_get_long(ns, "n", &n));
  TH_CK_OK(tubo_ns_get_double(ns, "d", &d));
  ck_assert_msg(n == 6000 && d == 3000.0,
                "after 3 x 2000 additions: expected 6000 and 3000, got %ld and %g", n, d);
  TH_CK_OK(tubo_ns_free(ns));
}
END_TEST

/* ---- Ranks ---- */

#define RANK_ROUNDS 300

static void body_open(void)
{
  tubo_dict_t *d = NULL;
  TH_OK(tubo_dict_open(th_world, &d));
  char key[32];
  unsigned char val[200];
  for (int r = 0; r < RANK_ROUNDS; r++) {
    TH_OK(tubo_dict_update(d, "ctr", add_one, NULL));
    snprintf(key, sizeof key, "rank/%d/%d", th_rank, r % 10);
    value_fill(val, (size_t)(r % 200), (uint32_t)(th_rank * 1000 + r));
    TH_OK(tubo_dict_set(d, key, val, (size_t)(r % 200)));
  }
  TH_OK(tubo_barrier(th_world));
  long ctr = 0;
  TH_OK(tubo_dict_get(d, "ctr", &ctr, sizeof ctr, NULL));
  TH_EQ("counter updated by every rank", ctr, (long)th_size * RANK_ROUNDS);
  for (int q = 0; q < th_size; q++)
    for (int s = 0; s < 10; s++) {
      int r = RANK_ROUNDS - 10 + s;
      size_t len = 0;
      snprintf(key, sizeof key, "rank/%d/%d", q, r % 10);
      TH_OK(tubo_dict_get(d, key, val, sizeof val, &len));
      TH_EQ("length of another rank's value", len, r % 200);
      TH_CHECK(value_ok(val, len, (uint32_t)(q * 1000 + r)), "%s: expected rank %d's last value",
               key, q);
    }
  char **keys = NULL;
  size_t n = 0;
  TH_OK(tubo_dict_keys(d, &keys, &n));
  TH_EQ("keys", n, 1 + 10 * th_size);
  TH_CHECK(strcmp(keys[0], "ctr") == 0, "first key: expected ctr, got %s", keys[0]);
  free(keys);
  TH_EXPECT_RC(tubo_dict_get(d, "missing", val, sizeof val, NULL), TUBO_ENOKEY);
  TH_OK(tubo_barrier(th_world));
  if (th_rank == 0)
    TH_OK(tubo_dict_clear(d));
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_dict_len(d, &n));
  TH_EQ("len after rank 0 cleared", n, 0);
  TH_OK(tubo_barrier(th_world));
  /* A value larger than any buffer the served path starts with. */
  if (th_rank == th_size - 1) {
    unsigned char *big = malloc(300000);
    value_fill(big, 300000, 77);
    TH_OK(tubo_dict_set(d, "big", big, 300000));
    free(big);
  }
  TH_OK(tubo_barrier(th_world));
  void *p = NULL;
  size_t len = 0;
  TH_OK(tubo_dict_get_alloc(d, "big", &p, &len));
  TH_CHECK(len == 300000 && value_ok(p, len, 77), "big: expected 300000 bytes of its value");
  free(p);
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_dict_free(d));
}

static void body_open_ns(void)
{
  tubo_ns_t *ns = NULL;
  TH_OK(tubo_ns_open(th_world, &ns));
  if (th_rank == 0)
    TH_OK(tubo_ns_set_long(ns, "x", 1));
  TH_OK(tubo_barrier(th_world));
  for (int i = 0; i < 100; i++)
    TH_OK(tubo_ns_add_long(ns, "x", 1, NULL));
  TH_OK(tubo_barrier(th_world));
  long x = 0;
  TH_OK(tubo_ns_get_long(ns, "x", &x));
  TH_EQ("ns.x after every rank added 100", x, 1 + 100 * th_size);
  TH_OK(tubo_barrier(th_world));
  TH_OK(tubo_ns_free(ns));
}

static const th_body_t bodies[] = {
    {"open", body_open, 0},
    {"open_ns", body_open_ns, 0},
    {NULL, NULL, 0},
};

static Suite *dict_suite(void)
{
  Suite *s = suite_create("dict");
  TCase *tc = th_tcase("one process");
  tcase_add_test(tc, test_calls);
  tcase_add_test(tc, test_update);
  tcase_add_test(tc, test_value_sizes);
  tcase_add_test(tc, test_million_keys);
  tcase_add_test(tc, test_heap_full);
  tcase_add_test(tc, test_corrupt);
  tcase_add_test(tc, test_table_ladder);
  tcase_add_test(tc, test_namespace);
  suite_add_tcase(s, tc);

  tc = th_tcase("processes");
  tcase_add_test(tc, test_many_processes);
  tcase_add_test(tc, test_many_processes_grow);
  tcase_add_test(tc, test_readers_see_whole_values);
  tcase_add_test(tc, test_killed_writers);
  tcase_add_test(tc, test_killed_resizer);
  tcase_add_test(tc, test_namespace_processes);
  suite_add_tcase(s, tc);

  TCase *open = th_add_case(s, "open", 3, TH_BOTH | TH_SOLO);
  th_add_job(open, "open", 1, TH_SHM);
  th_add_case(s, "open_ns", 3, TH_BOTH | TH_SOLO);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, dict_suite);
}
