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
 * The header reads as chapters (Doxygen groups): errors and version (@ref tubo_errors),
 * the job (@ref tubo_job), communicators (@ref tubo_comm), point-to-point
 * (@ref tubo_p2p), message buffers and loans (@ref tubo_mem), collectives
 * (@ref tubo_coll), and the patterns of multiprocessing:
 * processes (@ref tubo_process), pipes (@ref tubo_pipe), queues (@ref tubo_queue),
 * pools of workers (@ref tubo_pool), shared memory (@ref tubo_shared), the shared dict, list and
 * Namespace of a Manager
 * (@ref tubo_dict) and CSP channels (@ref tubo_csp).
 *
 * Conventions, for every function below unless its comment says otherwise:
 * - it returns 0 on success or a negative `TUBO_E...` code (see ::tubo_strerror);
 * - a call that makes a handle takes a pointer to it as its last argument
 *   (`tubo_process_create(fn, arg, &proc)`); each handle is let go by its own call
 *   (`_free`, or ::tubo_spawn_join, ::tubo_wait);
 * - options are `unsigned flags`, named bits with 0 as the default (::TUBO_PIPE_ONEWAY,
 *   ::TUBO_QUEUE_JOINABLE); an unknown bit is TUBO_EINVAL;
 * - `_data` accessors (::tubo_array_data, ::tubo_value_data) return a pointer to the
 *   elements; queries that can fail (::tubo_comm_rank, ::tubo_array_length, ...) store
 *   their answer through their last argument and return a code;
 * - handles are opaque and owned by the library, and each kind has its own error code: a
 *   NULL, freed or never-made handle is TUBO_ECOMM (::tubo_comm_t), TUBO_EREQUEST
 *   (::tubo_request_t), TUBO_EPROCESS (::tubo_process_t), TUBO_EPIPE (::tubo_pipe_t),
 *   TUBO_EQUEUE (::tubo_queue_t), TUBO_EARRAY (::tubo_array_t), TUBO_EVALUE
 *   (::tubo_value_t), TUBO_EOP (::tubo_op_t), TUBO_EDICT (::tubo_dict_t), TUBO_ELIST
 *   (::tubo_list_t), TUBO_ENS (::tubo_ns_t), TUBO_ECHANNEL (::tubo_channel_t), TUBO_EPOOL
 *   (::tubo_pool_t) or TUBO_ERESULT (::tubo_pool_result_t), as MPI
 *   has MPI_ERR_COMM and MPI_ERR_REQUEST. Handles are looked up by address before they are
 *   followed, so a stale one is an error, never a crash. A handle of another kind cast to
 *   the expected one is refused the same way. A NULL pointer where the library is to store
 *   a new handle is TUBO_EINVAL. TUBO_EPIPE is about the handle only: a pipe whose other
 *   end is closed gives TUBO_EEOF;
 * - a call that takes a communicator or a request returns TUBO_ENOTINIT before
 *   ::tubo_init and after ::tubo_finalize, whatever the handle;
 * - calls on one process must not run concurrently from several threads.
 *
 * This is the only public header: include it and link with `pkg-config --libs tubo`.
 */
#ifndef TUBO_H
#define TUBO_H

#include <stddef.h>
#include <stdint.h>

/* TUBO_VERSION and TUBO_VERSION_MAJOR, _MINOR, _PATCH: written by configure from AC_INIT. */
#include "tubo_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Marks a declaration as part of the public ABI (symbols are hidden otherwise). */
#if defined(__GNUC__) && defined(TUBO_BUILDING_LIBRARY)
#define TUBO_EXPORT __attribute__((visibility("default")))
#else
#define TUBO_EXPORT
#endif

/**
 * @defgroup tubo_errors Errors and version
 * @brief Every call returns 0 or a negative code of one list, which also gives their names and
 * texts; the version of the header and of the library.
 * @{
 */

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
  X(ELAUNCH, -20, "inconsistent launch (TUBO_* variables, or tubo builds differ)")     \
  X(EDEADLK, -21, "the operation can never complete: no other rank could satisfy it")  \
  X(EEOF, -22, "end of file: the other end is closed and nothing is left to receive")  \
  X(ECLOSED, -23, "the handle was closed")                                             \
  X(EFULL, -24, "the queue is full")                                                   \
  X(EEMPTY, -25, "the queue is empty")                                                 \
  X(EPROCESS, -26, "invalid process handle")                                           \
  X(EPIPE, -27, "invalid pipe handle")                                                 \
  X(EQUEUE, -28, "invalid queue handle")                                               \
  X(EARRAY, -29, "invalid array handle")                                               \
  X(EVALUE, -30, "invalid value handle")                                               \
  X(EOP, -31, "invalid reduction operation handle")                                    \
  X(ENOKEY, -32, "no such key (Python's KeyError)")                                    \
  X(EINDEX, -33, "index out of range (Python's IndexError)")                           \
  X(ETYPE, -34, "the value is of another type")                                        \
  X(EPOISON, -35, "the channel is poisoned")                                           \
  X(ERETIRED, -36, "the channel is retired: all its readers or all its writers left")  \
  X(EDICT, -37, "invalid dict handle")                                                 \
  X(ELIST, -38, "invalid list handle")                                                 \
  X(ENS, -39, "invalid namespace handle")                                              \
  X(ECHANNEL, -40, "invalid channel handle")                                           \
  X(EPOOL, -50, "invalid pool handle")                                                 \
  X(ERESULT, -51, "invalid pool result handle")                                        \
  X(EWORKER, -52, "a pool worker died")                                                \
  X(ETASK, -53, "a pool task's function returned non-zero")

/** @brief Error codes returned by tubo functions; 0 means success. */
enum tubo_error {
  TUBO_OK = 0, /**< Success. */
/** @brief Makes one enumerator of a ::TUBO_ERRORS entry; undefined right after. */
#define TUBO_ERROR_ENUM_(name, value, text) TUBO_##name = (value),
  TUBO_ERRORS(TUBO_ERROR_ENUM_)
#undef TUBO_ERROR_ENUM_
};

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

/**
 * @brief The library's version as "MAJOR.MINOR.PATCH" (of the library loaded, not the header).
 * @return a static string.
 */
TUBO_EXPORT const char *tubo_version_string(void);

/** @} */

/**
 * @ingroup tubo_comm
 * @brief A communicator: a group of ranks that exchange messages (opaque).
 */
typedef struct tubo_comm tubo_comm_t;

/**
 * @defgroup tubo_job The job
 * @brief Joining and leaving the job started by `tuborun` or `mpirun`, ending it, and its clock.
 * @{
 */

/**
 * @brief Initializes tubo and joins the job started by `tuborun`, or by `mpirun` (in a
 * build with Open MPI): there, world ranks are MPI_COMM_WORLD's, ranks of one node share
 * memory and the others are reached through MPI. tubo initializes MPI only if the program
 * has not (and then finalizes it in ::tubo_finalize); it never does under `tuborun`. A
 * program started without a launcher is a world of one rank. See doc/mpi.md.
 * @param argc may be NULL; reserved for launcher arguments, left untouched today.
 * @param argv may be NULL; as @p argc.
 * @return 0; TUBO_EINIT if already initialized or finalized (or MPI was finalized);
 *         TUBO_ELAUNCH if the TUBO_* variables the launcher set are inconsistent, the
 *         launcher or another rank comes from a build of tubo whose shared memory is laid
 *         out otherwise, or MPI could not start; TUBO_ESHM or TUBO_ESYS if the transport cannot be
 * set up; TUBO_EPEER if another rank died or left before joining (under `tuborun`, the error's
 * message names that rank, and the lowest other rank also prints it on standard error unless the
 * error handler prints it; under `mpirun` such a job waits in MPI's own start-up: see doc/mpi.md);
 * TUBO_EABORT if the job was aborted meanwhile.
 */
TUBO_EXPORT int tubo_init(int *argc, char ***argv);

/**
 * @brief Completes outstanding communication with the other ranks, releases every
 * resource and leaves the job. Collective over the world: every rank must call it. Under
 * mpirun it finalizes MPI if ::tubo_init initialized it; a program that called MPI_Init
 * finalizes MPI itself, after this.
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
 * @return only if there is no job to end: TUBO_ECOMM for an invalid @p comm;
 *         TUBO_ENOTINIT before ::tubo_init or after ::tubo_finalize (both through the
 *         world's error handler, or the job's default).
 */
TUBO_EXPORT int tubo_abort(tubo_comm_t *comm, int code);

/**
 * @brief Seconds since an arbitrary point in the past, from a monotonic clock (MPI_Wtime).
 * @return the time in seconds; differences between two calls measure elapsed time.
 */
TUBO_EXPORT double tubo_wtime(void);

/** @} */

/**
 * @defgroup tubo_comm Communicators
 * @brief The ranks of a job and their groups: the world, this rank, their number, and what carries
 * messages to each.
 *
 * A communicator made from another (::tubo_comm_dup, ::tubo_comm_split,
 * ::tubo_comm_split_type) is a group of ranks of its parent with its own rank numbers and a
 * context of its own: a message sent on one communicator is never received, probed or
 * matched on another, whatever its tag. Everything of tubo works on every communicator:
 * point-to-point, probes, the collectives, ::tubo_pipe_open, ::tubo_queue_open,
 * ::tubo_array_open and ::tubo_value_open.
 *
 * Making one is collective over the parent (every rank of the parent calls it, in the
 * same order as its other collectives on the parent) and costs at most one small
 * collective on the parent; the first split of each hardware level of a communicator
 * agrees on nothing and costs no message but an exchange of keys among the new group.
 * Free a communicator with ::tubo_comm_free once nothing is pending on it and the
 * objects opened on it are freed; those left at ::tubo_finalize are freed there.
 * @{
 */

/**
 * @brief The world communicator: every rank of the job.
 * @return the world handle, or NULL before ::tubo_init and after ::tubo_finalize.
 */
TUBO_EXPORT tubo_comm_t *tubo_comm_world(void);
/**
 * @brief What ::TUBO_COMM_WORLD reads: the handle ::tubo_comm_world returns, kept by the
 * library. A variable, so that naming the world's communicator costs no call (as
 * MPI_COMM_WORLD costs none). Read it through ::TUBO_COMM_WORLD only; never write it.
 */
TUBO_EXPORT extern tubo_comm_t *tubo__comm_world_handle;
/** @brief The world communicator, as MPI_COMM_WORLD: the value ::tubo_comm_world returns. */
#define TUBO_COMM_WORLD ((tubo_comm_t *)tubo__comm_world_handle)

/**
 * @brief The rank of the calling process in @p comm, from 0 to size - 1.
 * @return 0; TUBO_ECOMM for a NULL or freed communicator; TUBO_EINVAL for a NULL @p rank;
 *         TUBO_ENOTINIT before ::tubo_init or after ::tubo_finalize.
 */
TUBO_EXPORT int tubo_comm_rank(const tubo_comm_t *comm, int *rank);

/**
 * @brief The number of ranks in @p comm.
 * @return 0; TUBO_ECOMM for a NULL or freed communicator; TUBO_EINVAL for a NULL @p size;
 *         TUBO_ENOTINIT before ::tubo_init or after ::tubo_finalize.
 */
TUBO_EXPORT int tubo_comm_size(const tubo_comm_t *comm, int *size);

/**
 * @brief Which transport carries messages between this rank and @p rank of @p comm:
 * "self", "shm", "pipe" or "mpi" (a rank on another node), for reports and tests.
 * @param name receives a static string.
 * @return 0; TUBO_ECOMM, TUBO_ERANK, TUBO_EINVAL; TUBO_ENOTINIT before ::tubo_init or after
 *         ::tubo_finalize.
 */
TUBO_EXPORT int tubo_comm_transport(const tubo_comm_t *comm, int rank, const char **name);

/**
 * @brief The shared memory that this node's ranks of @p comm's job hold now, in bytes: the
 * pages of the job's segment (control block, inboxes, the channels pairs of ranks made,
 * the shared heap's used pages), as the kernel counts them in /proc/meminfo's Shmem. A
 * job's figure grows with its ranks and the pairs that talk, at most about 16 MiB + 1 MiB
 * per rank besides the objects made in the heap (doc/scale.md).
 * @param bytes receives the figure.
 * @return 0; TUBO_ENOTSUP where @p comm reaches no rank through shared memory (a job of one
 *         rank, ranks on other nodes only); TUBO_ECOMM, TUBO_EINVAL for a NULL @p bytes;
 *         TUBO_ESYS; TUBO_ENOTINIT before ::tubo_init or after ::tubo_finalize.
 */
TUBO_EXPORT int tubo_comm_shm_bytes(const tubo_comm_t *comm, uint64_t *bytes);

/** @brief The color of a rank that wants no communicator from ::tubo_comm_split (or the
 * type for ::tubo_comm_split_type): it gets NULL. */
#define TUBO_UNDEFINED (-32766)

/** @brief The hardware levels of ::tubo_comm_split_type: ranks that share the level's
 * object (as hwloc names them) end up together. */
enum tubo_comm_type {
  TUBO_COMM_TYPE_NODE = 1, /**< ranks of one node, that share memory (MPI_COMM_TYPE_SHARED) */
  TUBO_COMM_TYPE_PACKAGE,  /**< ranks bound inside one package (socket) */
  TUBO_COMM_TYPE_NUMA,     /**< ranks bound inside one NUMA node */
  TUBO_COMM_TYPE_L3CACHE,  /**< ranks bound under one L3 cache */
  TUBO_COMM_TYPE_L2CACHE,  /**< ranks bound under one L2 cache */
  TUBO_COMM_TYPE_CORE      /**< ranks bound to one core */
};

/**
 * @brief Makes a communicator of the same ranks, in the same order, with a context of its
 * own (MPI_Comm_dup): a library given it never meets its caller's messages.
 * Collective over @p comm.
 * @param newcomm receives the new communicator.
 * @return 0; TUBO_ECOMM; TUBO_ENOTINIT; TUBO_EINVAL for a NULL @p newcomm; TUBO_ENOMEM;
 *         TUBO_ETOOBIG when no context id is free on every rank (8192 communicators live
 *         at once); TUBO_EPEER if a rank died.
 */
TUBO_EXPORT int tubo_comm_dup(tubo_comm_t *comm, tubo_comm_t **newcomm);

/**
 * @brief Splits @p comm by @p color: the ranks that pass the same color make one new
 * communicator, ordered by @p key, then by their rank in @p comm (MPI_Comm_split).
 * Collective over @p comm.
 * @param color 0 or more, or ::TUBO_UNDEFINED: this rank gets NULL.
 * @param newcomm receives the new communicator (NULL for ::TUBO_UNDEFINED).
 * @return as ::tubo_comm_dup; TUBO_EINVAL for a negative color other than
 *         ::TUBO_UNDEFINED (on that rank; the others' calls go on without it).
 */
TUBO_EXPORT int tubo_comm_split(tubo_comm_t *comm, int color, int key, tubo_comm_t **newcomm);

/**
 * @brief Splits @p comm by hardware: the ranks that share the object of level @p type
 * (their node, package, NUMA node, L3 or L2 cache, or core) make one communicator,
 * ordered by @p key, then by rank in @p comm (MPI_Comm_split_type). A rank whose binding
 * lies in no single object of that level (an unbound rank on a machine of several L3
 * caches) gets a communicator of itself alone. Collective over @p comm.
 * Which ranks share what is known to every rank without asking (shared memory holds it;
 * under the pipe transport, the ranks tell it once, the first time), and the first split
 * of each level of @p comm uses a context id kept for it when @p comm was made: it costs
 * only the exchange of @p key among the new group. Later splits of a level agree on an id.
 * @param type one of ::tubo_comm_type, or ::TUBO_UNDEFINED (this rank gets NULL).
 * @param newcomm receives the new communicator.
 * @return as ::tubo_comm_dup; TUBO_EINVAL for an unknown @p type.
 */
TUBO_EXPORT int tubo_comm_split_type(tubo_comm_t *comm, int type, int key, tubo_comm_t **newcomm);

/**
 * @brief Frees a communicator made by ::tubo_comm_dup, ::tubo_comm_split or
 * ::tubo_comm_split_type and sets `*comm` to NULL. Collective in MPI's sense: every rank
 * of it frees it, after its last operation on it completed; it does not wait for the
 * others.
 * @return 0; TUBO_EINVAL for a NULL @p comm; TUBO_ECOMM if `*comm` is not a communicator
 *         this call may free (NULL, freed already, the world, one of ::tubo_spawn);
 *         TUBO_ENOTINIT.
 */
TUBO_EXPORT int tubo_comm_free(tubo_comm_t **comm);

/* ---- Error handlers ---- */

/**
 * @brief An error handler (MPI_Comm_errhandler_function): called when a call on @p comm
 * fails, before the call returns @p err to its caller.
 * @param comm the communicator of the failed call (NULL when the call had none that is
 *        valid: the world's handler then serves).
 * @param err the error code the call returns.
 * @param msg what failed, for people: the function, the error and the offending value
 *        ("tubo_send: rank 5 out of range for a communicator of 4").
 */
typedef void tubo_errhandler_fn(tubo_comm_t *comm, int err, const char *msg);

/**
 * @brief What ::TUBO_ERRORS_RETURN names: a handler that does nothing (as `tubo_errhandler_fn`).
 * @return nothing.
 */
TUBO_EXPORT void tubo__errors_return(tubo_comm_t *comm, int err, const char *msg);
/**
 * @brief What ::TUBO_ERRORS_ARE_FATAL names: prints @p msg and aborts the job
 * (as `tubo_errhandler_fn`).
 * @return never.
 */
TUBO_EXPORT void tubo__errors_are_fatal(tubo_comm_t *comm, int err, const char *msg);

/** @brief The handler that does nothing: calls return their error code (MPI_ERRORS_RETURN).
 * The default unless `TUBO_ERRORS=fatal` is set for the job. */
#define TUBO_ERRORS_RETURN (&tubo__errors_return)
/** @brief The handler that prints the error on standard error, with the function, this
 * rank, the error's name and the offending value, and aborts the whole job with exit status
 * 1 as ::tubo_abort does (MPI_ERRORS_ARE_FATAL). The default where `TUBO_ERRORS=fatal`. */
#define TUBO_ERRORS_ARE_FATAL (&tubo__errors_are_fatal)

/**
 * @brief Sets the error handler of @p comm (MPI_Comm_set_errhandler): ::TUBO_ERRORS_RETURN,
 * ::TUBO_ERRORS_ARE_FATAL or a function of the program's. Communicators made from @p comm
 * afterwards inherit it. Without a call, a communicator has the job's default: the
 * setting `TUBO_ERRORS` (`return` or `fatal`, doc/settings.md), else ::TUBO_ERRORS_RETURN.
 * Every call that takes a communicator calls the handler of that communicator when it
 * fails, as MPI's do: point-to-point (send, receive, probe, and the loan calls), wait and
 * test (the handler of the request's communicator), the collectives, blocking and not
 * (a non-blocking one's later failure is reported by the wait or test that sees it, under
 * the collective's name: "tubo_iallreduce (completed in tubo_wait): ..."), the
 * communicator calls (rank, size, transport, dup, split, split_type, free and these two),
 * ::tubo_abort, ::tubo_spawn_join (also when a worker failed) and the open calls of the
 * patterns (::tubo_queue_open, ::tubo_pipe_open, ...). ::tubo_spawn, which has no
 * communicator yet, uses the world's handler, as MPI_Comm_spawn its parent's, and the
 * communicator it makes inherits that handler. A call
 * whose communicator is invalid uses the world's handler, which hears NULL. The traffic a
 * pattern or a collective makes for itself never calls the handler: the public call that
 * needed it returns the error (and calls the handler, if it takes a communicator). Calls
 * on pattern handles and calls that take no communicator return their codes.
 * @param handler the handler; NULL goes back to the job's default.
 * @return 0; TUBO_ECOMM; TUBO_ENOTINIT before ::tubo_init or after ::tubo_finalize.
 */
TUBO_EXPORT int tubo_comm_set_errhandler(tubo_comm_t *comm, tubo_errhandler_fn *handler);

/**
 * @brief The error handler in effect on @p comm (MPI_Comm_get_errhandler): the one set, or
 * the job's default.
 * @param handler receives it.
 * @return 0; TUBO_ECOMM; TUBO_EINVAL for a NULL @p handler; TUBO_ENOTINIT.
 */
TUBO_EXPORT int tubo_comm_get_errhandler(const tubo_comm_t *comm, tubo_errhandler_fn **handler);

/** @} */

/**
 * @defgroup tubo_p2p Point-to-point
 * @brief Messages from one rank to another, as MPI's: blocking and non-blocking sends and receives,
 * requests, probes.
 * @{
 */

/** @brief Wildcard source for receives and probes: match a message from any rank. */
#define TUBO_ANY_SOURCE (-1)
/** @brief A peer that is no rank (MPI_PROC_NULL): a send to it and a receive or probe from
 * it complete at once, moving nothing; the receive's status says source ::TUBO_PROC_NULL,
 * tag ::TUBO_ANY_TAG, length 0. For the edges of a decomposition. */
#define TUBO_PROC_NULL (-2)
/** @brief Wildcard tag for receives and probes: match a message with any tag. */
#define TUBO_ANY_TAG (-1)
/** @brief Largest tag a message may carry; tags run from 0 to this value. */
#define TUBO_TAG_MAX 0x3fffffff
/** @brief Pass where a ::tubo_status_t pointer is expected to ignore the status. */
#define TUBO_STATUS_IGNORE ((tubo_status_t *)0)
/** @brief Pass where an array of statuses is expected to ignore them all. */
#define TUBO_STATUSES_IGNORE ((tubo_status_t *)0)

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
 * @brief Sends @p len bytes to rank @p dest with @p tag. Returns once @p buf may be reused:
 * small messages are buffered, large ones once the receiver has taken them.
 * @return 0; TUBO_ERANK, TUBO_ETAG, TUBO_EINVAL (NULL @p buf with @p len > 0),
 *         TUBO_ETOOBIG (@p len over 16 TiB, as a negative count converted is), TUBO_ECOMM,
 *         TUBO_ENOTINIT (before ::tubo_init or after ::tubo_finalize); TUBO_EPEER if
 *         @p dest is gone; TUBO_EABORT if the job was aborted.
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
 * @return 0, or the argument errors of ::tubo_send, or TUBO_EINVAL for a NULL @p req
 *         (no request is created then).
 */
TUBO_EXPORT int tubo_isend(const void *buf, size_t len, int dest, int tag, tubo_comm_t *comm,
                           tubo_request_t **req);

/**
 * @brief Starts a receive; @p buf must not be read until the request completes.
 * @param req receives the request, to be passed to ::tubo_wait or ::tubo_test.
 * @return 0, or the argument errors of ::tubo_recv, or TUBO_EINVAL for a NULL @p req
 *         (no request is created then).
 */
TUBO_EXPORT int tubo_irecv(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                           tubo_request_t **req);

/**
 * @brief Waits for a request to complete, frees it and sets `*req` to NULL.
 * A NULL `*req` completes at once, as MPI_REQUEST_NULL does.
 * @param status may be ::TUBO_STATUS_IGNORE; filled for receives.
 * @return the result of the operation (0, TUBO_ETRUNC, TUBO_EPEER, ...); TUBO_EINVAL if
 *         @p req is NULL; TUBO_EREQUEST if `*req` is not a pending request (freed, or never
 *         made); TUBO_ENOTINIT before ::tubo_init or after ::tubo_finalize.
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
 * @return 0 if all succeeded, else the first failing request's error; TUBO_EINVAL for a
 *         NULL @p reqs with @p count > 0; TUBO_EREQUEST if an entry is neither NULL nor a
 *         pending request (then none is waited for); TUBO_ENOTINIT before ::tubo_init or
 *         after ::tubo_finalize. @p count larger than the array is not detected. Which
 *         request failed: its status's `error`, or with ::TUBO_STATUSES_IGNORE
 *         ::tubo_waitall_index; the error handler's message names it too.
 */
TUBO_EXPORT int tubo_waitall(size_t count, tubo_request_t **reqs, tubo_status_t *statuses);

/**
 * @brief As ::tubo_waitall, and tells which request failed first without statuses.
 * @param failed receives the position of the first request (in array order) whose
 *        operation failed, or of the entry that is not a request (TUBO_EREQUEST);
 *        (size_t)-1 when the call returns 0 or fails on its other arguments. May be NULL.
 * @return as ::tubo_waitall.
 */
TUBO_EXPORT int tubo_waitall_index(size_t count, tubo_request_t **reqs, tubo_status_t *statuses,
                                   size_t *failed);

/**
 * @brief Waits until one of @p count requests completes, frees it and sets it to NULL.
 * @param index receives the position of the completed request; (size_t)-1 if every
 *        entry was already NULL.
 * @return the completed operation's result; TUBO_EINVAL for NULL arguments; TUBO_EREQUEST
 *         and TUBO_ENOTINIT as ::tubo_waitall.
 */
TUBO_EXPORT int tubo_waitany(size_t count, tubo_request_t **reqs, size_t *index,
                             tubo_status_t *status);

/**
 * @brief Blocks until a message matching @p source and @p tag can be received, and
 * describes it in @p status without receiving it.
 * @return 0; TUBO_EPEER if @p source is gone with nothing left from it; the argument
 *         errors of ::tubo_recv about @p source, @p tag and @p comm.
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

/** @} */

/**
 * @defgroup tubo_mem Message buffers and loans
 * Large messages at the speed of one copy, or of none (doc/large-messages.md).
 * ::tubo_alloc_mem gives a buffer in the job's shared heap, as MPI_Alloc_mem: a message
 * sent from it is copied once, by the receiver, with memcpy. A loan (::tubo_loan) is such
 * a buffer that a send hands over instead of copying: the receiver gets a pointer into
 * the same memory (::tubo_recv_loan) and gives it back with ::tubo_loan_release. Where
 * the peer shares no memory with this rank (another node, the pipe transport) the same
 * calls work by copying. Buffers and loans held by a rank that leaves or dies are given
 * back to the heap by the ranks that remain.
 * @{
 */

/**
 * @brief Allocates @p size bytes in the job's shared heap (private memory where this rank
 * shares none) and gives their address in @p ptr, as MPI_Alloc_mem. Free it with
 * ::tubo_free_mem before ::tubo_finalize.
 * @return 0; TUBO_EINVAL for a NULL @p ptr; TUBO_ENOTINIT outside ::tubo_init ..
 *         ::tubo_finalize; TUBO_ENOMEM when no memory is left (the heap's size is
 *         TUBO_SHM_HEAP_BYTES).
 */
TUBO_EXPORT int tubo_alloc_mem(size_t size, void **ptr);

/**
 * @brief Frees a buffer of ::tubo_alloc_mem (or a loan, as ::tubo_loan_release). NULL is
 * nothing to free. The last buffer or loan of at most 8 MiB a rank freed stays with that
 * rank for its next one of a similar size (doc/large-messages.md).
 * @return 0; TUBO_EINVAL when @p ptr is no such buffer held by this rank (or was freed).
 */
TUBO_EXPORT int tubo_free_mem(void *ptr);

/**
 * @brief Lends this rank a buffer of @p len bytes for a message to rank @p dest of
 * @p comm: in memory @p dest shares where it does, so that ::tubo_send_loan hands the
 * buffer over without a copy. The buffer is this rank's until it sends or releases it.
 * @return 0; TUBO_EINVAL for a NULL @p ptr; TUBO_ECOMM, TUBO_ERANK as ::tubo_send;
 *         TUBO_ENOMEM when no memory is left.
 */
TUBO_EXPORT int tubo_loan(tubo_comm_t *comm, int dest, size_t len, void **ptr);

/**
 * @brief Sends the first @p len bytes of the loan @p ptr to rank @p dest of @p comm with
 * @p tag, handing the buffer over: where @p dest shares the memory nothing is copied and
 * the call returns once the message is queued; elsewhere it is sent as ::tubo_send would
 * and the buffer released. After an argument error the loan stays the caller's; after
 * any other return it is no longer (whatever happened to the message).
 * @return 0; TUBO_EINVAL when @p ptr is no loan of this rank or @p len exceeds it; the
 *         argument and delivery errors of ::tubo_send.
 */
TUBO_EXPORT int tubo_send_loan(void *ptr, size_t len, int dest, int tag, tubo_comm_t *comm);

/**
 * @brief Receives a message matching @p source and @p tag (wildcards allowed) as a loan:
 * @p ptr points at its data (status->length bytes), in the sender's shared memory when it
 * came as a loan (no copy), else in a buffer filled as ::tubo_recv would. Give it back
 * with ::tubo_loan_release.
 * @return 0; TUBO_EINVAL for a NULL @p ptr; TUBO_ENOMEM; the errors of ::tubo_recv.
 */
TUBO_EXPORT int tubo_recv_loan(int source, int tag, tubo_comm_t *comm, void **ptr,
                               tubo_status_t *status);

/**
 * @brief Gives back a loan this rank holds (one of ::tubo_loan not sent, or of
 * ::tubo_recv_loan). NULL is nothing to release.
 * @return 0; TUBO_EINVAL when @p ptr is no loan this rank holds.
 */
TUBO_EXPORT int tubo_loan_release(void *ptr);

/** @} */

/**
 * @defgroup tubo_coll Collectives
 * @brief Barrier, broadcast, reductions, gathers, scatters and all-to-all, as MPI's.
 *
 * Every rank of the communicator calls the same collectives in the same order, with the
 * same root, type, operation and counts where MPI asks it. Buffers hold @p count elements
 * of one ::tubo_type_t (the same for sending and receiving; ::TUBO_BYTE for raw bytes);
 * counts and displacements are `size_t`, in elements. ::TUBO_IN_PLACE stands for the send
 * buffer where MPI allows it (each call says how).
 *
 * Reductions are reproducible: every rank gets bitwise the same result, floating point
 * included, and the same data reduced again on the same communicator gives the same bits,
 * whichever algorithm the size picks and blocking or not. The order is fixed: on one node
 * (or for an operation that is not commutative) the ranks' values combine as a balanced
 * binary tree over the ranks in order: when the size is not a power of two, 2k and 2k + 1
 * combine first for the lowest ranks until a power of two of parts is left; then
 * neighbouring parts pair up, level by level, the lower ranks' part always on the left
 * (`in` of ::tubo_op_fn). Across nodes (a commutative operation), each node's ranks combine
 * so, then the nodes' parts so, nodes ordered by their first rank. doc/design.md has it.
 *
 * Errors, for every collective: TUBO_ECOMM for a NULL or freed communicator; TUBO_ENOTINIT
 * before ::tubo_init or after ::tubo_finalize; TUBO_EOP for a NULL, freed or never-made
 * operation (or a handle of another kind); TUBO_EINVAL for an unknown type or an
 * operation undefined on the type (::TUBO_BAND on doubles), a NULL
 * buffer where elements must go (a count above 0), ::TUBO_IN_PLACE where the call does
 * not allow it, or a send and a receive buffer that overlap (pass ::TUBO_IN_PLACE
 * instead); TUBO_ERANK for a root out of range; TUBO_ETOOBIG when a buffer's bytes
 * exceed PTRDIFF_MAX; TUBO_EPEER when a rank of the communicator died (every other rank's
 * call that needs its part returns it, within a second); TUBO_EABORT after ::tubo_abort.
 * An argument error is returned on the rank that made it, which takes no part in the
 * collective: the other ranks' calls wait for it, as in MPI.
 * @{
 */

/** @brief Element types of collectives, shared arrays and values, by the typecodes of
 * Python's array and struct modules (numpy's for long double and complex). */
typedef enum tubo_type {
  TUBO_CHAR = 'c',    /**< char */
  TUBO_BYTE = 'B',    /**< unsigned char (also raw bytes, for records) */
  TUBO_SHORT = 'h',   /**< short */
  TUBO_INT = 'i',     /**< int */
  TUBO_UINT = 'I',    /**< unsigned int */
  TUBO_LONG = 'l',    /**< long */
  TUBO_ULONG = 'L',   /**< unsigned long */
  TUBO_LLONG = 'q',   /**< long long */
  TUBO_FLOAT = 'f',   /**< float */
  TUBO_DOUBLE = 'd',  /**< double */
  TUBO_SCHAR = 'b',   /**< signed char */
  TUBO_USHORT = 'H',  /**< unsigned short */
  TUBO_ULLONG = 'Q',  /**< unsigned long long */
  TUBO_BOOL = '?',    /**< bool (_Bool) */
  TUBO_LDOUBLE = 'g', /**< long double */
  TUBO_CFLOAT = 'F',  /**< float complex */
  TUBO_CDOUBLE = 'D'  /**< double complex */
} tubo_type_t;

/** @brief int8_t, as a ::tubo_type_t (the same type on every platform tubo builds on). */
#define TUBO_INT8 TUBO_SCHAR
/** @brief uint8_t. */
#define TUBO_UINT8 TUBO_BYTE
/** @brief int16_t. */
#define TUBO_INT16 TUBO_SHORT
/** @brief uint16_t. */
#define TUBO_UINT16 TUBO_USHORT
/** @brief int32_t. */
#define TUBO_INT32 TUBO_INT
/** @brief uint32_t. */
#define TUBO_UINT32 TUBO_UINT
/** @brief int64_t. */
#define TUBO_INT64 TUBO_LLONG
/** @brief uint64_t. */
#define TUBO_UINT64 TUBO_ULLONG

/** @brief Stands for the send buffer of a collective: the data is in the receive buffer
 * (MPI_IN_PLACE). */
#define TUBO_IN_PLACE ((void *)1)

/** @brief A reduction operation (opaque): a predefined one (::TUBO_SUM ...) or a user's. */
typedef struct tubo_op tubo_op_t;

/**
 * @brief A user's reduction: combines @p count elements of @p type, `inout[i] = in[i] op
 * inout[i]`, as MPI's user functions do. @p in holds the part of ranks below those of
 * @p inout's part when the order matters (an operation made not commutative).
 */
typedef void (*tubo_op_fn)(const void *in, void *inout, size_t count, tubo_type_t type);

/** @cond INTERNAL */
TUBO_EXPORT extern struct tubo_op tubo__op_sum, tubo__op_prod, tubo__op_min, tubo__op_max,
    tubo__op_land, tubo__op_lor, tubo__op_lxor, tubo__op_band, tubo__op_bor, tubo__op_bxor;
/** @endcond */

/** @brief Sum (every type). */
#define TUBO_SUM (&tubo__op_sum)
/** @brief Product (every type). */
#define TUBO_PROD (&tubo__op_prod)
/** @brief Minimum (every type but the complex ones). */
#define TUBO_MIN (&tubo__op_min)
/** @brief Maximum (every type but the complex ones). */
#define TUBO_MAX (&tubo__op_max)
/** @brief Logical and: 1 if both are non-zero (every type). */
#define TUBO_LAND (&tubo__op_land)
/** @brief Logical or (every type). */
#define TUBO_LOR (&tubo__op_lor)
/** @brief Logical exclusive or (every type). */
#define TUBO_LXOR (&tubo__op_lxor)
/** @brief Bitwise and (integer types and bool). */
#define TUBO_BAND (&tubo__op_band)
/** @brief Bitwise or (integer types and bool). */
#define TUBO_BOR (&tubo__op_bor)
/** @brief Bitwise exclusive or (integer types and bool). */
#define TUBO_BXOR (&tubo__op_bxor)

/**
 * @brief Makes a reduction operation of a user's function (MPI_Op_create). A commutative
 * one may be combined in any order tubo's fixed order allows; one that is not is always
 * combined with the lower ranks' part as @p in.
 * @param op receives the operation; free it with ::tubo_op_free.
 * @return 0; TUBO_EINVAL for a NULL @p fn or @p op; TUBO_ENOMEM.
 */
TUBO_EXPORT int tubo_op_create(tubo_op_fn fn, int commutative, tubo_op_t **op);

/**
 * @brief Frees an operation made by ::tubo_op_create and sets `*op` to NULL.
 * @return 0; TUBO_EINVAL for a NULL @p op; TUBO_EOP if `*op` is NULL, a predefined
 *         operation, one freed already or not an operation.
 */
TUBO_EXPORT int tubo_op_free(tubo_op_t **op);

/**
 * @brief Blocks until every rank of @p comm has called it.
 * @return 0, or the errors of every collective (above).
 */
TUBO_EXPORT int tubo_barrier(tubo_comm_t *comm);

/**
 * @brief Copies @p count elements of @p buf at rank @p root into @p buf at every rank.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_bcast(void *buf, size_t count, tubo_type_t type, int root, tubo_comm_t *comm);

/**
 * @brief Combines the ranks' @p count elements of @p sbuf with @p op into @p rbuf at
 * @p root (@p rbuf is not used elsewhere and may be NULL there).
 * @param sbuf the data, or at the root ::TUBO_IN_PLACE: the root's data is in @p rbuf.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_reduce(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                            const tubo_op_t *op, int root, tubo_comm_t *comm);

/**
 * @brief As ::tubo_reduce, with the result in @p rbuf at every rank: bitwise the same
 * everywhere.
 * @param sbuf the data, or ::TUBO_IN_PLACE: this rank's data is in @p rbuf.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_allreduce(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                               const tubo_op_t *op, tubo_comm_t *comm);

/**
 * @brief Gathers @p count elements from every rank into @p rbuf at @p root, rank i's at
 * element i * @p count (@p rbuf holds size * count elements there; elsewhere unused).
 * @param sbuf the data, or at the root ::TUBO_IN_PLACE: the root's part is in place.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_gather(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, int root,
                            tubo_comm_t *comm);

/**
 * @brief As ::tubo_gather with a count for each rank: rank i sends @p scount elements,
 * which land at element @p displs[i] of @p rbuf; @p rcounts[i] must equal rank i's
 * @p scount (@p rcounts and @p displs are read at the root only).
 * @return 0, or the errors of every collective; TUBO_ETRUNC at the root when a rank sent
 *         more than its @p rcounts entry (the rest is dropped).
 */
TUBO_EXPORT int tubo_gatherv(const void *sbuf, size_t scount, void *rbuf, const size_t *rcounts,
                             const size_t *displs, tubo_type_t type, int root, tubo_comm_t *comm);

/**
 * @brief Sends element block i (@p count elements at i * @p count) of @p sbuf at
 * @p root to rank i's @p rbuf.
 * @param rbuf the block's place, or at the root ::TUBO_IN_PLACE: its block stays in sbuf.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_scatter(const void *sbuf, void *rbuf, size_t count, tubo_type_t type, int root,
                             tubo_comm_t *comm);

/**
 * @brief As ::tubo_scatter with a block for each rank: @p scounts[i] elements at element
 * @p displs[i] of @p sbuf go to rank i, which receives @p rcount (@p scounts and
 * @p displs are read at the root only).
 * @return 0, or the errors of every collective; TUBO_ETRUNC on a rank whose @p rcount is
 *         below its @p scounts entry.
 */
TUBO_EXPORT int tubo_scatterv(const void *sbuf, const size_t *scounts, const size_t *displs,
                              void *rbuf, size_t rcount, tubo_type_t type, int root,
                              tubo_comm_t *comm);

/**
 * @brief Gathers @p count elements from every rank into @p rbuf at every rank.
 * @param sbuf the data, or ::TUBO_IN_PLACE: this rank's part is in place in @p rbuf.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_allgather(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                               tubo_comm_t *comm);

/**
 * @brief As ::tubo_allgather with a count for each rank: rank i's @p scount elements land
 * at element @p displs[i] of every rank's @p rbuf; @p rcounts[i] must equal rank i's
 * @p scount.
 * @return 0, or the errors of every collective; TUBO_ETRUNC where a rank sent more than
 *         its @p rcounts entry.
 */
TUBO_EXPORT int tubo_allgatherv(const void *sbuf, size_t scount, void *rbuf, const size_t *rcounts,
                                const size_t *displs, tubo_type_t type, tubo_comm_t *comm);

/**
 * @brief Sends block j (@p count elements at j * @p count) of each rank's @p sbuf to rank
 * j, where it lands as block i of @p rbuf, i the sender.
 * @param sbuf the data, or ::TUBO_IN_PLACE: the blocks are in @p rbuf and are replaced.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_alltoall(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                              tubo_comm_t *comm);

/**
 * @brief As ::tubo_alltoall with counts and displacements (in elements) for each peer,
 * for sending (@p scounts, @p sdispls) and receiving (@p rcounts, @p rdispls).
 * @param sbuf the data, or ::TUBO_IN_PLACE: the blocks are at @p rbuf's @p rdispls with
 *        @p rcounts, and are replaced (@p scounts and @p sdispls are then unused).
 * @return 0, or the errors of every collective; TUBO_ETRUNC where a rank sent more than
 *         the receiver's count for it.
 */
TUBO_EXPORT int tubo_alltoallv(const void *sbuf, const size_t *scounts, const size_t *sdispls,
                               void *rbuf, const size_t *rcounts, const size_t *rdispls,
                               tubo_type_t type, tubo_comm_t *comm);

/**
 * @brief Reduces size * @p count elements across the ranks, as ::tubo_allreduce, and
 * leaves block i (@p count elements) of the result at rank i.
 * @param sbuf size * @p count elements, or ::TUBO_IN_PLACE: they are in @p rbuf, whose
 *        first @p count elements receive the block.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_reduce_scatter_block(const void *sbuf, void *rbuf, size_t count,
                                          tubo_type_t type, const tubo_op_t *op, tubo_comm_t *comm);

/**
 * @brief Inclusive prefix reduction: rank i gets ranks 0..i's data combined, in rank
 * order, in @p rbuf.
 * @param sbuf the data, or ::TUBO_IN_PLACE: this rank's data is in @p rbuf.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_scan(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                          const tubo_op_t *op, tubo_comm_t *comm);

/**
 * @brief Exclusive prefix reduction: rank i > 0 gets ranks 0..i-1's data combined; rank
 * 0's @p rbuf is left as it was.
 * @param sbuf the data, or ::TUBO_IN_PLACE: this rank's data is in @p rbuf.
 * @return 0, or the errors of every collective.
 */
TUBO_EXPORT int tubo_exscan(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                            const tubo_op_t *op, tubo_comm_t *comm);

/**
 * @brief Starts a barrier: the request completes once every rank has started it. It
 * progresses inside every tubo call of this rank (::tubo_test between chunks of work
 * overlaps it) and may overlap point-to-point traffic on the same communicator.
 * @param req receives the request, for ::tubo_wait, ::tubo_test or ::tubo_waitall.
 * @return 0, or the errors of every collective; TUBO_EINVAL for a NULL @p req (nothing is
 *         started then).
 */
TUBO_EXPORT int tubo_ibarrier(tubo_comm_t *comm, tubo_request_t **req);

/**
 * @brief Starts a ::tubo_bcast; @p buf must stay untouched until the request completes.
 * @return as ::tubo_ibarrier.
 */
TUBO_EXPORT int tubo_ibcast(void *buf, size_t count, tubo_type_t type, int root, tubo_comm_t *comm,
                            tubo_request_t **req);

/**
 * @brief Starts a ::tubo_allreduce, with the same result, bit for bit; the buffers must
 * stay untouched until the request completes.
 * @return as ::tubo_ibarrier.
 */
TUBO_EXPORT int tubo_iallreduce(const void *sbuf, void *rbuf, size_t count, tubo_type_t type,
                                const tubo_op_t *op, tubo_comm_t *comm, tubo_request_t **req);

/** @} */

/* ======================================================================================
 * The patterns of Python's multiprocessing: Process, spawned workers, Pipe, Queue,
 * JoinableQueue, shared Array and Value. Objects made with *_create live in shared memory
 * that processes started (forked) afterwards inherit, as in Python; objects made with
 * *_open are collective over a communicator: in a node's shared memory where its ranks
 * share one, else held by its rank 0, which serves the others (doc/mpi.md).
 * Timeouts are in milliseconds: -1 waits for ever, 0 does not wait.
 * A NULL handle, or one already freed, is the code of its kind (TUBO_EPROCESS, TUBO_EPIPE,
 * TUBO_EQUEUE, TUBO_EARRAY, TUBO_EVALUE) for every call that takes it.
 * ====================================================================================== */

/**
 * @defgroup tubo_process Processes
 * @brief Processes started from a function, as multiprocessing.Process, and workers spawned with a
 * communicator of their own.
 * @{
 */

/** @brief A process started from a function, as multiprocessing.Process (opaque). */
typedef struct tubo_process tubo_process_t;

/** @brief What a process runs; its return value is the process's exit status (0..255). */
typedef int (*tubo_process_fn)(void *arg);

/**
 * @brief Makes a process that will run @p fn(@p arg) once started (Process(target=...)).
 * The "process as object" style is the same call with @p arg pointing at the object.
 * @return 0; TUBO_EINVAL for a NULL @p proc or @p fn; TUBO_ENOMEM.
 */
TUBO_EXPORT int tubo_process_create(tubo_process_fn fn, void *arg, tubo_process_t **proc);

/**
 * @brief Starts the process (fork): it sees a copy of this process's memory as it is now,
 * and the shared objects (Queue, Pipe, Array, Value) made before. It dies if this process
 * dies. Output buffered in stdio is flushed first, so that it is not printed twice.
 * @return 0; TUBO_EPROCESS; TUBO_EINVAL if already started; TUBO_ESYS if fork failed.
 */
TUBO_EXPORT int tubo_process_start(tubo_process_t *proc);

/**
 * @brief Waits for the process to end, at most @p timeout_ms.
 * @return 0 once it ended; TUBO_ETIMEDOUT; TUBO_EPROCESS; TUBO_EINVAL if never started.
 */
TUBO_EXPORT int tubo_process_join(tubo_process_t *proc, int timeout_ms);

/**
 * @brief The process id, once started.
 * @return 0; TUBO_EPROCESS; TUBO_EINVAL if not started or a NULL @p pid.
 */
TUBO_EXPORT int tubo_process_pid(const tubo_process_t *proc, int *pid);

/**
 * @brief The exit code as Python's exitcode: the function's return value, or minus the
 * signal number that killed it.
 * @return 0; TUBO_EAGAIN while it runs (Python's None); TUBO_EPROCESS; TUBO_EINVAL if
 *         never started or a NULL @p code.
 */
TUBO_EXPORT int tubo_process_exitcode(tubo_process_t *proc, int *code);

/**
 * @brief Whether the process has started and not yet ended.
 * @return 0; TUBO_EPROCESS; TUBO_EINVAL for a NULL @p alive.
 */
TUBO_EXPORT int tubo_process_is_alive(tubo_process_t *proc, int *alive);

/**
 * @brief Sends SIGTERM to the process, as Process.terminate().
 * @return 0 (also if it already ended); TUBO_EPROCESS; TUBO_EINVAL if never started.
 */
TUBO_EXPORT int tubo_process_terminate(tubo_process_t *proc);

/**
 * @brief Frees the handle. A process still running keeps running, unjoined.
 * @return 0; TUBO_EPROCESS.
 */
TUBO_EXPORT int tubo_process_free(tubo_process_t *proc);

/** @brief What each spawned worker runs, with its communicator (see ::tubo_spawn). */
typedef int (*tubo_spawn_fn)(tubo_comm_t *comm, void *arg);

/**
 * @brief Starts @p nworkers processes (fork) and connects them and this process in a new
 * communicator: this process is rank 0, the workers ranks 1..nworkers, and everything in
 * tubo works between them, with no launcher. Each worker runs @p fn(comm, @p arg); its
 * return value is its exit status. In a worker, ::TUBO_COMM_WORLD is that communicator.
 * @param comm receives the communicator, for this process (rank 0).
 * It works from any process: a plain program, a rank of a tuborun job, a worker.
 * The new communicator inherits the error handler of this process's world, which also
 * hears this call's errors (::tubo_comm_set_errhandler).
 * @return 0; TUBO_EINVAL for bad arguments; TUBO_ESHM; TUBO_ESYS.
 */
TUBO_EXPORT int tubo_spawn(int nworkers, tubo_spawn_fn fn, void *arg, tubo_comm_t **comm);

/**
 * @brief Waits for every worker of a communicator made by ::tubo_spawn to end, then frees
 * the communicator and sets `*comm` to NULL.
 * @param exit_codes NULL, or room for nworkers exit codes, as ::tubo_process_exitcode.
 * @return 0 if every worker returned 0, else TUBO_EPEER (the communicator's error handler
 *         hears which worker failed and how); TUBO_EINVAL for a NULL @p comm;
 *         TUBO_ECOMM if `*comm` is not a live spawned communicator of this process (NULL,
 *         the world, one joined already); TUBO_ENOTINIT when this process has no world at
 *         all (neither initialized nor with a spawned communicator).
 */
TUBO_EXPORT int tubo_spawn_join(tubo_comm_t **comm, int *exit_codes);

/** @} */

/**
 * @defgroup tubo_pipe Pipes
 * @brief Two connected ends, as multiprocessing.Pipe: between processes forked afterwards, or
 * between two ranks.
 * @{
 */

/** @brief One end of a pipe, as a multiprocessing Connection (opaque). */
typedef struct tubo_pipe tubo_pipe_t;

/**
 * @brief ::tubo_pipe_create flag: both ends send and receive, as Pipe() and Pipe(True).
 * It is 0, the default: a pipe is duplex unless ::TUBO_PIPE_ONEWAY is given.
 */
#define TUBO_PIPE_DUPLEX 0u
/** @brief ::tubo_pipe_create flag: @p end0 only receives and @p end1 only sends, as Pipe(False). */
#define TUBO_PIPE_ONEWAY 1u

/**
 * @brief Makes a pipe, as multiprocessing.Pipe(duplex): two ends, each to be used by one
 * process (forked after this call). Messages are ordered and framed, of any length.
 * @param flags ::TUBO_PIPE_DUPLEX (0): both ends send and receive; ::TUBO_PIPE_ONEWAY:
 *        @p end0 only receives and @p end1 only sends.
 * @return 0; TUBO_EINVAL for NULL arguments or unknown flags; TUBO_ESHM; TUBO_ESYS.
 */
TUBO_EXPORT int tubo_pipe_create(unsigned flags, tubo_pipe_t **end0, tubo_pipe_t **end1);

/**
 * @brief Opens a duplex pipe between this rank and @p peer of @p comm; both ranks call it,
 * and two ranks that open several pipes to each other open them in the same order. Free
 * the pipe before the communicator: once it is gone (::tubo_spawn_join, ::tubo_finalize),
 * ::tubo_pipe_send, ::tubo_pipe_recv, ::tubo_pipe_recv_alloc and ::tubo_pipe_poll return
 * TUBO_ECOMM (TUBO_ENOTINIT when this process has no world left: after ::tubo_finalize,
 * or uninitialized), and ::tubo_pipe_close tells nobody.
 * @return 0; TUBO_ECOMM, TUBO_ENOTINIT, TUBO_ERANK (also for oneself), TUBO_EINVAL,
 *         TUBO_ENOMEM.
 */
TUBO_EXPORT int tubo_pipe_open(tubo_comm_t *comm, int peer, tubo_pipe_t **end);

/**
 * @brief Sends one message of @p len bytes (0 allowed) to the other end.
 * @return 0; TUBO_EEOF if the other end is closed (nobody will ever read it: Python's
 *         BrokenPipeError): at once when its last holder closed it or exited, at the
 *         latest when the send must wait for the reader when the last holder was killed
 *         (a signal); TUBO_EPIPE; TUBO_ECLOSED if this end is closed; TUBO_ENOTSUP on the receiving
 *         end of a one-way pipe; TUBO_EINVAL (NULL @p buf with @p len > 0); TUBO_ETOOBIG
 *         if @p len exceeds PTRDIFF_MAX (a negative count converted); TUBO_ECORRUPT if the
 *         pipe's shared memory was overwritten.
 */
TUBO_EXPORT int tubo_pipe_send(tubo_pipe_t *end, const void *buf, size_t len);

/**
 * @brief Receives the next message into @p buf of @p cap bytes, waiting for one.
 * @param len receives the message's length (may be NULL).
 * @return 0; TUBO_EEOF once the other end is closed (or its process died) and every
 *         message was received, as Python's EOFError; TUBO_ETRUNC if the message was longer
 *         than @p cap (the first @p cap bytes are stored, the rest dropped); TUBO_EPIPE;
 *         TUBO_ECLOSED;
 *         TUBO_ENOTSUP on the sending end of a one-way pipe; TUBO_EINVAL (NULL @p buf with
 *         @p cap > 0).
 */
TUBO_EXPORT int tubo_pipe_recv(tubo_pipe_t *end, void *buf, size_t cap, size_t *len);

/**
 * @brief As ::tubo_pipe_recv, into a buffer it allocates whatever the length; release it
 * with free(). `*buf` is NULL for an empty message (and on errors).
 * @return as ::tubo_pipe_recv, never TUBO_ETRUNC; TUBO_ENOMEM if the buffer cannot be
 *         allocated (the message stays in the pipe).
 */
TUBO_EXPORT int tubo_pipe_recv_alloc(tubo_pipe_t *end, void **buf, size_t *len);

/**
 * @brief Waits at most @p timeout_ms for a message (or the end of file) to be ready.
 * @param ready receives 1 when ::tubo_pipe_recv would not wait, else 0.
 * @return 0; TUBO_EPIPE; TUBO_ECLOSED; TUBO_EINVAL for a NULL @p ready; TUBO_ENOTSUP on
 *         the sending end of a one-way pipe.
 */
TUBO_EXPORT int tubo_pipe_poll(tubo_pipe_t *end, int timeout_ms, int *ready);

/**
 * @brief Closes this process's use of the end, as Connection.close(): once every process
 * that holds the other end's peer has closed it (or exited), the other end reads
 * TUBO_EEOF. Further calls on this handle return TUBO_ECLOSED; free it with
 * ::tubo_pipe_free.
 * @return 0; TUBO_ECLOSED if already closed; TUBO_EPIPE.
 */
TUBO_EXPORT int tubo_pipe_close(tubo_pipe_t *end);

/** @brief Closes the end if needed and frees the handle. @return 0; TUBO_EPIPE. */
TUBO_EXPORT int tubo_pipe_free(tubo_pipe_t *end);

/** @} */

/**
 * @defgroup tubo_queue Queues
 * @brief Multi-producer multi-consumer FIFOs, as multiprocessing.Queue and JoinableQueue.
 * @{
 */

/** @brief A multi-producer multi-consumer FIFO of byte items (opaque). */
typedef struct tubo_queue tubo_queue_t;

/** @brief ::tubo_queue_create flag: a JoinableQueue (task_done and join). */
#define TUBO_QUEUE_JOINABLE 1u

/**
 * @brief ::tubo_queue_create capacity: no bound, as multiprocessing.Queue() without a
 * size. Its items live in a shared heap that grows as they are put (TUBO_PROCESS_HEAP_BYTES
 * for queues made by ::tubo_queue_create, the job's heap for ::tubo_queue_open); a put
 * never waits, and fails with TUBO_ESHM only when that heap is exhausted.
 */
#define TUBO_QUEUE_UNBOUNDED ((size_t)0)

/**
 * @brief Makes a queue, as multiprocessing.Queue(capacity) (or JoinableQueue with
 * ::TUBO_QUEUE_JOINABLE), for processes forked afterwards.
 * @param capacity most items it holds; put waits when it is full. ::TUBO_QUEUE_UNBOUNDED
 *        (0): no bound, as Queue() (doc/pattern-queue.md says how to choose). An
 *        unbounded queue is freed with the heap's blocks by its maker's ::tubo_queue_free:
 *        the maker frees it after the processes that use it are done.
 * @param item_max largest item, in bytes.
 * @return 0; TUBO_EINVAL (NULL, zero item_max, unknown flags); TUBO_ETOOBIG; TUBO_ESHM.
 */
TUBO_EXPORT int tubo_queue_create(size_t capacity, size_t item_max, unsigned flags,
                                  tubo_queue_t **q);

/**
 * @brief As ::tubo_queue_create, shared by all ranks of @p comm; collective, with the same
 * arguments on every rank. Where the ranks share no memory (they span nodes under mpirun,
 * or the job uses the pipe transport), rank 0 of @p comm holds the queue and serves the
 * others' calls whenever it is inside a tubo call, and under mpirun also while it waits in
 * an MPI call of the program's own; its ::tubo_queue_free then waits until every other
 * rank freed its handle (doc/pattern-queue.md).
 * Free the queue before the communicator's world ends (::tubo_finalize, ::tubo_spawn_join):
 * its memory goes with the job, and a queue used after that is undefined.
 * @return as ::tubo_queue_create; TUBO_ECOMM (also for a NULL @p comm before ::tubo_init);
 *         TUBO_ENOTINIT for another @p comm before ::tubo_init or after ::tubo_finalize;
 *         TUBO_EINVAL on a rank whose arguments differ from the other ranks';
 *         TUBO_ENOTSUP where the ranks share no memory under mpirun, the program initialized
 *         MPI itself and tubo cannot serve from MPI's progress (`TUBO_MPI_SERVE=0`, an MPI
 *         other than Open MPI; doc/mpi.md).
 */
TUBO_EXPORT int tubo_queue_open(tubo_comm_t *comm, size_t capacity, size_t item_max, unsigned flags,
                                tubo_queue_t **q);

/**
 * @brief Puts one item of @p len bytes, waiting at most @p timeout_ms for room (an
 * unbounded queue never waits).
 * @return 0; TUBO_EFULL (timeout 0, full); TUBO_ETIMEDOUT; TUBO_ETOOBIG (len > item_max);
 *         TUBO_EQUEUE; TUBO_ECLOSED; TUBO_EINVAL (NULL @p item with @p len > 0);
 *         TUBO_ESHM (unbounded: its heap is exhausted); TUBO_ECORRUPT if the queue's
 *         memory was overwritten.
 */
TUBO_EXPORT int tubo_queue_put(tubo_queue_t *q, const void *item, size_t len, int timeout_ms);

/**
 * @brief Gets the oldest item into @p buf of @p cap bytes, waiting at most @p timeout_ms.
 * Items from one producer come out in the order put; every item comes out once.
 * @param len receives the item's length (may be NULL).
 * @return 0; TUBO_EEMPTY (timeout 0, empty); TUBO_ETIMEDOUT; TUBO_ETRUNC (item longer
 *         than @p cap: the first @p cap bytes are stored, and the item is consumed);
 *         TUBO_EQUEUE; TUBO_ECLOSED; TUBO_EINVAL (NULL @p buf with @p cap > 0);
 *         TUBO_ECORRUPT if the queue's memory was overwritten.
 */
TUBO_EXPORT int tubo_queue_get(tubo_queue_t *q, void *buf, size_t cap, size_t *len, int timeout_ms);

/**
 * @brief Approximate number of items (qsize()).
 * @return 0; TUBO_EQUEUE; TUBO_ECLOSED; TUBO_EINVAL for a NULL @p n.
 */
TUBO_EXPORT int tubo_queue_size(const tubo_queue_t *q, size_t *n);

/** @brief Whether the queue is empty (approximately, as empty()). @return as above. */
TUBO_EXPORT int tubo_queue_empty(const tubo_queue_t *q, int *empty);

/** @brief Whether the queue is full (approximately, as full(); never for an unbounded
 * one). @return as above. */
TUBO_EXPORT int tubo_queue_full(const tubo_queue_t *q, int *full);

/**
 * @brief JoinableQueue.task_done(): one item got earlier is processed.
 * @return 0; TUBO_EINVAL if called more times than items were put (Python's ValueError);
 *         TUBO_ENOTSUP for a queue that is not joinable; TUBO_EQUEUE; TUBO_ECLOSED.
 */
TUBO_EXPORT int tubo_queue_task_done(tubo_queue_t *q);

/**
 * @brief JoinableQueue.join(): waits, at most @p timeout_ms, until every item put has
 * been marked done.
 * @return 0; TUBO_ETIMEDOUT; TUBO_ENOTSUP for a queue that is not joinable; TUBO_EQUEUE;
 *         TUBO_ECLOSED.
 */
TUBO_EXPORT int tubo_queue_join(tubo_queue_t *q, int timeout_ms);

/**
 * @brief Queue.close(): this process will not use the queue through this handle again;
 * further calls return TUBO_ECLOSED. Other processes and handles are unaffected.
 * @return 0; TUBO_ECLOSED if already closed; TUBO_EQUEUE.
 */
TUBO_EXPORT int tubo_queue_close(tubo_queue_t *q);

/** @brief Frees the handle (closing it if needed). @return 0; TUBO_EQUEUE. */
TUBO_EXPORT int tubo_queue_free(tubo_queue_t *q);

/** @} */

/**
 * @defgroup tubo_pool Pools
 * @brief A pool of worker processes, as multiprocessing.Pool: map a function over an
 * array, or run one call asynchronously and get its result later.
 * @{
 */

/** @brief A pool of worker processes (opaque), as multiprocessing.Pool. */
typedef struct tubo_pool tubo_pool_t;

/** @brief The pending result of ::tubo_pool_apply_async (opaque), as AsyncResult. */
typedef struct tubo_pool_result tubo_pool_result_t;

/**
 * @brief What a pool runs on one input: reads the element at @p in, writes the result at
 * @p out, and returns 0 (any other value fails the call, which then returns TUBO_ETASK).
 * It runs in a worker process: what it writes elsewhere stays in that process.
 */
typedef int (*tubo_pool_fn)(const void *in, void *out);

/**
 * @brief Most bytes of one input or one result (@p in_size, @p out_size) a pool takes.
 */
#define TUBO_POOL_ITEM_MAX ((size_t)65536)

/**
 * @brief Starts @p nworkers worker processes (fork), as Pool(nworkers). They wait for
 * work on an unbounded queue (::TUBO_QUEUE_UNBOUNDED), so that a program may hand over
 * any number of calls before it collects a result. Make the pool before the workers need
 * anything of this process's memory: they see a copy of it as it is now.
 * @param nworkers workers, 1 and up; 0: one per CPU this process may run on.
 * @return 0; TUBO_EINVAL (NULL @p pool, negative @p nworkers); TUBO_ENOMEM; TUBO_ESHM;
 *         TUBO_ESYS if a worker cannot be started.
 */
TUBO_EXPORT int tubo_pool_create(int nworkers, tubo_pool_t **pool);

/**
 * @brief A pool whose workers are the ranks of @p comm other than @p root, as mpi4py's
 * `MPICommExecutor(comm, root)`; collective, with the same @p root on every rank. On
 * @p root, @p pool receives the pool, and every pool call works on it as on a pool of
 * processes (its workers: the other ranks; on a communicator of one rank the root runs
 * the calls itself). On every other rank the call runs the root's tasks until the root
 * closes, terminates or frees the pool, then returns with NULL in @p pool:
 * `tubo_pool_open(comm, 0, &pool); if (pool != NULL) { ...map...; tubo_pool_free(pool); }`.
 * The ranks run the same program: a task names its function by the loaded object that
 * holds it and the offset there, and each rank finds it at its own address. Where the
 * ranks share no memory the root serves the pool's queues whenever it is inside a tubo
 * call (doc/pattern-pool.md).
 * @return 0; TUBO_EINVAL (NULL @p pool, @p root out of range); TUBO_ECOMM; TUBO_ENOMEM;
 *         TUBO_ESHM; on a worker rank, the error that ended its service (TUBO_EPEER when
 *         the root left without ending the pool). Errors run @p comm's error handler.
 */
TUBO_EXPORT int tubo_pool_open(tubo_comm_t *comm, int root, tubo_pool_t **pool);

/**
 * @brief Pool.map: calls @p fn on each of the @p count inputs of @p in_size bytes at
 * @p in, in the workers, and stores the results, @p out_size bytes each, at @p out in the
 * inputs' order. Consecutive inputs go to a worker in chunks (Python's chunksize,
 * chosen as Python does). Blocks until every result is in.
 * @return 0; TUBO_ETASK when @p fn returned non-zero for an input (the other results are
 *         stored); TUBO_EWORKER when a worker died (the pool is broken: later calls
 *         return it too); TUBO_EPOOL; TUBO_ECLOSED after ::tubo_pool_close or
 *         ::tubo_pool_terminate; TUBO_EINVAL (NULL @p fn, NULL @p in or @p out with
 *         @p count > 0, zero @p in_size, @p fn not in the code of any loaded object);
 *         TUBO_ETOOBIG (a size over ::TUBO_POOL_ITEM_MAX).
 */
TUBO_EXPORT int tubo_pool_map(tubo_pool_t *pool, tubo_pool_fn fn, const void *in, size_t in_size,
                              void *out, size_t out_size, size_t count);

/**
 * @brief Pool.apply_async: hands one call of @p fn on the @p in_size bytes at @p in to a
 * worker and returns at once; its result (@p out_size bytes) is collected with
 * ::tubo_pool_result_get.
 * @param result receives the pending result; free it with ::tubo_pool_result_free.
 * @return 0; TUBO_EPOOL; TUBO_ECLOSED; TUBO_EWORKER (a worker died); TUBO_EINVAL (NULL
 *         @p fn or @p result, NULL @p in with @p in_size > 0); TUBO_ETOOBIG; TUBO_ENOMEM.
 */
TUBO_EXPORT int tubo_pool_apply_async(tubo_pool_t *pool, tubo_pool_fn fn, const void *in,
                                      size_t in_size, size_t out_size, tubo_pool_result_t **result);

/**
 * @brief AsyncResult.get: waits at most @p timeout_ms for the result and copies it to
 * @p out (at most @p out_size bytes, the size given to ::tubo_pool_apply_async).
 * @return 0; TUBO_ETIMEDOUT; TUBO_ETASK (@p fn returned non-zero); TUBO_EWORKER (a worker
 *         died before the result came); TUBO_ERESULT; TUBO_EPOOL if its pool was freed;
 *         TUBO_EINVAL (NULL @p out with @p out_size > 0).
 */
TUBO_EXPORT int tubo_pool_result_get(tubo_pool_result_t *result, void *out, size_t out_size,
                                     int timeout_ms);

/**
 * @brief AsyncResult.ready: whether the result is in (collecting what came, without
 * waiting).
 * @return 0; TUBO_ERESULT; TUBO_EPOOL if its pool was freed; TUBO_EINVAL for a NULL
 *         @p ready.
 */
TUBO_EXPORT int tubo_pool_result_ready(tubo_pool_result_t *result, int *ready);

/** @brief Frees a pending result (its call still runs; its result is dropped).
 * @return 0; TUBO_ERESULT. */
TUBO_EXPORT int tubo_pool_result_free(tubo_pool_result_t *result);

/**
 * @brief Pool.close: no more work is accepted; the workers end once the work handed over
 * is done.
 * @return 0; TUBO_EPOOL; TUBO_ECLOSED if closed already.
 */
TUBO_EXPORT int tubo_pool_close(tubo_pool_t *pool);

/**
 * @brief Pool.terminate: stops the workers now (SIGTERM), dropping the work not done. A
 * pool of ranks (::tubo_pool_open) drops the tasks no worker took yet; each worker rank
 * ends after the task it holds.
 * @return 0; TUBO_EPOOL; for a pool of ranks, the error of a queue call.
 */
TUBO_EXPORT int tubo_pool_terminate(tubo_pool_t *pool);

/**
 * @brief Pool.join: waits for the workers to end, after ::tubo_pool_close or
 * ::tubo_pool_terminate (in a pool of ranks: until every worker rank left the pool and
 * returned from its ::tubo_pool_open).
 * @return 0 when every worker ended as asked; TUBO_EWORKER when one died otherwise;
 *         TUBO_EINVAL if the pool is neither closed nor terminated (Python's ValueError);
 *         TUBO_EPOOL.
 */
TUBO_EXPORT int tubo_pool_join(tubo_pool_t *pool);

/**
 * @brief Frees the pool, terminating and joining workers still running (as leaving
 * `with Pool() as p:`). Pending results of it answer TUBO_EPOOL afterwards.
 * @return 0; TUBO_EPOOL.
 */
TUBO_EXPORT int tubo_pool_free(tubo_pool_t *pool);

/** @} */

/**
 * @defgroup tubo_shared Shared memory
 * @brief Typed memory several processes see at once, with a lock, as multiprocessing.Array and
 * Value. Elements are of a ::tubo_type_t (see @ref tubo_coll).
 * @{
 */

/** @brief A typed array in shared memory with a lock, as multiprocessing.Array (opaque). */
typedef struct tubo_array tubo_array_t;

/**
 * @brief Makes a zeroed array of @p length elements of @p type, for processes forked
 * afterwards (Array(typecode, length)).
 * @return 0; TUBO_EINVAL (NULL, unknown type, length 0); TUBO_ETOOBIG; TUBO_ESHM.
 */
TUBO_EXPORT int tubo_array_create(tubo_type_t type, size_t length, tubo_array_t **a);

/**
 * @brief As ::tubo_array_create, shared by all ranks of @p comm; collective, with the same
 * type and length on every rank. Free the array before the communicator's world ends
 * (::tubo_finalize, ::tubo_spawn_join): its memory goes with the job, and an array used
 * after that is undefined. Where the ranks share no memory (they span nodes under mpirun,
 * or the job uses the pipe transport), each rank has a copy that agrees with the others'
 * under the lock: ::tubo_array_lock brings rank 0's reference copy, the last
 * ::tubo_array_unlock sends this rank's copy back; rank 0 serves the others whenever it
 * is inside a tubo call (under mpirun also while it waits in an MPI call of the
 * program's own), and its ::tubo_array_free waits for theirs (doc/pattern-shared.md).
 * @return as ::tubo_array_create; TUBO_ECOMM; TUBO_ENOTINIT before ::tubo_init or after
 *         ::tubo_finalize; TUBO_ESHM when the job's shared heap is full; TUBO_EINVAL on
 *         the ranks whose type or length differs from those of the rank that set the
 *         array up first (rank 0, where it serves the array); TUBO_ENOTSUP where the
 *         ranks share no memory under mpirun, the program initialized MPI itself and tubo
 *         cannot serve from MPI's progress (`TUBO_MPI_SERVE=0`, an MPI other than Open
 *         MPI; doc/mpi.md).
 */
TUBO_EXPORT int tubo_array_open(tubo_comm_t *comm, tubo_type_t type, size_t length,
                                tubo_array_t **a);

/**
 * @brief The elements, for direct access (cast to the type).
 * @return NULL for a NULL, freed or never-made handle, or when the array's header in
 *         shared memory was overwritten.
 */
TUBO_EXPORT void *tubo_array_data(const tubo_array_t *a);

/** @brief Number of elements. @return 0; TUBO_EARRAY; TUBO_EINVAL for a NULL @p length. */
TUBO_EXPORT int tubo_array_length(const tubo_array_t *a, size_t *length);

/**
 * @brief Takes the lock that goes with the array (get_lock().acquire()), waiting for it.
 * As Python's, the lock is recursive: its holder may take it again, and releases it once
 * it has called ::tubo_array_unlock as many times. The holder is the process.
 * @return 0; TUBO_EPEER if its holder died holding it (you hold it now; the data may be
 *         half-written); TUBO_EARRAY; TUBO_ECORRUPT if the array's header in shared
 *         memory was overwritten.
 */
TUBO_EXPORT int tubo_array_lock(tubo_array_t *a);

/**
 * @brief Releases the lock (once).
 * @return 0; TUBO_EARRAY; TUBO_EINVAL if this process does not hold it; TUBO_ECORRUPT as
 *         ::tubo_array_lock.
 */
TUBO_EXPORT int tubo_array_unlock(tubo_array_t *a);

/**
 * @brief Frees this process's handle, releasing the lock if this process holds it; other
 * processes keep theirs. @return 0; TUBO_EARRAY.
 */
TUBO_EXPORT int tubo_array_free(tubo_array_t *a);

/**
 * @brief A single shared value with a lock, as multiprocessing.Value (opaque). A type of
 * its own: the compiler refuses a Value where an Array is expected, and the reverse.
 */
typedef struct tubo_value tubo_value_t;

/**
 * @brief Makes a value of @p type, for processes forked afterwards, as Value(typecode,
 * init): `double pi = 3.14; tubo_value_create(TUBO_DOUBLE, &pi, &v)` is Value('d', 3.14).
 * @param init the first value, an object of @p type's C type; NULL for zero.
 * @return as ::tubo_array_create; the handle is NULL on failure.
 */
TUBO_EXPORT int tubo_value_create(tubo_type_t type, const void *init, tubo_value_t **v);

/**
 * @brief As ::tubo_value_create, shared by all ranks of @p comm; collective, with the same
 * type and the same @p init on every rank: the value holds it before the call returns on
 * any rank (rank 0's is kept where they differ).
 * @return as ::tubo_array_open.
 */
TUBO_EXPORT int tubo_value_open(tubo_comm_t *comm, tubo_type_t type, const void *init,
                                tubo_value_t **v);

/**
 * @brief The value, for direct access (cast to the type); as ::tubo_array_data.
 * @return NULL for a NULL, freed or never-made handle, or when the value's header in
 *         shared memory was overwritten.
 */
TUBO_EXPORT void *tubo_value_data(const tubo_value_t *v);

/** @brief Takes the value's lock; see ::tubo_array_lock. @return as it, TUBO_EVALUE for the handle.
 */
TUBO_EXPORT int tubo_value_lock(tubo_value_t *v);

/** @brief Releases the value's lock; see ::tubo_array_unlock. @return as it, TUBO_EVALUE for the
 * handle. */
TUBO_EXPORT int tubo_value_unlock(tubo_value_t *v);

/** @brief Frees this process's handle; see ::tubo_array_free. @return 0; TUBO_EVALUE. */
TUBO_EXPORT int tubo_value_free(tubo_value_t *v);

/** @} */

/**
 * @defgroup tubo_dict Shared dict, list and Namespace
 * @brief What Python's multiprocessing.Manager() serves (`dict()`, `list()`,
 * `Namespace()`), without a server: objects in shared memory that every process reads and
 * writes directly, growing as they need.
 *
 * Made by `_create`, an object lives in a heap shared by this process and the processes it
 * forks afterwards (made on first use; its size is address space, `TUBO_PROCESS_HEAP_BYTES`,
 * 16 GiB by default); it lasts until the process that made it frees it, as a Manager's
 * objects last as long as the manager: the processes that use it stop before that. Made by
 * `_open` on a communicator, it lives in the job's shared heap (`TUBO_SHM_HEAP_BYTES`) and
 * goes when the last rank frees it; where the ranks share no memory (nodes under mpirun,
 * the pipe transport), rank 0 holds it and serves the others' calls whenever it is inside
 * a tubo call, and under mpirun also while it waits in an MPI call of the program's own.
 *
 * Readers take no lock: they never wait for each other, and they see each value whole,
 * as one write left it. Writers to different keys rarely wait for each other (keys fall
 * into 256 stripes, each with its own lock). A process that dies at any point of a call,
 * holding a lock or not, leaves the object usable: the next writer of its stripe takes
 * the lock over and repairs what it left half done. A heap that is full gives TUBO_ESHM
 * and leaves the object as it was. Keys are C strings; values are bytes, 0 B and up.
 * @{
 */

/** @brief A shared dict of string keys and byte values, as a Manager's dict() (opaque). */
typedef struct tubo_dict tubo_dict_t;

/**
 * @brief The value length ::tubo_dict_update passes for a missing key, and that its
 * function sets to delete the key.
 */
#define TUBO_DICT_MISSING ((size_t)-1)

/**
 * @brief What ::tubo_dict_update runs on a key's value, under the key's lock.
 * @param value a private buffer of @p cap bytes holding the current value.
 * @param len on entry the value's length (::TUBO_DICT_MISSING for a missing key); set it
 *        to the new value's length (written into @p value), or to ::TUBO_DICT_MISSING to
 *        delete the key. A length above @p cap calls the function again with a buffer that
 *        large, holding the current value again.
 * @param arg the argument given to ::tubo_dict_update.
 * @return 0 to store the result, a positive value to leave the key as it was, or a
 *         negative code, which ::tubo_dict_update returns without changing anything. It
 *         must not call the dict.
 */
typedef int (*tubo_dict_update_fn)(void *value, size_t *len, size_t cap, void *arg);

/**
 * @brief Makes an empty dict for this process and those it forks afterwards
 * (multiprocessing.Manager().dict()).
 * @return 0; TUBO_EINVAL for a NULL @p d; TUBO_ESHM when shared memory cannot be had.
 */
TUBO_EXPORT int tubo_dict_create(tubo_dict_t **d);

/**
 * @brief As ::tubo_dict_create, shared by all ranks of @p comm; collective.
 * @return 0; TUBO_ECOMM; TUBO_ENOTINIT before ::tubo_init or after ::tubo_finalize;
 *         TUBO_EINVAL for a NULL @p d; TUBO_ESHM when the job's heap is full;
 *         TUBO_ENOTSUP where the ranks share no memory under mpirun, the program initialized
 *         MPI itself and tubo cannot serve from MPI's progress (`TUBO_MPI_SERVE=0`, an MPI
 *         other than Open MPI; doc/mpi.md).
 */
TUBO_EXPORT int tubo_dict_open(tubo_comm_t *comm, tubo_dict_t **d);

/**
 * @brief Sets @p key to the @p len bytes at @p val (`d[key] = val`).
 * @return 0; TUBO_EDICT for a bad handle; TUBO_EINVAL (NULL @p key, NULL @p val with
 *         @p len > 0); TUBO_ETOOBIG (@p len or the key past what a heap can hold);
 *         TUBO_ESHM when the heap is full (the dict is unchanged); TUBO_ECORRUPT when the
 *         dict's shared memory was overwritten.
 */
TUBO_EXPORT int tubo_dict_set(tubo_dict_t *d, const char *key, const void *val, size_t len);

/**
 * @brief Copies the value of @p key into @p buf of @p cap bytes (`d[key]`).
 * @param len receives the value's full length (may be NULL).
 * @return 0; TUBO_ENOKEY for a missing key (Python's KeyError); TUBO_ETRUNC when the value
 *         is longer than @p cap (the first @p cap bytes are stored); TUBO_EDICT;
 *         TUBO_EINVAL (NULL @p key, NULL @p buf with @p cap > 0); TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_dict_get(tubo_dict_t *d, const char *key, void *buf, size_t cap, size_t *len);

/**
 * @brief As ::tubo_dict_get, into a buffer it allocates; release it with free(). `*buf`
 * is NULL for an empty value and on errors.
 * @return as ::tubo_dict_get, never TUBO_ETRUNC; TUBO_ENOMEM; TUBO_EINVAL for a NULL @p buf.
 */
TUBO_EXPORT int tubo_dict_get_alloc(tubo_dict_t *d, const char *key, void **buf, size_t *len);

/**
 * @brief Deletes @p key (`del d[key]`).
 * @return 0; TUBO_ENOKEY for a missing key; TUBO_EDICT; TUBO_EINVAL; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_dict_del(tubo_dict_t *d, const char *key);

/**
 * @brief Whether @p key is in the dict (`key in d`).
 * @param found receives 1 or 0.
 * @return 0; TUBO_EDICT; TUBO_EINVAL (NULL @p key or @p found); TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_dict_contains(tubo_dict_t *d, const char *key, int *found);

/**
 * @brief The number of keys (`len(d)`); exact when no write is under way.
 * @return 0; TUBO_EDICT; TUBO_EINVAL for a NULL @p n.
 */
TUBO_EXPORT int tubo_dict_len(tubo_dict_t *d, size_t *n);

/**
 * @brief The keys, as they all were at one moment, in the order they were inserted
 * (`list(d.keys())`): `(*keys)[0]` to `(*keys)[*n - 1]`, then NULL. One block: release it
 * with free(). Writers wait while the keys are copied; readers do not.
 * @return 0; TUBO_EDICT; TUBO_EINVAL (NULL @p keys or @p n); TUBO_ENOMEM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_dict_keys(tubo_dict_t *d, char ***keys, size_t *n);

/**
 * @brief Deletes every key (`d.clear()`).
 * @return 0; TUBO_EDICT; TUBO_ESHM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_dict_clear(tubo_dict_t *d);

/**
 * @brief Changes @p key's value atomically with @p fn (`d[key] += 1` without the race it
 * has under Python's Manager): no other write of the key comes between the value @p fn
 * reads and the one it leaves.
 * @return 0 (also when @p fn left the key as it was); @p fn's negative code; TUBO_EDICT;
 *         TUBO_EINVAL (NULL @p key or @p fn); TUBO_ENOMEM; TUBO_ESHM; TUBO_ETOOBIG;
 *         TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_dict_update(tubo_dict_t *d, const char *key, tubo_dict_update_fn fn,
                                 void *arg);

/**
 * @brief Frees this process's handle. A dict made by ::tubo_dict_create goes with its
 * memory when the process that made it frees it; one made by ::tubo_dict_open when the
 * last rank frees it (free it before ::tubo_finalize).
 * @return 0; TUBO_EDICT for a bad handle.
 */
TUBO_EXPORT int tubo_dict_free(tubo_dict_t *d);

/** @brief A shared list of byte items, as a Manager's list() (opaque). */
typedef struct tubo_list tubo_list_t;

/** @brief One item: @p len bytes at @p data (::tubo_list_extend, ::tubo_list_snapshot). */
typedef struct tubo_item {
  const void *data; /**< The bytes. */
  size_t len;       /**< How many. */
} tubo_item_t;

/**
 * @brief Makes an empty list for this process and those it forks afterwards
 * (multiprocessing.Manager().list()).
 * @return 0; TUBO_EINVAL for a NULL @p l; TUBO_ESHM.
 */
TUBO_EXPORT int tubo_list_create(tubo_list_t **l);

/**
 * @brief As ::tubo_list_create, shared by all ranks of @p comm; collective.
 * @return as ::tubo_dict_open.
 */
TUBO_EXPORT int tubo_list_open(tubo_comm_t *comm, tubo_list_t **l);

/**
 * @brief Appends one item of @p len bytes (`l.append(item)`).
 * @return 0; TUBO_ELIST for a bad handle; TUBO_EINVAL (NULL @p item with @p len > 0);
 *         TUBO_ETOOBIG; TUBO_ESHM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_list_append(tubo_list_t *l, const void *item, size_t len);

/**
 * @brief Appends @p n items at once (`l.extend(items)`): no other process sees some of
 * them without the others.
 * @return as ::tubo_list_append; TUBO_EINVAL for a NULL @p items with @p n > 0.
 */
TUBO_EXPORT int tubo_list_extend(tubo_list_t *l, const tubo_item_t *items, size_t n);

/**
 * @brief Copies item @p index into @p buf of @p cap bytes (`l[index]`; a negative index
 * counts from the end, as Python's).
 * @param len receives the item's full length (may be NULL).
 * @return 0; TUBO_EINDEX when there is no such item (Python's IndexError); TUBO_ETRUNC
 *         (the first @p cap bytes are stored); TUBO_ELIST; TUBO_EINVAL; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_list_get(tubo_list_t *l, ptrdiff_t index, void *buf, size_t cap, size_t *len);

/**
 * @brief Replaces item @p index (`l[index] = item`).
 * @return 0; TUBO_EINDEX; TUBO_ELIST; TUBO_EINVAL; TUBO_ETOOBIG; TUBO_ESHM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_list_set(tubo_list_t *l, ptrdiff_t index, const void *item, size_t len);

/**
 * @brief Inserts an item before position @p index (`l.insert(index, item)`): past the end
 * it appends, before the start (a negative index beyond the length) it goes first.
 * @return as ::tubo_list_append.
 */
TUBO_EXPORT int tubo_list_insert(tubo_list_t *l, ptrdiff_t index, const void *item, size_t len);

/**
 * @brief Removes item @p index and copies it into @p buf of @p cap bytes (`l.pop(index)`;
 * -1 is the last).
 * @param len receives the item's full length (may be NULL).
 * @return 0; TUBO_EINDEX (no such item, or an empty list); TUBO_ETRUNC (the item is
 *         removed all the same, its first @p cap bytes stored); TUBO_ELIST; TUBO_EINVAL;
 *         TUBO_ESHM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_list_pop(tubo_list_t *l, ptrdiff_t index, void *buf, size_t cap, size_t *len);

/**
 * @brief The number of items (`len(l)`).
 * @return 0; TUBO_ELIST; TUBO_EINVAL for a NULL @p n; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_list_len(tubo_list_t *l, size_t *n);

/**
 * @brief Every item, as the list was at one moment (`list(l)`, what `for item in l`
 * walks): `(*items)[0]` to `(*items)[*n - 1]`. One block, items' bytes included (each
 * aligned for any C type, so that an item holding a struct is read through a pointer to
 * it): release it with free().
 * @return 0; TUBO_ELIST; TUBO_EINVAL (NULL @p items or @p n); TUBO_ENOMEM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_list_snapshot(tubo_list_t *l, tubo_item_t **items, size_t *n);

/**
 * @brief Frees this process's handle; the list goes as a dict does (::tubo_dict_free).
 * @return 0; TUBO_ELIST for a bad handle.
 */
TUBO_EXPORT int tubo_list_free(tubo_list_t *l);

/** @brief A Namespace: named values of C types, as a Manager's Namespace() (opaque). */
typedef struct tubo_ns tubo_ns_t;

/**
 * @brief Makes an empty Namespace for this process and those it forks afterwards
 * (multiprocessing.Manager().Namespace()). Each name holds a `long`, a `double` or a
 * string, and keeps the type it was set with until set again.
 * @return 0; TUBO_EINVAL for a NULL @p ns; TUBO_ESHM.
 */
TUBO_EXPORT int tubo_ns_create(tubo_ns_t **ns);

/**
 * @brief As ::tubo_ns_create, shared by all ranks of @p comm; collective.
 * @return as ::tubo_dict_open.
 */
TUBO_EXPORT int tubo_ns_open(tubo_comm_t *comm, tubo_ns_t **ns);

/**
 * @brief Sets @p name to a `long` (`ns.name = v`).
 * @return 0; TUBO_ENS for a bad handle; TUBO_EINVAL (NULL or empty @p name); TUBO_ESHM;
 *         TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_ns_set_long(tubo_ns_t *ns, const char *name, long v);

/**
 * @brief Reads @p name as a `long` (`ns.name`).
 * @return 0; TUBO_ENOKEY when it is not set (Python's AttributeError); TUBO_ETYPE when it
 *         holds another type; TUBO_ENS; TUBO_EINVAL; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_ns_get_long(tubo_ns_t *ns, const char *name, long *v);

/**
 * @brief Adds @p delta to the `long` @p name atomically (`ns.name += delta`, without the
 * race it has under Python's Manager).
 * @param result receives the new value (may be NULL).
 * @return 0; TUBO_ENOKEY; TUBO_ETYPE; TUBO_ENS; TUBO_EINVAL; TUBO_ESHM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_ns_add_long(tubo_ns_t *ns, const char *name, long delta, long *result);

/** @brief Sets @p name to a `double`. @return as ::tubo_ns_set_long. */
TUBO_EXPORT int tubo_ns_set_double(tubo_ns_t *ns, const char *name, double v);

/** @brief Reads @p name as a `double`. @return as ::tubo_ns_get_long. */
TUBO_EXPORT int tubo_ns_get_double(tubo_ns_t *ns, const char *name, double *v);

/** @brief Adds @p delta to the `double` @p name atomically. @return as ::tubo_ns_add_long. */
TUBO_EXPORT int tubo_ns_add_double(tubo_ns_t *ns, const char *name, double delta, double *result);

/** @brief Sets @p name to a copy of the string @p s. @return as ::tubo_ns_set_long. */
TUBO_EXPORT int tubo_ns_set_str(tubo_ns_t *ns, const char *name, const char *s);

/**
 * @brief Copies the string @p name into @p buf of @p cap bytes, NUL included.
 * @return as ::tubo_ns_get_long; TUBO_ETRUNC when it does not fit (the first @p cap - 1
 *         bytes and a NUL are stored).
 */
TUBO_EXPORT int tubo_ns_get_str(tubo_ns_t *ns, const char *name, char *buf, size_t cap);

/**
 * @brief Removes @p name (`del ns.name`).
 * @return 0; TUBO_ENOKEY; TUBO_ENS; TUBO_EINVAL; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_ns_del(tubo_ns_t *ns, const char *name);

/**
 * @brief The names set, in the order they were first set (`vars(ns)`), as
 * ::tubo_dict_keys gives keys: release the block with free().
 * @return 0; TUBO_ENS; TUBO_EINVAL; TUBO_ENOMEM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_ns_names(tubo_ns_t *ns, char ***names, size_t *n);

/**
 * @brief Frees this process's handle; the Namespace goes as a dict does (::tubo_dict_free).
 * @return 0; TUBO_ENS for a bad handle.
 */
TUBO_EXPORT int tubo_ns_free(tubo_ns_t *ns);

/** @} */

/**
 * @defgroup tubo_csp CSP channels
 * @brief Processes that share nothing and talk through channels, as PyCSP: any-to-any
 * channels, synchronous or buffered; Alternation over several guards; poison and retire
 * to shut a network down; Parallel and Sequence to run processes.
 *
 * A channel made by ::tubo_channel_create lives in this process tree's shared heap (as a
 * dict made by ::tubo_dict_create, and for as long); one made by ::tubo_channel_open on
 * a communicator in the job's heap, or, where the ranks share no memory, at rank 0, which
 * serves the others (inside its tubo calls, and under mpirun also while it waits in an MPI
 * call of the program's own). Messages are bytes of any length; several processes may
 * write and read one channel at once, and each message is read once.
 * @{
 */

/** @brief A channel, or one end of it (opaque). */
typedef struct tubo_channel tubo_channel_t;

/**
 * @brief Makes a channel for this process and those it forks afterwards (PyCSP's
 * `Channel()`): with @p capacity 0 it is synchronous (a write returns once a reader has
 * the message), else buffered (a write returns once the message is in the buffer, waiting
 * while it holds @p capacity messages).
 * @return 0; TUBO_EINVAL for a NULL @p ch; TUBO_ETOOBIG for an impossible capacity;
 *         TUBO_ESHM.
 */
TUBO_EXPORT int tubo_channel_create(size_t capacity, tubo_channel_t **ch);

/**
 * @brief As ::tubo_channel_create, shared by all ranks of @p comm; collective, with the
 * same @p capacity on every rank.
 * @return as ::tubo_channel_create; TUBO_ECOMM; TUBO_ENOTINIT before ::tubo_init or after
 *         ::tubo_finalize; TUBO_EINVAL on a rank whose capacity differs from rank 0's;
 *         TUBO_ENOTSUP where the ranks share no memory under mpirun, the program initialized
 *         MPI itself and tubo cannot serve from MPI's progress (`TUBO_MPI_SERVE=0`, an MPI
 *         other than Open MPI; doc/mpi.md).
 */
TUBO_EXPORT int tubo_channel_open(tubo_comm_t *comm, size_t capacity, tubo_channel_t **ch);

/**
 * @brief A new reading end of the channel (PyCSP's `chan.reader()`, `+chan`). The channel
 * counts its reading ends: once every one of them has retired (::tubo_channel_retire), the
 * channel is retired. A channel's own handle reads and writes too, but counts as no end.
 * @param in receives the end, a handle of its own; it reads, and writing through it is
 *        TUBO_ENOTSUP.
 * @return 0; TUBO_ECHANNEL; TUBO_EINVAL for a NULL @p in; TUBO_EPOISON; TUBO_ERETIRED;
 *         TUBO_ESHM.
 */
TUBO_EXPORT int tubo_channel_reader(tubo_channel_t *ch, tubo_channel_t **in);

/**
 * @brief A new writing end of the channel (PyCSP's `chan.writer()`, `-chan`); see
 * ::tubo_channel_reader.
 * @return as ::tubo_channel_reader.
 */
TUBO_EXPORT int tubo_channel_writer(tubo_channel_t *ch, tubo_channel_t **out);

/**
 * @brief Writes one message of @p len bytes (`cout(msg)`): waits until a reader has it
 * (synchronous channel) or it is in the buffer.
 * @return 0; TUBO_EPOISON once the channel is poisoned; TUBO_ERETIRED once its readers
 *         retired (or its writers: then this handle's writing is over too); TUBO_ENOTSUP on
 *         a reading end; TUBO_ECHANNEL; TUBO_EINVAL (NULL @p buf with @p len > 0);
 *         TUBO_ETOOBIG; TUBO_ESHM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_channel_write(tubo_channel_t *ch, const void *buf, size_t len);

/**
 * @brief Reads one message into @p buf of @p cap bytes (`cin()`), waiting for one.
 * @param len receives the message's full length (may be NULL).
 * @return 0; TUBO_ETRUNC (the message is consumed, its first @p cap bytes stored);
 *         TUBO_EPOISON; TUBO_ERETIRED once every writing end retired and the buffer is
 *         empty (or every reading end retired); TUBO_ENOTSUP on a writing end;
 *         TUBO_ECHANNEL; TUBO_EINVAL; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_channel_read(tubo_channel_t *ch, void *buf, size_t cap, size_t *len);

/**
 * @brief As ::tubo_channel_read, into a buffer it allocates; release it with free().
 * @return as ::tubo_channel_read, never TUBO_ETRUNC; TUBO_ENOMEM.
 */
TUBO_EXPORT int tubo_channel_read_alloc(tubo_channel_t *ch, void **buf, size_t *len);

/**
 * @brief Poisons the channel (PyCSP's `poison(chan)`): every call on it, through any end
 * in any process, returns TUBO_EPOISON from now on, those waiting included; messages in
 * its buffer are dropped. A process that gets TUBO_EPOISON poisons its other channels and
 * ends, so that the whole network shuts down.
 * @return 0 (also when poisoned already); TUBO_ECHANNEL; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_channel_poison(tubo_channel_t *ch);

/**
 * @brief Retires this end (PyCSP's `retire(end)`): once every reading end, or every
 * writing end, of the channel has retired, the channel is retired, and every call on it
 * returns TUBO_ERETIRED (readers first read what the buffer still holds). Further calls
 * through this end return TUBO_ERETIRED. Retiring an end is done once, in whichever
 * process: the end's copies in other processes are retired with it.
 * @return 0; TUBO_ERETIRED when this end retired already; TUBO_EINVAL on a channel's own
 *         handle (it is no end); TUBO_ECHANNEL; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_channel_retire(tubo_channel_t *end);

/**
 * @brief Frees this process's handle (it neither poisons nor retires). A channel made by
 * ::tubo_channel_create goes with its memory when the process that made it frees the
 * channel's own handle; one made by ::tubo_channel_open when every rank has.
 * @return 0; TUBO_ECHANNEL for a bad handle.
 */
TUBO_EXPORT int tubo_channel_free(tubo_channel_t *ch);

/** @brief What a guard of ::tubo_alt_select waits for. */
typedef enum tubo_guard_kind {
  TUBO_GUARD_INPUT = 1, /**< A message to read from the channel (PyCSP's InputGuard). */
  TUBO_GUARD_OUTPUT,    /**< A reader for a message to write (OutputGuard). */
  TUBO_GUARD_SKIP,      /**< Always ready (SkipGuard): choosing never waits. */
  TUBO_GUARD_TIMEOUT    /**< Ready once timeout_ms have passed (TimeoutGuard). */
} tubo_guard_kind_t;

/**
 * @brief One guard of an Alternation; make it with ::TUBO_IN_GUARD, ::TUBO_OUT_GUARD,
 * ::TUBO_SKIP_GUARD or ::TUBO_TIMEOUT_GUARD.
 */
typedef struct tubo_guard {
  tubo_guard_kind_t kind; /**< What it waits for. */
  tubo_channel_t *ch;     /**< INPUT and OUTPUT: the channel (or an end of it). */
  const void *out;        /**< OUTPUT: the message to write... */
  size_t out_len;         /**< ... and its length. */
  void *in;               /**< INPUT: where the message read goes... */
  size_t in_cap;          /**< ... how much room it has... */
  size_t in_len;          /**< ... and, once chosen, the message's full length. */
  int timeout_ms;         /**< TIMEOUT: milliseconds, from the call. */
} tubo_guard_t;

/** @brief An input guard: read a message from @p ch into @p buf of @p cap bytes. */
#define TUBO_IN_GUARD(ch, buf, cap) \
  ((tubo_guard_t){TUBO_GUARD_INPUT, (ch), (const void *)0, 0, (buf), (cap), 0, 0})
/** @brief An output guard: write the @p len bytes at @p msg to @p ch. */
#define TUBO_OUT_GUARD(ch, msg, len) \
  ((tubo_guard_t){TUBO_GUARD_OUTPUT, (ch), (msg), (len), (void *)0, 0, 0, 0})
/** @brief A skip guard: always ready. */
#define TUBO_SKIP_GUARD \
  ((tubo_guard_t){TUBO_GUARD_SKIP, (tubo_channel_t *)0, (const void *)0, 0, (void *)0, 0, 0, 0})
/** @brief A timeout guard: ready after @p ms milliseconds. */
#define TUBO_TIMEOUT_GUARD(ms)                                                                  \
  ((tubo_guard_t){TUBO_GUARD_TIMEOUT, (tubo_channel_t *)0, (const void *)0, 0, (void *)0, 0, 0, \
                  (ms)})

/**
 * @brief ::tubo_alt_select flag: fair choice. Without it the choice is prioritised: the
 * first ready guard in the array wins (PyCSP's PriSelect). With it, the search starts
 * after the guard chosen last time (`*chosen` on entry), so that a guard that is always
 * ready cannot starve the others (FairSelect).
 */
#define TUBO_ALT_FAIR 1u

/**
 * @brief Alternation (PyCSP's AltSelect): waits until one of @p n guards is ready,
 * performs it (reads the message of an input guard, writes that of an output guard) and
 * tells which in `*chosen`; the others do nothing. Guards whose channels are ready
 * together are chosen by priority or fairly (::TUBO_ALT_FAIR). The channels of one call
 * are all made by ::tubo_channel_create, or all opened on communicators with the same
 * rank 0.
 * @param chosen receives the index of the guard performed; with ::TUBO_ALT_FAIR it also
 *        says, on entry, which guard was chosen last time.
 * @return 0; TUBO_ETRUNC (an input guard's message was longer than its room: it is
 *         consumed, its first bytes stored); TUBO_EPOISON or TUBO_ERETIRED when the guard
 *         `*chosen` names has a poisoned or retired channel; TUBO_EINVAL (NULL arguments,
 *         @p n 0, a guard of no known kind, unknown flags, more than one timeout guard);
 *         TUBO_ECHANNEL for a guard's bad handle; TUBO_ENOTSUP for guards whose channels
 *         differ in where they live, or an input guard on a writing end (and the
 *         reverse); TUBO_ESHM; TUBO_ECORRUPT.
 */
TUBO_EXPORT int tubo_alt_select(tubo_guard_t *guards, size_t n, unsigned flags, size_t *chosen);

/** @brief A process of a CSP network: a function and its argument (PyCSP's `@process`). */
typedef struct tubo_csp_process {
  tubo_process_fn fn; /**< What it runs; its return value is its exit status. */
  void *arg;          /**< Its argument. */
} tubo_csp_process_t;

/** @brief A ::tubo_csp_process_t running @p fn(@p arg). */
#define TUBO_CSP_PROCESS(fn, arg) ((tubo_csp_process_t){(fn), (arg)})

/**
 * @brief Runs the @p n processes at once, each in a process of its own (forked), and
 * waits until all have ended (PyCSP's `Parallel(P1(), P2())`).
 * @param exit_codes NULL, or room for @p n exit codes (as ::tubo_process_exitcode).
 * @return 0 when every process returned 0; TUBO_EPEER when one did not (or was killed);
 *         TUBO_EINVAL (NULL @p procs or a NULL function); TUBO_ESYS when a process
 *         cannot be started (those started are waited for).
 */
TUBO_EXPORT int tubo_parallel(const tubo_csp_process_t *procs, size_t n, int *exit_codes);

/**
 * @brief Runs the @p n processes one after another, in this process (PyCSP's
 * `Sequence(P1(), P2())`).
 * @param exit_codes NULL, or room for @p n return values.
 * @return 0 when every process returned 0; TUBO_EPEER when one did not; TUBO_EINVAL.
 */
TUBO_EXPORT int tubo_sequence(const tubo_csp_process_t *procs, size_t n, int *exit_codes);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* TUBO_H */
