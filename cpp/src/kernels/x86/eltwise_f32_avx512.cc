// AVX-512 elementwise row kernels: the adapter for eltwise_f32_simd.inc (16 lanes, opmask tails).
#include <immintrin.h>

#include "kernels/eltwise_f32.h"

namespace qrt::kernels::eltwise_avx512 {
namespace {

constexpr size_t kW = 16;
using V = __m512;

inline __mmask16 first_n(size_t n) { return static_cast<__mmask16>(n >= 16 ? 0xffffu : (1u << n) - 1u); }
inline V set1(float a) { return _mm512_set1_ps(a); }
inline V load(const float* p) { return _mm512_loadu_ps(p); }
inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V load_n(const float* p, size_t n) { return _mm512_maskz_loadu_ps(first_n(n), p); }
inline void store_n(float* p, V v, size_t n) { _mm512_mask_storeu_ps(p, first_n(n), v); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }

#include "kernels/x86/transpose_tile_avx512.inc"
#include "kernels/eltwise_f32_simd.inc"

void widen_f16(const uint16_t* h, float* y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
  if (i < n) {
    const __mmask16 m = first_n(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h + i)));
  }
}

}  // namespace

extern const EltwiseF32Kernels eltwise_f32_avx512 = {
    "eltwise_f32_avx512", cpu::Isa::kAvx512, {binary<0>, binary<1>, binary<2>, binary<3>},
    transpose32, widen_f16};

}  // namespace qrt::kernels::eltwise_avx512
