/* interp_body.c — scalar semantics of a generic's body (body.def) and element conversion.
 *
 * Floats are computed in double and every instruction's result is rounded to its own
 * dtype (f32 -> float, f16/bf16 through types.c), so chains of f32 instructions match f32
 * evaluation. Integers live in int64 and are wrapped to their dtype's width after every
 * instruction (two's complement, done on uint64 so nothing overflows); bool is 0/1.
 * CAST: float -> int truncates toward zero and saturates (NaN -> 0); int -> int wraps;
 * anything -> bool is "nonzero"; int -> float rounds. DIV by zero gives 0 and
 * INT64_MIN / -1 gives INT64_MIN. MAX/MIN on floats propagate NaN. ROUND is half-to-even.
 * Assumes the body was checked (arg indices, per-dtype op validity) by exec_generic. */
#include "interp_impl.h"

static double round_to(double x, DType t) {
  switch (t) {
  case KILN_F32: return (double)(float)x;
  case KILN_F16: return f16_to_f32(f32_to_f16((float)x));
  case KILN_BF16: return bf16_to_f32(f32_to_bf16((float)x));
  default: return x;
  }
}



Scalar scalar_cast(Scalar v, DType from, DType to) {
  Scalar r;
  if (dtype_is_float(from)) {
    if (dtype_is_float(to)) r.f = round_to(v.f, to);
    else r.i = scalar_sat_int(v.f, to);
  } else {
    if (dtype_is_float(to)) r.f = round_to((double)v.i, to);
    else if (to == KILN_BOOL) r.i = v.i != 0;
    else r.i = scalar_wrap_int(v.i, to);
  }
  return r;
}

Scalar scalar_from_double(double x, DType t) {
  Scalar r;
  if (dtype_is_float(t)) r.f = round_to(x, t);
  else r.i = scalar_sat_int(x, t);
  return r;
}

Scalar scalar_load(const void *p, DType t, int64_t i) {
  Scalar r;
  if (dtype_is_float(t)) r.f = elem_get_f(p, t, i);
  else r.i = elem_get_i(p, t, i);
  return r;
}

void scalar_store(void *p, DType t, int64_t i, Scalar v) {
  switch (t) {
  case KILN_F32: ((float *)p)[i] = (float)v.f; break;
  case KILN_F16: ((uint16_t *)p)[i] = f32_to_f16((float)v.f); break;
  case KILN_BF16: ((uint16_t *)p)[i] = f32_to_bf16((float)v.f); break;
  case KILN_I8: ((int8_t *)p)[i] = (int8_t)scalar_wrap_int(v.i, KILN_I8); break;
  case KILN_U8: ((uint8_t *)p)[i] = (uint8_t)(v.i & 0xff); break;
  case KILN_BOOL: ((uint8_t *)p)[i] = v.i != 0; break;
  case KILN_I32: ((int32_t *)p)[i] = (int32_t)scalar_wrap_int(v.i, KILN_I32); break;
  case KILN_I64: ((int64_t *)p)[i] = v.i; break;
  default: kiln_unreachable();
  }
}

void elem_set_f(void *p, DType t, int64_t i, double x) {
  scalar_store(p, t, i, scalar_from_double(x, t));
}

static double float_op(BodyOpKind k, double x, double y) {
  switch (k) {
  case BODY_ADD: return x + y;
  case BODY_SUB: return x - y;
  case BODY_MUL: return x * y;
  case BODY_DIV: return x / y;
  case BODY_MAX: return isnan(x) || isnan(y) ? NAN : fmax(x, y);
  case BODY_MIN: return isnan(x) || isnan(y) ? NAN : fmin(x, y);
  case BODY_POW: return pow(x, y);
  case BODY_NEG: return -x;
  case BODY_ABS: return fabs(x);
  case BODY_EXP: return exp(x);
  case BODY_LOG: return log(x);
  case BODY_TANH: return tanh(x);
  case BODY_ERF: return erf(x);
  case BODY_SQRT: return sqrt(x);
  case BODY_FLOOR: return floor(x);
  case BODY_CEIL: return ceil(x);
  case BODY_ROUND: return nearbyint(x);
  default: kiln_unreachable();
  }
}


static int64_t compare(CmpPred p, Scalar a, Scalar b, bool fl) {
  if (fl) {
    switch (p) {
    case CMP_EQ: return a.f == b.f;
    case CMP_NE: return a.f != b.f;
    case CMP_LT: return a.f < b.f;
    case CMP_LE: return a.f <= b.f;
    case CMP_GT: return a.f > b.f;
    case CMP_GE: return a.f >= b.f;
    }
  } else {
    switch (p) {
    case CMP_EQ: return a.i == b.i;
    case CMP_NE: return a.i != b.i;
    case CMP_LT: return a.i < b.i;
    case CMP_LE: return a.i <= b.i;
    case CMP_GT: return a.i > b.i;
    case CMP_GE: return a.i >= b.i;
    }
  }
  kiln_unreachable();
}

void body_eval(const Body *b, const Scalar *args, Scalar *vals) {
  for (int k = 0; k < b->n_insts; k++) {
    const BodyInst *in = &b->insts[k];
    bool fl = dtype_is_float(in->dtype);
    Scalar x = {0}, y = {0}, r;
    if (in->n_args > 0) x = vals[in->args[0]];
    if (in->n_args > 1) y = vals[in->args[1]];
    switch (in->kind) {
    case BODY_ARG: r = args[in->imm_i]; break;
    case BODY_CONST:
      if (fl) r.f = round_to(in->imm, in->dtype);
      else r.i = in->dtype == KILN_BOOL ? in->imm_i != 0 : scalar_wrap_int(in->imm_i, in->dtype);
      break;
    case BODY_CMP:
      r.i = compare(in->pred, x, y, dtype_is_float(b->insts[in->args[0]].dtype));
      break;
    case BODY_SELECT: r = x.i ? y : vals[in->args[2]]; break;
    case BODY_CAST: r = scalar_cast(x, b->insts[in->args[0]].dtype, in->dtype); break;
    default:
      if (fl) r.f = round_to(float_op(in->kind, x.f, y.f), in->dtype);
      else r.i = scalar_wrap_int(scalar_int_op(in->kind, x.i, y.i), in->dtype);
    }
    vals[k] = r;
  }
}
