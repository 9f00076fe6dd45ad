/* dwconv.c — the depthwise 3x3 NHWC driver: one microkernel call per output row. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>

size_t kiln_dwconv3x3_out_size(size_t in, size_t pad_begin, size_t pad_end, size_t stride,
                               size_t dilation) {
  const size_t padded = in + pad_begin + pad_end, window = dilation * 2 + 1;
  return padded < window ? 0 : (padded - window) / stride + 1;
}

void kiln_f32_dwconv3x3(const struct kiln_f32_dwconv_shape *s, const float *in,
                        const float *w, float *out, const struct kiln_f32_epilogue *ep,
                        const struct kiln_ukernel *kernel, size_t row_begin, size_t row_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_dwconv3x3);
  assert(s && in && w && out && ep && row_end <= s->out_h);
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
