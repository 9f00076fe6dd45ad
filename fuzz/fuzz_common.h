/* fuzz_common.h — what the fuzz targets share: the error-message invariant.
 *
 * Every target feeds hostile bytes to one reader. A failure must be a status with a
 * one-line message (what the CLI prints as "kiln: error: ..."); anything else — an empty
 * or multi-line message, a status without a message — aborts so libFuzzer reports it. */
#ifndef KILN_FUZZ_COMMON_H
#define KILN_FUZZ_COMMON_H

#include <string.h>

#include "support/support.h"

static inline void fuzz_check_diag(KilnStatus st, const Diag *d) {
  if (st == KILN_OK) return;
  if (d->status != st || !d->msg[0] || strchr(d->msg, '\n')) {
    fprintf(stderr, "fuzz: bad diagnostic (status %d/%d): '%s'\n", (int)st, (int)d->status, d->msg);
    abort();
  }
}

#endif
