/* onnx_shape.c — shape and data-movement ONNX ops, folded when their inputs are constant.
 *
 * Reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze) become RESHAPE; Transpose,
 * Concat, Split/Slice (EXTRACT_SLICE), Pad and Gather map to their IR ops. When every
 * input is constant the result is computed here instead (the data is copied with a
 * C-order index walk), which is what makes PyTorch's Shape -> Gather -> Unsqueeze ->
 * Concat chains disappear: Shape always folds, since every shape is static. Constant,
 * ConstantOfShape and Range only exist as constants; ReduceProd folds here and is a
 * reduction GENERIC (onnx_nn.c) on a run-time input. Identity and inference Dropout bind
 * their input (Dropout's mask is an all-true constant). Index arithmetic from
 * attributes is clamped and checked so that no attribute can cause an overflow. */
#include <math.h>
#include <string.h>

#include "onnx_internal.h"

static int64_t flat_index(const int64_t *idx, const TensorType *t) {
  int64_t f = 0;
  for (int i = 0; i < t->rank; i++) f = f * t->dims[i] + idx[i];
  return f;
}

static void *alloc_type(Imp *I, const TensorType *t) { return imp_fold_alloc(I, t); }

static void copy_elem(DType dt, void *dst, int64_t di, const void *src, int64_t si) {
  size_t es = dtype_size(dt);
  memcpy((char *)dst + di * (int64_t)es, (const char *)src + si * (int64_t)es, es);
}

static KilnStatus bind(Imp *I, const Onnx__NodeProto *n, int k, Entry e) {
  if ((size_t)k >= n->n_output || !n->output[k][0]) return KILN_OK;
  if (e.v && !e.v->name) e.v->name = arena_strdup(&I->m->arena, n->output[k]);
  return imp_def_entry(I, n->output[k], e);
}

static KilnStatus finish_entry(Imp *I, Op *op, Entry *out) {
  KilnStatus st = imp_finish(I, op);
  *out = (Entry){.name = op->name, .type = op->out[0]->type, .v = op->out[0], .ci = -1};
  return st;
}

static int norm_axis(int64_t a, int rank) { return (int)(a < 0 ? a + rank : a); }

static KilnStatus axis_attr(Imp *I, int64_t a, int rank, int *out) {
  *out = 0;
  if (a < -rank || a >= rank) return imp_err(I, KILN_ERR_INVALID, "axis %lld out of range for rank %d", (long long)a, rank);
  *out = norm_axis(a, rank);
  return KILN_OK;
}

/* ---- reshape family ---------------------------------------------------------------------- */

KilnStatus imp_reshape_to(Imp *I, Entry *x, TensorType t, const char *suffix, Entry *out) {
  if (type_numel(&t) != type_numel(&x->type)) {
    char a[128], b[128];
    return imp_err(I, KILN_ERR_INVALID, "cannot reshape %s to %s", type_str(&x->type, a, sizeof a),
                   type_str(&t, b, sizeof b));
  }
  if (x->data) {
    char nm[512];
    snprintf(nm, sizeof nm, "%s%s%s", x->name, suffix ? "_" : "", suffix ? suffix : "");
    *out = (Entry){.name = arena_strdup(&I->m->arena, nm), .type = t, .data = x->data, .ci = -1};
    return KILN_OK;
  }
  if (type_equal(&t, &x->type)) {
    *out = *x;
    return KILN_OK;
  }
  Op *op = imp_op1(I, KILN_OP_RESHAPE, suffix, x, &t);
  return finish_entry(I, op, out);
}

static KilnStatus reshape_bind(Imp *I, const Onnx__NodeProto *n, Entry *x, TensorType t) {
  Entry r;
  KilnStatus st = imp_check_limits(I, &t, n->output[0]);
  if (!st) st = imp_reshape_to(I, x, t, NULL, &r);
  return st ? st : bind(I, n, 0, r);
}

KilnStatus imp_reshape(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *s = imp_in(I, n, 1);
  int64_t sh[KILN_MAX_RANK];
  int cnt, neg = -1;
  if (!x || !s) return imp_err(I, KILN_ERR_INVALID, "needs data and shape");
  KilnStatus st = imp_const_ints(I, s, "shape", sh, KILN_MAX_RANK, &cnt);
  if (st) return st;
  bool allowzero = onnx_attr_int(n, "allowzero", 0) != 0;
  TensorType t = {.dtype = x->type.dtype, .rank = cnt};
  int64_t known = 1, total = type_numel(&x->type);
  for (int i = 0; i < cnt; i++) {
    t.dims[i] = sh[i] == 0 && !allowzero ? (i < x->type.rank ? x->type.dims[i] : -2) : sh[i];
    if (sh[i] == -1 && neg < 0) { neg = i; continue; }
    if (t.dims[i] < 0 || checked_mul_i64(known, t.dims[i], &known))
      return imp_err(I, KILN_ERR_INVALID, "bad target dim %d (%lld)", i, (long long)sh[i]);
  }
  if (neg >= 0) {
    if (known == 0 || total % known) return imp_err(I, KILN_ERR_INVALID, "cannot infer the -1 dim: %lld elements into %lld", (long long)total, (long long)known);
    t.dims[neg] = total / known;
  }
  return reshape_bind(I, n, x, t);
}

KilnStatus imp_flatten(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  int64_t a = onnx_attr_int(n, "axis", 1), r = x->type.rank;
  if (a < -r || a > r) return imp_err(I, KILN_ERR_INVALID, "axis %lld out of range", (long long)a);
  if (a < 0) a += r;
  int64_t d[2] = {1, 1};
  for (int i = 0; i < r; i++) d[i >= a] *= x->type.dims[i];
  return reshape_bind(I, n, x, type_make(x->type.dtype, 2, d));
}

/* Axes from the attribute (opset < 13) or the second input. *cnt = -1 when absent. */
static KilnStatus axes_of(Imp *I, const Onnx__NodeProto *n, int64_t *ax, int *cnt) {
  *cnt = -1;
  if (I->opset < 13) {
    *cnt = onnx_attr_ints(I, n, "axes", ax, KILN_MAX_RANK);
    return *cnt == -2 ? I->d->status : KILN_OK;
  }
  Entry *e = imp_in(I, n, 1);
  return e ? imp_const_ints(I, e, "axes", ax, KILN_MAX_RANK, cnt) : KILN_OK;
}

KilnStatus imp_squeeze(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  int64_t ax[KILN_MAX_RANK];
  int cnt, r;
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  KilnStatus st = axes_of(I, n, ax, &cnt);
  if (st) return st;
  r = x->type.rank;
  bool drop[KILN_MAX_RANK] = {0};
  for (int i = 0; i < r; i++) drop[i] = cnt < 0 && x->type.dims[i] == 1;
  for (int i = 0; i < cnt; i++) {
    int a;
    if ((st = axis_attr(I, ax[i], r, &a))) return st;
    if (x->type.dims[a] != 1) return imp_err(I, KILN_ERR_INVALID, "cannot squeeze dim %d of size %lld", a, (long long)x->type.dims[a]);
    drop[a] = true;
  }
  TensorType t = {.dtype = x->type.dtype};
  for (int i = 0; i < r; i++)
    if (!drop[i]) t.dims[t.rank++] = x->type.dims[i];
  return reshape_bind(I, n, x, t);
}

KilnStatus imp_unsqueeze(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  int64_t ax[KILN_MAX_RANK];
  int cnt;
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  KilnStatus st = axes_of(I, n, ax, &cnt);
  if (st) return st;
  if (cnt < 0) return imp_err(I, KILN_ERR_INVALID, "missing axes");
  int r = x->type.rank + cnt;
  if (r > KILN_MAX_RANK) return imp_err(I, KILN_ERR_LIMIT, "result rank %d exceeds %d", r, KILN_MAX_RANK);
  bool ins[KILN_MAX_RANK] = {0};
  for (int i = 0; i < cnt; i++) {
    int a;
    if ((st = axis_attr(I, ax[i], r, &a))) return st;
    if (ins[a]) return imp_err(I, KILN_ERR_INVALID, "axis %d repeated", a);
    ins[a] = true;
  }
  TensorType t = {.dtype = x->type.dtype, .rank = r};
  for (int i = 0, k = 0; i < r; i++) t.dims[i] = ins[i] ? 1 : x->type.dims[k++];
  return reshape_bind(I, n, x, t);
}

KilnStatus imp_identity(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  return bind(I, n, 0, *x);
}

/* A scalar input read as a float (def when absent); it must be a constant. */
static KilnStatus scalar_input(Imp *I, const Onnx__NodeProto *n, int i, const char *what, double def, double *v) {
  Entry *e = imp_in(I, n, i);
  int c = 1;
  *v = def;
  KilnStatus st = e ? imp_const_floats(I, e, what, v, 1, &c) : KILN_OK;
  if (!st && c != 1) st = imp_err(I, KILN_ERR_INVALID, "input '%s' (%s) is empty", e->name, what);
  return st;
}

/* Dropout at inference (training_mode false, or ratio 0) is the identity with an all-true
 * mask. Training-mode dropout draws random numbers: refused. */
KilnStatus imp_dropout(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  double ratio, training;
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  KilnStatus st = scalar_input(I, n, 2, "training_mode", 0, &training);
  if (!st && training != 0) st = scalar_input(I, n, 1, "ratio", 0.5, &ratio);
  if (st) return st;
  if (training != 0 && ratio != 0)
    return imp_err(I, KILN_ERR_UNSUPPORTED, "training_mode=1 with ratio %g (random dropout)", ratio);
  if ((st = bind(I, n, 0, *x)) || n->n_output < 2 || !n->output[1][0]) return st;
  TensorType t = x->type;
  t.dtype = KILN_BOOL;
  uint8_t *mask = alloc_type(I, &t);
  if (!mask) return I->d->status;
  memset(mask, 1, (size_t)type_numel(&t));
  return imp_def_const(I, n, 1, t, mask);
}

/* ---- Transpose ------------------------------------------------------------------------------ */

KilnStatus imp_transpose_to(Imp *I, Entry *x, const int64_t *perm, const char *suffix, Entry *out) {
  int r = x->type.rank;
  TensorType t = {.dtype = x->type.dtype, .rank = r};
  bool seen[KILN_MAX_RANK] = {0};
  for (int i = 0; i < r; i++) {
    if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]) return imp_err(I, KILN_ERR_INVALID, "perm is not a permutation");
    seen[perm[i]] = true;
    t.dims[i] = x->type.dims[perm[i]];
  }
  if (!x->data) {
    Op *op = imp_op1(I, KILN_OP_TRANSPOSE, suffix, x, NULL);
    memcpy(op->attrs.perm, perm, sizeof(int64_t) * (size_t)r);
    return finish_entry(I, op, out);
  }
  void *d = alloc_type(I, &t);
  int64_t idx[KILN_MAX_RANK] = {0}, src[KILN_MAX_RANK], total = type_numel(&t);
  if (!d) return I->d->status;
  for (int64_t e = 0; e < total; e++, imp_idx_next(idx, t.dims, r)) {
    for (int i = 0; i < r; i++) src[perm[i]] = idx[i];
    copy_elem(t.dtype, d, e, x->data, flat_index(src, &x->type));
  }
  char nm[512];
  snprintf(nm, sizeof nm, "%s_%s", x->name, suffix ? suffix : "t");
  *out = (Entry){.name = arena_strdup(&I->m->arena, nm), .type = t, .data = d, .ci = -1};
  return KILN_OK;
}

KilnStatus imp_transpose(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), r;
  int64_t perm[KILN_MAX_RANK];
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  int k = onnx_attr_ints(I, n, "perm", perm, KILN_MAX_RANK);
  if (k == -2) return I->d->status;
  if (k < 0) for (k = 0; k < x->type.rank; k++) perm[k] = x->type.rank - 1 - k;
  if (k != x->type.rank) return imp_err(I, KILN_ERR_INVALID, "perm has %d entries for rank %d", k, x->type.rank);
  KilnStatus st = imp_transpose_to(I, x, perm, NULL, &r);
  return st ? st : bind(I, n, 0, r);
}

/* ---- Concat, Split, Slice ------------------------------------------------------------------ */

static KilnStatus concat_fold(Imp *I, const Onnx__NodeProto *n, Entry **ins, int cnt, int ax, TensorType t) {
  void *d = alloc_type(I, &t);
  if (!d) return I->d->status;
  int64_t idx[KILN_MAX_RANK] = {0}, total = type_numel(&t);
  for (int64_t e = 0; e < total; e++, imp_idx_next(idx, t.dims, t.rank)) {
    int64_t src[KILN_MAX_RANK], off = idx[ax];
    int k = 0;
    while (off >= ins[k]->type.dims[ax]) off -= ins[k++]->type.dims[ax];
    memcpy(src, idx, sizeof src);
    src[ax] = off;
    copy_elem(t.dtype, d, e, ins[k]->data, flat_index(src, &ins[k]->type));
  }
  return imp_def_const(I, n, 0, t, d);
}

static KilnStatus concat_type(Imp *I, Entry **ins, int cnt, int ax, TensorType *t) {
  *t = ins[0]->type;
  for (int k = 1; k < cnt; k++) {
    const TensorType *x = &ins[k]->type;
    bool ok = x->rank == t->rank && x->dtype == t->dtype;
    for (int i = 0; ok && i < t->rank; i++) ok = i == ax || x->dims[i] == t->dims[i];
    if (!ok) {
      char a[128], b[128];
      return imp_err(I, KILN_ERR_INVALID, "input %d %s does not match %s outside axis %d", k,
                     type_str(x, a, sizeof a), type_str(&ins[0]->type, b, sizeof b), ax);
    }
    if (checked_add_i64(t->dims[ax], x->dims[ax], &t->dims[ax])) return imp_err(I, KILN_ERR_LIMIT, "size overflows");
  }
  return imp_check_limits(I, t, "concat result");
}

KilnStatus imp_concat(Imp *I, const Onnx__NodeProto *n) {
  int cnt = (int)n->n_input, ax;
  Entry **ins = imp_alloc(I, (int64_t)sizeof(Entry *) * (cnt ? cnt : 1));
  Value **vals = imp_alloc(I, (int64_t)sizeof(Value *) * (cnt ? cnt : 1));
  if (!cnt || !ins || !vals) return imp_err(I, KILN_ERR_INVALID, "needs inputs");
  bool all_const = true;
  for (int i = 0; i < cnt; i++) {
    if (!(ins[i] = imp_in(I, n, i))) return imp_err(I, KILN_ERR_INVALID, "input %d is empty", i);
    all_const &= ins[i]->data != NULL;
  }
  TensorType t;
  KilnStatus st = axis_attr(I, onnx_attr_int(n, "axis", 0), ins[0]->type.rank, &ax);
  if (!st) st = concat_type(I, ins, cnt, ax, &t);
  if (st) return st;
  if (all_const) return concat_fold(I, n, ins, cnt, ax, t);
  for (int i = 0; i < cnt; i++)
    if (!(vals[i] = imp_value(I, ins[i]))) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  Op *op = imp_op(I, KILN_OP_CONCAT, NULL, cnt, vals, 1, NULL);
  op->attrs.axis = ax;
  Entry r;
  return (st = finish_entry(I, op, &r)) ? st : bind(I, n, 0, r);
}

/* An EXTRACT_SLICE of x with result type t (folded when x is constant). */
static KilnStatus slice_to(Imp *I, Entry *x, const int64_t *off, const int64_t *step, TensorType t,
                           const char *suffix, Entry *out) {
  if (!x->data) {
    Op *op = imp_op1(I, KILN_OP_EXTRACT_SLICE, suffix, x, &t);
    memcpy(op->attrs.offsets, off, sizeof(int64_t) * (size_t)t.rank);
    memcpy(op->attrs.steps, step, sizeof(int64_t) * (size_t)t.rank);
    return finish_entry(I, op, out);
  }
  void *d = alloc_type(I, &t);
  int64_t idx[KILN_MAX_RANK] = {0}, src[KILN_MAX_RANK], total = type_numel(&t);
  if (!d) return I->d->status;
  for (int64_t e = 0; e < total; e++, imp_idx_next(idx, t.dims, t.rank)) {
    for (int i = 0; i < t.rank; i++) src[i] = off[i] + idx[i] * step[i];
    copy_elem(t.dtype, d, e, x->data, flat_index(src, &x->type));
  }
  *out = (Entry){.name = "slice", .type = t, .data = d, .ci = -1};
  return KILN_OK;
}

static KilnStatus split_sizes(Imp *I, const Onnx__NodeProto *n, int64_t dim, int64_t *sz, int nout) {
  int cnt = -1;
  Entry *e = I->opset >= 13 ? imp_in(I, n, 1) : NULL;
  KilnStatus st = KILN_OK;
  if (e) st = imp_const_ints(I, e, "split", sz, KILN_MAX_OPERANDS, &cnt);
  else if (I->opset < 13 && (cnt = onnx_attr_ints(I, n, "split", sz, KILN_MAX_OPERANDS)) == -2) return I->d->status;
  if (st) return st;
  if (cnt < 0) { /* equal split; opset 18 num_outputs allows a smaller last chunk */
    int64_t chunk = dim / nout + (dim % nout != 0), left = dim; /* no dim + nout: dim may be 2^63-1 */
    if (!onnx_attr_find(n, "num_outputs") && dim % nout)
      return imp_err(I, KILN_ERR_INVALID, "dim %lld does not split into %d equal parts", (long long)dim, nout);
    for (int i = 0; i < nout; i++) {
      sz[i] = chunk < left ? chunk : left;
      left -= sz[i];
    }
    return KILN_OK;
  }
  int64_t sum = 0;
  for (int i = 0; i < cnt; i++)
    if (sz[i] < 0 || checked_add_i64(sum, sz[i], &sum)) return imp_err(I, KILN_ERR_INVALID, "bad split size");
  if (cnt != nout || sum != dim)
    return imp_err(I, KILN_ERR_INVALID, "split sizes (%d, sum %lld) do not match %d outputs / dim %lld", cnt,
                   (long long)sum, nout, (long long)dim);
  return KILN_OK;
}

KilnStatus imp_split(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  int ax, nout = (int)n->n_output;
  int64_t sz[KILN_MAX_OPERANDS];
  if (!x || nout < 1 || nout > KILN_MAX_OPERANDS) return imp_err(I, KILN_ERR_INVALID, "needs an input and 1..%d outputs", KILN_MAX_OPERANDS);
  KilnStatus st = axis_attr(I, onnx_attr_int(n, "axis", 0), x->type.rank, &ax);
  if (!st) st = split_sizes(I, n, x->type.dims[ax], sz, nout);
  int64_t off[KILN_MAX_RANK] = {0}, step[KILN_MAX_RANK];
  for (int i = 0; i < KILN_MAX_RANK; i++) step[i] = 1;
  for (int k = 0; k < nout && !st; k++) {
    TensorType t = x->type;
    Entry r;
    t.dims[ax] = sz[k];
    char suffix[32];
    snprintf(suffix, sizeof suffix, "%d", k);
    if (!(st = slice_to(I, x, off, step, t, suffix, &r))) st = bind(I, n, k, r);
    off[ax] += sz[k];
  }
  return st;
}

/* ONNX Slice on one dim: clamps start/end, returns the count. */
static int64_t slice_dim(int64_t d, int64_t start, int64_t end, int64_t step, int64_t *off) {
  if (start < 0) start = start < -d ? -d - (step < 0) : start + d; /* INT64_MIN-safe */
  if (end < 0) end = end < -d ? -d - 1 : end + d;
  if (step > 0) {
    start = start < 0 ? 0 : start > d ? d : start;
    end = end < 0 ? 0 : end > d ? d : end;
    *off = start;
    return end > start ? 1 + (end - start - 1) / step : 0;
  }
  start = start < 0 ? -1 : start > d - 1 ? d - 1 : start;
  end = end < -1 ? -1 : end > d - 1 ? d - 1 : end;
  *off = start;
  return start > end ? 1 + (start - end - 1) / (-step) : 0;
}

KilnStatus imp_slice(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *es = imp_in(I, n, 1), *ee = imp_in(I, n, 2), *ea = imp_in(I, n, 3), *ep = imp_in(I, n, 4);
  int64_t st_[KILN_MAX_RANK], en[KILN_MAX_RANK], ax[KILN_MAX_RANK], sp[KILN_MAX_RANK];
  int ns, ne, na = -1, np = -1, r;
  if (!x || !es || !ee) return imp_err(I, KILN_ERR_INVALID, "needs data, starts and ends");
  KilnStatus st = imp_const_ints(I, es, "starts", st_, KILN_MAX_RANK, &ns);
  if (!st) st = imp_const_ints(I, ee, "ends", en, KILN_MAX_RANK, &ne);
  if (!st && ea) st = imp_const_ints(I, ea, "axes", ax, KILN_MAX_RANK, &na);
  if (!st && ep) st = imp_const_ints(I, ep, "steps", sp, KILN_MAX_RANK, &np);
  if (st) return st;
  r = x->type.rank;
  if (ns != ne || (na >= 0 && na != ns) || (np >= 0 && np != ns))
    return imp_err(I, KILN_ERR_INVALID, "starts/ends/axes/steps have different lengths");
  TensorType t = x->type;
  int64_t off[KILN_MAX_RANK] = {0}, step[KILN_MAX_RANK];
  bool seen[KILN_MAX_RANK] = {0};
  for (int i = 0; i < KILN_MAX_RANK; i++) step[i] = 1;
  for (int i = 0; i < ns; i++) {
    int a;
    if ((st = axis_attr(I, na >= 0 ? ax[i] : i, r, &a))) return st;
    if (seen[a]) return imp_err(I, KILN_ERR_INVALID, "axis %d repeated", a);
    seen[a] = true;
    step[a] = np >= 0 ? sp[i] : 1;
    if (step[a] == 0 || step[a] == INT64_MIN) return imp_err(I, KILN_ERR_INVALID, "step %lld", (long long)step[a]);
    t.dims[a] = slice_dim(x->type.dims[a], st_[i], en[i], step[a], &off[a]);
    if (!t.dims[a]) off[a] = 0;
  }
  Entry res;
  if ((st = slice_to(I, x, off, step, t, NULL, &res))) return st;
  return bind(I, n, 0, res);
}

/* ---- Pad ------------------------------------------------------------------------------------ */

static KilnStatus pad_amounts(Imp *I, const Onnx__NodeProto *n, int r, int64_t *lo, int64_t *hi) {
  int64_t p[2 * KILN_MAX_RANK], ax[KILN_MAX_RANK];
  int cnt = onnx_attr_ints(I, n, "pads", p, 2 * KILN_MAX_RANK), na = -1;
  Entry *ep = imp_in(I, n, 1), *ea = imp_in(I, n, 3);
  KilnStatus st = cnt == -2 ? I->d->status : KILN_OK;
  if (!st && cnt < 0 && ep) st = imp_const_ints(I, ep, "pads", p, 2 * KILN_MAX_RANK, &cnt);
  if (!st && ea) st = imp_const_ints(I, ea, "axes", ax, KILN_MAX_RANK, &na);
  if (st) return st;
  if (cnt < 0) return imp_err(I, KILN_ERR_INVALID, "missing pads");
  if (na < 0) for (na = 0; na < r; na++) ax[na] = na;
  if (cnt != 2 * na) return imp_err(I, KILN_ERR_INVALID, "has %d pads for %d axes", cnt, na);
  for (int i = 0; i < na; i++) {
    int a;
    if ((st = axis_attr(I, ax[i], r, &a))) return st;
    lo[a] = p[i];
    hi[a] = p[i + na];
    if (lo[a] < 0 || hi[a] < 0 || lo[a] > (1ll << 40) || hi[a] > (1ll << 40))
      return imp_err(I, KILN_ERR_UNSUPPORTED, "pad amount %lld,%lld on axis %d", (long long)lo[a], (long long)hi[a], a);
  }
  return KILN_OK;
}

KilnStatus imp_pad(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *cv = imp_in(I, n, 2);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  char buf[32];
  const char *mode = onnx_attr_str(n, "mode", "constant", buf, sizeof buf);
  OpAttrs a = {.groups = 1};
  if (!strcmp(mode, "constant")) a.pad_mode = PAD_CONSTANT;
  else if (!strcmp(mode, "reflect")) a.pad_mode = PAD_REFLECT;
  else if (!strcmp(mode, "edge")) a.pad_mode = PAD_EDGE;
  else return imp_err(I, KILN_ERR_UNSUPPORTED, "mode '%s' (constant, reflect and edge are supported)", mode);
  KilnStatus st = pad_amounts(I, n, x->type.rank, a.pad_lo, a.pad_hi);
  if (st) return st;
  a.pad_value = onnx_attr_float(n, "value", 0);
  if (cv && type_numel(&cv->type) > 0) {
    double v[1];
    int c;
    if ((st = imp_const_floats(I, cv, "constant_value", v, 1, &c))) return st;
    a.pad_value = v[0];
  }
  Op *op = imp_op1(I, KILN_OP_PAD, NULL, x, NULL);
  for (int i = 0; i < KILN_MAX_RANK; i++) a.steps[i] = 1;
  op->attrs = a;
  Entry r;
  return (st = finish_entry(I, op, &r)) ? st : bind(I, n, 0, r);
}

/* ---- Gather --------------------------------------------------------------------------------- */

static KilnStatus gather_fold(Imp *I, const Onnx__NodeProto *n, Entry *x, Entry *ix, int ax, TensorType t) {
  void *d = alloc_type(I, &t);
  if (!d) return I->d->status;
  int64_t idx[KILN_MAX_RANK] = {0}, src[KILN_MAX_RANK], total = type_numel(&t), q = ix->type.rank;
  for (int64_t e = 0; e < total; e++, imp_idx_next(idx, t.dims, t.rank)) {
    for (int i = 0; i < ax; i++) src[i] = idx[i];
    int64_t j = imp_get_i(ix->type.dtype, ix->data, flat_index(idx + ax, &ix->type));
    src[ax] = j;
    for (int i = ax + 1; i < x->type.rank; i++) src[i] = idx[i - 1 + q];
    copy_elem(t.dtype, d, e, x->data, flat_index(src, &x->type));
  }
  return imp_def_const(I, n, 0, t, d);
}

/* Constant indices: checked and made non-negative (numpy take allows -dim..dim-1). */
static KilnStatus gather_indices(Imp *I, Entry *ix, int64_t dim, Entry **out) {
  int64_t cnt = type_numel(&ix->type);
  void *d = alloc_type(I, &ix->type);
  if (!d) return I->d->status;
  for (int64_t i = 0; i < cnt; i++) {
    int64_t j = imp_get_i(ix->type.dtype, ix->data, i);
    if (j < -dim || j >= dim) return imp_err(I, KILN_ERR_INVALID, "index %lld out of range for a dim of %lld", (long long)j, (long long)dim);
    imp_set_i(ix->type.dtype, d, i, j < 0 ? j + dim : j);
  }
  char nm[512];
  snprintf(nm, sizeof nm, "%s_idx", ix->name);
  *out = imp_const_entry(I, nm, ix->type, d);
  return *out ? KILN_OK : imp_err(I, KILN_ERR_NOMEM, "out of memory");
}

KilnStatus imp_gather(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *ix = imp_in(I, n, 1);
  int ax;
  if (!x || !ix) return imp_err(I, KILN_ERR_INVALID, "needs data and indices");
  KilnStatus st = axis_attr(I, onnx_attr_int(n, "axis", 0), x->type.rank, &ax);
  if (st) return st;
  if (ix->type.dtype != KILN_I64 && ix->type.dtype != KILN_I32) return imp_err(I, KILN_ERR_INVALID, "indices are not int32/int64");
  if (x->type.rank + ix->type.rank - 1 > KILN_MAX_RANK) return imp_err(I, KILN_ERR_LIMIT, "result rank exceeds %d", KILN_MAX_RANK);
  if (ix->data && (st = gather_indices(I, ix, x->type.dims[ax], &ix))) return st;
  TensorType t = {.dtype = x->type.dtype};
  for (int i = 0; i < ax; i++) t.dims[t.rank++] = x->type.dims[i];
  for (int i = 0; i < ix->type.rank; i++) t.dims[t.rank++] = ix->type.dims[i];
  for (int i = ax + 1; i < x->type.rank; i++) t.dims[t.rank++] = x->type.dims[i];
  if ((st = imp_check_limits(I, &t, n->output[0]))) return st;
  if (x->data && ix->data) return gather_fold(I, n, x, ix, ax, t);
  Value *ins[2] = {imp_value(I, x), imp_value(I, ix)};
  Op *op = imp_op(I, KILN_OP_GATHER, NULL, 2, ins, 1, NULL);
  op->attrs.axis = ax;
  Entry r;
  return (st = finish_entry(I, op, &r)) ? st : bind(I, n, 0, r);
}

/* ---- constants: Shape, Constant, ConstantOfShape, Range, ReduceProd ----------------------- */

KilnStatus imp_shape(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  int64_t r = x->type.rank, s = onnx_attr_int(n, "start", 0), e = onnx_attr_int(n, "end", r);
  s = s < 0 ? (s < -r ? 0 : s + r) : (s > r ? r : s);
  e = e < 0 ? (e < -r ? 0 : e + r) : (e > r ? r : e);
  int64_t cnt = e > s ? e - s : 0;
  int64_t *d = imp_alloc(I, 8 * (cnt ? cnt : 1));
  if (!d) return I->d->status;
  for (int64_t i = 0; i < cnt; i++) d[i] = x->type.dims[s + i];
  return imp_def_const(I, n, 0, type_make(KILN_I64, 1, &cnt), d);
}

static KilnStatus const_scalar_attr(Imp *I, const Onnx__NodeProto *n, const Onnx__AttributeProto *a) {
  const char *nm = a->name;
  int64_t cnt;
  void *d;
  if (!strcmp(nm, "value_float") || !strcmp(nm, "value_int")) {
    bool f = nm[6] == 'f';
    d = imp_alloc(I, 8);
    if (f) *(float *)d = a->f;
    else *(int64_t *)d = a->i;
    return imp_def_const(I, n, 0, type_make(f ? KILN_F32 : KILN_I64, 0, NULL), d);
  }
  if (!strcmp(nm, "value_floats") || !strcmp(nm, "value_ints")) {
    bool f = nm[6] == 'f';
    cnt = (int64_t)(f ? a->n_floats : a->n_ints);
    d = imp_alloc(I, 8 * (cnt ? cnt : 1));
    if (f && cnt) memcpy(d, a->floats, sizeof(float) * (size_t)cnt);
    if (!f && cnt) memcpy(d, a->ints, sizeof(int64_t) * (size_t)cnt);
    return imp_def_const(I, n, 0, type_make(f ? KILN_F32 : KILN_I64, 1, &cnt), d);
  }
  return imp_err(I, KILN_ERR_UNSUPPORTED, "attribute '%s'", nm);
}

KilnStatus imp_constant(Imp *I, const Onnx__NodeProto *n) {
  if (n->n_attribute != 1 || !n->attribute[0]->name)
    return imp_err(I, KILN_ERR_INVALID, "needs exactly one value attribute, has %zu", n->n_attribute);
  const Onnx__AttributeProto *a = n->attribute[0];
  if (strcmp(a->name, "value")) return const_scalar_attr(I, n, a);
  if (!a->t) return imp_err(I, KILN_ERR_INVALID, "attribute 'value' holds no tensor");
  TensorType t;
  void *d;
  KilnStatus st = onnx_tensor_load(I, a->t, &t, &d);
  return st ? st : imp_def_const(I, n, 0, t, d);
}

KilnStatus imp_constant_of_shape(Imp *I, const Onnx__NodeProto *n) {
  Entry *s = imp_in(I, n, 0);
  int64_t sh[KILN_MAX_RANK];
  int cnt;
  if (!s) return imp_err(I, KILN_ERR_INVALID, "needs a shape input");
  KilnStatus st = imp_const_ints(I, s, "shape", sh, KILN_MAX_RANK, &cnt);
  if (st) return st;
  TensorType vt = {.dtype = KILN_F32}, t;
  void *v = NULL;
  const Onnx__AttributeProto *a = onnx_attr_find(n, "value");
  if (a && a->t && (st = onnx_tensor_load(I, a->t, &vt, &v))) return st;
  if (v && type_numel(&vt) != 1) return imp_err(I, KILN_ERR_INVALID, "value must have one element");
  t = (TensorType){.dtype = vt.dtype, .rank = cnt};
  for (int i = 0; i < cnt; i++) t.dims[i] = sh[i];
  if ((st = imp_check_limits(I, &t, n->output[0]))) return st;
  void *d = alloc_type(I, &t);
  if (!d) return I->d->status;
  for (int64_t i = 0, k = type_numel(&t); v && i < k; i++) copy_elem(t.dtype, d, i, v, 0);
  return imp_def_const(I, n, 0, t, d);
}

KilnStatus imp_range(Imp *I, const Onnx__NodeProto *n) {
  Entry *e[3] = {imp_in(I, n, 0), imp_in(I, n, 1), imp_in(I, n, 2)};
  double v[3];
  for (int i = 0; i < 3; i++) {
    int c;
    if (!e[i]) return imp_err(I, KILN_ERR_INVALID, "needs start, limit and delta");
    KilnStatus st = imp_const_floats(I, e[i], "range bound", &v[i], 1, &c);
    if (st) return st;
    if (c != 1) return imp_err(I, KILN_ERR_INVALID, "input %d is not a scalar", i);
  }
  double cnt = v[2] != 0 ? ceil((v[1] - v[0]) / v[2]) : NAN;
  if (!(cnt < 1e9)) return imp_err(I, KILN_ERR_LIMIT, "range of %g elements", cnt);
  int64_t k = cnt > 0 ? (int64_t)cnt : 0;
  TensorType t = type_make(e[0]->type.dtype, 1, &k);
  void *d = alloc_type(I, &t);
  if (!d) return I->d->status;
  bool fl = dtype_is_float(t.dtype);
  int64_t s0 = imp_get_i(t.dtype, e[0]->data, 0), dl = imp_get_i(t.dtype, e[2]->data, 0);
  for (int64_t i = 0; i < k; i++) {
    if (fl) imp_set_f(t.dtype, d, i, v[0] + (double)i * v[2]);
    else imp_set_i(t.dtype, d, i, s0 + i * dl);
  }
  return imp_def_const(I, n, 0, t, d);
}

KilnStatus imp_reduce_prod(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  int64_t ax[KILN_MAX_RANK];
  int na = -1;
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  if (!x->data) return imp_reduce(I, n); /* a run-time reduction */
  Entry *ea = I->opset >= 18 ? imp_in(I, n, 1) : NULL;
  KilnStatus st = ea ? imp_const_ints(I, ea, "axes", ax, KILN_MAX_RANK, &na) : KILN_OK;
  if (!ea && (na = onnx_attr_ints(I, n, "axes", ax, KILN_MAX_RANK)) == -2) return I->d->status;
  if (st) return st;
  bool red[KILN_MAX_RANK], keep = onnx_attr_int(n, "keepdims", 1) != 0;
  int r = x->type.rank;
  for (int i = 0; i < r; i++) red[i] = na <= 0;
  for (int i = 0; i < na; i++) {
    int a;
    if ((st = axis_attr(I, ax[i], r, &a))) return st;
    red[a] = true;
  }
  TensorType kt = x->type, t = {.dtype = x->type.dtype};
  for (int i = 0; i < r; i++) {
    if (red[i]) kt.dims[i] = 1;
    if (!red[i] || keep) t.dims[t.rank++] = red[i] ? 1 : x->type.dims[i];
  }
  int64_t cnt = type_numel(&kt), idx[KILN_MAX_RANK] = {0}, total = type_numel(&x->type);
  double *acc = imp_alloc(I, 8 * (cnt ? cnt : 1));
  void *d = alloc_type(I, &t);
  if (!acc || !d) return I->d->status ? I->d->status : imp_err(I, KILN_ERR_NOMEM, "out of memory");
  for (int64_t i = 0; i < cnt; i++) acc[i] = 1;
  for (int64_t e = 0; e < total; e++, imp_idx_next(idx, x->type.dims, r)) {
    int64_t o[KILN_MAX_RANK];
    for (int i = 0; i < r; i++) o[i] = red[i] ? 0 : idx[i];
    acc[flat_index(o, &kt)] *= imp_get_f(x->type.dtype, x->data, e);
  }
  for (int64_t i = 0; i < cnt; i++) imp_set_f(t.dtype, d, i, acc[i]);
  return imp_def_const(I, n, 0, t, d);
}
