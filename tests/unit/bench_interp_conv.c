/* bench_interp_conv.c — speed smoke test of the reference interpreter's conv loops on
 * shapes from DeepLabV3 / MobileNetV2 at 513x513. Not a ctest test (the glob takes
 * test_*.c only) and it asserts nothing: it prints time and GFLOP/s per shape.
 * Build: gcc -O2 -Isrc -Itests/unit with the sources of src/support, src/ir/ir.c,
 * src/ir/types.c and src/interp, plus this file, -lm. */
#include <time.h>

#include "test_interp_util.h"

typedef struct Shape {
  const char *name;
  int64_t C, H, F, K, stride, dil, pad;
  bool dw;
} Shape;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void bench(const Shape *s, bool nhwc) {
  int64_t OH = (s->H + 2 * s->pad - s->dil * (s->K - 1) - 1) / s->stride + 1;
  int64_t F = s->dw ? s->C : s->F;
  TensorType in[2];
  in[0] = nhwc ? TT(KILN_F32, 1, s->H, s->H, s->C) : TT(KILN_F32, 1, s->C, s->H, s->H);
  if (s->dw) in[1] = nhwc ? TT(KILN_F32, s->K, s->K, s->C) : TT(KILN_F32, s->C, s->K, s->K);
  else in[1] = nhwc ? TT(KILN_F32, s->K, s->K, s->C, F) : TT(KILN_F32, F, s->C, s->K, s->K);
  TensorType out = nhwc ? TT(KILN_F32, 1, OH, OH, F) : TT(KILN_F32, 1, F, OH, OH);
  OneOp o = one_op(s->dw ? KILN_OP_DEPTHWISE_CONV2D : KILN_OP_CONV2D, 2, in, out);
  OpAttrs *a = &o.op->attrs;
  a->layout = nhwc ? LAYOUT_NHWC : LAYOUT_NCHW;
  a->kernel[0] = a->kernel[1] = s->K;
  a->strides[0] = a->strides[1] = s->stride;
  a->dilations[0] = a->dilations[1] = s->dil;
  for (int i = 0; i < 4; i++) a->pads[i] = s->pad;
  Tensor *ins[2] = {trand(in[0]), trand(in[1])};
  double t0 = now();
  Tensor *y = run1(o.f, ins);
  double t = now() - t0;
  double flop = 2.0 * (double)(OH * OH * F) * (double)(s->K * s->K * (s->dw ? 1 : s->C));
  printf("%-28s %s %8.1f ms %6.2f GFLOP/s (%.3f GFLOP)\n", s->name, nhwc ? "NHWC" : "NCHW",
         t * 1e3, flop / t * 1e-9, flop * 1e-9);
  tensor_free(y);
  tensor_free(ins[0]), tensor_free(ins[1]);
  module_free(o.m);
}

/* relu6 generic (min(max(x, 0), 6)) over 96x257x257 with a broadcast bias add. */
static void bench_generic(void) {
  TensorType in[2] = {TT(KILN_F32, 1, 96, 257, 257), TT(KILN_F32, 96, 1, 1)};
  OneOp o = one_op(KILN_OP_GENERIC, 2, in, in[0]);
  OpAttrs *a = &o.op->attrs;
  a->n_loops = 4;
  a->n_maps = 3;
  a->maps = arena_alloc(&o.m->arena, sizeof(AffineMap) * 3);
  a->maps[0] = a->maps[2] = affine_identity(4);
  a->maps[1] = affine_broadcast(3, in[1].dims, 4, in[0].dims);
  a->body = body_new(o.m, 7, 1);
  BodyInst *b = a->body.insts;
  b[0] = (BodyInst){.kind = BODY_ARG, .dtype = KILN_F32, .imm_i = 0};
  b[1] = (BodyInst){.kind = BODY_ARG, .dtype = KILN_F32, .imm_i = 1};
  b[2] = (BodyInst){.kind = BODY_ADD, .dtype = KILN_F32, .n_args = 2, .args = {0, 1}};
  b[3] = (BodyInst){.kind = BODY_CONST, .dtype = KILN_F32, .imm = 0};
  b[4] = (BodyInst){.kind = BODY_CONST, .dtype = KILN_F32, .imm = 6};
  b[5] = (BodyInst){.kind = BODY_MAX, .dtype = KILN_F32, .n_args = 2, .args = {2, 3}};
  b[6] = (BodyInst){.kind = BODY_MIN, .dtype = KILN_F32, .n_args = 2, .args = {5, 4}};
  a->body.yields[0] = 6;
  Tensor *ins[2] = {trand(in[0]), trand(in[1])};
  double t0 = now();
  Tensor *y = run1(o.f, ins);
  double t = now() - t0;
  printf("%-28s      %8.1f ms %6.1f ns/element\n", "generic bias+relu6 96x257^2", t * 1e3,
         t * 1e9 / (double)type_numel(&in[0]));
  tensor_free(y);
  tensor_free(ins[0]), tensor_free(ins[1]);
  module_free(o.m);
}

int main(void) {
  bench_generic();
  static const Shape shapes[] = {
    {"stem 3x3 s2 3->32 @513", 3, 513, 32, 3, 2, 1, 1, false},
    {"dw 3x3 32 @257", 32, 257, 0, 3, 1, 1, 1, true},
    {"1x1 32->16 @257", 32, 257, 16, 1, 1, 1, 0, false},
    {"1x1 16->96 @257", 16, 257, 96, 1, 1, 1, 0, false},
    {"dw 3x3 s2 96 @257", 96, 257, 0, 3, 2, 1, 1, true},
    {"1x1 144->24 @129", 144, 129, 24, 1, 1, 1, 0, false},
    {"dw 3x3 dil2 576 @65", 576, 65, 0, 3, 1, 2, 2, true},
    {"1x1 960->160 @65", 960, 65, 160, 1, 1, 1, 0, false},
    {"1x1 320->256 @65", 320, 65, 256, 1, 1, 1, 0, false},
    {"3x3 dil12 256->256 @65", 256, 65, 256, 3, 1, 12, 12, false},
  };
  for (size_t i = 0; i < ARRAY_LEN(shapes); i++)
    for (int nhwc = 0; nhwc < 2; nhwc++) bench(&shapes[i], nhwc);
  return check_report("bench_interp_conv");
}
