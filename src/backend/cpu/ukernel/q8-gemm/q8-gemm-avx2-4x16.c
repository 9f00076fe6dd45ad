/* q8-gemm-avx2-4x16.c — AVX2 int8 GEMM microkernel, 4 rows x 16 columns (8 ymm int32
 * accumulators). Exact for every u8 x s8 input: weights are packed as int16 pairs
 * (b[k], b[k+1]) per column, activations are zero-extended to int16 pairs with one
 * vpshufb, and vpmaddwd forms a[k]b[k] + a[k+1]b[k+1] in int32 (|.| <= 2*255*128, no
 * saturation). vpmaddubsw would take the bytes directly but saturates its int16 pair sum
 * (255*127*2 > 32767), so it is not used. Panel layout: per k pair, 16 columns x 2 int16.
 * Compiled with -mavx2 -mfma (CMakeLists.txt); called only when AVX2 is usable. */
#include "backend/cpu/ukernel/q8-requant.h"

#include <assert.h>
#include <immintrin.h>

enum { MR = 4, NR = 16 };

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

#define ROWS(X) X(0) X(1) X(2) X(3)

void kiln_q8_gemm_ukernel__avx2_4x16(size_t mr, size_t nr, size_t kc,
                                     const uint8_t *restrict a, size_t lda,
                                     const void *restrict w, void *restrict c, size_t ldc,
                                     const int32_t *restrict row_sum, uint8_t a_flip,
                                     const struct kiln_q8_requant *restrict rq) {
  assert(mr >= 1 && mr <= MR);
  assert(nr >= 1 && nr <= NR);
  assert(kc >= 1);
  assert(a && w && c && rq);
  const int32_t *colterm = w, *w_zp = colterm + NR;
  const int16_t *b = (const int16_t *)(w_zp + NR);

  /* Rows past mr alias the last real row (computed, never stored). */
#define DECL_ROW(i) const uint8_t *a##i = a + ((i) < mr ? (i) : mr - 1) * lda;
  ROWS(DECL_ROW)
#undef DECL_ROW

  /* Per dword (a[k], a[k+1], a[k+2], a[k+3]): int16 pairs (a[k], a[k+1]) and
   * (a[k+2], a[k+3]), zero-extended (index 0x80 writes 0). */
  const __m256i vpair01 = _mm256_set1_epi32((int)0x80018000u);
  const __m256i vpair23 = _mm256_set1_epi32((int)0x80038002u);
  const __m256i vflip = _mm256_set1_epi8((char)a_flip);

  const __m256i vinit0 = _mm256_loadu_si256((const __m256i *)colterm);
  const __m256i vinit1 = _mm256_loadu_si256((const __m256i *)(colterm + 8));
#define INIT_ROW(i) __m256i vacc##i##0 = vinit0, vacc##i##1 = vinit1;
  ROWS(INIT_ROW)
#undef INIT_ROW

  /* One step: 4 values of k (two pairs) for every row. `x##i` holds a row's 4 bytes. */
#define STEP_ROW(i)                                                                       \
  {                                                                                       \
    const __m256i va = _mm256_xor_si256(_mm256_set1_epi32((int)x##i), vflip);             \
    const __m256i va01 = _mm256_shuffle_epi8(va, vpair01);                                \
    const __m256i va23 = _mm256_shuffle_epi8(va, vpair23);                                \
    vacc##i##0 = _mm256_add_epi32(vacc##i##0, _mm256_madd_epi16(va01, vb0));              \
    vacc##i##1 = _mm256_add_epi32(vacc##i##1, _mm256_madd_epi16(va01, vb1));              \
    vacc##i##0 = _mm256_add_epi32(vacc##i##0, _mm256_madd_epi16(va23, vb2));              \
    vacc##i##1 = _mm256_add_epi32(vacc##i##1, _mm256_madd_epi16(va23, vb3));              \
  }
  size_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    const __m256i vb0 = _mm256_loadu_si256((const __m256i *)b);
    const __m256i vb1 = _mm256_loadu_si256((const __m256i *)(b + 16));
    const __m256i vb2 = _mm256_loadu_si256((const __m256i *)(b + 32));
    const __m256i vb3 = _mm256_loadu_si256((const __m256i *)(b + 48));
    b += 4 * NR;
#define LOAD_ROW(i)                                                                       \
  uint32_t x##i;                                                                          \
  memcpy(&x##i, a##i + k, 4);
    ROWS(LOAD_ROW)
#undef LOAD_ROW
    ROWS(STEP_ROW)
  }
  if (k < kc) { /* 1-3 last k: read only those bytes; the packed weights past K are 0 */
    const __m256i vb0 = _mm256_loadu_si256((const __m256i *)b);
    const __m256i vb1 = _mm256_loadu_si256((const __m256i *)(b + 16));
    const __m256i vb2 = _mm256_loadu_si256((const __m256i *)(b + 32));
    const __m256i vb3 = _mm256_loadu_si256((const __m256i *)(b + 48));
#define LOAD_ROW(i)                                                                       \
  uint32_t x##i = 0;                                                                      \
  memcpy(&x##i, a##i + k, kc - k);
    ROWS(LOAD_ROW)
#undef LOAD_ROW
    ROWS(STEP_ROW)
  }
#undef STEP_ROW

  if (row_sum) { /* - row_sum[i] * w_zp[n] (weights with nonzero zero points) */
    const __m256i vzp0 = _mm256_loadu_si256((const __m256i *)w_zp);
    const __m256i vzp1 = _mm256_loadu_si256((const __m256i *)(w_zp + 8));
#define ZP_ROW(i)                                                                         \
  {                                                                                       \
    const __m256i vs = _mm256_set1_epi32(row_sum[(i) < mr ? (i) : mr - 1]);               \
    vacc##i##0 = _mm256_sub_epi32(vacc##i##0, _mm256_mullo_epi32(vs, vzp0));              \
    vacc##i##1 = _mm256_sub_epi32(vacc##i##1, _mm256_mullo_epi32(vs, vzp1));              \
  }
    ROWS(ZP_ROW)
#undef ZP_ROW
  }

  const size_t n0 = nr < 8 ? nr : 8, n1 = nr > 8 ? nr - 8 : 0;
  const __m256i vmask0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - n0));
  const __m256i vmask1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - n1));
  const struct kiln_q8_rq256 v = kiln_q8_rq256_init(rq);
  if (kiln_q8_plain(rq)) { /* the QDQ requantize: column vectors once per tile */
    const __m256i vab0 = kiln_q8_acc_bias8(rq, 0, vmask0), vab1 = kiln_q8_acc_bias8(rq, 8, vmask1);
    const __m256 vs0 = kiln_q8_scale8(rq, 0, vmask0), vs1 = kiln_q8_scale8(rq, 8, vmask1);
    const int s8 = rq->out_type == KILN_Q8_OUT_S8;
    uint8_t *c8 = c;
#define STORE_ROW(i)                                                                      \
  if ((i) < mr) {                                                                         \
    kiln_q8_requant_plain8(vacc##i##0, vab0, vs0, &v, s8, n0, c8 + (i) * ldc);            \
    if (n1) kiln_q8_requant_plain8(vacc##i##1, vab1, vs1, &v, s8, n1, c8 + (i) * ldc + 8); \
  }
    ROWS(STORE_ROW)
#undef STORE_ROW
    return;
  }
#define STORE_ROW(i)                                                                      \
  if ((i) < mr) {                                                                         \
    kiln_q8_requant_store8(vacc##i##0, 0, n0, vmask0, rq, &v, c, (i) * ldc);              \
    if (n1)                                                                               \
      kiln_q8_requant_store8(vacc##i##1, 8, n1, vmask1, rq, &v, c, (i) * ldc + 8);        \
  }
  ROWS(STORE_ROW)
#undef STORE_ROW
}
