/* fuzz_budget.h — which models the pipeline and kiln fuzz targets (and the regression
 * replay, which must treat their inputs the same way) run through the pipeline and the
 * interpreter or the CPU backend: only small ones, so each execution stays fast. Larger
 * models are only imported / loaded. */
#ifndef KILN_FUZZ_BUDGET_H
#define KILN_FUZZ_BUDGET_H

#include "ir/ir.h"

#define FUZZ_MAX_INPUT_ELEMS (1 << 16)   /* per graph input */
#define FUZZ_MAX_CONST_BYTES (4 << 20)   /* all constants */
#define FUZZ_MAX_VALUE_BYTES (64 << 20)  /* all op results */

/* Adds the result bytes of f's ops, and of the ops inside their regions (a dispatch's
 * inner values get arena buffers too, so they bound the CPU backend's arena), to *values;
 * false past the budget or on an overflowing type. */
static inline bool fuzz_values_fit(const Func *f, int64_t *values) {
  for (const Op *op = f->first; op; op = op->next) {
    for (int k = 0; k < op->n_out; k++) {
      int64_t nb = type_nbytes(&op->out[k]->type);
      if (nb < 0 || nb > FUZZ_MAX_VALUE_BYTES - *values) return false;
      *values += nb;
    }
    if (op->attrs.region && !fuzz_values_fit(op->attrs.region, values)) return false;
  }
  return true;
}

static inline bool fuzz_small_enough(const Module *m) {
  const Func *f = m->main;
  int64_t consts = 0, values = 0;
  for (int i = 0; i < f->n_args; i++) {
    int64_t n = type_numel(&f->args[i]->type);
    if (n < 0 || n > FUZZ_MAX_INPUT_ELEMS) return false;
  }
  for (int i = 0; i < m->n_consts; i++) consts += (int64_t)m->consts[i].nbytes;
  return consts <= FUZZ_MAX_CONST_BYTES && fuzz_values_fit(f, &values);
}

#endif
