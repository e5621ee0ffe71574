/* SPDX-License-Identifier: MIT */
/* Heaps in shared memory objects (heap.h): the backing that reserves and gives back
 * pages of a memfd, and heaps with a memfd of their own. */
#include "config.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap/heap.h"
#include "os/os.h"
#include "tubo.h"

static int heap_fd_reserve(void *ctx, uint64_t off, uint64_t len)
{
  const tubo__heap_fd_t *f = ctx;
  return tubo__os_shm_reserve(f->fd, (size_t)(f->off + off), (size_t)len);
}

static int heap_fd_release(void *ctx, uint64_t off, uint64_t len)
{
  const tubo__heap_fd_t *f = ctx;
  return tubo__os_shm_release(f->fd, (size_t)(f->off + off), (size_t)len);
}

tubo__heap_backing_t tubo__heap_fd_backing(tubo__heap_fd_t *f)
{
  tubo__heap_backing_t b = {heap_fd_reserve, heap_fd_release, f};
  return b;
}

int tubo__heap_own_create(uint64_t bytes, tubo__heap_own_t *o)
{
  if (o == NULL)
    return TUBO_EINVAL;
  memset(o, 0, sizeof *o);
  o->fd.fd = -1;
  if (bytes > TUBO__HEAP_MAX || bytes > SIZE_MAX)
    return TUBO_ETOOBIG;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  bytes = (bytes + page - 1) & ~(uint64_t)(page - 1);
  int fd = tubo__os_shm_create((size_t)bytes);
  if (fd < 0)
    return fd;
  void *base = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    close(fd);
    return TUBO_ESHM;
  }
  o->fd.fd = fd;
  o->bytes = bytes;
  tubo__heap_backing_t b = tubo__heap_fd_backing(&o->fd);
  int rc = tubo__heap_format(&o->heap, base, bytes, &b);
  if (rc != 0) {
    munmap(base, (size_t)bytes);
    close(fd);
    memset(o, 0, sizeof *o);
    o->fd.fd = -1;
  }
  return rc;
}

void tubo__heap_own_destroy(tubo__heap_own_t *o)
{
  if (o == NULL)
    return;
  if (o->heap.base != NULL)
    munmap(o->heap.base, (size_t)o->bytes);
  if (o->fd.fd >= 0)
    close(o->fd.fd);
  memset(o, 0, sizeof *o);
  o->fd.fd = -1;
}
