/* f32-dwconv3x3-avx512f-c32.c — AVX-512 depthwise 3x3 NHWC row kernel: 32 channels per
 * step, the channel tail by masks. Output pixels whose 3 columns all lie inside the image
 * go four at a time: 8 independent FMA chains (one pixel's 2 chains leave the FMA pipes
 * waiting on latency) and each tap's weights loaded once for the four. Pixels at the
 * edges (some columns in the padding) and the last 0-3 go one at a time. */
#include "backend/cpu/ukernel/f32-dwconv/taps.h"

#include <assert.h>
#include <immintrin.h>

#define PIX4(X) X(0) X(1) X(2) X(3)

/* One output pixel, all channels, over its n taps. */
static void pixel1(size_t C, size_t n, const float *const *ip, const float *const *wp,
                   const float *bias, __m512 vmin, __m512 vmax, float *out) {
  for (size_t c = 0; c < C; c += 32) {
    const size_t r = C - c < 32 ? C - c : 32;
    const __mmask16 m0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
    const __mmask16 m1 = r >= 32 ? 0xffff : r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
    __m512 vacc0 = bias ? _mm512_maskz_loadu_ps(m0, bias + c) : _mm512_setzero_ps();
    __m512 vacc1 = bias ? _mm512_maskz_loadu_ps(m1, bias + c + 16) : _mm512_setzero_ps();
    for (size_t t = 0; t < n; t++) {
      vacc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, ip[t] + c),
                              _mm512_maskz_loadu_ps(m0, wp[t] + c), vacc0);
      vacc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, ip[t] + c + 16),
                              _mm512_maskz_loadu_ps(m1, wp[t] + c + 16), vacc1);
    }
    _mm512_mask_storeu_ps(out + c, m0, _mm512_min_ps(_mm512_max_ps(vacc0, vmin), vmax));
    _mm512_mask_storeu_ps(out + c + 16, m1, _mm512_min_ps(_mm512_max_ps(vacc1, vmin), vmax));
  }
}

/* Four output pixels with the same n taps, pixel q reading ip[t] + q*step; out likewise
 * (pixel stride C). */
static void pixel4(size_t C, size_t n, const float *const *ip, size_t step,
                   const float *const *wp, const float *bias, __m512 vmin, __m512 vmax,
                   float *out) {
  for (size_t c = 0; c < C; c += 32) {
    const size_t r = C - c < 32 ? C - c : 32;
    const __mmask16 m0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
    const __mmask16 m1 = r >= 32 ? 0xffff : r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
    const __m512 vb0 = bias ? _mm512_maskz_loadu_ps(m0, bias + c) : _mm512_setzero_ps();
    const __m512 vb1 = bias ? _mm512_maskz_loadu_ps(m1, bias + c + 16) : _mm512_setzero_ps();
#define INIT(q) __m512 vacc##q##0 = vb0, vacc##q##1 = vb1;
    PIX4(INIT)
#undef INIT
    /* Full steps load without masks (cheaper than masked loads on some cores). */
#define TAPS(LOAD0, LOAD1)                                                                \
  for (size_t t = 0; t < n; t++) {                                                        \
    const float *i0 = ip[t] + c;                                                          \
    const __m512 vw0 = LOAD0(wp[t] + c), vw1 = LOAD1(wp[t] + c + 16);                     \
    FMA(0, LOAD0, LOAD1) FMA(1, LOAD0, LOAD1) FMA(2, LOAD0, LOAD1) FMA(3, LOAD0, LOAD1)   \
  }
#define FMA(q, LOAD0, LOAD1)                                                              \
  vacc##q##0 = _mm512_fmadd_ps(LOAD0(i0 + q * step), vw0, vacc##q##0);                    \
  vacc##q##1 = _mm512_fmadd_ps(LOAD1(i0 + q * step + 16), vw1, vacc##q##1);
#define FULL(p) _mm512_loadu_ps(p)
#define MASKED0(p) _mm512_maskz_loadu_ps(m0, p)
#define MASKED1(p) _mm512_maskz_loadu_ps(m1, p)
    if (r == 32) {
      TAPS(FULL, FULL)
    } else {
      TAPS(MASKED0, MASKED1)
    }
#undef FULL
#undef MASKED0
#undef MASKED1
#undef FMA
#undef TAPS
#define STORE(q)                                                                          \
  _mm512_mask_storeu_ps(out + q * C + c, m0,                                              \
                        _mm512_min_ps(_mm512_max_ps(vacc##q##0, vmin), vmax));            \
  _mm512_mask_storeu_ps(out + q * C + c + 16, m1,                                         \
                        _mm512_min_ps(_mm512_max_ps(vacc##q##1, vmin), vmax));
    PIX4(STORE)
#undef STORE
  }
}

void kiln_f32_dwconv3x3_ukernel__avx512f_c32(const struct kiln_f32_dwconv_row *restrict row,
                                             const float *restrict w, float *restrict out,
                                             const struct kiln_f32_epilogue *restrict ep) {
  assert(row && w && out && ep);
  assert(row->channels >= 1 && row->stride_w >= 1 && row->dilation_w >= 1);
  const size_t C = row->channels;
  const __m512 vmin = _mm512_set1_ps(ep->min), vmax = _mm512_set1_ps(ep->max);
  size_t lo, hi;
  kiln_dwconv3x3_interior(row, &lo, &hi);
  const float *ip[9], *wp[9];
  for (size_t ow = 0; ow < row->out_width;) {
    const size_t n = kiln_dwconv3x3_taps(row, w, ow, ip, wp);
    if (ow >= lo && ow + 4 <= hi) {
      pixel4(C, n, ip, row->stride_w * C, wp, ep->bias, vmin, vmax, out + ow * C);
      ow += 4;
    } else {
      pixel1(C, n, ip, wp, ep->bias, vmin, vmax, out + ow * C);
      ow++;
    }
  }
}
