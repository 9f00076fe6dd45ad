/* parser_attr.c — attribute dictionaries of Kiln's MLIR subset: strings, bools, integers
 * (`N : i64`), floats (`X : f64`, decimal or hex bits), `array<i64: ...>`,
 * `array<f64: ...>`, lists of strings / floats / affine maps, `dense<...> : tensor<...>`
 * (splat or one bracket level per dim) and `dense_resource<key> : tensor<...>`, unit
 * attributes. Values are parsed into AttrVal records; parser.c then takes the ones the
 * op's ops.def mask asks for and rejects the rest. Dense constants become module
 * constants right here (data in the module arena; a resource without blob has data NULL).
 * Lists are capped (TEXT_MAX_LIST) and splats materialize at most TEXT_MAX_SPLAT bytes each,
 * TEXT_MAX_SPLAT_TOTAL per module. */
#include <ctype.h>
#include <string.h>

#include "text.h"

enum { TEXT_MAX_LIST = 4096, TEXT_MAX_ATTRS = 256 };
#define TEXT_MAX_SPLAT ((int64_t)1 << 28)
#define TEXT_MAX_SPLAT_TOTAL ((int64_t)1 << 30) /* all splats of a module together */

AttrVal *attr_find(AttrDict *ad, const char *name) {
  for (int i = 0; i < ad->n; i++)
    if (strcmp(ad->v[i].name, name) == 0) return &ad->v[i];
  return NULL;
}

/* ---- lists -------------------------------------------------------------- */

static void *list_grow(Parser *ps, void *p, int n, size_t es) {
  if (n >= TEXT_MAX_LIST) {
    perr(ps, "list longer than %d elements", TEXT_MAX_LIST);
    return NULL;
  }
  if (n & (n - 1)) return p; /* capacity is the next power of two */
  void *q = arena_grow(&ps->m->arena, p, (size_t)n, n ? (size_t)n * 2 : 1, es);
  if (!q) perr(ps, "out of memory");
  return q;
}

static bool parse_array(Parser *ps, AttrVal *v) {
  bool f64 = lex_accept(ps, "f64");
  if (!f64 && !lex_expect(ps, "i64", "after 'array<'")) return false;
  v->kind = f64 ? AV_F64S : AV_I64S;
  if (lex_accept(ps, ">")) return true;
  if (!lex_expect(ps, ":", "after array element type")) return false;
  do {
    if (f64) {
      if (!(v->f64s = list_grow(ps, v->f64s, v->n, sizeof(double)))) return false;
      if (!lex_float(ps, &v->f64s[v->n++], KILN_DTYPE_COUNT)) return false;
    } else {
      if (!(v->i64s = list_grow(ps, v->i64s, v->n, sizeof(int64_t)))) return false;
      if (!lex_int(ps, &v->i64s[v->n++])) return false;
    }
  } while (lex_accept(ps, ","));
  return lex_expect(ps, ">", "to end array attribute");
}

/* ---- affine maps -------------------------------------------------------- */

static bool parse_dim_ref(Parser *ps, int n_dims, int *d) {
  lex_skip_ws(ps);
  const char *at = ps->p;
  if (ps->p >= ps->end || *ps->p != 'd') return perr(ps, "expected dimension 'dN'");
  ps->p++;
  int64_t k;
  if (ps->p >= ps->end || !isdigit((unsigned char)*ps->p) || !lex_int(ps, &k))
    return perr_at(ps, at, "expected dimension 'dN'");
  if (k >= n_dims) return perr_at(ps, at, "dimension d%lld out of range", (long long)k);
  *d = (int)k;
  return true;
}

/* One term: [-] (dK [* INT] | INT [* dK]); adds it into e. */
static bool parse_affine_term(Parser *ps, int n_dims, int64_t sign, AffineExpr *e) {
  if (lex_accept(ps, "-")) sign = -sign;
  int d = -1;
  int64_t c = 1;
  lex_skip_ws(ps);
  if (lex_peek(ps, "d")) {
    if (!parse_dim_ref(ps, n_dims, &d)) return false;
    if (lex_accept(ps, "*") && !lex_int(ps, &c)) return false;
  } else {
    if (!lex_int(ps, &c)) return false;
    if (lex_accept(ps, "*") && !parse_dim_ref(ps, n_dims, &d)) return false;
  }
  if (lex_peek(ps, "floordiv") || lex_peek(ps, "ceildiv") || lex_peek(ps, "mod") || lex_peek(ps, "("))
    return perr(ps, "unsupported affine expression (only sums of dK * INT + INT)");
  int64_t *slot = d >= 0 ? &e->coef[d] : &e->cst;
  if (checked_mul_i64(c, sign, &c) || checked_add_i64(*slot, c, slot))
    return perr(ps, "affine coefficient overflows int64");
  return true;
}

static bool parse_affine_expr(Parser *ps, int n_dims, AffineExpr *e) {
  memset(e, 0, sizeof *e);
  if (!parse_affine_term(ps, n_dims, 1, e)) return false;
  for (;;) {
    if (lex_accept(ps, "+")) {
      if (!parse_affine_term(ps, n_dims, 1, e)) return false;
    } else if (lex_accept(ps, "-")) {
      if (!parse_affine_term(ps, n_dims, -1, e)) return false;
    } else {
      return true;
    }
  }
}

bool text_parse_affine_map(Parser *ps, AffineMap *m, int *n_dims) {
  if (!lex_expect(ps, "(", "to start affine map dimensions")) return false;
  *n_dims = 0;
  if (!lex_accept(ps, ")")) {
    do {
      const char *at = (lex_skip_ws(ps), ps->p);
      if (*n_dims == KILN_MAX_RANK) return perr(ps, "affine map has more than %d dims", KILN_MAX_RANK);
      int d;
      if (!parse_dim_ref(ps, KILN_MAX_RANK, &d)) return false;
      if (d != *n_dims) return perr_at(ps, at, "expected dimension 'd%d'", *n_dims);
      ++*n_dims;
    } while (lex_accept(ps, ","));
    if (!lex_expect(ps, ")", "to end affine map dimensions")) return false;
  }
  if (lex_peek(ps, "[")) return perr(ps, "affine map symbols are not supported");
  if (!lex_expect(ps, "->", "in affine map") || !lex_expect(ps, "(", "to start affine map results"))
    return false;
  memset(m, 0, sizeof *m);
  if (lex_accept(ps, ")")) return lex_expect(ps, ">", "to end affine_map");
  do {
    if (m->n_results == KILN_MAX_RANK) return perr(ps, "affine map has more than %d results", KILN_MAX_RANK);
    if (!parse_affine_expr(ps, *n_dims, &m->results[m->n_results++])) return false;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, ")", "to end affine map results") && lex_expect(ps, ">", "to end affine_map");
}

/* ---- lists [ ... ] ------------------------------------------------------ */

static bool parse_list_elem(Parser *ps, AttrVal *v) {
  if (v->kind == AV_STRS) {
    if (!(v->strs = list_grow(ps, v->strs, v->n, sizeof(char *)))) return false;
    return lex_string(ps, &v->strs[v->n++]);
  }
  if (v->kind == AV_F64S) {
    if (!(v->f64s = list_grow(ps, v->f64s, v->n, sizeof(double)))) return false;
    if (!lex_float(ps, &v->f64s[v->n++], KILN_DTYPE_COUNT)) return false;
    return !lex_accept(ps, ":") || lex_expect(ps, "f64", "(float list elements are f64)");
  }
  if (!(v->maps = list_grow(ps, v->maps, v->n, sizeof(AffineMap)))) return false;
  int dims;
  if (!lex_expect(ps, "affine_map<", "in list of affine maps")) return false;
  if (!text_parse_affine_map(ps, &v->maps[v->n++], &dims)) return false;
  if (v->n > 1 && dims != v->map_dims) return perr(ps, "affine maps disagree on dimension count");
  v->map_dims = dims;
  return true;
}

static bool parse_list(Parser *ps, AttrVal *v) {
  v->kind = AV_STRS;
  if (lex_accept(ps, "]")) return true;
  if (lex_peek(ps, "affine_map<")) v->kind = AV_MAPS;
  else if (!lex_peek(ps, "\"")) v->kind = AV_F64S;
  do {
    if (!parse_list_elem(ps, v)) return false;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "]", "to end list");
}

/* ---- dense elements ----------------------------------------------------- */

static bool parse_elem(Parser *ps, DType dt, void *dst) {
  if (dtype_is_float(dt)) {
    double x;
    if (!lex_float(ps, &x, dt)) return false;
    float f = (float)x;
    uint16_t h = dt == KILN_F16 ? f32_to_f16(f) : f32_to_bf16(f);
    if (dt == KILN_F32) memcpy(dst, &f, 4);
    else memcpy(dst, &h, 2);
    return true;
  }
  int64_t x;
  if (dt == KILN_BOOL && (lex_accept(ps, "true") || lex_accept(ps, "false"))) {
    *(uint8_t *)dst = ps->p[-1] == 'e' && ps->p[-2] == 'u';
    return true;
  }
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_int(ps, &x)) return false;
  int64_t lo = dt == KILN_I8 ? -128 : dt == KILN_I32 ? INT32_MIN : dt == KILN_I64 ? INT64_MIN : 0;
  int64_t hi = dt == KILN_I8 ? 127 : dt == KILN_U8 ? 255 : dt == KILN_BOOL ? 1 : dt == KILN_I32 ? INT32_MAX : INT64_MAX;
  if (x < lo || x > hi) return perr_at(ps, at, "value %lld out of range for %s", (long long)x, dtype_name(dt));
  int8_t i8 = (int8_t)x;
  int32_t i32 = (int32_t)x;
  if (dt == KILN_I32) memcpy(dst, &i32, 4);
  else if (dt == KILN_I64) memcpy(dst, &x, 8);
  else memcpy(dst, &i8, 1);
  return true;
}

/* Nested brackets for dims[d..]; *i counts elements written. */
static bool parse_nested(Parser *ps, const TensorType *t, int d, char *data, int64_t *i) {
  if (d == t->rank) return parse_elem(ps, t->dtype, data + (size_t)(*i)++ * dtype_size(t->dtype));
  if (!lex_expect(ps, "[", "in dense elements (one bracket level per dimension)")) return false;
  for (int64_t k = 0; k < t->dims[d]; k++) {
    if (k && !lex_expect(ps, ",", "between dense elements")) return false;
    if (!parse_nested(ps, t, d + 1, data, i)) return false;
  }
  return lex_expect(ps, "]", "after dense elements (count must match the type)");
}

/* Upstream MLIR's hex form `dense<"0x...">`: the raw little-endian bytes of all
 * elements, or of one element for a splat. */
static bool fill_hex(Parser *ps, const TensorType *t, char *data, size_t nb) {
  const char *hex = ps->p += 3, *at = ps->p;
  while (ps->p < ps->end && *ps->p != '"') ps->p++;
  size_t n = (size_t)(ps->p - hex), es = dtype_size(t->dtype);
  if (ps->p >= ps->end) return perr_at(ps, at, "unterminated hex string");
  ps->p++;
  if (n % 2 || (n / 2 != nb && n / 2 != es)) return perr_at(ps, at, "hex data has %zu bytes, the type needs %zu", n / 2, nb);
  memset(data, 0, n / 2);
  for (size_t i = 0; i < n; i++) {
    char c = hex[i] | 32;
    int v = hex[i] >= '0' && hex[i] <= '9' ? hex[i] - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return perr_at(ps, hex + i, "invalid hex digit");
    data[i / 2] = (char)(data[i / 2] | (i % 2 ? v : v << 4));
  }
  for (size_t k = n / 2; k < nb; k += es) memcpy(data + k, data, es); /* a splat */
  return true;
}

static bool fill_dense(Parser *ps, const TensorType *t, const char *lit, char *data, size_t nb) {
  int64_t numel = type_numel(t), i = 0;
  ps->p = lit;
  lex_skip_ws(ps);
  if (ps->upstream && lex_peek(ps, "\"0x")) return fill_hex(ps, t, data, nb);
  if (ps->p >= ps->end) return numel == 0 || perr(ps, "empty dense<> needs a tensor with no elements");
  if (!lex_peek(ps, "[")) {
    if ((int64_t)nb > TEXT_MAX_SPLAT) return perr(ps, "splat constant larger than %lld bytes", (long long)TEXT_MAX_SPLAT);
    size_t es = dtype_size(t->dtype);
    if (numel == 0) return perr(ps, "splat value for a tensor with no elements");
    if (!parse_elem(ps, t->dtype, data)) return false;
    for (int64_t k = 1; k < numel; k++) memcpy(data + (size_t)k * es, data, es);
    return true;
  }
  if (numel == 0) return perr(ps, "dense elements for a tensor with no elements must be 'dense<>'");
  return parse_nested(ps, t, 0, data, &i);
}

static bool parse_dense(Parser *ps, AttrVal *v) {
  lex_skip_ws(ps);
  const char *lit = ps->p, *close = memchr(ps->p, '>', (size_t)(ps->end - ps->p));
  if (!close) return perr(ps, "expected '>' to end dense<");
  ps->p = close + 1;
  TensorType t;
  if (!lex_expect(ps, ":", "after dense<...>") || !lex_tensor_type(ps, &t)) return false;
  const char *after = ps->p, *end = ps->end;
  int64_t numel = type_numel(&t), nb = type_nbytes(&t);
  bool splat = (lex_skip_ws(ps), ps->p = lit, !lex_peek(ps, "[") && !lex_peek(ps, ">"));
  if (ps->upstream && lex_peek(ps, "\"0x")) /* hex: a splat only when it holds one element */
    splat = (int64_t)(close - lit) / 2 < nb;
  else if (!splat && numel > (int64_t)(close - lit)) return perr_at(ps, lit, "too few dense elements for the type");
  if (splat && nb > TEXT_MAX_SPLAT) return perr_at(ps, lit, "splat constant larger than %lld bytes", (long long)TEXT_MAX_SPLAT);
  if (splat && (ps->splat_bytes += nb) > TEXT_MAX_SPLAT_TOTAL)
    return perr_at(ps, lit, "splat constants sum to more than %lld bytes", (long long)TEXT_MAX_SPLAT_TOTAL);
  char *data = arena_alloc(&ps->m->arena, (size_t)nb);
  if (!data) return perr(ps, "out of memory");
  ps->end = close;
  bool ok = fill_dense(ps, &t, lit, data, (size_t)nb);
  if (ok) lex_skip_ws(ps);
  if (ok && ps->p != close) ok = perr(ps, "unexpected text in dense elements");
  ps->end = end;
  if (!ok) return false;
  ps->p = after;
  v->const_index = module_add_const(ps->m, "cst", t, NULL);
  if (v->const_index < 0) return perr(ps, "out of memory");
  ps->m->consts[v->const_index].data = data;
  v->fresh = true;
  return true;
}

static bool parse_resource(Parser *ps, AttrVal *v) {
  char key[TEXT_MAX_KEY];
  const char *at = (lex_skip_ws(ps), ps->p);
  if (!lex_ident(ps, key, sizeof key)) return perr(ps, "expected resource key");
  TensorType t;
  if (!lex_expect(ps, ">", "after resource key") || !lex_expect(ps, ":", "after dense_resource<...>") ||
      !lex_tensor_type(ps, &t))
    return false;
  /* Upstream MLIR writes every elided blob as `__elided__`: each is its own constant. */
  bool elided = ps->upstream && !strcmp(key, "__elided__");
  for (ResRef *r = elided ? NULL : ps->res; r; r = r->next) {
    if (strcmp(r->key, key)) continue;
    if (!type_equal(&ps->m->consts[r->const_index].type, &t))
      return perr_at(ps, at, "resource '%s' used with two different types", key);
    v->const_index = r->const_index;
    return true;
  }
  ResRef *r = arena_alloc(&ps->m->arena, sizeof *r);
  if (!r || (v->const_index = module_add_const(ps->m, key, t, NULL)) < 0) return perr(ps, "out of memory");
  r->key = ps->m->consts[v->const_index].name;
  r->const_index = v->const_index;
  r->next = ps->res;
  ps->res = r;
  v->fresh = true;
  return true;
}

/* ---- scalars and the dictionary ------------------------------------------ */

static bool parse_number(Parser *ps, AttrVal *v) {
  lex_skip_ws(ps);
  const char *q = ps->p;
  bool is_float = q + 1 < ps->end && q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
  for (; !is_float && q < ps->end && (isdigit((unsigned char)*q) || *q == '-' || *q == '+' || *q == '.' || *q == 'e' || *q == 'E'); q++)
    is_float = *q == '.' || *q == 'e' || *q == 'E';
  const char *at = ps->p;
  if (is_float) {
    if (!lex_float(ps, &v->f, KILN_DTYPE_COUNT)) return false;
    v->kind = AV_F64;
  } else {
    if (!lex_int(ps, &v->i)) return false;
    v->kind = AV_INT;
  }
  if (!lex_accept(ps, ":")) return true;
  if (lex_accept(ps, "i64")) return v->kind == AV_INT || perr_at(ps, at, "float literal with integer type");
  if (!lex_expect(ps, "f64", "(attribute numbers are i64 or f64)")) return false;
  if (v->kind == AV_INT) v->f = (double)v->i;
  v->kind = AV_F64;
  return true;
}

bool text_parse_attr_value(Parser *ps, AttrVal *v) {
  lex_skip_ws(ps);
  if (lex_peek(ps, "\"")) {
    v->kind = AV_STR;
    return lex_string(ps, &v->s);
  }
  if (lex_accept(ps, "true") || lex_accept(ps, "false")) {
    v->kind = AV_BOOL;
    v->i = ps->p[-1] == 'e' && ps->p[-2] == 'u';
    return true;
  }
  if (lex_accept(ps, "array<")) return parse_array(ps, v);
  if (lex_accept(ps, "[")) return parse_list(ps, v);
  if (lex_accept(ps, "dense_resource<")) return v->kind = AV_DENSE, parse_resource(ps, v);
  if (lex_accept(ps, "dense<")) return v->kind = AV_DENSE, parse_dense(ps, v);
  if (ps->p < ps->end && (isdigit((unsigned char)*ps->p) || *ps->p == '-')) return parse_number(ps, v);
  return perr(ps, "expected attribute value");
}

bool parse_attr_dict(Parser *ps, AttrDict *ad) {
  if (!lex_expect(ps, "{", "to start attribute dictionary")) return false;
  if (lex_accept(ps, "}")) return true;
  do {
    if (!(ad->v = list_grow(ps, ad->v, ad->n, sizeof(AttrVal)))) return false;
    if (ad->n >= TEXT_MAX_ATTRS) return perr(ps, "too many attributes");
    AttrVal *v = &ad->v[ad->n];
    char name[128];
    v->at = (lex_skip_ws(ps), ps->p);
    if (!lex_ident(ps, name, sizeof name)) return perr(ps, "expected attribute name");
    if (attr_find(ad, name)) return perr_at(ps, v->at, "duplicate attribute '%s'", name);
    v->name = arena_strdup(&ps->m->arena, name);
    ad->n++;
    if (!v->name) return perr(ps, "out of memory");
    v->kind = AV_UNIT;
    if (lex_accept(ps, "=") && !text_parse_attr_value(ps, v)) return false;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "}", "to end attribute dictionary");
}
