/* graph.c — the dispatch graph as Graphviz dot (`kiln report --graph=FILE.dot|.svg`).
 *
 * One box per dispatch, titled with its name and listing its ops in order; data-movement
 * dispatches are filled red. Graph inputs and outputs are ellipses. Edges carry the
 * tensor type that crosses the boundary; constants (weights) are not drawn. A path ending
 * in ".svg" writes the dot next to it (FILE.svg.dot) and runs `dot -Tsvg`. */
#include <string.h>

#include "dispatch.h"

static void dot_str(FILE *out, const char *s) {
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', out);
    fputc(*s, out);
  }
}

static int node_of(const Func *f, const Op *def) {
  int i = 0;
  for (const Op *op = f->first; op; op = op->next) {
    if (op->kind == KILN_OP_CONSTANT) continue;
    if (op == def) return i;
    i++;
  }
  return -1;
}

static void write_node(FILE *out, int i, const Op *d) {
  bool dm = d->kind == KILN_OP_DISPATCH ? dispatch_is_data_movement(d)
                                        : !dispatch_is_root(d) && !dispatch_generic_computes(d);
  fprintf(out, "  d%d [label=\"", i);
  dot_str(out, d->name);
  const Func *reg = d->kind == KILN_OP_DISPATCH ? d->attrs.region : NULL;
  for (const Op *op = reg ? reg->first : d; op; op = reg ? op->next : NULL) {
    char l[160];
    dispatch_op_label(op, l, sizeof l);
    fputs("\\l  ", out);
    dot_str(out, l);
  }
  fprintf(out, "\\l\", fillcolor=\"%s\"];\n", dm ? "#ff6666" : "#e8f0ff");
}

static void write_edge(FILE *out, const char *from, const char *to, const Value *v) {
  char ty[160];
  type_str(&v->type, ty, sizeof ty);
  fprintf(out, "  %s -> %s [label=\"", from, to);
  dot_str(out, ty);
  fputs("\"];\n", out);
}

static void write_dot(FILE *out, const Func *f) {
  fputs("digraph dispatches {\n  rankdir=TB;\n"
        "  node [shape=box, style=filled, fontname=\"monospace\", fontsize=10];\n"
        "  edge [fontname=\"monospace\", fontsize=9];\n", out);
  for (int i = 0; i < f->n_args; i++) {
    fprintf(out, "  in%d [shape=ellipse, fillcolor=\"#ffffff\", label=\"input ", i);
    dot_str(out, f->arg_names[i] ? f->arg_names[i] : "?");
    fputs("\"];\n", out);
  }
  int i = 0;
  for (const Op *op = f->first; op; op = op->next)
    if (op->kind != KILN_OP_CONSTANT) write_node(out, i++, op);
  i = 0;
  for (const Op *op = f->first; op; op = op->next) {
    if (op->kind == KILN_OP_CONSTANT) continue;
    char to[32], from[32];
    snprintf(to, sizeof to, "d%d", i++);
    for (int k = 0; k < op->n_in; k++) {
      const Value *v = op->in[k];
      if (v->def && v->def->kind == KILN_OP_CONSTANT) continue;
      if (v->def) snprintf(from, sizeof from, "d%d", node_of(f, v->def));
      else snprintf(from, sizeof from, "in%d", v->def_index);
      write_edge(out, from, to, v);
    }
  }
  for (int r = 0; r < f->n_results; r++) {
    const Value *v = f->results[r];
    fprintf(out, "  out%d [shape=ellipse, fillcolor=\"#ffffff\", label=\"output ", r);
    dot_str(out, f->result_names[r]);
    fputs("\"];\n", out);
    char from[32], to[32];
    if (v->def) snprintf(from, sizeof from, "d%d", node_of(f, v->def));
    else snprintf(from, sizeof from, "in%d", v->def_index);
    snprintf(to, sizeof to, "out%d", r);
    write_edge(out, from, to, v);
  }
  fputs("}\n", out);
}

KilnStatus dispatch_write_graph(const Func *f, const char *path, Diag *d) {
  size_t n = strlen(path);
  bool svg = n > 4 && !strcmp(path + n - 4, ".svg");
  char dot_path[4096];
  snprintf(dot_path, sizeof dot_path, "%s%s", path, svg ? ".dot" : "");
  FILE *out = fopen(dot_path, "w");
  if (!out) return diag_error(d, KILN_ERR_IO, "%s: cannot write", dot_path);
  write_dot(out, f);
  if (fclose(out)) return diag_error(d, KILN_ERR_IO, "%s: write failed", dot_path);
  if (!svg) return KILN_OK;
  if (strchr(path, '\''))
    return diag_error(d, KILN_ERR_INVALID, "%s: a graph path with a quote is not supported", path);
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "dot -Tsvg -o '%s' '%s'", path, dot_path);
  if (system(cmd) != 0)
    return diag_error(d, KILN_ERR_IO, "%s: `dot -Tsvg` failed (is graphviz installed?); the "
                      "graph is in %s", path, dot_path);
  return KILN_OK;
}
