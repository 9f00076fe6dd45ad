/* f32-conv-avx2-6x16.c — AVX2+FMA conv (indirect GEMM) microkernel, 6 output pixels x
 * 16 output channels: the GEMM 6x16 register tile (12 ymm accumulators, 2 for the weight
 * row, 1 broadcast), with the 6 row pointers reloaded per kernel tap. Compiled with
 * -mavx2 -mfma (CMakeLists.txt); called only when kiln_cpu_features() allows AVX2. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>

enum { MR = 6, NR = 16 };

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

void kiln_f32_conv_ukernel__avx2_6x16(size_t mr, size_t nr, size_t kc, size_t ks,
                                      const float *const *restrict a,
                                      const float *const *restrict w, float *restrict c,
                                      size_t ldc, const struct kiln_f32_epilogue *restrict ep,
                                      uint32_t flags) {
  assert(mr >= 1 && mr <= MR);
  assert(nr >= 1 && nr <= NR);
  assert(kc >= 1);
  assert(c && (ks == 0 || (a && w)));

  /* Rows past mr alias the last real row: they compute (and store) the same values. */
#define DECL_ROW(i) float *c##i = c + (i < mr ? i : mr - 1) * ldc;
  ROWS(DECL_ROW)
#undef DECL_ROW

  const size_t n0 = nr < 8 ? nr : 8, n1 = nr > 8 ? nr - 8 : 0;
  const __m256i vmask0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - n0));
  const __m256i vmask1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - n1));

  /* C (when accumulating) is added after the K loop: prefetched now, it arrives while
   * the FMAs run instead of stalling them (the tile was last touched a K block ago). */
  if (flags & KILN_GEMM_ACCUMULATE) {
#define PREFETCH_ROW(i)                                                                   \
  _mm_prefetch((const char *)c##i, _MM_HINT_T0);                                          \
  _mm_prefetch((const char *)(c##i + nr - 1), _MM_HINT_T0);
    ROWS(PREFETCH_ROW)
#undef PREFETCH_ROW
  }
#define INIT_ROW(i) __m256 vacc##i##0 = _mm256_setzero_ps(), vacc##i##1 = _mm256_setzero_ps();
  ROWS(INIT_ROW)
#undef INIT_ROW

  for (size_t t = 0; t < ks; t++) {
#define LOAD_ROW(i) const float *a##i = a[i];
    ROWS(LOAD_ROW)
#undef LOAD_ROW
    a += MR;
    const float *wt = w[t];
    for (size_t k = 0; k < kc; k++) {
      const __m256 vb0 = _mm256_loadu_ps(wt);
      const __m256 vb1 = _mm256_loadu_ps(wt + 8);
      wt += NR;
#define FMA_ROW(i)                                                                        \
  {                                                                                       \
    const __m256 va = _mm256_broadcast_ss(a##i + k);                                      \
    vacc##i##0 = _mm256_fmadd_ps(va, vb0, vacc##i##0);                                    \
    vacc##i##1 = _mm256_fmadd_ps(va, vb1, vacc##i##1);                                    \
  }
      ROWS(FMA_ROW)
#undef FMA_ROW
    }
  }

  if (flags & KILN_GEMM_ACCUMULATE) {
#define ADD_ROW(i)                                                                        \
  vacc##i##0 = _mm256_add_ps(vacc##i##0, _mm256_maskload_ps(c##i, vmask0));               \
  vacc##i##1 = _mm256_add_ps(vacc##i##1, _mm256_maskload_ps(c##i + 8, vmask1));
    ROWS(ADD_ROW)
#undef ADD_ROW
  }

  if (flags & KILN_GEMM_EPILOGUE) {
    assert(ep);
    if (ep->bias) {
      const __m256 vbias0 = _mm256_maskload_ps(ep->bias, vmask0);
      const __m256 vbias1 = _mm256_maskload_ps(ep->bias + 8, vmask1);
#define BIAS_ROW(i)                                                                       \
  vacc##i##0 = _mm256_add_ps(vacc##i##0, vbias0);                                         \
  vacc##i##1 = _mm256_add_ps(vacc##i##1, vbias1);
      ROWS(BIAS_ROW)
#undef BIAS_ROW
    }
    if (ep->residual) {
#define RESIDUAL_ROW(i)                                                                   \
  {                                                                                       \
    const float *ri = ep->residual + ((i) < mr ? (i) : mr - 1) * ep->residual_stride;     \
    vacc##i##0 = _mm256_add_ps(vacc##i##0, _mm256_maskload_ps(ri, vmask0));            \
    vacc##i##1 = _mm256_add_ps(vacc##i##1, _mm256_maskload_ps(ri + 8, vmask1));       \
  }
      ROWS(RESIDUAL_ROW)
#undef RESIDUAL_ROW
    }
    const __m256 vmin = _mm256_set1_ps(ep->min), vmax = _mm256_set1_ps(ep->max);
#define CLAMP_ROW(i)                                                                      \
  vacc##i##0 = _mm256_min_ps(_mm256_max_ps(vacc##i##0, vmin), vmax);                      \
  vacc##i##1 = _mm256_min_ps(_mm256_max_ps(vacc##i##1, vmin), vmax);
    ROWS(CLAMP_ROW)
#undef CLAMP_ROW
  }

  /* Highest row first, so aliased rows end with the real row's values. */
  if (nr == NR) {
#define STORE_ROW(i)                                                                      \
  _mm256_storeu_ps(c##i, vacc##i##0);                                                     \
  _mm256_storeu_ps(c##i + 8, vacc##i##1);
    STORE_ROW(5) STORE_ROW(4) STORE_ROW(3) STORE_ROW(2) STORE_ROW(1) STORE_ROW(0)
#undef STORE_ROW
  } else {
#define MSTORE_ROW(i)                                                                     \
  _mm256_maskstore_ps(c##i, vmask0, vacc##i##0);                                          \
  _mm256_maskstore_ps(c##i + 8, vmask1, vacc##i##1);
    MSTORE_ROW(5) MSTORE_ROW(4) MSTORE_ROW(3) MSTORE_ROW(2) MSTORE_ROW(1) MSTORE_ROW(0)
#undef MSTORE_ROW
  }
}
