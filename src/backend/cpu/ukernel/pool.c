/* pool.c — the NHWC pooling driver: tap pointer lists for runs of output pixels, as the
 * general depthwise driver. Kernel rows in the padding are left out of the list; a
 * padding column points at the zero buffer (average) or at another element of the same
 * window (max: a duplicate does not change the maximum, and padding must not count). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>

enum {
  PTRS_MAX = 1024, /* tap pointers per microkernel call (8 KiB of stack) */
  TAPS_MAX = 64,   /* taps per pixel per call; larger windows (global pooling) split */
};

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static ptrdiff_t max_pd(ptrdiff_t a, ptrdiff_t b) { return a > b ? a : b; }
static ptrdiff_t min_pd(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }

void kiln_f32_pool(const struct kiln_f32_pool_shape *s, int kind, int count_include_pad,
                   const float *in, float *out, const struct kiln_ukernel *kernel,
                   size_t row_begin, size_t row_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_pool);
  assert(s && in && out && row_end <= s->out_h && s->channels >= 1);
  assert(s->kh >= 1 && s->kw >= 1 && s->stride_h >= 1 && s->stride_w >= 1);
  assert(kind == KILN_POOL_MAX || kind == KILN_POOL_AVG);
  const size_t C = s->channels;
  const ptrdiff_t H = (ptrdiff_t)s->in_h, W = (ptrdiff_t)s->in_w;
  const float *ip[PTRS_MAX];
  float scale[PTRS_MAX];
  const float *tap_row[TAPS_MAX]; /* per tap of a chunk: input row (at channel c0) */
  ptrdiff_t tap_kw[TAPS_MAX];     /* and column offset in the window */
  for (size_t oh = row_begin; oh < row_end; oh++) {
    float *orow = out + oh * s->out_w * C;
    /* Window rows [hs, he) in input coordinates; [h_lo, h_hi) of them inside. */
    const ptrdiff_t hs = (ptrdiff_t)(oh * s->stride_h) - (ptrdiff_t)s->pad_top;
    const ptrdiff_t he = hs + (ptrdiff_t)s->kh;
    const ptrdiff_t h_lo = max_pd(hs, 0), h_hi = min_pd(he, H);
    const size_t rows = h_hi > h_lo ? (size_t)(h_hi - h_lo) : 0;
    const size_t ks = rows * s->kw; /* taps (row-major over the inside rows x all kw) */
    /* ONNX Runtime's count_include_pad divisor: the window clipped to the padded input. */
    const ptrdiff_t h_cnt = count_include_pad
                                ? min_pd(he, H + (ptrdiff_t)s->pad_bottom) - hs
                                : (ptrdiff_t)rows;
    for (size_t c0 = 0; c0 < C; c0 += KILN_F32_ZERO_FLOATS) {
      const size_t cc = min_size(KILN_F32_ZERO_FLOATS, C - c0);
      if (ks == 0) { /* the whole window row lies in the padding: 0 (see ukernel.h) */
        for (size_t ow = 0; ow < s->out_w; ow++)
          for (size_t c = 0; c < cc; c++)
            orow[ow * C + c0 + c] = 0.0f;
        continue;
      }
      for (size_t t0 = 0; t0 < ks; t0 += TAPS_MAX) {
        const size_t t1 = min_size(ks, t0 + TAPS_MAX), n = t1 - t0;
        const uint32_t flags = (t0 > 0 ? KILN_GEMM_ACCUMULATE : 0) |
                               (t1 == ks ? KILN_GEMM_EPILOGUE : 0);
        for (size_t t = t0; t < t1; t++) {
          tap_row[t - t0] = in + (size_t)(h_lo + (ptrdiff_t)(t / s->kw)) * s->in_w * C + c0;
          tap_kw[t - t0] = (ptrdiff_t)(t % s->kw);
        }
        const size_t run = PTRS_MAX / n; /* pixels per call */
        for (size_t ow0 = 0; ow0 < s->out_w; ow0 += run) {
          const size_t pixels = min_size(run, s->out_w - ow0);
          for (size_t p = 0; p < pixels; p++) {
            const ptrdiff_t ws = (ptrdiff_t)((ow0 + p) * s->stride_w) - (ptrdiff_t)s->pad_left;
            const ptrdiff_t we = ws + (ptrdiff_t)s->kw;
            const ptrdiff_t w_lo = max_pd(ws, 0), w_hi = min_pd(we, W);
            const ptrdiff_t w_cnt = count_include_pad
                                        ? min_pd(we, W + (ptrdiff_t)s->pad_right) - ws
                                        : w_hi - w_lo;
            const ptrdiff_t count = w_hi > w_lo ? h_cnt * w_cnt : 0;
            scale[p] = count > 0 ? 1.0f / (float)count : 0.0f;
            /* Padding taps: zeros for the sum; for max the window's first element (if
             * the window has none, zeros: the output is 0). */
            const float *pad = kind == KILN_POOL_AVG || w_hi <= w_lo
                                   ? kiln_f32_zero
                                   : in + ((size_t)h_lo * s->in_w + (size_t)w_lo) * C + c0;
            for (size_t t = 0; t < n; t++) {
              const ptrdiff_t iw = ws + tap_kw[t];
              ip[p * n + t] = iw >= 0 && iw < W ? tap_row[t] + (size_t)iw * C : pad;
            }
          }
          kernel->fn.f32_pool(pixels, cc, n, ip, kind == KILN_POOL_AVG ? scale : NULL,
                              orow + ow0 * C + c0, C, flags);
        }
      }
    }
  }
}
