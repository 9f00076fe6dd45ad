/* test_ukernel_winograd.c — the F(4x4, 3x3) Winograd conv (winograd.c) on every f32_gemm
 * variant of kernels.def, against a direct conv in double.
 *
 * Shapes from the two tilings involved: output maps of 1x1, 4x4 (one tile), 5x7 and 13x9
 * (partial tiles at the bottom and right), 8x12; 'same' padding, no padding ('valid') and
 * asymmetric padding; C = 1, 3, 17 (a partial 16-channel transform step), 64, and 300
 * (blocks of fewer tiles than the GEMM's mr); F = 1, nr - 1, nr, 2nr + 3 (partial
 * panels); epilogue modes (bias, clamp, residual at its own stride) cycled, all 8 on one
 * shape. Each case also runs split over tile rows and panels in several calls: the bits
 * must equal one call's. A sentinel after the output catches overruns.
 *
 * Tolerance: Winograd is a bilinear algorithm, so its rounding error is bounded
 * componentwise by a small multiple of u = FLT_EPSILON/2 times the result of the same
 * algorithm run on absolute values: mag = |A^T| [sum_c (|G||g||G^T|) .* (|B^T||d||B|)]
 * |A| (+ |bias| + |residual|). Each transform and the sum over C add at most ~C + 12
 * roundings along any path, so we allow 2 (C + 16) FLT_EPSILON mag: a bound that holds
 * for every input, not a tolerance fitted to these ones. */
#include "backend/cpu/ukernel/ukernel.h"
#include "check.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static float rnd(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

enum { MODE_BIAS = 1, MODE_CLAMP = 2, MODE_RES = 4, MODE_ALL = 7 };
#define SENTINEL 12345.0f
#define TAIL 40

static const double BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double G[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                               {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                               {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
static const double AT[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

struct geometry {
  size_t h, w, c, pt, pb, pl, pr;
};

static struct kiln_f32_conv_shape shape_of(const struct geometry *g, size_t F) {
  return (struct kiln_f32_conv_shape){
      .in_h = g->h, .in_w = g->w, .in_c = g->c, .out_c = F, .kh = 3, .kw = 3,
      .out_h = kiln_conv_out_size(g->h, g->pt, g->pb, 3, 1, 1),
      .out_w = kiln_conv_out_size(g->w, g->pl, g->pr, 3, 1, 1),
      .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
      .pad_top = g->pt, .pad_left = g->pl};
}

/* The |.|-algorithm's value for output (oh, ow, f): see the tolerance above. */
static double magnitude(const struct kiln_f32_conv_shape *s, const float *in, const float *w,
                        size_t oh, size_t ow, size_t f) {
  const size_t ty = oh / 4, tx = ow / 4, a = oh % 4, b = ow % 4, C = s->in_c, F = s->out_c;
  double m[6][6] = {{0}};
  for (size_t c = 0; c < C; c++) {
    double d[6][6], u[6][6], t[6][6], v[6][6], gt[6][3];
    for (size_t i = 0; i < 6; i++)
      for (size_t j = 0; j < 6; j++) {
        const long ih = (long)(4 * ty + i) - (long)s->pad_top, iw = (long)(4 * tx + j) - (long)s->pad_left;
        d[i][j] = ih >= 0 && ih < (long)s->in_h && iw >= 0 && iw < (long)s->in_w
                      ? fabs(in[((size_t)ih * s->in_w + (size_t)iw) * C + c]) : 0;
      }
    for (size_t i = 0; i < 6; i++)
      for (size_t k = 0; k < 3; k++) {
        gt[i][k] = 0;
        for (size_t l = 0; l < 3; l++) gt[i][k] += fabs(G[i][l]) * fabs(w[((l * 3 + k) * C + c) * F + f]);
      }
    for (size_t i = 0; i < 6; i++)
      for (size_t j = 0; j < 6; j++) {
        u[i][j] = 0, t[i][j] = 0;
        for (size_t k = 0; k < 3; k++) u[i][j] += gt[i][k] * fabs(G[j][k]);
        for (size_t k = 0; k < 6; k++) t[i][j] += fabs(BT[i][k]) * d[k][j];
      }
    for (size_t i = 0; i < 6; i++)
      for (size_t j = 0; j < 6; j++) {
        v[i][j] = 0;
        for (size_t k = 0; k < 6; k++) v[i][j] += t[i][k] * fabs(BT[j][k]);
        m[i][j] += u[i][j] * v[i][j];
      }
  }
  double y = 0;
  for (size_t i = 0; i < 6; i++)
    for (size_t j = 0; j < 6; j++) y += fabs(AT[a][i]) * m[i][j] * fabs(AT[b][j]);
  return y;
}

/* Runs the Winograd conv with `gemm`, split into row_parts x panel_parts calls. */
static float *run(const struct kiln_ukernel *gemm, const struct kiln_f32_conv_shape *s,
                  const float *in, const float *w, const struct kiln_f32_epilogue *ep,
                  size_t row_parts, size_t panel_parts) {
  float *packed = malloc(sizeof(float) * kiln_f32_winograd_packed_w_size(s, gemm));
  float *scratch = malloc(sizeof(float) * kiln_f32_winograd_scratch_floats(s, gemm));
  kiln_f32_winograd_pack_w(s, w, packed, gemm);
  const size_t n = s->out_h * s->out_w * s->out_c;
  float *out = malloc(sizeof(float) * (n + TAIL));
  for (size_t i = 0; i < n + TAIL; i++) out[i] = SENTINEL;
  const size_t rows = kiln_f32_winograd_tiles(s->out_h), panels = (s->out_c + gemm->nr - 1) / gemm->nr;
  for (size_t r = 0; r < row_parts; r++)
    for (size_t p = 0; p < panel_parts; p++)
      kiln_f32_winograd(s, in, packed, out, ep, gemm, rows * r / row_parts, rows * (r + 1) / row_parts,
                        panels * p / panel_parts, panels * (p + 1) / panel_parts, scratch);
  free(packed), free(scratch);
  return out;
}

static void check_case(const struct kiln_ukernel *gemm, const struct geometry *g, size_t F, int mode) {
  const struct kiln_f32_conv_shape s = shape_of(g, F);
  CHECK(kiln_f32_winograd_supports(&s));
  const size_t C = g->c, nin = g->h * g->w * C, nw = 9 * C * F, ldr = F + 3;
  const size_t npx = s.out_h * s.out_w, n = npx * F;
  float *in = malloc(sizeof(float) * nin), *w = malloc(sizeof(float) * nw);
  float *bias = malloc(sizeof(float) * F), *res = malloc(sizeof(float) * npx * ldr);
  for (size_t i = 0; i < nin; i++) in[i] = rnd();
  for (size_t i = 0; i < nw; i++) w[i] = rnd();
  for (size_t i = 0; i < F; i++) bias[i] = rnd();
  for (size_t i = 0; i < npx * ldr; i++) res[i] = rnd();
  const struct kiln_f32_epilogue ep = {.bias = mode & MODE_BIAS ? bias : NULL,
                                       .min = mode & MODE_CLAMP ? -0.5f : -INFINITY,
                                       .max = mode & MODE_CLAMP ? 0.75f : INFINITY,
                                       .residual = mode & MODE_RES ? res : NULL,
                                       .residual_stride = ldr};
  float *out = run(gemm, &s, in, w, &ep, 1, 1);
  int bad = 0;
  for (size_t oh = 0; oh < s.out_h; oh++)
    for (size_t ow = 0; ow < s.out_w; ow++)
      for (size_t f = 0; f < F; f++) {
        double ref = ep.bias ? bias[f] : 0, mag = magnitude(&s, in, w, oh, ow, f) + fabs(ref);
        for (size_t kh = 0; kh < 3; kh++)
          for (size_t kw = 0; kw < 3; kw++) {
            const long ih = (long)(oh + kh) - (long)g->pt, iw = (long)(ow + kw) - (long)g->pl;
            if (ih < 0 || ih >= (long)g->h || iw < 0 || iw >= (long)g->w) continue;
            for (size_t c = 0; c < C; c++)
              ref += (double)in[((size_t)ih * g->w + (size_t)iw) * C + c] * w[((kh * 3 + kw) * C + c) * F + f];
          }
        if (mode & MODE_RES) {
          const double r = res[(oh * s.out_w + ow) * ldr + f];
          ref += r, mag += fabs(r);
        }
        if (mode & MODE_CLAMP) ref = ref < -0.5 ? -0.5 : ref > 0.75 ? 0.75 : ref;
        const size_t o = (oh * s.out_w + ow) * F + f;
        const double tol = 2.0 * (double)(C + 16) * FLT_EPSILON * mag + 1e-30;
        if (!(fabs(out[o] - ref) <= tol) && bad++ < 3)
          fprintf(stderr, "%s %zux%zux%zu pads %zu,%zu,%zu,%zu F=%zu mode=%d: out[%zu][%zu][%zu] = %.9g, expected %.9g (tol %.3g)\n",
                  gemm->name, g->h, g->w, C, g->pt, g->pb, g->pl, g->pr, F, mode, oh, ow, f, out[o], ref, tol);
      }
  for (size_t i = n; i < n + TAIL; i++)
    if (out[i] != SENTINEL && bad++ < 3)
      fprintf(stderr, "%s %zux%zux%zu F=%zu: wrote past the output\n", gemm->name, g->h, g->w, C, F);
  float *split = run(gemm, &s, in, w, &ep, 3, 2);
  if (memcmp(out, split, sizeof(float) * (n + TAIL)) && bad++ < 3)
    fprintf(stderr, "%s %zux%zux%zu F=%zu: split over rows and panels differs\n", gemm->name, g->h, g->w, C, F);
  check_count++;
  check_failures += bad != 0;
  free(in), free(w), free(bias), free(res), free(out), free(split);
}

static void test_variant(const struct kiln_ukernel *gemm) {
  if (!kiln_isa_is_usable(gemm->isa)) {
    printf("  %s: skipped: CPU lacks %s\n", gemm->name, kiln_isa_name(gemm->isa));
    return;
  }
  const struct geometry geometries[] = {
      {1, 1, 3, 1, 1, 1, 1},    /* 1x1 map: one tile, mostly padding */
      {4, 4, 17, 1, 1, 1, 1},   /* one full tile, a partial channel step */
      {5, 7, 1, 1, 1, 1, 1},    /* partial tiles, C = 1 */
      {13, 9, 64, 1, 1, 1, 1},  /* several blocks of tiles */
      {10, 14, 3, 0, 0, 0, 0},  /* 'valid': 8x12 output */
      {6, 9, 5, 2, 0, 0, 2},    /* asymmetric padding */
      {3, 4, 300, 1, 1, 1, 1},  /* C = 300: blocks of fewer tiles than mr */
  };
  const size_t nr = gemm->nr, Fs[] = {1, nr - 1, nr, 2 * nr + 3};
  const int before = check_failures;
  int mode = 0, cases = 0;
  for (size_t g = 0; g < sizeof geometries / sizeof geometries[0]; g++)
    for (size_t f = 0; f < sizeof Fs / sizeof Fs[0]; f++, cases++) {
      check_case(gemm, &geometries[g], Fs[f], mode);
      mode = (mode + 1) & MODE_ALL;
    }
  for (int m = 0; m <= MODE_ALL; m++, cases++) check_case(gemm, &geometries[3], nr + 1, m);
  printf("  %s (%ux%u): %d cases, %s\n", gemm->name, gemm->mr, gemm->nr, cases,
         check_failures == before ? "ok" : "FAILED");
}

int main(void) {
  const struct kiln_f32_conv_shape strided = {.in_h = 8, .in_w = 8, .in_c = 4, .out_h = 4,
                                              .out_w = 4, .out_c = 4, .kh = 3, .kw = 3,
                                              .stride_h = 2, .stride_w = 2, .dilation_h = 1,
                                              .dilation_w = 1, .pad_top = 1, .pad_left = 1};
  CHECK(!kiln_f32_winograd_supports(&strided));
  CHECK_EQ_I(2, kiln_f32_winograd_tiles(5));
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++)
    if (kiln_ukernels[v].op == KILN_UKERNEL_OP_f32_gemm) test_variant(&kiln_ukernels[v]);
  return check_report("test_ukernel_winograd");
}
