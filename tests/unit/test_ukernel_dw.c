/* test_ukernel_dw.c — every f32_dwconv3x3 variant in kernels.def, through the driver
 * kiln_f32_dwconv3x3, with channel counts derived from its channel tile nr (style.md
 * item 5): nr (eq), 2nr (div), 1, nr-1 (lt: masked channels), nr+1, 3nr+nr/2 (gt); over
 * geometries covering stride 1-3, dilation 1-4, symmetric/asymmetric/no padding, a 1x1
 * image, a dilation wider than the image (only centre taps land inside), and wide rows
 * (the SIMD kernels run interior pixels four at a time, the rest one by one). Epilogue
 * modes (bias, clamp) cycle over the cases; output rows are computed in two calls (row
 * ranges, as threads will split them); a sentinel after the output catches overruns.
 *
 * Then every f32_dwconv (general KHxKW) variant through kiln_f32_dwconv, with the same
 * channel counts, on windows 3x3 (the geometries above: it must agree with the 3x3 path),
 * 5x5 stride 1 and 2 (EfficientNet), 1x1, 7x1, 1x7 dilated, 9x9 (81 taps: split over
 * calls), a window whose every tap lies in the padding for some rows, and C = 1100 (more
 * than one channel block of the zero buffer).
 *
 * Oracles: portable against a double reference; other variants against portable.
 * Tolerance: at most KH*KW products + bias summed in float: (KH*KW+2) * FLT_EPSILON * mag
 * with mag = |bias| + sum |in||w| (2x the gamma bound, as in test_ukernel_gemm.c), twice
 * that between two float kernels. */
#include "backend/cpu/ukernel/ukernel.h"
#include "check.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static float rnd(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

struct geometry {
  size_t h, w, sh, sw, dh, dw, pt, pb, pl, pr;
  size_t kh, kw;
};
static const struct geometry geometries[] = {
    {5, 7, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3},  /* 'same', stride 1 */
    {6, 6, 2, 2, 1, 1, 0, 1, 0, 1, 3, 3},  /* TF 'same' stride 2: pad only at the end */
    {9, 9, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3},  /* dilation 2 */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3},  /* 1x1 image: centre tap only */
    {4, 11, 2, 1, 1, 3, 3, 3, 3, 3, 3, 3}, /* dilation 3 along W, most taps in padding */
    {3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 3, 3},  /* 'valid': one output pixel */
    {7, 5, 3, 2, 1, 2, 2, 0, 1, 2, 3, 3},  /* asymmetric padding, stride 3 x 2 */
    {2, 2, 1, 1, 4, 4, 4, 4, 4, 4, 3, 3},  /* dilation wider than the image */
    {3, 23, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3}, /* wide: 21 interior pixels (4 at a time + 1) */
    {4, 20, 2, 2, 1, 2, 1, 1, 1, 1, 3, 3}, /* wide, stride 2, dilation 2 along W */
};
enum { N_GEOM = sizeof geometries / sizeof geometries[0] };
enum { MODE_BIAS = 1, MODE_CLAMP = 2 };
#define SENTINEL 12345.0f
#define TAIL 40

static const struct geometry general_geometries[] = {
    {9, 8, 1, 1, 1, 1, 2, 2, 2, 2, 5, 5},    /* 5x5 'same' */
    {9, 10, 2, 2, 1, 1, 1, 2, 1, 2, 5, 5},   /* 5x5 stride 2, TF 'same' */
    {4, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},    /* 1x1 */
    {8, 3, 1, 1, 1, 1, 3, 3, 0, 0, 7, 1},    /* 7x1 */
    {3, 9, 1, 1, 1, 2, 0, 0, 6, 6, 1, 7},    /* 1x7 dilated */
    {10, 9, 1, 1, 1, 1, 4, 4, 4, 4, 9, 9},   /* 9x9: 81 taps, split over calls */
    {2, 3, 1, 1, 1, 1, 4, 4, 1, 1, 3, 3},    /* rows whose window lies in the padding */
};
enum { N_GENERAL = sizeof general_geometries / sizeof general_geometries[0] };

static float *run(const struct kiln_ukernel *k, const struct kiln_f32_dwconv_shape *s,
                  const struct geometry *g, const float *in, const float *w,
                  const struct kiln_f32_epilogue *ep) {
  const size_t n = s->out_h * s->out_w * s->channels;
  float *out = malloc(sizeof(float) * (n + TAIL));
  for (size_t i = 0; i < n + TAIL; i++)
    out[i] = SENTINEL;
  if (k->op == KILN_UKERNEL_OP_f32_dwconv3x3) {
    kiln_f32_dwconv3x3(s, in, w, out, ep, k, 0, s->out_h / 2);
    kiln_f32_dwconv3x3(s, in, w, out, ep, k, s->out_h / 2, s->out_h);
  } else {
    const struct kiln_f32_dwconv2d_shape s2 = {
        .in_h = s->in_h, .in_w = s->in_w, .channels = s->channels, .out_h = s->out_h,
        .out_w = s->out_w, .kh = g->kh, .kw = g->kw, .stride_h = s->stride_h,
        .stride_w = s->stride_w, .dilation_h = s->dilation_h, .dilation_w = s->dilation_w,
        .pad_top = s->pad_top, .pad_left = s->pad_left};
    kiln_f32_dwconv(&s2, in, w, out, ep, k, 0, s->out_h / 2);
    kiln_f32_dwconv(&s2, in, w, out, ep, k, s->out_h / 2, s->out_h);
  }
  return out;
}

static void check_case(const struct kiln_ukernel *k, const struct geometry *g, size_t C,
                       int mode) {
  const size_t KH = g->kh, KW = g->kw;
  struct kiln_f32_dwconv_shape s = {
      .in_h = g->h, .in_w = g->w, .channels = C,
      .out_h = kiln_conv_out_size(g->h, g->pt, g->pb, KH, g->sh, g->dh),
      .out_w = kiln_conv_out_size(g->w, g->pl, g->pr, KW, g->sw, g->dw),
      .stride_h = g->sh, .stride_w = g->sw, .dilation_h = g->dh, .dilation_w = g->dw,
      .pad_top = g->pt, .pad_left = g->pl};
  float *in = malloc(sizeof(float) * g->h * g->w * C), *w = malloc(sizeof(float) * KH * KW * C);
  float *bias = malloc(sizeof(float) * C);
  for (size_t i = 0; i < g->h * g->w * C; i++)
    in[i] = rnd();
  for (size_t i = 0; i < KH * KW * C; i++)
    w[i] = rnd();
  for (size_t i = 0; i < C; i++)
    bias[i] = rnd();
  const struct kiln_f32_epilogue ep = {.bias = mode & MODE_BIAS ? bias : NULL,
                                       .min = mode & MODE_CLAMP ? -0.5f : -INFINITY,
                                       .max = mode & MODE_CLAMP ? 0.75f : INFINITY};
  const size_t n = s.out_h * s.out_w * C;
  float *out = run(k, &s, g, in, w, &ep);
  const struct kiln_ukernel *ref_k = kiln_ukernel_select_isa(k->op, KILN_ISA_PORTABLE);
  float *want_f = k->isa == KILN_ISA_PORTABLE ? NULL : run(ref_k, &s, g, in, w, &ep);
  int bad = 0;
  for (size_t oh = 0; oh < s.out_h; oh++)
    for (size_t ow = 0; ow < s.out_w; ow++)
      for (size_t c = 0; c < C; c++) {
        double ref = ep.bias ? bias[c] : 0, mag = fabs(ref);
        for (size_t kh = 0; kh < KH; kh++)
          for (size_t kw = 0; kw < KW; kw++) {
            const long ih = (long)(oh * g->sh + kh * g->dh) - (long)g->pt;
            const long iw = (long)(ow * g->sw + kw * g->dw) - (long)g->pl;
            if (ih < 0 || ih >= (long)g->h || iw < 0 || iw >= (long)g->w)
              continue;
            const double p = (double)in[((size_t)ih * g->w + (size_t)iw) * C + c] *
                             w[(kh * KW + kw) * C + c];
            ref += p, mag += fabs(p);
          }
        if (mode & MODE_CLAMP)
          ref = ref < -0.5 ? -0.5 : ref > 0.75 ? 0.75 : ref;
        const size_t o = (oh * s.out_w + ow) * C + c;
        const double want = want_f ? want_f[o] : ref;
        const double tol =
            (want_f ? 4.0 : 2.0) * (double)(KH * KW + 2) * FLT_EPSILON * mag + 1e-30;
        if (!(fabs(out[o] - want) <= tol) && bad++ < 3)
          fprintf(stderr,
                  "%s vs %s %zux%zu k%zux%zu s%zu,%zu d%zu,%zu p%zu,%zu,%zu,%zu C=%zu mode=%d: "
                  "out[%zu][%zu][%zu] = %.9g, expected %.9g (tol %.3g)\n",
                  k->name, want_f ? "portable" : "double reference", g->h, g->w, KH, KW, g->sh,
                  g->sw, g->dh, g->dw, g->pt, g->pb, g->pl, g->pr, C, mode, oh, ow, c, out[o],
                  want, tol);
      }
  for (size_t i = n; i < n + TAIL; i++)
    if (out[i] != SENTINEL && bad++ < 3)
      fprintf(stderr, "%s %zux%zu k%zux%zu C=%zu: wrote past the output\n", k->name, g->h,
              g->w, KH, KW, C);
  check_count++;
  check_failures += bad != 0;
  free(in), free(w), free(bias), free(out), free(want_f);
}

static void test_variant(const struct kiln_ukernel *k) {
  if (!kiln_isa_is_usable(k->isa)) {
    printf("  %s: skipped: CPU lacks %s\n", k->name, kiln_isa_name(k->isa));
    return;
  }
  const size_t nr = k->nr;
  const size_t Cs[] = {nr, 2 * nr, 1, nr - 1, nr + 1, 3 * nr + nr / 2};
  const int before = check_failures;
  int mode = 0, cases = 0;
  const int general = k->op == KILN_UKERNEL_OP_f32_dwconv;
  for (size_t c = 0; c < sizeof Cs / sizeof Cs[0]; c++) {
    for (size_t g = 0; g < N_GEOM; g++) {
      if (!Cs[c])
        continue;
      check_case(k, &geometries[g], Cs[c], mode);
      mode = (mode + 1) & 3, cases++;
    }
    for (size_t g = 0; general && g < N_GENERAL; g++) {
      if (!Cs[c])
        continue;
      check_case(k, &general_geometries[g], Cs[c], mode);
      mode = (mode + 1) & 3, cases++;
    }
  }
  for (int m = 0; m < 4; m++, cases++)
    check_case(k, &geometries[0], nr + 1, m);
  if (general) { /* C = 1100: two channel blocks */
    check_case(k, &general_geometries[0], 1100, 3), cases++;
    check_case(k, &general_geometries[5], 1100, 1), cases++;
  }
  printf("  %s (channels %u): %d cases, %s\n", k->name, k->nr, cases,
         check_failures == before ? "ok" : "FAILED");
}

int main(void) {
  CHECK_EQ_I(5, kiln_dwconv3x3_out_size(5, 1, 1, 1, 1));
  CHECK_EQ_I(3, kiln_dwconv3x3_out_size(6, 0, 1, 2, 1));
  CHECK_EQ_I(0, kiln_dwconv3x3_out_size(1, 0, 0, 1, 1));
  CHECK_EQ_I(28, kiln_conv_out_size(56, 1, 2, 5, 2, 1));
  CHECK_EQ_I(5, kiln_dwconv3x3_out_size(5, 1, 1, 1, 1));
  const struct kiln_ukernel *best = kiln_ukernel_select(KILN_UKERNEL_OP_f32_dwconv3x3);
  CHECK(best && best->isa == kiln_cpu_features()->isa);
  best = kiln_ukernel_select(KILN_UKERNEL_OP_f32_dwconv);
  CHECK(best && best->isa == kiln_cpu_features()->isa);
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++)
    if (kiln_ukernels[v].op == KILN_UKERNEL_OP_f32_dwconv3x3 ||
        kiln_ukernels[v].op == KILN_UKERNEL_OP_f32_dwconv)
      test_variant(&kiln_ukernels[v]);
  return check_report("test_ukernel_dw");
}
