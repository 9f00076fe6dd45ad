/* q8-requant.h — the int8 requantizing epilogue (struct kiln_q8_requant in ukernel.h) for
 * every int8 kernel: a scalar version (portable kernels, tails) and, when the including
 * file is compiled for them, AVX2 (8 lanes) and AVX-512 (16 lanes) versions. All compute
 * the documented formula with the same f32 operations in the same order, so they agree
 * bit for bit: no FMA (the library is ISO C11: GCC does not contract), IEEE division,
 * cvtps2dq under the default round-to-nearest-even (= nearbyintf).
 *
 * Saturation is done in float before the conversion: clamping q to [qmin - zp, qmax - zp]
 * (integers) and then rounding equals rounding and then clamping, and keeps out-of-range
 * values away from cvtps2dq's 0x80000000 "integer indefinite" (which would turn a large
 * positive value negative). */
#ifndef KILN_UKERNEL_Q8_REQUANT_H
#define KILN_UKERNEL_Q8_REQUANT_H
#include "backend/cpu/ukernel/ukernel.h"

#include <math.h>
#include <string.h>

/* The vector versions skip the steps that cannot change a value: the division when
 * out_scale is 1 (x / 1 is x, NaN included) and the f clamp when min/max are infinite (a
 * NaN f would become min = -inf there and then lo; without the clamp the q clamp, whose
 * max_ps returns its second operand for NaN, makes it lo too). The int8 QDQ epilogues
 * (scale M, out_scale 1, no clamp) are the common case, and vdivps is their costliest
 * instruction. */
static inline int kiln_q8_needs_div(const struct kiln_q8_requant *rq) {
  return rq->out_scale != 1.0f;
}
static inline int kiln_q8_needs_clamp(const struct kiln_q8_requant *rq) {
  return rq->min != -INFINITY || rq->max != INFINITY;
}

/* The QDQ requantize of quantize_convs.c: an 8-bit output, no f32 bias, no clamp,
 * out_scale 1, so y = saturate(roundeven(f32(acc + acc_bias) * scale) + zp). Kernels
 * run it with the per-column vectors loaded once per tile and no branch per vector. */
static inline int kiln_q8_plain(const struct kiln_q8_requant *rq) {
  return (rq->out_type == KILN_Q8_OUT_U8 || rq->out_type == KILN_Q8_OUT_S8) && !rq->bias &&
         !kiln_q8_needs_div(rq) && !kiln_q8_needs_clamp(rq);
}

/* Float bounds of q = f / out_scale before rounding: [qmin - zp, qmax - zp]. */
static inline void kiln_q8_qbounds(const struct kiln_q8_requant *rq, float *lo, float *hi) {
  const int32_t qmin = rq->out_type == KILN_Q8_OUT_S8 ? -128 : 0;
  const int32_t qmax = rq->out_type == KILN_Q8_OUT_S8 ? 127 : 255;
  *lo = (float)(qmin - rq->out_zp), *hi = (float)(qmax - rq->out_zp);
}

/* Requantizes acc of column `col` (rq->scale/bias index) and stores it as element `idx`
 * of c (an array of rq->out_type). lo/hi from kiln_q8_qbounds. */
static inline void kiln_q8_requant_store1(int32_t acc, size_t col,
                                          const struct kiln_q8_requant *rq, float lo,
                                          float hi, void *c, size_t idx) {
  if (rq->acc_bias)
    acc = (int32_t)((uint32_t)acc + (uint32_t)rq->acc_bias[col]);
  if (rq->out_type == KILN_Q8_OUT_I32) {
    ((int32_t *)c)[idx] = acc;
    return;
  }
  float f = (float)acc * rq->scale[col];
  if (rq->bias)
    f = f + rq->bias[col];
  f = f > rq->min ? f : rq->min; /* _mm*_max_ps(f, min): a NaN f becomes min */
  f = f < rq->max ? f : rq->max;
  if (rq->out_type == KILN_Q8_OUT_F32) {
    ((float *)c)[idx] = f;
    return;
  }
  float q = rq->out_scale == 1.0f ? f : f / rq->out_scale;
  q = q > lo ? q : lo;
  q = q < hi ? q : hi;
  const int32_t y = (int32_t)nearbyintf(q) + rq->out_zp;
  if (rq->out_type == KILN_Q8_OUT_U8)
    ((uint8_t *)c)[idx] = (uint8_t)y;
  else
    ((int8_t *)c)[idx] = (int8_t)y;
}

#ifdef __AVX2__
#include <immintrin.h>

/* The epilogue's constants in ymm registers. */
struct kiln_q8_rq256 {
  __m256 min, max, div, lo, hi;
  __m256i zp;
  int divide, clamp; /* kiln_q8_needs_div / kiln_q8_needs_clamp */
};

static inline struct kiln_q8_rq256 kiln_q8_rq256_init(const struct kiln_q8_requant *rq) {
  float lo, hi;
  kiln_q8_qbounds(rq, &lo, &hi);
  const struct kiln_q8_rq256 v = {
      .min = _mm256_set1_ps(rq->min), .max = _mm256_set1_ps(rq->max),
      .div = _mm256_set1_ps(rq->out_scale), .lo = _mm256_set1_ps(lo),
      .hi = _mm256_set1_ps(hi), .zp = _mm256_set1_epi32(rq->out_zp),
      .divide = kiln_q8_needs_div(rq), .clamp = kiln_q8_needs_clamp(rq)};
  return v;
}

/* The last step of both 8-lane epilogues: q (= f / out_scale) clamped to the output's
 * bounds, rounded half to even, plus the zero point, stored as n (1..8) bytes (u8, or s8
 * when is_s8) at dst. In range, so the saturating packs are exact. */
static inline void kiln_q8_store_q8(__m256 q, const struct kiln_q8_rq256 *v, int is_s8, size_t n,
                                    uint8_t *dst) {
  q = _mm256_min_ps(_mm256_max_ps(q, v->lo), v->hi);
  const __m256i y = _mm256_add_epi32(_mm256_cvtps_epi32(q), v->zp);
  const __m128i y16 = _mm_packs_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
  const __m128i y8 = is_s8 ? _mm_packs_epi16(y16, y16) : _mm_packus_epi16(y16, y16);
  if (n == 8) {
    _mm_storel_epi64((__m128i *)dst, y8);
  } else {
    uint8_t tmp[16];
    _mm_storeu_si128((__m128i *)tmp, y8);
    memcpy(dst, tmp, n);
  }
}

/* Requantizes 8 accumulators of columns [col, col + n) (1 <= n <= 8) and stores them at
 * elements [idx, idx + n) of c. mask: the first n lanes on (for the f32/i32 accesses). */
static inline void kiln_q8_requant_store8(__m256i acc, size_t col, size_t n, __m256i mask,
                                          const struct kiln_q8_requant *rq,
                                          const struct kiln_q8_rq256 *v, void *c,
                                          size_t idx) {
  if (rq->acc_bias)
    acc = _mm256_add_epi32(acc, n == 8 ? _mm256_loadu_si256((const __m256i *)(rq->acc_bias + col))
                                       : _mm256_maskload_epi32((const int *)(rq->acc_bias + col), mask));
  if (rq->out_type == KILN_Q8_OUT_I32) {
    if (n == 8)
      _mm256_storeu_si256((__m256i *)((int32_t *)c + idx), acc);
    else
      _mm256_maskstore_epi32((int *)((int32_t *)c + idx), mask, acc);
    return;
  }
  const __m256 scale = n == 8 ? _mm256_loadu_ps(rq->scale + col)
                              : _mm256_maskload_ps(rq->scale + col, mask);
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale);
  if (rq->bias)
    f = _mm256_add_ps(f, n == 8 ? _mm256_loadu_ps(rq->bias + col)
                                : _mm256_maskload_ps(rq->bias + col, mask));
  if (v->clamp)
    f = _mm256_min_ps(_mm256_max_ps(f, v->min), v->max);
  if (rq->out_type == KILN_Q8_OUT_F32) {
    if (n == 8)
      _mm256_storeu_ps((float *)c + idx, f);
    else
      _mm256_maskstore_ps((float *)c + idx, mask, f);
    return;
  }
  kiln_q8_store_q8(v->divide ? _mm256_div_ps(f, v->div) : f, v,
                   rq->out_type == KILN_Q8_OUT_S8, n, (uint8_t *)c + idx);
}

/* kiln_q8_requant_store8 when kiln_q8_plain(rq): acc_bias (zero without one) and scale
 * are the 8 columns' vectors; stores n (1..8) bytes at dst, u8 or s8 per is_s8. The same
 * operations in the same order as the general version, so the same bits. */
static inline void kiln_q8_requant_plain8(__m256i acc, __m256i acc_bias, __m256 scale,
                                          const struct kiln_q8_rq256 *v, int is_s8, size_t n,
                                          uint8_t *dst) {
  kiln_q8_store_q8(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc, acc_bias)), scale), v,
                   is_s8, n, dst);
}

/* The per-column vectors of kiln_q8_requant_plain8 for columns [col, col + 8) under mask. */
static inline __m256i kiln_q8_acc_bias8(const struct kiln_q8_requant *rq, size_t col,
                                        __m256i mask) {
  return rq->acc_bias ? _mm256_maskload_epi32((const int *)(rq->acc_bias + col), mask)
                      : _mm256_setzero_si256();
}
static inline __m256 kiln_q8_scale8(const struct kiln_q8_requant *rq, size_t col, __m256i mask) {
  return _mm256_maskload_ps(rq->scale + col, mask);
}
#endif /* __AVX2__ */

#ifdef __AVX512F__
/* The epilogue's constants in zmm registers. */
struct kiln_q8_rq512 {
  __m512 min, max, div, lo, hi;
  __m512i zp;
  int divide, clamp; /* kiln_q8_needs_div / kiln_q8_needs_clamp */
};

static inline struct kiln_q8_rq512 kiln_q8_rq512_init(const struct kiln_q8_requant *rq) {
  float lo, hi;
  kiln_q8_qbounds(rq, &lo, &hi);
  const struct kiln_q8_rq512 v = {
      .min = _mm512_set1_ps(rq->min), .max = _mm512_set1_ps(rq->max),
      .div = _mm512_set1_ps(rq->out_scale), .lo = _mm512_set1_ps(lo),
      .hi = _mm512_set1_ps(hi), .zp = _mm512_set1_epi32(rq->out_zp),
      .divide = kiln_q8_needs_div(rq), .clamp = kiln_q8_needs_clamp(rq)};
  return v;
}

/* The last step of both 16-lane epilogues: q clamped to the output's bounds, rounded half
 * to even, plus the zero point, stored as bytes at dst under mask (in range for the output
 * type, so vpmovdb's truncation is the value, u8 or s8). */
static inline void kiln_q8_store_q16(__m512 q, const struct kiln_q8_rq512 *v, __mmask16 mask,
                                     uint8_t *dst) {
  q = _mm512_min_ps(_mm512_max_ps(q, v->lo), v->hi);
  _mm512_mask_cvtepi32_storeu_epi8(dst, mask, _mm512_add_epi32(_mm512_cvtps_epi32(q), v->zp));
}

/* Requantizes 16 accumulators of columns [col, col + 16) under `mask` and stores them at
 * elements [idx, idx + 16) of c (masked lanes are neither read nor written). */
static inline void kiln_q8_requant_store16(__m512i acc, size_t col, __mmask16 mask,
                                           const struct kiln_q8_requant *rq,
                                           const struct kiln_q8_rq512 *v, void *c,
                                           size_t idx) {
  if (rq->acc_bias)
    acc = _mm512_add_epi32(acc, _mm512_maskz_loadu_epi32(mask, rq->acc_bias + col));
  if (rq->out_type == KILN_Q8_OUT_I32) {
    _mm512_mask_storeu_epi32((int32_t *)c + idx, mask, acc);
    return;
  }
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_maskz_loadu_ps(mask, rq->scale + col));
  if (rq->bias)
    f = _mm512_add_ps(f, _mm512_maskz_loadu_ps(mask, rq->bias + col));
  if (v->clamp)
    f = _mm512_min_ps(_mm512_max_ps(f, v->min), v->max);
  if (rq->out_type == KILN_Q8_OUT_F32) {
    _mm512_mask_storeu_ps((float *)c + idx, mask, f);
    return;
  }
  kiln_q8_store_q16(v->divide ? _mm512_div_ps(f, v->div) : f, v, mask, (uint8_t *)c + idx);
}

/* kiln_q8_requant_store16 when kiln_q8_plain(rq): acc_bias (zero without one) and scale
 * are the 16 columns' vectors; stores bytes at dst under mask. The same operations in the
 * same order as the general version, so the same bits. */
static inline void kiln_q8_requant_plain16(__m512i acc, __m512i acc_bias, __m512 scale,
                                           const struct kiln_q8_rq512 *v, __mmask16 mask,
                                           uint8_t *dst) {
  kiln_q8_store_q16(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc, acc_bias)), scale), v,
                    mask, dst);
}

/* The per-column vectors of kiln_q8_requant_plain16 for columns [col, col + 16). */
static inline __m512i kiln_q8_acc_bias16(const struct kiln_q8_requant *rq, size_t col,
                                         __mmask16 mask) {
  return rq->acc_bias ? _mm512_maskz_loadu_epi32(mask, rq->acc_bias + col) : _mm512_setzero_si512();
}
static inline __m512 kiln_q8_scale16(const struct kiln_q8_requant *rq, size_t col,
                                     __mmask16 mask) {
  return _mm512_maskz_loadu_ps(mask, rq->scale + col);
}
#endif /* __AVX512F__ */
#endif
