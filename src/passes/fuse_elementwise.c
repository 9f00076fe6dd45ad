/* fuse_elementwise.c — merge a generic into the generic that reads its result.
 *
 * Matches consumer = generic(..., p, ...) where p is the single-result output of a
 * generic producer that has no other use, whose loops are all parallel, whose output map
 * is a permutation of its loops and whose body does not read its output block argument.
 * The consumer may reduce (the producer is then evaluated per point of the reduction).
 * Rewrites to one generic over the consumer's loops: the producer's input maps are
 * composed with the consumer's map for p (consumer loops -> producer result index ->
 * producer loop, through the inverse permutation), operands that are the same value with
 * the same map are merged, and the body is the producer's instructions followed by the
 * consumer's, with the consumer's read of p replaced by the producer's yield.
 * Applied until nothing fuses, so a chain of N elementwise generics becomes one.
 * Guarantees: the loop ranges of the fused op equal the consumer's (checked; a fusion
 * that would change them is not done), so the numbers are those of the two ops.
 * Not fused: a producer of an 8-bit integer tensor into a consumer of a wider integer
 * (the requantize of one integer conv into the zero-point subtraction of the next, see
 * quantize_convs.c): fused, the wide tensor would be what crosses memory, and the next
 * conv could no longer read its 8-bit input directly; nor an int32 -> 8-bit requantize
 * into anything (widens_8bit); nor a producer with an exp, a division... into a consumer
 * that reads it broadcast over 4x more points (recomputes_costly). */
#include <string.h>

#include "passes.h"

static bool map_equal(const AffineMap *a, const AffineMap *b) {
  if (a->n_results != b->n_results) return false;
  for (int r = 0; r < a->n_results; r++)
    if (memcmp(a->results[r].coef, b->results[r].coef, sizeof a->results[r].coef) ||
        a->results[r].cst != b->results[r].cst)
      return false;
  return true;
}

/* inv[loop] = result index of a permutation map; false if m is not a permutation. */
static bool map_inverse_perm(const AffineMap *m, int n_loops, int *inv) {
  if (m->n_results != n_loops) return false;
  for (int d = 0; d < n_loops; d++) inv[d] = -1;
  for (int r = 0; r < n_loops; r++) {
    const AffineExpr *e = &m->results[r];
    int dim = -1;
    for (int d = 0; d < KILN_MAX_RANK; d++) {
      if (!e->coef[d]) continue;
      if (e->coef[d] != 1 || dim >= 0 || d >= n_loops) return false;
      dim = d;
    }
    if (dim < 0 || e->cst || inv[dim] >= 0) return false;
    inv[dim] = r;
  }
  return true;
}

/* True when some instruction or yield uses an output block argument (an accumulator). */
static bool body_reads_outputs(const Op *op) {
  const Body *b = &op->attrs.body;
  for (int i = 0; i < b->n_insts; i++)
    for (int a = 0; a < b->insts[i].n_args; a++) {
      const BodyInst *src = &b->insts[b->insts[i].args[a]];
      if (src->kind == BODY_ARG && src->imm_i >= op->n_in) return true;
    }
  for (int k = 0; k < b->n_yield; k++) {
    const BodyInst *src = &b->insts[b->yields[k]];
    if (src->kind == BODY_ARG && src->imm_i >= op->n_in) return true;
  }
  return false;
}

static bool is_fusable_producer(const Op *p, int *inv) {
  if (!p || p->kind != KILN_OP_GENERIC || p->n_out != 1 || !value_has_one_use(p->out[0]))
    return false;
  for (int l = 0; l < p->attrs.n_loops; l++)
    if (p->attrs.iterators[l] != ITER_PARALLEL) return false;
  return map_inverse_perm(&p->attrs.maps[p->n_in], p->attrs.n_loops, inv) &&
         !body_reads_outputs(p);
}

/* Substitutes producer loop p := sub[p] (an expression over consumer loops) into e. */
static AffineExpr compose_expr(const AffineExpr *e, const AffineExpr *sub, int n_prod_loops) {
  AffineExpr out = {.cst = e->cst};
  for (int p = 0; p < n_prod_loops; p++) {
    if (!e->coef[p]) continue;
    for (int d = 0; d < KILN_MAX_RANK; d++) out.coef[d] += e->coef[p] * sub[p].coef[d];
    out.cst += e->coef[p] * sub[p].cst;
  }
  return out;
}

/* The fused operand list under construction. */
typedef struct Fused {
  int n_in;
  Value *in[KILN_MAX_OPERANDS];
  AffineMap maps[KILN_MAX_OPERANDS];
} Fused;

/* Adds (v, m) unless already present; returns its index, or -1 when full. */
static int fused_add(Fused *fu, Value *v, const AffineMap *m) {
  for (int i = 0; i < fu->n_in; i++)
    if (fu->in[i] == v && map_equal(&fu->maps[i], m)) return i;
  if (fu->n_in == KILN_MAX_OPERANDS) return -1;
  fu->in[fu->n_in] = v;
  fu->maps[fu->n_in] = *m;
  return fu->n_in++;
}

/* Fills fu and the block-argument remaps of producer (parg) and consumer (carg). */
static bool build_operands(const Op *c, int k, const Op *p, const int *inv, Fused *fu,
                           int *parg, int *carg) {
  const AffineMap *ck = &c->attrs.maps[k];
  AffineExpr sub[KILN_MAX_RANK];
  for (int l = 0; l < p->attrs.n_loops; l++) sub[l] = ck->results[inv[l]];
  fu->n_in = 0;
  for (int i = 0; i < c->n_in; i++) {
    if (i == k) {
      for (int j = 0; j < p->n_in; j++) {
        const AffineMap *pm = &p->attrs.maps[j];
        AffineMap m = {.n_results = pm->n_results};
        for (int r = 0; r < pm->n_results; r++)
          m.results[r] = compose_expr(&pm->results[r], sub, p->attrs.n_loops);
        if ((parg[j] = fused_add(fu, p->in[j], &m)) < 0) return false;
      }
      carg[i] = -1;
      continue;
    }
    if ((carg[i] = fused_add(fu, c->in[i], &c->attrs.maps[i])) < 0) return false;
  }
  return true;
}

/* Appends src's insts to dst (at *n), block args through argmap (input args) or, for
 * output args, shifted to the fused op's outputs; arg `skip` becomes inst `skip_to`.
 * skip < 0 marks the producer, whose output args are unused and dropped. */
static void append_body(BodyInst *dst, int *n, const Op *src, const int *argmap, int n_in_new,
                        int skip, int skip_to, int *remap) {
  const Body *b = &src->attrs.body;
  for (int i = 0; i < b->n_insts; i++) {
    BodyInst bi = b->insts[i];
    if (bi.kind == BODY_ARG && (bi.imm_i == skip || (skip < 0 && bi.imm_i >= src->n_in))) {
      remap[i] = skip_to; /* the producer's (unused) output args are dropped */
      continue;
    }
    if (bi.kind == BODY_ARG)
      bi.imm_i = bi.imm_i < src->n_in ? argmap[bi.imm_i] : n_in_new + (bi.imm_i - src->n_in);
    for (int a = 0; a < bi.n_args; a++) bi.args[a] = remap[bi.args[a]];
    remap[i] = *n;
    dst[(*n)++] = bi;
  }
}

static Op *build_fused(Func *f, Op *c, int k, Op *p, const Fused *fu, const int *parg,
                       const int *carg) {
  Module *m = f->module;
  int n_out = c->n_out, np = p->attrs.body.n_insts, nc = c->attrs.body.n_insts;
  TensorType out_t[KILN_MAX_OPERANDS];
  for (int i = 0; i < n_out; i++) out_t[i] = c->out[i]->type;
  Op *g = op_new(f, KILN_OP_GENERIC, c->name, fu->n_in, (Value **)fu->in, n_out, out_t, c);
  OpAttrs *a = &g->attrs;
  *a = c->attrs;
  a->n_maps = fu->n_in + n_out;
  a->maps = arena_alloc(&m->arena, sizeof(AffineMap) * (size_t)a->n_maps);
  KILN_ASSERT(a->maps);
  memcpy(a->maps, fu->maps, sizeof(AffineMap) * (size_t)fu->n_in);
  memcpy(a->maps + fu->n_in, c->attrs.maps + c->n_in, sizeof(AffineMap) * (size_t)n_out);
  a->body = body_new(m, np + nc, n_out);
  int *remap = malloc(sizeof(int) * (size_t)(np + nc + 1));
  KILN_ASSERT(remap);
  int n = 0;
  append_body(a->body.insts, &n, p, parg, fu->n_in, -1, -1, remap);
  int yield = remap[p->attrs.body.yields[0]];
  append_body(a->body.insts, &n, c, carg, fu->n_in, k, yield, remap);
  for (int i = 0; i < n_out; i++) a->body.yields[i] = remap[c->attrs.body.yields[i]];
  a->body.n_insts = n;
  free(remap);
  return g;
}

static bool same_ranges(const Op *a, const Op *b) {
  int64_t ra[KILN_MAX_RANK], rb[KILN_MAX_RANK];
  if (!generic_loop_ranges(a, ra) || !generic_loop_ranges(b, rb)) return false;
  return !memcmp(ra, rb, sizeof(int64_t) * (size_t)a->attrs.n_loops);
}

/* p -> c must stay two generics: p narrows to 8 bits and c widens again (an integer conv's
 * requantize and the next conv's zero-point subtraction), or p requantizes an int32
 * accumulator (the integer conv's epilogue, which the CPU backend runs inside the int8
 * microkernel when it is a generic of its own; merged into a residual add it would run on
 * the slower general evaluator). */
static bool widens_8bit(const Op *p, const Op *c) {
  DType pt = p->out[0]->type.dtype, ct = c->n_out == 1 ? c->out[0]->type.dtype : KILN_F32;
  bool narrow = pt == KILN_I8 || pt == KILN_U8, from_i32 = false;
  for (int i = 0; i < p->n_in; i++) from_i32 |= p->in[i]->type.dtype == KILN_I32;
  return narrow && (ct == KILN_I32 || ct == KILN_I64 || from_i32);
}

/* p -> c must stay two generics: c reads p broadcast (c has at least 4x as many points as
 * p has elements: a squeeze-excitation's sigmoid(fc) scaling a whole feature map) and p's
 * body has a costly instruction, which the fused body would recompute at every point of
 * c (EfficientNet-B0: a sigmoid per pixel instead of per channel). */
static bool recomputes_costly(const Op *p, const Op *c) {
  int64_t pn = type_numel(&p->out[0]->type), cn = 1, r[KILN_MAX_RANK];
  if (!generic_loop_ranges(c, r)) return false;
  for (int l = 0; l < c->attrs.n_loops; l++) cn *= r[l];
  if (cn < 4 * pn) return false;
  const Body *b = &p->attrs.body;
  for (int i = 0; i < b->n_insts; i++) {
    BodyOpKind k = b->insts[i].kind;
    if (k == BODY_EXP || k == BODY_LOG || k == BODY_TANH || k == BODY_ERF || k == BODY_POW ||
        k == BODY_SQRT || (k == BODY_DIV && b->insts[i].dtype == KILN_F32))
      return true;
  }
  return false;
}

/* Fuses c's operand k's producer into c; returns the fused op or NULL. */
static Op *try_fuse(Func *f, Op *c, int k) {
  Op *p = c->in[k]->def;
  int inv[KILN_MAX_RANK], parg[KILN_MAX_OPERANDS], carg[KILN_MAX_OPERANDS];
  Fused fu;
  if (!is_fusable_producer(p, inv) || p->n_in > KILN_MAX_OPERANDS || widens_8bit(p, c) ||
      recomputes_costly(p, c))
    return NULL;
  if (!build_operands(c, k, p, inv, &fu, parg, carg)) return NULL;
  Op *g = build_fused(f, c, k, p, &fu, parg, carg);
  if (!same_ranges(g, c)) {
    op_erase(g);
    return NULL;
  }
  for (int i = 0; i < c->n_out; i++) value_replace_uses(c->out[i], g->out[i]);
  op_erase(c);
  op_erase(p);
  return g;
}

static Op *fuse_into(Func *f, Op *c) {
  if (c->kind != KILN_OP_GENERIC) return NULL;
  for (int k = 0; k < c->n_in; k++) {
    Op *g = try_fuse(f, c, k);
    if (g) return g;
  }
  return NULL;
}

KilnStatus pass_fuse_elementwise(Func *f, PassContext *ctx) {
  (void)ctx;
  for (bool changed = true; changed;) {
    changed = false;
    for (Op *op = f->first, *next; op; op = next) {
      next = op->next;
      Op *g = fuse_into(f, op);
      if (g) {
        changed = true;
        next = g; /* try to fuse more into the fused op */
      }
    }
  }
  return KILN_OK;
}
