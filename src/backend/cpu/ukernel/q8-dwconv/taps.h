/* taps.h — shared by the q8-dwconv3x3 kernels: the taps of one output pixel that fall
 * inside the image. A padding tap is skipped: in the float QDQ graph the conv pads
 * DQ(x) with 0, which is exactly what x = a_zp contributes, (a_zp - a_zp) * w = 0. */
#ifndef KILN_UKERNEL_Q8_DWCONV_TAPS_H
#define KILN_UKERNEL_Q8_DWCONV_TAPS_H
#include "backend/cpu/ukernel/ukernel.h"

/* Fills ip[] (input pixel) and wp[] (its packed weights, [channels] int32) in (kh, kw)
 * order; returns how many (0..9). */
static inline size_t kiln_q8_dwconv3x3_taps(const struct kiln_q8_dwconv_row *row,
                                            const int32_t *w, size_t ow,
                                            const uint8_t *ip[9], const int32_t *wp[9]) {
  const size_t C = row->channels;
  size_t n = 0;
  for (size_t kh = 0; kh < 3; kh++) {
    if (!row->rows[kh])
      continue;
    for (size_t kw = 0; kw < 3; kw++) {
      const size_t iw = ow * row->stride_w + kw * row->dilation_w; /* + pad_left */
      if (iw < row->pad_left || iw - row->pad_left >= row->in_width)
        continue;
      ip[n] = row->rows[kh] + (iw - row->pad_left) * C;
      wp[n] = w + (kh * 3 + kw) * C;
      n++;
    }
  }
  return n;
}
/* The nine taps (t, kh, kw) of a 3x3 kernel, for the kernels' unrolled interior loops. */
#define KILN_Q8_DW_TAPS(X) X(0, 0, 0) X(1, 0, 1) X(2, 0, 2) X(3, 1, 0) X(4, 1, 1) X(5, 1, 2) \
  X(6, 2, 0) X(7, 2, 1) X(8, 2, 2)

/* The output columns [*ow0, *ow1) whose nine taps all lie inside the image (empty when a
 * kernel row is in the padding): kernels take them on a path without tap checks. */
static inline void kiln_q8_dwconv3x3_interior(const struct kiln_q8_dwconv_row *row, size_t *ow0,
                                              size_t *ow1) {
  const size_t s = row->stride_w, last = 2 * row->dilation_w; /* offset of the third tap */
  *ow0 = *ow1 = 0;
  if (!row->rows[0] || !row->rows[1] || !row->rows[2] || row->in_width + row->pad_left <= last)
    return;
  size_t lo = (row->pad_left + s - 1) / s, hi = (row->in_width - 1 + row->pad_left - last) / s + 1;
  if (hi > row->out_width) hi = row->out_width;
  if (lo < hi) *ow0 = lo, *ow1 = hi;
}
#endif
