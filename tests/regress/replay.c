/* replay.c — runs one input of a fuzz target the way the fuzz harness does, outside
 * libFuzzer: `replay TARGET FILE` with TARGET onnx | mlir | mlir_upstream | npy |
 * pipeline | kiln.
 *
 * Exit 0 when the input is valid, 1 with one line "kiln: error: ..." on stderr when it
 * is not — never a signal; mlir also checks that the parsed module prints and parses back (tests/regress/run.sh checks all three). pipeline runs import,
 * the whole optimization pipeline and the interpreter on random inputs, skipping the run
 * for models over the fuzz harness's budget (fuzz/fuzz_pipeline.c). kiln loads a .kiln
 * file (artifact_load: the file path of the loader the harness feeds from memory), lowers
 * and runs it on zero inputs as fuzz/fuzz_kiln.c does (fuzz/fuzz_kiln_run.h). */
#include <string.h>

#include "driver/driver.h"
#include "import/import.h"

#include "../../fuzz/fuzz_budget.h"
#include "../../fuzz/fuzz_kiln_run.h"

static KilnStatus run_pipeline(Module *m, Diag *d) {
  CompileOptions opt = {0};
  KilnStatus st = driver_compile(m, &opt, NULL, 0, NULL, d);
  if (st || !fuzz_small_enough(m)) return st;
  const Func *f = m->main;
  Tensor **ins = calloc((size_t)f->n_args + 1, sizeof *ins);
  Tensor **outs = calloc((size_t)f->n_results + 1, sizeof *outs);
  if (!ins || !outs) st = diag_error(d, KILN_ERR_NOMEM, "out of memory");
  if (!st && !(st = driver_random_inputs(f, 1, ins, d))) {
    st = interp_run(f, ins, outs, d);
    for (int i = 0; !st && i < f->n_results; i++) tensor_free(outs[i]);
    for (int i = 0; i < f->n_args; i++) tensor_free(ins[i]);
  }
  free(ins);
  free(outs);
  return st;
}

/* The harness's round trip: printing a parsed module (with resources) must give text that
 * parses again. A failure is a Kiln bug: exit 3, which run.sh reports. */
static int reparse(const Module *m) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return 0;
  PrintOptions po = {.elide_above = 16, .emit_resources = true};
  module_print(m, f, &po);
  fclose(f);
  Diag d = {0};
  Module *m2 = NULL;
  KilnStatus st = module_parse(text, len, "printed.mlir", &m2, &d);
  if (st) fprintf(stderr, "replay: printed module does not parse back: %s\n", d.msg);
  module_free(m2);
  free(text);
  return st ? 3 : 0;
}

static KilnStatus replay(const char *target, const uint8_t *buf, size_t size, Diag *d) {
  Module *m = NULL;
  KilnStatus st;
  if (!strcmp(target, "npy")) {
    NpyArray a;
    st = npy_parse(buf, size, "input.npy", &a, d);
    npy_free(&a);
    return st;
  }
  if (!strcmp(target, "mlir") || !strcmp(target, "mlir_upstream")) {
    st = !strcmp(target, "mlir") ? module_parse((const char *)buf, size, "input.mlir", &m, d)
                                 : mlir_upstream_import((const char *)buf, size, "input.mlir", &m, d);
    if (!st && reparse(m)) exit(3);
  }
  else st = onnx_import(buf, size, "/nonexistent-kiln-fuzz", &m, d);
  if (!st && !strcmp(target, "pipeline")) st = run_pipeline(m, d);
  module_free(m);
  return st;
}

static KilnStatus replay_kiln(const char *path, Diag *d) {
  Artifact *a;
  KilnStatus st = artifact_load(path, &a, d);
  if (st) return st;
  st = fuzz_kiln_run(a, d);
  artifact_free(a);
  return st;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "onnx") && strcmp(argv[1], "mlir") && strcmp(argv[1], "mlir_upstream") &&
                    strcmp(argv[1], "npy") && strcmp(argv[1], "pipeline") && strcmp(argv[1], "kiln"))) {
    fprintf(stderr, "usage: replay onnx|mlir|mlir_upstream|npy|pipeline|kiln FILE\n");
    return 2;
  }
  Diag d = {0};
  if (!strcmp(argv[1], "kiln")) {
    KilnStatus st = replay_kiln(argv[2], &d);
    if (!st) return 0;
    fprintf(stderr, "kiln: error: %s\n", d.msg[0] ? d.msg : status_name(st));
    return 1;
  }
  uint8_t *buf;
  size_t size;
  KilnStatus st = file_read_all(argv[2], &buf, &size, &d);
  if (!st) {
    st = replay(argv[1], buf, size, &d);
    free(buf);
  }
  if (!st) return 0;
  fprintf(stderr, "kiln: error: %s\n", d.msg[0] ? d.msg : status_name(st));
  return 1;
}
