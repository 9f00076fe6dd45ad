/* fold.c — evaluating one op on constant operands, for the constant-folding pass.
 *
 * The op is copied into a scratch function of the same module whose arguments are its
 * constants, run with the interpreter, and its results become new module constants. The
 * scratch function stays in the arena (the module frees it); the original function is
 * untouched, so the pass decides what to replace. */
#include "interp.h"

KilnStatus interp_fold_op(Module *m, const Op *op, int *const_out, Diag *d) {
  if (op->n_in > KILN_MAX_OPERANDS || op->n_out > KILN_MAX_OPERANDS)
    return diag_error(d, KILN_ERR_LIMIT, "fold: op '%s' has too many operands", op->name);
  Func *tmp = func_new(m, "fold");
  Value *ins[KILN_MAX_OPERANDS], *res[KILN_MAX_OPERANDS];
  TensorType types[KILN_MAX_OPERANDS];
  for (int i = 0; i < op->n_in; i++) ins[i] = op_const(tmp, op->in[i]->def->attrs.const_index);
  for (int i = 0; i < op->n_out; i++) types[i] = op->out[i]->type;
  Op *copy = op_new(tmp, op->kind, op->name, op->n_in, ins, op->n_out, types, NULL);
  copy->attrs = op->attrs;
  for (int i = 0; i < op->n_out; i++) res[i] = copy->out[i];
  func_set_results(tmp, op->n_out, res, NULL);
  Tensor *outs[KILN_MAX_OPERANDS] = {0};
  KilnStatus st = interp_run(tmp, NULL, outs, d);
  for (int i = 0; i < op->n_out && !st; i++) {
    const_out[i] = module_add_const(m, op->name, outs[i]->type, outs[i]->data);
    if (const_out[i] < 0) st = diag_error(d, KILN_ERR_NOMEM, "fold: out of memory");
  }
  for (int i = 0; i < op->n_out; i++) tensor_free(outs[i]);
  return st;
}
