/* mlir_upstream.h — what the files of the upstream-MLIR importer share (not public).
 *
 * The importer reads MLIR text in upstream syntax (linalg on tensors, as IREE prints it,
 * or torch-mlir's `torch.operator "onnx.X"` form from iree-import-onnx) into a Module.
 * It reuses the lexer and attribute helpers of Kiln's own parser (src/ir/text.h).
 *
 *   mlir_upstream.c          entry point, module / func skeleton, SSA scope, #aliases,
 *                            flow.dispatch.region, return; picks the torch form
 *   mlir_upstream_ops.c      arith.constant, tensor.*, linalg named ops (op table)
 *   mlir_upstream_generic.c  linalg.generic and its scalar body
 *   mlir_upstream_torch.c    torch.operator "onnx.X" -> ONNX nodes -> the ONNX importer
 *
 * Values that upstream IR has but Kiln's IR does not (tensor.empty, linalg.fill,
 * a chain of tensor.insert_slice) stay symbolic (UVal) until an op needs the tensor:
 * named ops accumulate into their `outs` operand, and a fill of zero or an empty tensor
 * there means "no accumulator", so nothing is materialized for it. */
#ifndef KILN_MLIR_UPSTREAM_H
#define KILN_MLIR_UPSTREAM_H

#include "import/import.h"
#include "ir/text.h"

typedef enum {
  UV_TENSOR,   /* an IR value */
  UV_SCALAR,   /* arith.constant of a scalar type (f32, i64, index ...) */
  UV_EMPTY,    /* tensor.empty */
  UV_FILL,     /* linalg.fill of a scalar into an empty tensor */
  UV_INSERTS,  /* tensor.insert_slice(s) into an empty / filled tensor */
  UV_OPAQUE,   /* an IREE ABI value (!hal.buffer_view, !hal.fence): hal.tensor.import reads it */
} UValKind;

struct UVal;
typedef struct UPiece {
  struct UVal *src;
  int64_t off[KILN_MAX_RANK];
} UPiece;

typedef struct UVal {
  UValKind kind;
  TensorType type;     /* UV_SCALAR: rank 0 */
  Value *v;            /* UV_TENSOR */
  double s;            /* UV_SCALAR, UV_FILL, UV_INSERTS: the (fill) value */
  int n_pieces;        /* UV_INSERTS */
  UPiece *pieces;
} UVal;

enum { UP_BUCKETS = 4096, UP_MAX_RESULTS = 64 };

typedef struct USym {
  const char *name;
  UVal *val;
  struct USym *next;       /* in its bucket */
  struct USym *older;      /* the symbol defined before it (Up.log) */
} USym;

typedef struct UAlias {
  const char *name;        /* "#map1" */
  const char *text;        /* where its value starts */
  struct UAlias *next;
} UAlias;

typedef struct Up {
  Parser ps;
  Module *m;
  Func *f;
  bool result_opaque[UP_MAX_RESULTS]; /* the function returns !hal.buffer_view there */
  USym *buckets[UP_BUCKETS];
  USym *log;               /* the newest symbol; regions pop back to a mark */
  UAlias *aliases;
} Up;

/* One op being read: its name, where it starts, the result names it defines. */
typedef struct UpOp {
  const char *at;          /* start of the op name */
  char name[64];           /* "linalg.conv_2d_nchw_fchw" */
  char res[128];           /* result name without '%', "" when none */
  int n_res;               /* N of %x:N (1 without, 0 without results) */
} UpOp;

typedef bool (*UpOpFn)(Up *u, UpOp *o);

/* ---- mlir_upstream.c --------------------------------------------------------- */

/* A scalar constant as an integer: NaN is 0, out-of-range values saturate (a plain cast
 * is undefined there, and the values come from the text). */
int64_t up_to_i64(double x);

/* Forgets the symbols defined after `mark` (a value of Up.log): the names of a region
 * that is not isolated from above (pad, dispatch region) are reused after it. */
void up_scope_pop(Up *u, USym *mark);
/* Binds the results of o to vals (n of them, n == o->n_res). */
bool up_define(Up *u, UpOp *o, UVal **vals, int n);
/* Skips one type: `!dialect.name<...>`, `tensor<...>`, `f32`, or a `(...)` list. */
bool up_skip_type(Parser *ps);
/* Reads `%name` / `%name#k` and returns what it names (NULL after an error). */
UVal *up_use(Up *u);
/* `%a, %b : t1, t2` (n values then as many types, checked); max UP_MAX_RESULTS. */
bool up_use_list(Up *u, UVal **vals, int *n, bool with_types);
UVal *up_tensor_val(Up *u, Value *v);
/* The IR value of x, materializing an empty / fill / insert chain (as a constant or a
 * concat / pad); NULL with an error at `at`. */
Value *up_value(Up *u, UVal *x, const char *at);
/* `affine_map<...>` or an `#alias` of one. */
bool up_affine_map(Up *u, AffineMap *m, int *n_dims);
/* Skips one attribute value of any shape (unknown attributes are errors, ignored ones
 * are skipped): balanced brackets, strings, up to ',' or the closing '}' at depth 0. */
bool up_skip_attr_value(Up *u);
/* Checks that op's result types follow from its operands (op_infer_types) and equal
 * `want` (the type the text says); an error at `at` names the op. */
bool up_check_result(Up *u, Op *op, const TensorType *want, const char *at);
/* Parses the ops of a block until `}` (nested flow.dispatch.region blocks included);
 * `term` is the terminator keyword ("return", "util.return", "flow.return"), whose
 * values are stored into *rets. */
bool up_parse_block(Up *u, const char *term, UVal ***rets, int *n_rets);

/* ---- mlir_upstream_ops.c ----------------------------------------------------- */

/* The handler of an op name (arith.constant, tensor.*, linalg named ops,
 * linalg.generic), or NULL when the op is unknown. */
UpOpFn up_find_op(const char *name);
/* x converted elementwise to `to` (a cast generic; x itself when it has that dtype). */
Value *up_cast_to(Up *u, Value *x, DType to);
/* r accumulated into a named op's `outs` init with k (add, or max for max pooling):
 * nothing for an empty tensor or a fill of `neutral`. */
Value *up_accumulate(Up *u, Value *r, UVal *init, BodyOpKind k, double neutral, const char *at);

/* ---- mlir_upstream_generic.c ------------------------------------------------- */

bool up_linalg_generic(Up *u, UpOp *o);

/* ---- mlir_upstream_raise.c -------------------------------------------------- */

/* A reducing linalg.generic that is a contraction `out += x * w` (the inputs maybe
 * extended to the output type first), as IREE's generalized convs and matmuls are:
 * raised to Kiln's named ops so the backend can use its microkernels. Pure index
 * contractions become a (batch) matmul between transposes and reshapes; a contraction
 * with two window dims (`dP * s + dR * dl`) becomes a conv_2d (NCHW, fchw weights) or a
 * depthwise conv. Returns the result (the init accumulated), or NULL without an error
 * when the generic is not such a contraction (it then stays a generic). */
Value *up_raise_contraction(Up *u, const char *name, int n_loops, const AffineMap *maps, const Body *body,
                            Value *x, Value *w, UVal *init, const TensorType *out, const char *at);

/* ---- mlir_upstream_torch.c --------------------------------------------------- */

/* Imports torch-mlir's ONNX form (`torch.operator "onnx.X"`) through the ONNX
 * importer's node handlers. */
KilnStatus mlir_torch_import(const char *text, size_t len, const char *path, Module **out, Diag *d);

#endif
