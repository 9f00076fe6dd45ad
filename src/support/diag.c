/* diag.c — error recording and the always-on assert. */
#include "support.h"

_Noreturn void kiln_assert_fail(const char *expr, const char *file, int line) {
  fprintf(stderr, "kiln: internal error: %s:%d: assertion '%s' failed\n", file, line, expr);
  fflush(stderr);
  abort();
}

KilnStatus diag_error(Diag *d, KilnStatus st, const char *fmt, ...) {
  KILN_ASSERT(st != KILN_OK);
  if (!d) return st;
  if (d->status != KILN_OK) return d->status; /* keep the first, most specific error */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->msg, sizeof d->msg, fmt, ap);
  va_end(ap);
  d->status = st;
  return st;
}

const char *status_name(KilnStatus st) {
  switch (st) {
  case KILN_OK: return "ok";
  case KILN_ERR_INVALID: return "invalid input";
  case KILN_ERR_UNSUPPORTED: return "unsupported";
  case KILN_ERR_LIMIT: return "limit exceeded";
  case KILN_ERR_NOMEM: return "out of memory";
  case KILN_ERR_IO: return "i/o error";
  }
  return "unknown";
}
