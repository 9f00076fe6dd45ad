/* q8-dwconv3x3-avx512f-c32.c — AVX-512 int8 depthwise 3x3 NHWC row kernel: 32 channels
 * per step in two zmm of int32 (inputs widened, minus the zero point, times the packed
 * weights by vpmaddwd (kiln_q8_dw_weight): exact, |acc| <= 9 * 255 * 255); the channel
 * tail by masked loads and stores. Needs F+BW+VL (masked byte loads), not VNNI. */
#include "backend/cpu/ukernel/q8-dwconv/taps.h"
#include "backend/cpu/ukernel/q8-requant.h"

#include <assert.h>
#include <immintrin.h>

static inline __m512i widen(__m128i x, int a_signed) {
  return a_signed ? _mm512_cvtepi8_epi32(x) : _mm512_cvtepu8_epi32(x);
}

/* The interior pixels [ow0, ow1) of 32 channels from c: the nine weight vectors pairs
 * stay in registers across the pixels (taps unrolled, a_signed and plain constants in
 * each specialization), and the zero point is off once per block (sum_t (x_t - zp) w_t =
 * sum_t x_t w_t - zp sum_t w_t, exact in int32) instead of once per tap. */
static inline __attribute__((always_inline)) void
interior_block_impl(const struct kiln_q8_dwconv_row *row, const int32_t *w, uint8_t *out,
                    size_t c, size_t ow0, size_t ow1, int32_t a_zp, const int a_signed,
                    const struct kiln_q8_requant *rq, const struct kiln_q8_rq512 *v,
                    const int plain) {
  const size_t C = row->channels;
  __m512i zc0 = _mm512_setzero_si512(), zc1 = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi32(1);
#define LOAD_W(t, kh, kw)                                                                 \
  const __m512i w0_##t = _mm512_loadu_si512(w + (size_t)(t) * C + c);                     \
  const __m512i w1_##t = _mm512_loadu_si512(w + (size_t)(t) * C + c + 16);                \
  zc0 = _mm512_add_epi32(zc0, _mm512_madd_epi16(w0_##t, ones));                           \
  zc1 = _mm512_add_epi32(zc1, _mm512_madd_epi16(w1_##t, ones));
  KILN_Q8_DW_TAPS(LOAD_W)
#undef LOAD_W
  zc0 = _mm512_mullo_epi32(zc0, _mm512_set1_epi32(a_zp));
  zc1 = _mm512_mullo_epi32(zc1, _mm512_set1_epi32(a_zp));
  const __m512i ab0 = kiln_q8_acc_bias16(rq, c, 0xffff), ab1 = kiln_q8_acc_bias16(rq, c + 16, 0xffff);
  const __m512 s0 = kiln_q8_scale16(rq, c, 0xffff), s1 = kiln_q8_scale16(rq, c + 16, 0xffff);
  const size_t step = row->dilation_w * C;
  for (size_t ow = ow0; ow < ow1; ow++) {
    const size_t iw = ow * row->stride_w - row->pad_left;
    const uint8_t *x0 = row->rows[0] + iw * C + c, *x1 = row->rows[1] + iw * C + c,
                  *x2 = row->rows[2] + iw * C + c;
    __m512i acc0 = _mm512_sub_epi32(_mm512_setzero_si512(), zc0);
    __m512i acc1 = _mm512_sub_epi32(_mm512_setzero_si512(), zc1);
#define TAP(t, kh, kw)                                                                    \
  {                                                                                       \
    const uint8_t *x = x##kh + (kw) * step;                                               \
    acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(                                      \
        widen(_mm_loadu_si128((const __m128i *)x), a_signed), w0_##t));                   \
    acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(                                      \
        widen(_mm_loadu_si128((const __m128i *)(x + 16)), a_signed), w1_##t));            \
  }
    KILN_Q8_DW_TAPS(TAP)
#undef TAP
    if (plain) {
      uint8_t *dst = out + ow * C + c;
      kiln_q8_requant_plain16(acc0, ab0, s0, v, 0xffff, dst);
      kiln_q8_requant_plain16(acc1, ab1, s1, v, 0xffff, dst + 16);
    } else {
      kiln_q8_requant_store16(acc0, c, 0xffff, rq, v, out, ow * C + c);
      kiln_q8_requant_store16(acc1, c + 16, 0xffff, rq, v, out, ow * C + c + 16);
    }
  }
}

static void interior_block(const struct kiln_q8_dwconv_row *row, const int32_t *w, uint8_t *out,
                           size_t c, size_t ow0, size_t ow1, int32_t a_zp, int a_signed,
                           const struct kiln_q8_requant *rq, const struct kiln_q8_rq512 *v,
                           int plain) {
  if (plain && !a_signed)
    interior_block_impl(row, w, out, c, ow0, ow1, a_zp, 0, rq, v, 1);
  else if (plain)
    interior_block_impl(row, w, out, c, ow0, ow1, a_zp, 1, rq, v, 1);
  else
    interior_block_impl(row, w, out, c, ow0, ow1, a_zp, a_signed, rq, v, 0);
}

void kiln_q8_dwconv3x3_ukernel__avx512f_c32(const struct kiln_q8_dwconv_row *restrict row,
                                            const int32_t *restrict w, void *restrict out,
                                            int32_t a_zp, int a_signed,
                                            const struct kiln_q8_requant *restrict rq) {
  assert(row && w && out && rq);
  assert(row->channels >= 1 && row->stride_w >= 1 && row->dilation_w >= 1);
  const size_t C = row->channels;
  const struct kiln_q8_rq512 v = kiln_q8_rq512_init(rq);
  const int plain = kiln_q8_plain(rq);
  const __m512i vzp = _mm512_set1_epi32(a_zp);
  const size_t r = C % 32;
  const __mmask16 vmask0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
  const __mmask16 vmask1 = r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
  const uint8_t *ip[9];
  const int32_t *wp[9];
  size_t ow0, ow1; /* interior pixels: their full channel blocks in interior_block */
  kiln_q8_dwconv3x3_interior(row, &ow0, &ow1);
  for (size_t c = 0; c + 32 <= C; c += 32)
    interior_block(row, w, out, c, ow0, ow1, a_zp, a_signed, rq, &v, plain);
  for (size_t ow = 0; ow < row->out_width; ow++) {
    const size_t n = kiln_q8_dwconv3x3_taps(row, w, ow, ip, wp);
    const size_t o = ow * C;
    size_t c = ow >= ow0 && ow < ow1 ? C - r : 0;
    for (; c + 32 <= C; c += 32) {
      __m512i vacc0 = _mm512_setzero_si512(), vacc1 = _mm512_setzero_si512();
      for (size_t t = 0; t < n; t++) {
        const __m512i x0 =
            _mm512_sub_epi32(widen(_mm_loadu_si128((const __m128i *)(ip[t] + c)), a_signed), vzp);
        const __m512i x1 = _mm512_sub_epi32(
            widen(_mm_loadu_si128((const __m128i *)(ip[t] + c + 16)), a_signed), vzp);
        vacc0 = _mm512_add_epi32(vacc0, _mm512_madd_epi16(x0, _mm512_loadu_si512(wp[t] + c)));
        vacc1 = _mm512_add_epi32(vacc1, _mm512_madd_epi16(x1, _mm512_loadu_si512(wp[t] + c + 16)));
      }
      if (plain) {
        uint8_t *dst = (uint8_t *)out + o + c;
        kiln_q8_requant_plain16(vacc0, kiln_q8_acc_bias16(rq, c, 0xffff),
                                kiln_q8_scale16(rq, c, 0xffff), &v, 0xffff, dst);
        kiln_q8_requant_plain16(vacc1, kiln_q8_acc_bias16(rq, c + 16, 0xffff),
                                kiln_q8_scale16(rq, c + 16, 0xffff), &v, 0xffff, dst + 16);
        continue;
      }
      kiln_q8_requant_store16(vacc0, c, 0xffff, rq, &v, out, o + c);
      kiln_q8_requant_store16(vacc1, c + 16, 0xffff, rq, &v, out, o + c + 16);
    }
    if (r) {
      __m512i vacc0 = _mm512_setzero_si512(), vacc1 = _mm512_setzero_si512();
      for (size_t t = 0; t < n; t++) {
        const __m512i x0 = _mm512_sub_epi32(
            widen(_mm_maskz_loadu_epi8(vmask0, ip[t] + c), a_signed), vzp);
        const __m512i x1 = _mm512_sub_epi32(
            widen(_mm_maskz_loadu_epi8(vmask1, ip[t] + c + 16), a_signed), vzp);
        vacc0 = _mm512_add_epi32(vacc0,
                                 _mm512_madd_epi16(x0, _mm512_maskz_loadu_epi32(vmask0, wp[t] + c)));
        vacc1 = _mm512_add_epi32(
            vacc1, _mm512_madd_epi16(x1, _mm512_maskz_loadu_epi32(vmask1, wp[t] + c + 16)));
      }
      kiln_q8_requant_store16(vacc0, c, vmask0, rq, &v, out, o + c);
      if (vmask1)
        kiln_q8_requant_store16(vacc1, c + 16, vmask1, rq, &v, out, o + c + 16);
    }
  }
}
