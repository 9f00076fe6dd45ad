/* test_backend.c — the CPU backend on a small CNN block built as ONNX in C: conv 3x3 +
 * bias + relu6, depthwise 3x3 + relu6, 1x1 conv + bias, residual add, global average
 * pool. Checks, with 1 and 2 threads (on the best ISA here; KILN_ISA picks another):
 *   - the compiled program matches the reference interpreter on the same formed module;
 *   - the run path allocates nothing (malloc, calloc, realloc and aligned_alloc are
 *     wrapped with the linker's --wrap for this test and counted during cpu_run);
 *   - the arena is smaller than the sum of the activations (liveness planning shares it).
 * The allocation counter is shown to work by counting a deliberate malloc. */
#include <math.h>
#include <stdatomic.h>

#include "backend/cpu/backend.h"
#include "check.h"
#include "driver/driver.h"
#pragma GCC diagnostic ignored "-Wunused-function" /* import_build.h helpers this test does not use */
#include "import_build.h"

static atomic_int counting, allocations;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t k);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n) {
  if (atomic_load(&counting)) atomic_fetch_add(&allocations, 1);
  return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t k) {
  if (atomic_load(&counting)) atomic_fetch_add(&allocations, 1);
  return __real_calloc(n, k);
}
void *__wrap_realloc(void *p, size_t n) {
  if (atomic_load(&counting)) atomic_fetch_add(&allocations, 1);
  return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n) {
  if (atomic_load(&counting)) atomic_fetch_add(&allocations, 1);
  return __real_aligned_alloc(a, n);
}

static float wave(int64_t i, float scale) { return scale * (float)sin(0.37 * (double)i + 0.1); }

static void init_wave(MB *b, const char *name, int rank, const int64_t *dims, float scale) {
  int64_t n = mb_numel(rank, dims);
  float *v = mb_alloc(b, sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) v[i] = wave(i, scale);
  mb_init_f(b, name, rank, dims, v);
}

static void conv(MB *b, const char *name, const char *ins, const char *out, int64_t k,
                 int64_t pad, int64_t group) {
  Onnx__NodeProto *n = mb_node(b, "Conv", name, ins, out);
  int64_t ks[2] = {k, k}, pads[4] = {pad, pad, pad, pad};
  mb_attr_ints(b, n, "kernel_shape", 2, ks);
  mb_attr_ints(b, n, "pads", 4, pads);
  if (group > 1) mb_attr_i(b, n, "group", group);
}

static void relu6(MB *b, const char *name, const char *in, const char *out) {
  mb_node(b, "Clip", name, in, out);
}

static Module *build_block(void) {
  MB b;
  mb_init(&b, 13);
  int64_t xd[4] = {1, 3, 16, 16}, w1[4] = {8, 3, 3, 3}, w2[4] = {8, 1, 3, 3}, w3[4] = {8, 8, 1, 1};
  int64_t bd[1] = {8}, sd[1] = {1};
  mb_input(&b, "x", MB_F, 4, xd);
  init_wave(&b, "w1", 4, w1, 0.5f), init_wave(&b, "b1", 1, bd, 0.1f);
  init_wave(&b, "w2", 4, w2, 0.5f), init_wave(&b, "b2", 1, bd, 0.1f);
  init_wave(&b, "w3", 4, w3, 0.5f), init_wave(&b, "b3", 1, bd, 0.1f);
  float lo = 0, hi = 6;
  mb_init_f(&b, "lo", 0, sd, &lo), mb_init_f(&b, "hi", 0, sd, &hi);
  conv(&b, "conv1", "x,w1,b1", "c1", 3, 1, 1);
  relu6(&b, "clip1", "c1,lo,hi", "r1");
  conv(&b, "dw", "r1,w2,b2", "c2", 3, 1, 8);
  relu6(&b, "clip2", "c2,lo,hi", "r2");
  conv(&b, "project", "r2,w3,b3", "c3", 1, 0, 1);
  mb_node(&b, "Add", "residual", "c3,r1", "y");
  mb_node(&b, "GlobalAveragePool", "gap", "y", "z");
  mb_output(&b, "y");
  mb_output(&b, "z");
  Module *m = NULL;
  Diag d = {0};
  KilnStatus st = mb_import(&b, &m, &d);
  mb_free(&b);
  CompileOptions co = {.form_dispatches = true};
  if (!st) st = driver_compile(m, &co, NULL, 0, NULL, &d);
  if (st) fprintf(stderr, "build_block: %s\n", d.msg);
  return st ? NULL : m;
}

static double max_rel_diff(const Tensor *a, const float *b) {
  int64_t n = type_numel(&a->type);
  double worst = 0, scale = 1e-6;
  for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(tensor_get_f(a, i)));
  for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs(tensor_get_f(a, i) - b[i]) / scale);
  return worst;
}

static void run_case(const Module *m, size_t threads) {
  const Func *f = m->main;
  Diag d = {0};
  Tensor *ins[1] = {NULL}, *ref[2] = {NULL, NULL};
  CHECK(driver_random_inputs(f, 11, ins, &d) == KILN_OK);
  CHECK(interp_run(f, ins, ref, &d) == KILN_OK);
  CpuProgram *p;
  CpuLowerOptions lo = {.threads = threads};
  CHECK(cpu_lower(m, f, &lo, &p, &d) == KILN_OK);
  float *y = malloc((size_t)type_nbytes(&f->results[0]->type));
  float *z = malloc((size_t)type_nbytes(&f->results[1]->type));
  const void *in_ptrs[1] = {ins[0]->data};
  void *out_ptrs[2] = {y, z};
  CHECK(cpu_run(p, in_ptrs, out_ptrs, NULL, &d) == KILN_OK); /* warm: pool threads start */
  atomic_store(&allocations, 0);
  atomic_store(&counting, 1);
  KilnStatus st = cpu_run(p, in_ptrs, out_ptrs, NULL, &d);
  atomic_store(&counting, 0);
  CHECK(st == KILN_OK);
  printf("  %zu thread(s), isa %s: %d allocations during the run, arena %lld bytes, "
         "y diff %.2e, z diff %.2e\n", threads, kiln_isa_name(kiln_cpu_features()->isa),
         atomic_load(&allocations), (long long)p->arena_bytes, max_rel_diff(ref[0], y),
         max_rel_diff(ref[1], z));
  CHECK(atomic_load(&allocations) == 0);
  CHECK(max_rel_diff(ref[0], y) < 1e-5);
  CHECK(max_rel_diff(ref[1], z) < 1e-5);
  int64_t sum = 0; /* every arena buffer placed side by side */
  for (int b = 0; b < p->n_bufs; b++)
    if (p->bufs[b].kind == BUF_ARENA && p->bufs[b].first >= 0) sum += p->bufs[b].nbytes;
  CHECK(p->arena_bytes < sum);
  free(y), free(z);
  tensor_free(ins[0]), tensor_free(ref[0]), tensor_free(ref[1]);
  cpu_program_free(p);
}

static void test_counter_counts(void) {
  atomic_store(&allocations, 0);
  atomic_store(&counting, 1);
  void *volatile p = malloc(16);
  atomic_store(&counting, 0);
  free(p);
  CHECK(atomic_load(&allocations) == 1);
}

int main(void) {
  test_counter_counts();
  Module *m = build_block();
  CHECK(m != NULL);
  if (!m) return check_report("test_backend");
  run_case(m, 1);
  run_case(m, 2);
  module_free(m);
  return check_report("test_backend");
}
