/* gemm.c — B packing and the f32 GEMM driver: loops a microkernel over MR x NR tiles of
 * a tile range, in one of two ways.
 *
 * Direct (most shapes): Goto's loop order, N block, K block, M block, N tile, M tile, so
 * a kc x NR panel of B stays in L1 across the M tiles and a block of A rows stays in L2
 * across the N tiles; the kernel reads A in place.
 *
 * Copied A, when many rows of a tile would share an L1 set: rows at a stride that is a
 * multiple of 4 KiB (K = 1024 floats) all map to one set, and the 14 rows of the AVX-512
 * tile are more than its ways (12 on Zen 5), so its broadcasts kept missing L1 (1024^3
 * ran at ~82% of peak). Loop order: N block, M tile, K block, N tile. Each MR x kc block
 * of A is copied into a 32 KiB buffer on the stack (row stride kc rounded up to a line,
 * plus one line: rows in different sets) and used for all N tiles of a wide N block,
 * whose B panels stream from L2/L3; the C tile row stays in L2 across K blocks. Measured
 * on Zen 5: narrower N blocks (B in L2) copy A more often and lose more than streaming B
 * costs. Where rows do not alias, or a copy serves few N tiles, it does not pay for
 * itself (3136x24x144: 0.77x, one N tile per copy; 3136x64x512: 0.86x, two), hence the
 * two ways. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* Cache budgets (bytes), conservative for the machines we run on (Zen 1: 32 KiB L1d,
 * 512 KiB L2; newer parts have more); the L1/L2 ones are capped by this machine's caches
 * (kiln_cache_budget: 1/2 of L1d, 3/8 and 3/4 of L2). */
enum {
  L1_PANEL_BYTES = 16 * 1024,      /* direct: one kc x NR panel of B (half of L1) */
  L2_A_BYTES = 192 * 1024,         /* direct: one mc x kc block of A */
  L2_B_BYTES = 384 * 1024,         /* direct: one kc x nc block of B */
  A_COPY_BYTES = 32 * 1024,        /* copied: one MR x kc block of A, on the stack */
  B_BLOCK_BYTES = 4 * 1024 * 1024, /* copied: the B panels of one N block, all of K */
  L1_SET_SPAN = 4096,              /* addresses this far apart share an L1 set (64 sets) */
  ROWS_PER_SET_MAX = 4,            /* more rows of a tile in one set: copy A ... */
  COPY_MIN_N_TILES = 8,            /* ... if there are this many N tiles to reuse it */
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

/* Everything a tile loop needs besides the loop bounds. */
struct gemm_call {
  size_t M, N, K, lda, ldc, mr, nr, m_tiles, tile_begin, tile_end;
  const float *A, *packed_b;
  float *C;
  const struct kiln_f32_gemm_params *params;
  kiln_f32_gemm_ukernel_fn ukernel;
  int need_ep;
};

/* Few M tiles share each B panel (ResNet's 7x7 layers: 4 of them): B streams from
 * memory, the microkernel is asked to prefetch it. */
enum { PREFETCH_MAX_M_TILES = 4 };

static uint32_t k_flags(const struct gemm_call *g, size_t k0, size_t kcur) {
  return (k0 > 0 || g->params->accumulate ? KILN_GEMM_ACCUMULATE : 0) |
         (k0 + kcur == g->K && g->need_ep ? KILN_GEMM_EPILOGUE : 0) |
         (g->m_tiles <= PREFETCH_MAX_M_TILES ? KILN_GEMM_PREFETCH_B : 0);
}

static inline void run_tile(const struct gemm_call *g, size_t i, size_t j, size_t k0,
                            size_t kcur, const float *a, size_t lda, uint32_t flags) {
  const struct kiln_f32_epilogue *ep = &g->params->ep;
  const size_t m0 = i * g->mr, n0 = j * g->nr;
  const struct kiln_f32_epilogue tile_ep = {
      .bias = ep->bias ? ep->bias + n0 : NULL, .min = ep->min, .max = ep->max,
      .residual = ep->residual ? ep->residual + m0 * ep->residual_stride + n0 : NULL,
      .residual_stride = ep->residual_stride};
  g->ukernel(min_size(g->mr, g->M - m0), min_size(g->nr, g->N - n0), kcur, a, lda,
             g->packed_b + (j * g->K + k0) * g->nr, g->C + m0 * g->ldc + n0, g->ldc, &tile_ep,
             flags);
}

static void gemm_direct(const struct gemm_call *g) {
  const size_t mr = g->mr, nr = g->nr, K = g->K, m_tiles = g->m_tiles;
  /* K blocks of balanced size, at most what keeps a B panel in L1. */
  /* whole_k (a GEMV: a classifier's 1 x 2048 x 1000): no row reuses a B panel, so K is
   * not blocked and each call streams one whole panel, contiguous in memory. */
  const size_t l1_panel = kiln_cache_budget(L1_PANEL_BYTES, 1, 1, 2);
  const size_t kc_max = g->params->whole_k ? K : max_size(64, l1_panel / (nr * sizeof(float)));
  const size_t k_blocks = (K + kc_max - 1) / kc_max;
  const size_t kc = (K + k_blocks - 1) / k_blocks;
  const size_t m_block = max_size(1, kiln_cache_budget(L2_A_BYTES, 2, 3, 8) / (mr * kc * sizeof(float)));
  const size_t n_block = max_size(1, kiln_cache_budget(L2_B_BYTES, 2, 3, 4) / (nr * kc * sizeof(float)));

  const size_t nt_first = g->tile_begin / m_tiles, nt_last = (g->tile_end - 1) / m_tiles;
  for (size_t jb = nt_first; jb <= nt_last; jb += n_block) {
    const size_t jb_end = min_size(jb + n_block, nt_last + 1);
    for (size_t k0 = 0; k0 < K; k0 += kc) {
      const size_t kcur = min_size(kc, K - k0);
      const uint32_t flags = k_flags(g, k0, kcur);
      for (size_t ib = 0; ib < m_tiles; ib += m_block) {
        const size_t ib_end = min_size(ib + m_block, m_tiles);
        for (size_t j = jb; j < jb_end; j++) {
          /* The M tiles of column j inside the range, inside this M block. */
          const size_t lo = max_size(ib, j == nt_first ? g->tile_begin % m_tiles : 0);
          const size_t hi =
              min_size(ib_end, j == nt_last ? (g->tile_end - 1) % m_tiles + 1 : m_tiles);
          for (size_t i = lo; i < hi; i++)
            run_tile(g, i, j, k0, kcur, g->A + i * mr * g->lda + k0, g->lda, flags);
        }
      }
    }
  }
}

static void gemm_copied_a(const struct gemm_call *g) {
  const size_t mr = g->mr, nr = g->nr, K = g->K, m_tiles = g->m_tiles;
  /* K blocks of balanced size, at most what fits the buffer at the padded row stride. */
  _Alignas(64) float apack[A_COPY_BYTES / sizeof(float)];
  assert(mr * 32 <= A_COPY_BYTES / sizeof(float));
  const size_t kc_max = (A_COPY_BYTES / sizeof(float) / mr - 16) / 16 * 16;
  const size_t k_blocks = (K + kc_max - 1) / kc_max;
  const size_t kc = (K + k_blocks - 1) / k_blocks;
  const size_t ld_pack = (kc + 15) / 16 * 16 + 16;
  assert(mr * ld_pack <= A_COPY_BYTES / sizeof(float));
  const size_t n_block = max_size(1, B_BLOCK_BYTES / (nr * K * sizeof(float))); /* tiles */

  const size_t nt_first = g->tile_begin / m_tiles, nt_last = (g->tile_end - 1) / m_tiles;
  for (size_t jb = nt_first; jb <= nt_last; jb += n_block) {
    const size_t jb_end = min_size(jb + n_block, nt_last + 1);
    for (size_t i = 0; i < m_tiles; i++) {
      /* Columns of this N block whose tile (i, j) is in the range: only the range's first
       * and last columns can be partial. */
      size_t j_lo = jb, j_hi = jb_end;
      if (j_lo == nt_first && j_lo * m_tiles + i < g->tile_begin)
        j_lo++;
      if (j_hi - 1 == nt_last && (j_hi - 1) * m_tiles + i >= g->tile_end)
        j_hi--;
      if (j_lo >= j_hi)
        continue;
      const size_t m0 = i * mr, mcur = min_size(mr, g->M - m0);
      for (size_t k0 = 0; k0 < K; k0 += kc) {
        const size_t kcur = min_size(kc, K - k0);
        const uint32_t flags = k_flags(g, k0, kcur);
        /* The kernels read rows past mcur from row mcur-1: only real rows are copied. */
        for (size_t r = 0; r < mcur; r++)
          memcpy(apack + r * ld_pack, g->A + (m0 + r) * g->lda + k0, kcur * sizeof(float));
        for (size_t j = j_lo; j < j_hi; j++)
          run_tile(g, i, j, k0, kcur, apack, ld_pack, flags);
      }
    }
  }
}

/* Rows of a tile of mr rows at stride lda floats that fall in one L1 set. */
static size_t rows_per_set(size_t mr, size_t lda) {
  size_t span = L1_SET_SPAN, stride = lda * sizeof(float) % L1_SET_SPAN;
  while (stride) { /* gcd(stride, span): the rows' offsets repeat every span / gcd rows */
    const size_t t = span % stride;
    span = stride, stride = t;
  }
  const size_t distinct = L1_SET_SPAN / span;
  return (mr + distinct - 1) / distinct;
}

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
  const struct kiln_f32_epilogue *ep = &params->ep;
  const struct gemm_call g = {
      .M = M, .N = N, .K = K, .lda = lda, .ldc = ldc, .mr = mr, .nr = nr,
      .m_tiles = m_tiles, .tile_begin = tile_begin, .tile_end = tile_end, .A = A,
      .packed_b = packed_b, .C = C, .params = params, .ukernel = kernel->fn.f32_gemm,
      .need_ep = ep->bias || ep->residual || ep->min > -INFINITY || ep->max < INFINITY};
  /* Chosen by N, K, lda and whole_k, not by the tile range or M: the two ways block K
   * differently, and the bits must not depend on how threads split the tiles, nor on how
   * callers split the rows into calls (a chunk of fewer than mr rows decides as a full
   * one would). A whole-K GEMM (its caller's choice from the whole shape) runs direct. */
  if (!params->whole_k && rows_per_set(mr, lda) > ROWS_PER_SET_MAX &&
      (N + nr - 1) / nr >= COPY_MIN_N_TILES)
    gemm_copied_a(&g);
  else
    gemm_direct(&g);
}
