/* SPDX-License-Identifier: MIT */
/* Code named across processes (os.h), for ELF systems: the loaded object that holds an
 * address, by a hash of its name, and the offset there. Each process of the same program
 * maps its objects at addresses of its own (ASLR), so an address means nothing in another
 * process; the object and the offset do. */
#include "config.h"

#include <link.h>
#include <stdint.h>
#include <string.h>

#include "os/os.h"
#include "tubo.h"

/* FNV-1a of an object's name ("" for the program itself). */
static uint64_t code_hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; s != NULL && *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Whether addr lies in one of obj's executable segments. */
static int code_holds(const struct dl_phdr_info *obj, uintptr_t addr)
{
  for (int i = 0; i < obj->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &obj->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    uintptr_t lo = obj->dlpi_addr + ph->p_vaddr;
    if (addr >= lo && addr - lo < ph->p_memsz)
      return 1;
  }
  return 0;
}

typedef struct code_search {
  int naming; /* 1: name addr; 0: find the object obj and set addr */
  uintptr_t addr;
  uint64_t obj, off;
} code_search_t;

static int code_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  code_search_t *s = arg;
  if (s->naming) {
    if (!code_holds(info, s->addr))
      return 0;
    s->obj = code_hash(info->dlpi_name);
    s->off = (uint64_t)(s->addr - info->dlpi_addr);
    return 1;
  }
  if (code_hash(info->dlpi_name) != s->obj || s->off > UINTPTR_MAX - info->dlpi_addr)
    return 0;
  uintptr_t addr = info->dlpi_addr + (uintptr_t)s->off;
  if (!code_holds(info, addr))
    return 0;
  s->addr = addr;
  return 1;
}

int tubo__os_code_name(const void *addr, uint64_t *obj, uint64_t *off)
{
  code_search_t s = {1, (uintptr_t)addr, 0, 0};
  if (dl_iterate_phdr(code_visit, &s) != 1)
    return TUBO_EINVAL;
  *obj = s.obj;
  *off = s.off;
  return 0;
}

int tubo__os_code_find(uint64_t obj, uint64_t off, void **addr)
{
  code_search_t s = {0, 0, obj, off};
  if (dl_iterate_phdr(code_visit, &s) != 1)
    return TUBO_EINVAL;
  *addr = (void *)s.addr;
  return 0;
}
