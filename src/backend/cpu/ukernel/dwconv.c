/* dwconv.c — the depthwise NHWC drivers: 3x3 (one microkernel call per output row) and
 * any KHxKW (tap pointer lists for runs of output pixels). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <math.h>

enum {
  PTRS_MAX = 1024, /* tap pointers per general microkernel call (8 KiB of stack) */
  TAPS_MAX = 64,   /* taps per pixel per call; larger windows are split over calls */
};

size_t kiln_conv_out_size(size_t in, size_t pad_begin, size_t pad_end, size_t kernel,
                          size_t stride, size_t dilation) {
  const size_t padded = in + pad_begin + pad_end, window = dilation * (kernel - 1) + 1;
  return kernel == 0 || padded < window ? 0 : (padded - window) / stride + 1;
}

size_t kiln_dwconv3x3_out_size(size_t in, size_t pad_begin, size_t pad_end, size_t stride,
                               size_t dilation) {
  const size_t padded = in + pad_begin + pad_end, window = dilation * 2 + 1;
  return padded < window ? 0 : (padded - window) / stride + 1;
}

void kiln_f32_dwconv3x3(const struct kiln_f32_dwconv_shape *s, const float *in,
                        const float *w, float *out, const struct kiln_f32_epilogue *ep,
                        const struct kiln_ukernel *kernel, size_t row_begin, size_t row_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_dwconv3x3);
  assert(s && in && w && out && ep && !ep->residual && row_end <= s->out_h);
  assert(s->stride_h >= 1 && s->stride_w >= 1 && s->dilation_h >= 1 && s->dilation_w >= 1);
  struct kiln_f32_dwconv_row row = {
      .in_width = s->in_w,
      .out_width = s->out_w,
      .channels = s->channels,
      .stride_w = s->stride_w,
      .dilation_w = s->dilation_w,
      .pad_left = s->pad_left,
  };
  const size_t row_floats = s->in_w * s->channels;
  for (size_t oh = row_begin; oh < row_end; oh++) {
    for (size_t kh = 0; kh < 3; kh++) {
      const size_t ih = oh * s->stride_h + kh * s->dilation_h; /* + pad_top */
      row.rows[kh] = ih >= s->pad_top && ih - s->pad_top < s->in_h
                         ? in + (ih - s->pad_top) * row_floats
                         : NULL;
    }
    kernel->fn.f32_dwconv3x3(&row, w, out + oh * s->out_w * s->channels, ep);
  }
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

void kiln_f32_dwconv(const struct kiln_f32_dwconv2d_shape *s, const float *in,
                     const float *w, float *out, const struct kiln_f32_epilogue *ep,
                     const struct kiln_ukernel *kernel, size_t row_begin, size_t row_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_dwconv);
  assert(s && in && w && out && ep && !ep->residual && row_end <= s->out_h && s->channels >= 1);
  assert(s->stride_h >= 1 && s->stride_w >= 1 && s->dilation_h >= 1 && s->dilation_w >= 1);
  const size_t C = s->channels;
  const int need_ep = ep->bias || ep->min > -INFINITY || ep->max < INFINITY;
  const float *ip[PTRS_MAX], *wp[TAPS_MAX];
  /* Per tap of the current chunk: its input row (offset to channel c0) and column offset. */
  const float *tap_row[TAPS_MAX];
  ptrdiff_t tap_dw[TAPS_MAX];
  for (size_t oh = row_begin; oh < row_end; oh++) {
    float *orow = out + oh * s->out_w * C;
    /* Taps: the kernel rows inside the image (a row in the padding is skipped) x all kw.
     * Chunks of at most TAPS_MAX taps, whole rows each unless a row alone is wider. */
    size_t kh_first = 0, kh_valid = 0;
    const ptrdiff_t ih0 = (ptrdiff_t)(oh * s->stride_h) - (ptrdiff_t)s->pad_top;
    for (size_t kh = 0; kh < s->kh; kh++) {
      const ptrdiff_t ih = ih0 + (ptrdiff_t)(kh * s->dilation_h);
      if (ih >= 0 && ih < (ptrdiff_t)s->in_h)
        kh_valid++;
      else if (!kh_valid)
        kh_first = kh + 1;
    }
    /* Valid rows are contiguous: [kh_first, kh_first + kh_valid). Taps (kh, kw) are
     * numbered t = (kh - kh_first) * kw + kw over them. */
    const size_t ks = kh_valid * s->kw;
    for (size_t c0 = 0; c0 < C; c0 += KILN_F32_ZERO_FLOATS) {
      const size_t cc = min_size(KILN_F32_ZERO_FLOATS, C - c0);
      const struct kiln_f32_epilogue cep = {
          .bias = ep->bias ? ep->bias + c0 : NULL, .min = ep->min, .max = ep->max};
      size_t t0 = 0;
      do { /* one chunk of taps [t0, t1), at least one call even when ks == 0 */
        const size_t t1 = min_size(ks, t0 + TAPS_MAX), n = t1 - t0;
        const uint32_t flags = (t0 > 0 ? KILN_GEMM_ACCUMULATE : 0) |
                               (t1 == ks && need_ep ? KILN_GEMM_EPILOGUE : 0);
        for (size_t t = t0; t < t1; t++) {
          const size_t kh = kh_first + t / s->kw, kw = t % s->kw;
          const size_t ih = (size_t)(ih0 + (ptrdiff_t)(kh * s->dilation_h));
          wp[t - t0] = w + (kh * s->kw + kw) * C + c0;
          tap_row[t - t0] = in + ih * s->in_w * C + c0;
          tap_dw[t - t0] = (ptrdiff_t)(kw * s->dilation_w);
        }
        const size_t run = n ? PTRS_MAX / n : s->out_w; /* pixels per call */
        for (size_t ow0 = 0; ow0 < s->out_w; ow0 += run) {
          const size_t pixels = min_size(run, s->out_w - ow0);
          for (size_t p = 0; p < pixels; p++) {
            const ptrdiff_t iw0 = (ptrdiff_t)((ow0 + p) * s->stride_w) - (ptrdiff_t)s->pad_left;
            for (size_t t = 0; t < n; t++) {
              const ptrdiff_t iw = iw0 + tap_dw[t];
              ip[p * n + t] = iw >= 0 && iw < (ptrdiff_t)s->in_w ? tap_row[t] + (size_t)iw * C
                                                                 : kiln_f32_zero;
            }
          }
          kernel->fn.f32_dwconv(pixels, cc, n, ip, wp, orow + ow0 * C + c0, C, &cep, flags);
        }
        t0 = t1;
      } while (t0 < ks);
    }
  }
}
