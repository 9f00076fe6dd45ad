/* onnx.c — the ONNX importer's driver: decode, opset, graph inputs, nodes, outputs.
 *
 * onnx_import() unpacks the ModelProto with protobuf-c, reads the default-domain opset
 * (11..21; a model without one may only use other domains, whose ops are all unsupported),
 * turns initializers into constant entries and the remaining graph inputs into
 * function arguments (dynamic dims become 1), then imports the nodes in order through
 * the op table below (one handler per ONNX op type; the handlers live in onnx_*.c).
 * Graph outputs become the function's results. Every failure returns a status and a
 * message naming the node / tensor and what is wrong; the protobuf and the partial
 * module are freed on every path. The value-name table is a malloc'd open-addressing
 * hash map freed at the end. Finally func_verify checks the result. */
#include <string.h>

#include "onnx_internal.h"

/* ---- messages ---------------------------------------------------------------------- */

const char *onnx_node_label(const Onnx__NodeProto *n) {
  if (n->name && n->name[0]) return n->name;
  if (n->n_output && n->output[0][0]) return n->output[0];
  return "?";
}

KilnStatus imp_err(Imp *I, KilnStatus st, const char *fmt, ...) {
  char what[800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (!I->node) return diag_error(I->d, st, "%s", what);
  return diag_error(I->d, st, "%s node '%s': %s", I->node->op_type, onnx_node_label(I->node), what);
}

/* ---- value-name table -------------------------------------------------------------- */

static uint64_t str_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static Entry **tab_slot(Imp *I, const char *name) {
  size_t i = (size_t)str_hash(name) & (I->cap - 1);
  while (I->tab[i] && strcmp(I->tab[i]->name, name)) i = (i + 1) & (I->cap - 1);
  return &I->tab[i];
}

static KilnStatus tab_grow(Imp *I) {
  size_t old = I->cap;
  Entry **ot = I->tab;
  I->cap = old ? old * 2 : 256;
  I->tab = calloc(I->cap, sizeof *I->tab);
  if (!I->tab) {
    I->tab = ot;
    I->cap = old;
    return diag_error(I->d, KILN_ERR_NOMEM, "out of memory (value table)");
  }
  for (size_t i = 0; i < old; i++)
    if (ot[i]) *tab_slot(I, ot[i]->name) = ot[i];
  free(ot);
  return KILN_OK;
}

Entry *imp_lookup(Imp *I, const char *name) {
  if (!I->cap || !name) return NULL;
  return *tab_slot(I, name);
}

KilnStatus imp_def_entry(Imp *I, const char *name, Entry e) {
  if ((I->n + 1) * 2 > I->cap && tab_grow(I)) return I->d->status;
  Entry **slot = tab_slot(I, name);
  Entry *p = *slot ? *slot : imp_alloc(I, sizeof *p);
  if (!p) return diag_error(I->d, KILN_ERR_NOMEM, "out of memory");
  if (!*slot) I->n++;
  *p = e;
  p->name = arena_strdup(&I->m->arena, name);
  if (!e.v) p->ci = -1;
  *slot = p;
  return KILN_OK;
}

Entry *imp_in(Imp *I, const Onnx__NodeProto *n, int i) {
  if (i < 0 || (size_t)i >= n->n_input || !n->input[i][0]) return NULL;
  return imp_lookup(I, n->input[i]);
}

void *imp_alloc(Imp *I, int64_t nbytes) {
  if (nbytes < 0) return NULL;
  return arena_alloc(&I->m->arena, (size_t)(nbytes ? nbytes : 1));
}

void *imp_fold_alloc(Imp *I, const TensorType *t) {
  int64_t nb = type_nbytes(t);
  if (nb < 0 || nb > KILN_FOLD_LIMIT) {
    imp_err(I, KILN_ERR_LIMIT, "folding a constant of %lld bytes exceeds the limit of %lld", (long long)nb,
            (long long)KILN_FOLD_LIMIT);
    return NULL;
  }
  if ((I->folded += nb) > KILN_FOLD_TOTAL_LIMIT) {
    imp_err(I, KILN_ERR_LIMIT, "constants folded at import sum to more than the limit of %lld bytes",
            (long long)KILN_FOLD_TOTAL_LIMIT);
    return NULL;
  }
  void *p = imp_alloc(I, nb);
  if (!p) imp_err(I, KILN_ERR_NOMEM, "out of memory");
  return p;
}

KilnStatus imp_def(Imp *I, const Onnx__NodeProto *n, int k, Value *v) {
  if ((size_t)k >= n->n_output || !n->output[k][0]) return KILN_OK;
  if (!v->name) v->name = arena_strdup(&I->m->arena, n->output[k]);
  return imp_def_entry(I, n->output[k], (Entry){.type = v->type, .v = v});
}

KilnStatus imp_def_const(Imp *I, const Onnx__NodeProto *n, int k, TensorType t, void *data) {
  if ((size_t)k >= n->n_output || !n->output[k][0]) return KILN_OK;
  KilnStatus st = imp_check_limits(I, &t, n->output[k]);
  if (st) return st;
  return imp_def_entry(I, n->output[k], (Entry){.type = t, .data = data, .ci = -1});
}

Entry *imp_const_entry(Imp *I, const char *name, TensorType t, void *data) {
  Entry *e = imp_alloc(I, sizeof *e);
  if (!e) return NULL;
  *e = (Entry){.name = arena_strdup(&I->m->arena, name), .type = t, .data = data, .ci = -1};
  return e;
}

Value *imp_value(Imp *I, Entry *e) {
  if (e->v) return e->v;
  if (e->ci < 0) {
    e->ci = module_add_const(I->m, e->name, e->type, NULL);
    if (e->ci < 0) return NULL;
    I->m->consts[e->ci].data = e->data; /* already in the module arena: no copy */
  }
  e->v = op_const(I->f, e->ci);
  e->v->name = e->name;
  return e->v;
}

/* ---- op creation ------------------------------------------------------------------ */

Op *imp_op(Imp *I, OpKind k, const char *suffix, int n_in, Value **in, int n_out,
           const TensorType *types) {
  char name[512];
  const char *base = I->node ? onnx_node_label(I->node) : "op";
  snprintf(name, sizeof name, "%s%s%s", base, suffix ? "/" : "", suffix ? suffix : "");
  TensorType ph[KILN_MAX_OPERANDS] = {{0}};
  KILN_ASSERT(n_out <= KILN_MAX_OPERANDS);
  return op_new(I->f, k, name, n_in, in, n_out, types ? types : ph, NULL);
}

KilnStatus imp_finish(Imp *I, Op *op) {
  TensorType t[KILN_MAX_OPERANDS];
  KILN_ASSERT(op->n_out <= KILN_MAX_OPERANDS);
  KilnStatus st = op_infer_types(op, t, I->d);
  if (st) return st;
  for (int i = 0; i < op->n_out; i++) {
    if ((st = imp_check_limits(I, &t[i], op->name))) return st;
    op->out[i]->type = t[i];
  }
  return KILN_OK;
}

Op *imp_op1(Imp *I, OpKind k, const char *suffix, Entry *x, const TensorType *type) {
  Value *v = imp_value(I, x);
  if (!v) return NULL;
  return imp_op(I, k, suffix, 1, &v, 1, type);
}

/* ---- attributes ------------------------------------------------------------------- */

const Onnx__AttributeProto *onnx_attr_find(const Onnx__NodeProto *n, const char *name) {
  for (size_t i = 0; i < n->n_attribute; i++)
    if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) return n->attribute[i];
  return NULL;
}

int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = onnx_attr_find(n, name);
  return a && a->has_i ? a->i : def;
}

float onnx_attr_float(const Onnx__NodeProto *n, const char *name, float def) {
  const Onnx__AttributeProto *a = onnx_attr_find(n, name);
  return a && a->has_f ? a->f : def;
}

const char *onnx_attr_str(const Onnx__NodeProto *n, const char *name, const char *def, char *buf,
                          size_t cap) {
  const Onnx__AttributeProto *a = onnx_attr_find(n, name);
  if (!a || !a->has_s) return def;
  size_t len = a->s.len < cap - 1 ? a->s.len : cap - 1;
  if (len) memcpy(buf, a->s.data, len); /* an empty string has data == NULL */
  buf[len] = 0;
  for (size_t i = 0; i < len; i++) /* messages quote it: keep them one line */
    if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) buf[i] = '?';
  return buf;
}

int onnx_attr_ints(Imp *I, const Onnx__NodeProto *n, const char *name, int64_t *out, int max) {
  const Onnx__AttributeProto *a = onnx_attr_find(n, name);
  if (!a) return -1;
  if (a->n_ints > (size_t)max) {
    imp_err(I, KILN_ERR_UNSUPPORTED, "attribute '%s' has %zu values, at most %d supported", name,
            a->n_ints, max);
    return -2;
  }
  for (size_t i = 0; i < a->n_ints; i++) out[i] = a->ints[i];
  return (int)a->n_ints;
}

KilnStatus imp_no_extra_outputs(Imp *I, const Onnx__NodeProto *n, int first) {
  for (size_t k = (size_t)first; k < n->n_output; k++)
    if (n->output[k][0])
      return imp_err(I, KILN_ERR_UNSUPPORTED, "output %zu ('%s') is not supported", k, n->output[k]);
  return KILN_OK;
}

/* ---- op table ---------------------------------------------------------------------- */

static const struct { const char *name; OpImportFn fn; } op_table[] = {
  {"Conv", imp_conv}, {"ConvTranspose", imp_conv_transpose},
  {"BatchNormalization", imp_batchnorm},
  {"Relu", imp_unary}, {"LeakyRelu", imp_unary}, {"Sigmoid", imp_unary},
  {"HardSigmoid", imp_unary}, {"HardSwish", imp_unary}, {"Tanh", imp_unary},
  {"Exp", imp_unary}, {"Erf", imp_unary}, {"Log", imp_unary}, {"Abs", imp_unary},
  {"Neg", imp_unary}, {"Floor", imp_unary}, {"Ceil", imp_unary}, {"Sqrt", imp_unary},
  {"Not", imp_unary}, {"Reciprocal", imp_unary}, {"Round", imp_unary},
  {"Clip", imp_clip},
  {"Add", imp_binary}, {"Sub", imp_binary}, {"Mul", imp_binary}, {"Div", imp_binary},
  {"Pow", imp_binary}, {"Max", imp_variadic}, {"Min", imp_variadic}, {"Sum", imp_variadic},
  {"Equal", imp_compare}, {"Less", imp_compare}, {"Greater", imp_compare},
  {"LessOrEqual", imp_compare}, {"GreaterOrEqual", imp_compare},
  {"Where", imp_where}, {"Cast", imp_cast},
  {"MaxPool", imp_pool}, {"AveragePool", imp_pool},
  {"GlobalAveragePool", imp_global_pool}, {"GlobalMaxPool", imp_global_pool},
  {"Gemm", imp_gemm}, {"MatMul", imp_matmul},
  {"Flatten", imp_flatten}, {"Reshape", imp_reshape}, {"Transpose", imp_transpose},
  {"Squeeze", imp_squeeze}, {"Unsqueeze", imp_unsqueeze}, {"Concat", imp_concat},
  {"Split", imp_split}, {"Slice", imp_slice}, {"Pad", imp_pad},
  {"Resize", imp_resize}, {"Upsample", imp_resize},
  {"Shape", imp_shape}, {"Gather", imp_gather},
  {"Constant", imp_constant}, {"ConstantOfShape", imp_constant_of_shape},
  {"Range", imp_range}, {"ReduceProd", imp_reduce_prod},
  {"Identity", imp_identity}, {"Dropout", imp_dropout},
  {"Softmax", imp_softmax}, {"ReduceMean", imp_reduce}, {"ReduceMax", imp_reduce},
  {"ReduceMin", imp_reduce}, {"ReduceSum", imp_reduce}, {"ArgMax", imp_argmax},
  {"QuantizeLinear", imp_quantize}, {"DequantizeLinear", imp_dequantize},
  {"QLinearConv", imp_qlinear_conv}, {"QLinearMatMul", imp_qlinear_matmul},
  {"ConvInteger", imp_conv_integer}, {"MatMulInteger", imp_matmul_integer},
};

const char *onnx_supported_op(int i) {
  return i >= 0 && i < (int)ARRAY_LEN(op_table) ? op_table[i].name : NULL;
}

static OpImportFn find_op(const char *name) {
  for (size_t i = 0; i < ARRAY_LEN(op_table); i++)
    if (!strcmp(op_table[i].name, name)) return op_table[i].fn;
  return NULL;
}

static bool is_default_domain(const char *dom) { return !dom || !dom[0] || !strcmp(dom, "ai.onnx"); }

static KilnStatus import_node(Imp *I, const Onnx__NodeProto *n) {
  I->node = NULL;
  const char *type = n->op_type ? n->op_type : "";
  if (!is_default_domain(n->domain))
    return diag_error(I->d, KILN_ERR_UNSUPPORTED, "unsupported op '%s.%s' (node '%s')", n->domain, type,
                      onnx_node_label(n));
  if (I->opset < 0)
    return diag_error(I->d, KILN_ERR_INVALID, "node '%s' (%s) is in the default domain, but the model has no "
                      "default-domain opset_import", onnx_node_label(n), type);
  OpImportFn fn = find_op(type);
  if (!fn)
    return diag_error(I->d, KILN_ERR_UNSUPPORTED, "unsupported op '%s' (node '%s', opset %lld)", type,
                      onnx_node_label(n), (long long)I->opset);
  if (!n->n_output || !n->output[0][0]) /* every ONNX op has a first output; handlers name it */
    return diag_error(I->d, KILN_ERR_INVALID, "node '%s' (%s) has no output", onnx_node_label(n), type);
  for (size_t i = 0; i < n->n_input; i++)
    if (n->input[i][0] && !imp_lookup(I, n->input[i]))
      return diag_error(I->d, KILN_ERR_INVALID, "missing initializer/value '%s' used by node '%s'",
                        n->input[i], onnx_node_label(n));
  I->node = n;
  KilnStatus st = fn(I, n);
  I->node = NULL;
  return st;
}

/* ---- graph inputs, initializers, outputs ------------------------------------------ */

static KilnStatus import_initializers(Imp *I, const Onnx__GraphProto *g) {
  int64_t total = 0;
  for (size_t i = 0; i < g->n_initializer; i++) {
    const Onnx__TensorProto *t = g->initializer[i];
    TensorType type;
    void *data;
    KilnStatus st = onnx_tensor_load(I, t, &type, &data);
    if (st) return st;
    total += type_nbytes(&type); /* each at most 16 GiB (imp_check_limits): no overflow */
    if (total > KILN_ONNX_MAX_INIT_BYTES)
      return diag_error(I->d, KILN_ERR_LIMIT, "initializer '%s': the initializers sum to more than the "
                        "16 GiB limit", t->name ? t->name : "");
    /* Added to the module (module_add_const) when an op first uses it: imp_value. */
    if ((st = imp_def_entry(I, t->name ? t->name : "", (Entry){.type = type, .data = data})))
      return st;
  }
  return KILN_OK;
}

static KilnStatus input_type(Imp *I, const Onnx__ValueInfoProto *vi, TensorType *t) {
  const char *nm = vi->name ? vi->name : "?";
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return diag_error(I->d, KILN_ERR_UNSUPPORTED, "graph input '%s': not a tensor", nm);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  KilnStatus st = onnx_dtype(I, tt->elem_type, nm, &t->dtype);
  if (st) return st;
  if (!tt->shape) return diag_error(I->d, KILN_ERR_UNSUPPORTED, "graph input '%s' has no shape", nm);
  if (tt->shape->n_dim > KILN_MAX_RANK)
    return diag_error(I->d, KILN_ERR_LIMIT, "graph input '%s' has rank %zu, limit is %d", nm,
                      tt->shape->n_dim, KILN_MAX_RANK);
  t->rank = (int)tt->shape->n_dim;
  for (int i = 0; i < t->rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
    bool known = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    t->dims[i] = known ? dm->dim_value : 1;
    if (t->dims[i] < 0)
      return diag_error(I->d, KILN_ERR_INVALID, "graph input '%s' dim %d is negative (%lld)", nm, i,
                        (long long)t->dims[i]);
  }
  return imp_check_limits(I, t, nm);
}

static KilnStatus import_inputs(Imp *I, const Onnx__GraphProto *g) {
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *vi = g->input[i];
    if (!vi->name || imp_lookup(I, vi->name)) continue; /* an initializer: not an argument */
    TensorType t = {0};
    KilnStatus st = input_type(I, vi, &t);
    if (st) return st;
    Value *v = func_add_arg(I->f, t, vi->name);
    if ((st = imp_def_entry(I, vi->name, (Entry){.type = t, .v = v}))) return st;
  }
  return KILN_OK;
}

static KilnStatus import_outputs(Imp *I, const Onnx__GraphProto *g) {
  if (!g->n_output) return diag_error(I->d, KILN_ERR_INVALID, "graph has no outputs");
  Value **vals = imp_alloc(I, (int64_t)(sizeof(Value *) * g->n_output));
  const char **names = imp_alloc(I, (int64_t)(sizeof(char *) * g->n_output));
  if (!vals || !names) return diag_error(I->d, KILN_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < g->n_output; i++) {
    const char *nm = g->output[i]->name ? g->output[i]->name : "";
    Entry *e = imp_lookup(I, nm);
    if (!e) return diag_error(I->d, KILN_ERR_INVALID, "graph output '%s' is not produced by any node", nm);
    if (!(vals[i] = imp_value(I, e))) return diag_error(I->d, KILN_ERR_NOMEM, "out of memory");
    names[i] = nm;
  }
  func_set_results(I->f, (int)g->n_output, vals, names);
  return KILN_OK;
}

static KilnStatus read_opset(Imp *I, const Onnx__ModelProto *mp) {
  I->opset = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++)
    if (is_default_domain(mp->opset_import[i]->domain)) I->opset = mp->opset_import[i]->version;
  if (I->opset < 0) return KILN_OK; /* fine if no node is in the default domain (import_node) */
  if (I->opset < 11 || I->opset > 21)
    return diag_error(I->d, KILN_ERR_UNSUPPORTED, "unsupported default-domain opset %lld (Kiln supports 11 to 21)",
                      (long long)I->opset);
  return KILN_OK;
}

static KilnStatus import_graph(Imp *I, const Onnx__ModelProto *mp) {
  KilnStatus st = read_opset(I, mp);
  if (st) return st;
  const Onnx__GraphProto *g = mp->graph;
  if (!g) return diag_error(I->d, KILN_ERR_INVALID, "not a valid ONNX model: it has no graph");
  if ((st = onnx_check_graph(g, I->d))) return st;
  I->f = func_new(I->m, g->name && g->name[0] ? g->name : "main");
  I->m->main = I->f;
  if ((st = tab_grow(I)) || (st = import_initializers(I, g)) || (st = import_inputs(I, g)))
    return st;
  for (size_t i = 0; i < g->n_node; i++)
    if ((st = import_node(I, g->node[i]))) return st;
  if ((st = import_outputs(I, g))) return st;
  return func_verify(I->f, I->d);
}

KilnStatus onnx_import_model(const Onnx__ModelProto *mp, const char *base_dir, Module **out, Diag *d) {
  *out = NULL;
  Imp I = {.d = d, .base_dir = base_dir ? base_dir : "."};
  I.m = module_new();
  KilnStatus st = I.m ? import_graph(&I, mp) : diag_error(d, KILN_ERR_NOMEM, "out of memory");
  free(I.tab);
  if (st) {
    module_free(I.m);
    return st;
  }
  *out = I.m;
  return KILN_OK;
}

KilnStatus onnx_import(const uint8_t *data, size_t size, const char *base_dir, Module **out,
                       Diag *d) {
  *out = NULL;
  if (size == 0) return diag_error(d, KILN_ERR_INVALID, "not a valid ONNX model: the file is empty");
  KilnStatus st = onnx_check_nesting(data, size, d);
  if (st) return st;
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
  if (!mp) return diag_error(d, KILN_ERR_INVALID, "not a valid ONNX model: protobuf decode failed");
  st = onnx_import_model(mp, base_dir, out, d);
  onnx__model_proto__free_unpacked(mp, NULL);
  return st;
}

KilnStatus onnx_import_file(const char *path, Module **out, Diag *d) {
  uint8_t *buf;
  size_t size;
  *out = NULL;
  KilnStatus st = file_read_all(path, &buf, &size, d);
  if (st) return st;
  char *dir = strdup(path);
  if (!dir) {
    free(buf);
    return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  }
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  st = onnx_import(buf, size, slash ? (dir[0] ? dir : "/") : ".", out, d);
  free(dir);
  free(buf);
  if (st && !strncmp(d->msg, "not a valid ONNX model", 22)) { /* say which file */
    char msg[sizeof d->msg];
    snprintf(msg, sizeof msg, "%.300s: %.700s", path, d->msg);
    memcpy(d->msg, msg, sizeof msg);
  }
  return st;
}
