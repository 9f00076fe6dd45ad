/* f32-tile.h — the end of the f32 GEMM and conv microkernels, shared by both per ISA: add
 * C when accumulating, the register epilogue (bias, residual, clamp) and the store of the
 * MR x NR tile. The two kernels differ only in how they sum (rows of A vs tap pointers).
 *
 * The SIMD ends are macros expanded inside the kernel (the accumulators stay named
 * registers, as a function over an array of them would not guarantee). They use the
 * kernel's names: mr, nr, c, ldc, ep, flags, vmask0, vmask1, the accumulators
 * vacc<i>0 / vacc<i>1, and ROWS / ROWS_REVERSED (X(0) ... X(MR-1) and back), passed in.
 * AVX2 also uses the row pointers c<i> and NR. Rows past mr alias the last real row:
 * they compute the same values, and the store goes highest row first so that the real
 * row's values land last. */
#ifndef KILN_F32_TILE_H
#define KILN_F32_TILE_H

#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>

/* ---- AVX-512: 2 zmm per row (NR = 32), masked loads and stores ---- */

#define KILN_F32_ROW_AVX512(i) (c + ((i) < mr ? (i) : mr - 1) * ldc)
#define KILN_F32_ADD_C_AVX512(i)                                                           \
  {                                                                                        \
    const float *ci = KILN_F32_ROW_AVX512(i);                                              \
    vacc##i##0 = _mm512_add_ps(vacc##i##0, _mm512_maskz_loadu_ps(vmask0, ci));             \
    vacc##i##1 = _mm512_add_ps(vacc##i##1, _mm512_maskz_loadu_ps(vmask1, ci + 16));        \
  }
#define KILN_F32_ADD_BIAS_AVX512(i)                                                        \
  vacc##i##0 = _mm512_add_ps(vacc##i##0, vbias0);                                          \
  vacc##i##1 = _mm512_add_ps(vacc##i##1, vbias1);
#define KILN_F32_ADD_RESIDUAL_AVX512(i)                                                    \
  {                                                                                        \
    const float *ri = ep->residual + ((i) < mr ? (i) : mr - 1) * ep->residual_stride;      \
    vacc##i##0 = _mm512_add_ps(vacc##i##0, _mm512_maskz_loadu_ps(vmask0, ri));             \
    vacc##i##1 = _mm512_add_ps(vacc##i##1, _mm512_maskz_loadu_ps(vmask1, ri + 16));        \
  }
#define KILN_F32_CLAMP_AVX512(i)                                                           \
  vacc##i##0 = _mm512_min_ps(_mm512_max_ps(vacc##i##0, vmin), vmax);                       \
  vacc##i##1 = _mm512_min_ps(_mm512_max_ps(vacc##i##1, vmin), vmax);
#define KILN_F32_STORE_AVX512(i)                                                           \
  {                                                                                        \
    float *ci = KILN_F32_ROW_AVX512(i);                                                    \
    _mm512_mask_storeu_ps(ci, vmask0, vacc##i##0);                                         \
    _mm512_mask_storeu_ps(ci + 16, vmask1, vacc##i##1);                                    \
  }

#define KILN_F32_TILE_END_AVX512(ROWS, ROWS_REVERSED)                                      \
  if (flags & KILN_GEMM_ACCUMULATE) {                                                      \
    ROWS(KILN_F32_ADD_C_AVX512)                                                            \
  }                                                                                        \
  if (flags & KILN_GEMM_EPILOGUE) {                                                        \
    assert(ep);                                                                            \
    if (ep->bias) {                                                                        \
      const __m512 vbias0 = _mm512_maskz_loadu_ps(vmask0, ep->bias);                       \
      const __m512 vbias1 = _mm512_maskz_loadu_ps(vmask1, ep->bias + 16);                  \
      ROWS(KILN_F32_ADD_BIAS_AVX512)                                                       \
    }                                                                                      \
    if (ep->residual) {                                                                    \
      ROWS(KILN_F32_ADD_RESIDUAL_AVX512)                                                   \
    }                                                                                      \
    const __m512 vmin = _mm512_set1_ps(ep->min), vmax = _mm512_set1_ps(ep->max);           \
    ROWS(KILN_F32_CLAMP_AVX512)                                                            \
  }                                                                                        \
  ROWS_REVERSED(KILN_F32_STORE_AVX512)

/* ---- AVX2: 2 ymm per row (NR = 16), maskload/maskstore, row pointers c<i> ---- */

#define KILN_F32_ADD_C_AVX2(i)                                                             \
  vacc##i##0 = _mm256_add_ps(vacc##i##0, _mm256_maskload_ps(c##i, vmask0));                \
  vacc##i##1 = _mm256_add_ps(vacc##i##1, _mm256_maskload_ps(c##i + 8, vmask1));
#define KILN_F32_ADD_BIAS_AVX2(i)                                                          \
  vacc##i##0 = _mm256_add_ps(vacc##i##0, vbias0);                                          \
  vacc##i##1 = _mm256_add_ps(vacc##i##1, vbias1);
#define KILN_F32_ADD_RESIDUAL_AVX2(i)                                                      \
  {                                                                                        \
    const float *ri = ep->residual + ((i) < mr ? (i) : mr - 1) * ep->residual_stride;      \
    vacc##i##0 = _mm256_add_ps(vacc##i##0, _mm256_maskload_ps(ri, vmask0));                \
    vacc##i##1 = _mm256_add_ps(vacc##i##1, _mm256_maskload_ps(ri + 8, vmask1));            \
  }
#define KILN_F32_CLAMP_AVX2(i)                                                             \
  vacc##i##0 = _mm256_min_ps(_mm256_max_ps(vacc##i##0, vmin), vmax);                       \
  vacc##i##1 = _mm256_min_ps(_mm256_max_ps(vacc##i##1, vmin), vmax);
#define KILN_F32_STORE_AVX2(i)                                                             \
  _mm256_storeu_ps(c##i, vacc##i##0);                                                      \
  _mm256_storeu_ps(c##i + 8, vacc##i##1);
#define KILN_F32_MSTORE_AVX2(i)                                                            \
  _mm256_maskstore_ps(c##i, vmask0, vacc##i##0);                                           \
  _mm256_maskstore_ps(c##i + 8, vmask1, vacc##i##1);

#define KILN_F32_TILE_END_AVX2(ROWS, ROWS_REVERSED)                                        \
  if (flags & KILN_GEMM_ACCUMULATE) {                                                      \
    ROWS(KILN_F32_ADD_C_AVX2)                                                              \
  }                                                                                        \
  if (flags & KILN_GEMM_EPILOGUE) {                                                        \
    assert(ep);                                                                            \
    if (ep->bias) {                                                                        \
      const __m256 vbias0 = _mm256_maskload_ps(ep->bias, vmask0);                          \
      const __m256 vbias1 = _mm256_maskload_ps(ep->bias + 8, vmask1);                      \
      ROWS(KILN_F32_ADD_BIAS_AVX2)                                                         \
    }                                                                                      \
    if (ep->residual) {                                                                    \
      ROWS(KILN_F32_ADD_RESIDUAL_AVX2)                                                     \
    }                                                                                      \
    const __m256 vmin = _mm256_set1_ps(ep->min), vmax = _mm256_set1_ps(ep->max);           \
    ROWS(KILN_F32_CLAMP_AVX2)                                                              \
  }                                                                                        \
  if (nr == NR) {                                                                          \
    ROWS_REVERSED(KILN_F32_STORE_AVX2)                                                     \
  } else {                                                                                 \
    ROWS_REVERSED(KILN_F32_MSTORE_AVX2)                                                    \
  }

/* ---- portable: the MR x NR accumulators as an array ---- */

/* The epilogue on acc (4 x 8) and the store of its mr x nr corner: the SIMD ends'
 * semantics (max/min as _mm*_max_ps/_mm*_min_ps with the bound second). */
static inline void kiln_f32_tile_end_portable(float acc[4][8], size_t mr, size_t nr, float *c,
                                              size_t ldc, const struct kiln_f32_epilogue *ep,
                                              uint32_t flags) {
  if (flags & KILN_GEMM_EPILOGUE) {
    assert(ep);
    for (size_t i = 0; i < 4; i++)
      for (size_t j = 0; j < 8; j++) {
        float v = acc[i][j] + (ep->bias && j < nr ? ep->bias[j] : 0.0f);
        if (ep->residual && i < mr && j < nr) v += ep->residual[i * ep->residual_stride + j];
        v = v > ep->min ? v : ep->min; /* _mm*_max_ps(v, min) semantics */
        v = v < ep->max ? v : ep->max;
        acc[i][j] = v;
      }
  }
  for (size_t i = 0; i < mr; i++)
    for (size_t j = 0; j < nr; j++)
      c[i * ldc + j] = acc[i][j];
}

#endif
