/* pipeline.c — the global-optimization pipeline: one table, in order.
 *
 * The order is the design's (shared/design.md, "Pipeline"): cleanup first so later
 * passes see folded shapes and no dead code, then the layout passes, then fusion; cleanup
 * again wherever a pass leaves dead ops or foldable constants behind. Passes that are not
 * written yet are simply not in the table. pipeline_run() wraps each pass in the caller's
 * hooks (printing before/after, --verify-each). */
#include <string.h>

#include "passes.h"

#define PASS(var, name, fn, summary) static const Pass var = {name, fn, summary, 0, 0};
PASS(fold_constants, "fold-constants", pass_fold_constants, "evaluate ops whose operands are all constants (weight-only subgraphs)")
PASS(canonicalize, "canonicalize", pass_canonicalize, "remove no-op transposes/reshapes/pads/slices/copies; merge transpose and reshape chains")
PASS(cse, "cse", pass_cse, "merge identical ops and identical constants")
PASS(dce, "dce", pass_dce, "erase ops whose results are unused")
PASS(fold_scale_bias, "fold-scale-bias", pass_fold_scale_bias, "fold per-channel scale and bias (BatchNorm) into conv weights and bias")
PASS(fuse_elementwise, "fuse-elementwise", pass_fuse_elementwise, "merge single-use parallel generics into their generic consumer (composed maps, one body)")
PASS(simplify_fake_quant, "simplify-fake-quant", pass_simplify_fake_quant, "in generic bodies: float -> int -> float round trips of integral in-range values (the QDQ chain) become float selects; casts of constants fold")
/* quantize-convs computes QDQ convs as ONNX Runtime's int8 execution does (exact int32
 * sums), not as the float QDQ graph (rounded f32 sums): a quantized value next to a
 * rounding boundary may move by one step, and later layers carry that on. One step of an
 * 8-bit output is >= 1/255 of its range; measured on the int8 DeepLabV3s: at most one
 * step at the output (0.4% of its range), relative L2 0.007. A wrong scale, zero point or
 * layout moves outputs by many steps. Exactness against ORT's int8 run: model oracle. */
static const Pass quantize_convs = {"quantize-convs", pass_quantize_convs, "QDQ units DQ(x), DQ(w) -> conv -> Q become integer convs (int32 accumulation) with a requantizing epilogue, ONNX Runtime's QLinearConv", 0.05, 0.02};
PASS(sink_pads, "sink-pads", pass_sink_pads, "move constant pads below single-operand elementwise generics (pad value through the body), toward the conv that can fold them")
PASS(fold_pad, "fold-pad", pass_fold_pad, "fold zero spatial pads into the pads of the conv, depthwise conv or average pool that reads them")
PASS(conv1x1_to_matmul, "conv1x1-to-matmul", pass_conv1x1_to_matmul, "NHWC 1x1 conv -> reshape + matmul (reduction dim innermost) + bias add")
PASS(propagate_reshapes, "propagate-reshapes", pass_propagate_reshapes, "push unit-dim reshapes down through elementwise generics toward graph edges")
PASS(channels_last, "channels-last", pass_channels_last, "conv, depthwise conv and pooling to NHWC; transposes only at the op boundary, weight transposes folded")
PASS(pad_to_intrinsic, "pad-to-intrinsic", pass_pad_to_intrinsic, "pad conv/depthwise/matmul dims to the --target's tile sizes; the padded shape flows through the elementwise consumers (no target: nothing)")
PASS(propagate_transposes, "propagate-transposes", pass_propagate_transposes, "sink transposes through elementwise ops, concat, resize, pad and slice until they cancel")
#undef PASS

/* Every pass, for --passes=... and --list-passes. */
static const Pass *const all_passes[] = {
  &fold_constants, &canonicalize, &cse, &dce, &fold_scale_bias,
  &fuse_elementwise, &fold_pad, &conv1x1_to_matmul, &propagate_reshapes, &channels_last,
  &propagate_transposes, &pad_to_intrinsic, &simplify_fake_quant, &sink_pads, &quantize_convs,
};

/* The default pipeline, in order. */
static const Pass *const pipeline[] = {
  &fold_constants, &canonicalize, &cse, &dce, /* 1. cleanup */
  &fold_scale_bias, &dce,                     /* 2. BatchNorm / scale / bias into conv weights */
  &quantize_convs, &dce,                      /*    QDQ convs to integer convs */
  &channels_last, &fold_constants,            /* 3. NHWC everywhere; weight transposes fold */
  &propagate_transposes, &fold_constants,     /* 4. transposes sink and cancel or fold */
  &canonicalize, &dce, &sink_pads, &fold_pad, /*   explicit pads into the conv/pool */
  &propagate_reshapes, &canonicalize, &dce,   /* 5. reshapes to the graph edges */
  &pad_to_intrinsic, &dce,                    /* 6. pad to the target's tiles (if any) */
  &conv1x1_to_matmul, &fold_constants, &dce,  /* 7. 1x1 conv -> matmul, reduction innermost */
  &fuse_elementwise, &simplify_fake_quant,    /* 8. elementwise chains into one body, */
  &canonicalize, &cse, &dce,                  /*    the fake-quant chain in float */
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
