/* ukernel_bench.c — kiln_ukernel_bench: the machine's peak FMA throughput per ISA (one
 * thread, a loop of independent register FMAs), then f32 GEMM M x N x K (default
 * 1024^3) at one thread for every f32_gemm variant in kernels.def that this CPU (and
 * KILN_ISA) allows: GFLOP/s (best and median of the runs) and % of the peak. Each GEMM
 * run is paired with a fresh short peak measurement of its ISA and the ratio is taken
 * per pair, so a machine shared with other work (frequency, steal) biases both alike;
 * the best GEMM run is also given against the best peak seen in the whole session.
 * Not a test: nothing is asserted on timings.
 *
 *   kiln_ukernel_bench [M N K [runs]] */
#include "backend/cpu/ukernel/ukernel.h"

#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float sink;

/* 12 independent chains of 8-wide FMAs: 12 x 16 flops per iteration. */
__attribute__((target("avx2,fma"))) static double peak_avx2(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; i++)
    acc[i] = _mm256_set1_ps((float)i * 1e-3f);
  const __m256 va = _mm256_set1_ps(sink + 0.999999f), vb = _mm256_set1_ps(sink + 1e-7f);
  const double t0 = now_s();
  for (long it = 0; it < iters; it++) {
#define F(i) acc[i] = _mm256_fmadd_ps(acc[i], va, vb);
    F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
#undef F
  }
  const double t = now_s() - t0;
  __m256 s = acc[0];
  for (int i = 1; i < 12; i++)
    s = _mm256_add_ps(s, acc[i]);
  sink = _mm256_cvtss_f32(s);
  return (double)iters * 12 * 16 / t * 1e-9;
}

/* 24 independent chains of 16-wide FMAs: 24 x 32 flops per iteration. */
__attribute__((target("avx512f,fma"))) static double peak_avx512(long iters) {
  __m512 acc[24];
  for (int i = 0; i < 24; i++)
    acc[i] = _mm512_set1_ps((float)i * 1e-3f);
  const __m512 va = _mm512_set1_ps(sink + 0.999999f), vb = _mm512_set1_ps(sink + 1e-7f);
  const double t0 = now_s();
  for (long it = 0; it < iters; it++) {
#define F(i) acc[i] = _mm512_fmadd_ps(acc[i], va, vb);
    F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
    F(12) F(13) F(14) F(15) F(16) F(17) F(18) F(19) F(20) F(21) F(22) F(23)
#undef F
  }
  const double t = now_s() - t0;
  __m512 s = acc[0];
  for (int i = 1; i < 24; i++)
    s = _mm512_add_ps(s, acc[i]);
  sink = _mm512_reduce_add_ps(s);
  return (double)iters * 24 * 32 / t * 1e-9;
}

static double best_of(double (*f)(long), long iters, int runs) {
  double best = 0;
  for (int r = 0; r < runs; r++) {
    const double g = f(iters);
    if (g > best)
      best = g;
  }
  return best;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *alloc_floats(size_t n) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  if (!p) {
    fprintf(stderr, "kiln_ukernel_bench: out of memory\n");
    exit(1);
  }
  return p;
}

int main(int argc, char **argv) {
  size_t M = 1024, N = 1024, K = 1024;
  int runs = 15;
  if (argc >= 4) {
    M = strtoul(argv[1], NULL, 10);
    N = strtoul(argv[2], NULL, 10);
    K = strtoul(argv[3], NULL, 10);
  }
  if (argc >= 5)
    runs = atoi(argv[4]);
  if (!M || !N || !K || runs < 1) {
    fprintf(stderr, "usage: kiln_ukernel_bench [M N K [runs]]\n");
    return 1;
  }

  const struct kiln_cpu_features *cpu = kiln_cpu_features();
  printf("cpu: hardware isa %s, using up to %s (KILN_ISA caps it)%s\n",
         kiln_isa_name(cpu->hw_isa), kiln_isa_name(cpu->isa),
         cpu->flags & KILN_CPU_AVX512VNNI ? ", avx512vnni" : "");

  double peak[KILN_ISA_COUNT] = {0}, machine_peak = 0;
  if (kiln_isa_is_usable(KILN_ISA_AVX2))
    peak[KILN_ISA_AVX2] = best_of(peak_avx2, 20000000, 5);
  if (kiln_isa_is_usable(KILN_ISA_AVX512))
    peak[KILN_ISA_AVX512] = best_of(peak_avx512, 10000000, 5);
  for (int i = 0; i < KILN_ISA_COUNT; i++) {
    if (peak[i] > 0)
      printf("peak fma %-8s %8.1f GFLOP/s (1 thread)\n", kiln_isa_name((enum kiln_isa)i),
             peak[i]);
    if (peak[i] > machine_peak)
      machine_peak = peak[i];
  }

  float *A = alloc_floats(M * K), *B = alloc_floats(K * N), *C = alloc_floats(M * N);
  srand(1);
  for (size_t i = 0; i < M * K; i++)
    A[i] = (float)((double)rand() / RAND_MAX - 0.5);
  for (size_t i = 0; i < K * N; i++)
    B[i] = (float)((double)rand() / RAND_MAX - 0.5);
  const double flops = 2.0 * (double)M * (double)N * (double)K;
  double *times = malloc(sizeof(double) * (size_t)runs);
  if (!times)
    return 1;

  printf("f32 gemm %zux%zux%zu, 1 thread, %d runs:\n", M, N, K, runs);
  double *ratios = malloc(sizeof(double) * (size_t)runs);
  if (!ratios)
    return 1;
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++) {
    const struct kiln_ukernel *k = &kiln_ukernels[v];
    if (k->op != KILN_UKERNEL_OP_f32_gemm)
      continue;
    if (!kiln_isa_is_usable(k->isa)) {
      printf("  %-26s skipped: CPU lacks %s\n", k->name, kiln_isa_name(k->isa));
      continue;
    }
    float *packed = alloc_floats(kiln_f32_gemm_packed_b_size(K, N, k->nr));
    kiln_f32_gemm_pack_b(K, N, k->nr, B, N, packed);
    const struct kiln_f32_gemm_params params = {
        .ep = {.bias = NULL, .min = -INFINITY, .max = INFINITY}, .accumulate = 0};
    const size_t tiles = kiln_f32_gemm_tile_count(M, N, k);
    const int nruns = k->isa == KILN_ISA_PORTABLE ? (runs < 3 ? runs : 3) : runs;
    kiln_f32_gemm(M, N, K, A, K, packed, C, N, &params, k, 0, tiles); /* warm-up */
    for (int r = 0; r < nruns; r++) {
      const double p = k->isa == KILN_ISA_AVX512 ? peak_avx512(2000000)
                       : k->isa == KILN_ISA_AVX2 ? peak_avx2(4000000)
                                                 : 0;
      const double t0 = now_s();
      kiln_f32_gemm(M, N, K, A, K, packed, C, N, &params, k, 0, tiles);
      times[r] = now_s() - t0;
      ratios[r] = p > 0 ? flops / times[r] * 1e-9 / p : 0;
      if (p > peak[k->isa])
        peak[k->isa] = p;
    }
    qsort(times, (size_t)nruns, sizeof(double), cmp_double);
    qsort(ratios, (size_t)nruns, sizeof(double), cmp_double);
    const double best = flops / times[0] * 1e-9, median = flops / times[nruns / 2] * 1e-9;
    printf("  %-26s best %7.1f GFLOP/s  median %7.1f GFLOP/s", k->name, best, median);
    if (peak[k->isa] > 0)
      printf("  best/best-peak %5.1f%%, median of paired ratios %5.1f%% (%s peak %.1f)",
             100 * best / peak[k->isa], 100 * ratios[nruns / 2], kiln_isa_name(k->isa),
             peak[k->isa]);
    if (machine_peak > 0 && k->isa != KILN_ISA_AVX512)
      printf("  [%4.1f%% of machine peak]", 100 * best / machine_peak);
    printf("\n");
    free(packed);
  }
  free(ratios);
  free(times);
  free(A);
  free(B);
  free(C);
  return 0;
}
