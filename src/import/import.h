/* import.h — ONNX import (protobuf-c over Debian's onnx.proto). */
#ifndef KILN_IMPORT_H
#define KILN_IMPORT_H

#include "ir/ir.h"

/* Imports an ONNX ModelProto from memory into a new module whose main function has the
 * graph's real inputs (initializers excluded) as arguments and the graph outputs as
 * results. `base_dir` is where external-data files are looked up (the model's folder).
 * Shapes are all static after import: shape subgraphs are folded to constants, and
 * dynamic input dims (dim_param or missing) are taken as 1 (batch-1 inference).
 * On error *out is NULL and d names the node, op type and what is wrong. */
KilnStatus onnx_import(const uint8_t *data, size_t size, const char *base_dir, Module **out,
                       Diag *d);
/* Reads the file and calls onnx_import with its directory as base_dir. */
KilnStatus onnx_import_file(const char *path, Module **out, Diag *d);

/* Reads MLIR text in upstream syntax (src/import/mlir_upstream*.c): linalg on tensors
 * as IREE prints it (func.func / util.func, linalg named ops and linalg.generic, tensor
 * ops, arith constants with dense / dense_resource data, flow.dispatch.region dissolved),
 * or torch-mlir's `torch.operator "onnx.X"` form (iree-import-onnx), which goes through
 * the ONNX importer's node handlers. Errors are "path:line:col: message". */
KilnStatus mlir_upstream_import(const char *text, size_t len, const char *path, Module **out, Diag *d);

/* True when MLIR text is Kiln's own dialect (it holds a `"kiln.` op) rather than
 * upstream syntax: the rule `kiln` uses to pick module_parse or mlir_upstream_import. */
bool mlir_is_kiln_text(const char *text, size_t len);

/* The i-th ONNX op type the importer knows (default domain), or NULL past the end. */
const char *onnx_supported_op(int i);

#endif
