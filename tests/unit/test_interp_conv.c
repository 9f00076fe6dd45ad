/* test_interp_conv.c — conv2d (NCHW/NHWC, strides, dilations, asymmetric pads, groups,
 * bias), depthwise, conv-transpose (output_padding, groups), pooling (max/avg,
 * count_include_pad both ways, ceil-size windows, NHWC, dilation) and matmul (batch
 * broadcast, rank 1) against naive formulas written independently here (direct sums per
 * output element in double; conv-transpose in gather form) and tiny hand-computed cases.
 * NHWC cases permute NCHW data in the test and compare with the permuted NCHW result. */
#include <stdint.h>

#include "test_interp_util.h"

typedef struct CP {
  int64_t N, C, H, W, F, KH, KW, G, sh, sw, dh, dw, pt, pl, pb, pr;
} CP;

static int64_t out_size(int64_t in, int64_t p0, int64_t p1, int64_t k, int64_t s, int64_t d) {
  return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

static double at4(const Tensor *t, int64_t a, int64_t b, int64_t c, int64_t d) {
  const int64_t *s = t->type.dims;
  return tget(t, ((a * s[1] + b) * s[2] + c) * s[3] + d);
}

/* y[n][f][oh][ow] = b[f] + sum_{c, kh, kw} x[n][g*Cg + c][ih][iw] * w[f][c][kh][kw] */
static double *conv_ref(const CP *p, const Tensor *x, const Tensor *w, const Tensor *b,
                        int64_t *n_out) {
  int64_t OH = out_size(p->H, p->pt, p->pb, p->KH, p->sh, p->dh);
  int64_t OW = out_size(p->W, p->pl, p->pr, p->KW, p->sw, p->dw);
  int64_t Cg = p->C / p->G, Fg = p->F / p->G, i = 0;
  double *y = malloc(sizeof(double) * (size_t)(p->N * p->F * OH * OW));
  for (int64_t n = 0; n < p->N; n++)
    for (int64_t f = 0; f < p->F; f++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double s = b ? tget(b, f) : 0;
          for (int64_t c = 0; c < Cg; c++)
            for (int64_t kh = 0; kh < p->KH; kh++)
              for (int64_t kw = 0; kw < p->KW; kw++) {
                int64_t ih = oh * p->sh - p->pt + kh * p->dh, iw = ow * p->sw - p->pl + kw * p->dw;
                if (ih >= 0 && ih < p->H && iw >= 0 && iw < p->W)
                  s += at4(x, n, f / Fg * Cg + c, ih, iw) * at4(w, f, c, kh, kw);
              }
          y[i++] = s;
        }
  *n_out = i;
  return y;
}

/* Result dim i = t dim perm[i]. */
static Tensor *permute(const Tensor *t, const int *perm) {
  int r = t->type.rank;
  int64_t dims[KILN_MAX_RANK], ts[KILN_MAX_RANK], st = 1;
  for (int i = r - 1; i >= 0; i--) ts[i] = st, st *= t->type.dims[i];
  for (int i = 0; i < r; i++) dims[i] = t->type.dims[perm[i]];
  Tensor *y = tensor_new(type_make(t->type.dtype, r, dims));
  int64_t n = type_numel(&y->type);
  for (int64_t o = 0; o < n; o++) {
    int64_t rest = o, src = 0;
    for (int i = r - 1; i >= 0; i--) {
      src += (rest % dims[i]) * ts[perm[i]];
      rest /= dims[i];
    }
    tset(y, o, tget(t, src));
  }
  return y;
}

static const int TO_NHWC[4] = {0, 2, 3, 1}, TO_NCHW[4] = {0, 3, 1, 2}, TO_HWCF[4] = {2, 3, 1, 0};

/* Runs o on ins (freed), compares output (permuted back to NCHW if nhwc) with want. */
static void run_cmp(const char *what, OneOp o, Tensor **ins, int n_in, const double *want,
                    int64_t n, bool nhwc, double tol) {
  Tensor *y = run1(o.f, ins);
  if (y && nhwc) {
    Tensor *p = permute(y, TO_NCHW);
    tensor_free(y);
    y = p;
  }
  if (y) check_close(what, y, want, n, tol);
  tensor_free(y);
  for (int i = 0; i < n_in; i++) tensor_free(ins[i]);
  module_free(o.m);
}

static void conv_case(const char *what, CP p, bool nhwc, bool bias) {
  int64_t OH = out_size(p.H, p.pt, p.pb, p.KH, p.sh, p.dh);
  int64_t OW = out_size(p.W, p.pl, p.pr, p.KW, p.sw, p.dw), n;
  Tensor *x = trand(TT(KILN_F32, p.N, p.C, p.H, p.W));
  Tensor *w = trand(TT(KILN_F32, p.F, p.C / p.G, p.KH, p.KW));
  Tensor *b = bias ? trand(TT(KILN_F32, p.F)) : NULL;
  double *want = conv_ref(&p, x, w, b, &n);
  if (nhwc) {
    Tensor *xt = permute(x, TO_NHWC), *wt = permute(w, TO_HWCF);
    tensor_free(x), tensor_free(w);
    x = xt, w = wt;
  }
  TensorType in[3] = {x->type, w->type, TT(KILN_F32, p.F)};
  TensorType out = nhwc ? TT(KILN_F32, p.N, OH, OW, p.F) : TT(KILN_F32, p.N, p.F, OH, OW);
  OneOp o = one_op(KILN_OP_CONV2D, bias ? 3 : 2, in, out);
  OpAttrs *a = &o.op->attrs;
  a->layout = nhwc ? LAYOUT_NHWC : LAYOUT_NCHW;
  a->kernel[0] = p.KH, a->kernel[1] = p.KW, a->groups = p.G;
  a->strides[0] = p.sh, a->strides[1] = p.sw, a->dilations[0] = p.dh, a->dilations[1] = p.dw;
  a->pads[0] = p.pt, a->pads[1] = p.pl, a->pads[2] = p.pb, a->pads[3] = p.pr;
  Tensor *ins[3] = {x, w, b};
  run_cmp(what, o, ins, bias ? 3 : 2, want, n, nhwc, 1e-5);
  free(want);
}

static void test_conv(void) {
  CP base = {.N = 1, .C = 3, .H = 5, .W = 6, .F = 4, .KH = 3, .KW = 3, .G = 1, .sh = 1,
             .sw = 1, .dh = 1, .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
  CP strided = {.N = 1, .C = 3, .H = 9, .W = 8, .F = 5, .KH = 3, .KW = 2, .G = 1, .sh = 2,
                .sw = 3, .dh = 2, .dw = 2, .pt = 0, .pl = 1, .pb = 2, .pr = 1};
  CP grouped = {.N = 2, .C = 4, .H = 6, .W = 5, .F = 6, .KH = 3, .KW = 3, .G = 2, .sh = 1,
                .sw = 2, .dh = 1, .dw = 1, .pt = 2, .pl = 0, .pb = 1, .pr = 2};
  CP pw = {.N = 2, .C = 7, .H = 4, .W = 5, .F = 9, .KH = 1, .KW = 1, .G = 1, .sh = 1,
           .sw = 1, .dh = 1, .dw = 1};
  for (int nhwc = 0; nhwc < 2; nhwc++) {
    conv_case("conv 3x3 pad 1 bias", base, nhwc, true);
    conv_case("conv strided dilated asym pads", strided, nhwc, false);
    conv_case("conv groups 2", grouped, nhwc, true);
    conv_case("conv 1x1", pw, nhwc, false);
  }
  /* by hand: 1..9 in 3x3, 2x2 ones kernel */
  TensorType in[2] = {TT(KILN_F32, 1, 1, 3, 3), TT(KILN_F32, 1, 1, 2, 2)};
  OneOp o = one_op(KILN_OP_CONV2D, 2, in, TT(KILN_F32, 1, 1, 2, 2));
  Tensor *ins[2] = {tvals(in[0], (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9}),
                    tvals(in[1], (double[]){1, 1, 1, 1})};
  run_check("conv by hand", o, ins, 2, (double[]){12, 16, 24, 28}, 0);
  /* f16 operands and result are staged through f32 */
  TensorType h[2] = {TT(KILN_F16, 1, 1, 3, 3), TT(KILN_F16, 1, 1, 2, 2)};
  OneOp oh = one_op(KILN_OP_CONV2D, 2, h, TT(KILN_F16, 1, 1, 2, 2));
  Tensor *hins[2] = {tvals(h[0], (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9}),
                     tvals(h[1], (double[]){1, 1, 1, 0.5})};
  run_check("conv f16", oh, hins, 2, (double[]){9.5, 13, 20, 23.5}, 0);
}

static void dw_case(const char *what, CP p, bool nhwc, bool bias) {
  int64_t OH = out_size(p.H, p.pt, p.pb, p.KH, p.sh, p.dh);
  int64_t OW = out_size(p.W, p.pl, p.pr, p.KW, p.sw, p.dw), n;
  p.F = p.G = p.C;
  Tensor *x = trand(TT(KILN_F32, p.N, p.C, p.H, p.W));
  Tensor *w4 = trand(TT(KILN_F32, p.C, 1, p.KH, p.KW));
  Tensor *b = bias ? trand(TT(KILN_F32, p.C)) : NULL;
  double *want = conv_ref(&p, x, w4, b, &n);  /* depthwise = conv with groups = C */
  Tensor *w = tensor_new(TT(KILN_F32, p.C, p.KH, p.KW));
  memcpy(w->data, w4->data, w->nbytes);
  tensor_free(w4);
  if (nhwc) {
    Tensor *xt = permute(x, TO_NHWC), *wt = permute(w, (const int[]){1, 2, 0});
    tensor_free(x), tensor_free(w);
    x = xt, w = wt;
  }
  TensorType in[3] = {x->type, w->type, TT(KILN_F32, p.C)};
  TensorType out = nhwc ? TT(KILN_F32, p.N, OH, OW, p.C) : TT(KILN_F32, p.N, p.C, OH, OW);
  OneOp o = one_op(KILN_OP_DEPTHWISE_CONV2D, bias ? 3 : 2, in, out);
  OpAttrs *a = &o.op->attrs;
  a->layout = nhwc ? LAYOUT_NHWC : LAYOUT_NCHW;
  a->kernel[0] = p.KH, a->kernel[1] = p.KW;
  a->strides[0] = p.sh, a->strides[1] = p.sw, a->dilations[0] = p.dh, a->dilations[1] = p.dw;
  a->pads[0] = p.pt, a->pads[1] = p.pl, a->pads[2] = p.pb, a->pads[3] = p.pr;
  Tensor *ins[3] = {x, w, b};
  run_cmp(what, o, ins, bias ? 3 : 2, want, n, nhwc, 1e-5);
  free(want);
}

static void test_depthwise(void) {
  CP s2 = {.N = 1, .C = 3, .H = 7, .W = 8, .KH = 3, .KW = 3, .sh = 2, .sw = 2, .dh = 1,
           .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
  CP dil = {.N = 2, .C = 5, .H = 9, .W = 7, .KH = 3, .KW = 2, .sh = 1, .sw = 1, .dh = 2,
            .dw = 3, .pt = 2, .pl = 0, .pb = 1, .pr = 3};
  for (int nhwc = 0; nhwc < 2; nhwc++) {
    dw_case("depthwise s2 bias", s2, nhwc, true);
    dw_case("depthwise dilated asym", dil, nhwc, false);
  }
}

/* Gather form: y[n][f][oh][ow] = b[f] + sum over c in f's group, kh, kw with
 * oh + pt - kh*dh = ih*sh (ih in range), same for w, of x[n][c][ih][iw] * w[c][f%Fg][kh][kw]. */
static void convt_case(const char *what, CP p, const int64_t *opad, bool bias) {
  int64_t OH = p.sh * (p.H - 1) + opad[0] + (p.KH - 1) * p.dh + 1 - p.pt - p.pb;
  int64_t OW = p.sw * (p.W - 1) + opad[1] + (p.KW - 1) * p.dw + 1 - p.pl - p.pr;
  int64_t Cg = p.C / p.G, Fg = p.F / p.G, i = 0;
  Tensor *x = trand(TT(KILN_F32, p.N, p.C, p.H, p.W));
  Tensor *w = trand(TT(KILN_F32, p.C, Fg, p.KH, p.KW));
  Tensor *b = bias ? trand(TT(KILN_F32, p.F)) : NULL;
  double *want = malloc(sizeof(double) * (size_t)(p.N * p.F * OH * OW));
  for (int64_t n = 0; n < p.N; n++)
    for (int64_t f = 0; f < p.F; f++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double s = b ? tget(b, f) : 0;
          for (int64_t c = f / Fg * Cg; c < (f / Fg + 1) * Cg; c++)
            for (int64_t kh = 0; kh < p.KH; kh++)
              for (int64_t kw = 0; kw < p.KW; kw++) {
                int64_t th = oh + p.pt - kh * p.dh, tw = ow + p.pl - kw * p.dw;
                if (th < 0 || tw < 0 || th % p.sh || tw % p.sw) continue;
                if (th / p.sh >= p.H || tw / p.sw >= p.W) continue;
                s += at4(x, n, c, th / p.sh, tw / p.sw) * at4(w, c, f % Fg, kh, kw);
              }
          want[i++] = s;
        }
  TensorType in[3] = {x->type, w->type, TT(KILN_F32, p.F)};
  OneOp o = one_op(KILN_OP_CONV_TRANSPOSE2D, bias ? 3 : 2, in, TT(KILN_F32, p.N, p.F, OH, OW));
  OpAttrs *a = &o.op->attrs;
  a->kernel[0] = p.KH, a->kernel[1] = p.KW, a->groups = p.G;
  a->strides[0] = p.sh, a->strides[1] = p.sw, a->dilations[0] = p.dh, a->dilations[1] = p.dw;
  a->pads[0] = p.pt, a->pads[1] = p.pl, a->pads[2] = p.pb, a->pads[3] = p.pr;
  a->output_padding[0] = opad[0], a->output_padding[1] = opad[1];
  Tensor *ins[3] = {x, w, b};
  run_cmp(what, o, ins, bias ? 3 : 2, want, i, false, 1e-5);
  free(want);
}

static void test_conv_transpose(void) {
  CP s2 = {.N = 1, .C = 2, .H = 3, .W = 4, .F = 3, .KH = 3, .KW = 3, .G = 1, .sh = 2,
           .sw = 2, .dh = 1, .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 0};
  convt_case("convT s2 output_padding", s2, DIMS(1, 1), true);
  CP g2 = {.N = 2, .C = 4, .H = 3, .W = 3, .F = 2, .KH = 2, .KW = 2, .G = 2, .sh = 1,
           .sw = 2, .dh = 2, .dw = 1, .pt = 0, .pl = 1, .pb = 1, .pr = 0};
  convt_case("convT groups dilation", g2, DIMS(0, 1), false);
  TensorType in[2] = {TT(KILN_F32, 1, 1, 2, 2), TT(KILN_F32, 1, 1, 2, 2)};
  OneOp o = one_op(KILN_OP_CONV_TRANSPOSE2D, 2, in, TT(KILN_F32, 1, 1, 3, 3));
  Tensor *ins[2] = {tvals(in[0], (double[]){1, 2, 3, 4}), tvals(in[1], (double[]){1, 1, 1, 1})};
  run_check("convT by hand", o, ins, 2, (double[]){1, 3, 2, 4, 10, 6, 3, 7, 4}, 0);
}

/* ---- pooling ------------------------------------------------------------------------ */

static OneOp pool_op(TensorType in, TensorType out, PoolKind k, bool nhwc, const int64_t *kern,
                     const int64_t *strides, const int64_t *dil, const int64_t *pads) {
  OneOp o = one_op(KILN_OP_POOL2D, 1, &in, out);
  OpAttrs *a = &o.op->attrs;
  a->pool_kind = k;
  a->layout = nhwc ? LAYOUT_NHWC : LAYOUT_NCHW;
  for (int i = 0; i < 2; i++)
    a->kernel[i] = kern[i], a->strides[i] = strides[i], a->dilations[i] = dil[i];
  for (int i = 0; i < 4; i++) a->pads[i] = pads[i];
  return o;
}

static void test_pool_by_hand(void) {
  TensorType in = TT(KILN_F32, 1, 1, 2, 2), out = TT(KILN_F32, 1, 1, 3, 3);
  const double x[4] = {1, 2, 3, 4};
  for (int inc = 0; inc < 2; inc++) {
    OneOp o = pool_op(in, out, POOL_AVG, false, DIMS(2, 2), DIMS(1, 1), DIMS(1, 1),
                      DIMS(1, 1, 1, 1));
    o.op->attrs.count_include_pad = inc;
    Tensor *t[1] = {tvals(in, x)};
    if (inc)
      run_check("avg include pad", o, t, 1,
                (double[]){0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1}, 1e-7);
    else
      run_check("avg exclude pad", o, t, 1, (double[]){1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}, 1e-7);
  }
  OneOp m = pool_op(in, out, POOL_MAX, false, DIMS(2, 2), DIMS(1, 1), DIMS(1, 1), DIMS(1, 1, 1, 1));
  Tensor *t[1] = {tvals(in, (double[]){-1, -2, -3, -4})};
  run_check("max ignores pads", m, t, 1, (double[]){-1, -1, -2, -1, -1, -2, -3, -3, -4}, 0);
  /* ceil-size output: the last window sticks out past the (zero) pad: divisor 1 */
  TensorType in3 = TT(KILN_F32, 1, 1, 3, 3);
  OneOp c = pool_op(in3, TT(KILN_F32, 1, 1, 2, 2), POOL_AVG, false, DIMS(2, 2), DIMS(2, 2),
                    DIMS(1, 1), DIMS(0, 0, 0, 0));
  c.op->attrs.count_include_pad = true;
  Tensor *t3[1] = {tvals(in3, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9})};
  run_check("avg ceil window", c, t3, 1, (double[]){3, 4.5, 7.5, 9}, 1e-7);
}

/* Naive pool over NCHW x; with nhwc the op runs on permuted data. */
static void pool_case(const char *what, PoolKind k, bool inc, bool nhwc, CP p) {
  int64_t OH = out_size(p.H, p.pt, p.pb, p.KH, p.sh, p.dh);
  int64_t OW = out_size(p.W, p.pl, p.pr, p.KW, p.sw, p.dw), i = 0;
  Tensor *x = trand(TT(KILN_F32, p.N, p.C, p.H, p.W));
  double *want = malloc(sizeof(double) * (size_t)(p.N * p.C * OH * OW));
  for (int64_t n = 0; n < p.N; n++)
    for (int64_t c = 0; c < p.C; c++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double s = k == POOL_MAX ? -INFINITY : 0;
          int cnt = 0;
          for (int64_t kh = 0; kh < p.KH; kh++)
            for (int64_t kw = 0; kw < p.KW; kw++) {
              int64_t ih = oh * p.sh - p.pt + kh * p.dh, iw = ow * p.sw - p.pl + kw * p.dw;
              if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
              double v = at4(x, n, c, ih, iw);
              s = k == POOL_MAX ? fmax(s, v) : s + v;
              cnt++;
            }
          want[i++] = k == POOL_MAX ? s : s / (inc ? p.KH * p.KW : cnt);
        }
  if (nhwc) {
    Tensor *xt = permute(x, TO_NHWC);
    tensor_free(x);
    x = xt;
  }
  TensorType out = nhwc ? TT(KILN_F32, p.N, OH, OW, p.C) : TT(KILN_F32, p.N, p.C, OH, OW);
  OneOp o = pool_op(x->type, out, k, nhwc, DIMS(p.KH, p.KW), DIMS(p.sh, p.sw), DIMS(p.dh, p.dw),
                    DIMS(p.pt, p.pl, p.pb, p.pr));
  o.op->attrs.count_include_pad = inc;
  run_cmp(what, o, &x, 1, want, i, nhwc, 1e-6);
  free(want);
}

static void test_pool(void) {
  test_pool_by_hand();
  CP p = {.N = 2, .C = 3, .H = 7, .W = 6, .KH = 3, .KW = 3, .sh = 2, .sw = 2, .dh = 1,
          .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
  CP d = {.N = 1, .C = 4, .H = 9, .W = 8, .KH = 2, .KW = 3, .sh = 1, .sw = 2, .dh = 2,
          .dw = 2, .pt = 0, .pl = 2, .pb = 1, .pr = 0};
  for (int nhwc = 0; nhwc < 2; nhwc++) {
    pool_case("max pool", POOL_MAX, false, nhwc, p);
    pool_case("avg pool incl pad", POOL_AVG, true, nhwc, p);
    pool_case("avg pool excl pad", POOL_AVG, false, nhwc, p);
    pool_case("max pool dilated", POOL_MAX, false, nhwc, d);
    pool_case("avg pool dilated", POOL_AVG, false, nhwc, d);
  }
  CP g = {.N = 1, .C = 2, .H = 5, .W = 4, .KH = 5, .KW = 4, .sh = 1, .sw = 1, .dh = 1, .dw = 1};
  pool_case("global avg pool", POOL_AVG, false, true, g);
}

/* ---- matmul ------------------------------------------------------------------------- */

/* Naive broadcasting matmul of A [.., M, K] and B [.., K, N] (both rank >= 2). */
static void matmul_case(const char *what, TensorType at, TensorType bt, TensorType yt) {
  Tensor *a = trand(at), *b = trand(bt);
  int64_t n_y = type_numel(&yt), M = at.dims[at.rank - 2], K = at.dims[at.rank - 1];
  int64_t N = bt.dims[bt.rank - 1], batch = n_y / (M * N);
  double *want = malloc(sizeof(double) * (size_t)n_y);
  for (int64_t bi = 0; bi < batch; bi++) {
    int64_t ab = 0, bb = 0, rest = bi, as = 1, bs = 1;
    for (int i = yt.rank - 3; i >= 0; i--) { /* batch index into A and B, size-1 = bcast */
      int64_t idx = rest % yt.dims[i];
      rest /= yt.dims[i];
      int ai = i - (yt.rank - at.rank), bj = i - (yt.rank - bt.rank);
      if (ai >= 0) ab += (at.dims[ai] == 1 ? 0 : idx) * as, as *= at.dims[ai];
      if (bj >= 0) bb += (bt.dims[bj] == 1 ? 0 : idx) * bs, bs *= bt.dims[bj];
    }
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double s = 0;
        for (int64_t k = 0; k < K; k++)
          s += tget(a, (ab * M + i) * K + k) * tget(b, (bb * K + k) * N + j);
        want[(bi * M + i) * N + j] = s;
      }
  }
  TensorType in[2] = {at, bt};
  OneOp o = one_op(KILN_OP_MATMUL, 2, in, yt);
  Tensor *ins[2] = {a, b};
  run_check(what, o, ins, 2, want, 1e-5);
  free(want);
}

static void test_matmul(void) {
  matmul_case("matmul 2d", TT(KILN_F32, 5, 3), TT(KILN_F32, 3, 7), TT(KILN_F32, 5, 7));
  matmul_case("matmul batch bcast", TT(KILN_F32, 2, 1, 2, 3), TT(KILN_F32, 3, 3, 4),
              TT(KILN_F32, 2, 3, 2, 4));
  matmul_case("matmul B batched only", TT(KILN_F32, 2, 3), TT(KILN_F32, 4, 3, 2),
              TT(KILN_F32, 4, 2, 2));
  TensorType in[2] = {TT(KILN_F32, 3), TT(KILN_F32, 3, 2)};
  OneOp o = one_op(KILN_OP_MATMUL, 2, in, TT(KILN_F32, 2));
  Tensor *ins[2] = {tvals(in[0], (double[]){1, 2, 3}), tvals(in[1], (double[]){1, 2, 3, 4, 5, 6})};
  run_check("matmul rank-1 A", o, ins, 2, (double[]){22, 28}, 0);
}

static void test_conv_errors(void) {
  TensorType in[2] = {TT(KILN_F32, 1, 3, 5, 5), TT(KILN_F32, 4, 3, 3, 3)};
  OneOp o = one_op(KILN_OP_CONV2D, 2, in, TT(KILN_F32, 1, 4, 5, 5)); /* needs pads 1 */
  Tensor *ins[2] = {tensor_new(in[0]), tensor_new(in[1])};
  run_fails(o.f, ins, KILN_ERR_INVALID, "kiln.conv_2d 'op1': result dim 2: expected 3, got 5");
  tensor_free(ins[0]), tensor_free(ins[1]);
  module_free(o.m);
}

int main(void) {
  test_conv();
  test_depthwise();
  test_conv_transpose();
  test_pool();
  test_matmul();
  test_conv_errors();
  return check_report("test_interp_conv");
}
