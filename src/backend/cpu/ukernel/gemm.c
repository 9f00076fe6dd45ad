/* gemm.c — B packing and the f32 GEMM driver: loops a microkernel over MR x NR tiles of
 * a tile range. Loop order: N block, M tile, K block, N tile. Each MR x kc block of A is
 * copied into a 32 KiB buffer on the stack (`apack`) and used for the N tiles of the
 * block; B panels stream from L2/L3; the tile row of C stays in L2 across K blocks.
 *
 * Why copy A: rows of A with a power-of-two stride (K = 1024: 4 KiB) all map to one L1
 * set, and the 14 rows of the AVX-512 tile are more than its ways (12 on Zen 5): every
 * broadcasts kept missing L1 (1024^3 ran at ~80% of peak). The copy has a row stride that is not a
 * multiple of 4 KiB. Why this loop order: the copy is paid once per (tile row, N block),
 * so N blocks are wide; measured on Zen 5, copying A once more per N block costs more
 * than streaming B from L3 (B panels are read sequentially, which the prefetchers hide). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <math.h>
#include <string.h>

enum {
  A_PACK_BYTES = 32 * 1024,        /* one copied MR x kc block of A (L1, or L2 beside B) */
  B_BLOCK_BYTES = 4 * 1024 * 1024, /* the B panels of one N block, all of K (L3) */
};

size_t kiln_f32_gemm_packed_b_size(size_t K, size_t N, size_t nr) {
  return (N + nr - 1) / nr * nr * K;
}

void kiln_f32_gemm_pack_b(size_t K, size_t N, size_t nr, const float *B, size_t ldb,
                          float *packed) {
  assert(nr >= 1 && ldb >= N);
  for (size_t n0 = 0; n0 < N; n0 += nr) {
    for (size_t k = 0; k < K; k++) {
      for (size_t j = 0; j < nr; j++)
        packed[j] = n0 + j < N ? B[k * ldb + n0 + j] : 0.0f;
      packed += nr;
    }
  }
}

size_t kiln_f32_gemm_tile_count(size_t M, size_t N, const struct kiln_ukernel *kernel) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_gemm);
  return (M + kernel->mr - 1) / kernel->mr * ((N + kernel->nr - 1) / kernel->nr);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }
static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

void kiln_f32_gemm(size_t M, size_t N, size_t K, const float *A, size_t lda,
                   const float *packed_b, float *C, size_t ldc,
                   const struct kiln_f32_gemm_params *params,
                   const struct kiln_ukernel *kernel, size_t tile_begin, size_t tile_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_f32_gemm);
  assert(params && K >= 1 && lda >= K && ldc >= N);
  const size_t mr = kernel->mr, nr = kernel->nr;
  const size_t m_tiles = (M + mr - 1) / mr;
  assert(tile_end <= m_tiles * ((N + nr - 1) / nr));
  if (tile_begin >= tile_end)
    return;
  const kiln_f32_gemm_ukernel_fn ukernel = kernel->fn.f32_gemm;

  /* K blocks of balanced size, at most what fits the copy buffer with its row stride:
   * kc rounded up to a cache line plus one line (rows start in different L1 sets). */
  _Alignas(64) float apack[A_PACK_BYTES / sizeof(float)];
  assert(mr * 32 <= A_PACK_BYTES / sizeof(float));
  const size_t kc_max = (A_PACK_BYTES / sizeof(float) / mr - 16) / 16 * 16;
  const size_t k_blocks = (K + kc_max - 1) / kc_max;
  const size_t kc = (K + k_blocks - 1) / k_blocks;
  const size_t ld_pack = (kc + 15) / 16 * 16 + 16;
  assert(mr * ld_pack <= A_PACK_BYTES / sizeof(float));
  const size_t n_block = max_size(1, B_BLOCK_BYTES / (nr * K * sizeof(float))); /* tiles */

  const struct kiln_f32_epilogue *ep = &params->ep;
  const int need_ep = ep->bias || ep->min > -INFINITY || ep->max < INFINITY;

  const size_t nt_first = tile_begin / m_tiles, nt_last = (tile_end - 1) / m_tiles;
  for (size_t jb = nt_first; jb <= nt_last; jb += n_block) {
    const size_t jb_end = min_size(jb + n_block, nt_last + 1);
    for (size_t i = 0; i < m_tiles; i++) {
      /* Columns of this N block whose tile (i, j) is in the range: only the range's first
       * and last columns can be partial. */
      size_t j_lo = jb, j_hi = jb_end;
      if (j_lo == nt_first && j_lo * m_tiles + i < tile_begin)
        j_lo++;
      if (j_hi - 1 == nt_last && (j_hi - 1) * m_tiles + i >= tile_end)
        j_hi--;
      if (j_lo >= j_hi)
        continue;
      const size_t m0 = i * mr, mcur = min_size(mr, M - m0);
      for (size_t k0 = 0; k0 < K; k0 += kc) {
        const size_t kcur = min_size(kc, K - k0);
        const uint32_t flags = (k0 > 0 || params->accumulate ? KILN_GEMM_ACCUMULATE : 0) |
                               (k0 + kcur == K && need_ep ? KILN_GEMM_EPILOGUE : 0);
        /* The kernels read rows past mcur from row mcur-1: only real rows are copied. */
        for (size_t r = 0; r < mcur; r++)
          memcpy(apack + r * ld_pack, A + (m0 + r) * lda + k0, kcur * sizeof(float));
        for (size_t j = j_lo; j < j_hi; j++) {
          const size_t n0 = j * nr;
          const struct kiln_f32_epilogue tile_ep = {
              .bias = ep->bias ? ep->bias + n0 : NULL, .min = ep->min, .max = ep->max};
          ukernel(mcur, min_size(nr, N - n0), kcur, apack, ld_pack,
                  packed_b + (j * K + k0) * nr, C + m0 * ldc + n0, ldc, &tile_ep, flags);
        }
      }
    }
  }
}
