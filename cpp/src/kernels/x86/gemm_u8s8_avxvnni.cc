// gemm_u8s8 for AVX-VNNI (vpdpbusd on ymm, VEX encoded; e.g. Alder Lake, which has no AVX-512).
// Same scheme as the AVX-512 VNNI kernel: A (u8) broadcast 4 bytes per row, packed B (s8, c4
// layout, 16 columns = 2 ymm per k-group). Tile 6 x 16: 12 ymm accumulators + 2 B + 1 A of the
// 16 registers. vpdpbusd sums into int32 with wrap-around, so any order equals the reference.
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"
#include "kernels/x86/gemm_u8s8_driver.h"
#include "kernels/x86/gemm_u8s8_epilogue_avx2.h"

namespace qrt::kernels {
namespace avxvnni {
namespace {

struct VnniAvx {
  static constexpr size_t kNr = 16;
  static constexpr int kMr = 6, kNp1 = 3, kNp2 = 2;

  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 2 * NP;
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
    for (size_t g = 0; g < kg; ++g) {
      __m256i bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        bv[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + (v / 2) * a.pstride + (v % 2) * 32));
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        int32_t a4;
        std::memcpy(&a4, ar[r] + 4 * g, 4);
        const __m256i av = _mm256_set1_epi32(a4);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_dpbusd_avx_epi32(acc[r][v], av, bv[v]);
      }
      b += kNr * 4;
    }
    if (const size_t kt = a.K % 4) {
      __m256i bv[NV];
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        bv[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + (v / 2) * a.pstride + (v % 2) * 32));
      #pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        int32_t a4 = 0;
        std::memcpy(&a4, ar[r] + 4 * kg, kt);
        const __m256i av = _mm256_set1_epi32(a4);
        #pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_dpbusd_avx_epi32(acc[r][v], av, bv[v]);
      }
    }
    const size_t esz = a.ep->kind == GemmU8S8Epilogue::Kind::kRequantU8 ? 1 : 4;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const size_t n = a.n0 + 8 * v;
      if (n >= a.n_end) break;
      const ColVec8 cv = col_vec8(*a.ep, a.colsum + 8 * v, n, a.n_end);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r)
        store_row8(*a.ep, cv, acc[r][v], static_cast<uint8_t*>(a.C) + r * a.ldc * esz, n);
    }
  }
};

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  drive<VnniAvx>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
}

}  // namespace
}  // namespace avxvnni

extern const GemmU8S8Kernel gemm_u8s8_6x16c4_avxvnni = {
    "gemm_u8s8_6x16c4_avxvnni", cpu::Isa::kAvxVnni, 6, 16, 4,
    gemm_u8s8_internal::packed_size_c4_nr16, gemm_u8s8_internal::pack_c4_nr16, avxvnni::run};

}  // namespace qrt::kernels
