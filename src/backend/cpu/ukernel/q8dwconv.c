/* q8dwconv.c — the int8 depthwise 3x3 NHWC driver (one microkernel call per output row)
 * and its weight packing. Weights are stored as int32 minus their zero point, so the
 * kernels' inner loop is widen, subtract the activation zero point, multiply, add; one
 * layout for every variant (kiln_q8_dw_weight: int16 values in int32 slots). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>

void kiln_q8_dwconv3x3_pack_w(size_t channels, const int8_t *w, const int32_t *w_zp,
                              int32_t *packed) {
  for (size_t t = 0; t < 9; t++)
    for (size_t c = 0; c < channels; c++)
      packed[t * channels + c] =
          kiln_q8_dw_weight((int32_t)w[t * channels + c] - (w_zp ? w_zp[c] : 0));
}

void kiln_q8_dwconv3x3(const struct kiln_f32_dwconv_shape *s, const void *in,
                       const int32_t *packed_w, void *out, const struct kiln_q8_act *act,
                       const struct kiln_q8_requant *rq, const struct kiln_ukernel *kernel,
                       size_t row_begin, size_t row_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_q8_dwconv3x3);
  assert(s && in && packed_w && out && act && rq && row_end <= s->out_h);
  assert(s->stride_h >= 1 && s->stride_w >= 1 && s->dilation_h >= 1 && s->dilation_w >= 1);
  struct kiln_q8_dwconv_row row = {
      .in_width = s->in_w,
      .out_width = s->out_w,
      .channels = s->channels,
      .stride_w = s->stride_w,
      .dilation_w = s->dilation_w,
      .pad_left = s->pad_left,
  };
  const uint8_t *inb = in;
  const size_t row_bytes = s->in_w * s->channels;
  const size_t out_row_bytes = s->out_w * s->channels * kiln_q8_out_size(rq->out_type);
  for (size_t oh = row_begin; oh < row_end; oh++) {
    for (size_t kh = 0; kh < 3; kh++) {
      const size_t ih = oh * s->stride_h + kh * s->dilation_h; /* + pad_top */
      row.rows[kh] = ih >= s->pad_top && ih - s->pad_top < s->in_h
                         ? inb + (ih - s->pad_top) * row_bytes
                         : NULL;
    }
    kernel->fn.q8_dwconv3x3(&row, packed_w, (uint8_t *)out + oh * out_row_bytes, act->zp,
                            act->is_signed, rq);
  }
}
