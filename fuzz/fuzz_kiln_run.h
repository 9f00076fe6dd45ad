/* fuzz_kiln_run.h — what the kiln fuzz target (fuzz_kiln.c) and the regression replay
 * (tests/regress/replay.c) do with a loaded artifact, so both treat an input the same way:
 * lower it for one thread with the file's packed weights, and when the model is within
 * the fuzz budget (fuzz_budget.h) run it once on zero-filled inputs. Models over the
 * budget are only loaded: lowering allocates the activation arena, which the values'
 * budget bounds (the arena never exceeds the sum of the values it holds). */
#ifndef KILN_FUZZ_KILN_RUN_H
#define KILN_FUZZ_KILN_RUN_H

#include "fuzz_budget.h"
#include "runtime/artifact.h"

static inline KilnStatus fuzz_kiln_run(const Artifact *a, Diag *d) {
  const Module *m = a->module;
  const Func *f = m->main;
  if (!fuzz_small_enough(m)) return KILN_OK;
  CpuLowerOptions lo = {.threads = 1, .packed = a->packed, .n_packed = a->n_packed};
  CpuProgram *p;
  KilnStatus st = cpu_lower(m, f, &lo, &p, d);
  if (st) return st;
  void **bufs = calloc((size_t)(f->n_args + f->n_results) + 1, sizeof *bufs);
  if (!bufs) st = diag_error(d, KILN_ERR_NOMEM, "out of memory");
  for (int i = 0; !st && i < f->n_args + f->n_results; i++) {
    const Value *v = i < f->n_args ? f->args[i] : f->results[i - f->n_args];
    /* calloc(n, 1) of 0 bytes may return NULL; the backend never reads an empty tensor */
    if (!(bufs[i] = calloc((size_t)type_nbytes(&v->type) + 1, 1)))
      st = diag_error(d, KILN_ERR_NOMEM, "out of memory");
  }
  if (!st) st = cpu_run(p, (const void *const *)bufs, bufs + f->n_args, NULL, d);
  for (int i = 0; bufs && i < f->n_args + f->n_results; i++) free(bufs[i]);
  free(bufs);
  cpu_program_free(p);
  return st;
}

#endif
