/* lower_root.c — the f32 root of a fused kernel on its microkernel (GEMM, depthwise 3x3
 * and general, direct conv with its small-C, banded and Winograd forms, pooling, resize,
 * 8-bit resize), the chunks its work is split into, and peeling the first epilogue stage
 * (bias, clamp, residual) into the microkernel's register epilogue. See lower.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/lower.h"
#include "interp/interp.h"

/* When k's chunks (already set) are too few to feed the threads (or `force`), and its N
 * output columns span several microkernel panels: chunks of panels instead (about
 * `per_thread` chunks per thread), over all rows (exec.c chunk_panels). */
void chunk_by_panels(Lower *L, Kernel *k, int64_t N, int per_thread, bool force) {
  int64_t panels = (N + (int64_t)k->uk->nr - 1) / (int64_t)k->uk->nr;
  if (L->p->threads < 2 || (!force && k->n_chunks >= 2 * (int64_t)L->p->threads) || panels < 2)
    return;
  k->cols_per_chunk = max_i64(1, panels / (int64_t)(per_thread * L->p->threads));
  k->n_chunks = (panels + k->cols_per_chunk - 1) / k->cols_per_chunk;
}

static bool try_gemm(Lower *L, Kernel *k, const Op *op) {
  if (op->kind != KILN_OP_MATMUL) return false;
  const TensorType *x = &op->in[0]->type, *w = &op->in[1]->type;
  if (x->rank != 2 || w->rank != 2 || x->dtype != KILN_F32 ||
      w->dtype != KILN_F32 || x->dims[0] < 1 || x->dims[1] < 1 || w->dims[1] < 1)
    return false;
  const float *wdata = const_data(L, op->in[1]);
  if (!wdata) return false;
  const struct kiln_ukernel *uk = kiln_ukernel_select(KILN_UKERNEL_OP_f32_gemm);
  int64_t M = x->dims[0], K = x->dims[1], N = w->dims[1];
  size_t n = kiln_f32_gemm_packed_b_size((size_t)K, (size_t)N, uk->nr);
  const float *packed = take_packed(L, uk, n);
  if (!packed) {
    float *buf = arena_alloc(&L->p->mem, n * sizeof(float));
    if (!buf) return false;
    kiln_f32_gemm_pack_b((size_t)K, (size_t)N, uk->nr, wdata, (size_t)N, buf);
    packed = buf;
  }
  k->root = ROOT_GEMM;
  k->uk = uk;
  k->M = M, k->N = N, k->K = K;
  k->packed_b = packed;
  k->packed_floats = n;
  /* Chunks of rows: enough of them to balance threads, small enough to stay in L2. */
  int64_t mr = (int64_t)uk->mr;
  int64_t tiles = (M + mr - 1) / mr;
  int64_t want = max_i64(1, tiles / (int64_t)(8 * L->p->threads));
  int64_t l2 = (int64_t)kiln_cache_budget(256 * 1024, 2, 1, 2); /* rows of A and C in L2 */
  int64_t l2_rows = max_i64(1, (l2 / 4) / max_i64(1, N + K) / mr);
  k->rows_per_chunk = mr * min_i64(want, l2_rows);
  k->chunk_elems = k->rows_per_chunk * N;
  k->n_chunks = (M + k->rows_per_chunk - 1) / k->rows_per_chunk;
  /* Few rows (the classifier's 1 x 1280 x 1000, the last 7x7 layers): row chunks cannot
   * feed the threads, so chunks are groups of column panels over all rows instead. */
  chunk_by_panels(L, k, N, 4, false);
  return true;
}

/* The shape and row chunks of an NHWC depthwise 3x3 (f32 or int8 kernels). */
bool dwconv3x3_shape(Kernel *k, const Op *op) {
  const OpAttrs *a = &op->attrs;
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  if (op->kind != KILN_OP_DEPTHWISE_CONV2D || a->layout != LAYOUT_NHWC || a->kernel[0] != 3 ||
      a->kernel[1] != 3 || x->rank != 4)
    return false;
  struct kiln_f32_dwconv_shape *s = &k->dw;
  s->in_h = (size_t)x->dims[1], s->in_w = (size_t)x->dims[2], s->channels = (size_t)x->dims[3];
  s->out_h = (size_t)y->dims[1], s->out_w = (size_t)y->dims[2];
  s->stride_h = (size_t)a->strides[0], s->stride_w = (size_t)a->strides[1];
  s->dilation_h = (size_t)a->dilations[0], s->dilation_w = (size_t)a->dilations[1];
  s->pad_top = (size_t)a->pads[0], s->pad_left = (size_t)a->pads[1];
  if (kiln_dwconv3x3_out_size(s->in_h, s->pad_top, (size_t)a->pads[2], s->stride_h,
                              s->dilation_h) != s->out_h ||
      kiln_dwconv3x3_out_size(s->in_w, s->pad_left, (size_t)a->pads[3], s->stride_w,
                              s->dilation_w) != s->out_w)
    return false;
  k->images = x->dims[0];
  k->chunk_elems = y->dims[2] * y->dims[3];
  k->n_chunks = x->dims[0] * y->dims[1];
  return true;
}

static bool try_dwconv(Lower *L, Kernel *k, const Op *op) {
  (void)L;
  if (op->kind != KILN_OP_DEPTHWISE_CONV2D || op->n_in < 2 || op->in[0]->type.dtype != KILN_F32 || op->in[1]->type.dtype != KILN_F32 ||
      (op->n_in > 2 && op->in[2]->type.dtype != KILN_F32) || !dwconv3x3_shape(k, op))
    return false;
  k->root = ROOT_DWCONV3X3;
  k->uk = kiln_ukernel_select(KILN_UKERNEL_OP_f32_dwconv3x3);
  return true;
}

/* Image-wise roots work in chunks of `units` (rows or pixel tiles) per image; enough
 * chunks to balance the threads, each at least a few rows. */
void chunk_images(Lower *L, Kernel *k, int64_t images, int64_t units, int64_t min_units) {
  int64_t want = max_i64(1, images * units / (int64_t)(4 * L->p->threads));
  k->images = images;
  k->units = units;
  k->units_per_chunk = max_i64(min_i64(min_units, units), min_i64(units, want / max_i64(1, images)));
  k->chunks_per_image = (units + k->units_per_chunk - 1) / k->units_per_chunk;
  k->n_chunks = images * k->chunks_per_image;
}

static bool f32_nhwc(const Op *op) {
  for (int i = 0; i < op->n_in; i++)
    if (op->in[i]->type.dtype != KILN_F32) return false;
  return op->out[0]->type.dtype == KILN_F32 && op->in[0]->type.rank == 4 &&
         op->out[0]->type.rank == 4;
}

static void image_sizes(Kernel *k, const Op *op) {
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  k->in_image = x->dims[1] * x->dims[2] * x->dims[3];
  k->out_image = y->dims[1] * y->dims[2] * y->dims[3];
}

/* Packed weights for uk: a .kiln file's (take_packed), else packed here by pack(s, w, buf,
 * uk) into the program's memory; NULL when out of memory. */
static const float *conv_weights(Lower *L, const struct kiln_ukernel *uk, size_t floats,
                                 void (*pack)(const struct kiln_f32_conv_shape *, const float *,
                                              float *, const struct kiln_ukernel *),
                                 const struct kiln_f32_conv_shape *s, const float *w) {
  const float *packed = take_packed(L, uk, floats);
  if (packed) return packed;
  float *buf = arena_alloc(&L->p->mem, floats * sizeof(float));
  if (buf) pack(s, w, buf, uk);
  return buf;
}

enum { WINOGRAD_MIN_TILES = 32, WINOGRAD_MIN_CHANNELS = 16 };

/* Whether a 3x3 stride-1 conv runs as F(4x4, 3x3) Winograd: at least 32 output tiles of
 * 4x4 per image (fewer would reuse the 4x larger transformed weights over too few GEMM
 * rows: ResNet's 14x14 and 7x7 maps stay direct) and 16 channels in and out (else the
 * transforms cost more than the multiplies they save). KILN_WINOGRAD=0 turns it off. */
static bool use_winograd(const struct kiln_f32_conv_shape *s) {
  const char *env = getenv("KILN_WINOGRAD");
  if ((env && !strcmp(env, "0")) || !kiln_f32_winograd_supports(s)) return false;
  size_t tiles = kiln_f32_winograd_tiles(s->out_h) * kiln_f32_winograd_tiles(s->out_w);
  return tiles >= WINOGRAD_MIN_TILES && s->in_c >= WINOGRAD_MIN_CHANNELS &&
         s->out_c >= WINOGRAD_MIN_CHANNELS;
}

/* Winograd chunks: groups of tile rows with at least mr tiles each (full GEMM tiles) when
 * that makes 4 chunks per thread; else (fewer tiles: 28x28 maps) each chunk takes all
 * tile rows and one of `threads` groups of column panels, which transforms the inputs
 * again (~2% of the GEMM work) but reuses each transformed weight over all tiles.
 * Measured on Zen 5, 2 threads: 56x56x64 0.25 ms by rows; 28x28x128 0.29 ms by panel
 * groups, 0.33 by rows. Scratch: one per thread. */
static bool lower_winograd(Lower *L, Kernel *k, int64_t images, const float *w) {
  const struct kiln_f32_conv_shape *s = &k->conv;
  const struct kiln_ukernel *uk = kiln_ukernel_select(KILN_UKERNEL_OP_f32_gemm);
  size_t n = kiln_f32_winograd_packed_w_size(s, uk);
  const float *packed = conv_weights(L, uk, n, kiln_f32_winograd_pack_w, s, w);
  if (!packed) return false;
  k->root = ROOT_WINOGRAD, k->uk = uk, k->packed_b = packed, k->packed_floats = n;
  int64_t tw = (int64_t)kiln_f32_winograd_tiles(s->out_w), threads = (int64_t)L->p->threads;
  int64_t panels = ((int64_t)s->out_c + (int64_t)uk->nr - 1) / (int64_t)uk->nr, groups = 1;
  k->images = images;
  k->units = (int64_t)kiln_f32_winograd_tiles(s->out_h);
  k->units_per_chunk = min_i64(k->units, ((int64_t)uk->mr + tw - 1) / tw);
  if (images * ((k->units + k->units_per_chunk - 1) / k->units_per_chunk) < 4 * threads) {
    k->units_per_chunk = k->units;
    groups = min_i64(panels, max_i64(1, threads / images));
  }
  k->chunks_per_image = (k->units + k->units_per_chunk - 1) / k->units_per_chunk;
  k->cols_per_chunk = (panels + groups - 1) / groups;
  k->n_chunks = images * k->chunks_per_image * ((panels + k->cols_per_chunk - 1) / k->cols_per_chunk);
  int64_t scratch = (int64_t)kiln_f32_winograd_scratch_floats(s, uk) * 4;
  k->im2col_buf = add_buf(L, BUF_ARENA, -1, scratch * threads);
  return k->im2col_buf >= 0;
}

/* Chunks of a direct conv's pixel tiles (`units` per image). Few of them (ResNet's 14x14
 * and 7x7 maps: 14 and 4 tiles of 14 pixels), under 8 per thread: chunks of them would
 * each re-read every weight panel for a few tiles, and balance badly (or leave a thread
 * idle), so chunks are groups of output-channel panels over all pixels instead. Measured
 * on Zen 5, 2 threads: 14x14x256 0.61 -> 0.52 ms; 28x28x128 (56 tiles) is slower split
 * by panels. */
static void chunk_conv(Lower *L, Kernel *k, int64_t images, int64_t units) {
  chunk_images(L, k, images, units, 4);
  chunk_by_panels(L, k, (int64_t)k->conv.out_c, 2, images * units < 8 * (int64_t)L->p->threads);
}

static bool try_conv(Lower *L, Kernel *k, const Op *op) {
  const OpAttrs *a = &op->attrs;
  if (op->kind != KILN_OP_CONV2D || a->layout != LAYOUT_NHWC || a->groups != 1 || !f32_nhwc(op))
    return false;
  const float *wdata = const_data(L, op->in[1]);
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  if (!wdata) return false;
  struct kiln_f32_conv_shape *s = &k->conv;
  *s = (struct kiln_f32_conv_shape){
      (size_t)x->dims[1], (size_t)x->dims[2], (size_t)x->dims[3], (size_t)y->dims[1],
      (size_t)y->dims[2], (size_t)y->dims[3], (size_t)a->kernel[0], (size_t)a->kernel[1],
      (size_t)a->strides[0], (size_t)a->strides[1], (size_t)a->dilations[0],
      (size_t)a->dilations[1], (size_t)a->pads[0], (size_t)a->pads[1]};
  image_sizes(k, op);
  if (use_winograd(s)) return lower_winograd(L, k, x->dims[0], wdata);
  const struct kiln_ukernel *uk = kiln_ukernel_select(KILN_UKERNEL_OP_f32_conv);
  size_t n = kiln_f32_conv_packed_w_size(s, uk);
  const float *packed = conv_weights(L, uk, n, kiln_f32_conv_pack_w, s, wdata);
  if (!packed) return false;
  k->root = ROOT_CONV, k->uk = uk, k->packed_b = packed, k->packed_floats = n;
  chunk_conv(L, k, x->dims[0], (int64_t)kiln_f32_conv_pixel_tiles(s, uk));
  return true;
}

enum { BANDED_MAX_VALID = 80 }; /* percent of taps in the input, below which ... */

/* ... a conv runs banded (kiln_f32_conv_banded: rectangles of pixels with the same valid
 * taps, no padding read) when nothing is left for an epilogue stage to do on its pixels
 * (they are written scattered) and it has no residual. Measured on Zen 5, 1 thread, 33x33
 * map, 1280 -> 256 channels: dilation 6 (77% valid) 23.3 -> 21.3 ms, 12 (57%) 20.2 ->
 * 17.8, 24 (27%) 11.6 -> 8.8; at dilation 1 (96%) banding is slower. */
void band_conv(Lower *L, Kernel *k) {
  const struct kiln_f32_conv_shape *s = &k->conv;
  if (k->root != ROOT_CONV || k->n_stages || k->ep_residual_buf >= 0 ||
      !kiln_f32_conv_banded_supports(s) ||
      kiln_f32_conv_valid_tap_fraction(s) * 100 >= BANDED_MAX_VALID)
    return;
  k->conv_banded = true;
  k->cols_per_chunk = 0;
  chunk_conv(L, k, k->images, (int64_t)kiln_f32_conv_banded_tiles(s, k->uk));
}

static bool try_dwconv_general(Lower *L, Kernel *k, const Op *op) {
  const OpAttrs *a = &op->attrs;
  if (op->kind != KILN_OP_DEPTHWISE_CONV2D || a->layout != LAYOUT_NHWC || !f32_nhwc(op))
    return false;
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  k->dw2 = (struct kiln_f32_dwconv2d_shape){
      (size_t)x->dims[1], (size_t)x->dims[2], (size_t)x->dims[3], (size_t)y->dims[1],
      (size_t)y->dims[2], (size_t)a->kernel[0], (size_t)a->kernel[1], (size_t)a->strides[0],
      (size_t)a->strides[1], (size_t)a->dilations[0], (size_t)a->dilations[1],
      (size_t)a->pads[0], (size_t)a->pads[1]};
  k->root = ROOT_DWCONV;
  k->uk = kiln_ukernel_select(KILN_UKERNEL_OP_f32_dwconv);
  image_sizes(k, op);
  chunk_images(L, k, x->dims[0], y->dims[1], 1);
  return true;
}

static bool try_pool(Lower *L, Kernel *k, const Op *op) {
  const OpAttrs *a = &op->attrs;
  if (op->kind != KILN_OP_POOL2D || a->layout != LAYOUT_NHWC || !f32_nhwc(op) ||
      a->dilations[0] != 1 || a->dilations[1] != 1)
    return false;
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  k->pool = (struct kiln_f32_pool_shape){
      (size_t)x->dims[1], (size_t)x->dims[2], (size_t)x->dims[3], (size_t)y->dims[1],
      (size_t)y->dims[2], (size_t)a->kernel[0], (size_t)a->kernel[1], (size_t)a->strides[0],
      (size_t)a->strides[1], (size_t)a->pads[0], (size_t)a->pads[1], (size_t)a->pads[2],
      (size_t)a->pads[3]};
  k->pool_kind = a->pool_kind == POOL_MAX ? KILN_POOL_MAX : KILN_POOL_AVG;
  k->count_include_pad = a->count_include_pad;
  k->root = ROOT_POOL;
  k->uk = kiln_ukernel_select(KILN_UKERNEL_OP_f32_pool);
  image_sizes(k, op);
  chunk_images(L, k, x->dims[0], y->dims[1], 1);
  return true;
}

/* Per-axis tables of an NHWC resize that scales H and W only. */
static bool resize_table(Lower *L, const Op *op, int dim, struct kiln_resize_axis_table *t) {
  int64_t in = op->in[0]->type.dims[dim], out = op->out[0]->type.dims[dim];
  int64_t *i0 = malloc(sizeof *i0 * (size_t)out), *i1 = malloc(sizeof *i1 * (size_t)out);
  double *w = malloc(sizeof *w * (size_t)out);
  int32_t *j0 = arena_alloc(&L->p->mem, sizeof *j0 * (size_t)out);
  int32_t *j1 = arena_alloc(&L->p->mem, sizeof *j1 * (size_t)out);
  float *lw = arena_alloc(&L->p->mem, sizeof *lw * (size_t)out);
  bool ok = i0 && i1 && w && j0 && j1 && lw && in <= INT32_MAX;
  if (ok) interp_resize_axis(&op->attrs, dim, in, out, i0, i1, w);
  for (int64_t o = 0; ok && o < out; o++) j0[o] = (int32_t)i0[o], j1[o] = (int32_t)i1[o], lw[o] = (float)w[o];
  free(i0), free(i1), free(w);
  *t = (struct kiln_resize_axis_table){j0, j1, lw};
  return ok;
}

static bool try_resize(Lower *L, Kernel *k, const Op *op) {
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  if (op->kind != KILN_OP_RESIZE || !f32_nhwc(op) || x->dims[0] != y->dims[0] ||
      x->dims[3] != y->dims[3] || y->dims[1] < 1 || y->dims[2] < 1)
    return false;
  if (!resize_table(L, op, 1, &k->rs_h) || !resize_table(L, op, 2, &k->rs_w)) return false;
  k->rs = (struct kiln_f32_resize_shape){(size_t)x->dims[1], (size_t)x->dims[2],
                                          (size_t)x->dims[3], (size_t)y->dims[1],
                                          (size_t)y->dims[2]};
  k->bilinear = op->attrs.resize_mode == RESIZE_LINEAR;
  k->root = ROOT_RESIZE;
  k->uk = kiln_ukernel_select(KILN_UKERNEL_OP_f32_resize);
  image_sizes(k, op);
  chunk_images(L, k, x->dims[0], y->dims[1], 1);
  return true;
}

/* One axis of an 8-bit linear resize; identity (the interpreter does not interpolate the
 * dim) when `identity` is set, which it must be for the batch and channel dims. */
static bool resize8_table(Lower *L, const Op *op, int dim, struct kiln_resize_axis_table *t,
                          const int32_t **w, bool identity) {
  int64_t in = op->in[0]->type.dims[dim], out = op->out[0]->type.dims[dim];
  int64_t *i0 = malloc(sizeof *i0 * (size_t)out), *i1 = malloc(sizeof *i1 * (size_t)out);
  int32_t *j0 = arena_alloc(&L->p->mem, sizeof *j0 * (size_t)out);
  int32_t *j1 = arena_alloc(&L->p->mem, sizeof *j1 * (size_t)out);
  int32_t *w1 = arena_alloc(&L->p->mem, sizeof *w1 * (size_t)out);
  bool ok = i0 && i1 && j0 && j1 && w1 && in <= INT32_MAX && (!identity || in == out);
  if (ok) interp_resize_axis_fixed10(&op->attrs, dim, in, out, i0, i1, w1);
  for (int64_t o = 0; ok && o < out; o++) {
    j0[o] = (int32_t)i0[o], j1[o] = (int32_t)i1[o];
    ok = !identity || (i0[o] == o && (w1[o] == 0 || i0[o] == i1[o]));
  }
  free(i0), free(i1);
  *t = (struct kiln_resize_axis_table){j0, j1, NULL};
  *w = w1;
  return ok;
}

/* A linear NHWC resize of 8-bit integers over H and W (what QDQ models run in uint8). */
static bool try_resize8(Lower *L, Kernel *k, const Op *op) {
  const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
  struct kiln_resize_axis_table n_t, c_t;
  const int32_t *unused;
  if (op->kind != KILN_OP_RESIZE || op->attrs.resize_mode != RESIZE_LINEAR ||
      (x->dtype != KILN_U8 && x->dtype != KILN_I8) || y->dtype != x->dtype || x->rank != 4 ||
      y->dims[1] < 1 || y->dims[2] < 1 || !resize8_table(L, op, 0, &n_t, &unused, true) ||
      !resize8_table(L, op, 3, &c_t, &unused, true) ||
      !resize8_table(L, op, 1, &k->rs_h, &k->rs8_wh, false) ||
      !resize8_table(L, op, 2, &k->rs_w, &k->rs8_ww, false))
    return false;
  k->rs = (struct kiln_f32_resize_shape){(size_t)x->dims[1], (size_t)x->dims[2],
                                          (size_t)x->dims[3], (size_t)y->dims[1],
                                          (size_t)y->dims[2]};
  k->rs8_signed = x->dtype == KILN_I8;
  k->root = ROOT_RESIZE8;
  image_sizes(k, op);
  chunk_images(L, k, x->dims[0], y->dims[1], 1);
  /* per chunk: two rows interpolated along W (int32), see resize8_rows */
  k->im2col_buf = add_buf(L, BUF_ARENA, -1, k->n_chunks * 2 * y->dims[2] * y->dims[3] * 4);
  return k->im2col_buf >= 0;
}

/* Root kernel choice; the epilogue's chunking when the root has none of its own. */
void choose_root(Lower *L, Kernel *k) {
  if (k->op && (try_gemm(L, k, k->op) || try_dwconv(L, k, k->op) ||
                try_dwconv_general(L, k, k->op) || try_conv(L, k, k->op) ||
                try_pool(L, k, k->op) || try_resize(L, k, k->op) || try_resize8(L, k, k->op)))
    return;
  k->root = k->op ? ROOT_REF : ROOT_NONE;
  chunk_elements(L, k);
}

/* Epilogue-only work: chunks of at least 4096 elements, several per thread. */
void chunk_elements(Lower *L, Kernel *k) {
  int64_t per = max_i64(4096, k->numel / (int64_t)(8 * L->p->threads));
  k->chunk_elems = per;
  k->n_chunks = (k->numel + per - 1) / per;
}

/* ---- peeling bias + clamp into the microkernel's register epilogue ------ */

bool f32_const_inst(const Body *b, int i, float *c) {
  if (b->insts[i].kind != BODY_CONST || b->insts[i].dtype != KILN_F32) return false;
  *c = (float)b->insts[i].imm;
  return true;
}

enum { SUM_TERMS_MAX = 8 };

/* The arguments summed by the tree of f32 adds at instruction i, into terms[*n]. */
static bool sum_terms(const Body *b, int i, int *terms, int *n) {
  const BodyInst *in = &b->insts[i];
  if (in->kind == BODY_ARG && *n < SUM_TERMS_MAX) {
    terms[(*n)++] = (int)in->imm_i;
    return true;
  }
  return in->kind == BODY_ADD && in->dtype == KILN_F32 && sum_terms(b, in->args[0], terms, n) &&
         sum_terms(b, in->args[1], terms, n);
}

/* Whether body b yields clamp(arg root_arg + the other arguments in terms[0..*n), lo, hi):
 * at most one min and one max with constants, on top of a sum of arguments in which the
 * root argument appears once. (The sum may be in any order: the microkernel adds the
 * terms in its own, which changes only the rounding of f32 additions.) */
static bool match_sum_clamp(const Body *b, int root_arg, int *terms, int *n, float *lo,
                            float *hi) {
  int i = b->yields[0], n_min = 0, n_max = 0, all[SUM_TERMS_MAX], n_all = 0, roots = 0;
  float c;
  for (;;) {
    const BodyInst *in = &b->insts[i];
    if ((in->kind != BODY_MIN && in->kind != BODY_MAX) || in->dtype != KILN_F32) break;
    int other = f32_const_inst(b, in->args[1], &c) ? in->args[0]
              : f32_const_inst(b, in->args[0], &c) ? in->args[1] : -1;
    if (other < 0) return false;
    if (in->kind == BODY_MIN) *hi = c, n_min++;
    else *lo = c, n_max++;
    i = other;
  }
  if (n_min > 1 || n_max > 1 || !(*lo <= *hi) || !sum_terms(b, i, all, &n_all)) return false;
  *n = 0;
  for (int t = 0; t < n_all; t++)
    if (all[t] == root_arg) roots++;
    else terms[(*n)++] = all[t];
  return roots == 1;
}

/* A per-channel vector of dtype t read along the last loop only, of `channels` elements. */
bool is_channel_vector(const Stage *s, const StageOperand *so, int64_t channels, DType t) {
  if (so->value >= 0 || so->dtype != t || so->base != 0 || s->rank < 1 ||
      s->dims[s->rank - 1] != channels || so->stride[s->rank - 1] != 1)
    return false;
  for (int l = 0; l < s->rank - 1; l++)
    if (so->stride[l]) return false;
  return true;
}

/* The root's operand index in stage s's generic, -1 if none, -2 if several. */
int root_operand(const Fusion *F, const Stage *s) {
  int r = -1;
  for (int i = 0; i < s->n_in; i++)
    if (F->is_root_val[s->op->in[i]->id]) r = r == -1 ? i : -2;
  return r;
}

/* Stage 0 now runs in the microkernel, which stores its value (of dtype t) into the root
 * buffer: later stages read it there, and the stage list loses its first entry. */
void drop_peeled_stage(Kernel *k, DType t) {
  for (int s = 1; s < k->n_stages; s++) {
    Stage *st = &k->stages[s];
    for (int i = 0; i < st->n_in; i++) {
      StageOperand *so = &st->in[i];
      if (so->value > 0) {
        so->value--;
      } else if (so->value == 0) { /* identity read of the root buffer */
        int64_t stride = 1;
        so->value = -1, so->buf = k->root_buf, so->dtype = t, so->base = 0;
        memset(so->stride, 0, sizeof so->stride);
        for (int l = st->rank - 1; l >= 0; l--) so->stride[l] = stride, stride *= st->dims[l];
      }
    }
  }
  memmove(k->stages, k->stages + 1, sizeof *k->stages * (size_t)(k->n_stages - 1));
  k->n_stages--;
  k->peeled = 1;
}

/* An operand that stage s reads at the root's own element index: a tensor of the root's
 * shape, row-major, not a value of the epilogue. */
static bool is_same_shape(const Stage *s, const StageOperand *so) {
  int64_t stride = 1;
  if (so->value >= 0 || so->dtype != KILN_F32 || so->base != 0) return false;
  for (int l = s->rank - 1; l >= 0; l--) {
    if (so->stride[l] != stride && s->dims[l] != 1) return false;
    stride *= s->dims[l];
  }
  return true;
}

/* The sum of the constant channel vectors vecs[0..n) of stage s, as a buffer of the
 * program's memory (one of them as it is when n == 1), or -1. */
static int bias_sum(Lower *L, const Stage *s, const int *vecs, int n, int64_t channels) {
  if (n == 1) return s->in[vecs[0]].buf;
  float *sum = arena_alloc(&L->p->mem, sizeof(float) * (size_t)channels);
  int b = sum ? add_buf(L, BUF_PRECOMPUTED, -1, (int64_t)sizeof(float) * channels) : -1;
  if (b < 0) return -1;
  for (int64_t c = 0; c < channels; c++) sum[c] = 0.0f;
  for (int i = 0; i < n; i++) {
    const float *v = const_data(L, s->op->in[vecs[i]]);
    if (!v) return -1;
    for (int64_t c = 0; c < channels; c++) sum[c] += v[c];
  }
  L->p->bufs[b].data = sum;
  return b;
}

/* Stage 0 of a GEMM, conv or depthwise kernel that is clamp(root + channel vectors [+ a
 * tensor of the root's shape]) moves into the microkernel, which applies it to each tile
 * in registers: the vectors as one bias (summed here when there are several constants),
 * the tensor (a ResNet block's skip connection; GEMM and conv kernels) as the residual.
 * Later stages read its value from the root's buffer. */
void peel_bias_clamp(Lower *L, Kernel *k, const Fusion *F) {
  bool conv_like = k->root == ROOT_DWCONV3X3 || k->root == ROOT_DWCONV || k->root == ROOT_CONV ||
                   k->root == ROOT_WINOGRAD;
  if ((k->root != ROOT_GEMM && !conv_like) || !k->n_stages) return;
  Stage *s0 = &k->stages[0];
  int root_arg = root_operand(F, s0), terms[SUM_TERMS_MAX], n_terms = 0;
  int vecs[SUM_TERMS_MAX], n_vecs = 0, residual = -1;
  float lo = -INFINITY, hi = INFINITY;
  if (root_arg < 0 || s0->dtype != KILN_F32) return;
  for (int s = 1; s < k->n_stages; s++)
    if (root_operand(F, &k->stages[s]) != -1) return;
  if (!match_sum_clamp(&s0->op->attrs.body, root_arg, terms, &n_terms, &lo, &hi)) return;
  int64_t channels = k->root == ROOT_GEMM ? k->N : k->op->out[0]->type.dims[3];
  bool may_residual = k->root == ROOT_GEMM || k->root == ROOT_CONV || k->root == ROOT_WINOGRAD;
  for (int t = 0; t < n_terms; t++) {
    const StageOperand *so = &s0->in[terms[t]];
    if (is_channel_vector(s0, so, channels, KILN_F32)) vecs[n_vecs++] = terms[t];
    else if (may_residual && residual < 0 && is_same_shape(s0, so)) residual = terms[t];
    else return;
  }
  if (n_vecs && conv_like && k->n_in > 2) return; /* the conv has its own bias */
  int out = s0->out_buf >= 0 ? s0->out_buf : k->root_buf;
  if (L->p->bufs[out].nbytes != L->p->bufs[k->root_buf].nbytes ||
      (residual >= 0 && s0->in[residual].buf == out))
    return;
  int bias_buf = n_vecs ? bias_sum(L, s0, vecs, n_vecs, channels) : -1;
  if (n_vecs && bias_buf < 0) return;
  k->root_buf = out;
  k->ep_bias_buf = bias_buf;
  k->ep_residual_buf = residual >= 0 ? s0->in[residual].buf : -1;
  k->ep_lo = lo, k->ep_hi = hi;
  drop_peeled_stage(k, KILN_F32);
}
