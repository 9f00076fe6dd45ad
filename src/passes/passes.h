/* passes.h — global optimization: one pass per file, one entry point each, and the
 * pipeline table (pipeline.c) that orders them.
 *
 * A pass rewrites one function in place and returns KILN_OK, or an error status with a
 * message in ctx->diag (user-facing problems only; broken invariants assert). Passes never
 * call each other and never know the interpreter: what they need of it (evaluating an op
 * on constant operands, for constant folding) comes in through PassContext hooks that the
 * caller fills. Sectioned by defining file. */
#ifndef KILN_PASSES_H
#define KILN_PASSES_H

#include "ir/ir.h"

typedef struct PassContext PassContext;

/* A target's intrinsic tile sizes (target.c): the multiples that pad-to-intrinsic rounds
 * conv dims up to. 1 leaves a dim alone. For convs: OW (the matrix intrinsic's M), OC (N),
 * IC (K); OH is split over `cores` cores, so it is rounded up to a multiple of cores. */
typedef struct Target {
  char name[64];
  int64_t ow, oc, ic, cores;
} Target;

/* Evaluates `op`, all of whose operands are CONSTANT ops with data, adding one module
 * constant per result; writes their indices to const_out. */
typedef KilnStatus (*FoldOpFn)(Module *m, const Op *op, int *const_out, Diag *d);

struct PassContext {
  Diag *diag;
  FoldOpFn fold_op;        /* may be NULL: constant folding is then skipped */
  int64_t fold_max_elems;  /* largest result constant folding may create */
  const Target *target;    /* NULL: no target, pad-to-intrinsic does nothing */
};

typedef KilnStatus (*PassFn)(Func *f, PassContext *ctx);

typedef struct Pass {
  const char *name;     /* as given to --print-ir-after=NAME */
  PassFn run;
  const char *summary;  /* one line, printed by --list-passes and the README */
  /* --verify-each's tolerance when the pass changes rounding on purpose (0: the default,
   * driver.h): quantize-convs moves int8 models from float QDQ sums to exact int32 ones. */
  double verify_rel_l2, verify_max_abs_of_range;
} Pass;

/* ---- pipeline.c ---------------------------------------------------------- */

/* The global-optimization pipeline in order; n set to its length. */
const Pass *const *pipeline_passes(int *n);
/* Every known pass (n set), for --list-passes. */
const Pass *const *pass_all(int *n);
/* A pass by name, whether or not it is in the default pipeline; NULL if unknown. */
const Pass *pass_lookup(const char *name);

/* Called before and after each pass (for printing and checking); return non-OK to stop. */
typedef struct PassHooks {
  void *user;
  KilnStatus (*before)(void *user, const Pass *p, Func *f);
  KilnStatus (*after)(void *user, const Pass *p, Func *f);
} PassHooks;

/* Runs passes[0..n) on m->main with the hooks around each. */
KilnStatus pipeline_run(Module *m, const Pass *const *passes, int n, PassContext *ctx,
                        const PassHooks *hooks);

/* ---- target.c ------------------------------------------------------------ */

/* Parses --target=SPEC: a built-in name (target_builtin) or
 * "custom:ow=A,oc=B,ic=C,cores=D" (any subset of the keys, each a positive integer up to
 * 1024; missing keys are 1). Errors name what is wrong and list the built-ins. */
KilnStatus target_parse(const char *spec, Target *t, Diag *d);
/* The i-th built-in target, NULL past the end. */
const Target *target_builtin(int i);

/* ---- one entry point per pass file ---------------------------------------- */

KilnStatus pass_dce(Func *f, PassContext *ctx);             /* dce.c */
KilnStatus pass_cse(Func *f, PassContext *ctx);             /* cse.c */
KilnStatus pass_fold_constants(Func *f, PassContext *ctx);  /* fold_constants.c */
KilnStatus pass_canonicalize(Func *f, PassContext *ctx);    /* canonicalize.c */
KilnStatus pass_fold_scale_bias(Func *f, PassContext *ctx); /* fold_scale_bias.c */
KilnStatus pass_fuse_elementwise(Func *f, PassContext *ctx); /* fuse_elementwise.c */
KilnStatus pass_simplify_fake_quant(Func *f, PassContext *ctx); /* simplify_fake_quant.c */
KilnStatus pass_quantize_convs(Func *f, PassContext *ctx);  /* quantize_convs.c */
KilnStatus pass_fold_pad(Func *f, PassContext *ctx);        /* fold_pad.c */
KilnStatus pass_sink_pads(Func *f, PassContext *ctx);       /* sink_pads.c */
KilnStatus pass_conv1x1_to_matmul(Func *f, PassContext *ctx); /* conv1x1_to_matmul.c */
KilnStatus pass_propagate_reshapes(Func *f, PassContext *ctx); /* propagate_reshapes.c */
KilnStatus pass_channels_last(Func *f, PassContext *ctx);   /* channels_last.c */
KilnStatus pass_propagate_transposes(Func *f, PassContext *ctx); /* propagate_transposes.c */
KilnStatus pass_pad_to_intrinsic(Func *f, PassContext *ctx); /* pad_to_intrinsic.c */

#endif
