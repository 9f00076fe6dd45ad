/* test_ukernel_gemm.c — every f32_gemm variant in kernels.def, through the driver
 * kiln_f32_gemm, on shapes derived from its tile (style.md item 5):
 *   M: mr (eq), 2mr, 3mr (div), 1, mr-1 (lt: masked rows), mr+1, 2mr+mr/2 (gt)
 *   N: nr, 2nr (div), 1, nr-1 (lt: masked columns), nr+1, 3nr+nr/2 (gt)
 *   K: 1, 7 (small), 2100 (large: more than one K block for every tile size)
 * with lda > K and ldc > N (stride bugs show), sentinels around C (nothing outside the
 * M x N box is written), the epilogue modes (bias, clamp, accumulate, residual at its own
 * stride) cycled over the cases and all 16 combined on one shape, K summed in one pass
 * (whole_k) on two shapes, and the tile range split in three (threads will
 * split it so; results must be bit-identical to one call). The driver reads A in place
 * (lda = K + 3) except at row strides that alias in L1 (multiples of 4 KiB) with at
 * least 8 N tiles, where it copies blocks of A: three such shapes, with several K blocks
 * (K not a multiple), M not a multiple of mr, and one wide shape (N x K floats over the
 * 4 MiB B block: several N blocks) with its range split in 7, so parts start and end
 * inside column panels and N blocks.
 *
 * Oracles: the portable variant against a naive triple loop in double; every other
 * variant against the portable one. Tolerance: summing K products in float with unit
 * roundoff u = FLT_EPSILON/2 (plus the accumulate and bias adds) errs by at most
 * gamma_{K+2} * mag ~ (K+2) u mag, mag = |C0| + sum_k |A_ik||B_kj| + |bias_j| (Higham,
 * recursive summation; FMA only rounds less; the clamp is 1-Lipschitz). We allow
 * (K+2) * FLT_EPSILON * mag (twice that) against double, and twice again between two
 * float kernels (each within the bound of the exact value). Variants whose ISA this CPU
 * (or KILN_ISA) lacks are skipped and say so. */
#include "backend/cpu/ukernel/ukernel.h"
#include "check.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float rnd(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

enum { MODE_BIAS = 1, MODE_CLAMP = 2, MODE_ACC = 4, MODE_RES = 8, MODE_ALL = 15,
       MODE_WHOLE_K = 16 /* params.whole_k: no K blocks */ };
#define SENTINEL 12345.0f
enum { C_PAD_COLS = 5, C_PAD_ROWS = 2 };

struct problem {
  size_t M, N, K, lda, ldc;
  int mode;
  float *A, *B, *bias, *C0; /* C0: initial C (accumulate), ldc stride */
  float *R;                 /* residual, M x N at stride N + 2 */
  double *ref, *mag;        /* M x N exact result and error magnitude */
};

/* lda 0: K + 3 (rows in different cache sets: the driver reads A in place). */
static void problem_init(struct problem *p, size_t M, size_t N, size_t K, size_t lda,
                         int mode) {
  p->M = M, p->N = N, p->K = K, p->mode = mode;
  p->lda = lda ? lda : K + 3, p->ldc = N + C_PAD_COLS;
  p->A = malloc(sizeof(float) * M * p->lda);
  p->B = malloc(sizeof(float) * K * N);
  p->bias = malloc(sizeof(float) * N);
  p->R = malloc(sizeof(float) * M * (N + 2));
  p->C0 = malloc(sizeof(float) * (M + C_PAD_ROWS) * p->ldc);
  p->ref = malloc(sizeof(double) * M * N);
  p->mag = malloc(sizeof(double) * M * N);
  for (size_t i = 0; i < M * p->lda; i++)
    p->A[i] = rnd();
  for (size_t i = 0; i < K * N; i++)
    p->B[i] = rnd();
  for (size_t j = 0; j < N; j++)
    p->bias[j] = rnd();
  for (size_t i = 0; i < M * (N + 2); i++)
    p->R[i] = rnd();
  for (size_t i = 0; i < (M + C_PAD_ROWS) * p->ldc; i++)
    p->C0[i] = i / p->ldc < M && i % p->ldc < N && (mode & MODE_ACC) ? rnd() : SENTINEL;
  const double lo = -0.5, hi = 0.75; /* clamp bounds when MODE_CLAMP */
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      double s = 0, m = 0;
      if (mode & MODE_ACC)
        s = p->C0[i * p->ldc + j], m = fabs(s);
      for (size_t k = 0; k < K; k++) {
        s += (double)p->A[i * p->lda + k] * p->B[k * N + j];
        m += fabs((double)p->A[i * p->lda + k] * p->B[k * N + j]);
      }
      if (mode & MODE_BIAS)
        s += p->bias[j], m += fabs(p->bias[j]);
      if (mode & MODE_RES)
        s += p->R[i * (N + 2) + j], m += fabs(p->R[i * (N + 2) + j]);
      if (mode & MODE_CLAMP)
        s = s < lo ? lo : s > hi ? hi : s;
      p->ref[i * N + j] = s;
      p->mag[i * N + j] = m;
    }
}

static void problem_free(struct problem *p) {
  free(p->A), free(p->B), free(p->bias), free(p->R), free(p->C0), free(p->ref), free(p->mag);
}

/* Runs `k` on p into a fresh C (copy of C0), splitting the tile range into `parts`. */
static float *run(const struct problem *p, const struct kiln_ukernel *k, int parts) {
  float *packed = malloc(sizeof(float) * kiln_f32_gemm_packed_b_size(p->K, p->N, k->nr));
  kiln_f32_gemm_pack_b(p->K, p->N, k->nr, p->B, p->N, packed);
  float *C = malloc(sizeof(float) * (p->M + C_PAD_ROWS) * p->ldc);
  memcpy(C, p->C0, sizeof(float) * (p->M + C_PAD_ROWS) * p->ldc);
  const struct kiln_f32_gemm_params params = {
      .ep = {.bias = p->mode & MODE_BIAS ? p->bias : NULL,
             .min = p->mode & MODE_CLAMP ? -0.5f : -INFINITY,
             .max = p->mode & MODE_CLAMP ? 0.75f : INFINITY,
             .residual = p->mode & MODE_RES ? p->R : NULL,
             .residual_stride = p->N + 2},
      .accumulate = (p->mode & MODE_ACC) != 0,
      .whole_k = (p->mode & MODE_WHOLE_K) != 0};
  const size_t tiles = kiln_f32_gemm_tile_count(p->M, p->N, k);
  for (int part = 0; part < parts; part++)
    kiln_f32_gemm(p->M, p->N, p->K, p->A, p->lda, packed, C, p->ldc, &params, k,
                  tiles * part / parts, tiles * (part + 1) / parts);
  free(packed);
  return C;
}

/* Compares C against `want` (double ref or float C of another kernel) within
 * factor * (K+2) * FLT_EPSILON * mag; checks the sentinels. Returns failures. */
static int compare(const struct problem *p, const float *C, const double *want_d,
                   const float *want_f, double factor, const char *what,
                   const struct kiln_ukernel *k) {
  int bad = 0;
  for (size_t i = 0; i < p->M + C_PAD_ROWS; i++)
    for (size_t j = 0; j < p->ldc; j++) {
      const float got = C[i * p->ldc + j];
      if (i >= p->M || j >= p->N) {
        if (got != SENTINEL && bad++ < 3)
          fprintf(stderr, "%s M=%zu N=%zu K=%zu mode=%d: wrote outside C at (%zu,%zu)\n",
                  k->name, p->M, p->N, p->K, p->mode, i, j);
        continue;
      }
      const double want = want_d ? want_d[i * p->N + j] : want_f[i * p->ldc + j];
      const double tol = factor * (double)(p->K + 2) * FLT_EPSILON * p->mag[i * p->N + j] + 1e-30;
      if (!(fabs(got - want) <= tol) && bad++ < 3)
        fprintf(stderr,
                "%s vs %s M=%zu N=%zu K=%zu mode=%d: C[%zu][%zu] = %.9g, expected %.9g "
                "(tol %.3g)\n",
                k->name, what, p->M, p->N, p->K, p->mode, i, j, got, want, tol);
    }
  return bad;
}

static const struct kiln_ukernel *portable(void) {
  return kiln_ukernel_select_isa(KILN_UKERNEL_OP_f32_gemm, KILN_ISA_PORTABLE);
}

/* One shape on one variant: against the reference (portable) or portable (others), and
 * the three-way range split bit-identical to one call. */
static void check_case(const struct kiln_ukernel *k, size_t M, size_t N, size_t K, size_t lda,
                       int mode, int parts) {
  struct problem p;
  problem_init(&p, M, N, K, lda, mode);
  float *C = run(&p, k, 1);
  check_count++;
  if (k->isa == KILN_ISA_PORTABLE) {
    check_failures += compare(&p, C, p.ref, NULL, 2.0, "double reference", k) != 0;
  } else {
    float *Cp = run(&p, portable(), 1);
    check_failures += compare(&p, C, NULL, Cp, 4.0, "portable", k) != 0;
    free(Cp);
  }
  float *Cs = run(&p, k, parts);
  check_count++;
  if (memcmp(C, Cs, sizeof(float) * (M + C_PAD_ROWS) * p.ldc)) {
    check_failures++;
    fprintf(stderr, "%s M=%zu N=%zu K=%zu mode=%d: tile range split in %d differs\n",
            k->name, M, N, K, mode, parts);
  }
  free(Cs);
  free(C);
  problem_free(&p);
}

static void test_variant(const struct kiln_ukernel *k) {
  if (!kiln_isa_is_usable(k->isa)) {
    printf("  %s: skipped: CPU lacks %s\n", k->name, kiln_isa_name(k->isa));
    return;
  }
  const size_t mr = k->mr, nr = k->nr;
  const size_t Ms[] = {mr, 2 * mr, 3 * mr, 1, mr - 1, mr + 1, 2 * mr + mr / 2};
  const size_t Ns[] = {nr, 2 * nr, 1, nr - 1, nr + 1, 3 * nr + nr / 2};
  const size_t Ks[] = {1, 7, 2100};
  const int before = check_failures;
  int mode = 0, cases = 0;
  for (size_t a = 0; a < sizeof Ms / sizeof Ms[0]; a++)
    for (size_t b = 0; b < sizeof Ns / sizeof Ns[0]; b++)
      for (size_t c = 0; c < sizeof Ks / sizeof Ks[0]; c++) {
        if (!Ms[a] || !Ns[b])
          continue;
        check_case(k, Ms[a], Ns[b], Ks[c], 0, mode, 3);
        mode = (mode + 1) & MODE_ALL, cases++;
      }
  for (int m = 0; m <= MODE_ALL; m++, cases++) /* every epilogue combination, a gt shape */
    check_case(k, mr + 1, nr + 1, 13, 0, m, 3);
  /* Row strides of A that are multiples of 4 KiB (the driver copies A for tiles of more
   * than 4 rows and at least 8 N tiles), K not a multiple of the K block, M not a
   * multiple of mr; the third has several N blocks (2100 * 1000 floats > 4 MiB). */
  check_case(k, 2 * mr + 1, 8 * nr + nr / 2, 1000, 1024, MODE_CLAMP | MODE_ACC, 3);
  check_case(k, mr - 1 ? mr - 1 : 1, 8 * nr, 700, 2048, MODE_BIAS, 2);
  check_case(k, 2 * mr + 1, 1000, 2100, 4096, MODE_BIAS | MODE_ACC | MODE_RES, 7);
  /* K in one pass (GEMVs): one row, and several M tiles split over calls */
  check_case(k, 1, 3 * nr + 1, 2100, 0, MODE_WHOLE_K | MODE_BIAS, 3);
  check_case(k, 2 * mr + 1, nr + 1, 2100, 0, MODE_WHOLE_K | MODE_ACC | MODE_RES, 3);
  cases += 5;
  printf("  %s (%ux%u): %d cases, %s\n", k->name, k->mr, k->nr, cases,
         check_failures == before ? "ok" : "FAILED");
}

static void test_dispatch(void) {
  const struct kiln_cpu_features *cpu = kiln_cpu_features();
  const struct kiln_ukernel *best = kiln_ukernel_select(KILN_UKERNEL_OP_f32_gemm);
  CHECK(best != NULL);
  CHECK_EQ_I(cpu->isa, best->isa); /* one variant of each ISA exists */
  CHECK(cpu->isa <= cpu->hw_isa);
  CHECK_EQ_I(KILN_ISA_PORTABLE, portable()->isa);
  CHECK(kiln_isa_is_usable(KILN_ISA_PORTABLE));
  if (cpu->hw_isa >= KILN_ISA_AVX2)
    CHECK((cpu->flags & (KILN_CPU_AVX2 | KILN_CPU_FMA)) == (KILN_CPU_AVX2 | KILN_CPU_FMA));
  if (cpu->hw_isa >= KILN_ISA_AVX512)
    CHECK(cpu->flags & KILN_CPU_AVX512F);
  printf("  cpu: hardware %s, selected %s (%s), L1d %zu KiB, L2 %zu KiB\n",
         kiln_isa_name(cpu->hw_isa), kiln_isa_name(cpu->isa), best->name,
         cpu->l1d_bytes / 1024, cpu->l2_bytes / 1024);
  /* Cache budgets: the tuned value, capped by a fraction of a known cache. */
  CHECK_EQ_I(4096, kiln_cache_budget(4096, 2, 1, 2)); /* no L2 is under 8 KiB */
  const size_t huge = (size_t)1 << 40;
  CHECK_EQ_I(cpu->l2_bytes ? cpu->l2_bytes / 4 * 3 : huge, kiln_cache_budget(huge, 2, 3, 4));
  CHECK_EQ_I(cpu->l1d_bytes ? cpu->l1d_bytes / 2 : huge, kiln_cache_budget(huge, 1, 1, 2));
  CHECK(!cpu->l1d_bytes || (cpu->l1d_bytes >= 8192 && cpu->l1d_bytes <= (1u << 20)));
  /* Packing: zero padding past N. */
  const float B[2 * 3] = {1, 2, 3, 4, 5, 6};
  float packed[2 * 4];
  CHECK_EQ_I(8, kiln_f32_gemm_packed_b_size(2, 3, 4));
  kiln_f32_gemm_pack_b(2, 3, 4, B, 3, packed);
  CHECK(packed[0] == 1 && packed[2] == 3 && packed[3] == 0 && packed[4] == 4 && packed[7] == 0);
}

int main(void) {
  test_dispatch();
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++)
    if (kiln_ukernels[v].op == KILN_UKERNEL_OP_f32_gemm)
      test_variant(&kiln_ukernels[v]);
  return check_report("test_ukernel_gemm");
}
