/* test_interp.c — reference interpreter: generic ops (broadcast, transposed maps,
 * reductions with init), every body op incl. saturating casts and round-half-even, and the
 * driver (input checks, constants, dispatch regions, results returned twice, errors).
 * Expected values are written out by hand. Conv/pool/matmul are in test_interp_conv.c,
 * resize and data movement in test_interp_data.c. */
#include <stdint.h>

#include "test_interp_util.h"

static BodyInst I_ARG(DType dt, int k) { return (BodyInst){.kind = BODY_ARG, .dtype = dt, .imm_i = k}; }
static BodyInst I_OP(BodyOpKind k, DType dt, int n, int a0, int a1, int a2) {
  return (BodyInst){.kind = k, .dtype = dt, .n_args = n, .args = {a0, a1, a2}};
}
static BodyInst I_CONSTF(DType dt, double v) { return (BodyInst){.kind = BODY_CONST, .dtype = dt, .imm = v}; }

/* Elementwise generic over rank-1 tensors of n elements: identity maps, yields the last
 * inst. */
static OneOp ew_generic(int n_in, const DType *in_dt, DType out_dt, int64_t n,
                        const BodyInst *insts, int n_insts) {
  TensorType ins[8];
  for (int i = 0; i < n_in; i++) ins[i] = TT(in_dt[i], n);
  OneOp o = one_op(KILN_OP_GENERIC, n_in, ins, TT(out_dt, n));
  OpAttrs *a = &o.op->attrs;
  a->n_loops = 1;
  a->iterators[0] = ITER_PARALLEL;
  a->n_maps = n_in + 1;
  a->maps = arena_alloc(&o.m->arena, sizeof(AffineMap) * (size_t)a->n_maps);
  for (int i = 0; i < a->n_maps; i++) a->maps[i] = affine_identity(1);
  a->body = body_new(o.m, n_insts, 1);
  memcpy(a->body.insts, insts, sizeof(BodyInst) * (size_t)n_insts);
  a->body.yields[0] = n_insts - 1;
  return o;
}

static void unary_case(const char *what, BodyOpKind k, DType dt, const double *in,
                       const double *want, int n) {
  BodyInst b[2] = {I_ARG(dt, 0), I_OP(k, dt, 1, 0, 0, 0)};
  OneOp o = ew_generic(1, &dt, dt, n, b, 2);
  Tensor *x[1] = {tvals(TT(dt, n), in)};
  run_check(what, o, x, 1, want, 1e-6);
}

static void binary_case(const char *what, BodyOpKind k, DType dt, const double *in0,
                        const double *in1, const double *want, int n) {
  DType dts[2] = {dt, dt};
  BodyInst b[3] = {I_ARG(dt, 0), I_ARG(dt, 1), I_OP(k, dt, 2, 0, 1, 0)};
  OneOp o = ew_generic(2, dts, dt, n, b, 3);
  Tensor *x[2] = {tvals(TT(dt, n), in0), tvals(TT(dt, n), in1)};
  run_check(what, o, x, 2, want, 0);
}

static void cast_case(const char *what, DType from, DType to, const double *in,
                      const double *want, int n) {
  BodyInst b[2] = {I_ARG(from, 0), I_OP(BODY_CAST, to, 1, 0, 0, 0)};
  OneOp o = ew_generic(1, &from, to, n, b, 2);
  Tensor *x[1] = {tvals(TT(from, n), in)};
  run_check(what, o, x, 1, want, 0);
}

static void test_float_unary(void) {
  double x[4] = {0.25, 1.0, 2.0, 4.5};
  double e[4], l[4], t[4], er[4], s[4];
  for (int i = 0; i < 4; i++)
    e[i] = (float)exp(x[i]), l[i] = (float)log(x[i]), t[i] = (float)tanh(x[i]),
    er[i] = (float)erf(x[i]), s[i] = (float)sqrt(x[i]);
  unary_case("exp", BODY_EXP, KILN_F32, x, e, 4);
  unary_case("log", BODY_LOG, KILN_F32, x, l, 4);
  unary_case("tanh", BODY_TANH, KILN_F32, x, t, 4);
  unary_case("erf", BODY_ERF, KILN_F32, x, er, 4);
  unary_case("sqrt", BODY_SQRT, KILN_F32, x, s, 4);
  double y[6] = {-1.5, -0.5, 0.5, 1.5, 2.5, 2.4};
  unary_case("floor", BODY_FLOOR, KILN_F32, y, (double[]){-2, -1, 0, 1, 2, 2}, 6);
  unary_case("ceil", BODY_CEIL, KILN_F32, y, (double[]){-1, 0, 1, 2, 3, 3}, 6);
  unary_case("round half even", BODY_ROUND, KILN_F32, y, (double[]){-2, 0, 0, 2, 2, 2}, 6);
  unary_case("neg", BODY_NEG, KILN_F32, y, (double[]){1.5, 0.5, -0.5, -1.5, -2.5, -2.4}, 6);
  unary_case("abs", BODY_ABS, KILN_F32, y, (double[]){1.5, 0.5, 0.5, 1.5, 2.5, 2.4}, 6);
  unary_case("abs i32", BODY_ABS, KILN_I32, (double[]){-3, 4}, (double[]){3, 4}, 2);
}

static void test_float_binary(void) {
  double a[4] = {1, -2, NAN, 3}, b[4] = {2, 4, 1, NAN};
  binary_case("add", BODY_ADD, KILN_F32, a, b, (double[]){3, 2, NAN, NAN}, 4);
  binary_case("sub", BODY_SUB, KILN_F32, a, b, (double[]){-1, -6, NAN, NAN}, 4);
  binary_case("mul", BODY_MUL, KILN_F32, a, b, (double[]){2, -8, NAN, NAN}, 4);
  binary_case("div", BODY_DIV, KILN_F32, a, b, (double[]){0.5, -0.5, NAN, NAN}, 4);
  binary_case("max nan", BODY_MAX, KILN_F32, a, b, (double[]){2, 4, NAN, NAN}, 4);
  binary_case("min nan", BODY_MIN, KILN_F32, a, b, (double[]){1, -2, NAN, NAN}, 4);
  binary_case("pow", BODY_POW, KILN_F32, (double[]){2, 9}, (double[]){3, 0.5},
              (double[]){8, 3}, 2);
  /* each f32 instruction rounds: (2^24 + 1) + 1 stays 2^24 in f32 */
  DType dt = KILN_F32;
  BodyInst body[5] = {I_ARG(dt, 0), I_CONSTF(dt, 1.0), I_OP(BODY_ADD, dt, 2, 0, 1, 0),
                      I_OP(BODY_ADD, dt, 2, 2, 1, 0), I_OP(BODY_SUB, dt, 2, 3, 0, 0)};
  OneOp o = ew_generic(1, &dt, dt, 1, body, 5);
  Tensor *x[1] = {tvals(TT(dt, 1), (double[]){16777216.0})};
  run_check("f32 rounding per inst", o, x, 1, (double[]){0.0}, 0);
}

static void test_int_ops(void) {
  DType i32 = KILN_I32, i64 = KILN_I64, i8 = KILN_I8;
  binary_case("divsi", BODY_DIV, i32, (double[]){7, -7, 5, INT32_MIN, 0},
              (double[]){2, 2, 0, -1, 3}, (double[]){3, -3, 0, INT32_MIN, 0}, 5);
  binary_case("div i64 min", BODY_DIV, i64, (double[]){(double)INT64_MIN, 9},
              (double[]){-1, 0}, (double[]){(double)INT64_MIN, 0}, 2);
  binary_case("add i8 wraps", BODY_ADD, i8, (double[]){100, -100}, (double[]){100, -100},
              (double[]){-56, 56}, 2);
  binary_case("mul i32 wraps", BODY_MUL, i32, (double[]){65536}, (double[]){65536},
              (double[]){0}, 1);
  binary_case("max/min i32", BODY_MAX, i32, (double[]){-3, 4}, (double[]){2, 1},
              (double[]){2, 4}, 2);
  binary_case("min i32", BODY_MIN, i32, (double[]){-3, 4}, (double[]){2, 1},
              (double[]){-3, 1}, 2);
  binary_case("sub u8 wraps", BODY_SUB, KILN_U8, (double[]){1}, (double[]){2},
              (double[]){255}, 1);
}

static void test_casts(void) {
  cast_case("f32->i8 saturates", KILN_F32, KILN_I8,
            (double[]){-200.7, -3.9, 3.9, 127.5, 300, NAN, -0.5},
            (double[]){-128, -3, 3, 127, 127, 0, 0}, 7);
  cast_case("f32->u8 saturates", KILN_F32, KILN_U8, (double[]){-5, 3.7, 256, 255.9},
            (double[]){0, 3, 255, 255}, 4);
  cast_case("f32->i32 saturates", KILN_F32, KILN_I32, (double[]){3e9, -3e9, -7.9},
            (double[]){INT32_MAX, INT32_MIN, -7}, 3);
  cast_case("f32->i64 saturates", KILN_F32, KILN_I64, (double[]){1e30, -1e30, NAN},
            (double[]){(double)INT64_MAX, (double)INT64_MIN, 0}, 3);
  cast_case("i32->i8 wraps", KILN_I32, KILN_I8, (double[]){200, -129, 127, 256},
            (double[]){-56, 127, 127, 0}, 4);
  cast_case("i8->u8 wraps", KILN_I8, KILN_U8, (double[]){-1, 5}, (double[]){255, 5}, 2);
  cast_case("u8->i32", KILN_U8, KILN_I32, (double[]){255}, (double[]){255}, 1);
  cast_case("f32->bool", KILN_F32, KILN_BOOL, (double[]){0, -0.0, 2.5, -1e-30},
            (double[]){0, 0, 1, 1}, 4);
  cast_case("i32->bool", KILN_I32, KILN_BOOL, (double[]){0, 256}, (double[]){0, 1}, 2);
  cast_case("bool->f32", KILN_BOOL, KILN_F32, (double[]){1, 0}, (double[]){1, 0}, 2);
  cast_case("i64->f32 rounds", KILN_I64, KILN_F32, (double[]){16777217, -3},
            (double[]){16777216, -3}, 2);
  cast_case("f32->f16 half-even", KILN_F32, KILN_F16,
            (double[]){1.0 + 1.0 / 2048, 1.0 + 3.0 / 2048, 70000},
            (double[]){1.0, 1.0 + 2.0 / 1024, INFINITY}, 3);
  cast_case("f32->bf16", KILN_F32, KILN_BF16, (double[]){1.0 + 1.0 / 256},
            (double[]){1.0}, 1);
  cast_case("f16->f32", KILN_F16, KILN_F32, (double[]){0.5}, (double[]){0.5}, 1);
}

/* y = select(x > 0, x, 0.1 * x) and every comparison predicate against 1. */
static void test_cmp_select(void) {
  DType f = KILN_F32, b = KILN_BOOL;
  BodyInst body[6] = {I_ARG(f, 0), I_CONSTF(f, 0.0), I_CONSTF(f, 0.1),
                      I_OP(BODY_CMP, b, 2, 0, 1, 0), I_OP(BODY_MUL, f, 2, 0, 2, 0),
                      I_OP(BODY_SELECT, f, 3, 3, 0, 4)};
  body[3].pred = CMP_GT;
  OneOp o = ew_generic(1, &f, f, 3, body, 6);
  Tensor *x[1] = {tvals(TT(f, 3), (double[]){2, -1, 0})};
  run_check("leaky relu", o, x, 1, (double[]){2, (float)-0.1, 0}, 1e-7);
  static const double want[6][4] = {{0, 1, 0, 0}, {1, 0, 1, 1}, {1, 0, 0, 0},
                                    {1, 1, 0, 0}, {0, 0, 1, 0}, {0, 1, 1, 0}};
  for (int p = CMP_EQ; p <= CMP_GE; p++) {
    BodyInst c[3] = {I_ARG(f, 0), I_CONSTF(f, 1.0), I_OP(BODY_CMP, b, 2, 0, 1, 0)};
    c[2].pred = (CmpPred)p;
    OneOp oc = ew_generic(1, &f, b, 4, c, 3);
    Tensor *xc[1] = {tvals(TT(f, 4), (double[]){0, 1, 2, NAN})};
    run_check("cmp pred", oc, xc, 1, want[p], 0);
  }
  DType i = KILN_I32;
  BodyInst ci[3] = {I_ARG(i, 0), {.kind = BODY_CONST, .dtype = i, .imm_i = 1},
                    I_OP(BODY_CMP, b, 2, 0, 1, 0)};
  ci[2].pred = CMP_LE;
  OneOp oi = ew_generic(1, &i, b, 3, ci, 3);
  Tensor *xi[1] = {tvals(TT(i, 3), (double[]){0, 1, 2})};
  run_check("cmpi sle", oi, xi, 1, (double[]){1, 1, 0}, 0);
}

/* out[i, j] = a[i, j] + b[j] (broadcast) and out2 = a^T via a permuted map. */
static void test_generic_maps(void) {
  TensorType in[2] = {TT(KILN_F32, 2, 3), TT(KILN_F32, 3)};
  OneOp o = one_op(KILN_OP_GENERIC, 2, in, TT(KILN_F32, 2, 3));
  OpAttrs *a = &o.op->attrs;
  a->n_loops = 2;
  a->n_maps = 3;
  a->maps = arena_alloc(&o.m->arena, sizeof(AffineMap) * 3);
  a->maps[0] = affine_identity(2);
  a->maps[1] = affine_broadcast(1, DIMS(3), 2, DIMS(2, 3));
  a->maps[2] = affine_identity(2);
  a->body = body_new(o.m, 3, 1);
  a->body.insts[0] = I_ARG(KILN_F32, 0);
  a->body.insts[1] = I_ARG(KILN_F32, 1);
  a->body.insts[2] = I_OP(BODY_ADD, KILN_F32, 2, 0, 1, 0);
  a->body.yields[0] = 2;
  Tensor *x[2] = {tvals(in[0], (double[]){1, 2, 3, 4, 5, 6}), tvals(in[1], (double[]){10, 20, 30})};
  run_check("broadcast add", o, x, 2, (double[]){11, 22, 33, 14, 25, 36}, 0);

  TensorType tin = TT(KILN_F32, 2, 3);
  OneOp t = one_op(KILN_OP_GENERIC, 1, &tin, TT(KILN_F32, 3, 2));
  a = &t.op->attrs;
  a->n_loops = 2; /* loops (j, i) over the result [3, 2]; input map (d1, d0) */
  a->n_maps = 2;
  a->maps = arena_alloc(&t.m->arena, sizeof(AffineMap) * 2);
  a->maps[0] = (AffineMap){.n_results = 2};
  a->maps[0].results[0].coef[1] = 1;
  a->maps[0].results[1].coef[0] = 1;
  a->maps[1] = affine_identity(2);
  a->body = body_new(t.m, 1, 1);
  a->body.insts[0] = I_ARG(KILN_F32, 0);
  a->body.yields[0] = 0;
  Tensor *y[1] = {tvals(tin, (double[]){1, 2, 3, 4, 5, 6})};
  run_check("transposed map", t, y, 1, (double[]){1, 4, 2, 5, 3, 6}, 0);
}

/* Row sums + init 10, and row max from init -inf: loops (i, k), k reduction. */
static void reduce_case(const char *what, BodyOpKind k, double init, const double *want) {
  TensorType in = TT(KILN_F32, 2, 3);
  OneOp o = one_op(KILN_OP_GENERIC, 1, &in, TT(KILN_F32, 2));
  OpAttrs *a = &o.op->attrs;
  a->n_loops = 2;
  a->iterators[1] = ITER_REDUCTION;
  a->n_maps = 2;
  a->maps = arena_alloc(&o.m->arena, sizeof(AffineMap) * 2);
  a->maps[0] = affine_identity(2);
  a->maps[1] = (AffineMap){.n_results = 1};
  a->maps[1].results[0].coef[0] = 1;
  a->init = arena_alloc(&o.m->arena, sizeof(double));
  a->init[0] = init;
  a->body = body_new(o.m, 3, 1);
  a->body.insts[0] = I_ARG(KILN_F32, 0);
  a->body.insts[1] = I_ARG(KILN_F32, 1);
  a->body.insts[2] = I_OP(k, KILN_F32, 2, 0, 1, 0);
  a->body.yields[0] = 2;
  Tensor *x[1] = {tvals(in, (double[]){1, 5, 3, -4, -6, -5})};
  run_check(what, o, x, 1, want, 0);
}

static void test_reduction(void) {
  reduce_case("sum + init", BODY_ADD, 10, (double[]){19, -5});
  reduce_case("max from -inf", BODY_MAX, -INFINITY, (double[]){5, -4});
}

/* --- driver --------------------------------------------------------------------------- */

static void test_wrong_input(void) {
  TensorType in = TT(KILN_F32, 1, 3, 224, 224);
  OneOp o = one_op(KILN_OP_RESHAPE, 1, &in, TT(KILN_F32, 3, 224, 224));
  Tensor *x = tensor_new(TT(KILN_F32, 1, 3, 224, 225));
  run_fails(o.f, &x, KILN_ERR_INVALID,
            "input 0 'x0': expected tensor<1x3x224x224xf32>, got tensor<1x3x224x225xf32>");
  tensor_free(x);
  x = tensor_new(TT(KILN_I8, 1, 3, 224, 224));
  run_fails(o.f, &x, KILN_ERR_INVALID, "got tensor<1x3x224x224xi8>");
  tensor_free(x);
  module_free(o.m);
}

static void test_constants(void) {
  Module *m = module_new();
  Func *f = func_new(m, "main");
  m->main = f;
  TensorType t = TT(KILN_F32, 2);
  Value *x = func_add_arg(f, t, "x");
  int ci = module_add_const(m, "w", t, (float[]){3, 4});
  int ce = module_add_const(m, "elided", t, NULL);
  Value *w = op_const(f, ci);
  /* y = x + w via a 2-input generic; results (y, y, w, x) exercise copies */
  Op *g = op_new(f, KILN_OP_GENERIC, "add", 2, (Value *[]){x, w}, 1, &t, NULL);
  g->attrs.n_loops = 1;
  g->attrs.n_maps = 3;
  g->attrs.maps = arena_alloc(&m->arena, sizeof(AffineMap) * 3);
  for (int i = 0; i < 3; i++) g->attrs.maps[i] = affine_identity(1);
  g->attrs.body = body_new(m, 3, 1);
  g->attrs.body.insts[0] = I_ARG(KILN_F32, 0);
  g->attrs.body.insts[1] = I_ARG(KILN_F32, 1);
  g->attrs.body.insts[2] = I_OP(BODY_ADD, KILN_F32, 2, 0, 1, 0);
  g->attrs.body.yields[0] = 2;
  func_set_results(f, 4, (Value *[]){g->out[0], g->out[0], w, x}, NULL);
  Tensor *in = tvals(t, (double[]){1, 2}), *out[4] = {0};
  Diag d = {0};
  CHECK_EQ_I(KILN_OK, interp_run(f, &in, out, &d));
  check_close("y", out[0], (double[]){4, 6}, 2, 0);
  check_close("y again", out[1], (double[]){4, 6}, 2, 0);
  check_close("w", out[2], (double[]){3, 4}, 2, 0);
  check_close("x", out[3], (double[]){1, 2}, 2, 0);
  CHECK(out[0] != out[1] && out[3] != in && out[2]->data != m->consts[ci].data);
  for (int i = 0; i < 4; i++) tensor_free(out[i]);
  /* an elided constant is an error, and no output is left behind */
  Value *e = op_const(f, ce);
  func_set_results(f, 2, (Value *[]){g->out[0], e}, NULL);
  run_fails(f, &in, KILN_ERR_INVALID, "constant 'elided' has no data (elided in text)");
  tensor_free(in);
  module_free(m);
}

/* main(x) { r = dispatch(x) { y = x + x } ; return r } */
static void test_dispatch(void) {
  Module *m = module_new();
  Func *f = func_new(m, "main"), *r = func_new(m, "region");
  m->main = f;
  TensorType t = TT(KILN_F32, 3);
  Value *x = func_add_arg(f, t, "x"), *rx = func_add_arg(r, t, "rx");
  Op *g = op_new(r, KILN_OP_GENERIC, "dbl", 2, (Value *[]){rx, rx}, 1, &t, NULL);
  g->attrs.n_loops = 1;
  g->attrs.n_maps = 3;
  g->attrs.maps = arena_alloc(&m->arena, sizeof(AffineMap) * 3);
  for (int i = 0; i < 3; i++) g->attrs.maps[i] = affine_identity(1);
  g->attrs.body = body_new(m, 3, 1);
  g->attrs.body.insts[0] = I_ARG(KILN_F32, 0);
  g->attrs.body.insts[1] = I_ARG(KILN_F32, 1);
  g->attrs.body.insts[2] = I_OP(BODY_ADD, KILN_F32, 2, 0, 1, 0);
  g->attrs.body.yields[0] = 2;
  func_set_results(r, 1, g->out, NULL);
  Op *dop = op_new(f, KILN_OP_DISPATCH, "dispatch0", 1, &x, 1, &t, NULL);
  dop->attrs.region = r;
  func_set_results(f, 1, dop->out, NULL);
  Tensor *in[1] = {tvals(t, (double[]){1, -2, 3})};
  Tensor *y = run1(f, in);
  check_close("dispatch", y, (double[]){2, -4, 6}, 3, 0);
  tensor_free(y);
  tensor_free(in[0]);
  module_free(m);
}

static void test_sizes(void) {
  CHECK(tensor_new(TT(KILN_F32, INT64_MAX / 2, 4)) == NULL);
  TensorType in = TT(KILN_F32, 2);
  OneOp o = one_op(KILN_OP_PAD, 1, &in, TT(KILN_F32, INT64_MAX / 2));
  o.op->attrs.pad_hi[0] = INT64_MAX / 2 - 2;
  Tensor *x = tensor_new(in);
  run_fails(o.f, &x, KILN_ERR_LIMIT, "too large");
  tensor_free(x);
  module_free(o.m);
  /* a malformed body is an error, not a crash */
  DType f = KILN_F32;
  BodyInst bad[2] = {I_ARG(f, 5), I_OP(BODY_NEG, f, 1, 0, 0, 0)};
  OneOp ob = ew_generic(1, &f, f, 2, bad, 2);
  Tensor *xb = tensor_new(TT(f, 2));
  run_fails(ob.f, &xb, KILN_ERR_INVALID, "malformed body instruction 0");
  tensor_free(xb);
  module_free(ob.m);
}

int main(void) {
  test_float_unary();
  test_float_binary();
  test_int_ops();
  test_casts();
  test_cmp_select();
  test_generic_maps();
  test_reduction();
  test_wrong_input();
  test_constants();
  test_dispatch();
  test_sizes();
  return check_report("test_interp");
}
