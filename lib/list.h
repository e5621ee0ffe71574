/* SPDX-License-Identifier: MIT */
/* An intrusive doubly linked list, as libuv's uv__queue and nng's nni_list: an element
 * embeds a tubo__list_node_t and is found again from it with TUBO__LIST_ENTRY.
 *
 * Unlike those two, the list is not circular: its ends hold NULL, so that "is it empty" is
 * one load and a compare with zero on the engine's fast paths (nothing queued for a peer,
 * no receive posted), as it was before the list had a type of its own. A node that is on
 * no list has both links NULL (once tubo__list_remove took it off, or when zeroed). */
#ifndef TUBO_LIST_H
#define TUBO_LIST_H

#include <stddef.h>

typedef struct tubo__list_node {
  struct tubo__list_node *next, *prev;
} tubo__list_node_t;

typedef struct tubo__list {
  tubo__list_node_t *head, *tail;
} tubo__list_t;

/* The element of type type whose member is node. */
#define TUBO__LIST_ENTRY(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

/* The first element of l, of type type linked through member, or NULL when l is empty. */
#define TUBO__LIST_FIRST(l, type, member) \
  ((l)->head != NULL ? TUBO__LIST_ENTRY((l)->head, type, member) : (type *)NULL)

/* The element after e on its list, or NULL at the end. */
#define TUBO__LIST_NEXT(e, type, member) \
  ((e)->member.next != NULL ? TUBO__LIST_ENTRY((e)->member.next, type, member) : (type *)NULL)

/* Walks l from head to tail, setting e (declared by the caller, of type type *, linked
 * through member) to each element. The body must not take e off the list (walk with
 * TUBO__LIST_FOREACH_SAFE then); break and continue work as in any loop. The walk follows
 * the nodes and finds each element from its node, which costs no instruction over a list
 * linked by hand. */
#define TUBO__LIST_FOREACH(e, l, type, member)                                    \
  for (tubo__list_node_t *e##_node_ = (l)->head;                                  \
       e##_node_ != NULL && ((e) = TUBO__LIST_ENTRY(e##_node_, type, member), 1); \
       e##_node_ = e##_node_->next)

/* As TUBO__LIST_FOREACH, but the body may take e off the list (or free it). */
#define TUBO__LIST_FOREACH_SAFE(e, l, type, member)                                       \
  for (tubo__list_node_t *e##_node_ = (l)->head, *e##_next_ = NULL;                       \
       e##_node_ != NULL &&                                                               \
       (e##_next_ = e##_node_->next, (e) = TUBO__LIST_ENTRY(e##_node_, type, member), 1); \
       e##_node_ = e##_next_)

static inline void tubo__list_init(tubo__list_t *l)
{
  l->head = l->tail = NULL;
}

static inline int tubo__list_empty(const tubo__list_t *l)
{
  return l->head == NULL;
}

/* Puts n at the tail of l. */
static inline void tubo__list_append(tubo__list_t *l, tubo__list_node_t *n)
{
  n->next = NULL;
  n->prev = l->tail;
  if (l->tail != NULL)
    l->tail->next = n;
  else
    l->head = n;
  l->tail = n;
}

/* Puts n at the head of l. */
static inline void tubo__list_prepend(tubo__list_t *l, tubo__list_node_t *n)
{
  n->prev = NULL;
  n->next = l->head;
  if (l->head != NULL)
    l->head->prev = n;
  else
    l->tail = n;
  l->head = n;
}

/* Takes n, which is on l, off it. */
static inline void tubo__list_remove(tubo__list_t *l, tubo__list_node_t *n)
{
  if (n->prev != NULL)
    n->prev->next = n->next;
  else
    l->head = n->next;
  if (n->next != NULL)
    n->next->prev = n->prev;
  else
    l->tail = n->prev;
  n->next = n->prev = NULL;
}

/* Takes the head off l and returns it, or NULL when l is empty. */
static inline tubo__list_node_t *tubo__list_pop(tubo__list_t *l)
{
  tubo__list_node_t *n = l->head;
  if (n != NULL)
    tubo__list_remove(l, n);
  return n;
}

/* Whether n is on l (a walk: for checks off the fast paths). */
static inline int tubo__list_contains(const tubo__list_t *l, const tubo__list_node_t *n)
{
  for (const tubo__list_node_t *p = l->head; p != NULL; p = p->next)
    if (p == n)
      return 1;
  return 0;
}

#endif /* TUBO_LIST_H */
