// AVX2 + FMA fused attention block: the adapter for attention_f32_simd.inc (8 lanes; panels of 2
// vectors; micro-tiles of 12 accumulators of the 16 ymm registers).
#include <immintrin.h>

#include <cmath>

#include "kernels/attention_f32.h"

namespace qrt::kernels::attention_avx2 {
namespace {

constexpr size_t kW = 8;
constexpr int kNv = 2;
// Rows per micro-tile: 12 accumulators (of 16 ymm) with nv vectors per row.
constexpr int mr_for(int nv) { return nv <= 1 ? 12 : 6; }
using V = __m256;
using Mk = __m256i;

inline V set1(float a) { return _mm256_set1_ps(a); }
inline V zero() { return _mm256_setzero_ps(); }
inline V load(const float* p) { return _mm256_loadu_ps(p); }
inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V bcast(const float* p) { return _mm256_broadcast_ss(p); }
inline Mk mask_n(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline V load_m(const float* p, Mk m) { return _mm256_maskload_ps(p, m); }
inline void store_m(float* p, V v, Mk m) { _mm256_maskstore_ps(p, m, v); }
inline V add(V a, V b) { return _mm256_add_ps(a, b); }
inline V sub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V div(V a, V b) { return _mm256_div_ps(a, b); }
inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
inline V lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline V sel(V m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
inline V round_even(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline V pow2i(V n) {
  __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}

#include "kernels/x86/transpose_tile_avx2.inc"
#include "kernels/attention_f32_simd.inc"

}  // namespace

extern const AttentionF32Kernel attention_f32_avx2 = {"attention_f32_avx2", cpu::Isa::kAvx2,
                                                      attention_block};

}  // namespace qrt::kernels::attention_avx2
