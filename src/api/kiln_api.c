/* kiln_api.c — the public C API (include/kiln/kiln.h) over the driver, the CPU backend and
 * the .kiln artifact. A model is: its module (compiled here, or parsed from a .kiln
 * file), the lowered CpuProgram, its I/O descriptions and a lock that serializes runs
 * (one arena per model). Errors go to a thread-local message. */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "kiln/kiln.h"

#include "backend/cpu/backend.h"
#include "dispatch/dispatch.h"
#include "driver/driver.h"
#include "import/import.h"
#include "runtime/artifact.h"

struct kiln_model {
  Module *module;           /* owned unless art is set (then art owns it) */
  Artifact *art;
  CpuProgram *prog;
  kiln_tensor_info *inputs, *outputs;
  pthread_mutex_t lock;
};

static _Thread_local char last_error[1024];

const char *kiln_last_error(void) { return last_error; }
const char *kiln_version(void) { return KILN_VERSION; }

static kiln_status fail(const Diag *d, KilnStatus st) {
  snprintf(last_error, sizeof last_error, "%s", d->msg[0] ? d->msg : status_name(st));
  return (kiln_status)st;
}

static kiln_status fail_msg(kiln_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return st;
}

static void describe(const Value *v, const char *name, kiln_tensor_info *info) {
  memset(info, 0, sizeof *info);
  info->name = name ? name : "";
  info->dtype = (kiln_dtype)v->type.dtype;
  info->rank = v->type.rank;
  for (int i = 0; i < v->type.rank && i < KILN_MAX_DIMS; i++) info->dims[i] = v->type.dims[i];
  info->nbytes = (size_t)type_nbytes(&v->type);
}

/* Lowers the module and fills the I/O descriptions; takes ownership of m / art. */
static KilnStatus finish_model(Module *m, Artifact *art, const kiln_options *opt,
                               kiln_model **out, Diag *d) {
  kiln_model *km = calloc(1, sizeof *km);
  if (!km) {
    if (art) artifact_free(art);
    else module_free(m);
    return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  }
  km->module = m, km->art = art;
  pthread_mutex_init(&km->lock, NULL);
  const Func *f = m->main;
  CpuLowerOptions lo = {.threads = opt && opt->threads > 0 ? (size_t)opt->threads : 0,
                        .packed = art ? art->packed : NULL, .n_packed = art ? art->n_packed : 0};
  KilnStatus st = cpu_lower(m, f, &lo, &km->prog, d);
  km->inputs = calloc((size_t)f->n_args + 1, sizeof *km->inputs);
  km->outputs = calloc((size_t)f->n_results + 1, sizeof *km->outputs);
  if (!st && (!km->inputs || !km->outputs)) st = diag_error(d, KILN_ERR_NOMEM, "out of memory");
  for (int i = 0; !st && i < f->n_args; i++)
    describe(f->args[i], f->arg_names ? f->arg_names[i] : NULL, &km->inputs[i]);
  for (int i = 0; !st && i < f->n_results; i++)
    describe(f->results[i], f->result_names ? f->result_names[i] : NULL, &km->outputs[i]);
  if (st) {
    kiln_model_free(km);
    return st;
  }
  *out = km;
  return KILN_OK;
}

static KilnStatus compile_module(Module *m, const kiln_options *opt, kiln_model **out,
                                 Diag *d) {
  CompileOptions co = {.form_dispatches = true, .target = opt ? opt->target : NULL};
  KilnStatus st = driver_compile(m, &co, NULL, 0, NULL, d);
  if (st) {
    module_free(m);
    return st;
  }
  return finish_model(m, NULL, opt, out, d);
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

kiln_status kiln_compile_file(const char *path, const kiln_options *opt, kiln_model **out) {
  Diag d = {0};
  Module *m = NULL;
  KilnStatus st;
  if (!path || !out) return fail_msg(KILN_STATUS_INVALID, "kiln_compile_file: NULL argument");
  *out = NULL;
  if (has_suffix(path, ".mlir")) {
    uint8_t *text;
    size_t len;
    st = file_read_all(path, &text, &len, &d);
    if (!st) {
      st = module_parse((const char *)text, len, path, &m, &d);
      free(text);
    }
  } else {
    st = onnx_import_file(path, &m, &d);
  }
  if (!st) st = compile_module(m, opt, out, &d);
  return st ? fail(&d, st) : KILN_STATUS_OK;
}

kiln_status kiln_compile_memory(const void *onnx, size_t size, const char *what,
                                const kiln_options *opt, kiln_model **out) {
  Diag d = {0};
  Module *m = NULL;
  if (!onnx || !out) return fail_msg(KILN_STATUS_INVALID, "kiln_compile_memory: NULL argument");
  *out = NULL;
  KilnStatus st = onnx_import(onnx, size, NULL, &m, &d);
  if (!st) st = compile_module(m, opt, out, &d);
  if (st && what && strncmp(d.msg, what, strlen(what))) { /* name the bytes in the message */
    char msg[sizeof d.msg];
    snprintf(msg, sizeof msg, "%.200s: %.800s", what, d.msg);
    memcpy(d.msg, msg, sizeof msg);
  }
  return st ? fail(&d, st) : KILN_STATUS_OK;
}

kiln_status kiln_save(const kiln_model *m, const char *path) {
  Diag d = {0};
  if (!m || !path) return fail_msg(KILN_STATUS_INVALID, "kiln_save: NULL argument");
  KilnStatus st = artifact_write(m->module, m->prog, path, &d);
  return st ? fail(&d, st) : KILN_STATUS_OK;
}

kiln_status kiln_load(const char *path, const kiln_options *opt, kiln_model **out) {
  Diag d = {0};
  Artifact *a;
  if (!path || !out) return fail_msg(KILN_STATUS_INVALID, "kiln_load: NULL argument");
  *out = NULL;
  KilnStatus st = artifact_load(path, &a, &d);
  if (!st) st = finish_model(a->module, a, opt, out, &d);
  return st ? fail(&d, st) : KILN_STATUS_OK;
}

void kiln_model_free(kiln_model *m) {
  if (!m) return;
  cpu_program_free(m->prog);
  if (m->art) artifact_free(m->art);
  else module_free(m->module);
  free(m->inputs);
  free(m->outputs);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

int kiln_num_inputs(const kiln_model *m) { return m ? m->module->main->n_args : 0; }
int kiln_num_outputs(const kiln_model *m) { return m ? m->module->main->n_results : 0; }
size_t kiln_threads(const kiln_model *m) { return m ? m->prog->threads : 0; }

static kiln_status info(const kiln_model *m, int i, bool input, kiln_tensor_info *out) {
  int n = input ? kiln_num_inputs(m) : kiln_num_outputs(m);
  if (!m || !out) return fail_msg(KILN_STATUS_INVALID, "kiln_%s_info: NULL argument", input ? "input" : "output");
  if (i < 0 || i >= n)
    return fail_msg(KILN_STATUS_INVALID, "%s index %d out of range: the model has %d",
                    input ? "input" : "output", i, n);
  *out = input ? m->inputs[i] : m->outputs[i];
  return KILN_STATUS_OK;
}

kiln_status kiln_input_info(const kiln_model *m, int i, kiln_tensor_info *out) {
  return info(m, i, true, out);
}
kiln_status kiln_output_info(const kiln_model *m, int i, kiln_tensor_info *out) {
  return info(m, i, false, out);
}

kiln_status kiln_run(kiln_model *m, const void *const *inputs, void *const *outputs) {
  Diag d = {0};
  if (!m || (!inputs && kiln_num_inputs(m)) || (!outputs && kiln_num_outputs(m)))
    return fail_msg(KILN_STATUS_INVALID, "kiln_run: NULL argument");
  for (int i = 0; i < kiln_num_inputs(m); i++)
    if (!inputs[i] && m->inputs[i].nbytes)
      return fail_msg(KILN_STATUS_INVALID, "kiln_run: input %d '%s' is NULL", i, m->inputs[i].name);
  for (int i = 0; i < kiln_num_outputs(m); i++)
    if (!outputs[i] && m->outputs[i].nbytes)
      return fail_msg(KILN_STATUS_INVALID, "kiln_run: output %d '%s' is NULL", i, m->outputs[i].name);
  pthread_mutex_lock(&m->lock);
  KilnStatus st = cpu_run(m->prog, inputs, outputs, NULL, &d);
  pthread_mutex_unlock(&m->lock);
  return st ? fail(&d, st) : KILN_STATUS_OK;
}

/* Runs `print` into a malloc'd string. */
static kiln_status to_string(char **json, KilnStatus (*print)(void *, FILE *, Diag *), void *ctx) {
  Diag d = {0};
  size_t len;
  if (!json) return fail_msg(KILN_STATUS_INVALID, "NULL argument");
  *json = NULL;
  FILE *f = open_memstream(json, &len);
  if (!f) return fail_msg(KILN_STATUS_NOMEM, "out of memory");
  KilnStatus st = print(ctx, f, &d);
  fclose(f);
  if (st) {
    free(*json);
    *json = NULL;
    return fail(&d, st);
  }
  return KILN_STATUS_OK;
}

static KilnStatus print_report(void *ctx, FILE *f, Diag *d) {
  const kiln_model *m = ctx;
  ReportOptions ro = {.json = true, .arena_bytes = m->prog->arena_bytes};
  return dispatch_report(m->module->main, NULL, &ro, f, d);
}

kiln_status kiln_report_json(const kiln_model *m, char **json) {
  if (!m) return fail_msg(KILN_STATUS_INVALID, "kiln_report_json: NULL model");
  return to_string(json, print_report, (void *)m);
}

typedef struct BenchCtx {
  kiln_model *m;
  int iterations;
} BenchCtx;

static KilnStatus print_bench(void *ctx, FILE *f, Diag *d) {
  BenchCtx *b = ctx;
  BenchOptions bo = {.iterations = b->iterations, .json = true};
  pthread_mutex_lock(&b->m->lock);
  KilnStatus st = cpu_bench(b->m->prog, &bo, f, d);
  pthread_mutex_unlock(&b->m->lock);
  return st;
}

kiln_status kiln_bench_json(kiln_model *m, int iterations, char **json) {
  if (!m) return fail_msg(KILN_STATUS_INVALID, "kiln_bench_json: NULL model");
  if (iterations < 0) return fail_msg(KILN_STATUS_INVALID, "kiln_bench_json: iterations < 0");
  BenchCtx b = {m, iterations};
  return to_string(json, print_bench, &b);
}

void kiln_free(void *p) { free(p); }
