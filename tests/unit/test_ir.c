/* test_ir.c — IR construction and editing keep use lists exact; types and half floats. */
#include "check.h"
#include "ir/ir.h"

static TensorType t4(int64_t a, int64_t b, int64_t c, int64_t d) {
  int64_t dims[4] = {a, b, c, d};
  return type_make(KILN_F32, 4, dims);
}

static Op *relu(Func *f, Value *x) {
  Op *op = op_new(f, KILN_OP_GENERIC, "relu", 1, &x, 1, &x->type, NULL);
  OpAttrs *a = &op->attrs;
  a->n_loops = x->type.rank;
  a->n_maps = 2;
  a->maps = arena_alloc(&f->module->arena, 2 * sizeof(AffineMap));
  a->maps[0] = a->maps[1] = affine_identity(x->type.rank);
  a->body = body_new(f->module, 3, 1);
  a->body.insts[0] = (BodyInst){.kind = BODY_ARG, .dtype = KILN_F32, .imm_i = 0};
  a->body.insts[1] = (BodyInst){.kind = BODY_CONST, .dtype = KILN_F32, .imm = 0.0};
  a->body.insts[2] = (BodyInst){.kind = BODY_MAX, .dtype = KILN_F32, .n_args = 2, .args = {0, 1}};
  a->body.yields[0] = 2;
  return op;
}

static void test_uses(void) {
  Module *m = module_new();
  Func *f = m->main = func_new(m, "main");
  Value *x = func_add_arg(f, t4(1, 2, 3, 4), "x");
  Op *r1 = relu(f, x);
  Op *r2 = relu(f, r1->out[0]);
  Op *r3 = relu(f, r1->out[0]);
  CHECK_EQ_I(1, value_num_uses(x));
  CHECK_EQ_I(2, value_num_uses(r1->out[0]));
  func_set_results(f, 1, &r3->out[0], (const char *[]){"y"});
  /* r3 now reads r2: r1 loses a use, r2 gains one. */
  op_set_operand(r3, 0, r2->out[0]);
  CHECK_EQ_I(1, value_num_uses(r1->out[0]));
  CHECK_EQ_I(1, value_num_uses(r2->out[0]));
  /* Replacing r3's result redirects the function result. */
  Op *r4 = relu(f, r2->out[0]);
  value_replace_uses(r3->out[0], r4->out[0]);
  CHECK(f->results[0] == r4->out[0]);
  op_erase(r3);
  CHECK_EQ_I(0, value_num_uses(r4->out[0])); /* a function result is not a use */
  CHECK_EQ_I(1, value_num_uses(r2->out[0])); /* r4 only: erasing r3 dropped its use */
  int n = 0;
  for (Op *op = f->first; op; op = op->next) n++;
  CHECK_EQ_I(3, n);
  module_free(m);
}

static void test_types(void) {
  TensorType t = t4(1, 3, 513, 513);
  char buf[64];
  CHECK(strcmp(type_str(&t, buf, sizeof buf), "tensor<1x3x513x513xf32>") == 0);
  CHECK_EQ_I(3 * 513 * 513, type_numel(&t));
  CHECK_EQ_I(4 * 3 * 513 * 513, type_nbytes(&t));
  TensorType huge = t4(INT64_MAX / 2, 4, 1, 1);
  CHECK_EQ_I(-1, type_numel(&huge));
  CHECK(strcmp(dtype_name(KILN_U8), "ui8") == 0);
  CHECK(strcmp(dtype_name(KILN_BOOL), "i1") == 0);
  /* Half floats: exact values and round-to-nearest-even. */
  CHECK_NEAR(1.0, f16_to_f32(f32_to_f16(1.0f)), 0);
  CHECK_NEAR(65504.0, f16_to_f32(f32_to_f16(65504.0f)), 0);
  CHECK_NEAR(5.9604644775390625e-08, f16_to_f32(f32_to_f16(5.9604644775390625e-08f)), 0);
  CHECK_EQ_I(0x3c00, f32_to_f16(1.0f + 0x1p-11f)); /* tie rounds to even */
  CHECK_EQ_I(0x3c02, f32_to_f16(1.0f + 3 * 0x1p-11f));
  CHECK_EQ_I(0x7c00, f32_to_f16(1e6f));
  CHECK_NEAR(3.140625, bf16_to_f32(f32_to_bf16(3.14159f)), 0);
}

static void test_broadcast_map(void) {
  int64_t out[4] = {1, 8, 5, 5}, bias[3] = {8, 1, 1};
  AffineMap m = affine_broadcast(3, bias, 4, out);
  CHECK_EQ_I(3, m.n_results);
  CHECK_EQ_I(1, m.results[0].coef[1]);
  CHECK_EQ_I(0, m.results[1].coef[2]); /* size-1 dim broadcast: constant 0 */
  CHECK_EQ_I(0, m.results[2].coef[3]);
}

int main(void) {
  test_uses();
  test_types();
  test_broadcast_map();
  return check_report("test_ir");
}
