/* gemm.c — B packing and the f32 GEMM driver: loops a microkernel over MR x NR tiles of
 * a tile range, blocking K and N for the caches (Goto's loop order: N block, K block,
 * M block, N tile, M tile, so a kc x NR panel of B stays in L1 across the M tiles and a
 * block of A rows stays in L2 across the N tiles). */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <math.h>

/* Cache budgets (bytes), conservative for the machines we run on (Zen 1: 32 KiB L1d,
 * 512 KiB L2; newer parts have more). */
enum {
  L1_PANEL_BYTES = 16 * 1024,  /* one kc x NR panel of B (half of L1: A rows share it) */
  L2_A_BYTES = 192 * 1024,     /* one mc x kc block of A */
  L2_B_BYTES = 384 * 1024,     /* one kc x nc block of B */
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

  /* K blocks of balanced size, at most what keeps a B panel in L1. */
  const size_t kc_max = max_size(64, L1_PANEL_BYTES / (nr * sizeof(float)));
  const size_t k_blocks = (K + kc_max - 1) / kc_max;
  const size_t kc = (K + k_blocks - 1) / k_blocks;
  const size_t m_block = max_size(1, L2_A_BYTES / (mr * kc * sizeof(float))); /* tiles */
  const size_t n_block = max_size(1, L2_B_BYTES / (nr * kc * sizeof(float))); /* tiles */

  const struct kiln_f32_epilogue *ep = &params->ep;
  const int need_ep = ep->bias || ep->min > -INFINITY || ep->max < INFINITY;

  const size_t nt_first = tile_begin / m_tiles, nt_last = (tile_end - 1) / m_tiles;
  for (size_t jb = nt_first; jb <= nt_last; jb += n_block) {
    const size_t jb_end = min_size(jb + n_block, nt_last + 1);
    for (size_t k0 = 0; k0 < K; k0 += kc) {
      const size_t kcur = min_size(kc, K - k0);
      const uint32_t flags = (k0 > 0 || params->accumulate ? KILN_GEMM_ACCUMULATE : 0) |
                             (k0 + kcur == K && need_ep ? KILN_GEMM_EPILOGUE : 0);
      for (size_t ib = 0; ib < m_tiles; ib += m_block) {
        const size_t ib_end = min_size(ib + m_block, m_tiles);
        for (size_t j = jb; j < jb_end; j++) {
          /* The M tiles of column j inside the range, inside this M block. */
          const size_t lo = max_size(ib, j == nt_first ? tile_begin % m_tiles : 0);
          const size_t hi = min_size(ib_end, j == nt_last ? (tile_end - 1) % m_tiles + 1 : m_tiles);
          const size_t n0 = j * nr, ncur = min_size(nr, N - n0);
          const float *w = packed_b + (j * K + k0) * nr;
          const struct kiln_f32_epilogue tile_ep = {
              .bias = ep->bias ? ep->bias + n0 : NULL, .min = ep->min, .max = ep->max};
          for (size_t i = lo; i < hi; i++) {
            const size_t m0 = i * mr;
            ukernel(min_size(mr, M - m0), ncur, kcur, A + m0 * lda + k0, lda, w,
                    C + m0 * ldc + n0, ldc, &tile_ep, flags);
          }
        }
      }
    }
  }
}
