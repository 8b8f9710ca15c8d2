// qelementwise_u8 add / mul for AVX-512 (F + BW + VL), 16 elements per zmm, two per step:
// vpmovzxbd, vpsubd (zero points), [vpmulld for mul: |product| <= 65025, exact], cvtdq2ps (exact:
// |value| < 2^24), mulps, [addps for add], maxps/minps with r first, cvtps2dq (nearest-even), +
// out_zp, vpmovdb (q is in [qmin, qmax] after the clamp, so the truncation is exact) - the
// reference's operations one for one. Tails use byte-masked loads and stores (no access past n).
// In place (y == a or b) is fine: each step reads its inputs before writing its outputs.
#include <immintrin.h>

#include "kernels/qelementwise_u8.h"

namespace qrt::kernels {
namespace avx512 {
namespace {

struct Consts {
  __m512i azp, bzp, ozp;
  __m512 lo, hi;
};

inline Consts consts(const QElementwiseU8Params& p) {
  return {_mm512_set1_epi32(p.a_zero_point), _mm512_set1_epi32(p.b_zero_point),
          _mm512_set1_epi32(p.out_zero_point),
          _mm512_set1_ps(static_cast<float>(p.qmin - p.out_zero_point)),
          _mm512_set1_ps(static_cast<float>(p.qmax - p.out_zero_point))};
}

inline __mmask16 mask_for(size_t cnt) {
  return cnt >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cnt) - 1);
}

inline __m512i load16(const uint8_t* s, __mmask16 m) {
  return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, s));
}

inline void store16(uint8_t* d, __m512 r, const Consts& k, __mmask16 m) {
  r = _mm512_min_ps(_mm512_max_ps(r, k.lo), k.hi);
  const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(r), k.ozp);  // in [qmin, qmax]
  _mm_mask_storeu_epi8(d, m, _mm512_cvtepi32_epi8(q));
}

void add(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
         uint8_t* y, size_t n) {
  const Consts k = consts(p);
  const __m512 am = _mm512_set1_ps(p.a_mult), bm = _mm512_set1_ps(p.b_mult);
  const __m512 vb_scalar = _mm512_mul_ps(
      _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_set1_epi32(b_scalar && n ? b[0] : 0), k.bzp)), bm);
  auto one = [&](size_t i, __mmask16 m) {
    const __m512 va = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(load16(a + i, m), k.azp)), am);
    const __m512 vb = b_scalar
        ? vb_scalar
        : _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(load16(b + i, m), k.bzp)), bm);
    store16(y + i, _mm512_add_ps(va, vb), k, m);
  };
  size_t i = 0;
  for (; i + 32 <= n; i += 32) one(i, 0xFFFF), one(i + 16, 0xFFFF);
  for (; i < n; i += 16) one(i, mask_for(n - i));
}

void mul(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
         uint8_t* y, size_t n) {
  const Consts k = consts(p);
  const __m512 mv = _mm512_set1_ps(p.mult);
  const __m512i ib_scalar = _mm512_sub_epi32(_mm512_set1_epi32(b_scalar && n ? b[0] : 0), k.bzp);
  auto one = [&](size_t i, __mmask16 m) {
    const __m512i ia = _mm512_sub_epi32(load16(a + i, m), k.azp);
    const __m512i ib = b_scalar ? ib_scalar : _mm512_sub_epi32(load16(b + i, m), k.bzp);
    store16(y + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_mullo_epi32(ia, ib)), mv), k, m);
  };
  size_t i = 0;
  for (; i + 32 <= n; i += 32) one(i, 0xFFFF), one(i + 16, 0xFFFF);
  for (; i < n; i += 16) one(i, mask_for(n - i));
}

}  // namespace
}  // namespace avx512

extern const QElementwiseU8Kernel qelementwise_u8_avx512 = {
    "qelementwise_u8_avx512", cpu::Isa::kAvx512, avx512::add, avx512::mul};

}  // namespace qrt::kernels
