// Internal: the body of the AVX-512 dwconv_u8s8 kernels (included by dwconv_u8s8_avx512.cc and
// dwconv_u8s8_avx512vnni.cc, each with its own ISA flags). The includer defines
//   QRT_DW_NS                  the namespace for this copy (internal linkage inside it)
//   QRT_DW_MADD_ADD(acc, x, w) acc + (x.lo16 * w.lo16 + x.hi16 * w.hi16) per dword:
//                              vpaddd(acc, vpmaddwd(x, w)), or vpdpwssd(acc, x, w) with VNNI
//                              (the same exact int32 arithmetic: products of int16 are exact, the
//                              adds wrap modulo 2^32; vpdpwssd does not saturate).
// See dwconv_u8s8_avx512.cc for the packed layout and the exactness argument.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "kernels/dwconv_u8s8.h"

namespace qrt::kernels {
namespace QRT_DW_NS {
namespace {

constexpr size_t kC = 16;
size_t cpad(size_t C) { return (C + kC - 1) / kC * kC; }

size_t packed_size(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/) { return (KH * KW + 1) * cpad(C) * 4; }

void pack(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/, const int8_t* w, void* packed) {
  pack_dwords_with_sums(KH * KW, C, cpad(C), w, packed);
}

struct Ctx {
  const DwConvU8S8Params* p;
  const int32_t* w;  // packed taps
  const int32_t* wsum;
  size_t cp;
  __m512i zp, ozp;
  __m512 lo, hi;
};

__attribute__((always_inline)) inline __mmask16 vmask(size_t C, size_t c) {
  const size_t cnt = C - c;
  return cnt >= kC ? __mmask16(0xFFFF) : __mmask16((1u << cnt) - 1);
}

// Output pixel (oh, ow), channels [c0, c0 + 16*NV) (the last vector masked at C).
// x_org: x at (ih0, iw0) = top-left tap of the window (may lie outside the image when !interior).
// 16 channels of x (u8) zero-extended to dwords; only the last vector of a block with a C tail
// (TAIL) uses a masked load, the others a plain vpmovzxbd from memory (one fused uop less).
template <bool MASKED>
__attribute__((always_inline)) inline __m512i load_x16(__mmask16 m, const uint8_t* xp) {
  if constexpr (MASKED) return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, xp));
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xp)));
}

template <int NV, bool TAIL>
__attribute__((always_inline)) inline void pixel(const Ctx& k, const uint8_t* x, ptrdiff_t ih0,
                                                 ptrdiff_t iw0, bool interior, const __m512i* base,
                                                 size_t c0, uint8_t* yp) {
  const DwConvU8S8Params& p = *k.p;
  const size_t C = p.C;
  __mmask16 m[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) m[v] = vmask(C, c0 + 16 * v);
  __m512i acc[NV];
  if (interior) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[v] = base[v];
    const uint8_t* xr = x + (static_cast<size_t>(ih0) * p.W + static_cast<size_t>(iw0)) * C + c0;
    const int32_t* wt = k.w + c0;
    for (size_t kh = 0; kh < p.KH; ++kh, xr += p.dilation_h * p.W * C) {
      const uint8_t* xp = xr;
      for (size_t kw = 0; kw < p.KW; ++kw, xp += p.dilation_w * C, wt += k.cp) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          const __m512i xv = (TAIL && v == NV - 1 ? load_x16<true>(m[v], xp + 16 * v) : load_x16<false>(m[v], xp + 16 * v));
          acc[v] = QRT_DW_MADD_ADD(acc[v], xv, _mm512_load_si512(wt + 16 * v));
        }
      }
    }
  } else {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[v] = p.bias ? _mm512_maskz_loadu_epi32(m[v], p.bias + c0 + 16 * v) : _mm512_setzero_si512();
    const ptrdiff_t H = static_cast<ptrdiff_t>(p.H), W = static_cast<ptrdiff_t>(p.W);
    for (size_t kh = 0; kh < p.KH; ++kh) {
      const ptrdiff_t ih = ih0 + static_cast<ptrdiff_t>(kh * p.dilation_h);
      if (ih < 0 || ih >= H) continue;
      for (size_t kw = 0; kw < p.KW; ++kw) {
        const ptrdiff_t iw = iw0 + static_cast<ptrdiff_t>(kw * p.dilation_w);
        if (iw < 0 || iw >= W) continue;
        const uint8_t* xp = x + (static_cast<size_t>(ih) * p.W + static_cast<size_t>(iw)) * C + c0;
        const int32_t* wt = k.w + (kh * p.KW + kw) * k.cp + c0;
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          const __m512i xv =
              _mm512_sub_epi32((TAIL && v == NV - 1 ? load_x16<true>(m[v], xp + 16 * v) : load_x16<false>(m[v], xp + 16 * v)), k.zp);
          acc[v] = _mm512_add_epi32(acc[v], _mm512_mullo_epi32(xv, _mm512_load_si512(wt + 16 * v)));
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[v]), _mm512_maskz_loadu_ps(m[v], p.scale + c0 + 16 * v));
    r = _mm512_min_ps(_mm512_max_ps(r, k.lo), k.hi);
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(r), k.ozp);
    _mm_mask_storeu_epi8(yp + c0 + 16 * v, m[v], _mm512_cvtepi32_epi8(q));
  }
}

template <int NV, bool TAIL>
void row_block(const Ctx& k, const uint8_t* x, uint8_t* y, size_t oh, size_t c0) {
  const DwConvU8S8Params& p = *k.p;
  __m512i base[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {  // bias - in_zp * wsum, for interior pixels
    const __mmask16 m = vmask(p.C, c0 + 16 * v);
    const __m512i b = p.bias ? _mm512_maskz_loadu_epi32(m, p.bias + c0 + 16 * v) : _mm512_setzero_si512();
    base[v] = _mm512_sub_epi32(b, _mm512_mullo_epi32(k.zp, _mm512_load_si512(k.wsum + c0 + 16 * v)));
  }
  const ptrdiff_t ih0 = static_cast<ptrdiff_t>(oh * p.stride_h) - static_cast<ptrdiff_t>(p.pad_top);
  const bool rows_in = ih0 >= 0 && ih0 + static_cast<ptrdiff_t>((p.KH - 1) * p.dilation_h) <
                                        static_cast<ptrdiff_t>(p.H);
  const ptrdiff_t span_w = static_cast<ptrdiff_t>((p.KW - 1) * p.dilation_w);
  uint8_t* yr = y + oh * p.OW * p.C;
  for (size_t ow = 0; ow < p.OW; ++ow) {
    const ptrdiff_t iw0 = static_cast<ptrdiff_t>(ow * p.stride_w) - static_cast<ptrdiff_t>(p.pad_left);
    const bool interior = rows_in && iw0 >= 0 && iw0 + span_w < static_cast<ptrdiff_t>(p.W);
    pixel<NV, TAIL>(k, x, ih0, iw0, interior, base, c0, yr + ow * p.C);
  }
}

void run(const DwConvU8S8Params& p, const uint8_t* x, const void* packed, uint8_t* y,
         size_t oh_begin, size_t oh_end) {
  Ctx k;
  k.p = &p;
  k.cp = cpad(p.C);
  k.w = static_cast<const int32_t*>(packed);
  k.wsum = k.w + p.KH * p.KW * k.cp;
  k.zp = _mm512_set1_epi32(p.in_zero_point);
  k.ozp = _mm512_set1_epi32(p.out_zero_point);
  k.lo = _mm512_set1_ps(static_cast<float>(p.qmin - p.out_zero_point));
  k.hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.out_zero_point));
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    for (size_t c0 = 0; c0 < p.C; c0 += 64) {
      const bool tail = p.C - c0 < 64 && (p.C - c0) % 16 != 0;
      switch ((p.C - c0 + 15) / 16 * 2 + tail) {
        case 2: row_block<1, false>(k, x, y, oh, c0); break;
        case 3: row_block<1, true>(k, x, y, oh, c0); break;
        case 4: row_block<2, false>(k, x, y, oh, c0); break;
        case 5: row_block<2, true>(k, x, y, oh, c0); break;
        case 6: row_block<3, false>(k, x, y, oh, c0); break;
        case 7: row_block<3, true>(k, x, y, oh, c0); break;
        // 49-63 channels left: the 4th vector is a tail and must load masked (it used to take
        // the full-block case and read up to 15 bytes past the last pixel).
        case 9: row_block<4, true>(k, x, y, oh, c0); break;
        default: row_block<4, false>(k, x, y, oh, c0); break;  // a whole 64-channel block
      }
    }
  }
}

}  // namespace
}  // namespace QRT_DW_NS

}  // namespace qrt::kernels
