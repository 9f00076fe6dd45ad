/* verify.c — the structural verifier.
 *
 * Checks what every pass must preserve: operand/result counts match ops.def, every
 * operand is defined earlier in the same function (SSA dominance in a straight-line
 * list), use lists mirror operands exactly, result types equal what op_infer_types
 * computes, generic maps have the operands' ranks and only name existing loops, and
 * bodies reference only earlier instructions. The first problem is reported naming the
 * op ("op 'conv1' (kiln.conv_2d): ..."). Runs after every pass under --verify-each. */
#include <string.h>

#include "ir.h"
#include "text.h"

#define OP_ERR(d, op, ...) op_error(d, op, __VA_ARGS__)

static KilnStatus op_error(Diag *d, const Op *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static KilnStatus op_error(Diag *d, const Op *op, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return diag_error(d, KILN_ERR_INVALID, "verifier: op '%s' (%s): %s", op->name,
                    op_kind_name(op->kind), what);
}

static bool has_use(const Value *v, const Op *user, int index) {
  for (const Use *u = v->uses; u; u = u->next)
    if (u->user == user && u->index == index) return true;
  return false;
}

/* Marks values defined so far; value ids index the bitmap. */
typedef struct Defined {
  unsigned char *bits;
  int n;
} Defined;

static bool is_defined(const Defined *df, const Value *v) {
  return v->id >= 0 && v->id < df->n && df->bits[v->id];
}

static void mark(Defined *df, const Value *v) {
  if (v->id >= 0 && v->id < df->n) df->bits[v->id] = 1;
}

static KilnStatus check_counts(const Op *op, Diag *d) {
  int nin = op_kind_n_in(op->kind), nout = op_kind_n_out(op->kind);
  if (nin >= 0 && op->n_in != nin) return OP_ERR(d, op, "has %d operands, expected %d", op->n_in, nin);
  if (nout >= 0 && op->n_out != nout)
    return OP_ERR(d, op, "has %d results, expected %d", op->n_out, nout);
  return KILN_OK;
}

static KilnStatus check_operands(const Op *op, const Defined *df, Diag *d) {
  for (int i = 0; i < op->n_in; i++) {
    const Value *v = op->in[i];
    if (!v) return OP_ERR(d, op, "operand %d is null", i);
    if (!is_defined(df, v)) return OP_ERR(d, op, "operand %d is used before its definition", i);
    if (!has_use(v, op, i)) return OP_ERR(d, op, "operand %d is missing from its use list", i);
  }
  for (int i = 0; i < op->n_out; i++) {
    const Value *v = op->out[i];
    if (!v || v->def != op || v->def_index != i)
      return OP_ERR(d, op, "result %d does not point back to its op", i);
    for (const Use *u = v->uses; u; u = u->next)
      if (!u->user || u->index >= u->user->n_in || u->user->in[u->index] != v)
        return OP_ERR(d, op, "result %d has a stale use", i);
  }
  return KILN_OK;
}

static KilnStatus check_body(const Op *op, Diag *d) {
  const Body *b = &op->attrs.body;
  int n_args = op->n_in + op->n_out;
  for (int i = 0; i < b->n_insts; i++) {
    const BodyInst *in = &b->insts[i];
    if (in->kind >= BODY_COUNT || in->kind == BODY_YIELD)
      return OP_ERR(d, op, "body inst %d has a bad kind", i);
    if (in->kind == BODY_ARG && (in->imm_i < 0 || in->imm_i >= n_args))
      return OP_ERR(d, op, "body inst %d reads block argument %lld of %d", i,
                    (long long)in->imm_i, n_args);
    int want = body_op_n_args(in->kind);
    if (in->n_args != want) return OP_ERR(d, op, "body inst %d has %d args, expected %d", i, in->n_args, want);
    for (int k = 0; k < in->n_args; k++)
      if (in->args[k] < 0 || in->args[k] >= i)
        return OP_ERR(d, op, "body inst %d uses inst %d, not an earlier one", i, in->args[k]);
    if (in->kind != BODY_ARG && in->kind != BODY_CAST && in->kind != BODY_SELECT &&
        in->kind != BODY_CONST && !body_op_name(in->kind, in->dtype))
      return OP_ERR(d, op, "body inst %d: %s op is not defined for %s", i,
                    body_op_name(in->kind, KILN_F32) ? body_op_name(in->kind, KILN_F32) : "?",
                    dtype_name(in->dtype));
  }
  if (b->n_yield != op->n_out) return OP_ERR(d, op, "body yields %d values for %d results", b->n_yield, op->n_out);
  for (int k = 0; k < b->n_yield; k++) {
    if (b->yields[k] < 0 || b->yields[k] >= b->n_insts)
      return OP_ERR(d, op, "body yield %d names no instruction", k);
    /* the same element type, signedness aside (bodies spell u8 as i8, as MLIR does) */
    if (strcmp(text_body_type(b->insts[b->yields[k]].dtype), text_body_type(op->out[k]->type.dtype)))
      return OP_ERR(d, op, "body yields %s for result %d of element type %s",
                    dtype_name(b->insts[b->yields[k]].dtype), k, dtype_name(op->out[k]->type.dtype));
  }
  return KILN_OK;
}

static KilnStatus check_generic(const Op *op, Diag *d) {
  const OpAttrs *a = &op->attrs;
  if (a->n_loops < 0 || a->n_loops > KILN_MAX_RANK) return OP_ERR(d, op, "has %d loops", a->n_loops);
  if (a->n_maps != op->n_in + op->n_out)
    return OP_ERR(d, op, "has %d indexing maps for %d operands", a->n_maps, op->n_in + op->n_out);
  bool reduces = false;
  for (int l = 0; l < a->n_loops; l++) reduces |= a->iterators[l] == ITER_REDUCTION;
  if (reduces && !a->init) return OP_ERR(d, op, "reduces but has no init values");
  for (int k = 0; k < a->n_maps; k++) {
    const Value *v = k < op->n_in ? op->in[k] : op->out[k - op->n_in];
    if (a->maps[k].n_results != v->type.rank)
      return OP_ERR(d, op, "map %d has %d results for an operand of rank %d", k,
                    a->maps[k].n_results, v->type.rank);
    for (int r = 0; r < a->maps[k].n_results; r++)
      for (int l = a->n_loops; l < KILN_MAX_RANK; l++)
        if (a->maps[k].results[r].coef[l])
          return OP_ERR(d, op, "map %d result %d uses loop d%d of %d loops", k, r, l, a->n_loops);
  }
  int64_t ranges[KILN_MAX_RANK];
  if (!generic_loop_ranges(op, ranges)) return OP_ERR(d, op, "a loop's range is not determined by any operand");
  return check_body(op, d);
}

static KilnStatus check_types(const Op *op, Diag *d) {
  TensorType want[KILN_MAX_OPERANDS];
  if (op->n_out > KILN_MAX_OPERANDS) return OP_ERR(d, op, "has %d results", op->n_out);
  KilnStatus st = op_infer_types(op, want, d);
  if (st) return st;
  for (int i = 0; i < op->n_out; i++) {
    if (!type_equal(&want[i], &op->out[i]->type)) {
      char a[128], b[128];
      return OP_ERR(d, op, "result %d has type %s, expected %s", i,
                    type_str(&op->out[i]->type, a, sizeof a), type_str(&want[i], b, sizeof b));
    }
  }
  return KILN_OK;
}

static KilnStatus check_op(const Op *op, const Func *f, const Defined *df, Diag *d) {
  if (op->parent != f) return OP_ERR(d, op, "is not linked into the function it is in");
  if (op->kind >= KILN_OP_COUNT) return diag_error(d, KILN_ERR_INVALID, "verifier: op with bad kind");
  KilnStatus st = check_counts(op, d);
  if (!st) st = check_operands(op, df, d);
  if (!st && op->kind == KILN_OP_CONSTANT &&
      (op->attrs.const_index < 0 || op->attrs.const_index >= f->module->n_consts))
    st = OP_ERR(d, op, "names constant %d of %d", op->attrs.const_index, f->module->n_consts);
  if (!st && op->kind == KILN_OP_GENERIC) st = check_generic(op, d);
  if (!st && op->kind == KILN_OP_DISPATCH) {
    if (!op->attrs.region) return OP_ERR(d, op, "has no region");
    st = func_verify(op->attrs.region, d);
  }
  if (!st) st = check_types(op, d);
  return st;
}

KilnStatus func_verify(const Func *f, Diag *d) {
  Defined df = {.n = f->module->next_value_id};
  df.bits = calloc((size_t)(df.n ? df.n : 1), 1);
  if (!df.bits) return diag_error(d, KILN_ERR_NOMEM, "verifier: out of memory");
  KilnStatus st = KILN_OK;
  for (int i = 0; i < f->n_args && !st; i++) {
    if (f->args[i]->def) st = diag_error(d, KILN_ERR_INVALID, "verifier: argument %d has a defining op", i);
    mark(&df, f->args[i]);
  }
  for (const Op *op = f->first; op && !st; op = op->next) {
    if (op->next && op->next->prev != op) st = OP_ERR(d, op, "has a broken next/prev link");
    if (!st) st = check_op(op, f, &df, d);
    for (int i = 0; i < op->n_out; i++) mark(&df, op->out[i]);
  }
  for (int i = 0; i < f->n_results && !st; i++)
    if (!f->results[i] || !is_defined(&df, f->results[i]))
      st = diag_error(d, KILN_ERR_INVALID, "verifier: function '%s' result %d ('%s') is not defined",
                      f->name, i, f->result_names ? f->result_names[i] : "?");
  free(df.bits);
  return st;
}
