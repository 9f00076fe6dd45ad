/* test_infer.c — op_infer_types on hand-built ops: result shapes of every named op and
 * the errors for inconsistent operands (each must name the op and say what is wrong). */
#include "check.h"
#include "ir/ir.h"

static Module *M;
static Func *F;

static Value *arg(DType dt, int rank, const int64_t *dims) {
  return func_add_arg(F, type_make(dt, rank, dims), NULL);
}

static Op *mk(OpKind k, int n_in, Value **in, const TensorType *out) {
  TensorType ph = {0};
  return op_new(F, k, "t", n_in, in, 1, out ? out : &ph, NULL);
}

static bool infer_ok(const Op *op, int rank, const int64_t *dims) {
  TensorType t;
  Diag d = {0};
  if (op_infer_types(op, &t, &d)) {
    fprintf(stderr, "unexpected: %s\n", d.msg);
    return false;
  }
  if (t.rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (t.dims[i] != dims[i]) return false;
  return true;
}

static void infer_err(const Op *op, const char *needle) {
  TensorType t;
  Diag d = {0};
  CHECK(op_infer_types(op, &t, &d) != KILN_OK);
  CHECK_STR_CONTAINS(d.msg, needle);
  CHECK_STR_CONTAINS(d.msg, "'t'");
}

static void test_conv(void) {
  int64_t xd[4] = {1, 8, 10, 10}, wd[4] = {16, 4, 3, 3}, bd = 16;
  Value *in[3] = {arg(KILN_F32, 4, xd), arg(KILN_F32, 4, wd), arg(KILN_F32, 1, &bd)};
  Op *op = mk(KILN_OP_CONV2D, 3, in, NULL);
  op->attrs.groups = 2;
  op->attrs.kernel[0] = op->attrs.kernel[1] = 3;
  op->attrs.strides[0] = 2;
  op->attrs.pads[0] = op->attrs.pads[2] = 1;
  int64_t want[4] = {1, 16, 5, 8};
  CHECK(infer_ok(op, 4, want));
  op->attrs.groups = 4;
  infer_err(op, "channels");
  op->attrs.groups = 2;
  op->attrs.kernel[0] = 5;
  infer_err(op, "kernel");

  /* NHWC: x [N,H,W,C], w [KH,KW,C/g,F] */
  int64_t xn[4] = {1, 10, 10, 8}, wn[4] = {3, 3, 8, 4};
  Value *in2[2] = {arg(KILN_F32, 4, xn), arg(KILN_F32, 4, wn)};
  op = mk(KILN_OP_CONV2D, 2, in2, NULL);
  op->attrs.layout = LAYOUT_NHWC;
  op->attrs.kernel[0] = op->attrs.kernel[1] = 3;
  op->attrs.dilations[0] = op->attrs.dilations[1] = 2;
  int64_t wn2[4] = {1, 6, 6, 4};
  CHECK(infer_ok(op, 4, wn2));

  int64_t dw[3] = {8, 3, 3};
  Value *in3[2] = {in[0], arg(KILN_F32, 3, dw)};
  op = mk(KILN_OP_DEPTHWISE_CONV2D, 2, in3, NULL);
  op->attrs.kernel[0] = op->attrs.kernel[1] = 3;
  int64_t dwo[4] = {1, 8, 8, 8};
  CHECK(infer_ok(op, 4, dwo));
  op->attrs.kernel[0] = 30;
  op->attrs.kernel[1] = 3;
  dw[1] = 30;
  op->in[1]->type.dims[1] = 30;
  infer_err(op, "does not fit");

  int64_t ct[4] = {8, 2, 3, 3};
  Value *in4[2] = {in[0], arg(KILN_F32, 4, ct)};
  op = mk(KILN_OP_CONV_TRANSPOSE2D, 2, in4, NULL);
  op->attrs.kernel[0] = op->attrs.kernel[1] = 3;
  op->attrs.strides[0] = op->attrs.strides[1] = 2;
  op->attrs.pads[0] = op->attrs.pads[1] = op->attrs.pads[2] = op->attrs.pads[3] = 1;
  op->attrs.output_padding[0] = op->attrs.output_padding[1] = 1;
  int64_t cto[4] = {1, 2, 20, 20};
  CHECK(infer_ok(op, 4, cto));

  Op *pool = mk(KILN_OP_POOL2D, 1, in, NULL);
  pool->attrs.kernel[0] = pool->attrs.kernel[1] = 2;
  pool->attrs.strides[0] = pool->attrs.strides[1] = 2;
  int64_t po[4] = {1, 8, 5, 5};
  CHECK(infer_ok(pool, 4, po));
  pool->attrs.strides[0] = 0;
  infer_err(pool, "bad kernel");
}

static void test_matmul_gather(void) {
  int64_t a[3] = {5, 2, 3}, b[2] = {3, 4}, c[4] = {2, 1, 4, 6};
  Value *in[2] = {arg(KILN_F32, 3, a), arg(KILN_F32, 2, b)};
  int64_t w1[3] = {5, 2, 4};
  CHECK(infer_ok(mk(KILN_OP_MATMUL, 2, in, NULL), 3, w1));
  Value *in2[2] = {arg(KILN_F32, 3, a), arg(KILN_F32, 4, c)};
  infer_err(mk(KILN_OP_MATMUL, 2, in2, NULL), "inner dims");
  int64_t c2[4] = {2, 1, 3, 6};
  Value *in3[2] = {in[0], arg(KILN_F32, 4, c2)};
  int64_t w3[4] = {2, 5, 2, 6};
  CHECK(infer_ok(mk(KILN_OP_MATMUL, 2, in3, NULL), 4, w3));

  int64_t ix[2] = {4, 7};
  Value *g[2] = {in[0], arg(KILN_I64, 2, ix)};
  Op *op = mk(KILN_OP_GATHER, 2, g, NULL);
  op->attrs.axis = 1;
  int64_t gw[4] = {5, 4, 7, 3};
  CHECK(infer_ok(op, 4, gw));
  op->attrs.axis = -1;
  int64_t gw2[4] = {5, 2, 4, 7};
  CHECK(infer_ok(op, 4, gw2));
  op->attrs.axis = 3;
  infer_err(op, "axis 3 out of range");
  Value *g2[2] = {in[0], in[1]};
  infer_err(mk(KILN_OP_GATHER, 2, g2, NULL), "indices");
}

static void test_data_movement(void) {
  int64_t xd[3] = {2, 3, 4};
  Value *x = arg(KILN_F32, 3, xd);
  Op *t = mk(KILN_OP_TRANSPOSE, 1, &x, NULL);
  t->attrs.perm[0] = 2, t->attrs.perm[1] = 0, t->attrs.perm[2] = 1;
  int64_t tw[3] = {4, 2, 3};
  CHECK(infer_ok(t, 3, tw));
  t->attrs.perm[2] = 0;
  infer_err(t, "permutation");

  Op *p = mk(KILN_OP_PAD, 1, &x, NULL);
  p->attrs.pad_lo[1] = 1, p->attrs.pad_hi[2] = 3;
  int64_t pw[3] = {2, 4, 7};
  CHECK(infer_ok(p, 3, pw));
  p->attrs.pad_mode = PAD_REFLECT;
  p->attrs.pad_hi[2] = 4;
  infer_err(p, "reflect");

  int64_t r[2] = {6, 4}, bad[2] = {5, 5};
  TensorType rt = type_make(KILN_F32, 2, r), bt = type_make(KILN_F32, 2, bad);
  CHECK(infer_ok(mk(KILN_OP_RESHAPE, 1, &x, &rt), 2, r));
  infer_err(mk(KILN_OP_RESHAPE, 1, &x, &bt), "cannot reshape");

  Op *cl = mk(KILN_OP_COLLAPSE_SHAPE, 1, &x, NULL);
  cl->attrs.n_reassoc = 2, cl->attrs.reassoc[0] = 2, cl->attrs.reassoc[1] = 1;
  CHECK(infer_ok(cl, 2, r));
  cl->attrs.reassoc[1] = 2;
  infer_err(cl, "does not fit");
  Value *y = arg(KILN_F32, 2, r);
  Op *ex = mk(KILN_OP_EXPAND_SHAPE, 1, &y, &x->type);
  ex->attrs.n_reassoc = 2, ex->attrs.reassoc[0] = 2, ex->attrs.reassoc[1] = 1;
  CHECK(infer_ok(ex, 3, xd));
  ex->attrs.reassoc[0] = 1, ex->attrs.reassoc[1] = 2;
  infer_err(ex, "group 0");

  int64_t sd[3] = {2, 2, 2};
  TensorType st = type_make(KILN_F32, 3, sd);
  Op *s = mk(KILN_OP_EXTRACT_SLICE, 1, &x, &st);
  s->attrs.offsets[1] = 2, s->attrs.steps[1] = -1, s->attrs.offsets[2] = 1, s->attrs.steps[2] = 2;
  CHECK(infer_ok(s, 3, sd));
  s->attrs.offsets[2] = 2;
  infer_err(s, "dim 2 reads indices 2..4 of 4");
  s->attrs.offsets[2] = 0, s->attrs.offsets[1] = 0;
  infer_err(s, "dim 1 reads indices 0..-1");

  Value *cat[2] = {x, arg(KILN_F32, 3, sd)};
  Op *c = mk(KILN_OP_CONCAT, 2, cat, NULL);
  c->attrs.axis = 2;
  infer_err(c, "does not match");
  int64_t c2[3] = {2, 3, 1};
  cat[1] = arg(KILN_F32, 3, c2);
  c = mk(KILN_OP_CONCAT, 2, cat, NULL);
  c->attrs.axis = -1;
  int64_t cw[3] = {2, 3, 5};
  CHECK(infer_ok(c, 3, cw));

  Op *rs = mk(KILN_OP_RESIZE, 1, &x, NULL);
  rs->attrs.scales[0] = 1, rs->attrs.scales[1] = 1.5, rs->attrs.scales[2] = 2.2;
  int64_t rw[3] = {2, 4, 8};
  CHECK(infer_ok(rs, 3, rw));
  rs->attrs.scales[0] = 0;
  infer_err(rs, "bad scale");

  Op *am = mk(KILN_OP_ARGMAX, 1, &x, NULL);
  am->attrs.axis = 1;
  int64_t aw[2] = {2, 4};
  CHECK(infer_ok(am, 2, aw));
}

static void test_generic(void) {
  int64_t xd[2] = {3, 4}, bd[1] = {4}, od[2] = {3, 4};
  Value *in[2] = {arg(KILN_F32, 2, xd), arg(KILN_F32, 1, bd)};
  TensorType ot = type_make(KILN_F32, 2, od);
  Op *g = op_new(F, KILN_OP_GENERIC, "t", 2, in, 1, &ot, NULL);
  AffineMap maps[3] = {affine_identity(2), {.n_results = 1}, affine_identity(2)};
  maps[1].results[0].coef[1] = 1;
  g->attrs.n_loops = 2;
  g->attrs.n_maps = 3;
  g->attrs.maps = maps;
  CHECK(infer_ok(g, 2, od));
  maps[1].results[0].coef[1] = 0, maps[1].results[0].coef[0] = 1; /* bias [4] indexed by d0 (3) */
  infer_err(g, "operand 1 dim 0 is 4 but loop d0 ranges over 3");
  maps[1].results[0].cst = 2; /* d0 + 2 reaches 4: out of bounds */
  maps[1].results[0].coef[0] = 1;
  infer_err(g, "reads index 2..4");
  maps[1].results[0].cst = 0;
  maps[1].results[0].coef[0] = 0, maps[1].results[0].coef[1] = 1;
  g->out[0]->type.dims[1] = 5; /* out dim disagrees with the loop range from the input */
  infer_err(g, "loop d1");
  g->out[0]->type.dims[1] = 4;
  maps[1].n_results = 2;
  infer_err(g, "map 1 has 2 results");
  maps[1].n_results = 1;
  g->attrs.n_maps = 2;
  infer_err(g, "maps");
}

int main(void) {
  M = module_new();
  F = func_new(M, "main");
  M->main = F;
  test_conv();
  test_matmul_gather();
  test_data_movement();
  test_generic();
  module_free(M);
  return check_report("test_infer");
}
