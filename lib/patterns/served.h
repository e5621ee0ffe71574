/* SPDX-License-Identifier: MIT */
/* Served objects: a pattern object (Queue, Array, Value) on a communicator whose ranks
 * share no memory (they span nodes under mpirun, or the job runs over the pipe transport).
 * Rank 0 of the communicator, the object's home, holds it; every other rank's call is a
 * message to the home and an answer back, as multiprocessing's Manager serves objects
 * from its process.
 *
 * The home serves from tubo's progress (a service, world.h): whenever it is inside any
 * tubo call, including its own waits on the object. A call the object cannot answer yet
 * (a get from an empty queue, a lock another rank holds) is parked at the home with its
 * timeout, and tried again at each service until it is answered or its time is up. A call
 * is not tried before an earlier parked call of the same kind (no put overtakes a put).
 * Each rank has one call in flight at a time (calls block), so answers need no numbering:
 * the transport's ordering brings them back in order. */
#ifndef TUBO_PATTERNS_SERVED_H
#define TUBO_PATTERNS_SERVED_H

#include <stddef.h>
#include <stdint.h>

#include "patterns/objheap.h"
#include "tubo.h"
#include "world.h"

typedef struct tubo__served tubo__served_t;

typedef struct tubo__served_ops {
  /* At the home: tries call op (1 and up) from rank src, with its payload. Returns 1 when
   * it cannot be answered yet, else 0 once the answer is sent (tubo__served_reply), or an
   * error of sending it. */
  int (*try_call)(tubo__served_t *s, int src, int op, const void *payload, size_t len);
  /* The answer of a call whose time ran out while parked. */
  int (*timeout_rc)(int op);
  /* 1: calls of one kind may overtake each other (each is tried as it comes, and every
   * parked one at each service), for objects where a call waits for another rank's call
   * of the same kind (a channel's reads and writes are Alternations). */
  int unordered;
} tubo__served_ops_t;

struct tubo__served_parked;

struct tubo__served {
  const tubo__served_ops_t *ops;
  void *obj;         /* the object the calls are for */
  tubo_comm_t *comm; /* as opened: checked before each use of the view */
  tubo_comm_t view;  /* comm on its internal context */
  int tag_req, tag_rep;
  int home;
  size_t max_payload;               /* SIZE_MAX: any length (the buffers grow as messages need) */
  unsigned char *req_buf, *rep_buf; /* a call, an answer: a header and a payload */
  size_t req_cap, rep_cap;          /* their sizes */
  struct tubo__served_parked *parked, **parked_tail;
  int byes; /* at the home: ranks that freed their handle (or never had one) */
  tubo__service_t service;
};

/* max_payload for objects whose calls and answers have no bound (dict values, list
 * snapshots): buffers grow as needed, and a call probes its answer's length first. */
#define TUBO__SERVED_ANY SIZE_MAX

/* Opens the served side of an object on comm, collectively. config (config_len bytes) are
 * the arguments every rank must have given alike: the home's rule, and a rank whose
 * arguments differ gets TUBO_EINVAL. home_rc is the home's result of making the object
 * (others pass 0): if it failed, every rank returns it. On success *out is set; the home
 * starts serving. */
int tubo__served_open(tubo_comm_t *comm, const tubo__served_ops_t *ops, void *obj,
                      size_t max_payload, const void *config, size_t config_len, int home_rc,
                      tubo__served_t **out);

/* At another rank: sends call op with its payload and waits for the answer, whose payload
 * (if any) lands in out (at most cap bytes; *out_len gets its length) and whose value in
 * *value (either may be NULL). Returns the answer's code. */
int tubo__served_call(tubo__served_t *s, int op, int timeout_ms, const void *payload, size_t len,
                      void *out, size_t cap, size_t *out_len, uint64_t *value);

/* After tubo__served_call: the answer's payload, as received (its length was *out_len);
 * valid until the next call. */
const void *tubo__served_payload(const tubo__served_t *s);

/* At the home: answers rank dst with code rc, a value, and a payload. */
int tubo__served_reply(tubo__served_t *s, int dst, int rc, uint64_t value, const void *payload,
                       size_t len);

/* At the home: makes progress (serving the others) until done(arg) says so. */
int tubo__served_wait(tubo__served_t *s, int (*done)(void *), void *arg);

/* At the home, after a change of its own that parked calls may wait for: serves now. */
void tubo__served_kick(tubo__served_t *s);

/* At the home: serves what has come, once (a home busy with its own calls on an object
 * that never waits still answers the others). */
void tubo__served_poll(tubo__served_t *s);

/* Whether the communicator is still there: 0, or why not. */
int tubo__served_live(const tubo__served_t *s);

/* As tubo__served_live; at the home, also serves what has come (for objects whose own
 * calls never wait, so that a busy home still answers the others). */
int tubo__served_live_poll(tubo__served_t *s);

/* A timeout_rc for objects whose parked calls time out as TUBO_ETIMEDOUT, whatever op. */
int tubo__served_timedout(int op);

/* After a call whose answer's payload was n bytes: copies at most cap of them into buf,
 * sets *len (if not NULL) to n, and returns TUBO_ETRUNC if they did not all fit. */
int tubo__served_answer_copy(const tubo__served_t *s, size_t n, void *buf, size_t cap, size_t *len);

/* After a call whose answer's payload was n bytes: *buf gets a malloc'd copy (NULL when
 * n is 0) and *len (if not NULL) n; TUBO_ENOMEM leaves *len as it was. */
int tubo__served_answer_dup(const tubo__served_t *s, size_t n, void **buf, size_t *len);

/* At another rank: call op with no payload whose answer's value is a count, into *n. */
int tubo__served_call_count(tubo__served_t *s, int op, size_t *n);

/* At another rank: call op with no payload whose answer is a packed snapshot: *packed
 * gets a malloc'd copy of it (at least 1 byte), *bytes its length, *n the answer's value. */
int tubo__served_call_packed(tubo__served_t *s, int op, void **packed, size_t *bytes, size_t *n);

/* tubo__served_open for an object of any length that the home holds in its process heap
 * (a dict, a list): at the home, make(mem, arg) makes it there first, and its result is
 * home_rc. */
int tubo__served_open_heap(tubo_comm_t *comm, const tubo__served_ops_t *ops, void *obj,
                           const void *config, size_t config_len,
                           int (*make)(tubo__objheap_t *mem, void *arg), void *arg,
                           tubo__served_t **out);

/* Ends this rank's part: another rank tells the home; the home serves until every other
 * rank did. Frees s. */
int tubo__served_free(tubo__served_t *s);

#endif /* TUBO_PATTERNS_SERVED_H */
