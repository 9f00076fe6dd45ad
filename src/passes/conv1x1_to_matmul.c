/* conv1x1_to_matmul.c — NHWC 1x1 convolutions become matrix multiplications.
 *
 * Runs after channels-last. Matches an NHWC conv_2d with a 1x1 kernel, one group and no
 * padding (any stride, any dilation: a 1x1 window does not dilate); the weight is hwcf
 * [1,1,C,F]. Rewrites
 *   y = conv(x[N,H,W,C], w, b)
 * to
 *   xs = extract_slice(x, steps 1,sh,sw,1)            only when a stride is not 1
 *   m  = matmul(reshape(xs, [N*OH*OW, C]), reshape(w, [C, F]))
 *   y  = reshape(m, [N,OH,OW,F])  (+ b[f] as a broadcast-add generic, map (d3))
 * The reduction dim C is innermost and contiguous in both matmul operands, and no
 * transpose of the activation appears. A constant weight's reshape folds in
 * fold-constants. NCHW convs (channels-last not run yet) and other kernels stay.
 * Guarantees: same result type and numbers; the conv is erased. */
#include "passes.h"

static bool is_1x1_nhwc(const Op *op) {
  const OpAttrs *a = &op->attrs;
  if (op->kind != KILN_OP_CONV2D || a->layout != LAYOUT_NHWC || a->groups != 1) return false;
  if (a->kernel[0] != 1 || a->kernel[1] != 1 || op->in[0]->type.rank != 4) return false;
  if (op->n_in > 2 && op->in[2]->type.dtype != op->out[0]->type.dtype) return false;
  return !a->pads[0] && !a->pads[1] && !a->pads[2] && !a->pads[3];
}

static Value *reshape_before(Func *f, Value *v, int rank, const int64_t *dims, const char *name,
                             Op *before) {
  TensorType t = type_make(v->type.dtype, rank, dims);
  return op_new(f, KILN_OP_RESHAPE, name, 1, &v, 1, &t, before)->out[0];
}

/* x[:, ::sh, ::sw, :] with the conv's output spatial size. */
static Value *stride_slice(Func *f, Op *conv, const char *name) {
  Value *x = conv->in[0];
  const OpAttrs *a = &conv->attrs;
  if (a->strides[0] == 1 && a->strides[1] == 1) return x;
  TensorType t = x->type;
  t.dims[1] = conv->out[0]->type.dims[1];
  t.dims[2] = conv->out[0]->type.dims[2];
  Op *s = op_new(f, KILN_OP_EXTRACT_SLICE, name, 1, &x, 1, &t, conv);
  s->attrs.steps[1] = a->strides[0];
  s->attrs.steps[2] = a->strides[1];
  return s->out[0];
}

static void rewrite(Func *f, Op *conv) {
  const int64_t *od = conv->out[0]->type.dims;
  int64_t c = conv->in[0]->type.dims[3], fo = od[3], m = od[0] * od[1] * od[2];
  char name[256];
  snprintf(name, sizeof name, "%s.stride", conv->name);
  Value *xs = stride_slice(f, conv, name);
  snprintf(name, sizeof name, "%s.rows", conv->name);
  Value *x2 = reshape_before(f, xs, 2, (int64_t[]){m, c}, name, conv);
  snprintf(name, sizeof name, "%s.w2d", conv->name);
  Value *w2 = reshape_before(f, conv->in[1], 2, (int64_t[]){c, fo}, name, conv);
  Value *mm_in[2] = {x2, w2};
  TensorType mt = type_make(conv->out[0]->type.dtype, 2, (int64_t[]){m, fo});
  Op *mm = op_new(f, KILN_OP_MATMUL, conv->name, 2, mm_in, 1, &mt, conv);
  snprintf(name, sizeof name, "%s.nhwc", conv->name);
  Value *y = reshape_before(f, mm->out[0], 4, od, name, conv);
  snprintf(name, sizeof name, "%s.bias", conv->name);
  if (conv->n_in > 2) y = generic_bias_add(f, y, conv->in[2], 3, name, conv);
  value_replace_uses(conv->out[0], y);
  op_erase(conv);
}

KilnStatus pass_conv1x1_to_matmul(Func *f, PassContext *ctx) {
  (void)ctx;
  for (Op *op = f->first, *next; op; op = next) {
    next = op->next;
    if (is_1x1_nhwc(op)) rewrite(f, op);
  }
  return KILN_OK;
}
