/* SPDX-License-Identifier: MIT */
/* Bad input to the core API: the job, point-to-point, the barrier and the rest. One test
 * per public function gives it every kind of bad input that applies (NULL, bogus and
 * freed handles, NULL buffers, bad ranks and tags, huge lengths, calls before tubo_init and
 * after tubo_finalize) and expects the code tubo.h documents, without a crash. Each test
 * is its own process, a world of one without a launcher. */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "badinput.h"

/* ---- The job ---- */

START_TEST(test_comm_world)
{
  ck_assert_msg(tubo_comm_world() == NULL, "tubo_comm_world() before tubo_init: expected NULL");
  bi_init();
  bi_finalize();
  ck_assert_msg(tubo_comm_world() == NULL, "tubo_comm_world() after tubo_finalize: expected NULL");
}
END_TEST

START_TEST(test_init)
{
  int argc = 0;
  char **argv = NULL;
  BI_RC("tubo_init(&argc, &argv)", tubo_init(&argc, &argv), 0);
  BI_RC("tubo_init a second time", tubo_init(NULL, NULL), TUBO_EINIT);
  bi_finalize();
  BI_RC("tubo_init after tubo_finalize", tubo_init(NULL, NULL), TUBO_EINIT);
}
END_TEST

START_TEST(test_finalize)
{
  BI_RC("tubo_finalize before tubo_init", tubo_finalize(), TUBO_ENOTINIT);
  bi_init();
  bi_finalize();
  BI_RC("tubo_finalize a second time", tubo_finalize(), TUBO_ENOTINIT);
}
END_TEST

START_TEST(test_initialized)
{
  BI_RC("tubo_initialized(NULL) before tubo_init", tubo_initialized(NULL), TUBO_EINVAL);
  bi_init();
  BI_RC("tubo_initialized(NULL)", tubo_initialized(NULL), TUBO_EINVAL);
  bi_finalize();
  BI_RC("tubo_initialized(NULL) after tubo_finalize", tubo_initialized(NULL), TUBO_EINVAL);
}
END_TEST

/* tubo_abort returns only when it has no job to end; with a valid one it would exit. */
static int call_abort(tubo_comm_t *comm)
{
  return tubo_abort(comm, 3);
}

START_TEST(test_abort)
{
  bi_comm_cases("tubo_abort", call_abort, TUBO_ENOTINIT, NULL);
}
END_TEST

/* tubo_comm_rank and tubo_comm_size: a communicator and where the answer goes. */
typedef int (*comm_int_fn)(const tubo_comm_t *comm, int *out);
static const char *comm_int_name;
static comm_int_fn comm_int;

static int call_comm_int(tubo_comm_t *comm)
{
  int out;
  return comm_int(comm, &out);
}

static void comm_int_extra(tubo_comm_t *world)
{
  char what[96];
  snprintf(what, sizeof what, "%s(world, NULL)", comm_int_name);
  BI_RC(what, comm_int(world, NULL), TUBO_EINVAL);
}

static void comm_int_cases(const char *name, comm_int_fn fn)
{
  comm_int_name = name;
  comm_int = fn;
  bi_comm_cases(name, call_comm_int, TUBO_ENOTINIT, comm_int_extra);
}

START_TEST(test_comm_rank)
{
  comm_int_cases("tubo_comm_rank", tubo_comm_rank);
}
END_TEST

START_TEST(test_comm_size)
{
  comm_int_cases("tubo_comm_size", tubo_comm_size);
}
END_TEST

static int call_comm_transport(tubo_comm_t *comm)
{
  const char *name;
  return tubo_comm_transport(comm, 0, &name);
}

static void comm_transport_extra(tubo_comm_t *world)
{
  const char *name = NULL;
  char what[96];
  for (int i = 0; i < BI_NRANKS; i++) {
    snprintf(what, sizeof what, "tubo_comm_transport(rank %d)", bi_bad_ranks[i]);
    BI_RC(what, tubo_comm_transport(world, bi_bad_ranks[i], &name), TUBO_ERANK);
  }
  BI_RC("tubo_comm_transport(world, 0, NULL)", tubo_comm_transport(world, 0, NULL), TUBO_EINVAL);
  ck_assert_msg(name == NULL, "failed tubo_comm_transport calls: expected no name, got \"%s\"",
                name);
}

START_TEST(test_comm_transport)
{
  bi_comm_cases("tubo_comm_transport", call_comm_transport, TUBO_ENOTINIT, comm_transport_extra);
}
END_TEST

static int call_barrier(tubo_comm_t *comm)
{
  return tubo_barrier(comm);
}

START_TEST(test_barrier)
{
  bi_comm_cases("tubo_barrier", call_barrier, TUBO_ENOTINIT, NULL);
}
END_TEST

/* ---- Point-to-point: the arguments every call checks alike ---- */

/* One call of a point-to-point function: peer and tag are those under test (the
 * destination for sends, the source for receives and probes). */
typedef struct p2p_args {
  tubo_comm_t *comm;
  int peer, tag;
  void *buf;
  size_t len;
  int null_out; /* pass NULL for the request or flag the call gives back (P2P_OUT) */
} p2p_args_t;
typedef int (*p2p_call_fn)(const p2p_args_t *a);

enum {
  P2P_RECEIVING = 1u << 0, /* TUBO_ANY_SOURCE and TUBO_ANY_TAG are valid */
  P2P_NO_BUFFER = 1u << 1, /* the call takes no buffer (probes) */
  P2P_OUT = 1u << 2        /* the call gives back a request or a flag, never to NULL */
};

/* The function under test, for the communicator cases (bi_comm_cases takes no context). */
static const char *p2p_name;
static p2p_call_fn p2p_call;
static unsigned p2p_flags;

static int p2p_call_comm(tubo_comm_t *comm)
{
  char byte = 0;
  p2p_args_t a = {comm, 0, 0, &byte, 1, 0};
  return p2p_call(&a);
}

static void p2p_call_expect(const char *bad, const p2p_args_t *a, int want)
{
  char what[160];
  snprintf(what, sizeof what, "%s(%s)", p2p_name, bad);
  BI_RC(what, p2p_call(a), want);
}

/* Bad peers, tags, buffers and lengths, initialized. */
static void p2p_extra(tubo_comm_t *world)
{
  char byte = 0, bad[64];
  int receiving = (p2p_flags & P2P_RECEIVING) != 0;
  for (int i = 0; i < BI_NRANKS; i++) {
    /* TUBO_ANY_SOURCE (-1) is a valid source for receives. */
    if (receiving && bi_bad_ranks[i] == TUBO_ANY_SOURCE)
      continue;
    p2p_args_t a = {world, bi_bad_ranks[i], 0, &byte, 1, 0};
    snprintf(bad, sizeof bad, "peer %d", bi_bad_ranks[i]);
    p2p_call_expect(bad, &a, TUBO_ERANK);
  }
  for (int i = 0; i < BI_NTAGS; i++) {
    if (receiving && bi_bad_tags[i] == TUBO_ANY_TAG)
      continue;
    p2p_args_t a = {world, 0, bi_bad_tags[i], &byte, 1, 0};
    snprintf(bad, sizeof bad, "tag %d", bi_bad_tags[i]);
    p2p_call_expect(bad, &a, TUBO_ETAG);
  }
  if (p2p_flags & P2P_OUT) {
    p2p_args_t o = {world, 0, 0, &byte, 1, 1};
    p2p_call_expect("NULL request or flag", &o, TUBO_EINVAL);
  }
  if (p2p_flags & P2P_NO_BUFFER)
    return;
  p2p_args_t a = {world, 0, 0, NULL, 1, 0};
  p2p_call_expect("NULL buffer, length 1", &a, TUBO_EINVAL);
  for (int i = 0; i < BI_NHUGE; i++) {
    p2p_args_t h = {world, 0, 0, &byte, bi_huge_lens[i], 0};
    snprintf(bad, sizeof bad, "length %zu", bi_huge_lens[i]);
    p2p_call_expect(bad, &h, TUBO_ETOOBIG);
  }
}

static void p2p_cases(const char *name, p2p_call_fn call, unsigned flags)
{
  p2p_name = name;
  p2p_call = call;
  p2p_flags = flags;
  bi_comm_cases(name, p2p_call_comm, TUBO_ENOTINIT, p2p_extra);
}

static int call_send(const p2p_args_t *a)
{
  return tubo_send(a->buf, a->len, a->peer, a->tag, a->comm);
}

START_TEST(test_send)
{
  p2p_cases("tubo_send", call_send, 0);
}
END_TEST

static int call_recv(const p2p_args_t *a)
{
  tubo_status_t st;
  return tubo_recv(a->buf, a->len, a->peer, a->tag, a->comm, &st);
}

START_TEST(test_recv)
{
  p2p_cases("tubo_recv", call_recv, P2P_RECEIVING);
}
END_TEST

/* A failed start must leave the request pointer alone: it is the caller's. */
static int request_untouched(int rc, tubo_request_t *r, tubo_request_t *before)
{
  ck_assert_msg(rc == 0 || r == before, "a failed start (%s): expected the request untouched",
                tubo_err_name(rc));
  return rc;
}

static int call_isend(const p2p_args_t *a)
{
  tubo_request_t *sentinel = (tubo_request_t *)(void *)&sentinel, *r = sentinel;
  int rc = tubo_isend(a->buf, a->len, a->peer, a->tag, a->comm, a->null_out ? NULL : &r);
  return request_untouched(rc, r, sentinel);
}

START_TEST(test_isend)
{
  p2p_cases("tubo_isend", call_isend, P2P_OUT);
}
END_TEST

static int call_irecv(const p2p_args_t *a)
{
  tubo_request_t *sentinel = (tubo_request_t *)(void *)&sentinel, *r = sentinel;
  int rc = tubo_irecv(a->buf, a->len, a->peer, a->tag, a->comm, a->null_out ? NULL : &r);
  return request_untouched(rc, r, sentinel);
}

START_TEST(test_irecv)
{
  p2p_cases("tubo_irecv", call_irecv, P2P_RECEIVING | P2P_OUT);
}
END_TEST

static int call_probe(const p2p_args_t *a)
{
  tubo_status_t st;
  return tubo_probe(a->peer, a->tag, a->comm, &st);
}

START_TEST(test_probe)
{
  p2p_cases("tubo_probe", call_probe, P2P_RECEIVING | P2P_NO_BUFFER);
}
END_TEST

static int call_iprobe(const p2p_args_t *a)
{
  int flag;
  tubo_status_t st;
  return tubo_iprobe(a->peer, a->tag, a->comm, a->null_out ? NULL : &flag, &st);
}

START_TEST(test_iprobe)
{
  p2p_cases("tubo_iprobe", call_iprobe, P2P_RECEIVING | P2P_NO_BUFFER | P2P_OUT);
}
END_TEST

/* tubo_sendrecv, its send half under test (the receive half valid), then its receive
 * half (the send half valid: a message to oneself, which must not be sent when the
 * receive's arguments are bad). */
static int call_sendrecv_send(const p2p_args_t *a)
{
  char rbuf[8];
  return tubo_sendrecv(a->buf, a->len, a->peer, a->tag, rbuf, sizeof rbuf, 0, 0, a->comm, NULL);
}

static int call_sendrecv_recv(const p2p_args_t *a)
{
  char sbyte = 0;
  return tubo_sendrecv(&sbyte, 1, 0, 0, a->buf, a->len, a->peer, a->tag, a->comm, NULL);
}

static void sendrecv_extra(tubo_comm_t *world)
{
  p2p_name = "tubo_sendrecv, send half";
  p2p_call = call_sendrecv_send;
  p2p_flags = 0;
  p2p_extra(world);
  p2p_name = "tubo_sendrecv, receive half";
  p2p_call = call_sendrecv_recv;
  p2p_flags = P2P_RECEIVING;
  p2p_extra(world);
  /* None of the failed calls sent anything: a message there would now be found. */
  int flag = -1;
  BI_RC("tubo_iprobe after the failed tubo_sendrecv calls",
        tubo_iprobe(TUBO_ANY_SOURCE, TUBO_ANY_TAG, world, &flag, NULL), 0);
  ck_assert_msg(flag == 0, "failed tubo_sendrecv calls: expected nothing sent, found a message");
}

START_TEST(test_sendrecv)
{
  p2p_name = "tubo_sendrecv";
  p2p_call = call_sendrecv_send;
  bi_comm_cases(p2p_name, p2p_call_comm, TUBO_ENOTINIT, sendrecv_extra);
}
END_TEST

/* ---- Requests ---- */

/* A request that was completed and freed by tubo_wait: its address is stale. */
static tubo_request_t *freed_request(tubo_comm_t *world)
{
  int v = 0;
  tubo_request_t *r = NULL;
  BI_RC("tubo_irecv from oneself", tubo_irecv(&v, sizeof v, 0, 5, world, &r), 0);
  tubo_request_t *stale = r;
  BI_RC("tubo_send to oneself", tubo_send(&v, sizeof v, 0, 5, world), 0);
  BI_RC("tubo_wait", tubo_wait(&r, NULL), 0);
  return stale;
}

/* An address the library never handed out as a request. */
static tubo_request_t *bogus_request(void)
{
  return (tubo_request_t *)(void *)bi_bogus_comm();
}

/* The request cases of the four completion calls: call completes the one request *r. */
typedef int (*req_call_fn)(tubo_request_t **r);

static void request_cases(const char *name, req_call_fn call)
{
  char what[128];
  tubo_request_t *r = NULL;
  snprintf(what, sizeof what, "%s(NULL request) before tubo_init", name);
  BI_RC(what, call(&r), TUBO_ENOTINIT);
  r = bogus_request();
  snprintf(what, sizeof what, "%s(bogus request) before tubo_init", name);
  BI_RC(what, call(&r), TUBO_ENOTINIT);
  tubo_comm_t *world = bi_init();
  r = bogus_request();
  snprintf(what, sizeof what, "%s(bogus request)", name);
  BI_RC(what, call(&r), TUBO_EREQUEST);
  r = freed_request(world);
  snprintf(what, sizeof what, "%s(freed request)", name);
  BI_RC(what, call(&r), TUBO_EREQUEST);
  void *foreign = bi_foreign_handle(TUBO_EREQUEST);
  r = foreign;
  snprintf(what, sizeof what, "%s(a process handle as the request)", name);
  BI_RC(what, call(&r), TUBO_EREQUEST);
  bi_foreign_free(foreign, TUBO_EREQUEST);
  /* A request alive at tubo_finalize is stale after it. */
  int v;
  BI_RC("tubo_irecv nobody satisfies", tubo_irecv(&v, sizeof v, 0, 9, world, &r), 0);
  bi_finalize();
  snprintf(what, sizeof what, "%s(request of a finalized world)", name);
  BI_RC(what, call(&r), TUBO_ENOTINIT);
  r = NULL;
  snprintf(what, sizeof what, "%s(NULL request) after tubo_finalize", name);
  BI_RC(what, call(&r), TUBO_ENOTINIT);
}

static int call_wait(tubo_request_t **r)
{
  tubo_status_t st;
  return tubo_wait(r, &st);
}

START_TEST(test_wait)
{
  BI_RC("tubo_wait(NULL)", tubo_wait(NULL, NULL), TUBO_EINVAL);
  request_cases("tubo_wait", call_wait);
}
END_TEST

static int call_test(tubo_request_t **r)
{
  int flag;
  return tubo_test(r, &flag, NULL);
}

START_TEST(test_test)
{
  int flag;
  tubo_request_t *r = NULL;
  BI_RC("tubo_test(NULL, &flag)", tubo_test(NULL, &flag, NULL), TUBO_EINVAL);
  BI_RC("tubo_test(&req, NULL)", tubo_test(&r, NULL, NULL), TUBO_EINVAL);
  request_cases("tubo_test", call_test);
}
END_TEST

static int call_waitall(tubo_request_t **r)
{
  /* The bad request between two NULL ones, which complete at once. */
  tubo_request_t *reqs[3] = {NULL, *r, NULL};
  tubo_status_t st[3];
  return tubo_waitall(3, reqs, st);
}

START_TEST(test_waitall)
{
  /* A count larger than the array is the caller's error the library cannot see; a NULL
   * array with a count it can. */
  for (int i = 0; i < BI_NHUGE; i++)
    BI_RC("tubo_waitall(huge count, NULL)", tubo_waitall(bi_huge_lens[i], NULL, NULL), TUBO_EINVAL);
  BI_RC("tubo_waitall(1, NULL)", tubo_waitall(1, NULL, NULL), TUBO_EINVAL);
  request_cases("tubo_waitall", call_waitall);
}
END_TEST

static int call_waitany(tubo_request_t **r)
{
  tubo_request_t *reqs[3] = {NULL, *r, NULL};
  size_t index = 0;
  return tubo_waitany(3, reqs, &index, NULL);
}

START_TEST(test_waitany)
{
  tubo_request_t *reqs[1] = {NULL};
  size_t index;
  for (int i = 0; i < BI_NHUGE; i++)
    BI_RC("tubo_waitany(huge count, NULL)", tubo_waitany(bi_huge_lens[i], NULL, &index, NULL),
          TUBO_EINVAL);
  BI_RC("tubo_waitany(1, reqs, NULL index)", tubo_waitany(1, reqs, NULL, NULL), TUBO_EINVAL);
  request_cases("tubo_waitany", call_waitany);
}
END_TEST

/* ---- The rest: no handle to get wrong, but every input is answered ---- */

START_TEST(test_wtime)
{
  double t0 = tubo_wtime();
  bi_init();
  double t1 = tubo_wtime();
  bi_finalize();
  double t2 = tubo_wtime();
  ck_assert_msg(t0 >= 0 && t1 >= t0 && t2 >= t1,
                "tubo_wtime before, during and after a job: expected a monotonic clock, got "
                "%f, %f, %f",
                t0, t1, t2);
}
END_TEST

static const int unknown_codes[] = {1, 42, INT_MAX, INT_MIN, -1000};
#define NUNKNOWN (sizeof unknown_codes / sizeof unknown_codes[0])

/* Every code outside the list gets the same fallback text from fn. */
static void unknown_cases(const char *name, const char *(*fn)(int), const char *want)
{
  for (size_t i = 0; i < NUNKNOWN; i++) {
    const char *got = fn(unknown_codes[i]);
    ck_assert_msg(got != NULL && strcmp(got, want) == 0, "%s(%d): expected \"%s\", got \"%s\"",
                  name, unknown_codes[i], want, got ? got : "(null)");
  }
}

START_TEST(test_strerror)
{
  unknown_cases("tubo_strerror", tubo_strerror, "unknown error");
}
END_TEST

START_TEST(test_err_name)
{
  unknown_cases("tubo_err_name", tubo_err_name, "TUBO_E?");
}
END_TEST

START_TEST(test_version_string)
{
  /* It needs no job: the same text before tubo_init and after tubo_finalize. */
  const char *before = tubo_version_string();
  bi_init();
  bi_finalize();
  const char *after = tubo_version_string();
  ck_assert_msg(before != NULL && after != NULL && strcmp(before, after) == 0,
                "tubo_version_string before tubo_init and after tubo_finalize: expected one "
                "text, got \"%s\" and \"%s\"",
                before ? before : "(null)", after ? after : "(null)");
}
END_TEST

static Suite *badinput_core_suite(void)
{
  /* Not static: the test handles are variables, not constants. */
  const bi_test_t tests[] = {
      {"tubo_comm_world", test_comm_world},
      {"tubo_init", test_init},
      {"tubo_finalize", test_finalize},
      {"tubo_initialized", test_initialized},
      {"tubo_abort", test_abort},
      {"tubo_comm_rank", test_comm_rank},
      {"tubo_comm_size", test_comm_size},
      {"tubo_comm_transport", test_comm_transport},
      {"tubo_barrier", test_barrier},
      {"tubo_send", test_send},
      {"tubo_recv", test_recv},
      {"tubo_isend", test_isend},
      {"tubo_irecv", test_irecv},
      {"tubo_probe", test_probe},
      {"tubo_iprobe", test_iprobe},
      {"tubo_sendrecv", test_sendrecv},
      {"tubo_wait", test_wait},
      {"tubo_test", test_test},
      {"tubo_waitall", test_waitall},
      {"tubo_waitany", test_waitany},
      {"tubo_wtime", test_wtime},
      {"tubo_strerror", test_strerror},
      {"tubo_err_name", test_err_name},
      {"tubo_version_string", test_version_string},
  };
  return bi_suite("badinput_core", tests, sizeof tests / sizeof tests[0]);
}

int main(int argc, char **argv)
{
  return bi_main(argc, argv, badinput_core_suite);
}
