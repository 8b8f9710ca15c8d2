// Internal: the c4 packer (gemm_u8s8_pack.h) for files built with AVX2 flags (nr = 8 or 16).
// As the AVX-512 packer: 8 rows x 8 k-groups (8 x 32 bytes) are loaded as 8 ymm, transposed in
// registers (8 x 8 dwords) and stored as 8 ymm (8 columns x 4 k of one k-group each). A block
// that reaches past K is read through a zeroed 32-byte copy (memcpy of the valid bytes only), which
// also supplies the layout's zero K padding; rows past N are zero vectors. Every byte of the packed
// region is written. colsum: vpmaddubsw(1, w) then vpmaddwd(., 1) per dword, exact, int32 adds.
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
__attribute__((always_inline)) inline void transpose8x8_epi32(__m256i r[8]) {
  __m256i t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // r[4q + c]: dword c of rows 4q..4q+3, 128-bit lane L = k-groups 4L + c.
  for (int c = 0; c < 4; ++c) {
    t[c] = _mm256_permute2x128_si256(r[c], r[4 + c], 0x20);
    t[4 + c] = _mm256_permute2x128_si256(r[c], r[4 + c], 0x31);
  }
  for (int i = 0; i < 8; ++i) r[i] = t[i];
}

template <size_t NR>
void pack_c4_avx2(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed) {
  static_assert(NR % 8 == 0, "strips of 8 columns");
  using namespace gemm_u8s8_internal;
  uint8_t* base = static_cast<uint8_t*>(packed);
  int32_t* colsum = reinterpret_cast<int32_t*>(base);
  uint8_t* panels = base + colsum_bytes(N, NR);
  const size_t kg = k_groups(K), pbytes = panel_bytes(K, NR), np = round_up(N, NR) / NR;
  std::memset(colsum + np * NR, 0, colsum_bytes(N, NR) - np * NR * 4);
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (size_t p = 0; p < np; ++p) {
    for (size_t j0 = 0; j0 < NR; j0 += 8) {
      const size_t n0 = p * NR + j0;
      uint8_t* dst = panels + p * pbytes + j0 * 4;
      if (n0 >= N) {  // a strip of padding columns
        for (size_t g = 0; g < kg; ++g)
          _mm256_store_si256(reinterpret_cast<__m256i*>(dst + g * NR * 4), _mm256_setzero_si256());
        _mm256_store_si256(reinterpret_cast<__m256i*>(colsum + n0), _mm256_setzero_si256());
        continue;
      }
      const size_t rows = N - n0 < 8 ? N - n0 : 8;
      const int8_t* src = B + n0 * ldb;
      __m256i cs = _mm256_setzero_si256();
      for (size_t g0 = 0; g0 < kg; g0 += 8) {
        const size_t left = K - 4 * g0;  // > 0
        __m256i r[8];
        for (size_t i = 0; i < 8; ++i) {
          if (i >= rows) {
            r[i] = _mm256_setzero_si256();
          } else if (left >= 32) {
            r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i * ldb + 4 * g0));
          } else {
            alignas(32) uint8_t buf[32] = {};
            std::memcpy(buf, src + i * ldb + 4 * g0, left);
            r[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(buf));
          }
        }
        transpose8x8_epi32(r);
        const size_t ng = kg - g0 < 8 ? kg - g0 : 8;
        uint8_t* d = dst + g0 * NR * 4;
        for (size_t g = 0; g < ng; ++g) {
          _mm256_store_si256(reinterpret_cast<__m256i*>(d + g * NR * 4), r[g]);
          cs = _mm256_add_epi32(cs, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, r[g]), ones16));
        }
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(colsum + n0), cs);
    }
  }
}

}  // namespace
}  // namespace qrt::kernels
