/* support.h — the bottom layer: arena, diagnostics, checked arithmetic, .npy I/O.
 * Depends on libc only. Sectioned by defining file. */
#ifndef KILN_SUPPORT_H
#define KILN_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Internal invariants: always on, also in release builds (compiler bugs, not user input). */
#define KILN_ASSERT(x) \
  ((x) ? (void)0 : kiln_assert_fail(#x, __FILE__, __LINE__))
#define kiln_unreachable() kiln_assert_fail("unreachable", __FILE__, __LINE__)
_Noreturn void kiln_assert_fail(const char *expr, const char *file, int line);

/* ---- diag.c ---------------------------------------------------------- */

/* Status of every fallible call on user input. Internal bugs assert instead. */
typedef enum {
  KILN_OK = 0,
  KILN_ERR_INVALID,     /* malformed input: bad protobuf, wrong shape, bad .npy */
  KILN_ERR_UNSUPPORTED, /* valid but not supported: unknown op, attribute value */
  KILN_ERR_LIMIT,       /* a documented size limit exceeded */
  KILN_ERR_NOMEM,       /* allocation failed */
  KILN_ERR_IO,          /* file missing or unreadable */
} KilnStatus;

/* Holds the first error message of an operation: "where: what". */
typedef struct Diag {
  KilnStatus status;
  char msg[1024];
} Diag;

/* Records the error (first one wins) and returns its status, so callers can
 * `return diag_error(d, KILN_ERR_INVALID, "Conv node '%s': ...", name);`. */
KilnStatus diag_error(Diag *d, KilnStatus st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *status_name(KilnStatus st);

/* ---- arena.c --------------------------------------------------------- */

/* Bump allocator owning everything of one module; freed at once. Zeroed memory. */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
  ArenaBlock *head;
  size_t total; /* bytes handed out, for limits */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
/* Returns zeroed memory aligned to 64 bytes; aborts on OOM only via NULL return. */
void *arena_alloc(Arena *a, size_t n);
char *arena_strdup(Arena *a, const char *s);
/* Growable array in an arena: doubles capacity, copying (old block stays in the arena). */
void *arena_grow(Arena *a, void *ptr, size_t old_n, size_t new_n, size_t elem_size);

/* ---- checked.c ------------------------------------------------------- */

/* Overflow-checked arithmetic for sizes that come from user input.
 * Each returns 0 on success and 1 on overflow (result untouched). */
int checked_mul_i64(int64_t a, int64_t b, int64_t *out);
int checked_add_i64(int64_t a, int64_t b, int64_t *out);

/* ---- file.c ---------------------------------------------------------- */

/* Reads a whole file into malloc'd memory. Caller frees *data. */
KilnStatus file_read_all(const char *path, uint8_t **data, size_t *size, Diag *d);

/* ---- npy.c ------------------------------------------------------------ */

/* A NumPy .npy array (format 1.0-3.0, C order only). `descr` is the dtype string of
 * the header, normalised to little-endian ("<f4", "|i1", "|b1" ...). */
#define NPY_MAX_RANK 8
typedef struct NpyArray {
  char descr[8];
  int rank;
  int64_t dims[NPY_MAX_RANK];
  size_t itemsize;
  void *data;     /* malloc'd */
  size_t nbytes;
} NpyArray;

/* Parses .npy bytes; copies the payload. Fortran order, big-endian, object or unknown
 * dtypes, bad headers and short payloads are KILN_ERR_INVALID naming `what` (a path). */
KilnStatus npy_parse(const uint8_t *buf, size_t size, const char *what, NpyArray *out, Diag *d);
KilnStatus npy_read(const char *path, NpyArray *out, Diag *d);
KilnStatus npy_write(const char *path, const char *descr, int rank, const int64_t *dims,
                     const void *data, size_t nbytes, Diag *d);
void npy_free(NpyArray *a);

#endif
