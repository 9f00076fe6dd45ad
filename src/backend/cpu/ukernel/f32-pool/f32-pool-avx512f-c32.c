/* f32-pool-avx512f-c32.c — AVX-512 NHWC pooling kernel: 32 channels per step (2 zmm
 * accumulators) over each pixel's tap list, the channel tail by masks. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>

void kiln_f32_pool_ukernel__avx512f_c32(size_t pixels, size_t channels, size_t ks,
                                        const float *const *restrict in,
                                        const float *restrict scale, float *restrict out,
                                        size_t out_stride, uint32_t flags) {
  assert(channels >= 1 && ks >= 1 && in && out);
  const int acc_in = (flags & KILN_GEMM_ACCUMULATE) != 0;
  const int do_scale = scale && (flags & KILN_GEMM_EPILOGUE);
  for (size_t p = 0; p < pixels; p++, in += ks, out += out_stride) {
    for (size_t c = 0; c < channels; c += 32) {
      const size_t r = channels - c < 32 ? channels - c : 32;
      const __mmask16 m0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
      const __mmask16 m1 = r >= 32 ? 0xffff : r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
      __m512 vacc0 = _mm512_maskz_loadu_ps(m0, in[0] + c);
      __m512 vacc1 = _mm512_maskz_loadu_ps(m1, in[0] + c + 16);
      if (scale) {
        for (size_t t = 1; t < ks; t++) {
          vacc0 = _mm512_add_ps(vacc0, _mm512_maskz_loadu_ps(m0, in[t] + c));
          vacc1 = _mm512_add_ps(vacc1, _mm512_maskz_loadu_ps(m1, in[t] + c + 16));
        }
        if (acc_in) {
          vacc0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, out + c), vacc0);
          vacc1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, out + c + 16), vacc1);
        }
        if (do_scale) {
          const __m512 vscale = _mm512_set1_ps(scale[p]);
          vacc0 = _mm512_mul_ps(vacc0, vscale);
          vacc1 = _mm512_mul_ps(vacc1, vscale);
        }
      } else {
        for (size_t t = 1; t < ks; t++) {
          vacc0 = _mm512_max_ps(_mm512_maskz_loadu_ps(m0, in[t] + c), vacc0);
          vacc1 = _mm512_max_ps(_mm512_maskz_loadu_ps(m1, in[t] + c + 16), vacc1);
        }
        if (acc_in) {
          vacc0 = _mm512_max_ps(_mm512_maskz_loadu_ps(m0, out + c), vacc0);
          vacc1 = _mm512_max_ps(_mm512_maskz_loadu_ps(m1, out + c + 16), vacc1);
        }
      }
      _mm512_mask_storeu_ps(out + c, m0, vacc0);
      _mm512_mask_storeu_ps(out + c + 16, m1, vacc1);
    }
  }
}
