// AVX-512 vectorised math: the adapter for vmath_simd.inc (16 lanes, opmask registers for tails
// and selects) and the exported table.
#include <immintrin.h>

#include <cmath>

#include "kernels/vmath.h"

// GCC 12 reports _mm512_undefined_ps() inside several intrinsics as maybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qrt::kernels::vmath_avx512 {
namespace {

constexpr size_t kW = 16;
using V = __m512;
using Mk = __mmask16;

inline Mk first_n(size_t n) { return static_cast<Mk>(n >= 16 ? 0xffffu : (1u << n) - 1u); }
inline V set1(float a) { return _mm512_set1_ps(a); }
inline V load(const float* p) { return _mm512_loadu_ps(p); }
inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V load_n(const float* p, size_t n) { return _mm512_maskz_loadu_ps(first_n(n), p); }
inline void store_n(float* p, V v, size_t n) { _mm512_mask_storeu_ps(p, first_n(n), v); }
inline Mk lt_n(size_t n) { return first_n(n); }
inline V add(V a, V b) { return _mm512_add_ps(a, b); }
inline V sub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V div(V a, V b) { return _mm512_div_ps(a, b); }
inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
inline V fms(V a, V b, V c) { return _mm512_fmsub_ps(a, b, c); }
// rcp14 (relative error < 2^-14); callers refine it.
inline V rcp_approx(V d) { return _mm512_rcp14_ps(d); }
// v * 2^n for integral n, rounded once (gradual underflow included).
inline V ldexp2(V v, V n) { return _mm512_scalef_ps(v, n); }
inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
inline V vabs(V a) { return _mm512_abs_ps(a); }
inline V vneg(V a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
inline V round_even(V a) {
  return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline V pow2i(V n) {
  __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
  return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
}
inline Mk lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline Mk gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
inline Mk eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
inline Mk is_nan(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
inline V sel(Mk m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }
inline float hsum(V a) { return _mm512_reduce_add_ps(a); }
inline float hmax(V a) { return _mm512_reduce_max_ps(a); }

#include "kernels/vmath_simd.inc"
#include "kernels/vmath_gelu_q_table.inc"

// gelu_q (vmath.h): u = (x + 6) * 8/3 clamped to [0, 32), interval i = trunc(u), t = u - i; the
// five coefficients of interval i by two-table permutes (32 entries each), Horner with FMA.
inline V gelu_q_v(V x) {
  V u = _mm512_mul_ps(_mm512_sub_ps(x, set1(-6.0f)), set1(1.0f / 0.375f));
  u = _mm512_min_ps(set1(31.999998f), _mm512_max_ps(_mm512_setzero_ps(), u));  // NaN stays NaN
  const __m512i i = _mm512_cvttps_epi32(u);
  const V t = _mm512_sub_ps(u, _mm512_cvtepi32_ps(i));
  auto c = [&](int k) {
    return _mm512_permutex2var_ps(_mm512_load_ps(kGeluQ[k]), i, _mm512_load_ps(kGeluQ[k] + 16));
  };
  V p = c(4);
  p = _mm512_fmadd_ps(p, t, c(3));
  p = _mm512_fmadd_ps(p, t, c(2));
  p = _mm512_fmadd_ps(p, t, c(1));
  p = _mm512_fmadd_ps(p, t, c(0));
  p = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, set1(6.0f), _CMP_GE_OQ), p, x);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, set1(-6.0f), _CMP_LT_OQ), p, set1(-0.0f));
}

void vexp(const float* x, float* y, size_t n) { map_array<exp_v>(x, y, n); }
void vtanh(const float* x, float* y, size_t n) { map_array<tanh_v>(x, y, n); }
void vsigmoid(const float* x, float* y, size_t n) { map_array<sigmoid_v>(x, y, n); }
void verf(const float* x, float* y, size_t n) { map_array<erf_v>(x, y, n); }
void vgelu(const float* x, float* y, size_t n) { map_array<gelu_v>(x, y, n); }
void vgelu_tanh(const float* x, float* y, size_t n) { map_array<gelu_tanh_v>(x, y, n); }
void vgelu_q(const float* x, float* y, size_t n) { map_array<gelu_q_v>(x, y, n); }
void vsilu(const float* x, float* y, size_t n) { map_array<silu_v>(x, y, n); }
void softmax(const float* x, float* y, size_t n) { softmax_row_impl(x, y, n); }
void layernorm(const float* x, const float* g, const float* b, float eps, float* y, size_t n) {
  layernorm_row_impl(x, g, b, eps, y, n);
}

}  // namespace

extern const VMathKernels vmath_avx512 = {"vmath_avx512", cpu::Isa::kAvx512, vexp, vtanh,
                                          vsigmoid, verf, vgelu, vgelu_tanh, vsilu, softmax,
                                          layernorm, vgelu_q};

}  // namespace qrt::kernels::vmath_avx512
