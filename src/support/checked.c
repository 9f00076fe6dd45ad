/* checked.c — overflow-checked size arithmetic for dims that come from files. */
#include "support.h"

int checked_mul_i64(int64_t a, int64_t b, int64_t *out) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return 1;
  *out = r;
  return 0;
}

int checked_add_i64(int64_t a, int64_t b, int64_t *out) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return 1;
  *out = r;
  return 0;
}
