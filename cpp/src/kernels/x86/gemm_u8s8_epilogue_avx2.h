// Internal: the gemm_u8s8 epilogue on 8 int32 columns (ymm), for files built with AVX2 flags.
// Same arithmetic as the reference (see gemm_u8s8_epilogue_avx512.h); partial vectors go through
// a small stack buffer so that no access leaves [0, n_end). Internal linkage only (ODR).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/gemm_u8s8.h"

namespace qrt::kernels {
namespace {

struct ColVec8 {
  __m256i off;
  __m256 sc, bf;
  size_t cnt;  // valid columns, 1..8
};

template <typename T>
__attribute__((always_inline)) inline void load8(const T* p, size_t cnt, T* out) {
  std::memset(out, 0, 8 * sizeof(T));
  std::memcpy(out, p, (cnt < 8 ? cnt : 8) * sizeof(T));
}

__attribute__((always_inline)) inline ColVec8 col_vec8(const GemmU8S8Epilogue& ep,
                                                       const int32_t* colsum8, size_t n,
                                                       size_t n_end) {
  ColVec8 cv;
  cv.cnt = n_end - n < 8 ? n_end - n : 8;
  alignas(32) int32_t bi[8];
  alignas(32) float sc[8], bf[8];
  if (ep.bias) load8(ep.bias + n, cv.cnt, bi); else std::memset(bi, 0, sizeof(bi));
  load8(ep.scale + n, cv.cnt, sc);
  if (ep.bias_f32) load8(ep.bias_f32 + n, cv.cnt, bf); else std::memset(bf, 0, sizeof(bf));
  const __m256i zs = _mm256_mullo_epi32(_mm256_set1_epi32(ep.a_zero_point),
                                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(colsum8)));
  cv.off = _mm256_sub_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(bi)), zs);
  cv.sc = _mm256_load_ps(sc);
  cv.bf = _mm256_load_ps(bf);
  return cv;
}

__attribute__((always_inline)) inline void store_row8(const GemmU8S8Epilogue& ep,
                                                      const ColVec8& cv, __m256i acc,
                                                      void* c_row, size_t n) {
  const __m256 p = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc, cv.off)), cv.sc);
  if (ep.kind == GemmU8S8Epilogue::Kind::kRequantU8) {
    const __m256 lo = _mm256_set1_ps(static_cast<float>(ep.qmin - ep.out_zero_point));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(ep.qmax - ep.out_zero_point));
    const __m256 r = _mm256_min_ps(_mm256_max_ps(p, lo), hi);
    const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), _mm256_set1_epi32(ep.out_zero_point));
    // q is in [0, 255]: the saturating packs are exact.
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    const __m128i b = _mm_packus_epi16(w, w);
    uint8_t* c = static_cast<uint8_t*>(c_row) + n;
    if (cv.cnt == 8) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(c), b);
    } else {
      alignas(16) uint8_t t[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(t), b);
      std::memcpy(c, t, cv.cnt);
    }
  } else {
    const __m256 o = ep.bias_f32 ? _mm256_add_ps(p, cv.bf) : p;
    float* c = static_cast<float*>(c_row) + n;
    if (cv.cnt == 8) {
      _mm256_storeu_ps(c, o);
    } else {
      alignas(32) float t[8];
      _mm256_store_ps(t, o);
      std::memcpy(c, t, cv.cnt * 4);
    }
  }
}

}  // namespace
}  // namespace qrt::kernels
