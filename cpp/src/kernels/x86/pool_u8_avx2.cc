// pool_u8 for AVX2. Max pool: 32 channels per vpmaxub (exact). Average pools: 8 channels per
// ymm of int32 sums (vpmovzxbd, vpsubd zero point, vpaddd: exact), then cvtdq2ps, divps by the
// window's divisor, mulps, maxps/minps, cvtps2dq - the reference's operations one for one.
// Channel tails go through stack buffers (no access outside x / y).
#include <immintrin.h>

#include <cstring>

#include "kernels/pool_u8.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

inline __m256i load_u8x32(const uint8_t* s, size_t cnt) {
  if (cnt == 32) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
  alignas(32) uint8_t t[32] = {0};
  std::memcpy(t, s, cnt);
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(t));
}
inline __m256i load_u8x8(const uint8_t* s, size_t cnt) {
  if (cnt == 8) return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s)));
  alignas(16) uint8_t t[16] = {0};
  std::memcpy(t, s, cnt);
  return _mm256_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
}

inline void requant_store8(const PoolU8Params& p, __m256i sum, int32_t divisor, uint8_t* d, size_t cnt) {
  __m256 r = _mm256_mul_ps(_mm256_div_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(static_cast<float>(divisor))),
                           _mm256_set1_ps(p.mult));
  r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(static_cast<float>(p.qmin - p.out_zero_point))),
                    _mm256_set1_ps(static_cast<float>(p.qmax - p.out_zero_point)));
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), _mm256_set1_epi32(p.out_zero_point));
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const __m128i b = _mm_packus_epi16(w, w);
  if (cnt == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(d), b);
  } else {
    alignas(16) uint8_t t[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(t), b);
    std::memcpy(d, t, cnt);
  }
}

// Valid tap range of one window dimension: taps k in [k0, k1).
inline void tap_range(size_t o, size_t stride, size_t pad, size_t dil, size_t K, size_t in,
                      size_t* k0, size_t* k1) {
  *k0 = K, *k1 = 0;
  for (size_t k = 0; k < K; ++k) {
    const ptrdiff_t i = static_cast<ptrdiff_t>(o * stride + k * dil) - static_cast<ptrdiff_t>(pad);
    if (i >= 0 && i < static_cast<ptrdiff_t>(in)) {
      if (k < *k0) *k0 = k;
      *k1 = k + 1;
    }
  }
  if (*k0 > *k1) *k0 = *k1;
}

void max_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end) {
  const __m256i vmin = _mm256_set1_epi8(static_cast<char>(p.qmin));
  const __m256i vmax = _mm256_set1_epi8(static_cast<char>(p.qmax));
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    size_t h0, h1;
    tap_range(oh, p.stride_h, p.pad_top, p.dilation_h, p.KH, p.H, &h0, &h1);
    for (size_t ow = 0; ow < p.OW; ++ow) {
      size_t w0, w1;
      tap_range(ow, p.stride_w, p.pad_left, p.dilation_w, p.KW, p.W, &w0, &w1);
      uint8_t* d = y + (oh * p.OW + ow) * p.C;
      for (size_t c = 0; c < p.C; c += 32) {
        const size_t cnt = p.C - c < 32 ? p.C - c : 32;
        __m256i m = vmin;
        for (size_t kh = h0; kh < h1; ++kh) {
          const size_t ih = oh * p.stride_h + kh * p.dilation_h - p.pad_top;
          for (size_t kw = w0; kw < w1; ++kw) {
            const size_t iw = ow * p.stride_w + kw * p.dilation_w - p.pad_left;
            m = _mm256_max_epu8(m, load_u8x32(x + (ih * p.W + iw) * p.C + c, cnt));
          }
        }
        m = _mm256_min_epu8(m, vmax);
        if (cnt == 32) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + c), m);
        } else {
          alignas(32) uint8_t t[32];
          _mm256_store_si256(reinterpret_cast<__m256i*>(t), m);
          std::memcpy(d + c, t, cnt);
        }
      }
    }
  }
}

void avg_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end) {
  const __m256i zp = _mm256_set1_epi32(p.in_zero_point);
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    size_t h0, h1;
    tap_range(oh, p.stride_h, p.pad_top, 1, p.KH, p.H, &h0, &h1);
    for (size_t ow = 0; ow < p.OW; ++ow) {
      size_t w0, w1;
      tap_range(ow, p.stride_w, p.pad_left, 1, p.KW, p.W, &w0, &w1);
      const int32_t count = static_cast<int32_t>((h1 - h0) * (w1 - w0));
      int32_t divisor = p.count_include_pad ? static_cast<int32_t>(p.KH * p.KW) : count;
      if (divisor <= 0) divisor = 1;
      uint8_t* d = y + (oh * p.OW + ow) * p.C;
      for (size_t c = 0; c < p.C; c += 8) {
        const size_t cnt = p.C - c < 8 ? p.C - c : 8;
        __m256i s = _mm256_setzero_si256();
        for (size_t kh = h0; kh < h1; ++kh) {
          const size_t ih = oh * p.stride_h + kh - p.pad_top;
          for (size_t kw = w0; kw < w1; ++kw) {
            const size_t iw = ow * p.stride_w + kw - p.pad_left;
            s = _mm256_add_epi32(s, _mm256_sub_epi32(load_u8x8(x + (ih * p.W + iw) * p.C + c, cnt), zp));
          }
        }
        requant_store8(p, s, divisor, d + c, cnt);
      }
    }
  }
}

void global_avg_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y) {
  const __m256i zp = _mm256_set1_epi32(p.in_zero_point);
  const size_t hw = p.H * p.W;
  for (size_t c = 0; c < p.C; c += 8) {
    const size_t cnt = p.C - c < 8 ? p.C - c : 8;
    __m256i s = _mm256_setzero_si256();
    for (size_t i = 0; i < hw; ++i) s = _mm256_add_epi32(s, _mm256_sub_epi32(load_u8x8(x + i * p.C + c, cnt), zp));
    requant_store8(p, s, static_cast<int32_t>(hw ? hw : 1), y + c, cnt);
  }
}

}  // namespace
}  // namespace avx2

extern const PoolU8Kernel pool_u8_avx2 = {"pool_u8_avx2", cpu::Isa::kAvx2, avx2::max_pool,
                                          avx2::avg_pool, avx2::global_avg_pool};

}  // namespace qrt::kernels
