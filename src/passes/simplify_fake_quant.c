/* simplify_fake_quant.c — the fake-quant chain of a generic's body stays in float.
 *
 * A QDQ pair leaves, inside one fused body, q = cast<i8|u8>(clamp(round(x / s) + zp, lo, hi))
 * followed by cast<f32>(q): a float -> int -> float round trip on a value that is already
 * an integer within the int type's range. The round trip is the identity there, except on
 * NaN (the cast saturates NaN to 0) and -0 (it comes back +0), so it becomes
 * select(v != v, 0, v + 0): float instructions that vectorize, instead of two conversions
 * through 64-bit integer lanes.
 * Casts of constants fold to constants. The pass proves "integral and within [lo, hi]"
 * with a small forward analysis over the body:
 *   integral: constants with integral values, round/floor/ceil, int -> float casts, and
 *     +, -, max, min of integral values (a sum of two integral floats rounds to an
 *     integral float: every float of magnitude >= 2^23 is an integer);
 *   bounds: constants, max/min with a bound, sums and differences of bounded values, int
 *     -> float casts (the int type's range); round/floor/ceil keep their operand's bounds
 *     widened to the nearest integers.
 * Numerics are unchanged bit for bit (--verify-each checks it). Unused instructions are
 * dropped afterwards. */
#include <math.h>
#include <string.h>

#include "passes.h"

typedef struct Fact {
  bool integral;
  double lo, hi;
} Fact;

static void int_range(DType t, double *lo, double *hi) {
  switch (t) {
  case KILN_I8: *lo = -128, *hi = 127; return;
  case KILN_U8: *lo = 0, *hi = 255; return;
  case KILN_BOOL: *lo = 0, *hi = 1; return;
  case KILN_I32: *lo = -2147483648.0, *hi = 2147483647.0; return;
  default: *lo = -INFINITY, *hi = INFINITY; return;
  }
}

static Fact fact_of(const Body *b, const Fact *f, int k) {
  const BodyInst *in = &b->insts[k];
  Fact r = {false, -INFINITY, INFINITY};
  const Fact *x = in->n_args > 0 ? &f[in->args[0]] : NULL, *y = in->n_args > 1 ? &f[in->args[1]] : NULL;
  if (in->dtype != KILN_F32) return r; /* facts are about float values only */
  switch (in->kind) {
  case BODY_CONST:
    r.integral = in->imm == floor(in->imm);
    r.lo = r.hi = in->imm;
    return r;
  case BODY_ROUND: case BODY_FLOOR: case BODY_CEIL:
    return (Fact){true, floor(x->lo), ceil(x->hi)};
  case BODY_CAST:
    if (dtype_is_float(b->insts[in->args[0]].dtype)) return r;
    r.integral = true;
    int_range(b->insts[in->args[0]].dtype, &r.lo, &r.hi);
    return r;
  case BODY_ADD: return (Fact){x->integral && y->integral, x->lo + y->lo, x->hi + y->hi};
  case BODY_SUB: return (Fact){x->integral && y->integral, x->lo - y->hi, x->hi - y->lo};
  case BODY_MAX: return (Fact){x->integral && y->integral, fmax(x->lo, y->lo), fmax(x->hi, y->hi)};
  case BODY_MIN: return (Fact){x->integral && y->integral, fmin(x->lo, y->lo), fmin(x->hi, y->hi)};
  default: return r;
  }
}

/* Whether inst k is cast<f32>(cast<T>(v)) with v a float proven integral within T. */
static int round_trip_source(const Body *b, const Fact *f, int k) {
  const BodyInst *outer = &b->insts[k];
  if (outer->kind != BODY_CAST || outer->dtype != KILN_F32) return -1;
  const BodyInst *inner = &b->insts[outer->args[0]];
  if (inner->kind != BODY_CAST || dtype_is_float(inner->dtype) || inner->dtype == KILN_I64 ||
      inner->dtype == KILN_BOOL)
    return -1;
  int v = inner->args[0];
  double lo, hi;
  int_range(inner->dtype, &lo, &hi);
  if (b->insts[v].dtype != KILN_F32 || !f[v].integral || f[v].lo < lo || f[v].hi > hi) return -1;
  return v;
}

/* Builds the rewritten body into out (capacity 4 * n): returns its instruction count. */
static int rewrite(const Body *b, BodyInst *out, int *remap) {
  Fact *f = calloc((size_t)b->n_insts + 1, sizeof *f);
  int n = 0;
  KILN_ASSERT(f);
  for (int k = 0; k < b->n_insts; k++) {
    const BodyInst *in = &b->insts[k];
    f[k] = fact_of(b, f, k);
    int v = round_trip_source(b, f, k);
    if (v >= 0) { /* select(v != v, 0, v + 0): NaN -> 0 and -0 -> +0, as the casts do */
      out[n] = (BodyInst){.kind = BODY_CONST, .dtype = KILN_F32, .imm = 0.0};
      out[n + 1] = (BodyInst){.kind = BODY_ADD, .dtype = KILN_F32, .n_args = 2,
                              .args = {remap[v], n}};
      out[n + 2] = (BodyInst){.kind = BODY_CMP, .dtype = KILN_BOOL, .n_args = 2,
                              .args = {remap[v], remap[v]}, .pred = CMP_NE};
      out[n + 3] = (BodyInst){.kind = BODY_SELECT, .dtype = KILN_F32, .n_args = 3,
                              .args = {n + 2, n, n + 1}};
      remap[k] = n + 3;
      n += 4;
      continue;
    }
    out[n] = *in;
    for (int a = 0; a < in->n_args; a++) out[n].args[a] = remap[in->args[a]];
    const BodyInst *src = in->kind == BODY_CAST ? &b->insts[in->args[0]] : NULL;
    double lo, hi;
    if (src && src->kind == BODY_CONST && in->dtype == KILN_F32 && !dtype_is_float(src->dtype)) {
      int_range(src->dtype, &lo, &hi); /* cast<f32>(integer constant) in its type's range */
      if ((double)src->imm_i >= lo && (double)src->imm_i <= hi)
        out[n] = (BodyInst){.kind = BODY_CONST, .dtype = KILN_F32, .imm = (double)(float)src->imm_i};
    }
    remap[k] = n++;
  }
  free(f);
  return n;
}

/* Drops instructions nothing yielded depends on; compacts in place. */
static int drop_unused(BodyInst *insts, int n, int *yields, int n_yield) {
  bool *live = calloc((size_t)n + 1, sizeof *live);
  int *to = malloc(sizeof(int) * (size_t)(n + 1)), m = 0;
  KILN_ASSERT(live && to);
  for (int y = 0; y < n_yield; y++) live[yields[y]] = true;
  for (int k = n - 1; k >= 0; k--)
    for (int a = 0; live[k] && a < insts[k].n_args; a++) live[insts[k].args[a]] = true;
  for (int k = 0; k < n; k++) {
    if (!live[k]) continue;
    insts[m] = insts[k];
    for (int a = 0; a < insts[m].n_args; a++) insts[m].args[a] = to[insts[m].args[a]];
    to[k] = m++;
  }
  for (int y = 0; y < n_yield; y++) yields[y] = to[yields[y]];
  free(live);
  free(to);
  return m;
}

static bool has_round_trip(const Body *b) {
  for (int k = 0; k < b->n_insts; k++)
    if (b->insts[k].kind == BODY_CAST && b->insts[k].dtype == KILN_F32 &&
        b->insts[b->insts[k].args[0]].kind == BODY_CAST)
      return true;
  return false;
}

static void simplify_body(Module *m, Body *b) {
  BodyInst *tmp = malloc(sizeof *tmp * (size_t)(4 * b->n_insts + 1));
  int *remap = malloc(sizeof(int) * (size_t)(b->n_insts + 1));
  int *yields = malloc(sizeof(int) * (size_t)(b->n_yield + 1));
  KILN_ASSERT(tmp && remap && yields);
  int n = rewrite(b, tmp, remap);
  for (int y = 0; y < b->n_yield; y++) yields[y] = remap[b->yields[y]];
  n = drop_unused(tmp, n, yields, b->n_yield);
  Body nb = body_new(m, n, b->n_yield);
  memcpy(nb.insts, tmp, sizeof *tmp * (size_t)n);
  memcpy(nb.yields, yields, sizeof(int) * (size_t)b->n_yield);
  *b = nb;
  free(tmp);
  free(remap);
  free(yields);
}

KilnStatus pass_simplify_fake_quant(Func *f, PassContext *ctx) {
  (void)ctx;
  for (Op *op = f->first; op; op = op->next)
    if (op->kind == KILN_OP_GENERIC && has_round_trip(&op->attrs.body))
      simplify_body(f->module, &op->attrs.body);
  return KILN_OK;
}
