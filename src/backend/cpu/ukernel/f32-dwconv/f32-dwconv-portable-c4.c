/* f32-dwconv-portable-c4.c — portable general depthwise NHWC kernel (any window: the
 * driver passes each pixel's taps); the reference for the SIMD variants. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>

void kiln_f32_dwconv_ukernel__portable_c4(size_t pixels, size_t channels, size_t ks,
                                          const float *const *restrict in,
                                          const float *const *restrict w, float *restrict out,
                                          size_t out_stride,
                                          const struct kiln_f32_epilogue *restrict ep,
                                          uint32_t flags) {
  assert(channels >= 1 && (ks == 0 || (in && w)) && out);
  for (size_t p = 0; p < pixels; p++, in += ks, out += out_stride) {
    for (size_t c = 0; c < channels; c++) {
      float acc = flags & KILN_GEMM_ACCUMULATE ? out[c] : 0.0f;
      for (size_t t = 0; t < ks; t++)
        acc += in[t][c] * w[t][c];
      if (flags & KILN_GEMM_EPILOGUE) {
        acc += ep->bias ? ep->bias[c] : 0.0f;
        acc = acc > ep->min ? acc : ep->min;
        acc = acc < ep->max ? acc : ep->max;
      }
      out[c] = acc;
    }
  }
}
