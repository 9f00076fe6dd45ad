/* onnx_nn.c — the "named" ONNX ops: Conv, ConvTranspose, pooling, Gemm, MatMul, Resize,
 * Softmax, ReduceMean/Max/Min/Sum/Prod and ArgMax.
 *
 * Convolutions stay NCHW at import (the layout pass moves them to NHWC). auto_pad is
 * resolved to explicit pads here; a Conv whose group equals its input and output channel
 * count becomes DEPTHWISE_CONV2D with its weight re-laid from [C,1,KH,KW] to [C,KH,KW]
 * (a reshape, folded for a constant weight). Pool ceil_mode becomes extra bottom/right
 * padding. Gemm is MATMUL plus one GENERIC for alpha/beta/C; transposed operands are
 * TRANSPOSE ops, folded for constants. Resize/Upsample resolve sizes to scales (nudged
 * by an ulp so floor(in * scale) == size; keep_aspect_ratio_policy uses one scale).
 * Softmax decomposes into four generics
 * (reduce-max, exp(x - max), reduce-sum, divide); reductions are GENERICs with reduction
 * iterators and attrs.init, ReduceMean a sum followed by a multiply. */
#include <math.h>
#include <string.h>

#include "onnx_internal.h"

/* ---- shared attribute reading -------------------------------------------------------- */

static KilnStatus read_pair(Imp *I, const Onnx__NodeProto *n, const char *name, int64_t *out,
                            int count, int64_t def) {
  int64_t v[4];
  int k = onnx_attr_ints(I, n, name, v, 4);
  if (k == -2) return I->d->status;
  for (int i = 0; i < count; i++) out[i] = k < 0 ? def : v[i < k ? i : 0];
  if (k >= 0 && k != count)
    return imp_err(I, KILN_ERR_UNSUPPORTED, "attribute '%s' has %d values, expected %d (2-D only)", name, k, count);
  return KILN_OK;
}

/* Explicit pads for auto_pad SAME_*: total = max(0, (ceil(in/s) - 1) * s + eff - in). */
static void same_pads(const int64_t *in, OpAttrs *a, bool upper) {
  for (int i = 0; i < 2; i++) {
    int64_t eff = (a->kernel[i] - 1) * a->dilations[i] + 1, out = (in[i] + a->strides[i] - 1) / a->strides[i];
    int64_t total = (out - 1) * a->strides[i] + eff - in[i];
    if (total < 0) total = 0;
    a->pads[i] = upper ? total / 2 : total - total / 2;
    a->pads[i + 2] = total - a->pads[i];
  }
}

/* kernel (from attr or default), strides, dilations, pads, auto_pad. */
static KilnStatus window_attrs(Imp *I, const Onnx__NodeProto *n, const TensorType *x,
                               const int64_t *kdef, OpAttrs *a) {
  if (x->rank != 4)
    return imp_err(I, KILN_ERR_UNSUPPORTED, "input has rank %d; only 2-D (rank-4 NCHW) is supported", x->rank);
  KilnStatus st = kdef ? KILN_OK : imp_err(I, KILN_ERR_INVALID, "missing attribute 'kernel_shape'");
  if (!st && onnx_attr_find(n, "kernel_shape")) st = read_pair(I, n, "kernel_shape", a->kernel, 2, 1);
  else if (!st) memcpy(a->kernel, kdef, sizeof a->kernel);
  if (!st) st = read_pair(I, n, "strides", a->strides, 2, 1);
  if (!st) st = read_pair(I, n, "dilations", a->dilations, 2, 1);
  if (!st) st = read_pair(I, n, "pads", a->pads, 4, 0);
  if (st) return st;
  for (int i = 0; i < 2; i++)
    if (a->kernel[i] < 1 || a->strides[i] < 1 || a->dilations[i] < 1 || a->kernel[i] > (1 << 20) ||
        a->strides[i] > (1 << 20) || a->dilations[i] > (1 << 20))
      return imp_err(I, KILN_ERR_INVALID, "bad kernel_shape/strides/dilations value in dim %d", i);
  for (int i = 0; i < 4; i++)
    if (a->pads[i] < 0 || a->pads[i] > (1 << 24))
      return imp_err(I, KILN_ERR_UNSUPPORTED, "pad value %lld", (long long)a->pads[i]);
  char buf[32];
  const char *ap = onnx_attr_str(n, "auto_pad", "NOTSET", buf, sizeof buf);
  if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) same_pads(x->dims + 2, a, ap[5] == 'U');
  else if (!strcmp(ap, "VALID")) memset(a->pads, 0, sizeof a->pads);
  else if (strcmp(ap, "NOTSET")) return imp_err(I, KILN_ERR_UNSUPPORTED, "auto_pad '%s'", ap);
  return KILN_OK;
}

static KilnStatus bind_op(Imp *I, const Onnx__NodeProto *n, Op *op) {
  KilnStatus st = imp_finish(I, op);
  return st ? st : imp_def(I, n, 0, op->out[0]);
}

/* ---- Conv, ConvTranspose ------------------------------------------------------------- */

KilnStatus imp_conv(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *w = imp_in(I, n, 1), *b = imp_in(I, n, 2);
  if (!x || !w) return imp_err(I, KILN_ERR_INVALID, "needs input and weight");
  if (w->type.rank != 4) return imp_err(I, KILN_ERR_UNSUPPORTED, "weight has rank %d; only 2-D conv", w->type.rank);
  OpAttrs a = {.strides = {1, 1}, .dilations = {1, 1}};
  a.groups = onnx_attr_int(n, "group", 1);
  KilnStatus st = window_attrs(I, n, &x->type, w->type.dims + 2, &a);
  if (st) return st;
  int64_t c = x->type.dims[1], f = w->type.dims[0];
  if (a.groups < 1 || c % a.groups || f % a.groups || w->type.dims[1] * a.groups != c)
    return imp_err(I, KILN_ERR_INVALID, "channel mismatch: input has %lld channels, weight [%lld,%lld,..] with group %lld",
                   (long long)c, (long long)f, (long long)w->type.dims[1], (long long)a.groups);
  bool dw = a.groups > 1 && a.groups == c && c == f;
  Entry wd;
  if (dw) {
    int64_t dims[3] = {c, w->type.dims[2], w->type.dims[3]};
    if ((st = imp_reshape_to(I, w, type_make(w->type.dtype, 3, dims), "dw_weight", &wd))) return st;
    w = &wd;
  }
  Value *ins[3] = {imp_value(I, x), imp_value(I, w), b ? imp_value(I, b) : NULL};
  if (!ins[0] || !ins[1] || (b && !ins[2])) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  Op *op = imp_op(I, dw ? KILN_OP_DEPTHWISE_CONV2D : KILN_OP_CONV2D, NULL, b ? 3 : 2, ins, 1, NULL);
  a.layout = LAYOUT_NCHW;
  if (dw) a.groups = 1;
  op->attrs = a;
  return bind_op(I, n, op);
}

/* Pads from output_shape: total = s*(in-1) + outpad + eff - out. */
static KilnStatus convt_output_shape(Imp *I, const Onnx__NodeProto *n, const int64_t *in, OpAttrs *a,
                                     bool upper) {
  int64_t os[4];
  int k = onnx_attr_ints(I, n, "output_shape", os, 4);
  if (k == -2) return I->d->status;
  if (k < 0) return KILN_OK;
  if (k != 2 && k != 4) return imp_err(I, KILN_ERR_UNSUPPORTED, "output_shape has %d values", k);
  for (int i = 0; i < 2; i++) {
    int64_t eff = (a->kernel[i] - 1) * a->dilations[i] + 1;
    int64_t total = a->strides[i] * (in[i] - 1) + a->output_padding[i] + eff - os[k - 2 + i];
    if (total < 0) return imp_err(I, KILN_ERR_UNSUPPORTED, "output_shape %lld needs negative padding", (long long)os[k - 2 + i]);
    a->pads[i] = upper ? total / 2 : total - total / 2;
    a->pads[i + 2] = total - a->pads[i];
  }
  return KILN_OK;
}

KilnStatus imp_conv_transpose(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *w = imp_in(I, n, 1), *b = imp_in(I, n, 2);
  if (!x || !w) return imp_err(I, KILN_ERR_INVALID, "needs input and weight");
  if (w->type.rank != 4) return imp_err(I, KILN_ERR_UNSUPPORTED, "weight has rank %d; only 2-D", w->type.rank);
  OpAttrs a = {.strides = {1, 1}, .dilations = {1, 1}};
  a.groups = onnx_attr_int(n, "group", 1);
  char buf[32];
  const char *ap = onnx_attr_str(n, "auto_pad", "NOTSET", buf, sizeof buf);
  bool same = !strncmp(ap, "SAME", 4);
  KilnStatus st = window_attrs(I, n, &x->type, w->type.dims + 2, &a);
  if (!st) st = read_pair(I, n, "output_padding", a.output_padding, 2, 0);
  if (st) return st;
  if (same) { /* output = in * stride */
    memset(a.pads, 0, sizeof a.pads);
    int64_t os[2] = {x->type.dims[2] * a.strides[0], x->type.dims[3] * a.strides[1]};
    for (int i = 0; i < 2; i++) {
      int64_t total = a.strides[i] * (x->type.dims[2 + i] - 1) + a.output_padding[i] +
                      (a.kernel[i] - 1) * a.dilations[i] + 1 - os[i];
      if (total < 0) total = 0;
      a.pads[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
      a.pads[i + 2] = total - a.pads[i];
    }
  }
  if ((st = convt_output_shape(I, n, x->type.dims + 2, &a, !strcmp(ap, "SAME_UPPER")))) return st;
  Value *ins[3] = {imp_value(I, x), imp_value(I, w), b ? imp_value(I, b) : NULL};
  Op *op = imp_op(I, KILN_OP_CONV_TRANSPOSE2D, NULL, b ? 3 : 2, ins, 1, NULL);
  op->attrs = a;
  return bind_op(I, n, op);
}

/* ---- pooling ------------------------------------------------------------------------------ */

/* ceil_mode: one more window where it starts inside the (left-padded) input, paid for
 * with extra bottom/right padding. */
static KilnStatus ceil_pads(Imp *I, const int64_t *in, OpAttrs *a, bool avg_incl) {
  for (int i = 0; i < 2; i++) {
    int64_t eff = (a->kernel[i] - 1) * a->dilations[i] + 1, padded = in[i] + a->pads[i] + a->pads[i + 2];
    if (padded < eff) continue; /* infer reports it */
    int64_t out = (padded - eff + a->strides[i] - 1) / a->strides[i] + 1;
    if ((out - 1) * a->strides[i] >= in[i] + a->pads[i]) out--;
    int64_t extra = (out - 1) * a->strides[i] + eff - padded;
    if (extra <= 0) continue;
    if (avg_incl)
      return imp_err(I, KILN_ERR_UNSUPPORTED, "ceil_mode=1 with count_include_pad=1 where the last window overhangs");
    a->pads[i + 2] += extra;
  }
  return KILN_OK;
}

KilnStatus imp_pool(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  bool avg = !strcmp(n->op_type, "AveragePool");
  OpAttrs a = {.strides = {1, 1}, .dilations = {1, 1}, .groups = 1};
  a.pool_kind = avg ? POOL_AVG : POOL_MAX;
  a.count_include_pad = onnx_attr_int(n, "count_include_pad", 0) != 0;
  KilnStatus st = onnx_attr_find(n, "kernel_shape") ? window_attrs(I, n, &x->type, a.kernel, &a)
                                               : imp_err(I, KILN_ERR_INVALID, "missing attribute 'kernel_shape'");
  if (!st && onnx_attr_int(n, "storage_order", 0)) st = imp_err(I, KILN_ERR_UNSUPPORTED, "storage_order=1");
  if (!st) st = imp_no_extra_outputs(I, n, 1);
  if (!st && onnx_attr_int(n, "ceil_mode", 0)) st = ceil_pads(I, x->type.dims + 2, &a, avg && a.count_include_pad);
  if (st) return st;
  Op *op = imp_op1(I, KILN_OP_POOL2D, NULL, x, NULL);
  op->attrs = a;
  return bind_op(I, n, op);
}

KilnStatus imp_global_pool(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  if (x->type.rank != 4) return imp_err(I, KILN_ERR_UNSUPPORTED, "input has rank %d; only rank 4", x->type.rank);
  Op *op = imp_op1(I, KILN_OP_POOL2D, NULL, x, NULL);
  op->attrs.pool_kind = strstr(n->op_type, "Average") ? POOL_AVG : POOL_MAX;
  op->attrs.kernel[0] = x->type.dims[2];
  op->attrs.kernel[1] = x->type.dims[3];
  return bind_op(I, n, op);
}

/* ---- Gemm, MatMul ------------------------------------------------------------------------ */

static KilnStatus matmul_entries(Imp *I, Entry *a, Entry *b, const char *suffix, Entry *out) {
  Value *ins[2] = {imp_value(I, a), imp_value(I, b)};
  if (!ins[0] || !ins[1]) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  Op *op = imp_op(I, KILN_OP_MATMUL, suffix, 2, ins, 1, NULL);
  KilnStatus st = imp_finish(I, op);
  *out = (Entry){.name = op->name, .type = op->out[0]->type, .v = op->out[0], .ci = -1};
  return st;
}

KilnStatus imp_gemm(Imp *I, const Onnx__NodeProto *n) {
  Entry *a = imp_in(I, n, 0), *b = imp_in(I, n, 1), *c = imp_in(I, n, 2), ta, tb, mm;
  if (!a || !b) return imp_err(I, KILN_ERR_INVALID, "needs A and B");
  if (a->type.rank != 2 || b->type.rank != 2) return imp_err(I, KILN_ERR_INVALID, "A and B must be 2-D");
  if (b->type.dtype != a->type.dtype || (c && c->type.dtype != a->type.dtype))
    return imp_err(I, KILN_ERR_INVALID, "A, B and C must have one element type (A is %s, %s is %s)",
                   dtype_name(a->type.dtype), b->type.dtype != a->type.dtype ? "B" : "C",
                   dtype_name(b->type.dtype != a->type.dtype ? b->type.dtype : c->type.dtype));
  static const int64_t swap[2] = {1, 0};
  double alpha = onnx_attr_float(n, "alpha", 1), beta = onnx_attr_float(n, "beta", 1);
  KilnStatus st = KILN_OK;
  if (onnx_attr_int(n, "transA", 0) && !(st = imp_transpose_to(I, a, swap, "transA", &ta))) a = &ta;
  if (!st && onnx_attr_int(n, "transB", 0) && !(st = imp_transpose_to(I, b, swap, "transB", &tb))) b = &tb;
  if (st || (st = matmul_entries(I, a, b, c || alpha != 1 ? "matmul" : NULL, &mm))) return st;
  if (!c && alpha == 1) return imp_def_entry(I, n->output[0], mm);
  Entry *ins[2] = {&mm, c};
  EW w;
  DType dt = mm.type.dtype;
  if ((st = ew_begin(&w, I, ins, c && beta != 0 ? 2 : 1, dt))) return st;
  if (!type_equal(&w.out, &mm.type)) return imp_err(I, KILN_ERR_INVALID, "C does not broadcast to A*B");
  int y = ew_in(&w, &mm);
  if (alpha != 1) y = ew_op(&w, BODY_MUL, dt, y, ew_const(&w, alpha, dt));
  if (c && beta != 0) {
    int cv = ew_in(&w, c);
    if (beta != 1) cv = ew_op(&w, BODY_MUL, dt, cv, ew_const(&w, beta, dt));
    y = ew_op(&w, BODY_ADD, dt, y, cv);
  }
  return ew_end(&w, n, 0, y);
}

KilnStatus imp_matmul(Imp *I, const Onnx__NodeProto *n) {
  Entry *a = imp_in(I, n, 0), *b = imp_in(I, n, 1), ra, rb, mm;
  if (!a || !b || !a->type.rank || !b->type.rank) return imp_err(I, KILN_ERR_INVALID, "needs two inputs of rank >= 1");
  KilnStatus st = KILN_OK;
  int ar = a->type.rank, br = b->type.rank;
  if (ar == 1) {
    int64_t d[2] = {1, a->type.dims[0]};
    if (!(st = imp_reshape_to(I, a, type_make(a->type.dtype, 2, d), "a2d", &ra))) a = &ra;
  }
  if (!st && br == 1) {
    int64_t d[2] = {b->type.dims[0], 1};
    if (!(st = imp_reshape_to(I, b, type_make(b->type.dtype, 2, d), "b2d", &rb))) b = &rb;
  }
  if (st || (st = matmul_entries(I, a, b, ar == 1 || br == 1 ? "matmul" : NULL, &mm))) return st;
  if (ar > 1 && br > 1) return imp_def_entry(I, n->output[0], mm);
  TensorType t = mm.type;
  if (ar == 1) { /* drop dim -2 */
    t.dims[t.rank - 2] = t.dims[t.rank - 1];
    t.rank--;
  }
  if (br == 1) t.rank--;
  Entry r;
  if ((st = imp_reshape_to(I, &mm, t, NULL, &r))) return st;
  return imp_def_entry(I, n->output[0], r);
}

/* ---- Resize / Upsample ----------------------------------------------------------------- */

static KilnStatus resize_modes(Imp *I, const Onnx__NodeProto *n, bool upsample, OpAttrs *a) {
  char b1[64], b2[64], b3[64];
  const char *mode = onnx_attr_str(n, "mode", "nearest", b1, sizeof b1);
  const char *ct = onnx_attr_str(n, "coordinate_transformation_mode", upsample ? "asymmetric" : "half_pixel", b2, sizeof b2);
  const char *nm = onnx_attr_str(n, "nearest_mode", upsample ? "floor" : "round_prefer_floor", b3, sizeof b3);
  if (!strcmp(mode, "nearest")) a->resize_mode = RESIZE_NEAREST;
  else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) a->resize_mode = RESIZE_LINEAR;
  else return imp_err(I, KILN_ERR_UNSUPPORTED, "mode '%s' (nearest and linear are supported)", mode);
  static const char *const cts[] = {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"};
  static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  int ci = -1, ni = -1;
  for (int i = 0; i < 4; i++) {
    if (!strcmp(ct, cts[i])) ci = i;
    if (!strcmp(nm, nms[i])) ni = i;
  }
  if (ci < 0) return imp_err(I, KILN_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s'", ct);
  if (ni < 0) return imp_err(I, KILN_ERR_UNSUPPORTED, "nearest_mode '%s'", nm);
  if (onnx_attr_int(n, "antialias", 0)) return imp_err(I, KILN_ERR_UNSUPPORTED, "antialias=1");
  a->coord_mode = (CoordMode)ci;
  a->nearest_mode = (NearestMode)ni;
  a->cubic_coeff = onnx_attr_float(n, "cubic_coeff_a", -0.75f);
  return KILN_OK;
}

/* scale = size / in, nudged so that floor(in * scale) == size exactly. */
static double size_scale(int64_t in, int64_t size) {
  double s = (double)size / (double)in;
  while (floor((double)in * s) < (double)size) s = nextafter(s, INFINITY);
  while (floor((double)in * s) > (double)size) s = nextafter(s, 0);
  return s;
}

/* keep_aspect_ratio_policy not_larger / not_smaller (with sizes): one scale, the min / max
 * of size/in over the axes, for every axis; the reference's output size is then
 * round_half_up(in * scale), which must equal the floor(in * scale) the RESIZE op has. */
static KilnStatus keep_aspect(Imp *I, const Onnx__NodeProto *n, const TensorType *x, const int64_t *ax,
                              const int64_t *sizes, int na, double *sc) {
  char buf[64];
  const char *kar = onnx_attr_str(n, "keep_aspect_ratio_policy", "stretch", buf, sizeof buf);
  bool larger = !strcmp(kar, "not_larger"), smaller = !strcmp(kar, "not_smaller");
  if (!strcmp(kar, "stretch")) return KILN_OK;
  if ((!larger && !smaller) || !sizes) return imp_err(I, KILN_ERR_UNSUPPORTED, "keep_aspect_ratio_policy '%s'", kar);
  double s = larger ? INFINITY : 0;
  for (int i = 0; i < na; i++) {
    double r = (double)sizes[i] / (double)x->dims[ax[i]];
    s = larger ? fmin(s, r) : fmax(s, r);
  }
  for (int i = 0; i < na; i++) {
    double v = s * (double)x->dims[ax[i]];
    if (floor(v) != floor(v + 0.5))
      return imp_err(I, KILN_ERR_UNSUPPORTED,
                     "keep_aspect_ratio_policy '%s': dim %lld of %g rounds up (Kiln's size is floor(in * scale))",
                     kar, (long long)ax[i], v);
    sc[ax[i]] = s;
  }
  return KILN_OK;
}

static KilnStatus resize_scales(Imp *I, const Onnx__NodeProto *n, const TensorType *x, double *sc) {
  bool up = !strcmp(n->op_type, "Upsample");
  Entry *es = imp_in(I, n, up ? 1 : 2), *ez = up ? NULL : imp_in(I, n, 3);
  int64_t axes[KILN_MAX_RANK], sizes[KILN_MAX_RANK];
  double vals[KILN_MAX_RANK];
  int na = onnx_attr_ints(I, n, "axes", axes, KILN_MAX_RANK), cnt = 0;
  if (na == -2) return I->d->status;
  if (na < 0) for (na = 0; na < x->rank; na++) axes[na] = na;
  for (int i = 0; i < x->rank; i++) sc[i] = 1;
  KilnStatus st = KILN_OK;
  if (ez && type_numel(&ez->type) > 0) st = imp_const_ints(I, ez, "sizes", sizes, KILN_MAX_RANK, &cnt);
  else if (es && type_numel(&es->type) > 0) st = imp_const_floats(I, es, "scales", vals, KILN_MAX_RANK, &cnt);
  else return imp_err(I, KILN_ERR_INVALID, "needs scales or sizes");
  if (st) return st;
  if (cnt != na) return imp_err(I, KILN_ERR_INVALID, "has %d scales/sizes for %d axes", cnt, na);
  for (int i = 0; i < na; i++) {
    int64_t ax = axes[i] < 0 ? axes[i] + x->rank : axes[i];
    if (ax < 0 || ax >= x->rank) return imp_err(I, KILN_ERR_INVALID, "axis %lld out of range", (long long)axes[i]);
    bool by_size = ez && type_numel(&ez->type) > 0;
    if (by_size && (sizes[i] < 0 || x->dims[ax] == 0))
      return imp_err(I, KILN_ERR_INVALID, "size %lld for dim %lld of size %lld", (long long)sizes[i],
                     (long long)ax, (long long)x->dims[ax]);
    sc[ax] = by_size ? size_scale(x->dims[ax], sizes[i]) : vals[i];
    if (!(sc[ax] > 0) || !(sc[ax] < 1e9)) return imp_err(I, KILN_ERR_INVALID, "scale %g for dim %lld", sc[ax], (long long)ax);
    axes[i] = ax;
  }
  return keep_aspect(I, n, x, axes, ez && type_numel(&ez->type) > 0 ? sizes : NULL, na, sc);
}

KilnStatus imp_resize(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  OpAttrs a = {.groups = 1, .strides = {1, 1}, .dilations = {1, 1}};
  KilnStatus st = resize_modes(I, n, !strcmp(n->op_type, "Upsample"), &a);
  if (!st) st = resize_scales(I, n, &x->type, a.scales);
  if (st) return st;
  Op *op = imp_op1(I, KILN_OP_RESIZE, NULL, x, NULL);
  op->attrs = a;
  return bind_op(I, n, op);
}

/* ---- reductions, Softmax, ArgMax ------------------------------------------------------- */

/* A reduction GENERIC over `axes` (true = reduced) combining with `k` from `init`. */
static KilnStatus reduce_emit(Imp *I, Entry *x, const bool *axes, bool keep, BodyOpKind k, double init,
                              const char *suffix, Entry *out) {
  int r = x->type.rank;
  TensorType t = {.dtype = x->type.dtype};
  AffineMap om = {0};
  for (int i = 0; i < r; i++) {
    if (axes[i] && !keep) continue;
    t.dims[t.rank] = axes[i] ? 1 : x->type.dims[i];
    if (!axes[i]) om.results[t.rank].coef[i] = 1;
    t.rank++;
  }
  om.n_results = t.rank;
  Value *in = imp_value(I, x);
  if (!in) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  Op *op = imp_op(I, KILN_OP_GENERIC, suffix, 1, &in, 1, &t);
  OpAttrs *a = &op->attrs;
  a->n_loops = r;
  for (int i = 0; i < r; i++) a->iterators[i] = axes[i] ? ITER_REDUCTION : ITER_PARALLEL;
  a->n_maps = 2;
  a->maps = imp_alloc(I, 2 * sizeof(AffineMap));
  a->maps[0] = affine_identity(r);
  a->maps[1] = om;
  a->init = imp_alloc(I, sizeof(double));
  a->init[0] = init;
  a->body = body_new(I->m, 3, 1);
  a->body.insts[0] = (BodyInst){.kind = BODY_ARG, .dtype = t.dtype, .imm_i = 0};
  a->body.insts[1] = (BodyInst){.kind = BODY_ARG, .dtype = t.dtype, .imm_i = 1};
  a->body.insts[2] = (BodyInst){.kind = k, .dtype = t.dtype, .n_args = 2, .args = {1, 0}};
  a->body.yields[0] = 2;
  *out = (Entry){.name = op->name, .type = t, .v = op->out[0], .ci = -1};
  return imp_finish(I, op);
}

/* The least (or greatest) value of dt: the identity of max (min). Integer bounds saturate
 * when the interpreter converts the double init (2^63 becomes INT64_MAX). */
static double dtype_bound(DType dt, bool high) {
  switch (dt) {
  case KILN_BOOL: return high ? 1 : 0;
  case KILN_U8: return high ? 255 : 0;
  case KILN_I8: return high ? 127 : -128;
  case KILN_I32: return high ? 2147483647.0 : -2147483648.0;
  case KILN_I64: return high ? 9223372036854775808.0 : -9223372036854775808.0;
  default: return high ? INFINITY : -INFINITY;
  }
}

static KilnStatus reduce_axes(Imp *I, const Onnx__NodeProto *n, const TensorType *x, bool *axes, bool *noop) {
  int64_t ax[KILN_MAX_RANK];
  int na = -1;
  *noop = false;
  bool input_form = I->opset >= 18 || (!strcmp(n->op_type, "ReduceSum") && I->opset >= 13);
  Entry *ea = input_form ? imp_in(I, n, 1) : NULL;
  if (ea) {
    KilnStatus st = imp_const_ints(I, ea, "axes", ax, KILN_MAX_RANK, &na);
    if (st) return st;
  } else if (!input_form && (na = onnx_attr_ints(I, n, "axes", ax, KILN_MAX_RANK)) == -2) {
    return I->d->status;
  }
  *noop = na <= 0 && onnx_attr_int(n, "noop_with_empty_axes", 0);
  for (int i = 0; i < x->rank; i++) axes[i] = na <= 0;
  for (int i = 0; i < na; i++) {
    if (ax[i] < -x->rank || ax[i] >= x->rank) return imp_err(I, KILN_ERR_INVALID, "axis %lld out of range", (long long)ax[i]);
    axes[ax[i] < 0 ? ax[i] + x->rank : ax[i]] = true;
  }
  return KILN_OK;
}

KilnStatus imp_reduce(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), r;
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  bool axes[KILN_MAX_RANK], noop, keep = onnx_attr_int(n, "keepdims", 1) != 0;
  KilnStatus st = reduce_axes(I, n, &x->type, axes, &noop);
  if (st) return st;
  if (noop) return imp_def_entry(I, n->output[0], *x);
  bool mx = !strcmp(n->op_type, "ReduceMax"), mn = !strcmp(n->op_type, "ReduceMin");
  bool prod = !strcmp(n->op_type, "ReduceProd"), fl = dtype_is_float(x->type.dtype);
  double init = mx ? dtype_bound(x->type.dtype, false) : mn ? dtype_bound(x->type.dtype, true) : prod ? 1 : 0;
  bool mean = !strcmp(n->op_type, "ReduceMean");
  if (mean && !fl) return imp_err(I, KILN_ERR_UNSUPPORTED, "ReduceMean of %s", dtype_name(x->type.dtype));
  BodyOpKind k = mx ? BODY_MAX : mn ? BODY_MIN : prod ? BODY_MUL : BODY_ADD;
  st = reduce_emit(I, x, axes, keep, k, init, mean ? "sum" : NULL, &r);
  if (st || !mean) return st ? st : imp_def_entry(I, n->output[0], r);
  int64_t cnt = 1;
  for (int i = 0; i < x->type.rank; i++) cnt *= axes[i] ? x->type.dims[i] : 1;
  EW w;
  Entry *p = &r;
  if ((st = ew_begin(&w, I, &p, 1, r.type.dtype))) return st;
  int y = ew_op(&w, BODY_MUL, r.type.dtype, ew_in(&w, &r), ew_const(&w, cnt ? 1.0 / (double)cnt : NAN, r.type.dtype));
  return ew_end(&w, n, 0, y);
}

KilnStatus imp_softmax(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), mx, ex, sm;
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  int r = x->type.rank;
  int64_t axis = onnx_attr_int(n, "axis", I->opset >= 13 ? -1 : 1);
  if (axis < -r || axis >= r || !r) return imp_err(I, KILN_ERR_INVALID, "axis %lld out of range for rank %d", (long long)axis, r);
  if (axis < 0) axis += r;
  bool axes[KILN_MAX_RANK];
  for (int i = 0; i < r; i++) axes[i] = I->opset >= 13 ? i == axis : i >= axis;
  DType dt = x->type.dtype;
  EW w;
  KilnStatus st = dtype_is_float(dt) ? KILN_OK : imp_err(I, KILN_ERR_INVALID, "input is not float");
  if (st || (st = reduce_emit(I, x, axes, true, BODY_MAX, -INFINITY, "max", &mx))) return st;
  Entry *e1[2] = {x, &mx};
  if ((st = ew_begin(&w, I, e1, 2, dt))) return st;
  int a = ew_in(&w, x);
  int y = ew_op(&w, BODY_EXP, dt, ew_op(&w, BODY_SUB, dt, a, ew_in(&w, &mx)), 0);
  if ((st = ew_emit(&w, "exp", y, &ex)) || (st = reduce_emit(I, &ex, axes, true, BODY_ADD, 0, "sum", &sm))) return st;
  Entry *e2[2] = {&ex, &sm};
  if ((st = ew_begin(&w, I, e2, 2, dt))) return st;
  a = ew_in(&w, &ex);
  return ew_end(&w, n, 0, ew_op(&w, BODY_DIV, dt, a, ew_in(&w, &sm)));
}

KilnStatus imp_argmax(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  Op *op = imp_op1(I, KILN_OP_ARGMAX, NULL, x, NULL);
  int64_t axis = onnx_attr_int(n, "axis", 0);
  op->attrs.axis = axis < 0 ? axis + x->type.rank : axis;
  op->attrs.keepdims = onnx_attr_int(n, "keepdims", 1) != 0;
  op->attrs.select_last_index = onnx_attr_int(n, "select_last_index", 0) != 0;
  return bind_op(I, n, op);
}
