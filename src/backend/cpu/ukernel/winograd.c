/* winograd.c — F(4x4, 3x3) Winograd convolution (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016) for 3x3 stride-1 undilated NHWC convs.
 *
 * Each 4x4 block of output pixels ("tile") comes from a 6x6 input window d:
 *   Y = A^T [ sum_c (G g_cf G^T) .* (B^T d_c B) ] A
 * so the 9 * 16 = 144 multiplies per (tile, c, f) of the direct conv become 36: for each
 * of the 36 transform positions p, one GEMM V_p [tiles x C] * U_p [C x F] on the GEMM
 * microkernel. U = G g G^T is computed at compile time (in double, then rounded) and
 * packed as 36 GEMM B matrices; V = B^T d B (input transform) and the output transform
 * A^T M A run here on channel vectors, in plain C that the compiler vectorizes (built
 * for AVX-512, AVX2 and baseline by target_clones; no FMA contraction in ISO C, so every
 * clone gives the same bits).
 *
 * Matrices (interpolation points 0, 1, -1, 2, -2 and infinity):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
 *          0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * Rounding: the transforms scale and cancel values, so the result errs ~4x more than
 * the direct conv's sum (measured: relative L2 ~3e-6 per conv at C = 256 in f32 against
 * a double reference, direct ~9e-7); docs in the README.
 *
 * Work: tile rows [row_begin, row_end) x column panels [panel_begin, panel_end). Tiles
 * go in blocks of TB (their transformed inputs V, 36 x TB x C floats, stay in L2); per
 * block and panel, the 36 GEMMs write M (36 x TB x NR floats, L1/L2), and the output
 * transform applies the epilogue (bias, residual, clamp) and stores the valid pixels. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <math.h>
#include <string.h>

enum {
  POS = 36,              /* 6x6 transform positions */
  V_BYTES = 256 * 1024,  /* transformed inputs of one block of tiles */
  TB_MAX = 64,           /* tiles per block at most */
  CB = 16,               /* channels per step of the transforms */
};

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

int kiln_f32_winograd_supports(const struct kiln_f32_conv_shape *s) {
  return s->kh == 3 && s->kw == 3 && s->stride_h == 1 && s->stride_w == 1 &&
         s->dilation_h == 1 && s->dilation_w == 1 && s->in_c >= 1 &&
         s->in_c <= KILN_F32_ZERO_FLOATS && s->out_c >= 1 && s->out_h >= 1 && s->out_w >= 1;
}

size_t kiln_f32_winograd_packed_w_size(const struct kiln_f32_conv_shape *s,
                                       const struct kiln_ukernel *gemm) {
  assert(gemm && gemm->op == KILN_UKERNEL_OP_f32_gemm && kiln_f32_winograd_supports(s));
  return POS * kiln_f32_gemm_packed_b_size(s->in_c, s->out_c, gemm->nr);
}

/* u = G g for one column g[0..3) (stride gs), in double. */
static void weight_column(const double *g, size_t gs, double *u, size_t us) {
  const double g0 = g[0], g1 = g[gs], g2 = g[2 * gs];
  u[0] = g0 / 4;
  u[us] = -(g0 + g1 + g2) / 6;
  u[2 * us] = -(g0 - g1 + g2) / 6;
  u[3 * us] = g0 / 24 + g1 / 12 + g2 / 6;
  u[4 * us] = g0 / 24 - g1 / 12 + g2 / 6;
  u[5 * us] = g2;
}

void kiln_f32_winograd_pack_w(const struct kiln_f32_conv_shape *s, const float *w_hwcf,
                              float *packed, const struct kiln_ukernel *gemm) {
  assert(gemm && gemm->op == KILN_UKERNEL_OP_f32_gemm && kiln_f32_winograd_supports(s));
  const size_t C = s->in_c, F = s->out_c, CF = C * F, nr = gemm->nr;
  const size_t one = kiln_f32_gemm_packed_b_size(C, F, nr);
  memset(packed, 0, sizeof(float) * POS * one); /* the panels' padding past F */
  for (size_t c = 0; c < C; c++)
    for (size_t f = 0; f < F; f++) {
      double g[9], t[18], r[POS];
      for (size_t k = 0; k < 9; k++) g[k] = w_hwcf[k * CF + c * F + f];
      for (size_t j = 0; j < 3; j++) weight_column(g + j, 3, t + j, 3);         /* G g */
      for (size_t i = 0; i < 6; i++) weight_column(t + 3 * i, 1, r + 6 * i, 1); /* (G g) G^T */
      /* as kiln_f32_gemm_pack_b lays out B [C][F]: panel f / nr, row c, column f % nr */
      float *at = packed + (f / nr) * C * nr + c * nr + f % nr;
      for (size_t p = 0; p < POS; p++) at[p * one] = (float)r[p];
    }
}

size_t kiln_f32_winograd_tiles(size_t out) { return (out + 3) / 4; }

/* Tiles per block: what keeps V within V_BYTES, a multiple of the GEMM's mr when that
 * many fit. */
static size_t block_tiles(const struct kiln_f32_conv_shape *s, const struct kiln_ukernel *gemm) {
  size_t tb = kiln_cache_budget(V_BYTES, 2, 1, 2) / (POS * sizeof(float) * s->in_c);
  tb = tb < 1 ? 1 : tb > TB_MAX ? TB_MAX : tb;
  return tb >= gemm->mr ? tb / gemm->mr * gemm->mr : tb;
}

size_t kiln_f32_winograd_scratch_floats(const struct kiln_f32_conv_shape *s,
                                        const struct kiln_ukernel *gemm) {
  assert(gemm && gemm->op == KILN_UKERNEL_OP_f32_gemm && kiln_f32_winograd_supports(s));
  const size_t tb = block_tiles(s, gemm);
  return POS * tb * (s->in_c + gemm->nr);
}

/* y_i = (B^T x)_i for six rows x_j of n channels (x rows xs apart, y rows ys apart). */
static inline __attribute__((always_inline)) void bt6_rows(
    const float *restrict x0, const float *restrict x1, const float *restrict x2,
    const float *restrict x3, const float *restrict x4, const float *restrict x5,
    float *restrict y0, float *restrict y1, float *restrict y2, float *restrict y3,
    float *restrict y4, float *restrict y5, size_t n) {
  for (size_t c = 0; c < n; c++) {
    y0[c] = 4 * x0[c] - 5 * x2[c] + x4[c];
    y1[c] = -4 * x1[c] - 4 * x2[c] + x3[c] + x4[c];
    y2[c] = 4 * x1[c] - 4 * x2[c] - x3[c] + x4[c];
    y3[c] = -2 * x1[c] - x2[c] + 2 * x3[c] + x4[c];
    y4[c] = 2 * x1[c] - x2[c] - 2 * x3[c] + x4[c];
    y5[c] = 4 * x1[c] - 5 * x3[c] + x5[c];
  }
}

static inline __attribute__((always_inline)) void bt6(const float *x, size_t xs, float *y,
                                                      size_t ys, size_t n) {
  bt6_rows(x, x + xs, x + 2 * xs, x + 3 * xs, x + 4 * xs, x + 5 * xs, y, y + ys, y + 2 * ys,
           y + 3 * ys, y + 4 * ys, y + 5 * ys, n);
}

/* V[p][t][c] = (B^T d B)[p] for one tile, channels [0, C): px[36] point at the window's
 * input pixels (kiln_f32_zero in the padding), v at the tile's row of position 0, ps
 * floats between positions. By channel steps of CB: along the window's columns (into t),
 * then along its rows (into v). */
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
static void input_transform(const float *const *px, size_t C, float *v, size_t ps) {
  for (size_t c0 = 0; c0 < C; c0 += CB) {
    const size_t n = min_size(CB, C - c0);
    float t[6][6][CB]; /* B^T d: [row][column][channel] */
    for (size_t j = 0; j < 6; j++)
      bt6_rows(px[j] + c0, px[6 + j] + c0, px[12 + j] + c0, px[18 + j] + c0, px[24 + j] + c0,
               px[30 + j] + c0, t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j], n);
    for (size_t i = 0; i < 6; i++) bt6(t[i][0], CB, v + 6 * i * ps + c0, ps, n); /* (.) B */
  }
}

/* Where one output tile goes: out (and residual) at the tile's first pixel, the valid
 * rows and columns (< 4 at the bottom and right edges), pixel strides. */
struct tile_out {
  float *out;
  const float *residual;
  size_t rows, cols, out_row, res_row, ch, res_ch;
};

/* Y = A^T m A for one tile and n <= NR channels: m at the tile's row of position 0 (ps
 * floats between positions), then + bias + residual and the clamp; stores the valid
 * pixels. */
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
static void output_transform(const float *m, size_t ps, size_t n, const struct tile_out *to,
                             const struct kiln_f32_epilogue *ep) {
  float t[4][6][64]; /* A^T m: row a of the result, column j of m */
  float y[4][4][64];
  assert(n <= 64);
  for (size_t j = 0; j < 6; j++) {
    const float *m0 = m + j * ps, *m1 = m + (6 + j) * ps, *m2 = m + (12 + j) * ps,
                *m3 = m + (18 + j) * ps, *m4 = m + (24 + j) * ps, *m5 = m + (30 + j) * ps;
    for (size_t c = 0; c < n; c++) {
      t[0][j][c] = m0[c] + m1[c] + m2[c] + m3[c] + m4[c];
      t[1][j][c] = m1[c] - m2[c] + 2 * m3[c] - 2 * m4[c];
      t[2][j][c] = m1[c] + m2[c] + 4 * m3[c] + 4 * m4[c];
      t[3][j][c] = m1[c] - m2[c] + 8 * m3[c] - 8 * m4[c] + m5[c];
    }
  }
  for (size_t a = 0; a < 4; a++) {
    const float *r0 = t[a][0], *r1 = t[a][1], *r2 = t[a][2], *r3 = t[a][3], *r4 = t[a][4],
                *r5 = t[a][5];
    for (size_t c = 0; c < n; c++) {
      y[a][0][c] = r0[c] + r1[c] + r2[c] + r3[c] + r4[c];
      y[a][1][c] = r1[c] - r2[c] + 2 * r3[c] - 2 * r4[c];
      y[a][2][c] = r1[c] + r2[c] + 4 * r3[c] + 4 * r4[c];
      y[a][3][c] = r1[c] - r2[c] + 8 * r3[c] - 8 * r4[c] + r5[c];
    }
  }
  const float lo = ep->min, hi = ep->max;
  const int clamp = lo > -INFINITY || hi < INFINITY; /* as the microkernels: NaN stays */
  for (size_t a = 0; a < to->rows; a++)
    for (size_t b = 0; b < to->cols; b++) {
      float *o = to->out + a * to->out_row + b * to->ch;
      const float *r = to->residual ? to->residual + a * to->res_row + b * to->res_ch : NULL;
      float *yv = y[a][b];
      if (ep->bias)
        for (size_t c = 0; c < n; c++) yv[c] += ep->bias[c];
      if (r)
        for (size_t c = 0; c < n; c++) yv[c] += r[c];
      if (clamp)
        for (size_t c = 0; c < n; c++) {
          float v = yv[c] > lo ? yv[c] : lo; /* the microkernels' max/min semantics */
          yv[c] = v < hi ? v : hi;
        }
      memcpy(o, yv, n * sizeof(float));
    }
}

/* The 36 input pointers of the window of tile (ty, tx). */
static void window(const struct kiln_f32_conv_shape *s, const float *in, size_t ty, size_t tx,
                   const float **px) {
  for (size_t i = 0; i < 6; i++)
    for (size_t j = 0; j < 6; j++) {
      const ptrdiff_t ih = (ptrdiff_t)(4 * ty + i) - (ptrdiff_t)s->pad_top;
      const ptrdiff_t iw = (ptrdiff_t)(4 * tx + j) - (ptrdiff_t)s->pad_left;
      const int inside = ih >= 0 && ih < (ptrdiff_t)s->in_h && iw >= 0 && iw < (ptrdiff_t)s->in_w;
      px[6 * i + j] = inside ? in + ((size_t)ih * s->in_w + (size_t)iw) * s->in_c : kiln_f32_zero;
    }
}

void kiln_f32_winograd(const struct kiln_f32_conv_shape *s, const float *in,
                       const float *packed_w, float *out, const struct kiln_f32_epilogue *ep,
                       const struct kiln_ukernel *gemm, size_t row_begin, size_t row_end,
                       size_t panel_begin, size_t panel_end, float *scratch) {
  assert(gemm && gemm->op == KILN_UKERNEL_OP_f32_gemm && kiln_f32_winograd_supports(s));
  assert(in && packed_w && out && ep && scratch);
  const size_t C = s->in_c, F = s->out_c, mr = gemm->mr, nr = gemm->nr;
  const size_t tw = kiln_f32_winograd_tiles(s->out_w), tb = block_tiles(s, gemm);
  const size_t one = kiln_f32_gemm_packed_b_size(C, F, nr);
  const size_t t_end = min_size(row_end, kiln_f32_winograd_tiles(s->out_h)) * tw;
  float *v = scratch, *m = scratch + POS * tb * C;
  for (size_t t0 = row_begin * tw; t0 < t_end; t0 += tb) {
    const size_t nt = min_size(tb, t_end - t0);
    for (size_t t = 0; t < nt; t++) {
      const float *px[POS];
      window(s, in, (t0 + t) / tw, (t0 + t) % tw, px);
      input_transform(px, C, v + t * C, tb * C);
    }
    for (size_t j = panel_begin; j < panel_end; j++) {
      const size_t n0 = j * nr, ncur = min_size(nr, F - n0);
      for (size_t p = 0; p < POS; p++)
        for (size_t r = 0; r < nt; r += mr)
          gemm->fn.f32_gemm(min_size(mr, nt - r), ncur, C, v + (p * tb + r) * C, C,
                            packed_w + p * one + j * C * nr, m + (p * tb + r) * nr, nr, NULL, 0);
      const struct kiln_f32_epilogue tile_ep = {
          .bias = ep->bias ? ep->bias + n0 : NULL, .min = ep->min, .max = ep->max};
      for (size_t t = 0; t < nt; t++) {
        const size_t oh = (t0 + t) / tw * 4, ow = (t0 + t) % tw * 4;
        const struct tile_out to = {
            .out = out + (oh * s->out_w + ow) * F + n0,
            .residual = ep->residual ? ep->residual + (oh * s->out_w + ow) * ep->residual_stride + n0 : NULL,
            .rows = min_size(4, s->out_h - oh), .cols = min_size(4, s->out_w - ow),
            .out_row = s->out_w * F, .res_row = s->out_w * ep->residual_stride, .ch = F,
            .res_ch = ep->residual_stride};
        output_transform(m + t * nr, tb * nr, ncur, &to, &tile_ep);
      }
    }
  }
}
