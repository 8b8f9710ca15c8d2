// gemm_u8s8 for AVX-512 F/BW without VNNI (Skylake-SP): the AVX2 kernel's exact scheme on zmm.
// A and B are widened to int16 (zero- / sign-extended) and multiplied with vpmaddwd, never
// vpmaddubsw (int16 saturation). c4 layout, 32 columns per panel: each 32-byte quarter of a
// k-group (8 columns x 4 k) becomes one zmm of int16 via vpmovsxbw; the 4 A bytes, widened and
// broadcast as a 64-bit pattern, line up with every column. vpmaddwd leaves two partial sums per
// column; vpermt2d gathers the even and odd partials of two accumulators and one vpaddd folds
// them into 16 columns in order (int32 wrap-around: exact). Tile 6 x 32: 24 accumulators.
// GCC 12 warns falsely inside the intrinsic headers (_mm512_undefined_*; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"
#include "kernels/x86/gemm_u8s8_driver.h"
#include "kernels/x86/gemm_u8s8_epilogue_avx512.h"
#include "kernels/x86/gemm_u8s8_pack_avx512.h"

namespace qrt::kernels {
namespace avx512 {
namespace {

struct Madd512 {
  static constexpr size_t kNr = 32;
  static constexpr int kMr = 6, kNp1 = 3, kNp2 = 2;

  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 4 * NP;  // accumulators per row: 8 columns (x 2 partials) each
    __m512i acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_si512();
    const uint8_t* ar[MR];
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) ar[r] = a.A + r * a.lda;
    const int8_t* b = a.panels;
    const size_t kg = a.K / 4;
    auto step = [&](const int8_t* bg, const int32_t* a4) __attribute__((always_inline)) {
      __m512i bv[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        bv[v] = _mm512_cvtepi8_epi16(
            _mm256_load_si256(reinterpret_cast<const __m256i*>(bg + (v / 4) * a.pstride + (v % 4) * 32)));
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m512i av = _mm512_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(a4[r])));
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v)
          acc[r][v] = _mm512_add_epi32(acc[r][v], _mm512_madd_epi16(av, bv[v]));
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
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const Epi16 e = make_epi16(*a.ep);
    const size_t esz = e.requant ? 1 : 4;
#pragma GCC unroll 8
    for (int h = 0; h < NV / 2; ++h) {  // 16 columns from accumulators 2h, 2h+1
      const size_t n = a.n0 + 16 * h;
      if (n >= a.n_end) break;
      const ColVec16 cv = col_vec16(e, a.colsum + 16 * h, n, a.n_end);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m512i s = _mm512_add_epi32(_mm512_permutex2var_epi32(acc[r][2 * h], even, acc[r][2 * h + 1]),
                                           _mm512_permutex2var_epi32(acc[r][2 * h], odd, acc[r][2 * h + 1]));
        store_row16(e, cv, s, static_cast<uint8_t*>(a.C) + r * a.ldc * esz, n);
      }
    }
  }
};

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  drive<Madd512>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
}

}  // namespace
}  // namespace avx512

extern const GemmU8S8Kernel gemm_u8s8_6x32c4_avx512 = {
    "gemm_u8s8_6x32c4_avx512", cpu::Isa::kAvx512, 6, 32, 4,
    gemm_u8s8_internal::packed_size_c4_nr32, pack_c4_avx512<32>, avx512::run};

}  // namespace qrt::kernels
