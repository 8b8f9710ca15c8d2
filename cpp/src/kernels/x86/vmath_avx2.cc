// AVX2 + FMA vectorised math: the adapter for vmath_simd.inc (8 lanes, vector masks, vmaskmovps
// tails) and the exported table.
#include <immintrin.h>

#include <cmath>

#include "kernels/vmath.h"

namespace qrt::kernels::vmath_avx2 {
namespace {

constexpr size_t kW = 8;
using V = __m256;
using Mk = __m256;

inline __m256i first_n_i(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline V set1(float a) { return _mm256_set1_ps(a); }
inline V load(const float* p) { return _mm256_loadu_ps(p); }
inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V load_n(const float* p, size_t n) { return _mm256_maskload_ps(p, first_n_i(n)); }
inline void store_n(float* p, V v, size_t n) { _mm256_maskstore_ps(p, first_n_i(n), v); }
inline Mk lt_n(size_t n) { return _mm256_castsi256_ps(first_n_i(n)); }
inline V add(V a, V b) { return _mm256_add_ps(a, b); }
inline V sub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V div(V a, V b) { return _mm256_div_ps(a, b); }
inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
inline V fms(V a, V b, V c) { return _mm256_fmsub_ps(a, b, c); }
// vrcpps is only good to 1.5 * 2^-12, too coarse for one Newton step: divide (one rounding).
inline V rcp_approx(V d) { return _mm256_div_ps(_mm256_set1_ps(1.0f), d); }
inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
inline V vabs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline V vneg(V a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
inline V round_even(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline V pow2i(V n) {
  __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}
// v * 2^n for integral n in [-252, 0]: v 2^(n/2) is exact while normal, then one rounding.
inline V ldexp2(V v, V n) {
  V n1 = round_even(_mm256_mul_ps(n, _mm256_set1_ps(0.5f)));
  return _mm256_mul_ps(_mm256_mul_ps(v, pow2i(n1)), pow2i(_mm256_sub_ps(n, n1)));
}
inline Mk lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline Mk gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline Mk eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
inline Mk is_nan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
inline V sel(Mk m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
inline float hsum(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
inline float hmax(V a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

#include "kernels/vmath_simd.inc"

void vexp(const float* x, float* y, size_t n) { map_array<exp_v>(x, y, n); }
void vtanh(const float* x, float* y, size_t n) { map_array<tanh_v>(x, y, n); }
void vsigmoid(const float* x, float* y, size_t n) { map_array<sigmoid_v>(x, y, n); }
void verf(const float* x, float* y, size_t n) { map_array<erf_v>(x, y, n); }
void vgelu(const float* x, float* y, size_t n) { map_array<gelu_v>(x, y, n); }
void vgelu_tanh(const float* x, float* y, size_t n) { map_array<gelu_tanh_v>(x, y, n); }
void vsilu(const float* x, float* y, size_t n) { map_array<silu_v>(x, y, n); }
void softmax(const float* x, float* y, size_t n) { softmax_row_impl(x, y, n); }
void layernorm(const float* x, const float* g, const float* b, float eps, float* y, size_t n) {
  layernorm_row_impl(x, g, b, eps, y, n);
}

}  // namespace

extern const VMathKernels vmath_avx2 = {"vmath_avx2", cpu::Isa::kAvx2, vexp, vtanh, vsigmoid,
                                        verf, vgelu, vgelu_tanh, vsilu, softmax, layernorm};

}  // namespace qrt::kernels::vmath_avx2
