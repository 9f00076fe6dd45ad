/* printer.c — writes a Module as MLIR text that `mlir-opt-16 --allow-unregistered-dialect`
 * parses and verifies, and that parser*.c reads back byte-identically.
 *
 * kiln.* ops print in MLIR's generic form ("kiln.conv_2d"(%a, %b) {attrs} : (..) -> ..)
 * with every attribute their ops.def mask names plus kiln.name. Generic bodies print as a
 * region of pretty arith/math ops (signless integers; ui8 results carry {kiln.unsigned})
 * ended by "kiln.yield" — mlir-opt rejects linalg.yield outside a linalg op. Dispatch
 * regions print their Func as the region's block. Values are renumbered in print order
 * (%argN for function and region arguments, %N for results, %inN/%outN/%bN in bodies),
 * so the output is deterministic. Constants with more than elide_above elements print
 * as dense_resource<key>; emit_resources appends their bytes in MLIR's hex blob form. */
#include <math.h>
#include <string.h>

#include "text.h"

const char *const text_layout_names[2] = {"nchw", "nhwc"};
const char *const text_pool_names[2] = {"max", "avg"};
const char *const text_pad_names[3] = {"constant", "reflect", "edge"};
const char *const text_resize_names[2] = {"nearest", "linear"};
const char *const text_coord_names[4] = {"half_pixel", "align_corners", "asymmetric",
                                         "pytorch_half_pixel"};
const char *const text_nearest_names[4] = {"round_prefer_floor", "round_prefer_ceil",
                                           "floor", "ceil"};
const char *const text_iter_names[2] = {"parallel", "reduction"};

/* ---- spellings ---------------------------------------------------------- */

const char *text_body_type(DType t) { return t == KILN_U8 ? "i8" : dtype_name(t); }

static int dtype_bits(DType t) { return t == KILN_BOOL ? 1 : (int)dtype_size(t) * 8; }

static const char *cast_name(DType from, DType to) {
  bool ff = dtype_is_float(from), ft = dtype_is_float(to);
  int bf = dtype_bits(from), bt = dtype_bits(to);
  if (ff && ft) return bt > bf ? "arith.extf" : bt < bf ? "arith.truncf" : "kiln.cast";
  if (ff) return dtype_is_unsigned(to) ? "arith.fptoui" : "arith.fptosi";
  if (ft) return dtype_is_unsigned(from) ? "arith.uitofp" : "arith.sitofp";
  if (bt > bf) return dtype_is_unsigned(from) ? "arith.extui" : "arith.extsi";
  return bt < bf ? "arith.trunci" : "kiln.cast";
}

const char *text_body_op_name(const BodyInst *bi, DType arg_dt) {
  if (bi->kind == BODY_CAST) return cast_name(arg_dt, bi->dtype);
  if (bi->kind == BODY_CMP) return dtype_is_float(arg_dt) ? "arith.cmpf" : "arith.cmpi";
  if (bi->dtype == KILN_U8) { /* signless i8 in MLIR: the unsigned forms keep the meaning */
    if (bi->kind == BODY_DIV) return "arith.divui";
    if (bi->kind == BODY_MAX) return "arith.maxui";
    if (bi->kind == BODY_MIN) return "arith.minui";
  }
  return body_op_name(bi->kind, bi->dtype);
}

const char *text_cmp_name(CmpPred p, DType dt) {
  static const char *const f[] = {"oeq", "une", "olt", "ole", "ogt", "oge"};
  static const char *const s[] = {"eq", "ne", "slt", "sle", "sgt", "sge"};
  static const char *const u[] = {"eq", "ne", "ult", "ule", "ugt", "uge"};
  KILN_ASSERT((unsigned)p < 6);
  return dtype_is_float(dt) ? f[p] : dtype_is_unsigned(dt) ? u[p] : s[p];
}

/* ---- numbers ------------------------------------------------------------ */

static bool same_as(double a, double b, DType as) {
  if (as == KILN_F32) return (float)a == (float)b;
  if (as == KILN_F16) return f32_to_f16((float)a) == f32_to_f16((float)b);
  if (as == KILN_BF16) return f32_to_bf16((float)a) == f32_to_bf16((float)b);
  return a == b;
}

static void fmt_hex(char *buf, size_t n, double x, DType as) {
  if (as == KILN_F32) {
    float f = (float)x;
    uint32_t u;
    memcpy(&u, &f, 4);
    snprintf(buf, n, "0x%08X", (unsigned)u);
  } else if (as == KILN_F16 || as == KILN_BF16) {
    uint16_t h = as == KILN_F16 ? f32_to_f16((float)x) : f32_to_bf16((float)x);
    snprintf(buf, n, "0x%04X", (unsigned)h);
  } else {
    uint64_t u;
    memcpy(&u, &x, 8);
    snprintf(buf, n, "0x%016llX", (unsigned long long)u);
  }
}

void text_fmt_float(char *buf, size_t n, double x, DType as) {
  bool narrow = as == KILN_F32 || as == KILN_F16 || as == KILN_BF16;
  double r = narrow ? (double)(float)x : x;
  if (as == KILN_F16) r = f16_to_f32(f32_to_f16((float)x));
  if (as == KILN_BF16) r = bf16_to_f32(f32_to_bf16((float)x));
  if (!isfinite(r)) {
    fmt_hex(buf, n, x, narrow ? as : KILN_DTYPE_COUNT);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*e", prec, r);
    if (same_as(strtod(buf, NULL), r, narrow ? as : KILN_DTYPE_COUNT)) return;
  }
}

void text_fmt_f64(char *buf, size_t n, double x) {
  text_fmt_float(buf, n, x, KILN_DTYPE_COUNT);
}

bool text_is_ident(const char *s) {
  if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) return false;
  for (; *s; s++)
    if (!(*s == '_' || *s == '.' || *s == '$' || (*s >= 'a' && *s <= 'z') ||
          (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
      return false;
  return true;
}

/* ---- printer state ------------------------------------------------------ */

typedef struct Printer {
  FILE *out;
  PrintOptions opt;
  const Module *m;
  int *num;          /* Value.id -> printed number (-1 unseen) */
  bool *is_arg;      /* Value.id -> printed as %argN */
  int next_num, next_arg;
  char **keys;       /* const index -> dense_resource key, or NULL */
  bool *elided;      /* const index -> printed as dense_resource */
  int *order;        /* const indices in the order their keys were made (first use) */
  int n_order;
} Printer;

static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
    else if (*c < 0x20 || *c >= 0x7f) fprintf(out, "\\%02X", *c);
    else fputc(*c, out);
  }
  fputc('"', out);
}

static void print_value(Printer *pr, const Value *v) {
  if (v->id < 0 || v->id >= pr->m->next_value_id || pr->num[v->id] < 0) {
    fprintf(pr->out, "%%undef%d", v->id);
  } else if (pr->is_arg[v->id]) {
    fprintf(pr->out, "%%arg%d", pr->num[v->id]);
  } else {
    fprintf(pr->out, "%%%d", pr->num[v->id]);
    if (v->def && v->def->n_out > 1) fprintf(pr->out, "#%d", v->def_index);
  }
}

static void print_type(Printer *pr, const TensorType *t) {
  char buf[256];
  fputs(type_str(t, buf, sizeof buf), pr->out);
}

static void print_values(Printer *pr, Value *const *vals, int n) {
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", pr->out);
    print_value(pr, vals[i]);
  }
}

static void print_types(Printer *pr, Value *const *vals, int n, bool parens) {
  if (parens) fputc('(', pr->out);
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", pr->out);
    print_type(pr, &vals[i]->type);
  }
  if (parens) fputc(')', pr->out);
}

static void indent(Printer *pr, int level) {
  for (int i = 0; i < level; i++) fputs("  ", pr->out);
}

static void bind_arg(Printer *pr, const Value *v) {
  pr->num[v->id] = pr->next_arg++;
  pr->is_arg[v->id] = true;
}

static void print_op(Printer *pr, const Op *op, int level);

static void print_func_body(Printer *pr, const Func *f, int level) {
  for (const Op *op = f->first; op; op = op->next) print_op(pr, op, level);
}

static void print_signature(Printer *pr, const Func *f) {
  fputs("func.func @", pr->out);
  if (text_is_ident(f->name)) fputs(f->name, pr->out);
  else print_string(pr->out, f->name ? f->name : "main");
  fputc('(', pr->out);
  for (int i = 0; i < f->n_args; i++) {
    if (i) fputs(", ", pr->out);
    bind_arg(pr, f->args[i]);
    print_value(pr, f->args[i]);
    fputs(": ", pr->out);
    print_type(pr, &f->args[i]->type);
    if (f->arg_names && f->arg_names[i]) {
      fputs(" {kiln.name = ", pr->out);
      print_string(pr->out, f->arg_names[i]);
      fputc('}', pr->out);
    }
  }
  fputc(')', pr->out);
  if (f->n_results == 0) return;
  fputs(" -> (", pr->out);
  for (int i = 0; i < f->n_results; i++) {
    if (i) fputs(", ", pr->out);
    print_type(pr, &f->results[i]->type);
    if (f->result_names && f->result_names[i]) {
      fputs(" {kiln.name = ", pr->out);
      print_string(pr->out, f->result_names[i]);
      fputc('}', pr->out);
    }
  }
  fputc(')', pr->out);
}

static void print_return(Printer *pr, const Func *f) {
  indent(pr, 2);
  fputs("return", pr->out);
  if (f->n_results) {
    fputc(' ', pr->out);
    print_values(pr, f->results, f->n_results);
    fputs(" : ", pr->out);
    print_types(pr, f->results, f->n_results, false);
  }
  fputc('\n', pr->out);
}

/* Blobs in first-use order, the order a parsed module creates its constants in, so
 * print -> parse -> print is identical even after passes appended constants. */
static void print_resources(Printer *pr) {
  bool any = false;
  for (int k = 0; k < pr->n_order; k++) {
    int i = pr->order[k];
    const Constant *c = &pr->m->consts[i];
    if (!pr->keys[i] || !c->data) continue;
    fputs(any ? ",\n" : "\n{-#\n  dialect_resources: {\n    builtin: {\n", pr->out);
    any = true;
    fprintf(pr->out, "      %s: \"0x%02X000000", pr->keys[i], (unsigned)dtype_size(c->type.dtype));
    for (size_t b = 0; b < c->nbytes; b++)
      fprintf(pr->out, "%02X", ((const unsigned char *)c->data)[b]);
    fputc('"', pr->out);
  }
  if (any) fputs("\n    }\n  }\n#-}\n", pr->out);
}

void module_print(const Module *m, FILE *out, const PrintOptions *opt) {
  Printer pr = {.out = out, .m = m, .opt = {.elide_above = 16, .emit_resources = false}};
  if (opt) pr.opt = *opt;
  size_t nv = (size_t)(m->next_value_id > 0 ? m->next_value_id : 1);
  size_t nc = (size_t)(m->n_consts > 0 ? m->n_consts : 1);
  pr.num = malloc(nv * sizeof(int));
  pr.is_arg = calloc(nv, sizeof(bool));
  pr.keys = calloc(nc, sizeof(char *));
  pr.elided = calloc(nc, sizeof(bool));
  pr.order = calloc(nc, sizeof(int));
  KILN_ASSERT(pr.num && pr.is_arg && pr.keys && pr.elided && pr.order);
  for (size_t i = 0; i < nv; i++) pr.num[i] = -1;
  fputs("module {\n", out);
  if (m->main) {
    indent(&pr, 1);
    print_signature(&pr, m->main);
    fputs(" {\n", out);
    print_func_body(&pr, m->main, 2);
    print_return(&pr, m->main);
    indent(&pr, 1);
    fputs("}\n", out);
  }
  fputs("}\n", out);
  if (pr.opt.emit_resources) print_resources(&pr);
  for (size_t i = 0; i < nc; i++) free(pr.keys[i]);
  free(pr.num);
  free(pr.is_arg);
  free(pr.keys);
  free(pr.elided);
  free(pr.order);
}

/* ---- constants ---------------------------------------------------------- */

static bool is_alpha(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A bare MLIR identifier from the constant's name, unique among the keys printed. */
static char *make_key(Printer *pr, int ci) {
  const char *name = pr->m->consts[ci].name ? pr->m->consts[ci].name : "cst";
  size_t n = strlen(name);
  char *key = malloc(n + 24);
  KILN_ASSERT(key);
  size_t k = 0;
  if (!is_alpha(name[0])) key[k++] = '_';
  for (const char *c = name; *c; c++)
    key[k++] = is_alpha(*c) || *c == '.' || (*c >= '0' && *c <= '9') ? *c : '_';
  key[k] = 0;
  for (int suffix = 1;; suffix++) {
    bool clash = false;
    for (int i = 0; i < pr->m->n_consts && !clash; i++)
      clash = pr->keys[i] && strcmp(pr->keys[i], key) == 0;
    if (!clash) return key;
    snprintf(key + k, 24, "_%d", suffix);
  }
}

static void print_elem(Printer *pr, const Constant *c, int64_t i) {
  const unsigned char *p = (const unsigned char *)c->data + (size_t)i * dtype_size(c->type.dtype);
  char buf[48];
  float f;
  uint16_t h;
  int32_t i32;
  int64_t i64;
  switch (c->type.dtype) {
  case KILN_F32: memcpy(&f, p, 4); text_fmt_float(buf, sizeof buf, f, KILN_F32); break;
  case KILN_F16: memcpy(&h, p, 2); text_fmt_float(buf, sizeof buf, f16_to_f32(h), KILN_F16); break;
  case KILN_BF16: memcpy(&h, p, 2); text_fmt_float(buf, sizeof buf, bf16_to_f32(h), KILN_BF16); break;
  case KILN_I8: snprintf(buf, sizeof buf, "%d", (int)(int8_t)*p); break;
  case KILN_U8: snprintf(buf, sizeof buf, "%u", (unsigned)*p); break;
  case KILN_BOOL: snprintf(buf, sizeof buf, "%s", *p ? "true" : "false"); break;
  case KILN_I32: memcpy(&i32, p, 4); snprintf(buf, sizeof buf, "%d", (int)i32); break;
  case KILN_I64: memcpy(&i64, p, 8); snprintf(buf, sizeof buf, "%lld", (long long)i64); break;
  default: kiln_unreachable();
  }
  fputs(buf, pr->out);
}

static bool is_splat(const Constant *c, int64_t numel) {
  size_t es = dtype_size(c->type.dtype);
  for (int64_t i = 1; i < numel; i++)
    if (memcmp((const char *)c->data + (size_t)i * es, c->data, es)) return false;
  return true;
}

/* dense<...> with one bracket level per dim, like MLIR. */
static void print_dense(Printer *pr, const Constant *c, int64_t numel) {
  fputs("dense<", pr->out);
  if (numel > 0 && is_splat(c, numel)) {
    print_elem(pr, c, 0);
  } else if (numel > 0) {
    const TensorType *t = &c->type;
    for (int64_t i = 0; i < numel; i++) {
      int64_t stride = 1;
      int open = 0, close = 0;
      for (int d = t->rank - 1; d >= 0; d--) {
        stride *= t->dims[d];
        open += i % stride == 0;
        close += (i + 1) % stride == 0;
      }
      if (i) fputs(", ", pr->out);
      for (int k = 0; k < open; k++) fputc('[', pr->out);
      print_elem(pr, c, i);
      for (int k = 0; k < close; k++) fputc(']', pr->out);
    }
  }
  fputs("> : ", pr->out);
  print_type(pr, &c->type);
}

static void print_const_value(Printer *pr, const Op *op) {
  int ci = op->attrs.const_index;
  KILN_ASSERT(ci >= 0 && ci < pr->m->n_consts);
  const Constant *c = &pr->m->consts[ci];
  int64_t numel = type_numel(&c->type);
  fputs("value = ", pr->out);
  if (c->data && numel >= 0 && (pr->opt.elide_above < 0 || numel <= pr->opt.elide_above)) {
    print_dense(pr, c, numel);
    return;
  }
  if (!pr->keys[ci]) {
    pr->keys[ci] = make_key(pr, ci);
    pr->order[pr->n_order++] = ci;
  }
  fprintf(pr->out, "dense_resource<%s> : ", pr->keys[ci]);
  print_type(pr, &c->type);
}

/* ---- attributes --------------------------------------------------------- */

static void attr_i64s(Printer *pr, const char *name, const int64_t *v, int n) {
  fprintf(pr->out, ", %s = array<i64", name);
  for (int i = 0; i < n; i++) fprintf(pr->out, "%s%lld", i ? ", " : ": ", (long long)v[i]);
  fputc('>', pr->out);
}

static void attr_str(Printer *pr, const char *name, const char *const *tab, int n, int v) {
  KILN_ASSERT(v >= 0 && v < n);
  fprintf(pr->out, ", %s = \"%s\"", name, tab[v]);
}

static void attr_f64(Printer *pr, const char *name, double v) {
  char buf[48];
  text_fmt_f64(buf, sizeof buf, v);
  fprintf(pr->out, ", %s = %s : f64", name, buf);
}

static void print_affine_expr(Printer *pr, const AffineExpr *e, int n_loops) {
  bool any = false;
  for (int d = 0; d < n_loops; d++) {
    if (!e->coef[d]) continue;
    fprintf(pr->out, "%sd%d", any ? " + " : "", d);
    if (e->coef[d] != 1) fprintf(pr->out, " * %lld", (long long)e->coef[d]);
    any = true;
  }
  if (e->cst || !any) fprintf(pr->out, "%s%lld", any ? " + " : "", (long long)e->cst);
}

static void print_affine_map(Printer *pr, const AffineMap *m, int n_loops) {
  fputs("affine_map<(", pr->out);
  for (int d = 0; d < n_loops; d++) fprintf(pr->out, "%sd%d", d ? ", " : "", d);
  fputs(") -> (", pr->out);
  for (int r = 0; r < m->n_results; r++) {
    if (r) fputs(", ", pr->out);
    print_affine_expr(pr, &m->results[r], n_loops);
  }
  fputs(")>", pr->out);
}

static void print_generic_attrs(Printer *pr, const Op *op) {
  const OpAttrs *a = &op->attrs;
  fputs(", indexing_maps = [", pr->out);
  for (int k = 0; k < a->n_maps; k++) {
    if (k) fputs(", ", pr->out);
    print_affine_map(pr, &a->maps[k], a->n_loops);
  }
  fputs("], iterator_types = [", pr->out);
  bool reduce = false;
  for (int d = 0; d < a->n_loops; d++) {
    fprintf(pr->out, "%s\"%s\"", d ? ", " : "", text_iter_names[a->iterators[d]]);
    reduce |= a->iterators[d] == ITER_REDUCTION;
  }
  fputc(']', pr->out);
  if (!reduce && !a->init) return;
  fputs(", init = [", pr->out);
  for (int k = 0; k < op->n_out; k++) {
    char buf[48];
    text_fmt_f64(buf, sizeof buf, a->init ? a->init[k] : 0.0);
    /* in a list, MLIR reads untyped hex as an integer */
    fprintf(pr->out, "%s%s%s", k ? ", " : "", buf, buf[1] == 'x' ? " : f64" : "");
  }
  fputc(']', pr->out);
}

static void print_attrs(Printer *pr, const Op *op) {
  unsigned mask = op_kind_attrs(op->kind);
  const OpAttrs *a = &op->attrs;
  int rank = op->n_in > 0 ? op->in[0]->type.rank : 0;
  fputs(" {", pr->out);
  if (mask & A_CONST) {
    print_const_value(pr, op);
    fputs(", ", pr->out);
  }
  fputs("kiln.name = ", pr->out);
  print_string(pr->out, op->name ? op->name : "");
  if (mask & A_CONST) {
    const char *cn = pr->m->consts[a->const_index].name;
    if (cn && (!op->name || strcmp(cn, op->name))) {
      fputs(", kiln.const = ", pr->out);
      print_string(pr->out, cn);
    }
  }
  if (mask & A_GENERIC) print_generic_attrs(pr, op);
  if (mask & A_CONV) {
    attr_i64s(pr, "kernel", a->kernel, 2);
    attr_i64s(pr, "strides", a->strides, 2);
    attr_i64s(pr, "dilations", a->dilations, 2);
    attr_i64s(pr, "pads", a->pads, 4);
  }
  if (mask & A_LAYOUT) attr_str(pr, "layout", text_layout_names, 2, a->layout);
  if (mask & A_GROUPS) fprintf(pr->out, ", groups = %lld : i64", (long long)a->groups);
  if (mask & A_OUTPAD) attr_i64s(pr, "output_padding", a->output_padding, 2);
  if (mask & A_POOL) {
    attr_str(pr, "pool_kind", text_pool_names, 2, a->pool_kind);
    fprintf(pr->out, ", count_include_pad = %s", a->count_include_pad ? "true" : "false");
  }
  if (mask & A_RESIZE) {
    attr_str(pr, "mode", text_resize_names, 2, a->resize_mode);
    attr_str(pr, "coordinate_transformation_mode", text_coord_names, 4, a->coord_mode);
    attr_str(pr, "nearest_mode", text_nearest_names, 4, a->nearest_mode);
    attr_f64(pr, "cubic_coeff_a", a->cubic_coeff);
    fputs(", scales = array<f64", pr->out);
    for (int i = 0; i < rank; i++) {
      char buf[48];
      text_fmt_f64(buf, sizeof buf, a->scales[i]);
      fprintf(pr->out, "%s%s", i ? ", " : ": ", buf);
    }
    fputc('>', pr->out);
  }
  if (mask & A_AXIS) fprintf(pr->out, ", axis = %lld : i64", (long long)a->axis);
  if (mask & A_KEEPDIMS) fprintf(pr->out, ", keepdims = %s", a->keepdims ? "true" : "false");
  if (mask & A_SELECT_LAST)
    fprintf(pr->out, ", select_last_index = %s", a->select_last_index ? "true" : "false");
  if (mask & A_PERM) attr_i64s(pr, "perm", a->perm, rank);
  if (mask & A_PAD) {
    attr_i64s(pr, "pad_lo", a->pad_lo, rank);
    attr_i64s(pr, "pad_hi", a->pad_hi, rank);
    attr_str(pr, "pad_mode", text_pad_names, 3, a->pad_mode);
    attr_f64(pr, "pad_value", a->pad_value);
  }
  if (mask & A_REASSOC) attr_i64s(pr, "reassoc", a->reassoc, a->n_reassoc);
  if (mask & A_SLICE) {
    attr_i64s(pr, "offsets", a->offsets, rank);
    attr_i64s(pr, "steps", a->steps, rank);
  }
  fputc('}', pr->out);
}

/* ---- generic bodies ----------------------------------------------------- */

typedef struct BodyNames {
  const Op *op;
  int *num;          /* inst -> %bN number, or -1 for ARG */
} BodyNames;

static DType inst_dtype(const BodyNames *bn, int i) {
  const BodyInst *bi = &bn->op->attrs.body.insts[i];
  if (bi->kind != BODY_ARG) return bi->dtype;
  int k = (int)bi->imm_i, n_in = bn->op->n_in;
  if (k >= 0 && k < n_in) return bn->op->in[k]->type.dtype;
  if (k >= n_in && k < n_in + bn->op->n_out) return bn->op->out[k - n_in]->type.dtype;
  return bi->dtype;
}

static void print_inst_ref(Printer *pr, const BodyNames *bn, int i) {
  const Body *b = &bn->op->attrs.body;
  if (i < 0 || i >= b->n_insts) {
    fprintf(pr->out, "%%undef%d", i);
    return;
  }
  const BodyInst *bi = &b->insts[i];
  int k = (int)bi->imm_i, n_in = bn->op->n_in;
  if (bi->kind != BODY_ARG) fprintf(pr->out, "%%b%d", bn->num[i]);
  else if (k < n_in) fprintf(pr->out, "%%in%d", k);
  else fprintf(pr->out, "%%out%d", k - n_in);
}

static void print_const_inst(Printer *pr, const BodyInst *bi) {
  char buf[48];
  if (dtype_is_float(bi->dtype)) text_fmt_float(buf, sizeof buf, bi->imm, bi->dtype);
  else snprintf(buf, sizeof buf, "%lld", (long long)bi->imm_i);
  fprintf(pr->out, "arith.constant %s%s : %s", bi->dtype == KILN_U8 ? "{kiln.unsigned} " : "",
          buf, text_body_type(bi->dtype));
}

static void print_inst(Printer *pr, const BodyNames *bn, int i) {
  const BodyInst *bi = &bn->op->attrs.body.insts[i];
  DType adt = bi->n_args > 0 ? inst_dtype(bn, bi->args[0]) : bi->dtype;
  const char *name = text_body_op_name(bi, adt), *uns = bi->dtype == KILN_U8 ? " {kiln.unsigned}" : "";
  fprintf(pr->out, "%%b%d = ", bn->num[i]);
  if (bi->kind == BODY_CONST) {
    print_const_inst(pr, bi);
    return;
  }
  bool generic = strcmp(name ? name : "kiln.cast", "kiln.cast") == 0;
  fprintf(pr->out, generic ? "\"%s\"(" : "%s ", name ? name : "kiln.cast");
  if (bi->kind == BODY_CMP) fprintf(pr->out, "%s, ", text_cmp_name(bi->pred, adt));
  for (int k = 0; k < bi->n_args; k++) {
    if (k) fputs(", ", pr->out);
    print_inst_ref(pr, bn, bi->args[k]);
  }
  if (generic) {
    fprintf(pr->out, ")%s : (%s) -> %s", uns, text_body_type(adt), text_body_type(bi->dtype));
  } else if (bi->kind == BODY_CAST) {
    fprintf(pr->out, "%s : %s to %s", uns, text_body_type(adt), text_body_type(bi->dtype));
  } else {
    fprintf(pr->out, "%s : %s", uns, text_body_type(bi->kind == BODY_CMP ? adt : bi->dtype));
  }
}

static void print_body(Printer *pr, const Op *op, int level) {
  const Body *b = &op->attrs.body;
  BodyNames bn = {.op = op, .num = malloc(sizeof(int) * (size_t)(b->n_insts + 1))};
  KILN_ASSERT(bn.num);
  indent(pr, level);
  fputs("^bb0", pr->out);
  for (int k = 0; k < op->n_in + op->n_out; k++) {
    const Value *v = k < op->n_in ? op->in[k] : op->out[k - op->n_in];
    fprintf(pr->out, "%s%%%s%d: %s", k ? ", " : "(", k < op->n_in ? "in" : "out",
            k < op->n_in ? k : k - op->n_in, text_body_type(v->type.dtype));
  }
  fputs(op->n_in + op->n_out ? "):\n" : ":\n", pr->out);
  int next = 0;
  for (int i = 0; i < b->n_insts; i++) {
    bn.num[i] = b->insts[i].kind == BODY_ARG ? -1 : next++;
    if (bn.num[i] < 0) continue;
    indent(pr, level + 1);
    print_inst(pr, &bn, i);
    fputc('\n', pr->out);
  }
  indent(pr, level + 1);
  fputs("\"kiln.yield\"(", pr->out);
  for (int k = 0; k < b->n_yield; k++) {
    if (k) fputs(", ", pr->out);
    print_inst_ref(pr, &bn, b->yields[k]);
  }
  fputs(") : (", pr->out);
  for (int k = 0; k < b->n_yield; k++)
    fprintf(pr->out, "%s%s", k ? ", " : "", text_body_type(b->yields[k] >= 0 && b->yields[k] < b->n_insts ? inst_dtype(&bn, b->yields[k]) : KILN_F32));
  fputs(") -> ()\n", pr->out);
  free(bn.num);
}

/* ---- dispatch regions and ops ------------------------------------------- */

static void print_region_func(Printer *pr, const Func *f, int level) {
  indent(pr, level);
  fputs("^bb0", pr->out);
  for (int i = 0; i < f->n_args; i++) {
    fputs(i ? ", " : "(", pr->out);
    bind_arg(pr, f->args[i]);
    print_value(pr, f->args[i]);
    fputs(": ", pr->out);
    print_type(pr, &f->args[i]->type);
  }
  fputs(f->n_args ? "):\n" : ":\n", pr->out);
  print_func_body(pr, f, level + 1);
  indent(pr, level + 1);
  fputs("\"kiln.yield\"(", pr->out);
  print_values(pr, f->results, f->n_results);
  fputs(") : ", pr->out);
  print_types(pr, f->results, f->n_results, true);
  fputs(" -> ()\n", pr->out);
}

static void print_op(Printer *pr, const Op *op, int level) {
  indent(pr, level);
  if (op->n_out > 0) {
    int n = pr->next_num++;
    for (int i = 0; i < op->n_out; i++) pr->num[op->out[i]->id] = n;
    fprintf(pr->out, op->n_out > 1 ? "%%%d:%d = " : "%%%d = ", n, op->n_out);
  }
  fprintf(pr->out, "\"%s\"(", op_kind_name(op->kind));
  print_values(pr, op->in, op->n_in);
  fputc(')', pr->out);
  bool region = op->kind == KILN_OP_GENERIC || (op->kind == KILN_OP_DISPATCH && op->attrs.region);
  if (region) {
    fputs(" ({\n", pr->out);
    if (op->kind == KILN_OP_GENERIC) print_body(pr, op, level);
    else print_region_func(pr, op->attrs.region, level);
    indent(pr, level);
    fputs("})", pr->out);
  }
  print_attrs(pr, op);
  fputs(" : ", pr->out);
  print_types(pr, op->in, op->n_in, true);
  fputs(" -> ", pr->out);
  print_types(pr, op->out, op->n_out, op->n_out != 1);
  fputc('\n', pr->out);
}

/* ---- pieces shared with printer_upstream.c --------------------------------- */

void text_print_dense(FILE *out, const Constant *c) {
  Printer pr = {.out = out};
  print_dense(&pr, c, type_numel(&c->type));
}

void text_print_affine_map(FILE *out, const AffineMap *m, int n_loops) {
  Printer pr = {.out = out};
  print_affine_map(&pr, m, n_loops);
}

void text_print_kiln_attrs(FILE *out, const Module *m, const Op *op) {
  KILN_ASSERT(op->kind != KILN_OP_CONSTANT && op->kind != KILN_OP_GENERIC); /* no keys, no bodies */
  Printer pr = {.out = out, .m = m};
  print_attrs(&pr, op);
}
