/* f32-conv-avx512f-14x32.c — AVX-512 conv (indirect GEMM) microkernel, 14 output pixels
 * x 32 output channels: the GEMM 14x32 register tile (28 zmm accumulators, 2 for the
 * weight row, inputs broadcast from memory into the FMA), with the 14 row pointers
 * reloaded per kernel tap. Compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl
 * -mfma (CMakeLists.txt). */
#include "backend/cpu/ukernel/f32-tile.h"
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <immintrin.h>

enum { MR = 14, NR = 32 };

#define ROWS(X)                                                                           \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define ROWS_REVERSED(X)                                                                  \
  X(13) X(12) X(11) X(10) X(9) X(8) X(7) X(6) X(5) X(4) X(3) X(2) X(1) X(0)

void kiln_f32_conv_ukernel__avx512f_14x32(size_t mr, size_t nr, size_t kc, size_t ks,
                                          const float *const *restrict a,
                                          const float *const *restrict w, float *restrict c,
                                          size_t ldc,
                                          const struct kiln_f32_epilogue *restrict ep,
                                          uint32_t flags) {
  assert(mr >= 1 && mr <= MR);
  assert(nr >= 1 && nr <= NR);
  assert(kc >= 1);
  assert(c && (ks == 0 || (a && w)));

  const __mmask16 vmask0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
  const __mmask16 vmask1 = nr >= 32 ? 0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;

  /* C (when accumulating) is added after the K loop: prefetched now, it arrives while
   * the FMAs run instead of stalling them (the tile was last touched a K block ago). */
  if (flags & KILN_GEMM_ACCUMULATE) {
#define PREFETCH_ROW(i)                                                                   \
  {                                                                                       \
    const float *ci = c + ((i) < mr ? (i) : mr - 1) * ldc;                                \
    _mm_prefetch((const char *)ci, _MM_HINT_T0);                                          \
    _mm_prefetch((const char *)(ci + nr - 1), _MM_HINT_T0);                               \
  }
    ROWS(PREFETCH_ROW)
#undef PREFETCH_ROW
  }
#define ZERO_ROW(i) __m512 vacc##i##0 = _mm512_setzero_ps(), vacc##i##1 = _mm512_setzero_ps();
  ROWS(ZERO_ROW)
#undef ZERO_ROW

#define FMA_ROW(i)                                                                        \
  {                                                                                       \
    const __m512 va = _mm512_set1_ps(a##i[k]);                                            \
    vacc##i##0 = _mm512_fmadd_ps(va, vb0, vacc##i##0);                                    \
    vacc##i##1 = _mm512_fmadd_ps(va, vb1, vacc##i##1);                                    \
  }
#define K_LOOP(PREFETCH)                                                                  \
  for (size_t k = 0; k < kc; k++) {                                                       \
    PREFETCH                                                                              \
    const __m512 vb0 = _mm512_loadu_ps(wt);                                               \
    const __m512 vb1 = _mm512_loadu_ps(wt + 16);                                          \
    wt += NR;                                                                             \
    ROWS(FMA_ROW)                                                                         \
  }
  for (size_t t = 0; t < ks; t++) {
    /* Rows past mr: the driver repeats the last pixel's pointer. */
#define LOAD_ROW(i) const float *a##i = a[i];
    ROWS(LOAD_ROW)
#undef LOAD_ROW
    a += MR;
    const float *wt = w[t];
    /* When the driver says the weights stream (from L3 or memory), the next tap's rows
     * are prefetched during this tap's run (cold-weight 7x7x512 at 1 thread: 1.42 ->
     * 1.07 ms on Zen 5). */
    if ((flags & KILN_GEMM_PREFETCH_B) && t + 1 < ks) {
      const float *wn = w[t + 1];
      K_LOOP(_mm_prefetch((const char *)(wn + k * NR), _MM_HINT_T0);
             _mm_prefetch((const char *)(wn + k * NR + 16), _MM_HINT_T0);)
    } else {
      K_LOOP()
    }
  }
#undef K_LOOP
#undef FMA_ROW

  KILN_F32_TILE_END_AVX512(ROWS, ROWS_REVERSED)
}
