/* driver.h — the compile driver: runs the global-optimization pipeline on a module with
 * the debugging hooks users ask for (print before/after a pass, verify each pass
 * structurally and numerically against the reference interpreter).
 * The top layer: uses passes/, interp/ and ir/. */
#ifndef KILN_DRIVER_H
#define KILN_DRIVER_H

#include <stdio.h>

#include "dispatch/dispatch.h"
#include "interp/interp.h"
#include "passes/passes.h"

typedef struct CompileOptions {
  const char *passes;        /* comma-separated pass names instead of the pipeline; NULL = default */
  const char *print_before;  /* pass name, or NULL */
  const char *print_after;   /* pass name, or NULL */
  bool print_after_all;
  bool verify_each;          /* structural verifier + interpreter check after every pass */
  bool timing;               /* print each pass's time to `log` */
  uint64_t seed;             /* random inputs of the numerical check */
  FILE *ir_out;              /* where IR is printed (default stdout) */
  FILE *log;                 /* progress and the verify table (default stderr) */
  PrintOptions print;
  const char *target;        /* --target=SPEC for pad-to-intrinsic (target_parse), or NULL */
  bool form_dispatches;      /* after the pipeline: dispatch region formation (a step named
                                DISPATCH_PASS_NAME for the print and verify hooks) */
  DispatchOptions dispatch;  /* its options */
} CompileOptions;

/* One row of the numerical check: how far a pass moved the outputs. */
typedef struct PassCheck {
  const char *pass;
  double max_abs;            /* largest |after - before| over all outputs */
  double rel_l2;             /* largest ||after - before|| / ||before|| over outputs */
  int ops_after;
} PassCheck;

/* Runs the pipeline (or opt->passes) on m. With verify_each, checks[] (capacity
 * max_checks, may be NULL) receives one row per pass and *n_checks their count; a pass
 * that breaks the structure or moves an output beyond the tolerance fails with its name. */
KilnStatus driver_compile(Module *m, const CompileOptions *opt, PassCheck *checks, int max_checks,
                          int *n_checks, Diag *d);

/* Random tensors for f's arguments from seed: floats uniform in [-1,1), integers in [0,4).
 * On failure nothing stays allocated. */
KilnStatus driver_random_inputs(const Func *f, uint64_t seed, Tensor **ins, Diag *d);

/* Numerical tolerance of --verify-each, the same as the model oracle's fp32 bound:
 * relative L2 <= 1e-5 and max abs <= 1e-3 of the output's range. */
#define VERIFY_REL_L2 1e-5
#define VERIFY_MAX_ABS_OF_RANGE 1e-3

#endif
