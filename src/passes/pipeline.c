/* pipeline.c — the global-optimization pipeline: one table, in order.
 *
 * The order is the design's (shared/design.md, "Pipeline"): cleanup first so later
 * passes see folded shapes and no dead code, then the layout passes, then fusion. Passes
 * that are not written yet are simply not in the table. pipeline_run() wraps each pass
 * in the caller's hooks (printing before/after, --verify-each). */
#include <string.h>

#include "passes.h"

static const Pass all_passes[] = {
  {"fold-constants", pass_fold_constants, "evaluate ops whose operands are all constants (weight-only subgraphs)"},
  {"canonicalize", pass_canonicalize, "remove no-op transposes/reshapes/pads/slices/copies, merge transpose and reshape chains"},
  {"cse", pass_cse, "merge identical ops and identical constants"},
  {"dce", pass_dce, "erase ops whose results are unused"},
};

/* The default pipeline, in order. */
static const Pass *const pipeline[] = {
  &all_passes[0], /* fold-constants */
  &all_passes[1], /* canonicalize */
  &all_passes[2], /* cse */
  &all_passes[3], /* dce */
};

const Pass *const *pipeline_passes(int *n) {
  *n = (int)ARRAY_LEN(pipeline);
  return pipeline;
}

const Pass *pass_all(int *n) {
  *n = (int)ARRAY_LEN(all_passes);
  return all_passes;
}

const Pass *pass_lookup(const char *name) {
  for (size_t i = 0; i < ARRAY_LEN(all_passes); i++)
    if (!strcmp(all_passes[i].name, name)) return &all_passes[i];
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
