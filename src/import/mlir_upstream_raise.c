/* mlir_upstream_raise.c — up_raise_contraction(): IREE's generalized convs and matmuls
 * (a reducing linalg.generic computing `out += x * w`) back to Kiln's named ops.
 *
 * IREE's global-optimization dumps have every conv as a linalg.generic, often with the
 * unit batch dim dropped, e.g. a 3x3 stride-2 conv
 *   x: (f, oh, ow, c, kh, kw) -> (c, oh * 2 + kh, ow * 2 + kw)
 *   w: (...)                  -> (f, c, kh, kw)
 *   y: (...)                  -> (f, oh, ow)
 * Kept as a generic it would run as plain loops; raised, the backend uses its conv /
 * matmul microkernels and the passes see a conv (channels-last, 1x1 -> matmul ...).
 *
 * Loops are classified by where they appear: batch (x, w, y), M (x, y), N (w, y), K (x, w
 * reduced), and, for convs, window pairs (a parallel output loop and a reduction kernel
 * loop in one x result `dP * stride + dR * dilation`). Anything else is left alone. The
 * operands are transposed (and reshaped) into the named op's layout; the transposes on
 * weights fold into the constants and the others are left to transpose propagation. */
#include <string.h>

#include "mlir_upstream.h"

typedef struct Loops {
  int n;
  bool in_x[KILN_MAX_RANK], in_w[KILN_MAX_RANK], in_y[KILN_MAX_RANK];
  int win_of[KILN_MAX_RANK];        /* kernel loop -> the x result of its window, or -1 */
} Loops;

typedef struct Win {                /* one x result `dP * stride + dR * dilation` */
  int out_loop, kernel_loop;
  int64_t stride, dilation;
} Win;

/* ---- helpers ------------------------------------------------------------------------ */

static Value *transpose(Up *u, Value *v, const int64_t *perm) {
  bool id = true;
  for (int d = 0; d < v->type.rank; d++) id &= perm[d] == d;
  if (id) return v;
  TensorType t = v->type;
  for (int d = 0; d < t.rank; d++) t.dims[d] = v->type.dims[perm[d]];
  Op *op = op_new(u->f, KILN_OP_TRANSPOSE, "raise_transpose", 1, &v, 1, &t, NULL);
  memcpy(op->attrs.perm, perm, sizeof(int64_t) * (size_t)t.rank);
  return op->out[0];
}

static Value *reshape(Up *u, Value *v, int rank, const int64_t *dims) {
  TensorType t = type_make(v->type.dtype, rank, dims);
  if (type_equal(&t, &v->type)) return v;
  return op_new(u->f, KILN_OP_RESHAPE, "raise_reshape", 1, &v, 1, &t, NULL)->out[0];
}

/* The loop of a map result that is exactly one loop dim, or -1. */
static int single_loop(const AffineExpr *e, int n_loops) {
  int d = -1;
  if (e->cst) return -1;
  for (int k = 0; k < n_loops; k++) {
    if (!e->coef[k]) continue;
    if (e->coef[k] != 1 || d >= 0) return -1;
    d = k;
  }
  return d;
}

/* The index of the map result holding loop d, or -1. */
static int result_of(const AffineMap *m, int n_loops, int d) {
  for (int r = 0; r < m->n_results; r++)
    if (single_loop(&m->results[r], n_loops) == d) return r;
  return -1;
}

/* Body: yield (out + a * b) or (a * b + out), a / b the inputs (maybe cast to the
 * output's float type). */
static int strip_cast(const Body *b, int i) {
  return b->insts[i].kind == BODY_CAST ? b->insts[i].args[0] : i;
}

static bool is_arg(const Body *b, int i, int k) {
  return b->insts[i].kind == BODY_ARG && b->insts[i].imm_i == k;
}

static bool is_mul_add(const Body *b) {
  if (b->n_yield != 1) return false;
  const BodyInst *add = &b->insts[b->yields[0]];
  if (add->kind != BODY_ADD || !dtype_is_float(add->dtype)) return false;
  int acc = is_arg(b, add->args[0], 2) ? 0 : is_arg(b, add->args[1], 2) ? 1 : -1;
  if (acc < 0) return false;
  const BodyInst *mul = &b->insts[add->args[1 - acc]];
  if (mul->kind != BODY_MUL) return false;
  int p = strip_cast(b, mul->args[0]), q = strip_cast(b, mul->args[1]);
  return (is_arg(b, p, 0) && is_arg(b, q, 1)) || (is_arg(b, p, 1) && is_arg(b, q, 0));
}

/* Where each loop appears; x results that are windows into wins (max 2). */
static bool classify(int n, const AffineMap *maps, Loops *L, Win *wins, int *n_wins) {
  memset(L, 0, sizeof *L);
  L->n = n;
  for (int d = 0; d < n; d++) L->win_of[d] = -1;
  *n_wins = 0;
  for (int r = 0; r < maps[0].n_results; r++) {
    const AffineExpr *e = &maps[0].results[r];
    int d = single_loop(e, n);
    if (d >= 0) {
      if (L->in_x[d]) return false; /* a loop twice in one map: a diagonal, not a contraction */
      L->in_x[d] = true;
      continue;
    }
    int terms = 0, p = -1, k = -1;
    for (int j = 0; j < n; j++) {
      if (!e->coef[j]) continue;
      terms++;
      if (e->coef[j] < 1) return false;
      if (maps[2].n_results && result_of(&maps[2], n, j) >= 0) p = j;
      else k = j;
    }
    if (terms != 2 || e->cst || p < 0 || k < 0 || *n_wins == 2 || L->win_of[k] >= 0) return false;
    wins[*n_wins] = (Win){.out_loop = p, .kernel_loop = k, .stride = e->coef[p], .dilation = e->coef[k]};
    L->win_of[k] = r;
    ++*n_wins;
  }
  for (int i = 1; i < 3; i++)
    for (int r = 0; r < maps[i].n_results; r++) {
      int d = single_loop(&maps[i].results[r], n);
      bool *seen = i == 1 ? L->in_w : L->in_y;
      if (d < 0 || seen[d]) return false;
      seen[d] = true;
    }
  return true;
}

/* ---- contraction -> (batch) matmul ----------------------------------------------------- */

/* Appends the loops of one class (x, w, y membership) to list; their sizes multiply. */
static int64_t gather(const Loops *L, bool x, bool w, bool y, const int64_t *range, int *list, int *n) {
  int64_t size = 1;
  for (int d = 0; d < L->n; d++) {
    if (L->in_x[d] != x || L->in_w[d] != w || L->in_y[d] != y || L->win_of[d] >= 0) continue;
    list[(*n)++] = d;
    size *= range[d];
  }
  return size;
}

/* Transposes v (whose map is m) so its dims hold `loops` in order. */
static Value *to_loop_order(Up *u, Value *v, const AffineMap *m, int n_loops, const int *loops, int n) {
  int64_t perm[KILN_MAX_RANK];
  for (int j = 0; j < n; j++) perm[j] = result_of(m, n_loops, loops[j]);
  return transpose(u, v, perm);
}

static Value *raise_matmul(Up *u, const Loops *L, const AffineMap *maps, const int64_t *range, Value *x, Value *w,
                           const TensorType *out) {
  int bl[KILN_MAX_RANK], ml[KILN_MAX_RANK], nl[KILN_MAX_RANK], kl[KILN_MAX_RANK];
  int nb = 0, nm = 0, nn = 0, nk = 0;
  int64_t B = gather(L, true, true, true, range, bl, &nb), M = gather(L, true, false, true, range, ml, &nm);
  int64_t N = gather(L, false, true, true, range, nl, &nn), K = gather(L, true, true, false, range, kl, &nk);
  if (nb + nm + nn + nk != L->n || nk == 0 || x->type.rank != nb + nm + nk || w->type.rank != nb + nk + nn) return NULL;
  int xo[KILN_MAX_RANK], wo[KILN_MAX_RANK], yo[KILN_MAX_RANK], n = 0;
  for (int i = 0; i < nb; i++) xo[n] = wo[n] = yo[n] = bl[i], n++;
  int nx = n, nw = n, ny = n;
  for (int i = 0; i < nm; i++) xo[nx++] = ml[i], yo[ny++] = ml[i];
  for (int i = 0; i < nk; i++) xo[nx++] = kl[i], wo[nw++] = kl[i];
  for (int i = 0; i < nn; i++) wo[nw++] = nl[i], yo[ny++] = nl[i];
  int64_t xd[3] = {B, M, K}, wd[3] = {B, K, N}, md[3] = {B, M, N};
  int r = nb ? 3 : 2, off = nb ? 0 : 1;
  Value *a = reshape(u, to_loop_order(u, x, &maps[0], L->n, xo, nx), r, xd + off);
  Value *b = reshape(u, to_loop_order(u, w, &maps[1], L->n, wo, nw), r, wd + off);
  TensorType mt = type_make(out->dtype, r, md + off);
  Value *ins[2] = {a, b};
  Value *y = op_new(u->f, KILN_OP_MATMUL, "raised_matmul", 2, ins, 1, &mt, NULL)->out[0];
  int64_t yd[KILN_MAX_RANK], perm[KILN_MAX_RANK];
  for (int i = 0; i < ny; i++) yd[i] = range[yo[i]];
  y = reshape(u, y, ny, yd);
  if (ny != out->rank) return NULL;
  for (int j = 0; j < out->rank; j++) { /* y's dims hold yo[]; the result's dims the out map's loops */
    perm[j] = -1;
    for (int i = 0; i < ny; i++)
      if (yo[i] == single_loop(&maps[2].results[j], L->n)) perm[j] = i;
    if (perm[j] < 0) return NULL;
  }
  return transpose(u, y, perm);
}

/* ---- windows -> conv_2d / depthwise ---------------------------------------------------- */

/* x as [batch, C, H, W] (cropped to what the windows read); NULL if it does not fit. */
static Value *conv_input(Up *u, const Loops *L, const AffineMap *mx, const Win *wins, int batch, int chan,
                         const int64_t *range, Value *x) {
  int64_t perm[4];
  int n = 0;
  if (batch >= 0) perm[n++] = result_of(mx, L->n, batch);
  perm[n++] = result_of(mx, L->n, chan);
  for (int i = 0; i < 2; i++) perm[n++] = L->win_of[wins[i].kernel_loop];
  if (n != x->type.rank) return NULL;
  Value *t = transpose(u, x, perm);
  int64_t dims[4] = {1, 0, 0, 0};
  for (int i = 0; i < 3; i++) dims[i + 1] = t->type.dims[n - 3 + i];
  t = reshape(u, t, 4, batch >= 0 ? t->type.dims : dims);
  TensorType crop = t->type;
  for (int i = 0; i < 2; i++) {
    int64_t need = (range[wins[i].out_loop] - 1) * wins[i].stride + (range[wins[i].kernel_loop] - 1) * wins[i].dilation + 1;
    if (need > crop.dims[2 + i]) return NULL;
    crop.dims[2 + i] = need;
  }
  if (type_equal(&crop, &t->type)) return t;
  Op *op = op_new(u->f, KILN_OP_EXTRACT_SLICE, "raise_crop", 1, &t, 1, &crop, NULL);
  for (int d = 0; d < 4; d++) op->attrs.offsets[d] = 0, op->attrs.steps[d] = 1;
  return op->out[0];
}

static Value *raise_conv(Up *u, const Loops *L, const AffineMap *maps, const Win *wins, const int64_t *range, Value *x,
                         Value *w, const TensorType *out) {
  int batch = -1, chan = -1, filt = -1, n_other = 0;
  bool depthwise = false;
  for (int d = 0; d < L->n; d++) {
    if (L->win_of[d] >= 0 || d == wins[0].out_loop || d == wins[1].out_loop) continue;
    n_other++;
    if (L->in_x[d] && L->in_w[d]) chan = d, depthwise = L->in_y[d];
    else if (L->in_x[d] && L->in_y[d]) batch = d;
    else if (L->in_w[d] && L->in_y[d]) filt = d;
    else return NULL;
  }
  if (chan < 0 || (depthwise ? filt >= 0 : filt < 0) || n_other != 1 + (batch >= 0) + (filt >= 0)) return NULL;
  if (wins[0].kernel_loop == wins[1].kernel_loop || !L->in_w[wins[0].kernel_loop] || !L->in_w[wins[1].kernel_loop]) return NULL;
  Value *xi = conv_input(u, L, &maps[0], wins, batch, chan, range, x);
  if (!xi) return NULL;
  int wl[4], nw = 0;
  if (!depthwise) wl[nw++] = filt;
  wl[nw++] = chan, wl[nw++] = wins[0].kernel_loop, wl[nw++] = wins[1].kernel_loop;
  if (w->type.rank != nw) return NULL;
  Value *wi = to_loop_order(u, w, &maps[1], L->n, wl, nw);
  Value *ins[2] = {xi, wi};
  int64_t yd[4] = {xi->type.dims[0], range[depthwise ? chan : filt], range[wins[0].out_loop], range[wins[1].out_loop]};
  TensorType yt = type_make(out->dtype, 4, yd);
  Op *op = op_new(u->f, depthwise ? KILN_OP_DEPTHWISE_CONV2D : KILN_OP_CONV2D, "raised_conv", 2, ins, 1, &yt, NULL);
  OpAttrs *a = &op->attrs;
  a->layout = LAYOUT_NCHW;
  a->groups = 1;
  for (int i = 0; i < 2; i++) {
    a->kernel[i] = range[wins[i].kernel_loop];
    a->strides[i] = wins[i].stride;
    a->dilations[i] = wins[i].dilation;
  }
  TensorType inferred;
  Diag d = {0};
  if (op_infer_types(op, &inferred, &d) || !type_equal(&inferred, &yt)) return NULL; /* left dead: DCE removes it */
  /* y's dims hold the loops [batch or a unit dim, F or C, OH, OW]; the result's those of the out map */
  int yl[4] = {batch, depthwise ? chan : filt, wins[0].out_loop, wins[1].out_loop}, first = batch >= 0 ? 0 : 1;
  Value *y = reshape(u, op->out[0], 4 - first, yd + first);
  int64_t perm[KILN_MAX_RANK];
  if (out->rank != 4 - first) return NULL;
  for (int j = 0; j < out->rank; j++) {
    perm[j] = -1;
    for (int i = first; i < 4; i++)
      if (yl[i] == single_loop(&maps[2].results[j], L->n)) perm[j] = i - first;
    if (perm[j] < 0) return NULL;
  }
  return transpose(u, y, perm);
}

Value *up_raise_contraction(Up *u, const char *name, int n_loops, const AffineMap *maps, const Body *body,
                            Value *x, Value *w, UVal *init, const TensorType *out, const char *at) {
  Loops L;
  Win wins[2];
  int n_wins;
  (void)name;
  if (!dtype_is_float(out->dtype) || !is_mul_add(body) || !classify(n_loops, maps, &L, wins, &n_wins)) return NULL;
  if (n_wins == 1 || out->rank != maps[2].n_results) return NULL;
  int64_t range[KILN_MAX_RANK];
  for (int d = 0; d < n_loops; d++) { /* every loop is one whole dim of some operand */
    const Value *vs[3] = {x, w, NULL};
    int r = -1, k = 0;
    for (; k < 3 && r < 0; k++) r = result_of(&maps[k], n_loops, d);
    if (r < 0) return NULL;
    range[d] = k == 3 ? out->dims[r] : vs[k - 1]->type.dims[r];
  }
  if (x->type.dtype != w->type.dtype) return NULL;
  /* From here on ops are created: the generic's own inputs are replaced, not duplicated. */
  Value *xc = up_cast_to(u, x, out->dtype), *wc = up_cast_to(u, w, out->dtype);
  if (!xc || !wc) return NULL;
  Value *y = n_wins ? raise_conv(u, &L, maps, wins, range, xc, wc, out) : raise_matmul(u, &L, maps, range, xc, wc, out);
  if (!y || !type_equal(&y->type, out)) return NULL;
  return up_accumulate(u, y, init, BODY_ADD, 0, at);
}
