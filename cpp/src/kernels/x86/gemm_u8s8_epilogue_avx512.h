// Internal: the gemm_u8s8 epilogue on 16 int32 columns (zmm), for files built with AVX-512 flags.
// Exactly the reference arithmetic: acc + (bias - a_zp * colsum) in int32 (wrap-around), then
// cvtdq2ps, mulps, [maxps, minps, cvtps2dq (MXCSR nearest-even = nearbyint), + out_zp] or
// [addps bias_f32]. Masked loads/stores keep every access inside [0, n_end).
// Internal linkage only (anonymous namespace): each ISA file gets its own copy (ODR).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/gemm_u8s8.h"

namespace qrt::kernels {
namespace {

// Epilogue parameters copied out of the GemmU8S8Epilogue into registers once per tile: stores to
// C (uint8_t*) may alias anything, so reading ep fields after a store would force reloads.
struct Epi16 {
  bool requant;
  const int32_t* bias;
  const float *scale, *bias_f32;
  __m512i a_zp, out_zp;
  __m512 lo, hi;
  __m512i qmin8;  // qmin in every byte (the packed requant epilogue's lower clamp)
  __m512i qmax8;  // qmax in every byte
  int clamp;      // (qmin > 0) | (qmax < 255) << 1: the byte clamps a saturating epilogue needs
};

__attribute__((always_inline)) inline Epi16 make_epi16(const GemmU8S8Epilogue& ep) {
  Epi16 e;
  e.requant = ep.kind == GemmU8S8Epilogue::Kind::kRequantU8;
  e.bias = ep.bias;
  e.scale = ep.scale;
  e.bias_f32 = ep.bias_f32;
  e.a_zp = _mm512_set1_epi32(ep.a_zero_point);
  e.out_zp = _mm512_set1_epi32(ep.out_zero_point);
  e.lo = _mm512_set1_ps(static_cast<float>(ep.qmin - ep.out_zero_point));
  e.hi = _mm512_set1_ps(static_cast<float>(ep.qmax - ep.out_zero_point));
  e.qmin8 = _mm512_set1_epi8(static_cast<char>(ep.qmin));
  e.qmax8 = _mm512_set1_epi8(static_cast<char>(ep.qmax));
  e.clamp = (ep.qmin > 0 ? 1 : 0) | (ep.qmax < 255 ? 2 : 0);
  return e;
}

struct ColVec16 {
  __m512i off;     // bias - a_zp * colsum
  __m512 sc, bf;   // scale, bias_f32
  __mmask16 mask;  // columns < n_end
};

// Column parameters for columns [n, n+16) (n < n_end); colsum16 points at colsum[n] (padded).
__attribute__((always_inline)) inline ColVec16 col_vec16(const Epi16& e, const int32_t* colsum16,
                                                         size_t n, size_t n_end) {
  ColVec16 cv;
  const size_t cnt = n_end - n;
  cv.mask = cnt >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cnt) - 1);
  const __m512i zs = _mm512_mullo_epi32(e.a_zp, _mm512_loadu_si512(colsum16));
  const __m512i b = e.bias ? _mm512_maskz_loadu_epi32(cv.mask, e.bias + n) : _mm512_setzero_si512();
  cv.off = _mm512_sub_epi32(b, zs);
  cv.sc = _mm512_maskz_loadu_ps(cv.mask, e.scale + n);
  cv.bf = e.bias_f32 ? _mm512_maskz_loadu_ps(cv.mask, e.bias_f32 + n) : _mm512_setzero_ps();
  return cv;
}

// Stores one row's 16 columns; c_row is row m of C (element 0), n the first column.
__attribute__((always_inline)) inline void store_row16(const Epi16& e, const ColVec16& cv,
                                                       __m512i acc, void* c_row, size_t n) {
  const __m512 p = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc, cv.off)), cv.sc);
  if (e.requant) {
    const __m512 r = _mm512_min_ps(_mm512_max_ps(p, e.lo), e.hi);
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(r), e.out_zp);
    _mm_mask_storeu_epi8(static_cast<uint8_t*>(c_row) + n, cv.mask, _mm512_cvtepi32_epi8(q));
  } else {
    const __m512 o = e.bias_f32 ? _mm512_add_ps(p, cv.bf) : p;
    _mm512_mask_storeu_ps(static_cast<float*>(c_row) + n, cv.mask, o);
  }
}

// Requant of one row's 32 columns (int32 v0 = columns n..n+15, v1 = n+16..n+31, the column
// offsets already added) with one masked 32-byte store at c_row + n (mask32: columns < n_end).
// Per vector cvtdq2ps, mulps, minps(qmax - zp), cvtps2dq; then packssdw, vpaddsw zp, packuswb,
// vpmaxub qmin and a vpermd that undoes the packs' lane interleave. Equal to store_row16's
// max/min/round/+zp: the bounds are integers, so round(min(r, hi)) = min(round(r), hi); values
// >= lo pass the packs exactly (|.| <= 510), values < lo give round(r) <= lo, which every saturating
// step keeps <= qmin, and vpmaxub lifts them to qmin. min before the conversion keeps cvtps2dq from
// overflowing to INT32_MIN for huge positive r. (As requant_panel in gemm_u8s8_avx512vnni.cc.)
__attribute__((always_inline)) inline void requant_row32(const Epi16& e, __m512 sc0, __m512 sc1,
                                                         __m512i zp16, __m512i v0, __m512i v1,
                                                         uint8_t* c_row, size_t n, __mmask32 mask32) {
  const __m512i perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i q0 = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v0), sc0), e.hi));
  const __m512i q1 = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v1), sc1), e.hi));
  const __m512i w = _mm512_adds_epi16(_mm512_packs_epi32(q0, q1), zp16);
  const __m512i b8 = _mm512_max_epu8(_mm512_packus_epi16(w, w), e.qmin8);
  _mm256_mask_storeu_epi8(c_row + n, mask32, _mm512_castsi512_si256(_mm512_permutexvar_epi32(perm, b8)));
}

}  // namespace
}  // namespace qrt::kernels
