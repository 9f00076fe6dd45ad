/* q8-gemm-portable-4x8.c — the portable C int8 GEMM microkernel (contract: kiln_q8_gemm_
 * ukernel_t in ukernel.h): the kernel of CPUs without AVX2 and the reference the SIMD
 * variants must equal bit for bit. Panel layout: [K rounded up to 4][8] s8.
 * Accumulates in uint32 so that the (intended) wrap-around modulo 2^32 of the folded
 * zero-point terms is defined behavior; the final value is exact (q8gemm.c). */
#include "backend/cpu/ukernel/q8-requant.h"

#include <assert.h>

enum { MR = 4, NR = 8 };

void kiln_q8_gemm_ukernel__portable_4x8(size_t mr, size_t nr, size_t kc,
                                        const uint8_t *restrict a, size_t lda,
                                        const void *restrict w, void *restrict c, size_t ldc,
                                        const int32_t *restrict row_sum, uint8_t a_flip,
                                        const struct kiln_q8_requant *restrict rq) {
  assert(mr >= 1 && mr <= MR);
  assert(nr >= 1 && nr <= NR);
  assert(kc >= 1);
  assert(a && w && c && rq);
  const int32_t *colterm = w, *w_zp = colterm + NR;
  const int8_t *b = (const int8_t *)(w_zp + NR);

  uint32_t acc[MR][NR];
  for (size_t i = 0; i < mr; i++)
    for (size_t j = 0; j < NR; j++)
      acc[i][j] = (uint32_t)colterm[j];
  for (size_t k = 0; k < kc; k++, b += NR)
    for (size_t i = 0; i < mr; i++) {
      const int32_t av = (uint8_t)(a[i * lda + k] ^ a_flip);
      for (size_t j = 0; j < NR; j++)
        acc[i][j] += (uint32_t)(av * b[j]);
    }
  if (row_sum)
    for (size_t i = 0; i < mr; i++)
      for (size_t j = 0; j < NR; j++)
        acc[i][j] -= (uint32_t)row_sum[i] * (uint32_t)w_zp[j];

  float lo, hi;
  kiln_q8_qbounds(rq, &lo, &hi);
  for (size_t i = 0; i < mr; i++)
    for (size_t j = 0; j < nr; j++)
      kiln_q8_requant_store1((int32_t)acc[i][j], j, rq, lo, hi, c, i * ldc + j);
}
