/* SPDX-License-Identifier: MIT */
/* The OS contract: everything tubo asks of the kernel, in one small interface.
 *
 * Each operating system gets one implementation file (os_linux.c today), chosen in
 * lib/Makefile.inc; the rest of tubo calls only these functions and never tests the OS
 * with #ifdef. Every function returns 0 or a negative TUBO_E code unless stated. */
#ifndef TUBO_OS_H
#define TUBO_OS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* Sleeps while *word still holds expected, for at most timeout_ms (negative: no limit).
 * Works between processes sharing the word's memory. Returns 0 when woken, when the value
 * already differed or on a signal, and TUBO_ETIMEDOUT when the time ran out. */
int tubo__os_futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms);

/* Wakes at most n processes sleeping on word in tubo__os_futex_wait. */
void tubo__os_futex_wake(_Atomic uint32_t *word, int n);

/* Asymmetric fences. A process that registered with tubo__os_fence_register may publish
 * with plain release stores and then read a peer's "sleeping" word without a full fence,
 * because a peer about to sleep calls tubo__os_fence_remote, which makes every registered
 * process on every CPU pass a full memory barrier before it returns. Returns 0 when
 * available; TUBO_ENOTSUP means every publisher must use its own full fence instead. */
int tubo__os_fence_register(void);
void tubo__os_fence_remote(void);

/* Creates an owner-only shared memory object of size bytes that has no name anyone can
 * open: it disappears when the last process holding it exits, however that happens.
 * Returns a file descriptor (>= 0) or TUBO_ESHM. */
int tubo__os_shm_create(size_t size);

/* Opens, in this process, the shared memory object that process pid holds as descriptor
 * fd, where the system lets a process of the same user do so (it asks what a debugger
 * needs to read that process: another user's process is refused). Returns a new
 * close-on-exec descriptor or TUBO_ESHM. */
int tubo__os_shm_from(pid_t pid, int fd);

/* Reserves the pages of [offset, offset + len) of a shared memory object now, under the
 * memory policy bound to that range, so that a full system fails here with TUBO_ESHM
 * instead of with SIGBUS on first touch. */
int tubo__os_shm_reserve(int fd, size_t offset, size_t len);

/* Gives the pages of [offset, offset + len) of a shared memory object back to the system
 * (every process mapping them loses them); the range reads as zeros afterwards. Returns 0,
 * or TUBO_ENOTSUP where the object cannot do so (its contents are then unchanged). */
int tubo__os_shm_release(int fd, size_t offset, size_t len);

/* Binds the pages of [addr, addr + len) (page-aligned) to NUMA node node (its OS index),
 * so that they come from that node's memory. Returns 0, or TUBO_ENOTSUP where the kernel
 * refused (no such node, or no NUMA support). */
int tubo__os_membind(void *addr, size_t len, int node);

/* Maps the pages of [addr, addr + len) of a shared mapping into this process now, ready
 * for writing, so that the first messages do not pay a page fault each. Does not change
 * the memory's contents. Best effort. */
void tubo__os_prefault(void *addr, size_t len);

/* Copies len bytes at address remote of process pid into local with a single copy.
 * Returns 0; TUBO_ENOTSUP where the kernel or a security policy forbids it; TUBO_EPEER if
 * the process is gone; TUBO_ESYS for other failures (a bad address among them). */
int tubo__os_peer_read(pid_t pid, uint64_t remote, void *local, size_t len);

/* One piece of several that tubo__os_peer_readv copies: len bytes at address remote of the
 * other process into local. */
typedef struct tubo__os_span {
  uint64_t remote;
  void *local;
  size_t len;
} tubo__os_span_t;

/* Copies the n pieces of v from process pid with one single copy (one system call where it
 * can). Returns how many of the first pieces were copied whole (n: all); the caller copies
 * the others with tubo__os_peer_read, which says why they failed. */
int tubo__os_peer_readv(pid_t pid, const tubo__os_span_t *v, int n);

/* Copies len bytes at local into address remote of process pid with a single copy; the
 * same rules and returns as tubo__os_peer_read (a security module that lets this process
 * read pid's memory lets it write there too). */
int tubo__os_peer_write(pid_t pid, uint64_t remote, const void *local, size_t len);

/* Allows processes descending from ancestor to read this process's memory with
 * tubo__os_peer_read where a security module restricts it to ancestors. Best effort. */
void tubo__os_allow_peer_reads(pid_t ancestor);

/* Makes the calling process die with SIGKILL when the process parent does; call right
 * after fork in the child. Returns TUBO_EPEER if parent is already gone. */
int tubo__os_die_with_parent(pid_t parent);

/* This process's pid without a system call after the first: cached, and looked up again
 * in a forked child (nothing is cached where the fork handler cannot be registered). */
uint32_t tubo__os_self(void);

/* Returns 1 if process pid exists and has not ended, 0 if it does not or is a zombie. */
int tubo__os_pid_alive(pid_t pid);

/* What process pid is doing: gone (no such process, or a zombie), stopped (by a signal
 * or a debugger: it cannot act until continued), or alive. */
enum { TUBO__PID_GONE = 0, TUBO__PID_ALIVE = 1, TUBO__PID_STOPPED = 2 };
int tubo__os_pid_state(pid_t pid);

/* The parent of process pid (a zombie's too), or -1 when there is no such process. */
pid_t tubo__os_pid_parent(pid_t pid);

/* How much more memory a job may take, and what says so. */
typedef struct tubo__os_room {
  uint64_t bytes; /* UINT64_MAX: nothing limits it that the system tells */
  char what[512]; /* the limit that binds, for messages ("" when none) */
} tubo__os_room_t;

/* Finds how much more memory this process and its children may take for the shared
 * memory object fd: the least of what the system has available, what each memory cgroup
 * of this process allows (its own and every one above it; page cache it could drop does
 * not count as used), and, for an object in a file system of limited size, that file
 * system's free space. Returns 0 (r filled) or TUBO_ESYS. */
int tubo__os_memory_room(int fd, tubo__os_room_t *r);

/* The processor time process pid has used so far, user and system, in nanoseconds (at the
 * kernel's clock tick resolution). Returns 0, or TUBO_EPEER when it cannot be read (the
 * process is gone). */
int tubo__os_cpu_time_ns(pid_t pid, uint64_t *ns);

/* Gives the processor to another runnable process, if there is one (sched_yield). */
void tubo__os_yield(void);

/* Monotonic time in nanoseconds. */
uint64_t tubo__os_now_ns(void);

/* Fills buf with len unpredictable bytes (for job identifiers). */
int tubo__os_random(void *buf, size_t len);

/* Code named across processes of one program (os_code_linux.c): each process maps the
 * program's objects at addresses of its own, so an address is named by the loaded object
 * that holds it (obj, a hash of its name) and its offset there. tubo__os_code_name names
 * addr, which must lie in some object's code; tubo__os_code_find gives the address of
 * that code in this process. Both return TUBO_EINVAL when no loaded object matches. */
int tubo__os_code_name(const void *addr, uint64_t *obj, uint64_t *off);
int tubo__os_code_find(uint64_t obj, uint64_t off, void **addr);

/* What the machine is and how busy (os_machine_linux.c), for keys and figures that must
 * change when the machine does. tubo__os_cpu_model writes the processor's model name
 * (NUL-terminated, truncated to cap) and returns TUBO_ENOTSUP where the system does not
 * say it; tubo__os_load_average gives the run queue's one-minute average, or
 * TUBO_ENOTSUP. */
int tubo__os_cpu_model(char *buf, size_t cap);
int tubo__os_load_average(double *load);

/* Whether the processor is Intel's (x86 CPUID vendor "GenuineIntel"): 1 or 0. */
int tubo__os_cpu_is_intel(void);

/* Tells the processor that the caller is spinning: saves power and lets the sibling
 * hardware thread run. The architecture tests of tubo live here (this and the next). */
static inline void tubo__os_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Copies n bytes with the processor's string copy where it has one that moves whole
 * lines ("rep movsb" on x86-64, fast with ERMS), else with memcpy. For the sizes where
 * the string copy measured faster than libc's choice (copy.h). */
static inline void tubo__os_copy_string(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
  __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
  memcpy(dst, src, n);
#endif
}

/* Asks for the cache line at p in the state for writing, ahead of the stores: a line
 * another core holds (a ring slot its reader read) then comes over while the caller does
 * other work. Only a hint: it changes no data ("prefetchw" on x86-64, which older Intel
 * processors run as a no-op; "pstl1keep" on AArch64). */
static inline void tubo__os_prefetch_write(const void *p)
{
#if defined(__x86_64__)
  __asm__ volatile("prefetchw %0" ::"m"(*(const char *)p));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

/* Asks for the cache line at p for reading, ahead of the loads: a line another core
 * wrote then comes over while the caller works on the lines before it. Only a hint. */
static inline void tubo__os_prefetch_read(const void *p)
{
  __builtin_prefetch(p, 0, 3);
}

#endif /* TUBO_OS_H */
