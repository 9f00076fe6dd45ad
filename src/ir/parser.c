/* parser.c — module_parse(): reads the MLIR subset that printer.c writes back into a
 * Module. Grammar: an optional `module { ... }` around one `func.func @name(args) ->
 * (results) { ops; return ... }`, then an optional `{-# dialect_resources: { builtin:
 * { key: "0x<align><bytes>" } } #-}` section. Ops are kiln.* in MLIR generic form;
 * a kiln.generic's region is parsed by parser_body.c, a kiln.dispatch's region is a
 * nested function (its block arguments are the region Func's args, "kiln.yield" sets its
 * results) and may only use its own values. Every op is checked against ops.def (name,
 * operand/result counts, attribute mask: missing and unknown attributes are errors) and
 * against its trailing function type. Errors are "path:line:col: message" in Diag; the
 * partial module is freed. A module that parses is then verified (func_verify): the passes
 * assume verified IR. Nesting depth is capped (TEXT_MAX_DEPTH), so hostile text
 * cannot recurse without bound; everything allocated lives in the module's arena. */
#include <string.h>

#include "text.h"

enum { SCOPE_BUCKETS = 256, TEXT_MAX_RESULTS = 4096 };

typedef struct Sym {
  const char *name;
  Value **vals;
  int n;
  struct Sym *next;
} Sym;

typedef struct Scope {
  Sym *buckets[SCOPE_BUCKETS];
  struct Scope *parent;
} Scope;

/* ---- SSA names ---------------------------------------------------------- */

static unsigned hash_name(const char *s) {
  unsigned h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h % SCOPE_BUCKETS;
}

static Sym *scope_find(Scope *sc, const char *name) {
  for (Sym *s = sc->buckets[hash_name(name)]; s; s = s->next)
    if (strcmp(s->name, name) == 0) return s;
  return NULL;
}

static bool scope_define(Parser *ps, const char *name, const char *at, Value **vals, int n) {
  for (Scope *sc = ps->scope; sc; sc = sc->parent)
    if (scope_find(sc, name)) return perr_at(ps, at, "redefinition of value '%%%s'", name);
  Sym *s = arena_alloc(&ps->m->arena, sizeof *s);
  if (!s || !(s->name = arena_strdup(&ps->m->arena, name))) return perr(ps, "out of memory");
  s->vals = vals;
  s->n = n;
  unsigned h = hash_name(name);
  s->next = ps->scope->buckets[h];
  ps->scope->buckets[h] = s;
  return true;
}

static bool lex_value_name(Parser *ps, char *buf, size_t n) {
  lex_skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != '%') return perr(ps, "expected SSA value name");
  ps->p++;
  if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    size_t k = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
      if (k + 1 >= n) return perr(ps, "value name too long");
      buf[k++] = *ps->p++;
    }
    buf[k] = 0;
    return true;
  }
  return lex_ident(ps, buf, n) || perr(ps, "expected SSA value name");
}

/* `%name` or `%name#k`, looked up in the current scope only (regions are isolated). */
static bool parse_use(Parser *ps, Value **out) {
  char name[256];
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_value_name(ps, name, sizeof name)) return false;
  int64_t k = 0;
  bool hash = lex_accept(ps, "#");
  if (hash && !lex_int(ps, &k)) return false;
  Sym *s = scope_find(ps->scope, name);
  if (!s) return perr_at(ps, at, "use of undefined value '%%%s'", name);
  if (!hash && s->n != 1) return perr_at(ps, at, "'%%%s' has %d results; use '%%%s#N'", name, s->n, name);
  if (k < 0 || k >= s->n) return perr_at(ps, at, "result #%lld of '%%%s' out of range", (long long)k, name);
  *out = s->vals[k];
  return true;
}

/* ---- type lists --------------------------------------------------------- */

static bool push_type(Parser *ps, TensorType **ts, int *n) {
  if (*n >= TEXT_MAX_RESULTS) return perr(ps, "more than %d types", TEXT_MAX_RESULTS);
  if ((*n & (*n - 1)) == 0) {
    *ts = arena_grow(&ps->m->arena, *ts, (size_t)*n, *n ? (size_t)*n * 2 : 1, sizeof(TensorType));
    if (!*ts) return perr(ps, "out of memory");
  }
  return lex_tensor_type(ps, &(*ts)[(*n)++]);
}

/* `(t, ...)` or, when allow_bare, a single type without parentheses. */
static bool parse_type_list(Parser *ps, TensorType **ts, int *n, bool allow_bare) {
  *n = 0;
  *ts = NULL;
  if (allow_bare && lex_peek(ps, "tensor<")) return push_type(ps, ts, n);
  if (!lex_expect(ps, "(", "to start type list")) return false;
  if (lex_accept(ps, ")")) return true;
  do {
    if (!push_type(ps, ts, n)) return false;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, ")", "to end type list");
}

/* ---- ops ---------------------------------------------------------------- */

typedef struct OpText {
  const char *at;          /* start of the op name */
  const char *name;        /* e.g. "kiln.conv_2d" */
  OpKind kind;
  char res[256];           /* result name, "" if none */
  const char *res_at;
  int n_res_decl;          /* N of %x:N (1 without) */
  int n_in;
  Value **in;
  const char *region;      /* '(' of the region, or NULL */
  const char *region_end;  /* just past its ')' */
  AttrDict ad;
  int n_out;
  TensorType *out_types;
} OpText;

static bool parse_func_ops(Parser *ps, Func *f, bool region);
static bool parse_terminator(Parser *ps, Func *f, bool region, const TensorType *want, int n_want,
                             const char **names);

static bool parse_op_result(Parser *ps, OpText *ot) {
  ot->n_res_decl = 0;
  if (!lex_peek(ps, "%")) return true;
  ot->res_at = ps->p;
  if (!lex_value_name(ps, ot->res, sizeof ot->res)) return false;
  ot->n_res_decl = 1;
  if (lex_accept(ps, ":")) {
    int64_t n;
    if (!lex_int(ps, &n)) return false;
    if (n < 1 || n > TEXT_MAX_RESULTS) return perr(ps, "invalid result count %lld", (long long)n);
    ot->n_res_decl = (int)n;
  }
  return lex_expect(ps, "=", "after result name");
}

static bool parse_op_name(Parser *ps, OpText *ot) {
  ot->at = (lex_skip_ws(ps), ps->p);
  if (!lex_string(ps, &ot->name)) return false;
  for (int k = 0; k < KILN_OP_COUNT; k++) {
    if (strcmp(op_kind_name((OpKind)k), ot->name)) continue;
    ot->kind = (OpKind)k;
    return true;
  }
  return perr_at(ps, ot->at, "unknown op '%s'", ot->name);
}

static bool parse_operands(Parser *ps, OpText *ot) {
  if (!lex_expect(ps, "(", "to start operand list")) return false;
  if (lex_accept(ps, ")")) return true;
  int cap = 0;
  do {
    if (ot->n_in == TEXT_MAX_RESULTS) return perr(ps, "'%s': too many operands", ot->name);
    if (ot->n_in == cap) {
      int nc = cap ? cap * 2 : 4;
      ot->in = arena_grow(&ps->m->arena, ot->in, (size_t)cap, (size_t)nc, sizeof(Value *));
      if (!ot->in) return perr(ps, "out of memory");
      cap = nc;
    }
    if (!parse_use(ps, &ot->in[ot->n_in++])) return false;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, ")", "to end operand list");
}

static bool check_types(Parser *ps, OpText *ot, const char *tat, TensorType *ins, int n_ins) {
  char a[256], b[256];
  int want_in = op_kind_n_in(ot->kind), want_out = op_kind_n_out(ot->kind);
  if (n_ins != ot->n_in)
    return perr_at(ps, tat, "'%s': function type has %d operand types for %d operands", ot->name, n_ins, ot->n_in);
  for (int i = 0; i < n_ins; i++)
    if (!type_equal(&ins[i], &ot->in[i]->type))
      return perr_at(ps, tat, "'%s': operand %d has type %s but the function type says %s", ot->name, i,
                     type_str(&ot->in[i]->type, a, sizeof a), type_str(&ins[i], b, sizeof b));
  if (want_in >= 0 && ot->n_in != want_in)
    return perr_at(ps, ot->at, "'%s' expects %d operands, got %d", ot->name, want_in, ot->n_in);
  if ((ot->kind == KILN_OP_CONV2D || ot->kind == KILN_OP_DEPTHWISE_CONV2D || ot->kind == KILN_OP_CONV_TRANSPOSE2D) &&
      (ot->n_in < 2 || ot->n_in > 3))
    return perr_at(ps, ot->at, "'%s' expects 2 or 3 operands, got %d", ot->name, ot->n_in);
  if (ot->kind == KILN_OP_CONCAT && ot->n_in < 1)
    return perr_at(ps, ot->at, "'%s' expects at least 1 operand", ot->name);
  if (ot->kind == KILN_OP_GENERIC && ot->n_in > KILN_MAX_OPERANDS)
    return perr_at(ps, ot->at, "'%s' has more than %d operands", ot->name, KILN_MAX_OPERANDS);
  if (want_out >= 0 && ot->n_out != want_out)
    return perr_at(ps, tat, "'%s' expects %d results, got %d", ot->name, want_out, ot->n_out);
  if (ot->n_out != ot->n_res_decl)
    return perr_at(ps, tat, "'%s': %d result types for %d declared results", ot->name, ot->n_out, ot->n_res_decl);
  return true;
}

static bool parse_dispatch_region(Parser *ps, Op *op) {
  Func *f = func_new(ps->m, op->name);
  Scope *outer = ps->scope, *sc = arena_alloc(&ps->m->arena, sizeof *sc);
  if (!sc) return perr(ps, "out of memory");
  if (++ps->depth > TEXT_MAX_DEPTH) return perr(ps, "regions nested deeper than %d", TEXT_MAX_DEPTH);
  sc->parent = outer;
  ps->scope = sc;
  op->attrs.region = f;
  bool ok = lex_expect(ps, "(", "to start region") && lex_expect(ps, "{", "to start region") &&
            parse_func_ops(ps, f, true) && parse_terminator(ps, f, true, NULL, 0, NULL) &&
            lex_expect(ps, "}", "to end region") && lex_expect(ps, ")", "to end region");
  ps->scope = outer;
  ps->depth--;
  if (!ok) return false;
  if (f->n_args != op->n_in) return perr_at(ps, ps->p, "'kiln.dispatch' region has %d arguments for %d operands", f->n_args, op->n_in);
  for (int i = 0; i < f->n_args; i++)
    if (!type_equal(&f->args[i]->type, &op->in[i]->type))
      return perr(ps, "'kiln.dispatch' region argument %d type differs from operand %d", i, i);
  if (f->n_results != op->n_out) return perr(ps, "'kiln.dispatch' region yields %d values for %d results", f->n_results, op->n_out);
  for (int i = 0; i < f->n_results; i++)
    if (!type_equal(&f->results[i]->type, &op->out[i]->type))
      return perr(ps, "'kiln.dispatch' yielded value %d type differs from result %d", i, i);
  return true;
}

static bool parse_region(Parser *ps, Op *op, const char *at, const char *region_end) {
  const char *resume = ps->p;
  ps->p = at;
  bool ok;
  if (op->kind == KILN_OP_GENERIC) {
    DType dt[2 * TEXT_MAX_RESULTS];
    for (int i = 0; i < op->n_in; i++) dt[i] = op->in[i]->type.dtype;
    for (int i = 0; i < op->n_out; i++) dt[op->n_in + i] = op->out[i]->type.dtype;
    ok = parse_generic_body(ps, &op->attrs.body, dt, op->n_in + op->n_out, dt + op->n_in, op->n_out);
  } else {
    ok = parse_dispatch_region(ps, op);
  }
  if (ok && ps->p != region_end) return perr(ps, "unexpected text at end of region");
  ps->p = resume;
  return ok;
}

static bool parse_op(Parser *ps, Func *f) {
  OpText ot = {0};
  if (!parse_op_result(ps, &ot) || !parse_op_name(ps, &ot) || !parse_operands(ps, &ot)) return false;
  if (lex_peek(ps, "(")) {
    ot.region = ps->p;
    if (ot.kind != KILN_OP_GENERIC && ot.kind != KILN_OP_DISPATCH)
      return perr(ps, "'%s' has no region", ot.name);
    if (!skip_balanced(ps)) return false;
    ot.region_end = ps->p;
  } else if (ot.kind == KILN_OP_GENERIC) {
    return perr(ps, "'kiln.generic' needs a body region");
  }
  if (lex_peek(ps, "{") && !parse_attr_dict(ps, &ot.ad)) return false;
  TensorType *ins;
  int n_ins;
  if (!lex_expect(ps, ":", "before the op's function type")) return false;
  const char *tat = (lex_skip_ws(ps), ps->p);
  if (!parse_type_list(ps, &ins, &n_ins, false) || !lex_expect(ps, "->", "in function type") ||
      !parse_type_list(ps, &ot.out_types, &ot.n_out, true) || !check_types(ps, &ot, tat, ins, n_ins))
    return false;
  AttrVal *nm = attr_find(&ot.ad, "kiln.name");
  if (nm && nm->kind != AV_STR) return perr_at(ps, nm->at, "'%s': kiln.name must be a string", ot.name);
  if (nm) nm->used = true;
  Op *op = op_new(f, ot.kind, nm ? nm->s : NULL, ot.n_in, ot.in, ot.n_out, ot.out_types, NULL);
  if (!apply_attrs(ps, op, &ot.ad, ot.at)) return false;
  if (ot.region && !parse_region(ps, op, ot.region, ot.region_end)) return false;
  return !ot.n_out || scope_define(ps, ot.res, ot.res_at, op->out, op->n_out);
}

/* ---- functions ---------------------------------------------------------- */

static bool parse_name_attr(Parser *ps, const char **name) {
  *name = NULL;
  if (!lex_accept(ps, "{")) return true;
  return lex_expect(ps, "kiln.name", "(the only argument/result attribute)") && lex_expect(ps, "=", "after kiln.name") &&
         lex_string(ps, name) && lex_expect(ps, "}", "after kiln.name");
}

static bool parse_args(Parser *ps, Func *f, bool region) {
  if (region && !lex_accept(ps, "^bb0")) return true;
  if (!region && !lex_expect(ps, "(", "to start argument list")) return false;
  if (region && !lex_accept(ps, "(")) return lex_expect(ps, ":", "after block label");
  if (!lex_accept(ps, ")")) {
    do {
      char name[256];
      const char *at = (lex_skip_ws(ps), ps->p), *an = NULL;
      TensorType t;
      if (f->n_args >= TEXT_MAX_RESULTS) return perr(ps, "too many arguments");
      if (!lex_value_name(ps, name, sizeof name) || !lex_expect(ps, ":", "after argument name") ||
          !lex_tensor_type(ps, &t) || (!region && !parse_name_attr(ps, &an)))
        return false;
      Value *v = func_add_arg(f, t, an);
      if (!scope_define(ps, name, at, &f->args[f->n_args - 1], 1)) return false;
      (void)v;
    } while (lex_accept(ps, ","));
    if (!lex_expect(ps, ")", "to end argument list")) return false;
  }
  return !region || lex_expect(ps, ":", "after block arguments");
}

/* `-> (t {kiln.name = "x"}, ...)` or `-> t`; types and names into the arena. */
static bool parse_result_sig(Parser *ps, TensorType **ts, const char ***names, int *n) {
  *n = 0;
  if (!lex_accept(ps, "->")) return true;
  bool parens = lex_accept(ps, "(");
  if (parens && lex_accept(ps, ")")) return true;
  do {
    if (*n >= TEXT_MAX_RESULTS) return perr(ps, "too many results");
    if ((*n & (*n - 1)) == 0) {
      *ts = arena_grow(&ps->m->arena, *ts, (size_t)*n, *n ? (size_t)*n * 2 : 1, sizeof(TensorType));
      *names = arena_grow(&ps->m->arena, *names, (size_t)*n, *n ? (size_t)*n * 2 : 1, sizeof(char *));
      if (!*ts || !*names) return perr(ps, "out of memory");
    }
    if (!lex_tensor_type(ps, &(*ts)[*n]) || (parens && !parse_name_attr(ps, &(*names)[*n]))) return false;
    ++*n;
  } while (parens && lex_accept(ps, ","));
  return !parens || lex_expect(ps, ")", "to end result types");
}

/* `return %a, %b : t1, t2` / `"kiln.yield"(%a) : (t) -> ()`; checks against `want`. */
static bool parse_terminator(Parser *ps, Func *f, bool region, const TensorType *want, int n_want,
                             const char **names) {
  const char *at = (lex_skip_ws(ps), ps->p);
  Value **vals = arena_alloc(&ps->m->arena, sizeof(Value *) * (size_t)(TEXT_MAX_RESULTS));
  int n = 0;
  if (!vals) return perr(ps, "out of memory");
  if (region && !lex_expect(ps, "(", "after \"kiln.yield\"")) return false;
  if (!(region ? lex_peek(ps, ")") : !lex_peek(ps, "%"))) {
    do {
      if (n >= TEXT_MAX_RESULTS) return perr(ps, "too many results");
      if (!parse_use(ps, &vals[n++])) return false;
    } while (lex_accept(ps, ","));
  }
  if (region && !lex_expect(ps, ")", "after yielded values")) return false;
  TensorType *ts = NULL;
  int nt = 0;
  if (n || region) {
    if (!lex_expect(ps, ":", "before result types")) return false;
    if (region ? !parse_type_list(ps, &ts, &nt, false) : false) return false;
    while (!region && nt < n) {
      if ((nt && !lex_expect(ps, ",", "between types")) || !push_type(ps, &ts, &nt)) return false;
    }
    if (region && (!lex_expect(ps, "->", "in function type") || !lex_expect(ps, "()", "(\"kiln.yield\" has no results)")))
      return false;
  }
  if (nt != n) return perr_at(ps, at, "%d values but %d types", n, nt);
  for (int i = 0; i < n; i++)
    if (!type_equal(&ts[i], &vals[i]->type)) return perr_at(ps, at, "type of returned value %d does not match", i);
  if (!region && n != n_want) return perr_at(ps, at, "'return' has %d values, the function signature %d", n, n_want);
  for (int i = 0; !region && i < n; i++)
    if (!type_equal(&want[i], &vals[i]->type)) return perr_at(ps, at, "returned value %d does not match the signature", i);
  func_set_results(f, n, vals, names);
  return true;
}

static bool parse_func_ops(Parser *ps, Func *f, bool region) {
  if (region && !parse_args(ps, f, true)) return false;
  for (;;) {
    if (ps->failed) return false;
    if (region ? lex_accept(ps, "\"kiln.yield\"") : lex_accept(ps, "return")) break;
    if (ps->p >= ps->end) return perr(ps, "expected '%s', found end of input", region ? "\"kiln.yield\"" : "return");
    if (!parse_op(ps, f)) return false;
  }
  return true;
}

static bool parse_func(Parser *ps) {
  if (!lex_expect(ps, "func.func", "(the module's function)") || !lex_expect(ps, "@", "before function name")) return false;
  char name[256];
  const char *fname = name;
  if (lex_peek(ps, "\"")) {
    if (!lex_string(ps, &fname)) return false;
  } else if (!lex_ident(ps, name, sizeof name)) {
    return perr(ps, "expected function name");
  }
  Func *f = func_new(ps->m, fname);
  ps->m->main = f;
  TensorType *rt = NULL;
  const char **rn = NULL;
  int nr;
  if (!parse_args(ps, f, false) || !parse_result_sig(ps, &rt, &rn, &nr) || !lex_expect(ps, "{", "to start function body"))
    return false;
  if (!parse_func_ops(ps, f, false) || !parse_terminator(ps, f, false, rt, nr, rn)) return false;
  return lex_expect(ps, "}", "to end function body");
}

/* ---- resources and the module ------------------------------------------- */

static bool parse_blob(Parser *ps, const char *key) {
  ResRef *r = ps->res;
  while (r && strcmp(r->key, key)) r = r->next;
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_expect(ps, "\"0x", "to start resource blob")) return false;
  const char *hex = ps->p;
  while (ps->p < ps->end && *ps->p != '"') ps->p++;
  if (ps->p >= ps->end) return perr_at(ps, at, "unterminated resource blob");
  size_t n = (size_t)(ps->p++ - hex);
  if (!r) return true; /* unused resource: ignored */
  Constant *c = &ps->m->consts[r->const_index];
  if (c->data) return perr_at(ps, at, "duplicate resource '%s'", key);
  if (n < 8 || (n - 8) / 2 != c->nbytes || n % 2)
    return perr_at(ps, at, "resource '%s' has %zu bytes, expected %zu", key, n < 8 ? 0 : (n - 8) / 2, c->nbytes);
  unsigned char *data = arena_alloc(&ps->m->arena, c->nbytes ? c->nbytes : 1);
  if (!data) return perr(ps, "out of memory");
  for (size_t i = 0; i < n; i++) {
    char ch = hex[i];
    int v = ch >= '0' && ch <= '9' ? ch - '0' : (ch | 32) >= 'a' && (ch | 32) <= 'f' ? (ch | 32) - 'a' + 10 : -1;
    if (v < 0) return perr_at(ps, hex + i, "invalid hex digit in resource blob");
    if (i >= 8) data[(i - 8) / 2] |= (unsigned char)(i % 2 ? v : v << 4);
  }
  c->data = data;
  return true;
}

bool text_parse_resources(Parser *ps) {
  if (!lex_expect(ps, "dialect_resources", "after '{-#'") || !lex_expect(ps, ":", "after dialect_resources") ||
      !lex_expect(ps, "{", "to start dialect_resources"))
    return false;
  if (!lex_accept(ps, "}")) {
    if (!lex_expect(ps, "builtin", "(only builtin resources are supported)") || !lex_expect(ps, ":", "after builtin") ||
        !lex_expect(ps, "{", "to start builtin resources"))
      return false;
    if (!lex_accept(ps, "}")) {
      do {
        char key[TEXT_MAX_KEY];
        if (!lex_ident(ps, key, sizeof key)) return perr(ps, "expected resource key");
        if (!lex_expect(ps, ":", "after resource key") || !parse_blob(ps, key)) return false;
      } while (lex_accept(ps, ","));
      if (!lex_expect(ps, "}", "to end builtin resources")) return false;
    }
    if (!lex_expect(ps, "}", "to end dialect_resources")) return false;
  }
  return lex_expect(ps, "#-}", "to end the resources section");
}

static bool parse_module(Parser *ps) {
  bool wrapped = lex_accept(ps, "module");
  if (wrapped && !lex_expect(ps, "{", "after 'module'")) return false;
  if (!parse_func(ps)) return false;
  if (wrapped && !lex_expect(ps, "}", "to end module")) return false;
  if (lex_accept(ps, "{-#") && !text_parse_resources(ps)) return false;
  lex_skip_ws(ps);
  if (ps->p != ps->end) return perr(ps, "expected end of input");
  return true;
}

KilnStatus module_parse(const char *text, size_t len, const char *path, Module **out, Diag *d) {
  *out = NULL;
  Module *m = module_new();
  if (!m) return diag_error(d, KILN_ERR_NOMEM, "%s: out of memory", path ? path : "<input>");
  Diag local = {0};
  Scope *top = arena_alloc(&m->arena, sizeof *top);
  Parser ps = {.src = text, .p = text, .end = text + len, .path = path ? path : "<input>",
               .d = &local, .m = m, .scope = top};
  bool ok = top ? parse_module(&ps) : perr(&ps, "out of memory");
  /* Text is user input: a well-formed but ill-typed module (a result type that does not
   * follow from the operands) must not reach the passes, which assume verified IR. */
  Diag vd = {0};
  if (ok && m->main && func_verify(m->main, &vd))
    ok = (diag_error(&local, vd.status, "%s: %s", ps.path, vd.msg), false);
  if (!ok) {
    if (local.status == KILN_OK) diag_error(&local, KILN_ERR_INVALID, "%s: parse error", ps.path);
    for (char *c = local.msg; *c; c++) /* messages quote the input: keep them one line */
      if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    module_free(m);
    return diag_error(d, local.status, "%s", local.msg);
  }
  *out = m;
  return KILN_OK;
}
