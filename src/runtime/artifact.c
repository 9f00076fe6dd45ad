/* artifact.c — .kiln files: see artifact.h for the layout. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/artifact.h"

enum { SEC_META = 1, SEC_MODULE = 2, SEC_CONSTS = 3, SEC_PACKED = 4, N_SECTIONS = 4 };
enum { ALIGN = 64, HEADER_BYTES = 24, SECTION_ENTRY_BYTES = 32, UKERNEL_NAME = 32 };
static const char MAGIC[8] = {'K', 'I', 'L', 'N', 'A', 'R', 'T', 0};

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static uint64_t align_up(uint64_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* ---- writing ------------------------------------------------------------------ */

/* A growable byte buffer (the whole file is built in memory, then written once). */
typedef struct Bytes {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} Bytes;

static size_t bytes_reserve(Bytes *b, size_t n) {
  size_t at = b->n;
  if (b->oom) return at;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->n + n) cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return at;
    }
    b->p = q, b->cap = cap;
  }
  memset(b->p + b->n, 0, n);
  b->n += n;
  return at;
}

static size_t bytes_append(Bytes *b, const void *data, size_t n) {
  size_t at = bytes_reserve(b, n);
  if (!b->oom && n) memcpy(b->p + at, data, n);
  return at;
}

static void bytes_align(Bytes *b) { bytes_reserve(b, align_up(b->n) - b->n); }

/* The module as text with every constant as dense_resource<cN>, no data. */
static KilnStatus module_text(const Module *m, char **text, size_t *len, Diag *d) {
  Module *mm = (Module *)m; /* names are swapped for the print and restored */
  const char **saved = malloc(sizeof *saved * (size_t)(m->n_consts + 1));
  char *names = malloc((size_t)(m->n_consts + 1) * 24);
  FILE *f = saved && names ? open_memstream(text, len) : NULL;
  if (!f) {
    free(saved), free(names);
    return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < m->n_consts; i++) {
    saved[i] = m->consts[i].name;
    snprintf(names + 24 * i, 24, "c%d", i);
    mm->consts[i].name = names + 24 * i;
  }
  PrintOptions po = {.elide_above = 0, .emit_resources = false};
  module_print(m, f, &po);
  for (int i = 0; i < m->n_consts; i++) mm->consts[i].name = saved[i];
  free(saved), free(names);
  return fclose(f) ? diag_error(d, KILN_ERR_NOMEM, "out of memory") : KILN_OK;
}

/* Marks the constants that constant ops of f (and of its regions) use: passes leave
 * replaced constants in the module's table, and the file needs only the live ones. */
static void mark_used(const Func *f, bool *used) {
  for (const Op *op = f->first; op; op = op->next) {
    if (op->kind == KILN_OP_CONSTANT) used[op->attrs.const_index] = true;
    if (op->kind == KILN_OP_DISPATCH && op->attrs.region) mark_used(op->attrs.region, used);
  }
}

static void write_consts(Bytes *b, const Module *m) {
  size_t table = bytes_reserve(b, 8 + 24 * (size_t)m->n_consts);
  bool *used = calloc((size_t)m->n_consts + 1, sizeof *used);
  int n = 0;
  if (!used) {
    b->oom = true;
    return;
  }
  mark_used(m->main, used);
  for (int i = 0; i < m->n_consts; i++) {
    if (!m->consts[i].data || !used[i]) continue;
    bytes_align(b);
    size_t at = bytes_append(b, m->consts[i].data, m->consts[i].nbytes);
    if (b->oom) return;
    uint8_t *e = b->p + table + 8 + 24 * (size_t)n++;
    put_u64(e, (uint64_t)i), put_u64(e + 8, at), put_u64(e + 16, m->consts[i].nbytes);
  }
  free(used);
  if (!b->oom) put_u64(b->p + table, (uint64_t)n);
}

static void write_packed(Bytes *b, const CpuProgram *p) {
  int n = 0;
  for (int k = 0; k < p->n_kernels; k++) n += p->kernels[k].packed_b != NULL;
  size_t table = bytes_reserve(b, 8 + (UKERNEL_NAME + 16) * (size_t)n);
  n = 0;
  for (int k = 0; k < p->n_kernels; k++) {
    const Kernel *kn = &p->kernels[k];
    if (!kn->packed_b) continue;
    bytes_align(b);
    size_t at = bytes_append(b, kn->packed_b, kn->packed_floats * sizeof(float));
    if (b->oom) return;
    uint8_t *e = b->p + table + 8 + (UKERNEL_NAME + 16) * (size_t)n++;
    strncpy((char *)e, kn->uk->name, UKERNEL_NAME - 1);
    put_u64(e + UKERNEL_NAME, at), put_u64(e + UKERNEL_NAME + 8, kn->packed_floats);
  }
  if (!b->oom) put_u64(b->p + table, (uint64_t)n);
}

static KilnStatus write_file(const char *path, const Bytes *b, Diag *d) {
  FILE *f = fopen(path, "wb");
  if (!f) return diag_error(d, KILN_ERR_IO, "%s: cannot create the file", path);
  bool ok = fwrite(b->p, 1, b->n, f) == b->n;
  if (fclose(f) || !ok) return diag_error(d, KILN_ERR_IO, "%s: write failed", path);
  return KILN_OK;
}

KilnStatus artifact_write(const Module *m, const CpuProgram *p, const char *path, Diag *d) {
  char *text = NULL, meta[128];
  size_t len = 0;
  KilnStatus st = module_text(m, &text, &len, d);
  if (st) return st;
  Bytes b = {0};
  size_t header = bytes_reserve(&b, HEADER_BYTES + SECTION_ENTRY_BYTES * N_SECTIONS);
  size_t start[N_SECTIONS], end[N_SECTIONS];
  snprintf(meta, sizeof meta, "kiln %s\nisa %s\n", KILN_VERSION,
           kiln_isa_name(kiln_cpu_features()->isa));
  for (int s = 0; s < N_SECTIONS; s++) {
    bytes_align(&b);
    start[s] = b.n;
    if (s == 0) bytes_append(&b, meta, strlen(meta));
    if (s == 1) bytes_append(&b, text, len);
    if (s == 2) write_consts(&b, m);
    if (s == 3) write_packed(&b, p);
    end[s] = b.n;
  }
  free(text);
  if (b.oom) {
    free(b.p);
    return diag_error(d, KILN_ERR_NOMEM, "out of memory writing %s", path);
  }
  memcpy(b.p + header, MAGIC, 8);
  put_u32(b.p + header + 8, KILN_ARTIFACT_VERSION), put_u32(b.p + header + 12, N_SECTIONS);
  put_u64(b.p + header + 16, b.n);
  for (int s = 0; s < N_SECTIONS; s++) {
    uint8_t *e = b.p + HEADER_BYTES + SECTION_ENTRY_BYTES * s;
    put_u32(e, (uint32_t)(s + 1)), put_u64(e + 8, start[s]), put_u64(e + 16, end[s] - start[s]);
    put_u64(e + 24, fnv1a(b.p + start[s], end[s] - start[s]));
  }
  st = write_file(path, &b, d);
  free(b.p);
  return st;
}

/* ---- loading ------------------------------------------------------------------ */

typedef struct Section {
  const uint8_t *p;
  uint64_t size;
} Section;

static KilnStatus bad(Diag *d, const char *path, const char *what) {
  return diag_error(d, KILN_ERR_INVALID, "%s: not a valid .kiln file: %s", path, what);
}

/* Header and section table: magic, version, sizes, bounds and checksums. */
static KilnStatus read_sections(const char *path, const uint8_t *map, size_t size,
                                Section *sec, Diag *d) {
  if (size < HEADER_BYTES + SECTION_ENTRY_BYTES * N_SECTIONS || memcmp(map, MAGIC, 8))
    return bad(d, path, size < 8 ? "too short" : "bad magic (not a compiled Kiln model)");
  uint32_t version = get_u32(map + 8);
  if (version != KILN_ARTIFACT_VERSION)
    return diag_error(d, KILN_ERR_UNSUPPORTED, "%s: .kiln format version %u, this Kiln reads %d",
                      path, version, KILN_ARTIFACT_VERSION);
  if (get_u32(map + 12) != N_SECTIONS) return bad(d, path, "wrong section count");
  if (get_u64(map + 16) != size) return bad(d, path, "file size differs from the header's (truncated?)");
  for (int s = 0; s < N_SECTIONS; s++) {
    const uint8_t *e = map + HEADER_BYTES + SECTION_ENTRY_BYTES * s;
    uint64_t off = get_u64(e + 8), n = get_u64(e + 16);
    if (get_u32(e) != (uint32_t)(s + 1) || off % ALIGN || off > size || n > size - off)
      return bad(d, path, "section table out of bounds");
    if (fnv1a(map + off, n) != get_u64(e + 24)) {
      static const char *names[] = {"meta", "module", "constants", "packed weights"};
      char msg[96];
      snprintf(msg, sizeof msg, "checksum mismatch in the %s section (corrupt)", names[s]);
      return bad(d, path, msg);
    }
    sec[s] = (Section){map + off, n};
  }
  return KILN_OK;
}

/* A table of `count` entries of `entry` bytes after a u64 count, inside the section. */
static bool table_ok(const Section *s, size_t entry, uint64_t *count) {
  if (s->size < 8) return false;
  *count = get_u64(s->p);
  return *count <= (s->size - 8) / entry;
}

static bool blob_ok(const Artifact *a, uint64_t off, uint64_t n) {
  return off % ALIGN == 0 && off <= a->size && n <= a->size - off;
}

static KilnStatus bind_consts(const char *path, Artifact *a, const Section *s, Diag *d) {
  uint64_t n;
  Module *m = a->module;
  if (!table_ok(s, 24, &n)) return bad(d, path, "constants table out of bounds");
  for (uint64_t i = 0; i < n; i++) {
    const uint8_t *e = s->p + 8 + 24 * i;
    uint64_t index = get_u64(e), off = get_u64(e + 8), bytes = get_u64(e + 16);
    char key[32];
    snprintf(key, sizeof key, "c%llu", (unsigned long long)index);
    if (!blob_ok(a, off, bytes)) return bad(d, path, "constant data out of bounds");
    for (int c = 0; c < m->n_consts; c++) {
      if (strcmp(m->consts[c].name, key)) continue;
      if (m->consts[c].nbytes != bytes) return bad(d, path, "constant size mismatch");
      m->consts[c].data = (void *)(a->map + off); /* read-only map: nothing writes constants */
    }
  }
  for (int c = 0; c < m->n_consts; c++)
    if (!m->consts[c].data) return bad(d, path, "a constant has no data");
  return KILN_OK;
}

static KilnStatus read_packed(const char *path, Artifact *a, const Section *s, Diag *d) {
  uint64_t n;
  if (!table_ok(s, UKERNEL_NAME + 16, &n)) return bad(d, path, "packed-weights table out of bounds");
  a->packed = calloc((size_t)n + 1, sizeof *a->packed);
  if (!a->packed) return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  for (uint64_t i = 0; i < n; i++) {
    const uint8_t *e = s->p + 8 + (UKERNEL_NAME + 16) * i;
    PackedWeight *w = &a->packed[i];
    memcpy(w->ukernel, e, UKERNEL_NAME);
    w->ukernel[UKERNEL_NAME - 1] = 0;
    uint64_t off = get_u64(e + UKERNEL_NAME);
    w->floats = get_u64(e + UKERNEL_NAME + 8);
    if (w->floats > SIZE_MAX / 8 || !blob_ok(a, off, w->floats * sizeof(float)))
      return bad(d, path, "packed weights out of bounds");
    w->data = (const float *)(a->map + off);
  }
  a->n_packed = (int)n;
  return KILN_OK;
}

static KilnStatus map_file(const char *path, Artifact *a, Diag *d) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return diag_error(d, KILN_ERR_IO, "%s: cannot open", path);
  struct stat sb;
  KilnStatus st = KILN_OK;
  if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
    st = diag_error(d, KILN_ERR_IO, "%s: not a regular file", path);
  } else if (sb.st_size == 0) {
    st = bad(d, path, "the file is empty");
  } else {
    a->size = (size_t)sb.st_size;
    void *p = mmap(NULL, a->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) st = diag_error(d, KILN_ERR_IO, "%s: cannot map the file", path);
    else a->map = p, a->mapped = true;
  }
  close(fd);
  return st;
}

/* Everything after the bytes are in a->map / a->size: header, sections, module, constants,
 * packed weights, verifier. Frees a on failure. */
static KilnStatus load_bytes(const char *name, Artifact *a, Artifact **out, Diag *d) {
  Section sec[N_SECTIONS];
  KilnStatus st = read_sections(name, a->map, a->size, sec, d);
  if (!st) st = module_parse((const char *)sec[1].p, (size_t)sec[1].size, name, &a->module, d);
  if (!st) st = bind_consts(name, a, &sec[2], d);
  if (!st) st = read_packed(name, a, &sec[3], d);
  if (!st) st = func_verify(a->module->main, d);
  if (st) {
    artifact_free(a);
    return st;
  }
  *out = a;
  return KILN_OK;
}

KilnStatus artifact_load(const char *path, Artifact **out, Diag *d) {
  *out = NULL;
  Artifact *a = calloc(1, sizeof *a);
  if (!a) return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  KilnStatus st = map_file(path, a, d);
  if (st) {
    artifact_free(a);
    return st;
  }
  return load_bytes(path, a, out, d);
}

KilnStatus artifact_load_memory(const uint8_t *data, size_t size, const char *name,
                                Artifact **out, Diag *d) {
  *out = NULL;
  if (!data && size) return diag_error(d, KILN_ERR_INVALID, "%s: NULL data", name);
  if ((uintptr_t)data % 16) /* constants (i64, f32, ...) are read in place */
    return diag_error(d, KILN_ERR_INVALID, "%s: data must be 16-byte aligned", name);
  Artifact *a = calloc(1, sizeof *a);
  if (!a) return diag_error(d, KILN_ERR_NOMEM, "out of memory");
  a->map = data, a->size = size; /* borrowed: artifact_free leaves it alone */
  return load_bytes(name, a, out, d);
}

void artifact_free(Artifact *a) {
  if (!a) return;
  module_free(a->module);
  free(a->packed);
  if (a->mapped) munmap((void *)a->map, a->size);
  free(a);
}
