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

void im2col(const Im2ColU8Params& p, const uint8_t* x, uint8_t* out, size_t ldo, size_t p_begin,
            size_t p_end) {
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

}  // namespace
}  // namespace avx512

extern const Im2ColU8Kernel im2col_u8_avx512 = {"im2col_u8_avx512", cpu::Isa::kAvx512, avx512::im2col};

}  // namespace qrt::kernels
