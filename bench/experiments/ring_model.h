/* SPDX-License-Identifier: MIT */
/* The ring through which tubo's MPI transport takes frames in (lib/mpi/mpi_transport.c),
 * in plain MPI, for the model mpi_ring.c: 32 persistent receives from any source and of any
 * tag into buffers of a header and the largest frame, one allocation with each buffer
 * shifted by 5 cache lines, taken in order (waiting in MPI_Wait) and posted again at the
 * next receive. A small message travels as its bytes
 * alone, with its tag in the MPI tag (RING_MODEL_TAG | tag), as the transport's
 * headerless frames of context 0 do. Any MPI failure ends the job. */
#ifndef TUBO_BENCH_RING_MODEL_H
#define TUBO_BENCH_RING_MODEL_H

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#define RING_MODEL_N   32
#define RING_MODEL_CAP (16 + 65536)
#define RING_MODEL_TAG 0x40000000

typedef struct ring_model {
  MPI_Comm comm;
  unsigned char *mem;
  unsigned char *buf[RING_MODEL_N];
  MPI_Request req[RING_MODEL_N];
  unsigned head, unposted; /* the next to take; those taken and not yet posted again */
} ring_model_t;

/* Posts the ring's receives on comm. */
static inline void ring_model_open(ring_model_t *r, MPI_Comm comm)
{
  size_t stride = ((RING_MODEL_CAP + 4095) & ~(size_t)4095) + 5 * 64;
  memset(r, 0, sizeof *r);
  r->comm = comm;
  if ((r->mem = aligned_alloc(64, RING_MODEL_N * stride)) == NULL)
    MPI_Abort(MPI_COMM_WORLD, 2);
  for (int i = 0; i < RING_MODEL_N; i++) {
    r->buf[i] = r->mem + (size_t)i * stride;
    MPI_Recv_init(r->buf[i], RING_MODEL_CAP, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, comm,
                  &r->req[i]);
    MPI_Start(&r->req[i]);
  }
}

/* Sends n bytes of b to peer with tag as a headerless frame. */
static inline void ring_model_send(ring_model_t *r, const void *b, int n, int peer, int tag)
{
  MPI_Send(b, n, MPI_BYTE, peer, RING_MODEL_TAG | tag, r->comm);
}

/* Waits for the ring's next frame and copies it into b; it must be a headerless frame
 * from from of at most cap bytes. Returns its tag. */
static inline int ring_model_recv(ring_model_t *r, void *b, int cap, int from)
{
  for (; r->unposted > 0; r->unposted--)
    MPI_Start(&r->req[(r->head - r->unposted) % RING_MODEL_N]);
  unsigned i = r->head++ % RING_MODEL_N;
  r->unposted++;
  MPI_Status st;
  int len = -1;
  MPI_Wait(&r->req[i], &st);
#if defined(OPEN_MPI) && OPEN_MPI
  len = st._ucount <= INT_MAX ? (int)st._ucount : -1; /* as the transport reads it */
#else
  MPI_Get_count(&st, MPI_BYTE, &len);
#endif
  if (st.MPI_SOURCE != from || !(st.MPI_TAG & RING_MODEL_TAG) || len < 0 || len > cap)
    MPI_Abort(MPI_COMM_WORLD, 2);
  memcpy(b, r->buf[i], (size_t)len);
  return st.MPI_TAG & ~RING_MODEL_TAG;
}

/* Takes the ring's receives back, before MPI ends. */
static inline void ring_model_close(ring_model_t *r)
{
  for (; r->unposted > 0; r->unposted--)
    MPI_Start(&r->req[(r->head - r->unposted) % RING_MODEL_N]);
  for (int i = 0; i < RING_MODEL_N; i++) {
    MPI_Cancel(&r->req[i]);
    MPI_Wait(&r->req[i], MPI_STATUS_IGNORE);
    MPI_Request_free(&r->req[i]);
  }
  free(r->mem);
}

#endif /* TUBO_BENCH_RING_MODEL_H */
