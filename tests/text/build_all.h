/* build_all.h — builds, by hand through the ir.h builders, a module that uses every op
 * kind, every attribute, every body op, every cast pair, every dtype (constants inline,
 * splat, nested, rank 0, empty, elided), multi-result generics and (optionally) a
 * dispatch region. Shared by tests/unit/test_text.c and tests/text/emit_all_ops.c.
 * Shapes are plausible but this is a printer/parser fixture, not a verified model. */
#ifndef KILN_TEST_BUILD_ALL_H
#define KILN_TEST_BUILD_ALL_H
#include <math.h>
#include <string.h>

#include "ir/ir.h"

static TensorType T(DType dt, int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  int64_t d[4] = {d0, d1, d2, d3};
  return type_make(dt, rank, d);
}

/* A constant of type t filled with a ramp (i * 0.5 - 1 for floats, i - 3 for ints). */
static Value *ramp_const(Func *f, const char *name, TensorType t) {
  int64_t n = type_numel(&t);
  size_t es = dtype_size(t.dtype);
  unsigned char *buf = calloc((size_t)(n ? n : 1), es);
  for (int64_t i = 0; i < n; i++) {
    double x = (double)i * 0.5 - 1.0 + (i == 3 ? 0.1 : 0.0);
    int64_t k = i - 3;
    float fx = (float)x;
    uint16_t h = t.dtype == KILN_F16 ? f32_to_f16(fx) : f32_to_bf16(fx);
    int32_t k32 = (int32_t)k;
    int8_t k8 = (int8_t)k;
    uint8_t u8 = (uint8_t)(200 + i), b = (uint8_t)(i & 1);
    void *dst = buf + (size_t)i * es;
    switch (t.dtype) {
    case KILN_F32: memcpy(dst, &fx, 4); break;
    case KILN_F16: case KILN_BF16: memcpy(dst, &h, 2); break;
    case KILN_I8: memcpy(dst, &k8, 1); break;
    case KILN_U8: memcpy(dst, &u8, 1); break;
    case KILN_BOOL: memcpy(dst, &b, 1); break;
    case KILN_I32: memcpy(dst, &k32, 4); break;
    case KILN_I64: memcpy(dst, &k, 8); break;
    default: break;
    }
  }
  int ci = module_add_const(f->module, name, t, buf);
  free(buf);
  return op_const(f, ci);
}

static Value *splat_const(Func *f, const char *name, TensorType t) {
  unsigned char *buf = calloc((size_t)type_nbytes(&t) + 8, 1);
  int ci = module_add_const(f->module, name, t, buf);
  free(buf);
  return op_const(f, ci);
}

static Op *one(Func *f, OpKind k, const char *name, int n_in, Value **in, TensorType out) {
  return op_new(f, k, name, n_in, in, 1, &out, NULL);
}

/* Elementwise generic: identity maps, parallel loops. */
static Op *ew_generic(Func *f, const char *name, int n_in, Value **in, int n_out, const TensorType *out,
                      int n_insts, const BodyInst *insts, const int *yields) {
  Op *op = op_new(f, KILN_OP_GENERIC, name, n_in, in, n_out, out, NULL);
  OpAttrs *a = &op->attrs;
  a->n_loops = out[0].rank;
  a->n_maps = n_in + n_out;
  a->maps = arena_alloc(&f->module->arena, sizeof(AffineMap) * (size_t)a->n_maps);
  for (int k = 0; k < a->n_maps; k++) a->maps[k] = affine_identity(a->n_loops);
  a->body = body_new(f->module, n_insts, n_out);
  memcpy(a->body.insts, insts, sizeof(BodyInst) * (size_t)n_insts);
  memcpy(a->body.yields, yields, sizeof(int) * (size_t)n_out);
  return op;
}

/* Every body op defined for dt, on two inputs of dt; yields a select. */
static Value *all_body_ops(Func *f, DType dt, Value *a, Value *b) {
  BodyInst in[64];
  int n = 0;
  in[n++] = (BodyInst){.kind = BODY_ARG, .dtype = dt, .imm_i = 0};
  in[n++] = (BodyInst){.kind = BODY_ARG, .dtype = dt, .imm_i = 1};
  in[n++] = (BodyInst){.kind = BODY_CONST, .dtype = dt, .imm = dt == KILN_BF16 ? 0.5 : 6.1,
                       .imm_i = dt == KILN_U8 ? 200 : dt == KILN_BOOL ? 1 : -3};
  for (int k = BODY_ADD; k <= BODY_ROUND; k++) {
    if (!body_op_name((BodyOpKind)k, dt)) continue;
    int na = body_op_n_args((BodyOpKind)k), prev = n - 1;
    in[n] = (BodyInst){.kind = (BodyOpKind)k, .dtype = dt, .n_args = na, .args = {prev, 2}};
    n++;
  }
  for (int p = 0; p < 6; p++)
    in[n++] = (BodyInst){.kind = BODY_CMP, .dtype = KILN_BOOL, .n_args = 2, .args = {0, 1}, .pred = (CmpPred)p};
  int last_cmp = n - 1;
  in[n] = (BodyInst){.kind = BODY_SELECT, .dtype = dt, .n_args = 3, .args = {last_cmp, 0, 3}};
  int y = n++;
  Value *ins[2] = {a, b};
  return ew_generic(f, "body_ops", 2, ins, 1, &a->type, n, in, &y)->out[0];
}

/* One generic per source dtype, casting its input to every dtype (8 outputs). */
static void all_casts(Func *f, Value **srcs) {
  for (int s = 0; s < KILN_DTYPE_COUNT; s++) {
    BodyInst in[KILN_DTYPE_COUNT + 1];
    int ys[KILN_DTYPE_COUNT];
    TensorType outs[KILN_DTYPE_COUNT];
    in[0] = (BodyInst){.kind = BODY_ARG, .dtype = (DType)s, .imm_i = 0};
    for (int t = 0; t < KILN_DTYPE_COUNT; t++) {
      in[t + 1] = (BodyInst){.kind = BODY_CAST, .dtype = (DType)t, .n_args = 1, .args = {0}};
      ys[t] = t + 1;
      outs[t] = T((DType)t, 1, 4, 0, 0, 0);
    }
    ew_generic(f, "casts", 1, &srcs[s], KILN_DTYPE_COUNT, outs, KILN_DTYPE_COUNT + 1, in, ys);
  }
}

/* Reduction over the last dim with init, and a 2-result generic with a broadcast map. */
static Op *reductions(Func *f, Value *x /* 1x4x8x8 f32 */) {
  TensorType outs[2] = {T(KILN_F32, 3, 1, 4, 4, 0), T(KILN_I32, 3, 1, 4, 4, 0)};
  Op *op = op_new(f, KILN_OP_GENERIC, "reduce", 1, &x, 2, outs, NULL);
  OpAttrs *a = &op->attrs;
  a->n_loops = 4;
  a->iterators[3] = ITER_REDUCTION;
  a->n_maps = 3;
  a->maps = arena_alloc(&f->module->arena, sizeof(AffineMap) * 3);
  a->maps[0] = affine_identity(4);
  a->maps[0].results[2].coef[2] = 2; /* d2 * 2 + 1: a strided read, in bounds (0..3 -> 1..7) */
  a->maps[0].results[2].cst = 1;
  for (int k = 1; k < 3; k++) a->maps[k] = (AffineMap){.n_results = 3, .results = {{.coef = {1}}, {.coef = {0, 1}}, {.coef = {0, 0, 1}}}};
  a->init = arena_alloc(&f->module->arena, sizeof(double) * 2);
  a->init[0] = -INFINITY;
  a->init[1] = 0.1;
  a->body = body_new(f->module, 6, 2);
  BodyInst b[6] = {{.kind = BODY_ARG, .dtype = KILN_F32, .imm_i = 0},
                   {.kind = BODY_ARG, .dtype = KILN_F32, .imm_i = 1},
                   {.kind = BODY_ARG, .dtype = KILN_I32, .imm_i = 2},
                   {.kind = BODY_MAX, .dtype = KILN_F32, .n_args = 2, .args = {0, 1}},
                   {.kind = BODY_CONST, .dtype = KILN_I32, .imm_i = 1},
                   {.kind = BODY_ADD, .dtype = KILN_I32, .n_args = 2, .args = {2, 4}}};
  memcpy(a->body.insts, b, sizeof b);
  a->body.yields[0] = 3;
  a->body.yields[1] = 5;
  return op;
}

static void data_movement(Func *f, Value *x /* 1x4x8x8 */, Value **res) {
  Op *op = one(f, KILN_OP_TRANSPOSE, "tr", 1, &x, T(KILN_F32, 4, 1, 8, 8, 4));
  int64_t perm[4] = {0, 2, 3, 1};
  memcpy(op->attrs.perm, perm, sizeof perm);
  op = one(f, KILN_OP_PAD, "pad", 1, &x, T(KILN_F32, 4, 1, 4, 10, 11));
  op->attrs.pad_lo[2] = 1, op->attrs.pad_hi[2] = 1, op->attrs.pad_lo[3] = 2, op->attrs.pad_hi[3] = 1;
  op->attrs.pad_mode = PAD_REFLECT;
  op->attrs.pad_value = 0.1;
  Value *r = one(f, KILN_OP_RESHAPE, "reshape", 1, &x, T(KILN_F32, 2, 4, 64, 0, 0))->out[0];
  op = one(f, KILN_OP_COLLAPSE_SHAPE, "collapse", 1, &x, T(KILN_F32, 2, 4, 64, 0, 0));
  op->attrs.n_reassoc = 2, op->attrs.reassoc[0] = 2, op->attrs.reassoc[1] = 2;
  op = one(f, KILN_OP_EXPAND_SHAPE, "expand", 1, &r, T(KILN_F32, 3, 4, 8, 8, 0));
  op->attrs.n_reassoc = 2, op->attrs.reassoc[0] = 1, op->attrs.reassoc[1] = 2;
  op = one(f, KILN_OP_EXTRACT_SLICE, "slice", 1, &x, T(KILN_F32, 4, 1, 2, 4, 8));
  op->attrs.offsets[1] = 3, op->attrs.steps[1] = -1, op->attrs.offsets[2] = 1, op->attrs.steps[2] = 2;
  Value *cat_in[3] = {x, x, x};
  op = one(f, KILN_OP_CONCAT, "cat", 3, cat_in, T(KILN_F32, 4, 1, 12, 8, 8));
  op->attrs.axis = 1;
  res[0] = op->out[0];
}

static Value *named_ops(Func *f, Value *x /* 1x3x8x8 */) {
  Value *in[3] = {x, ramp_const(f, "conv1.weight", T(KILN_F32, 4, 4, 3, 3, 3)),
                  ramp_const(f, "conv1.bias", T(KILN_F32, 1, 4, 0, 0, 0))};
  Op *op = one(f, KILN_OP_CONV2D, "/conv1/Conv", 3, in, T(KILN_F32, 4, 1, 4, 8, 8));
  op->attrs.kernel[0] = op->attrs.kernel[1] = 3;
  for (int i = 0; i < 4; i++) op->attrs.pads[i] = 1;
  Value *c = op->out[0];
  Value *dw_in[2] = {c, ramp_const(f, "dw", T(KILN_F32, 3, 4, 3, 3, 0))};
  op = one(f, KILN_OP_DEPTHWISE_CONV2D, "dw", 2, dw_in, T(KILN_F32, 4, 1, 4, 8, 8));
  op->attrs.kernel[0] = op->attrs.kernel[1] = 3;
  op->attrs.dilations[0] = 2, op->attrs.pads[0] = 2, op->attrs.pads[2] = 2, op->attrs.pads[1] = op->attrs.pads[3] = 1;
  Value *ct_in[3] = {c, ramp_const(f, "ct.w", T(KILN_F32, 4, 4, 1, 2, 2)), splat_const(f, "ct b", T(KILN_F32, 1, 2, 0, 0, 0))};
  op = one(f, KILN_OP_CONV_TRANSPOSE2D, "ct", 3, ct_in, T(KILN_F32, 4, 1, 2, 17, 17));
  op->attrs.kernel[0] = op->attrs.kernel[1] = 2, op->attrs.strides[0] = op->attrs.strides[1] = 2;
  op->attrs.output_padding[0] = op->attrs.output_padding[1] = 1, op->attrs.groups = 2;
  op = one(f, KILN_OP_POOL2D, "pool", 1, &c, T(KILN_F32, 4, 1, 2, 4, 8)); /* c read as NHWC 1x4x8x8 */
  op->attrs.kernel[0] = op->attrs.kernel[1] = 2, op->attrs.strides[0] = op->attrs.strides[1] = 2;
  op->attrs.pool_kind = POOL_AVG, op->attrs.count_include_pad = true, op->attrs.layout = LAYOUT_NHWC;
  Value *mm[2] = {ramp_const(f, "mA", T(KILN_F32, 2, 2, 3, 0, 0)), ramp_const(f, "mB", T(KILN_F32, 2, 3, 5, 0, 0))};
  one(f, KILN_OP_MATMUL, "mm", 2, mm, T(KILN_F32, 2, 2, 5, 0, 0));
  op = one(f, KILN_OP_RESIZE, "resize", 1, &c, T(KILN_F32, 4, 1, 4, 16, 16));
  op->attrs.resize_mode = RESIZE_LINEAR, op->attrs.coord_mode = COORD_PYTORCH_HALF_PIXEL;
  op->attrs.nearest_mode = NEAREST_CEIL, op->attrs.cubic_coeff = -0.75;
  op->attrs.scales[0] = op->attrs.scales[1] = 1.0, op->attrs.scales[2] = op->attrs.scales[3] = 2.0;
  op = one(f, KILN_OP_ARGMAX, "argmax", 1, &c, T(KILN_I64, 4, 1, 1, 8, 8));
  op->attrs.axis = 1, op->attrs.keepdims = true, op->attrs.select_last_index = true;
  Value *g_in[2] = {c, ramp_const(f, "idx", T(KILN_I64, 1, 2, 0, 0, 0))};
  op = one(f, KILN_OP_GATHER, "gather", 2, g_in, T(KILN_F32, 4, 1, 2, 8, 8));
  op->attrs.axis = -3;
  return c;
}

/* A dispatch whose region holds a relu generic; returns its second result. */
static Value *dispatch_op(Module *m, Func *f, Value *x) {
  Func *r = func_new(m, "dispatch_0");
  Value *ra = func_add_arg(r, x->type, NULL);
  BodyInst b[3] = {{.kind = BODY_ARG, .dtype = KILN_F32, .imm_i = 0},
                   {.kind = BODY_CONST, .dtype = KILN_F32, .imm = 0.0},
                   {.kind = BODY_MAX, .dtype = KILN_F32, .n_args = 2, .args = {0, 1}}};
  int y = 2;
  Value *relu = ew_generic(r, "relu", 1, &ra, 1, &x->type, 3, b, &y)->out[0];
  Value *rres[2] = {relu, ra};
  func_set_results(r, 2, rres, NULL);
  TensorType outs[2] = {x->type, x->type};
  Op *d = op_new(f, KILN_OP_DISPATCH, "dispatch_0", 1, &x, 2, outs, NULL);
  d->attrs.region = r;
  return d->out[1];
}

static Module *build_all(bool with_dispatch) {
  Module *m = module_new();
  Func *f = func_new(m, "main");
  m->main = f;
  Value *x = func_add_arg(f, T(KILN_F32, 4, 1, 3, 8, 8), "input");
  Value *c = named_ops(f, x);
  Value *cat;
  data_movement(f, c, &cat);
  Op *red = reductions(f, c);
  Value *srcs[KILN_DTYPE_COUNT];
  for (int s = 0; s < KILN_DTYPE_COUNT; s++) {
    char name[32];
    snprintf(name, sizeof name, "src_%s", dtype_name((DType)s));
    srcs[s] = ramp_const(f, name, T((DType)s, 1, 4, 0, 0, 0));
    all_body_ops(f, (DType)s, srcs[s], srcs[s]);
  }
  all_casts(f, srcs);
  ramp_const(f, "nested", T(KILN_I32, 3, 2, 2, 3, 0));
  ramp_const(f, "scalar", T(KILN_F16, 0, 0, 0, 0, 0));
  ramp_const(f, "empty", T(KILN_F32, 2, 0, 3, 0, 0));
  ramp_const(f, "bf", T(KILN_BF16, 1, 3, 0, 0, 0));
  splat_const(f, "zeros", T(KILN_BOOL, 2, 2, 2, 0, 0));
  ramp_const(f, "1weird name/é", T(KILN_U8, 2, 5, 5, 0, 0));
  ramp_const(f, "conv1.weight", T(KILN_I8, 1, 20, 0, 0, 0));
  Value *rs[4] = {c, cat, red->out[1], x};
  const char *names[4] = {"out", "cat", "argsum", "in\"copy"};
  if (with_dispatch) rs[3] = dispatch_op(m, f, c);
  func_set_results(f, 4, rs, names);
  return m;
}
#endif
