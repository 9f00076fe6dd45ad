/* test_ukernel_resize.c — every f32_resize variant in kernels.def, through the driver
 * kiln_f32_resize, with channel counts derived from the variant's channel step nr
 * (style.md item 5): nr (eq), 2nr (div), 1, nr-1 (lt: masked channels), nr+1, 3nr+nr/2
 * (gt); upsampling x2 (half_pixel, edge indices clamped), x4 align_corners, a
 * non-integer ratio, downsampling, 1 -> n and n -> 1 along an axis. Tables are built here
 * as a caller would; rows are computed in two calls (row ranges, as threads split them);
 * a sentinel after the output catches overruns. Nearest is checked once (it does not
 * use the kernel).
 *
 * Oracle: the formula of ukernel.h evaluated here in float, one rounding per operation:
 * every variant must give the same bits (tolerance 0), since none may use FMA. A double
 * evaluation is checked too, within 8 FLT_EPSILON * max|x| (a handful of roundings of
 * values no larger than the inputs' magnitude). */
#include "backend/cpu/ukernel/ukernel.h"
#include "check.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x6a09e667f3bcc909ull;
static float rnd(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

#define SENTINEL 12345.0f
#define TAIL 40

struct axis {
  int32_t *i0, *i1;
  float *lambda;
};

/* ONNX linear interpolation tables: half_pixel (align = 0) or align_corners (1). */
static struct axis make_axis(size_t in, size_t out, int align) {
  struct axis a = {malloc(sizeof(int32_t) * out), malloc(sizeof(int32_t) * out),
                   malloc(sizeof(float) * out)};
  for (size_t o = 0; o < out; o++) {
    double x = align ? (out > 1 ? (double)o * (double)(in - 1) / (double)(out - 1) : 0)
                     : ((double)o + 0.5) * (double)in / (double)out - 0.5;
    if (x < 0)
      x = 0;
    if (x > (double)(in - 1))
      x = (double)(in - 1);
    const size_t i0 = (size_t)x, i1 = i0 + 1 < in ? i0 + 1 : i0;
    a.i0[o] = (int32_t)i0, a.i1[o] = (int32_t)i1, a.lambda[o] = (float)(x - (double)i0);
  }
  return a;
}
static void free_axis(struct axis *a) { free(a->i0), free(a->i1), free(a->lambda); }

struct shape {
  size_t ih, iw, oh, ow;
  int align;
};
static const struct shape shapes[] = {
    {5, 6, 10, 12, 0}, /* x2 half_pixel */
    {4, 3, 13, 9, 1},  /* x4 / x3 align_corners */
    {7, 5, 11, 8, 0},  /* non-integer ratio */
    {9, 8, 4, 3, 0},   /* downsampling */
    {1, 6, 5, 1, 0},   /* 1 -> 5 rows, 6 -> 1 column */
};
enum { N_SHAPES = sizeof shapes / sizeof shapes[0] };

static float *run(const struct kiln_ukernel *k, const struct kiln_f32_resize_shape *s,
                  int bilinear, const struct axis *h, const struct axis *w, const float *in) {
  const size_t n = s->out_h * s->out_w * s->channels;
  float *out = malloc(sizeof(float) * (n + TAIL));
  for (size_t i = 0; i < n + TAIL; i++)
    out[i] = SENTINEL;
  const struct kiln_resize_axis_table th = {h->i0, h->i1, h->lambda};
  const struct kiln_resize_axis_table tw = {w->i0, w->i1, w->lambda};
  kiln_f32_resize(s, bilinear, &th, &tw, in, out, k, 0, s->out_h / 2);
  kiln_f32_resize(s, bilinear, &th, &tw, in, out, k, s->out_h / 2, s->out_h);
  return out;
}

static void check_case(const struct kiln_ukernel *k, const struct shape *sh, size_t C,
                       int bilinear) {
  const struct kiln_f32_resize_shape s = {sh->ih, sh->iw, C, sh->oh, sh->ow};
  struct axis h = make_axis(sh->ih, sh->oh, sh->align), w = make_axis(sh->iw, sh->ow, sh->align);
  float *in = malloc(sizeof(float) * sh->ih * sh->iw * C);
  for (size_t i = 0; i < sh->ih * sh->iw * C; i++)
    in[i] = rnd();
  float *out = run(k, &s, bilinear, &h, &w, in);
  int bad = 0;
  for (size_t oh = 0; oh < s.out_h; oh++)
    for (size_t ow = 0; ow < s.out_w; ow++)
      for (size_t c = 0; c < C; c++) {
#define IN(y, x) in[((size_t)(y) * sh->iw + (size_t)(x)) * C + c]
        float want;
        double approx;
        if (bilinear) {
          const float lh = h.lambda[oh], lw = w.lambda[ow];
          const float a = IN(h.i0[oh], w.i0[ow]), b = IN(h.i0[oh], w.i1[ow]);
          const float d = IN(h.i1[oh], w.i0[ow]), e = IN(h.i1[oh], w.i1[ow]);
          const float l1 = 1.0f - lw, lh1 = 1.0f - lh;
          const float a1 = a * l1, b1 = b * lw, d1 = d * l1, e1 = e * lw;
          const float top = a1 + b1, bottom = d1 + e1;
          const float t1 = top * lh1, b2 = bottom * lh;
          want = t1 + b2;
          approx = ((double)a * (1 - (double)lw) + (double)b * lw) * (1 - (double)lh) +
                   ((double)d * (1 - (double)lw) + (double)e * lw) * lh;
        } else {
          want = IN(h.i0[oh], w.i0[ow]);
          approx = want;
        }
#undef IN
        const size_t o = (oh * s.out_w + ow) * C + c;
        if ((out[o] != want || !(fabs(out[o] - approx) <= 8 * FLT_EPSILON)) && bad++ < 3)
          fprintf(stderr,
                  "%s %s %zux%zu -> %zux%zu C=%zu: out[%zu][%zu][%zu] = %.9g, expected %.9g "
                  "(double %.9g)\n",
                  k ? k->name : "-", bilinear ? "bilinear" : "nearest", sh->ih, sh->iw, sh->oh,
                  sh->ow, C, oh, ow, c, out[o], want, approx);
      }
  const size_t n = s.out_h * s.out_w * C;
  for (size_t i = n; i < n + TAIL; i++)
    if (out[i] != SENTINEL && bad++ < 3)
      fprintf(stderr, "%s %zux%zu -> %zux%zu C=%zu: wrote past the output\n",
              k ? k->name : "-", sh->ih, sh->iw, sh->oh, sh->ow, C);
  check_count++;
  check_failures += bad != 0;
  free(in), free(out), free_axis(&h), free_axis(&w);
}

static void test_variant(const struct kiln_ukernel *k) {
  if (!kiln_isa_is_usable(k->isa)) {
    printf("  %s: skipped: CPU lacks %s\n", k->name, kiln_isa_name(k->isa));
    return;
  }
  const size_t nr = k->nr;
  const size_t Cs[] = {nr, 2 * nr, 1, nr - 1, nr + 1, 3 * nr + nr / 2};
  const int before = check_failures;
  int cases = 0;
  for (size_t c = 0; c < sizeof Cs / sizeof Cs[0]; c++)
    for (size_t i = 0; i < N_SHAPES; i++, cases++)
      if (Cs[c])
        check_case(k, &shapes[i], Cs[c], 1);
  printf("  %s (channels %u): %d cases, %s\n", k->name, k->nr, cases,
         check_failures == before ? "ok" : "FAILED");
}

int main(void) {
  const struct kiln_ukernel *best = kiln_ukernel_select(KILN_UKERNEL_OP_f32_resize);
  CHECK(best && best->isa == kiln_cpu_features()->isa);
  for (size_t i = 0; i < N_SHAPES; i++) { /* nearest: copies, no kernel */
    check_case(NULL, &shapes[i], 1, 0);
    check_case(NULL, &shapes[i], 7, 0);
  }
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++)
    if (kiln_ukernels[v].op == KILN_UKERNEL_OP_f32_resize)
      test_variant(&kiln_ukernels[v]);
  return check_report("test_ukernel_resize");
}
