/* SPDX-License-Identifier: MIT */
/* What the bad-input suites (check_badinput_core, _procs and _objects) share: the
 * assertion that names the call, the code expected and the code returned, and handles
 * that are not valid in each of the ways a program can get one wrong. Each test runs in
 * its own process (Check's fork mode), so it may call tubo_init and tubo_finalize. */
#ifndef TUBO_TESTS_BADINPUT_H
#define TUBO_TESTS_BADINPUT_H

#include <check.h>
#include <stddef.h>

#include "tubo.h"

/* Asserts that call returned want; what says which bad input it was given. */
#define BI_RC(what, call, want)                                                \
  do {                                                                         \
    int bi_got_ = (call);                                                      \
    int bi_want_ = (want);                                                     \
    ck_assert_msg(bi_got_ == bi_want_, "%s: expected %s, got %s (%d)", (what), \
                  tubo_err_name(bi_want_), tubo_err_name(bi_got_), bi_got_);   \
  } while (0)

/* tubo_init as a world of one (no launcher); returns the world. */
tubo_comm_t *bi_init(void);

/* tubo_finalize, which must succeed. */
void bi_finalize(void);

/* An address the library never handed out as a communicator (never followed by it). */
tubo_comm_t *bi_bogus_comm(void);

/* A process function that returns 0 (the processes made with it are never started). */
int bi_process_ok(void *arg);

/* A spawned worker that ends at once with status 0. */
int bi_worker_ok(tubo_comm_t *comm, void *arg);

/* A communicator that existed and was freed: one made by tubo_spawn with one worker,
 * then joined. Needs a live world, so that the stale handle is told from "not
 * initialized". */
tubo_comm_t *bi_freed_comm(void);

/* Ranks no communicator of one rank has, and tags no send may carry (TUBO_ANY_TAG
 * included: it is for receives). BI_NRANKS and BI_NTAGS entries. */
#define BI_NRANKS 5
#define BI_NTAGS  5
extern const int bi_bad_ranks[BI_NRANKS];
extern const int bi_bad_tags[BI_NTAGS];

/* Lengths no buffer can have: (size_t)-1, as a negative count converts, and more than
 * half the address space. */
#define BI_NHUGE 2
extern const size_t bi_huge_lens[BI_NHUGE];

/* A call of the function under test with comm, its other arguments valid. */
typedef int (*bi_comm_call_fn)(tubo_comm_t *comm);
/* The function's own bad inputs, made while tubo is initialized (world of one). */
typedef void (*bi_extra_fn)(tubo_comm_t *world);

/* The communicator cases of a function named name that takes one: before tubo_init, a
 * NULL handle gives null_before_init and a bogus one TUBO_ENOTINIT; initialized, NULL,
 * bogus, freed and foreign (a live handle of another kind) give TUBO_ECOMM; extra (if
 * any) runs; after tubo_finalize the stale world and NULL give TUBO_ENOTINIT. */
void bi_comm_cases(const char *name, bi_comm_call_fn call, int null_before_init, bi_extra_fn extra);

/* A live handle of a kind other than the one whose bad-handle code is kind_code (a
 * process never started, or a queue where kind_code is TUBO_EPROCESS), for a call that
 * must refuse it by its kind; bi_foreign_free lets it go. */
void *bi_foreign_handle(int kind_code);
void bi_foreign_free(void *h, int kind_code);

/* A call of the pattern function under test on handle h, its other arguments valid. */
typedef int (*bi_handle_call_fn)(void *h);

/* The handle cases every call on a pattern object shares: NULL, an address the library
 * never handed out, freed (a handle of the call's kind, freed by the caller) and a live
 * handle of another kind are all bad_handle, the code of the call's handle kind
 * (TUBO_EPROCESS, TUBO_EPIPE, ...). */
void bi_handle_cases(const char *name, bi_handle_call_fn call, void *freed, int bad_handle);

/* A test of one function, named after it. */
typedef struct bi_test {
  const char *name;
  const TTest *test;
} bi_test_t;

/* A suite with one test case per function, so that a failure names the function. */
Suite *bi_suite(const char *name, const bi_test_t *tests, size_t n);

/* Runs the suite made by make_suite, each test in its own process (th_main); returns the
 * exit status. */
int bi_main(int argc, char **argv, Suite *(*make_suite)(void));

#endif /* TUBO_TESTS_BADINPUT_H */
