/* fold_constants.c — constant folding, including weight-only subgraphs.
 *
 * An op all of whose operands are constants with data is evaluated at compile time
 * (through ctx->fold_op, which the caller wires to the reference interpreter) and
 * replaced by constants. Walking in order folds whole chains (weight transposes,
 * reshapes, scale multiplies) in one sweep. Not folded:
 *   - results larger than ctx->fold_max_elems and larger than the operands (folding
 *     would only grow the model, e.g. a broadcast of a scalar to an activation shape);
 *   - dequantize-like generics (a cast from i8/u8 to float in the body): int8 weights
 *     stay int8 for the quantized path;
 *   - dispatch regions. */
#include "passes.h"

static bool is_const_with_data(const Module *m, const Value *v) {
  return v->def && v->def->kind == KILN_OP_CONSTANT && m->consts[v->def->attrs.const_index].data;
}

static bool dequantizes(const Op *op) {
  if (op->kind != KILN_OP_GENERIC) return false;
  const Body *b = &op->attrs.body;
  for (int i = 0; i < b->n_insts; i++) {
    const BodyInst *in = &b->insts[i];
    if (in->kind != BODY_CAST || !dtype_is_float(in->dtype)) continue;
    DType from = b->insts[in->args[0]].dtype;
    if (from == KILN_I8 || from == KILN_U8) return true;
  }
  return false;
}

static bool worth_folding(const Module *m, const Op *op, int64_t max_elems) {
  if (op->kind == KILN_OP_CONSTANT || op->kind == KILN_OP_DISPATCH || op->n_in == 0) return false;
  int64_t in_elems = 0, out_elems = 0;
  for (int i = 0; i < op->n_in; i++) {
    if (!is_const_with_data(m, op->in[i])) return false;
    in_elems += type_numel(&op->in[i]->type);
  }
  for (int i = 0; i < op->n_out; i++) out_elems += type_numel(&op->out[i]->type);
  if (out_elems > max_elems && out_elems > in_elems) return false;
  return !dequantizes(op);
}

static KilnStatus fold(Func *f, Op *op, PassContext *ctx) {
  int idx[KILN_MAX_OPERANDS];
  if (op->n_out > KILN_MAX_OPERANDS) return KILN_OK;
  KilnStatus st = ctx->fold_op(f->module, op, idx, ctx->diag);
  if (st) return st;
  for (int i = 0; i < op->n_out; i++) {
    Constant *c = &f->module->consts[idx[i]];
    Op *k = op_new(f, KILN_OP_CONSTANT, c->name, 0, NULL, 1, &c->type, op);
    k->attrs.const_index = idx[i];
    value_replace_uses(op->out[i], k->out[0]);
  }
  op_erase(op);
  return KILN_OK;
}

KilnStatus pass_fold_constants(Func *f, PassContext *ctx) {
  if (!ctx->fold_op) return KILN_OK;
  for (Op *op = f->first, *next; op; op = next) {
    next = op->next;
    if (!worth_folding(f->module, op, ctx->fold_max_elems)) continue;
    KilnStatus st = fold(f, op, ctx);
    if (st) return st;
  }
  return KILN_OK;
}
