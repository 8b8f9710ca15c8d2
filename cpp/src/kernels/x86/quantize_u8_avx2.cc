// quantize_u8 for AVX2: 8 floats per step; the tail uses vmaskmovps loads (masked-off lanes
// read as +0 and never fault) and a small stack buffer for the stores. Same operation-by-
// operation argument as the AVX-512 file: minps/maxps with the accumulator second, divps,
// maxps/minps with v first, cvtps2dq (nearest-even).
#include <immintrin.h>

#include <cstring>

#include "kernels/quantize_u8.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

inline __m256i tail_mask(size_t r) {  // r in 1..7 lanes enabled
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

bool minmax(const float* x, size_t n, float* lo, float* hi) {
  __m256 l = _mm256_setzero_ps(), h = _mm256_setzero_ps();
  const __m256i expmask = _mm256_set1_epi32(0x7F800000);
  __m256i bad = _mm256_setzero_si256();
  auto step = [&](__m256 v) {
    l = _mm256_min_ps(v, l);
    h = _mm256_max_ps(v, h);
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), expmask), expmask));
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) step(_mm256_loadu_ps(x + i));
  if (i < n) step(_mm256_maskload_ps(x + i, tail_mask(n - i)));
  alignas(32) float ls[8], hs[8];
  _mm256_store_ps(ls, l);
  _mm256_store_ps(hs, h);
  float lr = 0.0f, hr = 0.0f;
  for (int j = 0; j < 8; ++j) {
    if (ls[j] < lr) lr = ls[j];
    if (hs[j] > hr) hr = hs[j];
  }
  *lo = lr;
  *hi = hr;
  return _mm256_testz_si256(bad, bad) != 0;
}

inline __m128i quant8(__m256 v, __m256 scale, __m256 lo, __m256 hi, __m256i zp) {
  v = _mm256_div_ps(v, scale);
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);  // in [0, 255]: packs exact
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  return _mm_packus_epi16(w, w);
}

void quantize(const float* x, size_t n, float scale, int32_t zero_point, uint8_t* q) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(-zero_point));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(255 - zero_point));
  const __m256i zp = _mm256_set1_epi32(zero_point);
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), quant8(_mm256_loadu_ps(x + i), s, lo, hi, zp));
  if (i < n) {
    alignas(16) uint8_t t[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(t),
                    quant8(_mm256_maskload_ps(x + i, tail_mask(n - i)), s, lo, hi, zp));
    std::memcpy(q + i, t, n - i);
  }
}

// (x - shift) * mul (subps then mulps: two roundings, as the Sub and Mul kernels), then quant8.
void quantize_affine(const float* x, size_t n, const float* shift, const float* mul, float scale,
                     int32_t zero_point, uint8_t* q) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(-zero_point));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(255 - zero_point));
  const __m256i zp = _mm256_set1_epi32(zero_point);
  auto affine = [&](__m256 u, size_t i, __m256i m, bool tail) {
    if (shift) u = _mm256_sub_ps(u, tail ? _mm256_maskload_ps(shift + i, m) : _mm256_loadu_ps(shift + i));
    if (mul) u = _mm256_mul_ps(u, tail ? _mm256_maskload_ps(mul + i, m) : _mm256_loadu_ps(mul + i));
    return quant8(u, s, lo, hi, zp);
  };
  size_t i = 0;
  const __m256i all = _mm256_set1_epi32(-1);
  for (; i + 8 <= n; i += 8)
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), affine(_mm256_loadu_ps(x + i), i, all, false));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    alignas(16) uint8_t t[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(t), affine(_mm256_maskload_ps(x + i, m), i, m, true));
    std::memcpy(q + i, t, n - i);
  }
}

}  // namespace
}  // namespace avx2

extern const QuantizeU8Kernel quantize_f32u8_avx2 = {"quantize_f32u8_avx2", cpu::Isa::kAvx2,
                                                     avx2::minmax, avx2::quantize,
                                                   avx2::quantize_affine};

}  // namespace qrt::kernels
