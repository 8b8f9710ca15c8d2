// gemm_u8s8 for AVX-512 VNNI: vpdpbusd (u8 x s8, four products summed into int32, wrap-around)
// is exactly the contract's arithmetic, so no shift or correction is needed: A is the unsigned
// operand (one 4-byte k-group broadcast per row), packed B the signed one (c4 layout, 64 columns
// = 4 zmm per k-group). Tile 6 x 64: 24 zmm accumulators + 4 B + 1 A register.
// Exactness: int32 adds are modulo 2^32 in any order; epilogue as gemm_u8s8_epilogue_avx512.h.
// GCC 12 warns falsely inside the intrinsic headers (_mm512_undefined_*; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
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


// ---- 12 x 32 tiles over half panels (gemm_u8s8_12x32c4_avx512vnni) ----------------------------
// The same nr = 64 packed layout, read one 32-column half of a panel at a time (2 of the 4 zmm of
// each k-group): up to 12 rows x 2 zmm = 24 accumulators; per k-group 2 B loads and 12 broadcasts
// feed 24 vpdpbusd. Against 6 x 64 this halves the B bytes per vpdpbusd, and a half panel
// (K x 32 bytes: 24 KiB at K = 768) can stay in L1 while the row blocks pass it.
// Accumulators start at the column offsets bias - a_zp * colsum (so the epilogue has no add; int32
// sums are modulo 2^32 in any order), the K tail (the last K % 4 bytes of each row, copied to
// zero-padded 4-byte words) runs in the same asm, and the requant epilogue runs from the
// registers, one masked 32-byte store per row (no store and reload of the accumulators); the
// dequant epilogue stores them and runs in C++. Same requant steps as requant_panel().
// Registers: zmm(2r), zmm(2r+1) = row r; zmm24/25 = B; zmm26-31 = A broadcasts (row r: 26 + r % 6);
// epilogue: zmm24 = hi, zmm25 = out_zp (int16), zmm26 = qmin (bytes), zmm27 = vpermd order.
// Rows 3i..3i+2 are addressed from one pointer per three rows (a0, a3, a6, a9) and lda x 1, 2.
struct alignas(64) HalfParams {
  int32_t off[32];    // 0: bias - a_zp * colsum of the 32 columns (0 past n_end)
  float sc[32];       // 128: scale (0 past n_end)
  float hi[16];       // 256: qmax - out_zp
  int16_t zp16[32];   // 320: out_zp
  uint8_t qmin8[64];  // 384: qmin
  int32_t perm[16];   // 448: the vpermd order that undoes the packs' lane interleave
  uint32_t mask;      // 512: columns stored (bit j: column n0 + j < n_end)
  uint32_t tail;      // 516: K % 4 != 0: one more k-group from tl
  uint64_t kgt;       // 520: taps mode: k-groups per tap
  const int64_t* tapd;  // 528: taps mode: bytes added to the A pointers after each tap but the last
  uint64_t taps_left;   // 536: taps mode: taps not yet run (counted down by the asm)
  uint32_t pad[8];
  uint32_t tl[16];    // 576: each row's last K % 4 bytes of A, zero-padded
  int32_t acc[12 * 32];  // 640: dequant: the accumulators, row r at 128 r bytes
};
static_assert(offsetof(HalfParams, hi) == 256 && offsetof(HalfParams, mask) == 512 &&
                  offsetof(HalfParams, tail) == 516 && offsetof(HalfParams, kgt) == 520 &&
                  offsetof(HalfParams, tapd) == 528 && offsetof(HalfParams, taps_left) == 536 &&
                  offsetof(HalfParams, tl) == 576 &&
                  offsetof(HalfParams, acc) == 640,
              "the asm below uses these offsets");

#define QH_ROW(addr, bz, c0, c1) \
  "vpbroadcastd " addr ", %%zmm" bz "\n\t" QRT_DP("%%zmm24", bz, c0) QRT_DP("%%zmm25", bz, c1)
#define QH_I(c0, c1) "vmovdqa64 0(%[p]), %%zmm" c0 "\n\t" "vmovdqa64 64(%[p]), %%zmm" c1 "\n\t"
#define QH_S(c0, c1, o0, o1) \
  "vmovdqa64 %%zmm" c0 ", " o0 "(%[p])\n\t" "vmovdqa64 %%zmm" c1 ", " o1 "(%[p])\n\t"
#define QH_E(c0, c1)                                                                               \
  "vcvtdq2ps %%zmm" c0 ", %%zmm" c0 "\n\t" "vcvtdq2ps %%zmm" c1 ", %%zmm" c1 "\n\t"                 \
  "vmulps 128(%[p]), %%zmm" c0 ", %%zmm" c0 "\n\t" "vmulps 192(%[p]), %%zmm" c1 ", %%zmm" c1 "\n\t" \
  "vminps %%zmm24, %%zmm" c0 ", %%zmm" c0 "\n\t" "vminps %%zmm24, %%zmm" c1 ", %%zmm" c1 "\n\t"     \
  "vcvtps2dq %%zmm" c0 ", %%zmm" c0 "\n\t" "vcvtps2dq %%zmm" c1 ", %%zmm" c1 "\n\t"                 \
  "vpackssdw %%zmm" c1 ", %%zmm" c0 ", %%zmm" c0 "\n\t" "vpaddsw %%zmm25, %%zmm" c0 ", %%zmm" c0   \
  "\n\t" "vpackuswb %%zmm" c0 ", %%zmm" c0 ", %%zmm" c0 "\n\t"                                      \
  "vpmaxub %%zmm26, %%zmm" c0 ", %%zmm" c0 "\n\t" "vpermd %%zmm" c0 ", %%zmm27, %%zmm" c0 "\n\t"    \
  "vmovdqu8 %%ymm" c0 ", (%[c])%{%%k1%}\n\t" "add %[ldc], %[c]\n\t"
#define QH_EFIN                                                                          \
  "vmovaps 256(%[p]), %%zmm24\n\t" "vmovdqa64 320(%[p]), %%zmm25\n\t"                    \
  "vmovdqa64 384(%[p]), %%zmm26\n\t" "vmovdqa64 448(%[p]), %%zmm27\n\t" "kmovd 512(%[p]), %%k1\n\t"
#define QH_LOADB(bo) "vmovdqa64 " bo "+0(%[b]), %%zmm24\n\t" "vmovdqa64 " bo "+64(%[b]), %%zmm25\n\t"
#define QH_ADV(n) \
  "add $" n ", %[a0]\n\t" "add $" n ", %[a3]\n\t" "add $" n ", %[a6]\n\t" "add $" n ", %[a9]\n\t"
// The k-loop over kg k-groups (kg % 4 singly, then four per iteration); ends at label 2.
#define QH_KLOOP(ROWS, PFN, PFB)                                                                 \
  "mov %[kg], %[t]\n\t" "and $3, %[t]\n\t" "jz 3f\n\t"                                            \
  "4:\n\t" QH_LOADB("0") ROWS("") QH_ADV("4") "add $256, %[b]\n\t" "dec %[t]\n\t" "jnz 4b\n\t"    \
  "3:\n\t" "shr $2, %[kg]\n\t" "jz 2f\n\t"                                                        \
  "1:\n\t" QH_LOADB("0") ROWS("") QH_LOADB("256") ROWS("4") PFN                                  \
  QH_LOADB("512") ROWS("8") QH_LOADB("768") ROWS("12")                                            \
  QH_ADV("16") "add $1024, %[b]\n\t" PFB "dec %[kg]\n\t" "jnz 1b\n\t" "2:\n\t"
#define QH_CLOBBERS                                                                              \
  "memory", "cc", "k1", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",   \
      "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",    \
      "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28",   \
      "xmm29", "xmm30", "xmm31"
#define QH_ASM(INIT, ROWS, TROWS, FIN, PFN, PFB)                                                  \
  __asm__ volatile(INIT QH_KLOOP(ROWS, PFN, PFB)                                                  \
                   "cmpl $0, 516(%[p])\n\t" "je 5f\n\t" QH_LOADB("0") TROWS "5:\n\t" FIN          \
                   : [a0] "+r"(a0), [a3] "+r"(a3), [a6] "+r"(a6), [a9] "+r"(a9), [b] "+r"(b),     \
                     [kg] "+r"(kg), [pf] "+r"(pf), [t] "=&r"(t), [c] "+r"(c)                      \
                   : [lda] "r"(lda), [p] "r"(p), [ldc] "r"(ldc)                                   \
                   : QH_CLOBBERS)
// Taps mode (run_taps): the same k-loop once per tap, the kt / 4 k-groups of each tap read from
// the A pointers, which then jump by tapd[t] to the next tap's bytes; B runs on linearly (its
// k-groups are ordered (tap, channel)). kt % 4 == 0, so there is no K tail; no next-panel
// prefetch. The tap count and the delta pointer live in HalfParams (no spare registers).
#define QH_ASM_T(INIT, ROWS, FIN)                                                                  \
  __asm__ volatile(INIT "6:\n\t" "mov 520(%[p]), %[kg]\n\t" QH_KLOOP(ROWS, "", "")                 \
                   "decq 536(%[p])\n\t" "jz 7f\n\t"                                                \
                   "mov 528(%[p]), %[t]\n\t" "mov (%[t]), %[kg]\n\t" "addq $8, 528(%[p])\n\t"      \
                   "add %[kg], %[a0]\n\t" "add %[kg], %[a3]\n\t" "add %[kg], %[a6]\n\t"            \
                   "add %[kg], %[a9]\n\t" "jmp 6b\n\t" "7:\n\t" FIN                                \
                   : [a0] "+r"(a0), [a3] "+r"(a3), [a6] "+r"(a6), [a9] "+r"(a9), [b] "+r"(b),     \
                     [kg] "=&r"(kg), [t] "=&r"(t), [c] "+r"(c)                                    \
                   : [lda] "r"(lda), [p] "r"(p), [ldc] "r"(ldc)                                   \
                   : QH_CLOBBERS)
// Generated lists (rows 0..n-1): main-loop rows, tail rows, accumulator init, requant epilogue, store.
#define QH_R0(addr) QH_ROW(addr, "26", "0", "1")
#define QH_R1(addr) QH_ROW(addr, "27", "2", "3")
#define QH_R2(addr) QH_ROW(addr, "28", "4", "5")
#define QH_R3(addr) QH_ROW(addr, "29", "6", "7")
#define QH_R4(addr) QH_ROW(addr, "30", "8", "9")
#define QH_R5(addr) QH_ROW(addr, "31", "10", "11")
#define QH_R6(addr) QH_ROW(addr, "26", "12", "13")
#define QH_R7(addr) QH_ROW(addr, "27", "14", "15")
#define QH_R8(addr) QH_ROW(addr, "28", "16", "17")
#define QH_R9(addr) QH_ROW(addr, "29", "18", "19")
#define QH_R10(addr) QH_ROW(addr, "30", "20", "21")
#define QH_R11(addr) QH_ROW(addr, "31", "22", "23")
#define QH_ROWS1(ao) QH_R0(ao "(%[a0])")
#define QH_ROWS2(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)")
#define QH_ROWS3(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)")
#define QH_ROWS4(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])")
#define QH_ROWS5(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])") QH_R4(ao "(%[a3],%[lda],1)")
#define QH_ROWS6(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])") QH_R4(ao "(%[a3],%[lda],1)") QH_R5(ao "(%[a3],%[lda],2)")
#define QH_ROWS7(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])") QH_R4(ao "(%[a3],%[lda],1)") QH_R5(ao "(%[a3],%[lda],2)") QH_R6(ao "(%[a6])")
#define QH_ROWS8(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])") QH_R4(ao "(%[a3],%[lda],1)") QH_R5(ao "(%[a3],%[lda],2)") QH_R6(ao "(%[a6])") QH_R7(ao "(%[a6],%[lda],1)")
#define QH_ROWS9(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])") QH_R4(ao "(%[a3],%[lda],1)") QH_R5(ao "(%[a3],%[lda],2)") QH_R6(ao "(%[a6])") QH_R7(ao "(%[a6],%[lda],1)") QH_R8(ao "(%[a6],%[lda],2)")
#define QH_ROWS10(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])") QH_R4(ao "(%[a3],%[lda],1)") QH_R5(ao "(%[a3],%[lda],2)") QH_R6(ao "(%[a6])") QH_R7(ao "(%[a6],%[lda],1)") QH_R8(ao "(%[a6],%[lda],2)") QH_R9(ao "(%[a9])")
#define QH_ROWS11(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])") QH_R4(ao "(%[a3],%[lda],1)") QH_R5(ao "(%[a3],%[lda],2)") QH_R6(ao "(%[a6])") QH_R7(ao "(%[a6],%[lda],1)") QH_R8(ao "(%[a6],%[lda],2)") QH_R9(ao "(%[a9])") QH_R10(ao "(%[a9],%[lda],1)")
#define QH_ROWS12(ao) QH_R0(ao "(%[a0])") QH_R1(ao "(%[a0],%[lda],1)") QH_R2(ao "(%[a0],%[lda],2)") QH_R3(ao "(%[a3])") QH_R4(ao "(%[a3],%[lda],1)") QH_R5(ao "(%[a3],%[lda],2)") QH_R6(ao "(%[a6])") QH_R7(ao "(%[a6],%[lda],1)") QH_R8(ao "(%[a6],%[lda],2)") QH_R9(ao "(%[a9])") QH_R10(ao "(%[a9],%[lda],1)") QH_R11(ao "(%[a9],%[lda],2)")
#define QH_TROWS1 QH_R0("576(%[p])")
#define QH_TROWS2 QH_R0("576(%[p])") QH_R1("580(%[p])")
#define QH_TROWS3 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])")
#define QH_TROWS4 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])")
#define QH_TROWS5 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])") QH_R4("592(%[p])")
#define QH_TROWS6 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])") QH_R4("592(%[p])") QH_R5("596(%[p])")
#define QH_TROWS7 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])") QH_R4("592(%[p])") QH_R5("596(%[p])") QH_R6("600(%[p])")
#define QH_TROWS8 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])") QH_R4("592(%[p])") QH_R5("596(%[p])") QH_R6("600(%[p])") QH_R7("604(%[p])")
#define QH_TROWS9 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])") QH_R4("592(%[p])") QH_R5("596(%[p])") QH_R6("600(%[p])") QH_R7("604(%[p])") QH_R8("608(%[p])")
#define QH_TROWS10 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])") QH_R4("592(%[p])") QH_R5("596(%[p])") QH_R6("600(%[p])") QH_R7("604(%[p])") QH_R8("608(%[p])") QH_R9("612(%[p])")
#define QH_TROWS11 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])") QH_R4("592(%[p])") QH_R5("596(%[p])") QH_R6("600(%[p])") QH_R7("604(%[p])") QH_R8("608(%[p])") QH_R9("612(%[p])") QH_R10("616(%[p])")
#define QH_TROWS12 QH_R0("576(%[p])") QH_R1("580(%[p])") QH_R2("584(%[p])") QH_R3("588(%[p])") QH_R4("592(%[p])") QH_R5("596(%[p])") QH_R6("600(%[p])") QH_R7("604(%[p])") QH_R8("608(%[p])") QH_R9("612(%[p])") QH_R10("616(%[p])") QH_R11("620(%[p])")
#define QH_INIT1 QH_I("0", "1")
#define QH_INIT2 QH_I("0", "1") QH_I("2", "3")
#define QH_INIT3 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5")
#define QH_INIT4 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7")
#define QH_INIT5 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7") QH_I("8", "9")
#define QH_INIT6 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7") QH_I("8", "9") QH_I("10", "11")
#define QH_INIT7 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7") QH_I("8", "9") QH_I("10", "11") QH_I("12", "13")
#define QH_INIT8 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7") QH_I("8", "9") QH_I("10", "11") QH_I("12", "13") QH_I("14", "15")
#define QH_INIT9 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7") QH_I("8", "9") QH_I("10", "11") QH_I("12", "13") QH_I("14", "15") QH_I("16", "17")
#define QH_INIT10 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7") QH_I("8", "9") QH_I("10", "11") QH_I("12", "13") QH_I("14", "15") QH_I("16", "17") QH_I("18", "19")
#define QH_INIT11 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7") QH_I("8", "9") QH_I("10", "11") QH_I("12", "13") QH_I("14", "15") QH_I("16", "17") QH_I("18", "19") QH_I("20", "21")
#define QH_INIT12 QH_I("0", "1") QH_I("2", "3") QH_I("4", "5") QH_I("6", "7") QH_I("8", "9") QH_I("10", "11") QH_I("12", "13") QH_I("14", "15") QH_I("16", "17") QH_I("18", "19") QH_I("20", "21") QH_I("22", "23")
#define QH_EPI1 QH_E("0", "1")
#define QH_EPI2 QH_E("0", "1") QH_E("2", "3")
#define QH_EPI3 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5")
#define QH_EPI4 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7")
#define QH_EPI5 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7") QH_E("8", "9")
#define QH_EPI6 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7") QH_E("8", "9") QH_E("10", "11")
#define QH_EPI7 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7") QH_E("8", "9") QH_E("10", "11") QH_E("12", "13")
#define QH_EPI8 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7") QH_E("8", "9") QH_E("10", "11") QH_E("12", "13") QH_E("14", "15")
#define QH_EPI9 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7") QH_E("8", "9") QH_E("10", "11") QH_E("12", "13") QH_E("14", "15") QH_E("16", "17")
#define QH_EPI10 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7") QH_E("8", "9") QH_E("10", "11") QH_E("12", "13") QH_E("14", "15") QH_E("16", "17") QH_E("18", "19")
#define QH_EPI11 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7") QH_E("8", "9") QH_E("10", "11") QH_E("12", "13") QH_E("14", "15") QH_E("16", "17") QH_E("18", "19") QH_E("20", "21")
#define QH_EPI12 QH_E("0", "1") QH_E("2", "3") QH_E("4", "5") QH_E("6", "7") QH_E("8", "9") QH_E("10", "11") QH_E("12", "13") QH_E("14", "15") QH_E("16", "17") QH_E("18", "19") QH_E("20", "21") QH_E("22", "23")
#define QH_STORE1 QH_S("0", "1", "640", "704")
#define QH_STORE2 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832")
#define QH_STORE3 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960")
#define QH_STORE4 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088")
#define QH_STORE5 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088") QH_S("8", "9", "1152", "1216")
#define QH_STORE6 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088") QH_S("8", "9", "1152", "1216") QH_S("10", "11", "1280", "1344")
#define QH_STORE7 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088") QH_S("8", "9", "1152", "1216") QH_S("10", "11", "1280", "1344") QH_S("12", "13", "1408", "1472")
#define QH_STORE8 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088") QH_S("8", "9", "1152", "1216") QH_S("10", "11", "1280", "1344") QH_S("12", "13", "1408", "1472") QH_S("14", "15", "1536", "1600")
#define QH_STORE9 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088") QH_S("8", "9", "1152", "1216") QH_S("10", "11", "1280", "1344") QH_S("12", "13", "1408", "1472") QH_S("14", "15", "1536", "1600") QH_S("16", "17", "1664", "1728")
#define QH_STORE10 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088") QH_S("8", "9", "1152", "1216") QH_S("10", "11", "1280", "1344") QH_S("12", "13", "1408", "1472") QH_S("14", "15", "1536", "1600") QH_S("16", "17", "1664", "1728") QH_S("18", "19", "1792", "1856")
#define QH_STORE11 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088") QH_S("8", "9", "1152", "1216") QH_S("10", "11", "1280", "1344") QH_S("12", "13", "1408", "1472") QH_S("14", "15", "1536", "1600") QH_S("16", "17", "1664", "1728") QH_S("18", "19", "1792", "1856") QH_S("20", "21", "1920", "1984")
#define QH_STORE12 QH_S("0", "1", "640", "704") QH_S("2", "3", "768", "832") QH_S("4", "5", "896", "960") QH_S("6", "7", "1024", "1088") QH_S("8", "9", "1152", "1216") QH_S("10", "11", "1280", "1344") QH_S("12", "13", "1408", "1472") QH_S("14", "15", "1536", "1600") QH_S("16", "17", "1664", "1728") QH_S("18", "19", "1792", "1856") QH_S("20", "21", "1920", "1984") QH_S("22", "23", "2048", "2112")


// MR rows (3..12) x one half panel at b (the half's first k-group); REQ: requant epilogue from the
// registers into c (row stride ldc); else the accumulators go to p->acc. PF: next-panel lines
// prefetched per 4 k-groups from pf (0 = none).
template <int MR, bool REQ, int PF>
void kloop_half(size_t kg, const uint8_t* a0, size_t lda, const int8_t* b, HalfParams* p, uint8_t* c,
                size_t ldc, const int8_t* pf) {
  const uint8_t* a3 = a0 + 3 * lda;  // rows 3.., 6.., 9.. (dereferenced only for rows < MR)
  const uint8_t* a6 = a0 + 6 * lda;
  const uint8_t* a9 = a0 + 9 * lda;
  size_t t;
#define QH_FIN(n) QH_EFIN QH_EPI##n
#define QH_KP(n, FIN)                                                                      \
  if constexpr (PF == 0) QH_ASM(QH_INIT##n, QH_ROWS##n, QH_TROWS##n, FIN, QRT_PFN0, "");     \
  else if constexpr (PF == 1) QH_ASM(QH_INIT##n, QH_ROWS##n, QH_TROWS##n, FIN, QRT_PFN1,      \
                                     "add $64, %[pf]\n\t");                                 \
  else if constexpr (PF == 2) QH_ASM(QH_INIT##n, QH_ROWS##n, QH_TROWS##n, FIN, QRT_PFN2,      \
                                     "add $128, %[pf]\n\t");                                \
  else if constexpr (PF == 4) QH_ASM(QH_INIT##n, QH_ROWS##n, QH_TROWS##n, FIN, QRT_PFN4,      \
                                     "add $256, %[pf]\n\t");                                \
  else if constexpr (PF == 6) QH_ASM(QH_INIT##n, QH_ROWS##n, QH_TROWS##n, FIN, QRT_PFN6,      \
                                     "add $384, %[pf]\n\t");                                \
  else QH_ASM(QH_INIT##n, QH_ROWS##n, QH_TROWS##n, FIN, QRT_PFN8, "add $512, %[pf]\n\t");
#define QH_KL(n)                          \
  if constexpr (MR == n) {                \
    if constexpr (REQ) { QH_KP(n, QH_FIN(n)) } \
    else { QH_KP(n, QH_STORE##n) }        \
  }
  static_assert(MR >= 3 && MR <= 12, "rows");
  static_assert(PF == 0 || PF == 1 || PF == 2 || PF == 4 || PF == 6 || PF == 8, "PF lines");
  QH_KL(3) QH_KL(4) QH_KL(5) QH_KL(6) QH_KL(7) QH_KL(8) QH_KL(9) QH_KL(10) QH_KL(11) QH_KL(12)
#undef QH_KL
#undef QH_KP
#undef QH_FIN
}

// Taps mode of kloop_half: a0 is row 0's first tap; p->kgt, p->tapd, p->taps_left set.
template <int MR, bool REQ>
void kloop_half_taps(const uint8_t* a0, size_t lda, const int8_t* b, HalfParams* p, uint8_t* c,
                     size_t ldc) {
  const uint8_t* a3 = a0 + 3 * lda;
  const uint8_t* a6 = a0 + 6 * lda;
  const uint8_t* a9 = a0 + 9 * lda;
  size_t t, kg;
#define QH_KT(n)                                                   \
  if constexpr (MR == n) {                                         \
    if constexpr (REQ) { QH_ASM_T(QH_INIT##n, QH_ROWS##n, QH_EFIN QH_EPI##n); } \
    else { QH_ASM_T(QH_INIT##n, QH_ROWS##n, QH_STORE##n); }        \
  }
  static_assert(MR >= 3 && MR <= 12, "rows");
  QH_KT(3) QH_KT(4) QH_KT(5) QH_KT(6) QH_KT(7) QH_KT(8) QH_KT(9) QH_KT(10) QH_KT(11) QH_KT(12)
#undef QH_KT
}

template <int MR>
void half_block(bool req, int pf_lines, size_t kg, const uint8_t* a0, size_t lda, const int8_t* b,
                HalfParams* p, uint8_t* c, size_t ldc, const int8_t* pf) {
#define QH_CALL(R, L) kloop_half<MR, R, L>(kg, a0, lda, b, p, c, ldc, pf)
#define QH_PFSW(R)                         \
  switch (pf ? pf_lines : 0) {             \
    case 1: QH_CALL(R, 1); break;          \
    case 2: QH_CALL(R, 2); break;          \
    case 4: QH_CALL(R, 4); break;          \
    case 6: QH_CALL(R, 6); break;          \
    case 8: QH_CALL(R, 8); break;          \
    default: QH_CALL(R, 0); break;         \
  }
  if (req) {
    QH_PFSW(true)
  } else {
    QH_PFSW(false)
  }
#undef QH_PFSW
#undef QH_CALL
}

// Taps mode: per tap, the bytes added to the A pointers after its kt bytes were read.
struct TapWalk {
  size_t taps, kt;
  const int64_t* delta;  // taps - 1 entries
};

template <bool TAPS>
void run_half_impl(size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
                   const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
                   size_t n_begin, size_t n_end, const TapWalk* tw) {
  using namespace gemm_u8s8_internal;
  if (m_begin >= m_end || n_begin >= n_end) return;
  const size_t rows = m_end - m_begin;
  if constexpr (!TAPS) {
    if (rows <= 2) {  // GEMV-like: several panels per call, B as memory operands (Vnni512)
      drive<Vnni512>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
      return;
    }
  }
  const uint8_t* base = static_cast<const uint8_t*>(packed);
  const int32_t* colsum = reinterpret_cast<const int32_t*>(base);
  const int8_t* panels = reinterpret_cast<const int8_t*>(base + colsum_bytes(N, 64));
  const size_t pstride = panel_bytes(K, 64), kg = K / 4, kt = K % 4;
  const Epi16 e = make_epi16(ep);
  const size_t elem = e.requant ? 1 : 4;
  HalfParams P;
  _mm512_store_ps(P.hi, e.hi);
  _mm512_store_si512(P.zp16, _mm512_set1_epi16(static_cast<short>(ep.out_zero_point)));
  _mm512_store_si512(P.qmin8, e.qmin8);
  _mm512_store_si512(P.perm, _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  P.tail = kt != 0;
  std::memset(P.tl, 0, sizeof P.tl);
  if constexpr (TAPS) P.kgt = tw->kt / 4;
  // Row blocks of balanced size <= 12 (16 = 8 + 8, 128 = 7 x 12 + 4 x 11).
  const size_t nb = (rows + 11) / 12, bsz = rows / nb, extra = rows % nb;
  // Next-panel prefetch into L2 as in drive(): when the tile's B exceeds cpu::l2_resident_limit(),
  // spread over the 2 * nb blocks of a panel (16 / (2 nb) lines per 4 k-groups, rounded up to 1, 2,
  // 4, 6 or 8).
  const size_t p_begin = n_begin / 64, p_end = (n_end + 63) / 64;
  const size_t want = (16 + 2 * nb - 1) / (2 * nb);
  const int pf_lines = want <= 1 ? 1 : want <= 2 ? 2 : want <= 4 ? 4 : want <= 6 ? 6 : 8;
  const bool pf_on = (p_end - p_begin) * pstride > cpu::l2_resident_limit();
  const size_t pf_step = pf_on ? (K / 16) * pf_lines * 64 : 0;
  for (size_t p = p_begin; p < p_end; ++p) {
    const int8_t* pf = panels + (p + 1) * pstride;
    const int8_t* const pf_end = p + 1 < p_end && pf_step ? pf + pstride : pf;
    for (size_t h = 0; h < 2; ++h) {
      const size_t n0 = p * 64 + 32 * h;
      if (n0 >= n_end) break;
      ColVec16 cv[2];
      for (int j = 0; j < 2; ++j) {
        cv[j] = col_vec16_any(e, colsum + n0 + 16 * j, n0 + 16 * j, n_end);
        _mm512_store_si512(P.off + 16 * j, cv[j].off);
        _mm512_store_ps(P.sc + 16 * j, cv[j].sc);
        cv[j].off = _mm512_setzero_si512();  // already in the accumulators
      }
      const size_t cnt = n_end - n0;
      P.mask = cnt >= 32 ? ~0u : (1u << cnt) - 1;
      const int8_t* b = panels + p * pstride + 128 * h;
      size_t m = m_begin;
      for (size_t i = 0; i < nb; ++i) {
        const size_t r = bsz + (i < extra ? 1 : 0);
        const uint8_t* a = A + m * lda;
        if (kt)
          for (size_t q = 0; q < r; ++q) std::memcpy(&P.tl[q], a + q * lda + 4 * kg, kt);
        uint8_t* c = static_cast<uint8_t*>(C) + (m * ldc + (e.requant ? n0 : 0)) * elem;
        const int8_t* pfp = pf < pf_end ? pf : nullptr;
        pf += pf_step;
        if constexpr (TAPS) {
          P.tapd = tw->delta;
          P.taps_left = tw->taps;
          switch (r) {
#define QH_CASE(R)                                                           \
  case R:                                                                    \
    if (e.requant) kloop_half_taps<R, true>(a, lda, b, &P, c, ldc * elem);   \
    else kloop_half_taps<R, false>(a, lda, b, &P, c, ldc * elem);            \
    break;
            QH_CASE(3) QH_CASE(4) QH_CASE(5) QH_CASE(6) QH_CASE(7) QH_CASE(8) QH_CASE(9)
            QH_CASE(10) QH_CASE(11) QH_CASE(12)
#undef QH_CASE
          }
        } else {
          switch (r) {
#define QH_CASE(R) case R: half_block<R>(e.requant, pf_lines, kg, a, lda, b, &P, c, ldc * elem, pfp); break;
            QH_CASE(3) QH_CASE(4) QH_CASE(5) QH_CASE(6) QH_CASE(7) QH_CASE(8) QH_CASE(9) QH_CASE(10)
            QH_CASE(11) QH_CASE(12)
#undef QH_CASE
          }
        }
        if (!e.requant) {
          for (int v = 0; v < 2; ++v) {
            const size_t n = n0 + 16 * v;
            if (n >= n_end) break;
            for (size_t q = 0; q < r; ++q)
              store_row16(e, cv[v], _mm512_load_si512(P.acc + (q * 2 + v) * 16),
                          static_cast<float*>(C) + (m + q) * ldc, n);
          }
        }
        m += r;
      }
    }
  }
}

void run_half(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
              const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
              size_t n_begin, size_t n_end) {
  (void)M;
  run_half_impl<false>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end, nullptr);
}

void run_half_taps(size_t M, size_t N, size_t taps, size_t kt, const size_t* tap_off,
                   const uint8_t* A, size_t lda, const void* packed, const GemmU8S8Epilogue& ep,
                   void* C, size_t ldc, size_t m_begin, size_t m_end, size_t n_begin, size_t n_end) {
  (void)M;
  int64_t delta[kMaxGemmTaps];
  for (size_t t = 0; t + 1 < taps; ++t)
    delta[t] = static_cast<int64_t>(tap_off[t + 1]) - static_cast<int64_t>(tap_off[t]) -
               static_cast<int64_t>(kt);
  const TapWalk tw{taps, kt, delta};
  run_half_impl<true>(N, taps * kt, A + tap_off[0], lda, packed, ep, C, ldc, m_begin, m_end,
                      n_begin, n_end, &tw);
}

}  // namespace
}  // namespace avx512vnni

extern const GemmU8S8Kernel gemm_u8s8_6x64c4_avx512vnni = {
    "gemm_u8s8_6x64c4_avx512vnni", cpu::Isa::kAvx512Vnni, 6, 64, 4,
    gemm_u8s8_internal::packed_size_c4_nr64, pack_c4_avx512<64>, avx512vnni::run};


extern const GemmU8S8Kernel gemm_u8s8_12x32c4_avx512vnni = {
    "gemm_u8s8_12x32c4_avx512vnni", cpu::Isa::kAvx512Vnni, 12, 64, 4,
    gemm_u8s8_internal::packed_size_c4_nr64, pack_c4_avx512<64>, avx512vnni::run_half,
    avx512vnni::run_half_taps};

}  // namespace qrt::kernels
