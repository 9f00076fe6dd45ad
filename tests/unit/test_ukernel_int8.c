/* test_ukernel_int8.c — every q8_gemm and q8_dwconv3x3 variant in kernels.def against a
 * plain scalar reference written here (int64 accumulation of (a - a_zp) * (w - w_zp),
 * then the documented requantize formula of struct kiln_q8_requant), bit-exact.
 *
 * GEMM, through the driver kiln_q8_gemm, on shapes derived from the tile (style.md
 * item 5): M in {mr, 2mr, 3mr, 1, mr-1, mr+1, 2mr+mr/2}, N in {nr, 2nr, 1, nr-1, nr+1,
 * 3nr+nr/2}, K in {1, 3, 4, 7, 69, 1100} (K not a multiple of the 4-wide unroll; 1100 x
 * 255 x 128 does not fit the int16 pair sums of a vpmaddubsw scheme). Cycled over the
 * cases: u8/s8 activations with nonzero zero points, weight zero points none/per column,
 * an int32 bias, every output type (i32 exact, f32, u8, s8), bias/clamp, and random or
 * extreme data (only -128/127 weights, 0/255 or -128/127 activations). lda > K and
 * ldc > N with sentinels around C (nothing outside the M x N box is written), and the
 * tile range split in three must give the same bytes as one call.
 *
 * Depthwise 3x3: channels around the vector width, strides 1-2, dilations 1-2, padding
 * 0-2, the same cycling of types and zero points.
 *
 * Also measured (printed, bounded): how often the exact int path rounds differently
 * from a float QDQ path (the float conv ONNX Runtime's CPU QDQ-in-float execution does:
 * sum of DQ(x)*DQ(w) in f32), which sums inexactly. Variants whose ISA (or VNNI) this
 * CPU lacks are skipped and say so. */
#include "backend/cpu/ukernel/ukernel.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint32_t rnd32(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 32);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(rnd32() >> 8) / 16777216.0f; }

/* One configuration of types, zero points and epilogue, cycled over the shapes. */
struct config {
  int a_signed, extreme, has_w_zp, has_bias_i32, has_bias, clamp;
  int qdq; /* the requantize of quantize_convs.c: out_scale 1, no f32 bias, no clamp */
  enum kiln_q8_out out;
};

static struct config config_of(unsigned i) {
  struct config c = {.a_signed = i & 1,
                     .extreme = (i >> 1) % 3 == 2,
                     .has_w_zp = (i / 3) % 2,
                     .has_bias_i32 = (i / 5) % 2,
                     .has_bias = (i / 2) % 2,
                     .clamp = (i / 7) % 2,
                     .qdq = (i / 11) % 3 == 0,
                     .out = (enum kiln_q8_out)(i % 4)};
  return c;
}

static int8_t rnd_w(const struct config *c) {
  return c->extreme ? (rnd32() & 1 ? 127 : -128) : (int8_t)rnd32();
}
static uint8_t rnd_a(const struct config *c) { /* the byte; s8 when a_signed */
  if (c->extreme)
    return c->a_signed ? (rnd32() & 1 ? 0x7f : 0x80) : (rnd32() & 1 ? 255 : 0);
  return (uint8_t)rnd32();
}

/* The documented epilogue, written independently of q8-requant.h: round, add the zero
 * point, then saturate as integers (the kernels clamp in float first). */
static void ref_requant(int64_t acc64, size_t col, const struct kiln_q8_requant *rq, void *c,
                        size_t idx) {
  const int32_t acc = (int32_t)acc64;
  if (rq->out_type == KILN_Q8_OUT_I32) {
    ((int32_t *)c)[idx] = acc;
    return;
  }
  float f = (float)acc * rq->scale[col];
  if (rq->bias)
    f += rq->bias[col];
  f = f < rq->min ? rq->min : f;
  f = f > rq->max ? rq->max : f;
  if (rq->out_type == KILN_Q8_OUT_F32) {
    ((float *)c)[idx] = f;
    return;
  }
  const float r = nearbyintf(f / rq->out_scale) + (float)rq->out_zp;
  const float lo = rq->out_type == KILN_Q8_OUT_S8 ? -128.0f : 0.0f;
  const float hi = rq->out_type == KILN_Q8_OUT_S8 ? 127.0f : 255.0f;
  const int32_t y = (int32_t)(r < lo ? lo : r > hi ? hi : r);
  if (rq->out_type == KILN_Q8_OUT_U8)
    ((uint8_t *)c)[idx] = (uint8_t)y;
  else
    ((int8_t *)c)[idx] = (int8_t)y;
}

static int32_t a_value(const uint8_t *p, int a_signed) {
  return a_signed ? (int32_t)(int8_t)*p : (int32_t)*p;
}

/* Random epilogue parameters for n columns into rq (arrays owned by the caller). */
static void make_rq(const struct config *c, size_t n, float *scale, float *bias,
                    struct kiln_q8_requant *rq) {
  for (size_t j = 0; j < n; j++) {
    scale[j] = rndf(0.5f, 4.0f) * 1e-4f; /* a_scale * w_scale */
    bias[j] = rndf(-2.0f, 2.0f);
  }
  rq->scale = scale;
  rq->bias = c->has_bias ? bias : NULL;
  rq->acc_bias = NULL;
  rq->min = c->clamp ? 0.0f : -INFINITY;
  rq->max = c->clamp ? 6.0f : INFINITY;
  rq->out_scale = c->extreme ? 0.5f : 0.03f; /* extreme sums saturate the output */
  if (c->qdq) { /* the kernels' branch-free path (kiln_q8_plain): M = scale / out_scale */
    for (size_t j = 0; j < n; j++) scale[j] /= rq->out_scale;
    rq->bias = NULL;
    rq->min = -INFINITY, rq->max = INFINITY;
    rq->out_scale = 1.0f;
  }
  rq->out_type = c->out;
  rq->out_zp = c->out == KILN_Q8_OUT_S8 ? (int32_t)(rnd32() % 40) - 20 : (int32_t)(rnd32() % 64) + 100;
}

enum { SENTINEL = 0xa5, C_PAD_COLS = 5, C_PAD_ROWS = 2 };

/* ---- GEMM ---- */

static void gemm_case(const struct kiln_ukernel *k, size_t M, size_t N, size_t K,
                      const struct config *c) {
  const size_t lda = K + 3, ldc = N + C_PAD_COLS, osize = kiln_q8_out_size(c->out);
  uint8_t *A = malloc(M * lda);
  int8_t *B = malloc(K * N);
  int32_t *w_zp = malloc(sizeof(int32_t) * N), *bias_i32 = malloc(sizeof(int32_t) * N);
  float *scale = malloc(sizeof(float) * N), *bias = malloc(sizeof(float) * N);
  const size_t cbytes = (M + C_PAD_ROWS) * ldc * osize;
  uint8_t *want = malloc(cbytes), *got = malloc(cbytes), *split = malloc(cbytes);
  for (size_t i = 0; i < M * lda; i++)
    A[i] = rnd_a(c);
  for (size_t i = 0; i < K * N; i++)
    B[i] = rnd_w(c);
  for (size_t j = 0; j < N; j++) {
    w_zp[j] = c->has_w_zp ? (int32_t)(rnd32() % 256) - 128 : 0;
    bias_i32[j] = (int32_t)(rnd32() % 20001) - 10000;
  }
  const struct kiln_q8_act act = {.zp = c->a_signed ? (int32_t)(rnd32() % 256) - 128
                                                    : (int32_t)(rnd32() % 256),
                                  .is_signed = c->a_signed};
  struct kiln_q8_requant rq;
  make_rq(c, N, scale, bias, &rq);

  memset(want, SENTINEL, cbytes);
  for (size_t m = 0; m < M; m++)
    for (size_t n = 0; n < N; n++) {
      int64_t acc = c->has_bias_i32 ? bias_i32[n] : 0;
      for (size_t kk = 0; kk < K; kk++)
        acc += (int64_t)(a_value(&A[m * lda + kk], c->a_signed) - act.zp) *
               ((int64_t)B[kk * N + n] - w_zp[n]);
      ref_requant(acc, n, &rq, want, m * ldc + n);
    }

  void *packed = aligned_alloc(64, (kiln_q8_gemm_packed_b_size(K, N, k) + 63) / 64 * 64);
  /* The int32 bias either folded into the packed column terms or added by the epilogue
   * (rq.acc_bias, offset per column panel by the driver): the same result. */
  const int bias_in_rq = c->has_bias_i32 && c->a_signed;
  rq.acc_bias = bias_in_rq ? bias_i32 : NULL;
  kiln_q8_gemm_pack_b(K, N, B, N, c->has_w_zp ? w_zp : NULL,
                      c->has_bias_i32 && !bias_in_rq ? bias_i32 : NULL, &act, k, packed);
  const size_t tiles = kiln_q8_gemm_tile_count(M, N, k);
  memset(got, SENTINEL, cbytes);
  kiln_q8_gemm(M, N, K, A, lda, packed, got, ldc, &rq, k, 0, tiles);
  memset(split, SENTINEL, cbytes);
  for (int part = 0; part < 3; part++)
    kiln_q8_gemm(M, N, K, A, lda, packed, split, ldc, &rq, k, tiles * part / 3,
                 tiles * (part + 1) / 3);

  check_count += 2;
  if (memcmp(want, got, cbytes)) {
    check_failures++;
    size_t at = 0;
    while (want[at] == got[at])
      at++;
    const size_t e = at / osize;
    fprintf(stderr,
            "%s M=%zu N=%zu K=%zu s8=%d extreme=%d wzp=%d bias32=%d bias=%d clamp=%d out=%d: "
            "first difference at C[%zu][%zu]%s\n",
            k->name, M, N, K, c->a_signed, c->extreme, c->has_w_zp, c->has_bias_i32,
            c->has_bias, c->clamp, (int)c->out, e / ldc, e % ldc,
            e / ldc >= M || e % ldc >= N ? " (outside C)" : "");
  }
  if (memcmp(got, split, cbytes)) {
    check_failures++;
    fprintf(stderr, "%s M=%zu N=%zu K=%zu: tile range split in 3 differs\n", k->name, M, N, K);
  }
  free(packed), free(A), free(B), free(w_zp), free(bias_i32), free(scale), free(bias);
  free(want), free(got), free(split);
}

static void test_gemm_variant(const struct kiln_ukernel *k) {
  if (!kiln_ukernel_is_usable(k)) {
    printf("  %s: skipped: CPU lacks %s%s\n", k->name, kiln_isa_name(k->isa),
           k->features & KILN_CPU_AVX512VNNI ? " VNNI" : "");
    return;
  }
  const size_t mr = k->mr, nr = k->nr;
  const size_t Ms[] = {mr, 2 * mr, 3 * mr, 1, mr - 1, mr + 1, 2 * mr + mr / 2};
  const size_t Ns[] = {nr, 2 * nr, 1, nr - 1, nr + 1, 3 * nr + nr / 2};
  const size_t Ks[] = {1, 3, 4, 7, 69, 1100};
  const int before = check_failures;
  unsigned cfg = 0;
  int cases = 0;
  for (size_t a = 0; a < sizeof Ms / sizeof Ms[0]; a++)
    for (size_t b = 0; b < sizeof Ns / sizeof Ns[0]; b++)
      for (size_t kk = 0; kk < sizeof Ks / sizeof Ks[0]; kk++) {
        if (!Ms[a] || !Ns[b])
          continue;
        const struct config c = config_of(cfg++);
        gemm_case(k, Ms[a], Ns[b], Ks[kk], &c);
        cases++;
      }
  for (unsigned i = 0; i < 48; i++, cases++) { /* every configuration on a gt shape */
    const struct config c = config_of(i);
    gemm_case(k, mr + 1, nr + 1, 13, &c);
  }
  printf("  %s (%ux%u): %d cases, %s\n", k->name, k->mr, k->nr, cases,
         check_failures == before ? "ok (bit-exact)" : "FAILED");
}

/* ---- depthwise 3x3 ---- */

static void dw_case(const struct kiln_ukernel *k, size_t C, size_t in_h, size_t in_w,
                    size_t stride, size_t dil, size_t pad, const struct config *c) {
  struct kiln_f32_dwconv_shape s = {.in_h = in_h, .in_w = in_w, .channels = C,
                                    .stride_h = stride, .stride_w = stride,
                                    .dilation_h = dil, .dilation_w = dil,
                                    .pad_top = pad, .pad_left = pad};
  s.out_h = kiln_dwconv3x3_out_size(in_h, pad, pad, stride, dil);
  s.out_w = kiln_dwconv3x3_out_size(in_w, pad, pad, stride, dil);
  if (!s.out_h || !s.out_w)
    return;
  const size_t osize = kiln_q8_out_size(c->out), nout = s.out_h * s.out_w * C;
  uint8_t *in = malloc(in_h * in_w * C);
  int8_t *w = malloc(9 * C);
  int32_t *w_zp = malloc(sizeof(int32_t) * C), *packed = malloc(sizeof(int32_t) * 9 * C);
  float *scale = malloc(sizeof(float) * C), *bias = malloc(sizeof(float) * C);
  uint8_t *want = malloc(nout * osize + 64), *got = malloc(nout * osize + 64);
  for (size_t i = 0; i < in_h * in_w * C; i++)
    in[i] = rnd_a(c);
  for (size_t i = 0; i < 9 * C; i++)
    w[i] = rnd_w(c);
  for (size_t j = 0; j < C; j++)
    w_zp[j] = c->has_w_zp ? (int32_t)(rnd32() % 256) - 128 : 0;
  const struct kiln_q8_act act = {.zp = c->a_signed ? (int32_t)(rnd32() % 256) - 128
                                                    : (int32_t)(rnd32() % 256),
                                  .is_signed = c->a_signed};
  struct kiln_q8_requant rq;
  make_rq(c, C, scale, bias, &rq);
  int32_t *acc_bias = malloc(sizeof(int32_t) * C); /* the int32 conv bias (ORT's QLinearConv) */
  for (size_t j = 0; j < C; j++)
    acc_bias[j] = (int32_t)(rnd32() % 20001) - 10000;
  rq.acc_bias = c->has_bias_i32 ? acc_bias : NULL;
  memset(want, SENTINEL, nout * osize + 64);
  for (size_t oh = 0; oh < s.out_h; oh++)
    for (size_t ow = 0; ow < s.out_w; ow++)
      for (size_t ch = 0; ch < C; ch++) {
        int64_t acc = c->has_bias_i32 ? acc_bias[ch] : 0;
        for (size_t kh = 0; kh < 3; kh++)
          for (size_t kw = 0; kw < 3; kw++) {
            const ptrdiff_t ih = (ptrdiff_t)(oh * stride + kh * dil) - (ptrdiff_t)pad;
            const ptrdiff_t iw = (ptrdiff_t)(ow * stride + kw * dil) - (ptrdiff_t)pad;
            if (ih < 0 || iw < 0 || ih >= (ptrdiff_t)in_h || iw >= (ptrdiff_t)in_w)
              continue; /* padding: DQ(x) = 0 */
            acc += (int64_t)(a_value(&in[((size_t)ih * in_w + (size_t)iw) * C + ch],
                                     c->a_signed) - act.zp) *
                   ((int64_t)w[(kh * 3 + kw) * C + ch] - w_zp[ch]);
          }
        ref_requant(acc, ch, &rq, want, (oh * s.out_w + ow) * C + ch);
      }
  kiln_q8_dwconv3x3_pack_w(C, w, c->has_w_zp ? w_zp : NULL, packed);
  memset(got, SENTINEL, nout * osize + 64);
  /* Two row ranges, as two threads would run them. */
  kiln_q8_dwconv3x3(&s, in, packed, got, &act, &rq, k, 0, s.out_h / 2);
  kiln_q8_dwconv3x3(&s, in, packed, got, &act, &rq, k, s.out_h / 2, s.out_h);
  check_count++;
  if (memcmp(want, got, nout * osize + 64)) {
    check_failures++;
    size_t at = 0;
    while (want[at] == got[at])
      at++;
    fprintf(stderr, "%s C=%zu in=%zux%zu s=%zu d=%zu p=%zu s8=%d out=%d: first difference at "
                    "element %zu of %zu\n",
            k->name, C, in_h, in_w, stride, dil, pad, c->a_signed, (int)c->out, at / osize, nout);
  }
  free(in), free(w), free(w_zp), free(packed), free(scale), free(bias), free(want), free(got);
  free(acc_bias);
}

static void test_dw_variant(const struct kiln_ukernel *k) {
  if (!kiln_ukernel_is_usable(k)) {
    printf("  %s: skipped: CPU lacks %s\n", k->name, kiln_isa_name(k->isa));
    return;
  }
  const size_t nr = k->nr;
  const size_t Cs[] = {1, nr - 1, nr, nr + 1, nr / 2 + 8 + 1, 2 * nr + 3, 3 * nr};
  const int before = check_failures;
  unsigned cfg = 0;
  int cases = 0;
  for (size_t a = 0; a < sizeof Cs / sizeof Cs[0]; a++)
    for (size_t stride = 1; stride <= 2; stride++)
      for (size_t dil = 1; dil <= 2; dil++)
        for (size_t pad = 0; pad <= 2; pad++) {
          if (!Cs[a])
            continue;
          const struct config c = config_of(cfg++);
          dw_case(k, Cs[a], 6 + pad, 7, stride, dil, pad, &c);
          cases++;
        }
  printf("  %s (c%u): %d cases, %s\n", k->name, k->nr, cases,
         check_failures == before ? "ok (bit-exact)" : "FAILED");
}

/* ---- the int path against a float QDQ path ---- */

/* A QDQ 1x1 conv / matmul like a quantized model's (u8 activations with zero point,
 * symmetric per-channel s8 weights, f32 bias = bias_q * a_scale * w_scale, relu6, u8
 * output): the float path sums DQ(x)*DQ(w) in f32 (in k order, as a float reference
 * GEMM would; another summation order differs in the same way), the int path is exact.
 * They can round differently only when the float result lies within the float sum's
 * error of a rounding boundary (x.5 output steps). */
static void test_vs_float_path(void) {
  const size_t M = 2048, N = 64, K = 288;
  const float a_scale = 0.0235f, out_scale = 0.0235f;
  const int32_t a_zp = 0, out_zp = 0;
  uint8_t *A = malloc(M * K), *got = malloc(M * N);
  int8_t *B = malloc(K * N);
  float *w_scale = malloc(sizeof(float) * N), *scale = malloc(sizeof(float) * N);
  float *bias = malloc(sizeof(float) * N);
  for (size_t i = 0; i < M * K; i++)
    A[i] = (uint8_t)(rnd32() % 256);
  for (size_t i = 0; i < K * N; i++)
    B[i] = (int8_t)((int32_t)(rnd32() % 255) - 127);
  for (size_t n = 0; n < N; n++) {
    w_scale[n] = rndf(0.5f, 2.0f) * 1e-3f;
    scale[n] = a_scale * w_scale[n];
    bias[n] = (float)((int32_t)(rnd32() % 2001) - 1000) * scale[n]; /* DQ of an int32 bias */
  }
  const struct kiln_ukernel *k = kiln_ukernel_select(KILN_UKERNEL_OP_q8_gemm);
  const struct kiln_q8_act act = {.zp = a_zp, .is_signed = 0};
  void *packed = aligned_alloc(64, (kiln_q8_gemm_packed_b_size(K, N, k) + 63) / 64 * 64);
  kiln_q8_gemm_pack_b(K, N, B, N, NULL, NULL, &act, k, packed);
  const struct kiln_q8_requant rq = {.scale = scale, .bias = bias, .min = 0.0f, .max = 6.0f,
                                     .out_scale = out_scale, .out_zp = out_zp,
                                     .out_type = KILN_Q8_OUT_U8};
  kiln_q8_gemm(M, N, K, A, K, packed, got, N, &rq, k, 0, kiln_q8_gemm_tile_count(M, N, k));
  size_t differ = 0, ref_differ = 0;
  int max_diff = 0;
  for (size_t m = 0; m < M; m++)
    for (size_t n = 0; n < N; n++) {
      float s = 0.0f;
      int64_t acc = 0;
      for (size_t kk = 0; kk < K; kk++) {
        const float x = (float)((int32_t)A[m * K + kk] - a_zp) * a_scale;
        const float wv = (float)B[kk * N + n] * w_scale[n];
        s = s + x * wv;
        acc += ((int64_t)A[m * K + kk] - a_zp) * B[kk * N + n];
      }
      float f = s + bias[n];
      f = f < 0.0f ? 0.0f : f > 6.0f ? 6.0f : f;
      float q = nearbyintf(f / out_scale) + (float)out_zp;
      q = q < 0 ? 0 : q > 255 ? 255 : q;
      uint8_t want_int;
      ref_requant(acc, n, &rq, &want_int, 0);
      ref_differ += want_int != got[m * N + n];
      const int d = abs((int)q - (int)got[m * N + n]);
      differ += d != 0;
      max_diff = d > max_diff ? d : max_diff;
    }
  CHECK_EQ_I(0, ref_differ);
  CHECK(max_diff <= 1);
  printf("  int path vs float QDQ path (%zux%zux%zu, u8, relu6, %s): %zu of %zu outputs "
         "differ (%.3f%%), by at most %d\n",
         M, N, K, k->name, differ, M * N, 100.0 * (double)differ / (double)(M * N), max_diff);
  free(A), free(got), free(B), free(w_scale), free(scale), free(bias), free(packed);
}

static void test_dispatch(void) {
  const struct kiln_cpu_features *cpu = kiln_cpu_features();
  const struct kiln_ukernel *g = kiln_ukernel_select(KILN_UKERNEL_OP_q8_gemm);
  const struct kiln_ukernel *d = kiln_ukernel_select(KILN_UKERNEL_OP_q8_dwconv3x3);
  CHECK(g && d);
  CHECK_EQ_I(cpu->isa, d->isa);
  /* The VNNI GEMM only with VNNI; an AVX-512 CPU without it falls back to AVX2. */
  if (cpu->isa == KILN_ISA_AVX512)
    CHECK_EQ_I(cpu->flags & KILN_CPU_AVX512VNNI ? KILN_ISA_AVX512 : KILN_ISA_AVX2, g->isa);
  else
    CHECK_EQ_I(cpu->isa, g->isa);
  CHECK(!(g->features & ~cpu->flags));
  printf("  cpu: selected %s, %s%s\n", g->name, d->name,
         cpu->flags & KILN_CPU_AVX512VNNI ? " (avx512vnni present)" : " (no avx512vnni)");
}

int main(void) {
  test_dispatch();
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++)
    if (kiln_ukernels[v].op == KILN_UKERNEL_OP_q8_gemm)
      test_gemm_variant(&kiln_ukernels[v]);
  for (int v = 0; v < KILN_UKERNEL_COUNT; v++)
    if (kiln_ukernels[v].op == KILN_UKERNEL_OP_q8_dwconv3x3)
      test_dw_variant(&kiln_ukernels[v]);
  test_vs_float_path();
  return check_report("test_ukernel_int8");
}
