/* test_interp_data.c — resize (nearest in every nearest_mode, linear, every coordinate
 * mode, multi-dim with a scale-1 dim), argmax, gather (negative index, out of range),
 * transpose, pad (constant / reflect / edge / negative), reshape / collapse / expand,
 * extract_slice (negative step), concat. Expected values computed by hand from the ONNX
 * formulas (see the comments next to each case). */
#include <stdint.h>

#include "test_interp_util.h"

static void resize1(const char *what, ResizeMode rm, CoordMode cm, NearestMode nm,
                    int64_t in_n, int64_t out_n, double scale, const double *x,
                    const double *want) {
  TensorType in = TT(KILN_F32, in_n);
  OneOp o = one_op(KILN_OP_RESIZE, 1, &in, TT(KILN_F32, out_n));
  o.op->attrs.resize_mode = rm;
  o.op->attrs.coord_mode = cm;
  o.op->attrs.nearest_mode = nm;
  o.op->attrs.scales[0] = scale;
  Tensor *t[1] = {tvals(in, x)};
  run_check(what, o, t, 1, want, 1e-6);
}

static void test_resize_1d(void) {
  const double x[4] = {1, 2, 3, 4}, n[4] = {10, 20, 30, 40};
  ResizeMode L = RESIZE_LINEAR, N = RESIZE_NEAREST;
  /* half_pixel: x = o/2 - 0.25, clamped to [0, 3] */
  resize1("linear half_pixel up", L, COORD_HALF_PIXEL, 0, 4, 8, 2, x,
          (double[]){1, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4});
  resize1("linear half_pixel down", L, COORD_HALF_PIXEL, 0, 4, 2, 0.5, x, (double[]){1.5, 3.5});
  double ac[8];
  for (int i = 0; i < 8; i++) ac[i] = 1 + 3.0 * i / 7;
  resize1("linear align_corners", L, COORD_ALIGN_CORNERS, 0, 4, 8, 2, x, ac);
  /* align_corners by scale 0.6: out = 2, but the reference divides by scale*in - 1 = 1.4 */
  resize1("linear align_corners scale", L, COORD_ALIGN_CORNERS, 0, 4, 2, 0.6, x,
          (double[]){1, 1 + 3 / 1.4});
  resize1("linear asymmetric", L, COORD_ASYMMETRIC, 0, 4, 8, 2, x,
          (double[]){1, 1.5, 2, 2.5, 3, 3.5, 4, 4});
  /* one output: half_pixel samples the middle, pytorch_half_pixel the first element */
  resize1("linear half_pixel to 1", L, COORD_HALF_PIXEL, 0, 4, 1, 0.25, x, (double[]){2.5});
  resize1("linear pytorch to 1", L, COORD_PYTORCH_HALF_PIXEL, 0, 4, 1, 0.25, x, (double[]){1});
  resize1("linear pytorch up", L, COORD_PYTORCH_HALF_PIXEL, 0, 4, 8, 2, x,
          (double[]){1, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4});
  /* nearest, asymmetric x = o/2: ties at .5 */
  resize1("nearest asym prefer_floor", N, COORD_ASYMMETRIC, NEAREST_ROUND_PREFER_FLOOR, 4, 8, 2,
          n, (double[]){10, 10, 20, 20, 30, 30, 40, 40});
  resize1("nearest asym prefer_ceil", N, COORD_ASYMMETRIC, NEAREST_ROUND_PREFER_CEIL, 4, 8, 2,
          n, (double[]){10, 20, 20, 30, 30, 40, 40, 40});
  resize1("nearest asym floor", N, COORD_ASYMMETRIC, NEAREST_FLOOR, 4, 8, 2, n,
          (double[]){10, 10, 20, 20, 30, 30, 40, 40});
  /* half_pixel x = o/2 - 0.25: no ties; ceil differs from round */
  resize1("nearest half_pixel ceil", N, COORD_HALF_PIXEL, NEAREST_CEIL, 4, 8, 2, n,
          (double[]){10, 20, 20, 30, 30, 40, 40, 40});
  resize1("nearest half_pixel prefer_ceil", N, COORD_HALF_PIXEL, NEAREST_ROUND_PREFER_CEIL, 4,
          8, 2, n, (double[]){10, 10, 20, 20, 30, 30, 40, 40});
  resize1("nearest align_corners", N, COORD_ALIGN_CORNERS, NEAREST_ROUND_PREFER_FLOOR, 4, 8, 2,
          n, (double[]){10, 10, 20, 20, 30, 30, 40, 40});
  resize1("nearest down", N, COORD_ASYMMETRIC, NEAREST_FLOOR, 4, 2, 0.5, n, (double[]){10, 30});
}

/* [1,2,2,2] channel c = 10c + [[1,2],[3,4]] -> [1,2,4,4] bilinear half_pixel: per dim the
 * source coordinates are 0, .25, .75, 1 and the data is linear: v = 10c + 1 + 2y + x. */
static void test_resize_2d(void) {
  TensorType in = TT(KILN_F32, 1, 2, 2, 2);
  OneOp o = one_op(KILN_OP_RESIZE, 1, &in, TT(KILN_F32, 1, 2, 4, 4));
  OpAttrs *a = &o.op->attrs;
  a->resize_mode = RESIZE_LINEAR;
  a->coord_mode = COORD_HALF_PIXEL;
  a->scales[0] = a->scales[1] = 1, a->scales[2] = a->scales[3] = 2;
  const double f[4] = {0, 0.25, 0.75, 1};
  double want[32];
  for (int c = 0; c < 2; c++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 4; x++) want[(c * 4 + y) * 4 + x] = 10 * c + 1 + 2 * f[y] + f[x];
  Tensor *t[1] = {tvals(in, (double[]){1, 2, 3, 4, 11, 12, 13, 14})};
  run_check("bilinear 2d", o, t, 1, want, 1e-6);
}

static void test_argmax(void) {
  TensorType in = TT(KILN_F32, 2, 3);
  const double x[6] = {1, 5, 5, 7, 2, 7};
  for (int last = 0; last < 2; last++) {
    OneOp o = one_op(KILN_OP_ARGMAX, 1, &in, TT(KILN_I64, 2, 1));
    o.op->attrs.axis = 1;
    o.op->attrs.keepdims = true;
    o.op->attrs.select_last_index = last;
    Tensor *t[1] = {tvals(in, x)};
    run_check(last ? "argmax last" : "argmax first", o, t, 1,
              last ? (double[]){2, 2} : (double[]){1, 0}, 0);
  }
  OneOp o = one_op(KILN_OP_ARGMAX, 1, &in, TT(KILN_I64, 3));
  o.op->attrs.axis = -2;
  Tensor *t[1] = {tvals(in, x)};
  run_check("argmax axis 0 no keepdims", o, t, 1, (double[]){1, 0, 1}, 0);
}

static void test_gather(void) {
  TensorType in[2] = {TT(KILN_F32, 3, 2), TT(KILN_I64, 2)};
  const double data[6] = {1, 2, 3, 4, 5, 6};
  OneOp o = one_op(KILN_OP_GATHER, 2, in, TT(KILN_F32, 2, 2));
  Tensor *t[2] = {tvals(in[0], data), tvals(in[1], (double[]){-1, 0})};
  run_check("gather negative index", o, t, 2, (double[]){5, 6, 1, 2}, 0);
  TensorType in1[2] = {TT(KILN_F32, 3, 2), TT(KILN_I32, 2, 1)};
  o = one_op(KILN_OP_GATHER, 2, in1, TT(KILN_F32, 3, 2, 1));
  o.op->attrs.axis = 1;
  Tensor *t1[2] = {tvals(in1[0], data), tvals(in1[1], (double[]){1, 0})};
  run_check("gather axis 1", o, t1, 2, (double[]){2, 1, 4, 3, 6, 5}, 0);
  o = one_op(KILN_OP_GATHER, 2, in, TT(KILN_F32, 2, 2));
  Tensor *t2[2] = {tvals(in[0], data), tvals(in[1], (double[]){3, 0})};
  run_fails(o.f, t2, KILN_ERR_INVALID, "kiln.gather 'op1': index 3 out of range [-3, 3)");
  tensor_free(t2[0]), tensor_free(t2[1]);
  module_free(o.m);
}

static void test_transpose(void) {
  TensorType in = TT(KILN_F32, 2, 3, 4);
  OneOp o = one_op(KILN_OP_TRANSPOSE, 1, &in, TT(KILN_F32, 4, 2, 3));
  int64_t perm[3] = {2, 0, 1};
  memcpy(o.op->attrs.perm, perm, sizeof perm);
  double x[24], want[24];
  for (int i = 0; i < 24; i++) x[i] = i;
  for (int i = 0; i < 4; i++) /* out[i][j][k] = in[j][k][i] */
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++) want[(i * 2 + j) * 3 + k] = (j * 3 + k) * 4 + i;
  Tensor *t[1] = {tvals(in, x)};
  run_check("transpose 201", o, t, 1, want, 0);
}

static void pad_case(const char *what, DType dt, PadMode m, int64_t lo, int64_t hi, double v,
                     const double *want) {
  TensorType in = TT(dt, 3);
  OneOp o = one_op(KILN_OP_PAD, 1, &in, TT(dt, 3 + lo + hi));
  o.op->attrs.pad_mode = m;
  o.op->attrs.pad_lo[0] = lo, o.op->attrs.pad_hi[0] = hi, o.op->attrs.pad_value = v;
  Tensor *t[1] = {tvals(in, (double[]){1, 2, 3})};
  run_check(what, o, t, 1, want, 0);
}

static void test_pad(void) {
  pad_case("pad constant", KILN_F32, PAD_CONSTANT, 2, 1, 9, (double[]){9, 9, 1, 2, 3, 9});
  pad_case("pad constant i8", KILN_I8, PAD_CONSTANT, 1, 1, -3, (double[]){-3, 1, 2, 3, -3});
  pad_case("pad reflect", KILN_F32, PAD_REFLECT, 2, 2, 0, (double[]){3, 2, 1, 2, 3, 2, 1});
  pad_case("pad reflect wide", KILN_F32, PAD_REFLECT, 4, 0, 0, (double[]){1, 2, 3, 2, 1, 2, 3});
  pad_case("pad edge", KILN_F32, PAD_EDGE, 2, 1, 0, (double[]){1, 1, 1, 2, 3, 3});
  pad_case("pad negative crops", KILN_F32, PAD_CONSTANT, -1, 1, 0, (double[]){2, 3, 0});
  /* 2-D reflect: rows lo 1, cols hi 1 */
  TensorType in = TT(KILN_F32, 2, 2);
  OneOp o = one_op(KILN_OP_PAD, 1, &in, TT(KILN_F32, 3, 3));
  o.op->attrs.pad_mode = PAD_REFLECT;
  o.op->attrs.pad_lo[0] = 1, o.op->attrs.pad_hi[1] = 1;
  Tensor *t[1] = {tvals(in, (double[]){1, 2, 3, 4})};
  run_check("pad reflect 2d", o, t, 1, (double[]){3, 4, 3, 1, 2, 1, 3, 4, 3}, 0);
}

static void test_reshapes(void) {
  const double x[6] = {1, 2, 3, 4, 5, 6};
  OpKind kinds[3] = {KILN_OP_RESHAPE, KILN_OP_COLLAPSE_SHAPE, KILN_OP_EXPAND_SHAPE};
  TensorType ins[3] = {TT(KILN_F32, 2, 3), TT(KILN_F32, 2, 3, 1), TT(KILN_F32, 6)};
  TensorType outs[3] = {TT(KILN_F32, 3, 2), TT(KILN_F32, 6), TT(KILN_F32, 1, 6)};
  for (int k = 0; k < 3; k++) {
    OneOp o = one_op(kinds[k], 1, &ins[k], outs[k]);
    o.op->attrs.n_reassoc = 1;
    o.op->attrs.reassoc[0] = k == 1 ? 3 : 2;
    Tensor *t[1] = {tvals(ins[k], x)};
    run_check("reshape-like copy", o, t, 1, x, 0);
  }
}

static void test_slice(void) {
  TensorType in = TT(KILN_F32, 2, 5);
  double x[10];
  for (int i = 0; i < 10; i++) x[i] = i;
  OneOp o = one_op(KILN_OP_EXTRACT_SLICE, 1, &in, TT(KILN_F32, 1, 3));
  o.op->attrs.offsets[0] = 1, o.op->attrs.offsets[1] = 4;
  o.op->attrs.steps[0] = 1, o.op->attrs.steps[1] = -2;
  Tensor *t[1] = {tvals(in, x)};
  run_check("slice negative step", o, t, 1, (double[]){9, 7, 5}, 0);
  o = one_op(KILN_OP_EXTRACT_SLICE, 1, &in, TT(KILN_F32, 2, 3));
  o.op->attrs.offsets[1] = 1, o.op->attrs.steps[1] = 2;
  Tensor *t2[1] = {tvals(in, x)};
  run_fails(o.f, t2, KILN_ERR_INVALID, "slice of dim 1 leaves the operand");
  tensor_free(t2[0]);
  module_free(o.m);
}

static void test_concat(void) {
  TensorType in[3] = {TT(KILN_F32, 2, 1), TT(KILN_F32, 2, 2), TT(KILN_F32, 2, 0)};
  for (int ax = 1; ax >= -1; ax -= 2) {
    OneOp o = one_op(KILN_OP_CONCAT, 3, in, TT(KILN_F32, 2, 3));
    o.op->attrs.axis = ax;
    Tensor *t[3] = {tvals(in[0], (double[]){1, 2}), tvals(in[1], (double[]){3, 4, 5, 6}),
                    tensor_new(in[2])};
    run_check("concat axis 1", o, t, 3, (double[]){1, 3, 4, 2, 5, 6}, 0);
  }
  TensorType in0[2] = {TT(KILN_I8, 1, 2), TT(KILN_I8, 2, 2)};
  OneOp o = one_op(KILN_OP_CONCAT, 2, in0, TT(KILN_I8, 3, 2));
  Tensor *t[2] = {tvals(in0[0], (double[]){1, 2}), tvals(in0[1], (double[]){3, 4, 5, 6})};
  run_check("concat axis 0 i8", o, t, 2, (double[]){1, 2, 3, 4, 5, 6}, 0);
}

int main(void) {
  test_resize_1d();
  test_resize_2d();
  test_argmax();
  test_gather();
  test_transpose();
  test_pad();
  test_reshapes();
  test_slice();
  test_concat();
  return check_report("test_interp_data");
}
