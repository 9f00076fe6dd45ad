/* interp_impl.h — private to src/interp/: the per-op executor signature, element access
 * helpers and the float staging helpers shared by the op families.
 *
 * Every executor gets its op, its operand tensors (borrowed, read-only) and its result
 * tensors (already allocated with the result types, zeroed) and fills the results. It
 * checks the shapes it relies on for memory safety and reports violations as
 * KILN_ERR_INVALID naming the op; it never writes outside the result tensors.
 * Sectioned by defining file. */
#ifndef KILN_INTERP_IMPL_H
#define KILN_INTERP_IMPL_H

#include <math.h>
#include <string.h>

#include "interp.h"

typedef KilnStatus (*OpExec)(const Op *op, Tensor *const *in, Tensor **out, Diag *d);

/* "kiln.conv_2d 'name'" prefix for messages. */
#define OPFMT "%s '%s'"
#define OPARG(op) op_kind_name((op)->kind), (op)->name

/* ---- element access (any dtype) ----------------------------------------- */

static inline double elem_get_f(const void *p, DType t, int64_t i) {
  switch (t) {
  case KILN_F32: return ((const float *)p)[i];
  case KILN_F16: return f16_to_f32(((const uint16_t *)p)[i]);
  case KILN_BF16: return bf16_to_f32(((const uint16_t *)p)[i]);
  case KILN_I8: return ((const int8_t *)p)[i];
  case KILN_U8: case KILN_BOOL: return ((const uint8_t *)p)[i];
  case KILN_I32: return ((const int32_t *)p)[i];
  case KILN_I64: return (double)((const int64_t *)p)[i];
  default: kiln_unreachable();
  }
}

static inline int64_t elem_get_i(const void *p, DType t, int64_t i) {
  switch (t) {
  case KILN_I8: return ((const int8_t *)p)[i];
  case KILN_U8: case KILN_BOOL: return ((const uint8_t *)p)[i];
  case KILN_I32: return ((const int32_t *)p)[i];
  case KILN_I64: return ((const int64_t *)p)[i];
  default: kiln_unreachable();
  }
}

/* ---- body.c -------------------------------------------------------------- */

/* A scalar of the body: floats in f (already rounded to their dtype), integers in i
 * (already wrapped to their dtype's width; bool is 0/1). */
typedef union Scalar {
  double f;
  int64_t i;
} Scalar;

Scalar scalar_load(const void *p, DType t, int64_t i);
void scalar_store(void *p, DType t, int64_t i, Scalar v);
/* Value of v (of dtype `from`) converted to dtype `to` with BODY_CAST semantics. */
Scalar scalar_cast(Scalar v, DType from, DType to);
/* Scalar of dtype t holding the number x (float: rounded; int: saturating cast). */
Scalar scalar_from_double(double x, DType t);
/* Evaluates body insts into vals[] (n_insts of them); args[] are the block arguments. */
void body_eval(const Body *b, const Scalar *args, Scalar *vals);
/* Stores x into element i of an any-dtype buffer (float rounding, int saturating). */
void elem_set_f(void *p, DType t, int64_t i, double x);

/* ---- interp_generic.c ---------------------------------------------------- */

KilnStatus exec_generic(const Op *op, Tensor *const *in, Tensor **out, Diag *d);

/* ---- interp_conv.c / interp_pool.c / interp_matmul.c -------------------- */

KilnStatus exec_conv2d(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_depthwise(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_conv_transpose(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_pool(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_matmul(const Op *op, Tensor *const *in, Tensor **out, Diag *d);

/* ---- interp_resize.c ----------------------------------------------------- */

KilnStatus exec_resize(const Op *op, Tensor *const *in, Tensor **out, Diag *d);

/* ---- interp_data.c ------------------------------------------------------- */

KilnStatus exec_transpose(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_pad(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_copy(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_slice(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_concat(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_gather(const Op *op, Tensor *const *in, Tensor **out, Diag *d);
KilnStatus exec_argmax(const Op *op, Tensor *const *in, Tensor **out, Diag *d);

/* ---- interp_f32.c -------------------------------------------------------- */

/* Float staging for the float-only kernels (conv, pool, matmul, resize): f32 view of a
 * tensor. Returns t's own data when it is f32, else a malloc'd converted copy stored in
 * *owned (free it); NULL (with d set) on allocation failure. */
const float *f32_view(const Op *op, const Tensor *t, float **owned, Diag *d);
/* Output buffer in f32: t's data when f32, else a zeroed malloc'd buffer in *owned. */
float *f32_out(const Op *op, Tensor *t, float **owned, Diag *d);
/* Writes *owned back into t converted (if non-NULL) and frees it. */
void f32_out_finish(Tensor *t, float *owned);
/* A malloc'd int32 copy of an integer tensor (NULL on OOM): the exact integer conv and
 * matmul stage their operands through it. */
int32_t *i32_view(const Tensor *t);
/* i8, u8, i32, i64: the dtypes of the exact integer conv / matmul. */
bool dtype_is_int(DType t);
/* KILN_ERR_INVALID "op 'x': <what>: expected <exp>, got <got>" for a dim mismatch. */
KilnStatus bad_dim(const Op *op, const char *what, int64_t expected, int64_t got, Diag *d);

#endif
