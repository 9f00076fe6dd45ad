/* channels_last.c — every conv kind and pooling to NHWC.
 *
 * Rewrites NCHW conv_2d, depthwise_conv_2d and pooling ops to their NHWC form: the
 * activation goes through a transpose to NHWC in front of the op and back to NCHW
 * behind it, and the weights get a transpose to the NHWC weight layout (fchw -> hwcf,
 * chw -> hwc). The transposes are inserted only at the op's boundary; the weight
 * transposes are constant and fold at compile time (fold-constants runs next), and the
 * activation transposes cancel between neighbouring ops or sink through elementwise ops
 * in propagate-transposes. conv_transpose_2d's iohw weights become hwoi (the same
 * permutation as fchw -> hwcf). Guarantees: no NCHW conv, depthwise, conv-transpose or
 * pooling op remains. */
#include "passes.h"

static const int64_t to_nhwc[4] = {0, 2, 3, 1};
static const int64_t to_nchw[4] = {0, 3, 1, 2};
static const int64_t fchw_to_hwcf[4] = {2, 3, 1, 0};
static const int64_t chw_to_hwc[3] = {1, 2, 0};

/* Inserts transpose(v, perm) before `before`; returns its result. */
static Value *transpose_before(Func *f, Value *v, const int64_t *perm, const char *name, Op *before) {
  TensorType t = v->type;
  for (int i = 0; i < t.rank; i++) t.dims[i] = v->type.dims[perm[i]];
  Op *op = op_new(f, KILN_OP_TRANSPOSE, name, 1, &v, 1, &t, before);
  for (int i = 0; i < t.rank; i++) op->attrs.perm[i] = perm[i];
  return op->out[0];
}

static bool needs_rewrite(const Op *op) {
  return (op->kind == KILN_OP_CONV2D || op->kind == KILN_OP_DEPTHWISE_CONV2D ||
          op->kind == KILN_OP_CONV_TRANSPOSE2D || op->kind == KILN_OP_POOL2D) &&
         op->attrs.layout == LAYOUT_NCHW;
}

static void rewrite(Func *f, Op *op) {
  Value *ins[3];
  ins[0] = transpose_before(f, op->in[0], to_nhwc, "to_nhwc", op);
  if (op->kind == KILN_OP_CONV2D || op->kind == KILN_OP_CONV_TRANSPOSE2D)
    ins[1] = transpose_before(f, op->in[1], fchw_to_hwcf, "to_hwcf", op);
  if (op->kind == KILN_OP_DEPTHWISE_CONV2D) ins[1] = transpose_before(f, op->in[1], chw_to_hwc, "to_hwc", op);
  if (op->n_in > 2) ins[2] = op->in[2];
  TensorType out = op->out[0]->type;
  for (int i = 0; i < 4; i++) out.dims[i] = op->out[0]->type.dims[to_nhwc[i]];
  Op *nhwc = op_new(f, op->kind, op->name, op->n_in, ins, 1, &out, op);
  nhwc->attrs = op->attrs;
  nhwc->attrs.layout = LAYOUT_NHWC;
  Value *back = transpose_before(f, nhwc->out[0], to_nchw, "to_nchw", op);
  value_replace_uses(op->out[0], back);
  op_erase(op);
}

KilnStatus pass_channels_last(Func *f, PassContext *ctx) {
  (void)ctx;
  for (Op *op = f->first, *next; op; op = next) {
    next = op->next;
    if (needs_rewrite(op) && op->in[0]->type.rank == 4) rewrite(f, op);
  }
  return KILN_OK;
}
