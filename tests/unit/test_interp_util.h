/* test_interp_util.h — helpers shared by the interpreter tests: build a one-op function,
 * make tensors from literal values or pseudo-random data, run, compare. */
#ifndef KILN_TEST_INTERP_UTIL_H
#define KILN_TEST_INTERP_UTIL_H
#include "check.h"
#include "interp/interp.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) ((int)(sizeof(DIMS(__VA_ARGS__)) / sizeof(int64_t)))
#define TT(dt, ...) type_make((dt), NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__))

typedef struct OneOp {
  Module *m;
  Func *f;
  Op *op;
} OneOp;

/* main(args of in_types) { r = op(args) ; return r } */
static inline OneOp one_op(OpKind k, int n_in, const TensorType *in_types, TensorType out_type) {
  OneOp o;
  o.m = module_new();
  o.f = func_new(o.m, "main");
  o.m->main = o.f;
  Value *args[16];
  for (int i = 0; i < n_in; i++) {
    char name[16];
    snprintf(name, sizeof name, "x%d", i);
    args[i] = func_add_arg(o.f, in_types[i], name);
  }
  o.op = op_new(o.f, k, "op1", n_in, args, 1, &out_type, NULL);
  func_set_results(o.f, 1, o.op->out, NULL);
  return o;
}

static inline double tget(const Tensor *t, int64_t i) {
  switch (t->type.dtype) {
  case KILN_F32: return ((const float *)t->data)[i];
  case KILN_F16: return f16_to_f32(((const uint16_t *)t->data)[i]);
  case KILN_BF16: return bf16_to_f32(((const uint16_t *)t->data)[i]);
  case KILN_I8: return ((const int8_t *)t->data)[i];
  case KILN_U8: case KILN_BOOL: return ((const uint8_t *)t->data)[i];
  case KILN_I32: return ((const int32_t *)t->data)[i];
  case KILN_I64: return (double)((const int64_t *)t->data)[i];
  default: return 0;
  }
}

static inline void tset(Tensor *t, int64_t i, double v) {
  switch (t->type.dtype) {
  case KILN_F32: ((float *)t->data)[i] = (float)v; break;
  case KILN_F16: ((uint16_t *)t->data)[i] = f32_to_f16((float)v); break;
  case KILN_BF16: ((uint16_t *)t->data)[i] = f32_to_bf16((float)v); break;
  case KILN_I8: ((int8_t *)t->data)[i] = (int8_t)v; break;
  case KILN_U8: case KILN_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
  case KILN_I32: ((int32_t *)t->data)[i] = (int32_t)v; break;
  case KILN_I64: ((int64_t *)t->data)[i] = (int64_t)v; break;
  default: break;
  }
}

static inline Tensor *tvals(TensorType t, const double *v) {
  Tensor *r = tensor_new(t);
  int64_t n = type_numel(&t);
  for (int64_t i = 0; i < n; i++) tset(r, i, v[i]);
  return r;
}

static unsigned rng_state = 12345;
static inline double rnd(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 1103515245u + 12345u;
  return ((rng_state >> 8) & 0xffff) / 32768.0 - 1.0;
}

static inline Tensor *trand(TensorType t) {
  Tensor *r = tensor_new(t);
  int64_t n = type_numel(&t);
  for (int64_t i = 0; i < n; i++) tset(r, i, rnd());
  return r;
}

/* Runs f; returns output 0 (others freed) or NULL after counting a failure. */
static inline Tensor *run1(Func *f, Tensor **ins) {
  Tensor *out[8] = {0};
  Diag d = {0};
  KilnStatus st = interp_run(f, ins, out, &d);
  check_count++;
  if (st) {
    check_failures++;
    fprintf(stderr, "interp_run failed: %s\n", d.msg);
    return NULL;
  }
  for (int i = 1; i < f->n_results; i++) tensor_free(out[i]);
  return out[0];
}

/* Runs f expecting failure with status st and a message containing needle. */
static inline void run_fails(Func *f, Tensor **ins, KilnStatus st, const char *needle) {
  Tensor *out[8] = {0};
  Diag d = {0};
  KilnStatus got = interp_run(f, ins, out, &d);
  CHECK_EQ_I(st, got);
  CHECK_STR_CONTAINS(d.msg, needle);
  for (int i = 0; i < f->n_results; i++) CHECK(out[i] == NULL);
}

/* got[i] vs want[i] for all i; reports the first mismatch with its index. */
static inline void check_close(const char *what, const Tensor *got, const double *want, int64_t n,
                        double tol) {
  check_count++;
  if (!got) {
    check_failures++;
    fprintf(stderr, "%s: no result\n", what);
    return;
  }
  if (type_numel(&got->type) != n) {
    check_failures++;
    fprintf(stderr, "%s: %lld elements, expected %lld\n", what,
            (long long)type_numel(&got->type), (long long)n);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    double g = tget(got, i);
    bool ok = (isnan(want[i]) && isnan(g)) || g == want[i] || fabs(g - want[i]) <= tol * (1 + fabs(want[i]));
    if (!ok) {
      check_failures++;
      fprintf(stderr, "%s: element %lld => %.9g, expected %.9g\n", what, (long long)i, g,
              want[i]);
      return;
    }
  }
}

/* Runs the one-op function on ins and compares with want; frees everything. */
static inline void run_check(const char *what, OneOp o, Tensor **ins, int n_in, const double *want,
                      double tol) {
  Tensor *y = run1(o.f, ins);
  if (y) check_close(what, y, want, type_numel(&o.op->out[0]->type), tol);
  tensor_free(y);
  for (int i = 0; i < n_in; i++) tensor_free(ins[i]);
  module_free(o.m);
}
#endif
