/* mlir_upstream_torch.c — torch-mlir's ONNX form (what `iree-import-onnx` writes):
 *
 *   func.func @torch_jit(%arg0: !torch.vtensor<[1,3,224,224],f32>) -> !torch.vtensor<[1,1000],f32>
 *       attributes {torch.onnx_meta.opset_version = 13 : si64, ...} {
 *     %none = torch.constant.none
 *     %0 = torch.operator "onnx.Constant"() {torch.onnx.value = dense_resource<_w> : tensor<32x3x3x3xf32>} : () -> ...
 *     %1 = torch.operator "onnx.Conv"(%arg0, %0, %none) {torch.onnx.group = 1 : si64, ...} : (...) -> ...
 *     return %1 : !torch.vtensor<[1,1000],f32>
 *   }
 *   {-# dialect_resources: { builtin: { _w: "0x04000000..." } } #-}
 *
 * Every torch.operator is one ONNX node, so the text is rebuilt as an ONNX ModelProto in
 * memory (nodes, attributes, Constant tensors pointing at the parsed data, graph inputs
 * with their types) and handed to the ONNX importer (onnx_import_model): the same node
 * handlers, shape inference and constant folding as for an .onnx file. SSA names become
 * ONNX value names (`%5#1` -> "5#1"); %none operands become empty (absent) inputs. An op
 * type the ONNX importer does not know is "path:line:col: unknown op 'onnx.X'". */
#include <ctype.h>
#include <string.h>

#include "mlir_upstream.h"
#include "onnx_internal.h"

typedef struct Fixup {           /* a Constant tensor whose data comes from the text */
  Onnx__TensorProto *t;
  int const_index;
  const char *at;
} Fixup;

typedef struct Torch {
  Up *u;
  Onnx__GraphProto g;
  Onnx__ModelProto mp;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  int64_t opset_version;
  size_t n_fix;
  Fixup *fix;
  const char *none_names[16];    /* SSA names bound to torch.constant.none */
  int n_none;
} Torch;

static char *dup(Torch *T, const char *s) {
  char *r = arena_strdup(&T->u->m->arena, s);
  if (!r) perr(&T->u->ps, "out of memory");
  return r;
}

/* Room for element n of an arena array that doubles at powers of two. */
static void *grow2(Torch *T, void *p, size_t n, size_t es) {
  if (n & (n - 1)) return p;
  void *q = arena_grow(&T->u->m->arena, p, n, n ? n * 2 : 1, es);
  if (!q) perr(&T->u->ps, "out of memory");
  return q;
}

/* ---- types ------------------------------------------------------------------------------- */

static int32_t onnx_elem_type(DType dt) {
  static const int32_t tab[KILN_DTYPE_COUNT] = {
    [KILN_F32] = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, [KILN_F16] = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
    [KILN_BF16] = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16, [KILN_I8] = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    [KILN_U8] = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, [KILN_I32] = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    [KILN_I64] = ONNX__TENSOR_PROTO__DATA_TYPE__INT64, [KILN_BOOL] = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
  };
  return tab[dt];
}

/* `!torch.vtensor<[1,3,?,224],f32>`: dims (-1 for '?') and element type. */
static bool lex_vtensor(Parser *ps, TensorType *t, bool *dynamic) {
  memset(t, 0, sizeof *t);
  *dynamic = false;
  if (!lex_expect(ps, "!torch.vtensor<", "(graph inputs are !torch.vtensor)") || !lex_expect(ps, "[", "before the dims"))
    return false;
  if (!lex_accept(ps, "]")) {
    do {
      if (t->rank == KILN_MAX_RANK) return perr(ps, "tensor rank exceeds %d", KILN_MAX_RANK);
      if (lex_accept(ps, "?")) {
        *dynamic = true;
        t->dims[t->rank++] = -1;
      } else if (!lex_int(ps, &t->dims[t->rank++])) {
        return false;
      } else if (t->dims[t->rank - 1] < 0) {
        return perr(ps, "negative dimension");
      }
    } while (lex_accept(ps, ","));
    if (!lex_expect(ps, "]", "after the dims")) return false;
  }
  if (!lex_expect(ps, ",", "before the element type")) return false;
  if (lex_accept(ps, "ui8")) t->dtype = KILN_U8;
  else if (!lex_dtype(ps, &t->dtype, false)) return false;
  return lex_expect(ps, ">", "to end !torch.vtensor");
}

/* ---- attributes ---------------------------------------------------------------------------- */

static Onnx__TensorProto *tensor_attr(Torch *T, const char *at) {
  AttrVal av = {0};
  if (!text_parse_attr_value(&T->u->ps, &av)) return NULL;
  if (av.kind != AV_DENSE) return perr_at(&T->u->ps, at, "expected a dense tensor"), NULL;
  Onnx__TensorProto *t = arena_alloc(&T->u->m->arena, sizeof *t);
  Fixup *f = (T->fix = grow2(T, T->fix, T->n_fix, sizeof *T->fix)) ? &T->fix[T->n_fix++] : NULL;
  if (!t || !f) return perr(&T->u->ps, "out of memory"), NULL;
  const Constant *c = &T->u->m->consts[av.const_index];
  *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
  t->n_dims = (size_t)c->type.rank;
  t->dims = arena_alloc(&T->u->m->arena, sizeof(int64_t) * (size_t)(c->type.rank + 1));
  if (!t->dims) return perr(&T->u->ps, "out of memory"), NULL;
  memcpy(t->dims, c->type.dims, sizeof(int64_t) * (size_t)c->type.rank);
  t->has_data_type = 1;
  t->data_type = onnx_elem_type(c->type.dtype);
  *f = (Fixup){.t = t, .const_index = av.const_index, .at = at};
  return t;
}

/* A number `N : si64` / `X : f32`: int or float by its type. */
static bool number_attr(Torch *T, Onnx__AttributeProto *a, bool in_list) {
  Parser *ps = &T->u->ps;
  const char *lit = (lex_skip_ws(ps), ps->p);
  double x;
  char w[16];
  if (!lex_float(ps, &x, KILN_DTYPE_COUNT) || !lex_expect(ps, ":", "after the number")) return false;
  if (!lex_ident(ps, w, sizeof w)) return perr(ps, "expected the number's type");
  if (w[0] == 'f' || !strcmp(w, "bf16")) {
    if (!in_list) return a->f = (float)x, a->has_f = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, true;
    if (!(a->floats = grow2(T, a->floats, a->n_floats, sizeof(float)))) return false;
    a->floats[a->n_floats++] = (float)x;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    return true;
  }
  const char *after = ps->p;
  int64_t i;
  ps->p = lit;
  if (!lex_int(ps, &i)) return false;
  ps->p = after;
  if (!in_list) return a->i = i, a->has_i = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, true;
  if (!(a->ints = grow2(T, a->ints, a->n_ints, sizeof(int64_t)))) return false;
  a->ints[a->n_ints++] = i;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  return true;
}

static bool string_attr(Torch *T, ProtobufCBinaryData *s) {
  const char *str;
  if (!lex_string(&T->u->ps, &str)) return false;
  s->data = (uint8_t *)(uintptr_t)str;
  s->len = strlen(str);
  return true;
}

static bool list_attr(Torch *T, Onnx__AttributeProto *a) {
  Parser *ps = &T->u->ps;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS; /* `[]` */
  if (lex_accept(ps, "]")) return true;
  do {
    if (a->n_ints + a->n_floats + a->n_strings >= 4096) return perr(ps, "attribute list too long");
    if (lex_peek(ps, "\"")) {
      if (!(a->strings = grow2(T, a->strings, a->n_strings, sizeof *a->strings))) return false;
      if (!string_attr(T, &a->strings[a->n_strings++])) return false;
      a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    } else if (!number_attr(T, a, true)) {
      return false;
    }
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "]", "to end the list");
}

static bool attr_value(Torch *T, Onnx__AttributeProto *a, const char *at) {
  Parser *ps = &T->u->ps;
  lex_skip_ws(ps);
  a->has_type = 1;
  if (lex_peek(ps, "dense")) {
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    return (a->t = tensor_attr(T, at)) != NULL;
  }
  if (lex_peek(ps, "\"")) {
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = 1;
    return string_attr(T, &a->s);
  }
  if (lex_accept(ps, "[")) return list_attr(T, a);
  return number_attr(T, a, false);
}

static bool node_attrs(Torch *T, Onnx__NodeProto *n) {
  Parser *ps = &T->u->ps;
  if (!lex_accept(ps, "{") || lex_accept(ps, "}")) return true;
  do {
    char name[128];
    const char *at = (lex_skip_ws(ps), ps->p);
    if (!lex_ident(ps, name, sizeof name)) return perr(ps, "expected attribute name");
    if (strncmp(name, "torch.onnx.", 11)) return perr_at(ps, at, "unknown attribute '%s'", name);
    if (n->n_attribute >= 256) return perr_at(ps, at, "too many attributes");
    Onnx__AttributeProto *a = arena_alloc(&T->u->m->arena, sizeof *a);
    if (!a || !(n->attribute = grow2(T, n->attribute, n->n_attribute, sizeof *n->attribute))) return perr(ps, "out of memory");
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    if (!(a->name = dup(T, name + 11)) || !lex_expect(ps, "=", "after the attribute name") || !attr_value(T, a, at)) return false;
    n->attribute[n->n_attribute++] = a;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "}", "to end the attributes");
}

/* ---- ops ------------------------------------------------------------------------------------- */

static bool is_none(Torch *T, const char *name) {
  for (int i = 0; i < T->n_none; i++)
    if (!strcmp(T->none_names[i], name)) return true;
  return false;
}

/* `%name` / `%name#k` as an ONNX value name. */
static char *value_name(Torch *T) {
  Parser *ps = &T->u->ps;
  char buf[160];
  size_t k = 0;
  lex_skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != '%') return perr(ps, "expected SSA value name"), NULL;
  ps->p++;
  while (ps->p < ps->end && k + 1 < sizeof buf && (isalnum((unsigned char)*ps->p) || strchr("_$.-#", *ps->p))) buf[k++] = *ps->p++;
  buf[k] = 0;
  if (!k) return perr(ps, "expected SSA value name"), NULL;
  return dup(T, is_none(T, buf) ? "" : buf);
}

static bool known_onnx_op(const char *op) {
  for (int i = 0; onnx_supported_op(i); i++)
    if (!strcmp(onnx_supported_op(i), op)) return true;
  return false;
}

/* `%r[:N] = torch.operator "onnx.X"(%a, ...) {attrs} : (types) -> types` */
static bool torch_operator(Torch *T, const char *res, int n_res, const char *at) {
  Parser *ps = &T->u->ps;
  const char *opat = (lex_skip_ws(ps), ps->p), *opname;
  if (!lex_string(ps, &opname)) return false;
  if (strncmp(opname, "onnx.", 5) || !known_onnx_op(opname + 5)) return perr_at(ps, opat, "unknown op '%s'", opname);
  Onnx__NodeProto *n = arena_alloc(&T->u->m->arena, sizeof *n);
  if (!n || !(T->g.node = grow2(T, T->g.node, T->g.n_node, sizeof *T->g.node))) return perr(ps, "out of memory");
  *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
  int line = 1;
  for (const char *q = ps->src; q < at; q++) line += *q == '\n';
  char label[200];
  snprintf(label, sizeof label, "%%%s (line %d)", res, line);
  n->op_type = (char *)(uintptr_t)(opname + 5);
  n->domain = (char *)"";
  if (!(n->name = dup(T, label)) || !lex_expect(ps, "(", "to start the operands")) return false;
  if (!lex_accept(ps, ")")) {
    do {
      if (n->n_input >= 4096) return perr(ps, "too many operands");
      if (!(n->input = grow2(T, n->input, n->n_input, sizeof(char *))) || !(n->input[n->n_input++] = value_name(T))) return false;
    } while (lex_accept(ps, ","));
    if (!lex_expect(ps, ")", "to end the operands")) return false;
  }
  n->output = arena_alloc(&T->u->m->arena, sizeof(char *) * (size_t)(n_res + 1));
  if (!n->output) return perr(ps, "out of memory");
  for (int k = 0; k < n_res; k++) {
    char nm[160];
    if (n_res == 1) snprintf(nm, sizeof nm, "%s", res);
    else snprintf(nm, sizeof nm, "%s#%d", res, k);
    if (!(n->output[k] = dup(T, nm))) return false;
  }
  n->n_output = (size_t)n_res;
  if (!node_attrs(T, n) || !lex_expect(ps, ":", "before the op's type") || !up_skip_type(ps) || !lex_expect(ps, "->", "in the op's type") ||
      !up_skip_type(ps))
    return false;
  if (lex_peek(ps, "{")) return perr_at(ps, opat, "'%s' with regions is not supported", opname);
  T->g.node[T->g.n_node++] = n;
  return true;
}

static bool parse_op(Torch *T) {
  Parser *ps = &T->u->ps;
  const char *at = (lex_skip_ws(ps), ps->p);
  char res[128] = "", opname[64];
  int64_t n_res = 0;
  if (lex_peek(ps, "%")) {
    ps->p++;
    if (!lex_ident(ps, res, sizeof res) && !(lex_skip_ws(ps), ps->p < ps->end && isdigit((unsigned char)*ps->p))) return perr(ps, "expected SSA name");
    if (!res[0]) {
      size_t k = 0;
      while (ps->p < ps->end && isdigit((unsigned char)*ps->p) && k + 1 < sizeof res) res[k++] = *ps->p++;
      res[k] = 0;
    }
    n_res = 1;
    if (lex_accept(ps, ":") && !lex_int(ps, &n_res)) return false;
    if (n_res < 1 || n_res > 64) return perr(ps, "invalid result count");
    if (!lex_expect(ps, "=", "after the result name")) return false;
  }
  const char *opat = (lex_skip_ws(ps), ps->p);
  if (!lex_ident(ps, opname, sizeof opname)) return perr(ps, "expected an op");
  if (!strcmp(opname, "torch.operator")) return torch_operator(T, res, (int)n_res, at);
  if (!strcmp(opname, "torch.constant.none") && n_res == 1) {
    if (T->n_none == (int)ARRAY_LEN(T->none_names)) return perr(ps, "too many torch.constant.none");
    return (T->none_names[T->n_none++] = dup(T, res)) != NULL;
  }
  return perr_at(ps, opat, "unknown op '%s'", opname);
}

/* ---- function and module ------------------------------------------------------------------------ */

static bool graph_input(Torch *T, const char *name, const TensorType *t) {
  Arena *ar = &T->u->m->arena;
  Onnx__ValueInfoProto *vi = arena_alloc(ar, sizeof *vi);
  Onnx__TypeProto *tp = arena_alloc(ar, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = arena_alloc(ar, sizeof *tt);
  Onnx__TensorShapeProto *sh = arena_alloc(ar, sizeof *sh);
  Onnx__TensorShapeProto__Dimension *dims = arena_alloc(ar, sizeof *dims * (size_t)(t->rank + 1));
  Onnx__TensorShapeProto__Dimension **dp = arena_alloc(ar, sizeof *dp * (size_t)(t->rank + 1));
  if (!vi || !tp || !tt || !sh || !dims || !dp || !(T->g.input = grow2(T, T->g.input, T->g.n_input, sizeof *T->g.input)))
    return perr(&T->u->ps, "out of memory");
  for (int i = 0; i < t->rank; i++) {
    dims[i] = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    if (t->dims[i] >= 0) {
      dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dims[i].dim_value = t->dims[i];
    }
    dp[i] = &dims[i];
  }
  *sh = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
  sh->n_dim = (size_t)t->rank;
  sh->dim = dp;
  *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
  tt->has_elem_type = 1;
  tt->elem_type = onnx_elem_type(t->dtype);
  tt->shape = sh;
  *tp = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  *vi = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
  if (!(vi->name = dup(T, name))) return false;
  vi->type = tp;
  T->g.input[T->g.n_input++] = vi;
  return true;
}

static bool func_args(Torch *T) {
  Parser *ps = &T->u->ps;
  if (!lex_expect(ps, "(", "to start the argument list")) return false;
  if (lex_accept(ps, ")")) return true;
  do {
    char name[128];
    TensorType t;
    bool dyn;
    if (!lex_expect(ps, "%", "before an argument name") || !lex_ident(ps, name, sizeof name)) return perr(ps, "expected argument name");
    if (!lex_expect(ps, ":", "after the argument name") || !lex_vtensor(ps, &t, &dyn) || !graph_input(T, name, &t)) return false;
    if (lex_peek(ps, "{") && !skip_balanced(ps)) return false;
  } while (lex_accept(ps, ","));
  return lex_expect(ps, ")", "to end the argument list");
}

/* `attributes {torch.onnx_meta.opset_version = 13 : si64, ...}` */
static bool func_attrs(Torch *T) {
  Parser *ps = &T->u->ps;
  if (!lex_accept(ps, "attributes")) return true;
  if (!lex_expect(ps, "{", "after 'attributes'")) return false;
  if (lex_accept(ps, "}")) return true;
  do {
    char name[128];
    if (!lex_ident(ps, name, sizeof name) || !lex_expect(ps, "=", "after the attribute name")) return perr(ps, "expected attribute");
    if (!strcmp(name, "torch.onnx_meta.opset_version")) {
      if (!lex_int(ps, &T->opset_version) || !lex_expect(ps, ":", "after the opset") || !up_skip_type(ps)) return false;
    } else if (!up_skip_attr_value(T->u)) {
      return false;
    }
  } while (lex_accept(ps, ","));
  return lex_expect(ps, "}", "to end the function attributes");
}

static bool func_return(Torch *T) {
  Parser *ps = &T->u->ps;
  do {
    Onnx__ValueInfoProto *vi = arena_alloc(&T->u->m->arena, sizeof *vi);
    if (T->g.n_output >= 4096) return perr(ps, "too many results");
    if (!vi || !(T->g.output = grow2(T, T->g.output, T->g.n_output, sizeof *T->g.output))) return perr(ps, "out of memory");
    *vi = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    if (!(vi->name = value_name(T))) return false;
    T->g.output[T->g.n_output++] = vi;
  } while (lex_accept(ps, ","));
  if (!lex_expect(ps, ":", "before the returned types")) return false;
  do
    if (!up_skip_type(ps)) return false;
  while (lex_accept(ps, ","));
  return true;
}

static bool parse_func(Torch *T) {
  Parser *ps = &T->u->ps;
  char name[256];
  (void)(lex_accept(ps, "public") || lex_accept(ps, "private"));
  if (!lex_expect(ps, "@", "before the function name") || !lex_ident(ps, name, sizeof name)) return perr(ps, "expected function name");
  if (!(T->g.name = dup(T, name)) || !func_args(T)) return false;
  if (lex_accept(ps, "->") && !up_skip_type(ps)) return false;
  if (!func_attrs(T) || !lex_expect(ps, "{", "to start the function body")) return false;
  for (;;) {
    if (ps->failed) return false;
    if (ps->p >= ps->end) return perr(ps, "expected 'return'");
    if (lex_accept(ps, "return") || lex_accept(ps, "func.return")) break;
    if (!parse_op(T)) return false;
  }
  return func_return(T) && lex_expect(ps, "}", "to end the function body");
}

static bool parse_module(Torch *T) {
  Parser *ps = &T->u->ps;
  bool wrapped = lex_accept(ps, "module");
  if (wrapped && lex_accept(ps, "attributes") && (!lex_peek(ps, "{") || !skip_balanced(ps))) return false;
  if (wrapped && !lex_expect(ps, "{", "after 'module'")) return false;
  if (!lex_expect(ps, "func.func", "(one function)") || !parse_func(T)) return false;
  if (wrapped && !lex_expect(ps, "}", "to end the module (one function only)")) return false;
  if (lex_accept(ps, "{-#") && !text_parse_resources(ps)) return false;
  lex_skip_ws(ps);
  if (ps->p != ps->end) return perr(ps, "expected end of input");
  for (size_t i = 0; i < T->n_fix; i++) { /* constants now have their data */
    const Constant *c = &T->u->m->consts[T->fix[i].const_index];
    if (!c->data) return perr_at(ps, T->fix[i].at, "resource '%s' has no data in the file", c->name);
    T->fix[i].t->has_raw_data = 1;
    T->fix[i].t->raw_data = (ProtobufCBinaryData){.len = c->nbytes, .data = c->data};
  }
  return true;
}

static void build_model(Torch *T) {
  T->opset = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
  T->opset.domain = (char *)"";
  T->opset.has_version = 1;
  T->opset.version = T->opset_version;
  T->opsets[0] = &T->opset;
  T->mp = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
  T->mp.n_opset_import = 1;
  T->mp.opset_import = T->opsets;
  T->mp.graph = &T->g;
}

KilnStatus mlir_torch_import(const char *text, size_t len, const char *path, Module **out, Diag *d) {
  *out = NULL;
  path = path ? path : "<input>";
  Up *u = calloc(1, sizeof *u);
  Torch *T = calloc(1, sizeof *T);
  Module *scratch = module_new(); /* the text's strings and constant data */
  if (!u || !T || !scratch) {
    free(u), free(T), module_free(scratch);
    return diag_error(d, KILN_ERR_NOMEM, "%s: out of memory", path);
  }
  Diag local = {0};
  u->m = scratch;
  u->ps = (Parser){.src = text, .p = text, .end = text + len, .path = path, .d = &local, .m = scratch, .upstream = true};
  T->u = u;
  T->opset_version = 13;
  T->g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
  KilnStatus st;
  if (parse_module(T)) {
    build_model(T);
    st = onnx_import_model(&T->mp, ".", out, &local);
    if (st) {
      char msg[sizeof local.msg];
      snprintf(msg, sizeof msg, "%.300s: %.700s", path, local.msg);
      memcpy(local.msg, msg, sizeof msg);
    }
  } else {
    st = local.status ? local.status : diag_error(&local, KILN_ERR_INVALID, "%s: parse error", path);
  }
  for (char *c = local.msg; *c; c++) /* messages quote the input: keep them one line */
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
  if (st) diag_error(d, st, "%s", local.msg);
  module_free(scratch);
  free(u);
  free(T);
  return st;
}
