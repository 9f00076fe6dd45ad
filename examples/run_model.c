/* run_model.c — the C API end to end: compile a model, describe its inputs and outputs,
 * run it on deterministic inputs, save it as .kiln, load that file back, run again and
 * check both runs agree bit for bit.
 *
 *   run_model MODEL.onnx OUT.kiln
 *
 * Exit 0 when everything worked; otherwise the library's message and exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kiln/kiln.h>

static int die(const char *what) {
  fprintf(stderr, "run_model: %s: %s\n", what, kiln_last_error());
  return 1;
}

static void describe(const char *kind, int i, const kiln_tensor_info *t) {
  printf("%s %d '%s': dtype %d, shape [", kind, i, t->name, (int)t->dtype);
  for (int d = 0; d < t->rank; d++) printf("%s%lld", d ? "x" : "", (long long)t->dims[d]);
  printf("], %zu bytes\n", t->nbytes);
}

/* Runs m on inputs filled with a fixed ramp; returns malloc'd outputs or NULL. */
static void **run_once(kiln_model *m) {
  int ni = kiln_num_inputs(m), no = kiln_num_outputs(m);
  const void **ins = calloc((size_t)ni + 1, sizeof *ins);
  void **outs = calloc((size_t)no + 1, sizeof *outs);
  for (int i = 0; i < ni; i++) {
    kiln_tensor_info t;
    kiln_input_info(m, i, &t);
    float *x = malloc(t.nbytes + 1);
    for (size_t k = 0; t.dtype == KILN_DTYPE_F32 && k < t.nbytes / 4; k++)
      x[k] = (float)((k * 7919) % 2001) / 1000.0f - 1.0f;
    if (t.dtype != KILN_DTYPE_F32) memset(x, 0, t.nbytes);
    ins[i] = x;
  }
  for (int i = 0; i < no; i++) {
    kiln_tensor_info t;
    kiln_output_info(m, i, &t);
    outs[i] = malloc(t.nbytes + 1);
  }
  kiln_status st = kiln_run(m, ins, outs);
  for (int i = 0; i < ni; i++) free((void *)ins[i]);
  free(ins);
  if (st != KILN_STATUS_OK) {
    for (int i = 0; i < no; i++) free(outs[i]);
    free(outs);
    return NULL;
  }
  return outs;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: run_model MODEL.onnx OUT.kiln\n");
    return 2;
  }
  kiln_options opt = {.threads = 2};
  kiln_model *m, *loaded;
  if (kiln_compile_file(argv[1], &opt, &m) != KILN_STATUS_OK) return die("compile");
  printf("kiln %s, %zu threads\n", kiln_version(), kiln_threads(m));
  for (int i = 0; i < kiln_num_inputs(m); i++) {
    kiln_tensor_info t;
    kiln_input_info(m, i, &t);
    describe("input", i, &t);
  }
  for (int i = 0; i < kiln_num_outputs(m); i++) {
    kiln_tensor_info t;
    kiln_output_info(m, i, &t);
    describe("output", i, &t);
  }
  void **a = run_once(m);
  if (!a) return die("run");
  if (kiln_save(m, argv[2]) != KILN_STATUS_OK) return die("save");
  if (kiln_load(argv[2], &opt, &loaded) != KILN_STATUS_OK) return die("load");
  void **b = run_once(loaded);
  if (!b) return die("run (loaded)");
  int same = 1;
  for (int i = 0; i < kiln_num_outputs(m); i++) {
    kiln_tensor_info t;
    kiln_output_info(m, i, &t);
    same &= memcmp(a[i], b[i], t.nbytes) == 0;
    if (t.dtype == KILN_DTYPE_F32 && t.nbytes >= 4)
      printf("output %d: first value %g\n", i, (double)((float *)a[i])[0]);
    free(a[i]), free(b[i]);
  }
  free(a), free(b);
  char *report;
  if (kiln_report_json(loaded, &report) != KILN_STATUS_OK) return die("report");
  printf("report: %.60s...\n", report);
  kiln_free(report);
  kiln_model_free(m);
  kiln_model_free(loaded);
  /* Errors come back as statuses with a message, never a crash. */
  if (kiln_load(argv[1], NULL, &loaded) == KILN_STATUS_OK) return die("loading an .onnx as .kiln succeeded");
  printf("expected error: %s\n", kiln_last_error());
  printf(same ? "compiled and loaded runs agree\n" : "MISMATCH between compiled and loaded runs\n");
  return same ? 0 : 1;
}
