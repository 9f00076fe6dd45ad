/* parser_lex.c — the text cursor of Kiln's MLIR-subset parser: whitespace and `//`
 * comments, punctuation, identifiers, MLIR string literals, integers, float literals
 * (decimal or hex bits), element and tensor types, and error reporting with
 * "path:line:col". Every routine checks the end of input before reading, so truncated
 * or hostile text fails with a message instead of reading past the buffer. Sizes that
 * come from the text are checked for overflow (dims, ranks, integer literals). */
#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <string.h>

#include "text.h"

static void line_col(const Parser *ps, const char *at, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (const char *q = ps->src; q < at && q < ps->end; q++) {
    if (*q == '\n') {
      ++*line;
      *col = 1;
    } else {
      ++*col;
    }
  }
}

bool perr_at(Parser *ps, const char *at, const char *fmt, ...) {
  if (ps->failed) return false;
  ps->failed = true;
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int line, col;
  line_col(ps, at, &line, &col);
  diag_error(ps->d, KILN_ERR_INVALID, "%s:%d:%d: %s", ps->path, line, col, msg);
  return false;
}

void lex_skip_ws(Parser *ps) {
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ps->p++;
    } else if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '/') {
      while (ps->p < ps->end && *ps->p != '\n') ps->p++;
    } else {
      break;
    }
  }
}

bool lex_peek(Parser *ps, const char *tok) {
  lex_skip_ws(ps);
  size_t n = strlen(tok);
  return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, tok, n) == 0;
}

bool lex_accept(Parser *ps, const char *tok) {
  if (!lex_peek(ps, tok)) return false;
  ps->p += strlen(tok);
  return true;
}

bool lex_expect(Parser *ps, const char *tok, const char *ctx) {
  if (ps->failed) return false;
  if (lex_accept(ps, tok)) return true;
  if (ps->p >= ps->end) return perr(ps, "expected '%s' %s, found end of input", tok, ctx);
  return perr(ps, "expected '%s' %s", tok, ctx);
}

static bool is_id_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_id_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$' || c == '-';
}

bool lex_ident(Parser *ps, char *buf, size_t n) {
  lex_skip_ws(ps);
  if (ps->p >= ps->end || !is_id_start(*ps->p)) return false;
  size_t k = 0;
  while (ps->p < ps->end && is_id_char(*ps->p)) {
    if (k + 1 >= n) return perr(ps, "identifier too long");
    buf[k++] = *ps->p++;
  }
  buf[k] = 0;
  return true;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes one escape after '\'; returns the byte or -1. */
static int lex_escape(Parser *ps) {
  if (ps->p >= ps->end) return -1;
  char c = *ps->p++;
  if (c == '\\' || c == '"') return c;
  if (c == 'n') return '\n';
  if (c == 't') return '\t';
  if (ps->p >= ps->end) return -1;
  int h = hexval(c), l = hexval(*ps->p);
  if (h < 0 || l < 0) return -1;
  ps->p++;
  return h * 16 + l;
}

bool lex_string(Parser *ps, const char **out) {
  lex_skip_ws(ps);
  const char *start = ps->p;
  if (ps->p >= ps->end || *ps->p != '"') return perr(ps, "expected string literal");
  ps->p++;
  size_t cap = 0;
  for (const char *q = ps->p; q < ps->end && *q != '"' && *q != '\n'; q++) cap++;
  if (cap > TEXT_MAX_STRING) return perr_at(ps, start, "string literal longer than %d bytes", TEXT_MAX_STRING);
  char *buf = arena_alloc(&ps->m->arena, cap + 1);
  if (!buf) return perr(ps, "out of memory");
  size_t k = 0;
  while (ps->p < ps->end && *ps->p != '"') {
    char c = *ps->p++;
    if (c == '\n') return perr_at(ps, start, "unterminated string literal");
    if (c == '\\') {
      int e = lex_escape(ps);
      if (e <= 0) return perr_at(ps, ps->p - 1, "invalid escape in string literal");
      c = (char)e;
    }
    buf[k++] = c;
  }
  if (ps->p >= ps->end) return perr_at(ps, start, "unterminated string literal");
  ps->p++;
  buf[k] = 0;
  *out = buf;
  return true;
}

bool lex_int(Parser *ps, int64_t *out) {
  lex_skip_ws(ps);
  const char *q = ps->p;
  bool neg = false;
  if (q < ps->end && (*q == '-' || *q == '+')) neg = *q++ == '-';
  if (q >= ps->end || !isdigit((unsigned char)*q)) return perr(ps, "expected integer");
  uint64_t v = 0;
  while (q < ps->end && isdigit((unsigned char)*q)) {
    unsigned dgt = (unsigned)(*q++ - '0');
    if (v > (UINT64_MAX - dgt) / 10) return perr(ps, "integer literal out of range");
    v = v * 10 + dgt;
  }
  if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) return perr(ps, "integer literal out of range");
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  ps->p = q;
  return true;
}

static double hex_to_double(uint64_t bits, int as) {
  if (as == KILN_F16) return f16_to_f32((uint16_t)bits);
  if (as == KILN_BF16) return bf16_to_f32((uint16_t)bits);
  if (as == KILN_F32) {
    float f;
    uint32_t u = (uint32_t)bits;
    memcpy(&f, &u, 4);
    return f;
  }
  double d;
  memcpy(&d, &bits, 8);
  return d;
}

static bool lex_hex_float(Parser *ps, double *out, int as) {
  const char *q = ps->p + 2;
  int width = as == KILN_F32 ? 8 : (as == KILN_F16 || as == KILN_BF16) ? 4 : 16, nd = 0;
  uint64_t bits = 0;
  while (q < ps->end && hexval(*q) >= 0) {
    if (++nd > width) return perr(ps, "hexadecimal float literal too long");
    bits = bits << 4 | (uint64_t)hexval(*q++);
  }
  if (nd == 0) return perr(ps, "expected hexadecimal digits");
  ps->p = q;
  *out = hex_to_double(bits, as);
  return true;
}

bool lex_float(Parser *ps, double *out, int as) {
  lex_skip_ws(ps);
  if (ps->end - ps->p > 2 && ps->p[0] == '0' && (ps->p[1] == 'x' || ps->p[1] == 'X'))
    return lex_hex_float(ps, out, as);
  const char *q = ps->p;
  char buf[64];
  size_t k = 0;
  if (q < ps->end && (*q == '-' || *q == '+')) buf[k++] = *q++;
  if (q >= ps->end || !isdigit((unsigned char)*q)) return perr(ps, "expected float literal");
  while (q < ps->end && k < sizeof buf - 1 &&
         (isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' ||
          ((*q == '-' || *q == '+') && (q[-1] == 'e' || q[-1] == 'E'))))
    buf[k++] = *q++;
  if (k == sizeof buf - 1) return perr(ps, "float literal too long");
  buf[k] = 0;
  char *e;
  errno = 0;
  double v = strtod(buf, &e);
  /* ERANGE on underflow still gives the (subnormal) nearest value, which the printer
   * writes for tiny doubles: only overflow is an error. */
  if (*e || (errno == ERANGE && fabs(v) > 1.0)) return perr(ps, "invalid float literal '%s'", buf);
  *out = v;
  ps->p = q;
  return true;
}

static const char *const dtype_spell[KILN_DTYPE_COUNT] = {
  [KILN_F32] = "f32", [KILN_F16] = "f16", [KILN_BF16] = "bf16", [KILN_I8] = "i8",
  [KILN_U8] = "ui8", [KILN_I32] = "i32", [KILN_I64] = "i64", [KILN_BOOL] = "i1",
};

/* torch-mlir spells ONNX's signed integers si8/si32/si64 (signless in linalg). */
static bool lex_signed_dtype(Parser *ps, DType *dt) {
  static const struct { const char *s; DType t; } tab[] = {{"si8", KILN_I8}, {"si32", KILN_I32}, {"si64", KILN_I64}};
  for (size_t i = 0; i < ARRAY_LEN(tab); i++) {
    size_t n = strlen(tab[i].s);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, tab[i].s, n) == 0 &&
        (ps->p + n == ps->end || !isalnum((unsigned char)ps->p[n]))) {
      ps->p += n;
      *dt = tab[i].t;
      return true;
    }
  }
  return false;
}

bool lex_dtype(Parser *ps, DType *dt, bool body) {
  lex_skip_ws(ps);
  if (ps->upstream && lex_signed_dtype(ps, dt)) return true;
  for (int t = 0; t < KILN_DTYPE_COUNT; t++) {
    size_t n = strlen(dtype_spell[t]);
    if (body && t == KILN_U8) continue;
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, dtype_spell[t], n) == 0 &&
        (ps->p + n == ps->end || !isalnum((unsigned char)ps->p[n]))) {
      ps->p += n;
      *dt = (DType)t;
      return true;
    }
  }
  return perr(ps, "expected element type (f32, f16, bf16, i8, %si32, i64, i1)",
              body ? "" : "ui8, ");
}

bool lex_tensor_type(Parser *ps, TensorType *t) {
  if (!lex_expect(ps, "tensor<", "at start of tensor type")) return false;
  memset(t, 0, sizeof *t);
  int64_t numel = 1;
  while (ps->p < ps->end && isdigit((unsigned char)*ps->p)) {
    if (t->rank == KILN_MAX_RANK) return perr(ps, "tensor rank exceeds %d", KILN_MAX_RANK);
    int64_t dim;
    if (!lex_int(ps, &dim)) return false;
    if (checked_mul_i64(numel, dim, &numel)) return perr(ps, "tensor size overflows int64");
    t->dims[t->rank++] = dim;
    if (ps->p >= ps->end || *ps->p != 'x') return perr(ps, "expected 'x' after dimension");
    ps->p++;
  }
  if (ps->p < ps->end && (*ps->p == '?' || *ps->p == '-'))
    return perr(ps, "dynamic or negative dimensions are not supported");
  if (!lex_dtype(ps, &t->dtype, false)) return false;
  if (type_nbytes(t) < 0) return perr(ps, "tensor size overflows int64");
  if (ps->p >= ps->end || *ps->p != '>') return perr(ps, "expected '>' to end tensor type");
  ps->p++;
  return true;
}

static bool skip_string(Parser *ps) {
  const char *start = ps->p++;
  while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\n') {
    if (*ps->p == '\\') ps->p++;
    ps->p++;
  }
  if (ps->p >= ps->end || *ps->p != '"') return perr_at(ps, start, "unterminated string literal");
  ps->p++;
  return true;
}

bool skip_balanced(Parser *ps) {
  const char *start = ps->p;
  int depth = 0;
  while (ps->p < ps->end) {
    lex_skip_ws(ps);
    if (ps->p >= ps->end) break;
    char c = *ps->p;
    if (c == '"') {
      if (!skip_string(ps)) return false;
      continue;
    }
    ps->p++;
    if (c == '(' || c == '{' || c == '[') depth++;
    if (c == ')' || c == '}' || c == ']') depth--;
    if (depth == 0) return true;
  }
  return perr_at(ps, start, "unbalanced region: missing ')'");
}
