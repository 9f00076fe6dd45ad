/* f32-dwconv3x3-avx2-c16.c — AVX2+FMA depthwise 3x3 NHWC row kernel: 16 channels per
 * step, the channel tail by masked loads and stores. Output pixels whose 3 columns all
 * lie inside the image go four at a time: 8 independent FMA chains (one pixel's 2 chains
 * leave the FMA pipes waiting on latency) and each tap's weights loaded once for the
 * four. Pixels at the edges (some columns in the padding) and the last 0-3 go one at a
 * time. */
#include "backend/cpu/ukernel/f32-dwconv/taps.h"

#include <assert.h>
#include <immintrin.h>

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

#define PIX4(X) X(0) X(1) X(2) X(3)

/* Lanes of the channel step at c: masks for its two vectors. */
static void step_masks(size_t C, size_t c, __m256i *m0, __m256i *m1) {
  const size_t r = C - c < 16 ? C - c : 16, r0 = r < 8 ? r : 8, r1 = r > 8 ? r - 8 : 0;
  *m0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r0));
  *m1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r1));
}

/* One output pixel, all channels, over its n taps. */
static void pixel1(size_t C, size_t n, const float *const *ip, const float *const *wp,
                   const float *bias, __m256 vmin, __m256 vmax, float *out) {
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
  if (c < C) {
    __m256i m0, m1;
    step_masks(C, c, &m0, &m1);
    __m256 vacc0 = bias ? _mm256_maskload_ps(bias + c, m0) : _mm256_setzero_ps();
    __m256 vacc1 = bias ? _mm256_maskload_ps(bias + c + 8, m1) : _mm256_setzero_ps();
    for (size_t t = 0; t < n; t++) {
      vacc0 = _mm256_fmadd_ps(_mm256_maskload_ps(ip[t] + c, m0),
                              _mm256_maskload_ps(wp[t] + c, m0), vacc0);
      vacc1 = _mm256_fmadd_ps(_mm256_maskload_ps(ip[t] + c + 8, m1),
                              _mm256_maskload_ps(wp[t] + c + 8, m1), vacc1);
    }
    _mm256_maskstore_ps(out + c, m0, _mm256_min_ps(_mm256_max_ps(vacc0, vmin), vmax));
    _mm256_maskstore_ps(out + c + 8, m1, _mm256_min_ps(_mm256_max_ps(vacc1, vmin), vmax));
  }
}

/* Four output pixels with the same n taps, pixel q reading ip[t] + q*step; out likewise
 * (pixel stride C). */
static void pixel4(size_t C, size_t n, const float *const *ip, size_t step,
                   const float *const *wp, const float *bias, __m256 vmin, __m256 vmax,
                   float *out) {
  for (size_t c = 0; c < C; c += 16) {
    __m256i m0, m1;
    step_masks(C, c, &m0, &m1);
    const __m256 vb0 = bias ? _mm256_maskload_ps(bias + c, m0) : _mm256_setzero_ps();
    const __m256 vb1 = bias ? _mm256_maskload_ps(bias + c + 8, m1) : _mm256_setzero_ps();
#define INIT(q) __m256 vacc##q##0 = vb0, vacc##q##1 = vb1;
    PIX4(INIT)
#undef INIT
    /* Full steps load and store without masks (masked ones cost more, stores most). */
#define TAPS(LOAD0, LOAD1)                                                                \
  for (size_t t = 0; t < n; t++) {                                                        \
    const float *i0 = ip[t] + c;                                                          \
    const __m256 vw0 = LOAD0(wp[t] + c), vw1 = LOAD1(wp[t] + c + 8);                      \
    FMA(0, LOAD0, LOAD1) FMA(1, LOAD0, LOAD1) FMA(2, LOAD0, LOAD1) FMA(3, LOAD0, LOAD1)   \
  }
#define FMA(q, LOAD0, LOAD1)                                                              \
  vacc##q##0 = _mm256_fmadd_ps(LOAD0(i0 + q * step), vw0, vacc##q##0);                    \
  vacc##q##1 = _mm256_fmadd_ps(LOAD1(i0 + q * step + 8), vw1, vacc##q##1);
#define FULL(p) _mm256_loadu_ps(p)
#define MASKED0(p) _mm256_maskload_ps(p, m0)
#define MASKED1(p) _mm256_maskload_ps(p, m1)
    if (C - c >= 16) {
      TAPS(FULL, FULL)
    } else {
      TAPS(MASKED0, MASKED1)
    }
#undef FULL
#undef MASKED0
#undef MASKED1
#undef FMA
#undef TAPS
#define CLAMP(q)                                                                          \
  vacc##q##0 = _mm256_min_ps(_mm256_max_ps(vacc##q##0, vmin), vmax);                      \
  vacc##q##1 = _mm256_min_ps(_mm256_max_ps(vacc##q##1, vmin), vmax);
    PIX4(CLAMP)
#undef CLAMP
#define STORE(q)                                                                          \
  _mm256_storeu_ps(out + q * C + c, vacc##q##0);                                          \
  _mm256_storeu_ps(out + q * C + c + 8, vacc##q##1);
#define MSTORE(q)                                                                         \
  _mm256_maskstore_ps(out + q * C + c, m0, vacc##q##0);                                   \
  _mm256_maskstore_ps(out + q * C + c + 8, m1, vacc##q##1);
    if (C - c >= 16) {
      PIX4(STORE)
    } else {
      PIX4(MSTORE)
    }
#undef STORE
#undef MSTORE
  }
}

void kiln_f32_dwconv3x3_ukernel__avx2_c16(const struct kiln_f32_dwconv_row *restrict row,
                                          const float *restrict w, float *restrict out,
                                          const struct kiln_f32_epilogue *restrict ep) {
  assert(row && w && out && ep);
  assert(row->channels >= 1 && row->stride_w >= 1 && row->dilation_w >= 1);
  const size_t C = row->channels;
  const __m256 vmin = _mm256_set1_ps(ep->min), vmax = _mm256_set1_ps(ep->max);
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
