/* check.h — tiny test harness, chibicc style: a failing check prints the expression and
 * the values; main() returns the failure count. */
#ifndef KILN_CHECK_H
#define KILN_CHECK_H
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond)                                                              \
  do {                                                                           \
    check_count++;                                                               \
    if (!(cond)) {                                                               \
      check_failures++;                                                          \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
    }                                                                            \
  } while (0)

#define CHECK_EQ_I(expected, expr)                                               \
  do {                                                                           \
    long long e_ = (long long)(expected), g_ = (long long)(expr);                \
    check_count++;                                                               \
    if (e_ != g_) {                                                              \
      check_failures++;                                                          \
      fprintf(stderr, "%s:%d: %s => %lld, expected %lld\n", __FILE__, __LINE__,  \
              #expr, g_, e_);                                                    \
    }                                                                            \
  } while (0)

#define CHECK_NEAR(expected, expr, tol)                                          \
  do {                                                                           \
    double e_ = (double)(expected), g_ = (double)(expr);                         \
    check_count++;                                                               \
    if (!(fabs(e_ - g_) <= (tol))) {                                             \
      check_failures++;                                                          \
      fprintf(stderr, "%s:%d: %s => %.9g, expected %.9g (tol %g)\n", __FILE__,  \
              __LINE__, #expr, g_, e_, (double)(tol));                           \
    }                                                                            \
  } while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                     \
  do {                                                                           \
    check_count++;                                                               \
    if (!strstr((haystack), (needle))) {                                         \
      check_failures++;                                                          \
      fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,      \
              __LINE__, (haystack), (needle));                                   \
    }                                                                            \
  } while (0)

static inline int check_report(const char *name) {
  printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
  return check_failures ? 1 : 0;
}
#endif
