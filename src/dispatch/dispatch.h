/* dispatch.h — dispatch region formation and the tools that show its result.
 *
 * Formation (form_regions.c) runs after global optimization and groups the ops of a
 * function into kiln.dispatch region ops, one fused kernel each: one root (conv,
 * depthwise conv, conv-transpose, matmul, pooling, resize, argmax, a generic with a
 * reduction loop), its fused producers (reads: pad, transpose, reshape, slice, single-use
 * elementwise such as a weight dequantize) and consumers (elementwise chains, bias and
 * residual adds, fake-quant, reshapes/transposes of the result, a concat of region
 * results). Ops that join no root form their own dispatch. The function afterwards holds
 * only constants (operands of the dispatches) and dispatch ops, in dependency order.
 *
 * The report (report.c), the dispatch graph (graph.c) and the per-dispatch dumps
 * (dump.c) read the formed function. Sectioned by defining file. */
#ifndef KILN_DISPATCH_H
#define KILN_DISPATCH_H

#include <stdio.h>

#include "ir/ir.h"

/* Name of dispatch formation as a pipeline step (--print-ir-after=...). */
#define DISPATCH_PASS_NAME "dispatch-formation"

/* One producer -> consumer edge between ops that ended in different dispatches. */
typedef struct WhyNot {
  const Op *producer;         /* inside its dispatch's region after formation */
  const Op *consumer;
  char reason[200];           /* the rule that kept them apart */
} WhyNot;

/* Filled by formation when DispatchOptions.explain is set; free with dispatch_explain_free. */
typedef struct DispatchExplain {
  int n, cap;
  WhyNot *rows;
} DispatchExplain;

typedef struct DispatchOptions {
  bool fuse_multi_use;        /* fuse consumers of multi-use values (multiple results) and
                                 clone multi-use elementwise producers into each region */
  bool fuse_conv_chains;      /* inverted-residual blocks (1x1 expand, depthwise, optional
                                 squeeze-excitation, 1x1 project, residual add) as one
                                 region with several roots (form_regions.c) */
  DispatchExplain *explain;   /* optional: receives the why-not-fused rows */
} DispatchOptions;

/* ---- form_regions.c ------------------------------------------------------ */

/* Groups f's ops into dispatch regions (see the top of this file). Numerically the
 * function is unchanged. Never fails today (the status is for future options). */
KilnStatus dispatch_form_regions(Func *f, const DispatchOptions *opt, Diag *d);
void dispatch_explain_free(DispatchExplain *e);

/* ---- classify.c ---------------------------------------------------------- */

bool dispatch_is_root(const Op *op);
/* A generic whose body computes something (not only reads, constants and yields). */
bool dispatch_generic_computes(const Op *op);
/* A region without a root and without a computing generic. */
bool dispatch_is_data_movement(const Op *dispatch);
/* The op a dispatch is named after: its root, else its first computing op, else its first op. */
const Op *dispatch_main_op(const Func *region);
/* Roots in a region (more than one: a --fuse-conv-chains chain). */
int dispatch_count_roots(const Func *region);
/* The roots of a region joined by '+', e.g. "matmul+depthwise_conv_2d+matmul". */
void dispatch_roots_label(const Func *region, char *buf, size_t n);
/* IREE-style name, e.g. "dispatch_12_conv_nhwc_3x3_1x129x129x144_f32"; a chain of several
 * roots is named after its depthwise conv: "dispatch_3_conv_chain_depthwise_conv_...". */
void dispatch_make_name(const Func *region, int index, char *buf, size_t n);
/* 2*MACs for convs and matmuls, one per window element for pools, body instructions per
 * loop iteration for generics; 0 for data movement. */
int64_t dispatch_op_flops(const Op *op);
/* Short label of an op for reports: its kind ("conv_2d", "generic(addf,maxf)"). */
void dispatch_op_label(const Op *op, char *buf, size_t n);

/* ---- report.c ------------------------------------------------------------ */

typedef struct ReportOptions {
  bool json;
  bool why_not_fused;
  const char *graph;          /* FILE.dot or FILE.svg, or NULL */
  int64_t arena_bytes;        /* peak activation memory planned by the backend; 0: omit */
} ReportOptions;

/* Prints the dispatch table and totals of a formed function (and writes the graph). */
KilnStatus dispatch_report(const Func *f, const DispatchExplain *why, const ReportOptions *opt,
                           FILE *out, Diag *d);

/* ---- graph.c ------------------------------------------------------------- */

/* Graphviz dot of the dispatch graph; a path ending in ".svg" also runs `dot -Tsvg`. */
KilnStatus dispatch_write_graph(const Func *f, const char *path, Diag *d);

/* ---- dump.c -------------------------------------------------------------- */

/* Writes each dispatch's region as DIR/<dispatch name>.mlir, a module whose main function
 * takes the region's operands as arguments (parseable by module_parse). */
KilnStatus dispatch_dump(Module *m, const char *dir, Diag *d);

#endif
