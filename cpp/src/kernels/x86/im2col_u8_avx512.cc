// im2col_u8 for AVX-512 (BW): byte runs are copied / filled in 64-byte chunks, the last chunk with
// a byte mask (masked-out bytes are neither read nor written, so nothing past a row's K bytes or
// past x is touched, and no memcpy call per tap). When the group spans all channels
// (Cg == C_total) and dilation_w == 1, the in-image taps of one kernel row are one contiguous run
// of (kw1 - kw0) * C bytes in x (e.g. 7 taps x 3 channels = 21 bytes for a 7x7 RGB stem), copied
// at once; taps left/right of the image and rows above/below are filled with the zero point.
// A pure copy: trivially exact.
#include <immintrin.h>

#include "kernels/im2col_u8.h"

namespace qrt::kernels {
namespace avx512 {
namespace {

__attribute__((always_inline)) inline __mmask64 tail_mask(size_t n) {  // n in [1, 64]
  return n >= 64 ? ~__mmask64(0) : (__mmask64(1) << n) - 1;
}

__attribute__((always_inline)) inline void copy_run(uint8_t* dst, const uint8_t* src, size_t n) {
  for (; n > 64; n -= 64, dst += 64, src += 64)
    _mm512_storeu_si512(dst, _mm512_loadu_si512(src));
  if (n) {
    const __mmask64 m = tail_mask(n);
    _mm512_mask_storeu_epi8(dst, m, _mm512_maskz_loadu_epi8(m, src));
  }
}

__attribute__((always_inline)) inline void fill_run(uint8_t* dst, __m512i v, size_t n) {
  for (; n > 64; n -= 64, dst += 64) _mm512_storeu_si512(dst, v);
  if (n) _mm512_mask_storeu_epi8(dst, tail_mask(n), v);
}

void im2col_generic(const Im2ColU8Params& p, const uint8_t* x, uint8_t* out, size_t ldo,
                    size_t p_begin, size_t p_end) {
  const __m512i zp = _mm512_set1_epi8(static_cast<char>(p.zero_point));
  const size_t Cg = p.Cg;
  const bool contiguous = Cg == p.C_total && p.dilation_w == 1;
  const ptrdiff_t H = static_cast<ptrdiff_t>(p.H), W = static_cast<ptrdiff_t>(p.W);
  const ptrdiff_t KW = static_cast<ptrdiff_t>(p.KW);
  for (size_t pix = p_begin; pix < p_end; ++pix) {
    const size_t oh = pix / p.OW, ow = pix % p.OW;
    uint8_t* dst = out + (pix - p_begin) * ldo;
    const ptrdiff_t iw0 = static_cast<ptrdiff_t>(ow * p.stride_w) - static_cast<ptrdiff_t>(p.pad_left);
    for (size_t kh = 0; kh < p.KH; ++kh, dst += p.KW * Cg) {
      const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                           static_cast<ptrdiff_t>(p.pad_top);
      if (ih < 0 || ih >= H) {
        fill_run(dst, zp, p.KW * Cg);
        continue;
      }
      const uint8_t* xrow = x + static_cast<size_t>(ih) * p.W * p.C_total + p.c_begin;
      if (contiguous) {
        // Taps kw in [kw0, kw1) lie inside the image: iw0 + kw in [0, W).
        const ptrdiff_t kw0 = iw0 < 0 ? (-iw0 < KW ? -iw0 : KW) : 0;
        ptrdiff_t kw1 = W - iw0;
        kw1 = kw1 < kw0 ? kw0 : (kw1 > KW ? KW : kw1);
        if (kw0 > 0) fill_run(dst, zp, static_cast<size_t>(kw0) * Cg);
        if (kw1 > kw0)
          copy_run(dst + kw0 * Cg, xrow + static_cast<size_t>(iw0 + kw0) * Cg,
                   static_cast<size_t>(kw1 - kw0) * Cg);
        if (kw1 < KW) fill_run(dst + kw1 * Cg, zp, static_cast<size_t>(KW - kw1) * Cg);
        continue;
      }
      for (size_t kw = 0; kw < p.KW; ++kw) {
        const ptrdiff_t iw = iw0 + static_cast<ptrdiff_t>(kw * p.dilation_w);
        if (iw >= 0 && iw < W) copy_run(dst + kw * Cg, xrow + static_cast<size_t>(iw) * p.C_total, Cg);
        else fill_run(dst + kw * Cg, zp, Cg);
      }
    }
  }
}


// Small-tap fast path (Cg == C_total, dilation_w == 1, KW * Cg <= 128, KH <= 16: e.g. a 3x3 or 7x7
// RGB stem, u8 or f32 as 4-byte channels): per output row, the pixels whose window lies
// horizontally inside the image copy each kernel row with one or two masked 64-byte loads/stores
// of KW * Cg bytes (masks computed once), from row pointers computed once per output row (null = a
// padding row, filled with the zero point). Pixels with a horizontally padded tap use the generic
// code.
// One kernel row of n = n1 + n2 bytes (n1 <= 64; n2 = 0 unless TWO).
template <bool TWO>
__attribute__((always_inline)) inline void copy_krow(uint8_t* dst, const uint8_t* src, __mmask64 m1,
                                                     __mmask64 m2) {
  _mm512_mask_storeu_epi8(dst, m1, _mm512_maskz_loadu_epi8(m1, src));
  if constexpr (TWO) _mm512_mask_storeu_epi8(dst + 64, m2, _mm512_maskz_loadu_epi8(m2, src + 64));
}
template <bool TWO>
__attribute__((always_inline)) inline void fill_krow(uint8_t* dst, __m512i zp, __mmask64 m1, __mmask64 m2) {
  _mm512_mask_storeu_epi8(dst, m1, zp);
  if constexpr (TWO) _mm512_mask_storeu_epi8(dst + 64, m2, zp);
}

template <bool TWO>
void im2col_small(const Im2ColU8Params& p, const uint8_t* x, uint8_t* out, size_t ldo, size_t p_begin,
                  size_t p_end) {
  const size_t n = p.KW * p.Cg;
  const __mmask64 m1 = tail_mask(n < 64 ? n : 64), m2 = TWO ? tail_mask(n - 64) : 0;
  const __m512i zp = _mm512_set1_epi8(static_cast<char>(p.zero_point));
  const size_t C = p.C_total, sw = p.stride_w;
  // Interior output columns: ow * sw >= pad_left and ow * sw - pad_left + KW <= W.
  const size_t ow_lo = (p.pad_left + sw - 1) / sw;
  const size_t ow_hi = p.W + p.pad_left >= p.KW ? (p.W + p.pad_left - p.KW) / sw + 1 : 0;
  for (size_t pix = p_begin; pix < p_end;) {
    const size_t oh = pix / p.OW, ow_first = pix % p.OW;
    const size_t row_end = pix - ow_first + p.OW < p_end ? pix - ow_first + p.OW : p_end;
    const size_t ow_last = ow_first + (row_end - pix);  // exclusive
    const size_t a = ow_first > ow_lo ? ow_first : ow_lo;
    const size_t b = ow_last < ow_hi ? ow_last : ow_hi;
    if (a >= b) {
      im2col_generic(p, x, out + (pix - p_begin) * ldo, ldo, pix, row_end);
      pix = row_end;
      continue;
    }
    if (a > ow_first) im2col_generic(p, x, out + (pix - p_begin) * ldo, ldo, pix, pix + (a - ow_first));
    const uint8_t* rows[16];
    for (size_t kh = 0; kh < p.KH; ++kh) {
      const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                           static_cast<ptrdiff_t>(p.pad_top);
      rows[kh] = ih >= 0 && ih < static_cast<ptrdiff_t>(p.H)
                     ? x + static_cast<size_t>(ih) * p.W * C + p.c_begin
                     : nullptr;
    }
    uint8_t* dst = out + (pix + (a - ow_first) - p_begin) * ldo;
    const size_t src0 = (a * sw - p.pad_left) * C, step = sw * C;
    if (p.KH == 3 && rows[0] && rows[1] && rows[2]) {
      const uint8_t *r0 = rows[0] + src0, *r1 = rows[1] + src0, *r2 = rows[2] + src0;
      for (size_t ow = a; ow < b; ++ow, dst += ldo, r0 += step, r1 += step, r2 += step) {
        copy_krow<TWO>(dst, r0, m1, m2);
        copy_krow<TWO>(dst + n, r1, m1, m2);
        copy_krow<TWO>(dst + 2 * n, r2, m1, m2);
      }
    } else {
      for (size_t ow = a; ow < b; ++ow, dst += ldo) {
        const size_t off = src0 + (ow - a) * step;
        for (size_t kh = 0; kh < p.KH; ++kh) {
          if (rows[kh]) copy_krow<TWO>(dst + kh * n, rows[kh] + off, m1, m2);
          else fill_krow<TWO>(dst + kh * n, zp, m1, m2);
        }
      }
    }
    if (b < ow_last)
      im2col_generic(p, x, out + (pix + (b - ow_first) - p_begin) * ldo, ldo, pix + (b - ow_first), row_end);
    pix = row_end;
  }
}

void im2col(const Im2ColU8Params& p, const uint8_t* x, uint8_t* out, size_t ldo, size_t p_begin,
            size_t p_end) {
  const size_t n = p.KW * p.Cg;
  if (!(p.Cg == p.C_total && p.dilation_w == 1 && n <= 128 && n > 0 && p.KH <= 16))
    im2col_generic(p, x, out, ldo, p_begin, p_end);
  else if (n <= 64)
    im2col_small<false>(p, x, out, ldo, p_begin, p_end);
  else
    im2col_small<true>(p, x, out, ldo, p_begin, p_end);
}

}  // namespace
}  // namespace avx512

extern const Im2ColU8Kernel im2col_u8_avx512 = {"im2col_u8_avx512", cpu::Isa::kAvx512, avx512::im2col};

}  // namespace qrt::kernels
