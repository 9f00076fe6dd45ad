/* pipeline.c — the global-optimization pipeline: one table, in order.
 *
 * The order is the design's (shared/design.md, "Pipeline"): cleanup first so later
 * passes see folded shapes and no dead code, then the layout passes, then fusion; cleanup
 * again wherever a pass leaves dead ops or foldable constants behind. Passes that are not
 * written yet are simply not in the table. pipeline_run() wraps each pass in the caller's
 * hooks (printing before/after, --verify-each). */
#include <string.h>

#include "passes.h"

#define PASS(var, name, fn, summary) static const Pass var = {name, fn, summary};
PASS(fold_constants, "fold-constants", pass_fold_constants, "evaluate ops whose operands are all constants (weight-only subgraphs)")
PASS(canonicalize, "canonicalize", pass_canonicalize, "remove no-op transposes/reshapes/pads/slices/copies; merge transpose and reshape chains")
PASS(cse, "cse", pass_cse, "merge identical ops and identical constants")
PASS(dce, "dce", pass_dce, "erase ops whose results are unused")
PASS(fold_scale_bias, "fold-scale-bias", pass_fold_scale_bias, "fold per-channel scale and bias (BatchNorm) into conv weights and bias")
#undef PASS

/* Every pass, for --passes=... and --list-passes. */
static const Pass *const all_passes[] = {
  &fold_constants, &canonicalize, &cse, &dce, &fold_scale_bias,
};

/* The default pipeline, in order. */
static const Pass *const pipeline[] = {
  &fold_constants, &canonicalize, &cse, &dce, /* 1. cleanup */
  &fold_scale_bias, &dce,                     /* 2. BatchNorm / scale / bias into conv weights */
};

const Pass *const *pipeline_passes(int *n) {
  *n = (int)ARRAY_LEN(pipeline);
  return pipeline;
}

const Pass *const *pass_all(int *n) {
  *n = (int)ARRAY_LEN(all_passes);
  return all_passes;
}

const Pass *pass_lookup(const char *name) {
  for (size_t i = 0; i < ARRAY_LEN(all_passes); i++)
    if (!strcmp(all_passes[i]->name, name)) return all_passes[i];
  return NULL;
}

KilnStatus pipeline_run(Module *m, const Pass *const *passes, int n, PassContext *ctx,
                        const PassHooks *hooks) {
  for (int i = 0; i < n; i++) {
    const Pass *p = passes[i];
    KilnStatus st = hooks && hooks->before ? hooks->before(hooks->user, p, m->main) : KILN_OK;
    if (!st) st = p->run(m->main, ctx);
    if (!st && hooks && hooks->after) st = hooks->after(hooks->user, p, m->main);
    if (st) return st;
  }
  return KILN_OK;
}
