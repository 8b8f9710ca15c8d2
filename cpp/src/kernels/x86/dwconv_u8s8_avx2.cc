// dwconv_u8s8 for AVX2: up to 32 channels (4 ymm accumulators of 8 dwords) per output pixel and
// pass; the arithmetic of the AVX-512 variant (dwconv_u8s8_avx512.cc has the exactness argument).
// Packed weights: int32 [KH*KW][round_up(C, 8)] (each weight sign-extended to a dword, zero beyond
// C), then int32 wsum[round_up(C, 8)] = sum of the channel's weights over all taps.
//   * interior pixels: acc = (bias - in_zp*wsum) + sum x*w, the first term once per channel block
//     and row; x zero-extended to dwords (vpmovzxbd from memory), vpmaddwd with the dword weight
//     gives x*w exactly (high int16 of x is 0);
//   * border pixels: acc = bias + sum over the valid taps of (x - in_zp)*w with vpmulld (exact
//     modulo 2^32); padded taps are skipped.
// AVX2 has no byte masks: the last vector of a block with a C tail loads its x bytes and stores
// its y bytes through 8-byte stack copies, and bias/scale through vpmaskmovd; nothing outside a
// pixel's C bytes is read or written.
// Neighbouring interior pixels go in pairs (pixel_pair), sharing each weight load.
// The previous AVX2 kernel (one pixel and 8 channels per step, bias and scale copied per pixel,
// a bounds test per tap) ran 4-8x slower than ONNX Runtime's depthwise kernels.
#include <immintrin.h>

#include <cstring>

#include "kernels/dwconv_u8s8.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

constexpr size_t kC = 8;
size_t cpad(size_t C) { return (C + kC - 1) / kC * kC; }

size_t packed_size(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/) {
  return (KH * KW + 1) * cpad(C) * 4;
}

void pack(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/, const int8_t* w, void* packed) {
  pack_dwords_with_sums(KH * KW, C, cpad(C), w, packed);
}

struct Ctx {
  const DwConvU8S8Params* p;
  const int32_t* w;  // packed taps
  const int32_t* wsum;
  size_t cp;
  __m256i zp, ozp;
  __m256 lo, hi;
};

// Lanes [0, C - c) of a dword mask (all lanes when 8 or more channels are left).
__attribute__((always_inline)) inline __m256i lane_mask(size_t C, size_t c) {
  const int cnt = C - c >= kC ? 8 : static_cast<int>(C - c);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// 8 channels of x (u8) zero-extended to dwords; a TAIL vector copies only its `cnt` bytes.
template <bool TAIL>
__attribute__((always_inline)) inline __m256i load_x8(const uint8_t* xp, size_t cnt) {
  if constexpr (TAIL) {
    uint64_t t = 0;
    std::memcpy(&t, xp, cnt);
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(t)));
  }
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xp)));
}

// f(x at the tap, packed weights of the tap) over an interior window's taps, (kh, kw) order.
template <class F>
__attribute__((always_inline)) inline void interior_taps(const Ctx& k, const uint8_t* x, ptrdiff_t ih0,
                                                         ptrdiff_t iw0, size_t c0, F&& f) {
  const DwConvU8S8Params& p = *k.p;
  const uint8_t* xr = x + (static_cast<size_t>(ih0) * p.W + static_cast<size_t>(iw0)) * p.C + c0;
  const int32_t* wt = k.w + c0;
  for (size_t kh = 0; kh < p.KH; ++kh, xr += p.dilation_h * p.W * p.C) {
    const uint8_t* xp = xr;
    for (size_t kw = 0; kw < p.KW; ++kw, xp += p.dilation_w * p.C, wt += k.cp) f(xp, wt);
  }
}

// Requantizes 8 accumulators to u8 at o (a tail vector stores only its `cnt` bytes).
__attribute__((always_inline)) inline void store_u8x8(const Ctx& k, __m256i acc, __m256 scale, uint8_t* o,
                                                      bool tail, size_t cnt) {
  __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale);
  r = _mm256_min_ps(_mm256_max_ps(r, k.lo), k.hi);
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), k.ozp);
  // q is in [0, 255]: the saturating packs are exact.
  const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const __m128i b = _mm_packus_epi16(w16, w16);
  if (tail) {
    const uint64_t t = static_cast<uint64_t>(_mm_cvtsi128_si64(b));
    std::memcpy(o, &t, cnt);
  } else {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(o), b);
  }
}

template <int NV, bool TAIL>
__attribute__((always_inline)) inline void pixel(const Ctx& k, const uint8_t* x, ptrdiff_t ih0,
                                                 ptrdiff_t iw0, bool interior, const __m256i* base,
                                                 const __m256i* bias, const __m256* scale,
                                                 size_t c0, size_t tail_cnt, uint8_t* yp) {
  const DwConvU8S8Params& p = *k.p;
  const size_t C = p.C;
  __m256i acc[NV];
  if (interior) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[v] = base[v];
    interior_taps(k, x, ih0, iw0, c0, [&](const uint8_t* xp, const int32_t* wt) __attribute__((always_inline)) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const __m256i xv = TAIL && v == NV - 1 ? load_x8<true>(xp + 8 * v, tail_cnt)
                                               : load_x8<false>(xp + 8 * v, 8);
        acc[v] = _mm256_add_epi32(
            acc[v], _mm256_madd_epi16(xv, _mm256_load_si256(reinterpret_cast<const __m256i*>(wt + 8 * v))));
      }
    });
  } else {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[v] = bias[v];
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
          const __m256i xv = _mm256_sub_epi32(
              TAIL && v == NV - 1 ? load_x8<true>(xp + 8 * v, tail_cnt) : load_x8<false>(xp + 8 * v, 8), k.zp);
          acc[v] = _mm256_add_epi32(
              acc[v], _mm256_mullo_epi32(xv, _mm256_load_si256(reinterpret_cast<const __m256i*>(wt + 8 * v))));
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) store_u8x8(k, acc[v], scale[v], yp + c0 + 8 * v, TAIL && v == NV - 1, tail_cnt);
}

// Two interior pixels, the second `step` bytes further on in x and p.C further on in y: each
// weight vector is loaded once for both (one pixel alone needs two loads per vpmaddwd, and the
// loads, not the multiplies, set its pace). The sums are the ones `pixel` computes.
template <int NV, bool TAIL>
__attribute__((always_inline)) inline void pixel_pair(const Ctx& k, const uint8_t* x, ptrdiff_t ih0,
                                                      ptrdiff_t iw0, size_t step, const __m256i* base,
                                                      const __m256* scale, size_t c0, size_t tail_cnt,
                                                      uint8_t* yp) {
  const DwConvU8S8Params& p = *k.p;
  const size_t C = p.C;
  __m256i a0[NV], a1[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) a0[v] = a1[v] = base[v];
  interior_taps(k, x, ih0, iw0, c0, [&](const uint8_t* xp, const int32_t* wt) __attribute__((always_inline)) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const bool t = TAIL && v == NV - 1;
      const __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(wt + 8 * v));
      const __m256i x0 = t ? load_x8<true>(xp + 8 * v, tail_cnt) : load_x8<false>(xp + 8 * v, 8);
      const __m256i x1 = t ? load_x8<true>(xp + step + 8 * v, tail_cnt) : load_x8<false>(xp + step + 8 * v, 8);
      a0[v] = _mm256_add_epi32(a0[v], _mm256_madd_epi16(x0, wv));
      a1[v] = _mm256_add_epi32(a1[v], _mm256_madd_epi16(x1, wv));
    }
  });
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    store_u8x8(k, a0[v], scale[v], yp + c0 + 8 * v, TAIL && v == NV - 1, tail_cnt);
    store_u8x8(k, a1[v], scale[v], yp + C + c0 + 8 * v, TAIL && v == NV - 1, tail_cnt);
  }
}

template <int NV, bool TAIL>
void row_block(const Ctx& k, const uint8_t* x, uint8_t* y, size_t oh, size_t c0) {
  const DwConvU8S8Params& p = *k.p;
  __m256i base[NV], bias[NV];
  __m256 scale[NV];
  const size_t tail_cnt = (p.C - c0) - 8 * (NV - 1);  // channels in the last vector (TAIL only)
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {  // bias - in_zp * wsum, for interior pixels
    const __m256i m = lane_mask(p.C, c0 + 8 * v);
    bias[v] = p.bias ? _mm256_maskload_epi32(p.bias + c0 + 8 * v, m) : _mm256_setzero_si256();
    scale[v] = _mm256_maskload_ps(p.scale + c0 + 8 * v, m);
    base[v] = _mm256_sub_epi32(
        bias[v], _mm256_mullo_epi32(k.zp, _mm256_load_si256(reinterpret_cast<const __m256i*>(k.wsum + c0 + 8 * v))));
  }
  const ptrdiff_t ih0 = static_cast<ptrdiff_t>(oh * p.stride_h) - static_cast<ptrdiff_t>(p.pad_top);
  const bool rows_in = ih0 >= 0 && ih0 + static_cast<ptrdiff_t>((p.KH - 1) * p.dilation_h) <
                                        static_cast<ptrdiff_t>(p.H);
  const ptrdiff_t span_w = static_cast<ptrdiff_t>((p.KW - 1) * p.dilation_w);
  uint8_t* yr = y + oh * p.OW * p.C;
  const size_t step = p.stride_w * p.C;
  for (size_t ow = 0; ow < p.OW; ++ow) {
    const ptrdiff_t iw0 = static_cast<ptrdiff_t>(ow * p.stride_w) - static_cast<ptrdiff_t>(p.pad_left);
    const bool interior = rows_in && iw0 >= 0 && iw0 + span_w < static_cast<ptrdiff_t>(p.W);
    // The next pixel is interior too when its window ends inside the row.
    if (interior && ow + 1 < p.OW &&
        iw0 + static_cast<ptrdiff_t>(p.stride_w) + span_w < static_cast<ptrdiff_t>(p.W)) {
      pixel_pair<NV, TAIL>(k, x, ih0, iw0, step, base, scale, c0, tail_cnt, yr + ow * p.C);
      ++ow;
      continue;
    }
    pixel<NV, TAIL>(k, x, ih0, iw0, interior, base, bias, scale, c0, tail_cnt, yr + ow * p.C);
  }
}

void run(const DwConvU8S8Params& p, const uint8_t* x, const void* packed, uint8_t* y,
         size_t oh_begin, size_t oh_end) {
  Ctx k;
  k.p = &p;
  k.cp = cpad(p.C);
  k.w = static_cast<const int32_t*>(packed);
  k.wsum = k.w + p.KH * p.KW * k.cp;
  k.zp = _mm256_set1_epi32(p.in_zero_point);
  k.ozp = _mm256_set1_epi32(p.out_zero_point);
  k.lo = _mm256_set1_ps(static_cast<float>(p.qmin - p.out_zero_point));
  k.hi = _mm256_set1_ps(static_cast<float>(p.qmax - p.out_zero_point));
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    for (size_t c0 = 0; c0 < p.C; c0 += 32) {
      const size_t left = p.C - c0;
      const bool tail = left < 32 && left % 8 != 0;
      switch ((left >= 32 ? 4 : (left + 7) / 8) * 2 + tail) {
        case 2: row_block<1, false>(k, x, y, oh, c0); break;
        case 3: row_block<1, true>(k, x, y, oh, c0); break;
        case 4: row_block<2, false>(k, x, y, oh, c0); break;
        case 5: row_block<2, true>(k, x, y, oh, c0); break;
        case 6: row_block<3, false>(k, x, y, oh, c0); break;
        case 7: row_block<3, true>(k, x, y, oh, c0); break;
        case 9: row_block<4, true>(k, x, y, oh, c0); break;
        default: row_block<4, false>(k, x, y, oh, c0); break;  // 32 channels
      }
    }
  }
}

}  // namespace
}  // namespace avx2

extern const DwConvU8S8Kernel dwconv_u8s8_c32_avx2 = {"dwconv_u8s8_c32_avx2", cpu::Isa::kAvx2,
                                                     avx2::packed_size, avx2::pack, avx2::run};

}  // namespace qrt::kernels
