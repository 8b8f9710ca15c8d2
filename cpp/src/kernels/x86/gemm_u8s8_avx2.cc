// gemm_u8s8 for AVX2 without VNNI. vpmaddubsw is NOT used: its int16 pair sums saturate for
// unconstrained u8 x s8 data (255*127*2 > 32767). Instead both operands are widened to int16
// (A zero-extended, B sign-extended) and multiplied with vpmaddwd, whose pair sums
// (|a0*b0 + a1*b1| <= 65280) are exact in int32. With the c4 layout, one 16-byte load of B is
// 4 columns x 4 k; after vpmovsxbw a ymm holds (col, k0..k3) for 4 columns, and the 4 bytes of
// A, widened and broadcast as one 64-bit pattern, line up with every column. vpmaddwd leaves two
// partial sums per column; vphaddd + vpermq fold them at the end (int32 wrap-around, exact).
// Tile 4 x 8: 8 accumulators (2 per row) + 2 B + A.
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"
#include "kernels/x86/gemm_u8s8_driver.h"
#include "kernels/x86/gemm_u8s8_epilogue_avx2.h"
#include "kernels/x86/gemm_u8s8_pack_avx2.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

struct MaddAvx2 {
  static constexpr size_t kNr = 8;
  static constexpr int kMr = 4, kNp1 = 3, kNp2 = 2;

  static inline __m256i widen_a(int32_t a4) {
    return _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(a4)));
  }

  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 2 * NP;  // accumulators per row: (cols 0-3, cols 4-7) per panel
    __m256i acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_si256();
    const uint8_t* ar[MR];
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) ar[r] = a.A + r * a.lda;
    const int8_t* b = a.panels;
    const size_t kg = a.K / 4;
    auto step = [&](const int8_t* bg, const int32_t* a4) __attribute__((always_inline)) {
      __m256i bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        bv[v] = _mm256_cvtepi8_epi16(
            _mm_load_si128(reinterpret_cast<const __m128i*>(bg + (v / 2) * a.pstride + (v % 2) * 16)));
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m256i av = widen_a(a4[r]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
          acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(av, bv[v]));
      }
    };
    for (size_t g = 0; g < kg; ++g) {
      int32_t a4[MR];
      #pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) std::memcpy(&a4[r], ar[r] + 4 * g, 4);
      step(b, a4);
      b += kNr * 4;
    }
    if (const size_t kt = a.K % 4) {
      int32_t a4[MR];
      #pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        a4[r] = 0;
        std::memcpy(&a4[r], ar[r] + 4 * kg, kt);
      }
      step(b, a4);
    }
    const size_t esz = a.ep->kind == GemmU8S8Epilogue::Kind::kRequantU8 ? 1 : 4;
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      const size_t n = a.n0 + 8 * p;
      if (n >= a.n_end) break;
      const ColVec8 cv = col_vec8(*a.ep, a.colsum + 8 * p, n, a.n_end);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        // [c0 c1 c4 c5 | c2 c3 c6 c7] -> [c0 .. c7]
        const __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2 * p], acc[r][2 * p + 1]), 0xD8);
        store_row8(*a.ep, cv, s, static_cast<uint8_t*>(a.C) + r * a.ldc * esz, n);
      }
    }
  }
};

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  drive<MaddAvx2>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
}

}  // namespace
}  // namespace avx2

extern const GemmU8S8Kernel gemm_u8s8_4x8c4_avx2 = {
    "gemm_u8s8_4x8c4_avx2", cpu::Isa::kAvx2, 4, 8, 4,
    gemm_u8s8_internal::packed_size_c4_nr8, pack_c4_avx2<8>, avx2::run};

}  // namespace qrt::kernels
