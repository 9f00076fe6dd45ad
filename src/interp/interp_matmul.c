/* interp_matmul.c — MATMUL: A[..., M, K] x B[..., K, N] -> [..., M, N].
 *
 * numpy/ONNX MatMul semantics: batch dims broadcast (trailing-aligned, size 1 stretches);
 * a rank-1 A is a row [1, K] whose M dim is dropped from the result, a rank-1 B a column
 * [K, 1] whose N dim is dropped. Each batch is a plain i-k-j product accumulating in
 * double over k in order and rounded once, so the innermost loop runs contiguously over a
 * row of B and of a double row, and a 1x1 conv rewritten to a matmul gives bit-identical
 * results (the conv sums the same way, see interp_conv.c). */
#include "interp_impl.h"

typedef struct MMGeom {
  int64_t M, K, N, batch;
  int ob;                          /* result batch rank */
  int64_t bdims[KILN_MAX_RANK];    /* result batch dims */
  int64_t as[KILN_MAX_RANK], bs[KILN_MAX_RANK]; /* A/B matrix strides per batch dim (0 = bcast) */
} MMGeom;

/* Batch strides of operand t (matrix rank mr) against the result batch dims. */
static KilnStatus batch_strides(const Op *op, const TensorType *t, int mr, MMGeom *g,
                                int64_t *s, int64_t mat, Diag *d) {
  int tb = t->rank - mr;
  int64_t stride = mat;
  if (tb > g->ob) return bad_dim(op, "operand batch rank", g->ob, tb, d);
  for (int i = g->ob - 1; i >= 0; i--) {
    int ti = i - (g->ob - tb);
    int64_t dim = ti >= 0 ? t->dims[ti] : 1;
    if (dim != 1 && dim != g->bdims[i]) return bad_dim(op, "batch dim", g->bdims[i], dim, d);
    s[i] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
  return KILN_OK;
}

static KilnStatus mm_geom(const Op *op, MMGeom *g, Diag *d) {
  const TensorType *a = &op->in[0]->type, *b = &op->in[1]->type, *y = &op->out[0]->type;
  if (a->rank < 1 || b->rank < 1)
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": operands must have rank >= 1", OPARG(op));
  int ma = a->rank >= 2 ? 2 : 1, mb = b->rank >= 2 ? 2 : 1;
  g->M = ma == 2 ? a->dims[a->rank - 2] : 1, g->K = a->dims[a->rank - 1];
  g->N = mb == 2 ? b->dims[b->rank - 1] : 1;
  int64_t kb = b->dims[b->rank - mb];
  if (kb != g->K) return bad_dim(op, "K of B", g->K, kb, d);
  g->ob = y->rank - (ma - 1) - (mb - 1);
  if (g->ob < 0) return bad_dim(op, "result rank", (ma - 1) + (mb - 1), y->rank, d);
  g->batch = 1;
  for (int i = 0; i < g->ob; i++) g->batch *= (g->bdims[i] = y->dims[i]);
  if (ma == 2 && y->dims[g->ob] != g->M) return bad_dim(op, "result M", g->M, y->dims[g->ob], d);
  if (mb == 2 && y->dims[y->rank - 1] != g->N)
    return bad_dim(op, "result N", g->N, y->dims[y->rank - 1], d);
  KilnStatus st = batch_strides(op, a, ma, g, g->as, g->M * g->K, d);
  return st ? st : batch_strides(op, b, mb, g, g->bs, g->K * g->N, d);
}

/* acc: a scratch row of N doubles. */
static void gemm(const MMGeom *g, const float *a, const float *b, float *y, double *acc) {
  for (int64_t i = 0; i < g->M; i++) {
    memset(acc, 0, sizeof(double) * (size_t)g->N);
    for (int64_t k = 0; k < g->K; k++) {
      double av = a[i * g->K + k];
      const float *br = b + k * g->N;
      for (int64_t j = 0; j < g->N; j++) acc[j] += av * br[j];
    }
    for (int64_t j = 0; j < g->N; j++) y[i * g->N + j] = (float)acc[j];
  }
}

/* Element offsets of batch bi's A and B matrices (broadcast batch dims stride 0). */
static void batch_offsets(const MMGeom *g, int64_t bi, int64_t *ao, int64_t *bo) {
  int64_t rest = bi;
  *ao = *bo = 0;
  for (int i = g->ob - 1; i >= 0; i--) {
    int64_t idx = rest % g->bdims[i];
    rest /= g->bdims[i];
    *ao += idx * g->as[i], *bo += idx * g->bs[i];
  }
}

static void mm_run(const MMGeom *g, const float *a, const float *b, float *y, double *acc) {
  for (int64_t bi = 0; bi < g->batch; bi++) {
    int64_t ao, bo;
    batch_offsets(g, bi, &ao, &bo);
    gemm(g, a + ao, b + bo, y + bi * g->M * g->N, acc);
  }
}

/* Integer result (a quantized matmul's i32 accumulation): exact products, sums wrapping
 * modulo 2^64 (unsigned, no overflow), stored wrapped to the result's width. */
static KilnStatus mm_int(const Op *op, const MMGeom *g, Tensor *const *in, Tensor *out, Diag *d) {
  DType yt = out->type.dtype;
  if (!dtype_is_int(in[0]->type.dtype) || !dtype_is_int(in[1]->type.dtype))
    return diag_error(d, KILN_ERR_INVALID, OPFMT ": integer result from float operands", OPARG(op));
  uint64_t *acc = malloc(sizeof *acc * (size_t)(g->N ? g->N : 1)); /* wraps mod 2^64 */
  int32_t *a = i32_view(in[0]), *b = i32_view(in[1]);
  if (!acc || !a || !b) {
    free(acc), free(a), free(b);
    return diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
  }
  for (int64_t bi = 0; bi < g->batch; bi++) {
    int64_t ao, bo;
    batch_offsets(g, bi, &ao, &bo);
    for (int64_t i = 0; i < g->M; i++) {
      memset(acc, 0, sizeof *acc * (size_t)g->N);
      for (int64_t k = 0; k < g->K; k++) {
        int64_t av = a[ao + i * g->K + k];
        const int32_t *br = b + bo + k * g->N;
        for (int64_t j = 0; j < g->N; j++) acc[j] += (uint64_t)(av * br[j]);
      }
      for (int64_t j = 0; j < g->N; j++)
        scalar_store(out->data, yt, (bi * g->M + i) * g->N + j, (Scalar){.i = scalar_wrap_int((int64_t)acc[j], yt)});
    }
  }
  free(acc), free(a), free(b);
  return KILN_OK;
}

KilnStatus exec_matmul(const Op *op, Tensor *const *in, Tensor **out, Diag *d) {
  MMGeom g = {0};
  KilnStatus st = mm_geom(op, &g, d);
  if (st) return st;
  if (dtype_is_int(out[0]->type.dtype)) return mm_int(op, &g, in, out[0], d);
  float *oa = NULL, *ob = NULL, *oy = NULL;
  const float *a = f32_view(op, in[0], &oa, d);
  const float *b = a ? f32_view(op, in[1], &ob, d) : NULL;
  float *y = b ? f32_out(op, out[0], &oy, d) : NULL;
  double *acc = y ? malloc(sizeof(double) * (size_t)(g.N ? g.N : 1)) : NULL;
  if (y && !acc) diag_error(d, KILN_ERR_NOMEM, OPFMT ": out of memory", OPARG(op));
  if (acc) {
    mm_run(&g, a, b, y, acc);
    f32_out_finish(out[0], oy);
  } else {
    free(oy);
  }
  free(acc);
  free(oa);
  free(ob);
  return acc ? KILN_OK : KILN_ERR_NOMEM;
}
