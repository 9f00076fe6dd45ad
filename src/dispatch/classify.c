/* classify.c — what kind of op or dispatch something is: roots, computing generics,
 * data-movement-only dispatches, IREE-style dispatch names and FLOP counts.
 *
 * Shared by formation (roots), the report (names, FLOPs, classes) and the graph. Names
 * follow IREE's `dispatch_<N>_<root>_<kernel>_<result shape>_<dtype>` so people used to
 * grepping IREE dumps (e.g. for `_transpose_`) can do the same here. */
#include <string.h>

#include "dispatch.h"

bool dispatch_is_root(const Op *op) {
  switch (op->kind) {
  case KILN_OP_CONV2D: case KILN_OP_DEPTHWISE_CONV2D: case KILN_OP_CONV_TRANSPOSE2D:
  case KILN_OP_MATMUL: case KILN_OP_POOL2D: case KILN_OP_RESIZE: case KILN_OP_ARGMAX:
    return true;
  case KILN_OP_GENERIC:
    for (int i = 0; i < op->attrs.n_loops; i++)
      if (op->attrs.iterators[i] == ITER_REDUCTION) return true;
    return false;
  default:
    return false;
  }
}

bool dispatch_generic_computes(const Op *op) {
  if (op->kind != KILN_OP_GENERIC) return false;
  for (int i = 0; i < op->attrs.body.n_insts; i++) {
    BodyOpKind k = op->attrs.body.insts[i].kind;
    if (k != BODY_ARG && k != BODY_CONST) return true;
  }
  return false;
}

bool dispatch_is_data_movement(const Op *dispatch) {
  const Func *r = dispatch->attrs.region;
  for (const Op *op = r ? r->first : NULL; op; op = op->next)
    if (dispatch_is_root(op) || dispatch_generic_computes(op)) return false;
  return true;
}

const Op *dispatch_main_op(const Func *region) {
  for (const Op *op = region->first; op; op = op->next)
    if (dispatch_is_root(op)) return op;
  for (const Op *op = region->first; op; op = op->next)
    if (dispatch_generic_computes(op)) return op;
  return region->first;
}

static void shape_str(const TensorType *t, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < t->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "x" : "", (long long)t->dims[i]);
  if (t->rank == 0) snprintf(buf, n, "scalar");
}

/* The kind part of a name: "conv_nhwc_3x3", "matmul_4225x16x32", "transpose", ... */
static void kind_part(const Op *op, char *buf, size_t n) {
  const OpAttrs *a = &op->attrs;
  const char *lay = a->layout == LAYOUT_NHWC ? "nhwc" : "nchw";
  long long kh = (long long)a->kernel[0], kw = (long long)a->kernel[1];
  switch (op->kind) {
  case KILN_OP_CONV2D:
    snprintf(buf, n, "conv%s_%s_%lldx%lld", a->groups > 1 ? "_grouped" : "", lay, kh, kw);
    return;
  case KILN_OP_DEPTHWISE_CONV2D: snprintf(buf, n, "depthwise_conv_%s_%lldx%lld", lay, kh, kw); return;
  case KILN_OP_CONV_TRANSPOSE2D: snprintf(buf, n, "conv_transpose_%s_%lldx%lld", lay, kh, kw); return;
  case KILN_OP_POOL2D:
    snprintf(buf, n, "pooling_%s_%s_%lldx%lld", lay, a->pool_kind == POOL_MAX ? "max" : "avg", kh, kw);
    return;
  case KILN_OP_RESIZE:
    snprintf(buf, n, "resize_%s", a->resize_mode == RESIZE_LINEAR ? "linear" : "nearest");
    return;
  case KILN_OP_MATMUL: {
    const TensorType *x = &op->in[0]->type, *y = &op->out[0]->type;
    snprintf(buf, n, "%smatmul_%lldx%lldx%lld", y->rank > 2 ? "batch_" : "",
             (long long)y->dims[y->rank - 2], (long long)y->dims[y->rank - 1],
             (long long)x->dims[x->rank - 1]);
    return;
  }
  case KILN_OP_GENERIC:
    snprintf(buf, n, "%s", dispatch_is_root(op) ? "reduction"
                           : dispatch_generic_computes(op) ? "elementwise" : "copy");
    return;
  case KILN_OP_EXTRACT_SLICE: snprintf(buf, n, "slice"); return;
  default: {
    const char *name = op_kind_name(op->kind);
    snprintf(buf, n, "%s", strncmp(name, "kiln.", 5) ? name : name + 5);
    return;
  }
  }
}

int dispatch_count_roots(const Func *region) {
  int n = 0;
  for (const Op *op = region->first; op; op = op->next) n += dispatch_is_root(op);
  return n;
}

void dispatch_roots_label(const Func *region, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = 0;
  for (const Op *op = region->first; op && k + 1 < n; op = op->next) {
    if (!dispatch_is_root(op)) continue;
    char l[160];
    dispatch_op_label(op, l, sizeof l);
    k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? "+" : "", l);
  }
}

/* The op a chain of several roots (--fuse-conv-chains) is named after: its first conv
 * with a window (the depthwise of an inverted-residual block), else its first root. */
static const Op *chain_main_op(const Func *region) {
  for (const Op *op = region->first; op; op = op->next)
    if (op->kind == KILN_OP_DEPTHWISE_CONV2D || (op->kind == KILN_OP_CONV2D && op->attrs.kernel[0] * op->attrs.kernel[1] > 1))
      return op;
  return dispatch_main_op(region);
}

void dispatch_make_name(const Func *region, int index, char *buf, size_t n) {
  bool chain = dispatch_count_roots(region) > 1;
  const Op *op = chain ? chain_main_op(region) : dispatch_main_op(region);
  char kind[96] = "empty", shape[128] = "scalar";
  const char *dt = "f32";
  if (op) {
    if (chain) memcpy(kind, "conv_chain_", sizeof "conv_chain_");
    kind_part(op, kind + (chain ? strlen(kind) : 0), sizeof kind - (chain ? strlen(kind) : 0));
    const TensorType *t = op->n_out ? &op->out[0]->type : &op->in[0]->type;
    shape_str(t, shape, sizeof shape);
    dt = dtype_name(t->dtype);
  }
  if (op && op->kind == KILN_OP_MATMUL) /* the kind part already has MxNxK */
    snprintf(buf, n, "dispatch_%d_%s_%s", index, kind, dt);
  else
    snprintf(buf, n, "dispatch_%d_%s_%s_%s", index, kind, shape, dt);
}

static int64_t numel(const Value *v) { return type_numel(&v->type); }

static int64_t generic_flops(const Op *op) {
  int64_t r[KILN_MAX_RANK], iters = 1, per = 0;
  if (!generic_loop_ranges(op, r)) return 0;
  for (int i = 0; i < op->attrs.n_loops; i++) iters *= r[i];
  for (int i = 0; i < op->attrs.body.n_insts; i++) {
    BodyOpKind k = op->attrs.body.insts[i].kind;
    per += k != BODY_ARG && k != BODY_CONST;
  }
  return iters * per;
}

int64_t dispatch_op_flops(const Op *op) {
  const OpAttrs *a = &op->attrs;
  int64_t window = a->kernel[0] * a->kernel[1];
  switch (op->kind) {
  case KILN_OP_CONV2D: {
    const Value *w = op->in[1]; /* fchw or hwcf: C/g is dim 1 or 2 */
    int64_t cin = w->type.dims[a->layout == LAYOUT_NHWC ? 2 : 1];
    return 2 * numel(op->out[0]) * window * cin;
  }
  case KILN_OP_DEPTHWISE_CONV2D: return 2 * numel(op->out[0]) * window;
  case KILN_OP_CONV_TRANSPOSE2D: {
    const Value *w = op->in[1]; /* iohw (NCHW) or hwoi (NHWC): Cout/g is dim 1 or 2 */
    return 2 * numel(op->in[0]) * w->type.dims[a->layout == LAYOUT_NHWC ? 2 : 1] * window;
  }
  case KILN_OP_MATMUL: {
    const TensorType *x = &op->in[0]->type;
    return 2 * numel(op->out[0]) * x->dims[x->rank - 1];
  }
  case KILN_OP_POOL2D: return numel(op->out[0]) * window;
  case KILN_OP_RESIZE: return numel(op->out[0]) * (a->resize_mode == RESIZE_LINEAR ? 8 : 1);
  case KILN_OP_ARGMAX: return numel(op->in[0]);
  case KILN_OP_GENERIC: return generic_flops(op);
  default: return 0;
  }
}

void dispatch_op_label(const Op *op, char *buf, size_t n) {
  const char *name = op_kind_name(op->kind);
  name = strncmp(name, "kiln.", 5) ? name : name + 5;
  if (op->kind != KILN_OP_GENERIC) {
    snprintf(buf, n, "%s", name);
    return;
  }
  size_t k = (size_t)snprintf(buf, n, "%s(", dispatch_is_root(op) ? "reduce" : "generic");
  int shown = 0;
  for (int i = 0; i < op->attrs.body.n_insts && k + 16 < n; i++) {
    const BodyInst *bi = &op->attrs.body.insts[i];
    if (bi->kind == BODY_ARG || bi->kind == BODY_CONST) continue;
    const char *bn = bi->kind == BODY_CAST ? "cast" : body_op_name(bi->kind, bi->dtype);
    if (!bn) bn = "?";
    const char *dot = strchr(bn, '.');
    if (shown++ == 6) {
      k += (size_t)snprintf(buf + k, n - k, ",...");
      break;
    }
    k += (size_t)snprintf(buf + k, n - k, "%s%s", shown > 1 ? "," : "", dot ? dot + 1 : bn);
  }
  if (k + 2 < n) snprintf(buf + k, n - k, ")");
}
