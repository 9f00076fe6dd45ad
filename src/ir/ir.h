/* ir.h — Kiln's IR: types, values, ops, functions, modules.
 *
 * A Module owns one Arena; everything in it (funcs, ops, values, constant data that the
 * module copied) is allocated there and freed with module_free(). A Func is an ordered,
 * doubly-linked list of Ops in SSA form. Every Value has exactly one definition (an op
 * result or a function argument) and a use list that ir.c keeps current: never write
 * Op.in[] directly, call op_set_operand().
 *
 * Tensor types are fully static. Layout conventions of the named ops are in ops.def.
 * Sectioned by defining file, like QBE's all.h. */
#ifndef KILN_IR_H
#define KILN_IR_H

#include <stdbool.h>

#include "../support/support.h"

#define KILN_MAX_RANK 8   /* max tensor rank and max loop count of a generic */
#define KILN_MAX_OPERANDS 64 /* max inputs of a generic (concat may be variadic beyond) */

/* ---- types ------------------------------------------------------------ */

typedef enum {
  KILN_F32, KILN_F16, KILN_BF16, KILN_I8, KILN_U8, KILN_I32, KILN_I64, KILN_BOOL,
  KILN_DTYPE_COUNT
} DType;

typedef struct TensorType {
  DType dtype;
  int rank;                       /* 0 = scalar */
  int64_t dims[KILN_MAX_RANK];    /* all static, >= 0 */
} TensorType;

/* ---- ops ---------------------------------------------------------------- */

typedef enum {
#define OP(e, name, nin, nout, attrs) KILN_OP_##e,
#include "ops.def"
#undef OP
  KILN_OP_COUNT
} OpKind;

typedef enum {
#define BOP(e, fname, iname, nargs) BODY_##e,
#include "body.def"
#undef BOP
  BODY_COUNT
} BodyOpKind;

/* Attribute groups; ops.def says which an op uses. */
enum {
  A_CONST = 1 << 0,       /* const_index */
  A_GENERIC = 1 << 1,     /* n_loops, iterators, maps, body, init */
  A_CONV = 1 << 2,        /* kernel, strides, dilations, pads */
  A_LAYOUT = 1 << 3,      /* layout */
  A_GROUPS = 1 << 4,      /* groups */
  A_OUTPAD = 1 << 5,      /* output_padding */
  A_POOL = 1 << 6,        /* pool_kind, count_include_pad */
  A_RESIZE = 1 << 7,      /* resize_* fields, scales */
  A_AXIS = 1 << 8,        /* axis */
  A_KEEPDIMS = 1 << 9,    /* keepdims */
  A_SELECT_LAST = 1 << 10,/* select_last_index */
  A_PERM = 1 << 11,       /* perm (rank from operand) */
  A_PAD = 1 << 12,        /* pad_lo, pad_hi, pad_mode, pad_value */
  A_REASSOC = 1 << 13,    /* reassoc: group sizes, one per dim of the smaller-rank side */
  A_SLICE = 1 << 14,      /* offsets, steps (sizes = result dims) */
  A_REGION = 1 << 15,     /* region */
};

typedef enum { LAYOUT_NCHW, LAYOUT_NHWC } Layout; /* activation layout */
/* Weight layouts: CONV2D NCHW -> w [F,C/g,KH,KW] (fchw); NHWC -> w [KH,KW,C/g,F] (hwcf).
 * DEPTHWISE NCHW -> w [C,KH,KW]; NHWC -> w [KH,KW,C]. */
typedef enum { POOL_MAX, POOL_AVG } PoolKind;
typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } PadMode;
typedef enum { RESIZE_NEAREST, RESIZE_LINEAR } ResizeMode;
typedef enum {
  COORD_HALF_PIXEL, COORD_ALIGN_CORNERS, COORD_ASYMMETRIC, COORD_PYTORCH_HALF_PIXEL
} CoordMode;
typedef enum {
  NEAREST_ROUND_PREFER_FLOOR, NEAREST_ROUND_PREFER_CEIL, NEAREST_FLOOR, NEAREST_CEIL
} NearestMode;
typedef enum { ITER_PARALLEL, ITER_REDUCTION } IterType;
typedef enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } CmpPred;

/* One result of an affine map: sum_i coef[i] * d_i + cst, over the op's loops. */
typedef struct AffineExpr {
  int64_t coef[KILN_MAX_RANK];
  int64_t cst;
} AffineExpr;

/* Maps the loop indices (n_loops of them) to the indices of one operand. */
typedef struct AffineMap {
  int n_results;                       /* = the operand's rank */
  AffineExpr results[KILN_MAX_RANK];
} AffineMap;

/* One scalar instruction. Operands index earlier instructions of the same body. */
typedef struct BodyInst {
  BodyOpKind kind;
  DType dtype;       /* result element type */
  int n_args;
  int args[3];       /* indices of earlier BodyInsts; YIELD uses yields[] instead */
  int64_t imm_i;     /* ARG: block argument index; CONST: integer literal */
  double imm;        /* CONST: float literal */
  CmpPred pred;      /* CMP */
} BodyInst;

/* A generic's scalar body: insts in order (never a YIELD: the terminator is implicit),
 * yields[k] is the inst whose value output k receives. Block arguments: one per input
 * (element of that input), then one per output (the accumulator, used when reducing). */
typedef struct Body {
  int n_insts;
  BodyInst *insts;
  int n_yield;
  int *yields;       /* inst index yielded for each output */
} Body;

struct Func;

typedef struct OpAttrs {
  /* A_CONST */
  int const_index;
  /* A_GENERIC: maps[] holds one map per input then one per output. */
  int n_loops;
  IterType iterators[KILN_MAX_RANK];
  int n_maps;
  AffineMap *maps;
  Body body;
  double *init;                 /* per output: accumulator start when reducing */
  /* A_CONV */
  int64_t kernel[2];            /* KH, KW */
  int64_t strides[2];
  int64_t dilations[2];
  int64_t pads[4];              /* top, left, bottom, right */
  /* A_LAYOUT, A_GROUPS, A_OUTPAD */
  Layout layout;
  int64_t groups;
  int64_t output_padding[2];
  /* A_POOL */
  PoolKind pool_kind;
  bool count_include_pad;
  /* A_RESIZE */
  ResizeMode resize_mode;
  CoordMode coord_mode;
  NearestMode nearest_mode;
  double cubic_coeff;           /* unused for nearest/linear; kept for printing */
  double scales[KILN_MAX_RANK]; /* output/input scale per dim, as ONNX defines it */
  /* A_AXIS, A_KEEPDIMS, A_SELECT_LAST */
  int64_t axis;
  bool keepdims;
  bool select_last_index;
  /* A_PERM: result dim i = operand dim perm[i] */
  int64_t perm[KILN_MAX_RANK];
  /* A_PAD */
  int64_t pad_lo[KILN_MAX_RANK];
  int64_t pad_hi[KILN_MAX_RANK];
  PadMode pad_mode;
  double pad_value;
  /* A_REASSOC: n_reassoc groups; group g takes reassoc[g] consecutive dims of the larger side */
  int n_reassoc;
  int64_t reassoc[KILN_MAX_RANK];
  /* A_SLICE: result[i] = operand[offsets + i * steps] per dim; steps may be negative */
  int64_t offsets[KILN_MAX_RANK];
  int64_t steps[KILN_MAX_RANK];
  /* A_REGION */
  struct Func *region;
} OpAttrs;

typedef struct Value Value;
typedef struct Op Op;

typedef struct Use {
  Op *user;
  int index;          /* operand position in user->in[] */
  struct Use *next;
} Use;

struct Value {
  int id;             /* unique in the module; printing renumbers */
  TensorType type;
  Op *def;            /* NULL for a function argument */
  int def_index;      /* result index in def->out[], or argument index */
  const char *name;   /* ONNX tensor name, for diagnostics; may be NULL */
  Use *uses;
};

struct Op {
  OpKind kind;
  const char *name;   /* ONNX node name (or generated), for diagnostics */
  int n_in, n_out;
  Value **in;
  Value **out;
  OpAttrs attrs;
  Op *prev, *next;
  struct Func *parent;
};

typedef struct Func {
  const char *name;
  int n_args;
  Value **args;
  const char **arg_names;   /* graph input names */
  int n_results;
  Value **results;          /* the returned values */
  const char **result_names;/* graph output names */
  Op *first, *last;
  struct Module *module;
} Func;

/* A weight or other constant tensor. data is NULL when the text it came from elided it. */
typedef struct Constant {
  const char *name;
  TensorType type;
  void *data;               /* nbytes bytes, owned by the module's arena */
  size_t nbytes;
} Constant;

typedef struct Module {
  Arena arena;
  Func *main;
  int n_consts, cap_consts;
  Constant *consts;
  int next_value_id;
} Module;

/* ---- types.c ---------------------------------------------------------- */

const char *dtype_name(DType t);          /* MLIR spelling: "f32", "i8", "i1" ... */
size_t dtype_size(DType t);
bool dtype_is_float(DType t);
bool dtype_is_unsigned(DType t);          /* u8, bool */
/* Element count; -1 when it overflows int64. */
int64_t type_numel(const TensorType *t);
/* Byte size; -1 on overflow. */
int64_t type_nbytes(const TensorType *t);
bool type_equal(const TensorType *a, const TensorType *b);
TensorType type_make(DType dt, int rank, const int64_t *dims);
/* "tensor<1x3x224x224xf32>" into buf; returns buf. */
char *type_str(const TensorType *t, char *buf, size_t n);
/* f16/bf16 conversions (round to nearest even). */
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

/* ---- ir.c ------------------------------------------------------------- */

Module *module_new(void);
void module_free(Module *m);
/* Adds a constant; copies `data` (may be NULL) into the arena. Returns its index or -1 on OOM. */
int module_add_const(Module *m, const char *name, TensorType type, const void *data);

Func *func_new(Module *m, const char *name);
Value *func_add_arg(Func *f, TensorType t, const char *name);
void func_set_results(Func *f, int n, Value **vals, const char **names);

/* Creates an op with n_in operands (set now, uses recorded) and n_out results of the
 * given types, appended at the end of f (or inserted before `before` if non-NULL). */
Op *op_new(Func *f, OpKind kind, const char *name, int n_in, Value **in,
           int n_out, const TensorType *out_types, Op *before);
/* Shorthand: append a CONSTANT op for module constant ci; returns its result. */
Value *op_const(Func *f, int ci);
void op_set_operand(Op *op, int i, Value *v);
/* Every use of `from` now uses `to`; function results too. */
void value_replace_uses(Value *from, Value *to);
/* Unlinks op from its function; its operands' uses are dropped. Results must be unused. */
void op_erase(Op *op);
int value_num_uses(const Value *v);
/* True when v is returned by the function that defines it (returning is not a use). */
bool value_is_result(const Value *v);
/* True when v has exactly one use and is not returned: its producer may be rewritten. */
bool value_has_one_use(const Value *v);
const char *op_kind_name(OpKind k);
int op_kind_n_in(OpKind k);    /* -1 = variadic */
int op_kind_n_out(OpKind k);
unsigned op_kind_attrs(OpKind k);
const char *body_op_name(BodyOpKind k, DType dtype);
int body_op_n_args(BodyOpKind k);

/* Builders for generic ops. */
AffineMap affine_identity(int n_loops);
/* True when m is the identity over n_loops loops (result i = d_i, no constants). */
bool affine_is_identity(const AffineMap *m, int n_loops);
/* Map for a tensor of rank `rank` broadcast (numpy rules, trailing-aligned) into the
 * `n_loops` loops of an output of shape out_dims: size-1 dims map to constant 0. */
AffineMap affine_broadcast(int rank, const int64_t *dims, int n_loops, const int64_t *out_dims);
/* Loop ranges of a GENERIC, read off its maps: loop d's range is the dim of the first
 * operand (inputs, then outputs) whose map has a result that is exactly d (coef 1, cst 0).
 * Returns false if some loop is not determined that way (the verifier reports it). */
bool generic_loop_ranges(const Op *op, int64_t *ranges);
/* y + b as an elementwise generic, b rank-1 broadcast along y's dim `axis` (a bias add);
 * inserted before `before` (NULL: at the end). Returns its result. */
Value *generic_bias_add(Func *f, Value *y, Value *b, int axis, const char *name, Op *before);
/* Allocates a Body of n insts in the module's arena. */
Body body_new(Module *m, int n_insts, int n_yield);

/* ---- verify.c --------------------------------------------------------- */

/* Structural check: operand/result counts, types, shapes, map ranks, use lists.
 * Names the broken op in d. */
KilnStatus func_verify(const Func *f, Diag *d);

/* ---- infer.c ---------------------------------------------------------- */

/* Computes the result types of op from its operand types and attributes.
 * Used by the importer to create ops and by the verifier to check them. */
KilnStatus op_infer_types(const Op *op, TensorType *out_types, Diag *d);

/* ---- printer.c / parser.c --------------------------------------------- */

typedef struct PrintOptions {
  int64_t elide_above;  /* constants with more elements print as dense_resource<name> */
  bool emit_resources;  /* also write the elided data in a dialect_resources section */
  bool mlir16;          /* module_print_upstream: MLIR 16 spelling (for mlir-opt-16) */
} PrintOptions;

void module_print(const Module *m, FILE *out, const PrintOptions *opt);
/* Prints the module in upstream MLIR syntax (printer_upstream.c): linalg.generic for
 * generics, linalg named ops for convs / matmuls / pooling, tensor ops for data
 * movement, flow.dispatch.region for dispatches, so it can be diffed against an IREE
 * dump. Ops without an upstream equivalent keep Kiln's generic form ("kiln.resize"). */
void module_print_upstream(const Module *m, FILE *out, const PrintOptions *opt);
/* Parses Kiln's MLIR text. `path` is used in messages ("file:line:col: ..."). */
KilnStatus module_parse(const char *text, size_t len, const char *path, Module **out, Diag *d);

#endif
