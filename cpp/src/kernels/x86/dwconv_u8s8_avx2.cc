// dwconv_u8s8 for AVX2: 8 channels per ymm, one output pixel at a time. Same exact arithmetic as
// the AVX-512 variant (x - zp in the low int16 of a dword, weights packed as dwords with a zero
// high half, vpmaddwd = exact product, padded taps skipped). C tails go through stack buffers,
// so nothing outside x / y / bias / scale is touched.
// Packed weights: int32 [KH*KW][round_up(C, 8)] (zero beyond C).
#include <immintrin.h>

#include <cstring>

#include "kernels/dwconv_u8s8.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

constexpr size_t kC = 8;
size_t cpad(size_t C) { return (C + kC - 1) / kC * kC; }

size_t packed_size(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/) { return KH * KW * cpad(C) * 4; }

void pack(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/, const int8_t* w, void* packed) {
  uint32_t* p = static_cast<uint32_t*>(packed);
  const size_t cp = cpad(C);
  std::memset(p, 0, packed_size(KH, KW, C, 1));
  for (size_t t = 0; t < KH * KW; ++t)
    for (size_t c = 0; c < C; ++c)
      p[t * cp + c] = static_cast<uint16_t>(static_cast<int16_t>(w[t * C + c]));
}

void run(const DwConvU8S8Params& p, const uint8_t* x, const void* packed, uint8_t* y,
         size_t oh_begin, size_t oh_end) {
  const int32_t* w = static_cast<const int32_t*>(packed);
  const size_t cp = cpad(p.C);
  const __m256i zp = _mm256_set1_epi32(p.in_zero_point);
  const __m256i ozp = _mm256_set1_epi32(p.out_zero_point);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(p.qmin - p.out_zero_point));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(p.qmax - p.out_zero_point));
  const ptrdiff_t H = static_cast<ptrdiff_t>(p.H), W = static_cast<ptrdiff_t>(p.W);
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    for (size_t ow = 0; ow < p.OW; ++ow) {
      uint8_t* yp = y + (oh * p.OW + ow) * p.C;
      for (size_t c = 0; c < p.C; c += kC) {
        const size_t cnt = p.C - c < kC ? p.C - c : kC;
        alignas(32) int32_t bias[8] = {0};
        alignas(32) float scale[8] = {0};
        if (p.bias) std::memcpy(bias, p.bias + c, cnt * 4);
        std::memcpy(scale, p.scale + c, cnt * 4);
        __m256i acc = _mm256_load_si256(reinterpret_cast<const __m256i*>(bias));
        for (size_t kh = 0; kh < p.KH; ++kh) {
          const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                               static_cast<ptrdiff_t>(p.pad_top);
          if (ih < 0 || ih >= H) continue;
          for (size_t kw = 0; kw < p.KW; ++kw) {
            const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * p.stride_w + kw * p.dilation_w) -
                                 static_cast<ptrdiff_t>(p.pad_left);
            if (iw < 0 || iw >= W) continue;
            const uint8_t* xp = x + (static_cast<size_t>(ih) * p.W + static_cast<size_t>(iw)) * p.C + c;
            __m128i x8;
            if (cnt == kC) {
              x8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(xp));
            } else {
              alignas(16) uint8_t t[16] = {0};
              std::memcpy(t, xp, cnt);
              x8 = _mm_load_si128(reinterpret_cast<const __m128i*>(t));
            }
            const __m256i xv = _mm256_sub_epi32(_mm256_cvtepu8_epi32(x8), zp);
            const __m256i wv =
                _mm256_load_si256(reinterpret_cast<const __m256i*>(w + (kh * p.KW + kw) * cp + c));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xv, wv));
          }
        }
        __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_load_ps(scale));
        r = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
        const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), ozp);
        const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        const __m128i b = _mm_packus_epi16(w16, w16);
        if (cnt == kC) {
          _mm_storel_epi64(reinterpret_cast<__m128i*>(yp + c), b);
        } else {
          alignas(16) uint8_t t[16];
          _mm_store_si128(reinterpret_cast<__m128i*>(t), b);
          std::memcpy(yp + c, t, cnt);
        }
      }
    }
  }
}

}  // namespace
}  // namespace avx2

extern const DwConvU8S8Kernel dwconv_u8s8_c8_avx2 = {"dwconv_u8s8_c8_avx2", cpu::Isa::kAvx2,
                                                     avx2::packed_size, avx2::pack, avx2::run};

}  // namespace qrt::kernels
