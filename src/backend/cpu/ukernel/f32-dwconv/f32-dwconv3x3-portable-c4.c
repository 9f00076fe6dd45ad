/* f32-dwconv3x3-portable-c4.c — portable depthwise 3x3 NHWC row kernel (channels in
 * groups of 4 the compiler may vectorize); the reference for the SIMD variants. */
#include "backend/cpu/ukernel/f32-dwconv/taps.h"

#include <assert.h>

void kiln_f32_dwconv3x3_ukernel__portable_c4(const struct kiln_f32_dwconv_row *restrict row,
                                             const float *restrict w, float *restrict out,
                                             const struct kiln_f32_epilogue *restrict ep) {
  assert(row && w && out && ep);
  assert(row->channels >= 1 && row->stride_w >= 1 && row->dilation_w >= 1);
  const size_t C = row->channels;
  const float *ip[9], *wp[9];
  for (size_t ow = 0; ow < row->out_width; ow++) {
    const size_t n = kiln_dwconv3x3_taps(row, w, ow, ip, wp);
    for (size_t c = 0; c < C; c++) {
      float acc = ep->bias ? ep->bias[c] : 0.0f;
      for (size_t t = 0; t < n; t++)
        acc += ip[t][c] * wp[t][c];
      acc = acc > ep->min ? acc : ep->min;
      acc = acc < ep->max ? acc : ep->max;
      out[c] = acc;
    }
    out += C;
  }
}
