/* fuzz_budget.h — which models the pipeline and kiln fuzz targets (and the regression
 * replay, which must treat their inputs the same way) run through the pipeline and the
 * interpreter or the CPU backend: only small ones, so each execution stays fast (inputs,
 * constants, values and the arithmetic work are bounded: a 65536-wide conv-transpose
 * kernel over a 65536-wide input is 4e9 multiply-adds, finite but a 15 s "timeout" to
 * libFuzzer). Larger models are only imported / loaded. */
#ifndef KILN_FUZZ_BUDGET_H
#define KILN_FUZZ_BUDGET_H

#include "ir/ir.h"

#define FUZZ_MAX_INPUT_ELEMS (1 << 16)   /* per graph input */
#define FUZZ_MAX_CONST_BYTES (4 << 20)   /* all constants */
#define FUZZ_MAX_VALUE_BYTES (64 << 20)  /* all op results */
#define FUZZ_MAX_WORK (1ll << 26)        /* multiply-adds of convs, matmuls, pools, reductions */

/* Multiply-adds (or window taps) of one op, roughly; -1 on overflow. Elementwise ops cost
 * about their result size, which the value budget bounds already. */
static inline int64_t fuzz_op_work(const Op *op) {
  const OpAttrs *a = &op->attrs;
  int64_t out = op->n_out ? type_numel(&op->out[0]->type) : 0, taps = 1, w = 0;
  switch (op->kind) {
  case KILN_OP_CONV2D: case KILN_OP_DEPTHWISE_CONV2D: case KILN_OP_POOL2D:
    if (checked_mul_i64(a->kernel[0], a->kernel[1], &taps)) return -1;
    if (op->kind == KILN_OP_CONV2D && op->in[0]->type.rank == 4 && a->groups > 0 &&
        checked_mul_i64(taps, op->in[0]->type.dims[a->layout == LAYOUT_NHWC ? 3 : 1] / a->groups, &taps))
      return -1;
    break;
  case KILN_OP_CONV_TRANSPOSE2D: { /* each input element meets KH*KW*Cout/g weights */
    out = type_numel(&op->in[0]->type);
    w = op->n_in > 1 ? type_numel(&op->in[1]->type) : 0;
    int64_t cin = op->n_in > 1 && op->in[1]->type.rank == 4
                      ? op->in[1]->type.dims[a->layout == LAYOUT_NHWC ? 3 : 0] : 1;
    if (w < 0) return -1;
    taps = cin > 0 ? w / cin : w;
    break;
  }
  case KILN_OP_MATMUL:
    taps = op->in[0]->type.rank ? op->in[0]->type.dims[op->in[0]->type.rank - 1] : 1;
    break;
  case KILN_OP_GENERIC: { /* the whole loop box */
    int64_t ranges[KILN_MAX_RANK];
    if (!generic_loop_ranges(op, ranges)) return 0;
    out = 1;
    for (int l = 0; l < a->n_loops; l++)
      if (checked_mul_i64(out, ranges[l], &out)) return -1;
    break;
  }
  default:
    break;
  }
  int64_t work;
  return out < 0 || checked_mul_i64(out, taps, &work) ? -1 : work;
}

/* Adds the work of f's ops (and their regions') to *work; false past the budget. */
static inline bool fuzz_work_fits(const Func *f, int64_t *work) {
  for (const Op *op = f->first; op; op = op->next) {
    int64_t w = fuzz_op_work(op);
    if (w < 0 || w > FUZZ_MAX_WORK - *work) return false;
    *work += w;
    if (op->attrs.region && !fuzz_work_fits(op->attrs.region, work)) return false;
  }
  return true;
}

/* Adds the result bytes of f's ops, and of the ops inside their regions (a dispatch's
 * inner values get arena buffers too, so they bound the CPU backend's arena), to *values;
 * false past the budget or on an overflowing type. */
static inline bool fuzz_values_fit(const Func *f, int64_t *values) {
  for (const Op *op = f->first; op; op = op->next) {
    for (int k = 0; k < op->n_out; k++) {
      int64_t nb = type_nbytes(&op->out[k]->type);
      if (nb < 0 || nb > FUZZ_MAX_VALUE_BYTES - *values) return false;
      *values += nb;
    }
    if (op->attrs.region && !fuzz_values_fit(op->attrs.region, values)) return false;
  }
  return true;
}

static inline bool fuzz_small_enough(const Module *m) {
  const Func *f = m->main;
  int64_t consts = 0, values = 0;
  for (int i = 0; i < f->n_args; i++) {
    int64_t n = type_numel(&f->args[i]->type);
    if (n < 0 || n > FUZZ_MAX_INPUT_ELEMS) return false;
  }
  int64_t work = 0;
  for (int i = 0; i < m->n_consts; i++) consts += (int64_t)m->consts[i].nbytes;
  return consts <= FUZZ_MAX_CONST_BYTES && fuzz_values_fit(f, &values) && fuzz_work_fits(f, &work);
}

#endif
