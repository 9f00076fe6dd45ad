/* epilogue.c — the epilogue program of a fused kernel: its elementwise stages evaluated
 * over runs of up to RUN consecutive elements of the iteration space.
 *
 * A run stays inside the innermost dim of every stage, so each buffer operand is read
 * with one stride per run. Each body instruction is one loop over the run's lanes (the
 * compiler vectorizes the float ones); a stage's result lanes feed later stages directly
 * and are stored only when the dispatch yields them. Semantics follow interp_body.c,
 * except that f32 instructions compute in f32 (the reference computes in double and
 * rounds each result to f32: the same for + - * / sqrt, within an ulp for exp, tanh...).
 * Integers live in int64 lanes, wrapped to their dtype after every instruction.
 *
 * A stage whose operands and result are all 8-bit (the int8 models' residual adds,
 * Q(DQ(a) + DQ(b)), and their requantizing data movement), or that dequantizes one 8-bit
 * operand to f32, is a function of at most 16 bits: lowering tabulates it once with this
 * same evaluator (epilogue_prepare), and runs read the table, so the result is the
 * evaluator's bit for bit. */
#include <math.h>
#include <string.h>

#include "backend/cpu/backend.h"
#include "interp/interp.h"

/* RUN: lanes per evaluated instruction; each instruction is one pass over a run, so the
 * per-instruction overhead is amortized over RUN elements (64 -> 256 made EfficientNet's
 * SiLU epilogues 15% faster). */
enum { RUN = 256, MAX_INSTS = 96, MAX_STAGES = 64 };

/* One value over a run: floats contiguous (so loops over them vectorize) or int64s. */
typedef union Lanes {
  float f[RUN];
  int64_t i[RUN];
} Lanes;

static bool dtype_ok(DType t) {
  return t == KILN_F32 || t == KILN_I8 || t == KILN_U8 || t == KILN_I32 || t == KILN_I64 ||
         t == KILN_BOOL;
}

bool epilogue_supports(const Op *g) {
  const Body *b = &g->attrs.body;
  if (b->n_insts > MAX_INSTS || b->n_yield != 1) return false;
  for (int i = 0; i < g->n_in; i++)
    if (!dtype_ok(g->in[i]->type.dtype)) return false;
  for (int i = 0; i < g->n_out; i++)
    if (!dtype_ok(g->out[i]->type.dtype)) return false;
  for (int k = 0; k < b->n_insts; k++)
    if (!dtype_ok(b->insts[k].dtype) || b->insts[k].kind == BODY_YIELD) return false;
  return true;
}

/* Lanes [at, at + n) of dst from buffer elements off, off + stride, ... */
static void load(Lanes *dst, int at, const uint8_t *base, DType t, int64_t off, int64_t stride,
                 int n) {
  switch (t) {
  case KILN_F32:
    if (stride == 1) memcpy(dst->f + at, (const float *)base + off, sizeof(float) * (size_t)n);
    else for (int j = 0; j < n; j++) dst->f[at + j] = ((const float *)base)[off + j * stride];
    break;
  case KILN_I8:
    for (int j = 0; j < n; j++) dst->i[at + j] = ((const int8_t *)base)[off + j * stride];
    break;
  case KILN_U8: case KILN_BOOL:
    for (int j = 0; j < n; j++) dst->i[at + j] = ((const uint8_t *)base)[off + j * stride];
    break;
  case KILN_I32:
    for (int j = 0; j < n; j++) dst->i[at + j] = ((const int32_t *)base)[off + j * stride];
    break;
  default:
    for (int j = 0; j < n; j++) dst->i[at + j] = ((const int64_t *)base)[off + j * stride];
  }
}

static void store(uint8_t *base, DType t, int64_t off, const Lanes *src, int n) {
  switch (t) {
  case KILN_F32: memcpy((float *)base + off, src->f, sizeof(float) * (size_t)n); break;
  case KILN_I8:
    for (int j = 0; j < n; j++) ((int8_t *)base)[off + j] = (int8_t)src->i[j];
    break;
  case KILN_U8: case KILN_BOOL:
    for (int j = 0; j < n; j++) ((uint8_t *)base)[off + j] = (uint8_t)src->i[j];
    break;
  case KILN_I32:
    for (int j = 0; j < n; j++) ((int32_t *)base)[off + j] = (int32_t)src->i[j];
    break;
  default:
    for (int j = 0; j < n; j++) ((int64_t *)base)[off + j] = src->i[j];
  }
}

static float float_op(BodyOpKind k, float x, float y) {
  switch (k) {
  case BODY_ADD: return x + y;
  case BODY_SUB: return x - y;
  case BODY_MUL: return x * y;
  case BODY_DIV: return x / y;
  case BODY_MAX: return isnan(x) || isnan(y) ? NAN : fmaxf(x, y);
  case BODY_MIN: return isnan(x) || isnan(y) ? NAN : fminf(x, y);
  case BODY_POW: return powf(x, y);
  case BODY_NEG: return -x;
  case BODY_ABS: return fabsf(x);
  case BODY_EXP: return expf(x);
  case BODY_LOG: return logf(x);
  case BODY_TANH: return tanhf(x);
  case BODY_ERF: return erff(x);
  case BODY_SQRT: return sqrtf(x);
  case BODY_FLOOR: return floorf(x);
  case BODY_CEIL: return ceilf(x);
  case BODY_ROUND: return nearbyintf(x);
  default: return 0;
  }
}

static int64_t compare(CmpPred p, const Lanes *a, const Lanes *b, int j, bool fl) {
  switch (p) {
  case CMP_EQ: return fl ? a->f[j] == b->f[j] : a->i[j] == b->i[j];
  case CMP_NE: return fl ? a->f[j] != b->f[j] : a->i[j] != b->i[j];
  case CMP_LT: return fl ? a->f[j] < b->f[j] : a->i[j] < b->i[j];
  case CMP_LE: return fl ? a->f[j] <= b->f[j] : a->i[j] <= b->i[j];
  case CMP_GT: return fl ? a->f[j] > b->f[j] : a->i[j] > b->i[j];
  default: return fl ? a->f[j] >= b->f[j] : a->i[j] >= b->i[j];
  }
}

static inline __attribute__((always_inline)) void cast(Lanes *r, const Lanes *x, DType from,
                                                       DType to, int n) {
  bool ff = from == KILN_F32, tf = to == KILN_F32;
  if (ff && (to == KILN_U8 || to == KILN_I8)) {
    /* scalar_sat_int without branches (the quantize at the end of every int8 epilogue):
     * NaN -> 0, clamp to the integer bounds, truncate; clamping before truncating is the
     * same as after, the bounds being integers. */
    float lo = to == KILN_U8 ? 0.0f : -128.0f, hi = to == KILN_U8 ? 255.0f : 127.0f;
    for (int j = 0; j < n; j++) {
      float t = x->f[j] == x->f[j] ? x->f[j] : 0.0f;
      t = t < lo ? lo : t > hi ? hi : t;
      r->i[j] = (int64_t)(int32_t)t;
    }
    return;
  }
  if (tf && from != KILN_F32 && from != KILN_I64) { /* 32 bits hold the value: cvtdq2ps */
    for (int j = 0; j < n; j++) r->f[j] = (float)(int32_t)x->i[j];
    return;
  }
  for (int j = 0; j < n; j++) {
    if (ff && tf) r->f[j] = x->f[j];
    else if (ff) r->i[j] = scalar_sat_int(x->f[j], to);
    else if (tf) r->f[j] = (float)x->i[j];
    else r->i[j] = to == KILN_BOOL ? x->i[j] != 0 : scalar_wrap_int(x->i[j], to);
  }
}

/* exp(x) in f32 without a libm call, so that loops over lanes vectorize (sigmoid and SiLU
 * in EfficientNet / MobileNetV3 epilogues): x = n*ln2 + r with |r| <= ln2/2 (ln2 split in
 * two for an exact product), e^r by its degree-6 Taylor polynomial (relative error about
 * 2e-8 on that range), times 2^n built in the exponent bits. Within 3 ulp of expf on
 * [-87.3, 88.72]; below it 0, above it inf, NaN stays NaN. */
static inline __attribute__((always_inline)) float exp_poly(float x) {
  float xc = x > 88.72283f ? 88.72283f : x < -87.3f ? -87.3f : x == x ? x : 0.0f; /* NaN: no int cast of NaN */
  const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer */
  float n = (xc * 1.44269504f + shifter) - shifter;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.0f / 720, q;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t ni = (int32_t)n, h = ni >> 1; /* 2^n as 2^h * 2^(n-h): n = 128 stays finite */
  int32_t b1 = (h + 127) << 23, b2 = (ni - h + 127) << 23;
  float q2;
  memcpy(&q, &b1, sizeof q);
  memcpy(&q2, &b2, sizeof q2);
  float y = p * q * q2;
  y = x > 88.72283f ? INFINITY : x < -87.3f ? 0.0f : y;
  return x != x ? x : y;
}

/* max and min that propagate NaN (a + b is NaN when either is), written so that loops
 * over them vectorize; the fused activation loops use the same ones. */
static inline __attribute__((always_inline)) float max_nan(float a, float b) {
  float m = a > b ? a : b;
  return a != a || b != b ? a + b : m;
}

static inline __attribute__((always_inline)) float min_nan(float a, float b) {
  float m = a < b ? a : b;
  return a != a || b != b ? a + b : m;
}

/* The common float ops as plain loops (vectorized); the rest element by element. */
static inline __attribute__((always_inline)) void float_binary(BodyOpKind k, float *restrict r,
                                                               const float *x, const float *y,
                         int n) {
  switch (k) {
  case BODY_ADD: for (int j = 0; j < n; j++) r[j] = x[j] + y[j]; return;
  case BODY_SUB: for (int j = 0; j < n; j++) r[j] = x[j] - y[j]; return;
  case BODY_MUL: for (int j = 0; j < n; j++) r[j] = x[j] * y[j]; return;
  case BODY_DIV: for (int j = 0; j < n; j++) r[j] = x[j] / y[j]; return;
  case BODY_MAX: for (int j = 0; j < n; j++) r[j] = max_nan(x[j], y[j]); return;
  case BODY_MIN: for (int j = 0; j < n; j++) r[j] = min_nan(x[j], y[j]); return;
  case BODY_EXP: for (int j = 0; j < n; j++) r[j] = exp_poly(x[j]); return;
  case BODY_NEG: for (int j = 0; j < n; j++) r[j] = -x[j]; return;
  case BODY_ABS: for (int j = 0; j < n; j++) r[j] = fabsf(x[j]); return;
  case BODY_SQRT: for (int j = 0; j < n; j++) r[j] = sqrtf(x[j]); return;
  case BODY_FLOOR: for (int j = 0; j < n; j++) r[j] = floorf(x[j]); return;
  case BODY_CEIL: for (int j = 0; j < n; j++) r[j] = ceilf(x[j]); return;
  case BODY_ROUND: /* half to even without a libm call: |x| < 2^23 rounds by adding 2^23 */
    for (int j = 0; j < n; j++) {
      float a = fabsf(x[j]), t = (a + 8388608.0f) - 8388608.0f;
      r[j] = a < 8388608.0f ? copysignf(t, x[j]) : x[j];
    }
    return;
  default: for (int j = 0; j < n; j++) r[j] = float_op(k, x[j], y ? y[j] : 0); return;
  }
}

/* Comparisons with the predicate and operand type hoisted out of the lane loop. */
#define CMP_LOOP(field, op) for (int j = 0; j < n; j++) r->i[j] = x->field[j] op y->field[j]
static inline __attribute__((always_inline)) void cmp_lanes(CmpPred p, Lanes *r, const Lanes *x,
                                                            const Lanes *y, bool fl, int n) {
  if (fl) {
    switch (p) {
    case CMP_EQ: CMP_LOOP(f, ==); return;
    case CMP_NE: CMP_LOOP(f, !=); return;
    case CMP_LT: CMP_LOOP(f, <); return;
    case CMP_LE: CMP_LOOP(f, <=); return;
    case CMP_GT: CMP_LOOP(f, >); return;
    default: CMP_LOOP(f, >=); return;
    }
  }
  for (int j = 0; j < n; j++) r->i[j] = compare(p, x, y, j, false);
}
#undef CMP_LOOP

/* Integer ops: the common ones with the op and the width hoisted out of the lane loop (the
 * same wrapping semantics as scalar_int_op + scalar_wrap_int), the rest through those. */
static inline __attribute__((always_inline)) void int_binary(BodyOpKind k, DType t, Lanes *r,
                                                             const Lanes *x, const Lanes *y,
                                                             int n) {
  if ((k == BODY_ADD || k == BODY_SUB || k == BODY_MUL) && (t == KILN_I32 || t == KILN_I64)) {
    for (int j = 0; j < n; j++) {
      uint64_t a = (uint64_t)x->i[j], c = (uint64_t)y->i[j];
      uint64_t v = k == BODY_ADD ? a + c : k == BODY_SUB ? a - c : a * c;
      r->i[j] = t == KILN_I32 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
    }
    return;
  }
  for (int j = 0; j < n; j++)
    r->i[j] = scalar_wrap_int(scalar_int_op(k, x->i[j], y ? y->i[j] : 0), t);
}

/* Evaluates body b over n lanes; arg[a] are the lanes of block argument a. Built for AVX2
 * and AVX-512 too (GCC function multiversioning, chosen when the library loads), so the
 * lane loops run 8 or 16 wide where the CPU allows; the f32 results are the same bits in
 * every version (no FMA contraction in ISO C mode). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static const Lanes *eval_body(const Body *b, const Lanes *const *arg, Lanes *vals,
                              const Lanes **v, int n) {
  for (int k = 0; k < b->n_insts; k++) {
    const BodyInst *in = &b->insts[k];
    Lanes *r = &vals[k];
    const Lanes *x = in->n_args > 0 ? v[in->args[0]] : NULL;
    const Lanes *y = in->n_args > 1 ? v[in->args[1]] : NULL;
    bool fl = in->dtype == KILN_F32;
    v[k] = r;
    switch (in->kind) {
    case BODY_ARG: v[k] = arg[in->imm_i]; break;
    case BODY_CONST:
      if (fl) {
        float c = (float)in->imm;
        for (int j = 0; j < n; j++) r->f[j] = c;
      } else {
        int64_t c = in->dtype == KILN_BOOL ? in->imm_i != 0 : scalar_wrap_int(in->imm_i, in->dtype);
        for (int j = 0; j < n; j++) r->i[j] = c;
      }
      break;
    case BODY_CMP:
      cmp_lanes(in->pred, r, x, y, b->insts[in->args[0]].dtype == KILN_F32, n);
      break;
    case BODY_SELECT: {
      const Lanes *z = v[in->args[2]];
      if (fl)
        for (int j = 0; j < n; j++) r->f[j] = x->i[j] ? y->f[j] : z->f[j];
      else
        for (int j = 0; j < n; j++) r->i[j] = x->i[j] ? y->i[j] : z->i[j];
      break;
    }
    case BODY_CAST: cast(r, x, b->insts[in->args[0]].dtype, in->dtype, n); break;
    default:
      if (fl) float_binary(in->kind, r->f, x->f, y ? y->f : NULL, n);
      else int_binary(in->kind, in->dtype, r, x, y, n);
    }
  }
  return v[b->yields[0]];
}

/* Loop point of linear index e in a stage (its loops are its result's dims, C order). */
static void unravel(const Stage *s, int64_t e, int64_t *idx) {
  for (int r = s->rank - 1; r >= 0; r--) {
    idx[r] = s->dims[r] ? e % s->dims[r] : 0;
    e = s->dims[r] ? e / s->dims[r] : 0;
  }
}

/* How a stage's buffer operands are read, per element index e of a run:
 *   LINEAR: each at e itself (C-order strides of the stage's dims, offset 0) or at one
 *     fixed element (all strides 0); runs may cross the innermost dim (a residual add
 *     over 24 channels, a run at a time);
 *   PERIODIC: also a vector along the innermost dim only (a per-channel bias or scale,
 *     read at base + e % inner): runs may cross rows too, the vector read in segments;
 *   ROWS: anything else; runs end at the innermost dim and operands use their strides. */
enum { STAGE_ROWS, STAGE_LINEAR, STAGE_PERIODIC };

static bool is_inner_vector(const Stage *st, const StageOperand *so) {
  if (st->rank < 1 || so->stride[st->rank - 1] != 1) return false;
  for (int l = 0; l + 1 < st->rank; l++)
    if (so->stride[l] != 0 && st->dims[l] != 1) return false;
  return true;
}

/* Whether operand so is read at the stage's element index (C-order strides, offset 0). */
static bool reads_element_index(const Stage *st, const StageOperand *so) {
  if (so->value >= 0 || so->base != 0) return false;
  int64_t stride = 1;
  for (int l = st->rank - 1; l >= 0; l--) {
    if (so->stride[l] != stride && st->dims[l] != 1) return false;
    stride *= st->dims[l];
  }
  return true;
}

/* Whether operand so reads one fixed element (every stride 0 where the dim is not 1). */
static bool reads_fixed_element(const Stage *st, const StageOperand *so) {
  for (int l = 0; l < st->rank; l++)
    if (so->stride[l] != 0 && st->dims[l] != 1) return false;
  return true;
}

static int stage_kind(const Stage *st) {
  int kind = STAGE_LINEAR;
  for (int i = 0; i < st->n_in; i++) {
    const StageOperand *so = &st->in[i];
    if (so->value >= 0 || reads_element_index(st, so) || reads_fixed_element(st, so)) continue;
    if (!is_inner_vector(st, so)) return STAGE_ROWS;
    kind = STAGE_PERIODIC;
  }
  return kind;
}

static int run_length(const Kernel *k, const int *kind, int64_t e, int64_t end) {
  int64_t n = end - e < RUN ? end - e : RUN;
  for (int s = 0; s < k->n_stages; s++) {
    const Stage *st = &k->stages[s];
    if (st->rank == 0 || kind[s] != STAGE_ROWS) continue;
    int64_t inner = st->dims[st->rank - 1], left = inner - e % inner;
    if (left < n) n = left;
  }
  return (int)n;
}

/* Operand so of a LINEAR or PERIODIC stage over lanes e .. e + n - 1. */
static void load_flat(Lanes *dst, const Stage *st, const StageOperand *so, const uint8_t *buf,
                      int64_t e, int n) {
  if (reads_fixed_element(st, so)) {
    load(dst, 0, buf, so->dtype, so->base, 0, n);
  } else if (!is_inner_vector(st, so) || st->rank == 1) {
    load(dst, 0, buf, so->dtype, so->base + e, 1, n);
  } else { /* base + e % inner, in segments up to the end of each row */
    int64_t inner = st->dims[st->rank - 1], pos = e % inner;
    for (int j = 0; j < n;) {
      int m = (int)(inner - pos < n - j ? inner - pos : n - j);
      load(dst, j, buf, so->dtype, so->base + pos, 1, m);
      j += m, pos = 0;
    }
  }
}

static bool is_8bit(DType t) { return t == KILN_U8 || t == KILN_I8; }

/* Lane value of byte b as an operand of dtype t (what load() makes of it). */
static int64_t byte_value(uint8_t b, DType t) { return t == KILN_I8 ? (int8_t)b : b; }

/* Tables of two operands cost 65536 evaluations to build: worth it from this many
 * elements on (about what one evaluated run over the stage costs). */
enum { LUT2_MIN_ELEMS = 4096 };

static const uint8_t *tabulate(const Stage *s, Arena *mem) {
  int64_t numel = 1;
  for (int l = 0; l < s->rank; l++) numel *= s->dims[l];
  bool f32 = s->dtype == KILN_F32 && s->n_in == 1; /* a dequantize: 256 floats */
  if (s->n_in < 1 || s->n_in > 2 || (!is_8bit(s->dtype) && !f32) ||
      (s->n_in == 2 && numel < LUT2_MIN_ELEMS))
    return NULL;
  for (int i = 0; i < s->n_in; i++)
    if (!is_8bit(s->in[i].dtype)) return NULL;
  int size = s->n_in == 1 ? 256 : 65536;
  uint8_t *lut = arena_alloc(mem, (size_t)size * (f32 ? sizeof(float) : 1));
  if (!lut) return NULL;
  static const Lanes zeros;
  Lanes ops[2], vals[s->op->attrs.body.n_insts > 0 ? s->op->attrs.body.n_insts : 1];
  const Lanes *v[MAX_INSTS], *arg[3] = {&ops[0], &ops[1], &zeros};
  arg[s->n_in] = &zeros; /* the output block argument reads 0, as in epilogue_run */
  for (int t = 0; t < size; t += RUN) {
    for (int j = 0; j < RUN; j++) { /* index = operand 0's byte | operand 1's byte << 8 */
      ops[0].i[j] = byte_value((uint8_t)(t + j), s->in[0].dtype);
      if (s->n_in == 2) ops[1].i[j] = byte_value((uint8_t)((t + j) >> 8), s->in[1].dtype);
    }
    const Lanes *r = eval_body(&s->op->attrs.body, arg, vals, v, RUN);
    if (f32) memcpy((float *)(void *)lut + t, r->f, sizeof(float) * RUN);
    else for (int j = 0; j < RUN; j++) lut[t + j] = (uint8_t)r->i[j];
  }
  return lut;
}

/* The f32 value of body instruction i when it is a constant, or an integer constant
 * converted to f32 (a zero point), as eval_body computes it. */
static bool const_f32(const Body *b, int i, float *c) {
  const BodyInst *in = &b->insts[i];
  if (in->kind == BODY_CAST && in->dtype == KILN_F32) {
    const BodyInst *x = &b->insts[in->args[0]];
    if (x->kind != BODY_CONST || x->dtype == KILN_F32 || x->dtype == KILN_I64 || x->dtype == KILN_BOOL)
      return false;
    *c = (float)(int32_t)scalar_wrap_int(x->imm_i, x->dtype);
    return true;
  }
  if (in->kind != BODY_CONST || in->dtype != KILN_F32) return false;
  *c = (float)in->imm;
  return true;
}

/* Operand index of the non-constant argument of binary instruction `in` whose other
 * argument is a constant (value in *c), or -1. */
static int with_const(const Body *b, const BodyInst *in, float *c) {
  if (const_f32(b, in->args[1], c)) return in->args[0];
  if (in->kind != BODY_DIV && const_f32(b, in->args[0], c)) return in->args[1];
  return -1;
}

/* Whether s computes cast<8-bit>(clamp(roundeven(arg0 / scale) + zp, lo, hi)) of one f32
 * operand (ONNX QuantizeLinear as the importer writes it; min and max in either order). */
static bool match_quantize(Stage *s) {
  const Body *b = &s->op->attrs.body;
  if (s->n_in != 1 || s->in[0].dtype != KILN_F32 || !is_8bit(s->dtype) || b->n_yield != 1)
    return false;
  const BodyInst *in = &b->insts[b->yields[0]];
  if (in->kind != BODY_CAST || in->dtype != s->dtype) return false;
  float lo = -INFINITY, hi = INFINITY, c;
  int i = in->args[0], n_min = 0, n_max = 0;
  for (in = &b->insts[i]; (in->kind == BODY_MIN || in->kind == BODY_MAX) && in->dtype == KILN_F32;
       in = &b->insts[i]) {
    if ((i = with_const(b, in, &c)) < 0) return false;
    if (in->kind == BODY_MIN) hi = c, n_min++;
    else lo = c, n_max++;
  }
  if (n_min > 1 || n_max > 1 || !(lo <= hi) || in->kind != BODY_ADD || in->dtype != KILN_F32 ||
      (i = with_const(b, in, &s->q_zp)) < 0)
    return false;
  in = &b->insts[i];
  if (in->kind != BODY_ROUND) return false;
  in = &b->insts[in->args[0]];
  if (in->kind != BODY_DIV || with_const(b, in, &s->q_scale) < 0) return false;
  in = &b->insts[in->args[0]];
  s->q_lo = lo, s->q_hi = hi;
  return in->kind == BODY_ARG && in->imm_i == 0 && s->q_scale == s->q_scale &&
         s->q_zp == s->q_zp;
}

/* ---- activations: one fused loop for the common f32 activation bodies ---- */

/* Whether instruction i is the activation's input t: argument 0, or argument 0 plus
 * argument 1 (then *bias). */
static bool act_input(const Body *b, int i, bool *bias) {
  const BodyInst *in = &b->insts[i];
  if (in->kind == BODY_ARG && in->imm_i == 0 && in->dtype == KILN_F32) return !(*bias = false);
  if (in->kind != BODY_ADD || in->dtype != KILN_F32) return false;
  const BodyInst *x = &b->insts[in->args[0]], *y = &b->insts[in->args[1]];
  *bias = true;
  return x->kind == BODY_ARG && y->kind == BODY_ARG && x->imm_i + y->imm_i == 1 &&
         x->imm_i * y->imm_i == 0;
}

static bool is_f32(const BodyInst *in, BodyOpKind k) { return in->kind == k && in->dtype == KILN_F32; }

/* 1 / (1 + exp(-t)) at instruction i; *t: the index of t. */
static bool match_sigmoid(const Body *b, int i, int *t) {
  const BodyInst *in = &b->insts[i];
  float c;
  if (!is_f32(in, BODY_DIV) || !const_f32(b, in->args[0], &c) || c != 1.0f) return false;
  in = &b->insts[in->args[1]];
  int e = is_f32(in, BODY_ADD) ? with_const(b, in, &c) : -1;
  if (e < 0 || c != 1.0f || !is_f32(&b->insts[e], BODY_EXP)) return false;
  in = &b->insts[b->insts[e].args[0]];
  if (!is_f32(in, BODY_NEG)) return false;
  *t = in->args[0];
  return true;
}

/* clamp2(clamp1(t * mul + add)) at instruction i (one or two clamps). */
static bool match_hardsig(const Body *b, int i, int *t, StageActivation *a) {
  float c;
  int n = 0;
  const BodyInst *in = &b->insts[i];
  while ((is_f32(in, BODY_MIN) || is_f32(in, BODY_MAX)) && n < 2) {
    int x = with_const(b, in, &c);
    if (x < 0) return false;
    a->clamp[n] = c, a->clamp_is_min[n++] = in->kind == BODY_MIN;
    in = &b->insts[x];
  }
  if (!n || !is_f32(in, BODY_ADD)) return false;
  int m = with_const(b, in, &a->add);
  if (m < 0 || !is_f32(&b->insts[m], BODY_MUL)) return false;
  *t = with_const(b, &b->insts[m], &a->mul);
  a->n_clamps = n; /* innermost first */
  if (n == 2) {
    float c0 = a->clamp[0];
    bool m0 = a->clamp_is_min[0];
    a->clamp[0] = a->clamp[1], a->clamp_is_min[0] = a->clamp_is_min[1];
    a->clamp[1] = c0, a->clamp_is_min[1] = m0;
  }
  return *t >= 0;
}

/* Whether instructions i and j are the same value (an argument may be read by several
 * argument instructions). */
static bool same_value(const Body *b, int i, int j) {
  return i == j || (b->insts[i].kind == BODY_ARG && b->insts[j].kind == BODY_ARG &&
                    b->insts[i].imm_i == b->insts[j].imm_i);
}

/* The activation stage s computes, if any (s->act.kind stays ACT_NONE otherwise). */
static void match_activation(Stage *s) {
  const Body *b = &s->op->attrs.body;
  StageActivation a = {0};
  int y = b->yields[0], t = -1, t2 = -1;
  if (s->dtype != KILN_F32 || s->n_in < 1 || s->n_in > 2 || b->n_yield != 1) return;
  if (match_sigmoid(b, y, &t)) {
    a.kind = ACT_SIGMOID;
  } else if (match_hardsig(b, y, &t, &a)) {
    a.kind = ACT_HARDSIG;
  } else if (is_f32(&b->insts[y], BODY_MUL)) {
    const BodyInst *in = &b->insts[y];
    for (int k = 0; k < 2 && !a.kind; k++) {
      int x = in->args[k], f = in->args[1 - k];
      if (match_sigmoid(b, f, &t2) && same_value(b, t2, x)) a.kind = ACT_SILU, t = x;
      else if (match_hardsig(b, f, &t2, &a) && same_value(b, t2, x)) a.kind = ACT_HARDSWISH, t = x;
    }
  }
  if (!a.kind || !act_input(b, t, &a.bias) || s->n_in != 1 + a.bias) return;
  for (int i = 0; i < s->n_in; i++)
    if (s->in[i].dtype != KILN_F32) return;
  s->act = a;
}

void epilogue_prepare(Stage *s, Arena *mem) {
  s->lut = tabulate(s, mem);
  s->quantize = !s->lut && match_quantize(s);
  if (!s->lut && !s->quantize) match_activation(s);
}


/* The whole kernel is one tabulated stage reading its buffers at the element index and
 * storing its result: a byte loop. */
static bool run_lut_only(const Kernel *k, uint8_t *const *bufs, int64_t begin, int64_t end) {
  const Stage *st = &k->stages[0];
  if (k->n_stages != 1 || !st->lut || st->out_buf < 0) return false;
  for (int i = 0; i < st->n_in; i++)
    if (!reads_element_index(st, &st->in[i])) return false;
  const uint8_t *a = bufs[st->in[0].buf], *lut = st->lut;
  uint8_t *out = bufs[st->out_buf];
  if (st->dtype == KILN_F32) {
    const float *lf = (const float *)(const void *)lut;
    for (int64_t e = begin; e < end; e++) ((float *)(void *)out)[e] = lf[a[e]];
  } else if (st->n_in == 1) {
    for (int64_t e = begin; e < end; e++) out[e] = lut[a[e]];
  } else {
    const uint8_t *b = bufs[st->in[1].buf];
    for (int64_t e = begin; e < end; e++) out[e] = lut[a[e] | (unsigned)b[e] << 8];
  }
  return true;
}

/* QuantizeLinear of n floats: eval_body's operations in its order (BODY_DIV, BODY_ROUND,
 * BODY_ADD, BODY_MAX, BODY_MIN, the 8-bit cast), so the same bits. Its NaN-propagating
 * max/min and the cast's NaN -> 0 are one select at the end (the constants are not NaN:
 * match_quantize). Written so that GCC vectorizes it: no branch, the cast's bounds as
 * arguments, the AVX-512 clone with BW (vpmovdb stores). */
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
static void quantize_f32(const float *restrict x, uint8_t *restrict out, int64_t n,
                         const Stage *st, float tlo, float thi) {
  const float s = st->q_scale, zp = st->q_zp, lo = st->q_lo, hi = st->q_hi;
  for (int64_t e = 0; e < n; e++) {
    float q = x[e] / s, a = fabsf(q), t = (a + 8388608.0f) - 8388608.0f;
    q = (a < 8388608.0f ? copysignf(t, q) : q) + zp;
    float c = q > lo ? q : lo;
    c = c < hi ? c : hi;
    c = c < tlo ? tlo : c > thi ? thi : c;
    c = q == q ? c : 0.0f;
    out[e] = (uint8_t)(int32_t)c;
  }
}

/* The whole kernel is one QuantizeLinear stage reading its f32 buffer at the element
 * index: a plain loop. */
static bool run_quantize_only(const Kernel *k, uint8_t *const *bufs, int64_t begin, int64_t end) {
  const Stage *st = &k->stages[0];
  if (k->n_stages != 1 || !st->quantize || st->out_buf < 0 || !reads_element_index(st, &st->in[0]))
    return false;
  bool u8 = st->dtype == KILN_U8; /* the cast's range (an argument: GCC then vectorizes) */
  quantize_f32((const float *)bufs[st->in[0].buf] + begin, bufs[st->out_buf] + begin, end - begin,
               st, u8 ? 0.0f : -128.0f, u8 ? 255.0f : 127.0f);
  return true;
}

/* min or max as eval_body computes them. */
static inline __attribute__((always_inline)) float act_clamp(float a, float c, bool is_min) {
  return is_min ? min_nan(a, c) : max_nan(a, c);
}

static inline __attribute__((always_inline)) float act_sigmoid(float t) {
  return 1.0f / (1.0f + exp_poly(-t));
}

/* t * mul + add and its clamps (two roundings: the body's mul, then its add). */
static inline __attribute__((always_inline)) float act_hardsig(float t, float mul, float add,
                                                               float c0, bool min0, float c1,
                                                               bool min1, int n_clamps) {
  float h = act_clamp(t * mul + add, c0, min0);
  return n_clamps > 1 ? act_clamp(h, c1, min1) : h;
}

/* One loop per activation, its parameters in locals: each vectorizes. X(j): t at lane j. */
#define ACT_LOOPS(X)                                                                       \
  switch (a->kind) {                                                                       \
  case ACT_SIGMOID: for (int64_t j = 0; j < n; j++) y[j] = act_sigmoid(X(j)); break;       \
  case ACT_SILU:                                                                           \
    for (int64_t j = 0; j < n; j++) { float t = X(j); y[j] = t * act_sigmoid(t); }         \
    break;                                                                                 \
  case ACT_HARDSIG:                                                                        \
    for (int64_t j = 0; j < n; j++) y[j] = act_hardsig(X(j), mul, add, c0, m0, c1, m1, nc); \
    break;                                                                                 \
  case ACT_HARDSWISH:                                                                      \
    for (int64_t j = 0; j < n; j++) {                                                      \
      float t = X(j);                                                                      \
      y[j] = t * act_hardsig(t, mul, add, c0, m0, c1, m1, nc);                             \
    }                                                                                      \
    break;                                                                                 \
  default: break;                                                                          \
  }

/* y[j] = act(x[j] (+ bias[j])) for one row segment. */
static inline __attribute__((always_inline)) void act_rows(const StageActivation *a,
                                                           const float *x, const float *bias,
                                                           float *y, int64_t n) {
  const float mul = a->mul, add = a->add, c0 = a->clamp[0], c1 = a->clamp[1];
  const bool m0 = a->clamp_is_min[0], m1 = a->clamp_is_min[1];
  const int nc = a->n_clamps;
#define WITH_BIAS(j) (x[j] + bias[j])
#define PLAIN(j) (x[j])
  if (bias) {
    ACT_LOOPS(WITH_BIAS)
  } else {
    ACT_LOOPS(PLAIN)
  }
#undef WITH_BIAS
#undef PLAIN
}

/* Out of place and in place (x == y): restrict pointers, so that GCC vectorizes without
 * versioning the loops for aliasing (whose check fails, to the scalar loop, in place). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void act_segment(const StageActivation *a, const float *restrict x,
                        const float *restrict bias, float *restrict y, int64_t n) {
  act_rows(a, x, bias, y, n);
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void act_segment_in_place(const StageActivation *a, const float *restrict bias,
                                 float *restrict y, int64_t n) {
  act_rows(a, y, bias, y, n);
}
#undef ACT_LOOPS

/* The whole kernel is one activation stage reading operand 0 at the element index (and
 * operand 1 as a vector along the innermost dim): row segments of one fused loop. */
static bool run_activation_only(const Kernel *k, uint8_t *const *bufs, int64_t begin,
                                int64_t end) {
  const Stage *st = &k->stages[0];
  if (k->n_stages != 1 || !st->act.kind || st->out_buf < 0 || !reads_element_index(st, &st->in[0]) ||
      (st->act.bias && !is_inner_vector(st, &st->in[1])) || st->rank < 1)
    return false;
  const float *x = (const float *)bufs[st->in[0].buf];
  const float *bias = st->act.bias ? (const float *)bufs[st->in[1].buf] + st->in[1].base : NULL;
  float *y = (float *)bufs[st->out_buf];
  int64_t inner = st->dims[st->rank - 1];
  for (int64_t e = begin; e < end;) {
    int64_t pos = e % inner, n = inner - pos < end - e ? inner - pos : end - e;
    if (x == y) act_segment_in_place(&st->act, bias ? bias + pos : NULL, y + e, n);
    else act_segment(&st->act, x + e, bias ? bias + pos : NULL, y + e, n);
    e += n;
  }
  return true;
}

/* A tabulated stage's result lanes from its operands' lanes. */
static const Lanes *lut_lanes(const Stage *st, const Lanes *const *arg, Lanes *r, int n) {
  for (int j = 0; j < n; j++) {
    unsigned idx = (uint8_t)arg[0]->i[j];
    if (st->n_in == 2) idx |= (unsigned)(uint8_t)arg[1]->i[j] << 8;
    if (st->dtype == KILN_F32) r->f[j] = ((const float *)(const void *)st->lut)[idx];
    else r->i[j] = byte_value(st->lut[idx], st->dtype);
  }
  return r;
}

void epilogue_run(const Kernel *k, uint8_t *const *bufs, int64_t begin, int64_t end) {
  if (run_lut_only(k, bufs, begin, end) || run_quantize_only(k, bufs, begin, end) ||
      run_activation_only(k, bufs, begin, end))
    return;
  static const Lanes zeros;
  /* Lane storage sized by this kernel's bodies (a run is RUN lanes of 8 bytes: the
   * worst-case arrays would take ~450 KB of stack, a typical kernel's take tens of KB). */
  int max_insts = 1, max_in = 1;
  for (int s = 0; s < k->n_stages; s++) {
    int ni = k->stages[s].op->attrs.body.n_insts, nin = k->stages[s].n_in;
    max_insts = ni > max_insts ? ni : max_insts;
    max_in = nin > max_in ? nin : max_in;
  }
  Lanes vals[max_insts];
  Lanes operands[max_in];
  Lanes stage_lanes[k->n_stages > 0 ? k->n_stages : 1];
  const Lanes *v[MAX_INSTS];
  const Lanes *stage_out[MAX_STAGES];
  const Lanes *arg[KILN_MAX_OPERANDS + 2];
  int kind[MAX_STAGES];
  for (int s = 0; s < k->n_stages; s++) kind[s] = stage_kind(&k->stages[s]);
  for (int64_t e = begin; e < end;) {
    int n = run_length(k, kind, e, end);
    for (int s = 0; s < k->n_stages; s++) {
      const Stage *st = &k->stages[s];
      int64_t idx[KILN_MAX_RANK];
      if (kind[s] == STAGE_ROWS) unravel(st, e, idx);
      int last = st->rank - 1;
      for (int i = 0; i < st->n_in; i++) {
        const StageOperand *so = &st->in[i];
        if (so->value >= 0) {
          arg[i] = stage_out[so->value];
          continue;
        }
        arg[i] = &operands[i];
        if (kind[s] != STAGE_ROWS) {
          load_flat(&operands[i], st, so, bufs[so->buf], e, n);
          continue;
        }
        int64_t off = so->base, step = last >= 0 ? so->stride[last] : 0;
        for (int l = 0; l < st->rank; l++) off += idx[l] * so->stride[l];
        load(&operands[i], 0, bufs[so->buf], so->dtype, off, step, n);
      }
      arg[st->n_in] = &zeros; /* the output block argument of a parallel generic reads 0 */
      const Lanes *r = st->lut ? lut_lanes(st, arg, &vals[0], n)
                               : eval_body(&st->op->attrs.body, arg, vals, v, n);
      if (s + 1 < k->n_stages) { /* later stages may read it; vals is reused */
        memcpy(&stage_lanes[s], r, sizeof *r);
        r = &stage_lanes[s];
      }
      stage_out[s] = r;
      if (st->out_buf >= 0) store(bufs[st->out_buf], st->dtype, e, r, n);
    }
    e += n;
  }
}
