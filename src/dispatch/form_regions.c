/* form_regions.c — dispatch region formation: groups a function's ops into fused
 * kernels and outlines each group as a kiln.dispatch op.
 *
 * Algorithm (IREE's FormDispatchRegions, simplified; see shared/prior-art-iree.md 2a):
 *   1. every root (classify.c) starts a group, in program order;
 *   2. consumers: from each root group, walk the uses of its values; a use joins when it is
 *      an all-parallel generic, a reshape/transpose/slice (unless its only user is a root:
 *      then it is that root's read; the same for a generic widening an 8-bit tensor for an
 *      integer root), or a concat whose last-defined operand this is; the
 *      value must have no other user outside the group (--fuse-multi-use lifts this);
 *   3. producers: walk the operands of each group; a pad, reshape, transpose, slice or
 *      all-parallel generic joins when all its users are in the group. Constants never
 *      join: they stay in the function as dispatch operands. A multi-use reshape (a view,
 *      free to copy) is cloned into each group that reads it; with --fuse-multi-use any
 *      multi-use producer of those kinds is (recomputed in each group);
 *   4. every op left starts a group of its own (data movement such as a concat or a
 *      transpose at a graph input, or elementwise work with no root), with 2 and 3 again.
 * A join is refused when it would make the group graph cyclic: a consumer's other
 * operand must not depend on the group ("operand defined after the region"). Groups are
 * then outlined in a topological order (ties: program order of the group's last op), so
 * every dispatch's operands are defined before it. Each refusal is recorded with its
 * rule for --why-not-fused.
 *
 * Concat: joins the region of its last-defined operand when the other operands are
 * available; that region then writes the concat's result (and its own where used
 * elsewhere). A concat that cannot join stays a data-movement dispatch.
 * Guarantees: the function's results are numerically unchanged (ops are moved, never
 * rewritten; clones are exact copies). */
#include <string.h>

#include "dispatch.h"

enum { NO_GROUP = -1, ERASED = -2 };

typedef struct Record {
  const Op *p, *c;
  char reason[200];
} Record;

typedef struct Former {
  Func *f;
  const DispatchOptions *opt;
  Op **ops;                 /* non-constant ops; index = order seen, clones appended */
  int *grp;                 /* group of ops[i], NO_GROUP or ERASED */
  int *pos;                 /* program position (clones: their user's) */
  int n, cap;
  Op **hkey;                /* open-addressing map Op* -> index */
  int *hval;
  size_t hcap;
  int *seed;                /* per group: op index it started from */
  int n_groups, cap_groups;
  Record *rec;
  int n_rec, cap_rec;
  int *stack;               /* DFS scratch, capacity cap */
  char *seen, *gseen;
} Former;

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  KILN_ASSERT(q && "out of memory in dispatch formation");
  return q;
}

/* ---- op index map ------------------------------------------------------- */

static size_t hslot(const Former *F, const Op *op) {
  size_t h = ((size_t)(uintptr_t)op >> 4) * 0x9e3779b97f4a7c15ull;
  size_t i = h & (F->hcap - 1);
  while (F->hkey[i] && F->hkey[i] != op) i = (i + 1) & (F->hcap - 1);
  return i;
}

static int idx_of(const Former *F, const Op *op) {
  if (!op) return -1;
  size_t i = hslot(F, op);
  return F->hkey[i] ? F->hval[i] : -1;
}

static int grp_of(const Former *F, const Op *op) {
  int i = idx_of(F, op);
  return i < 0 ? NO_GROUP : F->grp[i];
}

static void rehash(Former *F, size_t cap) {
  Op **ok = F->hkey;
  int *ov = F->hval;
  size_t oc = F->hcap;
  F->hcap = cap;
  F->hkey = calloc(cap, sizeof *F->hkey);
  F->hval = calloc(cap, sizeof *F->hval);
  KILN_ASSERT(F->hkey && F->hval);
  for (size_t i = 0; i < oc; i++)
    if (ok[i]) {
      size_t s = hslot(F, ok[i]);
      F->hkey[s] = ok[i];
      F->hval[s] = ov[i];
    }
  free(ok);
  free(ov);
}

static int add_op(Former *F, Op *op, int pos) {
  if (F->n == F->cap) {
    F->cap = F->cap ? F->cap * 2 : 256;
    F->ops = xrealloc(F->ops, sizeof *F->ops * (size_t)F->cap);
    F->grp = xrealloc(F->grp, sizeof *F->grp * (size_t)F->cap);
    F->pos = xrealloc(F->pos, sizeof *F->pos * (size_t)F->cap);
    F->stack = xrealloc(F->stack, sizeof *F->stack * (size_t)F->cap);
    F->seen = xrealloc(F->seen, (size_t)F->cap);
  }
  if ((size_t)(F->n + 1) * 2 > F->hcap) rehash(F, F->hcap ? F->hcap * 4 : 1024);
  int i = F->n++;
  F->ops[i] = op;
  F->grp[i] = NO_GROUP;
  F->pos[i] = pos;
  size_t s = hslot(F, op);
  F->hkey[s] = op;
  F->hval[s] = i;
  return i;
}

static int new_group(Former *F, int seed) {
  if (F->n_groups == F->cap_groups) {
    F->cap_groups = F->cap_groups ? F->cap_groups * 2 : 64;
    F->seed = xrealloc(F->seed, sizeof *F->seed * (size_t)F->cap_groups);
    F->gseen = xrealloc(F->gseen, (size_t)F->cap_groups);
  }
  F->seed[F->n_groups] = seed;
  F->grp[seed] = F->n_groups;
  return F->n_groups++;
}

static void former_free(Former *F) {
  free(F->ops); free(F->grp); free(F->pos); free(F->hkey); free(F->hval);
  free(F->seed); free(F->rec); free(F->stack); free(F->seen); free(F->gseen);
}

/* ---- why-not records ------------------------------------------------------ */

static Record *find_record(const Former *F, const Op *p, const Op *c) {
  for (int i = 0; i < F->n_rec; i++)
    if (F->rec[i].p == p && F->rec[i].c == c) return &F->rec[i];
  return NULL;
}

/* Keeps the first reason given for an edge. */
static void record(Former *F, const Op *p, const Op *c, const char *reason) {
  if (find_record(F, p, c)) return;
  if (F->n_rec == F->cap_rec) {
    F->cap_rec = F->cap_rec ? F->cap_rec * 2 : 128;
    F->rec = xrealloc(F->rec, sizeof *F->rec * (size_t)F->cap_rec);
  }
  Record *r = &F->rec[F->n_rec++];
  r->p = p;
  r->c = c;
  snprintf(r->reason, sizeof r->reason, "%s", reason);
}

static const char *kind_short(const Op *op) {
  const char *n = op_kind_name(op->kind);
  if (op->kind == KILN_OP_GENERIC) return dispatch_is_root(op) ? "reduction generic" : "generic";
  return strncmp(n, "kiln.", 5) ? n : n + 5;
}

/* "the region of root conv_2d 'name'" for group g. */
static void group_desc(const Former *F, int g, char *buf, size_t n) {
  const Op *s = F->ops[F->seed[g]];
  snprintf(buf, n, "%s region of %s '%s'", dispatch_is_root(s) ? "the root" : "the leftover",
           kind_short(s), s->name);
}

/* ---- reachability (cycle check) ------------------------------------------- */

static void push_group(Former *F, int g, int *sp) {
  F->gseen[g] = 1;
  for (int i = 0; i < F->n; i++)
    if (F->grp[i] == g) F->stack[(*sp)++] = i;
}

/* True when `target` depends on a value of group g (through any ops or groups). */
static bool reaches(Former *F, int g, const Op *target) {
  memset(F->seen, 0, (size_t)F->n);
  memset(F->gseen, 0, (size_t)F->n_groups);
  int sp = 0, tg = grp_of(F, target);
  push_group(F, g, &sp);
  while (sp) {
    const Op *op = F->ops[F->stack[--sp]];
    for (int k = 0; k < op->n_out; k++)
      for (const Use *u = op->out[k]->uses; u; u = u->next) {
        int ui = idx_of(F, u->user);
        if (ui < 0 || F->grp[ui] == g) continue;
        int ug = F->grp[ui];
        if (u->user == target || (tg >= 0 && ug == tg)) return true;
        if (F->seen[ui]) continue;
        F->seen[ui] = 1;
        if (ug >= 0 && !F->gseen[ug]) push_group(F, ug, &sp);
        else if (ug < 0) F->stack[sp++] = ui;
      }
  }
  return false;
}

/* ---- fusion rules ----------------------------------------------------------- */

static bool is_parallel_generic(const Op *op) {
  return op->kind == KILN_OP_GENERIC && !dispatch_is_root(op);
}

static bool is_reshape_like(OpKind k) {
  return k == KILN_OP_TRANSPOSE || k == KILN_OP_RESHAPE || k == KILN_OP_COLLAPSE_SHAPE ||
         k == KILN_OP_EXPAND_SHAPE || k == KILN_OP_EXTRACT_SLICE;
}

/* Users of v other than `except` that are not in group g. */
static int outside_users(const Former *F, const Value *v, int g, const Op *except) {
  int n = 0;
  for (const Use *u = v->uses; u; u = u->next)
    n += u->user != except && grp_of(F, u->user) != g;
  return n;
}

static const Op *only_user(const Value *v) {
  const Op *u0 = v->uses ? v->uses->user : NULL;
  for (const Use *u = v->uses; u; u = u->next)
    if (u->user != u0) return NULL;
  return u0;
}

static int max_operand_pos(const Former *F, const Op *op) {
  int best = -1;
  for (int i = 0; i < op->n_in; i++) {
    int k = idx_of(F, op->in[i]->def);
    if (k >= 0 && F->pos[k] > best) best = F->pos[k];
  }
  return best;
}

/* A generic widening an 8-bit integer tensor to i32 for a root (through views): the zero
 * point subtraction of an integer conv (quantize_convs.c). It is that root's read, so the
 * 8-bit tensor is what crosses memory and the int8 kernels read it directly. */
/* A view, slice or constant pad: how a root reads its operand (pad-to-intrinsic's pads). */
static bool is_read_op(const Op *op) {
  return (is_reshape_like(op->kind) && op->kind != KILN_OP_TRANSPOSE) ||
         (op->kind == KILN_OP_PAD && op->attrs.pad_mode == PAD_CONSTANT);
}

/* Every use of v is a root, or a read op whose result is read that way (depth-bounded). */
static bool read_by_roots(const Value *v, int depth) {
  if (!v->uses || value_is_result(v) || depth > 8) return false;
  for (const Use *u = v->uses; u; u = u->next)
    if (!dispatch_is_root(u->user) && !(is_read_op(u->user) && read_by_roots(u->user->out[0], depth + 1)))
      return false;
  return true;
}

/* U widens an 8-bit tensor to i32 for integer roots only. */
static bool widens_8bit_for_roots(const Op *U) {
  DType t = U->n_in == 1 ? U->in[0]->type.dtype : KILN_F32;
  return U->n_out == 1 && U->out[0]->type.dtype == KILN_I32 && (t == KILN_U8 || t == KILN_I8) &&
         read_by_roots(U->out[0], 0);
}

/* Kind-level rule for a consumer U of v; NULL when U may join. */
static const char *consumer_kind_rule(const Former *F, const Value *v, const Op *U, char *buf,
                                      size_t n) {
  if (is_parallel_generic(U) && widens_8bit_for_roots(U))
    return "consumer widens an 8-bit tensor for a root and fuses into it as its read";
  if (is_parallel_generic(U)) return NULL;
  if (is_reshape_like(U->kind)) {
    const Op *next = only_user(U->out[0]);
    if (!next || !dispatch_is_root(next) || value_is_result(U->out[0])) return NULL;
    snprintf(buf, n, "consumer %s feeds a root (%s) directly and fuses into it as a read",
             kind_short(U), kind_short(next));
    return buf;
  }
  if (U->kind == KILN_OP_CONCAT) {
    int k = idx_of(F, v->def);
    if (k >= 0 && F->pos[k] == max_operand_pos(F, U)) return NULL;
    return "concat joins only the region of its last-defined operand";
  }
  if (U->kind == KILN_OP_PAD) return "consumer is a pad: a pad fuses into the op that reads it";
  snprintf(buf, n, "consumer kind %s does not fuse into a producer's region", kind_short(U));
  return buf;
}

/* Why U (a user of v, produced in group g) may not join g; NULL when it may. */
static const char *consumer_reason(Former *F, int g, const Value *v, const Op *U, char *buf,
                                   size_t n) {
  int ug = grp_of(F, U);
  if (ug >= 0) {
    char gd[160];
    group_desc(F, ug, gd, sizeof gd);
    const Op *p = v->def;
    if (dispatch_is_root(U))
      snprintf(buf, n, "consumer is a root (%s) and producer %s (%s)",
               kind_short(U), dispatch_is_root(p) ? "is a root" : "is in a root's region",
               kind_short(dispatch_is_root(p) ? p : F->ops[F->seed[g]]));
    else
      snprintf(buf, n, "consumer already joined %s", gd);
    return buf;
  }
  int others = outside_users(F, v, g, U);
  if (others && !F->opt->fuse_multi_use) {
    snprintf(buf, n, "producer has %d uses (--fuse-multi-use fuses them)", others + 1);
    return buf;
  }
  const char *r = consumer_kind_rule(F, v, U, buf, n);
  if (r) return r;
  for (int i = 0; i < U->n_in; i++) {
    const Op *p = U->in[i]->def;
    if (!p || p->kind == KILN_OP_CONSTANT || grp_of(F, p) == g) continue;
    if (reaches(F, g, p))
      return "operand defined after the region: another operand of the consumer is computed "
             "from this region's results";
  }
  return NULL;
}

static bool producer_kind_ok(const Op *P) {
  return P->kind == KILN_OP_PAD || is_reshape_like(P->kind) || is_parallel_generic(P);
}

/* Why producer P of group-g op C may not join g; NULL when it may. */
static const char *producer_reason(Former *F, int g, const Op *P, const Op *C, char *buf,
                                   size_t n) {
  int pg = grp_of(F, P);
  if (pg >= 0) {
    char gd[160];
    group_desc(F, pg, gd, sizeof gd);
    if (dispatch_is_root(P) && dispatch_is_root(C))
      snprintf(buf, n, "consumer is a root (%s) and producer is a root (%s)", kind_short(C),
               kind_short(P));
    else
      snprintf(buf, n, "producer already joined %s", gd);
    return buf;
  }
  if (!producer_kind_ok(P)) {
    snprintf(buf, n, "producer kind %s does not fuse into a consumer's region", kind_short(P));
    return buf;
  }
  int users = 0;
  for (int k = 0; k < P->n_out; k++) users += outside_users(F, P->out[k], g, NULL);
  if (users) {
    snprintf(buf, n, "producer has %d uses outside the region (--fuse-multi-use clones it)",
             users + 1);
    return buf;
  }
  return NULL;
}

/* ---- growing groups ---------------------------------------------------------- */

static void fuse_consumers(Former *F, int g) {
  int *work = xrealloc(NULL, sizeof *work * (size_t)F->n), nw = 0;
  for (int i = 0; i < F->n; i++)
    if (F->grp[i] == g) work[nw++] = i;
  while (nw) {
    const Op *op = F->ops[work[--nw]];
    for (int k = 0; k < op->n_out; k++)
      for (const Use *u = op->out[k]->uses; u; u = u->next) {
        int ui = idx_of(F, u->user);
        if (ui < 0 || F->grp[ui] == g) continue;
        char buf[200];
        const char *why = consumer_reason(F, g, op->out[k], u->user, buf, sizeof buf);
        if (why) {
          record(F, op, u->user, why);
          continue;
        }
        F->grp[ui] = g;
        work = xrealloc(work, sizeof *work * (size_t)F->n);
        work[nw++] = ui;
      }
  }
  free(work);
}

/* Copies P right before C and makes C read the copy; erases P once nothing uses it. */
static int clone_into(Former *F, int pi, Op *C, int g) {
  Op *P = F->ops[pi];
  TensorType types[KILN_MAX_OPERANDS];
  KILN_ASSERT(P->n_out <= KILN_MAX_OPERANDS);
  for (int k = 0; k < P->n_out; k++) types[k] = P->out[k]->type;
  Op *c = op_new(C->parent, P->kind, P->name, P->n_in, P->in, P->n_out, types, C);
  c->attrs = P->attrs;
  for (int k = 0; k < P->n_out; k++) {
    c->out[k]->name = P->out[k]->name;
    for (int i = 0; i < C->n_in; i++)
      if (C->in[i] == P->out[k]) op_set_operand(C, i, c->out[k]);
  }
  int ci = add_op(F, c, F->pos[idx_of(F, C)]);
  F->grp[ci] = g;
  bool used = false;
  for (int k = 0; k < P->n_out; k++) used |= P->out[k]->uses || value_is_result(P->out[k]);
  if (!used) {
    op_erase(P);
    F->grp[pi] = ERASED;
  }
  return ci;
}

/* Reshapes are views (no data moves), and so, inside a fused kernel, are zero pads and
 * slices (the consumer reads the source with shifted bounds; a pad's lanes outside it are
 * constants): always cloned into every region that reads them — e.g. the zero pad that
 * pad-to-intrinsic puts before several convs reading one tensor (CSE merged the copies).
 * So is the widening of an 8-bit tensor for integer roots (the zero point off, which the
 * int8 kernels do as they read; CSE merges the copies of the convs reading one tensor).
 * Other fusable producers with several uses only with --fuse-multi-use (recomputation). */
static bool clonable(const Former *F, const Op *P, int pi) {
  bool view = P->kind == KILN_OP_RESHAPE || P->kind == KILN_OP_COLLAPSE_SHAPE ||
              P->kind == KILN_OP_EXPAND_SHAPE || P->kind == KILN_OP_EXTRACT_SLICE ||
              (P->kind == KILN_OP_PAD && P->attrs.pad_mode == PAD_CONSTANT) ||
              (is_parallel_generic(P) && widens_8bit_for_roots(P));
  return F->grp[pi] == NO_GROUP && (view || (F->opt->fuse_multi_use && producer_kind_ok(P)));
}

static void fuse_producers(Former *F, int g) {
  int *work = xrealloc(NULL, sizeof *work * (size_t)F->n), nw = 0;
  for (int i = 0; i < F->n; i++)
    if (F->grp[i] == g) work[nw++] = i;
  while (nw) {
    Op *op = F->ops[work[--nw]];
    for (int i = 0; i < op->n_in; i++) {
      Op *P = op->in[i]->def;
      int pi = idx_of(F, P);
      if (pi < 0 || F->grp[pi] == g || F->grp[pi] == ERASED) continue;
      char buf[200];
      const char *why = producer_reason(F, g, P, op, buf, sizeof buf);
      int joined = -1;
      if (!why) {
        F->grp[pi] = g;
        joined = pi;
      } else if (clonable(F, P, pi)) {
        joined = clone_into(F, pi, op, g);
      } else {
        record(F, P, op, why);
      }
      if (joined < 0) continue;
      work = xrealloc(work, sizeof *work * (size_t)F->n);
      work[nw++] = joined;
    }
  }
  free(work);
}

static void form_groups(Former *F) {
  int n0 = F->n;
  for (int i = 0; i < n0; i++)
    if (dispatch_is_root(F->ops[i])) new_group(F, i);
  int n_roots = F->n_groups;
  for (int g = 0; g < n_roots; g++) fuse_consumers(F, g);
  for (int g = 0; g < n_roots; g++) fuse_producers(F, g);
  for (int i = 0; i < F->n; i++) {
    if (F->grp[i] != NO_GROUP) continue;
    int g = new_group(F, i);
    fuse_consumers(F, g);
    fuse_producers(F, g);
  }
}

/* ---- conv chains (--fuse-conv-chains) --------------------------------------------- *
 * An inverted-residual block — 1x1 expand (a matmul after conv1x1-to-matmul, or a 1x1
 * conv), depthwise conv, 1x1 project, each with its fused epilogue, the residual add in the
 * project's region — becomes one region with several roots, so that a backend can compute
 * it tile by tile and the wide expanded tensor never goes to memory. Found on the group
 * graph after the one-root formation: from each depthwise group D,
 *   - P, the project: the first group after D (program order) rooted at a matmul or 1x1
 *     conv over every pixel of D's output (not a squeeze-and-excitation matmul on the
 *     pooled vector) that post-dominates D: every edge leaving D or a group between them (reachable
 *     from D and reaching P, e.g. a squeeze-and-excitation pool and its two matmuls)
 *     enters a group between them or P; at most MAX_BETWEEN groups in between, none of
 *     them rooted at a conv (so a chain never spans two blocks);
 *   - E, the expand: the group that produces D's input when it is rooted at a matmul or
 *     1x1 conv and feeds only D; without one (a block with no expansion) the chain starts
 *     at D.
 * Merging {E, D, between, P} cannot make the group graph cyclic: E's edges all enter D,
 * and every edge leaving D and the groups between enters the set, so no path leaves the
 * set and comes back. */

enum { MAX_BETWEEN = 4 };

static const Op *group_root(const Former *F, int g) { return F->ops[F->seed[g]]; }

static bool is_pointwise_root(const Op *op) {
  if (op->kind == KILN_OP_MATMUL) return true;
  return op->kind == KILN_OP_CONV2D && op->attrs.kernel[0] == 1 && op->attrs.kernel[1] == 1 &&
         op->attrs.groups == 1;
}

/* Pixels (rows of the matmul, N*H*W of a conv) a pointwise root runs over. */
static int64_t pointwise_pixels(const Op *op) {
  const TensorType *x = &op->in[0]->type;
  int64_t n = type_numel(x);
  return x->rank ? n / (x->dims[x->rank - 1] ? x->dims[x->rank - 1] : 1) : n;
}

/* A project candidate runs over every pixel of the depthwise output: this tells it from
 * the matmuls of a squeeze-and-excitation on the pooled vector, which also post-dominate
 * the depthwise when the excitation's multiply joined their region. */
static bool covers_pixels(const Op *pw, const Op *dw) {
  const TensorType *y = &dw->out[0]->type;
  return pointwise_pixels(pw) >= type_numel(y) / (y->dims[y->rank - 1] ? y->dims[y->rank - 1] : 1);
}

static bool is_conv_root(const Op *op) {
  return op->kind == KILN_OP_CONV2D || op->kind == KILN_OP_DEPTHWISE_CONV2D ||
         op->kind == KILN_OP_CONV_TRANSPOSE2D;
}

/* adj[h*G+g] = 1 when a value of group h is read by group g. */
static char *group_edges(const Former *F) {
  size_t G = (size_t)F->n_groups;
  char *adj = calloc(G * G + 1, 1);
  KILN_ASSERT(adj);
  for (int i = 0; i < F->n; i++) {
    int g = F->grp[i];
    if (g < 0) continue;
    for (int k = 0; k < F->ops[i]->n_in; k++) {
      int h = grp_of(F, F->ops[i]->in[k]->def);
      if (h >= 0 && h != g) adj[(size_t)h * G + (size_t)g] = 1;
    }
  }
  return adj;
}

/* in[] = groups reachable from g (g excluded) following adj forward (or backward). */
static void reach(const Former *F, const char *adj, int g, bool forward, char *in) {
  int G = F->n_groups, *stack = xrealloc(NULL, sizeof *stack * (size_t)G), sp = 0;
  memset(in, 0, (size_t)G);
  stack[sp++] = g;
  while (sp) {
    int h = stack[--sp];
    for (int x = 0; x < G; x++) {
      char e = forward ? adj[(size_t)h * (size_t)G + (size_t)x] : adj[(size_t)x * (size_t)G + (size_t)h];
      if (e && !in[x]) {
        in[x] = 1;
        stack[sp++] = x;
      }
    }
  }
  free(stack);
}

/* True when every edge leaving d or a group marked in `between` enters between or p. */
static bool post_dominates(const Former *F, const char *adj, int d, int p, const char *between) {
  int G = F->n_groups;
  for (int h = 0; h < G; h++) {
    if (h != d && !between[h]) continue;
    for (int x = 0; x < G; x++)
      if (adj[(size_t)h * (size_t)G + (size_t)x] && x != p && !between[x]) return false;
  }
  return true;
}

/* The project group of depthwise group d (see above) with `between` filled; -1 if none. */
static int find_project(const Former *F, const char *adj, int d, const char *merged, char *between) {
  int G = F->n_groups;
  char *fwd = xrealloc(NULL, (size_t)G), *back = xrealloc(NULL, (size_t)G);
  reach(F, adj, d, true, fwd);
  int best = -1;
  for (int p = 0; p < G; p++) { /* candidates in program order of their roots */
    const Op *root = group_root(F, p);
    if (!fwd[p] || merged[p] || !is_pointwise_root(root) || !covers_pixels(root, group_root(F, d)))
      continue;
    if (best >= 0 && F->pos[F->seed[p]] >= F->pos[F->seed[best]]) continue;
    reach(F, adj, p, false, back);
    int n_between = 0;
    bool ok = true;
    for (int x = 0; x < G; x++) {
      between[x] = fwd[x] && back[x];
      if (!between[x]) continue;
      n_between++;
      ok &= !merged[x] && !is_conv_root(group_root(F, x));
    }
    if (ok && n_between <= MAX_BETWEEN && post_dominates(F, adj, d, p, between)) best = p;
  }
  if (best >= 0) { /* recompute `between` for the chosen project */
    reach(F, adj, best, false, back);
    for (int x = 0; x < G; x++) between[x] = fwd[x] && back[x];
  }
  free(fwd);
  free(back);
  return best;
}

/* True when a value computed in group g is a result of the function. */
static bool group_returns(const Former *F, int g) {
  for (int i = 0; i < F->n; i++)
    for (int k = 0; F->grp[i] == g && k < F->ops[i]->n_out; k++)
      if (value_is_result(F->ops[i]->out[k])) return true;
  return false;
}

/* The expand group feeding depthwise group d (its only producer group, feeding only d and
 * not returning anything: its wide result must stay inside the chain), or -1. */
static int find_expand(const Former *F, const char *adj, int d, const char *merged) {
  size_t G = (size_t)F->n_groups;
  int e = -1;
  for (size_t h = 0; h < G; h++)
    if (adj[h * G + (size_t)d]) {
      if (e >= 0) return -1;
      e = (int)h;
    }
  if (e < 0 || merged[e] || !is_pointwise_root(group_root(F, e)) || group_returns(F, e)) return -1;
  for (size_t x = 0; x < G; x++)
    if (adj[(size_t)e * G + x] && x != (size_t)d) return -1;
  return e;
}

static void merge_group(Former *F, int from, int into) {
  for (int i = 0; i < F->n; i++)
    if (F->grp[i] == from) F->grp[i] = into;
}

/* Merges each chain into its depthwise group (which keeps D's seed and name). */
static void fuse_conv_chains(Former *F) {
  int G = F->n_groups;
  char *adj = group_edges(F), *merged = calloc((size_t)G + 1, 1), *between = xrealloc(NULL, (size_t)G);
  KILN_ASSERT(merged);
  for (int d = 0; d < G; d++) {
    if (merged[d] || group_root(F, d)->kind != KILN_OP_DEPTHWISE_CONV2D) continue;
    int p = find_project(F, adj, d, merged, between);
    if (p < 0) continue;
    int e = find_expand(F, adj, d, merged);
    merged[d] = 1;
    for (int x = 0; x < G; x++)
      if (x == p || x == e || between[x]) {
        merge_group(F, x, d);
        merged[x] = 1;
      }
  }
  free(adj);
  free(merged);
  free(between);
}

/* ---- outlining ------------------------------------------------------------------ */

static void unlink_op(Func *f, Op *op) {
  if (op->prev) op->prev->next = op->next; else f->first = op->next;
  if (op->next) op->next->prev = op->prev; else f->last = op->prev;
  op->prev = op->next = NULL;
}

static void append_op(Func *f, Op *op) {
  op->parent = f;
  op->prev = f->last;
  op->next = NULL;
  if (f->last) f->last->next = op; else f->first = op;
  f->last = op;
}

typedef struct Outline {
  Op **members;
  int n_members;
  Value **ext, **yield;
  int n_ext, n_yield;
} Outline;

static int find_value(Value **vs, int n, const Value *v) {
  for (int i = 0; i < n; i++)
    if (vs[i] == v) return i;
  return -1;
}

static bool used_outside(const Former *F, const Value *v, int g) {
  if (value_is_result(v)) return true;
  for (const Use *u = v->uses; u; u = u->next)
    if (grp_of(F, u->user) != g) return true;
  return false;
}

/* Members in program order, operands from outside, values used outside. */
static void collect(const Former *F, int g, Outline *o) {
  for (Op *op = F->f->first; op; op = op->next) {
    if (grp_of(F, op) != g) continue;
    o->members[o->n_members++] = op;
    for (int i = 0; i < op->n_in; i++) {
      Value *v = op->in[i];
      if (grp_of(F, v->def) != g && find_value(o->ext, o->n_ext, v) < 0) o->ext[o->n_ext++] = v;
    }
    for (int k = 0; k < op->n_out; k++)
      if (used_outside(F, op->out[k], g)) o->yield[o->n_yield++] = op->out[k];
  }
}

/* Points every use of v outside group g (and the function results) at `to`. */
static void redirect_outside(Former *F, Value *v, int g, Value *to) {
  for (;;) {
    Use *u = v->uses;
    while (u && grp_of(F, u->user) == g) u = u->next;
    if (!u) break;
    op_set_operand(u->user, u->index, to);
  }
  for (int i = 0; i < F->f->n_results; i++)
    if (F->f->results[i] == v) F->f->results[i] = to;
}

static void outline_group(Former *F, int g, int index, Outline *o) {
  Func *f = F->f;
  o->n_members = o->n_ext = o->n_yield = 0;
  collect(F, g, o);
  if (o->n_members == 1 && o->members[0]->kind == KILN_OP_DISPATCH) {
    unlink_op(f, o->members[0]);
    append_op(f, o->members[0]);
    return;
  }
  TensorType *types = xrealloc(NULL, sizeof *types * (size_t)o->n_yield);
  for (int j = 0; j < o->n_yield; j++) types[j] = o->yield[j]->type;
  Op *D = op_new(f, KILN_OP_DISPATCH, "dispatch", o->n_ext, o->ext, o->n_yield, types, NULL);
  free(types);
  Func *r = func_new(f->module, "dispatch");
  for (int i = 0; i < o->n_ext; i++) {
    const Value *v = o->ext[i];
    bool named_const = !v->name && v->def && v->def->kind == KILN_OP_CONSTANT;
    func_add_arg(r, v->type, named_const ? v->def->name : v->name);
  }
  const char **names = xrealloc(NULL, sizeof *names * (size_t)o->n_yield);
  for (int j = 0; j < o->n_yield; j++) {
    D->out[j]->name = o->yield[j]->name;
    names[j] = o->yield[j]->name;
    redirect_outside(F, o->yield[j], g, D->out[j]);
  }
  for (int m = 0; m < o->n_members; m++) {
    Op *op = o->members[m];
    unlink_op(f, op);
    append_op(r, op);
    for (int i = 0; i < op->n_in; i++) {
      int k = find_value(o->ext, o->n_ext, op->in[i]);
      if (k >= 0) op_set_operand(op, i, r->args[k]);
    }
  }
  func_set_results(r, o->n_yield, o->yield, names);
  free(names);
  D->attrs.region = r;
  char name[256];
  dispatch_make_name(r, index, name, sizeof name);
  D->name = r->name = arena_strdup(&f->module->arena, name);
}

/* Groups in dependency order; among ready groups the one whose last op comes first. */
static int *topo_order(Former *F) {
  int G = F->n_groups;
  int *last = xrealloc(NULL, sizeof *last * (size_t)G), *order = xrealloc(NULL, sizeof *order * (size_t)G);
  char *adj = calloc((size_t)G * (size_t)G + 1, 1), *done = calloc((size_t)G + 1, 1);
  KILN_ASSERT(adj && done);
  for (int g = 0; g < G; g++) last[g] = -1;
  int p = 0;
  for (Op *op = F->f->first; op; op = op->next, p++) {
    int g = grp_of(F, op);
    if (g < 0) continue;
    last[g] = p;
    for (int i = 0; i < op->n_in; i++) {
      int h = grp_of(F, op->in[i]->def);
      if (h >= 0 && h != g) adj[(size_t)h * (size_t)G + (size_t)g] = 1;
    }
  }
  for (int k = 0; k < G; k++) {
    int best = -1;
    for (int g = 0; g < G; g++) {
      if (done[g]) continue;
      bool ready = true;
      for (int h = 0; h < G && ready; h++) ready = done[h] || !adj[(size_t)h * (size_t)G + (size_t)g];
      if (ready && (best < 0 || last[g] < last[best])) best = g;
    }
    KILN_ASSERT(best >= 0 && "dispatch groups form a cycle");
    done[best] = 1;
    order[k] = best;
  }
  free(last);
  free(adj);
  free(done);
  return order;
}

static void outline_all(Former *F) {
  int *order = topo_order(F);
  size_t n_in = 1, n_out = 1;
  for (int i = 0; i < F->n; i++) {
    n_in += (size_t)F->ops[i]->n_in;
    n_out += (size_t)F->ops[i]->n_out;
  }
  Outline o = {
    .members = xrealloc(NULL, sizeof(Op *) * (size_t)F->n),
    .ext = xrealloc(NULL, sizeof(Value *) * n_in),
    .yield = xrealloc(NULL, sizeof(Value *) * n_out),
  };
  int index = 0;
  for (int k = 0; k < F->n_groups; k++) {
    bool empty = true;
    for (int i = 0; i < F->n && empty; i++) empty = F->grp[i] != order[k];
    if (!empty) outline_group(F, order[k], index++, &o);
  }
  free(o.members);
  free(o.ext);
  free(o.yield);
  free(order);
}

/* ---- explanations -------------------------------------------------------------- */

static void add_why(DispatchExplain *e, const Op *p, const Op *c, const char *reason) {
  if (e->n == e->cap) {
    e->cap = e->cap ? e->cap * 2 : 64;
    e->rows = xrealloc(e->rows, sizeof *e->rows * (size_t)e->cap);
  }
  WhyNot *w = &e->rows[e->n++];
  w->producer = p;
  w->consumer = c;
  snprintf(w->reason, sizeof w->reason, "%s", reason);
}

/* One row per producer -> consumer edge between different groups (before outlining). */
static void explain(Former *F, DispatchExplain *e) {
  for (int i = 0; i < F->n; i++) {
    const Op *c = F->ops[i];
    if (F->grp[i] < 0) continue;
    for (int k = 0; k < c->n_in; k++) {
      const Op *p = c->in[k]->def;
      int pg = grp_of(F, p);
      if (pg < 0 || pg == F->grp[i]) continue;
      bool dup = false;
      for (int j = 0; j < k && !dup; j++) dup = c->in[j]->def == p;
      if (dup) continue;
      const Record *r = find_record(F, p, c);
      add_why(e, p, c, r ? r->reason : "no fusion rule joins these ops");
    }
  }
}

void dispatch_explain_free(DispatchExplain *e) {
  if (!e) return;
  free(e->rows);
  e->rows = NULL;
  e->n = e->cap = 0;
}

KilnStatus dispatch_form_regions(Func *f, const DispatchOptions *opt, Diag *d) {
  DispatchOptions none = {0};
  (void)d;
  if (!opt) opt = &none;
  Former F = {.f = f, .opt = opt};
  int p = 0;
  for (Op *op = f->first; op; op = op->next, p++)
    if (op->kind != KILN_OP_CONSTANT) add_op(&F, op, p);
  if (F.n == 0) { /* only constants (a graph of folded values): nothing to group */
    former_free(&F);
    return KILN_OK;
  }
  form_groups(&F);
  if (opt->fuse_conv_chains) fuse_conv_chains(&F);
  if (opt->explain) explain(&F, opt->explain);
  outline_all(&F);
  former_free(&F);
  return KILN_OK;
}
