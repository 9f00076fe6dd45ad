/* ir.c — creating and editing modules, functions, ops and values; use lists. */
#include <string.h>

#include "ir.h"

static const struct { const char *name; int n_in, n_out; unsigned attrs; } op_info[] = {
#define OP(e, name, nin, nout, attrs) [KILN_OP_##e] = {name, nin, nout, attrs},
#include "ops.def"
#undef OP
};
_Static_assert(ARRAY_LEN(op_info) == KILN_OP_COUNT, "op table out of date");

static const struct { const char *fname, *iname; int n_args; } body_info[] = {
#define BOP(e, fname, iname, nargs) [BODY_##e] = {fname, iname, nargs},
#include "body.def"
#undef BOP
};
_Static_assert(ARRAY_LEN(body_info) == BODY_COUNT, "body op table out of date");

const char *op_kind_name(OpKind k) { KILN_ASSERT(k < KILN_OP_COUNT); return op_info[k].name; }
int op_kind_n_in(OpKind k) { KILN_ASSERT(k < KILN_OP_COUNT); return op_info[k].n_in; }
int op_kind_n_out(OpKind k) { KILN_ASSERT(k < KILN_OP_COUNT); return op_info[k].n_out; }
unsigned op_kind_attrs(OpKind k) { KILN_ASSERT(k < KILN_OP_COUNT); return op_info[k].attrs; }

const char *body_op_name(BodyOpKind k, DType dtype) {
  KILN_ASSERT(k < BODY_COUNT);
  return dtype_is_float(dtype) ? body_info[k].fname : body_info[k].iname;
}
int body_op_n_args(BodyOpKind k) { KILN_ASSERT(k < BODY_COUNT); return body_info[k].n_args; }

static void *must_alloc(Arena *a, size_t n) {
  void *p = arena_alloc(a, n);
  KILN_ASSERT(p && "out of memory in IR arena");
  return p;
}

Module *module_new(void) {
  Module *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  arena_init(&m->arena);
  return m;
}

void module_free(Module *m) {
  if (!m) return;
  arena_free(&m->arena);
  free(m);
}

int module_add_const(Module *m, const char *name, TensorType type, const void *data) {
  if (m->n_consts == m->cap_consts) {
    int cap = m->cap_consts ? m->cap_consts * 2 : 64;
    Constant *c = arena_grow(&m->arena, m->consts, (size_t)m->n_consts, (size_t)cap, sizeof *c);
    if (!c) return -1;
    m->consts = c;
    m->cap_consts = cap;
  }
  Constant *c = &m->consts[m->n_consts];
  c->name = arena_strdup(&m->arena, name ? name : "cst");
  c->type = type;
  int64_t nb = type_nbytes(&type);
  if (nb < 0) return -1;
  c->nbytes = (size_t)nb;
  c->data = NULL;
  if (data) {
    c->data = arena_alloc(&m->arena, c->nbytes ? c->nbytes : 1);
    if (!c->data) return -1;
    memcpy(c->data, data, c->nbytes);
  }
  return m->n_consts++;
}

Func *func_new(Module *m, const char *name) {
  Func *f = must_alloc(&m->arena, sizeof *f);
  f->name = arena_strdup(&m->arena, name);
  f->module = m;
  return f;
}

static Value *value_new(Module *m, TensorType t, const char *name) {
  Value *v = must_alloc(&m->arena, sizeof *v);
  v->id = m->next_value_id++;
  v->type = t;
  v->name = name ? arena_strdup(&m->arena, name) : NULL;
  return v;
}

Value *func_add_arg(Func *f, TensorType t, const char *name) {
  Arena *a = &f->module->arena;
  f->args = arena_grow(a, f->args, (size_t)f->n_args, (size_t)f->n_args + 1, sizeof(Value *));
  f->arg_names = arena_grow(a, f->arg_names, (size_t)f->n_args, (size_t)f->n_args + 1,
                            sizeof(char *));
  KILN_ASSERT(f->args && f->arg_names);
  Value *v = value_new(f->module, t, name);
  v->def_index = f->n_args;
  f->arg_names[f->n_args] = v->name;
  f->args[f->n_args++] = v;
  return v;
}

void func_set_results(Func *f, int n, Value **vals, const char **names) {
  Arena *a = &f->module->arena;
  f->results = must_alloc(a, sizeof(Value *) * (size_t)(n ? n : 1));
  f->result_names = must_alloc(a, sizeof(char *) * (size_t)(n ? n : 1));
  f->n_results = n;
  for (int i = 0; i < n; i++) {
    f->results[i] = vals[i];
    f->result_names[i] = arena_strdup(a, names && names[i] ? names[i] : "output");
  }
}

static void use_add(Value *v, Op *user, int index) {
  Use *u = must_alloc(&user->parent->module->arena, sizeof *u);
  u->user = user;
  u->index = index;
  u->next = v->uses;
  v->uses = u;
}

static void use_remove(Value *v, Op *user, int index) {
  for (Use **p = &v->uses; *p; p = &(*p)->next) {
    if ((*p)->user == user && (*p)->index == index) {
      *p = (*p)->next; /* Use memory stays in the arena */
      return;
    }
  }
  kiln_unreachable();
}

static void op_link(Func *f, Op *op, Op *before) {
  op->parent = f;
  if (!before) {
    op->prev = f->last;
    if (f->last) f->last->next = op; else f->first = op;
    f->last = op;
    return;
  }
  KILN_ASSERT(before->parent == f);
  op->next = before;
  op->prev = before->prev;
  if (before->prev) before->prev->next = op; else f->first = op;
  before->prev = op;
}

Op *op_new(Func *f, OpKind kind, const char *name, int n_in, Value **in,
           int n_out, const TensorType *out_types, Op *before) {
  Arena *a = &f->module->arena;
  Op *op = must_alloc(a, sizeof *op);
  op->kind = kind;
  op->name = arena_strdup(a, name ? name : op_kind_name(kind));
  op->n_in = n_in;
  op->n_out = n_out;
  op->in = must_alloc(a, sizeof(Value *) * (size_t)(n_in ? n_in : 1));
  op->out = must_alloc(a, sizeof(Value *) * (size_t)(n_out ? n_out : 1));
  op->attrs.groups = 1;
  for (int i = 0; i < 2; i++) op->attrs.strides[i] = op->attrs.dilations[i] = 1;
  for (int i = 0; i < KILN_MAX_RANK; i++) op->attrs.steps[i] = 1;
  op_link(f, op, before);
  for (int i = 0; i < n_in; i++) {
    KILN_ASSERT(in[i]);
    op->in[i] = in[i];
    use_add(in[i], op, i);
  }
  for (int i = 0; i < n_out; i++) {
    op->out[i] = value_new(f->module, out_types[i], NULL);
    op->out[i]->def = op;
    op->out[i]->def_index = i;
  }
  return op;
}

Value *op_const(Func *f, int ci) {
  Module *m = f->module;
  KILN_ASSERT(ci >= 0 && ci < m->n_consts);
  Op *op = op_new(f, KILN_OP_CONSTANT, m->consts[ci].name, 0, NULL, 1, &m->consts[ci].type, NULL);
  op->attrs.const_index = ci;
  return op->out[0];
}

void op_set_operand(Op *op, int i, Value *v) {
  KILN_ASSERT(i >= 0 && i < op->n_in && v);
  if (op->in[i]) use_remove(op->in[i], op, i);
  op->in[i] = v;
  use_add(v, op, i);
}

void value_replace_uses(Value *from, Value *to) {
  KILN_ASSERT(from != to);
  while (from->uses) {
    Use *u = from->uses;
    op_set_operand(u->user, u->index, to);
  }
  Func *f = from->def ? from->def->parent : NULL;
  if (f)
    for (int i = 0; i < f->n_results; i++)
      if (f->results[i] == from) f->results[i] = to;
}

void op_erase(Op *op) {
  Func *f = op->parent;
  for (int i = 0; i < op->n_out; i++) KILN_ASSERT(!op->out[i]->uses);
  for (int i = 0; i < op->n_in; i++) use_remove(op->in[i], op, i);
  if (op->prev) op->prev->next = op->next; else f->first = op->next;
  if (op->next) op->next->prev = op->prev; else f->last = op->prev;
  op->prev = op->next = NULL;
  op->parent = NULL;
}

int value_num_uses(const Value *v) {
  int n = 0;
  for (const Use *u = v->uses; u; u = u->next) n++;
  return n;
}

bool value_is_result(const Value *v) {
  const Func *f = v->def ? v->def->parent : NULL;
  for (int i = 0; f && i < f->n_results; i++)
    if (f->results[i] == v) return true;
  return false;
}

bool value_has_one_use(const Value *v) {
  return v->uses && !v->uses->next && !value_is_result(v);
}

AffineMap affine_identity(int n_loops) {
  AffineMap m = {.n_results = n_loops};
  for (int i = 0; i < n_loops; i++) m.results[i].coef[i] = 1;
  return m;
}

bool affine_is_identity(const AffineMap *m, int n_loops) {
  if (m->n_results != n_loops) return false;
  for (int r = 0; r < n_loops; r++) {
    if (m->results[r].cst) return false;
    for (int d = 0; d < KILN_MAX_RANK; d++)
      if (m->results[r].coef[d] != (d == r)) return false;
  }
  return true;
}

AffineMap affine_broadcast(int rank, const int64_t *dims, int n_loops, const int64_t *out_dims) {
  KILN_ASSERT(rank <= n_loops);
  AffineMap m = {.n_results = rank};
  for (int i = 0; i < rank; i++) {
    int loop = n_loops - rank + i;
    if (!(dims[i] == 1 && out_dims[loop] != 1)) m.results[i].coef[loop] = 1;
  }
  return m;
}

Value *generic_bias_add(Func *f, Value *y, Value *b, int axis, const char *name, Op *before) {
  int rank = y->type.rank;
  KILN_ASSERT(axis >= 0 && axis < rank && b->type.rank == 1);
  Value *ins[2] = {y, b};
  Op *g = op_new(f, KILN_OP_GENERIC, name, 2, ins, 1, &y->type, before);
  OpAttrs *a = &g->attrs;
  a->n_loops = rank;
  a->n_maps = 3;
  a->maps = must_alloc(&f->module->arena, 3 * sizeof(AffineMap));
  a->maps[0] = a->maps[2] = affine_identity(rank);
  a->maps[1] = (AffineMap){.n_results = 1};
  a->maps[1].results[0].coef[axis] = 1;
  a->body = body_new(f->module, 3, 1);
  DType dt = y->type.dtype;
  a->body.insts[0] = (BodyInst){.kind = BODY_ARG, .dtype = dt, .imm_i = 0};
  a->body.insts[1] = (BodyInst){.kind = BODY_ARG, .dtype = b->type.dtype, .imm_i = 1};
  a->body.insts[2] = (BodyInst){.kind = BODY_ADD, .dtype = dt, .n_args = 2, .args = {0, 1}};
  a->body.yields[0] = 2;
  return g->out[0];
}

Body body_new(Module *m, int n_insts, int n_yield) {
  Body b = {.n_insts = n_insts, .n_yield = n_yield};
  b.insts = must_alloc(&m->arena, sizeof(BodyInst) * (size_t)(n_insts ? n_insts : 1));
  b.yields = must_alloc(&m->arena, sizeof(int) * (size_t)(n_yield ? n_yield : 1));
  return b;
}

static int expr_single_dim(const AffineExpr *e, int n_loops) {
  int dim = -1;
  if (e->cst != 0) return -1;
  for (int d = 0; d < n_loops; d++) {
    if (e->coef[d] == 0) continue;
    if (e->coef[d] != 1 || dim >= 0) return -1;
    dim = d;
  }
  return dim;
}

bool generic_loop_ranges(const Op *op, int64_t *ranges) {
  const OpAttrs *a = &op->attrs;
  KILN_ASSERT(op->kind == KILN_OP_GENERIC && a->n_maps == op->n_in + op->n_out);
  bool known[KILN_MAX_RANK] = {0};
  for (int k = 0; k < a->n_maps; k++) {
    const Value *v = k < op->n_in ? op->in[k] : op->out[k - op->n_in];
    const AffineMap *m = &a->maps[k];
    for (int r = 0; r < m->n_results && r < v->type.rank; r++) {
      int d = expr_single_dim(&m->results[r], a->n_loops);
      if (d >= 0 && !known[d]) {
        known[d] = true;
        ranges[d] = v->type.dims[r];
      }
    }
  }
  for (int d = 0; d < a->n_loops; d++)
    if (!known[d]) return false;
  return true;
}
