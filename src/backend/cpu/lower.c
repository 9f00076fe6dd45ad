/* lower.c — a dispatch-formed function -> a CpuProgram of kernels (see backend.h).
 *
 * Buffers: arguments and constants are bound to the caller's inputs and the module's
 * constants; a dispatch result the function returns is written straight into the caller's
 * output buffer (the first time it is returned; a second return, or returning an argument
 * or constant, is a copy kernel at the end); every other value gets an arena buffer.
 * Reshape-like ops (reshape, collapse_shape, expand_shape) are views of their operand.
 *
 * A dispatch lowers to one fused kernel when it has the shape "prologue ops -> root ->
 * elementwise generics" (lower_fused below says exactly what qualifies); anything else
 * lowers op by op onto the reference executors, which is always correct. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/backend.h"
#include "dispatch/dispatch.h"
#include "interp/interp.h"

typedef struct Lower {
  CpuProgram *p;
  int *buf_of;        /* by Value.id; -1 = none yet */
  int *out_index;     /* by Value.id: function result it is bound to, or -1 */
  int cap_bufs, cap_kernels;
  int dispatch;       /* index of the dispatch being lowered */
  const CpuLowerOptions *opt;
  int next_packed;    /* next entry of opt->packed to offer */
  Diag *d;
} Lower;

/* Packed weights for a kernel of microkernel uk: the next prepacked entry when it matches
 * (name and size), else NULL (and the caller packs). Entries are consumed in order. */
static const float *take_packed(Lower *L, const struct kiln_ukernel *uk, uint64_t floats) {
  const CpuLowerOptions *o = L->opt;
  if (!o || L->next_packed >= o->n_packed) return NULL;
  const PackedWeight *w = &o->packed[L->next_packed++];
  return !strcmp(w->ukernel, uk->name) && w->floats == floats ? w->data : NULL;
}

static KilnStatus nomem(Lower *L) { return diag_error(L->d, KILN_ERR_NOMEM, "out of memory"); }

static int add_buf(Lower *L, BufKind kind, int index, int64_t nbytes) {
  CpuProgram *p = L->p;
  if (p->n_bufs == L->cap_bufs) {
    int cap = L->cap_bufs ? 2 * L->cap_bufs : 64;
    Buf *b = arena_grow(&p->mem, p->bufs, (size_t)L->cap_bufs, (size_t)cap, sizeof *b);
    if (!b) return -1;
    p->bufs = b;
    L->cap_bufs = cap;
  }
  p->bufs[p->n_bufs] = (Buf){kind, index, nbytes, 0, -1, -1, NULL};
  return p->n_bufs++;
}

static Kernel *add_kernel(Lower *L, KernelKind kind, const Op *op) {
  CpuProgram *p = L->p;
  if (p->n_kernels == L->cap_kernels) {
    int cap = L->cap_kernels ? 2 * L->cap_kernels : 64;
    Kernel *k = arena_grow(&p->mem, p->kernels, (size_t)L->cap_kernels, (size_t)cap, sizeof *k);
    if (!k) return NULL;
    p->kernels = k;
    L->cap_kernels = cap;
  }
  Kernel *k = &p->kernels[p->n_kernels++];
  memset(k, 0, sizeof *k);
  k->kind = kind;
  k->op = op;
  k->dispatch = L->dispatch;
  k->root_buf = -1;
  k->ep_bias_buf = -1;
  k->ep_residual_buf = -1;
  k->ep_lo = -INFINITY, k->ep_hi = INFINITY;
  k->im2col_buf = -1;
  return k;
}

/* The buffer of v, creating an arena buffer (or binding the caller's output) if needed. */
static int value_buf(Lower *L, const Value *v) {
  if (L->buf_of[v->id] >= 0) return L->buf_of[v->id];
  int oi = L->out_index[v->id];
  int b = oi >= 0 ? add_buf(L, BUF_OUTPUT, oi, type_nbytes(&v->type))
                  : add_buf(L, BUF_ARENA, -1, type_nbytes(&v->type));
  if (oi >= 0) L->out_index[v->id] = -1; /* a second binding would be a copy */
  L->buf_of[v->id] = b;
  return b;
}

static bool is_view(const Op *op) {
  return op->kind == KILN_OP_RESHAPE || op->kind == KILN_OP_COLLAPSE_SHAPE ||
         op->kind == KILN_OP_EXPAND_SHAPE;
}

/* ---- op by op ------------------------------------------------------------ */

static KilnStatus lower_op(Lower *L, const Op *op);

static KilnStatus lower_copy(Lower *L, int from, int to) {
  Kernel *k = add_kernel(L, KERNEL_COPY, NULL);
  int *io = k ? arena_alloc(&L->p->mem, 2 * sizeof *io) : NULL;
  if (!io) return nomem(L);
  io[0] = from, io[1] = to;
  k->n_in = k->n_out = 1;
  k->in_buf = io, k->out_buf = io + 1;
  return KILN_OK;
}

/* The data of v when it is a constant or computed from constants only, else NULL. */
static const void *const_data(const Lower *L, const Value *v) {
  int b = L->buf_of[v->id];
  if (b < 0) return NULL;
  const Buf *bf = &L->p->bufs[b];
  if (bf->kind == BUF_CONST) return L->p->module->consts[bf->index].data;
  return bf->kind == BUF_PRECOMPUTED ? bf->data : NULL;
}

enum { PRECOMPUTE_MAX_BYTES = 256 << 20 };

/* An op whose operands are all constant runs once here, not on every run: int8 models
 * dequantize their weights inside the dispatches (so the int8 path can take them as
 * they are), and for the float kernels that dequantize is a constant. */
static KilnStatus try_precompute(Lower *L, const Op *op, bool *done) {
  Tensor t[KILN_MAX_OPERANDS + 4], *ptr[KILN_MAX_OPERANDS + 4];
  int64_t bytes = 0;
  *done = false;
  if (op->n_in + op->n_out > (int)ARRAY_LEN(t) || op->n_out < 1) return KILN_OK;
  for (int i = 0; i < op->n_in; i++)
    if (!const_data(L, op->in[i])) return KILN_OK;
  for (int i = 0; i < op->n_out; i++) bytes += type_nbytes(&op->out[i]->type);
  if (bytes > PRECOMPUTE_MAX_BYTES) return KILN_OK;
  for (int i = 0; i < op->n_in; i++)
    t[i] = (Tensor){op->in[i]->type, (void *)const_data(L, op->in[i]),
                    (size_t)type_nbytes(&op->in[i]->type)};
  for (int i = 0; i < op->n_out; i++) {
    size_t n = (size_t)type_nbytes(&op->out[i]->type);
    t[op->n_in + i] = (Tensor){op->out[i]->type, arena_alloc(&L->p->mem, n ? n : 1), n};
    if (!t[op->n_in + i].data) return nomem(L);
  }
  for (int i = 0; i < op->n_in + op->n_out; i++) ptr[i] = &t[i];
  KilnStatus st = interp_exec_op(op, ptr, ptr + op->n_in, L->d);
  for (int i = 0; !st && i < op->n_out; i++) {
    int b = add_buf(L, BUF_PRECOMPUTED, -1, (int64_t)t[op->n_in + i].nbytes);
    if (b < 0) return nomem(L);
    L->p->bufs[b].data = t[op->n_in + i].data;
    L->buf_of[op->out[i]->id] = b;
  }
  *done = !st;
  return st;
}

static KilnStatus lower_op_ref(Lower *L, const Op *op) {
  if (op->kind == KILN_OP_CONSTANT) {
    int ci = op->attrs.const_index;
    const Module *m = L->p->module;
    if (ci < 0 || ci >= m->n_consts || !m->consts[ci].data)
      return diag_error(L->d, KILN_ERR_INVALID, "constant op '%s' has no data", op->name);
    L->buf_of[op->out[0]->id] = add_buf(L, BUF_CONST, ci, type_nbytes(&op->out[0]->type));
    return L->buf_of[op->out[0]->id] < 0 ? nomem(L) : KILN_OK;
  }
  if (is_view(op) && L->buf_of[op->out[0]->id] < 0) {
    int b = value_buf(L, op->in[0]);
    if (b < 0) return nomem(L);
    L->buf_of[op->out[0]->id] = b;
    return KILN_OK;
  }
  size_t esize = op->n_out ? dtype_size(op->out[0]->type.dtype) : 0;
  bool permute = op->kind == KILN_OP_TRANSPOSE &&
                 (esize == 1 || esize == 2 || esize == 4 || esize == 8);
  Kernel *k = add_kernel(L, permute ? KERNEL_PERMUTE : KERNEL_REF, op);
  if (!k) return nomem(L);
  k->n_in = op->n_in, k->n_out = op->n_out;
  k->in_buf = arena_alloc(&L->p->mem, sizeof(int) * (size_t)(op->n_in + op->n_out + 1));
  if (!k->in_buf) return nomem(L);
  k->out_buf = k->in_buf + op->n_in;
  for (int i = 0; i < op->n_in; i++) k->in_buf[i] = value_buf(L, op->in[i]);
  for (int i = 0; i < op->n_out; i++) k->out_buf[i] = value_buf(L, op->out[i]);
  return KILN_OK;
}

/* ---- fused: root + epilogue --------------------------------------------- */

/* Which epilogue stage (index) holds v, -1 if none; views see through. */
typedef struct Fusion {
  const Func *r;
  const Op *first, *end;  /* the piece of the region: ops [first, end) */
  const bool *in_piece;   /* by Value.id: defined by an op of the piece */
  const Op *root;
  int n_stages;
  const Op *stage_op[64];
  int *stage_of;      /* by Value.id: stage index, or -1 */
  bool *is_root_val;  /* by Value.id: the root's result or a view of it */
  bool *is_post;      /* by Value.id: computed by a post op (below) */
  /* An integer root on the int8 kernels (lower_q8 below): the 8-bit tensor its input
   * widens, and the widening generic and views between, which are not lowered. */
  const Value *q8_src;
  int32_t q8_zp;
  const Op *q8_skip[KILN_MAX_RANK];
  int n_q8_skip;
  const Op *q8_transpose; /* a transpose among them: run on the 8-bit tensor (KERNEL_PERMUTE) */
} Fusion;

enum { MAX_STAGES = 64 };

static bool all_parallel(const Op *op) {
  for (int l = 0; l < op->attrs.n_loops; l++)
    if (op->attrs.iterators[l] != ITER_PARALLEL) return false;
  return true;
}

static bool derived(const Fusion *F, const Value *v) {
  return F->stage_of[v->id] >= 0 || F->is_root_val[v->id];
}

/* Folds a generic operand's map with the operand's C-order strides (checked in range). */
static bool fold_map(const AffineMap *m, const TensorType *t, const int64_t *ranges, int n_loops,
                     StageOperand *so) {
  int64_t stride = 1;
  so->base = 0;
  memset(so->stride, 0, sizeof so->stride);
  if (m->n_results != t->rank) return false;
  for (int r = t->rank - 1; r >= 0; r--) {
    const AffineExpr *e = &m->results[r];
    int64_t lo = e->cst, hi = e->cst;
    for (int l = 0; l < n_loops; l++) {
      int64_t span = e->coef[l] * (ranges[l] - 1);
      if (span < 0) lo += span;
      else hi += span;
      so->stride[l] += e->coef[l] * stride;
    }
    if (lo < 0 || hi >= t->dims[r]) return false;
    so->base += e->cst * stride;
    stride *= t->dims[r];
  }
  return true;
}

/* A generic qualifies as a stage when it is elementwise over its result's shape and every
 * operand derived from the root or an earlier stage is read at the same point. */
static bool stage_ok(const Fusion *F, const Op *op, int64_t numel) {
  if (op->kind != KILN_OP_GENERIC || op->n_out != 1 || !all_parallel(op) ||
      !epilogue_supports(op))
    return false;
  const TensorType *t = &op->out[0]->type;
  if (op->attrs.n_loops != t->rank || !affine_is_identity(&op->attrs.maps[op->n_in], t->rank) ||
      type_numel(t) != numel)
    return false;
  for (int i = 0; i < op->n_in; i++) {
    StageOperand so;
    if (derived(F, op->in[i]) ? !affine_is_identity(&op->attrs.maps[i], t->rank)
                              : !fold_map(&op->attrs.maps[i], &op->in[i]->type, t->dims,
                                          t->rank, &so))
      return false;
  }
  return true;
}

static bool uses_post(const Fusion *F, const Op *op) {
  for (int i = 0; i < op->n_in; i++)
    if (F->is_post[op->in[i]->id]) return true;
  return false;
}

/* Classifies the piece's ops; false when it does not have the fused shape. */
static bool plan_fusion(Fusion *F) {
  int64_t numel = -1;
  bool has_root = false; /* with a root, generics before it are prologue (e.g. weight DQ) */
  for (const Op *op = F->first; op != F->end; op = op->next) has_root |= dispatch_is_root(op);
  for (const Op *op = F->first; op != F->end; op = op->next) {
    bool uses_derived = false;
    for (int i = 0; i < op->n_in; i++) uses_derived |= derived(F, op->in[i]);
    if (dispatch_is_root(op)) {
      if (F->root || F->n_stages) return false;
      F->root = op;
      if (op->n_out != 1) return false;
      F->is_root_val[op->out[0]->id] = true;
      numel = type_numel(&op->out[0]->type);
    } else if (is_view(op) && uses_derived) {
      if (F->is_root_val[op->in[0]->id]) F->is_root_val[op->out[0]->id] = true;
      else F->stage_of[op->out[0]->id] = F->stage_of[op->in[0]->id];
    } else if (op->kind == KILN_OP_GENERIC && !uses_post(F, op) &&
               (uses_derived || (!has_root && !F->n_stages)) &&
               (numel < 0 || stage_ok(F, op, numel))) {
      if (numel < 0) numel = type_numel(&op->out[0]->type);
      if (F->n_stages == MAX_STAGES || !stage_ok(F, op, numel)) return false;
      F->stage_of[op->out[0]->id] = F->n_stages;
      F->stage_op[F->n_stages++] = op;
    } else if (uses_derived || uses_post(F, op)) {
      /* A post op: reads the chain but is not an elementwise stage of it (a broadcast
       * read such as squeeze-and-excitation's scale, a concat, a transposed write): it
       * runs after the fused kernel, which then stores what it reads. */
      for (int i = 0; i < op->n_out; i++) F->is_post[op->out[i]->id] = true;
    }
  }
  return F->root || F->n_stages;
}

static KilnStatus lower_stage(Lower *L, const Fusion *F, const Op *op, Stage *s) {
  const TensorType *t = &op->out[0]->type;
  s->op = op;
  s->rank = t->rank;
  memcpy(s->dims, t->dims, sizeof s->dims);
  s->dtype = t->dtype;
  s->out_buf = -1;
  s->n_in = op->n_in;
  s->in = arena_alloc(&L->p->mem, sizeof *s->in * (size_t)(op->n_in ? op->n_in : 1));
  if (!s->in) return nomem(L);
  for (int i = 0; i < op->n_in; i++) {
    StageOperand *so = &s->in[i];
    const Value *v = op->in[i];
    so->dtype = v->type.dtype;
    so->value = F->stage_of[v->id];
    so->buf = -1;
    if (so->value >= 0) continue;
    so->buf = value_buf(L, v);
    if (so->buf < 0) return nomem(L);
    fold_map(&op->attrs.maps[i], &v->type, t->dims, t->rank, so); /* checked by stage_ok */
  }
  return KILN_OK;
}

/* An elementwise generic on its own (an input fake-quant before a conv, a standalone add)
 * runs as a fused kernel without a root: the epilogue evaluator is much faster than the
 * reference executor. */
static bool elementwise_ok(const Op *op) {
  if (op->kind != KILN_OP_GENERIC || op->n_out != 1 || !all_parallel(op) ||
      !epilogue_supports(op))
    return false;
  const TensorType *t = &op->out[0]->type;
  if (op->attrs.n_loops != t->rank || !affine_is_identity(&op->attrs.maps[op->n_in], t->rank))
    return false;
  for (int i = 0; i < op->n_in; i++) {
    StageOperand so;
    if (!fold_map(&op->attrs.maps[i], &op->in[i]->type, t->dims, t->rank, &so)) return false;
  }
  return true;
}

static void chunk_elements(Lower *L, Kernel *k);

/* Tables and fast loops for the stages that qualify, once the stages are final. */
static void prepare_stages(Lower *L, Kernel *k) {
  for (int s = 0; s < k->n_stages; s++) epilogue_prepare(&k->stages[s], &L->p->mem);
}

static KilnStatus lower_elementwise(Lower *L, const Op *op) {
  Kernel *k = add_kernel(L, KERNEL_FUSED, NULL);
  Stage *s = k ? arena_alloc(&L->p->mem, sizeof *s) : NULL;
  if (!s) return nomem(L);
  const TensorType *t = &op->out[0]->type;
  *s = (Stage){.op = op, .rank = t->rank, .dtype = t->dtype, .n_in = op->n_in};
  memcpy(s->dims, t->dims, sizeof s->dims);
  s->in = arena_alloc(&L->p->mem, sizeof *s->in * (size_t)(op->n_in ? op->n_in : 1));
  if (!s->in) return nomem(L);
  for (int i = 0; i < op->n_in; i++) {
    StageOperand *so = &s->in[i];
    so->dtype = op->in[i]->type.dtype;
    so->value = -1;
    so->buf = value_buf(L, op->in[i]);
    if (so->buf < 0) return nomem(L);
    fold_map(&op->attrs.maps[i], &op->in[i]->type, t->dims, t->rank, so); /* checked */
  }
  s->out_buf = value_buf(L, op->out[0]);
  if (s->out_buf < 0) return nomem(L);
  k->stages = s, k->n_stages = 1;
  k->root = ROOT_NONE;
  k->numel = type_numel(t);
  prepare_stages(L, k);
  chunk_elements(L, k);
  return KILN_OK;
}

/* One op outside a fused kernel: a constant or a view binds a buffer; an op of constants
 * is evaluated now; an elementwise generic runs on the epilogue evaluator; anything else
 * on the reference executor. */
static KilnStatus lower_op(Lower *L, const Op *op) {
  bool plain = op->kind != KILN_OP_CONSTANT && !is_view(op) && op->n_out >= 1;
  if (plain && L->buf_of[op->out[0]->id] < 0) { /* not pre-bound to a result buffer */
    bool done;
    KilnStatus st = try_precompute(L, op, &done);
    if (st || done) return st;
  }
  if (plain && elementwise_ok(op)) return lower_elementwise(L, op);
  return lower_op_ref(L, op);
}

static int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* When k's chunks (already set) are too few to feed the threads (or `force`), and its N
 * output columns span several microkernel panels: chunks of panels instead (about
 * `per_thread` chunks per thread), over all rows (exec.c chunk_panels). */
static void chunk_by_panels(Lower *L, Kernel *k, int64_t N, int per_thread, bool force) {
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
  int64_t l2_rows = max_i64(1, (256 * 1024 / 4) / max_i64(1, N + K) / mr);
  k->rows_per_chunk = mr * min_i64(want, l2_rows);
  k->chunk_elems = k->rows_per_chunk * N;
  k->n_chunks = (M + k->rows_per_chunk - 1) / k->rows_per_chunk;
  /* Few rows (the classifier's 1 x 1280 x 1000, the last 7x7 layers): row chunks cannot
   * feed the threads, so chunks are groups of column panels over all rows instead. */
  chunk_by_panels(L, k, N, 4, false);
  return true;
}

/* The shape and row chunks of an NHWC depthwise 3x3 (f32 or int8 kernels). */
static bool dwconv3x3_shape(Kernel *k, const Op *op) {
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
static void chunk_images(Lower *L, Kernel *k, int64_t images, int64_t units, int64_t min_units) {
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
static void band_conv(Lower *L, Kernel *k) {
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
static void choose_root(Lower *L, Kernel *k) {
  if (k->op && (try_gemm(L, k, k->op) || try_dwconv(L, k, k->op) ||
                try_dwconv_general(L, k, k->op) || try_conv(L, k, k->op) ||
                try_pool(L, k, k->op) || try_resize(L, k, k->op) || try_resize8(L, k, k->op)))
    return;
  k->root = k->op ? ROOT_REF : ROOT_NONE;
  chunk_elements(L, k);
}

/* Epilogue-only work: chunks of at least 4096 elements, several per thread. */
static void chunk_elements(Lower *L, Kernel *k) {
  int64_t per = max_i64(4096, k->numel / (int64_t)(8 * L->p->threads));
  k->chunk_elems = per;
  k->n_chunks = (k->numel + per - 1) / per;
}


/* The buffer that holds derived value v after the fused kernel (allocating a stage's
 * buffer when only a view of it is needed outside). */
static int derived_buf(Lower *L, const Fusion *F, Kernel *k, const Value *v) {
  int si = F->stage_of[v->id] - k->peeled;
  if (F->is_root_val[v->id] || si < 0) return k->root_buf; /* the root, or a peeled stage */
  Stage *s = &k->stages[si];
  if (s->out_buf < 0) s->out_buf = value_buf(L, s->op->out[0]);
  return s->out_buf;
}

/* Root buffer: the root's own result buffer when it is yielded; else the last stage's
 * output when that is stored with the root's size (each run reads the root before it
 * stores the last stage) and nothing after the kernel reads the root's value (or stage
 * 0's, which the root buffer holds when it is peeled into the microkernel); else an
 * arena buffer. */
static int choose_root_buf(Lower *L, Kernel *k, bool may_alias) {
  const Value *rv = k->op->out[0];
  if (L->buf_of[rv->id] >= 0) return L->buf_of[rv->id];
  if (k->n_stages && may_alias) {
    const Stage *last = &k->stages[k->n_stages - 1];
    if (last->out_buf >= 0 && dtype_size(last->dtype) == dtype_size(rv->type.dtype) &&
        L->p->bufs[last->out_buf].nbytes == type_nbytes(&rv->type)) {
      L->buf_of[rv->id] = last->out_buf;
      return last->out_buf;
    }
  }
  return value_buf(L, rv);
}

/* ---- peeling bias + clamp into the microkernel's register epilogue ------ */

static bool f32_const_inst(const Body *b, int i, float *c) {
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
static bool is_channel_vector(const Stage *s, const StageOperand *so, int64_t channels, DType t) {
  if (so->value >= 0 || so->dtype != t || so->base != 0 || s->rank < 1 ||
      s->dims[s->rank - 1] != channels || so->stride[s->rank - 1] != 1)
    return false;
  for (int l = 0; l < s->rank - 1; l++)
    if (so->stride[l]) return false;
  return true;
}

/* The root's operand index in stage s's generic, -1 if none, -2 if several. */
static int root_operand(const Fusion *F, const Stage *s) {
  int r = -1;
  for (int i = 0; i < s->n_in; i++)
    if (F->is_root_val[s->op->in[i]->id]) r = r == -1 ? i : -2;
  return r;
}

/* Stage 0 now runs in the microkernel, which stores its value (of dtype t) into the root
 * buffer: later stages read it there, and the stage list loses its first entry. */
static void drop_peeled_stage(Kernel *k, DType t) {
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
static void peel_bias_clamp(Lower *L, Kernel *k, const Fusion *F) {
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

/* Whether v (defined in the piece) is read after it: by a later op of the region or as a
 * region result. */
static bool needed_outside(const Fusion *F, const Value *v) {
  if (value_is_result(v)) return true;
  for (const Use *u = v->uses; u; u = u->next)
    if (u->user->n_out == 0 || !F->in_piece[u->user->out[0]->id] ||
        F->is_post[u->user->out[0]->id])
      return true;
  return false;
}

/* After the fused kernel: every value the rest of the region needs has its buffer. */
static KilnStatus publish_results(Lower *L, const Fusion *F, Kernel *k) {
  KilnStatus st = KILN_OK;
  for (const Op *op = F->first; op != F->end && !st; op = op->next)
    for (int i = 0; i < op->n_out && !st; i++) {
      const Value *v = op->out[i];
      if (!derived(F, v) || !needed_outside(F, v)) continue;
      int from = derived_buf(L, F, k, v);
      if (from < 0) return nomem(L);
      if (L->buf_of[v->id] < 0) L->buf_of[v->id] = from;
      else if (L->buf_of[v->id] != from) st = lower_copy(L, from, L->buf_of[v->id]);
    }
  return st;
}

static bool root_needed_after(const Fusion *F, bool with_stage0);

/* ---- int8 roots: the integer convs of quantize_convs.c --------------------- */

static bool q8_skipped(const Fusion *F, const Op *op) {
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
static bool q8_match(const Lower *L, Fusion *F) {
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

static KilnStatus lower_q8(Lower *L, Kernel *k, const Fusion *F) {
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
  int64_t l2_rows = max_i64(1, (256 * 1024) / max_i64(1, 4 * N + K) / mr);
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
static void peel_requant(Lower *L, Kernel *k, const Fusion *F) {
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
static KilnStatus permute_8bit(Lower *L, const Fusion *F, Kernel **rootp) {
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

static KilnStatus lower_fused(Lower *L, Fusion *F) {
  KilnStatus st = KILN_OK;
  bool q8 = F->root && q8_match(L, F);
  /* Ops that feed the root or the stages from outside the chain run first. */
  for (const Op *op = F->first; op != F->end && !st; op = op->next)
    if (op != F->root && !derived(F, op->out[0]) && !F->is_post[op->out[0]->id] &&
        !q8_skipped(F, op))
      st = lower_op(L, op);
  if (st) return st;
  Kernel *k = add_kernel(L, KERNEL_FUSED, F->root);
  if (!k) return nomem(L);
  k->n_stages = F->n_stages;
  k->stages = arena_alloc(&L->p->mem, sizeof *k->stages * (size_t)(F->n_stages + 1));
  if (!k->stages) return nomem(L);
  for (int s = 0; s < F->n_stages && !st; s++) {
    st = lower_stage(L, F, F->stage_op[s], &k->stages[s]);
    if (!st && L->buf_of[F->stage_op[s]->out[0]->id] >= 0) /* pre-bound region result */
      k->stages[s].out_buf = L->buf_of[F->stage_op[s]->out[0]->id];
  }
  if (st) return st;
  k->numel = type_numel(F->root ? &F->root->out[0]->type : &F->stage_op[0]->out[0]->type);
  if (q8) st = lower_q8(L, k, F);
  else choose_root(L, k);
  if (st) return st;
  if (F->root) {
    k->root_buf = choose_root_buf(L, k, !root_needed_after(F, true));
    k->n_in = F->root->n_in;
    k->in_buf = arena_alloc(&L->p->mem, sizeof(int) * (size_t)(k->n_in + 1));
    if (k->root_buf < 0 || !k->in_buf) return nomem(L);
    for (int i = 0; i < k->n_in; i++)
      k->in_buf[i] = value_buf(L, q8 && i == 0 ? F->q8_src : F->root->in[i]);
    if (q8 && F->q8_transpose && (st = permute_8bit(L, F, &k))) return st;
    for (int s = 0; s < k->n_stages; s++) /* stages read the root as a plain buffer */
      for (int i = 0; i < k->stages[s].n_in; i++)
        if (F->is_root_val[k->stages[s].op->in[i]->id]) k->stages[s].in[i].buf = k->root_buf;
    if (!root_needed_after(F, false)) /* else the raw root is read */
      q8 ? peel_requant(L, k, F) : peel_bias_clamp(L, k, F);
    band_conv(L, k);
  }
  prepare_stages(L, k);
  st = publish_results(L, F, k);
  for (const Op *op = F->first; op != F->end && !st; op = op->next)
    if (F->is_post[op->out[0]->id]) st = lower_op(L, op);
  return st;
}

/* Whether the root's value (with_stage0: or stage 0's), or a view of it, is read after the
 * kernel. */
static bool root_needed_after(const Fusion *F, bool with_stage0) {
  for (const Op *op = F->first; op != F->end; op = op->next)
    for (int i = 0; i < op->n_out; i++) {
      const Value *v = op->out[i];
      bool mine = F->is_root_val[v->id] || (with_stage0 && F->stage_of[v->id] == 0);
      if (mine && needed_outside(F, v)) return true;
    }
  return false;
}

/* Region results not written in place are copied into the dispatch's result buffers. */
static KilnStatus copy_region_results(Lower *L, const Op *dispatch) {
  const Func *r = dispatch->attrs.region;
  KilnStatus st = KILN_OK;
  for (int i = 0; i < r->n_results && !st; i++) {
    int from = value_buf(L, r->results[i]), to = value_buf(L, dispatch->out[i]);
    if (from < 0 || to < 0) return nomem(L);
    if (from != to) st = lower_copy(L, from, to);
  }
  return st;
}

/* The end of the piece that starts at `first`: the next root after the first one (ops
 * before a region's first root belong to its first piece). */
static const Op *piece_end(const Op *first) {
  bool seen_root = false;
  for (const Op *op = first; op; op = op->next) {
    if (dispatch_is_root(op)) {
      if (seen_root) return op;
      seen_root = true;
    }
  }
  return NULL;
}

/* One piece: fused when it has the shape, else op by op. */
static KilnStatus lower_piece(Lower *L, Fusion *F, bool *in_piece, int n_vals) {
  for (const Op *op = F->first; op != F->end; op = op->next)
    for (int i = 0; i < op->n_out; i++) in_piece[op->out[i]->id] = true;
  for (int i = 0; i < n_vals; i++) F->stage_of[i] = -1, F->is_root_val[i] = F->is_post[i] = false;
  F->root = NULL, F->n_stages = 0, F->q8_src = NULL, F->n_q8_skip = 0, F->q8_transpose = NULL;
  KilnStatus st = KILN_OK;
  if (plan_fusion(F)) {
    st = lower_fused(L, F);
  } else {
    for (const Op *op = F->first; op != F->end && !st; op = op->next) st = lower_op(L, op);
  }
  for (const Op *op = F->first; op != F->end; op = op->next)
    for (int i = 0; i < op->n_out; i++) in_piece[op->out[i]->id] = false;
  return st;
}

/* Region arguments share the operands' buffers; results computed by an op of the region
 * (or reshapes of such a value) are written straight into the dispatch's result buffers. */
static KilnStatus bind_region(Lower *L, const Op *dispatch) {
  const Func *r = dispatch->attrs.region;
  if (!r || r->n_args != dispatch->n_in || r->n_results != dispatch->n_out)
    return diag_error(L->d, KILN_ERR_INVALID, "dispatch '%s': region does not match it",
                      dispatch->name);
  for (int i = 0; i < r->n_args; i++) {
    int b = value_buf(L, dispatch->in[i]);
    if (b < 0) return nomem(L);
    L->buf_of[r->args[i]->id] = b;
  }
  for (int i = 0; i < r->n_results; i++) {
    const Value *v = r->results[i];
    while (v->def && is_view(v->def)) v = v->def->in[0]; /* a reshape of it: same bytes */
    if (!v->def || L->buf_of[v->id] >= 0) continue;
    int b = value_buf(L, dispatch->out[i]);
    if (b < 0) return nomem(L);
    L->buf_of[v->id] = b;
  }
  return KILN_OK;
}

/* A region with several roots (--fuse-conv-chains) lowers as one piece per root, each
 * fused on its own: the same kernels as separate dispatches would get. */
static KilnStatus lower_dispatch(Lower *L, const Op *dispatch, int n_vals) {
  KilnStatus st = bind_region(L, dispatch);
  if (st) return st;
  Fusion F = {.r = dispatch->attrs.region};
  bool *in_piece = calloc((size_t)n_vals + 1, sizeof(bool));
  F.stage_of = malloc(sizeof(int) * (size_t)(n_vals + 1));
  F.is_root_val = calloc((size_t)n_vals + 1, sizeof(bool));
  F.is_post = calloc((size_t)n_vals + 1, sizeof(bool));
  F.in_piece = in_piece;
  if (!F.stage_of || !F.is_root_val || !F.is_post || !in_piece) st = nomem(L);
  for (const Op *op = F.r->first; op && !st; op = F.end) {
    F.first = op;
    F.end = piece_end(op);
    st = lower_piece(L, &F, in_piece, n_vals);
  }
  free(F.stage_of);
  free(F.is_root_val);
  free(F.is_post);
  free(in_piece);
  return st ? st : copy_region_results(L, dispatch);
}

/* Function results: bound to the caller's buffers where a kernel can write them. */
static KilnStatus bind_results(Lower *L, const Func *f) {
  for (int i = 0; i < f->n_results; i++) {
    const Value *v = f->results[i];
    bool computed = v->def && v->def->kind != KILN_OP_CONSTANT && !is_view(v->def);
    if (computed && L->out_index[v->id] < 0 && L->buf_of[v->id] < 0) L->out_index[v->id] = i;
  }
  return KILN_OK;
}

static KilnStatus copy_results(Lower *L, const Func *f) {
  KilnStatus st = KILN_OK;
  for (int i = 0; i < f->n_results && !st; i++) {
    int from = value_buf(L, f->results[i]);
    if (from < 0) return nomem(L);
    if (L->p->bufs[from].kind == BUF_OUTPUT && L->p->bufs[from].index == i) continue;
    int to = add_buf(L, BUF_OUTPUT, i, type_nbytes(&f->results[i]->type));
    if (to < 0) return nomem(L);
    st = lower_copy(L, from, to);
  }
  return st;
}

/* Dispatch names (IREE style, from formation) by dispatch index, for bench and traces. */
static KilnStatus collect_dispatch_names(Lower *L, const Func *f) {
  int n = 0;
  for (const Op *op = f->first; op; op = op->next) n += op->kind == KILN_OP_DISPATCH;
  L->p->dispatch_names = arena_alloc(&L->p->mem, sizeof(char *) * (size_t)(n + 1));
  if (!L->p->dispatch_names) return nomem(L);
  n = 0;
  for (const Op *op = f->first; op; op = op->next)
    if (op->kind == KILN_OP_DISPATCH) L->p->dispatch_names[n++] = op->name ? op->name : "dispatch";
  return KILN_OK;
}

static KilnStatus lower_func(Lower *L, const Func *f, int n_vals) {
  int n_dispatches = 0;
  KilnStatus st = collect_dispatch_names(L, f);
  if (!st) st = bind_results(L, f);
  L->dispatch = -1;
  for (int i = 0; i < f->n_args && !st; i++)
    L->buf_of[f->args[i]->id] = add_buf(L, BUF_INPUT, i, type_nbytes(&f->args[i]->type));
  for (const Op *op = f->first; op && !st; op = op->next) {
    if (op->kind == KILN_OP_DISPATCH) {
      L->dispatch = n_dispatches++;
      st = lower_dispatch(L, op, n_vals);
      L->dispatch = -1;
    } else {
      st = lower_op(L, op);
    }
  }
  if (!st) st = copy_results(L, f);
  L->p->n_dispatches = n_dispatches;
  return st;
}

/* Liveness: each arena buffer from the first kernel that touches it to the last. */
static void touch(CpuProgram *p, int b, int k) {
  Buf *bf = &p->bufs[b];
  if (bf->first < 0) bf->first = k;
  if (k > bf->last) bf->last = k;
}

static void compute_liveness(CpuProgram *p) {
  for (int k = 0; k < p->n_kernels; k++) {
    const Kernel *kn = &p->kernels[k];
    for (int i = 0; i < kn->n_in; i++) touch(p, kn->in_buf[i], k);
    for (int i = 0; kn->kind != KERNEL_FUSED && i < kn->n_out; i++) touch(p, kn->out_buf[i], k);
    if (kn->root_buf >= 0) touch(p, kn->root_buf, k);
    if (kn->ep_bias_buf >= 0) touch(p, kn->ep_bias_buf, k);
    if (kn->ep_residual_buf >= 0) touch(p, kn->ep_residual_buf, k);
    if (kn->im2col_buf >= 0) touch(p, kn->im2col_buf, k);
    for (int s = 0; s < kn->n_stages; s++) {
      const Stage *st = &kn->stages[s];
      for (int i = 0; i < st->n_in; i++)
        if (st->in[i].buf >= 0) touch(p, st->in[i].buf, k);
      if (st->out_buf >= 0) touch(p, st->out_buf, k);
    }
  }
}

static KilnStatus check_formed(const Func *f, Diag *d) {
  for (int i = 0; i < f->n_args; i++)
    if (type_nbytes(&f->args[i]->type) < 0)
      return diag_error(d, KILN_ERR_LIMIT, "input %d is too large", i);
  return KILN_OK;
}

KilnStatus cpu_lower(const Module *m, const Func *f, const CpuLowerOptions *opt,
                     CpuProgram **out, Diag *d) {
  *out = NULL;
  KilnStatus st = check_formed(f, d);
  if (st) return st;
  CpuProgram *p = calloc(1, sizeof *p);
  if (!p) return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  arena_init(&p->mem);
  p->module = m, p->func = f;
  p->threads = opt && opt->threads ? opt->threads : cpu_core_count();
  int n_vals = m->next_value_id;
  Lower L = {.p = p, .d = d, .opt = opt};
  L.buf_of = malloc(sizeof(int) * (size_t)(n_vals + 1));
  L.out_index = malloc(sizeof(int) * (size_t)(n_vals + 1));
  if (!L.buf_of || !L.out_index) st = nomem(&L);
  for (int i = 0; !st && i < n_vals; i++) L.buf_of[i] = L.out_index[i] = -1;
  if (!st) st = lower_func(&L, f, n_vals);
  free(L.buf_of);
  free(L.out_index);
  if (!st) {
    compute_liveness(p);
    cpu_plan_memory(p);
    st = cpu_program_start(p, d);
  }
  if (st) {
    cpu_program_free(p);
    return st;
  }
  *out = p;
  return KILN_OK;
}
