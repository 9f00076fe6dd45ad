/* conv.c — the direct NHWC convolution driver (indirect GEMM): a tile is MR consecutive
 * output pixels x NR output channels; for each kernel tap the driver hands the
 * microkernel one input-pixel pointer per tile row (the zero buffer where the tap lands
 * in the padding) and the tap's rows of the packed weights. No im2col buffer: the
 * microkernel reads the activations in place.
 *
 * Loop order: channel panel, input-channel block, pixel tile, so the weights of one
 * (panel, block) -- all taps -- stay in L2 across the pixel tiles of the range. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <math.h>
#include <string.h>

const float kiln_f32_zero[KILN_F32_ZERO_FLOATS];

enum {
  L2_W_BYTES = 192 * 1024, /* weights of one (panel, channel block) over all taps */
  TAPS_MAX = 64,           /* taps per microkernel call; more are split over calls */
  MR_MAX = 16,             /* largest conv mr in kernels.def */
  IM2COL_C_MAX = 8,        /* input channels up to which a tile gathers its im2col rows */
  IM2COL_K_MAX = 256,      /*   when kh*kw*C is at most this (gather_rows) */
};

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* L2_W_BYTES, or 3/8 of a smaller L2 (kiln_cache_budget). */
static size_t w_budget(void) { return kiln_cache_budget(L2_W_BYTES, 2, 3, 8); }
static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

size_t kiln_f32_conv_packed_w_size(const struct kiln_f32_conv_shape *s,
                                   const struct kiln_ukernel *kernel) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_conv);
  return kiln_f32_gemm_packed_b_size(s->kh * s->kw * s->in_c, s->out_c, kernel->nr);
}

void kiln_f32_conv_pack_w(const struct kiln_f32_conv_shape *s, const float *w_hwcf,
                          float *packed, const struct kiln_ukernel *kernel) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_conv);
  /* hwcf is a [kh*kw*C][F] matrix whose rows are ordered (kh, kw, c): GEMM's B. */
  kiln_f32_gemm_pack_b(s->kh * s->kw * s->in_c, s->out_c, kernel->nr, w_hwcf, s->out_c,
                       packed);
}

size_t kiln_f32_conv_pixel_tiles(const struct kiln_f32_conv_shape *s,
                                 const struct kiln_ukernel *kernel) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_conv);
  return (s->out_h * s->out_w + kernel->mr - 1) / kernel->mr;
}

/* One tile (pixels [p0, p0+mcur), the panel at w_panel) over input channels
 * [c0, c0+kc): builds the tap pointers and calls the microkernel, in groups of
 * TAPS_MAX taps. first: no earlier call wrote the tile; last: apply the epilogue. */
static void conv_tile(const struct kiln_f32_conv_shape *s, const float *in,
                      const float *w_panel, float *c, size_t p0, size_t mcur, size_t ncur,
                      size_t c0, size_t kc, int first, int last, int need_ep,
                      uint32_t prefetch, const struct kiln_f32_epilogue *ep,
                      const struct kiln_ukernel *kernel) {
  const size_t mr = kernel->mr, C = s->in_c;
  const size_t M = s->out_h * s->out_w;
  /* Top-left input coordinate of each row's window (rows past mcur repeat the last). */
  ptrdiff_t ih0[MR_MAX], iw0[MR_MAX];
  for (size_t r = 0; r < mr; r++) {
    const size_t p = min_size(p0 + r, M - 1), oh = p / s->out_w, ow = p % s->out_w;
    ih0[r] = (ptrdiff_t)(oh * s->stride_h) - (ptrdiff_t)s->pad_top;
    iw0[r] = (ptrdiff_t)(ow * s->stride_w) - (ptrdiff_t)s->pad_left;
  }
  /* Small C (a stem conv has C = 3): taps along a kernel row read consecutive pixels,
   * and their weight rows (kw, c) are consecutive in the panel, so when the tile's whole
   * kernel rows lie inside the image horizontally, one tap of kw*C channels replaces kw
   * taps of C: longer microkernel loops, fewer pointers. */
  size_t kw_step = 1, kc_tap = kc;
  if (s->dilation_w == 1 && kc == C && s->kw * C <= KILN_F32_ZERO_FLOATS && s->kw > 1) {
    int inside = 1;
    for (size_t r = 0; r < mr; r++)
      inside &= iw0[r] >= 0 && iw0[r] + (ptrdiff_t)s->kw <= (ptrdiff_t)s->in_w;
    if (inside)
      kw_step = s->kw, kc_tap = s->kw * C;
  }
  const float *a[TAPS_MAX * MR_MAX], *w[TAPS_MAX];
  size_t n = 0; /* taps gathered, not yet passed to the microkernel */
  uint32_t flags = (first ? 0 : KILN_GEMM_ACCUMULATE) | prefetch;
  for (size_t kh = 0; kh < s->kh; kh++) {
    for (size_t kw = 0; kw < s->kw; kw += kw_step) {
      const ptrdiff_t dh = (ptrdiff_t)(kh * s->dilation_h), dw = (ptrdiff_t)(kw * s->dilation_w);
      const float **ap = a + n * mr; /* n < TAPS_MAX: a full group was flushed */
      int any = 0;
      for (size_t r = 0; r < mr; r++) {
        const ptrdiff_t ih = ih0[r] + dh, iw = iw0[r] + dw;
        const int inside = ih >= 0 && ih < (ptrdiff_t)s->in_h && iw >= 0 && iw < (ptrdiff_t)s->in_w;
        ap[r] = inside ? in + ((size_t)ih * s->in_w + (size_t)iw) * C + c0 : kiln_f32_zero;
        any |= inside;
      }
      if (!any)
        continue; /* the tap lies in the padding for the whole tile: skip its FLOPs */
      w[n++] = w_panel + ((kh * s->kw + kw) * C + c0) * kernel->nr;
      if (n == TAPS_MAX && (kh + 1 < s->kh || kw + 1 < s->kw)) {
        /* A full group, and more taps may follow. (If all that follow are skipped, the
         * final call below has none: it only applies the epilogue.) */
        kernel->fn.f32_conv(mcur, ncur, kc_tap, n, a, w, c, s->out_c, ep, flags);
        flags = KILN_GEMM_ACCUMULATE | prefetch;
        n = 0;
      }
    }
  }
  if (last && need_ep)
    flags |= KILN_GEMM_EPILOGUE;
  kernel->fn.f32_conv(mcur, ncur, kc_tap, n, a, w, c, s->out_c, ep, flags);
}

/* n floats from src to dst in fixed-size pieces (they compile to moves; the runs are
 * short: a memcpy call costs more than the copy). */
static inline void copy_floats(float *restrict dst, const float *restrict src, size_t n) {
  for (; n >= 8; n -= 8, dst += 8, src += 8) memcpy(dst, src, 8 * sizeof(float));
  if (n >= 4) memcpy(dst, src, 4 * sizeof(float)), n -= 4, dst += 4, src += 4;
  for (; n; n--) *dst++ = *src++;
}

/* Small C (a stem conv: 7x7 taps of C = 3): rows [p0, p0+mcur) of the im2col matrix
 * (K = kh*kw*C per row, in the packed weights' (kh, kw, c) order, zeros in the padding)
 * into buf, for one call of the GEMM microkernel per panel over all of K. Per-tap
 * pointers would make 49 calls of 3 channels each, the pointers costing as much as the
 * FMAs. */
static void gather_rows(const struct kiln_f32_conv_shape *s, const float *in, size_t p0,
                        size_t mcur, float *buf) {
  const size_t C = s->in_c, row_k = s->kw * C, K = s->kh * row_k;
  size_t oh = p0 / s->out_w, ow = p0 % s->out_w;
  for (size_t r = 0; r < mcur; r++, ow = ow + 1 == s->out_w ? 0 : ow + 1, oh += ow == 0) {
    const ptrdiff_t iw0 = (ptrdiff_t)(ow * s->stride_w) - (ptrdiff_t)s->pad_left;
    const int inside_w = s->dilation_w == 1 && iw0 >= 0 && iw0 + (ptrdiff_t)s->kw <= (ptrdiff_t)s->in_w;
    for (size_t kh = 0; kh < s->kh; kh++) {
      const ptrdiff_t ih = (ptrdiff_t)(oh * s->stride_h + kh * s->dilation_h) - (ptrdiff_t)s->pad_top;
      float *dst = buf + r * K + kh * row_k;
      if (ih < 0 || ih >= (ptrdiff_t)s->in_h) {
        memset(dst, 0, row_k * sizeof(float));
        continue;
      }
      const float *src = in + (size_t)ih * s->in_w * C;
      if (inside_w) { /* the kernel row is contiguous in the input */
        copy_floats(dst, src + (size_t)iw0 * C, row_k);
      } else {
        for (size_t kw = 0; kw < s->kw; kw++) {
          const ptrdiff_t iw = iw0 + (ptrdiff_t)(kw * s->dilation_w);
          if (iw >= 0 && iw < (ptrdiff_t)s->in_w) copy_floats(dst + kw * C, src + (size_t)iw * C, C);
          else memset(dst + kw * C, 0, C * sizeof(float));
        }
      }
    }
  }
}

void kiln_f32_conv(const struct kiln_f32_conv_shape *s, const float *in,
                   const float *packed_w, float *out, const struct kiln_f32_epilogue *ep,
                   const struct kiln_ukernel *kernel, size_t tile_begin, size_t tile_end,
                   size_t panel_begin, size_t panel_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_conv && kernel->mr <= MR_MAX);
  assert(s && in && packed_w && out && ep && s->in_c >= 1);
  assert(s->stride_h >= 1 && s->stride_w >= 1 && s->dilation_h >= 1 && s->dilation_w >= 1);
  const size_t mr = kernel->mr, nr = kernel->nr, C = s->in_c, F = s->out_c;
  const size_t M = s->out_h * s->out_w;
  assert(tile_end <= kiln_f32_conv_pixel_tiles(s, kernel) && panel_end <= (F + nr - 1) / nr);
  const int need_ep = ep->bias || ep->residual || ep->min > -INFINITY || ep->max < INFINITY;

  /* Input-channel blocks of balanced size: all taps' weights of a block fit L2_W_BYTES,
   * and a block is at most the zero buffer. */
  const size_t taps = s->kh * s->kw;
  const size_t kc_max = min_size(KILN_F32_ZERO_FLOATS,
                                 max_size(16, w_budget() / (taps * nr * sizeof(float))));
  const size_t c_blocks = (C + kc_max - 1) / kc_max, kc = (C + c_blocks - 1) / c_blocks;
  const struct kiln_ukernel *gemm = kiln_ukernel_select_isa(KILN_UKERNEL_OP_f32_gemm, kernel->isa);
  const int im2col = C <= IM2COL_C_MAX && taps * C <= IM2COL_K_MAX && c_blocks == 1 && gemm &&
                     gemm->mr == mr && gemm->nr == nr;

  /* The epilogue of tile (i, j): bias and residual at its first column / element. */
#define TILE_EP(i, j)                                                                      \
  {.bias = ep->bias ? ep->bias + (j) * nr : NULL, .min = ep->min, .max = ep->max,            \
   .residual = ep->residual ? ep->residual + (i) * mr * ep->residual_stride + (j) * nr : NULL, \
   .residual_stride = ep->residual_stride}
  if (im2col) { /* per pixel tile: one gather, then every panel */
    _Alignas(64) float rows[MR_MAX * IM2COL_K_MAX];
    for (size_t i = tile_begin; i < tile_end; i++) {
      const size_t mcur = min_size(mr, M - i * mr);
      gather_rows(s, in, i * mr, mcur, rows);
      for (size_t j = panel_begin; j < panel_end; j++) {
        const struct kiln_f32_epilogue tile_ep = TILE_EP(i, j);
        gemm->fn.f32_gemm(mcur, min_size(nr, F - j * nr), taps * C, rows, taps * C,
                          packed_w + j * taps * C * nr, out + i * mr * F + j * nr, F, &tile_ep,
                          need_ep ? KILN_GEMM_EPILOGUE : 0);
      }
    }
    return;
  }
  /* The microkernel prefetches the next tap's weights: they come from L3 or memory for a
   * (panel, block)'s first tiles (ResNet50 at 2 threads: 7x7x512 0.78 -> 0.56 ms, 14x14x256
   * 0.53 -> 0.46; neutral on DeepLabV3). */
  const uint32_t prefetch = KILN_GEMM_PREFETCH_B;
  /* Panel, input-channel block, pixel tile: a (panel, block)'s weights stay in L2. */
  for (size_t j = panel_begin; j < panel_end; j++)
    for (size_t c0 = 0; c0 < C; c0 += kc) {
      const size_t kcur = min_size(kc, C - c0);
      for (size_t i = tile_begin; i < tile_end; i++) {
        const struct kiln_f32_epilogue tile_ep = TILE_EP(i, j);
        conv_tile(s, in, packed_w + j * taps * C * nr, out + i * mr * F + j * nr, i * mr,
                  min_size(mr, M - i * mr), min_size(nr, F - j * nr), c0, kcur, c0 == 0,
                  c0 + kcur == C, need_ep, prefetch, &tile_ep, kernel);
      }
    }
#undef TILE_EP
}

/* ---- banded: dilated convs on small maps ----
 * An ASPP conv (3x3, dilation 12-36 on a 33x33 or 65x65 map) has a third to nine tenths of
 * its taps in the padding, but a row-major tile of mr pixels crosses columns with
 * different valid taps, so per-tile skipping leaves most of them. Here the output is cut
 * into rectangles (a band of rows x a band of columns) whose pixels all have the same
 * valid taps, each rectangle's pixels are tiled row-major (a tile may span rows of the
 * rectangle, so it is computed into a small buffer and scattered), and only valid taps
 * are summed: no padding is read at all. */

enum { BAND_TAPS_MAX = 16, BANDS_MAX = 2 * BAND_TAPS_MAX + 1 };

struct band {
  size_t o0, o1, t0, t1; /* outputs [o0, o1) whose valid taps are [t0, t1) */
};

/* The bands of one dim: maximal runs of outputs with the same interval of taps t whose
 * input o*stride - pad + t*dilation lies in [0, in). (The valid taps of an output are an
 * interval, and at most 2k+1 distinct intervals occur.) */
static size_t dim_bands(size_t in, size_t out, size_t k, size_t stride, size_t dil, size_t pad,
                        struct band *b) {
  size_t n = 0;
  for (size_t o = 0; o < out; o++) {
    const ptrdiff_t base = (ptrdiff_t)(o * stride) - (ptrdiff_t)pad;
    size_t t0 = 0, t1 = k;
    while (t0 < k && base + (ptrdiff_t)(t0 * dil) < 0) t0++;
    while (t1 > t0 && base + (ptrdiff_t)((t1 - 1) * dil) >= (ptrdiff_t)in) t1--;
    if (n && b[n - 1].t0 == t0 && b[n - 1].t1 == t1) {
      b[n - 1].o1 = o + 1;
    } else {
      assert(n < BANDS_MAX);
      b[n++] = (struct band){o, o + 1, t0, t1};
    }
  }
  return n;
}

int kiln_f32_conv_banded_supports(const struct kiln_f32_conv_shape *s) {
  return s->kh <= BAND_TAPS_MAX && s->kw <= BAND_TAPS_MAX && s->kh * s->kw <= TAPS_MAX &&
         s->out_h >= 1 && s->out_w >= 1;
}

/* Both dims' bands of s. */
struct bands {
  struct band h[BANDS_MAX], w[BANDS_MAX];
  size_t nh, nw;
};

static void shape_bands(const struct kiln_f32_conv_shape *s, struct bands *b) {
  b->nh = dim_bands(s->in_h, s->out_h, s->kh, s->stride_h, s->dilation_h, s->pad_top, b->h);
  b->nw = dim_bands(s->in_w, s->out_w, s->kw, s->stride_w, s->dilation_w, s->pad_left, b->w);
}

static size_t rect_tiles(const struct band *h, const struct band *w, size_t mr) {
  return ((h->o1 - h->o0) * (w->o1 - w->o0) + mr - 1) / mr;
}

size_t kiln_f32_conv_banded_tiles(const struct kiln_f32_conv_shape *s,
                                  const struct kiln_ukernel *kernel) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_conv && kiln_f32_conv_banded_supports(s));
  struct bands b;
  shape_bands(s, &b);
  size_t n = 0;
  for (size_t i = 0; i < b.nh; i++)
    for (size_t j = 0; j < b.nw; j++) n += rect_tiles(&b.h[i], &b.w[j], kernel->mr);
  return n;
}

double kiln_f32_conv_valid_tap_fraction(const struct kiln_f32_conv_shape *s) {
  struct bands b;
  double h = 0, w = 0;
  if (!kiln_f32_conv_banded_supports(s)) return 1.0; /* not computed */
  shape_bands(s, &b);
  for (size_t i = 0; i < b.nh; i++) h += (double)(b.h[i].o1 - b.h[i].o0) * (double)(b.h[i].t1 - b.h[i].t0);
  for (size_t j = 0; j < b.nw; j++) w += (double)(b.w[j].o1 - b.w[j].o0) * (double)(b.w[j].t1 - b.w[j].t0);
  return h * w / ((double)(s->out_h * s->kh) * (double)(s->out_w * s->kw));
}

/* One tile of rectangle (h, w): its pixels q*mr .. (row-major in the rectangle), one panel,
 * input channels [c0, c0+kc): the valid taps' pointers, the microkernel into buf (its rows
 * gathered from out first when accumulating), then the rows scattered to out. */
static void banded_tile(const struct kiln_f32_conv_shape *s, const float *in, const float *w_panel,
                        float *out, const struct band *h, const struct band *w, size_t q,
                        size_t ncur, size_t c0, size_t kc, uint32_t flags,
                        const struct kiln_f32_epilogue *ep, const struct kiln_ukernel *kernel) {
  const size_t mr = kernel->mr, nr = kernel->nr, C = s->in_c, F = s->out_c;
  const size_t cols = w->o1 - w->o0, first = q * mr;
  const size_t mcur = min_size(mr, (h->o1 - h->o0) * cols - first);
  _Alignas(64) float buf[MR_MAX * 32];
  const float *a[TAPS_MAX * MR_MAX], *wt[TAPS_MAX];
  float *rows[MR_MAX];
  ptrdiff_t ih0[MR_MAX], iw0[MR_MAX];
  assert(nr <= 32);
  for (size_t r = 0; r < mr; r++) {
    const size_t p = first + min_size(r, mcur - 1), oh = h->o0 + p / cols, ow = w->o0 + p % cols;
    ih0[r] = (ptrdiff_t)(oh * s->stride_h) - (ptrdiff_t)s->pad_top;
    iw0[r] = (ptrdiff_t)(ow * s->stride_w) - (ptrdiff_t)s->pad_left;
    rows[r] = out + (oh * s->out_w + ow) * F;
  }
  size_t n = 0;
  for (size_t kh = h->t0; kh < h->t1; kh++)
    for (size_t kw = w->t0; kw < w->t1; kw++, n++) {
      for (size_t r = 0; r < mr; r++) {
        const size_t ih = (size_t)(ih0[r] + (ptrdiff_t)(kh * s->dilation_h));
        const size_t iw = (size_t)(iw0[r] + (ptrdiff_t)(kw * s->dilation_w));
        a[n * mr + r] = in + (ih * s->in_w + iw) * C + c0;
      }
      wt[n] = w_panel + ((kh * s->kw + kw) * C + c0) * nr;
    }
  if (flags & KILN_GEMM_ACCUMULATE)
    for (size_t r = 0; r < mcur; r++) memcpy(buf + r * nr, rows[r], ncur * sizeof(float));
  kernel->fn.f32_conv(mcur, ncur, kc, n, a, wt, buf, nr, ep, flags);
  for (size_t r = 0; r < mcur; r++) memcpy(rows[r], buf + r * nr, ncur * sizeof(float));
}

void kiln_f32_conv_banded(const struct kiln_f32_conv_shape *s, const float *in,
                          const float *packed_w, float *out, const struct kiln_f32_epilogue *ep,
                          const struct kiln_ukernel *kernel, size_t tile_begin, size_t tile_end,
                          size_t panel_begin, size_t panel_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_conv && kernel->mr <= MR_MAX);
  assert(s && in && packed_w && out && ep && !ep->residual && kiln_f32_conv_banded_supports(s));
  const size_t mr = kernel->mr, nr = kernel->nr, C = s->in_c, F = s->out_c, taps = s->kh * s->kw;
  const int need_ep = ep->bias || ep->min > -INFINITY || ep->max < INFINITY;
  /* Input-channel blocks as kiln_f32_conv. */
  const size_t kc_max = min_size(KILN_F32_ZERO_FLOATS,
                                 max_size(16, w_budget() / (taps * nr * sizeof(float))));
  const size_t c_blocks = (C + kc_max - 1) / kc_max, kc = (C + c_blocks - 1) / c_blocks;
  struct bands b;
  shape_bands(s, &b);
  for (size_t j = panel_begin; j < panel_end; j++) {
    const struct kiln_f32_epilogue tile_ep = {.bias = ep->bias ? ep->bias + j * nr : NULL,
                                              .min = ep->min, .max = ep->max};
    for (size_t c0 = 0; c0 < C; c0 += kc) {
      const size_t kcur = min_size(kc, C - c0);
      const uint32_t flags = (c0 ? KILN_GEMM_ACCUMULATE : 0) |
                             (c0 + kcur == C && need_ep ? KILN_GEMM_EPILOGUE : 0);
      size_t t = 0; /* index of the rectangle's first tile */
      for (size_t hb = 0; hb < b.nh; hb++)
        for (size_t wb = 0; wb < b.nw; wb++) {
          const size_t n = rect_tiles(&b.h[hb], &b.w[wb], mr);
          for (size_t q = max_size(tile_begin, t); q < min_size(tile_end, t + n); q++)
            banded_tile(s, in, packed_w + j * taps * C * nr, out + j * nr, &b.h[hb], &b.w[wb],
                        q - t, min_size(nr, F - j * nr), c0, kcur, flags, &tile_ep, kernel);
          t += n;
        }
    }
  }
}
