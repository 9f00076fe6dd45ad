/* fuzz_pipeline.c — structure-aware libFuzzer target: ONNX model -> import -> the whole
 * global-optimization pipeline (driver_compile) -> the reference interpreter on random
 * inputs.
 *
 * The custom mutator decodes the input with protobuf-c (into a pool, so fields can be
 * re-pointed freely), applies 1-4 mutations chosen by libFuzzer's seed — attribute ints
 * and floats, graph-input dims, dtypes (inputs, initializers, Cast 'to'), graph edges
 * (an input renamed to another existing value), dropped nodes / inputs / attributes,
 * op types swapped, the opset — and re-encodes. One in eight times (or when the input
 * does not decode) it falls back to libFuzzer's byte-level mutation.
 *
 * To keep each execution fast, models whose inputs hold more than FUZZ_MAX_INPUT_ELEMS
 * elements, whose constants sum to more than FUZZ_MAX_CONST_BYTES or whose imported
 * values sum to more than FUZZ_MAX_VALUE_BYTES are only imported, not run. */
#include <string.h>

#include "driver/driver.h"
#include "fuzz_budget.h"
#include "fuzz_common.h"
#include "import/import.h"
#include "onnx/onnx.pb-c.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed);

/* ---- the run ----------------------------------------------------------------------- */


static void run_model(Module *m) {
  Diag d = {0};
  CompileOptions opt = {0};
  KilnStatus st = driver_compile(m, &opt, NULL, 0, NULL, &d);
  fuzz_check_diag(st, &d);
  if (st) return;
  const Func *f = m->main;
  if (!fuzz_small_enough(m)) return; /* a pass may not grow values past the budget, but be safe */
  Tensor **ins = calloc((size_t)f->n_args + 1, sizeof *ins);
  Tensor **outs = calloc((size_t)f->n_results + 1, sizeof *outs);
  if (ins && outs && !driver_random_inputs(f, 1, ins, &d)) {
    st = interp_run(f, ins, outs, &d);
    fuzz_check_diag(st, &d);
    for (int i = 0; !st && i < f->n_results; i++) tensor_free(outs[i]);
    for (int i = 0; i < f->n_args; i++) tensor_free(ins[i]);
  }
  free(ins);
  free(outs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d = {0};
  Module *m = NULL;
  KilnStatus st = onnx_import(data, size, "/nonexistent-kiln-fuzz", &m, &d);
  fuzz_check_diag(st, &d);
  if (st == KILN_OK && fuzz_small_enough(m)) run_model(m);
  module_free(m);
  return 0;
}

/* ---- the mutator ------------------------------------------------------------------- */

/* Every allocation of one decode, freed together: mutations may share pointers. */
typedef struct Pool {
  void **p;
  size_t n, cap;
} Pool;

static void *pool_alloc(void *ud, size_t size) {
  Pool *pl = ud;
  if (pl->n == pl->cap) {
    size_t cap = pl->cap ? pl->cap * 2 : 256;
    void **np = realloc(pl->p, cap * sizeof *np);
    if (!np) return NULL;
    pl->p = np;
    pl->cap = cap;
  }
  void *r = calloc(1, size ? size : 1);
  if (r) pl->p[pl->n++] = r;
  return r;
}

static void pool_nofree(void *ud, void *p) { (void)ud, (void)p; }

static void pool_free_all(Pool *pl) {
  for (size_t i = 0; i < pl->n; i++) free(pl->p[i]);
  free(pl->p);
}

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

static int64_t interesting_int(uint64_t *s) {
  static const int64_t v[] = {-1, 0, 1, 2, 3, 4, 7, 8, -2, 16, 255, 65536, INT32_MAX,
                              INT64_MAX, INT64_MIN, -9223372036854775807ll, 1ll << 32};
  return rnd(s) % 2 ? v[rnd(s) % ARRAY_LEN(v)] : (int64_t)(rnd(s) % 9) - 2;
}

static const int32_t onnx_types[] = {0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 16, 8, 12, 13, 4};

static Onnx__NodeProto *pick_node(Onnx__GraphProto *g, uint64_t *s) {
  return g->n_node ? g->node[rnd(s) % g->n_node] : NULL;
}

/* A value name that exists somewhere in the graph (input, initializer or node output). */
static char *pick_name(Onnx__GraphProto *g, uint64_t *s) {
  for (int tries = 0; tries < 4; tries++) {
    switch (rnd(s) % 3) {
    case 0: if (g->n_input) return g->input[rnd(s) % g->n_input]->name; break;
    case 1: if (g->n_initializer) return g->initializer[rnd(s) % g->n_initializer]->name; break;
    default: {
      Onnx__NodeProto *n = pick_node(g, s);
      if (n && n->n_output) return n->output[rnd(s) % n->n_output];
    }
    }
  }
  return NULL;
}

static void mutate_attr(Onnx__NodeProto *n, uint64_t *s) {
  if (!n || !n->n_attribute) return;
  Onnx__AttributeProto *a = n->attribute[rnd(s) % n->n_attribute];
  switch (rnd(s) % 5) {
  case 0: if (a->n_ints) a->ints[rnd(s) % a->n_ints] = interesting_int(s); break;
  case 1: if (a->has_i) a->i = interesting_int(s); break;
  case 2: if (a->n_ints) a->n_ints = rnd(s) % (a->n_ints + 1); break;
  case 3: {
    static const float fv[] = {0.0f, -1.0f, 1e30f, -1e-30f, 0.5f, 2.0f, 1.0f / 0.0f, 0.0f / 0.0f};
    if (a->has_f) a->f = fv[rnd(s) % ARRAY_LEN(fv)];
    else if (a->n_floats) a->floats[rnd(s) % a->n_floats] = fv[rnd(s) % ARRAY_LEN(fv)];
    break;
  }
  default: { /* drop the attribute */
    size_t i = rnd(s) % n->n_attribute;
    n->attribute[i] = n->attribute[--n->n_attribute];
  }
  }
}

static void mutate_dims(Onnx__GraphProto *g, uint64_t *s) {
  if (!g->n_input) return;
  Onnx__ValueInfoProto *vi = g->input[rnd(s) % g->n_input];
  Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return;
  Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (rnd(s) % 4 == 0) {
    tt->elem_type = onnx_types[rnd(s) % ARRAY_LEN(onnx_types)];
    return;
  }
  if (!tt->shape || !tt->shape->n_dim) return;
  Onnx__TensorShapeProto *sh = tt->shape;
  if (rnd(s) % 5 == 0) {
    sh->n_dim--; /* rank - 1 */
    return;
  }
  Onnx__TensorShapeProto__Dimension *dm = sh->dim[rnd(s) % sh->n_dim];
  dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  dm->dim_value = rnd(s) % 8 ? (int64_t)(rnd(s) % 9) : interesting_int(s);
}

static void mutate_initializer(Onnx__GraphProto *g, uint64_t *s) {
  if (!g->n_initializer) return;
  Onnx__TensorProto *t = g->initializer[rnd(s) % g->n_initializer];
  if (rnd(s) % 2) t->data_type = onnx_types[rnd(s) % ARRAY_LEN(onnx_types)];
  else if (t->n_dims) t->dims[rnd(s) % t->n_dims] = interesting_int(s);
}

static void mutate_edge(Onnx__GraphProto *g, uint64_t *s) {
  Onnx__NodeProto *n = pick_node(g, s);
  char *name = pick_name(g, s);
  if (!n || !name) return;
  if (n->n_input && rnd(s) % 4) n->input[rnd(s) % n->n_input] = name;
  else if (g->n_output) g->output[rnd(s) % g->n_output]->name = name;
}

static void mutate_node(Onnx__GraphProto *g, uint64_t *s) {
  Onnx__NodeProto *n = pick_node(g, s);
  if (!n) return;
  switch (rnd(s) % 4) {
  case 0: { /* drop the node */
    size_t i = rnd(s) % g->n_node;
    memmove(&g->node[i], &g->node[i + 1], (g->n_node - i - 1) * sizeof *g->node);
    g->n_node--;
    break;
  }
  case 1: if (n->n_input) n->n_input--; break;
  case 2: { /* another op type the importer knows */
    int k = 0;
    while (onnx_supported_op(k)) k++;
    n->op_type = (char *)onnx_supported_op((int)(rnd(s) % (uint32_t)k));
    break;
  }
  default: { /* Cast 'to' and friends */
    for (size_t i = 0; i < n->n_attribute; i++)
      if (n->attribute[i]->has_i && n->attribute[i]->name && !strcmp(n->attribute[i]->name, "to"))
        n->attribute[i]->i = onnx_types[rnd(s) % ARRAY_LEN(onnx_types)];
  }
  }
}

static void mutate_model(Onnx__ModelProto *mp, uint64_t *s) {
  Onnx__GraphProto *g = mp->graph;
  switch (rnd(s) % 8) {
  case 0: case 1: mutate_attr(pick_node(g, s), s); break;
  case 2: mutate_dims(g, s); break;
  case 3: mutate_initializer(g, s); break;
  case 4: case 5: mutate_edge(g, s); break;
  case 6: mutate_node(g, s); break;
  default:
    if (mp->n_opset_import) mp->opset_import[0]->version = 10 + (int64_t)(rnd(s) % 13);
  }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  if (rnd(&s) % 8 == 0) return LLVMFuzzerMutate(data, size, max_size);
  Pool pl = {0};
  ProtobufCAllocator alloc = {pool_alloc, pool_nofree, &pl};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(&alloc, size, data);
  size_t out = 0;
  if (mp && mp->graph) {
    int k = 1 + (int)(rnd(&s) % 4);
    while (k--) mutate_model(mp, &s);
    size_t len = onnx__model_proto__get_packed_size(mp);
    if (len <= max_size) out = onnx__model_proto__pack(mp, data);
  }
  pool_free_all(&pl);
  return out ? out : LLVMFuzzerMutate(data, size, max_size);
}
