/* SPDX-License-Identifier: MIT */
/* The waiting policy (lib/waitpol.h): jobs with more ranks than this machine has
 * processing units (on 2 cores every job here is) finish with the right results whichever
 * way their ranks wait, and the yield budget adapts as documented. No clock decides a
 * result: the adaptation cases only give waits that lasted at least, or far less than,
 * what the rule compares them with.
 *
 * A rank that dies while the others wait under this policy is in check_failures (the
 * "halo" scenario, 8 ranks). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "os/os.h"
#include "settings.h"
#include "waitpol.h"
#include "world.h"

#define HALO_POINTS 97
#define HALO_ITERS  300

/* One Jacobi sweep over u[1..n] into v[1..n]; returns the largest change. */
static double sweep(const double *u, double *v, int n)
{
  double change = 0;
  for (int i = 1; i <= n; i++) {
    v[i] = 0.5 * (u[i - 1] + u[i + 1]);
    double d = v[i] > u[i] ? v[i] - u[i] : u[i] - v[i];
    change = d > change ? d : change;
  }
  return change;
}

/* A 1D Jacobi solver: halo exchange by non-blocking point-to-point and a max-allreduce
 * every iteration; each rank's slice must equal, bit for bit, the same iterations run on
 * the whole domain alone, and the agreed change the whole domain's. */
static void halo_run(void)
{
  int n = HALO_POINTS / th_size + (th_rank < HALO_POINTS % th_size);
  int lo = th_rank * (HALO_POINTS / th_size) +
           (th_rank < HALO_POINTS % th_size ? th_rank : HALO_POINTS % th_size);
  int left = th_rank - 1, right = th_rank + 1 < th_size ? th_rank + 1 : -1;
  double *u = calloc((size_t)n + 2, sizeof *u), *v = calloc((size_t)n + 2, sizeof *v);
  double *g = calloc(HALO_POINTS + 2, sizeof *g), *h = calloc(HALO_POINTS + 2, sizeof *h);
  TH_CHECK(u && v && g && h, "expected memory for the slices");
  u[0] = v[0] = left < 0 ? 1.0 : 0.0;
  g[0] = h[0] = 1.0;
  double change = 0, whole = 0;
  for (int it = 0; it < HALO_ITERS; it++) {
    tubo_request_t *r[4];
    size_t k = 0;
    if (left >= 0) {
      TH_OK(tubo_irecv(&u[0], sizeof *u, left, 0, th_world, &r[k++]));
      TH_OK(tubo_isend(&u[1], sizeof *u, left, 1, th_world, &r[k++]));
    }
    if (right >= 0) {
      TH_OK(tubo_irecv(&u[n + 1], sizeof *u, right, 1, th_world, &r[k++]));
      TH_OK(tubo_isend(&u[n], sizeof *u, right, 0, th_world, &r[k++]));
    }
    TH_OK(tubo_waitall(k, r, TUBO_STATUSES_IGNORE));
    change = sweep(u, v, n);
    v[0] = u[0];
    v[n + 1] = u[n + 1];
    double *t = u;
    u = v;
    v = t;
    TH_OK(tubo_allreduce(TUBO_IN_PLACE, &change, 1, TUBO_DOUBLE, TUBO_MAX, th_world));
    whole = sweep(g, h, HALO_POINTS);
    t = g;
    g = h;
    h = t;
    TH_CHECK(change == whole, "iteration %d: expected the agreed change %.17g, got %.17g", it,
             whole, change);
  }
  for (int i = 1; i <= n; i++)
    TH_CHECK(u[i] == g[lo + i], "point %d: expected %.17g after %d iterations, got %.17g",
             lo + i - 1, g[lo + i], HALO_ITERS, u[i]);
  free(u);
  free(v);
  free(g);
  free(h);
}

/* Under the policy this machine picks. */
static void body_halo(void)
{
  halo_run();
}

/* Joins the job forced to yield, whatever the machine (the path of oversubscribed jobs),
 * with the yield budget yield_ns (NULL: the default). */
static void start_yielding(const char *yield_ns)
{
  setenv("TUBO_YIELD_WHEN_IDLE", "1", 1);
  if (yield_ns != NULL)
    setenv("TUBO_YIELD_NS", yield_ns, 1);
  th_init_world(NULL, NULL);
  TH_EQ("the policy yields (w->wait.shared)", tubo__world->wait.shared, 1);
}

static void body_halo_yield(void)
{
  start_yielding(NULL);
  halo_run();
  TH_OK(tubo_finalize());
}

/* No yield budget: every empty look sleeps on the futex at once. */
static void body_halo_sleep(void)
{
  start_yielding("0");
  TH_EQ("the yield budget", tubo__world->wait.yield_ns, 0);
  halo_run();
  TH_OK(tubo_finalize());
}

/* Many to one, then a barrier, round after round: rank 0 takes a message from every
 * other rank in any order while they wait in the barrier. */
static void body_fan_in(void)
{
  for (int round = 0; round < 40; round++) {
    if (th_rank == 0) {
      long sum = 0;
      for (int k = 1; k < th_size; k++) {
        int got = -1;
        TH_OK(tubo_recv(&got, sizeof got, TUBO_ANY_SOURCE, round, th_world, TUBO_STATUS_IGNORE));
        sum += got;
      }
      TH_EQ("sum of the ranks' messages", sum,
            (long)round * (th_size - 1) + (long)th_size * (th_size - 1) / 2);
    } else {
      int v = th_rank + round;
      TH_OK(tubo_send(&v, sizeof v, 0, round, th_world));
    }
    TH_OK(tubo_barrier(th_world));
  }
}

static const th_body_t bodies[] = {
    {"halo", body_halo, 0},
    {"halo_yield", body_halo_yield, TH_SELF_INIT},
    {"halo_sleep", body_halo_sleep, TH_SELF_INIT},
    {"fan_in", body_fan_in, 0},
    {NULL, NULL, 0},
};

/* ---- The adaptation, in this process ---- */

START_TEST(adapt)
{
  unsetenv("TUBO_YIELD_WHEN_IDLE");
  unsetenv("TUBO_YIELD_NS");
  tubo__waitpol_t p;
  tubo__waitpol_init(&p, 1);
  ck_assert_msg(p.shared == 1 && p.yield_ns == TUBO__YIELD_NS_DEFAULT &&
                    p.yield_max == TUBO__YIELD_NS_DEFAULT,
                "expected a sharing policy starting at its ceiling %u ns, got shared %d, "
                "yield_ns %llu, yield_max %llu",
                TUBO__YIELD_NS_DEFAULT, p.shared, (unsigned long long)p.yield_ns,
                (unsigned long long)p.yield_max);
  uint64_t now = tubo__os_now_ns();
  ck_assert_msg(now > 100000000u, "expected the monotonic clock past 100 ms, got %llu ns",
                (unsigned long long)now);

  /* A wait that never slept changes nothing. */
  tubo__waiter_t wt = {0, 0, 0};
  tubo__waiter_end(&p, &wt);
  ck_assert_msg(p.yield_ns == TUBO__YIELD_NS_DEFAULT && p.grown == 0 && p.shrunk == 0,
                "expected a wait that did not sleep to leave yield_ns at %u, got %llu",
                TUBO__YIELD_NS_DEFAULT, (unsigned long long)p.yield_ns);

  /* Slept at least 100 ms, more than 16 times the budget: the budget halves, down to
   * TUBO__YIELD_NS_MIN and no further. */
  uint64_t want = TUBO__YIELD_NS_DEFAULT;
  for (int i = 0; i < 12; i++) {
    wt.slept_at = tubo__os_now_ns() - 100000000u;
    tubo__waiter_end(&p, &wt);
    want = want / 2 > TUBO__YIELD_NS_MIN ? want / 2 : TUBO__YIELD_NS_MIN;
    ck_assert_msg(p.yield_ns == want, "long wait %d: expected yield_ns %llu, got %llu", i,
                  (unsigned long long)want, (unsigned long long)p.yield_ns);
  }

  /* Slept far less than the budget (a budget of 5 s, a wait that just began): it doubles,
   * up to the ceiling. */
  p.yield_max = 8000000000ull;
  p.yield_ns = 5000000000ull;
  wt.slept_at = tubo__os_now_ns();
  tubo__waiter_end(&p, &wt);
  ck_assert_msg(p.yield_ns == p.yield_max,
                "short wait: expected yield_ns to double up to its ceiling %llu, got %llu",
                (unsigned long long)p.yield_max, (unsigned long long)p.yield_ns);

  /* A budget long waits halved comes back: a wait that slept 2 budgets (within
   * TUBO__YIELD_GROW_X) doubles it; one that slept 8 (between that and 16) leaves it. Budgets
   * of seconds, so that the time this test itself takes does not count. */
  p.yield_max = 64000000000ull;
  p.yield_ns = 1000000000ull;
  uint64_t grown = p.grown, shrunk = p.shrunk;
  ck_assert_msg(tubo__os_now_ns() > 20000000000ull,
                "expected the monotonic clock past 20 s, got %llu ns",
                (unsigned long long)tubo__os_now_ns());
  wt.slept_at = tubo__os_now_ns() - 2 * p.yield_ns;
  tubo__waiter_end(&p, &wt);
  ck_assert_msg(p.yield_ns == 2000000000ull && p.grown == grown + 1,
                "a wait that slept 2 budgets: expected yield_ns to double to 2 s, got %llu",
                (unsigned long long)p.yield_ns);
  wt.slept_at = tubo__os_now_ns() - 8 * p.yield_ns;
  tubo__waiter_end(&p, &wt);
  ck_assert_msg(p.yield_ns == 2000000000ull && p.grown == grown + 1 && p.shrunk == shrunk,
                "a wait that slept 8 budgets: expected yield_ns to stay 2 s, got %llu",
                (unsigned long long)p.yield_ns);

  /* Where each rank has its unit nothing adapts, and a zero budget sleeps at once. */
  tubo__waitpol_init(&p, 0);
  wt.slept_at = tubo__os_now_ns() - 100000000u;
  tubo__waiter_end(&p, &wt);
  ck_assert_msg(p.yield_ns == TUBO__YIELD_NS_DEFAULT && p.shared == 0,
                "expected a spinning policy not to adapt, got shared %d, yield_ns %llu", p.shared,
                (unsigned long long)p.yield_ns);
  p.shared = 1;
  p.yield_ns = 0;
  tubo__waiter_t fresh = {0, 0, 0};
  ck_assert_msg(tubo__waiter_idle(&p, &fresh) == 1,
                "expected a zero yield budget to sleep at the first empty look");
}
END_TEST

/* Where each rank has its unit, the spin budget follows the sleeps (waitpol.h): a sleep
 * shorter than it doubles it, up to 16 times TUBO_SPIN_NS; a sleep more than 16 times
 * longer halves it, down to TUBO_SPIN_NS; the sharing policy and a zero budget stay. No
 * sleep is taken here: the durations are given. */
START_TEST(spin_adapt)
{
  unsetenv("TUBO_YIELD_WHEN_IDLE");
  setenv("TUBO_SPIN_NS", "1000", 1);
  tubo__waitpol_t p;
  tubo__waitpol_init(&p, 0);
  ck_assert_msg(p.spin_ns == 1000 && p.spin_min == 1000 && p.spin_max == 16000,
                "expected spin_ns 1000 within 1000..16000, got %llu within %llu..%llu",
                (unsigned long long)p.spin_ns, (unsigned long long)p.spin_min,
                (unsigned long long)p.spin_max);
  uint64_t want = 1000;
  for (int i = 0; i < 6; i++) {
    tubo__waitpol_slept(&p, 10);
    want = want * 2 < 16000 ? want * 2 : 16000;
    ck_assert_msg(p.spin_ns == want, "short sleep %d: expected spin_ns %llu, got %llu", i,
                  (unsigned long long)want, (unsigned long long)p.spin_ns);
  }
  ck_assert_msg(p.spin_grown == 4, "expected 4 doublings to the ceiling, got %u", p.spin_grown);
  /* Between the two bounds: neither shorter than the budget nor 16 times longer. */
  tubo__waitpol_slept(&p, 16000 * 16);
  ck_assert_msg(p.spin_ns == 16000 && p.spin_shrunk == 0,
                "a sleep of 16 budgets: expected spin_ns to stay 16000, got %llu (halved %u)",
                (unsigned long long)p.spin_ns, p.spin_shrunk);
  for (int i = 0; i < 6; i++) {
    tubo__waitpol_slept(&p, 100000000u);
    want = want / 2 > 1000 ? want / 2 : 1000;
    ck_assert_msg(p.spin_ns == want, "long sleep %d: expected spin_ns %llu, got %llu", i,
                  (unsigned long long)want, (unsigned long long)p.spin_ns);
  }
  ck_assert_msg(p.spin_shrunk == 4, "expected 4 halvings to the floor, got %u", p.spin_shrunk);

  /* Sharing units: the yield budget adapts instead (adapt above). */
  tubo__waitpol_init(&p, 1);
  tubo__waitpol_slept(&p, 10);
  ck_assert_msg(p.spin_ns == 1000 && p.spin_grown == 0,
                "expected a sharing policy to leave spin_ns at 1000, got %llu",
                (unsigned long long)p.spin_ns);
  /* TUBO_SPIN_NS=0 sleeps at the first empty look, whatever the sleeps were. */
  setenv("TUBO_SPIN_NS", "0", 1);
  tubo__waitpol_init(&p, 0);
  tubo__waitpol_slept(&p, 0);
  ck_assert_msg(p.spin_ns == 0, "expected a zero spin budget to stay 0, got %llu",
                (unsigned long long)p.spin_ns);
  unsetenv("TUBO_SPIN_NS");
}
END_TEST

START_TEST(setting)
{
  tubo__waitpol_t p;
  setenv("TUBO_YIELD_WHEN_IDLE", "0", 1);
  tubo__waitpol_init(&p, 1);
  ck_assert_msg(p.shared == 0, "TUBO_YIELD_WHEN_IDLE=0: expected no yielding, got shared %d",
                p.shared);
  setenv("TUBO_YIELD_WHEN_IDLE", "1", 1);
  tubo__waitpol_init(&p, 0);
  ck_assert_msg(p.shared == 1, "TUBO_YIELD_WHEN_IDLE=1: expected yielding, got shared %d",
                p.shared);
  setenv("TUBO_YIELD_WHEN_IDLE", "2", 1);
  tubo__waitpol_init(&p, 0);
  ck_assert_msg(p.shared == 0, "TUBO_YIELD_WHEN_IDLE=2: expected the caller's choice (0), got %d",
                p.shared);
  setenv("TUBO_YIELD_NS", "300000", 1);
  tubo__waitpol_init(&p, 1);
  ck_assert_msg(p.yield_max == 300000 && p.yield_ns == 300000,
                "TUBO_YIELD_NS=300000: expected ceiling and start 300000, got %llu and %llu",
                (unsigned long long)p.yield_max, (unsigned long long)p.yield_ns);
  unsetenv("TUBO_YIELD_WHEN_IDLE");
  unsetenv("TUBO_YIELD_NS");
}
END_TEST

static Suite *waiting_suite(void)
{
  Suite *s = suite_create("waiting");
  TCase *tc = th_tcase("policy");
  tcase_add_test(tc, adapt);
  tcase_add_test(tc, spin_adapt);
  tcase_add_test(tc, setting);
  suite_add_tcase(s, tc);
  tc = th_add_case(s, "halo", 8, TH_BOTH);
  th_add_job(tc, "halo", 3, TH_SHM);
  th_add_case(s, "halo_yield", 8, TH_SHM);
  th_add_case(s, "halo_sleep", 8, TH_SHM);
  th_add_case(s, "fan_in", 16, TH_SHM);
  return s;
}

int main(int argc, char **argv)
{
  return th_main(argc, argv, bodies, waiting_suite);
}
