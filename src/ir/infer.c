/* infer.c — result types of every op kind, from operand types and attributes.
 *
 * op_infer_types() is the single source of truth for shapes: the importer creates ops
 * and then asks it for their result types, the verifier compares each op's result types
 * with it. Ops whose result shape is not a function of operands and attributes alone
 * (GENERIC, RESHAPE, EXPAND_SHAPE, EXTRACT_SLICE, DISPATCH) return their current result
 * types after checking that they are consistent with the operands (element counts,
 * in-range indexing maps, in-range slice indices).
 * All size arithmetic is overflow-checked; every error names the op (op->name), its
 * kind and what is wrong. No function here asserts on user-controlled values. */
#include <math.h>
#include <string.h>

#include "ir.h"

static KilnStatus op_err(Diag *d, const Op *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static KilnStatus op_err(Diag *d, const Op *op, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return diag_error(d, KILN_ERR_INVALID, "%s '%s': %s", op_kind_name(op->kind),
                    op->name ? op->name : "?", what);
}

static const char *tstr(const TensorType *t, char *buf) { return type_str(t, buf, 128); }

static KilnStatus need_inputs(const Op *op, int lo, int hi, Diag *d) {
  if (op->n_in < lo || op->n_in > hi)
    return op_err(d, op, "has %d operands, expected %d..%d", op->n_in, lo, hi);
  if (op->n_out != 1) return op_err(d, op, "has %d results, expected 1", op->n_out);
  return KILN_OK;
}

static KilnStatus need_rank(const Op *op, int i, int rank, Diag *d) {
  if (op->in[i]->type.rank != rank)
    return op_err(d, op, "operand %d has rank %d, expected %d", i, op->in[i]->type.rank, rank);
  return KILN_OK;
}

/* ---- constants, generic ----------------------------------------------------------- */

static KilnStatus infer_constant(const Op *op, TensorType *out, Diag *d) {
  const Module *m = op->parent ? op->parent->module : NULL;
  int ci = op->attrs.const_index;
  if (!m || ci < 0 || ci >= m->n_consts) return op_err(d, op, "names missing constant %d", ci);
  out[0] = m->consts[ci].type;
  return KILN_OK;
}

/* Smallest and largest value of an affine expression over the loop ranges. */
static bool expr_bounds(const AffineExpr *e, int n_loops, const int64_t *ranges,
                        int64_t *lo, int64_t *hi) {
  *lo = *hi = e->cst;
  for (int l = 0; l < n_loops; l++) {
    int64_t t;
    if (!e->coef[l]) continue;
    if (ranges[l] <= 0) return true; /* empty iteration space: nothing is accessed */
    if (checked_mul_i64(e->coef[l], ranges[l] - 1, &t)) return false;
    if (checked_add_i64(t > 0 ? *hi : *lo, t, t > 0 ? hi : lo)) return false;
  }
  return true;
}

static int expr_pure_dim(const AffineExpr *e, int n_loops) {
  int dim = -1;
  if (e->cst) return -1;
  for (int l = 0; l < n_loops; l++) {
    if (!e->coef[l]) continue;
    if (e->coef[l] != 1 || dim >= 0) return -1;
    dim = l;
  }
  return dim;
}

static KilnStatus check_map(const Op *op, int k, const int64_t *ranges, Diag *d) {
  const OpAttrs *a = &op->attrs;
  const Value *v = k < op->n_in ? op->in[k] : op->out[k - op->n_in];
  const AffineMap *m = &a->maps[k];
  for (int r = 0; r < m->n_results; r++) {
    const AffineExpr *e = &m->results[r];
    for (int l = a->n_loops; l < KILN_MAX_RANK; l++)
      if (e->coef[l]) return op_err(d, op, "map %d result %d uses loop d%d of %d", k, r, l, a->n_loops);
    int dim = expr_pure_dim(e, a->n_loops);
    int64_t lo, hi, size = v->type.dims[r];
    if (dim >= 0) {
      if (ranges[dim] != size)
        return op_err(d, op, "operand %d dim %d is %lld but loop d%d ranges over %lld", k, r,
                      (long long)size, dim, (long long)ranges[dim]);
      continue;
    }
    if (!expr_bounds(e, a->n_loops, ranges, &lo, &hi))
      return op_err(d, op, "map %d result %d overflows", k, r);
    bool empty = false;
    for (int l = 0; l < a->n_loops; l++) empty |= ranges[l] == 0;
    if (!empty && (lo < 0 || hi >= size))
      return op_err(d, op, "map %d result %d reads index %lld..%lld of a dim of size %lld", k, r,
                    (long long)lo, (long long)hi, (long long)size);
  }
  return KILN_OK;
}

static KilnStatus infer_generic(const Op *op, TensorType *out, Diag *d) {
  const OpAttrs *a = &op->attrs;
  if (a->n_loops < 0 || a->n_loops > KILN_MAX_RANK) return op_err(d, op, "has %d loops", a->n_loops);
  if (a->n_maps != op->n_in + op->n_out || (a->n_maps && !a->maps))
    return op_err(d, op, "has %d maps for %d operands", a->n_maps, op->n_in + op->n_out);
  for (int k = 0; k < a->n_maps; k++) {
    const Value *v = k < op->n_in ? op->in[k] : op->out[k - op->n_in];
    if (a->maps[k].n_results != v->type.rank)
      return op_err(d, op, "map %d has %d results for an operand of rank %d", k,
                    a->maps[k].n_results, v->type.rank);
  }
  int64_t ranges[KILN_MAX_RANK];
  if (!generic_loop_ranges(op, ranges)) return op_err(d, op, "a loop range is not determined");
  for (int k = 0; k < a->n_maps; k++) {
    KilnStatus st = check_map(op, k, ranges, d);
    if (st) return st;
  }
  for (int i = 0; i < op->n_out; i++) out[i] = op->out[i]->type;
  return KILN_OK;
}

/* ---- convolutions and pooling -------------------------------------------------- */

/* One spatial output size: (in + pads - dilated kernel) / stride + 1. */
static KilnStatus conv_out_dim(const Op *op, int i, int64_t in, int64_t *out, Diag *d) {
  const OpAttrs *a = &op->attrs;
  int64_t k = a->kernel[i], s = a->strides[i], dl = a->dilations[i];
  int64_t p0 = a->pads[i], p1 = a->pads[i + 2], eff, padded;
  if (k < 1 || s < 1 || dl < 1 || p0 < 0 || p1 < 0)
    return op_err(d, op, "bad kernel %lld / stride %lld / dilation %lld / pads %lld,%lld in dim %d",
                  (long long)k, (long long)s, (long long)dl, (long long)p0, (long long)p1, i);
  if (checked_mul_i64(k - 1, dl, &eff) || checked_add_i64(eff, 1, &eff) ||
      checked_add_i64(in, p0, &padded) || checked_add_i64(padded, p1, &padded))
    return op_err(d, op, "window size overflows");
  if (padded < eff)
    return op_err(d, op, "window of %lld does not fit the padded input of %lld (dim %d)",
                  (long long)eff, (long long)padded, i);
  *out = (padded - eff) / s + 1;
  return KILN_OK;
}

/* Splits an activation into N, C, H, W per layout. */
static void nchw_of(const TensorType *t, Layout l, int64_t *n, int64_t *c, int64_t *h, int64_t *w) {
  *n = t->dims[0];
  *c = l == LAYOUT_NHWC ? t->dims[3] : t->dims[1];
  *h = l == LAYOUT_NHWC ? t->dims[1] : t->dims[2];
  *w = l == LAYOUT_NHWC ? t->dims[2] : t->dims[3];
}

static TensorType act_type(DType dt, Layout l, int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t nchw[4] = {n, c, h, w}, nhwc[4] = {n, h, w, c};
  return type_make(dt, 4, l == LAYOUT_NHWC ? nhwc : nchw);
}

static KilnStatus check_bias(const Op *op, int64_t f, Diag *d) {
  if (op->n_in < 3) return KILN_OK;
  const TensorType *b = &op->in[2]->type;
  if (b->rank != 1 || b->dims[0] != f)
    return op_err(d, op, "bias has %d dims (first %lld), expected [%lld]", b->rank,
                  (long long)(b->rank ? b->dims[0] : 0), (long long)f);
  return KILN_OK;
}

static KilnStatus spatial_out(const Op *op, int64_t h, int64_t w, int64_t *oh, int64_t *ow, Diag *d) {
  KilnStatus st = conv_out_dim(op, 0, h, oh, d);
  return st ? st : conv_out_dim(op, 1, w, ow, d);
}

static KilnStatus infer_conv(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 2, 3, d);
  if (!st) st = need_rank(op, 0, 4, d);
  if (!st) st = need_rank(op, 1, 4, d);
  if (st) return st;
  const OpAttrs *a = &op->attrs;
  const int64_t *w = op->in[1]->type.dims;
  bool nhwc = a->layout == LAYOUT_NHWC;
  int64_t n, c, h, wd, oh, ow, g = a->groups;
  int64_t f = nhwc ? w[3] : w[0], wc = nhwc ? w[2] : w[1];
  int64_t kh = nhwc ? w[0] : w[2], kw = nhwc ? w[1] : w[3];
  nchw_of(&op->in[0]->type, a->layout, &n, &c, &h, &wd);
  if (g < 1 || c % g || f % g) return op_err(d, op, "groups %lld do not divide channels %lld / filters %lld", (long long)g, (long long)c, (long long)f);
  if (wc * g != c)
    return op_err(d, op, "input has %lld channels but weight expects %lld x %lld groups",
                  (long long)c, (long long)wc, (long long)g);
  if (kh != a->kernel[0] || kw != a->kernel[1])
    return op_err(d, op, "weight kernel %lldx%lld differs from kernel attribute %lldx%lld",
                  (long long)kh, (long long)kw, (long long)a->kernel[0], (long long)a->kernel[1]);
  if ((st = check_bias(op, f, d)) || (st = spatial_out(op, h, wd, &oh, &ow, d))) return st;
  out[0] = act_type(op->in[0]->type.dtype, a->layout, n, f, oh, ow);
  return KILN_OK;
}

static KilnStatus infer_depthwise(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 2, 3, d);
  if (!st) st = need_rank(op, 0, 4, d);
  if (!st) st = need_rank(op, 1, 3, d);
  if (st) return st;
  const OpAttrs *a = &op->attrs;
  const int64_t *w = op->in[1]->type.dims;
  bool nhwc = a->layout == LAYOUT_NHWC;
  int64_t n, c, h, wd, oh, ow;
  int64_t wc = nhwc ? w[2] : w[0], kh = nhwc ? w[0] : w[1], kw = nhwc ? w[1] : w[2];
  nchw_of(&op->in[0]->type, a->layout, &n, &c, &h, &wd);
  if (wc != c) return op_err(d, op, "input has %lld channels, weight has %lld", (long long)c, (long long)wc);
  if (kh != a->kernel[0] || kw != a->kernel[1])
    return op_err(d, op, "weight kernel %lldx%lld differs from kernel attribute %lldx%lld",
                  (long long)kh, (long long)kw, (long long)a->kernel[0], (long long)a->kernel[1]);
  if ((st = check_bias(op, c, d)) || (st = spatial_out(op, h, wd, &oh, &ow, d))) return st;
  out[0] = act_type(op->in[0]->type.dtype, a->layout, n, c, oh, ow);
  return KILN_OK;
}

/* out = stride * (in - 1) + output_padding + dilated kernel - pads. */
static KilnStatus convt_out_dim(const Op *op, int i, int64_t in, int64_t *out, Diag *d) {
  const OpAttrs *a = &op->attrs;
  int64_t k = a->kernel[i], s = a->strides[i], dl = a->dilations[i], op_ = a->output_padding[i];
  int64_t p0 = a->pads[i], p1 = a->pads[i + 2], r, pads;
  if (k < 1 || s < 1 || dl < 1 || p0 < 0 || p1 < 0 || op_ < 0 || in < 1)
    return op_err(d, op, "bad kernel/stride/dilation/pads/output_padding in dim %d", i);
  /* every term checked: pads near INT64_MAX (hostile text) must not wrap */
  if (checked_mul_i64(s, in - 1, &r) || checked_add_i64(r, op_, &r) ||
      checked_mul_i64(k - 1, dl, out) || checked_add_i64(r, *out, &r) ||
      checked_add_i64(r, 1, &r) || checked_add_i64(p0, p1, &pads))
    return op_err(d, op, "output size overflows");
  r -= pads; /* r >= 1 and pads >= 0 */
  if (r < 1) return op_err(d, op, "output size %lld in dim %d is not positive", (long long)r, i);
  *out = r;
  return KILN_OK;
}

static KilnStatus infer_conv_transpose(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 2, 3, d);
  if (!st) st = need_rank(op, 0, 4, d);
  if (!st) st = need_rank(op, 1, 4, d);
  if (st) return st;
  const OpAttrs *a = &op->attrs;
  const int64_t *wd = op->in[1]->type.dims;
  bool nhwc = a->layout == LAYOUT_NHWC;
  int64_t n, c, h, wi, g = a->groups, f, oh, ow;
  nchw_of(&op->in[0]->type, a->layout, &n, &c, &h, &wi);
  /* iohw (NCHW) or hwoi (NHWC) weights: in-channels, out-channels per group, KH, KW. */
  int64_t w_in = nhwc ? wd[3] : wd[0], w_out = nhwc ? wd[2] : wd[1];
  int64_t kh = nhwc ? wd[0] : wd[2], kw = nhwc ? wd[1] : wd[3];
  if (g < 1 || c % g) return op_err(d, op, "groups %lld do not divide channels %lld", (long long)g, (long long)c);
  if (w_in != c) return op_err(d, op, "input has %lld channels, weight has %lld", (long long)c, (long long)w_in);
  if (kh != a->kernel[0] || kw != a->kernel[1]) return op_err(d, op, "weight kernel differs from kernel attribute");
  if (checked_mul_i64(w_out, g, &f)) return op_err(d, op, "channel count overflows");
  if ((st = check_bias(op, f, d)) || (st = convt_out_dim(op, 0, h, &oh, d)) ||
      (st = convt_out_dim(op, 1, wi, &ow, d)))
    return st;
  out[0] = act_type(op->in[0]->type.dtype, a->layout, n, f, oh, ow);
  return KILN_OK;
}

static KilnStatus infer_pool(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  if (!st) st = need_rank(op, 0, 4, d);
  if (st) return st;
  int64_t n, c, h, w, oh, ow;
  nchw_of(&op->in[0]->type, op->attrs.layout, &n, &c, &h, &w);
  if ((st = spatial_out(op, h, w, &oh, &ow, d))) return st;
  out[0] = act_type(op->in[0]->type.dtype, op->attrs.layout, n, c, oh, ow);
  return KILN_OK;
}

/* ---- matmul, resize, argmax, gather ----------------------------------------------- */

static KilnStatus infer_matmul(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 2, 2, d);
  if (st) return st;
  const TensorType *a = &op->in[0]->type, *b = &op->in[1]->type;
  char s1[128], s2[128];
  if (a->rank < 2 || b->rank < 2 || a->dtype != b->dtype)
    return op_err(d, op, "operands %s and %s: need rank >= 2 and one element type", tstr(a, s1), tstr(b, s2));
  if (a->dims[a->rank - 1] != b->dims[b->rank - 2])
    return op_err(d, op, "inner dims differ: %s x %s", tstr(a, s1), tstr(b, s2));
  int rank = a->rank > b->rank ? a->rank : b->rank;
  TensorType t = {.dtype = a->dtype, .rank = rank};
  for (int i = 0; i < rank - 2; i++) {
    int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return op_err(d, op, "batch dims do not broadcast: %s x %s", tstr(a, s1), tstr(b, s2));
    t.dims[i] = da == 1 ? db : da;
  }
  t.dims[rank - 2] = a->dims[a->rank - 2];
  t.dims[rank - 1] = b->dims[b->rank - 1];
  out[0] = t;
  return KILN_OK;
}

static KilnStatus infer_resize(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  if (st) return st;
  TensorType t = op->in[0]->type;
  for (int i = 0; i < t.rank; i++) {
    double s = op->attrs.scales[i], v = (double)t.dims[i] * s;
    if (!(s > 0) || !(v < 4e18)) return op_err(d, op, "bad scale %g for dim %d", s, i);
    t.dims[i] = (int64_t)floor(v);
  }
  out[0] = t;
  return KILN_OK;
}

static KilnStatus norm_axis(const Op *op, int64_t axis, int rank, int *out, Diag *d) {
  if (axis < -rank || axis >= rank)
    return op_err(d, op, "axis %lld out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return KILN_OK;
}

static KilnStatus infer_argmax(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  const TensorType *x = &op->in[0]->type;
  int ax = 0;
  if (st || (st = norm_axis(op, op->attrs.axis, x->rank, &ax, d))) return st;
  TensorType t = {.dtype = KILN_I64};
  for (int i = 0; i < x->rank; i++) {
    if (i != ax) t.dims[t.rank++] = x->dims[i];
    else if (op->attrs.keepdims) t.dims[t.rank++] = 1;
  }
  out[0] = t;
  return KILN_OK;
}

static KilnStatus infer_gather(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 2, 2, d);
  const TensorType *x = &op->in[0]->type, *ix = &op->in[1]->type;
  int ax = 0;
  if (st || (st = norm_axis(op, op->attrs.axis, x->rank, &ax, d))) return st;
  if (ix->dtype != KILN_I64 && ix->dtype != KILN_I32) return op_err(d, op, "indices are %s, not i32/i64", dtype_name(ix->dtype));
  if (x->rank + ix->rank - 1 > KILN_MAX_RANK) return op_err(d, op, "result rank exceeds %d", KILN_MAX_RANK);
  if (x->dims[ax] == 0 && type_numel(ix) > 0) return op_err(d, op, "gathers from an empty axis");
  TensorType t = {.dtype = x->dtype};
  for (int i = 0; i < ax; i++) t.dims[t.rank++] = x->dims[i];
  for (int i = 0; i < ix->rank; i++) t.dims[t.rank++] = ix->dims[i];
  for (int i = ax + 1; i < x->rank; i++) t.dims[t.rank++] = x->dims[i];
  out[0] = t;
  return KILN_OK;
}

/* ---- data movement ------------------------------------------------------------ */

static KilnStatus infer_transpose(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  if (st) return st;
  const TensorType *x = &op->in[0]->type;
  bool seen[KILN_MAX_RANK] = {0};
  TensorType t = {.dtype = x->dtype, .rank = x->rank};
  for (int i = 0; i < x->rank; i++) {
    int64_t p = op->attrs.perm[i];
    if (p < 0 || p >= x->rank || seen[p]) return op_err(d, op, "perm is not a permutation of %d dims", x->rank);
    seen[p] = true;
    t.dims[i] = x->dims[p];
  }
  out[0] = t;
  return KILN_OK;
}

static KilnStatus infer_pad(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  if (st) return st;
  const OpAttrs *a = &op->attrs;
  TensorType t = op->in[0]->type;
  for (int i = 0; i < t.rank; i++) {
    int64_t lo = a->pad_lo[i], hi = a->pad_hi[i], n = t.dims[i], r;
    if (checked_add_i64(n, lo, &r) || checked_add_i64(r, hi, &r) || r < 0)
      return op_err(d, op, "dim %d of size %lld padded by %lld,%lld is invalid", i, (long long)n,
                    (long long)lo, (long long)hi);
    if (a->pad_mode == PAD_REFLECT && (lo >= n || hi >= n) && (lo > 0 || hi > 0))
      return op_err(d, op, "reflect pad %lld,%lld must be smaller than dim %d (%lld)",
                    (long long)lo, (long long)hi, i, (long long)n);
    if (a->pad_mode == PAD_EDGE && n == 0 && (lo > 0 || hi > 0))
      return op_err(d, op, "edge pad of an empty dim %d", i);
    t.dims[i] = r;
  }
  out[0] = t;
  return KILN_OK;
}

static KilnStatus infer_reshape(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  if (st) return st;
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  char s1[128], s2[128];
  if (x->dtype != y->dtype || type_numel(x) != type_numel(y) || type_numel(x) < 0)
    return op_err(d, op, "cannot reshape %s to %s", tstr(x, s1), tstr(y, s2));
  out[0] = *y;
  return KILN_OK;
}

/* Checks reassoc groups against the larger side `big` and fills the smaller side dims. */
static KilnStatus reassoc_dims(const Op *op, const TensorType *big, int64_t *small, Diag *d) {
  const OpAttrs *a = &op->attrs;
  int k = 0;
  if (a->n_reassoc < 0 || a->n_reassoc > KILN_MAX_RANK) return op_err(d, op, "has %d reassociation groups", a->n_reassoc);
  for (int g = 0; g < a->n_reassoc; g++) {
    int64_t p = 1;
    if (a->reassoc[g] < 1 || a->reassoc[g] > big->rank - k)
      return op_err(d, op, "reassociation group %d (%lld dims) does not fit rank %d", g,
                    (long long)a->reassoc[g], big->rank);
    for (int64_t j = 0; j < a->reassoc[g]; j++)
      if (checked_mul_i64(p, big->dims[k++], &p)) return op_err(d, op, "group size overflows");
    small[g] = p;
  }
  if (k != big->rank) return op_err(d, op, "reassociation covers %d of %d dims", k, big->rank);
  return KILN_OK;
}

static KilnStatus infer_collapse(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  if (st) return st;
  TensorType t = {.dtype = op->in[0]->type.dtype, .rank = op->attrs.n_reassoc};
  if ((st = reassoc_dims(op, &op->in[0]->type, t.dims, d))) return st;
  out[0] = t;
  return KILN_OK;
}

static KilnStatus infer_expand(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  if (st) return st;
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  int64_t small[KILN_MAX_RANK];
  if ((st = reassoc_dims(op, y, small, d))) return st;
  if (x->rank != op->attrs.n_reassoc || x->dtype != y->dtype)
    return op_err(d, op, "operand rank %d / type differ from %d groups", x->rank, op->attrs.n_reassoc);
  for (int i = 0; i < x->rank; i++)
    if (small[i] != x->dims[i])
      return op_err(d, op, "group %d has %lld elements, operand dim is %lld", i,
                    (long long)small[i], (long long)x->dims[i]);
  out[0] = *y;
  return KILN_OK;
}

static KilnStatus infer_slice(const Op *op, TensorType *out, Diag *d) {
  KilnStatus st = need_inputs(op, 1, 1, d);
  if (st) return st;
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  if (x->rank != y->rank || x->dtype != y->dtype) return op_err(d, op, "result rank/type differs from operand");
  for (int i = 0; i < x->rank; i++) {
    int64_t off = op->attrs.offsets[i], step = op->attrs.steps[i], n = y->dims[i], last;
    if (step == 0) return op_err(d, op, "step of dim %d is 0", i);
    if (n == 0) continue;
    if (checked_mul_i64(n - 1, step, &last) || checked_add_i64(off, last, &last))
      return op_err(d, op, "slice of dim %d overflows", i);
    if (off < 0 || off >= x->dims[i] || last < 0 || last >= x->dims[i])
      return op_err(d, op, "dim %d reads indices %lld..%lld of %lld", i, (long long)off,
                    (long long)last, (long long)x->dims[i]);
  }
  out[0] = *y;
  return KILN_OK;
}

static KilnStatus infer_concat(const Op *op, TensorType *out, Diag *d) {
  if (op->n_in < 1 || op->n_out != 1) return op_err(d, op, "needs >= 1 operand and 1 result");
  TensorType t = op->in[0]->type;
  int ax = 0;
  KilnStatus st = norm_axis(op, op->attrs.axis, t.rank, &ax, d);
  if (st) return st;
  for (int k = 1; k < op->n_in; k++) {
    const TensorType *x = &op->in[k]->type;
    char s1[128], s2[128];
    bool ok = x->rank == t.rank && x->dtype == t.dtype;
    for (int i = 0; ok && i < t.rank; i++) ok = i == ax || x->dims[i] == t.dims[i];
    if (!ok) return op_err(d, op, "operand %d %s does not match %s on axis %d", k, tstr(x, s1), tstr(&op->in[0]->type, s2), ax);
    if (checked_add_i64(t.dims[ax], x->dims[ax], &t.dims[ax])) return op_err(d, op, "size overflows");
  }
  out[0] = t;
  return KILN_OK;
}

static KilnStatus infer_existing(const Op *op, TensorType *out, Diag *d) {
  for (int i = 0; i < op->n_out; i++) out[i] = op->out[i]->type;
  return KILN_OK;
}

KilnStatus op_infer_types(const Op *op, TensorType *out, Diag *d) {
  switch (op->kind) {
  case KILN_OP_CONSTANT: return infer_constant(op, out, d);
  case KILN_OP_GENERIC: return infer_generic(op, out, d);
  case KILN_OP_CONV2D: return infer_conv(op, out, d);
  case KILN_OP_DEPTHWISE_CONV2D: return infer_depthwise(op, out, d);
  case KILN_OP_CONV_TRANSPOSE2D: return infer_conv_transpose(op, out, d);
  case KILN_OP_POOL2D: return infer_pool(op, out, d);
  case KILN_OP_MATMUL: return infer_matmul(op, out, d);
  case KILN_OP_RESIZE: return infer_resize(op, out, d);
  case KILN_OP_ARGMAX: return infer_argmax(op, out, d);
  case KILN_OP_GATHER: return infer_gather(op, out, d);
  case KILN_OP_TRANSPOSE: return infer_transpose(op, out, d);
  case KILN_OP_PAD: return infer_pad(op, out, d);
  case KILN_OP_RESHAPE: return infer_reshape(op, out, d);
  case KILN_OP_COLLAPSE_SHAPE: return infer_collapse(op, out, d);
  case KILN_OP_EXPAND_SHAPE: return infer_expand(op, out, d);
  case KILN_OP_EXTRACT_SLICE: return infer_slice(op, out, d);
  case KILN_OP_CONCAT: return infer_concat(op, out, d);
  case KILN_OP_DISPATCH: return infer_existing(op, out, d);
  case KILN_OP_COUNT: break;
  }
  return op_err(d, op, "unknown op kind %d", (int)op->kind);
}
