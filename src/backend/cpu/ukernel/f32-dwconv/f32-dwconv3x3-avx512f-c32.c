/* f32-dwconv3x3-avx512f-c32.c — AVX-512 depthwise 3x3 NHWC row kernel: 32 channels per
 * step (2 zmm accumulators), the channel tail by masked loads and stores. */
#include "backend/cpu/ukernel/f32-dwconv/taps.h"

#include <assert.h>
#include <immintrin.h>

void kiln_f32_dwconv3x3_ukernel__avx512f_c32(const struct kiln_f32_dwconv_row *restrict row,
                                             const float *restrict w, float *restrict out,
                                             const struct kiln_f32_epilogue *restrict ep) {
  assert(row && w && out && ep);
  assert(row->channels >= 1 && row->stride_w >= 1 && row->dilation_w >= 1);
  const size_t C = row->channels;
  const float *bias = ep->bias;
  const __m512 vmin = _mm512_set1_ps(ep->min), vmax = _mm512_set1_ps(ep->max);
  const size_t r = C % 32;
  const __mmask16 vmask0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
  const __mmask16 vmask1 = r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
  const float *ip[9], *wp[9];
  for (size_t ow = 0; ow < row->out_width; ow++) {
    const size_t n = kiln_dwconv3x3_taps(row, w, ow, ip, wp);
    size_t c = 0;
    for (; c + 32 <= C; c += 32) {
      __m512 vacc0 = bias ? _mm512_loadu_ps(bias + c) : _mm512_setzero_ps();
      __m512 vacc1 = bias ? _mm512_loadu_ps(bias + c + 16) : _mm512_setzero_ps();
      for (size_t t = 0; t < n; t++) {
        vacc0 = _mm512_fmadd_ps(_mm512_loadu_ps(ip[t] + c), _mm512_loadu_ps(wp[t] + c), vacc0);
        vacc1 = _mm512_fmadd_ps(_mm512_loadu_ps(ip[t] + c + 16),
                                _mm512_loadu_ps(wp[t] + c + 16), vacc1);
      }
      _mm512_storeu_ps(out + c, _mm512_min_ps(_mm512_max_ps(vacc0, vmin), vmax));
      _mm512_storeu_ps(out + c + 16, _mm512_min_ps(_mm512_max_ps(vacc1, vmin), vmax));
    }
    if (r) {
      __m512 vacc0 = bias ? _mm512_maskz_loadu_ps(vmask0, bias + c) : _mm512_setzero_ps();
      __m512 vacc1 = bias ? _mm512_maskz_loadu_ps(vmask1, bias + c + 16) : _mm512_setzero_ps();
      for (size_t t = 0; t < n; t++) {
        vacc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(vmask0, ip[t] + c),
                                _mm512_maskz_loadu_ps(vmask0, wp[t] + c), vacc0);
        vacc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(vmask1, ip[t] + c + 16),
                                _mm512_maskz_loadu_ps(vmask1, wp[t] + c + 16), vacc1);
      }
      _mm512_mask_storeu_ps(out + c, vmask0, _mm512_min_ps(_mm512_max_ps(vacc0, vmin), vmax));
      _mm512_mask_storeu_ps(out + c + 16, vmask1,
                            _mm512_min_ps(_mm512_max_ps(vacc1, vmin), vmax));
    }
    out += C;
  }
}
