/* text.h — shared between the IR text printer (printer.c) and parser (parser*.c).
 *
 * Kiln's text format is an MLIR subset that `mlir-opt-16 --allow-unregistered-dialect`
 * accepts: kiln.* ops in generic form, scalar bodies in pretty arith/math form, the
 * function as func.func. This header holds the spelling tables both directions use
 * (attribute enum strings, cast and predicate names), the number formatting that makes
 * print -> parse -> print byte-identical, and the parser's internal interface. */
#ifndef KILN_IR_TEXT_H
#define KILN_IR_TEXT_H

#include "ir.h"

/* ---- printer.c: spellings shared with the parser ---------------------- */

extern const char *const text_layout_names[2];     /* "nchw", "nhwc" */
extern const char *const text_pool_names[2];       /* "max", "avg" */
extern const char *const text_pad_names[3];        /* "constant", "reflect", "edge" */
extern const char *const text_resize_names[2];     /* "nearest", "linear" */
extern const char *const text_coord_names[4];
extern const char *const text_nearest_names[4];
extern const char *const text_iter_names[2];       /* "parallel", "reduction" */

/* Element type spelling inside bodies: signless (ui8 -> i8). */
const char *text_body_type(DType t);
/* Name the printer uses for body inst `bi` whose first argument has dtype `arg_dt`
 * (CAST picks arith.extf/... or "kiln.cast"; CMP gives "arith.cmpf"/"arith.cmpi"). */
const char *text_body_op_name(const BodyInst *bi, DType arg_dt);
/* CMP predicate spelling for operand dtype dt ("olt", "slt", "ult", ...). */
const char *text_cmp_name(CmpPred p, DType dt);
/* Shortest "%.Ne" text of x that reads back exactly (as double, or as `as` when it is
 * a narrower float); non-finite values print as MLIR hex bits of `as`. */
void text_fmt_float(char *buf, size_t n, double x, DType as);
void text_fmt_f64(char *buf, size_t n, double x);
/* Valid MLIR bare identifier [A-Za-z_][A-Za-z0-9_.$]*. */
bool text_is_ident(const char *s);

/* Pieces printer_upstream.c reuses: `dense<...> : tensor<...>` of a constant with data,
 * `affine_map<...>`, and the ` {kiln.name = ..., attrs}` dictionary of an op that is
 * neither a constant nor a generic (for ops printed in Kiln's generic form). */
void text_print_dense(FILE *out, const Constant *c);
void text_print_affine_map(FILE *out, const AffineMap *m, int n_loops);
void text_print_kiln_attrs(FILE *out, const Module *m, const Op *op);

/* ---- parser_lex.c: cursor over the text -------------------------------- */

enum { TEXT_MAX_DEPTH = 16 };  /* dispatch region nesting cap */
/* String literals (kiln.name ...) are at most TEXT_MAX_STRING bytes, the ONNX importer's
 * name limit; a dense_resource key is a name plus a '_' prefix and a "_N" suffix. */
enum { TEXT_MAX_STRING = 4096, TEXT_MAX_KEY = TEXT_MAX_STRING + 32 };

typedef struct Parser {
  const char *src, *p, *end;
  const char *path;
  Diag *d;
  Module *m;
  bool failed;
  int depth;
  struct ResRef *res;           /* dense_resource keys seen, for the resources section */
  struct Scope *scope;          /* innermost SSA name scope */
  int64_t splat_bytes;          /* splat constant data materialized so far (TEXT_MAX_SPLAT_TOTAL) */
  bool upstream;                /* upstream MLIR: also accept si8/si32/si64 element types */
} Parser;

typedef struct ResRef {
  const char *key;
  int const_index;
  struct ResRef *next;
} ResRef;

/* Reports "path:line:col: msg" at position `at` (first error wins); returns false. */
bool perr_at(Parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define perr(ps, ...) perr_at((ps), (ps)->p, __VA_ARGS__)
void lex_skip_ws(Parser *ps);                  /* spaces, newlines, // comments */
bool lex_peek(Parser *ps, const char *tok);    /* after whitespace, text starts with tok */
bool lex_accept(Parser *ps, const char *tok);  /* consume tok if present */
bool lex_expect(Parser *ps, const char *tok, const char *ctx);
/* Identifier [A-Za-z_][A-Za-z0-9_.$-]* into buf; false if none. */
bool lex_ident(Parser *ps, char *buf, size_t n);
/* "..." string with MLIR escapes, arena-copied. */
bool lex_string(Parser *ps, const char **out);
bool lex_int(Parser *ps, int64_t *out);
/* Float literal: decimal (with '.', exponent), integer, or hex bits of `as`
 * (0x... is f32/f16/bf16/f64 bits by `as`; KILN_DTYPE_COUNT means f64). */
bool lex_float(Parser *ps, double *out, int as);
bool lex_dtype(Parser *ps, DType *dt, bool body);
bool lex_tensor_type(Parser *ps, TensorType *t);

/* ---- parser_attr.c: attribute dictionaries ----------------------------- */

typedef enum { AV_STR, AV_INT, AV_F64, AV_BOOL, AV_I64S, AV_F64S, AV_STRS, AV_MAPS,
               AV_DENSE, AV_UNIT } AttrKind;

typedef struct AttrVal {
  const char *name;
  const char *at;          /* where the name starts, for messages */
  AttrKind kind;
  bool used;
  const char *s;
  int64_t i;
  double f;
  int n;                   /* array length */
  int64_t *i64s;
  double *f64s;
  const char **strs;
  AffineMap *maps;
  int map_dims;            /* loop count of the maps */
  int const_index;         /* AV_DENSE: the module constant created or reused */
  bool fresh;              /* AV_DENSE: created by this attribute (name it) */
} AttrVal;

typedef struct AttrDict {
  int n;
  AttrVal *v;
} AttrDict;

bool parse_attr_dict(Parser *ps, AttrDict *ad);
AttrVal *attr_find(AttrDict *ad, const char *name);
/* One attribute value (string, bool, number, array<>, [list], dense<>, dense_resource<>);
 * also used by the upstream-MLIR importer (src/import/mlir_upstream*.c). */
bool text_parse_attr_value(Parser *ps, AttrVal *v);
/* The inside of `affine_map<...>` (after the '<', through the closing '>'). */
bool text_parse_affine_map(Parser *ps, AffineMap *m, int *n_dims);

/* ---- parser_body.c ----------------------------------------------------- */

/* Parses a generic's region `({ ^bb0(...): ... "kiln.yield"(...) : (...) -> () })`
 * into *body, knowing the element types of its block arguments (inputs, then outputs)
 * and of its results. */
bool parse_generic_body(Parser *ps, Body *body, const DType *arg_dt, int n_args,
                        const DType *res_dt, int n_res);

/* ---- parser_ops.c ------------------------------------------------------ */

/* Moves the attributes op's ops.def mask names from ad into op->attrs (checking kinds,
 * lengths against the operand rank, enum spellings); any attribute left over is an
 * error. `at` is the op name's position, for "missing attribute" messages. */
bool apply_attrs(Parser *ps, Op *op, AttrDict *ad, const char *at);

/* ---- parser_lex.c (more) ------------------------------------------------ */

/* parser.c: the `dialect_resources: { builtin: { key: "0x..." } } #-}` section (after
 * its `{-#`): fills the data of the dense_resource constants seen (ps->res). */
bool text_parse_resources(Parser *ps);

/* From an opening '(' skips to just past its matching ')' (strings, comments aware). */
bool skip_balanced(Parser *ps);

#endif
