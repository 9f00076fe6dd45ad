/* f32-pool-portable-c4.c — portable NHWC pooling kernel (max or sum over each pixel's
 * tap list); the reference for the SIMD variants. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>

void kiln_f32_pool_ukernel__portable_c4(size_t pixels, size_t channels, size_t ks,
                                        const float *const *restrict in,
                                        const float *restrict scale, float *restrict out,
                                        size_t out_stride, uint32_t flags) {
  assert(channels >= 1 && ks >= 1 && in && out);
  const int acc_in = (flags & KILN_GEMM_ACCUMULATE) != 0;
  for (size_t p = 0; p < pixels; p++, in += ks, out += out_stride) {
    for (size_t c = 0; c < channels; c++) {
      float acc = in[0][c];
      if (scale) {
        for (size_t t = 1; t < ks; t++)
          acc += in[t][c];
        if (acc_in)
          acc = out[c] + acc;
        if (flags & KILN_GEMM_EPILOGUE)
          acc *= scale[p];
      } else {
        /* v > acc ? v : acc, as _mm*_max_ps(v, acc): a NaN input propagates only where the
         * SIMD variants propagate it too. */
        for (size_t t = 1; t < ks; t++)
          acc = in[t][c] > acc ? in[t][c] : acc;
        if (acc_in)
          acc = out[c] > acc ? out[c] : acc;
      }
      out[c] = acc;
    }
  }
}
