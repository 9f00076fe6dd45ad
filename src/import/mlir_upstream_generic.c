/* mlir_upstream_generic.c — linalg.generic (pretty form) -> Kiln's GENERIC.
 *
 *   %r = linalg.generic {indexing_maps = [#map, ...], iterator_types = ["parallel", ...]}
 *          ins(%a, %b : tA, tB) outs(%o : tO) [attrs = {...}] {
 *        ^bb0(%in: f32, %in_0: f32, %out: f32):
 *          %0 = arith.addf %in, %in_0 : f32
 *          linalg.yield %0 : f32
 *        } -> tO
 *
 * Kiln's GENERIC has no `outs` operands: its block arguments are one per input, then one
 * accumulator per output, which starts at a scalar init when the generic reduces. So:
 *  - a reducing generic takes its init from the `outs` fill value (an empty tensor: 0);
 *  - an elementwise generic whose body reads an `outs` element gets that tensor as an
 *    extra input with the output's map;
 *  - a scalar `ins` operand (a constant) becomes a constant in the body.
 * The body's names are local to it (the MLIR printer reuses them across regions); a
 * name not defined in the body may be a scalar constant of the function. Ops: arith and
 * math ops of body.def under their upstream spellings (arith.maximumf / maxnumf / maxf,
 * math.roundeven, the casts, cmpf / cmpi predicates, select), plus math.rsqrt and
 * math.fma, which expand to two instructions. */
#include <ctype.h>
#include <string.h>

#include "mlir_upstream.h"

enum { BODY_MAX_INSTS = 4096, BODY_MAX_ARGS = 2 * UP_MAX_RESULTS };

typedef struct GenBody {
  Up *u;
  BodyInst *insts;
  const char **names;   /* inst -> its SSA name, NULL for helpers */
  int n, cap;
  int n_args;           /* block arguments: insts 0..n_args-1 are the ARG insts */
} GenBody;

/* ---- instructions and names ----------------------------------------------------------- */

static int add_inst(GenBody *g, BodyInst bi, const char *name) {
  Parser *ps = &g->u->ps;
  if (g->n == BODY_MAX_INSTS) return perr(ps, "linalg.generic body has more than %d instructions", BODY_MAX_INSTS), -1;
  if (g->n == g->cap) {
    int cap = g->cap ? g->cap * 2 : 16;
    g->insts = arena_grow(&g->u->m->arena, g->insts, (size_t)g->cap, (size_t)cap, sizeof(BodyInst));
    g->names = arena_grow(&g->u->m->arena, g->names, (size_t)g->cap, (size_t)cap, sizeof(char *));
    if (!g->insts || !g->names) return perr(ps, "out of memory"), -1;
    g->cap = cap;
  }
  g->insts[g->n] = bi;
  g->names[g->n] = name ? arena_strdup(&g->u->m->arena, name) : NULL;
  return g->n++;
}

static bool lex_local(Parser *ps, char *buf, size_t n) {
  lex_skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != '%') return perr(ps, "expected SSA value name");
  ps->p++;
  size_t k = 0;
  while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '$' || *ps->p == '.')) {
    if (k + 1 >= n) return perr(ps, "value name too long");
    buf[k++] = *ps->p++;
  }
  buf[k] = 0;
  return k > 0 || perr(ps, "expected SSA value name");
}

/* An operand: a body value, or a scalar constant of the function (copied in). */
static int use(GenBody *g) {
  Parser *ps = &g->u->ps;
  const char *at = (lex_skip_ws(ps), ps->p);
  char name[128];
  if (!lex_local(ps, name, sizeof name)) return -1;
  for (int i = g->n - 1; i >= 0; i--)
    if (g->names[i] && !strcmp(g->names[i], name)) return i;
  ps->p = at;
  UVal *x = up_use(g->u);
  if (!x) return -1;
  if (x->kind != UV_SCALAR) return perr_at(ps, at, "'%%%s' is not a scalar constant", name), -1;
  DType dt = x->type.dtype;
  return add_inst(g, (BodyInst){.kind = BODY_CONST, .dtype = dt, .imm = x->s, .imm_i = up_to_i64(x->s)}, NULL);
}

/* ---- one body op ------------------------------------------------------------------------ */

static const struct {
  const char *name;
  BodyOpKind kind;
  int n_args;
} body_ops[] = {
  {"arith.addf", BODY_ADD, 2}, {"arith.addi", BODY_ADD, 2}, {"arith.subf", BODY_SUB, 2}, {"arith.subi", BODY_SUB, 2},
  {"arith.mulf", BODY_MUL, 2}, {"arith.muli", BODY_MUL, 2}, {"arith.divf", BODY_DIV, 2}, {"arith.divsi", BODY_DIV, 2},
  {"arith.maximumf", BODY_MAX, 2}, {"arith.maxnumf", BODY_MAX, 2}, {"arith.maxf", BODY_MAX, 2}, {"arith.maxsi", BODY_MAX, 2},
  {"arith.minimumf", BODY_MIN, 2}, {"arith.minnumf", BODY_MIN, 2}, {"arith.minf", BODY_MIN, 2}, {"arith.minsi", BODY_MIN, 2},
  {"math.powf", BODY_POW, 2}, {"arith.negf", BODY_NEG, 1}, {"math.absf", BODY_ABS, 1}, {"math.absi", BODY_ABS, 1},
  {"math.exp", BODY_EXP, 1}, {"math.log", BODY_LOG, 1}, {"math.tanh", BODY_TANH, 1}, {"math.erf", BODY_ERF, 1},
  {"math.sqrt", BODY_SQRT, 1}, {"math.floor", BODY_FLOOR, 1}, {"math.ceil", BODY_CEIL, 1},
  {"math.roundeven", BODY_ROUND, 1}, {"arith.select", BODY_SELECT, 3},
  {"arith.extf", BODY_CAST, 1}, {"arith.truncf", BODY_CAST, 1}, {"arith.fptosi", BODY_CAST, 1},
  {"arith.fptoui", BODY_CAST, 1}, {"arith.sitofp", BODY_CAST, 1}, {"arith.extsi", BODY_CAST, 1},
  {"arith.trunci", BODY_CAST, 1},
  {"arith.cmpf", BODY_CMP, 2}, {"arith.cmpi", BODY_CMP, 2},
  {"math.rsqrt", BODY_SQRT, 1}, {"math.fma", BODY_MUL, 3},
};

static bool read_pred(GenBody *g, CmpPred *p) {
  static const struct { const char *s; CmpPred p; } preds[] = {
    {"oeq", CMP_EQ}, {"ueq", CMP_EQ}, {"eq", CMP_EQ}, {"one", CMP_NE}, {"une", CMP_NE}, {"ne", CMP_NE},
    {"olt", CMP_LT}, {"ult", CMP_LT}, {"slt", CMP_LT}, {"ole", CMP_LE}, {"ule", CMP_LE}, {"sle", CMP_LE},
    {"ogt", CMP_GT}, {"ugt", CMP_GT}, {"sgt", CMP_GT}, {"oge", CMP_GE}, {"uge", CMP_GE}, {"sge", CMP_GE},
  };
  Parser *ps = &g->u->ps;
  char w[16];
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_ident(ps, w, sizeof w)) return perr(ps, "expected a comparison predicate");
  for (size_t i = 0; i < ARRAY_LEN(preds); i++)
    if (!strcmp(preds[i].s, w)) return *p = preds[i].p, lex_expect(ps, ",", "after the predicate");
  return perr_at(ps, at, "unsupported comparison predicate '%s'", w);
}

/* `fastmath<...>` and `{...}` after the operands carry nothing Kiln needs. */
static bool skip_op_attrs(GenBody *g) {
  Parser *ps = &g->u->ps;
  if (lex_accept(ps, "fastmath<")) {
    while (ps->p < ps->end && *ps->p != '>') ps->p++;
    if (!lex_expect(ps, ">", "to end fastmath<>")) return false;
  }
  if (lex_peek(ps, "{")) return skip_balanced(ps);
  return true;
}

/* `%r = arith.constant 1.0 : f32` */
static bool body_constant(GenBody *g, const char *res) {
  Parser *ps = &g->u->ps;
  const char *lit = (lex_skip_ws(ps), ps->p);
  bool is_bool = lex_accept(ps, "true") || lex_accept(ps, "false");
  while (!is_bool && ps->p < ps->end && *ps->p != ':' && *ps->p != '\n') ps->p++;
  DType dt;
  if (!lex_expect(ps, ":", "after the constant") || !lex_dtype(ps, &dt, true)) return false;
  const char *after = ps->p;
  BodyInst bi = {.kind = BODY_CONST, .dtype = dt};
  ps->p = lit;
  if (is_bool) bi.imm_i = lex_accept(ps, "true");
  else if (dtype_is_float(dt) ? !lex_float(ps, &bi.imm, dt) : !lex_int(ps, &bi.imm_i)) return false;
  if (!dtype_is_float(dt)) bi.imm = (double)bi.imm_i;
  if (!lex_peek(ps, ":")) return perr(ps, "unexpected text in constant");
  ps->p = after;
  return add_inst(g, bi, res) >= 0;
}

/* The expansions: rsqrt(x) = 1 / sqrt(x), fma(a, b, c) = a * b + c. */
static bool add_expanded(GenBody *g, const char *opname, BodyInst bi, const char *res) {
  DType dt = bi.dtype;
  if (!strcmp(opname, "math.rsqrt")) {
    int s = add_inst(g, bi, NULL), one = add_inst(g, (BodyInst){.kind = BODY_CONST, .dtype = dt, .imm = 1, .imm_i = 1}, NULL);
    return s >= 0 && one >= 0 && add_inst(g, (BodyInst){.kind = BODY_DIV, .dtype = dt, .n_args = 2, .args = {one, s}}, res) >= 0;
  }
  if (!strcmp(opname, "math.fma")) {
    int c = bi.args[2];
    bi.n_args = 2;
    int m = add_inst(g, bi, NULL);
    return m >= 0 && add_inst(g, (BodyInst){.kind = BODY_ADD, .dtype = dt, .n_args = 2, .args = {m, c}}, res) >= 0;
  }
  return add_inst(g, bi, res) >= 0;
}

static bool body_op(GenBody *g, const char *res) {
  Parser *ps = &g->u->ps;
  char opname[64];
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_ident(ps, opname, sizeof opname)) return perr(ps, "expected a body op");
  if (!strcmp(opname, "arith.constant")) return body_constant(g, res);
  size_t k = 0;
  while (k < ARRAY_LEN(body_ops) && strcmp(body_ops[k].name, opname)) k++;
  if (k == ARRAY_LEN(body_ops)) return perr_at(ps, at, "unknown op '%s'", opname);
  BodyInst bi = {.kind = body_ops[k].kind, .n_args = body_ops[k].n_args};
  if (bi.kind == BODY_CMP && !read_pred(g, &bi.pred)) return false;
  for (int i = 0; i < bi.n_args; i++) {
    if (i && !lex_expect(ps, ",", "between operands")) return false;
    if ((bi.args[i] = use(g)) < 0) return false;
  }
  if (!skip_op_attrs(g) || !lex_expect(ps, ":", "before the type")) return false;
  DType t;
  if (!lex_dtype(ps, &t, true)) return false;
  if (bi.kind == BODY_CAST) {
    if (!lex_expect(ps, "to", "in a cast") || !lex_dtype(ps, &bi.dtype, true)) return false;
    if (!strcmp(opname, "arith.fptoui") && bi.dtype == KILN_I8) bi.dtype = KILN_U8;
  } else {
    bi.dtype = bi.kind == BODY_CMP ? KILN_BOOL : t;
  }
  if (body_op_n_args(bi.kind) != (bi.kind == BODY_MUL && bi.n_args == 3 ? 2 : bi.n_args) && bi.kind != BODY_CAST)
    return perr_at(ps, at, "'%s' has the wrong number of operands", opname);
  for (int i = 0; i < bi.n_args; i++) { /* operands must have the op's type (select: i1 first) */
    DType want = bi.kind == BODY_SELECT && i == 0 ? KILN_BOOL : t, got = g->insts[bi.args[i]].dtype;
    bool same = got == want || (got == KILN_U8 && want == KILN_I8); /* ui8 prints as i8 */
    if (!same)
      return perr_at(ps, at, "'%s': operand %d is %s, the op's type is %s", opname, i,
                     dtype_name(got), dtype_name(want));
  }
  return add_expanded(g, opname, bi, res);
}

/* ---- the region ---------------------------------------------------------------------------- */

static bool block_args(GenBody *g, const DType *arg_dt, int n_args) {
  Parser *ps = &g->u->ps;
  if (!lex_expect(ps, "^", "to start the generic body")) return false;
  char lbl[64], name[128];
  if (!lex_ident(ps, lbl, sizeof lbl) || !lex_expect(ps, "(", "after the block label")) return false;
  int n = 0;
  if (!lex_accept(ps, ")")) {
    do {
      const char *at = (lex_skip_ws(ps), ps->p);
      DType dt;
      if (!lex_local(ps, name, sizeof name) || !lex_expect(ps, ":", "after a block argument") || !lex_dtype(ps, &dt, true))
        return false;
      if (n >= n_args) return perr_at(ps, at, "more block arguments than operands (%d)", n_args);
      if (strcmp(text_body_type(dt), text_body_type(arg_dt[n])))
        return perr_at(ps, at, "block argument %d has type %s, its operand %s", n, dtype_name(dt), text_body_type(arg_dt[n]));
      if (add_inst(g, (BodyInst){.kind = BODY_ARG, .dtype = arg_dt[n], .imm_i = n}, name) < 0) return false;
      n++;
    } while (lex_accept(ps, ","));
    if (!lex_expect(ps, ")", "to end the block arguments")) return false;
  }
  if (n != n_args) return perr(ps, "the body has %d block arguments, the op %d operands", n, n_args);
  g->n_args = n;
  return lex_expect(ps, ":", "after the block arguments");
}

static bool parse_body(GenBody *g, const DType *arg_dt, int n_args, int *yields, int n_res) {
  Parser *ps = &g->u->ps;
  if (!lex_expect(ps, "{", "to start the generic body") || !block_args(g, arg_dt, n_args)) return false;
  while (!lex_accept(ps, "linalg.yield")) {
    if (ps->failed) return false;
    if (!lex_peek(ps, "%")) {
      char w[64];
      const char *at = (lex_skip_ws(ps), ps->p);
      if (ps->p < ps->end && lex_ident(ps, w, sizeof w)) return perr_at(ps, at, "unknown op '%s'", w);
      return perr(ps, "expected a body op or linalg.yield");
    }
    char res[128];
    if (!lex_local(ps, res, sizeof res) || !lex_expect(ps, "=", "after the result name") || !body_op(g, res)) return false;
  }
  for (int k = 0; k < n_res; k++) {
    if ((k && !lex_expect(ps, ",", "between yielded values")) || (yields[k] = use(g)) < 0) return false;
  }
  if (!lex_expect(ps, ":", "after the yielded values")) return false;
  for (int k = 0; k < n_res; k++) {
    DType t;
    if ((k && !lex_expect(ps, ",", "between types")) || !lex_dtype(ps, &t, true)) return false;
  }
  return lex_expect(ps, "}", "to end the generic body");
}

/* ---- attributes ------------------------------------------------------------------------------ */

typedef struct GenAttrs {
  int n_maps, n_dims;
  AffineMap maps[BODY_MAX_ARGS];
  int n_iters;
  IterType iters[KILN_MAX_RANK];
} GenAttrs;

static bool read_maps(Up *u, GenAttrs *ga) {
  Parser *ps = &u->ps;
  if (!lex_expect(ps, "[", "to start indexing_maps")) return false;
  do {
    int dims;
    if (ga->n_maps == BODY_MAX_ARGS) return perr(ps, "too many indexing maps");
    if (!up_affine_map(u, &ga->maps[ga->n_maps], &dims)) return false;
    if (ga->n_maps++ && dims != ga->n_dims) return perr(ps, "indexing maps disagree on the number of dims");
    ga->n_dims = dims;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "]", "to end indexing_maps");
}

static bool read_iters(Up *u, GenAttrs *ga) {
  Parser *ps = &u->ps;
  if (!lex_expect(ps, "[", "to start iterator_types")) return false;
  do {
    bool wrapped = lex_accept(ps, "#linalg.iterator_type<");
    const char *at = (lex_skip_ws(ps), ps->p);
    char w[32];
    const char *s = w;
    if (wrapped ? !lex_ident(ps, w, sizeof w) : !lex_string(ps, &s)) return perr_at(ps, at, "expected an iterator type");
    if (wrapped && !lex_expect(ps, ">", "to end the iterator type")) return false;
    if (ga->n_iters == KILN_MAX_RANK) return perr(ps, "more than %d loops", KILN_MAX_RANK);
    if (strcmp(s, "parallel") && strcmp(s, "reduction")) return perr_at(ps, at, "unknown iterator type '%s'", s);
    ga->iters[ga->n_iters++] = strcmp(s, "parallel") ? ITER_REDUCTION : ITER_PARALLEL;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "]", "to end iterator_types");
}

static bool read_gen_attrs(Up *u, GenAttrs *ga) {
  Parser *ps = &u->ps;
  bool maps = false, iters = false;
  if (!lex_expect(ps, "{", "to start the attributes of linalg.generic")) return false;
  do {
    char name[128];
    const char *at = (lex_skip_ws(ps), ps->p);
    if (!lex_ident(ps, name, sizeof name) || !lex_expect(ps, "=", "after the attribute name")) return perr_at(ps, at, "expected attribute");
    if (!strcmp(name, "indexing_maps")) {
      if (!read_maps(u, ga)) return false;
      maps = true;
    } else if (!strcmp(name, "iterator_types")) {
      if (!read_iters(u, ga)) return false;
      iters = true;
    } else if (!strcmp(name, "doc") || !strcmp(name, "library_call") || strchr(name, '.')) {
      if (!up_skip_attr_value(u)) return false;
    } else {
      return perr_at(ps, at, "unknown attribute '%s' of 'linalg.generic'", name);
    }
  } while (lex_accept(ps, ","));
  if (!maps || !iters) return perr(ps, "linalg.generic needs indexing_maps and iterator_types");
  if (ga->n_iters != ga->n_dims) return perr(ps, "%d iterator types for %d loops", ga->n_iters, ga->n_dims);
  return lex_expect(ps, "}", "to end the attributes");
}

static bool read_ins_outs(Up *u, const char *kw, UVal **vals, int *n) {
  Parser *ps = &u->ps;
  *n = 0;
  if (!lex_accept(ps, kw)) return true;
  return lex_expect(ps, "(", "after ins/outs") && up_use_list(u, vals, n, true) && lex_expect(ps, ")", "to end ins/outs");
}

/* ---- building the GENERIC ---------------------------------------------------------------------- */

typedef struct GenOperands {
  int n_ins, n_outs;
  UVal *ins[UP_MAX_RESULTS], *outs[UP_MAX_RESULTS];
  TensorType res[UP_MAX_RESULTS];
  int n_res;
} GenOperands;

/* A contraction `out += x * w` raised to a named op (mlir_upstream_raise.c), or NULL. */
static Value *raise(Up *u, UpOp *o, GenAttrs *ga, GenOperands *go, GenBody *g, int *yields, Value **ins, AffineMap *maps) {
  Body b = {.n_insts = g->n, .insts = g->insts, .n_yield = 1, .yields = yields};
  AffineMap m3[3] = {maps[0], maps[1], ga->maps[go->n_ins]};
  return up_raise_contraction(u, o->res, ga->n_dims, m3, &b, ins[0], ins[1], go->outs[0], &go->res[0], o->at);
}

/* Kiln's inputs and block-argument numbering (see the file comment); the results into
 * res[] (a generic, or a named op when the generic is a raisable contraction). */
static bool build(Up *u, UpOp *o, GenAttrs *ga, GenOperands *go, GenBody *g, int *yields, Value **res) {
  Parser *ps = &u->ps;
  bool reduces = false;
  for (int d = 0; d < ga->n_iters; d++) reduces |= ga->iters[d] == ITER_REDUCTION;
  Value *ins[BODY_MAX_ARGS];
  AffineMap maps[BODY_MAX_ARGS];
  int remap[BODY_MAX_ARGS], n = 0;
  bool out_used[UP_MAX_RESULTS] = {0};
  for (int i = 0; i < g->n; i++)
    for (int k = 0; k < g->insts[i].n_args; k++) {
      int a = g->insts[i].args[k];
      if (a >= go->n_ins && a < g->n_args) out_used[a - go->n_ins] = true;
    }
  for (int k = 0; k < go->n_res; k++)
    if (yields[k] >= go->n_ins && yields[k] < g->n_args) out_used[yields[k] - go->n_ins] = true;
  for (int i = 0; i < go->n_ins; i++) {
    remap[i] = -1;
    if (go->ins[i]->kind == UV_SCALAR) { /* a constant operand: a constant in the body */
      g->insts[i] = (BodyInst){.kind = BODY_CONST, .dtype = go->ins[i]->type.dtype, .imm = go->ins[i]->s, .imm_i = up_to_i64(go->ins[i]->s)};
      continue;
    }
    if (!(ins[n] = up_value(u, go->ins[i], o->at))) return false;
    maps[n] = ga->maps[i];
    remap[i] = n++;
  }
  for (int k = 0; k < go->n_outs && !reduces; k++) {
    if (!out_used[k]) continue;
    if (!(ins[n] = up_value(u, go->outs[k], o->at))) return false;
    maps[n] = ga->maps[go->n_ins + k];
    remap[go->n_ins + k] = n++;
  }
  for (int k = 0; k < go->n_outs && reduces; k++) remap[go->n_ins + k] = n + k;
  for (int i = 0; i < g->n_args; i++)
    if (g->insts[i].kind == BODY_ARG) g->insts[i].imm_i = remap[i];
  if (reduces && n == 2 && go->n_outs == 1 && (go->outs[0]->kind == UV_FILL || go->outs[0]->kind == UV_EMPTY ||
                                               go->outs[0]->kind == UV_TENSOR)) {
    if ((res[0] = raise(u, o, ga, go, g, yields, ins, maps))) return true;
    if (u->ps.failed) return false;
  }
  Op *op = op_new(u->f, KILN_OP_GENERIC, arena_strdup(&u->m->arena, o->res[0] ? o->res : "generic"), n, ins, go->n_res, go->res, NULL);
  OpAttrs *a = &op->attrs;
  a->n_loops = ga->n_dims;
  memcpy(a->iterators, ga->iters, sizeof ga->iters);
  a->n_maps = n + go->n_outs;
  a->maps = arena_alloc(&u->m->arena, sizeof(AffineMap) * (size_t)a->n_maps);
  a->init = arena_alloc(&u->m->arena, sizeof(double) * (size_t)go->n_outs);
  if (!a->maps || !a->init) return perr(ps, "out of memory");
  memcpy(a->maps, maps, sizeof(AffineMap) * (size_t)n);
  for (int k = 0; k < go->n_outs; k++) {
    UVal *ov = go->outs[k];
    a->maps[n + k] = ga->maps[go->n_ins + k];
    if (reduces && out_used[k] && ov->kind != UV_FILL && ov->kind != UV_EMPTY)
      return perr_at(ps, o->at, "a reducing linalg.generic must accumulate into a linalg.fill or tensor.empty");
    a->init[k] = ov->kind == UV_FILL ? ov->s : 0;
  }
  a->body = (Body){.n_insts = g->n, .insts = g->insts, .n_yield = go->n_res, .yields = yields};
  for (int k = 0; k < op->n_out; k++) res[k] = op->out[k];
  return true;
}

bool up_linalg_generic(Up *u, UpOp *o) {
  Parser *ps = &u->ps;
  GenAttrs *ga = calloc(1, sizeof *ga);
  GenOperands *go = calloc(1, sizeof *go);
  GenBody g = {.u = u};
  bool ok = ga && go;
  if (!ok) perr(ps, "out of memory");
  ok = ok && read_gen_attrs(u, ga) && read_ins_outs(u, "ins", go->ins, &go->n_ins) && read_ins_outs(u, "outs", go->outs, &go->n_outs);
  if (ok && lex_accept(ps, "attrs")) ok = lex_expect(ps, "=", "after attrs") && lex_peek(ps, "{") && skip_balanced(ps);
  if (ok && ga->n_maps != go->n_ins + go->n_outs)
    ok = perr_at(ps, o->at, "linalg.generic has %d indexing maps for %d operands", ga->n_maps, go->n_ins + go->n_outs);
  DType arg_dt[BODY_MAX_ARGS];
  int *yields = ok ? arena_alloc(&u->m->arena, sizeof(int) * (size_t)(go->n_outs + 1)) : NULL;
  if (ok && !yields) ok = perr(ps, "out of memory");
  for (int i = 0; ok && i < go->n_ins + go->n_outs; i++)
    arg_dt[i] = (i < go->n_ins ? go->ins[i] : go->outs[i - go->n_ins])->type.dtype;
  ok = ok && parse_body(&g, arg_dt, go->n_ins + go->n_outs, yields, go->n_outs);
  ok = ok && lex_expect(ps, "->", "before the result types");
  if (ok && !lex_accept(ps, "(")) {
    ok = lex_tensor_type(ps, &go->res[go->n_res++]);
  } else if (ok) {
    do ok = go->n_res < UP_MAX_RESULTS && lex_tensor_type(ps, &go->res[go->n_res++]);
    while (ok && lex_accept(ps, ","));
    ok = ok && lex_expect(ps, ")", "to end the result types");
  }
  if (ok && go->n_res != go->n_outs) ok = perr_at(ps, o->at, "linalg.generic has %d results for %d outs", go->n_res, go->n_outs);
  for (int k = 0; ok && k < go->n_outs; k++)
    if (!type_equal(&go->res[k], &go->outs[k]->type)) ok = perr_at(ps, o->at, "result %d type differs from its outs operand", k);
  Value *res[UP_MAX_RESULTS];
  UVal *vals[UP_MAX_RESULTS];
  ok = ok && build(u, o, ga, go, &g, yields, res);
  for (int k = 0; ok && k < go->n_outs; k++) ok = (vals[k] = up_tensor_val(u, res[k])) != NULL;
  ok = ok && up_define(u, o, vals, go->n_outs);
  free(ga);
  free(go);
  return ok;
}
