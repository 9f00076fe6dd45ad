/* onnx_ew.c — elementwise ONNX ops as one GENERIC each, and their constant evaluation.
 *
 * The EW builder collects a scalar body (body.def) and the operands: the result shape is
 * the numpy broadcast of all inputs; each operand gets a trailing-aligned broadcast map
 * (or a one-dim map along an axis, for per-channel parameters), the result an identity
 * map, every loop parallel. A one-element constant input is inlined as BODY_CONST
 * instead of becoming an operand. When the op is one of the folded ones (w->fold) and
 * every operand is constant, ew_end evaluates the body per element instead (int64 for
 * integer dtypes, double for floats) and the result is a constant.
 * Also here: Clip, Cast, BatchNormalization (per-channel scale/shift precomputed),
 * QuantizeLinear / DequantizeLinear (per-tensor and per-axis, int8/uint8). */
#include <math.h>
#include <string.h>

#include "onnx_internal.h"

/* ---- builder ------------------------------------------------------------------------ */

static KilnStatus broadcast(Imp *I, TensorType *acc, const TensorType *t) {
  int r = acc->rank > t->rank ? acc->rank : t->rank;
  TensorType o = {.dtype = acc->dtype, .rank = r};
  for (int i = 0; i < r; i++) {
    int ia = i - (r - acc->rank), it = i - (r - t->rank);
    int64_t a = ia >= 0 ? acc->dims[ia] : 1, b = it >= 0 ? t->dims[it] : 1;
    if (a != b && a != 1 && b != 1) {
      char s1[128], s2[128];
      return imp_err(I, KILN_ERR_INVALID, "shapes %s and %s do not broadcast",
                     type_str(acc, s1, sizeof s1), type_str(t, s2, sizeof s2));
    }
    o.dims[i] = a == 1 ? b : a;
  }
  *acc = o;
  return KILN_OK;
}

KilnStatus ew_begin(EW *w, Imp *I, Entry **ins, int n, DType out_dtype) {
  memset(w, 0, sizeof *w);
  w->I = I;
  w->out.dtype = out_dtype;
  for (int i = 0; i < n; i++) {
    KilnStatus st = ins[i] ? broadcast(I, &w->out, &ins[i]->type) : KILN_OK;
    if (st) return st;
  }
  w->out.dtype = out_dtype;
  return KILN_OK;
}

static int ew_push(EW *w, BodyInst in) {
  KILN_ASSERT(w->n_insts < (int)ARRAY_LEN(w->insts));
  w->insts[w->n_insts] = in;
  return w->n_insts++;
}

/* double -> int64, saturating (NaN -> 0): a float attribute may be anything. */
static int64_t sat_i64(double v) {
  if (!(v > -9.2e18 && v < 9.2e18)) return v > 0 ? INT64_MAX : (v < 0 ? INT64_MIN : 0);
  return (int64_t)v;
}

int ew_const(EW *w, double v, DType dt) {
  BodyInst in = {.kind = BODY_CONST, .dtype = dt, .imm = v, .imm_i = sat_i64(v)};
  if (!dtype_is_float(dt)) in.imm = (double)in.imm_i;
  return ew_push(w, in);
}

static int ew_arg(EW *w, Entry *e, AffineMap map) {
  KILN_ASSERT(w->n_in < KILN_MAX_OPERANDS);
  w->maps[w->n_in] = map;
  w->in[w->n_in] = e;
  return ew_push(w, (BodyInst){.kind = BODY_ARG, .dtype = e->type.dtype, .imm_i = w->n_in++});
}

int ew_in(EW *w, Entry *e) {
  if (e->data && type_numel(&e->type) == 1 && e->type.rank <= w->out.rank) {
    BodyInst in = {.kind = BODY_CONST, .dtype = e->type.dtype};
    if (dtype_is_float(e->type.dtype)) in.imm = imp_get_f(e->type.dtype, e->data, 0);
    else in.imm = (double)(in.imm_i = imp_get_i(e->type.dtype, e->data, 0));
    return ew_push(w, in);
  }
  return ew_arg(w, e, affine_broadcast(e->type.rank, e->type.dims, w->out.rank, w->out.dims));
}

int ew_in_axis(EW *w, Entry *e, int axis) {
  if (type_numel(&e->type) == 1 && e->type.rank <= 1) return ew_in(w, e);
  AffineMap m = {.n_results = 1};
  m.results[0].coef[axis] = 1;
  return ew_arg(w, e, m);
}

int ew_op(EW *w, BodyOpKind k, DType dt, int a, int b) {
  int n = body_op_n_args(k);
  return ew_push(w, (BodyInst){.kind = k, .dtype = dt, .n_args = n, .args = {a, b}});
}

int ew_sel(EW *w, int c, int a, int b) {
  return ew_push(w, (BodyInst){.kind = BODY_SELECT, .dtype = w->insts[a].dtype, .n_args = 3,
                               .args = {c, a, b}});
}

int ew_cmp(EW *w, CmpPred p, int a, int b) {
  return ew_push(w, (BodyInst){.kind = BODY_CMP, .dtype = KILN_BOOL, .n_args = 2, .args = {a, b},
                               .pred = p});
}

int ew_cast(EW *w, int a, DType to) {
  if (w->insts[a].dtype == to) return a;
  if (to == KILN_BOOL) {
    int z = ew_const(w, 0, w->insts[a].dtype);
    return ew_cmp(w, CMP_NE, a, z);
  }
  return ew_push(w, (BodyInst){.kind = BODY_CAST, .dtype = to, .n_args = 1, .args = {a}});
}

/* ---- constant evaluation ------------------------------------------------------------ */

typedef struct Sc { double f; int64_t i; } Sc;

static bool is_f(DType t) { return dtype_is_float(t); }

static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

static Sc eval_int(const BodyInst *in, Sc a, Sc b) {
  Sc r = {0};
  switch (in->kind) {
  case BODY_ADD: r.i = wrap_add(a.i, b.i); break;
  case BODY_SUB: r.i = wrap_add(a.i, wrap_mul(b.i, -1)); break;
  case BODY_MUL: r.i = wrap_mul(a.i, b.i); break;
  case BODY_DIV: r.i = b.i == 0 || (b.i == -1 && a.i == INT64_MIN) ? 0 : a.i / b.i; break;
  case BODY_MAX: r.i = a.i > b.i ? a.i : b.i; break;
  case BODY_MIN: r.i = a.i < b.i ? a.i : b.i; break;
  case BODY_ABS: r.i = a.i < 0 ? wrap_mul(a.i, -1) : a.i; break;
  default: r.i = 0; break;
  }
  r.f = (double)r.i;
  return r;
}

static double eval_float(BodyOpKind k, double a, double b) {
  switch (k) {
  case BODY_ADD: return a + b;
  case BODY_SUB: return a - b;
  case BODY_MUL: return a * b;
  case BODY_DIV: return a / b;
  case BODY_MAX: return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
  case BODY_MIN: return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
  case BODY_POW: return pow(a, b);
  case BODY_NEG: return -a;
  case BODY_ABS: return fabs(a);
  case BODY_EXP: return exp(a);
  case BODY_LOG: return log(a);
  case BODY_TANH: return tanh(a);
  case BODY_ERF: return erf(a);
  case BODY_SQRT: return sqrt(a);
  case BODY_FLOOR: return floor(a);
  case BODY_CEIL: return ceil(a);
  case BODY_ROUND: return nearbyint(a);
  default: return 0;
  }
}

static bool eval_cmp(CmpPred p, double a, double b, int64_t ia, int64_t ib, bool fl) {
  int c = fl ? (a < b ? -1 : a > b ? 1 : 0) : (ia < ib ? -1 : ia > ib ? 1 : 0);
  if (fl && (isnan(a) || isnan(b))) return p == CMP_NE;
  switch (p) {
  case CMP_EQ: return c == 0;
  case CMP_NE: return c != 0;
  case CMP_LT: return c < 0;
  case CMP_LE: return c <= 0;
  case CMP_GT: return c > 0;
  case CMP_GE: return c >= 0;
  }
  return false;
}

static Sc eval_cast(const BodyInst *in, const BodyInst *src, Sc a) {
  Sc r = a;
  if (is_f(src->dtype) && !is_f(in->dtype)) {
    double v = trunc(a.f);
    r.i = v > -9.2e18 && v < 9.2e18 ? (int64_t)v : 0;
  }
  if (!is_f(src->dtype) && is_f(in->dtype)) r.f = (double)a.i;
  if (!is_f(in->dtype)) { /* wrap to the target width */
    int64_t t[1];
    imp_set_i(in->dtype, t, 0, r.i);
    r.i = imp_get_i(in->dtype, t, 0);
    r.f = (double)r.i;
  }
  return r;
}

static Sc eval_inst(const EW *w, const BodyInst *in, const Sc *v, const Sc *args) {
  const BodyInst *a0 = in->n_args ? &w->insts[in->args[0]] : NULL;
  Sc a = in->n_args > 0 ? v[in->args[0]] : (Sc){0}, b = in->n_args > 1 ? v[in->args[1]] : (Sc){0};
  Sc r = {0};
  switch (in->kind) {
  case BODY_ARG: return args[in->imm_i];
  case BODY_CONST: return (Sc){in->imm, in->imm_i};
  case BODY_CMP:
    r.i = eval_cmp(in->pred, a.f, b.f, a.i, b.i, is_f(a0->dtype));
    r.f = (double)r.i;
    return r;
  case BODY_SELECT: return a.i ? b : v[in->args[2]];
  case BODY_CAST: return eval_cast(in, a0, a);
  default:
    if (!is_f(in->dtype)) return eval_int(in, a, b);
    r.f = eval_float(in->kind, a.f, b.f);
    return r;
  }
}

static int64_t map_index(const AffineMap *m, const TensorType *t, const int64_t *idx) {
  int64_t flat = 0;
  for (int r = 0; r < m->n_results; r++) {
    int64_t x = m->results[r].cst;
    for (int l = 0; l < KILN_MAX_RANK; l++) x += m->results[r].coef[l] * idx[l];
    flat = flat * t->dims[r] + x;
  }
  return flat;
}

static KilnStatus ew_fold(EW *w, int yield, Entry *res) {
  int64_t total = type_numel(&w->out), idx[KILN_MAX_RANK] = {0};
  void *out = imp_fold_alloc(w->I, &w->out);
  Sc v[ARRAY_LEN(w->insts)], args[KILN_MAX_OPERANDS];
  if (!out) return w->I->d->status;
  for (int64_t e = 0; e < total; e++, imp_idx_next(idx, w->out.dims, w->out.rank)) {
    for (int k = 0; k < w->n_in; k++) {
      const Entry *x = w->in[k];
      int64_t j = map_index(&w->maps[k], &x->type, idx);
      args[k].f = imp_get_f(x->type.dtype, x->data, j);
      args[k].i = is_f(x->type.dtype) ? (int64_t)0 : imp_get_i(x->type.dtype, x->data, j);
    }
    for (int i = 0; i < w->n_insts; i++) v[i] = eval_inst(w, &w->insts[i], v, args);
    if (is_f(w->out.dtype)) imp_set_f(w->out.dtype, out, e, v[yield].f);
    else imp_set_i(w->out.dtype, out, e, v[yield].i);
  }
  *res = (Entry){.name = "folded", .type = w->out, .data = out, .ci = -1};
  return imp_check_limits(w->I, &w->out, "folded");
}

KilnStatus ew_emit(EW *w, const char *suffix, int yield, Entry *res) {
  Imp *I = w->I;
  bool all_const = true;
  for (int k = 0; k < w->n_in; k++) all_const &= w->in[k]->data != NULL;
  if (w->fold && all_const) return ew_fold(w, yield, res);
  Value *ins[KILN_MAX_OPERANDS];
  for (int k = 0; k < w->n_in; k++)
    if (!(ins[k] = imp_value(I, w->in[k]))) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  Op *op = imp_op(I, KILN_OP_GENERIC, suffix, w->n_in, ins, 1, &w->out);
  OpAttrs *a = &op->attrs;
  a->n_loops = w->out.rank;
  a->n_maps = w->n_in + 1;
  a->maps = imp_alloc(I, (int64_t)sizeof(AffineMap) * a->n_maps);
  a->body = body_new(I->m, w->n_insts, 1);
  memcpy(a->maps, w->maps, sizeof(AffineMap) * (size_t)w->n_in);
  a->maps[w->n_in] = affine_identity(w->out.rank);
  memcpy(a->body.insts, w->insts, sizeof(BodyInst) * (size_t)w->n_insts);
  a->body.yields[0] = yield;
  *res = (Entry){.name = op->name, .type = w->out, .v = op->out[0], .ci = -1};
  return imp_finish(I, op);
}

KilnStatus ew_end(EW *w, const Onnx__NodeProto *n, int out_k, int yield) {
  Entry r;
  KilnStatus st = ew_emit(w, NULL, yield, &r);
  if (st || (size_t)out_k >= n->n_output || !n->output[out_k][0]) return st;
  if (r.v && !r.v->name) r.v->name = arena_strdup(&w->I->m->arena, n->output[out_k]);
  return imp_def_entry(w->I, n->output[out_k], r);
}

/* ---- element-wise ops ---------------------------------------------------------------- */

static bool name_is(const Onnx__NodeProto *n, const char *s) { return !strcmp(n->op_type, s); }

static bool folds(const Onnx__NodeProto *n) {
  static const char *const names[] = {"Add", "Sub", "Mul", "Div", "Equal", "Where", "Floor", "Ceil",
                                      "Sqrt", "Neg", "Not", "Min", "Max", "Cast", "Identity"};
  for (size_t i = 0; i < ARRAY_LEN(names); i++)
    if (name_is(n, names[i])) return true;
  return false;
}

static KilnStatus need_float(Imp *I, const Entry *x) {
  if (dtype_is_float(x->type.dtype)) return KILN_OK;
  return imp_err(I, KILN_ERR_UNSUPPORTED, "input '%s' has element type %s, expected a float type",
                 x->name, dtype_name(x->type.dtype));
}

/* Body of one unary op on inst x of dtype dt; -1 if op_type is not unary. */
static int unary_body(EW *w, const Onnx__NodeProto *n, int x, DType dt) {
  if (name_is(n, "Relu")) return ew_op(w, BODY_MAX, dt, x, ew_const(w, 0, dt));
  if (name_is(n, "Neg") && !dtype_is_float(dt)) return ew_op(w, BODY_SUB, dt, ew_const(w, 0, dt), x);
  if (name_is(n, "Not")) return ew_cmp(w, CMP_EQ, x, ew_const(w, 0, dt));
  if (name_is(n, "Sigmoid") || name_is(n, "Reciprocal")) {
    int e = name_is(n, "Reciprocal") ? x
            : ew_op(w, BODY_ADD, dt, ew_const(w, 1, dt), ew_op(w, BODY_EXP, dt, ew_op(w, BODY_NEG, dt, x, 0), 0));
    return ew_op(w, BODY_DIV, dt, ew_const(w, 1, dt), e);
  }
  if (name_is(n, "LeakyRelu")) {
    int ax = ew_op(w, BODY_MUL, dt, x, ew_const(w, onnx_attr_float(n, "alpha", 0.01f), dt));
    return ew_sel(w, ew_cmp(w, CMP_GE, x, ew_const(w, 0, dt)), x, ax);
  }
  if (name_is(n, "HardSigmoid") || name_is(n, "HardSwish")) {
    bool hs = name_is(n, "HardSwish");
    double al = hs ? 1.0 / 6 : onnx_attr_float(n, "alpha", 0.2f), be = hs ? 0.5 : onnx_attr_float(n, "beta", 0.5f);
    int t = ew_op(w, BODY_ADD, dt, ew_op(w, BODY_MUL, dt, x, ew_const(w, al, dt)), ew_const(w, be, dt));
    t = ew_op(w, BODY_MAX, dt, ew_op(w, BODY_MIN, dt, t, ew_const(w, 1, dt)), ew_const(w, 0, dt));
    return hs ? ew_op(w, BODY_MUL, dt, x, t) : t;
  }
  static const struct { const char *name; BodyOpKind k; } tab[] = {
    {"Tanh", BODY_TANH}, {"Exp", BODY_EXP}, {"Erf", BODY_ERF}, {"Log", BODY_LOG}, {"Abs", BODY_ABS},
    {"Neg", BODY_NEG}, {"Floor", BODY_FLOOR}, {"Ceil", BODY_CEIL}, {"Sqrt", BODY_SQRT},
    {"Round", BODY_ROUND},
  };
  for (size_t i = 0; i < ARRAY_LEN(tab); i++)
    if (name_is(n, tab[i].name)) return ew_op(w, tab[i].k, dt, x, 0);
  return -1;
}

KilnStatus imp_unary(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs 1 input");
  bool int_ok = name_is(n, "Relu") || name_is(n, "Neg") || name_is(n, "Abs") || name_is(n, "Not");
  KilnStatus st = int_ok ? KILN_OK : need_float(I, x);
  EW w;
  DType out = name_is(n, "Not") ? KILN_BOOL : x->type.dtype;
  if (st || (st = ew_begin(&w, I, &x, 1, out))) return st;
  w.fold = folds(n);
  int y = unary_body(&w, n, ew_in(&w, x), x->type.dtype);
  KILN_ASSERT(y >= 0);
  return ew_end(&w, n, 0, y);
}

static BodyOpKind binary_kind(const Onnx__NodeProto *n) {
  if (name_is(n, "Add") || name_is(n, "Sum")) return BODY_ADD;
  if (name_is(n, "Sub")) return BODY_SUB;
  if (name_is(n, "Mul")) return BODY_MUL;
  if (name_is(n, "Div")) return BODY_DIV;
  if (name_is(n, "Pow")) return BODY_POW;
  if (name_is(n, "Max")) return BODY_MAX;
  return BODY_MIN;
}

static KilnStatus same_dtype(Imp *I, Entry **ins, int n) {
  for (int i = 1; i < n; i++)
    if (ins[i]->type.dtype != ins[0]->type.dtype)
      return imp_err(I, KILN_ERR_INVALID, "inputs '%s' (%s) and '%s' (%s) have different element types",
                     ins[0]->name, dtype_name(ins[0]->type.dtype), ins[i]->name, dtype_name(ins[i]->type.dtype));
  return KILN_OK;
}

KilnStatus imp_variadic(Imp *I, const Onnx__NodeProto *n) {
  Entry *ins[KILN_MAX_OPERANDS];
  int cnt = (int)n->n_input;
  if (cnt < 1 || cnt > KILN_MAX_OPERANDS) return imp_err(I, KILN_ERR_UNSUPPORTED, "has %d inputs", cnt);
  for (int i = 0; i < cnt; i++)
    if (!(ins[i] = imp_in(I, n, i))) return imp_err(I, KILN_ERR_INVALID, "input %d is empty", i);
  BodyOpKind k = binary_kind(n);
  DType dt = ins[0]->type.dtype;
  KilnStatus st = same_dtype(I, ins, cnt);
  if (!st && k == BODY_POW) st = need_float(I, ins[0]);
  EW w;
  if (st || (st = ew_begin(&w, I, ins, cnt, dt))) return st;
  w.fold = folds(n);
  int acc = ew_in(&w, ins[0]);
  for (int i = 1; i < cnt; i++) acc = ew_op(&w, k, dt, acc, ew_in(&w, ins[i]));
  return ew_end(&w, n, 0, acc);
}

KilnStatus imp_binary(Imp *I, const Onnx__NodeProto *n) {
  if (n->n_input != 2) return imp_err(I, KILN_ERR_INVALID, "needs 2 inputs, has %zu", n->n_input);
  if (name_is(n, "Pow")) { /* exponent may have another type: cast it */
    Entry *ins[2] = {imp_in(I, n, 0), imp_in(I, n, 1)};
    EW w;
    if (!ins[0] || !ins[1]) return imp_err(I, KILN_ERR_INVALID, "needs 2 inputs");
    KilnStatus st = need_float(I, ins[0]);
    if (st || (st = ew_begin(&w, I, ins, 2, ins[0]->type.dtype))) return st;
    DType dt = ins[0]->type.dtype;
    int e = ew_cast(&w, ew_in(&w, ins[1]), dt);
    return ew_end(&w, n, 0, ew_op(&w, BODY_POW, dt, ew_in(&w, ins[0]), e));
  }
  return imp_variadic(I, n);
}

KilnStatus imp_compare(Imp *I, const Onnx__NodeProto *n) {
  Entry *ins[2] = {imp_in(I, n, 0), imp_in(I, n, 1)};
  if (!ins[0] || !ins[1]) return imp_err(I, KILN_ERR_INVALID, "needs 2 inputs");
  CmpPred p = name_is(n, "Equal") ? CMP_EQ : name_is(n, "Less") ? CMP_LT : name_is(n, "Greater") ? CMP_GT
            : name_is(n, "LessOrEqual") ? CMP_LE : CMP_GE;
  EW w;
  KilnStatus st = same_dtype(I, ins, 2);
  if (st || (st = ew_begin(&w, I, ins, 2, KILN_BOOL))) return st;
  w.fold = folds(n);
  int a = ew_in(&w, ins[0]);
  return ew_end(&w, n, 0, ew_cmp(&w, p, a, ew_in(&w, ins[1])));
}

KilnStatus imp_where(Imp *I, const Onnx__NodeProto *n) {
  Entry *ins[3] = {imp_in(I, n, 0), imp_in(I, n, 1), imp_in(I, n, 2)};
  if (!ins[0] || !ins[1] || !ins[2]) return imp_err(I, KILN_ERR_INVALID, "needs 3 inputs");
  if (ins[0]->type.dtype != KILN_BOOL) return imp_err(I, KILN_ERR_INVALID, "condition is not bool");
  EW w;
  KilnStatus st = same_dtype(I, ins + 1, 2);
  if (st || (st = ew_begin(&w, I, ins, 3, ins[1]->type.dtype))) return st;
  w.fold = true;
  int c = ew_in(&w, ins[0]), a = ew_in(&w, ins[1]);
  return ew_end(&w, n, 0, ew_sel(&w, c, a, ew_in(&w, ins[2])));
}

KilnStatus imp_clip(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *lo = imp_in(I, n, 1), *hi = imp_in(I, n, 2);
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  Entry *ins[3] = {x, lo, hi};
  EW w;
  DType dt = x->type.dtype;
  KilnStatus st = ew_begin(&w, I, ins, 3, dt);
  if (st) return st;
  int y = ew_in(&w, x);
  const Onnx__AttributeProto *amin = onnx_attr_find(n, "min"), *amax = onnx_attr_find(n, "max");
  if (lo) y = ew_op(&w, BODY_MAX, dt, y, ew_cast(&w, ew_in(&w, lo), dt));
  else if (amin && amin->has_f) y = ew_op(&w, BODY_MAX, dt, y, ew_const(&w, amin->f, dt));
  if (hi) y = ew_op(&w, BODY_MIN, dt, y, ew_cast(&w, ew_in(&w, hi), dt));
  else if (amax && amax->has_f) y = ew_op(&w, BODY_MIN, dt, y, ew_const(&w, amax->f, dt));
  return ew_end(&w, n, 0, y);
}

KilnStatus imp_cast(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  DType to;
  if (!x) return imp_err(I, KILN_ERR_INVALID, "needs an input");
  const Onnx__AttributeProto *a = onnx_attr_find(n, "to");
  if (!a || !a->has_i) return imp_err(I, KILN_ERR_INVALID, "missing attribute 'to'");
  KilnStatus st = onnx_dtype(I, (int32_t)a->i, n->output[0], &to);
  EW w;
  if (st || (st = ew_begin(&w, I, &x, 1, to))) return st;
  if (to == x->type.dtype) return imp_def_entry(I, n->output[0], *x);
  w.fold = true;
  return ew_end(&w, n, 0, ew_cast(&w, ew_in(&w, x), to));
}

/* ---- BatchNormalization ------------------------------------------------------------- */

static KilnStatus bn_params(Imp *I, const Onnx__NodeProto *n, int64_t c, float *a, float *b) {
  Entry *p[4];
  for (int i = 0; i < 4; i++) {
    p[i] = imp_in(I, n, i + 1);
    if (!p[i]) return imp_err(I, KILN_ERR_INVALID, "parameter %d is missing", i + 1);
    if (!p[i]->data)
      return imp_err(I, KILN_ERR_UNSUPPORTED, "input '%s' (parameter %d) must be a constant", p[i]->name, i + 1);
    if (type_numel(&p[i]->type) != c)
      return imp_err(I, KILN_ERR_INVALID, "parameter '%s' has %lld values for %lld channels", p[i]->name,
                     (long long)type_numel(&p[i]->type), (long long)c);
  }
  double eps = onnx_attr_float(n, "epsilon", 1e-5f);
  for (int64_t i = 0; i < c; i++) {
    double s = imp_get_f(p[0]->type.dtype, p[0]->data, i), bias = imp_get_f(p[1]->type.dtype, p[1]->data, i);
    double mean = imp_get_f(p[2]->type.dtype, p[2]->data, i), var = imp_get_f(p[3]->type.dtype, p[3]->data, i);
    a[i] = (float)(s / sqrt(var + eps));
    b[i] = (float)(bias - mean * (double)a[i]);
  }
  return KILN_OK;
}

KilnStatus imp_batchnorm(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0);
  if (!x || n->n_input != 5) return imp_err(I, KILN_ERR_INVALID, "needs 5 inputs");
  KilnStatus st = need_float(I, x);
  if (!st && x->type.rank < 2) st = imp_err(I, KILN_ERR_INVALID, "input has rank %d, expected >= 2", x->type.rank);
  if (!st && onnx_attr_int(n, "training_mode", 0)) st = imp_err(I, KILN_ERR_UNSUPPORTED, "training_mode=1");
  if (!st) st = imp_no_extra_outputs(I, n, 1);
  if (st) return st;
  int64_t c = x->type.dims[1];
  TensorType pt = type_make(KILN_F32, 1, &c);
  float *a = imp_alloc(I, 4 * c), *b = imp_alloc(I, 4 * c);
  if (!a || !b) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  if ((st = bn_params(I, n, c, a, b))) return st;
  char an[512], bn[512];
  snprintf(an, sizeof an, "%s/scale", onnx_node_label(n));
  snprintf(bn, sizeof bn, "%s/shift", onnx_node_label(n));
  Entry *pa = imp_const_entry(I, an, pt, a), *pb = imp_const_entry(I, bn, pt, b);
  if (!pa || !pb) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  EW w;
  if ((st = ew_begin(&w, I, &x, 1, x->type.dtype))) return st;
  DType dt = x->type.dtype;
  int xv = ew_in(&w, x), av = ew_cast(&w, ew_in_axis(&w, pa, 1), dt);
  int bv = ew_cast(&w, ew_in_axis(&w, pb, 1), dt);
  return ew_end(&w, n, 0, ew_op(&w, BODY_ADD, dt, ew_op(&w, BODY_MUL, dt, xv, av), bv));
}

/* ---- QuantizeLinear / DequantizeLinear ------------------------------------------------ */

/* Per-tensor (scalar) or per-axis (1-D of the axis' size) parameter as a body value. */
static KilnStatus q_param(EW *w, Entry *x, Entry *p, int axis, int *out) {
  int64_t np = type_numel(&p->type);
  if (np == 1 && p->type.rank <= 1) {
    if (p->type.rank > x->type.rank) { /* a [1] parameter of a scalar x: read it as a scalar */
      Entry *sc = imp_alloc(w->I, sizeof *sc);
      TensorType t = p->type;
      t.rank = 0;
      if (!sc) return imp_err(w->I, KILN_ERR_NOMEM, "out of memory");
      KilnStatus st = imp_reshape_to(w->I, p, t, "scalar", sc);
      if (st) return st;
      p = sc;
    }
    *out = ew_in(w, p); /* a non-constant scalar broadcasts: its map reads index 0 */
    return KILN_OK;
  }
  if (axis < 0) return imp_err(w->I, KILN_ERR_INVALID, "per-axis '%s' with axis out of range for rank %d", p->name, x->type.rank);
  if (p->type.rank != 1 || np != x->type.dims[axis])
    return imp_err(w->I, KILN_ERR_INVALID, "'%s' has %lld values; per-axis parameters need %lld (axis %d)",
                   p->name, (long long)np, (long long)x->type.dims[axis], axis);
  *out = ew_in_axis(w, p, axis);
  return KILN_OK;
}

static KilnStatus q_axis(Imp *I, const Onnx__NodeProto *n, const Entry *x, int *axis) {
  int64_t a = onnx_attr_int(n, "axis", 1), r = x->type.rank;
  if (onnx_attr_find(n, "block_size") && onnx_attr_int(n, "block_size", 0))
    return imp_err(I, KILN_ERR_UNSUPPORTED, "blocked quantization (block_size)");
  /* Out of range is only an error for per-axis parameters (q_param checks it). */
  *axis = a < -r || a >= r ? -1 : (int)(a < 0 ? a + r : a);
  return KILN_OK;
}

KilnStatus imp_quantize(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *s = imp_in(I, n, 1), *zp = imp_in(I, n, 2);
  if (!x || !s) return imp_err(I, KILN_ERR_INVALID, "needs x and y_scale");
  DType qt = zp ? zp->type.dtype : KILN_U8;
  const Onnx__AttributeProto *oty = onnx_attr_find(n, "output_dtype");
  if (!zp && oty && oty->has_i && oty->i) {
    KilnStatus st = onnx_dtype(I, (int32_t)oty->i, "output_dtype", &qt);
    if (st) return st;
  }
  if (qt != KILN_I8 && qt != KILN_U8)
    return imp_err(I, KILN_ERR_UNSUPPORTED, "quantized type %s (only int8/uint8)", dtype_name(qt));
  int axis = 0, sv, zv = -1;
  EW w;
  KilnStatus st = need_float(I, x);
  if (st || (st = q_axis(I, n, x, &axis)) || (st = ew_begin(&w, I, &x, 1, qt))) return st;
  int xv = ew_cast(&w, ew_in(&w, x), KILN_F32);
  if ((st = q_param(&w, x, s, axis, &sv)) || (zp && (st = q_param(&w, x, zp, axis, &zv)))) return st;
  int q = ew_op(&w, BODY_ROUND, KILN_F32, ew_op(&w, BODY_DIV, KILN_F32, xv, ew_cast(&w, sv, KILN_F32)), 0);
  if (zv >= 0) q = ew_op(&w, BODY_ADD, KILN_F32, q, ew_cast(&w, zv, KILN_F32));
  double lo = qt == KILN_I8 ? -128 : 0, hi = qt == KILN_I8 ? 127 : 255;
  q = ew_op(&w, BODY_MIN, KILN_F32, ew_op(&w, BODY_MAX, KILN_F32, q, ew_const(&w, lo, KILN_F32)), ew_const(&w, hi, KILN_F32));
  return ew_end(&w, n, 0, ew_cast(&w, q, qt));
}

KilnStatus imp_dequantize(Imp *I, const Onnx__NodeProto *n) {
  Entry *x = imp_in(I, n, 0), *s = imp_in(I, n, 1), *zp = imp_in(I, n, 2);
  if (!x || !s) return imp_err(I, KILN_ERR_INVALID, "needs x and x_scale");
  DType qt = x->type.dtype;
  if (qt != KILN_I8 && qt != KILN_U8 && qt != KILN_I32)
    return imp_err(I, KILN_ERR_UNSUPPORTED, "dequantizing %s (only int8/uint8/int32)", dtype_name(qt));
  int axis = 0, sv, zv = -1;
  EW w;
  KilnStatus st = q_axis(I, n, x, &axis);
  if (!st) st = need_float(I, s);
  if (st || (st = ew_begin(&w, I, &x, 1, s->type.dtype))) return st;
  int xv = ew_cast(&w, ew_in(&w, x), KILN_F32);
  if ((st = q_param(&w, x, s, axis, &sv)) || (zp && (st = q_param(&w, x, zp, axis, &zv)))) return st;
  if (zv >= 0) xv = ew_op(&w, BODY_SUB, KILN_F32, xv, ew_cast(&w, zv, KILN_F32));
  int y = ew_op(&w, BODY_MUL, KILN_F32, xv, ew_cast(&w, sv, KILN_F32));
  return ew_end(&w, n, 0, ew_cast(&w, y, s->type.dtype));
}
