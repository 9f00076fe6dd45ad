/* canonicalize.c — local simplifications that every later pass may assume.
 *
 * Patterns (each removes an op or merges two; applied until nothing changes):
 *   - an op whose result has its operand's type and does nothing: identity transpose,
 *     reshape/collapse/expand to the same type, zero pad, full-extent unit-step slice,
 *     single-operand concat, a generic with identity maps that yields its input;
 *   - transpose of a transpose: one transpose with the composed permutation;
 *   - reshape of a reshape (or collapse/expand): one reshape of the first operand;
 *   - a transpose that only moves unit dims (the non-unit dims keep their order) is a
 *     reshape: e.g. NHWC 1x1x1xC -> NCHW 1xCx1x1 after global pooling.
 * Producers left without uses (the inner transpose or reshape) are left for DCE. */
#include "passes.h"

static bool is_identity_perm(const Op *op) {
  for (int i = 0; i < op->out[0]->type.rank; i++)
    if (op->attrs.perm[i] != i) return false;
  return true;
}

static bool is_zero_pad(const Op *op) {
  for (int i = 0; i < op->out[0]->type.rank; i++)
    if (op->attrs.pad_lo[i] || op->attrs.pad_hi[i]) return false;
  return true;
}

static bool is_full_slice(const Op *op) {
  for (int i = 0; i < op->out[0]->type.rank; i++)
    if (op->attrs.offsets[i] || op->attrs.steps[i] != 1) return false;
  return true;
}

/* A generic whose every map is the identity and whose body yields block argument 0. */
static bool is_copy_generic(const Op *op) {
  if (op->n_in != 1 || op->n_out != 1) return false;
  const OpAttrs *a = &op->attrs;
  for (int k = 0; k < a->n_maps; k++)
    if (!affine_is_identity(&a->maps[k], a->n_loops)) return false;
  const BodyInst *y = &a->body.insts[a->body.yields[0]];
  return y->kind == BODY_ARG && y->imm_i == 0;
}

static bool is_noop(const Op *op) {
  if (op->n_in < 1 || op->n_out != 1 || !type_equal(&op->in[0]->type, &op->out[0]->type))
    return false;
  switch (op->kind) {
  case KILN_OP_TRANSPOSE: return is_identity_perm(op);
  case KILN_OP_RESHAPE: case KILN_OP_COLLAPSE_SHAPE: case KILN_OP_EXPAND_SHAPE: return true;
  case KILN_OP_PAD: return is_zero_pad(op);
  case KILN_OP_EXTRACT_SLICE: return is_full_slice(op);
  case KILN_OP_CONCAT: return op->n_in == 1;
  case KILN_OP_GENERIC: return is_copy_generic(op);
  default: return false;
  }
}

static bool is_reshape_kind(OpKind k) {
  return k == KILN_OP_RESHAPE || k == KILN_OP_COLLAPSE_SHAPE || k == KILN_OP_EXPAND_SHAPE;
}

/* transpose(transpose(x, p), q) = transpose(x, r) with r[i] = p[q[i]]. */
static bool merge_transposes(Op *op) {
  if (op->kind != KILN_OP_TRANSPOSE) return false;
  Op *inner = op->in[0]->def;
  if (!inner || inner->kind != KILN_OP_TRANSPOSE) return false;
  int64_t r[KILN_MAX_RANK];
  for (int i = 0; i < op->out[0]->type.rank; i++) r[i] = inner->attrs.perm[op->attrs.perm[i]];
  for (int i = 0; i < op->out[0]->type.rank; i++) op->attrs.perm[i] = r[i];
  op_set_operand(op, 0, inner->in[0]);
  return true;
}

static bool merge_reshapes(Op *op) {
  if (!is_reshape_kind(op->kind)) return false;
  Op *inner = op->in[0]->def;
  if (!inner || !is_reshape_kind(inner->kind)) return false;
  op->kind = KILN_OP_RESHAPE;
  op->attrs.n_reassoc = 0;
  op_set_operand(op, 0, inner->in[0]);
  return true;
}

/* True when the dims of size > 1 appear in the same order before and after the transpose. */
static bool moves_only_unit_dims(const Op *op) {
  int64_t last = -1;
  for (int i = 0; i < op->out[0]->type.rank; i++) {
    if (op->in[0]->type.dims[op->attrs.perm[i]] == 1) continue;
    if (op->attrs.perm[i] < last) return false;
    last = op->attrs.perm[i];
  }
  return true;
}

static bool transpose_to_reshape(Op *op) {
  if (op->kind != KILN_OP_TRANSPOSE || !moves_only_unit_dims(op)) return false;
  op->kind = KILN_OP_RESHAPE;
  return true;
}

/* Returns true if it changed something; a no-op is erased (its users read its operand). */
static bool simplify(Op *op) {
  if (is_noop(op)) {
    value_replace_uses(op->out[0], op->in[0]);
    op_erase(op);
    return true;
  }
  return transpose_to_reshape(op) || merge_transposes(op) || merge_reshapes(op);
}

KilnStatus pass_canonicalize(Func *f, PassContext *ctx) {
  (void)ctx;
  for (bool changed = true; changed;) {
    changed = false;
    for (Op *op = f->first, *next; op; op = next) {
      next = op->next;
      changed |= simplify(op);
    }
  }
  return KILN_OK;
}
