/* memplan.c — static memory planning of the activation arena.
 *
 * Every arena buffer is live over the closed interval of kernels [first, last] that touch
 * it. Buffers are placed largest first, each at the lowest 64-byte aligned offset where it
 * overlaps no already-placed buffer whose interval intersects its own (the greedy-by-size
 * heuristic of TFLite's and XNNPACK's planners: near-optimal on CNN chains, O(n^2)). A
 * buffer never shares memory with one it is live with, so a kernel's inputs and outputs
 * never alias unless lowering made them the same buffer on purpose. */
#include <stdlib.h>

#include "backend/cpu/backend.h"

enum { PLAN_ALIGN = 64 };

/* Largest first, stable (insertion sort: qsort has no context argument, n is small). */
static void sort_by_size_desc(const Buf *bufs, int *order, int n) {
  for (int i = 1; i < n; i++) {
    int b = order[i], j = i;
    for (; j > 0 && bufs[order[j - 1]].nbytes < bufs[b].nbytes; j--) order[j] = order[j - 1];
    order[j] = b;
  }
}

static int64_t align_up(int64_t n) { return (n + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN; }

static bool lives_overlap(const Buf *a, const Buf *b) {
  return a->first <= b->last && b->first <= a->last;
}

/* Lowest offset >= 0 where b fits between the placed buffers it is live with. */
static int64_t find_offset(const Buf *bufs, const int *placed, int n_placed, const Buf *b) {
  int64_t off = 0;
  for (bool moved = true; moved;) {
    moved = false;
    for (int i = 0; i < n_placed; i++) {
      const Buf *o = &bufs[placed[i]];
      if (!lives_overlap(o, b)) continue;
      if (off < o->offset + align_up(o->nbytes) && o->offset < off + align_up(b->nbytes)) {
        off = o->offset + align_up(o->nbytes);
        moved = true;
      }
    }
  }
  return off;
}

void cpu_plan_memory(CpuProgram *p) {
  int n = 0;
  int *order = malloc(sizeof(int) * (size_t)(p->n_bufs + 1));
  p->arena_bytes = 0;
  if (!order) { /* fall back to no sharing at all: still correct */
    for (int b = 0; b < p->n_bufs; b++)
      if (p->bufs[b].kind == BUF_ARENA) {
        p->bufs[b].offset = p->arena_bytes;
        p->arena_bytes += align_up(p->bufs[b].nbytes);
      }
    return;
  }
  for (int b = 0; b < p->n_bufs; b++)
    if (p->bufs[b].kind == BUF_ARENA && p->bufs[b].first >= 0) order[n++] = b;
  sort_by_size_desc(p->bufs, order, n);
  for (int i = 0; i < n; i++) {
    Buf *b = &p->bufs[order[i]];
    b->offset = find_offset(p->bufs, order, i, b);
    if (b->offset + align_up(b->nbytes) > p->arena_bytes)
      p->arena_bytes = b->offset + align_up(b->nbytes);
  }
  free(order);
}
