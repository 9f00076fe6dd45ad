/* f32-dwconv-avx2-c16.c — AVX2+FMA general depthwise NHWC kernel: 16 channels per step
 * (2 ymm accumulators) over each pixel's tap list, the channel tail by masked loads and
 * stores. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>
#include <math.h>

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

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
  for (size_t p = 0; p < pixels; p++, in += ks, out += out_stride) {
    for (size_t c = 0; c < channels; c += 16) {
      const size_t r = channels - c < 16 ? channels - c : 16;
      const size_t r0 = r < 8 ? r : 8, r1 = r > 8 ? r - 8 : 0;
      const __m256i vmask0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r0));
      const __m256i vmask1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r1));
      __m256 vacc0 = acc_in ? _mm256_maskload_ps(out + c, vmask0) : _mm256_setzero_ps();
      __m256 vacc1 = acc_in ? _mm256_maskload_ps(out + c + 8, vmask1) : _mm256_setzero_ps();
      if (r == 16) {
        for (size_t t = 0; t < ks; t++) {
          vacc0 = _mm256_fmadd_ps(_mm256_loadu_ps(in[t] + c), _mm256_loadu_ps(w[t] + c), vacc0);
          vacc1 = _mm256_fmadd_ps(_mm256_loadu_ps(in[t] + c + 8), _mm256_loadu_ps(w[t] + c + 8),
                                  vacc1);
        }
      } else {
        for (size_t t = 0; t < ks; t++) {
          vacc0 = _mm256_fmadd_ps(_mm256_maskload_ps(in[t] + c, vmask0),
                                  _mm256_maskload_ps(w[t] + c, vmask0), vacc0);
          vacc1 = _mm256_fmadd_ps(_mm256_maskload_ps(in[t] + c + 8, vmask1),
                                  _mm256_maskload_ps(w[t] + c + 8, vmask1), vacc1);
        }
      }
      if (bias) {
        vacc0 = _mm256_add_ps(vacc0, _mm256_maskload_ps(bias + c, vmask0));
        vacc1 = _mm256_add_ps(vacc1, _mm256_maskload_ps(bias + c + 8, vmask1));
      }
      if (do_ep) {
        vacc0 = _mm256_min_ps(_mm256_max_ps(vacc0, vmin), vmax);
        vacc1 = _mm256_min_ps(_mm256_max_ps(vacc1, vmin), vmax);
      }
      _mm256_maskstore_ps(out + c, vmask0, vacc0);
      _mm256_maskstore_ps(out + c + 8, vmask1, vacc1);
    }
  }
}
