// AVX-512 fused attention block: the adapter for attention_f32_simd.inc (16 lanes; panels of 4
// vectors = 64 query rows or 64 value columns; micro-tiles of 24 accumulators).
#include <immintrin.h>

#include <cmath>

#include "kernels/attention_f32.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qrt::kernels::attention_avx512 {
namespace {

constexpr size_t kW = 16;
constexpr int kNv = 4;
// Rows per micro-tile: 24 accumulators (of 32 zmm) with nv vectors per row.
constexpr int mr_for(int nv) { return nv <= 2 ? 12 : nv == 3 ? 8 : 6; }
using V = __m512;
using Mk = __mmask16;

inline V set1(float a) { return _mm512_set1_ps(a); }
inline V zero() { return _mm512_setzero_ps(); }
inline V load(const float* p) { return _mm512_loadu_ps(p); }
inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V bcast(const float* p) { return _mm512_set1_ps(*p); }
inline Mk mask_n(size_t n) { return static_cast<Mk>(n >= 16 ? 0xffffu : (1u << n) - 1u); }
inline V load_m(const float* p, Mk m) { return _mm512_maskz_loadu_ps(m, p); }
inline void store_m(float* p, V v, Mk m) { _mm512_mask_storeu_ps(p, m, v); }
inline V add(V a, V b) { return _mm512_add_ps(a, b); }
inline V sub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V div(V a, V b) { return _mm512_div_ps(a, b); }
inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
inline Mk lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline V sel(Mk m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }
inline V round_even(V a) {
  return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline V pow2i(V n) {
  __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
  return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
}

#include "kernels/x86/transpose_tile_avx512.inc"
#include "kernels/attention_f32_simd.inc"

}  // namespace

extern const AttentionF32Kernel attention_f32_avx512 = {"attention_f32_avx512", cpu::Isa::kAvx512,
                                                        attention_block};

}  // namespace qrt::kernels::attention_avx512
