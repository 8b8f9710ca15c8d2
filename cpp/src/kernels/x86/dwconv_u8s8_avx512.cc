// dwconv_u8s8 for AVX-512: 16 channels per zmm, one output pixel at a time.
// Exactness: x is zero-extended to int32 and the input zero point subtracted (|x - zp| <= 255
// fits the low int16 half of each dword, the high half is 0 or 0xFFFF); weights are packed as
// dwords whose low int16 is w and high int16 is 0, so vpmaddwd computes lo(x-zp)*w + hi*0 =
// (x - zp) * w exactly in int32; padded taps are skipped (they contribute 0 by the contract).
// int32 adds wrap; the epilogue is the reference's cvtdq2ps, mulps, maxps, minps, cvtps2dq.
// Packed weights: int32 [KH*KW][round_up(C, 16)] (zero beyond C). Masked loads/stores for C tails.
// GCC 12 warns falsely inside the intrinsic headers (_mm512_undefined_*; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/dwconv_u8s8.h"

namespace qrt::kernels {
namespace avx512 {
namespace {

constexpr size_t kC = 16;
size_t cpad(size_t C) { return (C + kC - 1) / kC * kC; }

size_t packed_size(size_t KH, size_t KW, size_t C) { return KH * KW * cpad(C) * 4; }

void pack(size_t KH, size_t KW, size_t C, const int8_t* w, void* packed) {
  uint32_t* p = static_cast<uint32_t*>(packed);
  const size_t cp = cpad(C);
  std::memset(p, 0, packed_size(KH, KW, C));
  for (size_t t = 0; t < KH * KW; ++t)
    for (size_t c = 0; c < C; ++c)
      p[t * cp + c] = static_cast<uint16_t>(static_cast<int16_t>(w[t * C + c]));
}

void run(const DwConvU8S8Params& p, const uint8_t* x, const void* packed, uint8_t* y,
         size_t oh_begin, size_t oh_end) {
  const int32_t* w = static_cast<const int32_t*>(packed);
  const size_t cp = cpad(p.C);
  const __m512i zp = _mm512_set1_epi32(p.in_zero_point);
  const __m512i ozp = _mm512_set1_epi32(p.out_zero_point);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.qmin - p.out_zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.out_zero_point));
  const ptrdiff_t H = static_cast<ptrdiff_t>(p.H), W = static_cast<ptrdiff_t>(p.W);
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    for (size_t ow = 0; ow < p.OW; ++ow) {
      uint8_t* yp = y + (oh * p.OW + ow) * p.C;
      for (size_t c = 0; c < p.C; c += kC) {
        const size_t cnt = p.C - c;
        const __mmask16 m = cnt >= kC ? __mmask16(0xFFFF) : __mmask16((1u << cnt) - 1);
        __m512i acc = p.bias ? _mm512_maskz_loadu_epi32(m, p.bias + c) : _mm512_setzero_si512();
        for (size_t kh = 0; kh < p.KH; ++kh) {
          const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                               static_cast<ptrdiff_t>(p.pad_top);
          if (ih < 0 || ih >= H) continue;
          for (size_t kw = 0; kw < p.KW; ++kw) {
            const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * p.stride_w + kw * p.dilation_w) -
                                 static_cast<ptrdiff_t>(p.pad_left);
            if (iw < 0 || iw >= W) continue;
            const uint8_t* xp = x + (static_cast<size_t>(ih) * p.W + static_cast<size_t>(iw)) * p.C + c;
            const __m512i xv =
                _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, xp)), zp);
            const __m512i wv = _mm512_load_si512(w + (kh * p.KW + kw) * cp + c);
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(xv, wv));
          }
        }
        __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_maskz_loadu_ps(m, p.scale + c));
        r = _mm512_min_ps(_mm512_max_ps(r, lo), hi);
        const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(r), ozp);
        _mm_mask_storeu_epi8(yp + c, m, _mm512_cvtepi32_epi8(q));
      }
    }
  }
}

}  // namespace
}  // namespace avx512

extern const DwConvU8S8Kernel dwconv_u8s8_c16_avx512 = {"dwconv_u8s8_c16_avx512", cpu::Isa::kAvx512,
                                                        avx512::packed_size, avx512::pack,
                                                        avx512::run};

}  // namespace qrt::kernels
