/* propagate_reshapes.c — push unit-dim reshapes down through elementwise generics.
 *
 * A reshape (reshape, collapse_shape or expand_shape) whose operand and result have the
 * same non-unit dims in the same order only inserts or removes size-1 dims. Such a
 * reshape r = reshape(x) read by an all-parallel generic g with identity output maps,
 * with r read through the identity map, moves below g:
 *   g(..., reshape(x), ...)  ->  reshape(g'(..., x, ...))
 * g' iterates over x's shape: each old loop over a non-unit dim becomes the loop of the
 * matching dim of x, each old loop over a unit dim becomes the constant 0, in every map
 * of g (so per-channel and other broadcast operands keep reading the same elements);
 * g's results get x's shape and a reshape back to their old type. Applied until no
 * reshape moves, so reshapes sink to a named op, a non-elementwise op or the function
 * results, where canonicalize merges them (a reshape chain becomes one reshape, and a
 * reshape to its operand's type disappears) and the generics between them fuse.
 * Not handled: reshapes that split or merge non-unit dims, and bubbling reshapes up.
 * Guarantees: same numbers; every rewritten generic computes the same elements. */
#include "passes.h"

static bool is_reshape(const Op *op) {
  return op->kind == KILN_OP_RESHAPE || op->kind == KILN_OP_COLLAPSE_SHAPE ||
         op->kind == KILN_OP_EXPAND_SHAPE;
}

/* For a unit-dim-only reshape from `in` to `out`: sigma[j] = the dim of `in` matching
 * non-unit dim j of `out`, -1 for unit dims of `out`. False if non-unit dims differ. */
static bool unit_dim_map(const TensorType *in, const TensorType *out, int *sigma) {
  int i = 0;
  for (int j = 0; j < out->rank; j++) {
    sigma[j] = -1;
    if (out->dims[j] == 1) continue;
    while (i < in->rank && in->dims[i] == 1) i++;
    if (i == in->rank || in->dims[i] != out->dims[j]) return false;
    sigma[j] = i++;
  }
  while (i < in->rank && in->dims[i] == 1) i++;
  return i == in->rank;
}

/* g can take x in place of its operand k (a reshape result of g's loop shape). */
static bool can_push(const Op *g, int k) {
  const OpAttrs *a = &g->attrs;
  if (g->kind != KILN_OP_GENERIC || g->n_out > KILN_MAX_OPERANDS ||
      !affine_is_identity(&a->maps[k], a->n_loops))
    return false;
  for (int l = 0; l < a->n_loops; l++)
    if (a->iterators[l] != ITER_PARALLEL) return false;
  for (int o = 0; o < g->n_out; o++)
    if (!affine_is_identity(&a->maps[g->n_in + o], a->n_loops)) return false;
  return true;
}

/* Old loop j := new loop sigma[j], or 0 where sigma[j] < 0. */
static AffineMap substitute(const AffineMap *m, const int *sigma, int n_old) {
  AffineMap out = {.n_results = m->n_results};
  for (int r = 0; r < m->n_results; r++) {
    out.results[r].cst = m->results[r].cst;
    for (int j = 0; j < n_old; j++)
      if (sigma[j] >= 0) out.results[r].coef[sigma[j]] += m->results[r].coef[j];
  }
  return out;
}

/* Builds g' over x's shape, replaces g's results with reshapes of g''s; erases g. */
static void push_through(Func *f, Op *g, int k, Value *x, const int *sigma) {
  const OpAttrs *a = &g->attrs;
  int n_old = a->n_loops, n_new = x->type.rank;
  TensorType out_t[KILN_MAX_OPERANDS];
  for (int o = 0; o < g->n_out; o++) {
    out_t[o] = x->type;
    out_t[o].dtype = g->out[o]->type.dtype;
  }
  Value **ins = g->in;
  Op *ng = op_new(f, KILN_OP_GENERIC, g->name, g->n_in, ins, g->n_out, out_t, g);
  op_set_operand(ng, k, x);
  ng->attrs = *a;
  ng->attrs.n_loops = n_new;
  for (int l = 0; l < n_new; l++) ng->attrs.iterators[l] = ITER_PARALLEL;
  ng->attrs.maps = arena_alloc(&f->module->arena, sizeof(AffineMap) * (size_t)a->n_maps);
  KILN_ASSERT(ng->attrs.maps);
  for (int m = 0; m < a->n_maps; m++) ng->attrs.maps[m] = substitute(&a->maps[m], sigma, n_old);
  ng->attrs.maps[k] = affine_identity(n_new);
  for (int o = 0; o < g->n_out; o++) {
    ng->attrs.maps[g->n_in + o] = affine_identity(n_new);
    Value *v = ng->out[o];
    Op *r = op_new(f, KILN_OP_RESHAPE, g->out[o]->name ? g->out[o]->name : g->name, 1, &v, 1,
                   &g->out[o]->type, g);
    value_replace_uses(g->out[o], r->out[0]);
  }
  op_erase(g);
}

static Use *first_pushable_use(const Value *v) {
  for (Use *u = v->uses; u; u = u->next)
    if (can_push(u->user, u->index)) return u;
  return NULL;
}

/* Pushes reshape r into each eligible user; returns true if any moved. */
static bool push_reshape(Func *f, Op *r) {
  int sigma[KILN_MAX_RANK];
  if (!is_reshape(r) || !unit_dim_map(&r->in[0]->type, &r->out[0]->type, sigma)) return false;
  bool moved = false;
  for (Use *u; (u = first_pushable_use(r->out[0]));) { /* each push drops a use of r */
    push_through(f, u->user, u->index, r->in[0], sigma);
    moved = true;
  }
  if (moved && !r->out[0]->uses && !value_is_result(r->out[0])) op_erase(r);
  return moved;
}

KilnStatus pass_propagate_reshapes(Func *f, PassContext *ctx) {
  (void)ctx;
  for (bool changed = true; changed;) {
    changed = false;
    for (Op *op = f->first, *next; op; op = next) {
      Op *prev = op->prev; /* survives the rewrite; op and its user may not */
      next = op->next;
      if (!push_reshape(f, op)) continue;
      changed = true;
      next = prev ? prev->next : f->first;
    }
  }
  return KILN_OK;
}
