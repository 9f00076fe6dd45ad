/* test_verify.c — the verifier accepts a well-formed function and names the op for each
 * kind of breakage a buggy pass could leave behind. */
#include "check.h"
#include "ir/ir.h"

static TensorType t2(int64_t a, int64_t b) {
  int64_t dims[2] = {a, b};
  return type_make(KILN_F32, 2, dims);
}

static Op *neg(Func *f, Value *x, const char *name) {
  Op *op = op_new(f, KILN_OP_GENERIC, name, 1, &x, 1, &x->type, NULL);
  OpAttrs *a = &op->attrs;
  a->n_loops = 2;
  a->n_maps = 2;
  a->maps = arena_alloc(&f->module->arena, 2 * sizeof(AffineMap));
  a->maps[0] = a->maps[1] = affine_identity(2);
  a->body = body_new(f->module, 2, 1);
  a->body.insts[0] = (BodyInst){.kind = BODY_ARG, .dtype = KILN_F32, .imm_i = 0};
  a->body.insts[1] = (BodyInst){.kind = BODY_NEG, .dtype = KILN_F32, .n_args = 1, .args = {0}};
  a->body.yields[0] = 1;
  return op;
}

typedef struct Fixture {
  Module *m;
  Func *f;
  Op *n1, *tr;
} Fixture;

static Fixture build(void) {
  Fixture x;
  x.m = module_new();
  x.f = x.m->main = func_new(x.m, "main");
  Value *a = func_add_arg(x.f, t2(3, 4), "a");
  x.n1 = neg(x.f, a, "n1");
  TensorType tt = t2(4, 3);
  x.tr = op_new(x.f, KILN_OP_TRANSPOSE, "tr", 1, &x.n1->out[0], 1, &tt, NULL);
  x.tr->attrs.perm[0] = 1;
  x.tr->attrs.perm[1] = 0;
  func_set_results(x.f, 1, &x.tr->out[0], (const char *[]){"y"});
  return x;
}

static void expect(Fixture *x, const char *needle) {
  Diag d = {0};
  CHECK(func_verify(x->f, &d) != KILN_OK);
  CHECK_STR_CONTAINS(d.msg, needle);
  module_free(x->m);
}

int main(void) {
  Fixture x = build();
  Diag d = {0};
  CHECK(func_verify(x.f, &d) == KILN_OK);
  if (d.status) fprintf(stderr, "unexpected: %s\n", d.msg);
  module_free(x.m);

  x = build(); /* wrong result type after a bad rewrite */
  x.tr->out[0]->type = t2(3, 4);
  expect(&x, "op 'tr' (kiln.transpose): result 0 has type tensor<3x4xf32>, expected tensor<4x3xf32>");

  x = build(); /* a map whose rank is not the operand's */
  x.n1->attrs.maps[0].n_results = 1;
  expect(&x, "op 'n1' (kiln.generic): map 0 has 1 results for an operand of rank 2");

  x = build(); /* body reads a later instruction */
  x.n1->attrs.body.insts[1].args[0] = 1;
  expect(&x, "op 'n1' (kiln.generic): body inst 1 uses inst 1");

  x = build(); /* body reads a block argument that does not exist */
  x.n1->attrs.body.insts[0].imm_i = 5;
  expect(&x, "reads block argument 5");

  x = build(); /* operand written behind the use list's back: n1 keeps a stale use, found first */
  x.tr->in[0] = x.f->args[0];
  expect(&x, "op 'n1' (kiln.generic): result 0 has a stale use");

  x = build(); /* a use list entry dropped while the operand stays */
  x.n1->out[0]->uses = NULL;
  expect(&x, "op 'tr' (kiln.transpose): operand 0 is missing from its use list");

  x = build(); /* use before definition: move the transpose in front of its producer */
  Op *tr = x.tr;
  x.f->last = x.n1;
  x.n1->next = NULL;
  tr->prev = NULL;
  tr->next = x.f->first;
  x.f->first->prev = tr;
  x.f->first = tr;
  expect(&x, "op 'tr' (kiln.transpose): operand 0 is used before its definition");

  x = build(); /* too many operands for the op kind */
  x.tr->n_in = 2;
  expect(&x, "has 2 operands, expected 1");

  return check_report("test_verify");
}
