/* f32-dwconv3x3-avx2-c16.c — AVX2+FMA depthwise 3x3 NHWC row kernel: 16 channels per
 * step (2 ymm accumulators), the channel tail by masked loads and stores. */
#include "backend/cpu/ukernel/f32-dwconv/taps.h"

#include <assert.h>
#include <immintrin.h>

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

void kiln_f32_dwconv3x3_ukernel__avx2_c16(const struct kiln_f32_dwconv_row *restrict row,
                                          const float *restrict w, float *restrict out,
                                          const struct kiln_f32_epilogue *restrict ep) {
  assert(row && w && out && ep);
  assert(row->channels >= 1 && row->stride_w >= 1 && row->dilation_w >= 1);
  const size_t C = row->channels;
  const float *bias = ep->bias;
  const __m256 vmin = _mm256_set1_ps(ep->min), vmax = _mm256_set1_ps(ep->max);
  const size_t r = C % 16, r0 = r < 8 ? r : 8, r1 = r > 8 ? r - 8 : 0;
  const __m256i vmask0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r0));
  const __m256i vmask1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r1));
  const float *ip[9], *wp[9];
  for (size_t ow = 0; ow < row->out_width; ow++) {
    const size_t n = kiln_dwconv3x3_taps(row, w, ow, ip, wp);
    size_t c = 0;
    for (; c + 16 <= C; c += 16) {
      __m256 vacc0 = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
      __m256 vacc1 = bias ? _mm256_loadu_ps(bias + c + 8) : _mm256_setzero_ps();
      for (size_t t = 0; t < n; t++) {
        vacc0 = _mm256_fmadd_ps(_mm256_loadu_ps(ip[t] + c), _mm256_loadu_ps(wp[t] + c), vacc0);
        vacc1 = _mm256_fmadd_ps(_mm256_loadu_ps(ip[t] + c + 8), _mm256_loadu_ps(wp[t] + c + 8),
                                vacc1);
      }
      _mm256_storeu_ps(out + c, _mm256_min_ps(_mm256_max_ps(vacc0, vmin), vmax));
      _mm256_storeu_ps(out + c + 8, _mm256_min_ps(_mm256_max_ps(vacc1, vmin), vmax));
    }
    if (r) {
      __m256 vacc0 = bias ? _mm256_maskload_ps(bias + c, vmask0) : _mm256_setzero_ps();
      __m256 vacc1 = bias ? _mm256_maskload_ps(bias + c + 8, vmask1) : _mm256_setzero_ps();
      for (size_t t = 0; t < n; t++) {
        vacc0 = _mm256_fmadd_ps(_mm256_maskload_ps(ip[t] + c, vmask0),
                                _mm256_maskload_ps(wp[t] + c, vmask0), vacc0);
        vacc1 = _mm256_fmadd_ps(_mm256_maskload_ps(ip[t] + c + 8, vmask1),
                                _mm256_maskload_ps(wp[t] + c + 8, vmask1), vacc1);
      }
      _mm256_maskstore_ps(out + c, vmask0, _mm256_min_ps(_mm256_max_ps(vacc0, vmin), vmax));
      _mm256_maskstore_ps(out + c + 8, vmask1, _mm256_min_ps(_mm256_max_ps(vacc1, vmin), vmax));
    }
    out += C;
  }
}
