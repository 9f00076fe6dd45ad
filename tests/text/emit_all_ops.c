/* emit_all_ops.c — writes a module that uses every op kind except kiln.dispatch (and
 * every attribute, body op, cast pair and dtype; elided constants with their resources
 * section) to argv[1], for the ctest that runs mlir-opt-16 on it. With a second
 * argument "dispatch" the module also holds a dispatch region. */
#include "build_all.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: emit_all_ops OUT.mlir [dispatch]\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  Module *m = build_all(argc > 2 && strcmp(argv[2], "dispatch") == 0);
  PrintOptions opt = {.elide_above = 16, .emit_resources = true};
  module_print(m, f, &opt);
  module_free(m);
  return fclose(f) ? 1 : 0;
}
