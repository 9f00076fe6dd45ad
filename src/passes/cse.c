/* cse.c — common subexpression elimination.
 *
 * Two ops are the same computation when they have the same kind, the same operand values,
 * the same result types and the same attributes (maps and bodies compared field by field);
 * two constants are the same when their types and bytes are. The later op's results are
 * replaced by the earlier op's and the later op is erased. Ops are hashed so the pass is
 * linear in practice; equality is always checked in full, so a hash collision costs time,
 * never correctness. Attribute comparison is bitwise: conservative (e.g. -0.0 != 0.0). */
#include <string.h>

#include "passes.h"

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = mix(h, b[i]);
  return h;
}

static uint64_t op_hash(const Module *m, const Op *op) {
  uint64_t h = mix(0xcbf29ce484222325ull, op->kind);
  for (int i = 0; i < op->n_in; i++) h = mix(h, (uint64_t)op->in[i]->id);
  if (op->kind == KILN_OP_CONSTANT) {
    const Constant *c = &m->consts[op->attrs.const_index];
    h = hash_bytes(h, &c->type, sizeof c->type);
    if (c->data) h = hash_bytes(h, c->data, c->nbytes < 4096 ? c->nbytes : 4096);
  }
  return h;
}

static bool maps_equal(const AffineMap *a, const AffineMap *b) {
  if (a->n_results != b->n_results) return false;
  for (int r = 0; r < a->n_results; r++)
    if (memcmp(&a->results[r], &b->results[r], sizeof a->results[r])) return false;
  return true;
}

static bool insts_equal(const BodyInst *a, const BodyInst *b) {
  return a->kind == b->kind && a->dtype == b->dtype && a->n_args == b->n_args &&
         !memcmp(a->args, b->args, sizeof a->args) && a->imm_i == b->imm_i &&
         !memcmp(&a->imm, &b->imm, sizeof a->imm) && a->pred == b->pred;
}

static bool generic_equal(const Op *a, const Op *b) {
  const OpAttrs *x = &a->attrs, *y = &b->attrs;
  if (x->n_loops != y->n_loops || x->n_maps != y->n_maps ||
      memcmp(x->iterators, y->iterators, sizeof x->iterators))
    return false;
  for (int k = 0; k < x->n_maps; k++)
    if (!maps_equal(&x->maps[k], &y->maps[k])) return false;
  if (x->body.n_insts != y->body.n_insts || x->body.n_yield != y->body.n_yield) return false;
  for (int i = 0; i < x->body.n_insts; i++)
    if (!insts_equal(&x->body.insts[i], &y->body.insts[i])) return false;
  if (memcmp(x->body.yields, y->body.yields, sizeof(int) * (size_t)x->body.n_yield)) return false;
  if (!x->init != !y->init) return false;
  return !x->init || !memcmp(x->init, y->init, sizeof(double) * (size_t)a->n_out);
}

/* The attributes other than the pointer-held ones, compared bitwise. */
static bool plain_attrs_equal(const OpAttrs *x, const OpAttrs *y) {
  OpAttrs a = *x, b = *y;
  a.maps = b.maps = NULL;
  a.body = b.body = (Body){0};
  a.init = b.init = NULL;
  a.region = b.region = NULL;
  a.const_index = b.const_index = 0;
  return memcmp(&a, &b, sizeof a) == 0;
}

static bool consts_equal(const Module *m, const Op *a, const Op *b) {
  const Constant *x = &m->consts[a->attrs.const_index], *y = &m->consts[b->attrs.const_index];
  if (x == y) return true;
  return x->data && y->data && type_equal(&x->type, &y->type) && x->nbytes == y->nbytes &&
         !memcmp(x->data, y->data, x->nbytes);
}

static bool ops_equal(const Module *m, const Op *a, const Op *b) {
  if (a->kind != b->kind || a->n_in != b->n_in || a->n_out != b->n_out) return false;
  if (a->kind == KILN_OP_DISPATCH) return false; /* regions are never merged */
  for (int i = 0; i < a->n_in; i++)
    if (a->in[i] != b->in[i]) return false;
  for (int i = 0; i < a->n_out; i++)
    if (!type_equal(&a->out[i]->type, &b->out[i]->type)) return false;
  if (a->kind == KILN_OP_CONSTANT) return consts_equal(m, a, b);
  if (!plain_attrs_equal(&a->attrs, &b->attrs)) return false;
  return a->kind != KILN_OP_GENERIC || generic_equal(a, b);
}

KilnStatus pass_cse(Func *f, PassContext *ctx) {
  size_t n = 0;
  for (Op *op = f->first; op; op = op->next) n++;
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  Op **table = calloc(cap, sizeof *table);
  if (!table) return diag_error(ctx->diag, KILN_ERR_NOMEM, "cse: out of memory");
  for (Op *op = f->first, *next; op; op = next) {
    next = op->next;
    size_t i = (size_t)op_hash(f->module, op) & (cap - 1);
    for (; table[i]; i = (i + 1) & (cap - 1))
      if (ops_equal(f->module, table[i], op)) break;
    if (!table[i]) {
      table[i] = op;
      continue;
    }
    for (int k = 0; k < op->n_out; k++) value_replace_uses(op->out[k], table[i]->out[k]);
    op_erase(op);
  }
  free(table);
  return KILN_OK;
}
