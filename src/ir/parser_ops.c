/* parser_ops.c — turns an op's parsed attribute dictionary into OpAttrs, driven by the
 * op's ops.def attribute mask: each A_* group names the attributes it needs (the same
 * names printer.c writes), each is checked for kind (string enum, i64, f64, bool,
 * array<i64>, array<f64>, affine maps), for length against the operand rank where the
 * field is per-dim, and for enum spelling. Missing required attributes and attributes
 * the op does not take are errors, named with the op. kiln.name is handled by parser.c;
 * kiln.const (a CONSTANT's module-constant name when it differs from the op name) here. */
#include <string.h>

#include "text.h"

typedef struct AttrCtx {
  Parser *ps;
  Op *op;
  AttrDict *ad;
  const char *at;
  const char *opname;
} AttrCtx;

static AttrVal *need(AttrCtx *c, const char *name, AttrKind kind, const char *what) {
  AttrVal *v = attr_find(c->ad, name);
  if (!v) {
    perr_at(c->ps, c->at, "'%s': missing attribute '%s'", c->opname, name);
    return NULL;
  }
  v->used = true;
  bool empty_list = v->n == 0 && (v->kind == AV_STRS || v->kind == AV_F64S || v->kind == AV_MAPS || v->kind == AV_I64S);
  bool list_want = kind == AV_STRS || kind == AV_F64S || kind == AV_MAPS;
  bool ok = v->kind == kind || (empty_list && list_want) || (kind == AV_F64 && v->kind == AV_INT);
  if (kind == AV_F64 && v->kind == AV_INT) v->f = (double)v->i;
  if (!ok) {
    perr_at(c->ps, v->at, "'%s': attribute '%s' must be %s", c->opname, name, what);
    return NULL;
  }
  return v;
}

static bool get_i64s(AttrCtx *c, const char *name, int64_t *dst, int want, int *n_out) {
  AttrVal *v = need(c, name, AV_I64S, "array<i64: ...>");
  if (!v) return false;
  if ((want >= 0 && v->n != want) || v->n > KILN_MAX_RANK)
    return perr_at(c->ps, v->at, "'%s': attribute '%s' has %d elements, expected %d", c->opname, name, v->n,
                   want >= 0 ? want : KILN_MAX_RANK);
  if (v->n) memcpy(dst, v->i64s, sizeof(int64_t) * (size_t)v->n);
  if (n_out) *n_out = v->n;
  return true;
}

static bool get_enum(AttrCtx *c, const char *name, const char *const *tab, int n, int *dst) {
  AttrVal *v = need(c, name, AV_STR, "a string");
  if (!v) return false;
  for (int i = 0; i < n; i++)
    if (strcmp(v->s, tab[i]) == 0) return *dst = i, true;
  return perr_at(c->ps, v->at, "'%s': unknown %s \"%s\"", c->opname, name, v->s);
}

static bool get_int(AttrCtx *c, const char *name, int64_t *dst) {
  AttrVal *v = need(c, name, AV_INT, "an integer (N : i64)");
  return v && (*dst = v->i, true);
}

static bool get_bool(AttrCtx *c, const char *name, bool *dst) {
  AttrVal *v = need(c, name, AV_BOOL, "true or false");
  return v && (*dst = v->i != 0, true);
}

static bool get_f64(AttrCtx *c, const char *name, double *dst) {
  AttrVal *v = need(c, name, AV_F64, "a float (X : f64)");
  return v && (*dst = v->f, true);
}

/* ---- groups ------------------------------------------------------------- */

static bool apply_const(AttrCtx *c) {
  AttrVal *v = need(c, "value", AV_DENSE, "dense<...> or dense_resource<...>");
  if (!v) return false;
  Module *m = c->ps->m;
  Constant *k = &m->consts[v->const_index];
  char a[256], b[256];
  if (!type_equal(&k->type, &c->op->out[0]->type))
    return perr_at(c->ps, v->at, "'%s': value has type %s but the result is %s", c->opname,
                   type_str(&k->type, a, sizeof a), type_str(&c->op->out[0]->type, b, sizeof b));
  c->op->attrs.const_index = v->const_index;
  AttrVal *cn = attr_find(c->ad, "kiln.const");
  if (cn && cn->kind != AV_STR) return perr_at(c->ps, cn->at, "'%s': kiln.const must be a string", c->opname);
  if (cn) cn->used = true;
  if (v->fresh) k->name = cn ? cn->s : c->op->name;
  return true;
}

static bool apply_generic(AttrCtx *c) {
  Op *op = c->op;
  OpAttrs *a = &op->attrs;
  AttrVal *maps = need(c, "indexing_maps", AV_MAPS, "a list of affine_map");
  AttrVal *its = maps ? need(c, "iterator_types", AV_STRS, "a list of strings") : NULL;
  if (!its) return false;
  if (maps->n != op->n_in + op->n_out)
    return perr_at(c->ps, maps->at, "'%s': %d indexing maps for %d operands and results", c->opname, maps->n,
                   op->n_in + op->n_out);
  a->n_loops = maps->n ? maps->map_dims : its->n;
  if (its->n != a->n_loops)
    return perr_at(c->ps, its->at, "'%s': %d iterator types for %d loops", c->opname, its->n, a->n_loops);
  for (int d = 0; d < its->n; d++) {
    int it = -1;
    for (int k = 0; k < 2; k++)
      if (!strcmp(its->strs[d], text_iter_names[k])) it = k;
    if (it < 0) return perr_at(c->ps, its->at, "'%s': unknown iterator type \"%s\"", c->opname, its->strs[d]);
    a->iterators[d] = (IterType)it;
  }
  for (int k = 0; k < maps->n; k++) {
    const Value *v = k < op->n_in ? op->in[k] : op->out[k - op->n_in];
    if (maps->maps[k].n_results != v->type.rank)
      return perr_at(c->ps, maps->at, "'%s': indexing map %d has %d results for an operand of rank %d", c->opname,
                     k, maps->maps[k].n_results, v->type.rank);
  }
  a->n_maps = maps->n;
  a->maps = maps->maps;
  AttrVal *init = attr_find(c->ad, "init");
  if (!init) return true;
  if (!(init = need(c, "init", AV_F64S, "a list of floats"))) return false;
  if (init->n != op->n_out)
    return perr_at(c->ps, init->at, "'%s': init has %d values for %d results", c->opname, init->n, op->n_out);
  a->init = init->n ? init->f64s : arena_alloc(&c->ps->m->arena, sizeof(double));
  return a->init || perr(c->ps, "out of memory");
}

static bool apply_resize(AttrCtx *c, int rank) {
  OpAttrs *a = &c->op->attrs;
  int mode = 0, coord = 0, nearest = 0;
  if (!get_enum(c, "mode", text_resize_names, 2, &mode) ||
      !get_enum(c, "coordinate_transformation_mode", text_coord_names, 4, &coord) ||
      !get_enum(c, "nearest_mode", text_nearest_names, 4, &nearest) || !get_f64(c, "cubic_coeff_a", &a->cubic_coeff))
    return false;
  a->resize_mode = (ResizeMode)mode;
  a->coord_mode = (CoordMode)coord;
  a->nearest_mode = (NearestMode)nearest;
  AttrVal *v = need(c, "scales", AV_F64S, "array<f64: ...>");
  if (!v) return false;
  if (v->n != rank)
    return perr_at(c->ps, v->at, "'%s': scales has %d elements, expected %d", c->opname, v->n, rank);
  if (rank) memcpy(a->scales, v->f64s, sizeof(double) * (size_t)rank);
  return true;
}

static bool apply_pad(AttrCtx *c, int rank) {
  OpAttrs *a = &c->op->attrs;
  int mode = 0;
  if (!get_i64s(c, "pad_lo", a->pad_lo, rank, NULL) || !get_i64s(c, "pad_hi", a->pad_hi, rank, NULL) ||
      !get_enum(c, "pad_mode", text_pad_names, 3, &mode) || !get_f64(c, "pad_value", &a->pad_value))
    return false;
  a->pad_mode = (PadMode)mode;
  return true;
}

static bool apply_conv(AttrCtx *c, unsigned mask) {
  OpAttrs *a = &c->op->attrs;
  int e = 0;
  if ((mask & A_CONV) && (!get_i64s(c, "kernel", a->kernel, 2, NULL) || !get_i64s(c, "strides", a->strides, 2, NULL) ||
                          !get_i64s(c, "dilations", a->dilations, 2, NULL) || !get_i64s(c, "pads", a->pads, 4, NULL)))
    return false;
  if (mask & A_LAYOUT) {
    if (!get_enum(c, "layout", text_layout_names, 2, &e)) return false;
    a->layout = (Layout)e;
  }
  if ((mask & A_GROUPS) && !get_int(c, "groups", &a->groups)) return false;
  if ((mask & A_OUTPAD) && !get_i64s(c, "output_padding", a->output_padding, 2, NULL)) return false;
  if (mask & A_POOL) {
    if (!get_enum(c, "pool_kind", text_pool_names, 2, &e) || !get_bool(c, "count_include_pad", &a->count_include_pad))
      return false;
    a->pool_kind = (PoolKind)e;
  }
  return true;
}

static bool apply_misc(AttrCtx *c, unsigned mask, int rank) {
  OpAttrs *a = &c->op->attrs;
  if ((mask & A_AXIS) && !get_int(c, "axis", &a->axis)) return false;
  if ((mask & A_KEEPDIMS) && !get_bool(c, "keepdims", &a->keepdims)) return false;
  if ((mask & A_SELECT_LAST) && !get_bool(c, "select_last_index", &a->select_last_index)) return false;
  if ((mask & A_PERM) && !get_i64s(c, "perm", a->perm, rank, NULL)) return false;
  if ((mask & A_REASSOC) && !get_i64s(c, "reassoc", a->reassoc, -1, &a->n_reassoc)) return false;
  if ((mask & A_SLICE) && (!get_i64s(c, "offsets", a->offsets, rank, NULL) || !get_i64s(c, "steps", a->steps, rank, NULL)))
    return false;
  return true;
}

bool apply_attrs(Parser *ps, Op *op, AttrDict *ad, const char *at) {
  AttrCtx c = {.ps = ps, .op = op, .ad = ad, .at = at, .opname = op_kind_name(op->kind)};
  unsigned mask = op_kind_attrs(op->kind);
  int rank = op->n_in > 0 ? op->in[0]->type.rank : 0;
  if ((mask & A_CONST) && !apply_const(&c)) return false;
  if ((mask & A_GENERIC) && !apply_generic(&c)) return false;
  if (!apply_conv(&c, mask)) return false;
  if ((mask & A_RESIZE) && !apply_resize(&c, rank)) return false;
  if ((mask & A_PAD) && !apply_pad(&c, rank)) return false;
  if (!apply_misc(&c, mask, rank)) return false;
  for (int i = 0; i < ad->n; i++)
    if (!ad->v[i].used) return perr_at(ps, ad->v[i].at, "'%s': unknown attribute '%s'", c.opname, ad->v[i].name);
  return true;
}
