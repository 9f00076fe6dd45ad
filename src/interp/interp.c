/* interp.c — the interpreter's driver: runs a function's ops in order.
 *
 * Each value (indexed by Value.id, unique in the module) gets a slot holding its tensor.
 * Function arguments are the caller's tensors (borrowed), CONSTANT results are views of
 * the module's constant data (never written: executors only read operands), every other
 * result is a tensor this driver allocated (size checked with type_nbytes). Each value's
 * last use is computed from the op list first, and its tensor is freed right after that
 * op, so peak memory is the live set, not the whole graph. Results are moved out (copied
 * when borrowed, a view, or returned twice). DISPATCH runs its region function
 * recursively with the dispatch's operands as arguments. On any error every tensor this
 * run allocated is freed and no output is left behind.
 * Executors per op family live in interp_*.c (table below). */
#include <limits.h>

#include "interp_impl.h"

enum { SLOT_EMPTY, SLOT_BORROWED, SLOT_OWNED, SLOT_VIEW };

typedef struct Slot {
  Tensor *t;
  int kind;   /* SLOT_*: who frees t (BORROWED: the caller; VIEW: only the struct is ours) */
  int last;   /* index of the op that uses it last; INT_MAX for function results */
} Slot;

static const OpExec exec_table[KILN_OP_COUNT] = {
  [KILN_OP_GENERIC] = exec_generic,
  [KILN_OP_CONV2D] = exec_conv2d,
  [KILN_OP_DEPTHWISE_CONV2D] = exec_depthwise,
  [KILN_OP_CONV_TRANSPOSE2D] = exec_conv_transpose,
  [KILN_OP_POOL2D] = exec_pool,
  [KILN_OP_MATMUL] = exec_matmul,
  [KILN_OP_RESIZE] = exec_resize,
  [KILN_OP_ARGMAX] = exec_argmax,
  [KILN_OP_GATHER] = exec_gather,
  [KILN_OP_TRANSPOSE] = exec_transpose,
  [KILN_OP_PAD] = exec_pad,
  [KILN_OP_RESHAPE] = exec_copy,
  [KILN_OP_COLLAPSE_SHAPE] = exec_copy,
  [KILN_OP_EXPAND_SHAPE] = exec_copy,
  [KILN_OP_EXTRACT_SLICE] = exec_slice,
  [KILN_OP_CONCAT] = exec_concat,
};

Tensor *tensor_new(TensorType t) {
  int64_t nb = type_nbytes(&t);
  if (nb < 0 || (uint64_t)nb > SIZE_MAX / 2) return NULL;
  Tensor *r = malloc(sizeof *r);
  if (!r) return NULL;
  r->type = t;
  r->nbytes = (size_t)nb;
  r->data = calloc(1, r->nbytes ? r->nbytes : 1);
  if (!r->data) {
    free(r);
    return NULL;
  }
  return r;
}

double tensor_get_f(const Tensor *t, int64_t i) { return elem_get_f(t->data, t->type.dtype, i); }

void tensor_free(Tensor *t) {
  if (!t) return;
  free(t->data);
  free(t);
}

static void slot_release(Slot *s) {
  if (s->kind == SLOT_OWNED) tensor_free(s->t);
  else if (s->kind == SLOT_VIEW) free(s->t);
  s->t = NULL;
  s->kind = SLOT_EMPTY;
}

/* Allocates a tensor of type t for result `what` of op; size overflow is an error. */
static KilnStatus alloc_tensor(const Op *op, const TensorType *t, Tensor **out, Diag *d) {
  char buf[256];
  if (type_nbytes(t) < 0)
    return diag_error(d, KILN_ERR_LIMIT, OPFMT ": result %s is too large", OPARG(op),
                      type_str(t, buf, sizeof buf));
  *out = tensor_new(*t);
  if (!*out)
    return diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory for %s", OPARG(op),
                      type_str(t, buf, sizeof buf));
  return KILN_OK;
}

/* Copy of src for result i of function f. */
static KilnStatus tensor_copy(const Func *f, int i, const Tensor *src, Tensor **out, Diag *d) {
  *out = tensor_new(src->type);
  if (!*out)
    return diag_error(d, KILN_ERR_NOMEM, "function '%s': out of memory for result %d",
                      f->name, i);
  memcpy((*out)->data, src->data, src->nbytes);
  return KILN_OK;
}

static KilnStatus exec_constant(const Op *op, Slot *s, Diag *d) {
  const Module *m = op->parent->module;
  int ci = op->attrs.const_index;
  char b1[256], b2[256];
  if (ci < 0 || ci >= m->n_consts)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": no constant #%d", OPARG(op), ci);
  const Constant *c = &m->consts[ci];
  if (!c->data)
    return diag_error(d, KILN_ERR_INVALID, "constant '%s' has no data (elided in text)",
                      c->name);
  if (!type_equal(&c->type, &op->out[0]->type) || type_nbytes(&c->type) != (int64_t)c->nbytes)
    return diag_error(d, KILN_ERR_INVALID, "constant '%s' is %s, its op says %s", c->name,
                      type_str(&c->type, b1, sizeof b1),
                      type_str(&op->out[0]->type, b2, sizeof b2));
  Tensor *t = malloc(sizeof *t);
  if (!t) return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  t->type = c->type;
  t->data = c->data;
  t->nbytes = c->nbytes;
  s->t = t;
  s->kind = SLOT_VIEW;
  return KILN_OK;
}

static KilnStatus run_func(const Func *f, Tensor *const *inputs, Tensor **outputs, Diag *d);

static KilnStatus exec_dispatch(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  const Func *r = op->attrs.region;
  if (!r || r->n_args != op->n_in || r->n_results != op->n_out)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": region does not match its operands",
                      OPARG(op));
  for (int i = 0; i < op->n_in; i++)
    if (!type_equal(&r->args[i]->type, &in[i]->type))
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": region argument %d type mismatch",
                        OPARG(op), i);
  for (int i = 0; i < op->n_out; i++)
    if (!type_equal(&r->results[i]->type, &op->out[i]->type))
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": region result %d type mismatch",
                        OPARG(op), i);
  return run_func(r, in, out, d);
}

/* Results with no elements need no executor, and some executors' outer loops run over
 * the other dims (a concat of [huge x 0] tensors along dim 1 would loop 2^63 times). */
static bool all_empty(const Op *op) {
  for (int i = 0; i < op->n_out; i++)
    if (type_numel(&op->out[i]->type) != 0) return false;
  return op->n_out > 0;
}

/* Runs one op: operand tensors from slots, results into new slots. */
static KilnStatus exec_op(const Op *op, Slot *slots, Tensor **ins, Tensor **outs, Diag *d) {
  KilnStatus st = KILN_OK;
  for (int i = 0; i < op->n_in; i++) {
    ins[i] = slots[op->in[i]->id].t;
    if (!ins[i])
      return diag_error(d, KILN_ERR_INVALID, OPFMT ": operand %d is used before it is defined",
                        OPARG(op), i);
  }
  if (op->kind == KILN_OP_CONSTANT) return exec_constant(op, &slots[op->out[0]->id], d);
  for (int i = 0; i < op->n_out; i++) outs[i] = NULL;
  if (op->kind == KILN_OP_DISPATCH) {
    st = exec_dispatch(op, ins, outs, d);
  } else if ((unsigned)op->kind >= KILN_OP_COUNT || !exec_table[op->kind]) {
    st = diag_error(d, KILN_ERR_UNSUPPORTED, "op '%s': kind not supported by the interpreter",
                    op->name);
  } else {
    for (int i = 0; i < op->n_out && !st; i++)
      st = alloc_tensor(op, &op->out[i]->type, &outs[i], d);
    if (!st && !all_empty(op)) st = exec_table[op->kind](op, ins, outs, d);
  }
  for (int i = 0; i < op->n_out; i++) {
    if (st) {
      tensor_free(outs[i]);
      continue;
    }
    slots[op->out[i]->id].t = outs[i];
    slots[op->out[i]->id].kind = SLOT_OWNED;
  }
  return st;
}

/* Fills slots[].last: the index of each value's last user; INT_MAX for results. */
static int fill_last_uses(const Func *f, Slot *slots, int *max_in, int *max_out) {
  int idx = 0;
  *max_in = *max_out = 1;
  for (const Op *op = f->first; op; op = op->next, idx++) {
    for (int i = 0; i < op->n_in; i++) slots[op->in[i]->id].last = idx;
    for (int i = 0; i < op->n_out; i++) slots[op->out[i]->id].last = idx; /* dead: free now */
    if (op->n_in > *max_in) *max_in = op->n_in;
    if (op->n_out > *max_out) *max_out = op->n_out;
  }
  for (int i = 0; i < f->n_results; i++) slots[f->results[i]->id].last = INT_MAX;
  return idx;
}

static void free_dead(const Op *op, int idx, Slot *slots) {
  for (int i = 0; i < op->n_in; i++)
    if (slots[op->in[i]->id].last == idx) slot_release(&slots[op->in[i]->id]);
  for (int i = 0; i < op->n_out; i++)
    if (slots[op->out[i]->id].last == idx) slot_release(&slots[op->out[i]->id]);
}

/* Moves (or copies) the function results out of their slots. */
static KilnStatus take_results(const Func *f, Slot *slots, Tensor **outputs, Diag *d) {
  KilnStatus st = KILN_OK;
  for (int i = 0; i < f->n_results; i++) outputs[i] = NULL;
  for (int i = 0; i < f->n_results && !st; i++) {
    Slot *s = &slots[f->results[i]->id];
    if (!s->t) {
      st = diag_error(d, KILN_ERR_INVALID, "function '%s': result %d is never defined",
                      f->name, i);
    } else if (s->kind == SLOT_OWNED) {
      outputs[i] = s->t;
      s->kind = SLOT_BORROWED; /* a second use of the same value copies */
    } else {
      st = tensor_copy(f, i, s->t, &outputs[i], d);
    }
  }
  if (st)
    for (int i = 0; i < f->n_results; i++) {
      tensor_free(outputs[i]);
      outputs[i] = NULL;
    }
  return st;
}

static KilnStatus run_ops(const Func *f, Slot *slots, Tensor **ins, Tensor **outs, Diag *d) {
  int idx = 0;
  for (const Op *op = f->first; op; op = op->next, idx++) {
    KilnStatus st = exec_op(op, slots, ins, outs, d);
    if (st) return st;
    free_dead(op, idx, slots);
  }
  return KILN_OK;
}

static KilnStatus run_func(const Func *f, Tensor *const *inputs, Tensor **outputs, Diag *d) {
  int n_vals = f->module->next_value_id, max_in, max_out;
  Slot *slots = calloc((size_t)(n_vals ? n_vals : 1), sizeof *slots);
  KilnStatus st = KILN_OK;
  if (!slots) return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n_vals; i++) slots[i].last = -1;
  fill_last_uses(f, slots, &max_in, &max_out);
  Tensor **ins = malloc(sizeof(Tensor *) * (size_t)max_in);
  Tensor **outs = malloc(sizeof(Tensor *) * (size_t)max_out);
  if (!ins || !outs) {
    st = diag_error(d, KILN_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < f->n_args; i++) {
    slots[f->args[i]->id].t = inputs[i];
    slots[f->args[i]->id].kind = SLOT_BORROWED;
  }
  st = run_ops(f, slots, ins, outs, d);
  if (!st) st = take_results(f, slots, outputs, d);
done:
  for (int i = 0; i < n_vals; i++) slot_release(&slots[i]);
  free(slots);
  free(ins);
  free(outs);
  return st;
}

KilnStatus interp_exec_op(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  if ((unsigned)op->kind >= KILN_OP_COUNT || !exec_table[op->kind])
    return diag_error(d, KILN_ERR_UNSUPPORTED, OPFMT ": no executor for this op", OPARG(op));
  for (int i = 0; i < op->n_out; i++) memset(out[i]->data, 0, out[i]->nbytes);
  return all_empty(op) ? KILN_OK : exec_table[op->kind](op, in, out, d);
}

KilnStatus interp_run(const Func *f, Tensor *const *inputs, Tensor **outputs, Diag *d) {
  char b1[256], b2[256];
  for (int i = 0; i < f->n_results; i++) outputs[i] = NULL;
  for (int i = 0; i < f->n_args; i++) {
    const TensorType *want = &f->args[i]->type;
    const char *name = f->arg_names && f->arg_names[i] ? f->arg_names[i] : "";
    if (!inputs[i])
      return diag_error(d, KILN_ERR_INVALID, "input %d '%s': expected %s, got nothing", i,
                        name, type_str(want, b1, sizeof b1));
    if (!type_equal(want, &inputs[i]->type) ||
        type_nbytes(want) != (int64_t)inputs[i]->nbytes || !inputs[i]->data)
      return diag_error(d, KILN_ERR_INVALID, "input %d '%s': expected %s, got %s", i, name,
                        type_str(want, b1, sizeof b1),
                        type_str(&inputs[i]->type, b2, sizeof b2));
  }
  return run_func(f, inputs, outputs, d);
}
