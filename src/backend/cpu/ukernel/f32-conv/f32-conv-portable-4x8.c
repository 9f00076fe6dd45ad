/* f32-conv-portable-4x8.c — the portable C conv (indirect GEMM) microkernel: the
 * reference the SIMD variants are tested against, and the kernel of CPUs without AVX2. */
#include "backend/cpu/ukernel/f32-tile.h"
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>

enum { MR = 4, NR = 8 }; /* f32-tile.h's portable end assumes 4 x 8 */

void kiln_f32_conv_ukernel__portable_4x8(size_t mr, size_t nr, size_t kc, size_t ks,
                                         const float *const *restrict a,
                                         const float *const *restrict w, float *restrict c,
                                         size_t ldc,
                                         const struct kiln_f32_epilogue *restrict ep,
                                         uint32_t flags) {
  assert(mr >= 1 && mr <= MR);
  assert(nr >= 1 && nr <= NR);
  assert(kc >= 1);
  assert(c && (ks == 0 || (a && w)));

  float acc[MR][NR];
  for (size_t i = 0; i < MR; i++)
    for (size_t j = 0; j < NR; j++)
      acc[i][j] = (flags & KILN_GEMM_ACCUMULATE) && i < mr && j < nr ? c[i * ldc + j] : 0.0f;

  for (size_t t = 0; t < ks; t++) {
    const float *const *arow = a + t * MR;
    for (size_t k = 0; k < kc; k++) {
      const float *b = w[t] + k * NR;
      for (size_t i = 0; i < MR; i++) {
        const float av = arow[i][k];
        for (size_t j = 0; j < NR; j++)
          acc[i][j] += av * b[j];
      }
    }
  }

  kiln_f32_tile_end_portable(acc, mr, nr, c, ldc, ep, flags);
}
