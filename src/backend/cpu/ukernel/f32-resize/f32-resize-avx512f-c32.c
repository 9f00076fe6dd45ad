/* f32-resize-avx512f-c32.c — AVX-512 bilinear NHWC resize row kernel: 32 channels per
 * step, the channel tail by masks. Multiplies and adds, no FMA: the same bits as the
 * portable kernel (ukernel.h). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>

static inline __m512 lerp2(const float *a, const float *b, const float *d, const float *e,
                           __m512 vl, __m512 vl1, __m512 vlh, __m512 vlh1, __mmask16 m) {
  const __m512 top = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, a), vl1),
                                   _mm512_mul_ps(_mm512_maskz_loadu_ps(m, b), vl));
  const __m512 bottom = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, d), vl1),
                                      _mm512_mul_ps(_mm512_maskz_loadu_ps(m, e), vl));
  return _mm512_add_ps(_mm512_mul_ps(top, vlh1), _mm512_mul_ps(bottom, vlh));
}

void kiln_f32_resize_ukernel__avx512f_c32(size_t out_w, size_t channels,
                                          const float *restrict row0,
                                          const float *restrict row1, float lh,
                                          const int32_t *restrict i0,
                                          const int32_t *restrict i1,
                                          const float *restrict lw, float *restrict out) {
  assert(channels >= 1 && row0 && row1 && i0 && i1 && lw && out);
  const __m512 vlh = _mm512_set1_ps(lh), vlh1 = _mm512_set1_ps(1.0f - lh);
  const size_t r = channels % 32;
  const __mmask16 m0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
  const __mmask16 m1 = r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
  for (size_t ow = 0; ow < out_w; ow++, out += channels) {
    const float *a = row0 + (size_t)i0[ow] * channels, *b = row0 + (size_t)i1[ow] * channels;
    const float *d = row1 + (size_t)i0[ow] * channels, *e = row1 + (size_t)i1[ow] * channels;
    const __m512 vl = _mm512_set1_ps(lw[ow]), vl1 = _mm512_set1_ps(1.0f - lw[ow]);
    size_t c = 0;
    for (; c + 32 <= channels; c += 32) {
      _mm512_storeu_ps(out + c, lerp2(a + c, b + c, d + c, e + c, vl, vl1, vlh, vlh1, 0xffff));
      _mm512_storeu_ps(out + c + 16, lerp2(a + c + 16, b + c + 16, d + c + 16, e + c + 16, vl,
                                           vl1, vlh, vlh1, 0xffff));
    }
    if (r) {
      _mm512_mask_storeu_ps(out + c, m0, lerp2(a + c, b + c, d + c, e + c, vl, vl1, vlh, vlh1, m0));
      _mm512_mask_storeu_ps(out + c + 16, m1, lerp2(a + c + 16, b + c + 16, d + c + 16,
                                                    e + c + 16, vl, vl1, vlh, vlh1, m1));
    }
  }
}
