/* quantize_convs.c — QDQ recognition: DQ(x), DQ(w) -> conv (+ bias) -> Q becomes an
 * integer conv with int32 accumulation and a requantizing epilogue.
 *
 * The pattern is ONNX's QDQ node unit as quantize_static and tf2onnx write it, with the
 * DequantizeLinear / QuantizeLinear generics the importer makes (per-tensor parameters):
 *
 *   x8 -> DQ(sx, zx) --\
 *   w8 (constant) -> DQ(sw, zw) -> conv / depthwise conv (bias: an f32 constant) -> Q(sy, zy)
 *
 * (the weights per tensor or per output channel, sw[c] and zw[c]; the bias is the folded DQ
 * of an int32 bias of scale sx*sw[c]; the conv result's only user is the Q). It becomes
 *
 *   xi  = generic(x8) { i32(x) - zx }                    the zero point off the input
 *   acc = conv(xi, w8 - zw as i32, bias as i32) : i32     exact (interp: int64 sums)
 *   y8  = generic(acc) { q(f32(acc) * M) }, M = f32(f32(sx*sw) / sy),
 *         q(v) = cast(clamp(roundeven(v) + zy, qmin, qmax))
 *
 * Before matching, a Q of a DQ with the same parameters, possibly with one data-movement
 * op between (a constant pad as tf2onnx writes explicit pads, a transpose, a resize), is
 * dropped: that op moves the 8-bit tensor itself, so the conv after it matches too.
 * The rewrite is ONNX Runtime's QLinearConv (what its QDQ fusion runs these units as): the int32
 * bias added to the exact accumulator, then MLAS's requantization — f32(acc) times the
 * f32 scale computed as X_scale * W_scale / Y_scale, round half to even, plus the zero
 * point, saturated (clamping before or after the rounding is the same: the bounds are
 * integers). The float QDQ graph it replaces sums DQ(x)*DQ(w) in f32 (the interpreter: in
 * double), so results move to ORT's bit for bit, a quantization step away from the float
 * graph wherever a sum lies within its rounding error of a half step; --verify-each
 * measures that against its tolerance (one step of a unit-scale output is 1/255 of the
 * range, within it).
 * The bias is recovered as integers b = roundeven(bias / f32(sx*sw)), and the rewrite is
 * skipped unless every f32(b * f32(sx*sw)) gives the bias back (a bias that was never an
 * int32 of that scale stays float, as does everything not matching, e.g. a weight that is
 * not a constant). A Relu or Clip between the conv and the Q moves after the requantize as
 * a clamp of the 8-bit values to [Q(lo), Q(hi)] (Q is monotone: exact). Also rewritten:
 * Gemm units, global average pools and Q(concat(DQ...)) (sections below). Per-channel
 * weight scales give a
 * per-channel M (a constant vector read along the channel dim). */
#include <math.h>
#include <string.h>

#include "passes.h"

typedef struct QParams {
  double scale;
  int64_t zp;
  DType qt;       /* the 8-bit type */
} QParams;

/* Index of the value inst i stands for after f32 -> f32 casts (no-ops). */
static int skip_f32_casts(const Body *b, int i) {
  while (b->insts[i].kind == BODY_CAST && b->insts[i].dtype == KILN_F32 &&
         b->insts[b->insts[i].args[0]].dtype == KILN_F32)
    i = b->insts[i].args[0];
  return i;
}

/* A constant, or a cast of one: its value. */
static bool body_const(const Body *b, int i, double *v) {
  const BodyInst *in = &b->insts[skip_f32_casts(b, i)];
  if (in->kind == BODY_CAST) in = &b->insts[in->args[0]];
  if (in->kind != BODY_CONST) return false;
  *v = dtype_is_float(in->dtype) ? in->imm : (double)in->imm_i;
  return true;
}

/* Of a two-operand inst: the operand that is not a constant (and the constant). */
static int nonconst_operand(const Body *b, const BodyInst *in, double *c) {
  if (body_const(b, in->args[1], c)) return in->args[0];
  if (in->kind != BODY_SUB && in->kind != BODY_DIV && body_const(b, in->args[0], c))
    return in->args[1];
  return -1;
}

static bool is_8bit(DType t) { return t == KILN_U8 || t == KILN_I8; }

/* A one-operand elementwise generic with identity maps from dtype `from` to `to`. */
static bool unary_generic(const Op *op, bool (*from)(DType), bool (*to)(DType)) {
  if (!op || op->kind != KILN_OP_GENERIC || op->n_in != 1 || op->n_out != 1) return false;
  int rank = op->out[0]->type.rank;
  if (op->attrs.n_loops != rank || op->in[0]->type.rank != rank ||
      !affine_is_identity(&op->attrs.maps[0], rank) ||
      !affine_is_identity(&op->attrs.maps[1], rank) || op->attrs.body.n_yield != 1)
    return false;
  for (int l = 0; l < rank; l++)
    if (op->attrs.iterators[l] != ITER_PARALLEL) return false;
  return from(op->in[0]->type.dtype) && to(op->out[0]->type.dtype);
}

static bool is_f32(DType t) { return t == KILN_F32; }

/* Whether inst i is block argument 0 seen through one cast to f32. */
static bool is_arg0_as_f32(const Body *b, int i) {
  const BodyInst *in = &b->insts[skip_f32_casts(b, i)];
  if (in->kind == BODY_CAST && in->dtype == KILN_F32) in = &b->insts[in->args[0]];
  return in->kind == BODY_ARG && in->imm_i == 0;
}

/* DequantizeLinear: y = (f32(x) - zp) * scale. */
static bool match_dequant(const Op *op, QParams *q) {
  if (!unary_generic(op, is_8bit, is_f32)) return false;
  const Body *b = &op->attrs.body;
  const BodyInst *mul = &b->insts[skip_f32_casts(b, b->yields[0])];
  double zp = 0;
  if (mul->kind != BODY_MUL) return false;
  int v = nonconst_operand(b, mul, &q->scale);
  if (v < 0) return false;
  const BodyInst *sub = &b->insts[skip_f32_casts(b, v)];
  if (sub->kind == BODY_SUB) {
    if (nonconst_operand(b, sub, &zp) < 0) return false;
    v = sub->args[0];
  }
  q->zp = (int64_t)zp;
  q->qt = op->in[0]->type.dtype;
  return is_arg0_as_f32(b, v) && zp == q->zp && q->scale > 0 && isfinite(q->scale);
}

/* QuantizeLinear: y = cast(clamp(roundeven(x / scale) + zp, qmin, qmax)). */
static bool match_quant(const Op *op, QParams *q) {
  if (!unary_generic(op, is_f32, is_8bit)) return false;
  const Body *b = &op->attrs.body;
  const BodyInst *cast = &b->insts[b->yields[0]];
  q->qt = op->out[0]->type.dtype;
  double lo = q->qt == KILN_I8 ? -128 : 0, hi = q->qt == KILN_I8 ? 127 : 255, c, zp = 0;
  if (cast->kind != BODY_CAST) return false;
  int v = cast->args[0];
  bool seen_lo = false, seen_hi = false;
  for (int k = 0; k < 2; k++) { /* max(., lo) and min(., hi), either order */
    const BodyInst *in = &b->insts[skip_f32_casts(b, v)];
    if ((in->kind != BODY_MAX && in->kind != BODY_MIN) || (v = nonconst_operand(b, in, &c)) < 0)
      return false;
    if (in->kind == BODY_MAX) seen_lo = c == lo;
    else seen_hi = c == hi;
  }
  if (!seen_lo || !seen_hi) return false;
  const BodyInst *add = &b->insts[skip_f32_casts(b, v)];
  if (add->kind == BODY_ADD) {
    if ((v = nonconst_operand(b, add, &zp)) < 0) return false;
    add = &b->insts[skip_f32_casts(b, v)];
  }
  if (add->kind != BODY_ROUND) return false;
  const BodyInst *div = &b->insts[skip_f32_casts(b, add->args[0])];
  if (div->kind != BODY_DIV || nonconst_operand(b, div, &q->scale) != div->args[0]) return false;
  q->zp = (int64_t)zp;
  return is_arg0_as_f32(b, div->args[0]) && zp == q->zp && zp >= lo && zp <= hi &&
         q->scale > 0 && isfinite(q->scale);
}

/* Weights' quantization per output channel (axis 0 of fchw / chw weights): n values. */
typedef struct WeightQ {
  int64_t n;
  float *scale;
  int32_t *zp;
} WeightQ;

static const void *const_data_of(const Value *v);

/* A 1-D constant operand of generic g read along loop 0 only. */
static const void *axis0_operand(const Op *g, int i, DType t, int64_t n) {
  const AffineMap *m = &g->attrs.maps[i];
  const Value *v = g->in[i];
  if (v->type.dtype != t || v->type.rank != 1 || v->type.dims[0] != n || m->n_results != 1 ||
      m->results[0].cst != 0 || m->results[0].coef[0] != 1)
    return NULL;
  for (int l = 1; l < g->attrs.n_loops; l++)
    if (m->results[0].coef[l]) return NULL;
  return const_data_of(v);
}

/* DequantizeLinear of the weights, per tensor or per axis 0 (scale and zero point as 1-D
 * constant operands): y = (f32(w) - f32(zp[c])) * scale[c]. Fills q (malloc'd arrays). */
static bool match_weight_dequant(const Op *op, int64_t n, WeightQ *q) {
  QParams p;
  q->n = n;
  q->scale = malloc(sizeof *q->scale * (size_t)(n ? n : 1));
  q->zp = calloc((size_t)(n ? n : 1), sizeof *q->zp);
  if (!q->scale || !q->zp || !op || op->kind != KILN_OP_GENERIC) return false;
  if (match_dequant(op, &p)) {
    for (int64_t c = 0; c < n; c++) q->scale[c] = (float)p.scale, q->zp[c] = (int32_t)p.zp;
    return true;
  }
  if ((op->n_in != 2 && op->n_in != 3) || op->n_out != 1 || op->out[0]->type.dtype != KILN_F32 ||
      !is_8bit(op->in[0]->type.dtype) || op->in[0]->type.rank < 1 ||
      op->in[0]->type.dims[0] != n || op->attrs.n_loops != op->in[0]->type.rank ||
      !affine_is_identity(&op->attrs.maps[0], op->attrs.n_loops) ||
      !affine_is_identity(&op->attrs.maps[op->n_in], op->attrs.n_loops))
    return false;
  const float *s = axis0_operand(op, 1, KILN_F32, n);
  const void *z = op->n_in == 3 ? axis0_operand(op, 2, op->in[2]->type.dtype, n) : NULL;
  if (!s || (op->n_in == 3 && (!z || !is_8bit(op->in[2]->type.dtype)))) return false;
  const Body *b = &op->attrs.body;
  const BodyInst *mul = &b->insts[skip_f32_casts(b, b->yields[0])];
  if (mul->kind != BODY_MUL) return false;
  const BodyInst *sa = &b->insts[skip_f32_casts(b, mul->args[1])];
  if (sa->kind != BODY_ARG || sa->imm_i != 1) return false;
  int v = mul->args[0];
  const BodyInst *sub = &b->insts[skip_f32_casts(b, v)];
  if (sub->kind == BODY_SUB) {
    const BodyInst *za = &b->insts[sub->args[1]];
    if (za->kind == BODY_CAST) za = &b->insts[za->args[0]];
    if (op->n_in != 3 || za->kind != BODY_ARG || za->imm_i != 2) return false;
    v = sub->args[0];
  } else if (op->n_in == 3) {
    return false;
  }
  for (int64_t c = 0; c < n; c++) {
    q->scale[c] = s[c];
    q->zp[c] = !z ? 0 : op->in[2]->type.dtype == KILN_I8 ? ((const int8_t *)z)[c] : ((const uint8_t *)z)[c];
    if (!(s[c] > 0) || !isfinite(s[c])) return false;
  }
  return is_arg0_as_f32(b, v);
}

static const void *const_data_of(const Value *v) {
  if (!v->def || v->def->kind != KILN_OP_CONSTANT) return NULL;
  const Module *m = v->def->parent->module;
  int ci = v->def->attrs.const_index;
  return ci >= 0 && ci < m->n_consts ? m->consts[ci].data : NULL;
}

/* A new constant of type t and data before op `before`. */
static Value *new_const(Func *f, const char *name, TensorType t, const void *data, Op *before) {
  int ci = module_add_const(f->module, name, t, data);
  if (ci < 0) return NULL;
  Op *c = op_new(f, KILN_OP_CONSTANT, name, 0, NULL, 1, &t, before);
  c->attrs.const_index = ci;
  return c->out[0];
}

/* A generic of one input with identity maps and the given body (insts copied). */
static Value *unary_with_body(Func *f, Value *x, DType out, const BodyInst *insts, int n,
                              const char *name, Op *before) {
  TensorType t = x->type;
  t.dtype = out;
  Op *g = op_new(f, KILN_OP_GENERIC, name, 1, &x, 1, &t, before);
  OpAttrs *a = &g->attrs;
  a->n_loops = t.rank;
  for (int l = 0; l < t.rank; l++) a->iterators[l] = ITER_PARALLEL;
  a->n_maps = 2;
  a->maps = arena_alloc(&f->module->arena, 2 * sizeof(AffineMap));
  if (!a->maps) return NULL;
  a->maps[0] = a->maps[1] = affine_identity(t.rank);
  a->body = body_new(f->module, n, 1);
  memcpy(a->body.insts, insts, sizeof *insts * (size_t)n);
  a->body.yields[0] = n - 1;
  return g->out[0];
}

#define ARG(t) {.kind = BODY_ARG, .dtype = (t), .imm_i = 0}
#define CST_I(t, v) {.kind = BODY_CONST, .dtype = (t), .imm_i = (v)}
#define CST_F(v) {.kind = BODY_CONST, .dtype = KILN_F32, .imm = (v)}
#define OP1(k, t, a) {.kind = (k), .dtype = (t), .n_args = 1, .args = {(a)}}
#define OP2(k, t, a, b) {.kind = (k), .dtype = (t), .n_args = 2, .args = {(a), (b)}}

/* i32(x8) - zx */
static Value *input_minus_zp(Func *f, Value *x8, int64_t zx, const char *name, Op *before) {
  BodyInst b[] = {ARG(x8->type.dtype), OP1(BODY_CAST, KILN_I32, 0), CST_I(KILN_I32, zx),
                  OP2(BODY_SUB, KILN_I32, 1, 2)};
  return unary_with_body(f, x8, KILN_I32, b, zx ? 4 : 2, name, before);
}

/* cast<qt>(clamp(roundeven(f32(acc [+ bias]) * M) + zy, qmin, qmax)); M a constant, or
 * with Mvec (per channel, f32 [F]) read along the result's channel dim; bias (i32 [F],
 * or NULL) likewise: a matmul's int32 bias, which has no operand of its own. */
static Value *requantize(Func *f, Value *acc, double M, Value *Mvec, Value *bias,
                         int channel_dim, const QParams *y, const char *name, Op *before) {
  double lo = y->qt == KILN_I8 ? -128 : 0, hi = y->qt == KILN_I8 ? 127 : 255;
  BodyInst b[16];
  int n = 0, v = n;
  b[n++] = (BodyInst)ARG(KILN_I32);
  if (bias) {
    b[n++] = (BodyInst){.kind = BODY_ARG, .dtype = KILN_I32, .imm_i = Mvec ? 2 : 1};
    b[n] = (BodyInst)OP2(BODY_ADD, KILN_I32, v, n - 1), v = n++;
  }
  b[n] = (BodyInst)OP1(BODY_CAST, KILN_F32, v), v = n++;
  b[n++] = Mvec ? (BodyInst){.kind = BODY_ARG, .dtype = KILN_F32, .imm_i = 1} : (BodyInst)CST_F(M);
  b[n] = (BodyInst)OP2(BODY_MUL, KILN_F32, v, n - 1), v = n++;
  b[n] = (BodyInst)OP1(BODY_ROUND, KILN_F32, v), v = n++;
  b[n++] = (BodyInst)CST_F((double)y->zp);
  b[n] = (BodyInst)OP2(BODY_ADD, KILN_F32, v, n - 1), v = n++;
  b[n++] = (BodyInst)CST_F(lo);
  b[n] = (BodyInst)OP2(BODY_MAX, KILN_F32, v, n - 1), v = n++;
  b[n++] = (BodyInst)CST_F(hi);
  b[n] = (BodyInst)OP2(BODY_MIN, KILN_F32, v, n - 1), v = n++;
  b[n] = (BodyInst)OP1(BODY_CAST, y->qt, v), n++;
  TensorType t = acc->type;
  t.dtype = y->qt;
  Value *ins[3] = {acc, Mvec ? Mvec : bias, bias};
  int n_in = 1 + (Mvec != NULL) + (bias != NULL);
  Op *g = op_new(f, KILN_OP_GENERIC, name, n_in, ins, 1, &t, before);
  OpAttrs *a = &g->attrs;
  a->n_loops = t.rank;
  for (int l = 0; l < t.rank; l++) a->iterators[l] = ITER_PARALLEL;
  a->n_maps = n_in + 1;
  a->maps = arena_alloc(&f->module->arena, (size_t)(n_in + 1) * sizeof(AffineMap));
  if (!a->maps) return NULL;
  a->maps[0] = a->maps[n_in] = affine_identity(t.rank);
  for (int i = 1; i < n_in; i++) { /* per-channel vectors */
    a->maps[i] = (AffineMap){.n_results = 1};
    a->maps[i].results[0].coef[channel_dim] = 1;
  }
  a->body = body_new(f->module, n, 1);
  memcpy(a->body.insts, b, sizeof *b * (size_t)n);
  a->body.yields[0] = n - 1;
  return g->out[0];
}

/* The weights minus their zero point (per output channel: axis 0) as int32 (NULL if w is
 * not constant data). */
static int32_t *weights_i32(const Value *w, const WeightQ *q) {
  const void *data = const_data_of(w);
  int64_t n = type_numel(&w->type), per = q->n ? n / q->n : 0;
  if (per < 1 || per * q->n != n) return NULL; /* the channel axis must divide the weights */
  int32_t *out = data ? malloc(sizeof *out * (size_t)n) : NULL;
  for (int64_t i = 0; out && i < n; i++)
    out[i] = (int32_t)(w->type.dtype == KILN_I8 ? ((const int8_t *)data)[i]
                                                : ((const uint8_t *)data)[i]) - q->zp[i / per];
  return out;
}

/* The f32 bias as int32 of scale sb[c], or false if it is not exactly that. */
static bool bias_i32(const Value *b, const float *sb, int32_t *out) {
  const float *data = const_data_of(b);
  if (!data || b->type.dtype != KILN_F32 || b->type.rank != 1) return false;
  for (int64_t i = 0; i < b->type.dims[0]; i++) {
    double q = nearbyint((double)data[i] / sb[i]);
    if (!(fabs(q) < 2147483647.0) || (float)((float)q * sb[i]) != data[i]) return false;
    out[i] = (int32_t)q;
  }
  return true;
}

typedef struct Unit {
  Op *conv, *quant;
  Op *w_dq;       /* the weights' DQ, maybe behind reshapes (a depthwise conv's [C,1,KH,KW]) */
  Op *clamp;      /* a Relu / Clip between the conv and the Q, or NULL */
  double lo, hi;  /* its bounds (-inf / inf when absent) */
  QParams x, y;
  WeightQ w;      /* malloc'd by match_unit, freed by the caller */
} Unit;

/* A Relu or Clip: generic(x) { min(max(x, lo), hi) } (either order, either bound alone) of
 * an f32 tensor with one use; its bounds. */
static bool match_clamp(const Op *op, double *lo, double *hi) {
  if (!unary_generic(op, is_f32, is_f32) || !value_has_one_use(op->out[0])) return false;
  const Body *b = &op->attrs.body;
  int v = b->yields[0], n_min = 0, n_max = 0;
  double c;
  *lo = -INFINITY, *hi = INFINITY;
  for (const BodyInst *in = &b->insts[v]; in->kind == BODY_MIN || in->kind == BODY_MAX;
       in = &b->insts[v]) {
    if (in->dtype != KILN_F32 || (v = nonconst_operand(b, in, &c)) < 0 || c != c) return false;
    if (in->kind == BODY_MAX) *lo = c, n_max++;
    else *hi = c, n_min++;
  }
  return (n_max || n_min) && n_max <= 1 && n_min <= 1 && *lo <= *hi && is_arg0_as_f32(b, v);
}

/* Q(c) of one constant as the QuantizeLinear generic computes it (f32 division, round half
 * to even, + zp, saturated); an infinite bound saturates. */
static double quantize_bound(double c, const QParams *y) {
  double lo = y->qt == KILN_I8 ? -128 : 0, hi = y->qt == KILN_I8 ? 127 : 255;
  double q = isinf(c) ? c : nearbyint((double)((float)c / (float)y->scale)) + (double)y->zp;
  return q < lo ? lo : q > hi ? hi : q;
}

/* clamp(y8, qlo, qhi) on the 8-bit values (in f32, exact for them): a Relu/Clip before the
 * Q, moved after it; Q is monotone, so Q(clamp(v, lo, hi)) = clamp(Q(v), Q(lo), Q(hi)). */
static Value *clamp_8bit(Func *f, Value *y8, double qlo, double qhi, const char *name, Op *before) {
  DType t = y8->type.dtype;
  BodyInst b[] = {ARG(t), OP1(BODY_CAST, KILN_F32, 0), CST_F(qlo), OP2(BODY_MAX, KILN_F32, 1, 2),
                  CST_F(qhi), OP2(BODY_MIN, KILN_F32, 3, 4), OP1(BODY_CAST, t, 5)};
  return unary_with_body(f, y8, t, b, (int)ARRAY_LEN(b), name, before);
}

/* The op defining v, seen through reshapes (which keep the data order). */
static Op *through_reshapes(const Value *v) {
  Op *d = v->def;
  while (d && (d->kind == KILN_OP_RESHAPE || d->kind == KILN_OP_COLLAPSE_SHAPE ||
               d->kind == KILN_OP_EXPAND_SHAPE))
    d = d->in[0]->def;
  return d;
}

static bool match_unit(Op *op, Unit *u) {
  if ((op->kind != KILN_OP_CONV2D && op->kind != KILN_OP_DEPTHWISE_CONV2D) ||
      op->out[0]->type.dtype != KILN_F32 || !value_has_one_use(op->out[0]))
    return false;
  u->conv = op;
  u->quant = op->out[0]->uses->user;
  u->clamp = NULL, u->lo = -INFINITY, u->hi = INFINITY;
  if (match_clamp(u->quant, &u->lo, &u->hi)) /* conv -> Relu/Clip -> Q */
    u->clamp = u->quant, u->quant = u->clamp->out[0]->uses->user;
  u->w_dq = through_reshapes(op->in[1]);
  int64_t F = op->out[0]->type.dims[op->attrs.layout == LAYOUT_NCHW ? 1 : 3];
  return match_weight_dequant(u->w_dq, F, &u->w) && match_dequant(op->in[0]->def, &u->x) &&
         const_data_of(u->w_dq->in[0]) && match_quant(u->quant, &u->y) &&
         (op->n_in == 2 || const_data_of(op->in[2]));
}

/* Rewrites the unit when its bias is an int32 of scale sx*sw (else leaves it in float). */
static void rewrite_unit(Func *f, const Unit *u) {
  Op *conv = u->conv;
  int64_t F = u->w.n, n_b = conv->n_in == 3 ? conv->in[2]->type.dims[0] : 0;
  float *sb = malloc(sizeof *sb * (size_t)(F + 1)), *M = malloc(sizeof *M * (size_t)(F + 1));
  bool per_channel = false;
  for (int64_t c = 0; sb && M && c < F; c++) {
    sb[c] = (float)u->x.scale * u->w.scale[c];
    M[c] = (float)((double)sb[c] / (float)u->y.scale); /* ORT: X_scale * W_scale / Y_scale */
    per_channel |= M[c] != M[0];
  }
  Value *w8 = u->w_dq->in[0];
  int32_t *w = sb && M ? weights_i32(w8, &u->w) : NULL, *b = malloc(sizeof *b * (size_t)(n_b + 1));
  bool ok = w && b && F >= 1 && (conv->n_in == 2 || bias_i32(conv->in[2], sb, b));
  if (ok) {
    Value *ins[3];
    TensorType wt = conv->in[1]->type, bt = {KILN_I32, 1, {n_b}}, at = conv->out[0]->type;
    wt.dtype = KILN_I32, at.dtype = KILN_I32;
    ins[0] = input_minus_zp(f, conv->in[0]->def->in[0], u->x.zp, conv->name, conv);
    ins[1] = new_const(f, u->w_dq->name, wt, w, conv);
    ins[2] = conv->n_in == 3 ? new_const(f, conv->in[2]->name, bt, b, conv) : NULL;
    Op *acc = ins[0] && ins[1] && (ins[2] || conv->n_in == 2)
                  ? op_new(f, conv->kind, conv->name, conv->n_in, ins, 1, &at, conv) : NULL;
    TensorType mt = {KILN_F32, 1, {F}};
    Value *Mvec = per_channel ? new_const(f, u->quant->name, mt, M, conv) : NULL;
    int cdim = conv->attrs.layout == LAYOUT_NCHW ? 1 : 3;
    Value *y = acc && (Mvec || !per_channel)
                   ? (acc->attrs = conv->attrs,
                      requantize(f, acc->out[0], M[0], Mvec, NULL, cdim, &u->y, u->quant->name, conv))
                   : NULL;
    if (y && u->clamp)
      y = clamp_8bit(f, y, quantize_bound(u->lo, &u->y), quantize_bound(u->hi, &u->y),
                     u->clamp->name, conv);
    ok = y != NULL;
    if (ok) {
      value_replace_uses(u->quant->out[0], y);
      op_erase(u->quant);
      if (u->clamp) op_erase(u->clamp);
      op_erase(conv);
    }
  }
  free(w), free(b), free(sb), free(M);
}

/* ---- Gemm / MatMul units: matmul(DQ(x8), transpose(DQ(w8 [N, K]))) [+ bias] -> Q ---- */

/* The bias add after a matmul: generic(mm, b) { mm + b } with b an f32 constant [N] read
 * along the last dim; its constant, or NULL. */
static const Value *matmul_bias(const Op *g, const Value *mm) {
  if (!g || g->kind != KILN_OP_GENERIC || g->n_in != 2 || g->in[0] != mm || g->n_out != 1 ||
      g->attrs.n_loops != 2 || !affine_is_identity(&g->attrs.maps[0], 2) ||
      !affine_is_identity(&g->attrs.maps[2], 2) || g->attrs.body.n_yield != 1)
    return NULL;
  const Value *b = g->in[1];
  const AffineMap *m = &g->attrs.maps[1];
  const BodyInst *add = &g->attrs.body.insts[g->attrs.body.yields[0]];
  if (b->type.dtype != KILN_F32 || b->type.rank != 1 || b->type.dims[0] != mm->type.dims[1] ||
      m->n_results != 1 || m->results[0].coef[0] || m->results[0].coef[1] != 1 ||
      m->results[0].cst || add->kind != BODY_ADD || add->dtype != KILN_F32 || !const_data_of(b))
    return NULL;
  const BodyInst *x = &g->attrs.body.insts[add->args[0]], *y = &g->attrs.body.insts[add->args[1]];
  return x->kind == BODY_ARG && y->kind == BODY_ARG && x->imm_i != y->imm_i ? b : NULL;
}

/* As match_unit for a 2-D matmul whose weights are a transposed per-row (per output
 * channel) DQ, as ONNX Gemm with transB (a classifier) imports; bias_add: the generic
 * adding the bias, or NULL when the Q follows the matmul. */
static bool match_matmul_unit(Op *op, Unit *u, Op **bias_add, const Value **bias) {
  if (op->kind != KILN_OP_MATMUL || op->out[0]->type.dtype != KILN_F32 ||
      op->out[0]->type.rank != 2 || op->in[0]->type.rank != 2 || !value_has_one_use(op->out[0]))
    return false;
  Op *t = op->in[1]->def, *next = op->out[0]->uses->user;
  if (!t || t->kind != KILN_OP_TRANSPOSE || t->attrs.perm[0] != 1 || !value_has_one_use(op->in[1]))
    return false;
  *bias = matmul_bias(next, op->out[0]);
  *bias_add = *bias ? next : NULL;
  if (*bias && !value_has_one_use(next->out[0])) return false;
  u->conv = op;
  u->quant = *bias ? next->out[0]->uses->user : next;
  u->w_dq = t->in[0]->def;
  return match_weight_dequant(u->w_dq, op->out[0]->type.dims[1], &u->w) &&
         match_dequant(op->in[0]->def, &u->x) && const_data_of(u->w_dq->in[0]) &&
         u->w_dq->in[0]->type.rank == 2 && match_quant(u->quant, &u->y);
}

/* The matmul unit as acc = matmul(x8 - zx, (w8 - zw)^T as i32) and requantize(acc + b). */
static void rewrite_matmul_unit(Func *f, const Unit *u, Op *bias_add, const Value *bias) {
  Op *mm = u->conv;
  int64_t N = u->w.n, K = mm->in[0]->type.dims[1];
  float *sb = malloc(sizeof *sb * (size_t)N), *M = malloc(sizeof *M * (size_t)N);
  int32_t *w = sb && M ? weights_i32(u->w_dq->in[0], &u->w) : NULL;
  int32_t *wt = malloc(sizeof *wt * (size_t)(K * N)), *b = malloc(sizeof *b * (size_t)N);
  bool per_channel = false;
  for (int64_t c = 0; sb && M && c < N; c++) {
    sb[c] = (float)u->x.scale * u->w.scale[c];
    M[c] = (float)((double)sb[c] / (float)u->y.scale);
    per_channel |= M[c] != M[0];
  }
  if (w && wt && b && (!bias || bias_i32(bias, sb, b))) {
    for (int64_t n = 0; n < N; n++)
      for (int64_t k = 0; k < K; k++) wt[k * N + n] = w[n * K + k];
    TensorType wtt = {KILN_I32, 2, {K, N}}, bt = {KILN_I32, 1, {N}}, mt = {KILN_F32, 1, {N}};
    TensorType at = mm->out[0]->type;
    at.dtype = KILN_I32;
    Value *ins[2] = {input_minus_zp(f, mm->in[0]->def->in[0], u->x.zp, mm->name, mm),
                     new_const(f, u->w_dq->name, wtt, wt, mm)};
    Value *bv = bias ? new_const(f, bias->def->name, bt, b, mm) : NULL;
    Value *Mvec = per_channel ? new_const(f, u->quant->name, mt, M, mm) : NULL;
    Op *acc = ins[0] && ins[1] && (bv || !bias) && (Mvec || !per_channel)
                  ? op_new(f, KILN_OP_MATMUL, mm->name, 2, ins, 1, &at, mm) : NULL;
    Value *y = acc ? requantize(f, acc->out[0], M[0], Mvec, bv, 1, &u->y, u->quant->name, mm) : NULL;
    if (y) {
      value_replace_uses(u->quant->out[0], y);
      op_erase(u->quant);
      if (bias_add) op_erase(bias_add);
      op_erase(mm);
    }
  }
  free(w), free(wt), free(b), free(sb), free(M);
}

/* ---- global average pools: Q(avgpool over the whole image (DQ(x8))) ---------------- */

/* An average pool whose window is the whole (unpadded) image, read from DQ(x8) and
 * quantized by its only user: ONNX Runtime runs that unit as QLinearGlobalAveragePool. */
static bool match_pool_unit(Op *op, QParams *x, QParams *y, Op **quant) {
  const OpAttrs *a = &op->attrs;
  if (op->kind != KILN_OP_POOL2D || a->pool_kind != POOL_AVG || op->n_in != 1 ||
      op->in[0]->type.rank != 4 || op->out[0]->type.dtype != KILN_F32 ||
      !value_has_one_use(op->out[0]))
    return false;
  bool nhwc = a->layout == LAYOUT_NHWC;
  const int64_t *in = op->in[0]->type.dims, *out = op->out[0]->type.dims;
  int64_t h = in[nhwc ? 1 : 2], w = in[nhwc ? 2 : 3];
  for (int i = 0; i < 4; i++)
    if (a->pads[i]) return false;
  if (a->kernel[0] != h || a->kernel[1] != w || a->dilations[0] != 1 || a->dilations[1] != 1 ||
      out[nhwc ? 1 : 2] != 1 || out[nhwc ? 2 : 3] != 1 || h * w >= (1 << 23))
    return false;
  *quant = op->out[0]->uses->user;
  return match_dequant(op->in[0]->def, x) && match_quant(*quant, y);
}

/* The pool as QLinearGlobalAveragePool computes it (MLAS): the exact int32 sum of
 * x8 - zx over the image (here a depthwise conv of ones, which the interpreter and the
 * backend run exactly), then requantized by f32(sx / f32(sy * f32(H*W))). */
static void rewrite_pool_unit(Func *f, Op *pool, Op *quant, const QParams *x, const QParams *y) {
  const OpAttrs *a = &pool->attrs;
  bool nhwc = a->layout == LAYOUT_NHWC;
  int64_t C = pool->in[0]->type.dims[nhwc ? 3 : 1], hw = a->kernel[0] * a->kernel[1];
  TensorType wt = {KILN_I32, 3, {C, a->kernel[0], a->kernel[1]}}, at = pool->out[0]->type;
  if (nhwc) wt = (TensorType){KILN_I32, 3, {a->kernel[0], a->kernel[1], C}};
  at.dtype = KILN_I32;
  int32_t *ones = malloc(sizeof *ones * (size_t)(C * hw));
  for (int64_t i = 0; ones && i < C * hw; i++) ones[i] = 1;
  Value *ins[2] = {input_minus_zp(f, pool->in[0]->def->in[0], x->zp, pool->name, pool),
                   ones ? new_const(f, pool->name, wt, ones, pool) : NULL};
  free(ones);
  Op *acc = ins[0] && ins[1] ? op_new(f, KILN_OP_DEPTHWISE_CONV2D, pool->name, 2, ins, 1, &at, pool)
                             : NULL;
  if (!acc) return;
  acc->attrs.kernel[0] = a->kernel[0], acc->attrs.kernel[1] = a->kernel[1];
  acc->attrs.strides[0] = a->strides[0], acc->attrs.strides[1] = a->strides[1];
  acc->attrs.dilations[0] = acc->attrs.dilations[1] = 1;
  acc->attrs.layout = a->layout;
  float M = (float)x->scale / ((float)y->scale * (float)hw);
  Value *r = requantize(f, acc->out[0], M, NULL, NULL, nhwc ? 3 : 1, y, quant->name, pool);
  if (!r) return;
  value_replace_uses(quant->out[0], r);
  op_erase(quant);
  op_erase(pool);
}

static bool same_qparams(const QParams *a, const QParams *b) {
  return (float)a->scale == (float)b->scale && a->zp == b->zp && a->qt == b->qt;
}

/* Ops that move 8-bit data as they move floats: Q(op(DQ(x))) = op(x) with one set of
 * parameters. A uint8 resize is included as ONNX Runtime runs it in QDQ models (in fixed
 * point: interp_resize.c), not as the float graph would round it; an int8 one ORT keeps
 * in float, and so does Kiln. */
static bool moves_data(const Op *op) {
  switch (op->kind) {
  case KILN_OP_TRANSPOSE: case KILN_OP_RESHAPE: case KILN_OP_COLLAPSE_SHAPE:
  case KILN_OP_EXPAND_SHAPE: case KILN_OP_EXTRACT_SLICE: case KILN_OP_RESIZE:
    return op->n_in == 1;
  case KILN_OP_PAD:
    return op->attrs.pad_mode == PAD_CONSTANT && isfinite(op->attrs.pad_value);
  default:
    return false;
  }
}

/* Q(DQ(x)) with the same parameters is x (|x - zp| <= 255: the f32 round trip
 * (x - zp) * s / s is within far less than half a step of x - zp), and Q(op(DQ(x))) is
 * op(x) for a data-movement op (a constant pad pads with Q(value)): tf2onnx's explicit
 * pads, the resize and transpose before a model's output. Returns true when it rewrote q
 * (erased). */
static bool drop_requantize(Func *f, Op *q) {
  QParams qq, dq;
  if (!match_quant(q, &qq)) return false;
  Value *v = q->in[0];
  Op *mv = v->def && moves_data(v->def) && value_has_one_use(v) ? v->def : NULL;
  if (mv && mv->kind == KILN_OP_RESIZE && qq.qt != KILN_U8)
    return false; /* ORT keeps an int8 resize in float (measured: qdq_resize.py) */
  Op *d = mv ? mv->in[0]->def : v->def;
  if (!match_dequant(d, &dq) || !same_qparams(&qq, &dq)) return false;
  Value *x = d->in[0], *y = x;
  if (mv) {
    Op *m8 = op_new(f, mv->kind, mv->name, 1, &x, 1, &q->out[0]->type, q);
    m8->attrs = mv->attrs;
    if (mv->kind == KILN_OP_PAD) {
      double lo = qq.qt == KILN_I8 ? -128 : 0, hi = qq.qt == KILN_I8 ? 127 : 255;
      double pv = nearbyint((double)(float)(mv->attrs.pad_value / (float)qq.scale)) + (double)qq.zp;
      m8->attrs.pad_value = pv < lo ? lo : pv > hi ? hi : pv;
    }
    y = m8->out[0];
  }
  value_replace_uses(q->out[0], y);
  op_erase(q);
  return true;
}

/* Q(concat(DQ_0(x0), ..., DQ_n(xn))) (an ASPP head's concat of branches quantized apart)
 * becomes concat(r_0, ..., r_n) of 8-bit tensors: r_i = x_i where DQ_i has Q's
 * parameters, else generic(x_i) { Q(DQ_i(x)) } with the graph's own float operations,
 * so every value is what the float concat and Q gave (concat moves values unchanged).
 * Returns true when it rewrote q (erased). */
static bool requantize_concat(Func *f, Op *q) {
  QParams qq, dqs[KILN_MAX_OPERANDS];
  Value *ins[KILN_MAX_OPERANDS];
  if (!match_quant(q, &qq)) return false;
  Op *cat = q->in[0]->def;
  if (!cat || cat->kind != KILN_OP_CONCAT || !value_has_one_use(q->in[0]) ||
      cat->n_in > KILN_MAX_OPERANDS)
    return false;
  for (int i = 0; i < cat->n_in; i++)
    if (!match_dequant(cat->in[i]->def, &dqs[i])) return false;
  double lo = qq.qt == KILN_I8 ? -128 : 0, hi = qq.qt == KILN_I8 ? 127 : 255;
  for (int i = 0; i < cat->n_in; i++) {
    Value *x8 = cat->in[i]->def->in[0];
    const QParams dq = dqs[i];
    BodyInst b[] = {ARG(x8->type.dtype), OP1(BODY_CAST, KILN_F32, 0), CST_F((double)dq.zp),
                    OP2(BODY_SUB, KILN_F32, 1, 2), CST_F(dq.scale), OP2(BODY_MUL, KILN_F32, 3, 4),
                    CST_F(qq.scale), OP2(BODY_DIV, KILN_F32, 5, 6), OP1(BODY_ROUND, KILN_F32, 7),
                    CST_F((double)qq.zp), OP2(BODY_ADD, KILN_F32, 8, 9), CST_F(lo),
                    OP2(BODY_MAX, KILN_F32, 10, 11), CST_F(hi), OP2(BODY_MIN, KILN_F32, 12, 13),
                    OP1(BODY_CAST, qq.qt, 14)};
    ins[i] = same_qparams(&dq, &qq)
                 ? x8 : unary_with_body(f, x8, qq.qt, b, (int)ARRAY_LEN(b), cat->in[i]->def->name, q);
    if (!ins[i]) return false;
  }
  Op *c8 = op_new(f, KILN_OP_CONCAT, cat->name, cat->n_in, ins, 1, &q->out[0]->type, q);
  c8->attrs = cat->attrs;
  value_replace_uses(q->out[0], c8->out[0]);
  op_erase(q);
  return true;
}

KilnStatus pass_quantize_convs(Func *f, PassContext *ctx) {
  (void)ctx;
  for (Op *op = f->first, *next; op; op = next) {
    next = op->next;
    if (!drop_requantize(f, op)) requantize_concat(f, op);
  }
  for (Op *op = f->first, *next; op; op = next) {
    next = op->next;
    Unit u;
    u.w = (WeightQ){0};
    Op *bias_add = NULL;
    const Value *bias = NULL;
    if (match_unit(op, &u)) {
      while (next && (next == u.clamp || next == u.quant)) next = next->next;
      rewrite_unit(f, &u);
    } else if (free(u.w.scale), free(u.w.zp), u.w = (WeightQ){0},
               match_matmul_unit(op, &u, &bias_add, &bias)) {
      while (next && (next == bias_add || next == u.quant)) next = next->next;
      rewrite_matmul_unit(f, &u, bias_add, bias);
    } else if (match_pool_unit(op, &u.x, &u.y, &u.quant)) {
      if (next == u.quant) next = u.quant->next;
      rewrite_pool_unit(f, op, u.quant, &u.x, &u.y);
    }
    free(u.w.scale), free(u.w.zp);
  }
  return KILN_OK;
}
