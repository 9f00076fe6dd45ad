/* f32-resize-portable-c4.c — portable bilinear NHWC resize row kernel; the reference
 * for the SIMD variants (which must give the same bits: see ukernel.h). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>

void kiln_f32_resize_ukernel__portable_c4(size_t out_w, size_t channels,
                                          const float *restrict row0,
                                          const float *restrict row1, float lh,
                                          const int32_t *restrict i0,
                                          const int32_t *restrict i1,
                                          const float *restrict lw, float *restrict out) {
  assert(channels >= 1 && row0 && row1 && i0 && i1 && lw && out);
  const float lh1 = 1.0f - lh;
  for (size_t ow = 0; ow < out_w; ow++, out += channels) {
    const float *a = row0 + (size_t)i0[ow] * channels, *b = row0 + (size_t)i1[ow] * channels;
    const float *d = row1 + (size_t)i0[ow] * channels, *e = row1 + (size_t)i1[ow] * channels;
    const float l = lw[ow], l1 = 1.0f - l;
    for (size_t c = 0; c < channels; c++) {
      /* Separate statements: never contracted into FMAs. */
      const float a1 = a[c] * l1, b1 = b[c] * l;
      const float d1 = d[c] * l1, e1 = e[c] * l;
      const float top = a1 + b1, bottom = d1 + e1;
      const float t1 = top * lh1, b2 = bottom * lh;
      out[c] = t1 + b2;
    }
  }
}
