/* parser_body.c — the scalar body of a kiln.generic: a region whose block arguments
 * are one element per input then one per output, followed by pretty arith/math ops
 * (signless integer types; `{kiln.unsigned}` marks ui8 results) and the terminator
 * "kiln.yield". Each instruction is checked against what printer.c would print for it
 * (op name from body.def / the cast table, predicate spelling, operand and result
 * types), so accepted text reprints identically. Bodies are capped at TEXT_MAX_INSTS
 * instructions; names are local to the body. */
#include <string.h>

#include "text.h"

enum { TEXT_MAX_INSTS = 4096 };

typedef struct BodyParse {
  Parser *ps;
  Body *b;
  int cap;
  const char **names;  /* inst -> SSA name (without '%') */
} BodyParse;

static bool lex_ssa(Parser *ps, char *buf, size_t n) {
  lex_skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != '%') return perr(ps, "expected SSA value name");
  ps->p++;
  if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    size_t k = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9' && k + 1 < n) buf[k++] = *ps->p++;
    buf[k] = 0;
    return true;
  }
  return lex_ident(ps, buf, n) || perr(ps, "expected SSA value name");
}

static int find_name(BodyParse *bp, const char *name) {
  for (int i = bp->b->n_insts - 1; i >= 0; i--)
    if (bp->names[i] && strcmp(bp->names[i], name) == 0) return i;
  return -1;
}

static BodyInst *add_inst(BodyParse *bp, const char *name, const char *at) {
  Parser *ps = bp->ps;
  if (name && find_name(bp, name) >= 0) {
    perr_at(ps, at, "redefinition of value '%%%s'", name);
    return NULL;
  }
  if (bp->b->n_insts == TEXT_MAX_INSTS) {
    perr_at(ps, at, "generic body has more than %d instructions", TEXT_MAX_INSTS);
    return NULL;
  }
  if (bp->b->n_insts == bp->cap) {
    int cap = bp->cap ? bp->cap * 2 : 16;
    bp->b->insts = arena_grow(&ps->m->arena, bp->b->insts, (size_t)bp->cap, (size_t)cap, sizeof(BodyInst));
    bp->names = arena_grow(&ps->m->arena, bp->names, (size_t)bp->cap, (size_t)cap, sizeof(char *));
    if (!bp->b->insts || !bp->names) {
      perr(ps, "out of memory");
      return NULL;
    }
    bp->cap = cap;
  }
  bp->names[bp->b->n_insts] = name ? arena_strdup(&ps->m->arena, name) : NULL;
  return &bp->b->insts[bp->b->n_insts++];
}

static bool parse_use(BodyParse *bp, int *idx) {
  char name[128];
  const char *at = (lex_skip_ws(bp->ps), bp->ps->p);
  if (!lex_ssa(bp->ps, name, sizeof name)) return false;
  *idx = find_name(bp, name);
  return *idx >= 0 || perr_at(bp->ps, at, "use of undefined value '%%%s'", name);
}

static bool parse_block_args(BodyParse *bp, const DType *arg_dt, int n_args) {
  Parser *ps = bp->ps;
  if (!lex_expect(ps, "^bb0", "to start generic body")) return false;
  int n = 0;
  if (lex_accept(ps, "(") && !lex_accept(ps, ")")) {
    do {
      char name[128];
      const char *at = (lex_skip_ws(ps), ps->p);
      DType dt;
      if (!lex_ssa(ps, name, sizeof name) || !lex_expect(ps, ":", "after block argument")) return false;
      const char *tat = (lex_skip_ws(ps), ps->p);
      if (!lex_dtype(ps, &dt, true)) return false;
      if (n >= n_args) return perr_at(ps, at, "generic body has more block arguments than operands and results (%d)", n_args);
      if (strcmp(dtype_name(dt), text_body_type(arg_dt[n])))
        return perr_at(ps, tat, "block argument %d has type %s, expected %s", n, dtype_name(dt), text_body_type(arg_dt[n]));
      BodyInst *bi = add_inst(bp, name, at);
      if (!bi) return false;
      *bi = (BodyInst){.kind = BODY_ARG, .dtype = arg_dt[n], .imm_i = n};
      n++;
    } while (lex_accept(ps, ","));
    if (!lex_expect(ps, ")", "to end block arguments")) return false;
  }
  if (n != n_args) return perr(ps, "generic body has %d block arguments, expected %d (inputs, then outputs)", n, n_args);
  return lex_expect(ps, ":", "after block label");
}

/* The body.def kind whose spelling is `name` (CAST and CMP by family). */
static int kind_of(const char *name) {
  static const char *const casts[] = {"arith.extf", "arith.truncf", "arith.fptosi", "arith.fptoui",
                                      "arith.sitofp", "arith.uitofp", "arith.extsi", "arith.extui",
                                      "arith.trunci", "kiln.cast"};
  for (size_t i = 0; i < ARRAY_LEN(casts); i++)
    if (strcmp(name, casts[i]) == 0) return BODY_CAST;
  if (!strcmp(name, "arith.cmpf") || !strcmp(name, "arith.cmpi")) return BODY_CMP;
  if (!strcmp(name, "arith.divui")) return BODY_DIV; /* ui8 forms (text_body_op_name) */
  if (!strcmp(name, "arith.maxui")) return BODY_MAX;
  if (!strcmp(name, "arith.minui")) return BODY_MIN;
  for (int k = BODY_CONST; k < BODY_COUNT; k++) {
    const char *f = body_op_name((BodyOpKind)k, KILN_F32), *i = body_op_name((BodyOpKind)k, KILN_I32);
    if (k != BODY_YIELD && ((f && !strcmp(f, name)) || (i && !strcmp(i, name)))) return k;
  }
  return -1;
}

/* `{kiln.unsigned}` then `: T`: the result dtype (ui8 when marked). */
static bool parse_unsigned(Parser *ps, bool *uns) {
  *uns = false;
  if (!lex_accept(ps, "{")) return true;
  if (!lex_expect(ps, "kiln.unsigned", "(the only attribute of body ops)") || !lex_expect(ps, "}", "after kiln.unsigned"))
    return false;
  *uns = true;
  return true;
}

static bool result_dtype(Parser *ps, bool uns, DType *dt) {
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_dtype(ps, dt, true)) return false;
  if (uns && *dt != KILN_I8) return perr_at(ps, at, "{kiln.unsigned} only applies to i8");
  if (uns) *dt = KILN_U8;
  return true;
}

static bool check_type(BodyParse *bp, int idx, DType want, const char *at) {
  DType have = bp->b->insts[idx].dtype;
  if (!strcmp(text_body_type(have), text_body_type(want))) return true;
  return perr_at(bp->ps, at, "operand '%%%s' has type %s, expected %s", bp->names[idx],
                 text_body_type(have), text_body_type(want));
}

static bool parse_const(BodyParse *bp, BodyInst *bi) {
  Parser *ps = bp->ps;
  bool uns;
  if (!parse_unsigned(ps, &uns)) return false;
  const char *lit = (lex_skip_ws(ps), ps->p), *colon = lit;
  double f = 0;
  int64_t i = 0;
  while (colon < ps->end && *colon != ':' && *colon != '\n') colon++;
  ps->p = colon;
  if (!lex_expect(ps, ":", "after constant value") || !result_dtype(ps, uns, &bi->dtype)) return false;
  const char *after = ps->p;
  ps->p = lit;
  if (dtype_is_float(bi->dtype)) {
    if (!lex_float(ps, &f, bi->dtype)) return false;
    bi->imm = bi->dtype == KILN_F32 ? (double)(float)f
            : bi->dtype == KILN_F16 ? f16_to_f32(f32_to_f16((float)f)) : bf16_to_f32(f32_to_bf16((float)f));
  } else {
    if (!lex_int(ps, &i)) return false;
    int bits = bi->dtype == KILN_BOOL ? 1 : (int)dtype_size(bi->dtype) * 8;
    if (bits < 64 && (i < -((int64_t)1 << (bits - 1)) || i >= ((int64_t)1 << bits)))
      return perr_at(ps, lit, "integer constant %lld does not fit %s", (long long)i, dtype_name(bi->dtype));
    bi->imm_i = i;
  }
  lex_skip_ws(ps);
  if (ps->p != colon) return perr(ps, "unexpected text after constant value");
  ps->p = after;
  return true;
}

/* Operands (and CMP predicate) of an op in pretty form, then its types. */
static bool parse_pretty(BodyParse *bp, BodyInst *bi, const char *opname, const char *opat) {
  Parser *ps = bp->ps;
  char pred[16] = "";
  const char *pat = NULL;
  if (bi->kind == BODY_CMP) {
    pat = (lex_skip_ws(ps), ps->p);
    if (!lex_ident(ps, pred, sizeof pred) || !lex_expect(ps, ",", "after comparison predicate"))
      return perr_at(ps, pat, "expected comparison predicate");
  }
  int want = body_op_n_args(bi->kind);
  const char *aat[3];
  for (int k = 0; k < want; k++) {
    if (k && !lex_expect(ps, ",", "between operands")) return false;
    aat[k] = (lex_skip_ws(ps), ps->p);
    if (!parse_use(bp, &bi->args[k])) return false;
  }
  bi->n_args = want;
  bool uns;
  if (!parse_unsigned(ps, &uns) || !lex_expect(ps, ":", "before type")) return false;
  const char *tat = (lex_skip_ws(ps), ps->p);
  DType adt = bp->b->insts[bi->args[0]].dtype, t;
  if (bi->kind == BODY_CAST) {
    DType from;
    if (!lex_dtype(ps, &from, true) || !check_type(bp, bi->args[0], from, aat[0])) return false;
    if (!lex_expect(ps, "to", "in cast") || !result_dtype(ps, uns, &bi->dtype)) return false;
  } else {
    if (!result_dtype(ps, uns, &t)) return false;
    bi->dtype = bi->kind == BODY_CMP ? KILN_BOOL : t;
    for (int k = bi->kind == BODY_SELECT ? 1 : 0; k < want; k++)
      if (!check_type(bp, bi->args[k], t, aat[k])) return false;
    if (bi->kind == BODY_SELECT && !check_type(bp, bi->args[0], KILN_BOOL, aat[0])) return false;
    if (bi->kind == BODY_SELECT) adt = t;
  }
  (void)tat;
  if (bi->kind == BODY_CMP) {
    int p = 0;
    while (p < 6 && strcmp(text_cmp_name((CmpPred)p, adt), pred)) p++;
    if (p == 6) return perr_at(ps, pat, "unknown predicate '%s' for %s", pred, opname);
    bi->pred = (CmpPred)p;
  }
  const char *exp = text_body_op_name(bi, adt);
  if (!exp || strcmp(exp, opname))
    return perr_at(ps, opat, "'%s' does not match its types (expected '%s')", opname, exp ? exp : "nothing: not defined for this type");
  return true;
}

/* `"kiln.cast"(%x) [{kiln.unsigned}] : (A) -> B` */
static bool parse_generic_cast(BodyParse *bp, BodyInst *bi, const char *opat) {
  Parser *ps = bp->ps;
  bi->kind = BODY_CAST;
  bi->n_args = 1;
  bool uns;
  DType from;
  const char *aat = (lex_skip_ws(ps), ps->p);
  if (!lex_expect(ps, "(", "after \"kiln.cast\"") || !parse_use(bp, &bi->args[0]) || !lex_expect(ps, ")", "after cast operand"))
    return false;
  if (!parse_unsigned(ps, &uns) || !lex_expect(ps, ":", "before type") || !lex_expect(ps, "(", "in function type"))
    return false;
  if (!lex_dtype(ps, &from, true) || !check_type(bp, bi->args[0], from, aat)) return false;
  if (!lex_expect(ps, ")", "in function type") || !lex_expect(ps, "->", "in function type") || !result_dtype(ps, uns, &bi->dtype))
    return false;
  const char *exp = text_body_op_name(bi, bp->b->insts[bi->args[0]].dtype);
  if (strcmp(exp, "kiln.cast")) return perr_at(ps, opat, "\"kiln.cast\" between these types must be spelled '%s'", exp);
  return true;
}

static bool parse_inst(BodyParse *bp) {
  Parser *ps = bp->ps;
  char name[128], opname[64];
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_ssa(ps, name, sizeof name) || !lex_expect(ps, "=", "after result name")) return false;
  const char *opat = (lex_skip_ws(ps), ps->p);
  BodyInst tmp = {0};
  if (lex_accept(ps, "\"kiln.cast\"")) {
    if (!parse_generic_cast(bp, &tmp, opat)) return false;
  } else {
    if (!lex_ident(ps, opname, sizeof opname)) return perr(ps, "expected body operation name");
    int k = kind_of(opname);
    if (k < 0 || k == BODY_ARG) return perr_at(ps, opat, "unknown body operation '%s'", opname);
    tmp.kind = (BodyOpKind)k;
    if (k == BODY_CONST ? !parse_const(bp, &tmp) : !parse_pretty(bp, &tmp, opname, opat)) return false;
  }
  BodyInst *bi = add_inst(bp, name, at);
  if (!bi) return false;
  *bi = tmp;
  return true;
}

static bool parse_yield(BodyParse *bp, const DType *res_dt, int n_res) {
  Parser *ps = bp->ps;
  const char *at = ps->p;
  int n = 0;
  int *ys = arena_alloc(&ps->m->arena, sizeof(int) * (size_t)(n_res + 1));
  const char *yat[KILN_MAX_OPERANDS + 1];
  if (!ys) return perr(ps, "out of memory");
  if (!lex_expect(ps, "(", "after \"kiln.yield\"")) return false;
  if (!lex_accept(ps, ")")) {
    do {
      yat[n < KILN_MAX_OPERANDS ? n : KILN_MAX_OPERANDS] = (lex_skip_ws(ps), ps->p);
      if (n >= n_res) return perr(ps, "\"kiln.yield\" yields more values than the generic has results (%d)", n_res);
      if (!parse_use(bp, &ys[n++])) return false;
    } while (lex_accept(ps, ","));
    if (!lex_expect(ps, ")", "after yielded values")) return false;
  }
  if (n != n_res) return perr_at(ps, at, "\"kiln.yield\" yields %d values, expected %d", n, n_res);
  if (!lex_expect(ps, ":", "after \"kiln.yield\" operands") || !lex_expect(ps, "(", "in function type")) return false;
  for (int k = 0; k < n; k++) {
    DType t;
    if ((k && !lex_expect(ps, ",", "between types")) || !lex_dtype(ps, &t, true)) return false;
    if (strcmp(dtype_name(t), text_body_type(res_dt[k])))
      return perr(ps, "yielded value %d has type %s, expected %s", k, dtype_name(t), text_body_type(res_dt[k]));
    if (!check_type(bp, ys[k], t, yat[k < KILN_MAX_OPERANDS ? k : KILN_MAX_OPERANDS])) return false;
  }
  bp->b->yields = ys;
  bp->b->n_yield = n;
  return lex_expect(ps, ")", "in function type") && lex_expect(ps, "->", "in function type") &&
         lex_expect(ps, "()", "(\"kiln.yield\" has no results)");
}

bool parse_generic_body(Parser *ps, Body *body, const DType *arg_dt, int n_args,
                        const DType *res_dt, int n_res) {
  BodyParse bp = {.ps = ps, .b = body};
  memset(body, 0, sizeof *body);
  if (!lex_expect(ps, "(", "to start region") || !lex_expect(ps, "{", "to start region")) return false;
  if (!parse_block_args(&bp, arg_dt, n_args)) return false;
  while (!lex_accept(ps, "\"kiln.yield\"")) {
    if (ps->failed || ps->p >= ps->end) return lex_expect(ps, "\"kiln.yield\"", "to end generic body");
    if (!lex_peek(ps, "%")) return perr(ps, "expected body operation or \"kiln.yield\"");
    if (!parse_inst(&bp)) return false;
  }
  if (!parse_yield(&bp, res_dt, n_res)) return false;
  return lex_expect(ps, "}", "to end region") && lex_expect(ps, ")", "to end region");
}
