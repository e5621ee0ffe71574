/* SPDX-License-Identifier: MIT */
/* The MPI transport: frames between ranks on different nodes, as MPI messages.
 *
 * Every frame is one MPI message on a communicator of tubo's own (a duplicate of
 * MPI_COMM_WORLD). A message's frame whose context and tag fit (EAGER, a context with a
 * code in mpi_ctx_code, tag < 2^20) travels as the message's bytes alone, its context and
 * tag in the MPI tag, as an MPI message would; any other frame has tag MPI_TAG_FRAME and a
 * 16-byte header before its payload. MPI keeps the frames of one sender in order, which is
 * all the engine needs.
 * A large message travels as an RTS frame, and its bytes as MPI messages of their own on
 * a second communicator, sent straight from the user's buffer with a tag made of the
 * RTS's request id: the receiver takes them when a receive matches, straight into the
 * receive's buffer and in the background (the "single copy" of this transport). The send is
 * complete when MPI has sent them, as an MPI send is: this transport then completes it itself, and
 * the receiver sends no FIN (caps.self_fin). */
#include "config.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "engine.h"
#include "mpi/mpi_world.h"
#include "mpi/mpi_transport.h"

#define MPI_TAG_FRAME 1
/* A frame with no header: an EAGER frame, (context code << MPI_COMPACT_TAG_BITS) | tag
 * below (mpi_ctx_code). */
#define MPI_TAG_COMPACT      0x40000000
#define MPI_COMPACT_TAG_BITS 20
#define MPI_COMPACT_CTX_MAX  0x3ff /* the largest context code */
#define MPI_COMPACT_TAG_MAX  0xfffff
#define MPI_TAG_DATA0        2
/* Bytes of one MPI message of a large message's data: MPI counts in int. */
#define MPI_CHUNK (1u << 30)
/* Largest frame: what one rank buffers per message in flight (mpi_world.h). */
#define MPI_FRAME_MAX TUBO__MPI_FRAME_MAX
/* Messages of these sizes or more go by RTS, with no copy on either side of tubo: to a
 * peer MPI reaches through shared memory, and to any other. Through shared memory, MPI
 * copies a large message once, as soon as both sides have posted it: the RTS's extra
 * message costs less than two copies from 8 KiB (measured, doc/mpi.md). Over a network,
 * MPI takes a message that meets a posted receive (as a frame does) faster than one that
 * came before its receive (as an RTS's data does), by more than the copies cost. */
#define MPI_RNDV_SHM TUBO__MPI_RNDV_SHM
#define MPI_RNDV_NET TUBO__MPI_RNDV_NET
/* While MPI has been quiet, and shared memory serves other peers, poll MPI once every
 * MPI_IDLE_POLL progress calls (a power of 2): its progress engine costs far more than a
 * look at the shared-memory rings (measured: polling it every 16th call made an 8-byte
 * shared-memory hop 1.9x slower, every 256th 1.08x; doc/benchmarks-log.md). For MPI_HOT_POLLS
 * calls after MPI was last busy (a frame in or out), it is polled at every call, so that
 * a reply from another node is seen at once. */
#define MPI_IDLE_POLL 256u
#define MPI_HOT_POLLS 4096u
/* While the rank waits for something only shared memory can bring (a blocking call on a
 * peer of its node: engine.h, tubo__tp_wait_is_elsewhere), MPI is polled once every MPI_QUIET_POLL
 * calls: its frames can wait, and in a job with more ranks than cores Open MPI yields the core
 * (sched_yield) at every poll that finds nothing, which made that wait's hop 1.10x-1.18x
 * slower at every 256th call (bench/experiments/hop_mix.sh, doc/benchmarks-log.md). */
#define MPI_QUIET_POLL 4096u
/* Receives kept posted for frames: MPI matches them in the order they were posted, so
 * taking them in that order keeps each sender's frames in order. A rank that was not
 * running while frames came (a core shared with another rank) finds dozens waiting, and
 * Open MPI copies those no receive was posted for once more: 32 gave the pipeline over
 * shared memory 7% more items/s than 8, 64 and 128 nothing more (doc/benchmarks-log.md).
 * Small frames touch only the first page of each buffer. */
#define MPI_RING 32
/* Bytes by which each ring buffer is shifted against a whole number of pages from the
 * last: 5 cache lines, prime to the 64 line sets a 4 KiB page spans, so that no two
 * buffers start in the same set (see mpi_open). */
#define MPI_RING_SKEW (5 * 64)
/* Frames up to this size are sent with MPI_Send from a buffer on the stack: MPI copies
 * them at once (they are far below its eager limits), with no request to follow. */
#define MPI_SMALL 1024

/* Send buffers of frames are kept for reuse, in size classes of powers of 2 from 2 KiB
 * up to the largest frame's, at most MPI_POOL_KEEP of each (12 MiB in all at worst):
 * freeing them gave their pages back to the OS whenever the heap's top shrank, and taking
 * them again cost a page fault per page (measured: 64 KiB frames streamed at a fifth of
 * the rate, 8-16 KiB ones at half). */
#define MPI_POOL_MIN_SHIFT 11
#define MPI_POOL_CLASSES   7 /* 2 KiB .. 64 KiB, and the largest frame with its header */
#define MPI_POOL_KEEP      64

/* The header of a frame on the wire. */
struct mpi_hdr {
  uint8_t kind;
  uint8_t flags;
  uint16_t ctx;
  int32_t tag;
  uint32_t len;
  uint32_t magic;
};
#define MPI_HDR_MAGIC 0x4f425554u /* "TUBO" */

/* What a request of MPI this transport follows is for. */
enum mpi_op {
  MPI_OP_FRAME = 1, /* sends a frame from buf, freed after */
  MPI_OP_DATA = 2,  /* sends the data of this rank's RTS id to peer */
  MPI_OP_READ = 3   /* takes in the data of peer's RTS id, for the receive rreq */
};

/* A request MPI has not finished. */
typedef struct mpi_send {
  void *buf;   /* a frame's buffer (mpi_buf_get) */
  size_t blen; /* its size */
  tubo_request_t *rreq;
  int peer;
  uint32_t id;
  enum mpi_op op;
} mpi_send_t;

typedef struct mpi_state {
  tubo__world_t *w;
  MPI_Comm comm;  /* frames */
  MPI_Comm dcomm; /* the data of RTS messages, apart from the ring's receives */
  MPI_Comm ccomm; /* MPI's own collectives on tubo's communicators (coll/coll_hier.c) */
  int compact;    /* MPI's tags reach MPI_TAG_COMPACT's range */
  int rank, size;
  int owns_mpi; /* tubo initialized MPI, so it finalizes it */
  int tag_span; /* data tags are MPI_TAG_DATA0 .. MPI_TAG_DATA0 + tag_span - 1 */
  MPI_Request *reqs;
  mpi_send_t *sends;
  int nsends, capsends;
  int *done_idx;           /* MPI_Testsome's output */
  mpi_send_t *done;        /* and what those requests were for */
  unsigned char *ring_mem; /* the ring's buffers, one allocation */
  unsigned char *ring_buf[MPI_RING];
  MPI_Request ring_req[MPI_RING];
  unsigned ring_head;
  unsigned unposted; /* ring receives taken and not yet posted again: those before head */
  size_t rcap;
  unsigned polls, hot;
  void *pool[MPI_POOL_CLASSES]; /* free buffers of each class, linked through their start */
  unsigned pooled[MPI_POOL_CLASSES];
} mpi_state_t;

/* The bytes of a buffer of size class c. */
static size_t mpi_pool_cap(const mpi_state_t *s, int c)
{
  size_t n = (size_t)1 << (MPI_POOL_MIN_SHIFT + c);
  return n < s->rcap ? n : s->rcap;
}

/* The size class of an n-byte buffer, or -1 for one the pool does not keep. */
static int mpi_pool_class(const mpi_state_t *s, size_t n)
{
  for (int c = 0; c < MPI_POOL_CLASSES; c++)
    if (n <= mpi_pool_cap(s, c))
      return c;
  return -1;
}

/* A buffer of at least n bytes for a frame to send. */
static void *mpi_buf_get(mpi_state_t *s, size_t n)
{
  int c = mpi_pool_class(s, n);
  if (c < 0)
    return malloc(n);
  void *b = s->pool[c];
  if (b == NULL)
    return malloc(mpi_pool_cap(s, c));
  memcpy(&s->pool[c], b, sizeof(void *));
  s->pooled[c]--;
  return b;
}

/* Gives back a buffer of mpi_buf_get for n bytes. */
static void mpi_buf_put(mpi_state_t *s, void *b, size_t n)
{
  int c = mpi_pool_class(s, n);
  if (b == NULL || c < 0 || s->pooled[c] == MPI_POOL_KEEP) {
    free(b);
    return;
  }
  memcpy(b, &s->pool[c], sizeof(void *));
  s->pool[c] = b;
  s->pooled[c]++;
}

static void mpi_pool_free(mpi_state_t *s)
{
  for (int c = 0; c < MPI_POOL_CLASSES; c++)
    while (s->pool[c] != NULL)
      free(mpi_buf_get(s, mpi_pool_cap(s, c)));
}

/* The bytes of the message a receive took in. Open MPI keeps them in its status, and
 * MPI_Get_count (a call of 40-odd instructions per frame) only divides them by the type's
 * size; any other MPI is asked. */
static inline int mpi_status_bytes(const MPI_Status *st)
{
#if defined(OPEN_MPI) && OPEN_MPI
  return st->_ucount <= INT_MAX ? (int)st->_ucount : -1;
#else
  int n = -1;
  MPI_Get_count(st, MPI_BYTE, &n);
  return n;
#endif
}

/* Posts ring receive i again: they are persistent, made once at open. */
static int mpi_post(mpi_state_t *s, unsigned i)
{
  return MPI_Start(&s->ring_req[i]) == MPI_SUCCESS ? 0 : TUBO_EPEER;
}

/* Takes back the ring's receives, and frees them. */
static void mpi_ring_free(mpi_state_t *s)
{
  for (unsigned i = 0; i < MPI_RING; i++) {
    if (s->ring_req[i] != MPI_REQUEST_NULL) {
      int done = 0;
      MPI_Test(&s->ring_req[i], &done, MPI_STATUS_IGNORE);
      if (!done) {
        MPI_Cancel(&s->ring_req[i]);
        MPI_Wait(&s->ring_req[i], MPI_STATUS_IGNORE);
      }
      MPI_Request_free(&s->ring_req[i]);
    }
    s->ring_buf[i] = NULL;
  }
  free(s->ring_mem);
  s->ring_mem = NULL;
}

static int mpi_data_tag(const mpi_state_t *s, uint32_t id)
{
  return MPI_TAG_DATA0 + (int)(id % (uint32_t)s->tag_span);
}

/* Records a request MPI is doing; the request slot is filled by the caller. */
static MPI_Request *mpi_send_slot(mpi_state_t *s, enum mpi_op op, void *buf, size_t blen, int peer,
                                  uint32_t id)
{
  if (s->nsends == s->capsends) {
    int cap = s->capsends ? 2 * s->capsends : 64;
    MPI_Request *r = realloc(s->reqs, (size_t)cap * sizeof *r);
    if (r != NULL)
      s->reqs = r;
    mpi_send_t *d = realloc(s->sends, (size_t)cap * sizeof *d);
    if (d != NULL)
      s->sends = d;
    int *x = realloc(s->done_idx, (size_t)cap * sizeof *x);
    if (x != NULL)
      s->done_idx = x;
    mpi_send_t *q = realloc(s->done, (size_t)cap * sizeof *q);
    if (q != NULL)
      s->done = q;
    if (r == NULL || d == NULL || x == NULL || q == NULL)
      return NULL;
    s->capsends = cap;
  }
  s->sends[s->nsends] = (mpi_send_t){buf, blen, NULL, peer, id, op};
  return &s->reqs[s->nsends++];
}

/* Posts the data of an RTS: the user's buffer, in chunks MPI can count. */
static int mpi_send_data(mpi_state_t *s, int peer, const struct tubo__f_rts *h)
{
  const char *p = (const char *)(uintptr_t)h->addr;
  for (uint64_t off = 0; off < h->total; off += MPI_CHUNK) {
    uint64_t n = h->total - off < MPI_CHUNK ? h->total - off : MPI_CHUNK;
    MPI_Request *r = mpi_send_slot(s, MPI_OP_DATA, NULL, 0, peer, h->sreq);
    if (r == NULL)
      return TUBO_ENOMEM;
    if (MPI_Isend(p + off, (int)n, MPI_BYTE, peer, mpi_data_tag(s, h->sreq), s->dcomm, r) !=
        MPI_SUCCESS) {
      s->nsends--;
      return TUBO_EPEER;
    }
  }
  return 0;
}

/* A context in the 10 bits of a headerless frame's MPI tag: the world's first 512 and
 * pipes' first 512 (TUBO__CTX_PIPE_BASE on), else -1. */
static int mpi_ctx_code(uint16_t ctx)
{
  if (ctx < 512)
    return ctx;
  if (ctx >= TUBO__CTX_PIPE_BASE && ctx < TUBO__CTX_PIPE_BASE + 512)
    return 512 + (int)(ctx - TUBO__CTX_PIPE_BASE);
  return -1;
}

static uint16_t mpi_ctx_of_code(int code)
{
  return (uint16_t)(code < 512 ? code : (int)TUBO__CTX_PIPE_BASE + code - 512);
}

/* The MPI tag of a headerless frame of context ctx and tag, or -1 where that frame needs
 * a header (a tag above 2^20, a context with no code, or MPI's tags too few). */
static inline int mpi_compact_tag(const mpi_state_t *s, uint16_t ctx, int32_t tag)
{
  int code = mpi_ctx_code(ctx);
  if (code < 0 || (uint32_t)tag > MPI_COMPACT_TAG_MAX || !s->compact)
    return -1;
  return MPI_TAG_COMPACT | code << MPI_COMPACT_TAG_BITS | tag;
}

/* Sends a small headerless frame, mtag its MPI tag, at once from buf: MPI copies it (far
 * below its eager limits). */
static inline int mpi_send_compact(mpi_state_t *s, int peer, int mtag, const void *buf, size_t len)
{
  return MPI_Send(buf, (int)len, MPI_BYTE, peer, mtag, s->comm) == MPI_SUCCESS ? 0 : TUBO_EPEER;
}

/* Sends any frame but the small headerless ones mpi_push sends itself: mtag is its MPI
 * tag, MPI_TAG_FRAME for one with a header. Apart, so that those keep a short path. */
static __attribute__((noinline)) int mpi_push_other(mpi_state_t *s, int peer, int mtag,
                                                    const tubo__frame_t *f, const void *p1,
                                                    size_t n1, const void *p2, size_t n2)
{
  struct mpi_hdr h = {f->kind, f->flags, f->ctx, f->tag, f->len, MPI_HDR_MAGIC};
  size_t hl = mtag == MPI_TAG_FRAME ? sizeof h : 0;
  if (f->len <= MPI_SMALL && f->kind != TUBO__F_RTS) {
    /* From a copy on the stack: MPI copies that at once too. */
    unsigned char small[sizeof h + MPI_SMALL];
    memcpy(small, &h, hl);
    if (n1)
      memcpy(small + hl, p1, n1);
    if (n2)
      memcpy(small + hl + n1, p2, n2);
    return MPI_Send(small, (int)(hl + f->len), MPI_BYTE, peer, mtag, s->comm) == MPI_SUCCESS
               ? 0
               : TUBO_EPEER;
  }
  size_t blen = hl + f->len;
  unsigned char *buf = mpi_buf_get(s, blen);
  if (buf == NULL)
    return TUBO_ENOMEM;
  memcpy(buf, &h, hl);
  if (n1)
    memcpy(buf + hl, p1, n1);
  if (n2)
    memcpy(buf + hl + n1, p2, n2);
  MPI_Request *r = mpi_send_slot(s, MPI_OP_FRAME, buf, blen, peer, 0);
  if (r == NULL) {
    mpi_buf_put(s, buf, blen);
    return TUBO_ENOMEM;
  }
  if (MPI_Isend(buf, (int)blen, MPI_BYTE, peer, mtag, s->comm, r) != MPI_SUCCESS) {
    s->nsends--;
    mpi_buf_put(s, buf, blen);
    return TUBO_EPEER;
  }
  if (f->kind == TUBO__F_RTS && n1 == sizeof(struct tubo__f_rts)) {
    struct tubo__f_rts rts;
    memcpy(&rts, p1, sizeof rts);
    return mpi_send_data(s, peer, &rts);
  }
  return 0;
}

static int mpi_push(void *state, int peer, const tubo__frame_t *f, const void *p1, size_t n1,
                    const void *p2, size_t n2)
{
  mpi_state_t *s = state;
  s->hot = MPI_HOT_POLLS;
  int ctag = f->kind == TUBO__F_EAGER && f->flags == 0 ? mpi_compact_tag(s, f->ctx, f->tag) : -1;
  /* The commonest frame, a small message in one piece, goes from the caller's memory. */
  if (ctag >= 0 && f->len <= MPI_SMALL && n1 == f->len && n2 == 0)
    return mpi_send_compact(s, peer, ctag, p1, f->len);
  if (f->len > MPI_FRAME_MAX || n1 + n2 != f->len)
    return TUBO_ETOOBIG;
  return mpi_push_other(s, peer, ctag >= 0 ? ctag : MPI_TAG_FRAME, f, p1, n1, p2, n2);
}

/* A small message that needs a header (its context or tag do not fit an MPI tag). */
static __attribute__((noinline)) int mpi_send_framed(mpi_state_t *s, int peer, uint16_t ctx,
                                                     int32_t tag, const void *buf, size_t len)
{
  tubo__frame_t f = {TUBO__F_EAGER, 0, ctx, tag, (uint32_t)len};
  return mpi_push(s, peer, &f, buf, len, NULL, 0);
}

/* The fast path of a small send (transport.h): the headerless frame of mpi_push with no
 * frame to read. mpi_push never returns TUBO_EAGAIN (MPI waits for room). */
static int mpi_send_eager(void *state, int peer, uint16_t ctx, int32_t tag, const void *buf,
                          size_t len)
{
  mpi_state_t *s = state;
  s->hot = MPI_HOT_POLLS;
  int ctag = mpi_compact_tag(s, ctx, tag);
  if (ctag >= 0 && len <= MPI_SMALL)
    return mpi_send_compact(s, peer, ctag, buf, len);
  return mpi_send_framed(s, peer, ctx, tag, buf, len);
}

static int mpi_read(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n,
                    size_t total)
{
  mpi_state_t *s = state;
  (void)addr;
  unsigned char *tmp = NULL;
  int rc = 0;
  /* The sender sent all of it: what does not fit (a truncated receive) is taken anyway,
   * into a buffer of this transport, and dropped. */
  for (size_t off = 0; off < total && rc == 0; off += MPI_CHUNK) {
    size_t k = total - off < MPI_CHUNK ? total - off : MPI_CHUNK;
    void *into = (char *)dst + off;
    if (off + k > n) {
      if (tmp == NULL && (tmp = malloc(k < MPI_CHUNK ? k : MPI_CHUNK)) == NULL)
        return TUBO_ENOMEM;
      into = tmp;
    }
    if (MPI_Recv(into, (int)k, MPI_BYTE, peer, mpi_data_tag(s, id), s->dcomm, MPI_STATUS_IGNORE) !=
        MPI_SUCCESS)
      rc = TUBO_EPEER;
    else if (into == tmp && off < n)
      memcpy((char *)dst + off, tmp, n - off);
  }
  free(tmp);
  return rc;
}

static int mpi_read_start(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n,
                          tubo_request_t *r)
{
  mpi_state_t *s = state;
  (void)addr; /* the sender names its data by id */
  if (n > MPI_CHUNK)
    return 0; /* in chunks, by mpi_read */
  MPI_Request *q = mpi_send_slot(s, MPI_OP_READ, NULL, 0, peer, id);
  if (q == NULL)
    return TUBO_ENOMEM;
  s->sends[s->nsends - 1].rreq = r;
  if (MPI_Irecv(dst, (int)n, MPI_BYTE, peer, mpi_data_tag(s, id), s->dcomm, q) != MPI_SUCCESS) {
    s->nsends--;
    return TUBO_EPEER;
  }
  s->hot = MPI_HOT_POLLS;
  return 1;
}

static void mpi_read_cancel(void *state, tubo_request_t *r)
{
  mpi_state_t *s = state;
  for (int i = 0; i < s->nsends; i++)
    if (s->sends[i].op == MPI_OP_READ && s->sends[i].rreq == r) {
      /* Once matched, a receive cannot be cancelled: then it is waited for, as the user's
       * buffer must not be written after tubo gives it back. */
      MPI_Cancel(&s->reqs[i]);
      MPI_Wait(&s->reqs[i], MPI_STATUS_IGNORE);
      s->reqs[i] = s->reqs[s->nsends - 1];
      s->sends[i] = s->sends[s->nsends - 1];
      s->nsends--;
      return;
    }
}

/* Whether MPI still sends data of peer's RTS id. */
static int mpi_data_pending(const mpi_state_t *s, int peer, uint32_t id)
{
  for (int i = 0; i < s->nsends; i++)
    if (s->sends[i].op == MPI_OP_DATA && s->sends[i].peer == peer && s->sends[i].id == id)
      return 1;
  return 0;
}

/* Frees the frames MPI has sent, completes the sends whose data it has sent and the
 * receives whose data it has taken in. */
static int mpi_reap_sends(mpi_state_t *s)
{
  if (s->nsends == 0)
    return 0;
  int outcount = 0;
  if (MPI_Testsome(s->nsends, s->reqs, &outcount, s->done_idx, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
    return TUBO_EPEER;
  if (outcount == MPI_UNDEFINED || outcount == 0)
    return 0;
  for (int i = 0; i < outcount; i++) {
    s->done[i] = s->sends[s->done_idx[i]];
    mpi_buf_put(s, s->done[i].buf, s->done[i].blen);
  }
  int k = 0;
  for (int i = 0; i < s->nsends; i++)
    if (s->reqs[i] != MPI_REQUEST_NULL) {
      s->reqs[k] = s->reqs[i];
      s->sends[k++] = s->sends[i];
    }
  s->nsends = k;
  /* Last, as the engine may send frames of its own meanwhile. */
  for (int i = 0; i < outcount; i++) {
    mpi_send_t d = s->done[i];
    if (d.op == MPI_OP_READ)
      tubo__read_done(s->w, d.rreq, d.id, 0);
    else if (d.op == MPI_OP_DATA && !mpi_data_pending(s, d.peer, d.id))
      tubo__rts_sent(s->w, d.id);
  }
  return outcount;
}

/* Reads the frame ring receive i took, with status st: its sender, header and payload
 * (in the ring's buffer). Returns 0, or TUBO_ECORRUPT for what no peer sends. */
static int mpi_frame_decode(const mpi_state_t *s, unsigned i, const MPI_Status *st, int *src,
                            tubo__frame_t *f, const unsigned char **payload)
{
  int count = mpi_status_bytes(st);
  struct mpi_hdr h;
  const unsigned char *buf = s->ring_buf[i];
  *src = st->MPI_SOURCE;
  if (count < 0 || count > (int)MPI_FRAME_MAX + (int)sizeof h || *src < 0 || *src >= s->size ||
      *src == s->rank)
    return TUBO_ECORRUPT;
  if (st->MPI_TAG & MPI_TAG_COMPACT) {
    if (count > (int)MPI_FRAME_MAX)
      return TUBO_ECORRUPT;
    *f = (tubo__frame_t){
        TUBO__F_EAGER, 0,
        mpi_ctx_of_code((st->MPI_TAG >> MPI_COMPACT_TAG_BITS) & MPI_COMPACT_CTX_MAX),
        st->MPI_TAG & MPI_COMPACT_TAG_MAX, (uint32_t)count};
    *payload = buf;
    return 0;
  }
  if (st->MPI_TAG != MPI_TAG_FRAME || count < (int)sizeof h)
    return TUBO_ECORRUPT;
  memcpy(&h, buf, sizeof h);
  if (h.magic != MPI_HDR_MAGIC || h.len != (size_t)count - sizeof h || h.kind == 0 ||
      h.kind > TUBO__F_KIND_MAX)
    return TUBO_ECORRUPT;
  *f = (tubo__frame_t){h.kind, h.flags, h.ctx, h.tag, h.len};
  *payload = buf + sizeof h;
  return 0;
}

/* Tests the ring's next receive: returns 1 with the frame that
 * came (its sender, header and payload, in the ring's buffer until the next call posts it
 * again), 0 when none has come, or an error. Once every receive of the ring was taken,
 * none is left to test until the next call posts them again (MPI says that an inactive
 * receive has completed). */
static inline int mpi_next_frame(mpi_state_t *s, int *src, tubo__frame_t *f,
                                 const unsigned char **payload)
{
  unsigned i = s->ring_head % MPI_RING;
  int flag = 1;
  MPI_Status st;
  if (s->unposted == MPI_RING)
    return 0;
  if (MPI_Test(&s->ring_req[i], &flag, &st) != MPI_SUCCESS)
    return TUBO_ECORRUPT; /* a frame longer than any peer sends */
  if (!flag)
    return 0;
  /* Its buffer takes a later frame once the engine has used this one: it is posted again
   * at the next call, after the caller has had this frame (off the path of a reply). */
  s->ring_head++;
  s->unposted++;
  int rc = mpi_frame_decode(s, i, &st, src, f, payload);
  return rc < 0 ? rc : 1;
}

/* Hands a frame to the engine, which keeps what no receive wants yet. */
static int mpi_deliver(mpi_state_t *s, int src, const tubo__frame_t *f,
                       const unsigned char *payload)
{
  /* A peer that left had taken in the data it was going to: the sends MPI has finished
   * complete before its departure fails those still waiting. */
  if (f->kind == TUBO__F_GONE && s->nsends > 0) {
    int rc = mpi_reap_sends(s);
    if (rc < 0)
      return rc;
  }
  return tubo__deliver(s->w, src, f, payload, 1);
}

/* Takes the next frame MPI has for this rank, if any: returns 1, 0 or an error. */
static int mpi_take_frame(mpi_state_t *s)
{
  int src = -1;
  tubo__frame_t f;
  const unsigned char *payload = NULL;
  int rc = mpi_next_frame(s, &src, &f, &payload);
  if (rc <= 0)
    return rc;
  rc = mpi_deliver(s, src, &f, payload);
  return rc < 0 ? rc : 1;
}

/* Posts again the ring receives taken, in the order they were taken: the ring's order
 * stays the order MPI matches them in. */
static int mpi_repost(mpi_state_t *s)
{
  for (; s->unposted > 0; s->unposted--)
    if (mpi_post(s, (s->ring_head - s->unposted) % MPI_RING) != 0)
      return TUBO_EPEER;
  return 0;
}

static int mpi_progress(void *state)
{
  mpi_state_t *s = state;
  if (s->hot == 0 && tubo__tp_polled_with_others(s->w)) {
    unsigned every = tubo__tp_wait_is_elsewhere(s->w, s) ? MPI_QUIET_POLL : MPI_IDLE_POLL;
    if ((++s->polls & (every - 1)) != 0)
      return 0;
  }
  int n;
  if (s->unposted > 0 && (n = mpi_repost(s)) < 0)
    return n;
  if ((n = mpi_reap_sends(s)) < 0)
    return n;
  n = 0;
  /* Frames until none is left or one completes a request: testing for the next one
   * costs a pass of MPI's progress engine, which the caller waiting for that request
   * should not pay before it sees it (the next call takes the rest). */
  uint64_t completed = tubo__tp_completions(s->w);
  while (tubo__tp_completions(s->w) == completed) {
    int rc = mpi_take_frame(s);
    if (rc < 0)
      return rc;
    if (rc == 0)
      break;
    n++;
  }
  if (n > 0 || s->nsends > 0)
    s->hot = MPI_HOT_POLLS;
  else if (s->hot > 0)
    s->hot--;
  return n;
}

/* Whether a blocking receive from peer may wait in MPI_Wait for the next frame: nothing
 * but a frame could end its wait (engine.h says so of the engine's side; and MPI has no
 * request of this rank's to finish). Any frame, also a peer's GONE or an ABORT, ends that
 * wait. */
static inline int mpi_may_wait(const mpi_state_t *s, const tubo__world_t *w, int peer)
{
  return s->nsends == 0 && tubo__tp_only_frames_end_wait(w, peer);
}

/* The fast path of a blocking receive (transport.h). Frames of all peers come in one
 * stream here: a frame that is not the one wanted goes to the engine, and the call to the
 * general path. Where it may (mpi_may_wait), it waits for the next frame in MPI_Wait, as
 * MPI_Recv does, rather than going round the engine's wait loop between tests. The frame
 * wanted is a headerless one, whose MPI tag says its context and tag: one comparison of
 * that tag, before any decoding, finds it. Everything that does not depend on the frame
 * is worked out before the wait, where it costs nothing (the caller is waiting for the
 * frame's flight anyway); after it come only the match, the copy and the return. */
static int mpi_recv(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                    tubo_status_t *status)
{
  tubo__world_t *w = tubo__tp_comm_world(comm);
  int wpeer = tubo__comm_world_rank(comm, source);
  mpi_state_t *s = tubo__tp_state_of(w, wpeer);
  int peer = tubo__tp_index_of(w, wpeer);
  if (s->unposted > 0 && mpi_repost(s) < 0)
    return TUBO_EPEER;
  int wait = mpi_may_wait(s, w, wpeer);
  unsigned i = s->ring_head % MPI_RING;
  /* The MPI tag of the frame wanted, and which of its bits matter. A context or tag that
   * no headerless frame carries wants what no MPI tag is (-1). */
  int mask = tag == TUBO_ANY_TAG ? ~MPI_COMPACT_TAG_MAX : -1;
  int want = mpi_compact_tag(s, tubo__tp_comm_ctx(comm), tag == TUBO_ANY_TAG ? 0 : tag);
  if (want >= 0)
    want &= mask;
  s->hot = MPI_HOT_POLLS;
  int flag = 1;
  MPI_Status st;
  if ((wait ? MPI_Wait(&s->ring_req[i], &st) : MPI_Test(&s->ring_req[i], &flag, &st)) !=
      MPI_SUCCESS)
    return TUBO_ECORRUPT; /* a frame longer than any peer sends */
  if (flag) {
    s->ring_head++;
    s->unposted++;
    int count = mpi_status_bytes(&st);
    if (st.MPI_SOURCE == peer && (unsigned)count <= MPI_FRAME_MAX && (st.MPI_TAG & mask) == want) {
      tubo__copy_small(buf, s->ring_buf[i], (size_t)count < cap ? (size_t)count : cap);
      return tubo__recv_fast_done(w, source, st.MPI_TAG & MPI_COMPACT_TAG_MAX, (size_t)count, cap,
                                  status);
    }
    /* Any other frame goes to the engine. */
    int src = -1;
    tubo__frame_t f;
    const unsigned char *payload = NULL;
    int rc = mpi_frame_decode(s, i, &st, &src, &f, &payload);
    if (rc == 0)
      rc = mpi_deliver(s, src, &f, payload);
    if (rc < 0)
      return rc;
  }
  return tubo__recv_general(buf, cap, source, tag, comm, status);
}

static int mpi_check(void *state)
{
  (void)state;
  return 0; /* mpirun ends the whole job when a rank dies */
}

static void mpi_abort(void *state, int code)
{
  mpi_state_t *s = state;
  MPI_Abort(s->comm, code);
}

static void mpi_leave(void *state)
{
  mpi_state_t *s = state;
  /* The peers this transport serves learn that this rank left, after its last frames. */
  struct tubo__f_gone g = {s->rank, 0};
  tubo__frame_t f = {TUBO__F_GONE, 0, 0, 0, sizeof g};
  for (int p = 0; p < s->size; p++)
    if (p != s->rank && tubo__tp_state_of(s->w, p) == state)
      (void)mpi_push(s, p, &f, &g, sizeof g, NULL, 0);
}

/* Whether MPI still sends frames of this rank (not the data of RTSs). */
static int mpi_frames_pending(const mpi_state_t *s)
{
  for (int i = 0; i < s->nsends; i++)
    if (s->sends[i].op == MPI_OP_FRAME)
      return 1;
  return 0;
}

/* Ends this rank's traffic: every rank finishes sending its frames while taking (and
 * dropping) frames that came too late for anyone, then all meet in a barrier. The data
 * of an RTS whose receiver left without reading it can never finish (Open MPI cannot
 * cancel a send): it is let go. */
static void mpi_drain(mpi_state_t *s)
{
  MPI_Request bar = MPI_REQUEST_NULL;
  int done = mpi_repost(s) != 0;
  while (!done) {
    unsigned i = s->ring_head % MPI_RING;
    int flag = 0;
    if (MPI_Test(&s->ring_req[i], &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && flag) {
      s->ring_head++;
      if (mpi_post(s, i) != 0)
        break;
      continue;
    }
    if (mpi_reap_sends(s) < 0)
      break;
    if (mpi_frames_pending(s))
      continue;
    if (bar == MPI_REQUEST_NULL && MPI_Ibarrier(s->comm, &bar) != MPI_SUCCESS)
      break;
    MPI_Test(&bar, &done, MPI_STATUS_IGNORE);
  }
  for (int i = 0; i < s->nsends; i++)
    if (s->reqs[i] != MPI_REQUEST_NULL)
      MPI_Request_free(&s->reqs[i]);
  mpi_ring_free(s);
}

static void mpi_close(void *state)
{
  mpi_state_t *s = state;
  if (s == NULL)
    return;
  int fin = 0;
  MPI_Finalized(&fin);
  tubo__mpi_hook_disarm(s->w, fin);
  if (!fin) {
    mpi_drain(s);
    MPI_Comm_free(&s->comm);
    MPI_Comm_free(&s->dcomm);
    MPI_Comm_free(&s->ccomm);
    if (s->owns_mpi)
      MPI_Finalize();
  }
  for (int i = 0; i < s->nsends; i++)
    free(s->sends[i].buf);
  mpi_pool_free(s);
  free(s->reqs);
  free(s->sends);
  free(s->done_idx);
  free(s->done);
  free(s->ring_mem); /* left only where MPI was finalized under tubo, with the ring */
  free(s);
}

static int mpi_open(tubo__world_t *w, tubo__launch_t *l, const void *arg, void **state,
                    tubo__tp_caps_t *caps);

static int mpi_serve(void *state)
{
  mpi_state_t *s = state;
  return tubo__mpi_hook_arm(s->w, s->owns_mpi);
}

/* The table's entries that call MPI count themselves in tubo's MPI calls (mpi_hook.c). */
static void mpi_close_in(void *state)
{
  tubo__mpi_enter();
  mpi_close(state);
  tubo__mpi_leave();
}

static int mpi_push_in(void *state, int peer, const tubo__frame_t *f, const void *p1, size_t n1,
                       const void *p2, size_t n2)
{
  tubo__mpi_enter();
  int rc = mpi_push(state, peer, f, p1, n1, p2, n2);
  tubo__mpi_leave();
  return rc;
}

static int mpi_send_eager_in(void *state, int peer, uint16_t ctx, int32_t tag, const void *buf,
                             size_t len)
{
  tubo__mpi_enter();
  int rc = mpi_send_eager(state, peer, ctx, tag, buf, len);
  tubo__mpi_leave();
  return rc;
}

static int mpi_read_in(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n,
                       size_t total)
{
  tubo__mpi_enter();
  int rc = mpi_read(state, peer, addr, id, dst, n, total);
  tubo__mpi_leave();
  return rc;
}

static int mpi_read_start_in(void *state, int peer, uint64_t addr, uint32_t id, void *dst, size_t n,
                             tubo_request_t *r)
{
  tubo__mpi_enter();
  int rc = mpi_read_start(state, peer, addr, id, dst, n, r);
  tubo__mpi_leave();
  return rc;
}

static void mpi_read_cancel_in(void *state, tubo_request_t *r)
{
  tubo__mpi_enter();
  mpi_read_cancel(state, r);
  tubo__mpi_leave();
}

static int mpi_recv_in(void *buf, size_t cap, int source, int tag, tubo_comm_t *comm,
                       tubo_status_t *status)
{
  tubo__mpi_enter();
  int rc = mpi_recv(buf, cap, source, tag, comm, status);
  tubo__mpi_leave();
  return rc;
}

static int mpi_progress_in(void *state)
{
  tubo__mpi_enter();
  int rc = mpi_progress(state);
  tubo__mpi_leave();
  return rc;
}

static void mpi_abort_in(void *state, int code)
{
  tubo__mpi_enter();
  mpi_abort(state, code);
  tubo__mpi_leave();
}

static void mpi_leave_in(void *state)
{
  tubo__mpi_enter();
  mpi_leave(state);
  tubo__mpi_leave();
}

const tubo__tp_ops_t tubo__mpi_ops = {
    .name = "mpi",
    .open = mpi_open,
    .close = mpi_close_in,
    .push = mpi_push_in,
    .send_eager = mpi_send_eager_in,
    .read = mpi_read_in,
    .read_start = mpi_read_start_in,
    .read_cancel = mpi_read_cancel_in,
    .recv = mpi_recv_in,
    .heap_alloc = NULL,
    .heap_free = NULL,
    .heap_at = NULL,
    .progress = mpi_progress_in,
    .serve = mpi_serve,
    .sleep = NULL,
    .check = mpi_check,
    .abort = mpi_abort_in,
    .leave = mpi_leave_in,
};

/* Sets each peer's single-copy threshold by how MPI reaches it. */
static int mpi_set_thresholds(mpi_state_t *s, MPI_Comm host, MPI_Comm node)
{
  unsigned char *shm = malloc((size_t)s->size);
  if (shm == NULL)
    return TUBO_ENOMEM;
  int rc = tubo__mpi_shm_peers(s->comm, host, node, shm);
  for (int p = 0; p < s->size && rc == 0; p++)
    if (p != s->rank)
      tubo__tp_set_rndv(s->w, p, shm[p] ? MPI_RNDV_SHM : MPI_RNDV_NET);
  free(shm);
  return rc;
}

MPI_Comm tubo__mpi_tport_comm(void *state)
{
  return ((mpi_state_t *)state)->comm;
}

MPI_Comm tubo__mpi_tport_coll_comm(void *state)
{
  return ((mpi_state_t *)state)->ccomm;
}

/* Opens the transport over the communicators of arg (mpi_transport.h). */
static int mpi_open(tubo__world_t *w, tubo__launch_t *l, const void *arg, void **state,
                    tubo__tp_caps_t *caps)
{
  const tubo__mpi_open_arg_t *a = arg;
  if (a == NULL || l->world_of != NULL)
    return TUBO_ELAUNCH; /* MPI's ranks are the world's */
  MPI_Comm comm = a->comm;
  mpi_state_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return TUBO_ENOMEM;
  s->w = w;
  s->comm = comm;
  for (unsigned i = 0; i < MPI_RING; i++)
    s->ring_req[i] = MPI_REQUEST_NULL;
  if (MPI_Comm_dup(comm, &s->dcomm) != MPI_SUCCESS) {
    free(s);
    return TUBO_ELAUNCH;
  }
  if (MPI_Comm_dup(comm, &s->ccomm) != MPI_SUCCESS) {
    MPI_Comm_free(&s->dcomm);
    free(s);
    return TUBO_ELAUNCH;
  }
  MPI_Comm_set_errhandler(s->ccomm, MPI_ERRORS_RETURN);
  s->owns_mpi = a->owns_mpi;
  MPI_Comm_rank(comm, &s->rank);
  MPI_Comm_size(comm, &s->size);
  int *ub = NULL, flag = 0;
  MPI_Comm_get_attr(comm, MPI_TAG_UB, &ub, &flag);
  int tag_ub = flag && ub != NULL ? *ub : 32767;
  s->tag_span = tag_ub - MPI_TAG_DATA0 + 1;
  s->compact = tag_ub >= (MPI_TAG_COMPACT | MPI_COMPACT_CTX_MAX << MPI_COMPACT_TAG_BITS |
                          MPI_COMPACT_TAG_MAX);
  s->rcap = sizeof(struct mpi_hdr) + MPI_FRAME_MAX;
  /* Buffers a whole number of pages apart would all start in one set of the L1 cache,
   * which holds 8 lines of a set, and a small frame touches only the first lines of its
   * buffer: with 64 buffers so placed an 8-byte hop took 4x as long (measured). */
  size_t stride = ((s->rcap + 4095) & ~(size_t)4095) + MPI_RING_SKEW;
  int rc = TUBO_ENOMEM;
  if ((s->ring_mem = aligned_alloc(64, MPI_RING * stride)) == NULL)
    goto fail;
  for (unsigned i = 0; i < MPI_RING; i++) {
    s->ring_buf[i] = s->ring_mem + i * stride;
    if (MPI_Recv_init(s->ring_buf[i], (int)s->rcap, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, comm,
                      &s->ring_req[i]) != MPI_SUCCESS ||
        mpi_post(s, i) != 0)
      goto fail;
  }
  if ((rc = mpi_set_thresholds(s, a->host, a->node)) != 0)
    goto fail;
  caps->frame_max = MPI_FRAME_MAX;
  caps->single_copy = 1;
  caps->rndv_min = 0; /* set for each peer above */
  caps->self_fin = 1;
  *state = s;
  return 0;
fail:
  mpi_ring_free(s); /* what was made of the ring */
  MPI_Comm_free(&s->dcomm);
  MPI_Comm_free(&s->ccomm);
  free(s);
  return rc;
}
