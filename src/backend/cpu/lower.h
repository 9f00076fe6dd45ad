/* lower.h — what lower.c (buffers, fusion planning, dispatches), lower_root.c (f32 root
 * microkernels, chunking, peeling the first stage into the register epilogue) and
 * lower_q8.c (the integer convs of quantize_convs.c) share. Internal to the CPU backend. */
#ifndef KILN_BACKEND_CPU_LOWER_H
#define KILN_BACKEND_CPU_LOWER_H

#include "backend/cpu/backend.h"

typedef struct Lower {
  CpuProgram *p;
  int *buf_of;        /* by Value.id; -1 = none yet */
  int *out_index;     /* by Value.id: function result it is bound to, or -1 */
  int cap_bufs, cap_kernels;
  int dispatch;       /* index of the dispatch being lowered */
  const CpuLowerOptions *opt;
  int next_packed;    /* next entry of opt->packed to offer */
  Diag *d;
} Lower;

/* One piece of a dispatch region being lowered as a fused kernel: its root, its
 * elementwise stages (the epilogue) and the post ops that run after it. */
typedef struct Fusion {
  const Func *r;
  const Op *first, *end;  /* the piece of the region: ops [first, end) */
  const bool *in_piece;   /* by Value.id: defined by an op of the piece */
  const Op *root;
  int n_stages;
  const Op *stage_op[64];  /* MAX_STAGES */
  int *stage_of;      /* by Value.id: stage index, or -1 */
  bool *is_root_val;  /* by Value.id: the root's result or a view of it */
  bool *is_post;      /* by Value.id: computed by a post op (below) */
  /* An integer root on the int8 kernels (lower_q8.c): the 8-bit tensor its input
   * widens, and the widening generic and views between, which are not lowered. */
  const Value *q8_src;
  int32_t q8_zp;
  const Op *q8_skip[KILN_MAX_RANK];
  int n_q8_skip;
  const Op *q8_transpose; /* a transpose among them: run on the 8-bit tensor (KERNEL_PERMUTE) */
} Fusion;

enum { MAX_STAGES = 64 };

static inline int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- lower.c: buffers, kernels, constants, fusion ---- */

const float *take_packed(Lower *L, const struct kiln_ukernel *uk, uint64_t floats);
KilnStatus nomem(Lower *L);
int add_buf(Lower *L, BufKind kind, int index, int64_t nbytes);
Kernel *add_kernel(Lower *L, KernelKind kind, const Op *op);
int value_buf(Lower *L, const Value *v);
bool is_view(const Op *op);
const void *const_data(const Lower *L, const Value *v);
bool all_parallel(const Op *op);
bool derived(const Fusion *F, const Value *v);

/* ---- lower_root.c: f32 roots and their register epilogue ---- */

void chunk_by_panels(Lower *L, Kernel *k, int64_t N, int per_thread, bool force);
bool dwconv3x3_shape(Kernel *k, const Op *op);
void chunk_images(Lower *L, Kernel *k, int64_t images, int64_t units, int64_t min_units);
void band_conv(Lower *L, Kernel *k);
void choose_root(Lower *L, Kernel *k);
void chunk_elements(Lower *L, Kernel *k);
bool f32_const_inst(const Body *b, int i, float *c);
bool is_channel_vector(const Stage *s, const StageOperand *so, int64_t channels, DType t);
int root_operand(const Fusion *F, const Stage *s);
void drop_peeled_stage(Kernel *k, DType t);
void peel_bias_clamp(Lower *L, Kernel *k, const Fusion *F);

/* ---- lower_q8.c: int8 roots ---- */

bool q8_skipped(const Fusion *F, const Op *op);
bool q8_match(const Lower *L, Fusion *F);
KilnStatus lower_q8(Lower *L, Kernel *k, const Fusion *F);
void peel_requant(Lower *L, Kernel *k, const Fusion *F);
KilnStatus permute_8bit(Lower *L, const Fusion *F, Kernel **rootp);

#endif
