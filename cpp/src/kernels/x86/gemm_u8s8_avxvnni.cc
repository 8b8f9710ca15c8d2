// gemm_u8s8 for AVX-VNNI (vpdpbusd on ymm, VEX encoded; e.g. Alder Lake, which has no AVX-512).
// Same scheme as the AVX-512 VNNI kernel: A (u8) broadcast 4 bytes per row, packed B (s8, c4
// layout, 16 columns = 2 ymm per k-group). Tile 6 x 16: 12 ymm accumulators + 2 B + 2 A of the
// 16 registers. vpdpbusd sums into int32 with wrap-around, so any order equals the reference.
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"
#include "kernels/x86/gemm_u8s8_driver.h"
#include "kernels/x86/gemm_u8s8_epilogue_avx2.h"
#include "kernels/x86/gemm_u8s8_pack_avx2.h"

namespace qrt::kernels {
namespace avxvnni {
namespace {

// k-loops in inline asm, as in the AVX-512 VNNI kernel (GCC keeps accumulator arrays partly in
// memory). Registers: ymm(2r+j) = accumulator of row r, columns 8j..8j+7; ymm12/13 = the B
// k-group (B as memory operands in the 1- and 2-row multi-panel loops); ymm14/15 = A broadcasts.
// "{vex}" selects the AVX-VNNI (VEX) encoding of vpdpbusd.
#define QRT_VBC(addr, z) "vpbroadcastd " addr ", %%ymm" z "\n\t"
#define QRT_VDP(src, z, c) "%{vex%} vpdpbusd " src ", %%ymm" z ", %%ymm" c "\n\t"
#define QRT_VROW(addr, z, c0, c1) QRT_VBC(addr, z) QRT_VDP("%%ymm12", z, c0) QRT_VDP("%%ymm13", z, c1)
#define QRT_VR1 QRT_VROW("(%[a0])", "14", "0", "1")
#define QRT_VR2 QRT_VR1 QRT_VROW("(%[a0],%[lda],1)", "15", "2", "3")
#define QRT_VR3 QRT_VR2 QRT_VROW("(%[a0],%[lda],2)", "14", "4", "5")
#define QRT_VR4 QRT_VR3 QRT_VROW("(%[a3])", "15", "6", "7")
#define QRT_VR5 QRT_VR4 QRT_VROW("(%[a3],%[lda],1)", "14", "8", "9")
#define QRT_VR6 QRT_VR5 QRT_VROW("(%[a3],%[lda],2)", "15", "10", "11")
#define QRT_VZ(c) "vpxor %%ymm" c ", %%ymm" c ", %%ymm" c "\n\t"
#define QRT_VS(c, off) "vmovdqa %%ymm" c ", " off "(%[acc])\n\t"
#define QRT_VZ2(c0, c1) QRT_VZ(c0) QRT_VZ(c1)
#define QRT_VZS1 QRT_VZ2("0", "1")
#define QRT_VZS2 QRT_VZS1 QRT_VZ2("2", "3")
#define QRT_VZS3 QRT_VZS2 QRT_VZ2("4", "5")
#define QRT_VZS4 QRT_VZS3 QRT_VZ2("6", "7")
#define QRT_VZS5 QRT_VZS4 QRT_VZ2("8", "9")
#define QRT_VZS6 QRT_VZS5 QRT_VZ2("10", "11")
#define QRT_VSS1 QRT_VS("0", "0") QRT_VS("1", "32")
#define QRT_VSS2 QRT_VSS1 QRT_VS("2", "64") QRT_VS("3", "96")
#define QRT_VSS3 QRT_VSS2 QRT_VS("4", "128") QRT_VS("5", "160")
#define QRT_VSS4 QRT_VSS3 QRT_VS("6", "192") QRT_VS("7", "224")
#define QRT_VSS5 QRT_VSS4 QRT_VS("8", "256") QRT_VS("9", "288")
#define QRT_VSS6 QRT_VSS5 QRT_VS("10", "320") QRT_VS("11", "352")
#define QRT_VCLOB                                                                                \
  "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
      "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define QRT_VREGB_ASM(ZERO, ROWS, STORE)                                                         \
  __asm__ volatile(ZERO "test %[kg], %[kg]\n\t" "jz 2f\n\t" "1:\n\t"                              \
                   "vmovdqa (%[b]), %%ymm12\n\t" "vmovdqa 32(%[b]), %%ymm13\n\t" ROWS             \
                   "add $4, %[a0]\n\t" "add $4, %[a3]\n\t" "add $64, %[b]\n\t"                    \
                   "dec %[kg]\n\t" "jnz 1b\n\t" "2:\n\t" STORE                                      \
                   : [a0] "+r"(a0), [a3] "+r"(a3), [b] "+r"(b), [kg] "+r"(kg)                     \
                   : [lda] "r"(lda), [acc] "r"(acc)                                               \
                   : QRT_VCLOB)

// MR rows (1..6) x one 16-column panel; acc: int32[MR][2][8], 32-byte aligned.
template <int MR>
void kloop_regb(size_t kg, const uint8_t* a0, size_t lda, const int8_t* b, int32_t* acc) {
  const uint8_t* a3 = a0 + 3 * lda;  // only dereferenced when MR > 3
  if constexpr (MR == 1) QRT_VREGB_ASM(QRT_VZS1, QRT_VR1, QRT_VSS1);
  if constexpr (MR == 2) QRT_VREGB_ASM(QRT_VZS2, QRT_VR2, QRT_VSS2);
  if constexpr (MR == 3) QRT_VREGB_ASM(QRT_VZS3, QRT_VR3, QRT_VSS3);
  if constexpr (MR == 4) QRT_VREGB_ASM(QRT_VZS4, QRT_VR4, QRT_VSS4);
  if constexpr (MR == 5) QRT_VREGB_ASM(QRT_VZS5, QRT_VR5, QRT_VSS5);
  if constexpr (MR == 6) QRT_VREGB_ASM(QRT_VZS6, QRT_VR6, QRT_VSS6);
}

// 1 row x 3 panels or 2 rows x 2 panels, B as memory operands: panel p at (b), (b,ps), (b,ps,2).
#define QRT_VP(z, pb, c0, c1) QRT_VDP("0" pb, z, c0) QRT_VDP("32" pb, z, c1)
#define QRT_VMEMB_ASM(ZERO, BODY, STORE)                                                          \
  __asm__ volatile(ZERO "test %[kg], %[kg]\n\t" "jz 2f\n\t" "1:\n\t" BODY                          \
                   "add $4, %[a0]\n\t" "add $64, %[b]\n\t" "dec %[kg]\n\t" "jnz 1b\n\t"            \
                   "2:\n\t" STORE                                                                   \
                   : [a0] "+r"(a0), [b] "+r"(b), [kg] "+r"(kg)                                     \
                   : [lda] "r"(lda), [ps] "r"(ps), [acc] "r"(acc)                                  \
                   : QRT_VCLOB)

template <int MR, int NP>
void kloop_memb(size_t kg, const uint8_t* a0, size_t lda, const int8_t* b, size_t ps, int32_t* acc) {
  static_assert((MR == 1 && NP == 3) || (MR == 2 && NP == 2), "unsupported shape");
  if constexpr (MR == 1 && NP == 3)
    QRT_VMEMB_ASM(QRT_VZS3,
                  QRT_VBC("(%[a0])", "14") QRT_VP("14", "(%[b])", "0", "1")
                  QRT_VP("14", "(%[b],%[ps],1)", "2", "3") QRT_VP("14", "(%[b],%[ps],2)", "4", "5"),
                  QRT_VSS3);
  if constexpr (MR == 2 && NP == 2)
    QRT_VMEMB_ASM(QRT_VZS4,
                  QRT_VBC("(%[a0])", "14") QRT_VBC("(%[a0],%[lda],1)", "15")
                  QRT_VP("14", "(%[b])", "0", "1") QRT_VP("14", "(%[b],%[ps],1)", "2", "3")
                  QRT_VP("15", "(%[b])", "4", "5") QRT_VP("15", "(%[b],%[ps],1)", "6", "7"),
                  QRT_VSS4);
}

struct VnniAvx {
  static constexpr size_t kNr = 16;
  static constexpr int kMr = 6, kNp1 = 3, kNp2 = 2;

  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 2 * NP;
    alignas(32) int32_t acc[MR * NV * 8];
    const size_t kg = a.K / 4;
    if constexpr (NP == 1)
      kloop_regb<MR>(kg, a.A, a.lda, a.panels, acc);
    else
      kloop_memb<MR, NP>(kg, a.A, a.lda, a.panels, a.pstride, acc);
    if (const size_t kt = a.K % 4) {  // last partial group: read only the kt valid bytes of A
      const int8_t* b = a.panels + kg * kNr * 4;
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        int32_t a4 = 0;
        std::memcpy(&a4, a.A + r * a.lda + 4 * kg, kt);
        const __m256i av = _mm256_set1_epi32(a4);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          __m256i* p = reinterpret_cast<__m256i*>(acc + (r * NV + v) * 8);
          const __m256i bv =
              _mm256_load_si256(reinterpret_cast<const __m256i*>(b + (v / 2) * a.pstride + (v % 2) * 32));
          _mm256_store_si256(p, _mm256_dpbusd_avx_epi32(_mm256_load_si256(p), av, bv));
        }
      }
    }
    const GemmU8S8Epilogue ep = *a.ep;  // a local copy: stores to C cannot alias it
    const size_t esz = ep.kind == GemmU8S8Epilogue::Kind::kRequantU8 ? 1 : 4;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const size_t n = a.n0 + 8 * v;
      if (n >= a.n_end) break;
      const ColVec8 cv = col_vec8(ep, a.colsum + 8 * v, n, a.n_end);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r)
        store_row8(ep, cv, _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + (r * NV + v) * 8)),
                   static_cast<uint8_t*>(a.C) + r * a.ldc * esz, n);
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
    gemm_u8s8_internal::packed_size_c4_nr16, pack_c4_avx2<16>, avxvnni::run};

}  // namespace qrt::kernels
