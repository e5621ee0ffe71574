/* SPDX-License-Identifier: MIT */
/* A child puts one record on a queue; the parent gets and prints it. Port of the Queue
 * program of seeds 001 and 002 (q.put([42, None, 'hello'])). */
#include <tubo.h>

#include "record.h"

static int f(void *arg)
{
  tubo_queue_t *q = arg;
  struct record r = {42, 0, "hello"};
  return tubo_queue_put(q, &r, sizeof r, -1) == 0 ? 0 : 1;
}

int main(void)
{
  tubo_queue_t *q;
  tubo_process_t *p;
  if (tubo_queue_create(8, sizeof(struct record), 0, &q) != 0 ||
      tubo_process_create(f, q, &p) != 0 || tubo_process_start(p) != 0)
    return 1;
  struct record r;
  if (tubo_queue_get(q, &r, sizeof r, NULL, -1) != 0)
    return 1;
  record_print(&r);
  tubo_process_join(p, -1);
  tubo_process_free(p);
  tubo_queue_free(q);
  return 0;
}
