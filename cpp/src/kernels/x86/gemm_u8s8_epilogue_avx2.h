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

// The epilogue's per-call constants, read once: C is written through uint8_t*, which may alias
// the epilogue struct, so reading ep's fields per row reloads them after every store.
struct EpiConst8 {
  bool requant, has_bf;
  __m256 lo, hi;
  __m256i ozp;
};

__attribute__((always_inline)) inline EpiConst8 epi_const8(const GemmU8S8Epilogue& ep) {
  EpiConst8 e;
  e.requant = ep.kind == GemmU8S8Epilogue::Kind::kRequantU8;
  e.has_bf = ep.bias_f32 != nullptr;
  e.lo = _mm256_set1_ps(static_cast<float>(ep.qmin - ep.out_zero_point));
  e.hi = _mm256_set1_ps(static_cast<float>(ep.qmax - ep.out_zero_point));
  e.ozp = _mm256_set1_epi32(ep.out_zero_point);
  return e;
}

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
  const __m256i cs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(colsum8));  // padded array
  const __m256i zs = _mm256_mullo_epi32(_mm256_set1_epi32(ep.a_zero_point), cs);
  __m256i bi;
  if (cv.cnt == 8) {  // whole vectors: no staging
    bi = ep.bias ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ep.bias + n)) : _mm256_setzero_si256();
    cv.sc = _mm256_loadu_ps(ep.scale + n);
    cv.bf = ep.bias_f32 ? _mm256_loadu_ps(ep.bias_f32 + n) : _mm256_setzero_ps();
  } else {
    alignas(32) int32_t b8[8];
    alignas(32) float sc[8], bf[8];
    if (ep.bias) load8(ep.bias + n, cv.cnt, b8); else std::memset(b8, 0, sizeof(b8));
    load8(ep.scale + n, cv.cnt, sc);
    if (ep.bias_f32) load8(ep.bias_f32 + n, cv.cnt, bf); else std::memset(bf, 0, sizeof(bf));
    bi = _mm256_load_si256(reinterpret_cast<const __m256i*>(b8));
    cv.sc = _mm256_load_ps(sc);
    cv.bf = _mm256_load_ps(bf);
  }
  cv.off = _mm256_sub_epi32(bi, zs);
  return cv;
}

__attribute__((always_inline)) inline void store_row8(const EpiConst8& e, const ColVec8& cv,
                                                      __m256i acc, void* c_row, size_t n) {
  const __m256 p = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc, cv.off)), cv.sc);
  if (e.requant) {
    const __m256 r = _mm256_min_ps(_mm256_max_ps(p, e.lo), e.hi);
    const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), e.ozp);
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
    const __m256 o = e.has_bf ? _mm256_add_ps(p, cv.bf) : p;
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

__attribute__((always_inline)) inline void store_row8(const GemmU8S8Epilogue& ep,
                                                      const ColVec8& cv, __m256i acc,
                                                      void* c_row, size_t n) {
  store_row8(epi_const8(ep), cv, acc, c_row, n);
}

// Two vpmaddwd partial-sum vectors of 4 columns each (the widened c4 layout), [c0 c0' c1 c1' ..]
// and [c4 c4' ..], folded to [c0 .. c7]: vphaddd gives [c0 c1 c4 c5 | c2 c3 c6 c7], vpermq
// reorders. (The AVX2 GEMM's and Winograd's int16 products.)
__attribute__((always_inline)) inline __m256i fold4(__m256i lo, __m256i hi) {
  return _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), 0xD8);
}

}  // namespace
}  // namespace qrt::kernels
