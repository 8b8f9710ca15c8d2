// AVX2 elementwise row kernels: the adapter for eltwise_f32_simd.inc (8 lanes, vmaskmov tails).
#include <immintrin.h>

#include "kernels/eltwise_f32.h"

namespace qrt::kernels::eltwise_avx2 {
namespace {

constexpr size_t kW = 8;
using V = __m256;

inline __m256i first_n(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline V set1(float a) { return _mm256_set1_ps(a); }
inline V load(const float* p) { return _mm256_loadu_ps(p); }
inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V load_n(const float* p, size_t n) { return _mm256_maskload_ps(p, first_n(n)); }
inline void store_n(float* p, V v, size_t n) { _mm256_maskstore_ps(p, first_n(n), v); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }

#include "kernels/x86/transpose_tile_avx2.inc"
#include "kernels/eltwise_f32_simd.inc"

void widen_f16(const uint16_t* h, float* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  if (i < n) {  // tail through a zeroed 8-element buffer: never reads past h[n-1]
    alignas(16) uint16_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t j = 0; j < n - i; ++j) t[j] = h[i + j];
    store_n(y + i, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(t))), n - i);
  }
}

}  // namespace

extern const EltwiseF32Kernels eltwise_f32_avx2 = {
    "eltwise_f32_avx2", cpu::Isa::kAvx2, {binary<0>, binary<1>, binary<2>, binary<3>},
    transpose32, widen_f16};

}  // namespace qrt::kernels::eltwise_avx2
