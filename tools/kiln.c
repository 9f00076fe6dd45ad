/* kiln.c — the command-line face of Kiln: one binary, one subcommand per job, in the
 * style of iree-compile / iree-run-module.
 *
 *   kiln print MODEL            the IR after import (MLIR text)
 *   kiln run MODEL [...]        run on .npy or random inputs, write one .npy per output
 *
 * MODEL is an ONNX file, or Kiln MLIR text when its name ends in ".mlir". Every error is
 * one line "kiln: error: ..." on stderr and exit status 1; usage errors exit 2. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/cpu/backend.h"
#include "driver/driver.h"
#include "runtime/artifact.h"
#include "import/import.h"
#include "interp/interp.h"
#include "ir/ir.h"

enum { EXIT_ERR = 1, EXIT_USAGE = 2 };

typedef struct Command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
  const char *usage;
} Command;

static int fail(const Diag *d) {
  fprintf(stderr, "kiln: error: %s\n", d->msg[0] ? d->msg : status_name(d->status));
  return EXIT_ERR;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "kiln %s: ", cmd);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(see 'kiln %s --help')\n", cmd);
  return EXIT_USAGE;
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

/* Matches "--name=value" or "--name value"; advances *i past what it used. */
static const char *flag_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] == 0 && *i + 1 < argc) return argv[++*i];
  return NULL;
}

/* ---- loading ------------------------------------------------------------- */

static KilnStatus load_model(const char *path, Module **out, Diag *d) {
  *out = NULL;
  if (!has_suffix(path, ".mlir")) return onnx_import_file(path, out, d);
  uint8_t *text;
  size_t len;
  KilnStatus st = file_read_all(path, &text, &len, d);
  if (st) return st;
  /* Kiln's own text has "kiln.* ops in generic form; anything else is upstream MLIR. */
  if (mlir_is_kiln_text((const char *)text, len)) st = module_parse((const char *)text, len, path, out, d);
  else st = mlir_upstream_import((const char *)text, len, path, out, d);
  free(text);
  return st;
}

/* ---- tensors <-> .npy ------------------------------------------------------ */

static const char *const dtype_descr[KILN_DTYPE_COUNT] = {
  [KILN_F32] = "<f4", [KILN_F16] = "<f2", [KILN_BF16] = "<u2", [KILN_I8] = "|i1",
  [KILN_U8] = "|u1",  [KILN_I32] = "<i4", [KILN_I64] = "<i8",  [KILN_BOOL] = "|b1",
};

static KilnStatus tensor_from_npy(const char *path, const Value *arg, const char *arg_name,
                                  Tensor **out, Diag *d) {
  NpyArray a;
  KilnStatus st = npy_read(path, &a, d);
  if (st) return st;
  char want[160], got[160] = "";
  type_str(&arg->type, want, sizeof want);
  for (int i = 0; i < a.rank; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "x" : "", (long long)a.dims[i]);
  bool same = strcmp(a.descr, dtype_descr[arg->type.dtype]) == 0 && a.rank == arg->type.rank;
  for (int i = 0; same && i < a.rank; i++) same = a.dims[i] == arg->type.dims[i];
  if (!same) {
    diag_error(d, KILN_ERR_INVALID, "%s: input '%s' expects %s, the file holds %s of dtype '%s'",
               path, arg_name, want, got[0] ? got : "a scalar", a.descr);
    npy_free(&a);
    return KILN_ERR_INVALID;
  }
  Tensor *t = tensor_new(arg->type);
  if (!t) {
    npy_free(&a);
    return diag_error(d, KILN_ERR_NOMEM, "%s: out of memory", path);
  }
  memcpy(t->data, a.data, t->nbytes);
  npy_free(&a);
  *out = t;
  return KILN_OK;
}

static void print_summary(const char *name, const Tensor *t) {
  char ty[160];
  int64_t n = type_numel(&t->type);
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = tensor_get_f(t, i);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    sum += v;
  }
  printf("  %-24s %-28s min %-12.6g max %-12.6g mean %.6g\n", name,
         type_str(&t->type, ty, sizeof ty), lo, hi, n ? sum / (double)n : 0.0);
}

/* Output files are named after the graph output, with path separators made safe. */
static void output_path(char *buf, size_t n, const char *dir, const char *name) {
  int k = snprintf(buf, n, "%s/", dir);
  for (const char *p = name; *p && (size_t)k + 5 < n; p++)
    buf[k++] = (strchr("/\\:", *p) || (unsigned char)*p < 32) ? '_' : *p;
  snprintf(buf + k, n - (size_t)k, ".npy");
}

/* ---- kiln print ---------------------------------------------------------- */

static int cmd_print(int argc, char **argv) {
  const char *model = NULL;
  PrintOptions opt = {.elide_above = 16};
  for (int i = 1; i < argc; i++) {
    const char *v;
    if ((v = flag_value(argc, argv, &i, "--elide-above"))) opt.elide_above = atoll(v);
    else if (!strcmp(argv[i], "--emit-resources")) opt.emit_resources = true;
    else if (argv[i][0] == '-') return usage_error("print", "unknown option '%s'", argv[i]);
    else if (model) return usage_error("print", "unexpected argument '%s'", argv[i]);
    else model = argv[i];
  }
  if (!model) return usage_error("print", "%s", "missing MODEL");
  Diag d = {0};
  Module *m;
  if (load_model(model, &m, &d)) return fail(&d);
  module_print(m, stdout, &opt);
  module_free(m);
  return 0;
}

/* ---- kiln run ------------------------------------------------------------ */

typedef struct RunArgs {
  const char *model, *out_dir;
  const char *inputs[64];
  int n_inputs;
  bool random, no_optimize, interp;
  uint64_t seed;
  long threads;
  DispatchOptions dispatch;   /* --fuse-conv-chains, --fuse-multi-use */
  const char *target;
} RunArgs;

static int parse_run_args(int argc, char **argv, RunArgs *a) {
  for (int i = 1; i < argc; i++) {
    const char *v;
    if ((v = flag_value(argc, argv, &i, "--input"))) {
      if (a->n_inputs == (int)ARRAY_LEN(a->inputs)) return usage_error("run", "%s", "too many --input");
      a->inputs[a->n_inputs++] = v;
    } else if ((v = flag_value(argc, argv, &i, "--random-inputs"))) {
      char *end;
      a->random = true;
      a->seed = strtoull(v, &end, 10);
      if (*end || !*v) return usage_error("run", "--random-inputs needs an integer SEED, got '%s'", v);
    } else if ((v = flag_value(argc, argv, &i, "--output-dir"))) {
      a->out_dir = v;
    } else if (!strcmp(argv[i], "--no-optimize")) {
      a->no_optimize = a->interp = true;
    } else if (!strcmp(argv[i], "--interp")) {
      a->interp = true;
    } else if (!strcmp(argv[i], "--fuse-conv-chains")) {
      a->dispatch.fuse_conv_chains = true;
    } else if (!strcmp(argv[i], "--fuse-multi-use")) {
      a->dispatch.fuse_multi_use = true;
    } else if ((v = flag_value(argc, argv, &i, "--target"))) {
      a->target = v;
    } else if ((v = flag_value(argc, argv, &i, "--threads"))) {
      char *end;
      a->threads = strtol(v, &end, 10);
      if (*end || !*v || a->threads < 1 || a->threads > 1024)
        return usage_error("run", "--threads needs an integer in [1, 1024], got '%s'", v);
    } else if (argv[i][0] == '-') {
      return usage_error("run", "unknown option '%s'", argv[i]);
    } else if (a->model) {
      return usage_error("run", "unexpected argument '%s'", argv[i]);
    } else {
      a->model = argv[i];
    }
  }
  if (!a->model) return usage_error("run", "%s", "missing MODEL");
  if (a->random && a->n_inputs) return usage_error("run", "%s", "give --input files or --random-inputs, not both");
  return 0;
}

static KilnStatus make_inputs(const Func *f, const RunArgs *a, Tensor **ins, Diag *d) {
  if (!a->random && a->n_inputs != f->n_args)
    return diag_error(d, KILN_ERR_INVALID, "the model has %d inputs, %d --input files given%s",
                      f->n_args, a->n_inputs, a->n_inputs ? "" : " (or use --random-inputs SEED)");
  if (a->random) return driver_random_inputs(f, a->seed, ins, d);
  for (int i = 0; i < f->n_args; i++) {
    const char *name = f->arg_names[i] ? f->arg_names[i] : "?";
    KilnStatus st = tensor_from_npy(a->inputs[i], f->args[i], name, &ins[i], d);
    if (st) return st;
  }
  return KILN_OK;
}

static KilnStatus write_outputs(const Func *f, Tensor **outs, const char *dir, Diag *d) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return diag_error(d, KILN_ERR_IO, "%s: cannot create output directory: %s", dir, strerror(errno));
  for (int i = 0; i < f->n_results; i++) {
    char path[4096];
    output_path(path, sizeof path, dir, f->result_names[i]);
    const Tensor *t = outs[i];
    KilnStatus st = npy_write(path, dtype_descr[t->type.dtype], t->type.rank, t->type.dims,
                              t->data, t->nbytes, d);
    if (st) return st;
    printf("  wrote %s\n", path);
  }
  return KILN_OK;
}

/* A .kiln file is loaded as it is; any other model is imported and optimized (and its
 * dispatches formed when `form`), unless no_optimize. */
static KilnStatus load_or_compile(const char *path, bool form, bool no_optimize,
                                  const DispatchOptions *dopt, const char *target,
                                  Artifact **art, Module **m, Diag *d) {
  *art = NULL;
  if (has_suffix(path, ".kiln")) {
    KilnStatus st = artifact_load(path, art, d);
    *m = st ? NULL : (*art)->module;
    return st;
  }
  KilnStatus st = load_model(path, m, d);
  CompileOptions copt = {.form_dispatches = form, .target = target};
  if (dopt) copt.dispatch = *dopt;
  if (!st && !no_optimize) st = driver_compile(*m, &copt, NULL, 0, NULL, d);
  if (st) {
    module_free(*m);
    *m = NULL;
  }
  return st;
}

static void close_model(Artifact *art, Module *m) {
  if (art) artifact_free(art);
  else module_free(m);
}

/* Result tensors of f's types, for the compiled backend to write into. */
static KilnStatus alloc_outputs(const Func *f, Tensor **outs, Diag *d) {
  for (int i = 0; i < f->n_results; i++)
    if (!(outs[i] = tensor_new(f->results[i]->type)))
      return diag_error(d, KILN_ERR_NOMEM, "out of memory for output %d", i);
  return KILN_OK;
}

static KilnStatus run_compiled(const Module *m, const Artifact *art, const RunArgs *a,
                               Tensor **ins, Tensor **outs, Diag *d) {
  const Func *f = m->main;
  CpuProgram *p;
  CpuLowerOptions lo = {.threads = (size_t)a->threads, .packed = art ? art->packed : NULL,
                        .n_packed = art ? art->n_packed : 0};
  KilnStatus st = cpu_lower(m, f, &lo, &p, d);
  if (st) return st;
  const void **in_ptrs = calloc((size_t)f->n_args + 1, sizeof *in_ptrs);
  void **out_ptrs = calloc((size_t)f->n_results + 1, sizeof *out_ptrs);
  if (!in_ptrs || !out_ptrs) st = diag_error(d, KILN_ERR_NOMEM, "out of memory");
  for (int i = 0; !st && i < f->n_args; i++) in_ptrs[i] = ins[i]->data;
  if (!st) st = alloc_outputs(f, outs, d);
  for (int i = 0; !st && i < f->n_results; i++) out_ptrs[i] = outs[i]->data;
  if (!st) st = cpu_run(p, in_ptrs, out_ptrs, NULL, d);
  free(in_ptrs);
  free(out_ptrs);
  cpu_program_free(p);
  return st;
}

static int cmd_run(int argc, char **argv) {
  RunArgs a = {0};
  int rc = parse_run_args(argc, argv, &a);
  if (rc) return rc;
  Diag d = {0};
  Module *m;
  Artifact *art = NULL;
  if (load_or_compile(a.model, !a.interp, a.no_optimize, &a.dispatch, a.target, &art, &m, &d))
    return fail(&d);
  const Func *f = m->main;
  Tensor **ins = calloc((size_t)f->n_args + 1, sizeof *ins);
  Tensor **outs = calloc((size_t)f->n_results + 1, sizeof *outs);
  KilnStatus st = ins && outs ? make_inputs(f, &a, ins, &d)
                              : diag_error(&d, KILN_ERR_NOMEM, "out of memory");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (!st) st = a.interp ? interp_run(f, ins, outs, &d) : run_compiled(m, art, &a, ins, outs, &d);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (!st) {
    printf("ran %s with %s in %.3f s\n", a.model,
           a.interp ? "the reference interpreter" : "the CPU backend",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    for (int i = 0; i < f->n_results; i++) print_summary(f->result_names[i], outs[i]);
    if (a.out_dir) st = write_outputs(f, outs, a.out_dir, &d);
  }
  for (int i = 0; ins && i < f->n_args; i++) tensor_free(ins[i]);
  for (int i = 0; outs && i < f->n_results; i++) tensor_free(outs[i]);
  free(ins);
  free(outs);
  close_model(art, m);
  return st ? fail(&d) : 0;
}

/* ---- kiln bench ---------------------------------------------------------- */

static int parse_count(const char *cmd, const char *flag, const char *v, long lo, long hi, int *out) {
  char *end;
  long x = strtol(v, &end, 10);
  if (*end || !*v || x < lo || x > hi) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s needs an integer in [%ld, %ld], got '%%s'", flag, lo, hi);
    return usage_error(cmd, msg, v);
  }
  *out = (int)x;
  return 0;
}

static int cmd_bench(int argc, char **argv) {
  BenchOptions bo = {0};
  DispatchOptions dopt = {0};
  const char *target = NULL;
  int threads = 0, rc = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *v;
    if ((v = flag_value(argc, argv, &i, "--threads"))) rc = parse_count("bench", "--threads", v, 1, 1024, &threads);
    else if ((v = flag_value(argc, argv, &i, "--iterations"))) rc = parse_count("bench", "--iterations", v, 1, 1000000, &bo.iterations);
    else if ((v = flag_value(argc, argv, &i, "--warmup"))) rc = parse_count("bench", "--warmup", v, 1, 1000, &bo.warmup);
    else if ((v = flag_value(argc, argv, &i, "--trace"))) bo.trace = v;
    else if ((v = flag_value(argc, argv, &i, "--target"))) target = v;
    else if (!strcmp(argv[i], "--json")) bo.json = true;
    else if (!strcmp(argv[i], "--fuse-conv-chains")) dopt.fuse_conv_chains = true;
    else if (!strcmp(argv[i], "--fuse-multi-use")) dopt.fuse_multi_use = true;
    else if (argv[i][0] == '-') rc = usage_error("bench", "unknown option '%s'", argv[i]);
    else if (bo.model) rc = usage_error("bench", "unexpected argument '%s'", argv[i]);
    else bo.model = argv[i];
  }
  if (rc) return rc;
  if (!bo.model) return usage_error("bench", "%s", "missing MODEL");
  Diag d = {0};
  Module *m;
  Artifact *art;
  CpuProgram *p = NULL;
  if (load_or_compile(bo.model, true, false, &dopt, target, &art, &m, &d)) return fail(&d);
  CpuLowerOptions lo = {.threads = (size_t)threads, .packed = art ? art->packed : NULL,
                        .n_packed = art ? art->n_packed : 0};
  KilnStatus st = cpu_lower(m, m->main, &lo, &p, &d);
  if (!st) st = cpu_bench(p, &bo, stdout, &d);
  cpu_program_free(p);
  close_model(art, m);
  return st ? fail(&d) : 0;
}

/* ---- graph statistics (kiln compile --stats) ----------------------------- */

static bool is_boundary_transpose(const Op *op) {
  return !op->in[0]->def || value_is_result(op->out[0]);
}

static bool is_nchw_conv(const Op *op) {
  return (op->kind == KILN_OP_CONV2D || op->kind == KILN_OP_DEPTHWISE_CONV2D ||
          op->kind == KILN_OP_POOL2D) && op->attrs.layout == LAYOUT_NCHW;
}

/* One JSON object: op counts by kind and the layout figures the pipeline is judged by. */
static void print_stats(const Func *f) {
  int by_kind[KILN_OP_COUNT] = {0}, boundary = 0, inner = 0, nchw = 0, ops = 0;
  for (const Op *op = f->first; op; op = op->next, ops++) {
    by_kind[op->kind]++;
    if (op->kind == KILN_OP_TRANSPOSE) is_boundary_transpose(op) ? boundary++ : inner++;
    nchw += is_nchw_conv(op);
  }
  printf("{\"ops\": %d, \"transposes\": %d, \"boundary_transposes\": %d, "
         "\"non_boundary_transposes\": %d, \"reshapes\": %d, \"nchw_convs\": %d, "
         "\"conv_transposes_nchw\": %d, \"by_kind\": {", ops, boundary + inner, boundary, inner,
         by_kind[KILN_OP_RESHAPE] + by_kind[KILN_OP_COLLAPSE_SHAPE] + by_kind[KILN_OP_EXPAND_SHAPE],
         nchw, by_kind[KILN_OP_CONV_TRANSPOSE2D]);
  const char *sep = "";
  for (int k = 0; k < KILN_OP_COUNT; k++) {
    if (!by_kind[k]) continue;
    printf("%s\"%s\": %d", sep, op_kind_name((OpKind)k), by_kind[k]);
    sep = ", ";
  }
  printf("}}\n");
}

/* ---- kiln compile / kiln verify ------------------------------------------ */

static void list_passes(void) {
  int n, np;
  const Pass *const *all = pass_all(&n);
  const Pass *const *pipe = pipeline_passes(&np);
  printf("default pipeline, in order:\n");
  for (int i = 0; i < np; i++) printf("  %2d. %-22s %s\n", i + 1, pipe[i]->name, pipe[i]->summary);
  printf("all passes (for --passes=a,b,...):\n");
  for (int i = 0; i < n; i++) printf("  %-22s %s\n", all[i]->name, all[i]->summary);
}

typedef struct CompileArgs {
  const char *model, *out, *dump_dir;
  bool emit_ir, emit_mlir, list, stats;
  CompileOptions opt;
} CompileArgs;

static int parse_compile_args(const char *cmd, int argc, char **argv, CompileArgs *a) {
  a->opt.print.elide_above = 16;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if ((v = flag_value(argc, argv, &i, "--print-ir-after"))) a->opt.print_after = v;
    else if ((v = flag_value(argc, argv, &i, "--print-ir-before"))) a->opt.print_before = v;
    else if ((v = flag_value(argc, argv, &i, "--passes"))) a->opt.passes = v;
    else if ((v = flag_value(argc, argv, &i, "--seed"))) a->opt.seed = strtoull(v, NULL, 10);
    else if ((v = flag_value(argc, argv, &i, "--elide-above"))) a->opt.print.elide_above = atoll(v);
    else if ((v = flag_value(argc, argv, &i, "-o"))) a->out = v;
    else if ((v = flag_value(argc, argv, &i, "--target"))) a->opt.target = v;
    else if (!strcmp(argv[i], "--print-ir-after-all")) a->opt.print_after_all = true;
    else if (!strcmp(argv[i], "--verify-each")) a->opt.verify_each = true;
    else if (!strcmp(argv[i], "--timing")) a->opt.timing = true;
    else if (!strcmp(argv[i], "--emit-ir")) a->emit_ir = true;
    else if (!strcmp(argv[i], "--emit-mlir")) a->emit_mlir = true;
    else if (!strcmp(argv[i], "--emit-mlir=mlir16")) a->emit_mlir = a->opt.print.mlir16 = true;
    else if (!strcmp(argv[i], "--list-passes")) a->list = true;
    else if (!strcmp(argv[i], "--stats")) a->stats = true;
    else if ((v = flag_value(argc, argv, &i, "--dump-dispatches"))) a->dump_dir = v;
    else if (!strcmp(argv[i], "--form-dispatches")) a->opt.form_dispatches = true;
    else if (!strcmp(argv[i], "--fuse-multi-use")) a->opt.dispatch.fuse_multi_use = true;
    else if (!strcmp(argv[i], "--fuse-conv-chains")) a->opt.dispatch.fuse_conv_chains = true;
    else if (!strcmp(argv[i], "--emit-resources")) a->opt.print.emit_resources = true;
    else if (argv[i][0] == '-') return usage_error(cmd, "unknown option '%s'", argv[i]);
    else if (a->model) return usage_error(cmd, "unexpected argument '%s'", argv[i]);
    else a->model = argv[i];
  }
  if (!a->model && !a->list) return usage_error(cmd, "%s", "missing MODEL");
  Target t;
  Diag d = {0};
  if (a->opt.target && target_parse(a->opt.target, &t, &d)) return fail(&d); /* before loading */
  a->opt.form_dispatches |= a->dump_dir || a->opt.dispatch.fuse_multi_use ||
                            a->opt.dispatch.fuse_conv_chains ||
                            (a->opt.print_after && !strcmp(a->opt.print_after, DISPATCH_PASS_NAME));
  return 0;
}

/* Lowers the dispatch-formed module for this CPU and writes it as a .kiln file. */
static KilnStatus write_artifact(const Module *m, const char *path, Diag *d) {
  CpuProgram *p;
  KilnStatus st = cpu_lower(m, m->main, NULL, &p, d);
  if (st) return st;
  st = artifact_write(m, p, path, d);
  cpu_program_free(p);
  if (!st) fprintf(stderr, "wrote %s\n", path);
  return st;
}

static int cmd_compile(int argc, char **argv) {
  CompileArgs a = {0};
  int rc = parse_compile_args("compile", argc, argv, &a);
  if (rc) return rc;
  if (a.list) {
    list_passes();
    return 0;
  }
  Diag d = {0};
  Module *m;
  bool artifact = a.out && has_suffix(a.out, ".kiln");
  if (load_model(a.model, &m, &d)) return fail(&d);
  a.opt.form_dispatches |= artifact;
  KilnStatus st = driver_compile(m, &a.opt, NULL, 0, NULL, &d);
  if (!st && artifact) {
    st = write_artifact(m, a.out, &d);
    a.out = NULL;
  }
  FILE *out = NULL;
  if (!st && a.out && !(out = fopen(a.out, "w")))
    st = diag_error(&d, KILN_ERR_IO, "%s: cannot write: %s", a.out, strerror(errno));
  if (!st && a.emit_ir) module_print(m, stdout, &a.opt.print);
  if (!st && a.emit_mlir) module_print_upstream(m, stdout, &a.opt.print);
  if (!st && a.stats) print_stats(m->main);
  if (!st && a.dump_dir) st = dispatch_dump(m, a.dump_dir, &d);
  if (out) {
    module_print(m, out, &a.opt.print);
    fclose(out);
  }
  module_free(m);
  return st ? fail(&d) : 0;
}

static int cmd_verify(int argc, char **argv) {
  CompileArgs a = {0};
  int rc = parse_compile_args("verify", argc, argv, &a);
  if (rc) return rc;
  a.opt.verify_each = true;
  Diag d = {0};
  Module *m;
  if (load_model(a.model, &m, &d)) return fail(&d);
  PassCheck rows[64];
  int n = 0;
  KilnStatus st = driver_compile(m, &a.opt, rows, (int)ARRAY_LEN(rows), &n, &d);
  printf("%-24s %12s %12s %8s\n", "pass", "max abs err", "rel L2 err", "ops");
  for (int i = 0; i < n; i++)
    printf("%-24s %12.3g %12.3g %8d\n", rows[i].pass, rows[i].max_abs, rows[i].rel_l2, rows[i].ops_after);
  module_free(m);
  if (st) return fail(&d);
  printf("verify: %d passes checked on random inputs (seed %llu): structure ok, outputs within "
         "rel L2 %g and max abs %g of range\n", n, (unsigned long long)a.opt.seed, VERIFY_REL_L2,
         VERIFY_MAX_ABS_OF_RANGE);
  return 0;
}

/* ---- kiln report ------------------------------------------------------- */

/* Optimizes, forms dispatches and prints the dispatch table (src/dispatch/report.c). */
static int cmd_report(int argc, char **argv) {
  CompileArgs a = {0};
  ReportOptions ro = {0};
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int n = 0;
  if (!rest) return EXIT_ERR;
  for (int i = 0; i < argc; i++) {
    const char *v;
    if (!strcmp(argv[i], "--json")) ro.json = true;
    else if (!strcmp(argv[i], "--why-not-fused")) ro.why_not_fused = true;
    else if ((v = flag_value(argc, argv, &i, "--graph"))) ro.graph = v;
    else rest[n++] = argv[i];
  }
  int rc = parse_compile_args("report", n, rest, &a);
  free(rest);
  if (rc) return rc;
  DispatchExplain why = {0};
  a.opt.form_dispatches = true;
  a.opt.dispatch.explain = &why;
  Diag d = {0};
  Module *m;
  if (load_model(a.model, &m, &d)) return fail(&d);
  KilnStatus st = driver_compile(m, &a.opt, NULL, 0, NULL, &d);
  CpuProgram *p = NULL;
  if (!st && !(st = cpu_lower(m, m->main, NULL, &p, &d))) ro.arena_bytes = p->arena_bytes;
  cpu_program_free(p);
  if (!st) st = dispatch_report(m->main, &why, &ro, stdout, &d);
  dispatch_explain_free(&why);
  module_free(m);
  return st ? fail(&d) : 0;
}

/* ---- kiln ops ---------------------------------------------------------- */

static int cmd_ops(int argc, char **argv) {
  if (argc > 1) return usage_error("ops", "unexpected argument '%s'", argv[1]);
  for (int i = 0; onnx_supported_op(i); i++) printf("%s\n", onnx_supported_op(i));
  return 0;
}

/* ---- dispatch ---------------------------------------------------------------- */

static const Command commands[] = {
  {"print", cmd_print, "print the IR of a model as MLIR text",
   "usage: kiln print MODEL [--elide-above N] [--emit-resources]\n"
   "  MODEL              an .onnx file, or Kiln MLIR text (.mlir)\n"
   "  --elide-above N    print constants with more than N elements as dense_resource\n"
   "                     handles (default 16)\n"
   "  --emit-resources   also print the elided data (dialect_resources section)\n"},
  {"compile", cmd_compile, "run the optimization pipeline (debug flags: print and verify passes)",
   "usage: kiln compile MODEL [-o OUT.mlir] [--emit-ir] [--emit-mlir[=mlir16]] [--stats] [--passes=P1,P2,...] [--target=T]\n"
   "                          [--print-ir-before=PASS] [--print-ir-after=PASS]\n"
   "                          [--print-ir-after-all] [--verify-each] [--timing]\n"
   "       kiln compile --list-passes\n"
   "  -o OUT.mlir             write the optimized IR\n"
   "  --emit-ir               print the optimized IR to stdout\n"
   "  --emit-mlir             print it in upstream MLIR syntax (linalg / tensor / arith,\n"
   "                          dispatches as flow.dispatch.region) to diff against IREE\n"
   "  --emit-mlir=mlir16      the same in MLIR 16's spelling, flow ops in generic form:\n"
   "                          what mlir-opt-16 --allow-unregistered-dialect parses\n"
   "  --emit-resources        print constants' data too (else large ones are handles)\n"
   "  --passes=P1,P2          run these passes instead of the default pipeline\n"
   "  --print-ir-before=PASS  print the IR before PASS (stdout)\n"
   "  --print-ir-after=PASS   print the IR after PASS (stdout)\n"
   "  --print-ir-after-all    print the IR after every pass\n"
   "  --verify-each           after every pass: structural verifier, then the reference\n"
   "                          interpreter on random inputs; a pass that changes the outputs\n"
   "                          beyond rel L2 1e-5 / max abs 1e-3 of range fails, named\n"
   "  --seed S                seed of those random inputs (default 0)\n"
   "  --timing                print each pass's time and op count (stderr)\n"
   "  --form-dispatches       after the pipeline, form dispatch regions (a step named\n"
   "                          dispatch-formation for --print-ir-after / --verify-each)\n"
   "  --fuse-multi-use        with it: fuse consumers of multi-use values, clone multi-use\n"
   "                          elementwise producers into each region (implies the above)\n"
   "  --fuse-conv-chains      with it: each inverted-residual block (1x1 expand, depthwise,\n"
   "                          squeeze-excitation, 1x1 project, residual add) as one region\n"
   "  --target=T              pad convs/matmuls to target T's tile sizes (pad-to-intrinsic):\n"
   "                          x86-avx2, x86-avx512, npu-4x4x8-c4, or\n"
   "                          custom:ow=N,oc=N,ic=N,cores=N (missing keys: 1)\n"
   "  --dump-dispatches=DIR   write each dispatch as DIR/<name>.mlir (implies\n"
   "                          --form-dispatches)\n"
   "  --stats                 print op counts after the pipeline as JSON: transposes\n"
   "                          (boundary = next to a graph input or output), reshapes,\n"
   "                          NCHW convs/pools, and every op kind\n"},
  {"verify", cmd_verify, "check every pass of the pipeline on a model, numerically",
   "usage: kiln verify MODEL [--seed S] [--passes=P1,P2,...]\n"
   "Runs the pipeline with --verify-each and prints, per pass, the largest absolute and\n"
   "relative L2 change of the outputs on random inputs. Exit 1 names the failing pass.\n"},
  {"report", cmd_report, "form dispatches and print one row per dispatch, with totals",
   "usage: kiln report MODEL [--json] [--graph=FILE.svg|FILE.dot] [--why-not-fused]\n"
   "                         [--fuse-multi-use] [--fuse-conv-chains] [--target=T] [compile options]\n"
   "Optimizes the model, forms dispatch regions and prints per dispatch: its IREE-style\n"
   "name, root, FLOPs, bytes read (activations, weights) and written across its boundary\n"
   "and its fused ops; then totals: dispatches, data-movement-only dispatches, transposes\n"
   "left, boundary bytes and the lower bound (number of roots).\n"
   "  --json            the same as JSON (keys dispatches, data_movement_dispatches,\n"
   "                    roots, boundary_bytes, rows, ...)\n"
   "  --graph=FILE      the dispatch graph as Graphviz dot (.svg: rendered with dot)\n"
   "  --why-not-fused   for each producer -> consumer edge between dispatches, the rule\n"
   "                    that kept them apart\n"},
  {"bench", cmd_bench, "time the compiled model: median/min/max latency, per dispatch",
   "usage: kiln bench MODEL [--threads N] [--iterations K] [--warmup W] [--json]\n"
   "                        [--trace=FILE.json] [--target=T] [--fuse-conv-chains]\n"
   "                        [--fuse-multi-use]\n"
   "Compiles MODEL for the CPU backend, runs it W times (default 3), then K timed times\n"
   "(default 20) on random inputs, and prints the median, min and max latency and each\n"
   "dispatch's median time and share.\n"
   "  --threads N        worker threads (default: one per core)\n"
   "  --json             the same as JSON (median_ms, min_ms, max_ms, dispatches, ...)\n"
   "  --trace=FILE.json  one more run traced as Chrome trace events (open in Perfetto or\n"
   "                     chrome://tracing): one slice per dispatch per worker thread\n"},
  {"ops", cmd_ops, "list the ONNX op types Kiln imports",
   "usage: kiln ops\nPrints one ONNX op type (default domain) per line.\n"},
  {"run", cmd_run, "run a model on .npy or random inputs",
   "usage: kiln run MODEL [--input FILE.npy]... [--random-inputs SEED] [--output-dir DIR]\n"
   "                      [--threads N] [--interp] [--no-optimize] [--target=T]\n"
   "                      [--fuse-conv-chains] [--fuse-multi-use]\n"
   "  MODEL              an .onnx file, or Kiln MLIR text (.mlir)\n"
   "  --input FILE.npy   one per graph input, in order (C order, exact dtype and shape)\n"
   "  --random-inputs S  fill every input from seed S instead (floats in [-1,1),\n"
   "                     integers in [0,4))\n"
   "  --output-dir DIR   write one DIR/<output name>.npy per graph output\n"
   "  --threads N        worker threads of the CPU backend (default: one per core)\n"
   "  --interp           run the optimized graph on the reference interpreter instead\n"
   "  --no-optimize      run the graph as imported on the reference interpreter\n"
   "  --target, --fuse-conv-chains, --fuse-multi-use: as for kiln compile\n"
   "Optimizes the model, forms dispatches, lowers them to the CPU backend and runs it;\n"
   "prints the time (compile excluded) and each output's shape, min, max and mean.\n"},
};

static void print_usage(FILE *out) {
  fprintf(out, "usage: kiln COMMAND [ARGS]   (kiln COMMAND --help for details)\n\ncommands:\n");
  for (size_t i = 0; i < ARRAY_LEN(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n  --version  print the version\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return EXIT_USAGE;
  }
  if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
    print_usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("kiln %s\nusable isa:", KILN_VERSION);
    const struct kiln_cpu_features *cpu = kiln_cpu_features();
    for (int isa = 0; isa <= (int)cpu->hw_isa; isa++)
      printf(" %s", kiln_isa_name((enum kiln_isa)isa));
    printf("\ncaches: L1d %zu KiB, L2 %zu KiB per core (0: CPUID does not say)\n",
           cpu->l1d_bytes / 1024, cpu->l2_bytes / 1024);
    return 0;
  }
  for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
    if (strcmp(argv[1], commands[i].name)) continue;
    for (int k = 2; k < argc; k++)
      if (is_help(argv[k])) {
        fputs(commands[i].usage, stdout);
        return 0;
      }
    return commands[i].run(argc - 1, argv + 1);
  }
  fprintf(stderr, "kiln: unknown command '%s'\n", argv[1]);
  print_usage(stderr);
  return EXIT_USAGE;
}
