/* onnx_tensor.c — TensorProto decoding and element access for the importer.
 *
 * onnx_tensor_load() turns a TensorProto into a Kiln type plus data in the module arena. The
 * data may come from raw_data (little-endian bytes, size checked against the dims), the
 * typed repeated fields (count checked), or an external file (data_location EXTERNAL,
 * keys location/offset/length, relative to the model's folder; absolute paths and '..'
 * are rejected). Doubles become f32. Dims are checked: non-negative, rank <= KILN_MAX_RANK,
 * element and byte counts without int64 overflow, and at most 16 GiB per tensor.
 * The elem_get/elem_set helpers read and write one element of any dtype as double or
 * int64, for constant folding. */
#include <math.h>
#include <string.h>

#include "onnx_internal.h"

#define MAX_TENSOR_BYTES (16ll << 30)

KilnStatus onnx_dtype(Imp *I, int32_t t, const char *what, DType *out) {
  switch (t) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *out = KILN_F32; return KILN_OK;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: *out = KILN_F32; return KILN_OK;
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: *out = KILN_F16; return KILN_OK;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: *out = KILN_BF16; return KILN_OK;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: *out = KILN_I8; return KILN_OK;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: *out = KILN_U8; return KILN_OK;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: *out = KILN_I32; return KILN_OK;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: *out = KILN_I64; return KILN_OK;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: *out = KILN_BOOL; return KILN_OK;
  default:
    return imp_err(I, KILN_ERR_UNSUPPORTED, "tensor '%s': unsupported element type %d", what, (int)t);
  }
}

KilnStatus imp_check_limits(Imp *I, const TensorType *t, const char *what) {
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 0)
      return imp_err(I, KILN_ERR_INVALID, "tensor '%s': dim %d is negative (%lld)", what, i,
                     (long long)t->dims[i]);
  int64_t nb = type_nbytes(t);
  if (nb < 0) return imp_err(I, KILN_ERR_LIMIT, "tensor '%s': element count overflows int64", what);
  if (nb > MAX_TENSOR_BYTES)
    return imp_err(I, KILN_ERR_LIMIT, "tensor '%s': %lld bytes exceeds the 16 GiB limit per tensor",
                   what, (long long)nb);
  return KILN_OK;
}

static KilnStatus tensor_type(Imp *I, const Onnx__TensorProto *t, const char *nm, TensorType *ty) {
  KilnStatus st = onnx_dtype(I, t->has_data_type ? t->data_type : 0, nm, &ty->dtype);
  if (st) return st;
  if (t->n_dims > KILN_MAX_RANK)
    return imp_err(I, KILN_ERR_LIMIT, "tensor '%s': rank %zu exceeds the limit of %d", nm, t->n_dims,
                   KILN_MAX_RANK);
  ty->rank = (int)t->n_dims;
  for (int i = 0; i < ty->rank; i++) ty->dims[i] = t->dims[i];
  return imp_check_limits(I, ty, nm);
}

static const char *ext_key(const Onnx__TensorProto *t, const char *key) {
  for (size_t i = 0; i < t->n_external_data; i++)
    if (t->external_data[i]->key && !strcmp(t->external_data[i]->key, key))
      return t->external_data[i]->value;
  return NULL;
}

static bool path_is_safe(const char *p) {
  if (!p[0] || p[0] == '/' || p[0] == '\\') return false;
  for (const char *s = p; *s; s++) {
    bool start = s == p || s[-1] == '/' || s[-1] == '\\';
    if (start && s[0] == '.' && s[1] == '.' && (!s[2] || s[2] == '/' || s[2] == '\\')) return false;
  }
  return true;
}

static KilnStatus parse_i64(Imp *I, const char *nm, const char *key, const char *s, int64_t *out) {
  char *end;
  if (!s) return KILN_OK;
  long long v = strtoll(s, &end, 10);
  if (!s[0] || *end || v < 0)
    return imp_err(I, KILN_ERR_INVALID, "tensor '%s': external data %s '%s' is not a valid size", nm, key, s);
  *out = v;
  return KILN_OK;
}

/* Reads `nbytes` of external data into `raw` (a malloc'd buffer the caller frees). */
static KilnStatus read_external(Imp *I, const Onnx__TensorProto *t, const char *nm, int64_t nbytes,
                                uint8_t **raw) {
  const char *loc = ext_key(t, "location");
  int64_t off = 0, len = nbytes;
  if (!loc) return imp_err(I, KILN_ERR_INVALID, "tensor '%s': external data without 'location'", nm);
  if (!path_is_safe(loc))
    return imp_err(I, KILN_ERR_INVALID, "tensor '%s': external data location '%s' must be a relative path without '..'", nm, loc);
  KilnStatus st = parse_i64(I, nm, "offset", ext_key(t, "offset"), &off);
  if (!st) st = parse_i64(I, nm, "length", ext_key(t, "length"), &len);
  if (st) return st;
  if (len != nbytes)
    return imp_err(I, KILN_ERR_INVALID, "tensor '%s': external data length %lld, expected %lld bytes", nm,
                   (long long)len, (long long)nbytes);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", I->base_dir, loc);
  FILE *f = fopen(path, "rb");
  if (!f) return imp_err(I, KILN_ERR_IO, "tensor '%s': external data file '%s' not found", nm, path);
  off_t end = fseeko(f, 0, SEEK_END) == 0 ? ftello(f) : -1;
  if (end < 0 || off > (int64_t)end || nbytes > (int64_t)end - off) {
    fclose(f);
    return imp_err(I, KILN_ERR_INVALID, "tensor '%s': external file '%s' holds %lld bytes, %lld needed at offset %lld",
                   nm, path, (long long)end, (long long)nbytes, (long long)off);
  }
  *raw = malloc((size_t)(nbytes ? nbytes : 1));
  bool ok = *raw && fseeko(f, (off_t)off, SEEK_SET) == 0 &&
            fread(*raw, 1, (size_t)nbytes, f) == (size_t)nbytes;
  fclose(f);
  if (!ok)
    return imp_err(I, *raw ? KILN_ERR_IO : KILN_ERR_NOMEM,
                   "tensor '%s': cannot read %lld bytes at offset %lld of '%s'", nm,
                   (long long)nbytes, (long long)off, path);
  return KILN_OK;
}

/* Copies little-endian raw bytes of ONNX type `ot` into dst (dtype dt); doubles narrow. */
static void copy_raw(DType dt, int32_t ot, const uint8_t *raw, int64_t n, void *dst) {
  if (ot != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
    memcpy(dst, raw, (size_t)n * dtype_size(dt));
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    double v;
    memcpy(&v, raw + i * 8, 8);
    ((float *)dst)[i] = (float)v;
  }
}

static int64_t onnx_elem_size(int32_t ot, DType dt) {
  return ot == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? 8 : (int64_t)dtype_size(dt);
}

/* The typed repeated field holding this tensor's data: element count and a reader. */
static size_t typed_count(const Onnx__TensorProto *t, DType dt, int32_t ot) {
  if (ot == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) return t->n_double_data;
  if (dt == KILN_F32) return t->n_float_data;
  if (dt == KILN_I64) return t->n_int64_data;
  return t->n_int32_data;
}

static void copy_typed(const Onnx__TensorProto *t, DType dt, int32_t ot, int64_t n, void *dst) {
  for (int64_t i = 0; i < n; i++) {
    if (ot == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) ((float *)dst)[i] = (float)t->double_data[i];
    else if (dt == KILN_F32) ((float *)dst)[i] = t->float_data[i];
    else if (dt == KILN_I64) ((int64_t *)dst)[i] = t->int64_data[i];
    else if (dt == KILN_F16 || dt == KILN_BF16) ((uint16_t *)dst)[i] = (uint16_t)t->int32_data[i];
    else imp_set_i(dt, dst, i, t->int32_data[i]);
  }
}

KilnStatus onnx_tensor_load(Imp *I, const Onnx__TensorProto *t, TensorType *type, void **data) {
  const char *nm = t->name && t->name[0] ? t->name : "(unnamed)";
  KilnStatus st = tensor_type(I, t, nm, type);
  if (st) return st;
  int32_t ot = t->data_type;
  int64_t n = type_numel(type), want = n * onnx_elem_size(ot, type->dtype);
  if (t->segment) return imp_err(I, KILN_ERR_UNSUPPORTED, "tensor '%s': segmented tensors", nm);
  /* The source's size is checked before the arena buffer is allocated (and zeroed), so a
   * tensor's dims can never make the importer allocate more than the file holds. */
  if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    uint8_t *raw = NULL;
    st = read_external(I, t, nm, want, &raw);
    if (!st && !(*data = imp_alloc(I, type_nbytes(type)))) st = imp_err(I, KILN_ERR_NOMEM, "out of memory");
    if (!st && n) copy_raw(type->dtype, ot, raw, n, *data);
    free(raw);
    return st;
  }
  if (t->has_raw_data) {
    if ((int64_t)t->raw_data.len != want)
      return imp_err(I, KILN_ERR_INVALID, "tensor '%s': raw_data has %zu bytes, dims need %lld", nm,
                     t->raw_data.len, (long long)want);
  } else if ((int64_t)typed_count(t, type->dtype, ot) != n) {
    return imp_err(I, KILN_ERR_INVALID, "tensor '%s': has %zu values, dims need %lld", nm,
                   typed_count(t, type->dtype, ot), (long long)n);
  }
  if (!(*data = imp_alloc(I, type_nbytes(type)))) return imp_err(I, KILN_ERR_NOMEM, "out of memory");
  if (t->has_raw_data && n) copy_raw(type->dtype, ot, t->raw_data.data, n, *data);
  else if (n) copy_typed(t, type->dtype, ot, n, *data);
  return KILN_OK;
}

/* ---- element access --------------------------------------------------------------- */

double imp_get_f(DType dt, const void *p, int64_t i) {
  switch (dt) {
  case KILN_F32: return ((const float *)p)[i];
  case KILN_F16: return f16_to_f32(((const uint16_t *)p)[i]);
  case KILN_BF16: return bf16_to_f32(((const uint16_t *)p)[i]);
  default: return (double)imp_get_i(dt, p, i);
  }
}

int64_t imp_get_i(DType dt, const void *p, int64_t i) {
  switch (dt) {
  case KILN_I8: return ((const int8_t *)p)[i];
  case KILN_U8: case KILN_BOOL: return ((const uint8_t *)p)[i];
  case KILN_I32: return ((const int32_t *)p)[i];
  case KILN_I64: return ((const int64_t *)p)[i];
  default: {
    double v = imp_get_f(dt, p, i);
    if (!(v > -9.2e18 && v < 9.2e18)) return v > 0 ? INT64_MAX : (v < 0 ? INT64_MIN : 0);
    return (int64_t)v;
  }
  }
}

void imp_set_f(DType dt, void *p, int64_t i, double v) {
  switch (dt) {
  case KILN_F32: ((float *)p)[i] = (float)v; return;
  case KILN_F16: ((uint16_t *)p)[i] = f32_to_f16((float)v); return;
  case KILN_BF16: ((uint16_t *)p)[i] = f32_to_bf16((float)v); return;
  default:
    if (!(v > -9.2e18 && v < 9.2e18)) v = v > 0 ? 9.2e18 : (v < 0 ? -9.2e18 : 0);
    imp_set_i(dt, p, i, (int64_t)v);
  }
}

void imp_set_i(DType dt, void *p, int64_t i, int64_t v) {
  switch (dt) {
  case KILN_I8: ((int8_t *)p)[i] = (int8_t)(uint8_t)v; return;
  case KILN_U8: ((uint8_t *)p)[i] = (uint8_t)v; return;
  case KILN_BOOL: ((uint8_t *)p)[i] = v != 0; return;
  case KILN_I32: ((int32_t *)p)[i] = (int32_t)(uint32_t)v; return;
  case KILN_I64: ((int64_t *)p)[i] = v; return;
  default: imp_set_f(dt, p, i, (double)v);
  }
}

KilnStatus imp_const_ints(Imp *I, Entry *e, const char *what, int64_t *out, int max, int *count) {
  if (!e->data) return imp_err(I, KILN_ERR_UNSUPPORTED, "input '%s' (%s) must be a constant", e->name, what);
  int64_t n = type_numel(&e->type);
  if (e->type.rank > 1 || n > max)
    return imp_err(I, KILN_ERR_UNSUPPORTED, "input '%s' (%s) has %lld values, at most %d supported", e->name,
                   what, (long long)n, max);
  for (int64_t i = 0; i < n; i++) out[i] = imp_get_i(e->type.dtype, e->data, i);
  *count = (int)n;
  return KILN_OK;
}

KilnStatus imp_const_floats(Imp *I, Entry *e, const char *what, double *out, int max, int *count) {
  if (!e->data) return imp_err(I, KILN_ERR_UNSUPPORTED, "input '%s' (%s) must be a constant", e->name, what);
  int64_t n = type_numel(&e->type);
  if (n > max)
    return imp_err(I, KILN_ERR_UNSUPPORTED, "input '%s' (%s) has %lld values, at most %d supported", e->name,
                   what, (long long)n, max);
  for (int64_t i = 0; i < n; i++) out[i] = imp_get_f(e->type.dtype, e->data, i);
  *count = (int)n;
  return KILN_OK;
}

bool imp_idx_next(int64_t *idx, const int64_t *dims, int rank) {
  for (int i = rank - 1; i >= 0; i--) {
    if (++idx[i] < dims[i]) return true;
    idx[i] = 0;
  }
  return false;
}
