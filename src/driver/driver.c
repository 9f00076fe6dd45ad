/* driver.c — runs passes with printing and per-pass verification.
 *
 * --verify-each: before the first pass the reference interpreter runs the function on
 * random inputs; after every pass the structural verifier runs, then the interpreter
 * again on the same inputs, and the outputs are compared with the previous pass's. A
 * pass that moves any output by more than the tolerance (driver.h) fails, named, with
 * the largest error — so the culprit is the pass itself, not one before it. */
#include <string.h>
#include <time.h>

#include "driver.h"

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void fill_random(Tensor *t, uint64_t *seed) {
  int64_t n = type_numel(&t->type);
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = splitmix64(seed);
    float f = (float)((double)(r >> 11) * 0x1p-53 * 2.0 - 1.0);
    switch (t->type.dtype) {
    case KILN_F32: ((float *)t->data)[i] = f; break;
    case KILN_F16: ((uint16_t *)t->data)[i] = f32_to_f16(f); break;
    case KILN_BF16: ((uint16_t *)t->data)[i] = f32_to_bf16(f); break;
    case KILN_I8: ((int8_t *)t->data)[i] = (int8_t)(r % 4); break;
    case KILN_U8: ((uint8_t *)t->data)[i] = (uint8_t)(r % 4); break;
    case KILN_I32: ((int32_t *)t->data)[i] = (int32_t)(r % 4); break;
    case KILN_I64: ((int64_t *)t->data)[i] = (int64_t)(r % 4); break;
    case KILN_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r & 1); break;
    default: kiln_unreachable();
    }
  }
}

KilnStatus driver_random_inputs(const Func *f, uint64_t seed, Tensor **ins, Diag *d) {
  for (int i = 0; i < f->n_args; i++) {
    ins[i] = tensor_new(f->args[i]->type);
    if (!ins[i]) {
      while (i--) tensor_free(ins[i]);
      return diag_error(d, KILN_ERR_NOMEM, "input '%s': out of memory", f->arg_names[i]);
    }
    fill_random(ins[i], &seed);
  }
  return KILN_OK;
}

typedef struct Check {
  const CompileOptions *opt;
  Tensor **inputs;
  Tensor **ref;            /* outputs after the previous pass */
  int n_out;
  PassCheck *rows;
  int max_rows, n_rows;
  double t0;
  Diag *d;
} Check;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void free_tensors(Tensor **t, int n) {
  for (int i = 0; t && i < n; i++) {
    tensor_free(t[i]);
    t[i] = NULL;
  }
}

/* Compares new outputs with the reference; fills row; fails if beyond tolerance. */
static KilnStatus compare(Check *c, const Pass *p, const Func *f, Tensor **got, PassCheck *row) {
  double rel_limit = p->verify_rel_l2 > 0 ? p->verify_rel_l2 : VERIFY_REL_L2;
  double abs_limit = p->verify_max_abs_of_range > 0 ? p->verify_max_abs_of_range : VERIFY_MAX_ABS_OF_RANGE;
  for (int k = 0; k < c->n_out; k++) {
    const Tensor *a = c->ref[k], *b = got[k];
    if (!type_equal(&a->type, &b->type))
      return diag_error(c->d, KILN_ERR_INVALID, "pass '%s' changed the type of output '%s'",
                        row->pass, f->result_names[k]);
    int64_t n = type_numel(&a->type);
    double lo = 0, hi = 0, diff2 = 0, ref2 = 0, worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
      double x = tensor_get_f(a, i), y = tensor_get_f(b, i), e = x > y ? x - y : y - x;
      if (i == 0 || x < lo) lo = x;
      if (i == 0 || x > hi) hi = x;
      diff2 += e * e;
      ref2 += x * x;
      if (e > worst || e != e) worst = e, at = i;
    }
    double rel = ref2 > 0 ? __builtin_sqrt(diff2 / ref2) : __builtin_sqrt(diff2);
    row->max_abs = worst > row->max_abs || worst != worst ? worst : row->max_abs;
    row->rel_l2 = rel > row->rel_l2 ? rel : row->rel_l2;
    double range = hi - lo > 0 ? hi - lo : 1.0;
    if (!(rel <= rel_limit) || !(worst <= abs_limit * range))
      return diag_error(c->d, KILN_ERR_INVALID,
                        "pass '%s' changed output '%s': max abs error %.3g at element %lld "
                        "(limit %.3g), relative L2 error %.3g (limit %g)",
                        row->pass, f->result_names[k], worst, (long long)at,
                        abs_limit * range, rel, rel_limit);
  }
  return KILN_OK;
}

static int count_ops(const Func *f) {
  int n = 0;
  for (const Op *op = f->first; op; op = op->next) n++;
  return n;
}

static void print_ir(const CompileOptions *o, const char *when, const Pass *p, Func *f) {
  FILE *out = o->ir_out ? o->ir_out : stdout;
  fprintf(out, "// -----// IR Dump %s %s //----- //\n", when, p->name);
  module_print(f->module, out, &o->print);
}

/* Puts "a b c" in front of d's message, truncating at the end. */
static void prefix_msg(Diag *d, const char *a, const char *b, const char *c) {
  char msg[sizeof d->msg];
  size_t n = 0, cap = sizeof msg - 1;
  const char *parts[4] = {a, b, c, d->msg};
  for (int i = 0; i < 4; i++)
    for (const char *p = parts[i]; *p && n < cap; p++) msg[n++] = *p;
  msg[n] = 0;
  memcpy(d->msg, msg, n + 1);
}

static KilnStatus before_pass(void *user, const Pass *p, Func *f) {
  Check *c = user;
  const CompileOptions *o = c->opt;
  if (o->print_before && !strcmp(o->print_before, p->name)) print_ir(o, "Before", p, f);
  c->t0 = now();
  return KILN_OK;
}

static KilnStatus after_pass(void *user, const Pass *p, Func *f) {
  Check *c = user;
  const CompileOptions *o = c->opt;
  FILE *log = o->log ? o->log : stderr;
  if (o->timing) fprintf(log, "  %-22s %8.3f s  %5d ops\n", p->name, now() - c->t0, count_ops(f));
  if (o->print_after_all || (o->print_after && !strcmp(o->print_after, p->name)))
    print_ir(o, "After", p, f);
  if (!o->verify_each) return KILN_OK;
  KilnStatus st = func_verify(f, c->d);
  if (st) {
    prefix_msg(c->d, "after pass '", p->name, "': ");
    return st;
  }
  PassCheck row = {.pass = p->name, .ops_after = count_ops(f)};
  Tensor **got = calloc((size_t)c->n_out + 1, sizeof *got);
  if (!got) return diag_error(c->d, KILN_ERR_NOMEM, "verify: out of memory");
  st = interp_run(f, c->inputs, got, c->d);
  if (!st) st = compare(c, p, f, got, &row);
  if (c->n_rows < c->max_rows) c->rows[c->n_rows] = row;
  c->n_rows++;
  if (st) {
    free_tensors(got, c->n_out);
  } else {
    free_tensors(c->ref, c->n_out);
    memcpy(c->ref, got, sizeof *got * (size_t)c->n_out);
  }
  free(got);
  return st;
}

/* Resolves opt->passes (or the default pipeline) into list; returns the count or -1. */
static int resolve_passes(const CompileOptions *opt, const Pass **list, int cap, Diag *d) {
  if (!opt->passes) {
    int n;
    const Pass *const *p = pipeline_passes(&n);
    for (int i = 0; i < n && i < cap; i++) list[i] = p[i];
    return n < cap ? n : cap;
  }
  int n = 0;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", opt->passes);
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    const Pass *p = pass_lookup(tok);
    if (!p) {
      diag_error(d, KILN_ERR_INVALID, "unknown pass '%s' (kiln compile --list-passes lists them)", tok);
      return -1;
    }
    if (n < cap) list[n++] = p;
  }
  return n;
}

static KilnStatus check_pass_name(const char *name, Diag *d) {
  if (name && !pass_lookup(name) && strcmp(name, DISPATCH_PASS_NAME))
    return diag_error(d, KILN_ERR_INVALID, "unknown pass '%s' (kiln compile --list-passes lists them)", name);
  return KILN_OK;
}

/* Dispatch formation as one more step, so --print-ir-after and --verify-each see it. */
static KilnStatus form_dispatches(Func *f, const CompileOptions *opt, Check *c, Diag *d) {
  static const Pass step = {DISPATCH_PASS_NAME, NULL, "group ops into kiln.dispatch regions", 0, 0};
  KilnStatus st = before_pass(c, &step, f);
  if (!st) st = dispatch_form_regions(f, &opt->dispatch, d);
  if (!st) st = after_pass(c, &step, f);
  return st;
}

KilnStatus driver_compile(Module *m, const CompileOptions *opt, PassCheck *checks, int max_checks,
                          int *n_checks, Diag *d) {
  const Pass *list[64];
  int n = resolve_passes(opt, list, (int)ARRAY_LEN(list), d);
  if (n < 0 || check_pass_name(opt->print_after, d) || check_pass_name(opt->print_before, d))
    return d->status;
  Target target;
  if (opt->target && target_parse(opt->target, &target, d)) return d->status;
  Func *f = m->main;
  Check c = {.opt = opt, .n_out = f->n_results, .rows = checks, .max_rows = checks ? max_checks : 0, .d = d};
  PassContext ctx = {.diag = d, .fold_op = interp_fold_op, .fold_max_elems = 1 << 16,
                     .target = opt->target ? &target : NULL};
  KilnStatus st = KILN_OK;
  if (opt->verify_each) {
    c.inputs = calloc((size_t)f->n_args + 1, sizeof *c.inputs);
    c.ref = calloc((size_t)f->n_results + 1, sizeof *c.ref);
    st = c.inputs && c.ref ? driver_random_inputs(f, opt->seed, c.inputs, d)
                           : diag_error(d, KILN_ERR_NOMEM, "verify: out of memory");
    if (!st) st = func_verify(f, d);
    if (!st) st = interp_run(f, c.inputs, c.ref, d);
  }
  PassHooks hooks = {.user = &c, .before = before_pass, .after = after_pass};
  if (!st) st = pipeline_run(m, list, n, &ctx, &hooks);
  if (!st && opt->form_dispatches) st = form_dispatches(f, opt, &c, d);
  if (n_checks) *n_checks = c.n_rows < c.max_rows ? c.n_rows : c.max_rows;
  free_tensors(c.inputs, f->n_args);
  free_tensors(c.ref, f->n_results);
  free(c.inputs);
  free(c.ref);
  return st;
}
