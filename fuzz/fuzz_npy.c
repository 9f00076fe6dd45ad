/* fuzz_npy.c — libFuzzer target: bytes -> npy_parse -> an array or a clean error. A parsed
 * array's payload must be exactly itemsize * prod(dims) bytes. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d = {0};
  NpyArray a;
  KilnStatus st = npy_parse(data, size, "fuzz.npy", &a, &d);
  fuzz_check_diag(st, &d);
  if (st == KILN_OK) {
    uint64_t n = a.itemsize;
    for (int i = 0; i < a.rank; i++) n *= (uint64_t)a.dims[i];
    if (n != a.nbytes || a.rank < 0 || a.rank > NPY_MAX_RANK) abort();
    if (a.nbytes) { /* touch the payload so ASan sees a short copy */
      volatile uint8_t x = ((const uint8_t *)a.data)[a.nbytes - 1];
      (void)x;
    }
  }
  npy_free(&a);
  return 0;
}
