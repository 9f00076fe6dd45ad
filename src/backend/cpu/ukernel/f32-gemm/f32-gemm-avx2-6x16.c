/* f32-gemm-avx2-6x16.c — AVX2+FMA GEMM microkernel, 6 rows x 16 columns: 12 ymm
 * accumulators, 2 for the B row, 1 broadcast (15 of 16 registers). Compiled with
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

void kiln_f32_gemm_ukernel__avx2_6x16(size_t mr, size_t nr, size_t kc,
                                      const float *restrict a, size_t lda,
                                      const float *restrict w, float *restrict c, size_t ldc,
                                      const struct kiln_f32_epilogue *restrict ep,
                                      uint32_t flags) {
  assert(mr >= 1 && mr <= MR);
  assert(nr >= 1 && nr <= NR);
  assert(kc >= 1);
  assert(a && w && c);

  /* Rows past mr alias the last real row: they compute (and store) the same values. */
#define DECL_ROW(i)                                                                       \
  const float *a##i = a + (i < mr ? i : mr - 1) * lda;                                    \
  float *c##i = c + (i < mr ? i : mr - 1) * ldc;
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

  for (size_t k = 0; k < kc; k++) {
    const __m256 vb0 = _mm256_loadu_ps(w);
    const __m256 vb1 = _mm256_loadu_ps(w + 8);
    w += NR;
#define FMA_ROW(i)                                                                        \
  {                                                                                       \
    const __m256 va = _mm256_broadcast_ss(a##i + k);                                      \
    vacc##i##0 = _mm256_fmadd_ps(va, vb0, vacc##i##0);                                    \
    vacc##i##1 = _mm256_fmadd_ps(va, vb1, vacc##i##1);                                    \
  }
    ROWS(FMA_ROW)
#undef FMA_ROW
  }

  KILN_F32_TILE_END_AVX2(ROWS, ROWS_REVERSED)
}
