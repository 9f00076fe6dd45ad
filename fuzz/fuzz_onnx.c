/* fuzz_onnx.c — libFuzzer target: bytes -> onnx_import -> a verified module or a clean
 * error. External data is looked up in a folder that does not exist, so a fuzzed model
 * can never read files from the machine. */
#include "fuzz_common.h"
#include "import/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d = {0};
  Module *m = NULL;
  KilnStatus st = onnx_import(data, size, "/nonexistent-kiln-fuzz", &m, &d);
  fuzz_check_diag(st, &d);
  if (st == KILN_OK) {
    Diag v = {0};
    if (func_verify(m->main, &v)) {
      fprintf(stderr, "fuzz: imported module fails the verifier: %s\n", v.msg);
      abort();
    }
  }
  module_free(m);
  return 0;
}
