/* SPDX-License-Identifier: MIT */
/**
 * @file tubo.h
 * @brief tubo: MPI-style message passing for C programs.
 *
 * tubo gives C programs the communication patterns of Python's multiprocessing as a
 * communicator API in the style of MPI. Inside a node, messages travel through lock-free
 * rings in shared memory (or OS pipes where shared memory cannot serve); ranks are started
 * and placed on cores by the `tuborun` launcher.
 *
 * Conventions, for every function below unless its comment says otherwise:
 * - it returns 0 on success or a negative `TUBO_E...` code (see ::tubo_strerror);
 * - handles (::tubo_comm_t, ::tubo_request_t) are opaque and owned by the library;
 * - calls on one process must not run concurrently from several threads.
 *
 * This is the only public header: include it and link with `pkg-config --libs tubo`.
 */
#ifndef TUBO_H
#define TUBO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Marks a declaration as part of the public ABI (symbols are hidden otherwise). */
#if defined(__GNUC__) && defined(TUBO_BUILDING_LIBRARY)
#define TUBO_EXPORT __attribute__((visibility("default")))
#else
#define TUBO_EXPORT
#endif

/** @brief Major version of the library this header belongs to. */
#define TUBO_VERSION_MAJOR 0
/** @brief Minor version of the library this header belongs to. */
#define TUBO_VERSION_MINOR 1
/** @brief Patch version of the library this header belongs to. */
#define TUBO_VERSION_PATCH 0

/**
 * @brief The error list: X(NAME, value, text). It generates the `TUBO_E...` constants,
 * ::tubo_strerror and ::tubo_err_name, so the three never disagree.
 * New codes are appended; values never change once released.
 */
#define TUBO_ERRORS(X)                                                                 \
  X(EINVAL, -1, "invalid argument")                                                    \
  X(ENOMEM, -2, "out of memory")                                                       \
  X(ENOTINIT, -3, "tubo is not initialized (call tubo_init first)")                    \
  X(EINIT, -4, "tubo is already initialized, or was finalized")                        \
  X(ERANK, -5, "rank out of range for the communicator")                               \
  X(ETAG, -6, "invalid tag (must be 0..TUBO_TAG_MAX, or TUBO_ANY_TAG when receiving)") \
  X(ETRUNC, -7, "message truncated: it is longer than the receive buffer")             \
  X(EPEER, -8, "the peer process is gone")                                             \
  X(EABORT, -9, "the job was aborted")                                                 \
  X(ETIMEDOUT, -10, "timed out")                                                       \
  X(EAGAIN, -11, "resource temporarily unavailable, try again")                        \
  X(ESYS, -12, "a system call failed")                                                 \
  X(ESHM, -13, "shared memory is unavailable or too small")                            \
  X(ENOTSUP, -14, "operation not supported")                                           \
  X(ETOPO, -15, "topology discovery or binding failed (hwloc)")                        \
  X(ECOMM, -16, "invalid communicator")                                                \
  X(EREQUEST, -17, "invalid request")                                                  \
  X(ETOOBIG, -18, "size too large")                                                    \
  X(ECORRUPT, -19, "corrupt data found in shared memory")                              \
  X(ELAUNCH, -20, "inconsistent launch environment (TUBO_* variables)")                \
  X(EDEADLK, -21, "the operation can never complete: no other rank could satisfy it")

/** @brief Error codes returned by tubo functions; 0 means success. */
enum tubo_error {
  TUBO_OK = 0, /**< Success. */
#define TUBO_ERROR_ENUM_(name, value, text) TUBO_##name = (value),
  TUBO_ERRORS(TUBO_ERROR_ENUM_)
#undef TUBO_ERROR_ENUM_
};

/** @brief Wildcard source for receives and probes: match a message from any rank. */
#define TUBO_ANY_SOURCE (-1)
/** @brief Wildcard tag for receives and probes: match a message with any tag. */
#define TUBO_ANY_TAG (-1)
/** @brief Largest tag a message may carry; tags run from 0 to this value. */
#define TUBO_TAG_MAX 0x3fffffff
/** @brief Pass where a ::tubo_status_t pointer is expected to ignore the status. */
#define TUBO_STATUS_IGNORE ((tubo_status_t *)0)
/** @brief Pass where an array of statuses is expected to ignore them all. */
#define TUBO_STATUSES_IGNORE ((tubo_status_t *)0)

/** @brief A communicator: a group of ranks that exchange messages (opaque). */
typedef struct tubo_comm tubo_comm_t;

/** @brief A pending non-blocking operation (opaque); completed by ::tubo_wait or ::tubo_test. */
typedef struct tubo_request tubo_request_t;

/** @brief What a completed receive or a probe learned about the message. */
typedef struct tubo_status {
  int source;    /**< Rank that sent the message. */
  int tag;       /**< Tag the message carried. */
  size_t length; /**< Length of the message as sent, in bytes (also when truncated). */
  int error;     /**< 0, or the error code of this operation (see ::tubo_waitall). */
} tubo_status_t;

/**
 * @brief The world communicator: every rank of the job.
 * @return the world handle, or NULL before ::tubo_init and after ::tubo_finalize.
 */
TUBO_EXPORT tubo_comm_t *tubo_comm_world(void);
/** @brief Shorthand for ::tubo_comm_world(), as MPI_COMM_WORLD. */
#define TUBO_COMM_WORLD (tubo_comm_world())

/**
 * @brief Initializes tubo and joins the job started by `tuborun` (or `mpirun` in a later
 * release). A program started without a launcher is a world of one rank.
 * @param argc may be NULL; reserved for launcher arguments, left untouched today.
 * @param argv may be NULL; as @p argc.
 * @return 0; TUBO_EINIT if already initialized or finalized; TUBO_ELAUNCH if the TUBO_*
 *         variables the launcher set are inconsistent; TUBO_ESHM or TUBO_ESYS if the
 *         transport cannot be set up.
 */
TUBO_EXPORT int tubo_init(int *argc, char ***argv);

/**
 * @brief Completes outstanding communication with the other ranks, releases every
 * resource and leaves the job. Collective over the world: every rank must call it.
 * @return 0; TUBO_ENOTINIT if not initialized; TUBO_EPEER if a peer died meanwhile.
 */
TUBO_EXPORT int tubo_finalize(void);

/**
 * @brief Tells whether ::tubo_init has completed and ::tubo_finalize has not.
 * @param flag receives 1 or 0.
 * @return 0, or TUBO_EINVAL if @p flag is NULL.
 */
TUBO_EXPORT int tubo_initialized(int *flag);

/**
 * @brief Ends the whole job: marks it aborted so that every other rank's blocking call
 * returns TUBO_EABORT, then exits this process with @p code. Does not return.
 * @param comm the communicator whose job ends (any; the whole job ends).
 * @param code the exit status, as MPI_Abort's errorcode.
 * @return only if @p comm is invalid: TUBO_ECOMM.
 */
TUBO_EXPORT int tubo_abort(tubo_comm_t *comm, int code);

/**
 * @brief The rank of the calling process in @p comm, from 0 to size - 1.
 * @return 0; TUBO_ECOMM for a NULL or freed communicator; TUBO_EINVAL for a NULL @p rank.
 */
TUBO_EXPORT int tubo_comm_rank(const tubo_comm_t *comm, int *rank);

/**
 * @brief The number of ranks in @p comm.
 * @return 0; TUBO_ECOMM for a NULL or freed communicator; TUBO_EINVAL for a NULL @p size.
 */
TUBO_EXPORT int tubo_comm_size(const tubo_comm_t *comm, int *size);

/**
 * @brief Sends @p len bytes to rank @p dest with @p tag. Returns once @p buf may be reused:
 * small messages are buffered, large ones once the receiver has taken them.
 * @return 0; TUBO_ERANK, TUBO_ETAG, TUBO_EINVAL (NULL @p buf with @p len > 0),
 *         TUBO_ECOMM; TUBO_EPEER if @p dest is gone; TUBO_EABORT if the job was aborted.
 */
TUBO_EXPORT int tubo_send(const void *buf, size_t len, int dest, int tag, tubo_comm_t *comm);

/**
 * @brief Receives a message from @p source (or ::TUBO_ANY_SOURCE) with @p tag (or
 * ::TUBO_ANY_TAG) into @p buf of @p cap bytes. Messages from one sender that both match
 * arrive in the order sent.
 * @param status may be ::TUBO_STATUS_IGNORE.
 * @return 0; TUBO_ETRUNC if the message is longer than @p cap (the first @p cap bytes
 *         are stored and status->length tells the full length); TUBO_EPEER if @p source
 *         is gone with nothing left to receive from it; argument errors as ::tubo_send.
 */
TUBO_EXPORT int tubo_recv(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                          tubo_status_t *status);

/**
 * @brief Starts a send; @p buf must stay untouched until the request completes.
 * @param req receives the request, to be passed to ::tubo_wait or ::tubo_test.
 * @return 0, or the argument errors of ::tubo_send (no request is created then).
 */
TUBO_EXPORT int tubo_isend(const void *buf, size_t len, int dest, int tag, tubo_comm_t *comm,
                           tubo_request_t **req);

/**
 * @brief Starts a receive; @p buf must not be read until the request completes.
 * @param req receives the request, to be passed to ::tubo_wait or ::tubo_test.
 * @return 0, or the argument errors of ::tubo_recv (no request is created then).
 */
TUBO_EXPORT int tubo_irecv(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                           tubo_request_t **req);

/**
 * @brief Waits for a request to complete, frees it and sets `*req` to NULL.
 * A NULL `*req` completes at once, as MPI_REQUEST_NULL does.
 * @param status may be ::TUBO_STATUS_IGNORE; filled for receives.
 * @return the result of the operation (0, TUBO_ETRUNC, TUBO_EPEER, ...); TUBO_EINVAL if
 *         @p req is NULL.
 */
TUBO_EXPORT int tubo_wait(tubo_request_t **req, tubo_status_t *status);

/**
 * @brief Tests a request without blocking. If it completed, sets @p flag to 1, frees it,
 * sets `*req` to NULL and returns the operation's result; otherwise sets @p flag to 0.
 * @return as ::tubo_wait; TUBO_EINVAL if @p req or @p flag is NULL.
 */
TUBO_EXPORT int tubo_test(tubo_request_t **req, int *flag, tubo_status_t *status);

/**
 * @brief Waits for all @p count requests; each is freed and set to NULL.
 * @param statuses an array of @p count statuses, or ::TUBO_STATUSES_IGNORE; each one's
 *        `error` field tells that request's own result.
 * @return 0 if all succeeded, else the first failing request's error.
 */
TUBO_EXPORT int tubo_waitall(size_t count, tubo_request_t **reqs, tubo_status_t *statuses);

/**
 * @brief Waits until one of @p count requests completes, frees it and sets it to NULL.
 * @param index receives the position of the completed request; (size_t)-1 if every
 *        entry was already NULL.
 * @return the completed operation's result; TUBO_EINVAL for NULL arguments.
 */
TUBO_EXPORT int tubo_waitany(size_t count, tubo_request_t **reqs, size_t *index,
                             tubo_status_t *status);

/**
 * @brief Blocks until a message matching @p source and @p tag can be received, and
 * describes it in @p status without receiving it.
 * @return 0; TUBO_EPEER if @p source is gone with nothing left from it; argument errors.
 */
TUBO_EXPORT int tubo_probe(int source, int tag, tubo_comm_t *comm, tubo_status_t *status);

/**
 * @brief As ::tubo_probe without blocking: @p flag tells whether a message matched.
 * @return 0; TUBO_EINVAL for a NULL @p flag; argument errors as ::tubo_probe.
 */
TUBO_EXPORT int tubo_iprobe(int source, int tag, tubo_comm_t *comm, int *flag,
                            tubo_status_t *status);

/**
 * @brief Sends to @p dest and receives from @p source in one call, without deadlock even
 * when every rank does the same (as MPI_Sendrecv).
 * @return the first error of the send or the receive, else 0.
 */
TUBO_EXPORT int tubo_sendrecv(const void *sbuf, size_t slen, int dest, int stag, void *rbuf,
                              size_t rcap, int source, int rtag, tubo_comm_t *comm,
                              tubo_status_t *status);

/**
 * @brief Blocks until every rank of @p comm has called it.
 * @return 0; TUBO_ECOMM; TUBO_EPEER if a rank died before arriving.
 */
TUBO_EXPORT int tubo_barrier(tubo_comm_t *comm);

/** @brief Seconds since an arbitrary point in the past, from a monotonic clock (MPI_Wtime). */
TUBO_EXPORT double tubo_wtime(void);

/**
 * @brief The text for an error code, for messages to people.
 * @return a static string; "success" for 0 and "unknown error" for unknown codes.
 */
TUBO_EXPORT const char *tubo_strerror(int err);

/**
 * @brief The symbolic name of an error code ("TUBO_ETRUNC"), for logs and tests.
 * @return a static string; "TUBO_OK" for 0 and "TUBO_E?" for unknown codes.
 */
TUBO_EXPORT const char *tubo_err_name(int err);

/** @brief The library's version as "MAJOR.MINOR.PATCH" (of the library loaded, not the header). */
TUBO_EXPORT const char *tubo_version_string(void);

/**
 * @brief Which transport carries messages between this rank and @p rank of @p comm:
 * "self", "shm" or "pipe", for reports and tests.
 * @param name receives a static string.
 * @return 0; TUBO_ECOMM, TUBO_ERANK, TUBO_EINVAL.
 */
TUBO_EXPORT int tubo_comm_transport(const tubo_comm_t *comm, int rank, const char **name);

#ifdef __cplusplus
}
#endif

#endif /* TUBO_H */
