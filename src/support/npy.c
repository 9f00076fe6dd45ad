/* npy.c — NumPy .npy reader and writer.
 *
 * Format: magic "\x93NUMPY", major/minor version, header length (2 bytes for v1, 4 for
 * v2/v3), then a Python dict literal {'descr': '<f4', 'fortran_order': False,
 * 'shape': (1, 3), } padded to 64 bytes, then the raw C-order payload. We accept only
 * little-endian (or byte-sized) numeric and bool dtypes in C order; everything else is a
 * clear error, never a guess. Dims are overflow-checked against the payload size. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "support.h"

static const char *const npy_dtypes[] = {"<f4", "<f2", "<u2", "|i1", "|u1", "<i4", "<i8", "|b1"};

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && isspace((unsigned char)*p)) p++;
  return p;
}

/* Finds 'key': in the header dict and returns a pointer just past the colon. */
static const char *find_key(const char *h, const char *end, const char *key) {
  size_t klen = strlen(key);
  for (const char *p = h; p + klen + 2 < end; p++) {
    if ((*p == '\'' || *p == '"') && p[klen + 1] == *p && memcmp(p + 1, key, klen) == 0) {
      const char *q = skip_ws(p + klen + 2, end);
      if (q < end && *q == ':') return skip_ws(q + 1, end);
      return NULL;
    }
  }
  return NULL;
}

static KilnStatus parse_descr(const char *p, const char *end, NpyArray *a, const char *what,
                              Diag *d) {
  if (!p || p >= end || (*p != '\'' && *p != '"'))
    return diag_error(d, KILN_ERR_INVALID, "%s: .npy header has no 'descr' string", what);
  char q = *p++;
  const char *s = p;
  while (p < end && *p != q) p++;
  size_t n = (size_t)(p - s);
  if (p >= end || n == 0 || n >= sizeof a->descr)
    return diag_error(d, KILN_ERR_INVALID, "%s: .npy header has a bad 'descr'", what);
  char buf[8] = {0};
  memcpy(buf, s, n);
  for (size_t i = 0; i < n; i++) /* it is quoted in messages: printable ASCII only */
    if (!isprint((unsigned char)buf[i]))
      return diag_error(d, KILN_ERR_INVALID, "%s: .npy header has a bad 'descr'", what);
  if (buf[0] == '=') buf[0] = '<'; /* native order; we only run on little-endian */
  if (n == 3 && buf[0] == '<' && buf[2] == '1') buf[0] = '|';
  if (n == 3 && buf[0] == '|' && (buf[1] == 'f' || buf[1] == 'i') && buf[2] != '1') buf[0] = '<';
  if (strcmp(buf, "|?") == 0) strcpy(buf, "|b1");
  for (size_t i = 0; i < ARRAY_LEN(npy_dtypes); i++) {
    if (strcmp(buf, npy_dtypes[i]) == 0) {
      strcpy(a->descr, buf);
      a->itemsize = (size_t)(buf[2] - '0');
      return KILN_OK;
    }
  }
  if (buf[0] == '>')
    return diag_error(d, KILN_ERR_UNSUPPORTED, "%s: big-endian .npy dtype '%s' is not supported",
                      what, buf);
  return diag_error(d, KILN_ERR_UNSUPPORTED, "%s: unsupported .npy dtype '%s'", what, buf);
}

static KilnStatus parse_shape(const char *p, const char *end, NpyArray *a, const char *what,
                              Diag *d) {
  if (!p || p >= end || *p != '(')
    return diag_error(d, KILN_ERR_INVALID, "%s: .npy header has no 'shape' tuple", what);
  p++;
  a->rank = 0;
  for (;;) {
    p = skip_ws(p, end);
    if (p < end && *p == ')') return KILN_OK;
    if (p >= end || !isdigit((unsigned char)*p))
      return diag_error(d, KILN_ERR_INVALID, "%s: .npy header has a bad 'shape'", what);
    if (a->rank == NPY_MAX_RANK)
      return diag_error(d, KILN_ERR_LIMIT, "%s: .npy rank exceeds %d", what, NPY_MAX_RANK);
    int64_t v = 0;
    while (p < end && isdigit((unsigned char)*p)) {
      if (checked_mul_i64(v, 10, &v) || checked_add_i64(v, *p - '0', &v))
        return diag_error(d, KILN_ERR_LIMIT, "%s: .npy dimension overflows", what);
      p++;
    }
    if (p < end && *p == 'L') p++;
    a->dims[a->rank++] = v;
    p = skip_ws(p, end);
    if (p < end && *p == ',') p++;
  }
}

static KilnStatus parse_header(const char *h, size_t len, NpyArray *a, const char *what,
                               Diag *d) {
  const char *end = h + len;
  KilnStatus st = parse_descr(find_key(h, end, "descr"), end, a, what, d);
  if (st) return st;
  const char *fo = find_key(h, end, "fortran_order");
  if (!fo) return diag_error(d, KILN_ERR_INVALID, "%s: .npy header has no 'fortran_order'", what);
  if (end - fo >= 4 && memcmp(fo, "True", 4) == 0)
    return diag_error(d, KILN_ERR_UNSUPPORTED,
                      "%s: Fortran-order .npy arrays are not supported; save with "
                      "np.ascontiguousarray", what);
  if (end - fo < 5 || memcmp(fo, "False", 5) != 0)
    return diag_error(d, KILN_ERR_INVALID, "%s: .npy header has a bad 'fortran_order'", what);
  return parse_shape(find_key(h, end, "shape"), end, a, what, d);
}

KilnStatus npy_parse(const uint8_t *buf, size_t size, const char *what, NpyArray *out, Diag *d) {
  memset(out, 0, sizeof *out);
  if (size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
    return diag_error(d, KILN_ERR_INVALID, "%s: not a .npy file (bad magic)", what);
  unsigned major = buf[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    hstart = 10;
  } else if ((major == 2 || major == 3) && size >= 12) {
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    hstart = 12;
  } else {
    return diag_error(d, KILN_ERR_UNSUPPORTED, "%s: unsupported .npy version %u", what, major);
  }
  if (hlen > size - hstart)
    return diag_error(d, KILN_ERR_INVALID, "%s: .npy header is truncated", what);
  KilnStatus st = parse_header((const char *)buf + hstart, hlen, out, what, d);
  if (st) return st;
  int64_t n = (int64_t)out->itemsize;
  for (int i = 0; i < out->rank; i++)
    if (checked_mul_i64(n, out->dims[i], &n))
      return diag_error(d, KILN_ERR_LIMIT, "%s: .npy shape overflows", what);
  size_t payload = size - hstart - hlen;
  if ((uint64_t)n != payload)
    return diag_error(d, KILN_ERR_INVALID,
                      "%s: .npy payload has %zu bytes, shape and dtype need %lld", what, payload,
                      (long long)n);
  out->nbytes = (size_t)n;
  out->data = malloc(out->nbytes ? out->nbytes : 1);
  if (!out->data) return diag_error(d, KILN_ERR_NOMEM, "%s: out of memory", what);
  memcpy(out->data, buf + hstart + hlen, out->nbytes);
  return KILN_OK;
}

KilnStatus npy_read(const char *path, NpyArray *out, Diag *d) {
  uint8_t *buf;
  size_t size;
  memset(out, 0, sizeof *out);
  KilnStatus st = file_read_all(path, &buf, &size, d);
  if (st) return st;
  st = npy_parse(buf, size, path, out, d);
  free(buf);
  return st;
}

KilnStatus npy_write(const char *path, const char *descr, int rank, const int64_t *dims,
                     const void *data, size_t nbytes, Diag *d) {
  char h[512];
  int k = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < rank; i++)
    k += snprintf(h + k, sizeof h - (size_t)k, "%lld,%s", (long long)dims[i],
                  i + 1 < rank ? " " : "");
  k += snprintf(h + k, sizeof h - (size_t)k, "), }");
  size_t total = 10 + (size_t)k + 1;
  size_t pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f) return diag_error(d, KILN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  uint16_t hl = (uint16_t)((size_t)k + pad + 1);
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                           (unsigned char)(hl >> 8)};
  fwrite(pre, 1, 10, f);
  fwrite(h, 1, (size_t)k, f);
  for (size_t i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  fwrite(data, 1, nbytes, f);
  if (fclose(f) != 0) return diag_error(d, KILN_ERR_IO, "%s: write failed", path);
  return KILN_OK;
}

void npy_free(NpyArray *a) {
  free(a->data);
  a->data = NULL;
}
