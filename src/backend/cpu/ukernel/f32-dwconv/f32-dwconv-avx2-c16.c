/* f32-dwconv-avx2-c16.c — AVX2+FMA general depthwise NHWC kernel: 16 channels per step
 * over each pixel's tap list, the channel tail by masked loads and stores. As the
 * AVX-512 kernel: channel steps outermost (inputs stay in L1 from pixel to pixel), four
 * pixels at a time (8 FMA chains, each tap's weights loaded once for the four). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>
#include <math.h>

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

#define PIX4(X) X(0) X(1) X(2) X(3)

void kiln_f32_dwconv_ukernel__avx2_c16(size_t pixels, size_t channels, size_t ks,
                                       const float *const *restrict in,
                                       const float *const *restrict w, float *restrict out,
                                       size_t out_stride,
                                       const struct kiln_f32_epilogue *restrict ep,
                                       uint32_t flags) {
  assert(channels >= 1 && (ks == 0 || (in && w)) && out);
  const int acc_in = (flags & KILN_GEMM_ACCUMULATE) != 0, do_ep = (flags & KILN_GEMM_EPILOGUE) != 0;
  const float *bias = do_ep ? ep->bias : NULL;
  const __m256 vmin = _mm256_set1_ps(do_ep ? ep->min : -INFINITY);
  const __m256 vmax = _mm256_set1_ps(do_ep ? ep->max : INFINITY);
  for (size_t c = 0; c < channels; c += 16) {
    const size_t r = channels - c < 16 ? channels - c : 16;
    const size_t r0 = r < 8 ? r : 8, r1 = r > 8 ? r - 8 : 0;
    const __m256i vmask0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r0));
    const __m256i vmask1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r1));
    const __m256 vb0 = bias ? _mm256_maskload_ps(bias + c, vmask0) : _mm256_setzero_ps();
    const __m256 vb1 = bias ? _mm256_maskload_ps(bias + c + 8, vmask1) : _mm256_setzero_ps();
    const float *const *pin = in;
    float *pout = out;
    size_t p = 0;
#define FULL0(p) _mm256_loadu_ps(p)
#define FULL1(p) _mm256_loadu_ps(p)
#define MASKED0(p) _mm256_maskload_ps(p, vmask0)
#define MASKED1(p) _mm256_maskload_ps(p, vmask1)
    /* Pixels [p, p+NP): NP = 4, or 1 for the last 0-3. Full steps load without masks. */
#define INIT(q)                                                                           \
  __m256 vacc##q##0 = acc_in ? MASKED0(pout + q * out_stride + c) : _mm256_setzero_ps();  \
  __m256 vacc##q##1 = acc_in ? MASKED1(pout + q * out_stride + c + 8) : _mm256_setzero_ps();
#define FMA(q, L0, L1)                                                                    \
  {                                                                                       \
    const float *i##q = pin[q * ks + t] + c;                                              \
    vacc##q##0 = _mm256_fmadd_ps(L0(i##q), vw0, vacc##q##0);                              \
    vacc##q##1 = _mm256_fmadd_ps(L1(i##q + 8), vw1, vacc##q##1);                          \
  }
#define STORE(q)                                                                          \
  vacc##q##0 = _mm256_add_ps(vacc##q##0, vb0);                                            \
  vacc##q##1 = _mm256_add_ps(vacc##q##1, vb1);                                            \
  if (do_ep) {                                                                            \
    vacc##q##0 = _mm256_min_ps(_mm256_max_ps(vacc##q##0, vmin), vmax);                    \
    vacc##q##1 = _mm256_min_ps(_mm256_max_ps(vacc##q##1, vmin), vmax);                    \
  }                                                                                       \
  _mm256_maskstore_ps(pout + q * out_stride + c, vmask0, vacc##q##0);                     \
  _mm256_maskstore_ps(pout + q * out_stride + c + 8, vmask1, vacc##q##1);
#define TAPS(PIXELS, L0, L1)                                                              \
  for (size_t t = 0; t < ks; t++) {                                                       \
    const __m256 vw0 = L0(w[t] + c), vw1 = L1(w[t] + c + 8);                               \
    PIXELS(FMA, L0, L1)                                                                   \
  }
#define P4(X, L0, L1) X(0, L0, L1) X(1, L0, L1) X(2, L0, L1) X(3, L0, L1)
#define P1(X, L0, L1) X(0, L0, L1)
    for (; p + 4 <= pixels; p += 4, pin += 4 * ks, pout += 4 * out_stride) {
      PIX4(INIT)
      if (r == 16) {
        TAPS(P4, FULL0, FULL1)
      } else {
        TAPS(P4, MASKED0, MASKED1)
      }
      PIX4(STORE)
    }
    for (; p < pixels; p++, pin += ks, pout += out_stride) {
      INIT(0)
      TAPS(P1, MASKED0, MASKED1)
      STORE(0)
    }
#undef P1
#undef P4
#undef TAPS
#undef STORE
#undef FMA
#undef INIT
#undef MASKED1
#undef MASKED0
#undef FULL1
#undef FULL0
  }
}
