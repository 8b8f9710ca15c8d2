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
// One k-group is ROWS(""). kg % 4 groups run one at a time first, then the loop runs four groups
// per iteration (fewer scalar uops competing with vpdpbusd for ports 0 and 5; the loop's exit
// branch mispredicts once per tile either way). No prefetch of the panel being read: the hardware
// prefetcher follows it (prefetcht0 measured 5% slower). PF: prefetcht1 of PF lines of the *next*
// panel per iteration, starting at pf (advanced by the asm), so that the first row block of that
// panel finds it in L2 instead of L3 (see drive()).
#define QRT_PF1(o) "prefetcht1 " o "(%[pf])\n\t"
#define QRT_PFN0
#define QRT_PFN1 QRT_PF1("0")
#define QRT_PFN2 QRT_PFN1 QRT_PF1("64")
#define QRT_PFN4 QRT_PFN2 QRT_PF1("128") QRT_PF1("192")
#define QRT_PFN6 QRT_PFN4 QRT_PF1("256") QRT_PF1("320")
#define QRT_PFN8 QRT_PFN6 QRT_PF1("384") QRT_PF1("448")
#define QRT_REGB_ASM(ZERO, ROWS, STORE, PFN, PFB)                                                \
  __asm__ volatile(ZERO "mov %[kg], %[t]\n\t" "and $3, %[t]\n\t" "jz 3f\n\t"                     \
                   "4:\n\t" QRT_LOADB("0") ROWS("")                                               \
                   "add $4, %[a0]\n\t" "add $4, %[a3]\n\t" "add $256, %[b]\n\t"                   \
                   "dec %[t]\n\t" "jnz 4b\n\t"                                                    \
                   "3:\n\t" "shr $2, %[kg]\n\t" "jz 2f\n\t"                                       \
                   "1:\n\t" QRT_LOADB("0") ROWS("") QRT_LOADB("256") ROWS("4") PFN                \
                   QRT_LOADB("512") ROWS("8") QRT_LOADB("768") ROWS("12")                          \
                   "add $16, %[a0]\n\t" "add $16, %[a3]\n\t" "add $1024, %[b]\n\t" PFB             \
                   "dec %[kg]\n\t" "jnz 1b\n\t" "2:\n\t" STORE                                     \
                   : [a0] "+r"(a0), [a3] "+r"(a3), [b] "+r"(b), [kg] "+r"(kg), [pf] "+r"(pf),      \
                     [t] "=&r"(t)                                                                  \
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
// PF: lines of the next panel prefetched per 4 k-groups, from pf (0 = none).
template <int MR, int PF>
void kloop_regb(size_t kg, const uint8_t* a0, size_t lda, const int8_t* b, int32_t* acc,
                const int8_t* pf) {
  const uint8_t* a3 = a0 + 3 * lda;  // rows 3..5 (only dereferenced when MR > 3)
  size_t t;
#define QRT_KL1(Z, R, S, n, bytes) QRT_REGB_ASM(Z, R, S, QRT_PFN##n, "add $" #bytes ", %[pf]\n\t");
#define QRT_KL(Z, R, S)                                        \
  if constexpr (PF == 0) QRT_REGB_ASM(Z, R, S, QRT_PFN0, "");   \
  else if constexpr (PF == 1) QRT_KL1(Z, R, S, 1, 64)           \
  else if constexpr (PF == 2) QRT_KL1(Z, R, S, 2, 128)          \
  else if constexpr (PF == 4) QRT_KL1(Z, R, S, 4, 256)          \
  else if constexpr (PF == 6) QRT_KL1(Z, R, S, 6, 384)          \
  else QRT_KL1(Z, R, S, 8, 512)
  static_assert(PF == 0 || PF == 1 || PF == 2 || PF == 4 || PF == 6 || PF == 8, "PF lines");
  if constexpr (MR == 1) { QRT_KL(QRT_ZR0, QRT_R1, QRT_SR0) }
  if constexpr (MR == 2) { QRT_KL(QRT_ZR0 QRT_ZR1, QRT_R2, QRT_SR0 QRT_SR1) }
  if constexpr (MR == 3) { QRT_KL(QRT_ZR0 QRT_ZR1 QRT_ZR2, QRT_R3, QRT_SR0 QRT_SR1 QRT_SR2) }
  if constexpr (MR == 4) {
    QRT_KL(QRT_ZR0 QRT_ZR1 QRT_ZR2 QRT_ZR3, QRT_R4, QRT_SR0 QRT_SR1 QRT_SR2 QRT_SR3)
  }
  if constexpr (MR == 5) {
    QRT_KL(QRT_ZR0 QRT_ZR1 QRT_ZR2 QRT_ZR3 QRT_ZR4, QRT_R5,
           QRT_SR0 QRT_SR1 QRT_SR2 QRT_SR3 QRT_SR4)
  }
  if constexpr (MR == 6) {
    QRT_KL(QRT_ZR0 QRT_ZR1 QRT_ZR2 QRT_ZR3 QRT_ZR4 QRT_ZR5, QRT_R6,
           QRT_SR0 QRT_SR1 QRT_SR2 QRT_SR3 QRT_SR4 QRT_SR5)
  }
#undef QRT_KL
#undef QRT_KL1
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

// Column parameters for the 16 columns at n (any n: a vector at or past n_end gets mask 0 and
// zero scale/offset, so its lanes compute 0 and are never stored). colsum16 stays inside the
// panel's padded colsum.
__attribute__((always_inline)) inline ColVec16 col_vec16_any(const Epi16& e, const int32_t* colsum16,
                                                             size_t n, size_t n_end) {
  if (n < n_end) return col_vec16(e, colsum16, n, n_end);
  ColVec16 cv;
  cv.mask = 0;
  cv.off = _mm512_setzero_si512();
  cv.sc = _mm512_setzero_ps();
  cv.bf = _mm512_setzero_ps();
  return cv;
}

// Requant epilogue of MR rows x 64 columns (one panel) from acc (int32[MR][NV][16], panel p's
// vectors at 4p..4p+3), one 64-byte store per row instead of four vpmovdb. Per vector: + off,
// cvtdq2ps, mulps, minps(qmax - zp), cvtps2dq; then packssdw, vpaddsw zp, packuswb, vpmaxub qmin and
// one vpermd that undoes the packs' lane interleave. Equal to the reference: the bounds are
// integers, so round(min(r, hi)) is min(round(r), hi); values >= lo pass the packs exactly (|.| <=
// 510), values < lo give round(r) <= lo, which every saturating step keeps <= lo (+ zp <= qmin), and
// vpmaxub lifts them to qmin, the reference's max(r, lo) result. min before the conversion keeps
// cvtps2dq from overflowing to INT32_MIN for huge positive r.
template <int MR, int NV>
__attribute__((always_inline)) inline void requant_panel(const Epi16& e, const int32_t* acc, int p,
                                                         const int32_t* colsum, size_t n,
                                                         size_t n_end, uint8_t* c, size_t ldc) {
  ColVec16 cv[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) cv[j] = col_vec16_any(e, colsum + 16 * j, n + 16 * j, n_end);
  const size_t cnt = n_end - n;
  const __mmask64 m64 = cnt >= 64 ? ~__mmask64(0) : (__mmask64(1) << cnt) - 1;
  const __m512i zp16 = _mm512_set1_epi16(static_cast<short>(_mm512_cvtsi512_si32(e.out_zp)));
  const __m512i perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    __m512i q[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m512i v = _mm512_load_si512(acc + (r * NV + 4 * p + j) * 16);
      const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(v, cv[j].off)), cv[j].sc);
      q[j] = _mm512_cvtps_epi32(_mm512_min_ps(f, e.hi));
    }
    const __m512i w0 = _mm512_adds_epi16(_mm512_packs_epi32(q[0], q[1]), zp16);
    const __m512i w1 = _mm512_adds_epi16(_mm512_packs_epi32(q[2], q[3]), zp16);
    const __m512i b8 = _mm512_max_epu8(_mm512_packus_epi16(w0, w1), e.qmin8);
    _mm512_mask_storeu_epi8(c + r * ldc + n, m64, _mm512_permutexvar_epi32(perm, b8));
  }
}

struct Vnni512 {
  static constexpr size_t kNr = 64;
  static constexpr int kMr = 6, kNp1 = 4, kNp2 = 2;
  static constexpr int kPfLines = 8;  // most next-panel lines prefetched per 4 k-groups (1, 2, 4, 6, 8)

  // MR rows x NP panels (4 zmm of 16 columns each).
  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 4 * NP;
    alignas(64) int32_t acc[MR * NV * 16];
    const size_t kg = a.K / 4;
    if constexpr (NP == 1) {
      switch (a.pf ? a.pf_lines : 0) {
        case 1: kloop_regb<MR, 1>(kg, a.A, a.lda, a.panels, acc, a.pf); break;
        case 2: kloop_regb<MR, 2>(kg, a.A, a.lda, a.panels, acc, a.pf); break;
        case 4: kloop_regb<MR, 4>(kg, a.A, a.lda, a.panels, acc, a.pf); break;
        case 6: kloop_regb<MR, 6>(kg, a.A, a.lda, a.panels, acc, a.pf); break;
        case 8: kloop_regb<MR, 8>(kg, a.A, a.lda, a.panels, acc, a.pf); break;
        default: kloop_regb<MR, 0>(kg, a.A, a.lda, a.panels, acc, nullptr); break;
      }
    } else {
      kloop_memb<MR, NP>(kg, a.A, a.lda, a.panels, a.pstride, acc);
    }
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
    // Locals: stores to C may alias the GemmArgs, which would force reloads per row.
    const Epi16 e = make_epi16(*a.ep);
    uint8_t* const c = static_cast<uint8_t*>(a.C);
    const size_t ldc = a.ldc, n0 = a.n0, n_end = a.n_end;
    const int32_t* const colsum = a.colsum;
    if (e.requant) {
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) {
        if (n0 + 64 * p >= n_end) break;
        requant_panel<MR, NV>(e, acc, p, colsum + 64 * p, n0 + 64 * p, n_end, c, ldc);
      }
      return;
    }
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const size_t n = n0 + 16 * v;
      if (n >= n_end) break;
      const ColVec16 cv = col_vec16(e, colsum + 16 * v, n, n_end);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r)
        store_row16(e, cv, _mm512_load_si512(acc + (r * NV + v) * 16), c + r * ldc * 4, n);
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
