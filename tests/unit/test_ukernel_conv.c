/* test_ukernel_conv.c — every f32_conv variant in kernels.def, through the driver
 * kiln_f32_conv, on shapes derived from its tile (style.md item 5):
 *   output pixels M = out_h*out_w: mr (eq), 2mr (div), 1, mr-1 (lt: rows past mr
 *     repeat the last pixel), mr+1, 2mr+mr/2 (gt), as 1-row images under a 3x3 'same'
 *     conv (top and bottom taps in the padding: skipped) and as multi-row images (tiles
 *     wrap from one output row to the next);
 *   output channels F: nr, 2nr, 1, nr-1 (masked), nr+1, 3nr+nr/2;
 * plus fixed geometries: stride 2 with TF-style end padding, dilation 2, an ASPP-like
 * dilation wider than the map (most taps in the padding), an ASPP conv (dilation 6 on
 * 13x11, 300 channels), asymmetric padding, 1x1, 7x7/2 with C = 3 (a stem), 5x5, 9x9 (81
 * taps: more than one microkernel call per channel block), a pad larger than the kernel
 * (tiles with no tap at all: output = epilogue(0)), and C = 700 (more than one
 * input-channel block for every tile width). The fixed geometries of at most 64 taps also
 * run banded (kiln_f32_conv_banded, no residual), against the double reference.
 * Epilogue modes (bias, clamp, residual at its own stride) cycle over the cases and all 8
 * run on one shape; the pixel tiles are split in three and the panels in two (threads
 * will split them so: results must be bit-identical to one call); a sentinel after the
 * output catches overruns.
 *
 * Oracles: portable against a double reference; every other variant against portable.
 * Tolerance as test_ukernel_gemm.c: K = kh*kw*C products plus the bias in float err by at
 * most gamma_{K+2} * mag, mag = |bias| + sum |in||w|; we allow 2(K+2) FLT_EPSILON mag
 * against double, twice that between two float kernels. */
#include "backend/cpu/ukernel/ukernel.h"
#include "check.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x853c49e6748fea9bull;
static float rnd(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

struct geometry {
  size_t h, w, c, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr;
};
static const struct geometry fixed_geometries[] = {
    {6, 6, 5, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1},     /* TF 'same' stride 2: pad only at the end */
    {7, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},     /* dilation 2 */
    {5, 5, 3, 3, 3, 1, 1, 4, 4, 4, 4, 4, 4},     /* ASPP-like: dilation 4 on a 5x5 map */
    {7, 5, 2, 3, 2, 3, 2, 1, 2, 2, 0, 1, 2},     /* asymmetric padding, stride 3x2, 3x2 */
    {4, 5, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},     /* 1x1 */
    {12, 12, 3, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3},   /* 7x7/2 stem, C = 3 */
    {6, 7, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},     /* 5x5 'same' */
    {10, 9, 2, 9, 9, 1, 1, 1, 1, 4, 4, 4, 4},    /* 9x9: 81 taps, split over calls */
    {2, 2, 3, 2, 2, 1, 1, 1, 1, 3, 3, 3, 3},     /* pad > kernel: tiles with no tap */
    {3, 4, 700, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   /* C = 700: several channel blocks */
    {13, 11, 300, 3, 3, 1, 1, 6, 6, 6, 6, 6, 6}, /* ASPP: 3x3 bands of rectangles, C blocks */
};
enum { N_FIXED = sizeof fixed_geometries / sizeof fixed_geometries[0] };
enum { MODE_BIAS = 1, MODE_CLAMP = 2, MODE_RES = 4, MODE_ALL = 7 };
#define SENTINEL 12345.0f
#define TAIL 40

static const struct kiln_ukernel *portable(void) {
  return kiln_ukernel_select_isa(KILN_UKERNEL_OP_f32_conv, KILN_ISA_PORTABLE);
}

static struct kiln_f32_conv_shape shape_of(const struct geometry *g, size_t F) {
  return (struct kiln_f32_conv_shape){
      .in_h = g->h, .in_w = g->w, .in_c = g->c, .out_c = F, .kh = g->kh, .kw = g->kw,
      .out_h = kiln_conv_out_size(g->h, g->pt, g->pb, g->kh, g->sh, g->dh),
      .out_w = kiln_conv_out_size(g->w, g->pl, g->pr, g->kw, g->sw, g->dw),
      .stride_h = g->sh, .stride_w = g->sw, .dilation_h = g->dh, .dilation_w = g->dw,
      .pad_top = g->pt, .pad_left = g->pl};
}

/* Runs `k` (banded: kiln_f32_conv_banded), the tile range split into `parts` calls;
 * output with TAIL sentinels. */
static float *run(const struct kiln_ukernel *k, const struct kiln_f32_conv_shape *s,
                  const float *in, const float *w, const struct kiln_f32_epilogue *ep,
                  int parts, int banded) {
  float *packed = malloc(sizeof(float) * kiln_f32_conv_packed_w_size(s, k));
  kiln_f32_conv_pack_w(s, w, packed, k);
  const size_t n = s->out_h * s->out_w * s->out_c;
  float *out = malloc(sizeof(float) * (n + TAIL));
  for (size_t i = 0; i < n + TAIL; i++)
    out[i] = SENTINEL;
  const size_t tiles = banded ? kiln_f32_conv_banded_tiles(s, k) : kiln_f32_conv_pixel_tiles(s, k);
  const size_t panels = (s->out_c + k->nr - 1) / k->nr;
  for (int p = 0; p < parts; p++) /* pixel tiles split in `parts`, panels in two */
    for (size_t q = 0; q < (parts > 1 ? 2u : 1u); q++)
      (banded ? kiln_f32_conv_banded : kiln_f32_conv)(
          s, in, packed, out, ep, k, tiles * p / parts, tiles * (p + 1) / parts,
          parts > 1 ? panels * q / 2 : 0, parts > 1 ? panels * (q + 1) / 2 : panels);
  free(packed);
  return out;
}

static void check_case(const struct kiln_ukernel *k, const struct geometry *g, size_t F,
                       int mode, int banded) {
  const struct kiln_f32_conv_shape s = shape_of(g, F);
  const size_t C = g->c, nin = g->h * g->w * C, nw = g->kh * g->kw * C * F;
  float *in = malloc(sizeof(float) * nin), *w = malloc(sizeof(float) * nw);
  float *bias = malloc(sizeof(float) * F);
  const size_t ldr = F + 3; /* residual stride */
  float *res = malloc(sizeof(float) * s.out_h * s.out_w * ldr);
  for (size_t i = 0; i < nin; i++)
    in[i] = rnd();
  for (size_t i = 0; i < nw; i++)
    w[i] = rnd();
  for (size_t i = 0; i < F; i++)
    bias[i] = rnd();
  for (size_t i = 0; i < s.out_h * s.out_w * ldr; i++)
    res[i] = rnd();
  const struct kiln_f32_epilogue ep = {.bias = mode & MODE_BIAS ? bias : NULL,
                                       .min = mode & MODE_CLAMP ? -0.5f : -INFINITY,
                                       .max = mode & MODE_CLAMP ? 0.75f : INFINITY,
                                       .residual = mode & MODE_RES ? res : NULL,
                                       .residual_stride = ldr};
  const size_t n = s.out_h * s.out_w * F;
  float *out = run(k, &s, in, w, &ep, 1, banded);
  float *want_f = k->isa == KILN_ISA_PORTABLE || banded ? NULL : run(portable(), &s, in, w, &ep, 1, 0);
  int bad = 0;
  const double K = (double)(g->kh * g->kw * C);
  for (size_t oh = 0; oh < s.out_h; oh++)
    for (size_t ow = 0; ow < s.out_w; ow++)
      for (size_t f = 0; f < F; f++) {
        double ref = ep.bias ? bias[f] : 0, mag = fabs(ref);
        for (size_t kh = 0; kh < g->kh; kh++)
          for (size_t kw = 0; kw < g->kw; kw++) {
            const long ih = (long)(oh * g->sh + kh * g->dh) - (long)g->pt;
            const long iw = (long)(ow * g->sw + kw * g->dw) - (long)g->pl;
            if (ih < 0 || ih >= (long)g->h || iw < 0 || iw >= (long)g->w)
              continue;
            for (size_t c = 0; c < C; c++) {
              const double p = (double)in[((size_t)ih * g->w + (size_t)iw) * C + c] *
                               w[((kh * g->kw + kw) * C + c) * F + f];
              ref += p, mag += fabs(p);
            }
          }
        if (mode & MODE_RES) {
          const double r = res[(oh * s.out_w + ow) * ldr + f];
          ref += r, mag += fabs(r);
        }
        if (mode & MODE_CLAMP)
          ref = ref < -0.5 ? -0.5 : ref > 0.75 ? 0.75 : ref;
        const size_t o = (oh * s.out_w + ow) * F + f;
        const double want = want_f ? want_f[o] : ref;
        const double tol = (want_f ? 4.0 : 2.0) * (K + 2) * FLT_EPSILON * mag + 1e-30;
        if (!(fabs(out[o] - want) <= tol) && bad++ < 3)
          fprintf(stderr,
                  "%s%s vs %s %zux%zux%zu k%zux%zu s%zu,%zu d%zu,%zu p%zu,%zu,%zu,%zu F=%zu "
                  "mode=%d: out[%zu][%zu][%zu] = %.9g, expected %.9g (tol %.3g)\n",
                  k->name, banded ? " banded" : "", want_f ? "portable" : "double reference", g->h, g->w, C, g->kh,
                  g->kw, g->sh, g->sw, g->dh, g->dw, g->pt, g->pb, g->pl, g->pr, F, mode, oh,
                  ow, f, out[o], want, tol);
      }
  for (size_t i = n; i < n + TAIL; i++)
    if (out[i] != SENTINEL && bad++ < 3)
      fprintf(stderr, "%s %zux%zux%zu F=%zu: wrote past the output\n", k->name, g->h, g->w,
              C, F);
  float *split = run(k, &s, in, w, &ep, 3, banded);
  if (memcmp(out, split, sizeof(float) * (n + TAIL)) && bad++ < 3)
    fprintf(stderr, "%s %zux%zux%zu F=%zu: tile range split in 3 differs\n", k->name, g->h,
            g->w, C, F);
  check_count++;
  check_failures += bad != 0;
  free(in), free(w), free(bias), free(res), free(out), free(want_f), free(split);
}

static void test_variant(const struct kiln_ukernel *k) {
  if (!kiln_isa_is_usable(k->isa)) {
    printf("  %s: skipped: CPU lacks %s\n", k->name, kiln_isa_name(k->isa));
    return;
  }
  const size_t mr = k->mr, nr = k->nr;
  const size_t Ms[] = {mr, 2 * mr, 1, mr - 1, mr + 1, 2 * mr + mr / 2};
  const size_t Fs[] = {nr, 2 * nr, 1, nr - 1, nr + 1, 3 * nr + nr / 2};
  const int before = check_failures;
  int mode = 0, cases = 0;
  for (size_t a = 0; a < sizeof Ms / sizeof Ms[0]; a++)
    for (size_t b = 0; b < sizeof Fs / sizeof Fs[0]; b++) {
      if (!Ms[a] || !Fs[b])
        continue;
      /* One output row of M pixels, and M pixels wrapped over rows of 3 (M % 3 == 0) or
       * of M (else: then it is a 2-row image of M-pixel rows). */
      const struct geometry row = {1, Ms[a], 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
      const size_t w3 = Ms[a] % 3 == 0 ? 3 : Ms[a], h3 = Ms[a] % 3 == 0 ? Ms[a] / 3 : 2;
      const struct geometry rows = {h3, w3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
      check_case(k, &row, Fs[b], mode, 0);
      mode = (mode + 1) & MODE_ALL, cases++;
      check_case(k, &rows, Fs[b], mode, 0);
      mode = (mode + 1) & MODE_ALL, cases++;
    }
  for (size_t g = 0; g < N_FIXED; g++)
    for (size_t b = 0; b < 3; b++) { /* F = nr, 2nr, 1 */
      check_case(k, &fixed_geometries[g], Fs[b], mode, 0);
      const struct kiln_f32_conv_shape s = shape_of(&fixed_geometries[g], Fs[b]);
      if (kiln_f32_conv_banded_supports(&s)) /* the banded form: no residual */
        check_case(k, &fixed_geometries[g], Fs[b], mode & ~MODE_RES, 1), cases++;
      mode = (mode + 1) & MODE_ALL, cases++;
    }
  for (int m = 0; m <= MODE_ALL; m++, cases++)
    check_case(k, &fixed_geometries[0], nr + 1, m, 0);
  printf("  %s (%ux%u): %d cases, %s\n", k->name, k->mr, k->nr, cases,
         check_failures == before ? "ok" : "FAILED");
}

int main(void) {
  CHECK_EQ_I(56, kiln_conv_out_size(56, 1, 1, 3, 1, 1));
  CHECK_EQ_I(112, kiln_conv_out_size(224, 3, 3, 7, 2, 1));
  CHECK_EQ_I(33, kiln_conv_out_size(33, 12, 12, 3, 1, 12));
  CHECK_EQ_I(0, kiln_conv_out_size(2, 0, 0, 3, 1, 1));
  const struct kiln_ukernel *best = kiln_ukernel_select(KILN_UKERNEL_OP_f32_conv);
  CHECK(best && best->isa == kiln_cpu_features()->isa);
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++)
    if (kiln_ukernels[v].op == KILN_UKERNEL_OP_f32_conv)
      test_variant(&kiln_ukernels[v]);
  return check_report("test_ukernel_conv");
}
