/* f32-dwconv-avx512f-c32.c — AVX-512 general depthwise NHWC kernel: 32 channels per
 * step over each pixel's tap list, the channel tail by masks. Channel steps are the outer
 * loop, so the inputs of one step (a few rows x 128 bytes per pixel) stay in L1 from one
 * pixel to the next (whole 5x5 windows of all channels would not). Pixels go four at a
 * time: 8 independent FMA chains (2 would leave the FMA pipes waiting on latency) and
 * each tap's weights loaded once for the four. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>
#include <math.h>

#define PIX4(X) X(0) X(1) X(2) X(3)

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
  for (size_t c = 0; c < channels; c += 32) {
    const size_t r = channels - c < 32 ? channels - c : 32;
    const __mmask16 m0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
    const __mmask16 m1 = r >= 32 ? 0xffff : r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
    const float *const *pin = in;
    float *pout = out;
    size_t p = 0;
    for (; p + 4 <= pixels; p += 4, pin += 4 * ks, pout += 4 * out_stride) {
#define INIT(q)                                                                           \
  __m512 vacc##q##0 = acc_in ? _mm512_maskz_loadu_ps(m0, pout + q * out_stride + c)       \
                             : _mm512_setzero_ps();                                       \
  __m512 vacc##q##1 = acc_in ? _mm512_maskz_loadu_ps(m1, pout + q * out_stride + c + 16)  \
                             : _mm512_setzero_ps();
      PIX4(INIT)
#undef INIT
      /* Full steps load without masks (cheaper than masked loads on some cores). */
#define TAPS(LOAD0, LOAD1)                                                                \
  for (size_t t = 0; t < ks; t++) {                                                       \
    const __m512 vw0 = LOAD0(w[t] + c), vw1 = LOAD1(w[t] + c + 16);                       \
    FMA(0, LOAD0, LOAD1) FMA(1, LOAD0, LOAD1) FMA(2, LOAD0, LOAD1) FMA(3, LOAD0, LOAD1)   \
  }
#define FMA(q, LOAD0, LOAD1)                                                              \
  {                                                                                       \
    const float *i##q = pin[q * ks + t] + c;                                              \
    vacc##q##0 = _mm512_fmadd_ps(LOAD0(i##q), vw0, vacc##q##0);                           \
    vacc##q##1 = _mm512_fmadd_ps(LOAD1(i##q + 16), vw1, vacc##q##1);                      \
  }
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
      const __m512 vb0 = bias ? _mm512_maskz_loadu_ps(m0, bias + c) : _mm512_setzero_ps();
      const __m512 vb1 = bias ? _mm512_maskz_loadu_ps(m1, bias + c + 16) : _mm512_setzero_ps();
#define STORE(q)                                                                          \
  if (bias) {                                                                             \
    vacc##q##0 = _mm512_add_ps(vacc##q##0, vb0);                                          \
    vacc##q##1 = _mm512_add_ps(vacc##q##1, vb1);                                          \
  }                                                                                       \
  if (do_ep) {                                                                            \
    vacc##q##0 = _mm512_min_ps(_mm512_max_ps(vacc##q##0, vmin), vmax);                    \
    vacc##q##1 = _mm512_min_ps(_mm512_max_ps(vacc##q##1, vmin), vmax);                    \
  }                                                                                       \
  _mm512_mask_storeu_ps(pout + q * out_stride + c, m0, vacc##q##0);                       \
  _mm512_mask_storeu_ps(pout + q * out_stride + c + 16, m1, vacc##q##1);
      PIX4(STORE)
#undef STORE
    }
    for (; p < pixels; p++, pin += ks, pout += out_stride) { /* the last 0-3 pixels */
      __m512 vacc0 = acc_in ? _mm512_maskz_loadu_ps(m0, pout + c) : _mm512_setzero_ps();
      __m512 vacc1 = acc_in ? _mm512_maskz_loadu_ps(m1, pout + c + 16) : _mm512_setzero_ps();
      for (size_t t = 0; t < ks; t++) {
        vacc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, pin[t] + c),
                                _mm512_maskz_loadu_ps(m0, w[t] + c), vacc0);
        vacc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, pin[t] + c + 16),
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
      _mm512_mask_storeu_ps(pout + c, m0, vacc0);
      _mm512_mask_storeu_ps(pout + c + 16, m1, vacc1);
    }
  }
}
