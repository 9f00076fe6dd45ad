/* printer_upstream.c — module_print_upstream(): Kiln's IR in upstream MLIR syntax
 * (`kiln compile --emit-mlir`), so a user can diff Kiln's result against an IREE dump:
 *
 *   constant        arith.constant dense<...> (large ones: dense<"0x..."> with
 *                   --emit-resources, else dense_resource<__elided__>)
 *   generic         linalg.generic (outs: tensor.empty, or linalg.fill of the init when
 *                   it reduces), body in arith / math
 *   conv_2d         [tensor.pad] + linalg.conv_2d_nchw_fchw / conv_2d_nhwc_hwcf, the bias
 *                   as a linalg.broadcast `outs` (groups > 1: Kiln's generic form)
 *   depthwise       [tensor.pad] + linalg.depthwise_conv_2d_nchw_chw / _nhwc_hwc
 *   pooling         [tensor.pad] + linalg.pooling_{nchw,nhwc}_{max,sum} (+ a divf for avg)
 *   matmul          linalg.matmul / linalg.batch_matmul (broadcast batches: generic form)
 *   transpose, pad, collapse/expand_shape, extract_slice: linalg.transpose and tensor ops;
 *   reshape: collapse to 1-D then expand; concat: tensor.insert_slice into tensor.empty
 *   dispatch        flow.dispatch.region -> (...) { ...; flow.return ... } (its region's
 *                   arguments print as the values they capture)
 *   others          Kiln's generic form ("kiln.resize"(...) {...})
 *
 * Spelling: by default today's upstream MLIR, as IREE prints it (arith.maximumf /
 * minimumf, expand_shape with output_shape), which iree-opt parses. With opt->mlir16 the
 * spelling of MLIR 16 (arith.maxf / minf, expand_shape without output_shape) and
 * flow.dispatch.region / flow.return in generic op form, so that
 * `mlir-opt-16 --allow-unregistered-dialect` parses all of it (flow and kiln are not
 * registered there: only their generic form parses). Concat prints as insert_slices into
 * a tensor.empty in both (tensor.concat is newer than MLIR 16). Kiln's upstream importer
 * reads both spellings back. */
#include <math.h>
#include <string.h>

#include "text.h"

typedef struct UPrinter {
  FILE *out;
  PrintOptions opt;
  const Module *m;
  const Value **alias;   /* Value.id -> the value it stands for (dispatch region args) */
  int *num;              /* Value.id -> printed number (-1: a function argument) */
  int next, tmp;
} UPrinter;

/* ---- names and types -------------------------------------------------------- */

static void put_value(UPrinter *pr, const Value *v) {
  while (v->id >= 0 && v->id < pr->m->next_value_id && pr->alias[v->id]) v = pr->alias[v->id];
  if (!v->def) {
    fprintf(pr->out, "%%arg%d", v->def_index);
    return;
  }
  int n = v->id >= 0 && v->id < pr->m->next_value_id ? pr->num[v->id] : -1;
  fprintf(pr->out, "%%%d", n);
  if (v->def->n_out > 1) fprintf(pr->out, "#%d", v->def_index);
}

static void put_type(UPrinter *pr, const TensorType *t) {
  char buf[256];
  fputs(type_str(t, buf, sizeof buf), pr->out);
}

static void put_ints(UPrinter *pr, const int64_t *v, int n) {
  fputc('[', pr->out);
  for (int i = 0; i < n; i++) fprintf(pr->out, "%s%lld", i ? ", " : "", (long long)v[i]);
  fputc(']', pr->out);
}

static void indent(UPrinter *pr, int level) {
  for (int i = 0; i < level; i++) fputs("  ", pr->out);
}

/* Starts `%N = ` (or `%N:k = `) for op's results. */
static void def_results(UPrinter *pr, const Op *op, int level) {
  indent(pr, level);
  int n = pr->next++;
  for (int i = 0; i < op->n_out; i++) pr->num[op->out[i]->id] = n;
  fprintf(pr->out, op->n_out > 1 ? "%%%d:%d = " : "%%%d = ", n, op->n_out);
}

/* ---- helper values: %tN -------------------------------------------------------- */

static int tmp_scalar(UPrinter *pr, double v, DType dt, int level) {
  char buf[48];
  int n = pr->tmp++;
  if (dtype_is_float(dt)) text_fmt_float(buf, sizeof buf, v, dt);
  else snprintf(buf, sizeof buf, "%.0f", v != v ? 0.0 : v); /* an integral double, no int cast */
  indent(pr, level);
  fprintf(pr->out, "%%t%d = arith.constant %s : %s\n", n, buf, text_body_type(dt));
  return n;
}

static int tmp_empty(UPrinter *pr, const TensorType *t, int level) {
  int n = pr->tmp++;
  indent(pr, level);
  fprintf(pr->out, "%%t%d = tensor.empty() : ", n);
  put_type(pr, t);
  fputc('\n', pr->out);
  return n;
}

static int tmp_fill(UPrinter *pr, double v, const TensorType *t, int level) {
  int c = tmp_scalar(pr, v, t->dtype, level), e = tmp_empty(pr, t, level), n = pr->tmp++;
  indent(pr, level);
  fprintf(pr->out, "%%t%d = linalg.fill ins(%%t%d : %s) outs(%%t%d : ", n, c, text_body_type(t->dtype), e);
  put_type(pr, t);
  fputs(") -> ", pr->out);
  put_type(pr, t);
  fputc('\n', pr->out);
  return n;
}

static void def_results(UPrinter *pr, const Op *op, int level);

/* `%tN = tensor.pad %x low[..] high[..] { yield v } : t to padded`; returns N. With
 * `result` the pad defines that op's result instead (and returns -1). */
static int tmp_pad(UPrinter *pr, const Value *x, const int64_t *lo, const int64_t *hi, double v, int level,
                   const Op *result) {
  TensorType t = x->type;
  for (int d = 0; d < t.rank; d++) t.dims[d] += lo[d] + hi[d];
  int c = tmp_scalar(pr, v, t.dtype, level), n = -1;
  if (result) def_results(pr, result, level);
  else indent(pr, level), fprintf(pr->out, "%%t%d = ", n = pr->tmp++);
  fputs("tensor.pad ", pr->out);
  put_value(pr, x);
  fputs(" low", pr->out);
  put_ints(pr, lo, t.rank);
  fputs(" high", pr->out);
  put_ints(pr, hi, t.rank);
  fputs(" {\n", pr->out);
  indent(pr, level);
  fputs("^bb0(", pr->out);
  for (int d = 0; d < t.rank; d++) fprintf(pr->out, "%s%%i%d: index", d ? ", " : "", d);
  fputs("):\n", pr->out);
  indent(pr, level + 1);
  fprintf(pr->out, "tensor.yield %%t%d : %s\n", c, text_body_type(t.dtype));
  indent(pr, level);
  fputs("} : ", pr->out);
  put_type(pr, &x->type);
  fputs(" to ", pr->out);
  put_type(pr, &t);
  fputc('\n', pr->out);
  return n;
}

/* ---- constants and the generic form -------------------------------------------------- */

static void print_constant(UPrinter *pr, const Op *op, int level) {
  const Constant *c = &pr->m->consts[op->attrs.const_index];
  int64_t numel = type_numel(&c->type);
  def_results(pr, op, level);
  fputs("arith.constant ", pr->out);
  if (c->data && numel >= 0 && (pr->opt.elide_above < 0 || numel <= pr->opt.elide_above)) {
    text_print_dense(pr->out, c);
  } else if (c->data && pr->opt.emit_resources) {
    fputs("dense<\"0x", pr->out);
    for (size_t b = 0; b < c->nbytes; b++) fprintf(pr->out, "%02X", ((const unsigned char *)c->data)[b]);
    fputs("\"> : ", pr->out);
    put_type(pr, &c->type);
  } else {
    fputs("dense_resource<__elided__> : ", pr->out);
    put_type(pr, &c->type);
  }
  fputc('\n', pr->out);
}

static void put_operands(UPrinter *pr, Value *const *vals, int n) {
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", pr->out);
    put_value(pr, vals[i]);
  }
}

static void put_types(UPrinter *pr, Value *const *vals, int n) {
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", pr->out);
    put_type(pr, &vals[i]->type);
  }
}

/* An op without an upstream equivalent: Kiln's generic form (unregistered dialect). */
static void print_kiln_form(UPrinter *pr, const Op *op, int level) {
  def_results(pr, op, level);
  fprintf(pr->out, "\"%s\"(", op_kind_name(op->kind));
  put_operands(pr, op->in, op->n_in);
  fputc(')', pr->out);
  text_print_kiln_attrs(pr->out, pr->m, op);
  fputs(" : (", pr->out);
  put_types(pr, op->in, op->n_in);
  fputs(") -> ", pr->out);
  if (op->n_out != 1) fputc('(', pr->out);
  put_types(pr, op->out, op->n_out);
  if (op->n_out != 1) fputc(')', pr->out);
  fputc('\n', pr->out);
}

/* ---- linalg.generic ----------------------------------------------------------------- */

static DType inst_dtype(const Op *op, int i) {
  const BodyInst *bi = &op->attrs.body.insts[i];
  if (bi->kind != BODY_ARG) return bi->dtype;
  int k = (int)bi->imm_i;
  if (k >= 0 && k < op->n_in) return op->in[k]->type.dtype;
  if (k >= op->n_in && k < op->n_in + op->n_out) return op->out[k - op->n_in]->type.dtype;
  return bi->dtype;
}

static void put_inst(UPrinter *pr, const Op *op, int i) {
  const BodyInst *bi = &op->attrs.body.insts[i];
  int k = (int)bi->imm_i;
  if (bi->kind != BODY_ARG) fprintf(pr->out, "%%b%d", i);
  else if (k < op->n_in) fprintf(pr->out, "%%in%d", k);
  else fprintf(pr->out, "%%out%d", k - op->n_in);
}

static void print_inst(UPrinter *pr, const Op *op, int i, int level) {
  const BodyInst *bi = &op->attrs.body.insts[i];
  DType adt = bi->n_args > 0 ? inst_dtype(op, bi->args[0]) : bi->dtype;
  const char *name = text_body_op_name(bi, adt);
  indent(pr, level);
  fprintf(pr->out, "%%b%d = ", i);
  if (bi->kind == BODY_CONST) {
    char buf[48];
    if (dtype_is_float(bi->dtype)) text_fmt_float(buf, sizeof buf, bi->imm, bi->dtype);
    else snprintf(buf, sizeof buf, "%lld", (long long)bi->imm_i);
    fprintf(pr->out, "arith.constant %s : %s\n", buf, text_body_type(bi->dtype));
    return;
  }
  if (!pr->opt.mlir16 && dtype_is_float(bi->dtype) && (bi->kind == BODY_MAX || bi->kind == BODY_MIN))
    name = bi->kind == BODY_MAX ? "arith.maximumf" : "arith.minimumf"; /* NaN-propagating, like Kiln's */
  bool generic = !name || !strcmp(name, "kiln.cast");
  fprintf(pr->out, generic ? "\"kiln.cast\"(" : "%s ", name);
  if (bi->kind == BODY_CMP) fprintf(pr->out, "%s, ", text_cmp_name(bi->pred, adt));
  for (int a = 0; a < bi->n_args; a++) {
    if (a) fputs(", ", pr->out);
    put_inst(pr, op, bi->args[a]);
  }
  if (generic) fprintf(pr->out, ") : (%s) -> %s\n", text_body_type(adt), text_body_type(bi->dtype));
  else if (bi->kind == BODY_CAST) fprintf(pr->out, " : %s to %s\n", text_body_type(adt), text_body_type(bi->dtype));
  else fprintf(pr->out, " : %s\n", text_body_type(bi->kind == BODY_CMP ? adt : bi->dtype));
}

static void print_generic(UPrinter *pr, const Op *op, int level) {
  const OpAttrs *a = &op->attrs;
  bool reduces = false;
  for (int d = 0; d < a->n_loops; d++) reduces |= a->iterators[d] == ITER_REDUCTION;
  int outs[KILN_MAX_OPERANDS];
  for (int k = 0; k < op->n_out && k < KILN_MAX_OPERANDS; k++)
    outs[k] = reduces ? tmp_fill(pr, a->init ? a->init[k] : 0, &op->out[k]->type, level) : tmp_empty(pr, &op->out[k]->type, level);
  def_results(pr, op, level);
  fputs("linalg.generic {indexing_maps = [", pr->out);
  for (int k = 0; k < a->n_maps; k++) {
    if (k) fputs(", ", pr->out);
    text_print_affine_map(pr->out, &a->maps[k], a->n_loops);
  }
  fputs("], iterator_types = [", pr->out);
  for (int d = 0; d < a->n_loops; d++) fprintf(pr->out, "%s\"%s\"", d ? ", " : "", text_iter_names[a->iterators[d]]);
  fputs("]}", pr->out);
  if (op->n_in) {
    fputs(" ins(", pr->out);
    put_operands(pr, op->in, op->n_in);
    fputs(" : ", pr->out);
    put_types(pr, op->in, op->n_in);
    fputc(')', pr->out);
  }
  fputs(" outs(", pr->out);
  for (int k = 0; k < op->n_out; k++) fprintf(pr->out, "%s%%t%d", k ? ", " : "", outs[k]);
  fputs(" : ", pr->out);
  put_types(pr, op->out, op->n_out);
  fputs(") {\n", pr->out);
  indent(pr, level);
  fputs("^bb0(", pr->out);
  for (int k = 0; k < op->n_in + op->n_out; k++) {
    const Value *v = k < op->n_in ? op->in[k] : op->out[k - op->n_in];
    fprintf(pr->out, "%s%%%s%d: %s", k ? ", " : "", k < op->n_in ? "in" : "out", k < op->n_in ? k : k - op->n_in,
            text_body_type(v->type.dtype));
  }
  fputs("):\n", pr->out);
  const Body *b = &a->body;
  for (int i = 0; i < b->n_insts; i++)
    if (b->insts[i].kind != BODY_ARG) print_inst(pr, op, i, level + 1);
  indent(pr, level + 1);
  fputs("linalg.yield ", pr->out);
  for (int k = 0; k < b->n_yield; k++) {
    if (k) fputs(", ", pr->out);
    put_inst(pr, op, b->yields[k]);
  }
  fputs(" : ", pr->out);
  for (int k = 0; k < b->n_yield; k++) fprintf(pr->out, "%s%s", k ? ", " : "", text_body_type(inst_dtype(op, b->yields[k])));
  fputc('\n', pr->out);
  indent(pr, level);
  fputs("} -> ", pr->out);
  if (op->n_out != 1) fputc('(', pr->out);
  put_types(pr, op->out, op->n_out);
  if (op->n_out != 1) fputc(')', pr->out);
  fputc('\n', pr->out);
}

/* ---- convs and pooling --------------------------------------------------------------- */

/* The activation, padded by a tensor.pad when the op has pads: "%x" or "%tN". */
static void padded_input(UPrinter *pr, const Op *op, double v, int level, char *name, size_t n) {
  const OpAttrs *a = &op->attrs;
  const Value *x = op->in[0];
  bool nhwc = a->layout == LAYOUT_NHWC;
  int h = nhwc ? 1 : 2;
  name[0] = 0;
  if (!a->pads[0] && !a->pads[1] && !a->pads[2] && !a->pads[3]) return;
  int64_t lo[KILN_MAX_RANK] = {0}, hi[KILN_MAX_RANK] = {0};
  lo[h] = a->pads[0], lo[h + 1] = a->pads[1], hi[h] = a->pads[2], hi[h + 1] = a->pads[3];
  snprintf(name, n, "%%t%d", tmp_pad(pr, x, lo, hi, v, level, NULL));
}

static void put_input(UPrinter *pr, const Value *x, const char *padded) {
  if (padded[0]) fputs(padded, pr->out);
  else put_value(pr, x);
}

static void put_padded_type(UPrinter *pr, const Op *op) {
  TensorType t = op->in[0]->type;
  int h = op->attrs.layout == LAYOUT_NHWC ? 1 : 2;
  t.dims[h] += op->attrs.pads[0] + op->attrs.pads[2];
  t.dims[h + 1] += op->attrs.pads[1] + op->attrs.pads[3];
  put_type(pr, &t);
}

static void put_window_attrs(UPrinter *pr, const OpAttrs *a) {
  fprintf(pr->out, " {dilations = dense<[%lld, %lld]> : tensor<2xi64>, strides = dense<[%lld, %lld]> : tensor<2xi64>}",
          (long long)a->dilations[0], (long long)a->dilations[1], (long long)a->strides[0], (long long)a->strides[1]);
}

/* The `outs` of a conv: the bias broadcast along the channel dim, or a fill of zero. */
static int conv_init(UPrinter *pr, const Op *op, int level) {
  const TensorType *t = &op->out[0]->type;
  if (op->n_in < 3) return tmp_fill(pr, 0, t, level);
  int e = tmp_empty(pr, t, level), n = pr->tmp++;
  int c = op->attrs.layout == LAYOUT_NHWC ? 3 : 1;
  int64_t dims[3], k = 0;
  for (int d = 0; d < 4; d++)
    if (d != c) dims[k++] = d;
  indent(pr, level);
  fprintf(pr->out, "%%t%d = linalg.broadcast ins(", n);
  put_value(pr, op->in[2]);
  fputs(" : ", pr->out);
  put_type(pr, &op->in[2]->type);
  fprintf(pr->out, ") outs(%%t%d : ", e);
  put_type(pr, t);
  fputs(") dimensions = ", pr->out);
  put_ints(pr, dims, 3);
  fputc('\n', pr->out);
  return n;
}

static void print_conv(UPrinter *pr, const Op *op, int level) {
  const OpAttrs *a = &op->attrs;
  bool nhwc = a->layout == LAYOUT_NHWC, dw = op->kind == KILN_OP_DEPTHWISE_CONV2D;
  char xp[32];
  padded_input(pr, op, 0, level, xp, sizeof xp);
  int init = conv_init(pr, op, level);
  def_results(pr, op, level);
  fprintf(pr->out, "linalg.%s", dw ? (nhwc ? "depthwise_conv_2d_nhwc_hwc" : "depthwise_conv_2d_nchw_chw")
                                   : (nhwc ? "conv_2d_nhwc_hwcf" : "conv_2d_nchw_fchw"));
  put_window_attrs(pr, a);
  fputs(" ins(", pr->out);
  put_input(pr, op->in[0], xp);
  fputs(", ", pr->out);
  put_value(pr, op->in[1]);
  fputs(" : ", pr->out);
  put_padded_type(pr, op);
  fputs(", ", pr->out);
  put_type(pr, &op->in[1]->type);
  fprintf(pr->out, ") outs(%%t%d : ", init);
  put_type(pr, &op->out[0]->type);
  fputs(") -> ", pr->out);
  put_type(pr, &op->out[0]->type);
  fputc('\n', pr->out);
}

/* Max pooling pads with -inf; average pooling sums over the padded window and divides by
 * the window size (count_include_pad, or no pads: the only averages this form expresses). */
static void print_pool(UPrinter *pr, const Op *op, int level) {
  const OpAttrs *a = &op->attrs;
  bool max = a->pool_kind == POOL_MAX, nhwc = a->layout == LAYOUT_NHWC;
  const TensorType *t = &op->out[0]->type;
  char xp[32];
  padded_input(pr, op, max ? -INFINITY : 0, level, xp, sizeof xp);
  int init = tmp_fill(pr, max ? -INFINITY : 0, t, level);
  TensorType wt = {.dtype = t->dtype, .rank = 2, .dims = {a->kernel[0], a->kernel[1]}};
  int win = tmp_empty(pr, &wt, level), sum = -1;
  if (max) def_results(pr, op, level);
  else indent(pr, level), fprintf(pr->out, "%%t%d = ", sum = pr->tmp++);
  fprintf(pr->out, "linalg.pooling_%s_%s", nhwc ? "nhwc" : "nchw", max ? "max" : "sum");
  put_window_attrs(pr, a);
  fputs(" ins(", pr->out);
  put_input(pr, op->in[0], xp);
  fprintf(pr->out, ", %%t%d : ", win);
  put_padded_type(pr, op);
  fputs(", ", pr->out);
  put_type(pr, &wt);
  fprintf(pr->out, ") outs(%%t%d : ", init);
  put_type(pr, t);
  fputs(") -> ", pr->out);
  put_type(pr, t);
  fputc('\n', pr->out);
  if (max) return;
  int e = tmp_empty(pr, t, level);
  def_results(pr, op, level);
  fputs("linalg.generic {indexing_maps = [", pr->out);
  AffineMap id = affine_identity(t->rank);
  text_print_affine_map(pr->out, &id, t->rank);
  fputs(", ", pr->out);
  text_print_affine_map(pr->out, &id, t->rank);
  fputs("], iterator_types = [", pr->out);
  for (int d = 0; d < t->rank; d++) fprintf(pr->out, "%s\"parallel\"", d ? ", " : "");
  fprintf(pr->out, "]} ins(%%t%d : ", sum);
  put_type(pr, t);
  fprintf(pr->out, ") outs(%%t%d : ", e);
  put_type(pr, t);
  char buf[48];
  text_fmt_float(buf, sizeof buf, (double)(a->kernel[0] * a->kernel[1]), t->dtype);
  fprintf(pr->out, ") {\n");
  indent(pr, level);
  fprintf(pr->out, "^bb0(%%in0: %s, %%out0: %s):\n", text_body_type(t->dtype), text_body_type(t->dtype));
  indent(pr, level + 1);
  fprintf(pr->out, "%%b0 = arith.constant %s : %s\n", buf, text_body_type(t->dtype));
  indent(pr, level + 1);
  fprintf(pr->out, "%%b1 = arith.divf %%in0, %%b0 : %s\n", text_body_type(t->dtype));
  indent(pr, level + 1);
  fprintf(pr->out, "linalg.yield %%b1 : %s\n", text_body_type(t->dtype));
  indent(pr, level);
  fputs("} -> ", pr->out);
  put_type(pr, t);
  fputc('\n', pr->out);
}

static bool pool_expressible(const Op *op) {
  const OpAttrs *a = &op->attrs;
  bool pads = a->pads[0] || a->pads[1] || a->pads[2] || a->pads[3];
  return a->pool_kind == POOL_MAX || a->count_include_pad || !pads;
}

/* ---- matmul and data movement ----------------------------------------------------------- */

static bool matmul_expressible(const Op *op) {
  const TensorType *x = &op->in[0]->type, *w = &op->in[1]->type;
  if (x->rank == 2 && w->rank == 2) return true;
  return x->rank == 3 && w->rank == 3 && x->dims[0] == w->dims[0];
}

static void print_matmul(UPrinter *pr, const Op *op, int level) {
  int init = tmp_fill(pr, 0, &op->out[0]->type, level);
  def_results(pr, op, level);
  fprintf(pr->out, "linalg.%s ins(", op->in[0]->type.rank == 3 ? "batch_matmul" : "matmul");
  put_operands(pr, op->in, 2);
  fputs(" : ", pr->out);
  put_types(pr, op->in, 2);
  fprintf(pr->out, ") outs(%%t%d : ", init);
  put_type(pr, &op->out[0]->type);
  fputs(") -> ", pr->out);
  put_type(pr, &op->out[0]->type);
  fputc('\n', pr->out);
}

static void print_transpose(UPrinter *pr, const Op *op, int level) {
  int e = tmp_empty(pr, &op->out[0]->type, level);
  def_results(pr, op, level);
  fputs("linalg.transpose ins(", pr->out);
  put_value(pr, op->in[0]);
  fputs(" : ", pr->out);
  put_type(pr, &op->in[0]->type);
  fprintf(pr->out, ") outs(%%t%d : ", e);
  put_type(pr, &op->out[0]->type);
  fputs(") permutation = ", pr->out);
  put_ints(pr, op->attrs.perm, op->in[0]->type.rank);
  fputc('\n', pr->out);
}

static void put_reassoc(UPrinter *pr, const int64_t *groups, int n) {
  fputc('[', pr->out);
  for (int g = 0, d = 0; g < n; g++) {
    fputs(g ? ", [" : "[", pr->out);
    for (int k = 0; k < groups[g]; k++) fprintf(pr->out, "%s%d", k ? ", " : "", d++);
    fputc(']', pr->out);
  }
  fputc(']', pr->out);
}

/* `tensor.collapse_shape x [[...]] : a into b` (expand: the other way). */
static void put_reshape(UPrinter *pr, bool expand, const char *src, const TensorType *from, const TensorType *to,
                        const int64_t *groups, int n) {
  fprintf(pr->out, "tensor.%s %s ", expand ? "expand_shape" : "collapse_shape", src);
  put_reassoc(pr, groups, n);
  if (expand && !pr->opt.mlir16) {
    fputs(" output_shape ", pr->out);
    put_ints(pr, to->dims, to->rank);
  }
  fputs(" : ", pr->out);
  put_type(pr, from);
  fputs(" into ", pr->out);
  put_type(pr, to);
  fputc('\n', pr->out);
}

static void value_text(UPrinter *pr, const Value *v, char *buf, size_t n) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  KILN_ASSERT(f);
  FILE *saved = pr->out;
  pr->out = f;
  put_value(pr, v);
  pr->out = saved;
  fclose(f);
  snprintf(buf, n, "%s", text);
  free(text);
}

static void print_reshape_op(UPrinter *pr, const Op *op, int level) {
  char src[64];
  value_text(pr, op->in[0], src, sizeof src);
  const TensorType *from = &op->in[0]->type, *to = &op->out[0]->type;
  if (op->kind != KILN_OP_RESHAPE) {
    def_results(pr, op, level);
    put_reshape(pr, op->kind == KILN_OP_EXPAND_SHAPE, src, from, to, op->attrs.reassoc, op->attrs.n_reassoc);
    return;
  }
  /* a general reshape: collapse everything to 1-D (or 0-D), then expand */
  int64_t numel = type_numel(from);
  TensorType flat = {.dtype = from->dtype, .rank = 1, .dims = {numel}};
  int64_t all_from = from->rank, all_to = to->rank;
  if (from->rank != 1) {
    int t = pr->tmp++;
    indent(pr, level);
    fprintf(pr->out, "%%t%d = ", t);
    put_reshape(pr, false, src, from, &flat, &all_from, 1);
    snprintf(src, sizeof src, "%%t%d", t);
  }
  def_results(pr, op, level);
  put_reshape(pr, true, src, &flat, to, &all_to, 1);
}

static bool reshape_expressible(const Op *op) {
  const TensorType *from = &op->in[0]->type, *to = &op->out[0]->type;
  return op->kind != KILN_OP_RESHAPE || (from->rank >= 1 && to->rank >= 1 && type_numel(from) > 0);
}

static void print_pad(UPrinter *pr, const Op *op, int level) {
  tmp_pad(pr, op->in[0], op->attrs.pad_lo, op->attrs.pad_hi, op->attrs.pad_value, level, op);
}

static bool pad_expressible(const Op *op) {
  if (op->attrs.pad_mode != PAD_CONSTANT) return false;
  for (int d = 0; d < op->in[0]->type.rank; d++)
    if (op->attrs.pad_lo[d] < 0 || op->attrs.pad_hi[d] < 0) return false;
  return true;
}

static void print_slice(UPrinter *pr, const Op *op, int level) {
  int r = op->in[0]->type.rank;
  def_results(pr, op, level);
  fputs("tensor.extract_slice ", pr->out);
  put_value(pr, op->in[0]);
  put_ints(pr, op->attrs.offsets, r);
  fputc(' ', pr->out);
  put_ints(pr, op->out[0]->type.dims, r);
  fputc(' ', pr->out);
  put_ints(pr, op->attrs.steps, r);
  fputs(" : ", pr->out);
  put_type(pr, &op->in[0]->type);
  fputs(" to ", pr->out);
  put_type(pr, &op->out[0]->type);
  fputc('\n', pr->out);
}

static bool slice_expressible(const Op *op) {
  for (int d = 0; d < op->in[0]->type.rank; d++)
    if (op->attrs.steps[d] < 1) return false;
  return true;
}

/* Concat as IREE lowers it: each operand inserted into a tensor.empty at its offset. */
static void print_concat(UPrinter *pr, const Op *op, int level) {
  const TensorType *t = &op->out[0]->type;
  int r = t->rank, prev = tmp_empty(pr, t, level);
  int64_t off[KILN_MAX_RANK] = {0}, ones[KILN_MAX_RANK];
  for (int d = 0; d < r; d++) ones[d] = 1;
  for (int k = 0; k < op->n_in; k++) {
    bool last = k == op->n_in - 1;
    int n = -1;
    if (last) def_results(pr, op, level);
    else indent(pr, level), fprintf(pr->out, "%%t%d = ", n = pr->tmp++);
    fputs("tensor.insert_slice ", pr->out);
    put_value(pr, op->in[k]);
    fprintf(pr->out, " into %%t%d", prev);
    put_ints(pr, off, r);
    fputc(' ', pr->out);
    put_ints(pr, op->in[k]->type.dims, r);
    fputc(' ', pr->out);
    put_ints(pr, ones, r);
    fputs(" : ", pr->out);
    put_type(pr, &op->in[k]->type);
    fputs(" into ", pr->out);
    put_type(pr, t);
    fputc('\n', pr->out);
    off[op->attrs.axis] += op->in[k]->type.dims[op->attrs.axis];
    prev = n;
  }
}

/* ---- dispatches, ops, the module ------------------------------------------------------- */

static void print_op(UPrinter *pr, const Op *op, int level);

/* IREE's pretty form, or (mlir16) the generic op form mlir-opt accepts for an
 * unregistered dialect. */
static void print_dispatch(UPrinter *pr, const Op *op, int level) {
  const Func *f = op->attrs.region;
  bool generic = pr->opt.mlir16;
  for (int i = 0; i < f->n_args && i < op->n_in; i++) pr->alias[f->args[i]->id] = op->in[i];
  def_results(pr, op, level);
  fputs(generic ? "\"flow.dispatch.region\"() ({\n" : "flow.dispatch.region -> (", pr->out);
  if (!generic) {
    put_types(pr, op->out, op->n_out);
    fputs(") {\n", pr->out);
  }
  if (op->name) {
    indent(pr, level + 1);
    fprintf(pr->out, "// %s\n", op->name);
  }
  for (const Op *o = f->first; o; o = o->next) print_op(pr, o, level + 1);
  indent(pr, level + 1);
  fputs(generic ? "\"flow.return\"(" : "flow.return ", pr->out);
  put_operands(pr, f->results, f->n_results);
  fputs(generic ? ") : (" : " : ", pr->out);
  put_types(pr, f->results, f->n_results);
  fputs(generic ? ") -> ()\n" : "\n", pr->out);
  indent(pr, level);
  if (!generic) {
    fputs("}\n", pr->out);
    return;
  }
  fputs("}) : () -> (", pr->out);
  put_types(pr, op->out, op->n_out);
  fputs(")\n", pr->out);
}

static void print_op(UPrinter *pr, const Op *op, int level) {
  switch (op->kind) {
  case KILN_OP_CONSTANT: print_constant(pr, op, level); return;
  case KILN_OP_GENERIC: print_generic(pr, op, level); return;
  case KILN_OP_CONV2D:
    if (op->attrs.groups == 1) print_conv(pr, op, level);
    else print_kiln_form(pr, op, level);
    return;
  case KILN_OP_DEPTHWISE_CONV2D: print_conv(pr, op, level); return;
  case KILN_OP_POOL2D:
    if (pool_expressible(op)) print_pool(pr, op, level);
    else print_kiln_form(pr, op, level);
    return;
  case KILN_OP_MATMUL:
    if (matmul_expressible(op)) print_matmul(pr, op, level);
    else print_kiln_form(pr, op, level);
    return;
  case KILN_OP_TRANSPOSE: print_transpose(pr, op, level); return;
  case KILN_OP_PAD:
    if (pad_expressible(op)) print_pad(pr, op, level);
    else print_kiln_form(pr, op, level);
    return;
  case KILN_OP_RESHAPE:
  case KILN_OP_COLLAPSE_SHAPE:
  case KILN_OP_EXPAND_SHAPE:
    if (reshape_expressible(op)) print_reshape_op(pr, op, level);
    else print_kiln_form(pr, op, level);
    return;
  case KILN_OP_EXTRACT_SLICE:
    if (slice_expressible(op)) print_slice(pr, op, level);
    else print_kiln_form(pr, op, level);
    return;
  case KILN_OP_CONCAT: print_concat(pr, op, level); return;
  case KILN_OP_DISPATCH:
    if (op->attrs.region) print_dispatch(pr, op, level);
    else print_kiln_form(pr, op, level);
    return;
  default: print_kiln_form(pr, op, level); return;
  }
}

void module_print_upstream(const Module *m, FILE *out, const PrintOptions *opt) {
  UPrinter pr = {.out = out, .m = m, .opt = {.elide_above = 16}};
  if (opt) pr.opt = *opt;
  size_t nv = (size_t)(m->next_value_id > 0 ? m->next_value_id : 1);
  pr.num = malloc(nv * sizeof(int));
  pr.alias = calloc(nv, sizeof *pr.alias);
  KILN_ASSERT(pr.num && pr.alias);
  for (size_t i = 0; i < nv; i++) pr.num[i] = -1;
  const Func *f = m->main;
  fputs("module {\n", out);
  if (f) {
    fputs("  func.func @", out);
    fputs(f->name && text_is_ident(f->name) ? f->name : "main", out);
    fputc('(', out);
    for (int i = 0; i < f->n_args; i++) {
      fprintf(out, "%s%%arg%d: ", i ? ", " : "", i);
      put_type(&pr, &f->args[i]->type);
    }
    fputs(") -> (", out);
    put_types(&pr, f->results, f->n_results);
    fputs(") {\n", out);
    for (const Op *op = f->first; op; op = op->next) print_op(&pr, op, 2);
    fputs("    return ", out);
    put_operands(&pr, f->results, f->n_results);
    fputs(" : ", out);
    put_types(&pr, f->results, f->n_results);
    fputs("\n  }\n", out);
  }
  fputs("}\n", out);
  free(pr.num);
  free(pr.alias);
}
