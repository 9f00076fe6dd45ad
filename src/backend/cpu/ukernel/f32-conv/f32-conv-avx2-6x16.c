/* f32-conv-avx2-6x16.c — AVX2+FMA conv (indirect GEMM) microkernel, 6 output pixels x
 * 16 output channels: the GEMM 6x16 register tile (12 ymm accumulators, 2 for the weight
 * row, 1 broadcast), with the 6 row pointers reloaded per kernel tap. Compiled with
 * -mavx2 -mfma (CMakeLists.txt); called only when kiln_cpu_features() allows AVX2. */
#include "backend/cpu/ukernel/f32-tile.h"
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>

enum { MR = 6, NR = 16 };

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define ROWS_REVERSED(X) X(5) X(4) X(3) X(2) X(1) X(0)

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

  KILN_F32_TILE_END_AVX2(ROWS, ROWS_REVERSED)
}
