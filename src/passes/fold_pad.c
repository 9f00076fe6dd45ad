/* fold_pad.c — fold an explicit zero pad into the padding of the op that reads it.
 *
 * Matches pad(x) -> conv_2d / depthwise_conv_2d (as input 0) or average pooling, where
 * the pad is constant-mode with value 0, pads only the spatial dims of the op's layout
 * (NCHW: 2,3; NHWC: 1,2), pads by non-negative amounts (crops are not folded) and has
 * no other use. The op then reads x and its pads (top, left, bottom, right) grow by the
 * pad's (low H, low W, high H, high W); asymmetric pads, as TensorFlow's SAME padding
 * exports them, fold like symmetric ones. Average pooling counts the padded zeros in its
 * divisor, so it folds only when it already counts pads or has none of its own, and
 * then counts them (count_include_pad). Max pooling is left alone (its pads are not
 * zeros). Guarantees: result types and numbers are unchanged; the pad becomes dead and
 * is erased. */
#include "passes.h"

static bool is_target(const Op *op) {
  if (op->kind == KILN_OP_CONV2D || op->kind == KILN_OP_DEPTHWISE_CONV2D) return true;
  if (op->kind != KILN_OP_POOL2D || op->attrs.pool_kind != POOL_AVG) return false;
  const int64_t *p = op->attrs.pads;
  return op->attrs.count_include_pad || (!p[0] && !p[1] && !p[2] && !p[3]);
}

/* True when pad only adds zeros (>= 0 of them) along dims h and w of a rank-4 tensor. */
static bool is_spatial_zero_pad(const Op *pad, int h, int w) {
  const OpAttrs *a = &pad->attrs;
  if (pad->kind != KILN_OP_PAD || a->pad_mode != PAD_CONSTANT || a->pad_value != 0.0 ||
      pad->in[0]->type.rank != 4)
    return false;
  for (int i = 0; i < 4; i++) {
    if (a->pad_lo[i] < 0 || a->pad_hi[i] < 0) return false;
    if (i != h && i != w && (a->pad_lo[i] || a->pad_hi[i])) return false;
  }
  return true;
}

static bool try_fold(Op *op) {
  if (!is_target(op) || op->in[0]->type.rank != 4) return false;
  Op *pad = op->in[0]->def;
  int h = op->attrs.layout == LAYOUT_NHWC ? 1 : 2, w = h + 1;
  if (!pad || !is_spatial_zero_pad(pad, h, w) || !value_has_one_use(pad->out[0])) return false;
  int64_t *p = op->attrs.pads;
  p[0] += pad->attrs.pad_lo[h];
  p[1] += pad->attrs.pad_lo[w];
  p[2] += pad->attrs.pad_hi[h];
  p[3] += pad->attrs.pad_hi[w];
  if (op->kind == KILN_OP_POOL2D) op->attrs.count_include_pad = true;
  op_set_operand(op, 0, pad->in[0]);
  op_erase(pad);
  return true;
}

KilnStatus pass_fold_pad(Func *f, PassContext *ctx) {
  (void)ctx;
  for (Op *op = f->first; op; op = op->next) try_fold(op);
  return KILN_OK;
}
