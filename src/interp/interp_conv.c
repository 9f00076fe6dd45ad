/* interp_conv.c — CONV2D (NCHW, NHWC, groups), DEPTHWISE_CONV2D and CONV_TRANSPOSE2D.
 *
 * Numerics, the same for every layout: y = f32(f32(sum) + bias), where the sum of w * x
 * is accumulated in double in the canonical order kh, kw, then input channel, and padded
 * taps are skipped (adding w * 0 would not change a double sum). Because the order and
 * precision do not depend on the layout, an NCHW conv, its NHWC form and the matmul a 1x1
 * conv becomes (interp_matmul.c sums over k in order, in double) give bit-identical
 * results; --verify-each relies on that for quantized (QDQ) models, where a last-bit
 * difference can flip a rounding boundary. Other dtypes are staged through f32
 * (interp_f32.c). Loop orders keep the innermost loop contiguous and bounds-check free:
 *  - NCHW: per output channel plane, for each (kh, kw, input channel) add w * the shifted
 *    input rows into a double plane; the valid ow range per kw is computed once, invalid
 *    rows are skipped. Four output channels share each input row pass.
 *  - NHWC: per output pixel, for each valid (kh, kw) and input channel, add x * a
 *    contiguous weight row over the output channels into a double row.
 *  - depthwise: the grouped conv with one channel per group (same kernels).
 *  - conv-transpose: scatter x * w into the output with explicit bounds checks (rare op).
 * Padding is zero padding; pads are top, left, bottom, right. Every shape the loops rely
 * on (weights, bias, the result's spatial size) is checked first, so a wrong result type
 * is a KILN_ERR_INVALID, never an out-of-bounds access. */
#include "interp_impl.h"

typedef struct ConvGeom {
  int64_t N, C, H, W;       /* input batch, channels, height, width */
  int64_t F, OH, OW;        /* output channels, height, width */
  int64_t KH, KW, G;        /* kernel size, groups */
  int64_t sh, sw, dh, dw;   /* strides, dilations */
  int64_t pt, pl, pb, pr;   /* pads */
} ConvGeom;

/* acc: scratch of conv_scratch(g) doubles. */
typedef void (*ConvKernel)(const ConvGeom *g, const float *x, const float *w,
                           const float *b, float *y, double *acc);

/* ---- geometry checks --------------------------------------------------------------- */

static KilnStatus check_attrs(const Op *op, ConvGeom *g, Diag *d) {
  const OpAttrs *a = &op->attrs;
  g->sh = a->strides[0], g->sw = a->strides[1], g->dh = a->dilations[0], g->dw = a->dilations[1];
  g->pt = a->pads[0], g->pl = a->pads[1], g->pb = a->pads[2], g->pr = a->pads[3];
  if (g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->pt < 0 || g->pl < 0 ||
      g->pb < 0 || g->pr < 0)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": strides and dilations must be >= 1, "
                      "pads >= 0", OPARG(op));
  if (op->n_in < 2 || op->n_in > 3 || op->n_out != 1 || op->out[0]->type.rank != 4 ||
      op->in[0]->type.rank != 4 || (op->n_in == 3 && op->in[2]->type.rank != 1))
    return diag_error(d, KILN_ERR_INVALID,
                      OPFMT ": expects (x rank 4, w [, bias rank 1]) -> one rank-4 result",
                      OPARG(op));
  return KILN_OK;
}

/* Forward conv output size for one spatial dim. */
static int64_t conv_out(int64_t in, int64_t pad, int64_t k, int64_t s, int64_t dil) {
  int64_t span = in + pad - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

static KilnStatus check_out(const Op *op, const ConvGeom *g, bool nchw, Diag *d) {
  const int64_t *od = op->out[0]->type.dims;
  int64_t want[4] = {g->N, g->F, g->OH, g->OW};
  if (!nchw) want[1] = g->OH, want[2] = g->OW, want[3] = g->F;
  static const char *what[4] = {"result dim 0", "result dim 1", "result dim 2", "result dim 3"};
  for (int i = 0; i < 4; i++)
    if (od[i] != want[i]) return bad_dim(op, what[i], want[i], od[i], d);
  if (op->n_in == 3 && op->in[2]->type.dims[0] != g->F)
    return bad_dim(op, "bias size", g->F, op->in[2]->type.dims[0], d);
  if (g->OH < 1 || g->OW < 1)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": kernel larger than padded input",
                      OPARG(op));
  return KILN_OK;
}

/* x and w dims of CONV2D / DEPTHWISE_CONV2D into g. */
static KilnStatus geom_forward(const Op *op, bool depthwise, ConvGeom *g, Diag *d) {
  KilnStatus st = check_attrs(op, g, d);
  if (st) return st;
  const int64_t *x = op->in[0]->type.dims, *w = op->in[1]->type.dims;
  bool nchw = op->attrs.layout == LAYOUT_NCHW;
  int wrank = op->in[1]->type.rank;
  if (wrank != (depthwise ? 3 : 4))
    return bad_dim(op, "weight rank", depthwise ? 3 : 4, wrank, d);
  g->N = x[0], g->C = nchw ? x[1] : x[3], g->H = nchw ? x[2] : x[1], g->W = nchw ? x[3] : x[2];
  int64_t wc;
  if (depthwise) {
    g->G = g->C, g->F = g->C, wc = g->C;
    g->KH = nchw ? w[1] : w[0], g->KW = nchw ? w[2] : w[1];
    wc = nchw ? w[0] : w[2];
    if (wc != g->C) return bad_dim(op, "weight channels", g->C, wc, d);
  } else {
    g->G = op->attrs.groups;
    g->F = nchw ? w[0] : w[3], wc = nchw ? w[1] : w[2];
    g->KH = nchw ? w[2] : w[0], g->KW = nchw ? w[3] : w[1];
    if (g->G < 1 || g->F % g->G) return bad_dim(op, "groups dividing F", g->F, g->G, d);
    if (wc * g->G != g->C) return bad_dim(op, "weight channels * groups", g->C, wc * g->G, d);
  }
  g->OH = conv_out(g->H, g->pt + g->pb, g->KH, g->sh, g->dh);
  g->OW = conv_out(g->W, g->pl + g->pr, g->KW, g->sw, g->dw);
  return check_out(op, g, nchw, d);
}

/* NCHW: x [N,C,H,W], w iohw [C, F/G, KH, KW]; NHWC: x [N,H,W,C], w hwoi [KH, KW, F/G, C]. */
static KilnStatus geom_transpose(const Op *op, ConvGeom *g, Diag *d) {
  KilnStatus st = check_attrs(op, g, d);
  if (st) return st;
  const int64_t *x = op->in[0]->type.dims, *w = op->in[1]->type.dims;
  const int64_t *op_pad = op->attrs.output_padding;
  bool nchw = op->attrs.layout == LAYOUT_NCHW;
  if (op->in[1]->type.rank != 4) return bad_dim(op, "weight rank", 4, op->in[1]->type.rank, d);
  g->N = x[0], g->C = nchw ? x[1] : x[3], g->H = nchw ? x[2] : x[1], g->W = nchw ? x[3] : x[2];
  g->G = op->attrs.groups;
  g->KH = nchw ? w[2] : w[0], g->KW = nchw ? w[3] : w[1];
  int64_t w_in = nchw ? w[0] : w[3], w_out = nchw ? w[1] : w[2];
  if (g->G < 1 || g->C % g->G) return bad_dim(op, "groups dividing C", g->C, g->G, d);
  if (w_in != g->C) return bad_dim(op, "weight in-channels", g->C, w_in, d);
  if (op_pad[0] < 0 || op_pad[1] < 0)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": negative output_padding", OPARG(op));
  g->F = w_out * g->G;
  g->OH = g->sh * (g->H - 1) + op_pad[0] + (g->KH - 1) * g->dh + 1 - g->pt - g->pb;
  g->OW = g->sw * (g->W - 1) + op_pad[1] + (g->KW - 1) * g->dw + 1 - g->pl - g->pr;
  return check_out(op, g, nchw, d);
}

/* ---- staging ----------------------------------------------------------------------- */

static KilnStatus run_staged(const Op *op, Tensor *const *in, Tensor *out, const ConvGeom *g,
                             ConvKernel kern, Diag *d) {
  float *ox = NULL, *ow = NULL, *ob = NULL, *oy = NULL;
  const float *x = f32_view(op, in[0], &ox, d);
  const float *w = x ? f32_view(op, in[1], &ow, d) : NULL;
  const float *b = w && op->n_in == 3 ? f32_view(op, in[2], &ob, d) : NULL;
  float *y = w && (b || op->n_in == 2) ? f32_out(op, out, &oy, d) : NULL;
  size_t n_acc = (size_t)(4 * g->OH * g->OW + g->F + g->C);
  double *acc = y ? malloc(sizeof(double) * n_acc) : NULL;
  if (y && !acc) diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
  if (acc) {
    kern(g, x, w, b, y, acc);
    f32_out_finish(out, oy);
  } else {
    free(oy);
  }
  free(acc);
  free(ox);
  free(ow);
  free(ob);
  return acc ? KILN_OK : KILN_ERR_NOMEM;
}

/* ---- kernels ----------------------------------------------------------------------- */

/* Output columns [*lo, *hi) whose input column ow*s + off lies in [0, in). */
static void valid_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo,
                        int64_t *hi) {
  *lo = off >= 0 ? 0 : (-off + s - 1) / s;
  *hi = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;
  if (*hi > out) *hi = out;
  if (*lo > *hi) *lo = *hi;
}

/* y[i] = f32(acc[i]) + bias: the sum is rounded once, then the bias added in f32. */
static void finish(float *y, const double *acc, int64_t n, int64_t stride, float bias) {
  for (int64_t i = 0; i < n; i++) y[i * stride] = (float)acc[i] + bias;
}

/* y[nf planes] += w[j] * (input plane x shifted by tap kh, kw); nf in 1..4. */
static void plane_acc(const ConvGeom *g, double *const *y, int nf, const float *x,
                      const float *wv, int64_t kh, int64_t kw) {
  int64_t off = kw * g->dw - g->pl, lo, hi, sw = g->sw;
  valid_range(off, sw, g->W, g->OW, &lo, &hi);
  for (int64_t oh = 0; oh < g->OH; oh++) {
    int64_t ih = oh * g->sh - g->pt + kh * g->dh;
    if (ih < 0 || ih >= g->H) continue;
    const float *xr = x + ih * g->W;
    int64_t yo = oh * g->OW;
    if (nf == 4) {
      double *y0 = y[0] + yo, *y1 = y[1] + yo, *y2 = y[2] + yo, *y3 = y[3] + yo;
      double w0 = wv[0], w1 = wv[1], w2 = wv[2], w3 = wv[3];
      for (int64_t ow = lo; ow < hi; ow++) {
        double xv = xr[ow * sw + off];
        y0[ow] += w0 * xv, y1[ow] += w1 * xv, y2[ow] += w2 * xv, y3[ow] += w3 * xv;
      }
    } else if (sw == 1) {
      for (int j = 0; j < nf; j++) {
        double *yr = y[j] + yo, w0 = wv[j];
        for (int64_t ow = lo; ow < hi; ow++) yr[ow] += w0 * xr[ow + off];
      }
    } else {
      for (int j = 0; j < nf; j++) {
        double *yr = y[j] + yo, w0 = wv[j];
        for (int64_t ow = lo; ow < hi; ow++) yr[ow] += w0 * xr[ow * sw + off];
      }
    }
  }
}

static void conv_nchw(const ConvGeom *g, const float *x, const float *w, const float *b,
                      float *y, double *acc) {
  int64_t Cg = g->C / g->G, Fg = g->F / g->G, plane = g->OH * g->OW, K = g->KH * g->KW;
  for (int64_t n = 0; n < g->N; n++)
    for (int64_t f0 = 0, nf = 0; f0 < g->F; f0 += nf) {
      int64_t gi = f0 / Fg, group_end = (gi + 1) * Fg;
      nf = group_end - f0 < 4 ? group_end - f0 : 4; /* up to 4 channels of one group */
      double *ap[4];
      for (int j = 0; j < nf; j++) {
        ap[j] = acc + j * plane;
        memset(ap[j], 0, sizeof(double) * (size_t)plane);
      }
      for (int64_t t = 0; t < K; t++)
        for (int64_t c = 0; c < Cg; c++) {
          const float *xp = x + (n * g->C + gi * Cg + c) * g->H * g->W;
          float wv[4];
          for (int j = 0; j < nf; j++) wv[j] = w[((f0 + j) * Cg + c) * K + t];
          plane_acc(g, ap, (int)nf, xp, wv, t / g->KW, t % g->KW);
        }
      for (int j = 0; j < nf; j++)
        finish(y + (n * g->F + f0 + j) * plane, ap[j], plane, 1, b ? b[f0 + j] : 0.0f);
    }
}

static void conv_nhwc(const ConvGeom *g, const float *x, const float *w, const float *b,
                      float *y, double *yp) {
  int64_t Cg = g->C / g->G, Fg = g->F / g->G, F = g->F;
  for (int64_t n = 0; n < g->N; n++)
    for (int64_t oh = 0; oh < g->OH; oh++)
      for (int64_t ow = 0; ow < g->OW; ow++) {
        memset(yp, 0, sizeof(double) * (size_t)F);
        for (int64_t kh = 0; kh < g->KH; kh++) {
          int64_t ih = oh * g->sh - g->pt + kh * g->dh;
          if (ih < 0 || ih >= g->H) continue;
          for (int64_t kw = 0; kw < g->KW; kw++) {
            int64_t iw = ow * g->sw - g->pl + kw * g->dw;
            if (iw < 0 || iw >= g->W) continue;
            const float *xp = x + ((n * g->H + ih) * g->W + iw) * g->C;
            const float *wp = w + (kh * g->KW + kw) * Cg * F;  /* w[kh][kw][c][f] */
            for (int64_t gi = 0; gi < g->G; gi++)
              for (int64_t c = 0; c < Cg; c++) {
                double xv = xp[gi * Cg + c], *yr = yp + gi * Fg;
                const float *wr = wp + c * F + gi * Fg;
                for (int64_t f = 0; f < Fg; f++) yr[f] += xv * wr[f];
              }
          }
        }
        float *yo = y + ((n * g->OH + oh) * g->OW + ow) * F;
        for (int64_t f = 0; f < F; f++) yo[f] = (float)yp[f] + (b ? b[f] : 0.0f);
      }
}

/* y[n][f][ih*s - p + k*d] += x[n][c][ih] * w[c][f%Fg][k] over the group of c. */
static void convt_nchw(const ConvGeom *g, const float *x, const float *w, const float *b,
                       float *y, double *acc) {
  (void)acc; /* one layout only: f32 accumulation, bias first */
  int64_t Cg = g->C / g->G, Fg = g->F / g->G, plane = g->OH * g->OW, K = g->KH * g->KW;
  for (int64_t n = 0; n < g->N; n++)
    for (int64_t f = 0; f < g->F; f++)
      for (int64_t i = 0; i < plane; i++) y[(n * g->F + f) * plane + i] = b ? b[f] : 0.0f;
  for (int64_t n = 0; n < g->N; n++)
    for (int64_t c = 0; c < g->C; c++)
      for (int64_t fo = 0; fo < Fg; fo++) {
        const float *xp = x + (n * g->C + c) * g->H * g->W, *wp = w + (c * Fg + fo) * K;
        float *yp = y + (n * g->F + (c / Cg) * Fg + fo) * plane;
        for (int64_t ih = 0; ih < g->H; ih++)
          for (int64_t kh = 0; kh < g->KH; kh++) {
            int64_t oh = ih * g->sh - g->pt + kh * g->dh;
            if (oh < 0 || oh >= g->OH) continue;
            for (int64_t iw = 0; iw < g->W; iw++)
              for (int64_t kw = 0; kw < g->KW; kw++) {
                int64_t ow = iw * g->sw - g->pl + kw * g->dw;
                if (ow >= 0 && ow < g->OW)
                  yp[oh * g->OW + ow] += xp[ih * g->W + iw] * wp[kh * g->KW + kw];
              }
          }
      }
}

/* y[n][oh][ow][f] += x[n][ih][iw][c] * w[kh][kw][f%Fg][c] over the group of c (NHWC). */
static void convt_nhwc(const ConvGeom *g, const float *x, const float *w, const float *b,
                       float *y, double *acc) {
  (void)acc; /* f32 accumulation, bias first, like convt_nchw */
  int64_t Cg = g->C / g->G, Fg = g->F / g->G, F = g->F, C = g->C;
  for (int64_t i = 0; i < g->N * g->OH * g->OW; i++)
    for (int64_t f = 0; f < F; f++) y[i * F + f] = b ? b[f] : 0.0f;
  for (int64_t n = 0; n < g->N; n++)
    for (int64_t ih = 0; ih < g->H; ih++)
      for (int64_t iw = 0; iw < g->W; iw++)
        for (int64_t kh = 0; kh < g->KH; kh++) {
          int64_t oh = ih * g->sh - g->pt + kh * g->dh;
          if (oh < 0 || oh >= g->OH) continue;
          for (int64_t kw = 0; kw < g->KW; kw++) {
            int64_t ow = iw * g->sw - g->pl + kw * g->dw;
            if (ow < 0 || ow >= g->OW) continue;
            const float *xp = x + ((n * g->H + ih) * g->W + iw) * C;
            const float *wp = w + (kh * g->KW + kw) * Fg * C;
            float *yp = y + ((n * g->OH + oh) * g->OW + ow) * F;
            for (int64_t c = 0; c < C; c++)
              for (int64_t fo = 0; fo < Fg; fo++) yp[(c / Cg) * Fg + fo] += xp[c] * wp[fo * C + c];
          }
        }
}

/* ---- integer results ---------------------------------------------------------------- */

/* An integer result (the i32 accumulation of a quantized conv, see quantize_convs.c) is
 * exact: operands staged as int32, each product exact in int64, sums wrapping modulo 2^64
 * (unsigned: no overflow however large the operands), the bias added, stored wrapped to
 * the result's width (linalg's semantics for integer convs). Padded taps are
 * skipped, i.e. the padding is 0. NHWC accumulates a row of output channels per pixel
 * (contiguous hwcf weight rows); NCHW, used only between passes, goes tap by tap. */
static uint64_t conv_int_at(const ConvGeom *g, const int32_t *x, const int32_t *w, int64_t n,
                            int64_t f, int64_t oh, int64_t ow) {
  int64_t Cg = g->C / g->G, c0 = f / (g->F / g->G) * Cg;
  uint64_t acc = 0;
  for (int64_t kh = 0; kh < g->KH; kh++) {
    int64_t ih = oh * g->sh - g->pt + kh * g->dh;
    for (int64_t kw = 0; ih >= 0 && ih < g->H && kw < g->KW; kw++) {
      int64_t iw = ow * g->sw - g->pl + kw * g->dw;
      for (int64_t c = 0; iw >= 0 && iw < g->W && c < Cg; c++)
        acc += (uint64_t)((int64_t)x[((n * g->C + c0 + c) * g->H + ih) * g->W + iw] *
                          w[((f * Cg + c) * g->KH + kh) * g->KW + kw]);
    }
  }
  return acc;
}

static void conv_int_nhwc_pixel(const ConvGeom *g, const int32_t *x, const int32_t *w,
                                int64_t n, int64_t oh, int64_t ow, uint64_t *acc) {
  int64_t Cg = g->C / g->G, Fg = g->F / g->G, F = g->F;
  for (int64_t kh = 0; kh < g->KH; kh++) {
    int64_t ih = oh * g->sh - g->pt + kh * g->dh;
    for (int64_t kw = 0; ih >= 0 && ih < g->H && kw < g->KW; kw++) {
      int64_t iw = ow * g->sw - g->pl + kw * g->dw;
      if (iw < 0 || iw >= g->W) continue;
      const int32_t *xp = x + ((n * g->H + ih) * g->W + iw) * g->C;
      const int32_t *wp = w + (kh * g->KW + kw) * Cg * F;
      for (int64_t gi = 0; gi < g->G; gi++)
        for (int64_t c = 0; c < Cg; c++) {
          int64_t xv = xp[gi * Cg + c];
          uint64_t *ar = acc + gi * Fg;
          const int32_t *wr = wp + c * F + gi * Fg;
          for (int64_t f = 0; f < Fg; f++) ar[f] += (uint64_t)(xv * wr[f]);
        }
    }
  }
}

static KilnStatus conv_int(const Op *op, Tensor *const *in, Tensor *out, const ConvGeom *g,
                           Diag *d) {
  bool nchw = op->attrs.layout == LAYOUT_NCHW;
  DType yt = out->type.dtype;
  int32_t *x = i32_view(in[0]), *w = i32_view(in[1]), *b = op->n_in == 3 ? i32_view(in[2]) : NULL;
  uint64_t *acc = malloc(sizeof *acc * (size_t)g->F);
  KilnStatus st = x && w && acc && (b || op->n_in == 2) ? KILN_OK
                : diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
  for (int64_t n = 0; !st && n < g->N; n++)
    for (int64_t oh = 0; oh < g->OH; oh++)
      for (int64_t ow = 0; ow < g->OW; ow++) {
        if (nchw) {
          for (int64_t f = 0; f < g->F; f++) acc[f] = conv_int_at(g, x, w, n, f, oh, ow);
        } else {
          memset(acc, 0, sizeof *acc * (size_t)g->F);
          conv_int_nhwc_pixel(g, x, w, n, oh, ow, acc);
        }
        for (int64_t f = 0; f < g->F; f++) {
          int64_t y = nchw ? ((n * g->F + f) * g->OH + oh) * g->OW + ow
                           : ((n * g->OH + oh) * g->OW + ow) * g->F + f;
          scalar_store(out->data, yt, y, (Scalar){.i = scalar_wrap_int((int64_t)(acc[f] + (uint64_t)(int64_t)(b ? b[f] : 0)), yt)});
        }
      }
  free(x), free(w), free(b), free(acc);
  return st;
}

/* Forward conv: the exact integer kernel for integer results, else the float ones. */
static KilnStatus run_forward(const Op *op, Tensor *const *in, Tensor *out, const ConvGeom *g,
                              Diag *d) {
  if (dtype_is_int(out->type.dtype)) {
    for (int i = 0; i < op->n_in; i++)
      if (!dtype_is_int(in[i]->type.dtype))
        return diag_error(d, KILN_ERR_INVALID, OPFMT ": integer result from non-integer operand %d",
                          OPARG(op), i);
    return conv_int(op, in, out, g, d);
  }
  return run_staged(op, in, out, g, op->attrs.layout == LAYOUT_NCHW ? conv_nchw : conv_nhwc, d);
}

/* ---- entry points ------------------------------------------------------------------ */

KilnStatus exec_conv2d(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  ConvGeom g = {0};
  KilnStatus st = geom_forward(op, false, &g, d);
  return st ? st : run_forward(op, in, out[0], &g, d);
}

KilnStatus exec_depthwise(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  ConvGeom g = {0};
  KilnStatus st = geom_forward(op, true, &g, d);
  if (st) return st;
  /* A depthwise conv is the grouped conv with G = C, and its chw / hwc weights have the
   * memory layout of fchw / hwcf with one channel per group: the same kernels serve. */
  return run_forward(op, in, out[0], &g, d);
}

KilnStatus exec_conv_transpose(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  ConvGeom g = {0};
  KilnStatus st = geom_transpose(op, &g, d);
  if (st) return st;
  return run_staged(op, in, out[0], &g, op->attrs.layout == LAYOUT_NCHW ? convt_nchw : convt_nhwc, d);
}
