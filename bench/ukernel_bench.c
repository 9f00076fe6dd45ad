/* ukernel_bench.c — kiln_ukernel_bench: the machine's peak FMA throughput per ISA (one
 * thread, a loop of independent register FMAs), then f32 GEMM M x N x K (default
 * 1024^3) at one thread for every f32_gemm variant in kernels.def that this CPU (and
 * KILN_ISA) allows: GFLOP/s (best and median of the runs) and % of the peak. Each GEMM
 * run is paired with a fresh short peak measurement of its ISA and the ratio is taken
 * per pair, so a machine shared with other work (frequency, steal) biases both alike;
 * the best GEMM run is also given against the best peak seen in the whole session.
 * Then (without arguments, or with "ops") the other ops on layers of the suite models,
 * every variant, one thread, one image: GFLOP/s of the nominal FLOPs (2 per
 * multiply-add; pooling and resize: 1 per input element read per output), and % of the
 * ISA's peak (best run against the best peak). The dilated ASPP convs count nominal
 * FLOPs: the taps the driver skips (all in the padding) are most of them, so they pass
 * 100%. Pooling and resize are bound by loads (one add per element), not FMAs. Not a test: nothing is asserted on
 * timings.
 *
 * int8 GEMM (same M x N x K, u8 activations with a zero point, s8 weights, requantized
 * u8 output with bias and relu6 — the QDQ conv epilogue): GOP/s (2 ops per multiply-add)
 * per q8_gemm variant, % of the int8 peak of its instruction (a loop of independent
 * vpmaddwd + vpaddd for AVX2, vpdpbusd for VNNI, measured like the FMA peak) and the
 * speedup over the best f32 GEMM run of the same ISA level and of the whole session.
 *
 *   kiln_ukernel_bench [M N K [runs]]   GEMM only (default 1024^3, then the ops)
 *   kiln_ukernel_bench ops [runs]       the ops only */
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

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *alloc_floats(size_t n);
static double best_of(double (*f)(long), long iters, int runs);
/* int8 peaks, in ops (2 per multiply-add). AVX2: 6 independent vpmaddwd + vpaddd per
 * iteration, 16 multiply-adds each (the AVX2 int8 kernel's inner step); the empty asm
 * makes the multiplicands new values every iteration, so nothing is hoisted or merged
 * (few enough registers that nothing spills). */
__attribute__((target("avx2"))) static double peak_q8_avx2(long iters) {
  __m256i acc0 = _mm256_set1_epi32(0), acc1 = acc0, acc2 = acc0, acc3 = acc0, acc4 = acc0,
          acc5 = acc0;
  __m256i va0 = _mm256_set1_epi16((short)(1 + (int)sink)), va1 = _mm256_set1_epi16(2);
  __m256i va2 = _mm256_set1_epi16(3);
  const __m256i vb0 = _mm256_set1_epi16(5), vb1 = _mm256_set1_epi16(6);
  const double t0 = now_s();
  for (long it = 0; it < iters; it++) {
    __asm__ volatile("" : "+x"(va0), "+x"(va1), "+x"(va2));
#define F(acc, a, b) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
    F(acc0, va0, vb0) F(acc1, va1, vb0) F(acc2, va2, vb0)
    F(acc3, va0, vb1) F(acc4, va1, vb1) F(acc5, va2, vb1)
#undef F
  }
  const double t = now_s() - t0;
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(acc0, acc1), acc2),
                                     _mm256_add_epi32(_mm256_add_epi32(acc3, acc4), acc5));
  sink = (float)_mm256_extract_epi32(s, 0);
  return (double)iters * 6 * 32 / t * 1e-9;
}

/* VNNI: 24 chains of vpdpbusd zmm, 64 multiply-adds each. Named variables and in-place
 * asm: with an array and the intrinsic, GCC stored every accumulator each iteration and
 * the loop measured less than the GEMM kernel reaches. */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
__attribute__((target("avx512f,avx512vnni"))) static double peak_q8_vnni(long iters) {
#define INIT(i) __m512i acc##i = _mm512_set1_epi32(i);
  CHAINS(INIT)
#undef INIT
  const __m512i va = _mm512_set1_epi8((char)(1 + (int)sink)), vb = _mm512_set1_epi8(3);
  const double t0 = now_s();
  for (long it = 0; it < iters; it++) {
#define F(i) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc##i) : "v"(va), "v"(vb));
    CHAINS(F)
#undef F
  }
  const double t = now_s() - t0;
  __m512i s = _mm512_setzero_si512();
#define SUM(i) s = _mm512_add_epi32(s, acc##i);
  CHAINS(SUM)
#undef SUM
  sink = (float)_mm512_reduce_add_epi32(s);
  return (double)iters * 24 * 128 / t * 1e-9;
}
#undef CHAINS

/* int8 GEMM M x N x K for every usable q8_gemm variant; f32_best[isa]: the best f32 GEMM
 * GFLOP/s of that ISA measured before (0: none). */
static void bench_q8_gemm(size_t M, size_t N, size_t K, int runs,
                          const double f32_best[KILN_ISA_COUNT]) {
  const int vnni = (kiln_cpu_features()->flags & KILN_CPU_AVX512VNNI) && kiln_isa_is_usable(KILN_ISA_AVX512);
  double qpeak[KILN_ISA_COUNT] = {0}, f32_all = 0;
  if (kiln_isa_is_usable(KILN_ISA_AVX2))
    qpeak[KILN_ISA_AVX2] = best_of(peak_q8_avx2, 20000000, 5);
  if (vnni)
    qpeak[KILN_ISA_AVX512] = best_of(peak_q8_vnni, 10000000, 5);
  for (int i = 0; i < KILN_ISA_COUNT; i++) {
    if (qpeak[i] > 0)
      printf("peak int8 %-8s %8.1f GOP/s (1 thread, %s)\n", kiln_isa_name((enum kiln_isa)i),
             qpeak[i], i == KILN_ISA_AVX512 ? "vpdpbusd" : "vpmaddwd+vpaddd");
    if (f32_best[i] > f32_all)
      f32_all = f32_best[i];
  }
  if (K > KILN_Q8_GEMM_K_MAX) {
    printf("int8 gemm: K > %d, skipped\n", KILN_Q8_GEMM_K_MAX);
    return;
  }
  uint8_t *A = aligned_alloc(64, (M * K + 63) / 64 * 64);
  int8_t *B = aligned_alloc(64, (K * N + 63) / 64 * 64);
  uint8_t *C = aligned_alloc(64, (M * N + 63) / 64 * 64);
  float *scale = alloc_floats(N), *bias = alloc_floats(N);
  double *times = malloc(sizeof(double) * (size_t)runs);
  if (!A || !B || !C || !times) {
    fprintf(stderr, "kiln_ukernel_bench: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < M * K; i++)
    A[i] = (uint8_t)rand();
  for (size_t i = 0; i < K * N; i++)
    B[i] = (int8_t)rand();
  for (size_t n = 0; n < N; n++)
    scale[n] = 1e-5f, bias[n] = 0.01f * (float)n;
  const struct kiln_q8_act act = {.zp = 3, .is_signed = 0};
  const struct kiln_q8_requant rq = {.scale = scale, .bias = bias, .min = 0.0f, .max = 6.0f,
                                     .out_scale = 0.03f, .out_zp = 0,
                                     .out_type = KILN_Q8_OUT_U8};
  const double ops = 2.0 * (double)M * (double)N * (double)K;
  printf("int8 gemm %zux%zux%zu (u8 x s8, requantized u8 out, bias+relu6), 1 thread, %d runs:\n",
         M, N, K, runs);
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++) {
    const struct kiln_ukernel *k = &kiln_ukernels[v];
    if (k->op != KILN_UKERNEL_OP_q8_gemm)
      continue;
    if (!kiln_ukernel_is_usable(k)) {
      printf("  %-26s skipped: CPU lacks %s%s\n", k->name, kiln_isa_name(k->isa),
             k->features & KILN_CPU_AVX512VNNI ? " VNNI" : "");
      continue;
    }
    void *packed = aligned_alloc(64, (kiln_q8_gemm_packed_b_size(K, N, k) + 63) / 64 * 64);
    if (!packed)
      exit(1);
    kiln_q8_gemm_pack_b(K, N, B, N, NULL, NULL, &act, k, packed);
    const size_t tiles = kiln_q8_gemm_tile_count(M, N, k);
    const int nruns = k->isa == KILN_ISA_PORTABLE ? (runs < 3 ? runs : 3) : runs;
    kiln_q8_gemm(M, N, K, A, K, packed, C, N, &rq, k, 0, tiles); /* warm-up */
    for (int r = 0; r < nruns; r++) {
      const double t0 = now_s();
      kiln_q8_gemm(M, N, K, A, K, packed, C, N, &rq, k, 0, tiles);
      times[r] = now_s() - t0;
    }
    qsort(times, (size_t)nruns, sizeof(double), cmp_double);
    const double best = ops / times[0] * 1e-9, median = ops / times[nruns / 2] * 1e-9;
    printf("  %-26s best %7.1f GOP/s  median %7.1f GOP/s", k->name, best, median);
    if (qpeak[k->isa] > 0)
      printf("  %5.1f%% of int8 %s peak", 100 * best / qpeak[k->isa], kiln_isa_name(k->isa));
    if (f32_best[k->isa] > 0)
      printf("  %4.2fx f32 %s", best / f32_best[k->isa], kiln_isa_name(k->isa));
    if (f32_all > 0)
      printf("  %4.2fx best f32", best / f32_all);
    printf("\n");
    free(packed);
  }
  free(A), free(B), free(C), free(scale), free(bias), free(times);
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


static float *alloc_floats(size_t n) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  if (!p) {
    fprintf(stderr, "kiln_ukernel_bench: out of memory\n");
    exit(1);
  }
  return p;
}

/* ---- the ops ---- */

enum { OP_CONV, OP_DWCONV, OP_POOL, OP_RESIZE, OP_DWCONV3X3 };
struct op_case {
  const char *what;
  int op;
  size_t h, w, c, f, kh, kw, s, d, pad; /* conv/dwconv/pool geometry, 'same'-style pads */
  int kind;                             /* pool: KILN_POOL_*; resize: out size in f */
};
static const struct op_case op_cases[] = {
    {"conv 3x3 56x56 C=256 F=256", OP_CONV, 56, 56, 256, 256, 3, 3, 1, 1, 1, 0},
    {"conv 3x3 56x56 C=64 F=64 (resnet)", OP_CONV, 56, 56, 64, 64, 3, 3, 1, 1, 1, 0},
    {"conv 3x3 14x14 C=256 F=256 (resnet)", OP_CONV, 14, 14, 256, 256, 3, 3, 1, 1, 1, 0},
    {"conv 3x3/2 224x224 C=3 F=32 (first)", OP_CONV, 224, 224, 3, 32, 3, 3, 2, 1, 1, 0},
    {"conv 3x3 d12 33x33 C=320 F=256 (aspp, nominal)", OP_CONV, 33, 33, 320, 256, 3, 3, 1, 12, 12, 0},
    {"conv 3x3 d24 33x33 C=320 F=256 (aspp, nominal)", OP_CONV, 33, 33, 320, 256, 3, 3, 1, 24, 24, 0},
    {"dwconv 5x5 28x28 C=240", OP_DWCONV, 28, 28, 240, 240, 5, 5, 1, 1, 2, 0},
    {"dwconv 5x5/2 56x56 C=144", OP_DWCONV, 56, 56, 144, 144, 5, 5, 2, 1, 2, 0},
    {"dwconv 3x3 112x112 C=32 (general)", OP_DWCONV, 112, 112, 32, 32, 3, 3, 1, 1, 1, 0},
    {"dwconv3x3 112x112 C=32", OP_DWCONV3X3, 112, 112, 32, 32, 3, 3, 1, 1, 1, 0},
    {"dwconv3x3/2 112x112 C=96", OP_DWCONV3X3, 112, 112, 96, 96, 3, 3, 2, 1, 1, 0},
    {"dwconv3x3 28x28 C=192", OP_DWCONV3X3, 28, 28, 192, 192, 3, 3, 1, 1, 1, 0},
    {"dwconv3x3 14x14 C=576", OP_DWCONV3X3, 14, 14, 576, 576, 3, 3, 1, 1, 1, 0},
    {"dwconv3x3 d2 33x33 C=960 (deeplab)", OP_DWCONV3X3, 33, 33, 960, 960, 3, 3, 1, 2, 2, 0},
    {"maxpool 3x3/2 112x112 C=64", OP_POOL, 112, 112, 64, 64, 3, 3, 2, 1, 1, KILN_POOL_MAX},
    {"avgpool 3x3/1 28x28 C=192", OP_POOL, 28, 28, 192, 192, 3, 3, 1, 1, 1, KILN_POOL_AVG},
    {"global avgpool 7x7 C=2048", OP_POOL, 7, 7, 2048, 2048, 7, 7, 7, 1, 0, KILN_POOL_AVG},
    {"resize bilinear 33x33->129x129 C=21", OP_RESIZE, 33, 33, 21, 129, 0, 0, 0, 0, 0, 1},
    {"resize bilinear 17x17->65x65 C=256", OP_RESIZE, 17, 17, 256, 65, 0, 0, 0, 0, 0, 1},
};

struct op_run {
  const struct op_case *oc;
  const struct kiln_ukernel *k;
  float *in, *w, *packed, *out, *bias, *lw, *lh;
  int32_t *w0, *w1, *h0, *h1;
  size_t out_h, out_w;
  double flops;
};

static void op_exec(struct op_run *r) {
  const struct op_case *oc = r->oc;
  const struct kiln_f32_epilogue ep = {.bias = r->bias, .min = 0.0f, .max = 6.0f};
  if (oc->op == OP_CONV) {
    const struct kiln_f32_conv_shape s = {
        .in_h = oc->h, .in_w = oc->w, .in_c = oc->c, .out_h = r->out_h, .out_w = r->out_w,
        .out_c = oc->f, .kh = oc->kh, .kw = oc->kw, .stride_h = oc->s, .stride_w = oc->s,
        .dilation_h = oc->d, .dilation_w = oc->d, .pad_top = oc->pad, .pad_left = oc->pad};
    kiln_f32_conv(&s, r->in, r->packed, r->out, &ep, r->k, 0, kiln_f32_conv_pixel_tiles(&s, r->k), 0,
                  (s.out_c + r->k->nr - 1) / r->k->nr);
  } else if (oc->op == OP_DWCONV) {
    const struct kiln_f32_dwconv2d_shape s = {
        .in_h = oc->h, .in_w = oc->w, .channels = oc->c, .out_h = r->out_h, .out_w = r->out_w,
        .kh = oc->kh, .kw = oc->kw, .stride_h = oc->s, .stride_w = oc->s, .dilation_h = oc->d,
        .dilation_w = oc->d, .pad_top = oc->pad, .pad_left = oc->pad};
    kiln_f32_dwconv(&s, r->in, r->w, r->out, &ep, r->k, 0, r->out_h);
  } else if (oc->op == OP_DWCONV3X3) {
    const struct kiln_f32_dwconv_shape s = {
        .in_h = oc->h, .in_w = oc->w, .channels = oc->c, .out_h = r->out_h, .out_w = r->out_w,
        .stride_h = oc->s, .stride_w = oc->s, .dilation_h = oc->d, .dilation_w = oc->d,
        .pad_top = oc->pad, .pad_left = oc->pad};
    kiln_f32_dwconv3x3(&s, r->in, r->w, r->out, &ep, r->k, 0, r->out_h);
  } else if (oc->op == OP_POOL) {
    const struct kiln_f32_pool_shape s = {
        .in_h = oc->h, .in_w = oc->w, .channels = oc->c, .out_h = r->out_h, .out_w = r->out_w,
        .kh = oc->kh, .kw = oc->kw, .stride_h = oc->s, .stride_w = oc->s, .pad_top = oc->pad,
        .pad_left = oc->pad, .pad_bottom = oc->pad, .pad_right = oc->pad};
    kiln_f32_pool(&s, oc->kind, 0, r->in, r->out, r->k, 0, r->out_h);
  } else {
    const struct kiln_f32_resize_shape s = {.in_h = oc->h, .in_w = oc->w, .channels = oc->c,
                                            .out_h = r->out_h, .out_w = r->out_w};
    const struct kiln_resize_axis_table th = {r->h0, r->h1, r->lh}, tw = {r->w0, r->w1, r->lw};
    kiln_f32_resize(&s, 1, &th, &tw, r->in, r->out, r->k, 0, r->out_h);
  }
}

/* Sets up r for oc on kernel k (weights packed, tables built). */
static void op_setup(struct op_run *r, const struct op_case *oc, const struct kiln_ukernel *k) {
  memset(r, 0, sizeof *r);
  r->oc = oc, r->k = k;
  const size_t C = oc->c;
  r->in = alloc_floats(oc->h * oc->w * C);
  for (size_t i = 0; i < oc->h * oc->w * C; i++)
    r->in[i] = (float)((double)rand() / RAND_MAX - 0.5);
  r->bias = alloc_floats(oc->f);
  for (size_t i = 0; i < oc->f; i++)
    r->bias[i] = 0.01f * (float)i;
  if (oc->op == OP_RESIZE) {
    r->out_h = r->out_w = oc->f;
    r->h0 = malloc(sizeof(int32_t) * r->out_h), r->h1 = malloc(sizeof(int32_t) * r->out_h);
    r->w0 = malloc(sizeof(int32_t) * r->out_w), r->w1 = malloc(sizeof(int32_t) * r->out_w);
    r->lh = alloc_floats(r->out_h), r->lw = alloc_floats(r->out_w);
    for (size_t o = 0; o < r->out_h; o++) { /* align_corners */
      const double x = (double)o * (double)(oc->h - 1) / (double)(r->out_h - 1);
      const size_t i0 = (size_t)x, i1 = i0 + 1 < oc->h ? i0 + 1 : i0;
      r->h0[o] = r->w0[o] = (int32_t)i0, r->h1[o] = r->w1[o] = (int32_t)i1;
      r->lh[o] = r->lw[o] = (float)(x - (double)i0);
    }
    r->out = alloc_floats(r->out_h * r->out_w * C);
    r->flops = 4.0 * (double)(r->out_h * r->out_w * C); /* 4 inputs read per output */
    return;
  }
  r->out_h = kiln_conv_out_size(oc->h, oc->pad, oc->pad, oc->kh, oc->s, oc->d);
  r->out_w = kiln_conv_out_size(oc->w, oc->pad, oc->pad, oc->kw, oc->s, oc->d);
  r->out = alloc_floats(r->out_h * r->out_w * oc->f);
  const double pixels = (double)(r->out_h * r->out_w), taps = (double)(oc->kh * oc->kw);
  if (oc->op == OP_CONV) {
    const size_t nw = oc->kh * oc->kw * C * oc->f;
    r->w = alloc_floats(nw);
    for (size_t i = 0; i < nw; i++)
      r->w[i] = (float)((double)rand() / RAND_MAX - 0.5) * 0.1f;
    const struct kiln_f32_conv_shape s = {.in_c = C, .out_c = oc->f, .kh = oc->kh, .kw = oc->kw};
    r->packed = alloc_floats(kiln_f32_conv_packed_w_size(&s, k));
    kiln_f32_conv_pack_w(&s, r->w, r->packed, k);
    r->flops = 2.0 * pixels * taps * (double)C * (double)oc->f;
  } else if (oc->op == OP_DWCONV || oc->op == OP_DWCONV3X3) {
    r->w = alloc_floats(oc->kh * oc->kw * C);
    for (size_t i = 0; i < oc->kh * oc->kw * C; i++)
      r->w[i] = (float)((double)rand() / RAND_MAX - 0.5);
    r->flops = 2.0 * pixels * taps * (double)C;
  } else {
    r->flops = pixels * taps * (double)C;
  }
}

static void op_free(struct op_run *r) {
  free(r->in), free(r->w), free(r->packed), free(r->out), free(r->bias);
  free(r->lw), free(r->lh), free(r->w0), free(r->w1), free(r->h0), free(r->h1);
}

static const enum kiln_ukernel_op op_kinds[] = {
    KILN_UKERNEL_OP_f32_conv, KILN_UKERNEL_OP_f32_dwconv, KILN_UKERNEL_OP_f32_pool,
    KILN_UKERNEL_OP_f32_resize, KILN_UKERNEL_OP_f32_dwconv3x3};

static void bench_ops(int runs, double peak[KILN_ISA_COUNT], double machine_peak) {
  printf("ops, 1 thread, 1 image, best of %d runs (portable: of 3), epilogue bias+relu6:\n",
         runs);
  double times[64];
  if (runs > 64)
    runs = 64;
  for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; i++) {
    const struct op_case *oc = &op_cases[i];
    printf("  %s\n", oc->what);
    for (int v = 0; v < KILN_UKERNEL_COUNT; v++) {
      const struct kiln_ukernel *k = &kiln_ukernels[v];
      if (k->op != op_kinds[oc->op])
        continue;
      if (!kiln_isa_is_usable(k->isa)) {
        printf("    %-26s skipped: CPU lacks %s\n", k->name, kiln_isa_name(k->isa));
        continue;
      }
      struct op_run r;
      op_setup(&r, oc, k);
      op_exec(&r); /* warm-up */
      /* Repeat small ops inside one timing so each lasts about a millisecond or more. */
      double t0 = now_s();
      op_exec(&r);
      const double once = now_s() - t0;
      const int reps = once > 1e-3 ? 1 : (int)(1e-3 / (once + 1e-9)) + 1;
      const int nruns = k->isa == KILN_ISA_PORTABLE ? (runs < 3 ? runs : 3) : runs;
      for (int j = 0; j < nruns; j++) {
        t0 = now_s();
        for (int rep = 0; rep < reps; rep++)
          op_exec(&r);
        times[j] = (now_s() - t0) / reps;
      }
      qsort(times, (size_t)nruns, sizeof(double), cmp_double);
      const double best = r.flops / times[0] * 1e-9, median = r.flops / times[nruns / 2] * 1e-9;
      printf("    %-26s best %7.1f GFLOP/s  median %7.1f GFLOP/s  %8.1f us", k->name, best,
             median, times[0] * 1e6);
      if (peak[k->isa] > 0)
        printf("  %5.1f%% of %s peak", 100 * best / peak[k->isa], kiln_isa_name(k->isa));
      else if (machine_peak > 0)
        printf("  [%4.1f%% of machine peak]", 100 * best / machine_peak);
      printf("\n");
      op_free(&r);
    }
  }
}

int main(int argc, char **argv) {
  size_t M = 1024, N = 1024, K = 1024;
  int runs = 15, do_gemm = 1, do_ops = argc < 2;
  if (argc >= 2 && !strcmp(argv[1], "ops")) {
    do_gemm = 0, do_ops = 1;
    if (argc >= 3)
      runs = atoi(argv[2]);
  } else if (argc >= 4) {
    M = strtoul(argv[1], NULL, 10);
    N = strtoul(argv[2], NULL, 10);
    K = strtoul(argv[3], NULL, 10);
  }
  if (argc >= 5)
    runs = atoi(argv[4]);
  if (!M || !N || !K || runs < 1) {
    fprintf(stderr, "usage: kiln_ukernel_bench [M N K [runs]] | ops [runs]\n");
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

  srand(1);
  if (!do_gemm) {
    bench_ops(runs, peak, machine_peak);
    return 0;
  }
  float *A = alloc_floats(M * K), *B = alloc_floats(K * N), *C = alloc_floats(M * N);
  for (size_t i = 0; i < M * K; i++)
    A[i] = (float)((double)rand() / RAND_MAX - 0.5);
  for (size_t i = 0; i < K * N; i++)
    B[i] = (float)((double)rand() / RAND_MAX - 0.5);
  const double flops = 2.0 * (double)M * (double)N * (double)K;
  double *times = malloc(sizeof(double) * (size_t)runs);
  if (!times)
    return 1;

  printf("f32 gemm %zux%zux%zu, 1 thread, %d runs:\n", M, N, K, runs);
  double f32_best[KILN_ISA_COUNT] = {0};
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
    if (best > f32_best[k->isa])
      f32_best[k->isa] = best;
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
  bench_q8_gemm(M, N, K, runs, f32_best);
  if (do_ops)
    bench_ops(runs, peak, machine_peak);
  return 0;
}
