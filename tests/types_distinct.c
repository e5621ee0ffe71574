/* SPDX-License-Identifier: MIT */
/* Compiled, never run, by tests/types_distinct.sh, once per TD_CASE. Case 0 passes each
 * handle where its own kind is expected and must compile; every other case passes a
 * handle of one kind where another is expected, and the compiler must refuse it. */
#include <tubo.h>

int td_case(tubo_array_t *a, tubo_value_t *v);

int td_case(tubo_array_t *a, tubo_value_t *v)
{
#if TD_CASE == 0
  tubo_array_t *na;
  tubo_value_t *nv;
  return tubo_array_create(TUBO_INT, 2, &na) + tubo_value_create(TUBO_INT, NULL, &nv) +
         tubo_array_lock(a) + tubo_value_lock(v) + (tubo_array_data(a) == tubo_value_data(v));
#elif TD_CASE == 1 /* a Value where an Array goes */
  (void)a;
  return tubo_array_lock(v);
#elif TD_CASE == 2 /* an Array where a Value goes */
  (void)v;
  return tubo_value_lock(a);
#elif TD_CASE == 3 /* a Value made by the Array's constructor */
  (void)a;
  return tubo_array_create(TUBO_INT, 1, &v);
#elif TD_CASE == 4 /* an Array made by the Value's constructor */
  (void)v;
  return tubo_value_create(TUBO_INT, NULL, &a);
#elif TD_CASE == 5 /* the Array's elements through the Value's accessor */
  (void)v;
  return tubo_value_data(a) != 0;
#else
#error "unknown TD_CASE"
#endif
}
