/* exec.c — runs a CpuProgram: binds buffers, then each kernel in order, each fused
 * kernel's chunks split across the thread pool (pthreadpool: persistent workers, the
 * calling thread takes part). Nothing on this path allocates except the reference
 * executors of KERNEL_REF (ops without a kernel of their own). */
#include <math.h>
#include <pthread.h>
#include <pthreadpool.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/cpu/backend.h"
#include "backend/cpu/ukernel/q8-requant.h"
#include "interp/interp.h"

size_t cpu_core_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (size_t)n : 1;
}

KilnStatus cpu_program_start(CpuProgram *p, Diag *d) {
  int max_ops = 1;
  for (int k = 0; k < p->n_kernels; k++) {
    const Op *op = p->kernels[k].op; /* reference kernels and fused roots */
    if (op && op->n_in + op->n_out > max_ops) max_ops = op->n_in + op->n_out;
  }
  p->buf_addr = arena_alloc(&p->mem, sizeof *p->buf_addr * (size_t)(p->n_bufs + 1));
  p->ref_tensors = arena_alloc(&p->mem, sizeof *p->ref_tensors * (size_t)max_ops);
  p->ref_ptrs = arena_alloc(&p->mem, sizeof *p->ref_ptrs * (size_t)max_ops);
  p->arena = p->arena_bytes ? aligned_alloc(64, (size_t)p->arena_bytes) : NULL;
  if (!p->buf_addr || !p->ref_tensors || !p->ref_ptrs || (p->arena_bytes && !p->arena))
    return diag_error(d, KILN_ERR_NOMEM, "out of memory for a %lld-byte activation arena",
                      (long long)p->arena_bytes);
  p->trace_slots = arena_alloc(&p->mem, sizeof *p->trace_slots * p->threads);
  p->scratch_busy = arena_alloc(&p->mem, sizeof *p->scratch_busy * p->threads);
  if (!p->trace_slots || !p->scratch_busy) return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  for (size_t s = 0; s < p->threads; s++)
    atomic_init(&p->trace_slots[s], 0), atomic_init(&p->scratch_busy[s], 0);
  if (p->threads > 1 && !(p->pool = pthreadpool_create(p->threads)))
    return diag_error(d, KILN_ERR_NOMEM, "cannot start %zu threads", p->threads);
  return KILN_OK;
}

void cpu_program_free(CpuProgram *p) {
  if (!p) return;
  if (p->pool) pthreadpool_destroy(p->pool);
  free(p->arena);
  arena_free(&p->mem);
  free(p);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- fused kernels ------------------------------------------------------- */

typedef struct ChunkCtx {
  const Kernel *k;
  uint8_t *const *bufs;
  CpuProgram *p;
  int kernel;
} ChunkCtx;

/* The trace slot of the calling thread: claimed on first use (threads beyond the slots
 * share the last one). */
static int trace_slot(CpuProgram *p) {
  unsigned long self = (unsigned long)pthread_self();
  for (size_t s = 0; s < p->threads; s++) {
    unsigned long cur = atomic_load(&p->trace_slots[s]);
    if (cur == self) return (int)s;
    if (cur == 0 && atomic_compare_exchange_strong(&p->trace_slots[s], &cur, self)) return (int)s;
    if (cur == self) return (int)s;
  }
  return (int)p->threads - 1;
}

static void trace_chunk(const ChunkCtx *x, int64_t t0) {
  CpuProgram *p = x->p;
  int64_t *slot = &p->trace[((int64_t)x->kernel * (int64_t)p->threads + trace_slot(p)) * 2];
  if (!slot[0]) slot[0] = t0;
  slot[1] = now_ns();
}

/* Chunk c's rows [r0, r1) of a row-chunked root. */
static void chunk_rows(const Kernel *k, size_t c, int64_t *r0, int64_t *r1) {
  *r0 = (int64_t)c * k->rows_per_chunk;
  *r1 = *r0 + k->rows_per_chunk < k->M ? *r0 + k->rows_per_chunk : k->M;
}

/* Column-panel chunks (kernels with few rows or pixels, cols_per_chunk > 0): chunk c's
 * panels [*j0, *j1) of nr columns out of n. */
static void chunk_panels(const Kernel *k, size_t c, size_t n, size_t *j0, size_t *j1) {
  size_t panels = (n + k->uk->nr - 1) / k->uk->nr;
  *j0 = c * (size_t)k->cols_per_chunk;
  *j1 = *j0 + (size_t)k->cols_per_chunk < panels ? *j0 + (size_t)k->cols_per_chunk : panels;
}

/* The epilogue on the columns of panels [j0, j1) of `rows` rows of n elements from `first`. */
static void epilogue_panels(const ChunkCtx *x, int64_t first, int64_t rows, size_t n, size_t j0,
                            size_t j1) {
  const Kernel *k = x->k;
  size_t nr = k->uk->nr, n0 = j0 * nr, n1 = j1 * nr < n ? j1 * nr : n;
  for (int64_t r = 0; k->n_stages && r < rows; r++) {
    int64_t e = first + r * (int64_t)n;
    epilogue_run(k, x->bufs, e + (int64_t)n0, e + (int64_t)n1);
  }
}

/* The microkernel epilogue of a root: its own bias operand (a conv-like root's third
 * operand, when own_bias) or the bias peeled from the first stage, the clamp, and the
 * peeled residual from element `at` of the root's output on (row stride `ld`). */
static struct kiln_f32_epilogue root_epilogue(const ChunkCtx *x, bool own_bias, int64_t at,
                                              size_t ld) {
  const Kernel *k = x->k;
  struct kiln_f32_epilogue ep = {.min = k->ep_lo, .max = k->ep_hi};
  if (own_bias && k->n_in > 2) ep.bias = (const float *)x->bufs[k->in_buf[2]];
  if (k->ep_bias_buf >= 0) ep.bias = (const float *)x->bufs[k->ep_bias_buf];
  if (k->ep_residual_buf >= 0) {
    ep.residual = (const float *)x->bufs[k->ep_residual_buf] + at;
    ep.residual_stride = ld;
  }
  return ep;
}

/* Column-panel chunk of a GEMM with few rows: all M tiles of panels [j0, j1), then the
 * epilogue on each row's slice of those columns. */
static void gemm_column_chunk(const ChunkCtx *x, size_t c) {
  const Kernel *k = x->k;
  size_t m_tiles = ((size_t)k->M + k->uk->mr - 1) / k->uk->mr, j0, j1;
  chunk_panels(k, c, (size_t)k->N, &j0, &j1);
  struct kiln_f32_gemm_params gp = {root_epilogue(x, false, 0, (size_t)k->N), 0,
                                    k->M <= (int64_t)k->uk->mr};
  kiln_f32_gemm((size_t)k->M, (size_t)k->N, (size_t)k->K, (const float *)x->bufs[k->in_buf[0]],
                (size_t)k->K, k->packed_b, (float *)x->bufs[k->root_buf], (size_t)k->N, &gp,
                k->uk, j0 * m_tiles, j1 * m_tiles);
  epilogue_panels(x, 0, k->M, (size_t)k->N, j0, j1);
}

static void gemm_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  if (k->cols_per_chunk) {
    gemm_column_chunk(x, c);
    if (t0) trace_chunk(x, t0);
    return;
  }
  int64_t r0, r1;
  chunk_rows(k, c, &r0, &r1);
  const float *a = (const float *)x->bufs[k->in_buf[0]] + r0 * k->K;
  float *out = (float *)x->bufs[k->root_buf] + r0 * k->N;
  struct kiln_f32_gemm_params gp = {root_epilogue(x, false, r0 * k->N, (size_t)k->N), 0,
                                    k->M <= (int64_t)k->uk->mr};
  size_t rows = (size_t)(r1 - r0);
  kiln_f32_gemm(rows, (size_t)k->N, (size_t)k->K, a, (size_t)k->K, k->packed_b, out,
                (size_t)k->N, &gp, k->uk, 0, kiln_f32_gemm_tile_count(rows, (size_t)k->N, k->uk));
  if (k->n_stages) epilogue_run(k, x->bufs, r0 * k->N, r1 * k->N);
  if (t0) trace_chunk(x, t0);
}

static void dwconv_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  const struct kiln_f32_dwconv_shape *s = &k->dw;
  size_t image = c / s->out_h, row = c % s->out_h;
  size_t in_img = s->in_h * s->in_w * s->channels, out_img = s->out_h * s->out_w * s->channels;
  const float *in = (const float *)x->bufs[k->in_buf[0]] + image * in_img;
  const float *w = (const float *)x->bufs[k->in_buf[1]];
  struct kiln_f32_epilogue ep = root_epilogue(x, true, 0, 0);
  float *out = (float *)x->bufs[k->root_buf] + image * out_img;
  kiln_f32_dwconv3x3(s, in, w, out, &ep, k->uk, row, row + 1);
  int64_t e = (int64_t)c * k->chunk_elems;
  if (k->n_stages) epilogue_run(k, x->bufs, e, e + k->chunk_elems);
  if (t0) trace_chunk(x, t0);
}

/* Rows [r0, r1) of an int8 GEMM whose A is `a` (row 0, K bytes a row), then the epilogue. */
static void q8_gemm_rows(const ChunkCtx *x, const uint8_t *a, size_t lda, int64_t r0, int64_t r1) {
  const Kernel *k = x->k;
  size_t osize = kiln_q8_out_size(k->rq.out_type), rows = (size_t)(r1 - r0);
  kiln_q8_gemm(rows, (size_t)k->N, (size_t)k->K, a + (size_t)r0 * lda, lda, k->q8_weights,
               x->bufs[k->root_buf] + (size_t)(r0 * k->N) * osize, (size_t)k->N, &k->rq, k->uk,
               0, kiln_q8_gemm_tile_count(rows, (size_t)k->N, k->uk));
  if (k->n_stages) epilogue_run(k, x->bufs, r0 * k->N, r1 * k->N);
}

/* Column-panel chunk of an int8 GEMM with few rows (gemm_column_chunk's counterpart). */
static void q8_gemm_column_chunk(const ChunkCtx *x, size_t c) {
  const Kernel *k = x->k;
  size_t m_tiles = ((size_t)k->M + k->uk->mr - 1) / k->uk->mr, j0, j1;
  chunk_panels(k, c, (size_t)k->N, &j0, &j1);
  kiln_q8_gemm((size_t)k->M, (size_t)k->N, (size_t)k->K, x->bufs[k->in_buf[0]], (size_t)k->K,
               k->q8_weights, x->bufs[k->root_buf], (size_t)k->N, &k->rq, k->uk, j0 * m_tiles,
               j1 * m_tiles);
  epilogue_panels(x, 0, k->M, (size_t)k->N, j0, j1);
}

/* Rows (or column panels) of an int8 GEMM (quantize_convs.c's integer 1x1 convs and
 * matmuls) + epilogue. */
static void q8_gemm_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  int64_t t0 = x->p->trace ? now_ns() : 0, r0, r1;
  if (x->k->cols_per_chunk) {
    q8_gemm_column_chunk(x, c);
  } else {
    chunk_rows(x->k, c, &r0, &r1);
    q8_gemm_rows(x, x->bufs[x->k->in_buf[0]], (size_t)x->k->K, r0, r1);
  }
  if (t0) trace_chunk(x, t0);
}

/* memcpy for the few bytes of an image's tap row (3 taps x 3 channels): two overlapping
 * fixed-size copies, which compile to moves, instead of a call. */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n) {
  if (n >= 8 && n <= 16) {
    memcpy(dst, src, 8);
    memcpy(dst + n - 8, src + n - 8, 8);
  } else {
    memcpy(dst, src, n);
  }
}

/* One kernel row of taps (kw taps of C bytes) of output pixel column ow at input row ih,
 * a tap in the padding as the input zero point (so that x - zp = 0, the padding of the
 * dequantized conv). Undilated rows inside the image are one contiguous copy. */
static void q8_im2col_taps(const Kernel *k, const uint8_t *x, ptrdiff_t ih, size_t ow,
                           uint8_t *dst) {
  const struct kiln_f32_conv_shape *s = &k->conv;
  size_t C = s->in_c, row = s->kw * C;
  uint8_t zp = (uint8_t)k->act.zp;
  ptrdiff_t iw0 = (ptrdiff_t)(ow * s->stride_w) - (ptrdiff_t)s->pad_left;
  if (ih < 0 || ih >= (ptrdiff_t)s->in_h) {
    memset(dst, zp, row);
    return;
  }
  const uint8_t *src = x + (size_t)ih * s->in_w * C;
  if (s->dilation_w == 1 && iw0 >= 0 && iw0 + (ptrdiff_t)s->kw <= (ptrdiff_t)s->in_w) {
    copy_bytes(dst, src + (size_t)iw0 * C, row);
    return;
  }
  for (size_t j = 0; j < s->kw; j++, dst += C) {
    ptrdiff_t iw = iw0 + (ptrdiff_t)(j * s->dilation_w);
    if (iw < 0 || iw >= (ptrdiff_t)s->in_w) memset(dst, zp, C);
    else memcpy(dst, src + (size_t)iw * C, C);
  }
}

/* Row stride of an int8 conv's im2col matrix: K rounded up to 4, so that the GEMM reads
 * whole groups of 4 bytes (kiln_q8_gemm; the pad bytes are zero). */
static size_t im2col_stride(const Kernel *k) { return ((size_t)k->K + 3) & ~(size_t)3; }

/* Gathers the rows (output pixels) [r0, r1) of an int8 KxK conv's im2col matrix: per
 * pixel the KH x KW x C input taps. */
static void q8_im2col(const Kernel *k, const uint8_t *in, uint8_t *col, int64_t r0, int64_t r1) {
  const struct kiln_f32_conv_shape *s = &k->conv;
  size_t C = s->in_c, pixels = s->out_h * s->out_w, row = s->kw * C, lda = im2col_stride(k);
  size_t img = (size_t)r0 / pixels, p = (size_t)r0 % pixels, oh = p / s->out_w, ow = p % s->out_w;
  for (int64_t r = r0; r < r1; r++) {
    const uint8_t *x = in + img * s->in_h * s->in_w * C;
    uint8_t *dst = col + (size_t)r * lda;
    for (size_t b = (size_t)k->K; b < lda; b++) dst[b] = 0;
    for (size_t i = 0; i < s->kh; i++, dst += row)
      q8_im2col_taps(k, x, (ptrdiff_t)(oh * s->stride_h + i * s->dilation_h) - (ptrdiff_t)s->pad_top,
                     ow, dst);
    if (++ow == s->out_w && (ow = 0, ++oh == s->out_h)) oh = 0, img++;
  }
}

/* Rows of an int8 KxK conv: im2col of the chunk's pixels, then the int8 GEMM on them. */
static void q8_conv_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  int64_t t0 = x->p->trace ? now_ns() : 0, r0, r1;
  chunk_rows(x->k, c, &r0, &r1);
  q8_im2col(x->k, x->bufs[x->k->in_buf[0]], x->bufs[x->k->im2col_buf], r0, r1);
  q8_gemm_rows(x, x->bufs[x->k->im2col_buf], im2col_stride(x->k), r0, r1);
  if (t0) trace_chunk(x, t0);
}

/* Output rows of a tap-banded int8 conv (lower.c q8_bands): per row and column band,
 * the valid taps of its pixels gathered (no padding left) and multiplied by the weights
 * packed for exactly those taps. */
static void q8_conv_banded_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  const struct kiln_f32_conv_shape *s = &k->conv;
  size_t image = (size_t)((int64_t)c / k->chunks_per_image);
  size_t u0 = (size_t)((int64_t)c % k->chunks_per_image * k->units_per_chunk);
  size_t u1 = u0 + (size_t)k->units_per_chunk < s->out_h ? u0 + (size_t)k->units_per_chunk : s->out_h;
  size_t C = s->in_c, N = s->out_c, osize = kiln_q8_out_size(k->rq.out_type);
  const uint8_t *in = x->bufs[k->in_buf[0]] + image * s->in_h * s->in_w * C;
  uint8_t *out = x->bufs[k->root_buf] + image * s->out_h * s->out_w * N * osize;
  int hb = 0;
  for (size_t oh = u0; oh < u1; oh++) {
    while ((size_t)k->q8_hb[4 * hb + 1] <= oh) hb++;
    const int32_t *h = k->q8_hb + 4 * hb;
    uint8_t *col = x->bufs[k->im2col_buf] + (image * s->out_h + oh) * s->out_w * (size_t)k->K;
    for (int wbi = 0; wbi < k->q8_nwb; wbi++) {
      const int32_t *w = k->q8_wb + 4 * wbi;
      size_t kk = (size_t)(h[3] - h[2]) * (size_t)(w[3] - w[2]) * C, m = (size_t)(w[1] - w[0]);
      uint8_t *dst = col;
      for (size_t ow = (size_t)w[0]; ow < (size_t)w[1]; ow++)
        for (int32_t th = h[2]; th < h[3]; th++)
          for (int32_t tw = w[2]; tw < w[3]; tw++, dst += C) {
            size_t ih = oh * s->stride_h + (size_t)th * s->dilation_h - s->pad_top;
            size_t iw = ow * s->stride_w + (size_t)tw * s->dilation_w - s->pad_left;
            memcpy(dst, in + (ih * s->in_w + iw) * C, C);
          }
      kiln_q8_gemm(m, N, kk, col, kk, k->q8_band_w[hb * k->q8_nwb + wbi],
                   out + (oh * s->out_w + (size_t)w[0]) * N * osize, N, &k->rq, k->uk, 0,
                   kiln_q8_gemm_tile_count(m, N, k->uk));
    }
  }
  int64_t e0 = (int64_t)((image * s->out_h + u0) * s->out_w * N);
  if (k->n_stages) epilogue_run(k, x->bufs, e0, e0 + (int64_t)((u1 - u0) * s->out_w * N));
  if (t0) trace_chunk(x, t0);
}

/* One output row of an int8 depthwise 3x3 + epilogue. */
static void q8_dwconv_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  const struct kiln_f32_dwconv_shape *s = &k->dw;
  size_t image = c / s->out_h, row = c % s->out_h, osize = kiln_q8_out_size(k->rq.out_type);
  size_t in_img = s->in_h * s->in_w * s->channels, out_img = s->out_h * s->out_w * s->channels;
  kiln_q8_dwconv3x3(s, x->bufs[k->in_buf[0]] + image * in_img, k->q8_weights,
                    x->bufs[k->root_buf] + image * out_img * osize, &k->act, &k->rq, k->uk,
                    row, row + 1);
  int64_t e = (int64_t)c * k->chunk_elems;
  if (k->n_stages) epilogue_run(k, x->bufs, e, e + k->chunk_elems);
  if (t0) trace_chunk(x, t0);
}

/* 64-channel blocks of a global 8-bit sum (ROOT_Q8GSUM, an int8 global average pool):
 * int32 sums over the image's pixels (exact: in_h * in_w < 2^23), minus zp * pixels,
 * requantized by the same scalar epilogue as the int8 kernels; then the stages. */
static void q8_gsum_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  const struct kiln_f32_dwconv2d_shape *s = &k->dw2;
  size_t C = s->channels, hw = s->in_h * s->in_w, image = c / (size_t)k->chunks_per_image;
  size_t c0 = c % (size_t)k->chunks_per_image * (size_t)k->units_per_chunk * 64;
  size_t c1 = c0 + (size_t)k->units_per_chunk * 64 < C ? c0 + (size_t)k->units_per_chunk * 64 : C;
  const uint8_t *in = x->bufs[k->in_buf[0]] + image * hw * C;
  float lo, hi;
  kiln_q8_qbounds(&k->rq, &lo, &hi);
  int32_t bias = -k->act.zp * (int32_t)hw;
  for (size_t b = c0; b < c1; b += 64) {
    size_t n = c1 - b < 64 ? c1 - b : 64;
    int32_t acc[64] = {0};
    for (size_t p = 0; p < hw; p++) {
      const uint8_t *px = in + p * C + b;
      if (k->act.is_signed)
        for (size_t j = 0; j < n; j++) acc[j] += (int8_t)px[j];
      else
        for (size_t j = 0; j < n; j++) acc[j] += px[j];
    }
    for (size_t j = 0; j < n; j++)
      kiln_q8_requant_store1(acc[j] + bias, b + j, &k->rq, lo, hi, x->bufs[k->root_buf],
                             image * C + b + j);
  }
  if (k->n_stages) epilogue_run(k, x->bufs, (int64_t)(image * C + c0), (int64_t)(image * C + c1));
  if (t0) trace_chunk(x, t0);
}

/* One source row of an 8-bit linear resize interpolated along W: h[ow][c] = wx0 * x0 +
 * wx1 * x1 (exact int32). */
static void resize8_hrow(const Kernel *k, const void *row, int32_t *h) {
  size_t C = k->rs.channels;
  for (size_t ow = 0; ow < k->rs.out_w; ow++) {
    int32_t wx1 = k->rs8_ww[ow], wx0 = 1024 - wx1;
    size_t a = (size_t)k->rs_w.i0[ow] * C, b = (size_t)k->rs_w.i1[ow] * C;
    int32_t *hp = h + ow * C;
    if (k->rs8_signed)
      for (size_t c = 0; c < C; c++)
        hp[c] = wx0 * ((const int8_t *)row)[a + c] + wx1 * ((const int8_t *)row)[b + c];
    else
      for (size_t c = 0; c < C; c++)
        hp[c] = wx0 * ((const uint8_t *)row)[a + c] + wx1 * ((const uint8_t *)row)[b + c];
  }
}

/* Output rows [r0, r1) of an 8-bit linear resize (interp_resize.c's fixed point: 10-bit
 * weights per axis, the 2^20-scaled sum truncated toward zero), separably: the rows along
 * W once per source row (ht, hb: scratch of out_w * C int32 each), then along H over whole
 * contiguous output rows. The integer sum is exact, so the grouping changes nothing. */
static void resize8_rows(const Kernel *k, const uint8_t *in, uint8_t *out, size_t r0, size_t r1,
                         int32_t *ht, int32_t *hb) {
  const struct kiln_f32_resize_shape *s = &k->rs;
  size_t C = s->channels, row_in = s->in_w * C, n = s->out_w * C;
  int32_t top = -1, bot = -1;
  for (size_t oh = r0; oh < r1; oh++) {
    int32_t y0 = k->rs_h.i0[oh], y1 = k->rs_h.i1[oh], wy1 = k->rs8_wh[oh], wy0 = 1024 - wy1;
    if (y0 == bot && y1 != bot) { /* the previous bottom row is this top row */
      int32_t *t = ht;
      ht = hb, hb = t, top = bot, bot = -1;
    }
    if (y0 != top) resize8_hrow(k, in + (size_t)y0 * row_in, ht), top = y0;
    if (y1 != bot) resize8_hrow(k, in + (size_t)y1 * row_in, hb), bot = y1;
    uint8_t *o = out + oh * n;
    if (k->rs8_signed)
      for (size_t i = 0; i < n; i++) ((int8_t *)o)[i] = (int8_t)((wy0 * ht[i] + wy1 * hb[i]) / (1 << 20));
    else
      for (size_t i = 0; i < n; i++) o[i] = (uint8_t)((wy0 * ht[i] + wy1 * hb[i]) >> 20);
  }
}

/* One chunk of an image-wise root (conv: pixel tiles; others: output rows) + epilogue. */
/* Column-panel chunk of a conv with few pixel tiles (ResNet's 7x7 maps): every pixel tile
 * of panels [j0, j1) of every image, then the epilogue on each pixel's slice of those
 * channels. */
static void conv_column_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  size_t F = k->conv.out_c, pixels = k->conv.out_h * k->conv.out_w, j0, j1;
  chunk_panels(k, c, F, &j0, &j1);
  for (int64_t image = 0; image < k->images; image++) {
    struct kiln_f32_epilogue ep = root_epilogue(x, true, image * k->out_image, F);
    (k->conv_banded ? kiln_f32_conv_banded : kiln_f32_conv)(
        &k->conv, (const float *)x->bufs[k->in_buf[0]] + image * k->in_image, k->packed_b,
        (float *)x->bufs[k->root_buf] + image * k->out_image, &ep, k->uk, 0, (size_t)k->units,
        j0, j1);
    epilogue_panels(x, image * k->out_image, (int64_t)pixels, F, j0, j1);
  }
  if (t0) trace_chunk(x, t0);
}

/* A per-thread scratch slot no other chunk holds: at most p->threads chunks run at once
 * (the pool's workers and the caller), so one is always free. */
static size_t claim_scratch(CpuProgram *p) {
  for (;;)
    for (size_t s = 0; s < p->threads; s++) {
      int free_slot = 0;
      if (atomic_compare_exchange_strong(&p->scratch_busy[s], &free_slot, 1)) return s;
    }
}

/* Tile rows x a group of column panels of a Winograd conv, of one image; then the
 * epilogue on those output rows (and panels). */
static void winograd_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  const struct kiln_f32_conv_shape *s = &k->conv;
  size_t F = s->out_c, panels = (F + k->uk->nr - 1) / k->uk->nr, j0, j1;
  size_t groups = (panels + (size_t)k->cols_per_chunk - 1) / (size_t)k->cols_per_chunk;
  size_t image = c / groups / (size_t)k->chunks_per_image;
  size_t r0 = c / groups % (size_t)k->chunks_per_image * (size_t)k->units_per_chunk;
  size_t r1 = r0 + (size_t)k->units_per_chunk, oh1 = 4 * r1 < s->out_h ? 4 * r1 : s->out_h;
  chunk_panels(k, c % groups, F, &j0, &j1);
  int64_t at = (int64_t)image * k->out_image;
  struct kiln_f32_epilogue ep = root_epilogue(x, true, at, F);
  size_t slot = claim_scratch(x->p), floats = kiln_f32_winograd_scratch_floats(s, k->uk);
  kiln_f32_winograd(s, (const float *)x->bufs[k->in_buf[0]] + image * k->in_image, k->packed_b,
                    (float *)x->bufs[k->root_buf] + at, &ep, k->uk, r0, r1, j0, j1,
                    (float *)x->bufs[k->im2col_buf] + slot * floats);
  atomic_store(&x->p->scratch_busy[slot], 0);
  int64_t first = at + (int64_t)(4 * r0 * s->out_w * F), pixels = (int64_t)((oh1 - 4 * r0) * s->out_w);
  if (groups > 1) epilogue_panels(x, first, pixels, F, j0, j1);
  else if (k->n_stages) epilogue_run(k, x->bufs, first, first + pixels * (int64_t)F);
  if (t0) trace_chunk(x, t0);
}

static void image_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  int64_t image = (int64_t)c / k->chunks_per_image, part = (int64_t)c % k->chunks_per_image;
  size_t u0 = (size_t)(part * k->units_per_chunk);
  size_t u1 = (size_t)(u0 + (size_t)k->units_per_chunk < (size_t)k->units ? u0 + (size_t)k->units_per_chunk : (size_t)k->units);
  const float *in = (const float *)x->bufs[k->in_buf[0]] + image * k->in_image;
  float *out = (float *)x->bufs[k->root_buf] + image * k->out_image;
  int64_t e0, e1; /* the chunk's elements within the image */
  switch (k->root) {
  case ROOT_CONV: {
    struct kiln_f32_epilogue ep = root_epilogue(x, true, image * k->out_image, k->conv.out_c);
    size_t panels = (k->conv.out_c + k->uk->nr - 1) / k->uk->nr, mr = k->uk->mr;
    size_t pixels = k->conv.out_h * k->conv.out_w;
    (k->conv_banded ? kiln_f32_conv_banded : kiln_f32_conv)(&k->conv, in, k->packed_b, out, &ep,
                                                          k->uk, u0, u1, 0, panels);
    e0 = (int64_t)(u0 * mr * k->conv.out_c); /* banded: no stages (lower.c band_conv) */
    e1 = (int64_t)((u1 * mr < pixels ? u1 * mr : pixels) * k->conv.out_c);
    break;
  }
  case ROOT_DWCONV: {
    struct kiln_f32_epilogue ep = root_epilogue(x, true, 0, 0);
    kiln_f32_dwconv(&k->dw2, in, (const float *)x->bufs[k->in_buf[1]], out, &ep, k->uk, u0, u1);
    e0 = (int64_t)(u0 * k->dw2.out_w * k->dw2.channels), e1 = (int64_t)(u1 * k->dw2.out_w * k->dw2.channels);
    break;
  }
  case ROOT_POOL:
    kiln_f32_pool(&k->pool, k->pool_kind, k->count_include_pad, in, out, k->uk, u0, u1);
    e0 = (int64_t)(u0 * k->pool.out_w * k->pool.channels), e1 = (int64_t)(u1 * k->pool.out_w * k->pool.channels);
    break;
  case ROOT_RESIZE8: {
    int32_t *h = (int32_t *)x->bufs[k->im2col_buf] + c * 2 * k->rs.out_w * k->rs.channels;
    resize8_rows(k, x->bufs[k->in_buf[0]] + (size_t)(image * k->in_image), /* 1-byte elements */
                 x->bufs[k->root_buf] + (size_t)(image * k->out_image), u0, u1, h,
                 h + k->rs.out_w * k->rs.channels);
    e0 = (int64_t)(u0 * k->rs.out_w * k->rs.channels), e1 = (int64_t)(u1 * k->rs.out_w * k->rs.channels);
    break;
  }
  default: /* ROOT_RESIZE */
    kiln_f32_resize(&k->rs, k->bilinear, &k->rs_h, &k->rs_w, in, out, k->uk, u0, u1);
    e0 = (int64_t)(u0 * k->rs.out_w * k->rs.channels), e1 = (int64_t)(u1 * k->rs.out_w * k->rs.channels);
    break;
  }
  if (k->n_stages) epilogue_run(k, x->bufs, image * k->out_image + e0, image * k->out_image + e1);
  if (t0) trace_chunk(x, t0);
}

static void epilogue_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t e = (int64_t)c * k->chunk_elems;
  int64_t end = e + k->chunk_elems < k->numel ? e + k->chunk_elems : k->numel;
  int64_t t0 = x->p->trace ? now_ns() : 0;
  epilogue_run(k, x->bufs, e, end);
  if (t0) trace_chunk(x, t0);
}

static void parallel(CpuProgram *p, pthreadpool_task_1d_t task, ChunkCtx *ctx, int64_t n) {
  if (p->pool && n > 1) {
    pthreadpool_parallelize_1d(p->pool, task, ctx, (size_t)n, 0);
    return;
  }
  for (int64_t c = 0; c < n; c++) task(ctx, (size_t)c);
}

/* ---- reference kernels --------------------------------------------------- */

static Tensor view_of(CpuProgram *p, int b, const Value *v) {
  return (Tensor){v->type, p->buf_addr[b], (size_t)p->bufs[b].nbytes};
}

static KilnStatus run_ref_op(CpuProgram *p, const Op *op, const int *in_buf, int out_buf_0,
                             const int *out_buf, Diag *d) {
  Tensor *t = p->ref_tensors;
  Tensor **ptr = p->ref_ptrs;
  for (int i = 0; i < op->n_in; i++) t[i] = view_of(p, in_buf[i], op->in[i]);
  for (int i = 0; i < op->n_out; i++)
    t[op->n_in + i] = view_of(p, out_buf ? out_buf[i] : out_buf_0, op->out[i]);
  for (int i = 0; i < op->n_in + op->n_out; i++) {
    ptr[i] = &t[i];
    if ((int64_t)t[i].nbytes != type_nbytes(&t[i].type) || !t[i].data)
      return diag_error(d, KILN_ERR_INVALID, "kernel of op '%s': buffer %d does not fit (%zu bytes at %p, type needs %lld)", op->name, i, t[i].nbytes, t[i].data, (long long)type_nbytes(&t[i].type));
  }
  return interp_exec_op(op, ptr, ptr + op->n_in, d);
}

static KilnStatus run_fused(CpuProgram *p, const Kernel *k, Diag *d) {
  ChunkCtx ctx = {k, p->buf_addr, p, (int)(k - p->kernels)};
  switch (k->root) {
  case ROOT_GEMM: parallel(p, gemm_chunk, &ctx, k->n_chunks); return KILN_OK;
  case ROOT_DWCONV3X3: parallel(p, dwconv_chunk, &ctx, k->n_chunks); return KILN_OK;
  case ROOT_Q8GEMM: parallel(p, q8_gemm_chunk, &ctx, k->n_chunks); return KILN_OK;
  case ROOT_Q8CONV:
    parallel(p, k->q8_nhb ? q8_conv_banded_chunk : q8_conv_chunk, &ctx, k->n_chunks);
    return KILN_OK;
  case ROOT_Q8DWCONV3X3: parallel(p, q8_dwconv_chunk, &ctx, k->n_chunks); return KILN_OK;
  case ROOT_Q8GSUM: parallel(p, q8_gsum_chunk, &ctx, k->n_chunks); return KILN_OK;
  case ROOT_CONV:
    if (k->cols_per_chunk) {
      parallel(p, conv_column_chunk, &ctx, k->n_chunks);
      return KILN_OK;
    }
    parallel(p, image_chunk, &ctx, k->n_chunks);
    return KILN_OK;
  case ROOT_WINOGRAD: parallel(p, winograd_chunk, &ctx, k->n_chunks); return KILN_OK;
  case ROOT_DWCONV: case ROOT_POOL: case ROOT_RESIZE: case ROOT_RESIZE8:
    parallel(p, image_chunk, &ctx, k->n_chunks);
    return KILN_OK;
  case ROOT_REF: {
    int64_t t0 = p->trace ? now_ns() : 0;
    KilnStatus st = run_ref_op(p, k->op, k->in_buf, k->root_buf, NULL, d);
    if (st) return st;
    if (t0) trace_chunk(&ctx, t0);
  } /* fall through */
  case ROOT_NONE:
    if (k->n_stages) parallel(p, epilogue_chunk, &ctx, k->n_chunks);
    return KILN_OK;
  }
  return KILN_OK;
}

/* Transpose: out[i] = in[source of i] (op: the transpose; elements of 1, 2, 4 or 8 bytes).
 * The two innermost output dims are plain loops with their source strides (an NCHW ->
 * NHWC image: pixels along a row, channels within a pixel); an odometer steps the rest.
 * An image of 1-4 channels (a model's input) interleaves contiguous source rows: that
 * loop, with the channel count a constant, GCC vectorizes (-O3 for this file). */
#define INTERLEAVE(T, D)                                                                   \
  for (int64_t i = 0; i < d2; i++)                                                         \
    for (int64_t j = 0; j < D; j++)                                                        \
      ((T *)out)[e + i * D + j] = ((const T *)in)[off + j * s1 + i];
#define PERMUTE_ROWS(T)                                                                    \
  if (s2 == 1 && d1 >= 1 && d1 <= 4) {                                                     \
    switch (d1) {                                                                          \
    case 1: INTERLEAVE(T, 1) break;                                                        \
    case 2: INTERLEAVE(T, 2) break;                                                        \
    case 3: INTERLEAVE(T, 3) break;                                                        \
    default: INTERLEAVE(T, 4) break;                                                       \
    }                                                                                      \
    e += d1 * d2;                                                                          \
  } else {                                                                                 \
    for (int64_t i = 0; i < d2; i++)                                                       \
      for (int64_t j = 0; j < d1; j++)                                                     \
        ((T *)out)[e++] = ((const T *)in)[off + i * s2 + j * s1];                          \
  }
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
static void permute(const Op *t, const uint8_t *in, uint8_t *out, int64_t o0, int64_t o1) {
  const TensorType *x = &t->in[0]->type, *y = &t->out[0]->type;
  int rank = y->rank;
  size_t size = dtype_size(y->dtype);
  int64_t in_stride[KILN_MAX_RANK], stride[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0}, s = 1;
  for (int i = rank - 1; i >= 0; i--) in_stride[i] = s, s *= x->dims[i];
  for (int i = 0; i < rank; i++) stride[i] = in_stride[t->attrs.perm[i]];
  int64_t d1 = rank >= 1 ? y->dims[rank - 1] : 1, s1 = rank >= 1 ? stride[rank - 1] : 0;
  int64_t d2 = rank >= 2 ? y->dims[rank - 2] : 1, s2 = rank >= 2 ? stride[rank - 2] : 0;
  int64_t off = 0, e = o0 * d1 * d2, end = o1 * d1 * d2;
  for (int64_t i = rank - 3, r = o0; i >= 0; i--) /* outer index o0: its source offset */
    idx[i] = r % y->dims[i], off += idx[i] * stride[i], r /= y->dims[i];
  while (e < end) {
    switch (size) {
    case 1: PERMUTE_ROWS(uint8_t) break;
    case 2: PERMUTE_ROWS(uint16_t) break;
    case 4: PERMUTE_ROWS(uint32_t) break;
    default: PERMUTE_ROWS(uint64_t) break;
    }
    for (int i = rank - 3; i >= 0; i--) { /* next outer index, source offset along */
      off += stride[i];
      if (++idx[i] < y->dims[i]) break;
      off -= stride[i] * y->dims[i];
      idx[i] = 0;
    }
  }
}

/* NHWC -> NCHW with few channels (a segmentation model's output, 21 classes): the
 * generic loops would read the whole image once per channel with a stride of C; this
 * reads it once, each pixel's C values contiguous, and writes C rows. Rows (n, h) [r0, r1). */
enum { DEINTERLEAVE_MAX_C = 64 };
static bool is_deinterleave(const Op *t) {
  const int64_t *p = t->attrs.perm;
  return t->out[0]->type.rank == 4 && p[0] == 0 && p[1] == 3 && p[2] == 1 && p[3] == 2 &&
         t->in[0]->type.dims[3] <= DEINTERLEAVE_MAX_C;
}

__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
static void deinterleave(const Op *t, const uint8_t *in, uint8_t *out, int64_t r0, int64_t r1) {
  const int64_t *x = t->in[0]->type.dims; /* N, H, W, C */
  int64_t H = x[1], W = x[2], C = x[3];
  size_t size = dtype_size(t->out[0]->type.dtype);
  for (int64_t r = r0; r < r1; r++) {
    int64_t n = r / H, h = r % H;
    const uint8_t *src = in + (size_t)(r * W * C) * size;
    for (int64_t c = 0; c < C; c++) {
      uint8_t *dst = out + (size_t)(((n * C + c) * H + h) * W) * size;
      if (size == 4)
        for (int64_t w = 0; w < W; w++)
          ((uint32_t *)(void *)dst)[w] = ((const uint32_t *)(const void *)src)[w * C + c];
      else
        for (int64_t w = 0; w < W; w++) memcpy(dst + w * size, src + (w * C + c) * size, size);
    }
  }
}

/* Outer indices (all dims but the two innermost; rows (n, h) for a deinterleave) of a
 * transpose, split across threads. */
enum { PERMUTE_CHUNKS = 16 };
static int64_t permute_outer(const Op *t) {
  const TensorType *y = &t->out[0]->type;
  int64_t n = 1;
  if (is_deinterleave(t)) return t->in[0]->type.dims[0] * t->in[0]->type.dims[1];
  for (int i = 0; i + 2 < y->rank; i++) n *= y->dims[i];
  return type_numel(y) ? n : 0;
}

static void permute_chunk(void *ctx, size_t c) {
  const ChunkCtx *x = ctx;
  const Kernel *k = x->k;
  int64_t t0 = x->p->trace ? now_ns() : 0, outer = permute_outer(k->op);
  int64_t chunks = outer < PERMUTE_CHUNKS ? outer : PERMUTE_CHUNKS;
  int64_t o0 = outer * (int64_t)c / chunks, o1 = outer * (int64_t)(c + 1) / chunks;
  if (is_deinterleave(k->op))
    deinterleave(k->op, x->bufs[k->in_buf[0]], x->bufs[k->out_buf[0]], o0, o1);
  else
    permute(k->op, x->bufs[k->in_buf[0]], x->bufs[k->out_buf[0]], o0, o1);
  if (t0) trace_chunk(x, t0);
}
#undef PERMUTE_ROWS
#undef INTERLEAVE

static KilnStatus run_kernel(CpuProgram *p, const Kernel *k, Diag *d) {
  ChunkCtx ctx = {k, p->buf_addr, p, (int)(k - p->kernels)};
  int64_t t0 = p->trace ? now_ns() : 0;
  KilnStatus st = KILN_OK;
  switch (k->kind) {
  case KERNEL_REF: st = run_ref_op(p, k->op, k->in_buf, -1, k->out_buf, d); break;
  case KERNEL_COPY:
    memmove(p->buf_addr[k->out_buf[0]], p->buf_addr[k->in_buf[0]],
            (size_t)p->bufs[k->out_buf[0]].nbytes);
    break;
  case KERNEL_FUSED: return run_fused(p, k, d);
  case KERNEL_PERMUTE: {
    int64_t outer = permute_outer(k->op);
    parallel(p, permute_chunk, &ctx, outer < PERMUTE_CHUNKS ? outer : PERMUTE_CHUNKS);
    return KILN_OK;
  }
  }
  if (t0 && !st) trace_chunk(&ctx, t0);
  return st;
}

static void bind_buffers(CpuProgram *p, const void *const *inputs, void *const *outputs) {
  for (int b = 0; b < p->n_bufs; b++) {
    const Buf *bf = &p->bufs[b];
    switch (bf->kind) {
    /* no arena when every arena buffer is empty (NULL + 0 is undefined) */
    case BUF_ARENA: p->buf_addr[b] = p->arena ? p->arena + bf->offset : NULL; break;
    case BUF_CONST: p->buf_addr[b] = p->module->consts[bf->index].data; break;
    case BUF_INPUT: p->buf_addr[b] = (uint8_t *)inputs[bf->index]; break;
    case BUF_OUTPUT: p->buf_addr[b] = outputs[bf->index]; break;
    case BUF_PRECOMPUTED: p->buf_addr[b] = bf->data; break;
    }
  }
}

KilnStatus cpu_run(CpuProgram *p, const void *const *inputs, void *const *outputs,
                   int64_t *times, Diag *d) {
  bind_buffers(p, inputs, outputs);
  for (int k = 0; k < p->n_kernels; k++) {
    int64_t t0 = times ? now_ns() : 0;
    KilnStatus st = run_kernel(p, &p->kernels[k], d);
    if (st) return st;
    if (times) times[k] = now_ns() - t0;
  }
  return KILN_OK;
}
