// qelementwise_u8 add / mul for AVX2, 8 elements per step: vpmovzxbd, vpsubd (zero points),
// [vpmulld for mul: |product| <= 65025, exact], cvtdq2ps (exact: |value| < 2^24), mulps,
// [addps for add], maxps/minps with r first, cvtps2dq (nearest-even) - the reference's operations
// one for one. Tails go through stack buffers (no access past n). In place (y == a or b) is fine:
// each step reads its 8 inputs before writing its 8 outputs.
#include <immintrin.h>

#include <cstring>

#include "kernels/qelementwise_u8.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

struct Consts {
  __m256i azp, bzp, ozp;
  __m256 lo, hi;
};

inline Consts consts(const QElementwiseU8Params& p) {
  return {_mm256_set1_epi32(p.a_zero_point), _mm256_set1_epi32(p.b_zero_point),
          _mm256_set1_epi32(p.out_zero_point),
          _mm256_set1_ps(static_cast<float>(p.qmin - p.out_zero_point)),
          _mm256_set1_ps(static_cast<float>(p.qmax - p.out_zero_point))};
}

inline __m256i load8(const uint8_t* s, size_t cnt) {
  if (cnt == 8) return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s)));
  alignas(16) uint8_t t[16] = {0};
  std::memcpy(t, s, cnt);
  return _mm256_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
}

inline void store8(uint8_t* d, __m256 r, const Consts& k, size_t cnt) {
  r = _mm256_min_ps(_mm256_max_ps(r, k.lo), k.hi);
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(r), k.ozp);  // in [0, 255]
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const __m128i b = _mm_packus_epi16(w, w);
  if (cnt == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(d), b);
  } else {
    alignas(16) uint8_t t[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(t), b);
    std::memcpy(d, t, cnt);
  }
}

void add(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
         uint8_t* y, size_t n) {
  const Consts k = consts(p);
  const __m256 am = _mm256_set1_ps(p.a_mult), bm = _mm256_set1_ps(p.b_mult);
  const __m256 vb_scalar = _mm256_mul_ps(
      _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_set1_epi32(b_scalar && n ? b[0] : 0), k.bzp)), bm);
  for (size_t i = 0; i < n; i += 8) {
    const size_t cnt = n - i < 8 ? n - i : 8;
    const __m256 va = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(load8(a + i, cnt), k.azp)), am);
    const __m256 vb = b_scalar
        ? vb_scalar
        : _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(load8(b + i, cnt), k.bzp)), bm);
    store8(y + i, _mm256_add_ps(va, vb), k, cnt);
  }
}

void mul(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
         uint8_t* y, size_t n) {
  const Consts k = consts(p);
  const __m256 m = _mm256_set1_ps(p.mult);
  const __m256i ib_scalar = _mm256_sub_epi32(_mm256_set1_epi32(b_scalar && n ? b[0] : 0), k.bzp);
  for (size_t i = 0; i < n; i += 8) {
    const size_t cnt = n - i < 8 ? n - i : 8;
    const __m256i ia = _mm256_sub_epi32(load8(a + i, cnt), k.azp);
    const __m256i ib = b_scalar ? ib_scalar : _mm256_sub_epi32(load8(b + i, cnt), k.bzp);
    store8(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_mullo_epi32(ia, ib)), m), k, cnt);
  }
}

}  // namespace
}  // namespace avx2

extern const QElementwiseU8Kernel qelementwise_u8_avx2 = {"qelementwise_u8_avx2", cpu::Isa::kAvx2,
                                                          avx2::add, avx2::mul};

}  // namespace qrt::kernels
