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
#include "kernels/x86/gemm_u8s8_pack_avx512.h"

namespace qrt::kernels {
namespace avx512vnni {
namespace {

// ---- k-loops in inline asm ---------------------------------------------------------------------
// GCC keeps arrays of __m512i accumulators partly in memory (stores and register copies inside
// the k-loop, measured at ~45% of peak), so the k-loops are written out: accumulators live in
// fixed registers, and are stored once at the end into acc (int32[rows][vectors][16]).
// Register use, B in registers (any MR <= 6, one 64-column panel): zmm24-27 = the k-group of B,
// zmm28-31 = broadcast A rows (rotating), zmm(4r+j) = acc row r, columns 16j..16j+15.
// B as memory operands (1 row x 4 panels, 2 rows x 2 panels: GEMV-like, bound by reading B):
// zmm28/29 = A rows, zmm(r*NV + 4p + j) = accumulators.
#define QRT_BC(addr, z) "vpbroadcastd " addr ", %%zmm" z "\n\t"
#define QRT_DP(src, z, c) "vpdpbusd " src ", %%zmm" z ", %%zmm" c "\n\t"
#define QRT_DP4(z, c0, c1, c2, c3) \
  QRT_DP("%%zmm24", z, c0) QRT_DP("%%zmm25", z, c1) QRT_DP("%%zmm26", z, c2) QRT_DP("%%zmm27", z, c3)
#define QRT_ROW0(ao) QRT_BC(ao "(%[a0])", "28") QRT_DP4("28", "0", "1", "2", "3")
#define QRT_ROW1(ao) QRT_BC(ao "(%[a0],%[lda],1)", "29") QRT_DP4("29", "4", "5", "6", "7")
#define QRT_ROW2(ao) QRT_BC(ao "(%[a0],%[lda],2)", "30") QRT_DP4("30", "8", "9", "10", "11")
#define QRT_ROW3(ao) QRT_BC(ao "(%[a3])", "31") QRT_DP4("31", "12", "13", "14", "15")
#define QRT_ROW4(ao) QRT_BC(ao "(%[a3],%[lda],1)", "28") QRT_DP4("28", "16", "17", "18", "19")
#define QRT_ROW5(ao) QRT_BC(ao "(%[a3],%[lda],2)", "29") QRT_DP4("29", "20", "21", "22", "23")
#define QRT_Z(c) "vpxord %%zmm" c ", %%zmm" c ", %%zmm" c "\n\t"
#define QRT_Z4(c0, c1, c2, c3) QRT_Z(c0) QRT_Z(c1) QRT_Z(c2) QRT_Z(c3)
#define QRT_S(c, off) "vmovdqa64 %%zmm" c ", " off "(%[acc])\n\t"
#define QRT_S4(c0, c1, c2, c3, o0, o1, o2, o3) QRT_S(c0, o0) QRT_S(c1, o1) QRT_S(c2, o2) QRT_S(c3, o3)
#define QRT_ZR0 QRT_Z4("0", "1", "2", "3")
#define QRT_ZR1 QRT_Z4("4", "5", "6", "7")
#define QRT_ZR2 QRT_Z4("8", "9", "10", "11")
#define QRT_ZR3 QRT_Z4("12", "13", "14", "15")
#define QRT_ZR4 QRT_Z4("16", "17", "18", "19")
#define QRT_ZR5 QRT_Z4("20", "21", "22", "23")
#define QRT_SR0 QRT_S4("0", "1", "2", "3", "0", "64", "128", "192")
#define QRT_SR1 QRT_S4("4", "5", "6", "7", "256", "320", "384", "448")
#define QRT_SR2 QRT_S4("8", "9", "10", "11", "512", "576", "640", "704")
#define QRT_SR3 QRT_S4("12", "13", "14", "15", "768", "832", "896", "960")
#define QRT_SR4 QRT_S4("16", "17", "18", "19", "1024", "1088", "1152", "1216")
#define QRT_SR5 QRT_S4("20", "21", "22", "23", "1280", "1344", "1408", "1472")
#define QRT_LOADB(bo)                                                                     \
  "vmovdqa64 " bo "+0(%[b]), %%zmm24\n\t" "vmovdqa64 " bo "+64(%[b]), %%zmm25\n\t"          \
  "vmovdqa64 " bo "+128(%[b]), %%zmm26\n\t" "vmovdqa64 " bo "+192(%[b]), %%zmm27\n\t"
// One k-group is ROWS(""); the loop runs two groups per iteration (fewer scalar uops
// competing with vpdpbusd for ports 0 and 5) after peeling one group when kg is odd. No software
// prefetch: the hardware prefetcher follows the panel; prefetcht0 measured 5% slower.
#define QRT_REGB_ASM(ZERO, ROWS, STORE)                                                         \
  __asm__ volatile(ZERO "test $1, %[kg]\n\t" "jz 3f\n\t" QRT_LOADB("0") ROWS("")              \
                   "add $4, %[a0]\n\t" "add $4, %[a3]\n\t" "add $256, %[b]\n\t"              \
                   "3:\n\t" "shr $1, %[kg]\n\t" "jz 2f\n\t"                                   \
                   "1:\n\t" QRT_LOADB("0") ROWS("")                \
                   QRT_LOADB("256") ROWS("4")                        \
                   "add $8, %[a0]\n\t" "add $8, %[a3]\n\t" "add $512, %[b]\n\t"              \
                   "dec %[kg]\n\t" "jnz 1b\n\t" "2:\n\t" STORE                                 \
                   : [a0] "+r"(a0), [a3] "+r"(a3), [b] "+r"(b), [kg] "+r"(kg)                    \
                   : [lda] "r"(lda), [acc] "r"(acc)                                              \
                   : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",       \
                     "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",         \
                     "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",       \
                     "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",      \
                     "xmm31")
#define QRT_R1(ao) QRT_ROW0(ao)
#define QRT_R2(ao) QRT_R1(ao) QRT_ROW1(ao)
#define QRT_R3(ao) QRT_R2(ao) QRT_ROW2(ao)
#define QRT_R4(ao) QRT_R3(ao) QRT_ROW3(ao)
#define QRT_R5(ao) QRT_R4(ao) QRT_ROW4(ao)
#define QRT_R6(ao) QRT_R5(ao) QRT_ROW5(ao)

// MR rows (1..6) x one panel, B in registers. acc: int32[MR][4][16], 64-byte aligned.
template <int MR>
void kloop_regb(size_t kg, const uint8_t* a0, size_t lda, const int8_t* b, int32_t* acc) {
  const uint8_t* a3 = a0 + 3 * lda;  // rows 3..5 (only dereferenced when MR > 3)
  if constexpr (MR == 1) QRT_REGB_ASM(QRT_ZR0, QRT_R1, QRT_SR0);
  if constexpr (MR == 2) QRT_REGB_ASM(QRT_ZR0 QRT_ZR1, QRT_R2, QRT_SR0 QRT_SR1);
  if constexpr (MR == 3) QRT_REGB_ASM(QRT_ZR0 QRT_ZR1 QRT_ZR2, QRT_R3, QRT_SR0 QRT_SR1 QRT_SR2);
  if constexpr (MR == 4)
    QRT_REGB_ASM(QRT_ZR0 QRT_ZR1 QRT_ZR2 QRT_ZR3, QRT_R4, QRT_SR0 QRT_SR1 QRT_SR2 QRT_SR3);
  if constexpr (MR == 5)
    QRT_REGB_ASM(QRT_ZR0 QRT_ZR1 QRT_ZR2 QRT_ZR3 QRT_ZR4, QRT_R5,
                 QRT_SR0 QRT_SR1 QRT_SR2 QRT_SR3 QRT_SR4);
  if constexpr (MR == 6)
    QRT_REGB_ASM(QRT_ZR0 QRT_ZR1 QRT_ZR2 QRT_ZR3 QRT_ZR4 QRT_ZR5, QRT_R6,
                 QRT_SR0 QRT_SR1 QRT_SR2 QRT_SR3 QRT_SR4 QRT_SR5);
}

// B as memory operands: panel p of the current k-group at (b), (b,ps), (b,ps,2), (b3).
#define QRT_P4(z, pbase, c0, c1, c2, c3)                                        \
  QRT_DP("0" pbase, z, c0) QRT_DP("64" pbase, z, c1) QRT_DP("128" pbase, z, c2) \
  QRT_DP("192" pbase, z, c3)
#define QRT_PB0 "(%[b])"
#define QRT_PB1 "(%[b],%[ps],1)"
#define QRT_PB2 "(%[b],%[ps],2)"
#define QRT_PB3 "(%[b3])"
#define QRT_MEMB_ASM(ZERO, BODY, STORE)                                                          \
  __asm__ volatile(ZERO "test %[kg], %[kg]\n\t" "jz 2f\n\t" "1:\n\t" BODY                         \
                   "prefetcht0 2048(%[b])\n\t" "prefetcht0 2048(%[b],%[ps],1)\n\t"                \
                   "add $4, %[a0]\n\t" "add $256, %[b]\n\t" "add $256, %[b3]\n\t"                \
                   "dec %[kg]\n\t" "jnz 1b\n\t" "2:\n\t" STORE                                     \
                   : [a0] "+r"(a0), [b] "+r"(b), [b3] "+r"(b3), [kg] "+r"(kg)                     \
                   : [lda] "r"(lda), [ps] "r"(ps), [acc] "r"(acc)                                 \
                   : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",        \
                     "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",          \
                     "xmm15", "xmm28", "xmm29")

// 1 row x 4 panels or 2 rows x 2 panels; acc: int32[MR][4*NP][16].
template <int MR, int NP>
void kloop_memb(size_t kg, const uint8_t* a0, size_t lda, const int8_t* b, size_t ps, int32_t* acc) {
  const int8_t* b3 = b + 3 * ps;
  static_assert((MR == 1 && NP == 4) || (MR == 2 && NP == 2), "unsupported shape");
  if constexpr (MR == 1 && NP == 4)
    QRT_MEMB_ASM(QRT_ZR0 QRT_ZR1 QRT_ZR2 QRT_ZR3,
                 QRT_BC("(%[a0])", "28") QRT_P4("28", QRT_PB0, "0", "1", "2", "3")
                 QRT_P4("28", QRT_PB1, "4", "5", "6", "7") QRT_P4("28", QRT_PB2, "8", "9", "10", "11")
                 QRT_P4("28", QRT_PB3, "12", "13", "14", "15") "prefetcht0 2048(%[b],%[ps],2)\n\t"
                 "prefetcht0 2048(%[b3])\n\t",
                 QRT_SR0 QRT_SR1 QRT_SR2 QRT_SR3);
  if constexpr (MR == 2 && NP == 2)
    QRT_MEMB_ASM(QRT_ZR0 QRT_ZR1 QRT_ZR2 QRT_ZR3,
                 QRT_BC("(%[a0])", "28") QRT_BC("(%[a0],%[lda],1)", "29")
                 QRT_P4("28", QRT_PB0, "0", "1", "2", "3") QRT_P4("28", QRT_PB1, "4", "5", "6", "7")
                 QRT_P4("29", QRT_PB0, "8", "9", "10", "11") QRT_P4("29", QRT_PB1, "12", "13", "14", "15"),
                 QRT_SR0 QRT_SR1 QRT_SR2 QRT_SR3);
}

struct Vnni512 {
  static constexpr size_t kNr = 64;
  static constexpr int kMr = 6, kNp1 = 4, kNp2 = 2;

  // MR rows x NP panels (4 zmm of 16 columns each).
  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 4 * NP;
    alignas(64) int32_t acc[MR * NV * 16];
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
        const __m512i av = _mm512_set1_epi32(a4);
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) {
          __m512i* p = reinterpret_cast<__m512i*>(acc + (r * NV + v) * 16);
          const __m512i bv = _mm512_load_si512(b + (v / 4) * a.pstride + (v % 4) * 64);
          _mm512_store_si512(p, _mm512_dpbusd_epi32(_mm512_load_si512(p), av, bv));
        }
      }
    }
    const Epi16 e = make_epi16(*a.ep);
    const size_t esz = e.requant ? 1 : 4;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const size_t n = a.n0 + 16 * v;
      if (n >= a.n_end) break;
      const ColVec16 cv = col_vec16(e, a.colsum + 16 * v, n, a.n_end);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r)
        store_row16(e, cv, _mm512_load_si512(acc + (r * NV + v) * 16),
                    static_cast<uint8_t*>(a.C) + r * a.ldc * esz, n);
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
    gemm_u8s8_internal::packed_size_c4_nr64, pack_c4_avx512<64>, avx512vnni::run};

}  // namespace qrt::kernels
