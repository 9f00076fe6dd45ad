/* f32-dwconv-avx512f-c32.c — AVX-512 general depthwise NHWC kernel: 32 channels per
 * step (2 zmm accumulators) over each pixel's tap list, the channel tail by masks. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>
#include <math.h>

void kiln_f32_dwconv_ukernel__avx512f_c32(size_t pixels, size_t channels, size_t ks,
                                          const float *const *restrict in,
                                          const float *const *restrict w, float *restrict out,
                                          size_t out_stride,
                                          const struct kiln_f32_epilogue *restrict ep,
                                          uint32_t flags) {
  assert(channels >= 1 && (ks == 0 || (in && w)) && out);
  const int acc_in = (flags & KILN_GEMM_ACCUMULATE) != 0, do_ep = (flags & KILN_GEMM_EPILOGUE) != 0;
  const float *bias = do_ep ? ep->bias : NULL;
  const __m512 vmin = _mm512_set1_ps(do_ep ? ep->min : -INFINITY);
  const __m512 vmax = _mm512_set1_ps(do_ep ? ep->max : INFINITY);
  for (size_t p = 0; p < pixels; p++, in += ks, out += out_stride) {
    for (size_t c = 0; c < channels; c += 32) {
      const size_t r = channels - c < 32 ? channels - c : 32;
      const __mmask16 m0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
      const __mmask16 m1 = r >= 32 ? 0xffff : r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
      __m512 vacc0 = acc_in ? _mm512_maskz_loadu_ps(m0, out + c) : _mm512_setzero_ps();
      __m512 vacc1 = acc_in ? _mm512_maskz_loadu_ps(m1, out + c + 16) : _mm512_setzero_ps();
      for (size_t t = 0; t < ks; t++) {
        vacc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, in[t] + c),
                                _mm512_maskz_loadu_ps(m0, w[t] + c), vacc0);
        vacc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, in[t] + c + 16),
                                _mm512_maskz_loadu_ps(m1, w[t] + c + 16), vacc1);
      }
      if (bias) {
        vacc0 = _mm512_add_ps(vacc0, _mm512_maskz_loadu_ps(m0, bias + c));
        vacc1 = _mm512_add_ps(vacc1, _mm512_maskz_loadu_ps(m1, bias + c + 16));
      }
      if (do_ep) {
        vacc0 = _mm512_min_ps(_mm512_max_ps(vacc0, vmin), vmax);
        vacc1 = _mm512_min_ps(_mm512_max_ps(vacc1, vmin), vmax);
      }
      _mm512_mask_storeu_ps(out + c, m0, vacc0);
      _mm512_mask_storeu_ps(out + c + 16, m1, vacc1);
    }
  }
}
