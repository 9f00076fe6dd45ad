/* import_build.h — builds small ONNX models in C with protobuf-c structs, for importer tests.
 *
 * MB collects a graph (nodes, initializers, inputs, outputs) whose every allocation goes
 * into a pool freed by mb_free(); mb_import() packs it with onnx__model_proto__pack and
 * runs onnx_import on the bytes. Inputs and outputs of nodes are given as
 * comma-separated names ("x,w,b"; an empty field is an absent optional input). */
#ifndef KILN_IMPORT_BUILD_H
#define KILN_IMPORT_BUILD_H

#include <string.h>

#include "import/import.h"
#include "onnx/onnx.pb-c.h"

enum { MB_F = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, MB_I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
       MB_I8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8, MB_U8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 };

typedef struct MB {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  Onnx__NodeProto *nodes[64];
  Onnx__TensorProto *inits[64];
  Onnx__ValueInfoProto *inputs[16], *outputs[16];
  void *pool[4096];
  int n_pool;
} MB;

static void *mb_alloc(MB *b, size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (!p || b->n_pool == (int)(sizeof b->pool / sizeof b->pool[0])) abort();
  b->pool[b->n_pool++] = p;
  return p;
}

static char *mb_str(MB *b, const char *s) {
  char *p = mb_alloc(b, strlen(s) + 1);
  strcpy(p, s);
  return p;
}

static void mb_init(MB *b, int64_t opset) {
  memset(b, 0, sizeof *b);
  onnx__model_proto__init(&b->model);
  onnx__graph_proto__init(&b->graph);
  onnx__operator_set_id_proto__init(&b->opset);
  b->opset.domain = mb_str(b, "");
  b->opset.has_version = 1;
  b->opset.version = opset;
  b->opsets[0] = &b->opset;
  b->model.n_opset_import = 1;
  b->model.opset_import = b->opsets;
  b->model.has_ir_version = 1;
  b->model.ir_version = 8;
  b->model.graph = &b->graph;
  b->graph.name = mb_str(b, "test");
  b->graph.node = b->nodes;
  b->graph.initializer = b->inits;
  b->graph.input = b->inputs;
  b->graph.output = b->outputs;
}

static void mb_free(MB *b) {
  for (int i = 0; i < b->n_pool; i++) free(b->pool[i]);
  b->n_pool = 0;
}

/* Splits "a,b,,c" into a pooled array of strings. */
static size_t mb_split(MB *b, const char *list, char ***out) {
  size_t n = list[0] ? 1 : 0;
  for (const char *p = list; *p; p++) n += *p == ',';
  *out = mb_alloc(b, sizeof(char *) * (n ? n : 1));
  const char *s = list;
  for (size_t i = 0; i < n; i++) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    (*out)[i] = mb_alloc(b, len + 1);
    memcpy((*out)[i], s, len);
    s = e ? e + 1 : s + len;
  }
  return n;
}

static Onnx__ValueInfoProto *mb_value_info(MB *b, const char *name, int32_t elem, int rank,
                                           const int64_t *dims) {
  Onnx__ValueInfoProto *vi = mb_alloc(b, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = mb_str(b, name);
  if (rank < 0) return vi;
  Onnx__TypeProto *tp = mb_alloc(b, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof *tt);
  Onnx__TensorShapeProto *sh = mb_alloc(b, sizeof *sh);
  onnx__type_proto__init(tp);
  onnx__type_proto__tensor__init(tt);
  onnx__tensor_shape_proto__init(sh);
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  tt->has_elem_type = 1;
  tt->elem_type = elem;
  tt->shape = sh;
  sh->n_dim = (size_t)rank;
  sh->dim = mb_alloc(b, sizeof(void *) * (size_t)(rank ? rank : 1));
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    if (dims[i] >= 0) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = dims[i];
    } else {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = mb_str(b, "batch");
    }
    sh->dim[i] = d;
  }
  vi->type = tp;
  return vi;
}

static void mb_input(MB *b, const char *name, int32_t elem, int rank, const int64_t *dims) {
  b->inputs[b->graph.n_input++] = mb_value_info(b, name, elem, rank, dims);
}

static void mb_output(MB *b, const char *name) {
  b->outputs[b->graph.n_output++] = mb_value_info(b, name, 0, -1, NULL);
}

static Onnx__NodeProto *mb_node(MB *b, const char *op, const char *name, const char *ins,
                                const char *outs) {
  Onnx__NodeProto *n = mb_alloc(b, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = mb_str(b, op);
  n->name = mb_str(b, name);
  n->n_input = mb_split(b, ins, &n->input);
  n->n_output = mb_split(b, outs, &n->output);
  n->attribute = mb_alloc(b, sizeof(void *) * 16);
  b->nodes[b->graph.n_node++] = n;
  return n;
}

static Onnx__AttributeProto *mb_attr(MB *b, Onnx__NodeProto *n, const char *name,
                                     Onnx__AttributeProto__AttributeType t) {
  Onnx__AttributeProto *a = mb_alloc(b, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = mb_str(b, name);
  a->has_type = 1;
  a->type = t;
  n->attribute[n->n_attribute++] = a;
  return a;
}

static void mb_attr_i(MB *b, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

static void mb_attr_f(MB *b, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

static void mb_attr_s(MB *b, Onnx__NodeProto *n, const char *name, const char *v) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.data = (uint8_t *)mb_str(b, v);
  a->s.len = strlen(v);
}

static void mb_attr_ints(MB *b, Onnx__NodeProto *n, const char *name, int cnt, const int64_t *v) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t)cnt;
  a->ints = mb_alloc(b, sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}

static Onnx__TensorProto *mb_tensor(MB *b, const char *name, int32_t elem, int rank,
                                    const int64_t *dims) {
  Onnx__TensorProto *t = mb_alloc(b, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = mb_str(b, name);
  t->has_data_type = 1;
  t->data_type = elem;
  t->n_dims = (size_t)rank;
  t->dims = mb_alloc(b, sizeof(int64_t) * (size_t)(rank ? rank : 1));
  if (rank) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  return t;
}

static void mb_attr_t(MB *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  a->t = t;
}

static int64_t mb_numel(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  return n;
}

/* Float initializer in float_data; data NULL = 0, 1, 2, ... */
static Onnx__TensorProto *mb_init_f(MB *b, const char *name, int rank, const int64_t *dims,
                                    const float *data) {
  Onnx__TensorProto *t = mb_tensor(b, name, MB_F, rank, dims);
  int64_t n = mb_numel(rank, dims);
  t->n_float_data = (size_t)n;
  t->float_data = mb_alloc(b, sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) t->float_data[i] = data ? data[i] : (float)i;
  b->inits[b->graph.n_initializer++] = t;
  return t;
}

/* int64 initializer as raw_data. */
static Onnx__TensorProto *mb_init_i64(MB *b, const char *name, int rank, const int64_t *dims,
                                      const int64_t *data) {
  Onnx__TensorProto *t = mb_tensor(b, name, MB_I64, rank, dims);
  int64_t n = mb_numel(rank, dims);
  t->has_raw_data = 1;
  t->raw_data.len = (size_t)n * 8;
  t->raw_data.data = mb_alloc(b, t->raw_data.len);
  memcpy(t->raw_data.data, data, t->raw_data.len);
  b->inits[b->graph.n_initializer++] = t;
  return t;
}

/* 1-D int64 initializer from a list. */
static void mb_ints(MB *b, const char *name, int n, const int64_t *v) {
  int64_t d = n;
  mb_init_i64(b, name, 1, &d, v);
}

static KilnStatus mb_import(MB *b, Module **m, Diag *d) {
  size_t len = onnx__model_proto__get_packed_size(&b->model);
  uint8_t *buf = malloc(len ? len : 1);
  onnx__model_proto__pack(&b->model, buf);
  KilnStatus st = onnx_import(buf, len, "/tmp", m, d);
  free(buf);
  mb_free(b);
  return st;
}

/* ---- inspecting the result -------------------------------------------------------- */

static int count_ops(const Module *m, OpKind k) {
  int n = 0;
  for (const Op *op = m->main->first; op; op = op->next) n += op->kind == k;
  return n;
}

static const Op *find_op(const Module *m, OpKind k, int nth) {
  for (const Op *op = m->main->first; op; op = op->next)
    if (op->kind == k && nth-- == 0) return op;
  return NULL;
}

static bool dims_are(const TensorType *t, int rank, const int64_t *dims) {
  if (t->rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (t->dims[i] != dims[i]) return false;
  return true;
}

#endif
