/* test_ukernel_pool.c — every f32_pool variant in kernels.def, through the driver
 * kiln_f32_pool: max, average with and without count_include_pad, with channel counts
 * derived from the variant's channel step nr (style.md item 5): nr (eq), 2nr (div), 1,
 * nr-1 (lt: masked channels), nr+1, 3nr+nr/2 (gt); over windows 2x2/2, 3x3/2 padded
 * (ResNet), 3x3/1 'same', asymmetric padding and stride, padding larger than half the
 * window (windows with no input element: output 0), a window overhanging the bottom/
 * right pad (ceil mode: count_include_pad counts only up to the pad), and global pooling
 * (7x7 and 12x11: 132 taps, split over calls); C = 1100 (two channel blocks). Inputs are
 * all negative on some cases, so a max that let padding in as 0 would show. Rows are
 * computed in two calls (row ranges, as threads split them); a sentinel after the output
 * catches overruns.
 *
 * Oracles: portable against a double reference; other variants against portable. Max
 * is exact. Average: n values summed in float, then one multiply by 1/count: within
 * (n+2) * FLT_EPSILON * mean|x| (2x the gamma bound), twice that between two kernels. */
#include "backend/cpu/ukernel/ukernel.h"
#include "check.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0xda3e39cb94b95bdbull;
static float rnd(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

struct geometry {
  size_t h, w, kh, kw, sh, sw, pt, pb, pl, pr;
};
static const struct geometry geometries[] = {
    {6, 8, 2, 2, 2, 2, 0, 0, 0, 0},     /* 2x2/2 */
    {9, 9, 3, 3, 2, 2, 1, 1, 1, 1},     /* 3x3/2 pad 1 (ResNet) */
    {5, 6, 3, 3, 1, 1, 1, 1, 1, 1},     /* 3x3/1 'same' */
    {7, 5, 3, 2, 3, 1, 2, 0, 0, 1},     /* asymmetric */
    {2, 3, 3, 3, 1, 1, 2, 2, 2, 2},     /* pad 2 on a 3x3 window: empty windows */
    {7, 7, 3, 3, 2, 2, 0, 1, 0, 1},     /* ceil mode: the last window overhangs the pad */
    {7, 7, 7, 7, 1, 1, 0, 0, 0, 0},     /* global 7x7 */
    {12, 11, 12, 11, 1, 1, 0, 0, 0, 0}, /* global 12x11: 132 taps */
};
enum { N_GEOM = sizeof geometries / sizeof geometries[0] };
#define SENTINEL 12345.0f
#define TAIL 40

static size_t out_size(size_t in, size_t pb, size_t pe, size_t k, size_t s) {
  return kiln_conv_out_size(in, pb, pe, k, s, 1);
}

static float *run(const struct kiln_ukernel *k, const struct kiln_f32_pool_shape *s, int kind,
                  int cip, const float *in) {
  const size_t n = s->out_h * s->out_w * s->channels;
  float *out = malloc(sizeof(float) * (n + TAIL));
  for (size_t i = 0; i < n + TAIL; i++)
    out[i] = SENTINEL;
  kiln_f32_pool(s, kind, cip, in, out, k, 0, s->out_h / 2);
  kiln_f32_pool(s, kind, cip, in, out, k, s->out_h / 2, s->out_h);
  return out;
}

/* kind 0 max, 1 avg excluding pad, 2 avg including pad. */
static void check_case(const struct kiln_ukernel *k, const struct geometry *g, size_t C,
                       int variant, int negative) {
  const int kind = variant == 0 ? KILN_POOL_MAX : KILN_POOL_AVG, cip = variant == 2;
  struct kiln_f32_pool_shape s = {
      .in_h = g->h, .in_w = g->w, .channels = C, .kh = g->kh, .kw = g->kw,
      .out_h = out_size(g->h, g->pt, g->pb, g->kh, g->sh),
      .out_w = out_size(g->w, g->pl, g->pr, g->kw, g->sw),
      .stride_h = g->sh, .stride_w = g->sw, .pad_top = g->pt, .pad_left = g->pl,
      .pad_bottom = g->pb, .pad_right = g->pr};
  if (g == &geometries[5]) /* ceil mode: one more output than floor mode */
    s.out_h++, s.out_w++;
  float *in = malloc(sizeof(float) * g->h * g->w * C);
  for (size_t i = 0; i < g->h * g->w * C; i++)
    in[i] = negative ? -1.5f + 0.5f * rnd() : rnd();
  float *out = run(k, &s, kind, cip, in);
  const struct kiln_ukernel *ref_k = kiln_ukernel_select_isa(k->op, KILN_ISA_PORTABLE);
  float *want_f = k->isa == KILN_ISA_PORTABLE ? NULL : run(ref_k, &s, kind, cip, in);
  int bad = 0;
  for (size_t oh = 0; oh < s.out_h; oh++)
    for (size_t ow = 0; ow < s.out_w; ow++)
      for (size_t c = 0; c < C; c++) {
        const long hs = (long)(oh * g->sh) - (long)g->pt, ws = (long)(ow * g->sw) - (long)g->pl;
        double sum = 0, mag = 0, mx = -INFINITY;
        long n = 0;
        for (long ih = hs; ih < hs + (long)g->kh; ih++)
          for (long iw = ws; iw < ws + (long)g->kw; iw++) {
            if (ih < 0 || ih >= (long)g->h || iw < 0 || iw >= (long)g->w)
              continue;
            const double x = in[((size_t)ih * g->w + (size_t)iw) * C + c];
            sum += x, mag += fabs(x), n++;
            mx = x > mx ? x : mx;
          }
        /* count_include_pad: the window clipped to the padded input (ONNX Runtime). */
        const long he = hs + (long)g->kh < (long)(g->h + g->pb) ? hs + (long)g->kh : (long)(g->h + g->pb);
        const long we = ws + (long)g->kw < (long)(g->w + g->pr) ? ws + (long)g->kw : (long)(g->w + g->pr);
        const long count = cip ? (he - hs) * (we - ws) : n;
        double ref = kind == KILN_POOL_MAX ? mx : sum / (double)count;
        if (n == 0)
          ref = 0, mag = 0;
        const size_t o = (oh * s.out_w + ow) * C + c;
        const double want = want_f ? want_f[o] : ref;
        const double tol = kind == KILN_POOL_MAX
                               ? 0
                               : (want_f ? 4.0 : 2.0) * (double)(n + 2) * FLT_EPSILON * mag /
                                         (double)(count ? count : 1) + 1e-30;
        if (!(fabs(out[o] - want) <= tol) && bad++ < 3)
          fprintf(stderr,
                  "%s vs %s %s%s %zux%zu k%zux%zu s%zu,%zu p%zu,%zu,%zu,%zu C=%zu: "
                  "out[%zu][%zu][%zu] = %.9g, expected %.9g (tol %.3g)\n",
                  k->name, want_f ? "portable" : "double reference",
                  kind == KILN_POOL_MAX ? "max" : "avg", cip ? " count_include_pad" : "", g->h,
                  g->w, g->kh, g->kw, g->sh, g->sw, g->pt, g->pb, g->pl, g->pr, C, oh, ow, c,
                  out[o], want, tol);
      }
  const size_t n = s.out_h * s.out_w * C;
  for (size_t i = n; i < n + TAIL; i++)
    if (out[i] != SENTINEL && bad++ < 3)
      fprintf(stderr, "%s %zux%zu k%zux%zu C=%zu: wrote past the output\n", k->name, g->h,
              g->w, g->kh, g->kw, C);
  check_count++;
  check_failures += bad != 0;
  free(in), free(out), free(want_f);
}

static void test_variant(const struct kiln_ukernel *k) {
  if (!kiln_isa_is_usable(k->isa)) {
    printf("  %s: skipped: CPU lacks %s\n", k->name, kiln_isa_name(k->isa));
    return;
  }
  const size_t nr = k->nr;
  const size_t Cs[] = {nr, 2 * nr, 1, nr - 1, nr + 1, 3 * nr + nr / 2};
  const int before = check_failures;
  int cases = 0, neg = 0;
  for (size_t c = 0; c < sizeof Cs / sizeof Cs[0]; c++)
    for (size_t g = 0; g < N_GEOM; g++)
      for (int v = 0; v < 3; v++) {
        if (!Cs[c])
          continue;
        check_case(k, &geometries[g], Cs[c], v, neg);
        neg ^= 1, cases++;
      }
  for (int v = 0; v < 3; v++, cases += 2) { /* two channel blocks */
    check_case(k, &geometries[1], 1100, v, 1);
    check_case(k, &geometries[7], 1100, v, 0);
  }
  printf("  %s (channels %u): %d cases, %s\n", k->name, k->nr, cases,
         check_failures == before ? "ok" : "FAILED");
}

int main(void) {
  const struct kiln_ukernel *best = kiln_ukernel_select(KILN_UKERNEL_OP_f32_pool);
  CHECK(best && best->isa == kiln_cpu_features()->isa);
  /* A 2x2 max pool of negative values next to the padding stays negative. */
  const float in[4] = {-4, -3, -2, -1};
  float out[4];
  const struct kiln_f32_pool_shape s = {.in_h = 2, .in_w = 2, .channels = 1, .out_h = 2,
                                        .out_w = 2, .kh = 2, .kw = 2, .stride_h = 1,
                                        .stride_w = 1, .pad_top = 1, .pad_left = 1};
  kiln_f32_pool(&s, KILN_POOL_MAX, 0, in, out, best, 0, 2);
  CHECK(out[0] == -4 && out[1] == -3 && out[2] == -2 && out[3] == -1);
  kiln_f32_pool(&s, KILN_POOL_AVG, 1, in, out, best, 0, 2);
  CHECK_NEAR(-1.0, out[0], 1e-6); /* -4 / 4 */
  kiln_f32_pool(&s, KILN_POOL_AVG, 0, in, out, best, 0, 2);
  CHECK_NEAR(-3.5, out[1], 1e-6); /* (-4 - 3) / 2 */
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++)
    if (kiln_ukernels[v].op == KILN_UKERNEL_OP_f32_pool)
      test_variant(&kiln_ukernels[v]);
  return check_report("test_ukernel_pool");
}
