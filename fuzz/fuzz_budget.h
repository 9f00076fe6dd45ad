/* fuzz_budget.h — which models the pipeline fuzz target (and the regression replay, which
 * must treat its inputs the same way) runs through the pipeline and the interpreter: only
 * small ones, so each execution stays fast. Larger models are only imported. */
#ifndef KILN_FUZZ_BUDGET_H
#define KILN_FUZZ_BUDGET_H

#include "ir/ir.h"

#define FUZZ_MAX_INPUT_ELEMS (1 << 16)   /* per graph input */
#define FUZZ_MAX_CONST_BYTES (4 << 20)   /* all constants */
#define FUZZ_MAX_VALUE_BYTES (64 << 20)  /* all op results */

static inline bool fuzz_small_enough(const Module *m) {
  const Func *f = m->main;
  int64_t consts = 0, values = 0;
  for (int i = 0; i < f->n_args; i++) {
    int64_t n = type_numel(&f->args[i]->type);
    if (n < 0 || n > FUZZ_MAX_INPUT_ELEMS) return false;
  }
  for (int i = 0; i < m->n_consts; i++) consts += (int64_t)m->consts[i].nbytes;
  for (const Op *op = f->first; op; op = op->next)
    for (int k = 0; k < op->n_out; k++) {
      int64_t nb = type_nbytes(&op->out[k]->type);
      if (nb < 0) return false;
      values += nb;
    }
  return consts <= FUZZ_MAX_CONST_BYTES && values <= FUZZ_MAX_VALUE_BYTES;
}

#endif
