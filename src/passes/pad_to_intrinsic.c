/* pad_to_intrinsic.c — pads convs, depthwise convs and matmuls to the target's intrinsic
 * tile sizes, and lets the padded shape flow through the elementwise ops that follow.
 *
 * Runs after reshape propagation and before 1x1-conv-to-matmul (design step 6), with a
 * target (PassContext.target; none: the pass does nothing). Two phases:
 *
 * 1. Pad each root. NHWC conv_2d (one group): OH to a multiple of the cores, OW of the
 *    target's ow, OC of oc, IC of ic. Depthwise NHWC: OH, OW as a conv, its channels (both
 *    in and out, there is no reduction over them) to a multiple of oc. 2-D matmul
 *    [M,K]x[K,N]: M like OW, K like IC, N like OC. Constant weights and biases are padded
 *    with zeros at compile time (new constants); other operands through a zero kiln.pad
 *    (the activation, or the dequantize of int8 weights), which dispatch formation fuses
 *    into the root's region as a producer. The spatial padding of the activation is on the
 *    bottom/right, exactly enough that the conv (its own pads unchanged) yields the padded
 *    OH x OW. The root's result is then sliced back to the true shape (kiln.extract_slice
 *    at offset 0) for its users.
 *
 * 2. Sink the slices through elementwise generics: a parallel generic that reads a slice
 *    back from a padded tensor (through an identity map) is rewritten to compute on the
 *    padded shape — the slice's source is read directly, every other operand indexed by a
 *    padded loop is padded too (per-channel constants with zeros at compile time, residual
 *    tensors through a zero kiln.pad, or through the source of their own slice) — and its
 *    result is sliced back. Repeated until no generic moves, so the slice ends up once,
 *    right before the first consumer that needs the true shape (another conv, pool,
 *    reduction, resize, concat, reshape or a graph output).
 *
 * Padded lanes never leak: convs read zeros in the padded input channels and rows, padded
 * weights and biases are zeros, elementwise ops compute each lane from the same lane only
 * (operand maps are identities or broadcasts on the padded loops, checked), and every
 * other consumer reads through the slice; a conv whose input was padded-and-sliced pads
 * the true values again with zeros rather than reading the previous op's padded lanes.
 * Guarantees: the function's results are unchanged. */
#include <string.h>

#include "passes.h"

/* The pass's state: the function, the target, and the slices it created (only those are
 * sunk; a slice that came from the model is left alone). */
typedef struct Padder {
  Func *f;
  const Target *t;
  Op **slices;
  int n_slices, cap_slices;
} Padder;

static int64_t round_up(int64_t n, int64_t m) { return m > 1 ? (n + m - 1) / m * m : n; }

static bool same_dims(const TensorType *t, const int64_t *dims) {
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] != dims[i]) return false;
  return true;
}

/* ---- padding one operand ----------------------------------------------------- */

/* The constant `src` (dims s) zero-extended to dims p, into dst (zeroed); any dtype. */
static void copy_padded(char *dst, const char *src, const TensorType *s, const int64_t *p) {
  int rank = s->rank;
  size_t esz = dtype_size(s->dtype);
  int64_t n = type_numel(s), idx[KILN_MAX_RANK] = {0};
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < rank; d++) off = off * p[d] + idx[d];
    memcpy(dst + (size_t)off * esz, src + (size_t)i * esz, esz);
    for (int d = rank - 1; d >= 0 && ++idx[d] == s->dims[d]; d--) idx[d] = 0;
  }
}

static Value *padded_constant(Func *f, const Op *c, const int64_t *dims, Op *before) {
  Module *m = f->module;
  const Constant *k = &m->consts[c->attrs.const_index];
  TensorType t = type_make(k->type.dtype, k->type.rank, dims);
  int64_t nb = type_nbytes(&t);
  KILN_ASSERT(nb >= 0);
  char *data = calloc((size_t)nb + 1, 1);
  KILN_ASSERT(data && "out of memory padding a constant");
  copy_padded(data, k->data, &k->type, dims);
  char name[256];
  snprintf(name, sizeof name, "%s.padded", k->name ? k->name : c->name);
  int ci = module_add_const(m, name, t, data);
  free(data);
  KILN_ASSERT(ci >= 0 && "out of memory adding a constant");
  Op *op = op_new(f, KILN_OP_CONSTANT, name, 0, NULL, 1, &t, before);
  op->attrs.const_index = ci;
  return op->out[0];
}

/* v zero-extended (high side) to dims, before `before`: v itself when it has them, a new
 * constant when v is a constant with data, else a kiln.pad. */
static Value *pad_to(Func *f, Value *v, const int64_t *dims, Op *before) {
  if (same_dims(&v->type, dims)) return v;
  const Op *def = v->def;
  if (def && def->kind == KILN_OP_CONSTANT && f->module->consts[def->attrs.const_index].data)
    return padded_constant(f, def, dims, before);
  TensorType t = type_make(v->type.dtype, v->type.rank, dims);
  char name[256];
  snprintf(name, sizeof name, "%s.pad_to_intrinsic", def ? def->name : "arg");
  Op *p = op_new(f, KILN_OP_PAD, name, 1, &v, 1, &t, before);
  for (int i = 0; i < t.rank; i++) p->attrs.pad_hi[i] = dims[i] - v->type.dims[i];
  p->attrs.pad_mode = PAD_CONSTANT;
  p->attrs.pad_value = 0.0;
  return p->out[0];
}

/* The true-shape view of padded value v: extract_slice at offset 0, after v's op. */
static Value *slice_back(Padder *P, Value *v, const TensorType *true_type, const char *name) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s.unpad", name);
  Op *at = v->def->next; /* right after the producer: keeps program order for concat */
  Op *s = op_new(P->f, KILN_OP_EXTRACT_SLICE, buf, 1, &v, 1, true_type, at);
  if (P->n_slices == P->cap_slices) {
    P->cap_slices = P->cap_slices ? 2 * P->cap_slices : 64;
    P->slices = realloc(P->slices, sizeof *P->slices * (size_t)P->cap_slices);
    KILN_ASSERT(P->slices && "out of memory in pad-to-intrinsic");
  }
  P->slices[P->n_slices++] = s;
  return s->out[0];
}

/* Replaces `old` (its result used by others) with `now` computing the padded shape. */
static void replace_padded(Padder *P, Op *old, Op *now) {
  Value *s = slice_back(P, now->out[0], &old->out[0]->type, old->name);
  value_replace_uses(old->out[0], s);
  op_erase(old);
}

static Op *clone_with(Func *f, Op *op, Value **in, const int64_t *out_dims) {
  TensorType t = op->out[0]->type;
  memcpy(t.dims, out_dims, sizeof(int64_t) * (size_t)t.rank);
  Op *c = op_new(f, op->kind, op->name, op->n_in, in, 1, &t, op);
  c->attrs = op->attrs;
  c->out[0]->name = op->out[0]->name;
  return c;
}

/* ---- phase 1: roots ------------------------------------------------------------ */

/* Input rows (or cols) a window op needs so that it yields `out` outputs. */
static int64_t input_extent(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t dil,
                            int64_t pad_lo, int64_t pad_hi) {
  int64_t need = (out - 1) * stride + dil * (k - 1) + 1 - pad_lo - pad_hi;
  return need > in ? need : in;
}

/* Padded activation of a conv or depthwise conv: spatial for OH x OW, channels to c. */
static Value *pad_window_input(Func *f, Op *op, const int64_t *out_dims, int64_t c) {
  const OpAttrs *a = &op->attrs;
  const int64_t *x = op->in[0]->type.dims;
  int64_t dims[4] = {
    x[0],
    input_extent(x[1], out_dims[1], a->kernel[0], a->strides[0], a->dilations[0], a->pads[0], a->pads[2]),
    input_extent(x[2], out_dims[2], a->kernel[1], a->strides[1], a->dilations[1], a->pads[1], a->pads[3]),
    c,
  };
  return pad_to(f, op->in[0], dims, op);
}

static bool is_nhwc_window_op(const Op *op) {
  if (op->attrs.layout != LAYOUT_NHWC || op->in[0]->type.rank != 4) return false;
  return op->kind == KILN_OP_DEPTHWISE_CONV2D ||
         (op->kind == KILN_OP_CONV2D && op->attrs.groups == 1);
}

static void pad_window_op(Padder *P, Op *op) {
  Func *f = P->f;
  const Target *t = P->t;
  const int64_t *y = op->out[0]->type.dims;
  bool dw = op->kind == KILN_OP_DEPTHWISE_CONV2D;
  int64_t ic = op->in[0]->type.dims[3];
  int64_t oc = round_up(y[3], t->oc), icp = dw ? oc : round_up(ic, t->ic);
  int64_t out[4] = {y[0], round_up(y[1], t->cores), round_up(y[2], t->ow), oc};
  if (same_dims(&op->out[0]->type, out) && icp == ic) return;
  const int64_t *w = op->in[1]->type.dims;
  int64_t wdims[4] = {w[0], w[1], dw ? oc : icp, oc};
  Value *in[3] = {pad_window_input(f, op, out, icp), pad_to(f, op->in[1], wdims, op), NULL};
  if (op->n_in > 2) in[2] = pad_to(f, op->in[2], &oc, op);
  replace_padded(P, op, clone_with(f, op, in, out));
}

static void pad_matmul(Padder *P, Op *op) {
  Func *f = P->f;
  const Target *t = P->t;
  const int64_t *x = op->in[0]->type.dims, *w = op->in[1]->type.dims;
  int64_t m = round_up(x[0], t->ow), k = round_up(x[1], t->ic), n = round_up(w[1], t->oc);
  if (m == x[0] && k == x[1] && n == w[1]) return;
  Value *in[2] = {pad_to(f, op->in[0], (int64_t[]){m, k}, op),
                  pad_to(f, op->in[1], (int64_t[]){k, n}, op)};
  replace_padded(P, op, clone_with(f, op, in, (int64_t[]){m, n}));
}

static void pad_roots(Padder *P) {
  for (Op *op = P->f->first, *next; op; op = next) {
    next = op->next;
    if ((op->kind == KILN_OP_CONV2D || op->kind == KILN_OP_DEPTHWISE_CONV2D) && is_nhwc_window_op(op))
      pad_window_op(P, op);
    else if (op->kind == KILN_OP_MATMUL && op->in[0]->type.rank == 2 && op->in[1]->type.rank == 2)
      pad_matmul(P, op);
  }
}

/* ---- phase 2: sink slices through elementwise generics ------------------------- */

/* A slice this pass made back from a padded tensor (offset 0, unit steps). */
static bool is_unpad_slice(const Padder *P, const Value *v) {
  for (int i = 0; v->def && i < P->n_slices; i++)
    if (P->slices[i] == v->def) return true;
  return false;
}

static bool is_elementwise(const Op *g) {
  const OpAttrs *a = &g->attrs;
  if (g->kind != KILN_OP_GENERIC || g->n_out != 1 || g->out[0]->type.rank != a->n_loops) return false;
  for (int i = 0; i < a->n_loops; i++)
    if (a->iterators[i] != ITER_PARALLEL) return false;
  return affine_is_identity(&a->maps[g->n_in], a->n_loops);
}

/* The padded loop ranges g would take from its first identity-read unpad slice; false if
 * none. */
static bool padded_ranges(const Padder *P, const Op *g, int64_t *ranges) {
  for (int i = 0; i < g->n_in; i++)
    if (is_unpad_slice(P, g->in[i]) && affine_is_identity(&g->attrs.maps[i], g->attrs.n_loops)) {
      memcpy(ranges, g->in[i]->def->in[0]->type.dims, sizeof(int64_t) * (size_t)g->attrs.n_loops);
      return true;
    }
  return false;
}

/* Dims operand i must have when g's loops run over `ranges`; false when its map reads a
 * padded loop other than as a plain index (a window, a reversal), which padding would
 * break. */
static bool operand_padded_dims(const Op *g, int i, const int64_t *ranges, int64_t *dims) {
  const AffineMap *m = &g->attrs.maps[i];
  const TensorType *t = &g->in[i]->type;
  const int64_t *y = g->out[0]->type.dims;
  for (int j = 0; j < m->n_results; j++) {
    const AffineExpr *e = &m->results[j];
    dims[j] = t->dims[j];
    int only = -1, n_terms = 0;
    for (int d = 0; d < g->attrs.n_loops; d++)
      if (e->coef[d]) only = d, n_terms++;
    bool touches_padded = false;
    for (int d = 0; d < g->attrs.n_loops; d++) touches_padded |= e->coef[d] && ranges[d] != y[d];
    if (!touches_padded) continue;
    if (n_terms != 1 || e->coef[only] != 1 || e->cst || t->dims[j] != y[only]) return false;
    dims[j] = ranges[only];
  }
  return true;
}

/* v with dims: the source of its own unpad slice when that has them, else zero-padded. */
static Value *padded_operand(Padder *P, Value *v, const int64_t *dims, Op *before) {
  if (is_unpad_slice(P, v) && same_dims(&v->def->in[0]->type, dims)) return v->def->in[0];
  return pad_to(P->f, v, dims, before);
}

static bool sink_through(Padder *P, Op *g) {
  int64_t ranges[KILN_MAX_RANK], dims[KILN_MAX_OPERANDS][KILN_MAX_RANK];
  if (!is_elementwise(g) || g->n_in > KILN_MAX_OPERANDS || !padded_ranges(P, g, ranges))
    return false;
  for (int i = 0; i < g->n_in; i++)
    if (!operand_padded_dims(g, i, ranges, dims[i])) return false;
  Value *in[KILN_MAX_OPERANDS];
  for (int i = 0; i < g->n_in; i++) in[i] = padded_operand(P, g->in[i], dims[i], g);
  replace_padded(P, g, clone_with(P->f, g, in, ranges));
  return true;
}

static void sink_slices(Padder *P) {
  for (bool changed = true; changed;) {
    changed = false;
    for (Op *op = P->f->first, *next; op; op = next) {
      next = op->next;
      changed |= sink_through(P, op);
    }
  }
}

KilnStatus pass_pad_to_intrinsic(Func *f, PassContext *ctx) {
  if (!ctx->target) return KILN_OK;
  Padder P = {.f = f, .t = ctx->target};
  pad_roots(&P);
  sink_slices(&P);
  free(P.slices);
  return KILN_OK;
}
