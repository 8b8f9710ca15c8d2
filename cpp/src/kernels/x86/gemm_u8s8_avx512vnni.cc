// gemm_u8s8 for AVX-512 VNNI: vpdpbusd (u8 x s8, four products summed into int32, wrap-around)
// is exactly the contract's arithmetic, so no shift or correction is needed: A is the unsigned
// operand (one 4-byte k-group broadcast per row), packed B the signed one (c4 layout, 64 columns
// = 4 zmm per k-group). Tile 6 x 64: 24 zmm accumulators + 4 B + 1 A register.
// Exactness: int32 adds are modulo 2^32 in any order; epilogue as gemm_u8s8_epilogue_avx512.h.
// GCC 12 warns falsely inside the intrinsic headers (_mm512_undefined_*; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"
#include "kernels/x86/gemm_u8s8_driver.h"
#include "kernels/x86/gemm_u8s8_epilogue_avx512.h"

namespace qrt::kernels {
namespace avx512vnni {
namespace {

struct Vnni512 {
  static constexpr size_t kNr = 64;
  static constexpr int kMr = 6, kNp1 = 4, kNp2 = 2;

  // MR rows x NP panels (4 zmm of 16 columns each).
  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 4 * NP;
    __m512i acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_si512();
    const uint8_t* ar[MR];
    for (int r = 0; r < MR; ++r) ar[r] = a.A + r * a.lda;
    const int8_t* b = a.panels;
    const size_t kg = a.K / 4;
    for (size_t g = 0; g < kg; ++g) {
      __m512i bv[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_si512(b + (v / 4) * a.pstride + (v % 4) * 64);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p)
        _mm_prefetch(reinterpret_cast<const char*>(b + p * a.pstride + 1024), _MM_HINT_T0);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        int32_t a4;
        std::memcpy(&a4, ar[r] + 4 * g, 4);
        const __m512i av = _mm512_set1_epi32(a4);
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, bv[v]);
      }
      b += kNr * 4;
    }
    if (const size_t kt = a.K % 4) {  // last partial group: read only the kt valid bytes of A
      __m512i bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_si512(b + (v / 4) * a.pstride + (v % 4) * 64);
      for (int r = 0; r < MR; ++r) {
        int32_t a4 = 0;
        std::memcpy(&a4, ar[r] + 4 * kg, kt);
        const __m512i av = _mm512_set1_epi32(a4);
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, bv[v]);
      }
    }
    const size_t esz = a.ep->kind == GemmU8S8Epilogue::Kind::kRequantU8 ? 1 : 4;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const size_t n = a.n0 + 16 * v;
      if (n >= a.n_end) break;
      const ColVec16 cv = col_vec16(*a.ep, a.colsum + 16 * v, n, a.n_end);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r)
        store_row16(*a.ep, cv, acc[r][v], static_cast<uint8_t*>(a.C) + r * a.ldc * esz, n);
    }
  }
};

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  drive<Vnni512>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
}

}  // namespace
}  // namespace avx512vnni

extern const GemmU8S8Kernel gemm_u8s8_6x64c4_avx512vnni = {
    "gemm_u8s8_6x64c4_avx512vnni", cpu::Isa::kAvx512Vnni, 6, 64, 4,
    gemm_u8s8_internal::packed_size_c4_nr64, gemm_u8s8_internal::pack_c4_nr64, avx512vnni::run};

}  // namespace qrt::kernels
