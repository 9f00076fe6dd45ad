/* fuzz_mlir_upstream.c — libFuzzer target: bytes -> mlir_upstream_import (upstream MLIR:
 * linalg on tensors, or torch-mlir's torch.operator form) -> a module or a clean error.
 * A module that imports must pass the verifier, and printing it in Kiln's text (with
 * resources) must give text that Kiln's own parser reads back. */
#include <stdio.h>

#include "fuzz_common.h"
#include "import/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reparse(const Module *m) {
  int64_t consts = 0; /* resources print as hex: keep the text small */
  for (int i = 0; i < m->n_consts; i++) consts += (int64_t)m->consts[i].nbytes;
  if (consts > (16 << 20)) return;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return;
  PrintOptions po = {.elide_above = 16, .emit_resources = true};
  module_print(m, f, &po);
  fclose(f);
  Diag d = {0};
  Module *m2 = NULL;
  if (module_parse(text, len, "printed.mlir", &m2, &d)) {
    fprintf(stderr, "fuzz: imported module does not print as parseable Kiln text: %s\n--- text:\n%s\n", d.msg, text);
    abort();
  }
  module_free(m2);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d = {0};
  Module *m = NULL;
  KilnStatus st = mlir_upstream_import((const char *)data, size, "fuzz.mlir", &m, &d);
  fuzz_check_diag(st, &d);
  if (st == KILN_OK) {
    Diag v = {0};
    if (m->main && func_verify(m->main, &v)) {
      fprintf(stderr, "fuzz: imported module fails the verifier: %s\n", v.msg);
      abort();
    }
    reparse(m);
  }
  module_free(m);
  return 0;
}
