/* q8-dwconv3x3-avx2-c16.c — AVX2 int8 depthwise 3x3 NHWC row kernel: 16 channels per
 * step in two ymm of int32 (inputs widened, minus the zero point, times the packed
 * weights with vpmaddwd (kiln_q8_dw_weight): exact, |acc| <= 9 * 255 * 255); interior
 * pixels by channel block (interior_block); the channel tail through a zero-filled copy
 * of the input bytes and masked weight loads. */
#include "backend/cpu/ukernel/q8-dwconv/taps.h"
#include "backend/cpu/ukernel/q8-requant.h"

#include <assert.h>
#include <immintrin.h>

/* mask_table + 8 - n: n lanes on, 8 - n off (0 <= n <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline __m256i widen(__m128i x, int a_signed) {
  return a_signed ? _mm256_cvtepi8_epi32(x) : _mm256_cvtepu8_epi32(x);
}

/* The interior pixels [ow0, ow1) of 16 channels from c (as the AVX-512 kernel's): taps
 * unrolled without checks, the zero point off once per block (zp * sum of the weights,
 * exact in int32), the weights read from memory (16 ymm registers would not hold 18). */
static inline __attribute__((always_inline)) void
interior_block_impl(const struct kiln_q8_dwconv_row *row, const int32_t *w, uint8_t *out,
                    size_t c, size_t ow0, size_t ow1, int32_t a_zp, const int a_signed,
                    const struct kiln_q8_requant *rq, const struct kiln_q8_rq256 *v,
                    const int plain) {
  const size_t C = row->channels, step = row->dilation_w * C;
  const __m256i ones = _mm256_set1_epi32(1), vfull = _mm256_set1_epi32(-1);
  __m256i zc0 = _mm256_setzero_si256(), zc1 = _mm256_setzero_si256();
  for (size_t t = 0; t < 9; t++) {
    zc0 = _mm256_add_epi32(zc0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w + t * C + c)), ones));
    zc1 = _mm256_add_epi32(zc1, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w + t * C + c + 8)), ones));
  }
  zc0 = _mm256_mullo_epi32(zc0, _mm256_set1_epi32(a_zp));
  zc1 = _mm256_mullo_epi32(zc1, _mm256_set1_epi32(a_zp));
  const __m256i ab0 = kiln_q8_acc_bias8(rq, c, vfull), ab1 = kiln_q8_acc_bias8(rq, c + 8, vfull);
  const __m256 s0 = kiln_q8_scale8(rq, c, vfull), s1 = kiln_q8_scale8(rq, c + 8, vfull);
  const int s8 = rq->out_type == KILN_Q8_OUT_S8;
  for (size_t ow = ow0; ow < ow1; ow++) {
    const size_t iw = ow * row->stride_w - row->pad_left;
    const uint8_t *x0 = row->rows[0] + iw * C + c, *x1 = row->rows[1] + iw * C + c,
                  *x2 = row->rows[2] + iw * C + c;
    __m256i acc0 = _mm256_sub_epi32(_mm256_setzero_si256(), zc0);
    __m256i acc1 = _mm256_sub_epi32(_mm256_setzero_si256(), zc1);
#define TAP(t, kh, kw)                                                                    \
  {                                                                                       \
    const __m128i x = _mm_loadu_si128((const __m128i *)(x##kh + (kw) * step));            \
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(widen(x, a_signed),                   \
        _mm256_loadu_si256((const __m256i *)(w + (size_t)(t) * C + c))));                  \
    acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(widen(_mm_srli_si128(x, 8), a_signed), \
        _mm256_loadu_si256((const __m256i *)(w + (size_t)(t) * C + c + 8))));              \
  }
    KILN_Q8_DW_TAPS(TAP)
#undef TAP
    if (plain) {
      kiln_q8_requant_plain8(acc0, ab0, s0, v, s8, 8, out + ow * C + c);
      kiln_q8_requant_plain8(acc1, ab1, s1, v, s8, 8, out + ow * C + c + 8);
    } else {
      kiln_q8_requant_store8(acc0, c, 8, vfull, rq, v, out, ow * C + c);
      kiln_q8_requant_store8(acc1, c + 8, 8, vfull, rq, v, out, ow * C + c + 8);
    }
  }
}

static void interior_block(const struct kiln_q8_dwconv_row *row, const int32_t *w, uint8_t *out,
                           size_t c, size_t ow0, size_t ow1, int32_t a_zp, int a_signed,
                           const struct kiln_q8_requant *rq, const struct kiln_q8_rq256 *v,
                           int plain) {
  if (plain && !a_signed)
    interior_block_impl(row, w, out, c, ow0, ow1, a_zp, 0, rq, v, 1);
  else if (plain)
    interior_block_impl(row, w, out, c, ow0, ow1, a_zp, 1, rq, v, 1);
  else
    interior_block_impl(row, w, out, c, ow0, ow1, a_zp, a_signed, rq, v, 0);
}

void kiln_q8_dwconv3x3_ukernel__avx2_c16(const struct kiln_q8_dwconv_row *restrict row,
                                         const int32_t *restrict w, void *restrict out,
                                         int32_t a_zp, int a_signed,
                                         const struct kiln_q8_requant *restrict rq) {
  assert(row && w && out && rq);
  assert(row->channels >= 1 && row->stride_w >= 1 && row->dilation_w >= 1);
  const size_t C = row->channels;
  const struct kiln_q8_rq256 v = kiln_q8_rq256_init(rq);
  const __m256i vzp = _mm256_set1_epi32(a_zp);
  const __m256i vfull = _mm256_set1_epi32(-1);
  const size_t r = C % 16, r0 = r < 8 ? r : 8, r1 = r > 8 ? r - 8 : 0;
  const __m256i vmask0 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r0));
  const __m256i vmask1 = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r1));
  const uint8_t *ip[9];
  const int32_t *wp[9];
  size_t ow0, ow1; /* interior pixels: their full channel blocks in interior_block */
  kiln_q8_dwconv3x3_interior(row, &ow0, &ow1);
  for (size_t c = 0; c + 16 <= C; c += 16)
    interior_block(row, w, out, c, ow0, ow1, a_zp, a_signed, rq, &v, kiln_q8_plain(rq));
  for (size_t ow = 0; ow < row->out_width; ow++) {
    const size_t n = kiln_q8_dwconv3x3_taps(row, w, ow, ip, wp);
    const size_t o = ow * C;
    size_t c = ow >= ow0 && ow < ow1 ? C - r : 0;
    for (; c + 16 <= C; c += 16) {
      __m256i vacc0 = _mm256_setzero_si256(), vacc1 = _mm256_setzero_si256();
      for (size_t t = 0; t < n; t++) {
        const __m128i x = _mm_loadu_si128((const __m128i *)(ip[t] + c));
        const __m256i x0 = _mm256_sub_epi32(widen(x, a_signed), vzp);
        const __m256i x1 = _mm256_sub_epi32(widen(_mm_srli_si128(x, 8), a_signed), vzp);
        vacc0 = _mm256_add_epi32(vacc0, _mm256_madd_epi16(
                                            x0, _mm256_loadu_si256((const __m256i *)(wp[t] + c))));
        vacc1 = _mm256_add_epi32(vacc1, _mm256_madd_epi16(
                                            x1, _mm256_loadu_si256((const __m256i *)(wp[t] + c + 8))));
      }
      kiln_q8_requant_store8(vacc0, c, 8, vfull, rq, &v, out, o + c);
      kiln_q8_requant_store8(vacc1, c + 8, 8, vfull, rq, &v, out, o + c + 8);
    }
    if (r) {
      __m256i vacc0 = _mm256_setzero_si256(), vacc1 = _mm256_setzero_si256();
      for (size_t t = 0; t < n; t++) {
        uint8_t tmp[16] = {0};
        memcpy(tmp, ip[t] + c, r);
        const __m128i x = _mm_loadu_si128((const __m128i *)tmp);
        const __m256i x0 = _mm256_sub_epi32(widen(x, a_signed), vzp);
        const __m256i x1 = _mm256_sub_epi32(widen(_mm_srli_si128(x, 8), a_signed), vzp);
        vacc0 = _mm256_add_epi32(vacc0,
                                 _mm256_madd_epi16(x0, _mm256_maskload_epi32(wp[t] + c, vmask0)));
        vacc1 = _mm256_add_epi32(
            vacc1, _mm256_madd_epi16(x1, _mm256_maskload_epi32(wp[t] + c + 8, vmask1)));
      }
      kiln_q8_requant_store8(vacc0, c, r0, vmask0, rq, &v, out, o + c);
      if (r1)
        kiln_q8_requant_store8(vacc1, c + 8, r1, vmask1, rq, &v, out, o + c + 8);
    }
  }
}
