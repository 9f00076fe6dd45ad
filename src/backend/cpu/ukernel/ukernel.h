/* ukernel.h — the CPU microkernel library: run-time ISA detection, the kernel table
 * (kernels.def), f32 GEMM with B pre-packed into NR-wide panels, depthwise NHWC 3x3.
 *
 * Depends on nothing but libc and <immintrin.h> (design.md, dependency rules), so the
 * runtime can link it without the compiler. Sectioned by defining file. */
#ifndef KILN_UKERNEL_H
#define KILN_UKERNEL_H
#include <stddef.h>
#include <stdint.h>

/* ---- cpu.c ---- */

/* Instruction sets a kernel variant may need, in increasing order of capability. */
enum kiln_isa {
  KILN_ISA_PORTABLE, /* plain C, any CPU */
  KILN_ISA_AVX2,     /* AVX2 + FMA3 */
  KILN_ISA_AVX512,   /* AVX-512 F + BW + DQ + VL */
  KILN_ISA_COUNT
};

/* Feature bits of struct kiln_cpu_features.flags: what the CPU reports AND the OS enables
 * (XGETBV: YMM state for AVX2, opmask + ZMM state for AVX-512). */
enum {
  KILN_CPU_AVX2 = 1u << 0,
  KILN_CPU_FMA = 1u << 1,
  KILN_CPU_AVX512F = 1u << 2,
  KILN_CPU_AVX512BW = 1u << 3,
  KILN_CPU_AVX512DQ = 1u << 4,
  KILN_CPU_AVX512VL = 1u << 5,
  KILN_CPU_AVX512VNNI = 1u << 6,
};

struct kiln_cpu_features {
  uint32_t flags;        /* KILN_CPU_* usable on this machine */
  enum kiln_isa hw_isa;  /* best ISA the hardware and OS allow */
  enum kiln_isa isa;     /* hw_isa capped by the environment variable KILN_ISA */
};

/* Detected once (CPUID + XGETBV), then cached; thread-safe. KILN_ISA=portable|avx2|avx512
 * caps .isa (for tests and benchmarks); an unknown value is ignored. */
const struct kiln_cpu_features *kiln_cpu_features(void);
/* Whether kernels of `isa` may run here (honors KILN_ISA). */
int kiln_isa_is_usable(enum kiln_isa isa);
const char *kiln_isa_name(enum kiln_isa isa);

/* ---- epilogue (all kernels) ---- */

/* Applied to each output tile in registers, before it is stored: out = clamp(acc + bias).
 * This is how conv + bias + relu6 fuse. No clamp: min = -INFINITY, max = +INFINITY. */
struct kiln_f32_epilogue {
  const float *bias; /* per output column (GEMM) / channel (depthwise); NULL: none */
  float min, max;
};

/* ---- f32-gemm/: microkernels ---- */

/* Flags of one GEMM microkernel call. */
enum {
  KILN_GEMM_ACCUMULATE = 1u << 0, /* c += a*w (else c = a*w) */
  KILN_GEMM_EPILOGUE = 1u << 1,   /* apply bias (if non-NULL) and clamp before storing */
};

/* c[0:mr, 0:nr] (+)= a[0:mr, 0:kc] * w, with 1 <= mr <= MR, 1 <= nr <= NR, kc >= 1.
 * a: row-major, row stride lda floats. w: one packed panel, kc rows of NR floats
 * (zero-padded past nr). c: row stride ldc floats. ep->bias (if the flag asks for the
 * epilogue) points at the bias of the tile's first column. */
typedef void kiln_f32_gemm_ukernel_t(size_t mr, size_t nr, size_t kc,
                                     const float *restrict a, size_t lda,
                                     const float *restrict w, float *restrict c, size_t ldc,
                                     const struct kiln_f32_epilogue *restrict ep,
                                     uint32_t flags);
typedef kiln_f32_gemm_ukernel_t *kiln_f32_gemm_ukernel_fn;

/* ---- f32-dwconv/: microkernels ---- */

/* One row of a depthwise 3x3 NHWC convolution: out[ow, c] for ow < out_width, c < channels.
 * rows[kh] is input row ih = oh*stride_h - pad_top + kh*dilation_h (width in_width, pixel
 * stride channels), or NULL when that row lies in the padding. Input column
 * iw = ow*stride_w - pad_left + kw*dilation_w; taps outside [0, in_width) read zero. */
struct kiln_f32_dwconv_row {
  const float *rows[3];
  size_t in_width, out_width, channels;
  size_t stride_w, dilation_w, pad_left;
};

/* w: weights [3][3][channels] (kh, kw, c). out: out_width pixels of `channels` floats.
 * The epilogue (bias per channel, clamp) is always applied. */
typedef void kiln_f32_dwconv3x3_ukernel_t(const struct kiln_f32_dwconv_row *restrict row,
                                          const float *restrict w, float *restrict out,
                                          const struct kiln_f32_epilogue *restrict ep);
typedef kiln_f32_dwconv3x3_ukernel_t *kiln_f32_dwconv3x3_ukernel_fn;

/* ---- select.c: the table and the dispatcher ---- */

enum kiln_ukernel_op {
  KILN_UKERNEL_OP_f32_gemm,
  KILN_UKERNEL_OP_f32_dwconv3x3,
  KILN_UKERNEL_OP_COUNT
};

union kiln_ukernel_fn {
  kiln_f32_gemm_ukernel_fn f32_gemm;
  kiln_f32_dwconv3x3_ukernel_fn f32_dwconv3x3;
};

struct kiln_ukernel {
  const char *name;
  enum kiln_ukernel_op op;
  enum kiln_isa isa;
  uint32_t mr, nr;
  union kiln_ukernel_fn fn;
};

#define UKERNEL(name, op, isa, mr, nr, fn) KILN_UKERNEL_##name,
enum kiln_ukernel_id {
#include "backend/cpu/ukernel/kernels.def"
  KILN_UKERNEL_COUNT
};
#undef UKERNEL

/* Indexed by enum kiln_ukernel_id. */
extern const struct kiln_ukernel kiln_ukernels[KILN_UKERNEL_COUNT];

/* The best variant of `op` that this CPU (and KILN_ISA) allows; never NULL (every op has
 * a portable variant). */
const struct kiln_ukernel *kiln_ukernel_select(enum kiln_ukernel_op op);
/* The best variant of `op` whose ISA is at most `max_isa` and usable here, or NULL. */
const struct kiln_ukernel *kiln_ukernel_select_isa(enum kiln_ukernel_op op,
                                                   enum kiln_isa max_isa);

/* ---- gemm.c: packing and the driver ---- */

/* Floats of B packed for a kernel with tile width nr: ceil(N/nr) panels of K x nr. */
size_t kiln_f32_gemm_packed_b_size(size_t K, size_t N, size_t nr);
/* Packs B[K,N] (row stride ldb) into NR-wide column panels: panel p holds columns
 * [p*nr, p*nr+nr) as K rows of nr floats, zero-padded past N. Done at compile time. */
void kiln_f32_gemm_pack_b(size_t K, size_t N, size_t nr, const float *B, size_t ldb,
                          float *packed);

struct kiln_f32_gemm_params {
  struct kiln_f32_epilogue ep; /* bias over N columns; clamp */
  int accumulate;              /* C += A*B (else C = A*B) */
};

/* Tiles of an M x N output for `kernel`: ceil(M/mr) * ceil(N/nr). Tile t covers rows of
 * M-tile t % m_tiles and columns of N-tile t / m_tiles (tiles of one column panel are
 * consecutive, so a contiguous tile range reuses its B panels). */
size_t kiln_f32_gemm_tile_count(size_t M, size_t N, const struct kiln_ukernel *kernel);

/* C[M,N] (+)= A[M,K] * B[K,N] for tiles [tile_begin, tile_end) (see tile_count), with the
 * epilogue applied once to the finished tile. packed_b from kiln_f32_gemm_pack_b with
 * kernel->nr. Blocks K and N for the caches; threads split the tile range. K >= 1. */
void kiln_f32_gemm(size_t M, size_t N, size_t K, const float *A, size_t lda,
                   const float *packed_b, float *C, size_t ldc,
                   const struct kiln_f32_gemm_params *params,
                   const struct kiln_ukernel *kernel, size_t tile_begin, size_t tile_end);

/* ---- dwconv.c: the depthwise driver ---- */

struct kiln_f32_dwconv_shape {
  size_t in_h, in_w, channels, out_h, out_w;
  size_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
};

/* Output size of one spatial dim: (in + pad_begin + pad_end - dilation*2 - 1) / stride + 1. */
size_t kiln_dwconv3x3_out_size(size_t in, size_t pad_begin, size_t pad_end, size_t stride,
                               size_t dilation);

/* Output rows [row_begin, row_end) of a depthwise 3x3 NHWC conv of one image:
 * in[in_h][in_w][C], w[3][3][C], out[out_h][out_w][C]. */
void kiln_f32_dwconv3x3(const struct kiln_f32_dwconv_shape *shape, const float *in,
                        const float *w, float *out, const struct kiln_f32_epilogue *ep,
                        const struct kiln_ukernel *kernel, size_t row_begin, size_t row_end);

/* ---- kernel prototypes, from kernels.def ---- */

#define UKERNEL(name, op, isa, mr, nr, fn) kiln_##op##_ukernel_t fn;
#include "backend/cpu/ukernel/kernels.def"
#undef UKERNEL
#endif
