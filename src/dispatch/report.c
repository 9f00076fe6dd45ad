/* report.c — `kiln report`: one row per dispatch of a formed function, then totals.
 *
 * Row: IREE-style name, root, fused ops, FLOPs (classify.c), bytes crossing the dispatch
 * boundary: activations read (operands that are not constants), weights read (constant
 * operands) and results written. Totals: dispatch count, data-movement-only dispatches,
 * transposes left, boundary bytes (activations + weights + results over all dispatches)
 * and the lower bound, the number of roots. --why-not-fused lists, for every producer ->
 * consumer edge between dispatches, the rule that kept the two ops apart (recorded by
 * formation in DispatchExplain). A data-movement dispatch counts as explained when at
 * least one such rule touches it, or when it only connects graph inputs and outputs. */
#include <string.h>

#include "dispatch.h"

typedef struct Row {
  const Op *d;
  int64_t flops, read, weights, written;
  int n_ops, n_roots, n_transposes, n_why;
  bool dm;
  const Op *main;
} Row;

typedef struct Totals {
  int dispatches, dm, dm_explained, roots, transposes;
  int64_t flops, read, weights, written;
  int64_t arena;              /* planned activation arena (ReportOptions), <= 0: unknown */
} Totals;

static int64_t bytes(const Value *v) {
  int64_t b = type_nbytes(&v->type);
  return b > 0 ? b : 0;
}

static bool is_const(const Value *v) { return v->def && v->def->kind == KILN_OP_CONSTANT; }

static void fill_row(Row *r, const Op *d) {
  memset(r, 0, sizeof *r);
  r->d = d;
  for (int i = 0; i < d->n_in; i++) *(is_const(d->in[i]) ? &r->weights : &r->read) += bytes(d->in[i]);
  for (int i = 0; i < d->n_out; i++) r->written += bytes(d->out[i]);
  const Func *reg = d->kind == KILN_OP_DISPATCH ? d->attrs.region : NULL;
  if (!reg) { /* an op outside any dispatch (formation not run): a dispatch of its own */
    r->flops = dispatch_op_flops(d);
    r->n_ops = 1;
    r->n_roots = dispatch_is_root(d);
    r->n_transposes = d->kind == KILN_OP_TRANSPOSE;
    r->dm = !r->n_roots && !dispatch_generic_computes(d);
    r->main = d;
    return;
  }
  for (const Op *op = reg->first; op; op = op->next) {
    r->flops += dispatch_op_flops(op);
    r->n_ops++;
    r->n_roots += dispatch_is_root(op);
    r->n_transposes += op->kind == KILN_OP_TRANSPOSE;
  }
  r->dm = dispatch_is_data_movement(d);
  r->main = dispatch_main_op(reg);
}

/* Which row holds op (an op inside a region, or a top-level op); -1 if none. */
static int row_of(const Row *rows, int n, const Op *op) {
  for (int i = 0; i < n; i++)
    if (rows[i].d == op || (rows[i].d->kind == KILN_OP_DISPATCH && rows[i].d->attrs.region == op->parent))
      return i;
  return -1;
}

static bool only_graph_edges(const Row *r) {
  for (int i = 0; i < r->d->n_in; i++)
    if (r->d->in[i]->def && !is_const(r->d->in[i])) return false;
  for (int i = 0; i < r->d->n_out; i++)
    if (r->d->out[i]->uses) return false;
  return true;
}

static Row *collect_rows(const Func *f, const DispatchExplain *why, int *n, Totals *t) {
  int cap = 0;
  for (const Op *op = f->first; op; op = op->next) cap += op->kind != KILN_OP_CONSTANT;
  Row *rows = calloc((size_t)cap + 1, sizeof *rows);
  if (!rows) return NULL;
  *n = 0;
  memset(t, 0, sizeof *t);
  for (const Op *op = f->first; op; op = op->next)
    if (op->kind != KILN_OP_CONSTANT) fill_row(&rows[(*n)++], op);
  for (int i = 0; why && i < why->n; i++) {
    int a = row_of(rows, *n, why->rows[i].producer), b = row_of(rows, *n, why->rows[i].consumer);
    if (a >= 0) rows[a].n_why++;
    if (b >= 0 && b != a) rows[b].n_why++;
  }
  for (int i = 0; i < *n; i++) {
    const Row *r = &rows[i];
    t->dispatches++;
    t->dm += r->dm;
    t->dm_explained += r->dm && (r->n_why > 0 || only_graph_edges(r));
    t->roots += r->n_roots;
    t->transposes += r->n_transposes;
    t->flops += r->flops;
    t->read += r->read;
    t->weights += r->weights;
    t->written += r->written;
  }
  return rows;
}

/* ---- text ------------------------------------------------------------------ */

static void fused_list(const Op *d, char *buf, size_t n) {
  const Func *reg = d->kind == KILN_OP_DISPATCH ? d->attrs.region : NULL;
  size_t k = 0;
  buf[0] = 0;
  if (!reg) {
    dispatch_op_label(d, buf, n);
    return;
  }
  for (const Op *op = reg->first; op && k + 8 < n; op = op->next) {
    char l[160];
    dispatch_op_label(op, l, sizeof l);
    k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "", l);
  }
}

/* The root column: the root's label, or every root joined by '+' for a chain. */
static void root_label(const Row *r, char *buf, size_t n, const char *none) {
  snprintf(buf, n, "%s", none);
  if (r->n_roots > 1) dispatch_roots_label(r->d->attrs.region, buf, n);
  else if (r->n_roots) dispatch_op_label(r->main, buf, n);
}

static void print_text(FILE *out, const Row *rows, int n, const Totals *t) {
  fprintf(out, "%-4s %-62s %-30s %14s %12s %12s %12s  %s\n", "#", "dispatch", "root", "flops",
          "read", "weights", "written", "fused ops");
  for (int i = 0; i < n; i++) {
    const Row *r = &rows[i];
    char root[256], fused[2048];
    root_label(r, root, sizeof root, "-");
    fused_list(r->d, fused, sizeof fused);
    fprintf(out, "%-4d %-62s %-30s %14lld %12lld %12lld %12lld  %s%s\n", i, r->d->name, root,
            (long long)r->flops, (long long)r->read, (long long)r->weights,
            (long long)r->written, r->dm ? "[data movement] " : "", fused);
  }
  fprintf(out, "\ndispatches:               %d\n", t->dispatches);
  fprintf(out, "roots (lower bound):      %d\n", t->roots);
  fprintf(out, "data-movement dispatches: %d (%d explained by --why-not-fused)\n", t->dm,
          t->dm_explained);
  fprintf(out, "transposes left:          %d\n", t->transposes);
  fprintf(out, "boundary bytes:           %lld (activations read %lld, weights %lld, written %lld)\n",
          (long long)(t->read + t->weights + t->written), (long long)t->read,
          (long long)t->weights, (long long)t->written);
  fprintf(out, "flops:                    %lld\n", (long long)t->flops);
  if (t->arena > 0)
    fprintf(out, "activation arena:         %lld bytes (%.1f MiB, planned by the CPU backend)\n",
            (long long)t->arena, (double)t->arena / 1048576.0);
}

static void op_ref(char *buf, size_t n, const Row *rows, int nr, const Op *op) {
  int r = row_of(rows, nr, op);
  char l[160];
  dispatch_op_label(op, l, sizeof l);
  snprintf(buf, n, "%s: %s '%s'", r >= 0 ? rows[r].d->name : "?", l, op->name);
}

static void print_why_text(FILE *out, const Row *rows, int n, const DispatchExplain *why) {
  fprintf(out, "\nwhy not fused (%d edges between dispatches):\n", why ? why->n : 0);
  for (int i = 0; why && i < why->n; i++) {
    char a[512], b[512];
    op_ref(a, sizeof a, rows, n, why->rows[i].producer);
    op_ref(b, sizeof b, rows, n, why->rows[i].consumer);
    fprintf(out, "  %s\n    -> %s\n    because %s\n", a, b, why->rows[i].reason);
  }
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c < 32) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static void json_row(FILE *out, const Row *r, int i) {
  char root[256];
  root_label(r, root, sizeof root, "");
  fprintf(out, "    {\"index\": %d, \"name\": ", i);
  json_str(out, r->d->name);
  fputs(", \"root\": ", out);
  json_str(out, root);
  fprintf(out, ", \"roots\": %d, \"data_movement\": %s, \"explained\": %s, \"flops\": %lld, \"bytes_read\": %lld, "
          "\"weight_bytes\": %lld, \"bytes_written\": %lld, \"ops\": [",
          r->n_roots, r->dm ? "true" : "false", r->n_why > 0 || only_graph_edges(r) ? "true" : "false",
          (long long)r->flops, (long long)r->read, (long long)r->weights, (long long)r->written);
  const Func *reg = r->d->kind == KILN_OP_DISPATCH ? r->d->attrs.region : NULL;
  const Op *first = reg ? reg->first : r->d;
  for (const Op *op = first; op; op = reg ? op->next : NULL) {
    char l[160];
    dispatch_op_label(op, l, sizeof l);
    fputs(op == first ? "" : ", ", out);
    json_str(out, l);
  }
  fputs("]}", out);
}

static void json_why(FILE *out, const Row *rows, int n, const DispatchExplain *why) {
  fputs(",\n  \"why_not_fused\": [", out);
  for (int i = 0; why && i < why->n; i++) {
    char a[512], b[512];
    op_ref(a, sizeof a, rows, n, why->rows[i].producer);
    op_ref(b, sizeof b, rows, n, why->rows[i].consumer);
    fputs(i ? ",\n    {\"producer\": " : "\n    {\"producer\": ", out);
    json_str(out, a);
    fputs(", \"consumer\": ", out);
    json_str(out, b);
    fputs(", \"reason\": ", out);
    json_str(out, why->rows[i].reason);
    fputc('}', out);
  }
  fputs("]", out);
}

static void print_json(FILE *out, const Row *rows, int n, const Totals *t,
                       const DispatchExplain *why, bool with_why) {
  fprintf(out, "{\n  \"dispatches\": %d,\n  \"data_movement_dispatches\": %d,\n"
          "  \"data_movement_explained\": %d,\n  \"roots\": %d,\n  \"transposes\": %d,\n"
          "  \"boundary_bytes\": %lld,\n  \"activation_bytes_read\": %lld,\n"
          "  \"weight_bytes\": %lld,\n  \"bytes_written\": %lld,\n  \"flops\": %lld,\n",
          t->dispatches, t->dm, t->dm_explained, t->roots, t->transposes,
          (long long)(t->read + t->weights + t->written), (long long)t->read,
          (long long)t->weights, (long long)t->written, (long long)t->flops);
  if (t->arena > 0) fprintf(out, "  \"arena_bytes\": %lld,\n", (long long)t->arena);
  fputs("  \"rows\": [\n", out);
  for (int i = 0; i < n; i++) {
    json_row(out, &rows[i], i);
    fputs(i + 1 < n ? ",\n" : "\n", out);
  }
  fputs("  ]", out);
  if (with_why) json_why(out, rows, n, why);
  fputs("\n}\n", out);
}

KilnStatus dispatch_report(const Func *f, const DispatchExplain *why, const ReportOptions *opt,
                           FILE *out, Diag *d) {
  int n;
  Totals t;
  Row *rows = collect_rows(f, why, &n, &t);
  if (!rows) return diag_error(d, KILN_ERR_NOMEM, "report: out of memory");
  t.arena = opt->arena_bytes;
  if (opt->json) {
    print_json(out, rows, n, &t, why, opt->why_not_fused);
  } else {
    print_text(out, rows, n, &t);
    if (opt->why_not_fused) print_why_text(out, rows, n, why);
  }
  free(rows);
  return opt->graph ? dispatch_write_graph(f, opt->graph, d) : KILN_OK;
}
