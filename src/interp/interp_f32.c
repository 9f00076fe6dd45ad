/* interp_f32.c — f32 staging for the float kernels (conv, pool, matmul, resize).
 *
 * Those kernels compute in f32 only. An f32 tensor is used in place; any other dtype is
 * converted to a temporary f32 buffer on the way in and back (rounded for f16/bf16,
 * saturating cast for integers) on the way out. */
#include "interp_impl.h"

const float *f32_view(const Op *op, const Tensor *t, float **owned, Diag *d) {
  *owned = NULL;
  if (t->type.dtype == KILN_F32) return t->data;
  int64_t n = type_numel(&t->type);
  float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!buf) {
    diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) buf[i] = (float)elem_get_f(t->data, t->type.dtype, i);
  *owned = buf;
  return buf;
}

float *f32_out(const Op *op, Tensor *t, float **owned, Diag *d) {
  *owned = NULL;
  if (t->type.dtype == KILN_F32) return t->data;
  int64_t n = type_numel(&t->type);
  float *buf = calloc((size_t)(n ? n : 1), sizeof(float));
  if (!buf) {
    diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
    return NULL;
  }
  *owned = buf;
  return buf;
}

void f32_out_finish(Tensor *t, float *owned) {
  if (!owned) return;
  int64_t n = type_numel(&t->type);
  for (int64_t i = 0; i < n; i++) elem_set_f(t->data, t->type.dtype, i, owned[i]);
  free(owned);
}

KilnStatus bad_dim(const Op *op, const char *what, int64_t expected, int64_t got, Diag *d) {
  return diag_error(d, KILN_ERR_INVALID, OPFMT ": %s: expected %lld, got %lld", OPARG(op),
                    what, (long long)expected, (long long)got);
}

int32_t *i32_view(const Tensor *t) {
  int64_t n = type_numel(&t->type);
  int32_t *v = malloc(sizeof *v * (size_t)(n ? n : 1));
  for (int64_t i = 0; v && i < n; i++) v[i] = (int32_t)elem_get_i(t->data, t->type.dtype, i);
  return v;
}

bool dtype_is_int(DType t) {
  return t == KILN_I8 || t == KILN_U8 || t == KILN_I32 || t == KILN_I64;
}
