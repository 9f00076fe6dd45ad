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
 * output is then walked in C order, blending up to 2^k corners in double.
 *
 * Linear resize of 8-bit integers is fixed point, as ONNX Runtime runs Resize on uint8
 * (what its QDQ models execute: DQ -> Resize -> Q with one scale becomes a uint8 Resize,
 * and quantize_convs.c does the same): coordinates in f32, per dim the weight of the upper
 * neighbour w1 = trunc(frac * 1024) and w0 = 1024 - w1 (0.5 each when both neighbours are
 * the same pixel), y = sum over corners of x * prod(w) / 2^(10 k), truncated toward zero,
 * over the k dims that interpolate (in != out or a nonzero fraction). Verified bit-exact
 * against ONNX Runtime 1.19 on the DeepLabV3 int8 head (tests/models/oracle.py). */
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

static float src_coord_f32(CoordMode m, float x, float scale, int64_t in, int64_t out) {
  switch (m) {
  case COORD_HALF_PIXEL: return (x + 0.5f) / scale - 0.5f;
  case COORD_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
  case COORD_ALIGN_CORNERS: return out > 1 ? x * (float)(in - 1) / (float)(out - 1) : 0.0f;
  case COORD_ASYMMETRIC: return x / scale;
  }
  kiln_unreachable();
}

void interp_resize_axis_fixed10(const OpAttrs *a, int dim, int64_t in, int64_t out,
                                int64_t *i0, int64_t *i1, int32_t *w1) {
  float scale = a->scales[dim] > 0 ? (float)a->scales[dim] : (float)out / (float)in;
  for (int64_t o = 0; o < out; o++) {
    float x = src_coord_f32(a->coord_mode, (float)o, scale, in, out);
    x = x > 0.0f ? x : 0.0f; /* also a NaN from a degenerate scale */
    x = x < (float)(in - 1) ? x : (float)(in - 1);
    int64_t f = (int64_t)x < in - 1 ? (int64_t)x : in - 1;
    i0[o] = f;
    i1[o] = f + 1 < in ? f + 1 : f;
    w1[o] = i0[o] == i1[o] ? 512 : (int32_t)((x - (float)f) * 1024.0f);
  }
}

static bool is_8bit(DType t) { return t == KILN_U8 || t == KILN_I8; }

/* The fixed-point linear resize of 8-bit x (the file comment). */
static KilnStatus resize_fixed10(const Op *op, const Tensor *x, Tensor *y, Diag *d) {
  const TensorType *xt = &x->type, *yt = &y->type;
  int rank = xt->rank, lin[KILN_MAX_RANK], k = 0;
  int64_t sum = 0, strides[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0};
  for (int i = 0; i < rank; i++) sum += yt->dims[i];
  int64_t *ibuf = malloc(sizeof(int64_t) * 2 * (size_t)(sum + 1));
  int32_t *wbuf = malloc(sizeof(int32_t) * (size_t)(sum + 1));
  if (!ibuf || !wbuf) {
    free(ibuf), free(wbuf);
    return diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
  }
  int64_t *i0[KILN_MAX_RANK], *i1[KILN_MAX_RANK], used = 0, stride = 1;
  int32_t *w1[KILN_MAX_RANK];
  for (int i = rank - 1; i >= 0; i--) {
    i0[i] = ibuf + 2 * used, i1[i] = i0[i] + yt->dims[i], w1[i] = wbuf + used;
    interp_resize_axis_fixed10(&op->attrs, i, xt->dims[i], yt->dims[i], i0[i], i1[i], w1[i]);
    bool moves = xt->dims[i] != yt->dims[i];
    for (int64_t o = 0; o < yt->dims[i]; o++) moves |= (w1[i][o] != 0 && i0[i][o] != i1[i][o]) || i0[i][o] != o;
    if (moves) lin[k++] = i;
    strides[i] = stride, stride *= xt->dims[i], used += yt->dims[i];
  }
  for (int64_t p = 0, total = type_numel(yt); p < total; p++) {
    int64_t base = 0, acc = 0;
    for (int i = 0; i < rank; i++) base += i0[i][idx[i]] * strides[i];
    for (int corner = 0; corner < (1 << k); corner++) {
      int64_t w = 1, off = base;
      for (int j = 0; j < k; j++) {
        int dd = lin[j];
        int32_t wd = w1[dd][idx[dd]];
        if (corner >> j & 1) w *= wd, off += (i1[dd][idx[dd]] - i0[dd][idx[dd]]) * strides[dd];
        else w *= 1024 - wd;
      }
      acc += w * elem_get_i(x->data, xt->dtype, off);
    }
    scalar_store(y->data, yt->dtype, p, (Scalar){.i = acc / ((int64_t)1 << (10 * k))});
    for (int dd = rank - 1; dd >= 0; dd--) {
      if (++idx[dd] < yt->dims[dd]) break;
      idx[dd] = 0;
    }
  }
  free(ibuf), free(wbuf);
  return KILN_OK;
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
  if (op->attrs.resize_mode == RESIZE_LINEAR && is_8bit(in[0]->type.dtype) &&
      in[0]->type.dtype == out[0]->type.dtype && in[0]->type.rank <= 4)
    return resize_fixed10(op, in[0], out[0], d);
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
