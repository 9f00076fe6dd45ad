/* onnx_qlinear.c — QLinearConv and QLinearMatMul as the QDQ graphs they stand for.
 *
 *   QLinearConv(x, xs, xzp, w, ws, wzp, ys, yzp [, B])
 *     = QuantizeLinear(Conv(DQ(x, xs, xzp), DQ(w, ws, wzp, axis 0), DQ(B, xs * ws, axis 0)),
 *                      ys, yzp)
 *   QLinearMatMul(a, as, azp, b, bs, bzp, ys, yzp)
 *     = QuantizeLinear(MatMul(DQ(a, as, azp), DQ(b, bs, bzp, axis -1)), ys, yzp)
 *
 * Each part is imported by the existing handler through a node made here, whose
 * intermediate values are named "<output>/<part>", so the result is exactly what a
 * tf2onnx-style QDQ model gives and every later pass (fake-quant fusion, the int8 path)
 * treats both forms alike. The float decomposition computes the convolution in float
 * where ONNX Runtime's QLinearConv accumulates in int32: a value next to a rounding
 * boundary may land one quantization step away (the model oracle's int8 rule); the ONNX
 * node tests of QLinearMatMul match exactly except where their expected output wraps
 * instead of saturating (tests/conformance/exclusions.txt).
 *
 *   ConvInteger(x, w, xzp, wzp)   = Conv(i32(x) - xzp, i32(w) - wzp[m])      : int32
 *   MatMulInteger(a, b, azp, bzp) = MatMul(i32(a) - azp[row], i32(b) - bzp[col]) : int32
 *
 * are integer from the start: an integer conv / matmul, which the interpreter sums exactly
 * (int64) and quantize-convs' integer ops share, of the zero-point-corrected inputs (per
 * output channel / per row / per column zero points read along their axis). */
#include <string.h>

#include "onnx_internal.h"

enum { SUB_MAX_IN = 9 };

/* A node of the decomposition: op type, input names, one output, optional int axis. */
typedef struct SubNode {
  Onnx__NodeProto n;
  char *in[SUB_MAX_IN];
  char *out[1];
  Onnx__AttributeProto axis, *attrs[1];
} SubNode;

static char *part_name(Imp *I, const Onnx__NodeProto *n, const char *part) {
  const char *base = n->n_output && n->output[0][0] ? n->output[0] : onnx_node_label(n);
  size_t len = strlen(base) + strlen(part) + 2;
  char *s = imp_alloc(I, (int64_t)len);
  if (s) snprintf(s, len, "%s/%s", base, part);
  return s;
}

/* Runs handler fn on a node `op` with the given inputs ("" = absent) and output name. */
static KilnStatus run_part(Imp *I, OpImportFn fn, const char *op, int n_in, char **ins,
                           char *out, const int64_t *axis) {
  SubNode s;
  onnx__node_proto__init(&s.n);
  s.n.op_type = (char *)op;
  s.n.name = out;
  s.n.n_input = (size_t)n_in;
  for (int i = 0; i < n_in; i++) s.in[i] = ins[i];
  s.n.input = s.in;
  s.out[0] = out;
  s.n.n_output = 1;
  s.n.output = s.out;
  if (axis) {
    onnx__attribute_proto__init(&s.axis);
    s.axis.name = "axis";
    s.axis.has_type = 1;
    s.axis.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    s.axis.has_i = 1;
    s.axis.i = *axis;
    s.attrs[0] = &s.axis;
    s.n.attribute = s.attrs;
    s.n.n_attribute = 1;
  }
  const Onnx__NodeProto *outer = I->node;
  I->node = &s.n; /* messages name the part, e.g. "DequantizeLinear node 'y/w'" */
  KilnStatus st = fn(I, &s.n);
  I->node = outer;
  return st;
}

static char *input_name(const Onnx__NodeProto *n, size_t i) {
  return i < n->n_input ? n->input[i] : "";
}

/* DQ of input `first` (value, scale, zero point) into "<out>/<part>". */
static KilnStatus dequant(Imp *I, const Onnx__NodeProto *n, size_t first, const char *part,
                          const int64_t *axis, char **out) {
  char *ins[3] = {input_name(n, first), input_name(n, first + 1), input_name(n, first + 2)};
  *out = part_name(I, n, part);
  if (!*out) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  return run_part(I, imp_dequantize, "DequantizeLinear", 3, ins, *out, axis);
}

static KilnStatus quant_output(Imp *I, const Onnx__NodeProto *n, char *y, size_t scale_at) {
  char *ins[3] = {y, input_name(n, scale_at), input_name(n, scale_at + 1)};
  return run_part(I, imp_quantize, "QuantizeLinear", 3, ins, n->output[0], NULL);
}

static KilnStatus need_inputs(Imp *I, const Onnx__NodeProto *n, size_t count) {
  if (n->n_input < count || n->n_output < 1 || !n->output[0][0])
    return imp_err(I, KILN_ERR_INVALID, "needs %zu inputs and an output", count);
  for (size_t i = 0; i < count; i++)
    if (i % 3 != 2 && !imp_in(I, n, (int)i)) /* zero points (2, 5, 7) may be absent */
      return imp_err(I, KILN_ERR_INVALID, "input %zu ('%s') is missing", i, input_name(n, i));
  return KILN_OK;
}

/* The bias: int32 B dequantized with scale xs * ws (per output channel when ws is). */
static KilnStatus conv_bias(Imp *I, const Onnx__NodeProto *n, char **out) {
  char *scale = part_name(I, n, "bias_scale"), *mul_in[2] = {input_name(n, 1), input_name(n, 4)};
  if (!scale) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  KilnStatus st = run_part(I, imp_binary, "Mul", 2, mul_in, scale, NULL);
  char *dq_in[2] = {input_name(n, 8), scale};
  int64_t axis = 0;
  *out = part_name(I, n, "bias");
  if (!*out) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  return st ? st : run_part(I, imp_dequantize, "DequantizeLinear", 2, dq_in, *out, &axis);
}

/* The Conv of a decomposition: node n's attributes (kernel, strides, pads, group...) on
 * the given inputs, into output `out`. */
static KilnStatus conv_part(Imp *I, const Onnx__NodeProto *n, char **ins, size_t n_in, char *out) {
  Onnx__NodeProto c = *n;
  char *outs[1] = {out};
  c.op_type = "Conv";
  c.input = ins;
  c.n_input = n_in;
  c.output = outs;
  c.n_output = 1;
  const Onnx__NodeProto *outer = I->node;
  I->node = &c;
  KilnStatus st = imp_conv(I, &c);
  I->node = outer;
  return st;
}

KilnStatus imp_qlinear_conv(Imp *I, const Onnx__NodeProto *n) {
  KilnStatus st = need_inputs(I, n, 8);
  int64_t axis0 = 0;
  char *x, *w, *b = "", *y = part_name(I, n, "conv");
  if (!st && !y) st = imp_err(I, KILN_ERR_NOMEM, "out of memory");
  if (!st) st = dequant(I, n, 0, "x", NULL, &x);
  if (!st) st = dequant(I, n, 3, "w", &axis0, &w);
  if (!st && n->n_input > 8 && n->input[8][0]) st = conv_bias(I, n, &b);
  if (st) return st;
  char *ins[3] = {x, w, b};
  st = conv_part(I, n, ins, b[0] ? 3 : 2, y);
  return st ? st : quant_output(I, n, y, 6);
}

KilnStatus imp_qlinear_matmul(Imp *I, const Onnx__NodeProto *n) {
  KilnStatus st = need_inputs(I, n, 8);
  int64_t last = -1; /* b's scale is per column: the last axis */
  char *a = NULL, *b = NULL, *y = part_name(I, n, "matmul");
  if (!st && !y) st = imp_err(I, KILN_ERR_NOMEM, "out of memory");
  if (!st) st = dequant(I, n, 0, "a", NULL, &a);
  if (!st) st = dequant(I, n, 3, "b", &last, &b);
  char *ins[2] = {a, b};
  if (!st) st = run_part(I, imp_matmul, "MatMul", 2, ins, y, NULL);
  return st ? st : quant_output(I, n, y, 6);
}

/* i32(input 0) - i32(input 1): the zero point absent, a scalar, or a 1-D tensor along the
 * node's "axis" attribute (a negative axis counts from the end). */
static KilnStatus imp_widen(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *z = n->n_input > 1 && n->input[1][0] ? imp_in(I, n, 1) : NULL;
  if (!x || (n->n_input > 1 && n->input[1][0] && !z))
    return imp_err(I, KILN_ERR_INVALID, "needs a value and (optionally) a zero point");
  DType t = x->type.dtype;
  if (t != KILN_U8 && t != KILN_I8)
    return imp_err(I, KILN_ERR_INVALID, "input is %s, expected uint8 or int8", dtype_name(t));
  int64_t axis = onnx_attr_int(n, "axis", -1), rank = x->type.rank;
  if (axis < 0) axis += rank;
  int64_t zn = z ? type_numel(&z->type) : 1;
  bool per_axis = axis >= 0 && axis < rank;
  if (z && z->type.dtype != t)
    return imp_err(I, KILN_ERR_INVALID, "zero point is %s, the input %s", dtype_name(z->type.dtype),
                   dtype_name(t));
  if (z && (z->type.rank > 1 || (zn != 1 && (!per_axis || zn != x->type.dims[axis])))) {
    if (!per_axis)
      return imp_err(I, KILN_ERR_INVALID, "zero point must be a scalar (it has %lld values)", (long long)zn);
    return imp_err(I, KILN_ERR_INVALID, "zero point must be a scalar or %lld values along axis %lld (it has %lld)",
                   (long long)x->type.dims[axis], (long long)axis, (long long)zn);
  }
  EW w;
  KilnStatus st = ew_begin(&w, I, &x, 1, KILN_I32);
  if (st) return st;
  int v = ew_cast(&w, ew_in(&w, x), KILN_I32);
  if (z) {
    int zi = zn == 1 ? ew_in(&w, z) : ew_in_axis(&w, z, (int)axis);
    v = ew_op(&w, BODY_SUB, KILN_I32, v, ew_cast(&w, zi, KILN_I32));
  }
  return ew_end(&w, n, 0, v);
}

enum { SCALAR_ZP = 1 << 20 }; /* an axis no tensor has: only a scalar zero point fits */

/* widen(input `at`, zero point input `zp_at`) into "<out>/<part>". */
static KilnStatus widen(Imp *I, const Onnx__NodeProto *n, size_t at, size_t zp_at, int64_t axis,
                        const char *part, char **out) {
  char *ins[2] = {input_name(n, at), input_name(n, zp_at)};
  *out = part_name(I, n, part);
  if (!*out) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  return run_part(I, imp_widen, "ZeroPointOff", 2, ins, *out, &axis);
}

static KilnStatus need_integer_inputs(Imp *I, const Onnx__NodeProto *n) {
  if (n->n_input < 2 || n->n_output < 1 || !n->output[0][0] || !imp_in(I, n, 0) || !imp_in(I, n, 1))
    return imp_err(I, KILN_ERR_INVALID, "needs two inputs and an output");
  return KILN_OK;
}

KilnStatus imp_conv_integer(Imp *I, const Onnx__NodeProto *n) {
  KilnStatus st = need_integer_inputs(I, n);
  char *x, *w;
  if (!st) st = widen(I, n, 0, 2, SCALAR_ZP, "x", &x); /* x's zero point is a scalar */
  if (!st) st = widen(I, n, 1, 3, 0, "w", &w); /* per output channel */
  if (st) return st;
  char *ins[2] = {x, w};
  return conv_part(I, n, ins, 2, n->output[0]);
}

KilnStatus imp_matmul_integer(Imp *I, const Onnx__NodeProto *n) {
  KilnStatus st = need_integer_inputs(I, n);
  char *a = NULL, *b = NULL;
  if (!st) st = widen(I, n, 0, 2, -2, "a", &a); /* per row */
  if (!st) st = widen(I, n, 1, 3, -1, "b", &b); /* per column */
  char *ins[2] = {a, b};
  return st ? st : run_part(I, imp_matmul, "MatMul", 2, ins, n->output[0], NULL);
}
