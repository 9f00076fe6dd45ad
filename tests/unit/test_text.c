/* test_text.c — IR text printer and parser: print -> parse -> print is byte-identical
 * for a module using every op kind, attribute, body op, cast pair and dtype (with and
 * without elided constants and the resources section); parsed values are what was
 * built; malformed inputs fail with "path:line:col: message"; every truncation and a
 * few thousand seeded mutations of a valid text fail cleanly or parse, never crash. */
#include "check.h"
#include "../text/build_all.h"

static char *print_str(const Module *m, const PrintOptions *opt, size_t *len) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  module_print(m, f, opt);
  fclose(f);
  if (len) *len = n;
  return buf;
}

static void roundtrip(const Module *m, PrintOptions opt, const char *what) {
  size_t n1, n2;
  char *t1 = print_str(m, &opt, &n1);
  Module *p = NULL;
  Diag d = {0};
  KilnStatus st = module_parse(t1, n1, what, &p, &d);
  CHECK_EQ_I(KILN_OK, st);
  if (st != KILN_OK) {
    fprintf(stderr, "%s: %s\n", what, d.msg);
    free(t1);
    return;
  }
  char *t2 = print_str(p, &opt, &n2);
  CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);
  if (n1 != n2 || memcmp(t1, t2, n1)) {
    size_t i = 0;
    while (i < n1 && i < n2 && t1[i] == t2[i]) i++;
    fprintf(stderr, "%s: first difference at byte %zu:\n--- first\n%.200s\n--- second\n%.200s\n", what, i,
            t1 + (i > 80 ? i - 80 : 0), t2 + (i > 80 ? i - 80 : 0));
  }
  module_free(p);
  free(t1);
  free(t2);
}

static const Op *find_op(const Func *f, OpKind k, int skip) {
  for (const Op *op = f->first; op; op = op->next)
    if (op->kind == k && skip-- == 0) return op;
  return NULL;
}

/* Values and attributes survive (not just the text). */
static void test_parsed_values(void) {
  Module *m = build_all(true);
  PrintOptions opt = {.elide_above = 16, .emit_resources = true};
  size_t n;
  char *t = print_str(m, &opt, &n);
  Module *p = NULL;
  Diag d = {0};
  CHECK_EQ_I(KILN_OK, module_parse(t, n, "vals", &p, &d));
  if (!p) return;
  const Op *conv = find_op(p->main, KILN_OP_CONV2D, 0);
  CHECK(conv && conv->attrs.pads[3] == 1 && conv->attrs.kernel[0] == 3 && strcmp(conv->name, "/conv1/Conv") == 0);
  const Op *w = conv ? conv->in[1]->def : NULL;
  CHECK(w && w->kind == KILN_OP_CONSTANT);
  if (w) {
    const Constant *c = &p->consts[w->attrs.const_index];
    const Constant *oc = &m->consts[find_op(m->main, KILN_OP_CONV2D, 0)->in[1]->def->attrs.const_index];
    CHECK(c->data && c->nbytes == 108 * 4 && memcmp(c->data, oc->data, c->nbytes) == 0);
    CHECK(strcmp(c->name, "conv1.weight") == 0);
  }
  const Op *pad = find_op(p->main, KILN_OP_PAD, 0);
  CHECK(pad && pad->attrs.pad_value == 0.1 && pad->attrs.pad_mode == PAD_REFLECT && pad->attrs.pad_lo[3] == 2);
  const Op *red = find_op(p->main, KILN_OP_GENERIC, 0);
  CHECK(red && red->attrs.init && isinf(red->attrs.init[0]) && red->attrs.init[1] == 0.1);
  CHECK(red && red->attrs.maps[0].results[2].coef[2] == 2 && red->attrs.maps[0].results[2].cst == 1);
  const Op *disp = find_op(p->main, KILN_OP_DISPATCH, 0);
  CHECK(disp && disp->attrs.region && disp->attrs.region->n_args == 1 && disp->attrs.region->n_results == 2);
  CHECK(p->main->n_results == 4 && strcmp(p->main->result_names[3], "in\"copy") == 0);
  module_free(p);
  free(t);
  /* Without the resources section: elided data is NULL, size known. */
  opt.emit_resources = false;
  t = print_str(m, &opt, &n);
  CHECK_EQ_I(KILN_OK, module_parse(t, n, "noblob", &p, &d));
  conv = p ? find_op(p->main, KILN_OP_CONV2D, 0) : NULL;
  CHECK(conv && !p->consts[conv->in[1]->def->attrs.const_index].data &&
        p->consts[conv->in[1]->def->attrs.const_index].nbytes == 432);
  module_free(p);
  free(t);
  module_free(m);
}

static void test_roundtrips(void) {
  Module *m = build_all(true);
  roundtrip(m, (PrintOptions){.elide_above = 16, .emit_resources = true}, "rt_res");
  roundtrip(m, (PrintOptions){.elide_above = 16, .emit_resources = false}, "rt_nores");
  roundtrip(m, (PrintOptions){.elide_above = 1 << 20}, "rt_inline");
  roundtrip(m, (PrintOptions){.elide_above = 0, .emit_resources = true}, "rt_allres");
  module_free(m);
}

/* ---- errors ------------------------------------------------------------- */

#define HDR "func.func @main(%arg0: tensor<2xf32>) -> (tensor<2xf32>) {\n"
#define RET "  return %arg0 : tensor<2xf32>\n}\n"
#define GEN(body, attrs) HDR "  %0 = \"kiln.generic\"(%arg0) ({\n  ^bb0(%in0: f32, %out0: f32):\n" body \
  "  }) {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = [\"parallel\"]" attrs \
  "} : (tensor<2xf32>) -> tensor<2xf32>\n" RET

static const struct { const char *text, *want; } bad[] = {
  {"", "1:1: expected 'func.func'"},
  {"module {\n" HDR RET, "5:1: expected '}' to end module"},
  {HDR RET "junk", "4:1: expected end of input"},
  {HDR "  %0 = \"kiln.frob\"(%arg0) : (tensor<2xf32>) -> tensor<2xf32>\n" RET, "2:8: unknown op 'kiln.frob'"},
  {HDR "  %0 = \"kiln.reshape\"(%x) : (tensor<2xf32>) -> tensor<2xf32>\n" RET, "2:23: use of undefined value '%x'"},
  {HDR "  %0 = \"kiln.reshape\"(%arg0) : (tensor<3xf32>) -> tensor<2xf32>\n" RET,
   "2:32: 'kiln.reshape': operand 0 has type tensor<2xf32> but the function type says tensor<3xf32>"},
  {HDR "  %0 = \"kiln.reshape\"(%arg0, %arg0) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>\n" RET,
   "2:8: 'kiln.reshape' expects 1 operands, got 2"},
  {HDR "  %arg0 = \"kiln.reshape\"(%arg0) : (tensor<2xf32>) -> tensor<2xf32>\n" RET, "2:3: redefinition of value '%arg0'"},
  {HDR "  %0 = \"kiln.reshape\"(%arg0) {foo = 1} : (tensor<2xf32>) -> tensor<2xf32>\n" RET,
   "2:31: 'kiln.reshape': unknown attribute 'foo'"},
  {HDR "  %0 = \"kiln.transpose\"(%arg0) : (tensor<2xf32>) -> tensor<2xf32>\n" RET,
   "2:8: 'kiln.transpose': missing attribute 'perm'"},
  {HDR "  %0 = \"kiln.transpose\"(%arg0) {perm = array<i64: 0, 1>} : (tensor<2xf32>) -> tensor<2xf32>\n" RET,
   "2:33: 'kiln.transpose': attribute 'perm' has 2 elements, expected 1"},
  {HDR "  %0 = \"kiln.pad\"(%arg0) {pad_lo = array<i64: 0>, pad_hi = array<i64: 0>, pad_mode = \"wrap\", pad_value = 0.0 : f64}"
   " : (tensor<2xf32>) -> tensor<2xf32>\n" RET, "2:75: 'kiln.pad': unknown pad_mode \"wrap\""},
  {HDR "  %0 = \"kiln.reshape\"(%arg0) : (tensor<2xf32>) -> tensor<-2xf32>\n" RET, "2:58: dynamic or negative dimensions"},
  {HDR "  %0 = \"kiln.reshape\"(%arg0) : (tensor<2xf32>) -> tensor<1x1x1x1x1x1x1x1x1xf32>\n" RET, "tensor rank exceeds 8"},
  {HDR "  %0 = \"kiln.reshape\"(%arg0) : (tensor<2xf32>) -> tensor<4294967296x4294967296xf32>\n" RET, "overflows int64"},
  {HDR "  %0 = \"kiln.constant\"() {value = dense<[1.0, 2.0, 3.0]> : tensor<2xf32>} : () -> tensor<2xf32>\n" RET,
   "2:50: expected ']' after dense elements"},
  {HDR "  %0 = \"kiln.constant\"() {value = dense<[1, 300]> : tensor<2xi8>} : () -> tensor<2xi8>\n" RET,
   "2:45: value 300 out of range for i8"},
  {HDR "  %0 = \"kiln.constant\"() {value = dense<1.0> : tensor<3xf32>} : () -> tensor<2xf32>\n" RET,
   "'kiln.constant': value has type tensor<3xf32> but the result is tensor<2xf32>"},
  {GEN("    %b0 = arith.addi %in0, %in0 : f32\n    \"kiln.yield\"(%b0) : (f32) -> ()\n", ""),
   "4:11: 'arith.addi' does not match its types (expected 'arith.addf')"},
  {GEN("    %b0 = arith.frob %in0 : f32\n    \"kiln.yield\"(%b0) : (f32) -> ()\n", ""), "4:11: unknown body operation 'arith.frob'"},
  {GEN("    %b0 = arith.cmpf slt, %in0, %in0 : f32\n    \"kiln.yield\"(%in0) : (f32) -> ()\n", ""),
   "4:22: unknown predicate 'slt' for arith.cmpf"},
  {GEN("    %b0 = arith.negf %zz : f32\n    \"kiln.yield\"(%b0) : (f32) -> ()\n", ""), "4:22: use of undefined value '%zz'"},
  {GEN("    %b0 = arith.fptosi %in0 : f32 to f16\n    \"kiln.yield\"(%b0) : (f16) -> ()\n", ""),
   "4:11: 'arith.fptosi' does not match its types (expected 'arith.truncf')"},
  {GEN("    \"kiln.yield\"(%in0, %in0) : (f32, f32) -> ()\n", ""), "more values than the generic has results"},
  {GEN("    \"kiln.yield\"(%in0) : (f32) -> ()\n", ", init = [1.0, 2.0]"), "'kiln.generic': init has 2 values for 1 results"},
  {HDR "  %0 = \"kiln.generic\"(%arg0) ({\n  ^bb0(%in0: i8, %out0: f32):\n  \"kiln.yield\"(%in0) : (f32) -> ()\n  }) {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], "
   "iterator_types = [\"parallel\"]} : (tensor<2xf32>) -> tensor<2xf32>\n" RET, "3:14: block argument 0 has type i8, expected f32"},
  {HDR "  %0 = \"kiln.generic\"(%arg0) ({\n  ^bb0(%in0: f32, %out0: f32):\n  \"kiln.yield\"(%in0) : (f32) -> ()\n  }) "
   "{indexing_maps = [affine_map<(d0) -> (d0 floordiv 2)>, affine_map<(d0) -> (d0)>], iterator_types = [\"parallel\"]} : "
   "(tensor<2xf32>) -> tensor<2xf32>\n" RET, "unsupported affine expression"},
  {HDR "  %0:2 = \"kiln.reshape\"(%arg0) : (tensor<2xf32>) -> tensor<2xf32>\n" RET, "'kiln.reshape': 1 result types for 2 declared results"},
  {HDR "  %0 = \"kiln.constant\"() {value = dense_resource<w> : tensor<2xf32>} : () -> tensor<2xf32>\n" RET
   "{-#\n  dialect_resources: {\n    builtin: {\n      w: \"0x0400000000\"\n    }\n  }\n#-}\n",
   "8:10: resource 'w' has 1 bytes, expected 8"},
  {HDR "  return %arg0 : tensor<3xf32>\n}\n", "2:10: type of returned value 0 does not match"},
  {"func.func @main(%arg0: tensor<2xf32>) -> (tensor<2xf32>) {\n  return", "2:9: 'return' has 0 values, the function signature 1"},
  {HDR "  %0 = \"kiln.dispatch\"(%arg0) ({\n  ^bb0(%a: tensor<2xf32>):\n    \"kiln.yield\"(%arg0) : (tensor<2xf32>) -> ()\n"
   "  }) : (tensor<2xf32>) -> tensor<2xf32>\n" RET, "4:18: use of undefined value '%arg0'"},
};

static void test_errors(void) {
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    Module *p = (Module *)1;
    Diag d = {0};
    KilnStatus st = module_parse(bad[i].text, strlen(bad[i].text), "bad.mlir", &p, &d);
    CHECK(st != KILN_OK && p == NULL);
    CHECK_STR_CONTAINS(d.msg, "bad.mlir:");
    CHECK_STR_CONTAINS(d.msg, bad[i].want);
  }
}

/* Deep dispatch nesting is refused, not recursed into. */
static void test_depth(void) {
  char *t = malloc(64 * 300 + 400);
  size_t k = (size_t)sprintf(t, "%s", HDR);
  for (int i = 0; i < 64; i++)
    k += (size_t)sprintf(t + k, "%%d%d = \"kiln.dispatch\"(%%arg%d) ({ ^bb0(%%arg%d: tensor<2xf32>):\n", i, i, i + 1);
  for (int i = 63; i >= 0; i--)
    k += (size_t)sprintf(t + k, "\"kiln.yield\"(%%%s%d) : (tensor<2xf32>) -> ()\n}) : (tensor<2xf32>) -> tensor<2xf32>\n",
                         i == 63 ? "arg" : "d", i == 63 ? 64 : i + 1);
  k += (size_t)sprintf(t + k, "%s", RET);
  Module *p;
  Diag d = {0};
  CHECK(module_parse(t, k, "deep", &p, &d) != KILN_OK);
  CHECK_STR_CONTAINS(d.msg, "regions nested deeper than");
  free(t);
}

static void parse_quietly(const char *t, size_t n) {
  Module *p = NULL;
  Diag d = {0};
  if (module_parse(t, n, "fuzz", &p, &d) == KILN_OK) module_free(p);
  else CHECK(d.msg[0] != 0 && p == NULL);
}

static void test_truncations_and_mutations(void) {
  Module *m = build_all(true);
  PrintOptions opt = {.elide_above = 16, .emit_resources = true};
  size_t n;
  char *t = print_str(m, &opt, &n);
  char *buf = malloc(n + 1);
  for (size_t cut = 0; cut <= n; cut++) {
    memcpy(buf, t, cut); /* exact-length copy: ASan catches reads past the end */
    char *exact = malloc(cut ? cut : 1);
    memcpy(exact, t, cut);
    parse_quietly(exact, cut);
    free(exact);
  }
  static const char junk[] = "%#:(){}[]<>\"\\,-0123456789.ex ";
  unsigned seed = 12345;
  for (int it = 0; it < 3000; it++) {
    memcpy(buf, t, n);
    for (int k = 0; k < 1 + it % 4; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t pos = (seed >> 8) % n;
      seed = seed * 1103515245u + 12345u;
      buf[pos] = junk[(seed >> 8) % (sizeof junk - 1)];
    }
    parse_quietly(buf, n);
  }
  free(buf);
  free(t);
  module_free(m);
}

int main(void) {
  test_roundtrips();
  test_parsed_values();
  test_errors();
  test_depth();
  test_truncations_and_mutations();
  return check_report("test_text");
}
