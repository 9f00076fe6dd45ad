/* lower_q8.c — integer roots (quantize_convs.c's integer convs, GEMMs and global sums) on
 * the int8 microkernels: recognizing the widened 8-bit input, packing weights (per tap
 * band where taps fall in the padding), peeling the requantize into the microkernel, and
 * running a transposed 8-bit input as a permute kernel. See lower.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/lower.h"
#include "dispatch/dispatch.h"

/* ---- int8 roots: the integer convs of quantize_convs.c --------------------- */

bool q8_skipped(const Fusion *F, const Op *op) {
  for (int i = 0; i < F->n_q8_skip; i++)
    if (F->q8_skip[i] == op) return true;
  return false;
}

/* Whether generic g is i32(x) [- zp] of an 8-bit x (identity maps); sets the zero point. */
static bool is_widen_8bit(const Op *g, int32_t *zp) {
  if (g->kind != KILN_OP_GENERIC || g->n_in != 1 || g->n_out != 1 || !all_parallel(g) ||
      !affine_is_identity(&g->attrs.maps[0], g->attrs.n_loops) ||
      !affine_is_identity(&g->attrs.maps[1], g->attrs.n_loops))
    return false;
  const Body *b = &g->attrs.body;
  DType t = g->in[0]->type.dtype;
  int y = b->yields[0];
  int64_t z = 0;
  if (b->insts[y].kind == BODY_SUB) {
    const BodyInst *c = &b->insts[b->insts[y].args[1]];
    if (c->kind != BODY_CONST || c->dtype != KILN_I32) return false;
    z = c->imm_i, y = b->insts[y].args[0];
  }
  const BodyInst *cast = &b->insts[y];
  *zp = (int32_t)z;
  return (t == KILN_U8 || t == KILN_I8) && cast->kind == BODY_CAST && cast->dtype == KILN_I32 &&
         b->insts[cast->args[0]].kind == BODY_ARG && z >= (t == KILN_U8 ? 0 : -128) &&
         z <= (t == KILN_U8 ? 255 : 127);
}

/* Constant i32 data of v with every value in [lo, hi], or NULL. */
static const int32_t *const_i32_in(const Lower *L, const Value *v, int32_t lo, int32_t hi) {
  const int32_t *w = v->type.dtype == KILN_I32 ? const_data(L, v) : NULL;
  for (int64_t i = 0, n = type_numel(&v->type); w && i < n; i++)
    if (w[i] < lo || w[i] > hi) return NULL;
  return w;
}

/* An integer NHWC depthwise conv of ones over the whole unpadded image (the global
 * average pool of quantize_convs.c): ROOT_Q8GSUM. */
static bool is_global_sum(const Lower *L, const Op *r) {
  const OpAttrs *a = &r->attrs;
  if (r->kind != KILN_OP_DEPTHWISE_CONV2D || a->layout != LAYOUT_NHWC || r->n_in != 2 ||
      r->in[0]->type.rank != 4 || a->kernel[0] != r->in[0]->type.dims[1] ||
      a->kernel[1] != r->in[0]->type.dims[2] || r->out[0]->type.dims[1] != 1 ||
      r->out[0]->type.dims[2] != 1 || a->kernel[0] * a->kernel[1] >= (1 << 23) ||
      !const_i32_in(L, r->in[1], 1, 1))
    return false;
  for (int i = 0; i < 4; i++)
    if (a->pads[i]) return false;
  return true;
}

/* An integer 2-D matmul with constant int8-range weights, or an NHWC depthwise 3x3 whose
 * input is an 8-bit tensor widened in this piece (through single-use views). */
bool q8_match(const Lower *L, Fusion *F) {
  const Op *r = F->root;
  const OpAttrs *a = &r->attrs;
  bool gemm = r->kind == KILN_OP_MATMUL && r->in[0]->type.rank == 2 && r->in[1]->type.rank == 2 &&
              const_i32_in(L, r->in[1], -128, 127);
  bool dw = r->kind == KILN_OP_DEPTHWISE_CONV2D && a->layout == LAYOUT_NHWC &&
            a->kernel[0] == 3 && a->kernel[1] == 3 && const_i32_in(L, r->in[1], -255, 255) &&
            (r->n_in == 2 || const_i32_in(L, r->in[2], INT32_MIN, INT32_MAX));
  Kernel scratch;
  if (dw && !dwconv3x3_shape(&scratch, r)) return false;
  dw = dw || is_global_sum(L, r);
  bool conv = r->kind == KILN_OP_CONV2D && a->layout == LAYOUT_NHWC && a->groups == 1 &&
              const_i32_in(L, r->in[1], -128, 127) &&
              (r->n_in == 2 || const_i32_in(L, r->in[2], INT32_MIN, INT32_MAX));
  if (r->out[0]->type.dtype != KILN_I32 || (!gemm && !dw && !conv)) return false;
  const Value *v = r->in[0];
  F->n_q8_skip = 0;
  F->q8_transpose = NULL;
  while (v->def && F->in_piece[v->id] && value_has_one_use(v) && F->n_q8_skip < KILN_MAX_RANK - 1 &&
         (is_view(v->def) || (v->def->kind == KILN_OP_TRANSPOSE && !F->q8_transpose))) {
    if (v->def->kind == KILN_OP_TRANSPOSE) F->q8_transpose = v->def; /* moved as 8-bit data */
    F->q8_skip[F->n_q8_skip++] = v->def;
    v = v->def->in[0];
  }
  if (!v->def || !F->in_piece[v->id] || !value_has_one_use(v) || !is_widen_8bit(v->def, &F->q8_zp)) {
    F->n_q8_skip = 0;
    return false;
  }
  F->q8_skip[F->n_q8_skip++] = v->def;
  F->q8_src = v->def->in[0];
  return true;
}

/* The output indices of one spatial dim in bands with the same interval of valid kernel
 * taps [t0, t1) (tap t reads input o*s - p + t*d, valid inside [0, in)): {o0, o1, t0, t1}
 * per band into b (room for `out` bands); returns the count, 0 if some output has no
 * valid tap. *work: the sum over outputs of their valid taps. */
static int tap_bands(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t p,
                     int32_t *b, int64_t *work) {
  int n = 0;
  *work = 0;
  for (int64_t o = 0; o < out; o++) {
    int64_t t0 = 0, t1 = k;
    while (t0 < k && o * s - p + t0 * d < 0) t0++;
    while (t1 > t0 && o * s - p + (t1 - 1) * d >= in) t1--;
    if (t0 == t1) return 0;
    *work += t1 - t0;
    if (n && b[4 * (n - 1) + 2] == t0 && b[4 * (n - 1) + 3] == t1) {
      b[4 * (n - 1) + 1] = (int32_t)o + 1;
    } else {
      int32_t *e = b + 4 * n++;
      e[0] = (int32_t)o, e[1] = (int32_t)o + 1, e[2] = (int32_t)t0, e[3] = (int32_t)t1;
    }
  }
  return n;
}

/* Weights [KH][KW][C][N] (int8 range, as int32) of taps [h0,h1) x [w0,w1), packed. */
static void *pack_taps(Lower *L, const int32_t *w, const struct kiln_f32_conv_shape *cs,
                       const int32_t *hb, const int32_t *wb, const Kernel *k) {
  size_t C = cs->in_c, N = cs->out_c, rows = 0;
  size_t K = (size_t)(hb[3] - hb[2]) * (size_t)(wb[3] - wb[2]) * C;
  int8_t *w8 = malloc(K * N);
  size_t n = kiln_q8_gemm_packed_b_size(K, N, k->uk);
  void *packed = w8 ? arena_alloc(&L->p->mem, n) : NULL;
  for (int32_t th = hb[2]; packed && th < hb[3]; th++)
    for (int32_t tw = wb[2]; tw < wb[3]; tw++)
      for (size_t c = 0; c < C; c++, rows++)
        for (size_t j = 0; j < N; j++)
          w8[rows * N + j] = (int8_t)w[(((size_t)th * cs->kw + (size_t)tw) * C + c) * N + j];
  if (packed) kiln_q8_gemm_pack_b(K, N, w8, N, NULL, NULL, &k->act, k->uk, packed);
  free(w8);
  return packed;
}

/* A KxK int8 conv whose kernel taps fall in the padding for many outputs (DeepLab's ASPP:
 * dilation 12-36 on 33x33 maps) gathers and multiplies only the valid taps, band by band:
 * chosen when that saves at least a quarter of the work (else the extra packed weights,
 * one set per band pair, are not worth it). */
static bool q8_bands(Lower *L, Kernel *k, const int32_t *w) {
  const struct kiln_f32_conv_shape *cs = &k->conv;
  int32_t *hb = arena_alloc(&L->p->mem, sizeof *hb * 4 * cs->out_h);
  int32_t *wb = arena_alloc(&L->p->mem, sizeof *wb * 4 * cs->out_w);
  int64_t work_h, work_w;
  if (!hb || !wb) return false;
  int nh = tap_bands((int64_t)cs->in_h, (int64_t)cs->out_h, (int64_t)cs->kh,
                     (int64_t)cs->stride_h, (int64_t)cs->dilation_h, (int64_t)cs->pad_top, hb, &work_h);
  int nw = tap_bands((int64_t)cs->in_w, (int64_t)cs->out_w, (int64_t)cs->kw,
                     (int64_t)cs->stride_w, (int64_t)cs->dilation_w, (int64_t)cs->pad_left, wb, &work_w);
  double full = (double)(cs->out_h * cs->kh) * (double)(cs->out_w * cs->kw);
  if (!nh || !nw || (double)work_h * (double)work_w > 0.75 * full) return false;
  const void **bw = arena_alloc(&L->p->mem, sizeof *bw * (size_t)(nh * nw));
  for (int i = 0; bw && i < nh * nw; i++)
    if (!(bw[i] = pack_taps(L, w, cs, hb + 4 * (i / nw), wb + 4 * (i % nw), k))) return false;
  k->q8_nhb = nh, k->q8_nwb = nw, k->q8_hb = hb, k->q8_wb = wb, k->q8_band_w = bw;
  return bw != NULL;
}

KilnStatus lower_q8(Lower *L, Kernel *k, const Fusion *F) {
  const Op *r = F->root;
  k->act = (struct kiln_q8_act){F->q8_zp, F->q8_src->type.dtype == KILN_I8};
  k->rq = (struct kiln_q8_requant){.min = -INFINITY, .max = INFINITY, .out_scale = 1.0f,
                                   .out_type = KILN_Q8_OUT_I32};
  if (r->kind == KILN_OP_DEPTHWISE_CONV2D && is_global_sum(L, r)) {
    const int64_t *x = r->in[0]->type.dims;
    k->root = ROOT_Q8GSUM;
    k->dw2 = (struct kiln_f32_dwconv2d_shape){0};
    k->dw2.in_h = (size_t)x[1], k->dw2.in_w = (size_t)x[2], k->dw2.channels = (size_t)x[3];
    chunk_images(L, k, x[0], (x[3] + 63) / 64, 1);
    return KILN_OK;
  }
  if (r->kind == KILN_OP_DEPTHWISE_CONV2D) {
    if (!dwconv3x3_shape(k, r))
      return diag_error(L->d, KILN_ERR_INVALID, "depthwise conv '%s': bad shape", r->name);
    k->root = ROOT_Q8DWCONV3X3;
    k->uk = kiln_ukernel_select(KILN_UKERNEL_OP_q8_dwconv3x3);
    const int32_t *w = const_data(L, r->in[1]); /* [3][3][C] = [9][C], zero point off */
    int64_t n = type_numel(&r->in[1]->type);
    int32_t *packed = arena_alloc(&L->p->mem, sizeof *packed * (size_t)n);
    if (!packed) return nomem(L);
    for (int64_t i = 0; i < n; i++) packed[i] = kiln_q8_dw_weight(w[i]); /* in [-255, 255] */
    k->q8_weights = packed;
    k->rq.acc_bias = r->n_in > 2 ? const_data(L, r->in[2]) : NULL;
    return KILN_OK;
  }
  const struct kiln_ukernel *uk = kiln_ukernel_select(KILN_UKERNEL_OP_q8_gemm);
  int64_t M = r->in[0]->type.dims[0], K = r->in[0]->type.dims[1], N = r->in[1]->type.dims[1];
  if (r->kind == KILN_OP_CONV2D) { /* im2col rows (pixels) x hwcf weights as [KH*KW*C, F] */
    const TensorType *x = &r->in[0]->type, *y = &r->out[0]->type;
    k->conv = (struct kiln_f32_conv_shape){
        (size_t)x->dims[1], (size_t)x->dims[2], (size_t)x->dims[3], (size_t)y->dims[1],
        (size_t)y->dims[2], (size_t)y->dims[3], (size_t)r->attrs.kernel[0],
        (size_t)r->attrs.kernel[1], (size_t)r->attrs.strides[0], (size_t)r->attrs.strides[1],
        (size_t)r->attrs.dilations[0], (size_t)r->attrs.dilations[1], (size_t)r->attrs.pads[0],
        (size_t)r->attrs.pads[1]};
    M = x->dims[0] * y->dims[1] * y->dims[2], N = y->dims[3];
    K = r->attrs.kernel[0] * r->attrs.kernel[1] * x->dims[3];
    k->im2col_buf = add_buf(L, BUF_ARENA, -1, M * ((K + 3) & ~(int64_t)3)); /* rows of 4k bytes */
    if (k->im2col_buf < 0) return nomem(L);
    k->rq.acc_bias = r->n_in > 2 ? const_data(L, r->in[2]) : NULL;
  }
  const int32_t *w = const_data(L, r->in[1]);
  int8_t *w8 = malloc((size_t)(K * N));
  size_t n = kiln_q8_gemm_packed_b_size((size_t)K, (size_t)N, uk);
  void *packed = arena_alloc(&L->p->mem, n);
  if (!w8 || !packed || K > KILN_Q8_GEMM_K_MAX) {
    free(w8);
    return !w8 || !packed ? nomem(L) : diag_error(L->d, KILN_ERR_LIMIT, "matmul '%s': K too large", r->name);
  }
  for (int64_t i = 0; i < K * N; i++) w8[i] = (int8_t)w[i];
  kiln_q8_gemm_pack_b((size_t)K, (size_t)N, w8, (size_t)N, NULL, NULL, &k->act, uk, packed);
  free(w8);
  k->root = r->kind == KILN_OP_CONV2D ? ROOT_Q8CONV : ROOT_Q8GEMM;
  k->uk = uk, k->q8_weights = packed;
  k->M = M, k->N = N, k->K = K;
  if (k->root == ROOT_Q8CONV && q8_bands(L, k, w)) { /* chunks of output rows */
    chunk_images(L, k, r->in[0]->type.dims[0], (int64_t)k->conv.out_h, 1);
    return KILN_OK;
  }
  int64_t mr = (int64_t)uk->mr, tiles = (M + mr - 1) / mr;
  int64_t want = max_i64(1, tiles / (int64_t)(8 * L->p->threads));
  int64_t l2 = (int64_t)kiln_cache_budget(256 * 1024, 2, 1, 2); /* rows of A and C in L2 */
  int64_t l2_rows = max_i64(1, l2 / max_i64(1, 4 * N + K) / mr);
  k->rows_per_chunk = mr * min_i64(want, l2_rows);
  k->chunk_elems = k->rows_per_chunk * N;
  k->n_chunks = (M + k->rows_per_chunk - 1) / k->rows_per_chunk;
  /* Few rows (a classifier's GEMV, the 7x7 layers): column-panel chunks, as try_gemm. */
  if (k->root == ROOT_Q8GEMM) chunk_by_panels(L, k, N, 4, false);
  return KILN_OK;
}

/* Stage 0 = requantize(root [+ channel bias]) as quantize_convs.c writes it (after
 * fuse-elementwise put a matmul's bias add in front): cast<qt>(clamp(roundeven(f32(acc) *
 * M) + zp, qmin, qmax)), M a constant or (*m_arg >= 0) a per-channel operand. Returns the
 * bias operand (-1: none), or -2 when it does not match. */
static int match_requant(const Body *b, int root_arg, float *M, int *m_arg, int32_t *zp,
                         DType qt) {
  const BodyInst *in = &b->insts[b->yields[0]];
  float c, lo, hi, z;
  if (in->kind != BODY_CAST || in->dtype != qt) return -2;
  in = &b->insts[in->args[0]];
  if (in->kind != BODY_MIN || !f32_const_inst(b, in->args[1], &hi)) return -2;
  in = &b->insts[in->args[0]];
  if (in->kind != BODY_MAX || !f32_const_inst(b, in->args[1], &lo)) return -2;
  in = &b->insts[in->args[0]];
  if (in->kind != BODY_ADD || !f32_const_inst(b, in->args[1], &z)) return -2;
  in = &b->insts[in->args[0]];
  if (in->kind != BODY_ROUND) return -2;
  in = &b->insts[in->args[0]];
  *m_arg = -1;
  if (in->kind != BODY_MUL) return -2;
  const BodyInst *ma = &b->insts[in->args[1]];
  if (ma->kind == BODY_ARG && ma->dtype == KILN_F32 && ma->imm_i != root_arg) *m_arg = (int)ma->imm_i, c = 0;
  else if (!f32_const_inst(b, in->args[1], &c)) return -2;
  in = &b->insts[in->args[0]];
  if (in->kind != BODY_CAST || in->dtype != KILN_F32) return -2;
  in = &b->insts[in->args[0]];
  int bias = -1;
  if (in->kind == BODY_ADD && in->dtype == KILN_I32) {
    const BodyInst *x = &b->insts[in->args[0]], *y = &b->insts[in->args[1]];
    if (x->kind != BODY_ARG || y->kind != BODY_ARG || x->imm_i != root_arg) return -2;
    bias = (int)y->imm_i, in = x;
  }
  double qlo = qt == KILN_I8 ? -128 : 0, qhi = qt == KILN_I8 ? 127 : 255;
  if (!(z >= qlo && z <= qhi)) return -2; /* before any conversion: z may be 1e11 or NaN */
  *M = c, *zp = (int32_t)z;
  bool ok = in->kind == BODY_ARG && in->imm_i == root_arg && lo == qlo && hi == qhi && z == *zp;
  return ok ? bias : -2;
}

/* The requantize stage moves into the int8 microkernel's epilogue (like peel_bias_clamp):
 * the kernel stores 8-bit values into the root buffer, later stages read them there. */
void peel_requant(Lower *L, Kernel *k, const Fusion *F) {
  if (!k->n_stages) return;
  Stage *s0 = &k->stages[0];
  int root_arg = root_operand(F, s0);
  float M;
  int m_arg;
  int32_t zp;
  if (root_arg < 0 || (s0->dtype != KILN_U8 && s0->dtype != KILN_I8)) return;
  for (int s = 1; s < k->n_stages; s++)
    if (root_operand(F, &k->stages[s]) != -1) return;
  int bias = match_requant(&s0->op->attrs.body, root_arg, &M, &m_arg, &zp, s0->dtype);
  int64_t channels = k->root != ROOT_Q8DWCONV3X3 && k->root != ROOT_Q8GSUM
                         ? k->N : k->op->out[0]->type.dims[3];
  if (bias == -2) return;
  const float *m_data = m_arg >= 0 ? const_data(L, s0->op->in[m_arg]) : NULL;
  if (m_arg >= 0 && (!m_data || !is_channel_vector(s0, &s0->in[m_arg], channels, KILN_F32)))
    return;
  const int32_t *bias_data = bias >= 0 ? const_data(L, s0->op->in[bias]) : NULL;
  if (bias >= 0 && (!bias_data || !is_channel_vector(s0, &s0->in[bias], channels, KILN_I32) ||
                    k->rq.acc_bias))
    return;
  float *scale = arena_alloc(&L->p->mem, sizeof *scale * (size_t)channels);
  if (!scale) return;
  for (int64_t c = 0; c < channels; c++) scale[c] = m_data ? m_data[c] : M;
  /* the kernel now stores stage 0's 8-bit values: into its buffer, sized for them (a post
   * op such as a transpose reads that buffer with stage 0's type) */
  if (s0->out_buf < 0) s0->out_buf = value_buf(L, s0->op->out[0]);
  if (s0->out_buf < 0) return;
  k->root_buf = s0->out_buf;
  k->rq.scale = scale;
  k->rq.out_zp = zp;
  k->rq.out_type = s0->dtype == KILN_U8 ? KILN_Q8_OUT_U8 : KILN_Q8_OUT_S8;
  if (bias_data) k->rq.acc_bias = bias_data;
  drop_peeled_stage(k, s0->dtype);
}

/* The int8 root reads its 8-bit input through a transpose: a permute kernel of the
 * 8-bit source into an arena buffer before the root (added after it, then swapped). */
KilnStatus permute_8bit(Lower *L, const Fusion *F, Kernel **rootp) {
  const Op *t = F->q8_transpose;
  Kernel *root = *rootp;
  int root_index = (int)(root - L->p->kernels);
  int out = add_buf(L, BUF_ARENA, -1, type_numel(&t->out[0]->type));
  Kernel *k = out >= 0 ? add_kernel(L, KERNEL_PERMUTE, t) : NULL;
  int *io = k ? arena_alloc(&L->p->mem, 2 * sizeof *io) : NULL;
  if (!io) return nomem(L);
  root = &L->p->kernels[root_index]; /* add_kernel may have moved the array */
  io[0] = root->in_buf[0], io[1] = out;
  k->n_in = k->n_out = 1;
  k->in_buf = io, k->out_buf = io + 1;
  root->in_buf[0] = out;
  Kernel tmp = *k; /* the permute runs first */
  memmove(root + 1, root, sizeof *root * (size_t)(k - root));
  *root = tmp;
  *rootp = root + 1;
  return KILN_OK;
}
