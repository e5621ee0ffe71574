/* SPDX-License-Identifier: MIT */
/* Placement (tools/placement.h) on real machines: the hwloc XML exports in tests/topologies/.
 *
 * Processor numbers below are the operating system's (P#), as the XML files give them;
 * core and package numbers in descriptions are hwloc's logical ones (L#), as lstopo shows. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "tubo.h"

#ifndef TOPO_DIR
#define TOPO_DIR "tests/topologies"
#endif

static tubo__topo_t *topo_of(const char *file)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", TOPO_DIR, file);
  tubo__topo_t *t = NULL;
  int rc = tubo__topo_load_xml(path, &t);
  ck_assert_msg(rc == 0 && t != NULL, "expected %s to load, got %d", path, rc);
  return t;
}

static tubo__placement_t *place(tubo__topo_t *t, tubo__place_level_t map, tubo__place_level_t bind,
                                int n)
{
  tubo__placement_t *p = NULL;
  int rc = tubo__place_compute(t, map, bind, n, &p);
  ck_assert_msg(rc == 0 && p != NULL, "expected placing %d ranks (map %s, bind %s) to work, got %d",
                n, tubo__place_level_name(map), tubo__place_level_name(bind), rc);
  ck_assert_msg(p->nranks == n, "expected %d ranks placed, got %d", n, p->nranks);
  return p;
}

/* The processors of rank r's binding as a list ("0,8"), or "unbound". */
static char *cpus_of(const tubo__placement_t *p, int r)
{
  char *s = NULL;
  if (p->rank[r].cpuset == NULL)
    return strdup("unbound");
  ck_assert_msg(hwloc_bitmap_list_asprintf(&s, p->rank[r].cpuset) >= 0, "expected a cpu list");
  return s;
}

static void expect_rank(const tubo__placement_t *p, int r, const char *cpus, const char *where)
{
  char *got = cpus_of(p, r);
  ck_assert_msg(strcmp(got, cpus) == 0, "expected rank %d bound to cpus %s, got %s", r, cpus, got);
  free(got);
  if (where != NULL)
    ck_assert_msg(p->rank[r].where != NULL && strcmp(p->rank[r].where, where) == 0,
                  "expected rank %d described as '%s', got '%s'", r, where,
                  p->rank[r].where ? p->rank[r].where : "(none)");
}

/* 16em64t-4s2c2t: 4 packages of 2 cores of 2 hardware threads; core L#k's processors. */
static const char *const em16_core[8] = {"0,8",  "4,12", "1,9",  "5,13",
                                         "2,10", "6,14", "3,11", "7,15"};
static const char *const em16_pkg[4] = {"0,4,8,12", "1,5,9,13", "2,6,10,14", "3,7,11,15"};

START_TEST(core_by_core_lands_on_distinct_cores_in_order)
{
  tubo__topo_t *t = topo_of("16em64t-4s2c2t.xml");
  tubo__placement_t *p = place(t, TUBO__PL_CORE, TUBO__PL_CORE, 8);
  ck_assert_msg(!p->oversubscribed && p->nslots == 8,
                "expected 8 ranks to fit the 8 cores, got nslots %d oversubscribed %d", p->nslots,
                p->oversubscribed);
  char where[64];
  for (int r = 0; r < 8; r++) {
    snprintf(where, sizeof where, "package[%d][core:%d]", r / 2, r);
    expect_rank(p, r, em16_core[r], where);
    ck_assert_msg(p->rank[r].unit == r, "expected rank %d on core %d, got %d", r, r,
                  p->rank[r].unit);
    for (int q = 0; q < r; q++)
      ck_assert_msg(!hwloc_bitmap_intersects(p->rank[q].cpuset, p->rank[r].cpuset),
                    "expected ranks %d and %d on distinct cores", q, r);
  }
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(package_mapping_spreads_round_robin)
{
  tubo__topo_t *t = topo_of("16em64t-4s2c2t.xml");
  tubo__placement_t *p = place(t, TUBO__PL_PACKAGE, TUBO__PL_PACKAGE, 8);
  char where[64];
  for (int r = 0; r < 8; r++) {
    snprintf(where, sizeof where, "package[%d][core:%d-%d]", r % 4, 2 * (r % 4), 2 * (r % 4) + 1);
    expect_rank(p, r, em16_pkg[r % 4], where);
  }
  tubo__placement_free(p);
  /* Bound to cores, ranks still go round the packages: cores 0, 2, 4, 6, then 1, 3, 5, 7. */
  p = place(t, TUBO__PL_PACKAGE, TUBO__PL_CORE, 8);
  static const int core[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  for (int r = 0; r < 8; r++) {
    ck_assert_msg(p->rank[r].unit == core[r], "expected rank %d on core %d, got %d", r, core[r],
                  p->rank[r].unit);
    expect_rank(p, r, em16_core[core[r]], NULL);
  }
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(hwthread_binding_names_hardware_threads)
{
  tubo__topo_t *t = topo_of("16em64t-4s2c2t.xml");
  tubo__placement_t *p = place(t, TUBO__PL_HWTHREAD, TUBO__PL_HWTHREAD, 3);
  ck_assert_msg(p->nslots == 16, "expected 16 hardware threads as slots, got %d", p->nslots);
  expect_rank(p, 0, "0", "package[0][hwt:0]");
  expect_rank(p, 1, "8", "package[0][hwt:1]");
  expect_rank(p, 2, "4", "package[0][hwt:2]");
  tubo__placement_free(p);
  /* Mapped by hwthread, bound to core: both threads of a core are its binding. */
  p = place(t, TUBO__PL_HWTHREAD, TUBO__PL_CORE, 3);
  expect_rank(p, 0, "0,8", "package[0][core:0]");
  expect_rank(p, 1, "0,8", "package[0][core:0]");
  expect_rank(p, 2, "4,12", "package[0][core:1]");
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(l3_and_numa_bindings)
{
  /* 16em64t: one L3 per package, one NUMA node for the whole machine. */
  tubo__topo_t *t = topo_of("16em64t-4s2c2t.xml");
  tubo__placement_t *p = place(t, TUBO__PL_CORE, TUBO__PL_L3, 4);
  for (int r = 0; r < 4; r++)
    expect_rank(p, r, em16_pkg[r / 2], NULL);
  tubo__placement_free(p);
  p = place(t, TUBO__PL_CORE, TUBO__PL_NUMA, 3);
  /* One NUMA node holds every processor: bound to all of them is not bound. */
  for (int r = 0; r < 3; r++)
    expect_rank(p, r, "unbound", NULL);
  tubo__placement_free(p);
  tubo__topo_free(t);

  /* The fake KNL in SNC4 hybrid mode: each quarter has a DDR node and an MCDRAM node with
   * the same processors. Mapping by NUMA must count each quarter once. */
  t = topo_of("64intel64-fakeKNL-SNC4-hybrid.xml");
  p = place(t, TUBO__PL_NUMA, TUBO__PL_NUMA, 5);
  static const char *const quarter[4] = {"0-3,16-19,32-35,48-51", "4-7,20-23,36-39,52-55",
                                         "8-11,24-27,40-43,56-59", "12-15,28-31,44-47,60-63"};
  for (int r = 0; r < 5; r++)
    expect_rank(p, r, quarter[r % 4], NULL);
  ck_assert_msg(p->rank[4].unit == 1, "expected rank 4 on core 1 (quarter 0's second), got %d",
                p->rank[4].unit);
  tubo__placement_free(p);
  p = place(t, TUBO__PL_CORE, TUBO__PL_L3, 5);
  for (int r = 0; r < 5; r++)
    expect_rank(p, r, quarter[r / 4], NULL);
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(oversubscription_wraps_round_robin)
{
  tubo__topo_t *t = topo_of("16em64t-4s2c2t.xml");
  tubo__placement_t *p = place(t, TUBO__PL_DEFAULT, TUBO__PL_DEFAULT, 20);
  ck_assert_msg(p->oversubscribed && p->nslots == 8,
                "expected 20 ranks on 8 cores to be oversubscribed, got %d on %d",
                p->oversubscribed, p->nslots);
  ck_assert_msg(p->map_by == TUBO__PL_PACKAGE && p->bind_to == TUBO__PL_NONE,
                "expected map-by package, bind-to none when oversubscribed, got %s, %s",
                tubo__place_level_name(p->map_by), tubo__place_level_name(p->bind_to));
  for (int r = 0; r < 20; r++) {
    expect_rank(p, r, "unbound", NULL);
    ck_assert_msg(p->rank[r].unit == p->rank[r % 8].unit,
                  "expected rank %d on the core of rank %d (%d), got %d", r, r % 8,
                  p->rank[r % 8].unit, p->rank[r].unit);
  }
  tubo__placement_free(p);
  /* Asked to bind, oversubscribed ranks share cores: rank r binds where rank r mod 8 does. */
  p = place(t, TUBO__PL_CORE, TUBO__PL_CORE, 20);
  for (int r = 0; r < 20; r++)
    expect_rank(p, r, em16_core[r % 8], NULL);
  tubo__placement_free(p);
  /* Bound to hardware threads, the second pass takes each core's second thread. */
  p = place(t, TUBO__PL_CORE, TUBO__PL_HWTHREAD, 16);
  expect_rank(p, 0, "0", "package[0][hwt:0]");
  expect_rank(p, 8, "8", "package[0][hwt:1]");
  expect_rank(p, 15, "15", "package[3][hwt:15]");
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(restricted_allowed_cpuset_is_honoured)
{
  /* Allowed: 0, 1, 4, 7, 8, 12, 15 (see tests/topologies/README.md). */
  tubo__topo_t *t = topo_of("16em64t-4s2c2t-cpuset.xml");
  hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(tubo__topo_hwloc(t));
  char *s = NULL;
  hwloc_bitmap_list_asprintf(&s, allowed);
  ck_assert_msg(strcmp(s, "0-1,4,7-8,12,15") == 0, "expected allowed cpus 0-1,4,7-8,12,15, got %s",
                s);
  free(s);
  int cores = tubo__place_slots(t, TUBO__PL_CORE), pus = tubo__place_slots(t, TUBO__PL_HWTHREAD);
  ck_assert_msg(cores == 4 && pus == 7, "expected 4 cores and 7 threads allowed, got %d and %d",
                cores, pus);
  tubo__placement_t *p = place(t, TUBO__PL_PACKAGE, TUBO__PL_CORE, 4);
  expect_rank(p, 0, "0,8", "package[0][core:0]");
  expect_rank(p, 1, "1", "package[1][core:2]");
  expect_rank(p, 2, "7,15", "package[2][core:3]");
  expect_rank(p, 3, "4,12", "package[0][core:1]");
  tubo__placement_free(p);
  p = place(t, TUBO__PL_DEFAULT, TUBO__PL_DEFAULT, 3);
  expect_rank(p, 0, "0,4,8,12", "package[0][core:0-1]");
  expect_rank(p, 1, "1", "package[1][core:2]");
  expect_rank(p, 2, "7,15", "package[2][core:3]");
  tubo__placement_free(p);
  p = place(t, TUBO__PL_HWTHREAD, TUBO__PL_NUMA, 9);
  for (int r = 0; r < 9; r++) {
    ck_assert_msg(p->rank[r].cpuset == NULL,
                  "expected rank %d unbound: its NUMA node is the whole allowed set", r);
  }
  ck_assert_msg(p->oversubscribed, "expected 9 ranks on 7 threads to be oversubscribed");
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(offline_processors_are_never_used)
{
  /* 16amd64-8n2c-cpusets: processors 4, 7, 8-11 are offline; packages have 2, 2, 1, 1, 2, 2
   * cores. Mapping by package skips the full ones on the second pass. */
  tubo__topo_t *t = topo_of("16amd64-8n2c-cpusets.xml");
  hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(tubo__topo_hwloc(t));
  char *s = NULL;
  hwloc_bitmap_list_asprintf(&s, allowed);
  ck_assert_msg(strcmp(s, "0-3,5-6,12-15") == 0, "expected allowed cpus 0-3,5-6,12-15, got %s", s);
  free(s);
  tubo__placement_t *p = place(t, TUBO__PL_PACKAGE, TUBO__PL_CORE, 10);
  static const char *const cpus[10] = {"0", "2", "5", "6", "12", "14", "1", "3", "13", "15"};
  for (int r = 0; r < 10; r++)
    expect_rank(p, r, cpus[r], NULL);
  tubo__placement_free(p);
  /* Cores whose NUMA node is offline (packages 0, 4, 5) come last and bind to everything. */
  p = place(t, TUBO__PL_NUMA, TUBO__PL_NUMA, 4);
  expect_rank(p, 0, "2-3", NULL);
  expect_rank(p, 1, "5", NULL);
  expect_rank(p, 2, "6", NULL);
  expect_rank(p, 3, "unbound", NULL); /* its NUMA node is every allowed processor */
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(large_machine_with_384_threads)
{
  tubo__topo_t *t = topo_of("192em64t-24n8c2t.xml");
  ck_assert_msg(tubo__place_slots(t, TUBO__PL_CORE) == 192, "expected 192 cores, got %d",
                tubo__place_slots(t, TUBO__PL_CORE));
  tubo__placement_t *p = place(t, TUBO__PL_HWTHREAD, TUBO__PL_HWTHREAD, 384);
  hwloc_bitmap_t seen = hwloc_bitmap_alloc();
  for (int r = 0; r < 384; r++) {
    ck_assert_msg(hwloc_bitmap_weight(p->rank[r].cpuset) == 1,
                  "expected rank %d on one hardware thread, got %d", r,
                  hwloc_bitmap_weight(p->rank[r].cpuset));
    ck_assert_msg(!hwloc_bitmap_intersects(seen, p->rank[r].cpuset),
                  "expected rank %d on a thread no other rank has", r);
    hwloc_bitmap_or(seen, seen, p->rank[r].cpuset);
  }
  ck_assert_msg(hwloc_bitmap_weight(seen) == 384, "expected all 384 threads used, got %d",
                hwloc_bitmap_weight(seen));
  hwloc_bitmap_free(seen);
  ck_assert_msg(!p->oversubscribed, "expected 384 ranks to fit 384 threads");
  tubo__placement_free(p);
  /* By package: package k holds processors 8k..8k+7 and 192+8k..192+8k+7. */
  p = place(t, TUBO__PL_DEFAULT, TUBO__PL_DEFAULT, 48);
  char cpus[64], where[64];
  for (int r = 0; r < 48; r++) {
    int k = r % 24;
    snprintf(cpus, sizeof cpus, "%d-%d,%d-%d", 8 * k, 8 * k + 7, 192 + 8 * k, 192 + 8 * k + 7);
    snprintf(where, sizeof where, "package[%d][core:%d-%d]", k, 8 * k, 8 * k + 7);
    expect_rank(p, r, cpus, where);
  }
  tubo__placement_free(p);
  p = place(t, TUBO__PL_CORE, TUBO__PL_NUMA, 17);
  expect_rank(p, 16, "16-23,208-215", "package[2][core:16-23]");
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(defaults_follow_open_mpi)
{
  tubo__topo_t *t = topo_of("16em64t-4s2c2t.xml");
  static const struct {
    tubo__place_level_t map, bind;
    int n;
    tubo__place_level_t want_map, want_bind;
  } c[] = {
      {TUBO__PL_DEFAULT, TUBO__PL_DEFAULT, 1, TUBO__PL_CORE, TUBO__PL_CORE},
      {TUBO__PL_DEFAULT, TUBO__PL_DEFAULT, 2, TUBO__PL_CORE, TUBO__PL_CORE},
      {TUBO__PL_DEFAULT, TUBO__PL_DEFAULT, 3, TUBO__PL_PACKAGE, TUBO__PL_PACKAGE},
      {TUBO__PL_DEFAULT, TUBO__PL_DEFAULT, 9, TUBO__PL_PACKAGE, TUBO__PL_NONE},
      {TUBO__PL_NUMA, TUBO__PL_DEFAULT, 4, TUBO__PL_NUMA, TUBO__PL_NUMA},
      {TUBO__PL_SLOT, TUBO__PL_DEFAULT, 4, TUBO__PL_SLOT, TUBO__PL_CORE},
      {TUBO__PL_HWTHREAD, TUBO__PL_DEFAULT, 9, TUBO__PL_HWTHREAD, TUBO__PL_HWTHREAD},
      {TUBO__PL_CORE, TUBO__PL_DEFAULT, 9, TUBO__PL_CORE, TUBO__PL_NONE},
      {TUBO__PL_DEFAULT, TUBO__PL_L3, 9, TUBO__PL_PACKAGE, TUBO__PL_L3},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    tubo__placement_t *p = place(t, c[i].map, c[i].bind, c[i].n);
    ck_assert_msg(p->map_by == c[i].want_map && p->bind_to == c[i].want_bind,
                  "case %zu (%d ranks, map %s, bind %s): expected map-by %s bind-to %s, got %s %s",
                  i, c[i].n, tubo__place_level_name(c[i].map), tubo__place_level_name(c[i].bind),
                  tubo__place_level_name(c[i].want_map), tubo__place_level_name(c[i].want_bind),
                  tubo__place_level_name(p->map_by), tubo__place_level_name(p->bind_to));
    tubo__placement_free(p);
  }
  tubo__topo_free(t);
}
END_TEST

START_TEST(machine_without_packages)
{
  /* The default levels fall back to the whole allowed set; asked for, they are refused. */
  tubo__topo_t *t = topo_of("synthetic-2n2c2t-nopackage.xml");
  tubo__placement_t *p = place(t, TUBO__PL_DEFAULT, TUBO__PL_DEFAULT, 3);
  for (int r = 0; r < 3; r++)
    expect_rank(p, r, "unbound", NULL); /* the whole allowed set: not bound */
  tubo__placement_free(p);
  p = NULL;
  int rc = tubo__place_compute(t, TUBO__PL_PACKAGE, TUBO__PL_DEFAULT, 3, &p);
  ck_assert_msg(rc == TUBO_ENOTSUP && p == NULL, "expected map-by package refused, got %d", rc);
  p = place(t, TUBO__PL_NUMA, TUBO__PL_DEFAULT, 3);
  expect_rank(p, 0, "0-3", "[core:0-1]");
  expect_rank(p, 1, "4-7", "[core:2-3]");
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

START_TEST(bad_requests_are_refused)
{
  tubo__topo_t *t = topo_of("16amd64-4distances.xml");
  tubo__placement_t *p = NULL;
  int rc = tubo__place_compute(t, TUBO__PL_CORE, TUBO__PL_L3, 2, &p);
  ck_assert_msg(rc == TUBO_ENOTSUP && p == NULL, "expected bind-to l3 refused (no L3), got %d", rc);
  ck_assert_msg(!tubo__place_level_present(t, TUBO__PL_L3), "expected no L3 on 16amd64");
  rc = tubo__place_compute(t, TUBO__PL_CORE, TUBO__PL_CORE, 0, &p);
  ck_assert_msg(rc == TUBO_EINVAL, "expected 0 ranks refused with EINVAL, got %d", rc);
  rc = tubo__place_compute(t, TUBO__PL_NONE, TUBO__PL_CORE, 2, &p);
  ck_assert_msg(rc == TUBO_EINVAL, "expected map-by none refused with EINVAL, got %d", rc);
  rc = tubo__place_compute(t, TUBO__PL_CORE, TUBO__PL_SLOT, 2, &p);
  ck_assert_msg(rc == TUBO_EINVAL, "expected bind-to slot refused with EINVAL, got %d", rc);
  tubo__topo_free(t);
}
END_TEST

START_TEST(level_names_as_mpirun_spells_them)
{
  static const struct {
    const char *s;
    int binding;
    int rc;
    tubo__place_level_t l;
  } c[] = {
      {"core", 0, 0, TUBO__PL_CORE},      {"CORE", 1, 0, TUBO__PL_CORE},
      {"socket", 0, 0, TUBO__PL_PACKAGE}, {"package", 1, 0, TUBO__PL_PACKAGE},
      {"l3cache", 0, 0, TUBO__PL_L3},     {"l3", 1, 0, TUBO__PL_L3},
      {"numa", 1, 0, TUBO__PL_NUMA},      {"hwthread", 1, 0, TUBO__PL_HWTHREAD},
      {"slot", 0, 0, TUBO__PL_SLOT},      {"slot", 1, TUBO_EINVAL, 0},
      {"none", 1, 0, TUBO__PL_NONE},      {"none", 0, TUBO_EINVAL, 0},
      {"board", 0, TUBO_EINVAL, 0},       {"", 1, TUBO_EINVAL, 0},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    tubo__place_level_t l = TUBO__PL_DEFAULT;
    int rc = tubo__place_parse(c[i].s, c[i].binding, &l);
    ck_assert_msg(rc == c[i].rc && (rc != 0 || l == c[i].l),
                  "'%s' (%s): expected rc %d level %s, got rc %d level %s", c[i].s,
                  c[i].binding ? "bind-to" : "map-by", c[i].rc, tubo__place_level_name(c[i].l), rc,
                  tubo__place_level_name(l));
  }
  ck_assert_msg(strcmp(tubo__place_level_name(TUBO__PL_L3), "l3cache") == 0,
                "expected l3's name to be l3cache, got %s", tubo__place_level_name(TUBO__PL_L3));
}
END_TEST

START_TEST(binding_this_process)
{
  /* This machine: rank 0 bound to its core; the process then runs exactly there. */
  tubo__topo_t *t = NULL;
  ck_assert_msg(tubo__topo_load(&t) == 0, "expected this machine's topology to load");
  tubo__placement_t *p = place(t, TUBO__PL_CORE, TUBO__PL_CORE, 1);
  hwloc_topology_t h = tubo__topo_hwloc(t);
  ck_assert_msg(hwloc_bitmap_isincluded(p->rank[0].cpuset, hwloc_topology_get_allowed_cpuset(h)),
                "expected rank 0's binding inside the allowed cpuset");
  int rc = tubo__place_bind_self(t, p, 0);
  if (rc == 0) {
    hwloc_bitmap_t now = hwloc_bitmap_alloc();
    ck_assert_msg(hwloc_get_cpubind(h, now, HWLOC_CPUBIND_PROCESS) == 0, "expected get_cpubind");
    char *want = cpus_of(p, 0), *got = NULL;
    hwloc_bitmap_list_asprintf(&got, now);
    ck_assert_msg(hwloc_bitmap_isequal(now, p->rank[0].cpuset),
                  "expected this process bound to %s, got %s", want, got);
    free(want);
    free(got);
    hwloc_bitmap_free(now);
  } else {
    /* A sandbox may forbid binding; tuborun then warns and runs unbound. */
    ck_assert_msg(rc == TUBO_ETOPO, "expected 0 or TUBO_ETOPO from binding, got %d", rc);
  }
  ck_assert_msg(tubo__place_bind_self(t, p, 1) == TUBO_EINVAL, "expected rank 1 of 1 refused");
  tubo__placement_free(p);
  tubo__topo_free(t);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("placement");
  TCase *tc = tcase_create("placement");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, core_by_core_lands_on_distinct_cores_in_order);
  tcase_add_test(tc, package_mapping_spreads_round_robin);
  tcase_add_test(tc, hwthread_binding_names_hardware_threads);
  tcase_add_test(tc, l3_and_numa_bindings);
  tcase_add_test(tc, oversubscription_wraps_round_robin);
  tcase_add_test(tc, restricted_allowed_cpuset_is_honoured);
  tcase_add_test(tc, offline_processors_are_never_used);
  tcase_add_test(tc, large_machine_with_384_threads);
  tcase_add_test(tc, defaults_follow_open_mpi);
  tcase_add_test(tc, machine_without_packages);
  tcase_add_test(tc, bad_requests_are_refused);
  tcase_add_test(tc, level_names_as_mpirun_spells_them);
  tcase_add_test(tc, binding_this_process);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
