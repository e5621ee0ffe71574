/* SPDX-License-Identifier: MIT */
/* The two enumerate() cells of seed 001, which explain the index-and-value loop the
 * Array programs use: no processes here, only the loop, in C. */
#include <stdio.h>

int main(void)
{
  const int nums[] = {3, 4, 5};
  for (int idx = 0; idx < 3; idx++)
    printf("%d %d\n", idx, nums[idx]);
  for (int idx = 0; idx < 10; idx++) /* range(10): the value is the index */
    printf("%d %d\n", idx, idx);
  return 0;
}
