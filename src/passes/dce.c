/* dce.c — dead code elimination.
 *
 * Erases every op none of whose results is used by another op or returned by the
 * function. Walks backwards so a whole dead chain goes in one sweep. Constants in the
 * module's pool are not compacted here (the pool is an arena; unused entries cost only
 * memory until the module is freed). */
#include "passes.h"

static bool is_dead(const Op *op) {
  for (int i = 0; i < op->n_out; i++)
    if (op->out[i]->uses || value_is_result(op->out[i])) return false;
  return true;
}

KilnStatus pass_dce(Func *f, PassContext *ctx) {
  (void)ctx;
  for (Op *op = f->last, *prev; op; op = prev) {
    prev = op->prev;
    if (is_dead(op)) op_erase(op);
  }
  return KILN_OK;
}
