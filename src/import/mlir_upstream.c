/* mlir_upstream.c — mlir_upstream_import(): MLIR text in upstream syntax -> Module.
 *
 * Two input forms:
 *  - torch-mlir's ONNX form (iree-import-onnx output): any `torch.operator` in the text
 *    sends the whole file to mlir_upstream_torch.c;
 *  - linalg on tensors (IREE's input / global-optimization / dispatch-creation dumps):
 *    `#alias = ...` lines, `module [attributes {...}] {`, one `func.func` or `util.func`
 *    with tensor arguments and results, its ops in pretty form (the op table is in
 *    mlir_upstream_ops.c), `return` / `util.return`, then an optional
 *    `{-# dialect_resources ... #-}` section (parsed by Kiln's own parser code).
 * `flow.dispatch.region` ops are dissolved: their ops join the function and their
 * results are the values their `flow.return` names. An unknown op is an error
 * "path:line:col: unknown op 'name'". The module is verified before it is returned. */
#include <ctype.h>
#include <string.h>

#include "mlir_upstream.h"

/* ---- SSA scope ---------------------------------------------------------------- */

static unsigned name_hash(const char *s) {
  unsigned h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h % UP_BUCKETS;
}

static USym *sym_find(Up *u, const char *name) {
  for (USym *s = u->buckets[name_hash(name)]; s; s = s->next)
    if (!strcmp(s->name, name)) return s;
  return NULL;
}

static bool sym_add(Up *u, const char *name, const char *at, UVal *v) {
  if (sym_find(u, name)) return perr_at(&u->ps, at, "redefinition of value '%%%s'", name);
  USym *s = arena_alloc(&u->m->arena, sizeof *s);
  if (!s || !(s->name = arena_strdup(&u->m->arena, name))) return perr(&u->ps, "out of memory");
  s->val = v;
  unsigned h = name_hash(name);
  s->next = u->buckets[h];
  u->buckets[h] = s;
  s->older = u->log;
  u->log = s;
  return true;
}

void up_scope_pop(Up *u, USym *mark) {
  while (u->log && u->log != mark) {
    USym *s = u->log;
    USym **b = &u->buckets[name_hash(s->name)];
    KILN_ASSERT(*b == s); /* newer symbols sit in front of older ones in every bucket */
    *b = s->next;
    u->log = s->older;
  }
}

/* `%name` into buf (without '%'): digits, or an identifier. */
static bool lex_ssa_name(Parser *ps, char *buf, size_t n) {
  lex_skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != '%') return perr(ps, "expected SSA value name");
  ps->p++;
  size_t k = 0;
  while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '$' || *ps->p == '.' || *ps->p == '-')) {
    if (k + 1 >= n) return perr(ps, "value name too long");
    buf[k++] = *ps->p++;
  }
  buf[k] = 0;
  return k > 0 || perr(ps, "expected SSA value name");
}

bool up_define(Up *u, UpOp *o, UVal **vals, int n) {
  if (n != o->n_res)
    return perr_at(&u->ps, o->at, "'%s' has %d results, the text names %d", o->name, n, o->n_res);
  if (n == 1) return sym_add(u, o->res, o->at, vals[0]);
  for (int k = 0; k < n; k++) {
    char nm[160];
    snprintf(nm, sizeof nm, "%s#%d", o->res, k);
    if (!sym_add(u, nm, o->at, vals[k])) return false;
  }
  return true;
}

UVal *up_use(Up *u) {
  Parser *ps = &u->ps;
  char name[128], key[160];
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_ssa_name(ps, name, sizeof name)) return NULL;
  snprintf(key, sizeof key, "%s", name);
  if (ps->p < ps->end && *ps->p == '#') {
    int64_t k;
    ps->p++;
    if (!lex_int(ps, &k)) return NULL;
    snprintf(key, sizeof key, "%s#%lld", name, (long long)k);
  }
  USym *s = sym_find(u, key);
  if (!s) {
    perr_at(ps, at, "use of undefined value '%%%s'", key);
    return NULL;
  }
  return s->val;
}

UVal *up_tensor_val(Up *u, Value *v) {
  UVal *x = arena_alloc(&u->m->arena, sizeof *x);
  if (!x) {
    perr(&u->ps, "out of memory");
    return NULL;
  }
  *x = (UVal){.kind = UV_TENSOR, .type = v->type, .v = v};
  return x;
}

bool up_skip_type(Parser *ps) {
  lex_skip_ws(ps);
  if (lex_peek(ps, "(")) return skip_balanced(ps);
  lex_accept(ps, "!");
  char w[128];
  if (!lex_ident(ps, w, sizeof w)) return perr(ps, "expected a type");
  if (ps->p >= ps->end || *ps->p != '<') return true;
  int depth = 0;
  for (; ps->p < ps->end; ps->p++) {
    depth += *ps->p == '<' ? 1 : *ps->p == '>' && ps->p[-1] != '-' ? -1 : 0;
    if (depth == 0) {
      ps->p++;
      return true;
    }
  }
  return perr(ps, "unterminated type");
}

/* A scalar type: f32, i8, index ... (index reads as i64). */
static bool lex_scalar_type(Parser *ps, DType *dt) {
  if (lex_accept(ps, "index")) return *dt = KILN_I64, true;
  return lex_dtype(ps, dt, true);
}

static bool types_match(Up *u, UVal *v, const char *at) {
  Parser *ps = &u->ps;
  const char *tat = (lex_skip_ws(ps), ps->p);
  if (lex_peek(ps, "!hal.")) return up_skip_type(ps); /* an exported tensor returned as !hal.buffer_view */
  if (!lex_peek(ps, "tensor<")) {
    DType dt;
    if (!lex_scalar_type(ps, &dt)) return false;
    if (v->kind != UV_SCALAR) return perr_at(ps, tat, "a tensor where the type says scalar %s", dtype_name(dt));
    return true;
  }
  TensorType t;
  char a[200], b[200];
  if (!lex_tensor_type(ps, &t)) return false;
  if (v->kind == UV_SCALAR || !type_equal(&t, &v->type))
    return perr_at(ps, at, "value has type %s, the text says %s",
                   v->kind == UV_SCALAR ? dtype_name(v->type.dtype) : type_str(&v->type, a, sizeof a),
                   type_str(&t, b, sizeof b));
  return true;
}

bool up_use_list(Up *u, UVal **vals, int *n, bool with_types) {
  Parser *ps = &u->ps;
  const char *ats[UP_MAX_RESULTS];
  *n = 0;
  if (!lex_peek(ps, "%")) return true;
  do {
    if (*n == UP_MAX_RESULTS) return perr(ps, "more than %d operands", UP_MAX_RESULTS);
    ats[*n] = (lex_skip_ws(ps), ps->p);
    if (!(vals[*n] = up_use(u))) return false;
    ++*n;
  } while (lex_accept(ps, ","));
  if (!with_types) return true;
  if (!lex_expect(ps, ":", "before operand types")) return false;
  for (int i = 0; i < *n; i++)
    if ((i && !lex_expect(ps, ",", "between operand types")) || !types_match(u, vals[i], ats[i])) return false;
  return true;
}

/* ---- materializing symbolic values --------------------------------------------- */

int64_t up_to_i64(double x) {
  if (x != x) return 0;
  if (x >= 9.2233720368547758e18) return INT64_MAX;
  if (x <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)x;
}

static Value *splat_const(Up *u, const TensorType *t, double s) {
  int64_t nb = type_nbytes(t), n = type_numel(t);
  int ci = module_add_const(u->m, "splat", *t, NULL);
  char *data = ci >= 0 ? arena_alloc(&u->m->arena, (size_t)(nb ? nb : 1)) : NULL;
  if (!data) return perr(&u->ps, "out of memory"), NULL;
  size_t es = dtype_size(t->dtype);
  for (int64_t i = 0; i < n; i++) {
    char *p = data + (size_t)i * es;
    float f = (float)s;
    uint16_t h = t->dtype == KILN_F16 ? f32_to_f16(f) : f32_to_bf16(f);
    int64_t x = up_to_i64(s);
    if (t->dtype == KILN_F32) memcpy(p, &f, 4);
    else if (t->dtype == KILN_F16 || t->dtype == KILN_BF16) memcpy(p, &h, 2);
    else if (t->dtype == KILN_I64) memcpy(p, &x, 8);
    else if (t->dtype == KILN_I32) *(int32_t *)(void *)p = (int32_t)x;
    else *(int8_t *)p = (int8_t)x;
  }
  u->m->consts[ci].data = data;
  return op_const(u->f, ci);
}

/* One insert: a pad of the piece up to the destination's shape. */
static Value *pad_piece(Up *u, UPiece *pc, const TensorType *t, double s, const char *at) {
  Value *src = up_value(u, pc->src, at);
  if (!src) return NULL;
  Op *op = op_new(u->f, KILN_OP_PAD, "insert_slice", 1, &src, 1, t, NULL);
  for (int d = 0; d < t->rank; d++) {
    op->attrs.pad_lo[d] = pc->off[d];
    op->attrs.pad_hi[d] = t->dims[d] - pc->off[d] - src->type.dims[d];
  }
  op->attrs.pad_mode = PAD_CONSTANT;
  op->attrs.pad_value = s;
  return up_check_result(u, op, t, at) ? op->out[0] : NULL;
}

/* The axis along which pieces (sorted by offset) tile the destination exactly, or -1. */
static int tiling_axis(UVal *x) {
  for (int ax = 0; ax < x->type.rank; ax++) {
    int64_t next = 0;
    bool ok = true;
    for (int k = 0; k < x->n_pieces && ok; k++) {
      UPiece *pc = &x->pieces[k];
      for (int d = 0; d < x->type.rank; d++)
        ok &= d == ax ? pc->off[d] == next : pc->off[d] == 0 && pc->src->type.dims[d] == x->type.dims[d];
      next += pc->src->type.dims[ax];
    }
    if (ok && next == x->type.dims[ax]) return ax;
  }
  return -1;
}

static Value *concat_pieces(Up *u, UVal *x, const char *at) {
  if (x->n_pieces == 1) return pad_piece(u, &x->pieces[0], &x->type, x->s, at);
  for (int i = 1; i < x->n_pieces; i++) /* insertion sort by offset (the axis is unknown yet: all dims) */
    for (int j = i; j > 0 && memcmp(x->pieces[j].off, x->pieces[j - 1].off, sizeof x->pieces[j].off) < 0; j--) {
      UPiece t = x->pieces[j];
      x->pieces[j] = x->pieces[j - 1];
      x->pieces[j - 1] = t;
    }
  int ax = tiling_axis(x);
  if (ax < 0) return perr_at(&u->ps, at, "tensor.insert_slice pieces that do not tile one axis are not supported"), NULL;
  Value **ins = arena_alloc(&u->m->arena, sizeof(Value *) * (size_t)x->n_pieces);
  if (!ins) return perr(&u->ps, "out of memory"), NULL;
  for (int k = 0; k < x->n_pieces; k++)
    if (!(ins[k] = up_value(u, x->pieces[k].src, at))) return NULL;
  Op *op = op_new(u->f, KILN_OP_CONCAT, "concat", x->n_pieces, ins, 1, &x->type, NULL);
  op->attrs.axis = ax;
  return up_check_result(u, op, &x->type, at) ? op->out[0] : NULL;
}

Value *up_value(Up *u, UVal *x, const char *at) {
  switch (x->kind) {
  case UV_TENSOR: return x->v;
  case UV_EMPTY: x->v = splat_const(u, &x->type, 0); break;
  case UV_FILL: x->v = splat_const(u, &x->type, x->s); break;
  case UV_INSERTS: x->v = concat_pieces(u, x, at); break;
  case UV_SCALAR: return perr_at(&u->ps, at, "a scalar where a tensor is expected"), NULL;
  case UV_OPAQUE: return perr_at(&u->ps, at, "an ABI value (!hal.*) where a tensor is expected"), NULL;
  }
  if (x->v) x->kind = UV_TENSOR; /* materialized once */
  return x->v;
}

bool up_check_result(Up *u, Op *op, const TensorType *want, const char *at) {
  TensorType got[8];
  Diag d = {0};
  char a[200], b[200];
  if (op->n_out > 8) return perr_at(&u->ps, at, "too many results");
  if (op_infer_types(op, got, &d)) return perr_at(&u->ps, at, "%s", d.msg);
  if (!type_equal(&got[0], want))
    return perr_at(&u->ps, at, "result type %s does not follow from the operands (expected %s)",
                   type_str(want, a, sizeof a), type_str(&got[0], b, sizeof b));
  return true;
}

/* ---- attributes and maps -------------------------------------------------------- */

bool up_skip_attr_value(Up *u) {
  Parser *ps = &u->ps;
  int depth = 0;
  lex_skip_ws(ps);
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == '"') {
      const char *s;
      if (!lex_string(ps, &s)) return false;
      continue;
    }
    if (depth == 0 && (c == ',' || c == '}' || c == ')' || c == ']')) return true;
    if (c == '(' || c == '{' || c == '[' || c == '<') depth++;
    if (c == ')' || c == '}' || c == ']' || (c == '>' && ps->p[-1] != '-')) depth--;
    ps->p++;
  }
  return perr(ps, "unterminated attribute value");
}

bool up_affine_map(Up *u, AffineMap *m, int *n_dims) {
  Parser *ps = &u->ps;
  lex_skip_ws(ps);
  if (lex_accept(ps, "affine_map<")) return text_parse_affine_map(ps, m, n_dims);
  const char *at = ps->p;
  char name[128];
  if (!lex_accept(ps, "#") || !lex_ident(ps, name + 1, sizeof name - 1)) return perr_at(ps, at, "expected affine_map<...> or #alias");
  name[0] = '#';
  for (UAlias *a = u->aliases; a; a = a->next) {
    if (strcmp(a->name, name)) continue;
    const char *resume = ps->p;
    ps->p = a->text;
    if (!lex_expect(ps, "affine_map<", "(the alias is not an affine map)") || !text_parse_affine_map(ps, m, n_dims)) return false;
    ps->p = resume;
    return true;
  }
  return perr_at(ps, at, "undefined alias '%s'", name);
}

/* `#name = value` (one line) at the top of the file; the value's text is kept for up_affine_map. */
static bool parse_alias(Up *u) {
  Parser *ps = &u->ps;
  char name[128];
  name[0] = '#';
  if (!lex_ident(ps, name + 1, sizeof name - 1)) return perr(ps, "expected alias name after '#'");
  UAlias *a = arena_alloc(&u->m->arena, sizeof *a);
  if (!a || !(a->name = arena_strdup(&u->m->arena, name))) return perr(ps, "out of memory");
  if (!lex_expect(ps, "=", "after alias name")) return false;
  a->text = (lex_skip_ws(ps), ps->p);
  a->next = u->aliases;
  u->aliases = a;
  while (ps->p < ps->end && *ps->p != '\n') ps->p++; /* the printer writes one alias a line */
  return true;
}

/* ---- ops and blocks --------------------------------------------------------------- */

static bool parse_result_names(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  o->n_res = 0;
  o->res[0] = 0;
  if (!lex_peek(ps, "%")) return true;
  if (!lex_ssa_name(ps, o->res, sizeof o->res)) return false;
  o->n_res = 1;
  if (lex_accept(ps, ":")) {
    int64_t n;
    if (!lex_int(ps, &n)) return false;
    if (n < 1 || n > UP_MAX_RESULTS) return perr(ps, "invalid result count %lld", (long long)n);
    o->n_res = (int)n;
  }
  if (lex_peek(ps, ",")) return perr(ps, "several result names are not supported; use %%x:N");
  return lex_expect(ps, "=", "after result name");
}

/* `-> (t, ...)` or `-> t`; n types into ts (max UP_MAX_RESULTS). A `!hal.` type (IREE's
 * ABI) is skipped and marked in u->result_opaque. */
static bool parse_result_types(Up *u, TensorType *ts, int *n) {
  Parser *ps = &u->ps;
  *n = 0;
  if (!lex_accept(ps, "->")) return true;
  bool parens = lex_accept(ps, "(");
  if (parens && lex_accept(ps, ")")) return true;
  do {
    if (*n == UP_MAX_RESULTS) return perr(ps, "too many results");
    u->result_opaque[*n] = lex_peek(ps, "!hal.");
    if (u->result_opaque[*n] ? !up_skip_type(ps) : !lex_tensor_type(ps, &ts[*n])) return false;
    ++*n;
    if (parens && lex_peek(ps, "{") && !skip_balanced(ps)) return false; /* result attributes */
  } while (parens && lex_accept(ps, ","));
  return !parens || lex_expect(ps, ")", "to end result types");
}

/* flow.dispatch.region[workload] -> (types) { ops; flow.return ... } [count(...) ... {...}] */
static bool dispatch_region(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  TensorType ts[UP_MAX_RESULTS];
  int nt, nr;
  UVal **rets;
  if (lex_peek(ps, "[") && !skip_balanced(ps)) return false;
  if (!parse_result_types(u, ts, &nt) || !lex_expect(ps, "{", "to start the dispatch region")) return false;
  if (++ps->depth > TEXT_MAX_DEPTH) return perr(ps, "regions nested deeper than %d", TEXT_MAX_DEPTH);
  USym *mark = u->log;
  if (!up_parse_block(u, "flow.return", &rets, &nr) || !lex_expect(ps, "}", "to end the dispatch region")) return false;
  up_scope_pop(u, mark);
  ps->depth--;
  if (nr != nt) return perr_at(ps, o->at, "flow.dispatch.region returns %d values for %d result types", nr, nt);
  if (lex_accept(ps, "count")) { /* the workgroup count region: nothing for Kiln */
    if (!lex_peek(ps, "(") || !skip_balanced(ps)) return perr(ps, "expected '(' after count");
    if (lex_accept(ps, "->") && !(lex_peek(ps, "(") && skip_balanced(ps))) return perr(ps, "expected count result types");
    if (!lex_peek(ps, "{") || !skip_balanced(ps)) return perr(ps, "expected count region");
  }
  return up_define(u, o, rets, nr);
}

/* The generic form (what `kiln compile --emit-mlir=mlir16` prints, and mlir-opt keeps):
 * "flow.dispatch.region"() ({ ops; "flow.return"(%a) : (t) -> () }) : () -> (t) */
static bool dispatch_region_generic(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  UVal **rets;
  int nr, nt = 0;
  if (!lex_expect(ps, "(", "after the op name") || !lex_expect(ps, ")", "(flow.dispatch.region has no operands here)") ||
      !lex_expect(ps, "(", "to start the region") || !lex_expect(ps, "{", "to start the region"))
    return false;
  if (++ps->depth > TEXT_MAX_DEPTH) return perr(ps, "regions nested deeper than %d", TEXT_MAX_DEPTH);
  USym *mark = u->log;
  if (!up_parse_block(u, "\"flow.return\"", &rets, &nr)) return false;
  up_scope_pop(u, mark);
  ps->depth--;
  if (!lex_expect(ps, "->", "in flow.return's type") || !lex_expect(ps, "()", "(flow.return has no results)") ||
      !lex_expect(ps, "}", "to end the region") || !lex_expect(ps, ")", "to end the region") ||
      !lex_expect(ps, ":", "before the op's type") || !lex_expect(ps, "()", "(no operands)") || !lex_expect(ps, "->", "in the op's type"))
    return false;
  bool parens = lex_accept(ps, "(");
  if (!parens || !lex_accept(ps, ")")) {
    do {
      TensorType t;
      if (!lex_tensor_type(ps, &t)) return false;
      nt++;
    } while (parens && lex_accept(ps, ","));
    if (parens && !lex_expect(ps, ")", "to end the result types")) return false;
  }
  if (nr != nt) return perr_at(ps, o->at, "flow.dispatch.region returns %d values for %d result types", nr, nt);
  return up_define(u, o, rets, nr);
}

/* A Kiln op in its generic form, which --emit-mlir keeps for ops without an upstream
 * equivalent: "kiln.resize"(%x) {kiln.name = "...", attrs} : (tx) -> ty. Ops with
 * regions (generic, dispatch) have upstream spellings and are not accepted here. */
static bool kiln_op(Up *u, UpOp *o, const char *name) {
  Parser *ps = &u->ps;
  int k = 0;
  while (k < KILN_OP_COUNT && strcmp(op_kind_name((OpKind)k), name)) k++;
  if (k == KILN_OP_COUNT || k == KILN_OP_GENERIC || k == KILN_OP_DISPATCH || k == KILN_OP_CONSTANT)
    return perr_at(ps, o->at, "unknown op '%s'", name);
  UVal *vals[UP_MAX_RESULTS];
  Value *ins[UP_MAX_RESULTS];
  int n;
  AttrDict ad = {0};
  TensorType t;
  if (!lex_expect(ps, "(", "to start the operands") || !up_use_list(u, vals, &n, false) || !lex_expect(ps, ")", "to end the operands"))
    return false;
  if (lex_peek(ps, "{") && !parse_attr_dict(ps, &ad)) return false;
  if (!lex_expect(ps, ":", "before the op's type") || !lex_peek(ps, "(") || !skip_balanced(ps) ||
      !lex_expect(ps, "->", "in the op's type") || !lex_tensor_type(ps, &t))
    return false;
  int want = op_kind_n_in((OpKind)k);
  if ((want >= 0 && n != want) || n < 1 || op_kind_n_out((OpKind)k) != 1)
    return perr_at(ps, o->at, "'%s' with %d operands is not supported here", name, n);
  for (int i = 0; i < n; i++)
    if (!(ins[i] = up_value(u, vals[i], o->at))) return false;
  AttrVal *nm = attr_find(&ad, "kiln.name");
  if (nm) nm->used = true;
  Op *op = op_new(u->f, (OpKind)k, nm && nm->kind == AV_STR ? nm->s : name, n, ins, 1, &t, NULL);
  if (!apply_attrs(ps, op, &ad, o->at) || !up_check_result(u, op, &t, o->at)) return false;
  UVal *r = up_tensor_val(u, op->out[0]);
  return r && up_define(u, o, &r, 1);
}

static bool parse_op(Up *u) {
  Parser *ps = &u->ps;
  UpOp o = {0};
  if (!parse_result_names(u, &o)) return false;
  o.at = (lex_skip_ws(ps), ps->p);
  if (lex_peek(ps, "\"")) {
    const char *s;
    if (!lex_string(ps, &s)) return false;
    if (!strcmp(s, "flow.dispatch.region")) return dispatch_region_generic(u, &o);
    if (!strncmp(s, "kiln.", 5)) return kiln_op(u, &o, s);
    return perr_at(ps, o.at, "unknown op '%s' (ops in generic form are not supported)", s);
  }
  if (!lex_ident(ps, o.name, sizeof o.name)) return perr(ps, "expected an op");
  if (!strcmp(o.name, "flow.dispatch.region")) return dispatch_region(u, &o);
  UpOpFn fn = up_find_op(o.name);
  if (!fn) return perr_at(ps, o.at, "unknown op '%s'", o.name);
  return fn(u, &o);
}

/* "return" ends a function body spelled return, func.return or util.return. */
static bool is_terminator(const char *word, const char *term) {
  if (!strcmp(word, term)) return true;
  return !strcmp(term, "return") && (!strcmp(word, "func.return") || !strcmp(word, "util.return"));
}

bool up_parse_block(Up *u, const char *term, UVal ***rets, int *n_rets) {
  Parser *ps = &u->ps;
  for (;;) {
    if (ps->failed) return false;
    lex_skip_ws(ps);
    if (ps->p >= ps->end || lex_peek(ps, "}")) return perr(ps, "expected '%s' to end the block", term);
    const char *at = ps->p;
    char word[64];
    if (term[0] == '"' ? lex_accept(ps, term) && lex_accept(ps, "(") : !lex_peek(ps, "%") && lex_ident(ps, word, sizeof word) && is_terminator(word, term))
      break;
    ps->p = at;
    if (!parse_op(u)) return false;
  }
  UVal **vals = arena_alloc(&u->m->arena, sizeof(UVal *) * UP_MAX_RESULTS);
  if (!vals) return perr(ps, "out of memory");
  *rets = vals;
  if (term[0] != '"') return up_use_list(u, vals, n_rets, true);
  /* generic form: "flow.return"(%a, %b) : (ta, tb) -> () */
  if (!up_use_list(u, vals, n_rets, false) || !lex_expect(ps, ")", "after the returned values") ||
      !lex_expect(ps, ":", "before the types") || !lex_expect(ps, "(", "to start the types"))
    return false;
  for (int i = 0; i < *n_rets; i++)
    if ((i && !lex_expect(ps, ",", "between types")) || !up_skip_type(ps)) return false;
  return lex_expect(ps, ")", "to end the types");
}

/* ---- functions and the module ------------------------------------------------------ */

static bool parse_func_args(Up *u) {
  Parser *ps = &u->ps;
  if (!lex_expect(ps, "(", "to start the argument list")) return false;
  if (lex_accept(ps, ")")) return true;
  do {
    char name[128];
    const char *at = (lex_skip_ws(ps), ps->p);
    TensorType t;
    if (!lex_ssa_name(ps, name, sizeof name) || !lex_expect(ps, ":", "after argument name")) return false;
    UVal *x;
    if (lex_peek(ps, "!hal.")) { /* IREE's ABI: hal.tensor.import makes the tensor argument */
      if (!up_skip_type(ps) || !(x = arena_alloc(&u->m->arena, sizeof *x))) return false;
      *x = (UVal){.kind = UV_OPAQUE};
    } else {
      if (!lex_peek(ps, "tensor<")) return perr(ps, "function arguments must be ranked static tensors");
      if (!lex_tensor_type(ps, &t) || !(x = up_tensor_val(u, func_add_arg(u->f, t, name)))) return false;
    }
    if (lex_peek(ps, "{") && !skip_balanced(ps)) return false;
    if (!sym_add(u, name, at, x)) return false;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, ")", "to end the argument list");
}

static bool parse_func(Up *u) {
  Parser *ps = &u->ps;
  char name[256];
  (void)(lex_accept(ps, "public") || lex_accept(ps, "private"));
  if (!lex_expect(ps, "@", "before the function name")) return false;
  if (!lex_ident(ps, name, sizeof name)) return perr(ps, "expected function name");
  u->f = func_new(u->m, name);
  u->m->main = u->f;
  TensorType rt[UP_MAX_RESULTS];
  int nr, n;
  UVal **rets;
  if (!parse_func_args(u) || !parse_result_types(u, rt, &nr)) return false;
  if (lex_accept(ps, "attributes") && (!lex_peek(ps, "{") || !skip_balanced(ps))) return perr(ps, "expected the function attributes");
  const char *at = (lex_expect(ps, "{", "to start the function body"), ps->p);
  if (!up_parse_block(u, "return", &rets, &n)) return false;
  if (n != nr) return perr_at(ps, at, "the function returns %d values, its signature says %d", n, nr);
  Value *vals[UP_MAX_RESULTS];
  const char *names[UP_MAX_RESULTS];
  char buf[UP_MAX_RESULTS][24];
  for (int i = 0; i < n; i++) {
    if (!(vals[i] = up_value(u, rets[i], at))) return false;
    if (!u->result_opaque[i] && !type_equal(&vals[i]->type, &rt[i]))
      return perr_at(ps, at, "returned value %d does not match the signature", i);
    snprintf(buf[i], sizeof buf[i], "output%d", i);
    names[i] = buf[i];
  }
  func_set_results(u->f, n, vals, names);
  return lex_expect(ps, "}", "to end the function body");
}

/* Functions after the first (IREE's synchronous ABI wrapper around `$async`, helpers)
 * are skipped: Kiln imports the first function of the module. */
static bool skip_func(Up *u) {
  Parser *ps = &u->ps;
  char name[256];
  (void)(lex_accept(ps, "public") || lex_accept(ps, "private"));
  if (!lex_expect(ps, "@", "before the function name") || !lex_ident(ps, name, sizeof name)) return perr(ps, "expected function name");
  if (!lex_peek(ps, "(") || !skip_balanced(ps)) return perr(ps, "expected the argument list");
  if (lex_accept(ps, "->")) {
    do
      if (!up_skip_type(ps) || (lex_peek(ps, "{") && !skip_balanced(ps))) return false;
    while (lex_accept(ps, ","));
  }
  if (lex_accept(ps, "attributes") && (!lex_peek(ps, "{") || !skip_balanced(ps))) return perr(ps, "expected attributes");
  return !lex_peek(ps, "{") || skip_balanced(ps);
}

static bool parse_top(Up *u) {
  Parser *ps = &u->ps;
  while (lex_accept(ps, "#"))
    if (!parse_alias(u)) return false;
  bool wrapped = lex_accept(ps, "module");
  if (wrapped) {
    if (lex_accept(ps, "@")) {
      char nm[256];
      if (!lex_ident(ps, nm, sizeof nm)) return perr(ps, "expected module name");
    }
    if (lex_accept(ps, "attributes") && (!lex_peek(ps, "{") || !skip_balanced(ps))) return perr(ps, "expected the module attributes");
    if (!lex_expect(ps, "{", "after 'module'")) return false;
  }
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_accept(ps, "func.func") && !lex_accept(ps, "util.func")) {
    char w[64] = "";
    return lex_ident(ps, w, sizeof w) ? perr_at(ps, at, "unknown op '%s' (expected func.func or util.func)", w)
                                      : perr(ps, "expected func.func or util.func");
  }
  if (!parse_func(u)) return false;
  while (lex_accept(ps, "func.func") || lex_accept(ps, "util.func"))
    if (!skip_func(u)) return false;
  if (wrapped && !lex_expect(ps, "}", "to end the module (one function only)")) return false;
  if (lex_accept(ps, "{-#") && !text_parse_resources(ps)) return false;
  lex_skip_ws(ps);
  return ps->p == ps->end || perr(ps, "expected end of input");
}

/* Kiln's own text is all "kiln.* ops in generic form (bodies in arith / math); upstream
 * text has pretty linalg / tensor / torch / flow / util / hal ops, or arith.constant
 * of a dense tensor (Kiln's constants are "kiln.constant"). A `"kiln.` op alone does
 * not decide it: --emit-mlir keeps ops without an upstream equivalent in that form.
 * Only op positions count (a name after whitespace): comments, string literals,
 * resource keys and the resources section are not looked at. */
bool mlir_is_kiln_text(const char *text, size_t len) {
  static const char *const upstream[] = {"linalg.", "tensor.", "torch.", "flow.", "util.", "hal.",
                                         "arith.constant dense"};
  bool kiln = false;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c == '/' && i + 1 < len && text[i + 1] == '/') {
      while (i < len && text[i] != '\n') i++;
    } else if (c == '"') {
      kiln |= len - i > 6 && !memcmp(text + i, "\"kiln.", 6);
      for (i++; i < len && text[i] != '"' && text[i] != '\n'; i++)
        if (text[i] == '\\') i++;
    } else if (c == '{' && len - i > 3 && !memcmp(text + i, "{-#", 3)) {
      break; /* the resources section: keys are constant names */
    } else if ((c == 'l' || c == 't' || c == 'f' || c == 'u' || c == 'h' || c == 'a') &&
               (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n' || text[i - 1] == '\t')) {
      for (size_t k = 0; k < ARRAY_LEN(upstream); k++) {
        size_t n = strlen(upstream[k]);
        if (len - i >= n && !memcmp(text + i, upstream[k], n)) return false;
      }
    }
  }
  return kiln;
}

/* The text is torch-mlir's ONNX form when it holds a torch.operator op. */
static bool is_torch_form(const char *text, size_t len) {
  static const char key[] = "torch.operator";
  bool comment = false;
  for (size_t i = 0; i + sizeof key - 1 <= len; i++) {
    if (text[i] == '\n') comment = false;
    else if (text[i] == '/' && text[i + 1] == '/') comment = true;
    else if (!comment && text[i] == 't' && !memcmp(text + i, key, sizeof key - 1)) return true;
  }
  return false;
}

static KilnStatus finish(Up *u, bool ok, Module **out, Diag *d, Diag *local) {
  Diag vd = {0};
  if (ok && func_verify(u->m->main, &vd)) ok = (diag_error(local, vd.status, "%s: %s", u->ps.path, vd.msg), false);
  if (ok) {
    *out = u->m;
    return KILN_OK;
  }
  if (local->status == KILN_OK) diag_error(local, KILN_ERR_INVALID, "%s: parse error", u->ps.path);
  for (char *c = local->msg; *c; c++) /* messages quote the input: keep them one line */
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
  module_free(u->m);
  return diag_error(d, local->status, "%s", local->msg);
}

KilnStatus mlir_upstream_import(const char *text, size_t len, const char *path, Module **out, Diag *d) {
  *out = NULL;
  if (is_torch_form(text, len)) return mlir_torch_import(text, len, path, out, d);
  Up *u = calloc(1, sizeof *u);
  if (!u) return diag_error(d, KILN_ERR_NOMEM, "%s: out of memory", path ? path : "<input>");
  Diag local = {0};
  u->m = module_new();
  if (!u->m) {
    free(u);
    return diag_error(d, KILN_ERR_NOMEM, "%s: out of memory", path ? path : "<input>");
  }
  u->ps = (Parser){.src = text, .p = text, .end = text + len, .path = path ? path : "<input>",
                   .d = &local, .m = u->m, .upstream = true};
  bool ok = parse_top(u);
  KilnStatus st = finish(u, ok, out, d, &local);
  free(u);
  return st;
}
