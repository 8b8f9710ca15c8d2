// Internal: the c4 packer (gemm_u8s8_pack.h) for files built with AVX-512 (F + BW) flags.
// The c4 layout is a transpose of 32-bit words: word (g, j) of panel p is the 4 bytes
// B[p*nr + j][4g .. 4g+3]. So 16 rows x 16 k-groups (16 x 64 bytes) are loaded as 16 zmm, transposed
// in registers (16 x 16 dwords) and stored as 16 zmm, each a whole 64-byte cache line of the panel
// (16 columns x 4 k). Masked loads read exactly the K bytes of each row (zero beyond K, which is
// the layout's K padding); rows past N are zero vectors. Every byte of the packed region is
// written (no memset of the whole buffer first). colsum comes from the transposed vectors:
// vpmaddubsw(1, w) then vpmaddwd(., 1) sums the 4 s8 bytes of each dword exactly (|pair| <= 256),
// accumulated in int32 (modulo 2^32, as the contract says).
// Internal linkage only (anonymous namespace): each ISA file gets its own copy (ODR).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/gemm_u8s8_pack.h"

namespace qrt::kernels {
namespace {

// r[i] (row i, dwords = k-groups) -> r[g] (k-group g, dwords = rows).
__attribute__((always_inline)) inline void transpose16x16_epi32(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // r[4q + c] holds dword c (of 4) of rows 4q..4q+3; 128-bit lane L = k-groups 4L + c.
  for (int h = 0; h < 2; ++h)
    for (int c = 0; c < 4; ++c) {
      t[8 * h + c] = _mm512_shuffle_i32x4(r[8 * h + c], r[8 * h + 4 + c], 0x88);
      t[8 * h + 4 + c] = _mm512_shuffle_i32x4(r[8 * h + c], r[8 * h + 4 + c], 0xdd);
    }
  for (int c = 0; c < 8; ++c) {
    r[c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0x88);
    r[8 + c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0xdd);
  }
}

template <size_t NR>
void pack_c4_avx512(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed) {
  static_assert(NR % 16 == 0, "strips of 16 columns");
  using namespace gemm_u8s8_internal;
  uint8_t* base = static_cast<uint8_t*>(packed);
  int32_t* colsum = reinterpret_cast<int32_t*>(base);
  uint8_t* panels = base + colsum_bytes(N, NR);
  const size_t kg = k_groups(K), pbytes = panel_bytes(K, NR), np = round_up(N, NR) / NR;
  std::memset(colsum + np * NR, 0, colsum_bytes(N, NR) - np * NR * 4);
  const __m512i ones8 = _mm512_set1_epi8(1), ones16 = _mm512_set1_epi16(1);
  for (size_t p = 0; p < np; ++p) {
    for (size_t j0 = 0; j0 < NR; j0 += 16) {
      const size_t n0 = p * NR + j0;
      uint8_t* dst = panels + p * pbytes + j0 * 4;
      if (n0 >= N) {  // a strip of padding columns
        for (size_t g = 0; g < kg; ++g) _mm512_store_si512(dst + g * NR * 4, _mm512_setzero_si512());
        _mm512_store_si512(colsum + n0, _mm512_setzero_si512());
        continue;
      }
      const size_t rows = N - n0 < 16 ? N - n0 : 16;
      const int8_t* src = B + n0 * ldb;
      __m512i cs = _mm512_setzero_si512();
      for (size_t g0 = 0; g0 < kg; g0 += 16) {
        const size_t left = K - 4 * g0;  // > 0
        const __mmask64 m = left >= 64 ? ~__mmask64(0) : (__mmask64(1) << left) - 1;
        __m512i r[16];
        if (rows == 16) {
#pragma GCC unroll 16
          for (int i = 0; i < 16; ++i) r[i] = _mm512_maskz_loadu_epi8(m, src + i * ldb + 4 * g0);
        } else {
#pragma GCC unroll 16
          for (int i = 0; i < 16; ++i)
            r[i] = size_t(i) < rows ? _mm512_maskz_loadu_epi8(m, src + i * ldb + 4 * g0)
                                    : _mm512_setzero_si512();
        }
        transpose16x16_epi32(r);
        const size_t ng = kg - g0 < 16 ? kg - g0 : 16;
        uint8_t* d = dst + g0 * NR * 4;
        if (ng == 16) {
#pragma GCC unroll 16
          for (int g = 0; g < 16; ++g) {
            _mm512_store_si512(d + g * NR * 4, r[g]);
            cs = _mm512_add_epi32(cs, _mm512_madd_epi16(_mm512_maddubs_epi16(ones8, r[g]), ones16));
          }
        } else {
          for (size_t g = 0; g < ng; ++g) {
            _mm512_store_si512(d + g * NR * 4, r[g]);
            cs = _mm512_add_epi32(cs, _mm512_madd_epi16(_mm512_maddubs_epi16(ones8, r[g]), ones16));
          }
        }
      }
      _mm512_store_si512(colsum + n0, cs);
    }
  }
}

}  // namespace
}  // namespace qrt::kernels
