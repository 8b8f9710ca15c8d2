// quantize_u8 for AVX-512: 16 floats per step, masked loads/stores for the tail (no over-read).
// minmax keeps per-lane lo/hi with minps(x, lo) / maxps(x, hi): the accumulator is the second
// operand, so equal values (+-0) and NaN keep it, exactly the reference's strict comparisons;
// lanes start at +0, so the cross-lane reduction is order-independent. Non-finite values are
// flagged by their all-ones exponent. quantize: the reference's operations one for one (divps,
// maxps/minps with v first, cvtps2dq nearest-even), except that the quotient is first taken as
// x * (1/scale) and divps runs only for vectors where that could round differently (fast_div
// below: divps was ~1 cycle per element, the whole cost of quantizing).
// GCC 12 warns falsely inside the intrinsic headers (_mm512_undefined_*; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/quantize_u8.h"

namespace qrt::kernels {
namespace avx512 {
namespace {

bool minmax(const float* x, size_t n, float* lo, float* hi) {
  __m512 l = _mm512_setzero_ps(), h = _mm512_setzero_ps();
  const __m512i expmask = _mm512_set1_epi32(0x7F800000);
  __mmask16 bad = 0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    l = _mm512_min_ps(v, l);
    h = _mm512_max_ps(v, h);
    bad |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(v), expmask), expmask);
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);  // masked-off lanes are +0: no effect
    l = _mm512_min_ps(v, l);
    h = _mm512_max_ps(v, h);
    bad |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(v), expmask), expmask);
  }
  alignas(64) float ls[16], hs[16];
  _mm512_store_ps(ls, l);
  _mm512_store_ps(hs, h);
  float lr = 0.0f, hr = 0.0f;
  for (int j = 0; j < 16; ++j) {
    if (ls[j] < lr) lr = ls[j];
    if (hs[j] > hr) hr = hs[j];
  }
  *lo = lr;
  *hi = hr;
  return bad == 0;
}

// x / scale where only its rounding to an integer (and the clamps at integers) matter. With
// r = RN(1/scale), v0 = RN(x r) is within 2^-23 |x/scale| (+ nothing for normal r): for
// |x/scale| <= 512 that is 2^-14, so nearbyint(v0) == nearbyint(x/scale) unless x/scale lies
// within 2^-14 of a half-integer; lanes whose v0 is within 2^-12 of one take the IEEE division.
// Beyond 512 both quotients clamp to the same bound (they agree in sign and exceed 255). NaN and
// Inf quotients never look ambiguous (t is NaN) and clamp as before. Valid for scales whose
// reciprocal is normal and finite: quantize() falls back to division for every lane otherwise.
inline __m512 fast_div(__m512 x, __m512 scale, __m512 recip) {
  __m512 v = _mm512_mul_ps(x, recip);
  const __m512 t = _mm512_sub_ps(v, _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const __mmask16 amb = _mm512_cmp_ps_mask(_mm512_abs_ps(t), _mm512_set1_ps(0.5f - 0x1p-12f), _CMP_GE_OQ);
  if (__builtin_expect(amb != 0, 0)) v = _mm512_mask_div_ps(v, amb, x, scale);
  return v;
}

template <bool kFast>
inline __m128i quant16(__m512 v, __m512 scale, __m512 recip, __m512 lo, __m512 hi, __m512i zp) {
  v = kFast ? fast_div(v, scale, recip) : _mm512_div_ps(v, scale);
  v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
  return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), zp));
}

template <bool kFast>
void quantize_impl(const float* x, size_t n, float scale, int32_t zero_point, uint8_t* q) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 r = _mm512_set1_ps(1.0f / scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(-zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(255 - zero_point));
  const __m512i zp = _mm512_set1_epi32(zero_point);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i),
                     quant16<kFast>(_mm512_loadu_ps(x + i), s, r, lo, hi, zp));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm_mask_storeu_epi8(q + i, m, quant16<kFast>(_mm512_maskz_loadu_ps(m, x + i), s, r, lo, hi, zp));
  }
}

// 1/scale normal and finite, with room: scales in [2^-120, 2^120].
inline bool fast_scale(float scale) { return scale >= 0x1p-120f && scale <= 0x1p120f; }

void quantize(const float* x, size_t n, float scale, int32_t zero_point, uint8_t* q) {
  if (fast_scale(scale)) {
    quantize_impl<true>(x, n, scale, zero_point, q);
  } else {
    quantize_impl<false>(x, n, scale, zero_point, q);
  }
}

// (x - shift) * mul (subps then mulps: two roundings, as the Sub and Mul kernels), then quant16.
template <bool kFast, bool kShift, bool kMul>
void affine_impl(const float* x, size_t n, const float* shift, const float* mul, float scale,
                 int32_t zero_point, uint8_t* q) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 r = _mm512_set1_ps(1.0f / scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(-zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(255 - zero_point));
  const __m512i zp = _mm512_set1_epi32(zero_point);
  auto step = [&](size_t i, __mmask16 m) {
    __m512 u = _mm512_maskz_loadu_ps(m, x + i);
    if (kShift) u = _mm512_sub_ps(u, _mm512_maskz_loadu_ps(m, shift + i));
    if (kMul) u = _mm512_mul_ps(u, _mm512_maskz_loadu_ps(m, mul + i));
    return quant16<kFast>(u, s, r, lo, hi, zp);
  };
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), step(i, 0xffff));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm_mask_storeu_epi8(q + i, m, step(i, m));
  }
}

template <bool kFast>
void affine_dispatch(const float* x, size_t n, const float* shift, const float* mul, float scale,
                     int32_t zero_point, uint8_t* q) {
  if (shift && mul) affine_impl<kFast, true, true>(x, n, shift, mul, scale, zero_point, q);
  else if (shift) affine_impl<kFast, true, false>(x, n, shift, mul, scale, zero_point, q);
  else if (mul) affine_impl<kFast, false, true>(x, n, shift, mul, scale, zero_point, q);
  else affine_impl<kFast, false, false>(x, n, shift, mul, scale, zero_point, q);
}

void quantize_affine(const float* x, size_t n, const float* shift, const float* mul, float scale,
                     int32_t zero_point, uint8_t* q) {
  if (fast_scale(scale)) {
    affine_dispatch<true>(x, n, shift, mul, scale, zero_point, q);
  } else {
    affine_dispatch<false>(x, n, shift, mul, scale, zero_point, q);
  }
}

}  // namespace
}  // namespace avx512

extern const QuantizeU8Kernel quantize_f32u8_avx512 = {"quantize_f32u8_avx512", cpu::Isa::kAvx512,
                                                       avx512::minmax, avx512::quantize,
                                                       avx512::quantize_affine};

}  // namespace qrt::kernels
