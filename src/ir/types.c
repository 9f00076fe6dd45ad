/* types.c — element types, tensor types and half-precision conversions. */
#include <string.h>

#include "ir.h"

static const struct { const char *name; size_t size; } dtype_info[] = {
  [KILN_F32] = {"f32", 4}, [KILN_F16] = {"f16", 2}, [KILN_BF16] = {"bf16", 2},
  [KILN_I8] = {"i8", 1},   [KILN_U8] = {"ui8", 1},  [KILN_I32] = {"i32", 4},
  [KILN_I64] = {"i64", 8}, [KILN_BOOL] = {"i1", 1},
};
_Static_assert(ARRAY_LEN(dtype_info) == KILN_DTYPE_COUNT, "dtype table out of date");

const char *dtype_name(DType t) {
  KILN_ASSERT((unsigned)t < KILN_DTYPE_COUNT);
  return dtype_info[t].name;
}

size_t dtype_size(DType t) {
  KILN_ASSERT((unsigned)t < KILN_DTYPE_COUNT);
  return dtype_info[t].size;
}

bool dtype_is_float(DType t) { return t == KILN_F32 || t == KILN_F16 || t == KILN_BF16; }
bool dtype_is_unsigned(DType t) { return t == KILN_U8 || t == KILN_BOOL; }

int64_t type_numel(const TensorType *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 0 || checked_mul_i64(n, t->dims[i], &n)) return -1;
  return n;
}

int64_t type_nbytes(const TensorType *t) {
  int64_t n = type_numel(t), b;
  if (n < 0 || checked_mul_i64(n, (int64_t)dtype_size(t->dtype), &b)) return -1;
  return b;
}

bool type_equal(const TensorType *a, const TensorType *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

TensorType type_make(DType dt, int rank, const int64_t *dims) {
  KILN_ASSERT(rank >= 0 && rank <= KILN_MAX_RANK);
  TensorType t = {.dtype = dt, .rank = rank};
  if (rank) memcpy(t.dims, dims, sizeof(int64_t) * rank);
  return t;
}

char *type_str(const TensorType *t, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "tensor<");
  for (int i = 0; i < t->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%lldx", (long long)t->dims[i]);
  if (k < n) snprintf(buf + k, n - k, "%s>", dtype_name(t->dtype));
  return buf;
}

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0x1f) return bits_f32(sign | 0x7f800000 | (man << 13)); /* inf/nan */
  if (exp == 0) {                                                       /* zero/subnormal */
    float v = (float)man * (1.0f / 16777216.0f);                        /* man * 2^-24 */
    return sign ? -v : v;
  }
  return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t f32_to_f16(float f) {
  uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000;
  int32_t exp = (int32_t)((u >> 23) & 0xff) - 127 + 15;
  uint32_t man = u & 0x7fffff;
  if (((u >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
  if (exp >= 0x1f) return (uint16_t)(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return (uint16_t)sign;
    man |= 0x800000;
    uint32_t shift = (uint32_t)(14 - exp), half = 1u << (shift - 1);
    uint32_t r = man >> shift, rem = man & ((1u << shift) - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    return (uint16_t)(sign | r);
  }
  uint32_t r = ((uint32_t)exp << 10) | (man >> 13), rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++; /* may carry into exp: correct */
  return (uint16_t)(sign | r);
}

float bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40); /* quiet nan */
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}
