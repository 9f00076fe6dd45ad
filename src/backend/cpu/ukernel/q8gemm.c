/* q8gemm.c — int8 GEMM: B packing (compile time) and the tile-range driver.
 *
 * The kernels never see a zero point in their inner loop. Writing A_u = A + 128 for s8
 * activations (the kernels flip the sign bit, so every variant multiplies u8 x s8 as
 * vpdpbusd wants) and zp_u = a_zp (+128), the exact result is
 *   sum_k (A - a_zp)(B - w_zp) = sum_k A_u B  - zp_u sum_k B + K zp_u w_zp  - w_zp sum_k A_u
 * The middle terms depend only on B and constants: packing folds them (and an optional
 * int32 bias) into one int32 per column, which the kernels load as the accumulators'
 * initial value. The last term needs row sums of A; the driver computes them per block of
 * rows, only when some w_zp is nonzero (symmetric weights, the usual case, skip it).
 * All of this is arithmetic modulo 2^32 (the kernels' int32 adds wrap); the final value
 * is exact because the true result fits int32 for K <= KILN_Q8_GEMM_K_MAX.
 *
 * No K blocking: an int8 panel is a quarter of an f32 one, and the requantized output
 * cannot hold a partial sum. Loop order: N block (panels that fit L2), M block (rows of A
 * that fit L2), panel, M tile. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <string.h>

enum {
  HEADER_BYTES = 64,
  L2_A_BYTES = 192 * 1024,  /* one block of A rows */
  L2_B_BYTES = 256 * 1024,  /* one block of B panels */
  ROWSUM_MAX = 1024,        /* rows per M block when row sums are needed (4 KiB stack) */
};

/* The packed buffer's header: what B was packed for (checked by the driver). */
struct header {
  uint32_t magic, K, N, nr, a_signed, has_w_zp;
};
#define MAGIC 0x38714b51u /* "QKq8" */

/* Weight layout of a variant: k values per group (kr) and bytes per value. */
static void layout(const struct kiln_ukernel *k, size_t *kr, size_t *elem) {
  switch (k->isa) {
  case KILN_ISA_AVX2: *kr = 2, *elem = 2; break;   /* int16 pairs for vpmaddwd */
  case KILN_ISA_AVX512: *kr = 4, *elem = 1; break; /* 4 bytes per column for vpdpbusd */
  default: *kr = 1, *elem = 1; break;
  }
}

static size_t round4(size_t K) { return (K + 3) / 4 * 4; }

static size_t panel_bytes(size_t K, const struct kiln_ukernel *k) {
  size_t kr, elem;
  layout(k, &kr, &elem);
  return 8 * (size_t)k->nr + round4(K) * k->nr * elem;
}

size_t kiln_q8_out_size(enum kiln_q8_out t) {
  return t == KILN_Q8_OUT_U8 || t == KILN_Q8_OUT_S8 ? 1 : 4;
}

size_t kiln_q8_gemm_packed_b_size(size_t K, size_t N, const struct kiln_ukernel *kernel) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_q8_gemm);
  return HEADER_BYTES + (N + kernel->nr - 1) / kernel->nr * panel_bytes(K, kernel);
}

void kiln_q8_gemm_pack_b(size_t K, size_t N, const int8_t *B, size_t ldb,
                         const int32_t *w_zp, const int32_t *bias_i32,
                         const struct kiln_q8_act *act, const struct kiln_ukernel *kernel,
                         void *packed) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_q8_gemm && act);
  assert(K >= 1 && K <= KILN_Q8_GEMM_K_MAX && ldb >= N);
  const size_t nr = kernel->nr, Kp = round4(K);
  size_t kr, elem;
  layout(kernel, &kr, &elem);
  int has_w_zp = 0;
  for (size_t n = 0; w_zp && n < N; n++)
    has_w_zp |= w_zp[n] != 0;
  const struct header h = {MAGIC, (uint32_t)K, (uint32_t)N, (uint32_t)nr,
                           (uint32_t)(act->is_signed != 0), (uint32_t)has_w_zp};
  uint8_t *p = packed;
  memset(p, 0, HEADER_BYTES);
  memcpy(p, &h, sizeof h);
  p += HEADER_BYTES;
  const int64_t zp_u = act->zp + (act->is_signed ? 128 : 0);
  for (size_t n0 = 0; n0 < N; n0 += nr) {
    int32_t *colterm = (int32_t *)(void *)p, *zp = colterm + nr;
    for (size_t j = 0; j < nr; j++) {
      const size_t n = n0 + j;
      int64_t sum = 0, t = 0, z = 0;
      if (n < N) {
        for (size_t k = 0; k < K; k++)
          sum += B[k * ldb + n];
        z = w_zp ? w_zp[n] : 0;
        t = (bias_i32 ? bias_i32[n] : 0) - zp_u * sum + (int64_t)K * zp_u * z;
      }
      colterm[j] = (int32_t)(uint32_t)((uint64_t)t & 0xffffffffu); /* mod 2^32 */
      zp[j] = (int32_t)z;
    }
    p += 8 * nr;
    /* Groups of kr consecutive k, each column's kr values together; zero past K and N. */
    for (size_t g = 0; g < Kp; g += kr)
      for (size_t j = 0; j < nr; j++)
        for (size_t r = 0; r < kr; r++) {
          const size_t k = g + r, n = n0 + j;
          const int8_t v = k < K && n < N ? B[k * ldb + n] : 0;
          if (elem == 2) {
            const int16_t v16 = v;
            memcpy(p, &v16, 2);
          } else {
            *p = (uint8_t)v;
          }
          p += elem;
        }
  }
}

size_t kiln_q8_gemm_tile_count(size_t M, size_t N, const struct kiln_ukernel *kernel) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_q8_gemm);
  return (M + kernel->mr - 1) / kernel->mr * ((N + kernel->nr - 1) / kernel->nr);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }
static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

void kiln_q8_gemm(size_t M, size_t N, size_t K, const void *A, size_t lda,
                  const void *packed_b, void *C, size_t ldc,
                  const struct kiln_q8_requant *rq, const struct kiln_ukernel *kernel,
                  size_t tile_begin, size_t tile_end) {
  assert(kernel && kernel->op == KILN_UKERNEL_OP_q8_gemm);
  assert(rq && K >= 1 && K <= KILN_Q8_GEMM_K_MAX && lda >= K && ldc >= N);
  const size_t mr = kernel->mr, nr = kernel->nr;
  const size_t m_tiles = (M + mr - 1) / mr;
  assert(tile_end <= m_tiles * ((N + nr - 1) / nr));
  if (tile_begin >= tile_end)
    return;
  struct header h;
  memcpy(&h, packed_b, sizeof h);
  assert(h.magic == MAGIC && h.K == K && h.N == N && h.nr == nr);
  const kiln_q8_gemm_ukernel_fn ukernel = kernel->fn.q8_gemm;
  const uint8_t *a = A, a_flip = h.a_signed ? 0x80 : 0;
  const uint8_t *panels = (const uint8_t *)packed_b + HEADER_BYTES;
  const size_t pbytes = panel_bytes(K, kernel), osize = kiln_q8_out_size(rq->out_type);
  /* Rows whose stride leaves room read whole groups of 4 bytes: the bytes past K meet the
   * packed weights' zeros, so the sums are the same, and the kernels skip their tail
   * copies (an image's 3x3x3 conv: K = 27). The row sums stay over K. */
  const size_t kc = lda >= round4(K) ? round4(K) : K;

  size_t m_block = max_size(1, kiln_cache_budget(L2_A_BYTES, 2, 3, 8) / (mr * K)); /* tiles */
  if (h.has_w_zp)
    m_block = min_size(m_block, ROWSUM_MAX / mr);
  const size_t n_block = max_size(1, kiln_cache_budget(L2_B_BYTES, 2, 1, 2) / pbytes); /* panels */
  int32_t row_sum[ROWSUM_MAX];

  const size_t nt_first = tile_begin / m_tiles, nt_last = (tile_end - 1) / m_tiles;
  for (size_t jb = nt_first; jb <= nt_last; jb += n_block) {
    const size_t jb_end = min_size(jb + n_block, nt_last + 1);
    for (size_t ib = 0; ib < m_tiles; ib += m_block) {
      const size_t ib_end = min_size(ib + m_block, m_tiles);
      int sums_done = 0; /* row sums of this block, computed when first needed */
      for (size_t j = jb; j < jb_end; j++) {
        const size_t lo = max_size(ib, j == nt_first ? tile_begin % m_tiles : 0);
        const size_t hi = min_size(ib_end, j == nt_last ? (tile_end - 1) % m_tiles + 1 : m_tiles);
        const size_t n0 = j * nr, ncur = min_size(nr, N - n0);
        const struct kiln_q8_requant tile_rq = {
            .scale = rq->scale ? rq->scale + n0 : NULL,
            .bias = rq->bias ? rq->bias + n0 : NULL,
            .acc_bias = rq->acc_bias ? rq->acc_bias + n0 : NULL,
            .min = rq->min, .max = rq->max, .out_scale = rq->out_scale,
            .out_zp = rq->out_zp, .out_type = rq->out_type};
        if (lo < hi && h.has_w_zp && !sums_done) { /* sum_k A_u[m][k], the block's rows */
          const size_t m_end = min_size(ib_end * mr, M);
          for (size_t m = ib * mr; m < m_end; m++) {
            uint32_t s = 0;
            for (size_t k = 0; k < K; k++)
              s += (uint8_t)(a[m * lda + k] ^ a_flip);
            row_sum[m - ib * mr] = (int32_t)s;
          }
          sums_done = 1;
        }
        for (size_t i = lo; i < hi; i++) {
          const size_t m0 = i * mr;
          ukernel(min_size(mr, M - m0), ncur, kc, a + m0 * lda, lda, panels + j * pbytes,
                  (uint8_t *)C + (m0 * ldc + n0) * osize, ldc,
                  h.has_w_zp ? row_sum + (m0 - ib * mr) : NULL, a_flip, &tile_rq);
        }
      }
    }
  }
}
