/* SPDX-License-Identifier: MIT */
/* One process adds a record to a shared list, another prints them all. Port of seed 002's
 * Manager program: `records = manager.list([...])` is a tubo_list; each record is one
 * item, a C struct. There is no server process: the list lives in shared memory. */
#include <stdio.h>
#include <stdlib.h>
#include <tubo.h>

struct record {
  char name[32];
  int score;
};

static int print_records(void *arg)
{
  tubo_list_t *records = arg;
  tubo_item_t *items;
  size_t n;
  if (tubo_list_snapshot(records, &items, &n) != 0) /* for record in records: */
    return 1;
  for (size_t i = 0; i < n; i++) {
    const struct record *record = items[i].data;
    printf("Name: %s\nScore: %d\n\n", record->name, record->score);
  }
  free(items);
  return 0;
}

static int insert_record(void *arg)
{
  tubo_list_t *records = arg;
  const struct record new_record = {"English", 3};
  if (tubo_list_append(records, &new_record, sizeof new_record) != 0)
    return 1;
  printf("A New record is added\n\n");
  return 0;
}

int main(void)
{
  static const struct record initial[] = {{"Computers", 1}, {"Histoty", 5}, {"Hindi", 9}};
  const tubo_item_t items[] = {{&initial[0], sizeof initial[0]},
                               {&initial[1], sizeof initial[1]},
                               {&initial[2], sizeof initial[2]}};
  tubo_list_t *records;
  if (tubo_list_create(&records) != 0 || tubo_list_extend(records, items, 3) != 0)
    return 1;
  tubo_process_t *p1, *p2;
  if (tubo_process_create(insert_record, records, &p1) != 0 ||
      tubo_process_create(print_records, records, &p2) != 0)
    return 1;
  tubo_process_start(p1);
  tubo_process_join(p1, -1);
  tubo_process_start(p2);
  tubo_process_join(p2, -1);
  tubo_process_free(p1);
  tubo_process_free(p2);
  tubo_list_free(records);
  return 0;
}
