/* arena.c — bump allocator: one per module, everything freed at once (QBE/ggml style). */
#include <string.h>

#include "support.h"

struct ArenaBlock {
  ArenaBlock *next;
  size_t used, cap;
  _Alignas(64) unsigned char data[];
};

enum { ARENA_BLOCK = 1 << 20, ARENA_ALIGN = 64 };

void arena_init(Arena *a) { a->head = NULL; a->total = 0; }

void arena_free(Arena *a) {
  for (ArenaBlock *b = a->head, *n; b; b = n) {
    n = b->next;
    free(b);
  }
  a->head = NULL;
  a->total = 0;
}

void *arena_alloc(Arena *a, size_t n) {
  if (n > SIZE_MAX / 2) return NULL;
  n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  if (n == 0) n = ARENA_ALIGN;
  ArenaBlock *b = a->head;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
    b = aligned_alloc(ARENA_ALIGN, sizeof(ArenaBlock) + cap);
    if (!b) return NULL;
    b->cap = cap;
    b->used = 0;
    /* A big one-off block goes behind the head so the head keeps its free space. */
    if (a->head && n > ARENA_BLOCK) {
      b->next = a->head->next;
      a->head->next = b;
    } else {
      b->next = a->head;
      a->head = b;
    }
  }
  void *p = b->data + b->used;
  b->used += n;
  a->total += n;
  memset(p, 0, n);
  return p;
}

char *arena_strdup(Arena *a, const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = arena_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}

void *arena_grow(Arena *a, void *ptr, size_t old_n, size_t new_n, size_t elem_size) {
  if (new_n <= old_n) return ptr;
  if (elem_size && new_n > SIZE_MAX / elem_size) return NULL;
  void *p = arena_alloc(a, new_n * elem_size);
  if (p && ptr) memcpy(p, ptr, old_n * elem_size);
  return p;
}
