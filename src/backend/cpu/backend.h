/* backend.h — the CPU backend: lowers a dispatch-formed function to a program of kernels
 * over one planned activation arena, and runs it on a thread pool.
 *
 * Lowering (lower.c) turns each dispatch into kernels:
 *   - a fused kernel when the dispatch is "root + elementwise epilogue": the root (a GEMM
 *     for 2-D matmuls with constant weights, a depthwise NHWC 3x3 conv; any other root
 *     runs on the reference executor) computes a chunk of its output, then the epilogue
 *     program (the dispatch's elementwise generics, evaluated on short lane runs by
 *     epilogue.c) turns that chunk into the dispatch's results while it is in cache;
 *   - otherwise one kernel per op of the region (reference executors from interp/).
 * Reshapes are views: they share their operand's buffer. Every value a kernel writes
 * lives in the arena at an offset the memory planner (memplan.c) chose from liveness,
 * or in the caller's output buffer when the function returns it.
 * Running (exec.c) allocates nothing: the arena and all scratch come with the program.
 * Sectioned by defining file. */
#ifndef KILN_BACKEND_CPU_H
#define KILN_BACKEND_CPU_H

#include "backend/cpu/ukernel/ukernel.h"
#include "ir/ir.h"

#include <stdio.h>

/* ---- the program ------------------------------------------------------- */

/* Weights already in a microkernel's layout (from a .kiln file), offered to lowering. */
typedef struct PackedWeight {
  char ukernel[32];           /* name of the microkernel variant they were packed for */
  const float *data;
  uint64_t floats;
} PackedWeight;

typedef struct CpuLowerOptions {
  size_t threads;             /* 0 = one per core */
  const PackedWeight *packed; /* in kernel order; a kernel uses entry i when the name and */
  int n_packed;               /*   size match what it would pack, else packs itself */
} CpuLowerOptions;

/* BUF_PRECOMPUTED: a value computed from constants only (the dequantized weights of an
 * int8 model), evaluated once at lowering into the program's memory. */
typedef enum { BUF_ARENA, BUF_CONST, BUF_INPUT, BUF_OUTPUT, BUF_PRECOMPUTED } BufKind;

/* Storage of one or more values (views share one). */
typedef struct Buf {
  BufKind kind;
  int index;            /* BUF_CONST: module constant; BUF_INPUT/OUTPUT: position */
  int64_t nbytes;
  int64_t offset;       /* BUF_ARENA: byte offset in the arena, set by the planner */
  int first, last;      /* BUF_ARENA: kernels that write it first and read it last */
  void *data;           /* BUF_PRECOMPUTED */
} Buf;

typedef enum {
  KERNEL_REF,           /* one op on the reference executor */
  KERNEL_COPY,          /* memcpy of one buffer into another (results that alias) */
  KERNEL_FUSED,         /* root (optional) + epilogue program */
  KERNEL_PERMUTE,       /* a transpose (op), or an int8 root's transposed 8-bit input */
} KernelKind;

typedef enum {
  ROOT_NONE, ROOT_REF, ROOT_GEMM, ROOT_DWCONV3X3, ROOT_DWCONV, ROOT_CONV, ROOT_POOL,
  ROOT_RESIZE, ROOT_Q8GEMM, ROOT_Q8DWCONV3X3, ROOT_Q8CONV, ROOT_RESIZE8, ROOT_Q8GSUM,
  ROOT_WINOGRAD
} RootKind;

/* One operand of an epilogue stage: an earlier epilogue value (same linear index) or a
 * buffer read through the stage's map, folded into per-loop element strides. */
typedef struct StageOperand {
  int value;            /* epilogue value index, or -1 */
  int buf;              /* else: buffer */
  DType dtype;
  int64_t base;         /* element offset at loop point 0 */
  int64_t stride[KILN_MAX_RANK];
} StageOperand;

/* A stage that is an f32 activation of t = operand 0 (+ operand 1, a per-channel vector,
 * when `bias`), recognized in its body by epilogue_prepare and run as one fused loop with
 * the body's operations in the body's order (the same bits):
 *   SIGMOID    1 / (1 + exp(-t))
 *   SILU       t * sigmoid(t)
 *   HARDSIG    clamp2(clamp1(t * mul + add))   clamp_i: min or max with clamp[i]
 *   HARDSWISH  t * HARDSIG(t) */
typedef enum { ACT_NONE, ACT_SIGMOID, ACT_SILU, ACT_HARDSIG, ACT_HARDSWISH } ActKind;
typedef struct StageActivation {
  ActKind kind;
  bool bias;
  float mul, add, clamp[2];
  bool clamp_is_min[2];
  int n_clamps;
} StageActivation;

/* One elementwise generic of an epilogue: value index = its position + 1 (value 0 is the
 * root's result). */
typedef struct Stage {
  const Op *op;
  int rank;                   /* loops = rank of its (identity-mapped) result */
  int64_t dims[KILN_MAX_RANK];
  int n_in;
  StageOperand *in;
  DType dtype;                /* of its result */
  int out_buf;                /* buffer it stores to when the region yields it, or -1 */
  const uint8_t *lut;         /* 8-bit operands: the body tabulated (epilogue_prepare) */
  bool quantize;              /* QuantizeLinear of one f32 operand, with these constants: */
  float q_scale, q_zp, q_lo, q_hi; /* cast(min(max(roundeven(x / scale) + zp, lo), hi)) */
  StageActivation act;        /* an activation of operand 0 [+ operand 1] (epilogue.c) */
} Stage;

typedef struct Kernel {
  KernelKind kind;
  const Op *op;               /* REF: the op; FUSED: the root (NULL without one) */
  int dispatch;               /* index of the dispatch it belongs to; -1 outside any */
  int n_in, n_out;
  int *in_buf, *out_buf;      /* REF/COPY: per operand / result */
  /* FUSED */
  RootKind root;
  int root_buf;               /* where the root writes its f32 result */
  int64_t numel;              /* elements of the epilogue's iteration space */
  int n_stages;
  Stage *stages;
  int peeled;                 /* 1 when stage 0 moved into the microkernel (below) */
  int ep_bias_buf;            /* GEMM/depthwise: bias + clamp done in the microkernel's */
  float ep_lo, ep_hi;         /*   register epilogue (peeled off the first stage), or -1 */
  int ep_residual_buf;        /* GEMM/conv: a tensor of the root's shape added there too */
  int64_t chunk_elems;        /* epilogue work unit (elements), = rows of the root */
  int64_t n_chunks;
  /* ROOT_GEMM */
  const struct kiln_ukernel *uk;
  int64_t M, N, K, rows_per_chunk;
  int64_t cols_per_chunk;     /* > 0: chunks are groups of NR-wide column panels instead */
  const float *packed_b;      /* in the program's memory, or a .kiln file's map */
  uint64_t packed_floats;
  /* ROOT_DWCONV3X3 */
  struct kiln_f32_dwconv_shape dw;
  int64_t images;             /* all image-wise roots: batch size */
  /* ROOT_DWCONV, ROOT_CONV, ROOT_POOL, ROOT_RESIZE: one shape each; in/out image sizes */
  struct kiln_f32_dwconv2d_shape dw2;
  struct kiln_f32_conv_shape conv;
  bool conv_banded;           /* ROOT_CONV on kiln_f32_conv_banded (units: its tiles) */
  struct kiln_f32_pool_shape pool;
  int pool_kind, count_include_pad;
  struct kiln_f32_resize_shape rs;
  struct kiln_resize_axis_table rs_h, rs_w;
  int bilinear;
  int64_t in_image, out_image;   /* elements per image of operand 0 / the result */
  /* ROOT_Q8GEMM (M, N, K, rows_per_chunk above), ROOT_Q8DWCONV3X3 (dw above): the integer
   * convs of quantize_convs.c on the int8 microkernels. in_buf[0] is the 8-bit tensor the
   * root's i32 input widened; the requantize stage is peeled into rq when it matches. */
  struct kiln_q8_requant rq;
  struct kiln_q8_act act;
  const void *q8_weights;     /* GEMM, conv: kiln_q8_gemm_pack_b; depthwise: int32 [9][C] */
  /* ROOT_Q8CONV with taps in the padding skipped (q8_bands in lower.c): output rows and
   * columns in bands of one valid tap interval each, {o0, o1, t0, t1} per band, and the
   * weights packed for each (h band, w band) pair's taps; chunks are output rows. */
  int q8_nhb, q8_nwb;
  const int32_t *q8_hb, *q8_wb;
  const void *const *q8_band_w;
  int im2col_buf;             /* scratch in the arena, or -1: ROOT_Q8CONV M x K bytes (rows
                               * gathered per chunk); ROOT_RESIZE8 two int32 rows per chunk;
                               * ROOT_WINOGRAD one kiln_f32_winograd scratch per thread */
  /* ROOT_WINOGRAD: the f32 conv (conv above) as F(4x4, 3x3) Winograd on the GEMM
   * microkernel uk; packed_b holds the transformed weights. Units are tile rows (4 output
   * rows), chunks are units_per_chunk tile rows x cols_per_chunk column panels. */
  /* ROOT_Q8GSUM: a depthwise conv of ones over the whole image (quantize_convs.c's global
   * average pool): per image and channel the int32 sum of the 8-bit input minus
   * zp * in_h * in_w, requantized by rq; dw2 holds the shape, units are 64-channel blocks. */
  /* ROOT_RESIZE8: 8-bit linear resize in 10-bit fixed point (interp_resize.c), indices in
   * rs_h/rs_w (i0, i1), the weights of i1 here; rs = the shape. */
  const int32_t *rs8_wh, *rs8_ww;
  int rs8_signed;
  int64_t chunks_per_image, units_per_chunk, units; /* rows, or conv pixel tiles */
} Kernel;

typedef struct CpuProgram {
  const Module *module;       /* borrowed: constants and ops live there */
  const Func *func;
  int n_bufs, n_kernels, n_dispatches;
  Buf *bufs;
  Kernel *kernels;
  const char **dispatch_names;
  int64_t arena_bytes;        /* planned activation arena */
  uint8_t *arena;             /* 64-byte aligned */
  Arena mem;                  /* everything above */
  void *pool;                 /* pthreadpool_t, NULL = run on the calling thread */
  size_t threads;
  uint8_t **buf_addr;         /* per buffer, filled by each run */
  struct Tensor *ref_tensors; /* scratch of reference kernels: max operands + results */
  struct Tensor **ref_ptrs;
  /* Tracing (bench.c): when trace is set, each run records per kernel and worker slot the
   * first start and last end (ns, CLOCK_MONOTONIC) of the chunks that slot ran:
   * trace[(kernel * threads + slot) * 2 + {0, 1}]; 0 = the slot ran nothing. */
  int64_t *trace;
  _Atomic(unsigned long) *trace_slots; /* pthread ids owning each slot */
  _Atomic(int) *scratch_busy; /* per thread-sized scratch slot: 1 while a chunk holds it */
} CpuProgram;

/* ---- exec.c ------------------------------------------------------------ */

/* Logical cores of this machine (at least 1). */
size_t cpu_core_count(void);
/* Allocates the arena and the run scratch, starts the thread pool. */
KilnStatus cpu_program_start(CpuProgram *p, Diag *d);
/* Runs the program: inputs[i] / outputs[i] are the caller's buffers of the function's
 * argument / result types (C order). Per-kernel times (ns) go to times[] if non-NULL.
 * One run at a time per program (the arena is shared). */
KilnStatus cpu_run(CpuProgram *p, const void *const *inputs, void *const *outputs,
                   int64_t *times, Diag *d);

/* ---- bench.c ----------------------------------------------------------- */

typedef struct BenchOptions {
  int warmup, iterations;     /* defaults 3 and 20 when 0 */
  bool json;
  const char *trace;          /* Chrome trace event JSON file, or NULL */
  const char *model;          /* for the printout */
} BenchOptions;

/* Runs p on random inputs (seeded) warmup + iterations times; prints the median, min and
 * max latency and the per-dispatch median times (table or JSON) to out. */
KilnStatus cpu_bench(CpuProgram *p, const BenchOptions *opt, FILE *out, Diag *d);

/* ---- lower.c ----------------------------------------------------------- */

/* Lowers f (dispatch-formed: only constants and dispatches at top level) of module m
 * into a program. m (and opt->packed data) must outlive it. opt may be NULL. */
KilnStatus cpu_lower(const Module *m, const Func *f, const CpuLowerOptions *opt,
                     CpuProgram **out, Diag *d);
void cpu_program_free(CpuProgram *p);

/* ---- memplan.c --------------------------------------------------------- */

/* Assigns arena offsets to the BUF_ARENA buffers from their [first, last] kernel
 * intervals (buffers live at the same time never overlap); sets p->arena_bytes. */
void cpu_plan_memory(CpuProgram *p);

/* ---- epilogue.c -------------------------------------------------------- */

/* Runs the stages of a fused kernel over elements [begin, end) of its iteration space;
 * bufs[] are the buffers' addresses (the root's result is read as a buffer). */
void epilogue_run(const Kernel *k, uint8_t *const *bufs, int64_t begin, int64_t end);
/* Whether a generic can be an epilogue stage at all (body ops and dtypes it handles). */
bool epilogue_supports(const Op *generic);
/* Once a stage is final: a stage of one or two 8-bit operands and an 8-bit result (or
 * one 8-bit operand and an f32 result) gets its body evaluated on every operand
 * combination (s->lut: 256 or 65536 bytes, 256 floats, from mem),
 * a QuantizeLinear of one f32 operand its constants (s->quantize); epilogue_run then
 * reads the table or runs a plain loop instead of evaluating the body. */
void epilogue_prepare(Stage *s, Arena *mem);

#endif
