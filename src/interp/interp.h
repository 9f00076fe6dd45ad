/* interp.h — the reference interpreter: plain loops for every IR op.
 *
 * The oracle for every pass (--verify-each) and the `kiln run` path on .onnx/.mlir until
 * the compiled backend exists. Obviously-correct first, then fast enough (DeepLabV3 at
 * 513x513 in well under a minute). Depends on ir/ and support/ only. */
#ifndef KILN_INTERP_H
#define KILN_INTERP_H

#include <math.h>

#include "ir/ir.h"

/* A dense, C-order tensor owning malloc'd data (not arena: tensors outlive passes). */
typedef struct Tensor {
  TensorType type;
  void *data;
  size_t nbytes;
} Tensor;

/* NULL on allocation failure or overflowing size. Data zeroed. */
Tensor *tensor_new(TensorType t);
void tensor_free(Tensor *t);
/* Element i (C order) of any dtype, as a double. */
double tensor_get_f(const Tensor *t, int64_t i);

/* Runs f. inputs[i] must match f->args[i]'s type exactly (else KILN_ERR_INVALID naming the
 * input). On success outputs[i] (f->n_results of them) are new tensors the caller frees.
 * On failure no output is left allocated. */
KilnStatus interp_run(const Func *f, Tensor *const *inputs, Tensor **outputs, Diag *d);

/* Runs one op that is neither a CONSTANT nor a DISPATCH on caller-provided tensors: in[]
 * its operands, out[] its results (allocated with the result types by the caller; data
 * need not be zeroed). The compiled backend's fallback for ops it has no kernel for. */
KilnStatus interp_exec_op(const Op *op, Tensor *const *in, Tensor **out, Diag *d);

/* Source indices and the weight of i1 for each output index of dim `dim` of a RESIZE
 * (ONNX coordinate transform, nearest rounding, clamping), as the interpreter uses them:
 * nearest gives i0 = i1 and w = 0. */
void interp_resize_axis(const OpAttrs *a, int dim, int64_t in, int64_t out, int64_t *i0,
                        int64_t *i1, double *w);
/* Linear resize of 8-bit integers (interp_resize.c): per output index the source pair and
 * the 10-bit weight of i1 (w0 = 1024 - w1), from coordinates computed in f32. */
void interp_resize_axis_fixed10(const OpAttrs *a, int dim, int64_t in, int64_t out,
                                int64_t *i0, int64_t *i1, int32_t *w1);

/* Integer semantics of body instructions (interp_body.c), shared with the CPU backend's
 * epilogue evaluator so both agree bit for bit. wrap: to t's width (two's complement, bool
 * 0/1); sat: float -> int truncating toward zero, saturating, NaN -> 0; int_op: ADD, SUB,
 * MUL (wrapping in 64 bits), DIV (x/0 = 0, INT64_MIN/-1 = INT64_MIN), MAX, MIN, NEG, ABS. */
/* Inline, so that the backend's lane loops (epilogue.c) do not call per element. */
static inline int64_t scalar_wrap_int(int64_t v, DType t) {
  uint64_t u = (uint64_t)v;
  switch (t) {
  case KILN_I8: u &= 0xff; return u >= 0x80 ? (int64_t)u - 0x100 : (int64_t)u;
  case KILN_U8: return (int64_t)(u & 0xff);
  case KILN_I32:
    u &= 0xffffffffu;
    return u >= 0x80000000u ? (int64_t)u - (int64_t)0x100000000 : (int64_t)u;
  case KILN_BOOL: return (int64_t)(u & 1);
  default: return v;
  }
}

/* float -> int: truncate toward zero, saturate to t's range, NaN -> 0. */
static inline int64_t scalar_sat_int(double x, DType t) {
  double lo, hi;
  switch (t) {
  case KILN_I8: lo = -128, hi = 127; break;
  case KILN_U8: lo = 0, hi = 255; break;
  case KILN_I32: lo = -2147483648.0, hi = 2147483647.0; break;
  case KILN_BOOL: return x != 0;
  default:
    if (isnan(x)) return 0;
    if (x >= 9223372036854775808.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
  }
  if (isnan(x)) return 0;
  x = trunc(x);
  return (int64_t)(x < lo ? lo : x > hi ? hi : x);
}

static inline int64_t scalar_int_op(BodyOpKind k, int64_t x, int64_t y) {
  uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
  switch (k) {
  case BODY_ADD: return (int64_t)(ux + uy);
  case BODY_SUB: return (int64_t)(ux - uy);
  case BODY_MUL: return (int64_t)(ux * uy);
  case BODY_DIV:
    if (y == 0) return 0;
    if (x == INT64_MIN && y == -1) return INT64_MIN;
    return x / y;
  case BODY_MAX: return x > y ? x : y;
  case BODY_MIN: return x < y ? x : y;
  case BODY_NEG: return (int64_t)(0 - ux);
  case BODY_ABS: return x < 0 ? (int64_t)(0 - ux) : x;
  default: kiln_unreachable();
  }
}


/* fold.c: evaluates op (all operands CONSTANT ops with data), adding one module constant
 * per result; their indices go to const_out. The FoldOpFn of constant folding. */
KilnStatus interp_fold_op(Module *m, const Op *op, int *const_out, Diag *d);

#endif
