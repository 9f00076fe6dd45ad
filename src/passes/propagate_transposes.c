/* propagate_transposes.c — sink transposes toward the graph outputs until they cancel.
 *
 * A transpose is only a renaming of dims, so an op that reads transpose(x, p) can be
 * rewritten to compute in x's layout and be followed by one transpose(., p) instead:
 *   - elementwise generic (or a keepdims reduction): rename its loops (old loop i becomes new loop p[i]), read
 *     every operand that is transpose(x, p) as x with the identity map, permute the
 *     coefficients of every other operand's map (constants and broadcasts move with the
 *     loops, so no constant needs re-laying);
 *   - concat whose operands are all transpose(., p): concat along axis p[axis];
 *   - resize, pad, extract_slice: permute scales / pads / offsets and steps;
 *   - a reshape whose merged or split dims are consecutive and in order before the
 *     transpose (it keeps the moved dims intact): reshape in x's layout, then permute
 *     whole groups of dims.
 * One rewrite goes up instead: a transpose (or a reshape) of an elementwise generic whose
 * operands are all constants (a dequantize of int8 weights, which fold-constants keeps)
 * moves above it onto the constants, where it folds into them at compile time.
 * Each rewrite moves a transpose one op further down; transposes that meet are merged by
 * canonicalize (inverse pairs vanish), the next conv's to-NHWC transpose included. The
 * pass repeats until no transpose can move; a transpose that then follows a graph input
 * through single-use unary elementwise generics moves onto the input (hoist_to_input),
 * and one that still only feeds generics is folded into their indexing maps (they read
 * the untransposed value). Guarantees:
 * values and types of the function results are unchanged; what remains are transposes at graph inputs/outputs or in front
 * of ops that do not commute (matmul, gather, reshapes that mix moved dims). */
#include <string.h>

#include "passes.h"

static Op *transpose_def(const Value *v) {
  return v->def && v->def->kind == KILN_OP_TRANSPOSE ? v->def : NULL;
}

static bool same_perm(const Op *t, const int64_t *p, int rank) {
  for (int i = 0; i < rank; i++)
    if (t->attrs.perm[i] != p[i]) return false;
  return true;
}

/* Type of `t` with dim p[i] taken from dim i: the pre-transpose layout. */
static TensorType unpermuted(const TensorType *t, const int64_t *p) {
  TensorType u = *t;
  for (int i = 0; i < t->rank; i++) u.dims[p[i]] = t->dims[i];
  return u;
}

/* Appends transpose(v, p) right after v's producer `after`'s position (before `before`). */
static Value *transpose_to(Func *f, Value *v, const int64_t *p, const TensorType *t, Op *before) {
  Op *op = op_new(f, KILN_OP_TRANSPOSE, "sunk_transpose", 1, &v, 1, t, before);
  for (int i = 0; i < t->rank; i++) op->attrs.perm[i] = p[i];
  return op->out[0];
}

static void replace_with(Func *f, Op *old, Op *now, const int64_t *p) {
  Value *back = transpose_to(f, now->out[0], p, &old->out[0]->type, old);
  value_replace_uses(old->out[0], back);
  op_erase(old);
}

/* ---- elementwise generic ------------------------------------------------ */

static bool elementwise(const Op *g) {
  if (g->kind != KILN_OP_GENERIC || g->n_out != 1) return false;
  for (int l = 0; l < g->attrs.n_loops; l++)
    if (g->attrs.iterators[l] != ITER_PARALLEL) return false;
  return affine_is_identity(&g->attrs.maps[g->n_in], g->attrs.n_loops);
}

/* Elementwise, or a reduction that keeps its dims (output map: loop i, or 0 where loop i
 * reduces), like ReduceMean/ReduceMax with keepdims after import. */
static bool sinkable_generic(const Op *g) {
  if (g->kind != KILN_OP_GENERIC || g->n_out != 1) return false;
  const AffineMap *m = &g->attrs.maps[g->n_in];
  int n = g->attrs.n_loops;
  if (m->n_results != n) return false;
  for (int r = 0; r < n; r++) {
    bool reduced = g->attrs.iterators[r] == ITER_REDUCTION;
    if (m->results[r].cst) return false;
    for (int d = 0; d < KILN_MAX_RANK; d++)
      if (m->results[r].coef[d] != (!reduced && d == r)) return false;
  }
  return true;
}

/* A constant, or a transpose/reshape of one (not folded yet: fold-constants runs later). */
static bool is_constant(const Value *v) {
  const Op *d = v->def;
  while (d && (d->kind == KILN_OP_TRANSPOSE || d->kind == KILN_OP_RESHAPE)) d = d->in[0]->def;
  return d && d->kind == KILN_OP_CONSTANT;
}

/* The first operand that is a transpose read with the identity map. A transpose of a
 * constant is not sunk: it folds into the constant (and moving it down would undo
 * bubble_into_constants, forever). */
static const Op *sinkable_transpose(const Op *g) {
  for (int k = 0; k < g->n_in; k++) {
    const Op *t = transpose_def(g->in[k]);
    if (t && !is_constant(t->in[0]) && affine_is_identity(&g->attrs.maps[k], g->attrs.n_loops)) return t;
  }
  return NULL;
}

static AffineMap rename_loops(const AffineMap *m, const int64_t *p, int n_loops) {
  AffineMap r = *m;
  for (int res = 0; res < m->n_results; res++) {
    memset(r.results[res].coef, 0, sizeof r.results[res].coef);
    for (int i = 0; i < n_loops; i++) r.results[res].coef[p[i]] = m->results[res].coef[i];
  }
  return r;
}

static void sink_through_generic(Func *f, Op *g, const int64_t *p) {
  int n = g->attrs.n_loops;
  Value *ins[KILN_MAX_OPERANDS];
  AffineMap *maps = arena_alloc(&f->module->arena, sizeof(AffineMap) * (size_t)g->attrs.n_maps);
  KILN_ASSERT(maps);
  for (int k = 0; k < g->n_in; k++) {
    Op *t = transpose_def(g->in[k]);
    bool direct = t && same_perm(t, p, n) && affine_is_identity(&g->attrs.maps[k], n);
    ins[k] = direct ? t->in[0] : g->in[k];
    maps[k] = direct ? affine_identity(n) : rename_loops(&g->attrs.maps[k], p, n);
  }
  /* Output dim i moves to p[i], like the loops: result p[i] reads loop p[i] (or is 0). */
  AffineMap ren = rename_loops(&g->attrs.maps[g->n_in], p, n);
  maps[g->n_in] = ren;
  for (int i = 0; i < n; i++) maps[g->n_in].results[p[i]] = ren.results[i];
  TensorType out = unpermuted(&g->out[0]->type, p);
  Op *now = op_new(f, KILN_OP_GENERIC, g->name, g->n_in, ins, 1, &out, g);
  now->attrs = g->attrs;
  now->attrs.maps = maps;
  for (int i = 0; i < n; i++) now->attrs.iterators[p[i]] = g->attrs.iterators[i];
  replace_with(f, g, now, p);
}

/* ---- up into constants ----------------------------------------------------- */

/* transpose(g(c...), p) -> g'(transpose(c, p)...) when g is elementwise on constants. */
static bool bubble_into_constants(Func *f, Op *t) {
  Op *g = t->in[0]->def;
  if (!g || !elementwise(g) || !value_has_one_use(t->in[0])) return false;
  for (int k = 0; k < g->n_in; k++)
    if (!is_constant(g->in[k])) return false;
  int n = g->attrs.n_loops;
  int64_t pinv[KILN_MAX_RANK];
  for (int i = 0; i < n; i++) pinv[t->attrs.perm[i]] = i;
  Value *ins[KILN_MAX_OPERANDS];
  AffineMap *maps = arena_alloc(&f->module->arena, sizeof(AffineMap) * (size_t)g->attrs.n_maps);
  KILN_ASSERT(maps);
  for (int k = 0; k < g->n_in; k++) {
    bool direct = affine_is_identity(&g->attrs.maps[k], n);
    TensorType tt = t->out[0]->type;
    tt.dtype = g->in[k]->type.dtype;
    ins[k] = direct ? transpose_to(f, g->in[k], t->attrs.perm, &tt, g) : g->in[k];
    maps[k] = direct ? affine_identity(n) : rename_loops(&g->attrs.maps[k], pinv, n);
  }
  maps[g->n_in] = affine_identity(n);
  Op *now = op_new(f, KILN_OP_GENERIC, g->name, g->n_in, ins, 1, &t->out[0]->type, t);
  now->attrs = g->attrs;
  now->attrs.maps = maps;
  value_replace_uses(t->out[0], now->out[0]);
  op_erase(t);
  op_erase(g);
  return true;
}

/* reshape(g(c...)) -> g'(reshape(c)...) when g is elementwise on constants that are read
 * with the identity map or with loop-free maps (scalars): a reshape renames the element
 * positions of all identity-mapped operands alike and leaves scalars alone. */
static bool bubble_reshape_into_constants(Func *f, Op *r) {
  Op *g = r->in[0]->def;
  if (!g || !elementwise(g) || !value_has_one_use(r->in[0])) return false;
  int n = g->attrs.n_loops, rank = r->out[0]->type.rank;
  for (int k = 0; k < g->n_in; k++) {
    if (!is_constant(g->in[k])) return false;
    const AffineMap *m = &g->attrs.maps[k];
    bool scalar = true;
    for (int res = 0; res < m->n_results; res++)
      for (int d = 0; d < n; d++) scalar &= m->results[res].coef[d] == 0;
    if (!scalar && !affine_is_identity(m, n)) return false;
  }
  Value *ins[KILN_MAX_OPERANDS];
  AffineMap *maps = arena_alloc(&f->module->arena, sizeof(AffineMap) * (size_t)g->attrs.n_maps);
  KILN_ASSERT(maps);
  for (int k = 0; k < g->n_in; k++) {
    maps[k] = g->attrs.maps[k];
    ins[k] = g->in[k];
    if (!affine_is_identity(&g->attrs.maps[k], n) || n == 0) continue;
    TensorType tt = r->out[0]->type;
    tt.dtype = g->in[k]->type.dtype;
    ins[k] = op_new(f, KILN_OP_RESHAPE, "reshaped_constant", 1, &g->in[k], 1, &tt, g)->out[0];
    maps[k] = affine_identity(rank);
  }
  maps[g->n_in] = affine_identity(rank);
  Op *now = op_new(f, KILN_OP_GENERIC, g->name, g->n_in, ins, 1, &r->out[0]->type, r);
  now->attrs = g->attrs;
  now->attrs.maps = maps;
  now->attrs.n_loops = rank;
  for (int d = 0; d < rank; d++) now->attrs.iterators[d] = ITER_PARALLEL;
  value_replace_uses(r->out[0], now->out[0]);
  op_erase(r);
  op_erase(g);
  return true;
}

/* ---- named data-movement ops -------------------------------------------- */

static bool all_inputs_transposed(const Op *op, const int64_t *p, int rank) {
  for (int k = 0; k < op->n_in; k++) {
    const Op *t = transpose_def(op->in[k]);
    if (!t || !same_perm(t, p, rank)) return false;
  }
  return true;
}

static void sink_through_named(Func *f, Op *op, const int64_t *p) {
  int rank = op->out[0]->type.rank;
  Value **ins = arena_alloc(&f->module->arena, sizeof(Value *) * (size_t)op->n_in);
  KILN_ASSERT(ins);
  for (int k = 0; k < op->n_in; k++) ins[k] = op->in[k]->def->in[0];
  TensorType out = unpermuted(&op->out[0]->type, p);
  Op *now = op_new(f, op->kind, op->name, op->n_in, ins, 1, &out, op);
  OpAttrs *a = &now->attrs;
  *a = op->attrs;
  for (int i = 0; i < rank; i++) {
    a->scales[p[i]] = op->attrs.scales[i];
    a->pad_lo[p[i]] = op->attrs.pad_lo[i];
    a->pad_hi[p[i]] = op->attrs.pad_hi[i];
    a->offsets[p[i]] = op->attrs.offsets[i];
    a->steps[p[i]] = op->attrs.steps[i];
  }
  if (op->kind == KILN_OP_CONCAT) a->axis = p[op->attrs.axis];
  replace_with(f, op, now, p);
}

static bool is_movable_named(const Op *op) {
  switch (op->kind) {
  case KILN_OP_CONCAT: case KILN_OP_RESIZE: case KILN_OP_PAD: case KILN_OP_EXTRACT_SLICE:
    return op->n_in >= 1;
  default:
    return false;
  }
}

/* Moves one transpose below op if it can; returns whether it did. */
/* ---- through reshapes that keep the moved dims intact ----------------------- */

typedef struct Group {
  int a0, a1, b0, b1; /* dims [a0, a1) of the reshape's input map to [b0, b1) of its output */
} Group;

/* Splits a reshape A -> B into the smallest runs of dims with equal products; trailing
 * unit dims join the last run. Returns the number of groups, or -1. */
static int reshape_groups(const TensorType *a, const TensorType *b, Group *g) {
  int i = 0, j = 0, n = 0;
  while (i < a->rank && j < b->rank) {
    int64_t pa = a->dims[i++], pb = b->dims[j++];
    g[n] = (Group){i - 1, i, j - 1, j};
    while (pa != pb) {
      if (pa < pb && i < a->rank) pa *= a->dims[i++];
      else if (pb < pa && j < b->rank) pb *= b->dims[j++];
      else return -1;
      if (pa == 0 || pb == 0) return -1;
    }
    g[n].a1 = i, g[n].b1 = j;
    n++;
  }
  for (; i < a->rank; i++) if (a->dims[i] != 1 || !n) return -1;
  for (; j < b->rank; j++) if (b->dims[j] != 1 || !n) return -1;
  if (n) g[n - 1].a1 = a->rank, g[n - 1].b1 = b->rank;
  return n;
}

/* reshape(transpose(x, p)) -> transpose(reshape(x), q) when every group of the reshape
 * reads dims that are consecutive and in order in x: the groups are reshaped in x's
 * layout, and q permutes whole groups as p did. */
static bool sink_through_reshape(Func *f, Op *r) {
  const Op *t = transpose_def(r->in[0]);
  if (!t || is_constant(t->in[0])) return false;
  const int64_t *p = t->attrs.perm;
  Group g[KILN_MAX_RANK];
  int n = reshape_groups(&r->in[0]->type, &r->out[0]->type, g);
  if (n <= 0) return false;
  for (int k = 0; k < n; k++)
    for (int i = g[k].a0; i + 1 < g[k].a1; i++)
      if (p[i + 1] != p[i] + 1) return false;
  /* Order the groups as x has them, lay out the reshaped value y in that order. */
  int order[KILN_MAX_RANK], start[KILN_MAX_RANK];
  for (int k = 0; k < n; k++) order[k] = k;
  for (int k = 1; k < n; k++)
    for (int m = k; m > 0 && p[g[order[m]].a0] < p[g[order[m - 1]].a0]; m--) {
      int tmp = order[m]; order[m] = order[m - 1]; order[m - 1] = tmp;
    }
  TensorType y = r->out[0]->type;
  for (int k = 0, pos = 0; k < n; k++) {
    const Group *gk = &g[order[k]];
    start[order[k]] = pos;
    for (int b = gk->b0; b < gk->b1; b++) y.dims[pos++] = r->out[0]->type.dims[b];
  }
  Value *x = t->in[0];
  Op *ry = op_new(f, KILN_OP_RESHAPE, r->name, 1, &x, 1, &y, r);
  int64_t q[KILN_MAX_RANK];
  for (int k = 0; k < n; k++)
    for (int b = g[k].b0; b < g[k].b1; b++) q[b] = start[k] + (b - g[k].b0);
  Value *back = transpose_to(f, ry->out[0], q, &r->out[0]->type, r);
  value_replace_uses(r->out[0], back);
  op_erase(r);
  return true;
}

static bool is_reshape(const Op *op) {
  return op->kind == KILN_OP_RESHAPE || op->kind == KILN_OP_COLLAPSE_SHAPE ||
         op->kind == KILN_OP_EXPAND_SHAPE;
}

static bool try_sink(Func *f, Op *op) {
  if (op->kind == KILN_OP_TRANSPOSE) return bubble_into_constants(f, op);
  if (op->kind == KILN_OP_RESHAPE && bubble_reshape_into_constants(f, op)) return true;
  if (is_reshape(op)) return sink_through_reshape(f, op);
  if (sinkable_generic(op)) {
    const Op *t = sinkable_transpose(op);
    if (!t) return false;
    int64_t p[KILN_MAX_RANK];
    memcpy(p, t->attrs.perm, sizeof p);
    sink_through_generic(f, op, p);
    return true;
  }
  if (!is_movable_named(op)) return false;
  const Op *t = transpose_def(op->in[0]);
  int rank = op->out[0]->type.rank;
  if (!t || !all_inputs_transposed(op, t->attrs.perm, rank)) return false;
  int64_t p[KILN_MAX_RANK];
  memcpy(p, t->attrs.perm, sizeof p);
  sink_through_named(f, op, p);
  return true;
}

/* ---- fold what is left into the consumers' indexing maps ------------------- */

/* A transpose none of whose uses could take it as a renaming (e.g. a transpose of a graph
 * input read by an elementwise op that also reads an untransposed value) but all of whose
 * uses are generics: each generic reads x directly, with its map's results permuted
 * (transpose(x, p)[e] = x[r] where r[p[j]] = e[j]). The transpose disappears. */
static bool fold_into_consumer_maps(Op *t) {
  if (t->kind != KILN_OP_TRANSPOSE || value_is_result(t->out[0]) || !t->out[0]->uses) return false;
  if (is_constant(t->in[0])) return false;
  for (const Use *u = t->out[0]->uses; u; u = u->next)
    if (u->user->kind != KILN_OP_GENERIC) return false;
  while (t->out[0]->uses) {
    Use *u = t->out[0]->uses;
    AffineMap *m = &u->user->attrs.maps[u->index], old = *m;
    for (int j = 0; j < old.n_results; j++) m->results[t->attrs.perm[j]] = old.results[j];
    op_set_operand(u->user, u->index, t->in[0]);
  }
  op_erase(t);
  return true;
}

/* ---- up to a graph input ------------------------------------------------------ */

/* A single-use elementwise generic of one operand read with the identity map (an input
 * quantize, a zero-point widening, a normalization by constants inlined in the body). */
static bool unary_chain_link(const Op *g) {
  return g && elementwise(g) && g->n_in == 1 && value_has_one_use(g->out[0]) &&
         affine_is_identity(&g->attrs.maps[0], g->attrs.n_loops);
}

/* After sinking: a transpose that follows a graph input through such generics only (an
 * NCHW model input quantized, then widened, before the first NHWC conv) moves onto the
 * input, so it is a boundary transpose and the chain computes in the conv's layout. Done
 * once, after the sinking loop, which would otherwise move it back down. */
static bool hoist_to_input(Func *f, Op *t) {
  Op *chain[16];
  int n = 0;
  const Value *v = t->in[0];
  if (t->kind != KILN_OP_TRANSPOSE) return false;
  while (v->def && n < 16 && unary_chain_link(v->def)) chain[n++] = v->def, v = v->def->in[0];
  if (!n || v->def) return false; /* not a function argument at the top */
  int rank = t->out[0]->type.rank;
  TensorType tt = t->out[0]->type;
  tt.dtype = v->type.dtype;
  Value *x = transpose_to(f, (Value *)v, t->attrs.perm, &tt, chain[n - 1]);
  for (int i = n - 1; i >= 0; i--) {
    TensorType ot = t->out[0]->type;
    ot.dtype = chain[i]->out[0]->type.dtype;
    Op *now = op_new(f, KILN_OP_GENERIC, chain[i]->name, 1, &x, 1, &ot, chain[i]);
    now->attrs = chain[i]->attrs;
    now->attrs.maps = arena_alloc(&f->module->arena, 2 * sizeof(AffineMap));
    KILN_ASSERT(now->attrs.maps);
    now->attrs.maps[0] = now->attrs.maps[1] = affine_identity(rank);
    x = now->out[0];
  }
  value_replace_uses(t->out[0], x);
  op_erase(t);
  for (int i = 0; i < n; i++) op_erase(chain[i]);
  return true;
}

KilnStatus pass_propagate_transposes(Func *f, PassContext *ctx) {
  (void)ctx;
  for (bool changed = true; changed;) {
    changed = false;
    for (Op *op = f->first, *next; op; op = next) {
      next = op->next;
      changed |= try_sink(f, op);
    }
  }
  for (Op *op = f->first, *next; op; op = next) {
    next = op->next;
    if (!hoist_to_input(f, op)) fold_into_consumer_maps(op);
  }
  return KILN_OK;
}
