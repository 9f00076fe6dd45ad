/* interp_data.c — data movement: TRANSPOSE, PAD, RESHAPE / COLLAPSE / EXPAND (copies),
 * EXTRACT_SLICE, CONCAT, GATHER, and ARGMAX.
 *
 * All of these move elements without arithmetic, so they work on bytes of any dtype
 * (ARGMAX reads elements as double). Each checks the result shape it relies on against
 * the operand shapes and attributes before touching memory:
 *   transpose: result dim i = operand dim perm[i];
 *   pad: result dim = lo + dim + hi (negative pads crop); constant / reflect (no edge
 *        repeat, numpy "reflect") / edge;
 *   extract_slice: result[i] = operand[offsets + i * steps] per dim, steps may be < 0;
 *   concat: along axis (negative counts from the end);
 *   gather: ONNX Gather, negative indices wrap once, others out of range are errors;
 *   argmax: ONNX ArgMax, first (or last, select_last_index) maximal index, i64 result. */
#include "interp_impl.h"

/* Copies one element of size es. */
static inline void copy_elem(char *dst, const char *src, size_t es) {
  switch (es) {
  case 1: *dst = *src; break;
  case 2: memcpy(dst, src, 2); break;
  case 4: memcpy(dst, src, 4); break;
  default: memcpy(dst, src, 8); break;
  }
}

/* One row of gather_strided: n elements of size es, source stride s (elements). */
static void gather_row(char *dst, const char *src, size_t es, int64_t n, int64_t s) {
  if (s == 1) { /* a contiguous run (a pixel's channels in a strided NHWC slice) */
    memcpy(dst, src, (size_t)n * es);
    return;
  }
  switch (es) {
  case 4:
    for (int64_t j = 0; j < n; j++) memcpy(dst + 4 * j, src + 4 * j * s, 4);
    return;
  case 1:
    for (int64_t j = 0; j < n; j++) dst[j] = src[j * s];
    return;
  default:
    for (int64_t j = 0; j < n; j++) copy_elem(dst + (size_t)j * es, src + (size_t)(j * s) * es, es);
  }
}

/* dst (C order, dims) [p] = src[base + sum idx_i * sstride_i], a row of the innermost
 * dim at a time (the odometer steps once per row). */
static void gather_strided(char *dst, const char *src, size_t es, int rank, const int64_t *dims,
                           const int64_t *sstride, int64_t base, int64_t total) {
  if (rank == 0) {
    if (total) copy_elem(dst, src + (size_t)base * es, es);
    return;
  }
  int64_t idx[KILN_MAX_RANK] = {0}, off = base, row = dims[rank - 1];
  if (row == 0) return;
  for (int64_t p = 0; p < total; p += row) {
    gather_row(dst + (size_t)p * es, src + (size_t)off * es, es, row, sstride[rank - 1]);
    for (int d = rank - 2; d >= 0; d--) {
      off += sstride[d];
      if (++idx[d] < dims[d]) break;
      off -= sstride[d] * dims[d];
      idx[d] = 0;
    }
  }
}

static void c_strides(const TensorType *t, int64_t *s) {
  int64_t st = 1;
  for (int d = t->rank - 1; d >= 0; d--) s[d] = st, st *= t->dims[d];
}

static KilnStatus check_same_dtype(const Op *op, Diag *d) {
  for (int i = 0; i < op->n_in; i++)
    if (op->in[i]->type.dtype != op->out[0]->type.dtype)
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": operand %d dtype differs from result",
                        OPARG(op), i);
  return KILN_OK;
}

KilnStatus exec_transpose(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  const TensorType *xt = &in[0]->type, *yt = &out[0]->type;
  int64_t xs[KILN_MAX_RANK], ss[KILN_MAX_RANK];
  bool seen[KILN_MAX_RANK] = {0};
  if (xt->rank != yt->rank || check_same_dtype(op, d))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": result rank/dtype differs", OPARG(op));
  c_strides(xt, xs);
  for (int i = 0; i < xt->rank; i++) {
    int64_t p = op->attrs.perm[i];
    if (p < 0 || p >= xt->rank || seen[p])
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": perm is not a permutation", OPARG(op));
    seen[p] = true;
    if (yt->dims[i] != xt->dims[p]) return bad_dim(op, "result dim", xt->dims[p], yt->dims[i], d);
    ss[i] = xs[p];
  }
  gather_strided(out[0]->data, in[0]->data, dtype_size(xt->dtype), xt->rank, yt->dims, ss, 0,
                 type_numel(yt));
  return KILN_OK;
}

/* Source index along one dim for output index o, or -1 for the constant. */
static int64_t pad_src(int64_t o, int64_t lo, int64_t n, PadMode m) {
  int64_t i = o - lo;
  if (i >= 0 && i < n) return i;
  if (m == PAD_CONSTANT || n == 0) return -1;
  if (m == PAD_EDGE) return i < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

static KilnStatus check_pad(const Op *op, Diag *d) {
  const TensorType *xt = &op->in[0]->type, *yt = &op->out[0]->type;
  const OpAttrs *a = &op->attrs;
  if (xt->rank != yt->rank || check_same_dtype(op, d))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": result rank/dtype differs", OPARG(op));
  for (int i = 0; i < xt->rank; i++) {
    int64_t want = xt->dims[i] + a->pad_lo[i] + a->pad_hi[i];
    if (want != yt->dims[i]) return bad_dim(op, "result dim", want, yt->dims[i], d);
    if (a->pad_mode == PAD_REFLECT && xt->dims[i] == 0 && want > 0)
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": reflect-padding an empty dim", OPARG(op));
  }
  return KILN_OK;
}

/* Constant pad with no negative pad: fill y, then copy x's rows into the interior box. */
static void pad_constant_rows(const Op *op, const Tensor *x, Tensor *y, const char *fill,
                              size_t es) {
  const TensorType *xt = &x->type, *yt = &y->type;
  int64_t ys[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0}, total = type_numel(yt);
  c_strides(yt, ys);
  for (int64_t p = 0; p < total; p++) memcpy((char *)y->data + (size_t)p * es, fill, es);
  int r = xt->rank;
  int64_t row = r ? xt->dims[r - 1] : 1, rows = row ? type_numel(xt) / row : 0;
  for (int64_t k = 0; k < rows; k++) {
    int64_t off = r ? op->attrs.pad_lo[r - 1] : 0;
    for (int i = 0; i < r - 1; i++) off += (idx[i] + op->attrs.pad_lo[i]) * ys[i];
    memcpy((char *)y->data + (size_t)off * es, (const char *)x->data + (size_t)(k * row) * es,
           (size_t)row * es);
    for (int i = r - 2; i >= 0; i--) {
      if (++idx[i] < xt->dims[i]) break;
      idx[i] = 0;
    }
  }
}

KilnStatus exec_pad(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  KilnStatus st = check_pad(op, d);
  if (st) return st;
  const TensorType *xt = &in[0]->type, *yt = &out[0]->type;
  size_t es = dtype_size(xt->dtype);
  char fill[8];
  elem_set_f(fill, xt->dtype, 0, op->attrs.pad_value);
  bool crops = false;
  for (int i = 0; i < xt->rank; i++) crops |= op->attrs.pad_lo[i] < 0 || op->attrs.pad_hi[i] < 0;
  if (op->attrs.pad_mode == PAD_CONSTANT && !crops) {
    pad_constant_rows(op, in[0], out[0], fill, es);
    return KILN_OK;
  }
  int64_t xs[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0}, total = type_numel(yt);
  c_strides(xt, xs);
  char *y = out[0]->data;
  const char *x = in[0]->data;
  for (int64_t p = 0; p < total; p++) {
    int64_t off = 0;
    for (int i = 0; i < xt->rank && off >= 0; i++) {
      int64_t s = pad_src(idx[i], op->attrs.pad_lo[i], xt->dims[i], op->attrs.pad_mode);
      off = s < 0 ? -1 : off + s * xs[i];
    }
    copy_elem(y + (size_t)p * es, off < 0 ? fill : x + (size_t)off * es, es);
    for (int i = xt->rank - 1; i >= 0; i--) {
      if (++idx[i] < yt->dims[i]) break;
      idx[i] = 0;
    }
  }
  return KILN_OK;
}

KilnStatus exec_copy(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  if (in[0]->nbytes != out[0]->nbytes || check_same_dtype(op, d))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": result has a different element count "
                      "or dtype", OPARG(op));
  memcpy(out[0]->data, in[0]->data, in[0]->nbytes);
  return KILN_OK;
}

KilnStatus exec_slice(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  const TensorType *xt = &in[0]->type, *yt = &out[0]->type;
  int64_t xs[KILN_MAX_RANK], ss[KILN_MAX_RANK], base = 0, total = type_numel(yt);
  if (xt->rank != yt->rank || check_same_dtype(op, d))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": result rank/dtype differs", OPARG(op));
  c_strides(xt, xs);
  for (int i = 0; i < xt->rank; i++) {
    int64_t o = op->attrs.offsets[i], s = op->attrs.steps[i], n = yt->dims[i];
    int64_t last = o + (n - 1) * s;
    if (total > 0 && (o < 0 || o >= xt->dims[i] || last < 0 || last >= xt->dims[i] ||
                      (s == 0 && n > 1)))
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": slice of dim %d leaves the operand",
                        OPARG(op), i);
    base += o * xs[i];
    ss[i] = s * xs[i];
  }
  if (total > 0)
    gather_strided(out[0]->data, in[0]->data, dtype_size(xt->dtype), xt->rank, yt->dims, ss,
                   base, total);
  return KILN_OK;
}

/* Normalizes axis into [0, rank) or returns -1. */
static int norm_axis(int64_t axis, int rank) {
  if (axis < 0) axis += rank;
  return axis >= 0 && axis < rank ? (int)axis : -1;
}

static KilnStatus check_concat(const Op *op, int axis, Diag *d) {
  const TensorType *yt = &op->out[0]->type;
  int64_t sum = 0;
  if (axis < 0 || check_same_dtype(op, d))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": bad axis or dtype", OPARG(op));
  for (int k = 0; k < op->n_in; k++) {
    const TensorType *t = &op->in[k]->type;
    if (t->rank != yt->rank) return bad_dim(op, "operand rank", yt->rank, t->rank, d);
    for (int i = 0; i < t->rank; i++)
      if (i != axis && t->dims[i] != yt->dims[i]) return bad_dim(op, "operand dim", yt->dims[i],
                                                                 t->dims[i], d);
    sum += t->dims[axis];
  }
  if (sum != yt->dims[axis]) return bad_dim(op, "result axis dim", sum, yt->dims[axis], d);
  return KILN_OK;
}

KilnStatus exec_concat(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  const TensorType *yt = &out[0]->type;
  int axis = norm_axis(op->attrs.axis, yt->rank);
  KilnStatus st = check_concat(op, axis, d);
  if (st) return st;
  size_t es = dtype_size(yt->dtype);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; i++) outer *= yt->dims[i];
  for (int i = axis + 1; i < yt->rank; i++) inner *= yt->dims[i];
  char *y = out[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int k = 0; k < op->n_in; k++) {
      size_t chunk = (size_t)(in[k]->type.dims[axis] * inner) * es;
      memcpy(y, (const char *)in[k]->data + (size_t)o * chunk, chunk);
      y += chunk;
    }
  return KILN_OK;
}

static KilnStatus check_gather(const Op *op, int axis, Diag *d) {
  const TensorType *xt = &op->in[0]->type, *it = &op->in[1]->type, *yt = &op->out[0]->type;
  if (axis < 0 || xt->dtype != yt->dtype || dtype_is_float(it->dtype) ||
      yt->rank != xt->rank - 1 + it->rank)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": bad axis, dtype or result rank",
                      OPARG(op));
  for (int i = 0; i < yt->rank; i++) {
    int64_t want = i < axis ? xt->dims[i] : i < axis + it->rank ? it->dims[i - axis]
                                                                : xt->dims[i - it->rank + 1];
    if (yt->dims[i] != want) return bad_dim(op, "result dim", want, yt->dims[i], d);
  }
  return KILN_OK;
}

KilnStatus exec_gather(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  const TensorType *xt = &in[0]->type, *it = &in[1]->type;
  int axis = norm_axis(op->attrs.axis, xt->rank);
  KilnStatus st = check_gather(op, axis, d);
  if (st) return st;
  int64_t outer = 1, inner = 1, n_idx = type_numel(it), dim = xt->dims[axis];
  for (int i = 0; i < axis; i++) outer *= xt->dims[i];
  for (int i = axis + 1; i < xt->rank; i++) inner *= xt->dims[i];
  size_t chunk = (size_t)inner * dtype_size(xt->dtype);
  for (int64_t j = 0; j < n_idx; j++) { /* validate all indices first */
    int64_t v = elem_get_i(in[1]->data, it->dtype, j);
    if (v < -dim || v >= dim)
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": index %lld out of range [%lld, %lld)",
                        OPARG(op), (long long)v, (long long)-dim, (long long)dim);
  }
  char *y = out[0]->data;
  const char *x = in[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < n_idx; j++) {
      int64_t v = elem_get_i(in[1]->data, it->dtype, j);
      if (v < 0) v += dim;
      memcpy(y, x + (size_t)(o * dim + v) * chunk, chunk);
      y += chunk;
    }
  return KILN_OK;
}

KilnStatus exec_argmax(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  const TensorType *xt = &in[0]->type, *yt = &out[0]->type;
  int axis = norm_axis(op->attrs.axis, xt->rank);
  if (axis < 0 || yt->dtype != KILN_I64 || xt->dims[axis] == 0)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": bad axis, empty axis or non-i64 result",
                      OPARG(op));
  int64_t outer = 1, inner = 1, n = xt->dims[axis];
  for (int i = 0; i < axis; i++) outer *= xt->dims[i];
  for (int i = axis + 1; i < xt->rank; i++) inner *= xt->dims[i];
  int64_t want_rank = op->attrs.keepdims ? xt->rank : xt->rank - 1;
  if (yt->rank != want_rank || type_numel(yt) != outer * inner)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": result shape does not match keepdims",
                      OPARG(op));
  int64_t *y = out[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t best = 0;
      double bv = elem_get_f(in[0]->data, xt->dtype, o * n * inner + i);
      for (int64_t k = 1; k < n; k++) {
        double v = elem_get_f(in[0]->data, xt->dtype, (o * n + k) * inner + i);
        if (v > bv || (op->attrs.select_last_index && v == bv)) best = k, bv = v;
      }
      y[o * inner + i] = best;
    }
  return KILN_OK;
}
