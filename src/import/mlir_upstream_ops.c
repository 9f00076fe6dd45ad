/* mlir_upstream_ops.c — the op table of the upstream-MLIR importer: arith.constant,
 * tensor.{empty,pad,collapse_shape,expand_shape,extract_slice,insert_slice,concat},
 * linalg.{fill,transpose,broadcast,matmul,batch_matmul}, the 2-D convs, depthwise
 * convs and poolings, and linalg.generic (mlir_upstream_generic.c). up_find_op() is the
 * one entry point.
 *
 * Mapping notes:
 *  - linalg named ops accumulate into their `outs` operand: an empty tensor or a fill
 *    of zero adds nothing; a fill of c adds c; a real tensor (e.g. a bias broadcast) is
 *    added by an elementwise generic after the op.
 *  - Their inputs are converted to the result element type first (linalg's implicit
 *    casts: f16 x f16 accumulated in f32), with a cast generic.
 *  - conv_2d_nhwc_fhwc weights are transposed to hwcf (a transpose op that constant
 *    folding folds into the weights).
 *  - Named convs and poolings carry no padding: the tensor.pad in front becomes Kiln's
 *    pad op, which fold-pad folds into the conv.
 *  - Sum pooling is average pooling (counting the padding) times the window size. */
#include <math.h>
#include <string.h>

#include "mlir_upstream.h"

/* ---- small readers ---------------------------------------------------------------- */

/* An integer list in any of the spellings upstream uses: `[1, 2]`, `array<i64: 1, 2>`,
 * `dense<[1, 2]> : tensor<2xi64>` / `vector<2xi64>`, or the splat `dense<1> : ...<2xi64>`. */
static bool read_int_list(Up *u, int64_t *out, int max, int *n) {
  Parser *ps = &u->ps;
  bool dense = lex_accept(ps, "dense<"), array = !dense && lex_accept(ps, "array<");
  bool bracket = !array && lex_accept(ps, "[");
  if (array && (!lex_expect(ps, "i64", "in array<>") || (!lex_peek(ps, ">") && !lex_expect(ps, ":", "in array<>"))))
    return false;
  *n = 0;
  if (!(bracket ? lex_peek(ps, "]") : lex_peek(ps, ">"))) {
    do {
      if (*n == max) return perr(ps, "integer list longer than %d", max);
      if (!lex_int(ps, &out[(*n)++])) return false;
      if (lex_accept(ps, ":") && !lex_accept(ps, "i64") && !lex_accept(ps, "si64")) return perr(ps, "expected i64");
    } while (lex_accept(ps, ","));
  }
  if (bracket && !lex_expect(ps, "]", "to end the integer list")) return false;
  if (!dense) return bracket || lex_expect(ps, ">", "to end the integer list");
  if (!lex_expect(ps, ">", "to end dense<...>") || !lex_expect(ps, ":", "after dense<...>")) return false;
  if (!lex_accept(ps, "tensor<") && !lex_expect(ps, "vector<", "(dense integer lists are tensor<> or vector<>)")) return false;
  int64_t len;
  if (!lex_int(ps, &len) || !lex_expect(ps, "x", "in the list type")) return false;
  DType dt;
  if (!lex_dtype(ps, &dt, true) || !lex_expect(ps, ">", "to end the list type")) return false;
  if (len < 0 || len > max) return perr(ps, "integer list of %lld elements", (long long)len);
  if (*n == 1 && !bracket)
    for (int i = 1; i < len; i++) out[i] = out[0];
  else if (*n != len) return perr(ps, "dense list has %d elements, its type %lld", *n, (long long)len);
  *n = (int)len;
  return true;
}

/* `{name = value, ...}` of a named op: each name must be one of `known`; values into
 * the caller's slots through read_int_list. Discardable attributes (a '.' in the
 * name) are skipped. */
typedef struct NamedAttr {
  const char *name;
  int64_t *vals;
  int n, max;
  bool seen;
} NamedAttr;

static bool read_attr_dict(Up *u, UpOp *o, NamedAttr *known, int n_known) {
  Parser *ps = &u->ps;
  if (!lex_accept(ps, "{")) return true;
  if (lex_accept(ps, "}")) return true;
  do {
    char name[128];
    const char *at = (lex_skip_ws(ps), ps->p);
    if (!lex_ident(ps, name, sizeof name)) return perr(ps, "expected attribute name");
    int k = 0;
    while (k < n_known && strcmp(known[k].name, name)) k++;
    if (k == n_known) {
      if (!strchr(name, '.')) return perr_at(ps, at, "unknown attribute '%s' of '%s'", name, o->name);
      if (lex_accept(ps, "=") && !up_skip_attr_value(u)) return false;
      continue;
    }
    if (!lex_expect(ps, "=", "after attribute name") || !read_int_list(u, known[k].vals, known[k].max, &known[k].n))
      return false;
    known[k].seen = true;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "}", "to end the attribute dictionary");
}

/* `ins(%a, %b : ta, tb)` or `outs(...)` (keyword already expected by name). */
static bool read_operands(Up *u, const char *kw, UVal **vals, int *n) {
  Parser *ps = &u->ps;
  *n = 0;
  if (!lex_accept(ps, kw)) return true;
  if (!lex_expect(ps, "(", "after ins/outs")) return false;
  if (!up_use_list(u, vals, n, true)) return false;
  return lex_expect(ps, ")", "to end ins/outs");
}

static bool read_result_type(Up *u, TensorType *t) {
  return lex_expect(&u->ps, "->", "before the result type") && lex_tensor_type(&u->ps, t);
}

static bool define1(Up *u, UpOp *o, UVal *v) {
  return v && up_define(u, o, &v, 1);
}

static bool define_value(Up *u, UpOp *o, Value *v) {
  return v && define1(u, o, up_tensor_val(u, v));
}

/* The op's name for diagnostics: its result name. */
static const char *op_label(Up *u, UpOp *o) {
  return arena_strdup(&u->m->arena, o->res[0] ? o->res : o->name);
}

/* ---- elementwise helpers ------------------------------------------------------------ */

/* An elementwise generic over `out` (identity maps for full-rank inputs). */
static Value *ew(Up *u, const char *name, Value **ins, int n, const BodyInst *insts, int n_insts, TensorType out) {
  Op *op = op_new(u->f, KILN_OP_GENERIC, name, n, ins, 1, &out, NULL);
  OpAttrs *a = &op->attrs;
  a->n_loops = out.rank;
  a->n_maps = n + 1;
  a->maps = arena_alloc(&u->m->arena, sizeof(AffineMap) * (size_t)(n + 1));
  if (!a->maps) return perr(&u->ps, "out of memory"), NULL;
  for (int i = 0; i <= n; i++) a->maps[i] = affine_identity(out.rank);
  a->body = body_new(u->m, n_insts, 1);
  memcpy(a->body.insts, insts, sizeof(BodyInst) * (size_t)n_insts);
  a->body.yields[0] = n_insts - 1;
  return op->out[0];
}

Value *up_cast_to(Up *u, Value *x, DType to) {
  if (x->type.dtype == to) return x;
  BodyInst b[2] = {{.kind = BODY_ARG, .dtype = x->type.dtype},
                   {.kind = BODY_CAST, .dtype = to, .n_args = 1, .args = {0}}};
  TensorType t = x->type;
  t.dtype = to;
  return ew(u, "cast", &x, 1, b, 2, t);
}

/* r (op) init, elementwise: the accumulation into a named op's `outs`. `neutral` is the
 * fill value that adds nothing (0 for sums, -inf or lower for max). */
Value *up_accumulate(Up *u, Value *r, UVal *init, BodyOpKind k, double neutral, const char *at) {
  if (init->kind == UV_EMPTY) return r;
  if (init->kind == UV_FILL && (init->s == neutral || (k == BODY_MAX && init->s <= -3.0e38))) return r;
  DType dt = r->type.dtype;
  if (init->kind == UV_FILL) {
    BodyInst b[3] = {{.kind = BODY_ARG, .dtype = dt}, {.kind = BODY_CONST, .dtype = dt, .imm = init->s, .imm_i = up_to_i64(init->s)},
                     {.kind = k, .dtype = dt, .n_args = 2, .args = {0, 1}}};
    return ew(u, "accumulate", &r, 1, b, 3, r->type);
  }
  Value *ins[2] = {r, up_value(u, init, at)};
  if (!ins[1]) return NULL;
  BodyInst b[3] = {{.kind = BODY_ARG, .dtype = dt}, {.kind = BODY_ARG, .dtype = dt, .imm_i = 1},
                   {.kind = k, .dtype = dt, .n_args = 2, .args = {0, 1}}};
  return ew(u, "accumulate", ins, 2, b, 3, r->type);
}

/* ---- arith / tensor ----------------------------------------------------------------- */

static bool arith_constant(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  lex_skip_ws(ps);
  if (lex_peek(ps, "dense<") || lex_peek(ps, "dense_resource<")) {
    AttrVal av = {0};
    if (!text_parse_attr_value(ps, &av)) return false;
    if (av.kind != AV_DENSE) return perr_at(ps, o->at, "expected a dense constant");
    return define_value(u, o, op_const(u->f, av.const_index));
  }
  /* A scalar: read the type first, then the literal as that type (hex bits need it). */
  const char *lit = ps->p;
  bool is_bool = lex_accept(ps, "true") || lex_accept(ps, "false");
  while (!is_bool && ps->p < ps->end && *ps->p != ':' && *ps->p != '\n') ps->p++;
  DType dt;
  if (!lex_expect(ps, ":", "after the constant")) return false;
  if (lex_accept(ps, "index")) dt = KILN_I64;
  else if (!lex_dtype(ps, &dt, true)) return false;
  const char *after = ps->p;
  UVal *x = arena_alloc(&u->m->arena, sizeof *x);
  if (!x) return perr(ps, "out of memory");
  *x = (UVal){.kind = UV_SCALAR, .type = {.dtype = dt}};
  ps->p = lit;
  if (is_bool) {
    x->s = lex_accept(ps, "true");
  } else if (dtype_is_float(dt)) {
    if (!lex_float(ps, &x->s, dt)) return false;
  } else {
    int64_t i;
    if (!lex_int(ps, &i)) return false;
    x->s = (double)i;
  }
  if (!lex_peek(ps, ":")) return perr(ps, "unexpected text in constant");
  ps->p = after;
  return define1(u, o, x);
}

static bool tensor_empty(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  UVal *x = arena_alloc(&u->m->arena, sizeof *x);
  if (!x) return perr(ps, "out of memory");
  *x = (UVal){.kind = UV_EMPTY};
  if (!lex_expect(ps, "(", "after tensor.empty") || !lex_expect(ps, ")", "(dynamic sizes are not supported)") ||
      !lex_expect(ps, ":", "before the type") || !lex_tensor_type(ps, &x->type))
    return false;
  return define1(u, o, x);
}

static bool linalg_fill(Up *u, UpOp *o) {
  UVal *ins[UP_MAX_RESULTS], *outs[UP_MAX_RESULTS];
  int ni, no;
  TensorType t;
  if (!read_operands(u, "ins", ins, &ni) || !read_operands(u, "outs", outs, &no) || !read_result_type(u, &t)) return false;
  if (ni != 1 || no != 1 || ins[0]->kind != UV_SCALAR)
    return perr_at(&u->ps, o->at, "linalg.fill needs one constant scalar and one output");
  UVal *x = arena_alloc(&u->m->arena, sizeof *x);
  if (!x) return perr(&u->ps, "out of memory");
  *x = (UVal){.kind = UV_FILL, .type = t, .s = ins[0]->s};
  return define1(u, o, x);
}

/* The scalar a pad region yields: `{ ^bb0(%i: index, ...): [constants] tensor.yield %c : f32 }`.
 * Names defined inside are local to the region. */
static bool pad_region(Up *u, double *value) {
  Parser *ps = &u->ps;
  if (!lex_expect(ps, "{", "to start the pad region")) return false;
  if (lex_accept(ps, "^")) {
    char lbl[64];
    if (!lex_ident(ps, lbl, sizeof lbl) || !lex_peek(ps, "(") || !skip_balanced(ps) || !lex_expect(ps, ":", "after the block label"))
      return perr(ps, "expected the pad region's block arguments");
  }
  USym *mark = u->log;
  UVal **rets;
  int n;
  const char *at = (lex_skip_ws(ps), ps->p);
  bool ok = up_parse_block(u, "tensor.yield", &rets, &n);
  up_scope_pop(u, mark);
  if (!ok) return false;
  if (n != 1 || rets[0]->kind != UV_SCALAR) return perr_at(ps, at, "the pad region must yield one constant scalar");
  *value = rets[0]->s;
  return lex_expect(ps, "}", "to end the pad region");
}

static bool read_bracket_ints(Up *u, int64_t *out, int want) {
  int n;
  if (!lex_peek(&u->ps, "[")) return perr(&u->ps, "expected '['");
  if (!read_int_list(u, out, KILN_MAX_RANK, &n)) return false;
  return n == want || perr(&u->ps, "expected %d values, got %d (dynamic values are not supported)", want, n);
}

static bool tensor_pad(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  UVal *x = up_use(u);
  if (!x) return false;
  Value *src = up_value(u, x, o->at);
  if (!src) return false;
  Op *op = op_new(u->f, KILN_OP_PAD, op_label(u, o), 1, &src, 1, &src->type, NULL);
  int r = src->type.rank;
  TensorType t, st;
  lex_accept(ps, "nofold");
  if (!lex_expect(ps, "low", "in tensor.pad") || !read_bracket_ints(u, op->attrs.pad_lo, r) ||
      !lex_expect(ps, "high", "in tensor.pad") || !read_bracket_ints(u, op->attrs.pad_hi, r) ||
      !pad_region(u, &op->attrs.pad_value) || !lex_expect(ps, ":", "before the types") ||
      !lex_tensor_type(ps, &st) || !lex_expect(ps, "to", "between the types") || !lex_tensor_type(ps, &t))
    return false;
  if (!type_equal(&st, &src->type)) return perr_at(ps, o->at, "tensor.pad operand type differs from the text");
  op->attrs.pad_mode = PAD_CONSTANT;
  op->out[0]->type = t;
  return up_check_result(u, op, &t, o->at) && define_value(u, o, op->out[0]);
}

/* `[[0, 1], [2]]` -> group sizes. */
static bool read_reassoc(Up *u, OpAttrs *a) {
  Parser *ps = &u->ps;
  int64_t next = 0;
  a->n_reassoc = 0;
  if (!lex_expect(ps, "[", "to start the reassociation")) return false;
  if (lex_accept(ps, "]")) return true;
  do {
    int64_t g[KILN_MAX_RANK];
    int n;
    if (a->n_reassoc == KILN_MAX_RANK) return perr(ps, "too many reassociation groups");
    if (!lex_peek(ps, "[")) return perr(ps, "expected '[' to start a reassociation group");
    if (!read_int_list(u, g, KILN_MAX_RANK, &n)) return false;
    for (int i = 0; i < n; i++)
      if (g[i] != next++) return perr(ps, "reassociation groups must list consecutive dims");
    a->reassoc[a->n_reassoc++] = n;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "]", "to end the reassociation");
}

static bool tensor_reshape(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  bool expand = !strcmp(o->name, "tensor.expand_shape");
  UVal *x = up_use(u);
  Value *src = x ? up_value(u, x, o->at) : NULL;
  if (!src) return false;
  Op *op = op_new(u->f, expand ? KILN_OP_EXPAND_SHAPE : KILN_OP_COLLAPSE_SHAPE, op_label(u, o), 1, &src, 1, &src->type, NULL);
  TensorType st, t;
  if (!read_reassoc(u, &op->attrs)) return false;
  if (expand && lex_accept(ps, "output_shape")) {
    int64_t dims[KILN_MAX_RANK];
    int n;
    if (!lex_peek(ps, "[") || !read_int_list(u, dims, KILN_MAX_RANK, &n)) return false;
  }
  if (!lex_expect(ps, ":", "before the types") || !lex_tensor_type(ps, &st) || !lex_expect(ps, "into", "between the types") ||
      !lex_tensor_type(ps, &t))
    return false;
  if (!type_equal(&st, &src->type)) return perr_at(ps, o->at, "%s operand type differs from the text", o->name);
  op->out[0]->type = t;
  return up_check_result(u, op, &t, o->at) && define_value(u, o, op->out[0]);
}

/* `[offsets] [sizes] [strides] : tA to/into tB` of extract_slice / insert_slice. */
static bool slice_params(Up *u, int r, int64_t *off, int64_t *size, int64_t *step) {
  return read_bracket_ints(u, off, r) && read_bracket_ints(u, size, r) && read_bracket_ints(u, step, r);
}

/* A rank-reducing slice drops unit dims: a reshape to the text's type follows. */
static Value *reshape_to(Up *u, Value *v, const TensorType *t, const char *at) {
  if (type_equal(&v->type, t)) return v;
  if (type_numel(&v->type) != type_numel(t)) return perr_at(&u->ps, at, "slice sizes do not match the result type"), NULL;
  Op *op = op_new(u->f, KILN_OP_RESHAPE, "slice_reshape", 1, &v, 1, t, NULL);
  return up_check_result(u, op, t, at) ? op->out[0] : NULL;
}

static bool tensor_extract_slice(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  UVal *x = up_use(u);
  Value *src = x ? up_value(u, x, o->at) : NULL;
  if (!src) return false;
  int r = src->type.rank;
  int64_t off[KILN_MAX_RANK], size[KILN_MAX_RANK], step[KILN_MAX_RANK];
  TensorType st, t, full = src->type;
  if (!slice_params(u, r, off, size, step) || !lex_expect(ps, ":", "before the types") || !lex_tensor_type(ps, &st) ||
      !lex_expect(ps, "to", "between the types") || !lex_tensor_type(ps, &t))
    return false;
  if (!type_equal(&st, &src->type)) return perr_at(ps, o->at, "tensor.extract_slice operand type differs from the text");
  for (int d = 0; d < r; d++) {
    if (size[d] < 0 || off[d] < 0 || step[d] < 1 || (size[d] && off[d] + (size[d] - 1) * step[d] >= src->type.dims[d]))
      return perr_at(ps, o->at, "slice out of bounds in dim %d", d);
    full.dims[d] = size[d];
  }
  Op *op = op_new(u->f, KILN_OP_EXTRACT_SLICE, op_label(u, o), 1, &src, 1, &full, NULL);
  memcpy(op->attrs.offsets, off, sizeof off);
  memcpy(op->attrs.steps, step, sizeof step);
  if (!up_check_result(u, op, &full, o->at)) return false;
  return define_value(u, o, reshape_to(u, op->out[0], &t, o->at));
}

/* Inserts into an empty / filled destination (or an earlier insert chain) are collected;
 * up_value turns them into a pad or a concat when the result is used. */
static bool tensor_insert_slice(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  UVal *src = up_use(u), *dst;
  if (!src || !lex_expect(ps, "into", "in tensor.insert_slice") || !(dst = up_use(u))) return false;
  int r = dst->type.rank;
  int64_t off[KILN_MAX_RANK], size[KILN_MAX_RANK], step[KILN_MAX_RANK];
  TensorType st, t;
  if (!slice_params(u, r, off, size, step) || !lex_expect(ps, ":", "before the types") || !lex_tensor_type(ps, &st) ||
      !lex_expect(ps, "into", "between the types") || !lex_tensor_type(ps, &t))
    return false;
  if (dst->kind == UV_TENSOR || dst->kind == UV_SCALAR)
    return perr_at(ps, o->at, "tensor.insert_slice into a computed tensor is not supported (only into tensor.empty / linalg.fill)");
  TensorType full = t;
  for (int d = 0; d < r; d++) {
    if (step[d] != 1) return perr_at(ps, o->at, "tensor.insert_slice with strides is not supported");
    if (off[d] < 0 || size[d] < 0 || off[d] + size[d] > t.dims[d]) return perr_at(ps, o->at, "slice out of bounds in dim %d", d);
    full.dims[d] = size[d];
  }
  Value *sv = up_value(u, src, o->at);
  if (!sv || !(sv = reshape_to(u, sv, &full, o->at))) return false;
  UVal *x = arena_alloc(&u->m->arena, sizeof *x);
  int n = dst->kind == UV_INSERTS ? dst->n_pieces : 0;
  UPiece *pcs = arena_alloc(&u->m->arena, sizeof(UPiece) * (size_t)(n + 1));
  if (!x || !pcs) return perr(ps, "out of memory");
  if (n) memcpy(pcs, dst->pieces, sizeof(UPiece) * (size_t)n);
  pcs[n].src = up_tensor_val(u, sv);
  memcpy(pcs[n].off, off, sizeof off);
  *x = (UVal){.kind = UV_INSERTS, .type = t, .s = dst->kind == UV_EMPTY ? 0 : dst->s, .n_pieces = n + 1, .pieces = pcs};
  return define1(u, o, x);
}

static bool tensor_concat(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  int64_t axis;
  UVal *vals[UP_MAX_RESULTS];
  int n;
  if (!lex_expect(ps, "dim", "in tensor.concat") || !lex_expect(ps, "(", "after dim") || !lex_int(ps, &axis) ||
      !lex_expect(ps, ")", "after the axis") || !up_use_list(u, vals, &n, false) || !lex_expect(ps, ":", "before the types"))
    return false;
  if (!lex_expect(ps, "(", "to start the operand types")) return false;
  for (int i = 0; i < n; i++) {
    TensorType t;
    if ((i && !lex_expect(ps, ",", "between types")) || !lex_tensor_type(ps, &t)) return false;
  }
  TensorType t;
  if (!lex_expect(ps, ")", "to end the operand types") || !read_result_type(u, &t)) return false;
  Value *ins[UP_MAX_RESULTS];
  for (int i = 0; i < n; i++)
    if (!(ins[i] = up_value(u, vals[i], o->at))) return false;
  if (n < 1 || axis < 0 || axis >= t.rank) return perr_at(ps, o->at, "bad tensor.concat");
  Op *op = op_new(u->f, KILN_OP_CONCAT, op_label(u, o), n, ins, 1, &t, NULL);
  op->attrs.axis = axis;
  return up_check_result(u, op, &t, o->at) && define_value(u, o, op->out[0]);
}

/* ---- linalg data movement -------------------------------------------------------------- */

/* `ins(%x : t) outs(%e : t) name = [ints]` of linalg.transpose / linalg.broadcast. */
static bool read_movement(Up *u, UpOp *o, const char *kw, Value **src, UVal **out, int64_t *ints, int *n) {
  UVal *ins[UP_MAX_RESULTS], *outs[UP_MAX_RESULTS];
  int ni, no;
  if (!read_operands(u, "ins", ins, &ni) || !read_operands(u, "outs", outs, &no)) return false;
  if (ni != 1 || no != 1) return perr_at(&u->ps, o->at, "'%s' needs one input and one output", o->name);
  if (!lex_expect(&u->ps, kw, "after outs") || !lex_expect(&u->ps, "=", "after the attribute name") ||
      !read_int_list(u, ints, KILN_MAX_RANK, n))
    return false;
  *out = outs[0];
  return (*src = up_value(u, ins[0], o->at)) != NULL;
}

static bool linalg_transpose(Up *u, UpOp *o) {
  Value *src;
  UVal *out;
  int64_t perm[KILN_MAX_RANK];
  int n;
  if (!read_movement(u, o, "permutation", &src, &out, perm, &n)) return false;
  if (n != src->type.rank) return perr_at(&u->ps, o->at, "permutation has %d entries for rank %d", n, src->type.rank);
  Op *op = op_new(u->f, KILN_OP_TRANSPOSE, op_label(u, o), 1, &src, 1, &out->type, NULL);
  memcpy(op->attrs.perm, perm, sizeof perm);
  return up_check_result(u, op, &out->type, o->at) && define_value(u, o, op->out[0]);
}

/* Result dims not in `dimensions` are the input's, in order: an identity body generic. */
static bool linalg_broadcast(Up *u, UpOp *o) {
  Value *src;
  UVal *out;
  int64_t dims[KILN_MAX_RANK];
  int n;
  if (!read_movement(u, o, "dimensions", &src, &out, dims, &n)) return false;
  const TensorType *t = &out->type;
  if (n + src->type.rank != t->rank) return perr_at(&u->ps, o->at, "linalg.broadcast dimensions do not match the ranks");
  AffineMap in = {0};
  for (int d = 0; d < t->rank; d++) {
    bool added = false;
    for (int i = 0; i < n; i++) added |= dims[i] == d;
    if (added) continue;
    if (in.n_results == src->type.rank || src->type.dims[in.n_results] != t->dims[d])
      return perr_at(&u->ps, o->at, "linalg.broadcast input dims do not match the output");
    in.results[in.n_results++].coef[d] = 1;
  }
  BodyInst b[1] = {{.kind = BODY_ARG, .dtype = src->type.dtype}};
  Value *r = ew(u, op_label(u, o), &src, 1, b, 1, *t);
  if (!r) return false;
  r->def->attrs.maps[0] = in;
  return define_value(u, o, r);
}

/* ---- convs, matmuls, pooling ------------------------------------------------------------ */

typedef struct Named {
  const char *name;
  OpKind kind;
  Layout layout;
  int weight_perm;   /* conv_2d_nhwc_fhwc: weights need fhwc -> hwcf */
  PoolKind pool;
  bool sum;          /* pooling_*_sum */
} Named;

static const Named named_ops[] = {
  {"linalg.conv_2d_nchw_fchw", KILN_OP_CONV2D, LAYOUT_NCHW, 0, 0, 0},
  {"linalg.conv_2d_nhwc_hwcf", KILN_OP_CONV2D, LAYOUT_NHWC, 0, 0, 0},
  {"linalg.conv_2d_nhwc_fhwc", KILN_OP_CONV2D, LAYOUT_NHWC, 1, 0, 0},
  {"linalg.depthwise_conv_2d_nchw_chw", KILN_OP_DEPTHWISE_CONV2D, LAYOUT_NCHW, 0, 0, 0},
  {"linalg.depthwise_conv_2d_nhwc_hwc", KILN_OP_DEPTHWISE_CONV2D, LAYOUT_NHWC, 0, 0, 0},
  {"linalg.pooling_nchw_max", KILN_OP_POOL2D, LAYOUT_NCHW, 0, POOL_MAX, 0},
  {"linalg.pooling_nhwc_max", KILN_OP_POOL2D, LAYOUT_NHWC, 0, POOL_MAX, 0},
  {"linalg.pooling_nchw_sum", KILN_OP_POOL2D, LAYOUT_NCHW, 0, POOL_AVG, 1},
  {"linalg.pooling_nhwc_sum", KILN_OP_POOL2D, LAYOUT_NHWC, 0, POOL_AVG, 1},
  {"linalg.matmul", KILN_OP_MATMUL, 0, 0, 0, 0},
  {"linalg.batch_matmul", KILN_OP_MATMUL, 0, 0, 0, 0},
};

static const Named *find_named(const char *name) {
  for (size_t i = 0; i < ARRAY_LEN(named_ops); i++)
    if (!strcmp(named_ops[i].name, name)) return &named_ops[i];
  return NULL;
}

static Value *transpose_weights(Up *u, Value *w) {
  static const int64_t perm[4] = {1, 2, 3, 0}; /* f,h,w,c -> h,w,c,f */
  TensorType t = w->type;
  for (int d = 0; d < 4 && t.rank == 4; d++) t.dims[d] = w->type.dims[perm[d]];
  Op *op = op_new(u->f, KILN_OP_TRANSPOSE, "fhwc_to_hwcf", 1, &w, 1, &t, NULL);
  memcpy(op->attrs.perm, perm, sizeof perm);
  return op->out[0];
}

/* Kernel size of the op: from the weights (convs) or the window operand (pooling). */
static void set_window(const Named *nm, OpAttrs *a, const TensorType *w) {
  if (nm->kind == KILN_OP_POOL2D) {
    a->kernel[0] = w->dims[0], a->kernel[1] = w->rank > 1 ? w->dims[1] : 1;
  } else if (nm->kind == KILN_OP_DEPTHWISE_CONV2D) {
    bool nhwc = nm->layout == LAYOUT_NHWC;
    a->kernel[0] = w->dims[nhwc ? 0 : 1], a->kernel[1] = w->dims[nhwc ? 1 : 2];
  } else {
    bool nhwc = nm->layout == LAYOUT_NHWC;
    a->kernel[0] = w->dims[nhwc ? 0 : 2], a->kernel[1] = w->dims[nhwc ? 1 : 3];
  }
}

static Value *build_named(Up *u, UpOp *o, const Named *nm, Value **ins, const TensorType *window, const int64_t *strides,
                          const int64_t *dil, const TensorType *t) {
  DType dt = t->dtype;
  for (int i = 0; i < 2 && nm->kind != KILN_OP_POOL2D; i++) ins[i] = up_cast_to(u, ins[i], dt);
  if (nm->kind != KILN_OP_POOL2D && (!ins[0] || !ins[1])) return NULL;
  if (nm->weight_perm) ins[1] = transpose_weights(u, ins[1]);
  int n_in = nm->kind == KILN_OP_POOL2D ? 1 : 2;
  Op *op = op_new(u->f, nm->kind, op_label(u, o), n_in, ins, 1, t, NULL);
  OpAttrs *a = &op->attrs;
  if (nm->kind != KILN_OP_MATMUL) {
    const TensorType *w = nm->kind == KILN_OP_POOL2D ? window : &ins[1]->type;
    if (w->rank != (nm->kind == KILN_OP_CONV2D ? 4 : nm->kind == KILN_OP_POOL2D ? 2 : 3) || ins[0]->type.rank != 4)
      return perr_at(&u->ps, o->at, "'%s': operand ranks do not fit the op", o->name), NULL;
    set_window(nm, a, w);
    memcpy(a->strides, strides, 2 * sizeof *strides);
    memcpy(a->dilations, dil, 2 * sizeof *dil);
    a->layout = nm->layout;
    a->groups = 1;
    a->pool_kind = nm->pool;
    a->count_include_pad = true;
  }
  if (!up_check_result(u, op, t, o->at)) return NULL;
  if (!nm->sum) return op->out[0];
  Value *r = op->out[0]; /* sum = average over the whole window * its size */
  BodyInst b[3] = {{.kind = BODY_ARG, .dtype = dt}, {.kind = BODY_CONST, .dtype = dt, .imm = (double)(a->kernel[0] * a->kernel[1])},
                   {.kind = BODY_MUL, .dtype = dt, .n_args = 2, .args = {0, 1}}};
  return ew(u, "sum_pool", &r, 1, b, 3, *t);
}

/* Each map result a single loop dim: the loop of every operand dim into dims[]. */
static bool map_dims(const AffineMap *m, int n_loops, int *dims) {
  for (int r = 0; r < m->n_results; r++) {
    const AffineExpr *e = &m->results[r];
    dims[r] = -1;
    if (e->cst) return false;
    for (int d = 0; d < n_loops; d++) {
      if (!e->coef[d]) continue;
      if (e->coef[d] != 1 || dims[r] >= 0) return false;
      dims[r] = d;
    }
    if (dims[r] < 0) return false;
  }
  return true;
}

/* linalg.matmul / batch_matmul with explicit `indexing_maps` (a transposed operand, as
 * IREE writes x * W^T): each input is transposed to the plain layout; the output map
 * must be the plain one. */
static bool matmul_maps(Up *u, UpOp *o, const AffineMap *maps, int n_maps, int n_dims, Value **vals) {
  static const int plain2[3][2] = {{0, 2}, {2, 1}, {0, 1}};
  static const int plain3[3][3] = {{0, 1, 3}, {0, 3, 2}, {0, 1, 2}};
  bool batch = !strcmp(o->name, "linalg.batch_matmul");
  int rank = batch ? 3 : 2;
  if (n_maps != 3 || n_dims != rank + 1) return perr_at(&u->ps, o->at, "'%s': expected 3 indexing maps over %d loops", o->name, rank + 1);
  for (int i = 0; i < 3; i++) {
    int dims[KILN_MAX_RANK];
    const int *want = batch ? plain3[i] : plain2[i];
    if (maps[i].n_results != rank || !map_dims(&maps[i], n_dims, dims))
      return perr_at(&u->ps, o->at, "'%s': indexing map %d is not a permutation", o->name, i);
    int64_t perm[KILN_MAX_RANK];
    bool identity = true;
    for (int j = 0; j < rank; j++) {
      perm[j] = -1;
      for (int r = 0; r < rank; r++)
        if (dims[r] == want[j]) perm[j] = r;
      if (perm[j] < 0) return perr_at(&u->ps, o->at, "'%s': indexing map %d does not fit a matmul", o->name, i);
      identity &= perm[j] == j;
    }
    if (identity) continue;
    if (i == 2) return perr_at(&u->ps, o->at, "'%s': a transposed result map is not supported", o->name);
    TensorType t = vals[i]->type;
    for (int j = 0; j < rank; j++) t.dims[j] = vals[i]->type.dims[perm[j]];
    Op *tr = op_new(u->f, KILN_OP_TRANSPOSE, "matmul_operand", 1, &vals[i], 1, &t, NULL);
    memcpy(tr->attrs.perm, perm, sizeof perm);
    vals[i] = tr->out[0];
  }
  return true;
}

static bool linalg_named(Up *u, UpOp *o) {
  const Named *nm = find_named(o->name);
  Parser *ps = &u->ps;
  AffineMap maps[4];
  int n_maps = 0, n_dims = 0;
  if (nm->kind == KILN_OP_MATMUL && lex_accept(ps, "indexing_maps")) {
    if (!lex_expect(ps, "=", "after indexing_maps") || !lex_expect(ps, "[", "to start indexing_maps")) return false;
    do {
      int dims;
      if (n_maps == 4) return perr(ps, "too many indexing maps");
      if (!up_affine_map(u, &maps[n_maps++], &dims)) return false;
      if (n_maps > 1 && dims != n_dims) return perr(ps, "indexing maps disagree on the number of dims");
      n_dims = dims;
    } while (lex_accept(ps, ","));
    if (!lex_expect(ps, "]", "to end indexing_maps")) return false;
  }
  int64_t strides[KILN_MAX_RANK] = {1, 1}, dil[KILN_MAX_RANK] = {1, 1};
  NamedAttr attrs[2] = {{"strides", strides, 0, KILN_MAX_RANK, false}, {"dilations", dil, 0, KILN_MAX_RANK, false}};
  UVal *ins[UP_MAX_RESULTS], *outs[UP_MAX_RESULTS];
  int ni, no;
  TensorType t;
  if (!read_attr_dict(u, o, attrs, nm->kind == KILN_OP_MATMUL ? 0 : 2) || !read_operands(u, "ins", ins, &ni) ||
      !read_operands(u, "outs", outs, &no) || !read_result_type(u, &t))
    return false;
  if (ni != 2 || no != 1) return perr_at(&u->ps, o->at, "'%s' needs two inputs and one output", o->name);
  if ((attrs[0].seen && attrs[0].n != 2) || (attrs[1].seen && attrs[1].n != 2))
    return perr_at(&u->ps, o->at, "'%s': strides and dilations need 2 values", o->name);
  Value *vals[2] = {NULL, NULL};
  TensorType window = ins[1]->type; /* pooling: only the window's shape matters */
  for (int i = 0; i < (nm->kind == KILN_OP_POOL2D ? 1 : 2); i++)
    if (!(vals[i] = up_value(u, ins[i], o->at))) return false;
  if (n_maps && !matmul_maps(u, o, maps, n_maps, n_dims, vals)) return false;
  if (!type_equal(&t, &outs[0]->type)) return perr_at(&u->ps, o->at, "'%s': result type differs from outs", o->name);
  Value *r = build_named(u, o, nm, vals, &window, strides, dil, &t);
  if (!r) return false;
  bool max = nm->kind == KILN_OP_POOL2D && nm->pool == POOL_MAX;
  return define_value(u, o, up_accumulate(u, r, outs[0], max ? BODY_MAX : BODY_ADD, max ? -INFINITY : 0, o->at));
}

/* ---- IREE's ABI ---------------------------------------------------------------------------- */

/* `hal.tensor.import [on(...)] [wait(%f) =>] %buf ["name"] : !hal.buffer_view -> tensor<...>`:
 * a function argument of that tensor type. */
static bool hal_import(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  if (lex_accept(ps, "on") && (!lex_peek(ps, "(") || !skip_balanced(ps))) return perr(ps, "expected on(...)");
  if (lex_accept(ps, "wait") && (!lex_peek(ps, "(") || !skip_balanced(ps) || !lex_expect(ps, "=>", "after wait(...)"))) return false;
  UVal *buf = up_use(u);
  const char *name = o->res;
  if (!buf) return false;
  if (buf->kind != UV_OPAQUE) return perr_at(ps, o->at, "hal.tensor.import of a value that is not a function argument");
  if (lex_peek(ps, "\"") && !lex_string(ps, &name)) return false;
  TensorType t;
  if (!lex_expect(ps, ":", "before the types") || !up_skip_type(ps) || !lex_expect(ps, "->", "between the types") ||
      !lex_tensor_type(ps, &t))
    return false;
  if (lex_accept(ps, "as") && !up_skip_type(ps)) return false;
  return define_value(u, o, func_add_arg(u->f, t, name));
}

/* `hal.tensor.export [on(...)] %x ["name"] : tensor<...> -> !hal.buffer_view`: %x itself. */
static bool hal_export(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  if (lex_accept(ps, "on") && (!lex_peek(ps, "(") || !skip_balanced(ps))) return perr(ps, "expected on(...)");
  UVal *x = up_use(u);
  const char *name;
  if (!x || (lex_peek(ps, "\"") && !lex_string(ps, &name))) return false;
  if (!lex_expect(ps, ":", "before the types") || !up_skip_type(ps) || !lex_expect(ps, "->", "between the types") || !up_skip_type(ps))
    return false;
  return define1(u, o, x);
}

/* `hal.tensor.barrier join(%a, %b : tA, tB) => %fence : !hal.fence`: the values themselves. */
static bool hal_barrier(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  UVal *vals[UP_MAX_RESULTS];
  int n;
  if (!lex_expect(ps, "join", "in hal.tensor.barrier") || !lex_expect(ps, "(", "after join") || !up_use_list(u, vals, &n, true) ||
      !lex_expect(ps, ")", "after the joined values") || !lex_expect(ps, "=>", "after join(...)") || !up_use(u) ||
      !lex_expect(ps, ":", "before the fence type") || !up_skip_type(ps))
    return false;
  return up_define(u, o, vals, n);
}

/* `iree_tensor_ext.compute_barrier.start|end %x : t -> t`: %x itself (a scheduling hint). */
static bool compute_barrier(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  UVal *x = up_use(u);
  TensorType a, b;
  if (!x || !lex_expect(ps, ":", "before the types") || !lex_tensor_type(ps, &a) || !lex_expect(ps, "->", "between the types") ||
      !lex_tensor_type(ps, &b))
    return false;
  if (!type_equal(&a, &b) || !type_equal(&a, &x->type)) return perr_at(ps, o->at, "'%s' changes the type", o->name);
  return define1(u, o, x);
}

/* ---- the table ---------------------------------------------------------------------------- */

static const struct {
  const char *name;
  UpOpFn fn;
} op_table[] = {
  {"arith.constant", arith_constant},
  {"tensor.empty", tensor_empty},
  {"tensor.pad", tensor_pad},
  {"tensor.collapse_shape", tensor_reshape},
  {"tensor.expand_shape", tensor_reshape},
  {"tensor.extract_slice", tensor_extract_slice},
  {"tensor.insert_slice", tensor_insert_slice},
  {"tensor.concat", tensor_concat},
  {"linalg.fill", linalg_fill},
  {"linalg.transpose", linalg_transpose},
  {"linalg.broadcast", linalg_broadcast},
  {"linalg.generic", up_linalg_generic},
  {"hal.tensor.import", hal_import},
  {"hal.tensor.export", hal_export},
  {"hal.tensor.barrier", hal_barrier},
  {"iree_tensor_ext.compute_barrier.start", compute_barrier},
  {"iree_tensor_ext.compute_barrier.end", compute_barrier},
};

UpOpFn up_find_op(const char *name) {
  for (size_t i = 0; i < ARRAY_LEN(op_table); i++)
    if (!strcmp(op_table[i].name, name)) return op_table[i].fn;
  return find_named(name) ? linalg_named : NULL;
}
