/* f32-resize-avx2-c16.c — AVX2 bilinear NHWC resize row kernel: 16 channels per step,
 * the channel tail by masked loads and stores. Multiplies and adds, no FMA: the same
 * bits as the portable kernel (ukernel.h). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline __m256 lerp2(const float *a, const float *b, const float *d, const float *e,
                           __m256 vl, __m256 vl1, __m256 vlh, __m256 vlh1, __m256i m) {
  const __m256 top = _mm256_add_ps(_mm256_mul_ps(_mm256_maskload_ps(a, m), vl1),
                                   _mm256_mul_ps(_mm256_maskload_ps(b, m), vl));
  const __m256 bottom = _mm256_add_ps(_mm256_mul_ps(_mm256_maskload_ps(d, m), vl1),
                                      _mm256_mul_ps(_mm256_maskload_ps(e, m), vl));
  return _mm256_add_ps(_mm256_mul_ps(top, vlh1), _mm256_mul_ps(bottom, vlh));
}

void kiln_f32_resize_ukernel__avx2_c16(size_t out_w, size_t channels,
                                       const float *restrict row0, const float *restrict row1,
                                       float lh, const int32_t *restrict i0,
                                       const int32_t *restrict i1, const float *restrict lw,
                                       float *restrict out) {
  assert(channels >= 1 && row0 && row1 && i0 && i1 && lw && out);
  const __m256 vlh = _mm256_set1_ps(lh), vlh1 = _mm256_set1_ps(1.0f - lh);
  const __m256i vall = _mm256_set1_epi32(-1);
  const size_t r = channels % 16, r0 = r < 8 ? r : 8, r1 = r > 8 ? r - 8 : 0;
  const __m256i vmask0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r0));
  const __m256i vmask1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r1));
  for (size_t ow = 0; ow < out_w; ow++, out += channels) {
    const float *a = row0 + (size_t)i0[ow] * channels, *b = row0 + (size_t)i1[ow] * channels;
    const float *d = row1 + (size_t)i0[ow] * channels, *e = row1 + (size_t)i1[ow] * channels;
    const __m256 vl = _mm256_set1_ps(lw[ow]), vl1 = _mm256_set1_ps(1.0f - lw[ow]);
    size_t c = 0;
    for (; c + 16 <= channels; c += 16) {
      _mm256_storeu_ps(out + c, lerp2(a + c, b + c, d + c, e + c, vl, vl1, vlh, vlh1, vall));
      _mm256_storeu_ps(out + c + 8, lerp2(a + c + 8, b + c + 8, d + c + 8, e + c + 8, vl, vl1,
                                          vlh, vlh1, vall));
    }
    if (r) {
      _mm256_maskstore_ps(out + c, vmask0,
                          lerp2(a + c, b + c, d + c, e + c, vl, vl1, vlh, vlh1, vmask0));
      _mm256_maskstore_ps(out + c + 8, vmask1, lerp2(a + c + 8, b + c + 8, d + c + 8, e + c + 8,
                                                     vl, vl1, vlh, vlh1, vmask1));
    }
  }
}
