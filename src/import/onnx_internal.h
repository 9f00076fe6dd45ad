/* onnx_internal.h — what the files of the ONNX importer share (not a public header).
 *
 * The importer walks the graph's nodes in order. Every ONNX value name maps to an Entry:
 * its static type, and either an IR Value or constant data (or both). Constants
 * (initializers, Constant nodes, folded shape subgraphs) keep their data in the module's
 * arena and become a module constant plus a CONSTANT op only when an IR op consumes
 * them (imp_value), so folded shape chains leave nothing behind.
 *
 *   onnx.c        entry points, graph inputs/outputs, node loop, op table, attributes
 *   onnx_limits.c protobuf nesting, node count and name checks before import
 *   onnx_tensor.c TensorProto decoding (raw, typed, external data), element access
 *   onnx_ew.c     elementwise ops as GENERIC with a scalar body; constant evaluation
 *   onnx_nn.c     conv, pooling, gemm/matmul, resize, softmax, reductions, BN, QDQ
 *   onnx_shape.c  shape and data movement ops, folded when their inputs are constant
 *   onnx_qlinear.c QLinearConv / QLinearMatMul as DQ -> conv/matmul -> Q */
#ifndef KILN_ONNX_INTERNAL_H
#define KILN_ONNX_INTERNAL_H

#include "import/import.h"
#include "onnx/onnx.pb-c.h"

typedef struct Entry {
  const char *name;
  TensorType type;
  Value *v;          /* IR value; NULL for a constant not yet used by an IR op */
  void *data;        /* constant data (module arena), NULL if not a constant */
  int ci;            /* module constant index, -1 until added */
} Entry;

typedef struct Imp {
  Module *m;
  Func *f;
  Diag *d;
  const char *base_dir;
  int64_t opset;                /* default-domain opset */
  Entry **tab;                  /* open-addressing hash table by name (malloc'd) */
  size_t cap, n;
  const Onnx__NodeProto *node;  /* the node being imported, for messages */
  int64_t folded;               /* bytes of constants folded so far (KILN_FOLD_TOTAL_LIMIT) */
} Imp;

typedef KilnStatus (*OpImportFn)(Imp *I, const Onnx__NodeProto *n);

/* ---- onnx.c ---------------------------------------------------------------------- */

/* onnx_import() on a ModelProto already in memory (unpacked, or built by the
 * upstream-MLIR importer from torch-mlir's `torch.operator "onnx.X"` form). */
KilnStatus onnx_import_model(const Onnx__ModelProto *mp, const char *base_dir, Module **out, Diag *d);

/* "<OpType> node '<name>': <what>" for the current node. */
KilnStatus imp_err(Imp *I, KilnStatus st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *onnx_node_label(const Onnx__NodeProto *n);
Entry *imp_lookup(Imp *I, const char *name);
/* Input i of the node, or NULL when absent or an empty name. */
Entry *imp_in(Imp *I, const Onnx__NodeProto *n, int i);
/* Makes output k of the current node a name for v / for constant data of type t. */
KilnStatus imp_def(Imp *I, const Onnx__NodeProto *n, int k, Value *v);
KilnStatus imp_def_const(Imp *I, const Onnx__NodeProto *n, int k, TensorType t, void *data);
KilnStatus imp_def_entry(Imp *I, const char *name, Entry e);
/* The IR value of an entry; a constant is added to the module on first use. */
Value *imp_value(Imp *I, Entry *e);
void *imp_alloc(Imp *I, int64_t nbytes);
/* Data for a constant computed at import, of type t: NULL (and an error recorded) when
 * it exceeds the folding limit (KILN_FOLD_LIMIT bytes) or memory runs out. */
#define KILN_FOLD_LIMIT (1ll << 30)
#define KILN_FOLD_TOTAL_LIMIT (4ll << 30) /* all constants folded at import together */
void *imp_fold_alloc(Imp *I, const TensorType *t);
/* Creates an op named after the node (plus suffix); results get `types` or placeholders. */
Op *imp_op(Imp *I, OpKind k, const char *suffix, int n_in, Value **in, int n_out,
           const TensorType *types);
/* Runs op_infer_types and stores the result types. */
KilnStatus imp_finish(Imp *I, Op *op);
/* Convenience: a one-input, one-result op on an entry. */
Op *imp_op1(Imp *I, OpKind k, const char *suffix, Entry *x, const TensorType *type);

const Onnx__AttributeProto *onnx_attr_find(const Onnx__NodeProto *n, const char *name);
int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def);
float onnx_attr_float(const Onnx__NodeProto *n, const char *name, float def);
/* Copies a string attribute (or def) into buf. */
const char *onnx_attr_str(const Onnx__NodeProto *n, const char *name, const char *def, char *buf, size_t cap);
/* Reads an ints attribute into out (max entries); returns the count, -1 if absent.
 * More than max entries is an error (returns -2 after recording it). */
int onnx_attr_ints(Imp *I, const Onnx__NodeProto *n, const char *name, int64_t *out, int max);
KilnStatus imp_no_extra_outputs(Imp *I, const Onnx__NodeProto *n, int first_unsupported);

/* ---- onnx_limits.c --------------------------------------------------------------- */

#define KILN_ONNX_MAX_NESTING 64      /* protobuf message nesting (subgraphs, sequence types) */
#define KILN_ONNX_MAX_NODES 1000000   /* nodes, and initializers / inputs / outputs each */
#define KILN_ONNX_MAX_NAME 4096       /* bytes of a name; control characters are refused */
#define KILN_ONNX_MAX_INIT_BYTES (16ll << 30) /* all initializers together */

/* Before unpacking: the protobuf nesting depth of the raw bytes. */
KilnStatus onnx_check_nesting(const uint8_t *data, size_t size, Diag *d);
/* After unpacking: counts and names of the graph. */
KilnStatus onnx_check_graph(const Onnx__GraphProto *g, Diag *d);

/* ---- onnx_tensor.c --------------------------------------------------------------- */

KilnStatus onnx_dtype(Imp *I, int32_t onnx_type, const char *what, DType *out);
/* Decodes a TensorProto (any data source) into the module arena. */
KilnStatus onnx_tensor_load(Imp *I, const Onnx__TensorProto *t, TensorType *type, void **data);
/* Checks rank / dims / element count / byte size limits of a new type. */
KilnStatus imp_check_limits(Imp *I, const TensorType *t, const char *what);
double imp_get_f(DType dt, const void *data, int64_t i);
int64_t imp_get_i(DType dt, const void *data, int64_t i);
void imp_set_f(DType dt, void *data, int64_t i, double v);
void imp_set_i(DType dt, void *data, int64_t i, int64_t v);
/* A constant 1-D (or scalar) integer input as a list; error if not constant. */
KilnStatus imp_const_ints(Imp *I, Entry *e, const char *what, int64_t *out, int max, int *count);
/* A constant float scalar/list; error if not constant. */
KilnStatus imp_const_floats(Imp *I, Entry *e, const char *what, double *out, int max, int *count);
/* Advances a C-order multi-index; false after the last. */
bool imp_idx_next(int64_t *idx, const int64_t *dims, int rank);

/* ---- onnx_ew.c ------------------------------------------------------------------- */

/* Builder of one elementwise GENERIC (or its constant evaluation). */
typedef struct EW {
  Imp *I;
  TensorType out;                     /* result type (shape = broadcast of inputs) */
  int n_in;
  Entry *in[KILN_MAX_OPERANDS];       /* non-inlined operands */
  AffineMap maps[KILN_MAX_OPERANDS + 1];
  BodyInst insts[64];
  int n_insts;
  bool fold;                          /* evaluate at import when all inputs are constant */
} EW;

/* Starts a builder whose shape broadcasts the given entries (numpy rules). */
KilnStatus ew_begin(EW *w, Imp *I, Entry **ins, int n, DType out_dtype);
int ew_in(EW *w, Entry *e);                     /* trailing-aligned broadcast */
int ew_in_axis(EW *w, Entry *e, int axis);      /* 1-D entry along loop `axis` */
int ew_const(EW *w, double v, DType dt);
int ew_op(EW *w, BodyOpKind k, DType dt, int a, int b);
int ew_sel(EW *w, int c, int a, int b);
int ew_cmp(EW *w, CmpPred p, int a, int b);
int ew_cast(EW *w, int a, DType to);
/* Emits the GENERIC (or folds it) into *res, an entry outside the name table. */
KilnStatus ew_emit(EW *w, const char *suffix, int yield, Entry *res);
/* ew_emit, then binds output out_k of node n to the result. */
KilnStatus ew_end(EW *w, const Onnx__NodeProto *n, int out_k, int yield);
/* Allocates an entry (outside the name table) for constant data. */
Entry *imp_const_entry(Imp *I, const char *name, TensorType t, void *data);

KilnStatus imp_unary(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_binary(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_variadic(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_compare(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_where(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_clip(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_cast(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_quantize(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_dequantize(Imp *I, const Onnx__NodeProto *n);
/* onnx_qlinear.c */
KilnStatus imp_qlinear_conv(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_qlinear_matmul(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_conv_integer(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_matmul_integer(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_batchnorm(Imp *I, const Onnx__NodeProto *n);

/* ---- onnx_nn.c ------------------------------------------------------------------- */

KilnStatus imp_conv(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_conv_transpose(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_pool(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_global_pool(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_gemm(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_matmul(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_resize(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_softmax(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_reduce(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_argmax(Imp *I, const Onnx__NodeProto *n);

/* ---- onnx_shape.c ---------------------------------------------------------------- */

/* A RESHAPE of x to type t (folded when x is constant); out is a new entry. */
KilnStatus imp_reshape_to(Imp *I, Entry *x, TensorType t, const char *suffix, Entry *out);
/* A TRANSPOSE of x (folded when x is constant). */
KilnStatus imp_transpose_to(Imp *I, Entry *x, const int64_t *perm, const char *suffix, Entry *out);
KilnStatus imp_reshape(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_flatten(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_squeeze(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_unsqueeze(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_identity(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_dropout(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_transpose(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_concat(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_split(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_slice(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_pad(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_gather(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_shape(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_constant(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_constant_of_shape(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_range(Imp *I, const Onnx__NodeProto *n);
KilnStatus imp_reduce_prod(Imp *I, const Onnx__NodeProto *n);

#endif
