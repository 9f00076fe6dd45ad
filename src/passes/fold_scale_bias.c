/* fold_scale_bias.c — fold per-channel scale and bias (BatchNorm) into conv weights.
 *
 * Matches conv (or matmul with constant 2-D weights) -> generic where the generic is elementwise, reads the conv's result (its
 * only use) with the identity map, and computes an affine function of it, y = a*x + b,
 * whose a and b vary at most along the output-channel loop (BatchNorm after import is
 * exactly this: x * scale[c] + shift[c]; a following bias add or scale multiply too).
 * Rewrites to one conv with w'[f] = a[f]*w[f] and bias'[f] = a[f]*bias[f] + b[f]; a
 * matmul gets B'[k][n] = a[n]*B[k][n] and, when some b[n] != 0, a bias-add generic (a
 * matmul has no bias operand).
 * a and b are found by evaluating the body symbolically per channel: each instruction is
 * a pair (coefficient of x, constant); add/sub/neg combine pairs, mul/div only when one
 * side is constant. Anything else (a clamp, a second activation input) leaves it alone.
 * Assumes constants are folded (run after fold-constants). f32 weights only. */

#include "passes.h"

typedef struct Lin {
  double a, b; /* value = a * x + b */
  bool bad;    /* not affine in x (e.g. the output accumulator); fatal only if yielded */
} Lin;

/* The result dim that is the output channel: NCHW 1, NHWC 3, matmul its last. */
static int channel_dim_of(const Op *op) {
  if (op->kind == KILN_OP_MATMUL) return op->out[0]->type.rank - 1;
  return op->attrs.layout == LAYOUT_NHWC ? 3 : 1;
}

static bool is_foldable_root(const Op *op) {
  return op && (op->kind == KILN_OP_CONV2D || op->kind == KILN_OP_DEPTHWISE_CONV2D ||
                (op->kind == KILN_OP_MATMUL && op->in[1]->type.rank == 2));
}

static const Constant *const_of(const Module *m, const Value *v) {
  if (!v->def || v->def->kind != KILN_OP_CONSTANT) return NULL;
  const Constant *c = &m->consts[v->def->attrs.const_index];
  return c->data && c->type.dtype == KILN_F32 ? c : NULL;
}

/* True when map m uses no loop other than `loop`. */
static bool map_only_uses(const AffineMap *m, int loop) {
  for (int r = 0; r < m->n_results; r++)
    for (int d = 0; d < KILN_MAX_RANK; d++)
      if (d != loop && m->results[r].coef[d]) return false;
  return true;
}

/* Element of constant operand c (map m) at channel loop value ch. */
static double const_at(const Constant *c, const AffineMap *m, int loop, int64_t ch) {
  int64_t flat = 0;
  for (int r = 0; r < m->n_results; r++) {
    int64_t idx = m->results[r].coef[loop] * ch + m->results[r].cst;
    flat = flat * c->type.dims[r] + idx;
  }
  return ((const float *)c->data)[flat];
}

typedef struct Match {
  Op *conv, *g;
  int x_arg;         /* block argument of g that is the conv result */
  int loop;          /* g's loop that is the output channel */
  const Constant *w, *bias;
} Match;

/* Evaluates g's body as a*x + b at channel ch; false if it is not affine in x. */
static bool eval_affine(const Module *m, const Match *mt, int64_t ch, Lin *out) {
  const Op *g = mt->g;
  const Body *body = &g->attrs.body;
  Lin v[256];
  if (body->n_insts > (int)ARRAY_LEN(v)) return false;
  for (int i = 0; i < body->n_insts; i++) {
    const BodyInst *in = &body->insts[i];
    Lin p = in->n_args > 0 ? v[in->args[0]] : (Lin){0, 0, false};
    Lin q = in->n_args > 1 ? v[in->args[1]] : (Lin){0, 0, false};
    if (in->dtype != KILN_F32) return false;
    if (p.bad || q.bad) { v[i].bad = true; continue; }
    switch (in->kind) {
    case BODY_ARG:
      if (in->imm_i == mt->x_arg) { v[i] = (Lin){1, 0, false}; break; }
      if (in->imm_i >= g->n_in) { v[i] = (Lin){0, 0, true}; break; }
      v[i] = (Lin){0, const_at(const_of(m, g->in[in->imm_i]), &g->attrs.maps[in->imm_i], mt->loop, ch), false};
      break;
    case BODY_CONST: v[i] = (Lin){0, in->imm, false}; break;
    case BODY_ADD: v[i] = (Lin){p.a + q.a, p.b + q.b, false}; break;
    case BODY_SUB: v[i] = (Lin){p.a - q.a, p.b - q.b, false}; break;
    case BODY_NEG: v[i] = (Lin){-p.a, -p.b, false}; break;
    case BODY_MUL:
      if (p.a != 0 && q.a != 0) return false;
      v[i] = p.a != 0 ? (Lin){p.a * q.b, p.b * q.b, false} : (Lin){q.a * p.b, q.b * p.b, false};
      break;
    case BODY_DIV:
      if (q.a != 0 || q.b == 0) return false;
      v[i] = (Lin){p.a / q.b, p.b / q.b, false};
      break;
    default: return false;
    }
  }
  *out = v[body->yields[0]];
  return !out->bad;
}

static bool match(const Module *m, Op *g, Match *mt) {
  if (g->kind != KILN_OP_GENERIC || g->n_out != 1 || g->attrs.init) return false;
  int n_loops = g->attrs.n_loops;
  if (!affine_is_identity(&g->attrs.maps[g->n_in], n_loops)) return false;
  mt->g = g;
  mt->conv = NULL;
  for (int k = 0; k < g->n_in; k++) {
    Op *def = g->in[k]->def;
    if (is_foldable_root(def) && !mt->conv) {
      if (!value_has_one_use(g->in[k]) || !affine_is_identity(&g->attrs.maps[k], n_loops)) return false;
      mt->conv = def;
      mt->x_arg = k;
    }
  }
  if (!mt->conv || mt->conv->out[0]->type.dtype != KILN_F32) return false;
  mt->loop = channel_dim_of(mt->conv);
  for (int k = 0; k < g->n_in; k++)
    if (k != mt->x_arg && (!const_of(m, g->in[k]) || !map_only_uses(&g->attrs.maps[k], mt->loop)))
      return false;
  mt->w = const_of(m, mt->conv->in[1]);
  mt->bias = mt->conv->n_in > 2 ? const_of(m, mt->conv->in[2]) : NULL;
  bool bias_ok = mt->conv->kind == KILN_OP_MATMUL || mt->conv->n_in < 3 || mt->bias;
  return mt->w && bias_ok;
}

/* Output channel of flat weight element i: fchw/chw lead with it, hwcf/hwc and a matmul's
 * [K, N] end with it. */
static int64_t weight_channel(const Constant *w, const Op *conv, int64_t i) {
  int64_t n_ch = conv->out[0]->type.dims[channel_dim_of(conv)];
  if (conv->kind == KILN_OP_MATMUL || conv->attrs.layout == LAYOUT_NHWC) return i % n_ch;
  return i / (type_numel(&w->type) / n_ch);
}

static bool any_nonzero(const Constant *c) {
  for (int64_t i = 0; i < type_numel(&c->type); i++)
    if (((const float *)c->data)[i] != 0.0f) return true;
  return false;
}

static KilnStatus rewrite(Func *f, const Match *mt, const Lin *lin, PassContext *ctx) {
  Module *m = f->module;
  int64_t n_ch = mt->conv->out[0]->type.dims[channel_dim_of(mt->conv)], nw = type_numel(&mt->w->type);
  float *w = malloc(sizeof(float) * (size_t)nw), *bias = malloc(sizeof(float) * (size_t)n_ch);
  if (!w || !bias) {
    free(w);
    free(bias);
    return diag_error(ctx->diag, KILN_ERR_NOMEM, "fold-scale-bias: out of memory");
  }
  for (int64_t i = 0; i < nw; i++)
    w[i] = (float)(lin[weight_channel(mt->w, mt->conv, i)].a * ((const float *)mt->w->data)[i]);
  for (int64_t c = 0; c < n_ch; c++)
    bias[c] = (float)(lin[c].a * (mt->bias ? ((const float *)mt->bias->data)[c] : 0.0) + lin[c].b);
  char name[256];
  snprintf(name, sizeof name, "%s.folded", mt->conv->name);
  int wi = module_add_const(m, name, mt->w->type, w);
  int bi = module_add_const(m, name, type_make(KILN_F32, 1, &n_ch), bias);
  free(w);
  free(bias);
  if (wi < 0 || bi < 0) return diag_error(ctx->diag, KILN_ERR_NOMEM, "fold-scale-bias: out of memory");
  Op *wc = op_new(f, KILN_OP_CONSTANT, name, 0, NULL, 1, &m->consts[wi].type, mt->conv);
  Op *bc = op_new(f, KILN_OP_CONSTANT, name, 0, NULL, 1, &m->consts[bi].type, mt->conv);
  wc->attrs.const_index = wi;
  bc->attrs.const_index = bi;
  Value *ins[3] = {mt->conv->in[0], wc->out[0], bc->out[0]};
  bool mm = mt->conv->kind == KILN_OP_MATMUL;
  Op *conv = op_new(f, mt->conv->kind, mt->conv->name, mm ? 2 : 3, ins, 1, &mt->g->out[0]->type, mt->g);
  conv->attrs = mt->conv->attrs;
  Value *y = conv->out[0];
  if (mm && any_nonzero(&m->consts[bi]))
    y = generic_bias_add(f, y, bc->out[0], channel_dim_of(conv), name, mt->g);
  value_replace_uses(mt->g->out[0], y);
  op_erase(mt->g);
  op_erase(mt->conv);
  return KILN_OK;
}

static KilnStatus try_fold(Func *f, Op *g, PassContext *ctx) {
  Match mt;
  if (!match(f->module, g, &mt)) return KILN_OK;
  int64_t n_ch = mt.conv->out[0]->type.dims[channel_dim_of(mt.conv)];
  Lin *lin = malloc(sizeof(Lin) * (size_t)n_ch);
  if (!lin) return diag_error(ctx->diag, KILN_ERR_NOMEM, "fold-scale-bias: out of memory");
  bool affine = true;
  for (int64_t c = 0; c < n_ch && affine; c++) affine = eval_affine(f->module, &mt, c, &lin[c]);
  KilnStatus st = affine ? rewrite(f, &mt, lin, ctx) : KILN_OK;
  free(lin);
  return st;
}

KilnStatus pass_fold_scale_bias(Func *f, PassContext *ctx) {
  for (Op *op = f->first, *next; op; op = next) {
    next = op->next;
    KilnStatus st = try_fold(f, op, ctx);
    if (st) return st;
  }
  return KILN_OK;
}
