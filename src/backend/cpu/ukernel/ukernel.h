/* ukernel.h — the CPU microkernel library: run-time ISA detection, the kernel table
 * (kernels.def), f32 GEMM with B pre-packed into NR-wide panels, direct NHWC convolution
 * (weights packed like GEMM's B), depthwise NHWC (3x3 fast path and any KHxKW), NHWC
 * pooling (max, average), NHWC resize (nearest, bilinear), and int8 (QDQ) GEMM and
 * depthwise 3x3 with a fused requantizing epilogue (docs/int8-kernels.md).
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
  size_t l1d_bytes, l2_bytes; /* per core, from CPUID's cache parameters; 0 = unknown */
};

/* Detected once (CPUID + XGETBV), then cached; thread-safe. KILN_ISA=portable|avx2|avx512
 * caps .isa (for tests and benchmarks); an unknown value is ignored. */
const struct kiln_cpu_features *kiln_cpu_features(void);
/* A driver's cache budget: `tuned` (bytes, measured on our machines: Zen 1 with 32 KiB L1d
 * and 512 KiB L2, Zen 5 with 48 KiB and 1 MiB), or num/den of this machine's L1d (level 1)
 * or L2 (level 2) when that is smaller (a CPU with a 256 KiB L2), or `tuned` when CPUID
 * does not say. */
size_t kiln_cache_budget(size_t tuned, int level, size_t num, size_t den);
/* Whether kernels of `isa` may run here (honors KILN_ISA). */
int kiln_isa_is_usable(enum kiln_isa isa);
const char *kiln_isa_name(enum kiln_isa isa);

/* ---- epilogue (all kernels) ---- */

/* Applied to each output tile in registers, before it is stored:
 * out = clamp(acc + bias + residual). This is how conv + bias + relu6 fuse, and a ResNet
 * block's last conv with its skip connection. No clamp: min = -INFINITY, max = +INFINITY.
 * residual (GEMM and conv kernels only; the drivers take it for the whole output and
 * hand each tile its part): element (i, j) of the output at residual[i * residual_stride
 * + j]; NULL: none. */
struct kiln_f32_epilogue {
  const float *bias; /* per output column (GEMM) / channel (depthwise); NULL: none */
  float min, max;
  const float *residual;
  size_t residual_stride;
};

/* ---- f32-gemm/: microkernels ---- */

/* Flags of one GEMM microkernel call (also of the conv, general depthwise and pooling
 * microkernels, which split long reductions over several calls the same way). */
enum {
  KILN_GEMM_ACCUMULATE = 1u << 0, /* c += a*w (else c = a*w) */
  KILN_GEMM_EPILOGUE = 1u << 1,   /* apply bias (if non-NULL) and clamp before storing */
  KILN_GEMM_PREFETCH_B = 1u << 2, /* a hint: w streams from memory (kernels may ignore it) */
};

/* Zeros that indirect kernels read for padding taps: KILN_F32_ZERO_FLOATS floats, so
 * drivers block channels to at most that many per call. Defined in conv.c. */
enum { KILN_F32_ZERO_FLOATS = 1024 };
extern const float kiln_f32_zero[KILN_F32_ZERO_FLOATS];

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

/* ---- f32-conv/: microkernels (indirect GEMM) ---- */

/* c[0:mr, 0:nr] (+)= sum over taps t < ks of A_t[0:MR, 0:kc] * W_t, where row i of A_t
 * is the kc floats at a[t*MR + i] (one input pixel's channels, or kiln_f32_zero for a
 * padding tap) and W_t is w[t], kc rows of NR floats (a packed panel, zero past nr).
 * All MR pointers of a tap must be readable (the driver repeats the last pixel for rows
 * past mr). ks may be 0 (a tile whose taps all lie in the padding): the sum is zero.
 * c, ldc, ep, flags as the GEMM microkernel; 1 <= mr <= MR, 1 <= nr <= NR, kc >= 1. */
typedef void kiln_f32_conv_ukernel_t(size_t mr, size_t nr, size_t kc, size_t ks,
                                     const float *const *restrict a,
                                     const float *const *restrict w, float *restrict c,
                                     size_t ldc, const struct kiln_f32_epilogue *restrict ep,
                                     uint32_t flags);
typedef kiln_f32_conv_ukernel_t *kiln_f32_conv_ukernel_fn;

/* ---- f32-dwconv/: general depthwise microkernels ---- */

/* For pixels p < `pixels`, channels c < `channels`:
 *   out[p*out_stride + c] (+)= sum over t < ks of in[p*ks + t][c] * w[t][c]
 * in: ks tap pointers per pixel (kiln_f32_zero for padding taps); w: ks weight pointers
 * shared by all pixels. KILN_GEMM_EPILOGUE adds ep->bias[c] (if non-NULL) and clamps;
 * KILN_GEMM_ACCUMULATE adds to out. ks may be 0. */
typedef void kiln_f32_dwconv_ukernel_t(size_t pixels, size_t channels, size_t ks,
                                       const float *const *restrict in,
                                       const float *const *restrict w, float *restrict out,
                                       size_t out_stride,
                                       const struct kiln_f32_epilogue *restrict ep,
                                       uint32_t flags);
typedef kiln_f32_dwconv_ukernel_t *kiln_f32_dwconv_ukernel_fn;

/* ---- f32-pool/: microkernels ---- */

/* For pixels p < `pixels`, channels c < `channels`, over the taps in[p*ks + t] (t < ks):
 *   scale == NULL (max):     out[p*out_stride + c] = max_t in[p*ks + t][c]
 *   scale != NULL (average): out[p*out_stride + c] = sum_t in[p*ks + t][c], times
 *                            scale[p] when the flags ask for the epilogue.
 * KILN_GEMM_ACCUMULATE combines with out (max, or +), so long windows split into calls.
 * Requires ks >= 1 (max has no identity the driver wants to store). */
typedef void kiln_f32_pool_ukernel_t(size_t pixels, size_t channels, size_t ks,
                                     const float *const *restrict in,
                                     const float *restrict scale, float *restrict out,
                                     size_t out_stride, uint32_t flags);
typedef kiln_f32_pool_ukernel_t *kiln_f32_pool_ukernel_fn;

/* ---- f32-resize/: bilinear row microkernels ---- */

/* One output row of a bilinear NHWC resize: for ow < out_w, c < channels, with
 * a = row0[i0[ow]*channels + c], b = row0[i1[ow]*channels + c] (d, e: same in row1),
 *   top    = a*(1-lw[ow]) + b*lw[ow]
 *   bottom = d*(1-lw[ow]) + e*lw[ow]
 *   out[ow*channels + c] = top*(1-lh) + bottom*lh
 * each product and sum rounded to f32 separately (no FMA: every variant gives the same
 * bits; the library is built as ISO C11, where GCC does not contract a*b+c). */
typedef void kiln_f32_resize_ukernel_t(size_t out_w, size_t channels,
                                       const float *restrict row0, const float *restrict row1,
                                       float lh, const int32_t *restrict i0,
                                       const int32_t *restrict i1, const float *restrict lw,
                                       float *restrict out);
typedef kiln_f32_resize_ukernel_t *kiln_f32_resize_ukernel_fn;

/* ---- q8-gemm/, q8-dwconv/: int8 microkernels (QDQ; docs/int8-kernels.md) ---- */

/* What the int8 kernels store. U8/S8: the requantized value; F32: the dequantized,
 * biased and clamped float (a conv whose output is not quantized again); I32: the exact
 * zero-point-corrected accumulator (no scale, bias or clamp). */
enum kiln_q8_out { KILN_Q8_OUT_U8, KILN_Q8_OUT_S8, KILN_Q8_OUT_F32, KILN_Q8_OUT_I32 };

/* The requantizing epilogue, applied per output element to the exact int32 accumulator
 * acc = sum_k (a - a_zp) * (w - w_zp[n]) in f32, in the order the float QDQ reference
 * (ONNX Runtime's float path, Kiln's interpreter) computes Q(DQ(x)*DQ(w) + bias, clamp):
 *   f = (float)acc * scale[n]          a_scale * w_scale[n], rounded once to f32
 *   f = f + bias[n]                    if bias
 *   f = min(max(f, min), max)          relu: [0, inf), relu6: [0, 6], none: infinities
 *   q = f / out_scale                  IEEE division (not times a reciprocal)
 *   y = saturate(roundeven(q) + out_zp)  to [0,255] (U8) or [-128,127] (S8)
 * Every variant gives the same bits (no FMA contraction; division and conversions are
 * correctly rounded; roundeven is the default MXCSR/fenv mode). (float)acc is exact
 * while |acc| < 2^24. NaN results (only from NaN/inf parameters) are unspecified. */
struct kiln_q8_requant {
  const float *scale; /* per output column/channel (GEMM: at column 0; N values) */
  const float *bias;  /* per column f32 bias, or NULL */
  const int32_t *acc_bias; /* per column int32 added to acc first (also for I32), or NULL */
  float min, max;     /* clamp of f (F32, U8, S8) */
  float out_scale;    /* U8, S8 */
  int32_t out_zp;     /* U8, S8; within the output type's range */
  enum kiln_q8_out out_type;
};

/* c[0:mr, 0:nr] = requant(colterm[n] + sum_{k<kc} A_u[i][k] * B[k][n]
 *                         - (row_sum ? row_sum[i] * w_zp[n] : 0))
 * with A_u = a ^ a_flip (a_flip = 0x80 turns s8 activations into u8 + 128; 0 for u8),
 * 1 <= mr <= MR, 1 <= nr <= NR, kc >= 1 the bytes of a row to read (no byte past kc):
 * the true K, or K rounded up to 4 when the rows hold those bytes (the packed weights
 * past K are zero, so whatever they are adds nothing; kiln_q8_gemm does that when lda
 * allows). a: row stride lda bytes. w: one packed panel of kiln_q8_gemm_pack_b (its
 * header holds colterm and w_zp). c: row stride ldc elements of rq->out_type. rq->scale
 * and rq->bias point at the tile's first column. row_sum: NULL when every w_zp is 0, else
 * sum_k A_u[i][k] for the tile's rows. */
typedef void kiln_q8_gemm_ukernel_t(size_t mr, size_t nr, size_t kc,
                                    const uint8_t *restrict a, size_t lda,
                                    const void *restrict w, void *restrict c, size_t ldc,
                                    const int32_t *restrict row_sum, uint8_t a_flip,
                                    const struct kiln_q8_requant *restrict rq);
typedef kiln_q8_gemm_ukernel_t *kiln_q8_gemm_ukernel_fn;

/* One output row of an int8 depthwise 3x3 NHWC conv (geometry as kiln_f32_dwconv_row; a
 * padding tap is skipped, i.e. it reads the input zero point: DQ = 0 as in the float
 * conv). For each pixel and channel c: acc = sum over in-image taps of
 * (x - a_zp) * w[t][c] (w already minus its zero point, packed by kiln_q8_dw_weight),
 * then rq per channel. x is u8, or s8 when a_signed. out: out_width pixels of `channels`
 * elements of out_type. */
struct kiln_q8_dwconv_row {
  const uint8_t *rows[3];
  size_t in_width, out_width, channels;
  size_t stride_w, dilation_w, pad_left;
};
typedef void kiln_q8_dwconv3x3_ukernel_t(const struct kiln_q8_dwconv_row *restrict row,
                                         const int32_t *restrict w, void *restrict out,
                                         int32_t a_zp, int a_signed,
                                         const struct kiln_q8_requant *restrict rq);
typedef kiln_q8_dwconv3x3_ukernel_t *kiln_q8_dwconv3x3_ukernel_fn;

/* ---- select.c: the table and the dispatcher ---- */

enum kiln_ukernel_op {
  KILN_UKERNEL_OP_f32_gemm,
  KILN_UKERNEL_OP_f32_dwconv3x3,
  KILN_UKERNEL_OP_f32_conv,
  KILN_UKERNEL_OP_f32_dwconv,
  KILN_UKERNEL_OP_f32_pool,
  KILN_UKERNEL_OP_f32_resize,
  KILN_UKERNEL_OP_q8_gemm,
  KILN_UKERNEL_OP_q8_dwconv3x3,
  KILN_UKERNEL_OP_COUNT
};

union kiln_ukernel_fn {
  kiln_f32_gemm_ukernel_fn f32_gemm;
  kiln_f32_dwconv3x3_ukernel_fn f32_dwconv3x3;
  kiln_f32_conv_ukernel_fn f32_conv;
  kiln_f32_dwconv_ukernel_fn f32_dwconv;
  kiln_f32_pool_ukernel_fn f32_pool;
  kiln_f32_resize_ukernel_fn f32_resize;
  kiln_q8_gemm_ukernel_fn q8_gemm;
  kiln_q8_dwconv3x3_ukernel_fn q8_dwconv3x3;
};

struct kiln_ukernel {
  const char *name;
  enum kiln_ukernel_op op;
  enum kiln_isa isa;
  uint32_t features; /* KILN_CPU_* the variant needs beyond its ISA level (AVX-512 VNNI) */
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

/* Whether `k` may run here: its ISA is usable (honors KILN_ISA) and the CPU has its extra
 * features (an AVX-512 CPU without VNNI cannot run the VNNI int8 GEMM). */
int kiln_ukernel_is_usable(const struct kiln_ukernel *k);
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
  int whole_k;                 /* sum all of K in one pass per tile (no K blocks): for a
                                * GEMV, where no row reuses a B panel. The caller decides
                                * it from the whole GEMM's shape, never a chunk's, so that
                                * the bits do not depend on how rows are split. */
};

/* Tiles of an M x N output for `kernel`: ceil(M/mr) * ceil(N/nr). Tile t covers rows of
 * M-tile t % m_tiles and columns of N-tile t / m_tiles (tiles of one column panel are
 * consecutive, so a contiguous tile range reuses its B panels). */
size_t kiln_f32_gemm_tile_count(size_t M, size_t N, const struct kiln_ukernel *kernel);

/* C[M,N] (+)= A[M,K] * B[K,N] for tiles [tile_begin, tile_end) (see tile_count), with the
 * epilogue applied once to the finished tile. packed_b from kiln_f32_gemm_pack_b with
 * kernel->nr. Blocks K and N for the caches; where the rows of A would share L1 sets
 * (lda a multiple of 4 KiB / 2 KiB) it copies blocks of A into a 32 KiB buffer on its
 * stack (no malloc). Threads split the tile range; the bits do not depend on the split.
 * K >= 1. */
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

/* Generic form of the above for a KxK window: (in + pad_begin + pad_end -
 * dilation*(kernel-1) - 1) / stride + 1, or 0 when the window does not fit. */
size_t kiln_conv_out_size(size_t in, size_t pad_begin, size_t pad_end, size_t kernel,
                          size_t stride, size_t dilation);

/* Depthwise NHWC conv with any KHxKW window (the 3x3 kernels above are the fast path;
 * this one is general and slower). */
struct kiln_f32_dwconv2d_shape {
  size_t in_h, in_w, channels, out_h, out_w, kh, kw;
  size_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
};

/* Output rows [row_begin, row_end) of one image: in[in_h][in_w][C], w[kh][kw][C],
 * out[out_h][out_w][C], out = clamp(conv + bias) (ep as kiln_f32_dwconv3x3). `kernel`
 * is an f32_dwconv variant. Input rows wholly in the padding are skipped; padding
 * columns read zeros. */
void kiln_f32_dwconv(const struct kiln_f32_dwconv2d_shape *shape, const float *in,
                     const float *w, float *out, const struct kiln_f32_epilogue *ep,
                     const struct kiln_ukernel *kernel, size_t row_begin, size_t row_end);

/* ---- conv.c: direct NHWC convolution (groups = 1) ---- */

struct kiln_f32_conv_shape {
  size_t in_h, in_w, in_c, out_h, out_w, out_c, kh, kw, stride_h, stride_w, dilation_h,
      dilation_w, pad_top, pad_left;
};

/* Floats of the packed weights for `kernel` (an f32_conv variant): ceil(F/nr) panels of
 * kh*kw*C rows of nr floats. */
size_t kiln_f32_conv_packed_w_size(const struct kiln_f32_conv_shape *s,
                                   const struct kiln_ukernel *kernel);
/* Packs w_hwcf[kh][kw][C][F] into NR-wide output-channel panels (GEMM's pack_b with
 * K = kh*kw*C, N = F): panel p holds channels [p*nr, p*nr+nr) as (kh, kw, c) rows.
 * Done at compile time. */
void kiln_f32_conv_pack_w(const struct kiln_f32_conv_shape *s, const float *w_hwcf,
                          float *packed, const struct kiln_ukernel *kernel);
/* Pixel tiles of one image: ceil(out_h*out_w / mr). A pixel tile is mr consecutive output
 * pixels (in row-major (oh, ow) order, so a tile may wrap to the next row); a panel is nr
 * output channels. */
size_t kiln_f32_conv_pixel_tiles(const struct kiln_f32_conv_shape *s,
                                 const struct kiln_ukernel *kernel);
/* Pixel tiles [tile_begin, tile_end) x panels [panel_begin, panel_end) of one image:
 * in[in_h][in_w][in_c] -> out[out_h][out_w][out_c], out = clamp(conv + bias + residual).
 * Taps that fall in the padding for every pixel of a tile are skipped (dilated convs on
 * small maps: most of them); others read zeros. The bits do not depend on how calls
 * split the tiles and panels. */
void kiln_f32_conv(const struct kiln_f32_conv_shape *s, const float *in,
                   const float *packed_w, float *out, const struct kiln_f32_epilogue *ep,
                   const struct kiln_ukernel *kernel, size_t tile_begin, size_t tile_end,
                   size_t panel_begin, size_t panel_end);

/* Banded form of kiln_f32_conv for dilated convs on small maps (ASPP): the output is cut
 * into rectangles whose pixels have the same valid taps, and only those are summed (no
 * padding tap is read). Tiles are numbered over the rectangles (kiln_f32_conv_banded_tiles)
 * and write scattered pixels; the epilogue takes no residual. Supports kh, kw <= 16 with
 * kh*kw <= 64. valid_tap_fraction: the share of the taps of all output pixels that fall
 * inside the input (what banding computes, against kiln_f32_conv's all); 1 where banding
 * is not supported. */
int kiln_f32_conv_banded_supports(const struct kiln_f32_conv_shape *s);
size_t kiln_f32_conv_banded_tiles(const struct kiln_f32_conv_shape *s,
                                  const struct kiln_ukernel *kernel);
double kiln_f32_conv_valid_tap_fraction(const struct kiln_f32_conv_shape *s);
void kiln_f32_conv_banded(const struct kiln_f32_conv_shape *s, const float *in,
                          const float *packed_w, float *out, const struct kiln_f32_epilogue *ep,
                          const struct kiln_ukernel *kernel, size_t tile_begin, size_t tile_end,
                          size_t panel_begin, size_t panel_end);

/* ---- winograd.c: F(4x4, 3x3) Winograd convolution ---- */

/* Whether the Winograd kernel computes shape s: 3x3, stride 1, dilation 1, at most
 * KILN_F32_ZERO_FLOATS input channels. It takes the conv's shape and its weights hwcf as
 * kiln_f32_conv does, and runs 36 GEMMs per block of 4x4 output tiles on `gemm`, an
 * f32_gemm variant: 4x fewer multiplies than the direct conv, at ~4x its rounding error
 * (winograd.c says how much). */
int kiln_f32_winograd_supports(const struct kiln_f32_conv_shape *s);
/* Floats of the transformed weights: 36 matrices [C][F] packed as GEMM B for `gemm`. */
size_t kiln_f32_winograd_packed_w_size(const struct kiln_f32_conv_shape *s,
                                       const struct kiln_ukernel *gemm);
/* Transforms and packs w_hwcf[3][3][C][F] (at compile time). */
void kiln_f32_winograd_pack_w(const struct kiln_f32_conv_shape *s, const float *w_hwcf,
                              float *packed, const struct kiln_ukernel *gemm);
/* 4x4 tiles along an output dim of `out` pixels: ceil(out / 4). */
size_t kiln_f32_winograd_tiles(size_t out);
/* Floats of scratch one call needs (transformed inputs and GEMM results of a block). */
size_t kiln_f32_winograd_scratch_floats(const struct kiln_f32_conv_shape *s,
                                        const struct kiln_ukernel *gemm);
/* Tile rows [row_begin, row_end) (4 output rows each) x output-channel panels
 * [panel_begin, panel_end) (gemm->nr channels each) of one image, in and out as
 * kiln_f32_conv (out = clamp(conv + bias + residual)). Bits do not depend on how calls
 * split the rows and panels. */
void kiln_f32_winograd(const struct kiln_f32_conv_shape *s, const float *in,
                       const float *packed_w, float *out, const struct kiln_f32_epilogue *ep,
                       const struct kiln_ukernel *gemm, size_t row_begin, size_t row_end,
                       size_t panel_begin, size_t panel_end, float *scratch);

/* ---- pool.c: NHWC pooling ---- */

/* dilation 1. pad_bottom/pad_right matter only for average with count_include_pad. */
struct kiln_f32_pool_shape {
  size_t in_h, in_w, channels, out_h, out_w, kh, kw, stride_h, stride_w;
  size_t pad_top, pad_left, pad_bottom, pad_right;
};
enum { KILN_POOL_MAX = 0, KILN_POOL_AVG = 1 };

/* Output rows [row_begin, row_end) of one image, in[in_h][in_w][C] -> out[out_h][out_w]
 * [C], with `kernel` an f32_pool variant. kind KILN_POOL_MAX: padding is ignored (ONNX:
 * -inf). KILN_POOL_AVG: the sum over the window's inputs divided by the window's size
 * clipped to the padded input (count_include_pad, as ONNX Runtime) or by the number of
 * inputs in it. A window with no input element gives 0. Global average pooling: kh =
 * in_h, kw = in_w, no padding, out 1x1. */
void kiln_f32_pool(const struct kiln_f32_pool_shape *shape, int kind, int count_include_pad,
                   const float *in, float *out, const struct kiln_ukernel *kernel,
                   size_t row_begin, size_t row_end);

/* ---- resize.c: NHWC resize from per-axis tables ---- */

/* Per output index o of one axis: source indices i0[o], i1[o] (in range) and the weight
 * lambda[o] of i1 (nearest uses i0 only). The caller computes them from the ONNX
 * coordinate transform and rounding mode. */
struct kiln_resize_axis_table {
  const int32_t *i0, *i1;
  const float *lambda;
};
struct kiln_f32_resize_shape {
  size_t in_h, in_w, channels, out_h, out_w;
};

/* Output rows [row_begin, row_end) of one image. bilinear: the f32 formula of
 * kiln_f32_resize_ukernel_t with row0 = input row h->i0[oh], row1 = h->i1[oh],
 * lh = h->lambda[oh] (`kernel`, an f32_resize variant, computes it). Nearest:
 * out[oh][ow] = in[h->i0[oh]][w->i0[ow]] (a copy; `kernel` is unused, may be NULL). */
void kiln_f32_resize(const struct kiln_f32_resize_shape *shape, int bilinear,
                     const struct kiln_resize_axis_table *h,
                     const struct kiln_resize_axis_table *w, const float *in, float *out,
                     const struct kiln_ukernel *kernel, size_t row_begin, size_t row_end);

/* ---- q8gemm.c: int8 GEMM packing and driver (docs/int8-kernels.md) ---- */

/* Bytes of the element type enum kiln_q8_out stores (1, 1, 4, 4). */
size_t kiln_q8_out_size(enum kiln_q8_out t);

/* Largest K the int8 GEMM accepts: the exact result |acc| <= K * 255 * 255 fits int32. */
enum { KILN_Q8_GEMM_K_MAX = 32768 };

/* Bytes of B[K,N] packed for `kernel` (a q8_gemm variant): a 64-byte header, then
 * ceil(N/nr) panels, each 8*nr bytes of per-column int32 terms and the weights of K
 * rounded up to 4, in the variant's layout (portable: [K][nr] s8; AVX2: int16 pairs
 * [K/2][nr][2]; VNNI: [K/4][nr][4] s8). */
size_t kiln_q8_gemm_packed_b_size(size_t K, size_t N, const struct kiln_ukernel *kernel);

/* What the activations are (fixed at compile time in a static QDQ model). */
struct kiln_q8_act {
  int32_t zp;    /* per-tensor zero point, in the type's range */
  int is_signed; /* s8 (else u8) */
};

/* Packs B[K,N] (s8, row stride ldb) for `kernel`, K <= KILN_Q8_GEMM_K_MAX. Folds into the
 * per-column int32 term everything that does not depend on A's values:
 *   colterm[n] = bias_i32[n] - zp_u * sum_k B[k][n] + K * zp_u * w_zp[n]
 * with zp_u = act->zp (+128 for s8 activations, which the kernels read as u8 + 128).
 * w_zp: per-column weight zero points, or NULL (all 0: the usual symmetric weights; a
 * nonzero one makes the driver compute row sums of A). bias_i32: an int32 bias added to
 * the accumulator (ConvInteger-style), or NULL. Done at compile time. */
void kiln_q8_gemm_pack_b(size_t K, size_t N, const int8_t *B, size_t ldb,
                         const int32_t *w_zp, const int32_t *bias_i32,
                         const struct kiln_q8_act *act, const struct kiln_ukernel *kernel,
                         void *packed);

/* Tiles of an M x N output, numbered as kiln_f32_gemm_tile_count. */
size_t kiln_q8_gemm_tile_count(size_t M, size_t N, const struct kiln_ukernel *kernel);

/* C[M,N] = requant(sum_k (A[m,k] - a_zp) * (B[k,n] - w_zp[n])) for tiles
 * [tile_begin, tile_end). A: M x K bytes (u8 or s8 as packed), row stride lda bytes.
 * C: row stride ldc elements of rq->out_type; rq->scale/bias have N values. Exact int32
 * accumulation; no allocation; threads split the tile range (results do not depend on
 * the split). */
void kiln_q8_gemm(size_t M, size_t N, size_t K, const void *A, size_t lda,
                  const void *packed_b, void *C, size_t ldc,
                  const struct kiln_q8_requant *rq, const struct kiln_ukernel *kernel,
                  size_t tile_begin, size_t tile_end);

/* ---- q8dwconv.c: int8 depthwise 3x3 NHWC ---- */

/* One packed depthwise weight (w - w_zp, in [-255, 255]): its int16 value in the low 16
 * bits, the high 16 bits zero, so that vpmaddwd of it with an int32 lane holding an int16
 * value (x - a_zp) is their exact product (the high halves multiply to 0): one fast
 * instruction instead of vpmulld. */
static inline int32_t kiln_q8_dw_weight(int32_t v) { return (int32_t)(uint16_t)(int16_t)v; }
/* Its value back (the portable kernel). */
static inline int32_t kiln_q8_dw_weight_value(int32_t p) { return (int16_t)(uint16_t)p; }

/* Packs w[3][3][C] (s8, (kh, kw, c)) minus its per-channel zero point (w_zp: C values,
 * or NULL for 0) into int32 [9][C] of kiln_q8_dw_weight, the layout of every
 * q8_dwconv3x3 variant. */
void kiln_q8_dwconv3x3_pack_w(size_t channels, const int8_t *w, const int32_t *w_zp,
                              int32_t *packed);

/* Output rows [row_begin, row_end) of one image: in[in_h][in_w][C] (u8 or s8 per act),
 * packed_w from kiln_q8_dwconv3x3_pack_w, out[out_h][out_w][C] elements of
 * rq->out_type (rq->scale/bias: C values). `kernel`: a q8_dwconv3x3 variant. */
void kiln_q8_dwconv3x3(const struct kiln_f32_dwconv_shape *shape, const void *in,
                       const int32_t *packed_w, void *out, const struct kiln_q8_act *act,
                       const struct kiln_q8_requant *rq, const struct kiln_ukernel *kernel,
                       size_t row_begin, size_t row_end);

/* ---- kernel prototypes, from kernels.def ---- */

#define UKERNEL(name, op, isa, mr, nr, fn) kiln_##op##_ukernel_t fn;
#include "backend/cpu/ukernel/kernels.def"
#undef UKERNEL
#endif
