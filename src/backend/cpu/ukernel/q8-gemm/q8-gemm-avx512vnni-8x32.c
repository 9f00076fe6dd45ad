/* q8-gemm-avx512vnni-8x32.c — AVX-512 VNNI int8 GEMM microkernel, 8 rows x 32 columns:
 * 16 zmm int32 accumulators, 2 for the weights, the broadcast row and the sign flip (at
 * 12 rows GCC spilled accumulators and row pointers in the loop; 8 rows keep it clean). vpdpbusd multiplies u8 (the broadcast activations: s8 ones have their
 * sign bit flipped, a + 128, the packed column terms undo it) by s8 (the weights) and adds
 * four products per int32 lane without saturation (vpdpbusds would saturate), so the sum
 * is exact. Panel layout: per group of 4 k, 32 columns x 4 s8. Compiled with the AVX-512
 * flags plus -mavx512vnni (CMakeLists.txt); called only when the CPU has AVX512_VNNI. */
#include "backend/cpu/ukernel/q8-requant.h"

#include <assert.h>
#include <immintrin.h>
#include <stdbool.h>

enum { MR = 8, NR = 32 };

/* acc += a (u8) . b (s8), 4 products per lane: vpdpbusd in place. As an asm statement
 * because with the intrinsic GCC 12 copied every accumulator around each one (two moves
 * per vpdpbusd) and spilled some. */
typedef uint32_t u32_unaligned __attribute__((aligned(1), may_alias));
#define DPBUSD(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* The kernel for a constant row count mr (1..MR): the rows past it vanish at compile
 * time, so a GEMV (M = 1, a classifier) or a tile at the bottom edge does only its work. */
static inline __attribute__((always_inline)) void
gemm_rows(const size_t mr, size_t nr, size_t kc, const uint8_t *restrict a, size_t lda,
          const void *restrict w, void *restrict c, size_t ldc,
          const int32_t *restrict row_sum, uint8_t a_flip,
          const struct kiln_q8_requant *restrict rq) {
  const int32_t *colterm = w, *w_zp = colterm + NR;
  const int8_t *b = (const int8_t *)(w_zp + NR);

  /* Rows past mr are never read (their code is dead); they point at the last real row. */
#define DECL_ROW(i) const uint8_t *a##i = a + ((i) < mr ? (i) : mr - 1) * lda;
  ROWS(DECL_ROW)
#undef DECL_ROW

  const __m512i vflip = _mm512_set1_epi8((char)a_flip);
  const __m512i vinit0 = _mm512_loadu_si512(colterm);
  const __m512i vinit1 = _mm512_loadu_si512(colterm + 16);
#define INIT_ROW(i) __m512i vacc##i##0 = vinit0, vacc##i##1 = vinit1;
  ROWS(INIT_ROW)
#undef INIT_ROW

  /* The last 1-3 k (when K % 4 != 0) are read from zero-padded copies, so that every
   * step of the one loop below broadcasts 4 bytes from memory (the packed weights past K
   * are 0). One loop: with a separate tail step GCC spilled the accumulators in it. */
  const size_t kmain = kc & ~(size_t)3;
  uint32_t tail[MR] = {0};
#define TAIL_ROW(i) if ((i) < mr) memcpy(&tail[i], a##i + kmain, kc - kmain);
  if (kmain < kc) {
    ROWS(TAIL_ROW)
  }
#undef TAIL_ROW
  /* A row's 4 bytes broadcast straight from memory (a load, no vector ALU op); s8
   * activations get their sign bit flipped, u8 ones (flip 0) skip that xor: the loop is
   * written twice. */
#define BCAST(i) __m512i va##i = vflip;                                                   \
  if ((i) < mr)                                                                           \
    __asm__("vpbroadcastd %1, %0" : "=v"(va##i)                                            \
            : "m"(*(const u32_unaligned *)(main_k ? a##i + k : (const uint8_t *)&tail[i])));
#define FLIP(i) if ((i) < mr) va##i = _mm512_xor_si512(va##i, vflip);
#define STEP_ROW(i) if ((i) < mr) { DPBUSD(vacc##i##0, va##i, vb0); DPBUSD(vacc##i##1, va##i, vb1); }
#define K_LOOP(FLIP_ROWS)                                                                 \
  for (size_t k = 0; k < kc; k += 4) {                                                    \
    const __m512i vb0 = _mm512_loadu_si512(b);                                            \
    const __m512i vb1 = _mm512_loadu_si512(b + 64);                                       \
    b += 4 * NR;                                                                          \
    const bool main_k = k < kmain;                                                        \
    ROWS(BCAST)                                                                           \
    FLIP_ROWS                                                                             \
    ROWS(STEP_ROW)                                                                        \
  }
  if (a_flip) {
    K_LOOP(ROWS(FLIP))
  } else {
    K_LOOP()
  }
#undef K_LOOP
#undef BCAST
#undef FLIP
#undef STEP_ROW

  if (row_sum) { /* - row_sum[i] * w_zp[n] (weights with nonzero zero points) */
    const __m512i vzp0 = _mm512_loadu_si512(w_zp);
    const __m512i vzp1 = _mm512_loadu_si512(w_zp + 16);
#define ZP_ROW(i)                                                                         \
  if ((i) < mr) {                                                                         \
    const __m512i vs = _mm512_set1_epi32(row_sum[(i) < mr ? (i) : mr - 1]);               \
    vacc##i##0 = _mm512_sub_epi32(vacc##i##0, _mm512_mullo_epi32(vs, vzp0));              \
    vacc##i##1 = _mm512_sub_epi32(vacc##i##1, _mm512_mullo_epi32(vs, vzp1));              \
  }
    ROWS(ZP_ROW)
#undef ZP_ROW
  }

  const __mmask16 vmask0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
  const __mmask16 vmask1 = nr >= 32 ? 0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
  const struct kiln_q8_rq512 v = kiln_q8_rq512_init(rq);
  if (kiln_q8_plain(rq)) {
    const __m512i vab0 = kiln_q8_acc_bias16(rq, 0, vmask0), vab1 = kiln_q8_acc_bias16(rq, 16, vmask1);
    const __m512 vs0 = kiln_q8_scale16(rq, 0, vmask0), vs1 = kiln_q8_scale16(rq, 16, vmask1);
    uint8_t *c8 = c;
#define STORE_ROW(i)                                                                      \
  if ((i) < mr) {                                                                         \
    kiln_q8_requant_plain16(vacc##i##0, vab0, vs0, &v, vmask0, c8 + (i) * ldc);           \
    if (vmask1)                                                                           \
      kiln_q8_requant_plain16(vacc##i##1, vab1, vs1, &v, vmask1, c8 + (i) * ldc + 16);    \
  }
    ROWS(STORE_ROW)
#undef STORE_ROW
    return;
  }
#define STORE_ROW(i)                                                                      \
  if ((i) < mr) {                                                                         \
    kiln_q8_requant_store16(vacc##i##0, 0, vmask0, rq, &v, c, (i) * ldc);                 \
    if (vmask1)                                                                           \
      kiln_q8_requant_store16(vacc##i##1, 16, vmask1, rq, &v, c, (i) * ldc + 16);         \
  }
  ROWS(STORE_ROW)
#undef STORE_ROW
}

void kiln_q8_gemm_ukernel__avx512vnni_8x32(size_t mr, size_t nr, size_t kc,
                                            const uint8_t *restrict a, size_t lda,
                                            const void *restrict w, void *restrict c,
                                            size_t ldc, const int32_t *restrict row_sum,
                                            uint8_t a_flip,
                                            const struct kiln_q8_requant *restrict rq) {
  assert(mr >= 1 && mr <= MR);
  assert(nr >= 1 && nr <= NR);
  assert(kc >= 1);
  assert(a && w && c && rq);
  switch (mr) {
#define CASE(m)                                                                           \
  case m: gemm_rows(m, nr, kc, a, lda, w, c, ldc, row_sum, a_flip, rq); return;
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7)
#undef CASE
  default: gemm_rows(MR, nr, kc, a, lda, w, c, ldc, row_sum, a_flip, rq); return;
  }
}
