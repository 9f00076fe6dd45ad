/* resize.c — the NHWC resize driver: per output row, the two source rows from the H
 * table; bilinear rows go to the microkernel, nearest rows are pixel copies. */
#include "backend/cpu/ukernel/ukernel.h"

#include <assert.h>
#include <string.h>

void kiln_f32_resize(const struct kiln_f32_resize_shape *s, int bilinear,
                     const struct kiln_resize_axis_table *h,
                     const struct kiln_resize_axis_table *w, const float *in, float *out,
                     const struct kiln_ukernel *kernel, size_t row_begin, size_t row_end) {
  assert(s && h && w && in && out && row_end <= s->out_h && s->channels >= 1);
  assert(!bilinear || (kernel && kernel->op == KILN_UKERNEL_OP_f32_resize));
  const size_t C = s->channels, in_row = s->in_w * C;
  for (size_t oh = row_begin; oh < row_end; oh++) {
    float *orow = out + oh * s->out_w * C;
    assert(h->i0[oh] >= 0 && (size_t)h->i0[oh] < s->in_h);
    const float *row0 = in + (size_t)h->i0[oh] * in_row;
    if (bilinear) {
      assert(h->i1[oh] >= 0 && (size_t)h->i1[oh] < s->in_h);
      kernel->fn.f32_resize(s->out_w, C, row0, in + (size_t)h->i1[oh] * in_row, h->lambda[oh],
                            w->i0, w->i1, w->lambda, orow);
    } else {
      for (size_t ow = 0; ow < s->out_w; ow++)
        memcpy(orow + ow * C, row0 + (size_t)w->i0[ow] * C, C * sizeof(float));
    }
  }
}
