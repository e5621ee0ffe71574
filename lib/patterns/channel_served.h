/* SPDX-License-Identifier: MIT */
/* A channel whose ranks share no memory (they span nodes, or the job runs over the pipe
 * transport): the communicator's rank 0, the home, holds it in its own heap and runs the
 * engine (channel.h) for everyone (served.h). Another rank's read, write or Alternation
 * is one call: the home tries it at once, and otherwise posts it on the rank's behalf
 * (a waiter of its own, linked into the channels as the rank's guards) and answers when
 * a match claims it, or its timeout passes. The home's own calls run the engine
 * directly, and wait by serving the others. An Alternation's channels all have the same
 * home. */
#ifndef TUBO_PATTERNS_CHANNEL_SERVED_H
#define TUBO_PATTERNS_CHANNEL_SERVED_H

#include "patterns/channel.h"

/* Collective over comm; on success *out is set. */
int tubo__chan_srv_open(tubo_comm_t *comm, uint64_t capacity, tubo__chan_srv_t **out);
/* Ends this rank's part (the home waits for the others' and then destroys the channel). */
int tubo__chan_srv_free(tubo__chan_srv_t *s);

/* At the home: the channel (the engine runs here); NULL at the other ranks. */
tubo__ccore_t *tubo__chan_srv_core(tubo__chan_srv_t *s);

int tubo__chan_srv_join(tubo__chan_srv_t *s, int writer, uint64_t *end);
int tubo__chan_srv_retire(tubo__chan_srv_t *s, uint64_t end);
int tubo__chan_srv_poison(tubo__chan_srv_t *s);

/* At the home: waits, serving the others, until a's waiter is claimed or dl passes.
 * Returns 0, TUBO_ETIMEDOUT, or why the communicator cannot serve any more. */
int tubo__chan_srv_wait(tubo__chan_srv_t *s, tubo__calt_t *a, tubo__deadline_t dl);

/* At a rank other than the home: the Alternation over guards whose channels are all
 * served (timeout is the timeout guard's index, n for none), run by their home; with
 * alloc, the input guard's message goes to a buffer allocated for it. */
int tubo__chan_srv_alt(tubo_guard_t *guards, size_t n, size_t start, size_t timeout, size_t *chosen,
                       void **alloc);

#endif /* TUBO_PATTERNS_CHANNEL_SERVED_H */
