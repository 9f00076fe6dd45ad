/* interp_generic.c — executes a GENERIC op: every point of its loop box, in C order.
 *
 * Loop ranges come from generic_loop_ranges(). Each operand's affine map is folded with
 * the operand's C-order strides into one element stride per loop plus a base offset, so
 * the element index of every operand is kept as an incremental sum while the loop index
 * advances (odometer). Before running, every map result is checked to stay inside its
 * operand over the whole box (min/max of an affine form over a box), and the body is
 * checked (arg indices, block-arg numbers, per-dtype op validity), so the loop itself
 * cannot read or write out of bounds.
 * Block arguments are the input elements then the output elements (accumulators).
 * Without reduction iterators, outputs are just written with the yields; with one, each
 * output element starts at attrs.init[k] (0 without init) and each yield replaces it. */
#include "interp_impl.h"

typedef struct GOperand {
  char *data;
  DType dt;
  int64_t off;                    /* element index at the current loop point */
  int64_t lstride[KILN_MAX_RANK]; /* element index change per step of loop d */
} GOperand;

static KilnStatus check_body(const Op *op, Diag *d) {
  const Body *b = &op->attrs.body;
  int n_args = op->n_in + op->n_out;
  if (b->n_yield != op->n_out || (b->n_insts && !b->insts))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": body yields %d values for %d results",
                      OPARG(op), b->n_yield, op->n_out);
  for (int k = 0; k < b->n_insts; k++) {
    const BodyInst *in = &b->insts[k];
    bool ok = in->kind < BODY_COUNT && in->kind != BODY_YIELD &&
              (unsigned)in->dtype < KILN_DTYPE_COUNT && in->n_args >= 0 && in->n_args <= 3 &&
              in->n_args == body_op_n_args(in->kind);
    for (int a = 0; ok && a < in->n_args; a++) ok = in->args[a] >= 0 && in->args[a] < k;
    if (ok && in->kind == BODY_ARG) {
      ok = in->imm_i >= 0 && in->imm_i < n_args;
      const Value *v = !ok ? NULL : in->imm_i < op->n_in ? op->in[in->imm_i]
                                                         : op->out[in->imm_i - op->n_in];
      ok = ok && dtype_is_float(v->type.dtype) == dtype_is_float(in->dtype);
    }
    if (ok && in->kind != BODY_ARG && in->kind != BODY_CAST && in->kind != BODY_CMP &&
        in->kind != BODY_SELECT)
      ok = body_op_name(in->kind, in->dtype) != NULL &&
           (in->n_args == 0 || dtype_is_float(b->insts[in->args[0]].dtype) ==
                                   dtype_is_float(in->dtype));
    if (!ok)
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": malformed body instruction %d",
                        OPARG(op), k);
  }
  for (int k = 0; k < b->n_yield; k++)
    if (b->yields[k] < 0 || b->yields[k] >= b->n_insts ||
        dtype_is_float(b->insts[b->yields[k]].dtype) != dtype_is_float(op->out[k]->type.dtype))
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": yield %d names no instruction of its kind",
                        OPARG(op), k);
  return KILN_OK;
}

/* Folds map k with operand t's strides; checks the map stays inside t over the box. */
static KilnStatus setup_operand(const Op *op, int k, const Tensor *t, const int64_t *ranges,
                                bool empty, GOperand *g, Diag *d) {
  const OpAttrs *a = &op->attrs;
  const AffineMap *m = &a->maps[k];
  if (m->n_results != t->type.rank)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": map %d has %d results for rank %d",
                      OPARG(op), k, m->n_results, t->type.rank);
  g->data = t->data;
  g->dt = t->type.dtype;
  g->off = 0;
  memset(g->lstride, 0, sizeof g->lstride);
  if (empty) return KILN_OK; /* no point is visited: coefficients may be anything */
  int64_t stride = 1;
  for (int r = t->type.rank - 1; r >= 0; r--) {
    const AffineExpr *e = &m->results[r];
    int64_t lo = e->cst, hi = e->cst, span, step;
    bool ovf = false; /* maps come from user text: the arithmetic is checked */
    for (int l = 0; l < a->n_loops && !ovf; l++) {
      ovf = checked_mul_i64(e->coef[l], ranges[l] - 1, &span) ||
            checked_add_i64(span < 0 ? lo : hi, span, span < 0 ? &lo : &hi) ||
            checked_mul_i64(e->coef[l], stride, &step) ||
            checked_add_i64(g->lstride[l], step, &g->lstride[l]);
    }
    if (ovf || lo < 0 || hi >= t->type.dims[r])
      return diag_error(d, KILN_ERR_INVALID,
                        OPFMT ": map %d result %d spans [%lld, %lld]%s, outside dim %lld",
                        OPARG(op), k, r, (long long)lo, (long long)hi, ovf ? " (overflows)" : "",
                        (long long)t->type.dims[r]);
    g->off += e->cst * stride; /* inside the tensor: cannot overflow */
    stride *= t->type.dims[r];
  }
  return KILN_OK;
}

static void init_outputs(const Op *op, Tensor **out) {
  for (int k = 0; k < op->n_out; k++) {
    double v = op->attrs.init ? op->attrs.init[k] : 0.0;
    DType dt = out[k]->type.dtype;
    Scalar s = scalar_from_double(v, dt);
    int64_t n = type_numel(&out[k]->type);
    for (int64_t i = 0; i < n; i++) scalar_store(out[k]->data, dt, i, s);
  }
}

static void run_points(const Op *op, GOperand *g, const int64_t *ranges, int64_t total,
                       bool reduce, Scalar *args, Scalar *vals) {
  const OpAttrs *a = &op->attrs;
  int n_in = op->n_in, n_ops = op->n_in + op->n_out, nl = a->n_loops;
  int64_t idx[KILN_MAX_RANK] = {0};
  for (int k = n_in; k < n_ops; k++) args[k].i = 0;
  for (int64_t p = 0; p < total; p++) {
    for (int k = 0; k < n_in; k++) args[k] = scalar_load(g[k].data, g[k].dt, g[k].off);
    if (reduce)
      for (int k = n_in; k < n_ops; k++) args[k] = scalar_load(g[k].data, g[k].dt, g[k].off);
    body_eval(&a->body, args, vals);
    for (int k = n_in; k < n_ops; k++)
      scalar_store(g[k].data, g[k].dt, g[k].off, vals[a->body.yields[k - n_in]]);
    for (int l = nl - 1; l >= 0; l--) { /* odometer step, innermost loop first */
      if (++idx[l] < ranges[l]) {
        for (int k = 0; k < n_ops; k++) g[k].off += g[k].lstride[l];
        break;
      }
      idx[l] = 0;
      for (int k = 0; k < n_ops; k++) g[k].off -= g[k].lstride[l] * (ranges[l] - 1);
    }
  }
}

static KilnStatus check_generic(const Op *op, int64_t *ranges, int64_t *total, Diag *d) {
  const OpAttrs *a = &op->attrs;
  if (a->n_loops < 0 || a->n_loops > KILN_MAX_RANK || a->n_maps != op->n_in + op->n_out ||
      (a->n_maps && !a->maps))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": %d loops, %d maps for %d operands",
                      OPARG(op), a->n_loops, a->n_maps, op->n_in + op->n_out);
  if (!generic_loop_ranges(op, ranges))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": loop ranges not determined by the maps",
                      OPARG(op));
  *total = 1;
  for (int l = 0; l < a->n_loops; l++)
    if (checked_mul_i64(*total, ranges[l], total))
      return diag_error(d, KILN_ERR_LIMIT, OPFMT ": loop box too large", OPARG(op));
  return check_body(op, d);
}

KilnStatus exec_generic(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  int64_t ranges[KILN_MAX_RANK] = {0}, total;
  KilnStatus st = check_generic(op, ranges, &total, d);
  if (st) return st;
  int n_ops = op->n_in + op->n_out;
  GOperand *g = malloc(sizeof *g * (size_t)(n_ops ? n_ops : 1));
  Scalar *args = malloc(sizeof *args * (size_t)(n_ops ? n_ops : 1));
  Scalar *vals = malloc(sizeof *vals * (size_t)(op->attrs.body.n_insts + 1));
  if (!g || !args || !vals) {
    st = diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
    goto done;
  }
  for (int k = 0; k < n_ops && !st; k++)
    st = setup_operand(op, k, k < op->n_in ? in[k] : out[k - op->n_in], ranges, total == 0,
                       &g[k], d);
  if (st) goto done;
  bool reduce = false;
  for (int l = 0; l < op->attrs.n_loops; l++) reduce |= op->attrs.iterators[l] == ITER_REDUCTION;
  if (reduce) init_outputs(op, out);
  run_points(op, g, ranges, total, reduce, args, vals);
done:
  free(g);
  free(args);
  free(vals);
  return st;
}
