/* interp_pool.c — POOL2D: max and average pooling over H and W, NCHW or NHWC.
 *
 * One scalar loop nest for both layouts (element strides picked from the layout); the
 * window is kernel x kernel taps at stride and dilation, offset by the top/left pads.
 * Max ignores padded positions and propagates NaN. Average sums in double and divides by
 * the number of taps inside the input, or, with count_include_pad, by the taps inside the
 * padded input [-pad_begin, size + pad_end) — per ONNX never the taps beyond it (a
 * ceil_mode window may stick out). The result's spatial size may be the floor or the
 * ceil output size; anything else is an error. Pools are a small share of the work in
 * the models we run, so this file favours plainness over speed. */
#include "interp_impl.h"

typedef struct PoolGeom {
  int64_t N, C, H, W, OH, OW, KH, KW;
  int64_t sh, sw, dh, dw, pt, pl, pb, pr;
  int64_t xs[4], ys[4];   /* element strides of n, c, h, w in x and y */
} PoolGeom;

static void layout_strides(bool nchw, int64_t C, int64_t H, int64_t W, int64_t *s) {
  if (nchw) s[3] = 1, s[2] = W, s[1] = H * W, s[0] = C * H * W;
  else s[1] = 1, s[3] = C, s[2] = W * C, s[0] = H * W * C;
}

static bool size_ok(int64_t got, int64_t in, int64_t pad, int64_t k, int64_t s, int64_t dil) {
  int64_t span = in + pad - dil * (k - 1) - 1;
  return span >= 0 && (got == span / s + 1 || got == (span + s - 1) / s + 1);
}

static KilnStatus pool_geom(const Op *op, PoolGeom *g, Diag *d) {
  const OpAttrs *a = &op->attrs;
  const TensorType *xt = &op->in[0]->type, *yt = &op->out[0]->type;
  bool nchw = a->layout == LAYOUT_NCHW;
  if (xt->rank != 4 || yt->rank != 4)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": expects rank-4 operand and result",
                      OPARG(op));
  g->KH = a->kernel[0], g->KW = a->kernel[1];
  g->sh = a->strides[0], g->sw = a->strides[1], g->dh = a->dilations[0], g->dw = a->dilations[1];
  g->pt = a->pads[0], g->pl = a->pads[1], g->pb = a->pads[2], g->pr = a->pads[3];
  if (g->KH < 1 || g->KW < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 ||
      g->pt < 0 || g->pl < 0 || g->pb < 0 || g->pr < 0)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": bad kernel, strides, dilations or pads",
                      OPARG(op));
  g->N = xt->dims[0], g->C = xt->dims[nchw ? 1 : 3];
  g->H = xt->dims[nchw ? 2 : 1], g->W = xt->dims[nchw ? 3 : 2];
  g->OH = yt->dims[nchw ? 2 : 1], g->OW = yt->dims[nchw ? 3 : 2];
  if (yt->dims[0] != g->N) return bad_dim(op, "result batch", g->N, yt->dims[0], d);
  if (yt->dims[nchw ? 1 : 3] != g->C) return bad_dim(op, "result channels", g->C,
                                                     yt->dims[nchw ? 1 : 3], d);
  if (!size_ok(g->OH, g->H, g->pt + g->pb, g->KH, g->sh, g->dh) ||
      !size_ok(g->OW, g->W, g->pl + g->pr, g->KW, g->sw, g->dw))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": result size %lldx%lld does not match "
                      "the window", OPARG(op), (long long)g->OH, (long long)g->OW);
  layout_strides(nchw, g->C, g->H, g->W, g->xs);
  layout_strides(nchw, g->C, g->OH, g->OW, g->ys);
  return KILN_OK;
}

/* One output element at (n, c, oh, ow); x points at x[n][c]. */
static float pool_one(const PoolGeom *g, const float *x, int64_t oh, int64_t ow, bool max,
                      bool include_pad) {
  double acc = max ? -INFINITY : 0.0;
  int64_t cnt = 0, cnt_pad = 0;
  for (int64_t kh = 0; kh < g->KH; kh++) {
    int64_t ih = oh * g->sh - g->pt + kh * g->dh;
    bool in_pad_h = ih >= -g->pt && ih < g->H + g->pb, in_h = ih >= 0 && ih < g->H;
    for (int64_t kw = 0; kw < g->KW; kw++) {
      int64_t iw = ow * g->sw - g->pl + kw * g->dw;
      cnt_pad += in_pad_h && iw >= -g->pl && iw < g->W + g->pr;
      if (!in_h || iw < 0 || iw >= g->W) continue;
      double v = x[ih * g->xs[2] + iw * g->xs[3]];
      cnt++;
      if (!max) acc += v;
      else if (v > acc || isnan(v)) acc = v;
    }
  }
  if (max) return (float)acc;
  int64_t div = include_pad ? cnt_pad : cnt;
  return div ? (float)(acc / (double)div) : 0.0f;
}

static void pool_run(const PoolGeom *g, const float *x, float *y, bool max, bool include_pad) {
  for (int64_t n = 0; n < g->N; n++)
    for (int64_t c = 0; c < g->C; c++) {
      const float *xp = x + n * g->xs[0] + c * g->xs[1];
      float *yp = y + n * g->ys[0] + c * g->ys[1];
      for (int64_t oh = 0; oh < g->OH; oh++)
        for (int64_t ow = 0; ow < g->OW; ow++)
          yp[oh * g->ys[2] + ow * g->ys[3]] = pool_one(g, xp, oh, ow, max, include_pad);
    }
}

KilnStatus exec_pool(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  PoolGeom g = {0};
  KilnStatus st = pool_geom(op, &g, d);
  if (st) return st;
  float *ox, *oy;
  const float *x = f32_view(op, in[0], &ox, d);
  float *y = x ? f32_out(op, out[0], &oy, d) : NULL;
  if (!y) {
    free(ox);
    return KILN_ERR_NOMEM;
  }
  pool_run(&g, x, y, op->attrs.pool_kind == POOL_MAX, op->attrs.count_include_pad);
  f32_out_finish(out[0], oy);
  free(ox);
  return KILN_OK;
}
