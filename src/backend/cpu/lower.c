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
 * lowers op by op onto the reference executors, which is always correct. The root's
 * microkernel and chunks: lower_root.c (f32) and lower_q8.c (int8); shared: lower.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/lower.h"
#include "dispatch/dispatch.h"
#include "interp/interp.h"

/* Packed weights for a kernel of microkernel uk: the next prepacked entry when it matches
 * (name and size), else NULL (and the caller packs). Entries are consumed in order. */
const float *take_packed(Lower *L, const struct kiln_ukernel *uk, uint64_t floats) {
  const CpuLowerOptions *o = L->opt;
  if (!o || L->next_packed >= o->n_packed) return NULL;
  const PackedWeight *w = &o->packed[L->next_packed++];
  return !strcmp(w->ukernel, uk->name) && w->floats == floats ? w->data : NULL;
}

KilnStatus nomem(Lower *L) { return diag_error(L->d, KILN_ERR_NOMEM, "out of memory"); }

int add_buf(Lower *L, BufKind kind, int index, int64_t nbytes) {
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

Kernel *add_kernel(Lower *L, KernelKind kind, const Op *op) {
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
int value_buf(Lower *L, const Value *v) {
  if (L->buf_of[v->id] >= 0) return L->buf_of[v->id];
  int oi = L->out_index[v->id];
  int b = oi >= 0 ? add_buf(L, BUF_OUTPUT, oi, type_nbytes(&v->type))
                  : add_buf(L, BUF_ARENA, -1, type_nbytes(&v->type));
  if (oi >= 0) L->out_index[v->id] = -1; /* a second binding would be a copy */
  L->buf_of[v->id] = b;
  return b;
}

bool is_view(const Op *op) {
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
const void *const_data(const Lower *L, const Value *v) {
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

bool all_parallel(const Op *op) {
  for (int l = 0; l < op->attrs.n_loops; l++)
    if (op->attrs.iterators[l] != ITER_PARALLEL) return false;
  return true;
}

bool derived(const Fusion *F, const Value *v) {
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
