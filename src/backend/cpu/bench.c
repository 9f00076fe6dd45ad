/* bench.c — `kiln bench`: latency statistics of a compiled program and a Chrome trace.
 *
 * Inputs are random (floats uniform in [-1, 1), integers in [0, 4), fixed seed): latency
 * of these CNNs does not depend on the values. Warm-up runs first (page faults, caches,
 * thread start-up), then each timed run records the per-kernel times; per-dispatch times
 * are sums over the dispatch's kernels, reported as medians over the runs. The trace
 * comes from one extra run after the timed ones, so tracing costs nothing in the stats. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "backend/cpu/backend.h"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Median of n values (sorts them). */
static int64_t median(int64_t *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_i64);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void fill_random(void *buf, DType t, int64_t n, uint64_t *state) {
  for (int64_t i = 0; i < n; i++) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t r = (uint32_t)(*state >> 33);
    switch (t) {
    case KILN_F32: ((float *)buf)[i] = (float)r / 2147483648.0f * 2.0f - 1.0f; break;
    case KILN_I8: case KILN_U8: case KILN_BOOL: ((uint8_t *)buf)[i] = (uint8_t)(r % 4); break;
    case KILN_I32: ((int32_t *)buf)[i] = (int32_t)(r % 4); break;
    case KILN_I64: ((int64_t *)buf)[i] = (int64_t)(r % 4); break;
    default: ((uint8_t *)buf)[i * (int64_t)dtype_size(t)] = 0; break;
    }
  }
}

typedef struct BenchData {
  void **ins, **outs;
  int64_t *kernel_ns;   /* per kernel, one run */
  int64_t *dispatch_ns; /* [iteration][dispatch + 1]: slot 0 = kernels outside dispatches */
  int64_t *total_ns;    /* per iteration */
} BenchData;

static void bench_free(const CpuProgram *p, BenchData *b) {
  for (int i = 0; b->ins && i < p->func->n_args; i++) free(b->ins[i]);
  for (int i = 0; b->outs && i < p->func->n_results; i++) free(b->outs[i]);
  free(b->ins), free(b->outs), free(b->kernel_ns), free(b->dispatch_ns), free(b->total_ns);
}

static KilnStatus bench_alloc(const CpuProgram *p, int iters, BenchData *b, Diag *d) {
  const Func *f = p->func;
  uint64_t seed = 7;
  b->ins = calloc((size_t)f->n_args + 1, sizeof *b->ins);
  b->outs = calloc((size_t)f->n_results + 1, sizeof *b->outs);
  b->kernel_ns = calloc((size_t)p->n_kernels + 1, sizeof *b->kernel_ns);
  b->dispatch_ns = calloc((size_t)iters * (size_t)(p->n_dispatches + 1), sizeof *b->dispatch_ns);
  b->total_ns = calloc((size_t)iters, sizeof *b->total_ns);
  bool ok = b->ins && b->outs && b->kernel_ns && b->dispatch_ns && b->total_ns;
  for (int i = 0; ok && i < f->n_args; i++) {
    const TensorType *t = &f->args[i]->type;
    ok = (b->ins[i] = malloc((size_t)type_nbytes(t) + 1)) != NULL;
    if (ok) fill_random(b->ins[i], t->dtype, type_numel(t), &seed);
  }
  for (int i = 0; ok && i < f->n_results; i++)
    ok = (b->outs[i] = malloc((size_t)type_nbytes(&f->results[i]->type) + 1)) != NULL;
  return ok ? KILN_OK : diag_error(d, KILN_ERR_NOMEM, "out of memory for benchmark buffers");
}

static KilnStatus timed_runs(CpuProgram *p, const BenchOptions *o, BenchData *b, Diag *d) {
  for (int it = 0; it < o->warmup + o->iterations; it++) {
    int64_t t0 = now_ns();
    KilnStatus st = cpu_run(p, (const void *const *)b->ins, b->outs, b->kernel_ns, d);
    if (st) return st;
    if (it < o->warmup) continue;
    int r = it - o->warmup;
    b->total_ns[r] = now_ns() - t0;
    int64_t *row = &b->dispatch_ns[(size_t)r * (size_t)(p->n_dispatches + 1)];
    for (int k = 0; k < p->n_kernels; k++) row[p->kernels[k].dispatch + 1] += b->kernel_ns[k];
  }
  return KILN_OK;
}

static const char *dispatch_label(const CpuProgram *p, int di) {
  return di < 0 ? "(outside dispatches)" : p->dispatch_names[di];
}

/* What runs a kernel: "gemm avx512f_14x32+2" (root microkernel, epilogue stages), "ref
 * kiln.concat" (reference executor), "copy". */
static void kernel_desc(const Kernel *k, char *buf, size_t n) {
  static const char *const roots[] = {
    [ROOT_NONE] = "elementwise", [ROOT_REF] = "ref", [ROOT_GEMM] = "gemm",
    [ROOT_DWCONV3X3] = "dwconv3x3", [ROOT_DWCONV] = "dwconv", [ROOT_CONV] = "conv",
    [ROOT_POOL] = "pool", [ROOT_RESIZE] = "resize", [ROOT_Q8GEMM] = "q8gemm",
    [ROOT_Q8DWCONV3X3] = "q8dwconv3x3", [ROOT_Q8CONV] = "q8conv", [ROOT_Q8GSUM] = "q8gsum",
    [ROOT_RESIZE8] = "resize8", [ROOT_WINOGRAD] = "winograd"};
  if (k->kind == KERNEL_COPY) snprintf(buf, n, "copy");
  else if (k->kind == KERNEL_PERMUTE) snprintf(buf, n, "transpose");
  else if (k->kind == KERNEL_REF) snprintf(buf, n, "ref %s", op_kind_name(k->op->kind));
  else if (k->root == ROOT_REF) snprintf(buf, n, "ref %s+%d", op_kind_name(k->op->kind), k->n_stages);
  else if (k->uk)
    snprintf(buf, n, "%s %s+%d", k->conv_banded ? "banded-conv" : roots[k->root], k->uk->name,
             k->n_stages);
  else snprintf(buf, n, "%s+%d", roots[k->root], k->n_stages);
  /* a single stage run as a fused activation loop (epilogue.c) */
  static const char *const acts[] = {[ACT_SIGMOID] = "sigmoid", [ACT_SILU] = "silu",
                                     [ACT_HARDSIG] = "hardsigmoid", [ACT_HARDSWISH] = "hardswish"};
  if (k->kind == KERNEL_FUSED && k->n_stages == 1 && k->stages[0].act.kind) {
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, " %s", acts[k->stages[0].act.kind]);
  }
}

/* The kernels of dispatch di, comma-separated. */
static void dispatch_kernels(const CpuProgram *p, int di, char *buf, size_t n) {
  size_t at = 0;
  buf[0] = 0;
  for (int k = 0; k < p->n_kernels && at + 1 < n; k++) {
    if (p->kernels[k].dispatch != di) continue;
    char one[128];
    kernel_desc(&p->kernels[k], one, sizeof one);
    at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? ", " : "", one);
  }
}

static void print_json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', out);
    if ((unsigned char)*s >= 32) fputc(*s, out);
  }
  fputc('"', out);
}

static void report(const CpuProgram *p, const BenchOptions *o, BenchData *b, FILE *out) {
  int n = o->iterations, nd = p->n_dispatches + 1;
  int64_t *col = malloc(sizeof *col * (size_t)n);
  int64_t lo = b->total_ns[0], hi = b->total_ns[0];
  for (int i = 0; i < n; i++) lo = b->total_ns[i] < lo ? b->total_ns[i] : lo;
  for (int i = 0; i < n; i++) hi = b->total_ns[i] > hi ? b->total_ns[i] : hi;
  int64_t med = median(b->total_ns, n);
  const char *isa = kiln_isa_name(kiln_cpu_features()->isa);
  if (o->json) {
    fprintf(out, "{\"model\": ");
    print_json_string(out, o->model ? o->model : "");
    fprintf(out, ", \"threads\": %zu, \"isa\": \"%s\", \"warmup\": %d, \"iterations\": %d, "
            "\"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"arena_bytes\": %lld, "
            "\"dispatches\": [", p->threads, isa, o->warmup, n, med / 1e6, lo / 1e6, hi / 1e6,
            (long long)p->arena_bytes);
  } else {
    fprintf(out, "kiln bench %s: %d runs after %d warm-up, %zu thread%s, isa %s\n",
            o->model ? o->model : "", n, o->warmup, p->threads, p->threads > 1 ? "s" : "", isa);
    fprintf(out, "latency  median %.3f ms   min %.3f ms   max %.3f ms   (arena %.1f MiB)\n\n",
            med / 1e6, lo / 1e6, hi / 1e6, p->arena_bytes / 1048576.0);
    fprintf(out, "%-64s %10s %7s  %s\n", "dispatch", "median ms", "share",
            "kernels (microkernel+epilogue stages; ref = reference executor)");
  }
  for (int di = -1, first = 1; di < p->n_dispatches && col; di++) {
    for (int i = 0; i < n; i++) col[i] = b->dispatch_ns[(size_t)i * (size_t)nd + (size_t)(di + 1)];
    int64_t m = median(col, n);
    char kernels[512];
    if (di < 0 && m == 0) continue;
    dispatch_kernels(p, di, kernels, sizeof kernels);
    if (o->json) {
      fprintf(out, "%s{\"name\": ", first ? "" : ", ");
      print_json_string(out, dispatch_label(p, di));
      fprintf(out, ", \"median_ms\": %.4f, \"kernels\": ", m / 1e6);
      print_json_string(out, kernels);
      fputc('}', out);
      first = 0;
    } else {
      fprintf(out, "%-64s %10.3f %6.1f%%  %s\n", dispatch_label(p, di), m / 1e6,
              med ? 100.0 * (double)m / (double)med : 0.0, kernels);
    }
  }
  if (o->json) fprintf(out, "]}\n");
  free(col);
}

/* One traced run: "X" events per kernel and worker slot, named after the dispatch. */
static KilnStatus write_trace(CpuProgram *p, BenchData *b, const char *path, Diag *d) {
  size_t n = (size_t)p->n_kernels * p->threads * 2;
  p->trace = calloc(n + 1, sizeof *p->trace);
  if (!p->trace) return diag_error(d, KILN_ERR_NOMEM, "out of memory for the trace");
  int64_t t0 = now_ns();
  KilnStatus st = cpu_run(p, (const void *const *)b->ins, b->outs, NULL, d);
  FILE *f = st ? NULL : fopen(path, "w");
  if (!st && !f) st = diag_error(d, KILN_ERR_IO, "%s: cannot write the trace", path);
  if (f) {
    fprintf(f, "{\"traceEvents\": [\n");
    int first = 1;
    for (int k = 0; k < p->n_kernels; k++)
      for (size_t s = 0; s < p->threads; s++) {
        const int64_t *e = &p->trace[((size_t)k * p->threads + s) * 2];
        if (!e[0]) continue;
        fprintf(f, "%s{\"name\": ", first ? "" : ",\n");
        print_json_string(f, dispatch_label(p, p->kernels[k].dispatch));
        fprintf(f, ", \"cat\": \"dispatch\", \"ph\": \"X\", \"pid\": 1, \"tid\": %zu, "
                "\"ts\": %.3f, \"dur\": %.3f, \"args\": {\"kernel\": %d}}",
                s, (e[0] - t0) / 1e3, (e[1] - e[0]) / 1e3, k);
        first = 0;
      }
    fprintf(f, "\n]}\n");
    if (fclose(f)) st = diag_error(d, KILN_ERR_IO, "%s: write failed", path);
  }
  free(p->trace);
  p->trace = NULL;
  for (size_t s = 0; s < p->threads; s++) atomic_store(&p->trace_slots[s], 0);
  return st;
}

KilnStatus cpu_bench(CpuProgram *p, const BenchOptions *opt, FILE *out, Diag *d) {
  BenchOptions o = *opt;
  if (o.iterations <= 0) o.iterations = 20;
  if (o.warmup <= 0) o.warmup = 3;
  BenchData b = {0};
  KilnStatus st = bench_alloc(p, o.iterations, &b, d);
  if (!st) st = timed_runs(p, &o, &b, d);
  if (!st) report(p, &o, &b, out);
  if (!st && o.trace) st = write_trace(p, &b, o.trace, d);
  bench_free(p, &b);
  return st;
}
