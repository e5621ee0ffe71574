/* SPDX-License-Identifier: MIT */
/* One process adds a record to a shared list, another prints them all. Port of seed 002's
 * Manager program (manager.list of records): tubo has no server process; a shared array
 * of C records under its lock serves the same purpose. */
#include <stdio.h>
#include <string.h>
#include <tubo.h>

struct record {
  char name[32];
  int score;
};

struct records {
  int count;
  struct record r[16];
};

static struct records *records_of(tubo_array_t *a)
{
  return tubo_array_data(a);
}

static int insert_record(void *arg)
{
  tubo_array_t *a = arg;
  const struct record new_record = {"English", 3};
  tubo_array_lock(a);
  struct records *rs = records_of(a);
  rs->r[rs->count++] = new_record;
  tubo_array_unlock(a);
  printf("A New record is added\n\n");
  return 0;
}

static int print_records(void *arg)
{
  tubo_array_t *a = arg;
  tubo_array_lock(a);
  const struct records *rs = records_of(a);
  for (int i = 0; i < rs->count; i++)
    printf("Name: %s\nScore: %d\n\n", rs->r[i].name, rs->r[i].score);
  tubo_array_unlock(a);
  return 0;
}

int main(void)
{
  tubo_array_t *a;
  if (tubo_array_create(TUBO_BYTE, sizeof(struct records), &a) != 0)
    return 1;
  const struct record initial[] = {{"Computers", 1}, {"Histoty", 5}, {"Hindi", 9}};
  struct records *rs = records_of(a);
  memcpy(rs->r, initial, sizeof initial);
  rs->count = 3;
  tubo_process_t *p1, *p2;
  if (tubo_process_create(insert_record, a, &p1) != 0 ||
      tubo_process_create(print_records, a, &p2) != 0)
    return 1;
  tubo_process_start(p1);
  tubo_process_join(p1, -1);
  tubo_process_start(p2);
  tubo_process_join(p2, -1);
  tubo_process_free(p1);
  tubo_process_free(p2);
  tubo_array_free(a);
  return 0;
}
