/* kiln.h — Kiln's public C API: compile an ONNX model (or load a compiled .kiln file),
 * ask for its inputs and outputs, run it on caller-owned buffers.
 *
 *   kiln_model *m;
 *   if (kiln_compile_file("model.onnx", NULL, &m) != KILN_STATUS_OK) {
 *     fprintf(stderr, "%s\n", kiln_last_error());
 *     return 1;
 *   }
 *   kiln_tensor_info in, out;
 *   kiln_input_info(m, 0, &in);            // name, dtype, rank, dims, size in bytes
 *   kiln_output_info(m, 0, &out);
 *   const void *ins[1] = {input_data};     // C order, exactly in.nbytes bytes
 *   void *outs[1] = {output_data};         // out.nbytes bytes, written by kiln_run
 *   kiln_run(m, ins, outs);
 *   kiln_model_free(m);
 *
 * Errors: every function that can fail returns a kiln_status; the message (naming the
 * model node, input or file and what is wrong) is kiln_last_error(), kept per thread
 * until that thread's next failing call. Nothing aborts on bad input.
 *
 * Threads: a model owns a thread pool (kiln_options.threads). Different models may run
 * at the same time from different threads; one model runs one call at a time (kiln_run
 * on the same model from two threads is serialized by a lock inside the model).
 *
 * Link with -lkiln_core (the static library the CMake build makes) and its dependencies
 * (protobuf-c, pthreadpool, libm, pthread); see examples/run_model.c. */
#ifndef KILN_KILN_H
#define KILN_KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_status {
  KILN_STATUS_OK = 0,
  KILN_STATUS_INVALID = 1,     /* malformed model, file or argument */
  KILN_STATUS_UNSUPPORTED = 2, /* valid, but an op or attribute Kiln does not support */
  KILN_STATUS_LIMIT = 3,       /* a documented size limit was exceeded (docs/limits.md) */
  KILN_STATUS_NOMEM = 4,       /* out of memory */
  KILN_STATUS_IO = 5,          /* a file could not be read or written */
} kiln_status;

/* Element types, the same numbering as Kiln's IR. */
typedef enum kiln_dtype {
  KILN_DTYPE_F32, KILN_DTYPE_F16, KILN_DTYPE_BF16, KILN_DTYPE_I8, KILN_DTYPE_U8,
  KILN_DTYPE_I32, KILN_DTYPE_I64, KILN_DTYPE_BOOL
} kiln_dtype;

#define KILN_MAX_DIMS 8

typedef struct kiln_tensor_info {
  const char *name;            /* graph input/output name; owned by the model */
  kiln_dtype dtype;
  int rank;
  int64_t dims[KILN_MAX_DIMS];
  size_t nbytes;               /* size of the buffer kiln_run expects */
} kiln_tensor_info;

typedef struct kiln_options {
  int threads;                 /* worker threads; 0 = one per core */
  const char *target;          /* pad-to-intrinsic target name, or NULL (none) */
} kiln_options;

typedef struct kiln_model kiln_model;

/* The message of this thread's last failed call ("" if none). Valid until the next call. */
const char *kiln_last_error(void);
/* "0.1.0" */
const char *kiln_version(void);

/* Compiles an ONNX file (or Kiln MLIR text, by the .mlir extension) for this machine's
 * CPU. opt may be NULL (defaults). */
kiln_status kiln_compile_file(const char *path, const kiln_options *opt, kiln_model **out);
/* The same from ONNX bytes in memory (`what` names them in messages; may be NULL). */
kiln_status kiln_compile_memory(const void *onnx, size_t size, const char *what,
                                const kiln_options *opt, kiln_model **out);
/* Writes the compiled model as a .kiln file (versioned; weights 64-byte aligned). */
kiln_status kiln_save(const kiln_model *m, const char *path);
/* Loads a .kiln file (memory-mapped; no ONNX import or optimization runs). opt->target
 * is ignored (it was fixed at compile time). */
kiln_status kiln_load(const char *path, const kiln_options *opt, kiln_model **out);
void kiln_model_free(kiln_model *m);

int kiln_num_inputs(const kiln_model *m);
int kiln_num_outputs(const kiln_model *m);
kiln_status kiln_input_info(const kiln_model *m, int index, kiln_tensor_info *info);
kiln_status kiln_output_info(const kiln_model *m, int index, kiln_tensor_info *info);
size_t kiln_threads(const kiln_model *m);

/* Runs the model: inputs[i] points at input i's data (C order, info.nbytes bytes),
 * outputs[i] at caller-owned memory of output i's size, which the run fills. */
kiln_status kiln_run(kiln_model *m, const void *const *inputs, void *const *outputs);

/* The dispatch report (`kiln report --json`) as a JSON string; free with kiln_free. */
kiln_status kiln_report_json(const kiln_model *m, char **json);
/* `kiln bench --json`: warm-up runs, then `iterations` timed runs (0 = 20); JSON string
 * with median_ms, min_ms, max_ms and per-dispatch medians; free with kiln_free. */
kiln_status kiln_bench_json(kiln_model *m, int iterations, char **json);
void kiln_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
