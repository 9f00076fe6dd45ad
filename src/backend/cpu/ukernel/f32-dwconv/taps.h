/* taps.h — shared by the f32-dwconv3x3 kernels: the taps of one output pixel that fall
 * inside the image (padding taps are skipped: they would add zero). */
#ifndef KILN_UKERNEL_DWCONV_TAPS_H
#define KILN_UKERNEL_DWCONV_TAPS_H
#include "backend/cpu/ukernel/ukernel.h"

/* Fills ip[] (input pixel) and wp[] (its weights, [channels]) in (kh, kw) order; returns
 * how many (0..9). */
static inline size_t kiln_dwconv3x3_taps(const struct kiln_f32_dwconv_row *row,
                                         const float *w, size_t ow, const float *ip[9],
                                         const float *wp[9]) {
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

/* Output pixels [*lo, *hi) whose three columns all lie inside the image: they have the
 * same taps, pixel ow + q reading the inputs of ow shifted by q * stride_w pixels. */
static inline void kiln_dwconv3x3_interior(const struct kiln_f32_dwconv_row *row, size_t *lo,
                                           size_t *hi) {
  const size_t sw = row->stride_w, end = row->pad_left + row->in_width;
  *lo = (row->pad_left + sw - 1) / sw; /* ow * sw >= pad_left */
  /* ow * sw + 2 * dilation_w < pad_left + in_width */
  *hi = end > 2 * row->dilation_w ? (end - 2 * row->dilation_w + sw - 1) / sw : 0;
  if (*hi > row->out_width)
    *hi = row->out_width;
  if (*hi < *lo)
    *hi = *lo;
}
#endif
