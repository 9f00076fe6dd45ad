/* f32-pool-avx2-c16.c — AVX2 NHWC pooling kernel: 16 channels per step (2 ymm
 * accumulators) over each pixel's tap list, the channel tail by masked loads/stores. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

void kiln_f32_pool_ukernel__avx2_c16(size_t pixels, size_t channels, size_t ks,
                                     const float *const *restrict in,
                                     const float *restrict scale, float *restrict out,
                                     size_t out_stride, uint32_t flags) {
  assert(channels >= 1 && ks >= 1 && in && out);
  const int acc_in = (flags & KILN_GEMM_ACCUMULATE) != 0;
  const int do_scale = scale && (flags & KILN_GEMM_EPILOGUE);
  for (size_t p = 0; p < pixels; p++, in += ks, out += out_stride) {
    for (size_t c = 0; c < channels; c += 16) {
      const size_t r = channels - c < 16 ? channels - c : 16;
      const size_t r0 = r < 8 ? r : 8, r1 = r > 8 ? r - 8 : 0;
      const __m256i vmask0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r0));
      const __m256i vmask1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r1));
      __m256 vacc0 = _mm256_maskload_ps(in[0] + c, vmask0);
      __m256 vacc1 = _mm256_maskload_ps(in[0] + c + 8, vmask1);
      if (scale) {
        for (size_t t = 1; t < ks; t++) {
          vacc0 = _mm256_add_ps(vacc0, _mm256_maskload_ps(in[t] + c, vmask0));
          vacc1 = _mm256_add_ps(vacc1, _mm256_maskload_ps(in[t] + c + 8, vmask1));
        }
        if (acc_in) {
          vacc0 = _mm256_add_ps(_mm256_maskload_ps(out + c, vmask0), vacc0);
          vacc1 = _mm256_add_ps(_mm256_maskload_ps(out + c + 8, vmask1), vacc1);
        }
        if (do_scale) {
          const __m256 vscale = _mm256_set1_ps(scale[p]);
          vacc0 = _mm256_mul_ps(vacc0, vscale);
          vacc1 = _mm256_mul_ps(vacc1, vscale);
        }
      } else {
        for (size_t t = 1; t < ks; t++) {
          vacc0 = _mm256_max_ps(_mm256_maskload_ps(in[t] + c, vmask0), vacc0);
          vacc1 = _mm256_max_ps(_mm256_maskload_ps(in[t] + c + 8, vmask1), vacc1);
        }
        if (acc_in) {
          vacc0 = _mm256_max_ps(_mm256_maskload_ps(out + c, vmask0), vacc0);
          vacc1 = _mm256_max_ps(_mm256_maskload_ps(out + c + 8, vmask1), vacc1);
        }
      }
      _mm256_maskstore_ps(out + c, vmask0, vacc0);
      _mm256_maskstore_ps(out + c + 8, vmask1, vacc1);
    }
  }
}
