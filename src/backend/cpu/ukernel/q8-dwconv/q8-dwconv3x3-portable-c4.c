/* q8-dwconv3x3-portable-c4.c — portable int8 depthwise 3x3 NHWC row kernel; the
 * reference for the SIMD variants. |acc| <= 9 * 255 * 255: int32, no overflow. */
#include "backend/cpu/ukernel/q8-dwconv/taps.h"
#include "backend/cpu/ukernel/q8-requant.h"

#include <assert.h>

void kiln_q8_dwconv3x3_ukernel__portable_c4(const struct kiln_q8_dwconv_row *restrict row,
                                            const int32_t *restrict w, void *restrict out,
                                            int32_t a_zp, int a_signed,
                                            const struct kiln_q8_requant *restrict rq) {
  assert(row && w && out && rq);
  assert(row->channels >= 1 && row->stride_w >= 1 && row->dilation_w >= 1);
  const size_t C = row->channels;
  float lo, hi;
  kiln_q8_qbounds(rq, &lo, &hi);
  const uint8_t *ip[9];
  const int32_t *wp[9];
  for (size_t ow = 0; ow < row->out_width; ow++) {
    const size_t n = kiln_q8_dwconv3x3_taps(row, w, ow, ip, wp);
    for (size_t c = 0; c < C; c++) {
      int32_t acc = 0;
      for (size_t t = 0; t < n; t++) {
        const int32_t x = a_signed ? (int32_t)(int8_t)ip[t][c] : (int32_t)ip[t][c];
        acc += (x - a_zp) * kiln_q8_dw_weight_value(wp[t][c]);
      }
      kiln_q8_requant_store1(acc, c, rq, lo, hi, out, ow * C + c);
    }
  }
}
