/* dump.c — `kiln compile --dump-dispatches=DIR`: every dispatch of the formed main
 * function as its own MLIR file, DIR/<dispatch name>.mlir.
 *
 * Each file is a module whose function is the dispatch's region: its arguments are the
 * dispatch's operands (activations and weights alike), its results the values the
 * dispatch writes. The printer writes it the same way as a whole model, so Kiln's parser
 * reads it back and `kiln compile DIR/x.mlir --verify-each` works on one dispatch. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "dispatch.h"

static KilnStatus dump_one(Module *m, Func *region, const char *dir, Diag *d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.mlir", dir, region->name);
  FILE *out = fopen(path, "w");
  if (!out) return diag_error(d, KILN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  Func *main = m->main;
  m->main = region; /* print the region as the module's function */
  PrintOptions po = {.elide_above = 16};
  module_print(m, out, &po);
  m->main = main;
  if (fclose(out)) return diag_error(d, KILN_ERR_IO, "%s: write failed", path);
  return KILN_OK;
}

KilnStatus dispatch_dump(Module *m, const char *dir, Diag *d) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return diag_error(d, KILN_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
  for (Op *op = m->main->first; op; op = op->next) {
    if (op->kind != KILN_OP_DISPATCH || !op->attrs.region) continue;
    KilnStatus st = dump_one(m, op->attrs.region, dir, d);
    if (st) return st;
  }
  return KILN_OK;
}
