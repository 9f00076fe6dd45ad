/* sink_pads.c — a constant pad moves below the elementwise ops that read it.
 *
 *   g(pad(x, value v)) = pad(g(x), value g(v))
 * holds for an elementwise generic g whose only operand is the pad (identity maps, every
 * loop parallel): each element of the result depends on the same element of the operand,
 * and every padded element of the operand holds v. TensorFlow-style int8 models pad
 * before the input fake-quant of each conv (pad -> divf, roundeven, ..., mulf -> conv);
 * sinking the pad through that chain brings it next to the conv, whose fake-quant of 0 is
 * 0 again, so fold-pad can fold it into the conv's own padding instead of copying the
 * tensor. g(v) is computed by the folding hook (the reference interpreter) on a one-element
 * constant, so the rewrite is exact by construction. Pads that crop, pads with other
 * uses, and generics with several operands stay as they are. */
#include <string.h>

#include "passes.h"

static bool all_parallel_identity(const Op *g) {
  const OpAttrs *a = &g->attrs;
  int rank = g->out[0]->type.rank;
  if (g->n_in != 1 || g->n_out != 1 || a->n_loops != rank || a->n_maps != 2 ||
      !affine_is_identity(&a->maps[0], rank) || !affine_is_identity(&a->maps[1], rank))
    return false;
  for (int l = 0; l < a->n_loops; l++)
    if (a->iterators[l] != ITER_PARALLEL) return false;
  return true;
}

static bool sinkable(const Op *pad, const Op *g) {
  if (pad->kind != KILN_OP_PAD || pad->attrs.pad_mode != PAD_CONSTANT ||
      !value_has_one_use(pad->out[0]) || !g || g->kind != KILN_OP_GENERIC ||
      !all_parallel_identity(g))
    return false;
  for (int i = 0; i < pad->in[0]->type.rank; i++)
    if (pad->attrs.pad_lo[i] < 0 || pad->attrs.pad_hi[i] < 0) return false;
  DType t = pad->out[0]->type.dtype;
  return t == KILN_F32 || t == KILN_I8 || t == KILN_U8 || t == KILN_I32;
}

/* One element of dtype t holding v (float: rounded; int: v is already integral). */
static void store_one(void *p, DType t, double v) {
  switch (t) {
  case KILN_F32: *(float *)p = (float)v; break;
  case KILN_I8: *(int8_t *)p = (int8_t)v; break;
  case KILN_U8: *(uint8_t *)p = (uint8_t)v; break;
  default: *(int32_t *)p = (int32_t)v; break;
  }
}

static double load_one(const void *p, DType t) {
  switch (t) {
  case KILN_F32: return *(const float *)p;
  case KILN_I8: return *(const int8_t *)p;
  case KILN_U8: return *(const uint8_t *)p;
  default: return *(const int32_t *)p;
  }
}

/* g applied to one element of value v, through the folding hook; false if it can't. */
static bool body_at(Func *f, PassContext *ctx, const Op *g, double v, double *out) {
  Module *m = f->module;
  TensorType one = g->in[0]->type, res = g->out[0]->type;
  for (int i = 0; i < one.rank; i++) one.dims[i] = res.dims[i] = 1;
  int64_t data = 0;
  store_one(&data, one.dtype, v);
  int ci = module_add_const(m, "sink_pads_probe", one, &data);
  if (ci < 0) return false;
  Value *c = op_const(f, ci);
  Op *probe = op_new(f, KILN_OP_GENERIC, "sink_pads_probe", 1, &c, 1, &res, NULL);
  probe->attrs = g->attrs; /* maps and body are only read */
  int out_ci = -1;
  bool ok = ctx->fold_op(m, probe, &out_ci, ctx->diag) == KILN_OK && out_ci >= 0 &&
            m->consts[out_ci].data;
  if (ok) *out = load_one(m->consts[out_ci].data, res.dtype);
  op_erase(probe);
  op_erase(c->def);
  return ok;
}

/* pad(x) -> g  becomes  g'(x) -> pad'; returns the new pad. */
static Op *sink(Func *f, Op *pad, Op *g, double value) {
  Value *x = pad->in[0];
  TensorType t = x->type;
  t.dtype = g->out[0]->type.dtype;
  Op *g2 = op_new(f, KILN_OP_GENERIC, g->name, 1, &x, 1, &t, g);
  g2->attrs = g->attrs; /* identity maps over the unpadded shape: loops follow the operand */
  Op *p2 = op_new(f, KILN_OP_PAD, pad->name, 1, &g2->out[0], 1, &g->out[0]->type, g);
  p2->attrs = pad->attrs;
  p2->attrs.pad_value = value;
  value_replace_uses(g->out[0], p2->out[0]);
  op_erase(g);
  op_erase(pad);
  return p2;
}

KilnStatus pass_sink_pads(Func *f, PassContext *ctx) {
  if (!ctx->fold_op) return KILN_OK;
  for (bool changed = true; changed;) {
    changed = false;
    for (Op *op = f->first; op; op = op->next) {
      const Use *u = op->kind == KILN_OP_PAD ? op->out[0]->uses : NULL;
      Op *g = u ? u->user : NULL;
      double v;
      if (!sinkable(op, g) || !body_at(f, ctx, g, op->attrs.pad_value, &v)) continue;
      op = sink(f, op, g, v);
      changed = true;
    }
  }
  return KILN_OK;
}
