#include "passes.h"
KilnStatus pass_propagate_reshapes(Func *f, PassContext *ctx) { (void)f; (void)ctx; return KILN_OK; }
