/* interp_resize.c — RESIZE: ONNX Resize over every dim, nearest or (multi-)linear.
 *
 * Per dim d the source coordinate of output index x follows the ONNX reference
 * (onnx/reference/ops/op_resize.py) with scale = attrs.scales[d] (out/in when unset):
 *   half_pixel          (x + 0.5) / scale - 0.5
 *   pytorch_half_pixel  out > 1 ? (x + 0.5) / scale - 0.5 : 0
 *   align_corners       out' != 1 ? x * (in - 1) / (out' - 1) : 0, out' = scale * in
 *                       unrounded, as the reference has it (a scale of 0.6 on 4 gives
 *                       out = 2 but out' = 2.4)
 *   asymmetric          x / scale
 * Nearest rounds that coordinate per nearest_mode (an integral coordinate is itself),
 * then clamps the index to [0, in-1]. Linear clamps the coordinate to [0, in-1] (what the
 * reference's edge padding amounts to) and blends floor and floor+1 over every dim whose
 * coordinate is not integral, i.e. multi-linear over the dims with scale != 1.
 * Per-dim tables (source index pair and weight per output index) are built first; the
 * output is then walked in C order, blending up to 2^k corners in double. */
#include "interp_impl.h"

typedef struct DimTab {
  int64_t *i0, *i1;   /* source indices (element offsets already multiplied by stride) */
  double *w;          /* weight of i1 (0: i0 only) */
} DimTab;

static double src_coord(CoordMode m, double x, double scale, int64_t in, int64_t out) {
  switch (m) {
  case COORD_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
  case COORD_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  case COORD_ALIGN_CORNERS: {
    double o = scale * (double)in;
    return o != 1.0 ? x * (double)(in - 1) / (o - 1.0) : 0.0;
  }
  case COORD_ASYMMETRIC: return x / scale;
  }
  kiln_unreachable();
}

static int64_t nearest(NearestMode m, double x) {
  if (x == floor(x)) return (int64_t)x;
  switch (m) {
  case NEAREST_ROUND_PREFER_FLOOR: return (int64_t)ceil(x - 0.5);
  case NEAREST_ROUND_PREFER_CEIL: return (int64_t)floor(x + 0.5);
  case NEAREST_FLOOR: return (int64_t)floor(x);
  case NEAREST_CEIL: return (int64_t)ceil(x);
  }
  kiln_unreachable();
}

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static void build_dim(const OpAttrs *a, int dim, int64_t in, int64_t out, int64_t stride,
                      DimTab *t) {
  double scale = a->scales[dim] > 0 ? a->scales[dim] : (double)out / (double)in;
  for (int64_t o = 0; o < out; o++) {
    double x = src_coord(a->coord_mode, (double)o, scale, in, out);
    if (a->resize_mode == RESIZE_NEAREST) {
      /* |x| is bounded by the sizes here, so the int64 conversion is in range */
      double xc = x < -1.0 ? -1.0 : x > (double)in ? (double)in : x;
      t->i0[o] = t->i1[o] = clampi(nearest(a->nearest_mode, xc), 0, in - 1) * stride;
      t->w[o] = 0.0;
      continue;
    }
    x = x < 0 ? 0 : x > (double)(in - 1) ? (double)(in - 1) : x;
    int64_t f = (int64_t)floor(x);
    t->i0[o] = f * stride;
    t->i1[o] = (f + 1 < in ? f + 1 : f) * stride;
    t->w[o] = x - (double)f;
  }
}

void interp_resize_axis(const OpAttrs *a, int dim, int64_t in, int64_t out, int64_t *i0,
                        int64_t *i1, double *w) {
  DimTab t = {i0, i1, w};
  build_dim(a, dim, in, out, 1, &t);
}

/* Blends the 2^k corners of the current output point. */
static double blend(const float *x, int rank, const DimTab *t, const int64_t *idx) {
  double acc = 0.0;
  int active[KILN_MAX_RANK], k = 0;
  int64_t base = 0;
  for (int d = 0; d < rank; d++) {
    base += t[d].i0[idx[d]];
    if (t[d].w[idx[d]] != 0.0) active[k++] = d;
  }
  for (int corner = 0; corner < (1 << k); corner++) {
    double w = 1.0;
    int64_t off = base;
    for (int j = 0; j < k; j++) {
      int d = active[j];
      double wd = t[d].w[idx[d]];
      if (corner >> j & 1) w *= wd, off += t[d].i1[idx[d]] - t[d].i0[idx[d]];
      else w *= 1.0 - wd;
    }
    acc += w * x[off];
  }
  return acc;
}

static void resize_run(const float *x, float *y, int rank, const int64_t *odims,
                       const DimTab *t, int64_t total) {
  int64_t idx[KILN_MAX_RANK] = {0};
  for (int64_t p = 0; p < total; p++) {
    y[p] = (float)blend(x, rank, t, idx);
    for (int d = rank - 1; d >= 0; d--) {
      if (++idx[d] < odims[d]) break;
      idx[d] = 0;
    }
  }
}

static KilnStatus check_resize(const Op *op, Diag *d) {
  const TensorType *xt = &op->in[0]->type, *yt = &op->out[0]->type;
  if (xt->rank != yt->rank) return bad_dim(op, "result rank", xt->rank, yt->rank, d);
  for (int i = 0; i < xt->rank; i++)
    if (xt->dims[i] == 0 && yt->dims[i] != 0)
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": cannot resize an empty dim", OPARG(op));
  if ((unsigned)op->attrs.coord_mode > COORD_PYTORCH_HALF_PIXEL ||
      (unsigned)op->attrs.nearest_mode > NEAREST_CEIL ||
      (unsigned)op->attrs.resize_mode > RESIZE_LINEAR)
    return diag_error(d, KILN_ERR_UNSUPPORTED, OPFMT ": unsupported resize mode", OPARG(op));
  return KILN_OK;
}

KilnStatus exec_resize(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  KilnStatus st = check_resize(op, d);
  if (st) return st;
  const TensorType *xt = &op->in[0]->type, *yt = &op->out[0]->type;
  int rank = xt->rank;
  int64_t sum = 0, stride = 1, total = type_numel(yt);
  for (int i = 0; i < rank; i++) sum += yt->dims[i];
  int64_t *ibuf = malloc(sizeof(int64_t) * 2 * (size_t)(sum + 1));
  double *wbuf = malloc(sizeof(double) * (size_t)(sum + 1));
  float *ox = NULL, *oy = NULL;
  const float *x = ibuf && wbuf ? f32_view(op, in[0], &ox, d) : NULL;
  float *y = x ? f32_out(op, out[0], &oy, d) : NULL;
  if (!y) {
    st = diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
    goto done;
  }
  DimTab t[KILN_MAX_RANK];
  int64_t used = 0;
  for (int i = rank - 1; i >= 0; i--) {
    t[i] = (DimTab){ibuf + 2 * used, ibuf + 2 * used + yt->dims[i], wbuf + used};
    build_dim(&op->attrs, i, xt->dims[i], yt->dims[i], stride, &t[i]);
    used += yt->dims[i];
    stride *= xt->dims[i];
  }
  resize_run(x, y, rank, yt->dims, t, total);
  f32_out_finish(out[0], oy);
done:
  free(ibuf);
  free(wbuf);
  free(ox);
  return st;
}
