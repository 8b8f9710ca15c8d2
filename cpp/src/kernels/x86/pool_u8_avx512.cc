// pool_u8 for AVX-512 (F + BW + VL). Max pool: 64 channels per vpmaxub zmm (exact). Average pools:
// 16 channels per zmm of int32 sums (vpmovzxbd, vpsubd zero point, vpaddd: exact), then cvtdq2ps,
// divps by the window's divisor, mulps, maxps/minps, cvtps2dq, + out_zp, vpmovdb (q is in
// [qmin, qmax] after the clamp, so the truncation is exact) - the reference's operations one for
// one. Channel tails use byte-masked loads and stores (no access outside x / y).
#include <immintrin.h>

#include <cstddef>

#include "kernels/pool_u8.h"

namespace qrt::kernels {
namespace avx512 {
namespace {

inline __mmask64 mask64(size_t cnt) { return cnt >= 64 ? ~__mmask64(0) : (__mmask64(1) << cnt) - 1; }
inline __mmask16 mask16(size_t cnt) { return cnt >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cnt) - 1); }

inline __m512i load_u8x16(const uint8_t* s, __mmask16 m) {
  return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, s));
}

inline void requant_store16(const PoolU8Params& p, __m512i sum, int32_t divisor, uint8_t* d,
                            __mmask16 m) {
  __m512 r = _mm512_mul_ps(_mm512_div_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(static_cast<float>(divisor))),
                           _mm512_set1_ps(p.mult));
  r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(static_cast<float>(p.qmin - p.out_zero_point))),
                    _mm512_set1_ps(static_cast<float>(p.qmax - p.out_zero_point)));
  const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(r), _mm512_set1_epi32(p.out_zero_point));
  _mm_mask_storeu_epi8(d, m, _mm512_cvtepi32_epi8(q));
}

// Valid tap range of one window dimension: taps k in [k0, k1).
inline void tap_range(size_t o, size_t stride, size_t pad, size_t dil, size_t K, size_t in,
                      size_t* k0, size_t* k1) {
  *k0 = K, *k1 = 0;
  for (size_t k = 0; k < K; ++k) {
    const ptrdiff_t i = static_cast<ptrdiff_t>(o * stride + k * dil) - static_cast<ptrdiff_t>(pad);
    if (i >= 0 && i < static_cast<ptrdiff_t>(in)) {
      if (k < *k0) *k0 = k;
      *k1 = k + 1;
    }
  }
  if (*k0 > *k1) *k0 = *k1;
}

void max_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end) {
  const __m512i vmin = _mm512_set1_epi8(static_cast<char>(p.qmin));
  const __m512i vmax = _mm512_set1_epi8(static_cast<char>(p.qmax));
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    size_t h0, h1;
    tap_range(oh, p.stride_h, p.pad_top, p.dilation_h, p.KH, p.H, &h0, &h1);
    for (size_t ow = 0; ow < p.OW; ++ow) {
      size_t w0, w1;
      tap_range(ow, p.stride_w, p.pad_left, p.dilation_w, p.KW, p.W, &w0, &w1);
      uint8_t* d = y + (oh * p.OW + ow) * p.C;
      for (size_t c = 0; c < p.C; c += 64) {
        const __mmask64 m = mask64(p.C - c);
        __m512i v = vmin;
        for (size_t kh = h0; kh < h1; ++kh) {
          const size_t ih = oh * p.stride_h + kh * p.dilation_h - p.pad_top;
          for (size_t kw = w0; kw < w1; ++kw) {
            const size_t iw = ow * p.stride_w + kw * p.dilation_w - p.pad_left;
            v = _mm512_max_epu8(v, _mm512_maskz_loadu_epi8(m, x + (ih * p.W + iw) * p.C + c));
          }
        }
        _mm512_mask_storeu_epi8(d + c, m, _mm512_min_epu8(v, vmax));
      }
    }
  }
}

void avg_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end) {
  const __m512i zp = _mm512_set1_epi32(p.in_zero_point);
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    size_t h0, h1;
    tap_range(oh, p.stride_h, p.pad_top, 1, p.KH, p.H, &h0, &h1);
    for (size_t ow = 0; ow < p.OW; ++ow) {
      size_t w0, w1;
      tap_range(ow, p.stride_w, p.pad_left, 1, p.KW, p.W, &w0, &w1);
      const int32_t count = static_cast<int32_t>((h1 - h0) * (w1 - w0));
      int32_t divisor = p.count_include_pad ? static_cast<int32_t>(p.KH * p.KW) : count;
      if (divisor <= 0) divisor = 1;
      uint8_t* d = y + (oh * p.OW + ow) * p.C;
      for (size_t c = 0; c < p.C; c += 16) {
        const __mmask16 m = mask16(p.C - c);
        __m512i s = _mm512_setzero_si512();
        for (size_t kh = h0; kh < h1; ++kh) {
          const size_t ih = oh * p.stride_h + kh - p.pad_top;
          for (size_t kw = w0; kw < w1; ++kw) {
            const size_t iw = ow * p.stride_w + kw - p.pad_left;
            s = _mm512_add_epi32(s, _mm512_sub_epi32(load_u8x16(x + (ih * p.W + iw) * p.C + c, m), zp));
          }
        }
        requant_store16(p, s, divisor, d + c, m);
      }
    }
  }
}

// 64 channels per pass (four int32 accumulators), so each pixel's 64 bytes are one load.
void global_avg_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y) {
  const __m512i zp = _mm512_set1_epi32(p.in_zero_point);
  const size_t hw = p.H * p.W;
  const int32_t divisor = static_cast<int32_t>(hw ? hw : 1);
  for (size_t c = 0; c < p.C; c += 64) {
    const size_t cnt = p.C - c < 64 ? p.C - c : 64;
    const __mmask64 m = mask64(cnt);
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < hw; ++i) {
      const __m512i v = _mm512_maskz_loadu_epi8(m, x + i * p.C + c);
      s0 = _mm512_add_epi32(s0, _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 0)), zp));
      s1 = _mm512_add_epi32(s1, _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 1)), zp));
      s2 = _mm512_add_epi32(s2, _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 2)), zp));
      s3 = _mm512_add_epi32(s3, _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 3)), zp));
    }
    const __m512i s[4] = {s0, s1, s2, s3};
    for (size_t j = 0; j < 4 && 16 * j < cnt; ++j)
      requant_store16(p, s[j], divisor, y + c + 16 * j, mask16(cnt - 16 * j));
  }
}

}  // namespace
}  // namespace avx512

extern const PoolU8Kernel pool_u8_avx512 = {"pool_u8_avx512", cpu::Isa::kAvx512, avx512::max_pool,
                                            avx512::avg_pool, avx512::global_avg_pool};

}  // namespace qrt::kernels
