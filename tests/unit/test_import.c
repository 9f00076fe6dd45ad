/* test_import.c — the ONNX importer on small models built in C (import_build.h).
 *
 * Each test builds a graph, imports it and checks the IR op kinds, types and attributes:
 * conv with every auto_pad, depthwise detection, shape-chain folding, Resize by sizes,
 * Softmax decomposition, QDQ per-axis, Slice with a negative step, BN, Gemm ... Then
 * every error path: the message must say where and what, and nothing may leak (the
 * test runs under ASan in the sanitizer build). */
#include <unistd.h>

#include "check.h"
#include "import_build.h"

static const int64_t X4[4] = {1, 3, 8, 8};

static Module *import_ok(MB *b) {
  Module *m = NULL;
  Diag d = {0};
  KilnStatus st = mb_import(b, &m, &d);
  if (st) fprintf(stderr, "unexpected import error: %s\n", d.msg);
  CHECK_EQ_I(KILN_OK, st);
  return m;
}

static void import_fails(MB *b, KilnStatus want, const char *needle) {
  Module *m = NULL;
  Diag d = {0};
  KilnStatus st = mb_import(b, &m, &d);
  CHECK_EQ_I(want, st);
  CHECK(m == NULL);
  CHECK_STR_CONTAINS(d.msg, needle);
  module_free(m);
}

/* x[1,3,H,W] -> Conv(w [F,3/g,k,k]) -> y */
static Onnx__NodeProto *conv_model(MB *b, int64_t h, int64_t f, int64_t cin_g, int64_t k) {
  mb_init(b, 13);
  int64_t xd[4] = {1, 3, h, h}, wd[4] = {f, cin_g, k, k};
  mb_input(b, "x", MB_F, 4, xd);
  mb_init_f(b, "w", 4, wd, NULL);
  mb_output(b, "y");
  return mb_node(b, "Conv", "conv1", "x,w", "y");
}

static void test_conv_auto_pad(void) {
  static const struct { const char *mode; int64_t k, s, h, pads[4], out; } cases[] = {
    {"SAME_UPPER", 3, 2, 7, {1, 1, 1, 1}, 4},
    {"SAME_UPPER", 2, 1, 5, {0, 0, 1, 1}, 5},
    {"SAME_LOWER", 2, 1, 5, {1, 1, 0, 0}, 5},
    {"VALID", 3, 1, 5, {0, 0, 0, 0}, 3},
    {"NOTSET", 3, 1, 5, {0, 0, 0, 0}, 3},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    MB b;
    Onnx__NodeProto *n = conv_model(&b, cases[i].h, 4, 3, cases[i].k);
    mb_attr_s(&b, n, "auto_pad", cases[i].mode);
    int64_t s[2] = {cases[i].s, cases[i].s};
    mb_attr_ints(&b, n, "strides", 2, s);
    Module *m = import_ok(&b);
    if (!m) continue;
    const Op *op = find_op(m, KILN_OP_CONV2D, 0);
    CHECK(op != NULL);
    if (op) {
      for (int j = 0; j < 4; j++) CHECK_EQ_I(cases[i].pads[j], op->attrs.pads[j]);
      int64_t want[4] = {1, 4, cases[i].out, cases[i].out};
      CHECK(dims_are(&op->out[0]->type, 4, want));
    }
    module_free(m);
  }
}

static void test_conv_bias_dilation(void) {
  MB b;
  mb_init(&b, 11);
  int64_t wd[4] = {4, 3, 3, 3}, bd = 4;
  mb_input(&b, "x", MB_F, 4, X4);
  mb_init_f(&b, "w", 4, wd, NULL);
  mb_init_f(&b, "bias", 1, &bd, NULL);
  mb_output(&b, "y");
  Onnx__NodeProto *n = mb_node(&b, "Conv", "c", "x,w,bias", "y");
  int64_t dl[2] = {2, 2}, pads[4] = {2, 2, 2, 2};
  mb_attr_ints(&b, n, "dilations", 2, dl);
  mb_attr_ints(&b, n, "pads", 4, pads);
  Module *m = import_ok(&b);
  const Op *op = m ? find_op(m, KILN_OP_CONV2D, 0) : NULL;
  CHECK(op && op->n_in == 3 && op->attrs.dilations[0] == 2);
  int64_t want[4] = {1, 4, 8, 8};
  if (op) CHECK(dims_are(&op->out[0]->type, 4, want));
  CHECK(m && m->main->n_args == 1); /* initializers are not arguments */
  module_free(m);
}

static void test_depthwise_and_groups(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {4, 1, 3, 3}, gd[4] = {4, 2, 3, 3};
  mb_input(&b, "x", MB_F, 4, xd);
  mb_init_f(&b, "w", 4, wd, NULL);
  mb_init_f(&b, "wg", 4, gd, NULL);
  mb_output(&b, "z");
  Onnx__NodeProto *n = mb_node(&b, "Conv", "dw", "x,w", "y");
  mb_attr_i(&b, n, "group", 4);
  n = mb_node(&b, "Conv", "grouped", "y,wg", "z");
  mb_attr_i(&b, n, "group", 2);
  Module *m = import_ok(&b);
  if (!m) return;
  const Op *dw = find_op(m, KILN_OP_DEPTHWISE_CONV2D, 0), *g = find_op(m, KILN_OP_CONV2D, 0);
  CHECK(dw != NULL && g != NULL);
  int64_t w3[3] = {4, 3, 3}, y[4] = {1, 4, 4, 4}, z[4] = {1, 4, 2, 2};
  if (dw) {
    CHECK(dims_are(&dw->in[1]->type, 3, w3));
    CHECK(dw->in[1]->def && dw->in[1]->def->kind == KILN_OP_CONSTANT);
    CHECK(dims_are(&dw->out[0]->type, 4, y));
    const Constant *c = &m->consts[dw->in[1]->def->attrs.const_index];
    CHECK_NEAR(10.0, ((const float *)c->data)[10], 0);
  }
  if (g) {
    CHECK_EQ_I(2, g->attrs.groups);
    CHECK(dims_are(&g->out[0]->type, 4, z));
  }
  module_free(m);
}

/* PyTorch's flatten: Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape. */
static void test_shape_chain_folds(void) {
  MB b;
  mb_init(&b, 13);
  mb_input(&b, "x", MB_F, 4, X4);
  int64_t zero = 0, minus1 = -1;
  int64_t sd0 = 0;
  mb_init_i64(&b, "i0", 0, &sd0, &zero);
  mb_ints(&b, "ax0", 1, &zero);
  mb_ints(&b, "m1", 1, &minus1);
  mb_output(&b, "y");
  mb_node(&b, "Shape", "shape", "x", "s");
  mb_node(&b, "Gather", "gather", "s,i0", "g");
  mb_node(&b, "Unsqueeze", "unsq", "g,ax0", "u");
  Onnx__NodeProto *c = mb_node(&b, "Concat", "cat", "u,m1", "shp");
  mb_attr_i(&b, c, "axis", 0);
  mb_node(&b, "Reshape", "reshape", "x,shp", "y");
  Module *m = import_ok(&b);
  if (!m) return;
  CHECK_EQ_I(1, count_ops(m, KILN_OP_RESHAPE));
  CHECK_EQ_I(0, count_ops(m, KILN_OP_GATHER));
  CHECK_EQ_I(0, count_ops(m, KILN_OP_CONCAT));
  CHECK_EQ_I(0, count_ops(m, KILN_OP_CONSTANT));
  int64_t want[2] = {1, 192};
  CHECK(dims_are(&m->main->results[0]->type, 2, want));
  module_free(m);
}

static void test_resize_sizes(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[4] = {1, 2, 4, 4}, sizes[4] = {1, 2, 9, 9};
  mb_input(&b, "x", MB_F, 4, xd);
  mb_ints(&b, "sizes", 4, sizes);
  mb_output(&b, "y");
  Onnx__NodeProto *n = mb_node(&b, "Resize", "rs", "x,,,sizes", "y");
  mb_attr_s(&b, n, "mode", "linear");
  mb_attr_s(&b, n, "coordinate_transformation_mode", "align_corners");
  Module *m = import_ok(&b);
  const Op *op = m ? find_op(m, KILN_OP_RESIZE, 0) : NULL;
  CHECK(op != NULL);
  if (op) {
    CHECK(dims_are(&op->out[0]->type, 4, sizes));
    CHECK_EQ_I(RESIZE_LINEAR, op->attrs.resize_mode);
    CHECK_EQ_I(COORD_ALIGN_CORNERS, op->attrs.coord_mode);
    CHECK_NEAR(2.25, op->attrs.scales[2], 1e-12);
  }
  module_free(m);
}

static void test_resize_scales_nearest(void) {
  MB b;
  mb_init(&b, 11);
  int64_t xd[4] = {1, 2, 3, 5}, sd = 4, rd = 0;
  float sc[4] = {1, 1, 2, 1.5f};
  mb_input(&b, "x", MB_F, 4, xd);
  mb_init_f(&b, "roi", 1, &rd, NULL);
  mb_init_f(&b, "scales", 1, &sd, sc);
  mb_output(&b, "y");
  Onnx__NodeProto *n = mb_node(&b, "Resize", "rs", "x,roi,scales", "y");
  mb_attr_s(&b, n, "nearest_mode", "floor");
  mb_attr_s(&b, n, "coordinate_transformation_mode", "asymmetric");
  Module *m = import_ok(&b);
  const Op *op = m ? find_op(m, KILN_OP_RESIZE, 0) : NULL;
  int64_t want[4] = {1, 2, 6, 7};
  CHECK(op && dims_are(&op->out[0]->type, 4, want) && op->attrs.nearest_mode == NEAREST_FLOOR);
  module_free(m);
}

static void test_softmax(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[2] = {2, 5};
  mb_input(&b, "x", MB_F, 2, xd);
  mb_output(&b, "y");
  mb_node(&b, "Softmax", "sm", "x", "y");
  Module *m = import_ok(&b);
  if (!m) return;
  CHECK_EQ_I(4, count_ops(m, KILN_OP_GENERIC));
  const Op *mx = find_op(m, KILN_OP_GENERIC, 0), *sum = find_op(m, KILN_OP_GENERIC, 2);
  CHECK(mx && mx->attrs.iterators[1] == ITER_REDUCTION && mx->attrs.iterators[0] == ITER_PARALLEL);
  CHECK(mx && isinf(mx->attrs.init[0]) && mx->attrs.init[0] < 0);
  CHECK(sum && sum->attrs.init[0] == 0 && sum->attrs.body.insts[2].kind == BODY_ADD);
  int64_t red[2] = {2, 1};
  CHECK(mx && dims_are(&mx->out[0]->type, 2, red));
  CHECK(dims_are(&m->main->results[0]->type, 2, xd));
  module_free(m);

  mb_init(&b, 11); /* opset < 13: flatten at axis 1 of a 3-D input -> reduce dims 1 and 2 */
  int64_t x3[3] = {2, 3, 4};
  mb_input(&b, "x", MB_F, 3, x3);
  mb_output(&b, "y");
  mb_node(&b, "Softmax", "sm", "x", "y");
  m = import_ok(&b);
  mx = m ? find_op(m, KILN_OP_GENERIC, 0) : NULL;
  CHECK(mx && mx->attrs.iterators[1] == ITER_REDUCTION && mx->attrs.iterators[2] == ITER_REDUCTION);
  module_free(m);
}

static void test_qdq_per_axis(void) {
  MB b;
  mb_init(&b, 13);
  int64_t wd[2] = {4, 3}, sd = 4, xd[2] = {2, 3};
  Onnx__TensorProto *w = mb_tensor(&b, "w", MB_I8, 2, wd);
  w->n_int32_data = 12;
  w->int32_data = mb_alloc(&b, 12 * sizeof(int32_t));
  for (int i = 0; i < 12; i++) w->int32_data[i] = i - 6;
  b.inits[b.graph.n_initializer++] = w;
  float sc[4] = {0.5f, 0.25f, 1, 2}, xs = 0.1f;
  mb_init_f(&b, "ws", 1, &sd, sc);
  Onnx__TensorProto *zp = mb_tensor(&b, "wz", MB_I8, 1, &sd);
  zp->n_int32_data = 4;
  zp->int32_data = mb_alloc(&b, 4 * sizeof(int32_t));
  b.inits[b.graph.n_initializer++] = zp;
  mb_init_f(&b, "xs", 0, NULL, &xs);
  Onnx__TensorProto *xz = mb_tensor(&b, "xz", MB_U8, 0, NULL);
  xz->n_int32_data = 1;
  xz->int32_data = mb_alloc(&b, sizeof(int32_t));
  xz->int32_data[0] = 128;
  b.inits[b.graph.n_initializer++] = xz;
  mb_input(&b, "x", MB_F, 2, xd);
  mb_output(&b, "wf");
  mb_output(&b, "xq");
  Onnx__NodeProto *n = mb_node(&b, "DequantizeLinear", "dq", "w,ws,wz", "wf");
  mb_attr_i(&b, n, "axis", 0);
  mb_node(&b, "QuantizeLinear", "q", "x,xs,xz", "xq");
  Module *m = import_ok(&b);
  if (!m) return;
  const Op *dq = find_op(m, KILN_OP_GENERIC, 0), *q = find_op(m, KILN_OP_GENERIC, 1);
  CHECK(dq && dq->n_in == 3);
  if (dq && dq->n_in == 3) {
    CHECK_EQ_I(1, dq->attrs.maps[1].n_results); /* scale along axis 0 */
    CHECK_EQ_I(1, dq->attrs.maps[1].results[0].coef[0]);
    CHECK_EQ_I(0, dq->attrs.maps[1].results[0].coef[1]);
    CHECK_EQ_I(KILN_F32, dq->out[0]->type.dtype);
  }
  CHECK(q && q->n_in == 1 && q->out[0]->type.dtype == KILN_U8); /* scalars inlined */
  bool has_round = false;
  for (int i = 0; q && i < q->attrs.body.n_insts; i++) has_round |= q->attrs.body.insts[i].kind == BODY_ROUND;
  CHECK(has_round);
  module_free(m);
}

static void test_slice_negative_step(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[2] = {2, 6}, st = -1, en = -100, ax = 1, sp = -2;
  mb_input(&b, "x", MB_F, 2, xd);
  mb_init_f(&b, "c", 2, xd, NULL);
  mb_ints(&b, "st", 1, &st);
  mb_ints(&b, "en", 1, &en);
  mb_ints(&b, "ax", 1, &ax);
  mb_ints(&b, "sp", 1, &sp);
  mb_output(&b, "y");
  mb_output(&b, "yc");
  mb_node(&b, "Slice", "sl", "x,st,en,ax,sp", "y");
  mb_node(&b, "Slice", "slc", "c,st,en,ax,sp", "yc");
  Module *m = import_ok(&b);
  if (!m) return;
  const Op *op = find_op(m, KILN_OP_EXTRACT_SLICE, 0);
  int64_t want[2] = {2, 3};
  CHECK(op && dims_are(&op->out[0]->type, 2, want));
  CHECK(op && op->attrs.offsets[1] == 5 && op->attrs.steps[1] == -2 && op->attrs.steps[0] == 1);
  const Value *yc = m->main->results[1];
  CHECK(yc->def && yc->def->kind == KILN_OP_CONSTANT);
  if (yc->def && yc->def->kind == KILN_OP_CONSTANT) {
    const float *v = m->consts[yc->def->attrs.const_index].data;
    CHECK_NEAR(5, v[0], 0);
    CHECK_NEAR(3, v[1], 0);
    CHECK_NEAR(11, v[3], 0);
  }
  module_free(m);
}

static void test_batchnorm(void) {
  MB b;
  mb_init(&b, 13);
  int64_t c = 3;
  float s[3] = {1, 2, 3}, bias[3] = {0, 1, 2}, mean[3] = {0, 0, 1}, var[3] = {1, 4, 0};
  mb_input(&b, "x", MB_F, 4, X4);
  mb_init_f(&b, "s", 1, &c, s);
  mb_init_f(&b, "b", 1, &c, bias);
  mb_init_f(&b, "m", 1, &c, mean);
  mb_init_f(&b, "v", 1, &c, var);
  mb_output(&b, "y");
  Onnx__NodeProto *n = mb_node(&b, "BatchNormalization", "bn", "x,s,b,m,v", "y");
  mb_attr_f(&b, n, "epsilon", 0);
  Module *m = import_ok(&b);
  const Op *op = m ? find_op(m, KILN_OP_GENERIC, 0) : NULL;
  CHECK(op && op->n_in == 3 && count_ops(m, KILN_OP_GENERIC) == 1);
  if (op && op->n_in == 3) {
    const float *a = m->consts[op->in[1]->def->attrs.const_index].data;
    const float *sh = m->consts[op->in[2]->def->attrs.const_index].data;
    CHECK_NEAR(1.0, a[1], 1e-6);
    CHECK_NEAR(1.0, sh[1], 1e-6);
    CHECK(op->attrs.maps[1].results[0].coef[1] == 1);
  }
  module_free(m);
}

static void test_gemm(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[2] = {1, 8}, wd[2] = {10, 8}, cd = 10;
  mb_input(&b, "x", MB_F, 2, xd);
  mb_init_f(&b, "w", 2, wd, NULL);
  mb_init_f(&b, "c", 1, &cd, NULL);
  mb_output(&b, "y");
  Onnx__NodeProto *n = mb_node(&b, "Gemm", "fc", "x,w,c", "y");
  mb_attr_i(&b, n, "transB", 1);
  mb_attr_f(&b, n, "alpha", 2);
  Module *m = import_ok(&b);
  if (!m) return;
  const Op *mm = find_op(m, KILN_OP_MATMUL, 0);
  int64_t bt[2] = {8, 10}, out[2] = {1, 10};
  CHECK(mm && dims_are(&mm->in[1]->type, 2, bt) && mm->in[1]->def->kind == KILN_OP_CONSTANT);
  if (mm) CHECK_NEAR(8.0, ((const float *)m->consts[mm->in[1]->def->attrs.const_index].data)[1], 0);
  CHECK_EQ_I(0, count_ops(m, KILN_OP_TRANSPOSE));
  CHECK_EQ_I(1, count_ops(m, KILN_OP_GENERIC));
  CHECK(dims_are(&m->main->results[0]->type, 2, out));
  module_free(m);
}

static void test_pools(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[4] = {1, 2, 7, 7}, k[2] = {2, 2}, s[2] = {2, 2};
  mb_input(&b, "x", MB_F, 4, xd);
  mb_output(&b, "a");
  mb_output(&b, "g");
  mb_output(&b, "mp");
  Onnx__NodeProto *n = mb_node(&b, "MaxPool", "mp", "x", "mp");
  mb_attr_ints(&b, n, "kernel_shape", 2, k);
  mb_attr_ints(&b, n, "strides", 2, s);
  mb_attr_i(&b, n, "ceil_mode", 1);
  n = mb_node(&b, "AveragePool", "ap", "x", "a");
  mb_attr_ints(&b, n, "kernel_shape", 2, k);
  mb_node(&b, "GlobalAveragePool", "gap", "x", "g");
  Module *m = import_ok(&b);
  if (!m) return;
  const Op *mp = find_op(m, KILN_OP_POOL2D, 0), *ap = find_op(m, KILN_OP_POOL2D, 1), *gp = find_op(m, KILN_OP_POOL2D, 2);
  int64_t w1[4] = {1, 2, 4, 4}, w2[4] = {1, 2, 6, 6}, w3[4] = {1, 2, 1, 1};
  CHECK(mp && mp->attrs.pool_kind == POOL_MAX && dims_are(&mp->out[0]->type, 4, w1) && mp->attrs.pads[2] == 1);
  CHECK(ap && ap->attrs.pool_kind == POOL_AVG && dims_are(&ap->out[0]->type, 4, w2));
  CHECK(gp && dims_are(&gp->out[0]->type, 4, w3) && gp->attrs.kernel[0] == 7);
  module_free(m);
}

static void test_elementwise(void) {
  MB b;
  mb_init(&b, 11);
  int64_t bd[3] = {3, 1, 1};
  float mn = 0, mx = 6;
  mb_input(&b, "x", MB_F, 4, X4);
  mb_init_f(&b, "bias", 3, bd, NULL);
  mb_init_f(&b, "lo", 0, NULL, &mn);
  mb_init_f(&b, "hi", 0, NULL, &mx);
  mb_output(&b, "y");
  mb_node(&b, "Add", "add", "x,bias", "a");
  mb_node(&b, "Clip", "relu6", "a,lo,hi", "c");
  mb_node(&b, "HardSwish", "hs", "c", "h");
  Onnx__NodeProto *n = mb_node(&b, "LeakyRelu", "lr", "h", "l");
  mb_attr_f(&b, n, "alpha", 0.1f);
  mb_node(&b, "Sigmoid", "sig", "l", "s");
  mb_node(&b, "Max", "max", "s,x,c", "y");
  Module *m = import_ok(&b);
  if (!m) return;
  CHECK_EQ_I(6, count_ops(m, KILN_OP_GENERIC));
  const Op *add = find_op(m, KILN_OP_GENERIC, 0), *clip = find_op(m, KILN_OP_GENERIC, 1);
  CHECK(add && add->n_in == 2 && add->attrs.maps[1].n_results == 3);
  if (add) CHECK(add->attrs.maps[1].results[1].coef[2] == 0 && add->attrs.maps[1].results[0].coef[1] == 1);
  CHECK(clip && clip->n_in == 1); /* min/max inlined as constants */
  const Op *mx3 = find_op(m, KILN_OP_GENERIC, 5);
  CHECK(mx3 && mx3->n_in == 3);
  module_free(m);
}

static void test_matmul_1d_and_shapes(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[3] = {2, 3, 4}, vd = 4, pd = 3, perm[3] = {2, 0, 1}, sp[2] = {1, 2}, pads[6] = {0, 1, 0, 0, 2, 0};
  mb_input(&b, "x", MB_F, 3, xd);
  mb_init_f(&b, "v", 1, &vd, NULL);
  mb_ints(&b, "split", 2, sp);
  mb_ints(&b, "pads", 6, pads);
  mb_output(&b, "mv");
  mb_output(&b, "t");
  mb_output(&b, "s1");
  mb_output(&b, "p");
  mb_output(&b, "f");
  (void)pd;
  mb_node(&b, "MatMul", "mv", "x,v", "mv");
  Onnx__NodeProto *n = mb_node(&b, "Transpose", "tr", "x", "t");
  mb_attr_ints(&b, n, "perm", 3, perm);
  n = mb_node(&b, "Split", "sp", "x,split", "s0,s1");
  mb_attr_i(&b, n, "axis", 1);
  n = mb_node(&b, "Pad", "pad", "x,pads", "p");
  mb_attr_s(&b, n, "mode", "reflect");
  mb_node(&b, "Flatten", "fl", "x", "f");
  Module *m = import_ok(&b);
  if (!m) return;
  int64_t mv[2] = {2, 3}, t[3] = {4, 2, 3}, s1[3] = {2, 2, 4}, p[3] = {2, 6, 4}, f[2] = {2, 12};
  CHECK(dims_are(&m->main->results[0]->type, 2, mv));
  CHECK(dims_are(&m->main->results[1]->type, 3, t));
  CHECK(dims_are(&m->main->results[2]->type, 3, s1));
  CHECK(dims_are(&m->main->results[3]->type, 3, p));
  CHECK(dims_are(&m->main->results[4]->type, 2, f));
  const Op *sl = find_op(m, KILN_OP_EXTRACT_SLICE, 1);
  CHECK(sl && sl->attrs.offsets[1] == 1);
  const Op *pad = find_op(m, KILN_OP_PAD, 0);
  CHECK(pad && pad->attrs.pad_mode == PAD_REFLECT && pad->attrs.pad_hi[1] == 2);
  module_free(m);
}

static void test_constants_and_reduce(void) {
  MB b;
  mb_init(&b, 18);
  int64_t xd[3] = {2, 3, 4}, ax = 2, shape[2] = {2, 3};
  mb_input(&b, "x", MB_F, 3, xd);
  mb_ints(&b, "ax", 1, &ax);
  mb_ints(&b, "shape", 2, shape);
  mb_output(&b, "rm");
  mb_output(&b, "cs");
  mb_output(&b, "am");
  Onnx__NodeProto *n = mb_node(&b, "ReduceMean", "rm", "x,ax", "rm");
  mb_attr_i(&b, n, "keepdims", 0);
  n = mb_node(&b, "ConstantOfShape", "cos", "shape", "cs");
  Onnx__TensorProto *v = mb_tensor(&b, "v", MB_F, 1, (int64_t[]){1});
  v->n_float_data = 1;
  v->float_data = mb_alloc(&b, 4);
  v->float_data[0] = 7;
  mb_attr_t(&b, n, "value", v);
  n = mb_node(&b, "ArgMax", "am", "x", "am");
  mb_attr_i(&b, n, "axis", -1);
  Module *m = import_ok(&b);
  if (!m) return;
  int64_t rm[2] = {2, 3}, am[3] = {2, 3, 1};
  CHECK(dims_are(&m->main->results[0]->type, 2, rm));
  CHECK_EQ_I(2, count_ops(m, KILN_OP_GENERIC)); /* sum, then multiply */
  const Value *cs = m->main->results[1];
  CHECK(cs->def && cs->def->kind == KILN_OP_CONSTANT && dims_are(&cs->type, 2, shape));
  if (cs->def) CHECK_NEAR(7, ((const float *)m->consts[cs->def->attrs.const_index].data)[5], 0);
  const Op *arg = find_op(m, KILN_OP_ARGMAX, 0);
  CHECK(arg && arg->attrs.axis == 2 && dims_are(&arg->out[0]->type, 3, am) && arg->out[0]->type.dtype == KILN_I64);
  module_free(m);
}

static void test_fold_arith(void) {
  /* Shape -> Cast(float) -> Mul 2 -> Floor -> Cast(int64) -> Slice [2:] -> Resize sizes */
  MB b;
  mb_init(&b, 13);
  int64_t xd[4] = {1, 2, 3, 5}, st = 2, en = 4;
  float two = 2;
  mb_input(&b, "x", MB_F, 4, xd);
  mb_init_f(&b, "two", 0, NULL, &two);
  mb_ints(&b, "st", 1, &st);
  mb_ints(&b, "en", 1, &en);
  int64_t first2[2] = {1, 2};
  mb_ints(&b, "nc", 2, first2);
  mb_output(&b, "y");
  mb_node(&b, "Shape", "s", "x", "s");
  Onnx__NodeProto *n = mb_node(&b, "Cast", "c1", "s", "sf");
  mb_attr_i(&b, n, "to", MB_F);
  mb_node(&b, "Mul", "mul", "sf,two", "m");
  mb_node(&b, "Floor", "fl", "m", "f");
  n = mb_node(&b, "Cast", "c2", "f", "fi");
  mb_attr_i(&b, n, "to", MB_I64);
  mb_node(&b, "Slice", "sl", "fi,st,en", "hw");
  n = mb_node(&b, "Concat", "cat", "nc,hw", "sizes");
  mb_attr_i(&b, n, "axis", 0);
  mb_node(&b, "Resize", "rs", "x,,,sizes", "y");
  Module *m = import_ok(&b);
  if (!m) return;
  int64_t want[4] = {1, 2, 6, 10};
  CHECK(dims_are(&m->main->results[0]->type, 4, want));
  CHECK_EQ_I(1, count_ops(m, KILN_OP_RESIZE));
  CHECK_EQ_I(0, count_ops(m, KILN_OP_GENERIC));
  module_free(m);
}

static void test_dynamic_dims(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[2] = {-1, 4};
  mb_input(&b, "x", MB_F, 2, xd);
  mb_output(&b, "y");
  mb_node(&b, "Relu", "r", "x", "y");
  Module *m = import_ok(&b);
  int64_t want[2] = {1, 4};
  CHECK(m && dims_are(&m->main->args[0]->type, 2, want));
  module_free(m);
}

static void test_external_data(void) {
  char dir[] = "/tmp/kiln_imp_XXXXXX";
  if (!mkdtemp(dir)) return;
  char path[256];
  snprintf(path, sizeof path, "%s/w.bin", dir);
  float data[6] = {9, 1, 2, 3, 4, 5};
  FILE *f = fopen(path, "wb");
  fwrite(data, 4, 6, f);
  fclose(f);
  for (int variant = 0; variant < 4; variant++) {
    MB b;
    mb_init(&b, 13);
    int64_t wd[2] = {1, 2}, xd[2] = {1, 2};
    mb_input(&b, "x", MB_F, 2, xd);
    Onnx__TensorProto *t = mb_tensor(&b, "w", MB_F, 2, wd);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    const char *keys[3] = {"location", "offset", "length"};
    const char *loc = variant == 1 ? "missing.bin" : variant == 2 ? "/etc/passwd" : variant == 3 ? "../w.bin" : "w.bin";
    const char *vals[3] = {loc, "4", "8"};
    t->n_external_data = 3;
    t->external_data = mb_alloc(&b, 3 * sizeof(void *));
    for (int i = 0; i < 3; i++) {
      Onnx__StringStringEntryProto *e = mb_alloc(&b, sizeof *e);
      onnx__string_string_entry_proto__init(e);
      e->key = mb_str(&b, keys[i]);
      e->value = mb_str(&b, vals[i]);
      t->external_data[i] = e;
    }
    b.inits[b.graph.n_initializer++] = t;
    mb_output(&b, "y");
    mb_node(&b, "Add", "add", "x,w", "y");
    size_t len = onnx__model_proto__get_packed_size(&b.model);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&b.model, buf);
    mb_free(&b);
    char mpath[300];
    snprintf(mpath, sizeof mpath, "%s/model.onnx", dir);
    f = fopen(mpath, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
    Module *m = NULL;
    Diag d = {0};
    KilnStatus st = onnx_import_file(mpath, &m, &d);
    if (variant == 0) {
      CHECK_EQ_I(KILN_OK, st);
      const Op *op = m ? find_op(m, KILN_OP_CONSTANT, 0) : NULL;
      CHECK(op && ((const float *)m->consts[op->attrs.const_index].data)[1] == 2);
    } else {
      CHECK(st != KILN_OK && m == NULL);
      CHECK_STR_CONTAINS(d.msg, "tensor 'w'");
      CHECK_STR_CONTAINS(d.msg, variant == 1 ? "not found" : "relative path");
    }
    module_free(m);
    unlink(mpath);
  }
  unlink(path);
  rmdir(dir);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_error_decode(void) {
  uint8_t junk[64];
  for (int i = 0; i < 64; i++) junk[i] = (uint8_t)(i * 37 + 11);
  Module *m = NULL;
  Diag d = {0};
  CHECK_EQ_I(KILN_ERR_INVALID, onnx_import(junk, sizeof junk, ".", &m, &d));
  CHECK_STR_CONTAINS(d.msg, "not a valid ONNX model: protobuf decode failed");
  CHECK(m == NULL);
  /* a truncated real model */
  MB b;
  mb_init(&b, 13);
  mb_input(&b, "x", MB_F, 4, X4);
  mb_output(&b, "y");
  mb_node(&b, "Relu", "r", "x", "y");
  size_t len = onnx__model_proto__get_packed_size(&b.model);
  uint8_t *buf = malloc(len);
  onnx__model_proto__pack(&b.model, buf);
  mb_free(&b);
  Diag d2 = {0};
  CHECK(onnx_import(buf, len - 3, ".", &m, &d2) != KILN_OK);
  CHECK(m == NULL);
  free(buf);
  Diag d3 = {0};
  CHECK_EQ_I(KILN_ERR_IO, onnx_import_file("/nonexistent/model.onnx", &m, &d3));
}

static void test_errors(void) {
  MB b;
  mb_init(&b, 13);
  mb_input(&b, "x", MB_F, 4, X4);
  mb_output(&b, "y");
  mb_node(&b, "Foo", "n1", "x", "y");
  import_fails(&b, KILN_ERR_UNSUPPORTED, "unsupported op 'Foo' (node 'n1', opset 13)");

  mb_init(&b, 13);
  mb_input(&b, "x", MB_F, 4, X4);
  mb_output(&b, "y");
  mb_node(&b, "Conv", "conv1", "x,w", "y");
  import_fails(&b, KILN_ERR_INVALID, "missing initializer/value 'w' used by node 'conv1'");

  /* no default-domain opset_import: a node of another domain is an unsupported op, a
   * default-domain node an error */
  mb_init(&b, 13);
  b.opset.domain = mb_str(&b, "ai.onnx.ml");
  mb_input(&b, "x", MB_F, 4, X4);
  mb_output(&b, "y");
  mb_node(&b, "Relu", "r", "x", "y");
  import_fails(&b, KILN_ERR_INVALID, "node 'r' (Relu) is in the default domain, but the model has no");
  mb_init(&b, 13);
  b.opset.domain = mb_str(&b, "ai.onnx.ml");
  mb_input(&b, "x", MB_F, 4, X4);
  mb_output(&b, "y");
  mb_node(&b, "Binarizer", "bin", "x", "y")->domain = mb_str(&b, "ai.onnx.ml");
  import_fails(&b, KILN_ERR_UNSUPPORTED, "unsupported op 'ai.onnx.ml.Binarizer' (node 'bin')");

  mb_init(&b, 9);
  mb_input(&b, "x", MB_F, 4, X4);
  mb_output(&b, "y");
  mb_node(&b, "Relu", "r", "x", "y");
  import_fails(&b, KILN_ERR_UNSUPPORTED, "opset 9");

  mb_init(&b, 13);
  mb_input(&b, "x", MB_F, 4, X4);
  mb_node(&b, "Relu", "r", "x", "y");
  import_fails(&b, KILN_ERR_INVALID, "graph has no outputs");

  Onnx__NodeProto *n = conv_model(&b, 8, 4, 2, 3); /* weight expects 2 channels, x has 3 */
  import_fails(&b, KILN_ERR_INVALID, "Conv node 'conv1': channel mismatch");

  n = conv_model(&b, 8, 4, 3, 3);
  mb_attr_s(&b, n, "auto_pad", "SAME_SIDEWAYS");
  import_fails(&b, KILN_ERR_UNSUPPORTED, "auto_pad 'SAME_SIDEWAYS'");

  mb_init(&b, 13);
  int64_t ad[2] = {2, 3}, bd[2] = {4, 3};
  mb_input(&b, "a", MB_F, 2, ad);
  mb_input(&b, "b", MB_F, 2, bd);
  mb_output(&b, "y");
  mb_node(&b, "Add", "add7", "a,b", "y");
  import_fails(&b, KILN_ERR_INVALID, "Add node 'add7': shapes tensor<2x3xf32> and tensor<4x3xf32> do not broadcast");

  mb_init(&b, 13);
  int64_t xd[4] = {1, 2, 4, 4}, sz[4] = {1, 2, 8, 8};
  mb_input(&b, "x", MB_F, 4, xd);
  mb_ints(&b, "sizes", 4, sz);
  mb_output(&b, "y");
  n = mb_node(&b, "Resize", "up", "x,,,sizes", "y");
  mb_attr_s(&b, n, "mode", "cubic");
  import_fails(&b, KILN_ERR_UNSUPPORTED, "Resize node 'up': mode 'cubic'");
}

static void test_tensor_errors(void) {
  MB b;
  /* raw_data size does not match dims */
  mb_init(&b, 13);
  int64_t d2[2] = {2, 3};
  mb_input(&b, "x", MB_F, 2, d2);
  Onnx__TensorProto *t = mb_tensor(&b, "w", MB_F, 2, d2);
  t->has_raw_data = 1;
  t->raw_data.len = 20;
  t->raw_data.data = mb_alloc(&b, 20);
  b.inits[b.graph.n_initializer++] = t;
  mb_output(&b, "y");
  mb_node(&b, "Add", "add", "x,w", "y");
  import_fails(&b, KILN_ERR_INVALID, "tensor 'w': raw_data has 20 bytes, dims need 24");

  /* negative dim */
  mb_init(&b, 13);
  int64_t neg[2] = {2, -3};
  mb_tensor(&b, "w", MB_F, 2, neg);
  b.inits[b.graph.n_initializer++] = mb_tensor(&b, "w", MB_F, 2, neg);
  mb_output(&b, "w");
  import_fails(&b, KILN_ERR_INVALID, "tensor 'w': dim 1 is negative");

  /* element count overflows int64 */
  mb_init(&b, 13);
  int64_t huge[3] = {1ll << 40, 1ll << 40, 1ll << 20};
  b.inits[b.graph.n_initializer++] = mb_tensor(&b, "big", MB_F, 3, huge);
  mb_output(&b, "big");
  import_fails(&b, KILN_ERR_LIMIT, "tensor 'big': element count overflows int64");

  /* over 16 GiB */
  mb_init(&b, 13);
  int64_t large[2] = {1ll << 20, 1ll << 13};
  b.inits[b.graph.n_initializer++] = mb_tensor(&b, "large", MB_F, 2, large);
  mb_output(&b, "large");
  import_fails(&b, KILN_ERR_LIMIT, "exceeds the 16 GiB limit");

  /* rank above KILN_MAX_RANK */
  mb_init(&b, 13);
  int64_t r9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  b.inits[b.graph.n_initializer++] = mb_tensor(&b, "deep", MB_F, 9, r9);
  mb_output(&b, "deep");
  import_fails(&b, KILN_ERR_LIMIT, "tensor 'deep': rank 9 exceeds the limit of 8");

  /* typed data count mismatch */
  mb_init(&b, 13);
  t = mb_tensor(&b, "few", MB_F, 2, d2);
  t->n_float_data = 2;
  t->float_data = mb_alloc(&b, 8);
  b.inits[b.graph.n_initializer++] = t;
  mb_output(&b, "few");
  import_fails(&b, KILN_ERR_INVALID, "tensor 'few': has 2 values, dims need 6");
}

/* Dropout's mask output (inference: all true) used to be left undefined; ReduceProd of a
 * run-time input was refused; ReduceMax of bool started from INT32_MIN (true), ReduceMin
 * of u8 from INT32_MAX (255 only by saturation), of i64 from INT32_MAX (wrong). */
static void test_dropout_mask_and_reductions(void) {
  MB b;
  mb_init(&b, 18);
  int64_t xd[2] = {2, 3}, ax = 1;
  mb_input(&b, "x", MB_F, 2, xd);
  mb_input(&b, "bx", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, 2, xd);
  mb_input(&b, "ix", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 2, xd);
  mb_ints(&b, "ax", 1, &ax);
  mb_output(&b, "mask");
  mb_output(&b, "prod");
  mb_output(&b, "bmax");
  mb_output(&b, "imin");
  mb_node(&b, "Dropout", "drop", "x", "y,mask");
  mb_node(&b, "ReduceProd", "prod", "y,ax", "prod");
  mb_node(&b, "ReduceMax", "bmax", "bx,ax", "bmax");
  mb_node(&b, "ReduceMin", "imin", "ix,ax", "imin");
  Module *m = import_ok(&b);
  if (!m) return;
  const Value *mask = m->main->results[0];
  CHECK(mask->def && mask->def->kind == KILN_OP_CONSTANT && mask->type.dtype == KILN_BOOL);
  if (mask->def) CHECK_EQ_I(1, ((const uint8_t *)m->consts[mask->def->attrs.const_index].data)[5]);
  static const double init[3] = {1, 0, 9223372036854775808.0};
  for (int k = 0; k < 3; k++) {
    const Op *g = m->main->results[k + 1]->def;
    CHECK(g && g->kind == KILN_OP_GENERIC && g->attrs.init);
    if (g && g->attrs.init) CHECK_NEAR(init[k], g->attrs.init[0], 0);
  }
  module_free(m);
}

/* Training-mode Dropout is random: refused; BN parameters must be constants, and the
 * message names the input (the conformance runner freezes such inputs by name). */
static void test_dropout_training_and_bn_errors(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[2] = {2, 3}, one = 1;
  float ratio = 0.25f;
  mb_input(&b, "x", MB_F, 2, xd);
  mb_init_f(&b, "r", 0, NULL, &ratio);
  mb_init_i64(&b, "t", 0, NULL, &one);
  mb_output(&b, "y");
  mb_node(&b, "Dropout", "drop", "x,r,t", "y");
  import_fails(&b, KILN_ERR_UNSUPPORTED, "Dropout node 'drop': training_mode=1 with ratio");

  mb_init(&b, 13);
  int64_t x4[4] = {1, 2, 2, 2}, c = 2;
  mb_input(&b, "x", MB_F, 4, x4);
  mb_input(&b, "s", MB_F, 1, &c);
  mb_init_f(&b, "bias", 1, &c, NULL);
  mb_init_f(&b, "mean", 1, &c, NULL);
  mb_init_f(&b, "var", 1, &c, NULL);
  mb_output(&b, "y");
  mb_node(&b, "BatchNormalization", "bn", "x,s,bias,mean,var", "y");
  import_fails(&b, KILN_ERR_UNSUPPORTED, "input 's' (parameter 1) must be a constant");
}

/* keep_aspect_ratio_policy: one scale (min for not_larger, max for not_smaller) on every
 * axis; refused when the reference's round-half-up size differs from floor(in * scale). */
static void test_resize_keep_aspect(void) {
  static const struct { const char *policy; int64_t h, w; double scale; const char *err; } cases[] = {
    {"not_larger", 7, 7, 3.5, NULL},  /* min(7/2, 8/2) */
    {"not_smaller", 8, 8, 4, NULL},   /* max(7/2, 8/2) */
    {"sideways", 0, 0, 0, "keep_aspect_ratio_policy 'sideways'"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    MB b;
    mb_init(&b, 18);
    int64_t xd[4] = {1, 1, 2, 2}, sz[2] = {7, 8}, ax[2] = {2, 3};
    mb_input(&b, "x", MB_F, 4, xd);
    mb_ints(&b, "sizes", 2, sz);
    mb_output(&b, "y");
    Onnx__NodeProto *n = mb_node(&b, "Resize", "up", "x,,,sizes", "y");
    mb_attr_ints(&b, n, "axes", 2, ax); /* without axes, every dim counts (scale 1 on N, C) */
    mb_attr_s(&b, n, "keep_aspect_ratio_policy", cases[i].policy);
    if (cases[i].err) {
      import_fails(&b, KILN_ERR_UNSUPPORTED, cases[i].err);
      continue;
    }
    Module *m = import_ok(&b);
    if (!m) continue;
    const Op *op = find_op(m, KILN_OP_RESIZE, 0);
    int64_t want[4] = {1, 1, cases[i].h, cases[i].w};
    CHECK(op && dims_are(&op->out[0]->type, 4, want));
    if (op) CHECK_NEAR(cases[i].scale, op->attrs.scales[3], 0);
    module_free(m);
  }
  MB b;
  mb_init(&b, 18);
  int64_t xd[4] = {1, 1, 2, 4}, sz[2] = {1, 3}, ax[2] = {2, 3};
  mb_input(&b, "x", MB_F, 4, xd);
  mb_ints(&b, "sizes", 2, sz);
  mb_output(&b, "y");
  Onnx__NodeProto *n = mb_node(&b, "Resize", "down", "x,,,sizes", "y");
  mb_attr_ints(&b, n, "axes", 2, ax);
  mb_attr_s(&b, n, "keep_aspect_ratio_policy", "not_smaller"); /* 0.75 * 2 = 1.5 rounds to 2 */
  import_fails(&b, KILN_ERR_UNSUPPORTED, "dim 2 of 1.5 rounds up");
}

int main(void) {
  test_conv_auto_pad();
  test_conv_bias_dilation();
  test_depthwise_and_groups();
  test_shape_chain_folds();
  test_resize_sizes();
  test_resize_scales_nearest();
  test_softmax();
  test_qdq_per_axis();
  test_slice_negative_step();
  test_batchnorm();
  test_gemm();
  test_pools();
  test_elementwise();
  test_matmul_1d_and_shapes();
  test_constants_and_reduce();
  test_fold_arith();
  test_dynamic_dims();
  test_external_data();
  test_error_decode();
  test_errors();
  test_tensor_errors();
  test_dropout_mask_and_reductions();
  test_dropout_training_and_bn_errors();
  test_resize_keep_aspect();
  return check_report("test_import");
}
