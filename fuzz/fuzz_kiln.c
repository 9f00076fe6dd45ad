/* fuzz_kiln.c — libFuzzer target for compiled models (.kiln): bytes -> artifact_load_memory
 * -> cpu_lower (1 thread) -> cpu_run on zero-filled inputs for models within the fuzz
 * budget (fuzz_kiln_run.h). Every failure must be a one-line diagnostic.
 *
 * Every section of a .kiln file is checksummed, so byte-level mutation almost only meets
 * the checksum check. The custom mutator therefore works on the sections: it splits the
 * file, mutates one of them — the module text (libFuzzer's mutations, with -dict, or a
 * number replaced by an interesting one), an entry of the constants or packed-weights
 * table, bytes of constant data, the meta text — lays the sections out again (64-byte
 * aligned, the tables' data offsets moved with their section) and writes a header with
 * the right sizes and checksums, so the input gets past the checks to the parser, the
 * binder, lowering and the kernels. One in sixteen times (or when the input is not a
 * .kiln layout at all) it mutates raw bytes, which covers the header checks. */
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_kiln_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A copy 64-byte aligned, as a file's map is: constants are used in place. */
  uint8_t *buf = aligned_alloc(64, (size + 63) / 64 * 64 + 64);
  if (!buf) return 0;
  if (size) memcpy(buf, data, size);
  Diag d = {0};
  Artifact *a = NULL;
  KilnStatus st = artifact_load_memory(buf, size, "fuzz.kiln", &a, &d);
  fuzz_check_diag(st, &d);
  if (!st) {
    st = fuzz_kiln_run(a, &d);
    fuzz_check_diag(st, &d);
  }
  artifact_free(a);
  free(buf);
  return 0;
}

/* ---- the mutator ------------------------------------------------------------------- */

/* The layout of artifact.h (the loader's constants are private to artifact.c). */
enum { N_SEC = 4, SEC_MODULE = 1, SEC_CONSTS = 2, SEC_PACKED = 3 };
enum { HEADER = 24, ENTRY = 32, ALIGN = 64, CONST_ENTRY = 24, PACKED_ENTRY = 48 };

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}
static uint64_t align_up(uint64_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

static uint64_t interesting_u64(uint64_t *s, uint64_t old) {
  static const uint64_t v[] = {0, 1, 2, 3, 4, 7, 8, 16, 63, 64, 255, 4096, 65536,
                               UINT32_MAX, (uint64_t)INT64_MAX, UINT64_MAX, UINT64_MAX - 63};
  switch (rnd(s) % 4) {
  case 0: return old + 64 * (1 + rnd(s) % 4);
  case 1: return old - 64 * (1 + rnd(s) % 4);
  default: return v[rnd(s) % ARRAY_LEN(v)];
  }
}

/* One section, copied out so it can grow. */
typedef struct Sec {
  uint8_t *p;
  size_t n, cap;
  uint64_t old_off;
} Sec;

static bool split(const uint8_t *data, size_t size, Sec *sec) {
  if (size < HEADER + ENTRY * N_SEC || memcmp(data, "KILNART", 8) || get_u64(data + 8) >> 32 != N_SEC)
    return false; /* bytes 8-15: u32 version, u32 section count */
  for (int s = 0; s < N_SEC; s++) {
    const uint8_t *e = data + HEADER + ENTRY * s;
    uint64_t off = get_u64(e + 8), n = get_u64(e + 16);
    if (off > size || n > size - off) return false;
    sec[s].old_off = off;
    sec[s].n = (size_t)n;
    sec[s].cap = (size_t)n + 256;
    if (!(sec[s].p = malloc(sec[s].cap))) return false;
    memcpy(sec[s].p, data + off, (size_t)n);
  }
  return true;
}

/* Replaces one run of decimal digits in the text by an interesting number: dims in types,
 * attribute values (strides, pads, perms, axes), constant indices cN. */
static void mutate_number(Sec *t, uint64_t *s) {
  if (!t->n) return;
  size_t at = rnd(s) % t->n, end;
  while (at < t->n && (t->p[at] < '0' || t->p[at] > '9')) at++;
  if (at == t->n) return;
  for (end = at; end < t->n && t->p[end] >= '0' && t->p[end] <= '9'; end++) {}
  static const char *v[] = {"0", "1", "2", "3", "4", "5", "7", "8", "9", "16", "17", "64",
                            "255", "256", "1000", "65536", "2147483647", "4294967296",
                            "9223372036854775807", "99999999999999999999"};
  const char *r = v[rnd(s) % ARRAY_LEN(v)];
  size_t rn = strlen(r);
  if (t->n - (end - at) + rn > t->cap) return;
  memmove(t->p + at + rn, t->p + end, t->n - end);
  memcpy(t->p + at, r, rn);
  t->n = t->n - (end - at) + rn;
}

/* A field of one entry of a table of u64-count-prefixed entries (the offsets and sizes
 * of CONSTS and PACKED, or the count itself). */
static void mutate_table(Sec *t, size_t entry, size_t first_field, uint64_t *s) {
  if (t->n < 8) return;
  uint64_t count = get_u64(t->p);
  if (rnd(s) % 8 == 0 || !count) {
    put_u64(t->p, interesting_u64(s, count));
    return;
  }
  if (count > (t->n - 8) / entry) return;
  uint8_t *e = t->p + 8 + entry * (rnd(s) % count);
  if (first_field && rnd(s) % 8 == 0) { /* the packed entry's microkernel name */
    e[rnd(s) % first_field] = (uint8_t)rnd(s);
    return;
  }
  uint8_t *f = e + first_field + 8 * (rnd(s) % ((entry - first_field) / 8));
  put_u64(f, interesting_u64(s, get_u64(f)));
}

/* Bytes in the data of one constant (CONSTS entry offsets are absolute). */
static void mutate_const_data(Sec *t, uint64_t *s) {
  if (t->n < 8) return;
  uint64_t count = get_u64(t->p);
  if (!count || count > (t->n - 8) / CONST_ENTRY) return;
  const uint8_t *e = t->p + 8 + CONST_ENTRY * (rnd(s) % count);
  uint64_t off = get_u64(e + 8), bytes = get_u64(e + 16);
  if (off < t->old_off || off - t->old_off > t->n || bytes > t->n - (off - t->old_off) || !bytes)
    return;
  uint8_t *p = t->p + (off - t->old_off);
  static const uint8_t special[][4] = {{0, 0, 0xc0, 0x7f}, {0, 0, 0x80, 0x7f}, {0xff, 0xff, 0xff, 0xff},
                                       {0, 0, 0, 0x80}, {0xff, 0xff, 0xff, 0x7f}, {0, 0, 0, 0}};
  for (int k = 1 + (int)(rnd(s) % 4); k--;) {
    size_t at = (size_t)(rnd(s) % bytes);
    if (rnd(s) % 2 && bytes >= 4) /* a NaN, inf, -1, INT_MIN, ... at a 4-byte boundary */
      memcpy(p + at / 4 * 4, special[rnd(s) % ARRAY_LEN(special)], 4);
    else
      p[at] = (uint8_t)rnd(s);
  }
}

/* Adds delta to every entry offset (at field_at in entries of `entry` bytes) that pointed
 * into the section's old bytes: data moves with its section. */
static void relocate(Sec *t, size_t entry, size_t field_at, uint64_t delta) {
  if (t->n < 8) return;
  uint64_t count = get_u64(t->p);
  if (count > (t->n - 8) / entry) return;
  for (uint64_t i = 0; i < count; i++) {
    uint8_t *f = t->p + 8 + entry * i + field_at;
    uint64_t off = get_u64(f);
    if (off >= t->old_off && off - t->old_off <= t->n) put_u64(f, off + delta);
  }
}

/* Writes the sections back into data with a fresh header; 0 if it does not fit. */
static size_t join(Sec *sec, uint8_t *data, size_t max_size) {
  uint64_t at = HEADER + ENTRY * N_SEC, start[N_SEC];
  for (int s = 0; s < N_SEC; s++) {
    start[s] = align_up(at);
    at = start[s] + sec[s].n;
  }
  if (at > max_size) return 0;
  relocate(&sec[SEC_CONSTS], CONST_ENTRY, 8, start[SEC_CONSTS] - sec[SEC_CONSTS].old_off);
  relocate(&sec[SEC_PACKED], PACKED_ENTRY, 32, start[SEC_PACKED] - sec[SEC_PACKED].old_off);
  memset(data, 0, (size_t)at);
  memcpy(data, "KILNART", 8);
  put_u64(data + 8, (uint64_t)N_SEC << 32 | KILN_ARTIFACT_VERSION);
  put_u64(data + 16, at);
  for (int s = 0; s < N_SEC; s++) {
    uint8_t *e = data + HEADER + ENTRY * s;
    memcpy(data + start[s], sec[s].p, sec[s].n);
    put_u64(e, (uint64_t)(s + 1)), put_u64(e + 8, start[s]), put_u64(e + 16, sec[s].n);
    put_u64(e + 24, fnv1a(sec[s].p, sec[s].n));
  }
  return (size_t)at;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  Sec sec[N_SEC] = {{0}};
  size_t out = 0;
  if (rnd(&s) % 16 && split(data, size, sec)) {
    Sec *text = &sec[SEC_MODULE];
    switch (rnd(&s) % 10) {
    case 0: case 1: case 2: case 3: { /* the module text, byte-level (uses -dict) */
      size_t cap = text->n * 2 + 64;
      uint8_t *q = realloc(text->p, cap);
      if (!q) break;
      text->p = q, text->cap = cap;
      text->n = LLVMFuzzerMutate(text->p, text->n, cap);
      break;
    }
    case 4: case 5: mutate_number(text, &s); break;
    case 6: mutate_table(&sec[SEC_CONSTS], CONST_ENTRY, 0, &s); break;
    case 7: mutate_table(&sec[SEC_PACKED], PACKED_ENTRY, 32, &s); break;
    case 8: mutate_const_data(&sec[SEC_CONSTS], &s); break;
    default: sec[0].n = LLVMFuzzerMutate(sec[0].p, sec[0].n, sec[0].cap); /* meta */
    }
    out = join(sec, data, max_size);
  }
  for (int i = 0; i < N_SEC; i++) free(sec[i].p);
  return out ? out : LLVMFuzzerMutate(data, size, max_size);
}
